//! HTTP-01 as a CA's validator does it (mpic-rules §3.4): `GET http://<name>/.well-known/
//! acme-challenge/<token>` on port 80 with the CA's User-Agent, addresses from the perspective's
//! own DNS view, the first AAAA then the first A with one fallback on a dial error only, redirects
//! followed by hand under the CA rules (301/302/307/308, http/https, ports 80/443, paths up to
//! 2,000 bytes, 11 followed as Boulder counts, no loops), status exactly 200 and a body under 128
//! bytes, trailing Unicode white space trimmed, for a real token. Every address is also
//! fetched on its own, because a dead extra A record fails validation only some of the time.
//! An IP-address identifier (RFC 8738 §3) is fetched at `http://<ip>/…` (IPv6 in brackets) with
//! the address as Host header and no lookup, as Boulder's `va/http.go` `processHTTPValidation`
//! does; its redirects follow the same rules (to names or addresses).

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use futures::future::join_all;
use hickory_resolver::proto::rr::RecordType;
use sha2::{Digest, Sha256};
use url::Url;

use super::blank;
use super::fingerprints;
use crate::observation::{
    Check, ConnectFailure, Fingerprint, HttpFacts, HttpHop, Observation, Phase, RefusedAddress,
    RefusedFrom, Signature,
};
use crate::perspective::Vantage;
use crate::perspective::http::{self as h, GetError, Pins, Reply, Timeouts};
use crate::text::escape_bytes;

/// Let's Encrypt's validation User-Agent as reported by users.
pub const CA_USER_AGENT: &str =
    "Mozilla/5.0 (compatible; Let's Encrypt validation server; +https://www.letsencrypt.org)";
/// A current desktop browser's User-Agent, for telling User-Agent filters from geoblocking.
pub const BROWSER_USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
/// Boulder's `maxRedirect` (letsencrypt/boulder `va/http.go`, `processHTTPValidation`): its
/// redirect callback refuses when `numRedirects > maxRedirect` *before* incrementing, so the
/// 11th redirect is still followed and the 12th refused. [`redirects_exceeded`] keeps that count.
pub const MAX_REDIRECTS: usize = 10;
/// Boulder's `maxPathSize` (`va/http.go`, `processHTTPValidation`): a redirect whose (decoded)
/// path is longer than this many bytes is refused with "Redirect target too long".
pub const MAX_REDIRECT_PATH: usize = 2000;
/// A key authorization must be shorter than this (Boulder reads 128 bytes and fails at 128).
pub const BODY_LIMIT: usize = 128;
/// Bytes read at most, so a block page can be shown without reading an endless body.
const READ_CAP: usize = 1024;
/// Response headers that reveal caching, CDNs or WAFs (the Globalping engine keeps the same ones,
/// so remote and local hops compare).
pub const HEADERS_OF_INTEREST: &[&str] = &[
    "age",
    "cache-control",
    "expires",
    "x-cache",
    "x-cache-status",
    "cf-cache-status",
    "cf-ray",
    "via",
    "server",
    "x-served-by",
    "cdn-cache-control",
    "surrogate-control",
    "content-length",
    "content-type",
];

/// What to fetch and what counts as success.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The token (random when unknown).
    pub token: String,
    /// The exact body expected (key authorization), when known.
    pub expect_body: Option<String>,
    /// User-Agent to send.
    pub user_agent: String,
}

impl Plan {
    /// A plan with an unguessable random token and no expected body.
    pub fn random() -> Plan {
        use rand::Rng;
        let mut rng = rand::rng();
        let token: String = (0..43)
            .map(|_| {
                const A: &[u8] =
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
                A[rng.random_range(0..A.len())] as char
            })
            .collect();
        Plan {
            token,
            expect_body: None,
            user_agent: CA_USER_AGENT.into(),
        }
    }
}

