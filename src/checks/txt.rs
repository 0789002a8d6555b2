//! dns-01: the TXT RRset at `_acme-challenge.<base>` as one perspective sees it, CNAME and NS
//! delegation followed, every value kept (joined strings, as RFC 8555 compares them), compared
//! with the values the user expects. Apex and wildcard orders need two values in one RRset, so
//! every expected value must be present for the check to pass.

use std::time::Instant;

use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::RecordType;

use super::{blank, fail_with};
use crate::observation::{Check, DoubledTxt, Observation, Signature};
use crate::perspective::Vantage;

/// Looks up the challenge TXT from `v`.
pub async fn check(v: &Vantage, challenge_name: &str, expect: &[String]) -> Observation {
    let (mut o, doubled) = tokio::join!(
        lookup(v, challenge_name, expect),
        doubled_name(v, challenge_name)
    );
    o.txt_doubled = doubled;
    super::note_zone(v, challenge_name, &mut o).await;
    o
}

/// Let's Debug `dns01.go` (`TXTDoubleLabel`): a DNS panel that appends the zone to every name
/// turns `_acme-challenge.example.com` typed in full into `_acme-challenge.example.com.example.com`.
/// Asks that name (with the base and with the registered domain appended) and, to tell a
/// wildcard TXT from a real mistake, a random name beside it.
pub async fn doubled_name(v: &Vantage, challenge_name: &str) -> Option<DoubledTxt> {
    let base = challenge_name.strip_prefix("_acme-challenge.")?;
    let mut zones = vec![base.to_string()];
    if let Some(d) = psl::domain_str(base)
        && d != base
    {
        zones.push(d.to_string());
    }
    let nonce: u32 = rand::random();
    let random = format!("_acme-challenge.rand-{nonce:08x}.{base}");
    let names: Vec<String> = zones
        .iter()
        .map(|z| format!("{challenge_name}.{z}"))
        .collect();
    let (found, wild) = tokio::join!(
        futures::future::join_all(names.iter().map(|n| v.lookup(n, RecordType::TXT))),
        v.lookup(&random, RecordType::TXT)
    );
    let mut wild_values = wild.txt_values();
    wild_values.sort();
    for (name, l) in names.iter().zip(found) {
        let mut values = l.txt_values();
        if values.is_empty() {
            continue;
        }
        values.sort();
        values.dedup();
        return Some(DoubledTxt {
            name: name.clone(),
            wildcard: !wild_values.is_empty() && {
                let mut w = wild_values.clone();
                w.dedup();
                w == values
            },
            values,
        });
    }
    None
}

async fn lookup(v: &Vantage, challenge_name: &str, expect: &[String]) -> Observation {
    let start = Instant::now();
    let mut o = blank(&v.spec.name, Check::Dns01);
    let l = v.lookup(challenge_name, RecordType::TXT).await;
    o.elapsed_ms = start.elapsed().as_millis() as u64;
    o.dns = l.exchanges.clone();
    if let Some(f) = &l.failure {
        fail_with(&mut o, f);
        return o;
    }
    let mut values = l.txt_values();
    values.sort();
    values.dedup();
    o.txt = values.clone();
    let negative = if l.rcode() == Some(ResponseCode::NXDomain) {
        "NXDOMAIN"
    } else {
        "no TXT record"
    };
    o.signature = if values.is_empty() {
        Signature::None
    } else {
        Signature::parse(&values.join("|"))
    };
    if expect.is_empty() {
        o.ok = true;
        o.summary = if values.is_empty() {
            format!("{negative} at {challenge_name}")
        } else {
            format!("{} value(s): {}", values.len(), values.join(" "))
        };
        return o;
    }
    let missing: Vec<&String> = expect.iter().filter(|e| !values.contains(e)).collect();
    if missing.is_empty() {
        o.ok = true;
        o.summary = format!("all {} expected value(s) present", expect.len());
    } else if values.is_empty() {
        o.summary = format!("No TXT record found at {challenge_name}");
    } else {
        o.summary = format!(
            "Incorrect TXT record \"{}\" found at {challenge_name}; missing {}",
            values[0],
            missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    o
}
