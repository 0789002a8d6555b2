//! The one address policy of every network path the tool takes on a *domain's* behalf: the
//! addresses a name resolves to (HTTP-01 targets), redirect targets, and the nameserver addresses a
//! zone delegates to. A CA never connects to special-purpose addresses — Boulder drops them from
//! every lookup (`bdns/dns.go`, `LookupHost` with `isPrivateV4`/`isPrivateV6`, and the redirect path
//! in `va/http.go`, `extractRequestTarget` → `newHTTPValidationTarget`) and fails with "No valid IP
//! addresses found" — so neither does this tool: a hostile zone must not turn it into a scanner of
//! the machine it runs on (loopback, the cloud metadata service at 169.254.169.254, the LAN).
//!
//! The ranges are those of the IANA IPv4 and IPv6 Special-Purpose Address Registries whose entries
//! are not globally reachable, plus multicast, broadcast and the deprecated 6to4 relay ranges that
//! Boulder also refuses. Addresses the *user* configured (perspective resolvers, proxies, engines)
//! are never checked here: the user chose them. Tests and labs, whose fake Internet lives on
//! 127.0.0.0/8 or in ULA space, opt in with one documented variable, [`ALLOW_RANGES_ENV`], read once
//! at start; nothing allows a range by default.

use std::fmt;
use std::net::IpAddr;

use crate::config::Subnet;

/// Environment variable that lets the tool contact otherwise refused ranges (tests and labs only):
/// `MPIC_CHECK_ALLOW_RANGES=127.0.0.0/8,fd00::/8`.
pub const ALLOW_RANGES_ENV: &str = "MPIC_CHECK_ALLOW_RANGES";

/// One special-purpose range: its CIDR text and what it is, in the words a refusal uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecialRange {
    /// The range, e.g. `10.0.0.0/8`.
    pub cidr: &'static str,
    /// What an address in it is, e.g. "a private address".
    pub what: &'static str,
}

/// IPv4 ranges a CA refuses (IANA IPv4 Special-Purpose Address Registry, not globally reachable,
/// plus 224.0.0.0/4 multicast and 192.88.99.0/24, which Boulder lists too).
const V4: &[(u32, u8, SpecialRange)] = &[
    (0x0000_0000, 8, r("0.0.0.0/8", "a \"this network\" address")),
    (0x0a00_0000, 8, r("10.0.0.0/8", "a private address")),
    (
        0x6440_0000,
        10,
        r("100.64.0.0/10", "a carrier-grade NAT (shared) address"),
    ),
    (0x7f00_0000, 8, r("127.0.0.0/8", "a loopback address")),
    (0xa9fe_0000, 16, r("169.254.0.0/16", "a link-local address")),
    (0xac10_0000, 12, r("172.16.0.0/12", "a private address")),
    (
        0xc000_0000,
        24,
        r("192.0.0.0/24", "an IETF protocol assignment"),
    ),
    (
        0xc000_0200,
        24,
        r("192.0.2.0/24", "a documentation address"),
    ),
    (
        0xc058_6300,
        24,
        r("192.88.99.0/24", "a deprecated 6to4 relay address"),
    ),
    (0xc0a8_0000, 16, r("192.168.0.0/16", "a private address")),
    (
        0xc612_0000,
        15,
        r("198.18.0.0/15", "a benchmarking address"),
    ),
    (
        0xc633_6400,
        24,
        r("198.51.100.0/24", "a documentation address"),
    ),
    (
        0xcb00_7100,
        24,
        r("203.0.113.0/24", "a documentation address"),
    ),
    (0xe000_0000, 4, r("224.0.0.0/4", "a multicast address")),
    (
        0xffff_ffff,
        32,
        r("255.255.255.255/32", "the broadcast address"),
    ),
    (0xf000_0000, 4, r("240.0.0.0/4", "a reserved address")),
];

