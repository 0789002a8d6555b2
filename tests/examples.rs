//! The example scripts and units in `examples/` behave as documented: the renewal-gate wrapper
//! hands over to `mpic-check gate`; the DNS-01 hooks add every value, wait once after the last
//! challenge, and on a timeout remove what they added and stop certbot before it answers; the
//! cron line never replaces a good metrics file with a bad one; the systemd units pass
//! `systemd-analyze verify`. Fake `mpic-check`, `certbot` and DNS tools stand in, so only the
//! scripts' logic is tested here (tests/hooks.rs runs the real `wait-txt --records`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn fake(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/usr/bin/env bash\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

#[test]
fn renewal_gate_wrapper_hands_over_to_gate() {
    for (renew_on_risk, mpic_args, want) in [
        (
            "1",
            "--config /etc/x.toml",
            "gate --certbot-bin /x/certbot --config /etc/x.toml -- --dry-run",
        ),
        (
            "0",
            "--certbot /etc/le --config /etc/x.toml",
            "gate --certbot-bin /x/certbot --config-dir /etc/le --config /etc/x.toml --hold-at-risk -- --dry-run",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let check = fake(
            dir.path(),
            "mpic-check",
            &format!("echo \"$@\" > {}/args; exit 2", dir.path().display()),
        );
        let out = Command::new("bash")
            .arg(example("certbot-renew-gate.sh"))
            .arg("--dry-run")
            .env("MPIC_CHECK", &check)
            .env("CERTBOT", "/x/certbot")
            .env("RENEW_ON_RISK", renew_on_risk)
            .env("MPIC_ARGS", mpic_args)
            .output()
            .unwrap();
        // The gate's exit status is the script's.
        assert_eq!(out.status.code(), Some(2));
        let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
        assert_eq!(args.trim(), want);
    }
}

/// A fake DNS tool, mpic-check and settings file for the DNS-01 hooks, in `dir`.
fn hook_setup(dir: &Path, wait_exit: i32) -> PathBuf {
    let log = dir.join("log");
    let tool = fake(
        dir,
        "dns-tool",
        &format!("echo \"dns $*\" >> {}", log.display()),
    );
    let check = fake(
        dir,
        "mpic-check",
        &format!(
            "echo \"check $*\" >> {log}; [ \"$2\" = --records ] && sed 's/^/  /' \"$3\" >> {log}; exit {wait_exit}",
            log = log.display()
        ),
    );
    let conf = dir.join("hook.conf");
    std::fs::write(
        &conf,
        format!(
            "MPIC_CHECK={}\nDNS_TXT_TOOL={}\nSTATE_DIR={}/state\nMPIC_CONFIG=/etc/mpic-check/config.toml\n",
            check.display(),
            tool.display(),
            dir.display()
        ),
    )
    .unwrap();
    conf
}

/// certbot's environment for challenge `i` of an apex + wildcard order (certbot names the
/// wildcard's authorization by its base domain).
fn certbot_env(c: &mut Command, conf: &Path, value: &str, remaining: usize) {
    c.env("MPIC_HOOK_CONF", conf)
        .env("CERTBOT_DOMAIN", "example.com")
        .env("CERTBOT_VALIDATION", value)
        .env("CERTBOT_ALL_DOMAINS", "example.com,example.com")
        .env("CERTBOT_REMAINING_CHALLENGES", remaining.to_string())
        .env_remove("CERTBOT_TOKEN");
}

#[test]
fn dns_hooks_add_every_value_and_wait_once_for_all() {
    let dir = tempfile::tempdir().unwrap();
    let conf = hook_setup(dir.path(), 0);
    for (value, remaining) in [("first", 1), ("second", 0)] {
        let mut c = Command::new("bash");
        c.arg(example("certbot-dns-auth-hook.sh"));
        certbot_env(&mut c, &conf, value, remaining);
        let out = c.output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
    let state = dir.path().join("state");
    let records = std::fs::read_dir(&state)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(
        log,
        format!(
            "dns add _acme-challenge.example.com first\n\
             dns add _acme-challenge.example.com second\n\
             check wait-txt --records {} --timeout 10m --config /etc/mpic-check/config.toml\n\
             \x20 example.com first\n  example.com second\n",
            records.display()
        )
    );
    // Cleanup: each value removed on its own; the list goes with the last one.
    for (value, remaining) in [("first", 1), ("second", 0)] {
        let mut c = Command::new("bash");
        c.arg(example("certbot-dns-cleanup-hook.sh"));
        certbot_env(&mut c, &conf, value, remaining);
        assert_eq!(c.output().unwrap().status.code(), Some(0));
    }
    let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
    assert!(
        log.ends_with(
            "dns del _acme-challenge.example.com first\ndns del _acme-challenge.example.com second\n"
        ),
        "{log}"
    );
    assert_eq!(std::fs::read_dir(&state).unwrap().count(), 0);
    // Without certbot's variables it refuses to run.
    let out = Command::new("bash")
        .arg(example("certbot-dns-auth-hook.sh"))
        .env("MPIC_HOOK_CONF", &conf)
        .env_remove("CERTBOT_DOMAIN")
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn dns_auth_hook_timeout_removes_the_records_and_stops_certbot_before_it_answers() {
    let dir = tempfile::tempdir().unwrap();
    let conf = hook_setup(dir.path(), 2);
    // A stand-in for certbot: runs the hook through `sh -c` as certbot does, then would answer
    // the challenge unless a SIGTERM arrived meanwhile.
    let marker = dir.path().join("certbot-outcome");
    let certbot = fake(
        dir.path(),
        "certbot",
        &format!(
            "trap 'echo stopped > {m}; exit 143' TERM\n\
             CERTBOT_REMAINING_CHALLENGES=1 CERTBOT_VALIDATION=first sh -c \"bash '$1'\"\n\
             CERTBOT_REMAINING_CHALLENGES=0 CERTBOT_VALIDATION=second sh -c \"bash '$1'\"\n\
             echo answered > {m}",
            m = marker.display()
        ),
    );
    let mut c = Command::new(&certbot);
    c.arg(example("certbot-dns-auth-hook.sh"));
    certbot_env(&mut c, &conf, "unused", 0);
    c.env_remove("CERTBOT_VALIDATION")
        .env_remove("CERTBOT_REMAINING_CHALLENGES");
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap().trim(),
        "stopped",
        "{stderr}"
    );
    assert!(stderr.contains("stopping certbot"), "{stderr}");
    let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
    assert!(
        log.ends_with(
            "dns del _acme-challenge.example.com first\ndns del _acme-challenge.example.com second\n"
        ),
        "{log}"
    );
}

#[test]
fn nsupdate_script_adds_and_deletes_one_value() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    fake(
        dir.path(),
        "nsupdate",
        &format!("echo \"nsupdate $*\" >> {l}; cat >> {l}", l = log.display()),
    );
    let conf = dir.path().join("hook.conf");
    std::fs::write(
        &conf,
        "NSUPDATE_SERVER=127.0.0.53\nNSUPDATE_PORT=5353\nNSUPDATE_KEY=/etc/k.key\nNSUPDATE_ZONE=example.com\n",
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for verb in ["add", "del"] {
        let out = Command::new("sh")
            .arg(example("dns-nsupdate.sh"))
            .args([verb, "_acme-challenge.example.com", "v-1"])
            .env("PATH", &path)
            .env("MPIC_HOOK_CONF", &conf)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
    }
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "nsupdate -k /etc/k.key\nserver 127.0.0.53 5353\nzone example.com\n\
         update add _acme-challenge.example.com. 60 IN TXT \"v-1\"\nsend\n\
         nsupdate -k /etc/k.key\nserver 127.0.0.53 5353\nzone example.com\n\
         update delete _acme-challenge.example.com. IN TXT \"v-1\"\nsend\n"
    );
}

#[test]
fn cron_textfile_line_keeps_the_last_good_file() {
    let text = std::fs::read_to_string(example("cron-textfile-collector")).unwrap();
    let line = text.lines().find(|l| !l.starts_with('#')).unwrap();
    // Minute, hour, day, month, weekday, user; the rest is the command.
    let command = line
        .split_whitespace()
        .skip(6)
        .collect::<Vec<_>>()
        .join(" ");
    for (body, status, replaced) in [
        ("echo 'mpic_check_outcome 1'", 1, true),
        ("true", 3, false),
        ("echo 'mpic_check_outc'", 137, false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let check = fake(dir.path(), "mpic-check", &format!("{body}; exit {status}"));
        let out_dir = dir.path().join("textfile");
        std::fs::create_dir(&out_dir).unwrap();
        let prom = out_dir.join("mpic.prom");
        std::fs::write(&prom, "good\n").unwrap();
        let cmd = command
            .replace("/usr/bin/mpic-check", &check.display().to_string())
            .replace(
                "/var/lib/node_exporter/textfile_collector",
                &out_dir.display().to_string(),
            );
        let out = Command::new("sh").arg("-c").arg(&cmd).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let now = std::fs::read_to_string(&prom).unwrap();
        assert_eq!(now != "good\n", replaced, "exit {status}: {now}");
        assert_eq!(
            std::fs::read_dir(&out_dir).unwrap().count(),
            1,
            "temp file left"
        );
    }
}

#[test]
fn systemd_units_pass_systemd_analyze_verify() {
    let Ok(which) = Command::new("sh")
        .args(["-c", "command -v systemd-analyze"])
        .output()
    else {
        eprintln!("skipped: no sh");
        return;
    };
    if !which.status.success() {
        eprintln!("skipped: systemd-analyze is not installed (apt-get install systemd)");
        return;
    }
    let service = std::fs::read_to_string(example("systemd/mpic-check-renew.service")).unwrap();
    let timer = std::fs::read_to_string(example("systemd/mpic-check-renew.timer")).unwrap();
    // What the issue asked for, as shipped.
    let exec = service
        .lines()
        .find(|l| l.starts_with("ExecStart="))
        .unwrap();
    assert_eq!(
        exec,
        "ExecStart=/usr/bin/mpic-check gate -- --no-random-sleep-on-renew"
    );
    for l in service.lines().filter(|l| l.starts_with("Environment=")) {
        assert!(l.starts_with("Environment=\""), "unquoted: {l}");
    }
    for s in ["certbot.timer", "snap.certbot.renew.timer", ".cargo/bin"] {
        assert!(service.contains(s), "the service does not mention {s}");
    }
    // verify checks that ExecStart's binary exists: the Debian path is not installed here, so the
    // built binary stands in at that one place.
    let dir = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("mpic-check");
    std::fs::write(
        dir.path().join("mpic-check-renew.service"),
        service.replace("/usr/bin/mpic-check", &bin.display().to_string()),
    )
    .unwrap();
    std::fs::write(dir.path().join("mpic-check-renew.timer"), timer).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(dir.path().join("mpic-check-renew.service"))
        .arg(dir.path().join("mpic-check-renew.timer"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.trim().is_empty(), "{stderr}");
}

/// The `run: |` block of the step named `name` in a workflow, unindented.
fn workflow_script(yaml: &str, name: &str) -> String {
    let start = yaml
        .find(&format!("- name: {name}\n"))
        .unwrap_or_else(|| panic!("no step {name}"));
    let lines: Vec<&str> = yaml[start..].lines().collect();
    let run = lines
        .iter()
        .position(|l| l.trim() == "run: |")
        .expect("no run block");
    let indent = lines[run + 1].len() - lines[run + 1].trim_start().len();
    lines[run + 1..]
        .iter()
        .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() >= indent)
        .map(|l| l.get(indent..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn github_actions_example_writes_markdown_to_the_summary_and_the_table_to_the_log() {
    let yaml = std::fs::read_to_string(example("github-actions.yml")).unwrap();
    // Installs from this checkout, never from a made-up URL.
    assert!(!yaml.contains("example.invalid"), "{yaml}");
    assert!(
        yaml.contains("- run: cargo install --locked --path .\n"),
        "{yaml}"
    );
    let script = workflow_script(&yaml, "MPIC pre-check");
    let dir = tempfile::tempdir().unwrap();
    // A fake that prints which format it was asked for and exits 2 (would fail).
    fake(
        dir.path(),
        "mpic-check",
        &format!(
            "echo \"$*\" >> {log}\ncase \"$*\" in\n  *markdown*) echo '## mpic-check: WOULD FAIL' ;;\n  \
             *table*) echo 'Result: WOULD FAIL (exit 2)' ;;\n  *json*) echo '{{}}' ;;\nesac\nexit 2",
            log = dir.path().join("calls").display()
        ),
    );
    let summary = dir.path().join("summary.md");
    std::fs::write(&summary, "").unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // GitHub runs `run:` blocks with `bash -e`.
    let out = Command::new("bash")
        .args(["-e", "-c", &script])
        .current_dir(dir.path())
        .env("PATH", &path)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The job fails with the check's own status, after the log and the artifact are written.
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(&summary).unwrap(),
        "## mpic-check: WOULD FAIL\n"
    );
    assert_eq!(stdout, "Result: WOULD FAIL (exit 2)\n");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("mpic-report.json")).unwrap(),
        "{}\n"
    );
    // One network run; the table and the JSON come from its saved observations.
    let calls = std::fs::read_to_string(dir.path().join("calls")).unwrap();
    let calls: Vec<&str> = calls.lines().collect();
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert!(
        calls[0].contains("--save mpic-observations.json"),
        "{calls:?}"
    );
    assert!(calls[0].contains("--format markdown"), "{calls:?}");
    for c in &calls[1..] {
        assert!(c.contains("--replay mpic-observations.json"), "{c}");
    }
}
