//! The webroot probe file: the one thing mpic-check writes on a user's server. Every step goes
//! through directory file descriptors, so a path swapped mid-run (a directory exchanged for a
//! symlink with `renameat2(RENAME_EXCHANGE)`) cannot redirect it: the webroot is opened once, then
//! `.well-known` and `acme-challenge` relative to it with `O_NOFOLLOW|O_DIRECTORY` (created with
//! `mkdirat` when missing), the probe with `openat(O_CREAT|O_EXCL|O_NOFOLLOW)`, and it is unlinked
//! relative to the held `acme-challenge` descriptor after `fstatat` shows the name still is the
//! file created (same device and inode). A symlinked `.well-known` or `acme-challenge` is refused,
//! wherever it leads; the webroot itself may be a symlink (it is resolved once, at the start).
//! Modes are set with `fchmod` after creation, so the file is 0644 and created directories 0755
//! whatever the umask: the web server, often another user, must be able to read them.
//! Directories the tool created are removed again (only if empty, and only if the name still is
//! the directory created). `remove` is idempotent and also runs from `Drop`; the caller removes
//! the file on Ctrl-C, SIGTERM, SIGHUP, timeout or error.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;

/// The two directories between the webroot and the probe file, outermost first.
const COMPONENTS: [&str; 2] = [".well-known", "acme-challenge"];

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
    /// `.well-known` or `acme-challenge` is a symlink (refused wherever it leads: following it
    /// would make the check and the write two separate lookups an attacker could race).
    #[error(
        "{dir} is a symlink; mpic-check does not write through symlinks under the webroot (pass the directory the server really serves as --webroot)"
    )]
    Symlink {
        /// The component, as named under the webroot.
        dir: String,
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

fn io(path: &Path) -> impl FnOnce(Errno) -> WebrootError + '_ {
    move |e| WebrootError::Io {
        path: path.display().to_string(),
        source: e.into(),
    }
}

fn std_io(path: &Path) -> impl FnOnce(std::io::Error) -> WebrootError + '_ {
    move |source| WebrootError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Device and inode: what makes "the name still is the thing we created" checkable.
// `as u64`: dev and ino are `c_ulong`, 32 bits on 32-bit targets.
#[allow(clippy::unnecessary_cast)]
fn identity(st: &Stat) -> (u64, u64) {
    (st.st_dev as u64, st.st_ino as u64)
}

/// One directory below the webroot, held open.
#[derive(Debug)]
struct Dir {
    fd: OwnedFd,
    /// Whether this run created it (then cleanup removes it, if empty).
    created: bool,
}

/// The webroot and the directories below it, each opened relative to the one before.
#[derive(Debug)]
struct Chain {
    root: OwnedFd,
    /// `.well-known`, then `acme-challenge`, as far as opened.
    dirs: Vec<Dir>,
}

impl Chain {
    fn parent(&self, i: usize) -> &OwnedFd {
        if i == 0 {
            &self.root
        } else {
            &self.dirs[i - 1].fd
        }
    }

    /// Removes the directories this run created, innermost first. Relative to the held parent,
    /// only if the name still is the directory created, and only if empty (`rmdir` refuses
    /// anything else, and never follows a symlink in the last component).
    fn cleanup(&mut self) {
        for i in (0..self.dirs.len()).rev() {
            if !self.dirs[i].created {
                continue;
            }
            self.dirs[i].created = false;
            let parent = self.parent(i);
            let same = match (
                rustix::fs::fstat(&self.dirs[i].fd),
                rustix::fs::statat(parent, COMPONENTS[i], AtFlags::SYMLINK_NOFOLLOW),
            ) {
                (Ok(a), Ok(b)) => identity(&a) == identity(&b),
                _ => false,
            };
            if same {
                let _ = rustix::fs::unlinkat(parent, COMPONENTS[i], AtFlags::REMOVEDIR);
            }
        }
    }
}

