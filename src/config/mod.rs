//! The configuration file (TOML, design §4) and the built-in default perspective set. Users write
//! this file by hand, so every error names the file, the line and the key, unknown keys are
//! rejected (a typo must not silently fall back to a default), and proxy credentials never leave
//! this module in printable form: every `Display` of a perspective side is redacted.

pub mod engine;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use url::Url;

use crate::model::{Rir, Role};

/// Largest config file read; a perspectives file is a few KiB, and `--config /dev/zero` must be
/// an error, not a hang.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Reads UTF-8 text of at most `cap` bytes; more is an `InvalidData` error that says so, so an
/// endless or huge input (a device, a FIFO, a wrong file) ends at once with one line.
pub fn read_text_capped(r: impl std::io::Read, cap: u64) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    r.take(cap + 1).read_to_string(&mut text)?;
    if text.len() as u64 > cap {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {} (the limit)", human_bytes(cap)),
        ));
    }
    Ok(text)
}

fn human_bytes(n: u64) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

/// Per-step network timeout when neither the file nor the command line sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// CAA issuer domain evaluated by default (Let's Encrypt).
pub const DEFAULT_CA: &str = "letsencrypt.org";

/// A configuration problem, always pointing at where it is.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read config: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A value or structure is wrong.
    #[error("{path}:{line}: {key}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// The key (dotted path).
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// How a perspective asks DNS questions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsSpec {
    /// The host's resolvers from resolv.conf.
    System,
    /// A recursive resolver over UDP (TCP on truncation, or always through a proxy).
    Udp(SocketAddr),
    /// A recursive resolver over TCP.
    Tcp(SocketAddr),
    /// DNS over HTTPS (RFC 8484), e.g. `https://dns.example/dns-query`.
    Doh(Url),
    /// Ask the zone's authoritative servers directly, without recursion.
    Authoritative,
    /// One authoritative server, asked without recursion. Not configurable: the tool creates these
    /// as sources for every nameserver address it discovers.
    Nameserver(SocketAddr),
}

impl FromStr for DnsSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        // Errors quote the value, but a proxy URL pasted here by mistake carries its password.
        let shown = redact_str(s);
        match s {
            "system" => return Ok(DnsSpec::System),
            "authoritative" => return Ok(DnsSpec::Authoritative),
            _ => {}
        }
        if let Some(rest) = s.strip_prefix("https://") {
            // Any `@` means userinfo (RFC 8484 has no use for one), and it would travel to the
            // DoH server or, mis-split at a `#`, `/` or `?`, become the host and path.
            if rest.contains('@') {
                return Err(format!(
                    "{shown:?}: a DoH URL cannot carry a user or password \
                     (an '@' in its path must be written %40)"
                ));
            }
            let url = Url::parse(s).map_err(|e| format!("invalid DoH URL {shown:?}: {e}"))?;
            if url.host_str().is_none() {
                return Err(format!("DoH URL {shown:?} has no host"));
            }
            return Ok(DnsSpec::Doh(url));
        }
        let (scheme, rest) = s.split_once("://").ok_or_else(|| {
            format!(
                "{shown:?} is not a DNS side: use system, authoritative, udp://IP[:port], \
                 tcp://IP[:port] or https://HOST/dns-query"
            )
        })?;
        check_raw_url(s)?;
        let addr = parse_ip_port(rest, 53).ok_or_else(|| {
            format!(
                "{shown:?}: expected an IP address with an optional port, e.g. {scheme}://192.0.2.53:53"
            )
        })?;
        match scheme {
            "udp" => Ok(DnsSpec::Udp(addr)),
            "tcp" => Ok(DnsSpec::Tcp(addr)),
            other => Err(format!(
                "unknown DNS scheme {other:?}: use udp://, tcp://, https://, system or authoritative"
            )),
        }
    }
}

impl fmt::Display for DnsSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsSpec::System => f.write_str("system"),
            DnsSpec::Authoritative => f.write_str("authoritative"),
            DnsSpec::Nameserver(a) => write!(f, "nameserver {a} (no recursion)"),
            DnsSpec::Udp(a) => write!(f, "udp://{a}"),
            DnsSpec::Tcp(a) => write!(f, "tcp://{a}"),
            DnsSpec::Doh(u) => f.write_str(&redact_url(u)),
        }
    }
}

/// `IP`, `IP:port`, `[v6]` or `[v6]:port`.
fn parse_ip_port(s: &str, default_port: u16) -> Option<SocketAddr> {
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa);
    }
    let bare = s
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(s);
    bare.parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, default_port))
}

/// Which kind of proxy carries a perspective's traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    /// SOCKS5; this tool resolves names (the perspective's DNS decides the address).
    Socks5,
    /// SOCKS5 with remote resolution (the proxy's location decides).
    Socks5h,
    /// An HTTP proxy (it resolves names itself).
    Http,
}

/// Where a SOCKS5 proxy listens and how to log in (the password is never displayed).
#[derive(Clone, PartialEq, Eq)]
pub struct SocksEndpoint {
    /// Host name or IP.
    pub host: String,
    /// Port.
    pub port: u16,
    /// User name and password.
    pub auth: Option<(String, String)>,
}

impl fmt::Debug for SocksEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "socks5://{}{}:{}",
            if self.auth.is_some() { "***@" } else { "" },
            self.host,
            self.port
        )
    }
}

/// How a perspective makes HTTP requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpSpec {
    /// From this host.
    Direct,
    /// Through a proxy.
    Proxy {
        /// Proxy kind.
        kind: ProxyKind,
        /// The full URL including credentials: never print it; use `Display`.
        url: Url,
    },
}

