//! Scriptable DNS server for the integration tests. It plays both the
//! authoritative server of a zone and a recursive resolver (RA=1 always, AA=1
//! on NOERROR/NXDOMAIN answers), on UDP and TCP on the same port, and it can
//! misbehave on purpose: per-client "GeoDNS" views, EDNS Client Subnet views,
//! refusals, SERVFAIL, silence, delays and forced truncation. Every query is
//! logged so tests can assert which perspective asked what, and how.
//!
//! Built on hickory-server's `Server` with a hand-written `RequestHandler`
//! (not `Catalog`), because the views and failure modes are simplest to
//! express as plain code over a `Vec<Record>`.
//!
//! The API is synchronous: each [`DnsServer`] runs on its own thread (see
//! [`super::ServerThread`]) and stops when dropped. The small async client
//! helpers at the end ([`udp_exchange`], [`tcp_exchange`]) need a tokio
//! runtime.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_server::Server;
use hickory_server::net::runtime::Time;
use hickory_server::proto::op::{
    Edns, Header, HeaderCounts, Message, Metadata, OpCode, Query, ResponseCode,
};
use hickory_server::proto::rr::rdata::opt::{ClientSubnet, EdnsCode, EdnsOption};
use hickory_server::proto::rr::rdata::{A, AAAA, CNAME, NS, NULL, SOA, TXT};
use hickory_server::proto::rr::{Name, RData, Record, RecordType};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{ServerThread, assert_loopback, bind_same_port};

/// How long the TCP side waits for the next query on an idle connection.
const TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Upper bound of CNAME hops followed inside one answer; makes loops finite.
const MAX_CNAME_STEPS: usize = 16;

/// How the server treats a query, before looking at any records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Behaviour {
    /// Answer from the zone (the default).
    #[default]
    Answer,
    /// Send nothing at all; the client has to time out.
    Silent,
    /// RCODE=REFUSED, no records.
    Refused,
    /// RCODE=SERVFAIL, no records.
    ServFail,
    /// RCODE=NOTIMP, no records.
    NotImp,
    /// Wait this long, then answer from the zone.
    Delay(Duration),
    /// Over UDP: TC=1 and no records, which forces a compliant client to
    /// retry over TCP. Over TCP: answer normally.
    TruncateUdp,
    /// RCODE=SERVFAIL with an Extended DNS Error (RFC 8914) of this info code, as a validating
    /// resolver sends for DNSSEC failures (6 = DNSSEC Bogus).
    ServFailEde(u16),
    /// RCODE=REFUSED with an Extended DNS Error of this info code (18 = Prohibited), as a server
    /// with an ACL or a geographic restriction sends.
    RefusedEde(u16),
    /// Over UDP: the first datagram of every query (client address and query ID) is lost, a
    /// retransmission of it is answered, as on a lossy path. Over TCP: answer normally.
    LoseFirstUdp,
    /// A lame server: listed in NS but not serving the zone, it answers NOERROR with AA=0 and no
    /// records (as a server with recursion off and no such zone sends an empty upward answer).
    Lame,
    /// Over UDP: each datagram is dropped with probability `per_mille`/1000, drawn from a
    /// generator seeded with `seed` (random loss on a path, reproducible in rate). Over TCP:
    /// answer normally.
    LoseUdp { per_mille: u16, seed: u64 },
    /// A per-client rate limit, as public resolvers and RRL apply: a token bucket per source
    /// address refilled at `per_second`, holding at most `burst`; a query (UDP or TCP) that finds
    /// it empty is dropped silently (counted in [`DnsServer::dropped`]).
    RateLimit { per_second: u32, burst: u32 },
}

/// Transport a query arrived on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// One received query, logged before any [`Behaviour`] is applied (so silent
/// and refused queries are logged too).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryLog {
    /// Client address; this is what per-source views key on.
    pub src: IpAddr,
    pub transport: Transport,
    /// Lower-case, fully qualified with the trailing dot: `"www.example.test."`.
    pub qname: String,
    /// Record type mnemonic as hickory prints it: `"A"`, `"CAA"`, `"TXT"`.
    pub qtype: String,
    /// The EDNS Client Subnet option of the query, as `"198.51.100.0/24"`.
    pub ecs: Option<String>,
    pub recursion_desired: bool,
    /// Whether the query carried an OPT record.
    pub edns: bool,
}

