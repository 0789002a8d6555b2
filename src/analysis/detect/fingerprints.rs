//! Fingerprint detectors (issue 24, the checks Let's Debug has): a router's own web page on port
//! 80, a WAF or bot challenge served instead of the key authorization (in some regions or all),
//! a firewall's ACME block page, plain HTTP on an HTTPS port, any other status than 200/404 on
//! the challenge path, and the CDN's own bypass setting in the fix wherever a CDN answered. They
//! read the typed `Fingerprint` facts the HTTP-01 check recorded, never the bodies.

use super::*;
use crate::checks::fingerprints::cdn_bypass_advice;
use crate::observation::{Fingerprint, FingerprintKind};

fn prints(o: &Observation, kind: FingerprintKind) -> impl Iterator<Item = &Fingerprint> {
    o.fingerprints.iter().filter(move |f| f.kind == kind)
}

fn has(o: &Observation, kind: FingerprintKind) -> bool {
    prints(o, kind).next().is_some()
}

fn evidence_line(o: &Observation, f: &Fingerprint) -> String {
    format!(
        "{}: {} answered ({}); {}",
        o.perspective, f.product, f.matched, o.summary
    )
}

pub(super) fn fingerprints(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
    let http: Vec<&Observation> = ca_like(obs, Check::Http01)
        .filter(|o| !o.perspective_fault)
        .collect();
    if http.is_empty() {
        return;
    }
    router_page(ctx, &http, out);
    challenge_pages(ctx, &http, out);
    http_on_https_port(ctx, &http, out);
    unexpected_status(ctx, &http, out);
}

/// Each observation's first fingerprint of `kind`, with the observation.
fn first_hits<'a>(
    http: &[&'a Observation],
    kind: FingerprintKind,
) -> Vec<(&'a Observation, &'a Fingerprint)> {
    http.iter()
        .filter_map(|o| prints(o, kind).next().map(|f| (*o, f)))
        .collect()
}

fn router_page(ctx: &Context<'_>, http: &[&Observation], out: &mut Vec<Finding>) {
    let hits = first_hits(http, FingerprintKind::RouterPage);
    if hits.is_empty() {
        return;
    }
    // Let's Debug http01.go `PortForwarding`.
    out.push(finding(
        ctx,
        FindingCode::RouterPage,
        Severity::Error,
        hits.iter().map(|(o, _)| o.perspective.clone()).collect(),
        hits.iter().map(|(o, f)| evidence_line(o, f)).collect(),
        "the challenge URL was answered by a router's or modem's own web interface, not by the web \
         server: port 80 is not forwarded. In the router, forward TCP port 80 (and 443) to the web \
         server's LAN address, turn off the router's remote administration on port 80, and check that \
         the A/AAAA records point at the router's public address and not at the router itself for IPv6",
    ));
}

fn challenge_pages(ctx: &Context<'_>, http: &[&Observation], out: &mut Vec<Finding>) {
    // A 404 or a plain-text answer somewhere shows what the origin itself serves: an HTML 200
    // elsewhere is then something in front of it (a WAF's or CDN's page for that region).
    let plain_somewhere = http.iter().any(|o| {
        let status = o.http.as_ref().and_then(|h| h.status);
        (status == Some(404) || status == Some(200)) && !has(o, FingerprintKind::HtmlBody)
    });
    let mut hits: Vec<(&Observation, &Fingerprint)> = Vec::new();
    for o in http {
        let specific = prints(o, FingerprintKind::BotChallenge)
            .chain(prints(o, FingerprintKind::FirewallBlock))
            .next();
        if let Some(f) = specific {
            hits.push((o, f));
        } else if let Some(f) = prints(o, FingerprintKind::HtmlBody).next()
            && (matches!(o.signature, Signature::Mismatch(_)) || plain_somewhere)
        {
            hits.push((o, f));
        }
    }
    if hits.is_empty() {
        return;
    }
    let mut fix = String::from(
        "a WAF, bot protection or firewall answers /.well-known/acme-challenge/ with an HTML page \
         instead of the plain-text key authorization; a CA's validator runs no JavaScript and keeps no \
         cookies. Exempt /.well-known/acme-challenge/ from WAF, bot-challenge, geo and rate rules for \
         every region",
    );
    let any = |k: FingerprintKind, product: &str| {
        hits.iter()
            .any(|(_, f)| f.kind == k && f.product.contains(product))
    };
    if any(FingerprintKind::BotChallenge, "testcookie") {
        // Let's Debug http01.go `BlockedByNginxTestCookie`.
        fix.push_str(
            "; nginx testcookie module: set `testcookie off;` in a `location /.well-known/acme-challenge/` block",
        );
    }
    if hits
        .iter()
        .any(|(_, f)| f.kind == FingerprintKind::FirewallBlock)
    {
        // Let's Debug http01.go `BlockedByFirewall`; community.letsencrypt.org/t/177600.
        fix.push_str(
            "; Palo Alto firewall: permit the App-ID `acme-protocol` (not only web-browsing) in the \
             security policy that covers port 80 to this server",
        );
    }
    let severity = Severity::Error;
    out.push(finding(
        ctx,
        FindingCode::WafOrChallengePage,
        severity,
        hits.iter().map(|(o, _)| o.perspective.clone()).collect(),
        hits.iter().map(|(o, f)| evidence_line(o, f)).collect(),
        &fix,
    ));
}

