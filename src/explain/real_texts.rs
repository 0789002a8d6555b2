//! Tests over genuine texts: certbot 2.1's console output (stdout and stderr together, as
//! `certbot … 2>&1 | mpic-check explain` reads it) for validations that Pebble 2.4.0 (the
//! Debian packages) failed on loopback, recorded under `tests/fixtures/explain/pebble/`; and
//! lines built from the format strings of the named source (Pebble `va/va.go`, Go's `net`
//! errors that Pebble passes through, acme.sh `issue()`, lego `acme/errors.go`, Boulder `va/`)
//! where no run produced them. Each asserts what the user is told: family, stage, method (the
//! suggested run), address, status and the advice, and that mpic-check's own output is never
//! read as a CA's message.

use super::*;

/// One genuine text and what `explain` must make of it.
struct Real {
    /// Where the text comes from.
    source: &'static str,
    input: &'static str,
    family: &'static str,
    stage: Stage,
    id: &'static str,
    method: Option<&'static str>,
    address: Option<&'static str>,
    status: Option<u16>,
    /// A phrase the meaning or the checklist must contain.
    says: &'static str,
}

macro_rules! pebble {
    ($f:literal) => {
        include_str!(concat!("../../tests/fixtures/explain/pebble/", $f))
    };
}

fn reals() -> Vec<Real> {
    vec![
        Real {
            source: "certbot 2.1 + Pebble 2.4 fetchHTTP, a 403 from the site",
            input: pebble!("certbot-403.txt"),
            family: "http-status",
            stage: Stage::Primary,
            id: "www.example.com",
            method: Some("http-01"),
            address: None,
            status: Some(403),
            says: "Access to /.well-known/acme-challenge/ is denied",
        },
        Real {
            source: "certbot 2.1 + Pebble 2.4 fetchHTTP, a 404 from the site",
            input: pebble!("certbot-shop.txt"),
            family: "http-status",
            stage: Stage::Primary,
            id: "shop.example.com",
            method: Some("http-01"),
            address: None,
            status: Some(404),
            says: "The file is not where the web server serves from",
        },
        Real {
            source: "certbot 2.1 + Pebble 2.4, Go `dial tcp …: connect: connection refused`",
            input: pebble!("certbot-down.txt"),
            family: "connection-refused",
            stage: Stage::Primary,
            id: "down.example.com",
            method: Some("http-01"),
            address: Some("127.0.60.22"),
            status: None,
            says: "Nothing listens on port 80 at that address",
        },
        Real {
            source: "certbot 2.1 + Pebble 2.4, Go `read tcp a->b: read: connection reset by peer`",
            input: pebble!("certbot-reset.txt"),
            family: "connection-reset",
            stage: Stage::Primary,
            id: "reset.example.com",
            method: Some("http-01"),
            address: Some("127.0.60.23"),
            status: None,
            says: "was reset",
        },
        Real {
            source: "certbot 2.1 + Pebble 2.4, Go `Client.Timeout exceeded while awaiting headers`",
            input: pebble!("certbot-slow.txt"),
            family: "http-timeout",
            stage: Stage::Primary,
            id: "slow.example.com",
            method: Some("http-01"),
            address: None,
            status: None,
            says: "got no complete answer in time",
        },
        Real {
            source: "certbot 2.1 + Pebble 2.4 fetchHTTP, `could not resolve URL` (DNS, not firewall)",
            input: pebble!("certbot-nohost.txt"),
            family: "dns-no-address",
            stage: Stage::Primary,
            id: "nohost.example.com",
            method: Some("http-01"),
            address: None,
            status: None,
            says: "found no usable A or AAAA record for nohost.example.com",
        },
        Real {
            source: "certbot 2.1 + Pebble 2.4 validateHTTP01, wrong body",
            input: pebble!("certbot-body.txt"),
            family: "wrong-body",
            stage: Stage::Primary,
            id: "body.example.com",
            method: Some("http-01"),
            address: None,
            status: None,
            says: "was not this challenge's key authorization",
        },
        Real {
            source: "certbot 2.1 manual hook + Pebble 2.4 validateDNS01, no TXT",
            input: pebble!("certbot-txtnone.txt"),
            family: "txt-missing",
            stage: Stage::Primary,
            id: "notxt.example.com",
            method: Some("dns-01"),
            address: None,
            status: None,
            says: "dig +norec TXT _acme-challenge.notxt.example.com",
        },
        Real {
            source: "certbot 2.1 manual hook + Pebble 2.4 validateDNS01, wrong TXT, apex + wildcard",
            input: pebble!("certbot-txtwrong.txt"),
            family: "txt-incorrect",
            stage: Stage::Primary,
            id: "dns.example.com",
            method: Some("dns-01"),
            address: None,
            status: None,
            says: "an apex and its wildcard share this name",
        },
        Real {
            source: "certbot 2.1 manual hook + Pebble 2.4 getTXTEntry, SERVFAIL as '\\x02'",
            input: pebble!("certbot-servfail.txt"),
            family: "dns-servfail",
            stage: Stage::Primary,
            id: "sf.example.com",
            method: Some("dns-01"),
            address: None,
            status: None,
            says: "dig +norec TXT _acme-challenge.sf.example.com @<ns>",
        },
        Real {
            source: "certbot 2.1 letsencrypt.log, manual hook that printed wait-txt's lines",
            input: pebble!("letsencrypt-manual-hook.log"),
            family: "txt-incorrect",
            stage: Stage::Primary,
            id: "hook.example.com",
            method: Some("dns-01"),
            address: None,
            status: None,
            says: "mpic-check wait-txt hook.example.com",
        },
        Real {
            source: "Pebble va/va.go getTXTEntry format, NXDOMAIN (rcode 3) as certbot prints it",
            input: "  Domain: gone.example.com\n  Type:   unauthorized\n  Detail: Error retrieving \
                    TXT records for DNS challenge (\"DNS lookup for \\\"_acme-challenge.gone.\
                    example.com\\\" returned an unsuccessful response: '\\\\x03'\")\n",
            family: "dns-nxdomain",
            stage: Stage::Primary,
            id: "gone.example.com",
            method: Some("dns-01"),
            address: None,
            status: None,
            says: "wait-txt",
        },
        Real {
            source: "Pebble without -dnsserver: Go `lookup … on …: no such host`",
            input: "Error retrieving TXT records for DNS challenge (\"lookup \
                    _acme-challenge.nx.example.com on 127.0.0.53:53: no such host\")",
            family: "dns-nxdomain",
            stage: Stage::Primary,
            id: "nx.example.com",
            method: Some("dns-01"),
            address: None,
            status: None,
            says: "_acme-challenge.nx.example.com",
        },
        Real {
            source: "Pebble fetchHTTP, Go dial timeout to an IPv4 address",
            input: "  Domain: fw.example.com\n  Type:   connection\n  Detail: Get \
                    \"http://fw.example.com/.well-known/acme-challenge/tok\": dial tcp \
                    127.0.60.20:80: i/o timeout\n",
            family: "connect-timeout",
            stage: Stage::Primary,
            id: "fw.example.com",
            method: Some("http-01"),
            address: Some("127.0.60.20"),
            status: None,
            says: "could not open a TCP connection to port 80 at 127.0.60.20",
        },
        Real {
            source: "Pebble fetchHTTP, Go connection refused on IPv6",
            input: "  Domain: v6.example.com\n  Type:   connection\n  Detail: Get \
                    \"http://v6.example.com/.well-known/acme-challenge/tok\": dial tcp \
                    [2001:db8::1]:80: connect: connection refused\n",
            family: "connection-refused",
            stage: Stage::Primary,
            id: "v6.example.com",
            method: Some("http-01"),
            address: Some("2001:db8::1"),
            status: None,
            says: "port 80 at 2001:db8::1 was refused",
        },
        Real {
            source: "acme.sh issue(): `$d: Invalid status. Verification error details: …`",
            input: "[Sat Jun 20 04:12:08 UTC 2026] www.example.com: Invalid status. \
                    Verification error details: 203.0.113.7: Fetching \
                    http://www.example.com/.well-known/acme-challenge/tok: Connection refused",
            family: "connection-refused",
            stage: Stage::Primary,
            id: "www.example.com",
            method: Some("http-01"),
            address: Some("203.0.113.7"),
            status: None,
            says: "Nothing listens on port 80",
        },
        Real {
            source: "lego acme/errors.go ProblemDetails.Error around a Pebble detail",
            input: "2026/06/20 04:12:08 [INFO] [api.example.com] acme: error: 403 :: POST :: \
                    https://127.0.0.1:14000/chalZ/abc :: urn:ietf:params:acme:error:unauthorized \
                    :: Non-200 status code from HTTP: \
                    http://api.example.com:5002/.well-known/acme-challenge/tok returned 404",
            family: "http-status",
            stage: Stage::Primary,
            id: "api.example.com",
            method: Some("http-01"),
            address: None,
            status: Some(404),
            says: "The file is not where the web server serves from",
        },
        Real {
            source: "lego, Boulder va/dns.go validateTXT `Incorrect TXT record %q%s found at %s`",
            input: "[example.org] acme: error: 403 :: urn:ietf:params:acme:error:unauthorized :: \
                    Incorrect TXT record \"abc\" (and 1 more) found at _acme-challenge.example.org",
            family: "txt-incorrect",
            stage: Stage::Primary,
            id: "example.org",
            method: Some("dns-01"),
            address: None,
            status: None,
            says: "dig +norec TXT _acme-challenge.example.org",
        },
        Real {
            source: "lego challenge/dns01/client_nameservers.go + internal/wait/wait.go, no TXT",
            input: "2026/06/20 04:14:07 [example.org] dns01: time limit exceeded: last error: NS \
                    ns2.example.org.:53 did not return the expected TXT record [fqdn: \
                    _acme-challenge.example.org., value: LHDhK3oGRvkiefQnx7OOczTY5Tic_xZ6HcMO]: ",
            family: "txt-missing",
            stage: Stage::Unknown,
            id: "example.org",
            method: Some("dns-01"),
            address: None,
            status: None,
            says: "gave up before the CA was asked: nameserver ns2.example.org did not serve",
        },
        Real {
            source: "lego v4 client_nameservers.go, another value found",
            input: "[example.org] propagation: time limit exceeded: last error: NS \
                    ns2.example.org.:53 did not return the expected TXT record [fqdn: \
                    _acme-challenge.example.org., value: LHDhK3oG]: old-value-1",
            family: "txt-incorrect",
            stage: Stage::Unknown,
            id: "example.org",
            method: Some("dns-01"),
            address: None,
            status: None,
            says: "served other TXT values at _acme-challenge.example.org",
        },
        Real {
            source: "lego internal/errutils/domains.go around client_nameservers.go's RCODE error",
            input: "error: one or more domains had a problem: [example.org: propagation: time \
                    limit exceeded: last error: NS ns1.example.org.:53 returned NXDOMAIN for \
                    _acme-challenge.example.org.]",
            family: "dns-nxdomain",
            stage: Stage::Unknown,
            id: "example.org",
            method: Some("dns-01"),
            address: None,
            status: None,
            says: "nameserver ns1.example.org answered NXDOMAIN for _acme-challenge.example.org",
        },
        Real {
            source: "Boulder va/caa.go DoCAA + bdns/problem.go, CAA SERVFAIL at the primary",
            input: "While processing CAA for shop.example.com: DNS problem: SERVFAIL looking up \
                    CAA for shop.example.com - the domain's nameservers may be malfunctioning",
            family: "caa-lookup-failed",
            stage: Stage::Caa,
            id: "shop.example.com",
            method: None,
            address: None,
            status: None,
            says: "dig +norec CAA shop.example.com",
        },
        Real {
            source: "Boulder va/va.go doRemoteOperation around va/http.go, a remote 403",
            input: "During secondary validation: 198.51.100.4: Invalid response from \
                    http://www.example.com/.well-known/acme-challenge/tok: 403",
            family: "http-geoblocked",
            stage: Stage::Remote,
            id: "www.example.com",
            method: Some("http-01"),
            address: Some("198.51.100.4"),
            status: Some(403),
            says: "The CA's own (primary) check passed",
        },
        Real {
            source: "Boulder ratelimits/limiter.go, failed authorizations",
            input: "too many failed authorizations (5) for \"www.example.com\" in the last 1h0m0s, \
                    retry after 2026-06-20 05:00:00 UTC: see \
                    https://letsencrypt.org/docs/rate-limits/#authorization-failures-per-hostname-per-account",
            family: "rate-limit",
            stage: Stage::Unknown,
            id: "www.example.com",
            method: None,
            address: None,
            status: None,
            says: "too many failed validations",
        },
    ]
}

