//! What the user is told about a classified problem: the plain-words meaning under MPIC, the
//! mpic-check findings that would show the cause, the hints on what to check, and the generic
//! checklist for a message that was not recognised. Only text; every decision it reads was made
//! in [`super::classify`].

use super::*;

// Wording

pub(super) fn likely_findings(f: &Facts, stage: Stage) -> Vec<&'static str> {
    let remote = stage == Stage::Remote;
    let mut v: Vec<&'static str> = match f.family {
        "http-geoblocked" if f.cause == "status" => {
            vec![
                "http-geoblocked",
                "user-agent-filtered",
                "geodns-divergence",
            ]
        }
        "http-geoblocked" => vec!["http-geoblocked", "geodns-divergence", "dead-address"],
        "connect-timeout" => vec!["http-unreachable", "http-geoblocked", "dead-address"],
        "connection-refused" => vec!["http-unreachable", "dead-address"],
        "connection-reset" => vec!["http-geoblocked", "user-agent-filtered", "http-unreachable"],
        "network-unreachable" => vec!["ipv6-broken", "dead-address"],
        "http-timeout" => vec!["http-unreachable", "http-geoblocked"],
        "http-status" => match f.status {
            Some(404) if remote => {
                vec!["geodns-divergence", "cdn-cached-challenge", "dead-address"]
            }
            Some(404) => vec![
                "webroot-mismatch",
                "cdn-cached-challenge",
                "geodns-divergence",
            ],
            Some(401 | 403 | 451) => vec!["user-agent-filtered", "http-geoblocked"],
            _ if remote => vec!["geodns-divergence", "http-geoblocked"],
            _ => vec!["http-unreachable", "redirect-disallowed"],
        },
        "wrong-body" => match (f.cause, remote) {
            ("body", true) => vec!["http-geoblocked", "body-too-large", "geodns-divergence"],
            ("body", false) => vec!["body-too-large", "webroot-mismatch", "user-agent-filtered"],
            (_, true) => vec!["geodns-divergence", "cdn-cached-challenge", "dead-address"],
            _ => vec![
                "cdn-cached-challenge",
                "webroot-mismatch",
                "geodns-divergence",
            ],
        },
        "redirect" => vec!["redirect-disallowed"],
        "protocol-error" => vec!["http-unreachable"],
        "connection-error" => vec!["http-unreachable", "http-geoblocked"],
        "unauthorized" => vec!["http-geoblocked", "webroot-mismatch", "user-agent-filtered"],
        "txt-missing" => vec![
            "txt-missing-on-ns",
            "txt-early-removal",
            "negative-cache-risk",
        ],
        "txt-incorrect" => vec![
            "txt-missing-on-ns",
            "txt-shared-name",
            "ns-inconsistent",
            "txt-early-removal",
        ],
        "dns-nxdomain" if f.lookup.as_ref().is_some_and(Lookup::is_challenge) => {
            vec![
                "txt-missing-on-ns",
                "negative-cache-risk",
                "txt-early-removal",
            ]
        }
        "dns-nxdomain" => vec![
            "ns-inconsistent",
            "geodns-divergence",
            "dns-refused-by-region",
            "name-missing-in-region",
        ],
        "dns-servfail" => vec![
            "dns-refused-by-region",
            "ns-unreachable",
            "ns-lame",
            "ns-inconsistent",
            "dns-tcp-refused",
        ],
        "dns-timeout" | "dns-error" => vec!["ns-unreachable", "dns-refused-by-region"],
        "dns-refused" => vec!["dns-refused-by-region", "ns-unreachable", "ns-lame"],
        "dns-dnssec" => vec!["ns-inconsistent", "ns-unreachable"],
        // At the primary the record is usually just missing or private (Pebble's "could not
        // resolve URL"); only when remotes fail is a regional split likely.
        "dns-no-address" if !remote => vec![
            "ns-inconsistent",
            "reserved-address",
            "dns-refused-by-region",
        ],
        "dns-no-address" => vec![
            "geodns-divergence",
            "ns-inconsistent",
            "dns-refused-by-region",
            "name-missing-in-region",
        ],
        "caa-forbids" => vec!["caa-forbids", "caa-critical-unknown"],
        "caa-lookup-failed" => vec![
            "caa-lookup-failed",
            "dns-refused-by-region",
            "ns-unreachable",
            "dns-tcp-refused",
        ],
        "quorum-rirs" => vec![
            "http-geoblocked",
            "geodns-divergence",
            "dns-refused-by-region",
            "caa-lookup-failed",
        ],
        "wildcard-needs-dns01" => vec!["wildcard-needs-dns01"],
        _ => Vec::new(),
    };
    // A connection failure to an IPv6 address: CAs try the AAAA first (mpic-rules.md §3.4).
    let v6 = f.address.as_deref().is_some_and(|a| a.contains(':'));
    if v6 && matches!(f.cause, "timeout" | "refused" | "reset") && !v.contains(&"ipv6-broken") {
        v.insert(v.len().min(1), "ipv6-broken");
    }
    v
}

