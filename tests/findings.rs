//! One end-to-end run per finding code not already exercised elsewhere: the real binary against
//! the fakes shows the finding, its fix text and the exit code.

use crate::dns::{REMOTES, TOKEN, auth_lab, example_zone, obs, resolver_zone};
use crate::e2e::{finding, lab, plain_zone};
use crate::support::dns::{Behaviour, Zone};
use crate::support::http::{Block, Site};
use crate::support::lo;

#[test]
fn dns_refused_by_one_region() {
    // The domain refuses ap-south: its resolver (reached through that region's proxy) returns SERVFAIL.
    let lab = lab(
        plain_zone().behaviour_for_source(lo(0, 0, 5), Behaviour::ServFail),
        |_| Site::new(),
    );
    let (code, doc) = lab.json(&["www.example.test"]);
    let f = finding(&doc, "dns-refused-by-region");
    assert_eq!(f["perspectives"], serde_json::json!(["ap-south"]));
    assert_eq!(
        f["severity"], "warning",
        "one of three remotes: the quorum tolerates it"
    );
    assert!(f["fix"].as_str().unwrap().contains("geographic ACLs"));
    assert_eq!(code, 1, "{doc:#}");
}

#[test]
fn http_unreachable_everywhere() {
    let lab = lab(plain_zone(), |_| {
        Site::new().response(
            "/.well-known/acme-challenge/*",
            crate::support::http::Resp::status(403, "forbidden"),
        )
    });
    let (code, doc) = lab.json(&["www.example.test"]);
    // 403 for every User-Agent and every region.
    let f = finding(&doc, "http-unreachable");
    assert!(f["fix"].as_str().unwrap().contains("port 80"));
    assert_eq!(code, 2);
}

#[test]
fn caa_with_an_unknown_critical_tag() {
    let zone = plain_zone().caa("example.test", 128, "futuretag", "x");
    let lab = lab(zone, |_| Site::new());
    let (code, doc) = lab.json(&["www.example.test"]);
    let f = finding(&doc, "caa-critical-unknown");
    assert!(f["evidence"].to_string().contains("futuretag"), "{f}");
    assert!(f["fix"].as_str().unwrap().contains("critical flag"));
    assert_eq!(code, 2);
}

#[test]
fn a_wildcard_with_http01() {
    let lab = lab(plain_zone(), |_| {
        Site::new().block_source(lo(0, 0, 9), Block::Drop)
    });
    let (code, doc) = lab.json(&["--method", "http-01", "*.example.test"]);
    let f = finding(&doc, "wildcard-needs-dns01");
    assert!(f["fix"].as_str().unwrap().contains("dns-01"));
    assert_eq!(code, 2);
}

#[test]
fn apex_and_wildcard_values_must_share_the_rrset() {
    // Only one of the two values is published: the second hook run replaced the first.
    let lab = auth_lab(resolver_zone(), |_| example_zone(), REMOTES);
    let (code, doc) = lab.json(&[
        "--method",
        "dns-01",
        "--expect-txt",
        TOKEN,
        "--expect-txt",
        "wildcard-value-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "www.example.test",
    ]);
    let f = finding(&doc, "txt-shared-name");
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("add a record instead of replacing")
    );
    assert_eq!(code, 2);
}

#[test]
fn leftover_values_and_long_negative_caching() {
    let lab = auth_lab(resolver_zone(), |_| example_zone(), REMOTES);
    let (_, doc) = lab.json(&["--method", "dns-01", "www.example.test"]);
    assert_eq!(finding(&doc, "txt-leftover")["severity"], "info");

    let zone = Zone::new("test")
        .soa_minimum(86_400)
        .a("www.example.test", "127.0.20.1")
        .caa("example.test", 0, "issue", "letsencrypt.org");
    let lab = auth_lab(zone, |_| example_zone(), REMOTES);
    let (_, doc) = lab.json(&["--method", "dns-01", "www.example.test"]);
    let f = finding(&doc, "negative-cache-risk");
    assert!(f["evidence"].to_string().contains("86400 s"), "{f}");
}

#[test]
fn dnssec_bogus_from_a_validating_resolver() {
    let zone = resolver_zone().behaviour_for_type("CAA", Behaviour::ServFailEde(7));
    let lab = auth_lab(zone, |_| example_zone(), REMOTES);
    let (code, doc) = lab.json(&["--method", "dns-01", "www.example.test"]);
    let f = finding(&doc, "dnssec-bogus");
    assert!(
        f["evidence"].to_string().contains("Signature Expired"),
        "{f}"
    );
    assert!(f["fix"].as_str().unwrap().contains("re-sign the zone"));
    let c = obs(&doc, "home", "caa");
    assert!(
        c["dns"].as_array().unwrap().iter().any(|d| d["ede"]
            .as_str()
            .is_some_and(|e| e.starts_with("7 Signature Expired"))),
        "{c}"
    );
    assert_eq!(code, 2);
}
