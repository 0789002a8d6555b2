//! What a perspective saw, as facts: the vocabulary of a vantage (role, RIR, check, method,
//! phase) and the `Observation` each check produces, with its DNS exchanges, HTTP hops, CAA
//! records, typed signature and the addresses the policy set aside. This is the contract between
//! the probes and the analysis, and the content of `--save` files (docs/json.md); deciding what
//! the facts mean is the analysis' job.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a perspective counts as in the CA's quorum.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The CA's own vantage: must pass, is not counted in the quorum.
    Primary,
    /// A remote perspective: counted in the quorum.
    Remote,
    /// Diffed for diagnosis (authoritative servers, public resolvers), never counted.
    Source,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Primary => "primary",
            Role::Remote => "remote",
            Role::Source => "source",
        })
    }
}

/// Regional Internet Registry service regions; the BRs require corroborating remotes in two.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Rir {
    /// North America.
    Arin,
    /// Europe, Middle East, Central Asia.
    Ripe,
    /// Asia-Pacific.
    Apnic,
    /// Latin America and the Caribbean.
    Lacnic,
    /// Africa.
    Afrinic,
}

impl Rir {
    /// All five, in a stable order.
    pub const ALL: [Rir; 5] = [Rir::Arin, Rir::Ripe, Rir::Apnic, Rir::Lacnic, Rir::Afrinic];

    /// The registry's usual short name.
    pub fn as_str(self) -> &'static str {
        match self {
            Rir::Arin => "ARIN",
            Rir::Ripe => "RIPE",
            Rir::Apnic => "APNIC",
            Rir::Lacnic => "LACNIC",
            Rir::Afrinic => "AFRINIC",
        }
    }

    /// Accepts the short names case-insensitively, and "RIPE NCC".
    pub fn parse(s: &str) -> Option<Rir> {
        let up = s.trim().to_ascii_uppercase();
        let up = up.strip_suffix(" NCC").unwrap_or(&up);
        Rir::ALL.into_iter().find(|r| r.as_str() == up)
    }
}

impl fmt::Display for Rir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The checks a perspective performs for an identifier.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
pub enum Check {
    /// A/AAAA (and the CNAME chain): what address this perspective would contact.
    #[serde(rename = "address")]
    Address,
    /// The RFC 8659 CAA climb and its evaluation for the CA.
    #[serde(rename = "caa")]
    Caa,
    /// TXT at `_acme-challenge.<base>`.
    #[serde(rename = "dns-01")]
    Dns01,
    /// `GET http://<name>/.well-known/acme-challenge/<token>`.
    #[serde(rename = "http-01")]
    Http01,
    /// The zone's SOA serial, asked of each authoritative server (sources only).
    #[serde(rename = "soa")]
    Soa,
    /// A TLS handshake on port 443 with the name's SNI offering ALPN `acme-tls/1` (RFC 8737).
    #[serde(rename = "tls-alpn-01")]
    TlsAlpn01,
}

impl Check {
    /// The name used in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Address => "address",
            Check::Caa => "caa",
            Check::Dns01 => "dns-01",
            Check::Http01 => "http-01",
            Check::Soa => "soa",
            Check::TlsAlpn01 => "tls-alpn-01",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An ACME domain-validation method.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
pub enum Method {
    /// ACME http-01 (port 80).
    #[serde(rename = "http-01")]
    Http01,
    /// ACME dns-01 (TXT at `_acme-challenge`).
    #[serde(rename = "dns-01")]
    Dns01,
    /// ACME tls-alpn-01 (RFC 8737: port 443, ALPN `acme-tls/1`, a challenge certificate).
    #[serde(rename = "tls-alpn-01")]
    TlsAlpn01,
}

impl Method {
    /// The check that carries this method.
    pub fn check(self) -> Check {
        match self {
            Method::Http01 => Check::Http01,
            Method::Dns01 => Check::Dns01,
            Method::TlsAlpn01 => Check::TlsAlpn01,
        }
    }

    /// The ACME label (also used by CAA `validationmethods`).
    pub fn as_str(self) -> &'static str {
        self.check().as_str()
    }
}

