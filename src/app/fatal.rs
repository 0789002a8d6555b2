//! What a run that ends without a report prints. The error itself goes to stderr as one line
//! (main's job); a monitoring system, though, shows only stdout, so with `--format nagios` the
//! plugin's `MPIC UNKNOWN - <reason>` line goes there too. The format is read from the raw
//! arguments because the error may be that they did not parse.

use std::ffi::OsString;
use std::io::Write;

use crate::report::nagios;

/// Whether the arguments ask for Nagios output, in any spelling clap accepts: `--format nagios`,
/// `--format=nagios`, `-f nagios`, `-fnagios`, `-f=nagios`. Arguments after `--` are names.
pub fn nagios_requested(args: impl IntoIterator<Item = OsString>) -> bool {
    let args: Vec<String> = args
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut wanted = false;
    let mut it = args.iter().skip(1).peekable();
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        let value = match a.as_str() {
            "--format" | "-f" => it.next().map(String::as_str),
            _ => a
                .strip_prefix("--format=")
                .or_else(|| a.strip_prefix("-f="))
                .or_else(|| a.strip_prefix("-f").filter(|v| !v.is_empty())),
        };
        // The last one wins, as with clap.
        if let Some(v) = value {
            wanted = v == "nagios";
        }
    }
    wanted
}

/// Writes the plugin's UNKNOWN line for `reason` when Nagios output was asked for. A write error
/// is ignored: the reason is on stderr already and the exit status says UNKNOWN.
pub fn unknown_for_nagios(nagios: bool, reason: &str, out: &mut impl Write) {
    if nagios {
        let _ = nagios::render_unknown(reason, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asks(args: &[&str]) -> bool {
        nagios_requested(
            std::iter::once("mpic-check")
                .chain(args.iter().copied())
                .map(OsString::from),
        )
    }

    #[test]
    fn every_spelling_of_the_flag_is_seen() {
        for a in [
            &["--format", "nagios", "x"][..],
            &["--format=nagios"],
            &["-f", "nagios"],
            &["-fnagios"],
            &["-f=nagios"],
            &["--bogus", "-f", "nagios", "--timeout", "zz"],
        ] {
            assert!(asks(a), "{a:?}");
        }
        for a in [
            &["--format", "json"][..],
            &["nagios"],
            &["--", "-f", "nagios"],
            &["-f", "nagios", "-f", "table"],
            &[],
        ] {
            assert!(!asks(a), "{a:?}");
        }
    }
}
