//! DNS as one perspective sees it: a small transport (UDP, TCP, TCP through SOCKS5, DNS over
//! HTTPS) that sends exactly one question per call and keeps every fact of the reply (rcode, AA/AD,
//! TTLs, ECS scope, negative TTL). hickory-proto does the wire format; the transport is ours
//! because a CA-faithful diff needs what a stub resolver hides: no cache, no retries that multiply
//! a timeout, replies with the wrong ID or question ignored instead of believed, truncation and
//! refusal reported as such, and a hard bound on time and bytes for hostile servers. A lost UDP
//! datagram is sent again inside the same deadline (as a CA's resolver retries: Boulder tries a
//! query 3 times), so one dropped packet is not reported as a dead server, and the count is a fact.
//!
//! UDP questions of one perspective share sockets ([`UdpPool`]): per server a pool of up to
//! [`POOL_SOCKETS`] connected sockets, created when a question needs one and closed when no question
//! to that server is in flight, each with one reader task that hands a datagram to the question
//! waiting for its (server, ID). A socket per question cost a bind, a connect and a close (and an
//! fd) for each of the ~55 questions a name needs in a bulk run. The trade-off is RFC 5452's
//! spoofing entropy: a fresh socket gives a random ephemeral port per question (about 15 bits) plus
//! the 16-bit ID; the pool picks one of its sockets at random (3 bits with 8), each bound to a port
//! the kernel chose at random, plus the random ID, never two in flight with the same (socket, ID).
//! An off-path attacker must therefore guess about 19 bits instead of 31 for one question in
//! flight; the protections that do not depend on entropy are unchanged: a reply must match the ID
//! *and* the question, anything else is ignored and reported, and a reply is only believed from the
//! connected server (the kernel filters the source). Connected sockets keep today's errors too: an
//! ICMP port-unreachable is "Connection refused" for the questions waiting on that socket (all to
//! that one server).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_resolver::proto::op::{Edns, Message, MessageType, Query, ResponseCode};
use hickory_resolver::proto::rr::rdata::opt::{ClientSubnet, EdnsCode, EdnsOption};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::config::Subnet;
use crate::observation::{DnsExchange, Rr};
use crate::text::escape_bytes;

/// Longest CNAME chain followed before giving up (CNAME loops end here too).
pub const MAX_CNAME_CHAIN: usize = 12;
/// EDNS payload size advertised, as recommended by DNS Flag Day 2020.
const EDNS_PAYLOAD: u16 = 1232;
/// UDP datagrams sent per question at most: the first and two retransmissions, spread evenly over
/// the step's timeout (Boulder's `dnsTries` is 3). The deadline stays the same, so a silent server
/// still costs one timeout, never three.
///
/// Boulder parity (bdns/dns.go, `exchangeOne`): a query is tried again only after a temporary
/// network error or a timeout, up to the configured number of tries (3 in Let's Encrypt's
/// configuration), each try against the next resolver in its list; a reply of any RCODE (SERVFAIL,
/// REFUSED, NXDOMAIN) ends the lookup and is never retried. Here too only silence is retried, and
/// an error RCODE is a fact reported as such.
pub const UDP_TRIES: u32 = 3;

/// How to reach one DNS server.
#[derive(Debug, Clone)]
pub enum Transport {
    /// UDP, with TCP to the same server when the reply is truncated, on a socket of its own.
    Udp(SocketAddr),
    /// The same, on the sockets of a perspective's [`UdpPool`].
    PooledUdp {
        /// The DNS server.
        server: SocketAddr,
        /// The perspective's sockets.
        pool: Arc<UdpPool>,
    },
    /// TCP.
    Tcp(SocketAddr),
    /// TCP through a SOCKS5 proxy (UDP is never sent around a proxy).
    SocksTcp {
        /// The DNS server.
        server: SocketAddr,
        /// The proxy.
        proxy: crate::config::SocksEndpoint,
    },
    /// RFC 8484 POST with the perspective's HTTP client (which carries its proxy).
    Doh {
        /// The endpoint URL.
        url: url::Url,
        /// A client configured for this perspective.
        client: reqwest::Client,
    },
}

impl Transport {
    /// A printable name for the server (never with credentials).
    pub fn label(&self) -> String {
        match self {
            Transport::Udp(a) | Transport::PooledUdp { server: a, .. } => format!("udp://{a}"),
            Transport::Tcp(a) => format!("tcp://{a}"),
            Transport::SocksTcp { server, proxy } => format!("tcp://{server} via {proxy:?}"),
            Transport::Doh { url, .. } => crate::config::redact_url(url),
        }
    }
}

/// Options of one question.
#[derive(Debug, Clone, Copy)]
pub struct Ask {
    /// Recursion desired (false when asking authoritative servers).
    pub recursion: bool,
    /// EDNS Client Subnet to send.
    pub ecs: Option<Subnet>,
    /// Bound for the whole exchange, including a TCP retry.
    pub timeout: Duration,
}

/// A reply and the facts recorded about it.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Facts for the report.
    pub facts: DnsExchange,
    /// The parsed reply, when one arrived.
    pub message: Option<Message>,
}

/// Why an exchange produced no usable reply.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DnsFailure {
    /// No reply in time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// No usable reply in time, with what was seen instead.
    #[error("timed out: {0}")]
    Timeout2(String),
    /// Socket-level problem talking to the server.
    #[error("{0}")]
    Network(String),
    /// The proxy refused or failed.
    #[error("proxy: {0}")]
    Proxy(String),
    /// The reply could not be parsed or was not a reply to our question.
    #[error("malformed reply: {0}")]
    Malformed(String),
    /// TC=1 and TCP was not possible.
    #[error("reply truncated and TCP retry failed: {0}")]
    Truncated(String),
    /// This process (EMFILE) or the system (ENFILE) had no file descriptor for the socket: the
    /// tool's fault, never the server's.
    #[error("{}: {why}", crate::perspective::http::out_of_files_summary("DNS"))]
    OutOfFiles {
        /// The OS error.
        why: String,
    },
}