/// Where a failed observation failed. `None` on an observation means the perspective got an answer.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Name resolution failed (SERVFAIL, REFUSED, unreachable resolver, malformed reply).
    Dns,
    /// TCP connect refused or reset.
    Connect,
    /// TLS handshake (after a redirect to https).
    Tls,
    /// The perspective's proxy failed: the tool's problem, not the domain's.
    Proxy,
    /// An HTTP-level problem: bad status, disallowed redirect, oversized body.
    Http,
    /// A step did not finish within the configured timeout.
    Timeout,
    /// The peer spoke something that is not the expected protocol.
    Protocol,
}

impl Phase {
    /// Every phase.
    pub const ALL: [Phase; 7] = [
        Phase::Dns,
        Phase::Connect,
        Phase::Tls,
        Phase::Proxy,
        Phase::Http,
        Phase::Timeout,
        Phase::Protocol,
    ];

    /// The phase for its JSON word.
    pub fn parse(s: &str) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.to_string() == s)
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Dns => "dns",
            Phase::Connect => "connect",
            Phase::Tls => "tls",
            Phase::Proxy => "proxy",
            Phase::Http => "http",
            Phase::Timeout => "timeout",
            Phase::Protocol => "protocol",
        })
    }
}

/// One resource record as seen on the wire, rendered as text.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Rr {
    /// Owner name, absolute without trailing dot.
    pub name: String,
    /// Record type mnemonic (`A`, `CNAME`, …).
    #[serde(rename = "type")]
    pub rtype: String,
    /// TTL in seconds as received.
    pub ttl: u32,
    /// Record data in presentation form; TXT strings joined, bytes escaped.
    pub data: String,
}

/// The facts of one DNS exchange (one question to one server).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsExchange {
    /// The question name, absolute without trailing dot.
    pub qname: String,
    /// The question type mnemonic.
    pub qtype: String,
    /// Which server answered, e.g. `udp://127.0.0.53:53` (proxy credentials never appear).
    pub server: String,
    /// Response code (`NOERROR`, `NXDOMAIN`, …); absent when no reply arrived.
    pub rcode: Option<String>,
    /// Authoritative-answer flag.
    pub aa: bool,
    /// Authenticated-data flag (DNSSEC validated by the resolver).
    pub ad: bool,
    /// Answer-section records (including CNAMEs).
    pub answers: Vec<Rr>,
    /// Aliases followed, in order, starting with the question name.
    pub cname_chain: Vec<String>,
    /// For NXDOMAIN/NODATA: the negative-caching TTL from the SOA (min of SOA TTL and minimum).
    pub negative_ttl: Option<u32>,
    /// EDNS Client Subnet sent, as CIDR.
    pub ecs: Option<String>,
    /// ECS scope prefix returned by the server, if it echoed the option.
    pub ecs_scope: Option<u8>,
    /// Milliseconds from send to reply (or failure).
    pub elapsed_ms: u64,
    /// Why no usable reply arrived (timeout, truncation without TCP, malformed), if so.
    pub error: Option<String>,
    /// Extended DNS Error (RFC 8914) the server attached: "<info-code> <meaning>: <extra text>".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ede: Option<Ede>,
    /// UDP datagrams sent again because no reply had come yet (0 when the first one was answered
    /// or the transport is not UDP). Absent in JSON when 0, so older saved runs still load.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retransmits: u32,
    /// Asked by the tool itself, after the perspective's resolver failed (SERVFAIL), of an
    /// authoritative server of the zone, from the same perspective, to find the cause; not part
    /// of what the perspective's resolver saw. Absent in JSON when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub diagnostic: bool,
    /// A copy of an exchange another name of the same run and perspective made: an answer about a
    /// shared parent (a CAA name above the identifier, a zone's NS, a nameserver's address) asked
    /// once while its TTL lasts and reused, not asked again for this name. Absent in JSON when
    /// false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub reused: bool,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One HTTP request/response in a redirect chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpHop {
    /// The URL requested.
    pub url: String,
    /// The address connected to (or the proxy-resolved target when a proxy decided).
    pub address: Option<String>,
    /// Status code received, if any.
    pub status: Option<u16>,
    /// `Location` header, for redirects.
    pub location: Option<String>,
    /// Response headers that reveal caching, a CDN or a WAF (lower-case names).
    pub headers: Vec<(String, String)>,
    /// Milliseconds for this hop.
    pub elapsed_ms: u64,
}

