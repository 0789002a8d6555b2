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
                    "{} ({} {}): {} answered {} — EDE {e}",
                    o.perspective,
                    d.qname,
                    d.qtype,
                    d.server,
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
    // A reply without AA to a non-recursive question: the server answers, but not for this zone
    // (a lame delegation). Read from the typed flags, not from the summary's words. Lame servers
    // get their own finding: the fix (load the zone there) is not the fix for a dead server.
    let is_lame = |o: &Observation| {
        o.dns
            .iter()
            .any(|d| !d.aa && matches!(d.rcode.as_deref(), Some("NOERROR") | Some("NXDOMAIN")))
    };
    let (lame, down): (BTreeMap<&str, &Observation>, BTreeMap<&str, &Observation>) =
        down.into_iter().partition(|(_, o)| is_lame(o));
    let all_broken = lame.len() + down.len() == servers.len();
    if !lame.is_empty() {
        let named: Vec<String> = lame
            .iter()
            .map(|(p, o)| {
                let (host, ip) = nameserver_of(ctx, p);
                let zone = o
                    .dns
                    .first()
                    .map(|d| d.qname.as_str())
                    .unwrap_or("the zone");
                format!("{host} ({ip}) for {zone}")
            })
            .collect();
        let evidence = lame
            .iter()
            .zip(&named)
            .map(|((_, o), n)| {
                let rcode = o
                    .dns
                    .iter()
                    .find_map(|d| (!d.aa).then_some(d.rcode.as_deref()).flatten())
                    .unwrap_or("a reply");
                format!(
                    "{n}: answers {rcode} without the AA flag, so it does not serve the zone it is \
                     delegated ({})",
                    o.summary
                )
            })
            .collect();
        out.push(finding(
            ctx,
            FindingCode::NsLame,
            if all_broken { Severity::Error } else { Severity::Warning },
            lame.keys().map(|s| s.to_string()).collect(),
            evidence,
            &format!(
                "lame delegation: {} {} listed as nameserver but not authoritative. A CA's resolver that \
                 asks it gets no usable answer and must retry elsewhere (or fails when every server is \
                 lame). Load the zone on that server (a zone statement, or zone transfers that reach it) \
                 or remove it from the zone's NS records and from the delegation at the registrar",
                named.join(", "),
                if named.len() == 1 { "is" } else { "are" }
            ),
        ));
    }
    if !down.is_empty() {
        let all = all_broken;
        let v6_only = down.keys().all(|p| p.contains(':'));
        out.push(finding(
            ctx,
            FindingCode::NsUnreachable,
            if all { Severity::Error } else { Severity::Warning },
            down.keys().map(|s| s.to_string()).collect(),
            down.iter().map(|(p, o)| format!("{p}: {}", o.summary)).collect(),
            if v6_only {
                "these nameservers do not answer over IPv6: a CA's resolver may pick them and time out; \
                 fix IPv6 reachability of port 53 (UDP and TCP) or remove their AAAA glue"
            } else {
                "these nameservers do not answer (or refuse): a CA's resolver that picks them fails or \
                 retries; fix them or remove them from the NS set and the parent's delegation"
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
    // A truncated answer the server will not send over TCP is `dns-tcp-refused`, not an ACL.
    // So is a SERVFAIL whose diagnosis found only lame servers (`ns-lame`), and a SERVFAIL that
    // carries a DNSSEC Extended DNS Error (`dnssec-bogus`): each has its own finding and fix.
    let explained = |o: &Observation| {
        use crate::perspective::dns::{ServerFault, server_fault};
        let truncated = o
            .dns
            .iter()
            .any(|d| server_fault(d) == Some(ServerFault::TruncatedNoTcp));
        let dnssec = o
            .dns
            .iter()
            .any(|d| d.ede.as_ref().is_some_and(|e| e.is_dnssec()));
        let refused = o
            .dns
            .iter()
            .any(|d| d.diagnostic && server_fault(d) == Some(ServerFault::Refused));
        truncated || dnssec || (!refused && !lame_servers(o).is_empty())
    };
    // A DNS question that timed out in some regions is a DNS failure there too (never HTTP
    // geoblocking: the HTTP-01 fetch was not even tried).
    let dns_check = |o: &Observation| matches!(o.check, Check::Address | Check::Caa | Check::Dns01);
    let timed_out = |o: &Observation| dns_check(o) && o.phase == Some(Phase::Timeout);
    let refused: Vec<&&Observation> = addr
        .iter()
        .filter(|o| {
            !explained(o)
                && ((o.phase == Some(Phase::Dns)
                    && o.dns
                        .iter()
                        .any(|d| matches!(d.rcode.as_deref(), Some("REFUSED" | "SERVFAIL"))))
                    || timed_out(o))
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
        refused
            .iter()
            .flat_map(|o| {
                use crate::perspective::dns::{ServerFault, server_fault, what_it_did};
                // The authoritative servers that refused this region when asked directly (the
                // diagnosis of its resolver's SERVFAIL), by name and with their EDE.
                std::iter::once(format!("{} ({}): {}", o.perspective, o.check, o.summary)).chain(
                    o.dns
                        .iter()
                        .filter(|d| d.diagnostic && server_fault(d) == Some(ServerFault::Refused))
                        .map(|d| {
                            format!(
                                "{}: {} {} from {}: {}",
                                o.perspective,
                                d.qname,
                                d.qtype,
                                d.server,
                                what_it_did(d)
                            )
                        }),
                )
            })
            .collect(),
        if refused.iter().all(|o| timed_out(o)) {
            "DNS questions for this name time out in some regions while others get answers: no \
             nameserver reply reached those regions' resolvers in time. Check that every authoritative \
             server answers on port 53 (UDP and TCP) from every country (no geographic firewall, rate \
             limit or anycast node that drops queries); if the nameservers answer the other regions and \
             only one perspective's resolver is slow, that resolver is at fault, not the domain"
        } else {
            "the DNS for this name answers some regions but refuses or fails others: remove geographic ACLs \
             or rate limits on the authoritative servers (CAs resolve from several continents), and check the \
             DNS provider's geo-restriction settings"
        },
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

/// An answer too large for UDP (TC=1) on a server that refuses DNS over TCP: the answer cannot be
/// had at all, and a CA's resolver ends with SERVFAIL (for CAA: issuance refused, Boulder's
/// `bdns/dns.go` `LookupCAA` turns SERVFAIL into an error and `va/caa.go` `getCAASet` stops at
/// the first error). Read from every exchange the tool made: the authoritative perspectives', the
/// nameserver sources', and those asked to diagnose a resolver's SERVFAIL. This is no geographic
/// ACL, so `dns-refused-by-region` leaves these observations out.
pub(super) fn tcp_refused(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
    use crate::perspective::dns::{ServerFault, server_fault};
    let mut who: Vec<String> = Vec::new();
    let mut servers: Vec<String> = Vec::new();
    let mut evidence: Vec<String> = Vec::new();
    let mut fatal = false;
    for o in obs.iter().filter(|o| !o.perspective_fault) {
        let hits: Vec<_> = o
            .dns
            .iter()
            .filter(|d| server_fault(d) == Some(ServerFault::TruncatedNoTcp))
            .collect();
        if hits.is_empty() {
            continue;
        }
        if !o.ok && o.phase.is_some() && !ctx.is_nameserver(&o.perspective) {
            fatal = true;
        }
        if !who.contains(&o.perspective) {
            who.push(o.perspective.clone());
        }
        for d in hits {
            let server = if ctx.is_nameserver(&o.perspective) {
                let (host, ip) = nameserver_of(ctx, &o.perspective);
                format!("{host} ({ip})")
            } else {
                d.server.clone()
            };
            let line = format!(
                "{}: {} {} from {server}: {}",
                o.perspective,
                d.qname,
                d.qtype,
                d.error.as_deref().unwrap_or_default()
            );
            if !evidence.contains(&line) {
                evidence.push(line);
            }
            if !servers.contains(&server) {
                servers.push(server);
            }
        }
    }
    if who.is_empty() {
        return;
    }
    out.push(finding(
        ctx,
        FindingCode::DnsTcpRefused,
        if fatal { Severity::Error } else { Severity::Warning },
        who,
        evidence,
        &format!(
            "the answer is too large for UDP (the reply is truncated, TC=1) and {} refuse{} DNS over \
             TCP, so no resolver can get it: a CA's resolver retries over TCP, fails, and answers \
             SERVFAIL (for CAA that refuses issuance). Serve DNS over TCP on port 53 as RFC 7766 \
             requires (allow TCP/53 in the firewall, enable TCP in the DNS server), or make the RRset \
             small enough for one UDP reply (fewer records)",
            servers.join(", "),
            if servers.len() == 1 { "s" } else { "" }
        ),
    ));
}

/// The lame servers among those asked directly to diagnose a resolver's SERVFAIL: they answer
/// without the AA flag, so they do not serve the zone they are delegated.
fn lame_servers(o: &Observation) -> Vec<&crate::observation::DnsExchange> {
    use crate::perspective::dns::{ServerFault, server_fault};
    o.dns
        .iter()
        .filter(|d| d.diagnostic && server_fault(d) == Some(ServerFault::Lame))
        .collect()
}

/// A region's resolver answered SERVFAIL and, asked directly from that region, the zone's
/// servers answer without authority: the cause is a lame delegation, not the region. Read from
/// the typed flags of the diagnostic exchanges (rcode, AA), never from the summary's words.
/// (Lame servers seen by the nameserver sources themselves are reported by [`nameservers`].)
pub(super) fn lame_behind_servfail(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
    use crate::perspective::dns::what_it_did;
    let mut who: Vec<String> = Vec::new();
    let mut servers: Vec<String> = Vec::new();
    let mut evidence: Vec<String> = Vec::new();
    let mut fatal = false;
    for o in obs
        .iter()
        .filter(|o| !o.perspective_fault && !ctx.is_nameserver(&o.perspective))
    {
        let lame = lame_servers(o);
        if lame.is_empty() {
            continue;
        }
        fatal |= !o.ok && o.phase.is_some();
        if !who.contains(&o.perspective) {
            who.push(o.perspective.clone());
        }
        for d in lame {
            let line = format!(
                "{}: {} {} from {}: {}",
                o.perspective,
                d.qname,
                d.qtype,
                d.server,
                what_it_did(d)
            );
            if !evidence.contains(&line) {
                evidence.push(line);
            }
            if !servers.contains(&d.server) {
                servers.push(d.server.clone());
            }
        }
    }
    if who.is_empty() {
        return;
    }
    out.push(finding(
        ctx,
        FindingCode::NsLame,
        if fatal { Severity::Error } else { Severity::Warning },
        who,
        evidence,
        &format!(
            "lame delegation: {} {} listed as nameserver but not authoritative, so these regions' \
             resolvers get no usable answer and fail (SERVFAIL). Load the zone on that server (a zone \
             statement, or zone transfers that reach it) or remove it from the zone's NS records and \
             from the delegation at the registrar",
            servers.join(", "),
            if servers.len() == 1 { "is" } else { "are" }
        ),
    ));
}

/// dns-01 asked for without an expected value: the TXT record was read everywhere, but nothing
/// says which value the CA will look for, so the method is not judged (the outcome is
/// `unknown`). Named so that no non-pass outcome is left without a cause and a fix.
pub(super) fn txt_not_judged(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
    if !ctx.expect_txt.is_empty() || !ctx.methods.contains(&Method::Dns01) {
        return;
    }
    let txt: Vec<&Observation> = obs.iter().filter(|o| o.check == Check::Dns01).collect();
    let Some(seen) = txt
        .iter()
        .find(|o| ctx.role(&o.perspective) == Role::Primary)
        .or(txt.first())
    else {
        return;
    };
    out.push(finding(
        ctx,
        FindingCode::TxtNotJudged,
        Severity::Info,
        vec![seen.perspective.clone()],
        vec![format!(
            "no --expect-txt value to compare with; {} found: {}",
            seen.perspective, seen.summary
        )],
        "dns-01 is not judged without the value the CA will look for: pass --expect-txt VALUE (twice \
         for an apex and its wildcard), or in a DNS-01 hook run `mpic-check wait-txt NAME VALUE` with \
         the value the ACME client hands it",
    ));
}
