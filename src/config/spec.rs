//! What one perspective or engine is: the DNS and HTTP sides of a vantage point, its ECS subnet,
//! and the remote engines. These values hold proxy credentials, so every `Display` and `Debug`
//! here is redacted, and the URL checks run on the raw text before a URL parser can mis-split a
//! password into a printable part.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;

use url::Url;

use super::engine;
use crate::observation::{Provenance, Rir, Role};

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
    /// The proxy's user name and password, percent-decoded, when the URL carries any (to
    /// authenticate, and for the redactor to know them).
    pub fn proxy_credentials(&self) -> Option<(String, String)> {
        let HttpSpec::Proxy { url, .. } = self else {
            return None;
        };
        // form_urlencoded decodes %XX like the userinfo needs; a literal `+` in a userinfo is
        // percent-encoded by the URL parser, so its `+`-as-space rule never applies.
        let dec = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        (!url.username().is_empty())
            .then(|| (dec(url.username()), dec(url.password().unwrap_or(""))))
    }

    /// The proxy host and port, for DNS over TCP through a SOCKS5 proxy.
    pub fn socks_endpoint(&self) -> Option<SocksEndpoint> {
        match self {
            HttpSpec::Proxy {
                kind: ProxyKind::Socks5 | ProxyKind::Socks5h,
                url,
            } => {
                url.host_str()?;
                Some(SocksEndpoint {
                    host: crate::text::bare_host(url),
                    port: url.port().unwrap_or(1080),
                    auth: self.proxy_credentials(),
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

pub(super) fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
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

impl PerspectiveSpec {
    /// A vantage of this host, without RIR, location, ECS or proxy: the built-in primary, the
    /// discovery fallback and the nameserver sources are all of this shape.
    pub fn local(name: impl Into<String>, role: Role, dns: DnsSpec) -> PerspectiveSpec {
        PerspectiveSpec {
            name: name.into(),
            role,
            rir: None,
            location: None,
            dns,
            ecs: None,
            http: HttpSpec::Direct,
            doh_ca: None,
        }
    }

    /// Where this perspective's DNS questions are really made. Every DNS side except a single
    /// nameserver goes through a SOCKS5 proxy when the HTTP side names one (DNS over TCP), and
    /// DoH through any proxy; otherwise a recursive resolver asks from its own egress, and the
    /// system resolver or the authoritative servers are asked from this host (with ECS:
    /// emulated).
    pub fn dns_provenance(&self) -> Provenance {
        let through_proxy = match (&self.dns, &self.http) {
            (DnsSpec::Nameserver(_), _) | (_, HttpSpec::Direct) => false,
            (DnsSpec::Doh(_), HttpSpec::Proxy { .. }) => true,
            (_, http) => http.socks_endpoint().is_some(),
        };
        if through_proxy {
            return self.http_provenance();
        }
        match (&self.dns, &self.ecs) {
            (DnsSpec::Udp(_) | DnsSpec::Tcp(_) | DnsSpec::Doh(_), _) => {
                Provenance::RemoteResolver {
                    resolver: self.dns.to_string(),
                }
            }
            (DnsSpec::Authoritative, Some(subnet)) => Provenance::ThisHostEcs {
                subnet: subnet.to_string(),
            },
            _ => Provenance::ThisHost,
        }
    }

    /// Where this perspective's HTTP fetches are really made.
    pub fn http_provenance(&self) -> Provenance {
        match &self.http {
            HttpSpec::Direct => Provenance::ThisHost,
            HttpSpec::Proxy { url, .. } => Provenance::Proxy {
                proxy: format!(
                    "{}:{}",
                    crate::text::bare_host(url),
                    url.port_or_known_default().unwrap_or(0)
                ),
                egress: None,
            },
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
