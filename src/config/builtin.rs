//! The built-in default perspective set, used when no configuration file exists: it must work on
//! any host with no setup, so it needs nothing but the host's own resolver and the public DNS.

use std::net::SocketAddr;

use super::{Config, ConfigSource, DnsSpec, HttpSpec, PerspectiveSpec};
use crate::observation::{Rir, Role};

impl Config {
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
            modules: Default::default(),
            perspectives: vec![
                PerspectiveSpec::local("local", Role::Primary, DnsSpec::System),
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