/// What an HTTP-01 fetch showed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpFacts {
    /// The first URL.
    pub url: String,
    /// How the request left: `direct` or the redacted proxy URL.
    pub via: String,
    /// User-Agent sent.
    pub user_agent: String,
    /// Each hop of the redirect chain.
    pub hops: Vec<HttpHop>,
    /// Final status, if a response arrived.
    pub status: Option<u16>,
    /// First bytes of the body, escaped for display.
    pub body_prefix: Option<String>,
    /// Bytes of body read (reading stops at a small bound).
    pub body_len: Option<u64>,
    /// SHA-256 of the bytes read, hex.
    pub body_sha256: Option<String>,
    /// Whether reading stopped at the bound (the body is at least that long).
    pub body_truncated: bool,
    /// A second fetch with a browser User-Agent, made when the CA's User-Agent was refused, to
    /// tell User-Agent filtering from geoblocking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt_user_agent: Option<AltFetch>,
}

/// The outcome of the same fetch with another User-Agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AltFetch {
    /// The User-Agent sent.
    pub user_agent: String,
    /// Final status, if a response arrived.
    pub status: Option<u16>,
    /// One line.
    pub summary: String,
}

/// One CAA property as found, with the raw flags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaaRecord {
    /// Flags octet (128 = issuer critical).
    pub flags: u8,
    /// Property tag as received.
    pub tag: String,
    /// Property value, escaped.
    pub value: String,
}

/// What a CAA climb showed and how it was judged for the CA.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaaFacts {
    /// The name whose RRset is relevant (closest non-empty), if any.
    pub found_at: Option<String>,
    /// Its records.
    pub records: Vec<CaaRecord>,
    /// `permit`, `forbid`, or `error`.
    pub decision: CaaDecision,
    /// Why, in plain words.
    pub reason: String,
}

/// An Extended DNS Error (RFC 8914) a server attached to a reply: the info code as a number, so
/// the analysis can match DNSSEC failures without reading text, and the rest as the server (or
/// the tool, for the code's name) put it. Serialised as the one string of the JSON contract,
/// `"<code> <meaning>: <extra text>"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ede {
    /// The INFO-CODE.
    pub code: u16,
    /// What follows the code: the code's name and any EXTRA-TEXT, escaped (may be empty).
    pub text: String,
}

impl Ede {
    /// Whether the info code reports a DNSSEC validation failure (RFC 8914 codes 1, 2, 5–12).
    pub fn is_dnssec(&self) -> bool {
        matches!(self.code, 1 | 2 | 5..=12)
    }

    /// Reads the serialised form back (`--replay`).
    pub fn parse(s: &str) -> Option<Ede> {
        let (code, text) = s.split_once(' ').unwrap_or((s, ""));
        Some(Ede {
            code: code.parse().ok()?,
            text: text.to_string(),
        })
    }
}

impl fmt::Display for Ede {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.text.is_empty() {
            write!(f, "{}", self.code)
        } else {
            write!(f, "{} {}", self.code, self.text)
        }
    }
}

// The JSON Schema of a string-serialised fact: the type's own description, as a string.
impl schemars::JsonSchema for Ede {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Ede".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "An Extended DNS Error (RFC 8914): its info-code, then its extra text if any (`18 Prohibited`)."
        })
    }
}

impl Serialize for Ede {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ede {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ede::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("not an EDE: {s:?}")))
    }
}

/// How a CAA climb was judged for the CA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CaaDecision {
    /// The CA may issue.
    Permit,
    /// The records forbid the CA.
    Forbid,
    /// A lookup failed before the relevant RRset was found: a CA refuses to issue.
    Error,
}

impl CaaDecision {
    /// The word used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            CaaDecision::Permit => "permit",
            CaaDecision::Forbid => "forbid",
            CaaDecision::Error => "error",
        }
    }
}

impl fmt::Display for CaaDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// CAA property tags the CA understands (RFC 8659 issue/issuewild/iodef, RFC 9495 issuemail,
/// issuevmc). A critical property outside this list forbids issuance everywhere; the CAA check
/// and the analysis share this one list so they cannot disagree on it.
pub const CAA_KNOWN_TAGS: &[&str] = &["issue", "issuewild", "iodef", "issuemail", "issuevmc"];

