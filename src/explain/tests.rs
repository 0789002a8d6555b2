//! Table-driven tests over real-world message shapes (Boulder's wording, certbot/acme.sh/lego
//! wrappers, ACME problem documents), whole-log fixtures under `tests/fixtures/explain/`, and
//! a no-panic loop over hostile input.

use super::scan::*;
use super::*;

/// One message shape and everything the user is told about it.
struct Case {
    name: &'static str,
    input: &'static str,
    family: &'static str,
    stage: Stage,
    id: Option<&'static str>,
    address: Option<&'static str>,
    url: Option<&'static str>,
    status: Option<u16>,
    findings: &'static [&'static str],
    args: &'static [&'static str],
}

const HTTP_GEO: &[&str] = &["http-geoblocked", "geodns-divergence", "dead-address"];
const TXT_NX: &[&str] = &[
    "txt-missing-on-ns",
    "negative-cache-risk",
    "txt-early-removal",
];
const CAA_FORBIDS: &[&str] = &["caa-forbids", "caa-critical-unknown"];
const CAA_LOOKUP: &[&str] = &[
    "caa-lookup-failed",
    "dns-refused-by-region",
    "ns-unreachable",
    "dns-tcp-refused",
];

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "remote 403 over IPv6 (getssl#846 shape)",
            input: "During secondary validation: 2a06:98c1:3121::3: Invalid response from \
                    http://www.example.com/.well-known/acme-challenge/Tk1VZ2xE: 403",
            family: "http-geoblocked",
            stage: Stage::Remote,
            id: Some("www.example.com"),
            address: Some("2a06:98c1:3121::3"),
            url: Some("http://www.example.com/.well-known/acme-challenge/Tk1VZ2xE"),
            status: Some(403),
            findings: &[
                "http-geoblocked",
                "user-agent-filtered",
                "geodns-divergence",
            ],
            args: &["--method", "http-01", "www.example.com"],
        },
        Case {
            name: "primary timeout during connect",
            input: "203.0.113.10: Fetching http://example.org/.well-known/acme-challenge/abc123: \
                    Timeout during connect (likely firewall problem)",
            family: "connect-timeout",
            stage: Stage::Primary,
            id: Some("example.org"),
            address: Some("203.0.113.10"),
            url: Some("http://example.org/.well-known/acme-challenge/abc123"),
            status: None,
            findings: &["http-unreachable", "http-geoblocked", "dead-address"],
            args: &["--method", "http-01", "example.org"],
        },
        Case {
            name: "remote timeout during connect",
            input: "During secondary validation: 203.0.113.10: Fetching \
                    http://shop.example.net/.well-known/acme-challenge/xyz: Timeout during \
                    connect (likely firewall problem)",
            family: "http-geoblocked",
            stage: Stage::Remote,
            id: Some("shop.example.net"),
            address: Some("203.0.113.10"),
            url: Some("http://shop.example.net/.well-known/acme-challenge/xyz"),
            status: None,
            findings: HTTP_GEO,
            args: &["--method", "http-01", "shop.example.net"],
        },
        Case {
            name: "primary timeout during connect over IPv6",
            input: "2001:db8::80: Fetching http://v6.example.com/.well-known/acme-challenge/t0k: \
                    Timeout during connect (likely firewall problem)",
            family: "connect-timeout",
            stage: Stage::Primary,
            id: Some("v6.example.com"),
            address: Some("2001:db8::80"),
            url: Some("http://v6.example.com/.well-known/acme-challenge/t0k"),
            status: None,
            findings: &[
                "http-unreachable",
                "ipv6-broken",
                "http-geoblocked",
                "dead-address",
            ],
            args: &["--method", "http-01", "v6.example.com"],
        },
        Case {
            name: "timeout after connect",
            input: "198.51.100.7: Fetching http://slow.example.com/.well-known/acme-challenge/t: \
                    Timeout after connect (your server may be slow or overloaded)",
            family: "http-timeout",
            stage: Stage::Primary,
            id: Some("slow.example.com"),
            address: Some("198.51.100.7"),
            url: Some("http://slow.example.com/.well-known/acme-challenge/t"),
            status: None,
            findings: &["http-unreachable", "http-geoblocked"],
            args: &["--method", "http-01", "slow.example.com"],
        },
        Case {
            name: "connection refused",
            input: "192.0.2.1: Fetching http://old.example.com/.well-known/acme-challenge/t: \
                    Connection refused",
            family: "connection-refused",
            stage: Stage::Primary,
            id: Some("old.example.com"),
            address: Some("192.0.2.1"),
            url: Some("http://old.example.com/.well-known/acme-challenge/t"),
            status: None,
            findings: &["http-unreachable", "dead-address"],
            args: &["--method", "http-01", "old.example.com"],
        },
        Case {
            name: "acme.sh Verify error with 404",
            input: "[Fri Feb 24 13:25:23 UTC 2023] opsales.example.jp:Verify error:219.94.163.80: \
                    Invalid response from \
                    http://opsales.example.jp/.well-known/acme-challenge/WBch-5VP4J1i: 404",
            family: "http-status",
            stage: Stage::Primary,
            id: Some("opsales.example.jp"),
            address: Some("219.94.163.80"),
            url: Some("http://opsales.example.jp/.well-known/acme-challenge/WBch-5VP4J1i"),
            status: Some(404),
            findings: &[
                "webroot-mismatch",
                "cdn-cached-challenge",
                "geodns-divergence",
            ],
            args: &["--method", "http-01", "opsales.example.jp"],
        },
        Case {
            name: "lego key authorization mismatch",
            input: "[www.example.com] acme: error: 403 :: urn:ietf:params:acme:error:unauthorized \
                    :: 203.0.113.5: The key authorization file from the server did not match \
                    this challenge. Expected \"tok.abc\" (got \"old.def\")",
            family: "wrong-body",
            stage: Stage::Primary,
            id: Some("www.example.com"),
            address: Some("203.0.113.5"),
            url: None,
            status: None,
            findings: &[
                "cdn-cached-challenge",
                "webroot-mismatch",
                "geodns-divergence",
            ],
            args: &["--method", "http-01", "www.example.com"],
        },
        Case {
            name: "HTTP/2 over plain HTTP",
            input: "192.0.2.8: Fetching http://h2.example.com/.well-known/acme-challenge/t: \
                    Server is speaking HTTP/2 over HTTP",
            family: "protocol-error",
            stage: Stage::Primary,
            id: Some("h2.example.com"),
            address: Some("192.0.2.8"),
            url: Some("http://h2.example.com/.well-known/acme-challenge/t"),
            status: None,
            findings: &["http-unreachable"],
            args: &["--method", "http-01", "h2.example.com"],
        },
        Case {
            name: "too many redirects",
            input: "198.51.100.4: Fetching https://loop.example.com/.well-known/acme-challenge/t: \
                    Too many redirects",
            family: "redirect",
            stage: Stage::Primary,
            id: Some("loop.example.com"),
            address: Some("198.51.100.4"),
            url: Some("https://loop.example.com/.well-known/acme-challenge/t"),
            status: None,
            findings: &["redirect-disallowed"],
            args: &["--method", "http-01", "loop.example.com"],
        },
        Case {
            name: "invalid port in redirect target",
            input: "Fetching http://www.example.com:8080/.well-known/acme-challenge/t: Invalid \
                    port in redirect target. Only ports 80 and 443 are supported, not 8080",
            family: "redirect",
            stage: Stage::Primary,
            id: Some("www.example.com"),
            address: None,
            url: Some("http://www.example.com:8080/.well-known/acme-challenge/t"),
            status: None,
            findings: &["redirect-disallowed"],
            args: &["--method", "http-01", "www.example.com"],
        },
        Case {
            name: "acme.sh NXDOMAIN for the TXT record",
            input: "[Tue Jun 30 20:53:50 UTC 2020] ohscribe.example.edu:Verify error:DNS problem: \
                    NXDOMAIN looking up TXT for _acme-challenge.ohscribe.example.edu - check \
                    that a DNS record exists for this domain",
            family: "dns-nxdomain",
            stage: Stage::Primary,
            id: Some("ohscribe.example.edu"),
            address: None,
            url: None,
            status: None,
            findings: TXT_NX,
            args: &["--method", "dns-01", "ohscribe.example.edu"],
        },
        Case {
            name: "NXDOMAIN for A and AAAA",
            input: "DNS problem: NXDOMAIN looking up A for typo.example.com - check that a DNS \
                    record exists for this domain; DNS problem: NXDOMAIN looking up AAAA for \
                    typo.example.com - check that a DNS record exists for this domain",
            family: "dns-nxdomain",
            stage: Stage::Primary,
            id: Some("typo.example.com"),
            address: None,
            url: None,
            status: None,
            findings: &[
                "ns-inconsistent",
                "geodns-divergence",
                "dns-refused-by-region",
                "name-missing-in-region",
            ],
            args: &["--method", "http-01", "typo.example.com"],
        },
        Case {
            name: "remote SERVFAIL looking up CAA, as a problem document",
            input: "{\"type\": \"urn:ietf:params:acme:error:dns\", \"detail\": \"During secondary \
                    validation: DNS problem: SERVFAIL looking up CAA for life.example.cn - the \
                    domain's nameservers may be malfunctioning\", \"status\": 400}",
            family: "caa-lookup-failed",
            stage: Stage::Remote,
            id: Some("life.example.cn"),
            address: None,
            url: None,
            status: None,
            findings: CAA_LOOKUP,
            args: &["life.example.cn"],
        },
        Case {
            name: "DNSSEC bogus for CAA (Extended DNS Error form)",
            input: "DNS problem: looking up CAA for secure.example.com: DNSSEC: Bogus: \
                    signature expired",
            family: "caa-lookup-failed",
            stage: Stage::Caa,
            id: Some("secure.example.com"),
            address: None,
            url: None,
            status: None,
            findings: CAA_LOOKUP,
            args: &["secure.example.com"],
        },
        Case {
            name: "CAA forbids a wildcard",
            input: "While processing CAA for *.example.com: CAA record for example.com prevents \
                    issuance",
            family: "caa-forbids",
            stage: Stage::Caa,
            id: Some("*.example.com"),
            address: None,
            url: None,
            status: None,
            findings: CAA_FORBIDS,
            args: &["--method", "dns-01", "*.example.com"],
        },
        Case {
            name: "certbot block: CAA forbids during secondary validation",
            input: "Certbot failed to authenticate some domains (authenticator: nginx). The \
                    Certificate Authority reported these problems:\n  Domain: devhub.example\n  \
                    Type:   caa\n  Detail: During secondary validation: CAA record for \
                    devhub.example prevents issuance\n\nHint: …\n",
            family: "caa-forbids",
            stage: Stage::Remote,
            id: Some("devhub.example"),
            address: None,
            url: None,
            status: None,
            findings: CAA_FORBIDS,
            // `authenticator: nginx` says the renewal uses http-01, which CAA's
            // validationmethods may restrict: the check runs with the same method.
            args: &["--method", "http-01", "devhub.example"],
        },
        Case {
            name: "no TXT record",
            input: "No TXT record found at _acme-challenge.example.com",
            family: "txt-missing",
            stage: Stage::Primary,
            id: Some("example.com"),
            address: None,
            url: None,
            status: None,
            findings: &[
                "txt-missing-on-ns",
                "txt-early-removal",
                "negative-cache-risk",
            ],
            args: &["--method", "dns-01", "example.com"],
        },
        Case {
            name: "remote incorrect TXT record",
            input: "During secondary validation: Incorrect TXT record \"0ldV4lue\" found at \
                    _acme-challenge.example.org",
            family: "txt-incorrect",
            stage: Stage::Remote,
            id: Some("example.org"),
            address: None,
            url: None,
            status: None,
            findings: &[
                "txt-missing-on-ns",
                "txt-shared-name",
                "ns-inconsistent",
                "txt-early-removal",
            ],
            args: &["--method", "dns-01", "example.org"],
        },
        Case {
            name: "rate limit, current wording",
            input: "too many failed authorizations (5) for \"example.com\" in the last 1h0m0s, \
                    retry after 2025-01-24 17:26:51 UTC: see \
                    https://letsencrypt.org/docs/rate-limits/#authorization-failures-per-hostname-per-account",
            family: "rate-limit",
            stage: Stage::Unknown,
            id: Some("example.com"),
            address: None,
            url: None,
            status: None,
            findings: &[],
            args: &["example.com"],
        },
        Case {
            name: "rate limit through lego, older wording, no name",
            input: "acme: error: 429 :: POST :: https://acme-v02.api.letsencrypt.org/acme/new-order \
                    :: urn:ietf:params:acme:error:rateLimited :: Error creating new order :: too \
                    many failed authorizations recently: see \
                    https://letsencrypt.org/docs/failed-validation-limit/",
            family: "rate-limit",
            stage: Stage::Unknown,
            id: None,
            address: None,
            url: None,
            status: None,
            findings: &[],
            args: &[],
        },
        Case {
            name: "account paused for a name",
            input: "Your account is temporarily prevented from requesting certificates for \
                    example.net and possibly others. Please visit: \
                    https://portal.letsencrypt.org/sfe/v1/unpause?jwt=eyJhbGciOi",
            family: "rate-limit",
            stage: Stage::Unknown,
            id: Some("example.net"),
            address: None,
            url: None,
            status: None,
            findings: &[],
            args: &["example.net"],
        },
        Case {
            name: "quorum / RIR wording of another CA",
            input: "Multi-Perspective Issuance Corroboration (MPIC) failed for shop.example.com: \
                    quorum not met, too few RIRs among corroborating perspectives",
            family: "quorum-rirs",
            stage: Stage::Remote,
            id: Some("shop.example.com"),
            address: None,
            url: None,
            status: None,
            findings: &[
                "http-geoblocked",
                "geodns-divergence",
                "dns-refused-by-region",
                "caa-lookup-failed",
            ],
            args: &["shop.example.com"],
        },
        Case {
            name: "multi-perspective wording wrapping a connect timeout",
            input: "DCV failed for www.example.com: multi-perspective corroboration failed: \
                    203.0.113.9: Timeout during connect (likely firewall problem)",
            family: "http-geoblocked",
            stage: Stage::Remote,
            id: Some("www.example.com"),
            address: Some("203.0.113.9"),
            url: None,
            status: None,
            findings: HTTP_GEO,
            args: &["--method", "http-01", "www.example.com"],
        },
        Case {
            name: "secondary validation RPC failure at the CA",
            input: "During secondary validation: Secondary validation RPC failed",
            family: "ca-internal",
            stage: Stage::Remote,
            id: None,
            address: None,
            url: None,
            status: None,
            findings: &[],
            args: &[],
        },
        Case {
            name: "certbot: wildcard with an HTTP authenticator",
            input: "Client with the currently selected authenticator does not support any \
                    combination of challenges that will satisfy the CA. You may need to use an \
                    authenticator plugin that can do challenges over DNS.",
            family: "wildcard-needs-dns01",
            stage: Stage::Unknown,
            id: None,
            address: None,
            url: None,
            status: None,
            findings: &["wildcard-needs-dns01"],
            args: &[],
        },
        Case {
            name: "lego, older quoted-body shape served by a hoster's block page",
            input: "[app.example.cn] acme: error: 403 :: urn:ietf:params:acme:error:unauthorized \
                    :: During secondary validation: Invalid response from \
                    https://dnspod.qcloud.com/static/webblock.html?d=app.example.cn \
                    [203.205.224.59]: \"<!DOCTYPE html>\\n<html>\\n\\t<head>\", url: ",
            family: "wrong-body",
            stage: Stage::Remote,
            id: Some("app.example.cn"),
            address: Some("203.205.224.59"),
            url: Some("https://dnspod.qcloud.com/static/webblock.html?d=app.example.cn"),
            status: None,
            findings: &["http-geoblocked", "body-too-large", "geodns-divergence"],
            args: &["--method", "http-01", "app.example.cn"],
        },
        Case {
            name: "no valid addresses from the remotes",
            input: "During secondary validation: no valid A records found for sub.example.com; \
                    no valid AAAA records found for sub.example.com",
            family: "dns-no-address",
            stage: Stage::Remote,
            id: Some("sub.example.com"),
            address: None,
            url: None,
            status: None,
            findings: &[
                "geodns-divergence",
                "ns-inconsistent",
                "dns-refused-by-region",
                "name-missing-in-region",
            ],
            args: &["--method", "http-01", "sub.example.com"],
        },
        Case {
            name: "remote DNS timeout for the TXT record",
            input: "During secondary validation: DNS problem: query timed out looking up TXT for \
                    _acme-challenge.example.net",
            family: "dns-timeout",
            stage: Stage::Remote,
            id: Some("example.net"),
            address: None,
            url: None,
            status: None,
            findings: &["ns-unreachable", "dns-refused-by-region"],
            args: &["--method", "dns-01", "example.net"],
        },
        Case {
            name: "REFUSED for A",
            input: "DNS problem: REFUSED looking up A for geo.example.com",
            family: "dns-refused",
            stage: Stage::Primary,
            id: Some("geo.example.com"),
            address: None,
            url: None,
            status: None,
            findings: &["dns-refused-by-region", "ns-unreachable", "ns-lame"],
            args: &["--method", "http-01", "geo.example.com"],
        },
        Case {
            name: "network unreachable over IPv6",
            input: "2001:db8::10: Fetching http://v6only.example.com/.well-known/acme-challenge/t: \
                    Network unreachable",
            family: "network-unreachable",
            stage: Stage::Primary,
            id: Some("v6only.example.com"),
            address: Some("2001:db8::10"),
            url: Some("http://v6only.example.com/.well-known/acme-challenge/t"),
            status: None,
            findings: &["ipv6-broken", "dead-address"],
            args: &["--method", "http-01", "v6only.example.com"],
        },
        Case {
            name: "problem type only (Google Trust Services via lego)",
            input: "[www.example.com] acme: error: 400 :: POST :: \
                    https://dv.acme-v02.api.pki.goog/chall/AbCd :: \
                    urn:ietf:params:acme:error:connection :: The server could not connect to \
                    the client to verify the domain",
            family: "connection-error",
            stage: Stage::Unknown,
            id: Some("www.example.com"),
            address: None,
            url: None,
            status: None,
            findings: &["http-unreachable", "http-geoblocked"],
            args: &["--method", "http-01", "--ca", "pki.goog", "www.example.com"],
        },
        Case {
            name: "CAA recheck at finalization",
            input: "Error finalizing order :: rechecking caa: While processing CAA for \
                    example.com: CAA record for example.com prevents issuance",
            family: "caa-forbids",
            stage: Stage::Caa,
            id: Some("example.com"),
            address: None,
            url: None,
            status: None,
            findings: CAA_FORBIDS,
            args: &["example.com"],
        },
        Case {
            name: "remote 502",
            input: "During secondary validation: 198.51.100.9: Invalid response from \
                    http://cdn.example.com/.well-known/acme-challenge/x: 502",
            family: "http-status",
            stage: Stage::Remote,
            id: Some("cdn.example.com"),
            address: Some("198.51.100.9"),
            url: Some("http://cdn.example.com/.well-known/acme-challenge/x"),
            status: Some(502),
            findings: &["geodns-divergence", "http-geoblocked"],
            args: &["--method", "http-01", "cdn.example.com"],
        },
        Case {
            name: "old certbot IMPORTANT NOTES block, wrapped detail",
            input: "IMPORTANT NOTES:\n - The following errors were reported by the server:\n\n   \
                    Domain: legacy.example.com\n   Type:   unauthorized\n   Detail: Invalid \
                    response from\n   http://legacy.example.com/.well-known/acme-challenge/Zx9 \
                    [192.0.2.44]: 404\n\n   To fix these errors, please make sure that your \
                    domain name was\n   entered correctly and the DNS A/AAAA record(s) for that \
                    domain\n",
            family: "http-status",
            stage: Stage::Primary,
            id: Some("legacy.example.com"),
            address: Some("192.0.2.44"),
            url: Some("http://legacy.example.com/.well-known/acme-challenge/Zx9"),
            status: Some(404),
            findings: &[
                "webroot-mismatch",
                "cdn-cached-challenge",
                "geodns-divergence",
            ],
            args: &["--method", "http-01", "legacy.example.com"],
        },
    ]
}

