//! Minimal HTTP/1.1 origin for the integration tests: serves HTTP-01
//! challenge files, fixed responses and redirects, and can behave like a
//! hostile CDN or firewall (block by client address or User-Agent with a
//! status page, a silent hang or an immediate close).
//!
//! Hand-written on a tokio `TcpListener` on purpose: one request per
//! connection, then `Connection: close`, no keep-alive, no chunking, request
//! bodies ignored. Keeping the protocol handling explicit makes it easy to
//! add misbehaviour later without fighting a framework.
//!
//! The API is synchronous: each [`HttpOrigin`] runs on its own thread (see
//! [`super::ServerThread`]) and stops when dropped.

use std::fmt::Write as _;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::wire::{self, ReadError};
use super::{ServerThread, assert_loopback, bind_same_port};

/// Largest request head (request line + headers) and body accepted.
const LIMITS: wire::Limits = wire::DEFAULT_LIMITS;
/// How long a client may take to send its request head.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Upper bound for [`Block::Drop`]: a hung connection is released after this
/// even if the client never gives up.
const DROP_HOLD_MAX: Duration = Duration::from_secs(120);

/// A response to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resp {
    pub status: u16,
    /// Extra headers, sent as given. `Content-Type` defaults to `text/plain`
    /// when absent; `Content-Length` and `Connection: close` are always
    /// added by the server.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Write the body one byte per interval (a slow-drip server).
    pub drip: Option<Duration>,
}

impl Resp {
    /// `status` with a `text/plain` body.
    pub fn status(status: u16, body: &str) -> Resp {
        Resp {
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
            drip: None,
        }
    }

    /// A redirect (301/302/307/308...) to `location`, which may be relative.
    pub fn redirect(status: u16, location: &str) -> Resp {
        Resp::status(status, "").with_header("Location", location)
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Resp {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sends the body one byte per `every` (bounded by the client going away).
    pub fn with_drip(mut self, every: Duration) -> Resp {
        self.drip = Some(every);
        self
    }

    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Resp {
        self.body = body.into();
        self
    }
}

/// What a blocked client gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    /// This status with a small HTML block page (e.g. 403).
    Status(u16),
    /// Read the request, then say nothing until the client goes away (at
    /// most 120 s): a firewall that black-holes replies.
    Drop,
    /// Read the request, then close the connection without a reply.
    Close,
}

/// Cached answers of a CDN-like edge, by request target.
type EdgeCache = Arc<Mutex<Vec<(String, Resp)>>>;

/// What one origin address serves. Later rules win over earlier ones.
#[derive(Clone, Debug, Default)]
pub struct Site {
    routes: Vec<(String, Resp)>,
    webroot: Option<PathBuf>,
    source_blocks: Vec<(IpAddr, Block)>,
    /// Answers given to one source address instead of the routes (a WAF page for one region).
    source_routes: Vec<(IpAddr, Resp)>,
    ua_blocks: Vec<(String, Block)>,
    headers: Vec<(String, String)>,
    /// CDN-like cache of challenge-path answers (first answer per path is kept and replayed).
    cache: Option<EdgeCache>,
    cache_errors: bool,
    /// With a cache: 200 answers are not kept (a cache that keeps only 404s).
    cache_only_errors: bool,
    /// Emulated network round trip added before each response (see [`Site::latency`]).
    latency: Option<Duration>,
}

impl Site {
    /// Every path answers 404 `not found` until configured otherwise.
    pub fn new() -> Site {
        Site::default()
    }

    /// `path` answers 200 `text/plain` with `body`.
    pub fn file(self, path: &str, body: &str) -> Self {
        self.response(path, Resp::status(200, body))
    }

    /// `path` (exact match; the query string is part of the path unless no
    /// route matches it, then it is retried without) answers `resp`. A path
    /// ending in `*` matches every path with that prefix.
    pub fn response(mut self, path: &str, resp: Resp) -> Self {
        self.routes.push((path.to_owned(), resp));
        self
    }

    /// Serves `/.well-known/acme-challenge/<token>` from
    /// `dir/.well-known/acme-challenge/<token>`, read at request time, so a
    /// test (or the CLI under test) can write the file after start-up.
    /// Explicit routes take precedence; a missing file is a 404.
    pub fn webroot(mut self, dir: PathBuf) -> Self {
        self.webroot = Some(dir);
        self
    }

