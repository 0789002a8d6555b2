//! The Globalping engine against the one fake Globalping API ([`crate::support::globalping`]),
//! through the library: probe pinning across checks and redirects, rate limits and Retry-After,
//! ETag polling within the guideline, probes that do not exist, token hygiene, the overall time
//! limit, geoblocked and failed probe results, disallowed redirects and malformed API answers.
//! HTTP results are canned from the documented examples in `tests/fixtures/globalping/`; DNS is
//! answered from the fake's record map.

use std::time::{Duration, Instant};

use mpic_check::config::engine::{Location, LocationSpec};
use mpic_check::engines::globalping::{Globalping, GlobalpingConfig, PROBE_USER_AGENT};
use mpic_check::observation::{Check, Phase, Rir};
use serde_json::{Value, json};
use url::Url;

use crate::support::globalping::{ApiRequest, FakeGlobalping, Setup, standard_probes};
use crate::support::lo;

const HTTP_301: &str = include_str!("fixtures/globalping/measurement-http-301.json");
const HTTP_200: &str = include_str!("fixtures/globalping/measurement-http-200.json");
const HTTP_403: &str = include_str!("fixtures/globalping/measurement-http-403.json");
const HTTP_FAILED: &str = include_str!("fixtures/globalping/measurement-http-failed.json");

const TOKEN: &str = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";
const KEY_AUTH: &str =
    "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0.nIb4z1-9dGkC7sGQKbR8VHBdBQ6GCuY6QK1hVn5nRbQ";
const TXT_A: &str = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";
const TXT_B: &str = "9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";
const V4: &str = "93.184.215.14";
const V6: &str = "2606:2800:21f:cb07:6820:80da:af6b:8b2c";

/// The `result` object of a fixture measurement, as a template.
fn template(s: &str) -> Value {
    serde_json::from_str::<Value>(s).unwrap()["results"][0]["result"].clone()
}

fn http_result(fixture_text: &str, status: u16, location: Option<&str>, body: &str) -> Value {
    let mut r = template(fixture_text);
    r["statusCode"] = json!(status);
    r["rawBody"] = json!(body);
    match location {
        Some(l) => r["headers"]["location"] = json!(l),
        None => {
            if let Some(h) = r["headers"].as_object_mut() {
                h.remove("location");
            }
        }
    }
    r
}

/// The standard site: port 80 redirects to https, https serves the key authorization.
fn redirecting_site(proto: &str, _port: u64, host: &str, path: &str) -> Value {
    if proto == "HTTP" {
        http_result(HTTP_301, 301, Some(&format!("https://{host}{path}")), "")
    } else {
        http_result(HTTP_200, 200, None, KEY_AUTH)
    }
}

/// The fake with one probe on each of `continents`, all serving [`redirecting_site`], records
/// for example.com and its challenge name, and the 500 ms polling guideline (minus a little
/// scheduling slack) enforced; `tune` adjusts the rest.
fn fake(continents: &[&str], tune: impl FnOnce(Setup) -> Setup) -> FakeGlobalping {
    let probes = standard_probes()
        .into_iter()
        .filter(|p| continents.contains(&p.continent))
        .collect();
    let mut setup = Setup::new(0)
        .probes(probes)
        .record("*", "example.com", "A", V4)
        .record("*", "example.com", "AAAA", V6)
        .record("*", "_acme-challenge.example.com", "TXT", TXT_B)
        .record("*", "_acme-challenge.example.com", "TXT", TXT_A)
        .min_poll_gap(Duration::from_millis(450));
    for c in continents {
        setup = setup.http_answer(c, redirecting_site);
    }
    FakeGlobalping::start(lo(0, 40, 1), tune(setup))
}

fn loc(name: &str, spec: LocationSpec, rir: Rir) -> Location {
    Location {
        name: name.into(),
        rir,
        spec,
    }
}

fn engine(
    gp: &FakeGlobalping,
    locations: Vec<Location>,
    token: Option<&str>,
    timeout: Duration,
) -> Globalping {
    Globalping::new(GlobalpingConfig {
        api_url: Url::parse(&gp.url()).unwrap(),
        token: token.map(str::to_string),
        locations,
        timeout,
    })
    .unwrap()
}

/// An engine without a token and with a 10 s limit, the common case.
fn anonymous(gp: &FakeGlobalping, locations: Vec<Location>) -> Globalping {
    engine(gp, locations, None, Duration::from_secs(10))
}

