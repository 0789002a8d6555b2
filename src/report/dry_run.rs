//! Sets the CA's verdict from `--acme-dry-run` beside mpic-check's prediction in a built report.
//! The CA's `invalid` is ground truth: the name WOULD FAIL whatever the prediction said, with an
//! `acme-dry-run-invalid` finding whose evidence is the CA's problem, what `explain` makes of it and
//! what mpic-check's perspectives saw for the same name. A `valid` changes nothing (the CA picks
//! its remote perspectives per attempt, so one success does not clear a risk the prediction saw),
//! but where it contradicts a predicted failure the disagreement is said in one line. An `error` is
//! no evidence either way: the name cannot be assessed as asked (exit 3 unless it would fail), and
//! the `acme-dry-run-error` finding says it is not the domain's fault. The exit status is then
//! recomputed with [`exit::gated`], the one place that maps outcomes to it.

use crate::exit::{self, Exit, FailOn};
use crate::explain;
use crate::model::{
    AcmeDryRun, DryRunStatus, Finding, FindingCode, IdentifierReport, Outcome, Report, Severity,
};

/// Adds each name's dry-run result to `report` and returns the new exit status.
pub fn combine(report: &mut Report, results: Vec<(String, AcmeDryRun)>, fail_on: FailOn) -> Exit {
    for (name, mut dr) in results {
        let Some(ident) = report.identifiers.iter_mut().find(|i| i.name == name) else {
            continue;
        };
        let saw = what_mpic_check_saw(&report.findings, &name);
        let predicted = ident.outcome;
        let finding = judge(ident, &mut dr, &saw, predicted);
        ident.acme_dry_run = Some(dr);
        if let Some(f) = finding {
            report.findings.push(f);
        }
    }
    report.outcome = report
        .identifiers
        .iter()
        .map(|i| i.outcome)
        .reduce(Outcome::worst)
        .unwrap_or(report.outcome);
    report.findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.identifier.cmp(&b.identifier))
            .then_with(|| a.code.cmp(&b.code))
    });
    let exit = exit::gated(report.outcome, fail_on);
    report.exit_code = exit.code();
    exit
}

/// mpic-check's own findings for the name, as `code from p1, p2`, coverage notes left out.
fn what_mpic_check_saw(findings: &[Finding], name: &str) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f.identifier == name && !f.code.is_coverage() && f.severity > Severity::Info)
        .map(|f| {
            if f.perspectives.is_empty() {
                f.code.as_str().to_string()
            } else {
                format!("{} from {}", f.code, f.perspectives.join(", "))
            }
        })
        .collect()
}

fn saw_text(saw: &[String], predicted: Outcome) -> String {
    if saw.is_empty() {
        format!("nothing wrong (predicted {predicted})")
    } else {
        format!("{} (predicted {predicted})", saw.join("; "))
    }
}

/// The CA's words: the problem's detail, else its type, else the tool's own error.
fn ca_words(dr: &AcmeDryRun) -> String {
    let p = dr.problem.as_ref();
    p.and_then(|p| p.get("detail")?.as_str().map(str::to_owned))
        .or_else(|| p.and_then(|p| p.get("type")?.as_str().map(str::to_owned)))
        .or_else(|| dr.error.clone())
        .unwrap_or_else(|| "invalid, without a problem document".into())
}