fn one(input: &str) -> Explanation {
    let mut v = explain(input);
    assert_eq!(
        v.len(),
        1,
        "expected one explanation for {input:?}, got {v:#?}"
    );
    v.remove(0)
}

fn check(e: &Explanation, c: &Case) {
    let n = c.name;
    assert!(e.recognised, "{n}: not recognised: {e:#?}");
    assert_eq!(e.family, c.family, "{n}: family");
    assert_eq!(e.stage, c.stage, "{n}: stage");
    assert_eq!(e.identifier.as_deref(), c.id, "{n}: identifier");
    assert_eq!(e.address.as_deref(), c.address, "{n}: address");
    assert_eq!(e.url.as_deref(), c.url, "{n}: url");
    assert_eq!(e.status, c.status, "{n}: status");
    assert_eq!(e.likely_findings, c.findings, "{n}: likely findings");
    assert_eq!(e.suggested_args, c.args, "{n}: suggested args");
    assert!(!e.meaning.is_empty(), "{n}: meaning");
    // Let's Encrypt's wording implies its primary passed; other CAs' wording does not.
    if c.input.contains("During secondary validation") {
        assert!(
            e.meaning.starts_with("The CA's own (primary) check passed"),
            "{n}: a remote failure must say the primary passed: {}",
            e.meaning
        );
    } else if c.stage == Stage::Remote {
        assert!(
            e.meaning.contains("remote perspectives"),
            "{n}: {}",
            e.meaning
        );
        assert!(
            !e.meaning.contains("primary) check passed"),
            "{n}: {}",
            e.meaning
        );
    }
}