/// A CIDR block, parsed from `"198.51.100.0/24"` or `"2001:db8::/32"`.
/// Hand-rolled to avoid a dependency on `ipnet` that the project does not
/// declare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    fn parse(s: &str) -> Cidr {
        let (addr, prefix) = s
            .split_once('/')
            .unwrap_or_else(|| panic!("subnet {s:?} must look like 198.51.100.0/24"));
        let addr: IpAddr = addr.parse().unwrap_or_else(|e| panic!("subnet {s:?}: {e}"));
        let prefix: u8 = prefix
            .parse()
            .unwrap_or_else(|e| panic!("subnet {s:?}: {e}"));
        let max = if addr.is_ipv4() { 32 } else { 128 };
        assert!(prefix <= max, "subnet {s:?}: prefix longer than {max}");
        Cidr { addr, prefix }
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// A zone: records plus behaviour, with optional views.
///
/// Names given to the builders are relative to the origin unless they end in
/// a dot or already end with the origin (`"www"`, `"www.example.test"` and
/// `"www.example.test."` are the same name; `"@"` or `""` is the origin).
/// Targets of CNAME/NS follow the same rules, except that a target with a dot
/// that is not under the origin is taken as absolute (`"cdn.other.test"`), so
/// out-of-zone targets need no trailing dot.
///
/// A view (per client source address or per ECS subnet) *replaces* the record
/// set entirely but inherits the SOA (origin, serial, minimum) of the base
/// zone; its own behaviours and nested views are ignored. Behaviours are only
/// read from the base zone, most specific first: per source, then per query
/// type, then the zone-wide one. Views are chosen ECS first (an ECS view whose
/// subnet contains the option's address), then per source, then the base.
#[derive(Clone, Debug)]
pub struct Zone {
    origin: Name,
    ttl: u32,
    serial: u32,
    soa_minimum: u32,
    records: Vec<Record>,
    source_views: Vec<(IpAddr, Zone)>,
    ecs_views: Vec<(Cidr, Zone)>,
    behaviour: Behaviour,
    source_behaviours: Vec<(IpAddr, Behaviour)>,
    type_behaviours: Vec<(RecordType, Behaviour)>,
}

impl Default for Zone {
    /// A zone for the root: every name is in zone.
    fn default() -> Zone {
        Zone::new(".")
    }
}

fn fqdn(name: &str) -> Name {
    let mut n = Name::from_ascii(name).unwrap_or_else(|e| panic!("bad DNS name {name:?}: {e}"));
    n.set_fqdn(true);
    n
}

impl Zone {
    /// A zone with only its SOA (mname `ns1.<origin>`, serial 1, minimum 300).
    pub fn new(origin: &str) -> Zone {
        Zone {
            origin: fqdn(origin),
            ttl: 300,
            serial: 1,
            soa_minimum: 300,
            records: Vec::new(),
            source_views: Vec::new(),
            ecs_views: Vec::new(),
            behaviour: Behaviour::Answer,
            source_behaviours: Vec::new(),
            type_behaviours: Vec::new(),
        }
    }

    pub fn origin(&self) -> &Name {
        &self.origin
    }

    fn origin_text(&self) -> String {
        self.origin
            .to_ascii()
            .trim_end_matches('.')
            .to_ascii_lowercase()
    }

    /// Owner name resolution: see the type-level docs.
    fn owner(&self, name: &str) -> Name {
        let origin = self.origin_text();
        let lower = name.to_ascii_lowercase();
        if name.is_empty() || name == "@" {
            return self.origin.clone();
        }
        if name.ends_with('.')
            || origin.is_empty()
            || lower == origin
            || lower.ends_with(&format!(".{origin}"))
        {
            return fqdn(name);
        }
        fqdn(&format!("{name}.{origin}"))
    }

    /// Target name resolution: like [`Zone::owner`], but a dotted name that
    /// is not under the origin is absolute.
    fn target(&self, name: &str) -> Name {
        if !name.is_empty() && name != "@" && name.contains('.') {
            return fqdn(name);
        }
        self.owner(name)
    }

    fn push(mut self, name: Name, rdata: RData) -> Self {
        self.records.push(Record::from_rdata(name, self.ttl, rdata));
        self
    }