/// Opens (or creates) `name` under `parent` as a real directory, never through a symlink.
fn open_dir(parent: &OwnedFd, name: &str, shown: &Path) -> Result<Dir, WebrootError> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut created = false;
    // A few attempts, because the name may change between two calls: a directory created by
    // someone else between our open and our mkdir is simply used (and not counted as ours), and
    // a name that was not a directory when opened but is one when examined is opened again.
    for _ in 0..4 {
        match rustix::fs::openat(parent, name, flags, Mode::empty()) {
            Ok(fd) => {
                if created {
                    // mkdirat's mode is masked by the umask; the web server must be able to
                    // traverse the directory whatever it was.
                    rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o755)).map_err(io(shown))?;
                }
                return Ok(Dir { fd, created });
            }
            Err(Errno::NOENT) if !created => {
                match rustix::fs::mkdirat(parent, name, Mode::from_raw_mode(0o755)) {
                    Ok(()) => created = true,
                    Err(Errno::EXIST) => {}
                    Err(e) => return Err(io(shown)(e)),
                }
            }
            // Linux answers O_NOFOLLOW|O_DIRECTORY on a symlink with ENOTDIR (ELOOP elsewhere);
            // ask the name itself, without following it, which it is, for the message.
            Err(e @ (Errno::LOOP | Errno::NOTDIR)) => {
                match rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(st) => match FileType::from_raw_mode(st.st_mode) {
                        FileType::Symlink => {
                            return Err(WebrootError::Symlink {
                                dir: shown.display().to_string(),
                            });
                        }
                        // Swapped back meanwhile: look again.
                        FileType::Directory => {}
                        _ => return Err(WebrootError::NotDir(shown.display().to_string())),
                    },
                    Err(Errno::NOENT) => {}
                    Err(_) => return Err(io(shown)(e)),
                }
            }
            Err(e) => return Err(io(shown)(e)),
        }
    }
    Err(WebrootError::Io {
        path: shown.display().to_string(),
        source: std::io::Error::other("keeps changing while being opened; left alone"),
    })
}

/// A probe file the tool created, removed on `remove` or drop.
#[derive(Debug)]
pub struct ProbeFile {
    /// For messages only; every operation goes through `chain`.
    path: PathBuf,
    token: String,
    chain: Chain,
    file: Option<File>,
    identity: (u64, u64),
    removed: bool,
}

impl ProbeFile {
    /// Creates `<webroot>/.well-known/acme-challenge/<token>` holding `content`, mode 0644.
    pub fn create(webroot: &Path, token: &str, content: &str) -> Result<ProbeFile, WebrootError> {
        if !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            || token.is_empty()
        {
            return Err(WebrootError::Exists(format!("invalid token {token:?}")));
        }
        // The webroot itself may be a symlink (a common deployment layout); it is resolved here,
        // once, and everything after is relative to this descriptor.
        let root = rustix::fs::open(
            webroot,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| match e {
            Errno::NOENT | Errno::NOTDIR => {
                WebrootError::NotADirectory(webroot.display().to_string())
            }
            e => io(webroot)(e),
        })?;
        let mut chain = Chain {
            root,
            dirs: Vec::new(),
        };
        let mut shown = webroot.to_path_buf();
        for (i, name) in COMPONENTS.iter().enumerate() {
            shown.push(name);
            match open_dir(chain.parent(i), name, &shown) {
                Ok(d) => chain.dirs.push(d),
                Err(e) => {
                    chain.cleanup();
                    return Err(e);
                }
            }
        }
        let path = shown.join(token);
        // O_EXCL fails on any existing entry, a symlink included (O_NOFOLLOW makes that
        // explicit), so nothing that was already there is ever opened, let alone overwritten.
        let fd = rustix::fs::openat(
            &chain.dirs[1].fd,
            token,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        );
        let fd = match fd {
            Ok(fd) => fd,
            Err(e) => {
                chain.cleanup();
                return Err(if e == Errno::EXIST {
                    WebrootError::Exists(path.display().to_string())
                } else {
                    io(&path)(e)
                });
            }
        };
        // From here on `probe` owns the file: any error below removes it (remove or Drop).
        let mut probe = ProbeFile {
            path,
            token: token.to_string(),
            chain,
            file: None,
            identity: (0, 0),
            removed: false,
        };
        let st = rustix::fs::fstat(&fd).map_err(io(&probe.path))?;
        probe.identity = identity(&st);
        // The umask may have taken the world-read bit; the web server needs it.
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o644)).map_err(io(&probe.path))?;
        let mut file = File::from(fd);
        if let Err(e) = file
            .write_all(content.as_bytes())
            .and_then(|()| file.sync_all())
        {
            probe.file = Some(file);
            let _ = probe.remove();
            return Err(std_io(&probe.path)(e));
        }
        probe.file = Some(file);
        Ok(probe)
    }

    /// The file's path (as named under the webroot given; for messages).
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
        f.set_len(0).map_err(std_io(&path))?;
        f.seek(SeekFrom::Start(0)).map_err(std_io(&path))?;
        f.write_all(content.as_bytes()).map_err(std_io(&path))?;
        f.sync_all().map_err(std_io(&path))
    }

    /// Removes the file (only if the name, in the directory held open, still is the file
    /// created) and the directories the tool created, if empty. Safe to call more than once.
    pub fn remove(&mut self) -> Result<(), WebrootError> {
        if self.removed {
            return Ok(());
        }
        self.removed = true;
        self.file = None;
        let dir = &self.chain.dirs[1].fd;
        let result = match rustix::fs::statat(dir, self.token.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st)
                if identity(&st) == self.identity
                    && FileType::from_raw_mode(st.st_mode) == FileType::RegularFile =>
            {
                rustix::fs::unlinkat(dir, self.token.as_str(), AtFlags::empty())
                    .map_err(io(&self.path))
            }
            Ok(_) => Err(WebrootError::Exists(format!(
                "{} was replaced by something else; left alone",
                self.path.display()
            ))),
            Err(Errno::NOENT) => Ok(()),
            Err(e) => Err(io(&self.path)(e)),
        };
        self.chain.cleanup();
        result
    }
}

