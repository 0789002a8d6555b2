//! The example scripts in `examples/` behave as documented: the renewal gate renews only when
//! mpic-check says so, and the DNS-01 auth hook adds the record and then waits with `wait-txt`.
//! Fake `mpic-check` and `certbot` executables stand in, so only the scripts' logic is tested.

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
fn renewal_gate_renews_only_when_the_check_allows() {
    for (check_exit, renew_on_risk, renewed, gate_exit) in [
        (0, "1", true, 0),
        (1, "1", true, 0),
        (1, "0", false, 1),
        (2, "1", false, 2),
        (3, "1", false, 3),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("renewed");
        let check = fake(
            dir.path(),
            "mpic-check",
            &format!(
                "echo \"$@\" > {}/args; exit {check_exit}",
                dir.path().display()
            ),
        );
        let certbot = fake(
            dir.path(),
            "certbot",
            &format!("echo \"$@\" > {}", marker.display()),
        );
        let out = Command::new("bash")
            .arg(example("certbot-renew-gate.sh"))
            .arg("--dry-run")
            .env("MPIC_CHECK", &check)
            .env("CERTBOT", &certbot)
            .env("RENEW_ON_RISK", renew_on_risk)
            .env("MPIC_ARGS", "--config /etc/x.toml")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(gate_exit),
            "check exit {check_exit}"
        );
        assert_eq!(
            marker.exists(),
            renewed,
            "check exit {check_exit}, RENEW_ON_RISK={renew_on_risk}"
        );
        if renewed {
            assert_eq!(
                std::fs::read_to_string(&marker).unwrap().trim(),
                "renew --dry-run"
            );
        }
        let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
        assert_eq!(args.trim(), "--certbot --quiet --config /etc/x.toml");
    }
}

#[test]
fn dns_auth_hook_adds_then_waits() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let add = fake(
        dir.path(),
        "dns-add-txt",
        &format!("echo add \"$@\" >> {}", log.display()),
    );
    fake(
        dir.path(),
        "mpic-check",
        &format!("echo check \"$@\" >> {}; exit 0", log.display()),
    );
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .arg(example("certbot-dns-auth-hook.sh"))
        .env("PATH", path)
        .env("DNS_ADD_TXT", &add)
        .env("CERTBOT_DOMAIN", "example.com")
        .env("CERTBOT_VALIDATION", "abc123")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        lines,
        "add _acme-challenge.example.com abc123\ncheck wait-txt example.com abc123 --timeout 10m\n"
    );
    // Without certbot's variables it refuses to run.
    let out = Command::new("bash")
        .arg(example("certbot-dns-auth-hook.sh"))
        .env_remove("CERTBOT_DOMAIN")
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
}
