//! The Open MPIC engine against the one fake Open MPIC endpoint ([`crate::support::openmpic`]),
//! through the library: both response shapes deployments send, CAA, HTTP-01 and DNS-01 answers
//! mapped per perspective, API key hygiene (403 and 401, an echoed key), requests the spec
//! rejects, garbage and oversized answers, the time limit, and the fake's echo knob.

use std::time::Duration;

use mpic_check::engines::openmpic::{MpicResult, OpenMpic, OpenMpicConfig};
use mpic_check::observation::{Check, Observation, Phase, Rir, Signature};
use serde_json::json;
use url::Url;

use crate::support::lo;
use crate::support::openmpic::{Answer, FakeOpenMpic, KEY, Setup};

const CAA_VALID: &str = include_str!("fixtures/openmpic/caa-valid-example.json");
const CAA_FORBID: &str = include_str!("fixtures/openmpic/caa-forbid-nested.json");
const HTTP_INVALID: &str = include_str!("fixtures/openmpic/dcv-http01-invalid-nested.json");
const DNS_VALID: &str = include_str!("fixtures/openmpic/dcv-dns01-valid-nested.json");

const TOKEN: &str = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";
const KEY_AUTH: &str =
    "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0.nIb4z1-9dGkC7sGQKbR8VHBdBQ6GCuY6QK1hVn5nRbQ";
const HASH: &str = "9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";

fn engine(api: &FakeOpenMpic, path: &str, key: Option<&str>, timeout: Duration) -> OpenMpic {
    OpenMpic::new(OpenMpicConfig {
        url: Url::parse(&api.url(path)).unwrap(),
        api_key: key.map(str::to_string),
        timeout,
    })
    .unwrap()
}

fn by<'a>(r: &'a MpicResult, code: &str) -> &'a Observation {
    r.observations
        .iter()
        .find(|o| o.perspective == format!("openmpic-{code}"))
        .unwrap()
}

#[tokio::test]
async fn caa_valid_in_the_spec_example_s_flat_shape() {
    let mpic_api = FakeOpenMpic::start(lo(0, 41, 1), Setup::body(CAA_VALID));
    let mpic = engine(&mpic_api, "/", Some(KEY), Duration::from_secs(5));
    let r = mpic.caa("example.com", "letsencrypt.org").await.unwrap();
    assert!(r.is_valid && r.mpic_completed);
    assert_eq!(r.quorum, Some((6, 4)));
    assert_eq!(r.attempt_count, Some(1));
    assert_eq!(r.observations.len(), 6);
    for o in &r.observations {
        assert!(o.ok && !o.perspective_fault, "{o:?}");
        assert_eq!(o.check, Check::Caa);
        assert_eq!(o.signature.to_string(), "permit");
        assert_eq!(o.caa.as_ref().unwrap().decision.to_string(), "permit");
    }
    assert_eq!(r.observations[0].perspective, "openmpic-us-east-2");
    assert_eq!(
        r.rirs,
        vec![
            ("us-east-2".to_string(), Some(Rir::Arin)),
            ("eu-west-2".to_string(), Some(Rir::Ripe)),
            ("ap-northeast-2".to_string(), Some(Rir::Apnic)),
            ("ap-southeast-1".to_string(), Some(Rir::Apnic)),
            ("eu-central-1".to_string(), Some(Rir::Ripe)),
            ("us-west-2".to_string(), Some(Rir::Arin)),
        ]
    );
    let s = mpic_api.requests();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].path, "/mpic");
    assert_eq!(s[0].key.as_deref(), Some(KEY));
    assert_eq!(s[0].body["check_type"], "caa");
    assert_eq!(
        s[0].body["caa_check_parameters"]["caa_domains"],
        json!(["letsencrypt.org"])
    );
}

#[tokio::test]
async fn caa_forbidden_in_the_schema_s_nested_shape() {
    let mpic_api = FakeOpenMpic::start(lo(0, 41, 1), Setup::body(CAA_FORBID));
    let mpic = engine(&mpic_api, "/mpic", Some(KEY), Duration::from_secs(5));
    let r = mpic
        .caa("shop.example.com", "letsencrypt.org")
        .await
        .unwrap();
    assert!(!r.is_valid);
    let o = by(&r, "us-west-1");
    assert!(!o.ok && !o.perspective_fault);
    assert_eq!(o.signature.to_string(), "forbid");
    let c = o.caa.as_ref().unwrap();
    assert_eq!(c.found_at.as_deref(), Some("example.com"));
    assert_eq!(c.records[0].flags, 0);
    assert_eq!(c.records[0].tag, "issue");
    assert_eq!(c.records[0].value, "digicert.com");
    assert!(
        o.summary.contains("prevents issuance by letsencrypt.org"),
        "{}",
        o.summary
    );
    // A lookup error is the domain's DNS as that region sees it, not the engine's fault.
    let me = by(&r, "me-central-1");
    assert!(!me.ok && !me.perspective_fault, "{me:?}");
    assert_eq!(me.phase, Some(Phase::Timeout));
    assert_eq!(me.signature.to_string(), "error");
    assert_eq!(me.caa.as_ref().unwrap().decision.to_string(), "error");
}

