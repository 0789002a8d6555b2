//! `mpic-check explain`: reads a CA's or ACME client's error text (arguments or standard input),
//! runs it through the pure classifier in [`crate::explain`], and prints the explanations as text
//! or JSON. With `--run` it then runs each suggested check as a child process of this same binary,
//! one at a time so their reports do not interleave, and exits with the worst of their statuses.
//! Everything read here comes from elsewhere (a pasted log, a pipe), so every line is escaped
//! before it reaches the terminal.

use std::io::{self, Read, Write};

use crate::exit::Exit;
use crate::plan::UsageError;
use crate::report;

/// Explains `text` (or standard input when it is empty or `-`) to `out`, and with `run` runs the
/// suggested checks. Exits 0 when something was recognised, 3 when nothing was. Notes about the
/// input (it was cut) go to `err`.
pub fn run(
    text: &[String],
    run: bool,
    format: crate::cli::ExplainFormat,
    config: Option<&std::path::Path>,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<Exit, anyhow::Error> {
    let input = if text.is_empty() || text == ["-"] {
        let (text, cut) = read_tail(io::stdin(), crate::explain::MAX_INPUT_BYTES)
            .map_err(|e| UsageError(format!("explain: cannot read standard input: {e}")))?;
        if cut {
            writeln!(
                err,
                "mpic-check: explain: the input is over 1 MiB; only its last 1 MiB was read"
            )?;
        }
        text
    } else {
        text.join(" ")
    };
    let found = crate::explain::explain(&input);
    match format {
        crate::cli::ExplainFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &found).map_err(io::Error::from)?;
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
                if let Some(s) = e.status {
                    writeln!(out, "  status: HTTP {s}")?;
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

/// Reads all of `r` and keeps its last `cap` bytes as text, saying whether anything was dropped.
/// The end is what matters: ACME clients log the failure last, after pages of progress. Memory
/// stays under twice the cap however much is piped in. Bytes that are not UTF-8 become U+FFFD
/// (a log may carry anything), and a cut that falls inside a character skips its remaining bytes.
fn read_tail(mut r: impl Read, cap: usize) -> io::Result<(String, bool)> {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    let mut cut = false;
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        buf.extend_from_slice(&chunk[..n]);
        // Dropping the head only now and then keeps the copying linear.
        if buf.len() > 2 * cap {
            buf.drain(..buf.len() - cap);
            cut = true;
        }
    }
    if buf.len() > cap {
        buf.drain(..buf.len() - cap);
        cut = true;
    }
    if cut {
        let partial = buf.iter().take(3).take_while(|b| *b & 0xC0 == 0x80).count();
        buf.drain(..partial);
    }
    let mut text = String::from_utf8_lossy(&buf).into_owned();
    // A replacement character is longer than the byte it replaces: keep the end within the cap.
    if text.len() > cap {
        let mut start = text.len() - cap;
        while !text.is_char_boundary(start) {
            start += 1;
        }
        text.drain(..start);
        cut = true;
    }
    Ok((text, cut))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_of_a_long_input_is_kept() {
        let mut input = vec![b'x'; 5000];
        input.extend_from_slice(b"\nthe end");
        let (text, cut) = read_tail(&input[..], 100).unwrap();
        assert!(cut);
        assert_eq!(text.len(), 100);
        assert!(text.ends_with("x\nthe end"), "{text}");
        let (text, cut) = read_tail(&b"short"[..], 100).unwrap();
        assert_eq!((text.as_str(), cut), ("short", false));
    }

    #[test]
    fn invalid_utf8_is_replaced_and_a_cut_character_dropped() {
        let (text, cut) = read_tail(&b"ok \xff\xfe done"[..], 100).unwrap();
        assert_eq!((text.as_str(), cut), ("ok \u{fffd}\u{fffd} done", false));
        // "é" is two bytes; a cap that keeps only its second byte drops it.
        let (text, cut) = read_tail("aé b".as_bytes(), 3).unwrap();
        assert_eq!((text.as_str(), cut), (" b", true));
        // Replacement characters never take the text over the cap.
        let (text, cut) = read_tail(&[0xff; 10][..], 10).unwrap();
        assert!(text.len() <= 10 && cut, "{text:?}");
    }
}
