//! Shared parents (issue 22): within one run and one perspective, the answers about parents many
//! names share (the CAA names above each identifier, zone discovery's NS of ancestors, nameserver
//! addresses, the host HTTP-01 redirects lead to) are asked once and reused while their TTL lasts.
//! What a user must see: the same verdicts and findings as with `--no-share`, fewer questions at
//! the servers, `reused` on the copied exchanges, and an expired parent asked again.

use std::time::Duration;

use serde_json::Value;

use crate::dns::{AuthLab, REMOTES, TOKEN, auth_lab};
use crate::support::dns::{Behaviour, DnsServer, Zone};

/// example.test's delegation (NS and glue) and its CAA, which lets the CA issue.
fn delegated(zone: Zone) -> Zone {
    zone.ns("example.test", "ns1.example.test")
        .ns("example.test", "ns2.example.test")
        .a("ns1.example.test", "127.0.1.1")
        .a("ns2.example.test", "127.0.1.2")
        .caa("example.test", 0, "issue", "letsencrypt.org")
}

/// The records of the mixed set, in any zone (the resolver's "test" or the servers'
/// "example.test"): two healthy names, two under a parent whose CAA forbids the CA, one without
/// its TXT, two under a parent whose CAA has TTL 0.
fn mixed(zone: Zone) -> Zone {
    let mut z = delegated(zone).caa("deny.example.test", 0, "issue", "pki.goog");
    for n in MIXED {
        z = z.a(n, "127.0.20.1");
        if *n != "notxt.example.test" {
            z = z.txt(&format!("_acme-challenge.{n}"), TOKEN);
        }
    }
    z.ttl(0)
        .caa("zero.example.test", 0, "issue", "letsencrypt.org")
}

const MIXED: &[&str] = &[
    "ok1.example.test",
    "ok2.example.test",
    "a.deny.example.test",
    "b.deny.example.test",
    "notxt.example.test",
    "p.zero.example.test",
    "q.zero.example.test",
];

fn lab_with_timeout(resolver: Zone, ns: impl Fn(std::net::IpAddr) -> Zone, t: &str) -> AuthLab {
    let lab = auth_lab(resolver, ns, REMOTES);
    let toml = std::fs::read_to_string(&lab.config).unwrap();
    std::fs::write(
        &lab.config,
        toml.replace("timeout = \"1s\"", &format!("timeout = \"{t}\"")),
    )
    .unwrap();
    lab
}

fn servers(lab: &AuthLab) -> Vec<&DnsServer> {
    std::iter::once(&lab.resolver).chain(&lab.ns).collect()
}

fn asked(lab: &AuthLab) -> usize {
    servers(lab).iter().map(|s| s.queries().len()).sum()
}

fn clear(lab: &AuthLab) {
    for s in servers(lab) {
        s.clear_queries();
    }
}

/// Runs the names with `args` (and port 80 moved to `http_port`): the exit code and the report.
fn report(lab: &AuthLab, names: &[&str], http_port: Option<u16>, args: &[&str]) -> (i32, Value) {
    clear(lab);
    let list = lab.dir.path().join("names.txt");
    std::fs::write(&list, names.join("\n") + "\n").unwrap();
    let mut cmd = lab.cmd();
    if let Some(port) = http_port {
        cmd.env("MPIC_CHECK_HTTP_PORT", port.to_string());
    }
    let out = cmd
        .args(["--format", "json"])
        .args(args)
        .arg("--from-file")
        .arg(&list)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    (out.status.code().unwrap(), crate::dns::json_of(&out))
}

/// Runs the names for DNS-01 with `extra` arguments; the report, and the questions the servers
/// saw.
fn run(lab: &AuthLab, names: &[&str], extra: &[&str]) -> (i32, Value, usize) {
    let mut args = vec!["--method", "dns-01", "--expect-txt", TOKEN];
    args.extend(extra);
    let (code, doc) = report(lab, names, None, &args);
    (code, doc, asked(lab))
}

/// The report without what may differ between two runs of the same input: timings, the
/// `reused` marks, and the run's own metadata.
fn comparable(doc: &Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.retain(|k, _| !k.ends_with("_ms") && k != "reused");
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = serde_json::json!({
        "identifiers": doc["identifiers"],
        "findings": doc["findings"],
    });
    strip(&mut v);
    v
}