impl CaaRecord {
    /// Whether this property carries the issuer-critical flag on a tag the CA does not know,
    /// which forbids issuance by every CA. Boulder also treats flag value 1 as critical (a
    /// common misreading of the bit order), so both bits count.
    pub fn is_critical_unknown(&self) -> bool {
        (self.flags & 0x80 != 0 || self.flags & 0x01 != 0)
            && !CAA_KNOWN_TAGS.contains(&self.tag.to_ascii_lowercase().as_str())
    }
}

/// The compact, comparable value of an observation: two perspectives that saw the same thing
/// have equal signatures. The kinds the analysis reasons about are variants; answer sets
/// (addresses, TXT values, SOA serials, a nameserver's CAA RRset) are compared for equality only
/// and stay opaque. Serialised as the one string of the JSON contract (`status:404`, `permit`,
/// `error:<phase>`, …); `parse` and `Display` are inverse on every string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Signature {
    /// `error:<phase>`: no usable answer.
    Failed(Phase),
    /// `error:http:<status>`: an engine's HTTP failure with the status it saw.
    HttpError(u16),
    /// `status:<code>`: the final HTTP status when no expected body was asked for, or a wrong one.
    Status(u16),
    /// `expected`: the expected challenge body.
    Expected,
    /// `body-too-large`: a body no CA accepts as a key authorization.
    BodyTooLarge,
    /// `mismatch:<sha256>`: another body, by digest.
    Mismatch(String),
    /// `redirect-disallowed`: a redirect a CA will not follow.
    RedirectDisallowed,
    /// `permit`: CAA allows the CA.
    Permit,
    /// `forbid`: CAA forbids the CA.
    Forbid,
    /// `error`: the CAA lookup failed.
    CaaError,
    /// `nxdomain`: the name does not exist.
    NxDomain,
    /// `nodata`: the name exists without the records asked for.
    NoData,
    /// `none`: no records (TXT, or CAA below a zone apex).
    None,
    /// `no-soa`: the server is not authoritative for the zone.
    NoSoa,
    /// A zone's SOA serial, as a bare number.
    Serial(u32),
    /// Any other answer set, compared as is.
    Answer(String),
}

impl Signature {
    /// The signature for a serialised string (the `--replay` boundary) or an answer set. Answer
    /// sets go through here too, so a value that happens to spell a keyword compares equal to
    /// its replayed self.
    pub fn parse(s: &str) -> Signature {
        let num = |t: &str| t.parse::<u16>().ok();
        match s {
            "expected" => return Signature::Expected,
            "body-too-large" => return Signature::BodyTooLarge,
            "redirect-disallowed" => return Signature::RedirectDisallowed,
            "permit" => return Signature::Permit,
            "forbid" => return Signature::Forbid,
            "error" => return Signature::CaaError,
            "nxdomain" => return Signature::NxDomain,
            "nodata" => return Signature::NoData,
            "none" => return Signature::None,
            "no-soa" => return Signature::NoSoa,
            _ => {}
        }
        if let Some(n) = s.strip_prefix("error:http:").and_then(num)
            && s == format!("error:http:{n}")
        {
            return Signature::HttpError(n);
        }
        if let Some(p) = s.strip_prefix("error:").and_then(Phase::parse) {
            return Signature::Failed(p);
        }
        if let Some(n) = s.strip_prefix("status:").and_then(num)
            && s == format!("status:{n}")
        {
            return Signature::Status(n);
        }
        if let Ok(n) = s.parse::<u32>()
            && s == n.to_string()
        {
            return Signature::Serial(n);
        }
        if let Some(h) = s.strip_prefix("mismatch:") {
            return Signature::Mismatch(h.to_string());
        }
        Signature::Answer(s.to_string())
    }

    /// Whether the answer is a body (expected, too large or another): the token was known.
    pub fn is_body(&self) -> bool {
        matches!(
            self,
            Signature::Expected | Signature::BodyTooLarge | Signature::Mismatch(_)
        )
    }
}

