//! Saved runs: what `--save FILE` writes and `--replay FILE` reads (`docs/json.md`, "Saved runs").
//! A saved run is the raw [`Run`] (every observation, the input of the analysis), not the report,
//! so a replay re-analyses it under today's policy and rules without touching the network. The
//! design's home for this contract is `observation.rs`, next to `Observation`; it lives here
//! while `Run` is defined in `analysis` and `Observation` in `model`, because an `observation`
//! module that only re-exported them would make the arrows point upwards.

use std::path::{Path, PathBuf};

use crate::analysis::Run;
use crate::model::SCHEMA_VERSION;

/// Largest `--replay` file (a saved run of 10,000 names is tens of MiB).
pub const MAX_REPLAY_BYTES: u64 = 256 << 20;

/// What `--save` writes and `--replay` reads.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedRun {
    /// Format version (same as the report's).
    pub schema_version: u32,
    /// When the run started.
    pub started_at: String,
    /// How long it took.
    pub duration_ms: u64,
    /// The observations.
    pub run: Run,
}

/// Why a saved run could not be read or written; each names the flag and the file.
#[derive(Debug, thiserror::Error)]
pub enum SavedError {
    /// The file could not be read (missing, unreadable, over the size limit).
    #[error("--replay {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not JSON of this shape.
    #[error("--replay {}: not a saved run: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where serde stopped.
        source: serde_json::Error,
    },
    /// Written by another version of the format.
    #[error("--replay {}: schema_version {found} is not supported", path.display())]
    Version {
        /// The file.
        path: PathBuf,
        /// The version it declares.
        found: u32,
    },
    /// The file could not be written.
    #[error("--save {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Reads a saved run, refusing anything over [`MAX_REPLAY_BYTES`], with unknown fields, or of
/// another schema version.
pub fn read(path: &Path) -> Result<SavedRun, SavedError> {
    let text = std::fs::File::open(path)
        .and_then(|f| crate::config::read_text_capped(f, MAX_REPLAY_BYTES))
        .map_err(|source| SavedError::Read {
            path: path.into(),
            source,
        })?;
    let saved: SavedRun = serde_json::from_str(&text).map_err(|source| SavedError::Parse {
        path: path.into(),
        source,
    })?;
    if saved.schema_version != SCHEMA_VERSION {
        return Err(SavedError::Version {
            path: path.into(),
            found: saved.schema_version,
        });
    }
    Ok(saved)
}

/// Writes a saved run to `path`.
pub fn write(path: &Path, saved: &SavedRun) -> Result<(), SavedError> {
    let err = |source| SavedError::Write {
        path: path.into(),
        source,
    };
    let text = serde_json::to_string_pretty(saved).map_err(|e| err(e.into()))?;
    std::fs::write(path, text + "\n").map_err(err)
}

#[cfg(test)]
#[path = "saved_props.rs"]
mod props;
