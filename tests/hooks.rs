//! `wait-txt` and `watch` against in-process authoritative servers whose zones change while the
//! command runs: a TXT that reaches the second nameserver late, one that never does, and an RRset
//! replaced mid-window.

use std::time::Duration;

use crate::dns::{
    AuthLab, OLD_TOKEN, REMOTES, TOKEN, auth_lab, bare_example_zone, example_zone, resolver_zone,
};
use crate::support::lo;

/// The lab with ns2 (127.0.1.2) still lacking the TXT record (and CAA) that ns1 serves.
fn late_ns2_lab() -> AuthLab {
    auth_lab(
        resolver_zone(),
        |ip| {
            if ip == lo(0, 1, 2) {
                bare_example_zone()
            } else {
                example_zone()
            }
        },
        REMOTES,
    )
}

fn hook(lab: &AuthLab, args: &[&str]) -> std::process::Output {
    crate::support::base_cmd(lab.dir.path())
        .env("MPIC_CHECK_DNS_PORT", lab.ns[0].port().to_string())
        .args(args)
        .arg("--config")
        .arg(&lab.config)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap()
}

#[test]
fn wait_txt_returns_once_the_late_nameserver_has_it() {
    let lab = late_ns2_lab();
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(2500));
            lab.ns[1].set_zone(example_zone());
        });
        let out = hook(
            &lab,
            &["wait-txt", "www.example.test", TOKEN, "--timeout", "30s"],
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
        assert!(
            stdout.starts_with(
                "ready: 1 value(s) at _acme-challenge.www.example.test on all 2 nameserver"
            ),
            "{stdout}"
        );
        assert!(
            stderr.contains("ns2.example.test@127.0.1.2 lacks"),
            "progress names the late server: {stderr}"
        );
    });
    // Politeness: ns2 was not asked more than about once a second.
    let asked = lab.ns[1]
        .queries_for("_acme-challenge.www.example.test")
        .len();
    assert!(asked <= 8, "{asked} queries in ~3 s");
}

#[test]
fn wait_txt_times_out_naming_the_server_that_lacks_the_value() {
    let lab = late_ns2_lab();
    let out = hook(
        &lab,
        &[
            "wait-txt",
            "_acme-challenge.www.example.test",
            TOKEN,
            "--timeout",
            "3s",
            "-q",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("timeout after")
            && stdout.contains("ns2.example.test@127.0.1.2 lacks \"LPJNul"),
        "{stdout}"
    );
    assert!(out.stderr.is_empty(), "-q keeps stderr quiet");
    // The perspectives' resolvers were never asked for the TXT before every nameserver had it
    // (zone discovery asks NS, which plants no negative TXT entry).
    let txt = lab
        .resolver
        .queries_for("_acme-challenge.www.example.test")
        .into_iter()
        .filter(|q| q.qtype == "TXT")
        .count();
    assert_eq!(txt, 0);
}

#[test]
fn watch_reports_an_rrset_replaced_mid_window() {
    let lab = auth_lab(
        resolver_zone(),
        |_| example_zone().txt("_acme-challenge.www.example.test", OLD_TOKEN),
        &[],
    );
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(1500));
            // The second hook run replaced the RRset instead of adding to it.
            for ns in &lab.ns {
                ns.set_zone(example_zone());
            }
        });
        let out = hook(
            &lab,
            &[
                "watch",
                "www.example.test",
                "--duration",
                "4s",
                "--interval",
                "1s",
            ],
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        assert!(
            stdout.contains("txt-early-removal") || stdout.contains("txt-replaced"),
            "{stdout}"
        );
        assert!(stdout.contains(&format!("-\"{OLD_TOKEN}\"")), "{stdout}");
    });
}

#[test]
fn wait_txt_waits_for_apex_and_wildcard_together_and_asks_resolvers_only_at_the_end() {
    // ns2 publishes both values late; the wildcard's value is a second TXT at the same name.
    let both = || example_zone().txt("_acme-challenge.www.example.test", OLD_TOKEN);
    let lab = auth_lab(
        resolver_zone().txt("_acme-challenge.www.example.test", OLD_TOKEN),
        |ip| {
            if ip == lo(0, 1, 2) {
                bare_example_zone()
            } else {
                both()
            }
        },
        REMOTES,
    );
    let records = lab.dir.path().join("records");
    std::fs::write(
        &records,
        format!("# certbot's CERTBOT_DOMAIN VALUE pairs\nwww.example.test {TOKEN}\n*.www.example.test {OLD_TOKEN}\n"),
    )
    .unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(2500));
            lab.ns[1].set_zone(both());
        });
        let out = crate::support::base_cmd(lab.dir.path())
            .env("MPIC_CHECK_DNS_PORT", lab.ns[0].port().to_string())
            .args(["wait-txt", "--records"])
            .arg(&records)
            .args(["--timeout", "30s", "--config"])
            .arg(&lab.config)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
        assert!(
            stdout.starts_with(
                "ready: 2 value(s) at _acme-challenge.www.example.test on all 2 nameserver"
            ),
            "{stdout}"
        );
    });
    // The primary's resolver was asked for the TXT once, after both values were everywhere: it
    // never cached a one-value RRset.
    let txt = lab
        .resolver
        .queries_for("_acme-challenge.www.example.test")
        .into_iter()
        .filter(|q| q.qtype == "TXT")
        .count();
    assert_eq!(txt, 1);
}

#[test]
fn wait_txt_records_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("records");
    std::fs::write(&bad, "example.test\n").unwrap();
    for args in [
        vec![
            "wait-txt".to_string(),
            "--records".into(),
            bad.display().to_string(),
        ],
        vec!["wait-txt".to_string(), "example.test".into()],
    ] {
        let out = crate::support::base_cmd(dir.path())
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
}

#[test]
fn wait_txt_names_the_doubled_name_the_value_went_to() {
    // A DNS panel that appends the zone: the value is at
    // _acme-challenge.www.example.test.example.test on both nameservers, never at the challenge name.
    let doubled =
        || bare_example_zone().txt("_acme-challenge.www.example.test.example.test", TOKEN);
    let lab = auth_lab(resolver_zone(), |_| doubled(), REMOTES);
    let out = hook(
        &lab,
        &[
            "wait-txt",
            "www.example.test",
            TOKEN,
            "--timeout",
            "3s",
            "-q",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(stdout.starts_with("timeout after"), "{stdout}");
    assert!(
        stdout.contains(
            "is at _acme-challenge.www.example.test.example.test instead of _acme-challenge.www.example.test"
        ) && stdout.contains("trailing dot"),
        "{stdout}"
    );
}