impl Default for Signature {
    fn default() -> Self {
        Signature::Answer(String::new())
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Signature::Failed(p) => write!(f, "error:{p}"),
            Signature::HttpError(s) => write!(f, "error:http:{s}"),
            Signature::Status(s) => write!(f, "status:{s}"),
            Signature::Expected => f.write_str("expected"),
            Signature::BodyTooLarge => f.write_str("body-too-large"),
            Signature::Mismatch(h) => write!(f, "mismatch:{h}"),
            Signature::RedirectDisallowed => f.write_str("redirect-disallowed"),
            Signature::Permit => f.write_str("permit"),
            Signature::Forbid => f.write_str("forbid"),
            Signature::CaaError => f.write_str("error"),
            Signature::NxDomain => f.write_str("nxdomain"),
            Signature::NoData => f.write_str("nodata"),
            Signature::None => f.write_str("none"),
            Signature::NoSoa => f.write_str("no-soa"),
            Signature::Serial(n) => write!(f, "{n}"),
            Signature::Answer(s) => f.write_str(s),
        }
    }
}

// Grouped and sorted by the analysis (e.g. the GeoDNS answer groups): ordering by the string keeps
// every order, and so the output, as it was when signatures were strings.
impl Ord for Signature {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.to_string().cmp(&other.to_string())
    }
}

impl PartialOrd for Signature {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl schemars::JsonSchema for Signature {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Signature".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "What kind of answer an observation was, in one word or a short phrase (`timeout`, `http 403`, …): the key perspectives are compared by."
        })
    }
}

impl Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Signature::parse(&String::deserialize(d)?))
    }
}

// The serialised form, as `parse` reads it (hand-built observations in tests use these).
impl From<&str> for Signature {
    fn from(s: &str) -> Self {
        Signature::parse(s)
    }
}

impl From<String> for Signature {
    fn from(s: String) -> Self {
        Signature::parse(&s)
    }
}

#[cfg(test)]
impl PartialEq<&str> for Signature {
    fn eq(&self, other: &&str) -> bool {
        *self == Signature::parse(other)
    }
}

#[cfg(test)]
impl From<&str> for CaaDecision {
    fn from(s: &str) -> Self {
        match s {
            "permit" => CaaDecision::Permit,
            "forbid" => CaaDecision::Forbid,
            _ => CaaDecision::Error,
        }
    }
}

#[cfg(test)]
impl PartialEq<&str> for CaaDecision {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Where an observation was really made: the network position the DNS answer or the HTTP fetch
/// came from. A remote perspective's result measures its region only when it was made away from
/// this host; otherwise it emulates the region (ECS) or is simply this host's own view. The
/// analysis reads this, never the perspective's name, to decide what a quorum count means
/// (docs/how-it-decides.md, "Where each answer came from").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Provenance {
    /// Made from this machine: its system resolver, the authoritative servers asked directly, or
    /// a direct HTTP connection. Measures content and this host's view only.
    ThisHost,
    /// An authoritative query from this machine carrying an EDNS Client Subnet option: GeoDNS
    /// answers as it would for that subnet (emulated), but the packet's source address is this
    /// host's, so source-address refusals and anycast routing are not seen.
    ThisHostEcs {
        /// The subnet sent, as CIDR.
        subnet: String,
    },
    /// Asked of a recursive resolver, which queries the authoritative servers from its own
    /// egress address: refusals by source address are seen as that resolver's egress meets them.
    /// An anycast public resolver egresses near this host, so it is a regional vantage only when
    /// the resolver itself runs in that region.
    RemoteResolver {
        /// The resolver, e.g. `udp://192.0.2.53:53`.
        resolver: String,
    },
    /// Through a SOCKS5 or HTTP proxy (DNS over TCP through SOCKS5): the target sees the proxy's
    /// egress address.
    Proxy {
        /// The proxy, `host:port`, credentials removed.
        proxy: String,
        /// The egress address the target saw, when the tool learnt it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        egress: Option<String>,
    },
    /// Measured by a Globalping probe.
    GlobalpingProbe {
        /// The location asked for (continent, country, magic string).
        location: String,
        /// The probe's city, when reported.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        city: Option<String>,
        /// The probe's country code, when reported.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        country: Option<String>,
        /// The probe's autonomous system number, when reported.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        asn: Option<u64>,
    },
    /// Measured by a perspective of an Open MPIC deployment.
    OpenMpic {
        /// The deployment's perspective code, e.g. `us-east-1`.
        perspective_code: String,
    },
}