#[test]
fn table_of_message_shapes() {
    let cases = cases();
    for c in &cases {
        check(&one(c.input), c);
    }
    let shapes: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.name).collect();
    assert!(shapes.len() >= 15, "{} shapes", shapes.len());
    let families: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.family).collect();
    assert!(
        families.len() >= 15,
        "{} families: {families:?}",
        families.len()
    );
}

/// Every finding code offered must be one the detectors can emit, or the advice points at
/// nothing; reading the detector source keeps the two in step.
#[test]
fn likely_findings_are_real_finding_codes() {
    let detect = [
        include_str!("../analysis/detect/mod.rs"),
        include_str!("../analysis/detect/addresses.rs"),
        include_str!("../analysis/detect/caa.rs"),
        include_str!("../analysis/detect/dns.rs"),
        include_str!("../analysis/detect/http.rs"),
    ]
    .concat();
    let mut inputs: Vec<&str> = cases().iter().map(|c| c.input).collect();
    inputs.extend(FIXTURES.iter().map(|(_, f)| *f));
    for input in inputs {
        for e in explain(input) {
            for code in &e.likely_findings {
                let variant = crate::analysis::FindingCode::parse(code)
                    .map(|c| format!("FindingCode::{c:?}"))
                    .unwrap_or_default();
                assert!(
                    !variant.is_empty() && detect.contains(&variant),
                    "{code} is not emitted by src/analysis/detect/"
                );
            }
        }
    }
}