/// The one European location most tests use.
fn eu() -> Location {
    loc("gp-eu", LocationSpec::Continent("EU".into()), Rir::Ripe)
}

fn posts(gp: &FakeGlobalping) -> Vec<ApiRequest> {
    gp.requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect()
}

fn two_locations() -> Vec<Location> {
    vec![
        eu(),
        loc("gp-na", LocationSpec::Country("us".into()), Rir::Arin),
    ]
}

#[tokio::test]
async fn happy_path_pins_one_probe_per_location_across_checks_and_redirects() {
    let world = fake(&["EU", "NA", "AS"], |s| {
        s.token("gp-secret-token-0123456789").in_progress_polls(1)
    });
    let gp = engine(
        &world,
        two_locations(),
        Some("gp-secret-token-0123456789"),
        Duration::from_secs(20),
    );

    let addrs = gp.address("example.com").await;
    assert_eq!(addrs.len(), 2);
    for o in &addrs {
        assert!(o.ok, "{o:?}");
        assert_eq!(o.check, Check::Address);
        assert_eq!(o.addresses, vec![V4.to_string(), V6.to_string()]);
        assert_eq!(o.signature.to_string(), format!("{V4},{V6}"));
        assert_eq!(o.dns.len(), 2);
        assert!(!o.perspective_fault);
    }
    assert_eq!(addrs[0].perspective, "gp-eu");
    assert_eq!(addrs[1].perspective, "gp-na");
    assert!(
        addrs[0].summary.contains("Frankfurt"),
        "{}",
        addrs[0].summary
    );
    assert!(addrs[1].summary.contains("Ashburn"), "{}", addrs[1].summary);

    let txt = gp
        .txt(
            "_acme-challenge.example.com",
            &[TXT_A.to_string(), TXT_B.to_string()],
        )
        .await;
    for o in &txt {
        assert!(o.ok, "{o:?}");
        assert_eq!(o.txt, vec![TXT_B.to_string(), TXT_A.to_string()]);
    }

    let http = gp.http01("example.com", TOKEN, Some(KEY_AUTH)).await;
    for o in &http {
        assert!(o.ok, "{o:?}");
        assert_eq!(o.signature.to_string(), "expected");
        let h = o.http.as_ref().unwrap();
        assert_eq!(h.hops.len(), 2, "one redirect followed");
        assert_eq!(h.hops[0].status, Some(301));
        assert_eq!(h.hops[1].status, Some(200));
        assert!(
            h.hops[1]
                .url
                .starts_with("https://example.com/.well-known/acme-challenge/")
        );
        assert_eq!(h.user_agent, PROBE_USER_AGENT);
        assert!(o.summary.contains("after 1 redirect(s)"), "{}", o.summary);
        assert!(
            o.summary.contains("own User-Agent") && o.summary.contains("10 KB"),
            "{}",
            o.summary
        );
    }
    assert!(http[0].http.as_ref().unwrap().via.contains("Frankfurt"));
    assert!(http[1].http.as_ref().unwrap().via.contains("Ashburn"));

    // Pinning: per location, one creation by location object, then every later one (A/AAAA,
    // TXT, both HTTP hops) passes that first measurement's id.
    let posts = posts(&world);
    let firsts: Vec<&ApiRequest> = posts
        .iter()
        .filter(|p| p.json()["locations"].is_array())
        .collect();
    assert_eq!(firsts.len(), 2, "one probe choice per location");
    for first in &firsts {
        let id = first.response["id"].as_str().unwrap();
        let reused: Vec<&ApiRequest> = posts
            .iter()
            .filter(|p| p.json()["locations"] == json!(id))
            .collect();
        // AAAA, TXT, HTTP hop 1, HTTP hop 2 (the redirect, re-measured from the same probe).
        assert_eq!(reused.len(), 4, "{id}");
        let hop2 = reused
            .iter()
            .find(|p| p.json()["measurementOptions"]["protocol"] == "HTTPS")
            .expect("the redirect was re-measured");
        assert_eq!(hop2.json()["measurementOptions"]["port"], 443);
        assert_eq!(hop2.json()["target"], "example.com");
    }
    let bearer = "Bearer gp-secret-token-0123456789".to_string();
    let log = world.requests();
    assert!(world.violations().is_empty(), "{:?}", world.violations());
    assert!(
        log.iter().all(|l| l.status != 400 && l.status != 401),
        "every request valid"
    );
    assert!(
        log.iter()
            .all(|l| l.header("authorization") == Some(bearer.as_str())),
        "the token is sent as a bearer token on every request"
    );
    assert!(log.iter().all(|l| {
        l.header("user-agent")
            .is_some_and(|u| u.starts_with("mpic-check/"))
    }));
    assert!(gp.problems().is_empty(), "{:?}", gp.problems());
}