    /// TTL of records added after this call (default 300).
    pub fn ttl(mut self, ttl: u32) -> Self {
        self.ttl = ttl;
        self
    }

    /// SOA serial (default 1).
    pub fn serial(mut self, serial: u32) -> Self {
        self.serial = serial;
        self
    }

    /// SOA minimum, which is also the TTL of the SOA sent with negative
    /// answers (default 300).
    pub fn soa_minimum(mut self, minimum: u32) -> Self {
        self.soa_minimum = minimum;
        self
    }

    pub fn a(self, name: &str, ip: &str) -> Self {
        let ip = ip
            .parse()
            .unwrap_or_else(|e| panic!("bad IPv4 {ip:?}: {e}"));
        let name = self.owner(name);
        self.push(name, RData::A(A(ip)))
    }

    pub fn aaaa(self, name: &str, ip: &str) -> Self {
        let ip = ip
            .parse()
            .unwrap_or_else(|e| panic!("bad IPv6 {ip:?}: {e}"));
        let name = self.owner(name);
        self.push(name, RData::AAAA(AAAA(ip)))
    }

    pub fn cname(self, name: &str, target: &str) -> Self {
        let (name, target) = (self.owner(name), self.target(target));
        self.push(name, RData::CNAME(CNAME(target)))
    }

    pub fn ns(self, name: &str, target: &str) -> Self {
        let (name, target) = (self.owner(name), self.target(target));
        self.push(name, RData::NS(NS(target)))
    }

    /// One TXT record; values longer than 255 bytes are split into several
    /// character-strings as DNS requires. Several calls give several records.
    pub fn txt(self, name: &str, value: &str) -> Self {
        let chunks: Vec<&[u8]> = if value.is_empty() {
            vec![b""]
        } else {
            value.as_bytes().chunks(255).collect()
        };
        let name = self.owner(name);
        self.push(name, RData::TXT(TXT::from_bytes(chunks)))
    }

    /// A CAA record built from raw wire bytes (flags, tag length, tag,
    /// value), so unknown tags, the critical flag and malformed values go out
    /// exactly as given, without hickory validating them on the way.
    pub fn caa(self, name: &str, flags: u8, tag: &str, value: &str) -> Self {
        self.caa_raw(name, flags, tag.as_bytes(), value.as_bytes())
    }

    /// Like [`Zone::caa`] with arbitrary bytes for tag and value.
    pub fn caa_raw(self, name: &str, flags: u8, tag: &[u8], value: &[u8]) -> Self {
        let tag_len = u8::try_from(tag.len()).expect("CAA tag longer than 255 bytes");
        let mut wire = Vec::with_capacity(2 + tag.len() + value.len());
        wire.push(flags);
        wire.push(tag_len);
        wire.extend_from_slice(tag);
        wire.extend_from_slice(value);
        let name = self.owner(name);
        self.push(
            name,
            RData::Unknown {
                code: RecordType::CAA,
                rdata: NULL::with(wire),
            },
        )
    }

    /// Clients whose source address is `src` get `view`'s records.
    pub fn view_for_source(mut self, src: IpAddr, view: Zone) -> Self {
        self.source_views.push((src, view));
        self
    }

    /// Queries whose ECS option address falls in `subnet` get `view`'s
    /// records, and the reply's ECS option has scope prefix = the subnet's
    /// prefix length. (Queries with a non-matching ECS option get it echoed
    /// with scope 0.)
    pub fn view_for_ecs(mut self, subnet: &str, view: Zone) -> Self {
        self.ecs_views.push((Cidr::parse(subnet), view));
        self
    }

    /// Behaviour for every query without a more specific rule.
    pub fn behaviour(mut self, b: Behaviour) -> Self {
        self.behaviour = b;
        self
    }

    /// Behaviour for queries from this client address (highest precedence).
    pub fn behaviour_for_source(mut self, src: IpAddr, b: Behaviour) -> Self {
        self.source_behaviours.push((src, b));
        self
    }

    /// Behaviour for queries of this type (`"CAA"`, `"A"`, `"TXT"`, ...).
    pub fn behaviour_for_type(mut self, qtype: &str, b: Behaviour) -> Self {
        let rt: RecordType = qtype
            .to_ascii_uppercase()
            .parse()
            .unwrap_or_else(|e| panic!("bad record type {qtype:?}: {e}"));
        self.type_behaviours.push((rt, b));
        self
    }

