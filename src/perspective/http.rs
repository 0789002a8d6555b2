//! HTTP as one perspective sees it: a reqwest client per fetch that leaves through the
//! perspective's proxy (or directly), resolves names through the perspective's own DNS view, never
//! follows redirects on its own (the HTTP-01 engine follows them under the CA's rules, hop by
//! hop), accepts any certificate after a redirect to https (as CAs do) but only TLS 1.2+, and
//! never reads more body than a small bound. Errors are classified into the observation phases so
//! a dead proxy is never blamed on the domain.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::{HttpSpec, ProxyKind};
use crate::observation::{ConnectFailure, Phase};

/// Largest `doh_ca` bundle read (a CA bundle is a few hundred KiB at most).
const MAX_DOH_CA_BYTES: u64 = 1 << 20;

/// A name→addresses map the client uses instead of any system resolver. Built from the
/// perspective's DNS answers, so a fetch connects where that perspective's view points.
#[derive(Debug, Clone, Default)]
pub struct Pins {
    /// Lower-case host name → addresses in the order to try.
    pub map: Vec<(String, Vec<IpAddr>)>,
    /// The proxy's own host name, which the host's resolver may resolve (the user named it).
    pub proxy_host: Option<String>,
}

impl Pins {
    fn lookup(&self, host: &str) -> Option<Vec<IpAddr>> {
        let h = host.trim_end_matches('.').to_ascii_lowercase();
        // An address in the URL (a pinned fetch) resolves to itself; reqwest's SOCKS path asks.
        if let Ok(ip) = h
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            return Some(vec![ip]);
        }
        self.map
            .iter()
            .find(|(n, _)| *n == h)
            .map(|(_, a)| a.clone())
    }
}

/// The resolver handed to reqwest: pinned names answer from the map; any other name (a redirect
/// to a host this perspective has not resolved) fails plainly rather than leak to the system
/// resolver, because the engine resolves redirect targets itself before each hop.
#[derive(Debug)]
struct PinResolver(Pins);

impl reqwest::dns::Resolve for PinResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let found = self.0.lookup(name.as_str());
        let host = name.as_str().to_string();
        if self.0.proxy_host.as_deref() == Some(host.as_str()) {
            return Box::pin(async move {
                let addrs: Vec<SocketAddr> =
                    tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
                let it: reqwest::dns::Addrs = Box::new(addrs.into_iter());
                Ok(it)
            });
        }
        Box::pin(async move {
            match found {
                Some(addrs) if !addrs.is_empty() => {
                    let it: reqwest::dns::Addrs =
                        Box::new(addrs.into_iter().map(|ip| SocketAddr::new(ip, 0)));
                    Ok(it)
                }
                _ => Err(format!("{host} has no address in this perspective's DNS view").into()),
            }
        })
    }
}

/// Timeouts of one fetch.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// TCP (and proxy) connect.
    pub connect: Duration,
    /// Whole request including the capped body read.
    pub total: Duration,
}

/// Whether a secret (API key, token) sent to `u` would cross a network unencrypted: plain http to
/// anything but this machine. Loopback stays allowed for local deployments and test servers.
pub(crate) fn sends_in_clear_text(u: &url::Url) -> bool {
    let local = match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    u.scheme() == "http" && !local
}

/// Builds a client for one perspective and one set of pins.
pub fn client(spec: &HttpSpec, mut pins: Pins, t: Timeouts) -> Result<reqwest::Client, String> {
    if let HttpSpec::Proxy { url, .. } = spec {
        pins.proxy_host = url
            .host_str()
            .filter(|h| h.parse::<IpAddr>().is_err())
            .map(str::to_ascii_lowercase);
    }
    let mut b = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .tls_danger_accept_invalid_certs(true)
        .tls_danger_accept_invalid_hostnames(true)
        .tls_version_min(reqwest::tls::Version::TLS_1_2)
        .http1_only()
        .pool_max_idle_per_host(0)
        // One request per fresh connection, bounded by `total`: keepalive probes and a user
        // timeout could never fire, and cost five system calls per connection.
        .tcp_keepalive(None)
        .tcp_keepalive_interval(None)
        .tcp_keepalive_retries(None)
        .tcp_user_timeout(None)
        .connect_timeout(t.connect)
        .read_timeout(t.total)
        .timeout(t.total)
        .dns_resolver(Arc::new(PinResolver(pins)));
    if let HttpSpec::Proxy { url, .. } = spec {
        let p = reqwest::Proxy::all(url.as_str()).map_err(|e| error_text(&e))?;
        b = b.proxy(p);
    }
    b.build().map_err(|e| error_text(&e))
}