    /// Requests from this client address are blocked.
    pub fn block_source(mut self, src: IpAddr, how: Block) -> Self {
        self.source_blocks.push((src, how));
        self
    }

    /// Requests whose User-Agent contains `needle` (ASCII case-insensitive)
    /// are blocked. Checked after [`Site::block_source`].
    pub fn block_user_agent(mut self, needle: &str, how: Block) -> Self {
        self.ua_blocks.push((needle.to_ascii_lowercase(), how));
        self
    }

    /// Plays a CDN edge: the first 200 answer for each `/.well-known/acme-challenge/` path is
    /// cached and replayed with `Age` and `X-Cache: HIT`, whatever the origin has now.
    pub fn caching(mut self) -> Self {
        self.cache = Some(Arc::new(Mutex::new(Vec::new())));
        self
    }

    /// Like [`Site::caching`], but 404s are cached too (a negative-caching CDN).
    pub fn caching_errors(mut self) -> Self {
        self.cache_errors = true;
        self.caching()
    }

    /// A negative-caching edge that keeps only 404s (200s always go to the origin): a probe
    /// that fetches its own URL before writing the file poisons it; one that does not, passes.
    pub fn caching_only_404s(mut self) -> Self {
        self.cache_only_errors = true;
        self.caching_errors()
    }

    /// A header added to every response, block pages included (e.g. `Age`,
    /// `Cache-Control`, `X-Cache`, `Server`).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Delays every response by `rtt`, counted from the moment the request head has been read:
    /// one emulated network round trip per request (the kernel here has no netem, so latency is
    /// injected in the server, as `Behaviour::Delay` does for DNS). Block pages are delayed too;
    /// [`Block::Drop`] and [`Block::Close`] are not (they send nothing). Default: no delay.
    pub fn latency(mut self, rtt: Duration) -> Self {
        self.latency = Some(rtt);
        self
    }

    /// Answers every request from `src` with `resp` (what a WAF or geo rule shows one region).
    pub fn respond_to_source(mut self, src: IpAddr, resp: Resp) -> Self {
        self.source_routes.push((src, resp));
        self
    }

    fn block_for(&self, src: IpAddr, user_agent: Option<&str>) -> Option<Block> {
        if let Some((_, b)) = self.source_blocks.iter().rev().find(|(ip, _)| *ip == src) {
            return Some(*b);
        }
        let ua = user_agent?.to_ascii_lowercase();
        self.ua_blocks
            .iter()
            .rev()
            .find(|(needle, _)| ua.contains(needle.as_str()))
            .map(|(_, b)| *b)
    }

    fn route(&self, target: &str) -> Resp {
        let Some(cache) = &self.cache else {
            return self.route_origin(target);
        };
        if !target.starts_with("/.well-known/acme-challenge/") {
            return self.route_origin(target);
        }
        let mut c = cache.lock().unwrap();
        if let Some((_, r)) = c.iter().find(|(p, _)| p == target) {
            return r
                .clone()
                .with_header("Age", "120")
                .with_header("X-Cache", "HIT from test-edge");
        }
        let fresh = self.route_origin(target);
        if (fresh.status == 200 && !self.cache_only_errors)
            || (fresh.status != 200 && self.cache_errors)
        {
            c.push((target.to_owned(), fresh.clone()));
        }
        fresh.with_header("X-Cache", "MISS from test-edge")
    }

    fn route_origin(&self, target: &str) -> Resp {
        let find = |p: &str| {
            self.routes
                .iter()
                .rev()
                .find(|(r, _)| r == p || r.strip_suffix('*').is_some_and(|pre| p.starts_with(pre)))
                .map(|(_, x)| x)
        };
        let path = target.split_once('?').map_or(target, |(p, _)| p);
        if let Some(resp) = find(target).or_else(|| find(path)) {
            return resp.clone();
        }
        if let (Some(dir), Some(token)) = (
            &self.webroot,
            path.strip_prefix("/.well-known/acme-challenge/"),
        ) {
            // Only a single, plain path segment: never serve outside the
            // webroot.
            let safe = !token.is_empty()
                && token != "."
                && token != ".."
                && !token.contains(['/', '\\', '\0']);
            if safe {
                // std::fs, not tokio::fs: tokio::fs uses the blocking pool,
                // which would make runtime shutdown wait on it.
                let file = dir.join(".well-known/acme-challenge").join(token);
                if let Ok(body) = std::fs::read(file) {
                    return Resp::status(200, "").with_body(body);
                }
            }
        }
        Resp::status(404, "not found")
    }
}

/// One request as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestLog {
    /// Client address (a SOCKS proxy's egress address, a vantage point...).
    pub src: IpAddr,
    /// Address of the origin that took the connection.
    pub local: IpAddr,
    pub method: String,
    /// Request target exactly as sent (path plus query).
    pub path: String,
    pub host: Option<String>,
    pub user_agent: Option<String>,
    /// All request headers in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The block applied, if any.
    pub blocked: Option<Block>,
}