/// Runs the CA-like fetch and, when the name has several addresses, one fetch per address.
pub async fn check(v: &Vantage, name: &str, addrs: &[IpAddr], plan: &Plan) -> Vec<Observation> {
    // Only addresses the policy permits are ever dialled, whoever passed them in.
    let addrs: Vec<IpAddr> = addrs
        .iter()
        .copied()
        .filter(|ip| v.net().addresses.permits(*ip))
        .collect();
    let addrs = addrs.as_slice();
    let url = match Url::parse(&format!(
        "http://{name}/.well-known/acme-challenge/{}",
        plan.token
    )) {
        Ok(u) => u,
        Err(e) => {
            let mut o = blank(&v.spec.name, Check::Http01);
            o.phase = Some(Phase::Protocol);
            o.summary = format!("cannot build the challenge URL: {e}");
            return vec![o];
        }
    };
    let per_address = async {
        if v.can_pin_addresses() && addrs.len() > 1 {
            join_all(addrs.iter().map(|ip| async {
                let start = Instant::now();
                let r = fetch(v, &url, Some(*ip), plan).await;
                let mut o = to_observation(v, r, plan, start);
                o.address = Some(ip.to_string());
                o
            }))
            .await
        } else {
            Vec::new()
        }
    };
    let (mut main, per) = tokio::join!(ca_like(v, &url, addrs, plan), per_address);
    if refused_kind(&main) {
        // Same request with a browser's User-Agent: if that one passes, a User-Agent filter (not
        // the region) is what refuses the CA.
        let browser = Plan {
            user_agent: BROWSER_USER_AGENT.into(),
            ..plan.clone()
        };
        let alt = ca_like(v, &url, addrs, &browser).await;
        if let Some(h) = main.http.as_mut() {
            h.alt_user_agent = Some(crate::observation::AltFetch {
                user_agent: BROWSER_USER_AGENT.into(),
                status: alt.http.as_ref().and_then(|x| x.status),
                summary: alt.summary,
            });
        }
    }
    let mut out = vec![main];
    out.extend(per);
    out
}

/// A refusal that a filter on the request (not the network path) could cause.
fn refused_kind(o: &Observation) -> bool {
    if o.ok || o.perspective_fault {
        return false;
    }
    let status = o.http.as_ref().and_then(|h| h.status);
    matches!(status, Some(401 | 403 | 406 | 429 | 444 | 451 | 503))
        || (status.is_none()
            && matches!(
                o.phase,
                Some(Phase::Protocol | Phase::Http | Phase::Connect)
            ))
}

async fn ca_like(v: &Vantage, url: &Url, addrs: &[IpAddr], plan: &Plan) -> Observation {
    let start = Instant::now();
    if !v.pins_addresses() {
        // socks5h / HTTP proxy: the proxy resolves the name, as a remote vantage would.
        let r = fetch(v, url, None, plan).await;
        return to_observation(v, r, plan, start);
    }
    let v6 = addrs.iter().find(|a| a.is_ipv6()).copied();
    let v4 = addrs.iter().find(|a| a.is_ipv4()).copied();
    let Some(first) = v6.or(v4) else {
        let mut o = blank(&v.spec.name, Check::Http01);
        o.phase = Some(Phase::Dns);
        o.summary = "no address to connect to from this perspective".into();
        o.signature = Signature::Failed(Phase::Dns);
        o.elapsed_ms = start.elapsed().as_millis() as u64;
        return o;
    };
    let r = fetch(v, url, Some(first), plan).await;
    // Boulder (`va/http.go`, `newHTTPValidationTarget` and `fallbackErr`): the first AAAA, then
    // the first A, and the fallback happens only when the error is a dial error (`net.OpError`
    // with Op "dial": refused, unreachable, connect timeout) — never on a read error, a reset
    // after connecting or any HTTP answer. The retry starts the whole chain again, so a dial
    // error on a redirect hop falls back too.
    if first.is_ipv6()
        && r.dial_error
        && let Some(v4) = v4
    {
        let why = r.error.as_ref().map(|e| e.1.clone()).unwrap_or_default();
        let mut o = to_observation(v, fetch(v, url, Some(v4), plan).await, plan, start);
        o.summary = format!("{} (IPv4 after IPv6 {first} failed: {why})", o.summary);
        return o;
    }
    to_observation(v, r, plan, start)
}