impl HttpSpec {
    /// The proxy host and port, for DNS over TCP through a SOCKS5 proxy.
    pub fn socks_endpoint(&self) -> Option<SocksEndpoint> {
        match self {
            HttpSpec::Proxy {
                kind: ProxyKind::Socks5 | ProxyKind::Socks5h,
                url,
            } => {
                let host = url
                    .host_str()?
                    .trim_start_matches('[')
                    .trim_end_matches(']');
                let auth = (!url.username().is_empty()).then(|| {
                    let dec = |s: &str| {
                        url::form_urlencoded::parse(format!("x={s}").as_bytes())
                            .next()
                            .map(|(_, v)| v.into_owned())
                            .unwrap_or_default()
                    };
                    (dec(url.username()), dec(url.password().unwrap_or("")))
                });
                Some(SocksEndpoint {
                    host: host.to_string(),
                    port: url.port().unwrap_or(1080),
                    auth,
                })
            }
            _ => None,
        }
    }
}

impl FromStr for HttpSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s == "direct" {
            return Ok(HttpSpec::Direct);
        }
        // Checked on the raw text first: the URL parser would read `socks5:/user:pw@h:1` as a
        // path and `us#er:pw@h` as host `us`, and errors quoting those parts quote the password.
        if !s.contains("://") {
            return Err(format!(
                "{:?} is not an HTTP side: use direct, socks5://HOST:PORT, socks5h://HOST:PORT \
                 or http://HOST:PORT",
                redact_str(s)
            ));
        }
        check_raw_url(s)?;
        let url = Url::parse(s).map_err(|_| {
            format!(
                "{:?} is not an HTTP side: use direct, socks5://HOST:PORT, socks5h://HOST:PORT \
                 or http://HOST:PORT",
                redact_str(s)
            )
        })?;
        let kind = match url.scheme() {
            "socks5" => ProxyKind::Socks5,
            "socks5h" => ProxyKind::Socks5h,
            "http" => ProxyKind::Http,
            other => {
                return Err(format!(
                    "unsupported proxy scheme {other:?}: use socks5://, socks5h:// or http://"
                ));
            }
        };
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("proxy {:?} has no host", redact_url(&url)));
        }
        if url.port().is_none() {
            return Err(format!(
                "proxy {:?} needs an explicit port",
                redact_url(&url)
            ));
        }
        if url.path() != "/" && !url.path().is_empty() {
            return Err(format!("proxy {:?} must not have a path", redact_url(&url)));
        }
        Ok(HttpSpec::Proxy { kind, url })
    }
}

impl fmt::Display for HttpSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpSpec::Direct => f.write_str("direct"),
            HttpSpec::Proxy { url, .. } => f.write_str(&redact_url(url)),
        }
    }
}

/// A URL with any user name and password replaced by `***`.
pub fn redact_url(url: &Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return url.as_str().trim_end_matches('/').to_string();
    }
    let mut u = url.clone();
    let _ = u.set_username("***");
    let _ = u.set_password(None);
    u.as_str().trim_end_matches('/').to_string()
}

/// Redacts anything that looks like `user:pass@` in a value that may not be a valid URL: all
/// text before the last `@`, except a scheme-like prefix that ends in a slash (`socks5://`, and
/// the typos `socks5:/` and `socks5//`). Over-redacting a path with an `@` is the lesser evil.
fn redact_str(s: &str) -> String {
    let Some(at) = s.rfind('@') else {
        return s.to_string();
    };
    let scheme = s
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b))
        .count();
    let sep = s[scheme..]
        .bytes()
        .take_while(|b| matches!(b, b':' | b'/'))
        .count();
    let keep = if s[scheme..scheme + sep].contains('/') {
        scheme + sep
    } else {
        0
    };
    format!("{}***{}", &s[..keep], &s[at..])
}

/// What the URL parser would silently reinterpret, refused on the raw text of `SCHEME://…`:
/// a malformed scheme, and a user or password (the text between `://` and the last `@`) holding
/// `#`, `/`, `?` or `\`, which end the authority early, so the password would land in the
/// host, path, query or fragment, all of which are displayed and sent. Errors quote the value
/// redacted.
pub(crate) fn check_raw_url(s: &str) -> Result<(), String> {
    let shown = redact_str(s);
    let Some((scheme, rest)) = s.split_once("://") else {
        return Err(format!("{shown:?} is not a URL: expected SCHEME://HOST…"));
    };
    if !scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return Err(format!(
            "{shown:?}: malformed scheme before \"://\" (expected e.g. socks5://, https://)"
        ));
    }
    if let Some(at) = rest.rfind('@')
        && rest[..at].contains(['#', '/', '?', '\\'])
    {
        return Err(format!(
            "{shown:?}: the user or password contains '#', '/', '?' or '\\', which would end it \
             early; percent-encode them (%23, %2F, %3F, %5C; an '@' in a path: %40)"
        ));
    }
    Ok(())
}

/// An EDNS Client Subnet: address and source prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    /// Network address (host bits cleared).
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix: u8,
}

impl FromStr for Subnet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (ip, len) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not a CIDR subnet like 198.51.100.0/24"))?;
        let ip: IpAddr = ip
            .parse()
            .map_err(|_| format!("{ip:?} is not an IP address"))?;
        let prefix: u8 = len
            .parse()
            .map_err(|_| format!("{len:?} is not a prefix length"))?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(format!("prefix /{prefix} is longer than {max}"));
        }
        Ok(Subnet {
            addr: mask(ip, prefix),
            prefix,
        })
    }
}