type RequestLogStore = Arc<Mutex<Vec<RequestLog>>>;

/// A running origin, one listener per address, all on the same port. Stops
/// when dropped.
#[derive(Debug)]
pub struct HttpOrigin {
    pub addrs: Vec<SocketAddr>,
    log: RequestLogStore,
    _thread: ServerThread,
}

fn bind_http(ip: IpAddr, port: u16) -> io::Result<(std::net::TcpListener, u16)> {
    let listener = std::net::TcpListener::bind((ip, port))?;
    listener.set_nonblocking(true)?;
    let port = listener.local_addr()?.port();
    Ok((listener, port))
}

impl HttpOrigin {
    /// Serves `site` on `ip` (127/8) with an ephemeral port.
    pub fn start(ip: IpAddr, site: Site) -> HttpOrigin {
        let listeners = bind_same_port(&[ip], bind_http).expect("bind HTTP listener on 127/8");
        Self::spawn(listeners.into_iter().zip([site]).collect())
    }

    /// Serves `make(ip)` on each address, all on one ephemeral port (a
    /// GeoDNS origin: each address may serve a different site).
    pub fn start_many(ips: &[IpAddr], make: impl Fn(IpAddr) -> Site) -> HttpOrigin {
        let listeners = bind_same_port(ips, bind_http).expect("bind HTTP listeners on 127/8");
        Self::spawn(
            listeners
                .into_iter()
                .zip(ips.iter().map(|ip| make(*ip)))
                .collect(),
        )
    }

    /// Like [`HttpOrigin::start_many`] on a given port, for tests that need
    /// a specific one (e.g. the port another origin already uses on other
    /// addresses). Fails instead of retrying when the port is taken. Besides 127/8 it accepts
    /// exactly `::1`, the IPv6 loopback (never a real interface): an AAAA origin that answers
    /// differently from the IPv4 one cannot be built otherwise (IPv4-mapped addresses are
    /// special-purpose, refused by the tool as by a CA).
    pub fn start_on_port(
        ips: &[IpAddr],
        port: u16,
        make: impl Fn(IpAddr) -> Site,
    ) -> io::Result<HttpOrigin> {
        let mut served = Vec::new();
        for ip in ips {
            if *ip != IpAddr::V6(std::net::Ipv6Addr::LOCALHOST) {
                assert_loopback(*ip);
            }
            served.push((bind_http(*ip, port)?.0, make(*ip)));
        }
        Ok(Self::spawn(served))
    }

    fn spawn(served: Vec<(std::net::TcpListener, Site)>) -> HttpOrigin {
        let addrs: Vec<SocketAddr> = served
            .iter()
            .map(|(l, _)| l.local_addr().expect("local addr"))
            .collect();
        let log = RequestLogStore::default();
        let task_log = log.clone();
        let thread = ServerThread::spawn(&format!("http-{}", addrs[0]), move || async move {
            let mut accept_loops = tokio::task::JoinSet::new();
            for (listener, site) in served {
                let listener = TcpListener::from_std(listener).expect("register listener");
                accept_loops.spawn(accept_loop(listener, Arc::new(site), task_log.clone()));
            }
            // Keep the loops owned here; they end when the runtime stops.
            while accept_loops.join_next().await.is_some() {}
        });
        HttpOrigin {
            addrs,
            log,
            _thread: thread,
        }
    }

    pub fn port(&self) -> u16 {
        self.addrs[0].port()
    }

    /// The first address.
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// `http://<first address><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addrs[0], path)
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RequestLog> {
        self.log.lock().unwrap().clone()
    }

    pub fn clear_requests(&self) {
        self.log.lock().unwrap().clear();
    }
}

async fn accept_loop(listener: TcpListener, site: Arc<Site>, log: RequestLogStore) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                tokio::spawn(serve_connection(stream, peer, site.clone(), log.clone()));
            }
            // E.g. EMFILE under a parallel test run: back off, keep serving.
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

