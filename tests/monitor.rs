//! Monitoring and bulk runs end to end (issue 21), with the real binary against the in-process
//! lab: Nagios's plugin conventions (the state word is the exit code after `--fail-on`, an error
//! still prints `MPIC UNKNOWN - …` on stdout, `--deadline` reports what finished without blaming
//! the domain), a 20-name table that ends with a readable summary, and Ctrl-C on a bulk run
//! (what finished, the rest listed, exit 130; JSON Lines still ends with its summary line).

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::e2e::{Lab, ORIGIN_DEFAULT, codes, lab, plain_zone};
use crate::support::http::{Block, Site};
use crate::support::{lo, write_config};

/// eu-west's port-80 traffic is dropped: each name costs the 2 s step timeout and is at risk.
fn slow_lab() -> Lab {
    lab(plain_zone(), |_| {
        Site::new().block_source(lo(0, 0, 4), Block::Drop)
    })
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

// ---- Nagios ---------------------------------------------------------------------------------

#[test]
fn nagios_state_word_is_the_exit_code_after_fail_on() {
    let lab = slow_lab();
    for (fail_on, code, word) in [("warning", 1, "WARNING"), ("error", 0, "OK")] {
        let out = lab
            .cmd()
            .args([
                "--format",
                "nagios",
                "--fail-on",
                fail_on,
                "www.example.test",
            ])
            .output()
            .unwrap();
        let s = stdout(&out);
        assert_eq!(out.status.code(), Some(code), "{s}");
        assert!(
            s.starts_with(&format!("MPIC {word} - www.example.test: at-risk")),
            "{s}"
        );
        // The long output leads with the region that failed, then the side that worked.
        let long: Vec<&str> = s.lines().skip(1).collect();
        let geo = long
            .iter()
            .position(|l| l.starts_with("http-geoblocked [www.example.test]: eu-west: "))
            .unwrap_or_else(|| panic!("{s}"));
        assert!(long[geo + 1].starts_with("  "), "{s}");
    }
}

#[test]
fn nagios_prints_unknown_on_stdout_for_every_error() {
    let lab = slow_lab();
    let (_dir, bad) = write_config("bad.toml", "[defaults]\ntimeout = 5\n");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "--config".into(),
                bad.display().to_string(),
                "a.test".into(),
            ],
            "bad.toml",
        ),
        (
            vec!["--no-such-flag".into(), "a.test".into()],
            "--no-such-flag",
        ),
        (
            vec!["--timeout".into(), "soon".into(), "a.test".into()],
            "soon",
        ),
        (vec!["http://a.test/".into()], "a.test"),
    ];
    for (args, reason) in cases {
        let out = assert_cmd::Command::from_std(lab.std_cmd_without_config())
            .timeout(Duration::from_secs(30))
            .args(["-f", "nagios"])
            .args(&args)
            .output()
            .unwrap();
        let s = stdout(&out);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {s}");
        assert_eq!(s.lines().count(), 1, "{args:?}: {s}");
        assert!(s.starts_with("MPIC UNKNOWN - "), "{args:?}: {s}");
        assert!(s.contains(reason), "{args:?}: {s}");
        assert!(!s.contains('|'), "{args:?}: {s}");
        // stderr keeps its one error line for people.
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
    // Other formats keep stdout empty on an error.
    let out = lab
        .cmd()
        .args(["--no-such-flag", "a.test"])
        .output()
        .unwrap();
    assert!(out.stdout.is_empty());
}

