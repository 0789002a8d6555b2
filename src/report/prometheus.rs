//! Prometheus text exposition format 0.0.4, written for node_exporter's textfile collector: a cron
//! job or systemd timer runs `mpic-check` and writes this to a `.prom` file, so alerting and
//! dashboards see the renewal outlook next to the host's other metrics. Everything is a gauge (a
//! run is a snapshot), every family carries `# HELP` and `# TYPE` and appears once, the outcome is
//! exposed with the usual enum pattern (one series per possible value, 1 for the actual one) so
//! alerts need no magic numbers, and series come in report order so the file diffs cleanly
//! between runs. No sample has a timestamp: the textfile collector rejects them, and
//! `mpic_check_last_run_timestamp_seconds` says when the run happened instead.
//!
//! The same families answer `mpic-check serve`'s `/probe` ([`render_probe`] puts
//! `mpic_check_probe_success` in front), and [`Family`] also writes the exporter's own counters.
//!
//! Why a hand-written encoder rather than the `prometheus-client` crate: that crate encodes
//! OpenMetrics (`# EOF`, `_total` and `# UNIT` rules, `application/openmetrics-text`), which the
//! textfile collector does not read, and its registry/collector model is built for long-lived
//! counters, whereas these documents are snapshots rebuilt from a `Report` on every run. The
//! format needed here is small (HELP, TYPE, escaped labels, no timestamps); the tests below hold
//! it to a strict parser and the suite runs `promtool check metrics` on real output.

use std::collections::{HashMap, HashSet};
use std::fmt::Display;
use std::io::{self, Write};

use crate::model::{Outcome, Report, Severity};
use crate::observation::Role;

/// Every outcome, in the order their series are written.
const OUTCOMES: [Outcome; 4] = [
    Outcome::Pass,
    Outcome::AtRisk,
    Outcome::Fail,
    Outcome::Unknown,
];

/// Every severity, most severe first as the report sorts findings.
const SEVERITIES: [Severity; 3] = [Severity::Error, Severity::Warning, Severity::Info];