/// A socket error as a failure: running out of file descriptors is told apart (typed), every
/// other error is the network's.
// By value: it is the `map_err` adaptor of every socket call.
#[allow(clippy::needless_pass_by_value)]
fn io_failure(e: std::io::Error) -> DnsFailure {
    if crate::perspective::http::io_out_of_files(&e) {
        DnsFailure::OutOfFiles { why: e.to_string() }
    } else {
        DnsFailure::Network(e.to_string())
    }
}

impl Answer {
    /// Response code of the reply.
    pub fn rcode(&self) -> Option<ResponseCode> {
        self.message.as_ref().map(|m| m.metadata.response_code)
    }

    /// A real answer: NOERROR or NXDOMAIN (both are facts about the domain).
    pub fn is_answer(&self) -> bool {
        matches!(
            self.rcode(),
            Some(ResponseCode::NoError | ResponseCode::NXDomain)
        )
    }

    /// A real answer with the AA flag: what an authoritative server of the zone says.
    pub fn is_authoritative(&self) -> bool {
        self.is_answer() && self.facts.aa
    }

    /// Answer records of `rtype` owned by the end of the CNAME chain.
    pub fn records(&self, rtype: RecordType) -> Vec<&Record> {
        let Some(m) = &self.message else {
            return Vec::new();
        };
        let target = self
            .facts
            .cname_chain
            .last()
            .cloned()
            .unwrap_or_else(|| self.facts.qname.clone());
        m.answers
            .iter()
            .filter(|r| r.record_type() == rtype && name_str(&r.name).eq_ignore_ascii_case(&target))
            .collect()
    }

    /// Addresses in the answer (A or AAAA).
    pub fn addresses(&self) -> Vec<IpAddr> {
        let mut v: Vec<IpAddr> = [RecordType::A, RecordType::AAAA]
            .into_iter()
            .flat_map(|t| self.records(t))
            .filter_map(|r| r.data.ip_addr())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// The last name of the CNAME chain when the reply stops there without the target's records
    /// (an authoritative server of another zone must be asked).
    pub fn dangling_cname(&self, rtype: RecordType) -> Option<String> {
        let last = self.facts.cname_chain.last()?;
        if self.facts.cname_chain.len() > 1
            && self.records(rtype).is_empty()
            && self.rcode() == Some(ResponseCode::NoError)
        {
            Some(last.clone())
        } else {
            None
        }
    }
}

/// Absolute name without the trailing dot, lower case.
pub fn name_str(n: &Name) -> String {
    let s = n.to_ascii();
    s.strip_suffix('.').unwrap_or(&s).to_ascii_lowercase()
}

/// Sends one question and records everything about the reply. Never returns an error: a failure is
/// recorded in `facts.error` with `message = None`.
pub async fn exchange(t: &Transport, qname: &str, rtype: RecordType, ask: Ask) -> Answer {
    let start = Instant::now();
    let mut facts = DnsExchange {
        qname: qname.trim_end_matches('.').to_ascii_lowercase(),
        qtype: rtype.to_string(),
        server: t.label(),
        rcode: None,
        aa: false,
        ad: false,
        answers: Vec::new(),
        cname_chain: Vec::new(),
        negative_ttl: None,
        ecs: ask.ecs.map(|s| s.to_string()),
        ecs_scope: None,
        elapsed_ms: 0,
        error: None,
        ede: None,
        retransmits: 0,
        diagnostic: false,
        reused: false,
    };
    // RFC 8484 §4.1: DoH queries use ID 0 so HTTP caches can share answers.
    let id = if matches!(t, Transport::Doh { .. }) {
        0
    } else {
        rand::random()
    };
    let result = match build_query(qname, rtype, ask, id) {
        Ok((id, bytes, q)) => {
            let deadline = tokio::time::Instant::now() + ask.timeout;
            send(
                t,
                id,
                &bytes,
                &q,
                deadline,
                ask.timeout,
                &mut facts.retransmits,
            )
            .await
        }
        Err(e) => Err(DnsFailure::Malformed(e)),
    };
    facts.elapsed_ms = start.elapsed().as_millis() as u64;
    match result {
        Ok((msg, via_tcp)) => {
            fill_facts(&mut facts, &msg);
            if via_tcp && matches!(t, Transport::Udp(_) | Transport::PooledUdp { .. }) {
                facts.server.push_str(" (tcp after truncation)");
            }
            Answer {
                facts,
                message: Some(msg),
            }
        }
        Err(e) => {
            facts.error = Some(e.to_string());
            Answer {
                facts,
                message: None,
            }
        }
    }
}

/// Classifies a failed exchange for the observation's phase and blame.
pub fn failure_kind(a: &Answer) -> Option<FailureKind> {
    let err = a.facts.error.as_deref()?;
    Some(if err.starts_with("proxy:") {
        FailureKind::Proxy
    } else if err.starts_with(crate::perspective::http::OUT_OF_FILES) {
        FailureKind::OutOfFiles
    } else if err.starts_with("timed out") {
        FailureKind::Timeout
    } else if err.starts_with("malformed") || err.starts_with("reply truncated") {
        FailureKind::Protocol
    } else {
        FailureKind::Network
    })
}

/// What an authoritative server did wrong with one question, read from the recorded facts of
/// the exchange (the analysis names causes from this, never from the prose of a summary).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerFault {
    /// TC=1 over UDP, and the TCP retry was refused or failed: the answer cannot be had at all.
    TruncatedNoTcp,
    /// RCODE=REFUSED (an ACL, a geographic restriction, or a server without the zone).
    Refused,
    /// NOERROR/NXDOMAIN without AA to a non-recursive question: a lame delegation.
    Lame,
    /// No reply within the step timeout.
    Timeout,
    /// SERVFAIL or another error rcode from the authoritative server itself.
    Failed,
    /// Unreachable, malformed or another transport failure.
    Other,
}

/// The fault of an authoritative server in `f` (asked without recursion), if it had one.
pub fn server_fault(f: &DnsExchange) -> Option<ServerFault> {
    if let Some(e) = f.error.as_deref() {
        return Some(if e.starts_with("reply truncated") {
            ServerFault::TruncatedNoTcp
        } else if e.starts_with("timed out") {
            ServerFault::Timeout
        } else if f.rcode.is_some() {
            // A reply that came but was unusable (a CNAME loop): not the transport's fault.
            return None;
        } else {
            ServerFault::Other
        });
    }
    match f.rcode.as_deref() {
        Some("REFUSED") => Some(ServerFault::Refused),
        Some("NOERROR" | "NXDOMAIN") if !f.aa => Some(ServerFault::Lame),
        Some("NOERROR" | "NXDOMAIN") => None,
        Some(_) => Some(ServerFault::Failed),
        None => Some(ServerFault::Other),
    }
}