#[test]
fn secondary_validation_reports_the_geoblocking_meaning() {
    let e = one(cases()[2].input);
    assert!(
        e.meaning
            .contains("at least two of its remote perspectives"),
        "{}",
        e.meaning
    );
    assert!(
        e.meaning
            .contains("could not reach port 80 at 203.0.113.10"),
        "{}",
        e.meaning
    );
    assert!(e.meaning.contains("geoblocking"), "{}", e.meaning);
    let p = one(cases()[1].input);
    assert!(
        p.meaning
            .contains("remote perspectives are asked only after"),
        "{}",
        p.meaning
    );
}

const CERTBOT: &str = include_str!("../../tests/fixtures/explain/certbot-secondary-validation.log");
const CERTBOT_DEBUG: &str = include_str!("../../tests/fixtures/explain/certbot-letsencrypt.log");
const LEGO: &str = include_str!("../../tests/fixtures/explain/lego-dns01.log");
const ACME_SH: &str = include_str!("../../tests/fixtures/explain/acme.sh-http01.log");
const SUBPROBLEMS: &str = include_str!("../../tests/fixtures/explain/problem-subproblems.json");
const OPEN_MPIC: &str = include_str!("../../tests/fixtures/explain/open-mpic-response.json");
const FIXTURES: [(&str, &str); 6] = [
    ("certbot", CERTBOT),
    ("certbot debug", CERTBOT_DEBUG),
    ("lego", LEGO),
    ("acme.sh", ACME_SH),
    ("subproblems", SUBPROBLEMS),
    ("open mpic", OPEN_MPIC),
];

