//! A DNS-over-HTTPS (RFC 8484) front end for the integration tests. It terminates TLS with a
//! certificate from a throw-away CA generated at start-up (rcgen; the CA's PEM is written to a
//! temp dir so a config can name it as `doh_ca`), speaks just enough HTTP/1.1 (keep-alive,
//! `Content-Length` bodies, no chunking) and forwards each DNS message unchanged over UDP to an
//! upstream server, normally a [`super::dns::DnsServer`], so the answer logic is the fake's. A
//! truncated upstream reply is retried over TCP, as a resolver behind a real DoH front end would.
//! [`DohServer::start_with_status`] builds one that answers every request with an HTTP error.
//!
//! Accepted: `POST /dns-query` with `Content-Type: application/dns-message` and
//! `GET /dns-query?dns=<base64url>`. Anything else is answered 400 (malformed request or
//! message), 404 (other path), 405 (other method), 411 (no `Content-Length`), 413 (body over
//! 65535 bytes) or 415 (other content type); an upstream that does not answer within 2 s gives
//! 502. Every parsed request is logged ([`DohLog`]); failed TLS handshakes are not requests and
//! are not logged.
//!
//! TLS uses the aws-lc-rs provider explicitly (never the process default), so it cannot clash
//! with another provider linked into the same test binary. The API is synchronous: each server
//! runs on its own thread (see [`super::ServerThread`]) and stops when dropped.

use std::fmt::Write as _;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::wire::{self, ReadError, Request};
use super::{ServerThread, assert_loopback, bind_same_port};

/// The only path served.
pub const DOH_PATH: &str = "/dns-query";
/// The RFC 8484 media type.
pub const DNS_MESSAGE: &str = "application/dns-message";
/// Largest request head (request line + headers) and body accepted (a DNS message never
/// exceeds 65,535 bytes).
const LIMITS: wire::Limits = wire::Limits {
    head: 16 * 1024,
    body: 65_535,
};
/// Bound for the TLS handshake and for each request head, including the idle wait for the next
/// request on a kept-alive connection.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the upstream DNS server may take (per transport).
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);

/// One HTTP request as received (after TLS), logged before the response is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DohLog {
    /// Client address.
    pub client: IpAddr,
    /// Serial number of the TLS connection it came on (0, 1, ...): equal numbers mean keep-alive.
    pub connection: u64,
    pub method: String,
    /// Request target exactly as sent (path plus query).
    pub path: String,
    pub content_type: Option<String>,
    /// Bytes of request body.
    pub body_len: usize,
    /// Status answered.
    pub status: u16,
}

type DohLogStore = Arc<Mutex<Vec<DohLog>>>;

/// What the server does with a well-formed request.
#[derive(Clone, Copy, Debug)]
enum Mode {
    /// Forward DoH queries to this DNS server.
    Forward(SocketAddr),
    /// Answer every request with this status.
    Status(u16),
}

/// The throw-away PKI of one server.
struct Pki {
    ca_pem: String,
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

/// A CA and a server certificate for `ip` (IP SAN) signed by it, both P-256.
fn generate_pki(ip: IpAddr) -> Pki {
    let ca_key = KeyPair::generate().expect("generate CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "mpic-check test DoH CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).expect("self-sign CA");
    let issuer = Issuer::new(ca, ca_key);

    let key = KeyPair::generate().expect("generate server key");
    let mut leaf = CertificateParams::new(Vec::<String>::new()).expect("server params");
    leaf.subject_alt_names = vec![SanType::IpAddress(ip)];
    leaf.distinguished_name
        .push(DnType::CommonName, ip.to_string());
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    let cert = leaf.signed_by(&key, &issuer).expect("sign server cert");
    Pki {
        ca_pem: ca_cert.pem(),
        cert: cert.der().clone(),
        key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
    }
}

fn tls_acceptor(pki: &Pki) -> TlsAcceptor {
    let mut config = ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![pki.cert.clone()], pki.key.clone_key())
        .expect("server certificate");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsAcceptor::from(Arc::new(config))
}

/// A running DoH server on [`DohServer::addr`]. Stops when dropped.
#[derive(Debug)]
pub struct DohServer {
    pub addr: SocketAddr,
    /// PEM of the CA that signed the server certificate (for `doh_ca`).
    pub ca_pem_path: PathBuf,
    log: DohLogStore,
    _thread: ServerThread,
    _dir: tempfile::TempDir,
}

