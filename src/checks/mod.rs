//! The checks a CA performs, each run from one perspective and each turning what it saw into an
//! `Observation`: address resolution, the CAA climb, the dns-01 TXT lookup and the HTTP-01 fetch.
//! A check never fails as a Rust error: whatever goes wrong is recorded with its phase, so one
//! broken perspective cannot hide the others.

pub mod address;
pub mod caa;
pub mod fingerprints;
pub mod http01;
pub mod soa;
pub mod tls_alpn01;
pub mod txt;

use crate::config::DnsSpec;
use crate::observation::{Check, Observation, Phase, Signature};
use crate::observation::{RefusedAddress, RefusedFrom};
use crate::perspective::policy::Refusal;
use crate::perspective::{LookupFailure, Vantage};

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
        refused: Vec::new(),
        ns_capped: None,
        connect_failure: None,
        fingerprints: Vec::new(),
        txt_doubled: None,
        provenance: None,
        tls: None,
        tool_fault: None,
    }
}

/// The tool's own fault behind a lookup failure, when it is one that has a typed remedy: a
/// socket that could not be opened (the transport's own words, `http::OUT_OF_FILES`).
pub fn tool_fault_of(f: &LookupFailure) -> Option<crate::observation::ToolFault> {
    (f.perspective_fault && f.message.contains(crate::perspective::http::OUT_OF_FILES))
        .then_some(crate::observation::ToolFault::OutOfFiles)
}

/// Records a lookup failure on an observation.
pub fn fail_with(o: &mut Observation, f: &LookupFailure) {
    o.ok = false;
    o.phase = Some(f.phase);
    o.perspective_fault = f.perspective_fault;
    o.tool_fault = tool_fault_of(f);
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

/// The typed record of an address the policy set aside.
pub fn refused(r: &Refusal, from: RefusedFrom, host: Option<&str>) -> RefusedAddress {
    RefusedAddress {
        address: r.ip.to_string(),
        range: r.range.cidr.to_string(),
        what: r.range.what.to_string(),
        from,
        host: host.map(str::to_string),
    }
}

/// Records on `o` what the discovery of `name`'s zone set aside: nameserver addresses the policy
/// refused and nameservers the caps left unasked. Only authoritative vantages discover zones, and
/// by then the zone of `name` is known, so this sends nothing.
pub async fn note_zone(v: &Vantage, name: &str, o: &mut Observation) {
    if v.spec.dns != DnsSpec::Authoritative {
        return;
    }
    let (refusals, capped) = match v.zone_of(name).await {
        Ok(z) => (z.refused, z.capped),
        Err(e) => (e.refused, None),
    };
    for (ns, r) in &refusals {
        let entry = refused(r, RefusedFrom::Nameserver, Some(ns));
        if !o.refused.contains(&entry) {
            o.refused.push(entry);
        }
    }
    o.ns_capped = capped;
}