/// The outcome of `name` in a report.
fn outcome_of(doc: &Value, name: &str) -> String {
    doc["identifiers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .map(|i| i["outcome"].as_str().unwrap_or("").to_string())
        .unwrap()
}

fn reused_exchanges(doc: &Value) -> Vec<String> {
    doc["identifiers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["observations"].as_array().unwrap())
        .flat_map(|o| o["dns"].as_array().cloned().unwrap_or_default())
        .filter(|d| d["reused"] == true)
        .map(|d| format!("{} {}", d["qname"], d["qtype"]))
        .collect()
}

#[test]
fn shared_parents_give_the_same_verdicts_with_fewer_questions() {
    let lab = lab_with_timeout(
        mixed(Zone::new("test")),
        |_| mixed(Zone::new("example.test")),
        "3s",
    );
    let (code_shared, shared, n_shared) = run(&lab, MIXED, &[]);
    let (code_alone, alone, n_alone) = run(&lab, MIXED, &["--no-share"]);
    assert_eq!(code_shared, code_alone);
    assert_eq!(
        code_shared, 2,
        "a CAA that forbids the CA fails: {:#}",
        shared["findings"]
    );
    let (a, b) = (comparable(&shared), comparable(&alone));
    if a != b {
        let (a, b) = (
            serde_json::to_string_pretty(&a).unwrap(),
            serde_json::to_string_pretty(&b).unwrap(),
        );
        let first = a
            .lines()
            .zip(b.lines())
            .position(|(x, y)| x != y)
            .unwrap_or(0);
        panic!(
            "verdicts differ at line {first}:\nshared: {}\nalone:  {}",
            a.lines().nth(first).unwrap_or(""),
            b.lines().nth(first).unwrap_or("")
        );
    }
    // The mix is what it says: each kind of name ends as it should.
    let outcome = |name: &str| outcome_of(&shared, name);
    assert_eq!(outcome("ok1.example.test"), "pass");
    assert_eq!(outcome("p.zero.example.test"), "pass");
    assert_ne!(outcome("a.deny.example.test"), "pass");
    assert_ne!(outcome("notxt.example.test"), "pass");
    let codes = crate::e2e::codes(&shared);
    assert!(codes.contains(&"caa-forbids".to_string()), "{codes:?}");
    // Fewer questions, and the copies say so; nothing is reused without sharing, and the TTL-0
    // parent never is.
    assert!(n_shared < n_alone, "shared {n_shared}, alone {n_alone}");
    let reused = reused_exchanges(&shared);
    assert!(
        reused
            .iter()
            .any(|r| r.contains("\"example.test\" \"CAA\"")),
        "{reused:?}"
    );
    assert!(
        !reused.iter().any(|r| r.contains("zero.example.test")),
        "a TTL-0 answer is never reused: {reused:?}"
    );
    assert!(
        !reused
            .iter()
            .any(|r| MIXED.iter().any(|n| r.starts_with(&format!("\"{n}\"")))),
        "the identifier's own questions are never reused: {reused:?}"
    );
    assert!(reused_exchanges(&alone).is_empty());
    // The environment variable is the same switch.
    clear(&lab);
    let list = lab.dir.path().join("names.txt");
    let out = lab
        .cmd()
        .env("MPIC_CHECK_NO_SHARE", "1")
        .args([
            "--format",
            "json",
            "--method",
            "dns-01",
            "--expect-txt",
            TOKEN,
        ])
        .arg("--from-file")
        .arg(&list)
        .output()
        .unwrap();
    let env_doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(reused_exchanges(&env_doc).is_empty());
    assert_eq!(asked(&lab), n_alone);
}

#[test]
fn a_parent_whose_ttl_expired_is_asked_again() {
    // Every TXT answer takes 1.5 s, so with one name at a time the second name starts after the
    // parents' 1 s TTL has run out: ttl1.test's CAA is asked again, example.test's (300 s) is not.
    let zone = |z: Zone| {
        z.ns("example.test", "ns1.example.test")
            .ns("example.test", "ns2.example.test")
            .a("ns1.example.test", "127.0.1.1")
            .a("ns2.example.test", "127.0.1.2")
            .caa("example.test", 0, "issue", "letsencrypt.org")
            .a("x.ttl1.example.test", "127.0.20.1")
            .a("y.ttl1.example.test", "127.0.20.1")
            .txt("_acme-challenge.x.ttl1.example.test", TOKEN)
            .txt("_acme-challenge.y.ttl1.example.test", TOKEN)
            .ttl(1)
            .caa("ttl1.example.test", 0, "issue", "letsencrypt.org")
    };
    let lab = auth_lab(
        zone(Zone::new("test"))
            .behaviour_for_type("TXT", Behaviour::Delay(Duration::from_millis(1_500))),
        move |_| zone(Zone::new("example.test")),
        REMOTES,
    );
    let toml = std::fs::read_to_string(&lab.config).unwrap();
    std::fs::write(
        &lab.config,
        toml.replace("timeout = \"1s\"", "timeout = \"4s\""),
    )
    .unwrap();
    let names = ["x.ttl1.example.test", "y.ttl1.example.test"];
    let (code, doc, _) = run(&lab, &names, &["--concurrency", "1"]);
    assert_eq!(code, 0, "{doc:#}");
    let caa_asked = |qname: &str| {
        lab.resolver
            .queries_for(qname)
            .iter()
            .filter(|q| q.qtype == "CAA")
            .count()
    };
    assert_eq!(caa_asked("ttl1.example.test."), 2, "expired: asked again");
    assert_eq!(caa_asked("example.test."), 1, "fresh: asked once");
    // Every perspective asked the expired parent again: as many CAA questions for it at all
    // the servers as without sharing, while the fresh one was asked fewer times.
    let caa_everywhere = |qname: &str| {
        servers(&lab)
            .iter()
            .map(|s| {
                s.queries_for(qname)
                    .iter()
                    .filter(|q| q.qtype == "CAA")
                    .count()
            })
            .sum::<usize>()
    };
    let (ttl1, parent) = (
        caa_everywhere("ttl1.example.test."),
        caa_everywhere("example.test."),
    );
    let reused = reused_exchanges(&doc);
    assert!(
        reused.contains(&"\"example.test\" \"CAA\"".to_string()),
        "{reused:?}"
    );
    assert!(!reused.iter().any(|r| r.contains("ttl1")), "{reused:?}");
    let (code, _, _) = run(&lab, &names, &["--concurrency", "1", "--no-share"]);
    assert_eq!(code, 0);
    assert_eq!(caa_everywhere("ttl1.example.test."), ttl1);
    assert!(caa_everywhere("example.test.") > parent);
}

/// HTTP-01 names whose challenge redirects to one responder host (a common set-up: one ACME
/// responder for many sites): the responder's A/AAAA is asked once per perspective with sharing,
/// once per name and perspective without, and every verdict is the same, also for names whose
/// redirect leads to a host that does not resolve.
#[test]
fn a_shared_redirect_target_is_resolved_once_per_perspective_with_the_same_verdicts() {
    use crate::support::http::{HttpOrigin, Resp, Site};
    use crate::support::lo;
    const GOOD: &[&str] = &["r1.example.test", "r2.example.test", "r3.example.test"];
    const DEAD: &[&str] = &["d1.example.test", "d2.example.test"];
    let token = "redirect-share-token";
    let body = "redirect-share-token.thumbprint";
    let path = format!("/.well-known/acme-challenge/{token}");
    let zone = |z: Zone| {
        let mut z = delegated(z).a("acme.example.test", "127.0.20.2");
        for n in GOOD {
            z = z.a(n, "127.0.20.1");
        }
        for n in DEAD {
            z = z.a(n, "127.0.20.3");
        }
        z
    };
    let lab = lab_with_timeout(
        zone(Zone::new("test")),
        |_| zone(Zone::new("example.test")),
        "3s",
    );
    let origin = HttpOrigin::start_many(&[lo(0, 20, 1), lo(0, 20, 2), lo(0, 20, 3)], |ip| {
        let to = match ip.to_string().as_str() {
            "127.0.20.1" => Some("acme.example.test"),
            "127.0.20.3" => Some("gone.example.test"),
            _ => None,
        };
        match to {
            Some(host) => {
                Site::new().response(&path, Resp::redirect(302, &format!("http://{host}{path}")))
            }
            None => Site::new().file(&path, body),
        }
    });
    let names: Vec<&str> = GOOD.iter().chain(DEAD).copied().collect();
    let run_http = |extra: &[&str]| {
        let mut args = vec![
            "--method",
            "http-01",
            "--token",
            token,
            "--expect-body",
            body,
        ];
        args.extend(extra);
        let (code, doc) = report(&lab, &names, Some(origin.port()), &args);
        let target_questions = servers(&lab)
            .iter()
            .flat_map(|s| s.queries_for("acme.example.test"))
            .filter(|q| q.qtype == "A" || q.qtype == "AAAA")
            .count();
        (code, doc, target_questions)
    };
    let (code_shared, shared, n_shared) = run_http(&[]);
    let (code_alone, alone, n_alone) = run_http(&["--no-share"]);
    assert_eq!(code_shared, code_alone);
    assert_eq!(comparable(&shared), comparable(&alone));
    let outcome = |name: &str| outcome_of(&shared, name);
    for n in GOOD {
        assert_eq!(outcome(n), "pass", "{n}: {:#}", shared["findings"]);
    }
    for n in DEAD {
        assert_ne!(outcome(n), "pass", "{n}");
    }
    // A and AAAA from the primary (its resolver) and from each remote (which asks both
    // nameservers itself): 14 questions when shared, 14 per redirected name when not.
    let once = 2 * (1 + 2 * REMOTES.len());
    assert_eq!(n_shared, once, "shared");
    assert_eq!(n_alone, once * GOOD.len(), "alone");
}
