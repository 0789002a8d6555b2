//! A perspective made usable: a `Vantage` owns one perspective's DNS side (its own servers, no
//! cache, nothing shared with other perspectives, as the BRs require) and its HTTP side, and
//! answers "what does this name look like from here". The `authoritative` DNS side discovers the
//! zone's nameservers once per run (through the bootstrap resolver) and then asks every address
//! directly, non-recursively, with the perspective's ECS subnet.

pub mod dns;
pub mod http;
pub mod pace;
pub mod policy;
pub mod tls;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use tokio::sync::{Mutex, OnceCell};

use crate::config::{DnsSpec, HttpSpec, PerspectiveSpec, ProxyKind};
use crate::observation::{DnsExchange, Phase};
use dns::{Answer, Ask, FailureKind, Transport};

/// Environment variable that moves the authoritative DNS port (tests and labs only).
pub const DNS_PORT_ENV: &str = "MPIC_CHECK_DNS_PORT";
/// Environment variable that moves the HTTP-01 port (tests and labs only).
pub const HTTP_PORT_ENV: &str = "MPIC_CHECK_HTTP_PORT";
/// Environment variable that moves the TLS-ALPN-01 port 443 (tests and labs only).
pub const TLS_PORT_ENV: &str = "MPIC_CHECK_TLS_PORT";
/// Environment variable that turns off sharing answers about shared parents (as `--no-share`).
pub const NO_SHARE_ENV: &str = "MPIC_CHECK_NO_SHARE";

/// The run-wide network settings that tests and labs may change: the authoritative DNS port, the
/// HTTP-01 port and the address policy. Read from the environment once at start and handed to every
/// vantage (through [`Discovery`]), so that no check reads the environment on its own and a bad value
/// is one error before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetSettings {
    /// Which addresses learned from a domain may be contacted.
    pub addresses: policy::AddressPolicy,
    /// Port used to reach authoritative servers (53).
    pub dns_port: u16,
    /// Port HTTP-01 fetches go to instead of 80, when a test moved it.
    pub http_port: Option<u16>,
    /// Port TLS-ALPN-01 handshakes go to (443 unless a test moved it).
    pub tls_port: u16,
    /// Whether answers about shared parents are asked once per perspective and reused by the
    /// names of the run while fresh (see [`Vantage::lookup_parent`]); off with `--no-share` or
    /// [`NO_SHARE_ENV`].
    pub share: bool,
}

impl Default for NetSettings {
    fn default() -> NetSettings {
        NetSettings {
            addresses: policy::AddressPolicy::strict(),
            dns_port: 53,
            http_port: None,
            tls_port: 443,
            share: true,
        }
    }
}

impl NetSettings {
    /// The settings of this process: the defaults, changed by [`DNS_PORT_ENV`], [`HTTP_PORT_ENV`] and
    /// [`policy::ALLOW_RANGES_ENV`] where set. A value that is set but unusable is an error.
    pub fn from_env() -> Result<NetSettings, String> {
        fn port(var: &str) -> Result<Option<u16>, String> {
            match std::env::var(var) {
                Ok(v) => v
                    .trim()
                    .parse::<u16>()
                    .ok()
                    .filter(|&p| p != 0)
                    .map(Some)
                    .ok_or_else(|| format!("{var}={v:?} is not a port number (1-65535)")),
                Err(std::env::VarError::NotPresent) => Ok(None),
                Err(std::env::VarError::NotUnicode(_)) => Err(format!("{var} is not valid UTF-8")),
            }
        }
        Ok(NetSettings {
            addresses: policy::AddressPolicy::from_env()?,
            dns_port: port(DNS_PORT_ENV)?.unwrap_or(53),
            http_port: port(HTTP_PORT_ENV)?.filter(|&p| p != 80),
            tls_port: port(TLS_PORT_ENV)?.unwrap_or(443),
            share: std::env::var_os(NO_SHARE_ENV).is_none_or(|v| v.is_empty() || v == "0"),
        })
    }
}

/// The result of asking one question from one perspective, possibly of several servers.
#[derive(Debug, Clone)]
pub struct Lookup {
    /// Every exchange made, in order.
    pub exchanges: Vec<DnsExchange>,
    /// The reply the perspective relies on, when any server gave an answer.
    pub answer: Option<Answer>,
    /// Why there is no answer (or why the answer is an error rcode).
    pub failure: Option<LookupFailure>,
}

/// A lookup that produced no usable answer.
#[derive(Debug, Clone)]
pub struct LookupFailure {
    /// Phase for the observation.
    pub phase: Phase,
    /// One line.
    pub message: String,
    /// The perspective's own machinery failed (proxy, unreachable resolver), not the domain.
    pub perspective_fault: bool,
}

impl Lookup {
    /// Answer records' texts of `rtype` at the end of the chain.
    pub fn addresses(&self) -> Vec<IpAddr> {
        self.answer
            .as_ref()
            .map(Answer::addresses)
            .unwrap_or_default()
    }

