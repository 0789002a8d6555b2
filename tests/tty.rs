//! The real binary under a pseudo-terminal (util-linux `script(1)`), against the e2e lab: colour
//! appears on a terminal and never with `NO_COLOR` or `--color never`; the progress line appears on
//! stderr only when stderr is a terminal, and not with `-q`, a machine format, or without a
//! terminal. Where `script` is missing the tests print a SKIP line and pass.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::e2e::{Lab, lab, plain_zone};
use crate::support::http::{Block, Site};
use crate::support::lo;

/// What indicatif draws while the single identifier is being checked: `{spinner} [{pos}/{len}]
/// {rate} names/s, ETA {eta} · {wide_msg}` with the name as the message.
const PROGRESS: &str = "[0/1] 0.0 names/s, ETA 0s · www.example.test";

/// True when util-linux `script` is available; prints the SKIP line otherwise.
fn have_script() -> bool {
    let ok = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| {
            o.status.success() && String::from_utf8_lossy(&o.stdout).contains("util-linux")
        });
    if !ok {
        println!("SKIP tty tests: script(1) not found");
    }
    ok
}

/// Quotes one word for `sh -c`.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Runs `cmd` with stdout and stderr on a fresh 120×40 pseudo-terminal (stdin stays /dev/null).
/// `redirect` is appended to the shell line, e.g. `2>file` to take stderr off the terminal.
/// Returns the process output: `stdout` holds everything the terminal received, with the line
/// discipline's `\r\n`.
fn in_pty(cmd: &Command, redirect: &str) -> Output {
    in_pty_sized(cmd, redirect, (120, 40))
}

/// [`in_pty`] with the terminal's window size set to (columns, rows) first; (0, 0) is what a
/// pty gets when nobody sets it (`script` run from a non-terminal, `docker exec -t`, some CI).
fn in_pty_sized(cmd: &Command, redirect: &str, (cols, rows): (u16, u16)) -> Output {
    let mut line: Vec<String> = vec!["exec env TERM=xterm-256color".into()];
    line.push(sh_quote(&cmd.get_program().to_string_lossy()));
    line.extend(cmd.get_args().map(|a| sh_quote(&a.to_string_lossy())));
    let shell = format!(
        "stty cols {cols} rows {rows} 2>/dev/null; {} {redirect}",
        line.join(" ")
    );
    let mut s = Command::new("script");
    s.args(["-qfec", &shell, "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => s.env(k, v),
            None => s.env_remove(k),
        };
    }
    let out = assert_cmd::Command::from_std(s)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(
        out.stderr.is_empty(),
        "script(1) itself complained: {}",
        show(&out.stderr)
    );
    out
}

/// Terminal output made readable in assertion messages (escape bytes shown as `\u{1b}`).
fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).escape_debug().to_string()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).replace("\r\n", "\n")
}

/// The lab of the geoblocking e2e tests: eu-west's port-80 traffic is silently dropped, so the
/// run lasts about the 2 s timeout and ends AT RISK (exit 1).
fn slow_lab() -> Lab {
    lab(plain_zone(), |_| {
        Site::new().block_source(lo(0, 0, 4), Block::Drop)
    })
}

/// The lab command with colour decisions left to the binary (the lab sets `NO_COLOR=1`).
fn cmd(lab: &Lab, args: &[&str]) -> Command {
    let mut c = lab.std_cmd();
    c.env_remove("NO_COLOR").args(args).arg("www.example.test");
    c
}

/// The slow lab's command without colour, so the report's text can be matched as is (the
/// progress line is not colour and is drawn all the same).
fn plain_cmd(lab: &Lab, args: &[&str]) -> Command {
    let mut c = cmd(lab, &[&["--timeout", "2s"], args].concat());
    c.env("NO_COLOR", "1");
    c
}

// ---- Colour ---------------------------------------------------------------------------------