pub(super) const REMOTE_LEAD: &str = "The CA's own (primary) check passed, but then at least two of its \
                           remote perspectives (other regions and networks, each repeating the \
                           whole check with its own DNS resolver) failed";
/// Other CAs' MPIC wording does not say whether their primary passed.
pub(super) const OTHER_MPIC_LEAD: &str = "The CA's multi-perspective check (MPIC) failed: too many of its \
                               remote perspectives (other regions and networks, each repeating \
                               the check with its own DNS resolver) could not confirm the result";
pub(super) const PRIMARY_NOTE: &str = "This happened at the CA's primary perspective: under MPIC the remote \
                            perspectives are asked only after the primary passes, so this is not a \
                            regional split but a failure seen from the CA's main site.";

pub(super) fn meaning(f: &Facts, stage: Stage, id: Option<&str>) -> String {
    if let Some(ns) = &f.client_ns {
        return client_meaning(f, ns, id);
    }
    let at = f
        .address
        .as_deref()
        .map(|a| format!(" at {a}"))
        .unwrap_or_default();
    let url = f.url.as_deref().unwrap_or("the challenge URL");
    let name = id.unwrap_or("the name");
    let remote = stage == Stage::Remote;
    let lookup = f.lookup.as_ref().map_or_else(
        || format!("the lookup for {name}"),
        |lk| format!("{} {}", lk.rtype, lk.name),
    );
    let status = f
        .status
        .map_or_else(|| "an error".to_string(), |s| format!("HTTP {s}"));
    // (what happened at the primary, what happened at the remotes, why / what it implies)
    let (what, what_remote, why): (String, String, String) = match f.family {
        "http-geoblocked" => {
            let (seen, typical) = match f.cause {
                "status" => (
                    format!("got {status} from {url}{at}"),
                    "Typical of a geo rule or bot filter (WAF, CDN, hoster firewall, .htaccess, \
                     fail2ban) that refuses some countries or the CA's User-Agent while the \
                     primary's region gets through.",
                ),
                "refused" => (
                    format!("had their connections to port 80{at} refused"),
                    "Typical of a firewall REJECT rule by country or network, or of another host \
                     answering those regions (GeoDNS, a stale A/AAAA record).",
                ),
                "reset" => (
                    format!("had their connections to port 80{at} reset"),
                    "Typical of an intrusion-prevention system or geo firewall that resets \
                     connections from some regions.",
                ),
                "timeout" => (
                    format!("could not reach port 80{at}: the TCP connection timed out"),
                    "Typical of geoblocking: a firewall, hoster or CDN rule that lets the CA's \
                     primary region through but drops other countries or networks.",
                ),
                _ => (
                    format!("could not fetch {url}{at} (connection failure)"),
                    "Typical of geoblocking: a firewall, hoster or CDN rule that lets the CA's \
                     primary region through but drops other countries or networks.",
                ),
            };
            (
                seen.clone(),
                seen,
                format!(
                    "{typical} CAs do not publish their validation addresses, so an allowlist \
                     cannot work: /.well-known/acme-challenge/ on port 80 must answer the whole \
                     world (or switch to dns-01, which needs no inbound connection)."
                ),
            )
        }
        "connect-timeout" => (
            format!(
                "The CA could not open a TCP connection to port 80{at} in time (fetching {url})"
            ),
            String::new(),
            "Nothing answered: port 80 is closed or filtered by a firewall, the A/AAAA record \
             points to a host that does not answer, or IPv6 is broken on the server."
                .to_string(),
        ),
        "http-timeout" => (
            format!(
                "The CA connected to port 80{at} but got no complete answer in time from {url}"
            ),
            format!("they connected to port 80{at} but got no answer in time"),
            "The web server or a proxy in front of it is too slow, or a WAF or rate limiter \
             stalls unknown clients instead of answering."
                .to_string(),
        ),
        "connection-refused" => (
            format!("The CA's connection to port 80{at} was refused"),
            String::new(),
            "Nothing listens on port 80 at that address, or a firewall rejects it. If the \
             address belongs to an old record, remove it: the CA uses the first address of each \
             family, not the one that works."
                .to_string(),
        ),
        "connection-reset" => (
            format!("The CA's connection to port 80{at} was reset"),
            String::new(),
            "A firewall, intrusion-prevention system or proxy cut the connection.".to_string(),
        ),
        "network-unreachable" => (
            format!("The CA had no route to the server{at}"),
            format!("they had no route to the server{at}"),
            "Usually an AAAA record whose IPv6 network is not reachable: CAs try IPv6 first when \
             an AAAA exists and fall back to IPv4 only on connection errors. Fix IPv6 or remove \
             the AAAA record."
                .to_string(),
        ),
        "http-status" => {
            let why = match f.status {
                Some(404) if remote => {
                    "A 404 from some regions only usually means they reach another server \
                     (GeoDNS, an anycast CDN, a stale A/AAAA record) that lacks the file."
                }
                Some(404) => {
                    "The file is not where the web server serves from: the client wrote it to \
                     another directory than the document root, a rewrite or proxy catches \
                     /.well-known/acme-challenge/, or a cache served an old 404."
                }
                Some(401 | 403 | 451) => {
                    "Access to /.well-known/acme-challenge/ is denied: authentication, a deny \
                     rule, a WAF or bot filter refusing the CA's User-Agent, or a geo rule."
                }
                Some(s) if s >= 500 && remote => {
                    "The server, or a proxy or CDN in front of it, failed for those regions (a \
                     regional CDN edge or another backend)."
                }
                Some(s) if s >= 500 => "The server, or a proxy or CDN in front of it, failed.",
                _ => "Anything but 200 fails; only 301/302/307/308 redirects are followed.",
            };
            (
                format!("The CA fetched {url}{at} and got {status} instead of 200"),
                format!("they got {status} from {url}{at}"),
                why.to_string(),
            )
        }
        "wrong-body" if f.cause == "body" => (
            format!(
                "The CA fetched {url}{at} and got a page of 128 bytes or more instead of the bare key authorization"
            ),
            format!("they were served a page from {url}{at} instead of the token"),
            if remote {
                "Often a block, captcha or 'site not licensed' page that a hoster or CDN shows to \
                 some regions only."
            } else {
                "An HTML error, login or block page, or a web server that wraps the file in a \
                 template."
            }
            .to_string(),
        ),
        "wrong-body" => (
            format!(
                "The CA reached {url}{at} but the content was not this challenge's key authorization"
            ),
            format!("they got different content from {url}{at} than the primary did"),
            if remote {
                "Those regions reach another server or a cache holding an old token (GeoDNS, \
                 anycast CDN, a stale record)."
            } else {
                "Another server or an old cached copy answered (CDN, GeoDNS, a stale record), or \
                 the client wrote the token where the web server does not serve from."
            }
            .to_string(),
        ),
        "redirect" => {
            let what = match f.cause {
                "too-many" => "more than 10 redirects".to_string(),
                "loop" => "a redirect loop".to_string(),
                "port" => match &f.port {
                    Some(p) => format!("a redirect to port {p}"),
                    None => "a redirect to a port other than 80 or 443".to_string(),
                },
                "status" => "a redirect with a status other than 301/302/307/308".to_string(),
                _ => "a redirect to an invalid target (an IP address, a missing '/', a \
                      non-public name or an overlong path)"
                    .to_string(),
            };
            (
                format!("The CA refused to follow {what} on the challenge path ({url})"),
                format!("they were sent {what}"),
                "CAs follow at most 10 redirects, only 301/302/307/308, only to http:// or \
                 https:// host names on ports 80 or 443, never in a loop. Exempt \
                 /.well-known/acme-challenge/ from the redirect or point it at port 80/443."
                    .to_string(),
            )
        }
        "protocol-error" => {
            let what = match f.cause {
                "h2c" => format!(
                    "The server{at} answered the CA's HTTP/1.1 request on port 80 with HTTP/2 \
                     frames (HTTP/2 enabled on a plain-HTTP virtual host)"
                ),
                "no-tls" => format!(
                    "A redirect to https:// reached a server{at} that speaks plain HTTP, not TLS"
                ),
                _ => format!(
                    "The TLS handshake with the server{at} failed after a redirect to https:// \
                     (CAs accept any certificate there but need TLS 1.2 or later)"
                ),
            };
            (
                what,
                format!("they hit a protocol error{at}"),
                "Fix the web server's protocol settings for port 80 and the https target."
                    .to_string(),
            )
        }
        "connection-error" => (
            format!("The CA could not fetch {url}{at} (connection failure)"),
            String::new(),
            "The message gives no finer cause: a firewall, a proxy error, or a broken TLS \
             redirect target."
                .to_string(),
        ),
        "unauthorized" => (
            "The CA says the validation did not prove control of the name".to_string(),
            "they could not confirm the challenge".to_string(),
            "The message does not say which part failed; run mpic-check to see what each \
             perspective gets."
                .to_string(),
        ),
        "txt-missing" => (
            format!(
                "The CA found no TXT record at _acme-challenge.{}",
                base(name)
            ),
            format!(
                "their resolvers found no TXT record at _acme-challenge.{}",
                base(name)
            ),
            if remote {
                "Not every authoritative nameserver had the value yet (a lagging secondary, an \
                 anycast node, a hidden-primary transfer), or it was removed before the CA \
                 finished."
            } else {
                "The value was not yet on the nameserver asked, was removed too early, or was \
                 put in another zone or name (check CNAME delegation of _acme-challenge)."
            }
            .to_string(),
        ),
        "txt-incorrect" => (
            format!(
                "The CA found TXT values at _acme-challenge.{} but none matched this order",
                base(name)
            ),
            format!(
                "their resolvers found only other TXT values at _acme-challenge.{}",
                base(name)
            ),
            "An old value from an earlier attempt is still served by some nameserver or cache, \
             or the DNS hook replaced the record set instead of adding to it (an apex and its \
             wildcard share this name and need both values at once)."
                .to_string(),
        ),
        "dns-nxdomain" => (
            format!("The CA's resolver got NXDOMAIN (no such name) for {lookup}"),
            format!("their resolvers got NXDOMAIN for {lookup} while the primary's did not"),
            if f.lookup.as_ref().is_some_and(Lookup::is_challenge) {
                "The challenge record did not exist on the nameserver asked (not yet propagated, \
                 or already removed); resolvers keep such negative answers for the zone's SOA \
                 minimum TTL."
            } else {
                "The name does not resolve there: a missing record, or nameservers that \
                 disagree (a lagging secondary, GeoDNS)."
            }
            .to_string(),
        ),
        "dns-servfail" => (
            format!("The CA's resolver got SERVFAIL for {lookup}"),
            format!("their resolvers got SERVFAIL for {lookup}"),
            "The authoritative nameservers did not answer properly: unreachable, lame, DNSSEC \
             trouble, or refusing some query types or regions."
                .to_string(),
        ),
        "dns-timeout" => (
            format!("The CA's DNS query timed out for {lookup}"),
            format!("their DNS queries timed out for {lookup}"),
            "The authoritative nameservers did not answer in time: a firewall or rate limit on \
             port 53, an unreachable server, or broken IPv6 on a nameserver."
                .to_string(),
        ),
        "dns-refused" => (
            format!("The CA's resolver got REFUSED for {lookup}"),
            format!("their resolvers got REFUSED for {lookup}"),
            "A nameserver refuses the query: an ACL or geo restriction, or a server that is not \
             authoritative for the zone (lame delegation)."
                .to_string(),
        ),
        "dns-dnssec" => (
            format!("DNSSEC validation failed (bogus) for {lookup}"),
            format!("their resolvers found DNSSEC bogus for {lookup}"),
            "Expired signatures, a DS record that does not match the keys, or nameservers that \
             serve differently signed data."
                .to_string(),
        ),
        "dns-error" => {
            let what = f
                .lookup
                .as_ref()
                .map(|lk| lk.what.clone())
                .filter(|w| !w.is_empty())
                .unwrap_or_else(|| "a DNS error".to_string());
            (
                format!("The CA's DNS lookup failed ({what}) for {lookup}"),
                format!("their DNS lookups failed ({what}) for {lookup}"),
                "A network problem between the CA's resolver and the nameservers, or a problem \
                 at the CA's resolver."
                    .to_string(),
            )
        }
        "dns-no-address" => (
            format!("The CA's resolver found no usable A or AAAA record for {name}"),
            format!("their resolvers found no usable A or AAAA record for {name}"),
            "No records, or only private or reserved addresses; when only remotes fail, \
             nameservers answer differently per region (GeoDNS, a lagging secondary)."
                .to_string(),
        ),
        "caa-forbids" => (
            format!(
                "The CAA records for {name} (or its closest parent that has some) do not allow this CA"
            ),
            format!(
                "their resolvers saw CAA records for {name} that forbid this CA while the primary's did not"
            ),
            if remote {
                "Nameservers serve different CAA records: a recent change not yet everywhere, or \
                 GeoDNS."
            } else {
                "The CA is not listed in `issue` (or `issuewild`, for wildcards), or the record \
                 restricts `accounturi` or `validationmethods`, or an unknown tag is marked \
                 critical. Add the CA's issuer domain or fix the restriction."
            }
            .to_string(),
        ),
        "caa-lookup-failed" => {
            let what = f
                .lookup
                .as_ref()
                .map(|lk| lk.what.clone())
                .filter(|w| !w.is_empty())
                .unwrap_or_else(|| "error".to_string());
            (
                format!(
                    "The CA could not look up CAA for {} ({what})",
                    f.lookup.as_ref().map_or(name, |lk| lk.name.as_str())
                ),
                format!(
                    "their resolvers could not look up CAA for {} ({what})",
                    f.lookup.as_ref().map_or(name, |lk| lk.name.as_str())
                ),
                "Let's Encrypt treats a failed CAA lookup at the name or any parent as a refusal: \
                 every nameserver must answer CAA queries from every region (an empty NOERROR is \
                 fine; SERVFAIL, REFUSED, NOTIMP, timeouts and DNSSEC failures are not)."
                    .to_string(),
            )
        }
        "quorum-rirs" => (
            String::new(),
            String::new(),
            "Too many remote perspectives failed, or those that passed were not spread over two \
             RIRs (regional internet registries: North America, Europe, Asia-Pacific, Latin \
             America, Africa). The message does not say which check failed: run mpic-check to \
             see which regions fail and why."
                .to_string(),
        ),
        "rate-limit" => {
            let what = match f.cause {
                "paused" => {
                    "The CA paused issuance for this name on this account after a long \
                             series of failed validations; the message links to the unpause page"
                }
                "failed-authz" => {
                    "The CA refused the request: too many failed validations for \
                                   this name recently (Let's Encrypt: 5 per name per account per \
                                   hour, one more every 12 minutes)"
                }
                "certificates" => {
                    "The CA refused the request: too many certificates were issued \
                                   recently for these names"
                }
                _ => "The CA refused the request: a rate limit was hit",
            };
            (
                what.to_string(),
                String::new(),
                "This is not a validation failure in itself but follows repeated ones: find the \
                 cause with mpic-check, test against the CA's staging environment, and retry \
                 only once it passes."
                    .to_string(),
            )
        }
        "ca-internal" => (
            "The CA's own infrastructure failed".to_string(),
            "the CA could not get an answer from them (its internal calls failed)".to_string(),
            "Under MPIC a remote perspective that does not answer counts as a failure. This is \
             usually not your server: retry later, against staging first."
                .to_string(),
        ),
        "wildcard-needs-dns01" => (
            format!(
                "The ACME client refused before any validation: {} needs dns-01",
                id.unwrap_or("a wildcard name")
            ),
            String::new(),
            "CAs validate wildcard names only with dns-01, and the chosen authenticator does \
             http-01 or tls-alpn-01 only. Use a DNS plugin (certbot --preferred-challenges dns, \
             lego --dns) or drop the wildcard."
                .to_string(),
        ),
        _ => (String::new(), String::new(), String::new()),
    };
    let mut text = if remote {
        let lead = if f.total_perspectives > 0 {
            format!(
                "The CA's multi-perspective check (Open MPIC) did not reach its quorum: {} of {} \
                 remote perspectives failed",
                f.perspectives.len(),
                f.total_perspectives
            )
        } else if f.boulder {
            REMOTE_LEAD.to_string()
        } else {
            OTHER_MPIC_LEAD.to_string()
        };
        if !what_remote.is_empty() {
            format!("{lead}: {what_remote}. {why}")
        } else if !what.is_empty() {
            format!("{lead}: {}. {why}", lower_first(&what))
        } else {
            format!("{lead}. {why}")
        }
    } else {
        let mut t = format!("{what}. {why}");
        if stage == Stage::Primary {
            t.push(' ');
            t.push_str(PRIMARY_NOTE);
        }
        t
    };
    if f.recheck {
        text.push_str(
            " This was the CAA recheck at finalization: Let's Encrypt rechecks CAA, again from \
             several perspectives, when the authorization is older than 7 hours, so a renewal \
             that reuses an old validation can still fail here.",
        );
    }
    if f.type_only {
        text.push_str(
            " (Recognised from the ACME problem type only; the CA's wording was not specific.)",
        );
    }
    if !f.perspectives.is_empty() {
        text.push_str(&format!(
            " Failing perspectives: {}.",
            f.perspectives.join(", ")
        ));
    }
    text
}