#[tokio::test]
async fn dcv_http01_invalid_with_errors() {
    let mpic_api = FakeOpenMpic::start(lo(0, 41, 1), Setup::body(HTTP_INVALID));
    let mpic = engine(&mpic_api, "", Some(KEY), Duration::from_secs(5));
    let r = mpic
        .dcv_http01("example.com", TOKEN, KEY_AUTH)
        .await
        .unwrap();
    assert!(!r.is_valid);
    assert_eq!(r.observations.len(), 6);
    let ok = by(&r, "us-east-1");
    assert!(ok.ok);
    assert_eq!(ok.signature.to_string(), "expected");
    let h = ok.http.as_ref().unwrap();
    assert_eq!(h.hops.len(), 2);
    assert_eq!(h.hops[0].status, Some(301));
    assert_eq!(h.hops[1].address.as_deref(), Some("93.184.215.14"));
    assert_eq!(
        h.body_prefix.as_deref(),
        Some(KEY_AUTH),
        "base64 page decoded"
    );
    let blocked = by(&r, "ap-southeast-1");
    assert!(!blocked.ok && !blocked.perspective_fault);
    assert_eq!(blocked.signature.to_string(), "status:403");
    assert_eq!(blocked.phase, Some(Phase::Http));
    let slow = by(&r, "sa-east-1");
    assert!(
        !slow.ok && !slow.perspective_fault,
        "a region timing out is evidence: {slow:?}"
    );
    assert_eq!(slow.phase, Some(Phase::Timeout));
    assert!(
        slow.summary.contains("Connection timed out"),
        "{}",
        slow.summary
    );
    let broken = by(&r, "eu-central-1");
    assert!(broken.perspective_fault, "{broken:?}");
    assert_eq!(broken.phase, Some(Phase::Proxy));
    assert!(
        broken
            .summary
            .contains("Communication with the remote perspective failed")
    );
    let stale = by(&r, "onprem-lab-1");
    assert!(
        !stale.ok && matches!(stale.signature, Signature::Mismatch(_)),
        "{stale:?}"
    );
    assert!(
        stale.summary.contains("old-token.old-thumbprint"),
        "{}",
        stale.summary
    );
    assert!(
        r.rirs.contains(&("onprem-lab-1".to_string(), None)),
        "unknown code → no RIR"
    );
    assert!(
        r.rirs
            .contains(&("sa-east-1".to_string(), Some(Rir::Lacnic)))
    );
    let body = &mpic_api.requests()[0].body;
    assert_eq!(
        body["dcv_check_parameters"]["validation_method"],
        "acme-http-01"
    );
    assert_eq!(body["dcv_check_parameters"]["token"], TOKEN);
    assert_eq!(body["dcv_check_parameters"]["key_authorization"], KEY_AUTH);
}

#[tokio::test]
async fn dcv_dns01_valid() {
    let mpic_api = FakeOpenMpic::start(lo(0, 41, 1), Setup::body(DNS_VALID));
    let mpic = engine(&mpic_api, "/prod/mpic", Some(KEY), Duration::from_secs(5));
    let r = mpic.dcv_dns01("*.example.com", HASH).await.unwrap();
    assert!(r.is_valid);
    for o in &r.observations {
        assert!(o.ok, "{o:?}");
        assert_eq!(o.check, Check::Dns01);
        assert_eq!(o.txt.len(), 2);
        assert!(o.txt.contains(&HASH.to_string()));
        assert_eq!(o.signature.to_string(), o.txt.join("|"));
        let ex = &o.dns[0];
        assert_eq!(ex.qname, "_acme-challenge.example.com");
        assert_eq!(ex.rcode.as_deref(), Some("NOERROR"));
        assert!(ex.ad);
    }
    let s = mpic_api.requests();
    assert_eq!(
        s[0].path, "/prod/mpic",
        "a full endpoint URL is kept as given"
    );
    assert_eq!(
        s[0].body["domain_or_ip_target"], "example.com",
        "wildcard base"
    );
    assert_eq!(
        s[0].body["dcv_check_parameters"]["key_authorization_hash"],
        HASH
    );
}

#[tokio::test]
async fn a_bad_key_is_refused_and_never_printed() {
    let mpic_api = FakeOpenMpic::start(lo(0, 41, 1), Setup::body(CAA_VALID));
    let wrong = "mpic-WRONG-0f9e8d7c6b5a4";
    let mpic = engine(&mpic_api, "/", Some(wrong), Duration::from_secs(5));
    let e = mpic
        .caa("example.com", "letsencrypt.org")
        .await
        .unwrap_err();
    assert!(
        e.contains("refused the request (HTTP 403: Forbidden)"),
        "{e}"
    );
    assert!(e.contains("check the API key") && !e.contains(wrong), "{e}");
    // The containers answer 401; this one even echoes the key back.
    let mpic_api = FakeOpenMpic::start(lo(0, 41, 1), Setup::new(Answer::Unauthorized));
    let cfg = OpenMpicConfig {
        url: Url::parse(&mpic_api.url("/")).unwrap(),
        api_key: Some(KEY.into()),
        timeout: Duration::from_secs(5),
    };
    assert!(!format!("{cfg:?}").contains(KEY));
    let mpic = OpenMpic::new(cfg.clone()).unwrap();
    assert!(!format!("{mpic:?}").contains(KEY));
    let e = mpic.dcv_dns01("example.com", HASH).await.unwrap_err();
    assert!(
        e.contains("HTTP 401") && e.contains("Invalid API key ***"),
        "{e}"
    );
    assert!(!e.contains(KEY), "{e}");
    let mut remote = cfg;
    remote.url = Url::parse("http://mpic.example.net/mpic").unwrap();
    let e = OpenMpic::new(remote).unwrap_err();
    assert!(e.contains("plain http") && !e.contains(KEY), "{e}");
}

