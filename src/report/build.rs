//! Analysis → [`Report`]: runs the pure analysis over a run and fills in the report's envelope
//! (tool, times, policy). The exit status is decided here, once, by [`exit::gated`], and returned
//! beside the report so the caller never recomputes it.

use std::time::Duration;

use crate::analysis::{self, Run, quorum::Policy};
use crate::exit::{self, Exit, FailOn};
use crate::model::{Report, SCHEMA_VERSION, ToolInfo};

/// Builds the report of a run and the exit status it maps to under `fail_on`.
pub fn build(
    run: &Run,
    policy: &Policy,
    started: chrono::DateTime<chrono::Utc>,
    duration: Duration,
    fail_on: FailOn,
) -> (Report, Exit) {
    let a = analysis::analyze(run, policy);
    let exit = exit::gated(a.outcome, fail_on);
    let report = Report {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: "mpic-check".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        started_at: started.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        duration_ms: duration.as_millis() as u64,
        policy: policy.info(),
        ca: run.ca.clone(),
        outcome: a.outcome,
        exit_code: exit.code(),
        perspectives: run.perspectives.clone(),
        identifiers: a.identifiers,
        findings: a.findings,
        coverage: a.coverage,
    };
    (report, exit)
}