#[test]
fn genuine_texts_are_read_as_the_user_needs() {
    for c in reals() {
        let all = explain(c.input);
        assert_eq!(all.len(), 1, "{}: {all:#?}", c.source);
        let e = &all[0];
        let s = c.source;
        assert!(e.recognised, "{s}");
        assert_eq!(e.family, c.family, "{s}");
        assert_eq!(e.stage, c.stage, "{s}");
        assert_eq!(e.identifier.as_deref(), Some(c.id), "{s}");
        assert_eq!(e.address.as_deref(), c.address, "{s}");
        assert_eq!(e.status, c.status, "{s}");
        let mut args = Vec::new();
        if let Some(m) = c.method {
            args.extend(["--method", m]);
        }
        args.push(c.id);
        assert_eq!(e.suggested_args, args, "{s}");
        let told = format!("{} {}", e.meaning, e.checklist.join(" "));
        assert!(told.contains(c.says), "{s}: {told}");
        // The advice matches the method: no challenge-directory advice for dns-01, no TXT
        // advice for http-01.
        match c.method {
            Some("dns-01") => assert!(
                !told.contains("challenge directory") && !told.contains("webroot"),
                "{s}: {told}"
            ),
            Some("http-01") => assert!(!told.contains("TXT _acme-challenge"), "{s}: {told}"),
            _ => {}
        }
    }
}

