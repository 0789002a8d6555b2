//! The configuration (design §4): which perspectives and engines a run uses, and its defaults.
//! This file holds the validated [`Config`] and the types every stage sees; `spec` says what a
//! perspective or engine is (credentials redacted in every `Display`), `parse` turns a TOML file
//! into a `Config` with file:line:key errors, `builtin` is the default set, and `discover` finds
//! and reads the file.

mod builtin;
mod discover;
pub mod engine;
mod parse;
mod spec;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

pub use spec::{
    DnsSpec, EngineSpec, HttpSpec, PerspectiveSpec, ProxyKind, SocksEndpoint, Subnet, redact_url,
};

use crate::observation::Role;

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

impl Config {
    /// The primary perspective (validation guarantees one).
    pub fn primary(&self) -> &PerspectiveSpec {
        self.perspectives
            .iter()
            .find(|p| p.role == Role::Primary)
            .expect("validated: one primary")
    }
}

#[cfg(test)]
#[path = "props.rs"]
mod props;