/// One phrase for what a server did with a question asked directly, for messages.
pub fn what_it_did(f: &DnsExchange) -> String {
    let ede = f
        .ede
        .as_ref()
        .map_or(String::new(), |e| format!(" (EDE {e})"));
    let rc = f.rcode.as_deref().unwrap_or("no reply");
    match server_fault(f) {
        Some(ServerFault::TruncatedNoTcp | ServerFault::Timeout | ServerFault::Other) => {
            f.error.clone().unwrap_or_default()
        }
        Some(ServerFault::Lame) => {
            format!("answered {rc} without the AA flag (lame: it does not serve the zone)")
        }
        Some(ServerFault::Refused | ServerFault::Failed) => format!("answered {rc}{ede}"),
        None => format!(
            "answered {rc} with authority ({} record(s)){ede}",
            f.answers.len()
        ),
    }
}

/// Coarse class of a failed exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The proxy failed.
    Proxy,
    /// No reply in time.
    Timeout,
    /// Unparseable or truncated.
    Protocol,
    /// Refused connection, unreachable.
    Network,
    /// No file descriptor for the socket: the tool's own fault.
    OutOfFiles,
}

fn build_query(
    qname: &str,
    rtype: RecordType,
    ask: Ask,
    id: u16,
) -> Result<(u16, Vec<u8>, Query), String> {
    let name = Name::from_ascii(qname).map_err(|e| e.to_string())?;
    let name = if name.is_fqdn() {
        name
    } else {
        Name::from_ascii(format!("{qname}.")).map_err(|e| e.to_string())?
    };
    let q = Query::query(name, rtype);
    let mut msg = Message::query();
    msg.metadata.id = id;
    msg.metadata.recursion_desired = ask.recursion;
    msg.add_query(q.clone());
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_PAYLOAD);
    if let Some(s) = ask.ecs {
        edns.options_mut()
            .insert(EdnsOption::Subnet(ClientSubnet::new(s.addr, s.prefix, 0)));
    }
    msg.set_edns(edns);
    let bytes = msg.to_vec().map_err(|e| e.to_string())?;
    Ok((id, bytes, q))
}

/// Sends with the step's deadline. Through SOCKS the handshake gets its own bound first: a proxy
/// that never completes it is the perspective's failure, not a slow DNS server.
async fn send(
    t: &Transport,
    id: u16,
    bytes: &[u8],
    q: &Query,
    deadline: tokio::time::Instant,
    timeout: Duration,
    retransmits: &mut u32,
) -> Result<(Message, bool), DnsFailure> {
    match t {
        Transport::Udp(_) | Transport::PooledUdp { .. } => {
            // A socket of its own: a pool used by this question alone, closed with it.
            let own;
            let (server, pool) = match t {
                Transport::PooledUdp { server, pool } => (server, &**pool),
                Transport::Udp(server) => {
                    own = UdpPool::default();
                    (server, &own)
                }
                _ => unreachable!("matched above"),
            };
            let mut id = id;
            let udp = udp(
                pool,
                *server,
                &mut id,
                bytes,
                q,
                deadline,
                timeout,
                retransmits,
            );
            let reply = tokio::time::timeout_at(deadline, udp).await;
            match reply {
                Ok(Ok((msg, bytes))) if msg.metadata.truncation => {
                    // TCP retry to the same server, within what is left of the deadline.
                    let tcp = async {
                        let mut s = TcpStream::connect(server)
                            .await
                            .map_err(|e| DnsFailure::Truncated(e.to_string()))?;
                        tcp_roundtrip(&mut s, id, &bytes, q)
                            .await
                            .map_err(|e| DnsFailure::Truncated(e.to_string()))
                    };
                    match tokio::time::timeout_at(deadline, tcp).await {
                        Ok(r) => r.map(|m| (m, true)),
                        Err(_) => Err(DnsFailure::Timeout(timeout)),
                    }
                }
                Ok(r) => r.map(|(m, _)| (m, false)),
                Err(_) => Err(DnsFailure::Timeout(timeout)),
            }
        }
        Transport::SocksTcp { server, proxy } => {
            let proxy_addr = (proxy.host.as_str(), proxy.port);
            let connect = async {
                match &proxy.auth {
                    Some((u, p)) => {
                        tokio_socks::tcp::Socks5Stream::connect_with_password(
                            proxy_addr, *server, u, p,
                        )
                        .await
                    }
                    None => tokio_socks::tcp::Socks5Stream::connect(proxy_addr, *server).await,
                }
            };
            let mut s = match tokio::time::timeout(timeout, connect).await {
                Ok(r) => r.map_err(|e| socks_failure(&e))?,
                Err(_) => {
                    return Err(DnsFailure::Proxy(format!(
                        "the SOCKS5 proxy did not complete the connection to {server} within {timeout:?}"
                    )));
                }
            };
            let deadline = tokio::time::Instant::now() + timeout;
            match tokio::time::timeout_at(deadline, tcp_roundtrip(&mut s, id, bytes, q)).await {
                Ok(r) => r.map(|m| (m, true)),
                Err(_) => Err(DnsFailure::Timeout(timeout)),
            }
        }
        _ => match tokio::time::timeout_at(deadline, send_bounded(t, id, bytes, q)).await {
            Ok(r) => r,
            Err(_) => Err(DnsFailure::Timeout(timeout)),
        },
    }
}