/// How far an observation reached, for the quorum: measured away from this host, emulated from
/// this host (ECS), or made from this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reach {
    /// From this host, with nothing that stands for another region.
    ThisHost,
    /// From this host, standing in for a region (an ECS subnet).
    Emulated,
    /// Made away from this host (remote resolver, proxy, probe, Open MPIC).
    Away,
}

impl Provenance {
    /// How far it reached.
    pub fn reach(&self) -> Reach {
        match self {
            Provenance::ThisHost => Reach::ThisHost,
            Provenance::ThisHostEcs { .. } => Reach::Emulated,
            Provenance::RemoteResolver { .. }
            | Provenance::Proxy { .. }
            | Provenance::GlobalpingProbe { .. }
            | Provenance::OpenMpic { .. } => Reach::Away,
        }
    }

    /// One letter for table rows (the legend is [`Provenance::LEGEND`]).
    pub fn marker(&self) -> &'static str {
        match self {
            Provenance::ThisHost => "H",
            Provenance::ThisHostEcs { .. } => "E",
            Provenance::RemoteResolver { .. } => "R",
            Provenance::Proxy { .. } => "P",
            Provenance::GlobalpingProbe { .. } => "G",
            Provenance::OpenMpic { .. } => "O",
        }
    }

    /// The markers' legend, in marker order.
    pub const LEGEND: &'static str = "H this host, E emulated from this host (ECS), R remote resolver, P proxy, G Globalping probe, O Open MPIC";
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Provenance::ThisHost => f.write_str("this host"),
            Provenance::ThisHostEcs { subnet } => write!(f, "emulated (ECS {subnet})"),
            Provenance::RemoteResolver { resolver } => write!(f, "remote resolver {resolver}"),
            Provenance::Proxy { proxy, egress } => match egress {
                Some(e) => write!(f, "proxy {proxy} (egress seen: {e})"),
                None => write!(f, "proxy {proxy}"),
            },
            Provenance::GlobalpingProbe {
                location,
                city,
                country,
                asn,
            } => {
                write!(f, "Globalping probe {location}")?;
                let parts: Vec<String> =
                    [city.clone(), country.clone(), asn.map(|a| format!("AS{a}"))]
                        .into_iter()
                        .flatten()
                        .collect();
                if !parts.is_empty() {
                    write!(f, " ({})", parts.join(", "))?;
                }
                Ok(())
            }
            Provenance::OpenMpic { perspective_code } => {
                write!(f, "Open MPIC {perspective_code}")
            }
        }
    }
}

/// `DnsExchange::error` when a reply's CNAMEs loop back on themselves.
pub const CNAME_LOOP: &str = "CNAME loop";

#[cfg(test)]
mod fact_tests {
    use super::*;

    #[test]
    fn signature_strings_round_trip() {
        for s in [
            "error:timeout",
            "error:http:403",
            "error:http:x",
            "error:nonsense",
            "status:404",
            "status:04",
            "expected",
            "body-too-large",
            "mismatch:ab12",
            "redirect-disallowed",
            "permit",
            "forbid",
            "error",
            "nxdomain",
            "nodata",
            "none",
            "no-soa",
            "192.0.2.1,2001:db8::1",
            "a|b",
            "",
            "2026112801",
            "0123",
        ] {
            assert_eq!(Signature::parse(s).to_string(), s);
        }
        assert_eq!(Signature::parse("status:403"), Signature::Status(403));
        assert_eq!(
            Signature::parse("error:proxy"),
            Signature::Failed(Phase::Proxy)
        );
    }

    #[test]
    fn ede_round_trips_and_knows_dnssec_codes() {
        for s in ["22 No Reachable Authority: at x.", "18 Prohibited", "6"] {
            let e = Ede::parse(s).unwrap();
            assert_eq!(e.to_string(), s);
        }
        assert!(Ede::parse("6 DNSSEC Bogus").unwrap().is_dnssec());
        assert!(!Ede::parse("18 Prohibited").unwrap().is_dnssec());
        assert_eq!(Ede::parse("x y"), None);
    }
}