async fn serve_connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    site: Arc<Site>,
    log: RequestLogStore,
) {
    let local = stream.local_addr().map_or(peer.ip(), |a| a.ip());
    // A TLS ClientHello (record type 0x16) on this plain-HTTP port gets the 400 a real server
    // sends at once (nginx, Apache), not a wait for a header end that never comes.
    let mut first = [0u8; 1];
    if let Ok(Ok(1)) = tokio::time::timeout(READ_TIMEOUT, stream.peek(&mut first)).await
        && first[0] == 0x16
    {
        let resp = Resp::status(400, "bad request");
        let _ = write_response(&mut stream, &site, &resp, false).await;
        return;
    }
    let mut buf = Vec::new();
    let read = wire::read_request(&mut stream, &mut buf, LIMITS);
    let head = match tokio::time::timeout(READ_TIMEOUT, read).await {
        Ok(Ok(head)) => head,
        // The origin is deliberately simple: any unreadable request is a 400.
        Ok(Err(ReadError::Reject(_))) => {
            let resp = Resp::status(400, "bad request");
            let _ = write_response(&mut stream, &site, &resp, false).await;
            return;
        }
        Ok(Err(ReadError::Gone)) | Err(_) => return,
    };
    let user_agent = head.header("User-Agent").map(str::to_owned);
    let blocked = site.block_for(peer.ip(), user_agent.as_deref());
    log.lock().unwrap().push(RequestLog {
        src: peer.ip(),
        local,
        method: head.method.clone(),
        path: head.target.clone(),
        host: head.header("Host").map(str::to_owned),
        user_agent,
        headers: head.headers.clone(),
        blocked,
    });
    let head_only = head.method.eq_ignore_ascii_case("HEAD");
    if let Some(rtt) = site.latency
        && !matches!(blocked, Some(Block::Drop | Block::Close))
    {
        tokio::time::sleep(rtt).await;
    }
    match blocked {
        Some(Block::Close) => {}
        Some(Block::Drop) => {
            // Hold the connection open, reading and discarding, until the
            // client closes it or the bound expires.
            let _ = tokio::time::timeout(DROP_HOLD_MAX, async {
                let mut sink = [0u8; 1024];
                while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
            })
            .await;
        }
        Some(Block::Status(code)) => {
            let page = format!(
                "<!DOCTYPE html>\n<html><head><title>{code} {reason}</title></head>\
                 <body><h1>{code} {reason}</h1><p>Request blocked by the test origin.</p>\
                 </body></html>\n",
                reason = reason(code)
            );
            let resp = Resp::status(code, &page).with_header("Content-Type", "text/html");
            let _ = write_response(&mut stream, &site, &resp, head_only).await;
        }
        None => {
            let resp = match site
                .source_routes
                .iter()
                .rev()
                .find(|(ip, _)| *ip == peer.ip())
            {
                Some((_, r)) => r.clone(),
                None => site.route(&head.target),
            };
            let _ = write_response(&mut stream, &site, &resp, head_only).await;
        }
    }
}