impl Subnet {
    /// Whether `ip` lies inside this subnet (never across address families).
    pub fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.addr.is_ipv4() && mask(ip, self.prefix) == self.addr
    }
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let m = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(prefix))
            };
            IpAddr::V4((u32::from(v4) & m).into())
        }
        IpAddr::V6(v6) => {
            let m = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(prefix))
            };
            IpAddr::V6((u128::from(v6) & m).into())
        }
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// One configured vantage point.
#[derive(Debug, Clone, PartialEq)]
pub struct PerspectiveSpec {
    /// Unique name, `[a-z0-9-]+`.
    pub name: String,
    /// Role in the quorum.
    pub role: Role,
    /// RIR (required for primary and remote in files).
    pub rir: Option<Rir>,
    /// Latitude, longitude.
    pub location: Option<(f64, f64)>,
    /// DNS side.
    pub dns: DnsSpec,
    /// ECS subnet to send.
    pub ecs: Option<Subnet>,
    /// HTTP side.
    pub http: HttpSpec,
    /// Extra trust anchors (PEM file) for a DoH server with a private CA.
    pub doh_ca: Option<PathBuf>,
}

/// Quorum policy names (design §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PolicyName {
    /// The CA/Browser Forum Baseline Requirements minimum in force on the date.
    Br,
    /// Let's Encrypt as published: 1 primary + 4 remotes, 3 of 4, two RIRs.
    Letsencrypt,
    /// `--remotes N --quorum Q`.
    Custom,
}

impl FromStr for PolicyName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "br" => Ok(PolicyName::Br),
            "letsencrypt" => Ok(PolicyName::Letsencrypt),
            "custom" => Ok(PolicyName::Custom),
            _ => Err(format!(
                "unknown policy {s:?}: use br, letsencrypt or custom"
            )),
        }
    }
}

/// Where the configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// A file.
    File(PathBuf),
    /// The built-in default set.
    BuiltIn,
}

/// A validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where it came from.
    pub source: ConfigSource,
    /// Per-step timeout, if the file set one.
    pub timeout: Option<Duration>,
    /// CAA issuer domain, if the file set one.
    pub ca: Option<String>,
    /// Policy, if the file set one.
    pub policy: Option<PolicyName>,
    /// Whether the zone's authoritative servers are asked as extra sources.
    pub authoritative_sources: bool,
    /// Perspectives, primary first.
    pub perspectives: Vec<PerspectiveSpec>,
    /// Remote engines (Globalping, Open MPIC), each adding remote perspectives.
    pub engines: Vec<EngineSpec>,
}

/// A remote engine from `[[engine]]`. Secrets stay in the environment variables named here.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineSpec {
    /// Globalping probes, one perspective per location.
    Globalping {
        /// API base.
        api_url: Url,
        /// Environment variable holding the token (optional at run time).
        token_env: String,
        /// Locations.
        locations: Vec<engine::Location>,
    },
    /// A user-supplied Open MPIC endpoint.
    OpenMpic {
        /// `POST` endpoint.
        url: Url,
        /// Environment variable holding the API key.
        api_key_env: String,
    },
}