/// What one perspective saw for one identifier and one check: facts only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Observation {
    /// Perspective (or source) name.
    pub perspective: String,
    /// The check.
    pub check: Check,
    /// For per-address HTTP-01 fetches: the address tested. Absent for the CA-like fetch.
    pub address: Option<String>,
    /// The check succeeded from this vantage (DCV answer as required, CAA permits, name resolves).
    pub ok: bool,
    /// Where it failed, when it failed without a usable answer.
    pub phase: Option<Phase>,
    /// True when the failure is the tool's own (proxy down, resolver unreachable): coverage, not blame.
    pub perspective_fault: bool,
    /// One line for humans.
    pub summary: String,
    /// Wall time of the whole check from this perspective.
    pub elapsed_ms: u64,
    /// A compact value the analysis compares across perspectives (sorted addresses, TXT set, HTTP
    /// answer kind). Two perspectives that saw the same thing have equal signatures.
    pub signature: Signature,
    /// Addresses this perspective resolved (address check).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    /// DNS exchanges behind this observation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<DnsExchange>,
    /// HTTP facts (HTTP-01).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpFacts>,
    /// CAA facts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caa: Option<CaaFacts>,
    /// TXT values seen (DNS-01).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub txt: Vec<String>,
    /// The webroot probe's extra fetches (HTTP-01 with `--webroot`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<ProbeFacts>,
    /// Addresses this check met that a CA will not contact (special-purpose ranges), set aside
    /// without sending anything to them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<RefusedAddress>,
    /// Nameservers of the zone that the caps left unasked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ns_capped: Option<NsCapped>,
    /// With phase `connect`: how the connection failed, when the transport said so (with phase
    /// `http`: `reset` when the connection was reset after it was made). Typed here
    /// so renderers tell a refused port from a reset one without reading `summary`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_failure: Option<ConnectFailure>,
    /// HTTP-01: what the answering software is, recognised at the check layer from headers and
    /// the body's first bytes (a router's page, a WAF's challenge, a CDN): the analysis matches
    /// these instead of reading bodies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fingerprints: Vec<Fingerprint>,
    /// dns-01: TXT found at the challenge name with the zone appended a second time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txt_doubled: Option<DoubledTxt>,
    /// Where this observation was really made. Absent in saved runs of older versions, which
    /// the loader fills from the run's perspective list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    /// TLS-ALPN-01 facts: what the handshake on port 443 negotiated and what the challenge
    /// certificate showed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsFacts>,
    /// With `perspective_fault`: which fault of the tool's own it was, when it is known (an
    /// overloaded resolver, the open-file limit), so the fix can name the remedy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_fault: Option<ToolFault>,
}

/// A failure that is the tool's own, not the domain's or the perspective's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ToolFault {
    /// The perspective's resolver stopped answering this run in time for many names at once
    /// while the other perspectives answered them: it is overloaded or rate-limiting this host.
    ResolverOverloaded,
    /// This process ran out of file descriptors (EMFILE) or the system did (ENFILE).
    OutOfFiles,
}

/// What a TLS-ALPN-01 handshake showed (RFC 8737, as Boulder's va/tlsalpn.go checks it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsFacts {
    /// The address connected to (absent when a proxy resolved the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The TLS version negotiated, e.g. `TLSv1_3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The ALPN protocol the server selected (`acme-tls/1` when it answers the challenge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpn: Option<String>,
    /// The server refused the handshake because it speaks none of the offered ALPN protocols
    /// (alert `no_application_protocol`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub alpn_refused: bool,
    /// The challenge certificate's verdict when `acme-tls/1` was negotiated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<TlsCertVerdict>,
    /// dNSName SANs of the certificate presented.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub san: Vec<String>,
    /// The acmeIdentifier extension's value (hex SHA-256), when present and well formed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acme_identifier: Option<String>,
}

/// How a challenge certificate compares with RFC 8737 §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TlsCertVerdict {
    /// Right SAN, critical acmeIdentifier with the SHA-256 of the key authorization given.
    Valid,
    /// Right SAN and a critical, well-formed acmeIdentifier, but no key authorization was given
    /// (`--key-authorization`) to compare its digest with.
    Unverified,
    /// Not exactly one dNSName SAN equal to the identifier (or an iPAddress SAN besides).
    WrongSan,
    /// No acmeIdentifier extension (OID 1.3.6.1.5.5.7.1.31).
    NoAcmeIdentifier,
    /// The acmeIdentifier extension is not marked critical.
    NotCritical,
    /// The acmeIdentifier value is not an OCTET STRING of 32 bytes.
    Malformed,
    /// The acmeIdentifier digest is not the SHA-256 of the key authorization.
    WrongDigest,
    /// The certificate is not self-signed, repeats an extension, or cannot be parsed.
    Unusable,
}

