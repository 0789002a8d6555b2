//! Raw hostile servers for the reliability suite (`tests/hostile.rs`): a DNS responder on UDP and
//! TCP, an "HTTP" origin and a SOCKS5 proxy, each written by hand on plain sockets so that it can
//! misbehave exactly as a test scripts it — silence, wrong IDs, wrong questions, truncation,
//! compression-pointer loops, garbage instead of HTTP, endless or dripping bodies, a megabyte of
//! headers, proxies that hang up mid-handshake or answer every SOCKS5 error code. Nothing here
//! validates or normalises what the script asks it to send. Like the rest of the harness, each
//! server binds only to 127.0.0.0/8, runs on its own thread with its own runtime and stops when
//! its handle is dropped; every connection task is bounded in time so a client that never goes
//! away cannot pin the server.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_resolver::proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_resolver::proto::rr::rdata::{A, CNAME, NULL, TXT};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream, UdpSocket};

pub use super::dns::Transport;
use super::{ServerThread, bind_same_port, is_loopback_v4, wire};

/// Longest a connection task lives, whatever the script says.
const CONN_MAX: Duration = Duration::from_secs(60);
/// How long a server waits for a request (DNS over TCP, HTTP head, SOCKS step).
const READ_WAIT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// DNS
// ---------------------------------------------------------------------------------------------

/// One query as the hostile DNS server received it.
#[derive(Clone, Debug)]
pub struct DnsQuery {
    /// UDP or TCP.
    pub transport: Transport,
    /// Client address.
    pub src: SocketAddr,
    /// The bytes received (without the TCP length prefix).
    pub raw: Vec<u8>,
    /// The parsed query, when it parsed.
    pub message: Option<Message>,
    /// Query ID (0 when unparseable).
    pub id: u16,
    /// Question name, lower case, without the trailing dot.
    pub qname: String,
    /// Question type.
    pub qtype: RecordType,
}

/// What the server does in answer to one query, in order.
#[derive(Clone, Debug)]
pub enum DnsAction {
    /// Send these bytes: one UDP datagram, or one TCP message with its length prefix added.
    Send(Vec<u8>),
    /// TCP only: write these bytes as they are, no length prefix (a lying or short frame).
    SendUnframed(Vec<u8>),
    /// Wait before the next action.
    Sleep(Duration),
    /// TCP only: close the connection now.
    Close,
}

type DnsScript = Arc<dyn Fn(&DnsQuery) -> Vec<DnsAction> + Send + Sync>;

/// A scripted DNS server. An empty action list is silence.
pub struct HostileDns {
    /// UDP address (and TCP, unless started with [`HostileDns::start_udp_only`]).
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<DnsQuery>>>,
    _thread: ServerThread,
}

impl fmt::Debug for HostileDns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostileDns")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

type DnsSockets = (std::net::UdpSocket, Option<std::net::TcpListener>);

fn bind_dns(ip: IpAddr, port: u16, tcp: bool) -> io::Result<(DnsSockets, u16)> {
    let udp = std::net::UdpSocket::bind((ip, port))?;
    let port = udp.local_addr()?.port();
    udp.set_nonblocking(true)?;
    let listener = if tcp {
        let l = std::net::TcpListener::bind((ip, port))?;
        l.set_nonblocking(true)?;
        Some(l)
    } else {
        None
    };
    Ok(((udp, listener), port))
}

impl HostileDns {
    /// UDP and TCP on `ip` (127/8), one ephemeral port.
    pub fn start(
        ip: IpAddr,
        script: impl Fn(&DnsQuery) -> Vec<DnsAction> + Send + Sync + 'static,
    ) -> HostileDns {
        Self::spawn(ip, true, Arc::new(script))
    }

    /// UDP only: TCP connections to the same port are refused by the kernel.
    pub fn start_udp_only(
        ip: IpAddr,
        script: impl Fn(&DnsQuery) -> Vec<DnsAction> + Send + Sync + 'static,
    ) -> HostileDns {
        Self::spawn(ip, false, Arc::new(script))
    }