#[tokio::test]
async fn rate_limited_creation_waits_for_retry_after() {
    let world = fake(&["EU"], |s| s.rate_limited_posts(1, 1));
    let gp = anonymous(
        &world,
        vec![loc(
            "gp-eu",
            LocationSpec::Magic("Frankfurt+Germany".into()),
            Rir::Ripe,
        )],
    );
    let start = Instant::now();
    let o = &gp.txt("_acme-challenge.example.com", &[]).await[0];
    assert!(o.ok, "{o:?}");
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    let posts = posts(&world);
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].status, 429);
    assert_eq!(posts[1].status, 202);
    let p = gp.problems();
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].contains("rate limit") && p[0].contains("250 tests per hour"),
        "{}",
        p[0]
    );
}

#[tokio::test]
async fn rate_limit_beyond_the_deadline_is_reported_plainly_as_a_perspective_fault() {
    for token in [None, Some("gp-token-abcdef")] {
        let world = fake(&["EU"], |s| {
            let s = s.rate_limited_posts(10, 3600);
            match token {
                Some(t) => s.token(t),
                None => s,
            }
        });
        let gp = engine(
            &world,
            vec![loc(
                "gp-eu",
                LocationSpec::Tag("aws-eu-central-1".into()),
                Rir::Ripe,
            )],
            token,
            Duration::from_secs(10),
        );
        let start = Instant::now();
        let o = &gp.address("example.com").await[0];
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "no pointless waiting"
        );
        assert!(!o.ok && o.perspective_fault, "{o:?}");
        assert_eq!(o.phase, Some(Phase::Proxy));
        assert!(
            o.summary
                .contains("rate limit reached (HTTP 429, rate_limit_exceeded)"),
            "{}",
            o.summary
        );
        assert!(o.summary.contains("resets in 3600 s"), "{}", o.summary);
        let allowance = if token.is_some() {
            "500 tests per hour"
        } else {
            "anonymous use allows 250"
        };
        assert!(o.summary.contains(allowance), "{}", o.summary);
        assert!(gp.problems()[0].contains(allowance));
    }
}

#[tokio::test]
async fn polling_uses_etags_and_keeps_to_the_guidelines() {
    let world = fake(&["EU"], |s| s.in_progress_polls(3));
    let gp = engine(
        &world,
        vec![loc(
            "gp-eu",
            LocationSpec::Continent("eu".into()),
            Rir::Ripe,
        )],
        None,
        Duration::from_secs(20),
    );
    let o = &gp
        .txt("_acme-challenge.example.com", &[TXT_A.to_string()])
        .await[0];
    assert!(o.ok, "{o:?}");
    let log = world.requests();
    let gets: Vec<&ApiRequest> = log.iter().filter(|l| l.method == "GET").collect();
    assert_eq!(gets.len(), 4, "3 in progress, then final");
    assert!(gets[0].header("if-none-match").is_none());
    for g in &gets[1..] {
        assert!(g.header("if-none-match").is_some(), "{g:?}");
    }
    assert_eq!(
        world.not_modified(),
        2,
        "unchanged in-progress bodies came back as 304"
    );
    assert_eq!(gets[1].status, 304);
    assert_eq!(gets[3].status, 200);
    assert!(world.violations().is_empty(), "{:?}", world.violations());
}

#[tokio::test]
async fn location_without_a_probe_is_a_fault_and_is_not_asked_again() {
    let world = fake(&["EU"], |s| s);
    let gp = anonymous(
        &world,
        vec![
            eu(),
            loc("gp-af", LocationSpec::Continent("AF".into()), Rir::Afrinic),
        ],
    );
    let a = gp.address("example.com").await;
    assert!(a[0].ok);
    let af = &a[1];
    assert_eq!(af.perspective, "gp-af");
    assert!(!af.ok && af.perspective_fault, "{af:?}");
    assert_eq!(af.phase, Some(Phase::Proxy));
    assert!(
        af.summary.contains("no probe available") && af.summary.contains("continent AF"),
        "{}",
        af.summary
    );
    let t = gp.txt("_acme-challenge.example.com", &[]).await;
    assert!(t[1].perspective_fault && t[1].summary.contains("no probe available"));
    let asked_af = posts(&world)
        .iter()
        .filter(|p| p.json()["locations"][0]["continent"] == "AF")
        .count();
    assert_eq!(asked_af, 1, "the missing probe is remembered for the run");
}

