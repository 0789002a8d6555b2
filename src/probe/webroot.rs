//! The webroot probe file: the one thing mpic-check writes on a user's server. It is created as a
//! new file (never over an existing one, never through a symlink, never through a symlinked
//! directory that leads out of the webroot), with mode 0644 (directories it has to create: 0755,
//! both before the umask), rewritten through the same open handle, and removed again together
//! with any directory the tool had to create, whatever happens: `remove` is idempotent and also
//! runs from `Drop`, and the caller removes it on Ctrl-C, SIGTERM, SIGHUP, timeout or error.
//! Before removing, it checks that the path still is the file it created.

use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Why the probe file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum WebrootError {
    /// The webroot is missing or not a directory.
    #[error("webroot {0}: not a directory")]
    NotADirectory(String),
    /// Something already exists where the probe file would go.
    #[error("{0} already exists; mpic-check never overwrites a file")]
    Exists(String),
    /// A path component is not a directory (e.g. `.well-known` is a file).
    #[error("{0} exists and is not a directory")]
    NotDir(String),
    /// `.well-known` or `acme-challenge` is a symlink that leads out of the webroot.
    #[error(
        "{dir} leads to {target}, outside the webroot {webroot}; mpic-check does not write there (pass the directory the server really serves as --webroot)"
    )]
    Escapes {
        /// The directory as named under the webroot.
        dir: String,
        /// Where it really is.
        target: String,
        /// The webroot, resolved.
        webroot: String,
    },
    /// An I/O error, with the path.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WebrootError + '_ {
    move |source| WebrootError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A probe file the tool created, removed on `remove` or drop.
#[derive(Debug)]
pub struct ProbeFile {
    path: PathBuf,
    file: Option<File>,
    identity: (u64, u64),
    created_dirs: Vec<PathBuf>,
    removed: bool,
}

impl ProbeFile {
    /// Creates `<webroot>/.well-known/acme-challenge/<token>` holding `content`.
    pub fn create(webroot: &Path, token: &str, content: &str) -> Result<ProbeFile, WebrootError> {
        if !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            || token.is_empty()
        {
            return Err(WebrootError::Exists(format!("invalid token {token:?}")));
        }
        let meta = fs::metadata(webroot)
            .map_err(|_| WebrootError::NotADirectory(webroot.display().to_string()))?;
        if !meta.is_dir() {
            return Err(WebrootError::NotADirectory(webroot.display().to_string()));
        }
        // A symlinked `.well-known` or `acme-challenge` may point anywhere (/etc, another site);
        // the probe is only written, and directories only created, where the webroot leads.
        let real_root = fs::canonicalize(webroot).map_err(io(webroot))?;
        let escapes = |dir: &Path| -> Result<(), WebrootError> {
            let real = fs::canonicalize(dir).map_err(io(dir))?;
            if real.starts_with(&real_root) {
                Ok(())
            } else {
                Err(WebrootError::Escapes {
                    dir: dir.display().to_string(),
                    target: real.display().to_string(),
                    webroot: real_root.display().to_string(),
                })
            }
        };
        let mut created_dirs = Vec::new();
        let mut dir = webroot.to_path_buf();
        for part in [".well-known", "acme-challenge"] {
            dir.push(part);
            if fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_symlink())
                && let Err(e) = escapes(&dir)
            {
                cleanup_dirs(&created_dirs);
                return Err(e);
            }
            match fs::metadata(&dir) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    cleanup_dirs(&created_dirs);
                    return Err(WebrootError::NotDir(dir.display().to_string()));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if let Err(e) = fs::DirBuilder::new().mode(0o755).create(&dir) {
                        cleanup_dirs(&created_dirs);
                        return Err(io(&dir)(e));
                    }
                    created_dirs.push(dir.clone());
                }
                Err(e) => {
                    cleanup_dirs(&created_dirs);
                    return Err(io(&dir)(e));
                }
            }
        }
        if let Err(e) = escapes(&dir) {
            cleanup_dirs(&created_dirs);
            return Err(e);
        }
        let path = dir.join(token);
        // create_new = O_CREAT|O_EXCL: fails on any existing entry, a symlink included, so
        // nothing that was already there is ever opened, let alone overwritten.
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&path);
        let mut file = match file {
            Ok(f) => f,
            Err(e) => {
                cleanup_dirs(&created_dirs);
                return Err(if e.kind() == std::io::ErrorKind::AlreadyExists {
                    WebrootError::Exists(path.display().to_string())
                } else {
                    io(&path)(e)
                });
            }
        };
        let meta = file.metadata().map_err(io(&path))?;
        let mut probe = ProbeFile {
            path,
            file: None,
            identity: (meta.dev(), meta.ino()),
            created_dirs,
            removed: false,
        };
        if let Err(e) = file
            .write_all(content.as_bytes())
            .and_then(|()| file.sync_all())
        {
            probe.file = Some(file);
            let _ = probe.remove();
            return Err(io(&probe.path)(e));
        }
        probe.file = Some(file);
        Ok(probe)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Replaces the content through the handle opened at creation (no reopening by name).
    pub fn rewrite(&mut self, content: &str) -> Result<(), WebrootError> {
        let path = self.path.clone();
        let f = self
            .file
            .as_mut()
            .ok_or_else(|| WebrootError::Exists(path.display().to_string()))?;
        f.set_len(0).map_err(io(&path))?;
        f.seek(SeekFrom::Start(0)).map_err(io(&path))?;
        f.write_all(content.as_bytes()).map_err(io(&path))?;
        f.sync_all().map_err(io(&path))
    }

    /// Removes the file (only if the path still is the file created) and the directories the
    /// tool created, if empty. Safe to call more than once.
    pub fn remove(&mut self) -> Result<(), WebrootError> {
        if self.removed {
            return Ok(());
        }
        self.removed = true;
        self.file = None;
        let result = match fs::symlink_metadata(&self.path) {
            Ok(m) if (m.dev(), m.ino()) == self.identity && m.file_type().is_file() => {
                fs::remove_file(&self.path).map_err(io(&self.path))
            }
            Ok(_) => Err(WebrootError::Exists(format!(
                "{} was replaced by something else; left alone",
                self.path.display()
            ))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(&self.path)(e)),
        };
        cleanup_dirs(&self.created_dirs);
        result
    }
}

