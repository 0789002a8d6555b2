//! Saved runs: what `--save FILE` writes and `--replay FILE` reads (`docs/json.md`, "Saved runs").
//! A saved run is the raw [`Run`] (every observation, the input of the analysis), not the report,
//! so a replay re-analyses it under today's policy and rules without touching the network. The
//! design's home for this contract is `observation.rs`, next to `Observation`; it lives here
//! while `Run` is defined in `analysis` and `Observation` in `model`, because an `observation`
//! module that only re-exported them would make the arrows point upwards.

use std::path::{Path, PathBuf};

use crate::analysis::Run;
use crate::model::SCHEMA_VERSION;
use crate::observation::Provenance;

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
        .and_then(|f| crate::text::read_text_capped(f, MAX_REPLAY_BYTES))
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
    let mut saved = saved;
    fill_provenance(&mut saved.run);
    Ok(saved)
}

/// Gives the perspectives and observations of a run saved before provenance existed the
/// provenance their perspective list implies, so a replay judges them as a new run would.
pub fn fill_provenance(run: &mut Run) {
    for p in &mut run.perspectives {
        if p.dns_provenance.is_none() {
            p.dns_provenance = legacy_dns(&p.name, &p.dns, &p.http);
        }
        if p.http_provenance.is_none() && p.role != crate::observation::Role::Source {
            p.http_provenance = legacy_http(&p.name, &p.http);
        }
    }
    for id in &mut run.identifiers {
        for o in &mut id.observations {
            if o.provenance.is_some() {
                continue;
            }
            let Some(p) = run.perspectives.iter().find(|p| p.name == o.perspective) else {
                continue;
            };
            o.provenance = if o.check == crate::observation::Check::Http01 {
                p.http_provenance.clone()
            } else {
                p.dns_provenance.clone()
            };
        }
    }
}

/// The provenance of an engine's perspective from its reported sides (`globalping probe (…)`,
/// `open-mpic …`), if it is one.
fn legacy_engine(name: &str, side: &str) -> Option<Provenance> {
    if let Some(loc) = side
        .strip_prefix("globalping probe (")
        .and_then(|s| s.strip_suffix(')'))
    {
        return Some(Provenance::GlobalpingProbe {
            location: loc.to_string(),
            city: None,
            country: None,
            asn: None,
        });
    }
    side.starts_with("open-mpic").then(|| Provenance::OpenMpic {
        perspective_code: name
            .strip_prefix(crate::engines::openmpic::PERSPECTIVE_PREFIX)
            .unwrap_or(name)
            .to_string(),
    })
}

fn legacy_http(name: &str, http: &str) -> Option<Provenance> {
    if let Some(e) = legacy_engine(name, http) {
        return Some(e);
    }
    match http {
        "direct" => Some(Provenance::ThisHost),
        "none" | "" => None,
        other => {
            let url = url::Url::parse(other).ok()?;
            Some(Provenance::Proxy {
                proxy: format!(
                    "{}:{}",
                    crate::text::bare_host(&url),
                    url.port_or_known_default().unwrap_or(0)
                ),
                egress: None,
            })
        }
    }
}

fn legacy_dns(name: &str, dns: &str, http: &str) -> Option<Provenance> {
    if let Some(e) = legacy_engine(name, dns) {
        return Some(e);
    }
    let (side, ecs) = match dns.split_once(" ecs=") {
        Some((a, b)) => (a, Some(b)),
        None => (dns, None),
    };
    let socks = http.starts_with("socks5");
    if side.starts_with("nameserver ") {
        return Some(Provenance::ThisHost);
    }
    if socks || (side.starts_with("https://") && http != "direct" && http != "none") {
        return legacy_http(name, http);
    }
    Some(match (side, ecs) {
        ("authoritative", Some(subnet)) => Provenance::ThisHostEcs {
            subnet: subnet.to_string(),
        },
        ("authoritative" | "system", _) => Provenance::ThisHost,
        (s, _)
            if s.starts_with("udp://") || s.starts_with("tcp://") || s.starts_with("https://") =>
        {
            Provenance::RemoteResolver {
                resolver: s.to_string(),
            }
        }
        _ => return None,
    })
}

/// Writes a saved run to `path` so that `path` is either the old file or the whole new one, never
/// a mix: the text goes to a temporary file in the same directory (same file system, so the
/// rename is atomic), is synced, and is then renamed over `path`. On any failure (a full disk, a
/// read-only directory) the temporary file is removed and `path` is left as it was. A symlink at
/// `path` is replaced, not followed; the new file gets the umask's default mode.
pub fn write(path: &Path, saved: &SavedRun) -> Result<(), SavedError> {
    use std::io::Write;
    let err = |source| SavedError::Write {
        path: path.into(),
        source,
    };
    let mut text = serde_json::to_vec_pretty(saved).map_err(|e| err(e.into()))?;
    text.push(b'\n');
    let name = path.file_name().ok_or_else(|| {
        err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a file name",
        ))
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // Hidden, and random so two runs saving to the same file do not share one.
    let tmp = dir.join(format!(
        ".{}.{:016x}.tmp",
        name.to_string_lossy(),
        rand::random::<u64>()
    ));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(&text)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // The rename is durable once the directory is; not every file system lets a directory be
        // synced, and the file is complete either way.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SavedRun {
        serde_json::from_str(include_str!(
            "../../tests/fixtures/replay/dns01-expected-txt.json"
        ))
        .unwrap()
    }

    #[test]
    fn write_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        std::fs::write(&path, "old").unwrap();
        write(&path, &sample()).unwrap();
        let back = read(&path).unwrap();
        assert_eq!(back.started_at, sample().started_at);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["run.json"]);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: the rename fails after the temporary is written.
        let path = dir.path().join("run.json");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("keep"), "old").unwrap();
        let e = write(&path, &sample()).unwrap_err();
        assert!(e.to_string().starts_with("--save "), "{e}");
        assert_eq!(std::fs::read_to_string(path.join("keep")).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}

#[cfg(test)]
#[path = "saved_props.rs"]
mod props;