#[test]
fn certbot_renew_transcript_with_two_failing_names() {
    let v = explain(CERTBOT);
    assert_eq!(v.len(), 2, "{v:#?}");
    check(
        &v[0],
        &Case {
            name: "certbot: example.com",
            input: CERTBOT,
            family: "http-geoblocked",
            stage: Stage::Remote,
            id: Some("example.com"),
            address: Some("2001:db8:4006:812::200e"),
            url: Some(
                "http://example.com/.well-known/acme-challenge/\
                 y8Jj3pJ2cvx_Ey5VgKTQyJSa0pRD2y3jYpGSeWqf5aU",
            ),
            status: Some(403),
            findings: &[
                "http-geoblocked",
                "user-agent-filtered",
                "geodns-divergence",
            ],
            args: &["--method", "http-01", "example.com"],
        },
    );
    check(
        &v[1],
        &Case {
            name: "certbot: www.example.com",
            input: CERTBOT,
            family: "http-geoblocked",
            stage: Stage::Remote,
            id: Some("www.example.com"),
            address: Some("203.0.113.10"),
            url: Some(
                "http://www.example.com/.well-known/acme-challenge/\
                 0hUYkq8m7w3xKuc7r8Kz1L5CnsDz0bq0QZb0wXcJv9E",
            ),
            status: None,
            findings: HTTP_GEO,
            args: &["--method", "http-01", "www.example.com"],
        },
    );
}

