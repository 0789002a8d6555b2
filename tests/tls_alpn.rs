//! TLS-ALPN-01 end to end (issue 19): the real binary against in-process rustls servers on
//! 127.0.20.1 (the name's address) reached through the lab's per-region SOCKS5 proxies — one that
//! negotiates `acme-tls/1` with a correct challenge certificate, one that speaks only `h2`/
//! `http/1.1` (a TLS-terminating proxy), one whose acmeIdentifier is for another key
//! authorization, and one that resets the connections of one region. Before, `--method
//! tls-alpn-01` was a usage error.

use serde_json::Value;

use crate::dns::obs;
use crate::e2e::{Lab, ORIGIN_DEFAULT, codes, finding, lab, plain_zone, verdict};
use crate::support::http::Site;
use crate::support::lo;
use crate::support::tls::{AcmeId, TlsAlpnServer, challenge_cert};

const NAME: &str = "www.example.test";
const KEYAUTH: &str =
    "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";

fn run(lab: &Lab, server: &TlsAlpnServer, extra: &[&str]) -> (i32, Value) {
    let out = lab
        .cmd()
        .env("MPIC_CHECK_TLS_PORT", server.port.to_string())
        .args(["--format", "json", "--method", "tls-alpn-01"])
        .args(extra)
        .arg(NAME)
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), doc)
}

fn origin() -> std::net::IpAddr {
    ORIGIN_DEFAULT.parse().unwrap()
}