/// A client for DNS over HTTPS with certificate verification (real trust store), through the
/// perspective's proxy. Name resolution of the DoH host uses the system resolver only for a
/// direct connection; through socks5h/HTTP proxies the proxy resolves it.
pub fn doh_client(
    spec: &HttpSpec,
    extra_ca: Option<&std::path::Path>,
    timeout: Duration,
) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout)
        .timeout(timeout);
    if let HttpSpec::Proxy { url, kind } = spec {
        let mut u = url.clone();
        // DoH through socks5 would resolve the DoH host locally; socks5h keeps it at the proxy,
        // which is what a remote perspective means.
        if *kind == ProxyKind::Socks5 {
            let _ = u.set_scheme("socks5h");
        }
        b = b.proxy(reqwest::Proxy::all(u.as_str()).map_err(|e| error_text(&e))?);
    }
    if let Some(path) = extra_ca {
        let pem = crate::text::read_file_capped(path, MAX_DOH_CA_BYTES)
            .map_err(|e| format!("doh_ca {}: {e}", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            format!(
                "doh_ca {}: not a PEM certificate bundle: {e}",
                path.display()
            )
        })?;
        if certs.is_empty() {
            return Err(format!(
                "doh_ca {}: no certificate in the file",
                path.display()
            ));
        }
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    b.build().map_err(|e| error_text(&e))
}

/// The whole error chain on one line, without duplicates.
pub fn error_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let mut s = err.to_string();
        // reqwest repeats the whole URL; the observation already records it.
        if s.starts_with("error sending request for url") {
            s = "error sending request".into();
        }
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = err.source();
    }
    parts.join(": ")
}

/// Whether the failure is the proxy's own (unreachable, auth, policy), as opposed to the proxy
/// reporting that the target refused or could not be reached.
pub fn is_proxy_error(e: &reqwest::Error) -> bool {
    let t = error_text(e).to_ascii_lowercase();
    let via_proxy = t.contains("socks") || t.contains("proxy") || t.contains("tunnel");
    // REP 1 "general server failure" is the proxy's own (as on the DNS side).
    let target_side = [
        "connection refused",
        "host unreachable",
        "network unreachable",
        "ttl expired",
    ]
    .iter()
    .any(|s| t.contains(&format!("socks error: {s}")));
    via_proxy && !target_side
}

/// How a connection attempt failed, for an error of phase `connect`: the OS error kind in the
/// chain when there is one, else the words a SOCKS or HTTP proxy reports on the target's behalf
/// (those arrive as text only). This is the one place such text is read.
pub fn connect_failure_of(e: &reqwest::Error) -> Option<ConnectFailure> {
    use std::io::ErrorKind as K;
    if error_text(e).to_ascii_lowercase().contains("refused") {
        return Some(ConnectFailure::Refused);
    }
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            match io.kind() {
                K::ConnectionRefused => return Some(ConnectFailure::Refused),
                K::ConnectionReset | K::ConnectionAborted => return Some(ConnectFailure::Reset),
                K::HostUnreachable | K::NetworkUnreachable => {
                    return Some(ConnectFailure::Unreachable);
                }
                _ => {}
            }
        }
        cur = err.source();
    }
    None
}

/// Whether an error chain holds the OS saying this process (EMFILE) or the whole system
/// (ENFILE) has no file descriptor left: the tool's own fault, never the server's.
pub fn out_of_files(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io_out_of_files(io)
        {
            return true;
        }
        cur = err.source();
    }
    false
}

/// [`out_of_files`] for one I/O error.
pub fn io_out_of_files(e: &std::io::Error) -> bool {
    let code = e.raw_os_error();
    code == Some(rustix::io::Errno::MFILE.raw_os_error())
        || code == Some(rustix::io::Errno::NFILE.raw_os_error())
}

/// How every summary of a failure for want of file descriptors starts (the tool's own words,
/// which [`crate::perspective::dns::failure_kind`] and the checks recognise).
pub const OUT_OF_FILES: &str = "mpic-check ran out of open files";

/// The one-line summary of a failure for want of file descriptors, with the remedy.
pub fn out_of_files_summary(what: &str) -> String {
    format!(
        "{OUT_OF_FILES} ({what}): raise the limit (ulimit -n) or lower --concurrency; not the domain's fault"
    )
}

