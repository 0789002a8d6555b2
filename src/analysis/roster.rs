//! Perspective identity inside analysis. Observations name their perspective with a string (that
//! is what `--save` and the JSON carry), but the analysis joins observations with the run's
//! perspective list — roles, RIRs, nameserver host names — and a join on free-form names is one
//! typo or one duplicate away from a silent mismatch. Here each perspective of the run gets a
//! [`PerspectiveId`], its index in the run's list; a name becomes an id in exactly one place
//! ([`Roster::id`]) and every lookup after that goes through the id. Serialised output keeps
//! the names.

use std::collections::HashMap;

use crate::model::PerspectiveInfo;
use crate::observation::{Rir, Role};

/// How the report describes an HTTP side without a proxy (`PerspectiveInfo::http`).
const DIRECT: &str = "direct";

/// A perspective of this run: its index in the run's perspective list. Only a [`Roster`] makes
/// one, so an id always refers to a perspective that exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PerspectiveId(u16);

/// What the analysis needs to know about one perspective.
#[derive(Debug, Clone)]
struct Entry {
    name: String,
    role: Role,
    rir: Option<Rir>,
    nameserver: Option<String>,
    /// Its HTTP side is this host's own connection (no proxy or probe elsewhere).
    direct: bool,
}

/// The run's perspectives, addressable by [`PerspectiveId`].
#[derive(Debug, Clone, Default)]
pub struct Roster {
    entries: Vec<Entry>,
    by_name: HashMap<String, PerspectiveId>,
}

impl Roster {
    /// Indexes the run's perspective list. A repeated name keeps its first entry (config
    /// validation rejects duplicates; a hand-edited replay file may not), and a list longer
    /// than `u16` can count is cut there — no run comes near it.
    pub fn new(perspectives: &[PerspectiveInfo]) -> Roster {
        let mut r = Roster::default();
        for p in perspectives {
            let Ok(i) = u16::try_from(r.entries.len()) else {
                break;
            };
            if r.by_name.contains_key(&p.name) {
                continue;
            }
            r.by_name.insert(p.name.clone(), PerspectiveId(i));
            r.entries.push(Entry {
                name: p.name.clone(),
                role: p.role,
                rir: p.rir,
                nameserver: p.nameserver.clone(),
                direct: p.http == DIRECT,
            });
        }
        r
    }

    /// The id of the perspective an observation names; `None` for a name the run's list does
    /// not have (a replay file may carry one).
    pub fn id(&self, name: &str) -> Option<PerspectiveId> {
        self.by_name.get(name).copied()
    }

    /// Every perspective, in the run's order.
    pub fn ids(&self) -> impl Iterator<Item = PerspectiveId> + '_ {
        (0..self.entries.len()).map(|i| PerspectiveId(i as u16))
    }

    fn entry(&self, id: PerspectiveId) -> &Entry {
        &self.entries[usize::from(id.0)]
    }

    /// The perspective's name, as serialised.
    pub fn name(&self, id: PerspectiveId) -> &str {
        &self.entry(id).name
    }

    /// Its role.
    pub fn role(&self, id: PerspectiveId) -> Role {
        self.entry(id).role
    }

    /// Its RIR, when configured.
    pub fn rir(&self, id: PerspectiveId) -> Option<Rir> {
        self.entry(id).rir
    }

    /// For an authoritative-nameserver source: the nameserver's host name.
    pub fn nameserver(&self, id: PerspectiveId) -> Option<&str> {
        self.entry(id).nameserver.as_deref()
    }

    /// Whether its HTTP fetches leave from this host rather than through a proxy or probe in
    /// its region (so they cannot show geoblocking).
    pub fn fetches_directly(&self, id: PerspectiveId) -> bool {
        self.entry(id).direct
    }

    /// The role of the perspective an observation names; a name outside the run's list is
    /// treated as a diagnostic source, never as a vantage a CA counts.
    pub fn role_of(&self, name: &str) -> Role {
        self.id(name).map_or(Role::Source, |id| self.role(id))
    }

    /// Whether the named perspective is an authoritative nameserver the tool asked directly.
    pub fn is_nameserver(&self, name: &str) -> bool {
        self.id(name)
            .is_some_and(|id| self.nameserver(id).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, role: Role, rir: Option<Rir>, ns: Option<&str>) -> PerspectiveInfo {
        PerspectiveInfo {
            name: name.into(),
            role,
            rir,
            dns: "system".into(),
            http: "direct".into(),
            nameserver: ns.map(Into::into),
            location: None,
            dns_provenance: None,
            http_provenance: None,
        }
    }

    #[test]
    fn names_become_ids_once_and_lookups_go_through_them() {
        let r = Roster::new(&[
            info("home", Role::Primary, Some(Rir::Arin), None),
            info("eu", Role::Remote, Some(Rir::Ripe), None),
            info("auth:ns1", Role::Source, None, Some("ns1.example")),
            // A duplicate keeps the first entry.
            info("eu", Role::Source, None, None),
        ]);
        let eu = r.id("eu").unwrap();
        assert_eq!(r.role(eu), Role::Remote);
        assert_eq!(r.rir(eu), Some(Rir::Ripe));
        assert_eq!(r.name(eu), "eu");
        assert_eq!(r.ids().count(), 3);
        assert!(r.is_nameserver("auth:ns1") && !r.is_nameserver("home"));
        assert_eq!(r.nameserver(r.id("auth:ns1").unwrap()), Some("ns1.example"));
        // Unknown names are diagnostic sources, never counted vantages.
        assert_eq!(r.id("nobody"), None);
        assert_eq!(r.role_of("nobody"), Role::Source);
    }
}