fn judge(
    ident: &mut IdentifierReport,
    dr: &mut AcmeDryRun,
    saw: &[String],
    predicted: Outcome,
) -> Option<Finding> {
    let seen = saw_text(saw, predicted);
    match dr.status {
        DryRunStatus::Valid => {
            let agrees = predicted != Outcome::Fail;
            dr.agrees = Some(agrees);
            dr.summary = if agrees {
                format!("the CA says: valid — mpic-check saw: {seen}")
            } else {
                format!(
                    "the CA and mpic-check disagree: the CA validated {} although mpic-check \
                     predicted it would fail ({seen}); the CA's perspectives did not see what \
                     mpic-check's did, or the problem is intermittent",
                    ident.name
                )
            };
            None
        }
        DryRunStatus::Invalid => {
            let words = ca_words(dr);
            let doc = dr
                .problem
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_else(|| words.clone());
            let ex = explain::explain(&doc);
            let first = ex.iter().find(|e| e.recognised);
            let agrees = predicted == Outcome::Fail;
            dr.agrees = Some(agrees);
            dr.summary = format!("the CA says: {words} — mpic-check saw: {seen}");
            let mut evidence = vec![format!("the CA ({}) says: {words}", dr.server)];
            if let Some(e) = first {
                let likely = if e.likely_findings.is_empty() {
                    String::new()
                } else {
                    format!("; likely {}", e.likely_findings.join(", "))
                };
                evidence.push(format!("explained ({}{likely}): {}", e.family, e.meaning));
            }
            evidence.push(format!("mpic-check saw: {seen}"));
            if !agrees {
                let line = format!(
                    "the CA and mpic-check disagree: mpic-check predicted {predicted}, but the \
                     CA's validation failed{}",
                    first
                        .map(|e| format!(" ({})", e.family))
                        .unwrap_or_default()
                );
                evidence.push(line.clone());
                dr.summary = format!("{}; {line}", dr.summary);
            }
            ident.outcome = Outcome::Fail;
            // The checklist's "run mpic-check …" step is what this run just did; the rest is
            // what to change.
            let fix = first
                .map(|e| {
                    e.checklist
                        .iter()
                        .filter(|c| !c.starts_with("Run `mpic-check"))
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .filter(|f| !f.is_empty())
                .unwrap_or_else(|| {
                    "fix what the CA's problem names, then run the dry run again (nothing was \
                     issued)"
                        .into()
                });
            Some(Finding {
                code: FindingCode::AcmeDryRunInvalid,
                severity: Severity::Error,
                identifier: ident.name.clone(),
                perspectives: Vec::new(),
                evidence,
                fix,
            })
        }
        DryRunStatus::Error => {
            let why = dr
                .error
                .clone()
                .unwrap_or_else(|| "no verdict from the CA".into());
            dr.summary = format!("no verdict from the CA: {why}");
            ident.outcome = ident.outcome.worst(Outcome::Unknown);
            Some(Finding {
                code: FindingCode::AcmeDryRunError,
                severity: Severity::Warning,
                identifier: ident.name.clone(),
                perspectives: Vec::new(),
                evidence: vec![format!("{}: {why}", dr.server)],
                fix: "check the --acme-dry-run URL (and --acme-ca-file for a private CA), that \
                      this host can reach it, and the --webroot or --dns-hook; this is not the \
                      domain's fault"
                    .into(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_fixtures::{ident, report};

    fn dr(status: DryRunStatus, problem: Option<serde_json::Value>) -> AcmeDryRun {
        AcmeDryRun {
            server: "https://ca.test/dir".into(),
            status,
            challenge: Some("http-01".into()),
            problem,
            validation_records: Vec::new(),
            error: (status == DryRunStatus::Error).then(|| "connection refused".into()),
            summary: String::new(),
            agrees: None,
        }
    }

    #[test]
    fn invalid_makes_the_name_fail_and_says_the_disagreement() {
        let mut r = report(
            "2026-12-07T00:00:00.000Z",
            Outcome::Pass,
            0,
            vec![ident("a.test", Outcome::Pass, vec![])],
            vec![],
        );
        let p = serde_json::json!({
            "type": "urn:ietf:params:acme:error:unauthorized",
            "detail": "During secondary validation: 192.0.2.1: Invalid response from http://a.test/.well-known/acme-challenge/<token>: 403",
            "status": 403
        });
        let exit = combine(
            &mut r,
            vec![("a.test".into(), dr(DryRunStatus::Invalid, Some(p)))],
            FailOn::Warning,
        );
        assert_eq!(exit, Exit::WouldFail);
        assert_eq!(r.outcome, Outcome::Fail);
        let d = r.identifiers[0].acme_dry_run.as_ref().unwrap();
        assert_eq!(d.agrees, Some(false));
        assert!(
            d.summary
                .starts_with("the CA says: During secondary validation"),
            "{}",
            d.summary
        );
        assert!(
            d.summary
                .contains("mpic-check saw: nothing wrong (predicted pass)")
        );
        assert!(d.summary.contains("disagree"));
        let f = &r.findings[0];
        assert_eq!(f.code, FindingCode::AcmeDryRunInvalid);
        assert!(
            f.evidence.iter().any(|e| e.starts_with("explained (")),
            "{:?}",
            f.evidence
        );
    }

    #[test]
    fn valid_keeps_the_prediction_and_error_cannot_assess() {
        let mut r = report(
            "2026-12-07T00:00:00.000Z",
            Outcome::Pass,
            0,
            vec![
                ident("a.test", Outcome::Pass, vec![]),
                ident("b.test", Outcome::Pass, vec![]),
            ],
            vec![],
        );
        let exit = combine(
            &mut r,
            vec![
                ("a.test".into(), dr(DryRunStatus::Valid, None)),
                ("b.test".into(), dr(DryRunStatus::Error, None)),
            ],
            FailOn::Warning,
        );
        assert_eq!(exit, Exit::CouldNotAssess);
        assert_eq!(r.identifiers[0].outcome, Outcome::Pass);
        assert_eq!(
            r.identifiers[0].acme_dry_run.as_ref().unwrap().agrees,
            Some(true)
        );
        assert_eq!(r.identifiers[1].outcome, Outcome::Unknown);
        assert!(
            r.findings
                .iter()
                .any(|f| f.code == FindingCode::AcmeDryRunError)
        );
    }
}
