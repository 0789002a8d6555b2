//! What the output channels promise whatever happens to them: `--replay` prints the same JSON
//! Lines as a live run, a closed stdout ends the run quietly with exit 0 in every format, and
//! `--save` never leaves a half-written file behind.

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

/// A real `--save` output (http-01, one region blocked by the origin).
fn fixture() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/replay/http01-one-region-blocked.json"
    ))
}

fn replay(format: &str) -> std::process::Output {
    Command::cargo_bin("mpic-check")
        .unwrap()
        .env_remove("XDG_CONFIG_HOME")
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