/// How a connection attempt failed (phase `connect`), as classified where the transport error
/// is first seen. A refused port means nothing listens there (or a firewall rejects); a reset
/// or an unreachable host points elsewhere, so the two must not share one word.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectFailure {
    /// The target (or the proxy on its behalf) refused the connection.
    Refused,
    /// The connection was reset or aborted by the other side.
    Reset,
    /// No route to the host or its network.
    Unreachable,
}

/// Where a refused address came from.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum RefusedFrom {
    /// The name's own A/AAAA records.
    Address,
    /// A redirect target of the HTTP-01 fetch (literal or resolved).
    Redirect,
    /// A nameserver address of the zone (NS glue or the nameserver name's A/AAAA).
    Nameserver,
}

/// An address a CA will not contact, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefusedAddress {
    /// The address.
    pub address: String,
    /// The special-purpose range it falls in, e.g. `10.0.0.0/8`.
    pub range: String,
    /// What that range is, e.g. "a private address".
    pub what: String,
    /// Where it came from.
    pub from: RefusedFrom,
    /// The host name it belongs to (the redirect target's or the nameserver's), when not the
    /// identifier itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// How many nameservers of a zone the caps left unasked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NsCapped {
    /// The zone.
    pub zone: String,
    /// Nameserver names the zone delegates to.
    pub names: usize,
    /// Nameserver names resolved and asked.
    pub names_asked: usize,
    /// Nameserver addresses left out by the per-name and per-zone address caps.
    pub addresses_left_out: usize,
}

/// What the webroot probe saw around the main fetch: before the file existed, and after it was
/// rewritten with new content (a cache shows the old content).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProbeFacts {
    /// Final status before the file was written.
    pub before_status: Option<u16>,
    /// Final status after the rewrite.
    pub rewrite_status: Option<u16>,
    /// Whether the new content came back after the rewrite.
    pub rewrite_matched: bool,
    /// Whether the old content came back after the rewrite (a cache).
    pub rewrite_stale: bool,
    /// One line about the rewrite fetch.
    pub rewrite_summary: String,
    /// When a second fetch of another random path (never the probe file's) came back as a 404
    /// from a cache: the header that showed it (e.g. `x-cache: HIT`). The edge caches 404s, so
    /// anything fetching a challenge URL before its file exists poisons it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_404: Option<String>,
}

/// What kind of software an HTTP-01 answer came from (see `checks::fingerprints` for the table
/// of patterns and where each comes from).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum FingerprintKind {
    /// A router's or modem's own web interface (port forwarding to the web server is missing).
    RouterPage,
    /// The nginx testcookie module or another JavaScript/cookie bot challenge.
    BotChallenge,
    /// A firewall's block page for the ACME application (Palo Alto App-ID `acme-protocol`).
    FirewallBlock,
    /// A plain HTTP request reached a port that speaks HTTPS, or an https:// URL reached a port
    /// that speaks plain HTTP.
    HttpOnHttpsPort,
    /// An HTML document where the key authorization (plain text) belongs.
    HtmlBody,
    /// A CDN answered (its headers are on a hop).
    Cdn,
}

/// One recognised signature on an HTTP-01 answer.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Fingerprint {
    /// What was recognised.
    pub kind: FingerprintKind,
    /// The product or vendor named by the pattern (e.g. `FRITZ!Box`, `Cloudflare`).
    pub product: String,
    /// The header or body text that matched, escaped and short.
    pub matched: String,
}

/// TXT records at `_acme-challenge.<name>.<zone>`: a DNS panel that appends the zone to a name
/// entered with it already (Let's Debug's `TXTDoubleLabel`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DoubledTxt {
    /// The doubled name asked.
    pub name: String,
    /// Values found there.
    pub values: Vec<String>,
    /// A random name beside it answered the same TXT: a wildcard, so not evidence of a mistake.
    pub wildcard: bool,
}
