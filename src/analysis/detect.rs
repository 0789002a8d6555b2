//! Detectors: pure functions from one identifier's observations to findings with a stable code,
//! the evidence (what each side saw) and the fix in plain words. A detector never blames the
//! domain for the tool's own failure to use a perspective; that is `perspective-error`.

use std::collections::BTreeMap;

use super::FindingCode;
use super::roster::Roster;
use crate::model::{Check, Finding, Method, Observation, Phase, Role, Severity, Signature};

/// What a detector knows about the run besides the observations.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The identifier.
    pub identifier: &'a str,
    /// Wildcard identifier.
    pub wildcard: bool,
    /// Methods evaluated.
    pub methods: &'a [Method],
    /// The run's perspectives: roles and nameserver host names, looked up by typed id.
    pub roster: &'a Roster,
    /// The CAA issuer domain.
    pub ca: &'a str,
    /// dns-01 values the user expects.
    pub expect_txt: &'a [String],
    /// S/MIME: CAA issuemail instead of issue.
    pub smime: bool,
}

impl Context<'_> {
    fn role(&self, name: &str) -> Role {
        self.roster.role_of(name)
    }

    /// Whether the named perspective is an authoritative nameserver asked directly.
    fn is_nameserver(&self, name: &str) -> bool {
        self.roster.is_nameserver(name)
    }
}

fn finding(
    ctx: &Context<'_>,
    code: FindingCode,
    severity: Severity,
    who: Vec<String>,
    evidence: Vec<String>,
    fix: &str,
) -> Finding {
    Finding {
        code,
        severity,
        identifier: ctx.identifier.into(),
        perspectives: who,
        evidence,
        fix: fix.into(),
    }
}

/// Runs every detector.
pub fn detect(ctx: &Context<'_>, obs: &[Observation]) -> Vec<Finding> {
    let mut out = Vec::new();
    perspective_errors(ctx, obs, &mut out);
    wildcard_needs_dns01(ctx, &mut out);
    geodns(ctx, obs, &mut out);
    http_failures(ctx, obs, &mut out);
    per_address(ctx, obs, &mut out);
    caa(ctx, obs, &mut out);
    dns_refused(ctx, obs, &mut out);
    nameservers(ctx, obs, &mut out);
    txt(ctx, obs, &mut out);
    dnssec(ctx, obs, &mut out);
    reserved_addresses(ctx, obs, &mut out);
    nameservers_capped(ctx, obs, &mut out);
    out
}

/// Addresses a CA will not contact that the domain's data pointed at (its A/AAAA, a redirect
/// target, a nameserver). Boulder drops them (`bdns/dns.go`, `LookupHost`) and fails with "No valid
/// IP addresses found" when none is left; the tool never sent anything to them. An error when the
/// set-aside address is all a check had (the check then failed), a warning when other addresses
/// carried it (a leak from an internal view, and a risk if the public ones go).
fn reserved_addresses(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
    use crate::model::RefusedFrom;
    // (where from, host, address) → (range, what, perspectives that met it)
    type Key = (RefusedFrom, Option<String>, String);
    let mut by_entry: BTreeMap<Key, (String, String, Vec<String>)> = BTreeMap::new();
    let mut fatal = false;
    for o in obs.iter().filter(|o| !o.refused.is_empty()) {
        if !o.ok && !o.perspective_fault {
            fatal = true;
        }
        for r in &o.refused {
            let e = by_entry
                .entry((r.from, r.host.clone(), r.address.clone()))
                .or_insert_with(|| (r.range.clone(), r.what.clone(), Vec::new()));
            if !e.2.contains(&o.perspective) {
                e.2.push(o.perspective.clone());
            }
        }
    }
    if by_entry.is_empty() {
        return;
    }
    let mut who: Vec<String> = Vec::new();
    let mut evidence = Vec::new();
    let mut kinds = std::collections::BTreeSet::new();
    for ((from, host, address), (range, what, persp)) in &by_entry {
        kinds.insert(*from);
        let place = match (from, host) {
            (RefusedFrom::Address, _) => format!("{} resolves to {address}", ctx.identifier),
            (RefusedFrom::Redirect, Some(h)) if h != address => {
                format!("a redirect leads to {h}, which resolves to {address}")
            }
            (RefusedFrom::Redirect, _) => format!("a redirect leads to {address}"),
            (RefusedFrom::Nameserver, Some(h)) => format!("nameserver {h} is at {address}"),
            (RefusedFrom::Nameserver, None) => format!("a nameserver is at {address}"),
        };
        evidence.push(format!(
            "{place}: a CA will not connect to {address}: it is {what} ({range}); seen by {}",
            persp.join(", ")
        ));
        for p in persp {
            if !who.contains(p) {
                who.push(p.clone());
            }
        }
    }
    let mut fix = String::new();
    if kinds.contains(&RefusedFrom::Address) {
        fix.push_str(&format!(
            "Publish only public addresses for {} in public DNS: a CA drops the others and fails with \"No valid IP addresses found\" when none is left (a split-horizon view leaking into public DNS does this). ",
            ctx.identifier
        ));
    }
    if kinds.contains(&RefusedFrom::Redirect) {
        fix.push_str("Make the challenge URL answer on the public address itself, or redirect only to a public host name: a CA does not follow redirects into private, loopback or link-local addresses. ");
    }
    if kinds.contains(&RefusedFrom::Nameserver) {
        fix.push_str("Give every nameserver of the zone a public address (NS glue and the nameserver names' A/AAAA): a CA's resolver cannot ask one at a private or loopback address. ");
    }
    let severity = if fatal {
        Severity::Error
    } else {
        Severity::Warning
    };
    out.push(finding(
        ctx,
        FindingCode::ReservedAddress,
        severity,
        who,
        evidence,
        fix.trim_end(),
    ));
}