/// TCP and DoH exchanges (UDP and SOCKS are handled with their own deadlines in `send`).
async fn send_bounded(
    t: &Transport,
    id: u16,
    bytes: &[u8],
    q: &Query,
) -> Result<(Message, bool), DnsFailure> {
    match t {
        Transport::Udp(_) | Transport::PooledUdp { .. } | Transport::SocksTcp { .. } => Err(
            DnsFailure::Network("internal: this transport is sent by send()".into()),
        ),
        Transport::Tcp(server) => {
            let mut s = TcpStream::connect(server).await.map_err(io_failure)?;
            Ok((tcp_roundtrip(&mut s, id, bytes, q).await?, true))
        }
        Transport::Doh { url, client } => {
            let resp = client
                .post(url.clone())
                .header("content-type", "application/dns-message")
                .header("accept", "application/dns-message")
                .body(bytes.to_vec())
                .send()
                .await
                .map_err(|e| {
                    if crate::perspective::http::is_proxy_error(&e) {
                        DnsFailure::Proxy(crate::perspective::http::error_text(&e))
                    } else {
                        DnsFailure::Network(crate::perspective::http::error_text(&e))
                    }
                })?;
            if !resp.status().is_success() {
                return Err(DnsFailure::Network(format!(
                    "DoH server answered HTTP {}",
                    resp.status()
                )));
            }
            let body = crate::perspective::http::read_capped(resp, 65_535)
                .await
                .map_err(DnsFailure::Network)?;
            if body.1 {
                return Err(DnsFailure::Malformed(
                    "DoH reply larger than 65535 bytes".into(),
                ));
            }
            // RFC 8484 recommends ID 0 on the wire; accept either.
            let msg =
                Message::from_vec(&body.0).map_err(|e| DnsFailure::Malformed(e.to_string()))?;
            check_reply(&msg, id, q)?;
            Ok((msg, true))
        }
    }
}

fn socks_failure(e: &tokio_socks::Error) -> DnsFailure {
    use tokio_socks::Error as E;
    match e {
        // The proxy answered but could not reach the server: that is the server's side.
        E::ConnectionRefused | E::HostUnreachable | E::NetworkUnreachable | E::TtlExpired => {
            DnsFailure::Network(format!("{e} (reported by the proxy)"))
        }
        _ => DnsFailure::Proxy(e.to_string()),
    }
}

/// Sockets per server in a [`UdpPool`]: each question picks one of them at random.
pub const POOL_SOCKETS: usize = 8;

/// One perspective's UDP sockets, per server (see the module's documentation for the entropy
/// trade-off). A server's sockets exist while a question to it is in flight: the pool never holds
/// more descriptors than questions in flight, and none when idle.
#[derive(Debug)]
pub struct UdpPool {
    servers: std::sync::Mutex<HashMap<SocketAddr, Arc<ServerSockets>>>,
    /// Sockets per server ([`POOL_SOCKETS`]; tests use 1 to make questions share one).
    size: usize,
}

impl Default for UdpPool {
    fn default() -> UdpPool {
        UdpPool::with_sockets(POOL_SOCKETS)
    }
}

#[derive(Debug)]
struct ServerSockets {
    slots: std::sync::Mutex<Vec<Option<Arc<PooledSocket>>>>,
}

