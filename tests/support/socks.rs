//! Fake SOCKS5 proxy for the integration tests, standing in for a remote
//! vantage point: outgoing connections leave from a chosen egress address in
//! 127.0.0.0/8, so an [`super::http::HttpOrigin`] sees a distinct client
//! address per proxy. Built on fast-socks5's server protocol.
//!
//! CONNECT only; BIND and UDP ASSOCIATE get "command not supported".
//! Domain targets (socks5h) are never resolved through the system resolver,
//! which could leak a query off the machine: only IP literals and names in
//! the static map given to [`Socks5Proxy::with_hosts`] resolve, anything
//! else gets "host unreachable". Targets outside 127.0.0.0/8 get "connection
//! not allowed" and are never contacted.
//!
//! The API is synchronous: each proxy runs on its own thread (see
//! [`super::ServerThread`]) and stops when dropped.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fast_socks5::server::Socks5ServerProtocol;
use fast_socks5::util::target_addr::TargetAddr;
use fast_socks5::{ReplyError, Socks5Command};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use super::{ServerThread, assert_loopback, is_loopback_v4};

/// Bound on the SOCKS handshake and on the outgoing connect.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// The target a client asked for, exactly as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SocksTarget {
    /// A host name (socks5h / remote DNS).
    Domain(String, u16),
    /// An address (socks5 / local DNS).
    Ip(SocketAddr),
}

/// One CONNECT (or other command) request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocksLog {
    pub client: SocketAddr,
    /// User name when password auth was used.
    pub user: Option<String>,
    /// `"connect"`, `"bind"` or `"udp-associate"`.
    pub command: String,
    pub target: SocksTarget,
    pub succeeded: bool,
    /// Local address of the outgoing connection (its IP is the egress).
    pub egress: Option<SocketAddr>,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

type SocksLogStore = Arc<Mutex<Vec<SocksLog>>>;
type Hosts = Arc<Mutex<HashMap<String, IpAddr>>>;

struct Config {
    egress: IpAddr,
    credentials: Option<(String, String)>,
    hosts: Hosts,
    log: SocksLogStore,
}

/// A running proxy. Stops when dropped.
#[derive(Debug)]
pub struct Socks5Proxy {
    pub addr: SocketAddr,
    hosts: Hosts,
    log: SocksLogStore,
    _thread: ServerThread,
}

impl Socks5Proxy {
    /// No-auth proxy on `listen_ip` (ephemeral port) whose outgoing
    /// connections are bound to `egress`. Both must be in 127/8.
    pub fn start(listen_ip: IpAddr, egress: IpAddr) -> Socks5Proxy {
        Self::spawn(listen_ip, egress, None)
    }

    /// Same, but requires username/password auth with these credentials
    /// (no-auth clients are rejected during method negotiation).
    pub fn start_with_auth(
        listen_ip: IpAddr,
        egress: IpAddr,
        user: &str,
        pass: &str,
    ) -> Socks5Proxy {
        Self::spawn(listen_ip, egress, Some((user.to_owned(), pass.to_owned())))
    }

    /// Adds a static host map for domain targets (case-insensitive, trailing
    /// dot ignored). Takes effect immediately on the running proxy.
    pub fn with_hosts(self, hosts: HashMap<String, IpAddr>) -> Self {
        for (name, ip) in hosts {
            self.add_host(&name, ip);
        }
        self
    }

    pub fn add_host(&self, name: &str, ip: IpAddr) {
        self.hosts.lock().unwrap().insert(normalise(name), ip);
    }