    fn behaviour_for(&self, src: IpAddr, qtype: RecordType) -> Behaviour {
        if let Some((_, b)) = self
            .source_behaviours
            .iter()
            .rev()
            .find(|(ip, _)| *ip == src)
        {
            return *b;
        }
        if let Some((_, b)) = self.type_behaviours.iter().rev().find(|(t, _)| *t == qtype) {
            return *b;
        }
        self.behaviour
    }

    /// The record set answering this client, and the ECS scope to report.
    fn select_view(&self, src: IpAddr, ecs: Option<&ClientSubnet>) -> (&[Record], Option<u8>) {
        if let Some(ecs) = ecs
            && let Some((cidr, view)) = self.ecs_views.iter().find(|(c, _)| c.contains(ecs.addr()))
        {
            return (&view.records, Some(cidr.prefix));
        }
        if let Some((_, view)) = self.source_views.iter().find(|(ip, _)| *ip == src) {
            return (&view.records, None);
        }
        (&self.records, None)
    }

    fn soa_record(&self, ttl: u32) -> Record {
        let origin = self.origin_text();
        let under = |label: &str| {
            if origin.is_empty() {
                fqdn(&format!("{label}."))
            } else {
                fqdn(&format!("{label}.{origin}."))
            }
        };
        let soa = SOA::new(
            under("ns1"),
            under("hostmaster"),
            self.serial,
            3600,
            600,
            86400,
            self.soa_minimum,
        );
        Record::from_rdata(self.origin.clone(), ttl, RData::SOA(soa))
    }

    /// The answer logic described in the module docs, over one record set.
    fn lookup(&self, records: &[Record], qname: &Name, qtype: RecordType) -> Lookup {
        if !self.origin.zone_of(qname) {
            return Lookup::rcode(ResponseCode::Refused);
        }
        // The SOA lives at the origin of every view.
        let soa = self.soa_record(self.ttl);
        let all: Vec<&Record> = records.iter().chain(std::iter::once(&soa)).collect();
        let negative_soa = Some(self.soa_record(self.soa_minimum));

        let mut answers: Vec<Record> = Vec::new();
        let mut name = qname.clone();
        for _ in 0..=MAX_CNAME_STEPS {
            if !self.origin.zone_of(&name) {
                // CNAME out of the zone: the client has to chase it elsewhere.
                return Lookup::ok(answers);
            }
            let at_name: Vec<&Record> = all.iter().copied().filter(|r| r.name == name).collect();
            let exact: Vec<&Record> = at_name
                .iter()
                .copied()
                .filter(|r| qtype == RecordType::ANY || r.record_type() == qtype)
                .collect();
            if !exact.is_empty() {
                // Owner name = the name as asked, so 0x20 case checks pass.
                answers.extend(exact.into_iter().map(|r| with_name(r, &name)));
                return Lookup::ok(answers);
            }
            if qtype != RecordType::CNAME
                && let Some(cname) = at_name
                    .iter()
                    .find(|r| r.record_type() == RecordType::CNAME)
            {
                answers.push(with_name(cname, &name));
                match &cname.data {
                    RData::CNAME(CNAME(target)) => name = target.clone(),
                    _ => unreachable!("CNAME record without CNAME data"),
                }
                continue;
            }
            // Empty non-terminals exist too (RFC 8020): a name with records
            // below it is NODATA, not NXDOMAIN.
            let exists = !at_name.is_empty() || all.iter().any(|r| name.zone_of(&r.name));
            if !exists && let Some(synth) = wildcard(&all, &name, qtype) {
                answers.extend(synth);
                return Lookup::ok(answers);
            }
            let rcode = if exists {
                ResponseCode::NoError
            } else {
                ResponseCode::NXDomain
            };
            return Lookup {
                rcode,
                answers,
                soa: negative_soa,
            };
        }
        // CNAME loop or an over-long chain: return what we have.
        Lookup::ok(answers)
    }
}

