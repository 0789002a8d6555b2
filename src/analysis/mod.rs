//! Pure analysis: from the observations of a run to findings, per-check quorum verdicts, an
//! outcome per identifier and overall, and the coverage statement. No I/O happens here, so a saved
//! run replays to the same report and every rule is unit-testable on hand-built observations.

pub mod detect;
pub mod mark;
pub mod quorum;
pub mod reach;
pub mod roster;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

pub use crate::model::FindingCode;
use crate::model::{Coverage, Finding, IdentifierReport, Outcome, PerspectiveInfo, Severity};
pub use crate::model::{Mark, ObservationMarks};
use crate::observation::{Check, Method, Observation, Reach, Role};
use quorum::Policy;
pub use roster::{PerspectiveId, Roster};

/// Everything the probes produced: the input of the analysis and the content of `--save`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Run {
    /// Perspectives used.
    pub perspectives: Vec<PerspectiveInfo>,
    /// CAA issuer domain evaluated.
    pub ca: String,
    /// Per identifier: its name, methods and observations.
    pub identifiers: Vec<IdentifierRun>,
    /// What the HTTP side of the perspectives could show (for coverage).
    pub http_vantages: usize,
    /// dns-01 values the user expected.
    #[serde(default)]
    pub expect_txt: Vec<String>,
    /// Why the webroot probe could not run, when it was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe_problem: Option<String>,
    /// S/MIME run (CAA issuemail).
    #[serde(default)]
    pub smime: bool,
    /// Remote engines that could not be used, or only partly (what was lost).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub engine_problems: Vec<String>,
    /// Client configuration files that could not be read (`--certbot`, `--acme-sh`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config_problems: Vec<String>,
}

/// One identifier's raw results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentifierRun {
    /// Normalised name.
    pub name: String,
    /// Methods evaluated.
    pub methods: Vec<Method>,
    /// Observations.
    pub observations: Vec<Observation>,
    /// CAA issuer domain evaluated for this name (empty: the run's).
    #[serde(default)]
    pub ca: String,
    /// The certificate this name belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<crate::model::CertInfo>,
    /// What remote engines concluded themselves (e.g. Open MPIC's `is_valid`), shown beside the
    /// tool's verdict.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub engine_verdicts: Vec<String>,
    /// Perspectives that had not finished when the run's `--deadline` passed; their observations
    /// are the tool's timeouts and count as not assessed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unfinished: Vec<String>,
}

/// The analysis result.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// Per identifier.
    pub identifiers: Vec<IdentifierReport>,
    /// All findings, most severe first.
    pub findings: Vec<Finding>,
    /// Coverage lines.
    pub coverage: Vec<Coverage>,
    /// Worst outcome.
    pub outcome: Outcome,
}

/// The CAA issuer domain of one identifier: its own, the run's when it has none, and none (empty)
/// when its certificate's ACME server belongs to a CA mpic-check does not know (not judged).
fn id_ca<'a>(run: &'a Run, id: &'a IdentifierRun) -> &'a str {
    let unknown = id
        .certificate
        .as_ref()
        .is_some_and(|c| c.unknown_ca.is_some());
    if id.ca.is_empty() && !unknown {
        &run.ca
    } else {
        &id.ca
    }
}