/// The result of following one chain.
#[derive(Debug)]
struct Fetched {
    hops: Vec<HttpHop>,
    url: String,
    status: Option<u16>,
    body: Option<(Vec<u8>, bool)>,
    error: Option<(Phase, String)>,
    /// With a `connect` error: how the connection failed, as the transport classified it.
    connect: Option<ConnectFailure>,
    /// The chain stopped at a redirect a CA would not follow.
    redirect_refused: bool,
    /// The last request failed while dialling (what Boulder's `fallbackErr` accepts).
    dial_error: bool,
    /// The last request failed because this process had no file descriptor left.
    out_of_files: bool,
    /// Addresses the policy set aside on the way.
    refused: Vec<RefusedAddress>,
    /// What the answering software was recognised as, on any hop.
    fingerprints: Vec<Fingerprint>,
}

fn effective_port(u: &Url, http_port: Option<u16>) -> Option<u16> {
    let p = u.port_or_known_default()?;
    match (u.scheme(), http_port) {
        ("http", Some(test)) if p == test => Some(80),
        _ => Some(p),
    }
}

/// Follows one redirect chain from this perspective. `first_pin` fixes the address of the first
/// request; later hops resolve through the perspective's DNS.
async fn fetch(v: &Vantage, start_url: &Url, first_pin: Option<IpAddr>, plan: &Plan) -> Fetched {
    let mut url = start_url.clone();
    let mut seen: HashSet<String> = HashSet::new();
    let mut f = Fetched {
        hops: Vec::new(),
        url: start_url.to_string(),
        status: None,
        body: None,
        error: None,
        connect: None,
        redirect_refused: false,
        dial_error: false,
        out_of_files: false,
        refused: Vec::new(),
        fingerprints: Vec::new(),
    };
    let timeouts = Timeouts {
        connect: v.timeout,
        total: v.timeout,
    };
    loop {
        seen.insert(url.to_string());
        let host = crate::text::bare_host(&url);
        // The address policy holds on every hop (Boulder, `va/http.go`: a redirect target is resolved
        // and checked like the first request): a redirect must not make this tool, often run as
        // root next to internal services, fetch from loopback, the LAN or a metadata service.
        let redirected = !f.hops.is_empty();
        if let Ok(ip) = host.parse::<IpAddr>()
            && let Some(r) = v.net().addresses.refusal(ip)
        {
            f.refused
                .push(super::refused(&r, RefusedFrom::Redirect, Some(&host)));
            f.error = Some((
                Phase::Http,
                format!("Invalid host in redirect target {host:?}: {r}"),
            ));
            f.redirect_refused = redirected;
            return f;
        }
        let mut pins = Pins::default();
        let mut address = None;
        let pin_first = f.hops.is_empty() && first_pin.is_some();
        // An address in the URL (an IP identifier, RFC 8738, or a redirect to one) is dialled as
        // it stands, and the Host header carries it as a CA's Go client sends it: the address
        // (IPv6 in brackets) without a port, whichever port a test moved 80 to.
        let literal = host
            .parse::<IpAddr>()
            .ok()
            .filter(|_| v.pins_addresses() || pin_first);
        if let Some(ip) = literal {
            address = Some(ip.to_string());
        }
        if (v.pins_addresses() || pin_first) && host.parse::<IpAddr>().is_err() {
            let addrs = match (f.hops.is_empty(), first_pin) {
                (true, Some(ip)) => vec![ip],
                _ => {
                    // A redirect target is usually one responder for many names: its answers
                    // are shared within the run (TTL-bounded, per perspective); a first hop
                    // without a pin asks afresh.
                    let host = host.as_str();
                    let ask = |rtype| async move {
                        if redirected {
                            v.lookup_redirect_target(host, rtype).await
                        } else {
                            v.lookup(host, rtype).await
                        }
                    };
                    let (a, aaaa) = tokio::join!(ask(RecordType::A), ask(RecordType::AAAA));
                    let mut l = aaaa.addresses();
                    l.extend(a.addresses());
                    l
                }
            };
            if addrs.is_empty() {
                f.error = Some((
                    Phase::Dns,
                    format!("{host} does not resolve from this perspective"),
                ));
                return f;
            }
            let policy = &v.net().addresses;
            let refusals: Vec<_> = addrs.iter().filter_map(|ip| policy.refusal(*ip)).collect();
            let from = if redirected {
                RefusedFrom::Redirect
            } else {
                RefusedFrom::Address
            };
            f.refused.extend(
                refusals
                    .iter()
                    .map(|r| super::refused(r, from, redirected.then_some(host.as_str()))),
            );
            let refused: Vec<String> = refusals.iter().map(ToString::to_string).collect();
            let addrs: Vec<IpAddr> = addrs.into_iter().filter(|ip| policy.permits(*ip)).collect();
            if addrs.is_empty() {
                f.error = Some((
                    Phase::Dns,
                    format!(
                        "No valid IP addresses found for {host}: {}",
                        refused.join("; ")
                    ),
                ));
                f.redirect_refused = redirected;
                return f;
            }
            // One address per hop, as Boulder dials (`newHTTPValidationTarget`: the first AAAA,
            // else the first A); the IPv4 fallback is [`ca_like`]'s, for the whole chain. Handing
            // every address to the connector would let it try them all and pass where a CA fails.
            address = Some(addrs[0].to_string());
            pins.map.push((host.to_ascii_lowercase(), vec![addrs[0]]));
        }
        let mut req_url = url.clone();
        // The moved port stands for port 80 whatever the scheme, so a redirect to
        // `https://name:80/` (TLS spoken to the plain-HTTP port) is testable too.
        if let Some(p) = v.net().http_port
            && url.port_or_known_default() == Some(80)
        {
            let _ = req_url.set_port(Some(p));
        }
        let hop_start = Instant::now();
        let mut hop = HttpHop {
            url: url.to_string(),
            address,
            status: None,
            location: None,
            headers: Vec::new(),
            elapsed_ms: 0,
        };
        // `host_str` keeps an IPv6 address's brackets, which a Host header needs (RFC 7230 §5.4).
        let url_host = url.host_str().unwrap_or(&host).to_string();
        let host_with_port = match url.port() {
            Some(p) => format!("{url_host}:{p}"),
            None => url_host,
        };
        let pinned_ip = pins
            .map
            .first()
            .and_then(|(_, a)| a.first().copied())
            .or(literal);
        let request = h::Get {
            url: &url,
            req_url,
            pinned: pinned_ip,
            pins,
            host_with_port: &host_with_port,
            user_agent: &plan.user_agent,
            timeouts,
            cap: READ_CAP,
        };
        let reply: Result<Reply, (Phase, String)> = match v.get(request).await {
            Ok(r) => Ok(r),
            Err(GetError::Failed(phase, message)) => {
                // Through an HTTP proxy's CONNECT, `connect` means the proxy could not dial.
                f.dial_error = phase == Phase::Connect;
                Err((phase, message))
            }
            Err(GetError::Transport(e)) => {
                let phase = h::phase_of(&e);
                f.out_of_files = h::out_of_files(&e);
                f.dial_error = e.is_connect() && phase != Phase::Proxy;
                if phase == Phase::Connect {
                    f.connect = h::connect_failure_of(&e);
                } else if phase == Phase::Http {
                    // A reset after the connection was made (a firewall or WAF cutting a region
                    // off) is told apart from a plain close for the geoblocking evidence.
                    f.connect = h::connect_failure_of(&e).filter(|c| *c == ConnectFailure::Reset);
                }
                let text = describe_error(phase, f.connect, &e, v.through_socks());
                f.fingerprints
                    .extend(fingerprints::plain_http_on_tls(&url, &text));
                Err((phase, text))
            }
        };
        let resp = match reply {
            Ok(r) => r,
            Err(e) => {
                hop.elapsed_ms = hop_start.elapsed().as_millis() as u64;
                f.hops.push(hop);
                // A redirect to an https server a CA cannot talk to: Boulder requires TLS 1.2 or
                // later there (`va/http.go`, `processRedirect`; certificate errors are ignored,
                // `httpTransport`'s `InsecureSkipVerify`), so the redirect is what fails.
                f.redirect_refused = redirected && e.0 == Phase::Tls;
                f.error = Some(e);
                return f;
            }
        };
        let status = resp.status();
        hop.status = Some(status);
        let headers = resp.headers();
        for (k, val) in &headers {
            if HEADERS_OF_INTEREST.contains(&k.as_str()) {
                hop.headers.push((k.clone(), escape_bytes(val)));
            }
        }
        // Non-ASCII bytes are percent-encoded (not replaced), so the next request asks for the
        // bytes the server sent, as a browser or validator would.
        let raw_location = headers
            .iter()
            .find(|(k, _)| k == "location")
            .map(|(_, l)| l.clone());
        hop.location = raw_location.as_deref().map(escape_bytes);
        let is_redirect = (300..400).contains(&status);
        if is_redirect {
            // Headers only: a redirect's body is never read.
            f.fingerprints
                .extend(fingerprints::classify(&fingerprints::Response {
                    headers: &headers,
                    status: Some(status),
                    body: None,
                    url: &url,
                }));
        }
        let location = raw_location.map(|l| {
            l.iter()
                .map(|&b| {
                    if b.is_ascii_graphic() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect::<String>()
        });
        f.status = Some(status);
        f.url = url.to_string();
        if is_redirect {
            hop.elapsed_ms = hop_start.elapsed().as_millis() as u64;
            f.hops.push(hop);
            // Boulder checks the count first, before the status and the target.
            if redirects_exceeded(f.hops.len()) {
                f.error = Some((
                    Phase::Http,
                    format!(
                        "Too many redirects (a CA follows {} at most)",
                        MAX_REDIRECTS + 1
                    ),
                ));
                f.redirect_refused = true;
                return f;
            }
            if !matches!(status, 301 | 302 | 307 | 308) {
                f.error = Some((
                    Phase::Http,
                    format!("received disallowed redirect status code {status}"),
                ));
                f.redirect_refused = true;
                return f;
            }
            let Some(loc) = location else {
                f.error = Some((
                    Phase::Http,
                    format!("redirect {status} without a Location header"),
                ));
                f.redirect_refused = true;
                return f;
            };
            let next = match url.join(&loc) {
                Ok(n) => n,
                Err(e) => {
                    f.error = Some((
                        Phase::Http,
                        format!(
                            "invalid redirect target {:?}: {e}",
                            escape_bytes(loc.as_bytes())
                        ),
                    ));
                    f.redirect_refused = true;
                    return f;
                }
            };
            if !matches!(next.scheme(), "http" | "https") {
                f.error = Some((
                    Phase::Http,
                    format!(
                        "redirect to {} is not allowed: only http and https",
                        next.scheme()
                    ),
                ));
                f.redirect_refused = true;
                return f;
            }
            match effective_port(&next, v.net().http_port) {
                Some(80 | 443) => {}
                other => {
                    f.error = Some((
                        Phase::Http,
                        format!(
                            "Invalid port in redirect target. Only ports 80 and 443 are supported, not {}",
                            other.map_or("none".into(), |p| p.to_string())
                        ),
                    ));
                    f.redirect_refused = true;
                    return f;
                }
            }
            if let Some(why) = redirect_target_refusal(&next) {
                f.error = Some((Phase::Http, why));
                f.redirect_refused = true;
                return f;
            }
            if seen.contains(next.as_str()) {
                f.error = Some((Phase::Http, format!("Redirect loop detected at {next}")));
                f.redirect_refused = true;
                return f;
            }
            url = next;
            continue;
        }
        let body = resp.body(READ_CAP).await;
        hop.elapsed_ms = hop_start.elapsed().as_millis() as u64;
        f.hops.push(hop);
        f.fingerprints
            .extend(fingerprints::classify(&fingerprints::Response {
                headers: &headers,
                status: Some(status),
                body: body.as_ref().ok().map(|(b, _)| b.as_slice()),
                url: &url,
            }));
        match body {
            Ok(b) => f.body = Some(b),
            Err(e) => {
                let phase = if e.to_ascii_lowercase().contains("timed out") {
                    Phase::Timeout
                } else {
                    Phase::Http
                };
                f.error = Some((phase, format!("reading the body: {e}")));
            }
        }
        return f;
    }
}

fn describe_error(
    phase: Phase,
    connect: Option<ConnectFailure>,
    e: &reqwest::Error,
    via_socks: bool,
) -> String {
    let detail = h::error_text(e);
    match phase {
        // Through SOCKS the proxy waits for the origin before it answers: a silent proxy and a
        // firewall dropping that region's packets look the same from here.
        Phase::Timeout if via_socks => format!(
            "Timeout during connect through the proxy (the origin or the proxy did not answer; likely firewall problem): {detail}"
        ),
        Phase::Timeout if e.is_connect() => {
            format!("Timeout during connect (likely firewall problem): {detail}")
        }
        Phase::Timeout => {
            format!("Timeout after connect (your server may be slow or overloaded): {detail}")
        }
        Phase::Connect if connect == Some(ConnectFailure::Refused) => {
            format!("Connection refused: {detail}")
        }
        Phase::Proxy => format!("the perspective's proxy failed: {detail}"),
        Phase::Tls => format!(
            "TLS handshake failed (a CA needs TLS 1.2 or later and ignores certificate errors): {detail}"
        ),
        _ => detail,
    }
}

/// Bytes of a body kept as an escaped excerpt (the rest is only hashed and counted).
const BODY_EXCERPT: usize = 160;
/// Bytes kept of a body that came from a redirect target.
const REDIRECTED_BODY_EXCERPT: usize = 64;

fn to_observation(v: &Vantage, f: Fetched, plan: &Plan, start: Instant) -> Observation {
    let mut o = blank(&v.spec.name, Check::Http01);
    o.elapsed_ms = start.elapsed().as_millis() as u64;
    let (bytes, truncated) = f.body.clone().unwrap_or_default();
    let facts = HttpFacts {
        url: f
            .hops
            .first()
            .map_or_else(|| f.url.clone(), |h| h.url.clone()),
        via: v.spec.http.to_string(),
        user_agent: plan.user_agent.clone(),
        hops: f.hops.clone(),
        status: f.status,
        body_prefix: f.body.as_ref().map(|_| {
            // A body from a redirect target may come from anywhere the domain pointed at: only a
            // short excerpt of it is kept (enough to recognise an error page), never its content.
            let keep = if f.hops.len() > 1 {
                REDIRECTED_BODY_EXCERPT
            } else {
                BODY_EXCERPT
            };
            escape_bytes(&bytes[..bytes.len().min(keep)])
        }),
        body_len: f.body.as_ref().map(|_| bytes.len() as u64),
        body_sha256: f.body.as_ref().map(|_| hex(&Sha256::digest(&bytes))),
        body_truncated: truncated,
        alt_user_agent: None,
    };
    o.http = Some(facts);
    o.refused.clone_from(&f.refused);
    let mut prints = f.fingerprints.clone();
    prints.sort();
    prints.dedup_by(|a, b| a.kind == b.kind && a.product == b.product);
    o.fingerprints = prints;
    let redirects = f.hops.len().saturating_sub(1);
    let via = if redirects > 0 {
        format!(" after {redirects} redirect(s)")
    } else {
        String::new()
    };
    if let Some((phase, msg)) = f.error {
        o.phase = Some(phase);
        o.perspective_fault = phase == Phase::Proxy;
        if f.out_of_files {
            o.perspective_fault = true;
            o.tool_fault = Some(crate::observation::ToolFault::OutOfFiles);
            o.summary = format!("{}: {msg}", h::out_of_files_summary("HTTP"));
            o.signature = Signature::Failed(phase);
            return o;
        }
        o.connect_failure = f.connect.filter(|c| {
            phase == Phase::Connect || (phase == Phase::Http && *c == ConnectFailure::Reset)
        });
        o.summary = msg;
        o.signature = match (phase, f.status) {
            _ if f.redirect_refused => Signature::RedirectDisallowed,
            (Phase::Http, Some(s)) => Signature::HttpError(s),
            _ => Signature::Failed(phase),
        };
        return o;
    }
    let status = f.status.unwrap_or(0);
    judge_final(
        &mut o,
        status,
        &bytes,
        truncated,
        plan.expect_body.as_deref(),
        &f.url,
        &via,
    );
    o
}

/// Judges the final response of a chain as a CA would and records it on `o`: with a known body,
/// status exactly 200, under 128 bytes, equal after trimming trailing whitespace (bytes compared
/// and shown as sent); with a random token, the origin's 404 (or a catch-all 200). Shared with the
/// remote engines so equal answers get equal signatures wherever they were fetched.
pub fn judge_final(
    o: &mut Observation,
    status: u16,
    bytes: &[u8],
    truncated: bool,
    expect: Option<&str>,
    url: &str,
    via: &str,
) {
    match expect {
        Some(expect) => {
            let raw = trim_end_unicode_space(bytes);
            if status != 200 {
                o.phase = Some(Phase::Http);
                o.summary = format!("Invalid response from {url}: {status}");
                o.signature = Signature::Status(status);
            } else if truncated || bytes.len() >= BODY_LIMIT {
                o.phase = Some(Phase::Http);
                o.summary = format!(
                    "body is {}{} bytes; a CA reads fewer than {BODY_LIMIT}",
                    if truncated { "over " } else { "" },
                    bytes.len()
                );
                o.signature = Signature::BodyTooLarge;
            } else if raw != expect.trim_end().as_bytes() {
                o.summary = format!(
                    "The key authorization file from the server did not match this challenge. Expected \"{}\" (got \"{}\")",
                    escape_bytes(expect.as_bytes()),
                    escape_bytes(raw)
                );
                o.signature = Signature::Mismatch(hex(&Sha256::digest(raw)));
            } else {
                o.ok = true;
                o.summary = format!("200, expected body{via}");
                o.signature = Signature::Expected;
            }
        }
        None => {
            // Random token: the origin should answer 404 (or 200 from a catch-all); anything else
            // would also stop a real challenge.
            o.signature = Signature::Status(status);
            if status == 404 || status == 200 {
                o.ok = true;
                o.summary = format!("{status} from the origin{via} (random token)");
            } else {
                o.phase = Some(Phase::Http);
                o.summary = format!("Invalid response from {url}: {status}{via}");
            }
        }
    }
}

/// Whether a chain that has received `redirect_responses` redirects (the current one included)
/// must stop: Boulder's callback (`va/http.go`, `processHTTPValidation`, `processRedirect`) tests
/// `numRedirects > maxRedirect` with the count of redirects already followed, then increments.
pub fn redirects_exceeded(redirect_responses: usize) -> bool {
    redirect_responses.saturating_sub(1) > MAX_REDIRECTS
}

/// What Boulder refuses in a redirect target beyond scheme and port (`va/http.go`,
/// `extractRequestTarget` and `processRedirect`): a host ending in `.well-known` (a redirect
/// missing its `/`), and a path longer than `maxPathSize` bytes once percent-decoded (Go compares
/// `len(req.URL.Path)`, the decoded path). An IP-literal target is *followed* when the address is
/// not reserved (Boulder returns an IP identifier for it); the address policy checks that on the
/// next hop. Boulder also requires a name under an IANA TLD, which is left out here: test and
/// lab names live under `.test`.
fn redirect_target_refusal(next: &Url) -> Option<String> {
    if let Some(url::Host::Domain(d)) = next.host()
        && d.trim_end_matches('.').ends_with(".well-known")
    {
        return Some(format!(
            "Invalid host in redirect target {d:?}. Check webserver config for missing '/' in redirect target."
        ));
    }
    let len = decoded_len(next.path());
    (len > MAX_REDIRECT_PATH).then(|| {
        format!("Redirect target too long: its path is {len} bytes, a CA accepts {MAX_REDIRECT_PATH} at most")
    })
}

/// Bytes of a percent-encoded path once decoded (`%XX` counts one byte).
fn decoded_len(path: &str) -> usize {
    let b = path.as_bytes();
    let (mut i, mut n) = (0, 0);
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && b[i + 1].is_ascii_hexdigit()
            && b[i + 2].is_ascii_hexdigit()
        {
            i += 3;
        } else {
            i += 1;
        }
        n += 1;
    }
    n
}

/// The body with trailing white space removed as Boulder does (`va/http.go`, `validateHTTP01`:
/// `strings.TrimRightFunc(string(body), unicode.IsSpace)`). Go's `unicode.IsSpace` is Unicode's
/// White_Space property (U+0085, U+00A0, U+2000–U+200A, U+3000, … besides ASCII), the same set
/// as Rust's `char::is_whitespace`. Bytes that are not UTF-8 end the trimming (Go decodes them as
/// U+FFFD, which is not a space).
pub fn trim_end_unicode_space(bytes: &[u8]) -> &[u8] {
    let mut end = bytes.len();
    'outer: while end > 0 {
        for width in 1..=4.min(end) {
            if let Ok(s) = std::str::from_utf8(&bytes[end - width..end])
                && let Some(c) = s.chars().next()
            {
                if c.is_whitespace() {
                    end -= width;
                    continue 'outer;
                }
                break 'outer;
            }
        }
        break;
    }
    &bytes[..end]
}