/// RFC 4592, minimally: a name that does not exist gets the records of `*.<closest encloser>`
/// of the asked type, owned by the asked name (no CNAME or NODATA synthesis).
fn wildcard(all: &[&Record], name: &Name, qtype: RecordType) -> Option<Vec<Record>> {
    let mut encloser = name.base_name();
    while !all.iter().any(|r| encloser.zone_of(&r.name)) {
        if encloser.is_root() {
            return None;
        }
        encloser = encloser.base_name();
    }
    let star = Name::from_ascii("*").ok()?.append_domain(&encloser).ok()?;
    let found: Vec<Record> = all
        .iter()
        .filter(|r| r.name == star && (qtype == RecordType::ANY || r.record_type() == qtype))
        .map(|r| with_name(r, name))
        .collect();
    (!found.is_empty()).then_some(found)
}

fn with_name(record: &Record, name: &Name) -> Record {
    let mut r = record.clone();
    r.name = name.clone();
    r
}

struct Lookup {
    rcode: ResponseCode,
    answers: Vec<Record>,
    /// SOA for the authority section of negative answers.
    soa: Option<Record>,
}

impl Lookup {
    fn ok(answers: Vec<Record>) -> Lookup {
        Lookup {
            rcode: ResponseCode::NoError,
            answers,
            soa: None,
        }
    }
    fn rcode(rcode: ResponseCode) -> Lookup {
        Lookup {
            rcode,
            answers: Vec::new(),
            soa: None,
        }
    }
}

type QueryLogStore = Arc<Mutex<Vec<QueryLog>>>;

struct Handler {
    /// Shared with the `DnsServer` handle so a test can change the zone while serving
    /// (a record that appears late, or is deleted early).
    zone: Arc<std::sync::RwLock<Zone>>,
    log: QueryLogStore,
    /// Queries (client address, ID) whose first datagram [`Behaviour::LoseFirstUdp`] dropped.
    lost: Arc<Mutex<std::collections::HashSet<(SocketAddr, u16)>>>,
    /// State of [`Behaviour::LoseUdp`]'s generator (seeded on first use), and datagrams dropped.
    loss: Arc<Mutex<(Option<u64>, u64)>>,
    /// [`Behaviour::RateLimit`]'s buckets: tokens left and when they were counted, per client.
    buckets: Arc<Mutex<std::collections::HashMap<IpAddr, (f64, std::time::Instant)>>>,
}

impl Handler {
    /// Whether [`Behaviour::RateLimit`] drops a query from `src` (its bucket is empty).
    fn over_limit(&self, src: IpAddr, per_second: u32, burst: u32) -> bool {
        let now = std::time::Instant::now();
        let mut b = self.buckets.lock().unwrap();
        let (tokens, at) = b.entry(src).or_insert((f64::from(burst), now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * f64::from(per_second))
            .min(f64::from(burst));
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            return false;
        }
        drop(b);
        self.loss.lock().unwrap().1 += 1;
        true
    }

    /// Whether [`Behaviour::LoseUdp`] drops this datagram (splitmix64 over the seed).
    fn drop_datagram(&self, per_mille: u16, seed: u64) -> bool {
        let mut g = self.loss.lock().unwrap();
        let state = g.0.get_or_insert(seed).wrapping_add(0x9E37_79B9_7F4A_7C15);
        g.0 = Some(state);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let dropped = z % 1000 < u64::from(per_mille);
        if dropped {
            g.1 += 1;
        }
        dropped
    }
}