/// One connected socket and its reader task (stopped, and the socket closed, when dropped).
#[derive(Debug)]
struct PooledSocket {
    sock: Arc<UdpSocket>,
    state: Arc<std::sync::Mutex<SocketState>>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for PooledSocket {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// What a datagram may be handed to: the bytes, or the socket's error.
type Delivery = Result<Vec<u8>, String>;

#[derive(Debug, Default)]
struct SocketState {
    /// Questions in flight by ID.
    waiting: HashMap<u16, (Query, tokio::sync::mpsc::Sender<Delivery>)>,
    /// IDs of finished questions whose late replies (to a retransmission) are still dropped
    /// silently, as today's closed socket would have; an ID is not reused meanwhile.
    finished: std::collections::HashSet<u16>,
    /// The same IDs with the time until when they stay in `finished`, in the order they finished,
    /// to forget the expired ones from the front: a long bulk run keeps thousands per socket, and
    /// sweeping them all for every question made a question's cost grow with the run's length.
    expiry: std::collections::VecDeque<(tokio::time::Instant, u16)>,
    /// Why the socket stopped reading, if it did.
    dead: Option<String>,
}

impl SocketState {
    /// Forgets finished IDs whose late replies can no longer come. Questions end in about the
    /// order of their deadlines, so the queue is nearly sorted; an entry behind a later one waits
    /// for it, which only keeps an ID out of use a little longer.
    fn forget_expired(&mut self, now: tokio::time::Instant) {
        while let Some(&(until, id)) = self.expiry.front() {
            if until > now {
                break;
            }
            self.expiry.pop_front();
            // An ID is reused only after it left `finished`, so it is in the queue once.
            self.finished.remove(&id);
        }
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain maps behind, still usable.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl UdpPool {
    /// A pool of `n` sockets per server (at least one).
    pub fn with_sockets(n: usize) -> UdpPool {
        UdpPool {
            servers: std::sync::Mutex::default(),
            size: n.max(1),
        }
    }

    /// Servers with sockets open now (none when no question is in flight).
    pub fn open_servers(&self) -> usize {
        lock(&self.servers).len()
    }

    /// The sockets of `server`, held until the returned lease is dropped.
    fn lease(&self, server: SocketAddr) -> Lease<'_> {
        let sockets = lock(&self.servers)
            .entry(server)
            .or_insert_with(|| {
                Arc::new(ServerSockets {
                    slots: std::sync::Mutex::new(vec![None; self.size]),
                })
            })
            .clone();
        Lease {
            pool: self,
            server,
            sockets,
        }
    }
}

/// A question's hold on its server's sockets; the last one out closes them.
struct Lease<'a> {
    pool: &'a UdpPool,
    server: SocketAddr,
    sockets: Arc<ServerSockets>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let mut m = lock(&self.pool.servers);
        // The map's reference and this one: no other question to this server is in flight.
        if Arc::strong_count(&self.sockets) == 2
            && m.get(&self.server)
                .is_some_and(|s| Arc::ptr_eq(s, &self.sockets))
        {
            m.remove(&self.server);
        }
    }
}

impl ServerSockets {
    /// One socket picked at random, created (bound to a kernel-chosen ephemeral port, connected)
    /// when its slot is empty or its reader stopped.
    fn pick(&self, server: SocketAddr) -> Result<Arc<PooledSocket>, DnsFailure> {
        let mut slots = lock(&self.slots);
        let i = rand::random::<u32>() as usize % slots.len();
        if let Some(s) = &slots[i]
            && lock(&s.state).dead.is_none()
        {
            return Ok(s.clone());
        }
        let s = Arc::new(PooledSocket::open(server)?);
        slots[i] = Some(s.clone());
        Ok(s)
    }
}

impl PooledSocket {
    fn open(server: SocketAddr) -> Result<PooledSocket, DnsFailure> {
        let net = io_failure;
        let bind: SocketAddr = if server.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let std_sock = std::net::UdpSocket::bind(bind).map_err(net)?;
        std_sock.connect(server).map_err(net)?;
        std_sock.set_nonblocking(true).map_err(net)?;
        let sock = Arc::new(UdpSocket::from_std(std_sock).map_err(net)?);
        let state = Arc::new(std::sync::Mutex::new(SocketState::default()));
        let reader = tokio::spawn(read_loop(sock.clone(), state.clone()));
        Ok(PooledSocket {
            sock,
            state,
            reader,
        })
    }
}

/// Hands every datagram of one socket to the question it belongs to.
async fn read_loop(sock: Arc<UdpSocket>, state: Arc<std::sync::Mutex<SocketState>>) {
    // Room for any datagram (a hostile server may ignore the advertised payload size), but not
    // zero-filled: `recv_buf` writes into spare capacity, and one buffer serves the socket's life.
    let mut buf: Vec<u8> = Vec::with_capacity(65_535);
    loop {
        buf.clear();
        match sock.recv_buf(&mut buf).await {
            Ok(n) => route(&state, &buf[..n]),
            Err(e) => {
                let refused = e.kind() == std::io::ErrorKind::ConnectionRefused;
                let mut st = lock(&state);
                // Every question on this socket asks the one server that reported the error.
                for (_, tx) in st.waiting.values() {
                    let _ = tx.try_send(Err(e.to_string()));
                }
                // An ICMP error is reported once; anything else leaves the socket unusable.
                if !refused {
                    st.dead = Some(e.to_string());
                    return;
                }
            }
        }
    }
}

/// The question waiting for this datagram's ID gets it (and checks its question); a late copy of
/// a finished question's reply is dropped; anything else is a stray datagram from the server
/// (wrong ID, too short), handed to the question it claims to answer, or else to every question
/// in flight on the socket, so each reports what it ignored as a socket of its own would have.
fn route(state: &std::sync::Mutex<SocketState>, d: &[u8]) {
    let mut st = lock(state);
    if d.len() >= 2 {
        let id = u16::from_be_bytes([d[0], d[1]]);
        if let Some((_, tx)) = st.waiting.get(&id) {
            let _ = tx.try_send(Ok(d.to_vec()));
            return;
        }
        st.forget_expired(tokio::time::Instant::now());
        if st.finished.contains(&id) {
            return;
        }
    }
    if st.waiting.is_empty() {
        return;
    }
    let claimed = Message::from_vec(d)
        .ok()
        .and_then(|m| m.queries.first().cloned());
    let owner = claimed.and_then(|rq| {
        st.waiting
            .iter()
            .find(|(_, (q, _))| {
                name_str(q.name()) == name_str(rq.name()) && q.query_type() == rq.query_type()
            })
            .map(|(id, _)| *id)
    });
    for (id, (_, tx)) in &st.waiting {
        if owner.is_none_or(|o| o == *id) {
            let _ = tx.try_send(Ok(d.to_vec()));
        }
    }
}

/// A question's place on a socket; removed (and its ID remembered) when the question ends.
struct Registration<'a> {
    state: &'a std::sync::Mutex<SocketState>,
    id: u16,
    until: tokio::time::Instant,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let mut st = lock(self.state);
        st.waiting.remove(&self.id);
        st.finished.insert(self.id);
        st.expiry.push_back((self.until, self.id));
    }
}

/// One question over UDP on a socket of `pool`. `id` may be drawn again when another question
/// in flight on the chosen socket has it; the bytes sent (with the final ID) are returned with the
/// reply, for a TCP retry after truncation.
#[allow(clippy::too_many_arguments)]
async fn udp(
    pool: &UdpPool,
    server: SocketAddr,
    id: &mut u16,
    bytes: &[u8],
    q: &Query,
    deadline: tokio::time::Instant,
    timeout: Duration,
    retransmits: &mut u32,
) -> Result<(Message, Vec<u8>), DnsFailure> {
    let lease = pool.lease(server);
    let ps = lease.sockets.pick(server)?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Delivery>(16);
    {
        let mut st = lock(&ps.state);
        if let Some(e) = &st.dead {
            return Err(DnsFailure::Network(e.clone()));
        }
        st.forget_expired(tokio::time::Instant::now());
        // Never two questions in flight with the same (socket, ID), nor an ID whose late reply
        // may still come.
        while st.waiting.contains_key(id) || st.finished.contains(id) {
            *id = rand::random();
        }
        st.waiting.insert(*id, (q.clone(), tx));
    }
    let _registration = Registration {
        state: &ps.state,
        id: *id,
        until: deadline + timeout,
    };
    let mut bytes = bytes.to_vec();
    if bytes.len() >= 2 {
        bytes[..2].copy_from_slice(&id.to_be_bytes());
    }
    let bytes = bytes;
    let sock = &ps.sock;
    sock.send(&bytes).await.map_err(io_failure)?;
    let mut last_bad = None;
    // Keep listening past spoofed or stray datagrams (wrong ID, wrong question): they must be
    // ignored, not believed. The deadline bounds the loop; what was ignored is reported with it.
    let mut ignored = 0;
    // The same bytes (same ID) go out again on the same socket, so a late reply to any of them is
    // accepted: the server may be slow rather than the datagram lost.
    let interval = timeout / UDP_TRIES;
    let mut next_send = tokio::time::Instant::now() + interval;
    loop {
        let wake = if *retransmits + 1 < UDP_TRIES {
            next_send.min(deadline)
        } else {
            deadline
        };
        let d = match tokio::time::timeout_at(wake, rx.recv()).await {
            Ok(Some(Ok(d))) => d,
            Ok(Some(Err(e))) => {
                return Err(last_bad.unwrap_or(DnsFailure::Network(e)));
            }
            Ok(None) => {
                return Err(
                    last_bad.unwrap_or_else(|| DnsFailure::Network("the socket was closed".into()))
                );
            }
            Err(_) if wake < deadline => {
                sock.send(&bytes).await.map_err(io_failure)?;
                *retransmits += 1;
                next_send += interval;
                continue;
            }
            Err(_) => {
                let sent = *retransmits + 1;
                return Err(match last_bad {
                    Some(bad) => DnsFailure::Timeout2(format!(
                        "no valid reply to {sent} datagram(s); ignored {ignored} bad one(s), last: {bad}"
                    )),
                    None => DnsFailure::Timeout2(format!("no reply to {sent} datagram(s)")),
                });
            }
        };
        ignored += 1;
        match Message::from_vec(&d) {
            Ok(m) => match check_reply(&m, *id, q) {
                Ok(()) => return Ok((m, bytes)),
                Err(e) => last_bad = Some(e),
            },
            Err(e) => last_bad = Some(DnsFailure::Malformed(e.to_string())),
        }
    }
}

