//! `mpic-check config`: `init` writes a commented starting file (the built-in set, ready to edit,
//! with `ssh -D` and engine examples), `check` validates a file and says what its perspectives
//! can and cannot see from where (like `nginx -t`), and `show` prints the effective configuration
//! with `--perspective`/`--resolver` applied. Errors are the config's one-line
//! `file:line: key: message` (exit 3); nothing here touches the network.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::analysis::reach::{self, Sight};
use crate::config::{Config, ConfigSource, EngineSpec};
use crate::exit::Exit;
use crate::observation::Role;
use crate::plan::UsageError;

/// Where `config init` writes when no `--output` is given: the user's config file, the first
/// place a run looks.
pub fn default_path() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
        return Some(PathBuf::from(x).join("mpic-check/config.toml"));
    }
    std::env::var_os("HOME")
        .filter(|x| !x.is_empty())
        .map(|h| PathBuf::from(h).join(".config/mpic-check/config.toml"))
}

/// The text `config init` writes.
pub fn starting_file() -> String {
    format!(
        "# mpic-check configuration: the built-in perspective set, ready to edit.\n\
         # A file replaces the built-in set entirely. Check it with: mpic-check config check FILE\n\
         # The comment above each perspective says where its DNS and HTTP are really made.\n\
         # The sources ask the public resolvers 1.1.1.1, 8.8.8.8 and 9.9.9.9 (the names checked\n\
         # are sent to them); remove them to keep every query between this host and the zone.\n\n{}{}",
        Config::built_in().to_toml(),
        crate::config::CONFIG_EXAMPLES
    )
}

/// `config init [--output FILE] [--force]`: writes the starting file atomically; an existing file
/// is kept unless `force`. `-` writes to `out`.
pub fn init(output: Option<&Path>, force: bool, out: &mut impl Write) -> anyhow::Result<Exit> {
    let text = starting_file();
    let path = match output {
        Some(p) if p == Path::new("-") => {
            out.write_all(text.as_bytes())?;
            return Ok(Exit::Ready);
        }
        Some(p) => p.to_path_buf(),
        None => default_path().ok_or_else(|| {
            UsageError("no HOME or XDG_CONFIG_HOME: give --output FILE (or - for stdout)".into())
        })?,
    };
    if !force && path.symlink_metadata().is_ok() {
        return Err(UsageError(format!(
            "{} exists; not overwritten (use --force to replace it, or --output another file)",
            path.display()
        ))
        .into());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    write_atomic(&path, text.as_bytes(), force)
        .with_context(|| format!("cannot write {}", path.display()))?;
    writeln!(
        out,
        "wrote {} (check it with: mpic-check config check {})",
        path.display(),
        path.display()
    )?;
    Ok(Exit::Ready)
}

/// Writes `bytes` to a temporary file beside `path`, then puts it in place: by rename with
/// `replace`, else by a hard link that fails if `path` appeared meanwhile (never clobbers).
fn write_atomic(path: &Path, bytes: &[u8], replace: bool) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map_or("config".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.{:016x}.tmp", rand::random::<u64>()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        if replace {
            std::fs::rename(&tmp, path)
        } else {
            std::fs::hard_link(&tmp, path)
        }
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}

/// The configuration `check` and `show` work on: FILE, else the discovered one, with the
/// command-line perspectives applied.
fn effective(
    file: Option<&Path>,
    perspectives: &[String],
    resolvers: &[String],
) -> Result<Config, UsageError> {
    let c = Config::discover(file).map_err(|e| UsageError(e.to_string()))?;
    c.with_command_line(perspectives, resolvers)
        .map_err(|e| UsageError(e.to_string()))
}

fn source_name(c: &Config) -> String {
    match &c.source {
        ConfigSource::File(p) => p.display().to_string(),
        ConfigSource::BuiltIn => "the built-in set".into(),
    }
}

/// `config check [FILE]`: validates, then lists the perspectives with their provenance and what
/// the set can and cannot see. A set with no remote is an error with the fix.
pub fn check(
    file: Option<&Path>,
    perspectives: &[String],
    resolvers: &[String],
    out: &mut impl Write,
) -> anyhow::Result<Exit> {
    let c = effective(file, perspectives, resolvers)?;
    if let Some(problem) = c.no_remote_problem() {
        return Err(UsageError(format!("{}: {problem}", source_name(&c))).into());
    }
    writeln!(out, "{}: ok", source_name(&c))?;
    writeln!(out, "perspectives (where DNS and HTTP are really made):")?;
    for p in &c.perspectives {
        let rir = p.rir.map_or("-".to_string(), |r| r.to_string());
        let http = if p.role == Role::Source {
            String::new()
        } else {
            format!("; HTTP {}", p.http_provenance())
        };
        writeln!(
            out,
            "  {:<14} {:<7} {:<7} DNS {}{http}",
            p.name,
            // `Role`'s Display ignores width, so pad its text.
            p.role.to_string(),
            rir,
            p.dns_provenance()
        )?;
    }
    for e in &c.engines {
        match e {
            EngineSpec::Globalping { locations, .. } => writeln!(
                out,
                "  engine globalping: {} probe location(s), remote, measured by third-party probes",
                locations.len()
            )?,
            EngineSpec::OpenMpic { url, .. } => writeln!(
                out,
                "  engine open-mpic {}: the deployment's perspectives, measured there",
                crate::config::redact_url(url)
            )?,
        }
    }
    let sight = reach::sight(&reach::remote_sides(&c));
    writeln!(out, "what this set can see from other regions:")?;
    for (mode, s) in &sight {
        let why = match (mode.as_str(), s) {
            (_, Sight::Measured) => "measured away from this host",
            (_, Sight::Emulated) => "emulated from this host with ECS subnets",
            (_, Sight::ThisHost) => "only as this host sees it",
            ("http-geoblocked", Sight::No) => {
                "no: every HTTP fetch leaves this host (add a SOCKS proxy per region or --globalping)"
            }
            ("dns-refused-by-region", Sight::No) => {
                "no: every DNS query leaves this host; ECS does not change the source address \
                 (add a remote resolver, a SOCKS proxy or --globalping)"
            }
            (_, Sight::No) => "no",
        };
        writeln!(out, "  {:<22} {}", mode.as_str(), why)?;
    }
    Ok(Exit::Ready)
}

/// `config show`: the effective configuration as TOML, credentials redacted.
pub fn show(
    file: Option<&Path>,
    perspectives: &[String],
    resolvers: &[String],
    out: &mut impl Write,
) -> anyhow::Result<Exit> {
    let c = effective(file, perspectives, resolvers)?;
    writeln!(out, "# effective configuration: {}", source_name(&c))?;
    out.write_all(c.to_toml().as_bytes())?;
    Ok(Exit::Ready)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starting_file_passes_check_and_says_what_it_cannot_see() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config.toml");
        let mut out = Vec::new();
        init(Some(&path), false, &mut out).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("ssh -N -D") && text.contains("kind = \"globalping\""));
        let mut out = Vec::new();
        check(Some(&path), &[], &[], &mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains(": ok"), "{s}");
        assert!(
            s.contains("http-geoblocked") && s.contains("no: every HTTP fetch"),
            "{s}"
        );
        // A second init keeps the file; --force replaces it.
        let e = init(Some(&path), false, &mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("--force"), "{e}");
        std::fs::write(&path, "edited").unwrap();
        init(Some(&path), true, &mut Vec::new()).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }
}