fn bind_tcp(ip: IpAddr, port: u16) -> io::Result<(std::net::TcpListener, u16)> {
    let listener = std::net::TcpListener::bind((ip, port))?;
    listener.set_nonblocking(true)?;
    let port = listener.local_addr()?.port();
    Ok((listener, port))
}

impl DohServer {
    /// Serves DoH on `ip` (127/8, also the certificate's IP SAN) with an ephemeral port,
    /// forwarding queries to `upstream` (127/8) over UDP.
    pub fn start(ip: IpAddr, upstream: SocketAddr) -> DohServer {
        assert_loopback(upstream.ip());
        Self::spawn(ip, Mode::Forward(upstream))
    }

    /// Like [`DohServer::start`], but every request is answered `status` (e.g. 503) with a
    /// short text body; nothing is forwarded.
    pub fn start_with_status(ip: IpAddr, upstream: SocketAddr, status: u16) -> DohServer {
        assert_loopback(upstream.ip());
        assert!(
            (100..=999).contains(&status),
            "not an HTTP status: {status}"
        );
        Self::spawn(ip, Mode::Status(status))
    }

    fn spawn(ip: IpAddr, mode: Mode) -> DohServer {
        let listener = bind_same_port(&[ip], bind_tcp)
            .expect("bind DoH listener on 127/8")
            .remove(0);
        let addr = listener.local_addr().expect("local addr");
        let pki = generate_pki(ip);
        let dir = tempfile::tempdir().expect("temp dir for the DoH CA");
        let ca_pem_path = dir.path().join("doh-ca.pem");
        std::fs::write(&ca_pem_path, &pki.ca_pem).expect("write DoH CA PEM");
        let acceptor = tls_acceptor(&pki);
        let log = DohLogStore::default();
        let task_log = log.clone();
        let thread = ServerThread::spawn(&format!("doh-{addr}"), move || async move {
            let listener = TcpListener::from_std(listener).expect("register listener");
            let serial = AtomicU64::new(0);
            loop {
                match listener.accept().await {
                    Ok((stream, peer)) => {
                        let conn = serial.fetch_add(1, Ordering::Relaxed);
                        tokio::spawn(serve_connection(
                            stream,
                            peer,
                            conn,
                            acceptor.clone(),
                            mode,
                            task_log.clone(),
                        ));
                    }
                    // E.g. EMFILE under a parallel test run: back off, keep serving.
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        });
        DohServer {
            addr,
            ca_pem_path,
            log,
            _thread: thread,
            _dir: dir,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `https://<addr>/dns-query`, the value for a perspective's `dns` key.
    pub fn url(&self) -> String {
        format!("https://{}{DOH_PATH}", self.addr)
    }

    /// The CA certificate in PEM.
    pub fn ca_pem(&self) -> String {
        std::fs::read_to_string(&self.ca_pem_path).expect("read DoH CA PEM")
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<DohLog> {
        self.log.lock().unwrap().clone()
    }

    pub fn clear_requests(&self) {
        self.log.lock().unwrap().clear();
    }
}

/// A response to write.
struct Resp {
    status: u16,
    content_type: &'static str,
    extra: Option<(&'static str, &'static str)>,
    body: Vec<u8>,
}

impl Resp {
    fn text(status: u16, body: &str) -> Resp {
        Resp {
            status,
            content_type: "text/plain; charset=utf-8",
            extra: None,
            body: format!("{body}\n").into_bytes(),
        }
    }
}

async fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    connection: u64,
    acceptor: TlsAcceptor,
    mode: Mode,
    log: DohLogStore,
) {
    let mut tls = match tokio::time::timeout(READ_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        // A client that rejects the certificate aborts here: no request, nothing logged.
        Ok(Err(_)) | Err(_) => return,
    };
    let mut buf = Vec::new();
    loop {
        let req = match tokio::time::timeout(
            READ_TIMEOUT,
            wire::read_request(&mut tls, &mut buf, LIMITS),
        )
        .await
        {
            Ok(Ok(req)) => req,
            Ok(Err(ReadError::Reject(status))) => {
                let resp = Resp::text(status, reason(status));
                let _ = write_response(&mut tls, &resp, false).await;
                return;
            }
            Ok(Err(ReadError::Gone)) | Err(_) => return,
        };
        let resp = respond(&req, mode).await;
        let keep = req.keep_alive() && resp.status < 500;
        log.lock().unwrap().push(DohLog {
            client: peer.ip(),
            connection,
            method: req.method.clone(),
            path: req.target.clone(),
            content_type: req.header("Content-Type").map(str::to_owned),
            body_len: req.body.len(),
            status: resp.status,
        });
        if write_response(&mut tls, &resp, keep).await.is_err() || !keep {
            return;
        }
    }
}

/// The RFC 8484 logic: which DNS message the request carries, and what to answer.
async fn respond(req: &Request, mode: Mode) -> Resp {
    let upstream = match mode {
        Mode::Status(status) => return Resp::text(status, reason(status)),
        Mode::Forward(upstream) => upstream,
    };
    let (path, query) = req
        .target
        .split_once('?')
        .unwrap_or((req.target.as_str(), ""));
    if path != DOH_PATH {
        return Resp::text(404, "not found");
    }
    let message = match req.method.as_str() {
        "POST" => {
            let media = req
                .header("Content-Type")
                .and_then(|ct| ct.split(';').next())
                .map(str::trim);
            if !media.is_some_and(|m| m.eq_ignore_ascii_case(DNS_MESSAGE)) {
                return Resp::text(415, "content-type must be application/dns-message");
            }
            req.body.clone()
        }
        "GET" => {
            let param = query.split('&').find_map(|kv| kv.strip_prefix("dns="));
            match param.and_then(base64url_decode) {
                Some(m) => m,
                None => return Resp::text(400, "missing or invalid dns= parameter"),
            }
        }
        _ => {
            let mut resp = Resp::text(405, "use GET or POST");
            resp.extra = Some(("Allow", "GET, POST"));
            return resp;
        }
    };
    // A DNS header is 12 bytes; anything shorter is no DNS message.
    if message.len() < 12 {
        return Resp::text(400, "not a DNS message");
    }
    match forward(upstream, &message).await {
        Ok(reply) => Resp {
            status: 200,
            content_type: DNS_MESSAGE,
            extra: Some(("Cache-Control", "max-age=0")),
            body: reply,
        },
        Err(e) => Resp::text(502, &format!("upstream DNS server: {e}")),
    }
}

/// Sends `query` to `upstream` over UDP from 127.0.0.1 and returns the first reply; a reply with
/// TC=1 is replaced by the answer over TCP.
async fn forward(upstream: SocketAddr, query: &[u8]) -> io::Result<Vec<u8>> {
    let timed_out = || io::Error::new(io::ErrorKind::TimedOut, "no reply within 2s");
    let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    sock.connect(upstream).await?;
    sock.send(query).await?;
    let mut buf = vec![0u8; 65_535];
    let n = tokio::time::timeout(UPSTREAM_TIMEOUT, sock.recv(&mut buf))
        .await
        .map_err(|_| timed_out())??;
    buf.truncate(n);
    let truncated = buf.len() > 2 && buf[2] & 0x02 != 0;
    if !truncated {
        return Ok(buf);
    }
    tokio::time::timeout(UPSTREAM_TIMEOUT, async {
        let mut tcp = TcpStream::connect(upstream).await?;
        let len = u16::try_from(query.len()).map_err(io::Error::other)?;
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(query);
        tcp.write_all(&framed).await?;
        let mut len = [0u8; 2];
        tcp.read_exact(&mut len).await?;
        let mut reply = vec![0u8; usize::from(u16::from_be_bytes(len))];
        tcp.read_exact(&mut reply).await?;
        Ok(reply)
    })
    .await
    .map_err(|_| timed_out())?
}

async fn write_response<S>(stream: &mut S, resp: &Resp, keep: bool) -> io::Result<()>
where
    S: AsyncWrite + Unpin,
{
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
        resp.status,
        reason(resp.status),
        resp.content_type,
        resp.body.len()
    );
    if let Some((name, value)) = resp.extra {
        let _ = write!(out, "{name}: {value}\r\n");
    }
    out.push_str(if keep {
        "Connection: keep-alive\r\n\r\n"
    } else {
        "Connection: close\r\n\r\n"
    });
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&resp.body);
    stream.write_all(&bytes).await?;
    stream.flush().await?;
    if !keep {
        // close_notify, then FIN.
        stream.shutdown().await?;
    }
    Ok(())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Status",
    }
}

const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64url without padding, as RFC 8484 GET requests carry the message.
pub fn base64url_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for group in data.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..=group.len() {
            out.push(char::from(BASE64URL[(n >> (18 - 6 * i) & 0x3f) as usize]));
        }
    }
    out
}

/// Inverse of [`base64url_encode`]; trailing `=` padding is tolerated. `None` on any other
/// character or an impossible length.
pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = BASE64URL.iter().position(|&x| x == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}