/// lego gave up in its own propagation check, before asking the CA.
fn client_meaning(f: &Facts, ns: &str, id: Option<&str>) -> String {
    let at = format!("_acme-challenge.{}", base(id.unwrap_or("NAME")));
    let what = match (f.family, &f.lookup) {
        ("txt-incorrect", _) => {
            format!("nameserver {ns} served other TXT values at {at}, not this one")
        }
        ("txt-missing", _) => format!("nameserver {ns} did not serve the TXT value at {at}"),
        (_, Some(lk)) => format!("nameserver {ns} answered {} for {}", lk.what, lk.name),
        _ => format!("nameserver {ns} did not serve the TXT value at {at}"),
    };
    format!(
        "The ACME client's own check gave up before the CA was asked: {what}. lego waits until \
         every authoritative nameserver serves the value; the CA would have seen the same. The \
         value was not published on that server (a lagging secondary, a hidden primary that \
         does not notify, the record put in another zone or replaced by a second value), or the \
         DNS provider publishes slower than lego's propagation timeout."
    )
}

pub(super) fn base(name: &str) -> &str {
    name.strip_prefix("*.").unwrap_or(name)
}

pub(super) fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Targeted hints for a recognised problem; the generic checklist is for unrecognised text.
pub(super) fn hints_for(
    f: &Facts,
    stage: Stage,
    id: Option<&str>,
    method: Option<&str>,
    args: &[String],
    ca: Option<&str>,
) -> Vec<String> {
    let dns = method == Some("dns-01");
    let name = id.unwrap_or("NAME");
    let mut v: Vec<String> = Vec::new();
    if !args.is_empty() {
        v.push(format!(
            "Run `mpic-check {}` to see what the CA's primary and remote perspectives would get.",
            args.join(" ")
        ));
    }
    let family_hints: &[&str] = match f.family {
        "http-geoblocked" | "connect-timeout" | "connection-refused" | "connection-reset"
        | "http-timeout" | "connection-error" => &[
            "Allow port 80 for /.well-known/acme-challenge/ from every country and network in \
             the server firewall, the hoster's firewall, the WAF/CDN and fail2ban-like tools.",
            "Check from outside your own network: curl -v http://NAME/.well-known/acme-challenge/test",
            "Compare the A and AAAA records with the server's real addresses, and test IPv6 \
             separately (CAs try it first).",
        ],
        "network-unreachable" => {
            &["Test port 80 over IPv6 from outside, or remove the AAAA record until IPv6 works."]
        }
        // Advice about the challenge directory only when the challenge was http-01: Pebble
        // reports a wrong TXT record as `unauthorized` too.
        "unauthorized" if method.is_none() => &[
            "The log does not say which challenge failed: check the http-01 file at \
             http://NAME/.well-known/acme-challenge/ or the dns-01 TXT record at \
             _acme-challenge.NAME, whichever the client used.",
        ],
        "http-status" | "wrong-body" | "unauthorized" if !dns => &[
            "Put a test file in the challenge directory and fetch \
             http://NAME/.well-known/acme-challenge/test from outside: status 200, exact content, \
             no HTML.",
            "Exclude /.well-known/acme-challenge/ from caching, redirects to other hosts, \
             authentication and bot filters.",
        ],
        "redirect" | "protocol-error" => &[
            "Serve /.well-known/acme-challenge/ directly on port 80, or redirect it only with \
             301/302/307/308 to http(s) on ports 80/443.",
        ],
        "txt-missing" | "txt-incorrect" | "dns-nxdomain" | "unauthorized" if dns => &[
            "During the next renewal, run `mpic-check watch NAME` (or make the DNS hook call \
             `mpic-check wait-txt NAME VALUE…`) so the CA is asked only once every nameserver \
             serves the value.",
            "Query each authoritative nameserver directly: dig +norec TXT _acme-challenge.NAME \
             @<ns>",
            "Make the DNS hook add TXT values, never replace the record set, and clean up only \
             after validation.",
        ],
        "dns-nxdomain" | "dns-servfail" | "dns-timeout" | "dns-refused" | "dns-dnssec"
        | "dns-error" | "dns-no-address" => &[
            "Query every authoritative nameserver directly, over IPv4 and IPv6: dig +norec QUERY \
             @<ns>",
            "Check DNSSEC with a validating resolver (e.g. dig +dnssec, or an online DNSSEC \
             analyser).",
        ],
        "caa-forbids" => &[
            "List the CAA records from the name up to the TLD: dig CAA NAME (and each parent); the \
             closest non-empty set applies.",
            "Add the CA's issuer domain (e.g. 0 issue \"ISSUER\", and issuewild for \
             wildcards), or relax accounturi/validationmethods.",
        ],
        "caa-lookup-failed" => &[
            "Ask every authoritative nameserver for CAA directly: dig +norec CAA NAME @<ns> must \
             give NOERROR (an empty answer is fine).",
            "Fix DNSSEC and any nameserver that answers CAA (type 257) with SERVFAIL, REFUSED or \
             NOTIMP.",
        ],
        "quorum-rirs" => &[
            "Check reachability and DNS answers from several continents, not only from your own \
             network.",
        ],
        "rate-limit" => &[
            "Wait for the limit to reset (the message says when), and use the CA's staging \
             environment for tests.",
        ],
        "ca-internal" => &["Retry later; if it persists, check the CA's status page."],
        "wildcard-needs-dns01" => &[
            "Use a DNS authenticator for the wildcard (certbot --preferred-challenges dns with a \
             DNS plugin, lego --dns <provider>, acme.sh --dns <api>).",
        ],
        _ => &[],
    };
    // The record actually queried, when the message names it (`TXT _acme-challenge.x`).
    let query = f.lookup.as_ref().map_or_else(
        || format!("A {}", base(name)),
        |lk| format!("{} {}", lk.rtype, lk.name),
    );
    v.extend(family_hints.iter().map(|h| {
        h.replace("QUERY", &query)
            .replace("NAME", base(name))
            .replace("ISSUER", ca.unwrap_or("letsencrypt.org"))
    }));
    if stage == Stage::Remote {
        v.push(
            "Only some regions fail: look for what differs by region (geo rules, GeoDNS, anycast, \
             nameservers that lag), not for a general outage."
                .to_string(),
        );
    }
    v
}

