//! `mpic-check gate`: the renewal gate, per certificate. It reads what `certbot renew` would renew
//! (the renewal confs under `--config-dir`), checks the names of the certificates that are due
//! with each one's own method, CA and account, and decides for each: ready → renew; at risk →
//! renew with a warning (or hold with `--hold-at-risk`); would fail → hold, since a failed attempt
//! only burns the CA's failed-validation limit; could not assess (an unreadable conf, a checker or
//! proxy outage) → `--on-unknown`, by default renew with a loud warning, because a checker outage
//! must never be what lets a certificate expire. It then runs `certbot renew --cert-name X` once
//! per certificate to renew, so one certificate that would fail no longer blocks the others.
//!
//! Certificates that are not due are not checked (certbot would skip them; checking costs network
//! and the CA's view may change before they are due) unless `--all` is given.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::acme_clients::{ManagedCert, ReadError};
use crate::analysis;
use crate::cli::{GateArgs, OnUnknown};
use crate::exit::Exit;
use crate::model::{Finding, Outcome};
use crate::plan::{self, UsageError};
use crate::probe;
use crate::text::one_line;

/// certbot's default configuration directory.
const DEFAULT_CONFIG_DIR: &str = "/etc/letsencrypt";

/// What the gate does with one certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Run `certbot renew --cert-name` for it.
    Renew,
    /// Do not renew it this time.
    Hold,
    /// Not due: neither checked nor renewed.
    NotDue,
}

/// The decision for one certificate, with the line that explains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The certbot lineage (`--cert-name`).
    pub lineage: String,
    /// What to do.
    pub action: Action,
    /// The outcome that decided it (`None` when not checked because not due).
    pub outcome: Option<Outcome>,
    /// Why, in one line: the first finding, the read error, or the expiry.
    pub why: String,
}

impl Decision {
    /// The gate's exit status for this decision before certbot runs.
    fn exit(&self) -> Exit {
        match (self.action, self.outcome) {
            (Action::Hold, Some(Outcome::AtRisk)) => Exit::AtRisk,
            (Action::Hold, Some(Outcome::Fail)) => Exit::WouldFail,
            (Action::Hold, _) => Exit::CouldNotAssess,
            _ => Exit::Ready,
        }
    }

    /// One line: action, certificate, outcome, reason.
    pub fn line(&self) -> String {
        let action = match self.action {
            Action::Renew => "renew",
            Action::Hold => "hold",
            Action::NotDue => "skip",
        };
        let outcome = match self.outcome {
            None => "not due",
            Some(Outcome::Pass) => "ready",
            Some(Outcome::AtRisk) => "at risk",
            Some(Outcome::Fail) => "would fail",
            Some(Outcome::Unknown) => "could not assess",
        };
        let mut line = format!("{action} {}: {outcome}", self.lineage);
        if !self.why.is_empty() {
            line.push_str(": ");
            line.push_str(&self.why);
        }
        one_line(&line, 300)
    }
}

/// Turns a certificate's outcome into an action under the gate's policy.
pub fn decide(outcome: Outcome, hold_at_risk: bool, on_unknown: OnUnknown) -> Action {
    match outcome {
        Outcome::Pass => Action::Renew,
        Outcome::AtRisk if hold_at_risk => Action::Hold,
        Outcome::AtRisk => Action::Renew,
        Outcome::Fail => Action::Hold,
        Outcome::Unknown => match on_unknown {
            OnUnknown::Renew => Action::Renew,
            OnUnknown::Hold => Action::Hold,
        },
    }
}

/// The lineage a renewal conf belongs to (`renewal/<lineage>.conf`), for a conf that could not be
/// read: certbot still knows it by that name.
fn lineage_of(e: &ReadError) -> Option<String> {
    let name = e.path.file_name()?.to_str()?;
    let lineage = name.strip_suffix(".conf")?;
    let in_renewal = e
        .path
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|d| d == "renewal");
    (in_renewal && !lineage.is_empty()).then(|| lineage.to_string())
}

/// The first (most severe) finding about any of the names, as `code name: evidence`, with the
/// dissenting side's evidence (the region that got the 403), not the side that worked.
fn first_finding(findings: &[Finding], names: &[String]) -> Option<String> {
    let f = findings
        .iter()
        .find(|f| names.contains(&f.identifier) && f.severity >= crate::model::Severity::Warning)?;
    let evidence = crate::report::dissenting_first(f)
        .first()
        .copied()
        .unwrap_or(&f.fix);
    Some(crate::report::clean(&format!(
        "{} [{}]: {evidence}",
        f.code, f.identifier
    )))
}

