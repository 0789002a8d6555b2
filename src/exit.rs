//! The public exit-code table. Scripts, CI gates and Nagios read these numbers, so they are part of
//! the contract: they follow the Nagios plugin convention (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)
//! and never change meaning between releases. The mapping from an outcome to a status lives here
//! too, once: every path (report, JSON Lines summary, replay) asks [`gated`].

use std::process::ExitCode;

use crate::model::Outcome;

/// Which outcomes make the exit status non-zero (`--fail-on`). It lives here, beside [`gated`],
/// rather than in `cli`, so the report and exit stages never import the flags layer; clap's
/// `ValueEnum` derive stays on it so the flag still parses straight into this type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// At risk exits 1, would fail exits 2 (default).
    Warning,
    /// Only a failing renewal (2) or no assessment (3) is non-zero; at risk exits 0.
    Error,
}

/// What the process exit status tells a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// 0: every identifier would pass MPIC as far as this run can tell.
    Ready = 0,
    /// 1: quorum met, but something a CA with other vantage points may hit (renewal at risk).
    AtRisk = 1,
    /// 2: the primary fails or the quorum is missed: a renewal would fail.
    WouldFail = 2,
    /// 3: could not assess: bad input, bad config, or too few perspectives answered.
    CouldNotAssess = 3,
    /// 4: `gate` only: the ACME client (certbot) failed or could not be started for at least
    /// one certificate. The check itself never exits 4.
    ClientFailed = 4,
    /// 130: stopped by a signal (Ctrl-C, SIGTERM, SIGHUP) after reporting what finished; the
    /// shell's own number for Ctrl-C, so scripts see what they would have seen without the report.
    Interrupted = 130,
}

impl Exit {
    /// The numeric status.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// One line per code, as printed in `--help` and the README.
    pub const TABLE: &'static str = "\
EXIT CODES:
  0  ready: every name would pass MPIC as far as this run can tell
  1  at risk: quorum met, but some perspectives disagree or a CA elsewhere may fail
  2  would fail: the primary fails or too few remote perspectives corroborate
  3  could not assess: bad input, bad config, or too few perspectives answered
  130  interrupted (Ctrl-C): what finished is reported, the rest is listed as not checked";
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e.code())
    }
}

/// Exit status for an outcome, before the `--fail-on` threshold.
pub fn exit_for(o: Outcome) -> Exit {
    match o {
        Outcome::Pass => Exit::Ready,
        Outcome::AtRisk => Exit::AtRisk,
        Outcome::Fail => Exit::WouldFail,
        Outcome::Unknown => Exit::CouldNotAssess,
    }
}

/// The exit status of a run with this outcome under the `--fail-on` threshold: with
/// `--fail-on error` a renewal that is only at risk exits 0.
pub fn gated(outcome: Outcome, fail_on: FailOn) -> Exit {
    match (exit_for(outcome), fail_on) {
        (Exit::AtRisk, FailOn::Error) => Exit::Ready,
        (e, _) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_nagios_convention() {
        assert_eq!(Exit::Ready.code(), 0);
        assert_eq!(Exit::AtRisk.code(), 1);
        assert_eq!(Exit::WouldFail.code(), 2);
        assert_eq!(Exit::CouldNotAssess.code(), 3);
        for n in 0..4 {
            assert!(Exit::TABLE.contains(&format!("  {n}  ")));
        }
    }

    #[test]
    fn fail_on_error_only_forgives_at_risk() {
        for o in [
            Outcome::Pass,
            Outcome::AtRisk,
            Outcome::Fail,
            Outcome::Unknown,
        ] {
            assert_eq!(gated(o, FailOn::Warning), exit_for(o));
        }
        assert_eq!(gated(Outcome::AtRisk, FailOn::Error), Exit::Ready);
        assert_eq!(gated(Outcome::Fail, FailOn::Error), Exit::WouldFail);
        assert_eq!(gated(Outcome::Unknown, FailOn::Error), Exit::CouldNotAssess);
    }
}
