//! The checks a CA performs, each run from one perspective and each turning what it saw into an
//! `Observation`: address resolution, the CAA climb, the dns-01 TXT lookup and the HTTP-01 fetch.
//! A check never fails as a Rust error: whatever goes wrong is recorded with its phase, so one
//! broken perspective cannot hide the others.

pub mod address;
pub mod caa;
pub mod http01;
pub mod soa;
pub mod txt;

use crate::model::{Check, Observation, Phase, Signature};
use crate::perspective::LookupFailure;

/// An observation with nothing seen yet.
pub fn blank(perspective: &str, check: Check) -> Observation {
    Observation {
        perspective: perspective.to_string(),
        check,
        address: None,
        ok: false,
        phase: None,
        perspective_fault: false,
        summary: String::new(),
        elapsed_ms: 0,
        signature: Signature::default(),
        addresses: Vec::new(),
        dns: Vec::new(),
        http: None,
        caa: None,
        txt: Vec::new(),
        probe: None,
    }
}

/// Records a lookup failure on an observation.
pub fn fail_with(o: &mut Observation, f: &LookupFailure) {
    o.ok = false;
    o.phase = Some(f.phase);
    o.perspective_fault = f.perspective_fault;
    o.summary = f.message.clone();
    o.signature = Signature::Failed(f.phase);
}

/// Records a perspective that could not be used at all (dead proxy, unreadable resolv.conf).
pub fn broken(perspective: &str, check: Check, why: &str, phase: Phase) -> Observation {
    let mut o = blank(perspective, check);
    o.phase = Some(phase);
    o.perspective_fault = true;
    o.summary = why.to_string();
    o.signature = Signature::Failed(phase);
    o
}