impl Drop for ProbeFile {
    fn drop(&mut self) {
        let _ = self.remove();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::MetadataExt;

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
    fn a_symlinked_challenge_dir_is_refused_naming_the_component() {
        let outside = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        fs::create_dir(root.path().join(".well-known")).unwrap();
        std::os::unix::fs::symlink(
            outside.path(),
            root.path().join(".well-known/acme-challenge"),
        )
        .unwrap();
        let err = ProbeFile::create(root.path(), "tok", "X").unwrap_err();
        assert!(matches!(err, WebrootError::Symlink { .. }), "{err}");
        let msg = err.to_string();
        assert!(!msg.contains('\n'));
        assert!(
            msg.contains(".well-known/acme-challenge is a symlink"),
            "{msg}"
        );
        assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);

        // `.well-known` itself symlinked elsewhere: refused before anything is created there,
        // and the message names `.well-known`, not the directory below it.
        let root2 = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root2.path().join(".well-known")).unwrap();
        let err = ProbeFile::create(root2.path(), "tok", "X").unwrap_err();
        assert!(matches!(err, WebrootError::Symlink { .. }), "{err}");
        assert!(
            err.to_string().contains(&format!(
                "{}/.well-known is a symlink",
                root2.path().display()
            )),
            "{err}"
        );
        assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);

        // A symlink that stays inside the webroot is refused too: with O_NOFOLLOW there is no
        // separate "where does it lead" check an attacker could race.
        let root3 = tempfile::tempdir().unwrap();
        fs::create_dir_all(root3.path().join("shared/acme")).unwrap();
        fs::create_dir(root3.path().join(".well-known")).unwrap();
        std::os::unix::fs::symlink(
            "../shared/acme",
            root3.path().join(".well-known/acme-challenge"),
        )
        .unwrap();
        assert!(matches!(
            ProbeFile::create(root3.path(), "tok", "X"),
            Err(WebrootError::Symlink { .. })
        ));
        assert_eq!(
            fs::read_dir(root3.path().join("shared/acme"))
                .unwrap()
                .count(),
            0
        );

        // The webroot itself may be a symlink: it is resolved once, when opened.
        let root4 = tempfile::tempdir().unwrap();
        let link_root = outside.path().join("site");
        std::os::unix::fs::symlink(root4.path(), &link_root).unwrap();
        let mut p = ProbeFile::create(&link_root, "tok", "X").unwrap();
        assert_eq!(
            fs::read_to_string(root4.path().join(".well-known/acme-challenge/tok")).unwrap(),
            "X"
        );
        p.remove().unwrap();
        assert_eq!(fs::read_dir(root4.path()).unwrap().count(), 0);
    }

    #[test]
    fn modes_are_0644_and_0755_and_created_dirs_go_when_empty() {
        let root = tempfile::tempdir().unwrap();
        let mut p = ProbeFile::create(root.path(), "tok", "A").unwrap();
        let mode = |rel: &str| fs::metadata(root.path().join(rel)).unwrap().mode() & 0o7777;
        assert_eq!(mode(".well-known/acme-challenge/tok"), 0o644);
        assert_eq!(mode(".well-known/acme-challenge"), 0o755);
        assert_eq!(mode(".well-known"), 0o755);
        // Someone else puts a file next to the probe: the directory is theirs too now, kept.
        fs::write(root.path().join(".well-known/acme-challenge/theirs"), "x").unwrap();
        p.remove().unwrap();
        assert!(
            root.path()
                .join(".well-known/acme-challenge/theirs")
                .exists()
        );
        assert!(!root.path().join(".well-known/acme-challenge/tok").exists());
    }

    #[test]
    fn a_created_dir_replaced_meanwhile_is_left_alone() {
        let root = tempfile::tempdir().unwrap();
        let mut p = ProbeFile::create(root.path(), "tok", "A").unwrap();
        // The created `acme-challenge` is moved away and another (empty) directory takes its
        // name: the probe is still removed through the held descriptor, the newcomer is kept.
        let wk = root.path().join(".well-known");
        fs::rename(wk.join("acme-challenge"), root.path().join("moved")).unwrap();
        fs::create_dir(wk.join("acme-challenge")).unwrap();
        p.remove().unwrap();
        assert!(wk.join("acme-challenge").is_dir(), "not ours: kept");
        assert_eq!(fs::read_dir(root.path().join("moved")).unwrap().count(), 0);
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