#[tokio::test]
async fn the_token_never_appears_in_anything_returned() {
    let secret = "gp-SECRET-0e1d2c3b4a5968778695a4b3c2d1e0f";
    let world = fake(&["EU"], |s| s.token("some-other-token").echo_auth());
    let cfg = GlobalpingConfig {
        api_url: Url::parse(&world.url()).unwrap(),
        token: Some(secret.into()),
        locations: two_locations(),
        timeout: Duration::from_secs(10),
    };
    assert!(!format!("{cfg:?}").contains(secret));
    let gp = Globalping::new(cfg.clone()).unwrap();
    assert!(!format!("{gp:?}").contains(secret));
    let mut all = gp.address("example.com").await;
    all.extend(gp.txt("_acme-challenge.example.com", &[TXT_A.into()]).await);
    all.extend(gp.http01("example.com", TOKEN, None).await);
    assert_eq!(all.len(), 6);
    for o in &all {
        assert!(o.perspective_fault, "{o:?}");
        assert!(
            o.summary.contains("refused the request (HTTP 401)"),
            "{}",
            o.summary
        );
        assert!(!format!("{o:?}").contains(secret), "{o:?}");
        assert!(!serde_json::to_string(o).unwrap().contains(secret));
    }
    let problems = gp.problems();
    assert!(!problems.is_empty());
    for p in &problems {
        assert!(!p.contains(secret), "{p}");
    }
    // Plain http to anything but this machine would expose it.
    let mut remote = cfg.clone();
    remote.api_url = Url::parse("http://api.globalping.example/").unwrap();
    let e = Globalping::new(remote).unwrap_err();
    assert!(e.contains("plain http") && !e.contains(secret), "{e}");
    let mut bad = cfg;
    bad.token = Some(format!("{secret}\r\nX-Evil: 1"));
    let e = Globalping::new(bad).unwrap_err();
    assert!(!e.contains(secret), "{e}");
}

#[tokio::test]
async fn the_whole_call_is_bounded_by_the_timeout() {
    let world = fake(&["EU", "NA"], Setup::never_finish);
    let gp = engine(&world, two_locations(), None, Duration::from_millis(1500));
    let start = Instant::now();
    let obs = gp.http01("example.com", TOKEN, Some(KEY_AUTH)).await;
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_millis(2500),
        "{took:?}"
    );
    for o in &obs {
        assert_eq!(o.phase, Some(Phase::Timeout));
        assert!(o.perspective_fault && !o.ok);
        assert!(o.summary.contains("within 1s 500ms"), "{}", o.summary);
    }
}

#[tokio::test]
async fn a_geoblocked_region_shows_its_probe_s_403() {
    let direct = |_: &str, _: u64, _: &str, _: &str| http_result(HTTP_200, 200, None, KEY_AUTH);
    let world = fake(&["EU", "AS", "NA"], |s| {
        s.http_answer("EU", direct)
            .http_answer("NA", direct)
            .http_answer("AS", |_, _, _, _| template(HTTP_403))
    });
    let gp = anonymous(
        &world,
        vec![
            loc("gp-na", LocationSpec::Continent("NA".into()), Rir::Arin),
            eu(),
            loc("gp-as", LocationSpec::Continent("AS".into()), Rir::Apnic),
        ],
    );
    let obs = gp.http01("example.com", TOKEN, Some(KEY_AUTH)).await;
    assert!(obs[0].ok && obs[1].ok);
    let asia = &obs[2];
    assert_eq!(asia.perspective, "gp-as");
    assert!(
        !asia.ok && !asia.perspective_fault,
        "the region's answer, not the tool's fault"
    );
    assert_eq!(asia.signature.to_string(), "status:403");
    assert_eq!(asia.phase, Some(Phase::Http));
    let h = asia.http.as_ref().unwrap();
    assert_eq!(h.status, Some(403));
    assert!(h.body_prefix.as_deref().unwrap().contains("Access denied"));
    assert!(
        h.hops[0]
            .headers
            .iter()
            .any(|(k, v)| k == "cf-ray" && v.ends_with("-NRT"))
    );
    assert!(asia.summary.contains("Tokyo, JP"), "{}", asia.summary);
}

