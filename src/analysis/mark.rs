//! What each observation amounts to, decided once, upstream of every renderer (as nextest's
//! reporter decides a status before any displayer formats it). Two questions get two marks:
//!
//! - **answer**: did this vantage, on its own, answer as the CA requires? `Pass` when it did,
//!   `Unknown` when the tool itself failed (a proxy or resolver of ours), `Fail` otherwise. The
//!   matrix cells of the table (✓/✗ and their colour) and of the HTML report show this.
//! - **standing**: what the observation means for the CA's decision. The primary decides; a
//!   remote that disagrees while the quorum holds is a `Risk`, one whose check misses the quorum
//!   is a `Fail`; a dead address among several is a `Risk` (a CA picks one); the tool's own
//!   faults are `Unknown`, never blame. The HTML map marks perspectives by this.
//!
//! The two differ on purpose: a remote that fetched the token fine but from another backend than
//! the primary answered (✓) yet does not corroborate (`Risk`), so neither can stand in for the
//! other.

use crate::model::{
    IdentifierReport, Mark, ObservationMarks, Outcome, PerspectiveInfo, Report, Verdict,
};
use crate::observation::{Observation, Role};

use super::Roster;

/// Marks one observation of a perspective with this role, given its identifier's verdicts.
pub fn judge(role: Role, o: &Observation, verdicts: &[Verdict]) -> ObservationMarks {
    let answer = if o.ok {
        Mark::Pass
    } else if o.perspective_fault {
        Mark::Unknown
    } else {
        Mark::Fail
    };
    ObservationMarks {
        answer,
        standing: standing(role, o, verdicts),
    }
}

fn standing(role: Role, o: &Observation, verdicts: &[Verdict]) -> Mark {
    let pass_or = |m: Mark| if o.ok { Mark::Pass } else { m };
    if o.perspective_fault {
        return Mark::Unknown;
    }
    if o.address.is_some() {
        // Per-address fetches: a CA picks one address, so a dead one is a risk, not a verdict.
        return pass_or(Mark::Risk);
    }
    let verdict = verdicts.iter().find(|v| v.check == o.check);
    match (role, verdict) {
        (Role::Primary, _) => pass_or(Mark::Fail),
        (Role::Remote, Some(v)) if v.primary_ok => {
            if v.corroborating_perspectives.contains(&o.perspective) {
                Mark::Pass
            } else if v.outcome == Outcome::Fail {
                Mark::Fail
            } else {
                Mark::Risk
            }
        }
        // The primary failed: a remote that got through did its part.
        (Role::Remote, Some(_)) => pass_or(Mark::Fail),
        // Checks without a verdict (address) and diagnostic sources: a difference to look at.
        (Role::Remote, None) | (Role::Source, _) => pass_or(Mark::Risk),
    }
}

/// Marks every observation of an identifier, in order.
pub fn mark_identifier(roster: &Roster, id: &mut IdentifierReport) {
    id.marks = id
        .observations
        .iter()
        .map(|o| judge(roster.role_of(&o.perspective), o, &id.verdicts))
        .collect();
}

/// Marks every observation of a report: what `analyze` does for a run, for reports assembled
/// elsewhere (fixtures, tools that edit a report).
pub fn mark_report(report: &mut Report) {
    mark_with(&report.perspectives, &mut report.identifiers);
}

/// Marks identifiers against a perspective list.
pub fn mark_with(perspectives: &[PerspectiveInfo], identifiers: &mut [IdentifierReport]) {
    let roster = Roster::new(perspectives);
    for id in identifiers {
        mark_identifier(&roster, id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::blank;
    use crate::observation::Check;

    fn obs(p: &str, ok: bool) -> Observation {
        let mut o = blank(p, Check::Http01);
        o.ok = ok;
        o
    }

    fn verdict(outcome: Outcome, primary_ok: bool, corroborating: &[&str]) -> Verdict {
        Verdict {
            reach: Default::default(),
            from_this_host: Vec::new(),
            check: Check::Http01,
            outcome,
            corroborating: corroborating.len(),
            remotes: 3,
            required: 2,
            rirs: Vec::new(),
            primary_ok,
            corroborating_perspectives: corroborating.iter().map(|s| s.to_string()).collect(),
            dissenting_perspectives: Vec::new(),
            explanation: String::new(),
            next_phase: None,
        }
    }

    #[test]
    fn the_primary_decides_and_answers_for_itself() {
        let v = [verdict(Outcome::Fail, false, &[])];
        let m = judge(Role::Primary, &obs("home", false), &v);
        assert_eq!((m.answer, m.standing), (Mark::Fail, Mark::Fail));
        let m = judge(Role::Primary, &obs("home", true), &v);
        assert_eq!((m.answer, m.standing), (Mark::Pass, Mark::Pass));
    }

    #[test]
    fn a_remote_that_answers_but_does_not_corroborate_is_a_risk_not_a_cross() {
        let v = [verdict(Outcome::AtRisk, true, &["a"])];
        let m = judge(Role::Remote, &obs("b", true), &v);
        assert_eq!((m.answer, m.standing), (Mark::Pass, Mark::Risk));
        let v = [verdict(Outcome::Fail, true, &["a"])];
        assert_eq!(
            judge(Role::Remote, &obs("b", false), &v).standing,
            Mark::Fail
        );
        assert_eq!(
            judge(Role::Remote, &obs("a", true), &v).standing,
            Mark::Pass
        );
    }

    #[test]
    fn tool_faults_are_unknown_and_dead_addresses_are_risks() {
        let mut o = obs("r", false);
        o.perspective_fault = true;
        let m = judge(Role::Remote, &o, &[]);
        assert_eq!((m.answer, m.standing), (Mark::Unknown, Mark::Unknown));
        let mut o = obs("home", false);
        o.address = Some("2001:db8::1".into());
        let m = judge(Role::Primary, &o, &[]);
        assert_eq!((m.answer, m.standing), (Mark::Fail, Mark::Risk));
        assert_eq!(
            judge(Role::Source, &obs("ns", false), &[]).standing,
            Mark::Risk
        );
    }
}