    fn spawn(ip: IpAddr, tcp: bool, script: DnsScript) -> HostileDns {
        let sockets = bind_same_port(&[ip], |ip, port| bind_dns(ip, port, tcp))
            .expect("bind hostile DNS on 127/8");
        let (udp, listener) = sockets.into_iter().next().expect("one socket set");
        let addr = udp.local_addr().expect("local addr");
        let log: Arc<Mutex<Vec<DnsQuery>>> = Arc::default();
        let task_log = log.clone();
        let thread = ServerThread::spawn(&format!("hostile-dns-{addr}"), move || async move {
            let udp = Arc::new(UdpSocket::from_std(udp).expect("register UDP socket"));
            if let Some(l) = listener {
                let l = TcpListener::from_std(l).expect("register TCP listener");
                tokio::spawn(dns_tcp_accept(l, script.clone(), task_log.clone()));
            }
            dns_udp_loop(udp, script, task_log).await;
        });
        HostileDns {
            addr,
            log,
            _thread: thread,
        }
    }

    /// `udp://addr` or `tcp://addr`, for a config file.
    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://{}", self.addr)
    }

    /// Every query received so far.
    pub fn queries(&self) -> Vec<DnsQuery> {
        self.log.lock().unwrap().clone()
    }
}

fn parse_query(transport: Transport, src: SocketAddr, raw: &[u8]) -> DnsQuery {
    let message = Message::from_vec(raw).ok();
    let (qname, qtype) = message
        .as_ref()
        .and_then(|m| m.queries.first())
        .map(|q| (name_text(q.name()), q.query_type()))
        .unwrap_or_else(|| (String::new(), RecordType::NULL));
    DnsQuery {
        transport,
        src,
        raw: raw.to_vec(),
        id: message.as_ref().map_or(0, |m| m.metadata.id),
        message,
        qname,
        qtype,
    }
}

async fn dns_udp_loop(udp: Arc<UdpSocket>, script: DnsScript, log: Arc<Mutex<Vec<DnsQuery>>>) {
    let mut buf = vec![0u8; 65_535];
    loop {
        let Ok((n, src)) = udp.recv_from(&mut buf).await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let q = parse_query(Transport::Udp, src, &buf[..n]);
        log.lock().unwrap().push(q.clone());
        let actions = script(&q);
        let udp = udp.clone();
        tokio::spawn(async move {
            for a in actions {
                match a {
                    DnsAction::Send(b) => {
                        let _ = udp.send_to(&b, src).await;
                    }
                    DnsAction::Sleep(d) => tokio::time::sleep(d).await,
                    DnsAction::SendUnframed(_) | DnsAction::Close => {}
                }
            }
        });
    }
}