fn http_on_https_port(ctx: &Context<'_>, http: &[&Observation], out: &mut Vec<Finding>) {
    let hits = first_hits(http, FingerprintKind::HttpOnHttpsPort);
    if hits.is_empty() {
        return;
    }
    // Let's Debug http01.go `HttpOnHttpsPort`.
    out.push(finding(
        ctx,
        FindingCode::HttpOnHttpsPort,
        Severity::Error,
        hits.iter().map(|(o, _)| o.perspective.clone()).collect(),
        hits.iter().map(|(o, f)| evidence_line(o, f)).collect(),
        "plain HTTP and HTTPS are crossed on the challenge path: either a plain http:// request reached \
         a port that expects TLS (a redirect to http://<name>:443/, or `ssl`/`SSLEngine on` in the port 80 \
         virtual host), or a redirect to https:// reached a port that speaks plain HTTP. Serve plain HTTP \
         on port 80, TLS on 443, and redirect only to https://<name>/ without a port",
    ));
}

fn unexpected_status(ctx: &Context<'_>, http: &[&Observation], out: &mut Vec<Finding>) {
    let explained = |o: &Observation| {
        o.fingerprints.iter().any(|f| {
            matches!(
                f.kind,
                FingerprintKind::RouterPage
                    | FingerprintKind::BotChallenge
                    | FingerprintKind::FirewallBlock
                    | FingerprintKind::HttpOnHttpsPort
            )
        })
    };
    let ua_filtered = |o: &Observation| {
        o.http
            .as_ref()
            .and_then(|h| h.alt_user_agent.as_ref())
            .and_then(|a| a.status)
            .is_some_and(|s| s < 400 || s == 404)
    };
    let hits: Vec<(&Observation, u16)> = http
        .iter()
        .filter(|o| !o.ok && !explained(o) && !ua_filtered(o))
        .filter_map(|o| {
            let s = o.http.as_ref()?.status?;
            // 3xx: redirect-disallowed; 403/451: http-geoblocked or http-unreachable.
            let other = !matches!(s, 200 | 404 | 300..=399 | 403 | 451);
            other.then_some((*o, s))
        })
        .collect();
    if hits.is_empty() {
        return;
    }
    let primary = hits
        .iter()
        .any(|(o, _)| ctx.role(&o.perspective) == Role::Primary);
    let remotes = http
        .iter()
        .filter(|o| ctx.role(&o.perspective) == Role::Remote)
        .count();
    let remote_hits = hits
        .iter()
        .filter(|(o, _)| ctx.role(&o.perspective) == Role::Remote)
        .count();
    let severity = if primary || remote_hits > allowed_failures(remotes) {
        Severity::Error
    } else {
        Severity::Warning
    };
    let mut statuses: Vec<u16> = hits.iter().map(|(_, s)| *s).collect();
    statuses.sort_unstable();
    statuses.dedup();
    let list = statuses
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    // Let's Debug http_util.go `UnexpectedHttpResponse`: anything but 2xx/404 on a random token.
    out.push(finding(
        ctx,
        FindingCode::UnexpectedHttpResponse,
        severity,
        hits.iter().map(|(o, _)| o.perspective.clone()).collect(),
        hits.iter()
            .map(|(o, s)| format!("{}: HTTP {s}: {}", o.perspective, o.summary))
            .collect(),
        &format!(
            "the challenge path answered HTTP {list} where a CA needs 200 with the key authorization \
             (and an unknown token should get 404): a CA fails validation on any other status. Look in \
             the web server's error log for /.well-known/acme-challenge/ requests; serve that path as \
             static files from the ACME client's webroot (or proxy it to the client's standalone port) \
             without authentication, rewrites or maintenance pages"
        ),
    ));
}

/// When a CDN's headers were on the challenge path, the CDN's own bypass setting goes into the
/// fix of every HTTP finding, and an info finding names it even when nothing failed.
pub(super) fn cdn_advice(
    ctx: &Context<'_>,
    obs: &[Observation],
    out: &mut [Finding],
) -> Option<Finding> {
    let mut vendors: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for o in obs
        .iter()
        .filter(|o| o.check == Check::Http01 && !o.perspective_fault)
    {
        for f in prints(o, FingerprintKind::Cdn) {
            let who = vendors.entry(f.product.clone()).or_default();
            if !who.contains(&o.perspective) {
                who.push(o.perspective.clone());
            }
        }
    }
    if vendors.is_empty() {
        return None;
    }
    let advice: Vec<&str> = vendors
        .keys()
        .filter_map(|v| cdn_bypass_advice(v))
        .collect();
    let http_codes = [
        FindingCode::CdnCachedChallenge,
        FindingCode::UserAgentFiltered,
        FindingCode::HttpGeoblocked,
        FindingCode::HttpUnreachable,
        FindingCode::RedirectDisallowed,
        FindingCode::WafOrChallengePage,
        FindingCode::UnexpectedHttpResponse,
        FindingCode::BodyTooLarge,
    ];
    for f in out.iter_mut().filter(|f| http_codes.contains(&f.code)) {
        for a in &advice {
            f.fix.push_str(&format!(". {a}"));
        }
    }
    let names: Vec<&str> = vendors.keys().map(String::as_str).collect();
    let mut who: Vec<String> = vendors.values().flatten().cloned().collect();
    who.sort();
    who.dedup();
    Some(finding(
        ctx,
        FindingCode::CdnDetected,
        Severity::Info,
        who,
        vendors
            .iter()
            .map(|(v, ps)| format!("{v} headers on the challenge path from {}", ps.join(", ")))
            .collect(),
        &format!(
            "{} answers /.well-known/acme-challenge/ for this name: keep that path uncached and free of \
             challenges so every CA perspective reaches the origin. {}",
            names.join(" and "),
            advice.join(". ")
        ),
    ))
}
