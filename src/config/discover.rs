//! Where the configuration comes from: the file named on the command line, else the user's
//! (`$XDG_CONFIG_HOME`, `~/.config`), else the system's (`/etc`), else the built-in set. Reading is
//! capped, so a wrong path (a device, a FIFO) ends at once with one line instead of hanging.

use std::path::{Path, PathBuf};

use super::{Config, ConfigError};

/// Largest config file read; a perspectives file is a few KiB, and `--config /dev/zero` must be
/// an error, not a hang.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

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
        let read = std::fs::File::open(path)
            .and_then(|f| crate::text::read_text_capped(f, MAX_CONFIG_BYTES));
        let text = read.map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::parse(&text, path)
    }
}