impl Config {
    /// Loads the file named on the command line, else the first of the standard locations that
    /// exists, else the built-in default.
    pub fn discover(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        if let Some(p) = explicit {
            return Config::load(p);
        }
        let mut candidates = Vec::new();
        if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
            candidates.push(PathBuf::from(x).join("mpic-check/config.toml"));
        } else if let Some(h) = std::env::var_os("HOME").filter(|x| !x.is_empty()) {
            candidates.push(PathBuf::from(h).join(".config/mpic-check/config.toml"));
        }
        candidates.push(PathBuf::from("/etc/mpic-check/config.toml"));
        for c in candidates {
            if c.is_file() {
                return Config::load(&c);
            }
        }
        Ok(Config::built_in())
    }

    /// Reads and validates one file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let read = std::fs::File::open(path).and_then(|f| read_text_capped(f, MAX_CONFIG_BYTES));
        let text = read.map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Parses and validates `text` as if read from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let p = path.display().to_string();
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| line_of(text, s.start));
            let msg = e.message().trim().to_string();
            let key = msg
                .split('`')
                .nth(1)
                .filter(|_| msg.starts_with("unknown field") || msg.starts_with("missing field"))
                .unwrap_or("toml")
                .to_string();
            ConfigError::Invalid {
                path: p.clone(),
                line,
                key: cap(&key),
                message: cap(&msg),
            }
        })?;
        let err = |span: std::ops::Range<usize>, key: &str, message: String| ConfigError::Invalid {
            path: p.clone(),
            line: line_of(text, span.start),
            key: key.to_string(),
            message: cap(&message),
        };

        let mut cfg = Config {
            source: ConfigSource::File(path.to_path_buf()),
            timeout: None,
            ca: None,
            policy: None,
            authoritative_sources: true,
            perspectives: Vec::new(),
            engines: Vec::new(),
        };
        if let Some(d) = raw.defaults {
            if let Some(t) = d.timeout {
                let v = humantime::parse_duration(t.get_ref())
                    .map_err(|e| err(t.span(), "defaults.timeout", format!("{e} (e.g. \"5s\")")))?;
                if v.is_zero() || v > Duration::from_secs(600) {
                    return Err(err(
                        t.span(),
                        "defaults.timeout",
                        "must be between 1ms and 10m".into(),
                    ));
                }
                cfg.timeout = Some(v);
            }
            if let Some(ca) = d.ca {
                let v = ca
                    .get_ref()
                    .trim()
                    .trim_end_matches('.')
                    .to_ascii_lowercase();
                if v.is_empty() || v.contains(['/', ':', ' ']) {
                    return Err(err(
                        ca.span(),
                        "defaults.ca",
                        "must be a CAA issuer domain like letsencrypt.org".into(),
                    ));
                }
                cfg.ca = Some(v);
            }
            if let Some(pol) = d.policy {
                cfg.policy = Some(
                    pol.get_ref()
                        .parse()
                        .map_err(|m| err(pol.span(), "defaults.policy", m))?,
                );
            }
            if let Some(a) = d.authoritative_sources {
                cfg.authoritative_sources = a;
            }
        }
        for (i, e) in raw.engine.iter().enumerate() {
            let k = |f: &str| format!("engine[{i}].{f}");
            let kind = e.kind.get_ref().as_str();
            let url_of = |v: &Spanned<String>, key: &str| -> Result<Url, ConfigError> {
                check_raw_url(v.get_ref()).map_err(|m| err(v.span(), &k(key), m))?;
                let u = Url::parse(v.get_ref())
                    .map_err(|x| err(v.span(), &k(key), format!("not a URL: {x}")))?;
                if !matches!(u.scheme(), "https" | "http") {
                    return Err(err(v.span(), &k(key), "must be an https:// URL".into()));
                }
                Ok(u)
            };
            match kind {
                "globalping" => {
                    if e.url.is_some() || e.api_key_env.is_some() {
                        return Err(err(
                            e.kind.span(),
                            &k("kind"),
                            "globalping takes api_url, token_env and locations".into(),
                        ));
                    }
                    let api_url = match &e.api_url {
                        Some(v) => url_of(v, "api_url")?,
                        None => Url::parse(engine::DEFAULT_API_URL).expect("constant URL"),
                    };
                    let mut locations = Vec::new();
                    for (j, l) in e.locations.iter().enumerate() {
                        let lk = format!("engine[{i}].locations[{j}]");
                        let specs: Vec<engine::LocationSpec> = [
                            l.continent.clone().map(engine::LocationSpec::Continent),
                            l.country.clone().map(engine::LocationSpec::Country),
                            l.magic.clone().map(engine::LocationSpec::Magic),
                            l.tag.clone().map(engine::LocationSpec::Tag),
                        ]
                        .into_iter()
                        .flatten()
                        .collect();
                        let [spec] = <[_; 1]>::try_from(specs).map_err(|_| {
                            err(
                                e.kind.span(),
                                &lk,
                                "give exactly one of continent, country, magic or tag".into(),
                            )
                        })?;
                        let rir = Rir::parse(&l.rir).ok_or_else(|| {
                            err(
                                e.kind.span(),
                                &format!("{lk}.rir"),
                                format!("{:?}: use ARIN, RIPE, APNIC, LACNIC or AFRINIC", l.rir),
                            )
                        })?;
                        if l.name.is_empty()
                            || !l
                                .name
                                .bytes()
                                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                        {
                            return Err(err(
                                e.kind.span(),
                                &format!("{lk}.name"),
                                format!("{:?} must be [a-z0-9-]", l.name),
                            ));
                        }
                        locations.push(engine::Location {
                            name: l.name.clone(),
                            rir,
                            spec,
                        });
                    }
                    if locations.is_empty() {
                        return Err(err(
                            e.kind.span(),
                            &k("locations"),
                            "a globalping engine needs at least one location".into(),
                        ));
                    }
                    cfg.engines.push(EngineSpec::Globalping {
                        api_url,
                        token_env: e
                            .token_env
                            .clone()
                            .unwrap_or_else(|| engine::TOKEN_ENV.into()),
                        locations,
                    });
                }
                "open-mpic" => {
                    let Some(u) = &e.url else {
                        return Err(err(
                            e.kind.span(),
                            &k("url"),
                            "open-mpic needs url = \"https://…/mpic\"".into(),
                        ));
                    };
                    if e.api_url.is_some() || !e.locations.is_empty() {
                        return Err(err(
                            e.kind.span(),
                            &k("kind"),
                            "open-mpic takes url and api_key_env".into(),
                        ));
                    }
                    cfg.engines.push(EngineSpec::OpenMpic {
                        url: url_of(u, "url")?,
                        api_key_env: e
                            .api_key_env
                            .clone()
                            .unwrap_or_else(|| engine::API_KEY_ENV.into()),
                    });
                }
                other => {
                    return Err(err(
                        e.kind.span(),
                        &k("kind"),
                        format!("{other:?}: use globalping or open-mpic"),
                    ));
                }
            }
        }
        if raw.perspective.is_empty() {
            return Err(ConfigError::Invalid {
                path: p.clone(),
                line: 1,
                key: "perspective".into(),
                message:
                    "no [[perspective]] defined: a file replaces the built-in set, so it needs \
                          one primary and its remotes"
                        .into(),
            });
        }
        for (i, rp) in raw.perspective.iter().enumerate() {
            let k = |f: &str| format!("perspective[{i}].{f}");
            let name = rp.name.get_ref();
            if name.is_empty()
                || name.len() > 63
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(err(
                    rp.name.span(),
                    &k("name"),
                    format!("{name:?} must be 1-63 characters of [a-z0-9-]"),
                ));
            }
            if cfg
                .perspectives
                .iter()
                .any(|q: &PerspectiveSpec| q.name == *name)
            {
                return Err(err(
                    rp.name.span(),
                    &k("name"),
                    format!("duplicate perspective name {name:?}"),
                ));
            }
            let role = match rp.role.get_ref().as_str() {
                "primary" => Role::Primary,
                "remote" => Role::Remote,
                "source" => Role::Source,
                other => {
                    return Err(err(
                        rp.role.span(),
                        &k("role"),
                        format!("{other:?}: use primary, remote or source"),
                    ));
                }
            };
            let rir = match &rp.rir {
                Some(r) => Some(Rir::parse(r.get_ref()).ok_or_else(|| {
                    err(
                        r.span(),
                        &k("rir"),
                        format!(
                            "{:?}: use ARIN, RIPE, APNIC, LACNIC or AFRINIC",
                            r.get_ref()
                        ),
                    )
                })?),
                None if role != Role::Source => {
                    return Err(err(
                        rp.name.span(),
                        &k("rir"),
                        format!(
                            "perspective {name:?} is {role}: it needs rir = \"ARIN|RIPE|APNIC|LACNIC|AFRINIC\""
                        ),
                    ));
                }
                None => None,
            };
            let location = match &rp.location {
                Some(l) => {
                    let v = l.get_ref();
                    if v.len() != 2
                        || !(-90.0..=90.0).contains(&v[0])
                        || !(-180.0..=180.0).contains(&v[1])
                    {
                        return Err(err(
                            l.span(),
                            &k("location"),
                            "must be [latitude, longitude] in degrees".into(),
                        ));
                    }
                    Some((v[0], v[1]))
                }
                None => None,
            };
            let dns = match &rp.dns {
                Some(d) => d
                    .get_ref()
                    .parse()
                    .map_err(|m| err(d.span(), &k("dns"), m))?,
                None => DnsSpec::System,
            };
            let ecs = match &rp.ecs {
                Some(e) => Some(
                    e.get_ref()
                        .parse()
                        .map_err(|m| err(e.span(), &k("ecs"), m))?,
                ),
                None => None,
            };
            let http: HttpSpec = match &rp.http {
                Some(h) => h
                    .get_ref()
                    .parse()
                    .map_err(|m| err(h.span(), &k("http"), m))?,
                None => HttpSpec::Direct,
            };
            let doh_ca = match &rp.doh_ca {
                Some(c) if !matches!(dns, DnsSpec::Doh(_)) => {
                    return Err(err(
                        c.span(),
                        &k("doh_ca"),
                        "only applies to a DoH (https://) DNS side".into(),
                    ));
                }
                Some(c) => Some(PathBuf::from(c.get_ref())),
                None => None,
            };
            cfg.perspectives.push(PerspectiveSpec {
                name: name.clone(),
                role,
                rir,
                location,
                dns,
                ecs,
                http,
                doh_ca,
            });
        }
        let primaries: Vec<_> = raw
            .perspective
            .iter()
            .filter(|rp| rp.role.get_ref() == "primary")
            .collect();
        match primaries.len() {
            1 => {}
            0 => {
                return Err(ConfigError::Invalid {
                    path: p.clone(),
                    line: line_of(text, raw.perspective[0].name.span().start),
                    key: "perspective.role".into(),
                    message: "no perspective has role = \"primary\"; exactly one must".into(),
                });
            }
            _ => {
                return Err(err(
                    primaries[1].role.span(),
                    "perspective.role",
                    format!(
                        "more than one primary ({}); exactly one is allowed",
                        primaries.len()
                    ),
                ));
            }
        }
        cfg.perspectives.sort_by_key(|s| s.role != Role::Primary);
        Ok(cfg)
    }

    /// The built-in default (design §4): the host as primary, five authoritative views with a
    /// regional ECS subnet each, plus three anycast public resolvers as sources.
    ///
    /// The ECS subnets are taken from the IANA IPv4 address space registry: each is the first /24
    /// of a /8 administered by that RIR and announced by a large eyeball network of the region
    /// (73/8 Comcast US, 80/8 incl. Deutsche Telekom DE, 126/8 SoftBank JP, 177/8 Brazilian
    /// access networks, 41/8 African access networks). GeoDNS providers map them to that region.
    pub fn built_in() -> Config {
        let remote = |name: &str, rir, loc, ecs: &str| PerspectiveSpec {
            name: name.into(),
            role: Role::Remote,
            rir: Some(rir),
            location: Some(loc),
            dns: DnsSpec::Authoritative,
            ecs: Some(ecs.parse().expect("built-in subnet")),
            http: HttpSpec::Direct,
            doh_ca: None,
        };
        let source = |name: &str, ip: [u8; 4]| PerspectiveSpec {
            name: name.into(),
            role: Role::Source,
            rir: None,
            location: None,
            dns: DnsSpec::Udp(SocketAddr::from((ip, 53))),
            ecs: None,
            http: HttpSpec::Direct,
            doh_ca: None,
        };
        Config {
            source: ConfigSource::BuiltIn,
            timeout: None,
            ca: None,
            policy: None,
            authoritative_sources: true,
            engines: Vec::new(),
            perspectives: vec![
                PerspectiveSpec {
                    name: "local".into(),
                    role: Role::Primary,
                    rir: None,
                    location: None,
                    dns: DnsSpec::System,
                    ecs: None,
                    http: HttpSpec::Direct,
                    doh_ca: None,
                },
                remote("arin-us", Rir::Arin, (39.04, -77.49), "73.0.0.0/24"),
                remote("ripe-de", Rir::Ripe, (50.11, 8.68), "80.128.0.0/24"),
                remote("apnic-jp", Rir::Apnic, (35.68, 139.69), "126.0.0.0/24"),
                remote("lacnic-br", Rir::Lacnic, (-23.55, -46.63), "177.0.0.0/24"),
                remote("afrinic-za", Rir::Afrinic, (-26.20, 28.05), "41.0.0.0/24"),
                source("cloudflare", [1, 1, 1, 1]),
                source("google", [8, 8, 8, 8]),
                source("quad9", [9, 9, 9, 9]),
            ],
        }
    }

    /// The primary perspective (validation guarantees one).
    pub fn primary(&self) -> &PerspectiveSpec {
        self.perspectives
            .iter()
            .find(|p| p.role == Role::Primary)
            .expect("validated: one primary")
    }
}