/// Maps a reqwest error to an observation phase.
pub fn phase_of(e: &reqwest::Error) -> Phase {
    let text = error_text(e).to_ascii_lowercase();
    if is_proxy_error(e) {
        Phase::Proxy
    } else if e.is_timeout() || text.contains("timed out") {
        Phase::Timeout
    } else if text.contains("tls")
        || text.contains("certificate")
        || text.contains("handshake")
        // rustls words a server's alert (e.g. `protocol_version` from a TLS 1.1-only server) and
        // a version it cannot speak without saying "tls".
        || text.contains("fatal alert")
        || text.contains("peer is incompatible")
    {
        Phase::Tls
    } else if e.is_connect() {
        Phase::Connect
    } else if text.contains("invalid http version")
        || text.contains("parse")
        || text.contains("invalid")
    {
        Phase::Protocol
    } else {
        Phase::Http
    }
}

/// Reads at most `cap` bytes of the body; returns the bytes and whether more were available.
pub async fn read_capped(
    mut resp: reqwest::Response,
    cap: usize,
) -> Result<(Vec<u8>, bool), String> {
    let mut out = Vec::new();
    if resp.content_length().is_some_and(|l| l as usize > cap) {
        // Still read the first bytes so the report can show what the page was.
        if let Some(c) = resp.chunk().await.map_err(|e| error_text(&e))? {
            out.extend_from_slice(&c[..c.len().min(cap)]);
        }
        return Ok((out, true));
    }
    while let Some(c) = resp.chunk().await.map_err(|e| error_text(&e))? {
        let room = cap - out.len();
        if c.len() > room {
            out.extend_from_slice(&c[..room]);
            return Ok((out, true));
        }
        out.extend_from_slice(&c);
    }
    Ok((out, false))
}

/// Checks that a perspective's proxy answers at all (TCP connect, and for SOCKS5 the method
/// negotiation), so a dead proxy is reported once as the tool's problem instead of as a wall of
/// per-check failures blamed on the domain.
pub async fn proxy_preflight(spec: &HttpSpec, timeout: Duration) -> Result<(), String> {
    let HttpSpec::Proxy { url, kind } = spec else {
        return Ok(());
    };
    let host = crate::text::bare_host(url);
    let port = url.port().unwrap_or(1080);
    let shown = crate::config::redact_url(url);
    let work = async {
        let mut s = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| format!("proxy {shown} unreachable: {e}"))?;
        if matches!(kind, ProxyKind::Socks5 | ProxyKind::Socks5h) {
            let with_auth = !url.username().is_empty();
            let hello: &[u8] = if with_auth { &[5, 2, 0, 2] } else { &[5, 1, 0] };
            s.write_all(hello)
                .await
                .map_err(|e| format!("proxy {shown}: {e}"))?;
            let mut r = [0u8; 2];
            s.read_exact(&mut r)
                .await
                .map_err(|e| format!("proxy {shown} did not answer the SOCKS5 greeting: {e}"))?;
            if r[0] != 5 || r[1] == 0xff {
                return Err(format!(
                    "proxy {shown} is not a SOCKS5 proxy or accepts none of our auth methods"
                ));
            }
        }
        Ok(())
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(format!("proxy {shown} did not answer within {timeout:?}")),
    }
}

/// A response read without reqwest (through an explicit CONNECT tunnel).
#[derive(Debug)]
pub struct RawReply {
    /// Status code.
    pub status: u16,
    /// Header names (lower case) and raw values.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body up to the cap, and whether more was available; or why reading failed.
    pub body: Result<(Vec<u8>, bool), String>,
}

