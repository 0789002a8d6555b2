//! HTTP-01 detectors: geoblocking, unreachable origins, User-Agent filters, caches, webroot
//! mismatches, redirects a CA will not follow, oversized bodies, and per-address problems (a dead
//! address, IPv6 broken while IPv4 works).

use std::collections::BTreeMap;

use super::*;

pub(super) fn http_failures(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
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
            "CAs follow only 301/302/307/308 redirects to http:// or https:// on ports 80 or 443 (https with \
             TLS 1.2 or later; certificate errors are ignored), paths up to 2,000 bytes, at most 10 or 11, \
             without loops: exempt /.well-known/acme-challenge/ from this redirect or point it at a target \
             that follows these rules",
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
    // 404s cached at the edge, learned from another random path fetched twice (the probe file's
    // own path is fetched only after the file exists, as a CA's would be).
    let negative: Vec<(&&&Observation, &str)> = probed
        .iter()
        .filter_map(|o| Some((o, o.probe.as_ref()?.cached_404.as_deref()?)))
        .collect();
    if !negative.is_empty() && cached_404.is_empty() && stale.is_empty() {
        out.push(finding(
            ctx,
            FindingCode::CdnCachedChallenge,
            Severity::Info,
            negative.iter().map(|(o, _)| o.perspective.clone()).collect(),
            negative
                .iter()
                .map(|(o, why)| {
                    format!(
                        "{}: a random challenge path fetched twice came back as a cached 404 ({why})",
                        o.perspective
                    )
                })
                .collect(),
            "a cache in front of the origin keeps 404 answers for /.well-known/acme-challenge/: harmless \
             while the file is written before anything fetches its URL (as ACME clients do), but a \
             pre-check or a retry that fetches too early gets the cached 404 until it expires. Exclude \
             that path from caching (Cache-Control: no-store, a CDN bypass rule)",
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
                // Closed or reset without any response: a firewall or WAF cutting the region off.
                || no_response(o)
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
                .map(|o| format!("{}: {} ({})", o.perspective, saw(o), o.summary)),
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
            "{} (primary): {} ({})",
            primary.perspective,
            saw(primary),
            primary.summary
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

/// A fetch that ended without any HTTP response after the connection was made: the peer closed
/// or reset it (phase `http`/`protocol`, no status).
fn no_response(o: &Observation) -> bool {
    matches!(
        o.signature,
        Signature::Failed(Phase::Http | Phase::Protocol)
    ) && o.http.as_ref().is_none_or(|h| h.status.is_none())
}

/// What a blocked region saw, in a word or two, from the typed facts: the status, a timeout, a
/// refused or reset connection, or a connection closed without a response.
fn saw(o: &Observation) -> String {
    use crate::observation::ConnectFailure as C;
    if let Some(s) = o.http.as_ref().and_then(|h| h.status) {
        return format!("answered {s}");
    }
    match (o.phase, o.connect_failure) {
        (Some(Phase::Timeout), _) => "timed out".into(),
        (_, Some(C::Refused)) => "connection refused".into(),
        (_, Some(C::Reset)) => "connection reset".into(),
        (_, Some(C::Unreachable)) => "host unreachable".into(),
        (Some(Phase::Connect), None) => "could not connect".into(),
        _ => "connection closed without a response".into(),
    }
}

pub(super) fn per_address(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
    let mut by: BTreeMap<&str, Vec<&Observation>> = BTreeMap::new();
    for o in obs
        .iter()
        .filter(|o| o.check == Check::Http01 && o.address.is_some() && !o.perspective_fault)
    {
        by.entry(o.perspective.as_str()).or_default().push(o);
    }
    let mut dead: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut v6_broken: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // AAAA addresses whose failure the CA takes (it does not fall back), and addresses that
    // answer without the challenge the others serve: address → evidence.
    let mut v6_answers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut wrong_answer: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (p, list) in &by {
        let any_ok = list.iter().any(|o| o.ok);
        // Whether this perspective's CA-like fetch failed: then the AAAA's failure is not one a
        // CA falls back from (an HTTP answer, a close or a timeout after connecting).
        let ca_failed = ca_like(obs, Check::Http01).any(|o| o.perspective == *p && !o.ok);
        let is_v6 = |o: &&Observation| o.address.as_deref().is_some_and(|a| a.contains(':'));
        let v4_ok: Vec<&&Observation> = list.iter().filter(|o| o.ok && !is_v6(o)).collect();
        for o in list.iter().filter(|o| !o.ok) {
            let a = o.address.clone().unwrap_or_default();
            let dial = matches!(o.phase, Some(Phase::Timeout | Phase::Connect));
            let answered = o.http.as_ref().and_then(|h| h.status).is_some();
            if is_v6(o) && !v4_ok.is_empty() {
                if !ca_failed {
                    v6_broken
                        .entry(a)
                        .or_default()
                        .push(format!("{p}: {}", o.summary));
                } else {
                    let good = v4_ok[0];
                    let e = v6_answers.entry(a.clone()).or_default();
                    e.push(format!("{p}: AAAA {a}: {}", o.summary));
                    e.push(format!(
                        "{p}: A {}: {}",
                        good.address.as_deref().unwrap_or_default(),
                        good.summary
                    ));
                }
            } else if any_ok && dial {
                dead.entry(a)
                    .or_default()
                    .push(format!("{p}: {}", o.summary));
            } else if any_ok && answered && ca_failed {
                wrong_answer
                    .entry(a)
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
    for (a, ev) in wrong_answer {
        out.push(finding(
            ctx,
            FindingCode::DeadAddress,
            Severity::Error,
            Vec::new(),
            ev,
            &format!(
                "{a} is published for {} and answers on port 80, but not with the challenge file the other \
                 addresses serve: a CA uses the first address of each family, so validation depends on the \
                 record order. Serve the same /.well-known/acme-challenge/ on every address (same document \
                 root or a shared proxy rule) or remove the record.",
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
    for (a, ev) in v6_answers {
        // Boulder (`va/http.go`, `fallbackErr`) falls back to IPv4 only on a dial error: an HTTP
        // answer from the AAAA address, whatever it is, is the CA's answer.
        out.push(finding(
            ctx,
            FindingCode::Ipv6Broken,
            Severity::Error,
            Vec::new(),
            ev,
            &format!(
                "the AAAA address {a} accepts connections on port 80 but does not serve the challenge while \
                 IPv4 does: a CA connects to the first AAAA address first and falls back to IPv4 only when the \
                 connection cannot be made, never after an HTTP answer or a stalled response, so validation fails. Make the IPv6 virtual host \
                 serve /.well-known/acme-challenge/ like the IPv4 one (e.g. nginx `listen [::]:80` in the same \
                 server block) or remove the AAAA record"
            ),
        ));
    }
}

/// The last word on HTTP-01: CA-like fetches that reached the server and failed (a status, a
/// wrong body, a closed connection, a TLS failure) while no finding so far explains anything
/// (a geoblock, a redirect, a cache, a filter, one bad address). Every non-pass outcome needs a
/// cause with a fix; this is the cause when nothing more specific fits. DNS-side and connect
/// failures are left to their own detectors.
pub(super) fn unexplained(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
    let failing: Vec<&Observation> = ca_like(obs, Check::Http01)
        .filter(|o| {
            !o.ok
                && !o.perspective_fault
                && o.refused.is_empty()
                && !ctx.unfinished.contains(&o.perspective)
                && (o.http.as_ref().is_some_and(|h| h.status.is_some())
                    || matches!(o.phase, Some(Phase::Http | Phase::Protocol | Phase::Tls)))
        })
        .collect();
    if failing.is_empty()
        || out
            .iter()
            .any(|f| f.severity >= Severity::Warning && !f.code.is_coverage())
    {
        return;
    }
    let primary_fails = failing
        .iter()
        .any(|o| ctx.role(&o.perspective) == Role::Primary);
    let evidence = failing
        .iter()
        .map(|o| {
            let body = o
                .http
                .as_ref()
                .and_then(|h| h.body_prefix.as_deref())
                .filter(|b| !b.is_empty() && !o.summary.contains(*b))
                .map(|b| format!(" (body: \"{b}\")"))
                .unwrap_or_default();
            format!("{}: {}{body}", o.perspective, o.summary)
        })
        .collect();
    out.push(finding(
        ctx,
        FindingCode::ChallengeNotServed,
        if primary_fails {
            Severity::Error
        } else {
            Severity::Warning
        },
        failing.iter().map(|o| o.perspective.clone()).collect(),
        evidence,
        "the challenge URL did not answer with the key authorization: make the web server serve the \
         file the ACME client writes at /.well-known/acme-challenge/<token> as is (status 200, the key \
         authorization as the whole body). A different key authorization usually means another ACME \
         client, server block, proxy rule or container answers for this name",
    ));
}
