//! Address check: A and AAAA in parallel from one perspective, the CNAME chain kept, and the
//! addresses a CA would refuse to contact (the special-purpose ranges of
//! [`crate::perspective::policy`]) set aside: like Boulder (`bdns/dns.go`, `LookupHost`), only the
//! usable addresses are kept for HTTP-01, and a name with none left fails as "no valid IP
//! addresses". Its sorted address set is the signature that GeoDNS divergence is detected on.

use std::net::IpAddr;
use std::time::Instant;

use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::RecordType;

use super::{blank, fail_with};
use crate::observation::{Check, Observation, RefusedFrom, Signature};
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
    // The signature is what DNS said (every address), whatever the policy sets aside.
    let all = addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let policy = &v.net().addresses;
    let refusals: Vec<_> = addrs.iter().filter_map(|ip| policy.refusal(*ip)).collect();
    o.refused = refusals
        .iter()
        .map(|r| super::refused(r, RefusedFrom::Address, None))
        .collect();
    super::note_zone(v, name, &mut o).await;
    let refused: Vec<String> = refusals.iter().map(ToString::to_string).collect();
    let usable: Vec<IpAddr> = addrs
        .iter()
        .copied()
        .filter(|ip| policy.permits(*ip))
        .collect();
    if !addrs.is_empty() && usable.is_empty() {
        // Every address is one a CA will not use: the name is as good as unresolvable.
        o.signature = Signature::Answer(all.clone());
        o.phase = Some(crate::observation::Phase::Dns);
        o.summary = format!("no valid IP addresses: {}", refused.join("; "));
        return o;
    }
    o.addresses = usable.iter().map(ToString::to_string).collect();
    if !usable.is_empty() {
        o.ok = true;
        o.signature = Signature::Answer(all.clone());
        let chain = a
            .answer
            .as_ref()
            .map(|x| x.facts.cname_chain.clone())
            .filter(|c| !c.is_empty())
            .map(|c| format!(" via {}", c[1..].join(" → ")))
            .unwrap_or_default();
        o.summary = format!("{}{chain}", o.addresses.join(" "));
        if !refused.is_empty() {
            o.summary = format!("{} (ignored: {})", o.summary, refused.join("; "));
        }
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
