//! DNS detectors: DNSSEC failures, nameservers that disagree, lag, do not answer or are lame, the
//! dns-01 TXT record (missing on a server, removed early, shared, left over, negatively cached),
//! DNS refused to some regions, and zones with more nameservers than are asked.

use std::collections::BTreeMap;

use super::*;

pub(super) fn dnssec(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
    let mut who = Vec::new();
    let mut evidence = Vec::new();
    for o in obs.iter().filter(|o| !o.perspective_fault) {
        let bad = o.dns.iter().find_map(|d| {
            let e = d.ede.as_ref()?;
            e.is_dnssec().then(|| {
                format!(
                    "{} ({} {}): {} — EDE {e}",
                    o.perspective,
                    d.qname,
                    d.qtype,
                    d.rcode.as_deref().unwrap_or("no reply")
                )
            })
        });
        if let Some(ev) = bad
            && !who.contains(&o.perspective)
        {
            who.push(o.perspective.clone());
            evidence.push(ev);
        }
    }
    if who.is_empty() {
        return;
    }
    out.push(finding(
        ctx,
        FindingCode::DnssecBogus,
        Severity::Error,
        who,
        evidence,
        "a validating resolver rejects this zone's DNSSEC (expired or missing signatures, a DS at the \
         registrar that matches no DNSKEY): re-sign the zone or fix the DS record. Since 2026-03-15 a \
         CA's primary perspective validates DNSSEC for CAA and DCV, so a bogus zone cannot get a certificate",
    ));
}

pub(super) fn nameservers(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
    let ns_obs: Vec<&Observation> = obs
        .iter()
        .filter(|o| ctx.is_nameserver(&o.perspective) && !o.perspective_fault)
        .collect();
    if ns_obs.is_empty() {
        return;
    }
    // Unreachable or refusing servers: one finding naming them all.
    let mut down: BTreeMap<&str, &Observation> = BTreeMap::new();
    for o in ns_obs
        .iter()
        .filter(|o| o.phase.is_some() && o.check == Check::Soa)
    {
        down.entry(o.perspective.as_str()).or_insert(o);
    }
    let servers: BTreeMap<&str, ()> = ns_obs
        .iter()
        .map(|o| (o.perspective.as_str(), ()))
        .collect();
    if !down.is_empty() {
        let all = down.len() == servers.len();
        let v6_only = down.keys().all(|p| p.contains(':'));
        // A reply without AA to a non-recursive question: the server answers, but not for this
        // zone (a lame delegation). Read from the typed flags, not from the summary's words.
        let lame = down.values().any(|o| {
            o.dns
                .iter()
                .any(|d| !d.aa && matches!(d.rcode.as_deref(), Some("NOERROR") | Some("NXDOMAIN")))
        });
        out.push(finding(
            ctx,
            FindingCode::NsUnreachable,
            if all { Severity::Error } else { Severity::Warning },
            down.keys().map(|s| s.to_string()).collect(),
            down.iter().map(|(p, o)| format!("{p}: {}", o.summary)).collect(),
            &if lame {
                "these nameservers are listed for the zone but do not answer for it with authority (a \
                 lame delegation: no AA flag), or do not answer at all: a CA's resolver that picks them \
                 fails or retries; load the zone on them (zone statement, transfers reaching them) or \
                 remove them from the NS set and the parent's delegation"
                    .to_string()
            } else if v6_only {
                "these nameservers do not answer over IPv6: a CA's resolver may pick them and time out; \
                 fix IPv6 reachability of port 53 (UDP and TCP) or remove their AAAA glue"
                    .to_string()
            } else {
                "these nameservers do not answer (or refuse): a CA's resolver that picks them fails or \
                 retries; fix them or remove them from the NS set and the parent's delegation"
                    .to_string()
            },
        ));
    }
    // Disagreements between servers of the same zone, per check.
    for check in [Check::Soa, Check::Address, Check::Caa] {
        let answered: Vec<&&Observation> = ns_obs
            .iter()
            .filter(|o| o.check == check && o.phase.is_none())
            .collect();
        let mut groups: BTreeMap<&Signature, Vec<&str>> = BTreeMap::new();
        for o in &answered {
            groups
                .entry(&o.signature)
                .or_default()
                .push(o.perspective.as_str());
        }
        if groups.len() < 2 {
            continue;
        }
        let what = match check {
            Check::Soa => "SOA serial",
            Check::Address => "addresses",
            _ => "CAA records",
        };
        let evidence = groups
            .iter()
            .map(|(sig, who)| format!("{} serve {what} {sig}", who.join(", ")))
            .collect();
        // For serials, the servers behind are those below the highest serial; for records, the
        // smallest group is the odd one out.
        let minority: Vec<String> = if check == Check::Soa {
            let serial = |k: &Signature| match k {
                Signature::Serial(n) => Some(*n),
                _ => None,
            };
            let newest = groups.keys().filter_map(|k| serial(k)).max();
            groups
                .iter()
                .filter(|(k, _)| serial(k) != newest)
                .flat_map(|(_, v)| v.iter().map(|s| s.to_string()))
                .collect()
        } else {
            groups
                .values()
                .min_by_key(|v| v.len())
                .map(|v| v.iter().map(|s| s.to_string()).collect())
                .unwrap_or_default()
        };
        out.push(finding(
            ctx,
            FindingCode::NsInconsistent,
            if check == Check::Soa { Severity::Warning } else { Severity::Error },
            minority.clone(),
            evidence,
            &format!(
                "the authoritative servers disagree on {what}; a CA's resolver may ask any of them. Check \
                 zone transfers to {} (NOTIFY, AXFR/IXFR, allow-transfer, serial increased) and wait until \
                 every server serves the same zone before renewing",
                minority.join(", ")
            ),
        ));
    }
}