    /// The TXT values of the answer, each record's strings joined (as RFC 8555 dns-01 compares
    /// them) and escaped for display.
    pub fn txt_values(&self) -> Vec<String> {
        self.answer
            .as_ref()
            .map(|a| {
                a.records(RecordType::TXT)
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::TXT(t) => Some(crate::text::escape_bytes(&dns::txt_joined(t))),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Response code of the answer relied on.
    pub fn rcode(&self) -> Option<ResponseCode> {
        self.answer.as_ref().and_then(Answer::rcode)
    }
}

/// Cache of zone-cut discoveries for one run. This is the tool's own bookkeeping (which servers
/// are authoritative), not an answer cache: the answers themselves are always asked fresh.
#[derive(Debug, Default)]
pub struct Discovery {
    by_name: Mutex<HashMap<String, ZoneCell>>,
    by_apex: Mutex<HashMap<String, ZoneCell>>,
    /// The run's network settings, shared by every vantage that shares this bookkeeping.
    net: NetSettings,
    /// Questions this run may still send, when it has a budget (see [`Discovery::with_budget`]).
    budget: Option<std::sync::atomic::AtomicU64>,
    /// The budget it started with, for the message when it runs out.
    budget_total: u64,
    /// Every DNS server's window of questions in flight (back-pressure, run-wide).
    pub pace: pace::Pacer,
    /// UDP sockets of the vantages that ask from this host as sources (a nameserver asked
    /// directly, an ECS emulation). Those vantages are made per name, so a pool of their own
    /// would open and close a socket for every question of a bulk run; sockets are keyed by
    /// server, so sharing them never mixes two servers' replies.
    host_udp: Arc<dns::UdpPool>,
}

impl Discovery {
    /// Bookkeeping for one run with these network settings.
    pub fn new(net: NetSettings) -> Discovery {
        Discovery {
            net,
            ..Discovery::default()
        }
    }

    /// The same with a budget of `questions` DNS questions for the whole run (each server asked
    /// counts once). The caps on nameservers bound one name; the budget bounds a whole run, so no
    /// input, however hostile, makes the tool a datagram amplifier.
    pub fn with_budget(net: NetSettings, questions: u64) -> Discovery {
        Discovery {
            net,
            budget: Some(std::sync::atomic::AtomicU64::new(questions)),
            budget_total: questions,
            ..Discovery::default()
        }
    }

    /// Takes `n` questions from the budget; `Err` with a one-line reason when it is spent.
    fn spend(&self, n: usize) -> Result<(), LookupFailure> {
        use std::sync::atomic::Ordering;
        let Some(left) = &self.budget else {
            return Ok(());
        };
        let n = n as u64;
        left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |l| l.checked_sub(n))
            .map(|_| ())
            .map_err(|_| LookupFailure {
                phase: Phase::Dns,
                message: format!(
                    "not asked: this run's budget of {} DNS questions is spent (a safety limit of mpic-check; check fewer names per run)",
                    self.budget_total
                ),
                perspective_fault: true,
            })
    }

    /// The run's network settings.
    pub fn net(&self) -> &NetSettings {
        &self.net
    }
}

/// One discovery, computed once and shared by everyone who waits for it.
type ZoneCell = Arc<OnceCell<Result<Zone, DiscoveryError>>>;

/// Entries either map may hold before finished discoveries are dropped. Sharing matters between
/// the perspectives of identifiers in flight; keeping every name of a 10,000-name run would make
/// memory grow with the input for no benefit.
const DISCOVERY_KEEP: usize = 2048;

/// The cell for `key`, created if absent; past [`DISCOVERY_KEEP`] entries the finished ones are
/// forgotten first (in-flight ones stay, so waiters keep sharing them).
async fn zone_cell(map: &Mutex<HashMap<String, ZoneCell>>, key: &str) -> ZoneCell {
    let mut m = map.lock().await;
    if m.len() >= DISCOVERY_KEEP && !m.contains_key(key) {
        m.retain(|_, c| !c.initialized());
    }
    m.entry(key.to_string()).or_default().clone()
}

/// Why the authoritative servers of a name could not be found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DiscoveryError {
    /// One line.
    pub message: String,
    /// The resolver used for discovery failed (the tool's problem), rather than the domain.
    pub tool_fault: bool,
    /// Nameserver addresses the address policy refused (when that left none to ask).
    pub refused: Vec<(String, policy::Refusal)>,
}

/// At most this many nameserver names of one zone are resolved and asked directly. Real zones
/// delegate to 2–8 (the root has 13 with one name each); a hostile zone with 40 must not multiply
/// every question by 40.
pub const MAX_NS_NAMES: usize = 10;
/// At most this many addresses of one nameserver name are asked.
pub const MAX_ADDRS_PER_NS: usize = 4;
/// At most this many nameserver addresses of one zone are asked in all.
pub const MAX_NS_ADDRS: usize = 20;

/// A discovered zone cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// The apex (owner of the NS RRset).
    pub apex: String,
    /// Nameserver names with their addresses: the ones that will be asked.
    pub servers: NsAddrs,
    /// Nameserver addresses the address policy refused, with the nameserver's name and why.
    pub refused: Vec<(String, policy::Refusal)>,
    /// What the caps ([`MAX_NS_NAMES`], [`MAX_ADDRS_PER_NS`], [`MAX_NS_ADDRS`]) left out, if
    /// anything.
    pub capped: Option<crate::observation::NsCapped>,
}

/// Nameserver names with one of their addresses each (a name with two addresses appears twice).
pub type NsAddrs = Vec<(String, SocketAddr)>;

/// One perspective's ability to ask DNS questions and make HTTP requests.
#[derive(Debug)]
pub struct Vantage {
    /// The configuration.
    pub spec: PerspectiveSpec,
    /// Per-step timeout.
    pub timeout: Duration,
    servers: Vec<Transport>,
    bootstrap: Option<Arc<Vantage>>,
    discovery: Arc<Discovery>,
    /// Set when the perspective's proxy (or resolver configuration) is unusable.
    pub broken: Option<String>,
    /// The perspective's HTTP client, built once for the whole run.
    http_client: std::sync::OnceLock<Result<reqwest::Client, String>>,
    /// The perspective's UDP sockets, shared by its questions (never by another perspective).
    udp: Arc<dns::UdpPool>,
    /// Answers about shared parents, when the run shares them.
    shared: Option<SharedAnswers>,
}

