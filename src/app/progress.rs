//! The progress line on stderr while a table is being built: a spinner, the count of names done,
//! the rate and the time left, and the name being checked. Only for a person watching: never when
//! stderr is not a terminal, with `--quiet`, or for machine formats.

use std::io::IsTerminal;
use std::time::Duration;

use crate::cli::{Cli, Format};

/// The bar for a run over `len` names (hidden when nobody watches).
pub(super) fn bar(cli: &Cli, len: usize) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() || cli.quiet || cli.format != Format::Table {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(len as u64);
    pb.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{pos}/{len}] {rate} names/s, ETA {eta} · {wide_msg}",
        )
        .map(|s| {
            // indicatif's own {per_sec} prints four decimals ("0.4817/s"); one is plenty here.
            s.with_key(
                "rate",
                |st: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.1}", st.per_sec());
                },
            )
        })
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}
