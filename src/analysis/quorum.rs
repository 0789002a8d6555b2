//! The quorum engine: the Baseline Requirements table (2–5 remotes → 1 may fail, 6+ → 2), the
//! phase-in of the minimum remote count by date, corroborating remotes from at least two RIRs, and
//! the primary that must pass (mpic-rules §1.2–§1.3, Boulder's `va.go`). Pure functions over
//! observations; the dates are inputs so the phase boundaries can be tested.

use chrono::NaiveDate;

use crate::config::PolicyName;
use crate::model::{Outcome, PolicyInfo, Verdict, VerdictReach};
use crate::observation::{Check, Observation, Reach, Rir};

/// One BR phase: from `from`, at least `min_remotes`, `rirs` distinct RIRs among corroborators.
#[derive(Debug, Clone, Copy)]
struct Phase {
    from: (i32, u32, u32),
    min_remotes: usize,
    rirs: usize,
    enforced: bool,
}

/// BR §3.2.2.9 "Phased Implementation Timeline".
const PHASES: [Phase; 5] = [
    Phase {
        from: (2025, 3, 15),
        min_remotes: 2,
        rirs: 0,
        enforced: false,
    },
    Phase {
        from: (2025, 9, 15),
        min_remotes: 2,
        rirs: 0,
        enforced: true,
    },
    Phase {
        from: (2026, 3, 15),
        min_remotes: 3,
        rirs: 2,
        enforced: true,
    },
    Phase {
        from: (2026, 6, 15),
        min_remotes: 4,
        rirs: 2,
        enforced: true,
    },
    Phase {
        from: (2026, 12, 15),
        min_remotes: 5,
        rirs: 2,
        enforced: true,
    },
];

fn date(t: (i32, u32, u32)) -> NaiveDate {
    NaiveDate::from_ymd_opt(t.0, t.1, t.2).expect("valid phase date")
}

/// A quorum policy evaluated on a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Which profile.
    pub name: PolicyName,
    /// The date it applies to.
    pub as_of: NaiveDate,
    /// Remote perspectives the CA is expected to use.
    pub min_remotes: usize,
    /// Distinct RIRs required among corroborating remotes.
    pub rirs_required: usize,
    /// Whether a missed quorum blocks issuance (false before 2025-09-15).
    pub enforced: bool,
    /// For `custom`: corroborating remotes required.
    pub quorum: Option<usize>,
}

impl Policy {
    /// The BR minimum in force on `as_of`.
    pub fn br(as_of: NaiveDate) -> Policy {
        let phase = PHASES.iter().rev().find(|p| date(p.from) <= as_of);
        Policy {
            name: PolicyName::Br,
            as_of,
            min_remotes: phase.map_or(0, |p| p.min_remotes),
            rirs_required: phase.map_or(0, |p| p.rirs),
            enforced: phase.is_some_and(|p| p.enforced),
            quorum: None,
        }
    }

    /// Let's Encrypt as published: 4 remotes, 3 must corroborate, from 2 RIRs.
    pub fn letsencrypt(as_of: NaiveDate) -> Policy {
        Policy {
            name: PolicyName::Letsencrypt,
            as_of,
            min_remotes: 4,
            rirs_required: 2,
            enforced: true,
            quorum: None,
        }
    }

    /// `--remotes N --quorum Q`.
    pub fn custom(as_of: NaiveDate, remotes: usize, quorum: usize) -> Policy {
        Policy {
            name: PolicyName::Custom,
            as_of,
            min_remotes: remotes,
            rirs_required: 2,
            enforced: true,
            quorum: Some(quorum),
        }
    }

