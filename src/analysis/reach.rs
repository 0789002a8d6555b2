//! What a perspective set can see from where, before any run: for each failure mode that depends
//! on where a query or fetch comes from, whether the set measures it from other regions, only
//! emulates it from this host (ECS), sees it from this host only, or not at all. It reads the same
//! provenance the quorum and the coverage read (`Provenance::reach`), so `config check`, the
//! README table ("What a run can see from where") and a run's coverage cannot disagree.

use crate::config::{Config, EngineSpec};
use crate::model::FindingCode;
use crate::observation::{Provenance, Reach, Role};

/// How a perspective set sees one failure mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Sight {
    /// Not at all.
    No,
    /// Only as this host sees it (what a CA's remote in another region sees is not tested).
    ThisHost,
    /// Emulated from this host (ECS subnets stand in for the regions).
    Emulated,
    /// Measured away from this host (remote resolver, proxy, probe, Open MPIC).
    Measured,
}

impl Sight {
    /// The words used in `config check` and the README table.
    pub fn as_str(self) -> &'static str {
        match self {
            Sight::No => "no",
            Sight::ThisHost => "this host only",
            Sight::Emulated => "emulated (ECS)",
            Sight::Measured => "measured",
        }
    }
}

/// One remote vantage of a set: where its DNS and HTTP are made.
#[derive(Debug, Clone)]
pub struct Side {
    /// Its DNS side.
    pub dns: Provenance,
    /// Its HTTP side.
    pub http: Provenance,
}

/// The remote vantages of a configuration: its remote perspectives and what its engines bring.
pub fn remote_sides(c: &Config) -> Vec<Side> {
    let mut v: Vec<Side> = c
        .perspectives
        .iter()
        .filter(|p| p.role == Role::Remote)
        .map(|p| Side {
            dns: p.dns_provenance(),
            http: p.http_provenance(),
        })
        .collect();
    for e in &c.engines {
        match e {
            EngineSpec::Globalping { locations, .. } => {
                v.extend(locations.iter().map(|l| {
                    let p = Provenance::GlobalpingProbe {
                        location: l.spec.to_string(),
                        city: None,
                        country: None,
                        asn: None,
                    };
                    Side {
                        dns: p.clone(),
                        http: p,
                    }
                }));
            }
            EngineSpec::OpenMpic { .. } => {
                let p = Provenance::OpenMpic {
                    perspective_code: "(its perspectives)".into(),
                };
                v.push(Side {
                    dns: p.clone(),
                    http: p,
                });
            }
        }
    }
    v
}

/// The failure modes whose visibility depends on where a query or fetch is made.
pub const MODES: [FindingCode; 5] = [
    FindingCode::GeodnsDivergence,
    FindingCode::DnsRefusedByRegion,
    FindingCode::CaaLookupFailed,
    FindingCode::HttpGeoblocked,
    FindingCode::NsUnreachable,
];

/// How a set of remote vantages sees each of [`MODES`].
pub fn sight(sides: &[Side]) -> Vec<(FindingCode, Sight)> {
    let best = |f: &dyn Fn(&Side) -> Sight| sides.iter().map(f).max().unwrap_or(Sight::No);
    let dns = |s: &Side| match s.dns.reach() {
        Reach::Away => Sight::Measured,
        Reach::Emulated => Sight::Emulated,
        Reach::ThisHost => Sight::ThisHost,
    };
    // An ECS subnet changes the answer a GeoDNS gives, not the source address that an ACL or a
    // provider's regional refusal looks at, nor the anycast node a query reaches.
    let source_address = |s: &Side| match s.dns.reach() {
        Reach::Away => Sight::Measured,
        _ => Sight::No,
    };
    let http = |s: &Side| match s.http.reach() {
        Reach::Away => Sight::Measured,
        _ => Sight::No,
    };
    MODES
        .iter()
        .map(|m| {
            let s = match m {
                FindingCode::GeodnsDivergence => best(&dns),
                FindingCode::DnsRefusedByRegion => best(&source_address),
                FindingCode::HttpGeoblocked => best(&http),
                // Lookup failures and unreachable nameservers are seen from wherever the query
                // leaves; from this host they are tested, but not as another region meets them.
                FindingCode::CaaLookupFailed | FindingCode::NsUnreachable => {
                    best(&source_address).max(Sight::ThisHost)
                }
                _ => Sight::No,
            };
            (*m, s)
        })
        .collect()
}

/// The README table "What a run can see from where": the built-in set, then with proxies,
/// Globalping and Open MPIC added.
pub fn readme_table() -> String {
    let builtin = Config::built_in();
    let base = remote_sides(&builtin);
    let proxy = Provenance::Proxy {
        proxy: "127.0.0.1:1080".into(),
        egress: None,
    };
    let with = |extra: Side| {
        let mut v = base.clone();
        v.push(extra);
        v
    };
    let gp = Provenance::GlobalpingProbe {
        location: "continent EU".into(),
        city: None,
        country: None,
        asn: None,
    };
    let om = Provenance::OpenMpic {
        perspective_code: "eu".into(),
    };
    let columns = [
        ("built-in set", base.clone()),
        (
            "+ SOCKS proxies",
            with(Side {
                dns: proxy.clone(),
                http: proxy,
            }),
        ),
        (
            "+ `--globalping`",
            with(Side {
                dns: gp.clone(),
                http: gp,
            }),
        ),
        (
            "+ Open MPIC",
            with(Side {
                dns: om.clone(),
                http: om,
            }),
        ),
    ];
    let mut t = String::from("| failure mode |");
    for (name, _) in &columns {
        t.push_str(&format!(" {name} |"));
    }
    t.push_str("\n|---|");
    t.push_str(&"---|".repeat(columns.len()));
    t.push('\n');
    let sights: Vec<Vec<(FindingCode, Sight)>> = columns.iter().map(|(_, s)| sight(s)).collect();
    for (i, m) in MODES.iter().enumerate() {
        t.push_str(&format!("| `{}` |", m.as_str()));
        for s in &sights {
            t.push_str(&format!(" {} |", s[i].1.as_str()));
        }
        t.push('\n');
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_set_emulates_geodns_and_cannot_see_refusals_or_geoblocking() {
        let s = sight(&remote_sides(&Config::built_in()));
        let of = |m| s.iter().find(|(c, _)| *c == m).unwrap().1;
        assert_eq!(of(FindingCode::GeodnsDivergence), Sight::Emulated);
        assert_eq!(of(FindingCode::DnsRefusedByRegion), Sight::No);
        assert_eq!(of(FindingCode::HttpGeoblocked), Sight::No);
        assert_eq!(of(FindingCode::CaaLookupFailed), Sight::ThisHost);
    }

    #[test]
    fn the_readme_table_is_what_the_code_says() {
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));
        let table = readme_table();
        assert!(
            readme.contains(&table),
            "README \"What a run can see from where\" must contain exactly:\n{table}"
        );
    }
}
