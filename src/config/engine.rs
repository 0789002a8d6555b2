//! The vocabulary of `[[engine]]` entries: what a Globalping location or an Open MPIC endpoint is,
//! as the configuration states it. The engines themselves (API clients and result mapping) live in
//! `crate::engines`; they read these types, so the configuration never depends on them.

use std::fmt;

use crate::observation::Rir;

/// The public API.
pub const DEFAULT_API_URL: &str = "https://api.globalping.io";
/// Environment variable the official CLI reads the token from; the config may name another.
pub const TOKEN_ENV: &str = "GLOBALPING_TOKEN";
/// Environment variable the design's example config names for the key.
pub const API_KEY_ENV: &str = "OPEN_MPIC_API_KEY";
/// Continent codes the API accepts.
pub const CONTINENTS: [&str; 7] = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"];

/// One Globalping location: the perspective's name, the RIR it stands for, and how the API should
/// pick its probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Perspective name (unique).
    pub name: String,
    /// The RIR service region this location represents.
    pub rir: Rir,
    /// How to select the probe.
    pub spec: LocationSpec,
}

/// A probe selector, as the API's location object understands it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocationSpec {
    /// Continent code: AF, AN, AS, EU, NA, OC or SA.
    Continent(String),
    /// ISO 3166-1 alpha-2 country code.
    Country(String),
    /// The API's fuzzy "magic" string (`+` means AND), e.g. `Frankfurt+Germany`.
    Magic(String),
    /// A probe tag, e.g. the cloud region `aws-eu-central-1`.
    Tag(String),
}

impl LocationSpec {
    /// Why the API would not understand this selector, if it would not.
    pub(crate) fn validate(&self) -> Result<(), String> {
        match self {
            LocationSpec::Continent(c)
                if !CONTINENTS.contains(&c.to_ascii_uppercase().as_str()) =>
            {
                Err(format!(
                    "continent {c:?} is not one of {}",
                    CONTINENTS.join(", ")
                ))
            }
            LocationSpec::Country(c)
                if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_alphabetic()) =>
            {
                Err(format!("country {c:?} is not a two-letter ISO 3166-1 code"))
            }
            LocationSpec::Magic(s) | LocationSpec::Tag(s) if s.trim().is_empty() => {
                Err("an empty magic string or tag matches any probe".into())
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for LocationSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LocationSpec::Continent(c) => write!(f, "continent {}", c.to_ascii_uppercase()),
            LocationSpec::Country(c) => write!(f, "country {}", c.to_ascii_uppercase()),
            LocationSpec::Magic(m) => write!(f, "magic {:?}", m.trim()),
            LocationSpec::Tag(t) => write!(f, "tag {}", t.trim()),
        }
    }
}