/// The header that shows an answer came from a cache (`Age` above 0, or an `X-Cache`,
/// `X-Cache-Status` or `CF-Cache-Status` saying HIT), as `name: value`; headers as a hop keeps
/// them (names lower case).
pub fn cache_hit(headers: &[(String, String)]) -> Option<String> {
    let get = |k: &str| {
        headers
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
    };
    ["x-cache", "cf-cache-status", "x-cache-status"]
        .iter()
        .find_map(|k| {
            get(k)
                .filter(|v| v.to_ascii_lowercase().contains("hit"))
                .map(|v| format!("{k}: {v}"))
        })
        .or_else(|| {
            get("age")
                .filter(|a| a.parse::<u64>().is_ok_and(|n| n > 0))
                .map(|a| format!("age: {a}"))
        })
}

/// Lower-case hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Timeout helper for callers that bound a whole check.
pub fn deadline(per_step: Duration) -> Duration {
    per_step * (MAX_REDIRECTS as u32 + 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_white_space_is_unicode_white_space() {
        let t = |b: &[u8]| trim_end_unicode_space(b).to_vec();
        assert_eq!(t(b"abc \t\r\n"), b"abc");
        // NEL, NBSP, EN QUAD, IDEOGRAPHIC SPACE: white space in Go's unicode.IsSpace.
        assert_eq!(t("abc\u{85}\u{a0}\u{2000}\u{3000}".as_bytes()), b"abc");
        // ZERO WIDTH SPACE is not White_Space; invalid UTF-8 stops the trim.
        assert_eq!(t("abc\u{200b}".as_bytes()), "abc\u{200b}".as_bytes());
        assert_eq!(t(b"abc\xff "), b"abc\xff");
        assert_eq!(t(b"  "), b"");
    }

    #[test]
    fn redirect_count_and_path_follow_boulder() {
        assert!(!redirects_exceeded(11));
        assert!(redirects_exceeded(12));
        let long = |n: usize| Url::parse(&format!("http://a.test/{}", "x".repeat(n - 1))).unwrap();
        assert!(redirect_target_refusal(&long(2000)).is_none());
        assert!(redirect_target_refusal(&long(2001)).is_some());
        // Percent-encoded bytes count once, as in Go's decoded `URL.Path`.
        let enc = Url::parse(&format!("http://a.test/{}", "%41".repeat(1999))).unwrap();
        assert!(redirect_target_refusal(&enc).is_none());
        let wk = Url::parse("http://example.test.well-known/acme-challenge/x").unwrap();
        assert!(
            redirect_target_refusal(&wk)
                .unwrap()
                .contains("missing '/'")
        );
    }
}