#[test]
fn a_terminal_gets_colour() {
    if !have_script() {
        return;
    }
    let lab = lab(plain_zone(), |_| Site::new());
    // -q: nothing on stderr, so every byte on the terminal is the table.
    let out = in_pty(&cmd(&lab, &["-q"]), "");
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out.stdout));
    assert!(s.contains("\x1b[32mREADY\x1b[0m"), "{}", show(&out.stdout));
    assert!(s.contains("Result: \x1b[32mREADY"), "{}", show(&out.stdout));
}

#[test]
fn an_empty_no_color_does_not_disable_colour() {
    if !have_script() {
        return;
    }
    let lab = lab(plain_zone(), |_| Site::new());
    let mut c = cmd(&lab, &["-q"]);
    c.env("NO_COLOR", "");
    let out = in_pty(&c, "");
    assert!(
        text(&out.stdout).contains("\x1b[32mREADY"),
        "{}",
        show(&out.stdout)
    );
}

#[test]
fn no_color_and_color_never_write_no_escape_byte_on_a_terminal() {
    if !have_script() {
        return;
    }
    let lab = lab(plain_zone(), |_| Site::new());
    let mut no_color = cmd(&lab, &["-q"]);
    no_color.env("NO_COLOR", "1");
    let never = cmd(&lab, &["-q", "--color", "never"]);
    for c in [no_color, never] {
        let out = in_pty(&c, "");
        let s = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{}", show(&out.stdout));
        assert!(
            s.contains("Result: READY (exit 0)"),
            "{}",
            show(&out.stdout)
        );
        assert!(
            !out.stdout.contains(&0x1b),
            "{:?}: {}",
            c.get_args(),
            show(&out.stdout)
        );
    }
}

#[test]
fn colour_follows_stdout_not_stderr() {
    if !have_script() {
        return;
    }
    let lab = lab(plain_zone(), |_| Site::new());
    let file = lab.dir.path().join("stdout.txt");
    // stderr on the terminal, stdout to a file: no colour in the file.
    let out = in_pty(
        &cmd(&lab, &["-q"]),
        &format!(">{}", sh_quote(&file.to_string_lossy())),
    );
    let table = std::fs::read(&file).unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&table));
    assert!(text(&table).contains("Result: READY"), "{}", show(&table));
    assert!(!table.contains(&0x1b), "{}", show(&table));
    // Without any terminal, `--color always` still colours.
    let piped = cmd(&lab, &["-q", "--color", "always"]).output().unwrap();
    assert!(
        text(&piped.stdout).contains("\x1b[32mREADY"),
        "{}",
        show(&piped.stdout)
    );
}

#[test]
fn a_terminal_without_a_window_size_gets_a_readable_table() {
    if !have_script() {
        return;
    }
    let lab = lab(plain_zone(), |_| Site::new());
    let mut c = cmd(&lab, &["-q"]);
    c.env("NO_COLOR", "1");
    let out = in_pty_sized(&c, "", (0, 0));
    let s = text(&out.stdout);
    assert!(
        s.contains("Result: READY (exit 0)"),
        "{}",
        show(&out.stdout)
    );
    assert!(
        s.lines()
            .any(|l| l.contains("perspective") && l.contains("http-01")),
        "{s}"
    );
}

// ---- Progress -------------------------------------------------------------------------------

#[test]
fn progress_appears_on_a_terminal_while_probes_run() {
    if !have_script() {
        return;
    }
    let lab = slow_lab();
    let t = Instant::now();
    let out = in_pty(&plain_cmd(&lab, &[]), "");
    let s = text(&out.stdout);
    assert!(
        t.elapsed() >= Duration::from_secs(2),
        "the lab did not slow the run down"
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out.stdout));
    assert!(
        s.contains(PROGRESS),
        "no progress line: {}",
        show(&out.stdout)
    );
    // Several frames were drawn during the ~2 s wait (steady tick), all before the report.
    assert!(s.matches(PROGRESS).count() >= 3, "{}", show(&out.stdout));
    let title = s.find(" · policy br on ").unwrap();
    assert!(s.rfind("[0/1]").unwrap() < title, "{}", show(&out.stdout));
    assert!(
        s.contains("\nwww.example.test — AT RISK\n"),
        "{}",
        show(&out.stdout)
    );
    assert!(s.contains("AT RISK (exit 1)"), "{}", show(&out.stdout));
}