/// The debug log repeats one failure in the authorization JSON, the user notice and the final
/// exception: one explanation, with the CA taken from the API host.
#[test]
fn certbot_debug_log_is_deduplicated() {
    let e = one(CERTBOT_DEBUG);
    check(
        &e,
        &Case {
            name: "certbot debug log",
            input: CERTBOT_DEBUG,
            family: "http-geoblocked",
            stage: Stage::Remote,
            id: Some("shop.example.net"),
            address: Some("198.51.100.23"),
            url: Some(
                "http://shop.example.net/.well-known/acme-challenge/\
                 kP2rZb7QxV0mN4sW8tY1uI3oL6aD9fG5hJ0kE2cB7nM",
            ),
            status: None,
            findings: HTTP_GEO,
            args: &[
                "--method",
                "http-01",
                "--ca",
                "letsencrypt.org",
                "shop.example.net",
            ],
        },
    );
    assert!(
        e.checklist[0].contains("mpic-check --method http-01"),
        "{:?}",
        e.checklist
    );
}

#[test]
fn lego_log_with_two_failing_names() {
    let v = explain(LEGO);
    assert_eq!(v.len(), 2, "{v:#?}");
    check(
        &v[0],
        &Case {
            name: "lego: api.example.org",
            input: LEGO,
            family: "dns-servfail",
            stage: Stage::Remote,
            id: Some("api.example.org"),
            address: None,
            url: None,
            status: None,
            findings: &[
                "dns-refused-by-region",
                "ns-unreachable",
                "ns-lame",
                "ns-inconsistent",
                "dns-tcp-refused",
            ],
            args: &[
                "--method",
                "dns-01",
                "--ca",
                "letsencrypt.org",
                "api.example.org",
            ],
        },
    );
    // The order also holds *.example.org: the shared challenge name comes first.
    check(
        &v[1],
        &Case {
            name: "lego: example.org",
            input: LEGO,
            family: "txt-incorrect",
            stage: Stage::Remote,
            id: Some("example.org"),
            address: None,
            url: None,
            status: None,
            findings: &[
                "txt-shared-name",
                "txt-missing-on-ns",
                "ns-inconsistent",
                "txt-early-removal",
            ],
            args: &[
                "--method",
                "dns-01",
                "--ca",
                "letsencrypt.org",
                "example.org",
            ],
        },
    );
}

#[test]
fn acme_sh_log() {
    let e = one(ACME_SH);
    check(
        &e,
        &Case {
            name: "acme.sh",
            input: ACME_SH,
            family: "http-geoblocked",
            stage: Stage::Remote,
            id: Some("cloud.example.com"),
            address: Some("2001:db8:85a3::8a2e:370:7334"),
            url: Some(
                "http://cloud.example.com/.well-known/acme-challenge/\
                 5vQzL0xK3mN8bR2tY7wE1aS4dF6gH9jU0iO3pA5sD7f",
            ),
            status: None,
            findings: &[
                "http-geoblocked",
                "ipv6-broken",
                "geodns-divergence",
                "dead-address",
            ],
            args: &[
                "--method",
                "http-01",
                "--ca",
                "letsencrypt.org",
                "cloud.example.com",
            ],
        },
    );
    assert!(e.meaning.contains("refused"), "{}", e.meaning);
}

#[test]
fn problem_document_with_subproblems_for_two_identifiers() {
    let v = explain(SUBPROBLEMS);
    assert_eq!(v.len(), 2, "{v:#?}");
    for (e, id) in v.iter().zip(["example.com", "www.example.com"]) {
        assert_eq!(e.family, "caa-forbids");
        assert_eq!(e.stage, Stage::Caa);
        assert_eq!(e.identifier.as_deref(), Some(id));
        assert_eq!(e.likely_findings, CAA_FORBIDS);
        assert_eq!(e.suggested_args, [id]);
        assert!(e.meaning.contains("recheck"), "{}", e.meaning);
    }
}

