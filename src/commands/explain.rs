//! `mpic-check explain`: reads a CA's or ACME client's error text (arguments or standard input),
//! runs it through the pure classifier in [`crate::explain`], and prints the explanations as text
//! or JSON. With `--run` it then runs each suggested check as a child process of this same binary,
//! one at a time so their reports do not interleave, and exits with the worst of their statuses.
//! Everything read here comes from elsewhere (a pasted log, a pipe), so every line is escaped
//! before it reaches the terminal.

use std::io::Write;

use crate::exit::Exit;
use crate::plan::UsageError;
use crate::report;

/// Explains `text` (or standard input when it is empty or `-`) to `out`, and with `run` runs the
/// suggested checks. Exits 0 when something was recognised, 3 when nothing was.
pub fn run(
    text: &[String],
    run: bool,
    format: crate::cli::ExplainFormat,
    config: Option<&std::path::Path>,
    out: &mut impl Write,
) -> Result<Exit, anyhow::Error> {
    use std::io::Read;
    let input = if text.is_empty() || text == ["-"] {
        let mut s = String::new();
        std::io::stdin()
            .take(crate::explain::MAX_INPUT_BYTES as u64)
            .read_to_string(&mut s)
            .map_err(|e| UsageError(format!("explain: cannot read standard input: {e}")))?;
        s
    } else {
        text.join(" ")
    };
    let found = crate::explain::explain(&input);
    match format {
        crate::cli::ExplainFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &found).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        crate::cli::ExplainFormat::Text => {
            for (i, e) in found.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                let head = if e.recognised {
                    format!(
                        "{} ({} check){}",
                        e.family,
                        e.stage.as_str(),
                        e.identifier
                            .as_deref()
                            .map_or(String::new(), |n| format!(" for {n}"))
                    )
                } else {
                    "not recognised".to_string()
                };
                writeln!(out, "{}", report::clean(&head))?;
                for l in report::wrap(&e.meaning, 100, "  ", "  ") {
                    writeln!(out, "{l}")?;
                }
                if let Some(u) = &e.url {
                    writeln!(out, "  url: {}", report::clean(u))?;
                }
                if let Some(a) = &e.address {
                    writeln!(out, "  address: {}", report::clean(a))?;
                }
                if !e.likely_findings.is_empty() {
                    writeln!(
                        out,
                        "  mpic-check would report: {}",
                        e.likely_findings.join(", ")
                    )?;
                }
                if !e.suggested_args.is_empty() {
                    writeln!(
                        out,
                        "  run: mpic-check {}",
                        report::clean(&e.suggested_args.join(" "))
                    )?;
                }
                for c in &e.checklist {
                    for l in report::wrap(c, 100, "  - ", "    ") {
                        writeln!(out, "{l}")?;
                    }
                }
            }
        }
    }
    out.flush()?;
    if !run {
        return Ok(if found.iter().any(|e| e.recognised) {
            Exit::Ready
        } else {
            Exit::CouldNotAssess
        });
    }
    // --run: the suggested checks, one process each, their worst exit status.
    let exe = std::env::current_exe().map_err(|e| UsageError(format!("explain --run: {e}")))?;
    let mut worst = Exit::Ready;
    let mut seen = Vec::new();
    for e in found.iter().filter(|e| !e.suggested_args.is_empty()) {
        if seen.contains(&e.suggested_args) {
            continue;
        }
        seen.push(e.suggested_args.clone());
        writeln!(
            out,
            "\n$ mpic-check {}",
            report::clean(&e.suggested_args.join(" "))
        )?;
        out.flush()?;
        let mut cmd = std::process::Command::new(&exe);
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        let status = cmd
            .args(&e.suggested_args)
            .stdin(std::process::Stdio::null())
            .status()
            .map_err(|err| UsageError(format!("explain --run: {err}")))?;
        let code = match status.code() {
            Some(0) => Exit::Ready,
            Some(1) => Exit::AtRisk,
            Some(2) => Exit::WouldFail,
            _ => Exit::CouldNotAssess,
        };
        worst = worst.max(code);
    }
    Ok(worst)
}