#[tokio::test]
async fn requests_the_spec_rejects_come_back_as_errors() {
    let mpic_api = FakeOpenMpic::start(lo(0, 41, 1), Setup::body(CAA_VALID));
    let mpic = engine(&mpic_api, "/", Some(KEY), Duration::from_secs(5));
    let e = mpic.dcv_http01("example.com", TOKEN, "").await.unwrap_err();
    assert!(
        e.contains("HTTP 400") && e.contains("key_authorization"),
        "{e}"
    );
    assert_eq!(mpic_api.requests()[0].status, 400);
}

#[tokio::test]
async fn non_json_garbage_is_an_error_with_an_escaped_excerpt() {
    let mpic_api = FakeOpenMpic::start(lo(0, 41, 1), Setup::new(Answer::Garbage));
    let mpic = engine(&mpic_api, "/", Some(KEY), Duration::from_secs(5));
    let e = mpic
        .caa("example.com", "letsencrypt.org")
        .await
        .unwrap_err();
    assert!(
        e.contains("not JSON") && e.contains("502 Bad Gateway"),
        "{e}"
    );
    assert!(!e.contains('\x1b'), "terminal escapes are neutralised: {e}");
}

#[tokio::test]
async fn oversized_responses_are_not_read_past_one_mib() {
    for length in [true, false] {
        let mpic_api = FakeOpenMpic::start(lo(0, 41, 1), Setup::new(Answer::Huge { length }));
        let mpic = engine(&mpic_api, "/", Some(KEY), Duration::from_secs(5));
        let e = mpic
            .caa("example.com", "letsencrypt.org")
            .await
            .unwrap_err();
        assert!(e.contains("over 1 MiB"), "{e}");
    }
}

#[tokio::test]
async fn a_silent_endpoint_is_bounded_by_the_timeout() {
    let mpic_api = FakeOpenMpic::start(
        lo(0, 41, 1),
        Setup::new(Answer::Slow(Duration::from_secs(30))),
    );
    let mpic = engine(&mpic_api, "/", Some(KEY), Duration::from_millis(800));
    let start = std::time::Instant::now();
    let e = mpic
        .caa("example.com", "letsencrypt.org")
        .await
        .unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(3));
    assert!(e.contains("no answer within 800ms"), "{e}");
}

#[tokio::test]
async fn the_echo_knob_fills_every_server_field_of_a_successful_answer() {
    const S: &str = "ECHO-4f1c9e";
    let mpic_api = FakeOpenMpic::start(lo(0, 41, 1), Setup::echo(S));
    let mpic = engine(&mpic_api, "/", Some(KEY), Duration::from_secs(5));
    let caa = mpic.caa("example.com", "letsencrypt.org").await.unwrap();
    let http = mpic
        .dcv_http01("example.com", TOKEN, KEY_AUTH)
        .await
        .unwrap();
    let dns = mpic.dcv_dns01("example.com", HASH).await.unwrap();
    for r in [&caa, &http, &dns] {
        assert!(r.is_valid && r.mpic_completed, "{r:?}");
        assert_eq!(r.observations.len(), 2, "both response shapes");
        assert!(r.rirs.iter().all(|(code, _)| code == S), "{:?}", r.rirs);
        for o in &r.observations {
            assert!(o.ok, "a successful answer: {o:?}");
            assert_eq!(o.perspective, format!("openmpic-{S}"));
        }
    }
    for o in &caa.observations {
        let c = o.caa.as_ref().unwrap();
        assert_eq!(c.found_at.as_deref(), Some(S));
        assert!(c.records.iter().all(|r| r.value == S), "{c:?}");
    }
    for o in &http.observations {
        let h = o.http.as_ref().unwrap();
        assert_eq!(h.body_prefix.as_deref(), Some(S), "raw and base64 pages");
        assert!(h.hops.iter().all(|hop| hop.url == S), "{h:?}");
        assert_eq!(h.hops.last().unwrap().address.as_deref(), Some(S));
    }
    for o in &dns.observations {
        assert_eq!(o.txt, vec![S.to_string()]);
        assert_eq!(o.dns[0].answers[0].name, S);
        assert!(o.dns[0].cname_chain.contains(&S.to_string()));
        assert!(o.dns[0].error.as_deref().is_some_and(|e| e.contains(S)));
    }
}