#[test]
fn a_deadline_reports_what_finished_and_never_blames_the_domain() {
    let lab = slow_lab();
    let t = Instant::now();
    let out = lab
        .cmd()
        .args(["--format", "json", "--deadline", "1s", "www.example.test"])
        .output()
        .unwrap();
    let took = t.elapsed();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(took < Duration::from_millis(1900), "took {took:?}");
    let found = codes(&doc);
    assert!(
        found.contains(&"deadline-exceeded".to_string()),
        "{found:?}"
    );
    // eu-west was cut off, not found geoblocked: the domain is not blamed for the deadline.
    assert!(!found.contains(&"http-geoblocked".to_string()), "{found:?}");
    assert!(
        !found.contains(&"perspective-error".to_string()),
        "{found:?}"
    );
    let f = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "deadline-exceeded")
        .unwrap();
    assert_eq!(f["perspectives"], serde_json::json!(["eu-west"]), "{f}");
    assert_eq!(f["severity"], "warning");
    // The rest finished and corroborate.
    let obs = doc["identifiers"][0]["observations"].as_array().unwrap();
    assert!(
        obs.iter()
            .any(|o| o["perspective"] == "ap-south" && o["check"] == "http-01" && o["ok"] == true),
        "{obs:?}"
    );
    assert_ne!(doc["outcome"], "at-risk", "{}", doc["outcome"]);

    // Nagios: the same run, its word matching its exit code, the finding in the long output.
    let out = lab
        .cmd()
        .args(["--format", "nagios", "--deadline", "1s", "www.example.test"])
        .output()
        .unwrap();
    let s = stdout(&out);
    let word = ["OK", "WARNING", "CRITICAL", "UNKNOWN"][out.status.code().unwrap() as usize];
    assert!(s.starts_with(&format!("MPIC {word} - ")), "{s}");
    assert!(
        s.contains("\ndeadline-exceeded [www.example.test]: eu-west: "),
        "{s}"
    );
}

// ---- Bulk runs ------------------------------------------------------------------------------

/// 20 names: 17 healthy, two under a subtree whose CAA forbids the CA, one that does not exist.
fn bulk_lab() -> (Lab, Vec<String>) {
    let mut zone = plain_zone().caa("bad.example.test", 0, "issue", "pki.goog");
    let mut names = Vec::new();
    for i in 1..=17 {
        let n = format!("n{i:02}.example.test");
        zone = zone.a(&n, ORIGIN_DEFAULT);
        names.push(n);
    }
    for n in ["x1.bad.example.test", "x2.bad.example.test"] {
        zone = zone.a(n, ORIGIN_DEFAULT);
        names.push(n.to_string());
    }
    names.push("missing.example.test".into());
    (lab(zone, |_| Site::new()), names)
}

#[test]
fn twenty_names_end_with_a_summary_of_what_needs_attention() {
    let (lab, names) = bulk_lab();
    let out = lab.cmd().args(&names).output().unwrap();
    let s = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{s}");
    let summary = &s[s
        .find("\nSummary: 20 names: ")
        .unwrap_or_else(|| panic!("{s}"))..];
    assert!(
        summary.contains("Summary: 20 names: 3 would fail, 17 ready"),
        "{summary}"
    );
    for n in ["x1.bad.example.test", "x2.bad.example.test"] {
        assert!(
            summary.contains(&format!("    {n} — caa-forbids: ")),
            "{n}: {summary}"
        );
    }
    assert!(summary.contains("    missing.example.test — "), "{summary}");
    assert!(!summary.contains("n01.example.test"), "{summary}");
    // The phase note (the lab runs as of 2026-11-28) is printed once, not once per check.
    assert_eq!(s.matches("from 2026-12-15").count(), 1, "{s}");
    assert!(s.contains("\nResult: WOULD FAIL (exit 2) in "), "{s}");
}

/// Starts `args` over the names of a slow lab, sends SIGINT once `wait` has passed, and returns
/// the output.
fn interrupted(lab: &Lab, args: &[&str], names: &[String], wait: Duration) -> std::process::Output {
    let child = lab
        .std_cmd()
        .args(args)
        .args(names)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(wait);
    let ok = std::process::Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(ok.success());
    child.wait_with_output().unwrap()
}

/// 20 names in the slow lab, two at a time: each pair costs the 2 s timeout, so SIGINT after
/// about 3 s finds some names done and most not started.
fn slow_names() -> (Lab, Vec<String>) {
    let mut zone = plain_zone();
    let mut names = Vec::new();
    for i in 1..=20 {
        let n = format!("s{i:02}.example.test");
        zone = zone.a(&n, ORIGIN_DEFAULT);
        names.push(n);
    }
    let lab = lab(zone, |_| Site::new().block_source(lo(0, 0, 4), Block::Drop));
    (lab, names)
}

