//! Address check: A and AAAA in parallel from one perspective, the CNAME chain kept, and the
//! addresses a CA would refuse to contact (private, loopback, documentation ranges) flagged. Its
//! sorted address set is the signature that GeoDNS divergence is detected on.

use std::net::IpAddr;
use std::time::Instant;

use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::RecordType;

use super::{blank, fail_with};
use crate::model::{Check, Observation, Signature};
use crate::perspective::Vantage;

/// Resolves `name` from `v`.
pub async fn check(v: &Vantage, name: &str) -> Observation {
    let start = Instant::now();
    let mut o = blank(&v.spec.name, Check::Address);
    let (a, aaaa) = tokio::join!(
        v.lookup(name, RecordType::A),
        v.lookup(name, RecordType::AAAA)
    );
    o.dns.extend(a.exchanges.iter().cloned());
    o.dns.extend(aaaa.exchanges.iter().cloned());
    o.elapsed_ms = start.elapsed().as_millis() as u64;
    let mut addrs: Vec<IpAddr> = a.addresses();
    addrs.extend(aaaa.addresses());
    addrs.sort();
    addrs.dedup();
    o.addresses = addrs.iter().map(ToString::to_string).collect();
    if !addrs.is_empty() {
        o.ok = true;
        o.signature = Signature::parse(&o.addresses.join(","));
        let chain = a
            .answer
            .as_ref()
            .map(|x| x.facts.cname_chain.clone())
            .filter(|c| !c.is_empty())
            .map(|c| format!(" via {}", c[1..].join(" → ")))
            .unwrap_or_default();
        o.summary = format!("{}{chain}", o.addresses.join(" "));
        return o;
    }
    // No address: either a clean negative answer (a fact about the domain) or a failure.
    let nx = [&a, &aaaa]
        .iter()
        .any(|l| l.rcode() == Some(ResponseCode::NXDomain));
    let answered = [&a, &aaaa].iter().all(|l| l.failure.is_none());
    if nx || answered {
        o.summary = if nx {
            "NXDOMAIN: the name does not exist".into()
        } else {
            "no A or AAAA record".into()
        };
        o.signature = if nx {
            Signature::NxDomain
        } else {
            Signature::NoData
        };
        return o;
    }
    let f = a
        .failure
        .as_ref()
        .or(aaaa.failure.as_ref())
        .expect("one lookup failed");
    fail_with(&mut o, f);
    o
}

/// Addresses a CA's validator refuses to contact (Boulder drops reserved ranges).
pub fn is_reserved(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || v6.to_ipv4_mapped().is_some()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_ranges() {
        for r in [
            "10.1.2.3",
            "192.168.0.1",
            "127.0.0.1",
            "100.64.0.1",
            "192.0.2.1",
            "fd00::1",
            "fe80::1",
            "2001:db8::1",
            "::1",
        ] {
            assert!(is_reserved(&r.parse().unwrap()), "{r}");
        }
        for p in ["93.184.215.14", "2606:4700::1", "8.8.8.8"] {
            assert!(!is_reserved(&p.parse().unwrap()), "{p}");
        }
    }
}