    /// Builds the named policy.
    pub fn named(
        name: PolicyName,
        as_of: NaiveDate,
        remotes: Option<usize>,
        quorum: Option<usize>,
    ) -> Result<Policy, String> {
        match name {
            PolicyName::Br => Ok(Policy::br(as_of)),
            PolicyName::Letsencrypt => Ok(Policy::letsencrypt(as_of)),
            PolicyName::Custom => match (remotes, quorum) {
                (Some(n), Some(q)) if q >= 1 && q <= n => Ok(Policy::custom(as_of, n, q)),
                (Some(n), Some(q)) => {
                    Err(format!("--quorum {q} must be between 1 and --remotes {n}"))
                }
                _ => Err("--policy custom needs --remotes N and --quorum Q".into()),
            },
        }
    }

    /// Non-corroborating remotes tolerated when `n` remotes are used (BR table).
    pub fn allowed_failures(&self, n: usize) -> usize {
        if let Some(q) = self.quorum {
            return n.saturating_sub(q);
        }
        match n {
            0 | 1 => 0,
            2..=5 => 1,
            _ => 2,
        }
    }

    /// Corroborating remotes needed when `n` remotes are used.
    pub fn required(&self, n: usize) -> usize {
        match self.quorum {
            Some(q) => q.min(n.max(q)),
            None => n - self.allowed_failures(n),
        }
    }

    /// The policy that starts next, if a BR phase begins within `days` of `as_of`.
    pub fn next_phase(&self, days: i64) -> Option<Policy> {
        if self.name != PolicyName::Br {
            return None;
        }
        let next = PHASES.iter().find(|p| date(p.from) > self.as_of)?;
        let start = date(next.from);
        ((start - self.as_of).num_days() <= days).then(|| Policy::br(start))
    }

    /// The summary for the report.
    pub fn info(&self) -> PolicyInfo {
        PolicyInfo {
            name: match self.name {
                PolicyName::Br => "br",
                PolicyName::Letsencrypt => "letsencrypt",
                PolicyName::Custom => "custom",
            }
            .into(),
            remotes_required: self.min_remotes,
            allowed_failures: self.allowed_failures(self.min_remotes),
            rirs_required: self.rirs_required,
            as_of: self.as_of.format("%Y-%m-%d").to_string(),
        }
    }
}

/// Great-circle distance in km between two (latitude, longitude) points (haversine, mean Earth
/// radius); the BRs' 500 km rule is a straight-line distance, and this is close enough for it.
pub fn distance_km(a: [f64; 2], b: [f64; 2]) -> f64 {
    let (la1, lo1, la2, lo2) = (
        a[0].to_radians(),
        a[1].to_radians(),
        b[0].to_radians(),
        b[1].to_radians(),
    );
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}

/// Minimum distance between perspectives for them to count as distinct (BR §3.2.2.9).
pub const DISTINCT_KM: f64 = 500.0;

/// Whether a remote observation corroborates the primary's, per the BRs: for DCV the same
/// token/value was seen (same signature, and it passed); for CAA, permission to issue.
pub fn corroborates(check: Check, primary: &Observation, remote: &Observation) -> bool {
    match check {
        Check::Caa => remote.ok,
        _ => remote.ok && remote.signature == primary.signature,
    }
}

/// Judges one check for one identifier. `remotes` pairs each remote's observation with its RIR.
///
/// Only remotes that made the check away from this host corroborate. When some remote also
/// disagrees, the problem it saw is real, so the name is judged as if the agreement made from
/// this host counted (the kindest reading): that can only keep a problem from looking worse than
/// it is, never make a dissent look like a pass.
pub fn judge(
    check: Check,
    primary: Option<&Observation>,
    remotes: &[(&Observation, Rir)],
    policy: &Policy,
) -> Verdict {
    let v = tally(check, primary, remotes, policy, true);
    if v.from_this_host.is_empty() || v.dissenting_perspectives.is_empty() {
        return v;
    }
    let mut w = tally(check, primary, remotes, policy, false);
    w.explanation = format!(
        "{}; {} of the agreeing remote(s) made the check from this host, not from their region",
        w.explanation
            .replacen("remotes corroborate", "remotes agree", 1),
        v.from_this_host.len()
    );
    w.from_this_host = v.from_this_host;
    w
}