#[test]
fn subproblems_of_different_kinds_inside_a_log_line() {
    let text = "2025-01-01 00:00:00,000:DEBUG:acme.client:Received response:\n{\"type\": \
                \"urn:ietf:params:acme:error:rejectedIdentifier\", \"detail\": \"Error creating \
                new order :: Cannot issue for 2 identifiers\", \"subproblems\": [{\"type\": \
                \"urn:ietf:params:acme:error:caa\", \"detail\": \"CAA record for a.example.com \
                prevents issuance\", \"identifier\": {\"type\": \"dns\", \"value\": \
                \"a.example.com\"}}, {\"type\": \"urn:ietf:params:acme:error:dns\", \"detail\": \
                \"DNS problem: SERVFAIL looking up CAA for b.example.com - the domain's \
                nameservers may be malfunctioning\", \"identifier\": {\"type\": \"dns\", \
                \"value\": \"b.example.com\"}}]}\nsome trailing text";
    let v = explain(text);
    let got: Vec<(&str, Option<&str>)> = v
        .iter()
        .map(|e| (e.family, e.identifier.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("caa-forbids", Some("a.example.com")),
            ("caa-lookup-failed", Some("b.example.com"))
        ]
    );
}

#[test]
fn authorization_with_wildcard_flag_keeps_the_star() {
    let text = r#"{"identifier": {"type": "dns", "value": "example.com"}, "wildcard": true,
        "status": "invalid", "challenges": [{"type": "dns-01", "status": "invalid",
        "error": {"type": "urn:ietf:params:acme:error:unauthorized",
        "detail": "No TXT record found at _acme-challenge.example.com", "status": 403}}]}"#;
    let e = one(text);
    assert_eq!(e.family, "txt-missing");
    assert_eq!(e.identifier.as_deref(), Some("*.example.com"));
    assert_eq!(e.suggested_args, ["--method", "dns-01", "*.example.com"]);
}

#[test]
fn open_mpic_response_names_the_failing_perspectives() {
    let e = one(OPEN_MPIC);
    assert_eq!(e.family, "http-geoblocked");
    assert_eq!(e.stage, Stage::Remote);
    assert_eq!(e.identifier.as_deref(), Some("portal.example.com"));
    assert_eq!(
        e.suggested_args,
        ["--method", "http-01", "portal.example.com"]
    );
    assert!(
        e.meaning
            .contains("eu-central-2, il-central-1, me-central-1"),
        "{}",
        e.meaning
    );
}

#[test]
fn unrecognised_text_is_honest_and_gives_the_checklist() {
    let e = one("certbot: error: unrecognized arguments: --foo");
    assert!(!e.recognised);
    assert_eq!(e.family, "unknown");
    assert_eq!(e.stage, Stage::Unknown);
    assert_eq!(e.identifier, None);
    assert!(e.likely_findings.is_empty());
    assert!(e.suggested_args.is_empty());
    assert!(e.meaning.starts_with("Not recognised"), "{}", e.meaning);
    assert!(e.checklist.len() >= 6, "{:?}", e.checklist);
    assert!(e.checklist.iter().any(|c| c.contains("CAA")));
    assert!(e.checklist.iter().any(|c| c.contains("_acme-challenge")));

    // An unknown problem type still yields the name, and a command to run for it.
    let e = one(
        "[www.example.com] acme: error: 400 :: urn:ietf:params:acme:error:badNonce :: JWS has \
         an invalid anti-replay nonce",
    );
    assert!(!e.recognised);
    assert_eq!(e.identifier.as_deref(), Some("www.example.com"));
    assert_eq!(e.suggested_args, ["www.example.com"]);
    assert!(
        e.checklist[0].contains("mpic-check www.example.com"),
        "{:?}",
        e.checklist
    );
}

/// `--ca` follows the ACME API the client used, so CAA is evaluated for the right issuer.
#[test]
fn ca_is_taken_from_the_acme_api_host_only() {
    let zerossl = "[Mon Jan  6 10:00:00 UTC 2025] Using CA: https://acme.zerossl.com/v2/DV90\n\
                   [Mon Jan  6 10:00:09 UTC 2025] shop.example.com:Verify error:CAA record for \
                   shop.example.com prevents issuance\n";
    let e = one(zerossl);
    assert_eq!(e.family, "caa-forbids");
    assert_eq!(
        e.suggested_args,
        ["--ca", "sectigo.com", "shop.example.com"]
    );
    assert!(
        e.checklist
            .iter()
            .any(|c| c.contains("0 issue \"sectigo.com\""))
    );
    // Two CAs named: no guess.
    let both = format!("{zerossl}Using CA: https://acme-v02.api.letsencrypt.org/directory\n");
    assert_eq!(one(&both).suggested_args, ["shop.example.com"]);
    // A documentation link is not the CA the client talked to.
    let doc =
        "No TXT record found at _acme-challenge.a.example.com; see https://letsencrypt.org/docs/";
    assert_eq!(
        one(doc).suggested_args,
        ["--method", "dns-01", "a.example.com"]
    );
}

