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
        reach: Default::default(),
        from_this_host: Vec::new(),
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
        acme_dry_run: None,
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

// ---- A bulk run -------------------------------------------------------------------------------

use crate::analysis::{IdentifierRun, Run, quorum::Policy};
use crate::checks::blank;
use crate::model::PerspectiveInfo;
use crate::observation::{HttpFacts, HttpHop, Method, Observation, Phase, Rir, Role};

/// The perspectives of the bulk run: a primary and four remotes in four RIRs.
const BULK: [(&str, Role, Rir); 5] = [
    ("home", Role::Primary, Rir::Arin),
    ("us-west", Role::Remote, Rir::Arin),
    ("eu-central", Role::Remote, Rir::Ripe),
    ("ap-southeast", Role::Remote, Rir::Apnic),
    ("sa-east", Role::Remote, Rir::Lacnic),
];

/// The name of the bulk run's `i`th identifier.
pub fn bulk_name(i: usize) -> String {
    format!("site{i:03}.example.com")
}

fn http_facts(name: &str, status: Option<u16>) -> HttpFacts {
    let url = format!("http://{name}/.well-known/acme-challenge/mpic-check-7Hq2vXcN");
    HttpFacts {
        url: url.clone(),
        via: "direct".into(),
        user_agent: "Mozilla/5.0 (compatible; Let's Encrypt validation server)".into(),
        hops: vec![HttpHop {
            url,
            address: Some("203.0.113.10:80".into()),
            status,
            location: None,
            headers: Vec::new(),
            elapsed_ms: 180,
        }],
        status,
        body_prefix: None,
        body_len: None,
        body_sha256: None,
        body_truncated: false,
        alt_user_agent: None,
    }
}

/// What every perspective saw for the `i`th name of the bulk run. Most names are healthy; every
/// 10th (from 3) is geoblocked from eu-central (at risk), every 25th (from 7) has CAA forbidding
/// the CA (would fail), every 40th (from 11) lost its primary's resolver (could not assess).
fn bulk_observations(i: usize) -> Vec<Observation> {
    let name = bulk_name(i);
    let mut v = Vec::new();
    for (p, role, _) in BULK {
        let broken = i % 40 == 11 && role == Role::Primary;
        for check in [Check::Address, Check::Caa, Check::Http01] {
            let mut o = blank(p, check);
            if broken {
                o.phase = Some(Phase::Dns);
                o.perspective_fault = true;
                o.summary = "udp://127.0.0.53:53: resolver unreachable".into();
                o.signature = "error:dns".into();
                v.push(o);
                continue;
            }
            o.ok = true;
            match check {
                Check::Address => {
                    o.addresses = vec!["203.0.113.10".into()];
                    o.summary = "203.0.113.10".into();
                    o.signature = "203.0.113.10".into();
                }
                Check::Caa if i % 25 == 7 => {
                    o.ok = false;
                    o.signature = "forbid".into();
                    o.summary = "CAA record for example.com prevents issuance: no issue property \
                                 names letsencrypt.org (found 0 issue \"pki.goog\")"
                        .into();
                }
                Check::Caa => {
                    o.signature = "permit".into();
                    o.summary = "no CAA records up to the TLD: any CA may issue".into();
                }
                _ if i % 10 == 3 && p == "eu-central" => {
                    o.ok = false;
                    o.phase = Some(Phase::Timeout);
                    o.signature = "error:timeout".into();
                    o.summary = "Timeout during connect (likely firewall problem)".into();
                    o.http = Some(http_facts(&name, None));
                }
                _ => {
                    o.signature = "status:404".into();
                    o.summary = "404 from the origin (random token)".into();
                    o.http = Some(http_facts(&name, Some(404)));
                }
            }
            v.push(o);
        }
    }
    v
}

/// A run over `n` names (see [`bulk_observations`]), as `--save` would hold it.
pub fn bulk_run(n: usize) -> Run {
    let perspectives: Vec<PerspectiveInfo> = BULK
        .iter()
        .map(|(name, role, rir)| PerspectiveInfo {
            name: (*name).into(),
            role: *role,
            rir: Some(*rir),
            dns: "system".into(),
            http: "direct".into(),
            nameserver: None,
            location: None,
            dns_provenance: None,
            http_provenance: None,
        })
        .collect();
    Run {
        perspectives,
        ca: "letsencrypt.org".into(),
        identifiers: (0..n)
            .map(|i| IdentifierRun {
                name: bulk_name(i),
                methods: vec![Method::Http01],
                observations: bulk_observations(i),
                ca: String::new(),
                certificate: None,
                engine_verdicts: Vec::new(),
                unfinished: Vec::new(),
            })
            .collect(),
        http_vantages: BULK.len(),
        expect_txt: Vec::new(),
        probe_problem: None,
        smime: false,
        engine_problems: Vec::new(),
        config_problems: Vec::new(),
    }
}

/// The report of [`bulk_run`] through the real analysis, under the BR policy of 2026-11-28 (so the
/// 2026-12-15 phase note is there), with fixed times.
pub fn bulk_report(n: usize) -> Report {
    let policy = Policy::br("2026-11-28".parse().unwrap());
    let started = chrono::DateTime::parse_from_rfc3339("2026-11-28T10:00:00.250Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    crate::report::build::build(
        &bulk_run(n),
        &policy,
        started,
        std::time::Duration::from_millis(41_250),
        crate::exit::FailOn::Warning,
    )
    .0
}