fn tally(
    check: Check,
    primary: Option<&Observation>,
    remotes: &[(&Observation, Rir)],
    policy: &Policy,
    drop_this_host: bool,
) -> Verdict {
    // A remote that agrees with the primary from this host has not corroborated anything: the
    // CA's remote would have reached the site from elsewhere. It is left out of the count (and
    // named), while one that disagrees still counts — what it saw is a real problem (a dead
    // address its DNS view returned, a missing record), wherever it was seen from.
    let agrees = |o: &Observation| primary.is_some_and(|p| corroborates(check, p, o));
    let from_here: Vec<String> = remotes
        .iter()
        .filter(|(o, _)| {
            drop_this_host && !o.perspective_fault && reach(o) == Reach::ThisHost && agrees(o)
        })
        .map(|(o, _)| o.perspective.clone())
        .collect();
    let counted: Vec<&(&Observation, Rir)> = remotes
        .iter()
        .filter(|(o, _)| !o.perspective_fault && !from_here.contains(&o.perspective))
        .collect();
    let emulated = counted
        .iter()
        .any(|(o, _)| reach(o) == Reach::Emulated && agrees(o));
    let n = counted.len();
    let primary_usable = primary.is_some_and(|p| !p.perspective_fault);
    let primary_ok = primary.is_some_and(|p| p.ok && !p.perspective_fault);
    let mut corroborating = Vec::new();
    let mut dissenting = Vec::new();
    let mut rirs: Vec<Rir> = Vec::new();
    for (o, rir) in &counted {
        if primary.is_some_and(|p| corroborates(check, p, o)) {
            corroborating.push(o.perspective.clone());
            if !rirs.contains(rir) {
                rirs.push(*rir);
            }
        } else {
            dissenting.push(o.perspective.clone());
        }
    }
    rirs.sort();
    let required = policy.required(n);
    let k = corroborating.len();
    let rir_text = if rirs.is_empty() {
        "no RIR".to_string()
    } else {
        rirs.iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join("+")
    };
    let what = if emulated {
        "remote views emulated from this host (ECS) agree"
    } else {
        "remotes corroborate"
    };
    let mut explanation = format!("{k}/{n} {what}, {required} needed, RIRs {rir_text}");
    if !from_here.is_empty() {
        explanation.push_str(&format!(
            "; {} more agree from this host, not counted",
            from_here.len()
        ));
    }
    let mut reach_word = if emulated {
        VerdictReach::Emulated
    } else {
        VerdictReach::Measured
    };
    let outcome = if !primary_usable {
        explanation = format!("the primary perspective could not be used; {explanation}");
        Outcome::Unknown
    } else if !primary_ok {
        explanation = format!("the primary fails, so a CA stops here; {explanation}");
        Outcome::Fail
    } else if n == 0 || (n < 2 && policy.min_remotes >= 2) {
        explanation = format!("too few remote perspectives answered to judge; {explanation}");
        Outcome::Unknown
    } else if k < required {
        Outcome::Fail
    } else if policy.rirs_required > 0 && rirs.len() < policy.rirs_required {
        explanation.push_str(&format!(" ({} RIRs required)", policy.rirs_required));
        Outcome::Fail
    } else if k < n {
        Outcome::AtRisk
    } else {
        Outcome::Pass
    };
    // Nothing counted but agreement made from this host: the check was not tested from other
    // regions. Say so instead of a count; the name's outcome leaves this check out.
    let mut outcome = outcome;
    if primary_ok && !from_here.is_empty() && k == 0 && dissenting.is_empty() {
        outcome = Outcome::Unknown;
        reach_word = VerdictReach::Untested;
        let every = if check == Check::Http01 {
            "every fetch left this host"
        } else {
            "every query left this host"
        };
        explanation = format!(
            "{check}: not tested from other regions ({every}; {} remote(s) agree from here); the primary passes",
            from_here.len()
        );
    } else if primary_ok && emulated && outcome == Outcome::Pass {
        explanation.push_str("; emulated, not measured from other regions");
    }
    if n < policy.min_remotes && outcome != Outcome::Unknown {
        explanation.push_str(&format!(
            "; only {n} remote(s) tested, the policy expects {} (the estimate is weaker)",
            policy.min_remotes
        ));
    }
    if !policy.enforced && outcome == Outcome::Fail && primary_ok {
        explanation.push_str("; the quorum is not enforced on this date");
    }
    Verdict {
        check,
        outcome,
        corroborating: k,
        remotes: n,
        required,
        rirs,
        primary_ok,
        corroborating_perspectives: corroborating,
        dissenting_perspectives: dissenting,
        explanation,
        next_phase: None,
        reach: reach_word,
        from_this_host: from_here,
    }
}