/// Keeps an error to one readable line even when it quotes a huge or hostile value.
fn cap(message: &str) -> String {
    let one_line: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= 240 {
        return one_line;
    }
    let mut s: String = one_line.chars().take(239).collect();
    s.push('…');
    s
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    defaults: Option<RawDefaults>,
    #[serde(default)]
    perspective: Vec<RawPerspective>,
    #[serde(default)]
    engine: Vec<RawEngine>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEngine {
    kind: Spanned<String>,
    api_url: Option<Spanned<String>>,
    token_env: Option<String>,
    #[serde(default)]
    locations: Vec<RawLocation>,
    url: Option<Spanned<String>>,
    api_key_env: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLocation {
    name: String,
    rir: String,
    continent: Option<String>,
    country: Option<String>,
    magic: Option<String>,
    tag: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    timeout: Option<Spanned<String>>,
    ca: Option<Spanned<String>>,
    policy: Option<Spanned<String>>,
    authoritative_sources: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPerspective {
    name: Spanned<String>,
    role: Spanned<String>,
    rir: Option<Spanned<String>>,
    location: Option<Spanned<Vec<f64>>>,
    dns: Option<Spanned<String>>,
    ecs: Option<Spanned<String>>,
    http: Option<Spanned<String>>,
    doh_ca: Option<Spanned<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, Path::new("t.toml")).map_err(|e| e.to_string())
    }

    const GOOD: &str = r#"
[defaults]
timeout = "2s"
ca = "LetsEncrypt.org"
policy = "letsencrypt"

[[perspective]]
name = "eu-ripe"
role = "remote"
rir = "RIPE"
location = [52.37, 4.90]
dns = "udp://127.0.1.2:5353"
ecs = "198.51.100.7/24"
http = "socks5://user:s3cret@127.0.30.2:1080"

[[perspective]]
name = "home"
role = "primary"
rir = "arin"
dns = "tcp://[::1]"

[[perspective]]
name = "ns-a"
role = "source"
dns = "https://doh.example.test/dns-query"
"#;

    #[test]
    fn parses_every_key_and_puts_primary_first() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.timeout, Some(Duration::from_secs(2)));
        assert_eq!(c.ca.as_deref(), Some("letsencrypt.org"));
        assert_eq!(c.policy, Some(PolicyName::Letsencrypt));
        assert_eq!(c.perspectives[0].name, "home");
        assert_eq!(
            c.perspectives[0].dns,
            DnsSpec::Tcp("[::1]:53".parse().unwrap())
        );
        let eu = &c.perspectives[1];
        assert_eq!(eu.rir, Some(Rir::Ripe));
        assert_eq!(eu.location, Some((52.37, 4.90)));
        assert_eq!(eu.ecs.unwrap().to_string(), "198.51.100.0/24");
        assert_eq!(eu.dns, DnsSpec::Udp("127.0.1.2:5353".parse().unwrap()));
        assert_eq!(c.perspectives[2].role, Role::Source);
    }

    #[test]
    fn credentials_are_never_displayed() {
        let c = parse(GOOD).unwrap();
        let shown = c.perspectives[1].http.to_string();
        assert!(
            !shown.contains("s3cret") && !shown.contains("user"),
            "{shown}"
        );
        assert!(shown.contains("127.0.30.2:1080"));
        let ep = c.perspectives[1].http.socks_endpoint().unwrap();
        assert_eq!(ep.auth, Some(("user".into(), "s3cret".into())));
        assert!(!format!("{ep:?}").contains("s3cret"));
        let e = "x".parse::<HttpSpec>().unwrap_err();
        assert!(!e.contains("secret"));
        let e = "ftp://a:secret@h:1".parse::<HttpSpec>().unwrap_err();
        assert!(!e.contains("secret"), "{e}");
    }

    fn err_of(text: &str) -> String {
        parse(text).unwrap_err()
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let e = err_of(
            "[[perspective]]\nname = \"a\"\nrole = \"primary\"\nrir = \"ARIN\"\ncolour = 1\n",
        );
        assert!(e.starts_with("t.toml:5: colour:"), "{e}");
        let e = err_of("[[perspective]]\nname = \"a\"\nrole = \"boss\"\nrir = \"ARIN\"\n");
        assert!(e.starts_with("t.toml:3: perspective[0].role:"), "{e}");
        let e = err_of(
            "[[perspective]]\nname = \"a\"\nrole = \"primary\"\nrir = \"ARIN\"\ndns = \"udp://ns.example:53\"\n",
        );
        assert!(e.starts_with("t.toml:5: perspective[0].dns:"), "{e}");
        let e = err_of("[[perspective]]\nname = \"a\"\nrole = \"remote\"\n");
        assert!(
            e.contains("perspective[0].rir") && e.contains("needs rir"),
            "{e}"
        );
        let e = err_of("[[perspective]]\nname = \"a\"\nrole = \"remote\"\nrir = \"ARIN\"\n");
        assert!(e.contains("no perspective has role = \"primary\""), "{e}");
        let two = "[[perspective]]\nname = \"a\"\nrole = \"primary\"\nrir = \"ARIN\"\n\
                   [[perspective]]\nname = \"b\"\nrole = \"primary\"\nrir = \"RIPE\"\n";
        let e = err_of(two);
        assert!(
            e.starts_with("t.toml:7:") && e.contains("more than one primary"),
            "{e}"
        );
        let dup = "[[perspective]]\nname = \"a\"\nrole = \"primary\"\nrir = \"ARIN\"\n\
                   [[perspective]]\nname = \"a\"\nrole = \"remote\"\nrir = \"RIPE\"\n";
        assert!(err_of(dup).starts_with("t.toml:6: perspective[1].name: duplicate"));
        let e =
            err_of("[[perspective]]\nname = \"Big Name\"\nrole = \"primary\"\nrir = \"ARIN\"\n");
        assert!(e.contains("[a-z0-9-]"), "{e}");
        let e = err_of("[defaults]\ntimeout = \"soon\"\n");
        assert!(e.starts_with("t.toml:2: defaults.timeout:"), "{e}");
        let e = err_of(
            "[[perspective]]\nname = \"a\"\nrole = \"primary\"\nrir = \"ARIN\"\nhttp = \"ftp://h:1\"\n",
        );
        assert!(
            e.contains("perspective[0].http") && e.contains("unsupported proxy scheme"),
            "{e}"
        );
        let e = err_of(
            "[[perspective]]\nname = \"a\"\nrole = \"primary\"\nrir = \"ARIN\"\necs = \"10.0.0.0/33\"\n",
        );
        assert!(e.contains("perspective[0].ecs"), "{e}");
        let e = err_of(
            "[[perspective]]\nname = \"a\"\nrole = \"primary\"\nrir = \"ARIN\"\nlocation = [91.0, 0.0]\n",
        );
        assert!(e.contains("perspective[0].location"), "{e}");
        let e = err_of("");
        assert!(e.contains("no [[perspective]]"), "{e}");
        let e = err_of("[[perspective]\n");
        assert!(e.starts_with("t.toml:1:"), "{e}");
        assert_eq!(e.lines().count(), 1, "one line: {e}");
    }

    #[test]
    fn dns_and_proxy_syntax() {
        assert_eq!("system".parse::<DnsSpec>().unwrap(), DnsSpec::System);
        assert_eq!(
            "udp://192.0.2.1".parse::<DnsSpec>().unwrap(),
            DnsSpec::Udp("192.0.2.1:53".parse().unwrap())
        );
        assert!(matches!(
            "https://dns.test/dns-query".parse::<DnsSpec>().unwrap(),
            DnsSpec::Doh(_)
        ));
        assert!("quic://192.0.2.1".parse::<DnsSpec>().is_err());
        assert!("udp://192.0.2.1:99999".parse::<DnsSpec>().is_err());
        assert!(
            "socks5://127.0.0.1"
                .parse::<HttpSpec>()
                .unwrap_err()
                .contains("explicit port")
        );
        assert!(matches!(
            "socks5h://127.0.0.1:1080".parse::<HttpSpec>().unwrap(),
            HttpSpec::Proxy {
                kind: ProxyKind::Socks5h,
                ..
            }
        ));
    }

    /// Found by `prop_config_sides_never_show_credentials`: a proxy URL given as the DNS side
    /// (an easy slip when copying the `http =` line) was quoted whole, password included.
    #[test]
    fn dns_side_errors_redact_credentials() {
        for value in [
            "socks5://user:Pw7secret@",
            "socks5://user:Pw7secret@127.0.0.1:1080",
            "udp://user:Pw7secret@192.0.2.1",
            "https://user:Pw7secret@[::1",
        ] {
            let e = value.parse::<DnsSpec>().unwrap_err();
            assert!(!e.contains("Pw7secret"), "{value:?}: {e}");
            assert!(e.contains("***@"), "{value:?}: {e}");
        }
        let e = err_of(
            "[[perspective]]\nname = \"a\"\nrole = \"primary\"\nrir = \"ARIN\"\n\
             dns = \"socks5://user:Pw7secret@127.0.0.1:1080\"\n",
        );
        assert!(e.starts_with("t.toml:5: perspective[0].dns:"), "{e}");
        assert!(!e.contains("Pw7secret"), "{e}");
    }

    /// Values the URL parser used to mis-split (a `#` in the user name made `us` the host and
    /// the password part of a fragment) or that a typo kept from being redacted: each is now one
    /// line naming file:line:key, and none shows the password.
    #[test]
    fn url_userinfo_and_scheme_typos_never_leak_the_password() {
        let side = |key: &str, value: &str| {
            err_of(&format!(
                "[[perspective]]\nname = \"a\"\nrole = \"primary\"\nrir = \"ARIN\"\n\
                 {key} = \"{value}\"\n"
            ))
        };
        for (key, value, says) in [
            (
                "http",
                "socks5://us#er:Secret@127.0.0.1:1080",
                "percent-encode",
            ),
            (
                "http",
                "socks5://user:Sec/ret@127.0.0.1:1080",
                "percent-encode",
            ),
            (
                "http",
                "http://us?er:Secret@127.0.0.1:3128",
                "percent-encode",
            ),
            (
                "http",
                "http://us\\\\er:Secret@127.0.0.1:3128",
                "percent-encode",
            ),
            ("http", "socks5:/user:Secret@h:1", "not an HTTP side"),
            ("http", "socks5//user:Secret@h:1", "not an HTTP side"),
            ("http", "socks5:user:Secret@h:1", "not an HTTP side"),
            ("http", "so cks5://user:Secret@h:1", "malformed scheme"),
            (
                "dns",
                "https://us#er:Secret@127.0.0.1/dns-query",
                "cannot carry a user",
            ),
            (
                "dns",
                "https://user:Secret@127.0.0.1/dns-query",
                "cannot carry a user",
            ),
            (
                "dns",
                "https:/user:Secret@127.0.0.1/dns-query",
                "not a DNS side",
            ),
            ("dns", "udp//user:Secret@127.0.0.1", "not a DNS side"),
            ("dns", "a:Secret@b://127.0.0.1", "malformed scheme"),
        ] {
            let e = side(key, value);
            assert!(
                e.starts_with(&format!("t.toml:5: perspective[0].{key}:")),
                "{value}: {e}"
            );
            assert!(e.contains(says), "{value}: {e}");
            assert!(!e.contains("Secret") && !e.contains("ret@"), "{value}: {e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
        // The typos are still quoted, so the user can see which line is wrong.
        let e = side("http", "socks5:/user:Secret@h:1");
        assert!(e.contains(r#""socks5:/***@h:1""#), "{e}");
        let e = side("http", "socks5//user:Secret@h:1");
        assert!(e.contains(r#""socks5//***@h:1""#), "{e}");
        // A DoH URL without userinfo is as before; with a percent-encoded one too is refused.
        assert!(matches!(
            "https://127.0.0.1/dns-query".parse::<DnsSpec>(),
            Ok(DnsSpec::Doh(_))
        ));
        assert!("https://u%23:S%2F@h/dns-query".parse::<DnsSpec>().is_err());
        // Percent-encoded, the same characters are fine in a proxy password.
        let h: HttpSpec = "socks5://us%23er:Sec%2Fret@127.0.0.1:1080".parse().unwrap();
        assert_eq!(
            h.socks_endpoint().unwrap().auth,
            Some(("us#er".into(), "Sec/ret".into()))
        );
        // Engine URLs follow the same rules.
        for url in [
            "https://us#er:Secret@api.example.test",
            "https:/user:Secret@api.example.test",
        ] {
            let e = err_of(&format!(
                "{MINIMAL_PRIMARY}[[engine]]\nkind = \"open-mpic\"\nurl = \"{url}\"\n"
            ));
            assert!(e.starts_with("t.toml:7: engine[0].url:"), "{url}: {e}");
            assert!(!e.contains("Secret"), "{url}: {e}");
        }
    }

    const MINIMAL_PRIMARY: &str =
        "[[perspective]]\nname = \"a\"\nrole = \"primary\"\nrir = \"ARIN\"\n";

    #[test]
    fn built_in_has_one_primary_five_rirs_and_sources() {
        let c = Config::built_in();
        assert_eq!(c.primary().name, "local");
        let remotes: Vec<_> = c
            .perspectives
            .iter()
            .filter(|p| p.role == Role::Remote)
            .collect();
        assert_eq!(remotes.len(), 5);
        let mut rirs: Vec<_> = remotes.iter().map(|p| p.rir.unwrap()).collect();
        rirs.sort();
        rirs.dedup();
        assert_eq!(rirs.len(), 5);
        assert!(
            remotes
                .iter()
                .all(|p| p.dns == DnsSpec::Authoritative && p.ecs.is_some())
        );
    }

    #[test]
    fn engines_are_parsed_and_checked() {
        let base = "[[perspective]]\nname = \"a\"\nrole = \"primary\"\nrir = \"ARIN\"\n";
        let c = parse(&format!(
            "{base}[[engine]]\nkind = \"globalping\"\nlocations = [ {{ name = \"gp-eu\", magic = \"Europe\", rir = \"RIPE\" }} ]\n\
             [[engine]]\nkind = \"open-mpic\"\nurl = \"https://mpic.example.net/mpic\"\n"
        ))
        .unwrap();
        assert_eq!(c.engines.len(), 2);
        assert!(
            matches!(&c.engines[0], EngineSpec::Globalping { locations, .. } if locations[0].name == "gp-eu")
        );
        let e = err_of(&format!("{base}[[engine]]\nkind = \"globalping\"\n"));
        assert!(
            e.contains("engine[0].locations") && e.contains("at least one"),
            "{e}"
        );
        let e = err_of(&format!(
            "{base}[[engine]]\nkind = \"globalping\"\nlocations = [ {{ name = \"x\", rir = \"RIPE\" }} ]\n"
        ));
        assert!(e.contains("exactly one of continent"), "{e}");
        let e = err_of(&format!("{base}[[engine]]\nkind = \"open-mpic\"\n"));
        assert!(e.contains("engine[0].url"), "{e}");
        let e = err_of(&format!("{base}[[engine]]\nkind = \"ripe-atlas\"\n"));
        assert!(e.contains("use globalping or open-mpic"), "{e}");
    }
}

#[cfg(test)]
#[path = "props.rs"]
mod props;
