//! Report builders shared by the unit tests of the machine-readable renderers (Nagios,
//! Prometheus): a report is assembled from verdicts, identifiers and findings with every field
//! a renderer does not look at left at a fixed, plain value.

use crate::model::{
    Finding, IdentifierReport, Outcome, PolicyInfo, Report, Severity, ToolInfo, Verdict,
};
use crate::observation::Check;

/// An identifier with every character plugin output, a perfdata label or a metric label value
/// must survive.
pub const WEIRD: &str = "we|ird \"q\" back\\slash it's\nnext";

pub fn verdict(check: Check, outcome: Outcome, k: usize, n: usize, required: usize) -> Verdict {
    Verdict {
        check,
        outcome,
        corroborating: k,
        remotes: n,
        required,
        rirs: Vec::new(),
        primary_ok: outcome != Outcome::Fail,
        corroborating_perspectives: Vec::new(),
        dissenting_perspectives: Vec::new(),
        explanation: String::new(),
        next_phase: None,
    }
}

pub fn ident(name: &str, outcome: Outcome, verdicts: Vec<Verdict>) -> IdentifierReport {
    IdentifierReport {
        name: name.into(),
        methods: Vec::new(),
        outcome,
        verdicts,
        observations: Vec::new(),
        ca: "letsencrypt.org".into(),
        certificate: None,
        marks: Vec::new(),
    }
}

pub fn finding(code: &str, severity: Severity, identifier: &str, evidence: &[&str]) -> Finding {
    Finding {
        code: code.into(),
        severity,
        identifier: identifier.into(),
        perspectives: Vec::new(),
        evidence: evidence.iter().map(|e| e.to_string()).collect(),
        fix: "fix it".into(),
    }
}

/// A BR-policy report of 2026-11-28 started at `started_at`, 1234 ms long.
pub fn report(
    started_at: &str,
    outcome: Outcome,
    exit_code: u8,
    identifiers: Vec<IdentifierReport>,
    findings: Vec<Finding>,
) -> Report {
    Report {
        schema_version: 1,
        tool: ToolInfo {
            name: "mpic-check".into(),
            version: "0.1.0".into(),
        },
        started_at: started_at.into(),
        duration_ms: 1234,
        policy: PolicyInfo {
            name: "br".into(),
            remotes_required: 4,
            allowed_failures: 1,
            rirs_required: 2,
            as_of: "2026-11-28".into(),
        },
        ca: "letsencrypt.org".into(),
        outcome,
        exit_code,
        perspectives: Vec::new(),
        identifiers,
        findings,
        coverage: Vec::new(),
    }
}