    fn spawn(listen_ip: IpAddr, egress: IpAddr, credentials: Option<(String, String)>) -> Self {
        assert_loopback(listen_ip);
        assert_loopback(egress);
        let listener =
            std::net::TcpListener::bind((listen_ip, 0)).expect("bind SOCKS listener on 127/8");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let addr = listener.local_addr().expect("local addr");
        let hosts = Hosts::default();
        let log = SocksLogStore::default();
        let config = Arc::new(Config {
            egress,
            credentials,
            hosts: hosts.clone(),
            log: log.clone(),
        });
        let thread = ServerThread::spawn(&format!("socks-{addr}"), move || async move {
            let listener = TcpListener::from_std(listener).expect("register listener");
            loop {
                match listener.accept().await {
                    Ok((stream, peer)) => {
                        tokio::spawn(serve_client(stream, peer, config.clone()));
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        });
        Socks5Proxy {
            addr,
            hosts,
            log,
            _thread: thread,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `socks5://ip:port` (or `socks5h://` with `remote_dns`), for CLI flags.
    pub fn url(&self, remote_dns: bool) -> String {
        let scheme = if remote_dns { "socks5h" } else { "socks5" };
        format!("{scheme}://{}", self.addr)
    }

    /// Every command request so far, in arrival order.
    pub fn connections(&self) -> Vec<SocksLog> {
        self.log.lock().unwrap().clone()
    }
}

fn normalise(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

async fn serve_client(stream: TcpStream, peer: SocketAddr, config: Arc<Config>) {
    // Handshake: auth negotiation plus the command. Bounded so a client that
    // connects and says nothing does not pin a task forever.
    let handshake = async {
        let (proto, user) = match &config.credentials {
            None => (
                Socks5ServerProtocol::accept_no_auth(stream).await.ok()?,
                None,
            ),
            Some((want_user, want_pass)) => {
                Socks5ServerProtocol::accept_password_auth(stream, |user, pass| {
                    (user == *want_user && pass == *want_pass).then_some(user)
                })
                .await
                .ok()?
            }
        };
        proto.read_command().await.ok().map(|cmd| (cmd, user))
    };
    let Ok(Some(((proto, command, target), user))) =
        tokio::time::timeout(STEP_TIMEOUT, handshake).await
    else {
        return;
    };

    let mut entry = SocksLog {
        client: peer,
        user,
        command: match command {
            Socks5Command::TCPConnect => "connect",
            Socks5Command::TCPBind => "bind",
            Socks5Command::UDPAssociate => "udp-associate",
        }
        .to_owned(),
        target: match &target {
            TargetAddr::Ip(sa) => SocksTarget::Ip(*sa),
            TargetAddr::Domain(name, port) => SocksTarget::Domain(name.clone(), *port),
        },
        succeeded: false,
        egress: None,
        error: None,
    };

    match connect_target(&config, &command, &target).await {
        Err(reply) => {
            entry.error = Some(reply.to_string());
            config.log.lock().unwrap().push(entry);
            let _ = proto.reply_error(&reply).await;
        }
        Ok(outbound) => {
            let egress = outbound.local_addr().ok();
            entry.egress = egress;
            entry.succeeded = true;
            config.log.lock().unwrap().push(entry);
            let bound = egress.unwrap_or_else(|| SocketAddr::new(config.egress, 0));
            if let Ok(inbound) = proto.reply_success(bound).await {
                // Ends when either side closes; the runtime shutdown cancels
                // it otherwise.
                fast_socks5::server::transfer(inbound, outbound).await;
            }
        }
    }
}

async fn connect_target(
    config: &Config,
    command: &Socks5Command,
    target: &TargetAddr,
) -> Result<TcpStream, ReplyError> {
    if !matches!(command, Socks5Command::TCPConnect) {
        return Err(ReplyError::CommandNotSupported);
    }
    let dst = match target {
        TargetAddr::Ip(sa) => *sa,
        TargetAddr::Domain(name, port) => {
            // IP literals need no resolution; everything else must be in the
            // static map. Never the system resolver.
            let ip = match name.parse::<IpAddr>() {
                Ok(ip) => ip,
                Err(_) => *config
                    .hosts
                    .lock()
                    .unwrap()
                    .get(&normalise(name))
                    .ok_or(ReplyError::HostUnreachable)?,
            };
            SocketAddr::new(ip, *port)
        }
    };
    if !is_loopback_v4(dst.ip()) {
        return Err(ReplyError::ConnectionNotAllowed);
    }
    let socket = TcpSocket::new_v4().map_err(|_| ReplyError::GeneralFailure)?;
    socket
        .bind(SocketAddr::new(config.egress, 0))
        .map_err(|_| ReplyError::GeneralFailure)?;
    match tokio::time::timeout(STEP_TIMEOUT, socket.connect(dst)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(_)) => Err(ReplyError::ConnectionRefused),
        Err(_) => Err(ReplyError::ConnectionTimeout),
    }
}