/// IPv6 ranges a CA refuses (IANA IPv6 Special-Purpose Address Registry where not globally
/// reachable, plus multicast, 6to4 and site-local). More specific entries come first so the reason
/// names the narrowest range.
const V6: &[(u128, u8, SpecialRange)] = &[
    (0, 128, r("::/128", "the unspecified address")),
    (1, 128, r("::1/128", "a loopback address")),
    (
        0xffff_0000_0000,
        96,
        r("::ffff:0:0/96", "an IPv4-mapped address"),
    ),
    (
        0x0064_ff9b_0001 << 80,
        48,
        r("64:ff9b:1::/48", "a local-use NAT64 address"),
    ),
    (0x0100 << 112, 64, r("100::/64", "a discard-only address")),
    (
        0x2001_0db8 << 96,
        32,
        r("2001:db8::/32", "a documentation address"),
    ),
    (
        0x2001_0002 << 96,
        48,
        r("2001:2::/48", "a benchmarking address"),
    ),
    (0x2001_0000 << 96, 32, r("2001::/32", "a Teredo address")),
    (
        0x2001 << 112,
        23,
        r("2001::/23", "an IETF protocol assignment"),
    ),
    (
        0x2002 << 112,
        16,
        r("2002::/16", "a deprecated 6to4 address"),
    ),
    (0x3fff << 112, 20, r("3fff::/20", "a documentation address")),
    (
        0x5f00 << 112,
        16,
        r("5f00::/16", "a segment-routing (SRv6) address"),
    ),
    (
        0xfc00 << 112,
        7,
        r("fc00::/7", "a unique-local (private) address"),
    ),
    (0xfe80 << 112, 10, r("fe80::/10", "a link-local address")),
    (
        0xfec0 << 112,
        10,
        r("fec0::/10", "a deprecated site-local address"),
    ),
    (0xff00 << 112, 8, r("ff00::/8", "a multicast address")),
];

const fn r(cidr: &'static str, what: &'static str) -> SpecialRange {
    SpecialRange { cidr, what }
}

/// The special-purpose range `ip` falls in, if any.
pub fn special_purpose(ip: IpAddr) -> Option<SpecialRange> {
    match ip {
        IpAddr::V4(v4) => {
            let x = u32::from(v4);
            V4.iter()
                .find(|(net, len, _)| prefix_match32(x, *net, *len))
                .map(|(_, _, s)| *s)
        }
        IpAddr::V6(v6) => {
            let x = u128::from(v6);
            V6.iter()
                .find(|(net, len, _)| prefix_match128(x, *net, *len))
                .map(|(_, _, s)| *s)
        }
    }
}

fn prefix_match32(x: u32, net: u32, len: u8) -> bool {
    let mask = if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    };
    x & mask == net & mask
}

fn prefix_match128(x: u128, net: u128, len: u8) -> bool {
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len))
    };
    x & mask == net & mask
}

/// Why the tool will not contact an address it learned from a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The address.
    pub ip: IpAddr,
    /// The range it falls in.
    pub range: SpecialRange,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a CA will not connect to {}: it is {} ({})",
            self.ip, self.range.what, self.range.cidr
        )
    }
}

/// Which addresses learned from a domain may be contacted: everything globally reachable, plus the
/// ranges a test or lab allowed explicitly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    allow: Vec<Subnet>,
}

impl AddressPolicy {
    /// The policy of a real run: no special-purpose address is ever contacted for a domain.
    pub fn strict() -> AddressPolicy {
        AddressPolicy::default()
    }