pub(super) fn txt(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
    let txt: Vec<&Observation> = obs
        .iter()
        .filter(|o| o.check == Check::Dns01 && !o.perspective_fault)
        .collect();
    if txt.is_empty() {
        return;
    }
    // Per nameserver: who lacks what the others (or the user) expect.
    // A server that answers with an alias into another zone (acme-dns and the like) does not
    // hold the TXT itself; the record is judged where the alias points.
    let aliased =
        |o: &Observation| o.txt.is_empty() && o.dns.iter().any(|d| d.cname_chain.len() > 1);
    let ns_txt: Vec<&&Observation> = txt
        .iter()
        .filter(|o| ctx.is_nameserver(&o.perspective) && !aliased(o))
        .collect();
    let wanted: Vec<String> = if ctx.expect_txt.is_empty() {
        let mut all: Vec<String> = ns_txt.iter().flat_map(|o| o.txt.clone()).collect();
        all.sort();
        all.dedup();
        all
    } else {
        ctx.expect_txt.to_vec()
    };
    let missing: Vec<(&&&Observation, Vec<&String>)> = ns_txt
        .iter()
        .filter(|o| o.phase.is_none())
        .map(|o| {
            (
                o,
                wanted
                    .iter()
                    .filter(|w| !o.txt.contains(w))
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, m)| !m.is_empty())
        .collect();
    // Every authoritative server lacks a value that some perspective still sees: the record was
    // removed while resolvers serve a cached copy (early cleanup), not a lagging secondary.
    let answered_ns = ns_txt.iter().filter(|o| o.phase.is_none()).count();
    let seen_elsewhere: Vec<&&Observation> = txt
        .iter()
        .filter(|o| !ctx.is_nameserver(&o.perspective) && wanted.iter().any(|w| o.txt.contains(w)))
        .collect();
    if !missing.is_empty() && missing.len() == answered_ns && !seen_elsewhere.is_empty() {
        let mut evidence: Vec<String> = seen_elsewhere
            .iter()
            .map(|o| {
                format!(
                    "{} still sees {} (from a resolver cache)",
                    o.perspective,
                    o.txt.join(" ")
                )
            })
            .collect();
        evidence.extend(
            missing
                .iter()
                .map(|(o, _)| format!("{}: no longer has it", o.perspective)),
        );
        out.push(finding(
            ctx,
            FindingCode::TxtEarlyRemoval,
            Severity::Error,
            missing.iter().map(|(o, _)| o.perspective.clone()).collect(),
            evidence,
            "the TXT record is gone from every authoritative server while resolvers still answer from \
             cache: perspectives with an empty or expired cache will not find it. Keep the record until \
             the CA has finished validating (clean up in the cleanup hook after validation, not before)",
        ));
    } else if !missing.is_empty() && !wanted.is_empty() {
        let evidence = missing
            .iter()
            .map(|(o, m)| {
                let (ns, ip) = nameserver_of(ctx, &o.perspective);
                format!(
                    "TXT {} missing on {ns} ({ip}); it has: {}",
                    m.iter()
                        .map(|s| format!("{s:?}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if o.txt.is_empty() {
                        "nothing".into()
                    } else {
                        o.txt.join(" ")
                    }
                )
            })
            .collect();
        // Every lacking server by name and address, e.g. "ns2.example.net (192.0.2.2)".
        let ns = missing
            .iter()
            .map(|(o, _)| {
                let (host, ip) = nameserver_of(ctx, &o.perspective);
                format!("{host} ({ip})")
            })
            .collect::<Vec<_>>()
            .join(", ");
        out.push(finding(
            ctx,
            FindingCode::TxtMissingOnNs,
            Severity::Error,
            missing.iter().map(|(o, _)| o.perspective.clone()).collect(),
            evidence,
            &format!(
                "TXT missing on {ns}: wait for the zone transfer or fix NOTIFY before asking the CA to \
                 validate (in a DNS-01 hook: mpic-check wait-txt, or a propagation delay that checks every \
                 nameserver)"
            ),
        ));
    }
    // Apex + wildcard in one order need two values in one RRset.
    if ctx.expect_txt.len() > 1 {
        // Replaced, not merely late: one expected value is there and another is not.
        let short: Vec<&&Observation> = txt
            .iter()
            .filter(|o| {
                o.phase.is_none()
                    && !o.ok
                    && ctx.expect_txt.iter().any(|e| o.txt.contains(e))
                    && ctx.expect_txt.iter().any(|e| !o.txt.contains(e))
            })
            .collect();
        if !short.is_empty() {
            out.push(finding(
                ctx,
                FindingCode::TxtSharedName,
                Severity::Error,
                short.iter().map(|o| o.perspective.clone()).collect(),
                short.iter().map(|o| format!("{}: {}", o.perspective, o.summary)).collect(),
                "an apex and its wildcard share _acme-challenge: both values must be in the TXT RRset at \
                 the same time; make the DNS hook add a record instead of replacing the RRset",
            ));
        }
    }
    // Leftover values from old attempts, without an expectation.
    if ctx.expect_txt.is_empty() {
        let stale: Vec<&&Observation> = txt
            .iter()
            .filter(|o| {
                o.phase.is_none() && !o.txt.is_empty() && ctx.role(&o.perspective) == Role::Primary
            })
            .collect();
        if let Some(o) = stale.first() {
            out.push(finding(
                ctx,
                FindingCode::TxtLeftover,
                Severity::Info,
                vec![o.perspective.clone()],
                vec![format!("{} value(s) at the challenge name: {}", o.txt.len(), o.txt.join(" "))],
                "TXT values from earlier attempts do not hurt validation, but a DNS hook that cleans up \
                 should remove them; many leftovers can make the answer too large",
            ));
        }
    }
    // Long negative caching at the challenge name.
    for o in txt.iter().filter(|o| o.txt.is_empty() && o.phase.is_none()) {
        if let Some(ttl) = o.dns.iter().filter_map(|d| d.negative_ttl).max()
            && ttl > 600
        {
            out.push(finding(
                ctx,
                FindingCode::NegativeCacheRisk,
                Severity::Warning,
                vec![o.perspective.clone()],
                vec![format!("{}: no TXT yet, and resolvers may cache that for {ttl} s (SOA minimum)", o.perspective)],
                "a resolver that asked before the TXT existed keeps the negative answer for the SOA \
                 minimum: lower the SOA minimum/negative TTL of the zone (e.g. 300 s), or create the TXT \
                 well before the CA checks",
            ));
            break;
        }
    }
}

pub(super) fn dns_refused(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
    // A lame nameserver refuses everyone: that is ns-unreachable, not a regional refusal.
    let addr: Vec<&Observation> = obs
        .iter()
        .filter(|o| {
            !o.perspective_fault && o.address.is_none() && !ctx.is_nameserver(&o.perspective)
        })
        .collect();
    let refused: Vec<&&Observation> = addr
        .iter()
        .filter(|o| {
            o.phase == Some(Phase::Dns)
                && o.dns
                    .iter()
                    .any(|d| matches!(d.rcode.as_deref(), Some("REFUSED" | "SERVFAIL")))
        })
        .collect();
    let answered = addr
        .iter()
        .any(|o| o.phase.is_none() && o.check == Check::Address);
    if refused.is_empty() || !answered {
        return;
    }
    let mut who: Vec<String> = refused.iter().map(|o| o.perspective.clone()).collect();
    who.sort();
    who.dedup();
    let primary = who.iter().any(|p| ctx.role(p) == Role::Primary);
    let remotes_total = addr
        .iter()
        .filter(|o| o.check == Check::Address && ctx.role(&o.perspective) == Role::Remote)
        .count();
    let remotes_refused = who.iter().filter(|p| ctx.role(p) == Role::Remote).count();
    let severity = if primary || remotes_refused > allowed_failures(remotes_total) {
        Severity::Error
    } else {
        Severity::Warning
    };
    out.push(finding(
        ctx,
        FindingCode::DnsRefusedByRegion,
        severity,
        who,
        refused.iter().map(|o| format!("{} ({}): {}", o.perspective, o.check, o.summary)).collect(),
        "the DNS for this name answers some regions but refuses or fails others: remove geographic ACLs \
         or rate limits on the authoritative servers (CAs resolve from several continents), and check the \
         DNS provider's geo-restriction settings",
    ));
}

/// A zone that delegates to more nameservers than the caps allow: the ones beyond were not asked,
/// so a missing record or a broken server among them would go unseen here.
pub(super) fn nameservers_capped(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
    let Some(c) = obs.iter().find_map(|o| o.ns_capped.as_ref()) else {
        return;
    };
    let mut evidence = vec![format!(
        "{} delegates to {} nameserver names; {} were asked",
        c.zone, c.names, c.names_asked
    )];
    if c.addresses_left_out > 0 {
        evidence.push(format!(
            "{} nameserver address(es) left out (at most {} per name, {} per zone)",
            c.addresses_left_out,
            crate::perspective::MAX_ADDRS_PER_NS,
            crate::perspective::MAX_NS_ADDRS
        ));
    }
    out.push(finding(
        ctx,
        FindingCode::NameserversCapped,
        Severity::Info,
        Vec::new(),
        evidence,
        &format!(
            "Nothing to fix for issuance as such, but the servers beyond the first {} names were not checked: trim the NS set of {} to the servers you run (resolvers, like this tool, ask only some of them).",
            crate::perspective::MAX_NS_NAMES,
            c.zone
        ),
    ));
}