impl Drop for ProbeFile {
    fn drop(&mut self) {
        let _ = self.remove();
    }
}

fn cleanup_dirs(dirs: &[PathBuf]) {
    // Innermost first; remove_dir refuses a non-empty directory, so nothing else is touched.
    for d in dirs.iter().rev() {
        let _ = fs::remove_dir(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(root: &Path) -> Vec<String> {
        let mut v = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let e = e.unwrap();
                v.push(e.path().display().to_string());
                if e.file_type().unwrap().is_dir() {
                    stack.push(e.path());
                }
            }
        }
        v.sort();
        v
    }

    #[test]
    fn creates_rewrites_and_removes_leaving_nothing() {
        let root = tempfile::tempdir().unwrap();
        let before = listing(root.path());
        let mut p = ProbeFile::create(root.path(), "tok", "A").unwrap();
        assert_eq!(fs::read_to_string(p.path()).unwrap(), "A");
        let mode = fs::metadata(p.path()).unwrap().mode() & 0o777;
        assert_eq!(mode & 0o444, 0o444, "readable by the web server");
        p.rewrite("BB").unwrap();
        assert_eq!(fs::read_to_string(p.path()).unwrap(), "BB");
        p.remove().unwrap();
        p.remove().unwrap();
        assert_eq!(listing(root.path()), before);
    }

    #[test]
    fn existing_directories_are_kept_and_drop_cleans_up() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join(".well-known/acme-challenge")).unwrap();
        fs::write(root.path().join(".well-known/acme-challenge/other"), "x").unwrap();
        let before = listing(root.path());
        {
            let _p = ProbeFile::create(root.path(), "tok", "A").unwrap();
        }
        assert_eq!(listing(root.path()), before);
    }

    #[test]
    fn never_overwrites_or_follows_symlinks() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join(".well-known/acme-challenge");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("taken"), "keep").unwrap();
        assert!(matches!(
            ProbeFile::create(root.path(), "taken", "X"),
            Err(WebrootError::Exists(_))
        ));
        assert_eq!(fs::read_to_string(dir.join("taken")).unwrap(), "keep");
        let target = root.path().join("target");
        fs::write(&target, "secret").unwrap();
        std::os::unix::fs::symlink(&target, dir.join("link")).unwrap();
        assert!(ProbeFile::create(root.path(), "link", "X").is_err());
        assert_eq!(fs::read_to_string(&target).unwrap(), "secret");
        assert!(ProbeFile::create(root.path(), "../escape", "X").is_err());
    }

    #[test]
    fn a_symlinked_challenge_dir_leading_out_of_the_webroot_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        fs::create_dir(root.path().join(".well-known")).unwrap();
        std::os::unix::fs::symlink(
            outside.path(),
            root.path().join(".well-known/acme-challenge"),
        )
        .unwrap();
        let err = ProbeFile::create(root.path(), "tok", "X").unwrap_err();
        assert!(matches!(err, WebrootError::Escapes { .. }), "{err}");
        assert!(!err.to_string().contains('\n'));
        assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);

        // `.well-known` itself symlinked elsewhere: refused before anything is created there.
        let root2 = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root2.path().join(".well-known")).unwrap();
        assert!(matches!(
            ProbeFile::create(root2.path(), "tok", "X"),
            Err(WebrootError::Escapes { .. })
        ));
        assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);

        // A symlink that stays inside the webroot is fine (and a symlinked webroot itself too).
        let root3 = tempfile::tempdir().unwrap();
        fs::create_dir_all(root3.path().join("shared/acme")).unwrap();
        fs::create_dir(root3.path().join(".well-known")).unwrap();
        std::os::unix::fs::symlink(
            root3.path().join("shared/acme"),
            root3.path().join(".well-known/acme-challenge"),
        )
        .unwrap();
        let link_root = outside.path().join("site");
        std::os::unix::fs::symlink(root3.path(), &link_root).unwrap();
        let mut p = ProbeFile::create(&link_root, "tok", "X").unwrap();
        assert_eq!(
            fs::read_to_string(root3.path().join("shared/acme/tok")).unwrap(),
            "X"
        );
        p.remove().unwrap();
    }

    #[test]
    fn a_replaced_file_is_left_alone() {
        let root = tempfile::tempdir().unwrap();
        let mut p = ProbeFile::create(root.path(), "tok", "A").unwrap();
        let path = p.path().to_path_buf();
        fs::remove_file(&path).unwrap();
        fs::write(&path, "someone else's").unwrap();
        assert!(p.remove().is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), "someone else's");
    }

    #[test]
    fn bad_webroots() {
        let root = tempfile::tempdir().unwrap();
        assert!(matches!(
            ProbeFile::create(&root.path().join("missing"), "t", "A"),
            Err(WebrootError::NotADirectory(_))
        ));
        fs::write(root.path().join(".well-known"), "file").unwrap();
        assert!(matches!(
            ProbeFile::create(root.path(), "t", "A"),
            Err(WebrootError::NotDir(_))
        ));
    }
}