#[test]
fn an_apex_and_its_wildcard_point_at_the_shared_txt_name() {
    let e = &explain(pebble!("certbot-txtwrong.txt"))[0];
    assert_eq!(
        e.likely_findings.first(),
        Some(&"txt-shared-name"),
        "{e:#?}"
    );
}

/// `wait-txt`'s lines say "remote perspectives"; before they were skipped, a log that
/// captured them became a remote quorum failure.
#[test]
fn wait_txt_lines_are_not_a_ca_message() {
    for input in [
        "ready: 2 value(s) at _acme-challenge.example.com on all 4 nameserver address(es) and \
         5/6 remote perspectives (primary ok) after 12.3 s",
        " mpic-check wait-txt: 2 s: waiting: eu-central does not see it yet; ap-southeast does \
         not see it yet",
        "timeout after 600 s: ns2.example.com@192.0.2.53 lacks \"abc\"; eu-west does not see it \
         yet",
        "Dec 06 03:00:01 host certbot[812]: mpic-check wait-txt: 0 s: waiting: \
         ns1.example.com@192.0.2.1 did not answer: connection refused",
        "$ mpic-check --method http-01 www.example.com",
    ] {
        let e = explain(input);
        assert_eq!(e.len(), 1, "{input}: {e:#?}");
        assert!(!e[0].recognised, "{input}: {e:#?}");
    }
    let hook = explain(pebble!("letsencrypt-manual-hook.log"));
    assert!(hook.iter().all(|e| e.stage != Stage::Remote), "{hook:#?}");
}

