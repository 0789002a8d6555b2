//! What the output channels promise whatever happens to them: `--replay` prints the same JSON
//! Lines as a live run, a closed stdout ends the run quietly with exit 0 in every format, and
//! `--save` never leaves a half-written file behind.

use std::path::PathBuf;

use serde_json::Value;

/// A real `--save` output (http-01, one region blocked by the origin).
fn fixture() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/replay/http01-one-region-blocked.json"
    ))
}

fn replay(format: &str) -> std::process::Output {
    crate::support::base_cmd(&std::env::temp_dir())
        .args(["--format", format, "--as-of", "2026-11-28", "--replay"])
        .arg(fixture())
        .output()
        .unwrap()
}

#[test]
fn replay_as_jsonl_prints_json_lines() {
    let out = replay("jsonl");
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?} in\n{text}")))
        .collect();
    let doc: Value = serde_json::from_slice(&replay("json").stdout).unwrap();
    let names = doc["identifiers"].as_array().unwrap();
    assert_eq!(lines.len(), names.len() + 1, "{text}");
    for (line, ir) in lines.iter().zip(names) {
        assert_eq!(line["type"], "identifier");
        assert_eq!(line["schema_version"], 1);
        assert_eq!(&line["identifier"], ir);
    }
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["outcome"], doc["outcome"]);
    assert_eq!(summary["exit_code"], doc["exit_code"]);
    assert_eq!(
        summary["exit_code"].as_i64(),
        out.status.code().map(i64::from)
    );
}

/// Runs the binary with a stdout whose reader is already closed, so its first write fails with
/// EPIPE (Rust ignores SIGPIPE), as under `| head -c1` once head has exited.
fn with_closed_stdout(args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut cmd = crate::support::base_command(&std::env::temp_dir());
    cmd.env("NO_COLOR", "1")
        .args(args)
        .stdout(writer)
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    // The parent's copy of the write end goes with `cmd`; only the child holds one now.
    drop(cmd);
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_stdout_exits_0_quietly_in_every_format() {
    let file = fixture();
    let file = file.to_str().unwrap();
    for format in ["table", "json", "jsonl", "nagios", "prometheus", "html"] {
        let out = with_closed_stdout(&[
            "--format",
            format,
            "--as-of",
            "2026-11-28",
            "--replay",
            file,
        ]);
        assert_eq!(
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).as_ref()
            ),
            (Some(0), ""),
            "--format {format}"
        );
    }
    let msg = "During secondary validation: www.example.test: Invalid response from http://www.example.test/.well-known/acme-challenge/abc: 403";
    for args in [
        vec!["explain", "--format", "json", msg],
        vec!["explain", msg],
        vec!["completions", "bash"],
        vec!["man"],
    ] {
        let out = with_closed_stdout(&args);
        assert_eq!(
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).as_ref()
            ),
            (Some(0), ""),
            "{args:?}"
        );
    }
}

/// `--save` on a disk that fills up (a file-size limit of 512 bytes; SIGXFSZ ignored, so writes
/// fail with EFBIG as on a full disk): the old file stays whole, the report still reaches stdout,
/// and stderr has one warning line. Then a normal `--save` replaces the file, leaving no temporary.
#[test]
fn save_on_a_full_disk_keeps_the_old_file_and_still_reports() {
    use crate::e2e::{lab, plain_zone};
    use crate::support::http::Site;
    let lab = lab(plain_zone(), |_| Site::new());
    let saved = lab.dir.path().join("run.json");
    std::fs::write(&saved, "the previous run\n").unwrap();
    let inner = lab.std_cmd();
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(r#"trap '' XFSZ; ulimit -f 1 && exec "$@""#)
        .arg("sh")
        .arg(inner.get_program())
        .args(inner.get_args())
        .args(["--format", "json", "--save"])
        .arg(&saved)
        .arg("www.example.test");
    for (k, v) in inner.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        std::fs::read_to_string(&saved).unwrap(),
        "the previous run\n",
        "{stderr}"
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["exit_code"].as_i64(), out.status.code().map(i64::from));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("mpic-check: warning: --save ") && stderr.contains("left as it was"),
        "{stderr}"
    );

    let out = lab
        .cmd()
        .args(["--format", "json", "--save"])
        .arg(&saved)
        .arg("www.example.test")
        .output()
        .unwrap();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file: Value = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    assert_eq!(file["schema_version"], 1);
    let leftovers: Vec<_> = std::fs::read_dir(lab.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// `mpic-check --config X wait-txt …`: clap reads the subcommand as a name once options of the
/// main check came first. Each subcommand gets one line saying where the options go, exit 3, and
/// no network work (the config file does not even exist).
#[test]
fn options_before_a_subcommand_get_one_line_saying_where_they_go() {
    let home = tempfile::tempdir().unwrap();
    let cases: [&[&str]; 5] = [
        &["wait-txt", "example.test", "v"],
        &["watch", "example.test"],
        &["gate", "--print"],
        &["serve"],
        &["explain", "x"],
    ];
    for rest in cases {
        let out = crate::support::base_cmd(home.path())
            .args(["--timeout", "2s"])
            .args(rest)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{rest:?}: {err}");
        assert!(
            out.stdout.is_empty(),
            "{rest:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{rest:?}: {err}");
        assert!(
            err.contains(&format!("\"{}\" is a subcommand", rest[0]))
                && err.contains(&format!("mpic-check {} --config FILE", rest[0])),
            "{rest:?}: {err}"
        );
    }
}