fn failed_info(request: &Request) -> ResponseInfo {
    let mut metadata = Metadata::response_from_request(&request.metadata);
    metadata.response_code = ResponseCode::ServFail;
    ResponseInfo::from(Header {
        metadata,
        counts: HeaderCounts::default(),
    })
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let src = request.src().ip();
        let udp = request.protocol().is_datagram();
        let ecs: Option<ClientSubnet> = request
            .edns
            .as_ref()
            .and_then(|e| e.option(EdnsCode::Subnet))
            .and_then(|o| match o {
                EdnsOption::Subnet(s) => Some(*s),
                _ => None,
            });
        let query = request.queries.queries().first();

        self.log.lock().unwrap().push(QueryLog {
            src,
            transport: if udp { Transport::Udp } else { Transport::Tcp },
            qname: query
                .map(|q| q.name().to_string().to_ascii_lowercase())
                .unwrap_or_default(),
            qtype: query
                .map(|q| q.query_type().to_string())
                .unwrap_or_default(),
            ecs: ecs.map(|s| format!("{}/{}", s.addr(), s.source_prefix())),
            recursion_desired: request.metadata.recursion_desired,
            edns: request.edns.is_some(),
        });

        let mut metadata = Metadata::response_from_request(&request.metadata);
        metadata.recursion_available = true;

        let mut ede: Option<u16> = None;
        let mut lame = false;
        let (rcode, lookup, ecs_scope) = match query {
            None => (ResponseCode::FormErr, None, None),
            Some(_) if request.metadata.op_code != OpCode::Query => {
                (ResponseCode::NotImp, None, None)
            }
            Some(query) => {
                // The original name keeps the client's letter case, so the
                // answers echo it (resolvers doing 0x20 randomisation check).
                let qname: Name = query.original().name().clone();
                let qtype = query.query_type();
                let zone = self.zone.read().unwrap().clone();
                match zone.behaviour_for(src, qtype) {
                    Behaviour::Silent => return failed_info(request),
                    Behaviour::LoseFirstUdp
                        if udp
                            && self
                                .lost
                                .lock()
                                .unwrap()
                                .insert((request.src(), request.metadata.id)) =>
                    {
                        return failed_info(request);
                    }
                    Behaviour::LoseUdp { per_mille, seed }
                        if udp && self.drop_datagram(per_mille, seed) =>
                    {
                        return failed_info(request);
                    }
                    Behaviour::RateLimit { per_second, burst }
                        if self.over_limit(src, per_second, burst) =>
                    {
                        return failed_info(request);
                    }
                    Behaviour::Refused => (ResponseCode::Refused, None, None),
                    Behaviour::ServFail => (ResponseCode::ServFail, None, None),
                    Behaviour::ServFailEde(code) => {
                        ede = Some(code);
                        (ResponseCode::ServFail, None, None)
                    }
                    Behaviour::RefusedEde(code) => {
                        ede = Some(code);
                        (ResponseCode::Refused, None, None)
                    }
                    Behaviour::NotImp => (ResponseCode::NotImp, None, None),
                    Behaviour::Lame => {
                        lame = true;
                        (ResponseCode::NoError, None, None)
                    }
                    Behaviour::TruncateUdp if udp => {
                        metadata.truncation = true;
                        (ResponseCode::NoError, None, None)
                    }
                    b => {
                        if let Behaviour::Delay(d) = b {
                            tokio::time::sleep(d).await;
                        }
                        let (records, scope) = zone.select_view(src, ecs.as_ref());
                        let found = zone.lookup(records, &qname, qtype);
                        (found.rcode, Some(found), scope)
                    }
                }
            }
        };
        metadata.response_code = rcode;
        // AA only on real data or a real negative answer, as a server would.
        metadata.authoritative =
            !lame && matches!(rcode, ResponseCode::NoError | ResponseCode::NXDomain);

        // EDNS in, EDNS out. The payload size of the response OPT is also
        // what hickory truncates UDP responses to, so mirror the client's.
        let response_edns = request.edns.as_ref().map(|req| {
            let mut edns = Edns::new();
            edns.set_max_payload(req.max_payload().max(512));
            if let Some(ecs) = ecs {
                let scope = ecs_scope.unwrap_or(0);
                edns.options_mut()
                    .insert(EdnsOption::Subnet(ClientSubnet::new(
                        ecs.addr(),
                        ecs.source_prefix(),
                        scope,
                    )));
            }
            if let Some(code) = ede {
                let mut data = code.to_be_bytes().to_vec();
                data.extend_from_slice(if rcode == ResponseCode::Refused {
                    b"queries from this network are not served".as_slice()
                } else {
                    b"signature expired on example.test".as_slice()
                });
                edns.options_mut().insert(EdnsOption::Unknown(15, data));
            }
            edns
        });
        let mut builder = MessageResponseBuilder::from_message_request(request);
        if let Some(edns) = &response_edns {
            builder.edns(edns);
        }
        let (answers, soa) = match &lookup {
            Some(l) => (l.answers.as_slice(), l.soa.as_slice()),
            None => (&[][..], &[][..]),
        };
        let response = builder.build(
            metadata,
            answers.iter(),
            std::iter::empty(),
            soa.iter(),
            std::iter::empty(),
        );
        match response_handle.send_response(response).await {
            Ok(info) => info,
            Err(_) => failed_info(request),
        }
    }
}