/// Opens a tunnel to `target` (`host:port`) through an HTTP proxy with `CONNECT`, within
/// `connect_timeout` for the connection and again for the proxy's answer. The proxy's own
/// failures are `proxy`; a 502–504 (the proxy reached out and failed) is the target's `connect`.
/// Shared by HTTP-01 (below) and TLS-ALPN-01 (`perspective::tls`).
pub async fn connect_tunnel(
    proxy: &url::Url,
    target: &str,
    connect_timeout: Duration,
) -> Result<tokio::net::TcpStream, (Phase, String)> {
    use base64::Engine as _;
    let shown = crate::config::redact_url(proxy);
    let ph = crate::text::bare_host(proxy);
    let port = proxy.port().unwrap_or(8080);
    let proxy_err = |m: String| (Phase::Proxy, m);
    let mut stream = tokio::time::timeout(
        connect_timeout,
        tokio::net::TcpStream::connect((ph.as_str(), port)),
    )
    .await
    .map_err(|_| {
        proxy_err(format!(
            "proxy {shown} did not accept a connection within {:?}",
            connect_timeout
        ))
    })?
    .map_err(|e| proxy_err(format!("proxy {shown} unreachable: {e}")))?;
    let mut head = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if !proxy.username().is_empty() {
        let user = url::form_urlencoded::parse(format!("u={}", proxy.username()).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let pass =
            url::form_urlencoded::parse(format!("p={}", proxy.password().unwrap_or("")).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        head.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    head.push_str("\r\n");
    let handshake = async {
        stream
            .write_all(head.as_bytes())
            .await
            .map_err(|e| proxy_err(format!("proxy {shown}: {e}")))?;
        // Read the proxy's reply head byte by byte so no tunnelled byte is consumed.
        let mut reply = Vec::new();
        while !reply.ends_with(b"\r\n\r\n") {
            if reply.len() > 8192 {
                return Err(proxy_err(format!(
                    "proxy {shown} sent an oversized CONNECT reply"
                )));
            }
            let mut b = [0u8; 1];
            let n = stream
                .read(&mut b)
                .await
                .map_err(|e| proxy_err(format!("proxy {shown}: {e}")))?;
            if n == 0 {
                return Err(proxy_err(format!(
                    "proxy {shown} closed the connection during CONNECT"
                )));
            }
            reply.push(b[0]);
        }
        let line = String::from_utf8_lossy(&reply)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        let code: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        match code {
            200..=299 => Ok(()),
            // The proxy reached out and failed: that is the target's side.
            502..=504 => Err((
                Phase::Connect,
                format!("the proxy could not connect to {target}: {line}"),
            )),
            _ => Err(proxy_err(format!(
                "proxy {shown} refused CONNECT {target}: {line}"
            ))),
        }
    };
    tokio::time::timeout(connect_timeout, handshake)
        .await
        .map_err(|_| {
            proxy_err(format!(
                "proxy {shown} did not answer CONNECT within {:?}",
                connect_timeout
            ))
        })??;
    Ok(stream)
}

/// Fetches `path` from `target` through an HTTP proxy with an explicit `CONNECT target` — the
/// only way to make an HTTP proxy connect to an address this perspective chose (for `http://`
/// URLs a proxy otherwise resolves the name itself). The request carries `host` in its Host
/// header, exactly as a CA's would.
pub async fn connect_fetch(
    proxy: &url::Url,
    target: SocketAddr,
    host: &str,
    path: &str,
    user_agent: &str,
    t: Timeouts,
    cap: usize,
) -> Result<RawReply, (Phase, String)> {
    use http_body_util::BodyExt;
    let stream = connect_tunnel(proxy, &target.to_string(), t.connect).await?;
    let exchange = async {
        let io = hyper_util::rt::TokioIo::new(stream);
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake::<_, http_body_util::Empty<bytes::Bytes>>(io)
                .await
                .map_err(|e| (Phase::Protocol, e.to_string()))?;
        tokio::spawn(conn);
        let req = hyper::Request::get(path)
            .header("host", host)
            .header("user-agent", user_agent)
            .header("accept", "*/*")
            .body(http_body_util::Empty::new())
            .map_err(|e| (Phase::Protocol, e.to_string()))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| (Phase::Http, e.to_string()))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_ascii_lowercase(), v.as_bytes().to_vec()))
            .collect();
        let mut body = resp.into_body();
        let mut out = Vec::new();
        let mut truncated = false;
        let read = loop {
            match body.frame().await {
                None => break Ok(()),
                Some(Err(e)) => break Err(e.to_string()),
                Some(Ok(f)) => {
                    if let Ok(d) = f.into_data() {
                        let room = cap - out.len();
                        if d.len() > room {
                            out.extend_from_slice(&d[..room]);
                            truncated = true;
                            break Ok(());
                        }
                        out.extend_from_slice(&d);
                    }
                }
            }
        };
        Ok(RawReply {
            status,
            headers,
            body: read.map(|()| (out, truncated)),
        })
    };
    tokio::time::timeout(t.total, exchange)
        .await
        .map_err(|_| (Phase::Timeout, format!("Timeout after connect (your server may be slow or overloaded): no response within {:?}", t.total)))?
}

/// A response from reqwest or from an explicit CONNECT tunnel.
#[derive(Debug)]
pub enum Reply {
    /// Through a reqwest client.
    Reqwest(reqwest::Response),
    /// Through a CONNECT tunnel read by hand.
    Raw(RawReply),
}

impl Reply {
    /// The status code.
    pub fn status(&self) -> u16 {
        match self {
            Reply::Reqwest(r) => r.status().as_u16(),
            Reply::Raw(r) => r.status,
        }
    }