async fn tcp_roundtrip<S>(
    s: &mut S,
    id: u16,
    bytes: &[u8],
    q: &Query,
) -> Result<Message, DnsFailure>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let net = io_failure;
    let mut framed = Vec::with_capacity(bytes.len() + 2);
    framed.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
    framed.extend_from_slice(bytes);
    s.write_all(&framed).await.map_err(net)?;
    let mut len = [0u8; 2];
    s.read_exact(&mut len).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            DnsFailure::Network("server closed the TCP connection without a reply".into())
        } else {
            net(e)
        }
    })?;
    let n = u16::from_be_bytes(len) as usize;
    let mut buf = vec![0u8; n];
    s.read_exact(&mut buf).await.map_err(net)?;
    let m = Message::from_vec(&buf).map_err(|e| DnsFailure::Malformed(e.to_string()))?;
    check_reply(&m, id, q)?;
    Ok(m)
}

fn check_reply(m: &Message, id: u16, q: &Query) -> Result<(), DnsFailure> {
    if m.metadata.message_type != MessageType::Response {
        return Err(DnsFailure::Malformed("not a response".into()));
    }
    if m.metadata.id != id {
        return Err(DnsFailure::Malformed(format!(
            "reply ID {} does not match query ID {id}",
            m.metadata.id
        )));
    }
    match m.queries.first() {
        Some(rq) if rq.name().eq_case(q.name()) || name_str(rq.name()) == name_str(q.name()) => {
            if rq.query_type() != q.query_type() {
                return Err(DnsFailure::Malformed(
                    "reply is for another record type".into(),
                ));
            }
            Ok(())
        }
        Some(rq) => Err(DnsFailure::Malformed(format!(
            "reply is for another name ({})",
            name_str(rq.name())
        ))),
        // Some servers omit the question in error replies; accept those only when not NOERROR.
        None if m.metadata.response_code != ResponseCode::NoError => Ok(()),
        None => Err(DnsFailure::Malformed(
            "reply has no question section".into(),
        )),
    }
}

fn fill_facts(f: &mut DnsExchange, m: &Message) {
    f.rcode = Some(rcode_str(m.metadata.response_code));
    f.aa = m.metadata.authoritative;
    f.ad = m.metadata.authentic_data;
    f.answers = m.answers.iter().map(rr_of).collect();
    let mut chain = vec![f.qname.clone()];
    while chain.len() <= MAX_CNAME_CHAIN {
        let cur = chain.last().cloned().unwrap_or_default();
        let next = m.answers.iter().find_map(|r| match &r.data {
            RData::CNAME(c) if name_str(&r.name) == cur => Some(name_str(&c.0)),
            _ => None,
        });
        match next {
            Some(n) if !chain.contains(&n) => chain.push(n),
            Some(n) => {
                chain.push(n);
                f.error = Some("CNAME loop".into());
                break;
            }
            None => break,
        }
    }
    if chain.len() > MAX_CNAME_CHAIN && f.error.is_none() {
        f.error = Some(format!("CNAME chain longer than {MAX_CNAME_CHAIN}"));
    }
    f.cname_chain = if chain.len() > 1 { chain } else { Vec::new() };
    let no_data = m.answers.iter().all(|r| matches!(r.data, RData::CNAME(_)));
    if no_data
        && matches!(
            m.metadata.response_code,
            ResponseCode::NoError | ResponseCode::NXDomain
        )
    {
        f.negative_ttl = m.authorities.iter().find_map(|r| match &r.data {
            RData::SOA(s) => Some(s.minimum.min(r.ttl)),
            _ => None,
        });
    }
    if let Some(EdnsOption::Unknown(15, data)) = m
        .edns
        .as_ref()
        .and_then(|e| e.option(EdnsCode::Unknown(15)))
        && data.len() >= 2
    {
        let code = u16::from_be_bytes([data[0], data[1]]);
        let text = escape_bytes(&data[2..data.len().min(2 + 200)]);
        f.ede = Some(crate::observation::Ede {
            code,
            text: if text.is_empty() {
                ede_meaning(code).to_string()
            } else {
                format!("{}: {text}", ede_meaning(code))
            },
        });
    }
    if let Some(EdnsOption::Subnet(cs)) = m.edns.as_ref().and_then(|e| e.option(EdnsCode::Subnet)) {
        f.ecs_scope = Some(cs.scope_prefix());
    }
}

/// RFC 8914 info-code names (the DNSSEC ones matter most here).
pub fn ede_meaning(code: u16) -> &'static str {
    match code {
        0 => "Other Error",
        1 => "Unsupported DNSKEY Algorithm",
        2 => "Unsupported DS Digest Type",
        3 => "Stale Answer",
        4 => "Forged Answer",
        5 => "DNSSEC Indeterminate",
        6 => "DNSSEC Bogus",
        7 => "Signature Expired",
        8 => "Signature Not Yet Valid",
        9 => "DNSKEY Missing",
        10 => "RRSIGs Missing",
        11 => "No Zone Key Bit Set",
        12 => "NSEC Missing",
        13 => "Cached Error",
        14 => "Not Ready",
        15 => "Blocked",
        16 => "Censored",
        17 => "Filtered",
        18 => "Prohibited",
        19 => "Stale NXDomain Answer",
        20 => "Not Authoritative",
        21 => "Not Supported",
        22 => "No Reachable Authority",
        23 => "Network Error",
        24 => "Invalid Data",
        _ => "Unknown",
    }
}