/// Analyses a run under a policy.
pub fn analyze(run: &Run, policy: &Policy) -> Analysis {
    let roster = Roster::new(&run.perspectives);
    let mut identifiers = Vec::new();
    let mut findings = Vec::new();
    let mut overall: Option<Outcome> = None;
    let has_remotes = roster.ids().any(|p| roster.role(p) == Role::Remote);
    for id in &run.identifiers {
        let mut obs = id.observations.clone();
        let order = |o: &Observation| {
            (
                o.check,
                roster.role_of(&o.perspective),
                o.perspective.clone(),
                o.address.clone(),
            )
        };
        obs.sort_by_key(order);
        let ctx = detect::Context {
            identifier: &id.name,
            wildcard: id.name.starts_with("*."),
            methods: &id.methods,
            roster: &roster,
            ca: id_ca(run, id),
            expect_txt: &run.expect_txt,
            smime: run.smime,
            unfinished: &id.unfinished,
        };
        let mut f = detect::detect(&ctx, &obs);
        f.extend(detect::unknown_ca(&ctx, id.certificate.as_ref(), &obs));
        let mut checks: Vec<Check> = id.methods.iter().map(|m| m.check()).collect();
        checks.push(Check::Caa);
        let mut verdicts = Vec::new();
        let mut untested: Vec<Check> = Vec::new();
        for check in checks {
            let ca_like = |o: &&Observation| o.check == check && o.address.is_none();
            let primary = obs
                .iter()
                .filter(ca_like)
                .find(|o| roster.role_of(&o.perspective) == Role::Primary);
            let remotes: Vec<(&Observation, crate::observation::Rir)> = obs
                .iter()
                .filter(ca_like)
                .filter_map(|o| {
                    let p = roster.id(&o.perspective)?;
                    let rir = roster.rir(p)?;
                    (roster.role(p) == Role::Remote).then_some((o, rir))
                })
                .collect();
            if primary.is_none() && remotes.is_empty() {
                continue;
            }
            let mut v = quorum::judge_with_outlook(check, primary, &remotes, policy);
            // Remotes exist but none can run this check (Globalping cannot query CAA): that is
            // coverage, not an unknown outcome that would hide the other checks' results.
            if remotes.is_empty() && has_remotes && v.primary_ok {
                v.explanation = format!(
                    "no remote perspective of this run can test {check}; the primary passes (not counted in the outcome)"
                );
                untested.push(check);
            }
            if v.reach == crate::model::VerdictReach::Untested {
                untested.push(check);
            }
            verdicts.push(v);
        }
        let mut outcome = verdicts
            .iter()
            .filter(|v| !untested.contains(&v.check))
            .fold(Outcome::Pass, |acc, v| acc.worst(v.outcome));
        if verdicts.is_empty() {
            outcome = Outcome::Unknown;
        }
        // A finding that a CA with other vantage points may hit makes a passing name at risk.
        if outcome == Outcome::Pass
            && f.iter()
                .any(|x| x.severity >= Severity::Warning && !x.code.is_coverage())
        {
            outcome = Outcome::AtRisk;
        }
        if f.iter().any(|x| {
            matches!(
                x.code,
                FindingCode::WildcardNeedsDns01 | FindingCode::NameNotIssuable
            )
        }) {
            outcome = outcome.worst(Outcome::Fail);
        }
        overall = Some(overall.map_or(outcome, |o: Outcome| o.worst(outcome)));
        findings.append(&mut f);
        let mut report = IdentifierReport {
            name: id.name.clone(),
            methods: id.methods.clone(),
            outcome,
            verdicts,
            observations: obs,
            ca: id_ca(run, id).to_string(),
            certificate: id.certificate.clone(),
            marks: Vec::new(),
            acme_dry_run: None,
        };
        mark::mark_identifier(&roster, &mut report);
        identifiers.push(report);
    }
    if let Some(first) = run.identifiers.first() {
        findings.extend(too_close(run, &first.name));
    }
    for id in &run.identifiers {
        for v in &id.engine_verdicts {
            findings.push(Finding {
                code: FindingCode::EngineVerdict,
                severity: Severity::Info,
                identifier: id.name.clone(),
                perspectives: Vec::new(),
                evidence: vec![v.clone()],
                fix: "for comparison: the remote engine's own quorum decision, beside mpic-check's"
                    .into(),
            });
        }
    }
    if let (false, Some(first)) = (run.engine_problems.is_empty(), run.identifiers.first()) {
        findings.push(Finding {
            code: FindingCode::EngineUnavailable,
            severity: Severity::Warning,
            identifier: first.name.clone(),
            perspectives: Vec::new(),
            evidence: run.engine_problems.clone(),
            fix: "a remote engine could not be used (fully or partly), so its perspectives are missing \
                  from this run: check the API URL, token or key and the account's limits; the local \
                  perspectives were still judged"
                .into(),
        });
    }
    for problem in &run.config_problems {
        let (path, _) = problem.split_once(": ").unwrap_or((problem.as_str(), ""));
        findings.push(Finding {
            code: FindingCode::ClientConfigUnreadable,
            severity: Severity::Warning,
            identifier: path.to_string(),
            perspectives: Vec::new(),
            evidence: vec![problem.clone()],
            fix: "this renewal configuration could not be read, so its names were not checked and the \
                  run cannot call them ready (outcome unknown, exit 3): fix or remove the file (the \
                  other certificates were checked and keep their own outcomes)"
                .into(),
        });
    }
    // Names that were never checked cannot make a run ready: the client will try to renew them
    // (or skip them with an error) whatever this run saw for the others.
    if !run.config_problems.is_empty() {
        overall = Some(overall.map_or(Outcome::Unknown, |o| o.worst(Outcome::Unknown)));
    }
    for id in &run.identifiers {
        if let Some(c) = &id.certificate
            && let Some(days) = c.days_left
            && days < 14
        {
            findings.push(Finding {
                code: FindingCode::CertificateExpiring,
                severity: if days < 0 { Severity::Error } else { Severity::Warning },
                identifier: id.name.clone(),
                perspectives: Vec::new(),
                evidence: vec![if days < 0 {
                    format!("{} ({}) expired {} day(s) ago", c.lineage, c.source, -days)
                } else {
                    format!("{} ({}) expires in {days} day(s)", c.lineage, c.source)
                }],
                fix: "renew now, after fixing any error above; a renewal normally runs 30 days before expiry, \
                      so an older certificate means renewals have been failing"
                    .into(),
            });
        }
    }
    if let (Some(problem), Some(first)) = (&run.probe_problem, run.identifiers.first()) {
        findings.push(Finding {
            code: FindingCode::WebrootProbeFailed,
            severity: Severity::Warning,
            identifier: first.name.clone(),
            perspectives: Vec::new(),
            evidence: vec![problem.clone()],
            fix: "give --webroot the directory the web server serves for these names, writable by the \
                  user running mpic-check; nothing was changed there"
                .into(),
        });
    }
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.identifier.cmp(&b.identifier))
            .then_with(|| a.code.cmp(&b.code))
    });
    Analysis {
        identifiers,
        findings,
        coverage: coverage(run),
        outcome: overall.unwrap_or(Outcome::Unknown),
    }
}

