//! The webroot probe against a hostile webroot: while the probe runs again and again, another
//! thread swaps `.well-known/acme-challenge` with a symlink to a directory outside the webroot
//! (`renameat2(RENAME_EXCHANGE)`, atomic, so the name is always one or the other). The probe
//! must never create, change or remove anything outside the webroot, whatever the interleaving.
//! It calls the library directly: thousands of runs in a second or two, far more chances to land
//! in a window than spawning the binary would give.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mpic_check::probe::webroot::ProbeFile;
use rustix::fs::{CWD, RenameFlags, renameat_with};

/// A directory's entries (name, content, mode) and its own mtime and ctime (s, ns each).
type Snapshot = (Vec<(String, Vec<u8>, u32)>, [i64; 4]);

/// Everything under `dir` (names, contents, modes) plus the directory's own mtime and ctime,
/// which change on any entry created or removed in it, even one removed again since.
fn snapshot(dir: &Path) -> Snapshot {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            let content = if m.is_file() {
                std::fs::read(e.path()).unwrap()
            } else {
                Vec::new()
            };
            (
                e.file_name().to_string_lossy().into_owned(),
                content,
                m.mode(),
            )
        })
        .collect();
    v.sort();
    let m = std::fs::metadata(dir).unwrap();
    (v, [m.mtime(), m.mtime_nsec(), m.ctime(), m.ctime_nsec()])
}

#[test]
fn swapping_the_challenge_dir_for_a_symlink_never_touches_anything_outside() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("keep"), "not the webroot's").unwrap();
    let root = tempfile::tempdir().unwrap();
    let well_known = root.path().join(".well-known");
    let challenge = well_known.join("acme-challenge");
    let swap = well_known.join("swap");
    std::fs::create_dir_all(&challenge).unwrap();
    std::os::unix::fs::symlink(outside.path(), &swap).unwrap();
    let before = snapshot(outside.path());

    // The swapper: flips the two names as fast as it can until told to stop (bounded anyway).
    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicU64::new(0));
    let swapper = {
        let (stop, swaps) = (stop.clone(), swaps.clone());
        let (a, b) = (challenge, swap);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) && swaps.load(Ordering::Relaxed) < 50_000_000 {
                // Fails only once the test is over (the temporary directory is gone).
                if renameat_with(CWD, &a, CWD, &b, RenameFlags::EXCHANGE).is_err() {
                    break;
                }
                swaps.fetch_add(1, Ordering::Relaxed);
            }
        })
    };

    let (mut runs, mut created, mut refused, mut overlapped) = (0u32, 0u32, 0u32, 0u32);
    let (mut escapes, mut first_escape, mut last) = (0u32, None, before.clone());
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline && runs < 20_000 {
        runs += 1;
        let token = format!("race{runs}");
        let at_start = swaps.load(Ordering::Relaxed);
        match ProbeFile::create(root.path(), &token, "probe content") {
            Ok(mut p) => {
                created += 1;
                let _ = p.remove();
            }
            Err(e) => {
                refused += 1;
                // The only ways to fail here: meeting the symlink, or (rarely) a name that keeps
                // flipping between attempts; either way said on one line.
                let msg = e.to_string();
                assert!(
                    (msg.contains("acme-challenge is a symlink")
                        || msg.contains("keeps changing while being opened"))
                        && !msg.contains('\n'),
                    "{msg}"
                );
            }
        }
        // A run during which the name flipped at least once: it raced the swapper.
        if swaps.load(Ordering::Relaxed) != at_start {
            overlapped += 1;
        }
        // Checked after every run, so a file created and removed again still shows (mtime).
        let now = snapshot(outside.path());
        if now != last {
            escapes += 1;
            first_escape.get_or_insert(runs);
            last = now;
        }
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    let total_swaps = swaps.load(Ordering::Relaxed);
    eprintln!(
        "race: {runs} runs, {created} created, {refused} refused, \
         {overlapped} overlapped a swap, {total_swaps} swaps, {escapes} changed the outside dir"
    );
    assert_eq!(
        (escapes, first_escape),
        (0, None),
        "{escapes} of {runs} runs changed the directory outside the webroot (first: run {first_escape:?})"
    );
    assert_eq!(snapshot(outside.path()), before);
    // The test only proves something if the two actually interleaved (on an idle 2-core
    // machine a few hundred runs do; the bound is low so a loaded one does not flake).
    assert!(
        overlapped >= 10,
        "only {overlapped} of {runs} runs raced a swap"
    );
    assert!(
        created > 0 && refused > 0,
        "{created} created, {refused} refused"
    );
}