/// Entries one vantage keeps of answers about shared parents. A run of many names under few
/// parents needs a handful; the cap keeps a run over many zones from growing with the input.
pub const SHARED_KEEP: usize = 4096;

/// Answers about shared parents of one perspective, for one run: each asked once and handed to
/// every name that needs it while its TTL lasts, and to names asking while it is in flight. Keyed
/// by (name, type, whether a SERVFAIL is diagnosed).
#[derive(Debug, Default)]
struct SharedAnswers {
    map: std::sync::Mutex<HashMap<(String, RecordType, bool), SharedCell>>,
}

/// One shared answer: the lookup, when it ends, and until when it may be reused.
#[derive(Debug)]
struct Shared {
    lookup: Lookup,
    /// After this the answer is asked again.
    fresh_until: tokio::time::Instant,
    /// False for an answer whose TTL is 0 (or that carries none): used only by the name that asked.
    reusable: bool,
}

type SharedCell = Arc<OnceCell<Shared>>;

impl Shared {
    fn of(lookup: Lookup) -> Shared {
        let now = tokio::time::Instant::now();
        // A failure (timeout, SERVFAIL, lame) has no TTL: it is shared with the names that asked
        // while it was in flight (they would have seen the same), never kept for later ones.
        let ttl = match (&lookup.failure, &lookup.answer) {
            (None, Some(a)) => Some(if a.facts.answers.is_empty() {
                // A negative answer lives as long as its SOA-derived negative TTL.
                a.facts.negative_ttl.unwrap_or(0)
            } else {
                a.facts.answers.iter().map(|r| r.ttl).min().unwrap_or(0)
            }),
            _ => None,
        };
        Shared {
            lookup,
            fresh_until: now + Duration::from_secs(u64::from(ttl.unwrap_or(0))),
            reusable: ttl != Some(0),
        }
    }

    fn is_fresh(&self, now: tokio::time::Instant) -> bool {
        self.reusable && self.fresh_until > now
    }
}

impl Vantage {
    /// Builds the vantage. `bootstrap` is the recursive view used to discover authoritative
    /// servers (the primary's, or the system's when the primary is itself authoritative).
    pub fn new(
        spec: PerspectiveSpec,
        timeout: Duration,
        bootstrap: Option<Arc<Vantage>>,
        discovery: Arc<Discovery>,
    ) -> Vantage {
        let socks = spec.http.socks_endpoint();
        let udp = match spec.role {
            crate::observation::Role::Source => discovery.host_udp.clone(),
            _ => Arc::new(dns::UdpPool::default()),
        };
        let share = discovery.net().share;
        let via = |addr: SocketAddr, tcp_only: bool| match &socks {
            Some(ep) => Transport::SocksTcp {
                server: addr,
                proxy: ep.clone(),
            },
            None if tcp_only => Transport::Tcp(addr),
            None => Transport::PooledUdp {
                server: addr,
                pool: udp.clone(),
            },
        };
        let mut broken = None;
        let servers = match &spec.dns {
            DnsSpec::Udp(a) => vec![via(*a, false)],
            DnsSpec::Tcp(a) => vec![via(*a, true)],
            DnsSpec::System => match system_servers() {
                Ok(v) => v.into_iter().map(|a| via(a, false)).collect(),
                Err(e) => {
                    broken = Some(e);
                    Vec::new()
                }
            },
            DnsSpec::Doh(url) => {
                match http::doh_client(&spec.http, spec.doh_ca.as_deref(), timeout) {
                    Ok(client) => vec![Transport::Doh {
                        url: url.clone(),
                        client,
                    }],
                    Err(e) => {
                        broken = Some(format!("cannot build DoH client: {e}"));
                        Vec::new()
                    }
                }
            }
            DnsSpec::Authoritative => Vec::new(),
            DnsSpec::Nameserver(a) => vec![Transport::PooledUdp {
                server: *a,
                pool: udp.clone(),
            }],
        };
        Vantage {
            spec,
            timeout,
            servers,
            bootstrap,
            discovery,
            broken,
            http_client: std::sync::OnceLock::new(),
            udp,
            shared: share.then(SharedAnswers::default),
        }
    }

    /// A plain recursive vantage over the host's resolvers, for discovery when no configured
    /// perspective is recursive.
    pub fn system(timeout: Duration, discovery: Arc<Discovery>) -> Vantage {
        let spec =
            PerspectiveSpec::local("system", crate::observation::Role::Source, DnsSpec::System);
        Vantage::new(spec, timeout, None, discovery)
    }

    /// The run's network settings (ports, address policy).
    pub fn net(&self) -> &NetSettings {
        self.discovery.net()
    }

