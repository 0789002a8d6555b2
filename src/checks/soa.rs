//! The zone's SOA serial as one authoritative server serves it. Asked of every nameserver so a
//! secondary that missed a zone transfer (old serial) is named before a CA trips over it.

use std::time::Instant;

use hickory_resolver::proto::rr::{RData, RecordType};

use super::{blank, fail_with};
use crate::observation::{Check, Observation, Signature};
use crate::perspective::Vantage;

/// Reads the SOA of `apex` from `v`.
pub async fn check(v: &Vantage, apex: &str) -> Observation {
    let start = Instant::now();
    let mut o = blank(&v.spec.name, Check::Soa);
    let l = v.lookup(apex, RecordType::SOA).await;
    o.elapsed_ms = start.elapsed().as_millis() as u64;
    o.dns = l.exchanges.clone();
    if let Some(f) = &l.failure {
        fail_with(&mut o, f);
        return o;
    }
    let serial = l.answer.as_ref().and_then(|a| {
        a.records(RecordType::SOA)
            .iter()
            .find_map(|r| match &r.data {
                RData::SOA(s) => Some(s.serial),
                _ => None,
            })
    });
    match serial {
        Some(s) => {
            o.ok = true;
            o.summary = format!("serial {s}");
            o.signature = Signature::Serial(s);
        }
        None => {
            o.summary = format!("no SOA for {apex}: this server is not authoritative for the zone");
            o.signature = Signature::NoSoa;
        }
    }
    o
}