async fn dns_tcp_accept(l: TcpListener, script: DnsScript, log: Arc<Mutex<Vec<DnsQuery>>>) {
    loop {
        match l.accept().await {
            Ok((s, peer)) => {
                let (script, log) = (script.clone(), log.clone());
                tokio::spawn(async move {
                    let _ =
                        tokio::time::timeout(CONN_MAX, dns_tcp_conn(s, peer, script, log)).await;
                });
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

async fn dns_tcp_conn(
    mut s: TcpStream,
    peer: SocketAddr,
    script: DnsScript,
    log: Arc<Mutex<Vec<DnsQuery>>>,
) {
    loop {
        let mut len = [0u8; 2];
        match tokio::time::timeout(READ_WAIT, s.read_exact(&mut len)).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        let mut raw = vec![0u8; u16::from_be_bytes(len) as usize];
        if s.read_exact(&mut raw).await.is_err() {
            return;
        }
        let q = parse_query(Transport::Tcp, peer, &raw);
        log.lock().unwrap().push(q.clone());
        for a in script(&q) {
            let ok = match a {
                DnsAction::Send(b) => {
                    let mut framed = (b.len() as u16).to_be_bytes().to_vec();
                    framed.extend_from_slice(&b);
                    s.write_all(&framed).await.is_ok()
                }
                DnsAction::SendUnframed(b) => s.write_all(&b).await.is_ok(),
                DnsAction::Sleep(d) => {
                    tokio::time::sleep(d).await;
                    true
                }
                DnsAction::Close => return,
            };
            if !ok {
                return;
            }
        }
    }
}

/// Absolute name as lower-case text without the trailing dot.
pub fn name_text(n: &Name) -> String {
    n.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}

/// A fully qualified name from text (panics on a bad name: test input).
pub fn name(s: &str) -> Name {
    let mut n = Name::from_ascii(s).unwrap_or_else(|e| panic!("bad name {s:?}: {e}"));
    n.set_fqdn(true);
    n
}

/// A reply skeleton for `q`: same ID, question and RD, RA set, NOERROR, no records.
pub fn reply(q: &DnsQuery) -> Message {
    let mut m = Message::new(q.id, MessageType::Response, OpCode::Query);
    if let Some(query) = q.message.as_ref() {
        m.metadata.recursion_desired = query.metadata.recursion_desired;
        m.queries = query.queries.clone();
    }
    m.metadata.recursion_available = true;
    m
}

/// A reply carrying only an RCODE.
pub fn rcode_reply(q: &DnsQuery, rcode: ResponseCode) -> Message {
    let mut m = reply(q);
    m.metadata.response_code = rcode;
    m
}

/// A reply whose question is replaced (a reply to someone else's question).
pub fn reply_for_question(q: &DnsQuery, qname: &str, qtype: RecordType) -> Message {
    let mut m = reply(q);
    m.queries = vec![Query::query(name(qname), qtype)];
    m
}

/// Wire bytes of a message (panics when hickory cannot encode it: test input).
pub fn encode(m: &Message) -> Vec<u8> {
    m.to_vec().expect("encode DNS message")
}

/// `Send(encode(m))`.
pub fn send(m: &Message) -> DnsAction {
    DnsAction::Send(encode(m))
}

/// An A record.
pub fn a(owner: &str, ip: &str) -> Record {
    Record::from_rdata(name(owner), 300, RData::A(A(ip.parse().expect("IPv4"))))
}

/// A CNAME record.
pub fn cname(owner: &str, target: &str) -> Record {
    Record::from_rdata(name(owner), 300, RData::CNAME(CNAME(name(target))))
}

/// A CNAME record whose target has raw bytes in a label (control characters, escapes).
pub fn cname_raw(owner: &str, target_labels: &[&[u8]]) -> Record {
    let mut target = Name::from_labels(target_labels.iter().copied()).expect("raw labels");
    target.set_fqdn(true);
    Record::from_rdata(name(owner), 300, RData::CNAME(CNAME(target)))
}

/// One TXT record with these character-strings.
pub fn txt(owner: &str, strings: &[&[u8]]) -> Record {
    Record::from_rdata(
        name(owner),
        300,
        RData::TXT(TXT::from_bytes(strings.to_vec())),
    )
}

/// A CAA record from raw parts, sent as given.
pub fn caa(owner: &str, flags: u8, tag: &[u8], value: &[u8]) -> Record {
    let mut wire = vec![flags, u8::try_from(tag.len()).expect("tag length")];
    wire.extend_from_slice(tag);
    wire.extend_from_slice(value);
    Record::from_rdata(
        name(owner),
        300,
        RData::Unknown {
            code: RecordType::CAA,
            rdata: NULL::with(wire),
        },
    )
}

/// A reply to `q` with the right ID and question whose answer record's owner name is a
/// compression pointer to itself (an endless loop for a naive decoder).
pub fn pointer_loop_reply(q: &DnsQuery) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&q.id.to_be_bytes());
    // QR=1, opcode 0, RD=1 | RA=1, NOERROR.
    b.extend_from_slice(&[0x81, 0x80]);
    // QDCOUNT 1, ANCOUNT 1, NSCOUNT 0, ARCOUNT 0.
    b.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 0]);
    for label in q.qname.split('.') {
        b.push(label.len() as u8);
        b.extend_from_slice(label.as_bytes());
    }
    b.push(0);
    b.extend_from_slice(&u16::from(q.qtype).to_be_bytes());
    b.extend_from_slice(&[0, 1]);
    // The answer's owner: a pointer to its own offset.
    let here = b.len() as u16;
    b.extend_from_slice(&(0xC000 | here).to_be_bytes());
    b.extend_from_slice(&[0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 127, 0, 66, 6]);
    b
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

/// One request head as the hostile origin received it.
#[derive(Clone, Debug)]
pub struct HttpRequest {
    /// The address the client connected to (which origin IP).
    pub local: SocketAddr,
    /// The client.
    pub peer: SocketAddr,
    /// Request target from the request line.
    pub path: String,
    /// The whole head (request line and headers).
    pub head: String,
}

/// What the origin does after reading a request head, in order; the connection is closed after
/// the last action.
#[derive(Clone, Debug)]
pub enum HttpAction {
    /// Write these bytes.
    Write(Vec<u8>),
    /// Write these bytes one at a time, pausing this long before each.
    Drip(Vec<u8>, Duration),
    /// Wait.
    Sleep(Duration),
    /// Say nothing until the client closes the connection (at most a minute).
    Hold,
}

type HttpScript = Arc<dyn Fn(&HttpRequest) -> Vec<HttpAction> + Send + Sync>;

/// A scripted origin serving several addresses on one port.
pub struct HostileHttp {
    /// The shared port (set `MPIC_CHECK_HTTP_PORT` to it).
    pub port: u16,
    log: Arc<Mutex<Vec<HttpRequest>>>,
    _thread: ServerThread,
}

impl fmt::Debug for HostileHttp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostileHttp")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

fn bind_tcp(ip: IpAddr, port: u16) -> io::Result<(std::net::TcpListener, u16)> {
    let l = std::net::TcpListener::bind((ip, port))?;
    l.set_nonblocking(true)?;
    let port = l.local_addr()?.port();
    Ok((l, port))
}

impl HostileHttp {
    /// Listens on every address in `ips` (127/8) on one ephemeral port; `script` sees which
    /// address a request came in on.
    pub fn start(
        ips: &[IpAddr],
        script: impl Fn(&HttpRequest) -> Vec<HttpAction> + Send + Sync + 'static,
    ) -> HostileHttp {
        let listeners = bind_same_port(ips, bind_tcp).expect("bind hostile HTTP on 127/8");
        let port = listeners[0].local_addr().expect("local addr").port();
        let script: HttpScript = Arc::new(script);
        let log: Arc<Mutex<Vec<HttpRequest>>> = Arc::default();
        let task_log = log.clone();
        let thread = ServerThread::spawn(&format!("hostile-http-{port}"), move || async move {
            let mut loops = tokio::task::JoinSet::new();
            for l in listeners {
                let l = TcpListener::from_std(l).expect("register listener");
                loops.spawn(http_accept(l, script.clone(), task_log.clone()));
            }
            while loops.join_next().await.is_some() {}
        });
        HostileHttp {
            port,
            log,
            _thread: thread,
        }
    }

    /// Every request head received so far.
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.log.lock().unwrap().clone()
    }
}