/// Runs the gate. `stop` resolves on a signal: the checks (and a webroot probe file) stop at once.
pub async fn run(
    args: &GateArgs,
    stop: impl Future<Output = &'static str>,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<Exit, anyhow::Error> {
    tokio::pin!(stop);
    let dir = args
        .config_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_DIR));
    let (certs, errors) = crate::acme_clients::certbot::read_dir(&dir);
    let broken: Vec<(String, &ReadError)> = errors
        .iter()
        .filter_map(|e| Some((lineage_of(e)?, e)))
        .collect();
    if certs.is_empty() && broken.is_empty() {
        let why = errors.first().map_or_else(
            || "no renewal/*.conf found".to_string(),
            ToString::to_string,
        );
        return Err(UsageError(format!("gate: {}: {why}", dir.display())).into());
    }
    for e in &errors {
        if lineage_of(e).is_none() {
            writeln!(err, "mpic-check gate: warning: {e}")?;
        }
    }

    let now = chrono::Utc::now();
    let mut decisions: Vec<Decision> = Vec::new();
    let (checked, not_due): (Vec<ManagedCert>, Vec<ManagedCert>) =
        certs.into_iter().partition(|c| args.all || c.due(now));
    for c in &not_due {
        let why = match (c.autorenew, c.renew_from) {
            (false, _) => "autorenew is off in its renewal conf".to_string(),
            (true, Some(t)) => format!(
                "certbot renews it from {} ({} day(s))",
                t.format("%Y-%m-%d"),
                (t - now).num_days()
            ),
            (true, None) => String::new(),
        };
        decisions.push(Decision {
            lineage: c.lineage.clone(),
            action: Action::NotDue,
            outcome: None,
            why,
        });
    }

    if !checked.is_empty() {
        let names: BTreeMap<String, Vec<String>> = checked
            .iter()
            .map(|c| {
                let names = c.names.iter().map(|n| n.name.clone()).collect();
                (c.lineage.clone(), names)
            })
            .collect();
        let plan = plan::plan_gate(args, checked)?;
        let progress = indicatif::ProgressBar::hidden();
        let run = tokio::select! {
            biased;
            sig = &mut stop => {
                return Err(UsageError(format!("gate: interrupted by {sig} while checking; nothing was renewed")).into());
            }
            r = probe::probe(&plan, &progress) => r,
        };
        let analysis = analysis::analyze(&run, &plan.policy);
        for (lineage, names) in &names {
            // A name can belong to two lineages; its one report then counts for both.
            let outcome = analysis
                .identifiers
                .iter()
                .filter(|i| names.contains(&i.name))
                .fold(None, |acc: Option<Outcome>, i| {
                    Some(acc.map_or(i.outcome, |o| o.worst(i.outcome)))
                })
                .unwrap_or(Outcome::Unknown);
            let why = if outcome == Outcome::Pass {
                String::new()
            } else {
                first_finding(&analysis.findings, names).unwrap_or_else(|| {
                    analysis
                        .identifiers
                        .iter()
                        .filter(|i| names.contains(&i.name))
                        .flat_map(|i| &i.verdicts)
                        .find(|v| v.outcome != Outcome::Pass)
                        .map(|v| format!("{}: {}", v.check, v.explanation))
                        .unwrap_or_default()
                })
            };
            decisions.push(Decision {
                lineage: lineage.clone(),
                action: decide(outcome, args.hold_at_risk, args.on_unknown),
                outcome: Some(outcome),
                why,
            });
        }
    }
    for (lineage, e) in &broken {
        decisions.push(Decision {
            lineage: lineage.clone(),
            action: decide(Outcome::Unknown, args.hold_at_risk, args.on_unknown),
            outcome: Some(Outcome::Unknown),
            why: format!("unreadable renewal conf: {}", e.message),
        });
    }
    decisions.sort_by(|a, b| a.lineage.cmp(&b.lineage));

    let mut exit = Exit::Ready;
    for d in &decisions {
        writeln!(out, "{}", d.line())?;
        exit = exit.max(d.exit());
    }
    let unchecked: Vec<&str> = decisions
        .iter()
        .filter(|d| d.action == Action::Renew && d.outcome == Some(Outcome::Unknown))
        .map(|d| d.lineage.as_str())
        .collect();
    if !unchecked.is_empty() {
        writeln!(
            err,
            "mpic-check gate: WARNING: could not assess {}; renewing unchecked (--on-unknown renew) so a checker outage cannot let them expire",
            unchecked.join(", ")
        )?;
    }
    let at_risk: Vec<&str> = decisions
        .iter()
        .filter(|d| d.action == Action::Renew && d.outcome == Some(Outcome::AtRisk))
        .map(|d| d.lineage.as_str())
        .collect();
    if !at_risk.is_empty() {
        writeln!(
            err,
            "mpic-check gate: warning: renewing {} although at risk (--hold-at-risk holds them)",
            at_risk.join(", ")
        )?;
    }
    let renew: Vec<&str> = decisions
        .iter()
        .filter(|d| d.action == Action::Renew)
        .map(|d| d.lineage.as_str())
        .collect();
    if args.print {
        writeln!(
            out,
            "would renew: {}",
            if renew.is_empty() {
                "nothing".to_string()
            } else {
                renew.join(" ")
            }
        )?;
        out.flush()?;
        return Ok(exit);
    }
    out.flush()?;
    for (n, lineage) in renew.iter().enumerate() {
        let argv = certbot_argv(args, lineage);
        let shown = format!("{} {}", args.certbot_bin.display(), argv.join(" "));
        let bin = args.certbot_bin.clone();
        let mut child = tokio::task::spawn_blocking(move || {
            std::process::Command::new(&bin)
                .args(&argv)
                .stdin(std::process::Stdio::null())
                .status()
        });
        // A signal (systemctl stop, Ctrl-C) also reaches certbot through the process group or
        // the unit's cgroup: let the running one finish its own shutdown, start no other.
        let (status, interrupted) = tokio::select! {
            r = &mut child => (r?, None),
            sig = &mut stop => (child.await?, Some(sig)),
        };
        if let Some(sig) = interrupted {
            writeln!(
                out,
                "interrupted by {sig}: {shown} {}; not started: {}",
                match &status {
                    Ok(s) if s.success() => "exited 0".to_string(),
                    Ok(s) => s
                        .code()
                        .map_or("was killed by a signal".into(), |c| format!("exited {c}")),
                    Err(e) => format!("could not run: {}", crate::text::io_message(e)),
                },
                if renew[n + 1..].is_empty() {
                    "nothing".to_string()
                } else {
                    renew[n + 1..].join(" ")
                }
            )?;
            out.flush()?;
            return Ok(Exit::ClientFailed);
        }
        match status {
            Ok(s) if s.success() => writeln!(out, "renewed {lineage}: {shown} exited 0")?,
            Ok(s) => {
                let how = match s.code() {
                    Some(c) => format!("exited {c}"),
                    None => "was killed by a signal".to_string(),
                };
                writeln!(out, "failed {lineage}: {shown} {how}")?;
                exit = Exit::ClientFailed;
            }
            Err(e) => {
                writeln!(
                    out,
                    "failed {lineage}: cannot run {}: {}",
                    args.certbot_bin.display(),
                    crate::text::io_message(&e)
                )?;
                exit = Exit::ClientFailed;
            }
        }
        out.flush()?;
    }
    Ok(exit)
}