    /// The one HTTP client of this perspective (its proxy, its timeouts, no redirects, no
    /// resolver of its own), shared by every plain-HTTP fetch of the run.
    pub fn http_client(&self) -> Result<&reqwest::Client, String> {
        let t = http::Timeouts {
            connect: self.timeout,
            total: self.timeout,
        };
        self.http_client
            .get_or_init(|| http::client(&self.spec.http, http::Pins::default(), t))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Whether one address can be tested on its own from here: everywhere except through socks5h
    /// (the proxy resolves), HTTP proxies included (by an explicit CONNECT).
    pub fn can_pin_addresses(&self) -> bool {
        !matches!(
            &self.spec.http,
            HttpSpec::Proxy {
                kind: ProxyKind::Socks5h,
                ..
            }
        )
    }

    /// Whether HTTP requests may be pinned to this perspective's resolved addresses.
    pub fn pins_addresses(&self) -> bool {
        !matches!(
            &self.spec.http,
            HttpSpec::Proxy {
                kind: ProxyKind::Socks5h | ProxyKind::Http,
                ..
            }
        )
    }

    /// UDP to `server` on this perspective's sockets.
    fn udp_to(&self, server: SocketAddr) -> Transport {
        Transport::PooledUdp {
            server,
            pool: self.udp.clone(),
        }
    }

    fn ask(&self, recursion: bool) -> Ask {
        Ask {
            recursion,
            ecs: self.spec.ecs,
            timeout: self.timeout,
        }
    }

    /// Asks `name`/`rtype` the way this perspective would. When its recursive resolver answers
    /// SERVFAIL, the authoritative servers are then asked directly from the same perspective
    /// (see [`Vantage::diagnose`]) so the failure names its cause.
    pub async fn lookup(&self, name: &str, rtype: RecordType) -> Lookup {
        let mut l = self.lookup_plain(name, rtype).await;
        if self.diagnoses(&l) {
            self.diagnose(name, rtype, &mut l).await;
        }
        l
    }

    /// [`Vantage::lookup`] for a shared parent (a CAA name above the identifier): asked once per
    /// perspective and run, and reused by every name that needs it while it is fresh.
    pub async fn lookup_parent(&self, name: &str, rtype: RecordType) -> Lookup {
        self.lookup_shared(name, rtype, true).await
    }

    /// [`Vantage::lookup`] for an HTTP-01 redirect target, shared the same way: hosting providers
    /// send every name's `/.well-known/acme-challenge/` to one responder host, so a bulk run
    /// would otherwise ask its A and AAAA again for every name from every perspective. Reusing
    /// the answer while its TTL lasts is what the perspective's (and the CA's) caching resolver
    /// does anyway; the identifier's own addresses are never taken from here.
    pub async fn lookup_redirect_target(&self, name: &str, rtype: RecordType) -> Lookup {
        self.lookup_shared(name, rtype, true).await
    }

    /// The answer for `name`/`rtype` from [`SharedAnswers`]: the one in flight or still fresh, or a
    /// new one. A copy made for another name says so (`reused` on each exchange); without sharing
    /// (`--no-share`), past the cap, or for an answer with TTL 0, the question is asked anew.
    async fn lookup_shared(&self, name: &str, rtype: RecordType, diagnosed: bool) -> Lookup {
        let ask = || async {
            if diagnosed {
                self.lookup(name, rtype).await
            } else {
                self.lookup_plain(name, rtype).await
            }
        };
        let Some(shared) = &self.shared else {
            return ask().await;
        };
        let key = (
            name.trim_end_matches('.').to_ascii_lowercase(),
            rtype,
            diagnosed,
        );
        let now = tokio::time::Instant::now();
        let cell = {
            let mut m = shared
                .map
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match m.get(&key) {
                Some(c) if c.get().is_none_or(|s| s.is_fresh(now)) => Some(c.clone()),
                _ => {
                    if m.len() >= SHARED_KEEP {
                        m.retain(|_, c| c.get().is_none_or(|s| s.is_fresh(now)));
                    }
                    (m.len() < SHARED_KEEP).then(|| {
                        let c = SharedCell::default();
                        m.insert(key, c.clone());
                        c
                    })
                }
            }
        };
        let Some(cell) = cell else {
            return ask().await;
        };
        let mut asked_here = false;
        let s = cell
            .get_or_init(|| async {
                asked_here = true;
                Shared::of(ask().await)
            })
            .await;
        if asked_here {
            return s.lookup.clone();
        }
        // TTL 0: only for the question that got it (RFC 1035 §3.2.1: not to be cached).
        if s.lookup.failure.is_none() && !s.reusable {
            return ask().await;
        }
        let mut l = s.lookup.clone();
        for e in &mut l.exchanges {
            e.reused = true;
        }
        if let Some(a) = &mut l.answer {
            a.facts.reused = true;
        }
        l
    }

    /// Whether a failed lookup is worth asking the authoritative servers about: the perspective's
    /// own recursive resolver answered SERVFAIL (a timeout is not diagnosed: asking again would
    /// cost a second timeout, and a silent resolver must cost one), and the servers can be
    /// reached the way the perspective reaches the world (directly or through its SOCKS proxy;
    /// an HTTP proxy cannot carry DNS).
    fn diagnoses(&self, l: &Lookup) -> bool {
        let recursive = matches!(
            self.spec.dns,
            DnsSpec::Udp(_) | DnsSpec::Tcp(_) | DnsSpec::System | DnsSpec::Doh(_)
        );
        let reachable = match &self.spec.http {
            HttpSpec::Direct => true,
            HttpSpec::Proxy { .. } => self.spec.http.socks_endpoint().is_some(),
        };
        recursive
            && reachable
            && l.failure.as_ref().is_some_and(|f| !f.perspective_fault)
            && l.rcode() == Some(ResponseCode::ServFail)
    }

    /// Asks every authoritative server of `name`'s zone the same question directly, from this
    /// perspective (its SOCKS proxy if any), with recursion off, as the perspective's resolver
    /// would have: the replies (truncated with TCP refused, REFUSED with its EDE, lame, silent,
    /// or a good answer, which leaves DNSSEC or the resolver itself) are kept as `diagnostic`
    /// exchanges and named in the failure's message. The zone is found through this
    /// perspective's own resolver (shared with the run's zone bookkeeping when another
    /// perspective found it first). Bounded by one step timeout after discovery.
    async fn diagnose(&self, name: &str, rtype: RecordType, l: &mut Lookup) {
        let Ok(zone) = discover(self, &self.discovery, name).await else {
            return;
        };
        if self.discovery.spend(zone.servers.len()).is_err() {
            return;
        }
        let socks = self.spec.http.socks_endpoint();
        let asked = join_all(zone.servers.iter().map(|(_, a)| {
            let t = match &socks {
                Some(ep) => Transport::SocksTcp {
                    server: *a,
                    proxy: ep.clone(),
                },
                None => self.udp_to(*a),
            };
            let ask = self.ask(false);
            let pace = &self.discovery.pace;
            async move { pace.exchange(&t, name, rtype, ask).await }
        }))
        .await;
        let mut said = Vec::new();
        for ((ns, addr), a) in zone.servers.iter().zip(asked) {
            let mut f = a.facts;
            f.diagnostic = true;
            f.server = format!("{} ({ns})", f.server);
            said.push(format!("{ns} ({}) {}", addr.ip(), dns::what_it_did(&f)));
            l.exchanges.push(f);
        }
        if let Some(fail) = &mut l.failure {
            fail.message = format!(
                "{}; asked directly from here, the authoritative servers of {}: {}",
                fail.message,
                zone.apex,
                said.join("; ")
            );
        }
    }

    /// [`Vantage::lookup`] without the diagnosis (zone discovery uses it, so a SERVFAIL while
    /// finding a zone never starts another discovery).
    async fn lookup_plain(&self, name: &str, rtype: RecordType) -> Lookup {
        if let Some(b) = &self.broken {
            return Lookup {
                exchanges: Vec::new(),
                answer: None,
                failure: Some(LookupFailure {
                    phase: Phase::Dns,
                    message: b.clone(),
                    perspective_fault: true,
                }),
            };
        }
        if !matches!(self.spec.dns, DnsSpec::Authoritative)
            && let Err(f) = self.discovery.spend(self.servers.len())
        {
            return Lookup {
                exchanges: Vec::new(),
                answer: None,
                failure: Some(f),
            };
        }
        match self.spec.dns {
            DnsSpec::Authoritative => self.lookup_authoritative(name, rtype).await,
            DnsSpec::Nameserver(_) => {
                recursive_lookup(
                    &self.discovery.pace,
                    &self.servers,
                    name,
                    rtype,
                    self.ask(false),
                    false,
                )
                .await
            }
            _ => {
                recursive_lookup(
                    &self.discovery.pace,
                    &self.servers,
                    name,
                    rtype,
                    self.ask(true),
                    true,
                )
                .await
            }
        }
    }

    async fn lookup_authoritative(&self, name: &str, rtype: RecordType) -> Lookup {
        let mut exchanges = Vec::new();
        let mut chain: Vec<String> = Vec::new();
        let mut qname = name.trim_end_matches('.').to_ascii_lowercase();
        for _ in 0..dns::MAX_CNAME_CHAIN {
            let servers = match self.authoritative_servers(&qname).await {
                Ok(s) => s,
                Err(e) => {
                    return Lookup {
                        exchanges,
                        answer: None,
                        failure: Some(LookupFailure {
                            phase: Phase::Dns,
                            message: e.message,
                            perspective_fault: e.tool_fault,
                        }),
                    };
                }
            };
            let socks = self.spec.http.socks_endpoint();
            let transports: Vec<Transport> = servers
                .iter()
                .map(|(_, a)| match &socks {
                    Some(ep) => Transport::SocksTcp {
                        server: *a,
                        proxy: ep.clone(),
                    },
                    None => self.udp_to(*a),
                })
                .collect();
            if let Err(f) = self.discovery.spend(transports.len()) {
                return Lookup {
                    exchanges,
                    answer: None,
                    failure: Some(f),
                };
            }
            let answers = join_all(transports.iter().map(|t| {
                self.discovery
                    .pace
                    .exchange(t, &qname, rtype, self.ask(false))
            }))
            .await;
            exchanges.extend(answers.iter().map(|a| a.facts.clone()));
            // Only an authoritative reply is believed: a lame server (listed in NS but not serving
            // the zone) may answer NOERROR without AA and nothing in it, which is no NODATA. A CA's
            // resolver skips such a server and asks the next one, so do the same.
            let Some(best) = answers.iter().find(|a| a.is_authoritative()).cloned() else {
                let failure = match answers.iter().find(|a| a.is_answer()) {
                    Some(lame) => lame_failure(lame),
                    None => summarize_failures(&answers),
                };
                return Lookup {
                    exchanges,
                    answer: None,
                    failure: Some(failure),
                };
            };
            if let Some(next) = best.dangling_cname(rtype) {
                let mut links = best.facts.cname_chain.clone();
                if !chain.is_empty() {
                    links.remove(0);
                }
                chain.extend(links);
                if chain.iter().filter(|c| **c == next).count() > 1 {
                    let failure = LookupFailure {
                        phase: Phase::Dns,
                        message: format!("CNAME loop at {next}"),
                        perspective_fault: false,
                    };
                    return Lookup {
                        exchanges,
                        answer: Some(best),
                        failure: Some(failure),
                    };
                }
                qname = next;
                continue;
            }
            let mut best = best;
            if !chain.is_empty() {
                let mut full = chain.clone();
                full.extend(best.facts.cname_chain.iter().skip(1).cloned());
                best.facts.cname_chain = full;
                best.facts.qname = chain[0].clone();
            }
            return Lookup {
                exchanges,
                answer: Some(best),
                failure: None,
            };
        }
        Lookup {
            exchanges,
            answer: None,
            failure: Some(LookupFailure {
                phase: Phase::Dns,
                message: format!("CNAME chain longer than {}", dns::MAX_CNAME_CHAIN),
                perspective_fault: false,
            }),
        }
    }

    /// Where the TXT at `name` really lives: the end of its CNAME chain when `name` is an alias
    /// (the acme-dns pattern: `_acme-challenge.example.com CNAME <uuid>.auth.example.org`), asked
    /// through the recursive view. A CA's resolver follows the alias (Boulder's
    /// `bdns/dns.go` `LookupTXT` takes the TXT records of the answer its recursive resolver
    /// returns after chasing CNAMEs; `va/caa.go` `getCAASet`: "We depend on our resolver to snap
    /// CNAME and DNAME records"), so the records that count are those on every authoritative
    /// server of the target's zone. `None` when `name` is no alias, or the chain loops or is
    /// longer than [`dns::MAX_CNAME_CHAIN`] (the checks report those).
    pub async fn alias_target(&self, name: &str) -> Option<String> {
        let view = self.bootstrap.as_deref().unwrap_or(self);
        if matches!(view.spec.dns, DnsSpec::Authoritative) {
            return None;
        }
        // Asked as CNAME, one link at a time, never as TXT: a TXT question to a resolver before
        // the record exists would plant the negative answer that wait-txt exists to avoid.
        let mut chain = vec![name.trim_end_matches('.').to_ascii_lowercase()];
        while chain.len() <= dns::MAX_CNAME_CHAIN {
            let cur = chain.last().cloned().unwrap_or_default();
            let l = view.lookup(&cur, RecordType::CNAME).await;
            let next = l
                .answer
                .as_ref()
                .filter(|a| a.facts.error.is_none())
                .and_then(|a| a.facts.cname_chain.get(1).cloned());
            match next {
                Some(n) if chain.contains(&n) => return None,
                Some(n) => chain.push(n),
                None => break,
            }
        }
        (chain.len() > 1 && chain.len() <= dns::MAX_CNAME_CHAIN)
            .then(|| chain.pop())
            .flatten()
    }

    /// The authoritative servers (name, address) of the zone containing `name`.
    pub async fn authoritative_servers(&self, name: &str) -> Result<NsAddrs, DiscoveryError> {
        self.zone_of(name).await.map(|z| z.servers)
    }

    /// The zone containing `name`: its apex and its servers. Uses this vantage itself as the
    /// recursive view when it has no bootstrap.
    pub async fn zone_of(&self, name: &str) -> Result<Zone, DiscoveryError> {
        match &self.bootstrap {
            Some(b) => discover(b, &self.discovery, name).await,
            None if !matches!(self.spec.dns, DnsSpec::Authoritative) => {
                discover(self, &self.discovery, name).await
            }
            None => Err(DiscoveryError {
                message: "no recursive resolver to discover the authoritative servers".into(),
                tool_fault: true,
                refused: Vec::new(),
            }),
        }
    }
}

/// Asks `servers` in order until one replies. `own_resolver` is true when they are the
/// perspective's own recursive resolvers: then an unreachable or broken resolver (refused, TLS
/// or HTTP error) is the perspective's fault, not the domain's. A timeout stays ambiguous (the
/// resolver may be waiting for the domain's silent nameservers) and is not blamed on the tool.
async fn recursive_lookup(
    pace: &pace::Pacer,
    servers: &[Transport],
    name: &str,
    rtype: RecordType,
    ask: Ask,
    own_resolver: bool,
) -> Lookup {
    let mut exchanges = Vec::new();
    let mut failures = Vec::new();
    for t in servers {
        let a = pace.exchange(t, name, rtype, ask).await;
        exchanges.push(a.facts.clone());
        if a.message.is_some() {
            let failure = if !ask.recursion && a.is_answer() && !a.facts.aa {
                Some(lame_failure(&a))
            } else if !a.is_answer() {
                let mut f = rcode_failure(&a);
                // A recursive resolver that answers REFUSED refuses *us* (its access list); the
                // domain's servers refusing it shows up as SERVFAIL instead.
                if own_resolver && a.rcode() == Some(ResponseCode::Refused) {
                    f.perspective_fault = true;
                    f.message = format!(
                        "the perspective's resolver refused the query (its access list?): {}",
                        f.message
                    );
                }
                Some(f)
            } else {
                // A reply that loops through CNAMEs or never ends is no usable answer.
                a.facts.error.as_ref().map(|e| LookupFailure {
                    phase: Phase::Dns,
                    message: format!("{e} from {}", a.facts.server),
                    perspective_fault: false,
                })
            };
            return Lookup {
                exchanges,
                answer: Some(a),
                failure,
            };
        }
        let proxy = dns::failure_kind(&a) == Some(FailureKind::Proxy);
        failures.push(a);
        // A proxy failure will not get better with another server.
        if proxy {
            break;
        }
    }
    if servers.is_empty() {
        return Lookup {
            exchanges,
            answer: None,
            failure: Some(LookupFailure {
                phase: Phase::Dns,
                message: "no DNS server configured".into(),
                perspective_fault: true,
            }),
        };
    }
    let mut failure = summarize_failures(&failures);
    // Unreachable, refusing TCP after truncation, or broken (TLS/HTTP for DoH): the resolver's own.
    let network = failures.iter().any(|a| {
        dns::failure_kind(a) == Some(FailureKind::Network)
            || a.facts
                .error
                .as_deref()
                .is_some_and(|e| e.starts_with("reply truncated"))
    });
    if own_resolver && network && matches!(failure.phase, Phase::Dns | Phase::Protocol) {
        failure.phase = Phase::Dns;
        failure.perspective_fault = true;
        failure.message = format!("the perspective's resolver failed: {}", failure.message);
    }
    Lookup {
        exchanges,
        answer: None,
        failure: Some(failure),
    }
}

fn rcode_failure(a: &Answer) -> LookupFailure {
    let rc = a.facts.rcode.clone().unwrap_or_default();
    let ede = a
        .facts
        .ede
        .as_ref()
        .map_or(String::new(), |e| format!(" (EDE {e})"));
    LookupFailure {
        phase: Phase::Dns,
        message: format!("{rc} from {}{ede}", a.facts.server),
        perspective_fault: false,
    }
}

/// A reply without the AA flag to a non-recursive question: the server is delegated the zone but
/// does not serve it (a lame delegation). The domain's fault, and no answer.
fn lame_failure(a: &Answer) -> LookupFailure {
    let rc = a.facts.rcode.clone().unwrap_or_default();
    LookupFailure {
        phase: Phase::Dns,
        message: format!(
            "{rc} without the AA flag from {}: not authoritative for this name (lame delegation)",
            a.facts.server
        ),
        perspective_fault: false,
    }
}

fn summarize_failures(answers: &[Answer]) -> LookupFailure {
    if let Some(a) = answers.iter().find(|a| a.message.is_some()) {
        return rcode_failure(a);
    }
    let kinds: Vec<_> = answers.iter().filter_map(dns::failure_kind).collect();
    let first = answers.first().map(|a| {
        format!(
            "{}: {}",
            a.facts.server,
            a.facts.error.clone().unwrap_or_default()
        )
    });
    let message = first.unwrap_or_else(|| "no server answered".into());
    if kinds.contains(&FailureKind::OutOfFiles) {
        LookupFailure {
            phase: Phase::Dns,
            message,
            perspective_fault: true,
        }
    } else if kinds.contains(&FailureKind::Proxy) {
        LookupFailure {
            phase: Phase::Proxy,
            message,
            perspective_fault: true,
        }
    } else if kinds.iter().all(|k| *k == FailureKind::Timeout) && !kinds.is_empty() {
        LookupFailure {
            phase: Phase::Timeout,
            message,
            perspective_fault: false,
        }
    } else if kinds.contains(&FailureKind::Protocol) {
        LookupFailure {
            phase: Phase::Protocol,
            message,
            perspective_fault: false,
        }
    } else {
        LookupFailure {
            phase: Phase::Dns,
            message,
            perspective_fault: false,
        }
    }
}

fn system_servers() -> Result<Vec<SocketAddr>, String> {
    let (cfg, _) = hickory_resolver::system_conf::read_system_conf()
        .map_err(|e| format!("cannot read /etc/resolv.conf: {e}"))?;
    let mut v: Vec<SocketAddr> = Vec::new();
    for ns in cfg.name_servers() {
        let port = ns.connections.first().map_or(53, |c| c.port);
        let a = SocketAddr::new(ns.ip, port);
        if !v.contains(&a) {
            v.push(a);
        }
    }
    if v.is_empty() {
        return Err("no nameserver in /etc/resolv.conf".into());
    }
    Ok(v)
}

/// Finds the zone cut for `name` (closest enclosing name with an NS RRset, asked of every
/// ancestor at once) and the addresses of its nameservers, v4 and v6.
async fn discover(boot: &Vantage, cache: &Discovery, name: &str) -> Result<Zone, DiscoveryError> {
    let key = name.trim_end_matches('.').to_ascii_lowercase();
    let cell = zone_cell(&cache.by_name, &key).await;
    // Concurrent perspectives asking about the same name share one discovery.
    cell.get_or_init(|| find_zone(boot, cache, key))
        .await
        .clone()
}

async fn find_zone(
    boot: &Vantage,
    cache: &Discovery,
    name: String,
) -> Result<Zone, DiscoveryError> {
    let labels: Vec<&str> = name.split('.').collect();
    let candidates: Vec<String> = (0..labels.len()).map(|i| labels[i..].join(".")).collect();
    // Every ancestor at once: the closest one that owns an NS RRset is the zone cut. Asked per
    // name (not reused from a parent) so an NS-delegated _acme-challenge is found.
    // The name's own NS is asked fresh; its ancestors' are shared parents (reused by the other
    // names of the run under the same parents while fresh).
    let lookups = join_all(candidates.iter().enumerate().map(|(i, c)| async move {
        if i == 0 {
            boot.lookup_plain(c, RecordType::NS).await
        } else {
            boot.lookup_shared(c, RecordType::NS, false).await
        }
    }))
    .await;
    let mut found = None;
    for (c, l) in candidates.iter().zip(&lookups) {
        if let Some(a) = &l.answer {
            let ns: Vec<String> = a
                .records(RecordType::NS)
                .iter()
                .filter_map(|r| match &r.data {
                    RData::NS(n) => Some(dns::name_str(&n.0)),
                    _ => None,
                })
                .collect();
            if !ns.is_empty() && a.facts.cname_chain.is_empty() {
                found = Some((c.clone(), ns));
                break;
            }
        }
    }
    let Some((apex, ns_names)) = found else {
        // When every question failed on the discovery resolver's side, say so: the domain is not
        // to blame for the tool's resolver being unreachable.
        let tool = lookups
            .iter()
            .all(|l| l.failure.as_ref().is_some_and(|f| f.perspective_fault));
        let first = lookups
            .iter()
            .find_map(|l| l.failure.as_ref().map(|f| f.message.clone()));
        return Err(match (tool, first) {
            (true, Some(m)) => DiscoveryError {
                message: format!("cannot discover the nameservers of {name}: {m}"),
                tool_fault: true,
                refused: Vec::new(),
            },
            _ => DiscoveryError {
                message: format!("could not find the authoritative nameservers of {name}"),
                tool_fault: false,
                refused: Vec::new(),
            },
        });
    };
    let cell = zone_cell(&cache.by_apex, &apex).await;
    cell.get_or_init(|| async {
        let port = cache.net.dns_port;
        let mut ns_names = ns_names.clone();
        ns_names.sort();
        ns_names.dedup();
        let names = ns_names.len();
        ns_names.truncate(MAX_NS_NAMES);
        // Nameserver addresses are shared too: many zones are served by the same hosts.
        let addr_lookups = join_all(ns_names.iter().flat_map(|n| {
            [
                boot.lookup_shared(n, RecordType::A, false),
                boot.lookup_shared(n, RecordType::AAAA, false),
            ]
        }))
        .await;
        let mut servers = Vec::new();
        let mut refused = Vec::new();
        let mut left_out = 0usize;
        for (n, pair) in ns_names.iter().zip(addr_lookups.chunks(2)) {
            let mut ips: Vec<IpAddr> = pair.iter().flat_map(Lookup::addresses).collect();
            ips.dedup();
            let mut taken = 0;
            for ip in ips {
                // A nameserver address is a domain's data like any other: loopback, the LAN or a
                // multicast group are never asked (a CA's resolver would not ask them either).
                if let Some(r) = cache.net.addresses.refusal(ip) {
                    refused.push((n.clone(), r));
                    continue;
                }
                let entry = (n.clone(), SocketAddr::new(ip, port));
                if servers.contains(&entry) {
                    continue;
                }
                if taken == MAX_ADDRS_PER_NS || servers.len() == MAX_NS_ADDRS {
                    left_out += 1;
                    continue;
                }
                taken += 1;
                servers.push(entry);
            }
        }
        let capped =
            (names > ns_names.len() || left_out > 0).then(|| crate::observation::NsCapped {
                zone: apex.clone(),
                names,
                names_asked: ns_names.len(),
                addresses_left_out: left_out,
            });
        if servers.is_empty() {
            let why = if refused.is_empty() {
                "have no addresses".to_string()
            } else {
                format!(
                    "have no address a CA would use: {}",
                    refused
                        .iter()
                        .map(|(n, r)| format!("{n}: {r}"))
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            };
            Err(DiscoveryError {
                message: format!("the nameservers of {apex} ({}) {why}", ns_names.join(", ")),
                tool_fault: false,
                refused,
            })
        } else {
            Ok(Zone {
                apex: apex.clone(),
                servers,
                refused,
                capped,
            })
        }
    })
    .await
    .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_budget_is_spent_once_and_then_refuses_with_the_tools_fault() {
        let d = Discovery::with_budget(NetSettings::default(), 3);
        assert!(d.spend(2).is_ok());
        let e = d.spend(2).unwrap_err();
        assert!(
            e.perspective_fault,
            "the tool's own limit, never the domain's"
        );
        assert!(
            e.message.contains("budget of 3 DNS questions"),
            "{}",
            e.message
        );
        assert!(d.spend(1).is_ok(), "a refused spend takes nothing");
        assert!(d.spend(1).is_err());
        assert!(
            Discovery::new(NetSettings::default())
                .spend(usize::MAX)
                .is_ok()
        );
    }

    fn answered(answers: &[u32], negative_ttl: Option<u32>, failed: bool) -> Lookup {
        let facts = DnsExchange {
            qname: "example.test".into(),
            qtype: "CAA".into(),
            server: "udp://127.0.0.1:53".into(),
            rcode: Some("NOERROR".into()),
            aa: false,
            ad: false,
            answers: answers
                .iter()
                .map(|&ttl| crate::observation::Rr {
                    name: "example.test".into(),
                    rtype: "CAA".into(),
                    ttl,
                    data: String::new(),
                })
                .collect(),
            cname_chain: Vec::new(),
            negative_ttl,
            ecs: None,
            ecs_scope: None,
            elapsed_ms: 1,
            error: None,
            ede: None,
            retransmits: 0,
            diagnostic: false,
            reused: false,
        };
        Lookup {
            exchanges: vec![facts.clone()],
            answer: Some(Answer {
                facts,
                message: None,
            }),
            failure: failed.then(|| LookupFailure {
                phase: Phase::Timeout,
                message: "timed out".into(),
                perspective_fault: false,
            }),
        }
    }

    #[tokio::test]
    async fn a_shared_answer_lives_as_long_as_its_ttl_and_a_failure_not_at_all() {
        let now = tokio::time::Instant::now();
        let later = |s: u64| now + Duration::from_secs(s);
        // The smallest TTL of the records counts.
        let s = Shared::of(answered(&[300, 60], None, false));
        assert!(s.is_fresh(later(59)) && !s.is_fresh(later(61)));
        // A negative answer lives as long as its SOA-derived TTL; without one, not at all.
        let s = Shared::of(answered(&[], Some(30), false));
        assert!(s.is_fresh(later(29)) && !s.is_fresh(later(31)));
        assert!(!Shared::of(answered(&[], None, false)).reusable);
        // TTL 0: only for the question that got it.
        assert!(!Shared::of(answered(&[0, 300], None, false)).reusable);
        // A failure is shared with those waiting for it (reusable), but is never fresh later.
        let s = Shared::of(answered(&[300], None, true));
        assert!(s.reusable && !s.is_fresh(later(1)));
    }

    #[tokio::test]
    async fn discovery_bookkeeping_is_bounded_and_keeps_what_is_in_flight() {
        let map: Mutex<HashMap<String, ZoneCell>> = Mutex::default();
        let pending = zone_cell(&map, "in-flight.example").await;
        for i in 0..DISCOVERY_KEEP * 3 {
            let c = zone_cell(&map, &format!("n{i}.example")).await;
            c.get_or_init(|| async {
                Err(DiscoveryError {
                    message: String::new(),
                    tool_fault: false,
                    refused: Vec::new(),
                })
            })
            .await;
        }
        let m = map.lock().await;
        assert!(m.len() <= DISCOVERY_KEEP, "{}", m.len());
        // The unfinished discovery is still the one shared with its waiters.
        assert!(Arc::ptr_eq(&pending, &m["in-flight.example"]));
    }
}