#[test]
fn ctrl_c_prints_what_finished_and_a_summary() {
    let (lab, names) = slow_names();
    let out = interrupted(
        &lab,
        &["--concurrency", "2"],
        &names,
        Duration::from_millis(3500),
    );
    let s = stdout(&out);
    assert_eq!(out.status.code(), Some(130), "{s}");
    let line = s
        .lines()
        .find(|l| l.starts_with("Interrupted by SIGINT: "))
        .unwrap_or_else(|| panic!("{s}"));
    let done: usize = line["Interrupted by SIGINT: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..20).contains(&done), "{line}");
    assert!(
        line.ends_with(&format!(
            "of 20 names checked, {} not checked (exit 130)",
            20 - done
        )),
        "{line}"
    );
    assert!(s.contains("  not checked: "), "{s}");
    // The finished names are reported in full, with the summary when there are several.
    assert!(s.contains("s01.example.test — AT RISK"), "{s}");
    if done > 1 {
        assert!(
            s.contains(&format!("Summary: {done} names: {done} at risk")),
            "{s}"
        );
    }
    assert!(!s.contains("s20.example.test — "), "{s}");
}

#[test]
fn ctrl_c_on_json_lines_still_ends_with_the_summary_line() {
    let (lab, names) = slow_names();
    let out = interrupted(
        &lab,
        &["--concurrency", "2", "--format", "jsonl"],
        &names,
        Duration::from_millis(3500),
    );
    let s = stdout(&out);
    assert_eq!(out.status.code(), Some(130), "{s}");
    let lines: Vec<Value> = s
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let last = lines.last().unwrap();
    assert_eq!(last["type"], "summary", "{s}");
    assert_eq!(last["interrupted"], true, "{last}");
    assert_eq!(last["exit_code"], 130, "{last}");
    assert_eq!(last["identifiers"], 20, "{last}");
    let done = lines.len() - 1;
    assert!((1..20).contains(&done), "{s}");
    assert_eq!(last["outcomes"]["at-risk"], done, "{last}");

    // A run that is not interrupted says so too.
    let out = lab
        .cmd()
        .args(["--format", "jsonl", "s01.example.test"])
        .output()
        .unwrap();
    let last: Value = serde_json::from_str(stdout(&out).lines().last().unwrap()).unwrap();
    assert_eq!(last["interrupted"], false, "{last}");
}

// ---- Markdown -------------------------------------------------------------------------------

#[test]
fn markdown_for_a_step_summary_lists_names_worst_first_with_their_first_finding() {
    let (lab, names) = bulk_lab();
    let out = lab
        .cmd()
        .args(["--format", "markdown"])
        .args(&names)
        .output()
        .unwrap();
    let s = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{s}");
    assert!(s.starts_with("## mpic-check: WOULD FAIL\n"), "{s}");
    assert!(
        s.contains("**20 names:** 3 would fail, 0 at risk, 0 could not assess, 17 ready"),
        "{s}"
    );
    let rows: Vec<&str> = s.lines().filter(|l| l.starts_with("| ")).collect();
    // Header, rule, one row per name; the three failing names first.
    assert_eq!(rows.len(), 22, "{s}");
    assert!(rows[0].starts_with("| name | outcome | "), "{s}");
    for row in &rows[2..5] {
        assert!(row.contains(" | WOULD FAIL | "), "{s}");
    }
    let x1 = rows
        .iter()
        .find(|r| r.starts_with("| x1.bad.example.test | WOULD FAIL |"))
        .unwrap_or_else(|| panic!("{s}"));
    assert!(x1.contains("caa-forbids: "), "{x1}");
    // The findings follow, each with its evidence and fix.
    let findings = &s[s.find("\n### Findings (").unwrap_or_else(|| panic!("{s}"))..];
    assert!(
        findings.contains("**Error** caa-forbids — x1.bad.example.test\n\n- "),
        "{findings}"
    );
    assert!(findings.contains("\nFix: "), "{findings}");
    // No ANSI colour or terminal-only drawing in a file CI renders.
    assert!(!s.contains('\x1b') && !s.contains('┌'), "{s}");
}