#[test]
fn progress_goes_to_stderr_only() {
    if !have_script() {
        return;
    }
    let lab = slow_lab();
    let file = lab.dir.path().join("stdout.txt");
    let quoted = sh_quote(&file.to_string_lossy());
    // stdout to a file, stderr on the terminal: the bar is on the terminal, not in the report.
    let out = in_pty(&plain_cmd(&lab, &[]), &format!(">{quoted}"));
    let report = std::fs::read(&file).unwrap();
    assert!(
        text(&out.stdout).contains(PROGRESS),
        "{}",
        show(&out.stdout)
    );
    assert!(
        !text(&out.stdout).contains("AT RISK"),
        "{}",
        show(&out.stdout)
    );
    assert!(
        text(&report).contains("AT RISK (exit 1)"),
        "{}",
        show(&report)
    );
    assert!(!text(&report).contains("[0/1]"), "{}", show(&report));
    // stderr to a file, stdout on the terminal: stderr is no terminal, so no bar at all.
    let err = lab.dir.path().join("stderr.txt");
    let out = in_pty(
        &plain_cmd(&lab, &[]),
        &format!("2>{}", sh_quote(&err.to_string_lossy())),
    );
    let err = std::fs::read(&err).unwrap();
    assert!(err.is_empty(), "{}", show(&err));
    assert!(
        !text(&out.stdout).contains("[0/1]"),
        "{}",
        show(&out.stdout)
    );
    assert!(
        text(&out.stdout).contains("AT RISK (exit 1)"),
        "{}",
        show(&out.stdout)
    );
}

#[test]
fn quiet_hides_progress_on_a_terminal() {
    if !have_script() {
        return;
    }
    let lab = slow_lab();
    let out = in_pty(&plain_cmd(&lab, &["-q"]), "");
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out.stdout));
    assert!(s.contains("AT RISK (exit 1)"), "{}", show(&out.stdout));
    assert!(
        !s.contains("[0/1]") && !s.contains("[1/1]"),
        "{}",
        show(&out.stdout)
    );
}

#[test]
fn machine_formats_have_no_progress_on_a_terminal() {
    if !have_script() {
        return;
    }
    let lab = slow_lab();
    let out = in_pty(&plain_cmd(&lab, &["--format", "json"]), "");
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out.stdout));
    assert!(
        !s.contains("[0/1]") && !out.stdout.contains(&0x1b),
        "{}",
        show(&out.stdout)
    );
    // Everything on the terminal is the document.
    let doc: serde_json::Value = serde_json::from_str(&s)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", show(&out.stdout)));
    assert_eq!(doc["outcome"], "at-risk");
    let out = in_pty(&plain_cmd(&lab, &["--format", "nagios"]), "");
    let s = text(&out.stdout);
    assert!(s.starts_with("MPIC WARNING - "), "{}", show(&out.stdout));
    assert!(
        !s.contains("[0/1]") && !out.stdout.contains(&0x1b),
        "{}",
        show(&out.stdout)
    );
}

#[test]
fn no_progress_without_a_terminal() {
    let lab = slow_lab();
    // No NO_COLOR either: without a terminal there is no colour as well.
    let out = cmd(&lab, &["--timeout", "2s"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out.stdout));
    assert!(out.stderr.is_empty(), "stderr: {}", show(&out.stderr));
    assert!(!out.stdout.contains(&0x1b), "{}", show(&out.stdout));
    assert!(
        text(&out.stdout).contains("AT RISK (exit 1)"),
        "{}",
        show(&out.stdout)
    );
}
