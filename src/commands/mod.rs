//! The subcommands other than the main check: each one is a small driver over the lower stages
//! (plan, perspectives, analysis) with its own output (`serve`: over HTTP), kept out of `app` so
//! that dispatch stays thin.

pub mod config;
pub mod explain;
pub mod gate;
pub mod serve;
pub mod wait_txt;

/// `mpic-check man --dir DIR`: every man page as a file in DIR (for packaging), one line per file
/// on `out`. DIR must exist: creating directories is the packaging script's business.
pub fn write_man_pages(dir: &std::path::Path, out: &mut impl std::io::Write) -> anyhow::Result<()> {
    use anyhow::Context as _;
    for (name, page) in crate::cli::doc::man_pages()? {
        let path = dir.join(&name);
        std::fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))?;
        writeln!(out, "{}", path.display())?;
    }
    Ok(())
}