    /// Every header, names lower-cased, values as bytes.
    pub fn headers(&self) -> Vec<(String, Vec<u8>)> {
        match self {
            Reply::Reqwest(r) => r
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_ascii_lowercase(), v.as_bytes().to_vec()))
                .collect(),
            Reply::Raw(r) => r.headers.clone(),
        }
    }

    /// The body, at most `cap` bytes, and whether there was more.
    pub async fn body(self, cap: usize) -> Result<(Vec<u8>, bool), String> {
        match self {
            Reply::Reqwest(r) => read_capped(r, cap).await,
            Reply::Raw(r) => r.body,
        }
    }
}

/// One GET as a check wants it made; how it travels is this module's business.
#[derive(Debug)]
pub struct Get<'a> {
    /// The URL as the chain names it (its host goes in the Host header and SNI).
    pub url: &'a url::Url,
    /// The URL to request (the test-only port override applied).
    pub req_url: url::Url,
    /// The address this perspective chose for the host, when it pins addresses.
    pub pinned: Option<IpAddr>,
    /// Host → addresses for a client that resolves by name (HTTPS hops).
    pub pins: Pins,
    /// `host[:port]` for the Host header.
    pub host_with_port: &'a str,
    /// The User-Agent to send.
    pub user_agent: &'a str,
    /// Connect and total bounds.
    pub timeouts: Timeouts,
    /// Body bytes read at most.
    pub cap: usize,
}

/// Why one GET produced no response.
#[derive(Debug)]
pub enum GetError {
    /// The transport failed; the caller words it (the CA's messages live in the checks).
    Transport(reqwest::Error),
    /// Anything else, already worded.
    Failed(Phase, String),
}

impl super::Vantage {
    /// Whether this perspective's HTTP leaves through a SOCKS proxy (which waits for the origin
    /// before it answers, so a silent proxy and a dropped origin look alike).
    pub fn through_socks(&self) -> bool {
        matches!(
            &self.spec.http,
            HttpSpec::Proxy {
                kind: ProxyKind::Socks5 | ProxyKind::Socks5h,
                ..
            }
        )
    }

    /// Makes one GET from this perspective. The transport is chosen here: through an HTTP proxy
    /// to a pinned address, an explicit CONNECT tunnel (the proxy would resolve the name itself);
    /// plain HTTP through the perspective's one shared client with the pinned address in the URL
    /// and the name in the Host header; HTTPS through a client pinned by name (SNI needs it).
    pub async fn get(&self, g: Get<'_>) -> Result<Reply, GetError> {
        let Get {
            url,
            mut req_url,
            pinned,
            pins,
            host_with_port,
            user_agent,
            timeouts,
            cap,
        } = g;
        if let (
            Some(ip),
            HttpSpec::Proxy {
                kind: ProxyKind::Http,
                url: proxy,
            },
        ) = (pinned, &self.spec.http)
            && url.scheme() == "http"
        {
            let port = req_url.port_or_known_default().unwrap_or(80);
            let path = match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_string(),
            };
            return connect_fetch(
                proxy,
                SocketAddr::new(ip, port),
                host_with_port,
                &path,
                user_agent,
                timeouts,
                cap,
            )
            .await
            .map(Reply::Raw)
            .map_err(|(phase, m)| GetError::Failed(phase, m));
        }
        let mut host_header = None;
        let owned;
        let client = if url.scheme() == "http" {
            if let Some(ip) = pinned {
                let _ = req_url.set_ip_host(ip);
                host_header = Some(host_with_port.to_string());
            }
            self.http_client().map_err(|e| {
                GetError::Failed(Phase::Protocol, format!("cannot build HTTP client: {e}"))
            })?
        } else {
            owned = client(&self.spec.http, pins, timeouts).map_err(|e| {
                GetError::Failed(Phase::Protocol, format!("cannot build HTTP client: {e}"))
            })?;
            &owned
        };
        let mut request = client
            .get(req_url)
            .header("user-agent", user_agent)
            .header("accept", "*/*");
        if let Some(h) = &host_header {
            request = request.header("host", h);
        }
        request
            .send()
            .await
            .map(Reply::Reqwest)
            .map_err(GetError::Transport)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_go_in_clear_text_only_to_this_machine() {
        let clear = |u: &str| sends_in_clear_text(&url::Url::parse(u).unwrap());
        assert!(clear("http://api.globalping.io/v1"));
        assert!(clear("http://192.0.2.1:8080/mpic"));
        assert!(clear("http://127.example/"));
        assert!(!clear("https://api.globalping.io/v1"));
        assert!(!clear("http://127.0.0.1:8080/"));
        assert!(!clear("http://127.3.4.5/"));
        assert!(!clear("http://[::1]:8080/"));
        assert!(!clear("http://LOCALHOST/"));
    }
}