/// A running DNS server (UDP and TCP on [`DnsServer::addr`]). Stops when
/// dropped.
#[derive(Debug)]
pub struct DnsServer {
    pub addr: SocketAddr,
    log: QueryLogStore,
    zone: Arc<std::sync::RwLock<Zone>>,
    loss: Arc<Mutex<(Option<u64>, u64)>>,
    _thread: ServerThread,
}

type DnsSockets = (std::net::TcpListener, std::net::UdpSocket);

fn bind_dns(ip: IpAddr, port: u16) -> std::io::Result<(DnsSockets, u16)> {
    // TCP first: with port 0 the kernel picks a port, and UDP then takes the
    // same number (which may fail; the caller retries).
    let tcp = std::net::TcpListener::bind((ip, port))?;
    let port = tcp.local_addr()?.port();
    let udp = std::net::UdpSocket::bind((ip, port))?;
    tcp.set_nonblocking(true)?;
    udp.set_nonblocking(true)?;
    Ok(((tcp, udp), port))
}

impl DnsServer {
    /// Starts a server for `zone` on `ip` (127/8) with an ephemeral port,
    /// UDP and TCP on the same port. Synchronous; usable from any test.
    pub fn start(ip: IpAddr, zone: Zone) -> DnsServer {
        let sockets = bind_same_port(&[ip], bind_dns).expect("bind DNS sockets on 127/8");
        let sockets = sockets.into_iter().next().expect("one socket pair");
        Self::spawn(sockets, zone)
    }

    /// One server per address, all on the same port (like a set of
    /// resolvers that differ only by IP). `make` builds each one's zone.
    pub fn start_many(ips: &[IpAddr], make: impl Fn(IpAddr) -> Zone) -> Vec<DnsServer> {
        let sockets = bind_same_port(ips, bind_dns).expect("bind DNS sockets on 127/8");
        ips.iter()
            .zip(sockets)
            .map(|(ip, sockets)| Self::spawn(sockets, make(*ip)))
            .collect()
    }

    /// Like [`DnsServer::start_many`], but nothing listens on TCP: a TCP connection to these
    /// servers is refused (a firewall that blocks TCP/53, a server with TCP off).
    pub fn start_many_udp_only(ips: &[IpAddr], make: impl Fn(IpAddr) -> Zone) -> Vec<DnsServer> {
        let sockets = bind_same_port(ips, bind_dns).expect("bind DNS sockets on 127/8");
        ips.iter()
            .zip(sockets)
            .map(|(ip, sockets)| Self::spawn_with(sockets, make(*ip), false))
            .collect()
    }

    /// UDP datagrams [`Behaviour::LoseUdp`] dropped so far.
    pub fn dropped(&self) -> u64 {
        self.loss.lock().unwrap().1
    }

    fn spawn(sockets: DnsSockets, zone: Zone) -> DnsServer {
        Self::spawn_with(sockets, zone, true)
    }

    fn spawn_with((tcp, udp): DnsSockets, zone: Zone, serve_tcp: bool) -> DnsServer {
        let addr = tcp.local_addr().expect("local addr");
        // Closing the listener makes the port refuse TCP connections.
        let tcp = serve_tcp.then_some(tcp);
        let loss: Arc<Mutex<(Option<u64>, u64)>> = Arc::default();
        let log = QueryLogStore::default();
        let zone = Arc::new(std::sync::RwLock::new(zone));
        let handler = Handler {
            zone: zone.clone(),
            log: log.clone(),
            lost: Arc::default(),
            loss: loss.clone(),
            buckets: Arc::default(),
        };
        let thread = ServerThread::spawn(&format!("dns-{addr}"), move || async move {
            let udp = tokio::net::UdpSocket::from_std(udp).expect("register UDP socket");
            let mut server = Server::new(handler);
            server.register_socket(udp);
            if let Some(tcp) = tcp {
                let tcp = tokio::net::TcpListener::from_std(tcp).expect("register TCP listener");
                server.register_listener(tcp, TCP_IDLE_TIMEOUT, 64 * 1024);
            }
            // Runs until the handle is dropped; dropping `server` aborts its
            // tasks.
            let _ = server.block_until_done().await;
        });
        DnsServer {
            addr,
            log,
            zone,
            loss,
            _thread: thread,
        }
    }

