//! The process's open-file limit, which bounds how many names a bulk run can check at once. Every
//! DNS question and HTTP fetch holds a socket, so a run that starts more names than the limit
//! allows fails with EMFILE ("Too many open files") and, before this module, those failures looked
//! like broken perspectives and ended names `unknown`. As many servers do (nginx's
//! `worker_rlimit_nofile`, systemd's advice for `LimitNOFILE`), the soft limit is raised to the
//! hard one at start; then the run's concurrency is capped to what fits, and the user is told once.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// File descriptors kept free of the names' sockets: stdio, the runtime's epoll and eventfd, the
/// config and saved files, the system resolver's sockets, the webroot's directory handles.
pub const RESERVED_FDS: u64 = 48;

/// The open-file limit after [`raise_open_files`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
    /// The soft limit now in force (`None`: unlimited).
    pub soft: Option<u64>,
    /// The soft limit before the raise, when it was raised.
    pub raised_from: Option<u64>,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit. A refusal (a sandbox) leaves the limit as
/// it was; the cap below then works with what there is.
pub fn raise_open_files() -> OpenFiles {
    let now = getrlimit(Resource::Nofile);
    let (Some(soft), hard) = (now.current, now.maximum) else {
        return OpenFiles {
            soft: None,
            raised_from: None,
        };
    };
    // An unlimited hard limit is not a valid soft value for NOFILE on Linux (it is capped by
    // fs.nr_open): ask for 1 Mi, the kernel's default nr_open, and keep the old value on refusal.
    let target = hard.unwrap_or(1 << 20);
    if target > soft
        && setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(target),
                maximum: hard,
            },
        )
        .is_ok()
    {
        return OpenFiles {
            soft: Some(target),
            raised_from: Some(soft),
        };
    }
    OpenFiles {
        soft: Some(soft),
        raised_from: None,
    }
}

/// How many names fit at once under `limit` when each holds up to `per_name` descriptors.
pub fn fitting(limit: OpenFiles, per_name: usize) -> usize {
    match limit.soft {
        None => usize::MAX,
        Some(soft) => {
            let free = soft.saturating_sub(RESERVED_FDS);
            usize::try_from(free / per_name.max(1) as u64)
                .unwrap_or(usize::MAX)
                .max(1)
        }
    }
}

/// Caps `asked` to what fits and returns the one line that says so, or `None` when it fits.
pub fn cap(asked: usize, limit: OpenFiles, per_name: usize) -> (usize, Option<String>) {
    let fits = fitting(limit, per_name);
    if asked <= fits {
        return (asked, None);
    }
    let soft = limit.soft.unwrap_or(0);
    (
        fits,
        Some(format!(
            "mpic-check: checking {fits} names at once instead of {asked}: the open-file limit is \
             {soft} (ulimit -n) and each name holds up to {per_name} sockets; raise the limit \
             (ulimit -n, or LimitNOFILE= in a systemd unit) to check more at once"
        )),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(soft: u64) -> OpenFiles {
        OpenFiles {
            soft: Some(soft),
            raised_from: None,
        }
    }

    #[test]
    fn concurrency_that_fits_is_kept() {
        assert_eq!(cap(32, at(1024), 20), (32, None));
    }

    #[test]
    fn concurrency_beyond_the_limit_is_capped_with_one_line() {
        let (n, line) = cap(2000, at(256), 20);
        assert_eq!(n, (256 - RESERVED_FDS as usize) / 20);
        let line = line.unwrap();
        assert!(line.contains("instead of 2000"), "{line}");
        assert!(line.contains("ulimit -n"), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn a_tiny_limit_still_checks_one_name() {
        assert_eq!(cap(8, at(10), 20).0, 1);
    }

    #[test]
    fn unlimited_fits_everything() {
        let l = OpenFiles {
            soft: None,
            raised_from: None,
        };
        assert_eq!(cap(100_000, l, 20), (100_000, None));
    }

    #[test]
    fn raising_never_lowers_the_limit() {
        let before = getrlimit(Resource::Nofile).current;
        let after = raise_open_files().soft;
        assert!(after >= before || after.is_none());
    }
}
