//! The configuration (design §4): which perspectives and engines a run uses, and its defaults.
//! This file holds the validated [`Config`] and the types every stage sees; `spec` says what a
//! perspective or engine is (credentials redacted in every `Display`), `parse` turns a TOML file
//! into a `Config` with file:line:key errors, `builtin` is the default set, and `discover` finds
//! and reads the file.

mod adhoc;
mod builtin;
mod discover;
pub mod engine;
mod parse;
mod render;
mod spec;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

pub use render::EXAMPLES as CONFIG_EXAMPLES;
pub use spec::{
    DnsSpec, EngineSpec, HttpSpec, PerspectiveSpec, ProxyKind, SocksEndpoint, Subnet, redact_url,
};

use crate::observation::{Method, Role};

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
    /// Named probe settings for `mpic-check serve` (`[modules.NAME]`), by name.
    pub modules: BTreeMap<String, Module>,
}

/// One `[modules.NAME]` table: how `mpic-check serve` checks a target when a scrape asks for
/// this module. Every field is optional and falls back to the file's `[defaults]`, so a module
/// only states what differs (the blackbox_exporter's idea of a module).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Module {
    /// Perspectives used, by name (validated to exist and to include the primary); `None`: all.
    pub perspectives: Option<Vec<String>>,
    /// The challenge: `None` is auto (http-01, dns-01 for a wildcard).
    pub method: Option<Method>,
    /// Quorum policy.
    pub policy: Option<PolicyName>,
    /// Remote perspectives and quorum of a custom policy.
    pub remotes: Option<usize>,
    /// Corroborating remotes a custom policy requires.
    pub quorum: Option<usize>,
    /// CAA issuer domain.
    pub ca: Option<String>,
    /// Per-step timeout.
    pub timeout: Option<Duration>,
}

/// The module a `/probe` request without `module=` uses; `[modules.default]` may redefine it.
pub const DEFAULT_MODULE: &str = "default";

impl Config {
    /// The primary perspective (validation guarantees one).
    pub fn primary(&self) -> &PerspectiveSpec {
        self.perspectives
            .iter()
            .find(|p| p.role == Role::Primary)
            .expect("validated: one primary")
    }

    /// The configuration a module runs with: its perspectives only, and its CA, policy and
    /// timeout in place of the file's defaults. An unknown module is `None`; `default` always
    /// exists (the whole file when it is not defined).
    pub fn for_module(&self, name: &str) -> Option<(Config, Module)> {
        let module = match self.modules.get(name) {
            Some(m) => m.clone(),
            None if name == DEFAULT_MODULE => Module::default(),
            None => return None,
        };
        let mut c = self.clone();
        if let Some(names) = &module.perspectives {
            c.perspectives.retain(|p| names.contains(&p.name));
        }
        c.ca = module.ca.clone().or(c.ca);
        c.policy = module.policy.or(c.policy);
        c.timeout = module.timeout.or(c.timeout);
        Some((c, module))
    }

    /// Every module a request may name, `default` included.
    pub fn module_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.modules.keys().cloned().collect();
        if !self.modules.contains_key(DEFAULT_MODULE) {
            v.insert(0, DEFAULT_MODULE.into());
        }
        v
    }
}

#[cfg(test)]
#[path = "props.rs"]
mod props;