#[test]
fn a_correct_challenge_certificate_is_ready_from_every_region() {
    let lab = lab(plain_zone(), |_| Site::new());
    let server = TlsAlpnServer::start(
        &[origin()],
        challenge_cert(&[NAME], &AcmeId::For(KEYAUTH.into())),
        &["acme-tls/1"],
        Vec::new(),
    );
    let (code, doc) = run(&lab, &server, &["--key-authorization", KEYAUTH]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(
        doc["identifiers"][0]["methods"],
        serde_json::json!(["tls-alpn-01"])
    );
    assert_eq!(verdict(&doc, "tls-alpn-01")["outcome"], "pass", "{doc:#}");
    for p in ["home", "us-east", "eu-west", "ap-south"] {
        let o = obs(&doc, p, "tls-alpn-01");
        assert_eq!(o["signature"], "expected", "{p}: {o:#}");
        assert_eq!(o["tls"]["alpn"], "acme-tls/1");
        assert_eq!(o["tls"]["certificate"], "valid");
        assert_eq!(o["tls"]["san"], serde_json::json!([NAME]));
    }
    assert!(
        codes(&doc).iter().all(|c| !c.starts_with("tls-alpn")),
        "{doc:#}"
    );

    // Without a key authorization the certificate is checked but its digest is not compared.
    let (code, doc) = run(&lab, &server, &[]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(
        obs(&doc, "home", "tls-alpn-01")["tls"]["certificate"],
        "unverified"
    );

    // The table shows the method's column like the others.
    let out = lab
        .cmd()
        .env("MPIC_CHECK_TLS_PORT", server.port.to_string())
        .args([
            "--method",
            "tls-alpn-01",
            "--key-authorization",
            KEYAUTH,
            NAME,
        ])
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("tls-alpn-01") && table.contains("challenge cert"),
        "{table}"
    );
}

#[test]
fn a_server_without_acme_tls_1_is_not_offered_with_the_settings_to_fix() {
    let lab = lab(plain_zone(), |_| Site::new());
    // A web server (or a TLS-terminating proxy) with an ordinary certificate.
    let server = TlsAlpnServer::start(
        &[origin()],
        challenge_cert(&[NAME], &AcmeId::Missing),
        &["h2", "http/1.1"],
        Vec::new(),
    );
    let (code, doc) = run(&lab, &server, &[]);
    assert_eq!(code, 2, "{doc:#}");
    let f = finding(&doc, "tls-alpn-not-offered");
    assert_eq!(f["severity"], "error");
    let fix = f["fix"].as_str().unwrap();
    for want in ["Caddy", "Traefik", "lego", "TLS-terminating proxy"] {
        assert!(fix.contains(want), "{want}: {fix}");
    }
    assert_eq!(
        obs(&doc, "home", "tls-alpn-01")["tls"]["alpn_refused"],
        true,
        "{doc:#}"
    );

    // A server that offers no ALPN at all completes the handshake without choosing one.
    let none = TlsAlpnServer::start(
        &[origin()],
        challenge_cert(&[NAME], &AcmeId::Missing),
        &[],
        Vec::new(),
    );
    let (code, doc) = run(&lab, &none, &[]);
    assert_eq!(code, 2, "{doc:#}");
    finding(&doc, "tls-alpn-not-offered");
    assert_eq!(
        obs(&doc, "eu-west", "tls-alpn-01")["signature"],
        "alpn:none"
    );
}

#[test]
fn a_wrong_acme_identifier_is_a_bad_certificate() {
    let lab = lab(plain_zone(), |_| Site::new());
    let server = TlsAlpnServer::start(
        &[origin()],
        challenge_cert(&[NAME], &AcmeId::For("another-token.thumbprint".into())),
        &["acme-tls/1"],
        Vec::new(),
    );
    let (code, doc) = run(&lab, &server, &["--key-authorization", KEYAUTH]);
    assert_eq!(code, 2, "{doc:#}");
    let f = finding(&doc, "tls-alpn-bad-certificate");
    assert!(
        f["evidence"]
            .to_string()
            .contains("not the SHA-256 of the key authorization"),
        "{f}"
    );
    assert_eq!(
        obs(&doc, "home", "tls-alpn-01")["tls"]["certificate"],
        "wrong-digest"
    );

    // Not critical is refused too (RFC 8737 §3), even without a key authorization.
    let lax = TlsAlpnServer::start(
        &[origin()],
        challenge_cert(&[NAME], &AcmeId::NotCritical(KEYAUTH.into())),
        &["acme-tls/1"],
        Vec::new(),
    );
    let (code, doc) = run(&lab, &lax, &[]);
    assert_eq!(code, 2, "{doc:#}");
    finding(&doc, "tls-alpn-bad-certificate");
    assert_eq!(
        obs(&doc, "us-east", "tls-alpn-01")["tls"]["certificate"],
        "not-critical"
    );
}

#[test]
fn port_443_blocked_for_one_region_is_unreachable_from_that_region() {
    let lab = lab(plain_zone(), |_| Site::new());
    // ap-south's SOCKS egress is 127.0.0.5: its connections are reset.
    let server = TlsAlpnServer::start(
        &[origin()],
        challenge_cert(&[NAME], &AcmeId::For(KEYAUTH.into())),
        &["acme-tls/1"],
        vec![lo(0, 0, 5)],
    );
    let (code, doc) = run(&lab, &server, &["--key-authorization", KEYAUTH]);
    let f = finding(&doc, "tls-alpn-unreachable");
    assert_eq!(f["perspectives"], serde_json::json!(["ap-south"]), "{f}");
    assert_eq!(f["severity"], "warning", "{f}");
    assert!(
        f["fix"].as_str().unwrap().contains("from everywhere"),
        "{f}"
    );
    // The quorum still holds (2 of 3 remotes), so the name is at risk, not failing.
    assert_eq!(doc["identifiers"][0]["outcome"], "at-risk", "{doc:#}");
    assert_eq!(code, 1);
}

#[test]
fn a_wildcard_cannot_use_tls_alpn_01() {
    let lab = lab(plain_zone(), |_| Site::new());
    let out = lab
        .cmd()
        .args(["--method", "tls-alpn-01", "*.example.test"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("wildcard") && err.contains("dns-01"), "{err}");
}

#[test]
fn http_connect_and_direct_perspectives_do_the_handshake_too() {
    use std::collections::HashMap;

    use crate::support::httpproxy::HttpProxy;
    let lab = lab(plain_zone(), |_| Site::new());
    let server = TlsAlpnServer::start(
        &[origin()],
        challenge_cert(&[NAME], &AcmeId::For(KEYAUTH.into())),
        &["acme-tls/1"],
        Vec::new(),
    );
    // ap-south through an HTTP proxy (which resolves the name itself: CONNECT name:port), and
    // the primary directly from this host.
    let hosts: HashMap<String, std::net::IpAddr> = [(NAME.to_string(), origin())].into();
    let proxy = HttpProxy::start(lo(0, 31, 4), lo(0, 0, 6), hosts);
    let text = std::fs::read_to_string(&lab.config).unwrap();
    let text = text
        .replace(&lab.proxies[3].url(false), &proxy.url())
        .replacen(
            &format!("http = \"{}\"\n", lab.proxies[0].url(false)),
            "",
            1,
        );
    std::fs::write(&lab.config, text).unwrap();
    let (code, doc) = run(&lab, &server, &["--key-authorization", KEYAUTH]);
    assert_eq!(code, 0, "{doc:#}");
    for p in ["home", "ap-south"] {
        assert_eq!(
            obs(&doc, p, "tls-alpn-01")["signature"],
            "expected",
            "{p}: {doc:#}"
        );
    }
    let reqs = proxy.requests();
    assert!(
        reqs.contains(&format!("CONNECT {NAME}:{} HTTP/1.1", server.port)),
        "{reqs:?}"
    );
}