    /// Replaces the zone served from now on.
    pub fn set_zone(&self, zone: Zone) {
        *self.zone.write().unwrap() = zone;
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn ip(&self) -> IpAddr {
        self.addr.ip()
    }

    /// Every query received so far, in arrival order.
    pub fn queries(&self) -> Vec<QueryLog> {
        self.log.lock().unwrap().clone()
    }

    /// Queries for one name (case-insensitive, trailing dot optional).
    pub fn queries_for(&self, qname: &str) -> Vec<QueryLog> {
        let want = format!("{}.", qname.trim_end_matches('.').to_ascii_lowercase());
        self.queries()
            .into_iter()
            .filter(|q| q.qname == want)
            .collect()
    }

    pub fn clear_queries(&self) {
        self.log.lock().unwrap().clear();
    }
}

// ---------------------------------------------------------------------------
// Minimal client side, for the self-tests and for tests that want to poke a
// server directly. Async: needs a tokio runtime.

/// A recursive (RD=1) query for `name`/`qtype` with EDNS (payload 1232).
pub fn query(name: &str, qtype: &str) -> Message {
    let rt: RecordType = qtype
        .to_ascii_uppercase()
        .parse()
        .unwrap_or_else(|e| panic!("bad record type {qtype:?}: {e}"));
    let mut msg = Message::query();
    msg.add_query(Query::query(fqdn(name), rt));
    msg.metadata.recursion_desired = true;
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    msg.set_edns(edns);
    msg
}

/// Same query without an OPT record.
pub fn query_no_edns(name: &str, qtype: &str) -> Message {
    let mut msg = query(name, qtype);
    msg.edns = None;
    msg
}

/// Adds an EDNS Client Subnet option (`"198.51.100.0/24"`), scope 0.
pub fn with_ecs(mut msg: Message, subnet: &str) -> Message {
    let cidr = Cidr::parse(subnet);
    let mut edns = msg.edns.take().unwrap_or_default();
    edns.options_mut()
        .insert(EdnsOption::Subnet(ClientSubnet::new(
            cidr.addr,
            cidr.prefix,
            0,
        )));
    msg.edns = Some(edns);
    msg
}

/// The ECS option of a message, if any.
pub fn ecs_of(msg: &Message) -> Option<ClientSubnet> {
    match msg.edns.as_ref()?.option(EdnsCode::Subnet)? {
        EdnsOption::Subnet(s) => Some(*s),
        _ => None,
    }
}

/// Sends `msg` over UDP from `src_ip` (port chosen by the kernel) and waits
/// up to `wait` for the reply with the same ID.
pub async fn udp_exchange(
    server: SocketAddr,
    src_ip: IpAddr,
    msg: &Message,
    wait: Duration,
) -> std::io::Result<Message> {
    assert_loopback(src_ip);
    assert_loopback(server.ip());
    let sock = tokio::net::UdpSocket::bind((src_ip, 0)).await?;
    sock.connect(server).await?;
    sock.send(&msg.to_vec().map_err(std::io::Error::other)?)
        .await?;
    let mut buf = vec![0u8; 65535];
    tokio::time::timeout(wait, async {
        loop {
            let n = sock.recv(&mut buf).await?;
            let reply = Message::from_vec(&buf[..n]).map_err(std::io::Error::other)?;
            if reply.metadata.id == msg.metadata.id {
                return Ok(reply);
            }
        }
    })
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "DNS over UDP timed out"))?
}

/// Sends `msg` over TCP (2-byte length prefix) from `src_ip`.
pub async fn tcp_exchange(
    server: SocketAddr,
    src_ip: IpAddr,
    msg: &Message,
    wait: Duration,
) -> std::io::Result<Message> {
    assert_loopback(src_ip);
    assert_loopback(server.ip());
    tokio::time::timeout(wait, async {
        let sock = tokio::net::TcpSocket::new_v4()?;
        sock.bind(SocketAddr::new(src_ip, 0))?;
        let mut stream = sock.connect(server).await?;
        let bytes = msg.to_vec().map_err(std::io::Error::other)?;
        let len = u16::try_from(bytes.len()).map_err(std::io::Error::other)?;
        stream.write_all(&len.to_be_bytes()).await?;
        stream.write_all(&bytes).await?;
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).await?;
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut buf).await?;
        Message::from_vec(&buf).map_err(std::io::Error::other)
    })
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "DNS over TCP timed out"))?
}
