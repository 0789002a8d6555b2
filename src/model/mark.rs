//! The marks the analysis gives observations (see `crate::analysis::mark` for how they are
//! decided): plain vocabulary, kept beside the data they describe so that the report types can
//! carry them without the data depending on the analysis.

use super::Outcome;

/// A judgement shown with a colour and a symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mark {
    /// As expected.
    Pass,
    /// No usable answer: the tool's own failure, or not asked.
    Unknown,
    /// Disagrees, but the CA's decision holds.
    Risk,
    /// Fails the CA's decision.
    Fail,
}

impl Mark {
    /// Order for the worst mark of a perspective: a real disagreement says more than a tool
    /// fault, hence risk > unknown (unlike `Outcome::rank`, which ranks a run).
    pub fn rank(self) -> u8 {
        match self {
            Mark::Pass => 0,
            Mark::Unknown => 1,
            Mark::Risk => 2,
            Mark::Fail => 3,
        }
    }

    /// The mark of an outcome (an identifier's or the run's).
    pub fn of(o: Outcome) -> Mark {
        match o {
            Outcome::Pass => Mark::Pass,
            Outcome::AtRisk => Mark::Risk,
            Outcome::Fail => Mark::Fail,
            Outcome::Unknown => Mark::Unknown,
        }
    }
}

/// Both marks of one observation (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObservationMarks {
    /// Whether it answered as required, on its own.
    pub answer: Mark,
    /// What it means for the CA's decision.
    pub standing: Mark,
}

impl ObservationMarks {
    /// For an observation the analysis never saw (a report built or edited by hand).
    pub const UNJUDGED: ObservationMarks = ObservationMarks {
        answer: Mark::Unknown,
        standing: Mark::Unknown,
    };
}
