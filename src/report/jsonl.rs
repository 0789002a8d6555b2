//! JSON Lines (`--format jsonl`, `docs/json.md`): one `{"type":"identifier",…}` object per name,
//! then one `{"type":"summary",…}` line. The live run streams the lines as each name finishes, so
//! memory stays bounded by the names in flight; `--replay` writes the same lines from a finished
//! report. Both go through [`Lines`], so the two cannot drift apart. Each object is serialised
//! straight from the structs (no intermediate `Value`) and handed to the writer as one
//! `write_all`, so a stdout `LineWriter` sees one write per line and a reader never sees half of
//! one.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use crate::model::{
    Finding, IdentifierReport, Outcome, PerspectiveInfo, PolicyInfo, Report, SCHEMA_VERSION,
    ToolInfo,
};

/// One identifier's line.
#[derive(Serialize, schemars::JsonSchema)]
struct Line<'a> {
    #[serde(rename = "type")]
    #[schemars(extend("const" = "identifier"))]
    kind: &'static str,
    schema_version: u32,
    identifier: &'a IdentifierReport,
    findings: &'a [Finding],
}

/// The summary line. The fields are in alphabetical order because the line was first written
/// with `serde_json::json!`, whose map sorts its keys; keeping the order keeps the bytes.
#[derive(Serialize, schemars::JsonSchema)]
struct Summary<'a> {
    ca: &'a str,
    duration_ms: u64,
    engine_problems: &'a [String],
    exit_code: u8,
    identifiers: usize,
    interrupted: bool,
    outcome: Outcome,
    outcomes: &'a BTreeMap<&'static str, usize>,
    perspectives: &'a [PerspectiveInfo],
    policy: &'a PolicyInfo,
    schema_version: u32,
    started_at: &'a str,
    tool: ToolInfo,
    #[serde(rename = "type")]
    #[schemars(extend("const" = "summary"))]
    kind: &'static str,
}

/// The JSON Schema (draft 2020-12) of one `--format jsonl` line: a name's line or the summary.
pub fn line_schema() -> serde_json::Value {
    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)] // only its schema is used
    #[serde(untagged)]
    enum AnyLine<'a> {
        /// `"type": "identifier"`: one name, as soon as it is done.
        Identifier(Line<'a>),
        /// `"type": "summary"`: always the last line.
        Summary(Summary<'a>),
    }
    let mut schema = serde_json::to_value(schemars::schema_for!(AnyLine)).unwrap_or_default();
    if let Some(o) = schema.as_object_mut() {
        o.insert(
            "$id".into(),
            "https://github.com/mpic-check/mpic-check/docs/schema/jsonl.schema.json".into(),
        );
        o.insert(
            "description".into(),
            "one line of mpic-check --format jsonl, schema_version 1 (docs/json.md)".into(),
        );
    }
    schema
}

/// What the summary line says beyond the per-name counts, which [`Lines`] keeps itself.
#[derive(Debug)]
pub struct End<'a> {
    /// RFC 3339 start time.
    pub started_at: &'a str,
    /// Wall time of the run.
    pub duration_ms: u64,
    /// The quorum policy.
    pub policy: &'a PolicyInfo,
    /// CAA issuer domain evaluated.
    pub ca: &'a str,
    /// The perspectives of the run.
    pub perspectives: &'a [PerspectiveInfo],
    /// How many names were checked.
    pub identifiers: usize,
    /// Worst outcome of the run.
    pub outcome: Outcome,
    /// The process exit status.
    pub exit_code: u8,
    /// What the remote engines lost.
    pub engine_problems: &'a [String],
    /// Stopped by a signal: the lines before are the names that finished.
    pub interrupted: bool,
}

/// A JSON Lines writer: [`Lines::identifier`] once per name, then [`Lines::summary`].
#[derive(Debug)]
pub struct Lines<W> {
    out: W,
    outcomes: BTreeMap<&'static str, usize>,
    worst: Option<Outcome>,
}

impl<W: Write> Lines<W> {
    /// Starts the output; nothing is written yet.
    pub fn new(out: W) -> Self {
        Lines {
            out,
            outcomes: BTreeMap::new(),
            worst: None,
        }
    }