/// One metric family: its samples are collected first so HELP and TYPE are written once, in front
/// of all of them, whatever order the report yields them in.
#[derive(Debug)]
pub struct Family {
    name: &'static str,
    help: &'static str,
    kind: &'static str,
    samples: Vec<(Vec<(&'static str, String)>, String)>,
}

impl Family {
    /// A gauge: a value that can go up and down (everything in a report).
    pub fn new(name: &'static str, help: &'static str) -> Self {
        Family {
            name,
            help,
            kind: "gauge",
            samples: Vec::new(),
        }
    }

    /// A counter (a long-running exporter's totals); by convention its name ends in `_total`.
    pub fn counter(name: &'static str, help: &'static str) -> Self {
        Family {
            kind: "counter",
            ..Family::new(name, help)
        }
    }

    /// Adds one sample.
    pub fn push(&mut self, labels: &[(&'static str, &str)], value: impl Display) {
        let labels = labels.iter().map(|(k, v)| (*k, v.to_string())).collect();
        self.samples.push((labels, value.to_string()));
    }

    /// Writes HELP, TYPE and the samples; nothing for a family without samples.
    pub fn write(&self, w: &mut impl Write) -> io::Result<()> {
        // A family without samples would only be noise in the file.
        if self.samples.is_empty() {
            return Ok(());
        }
        writeln!(w, "# HELP {} {}", self.name, self.help)?;
        writeln!(w, "# TYPE {} {}", self.name, self.kind)?;
        // A series written twice makes the textfile collector drop the whole file, so a
        // repeated label set (two identifiers spelt the same) keeps its first value only.
        let mut seen = HashSet::new();
        for (labels, value) in &self.samples {
            let rendered = render_labels(labels);
            if seen.insert(rendered.clone()) {
                writeln!(w, "{}{} {}", self.name, rendered, value)?;
            }
        }
        Ok(())
    }
}

/// Escapes a label value as the format requires: backslash, double quote and line feed.
fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// `{a="x",b="y"}`, or nothing for a family without labels.
fn render_labels(labels: &[(&'static str, String)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// Milliseconds as seconds with three decimals, computed on integers so no float noise such as
/// `1.2340000000000002` reaches the file.
pub fn seconds(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let a = ms.unsigned_abs();
    format!("{sign}{}.{:03}", a / 1000, a % 1000)
}

fn bit(b: bool) -> u8 {
    u8::from(b)
}

/// The answer to one exporter probe (`mpic-check serve`, `/probe`): `mpic_check_probe_success`
/// (1 when the target is ready, as the blackbox_exporter's `probe_success`), how long the check
/// took and whether it came from the cache, then the report's families as in [`render`].
pub fn render_probe(report: &Report, cached: bool, w: &mut impl Write) -> io::Result<()> {
    let mut success = Family::new(
        "mpic_check_probe_success",
        "Whether the target is ready for an MPIC renewal (1) or not (0): at risk, would fail or could not assess.",
    );
    success.push(&[], bit(report.outcome == Outcome::Pass));
    let mut from_cache = Family::new(
        "mpic_check_probe_cached",
        "Whether this answer is a cached result (1) because the target was checked less than --min-interval ago.",
    );
    from_cache.push(&[], bit(cached));
    success.write(w)?;
    from_cache.write(w)?;
    render(report, w)
}

/// Writes the report as one exposition-format document ending with a newline.
pub fn render(report: &Report, w: &mut impl Write) -> io::Result<()> {
    let r = report;

    let mut info = Family::new(
        "mpic_check_info",
        "Tool version, MPIC policy and CAA issuer domain of the run; always 1.",
    );
    info.push(
        &[
            ("version", &r.tool.version),
            ("policy", &r.policy.name),
            ("ca", &r.ca),
        ],
        1,
    );

    let mut outcome = Family::new(
        "mpic_check_outcome",
        "Predicted MPIC outcome per identifier: 1 for the actual outcome, 0 for the others.",
    );
    for id in &r.identifiers {
        for o in OUTCOMES {
            outcome.push(
                &[("identifier", &id.name), ("outcome", o.as_str())],
                bit(id.outcome == o),
            );
        }
    }

    let mut exit_code = Family::new(
        "mpic_check_exit_code",
        "Exit status of the run: 0 ready, 1 at risk, 2 would fail, 3 could not assess.",
    );
    exit_code.push(&[], r.exit_code);

    let mut corroborating = Family::new(
        "mpic_check_corroborating_remotes",
        "Remote perspectives that corroborate the primary, per identifier and check.",
    );
    let mut remotes = Family::new(
        "mpic_check_remotes",
        "Remote perspectives that answered, per identifier and check.",
    );
    let mut required = Family::new(
        "mpic_check_required_remotes",
        "Corroborating remote perspectives the policy requires, per identifier and check.",
    );
    let mut primary_ok = Family::new(
        "mpic_check_primary_ok",
        "Whether the primary perspective passed (1) or not (0), per identifier and check.",
    );
    for id in &r.identifiers {
        for v in &id.verdicts {
            let labels = [
                ("identifier", id.name.as_str()),
                ("check", v.check.as_str()),
            ];
            corroborating.push(&labels, v.corroborating);
            remotes.push(&labels, v.remotes);
            required.push(&labels, v.required);
            primary_ok.push(&labels, bit(v.primary_ok));
        }
    }

    let mut findings = Family::new("mpic_check_findings", "Findings of the run by severity.");
    for sev in SEVERITIES {
        let n = r.findings.iter().filter(|f| f.severity == sev).count();
        findings.push(&[("severity", &sev.to_string())], n);
    }

    // One series per (identifier, code, severity) holding how many findings share it: the same
    // code can fire more than once for a name, and a series may appear only once.
    let mut by_code = Family::new(
        "mpic_check_findings_by_code",
        "Findings per identifier, code and severity.",
    );
    let mut counts: HashMap<(&str, &str, Severity), usize> = HashMap::new();
    let mut order = Vec::new();
    for f in r.findings.iter().filter(|f| !f.code.is_run_level()) {
        let key = (f.identifier.as_str(), f.code.as_str(), f.severity);
        let n = counts.entry(key).or_insert(0);
        if *n == 0 {
            order.push(key);
        }
        *n += 1;
    }
    for key @ (identifier, code, severity) in order {
        by_code.push(
            &[
                ("identifier", identifier),
                ("code", code),
                ("severity", &severity.to_string()),
            ],
            counts[&key],
        );
    }

    // Findings about the run's setup (perspectives too close, an engine that failed) carry no
    // identifier label: the report files them under the first name, which an alert must not blame.
    let mut run_level = Family::new(
        "mpic_check_run_findings",
        "Findings about the run as a whole (perspectives, engines, client configuration), per code and severity.",
    );
    let mut run_counts: Vec<((&str, Severity), usize)> = Vec::new();
    for f in r.findings.iter().filter(|f| f.code.is_run_level()) {
        let key = (f.code.as_str(), f.severity);
        match run_counts.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => run_counts.push((key, 1)),
        }
    }
    for ((code, severity), n) in run_counts {
        run_level.push(&[("code", code), ("severity", &severity.to_string())], n);
    }

    // Whether each counted perspective could be used at all: 0 when any of its observations
    // failed on the tool's side (its proxy or resolver), so "the EU proxy died" is an alert of
    // its own, apart from the domain's problems. Nameserver sources are per-domain and left out.
    let mut up = Family::new(
        "mpic_check_perspective_up",
        "Whether a configured perspective worked in this run (1) or its proxy or resolver failed (0).",
    );
    for p in r.perspectives.iter().filter(|p| p.role != Role::Source) {
        let mut seen = false;
        let mut fault = false;
        for o in r
            .identifiers
            .iter()
            .flat_map(|i| &i.observations)
            .filter(|o| o.perspective == p.name)
        {
            seen = true;
            fault |= o.perspective_fault;
        }
        if seen || !r.identifiers.is_empty() {
            up.push(
                &[("perspective", &p.name), ("role", &p.role.to_string())],
                bit(seen && !fault),
            );
        }
    }

    // The current certificate of a name read from certbot's or acme.sh's configuration, as a
    // timestamp: Prometheus wants base units (promtool refuses a `_days` metric), and
    // `expiry - time()` stays right between runs, where a day count would go stale.
    let mut expiry = Family::new(
        "mpic_check_certificate_expiry_timestamp_seconds",
        "Unix time the current certificate of the identifier expires (from --certbot or --acme-sh).",
    );
    for id in &r.identifiers {
        let Some(c) = &id.certificate else { continue };
        let labels = [
            ("identifier", id.name.as_str()),
            ("lineage", c.lineage.as_str()),
        ];
        if let Some(t) = c
            .not_after
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        {
            expiry.push(&labels, t.timestamp());
        }
    }

    // The tool writes `started_at` itself, so it parses; if a hand-edited report does not, the
    // family is left out rather than given a made-up time.
    let mut last_run = Family::new(
        "mpic_check_last_run_timestamp_seconds",
        "Unix time the run started.",
    );
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&r.started_at) {
        last_run.push(&[], seconds(t.timestamp_millis()));
    }

    let mut duration = Family::new("mpic_check_duration_seconds", "Wall time of the run.");
    duration.push(
        &[],
        seconds(i64::try_from(r.duration_ms).unwrap_or(i64::MAX)),
    );

    for family in [
        &info,
        &outcome,
        &exit_code,
        &corroborating,
        &remotes,
        &required,
        &primary_ok,
        &findings,
        &by_code,
        &run_level,
        &up,
        &expiry,
        &last_run,
        &duration,
    ] {
        family.write(w)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Finding, IdentifierReport};
    use crate::observation::Check;
    use crate::report::test_fixtures::{WEIRD, ident, verdict};

    /// Every finding carries evidence with the characters a label value must escape.
    fn finding(code: &str, severity: Severity, identifier: &str) -> Finding {
        crate::report::test_fixtures::finding(code, severity, identifier, &["seen | \"there\"\n"])
    }

    /// Started at a time with a UTC offset, which the timestamp metric must convert.
    fn report(
        outcome: Outcome,
        exit_code: u8,
        identifiers: Vec<IdentifierReport>,
        findings: Vec<Finding>,
    ) -> Report {
        crate::report::test_fixtures::report(
            "2026-11-28T10:00:00.250+01:00",
            outcome,
            exit_code,
            identifiers,
            findings,
        )
    }

    fn healthy() -> Report {
        report(
            Outcome::Pass,
            0,
            vec![ident(
                "example.com",
                Outcome::Pass,
                vec![
                    verdict(Check::Caa, Outcome::Pass, 4, 4, 3),
                    verdict(Check::Http01, Outcome::Pass, 4, 4, 3),
                ],
            )],
            vec![finding(
                "caa-critical-unknown",
                Severity::Info,
                "example.com",
            )],
        )
    }

    fn at_risk() -> Report {
        let mut r = report(
            Outcome::AtRisk,
            1,
            vec![
                ident(
                    "example.org",
                    Outcome::Pass,
                    vec![verdict(Check::Dns01, Outcome::Pass, 4, 4, 3)],
                ),
                ident(
                    WEIRD,
                    Outcome::AtRisk,
                    vec![verdict(Check::Dns01, Outcome::AtRisk, 3, 4, 3)],
                ),
            ],
            vec![
                finding("geodns-divergence", Severity::Warning, WEIRD),
                finding("geodns-divergence", Severity::Warning, WEIRD),
                finding("caa-critical-unknown", Severity::Info, "example.org"),
            ],
        );
        r.ca = "ca\\with \"quotes\"\nand lines".into();
        r
    }

    fn failing() -> Report {
        report(
            Outcome::Fail,
            2,
            vec![
                ident(
                    "a.example",
                    Outcome::Unknown,
                    vec![verdict(Check::Http01, Outcome::Unknown, 0, 1, 1)],
                ),
                ident(
                    "b.example",
                    Outcome::Fail,
                    vec![
                        verdict(Check::Caa, Outcome::Fail, 0, 4, 3),
                        verdict(Check::Http01, Outcome::Fail, 1, 4, 3),
                    ],
                ),
            ],
            vec![
                finding("caa-forbids", Severity::Error, "b.example"),
                finding("http-unreachable", Severity::Error, "a.example"),
                finding("perspective-error", Severity::Warning, "a.example"),
            ],
        )
    }

    fn render_string(r: &Report) -> String {
        let mut out = Vec::new();
        render(r, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// One parsed sample.
    #[derive(Debug)]
    struct Sample {
        name: String,
        /// Label values unescaped, in written order.
        labels: Vec<(String, String)>,
        value: f64,
    }

    fn is_metric_name(s: &str) -> bool {
        let mut cs = s.chars();
        cs.next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && cs.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }

    fn is_label_name(s: &str) -> bool {
        let mut cs = s.chars();
        cs.next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
    }

    /// Parses `name{labels} value` strictly: only the three escapes the format defines, a quoted
    /// value per label, no timestamp (the textfile collector refuses them).
    fn parse_sample(line: &str) -> Result<Sample, String> {
        let name_end = line.find(['{', ' ']).ok_or("no value")?;
        let name = &line[..name_end];
        if !is_metric_name(name) {
            return Err(format!("bad metric name {name:?}"));
        }
        let mut labels = Vec::new();
        let mut rest = &line[name_end..];
        if let Some(r) = rest.strip_prefix('{') {
            let mut chars = r.char_indices().peekable();
            loop {
                let start = chars.peek().map(|(i, _)| *i).ok_or("unterminated labels")?;
                let eq = r[start..].find('=').ok_or("label without '='")? + start;
                let key = &r[start..eq];
                if !is_label_name(key) {
                    return Err(format!("bad label name {key:?}"));
                }
                while chars.next_if(|(i, _)| *i <= eq).is_some() {}
                if chars.next().map(|(_, c)| c) != Some('"') {
                    return Err(format!("label {key} not quoted"));
                }
                let mut value = String::new();
                loop {
                    match chars.next().map(|(_, c)| c) {
                        None => return Err("unterminated label value".into()),
                        Some('"') => break,
                        Some('\n') => return Err("raw newline".into()),
                        Some('\\') => match chars.next().map(|(_, c)| c) {
                            Some('\\') => value.push('\\'),
                            Some('"') => value.push('"'),
                            Some('n') => value.push('\n'),
                            other => return Err(format!("bad escape {other:?}")),
                        },
                        Some(c) => value.push(c),
                    }
                }
                labels.push((key.to_string(), value));
                match chars.next() {
                    Some((_, ',')) => continue,
                    Some((i, '}')) => {
                        rest = &r[i + 1..];
                        break;
                    }
                    other => return Err(format!("expected ',' or '}}', got {other:?}")),
                }
            }
        }
        let value = rest.strip_prefix(' ').ok_or("no space before value")?;
        if value.contains(' ') {
            return Err(format!("timestamp or junk after value: {value:?}"));
        }
        let value: f64 = value.parse().map_err(|_| format!("bad value {value:?}"))?;
        Ok(Sample {
            name: name.to_string(),
            labels,
            value,
        })
    }

    /// Checks the document against the exposition format and returns its samples: HELP then TYPE
    /// before a family's samples, each family once, samples only under their own family, no
    /// series twice, no empty lines, a trailing newline.
    fn validate(doc: &str) -> Vec<Sample> {
        assert!(doc.ends_with('\n'), "no trailing newline");
        let mut families: HashSet<String> = HashSet::new();
        let mut series: HashSet<String> = HashSet::new();
        let mut current: Option<String> = None;
        let mut typed = false;
        let mut samples = Vec::new();
        for line in doc.lines() {
            assert!(!line.is_empty(), "empty line in\n{doc}");
            if let Some(help) = line.strip_prefix("# HELP ") {
                let (name, text) = help.split_once(' ').unwrap();
                assert!(is_metric_name(name), "{line}");
                assert!(!text.is_empty(), "{line}");
                assert!(families.insert(name.to_string()), "family {name} repeated");
                current = Some(name.to_string());
                typed = false;
            } else if let Some(ty) = line.strip_prefix("# TYPE ") {
                let (name, kind) = ty.split_once(' ').unwrap();
                assert_eq!(Some(name), current.as_deref(), "TYPE without HELP: {line}");
                assert!(!typed, "TYPE twice: {line}");
                assert_eq!(kind, "gauge", "{line}");
                typed = true;
            } else {
                assert!(!line.starts_with('#'), "unexpected comment {line}");
                let s = parse_sample(line).unwrap_or_else(|e| panic!("{e}: {line}"));
                assert_eq!(
                    Some(&s.name),
                    current.as_ref(),
                    "sample outside family: {line}"
                );
                assert!(typed, "sample before TYPE: {line}");
                let key = format!("{}{:?}", s.name, s.labels);
                assert!(series.insert(key), "series repeated: {line}");
                samples.push(s);
            }
        }
        samples
    }

    fn label<'a>(s: &'a Sample, k: &str) -> Option<&'a str> {
        s.labels
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }

    fn values<'a>(samples: &'a [Sample], name: &str) -> Vec<&'a Sample> {
        samples.iter().filter(|s| s.name == name).collect()
    }

    #[test]
    fn healthy_report_exact_output() {
        let expected = r#"# HELP mpic_check_info Tool version, MPIC policy and CAA issuer domain of the run; always 1.
# TYPE mpic_check_info gauge
mpic_check_info{version="0.1.0",policy="br",ca="letsencrypt.org"} 1
# HELP mpic_check_outcome Predicted MPIC outcome per identifier: 1 for the actual outcome, 0 for the others.
# TYPE mpic_check_outcome gauge
mpic_check_outcome{identifier="example.com",outcome="pass"} 1
mpic_check_outcome{identifier="example.com",outcome="at-risk"} 0
mpic_check_outcome{identifier="example.com",outcome="fail"} 0
mpic_check_outcome{identifier="example.com",outcome="unknown"} 0
# HELP mpic_check_exit_code Exit status of the run: 0 ready, 1 at risk, 2 would fail, 3 could not assess.
# TYPE mpic_check_exit_code gauge
mpic_check_exit_code 0
# HELP mpic_check_corroborating_remotes Remote perspectives that corroborate the primary, per identifier and check.
# TYPE mpic_check_corroborating_remotes gauge
mpic_check_corroborating_remotes{identifier="example.com",check="caa"} 4
mpic_check_corroborating_remotes{identifier="example.com",check="http-01"} 4
# HELP mpic_check_remotes Remote perspectives that answered, per identifier and check.
# TYPE mpic_check_remotes gauge
mpic_check_remotes{identifier="example.com",check="caa"} 4
mpic_check_remotes{identifier="example.com",check="http-01"} 4
# HELP mpic_check_required_remotes Corroborating remote perspectives the policy requires, per identifier and check.
# TYPE mpic_check_required_remotes gauge
mpic_check_required_remotes{identifier="example.com",check="caa"} 3
mpic_check_required_remotes{identifier="example.com",check="http-01"} 3
# HELP mpic_check_primary_ok Whether the primary perspective passed (1) or not (0), per identifier and check.
# TYPE mpic_check_primary_ok gauge
mpic_check_primary_ok{identifier="example.com",check="caa"} 1
mpic_check_primary_ok{identifier="example.com",check="http-01"} 1
# HELP mpic_check_findings Findings of the run by severity.
# TYPE mpic_check_findings gauge
mpic_check_findings{severity="error"} 0
mpic_check_findings{severity="warning"} 0
mpic_check_findings{severity="info"} 1
# HELP mpic_check_findings_by_code Findings per identifier, code and severity.
# TYPE mpic_check_findings_by_code gauge
mpic_check_findings_by_code{identifier="example.com",code="caa-critical-unknown",severity="info"} 1
# HELP mpic_check_last_run_timestamp_seconds Unix time the run started.
# TYPE mpic_check_last_run_timestamp_seconds gauge
mpic_check_last_run_timestamp_seconds 1795856400.250
# HELP mpic_check_duration_seconds Wall time of the run.
# TYPE mpic_check_duration_seconds gauge
mpic_check_duration_seconds 1.234
"#;
        assert_eq!(render_string(&healthy()), expected);
    }

    #[test]
    fn every_report_validates() {
        for r in [healthy(), at_risk(), failing()] {
            let samples = validate(&render_string(&r));
            let exit = values(&samples, "mpic_check_exit_code");
            assert_eq!(exit.len(), 1);
            assert_eq!(exit[0].value, f64::from(r.exit_code));
            let verdicts: usize = r.identifiers.iter().map(|i| i.verdicts.len()).sum();
            for name in [
                "mpic_check_corroborating_remotes",
                "mpic_check_remotes",
                "mpic_check_required_remotes",
                "mpic_check_primary_ok",
            ] {
                assert_eq!(values(&samples, name).len(), verdicts, "{name}");
            }
        }
    }

    #[test]
    fn outcome_enum_sums_to_one_per_identifier() {
        for r in [healthy(), at_risk(), failing()] {
            let samples = validate(&render_string(&r));
            let outcomes = values(&samples, "mpic_check_outcome");
            assert_eq!(outcomes.len(), r.identifiers.len() * OUTCOMES.len());
            for id in &r.identifiers {
                let mine: Vec<&&Sample> = outcomes
                    .iter()
                    .filter(|s| label(s, "identifier") == Some(id.name.as_str()))
                    .collect();
                assert_eq!(mine.len(), OUTCOMES.len(), "{}", id.name);
                assert_eq!(mine.iter().map(|s| s.value).sum::<f64>(), 1.0);
                let on = mine.iter().find(|s| s.value == 1.0).unwrap();
                assert_eq!(label(on, "outcome"), Some(id.outcome.as_str()));
            }
        }
    }

    #[test]
    fn label_values_round_trip() {
        let r = at_risk();
        let doc = render_string(&r);
        let samples = validate(&doc);
        // The newline never reaches the file raw; the validator would have failed on the split
        // line otherwise, and every line parses as a sample or a comment.
        assert!(
            doc.contains(r#"identifier="we|ird \"q\" back\\slash it's\nnext""#),
            "{doc}"
        );
        let weird: Vec<&Sample> = samples
            .iter()
            .filter(|s| label(s, "identifier") == Some(WEIRD))
            .collect();
        // 4 outcome series, 4 verdict families, 1 finding code.
        assert_eq!(weird.len(), 4 + 4 + 1, "{weird:?}");
        let info = values(&samples, "mpic_check_info");
        assert_eq!(label(info[0], "ca"), Some(r.ca.as_str()));
    }

    #[test]
    fn findings_are_counted_by_severity_and_by_code() {
        let samples = validate(&render_string(&at_risk()));
        let by_sev: Vec<(Option<&str>, f64)> = values(&samples, "mpic_check_findings")
            .iter()
            .map(|s| (label(s, "severity"), s.value))
            .collect();
        assert_eq!(
            by_sev,
            [
                (Some("error"), 0.0),
                (Some("warning"), 2.0),
                (Some("info"), 1.0)
            ]
        );
        let by_code: Vec<(Option<&str>, Option<&str>, f64)> =
            values(&samples, "mpic_check_findings_by_code")
                .iter()
                .map(|s| (label(s, "identifier"), label(s, "code"), s.value))
                .collect();
        assert_eq!(
            by_code,
            [
                (Some(WEIRD), Some("geodns-divergence"), 2.0),
                (Some("example.org"), Some("caa-critical-unknown"), 1.0),
            ]
        );
    }

    #[test]
    fn empty_report_keeps_the_always_present_families() {
        let mut r = healthy();
        r.identifiers.clear();
        r.findings.clear();
        let samples = validate(&render_string(&r));
        let names: Vec<&str> = samples.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "mpic_check_info",
                "mpic_check_exit_code",
                "mpic_check_findings",
                "mpic_check_findings",
                "mpic_check_findings",
                "mpic_check_last_run_timestamp_seconds",
                "mpic_check_duration_seconds",
            ]
        );
    }

    #[test]
    fn duplicate_identifiers_do_not_repeat_a_series() {
        let mut r = healthy();
        r.identifiers.push(r.identifiers[0].clone());
        validate(&render_string(&r));
    }

    #[test]
    fn unparsable_start_time_leaves_the_family_out() {
        let mut r = healthy();
        r.started_at = "yesterday".into();
        let doc = render_string(&r);
        validate(&doc);
        assert!(!doc.contains("mpic_check_last_run_timestamp_seconds"));
    }

    #[test]
    fn seconds_are_exact() {
        assert_eq!(seconds(0), "0.000");
        assert_eq!(seconds(1234), "1.234");
        assert_eq!(seconds(-4750), "-4.750");
    }

    fn perspective(name: &str, role: Role) -> crate::model::PerspectiveInfo {
        crate::model::PerspectiveInfo {
            name: name.into(),
            role,
            rir: None,
            dns: "system".into(),
            http: "direct".into(),
            nameserver: None,
            location: None,
            dns_provenance: None,
            http_provenance: None,
        }
    }

    /// A run with a primary, a remote whose proxy failed for one check, a remote that saw nothing,
    /// a nameserver source, a certbot certificate and a finding about the setup.
    fn with_setup() -> Report {
        let mut r = healthy();
        r.perspectives = vec![
            perspective("home", Role::Primary),
            perspective("eu-west", Role::Remote),
            perspective("ap-south", Role::Remote),
            perspective("a.ns.test@192.0.2.53", Role::Source),
        ];
        let obs = |p: &str, check, fault| {
            let mut o = crate::checks::blank(p, check);
            o.perspective_fault = fault;
            o
        };
        let id = &mut r.identifiers[0];
        id.observations = vec![
            obs("home", Check::Caa, false),
            obs("home", Check::Http01, false),
            obs("eu-west", Check::Caa, false),
            obs("eu-west", Check::Http01, true),
            obs("a.ns.test@192.0.2.53", Check::Caa, true),
        ];
        id.certificate = Some(crate::model::CertInfo {
            client: "certbot".into(),
            lineage: "example.com".into(),
            source: "/etc/letsencrypt/renewal/example.com.conf".into(),
            authenticator: "webroot".into(),
            not_after: Some("2027-01-10T12:00:00Z".into()),
            days_left: Some(35),
            warnings: Vec::new(),
            ca_note: None,
            unknown_ca: None,
        });
        r.findings.push(finding(
            "perspectives-too-close",
            Severity::Warning,
            "example.com",
        ));
        r.findings.push(finding(
            "engine-unavailable",
            Severity::Warning,
            "example.com",
        ));
        r
    }

    #[test]
    fn perspective_up_is_per_configured_perspective() {
        let samples = validate(&render_string(&with_setup()));
        let up: Vec<(Option<&str>, Option<&str>, f64)> =
            values(&samples, "mpic_check_perspective_up")
                .iter()
                .map(|s| (label(s, "perspective"), label(s, "role"), s.value))
                .collect();
        assert_eq!(
            up,
            [
                (Some("home"), Some("primary"), 1.0),
                // Its proxy failed for http-01: down, though its CAA answer came back.
                (Some("eu-west"), Some("remote"), 0.0),
                // Configured, but nothing from it at all.
                (Some("ap-south"), Some("remote"), 0.0),
            ]
        );
    }

    #[test]
    fn run_level_findings_carry_no_identifier() {
        let doc = render_string(&with_setup());
        let samples = validate(&doc);
        let run: Vec<(Option<&str>, Option<&str>, f64)> =
            values(&samples, "mpic_check_run_findings")
                .iter()
                .map(|s| (label(s, "code"), label(s, "identifier"), s.value))
                .collect();
        assert_eq!(
            run,
            [
                (Some("perspectives-too-close"), None, 1.0),
                (Some("engine-unavailable"), None, 1.0),
            ]
        );
        let by_code: Vec<Option<&str>> = values(&samples, "mpic_check_findings_by_code")
            .iter()
            .map(|s| label(s, "code"))
            .collect();
        assert_eq!(by_code, [Some("caa-critical-unknown")]);
        // The per-severity total still counts every finding.
        let warnings = values(&samples, "mpic_check_findings")
            .into_iter()
            .find(|s| label(s, "severity") == Some("warning"))
            .unwrap();
        assert_eq!(warnings.value, 2.0);
    }

    #[test]
    fn certificate_expiry_when_known() {
        let samples = validate(&render_string(&with_setup()));
        let expiry = values(&samples, "mpic_check_certificate_expiry_timestamp_seconds");
        assert_eq!(expiry.len(), 1);
        assert_eq!(label(expiry[0], "identifier"), Some("example.com"));
        assert_eq!(label(expiry[0], "lineage"), Some("example.com"));
        assert_eq!(expiry[0].value, 1_799_582_400.0);
        // Without a certificate (names given on the command line) the families are absent.
        let doc = render_string(&healthy());
        assert!(!doc.contains("certificate"), "{doc}");
    }

    #[test]
    fn probe_answer_starts_with_success() {
        for (r, success) in [(healthy(), 1.0), (at_risk(), 0.0), (failing(), 0.0)] {
            let mut out = Vec::new();
            render_probe(&r, true, &mut out).unwrap();
            let doc = String::from_utf8(out).unwrap();
            let samples = validate(&doc);
            assert_eq!(samples[0].name, "mpic_check_probe_success");
            assert_eq!(samples[0].value, success);
            assert_eq!(values(&samples, "mpic_check_probe_cached")[0].value, 1.0);
        }
    }

    #[test]
    fn counters_are_typed_counter() {
        let mut f = Family::counter("x_total", "Things.");
        f.push(&[("a", "b")], 3);
        let mut out = Vec::new();
        f.write(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "# HELP x_total Things.\n# TYPE x_total counter\nx_total{a=\"b\"} 3\n"
        );
    }

    #[test]
    fn the_validator_rejects_bad_documents() {
        for bad in [
            "m{a=\"x\"}1",
            "9m 1",
            "m{a=\"\\t\"} 1",
            "m{a=\"x} 1",
            "m{a=x} 1",
            "m 1 1700000000",
        ] {
            assert!(parse_sample(bad).is_err(), "{bad}");
        }
        let samples = parse_sample(r#"m{a="x\"y\\z\n",b=""} 1.5"#).unwrap();
        assert_eq!(samples.labels[0].1, "x\"y\\z\n");
        assert_eq!(samples.value, 1.5);
    }
}