/// Pairs of counted perspectives closer than 500 km: a CA could not count both as distinct, so
/// the prediction may overcount corroboration.
fn too_close(run: &Run, identifier: &str) -> Option<Finding> {
    let located: Vec<(&str, [f64; 2])> = run
        .perspectives
        .iter()
        .filter(|p| p.role != Role::Source)
        .filter_map(|p| Some((p.name.as_str(), p.location?)))
        .collect();
    let mut evidence = Vec::new();
    let mut who = Vec::new();
    for (i, (a, la)) in located.iter().enumerate() {
        for (b, lb) in &located[i + 1..] {
            let d = quorum::distance_km(*la, *lb);
            if d < quorum::DISTINCT_KM {
                evidence.push(format!("{a} and {b} are {d:.0} km apart"));
                who.push(a.to_string());
                who.push(b.to_string());
            }
        }
    }
    if evidence.is_empty() {
        return None;
    }
    who.sort();
    who.dedup();
    Some(Finding {
        code: FindingCode::PerspectivesTooClose,
        severity: Severity::Warning,
        identifier: identifier.into(),
        perspectives: who,
        evidence,
        fix: "perspectives closer than 500 km do not count as distinct under the BRs: move one of each \
              pair to another region (a proxy or VPS farther away) so the quorum estimate is not too kind"
            .into(),
    })
}

