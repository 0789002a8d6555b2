//! Address detectors: GeoDNS divergence between perspectives, and addresses a CA will not
//! contact (special-purpose ranges) that the domain's data pointed at.

use std::collections::BTreeMap;

use super::*;

pub(super) fn geodns(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
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

/// Addresses a CA will not contact that the domain's data pointed at (its A/AAAA, a redirect
/// target, a nameserver). Boulder drops them (`bdns/dns.go`, `LookupHost`) and fails with "No valid
/// IP addresses found" when none is left; the tool never sent anything to them. An error when the
/// set-aside address is all a check had (the check then failed), a warning when other addresses
/// carried it (a leak from an internal view, and a risk if the public ones go).
pub(super) fn reserved_addresses(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
    use crate::observation::RefusedFrom;
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

/// Split horizon: the name resolves in some regions' views and is NXDOMAIN (or has no address) in
/// others. Without this the failing regions' HTTP-01 only says "the name did not resolve", and no
/// finding named the cause. An error when the primary or more remotes than the quorum tolerates
/// lack the name, a warning otherwise.
pub(super) fn name_missing_in_region(
    ctx: &Context<'_>,
    obs: &[Observation],
    out: &mut Vec<Finding>,
) {
    // Nameserver sources have their own detector (ns-inconsistent); only CA-like views count.
    let addr: Vec<&Observation> = ca_like(obs, Check::Address)
        .filter(|o| !o.perspective_fault && !ctx.is_nameserver(&o.perspective))
        .collect();
    let missing: Vec<&&Observation> = addr
        .iter()
        .filter(|o| {
            !o.ok
                && o.phase.is_none()
                && matches!(o.signature, Signature::NxDomain | Signature::NoData)
        })
        .collect();
    let resolved: Vec<&&Observation> = addr.iter().filter(|o| o.ok).collect();
    if missing.is_empty() || resolved.is_empty() {
        return;
    }
    let remotes_total = addr
        .iter()
        .filter(|o| ctx.role(&o.perspective) == Role::Remote)
        .count();
    let remotes_missing = missing
        .iter()
        .filter(|o| ctx.role(&o.perspective) == Role::Remote)
        .count();
    let primary = missing
        .iter()
        .any(|o| ctx.role(&o.perspective) == Role::Primary);
    let severity = if primary || remotes_missing > allowed_failures(remotes_total) {
        Severity::Error
    } else {
        Severity::Warning
    };
    let names = |v: &[&&Observation]| {
        v.iter()
            .map(|o| o.perspective.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let what = |o: &Observation| match o.signature {
        Signature::NxDomain => "NXDOMAIN",
        _ => "no A or AAAA record",
    };
    let mut evidence: Vec<String> = missing
        .iter()
        .map(|o| format!("{}: {} for {}", o.perspective, what(o), ctx.identifier))
        .collect();
    evidence.push(format!(
        "{} resolve it: {}",
        names(&resolved),
        resolved
            .iter()
            .map(|o| format!("{} → {}", o.perspective, o.addresses.join(" ")))
            .collect::<Vec<_>>()
            .join("; ")
    ));
    out.push(finding(
        ctx,
        FindingCode::NameMissingInRegion,
        severity,
        missing.iter().map(|o| o.perspective.clone()).collect(),
        evidence,
        &format!(
            "{} exists only in some DNS views (split horizon or GeoDNS): {} got {} while {} got \
             addresses. A CA resolves from several regions and needs the name everywhere: publish \
             the record in every public view (GeoDNS default/fallback answer, every region's zone), \
             and keep internal-only views off the public nameservers",
            ctx.identifier,
            names(&missing),
            if missing.iter().all(|o| o.signature == Signature::NxDomain) {
                "NXDOMAIN"
            } else {
                "no address"
            },
            names(&resolved)
        ),
    ));
}