#[tokio::test]
async fn a_failed_probe_test_is_the_region_s_timeout_not_a_tool_fault() {
    let world = fake(&["SA"], |s| {
        s.http_answer("SA", |_, _, _, _| template(HTTP_FAILED))
    });
    let gp = anonymous(
        &world,
        vec![loc(
            "gp-sa",
            LocationSpec::Country("BR".into()),
            Rir::Lacnic,
        )],
    );
    let o = &gp.http01("example.com", TOKEN, None).await[0];
    assert!(!o.ok && !o.perspective_fault, "{o:?}");
    assert_eq!(o.phase, Some(Phase::Timeout));
    assert_eq!(o.signature.to_string(), "error:timeout");
    assert!(o.summary.contains("Timeout awaiting"), "{}", o.summary);
}

#[tokio::test]
async fn a_redirect_a_ca_would_refuse_is_not_followed() {
    let world = fake(&["EU"], |s| {
        s.http_answer("EU", |_, _, host, path| {
            http_result(
                HTTP_301,
                302,
                Some(&format!("http://{host}:8080{path}")),
                "",
            )
        })
    });
    let gp = anonymous(&world, vec![eu()]);
    let o = &gp.http01("example.com", TOKEN, None).await[0];
    assert_eq!(o.signature.to_string(), "redirect-disallowed");
    assert!(o.summary.contains("Only ports 80 and 443"), "{}", o.summary);
    assert_eq!(
        posts(&world).len(),
        1,
        "the disallowed target was never measured"
    );
}

#[tokio::test]
async fn malformed_json_from_the_api_is_a_perspective_fault() {
    let world = fake(&["EU"], Setup::garbage_polls);
    let gp = anonymous(&world, vec![eu()]);
    let o = &gp.txt("_acme-challenge.example.com", &[]).await[0];
    assert!(o.perspective_fault && !o.ok);
    assert_eq!(o.phase, Some(Phase::Proxy));
    assert!(
        o.summary.contains("not the documented JSON"),
        "{}",
        o.summary
    );
}

#[test]
fn the_fake_rejects_what_the_real_api_rejects() {
    use crate::support::globalping::validate;
    let ok = json!({
        "type": "dns",
        "target": "example.com",
        "inProgressUpdates": false,
        "locations": [{"continent": "EU", "limit": 1}],
        "measurementOptions": {"query": {"type": "TXT"}}
    });
    assert!(validate(&ok, false).is_ok());
    for (path, bad) in [
        ("/measurementOptions/query/type", json!("CAA")),
        ("/locations/0/continent", json!("XX")),
        ("/locations/0/limit", json!(0)),
        ("/measurementOptions/query/class", json!("IN")),
        ("/target", json!("10.0.0.1")),
        ("/type", json!("curl")),
    ] {
        let mut v = ok.clone();
        let (parent, key) = path.rsplit_once('/').unwrap();
        v.pointer_mut(parent).unwrap()[key] = bad;
        assert!(validate(&v, false).is_err(), "{path}");
    }
    let mut extra = ok;
    extra["callback"] = json!("https://example.net/");
    assert!(validate(&extra, false).is_err());
}

#[tokio::test]
async fn the_echo_knob_fills_every_field_of_a_finished_measurement() {
    const S: &str = "ECHO-9b2d71";
    let world = fake(&["EU"], |s| s.echo(S));
    let gp = engine(&world, vec![eu()], None, Duration::from_secs(20));
    let txt = gp.txt("_acme-challenge.example.com", &[]).await;
    assert!(txt[0].ok, "{:?}", txt[0]);
    assert_eq!(txt[0].txt, vec![S.to_string()]);
    let ex = &txt[0].dns[0];
    assert!(
        ex.answers
            .iter()
            .all(|a| a.name.eq_ignore_ascii_case(S) && a.data == S),
        "{ex:?}"
    );
    assert!(ex.server.starts_with(S), "resolver: {}", ex.server);
    assert!(
        txt[0]
            .summary
            .contains(&format!("[Globalping probe {S}, {S}, {S}]")),
        "city, country and network (a string ASN is not a number): {}",
        txt[0].summary
    );
    let http = gp.http01("example.com", TOKEN, None).await;
    let h = http[0].http.as_ref().unwrap();
    assert_eq!(h.body_prefix.as_deref(), Some(S));
    let last = h.hops.last().unwrap();
    assert_eq!(last.address.as_deref(), Some(S));
    assert!(
        last.headers.iter().all(|(k, v)| k == "location" || v == S),
        "{:?}",
        last.headers
    );
    let polled = world
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.response["status"] == "finished")
        .count();
    assert!(polled >= 2, "one finished poll per measurement");
}