/// What this run could and could not detect, per failure mode.
pub fn coverage(run: &Run) -> Vec<Coverage> {
    let all: Vec<&Observation> = run
        .identifiers
        .iter()
        .flat_map(|i| &i.observations)
        .collect();
    let roster = Roster::new(&run.perspectives);
    let remotes: Vec<PerspectiveId> = roster
        .ids()
        .filter(|p| roster.role(*p) == Role::Remote)
        .collect();
    // Who answered (or failed on the tool's side), joined to the perspective list by id.
    let ids_where = |keep: &dyn Fn(&Observation) -> bool| -> BTreeSet<PerspectiveId> {
        all.iter()
            .filter(|o| keep(o))
            .filter_map(|o| roster.id(&o.perspective))
            .collect()
    };
    let usable = ids_where(&|o| !o.perspective_fault);
    let usable_http = ids_where(&|o| o.check == Check::Http01 && !o.perspective_fault);
    let faulty = ids_where(&|o| o.perspective_fault);
    // Where each check was really made (an observation without provenance, from an older saved
    // run, falls back to what the perspective list says about its HTTP side).
    let away = |o: &Observation| o.provenance.as_ref().map(|p| p.reach() == Reach::Away);
    let http_away =
        ids_where(&|o| o.check == Check::Http01 && !o.perspective_fault && away(o) == Some(true));
    let dns_checks =
        |o: &Observation| matches!(o.check, Check::Address | Check::Caa | Check::Dns01);
    let dns_away = ids_where(&|o| dns_checks(o) && !o.perspective_fault && away(o) != Some(false));
    let dns_emulated = ids_where(&|o| {
        dns_checks(o)
            && !o.perspective_fault
            && o.provenance
                .as_ref()
                .is_some_and(|p| p.reach() == Reach::Emulated)
    });
    // Only remotes whose fetches really left from elsewhere, and that the tool could use, show
    // geoblocking.
    let proxied = remotes
        .iter()
        .filter(|p| {
            usable_http.contains(*p)
                && (http_away.contains(*p)
                    || (!roster.fetches_directly(**p)
                        && !all.iter().any(|o| {
                            o.check == Check::Http01
                                && o.provenance.is_some()
                                && roster.id(&o.perspective) == Some(**p)
                        })))
        })
        .count();
    let dns_away_remotes = remotes.iter().filter(|p| dns_away.contains(*p)).count();
    let dns_emulated_remotes = remotes.iter().filter(|p| dns_emulated.contains(*p)).count();
    let usable_remotes = remotes.iter().filter(|p| usable.contains(*p)).count();
    let nameservers = roster
        .ids()
        .filter(|p| roster.nameserver(*p).is_some())
        .count();
    let has = |c: Check| all.iter().any(|o| o.check == c && !o.perspective_fault);
    let multi_addr = all
        .iter()
        .any(|o| o.check == Check::Http01 && o.address.is_some());
    let probed = all.iter().any(|o| o.probe.is_some());
    let known_body = probed
        || all
            .iter()
            .any(|o| o.check == Check::Http01 && o.signature.is_body());
    let c = |mode: FindingCode, tested: bool, why: String| Coverage {
        failure_mode: mode,
        tested,
        why,
    };
    let ns_why = if nameservers > 0 {
        format!("{nameservers} authoritative nameserver address(es) asked directly and compared")
    } else {
        "no authoritative nameserver was discovered (or authoritative_sources = false)".into()
    };
    let mut v = vec![
        c(
            FindingCode::GeodnsDivergence,
            usable_remotes > 0 && has(Check::Address),
            if dns_emulated_remotes > 0 {
                format!(
                    "{usable_remotes} remote perspective(s) resolved the name with their own DNS view \
                     ({dns_emulated_remotes} emulated from this host with an ECS subnet)"
                )
            } else {
                format!(
                    "{usable_remotes} remote perspective(s) resolved the name with their own DNS view"
                )
            },
        ),
        c(
            FindingCode::HttpGeoblocked,
            proxied > 0 && has(Check::Http01),
            if proxied > 0 {
                format!(
                    "{proxied} remote perspective(s) fetch HTTP through a proxy or probe in their region"
                )
            } else {
                "every HTTP fetch leaves from this host: geoblocking needs proxies in other regions"
                    .into()
            },
        ),
        c(
            FindingCode::DnsRefusedByRegion,
            dns_away_remotes > 0,
            if dns_away_remotes > 0 {
                format!(
                    "{dns_away_remotes} remote perspective(s) ask DNS away from this host \
                     (remote resolver, proxy, probe or Open MPIC)"
                )
            } else {
                "every DNS query leaves this host (an ECS subnet changes a GeoDNS answer, not the \
                 source address an ACL looks at): needs a remote resolver, a SOCKS proxy or --globalping"
                    .into()
            },
        ),
        c(FindingCode::NsInconsistent, nameservers > 1, ns_why.clone()),
        c(FindingCode::NsUnreachable, nameservers > 0, ns_why.clone()),
        c(
            FindingCode::TxtMissingOnNs,
            nameservers > 1 && has(Check::Dns01),
            if has(Check::Dns01) {
                ns_why
            } else {
                "only with --method dns-01".into()
            },
        ),
        c(
            FindingCode::CaaForbids,
            has(Check::Caa),
            "CAA climb evaluated from each perspective".into(),
        ),
        c(
            FindingCode::CaaLookupFailed,
            has(Check::Caa),
            "CAA lookup errors recorded per perspective".into(),
        ),
        c(
            FindingCode::DeadAddress,
            multi_addr,
            if multi_addr {
                "every published address fetched separately".into()
            } else {
                "the name has a single address, or proxies resolve names themselves".into()
            },
        ),
        c(
            FindingCode::RedirectDisallowed,
            has(Check::Http01),
            "redirects followed under the CA rules".into(),
        ),
        c(
            FindingCode::BodyTooLarge,
            known_body,
            if known_body {
                "a known body (probe file or --expect-body) was compared with the 128-byte limit"
                    .into()
            } else {
                "needs a known body: --webroot or --token with --expect-body".into()
            },
        ),
        c(
            FindingCode::CdnCachedChallenge,
            has(Check::Http01),
            if probed {
                "probe file written, fetched, rewritten and fetched again from every perspective"
                    .into()
            } else {
                "cache headers checked only; --webroot also detects stale content and cached 404s"
                    .into()
            },
        ),
        c(
            FindingCode::UserAgentFiltered,
            has(Check::Http01),
            "a refused fetch is repeated with a browser User-Agent".into(),
        ),
    ];
    // An IP-address identifier (RFC 8738) has no DNS side: its run cannot suffer the failure modes
    // of a name's DNS or its several addresses, so a run of addresses only does not list them as
    // untested (and gets no hint to add vantage points for DNS).
    if !run.identifiers.is_empty()
        && run
            .identifiers
            .iter()
            .all(|i| i.name.parse::<std::net::IpAddr>().is_ok())
    {
        v.retain(|c| {
            !matches!(
                c.failure_mode,
                FindingCode::GeodnsDivergence
                    | FindingCode::DnsRefusedByRegion
                    | FindingCode::NsInconsistent
                    | FindingCode::NsUnreachable
                    | FindingCode::TxtMissingOnNs
                    | FindingCode::CaaForbids
                    | FindingCode::CaaLookupFailed
                    | FindingCode::DeadAddress
            )
        });
    }
    let faults: Vec<&str> = remotes
        .iter()
        .filter(|p| faulty.contains(*p))
        .map(|p| roster.name(*p))
        .collect();
    if !faults.is_empty() {
        v.push(c(
            FindingCode::PerspectiveError,
            true,
            format!("could not use: {}", faults.join(", ")),
        ));
    }
    v
}

#[cfg(test)]
#[path = "analyze_tests.rs"]
mod analyze_tests;