/// Presentation names of response codes as operators know them.
pub fn rcode_str(c: ResponseCode) -> String {
    match c {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        other => format!("RCODE{}", u16::from(other)),
    }
}

fn rr_of(r: &Record) -> Rr {
    Rr {
        name: name_str(&r.name),
        rtype: r.record_type().to_string(),
        ttl: r.ttl,
        data: rdata_text(&r.data),
    }
}

/// Record data as text, with TXT strings joined (as CAs compare them) and bytes escaped.
pub fn rdata_text(d: &RData) -> String {
    match d {
        RData::A(a) => a.0.to_string(),
        RData::AAAA(a) => a.0.to_string(),
        RData::CNAME(c) => name_str(&c.0),
        RData::NS(n) => name_str(&n.0),
        RData::TXT(t) => escape_bytes(&txt_joined(t)),
        RData::CAA(c) => format!(
            "{} {} \"{}\"",
            c.flags(),
            escape_bytes(c.tag.as_bytes()),
            escape_bytes(&c.value)
        ),
        RData::SOA(s) => format!("{} {} {}", name_str(&s.mname), name_str(&s.rname), s.serial),
        other => other.to_string(),
    }
}

/// The strings of one TXT record concatenated, as RFC 8555 dns-01 compares them.
pub fn txt_joined(t: &hickory_resolver::proto::rr::rdata::TXT) -> Vec<u8> {
    t.txt_data.iter().flat_map(|s| s.iter().copied()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Finished IDs stay out of use until their late replies can no longer come, also when they
    /// finished out of deadline order, and leave once they are past it.
    #[test]
    fn finished_ids_are_forgotten_only_after_their_time() {
        let t0 = tokio::time::Instant::now();
        let s = Duration::from_secs(1);
        let mut st = SocketState::default();
        for (id, until) in [(1u16, t0 + s), (2, t0 + 3 * s), (3, t0 + 2 * s)] {
            st.finished.insert(id);
            st.expiry.push_back((until, id));
        }
        st.forget_expired(t0);
        assert_eq!(st.finished.len(), 3);
        st.forget_expired(t0 + s);
        assert!(!st.finished.contains(&1));
        // 3 is past its time but behind 2 in the queue: kept a little longer, never too short.
        st.forget_expired(t0 + 2 * s);
        assert!(st.finished.contains(&2) && st.finished.contains(&3));
        st.forget_expired(t0 + 3 * s);
        assert!(st.finished.is_empty() && st.expiry.is_empty());
    }

    fn ex(rcode: Option<&str>, aa: bool, error: Option<&str>) -> DnsExchange {
        DnsExchange {
            qname: "example.test".into(),
            qtype: "CAA".into(),
            server: "udp://127.0.1.1:53".into(),
            rcode: rcode.map(str::to_string),
            aa,
            ad: false,
            answers: Vec::new(),
            cname_chain: Vec::new(),
            negative_ttl: None,
            ecs: None,
            ecs_scope: None,
            elapsed_ms: 1,
            error: error.map(str::to_string),
            ede: None,
            retransmits: 0,
            diagnostic: true,
            reused: false,
        }
    }

    #[test]
    fn a_servers_fault_is_read_from_the_exchange_facts() {
        let truncated = DnsFailure::Truncated("Connection refused (os error 111)".into());
        let timeout = DnsFailure::Timeout2("no reply to 3 datagram(s)".into());
        for (f, want) in [
            (
                ex(None, false, Some(&truncated.to_string())),
                Some(ServerFault::TruncatedNoTcp),
            ),
            (
                ex(None, false, Some(&timeout.to_string())),
                Some(ServerFault::Timeout),
            ),
            (ex(Some("REFUSED"), false, None), Some(ServerFault::Refused)),
            (ex(Some("NOERROR"), false, None), Some(ServerFault::Lame)),
            (ex(Some("NXDOMAIN"), false, None), Some(ServerFault::Lame)),
            (ex(Some("SERVFAIL"), false, None), Some(ServerFault::Failed)),
            (ex(Some("NOERROR"), true, None), None),
            (ex(Some("NOERROR"), true, Some("CNAME loop")), None),
        ] {
            assert_eq!(server_fault(&f), want, "{f:?}");
        }
        assert_eq!(
            what_it_did(&ex(Some("NOERROR"), false, None)),
            "answered NOERROR without the AA flag (lame: it does not serve the zone)"
        );
        assert!(
            what_it_did(&ex(None, false, Some(&truncated.to_string())))
                .starts_with("reply truncated and TCP retry failed")
        );
    }

    #[tokio::test]
    async fn silent_server_costs_one_timeout() {
        // A bound UDP socket that never answers.
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        let ask = Ask {
            recursion: true,
            ecs: None,
            timeout: Duration::from_millis(300),
        };
        let a = exchange(&Transport::Udp(addr), "example.test", RecordType::A, ask).await;
        assert!(a.message.is_none());
        assert_eq!(failure_kind(&a), Some(FailureKind::Timeout));
        assert!(a.facts.elapsed_ms < 3_000);
        // Retransmitted inside the same timeout, never after it.
        assert_eq!(a.facts.retransmits, UDP_TRIES - 1);
        let mut buf = [0u8; 512];
        let mut got = 0;
        while let Ok(Ok(_)) =
            tokio::time::timeout(Duration::from_millis(50), silent.recv_from(&mut buf)).await
        {
            got += 1;
        }
        assert_eq!(got, UDP_TRIES, "datagrams the silent server received");
    }

    #[tokio::test]
    async fn a_lost_datagram_is_sent_again_and_a_late_first_reply_still_counts() {
        // The server answers only the second datagram of the query.
        let srv = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = srv.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            let (_, _) = srv.recv_from(&mut buf).await.unwrap();
            let (n, from) = srv.recv_from(&mut buf).await.unwrap();
            let mut q = Message::from_vec(&buf[..n]).unwrap();
            q.metadata.message_type = MessageType::Response;
            srv.send_to(&q.to_vec().unwrap(), from).await.unwrap();
        });
        let ask = Ask {
            recursion: true,
            ecs: None,
            timeout: Duration::from_millis(900),
        };
        let a = exchange(&Transport::Udp(addr), "example.test", RecordType::A, ask).await;
        assert!(a.message.is_some(), "{:?}", a.facts.error);
        assert_eq!(a.facts.retransmits, 1);
        assert!(
            (300..900).contains(&a.facts.elapsed_ms),
            "{}",
            a.facts.elapsed_ms
        );
    }

    fn pooled(server: SocketAddr, pool: &Arc<UdpPool>) -> Transport {
        Transport::PooledUdp {
            server,
            pool: pool.clone(),
        }
    }

    fn ask_ms(ms: u64) -> Ask {
        Ask {
            recursion: true,
            ecs: None,
            timeout: Duration::from_millis(ms),
        }
    }

    #[tokio::test]
    async fn two_questions_in_flight_on_one_socket_get_their_own_replies() {
        // The server holds both questions and answers them in reverse order, each with an A
        // record of its own: each question must get its own reply, from one shared socket.
        let srv = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = srv.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let mut buf = [0u8; 512];
            let mut got = Vec::new();
            for _ in 0..2 {
                let (n, from) = srv.recv_from(&mut buf).await.unwrap();
                got.push((Message::from_vec(&buf[..n]).unwrap(), from));
            }
            let sources: Vec<SocketAddr> = got.iter().map(|(_, f)| *f).collect();
            for (q, from) in got.into_iter().rev() {
                let mut r = q.clone();
                r.metadata.message_type = MessageType::Response;
                let name = r.queries[0].name().clone();
                let ip = if name_str(&name) == "one.test" {
                    [127, 0, 0, 1]
                } else {
                    [127, 0, 0, 2]
                };
                r.answers.push(Record::from_rdata(
                    name,
                    60,
                    RData::A(hickory_resolver::proto::rr::rdata::A(ip.into())),
                ));
                srv.send_to(&r.to_vec().unwrap(), from).await.unwrap();
            }
            sources
        });
        let pool = Arc::new(UdpPool::with_sockets(1));
        let t = pooled(addr, &pool);
        let (one, two) = tokio::join!(
            exchange(&t, "one.test", RecordType::A, ask_ms(2_000)),
            exchange(&t, "two.test", RecordType::A, ask_ms(2_000)),
        );
        assert_eq!(one.addresses(), vec![IpAddr::from([127, 0, 0, 1])]);
        assert_eq!(two.addresses(), vec![IpAddr::from([127, 0, 0, 2])]);
        let sources = server.await.unwrap();
        assert_eq!(sources[0], sources[1], "both asked on one socket");
        assert_eq!(pool.open_servers(), 0, "the socket is closed when idle");
    }

    #[tokio::test]
    async fn on_a_shared_socket_a_wrong_id_or_question_is_ignored_and_counted() {
        // Two questions in flight on one socket. The server answers the first with the wrong ID
        // and then with a reply to another question under the right ID, and never truly: both
        // must be ignored and counted by that question; the second question is answered and
        // must not be disturbed.
        let srv = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = srv.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            let mut got = Vec::new();
            for _ in 0..2 {
                let (n, from) = srv.recv_from(&mut buf).await.unwrap();
                got.push((Message::from_vec(&buf[..n]).unwrap(), from));
            }
            for (q, from) in got {
                let mut r = q.clone();
                r.metadata.message_type = MessageType::Response;
                if name_str(r.queries[0].name()) == "bad.test" {
                    let mut wrong_id = r.clone();
                    wrong_id.metadata.id = r.metadata.id.wrapping_add(1);
                    srv.send_to(&wrong_id.to_vec().unwrap(), from)
                        .await
                        .unwrap();
                    let mut other = r.clone();
                    other.queries = vec![Query::query(
                        Name::from_ascii("evil.test.").unwrap(),
                        RecordType::A,
                    )];
                    srv.send_to(&other.to_vec().unwrap(), from).await.unwrap();
                } else {
                    srv.send_to(&r.to_vec().unwrap(), from).await.unwrap();
                }
            }
            // Silent from now on, but listening (a closed port would refuse the retransmissions).
            while srv.recv_from(&mut buf).await.is_ok() {}
        });
        let pool = Arc::new(UdpPool::with_sockets(1));
        let t = pooled(addr, &pool);
        let (bad, good) = tokio::join!(
            exchange(&t, "bad.test", RecordType::A, ask_ms(600)),
            exchange(&t, "good.test", RecordType::A, ask_ms(600)),
        );
        assert!(bad.message.is_none(), "never believed: {:?}", bad.facts);
        let e = bad.facts.error.unwrap();
        assert!(e.contains("ignored 2 bad one(s)"), "{e}");
        assert!(e.contains("another name (evil.test)"), "{e}");
        assert!(good.message.is_some(), "{:?}", good.facts.error);
        assert_eq!(pool.open_servers(), 0);
    }

    #[tokio::test]
    async fn a_refused_port_on_a_shared_socket_fails_its_questions_at_once() {
        // Bound, then released: the kernel answers with ICMP port-unreachable.
        let addr = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let pool = Arc::new(UdpPool::default());
        let a = exchange(&pooled(addr, &pool), "x.test", RecordType::A, ask_ms(3_000)).await;
        assert_eq!(
            failure_kind(&a),
            Some(FailureKind::Network),
            "{:?}",
            a.facts
        );
        assert!(a.facts.error.unwrap().contains("refused"));
        assert!(a.facts.elapsed_ms < 1_000);
    }

    #[tokio::test]
    async fn wrong_id_is_ignored_and_reply_bounded() {
        let srv = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = srv.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            let (n, from) = srv.recv_from(&mut buf).await.unwrap();
            let mut q = Message::from_vec(&buf[..n]).unwrap();
            q.metadata.message_type = MessageType::Response;
            q.metadata.id = q.metadata.id.wrapping_add(1);
            srv.send_to(&q.to_vec().unwrap(), from).await.unwrap();
        });
        let ask = Ask {
            recursion: true,
            ecs: None,
            timeout: Duration::from_millis(400),
        };
        let a = exchange(&Transport::Udp(addr), "example.test", RecordType::A, ask).await;
        assert!(
            a.message.is_none(),
            "a reply with the wrong ID must not be believed"
        );
    }
}