    /// Parses a comma-separated list of CIDR ranges to allow (the value of [`ALLOW_RANGES_ENV`]).
    pub fn allowing(list: &str) -> Result<AddressPolicy, String> {
        let mut allow = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let s: Subnet = item
                .parse()
                .map_err(|e| format!("{ALLOW_RANGES_ENV}: {e}"))?;
            allow.push(s);
        }
        Ok(AddressPolicy { allow })
    }

    /// The policy the environment asks for: strict unless [`ALLOW_RANGES_ENV`] names ranges.
    pub fn from_env() -> Result<AddressPolicy, String> {
        match std::env::var(ALLOW_RANGES_ENV) {
            Ok(v) => AddressPolicy::allowing(&v),
            Err(std::env::VarError::NotPresent) => Ok(AddressPolicy::strict()),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(format!("{ALLOW_RANGES_ENV} is not valid UTF-8"))
            }
        }
    }

    /// The ranges allowed on top of the public Internet, for display.
    pub fn allowed(&self) -> &[Subnet] {
        &self.allow
    }

    /// `Some` when a domain's data must not make the tool contact `ip`.
    pub fn refusal(&self, ip: IpAddr) -> Option<Refusal> {
        let range = special_purpose(ip)?;
        if self.allow.iter().any(|s| s.contains(ip)) {
            return None;
        }
        Some(Refusal { ip, range })
    }

    /// Whether `ip` may be contacted for a domain's data.
    pub fn permits(&self, ip: IpAddr) -> bool {
        self.refusal(ip).is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn every_special_purpose_range_is_refused_with_its_name() {
        let strict = AddressPolicy::strict();
        for (addr, what) in [
            ("0.0.0.0", "\"this network\""),
            ("0.1.2.3", "\"this network\""),
            ("10.1.2.3", "private"),
            ("100.64.0.1", "carrier-grade NAT"),
            ("100.127.255.254", "carrier-grade NAT"),
            ("127.0.0.1", "loopback"),
            ("127.0.0.5", "loopback"),
            ("169.254.169.254", "link-local"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.0.0.8", "IETF"),
            ("192.0.2.1", "documentation"),
            ("192.88.99.1", "6to4"),
            ("192.168.1.1", "private"),
            ("198.18.0.1", "benchmarking"),
            ("198.19.255.255", "benchmarking"),
            ("198.51.100.7", "documentation"),
            ("203.0.113.9", "documentation"),
            ("224.0.0.251", "multicast"),
            ("239.255.255.250", "multicast"),
            ("240.0.0.1", "reserved"),
            ("255.255.255.255", "broadcast"),
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("::ffff:127.0.0.1", "IPv4-mapped"),
            ("::ffff:8.8.8.8", "IPv4-mapped"),
            ("64:ff9b:1::1", "NAT64"),
            ("100::1", "discard"),
            ("2001:db8::1", "documentation"),
            ("2001:2::1", "benchmarking"),
            ("2001::1", "Teredo"),
            ("2001:10::1", "IETF"),
            ("2002:7f00:1::1", "6to4"),
            ("3fff::1", "documentation"),
            ("5f00::1", "SRv6"),
            ("fd00::1", "unique-local"),
            ("fc00::1", "unique-local"),
            ("fe80::1", "link-local"),
            ("fec0::1", "site-local"),
            ("ff02::1", "multicast"),
        ] {
            let r = strict.refusal(ip(addr)).unwrap_or_else(|| panic!("{addr}"));
            assert!(r.range.what.contains(what), "{addr}: {}", r.range.what);
            assert!(
                r.to_string()
                    .starts_with(&format!("a CA will not connect to {}", ip(addr)))
            );
        }
    }

    #[test]
    fn public_addresses_are_permitted() {
        let strict = AddressPolicy::strict();
        for addr in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.215.14",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.0.1.1",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.255",
            "2606:4700::1111",
            "2a00:1450:4001::1",
            "64:ff9b::808:808",
            "2001:200::1",
        ] {
            assert!(strict.permits(ip(addr)), "{addr}");
        }
    }

    #[test]
    fn an_explicit_allow_list_opens_only_its_ranges() {
        let p = AddressPolicy::allowing("127.0.0.0/8, fd00::/8").unwrap();
        assert!(p.permits(ip("127.0.0.5")));
        assert!(p.permits(ip("fd12::1")));
        assert!(!p.permits(ip("169.254.169.254")));
        assert!(!p.permits(ip("::1")));
        assert!(!p.permits(ip("fc00::1")));
        assert!(AddressPolicy::allowing("").unwrap() == AddressPolicy::strict());
        let e = AddressPolicy::allowing("127.0.0.0/8,nonsense").unwrap_err();
        assert!(e.starts_with(ALLOW_RANGES_ENV), "{e}");
    }
}