/// A table report pasted with certbot's output: the report quotes CA wording as evidence
/// (`Timeout during connect`, `CAA record for … prevents issuance`), which is not the CA's.
#[test]
fn a_pasted_report_is_not_read_as_ca_messages() {
    let report = include_str!(
        "../report/snapshots/mpic_check__report__table__tests__snapshot_failing_100.snap"
    );
    let report = report.splitn(5, "\n").last().unwrap_or_default();
    let input = format!("{report}\n{}", pebble!("certbot-403.txt"));
    let e = explain(&input);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(
        (e[0].family, e[0].identifier.as_deref()),
        ("http-status", Some("www.example.com"))
    );
    // A report cut short before its `Result:` line hides nothing that follows it.
    let cut = report.split("\nCoverage:").next().unwrap_or_default();
    let e = explain(&format!("{cut}\n{}", pebble!("certbot-403.txt")));
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(e[0].family, "http-status", "{e:#?}");
    // The report alone has nothing of the CA's.
    let e = explain(report);
    assert!(!e[0].recognised, "{e:#?}");
    // Nor has explain's own output, or a JSON report of the tool.
    let own = "http-status (primary check) for www.example.com\n  The CA fetched \
               http://www.example.com/.well-known/acme-challenge/t and got HTTP 403 instead of \
               200. Invalid response from http://www.example.com/.well-known/acme-challenge/t: \
               403\n  status: HTTP 403\n";
    assert!(!explain(own)[0].recognised, "{:#?}", explain(own));
    let json = r#"{"tool": {"name": "mpic-check", "version": "0.1.0"}, "identifiers": [{"findings":
        [{"code": "http-geoblocked", "evidence": ["eu-central: Timeout during connect (likely firewall problem)"]}]}]}"#;
    assert!(!explain(json)[0].recognised, "{:#?}", explain(json));
}

/// certbot's `Type: dns` is the last word on the method when the detail names no lookup.
#[test]
fn certbot_type_dns_decides_the_method_when_nothing_else_does() {
    let e =
        &explain("  Domain: odd.example.com\n  Type:   dns\n  Detail: DNS problem: query failed\n")
            [0];
    assert_eq!(
        e.suggested_args,
        ["--method", "dns-01", "odd.example.com"],
        "{e:#?}"
    );
}

/// Go network errors and generic rate-limit words also appear when a client cannot reach its
/// CA or its DNS provider's API: on a bare line they are no CA's validation failure.
#[test]
fn a_client_that_cannot_reach_its_ca_or_dns_api_is_no_validation_failure() {
    for line in [
        "2026/06/20 04:12:01 [WARN] Get \"https://acme-v02.api.letsencrypt.org/directory\": dial \
         tcp: lookup acme-v02.api.letsencrypt.org on 127.0.0.53:53: no such host",
        "2026/06/20 04:12:01 [INFO] cloudflare: rate limit exceeded, retrying in 2s",
        "Get \"https://acme-v02.api.letsencrypt.org/directory\": context deadline exceeded",
    ] {
        let e = explain(line);
        assert!(!e[0].recognised, "{line}: {e:#?}");
    }
}