/// What to check when the message was not recognised.
pub(super) fn generic_checklist(id: Option<&str>) -> Vec<String> {
    let n = id.map_or("NAME", base);
    vec![
        format!(
            "Run `mpic-check {n}` (add `--method dns-01` for DNS validation) to see what a CA's \
             primary and remote perspectives would get."
        ),
        "DNS: do the A and AAAA records point only at servers that answer, with the same answer \
         from every region (no stale or GeoDNS-only addresses)?"
            .to_string(),
        format!(
            "Port 80: is http://{n}/.well-known/acme-challenge/ reachable from every country and \
             network (no geo or IP firewall, WAF, bot filter, fail2ban or CDN rule), over IPv6 as \
             well as IPv4?"
        ),
        "Challenge file: status 200, only the key authorization (under 128 bytes), no redirect \
         other than 301/302/307/308 to ports 80 or 443, no cache serving old answers?"
            .to_string(),
        format!(
            "DNS-01: is the TXT at _acme-challenge.{n} on every authoritative nameserver before \
             the CA checks, and kept until it has finished?"
        ),
        "CAA: does the closest CAA record set allow your CA (issue, or issuewild for wildcards), \
         and does every nameserver answer CAA queries without SERVFAIL, REFUSED or timeouts?"
            .to_string(),
        "Retry against the CA's staging environment first: Let's Encrypt allows only 5 failed \
         validations per name per hour."
            .to_string(),
    ]
}