#[test]
fn mpic_check_own_name_is_not_mpic_wording() {
    assert!(!mpic_wording("mpic-check reported at-risk"));
    assert!(mpic_wording("mpic validation failed"));
    assert!(!one("mpic-check --help").recognised);
}

#[test]
fn colours_and_crlf_are_tolerated() {
    let text = "\u{1b}[1;31m[Sat May 10 04:12:08 UTC 2025] cloud.example.com:Verify error:No TXT \
                record found at _acme-challenge.cloud.example.com\u{1b}[0m\r\n";
    let e = one(text);
    assert_eq!(e.family, "txt-missing");
    assert_eq!(e.identifier.as_deref(), Some("cloud.example.com"));
}

/// Hostile and odd input: never a panic, always at least one item, bounded time.
#[test]
fn odd_inputs_never_panic() {
    let mut inputs: Vec<String> = [
        "",
        " ",
        "\0\0\0",
        "{",
        "}",
        "{\"",
        "{}",
        "[]",
        "\"",
        ":",
        ": :",
        ":: ::",
        "[",
        "]",
        "[]",
        "[] acme: error:",
        "[x] acme: error: :: ::",
        "acme: error: 1 :: urn:ietf:params:acme:error:",
        "acme: error: 1 :: urn: :: , problem: \"",
        ", problem: \"x\" :: ",
        "Domain:",
        "Domain:\nType:\nDetail:",
        "Domain: x\nDetail:\n  \n",
        ":Verify error:",
        "x:Verify error:",
        "DNS problem:",
        "DNS problem: looking up ",
        "DNS problem: looking up CAA for ",
        "DNS problem: looking up CAA for :",
        "dns problem: nxdomain looking up",
        "Invalid response from ",
        "Invalid response from http://: ",
        "Invalid response from http://x: \"",
        "Fetching : Timeout during connect",
        "Fetching http://[::1: Connection refused",
        "::: Connection refused",
        "[::]: Connection refused",
        "While processing CAA for : CAA record for  prevents issuance",
        "Invalid port in redirect target. not ",
        "No TXT record found at _acme-challenge.",
        "Incorrect TXT record \"",
        "too many failed authorizations for \"",
        "During secondary validation:",
        "During secondary validation: ",
        "MPIC",
        "mpic",
        "é: Connection refused ü",
        "\u{a0}192.0.2.1: Connection refused",
        "İİİ During secondary validation: İ: Timeout during connect",
        "\u{1b}[",
        "\u{1b}[31",
        "\r\r\r",
        "{\"type\":\"urn:ietf:params:acme:error:caa\",\"subproblems\":[1,\"x\",{}]}",
        "{\"perspectives\":[{\"check_passed\":false,\"errors\":[{}]}],\"is_valid\":false}",
        "{\"perspectives\":7,\"is_valid\":false}",
        "{\"identifier\":{\"value\":5},\"wildcard\":true}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Deep nesting, unbalanced openers, repeated markers and pseudo-random bytes.
    inputs.push("[".repeat(100_000));
    inputs.push("{\"a\":".repeat(50_000));
    inputs.push("{\"".repeat(200_000));
    inputs.push(format!("{}{}", "{\"a\":[".repeat(200), "]}".repeat(200)));
    inputs.push("During secondary validation: ".repeat(40_000));
    inputs.push("Domain: a.example.com\n".repeat(20_000));
    inputs.push(": ".repeat(300_000));
    inputs.push("No TXT record found at _acme-challenge.example.com\n".repeat(10_000));
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut bytes = Vec::with_capacity(300_000);
    for _ in 0..300_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.push((x >> 24) as u8);
    }
    inputs.push(String::from_utf8_lossy(&bytes).into_owned());
    // Over the cap, cut inside a multi-byte character.
    inputs.push(format!(
        "{}é{}",
        "a".repeat(MAX_INPUT_BYTES - 1),
        "b".repeat(1000)
    ));
    let start = std::time::Instant::now();
    for input in &inputs {
        let v = explain(input);
        assert!(!v.is_empty(), "no item for {:?}", input.get(..40));
        assert!(v.len() <= MAX_RECORDS);
        for e in &v {
            assert!(!e.meaning.is_empty());
        }
    }
    // Generous even for a debug build on a busy machine; quadratic work would take minutes.
    assert!(start.elapsed().as_secs() < 60, "took {:?}", start.elapsed());
}

#[test]
fn huge_input_is_capped() {
    let mut text = "a".repeat(MAX_INPUT_BYTES);
    text.push_str("\nNo TXT record found at _acme-challenge.example.com\n");
    assert!(
        !one(&text).recognised,
        "text beyond the cap must be ignored"
    );
}

#[test]
fn stage_names() {
    let names: Vec<&str> = [Stage::Primary, Stage::Remote, Stage::Caa, Stage::Unknown]
        .iter()
        .map(|s| s.as_str())
        .collect();
    assert_eq!(names, ["primary", "remote", "caa", "unknown"]);
    let json =
        serde_json::to_value(one("No TXT record found at _acme-challenge.a.example")).unwrap();
    assert_eq!(json["stage"], "primary");
    assert_eq!(json["family"], "txt-missing");
}