async fn http_accept(l: TcpListener, script: HttpScript, log: Arc<Mutex<Vec<HttpRequest>>>) {
    loop {
        match l.accept().await {
            Ok((s, peer)) => {
                let (script, log) = (script.clone(), log.clone());
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(CONN_MAX, http_conn(s, peer, script, log)).await;
                });
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

async fn http_conn(
    mut s: TcpStream,
    peer: SocketAddr,
    script: HttpScript,
    log: Arc<Mutex<Vec<HttpRequest>>>,
) {
    let Ok(local) = s.local_addr() else { return };
    let mut buf = Vec::new();
    let read = wire::read_request(&mut s, &mut buf, wire::DEFAULT_LIMITS);
    let Ok(Ok(r)) = tokio::time::timeout(READ_WAIT, read).await else {
        return;
    };
    let req = HttpRequest {
        local,
        peer,
        path: r.target,
        head: r.head,
    };
    log.lock().unwrap().push(req.clone());
    for a in script(&req) {
        let ok = match a {
            HttpAction::Write(b) => s.write_all(&b).await.is_ok(),
            HttpAction::Drip(b, every) => {
                let mut ok = true;
                for byte in b {
                    tokio::time::sleep(every).await;
                    if s.write_all(&[byte]).await.is_err() {
                        ok = false;
                        break;
                    }
                }
                ok
            }
            HttpAction::Sleep(d) => {
                tokio::time::sleep(d).await;
                true
            }
            HttpAction::Hold => {
                // Read (and discard) until the client gives up.
                let mut sink = [0u8; 1024];
                while let Ok(n) = s.read(&mut sink).await {
                    if n == 0 {
                        break;
                    }
                }
                false
            }
        };
        if !ok {
            return;
        }
    }
    let _ = s.shutdown().await;
}

/// A complete HTTP/1.1 response with `Content-Length` and `Connection: close` added.
pub fn http_response(status: u16, headers: &[(&str, &[u8])], body: &[u8]) -> Vec<u8> {
    let mut out = http_head(status, headers);
    // Replace the blank line: add the framing headers first.
    out.truncate(out.len() - 2);
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    out
}

/// A response head (status line, `Connection: close`, these headers as raw bytes, blank line),
/// without any body framing.
pub fn http_head(status: u16, headers: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} Hostile\r\nConnection: close\r\n").into_bytes();
    for (k, v) in headers {
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

// ---------------------------------------------------------------------------------------------
// SOCKS5
// ---------------------------------------------------------------------------------------------

/// How the proxy answers the client's method negotiation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Greeting {
    /// Accept the TCP connection, then say nothing.
    Silent,
    /// Read the greeting, then close without a reply.
    Close,
    /// Reply "no acceptable methods" (0xFF).
    NoAcceptableMethod,
    /// Accept without authentication.
    NoAuth,
    /// Require username/password (RFC 1929) with these credentials.
    Password(String, String),
    /// Reply with bytes that are not SOCKS5.
    Garbage(Vec<u8>),
}

/// How the proxy answers one CONNECT request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectReply {
    /// Connect to the target (127/8 only) and relay.
    Forward,
    /// Reply with this REP code (1–8) and close.
    Error(u8),
    /// Read the request, then close without a reply (hang-up mid-handshake).
    Close,
    /// Read the request, then say nothing.
    Silent,
}

type ConnectScript = Arc<dyn Fn(SocketAddr) -> ConnectReply + Send + Sync>;

/// A scripted SOCKS5 proxy (IPv4 CONNECT only).
pub struct HostileSocks {
    /// Listening address.
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<SocketAddr>>>,
    _thread: ServerThread,
}

impl fmt::Debug for HostileSocks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostileSocks")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl HostileSocks {
    /// Listens on `ip` (127/8), ephemeral port. `on_connect` decides per requested target.
    pub fn start(
        ip: IpAddr,
        greeting: Greeting,
        on_connect: impl Fn(SocketAddr) -> ConnectReply + Send + Sync + 'static,
    ) -> HostileSocks {
        let listeners = bind_same_port(&[ip], bind_tcp).expect("bind hostile SOCKS on 127/8");
        let listener = listeners.into_iter().next().expect("one listener");
        let addr = listener.local_addr().expect("local addr");
        let on_connect: ConnectScript = Arc::new(on_connect);
        let log: Arc<Mutex<Vec<SocketAddr>>> = Arc::default();
        let task_log = log.clone();
        let thread = ServerThread::spawn(&format!("hostile-socks-{addr}"), move || async move {
            let l = TcpListener::from_std(listener).expect("register listener");
            loop {
                match l.accept().await {
                    Ok((s, _)) => {
                        let (g, c, log) = (greeting.clone(), on_connect.clone(), task_log.clone());
                        tokio::spawn(async move {
                            let _ = tokio::time::timeout(CONN_MAX, socks_conn(s, g, c, log)).await;
                        });
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            }
        });
        HostileSocks {
            addr,
            log,
            _thread: thread,
        }
    }

    /// `socks5://[user:pass@]addr`.
    pub fn url(&self, auth: Option<(&str, &str)>) -> String {
        match auth {
            Some((u, p)) => format!("socks5://{u}:{p}@{}", self.addr),
            None => format!("socks5://{}", self.addr),
        }
    }

    /// Every CONNECT target requested so far.
    pub fn targets(&self) -> Vec<SocketAddr> {
        self.log.lock().unwrap().clone()
    }
}

async fn read_n(s: &mut TcpStream, n: usize) -> Option<Vec<u8>> {
    let mut b = vec![0u8; n];
    match tokio::time::timeout(READ_WAIT, s.read_exact(&mut b)).await {
        Ok(Ok(_)) => Some(b),
        _ => None,
    }
}

async fn hold(s: &mut TcpStream) {
    let mut sink = [0u8; 256];
    while let Ok(n) = s.read(&mut sink).await {
        if n == 0 {
            break;
        }
    }
}

async fn socks_conn(
    mut s: TcpStream,
    greeting: Greeting,
    on_connect: ConnectScript,
    log: Arc<Mutex<Vec<SocketAddr>>>,
) -> Option<()> {
    if greeting == Greeting::Silent {
        hold(&mut s).await;
        return None;
    }
    let head = read_n(&mut s, 2).await?;
    let methods = read_n(&mut s, head[1] as usize).await?;
    match &greeting {
        Greeting::Silent => unreachable!("handled above"),
        Greeting::Close => return None,
        Greeting::NoAcceptableMethod => {
            s.write_all(&[5, 0xFF]).await.ok()?;
            return None;
        }
        Greeting::Garbage(g) => {
            s.write_all(g).await.ok()?;
            return None;
        }
        Greeting::NoAuth => {
            if !methods.contains(&0) {
                s.write_all(&[5, 0xFF]).await.ok()?;
                return None;
            }
            s.write_all(&[5, 0]).await.ok()?;
        }
        Greeting::Password(user, pass) => {
            if !methods.contains(&2) {
                s.write_all(&[5, 0xFF]).await.ok()?;
                return None;
            }
            s.write_all(&[5, 2]).await.ok()?;
            let v = read_n(&mut s, 2).await?;
            let u = read_n(&mut s, v[1] as usize).await?;
            let plen = read_n(&mut s, 1).await?;
            let p = read_n(&mut s, plen[0] as usize).await?;
            let good = u == user.as_bytes() && p == pass.as_bytes();
            s.write_all(&[1, if good { 0 } else { 1 }]).await.ok()?;
            if !good {
                return None;
            }
        }
    }
    // VER CMD RSV ATYP
    let req = read_n(&mut s, 4).await?;
    if req[3] != 1 {
        s.write_all(&[5, 8, 0, 1, 0, 0, 0, 0, 0, 0]).await.ok()?;
        return None;
    }
    let dst = read_n(&mut s, 6).await?;
    let target = SocketAddr::new(
        IpAddr::from([dst[0], dst[1], dst[2], dst[3]]),
        u16::from_be_bytes([dst[4], dst[5]]),
    );
    log.lock().unwrap().push(target);
    match on_connect(target) {
        ConnectReply::Close => None,
        ConnectReply::Silent => {
            hold(&mut s).await;
            None
        }
        ConnectReply::Error(rep) => {
            s.write_all(&[5, rep, 0, 1, 0, 0, 0, 0, 0, 0]).await.ok()?;
            None
        }
        ConnectReply::Forward => {
            if req[1] != 1 || !is_loopback_v4(target.ip()) {
                s.write_all(&[5, 2, 0, 1, 0, 0, 0, 0, 0, 0]).await.ok()?;
                return None;
            }
            let Ok(mut out) = TcpSocket::new_v4().ok()?.connect(target).await else {
                s.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]).await.ok()?;
                return None;
            };
            let bound = out.local_addr().ok()?;
            let mut ok = vec![5, 0, 0, 1];
            match bound.ip() {
                IpAddr::V4(v4) => ok.extend_from_slice(&v4.octets()),
                IpAddr::V6(_) => ok.extend_from_slice(&[0, 0, 0, 0]),
            }
            ok.extend_from_slice(&bound.port().to_be_bytes());
            s.write_all(&ok).await.ok()?;
            let _ = tokio::io::copy_bidirectional(&mut s, &mut out).await;
            Some(())
        }
    }
}