/// A zone that delegates to more nameservers than the caps allow: the ones beyond were not asked,
/// so a missing record or a broken server among them would go unseen here.
fn nameservers_capped(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
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

fn dnssec(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
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

fn nameservers(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
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
        out.push(finding(
            ctx,
            FindingCode::NsUnreachable,
            if all { Severity::Error } else { Severity::Warning },
            down.keys().map(|s| s.to_string()).collect(),
            down.iter().map(|(p, o)| format!("{p}: {}", o.summary)).collect(),
            &if v6_only {
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

fn txt(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
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

/// The BR table's tolerated non-corroborations for `n` remotes: beyond this a CA cannot issue.
fn allowed_failures(n: usize) -> usize {
    match n {
        0 | 1 => 0,
        2..=5 => 1,
        _ => 2,
    }
}

fn ca_like(obs: &[Observation], check: Check) -> impl Iterator<Item = &Observation> {
    obs.iter()
        .filter(move |o| o.check == check && o.address.is_none())
}

fn perspective_errors(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
    let mut by: BTreeMap<&str, &Observation> = BTreeMap::new();
    for o in obs.iter().filter(|o| o.perspective_fault) {
        by.entry(o.perspective.as_str()).or_insert(o);
    }
    if by.is_empty() {
        return;
    }
    // One finding for all of them: each is the same kind of problem with the tool's setup.
    let names: Vec<String> = by.keys().map(|n| n.to_string()).collect();
    out.push(finding(
        ctx,
        FindingCode::PerspectiveError,
        Severity::Warning,
        names.clone(),
        by.iter().map(|(name, o)| format!("{name}: {}", o.summary)).collect(),
        &format!(
            "mpic-check could not use {} ({}): its proxy or resolver failed, so its results are left out \
             of the quorum and lower coverage. Check that perspective's settings (or this host's network), \
             not the domain.",
            if names.len() == 1 { "this perspective" } else { "these perspectives" },
            names.join(", ")
        ),
    ));
}

fn wildcard_needs_dns01(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    if ctx.wildcard && ctx.methods.contains(&Method::Http01) {
        out.push(finding(
            ctx,
            FindingCode::WildcardNeedsDns01,
            Severity::Error,
            Vec::new(),
            vec![format!(
                "{} is a wildcard and http-01 was requested",
                ctx.identifier
            )],
            "CAs validate wildcard names only with dns-01: switch this certificate to a DNS plugin \
             (e.g. certbot --preferred-challenges dns) or drop the wildcard",
        ));
    }
}

fn geodns(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
    // Nameserver sources disagreeing is ns-inconsistent, not GeoDNS.
    let addr: Vec<&Observation> = ca_like(obs, Check::Address)
        .filter(|o| o.ok && o.phase.is_none() && !ctx.is_nameserver(&o.perspective))
        .collect();
    let mut groups: BTreeMap<&Signature, Vec<&str>> = BTreeMap::new();
    for o in &addr {
        groups
            .entry(&o.signature)
            .or_default()
            .push(o.perspective.as_str());
    }
    if groups.len() < 2 {
        return;
    }
    // Harmless when every perspective's HTTP-01 answer is good and identical.
    let http: Vec<&Observation> = ca_like(obs, Check::Http01)
        .filter(|o| !o.perspective_fault)
        .collect();
    let http_consistent = !http.is_empty()
        && http
            .iter()
            .all(|o| o.ok && o.signature == http[0].signature);
    let uses_http = ctx.methods.contains(&Method::Http01);
    let severity = if !uses_http || http_consistent {
        Severity::Info
    } else {
        Severity::Warning
    };
    let evidence = groups
        .iter()
        .map(|(sig, who)| format!("{} → {}", who.join(", "), sig.to_string().replace(',', " ")))
        .collect();
    let fix = if severity == Severity::Info {
        "GeoDNS answers differently by region, and every regional address served the challenge path the \
         same way: nothing to do, but keep every regional origin able to serve /.well-known/acme-challenge/ \
         (or use dns-01)"
    } else {
        "GeoDNS answers differently by region and the regional origins do not answer the challenge the \
         same way: make every regional origin serve /.well-known/acme-challenge/ from shared storage \
         (or proxy that path to one origin), or switch to dns-01"
    };
    let who = addr.iter().map(|o| o.perspective.clone()).collect();
    out.push(finding(
        ctx,
        FindingCode::GeodnsDivergence,
        severity,
        who,
        evidence,
        fix,
    ));
}

fn http_failures(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
    let http: Vec<&Observation> = ca_like(obs, Check::Http01)
        .filter(|o| !o.perspective_fault)
        .collect();
    if http.is_empty() {
        return;
    }
    let primary = http
        .iter()
        .find(|o| ctx.role(&o.perspective) == Role::Primary);
    // Redirect and body problems are the same everywhere they occur: report each kind once.
    for (sig, code, fix) in [
        (
            Signature::RedirectDisallowed,
            FindingCode::RedirectDisallowed,
            "CAs follow only 301/302/307/308 redirects to http:// or https:// on ports 80 or 443, at most 10, \
             without loops: exempt /.well-known/acme-challenge/ from this redirect or point it at port 80/443",
        ),
        (
            Signature::BodyTooLarge,
            FindingCode::BodyTooLarge,
            "the challenge response must be the bare key authorization (under 128 bytes): serve the token \
             file as is, without an HTML wrapper, error page or injected content",
        ),
    ] {
        let hit: Vec<&&Observation> = http.iter().filter(|o| o.signature == sig).collect();
        if !hit.is_empty() {
            let evidence = hit
                .iter()
                .map(|o| format!("{}: {}", o.perspective, o.summary))
                .collect();
            let who = hit.iter().map(|o| o.perspective.clone()).collect();
            out.push(finding(ctx, code, Severity::Error, who, evidence, fix));
        }
    }
    // User-Agent filtering: the CA's User-Agent refused, a browser's accepted.
    let ua_filtered: Vec<&&Observation> = http
        .iter()
        .filter(|o| {
            o.http
                .as_ref()
                .and_then(|h| h.alt_user_agent.as_ref())
                .and_then(|a| a.status)
                .is_some_and(|s| s < 400 || s == 404)
        })
        .collect();
    if !ua_filtered.is_empty() {
        let evidence = ua_filtered
            .iter()
            .map(|o| {
                let alt = o.http.as_ref().and_then(|h| h.alt_user_agent.as_ref());
                format!(
                    "{}: with the CA's User-Agent {}; with a browser's: {}",
                    o.perspective,
                    o.summary,
                    alt.map_or(String::new(), |a| a.summary.clone())
                )
            })
            .collect();
        out.push(finding(
            ctx,
            FindingCode::UserAgentFiltered,
            Severity::Error,
            ua_filtered.iter().map(|o| o.perspective.clone()).collect(),
            evidence,
            "a filter (WAF, bot protection, fail2ban, .htaccess rule) refuses the CA's validation \
             User-Agent: exempt /.well-known/acme-challenge/ from User-Agent and bot rules; CAs send \
             e.g. \"Mozilla/5.0 (compatible; Let's Encrypt validation server; +https://www.letsencrypt.org)\"",
        ));
    }
    let ua_names: Vec<&str> = ua_filtered.iter().map(|o| o.perspective.as_str()).collect();
    // Answers served from a cache on the challenge path.
    let cached: Vec<(&&Observation, String)> = http
        .iter()
        .filter_map(|o| {
            let h = o.http.as_ref()?.hops.last()?;
            let get = |k: &str| {
                h.headers
                    .iter()
                    .find(|(n, _)| n == k)
                    .map(|(_, v)| v.to_ascii_lowercase())
            };
            let age = get("age")
                .and_then(|a| a.trim().parse::<u64>().ok())
                .filter(|a| *a > 0);
            let hit = ["x-cache", "cf-cache-status", "x-cache-status"]
                .iter()
                .filter_map(|k| get(k).map(|v| (k, v)))
                .find(|(_, v)| v.contains("hit"));
            let why = match (age, hit) {
                (Some(a), _) => format!("Age: {a}"),
                (None, Some((k, v))) => format!("{k}: {v}"),
                _ => return None,
            };
            Some((o, why))
        })
        .collect();
    // The webroot probe: a stale body after the rewrite, a cached 404, or a file never served.
    let probed: Vec<&&Observation> = http.iter().filter(|o| o.probe.is_some()).collect();
    let stale: Vec<&&&Observation> = probed
        .iter()
        .filter(|o| o.probe.as_ref().is_some_and(|p| p.rewrite_stale))
        .collect();
    let cached_404: Vec<&&&Observation> = probed
        .iter()
        .filter(|o| {
            !o.ok
                && o.http.as_ref().and_then(|h| h.status) == Some(404)
                && cached.iter().any(|(c, _)| c.perspective == o.perspective)
        })
        .collect();
    if !stale.is_empty() || !cached_404.is_empty() {
        let mut evidence: Vec<String> = stale
            .iter()
            .map(|o| {
                format!(
                    "{}: after the probe file was rewritten, the old content came back ({})",
                    o.perspective,
                    o.probe.as_ref().map_or("", |p| p.rewrite_summary.as_str())
                )
            })
            .collect();
        evidence.extend(cached_404.iter().map(|o| {
            format!(
                "{}: 404 from a cache although the file exists",
                o.perspective
            )
        }));
        let mut who: Vec<String> = stale
            .iter()
            .chain(&cached_404)
            .map(|o| o.perspective.clone())
            .collect();
        who.dedup();
        out.push(finding(
            ctx,
            FindingCode::CdnCachedChallenge,
            Severity::Error,
            who,
            evidence,
            "a cache in front of the origin serves old answers for /.well-known/acme-challenge/: a CA \
             would get a previous token or a cached 404. Exclude that path from caching (Cache-Control: \
             no-store at the origin, a bypass rule at the CDN)",
        ));
    }
    // Cache headers alone: a warning, unless the probe already proved the cache wrong (error).
    if !cached.is_empty() && stale.is_empty() && cached_404.is_empty() {
        out.push(finding(
            ctx,
            FindingCode::CdnCachedChallenge,
            Severity::Warning,
            cached.iter().map(|(o, _)| o.perspective.clone()).collect(),
            cached.iter().map(|(o, why)| format!("{}: {} came from a cache ({why})", o.perspective, o.summary)).collect(),
            "a cache (CDN, reverse proxy) answers on /.well-known/acme-challenge/: bypass the cache for \
             that path (e.g. Cache-Control: no-store, a CDN cache rule or page rule) so every CA \
             perspective reaches the origin's current file",
        ));
    }
    let never_served: Vec<&&&Observation> = probed
        .iter()
        .filter(|o| {
            !o.ok
                && o.phase == Some(Phase::Http)
                && !cached_404.iter().any(|c| c.perspective == o.perspective)
                && !stale.iter().any(|c| c.perspective == o.perspective)
        })
        .filter(|o| o.http.as_ref().and_then(|h| h.status) == Some(404))
        .collect();
    if !never_served.is_empty() {
        out.push(finding(
            ctx,
            FindingCode::WebrootMismatch,
            Severity::Error,
            never_served.iter().map(|o| o.perspective.clone()).collect(),
            never_served.iter().map(|o| format!("{}: {}", o.perspective, o.summary)).collect(),
            "the file written under --webroot was not served for this name: the web server's document \
             root (or its alias for /.well-known/acme-challenge/) is another directory; point certbot's \
             webroot (-w) at the directory that server actually serves",
        ));
    }
    let blocked_kind = |o: &Observation| {
        !ua_names.contains(&o.perspective.as_str())
            && !o.ok
            && (matches!(o.phase, Some(Phase::Timeout | Phase::Connect))
                || matches!(
                    o.signature,
                    Signature::Status(403 | 451) | Signature::HttpError(403 | 451)
                )
                // The final status, however the fetch was summed up (e.g. with a via suffix).
                || o
                    .http
                    .as_ref()
                    .is_some_and(|h| matches!(h.status, Some(403 | 451))))
    };
    let Some(primary) = primary else { return };
    let failing: Vec<&&Observation> = http
        .iter()
        .filter(|o| ctx.role(&o.perspective) != Role::Primary && blocked_kind(o))
        .collect();
    let passing = http
        .iter()
        .filter(|o| ctx.role(&o.perspective) != Role::Primary && o.ok)
        .count();
    if primary.ok && !failing.is_empty() {
        let mut evidence = vec![format!(
            "{} (primary): {}",
            primary.perspective, primary.summary
        )];
        evidence.extend(
            failing
                .iter()
                .map(|o| format!("{}: {}", o.perspective, o.summary)),
        );
        let remotes = http
            .iter()
            .filter(|o| ctx.role(&o.perspective) == Role::Remote)
            .count();
        let severity = if failing.len() > allowed_failures(remotes) || passing == 0 {
            Severity::Error
        } else {
            Severity::Warning
        };
        out.push(finding(
            ctx,
            FindingCode::HttpGeoblocked,
            severity,
            failing.iter().map(|o| o.perspective.clone()).collect(),
            evidence,
            "port 80 answers from some regions but not others (timeout, refusal or 403/451): allow \
             /.well-known/acme-challenge/ on port 80 from all countries in the firewall, WAF or CDN geo rules; \
             CAs validate from several continents and do not publish their addresses",
        ));
    } else if !primary.ok && blocked_kind(primary) && passing > 0 {
        // The remotes get through but the primary's region does not: the CA stops at its primary.
        let mut evidence = vec![format!(
            "{} (primary): {}",
            primary.perspective, primary.summary
        )];
        evidence.extend(
            http.iter()
                .filter(|o| o.ok)
                .map(|o| format!("{}: {}", o.perspective, o.summary)),
        );
        out.push(finding(
            ctx,
            FindingCode::HttpGeoblocked,
            Severity::Error,
            vec![primary.perspective.clone()],
            evidence,
            "port 80 is blocked from the primary perspective's region while other regions get through: \
             allow /.well-known/acme-challenge/ on port 80 from all countries (firewall, WAF or CDN geo \
             rules); a CA's primary perspective can be in any region",
        ));
    } else if !primary.ok && blocked_kind(primary) && failing.len() + 1 == http.len() {
        out.push(finding(
            ctx,
            FindingCode::HttpUnreachable,
            Severity::Error,
            http.iter().map(|o| o.perspective.clone()).collect(),
            http.iter()
                .map(|o| format!("{}: {}", o.perspective, o.summary))
                .collect(),
            "no perspective could fetch the challenge path: open port 80 to the world and make \
             /.well-known/acme-challenge/ reachable without authentication",
        ));
    }
}

fn per_address(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
    let mut by: BTreeMap<&str, Vec<&Observation>> = BTreeMap::new();
    for o in obs
        .iter()
        .filter(|o| o.check == Check::Http01 && o.address.is_some() && !o.perspective_fault)
    {
        by.entry(o.perspective.as_str()).or_default().push(o);
    }
    let mut dead: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut v6_broken: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (p, list) in &by {
        let any_ok = list.iter().any(|o| o.ok);
        let v4_ok = list
            .iter()
            .any(|o| o.ok && o.address.as_deref().is_some_and(|a| !a.contains(':')));
        for o in list
            .iter()
            .filter(|o| !o.ok && matches!(o.phase, Some(Phase::Timeout | Phase::Connect)))
        {
            let a = o.address.clone().unwrap_or_default();
            if a.contains(':') && v4_ok {
                v6_broken
                    .entry(a)
                    .or_default()
                    .push(format!("{p}: {}", o.summary));
            } else if any_ok {
                dead.entry(a)
                    .or_default()
                    .push(format!("{p}: {}", o.summary));
            }
        }
    }
    for (a, ev) in dead {
        out.push(finding(
            ctx,
            FindingCode::DeadAddress,
            Severity::Error,
            Vec::new(),
            ev,
            &format!(
                "{a} is published for {} but does not answer on port 80 while the other addresses do: a CA \
                 picks one address, so validation fails some of the time. Remove the record or fix that host.",
                ctx.identifier
            ),
        ));
    }
    for (a, ev) in v6_broken {
        out.push(finding(
            ctx,
            FindingCode::Ipv6Broken,
            Severity::Warning,
            Vec::new(),
            ev,
            &format!(
                "the AAAA address {a} does not answer on port 80 but IPv4 does: CAs try IPv6 first and fall \
                 back only on connection errors, so fix IPv6 on port 80 (firewall, listen directive) or remove the AAAA record"
            ),
        ));
    }
}

fn caa(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
    // Nameserver sources answer only for their zone; they are compared in ns-inconsistent.
    let caa: Vec<&Observation> = ca_like(obs, Check::Caa)
        .filter(|o| !o.perspective_fault && !ctx.is_nameserver(&o.perspective))
        .collect();
    let forbids: Vec<&&Observation> = caa
        .iter()
        .filter(|o| o.signature == Signature::Forbid)
        .collect();
    if !forbids.is_empty() {
        // The same rule the CAA check applied, read from the records it found.
        let critical = forbids.iter().any(|o| {
            o.caa
                .as_ref()
                .is_some_and(|c| c.records.iter().any(|r| r.is_critical_unknown()))
        });
        let (code, fix) = if critical {
            (
                FindingCode::CaaCriticalUnknown,
                "a CAA record carries the critical flag on a property tag the CA does not know: remove the \
                 flag (set it to 0) or the record",
            )
        } else {
            (
                FindingCode::CaaForbids,
                "the CAA records do not authorize this CA: add  CAA 0 issue \"<ca>\"  (and issuewild for \
                 wildcards) at the name where the records are found, or remove the conflicting parameters",
            )
        };
        let fix = if ctx.smime {
            fix.replace(
                "issue \"<ca>\"  (and issuewild for wildcards)",
                "issuemail \"<ca>\"",
            )
            .replace("<ca>", ctx.ca)
        } else {
            fix.replace("<ca>", ctx.ca)
        };
        let evidence = forbids
            .iter()
            .map(|o| format!("{}: {}", o.perspective, o.summary))
            .collect();
        out.push(finding(
            ctx,
            code,
            Severity::Error,
            forbids.iter().map(|o| o.perspective.clone()).collect(),
            evidence,
            &fix,
        ));
    }
    let failed: Vec<&&Observation> = caa.iter().filter(|o| o.phase.is_some()).collect();
    if !failed.is_empty() {
        let primary_failed = failed
            .iter()
            .any(|o| ctx.role(&o.perspective) == Role::Primary);
        let remotes = caa
            .iter()
            .filter(|o| ctx.role(&o.perspective) == Role::Remote)
            .count();
        let remotes_failed = failed
            .iter()
            .filter(|o| ctx.role(&o.perspective) == Role::Remote)
            .count();
        let severity = if primary_failed || remotes_failed > allowed_failures(remotes) {
            Severity::Error
        } else {
            Severity::Warning
        };
        out.push(finding(
            ctx,
            FindingCode::CaaLookupFailed,
            severity,
            failed.iter().map(|o| o.perspective.clone()).collect(),
            failed.iter().map(|o| format!("{}: {}", o.perspective, o.summary)).collect(),
            "a CAA lookup error at the name or a parent counts as a refusal at Let's Encrypt: make every \
             nameserver answer CAA queries (NOERROR with an empty answer is fine; SERVFAIL, REFUSED, NOTIMP \
             and timeouts are not), from every region",
        ));
    }
}

fn dns_refused(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
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

/// The name and address of a nameserver source, whose perspective is named `name@address …`.
fn nameserver_of<'a>(ctx: &Context, perspective: &'a str) -> (String, &'a str) {
    let host = ctx
        .roster
        .id(perspective)
        .and_then(|id| ctx.roster.nameserver(id))
        .unwrap_or_default()
        .to_string();
    let ip = perspective
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or("");
    (host, ip)
}

#[cfg(test)]
#[path = "detect_tests.rs"]
mod tests;