    /// Counts one name under `outcome` and writes its line (if there is a report for it) with
    /// the findings about it.
    pub fn identifier(
        &mut self,
        outcome: Outcome,
        identifier: Option<&IdentifierReport>,
        findings: &[Finding],
    ) -> io::Result<()> {
        self.worst = Some(self.worst.map_or(outcome, |w| w.worst(outcome)));
        *self.outcomes.entry(outcome.as_str()).or_default() += 1;
        let Some(identifier) = identifier else {
            return Ok(());
        };
        let mut bytes = serde_json::to_vec(&Line {
            kind: "identifier",
            schema_version: SCHEMA_VERSION,
            identifier,
            findings,
        })?;
        bytes.push(b'\n');
        self.out.write_all(&bytes)
    }

    /// The worst outcome counted so far; `unknown` when no name was counted.
    pub fn worst(&self) -> Outcome {
        self.worst.unwrap_or(Outcome::Unknown)
    }

    /// Writes the summary line and flushes.
    pub fn summary(mut self, end: &End<'_>) -> io::Result<()> {
        let mut bytes = serde_json::to_vec(&Summary {
            kind: "summary",
            schema_version: SCHEMA_VERSION,
            tool: ToolInfo {
                name: "mpic-check".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            started_at: end.started_at,
            duration_ms: end.duration_ms,
            policy: end.policy,
            ca: end.ca,
            perspectives: end.perspectives,
            identifiers: end.identifiers,
            interrupted: end.interrupted,
            outcomes: &self.outcomes,
            outcome: end.outcome,
            exit_code: end.exit_code,
            engine_problems: end.engine_problems,
        })?;
        bytes.push(b'\n');
        self.out.write_all(&bytes)?;
        self.out.flush()
    }
}

/// Writes a finished report as JSON Lines (`--replay FILE --format jsonl`): the lines a live run
/// would have streamed. Findings go on the line of the name they are about; findings about the
/// run as a whole name a file or no checked name, and go with the first name, as a live stream
/// reports them with the first name done. `engine_problems` comes from the saved run, because
/// the report keeps them only as findings.
pub fn render(report: &Report, engine_problems: &[String], out: &mut impl Write) -> io::Result<()> {
    let mut lines = Lines::new(&mut *out);
    let named = |f: &Finding| report.identifiers.iter().any(|i| i.name == f.identifier);
    for (n, ir) in report.identifiers.iter().enumerate() {
        let findings: Vec<Finding> = report
            .findings
            .iter()
            .filter(|f| f.identifier == ir.name || (n == 0 && !named(f)))
            .cloned()
            .collect();
        lines.identifier(ir.outcome, Some(ir), &findings)?;
    }
    lines.summary(&End {
        started_at: &report.started_at,
        duration_ms: report.duration_ms,
        policy: &report.policy,
        ca: &report.ca,
        perspectives: &report.perspectives,
        identifiers: report.identifiers.len(),
        outcome: report.outcome,
        exit_code: report.exit_code,
        engine_problems,
        interrupted: report.exit_code == crate::exit::Exit::Interrupted.code(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Severity;
    use crate::report::test_fixtures::{finding, ident, report};

    #[test]
    fn a_report_becomes_one_object_per_line_and_a_summary() {
        let report = report(
            "2026-11-28T10:00:00.000Z",
            Outcome::AtRisk,
            1,
            vec![
                ident("a.example", Outcome::Pass, Vec::new()),
                ident("b.example", Outcome::AtRisk, Vec::new()),
            ],
            vec![
                finding("geodns-divergence", Severity::Warning, "b.example", &["x"]),
                finding(
                    "client-config-unreadable",
                    Severity::Warning,
                    "/etc/x.conf",
                    &["y"],
                ),
            ],
        );
        let mut out = Vec::new();
        render(&report, &["engine down".into()], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), report.identifiers.len() + 1, "{text}");
        for (line, ir) in lines.iter().zip(&report.identifiers) {
            assert_eq!(line["type"], "identifier");
            assert_eq!(line["identifier"]["name"], ir.name.as_str());
        }
        let summary = lines.last().unwrap();
        assert_eq!(summary["type"], "summary");
        assert_eq!(summary["exit_code"], report.exit_code);
        assert_eq!(summary["identifiers"], report.identifiers.len());
        assert_eq!(summary["engine_problems"][0], "engine down");
        // Every finding is on exactly one line.
        let placed: usize = lines
            .iter()
            .map(|l| l["findings"].as_array().map_or(0, Vec::len))
            .sum();
        assert_eq!(placed, report.findings.len());
        assert_eq!(lines[0]["findings"][0]["code"], "client-config-unreadable");
        assert_eq!(lines[1]["findings"][0]["code"], "geodns-divergence");
        assert_eq!(summary["outcomes"]["at-risk"], 1);
    }
}