async fn write_response(
    stream: &mut TcpStream,
    site: &Site,
    resp: &Resp,
    head_only: bool,
) -> io::Result<()> {
    let mut out = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    let has = |name: &str| {
        resp.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    if !has("Content-Type") {
        out.push_str("Content-Type: text/plain; charset=utf-8\r\n");
    }
    for (name, value) in site.headers.iter().chain(&resp.headers) {
        let _ = write!(out, "{name}: {value}\r\n");
    }
    let _ = write!(out, "Content-Length: {}\r\n", resp.body.len());
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    if let (Some(every), false) = (resp.drip, head_only) {
        stream.write_all(&bytes).await?;
        for b in &resp.body {
            tokio::time::sleep(every).await;
            stream.write_all(std::slice::from_ref(b)).await?;
        }
        return stream.shutdown().await;
    }
    if !head_only {
        bytes.extend_from_slice(&resp.body);
    }
    stream.write_all(&bytes).await?;
    // FIN after the response: the client reads to EOF.
    stream.shutdown().await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

// ---------------------------------------------------------------------------
// Minimal client, for the self-tests and for tests that want to poke an
// origin directly. Async: needs a tokio runtime.

/// A raw HTTP response as read by [`get`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `GET path` to `server` from `src_ip`, reading until EOF, within `wait`.
/// Fails with `TimedOut` on a silent server and `UnexpectedEof` when the
/// connection closes without a status line.
pub async fn get(
    server: SocketAddr,
    src_ip: IpAddr,
    host: &str,
    path: &str,
    user_agent: &str,
    wait: Duration,
) -> io::Result<RawResponse> {
    assert_loopback(src_ip);
    assert_loopback(server.ip());
    tokio::time::timeout(wait, async {
        let sock = tokio::net::TcpSocket::new_v4()?;
        sock.bind(SocketAddr::new(src_ip, 0))?;
        let mut stream = sock.connect(server).await?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {user_agent}\r\n\
             Accept: */*\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        read_raw_response(&mut stream).await
    })
    .await
    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "HTTP request timed out"))?
}

/// Reads a whole `Connection: close` response from any stream (also one
/// tunnelled through SOCKS).
pub async fn read_raw_response<S>(stream: &mut S) -> io::Result<RawResponse>
where
    S: tokio::io::AsyncRead + Unpin,
{
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "no HTTP response head"))?;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad status line"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Ok(RawResponse {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    })
}

/// What an [`HttpsOrigin`] does with a connection.
#[derive(Clone, Debug)]
pub enum Tls {
    /// TLS 1.2 or 1.3 with a self-signed certificate for another name (`not-this-name.invalid`),
    /// then `200` with this body for any request: what a CA accepts after an https redirect.
    Modern(String),
    /// Reads the ClientHello and answers with a fatal `protocol_version` alert in a TLS 1.1
    /// record, as a server that speaks only TLS 1.1 or older does to a client offering 1.2+.
    OnlyOld,
}

/// An HTTPS origin on port 443 of one loopback address (redirect targets must be on 443). Stops
/// when dropped.
#[derive(Debug)]
pub struct HttpsOrigin {
    pub addr: SocketAddr,
    _thread: ServerThread,
}

impl HttpsOrigin {
    /// Serves `mode` on `ip:443` (127/8; the tests run as root in their own namespace).
    pub fn start(ip: IpAddr, mode: Tls) -> io::Result<HttpsOrigin> {
        use tokio_rustls::rustls::ServerConfig;
        use tokio_rustls::rustls::crypto::aws_lc_rs;
        use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
        assert_loopback(ip);
        let (listener, _) = bind_http(ip, 443)?;
        let addr = listener.local_addr()?;
        let acceptor = match &mode {
            Tls::Modern(_) => {
                let ck = rcgen::generate_simple_self_signed(vec!["not-this-name.invalid".into()])
                    .expect("self-signed certificate");
                let key: PrivateKeyDer<'static> =
                    PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()).into();
                let config =
                    ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
                        .with_safe_default_protocol_versions()
                        .expect("TLS versions")
                        .with_no_client_auth()
                        .with_single_cert(vec![ck.cert.der().clone()], key)
                        .expect("server certificate");
                Some(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
            }
            Tls::OnlyOld => None,
        };
        let thread = ServerThread::spawn(&format!("https-{addr}"), move || async move {
            let listener = TcpListener::from_std(listener).expect("register listener");
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let (acceptor, mode) = (acceptor.clone(), mode.clone());
                tokio::spawn(async move {
                    match (acceptor, mode) {
                        (Some(acceptor), Tls::Modern(body)) => {
                            let Ok(mut tls) = acceptor.accept(stream).await else {
                                return;
                            };
                            let mut buf = Vec::new();
                            let mut chunk = [0u8; 1024];
                            while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16384 {
                                match tls.read(&mut chunk).await {
                                    Ok(n) if n > 0 => buf.extend_from_slice(&chunk[..n]),
                                    _ => return,
                                }
                            }
                            let out = format!(
                                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                                body.len()
                            );
                            let _ = tls.write_all(out.as_bytes()).await;
                            let _ = tls.shutdown().await;
                        }
                        _ => {
                            let mut hello = [0u8; 512];
                            let _ = stream.read(&mut hello).await;
                            // Alert record: type 21, version 3.2 (TLS 1.1), length 2, fatal (2),
                            // protocol_version (70).
                            let _ = stream.write_all(&[21, 3, 2, 0, 2, 2, 70]).await;
                            let _ = stream.shutdown().await;
                        }
                    }
                });
            }
        });
        Ok(HttpsOrigin {
            addr,
            _thread: thread,
        })
    }
}