/// How far an observation reached; one without provenance (hand-built, or from a saved run the
/// loader could not place) counts as before provenance existed.
fn reach(o: &Observation) -> Reach {
    o.provenance.as_ref().map_or(Reach::Away, |p| p.reach())
}

/// Judges under the current policy and, when a BR phase begins within 60 days, says whether the
/// outcome changes under it.
pub fn judge_with_outlook(
    check: Check,
    primary: Option<&Observation>,
    remotes: &[(&Observation, Rir)],
    policy: &Policy,
) -> Verdict {
    let mut v = judge(check, primary, remotes, policy);
    if let Some(next) = policy.next_phase(60) {
        let w = judge(check, primary, remotes, &next);
        let when = next.as_of.format("%Y-%m-%d");
        v.next_phase = Some(if w.outcome == v.outcome && next.min_remotes <= v.remotes {
            format!(
                "from {when} (at least {} remotes): unchanged, {}",
                next.min_remotes, w.outcome
            )
        } else if w.outcome == v.outcome {
            format!(
                "from {when} CAs must use at least {} remotes; this run tested {}, so the estimate is weaker",
                next.min_remotes, v.remotes
            )
        } else {
            format!(
                "from {when} (at least {} remotes): {} instead of {}",
                next.min_remotes, w.outcome, v.outcome
            )
        });
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::blank;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn br_table_rows() {
        let p = Policy::br(d("2026-11-28"));
        let rows = [
            (1, 0),
            (2, 1),
            (3, 1),
            (4, 1),
            (5, 1),
            (6, 2),
            (7, 2),
            (10, 2),
        ];
        for (n, allowed) in rows {
            assert_eq!(p.allowed_failures(n), allowed, "n={n}");
            assert_eq!(p.required(n), n - allowed, "n={n}");
        }
    }

    #[test]
    fn phase_boundaries() {
        let cases = [
            ("2025-03-14", 0, 0, false),
            ("2025-03-15", 2, 0, false),
            ("2025-09-15", 2, 0, true),
            ("2026-03-14", 2, 0, true),
            ("2026-03-15", 3, 2, true),
            ("2026-06-14", 3, 2, true),
            ("2026-06-15", 4, 2, true),
            ("2026-12-14", 4, 2, true),
            ("2026-12-15", 5, 2, true),
            ("2030-01-01", 5, 2, true),
        ];
        for (day, min, rirs, enforced) in cases {
            let p = Policy::br(d(day));
            assert_eq!(
                (p.min_remotes, p.rirs_required, p.enforced),
                (min, rirs, enforced),
                "{day}"
            );
        }
        assert_eq!(
            Policy::br(d("2026-11-28"))
                .next_phase(60)
                .unwrap()
                .min_remotes,
            5
        );
        assert!(Policy::br(d("2026-09-01")).next_phase(60).is_none());
        assert!(Policy::br(d("2027-01-01")).next_phase(60).is_none());
    }

    fn obs(name: &str, ok: bool, sig: &str) -> Observation {
        let mut o = blank(name, Check::Http01);
        o.ok = ok;
        o.signature = sig.into();
        o
    }

    #[test]
    fn judging() {
        let p = Policy::letsencrypt(d("2026-11-28"));
        let prim = obs("p", true, "status:404");
        let a = obs("a", true, "status:404");
        let b = obs("b", true, "status:404");
        let c = obs("c", true, "status:404");
        let bad = obs("x", false, "error:timeout");
        let all = [
            (&a, Rir::Arin),
            (&b, Rir::Ripe),
            (&c, Rir::Apnic),
            (&bad, Rir::Lacnic),
        ];
        let v = judge(Check::Http01, Some(&prim), &all, &p);
        assert_eq!(
            (v.outcome, v.corroborating, v.remotes, v.required),
            (Outcome::AtRisk, 3, 4, 3)
        );
        assert_eq!(
            v.explanation,
            "3/4 remotes corroborate, 3 needed, RIRs ARIN+RIPE+APNIC"
        );
        let v = judge(Check::Http01, Some(&prim), &all[..3], &p);
        assert_eq!(v.outcome, Outcome::Pass);
        assert!(
            v.explanation.contains("the policy expects 4"),
            "{}",
            v.explanation
        );
        let bad2 = obs("y", false, "status:403");
        let two_bad = [
            (&a, Rir::Arin),
            (&b, Rir::Ripe),
            (&bad, Rir::Apnic),
            (&bad2, Rir::Lacnic),
        ];
        assert_eq!(
            judge(Check::Http01, Some(&prim), &two_bad, &p).outcome,
            Outcome::Fail
        );
        // Same RIR only: quorum by count but not by RIR diversity.
        let one_rir = [
            (&a, Rir::Arin),
            (&b, Rir::Arin),
            (&c, Rir::Arin),
            (&bad, Rir::Ripe),
        ];
        assert_eq!(
            judge(Check::Http01, Some(&prim), &one_rir, &p).outcome,
            Outcome::Fail
        );
        // Primary fails.
        let v = judge(
            Check::Http01,
            Some(&obs("p", false, "status:403")),
            &all,
            &p,
        );
        assert_eq!(v.outcome, Outcome::Fail);
        // A different answer does not corroborate.
        let other = obs("o", true, "status:200");
        let v = judge(
            Check::Http01,
            Some(&prim),
            &[(&a, Rir::Arin), (&other, Rir::Ripe)],
            &p,
        );
        assert_eq!(v.dissenting_perspectives, vec!["o".to_string()]);
        // Tool failures are not counted.
        let mut dead = obs("d", false, "error:proxy");
        dead.perspective_fault = true;
        let v = judge(
            Check::Http01,
            Some(&prim),
            &[(&a, Rir::Arin), (&b, Rir::Ripe), (&dead, Rir::Apnic)],
            &p,
        );
        assert_eq!((v.remotes, v.outcome), (2, Outcome::Pass));
        let v = judge(Check::Http01, Some(&prim), &[(&dead, Rir::Apnic)], &p);
        assert_eq!(v.outcome, Outcome::Unknown);
    }

    #[test]
    fn distances() {
        let amsterdam = [52.37, 4.90];
        let frankfurt = [50.11, 8.68];
        let tokyo = [35.68, 139.69];
        let d = distance_km(amsterdam, frankfurt);
        assert!((350.0..380.0).contains(&d), "{d}");
        assert!(distance_km(amsterdam, tokyo) > 9000.0);
        assert!(distance_km(tokyo, tokyo) < 0.001);
    }

    #[test]
    fn outlook_near_a_phase() {
        let p = Policy::br(d("2026-11-28"));
        let prim = obs("p", true, "s");
        let r: Vec<Observation> = (0..4).map(|i| obs(&format!("r{i}"), i < 3, "s")).collect();
        let rirs = [Rir::Arin, Rir::Ripe, Rir::Apnic, Rir::Lacnic];
        let pairs: Vec<(&Observation, Rir)> = r.iter().zip(rirs).collect();
        let v = judge_with_outlook(Check::Http01, Some(&prim), &pairs, &p);
        assert_eq!(v.outcome, Outcome::AtRisk);
        assert!(
            v.next_phase.as_deref().unwrap().contains("2026-12-15"),
            "{:?}",
            v.next_phase
        );
    }
}
