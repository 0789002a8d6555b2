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
    Finding, IdentifierReport, Outcome, PerspectiveInfo, PolicyInfo, SCHEMA_VERSION, ToolInfo,
};

/// One identifier's line.
#[derive(Serialize)]
struct Line<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    schema_version: u32,
    identifier: &'a IdentifierReport,
    findings: &'a [Finding],
}

/// The summary line. The fields are in alphabetical order because the line was first written
/// with `serde_json::json!`, whose map sorts its keys; keeping the order keeps the bytes.
#[derive(Serialize)]
struct Summary<'a> {
    ca: &'a str,
    duration_ms: u64,
    engine_problems: &'a [String],
    exit_code: u8,
    identifiers: usize,
    outcome: Outcome,
    outcomes: &'a BTreeMap<&'static str, usize>,
    perspectives: &'a [PerspectiveInfo],
    policy: &'a PolicyInfo,
    schema_version: u32,
    started_at: &'a str,
    tool: ToolInfo,
    #[serde(rename = "type")]
    kind: &'static str,
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