/// `renew --cert-name X`, the configuration directory when one was given, then the user's
/// pass-through arguments.
fn certbot_argv(args: &GateArgs, lineage: &str) -> Vec<String> {
    let mut argv = vec![
        "renew".to_string(),
        "--cert-name".to_string(),
        lineage.to_string(),
    ];
    if let Some(dir) = &args.config_dir {
        argv.push("--config-dir".into());
        argv.push(dir.display().to_string());
    }
    argv.extend(args.certbot_args.iter().cloned());
    argv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_table() {
        use Outcome::*;
        assert_eq!(decide(Pass, true, OnUnknown::Hold), Action::Renew);
        assert_eq!(decide(AtRisk, false, OnUnknown::Hold), Action::Renew);
        assert_eq!(decide(AtRisk, true, OnUnknown::Renew), Action::Hold);
        assert_eq!(decide(Fail, false, OnUnknown::Renew), Action::Hold);
        assert_eq!(decide(Unknown, false, OnUnknown::Renew), Action::Renew);
        assert_eq!(decide(Unknown, false, OnUnknown::Hold), Action::Hold);
    }

    #[test]
    fn hold_exits_by_outcome_and_renew_exits_zero() {
        let d = |action, outcome| Decision {
            lineage: "a".into(),
            action,
            outcome,
            why: String::new(),
        };
        assert_eq!(d(Action::Renew, Some(Outcome::Unknown)).exit(), Exit::Ready);
        assert_eq!(d(Action::Hold, Some(Outcome::AtRisk)).exit(), Exit::AtRisk);
        assert_eq!(d(Action::Hold, Some(Outcome::Fail)).exit(), Exit::WouldFail);
        assert_eq!(
            d(Action::Hold, Some(Outcome::Unknown)).exit(),
            Exit::CouldNotAssess
        );
        assert_eq!(d(Action::NotDue, None).exit(), Exit::Ready);
        assert_eq!(
            d(Action::Hold, Some(Outcome::Fail)).line(),
            "hold a: would fail"
        );
    }

    #[test]
    fn broken_confs_keep_their_lineage() {
        let e = ReadError::new(Path::new("/etc/letsencrypt/renewal/x.test.conf"), "bad");
        assert_eq!(lineage_of(&e).as_deref(), Some("x.test"));
        let e = ReadError::new(Path::new("/etc/letsencrypt/renewal"), "cannot list");
        assert_eq!(lineage_of(&e), None);
    }
}
