//! End-to-end runs of the real binary with the Globalping engine configured: one local primary
//! (`home`, through a SOCKS5 proxy leaving from 127.0.0.2, like e2e's lab) plus three Globalping
//! locations served by the in-process fake API of [`crate::support::globalping`]. The fake's
//! probes answer DNS from a per-continent GeoDNS map and really fetch the challenge URL from
//! their own 127.0.0.x source address, so an origin that blocks one source address blocks that
//! probe. Each test asserts the exit code, the JSON document and what the fake API received.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

use crate::e2e::{ORIGIN_APAC, ORIGIN_DEFAULT, codes, finding, plain_zone, verdict};
use crate::support::dns::DnsServer;
use crate::support::globalping::{FakeGlobalping, Setup, standard_probes};
use crate::support::http::{Block, HttpOrigin, Site};
use crate::support::lo;
use crate::support::socks::Socks5Proxy;

const NAME: &str = "www.example.test";
/// The three configured locations: (perspective name, continent).
const LOCATIONS: [(&str, &str); 3] = [("gp-eu", "EU"), ("gp-as", "AS"), ("gp-na", "NA")];
/// A recognisable token that must never be printed.
const SECRET: &str = "gp-secret-token-6f1d2c9a7b";

/// The source address the fake's probe on `continent` fetches from.
fn probe_src(continent: &str) -> IpAddr {
    standard_probes()
        .into_iter()
        .find(|p| p.continent == continent)
        .unwrap()
        .src
}

/// A running lab: the primary's resolver, proxy and origins, and the fake Globalping API.
struct GpLab {
    dns: DnsServer,
    origins: HttpOrigin,
    proxy: Socks5Proxy,
    gp: FakeGlobalping,
    dir: tempfile::TempDir,
    config: PathBuf,
}

/// Starts the lab. Origins serve `site(ip)` on both GeoDNS addresses; the fake's probes see
/// `ORIGIN_APAC` from Asia and `ORIGIN_DEFAULT` elsewhere. `tune` adjusts the fake's setup
/// (which already maps port 80 to the origins' port).
fn gp_lab(site: impl Fn(IpAddr) -> Site, tune: impl FnOnce(Setup) -> Setup) -> GpLab {
    let dns = DnsServer::start(lo(0, 0, 53), plain_zone());
    let origins = HttpOrigin::start_many(
        &[
            ORIGIN_DEFAULT.parse().unwrap(),
            ORIGIN_APAC.parse().unwrap(),
        ],
        site,
    );
    let proxy = Socks5Proxy::start(lo(0, 30, 2), lo(0, 0, 2));
    let setup = tune(
        Setup::new(origins.port())
            .record("*", NAME, "A", ORIGIN_DEFAULT)
            .record("AS", NAME, "A", ORIGIN_APAC),
    );
    let gp = FakeGlobalping::start(lo(0, 40, 1), setup);
    let locations: Vec<String> = LOCATIONS
        .iter()
        .map(|(name, continent)| {
            let rir = match *continent {
                "EU" => "RIPE",
                "AS" => "APNIC",
                _ => "ARIN",
            };
            format!("{{ name = \"{name}\", continent = \"{continent}\", rir = \"{rir}\" }}")
        })
        .collect();
    let toml = format!(
        "[defaults]\ntimeout = \"2s\"\n\n\
         [[perspective]]\nname = \"home\"\nrole = \"primary\"\nrir = \"ARIN\"\n\
         dns = \"udp://{}\"\nhttp = \"{}\"\n\n\
         [[engine]]\nkind = \"globalping\"\napi_url = \"{}\"\ntoken_env = \"GLOBALPING_TOKEN\"\n\
         locations = [ {} ]\n",
        dns.addr,
        proxy.url(false),
        gp.url(),
        locations.join(", ")
    );
    let (dir, config) = crate::support::write_config("gp.toml", &toml);
    GpLab {
        dns,
        origins,
        proxy,
        gp,
        dir,
        config,
    }
}

/// What one run printed.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl GpLab {
    /// The binary for this lab; `token` goes into `GLOBALPING_TOKEN` (removed when `None`).
    fn cmd(&self, token: Option<&str>) -> Command {
        let mut c = crate::support::base_cmd(self.dir.path());
        c.env("MPIC_CHECK_HTTP_PORT", self.origins.port().to_string())
            .env("NO_COLOR", "1")
            .arg("--config")
            .arg(&self.config)
            .args(["--as-of", "2026-11-28"])
            .timeout(Duration::from_secs(90));
        if let Some(t) = token {
            c.env("GLOBALPING_TOKEN", t);
        }
        c
    }

    fn run(&self, token: Option<&str>, args: &[&str]) -> Run {
        let started = Instant::now();
        let out = self.cmd(token).args(args).output().unwrap();
        Run {
            code: out.status.code().expect("the binary exited normally"),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
            elapsed: started.elapsed(),
        }
    }

    /// Runs with `--format json`: (run, document).
    fn json(&self, token: Option<&str>) -> (Run, Value) {
        let r = self.run(token, &["--format", "json", NAME]);
        let doc: Value = serde_json::from_str(&r.stdout)
            .unwrap_or_else(|e| panic!("invalid JSON ({e}): {}\nstderr: {}", r.stdout, r.stderr));
        (r, doc)
    }
}

/// The observations of `perspective` for `check`.
fn observations<'a>(doc: &'a Value, perspective: &str, check: &str) -> Vec<&'a Value> {
    doc["identifiers"][0]["observations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["perspective"] == perspective && o["check"] == check)
        .collect()
}

fn one<'a>(doc: &'a Value, perspective: &str, check: &str) -> &'a Value {
    let obs = observations(doc, perspective, check);
    assert_eq!(obs.len(), 1, "{perspective}/{check}: {doc:#}");
    obs[0]
}

#[test]
fn geoblocked_globalping_region_is_detected_end_to_end() {
    let blocked = probe_src("AS");
    let lab = gp_lab(
        |_| Site::new().block_source(blocked, Block::Status(403)),
        |s| s,
    );
    let (run, doc) = lab.json(None);

    // One of the three remotes fails: for http-01 the quorum is still met (2 of 3, one failure
    // tolerated), so that verdict is at risk and the run exits 1. Globalping cannot query CAA, so
    // the CAA verdict has no remote at all: it stays "unknown" but is reported as untested
    // coverage and left out of the outcome, so it does not hide the at-risk http-01 result.
    assert_eq!(run.code, 1, "{doc:#}\nstderr: {}", run.stderr);
    assert_eq!(doc["exit_code"], 1);
    assert_eq!(doc["outcome"], "at-risk", "{doc:#}");
    assert_eq!(verdict(&doc, "http-01")["outcome"], "at-risk", "{doc:#}");
    let caa = verdict(&doc, "caa");
    assert_eq!(
        (
            caa["outcome"].as_str(),
            caa["remotes"].as_u64(),
            caa["primary_ok"].as_bool()
        ),
        (Some("unknown"), Some(0), Some(true)),
        "{caa:#}"
    );

    // The geoblock is named after the Globalping location that hit it.
    let f = finding(&doc, "http-geoblocked");
    assert_eq!(f["perspectives"], serde_json::json!(["gp-as"]), "{f:#}");
    assert_eq!(f["severity"], "warning", "{f:#}");
    let ev = f["evidence"].to_string();
    assert!(ev.contains("gp-as") && ev.contains("403"), "{ev}");

    // The http-01 verdict counts the Globalping locations as the remotes.
    let http = verdict(&doc, "http-01");
    assert_eq!(
        (http["corroborating"].as_u64(), http["remotes"].as_u64()),
        (Some(2), Some(3)),
        "{http:#}"
    );

    // Per-perspective observations: the Asian probe got the 403 from its own GeoDNS origin;
    // the others got the origin's 404 for the random token, which a real challenge passes.
    let as_obs = one(&doc, "gp-as", "http-01");
    assert_eq!(as_obs["ok"], false, "{as_obs:#}");
    assert_eq!(as_obs["perspective_fault"], false, "{as_obs:#}");
    assert_eq!(as_obs["http"]["status"], 403, "{as_obs:#}");
    for name in ["gp-eu", "gp-na"] {
        let o = one(&doc, name, "http-01");
        assert_eq!(o["ok"], true, "{o:#}");
        assert_eq!(o["http"]["status"], 404, "{o:#}");
    }
    assert_eq!(
        one(&doc, "gp-as", "address")["addresses"][0],
        ORIGIN_APAC,
        "{doc:#}"
    );
    assert_eq!(
        one(&doc, "gp-eu", "address")["addresses"][0],
        ORIGIN_DEFAULT
    );
    assert!(
        !codes(&doc).contains(&"perspective-error".to_string()),
        "{doc:#}"
    );
    assert!(
        !codes(&doc).contains(&"engine-unavailable".to_string()),
        "{doc:#}"
    );

    // The origins really saw each probe from its own address, with the probe's User-Agent; the
    // Asian one reached the APAC origin and was refused.
    let reqs = lab.origins.requests();
    let from = |src: IpAddr| reqs.iter().filter(|r| r.src == src).collect::<Vec<_>>();
    let asia = from(blocked);
    assert!(!asia.is_empty(), "{reqs:#?}");
    assert!(
        asia.iter().all(|r| r.local.to_string() == ORIGIN_APAC
            && r.blocked == Some(Block::Status(403))
            && r.host.as_deref() == Some(NAME)
            && r.user_agent.as_deref().unwrap_or("").contains("globalping")),
        "{asia:#?}"
    );
    for c in ["EU", "NA"] {
        let seen = from(probe_src(c));
        assert!(
            !seen.is_empty() && seen.iter().all(|r| r.local.to_string() == ORIGIN_DEFAULT),
            "{c}: {reqs:#?}"
        );
    }
    assert!(!from(lo(0, 0, 2)).is_empty(), "the primary fetched too");

    // The client followed the API's rules: later measurements reuse the first measurement's
    // probe by id, every measurement was polled past in-progress, and the ETag was offered.
    let api = lab.gp.requests();
    assert!(api.iter().all(|r| r.status < 400), "{api:#?}");
    let posts: Vec<Value> = api
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.json())
        .collect();
    assert!(
        posts.iter().any(|p| p["locations"].is_string()),
        "{posts:#?}"
    );
    assert!(posts.iter().any(|p| p["type"] == "http"
        && p["measurementOptions"]["port"] == 80
        && p["measurementOptions"]["request"]["method"] == "GET"));
    let gets = api.iter().filter(|r| r.method == "GET").count();
    assert!(
        gets >= 2 * posts.len(),
        "{gets} polls for {} posts",
        posts.len()
    );
    assert!(
        api.iter().any(|r| r.header("if-none-match").is_some()),
        "no If-None-Match sent"
    );
    assert!(api.iter().all(|r| r.header("authorization").is_none()));
    drop((lab.dns, lab.proxy));
}

#[test]
fn rate_limited_globalping_leaves_the_local_run_intact() {
    // Every request is refused with a Retry-After far beyond the engine's deadline (30 s).
    let lab = gp_lab(|_| Site::new(), |s| s.rate_limited(3600));
    let (run, doc) = lab.json(None);

    // The client does not sleep an hour: it gives up at once.
    assert!(
        run.elapsed < Duration::from_secs(30),
        "took {:?}",
        run.elapsed
    );
    // The primary alone was checked; without any usable remote the quorum cannot be judged:
    // "could not assess" (3).
    assert_eq!(run.code, 3, "{doc:#}\nstderr: {}", run.stderr);
    assert_eq!(doc["exit_code"], 3);
    assert_eq!(one(&doc, "home", "http-01")["ok"], true, "{doc:#}");

    // Every Globalping observation is a perspective fault, not the domain's.
    for (name, _) in LOCATIONS {
        let obs = observations(&doc, name, "http-01")
            .into_iter()
            .chain(observations(&doc, name, "address"))
            .collect::<Vec<_>>();
        assert!(!obs.is_empty(), "{name}: {doc:#}");
        for o in obs {
            assert_eq!(o["perspective_fault"], true, "{o:#}");
            assert_eq!(o["ok"], false, "{o:#}");
            assert!(
                o["summary"].as_str().unwrap().contains("rate limit"),
                "{o:#}"
            );
        }
    }
    let pe = finding(&doc, "perspective-error");
    let mut names: Vec<&str> = pe["perspectives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["gp-as", "gp-eu", "gp-na"], "{pe:#}");
    assert!(
        !codes(&doc).contains(&"http-geoblocked".to_string()),
        "{doc:#}"
    );

    // What was lost is said once, with the allowance and the reset time.
    let lost = finding(&doc, "engine-unavailable");
    assert_eq!(lost["severity"], "warning");
    let ev = lost["evidence"].to_string();
    assert!(
        ev.contains("globalping")
            && ev.contains("HTTP 429")
            && ev.contains("rate_limit_exceeded")
            && ev.contains("resets in 3600 s"),
        "{ev}"
    );
    let http = verdict(&doc, "http-01");
    assert_eq!(http["remotes"], 0, "{http:#}");

    // No measurement was retried in a loop: one POST per measurement attempt at most.
    let api = lab.gp.requests();
    assert!(api.iter().all(|r| r.status == 429), "{api:#?}");
    assert!(api.iter().all(|r| r.method == "POST"), "{api:#?}");
    assert!(api.len() <= 12, "{} requests: {api:#?}", api.len());
    drop((lab.dns, lab.proxy));
}

#[test]
fn globalping_token_is_sent_as_bearer_and_never_printed() {
    let lab = gp_lab(|_| Site::new(), |s| s.token(SECRET));
    let (run, doc) = lab.json(Some(SECRET));
    // A healthy domain: http-01 passes from all three probes. No remote can check CAA through
    // Globalping; that is untested coverage, not an unknown outcome (see the geoblock test).
    assert_eq!(run.code, 0, "{doc:#}\nstderr: {}", run.stderr);
    let http = verdict(&doc, "http-01");
    assert_eq!(
        (http["outcome"].as_str(), http["corroborating"].as_u64()),
        (Some("pass"), Some(3)),
        "{http:#}"
    );
    assert_eq!(verdict(&doc, "caa")["outcome"], "unknown");

    let api = lab.gp.requests();
    assert!(!api.is_empty());
    let want = format!("Bearer {SECRET}");
    assert!(
        api.iter()
            .all(|r| r.header("authorization") == Some(want.as_str()) && r.status < 400),
        "{api:#?}"
    );
    assert!(!run.stdout.contains(SECRET), "token in stdout");
    assert!(!run.stderr.contains(SECRET), "token in stderr");

    // The table and the verbose log do not print it either.
    let table = lab.run(Some(SECRET), &["-v", NAME]);
    assert!(!table.stdout.contains(SECRET) && !table.stderr.contains(SECRET));
    assert_eq!(table.code, 0, "{}\n{}", table.stdout, table.stderr);

    // A token the API refuses: the 401 is reported, still without the token.
    let refused = lab.run(Some("gp-wrong-token-0e9d"), &["--format", "json", NAME]);
    assert!(
        refused.stdout.contains("HTTP 401") && !refused.stdout.contains("gp-wrong-token-0e9d"),
        "{}",
        refused.stdout
    );
    assert!(!refused.stderr.contains("gp-wrong-token-0e9d"));
    drop((lab.dns, lab.proxy));
}

/// One raw request to the fake API: (status, headers as "name: value" lines, JSON body).
fn raw_api(
    gp: &FakeGlobalping,
    method: &str,
    path: &str,
    extra: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, Value) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(gp.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
        gp.addr,
        body.len()
    );
    for (k, v) in extra {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (
        status,
        head.to_ascii_lowercase(),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

#[test]
fn fake_globalping_rejects_what_the_real_api_rejects() {
    let lab = gp_lab(|_| Site::new(), |s| s.in_progress_polls(2));
    let gp = &lab.gp;
    let json_ct = [("Content-Type", "application/json")];
    let post = |body: &str| raw_api(gp, "POST", "/v1/measurements", &json_ct, body.as_bytes());
    let params = |v: &Value| {
        let mut k: Vec<String> = v["error"]["params"]
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        k.sort();
        k
    };

    // Unparsable JSON: 400 api_error.
    let (status, _, v) = post("{\"type\": \"dns\",");
    assert_eq!(
        (status, v["error"]["type"].as_str()),
        (400, Some("api_error")),
        "{v}"
    );
    // Missing type and target; a non-JSON content type leaves the body empty, the same.
    let (status, _, v) = post("{}");
    assert_eq!(
        (status, v["error"]["type"].as_str()),
        (400, Some("validation_error"))
    );
    assert_eq!(params(&v), ["target", "type"], "{v}");
    let (status, _, v) = raw_api(
        gp,
        "POST",
        "/v1/measurements",
        &[("Content-Type", "text/plain")],
        br#"{"type":"dns","target":"example.test"}"#,
    );
    assert_eq!(
        (status, params(&v)),
        (400, vec!["target".to_string(), "type".to_string()])
    );
    // Unknown type, private target, unknown keys, CAA (not a Globalping query type).
    let (status, _, v) = post(r#"{"type":"caa","target":"example.test"}"#);
    assert_eq!((status, params(&v)), (400, vec!["type".to_string()]), "{v}");
    let (status, _, v) = post(r#"{"type":"http","target":"127.0.20.1"}"#);
    assert_eq!(
        (status, params(&v)),
        (400, vec!["target".to_string()]),
        "{v}"
    );
    let (status, _, v) = post(
        r#"{"type":"dns","target":"example.test","foo":1,"measurementOptions":{"query":{"type":"CAA"}}}"#,
    );
    assert_eq!(
        (status, params(&v)),
        (
            400,
            vec!["foo".to_string(), "measurementOptions.query".to_string()]
        ),
        "{v}"
    );
    // Limits: a per-location limit next to a global one, above the per-location maximum, and a
    // global limit above the anonymous maximum; a location without any selector.
    let (status, _, v) = post(
        r#"{"type":"dns","target":"example.test","limit":2,"locations":[{"continent":"EU","limit":1}]}"#,
    );
    assert_eq!(
        (status, params(&v)),
        (400, vec!["locations[0].limit".to_string()]),
        "{v}"
    );
    let (status, _, v) = post(
        r#"{"type":"dns","target":"example.test","locations":[{"continent":"EU","limit":201}]}"#,
    );
    assert_eq!(
        (status, params(&v)),
        (400, vec!["locations[0].limit".to_string()]),
        "{v}"
    );
    let (status, _, v) = post(r#"{"type":"dns","target":"example.test","limit":51}"#);
    assert_eq!(
        (status, params(&v)),
        (400, vec!["limit".to_string()]),
        "{v}"
    );
    let (status, _, v) =
        post(r#"{"type":"dns","target":"example.test","locations":[{"limit":1}]}"#);
    assert_eq!(
        (status, params(&v)),
        (400, vec!["locations[0]".to_string()]),
        "{v}"
    );
    // No probe there, or an unknown measurement id to reuse: 422 no_probes_found.
    let (status, _, v) =
        post(r#"{"type":"dns","target":"example.test","locations":[{"continent":"AN"}]}"#);
    assert_eq!(
        (status, v["error"]["type"].as_str()),
        (422, Some("no_probes_found")),
        "{v}"
    );
    let (status, _, v) = post(r#"{"type":"dns","target":"example.test","locations":"nope"}"#);
    assert_eq!(
        (status, v["error"]["type"].as_str()),
        (422, Some("no_probes_found")),
        "{v}"
    );
    // A token that is not the configured one: a bare 401.
    let (status, _, _) = raw_api(
        gp,
        "GET",
        "/v1/measurements/x",
        &[("Authorization", "Bearer nope")],
        b"",
    );
    assert_eq!(status, 401);
    assert!(gp.requests().iter().all(|r| r.status >= 400));

    // A valid measurement: 202 + id, in progress for two polls (the second, with the ETag,
    // is a 304), then finished with the Asian probe's GeoDNS answer.
    let (status, head, v) = post(
        r#"{"type":"dns","target":"www.example.test","locations":[{"continent":"AS","limit":1}],"measurementOptions":{"query":{"type":"A"}}}"#,
    );
    assert_eq!(status, 202, "{v}");
    assert!(head.contains("location: https://api.globalping.io/v1/measurements/"));
    let id = v["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/measurements/{id}");
    let (status, head, v) = raw_api(gp, "GET", &path, &[], b"");
    assert_eq!(
        (status, v["status"].as_str()),
        (200, Some("in-progress")),
        "{v}"
    );
    let etag = head
        .lines()
        .find_map(|l| l.strip_prefix("etag: "))
        .unwrap()
        .to_owned();
    // Header names are compared lower-cased above; the value keeps its case here.
    let etag = etag.replace("w/", "W/");
    let (status, _, _) = raw_api(gp, "GET", &path, &[("If-None-Match", &etag)], b"");
    assert_eq!(status, 304);
    assert_eq!(gp.not_modified(), 1);
    let (status, _, v) = raw_api(gp, "GET", &path, &[], b"");
    assert_eq!(
        (status, v["status"].as_str()),
        (200, Some("finished")),
        "{v}"
    );
    let r = &v["results"][0];
    assert_eq!(r["probe"]["continent"], "AS");
    assert_eq!(r["result"]["statusCodeName"], "NOERROR");
    assert_eq!(r["result"]["answers"][0]["value"], ORIGIN_APAC, "{v}");
    let (status, _, v) = raw_api(gp, "GET", "/v1/measurements/unknown1", &[], b"");
    assert_eq!(
        (status, v["error"]["type"].as_str()),
        (404, Some("not_found"))
    );
    drop((lab.dns, lab.proxy));
}

// ---- `--globalping`: the engine one flag away ------------------------------------------------

/// A token that must never appear anywhere (the fake accepts only it).
const FLAG_SECRET: &str = "gp-flag-token-0c3e8a51d4f7b2961e";

/// The `--globalping` lab: the primary's resolver knows the delegation of example.test to
/// ns1 (127.0.1.1) and ns2 (127.0.1.2); ns2 refuses queries from the Asian probe's address; the
/// origin answers 403 to the European probe's address. The fake API serves the standard probes
/// (one per continent) and resolves www.example.test to the origin for every probe.
struct FlagLab {
    _resolver: DnsServer,
    ns: Vec<DnsServer>,
    origins: HttpOrigin,
    gp: FakeGlobalping,
    dir: tempfile::TempDir,
    config: PathBuf,
}

fn flag_lab() -> FlagLab {
    use crate::support::dns::{Behaviour, Zone};
    let resolver = DnsServer::start(lo(0, 0, 53), crate::dns::resolver_zone());
    let refused_from = probe_src("AS");
    let ns = DnsServer::start_many(&[lo(0, 1, 1), lo(0, 1, 2)], move |ip| {
        let z: Zone = crate::dns::example_zone();
        if ip == lo(0, 1, 2) {
            z.behaviour_for_source(refused_from, Behaviour::Refused)
        } else {
            z
        }
    });
    let geoblocked = probe_src("EU");
    let origins = HttpOrigin::start_many(&[ORIGIN_DEFAULT.parse().unwrap()], move |_| {
        Site::new().block_source(geoblocked, Block::Status(403))
    });
    let gp = FakeGlobalping::start(
        lo(0, 40, 1),
        Setup::new(origins.port())
            .token(FLAG_SECRET)
            .record("*", NAME, "A", ORIGIN_DEFAULT),
    );
    let toml = format!(
        "[defaults]\ntimeout = \"2s\"\n\n\
         [[perspective]]\nname = \"home\"\nrole = \"primary\"\nrir = \"ARIN\"\n\
         dns = \"udp://{}\"\nhttp = \"direct\"\n",
        resolver.addr
    );
    let (dir, config) = crate::support::write_config("flag.toml", &toml);
    FlagLab {
        _resolver: resolver,
        ns,
        origins,
        gp,
        dir,
        config,
    }
}

impl FlagLab {
    fn run(&self, args: &[&str]) -> Run {
        let started = Instant::now();
        let out = crate::support::base_cmd(self.dir.path())
            .env("MPIC_CHECK_HTTP_PORT", self.origins.port().to_string())
            .env("MPIC_CHECK_DNS_PORT", self.ns[0].port().to_string())
            .env("NO_COLOR", "1")
            .env("GLOBALPING_API_URL", self.gp.url())
            .env("GLOBALPING_TOKEN", FLAG_SECRET)
            .arg("--config")
            .arg(&self.config)
            .args(["--as-of", "2026-11-28"])
            .args(args)
            .timeout(Duration::from_secs(120))
            .output()
            .unwrap();
        Run {
            code: out.status.code().expect("the binary exited normally"),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
            elapsed: started.elapsed(),
        }
    }
}

#[test]
fn globalping_flag_adds_five_regions_and_asks_the_nameservers_from_the_probes() {
    let lab = flag_lab();
    let saved = lab.dir.path().join("run.json");
    let saved_arg = saved.to_str().unwrap();
    let r = lab.run(&[
        "--globalping",
        "--format",
        "json",
        "--save",
        saved_arg,
        "-v",
        NAME,
    ]);
    let doc: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("invalid JSON ({e}): {}\nstderr: {}", r.stdout, r.stderr));
    assert!(r.elapsed < Duration::from_secs(110), "{:?}", r.elapsed);

    // Five probe perspectives, one per RIR region, each with its own observations.
    let gp = ["gp-na", "gp-eu", "gp-as", "gp-sa", "gp-af"];
    for name in gp {
        let a = one(&doc, name, "address");
        assert_eq!(a["ok"], true, "{a:#}");
        assert!(
            a["summary"]
                .as_str()
                .unwrap()
                .contains("[Globalping probe "),
            "{a:#}"
        );
        // Where it was made, typed: the probe's city, country and ASN as the API reported them.
        for check in ["address", "http-01"] {
            let p = &one(&doc, name, check)["provenance"];
            assert_eq!(p["kind"], "globalping_probe", "{name} {check}: {p:#}");
            assert!(
                p["city"].as_str().is_some_and(|c| !c.is_empty())
                    && p["country"].as_str().is_some_and(|c| c.len() == 2)
                    && p["asn"].as_u64().is_some(),
                "{name} {check}: {p:#}"
            );
        }
        one(&doc, name, "http-01");
    }
    let posts: Vec<Value> = lab
        .gp
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.json())
        .collect();
    let continents: std::collections::BTreeSet<String> = posts
        .iter()
        .filter_map(|p| p["locations"][0]["continent"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        continents.into_iter().collect::<Vec<_>>(),
        ["AF", "AS", "EU", "NA", "SA"],
        "{posts:#?}"
    );

    // HTTP-01 geoblocked in one region, named after it.
    let f = finding(&doc, "http-geoblocked");
    assert_eq!(f["perspectives"], serde_json::json!(["gp-eu"]), "{f:#}");
    assert_eq!(one(&doc, "gp-eu", "http-01")["http"]["status"], 403);

    // The nameservers asked from the probes: ns2 refuses the Asian probe only.
    assert!(
        posts
            .iter()
            .any(|p| p["type"] == "dns" && p["measurementOptions"]["resolver"] == "127.0.1.2"),
        "{posts:#?}"
    );
    let f = finding(&doc, "dns-refused-by-region");
    assert_eq!(
        f["perspectives"],
        serde_json::json!(["gp-as asks ns2.example.test@127.0.1.2"]),
        "{f:#}"
    );
    let ev = f["evidence"].to_string();
    assert!(
        ev.contains("REFUSED") && ev.contains("gp-as (APNIC)") && ev.contains("Tokyo"),
        "{ev}"
    );
    let asked = lab.ns[1].queries();
    assert!(
        asked.iter().any(|q| q.src == probe_src("AS")),
        "ns2 was not asked from the Asian probe: {asked:#?}"
    );

    // CAA, which Globalping cannot query: the ECS view of each region, labelled emulated.
    let caa: Vec<&Value> = doc["identifiers"][0]["observations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| {
            o["check"] == "caa" && o["perspective"].as_str().unwrap().contains("CAA emulated")
        })
        .collect();
    assert_eq!(caa.len(), 5, "{doc:#}");
    for o in &caa {
        let s = o["summary"].as_str().unwrap();
        assert!(s.starts_with("emulated (ECS "), "{o:#}");
        assert_eq!(o["ok"], true, "{o:#}");
    }
    assert!(
        lab.ns
            .iter()
            .flat_map(|n| n.queries())
            .any(|q| q.ecs.as_deref() == Some("126.0.0.0/24")),
        "the APNIC ECS subnet was not sent"
    );

    // The third-party line, once, before anything else; the token nowhere.
    let notices: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("third party"))
        .collect();
    assert_eq!(notices.len(), 1, "{}", r.stderr);
    assert!(
        notices[0].contains("Globalping") && notices[0].contains("x 5 probes"),
        "{}",
        notices[0]
    );
    let file = std::fs::read_to_string(&saved).unwrap();
    for (what, text) in [
        ("stdout", r.stdout.as_str()),
        ("stderr", r.stderr.as_str()),
        ("--save file", file.as_str()),
    ] {
        assert!(!text.contains(FLAG_SECRET), "token in {what}");
    }
    // Sent as a bearer token all the same.
    assert!(
        lab.gp.requests().iter().all(|r| {
            r.header("authorization") == Some(format!("Bearer {FLAG_SECRET}").as_str())
        })
    );

    // The table too.
    let t = lab.run(&["--globalping", "-v", NAME]);
    assert!(!t.stdout.contains(FLAG_SECRET) && !t.stderr.contains(FLAG_SECRET));
    assert_eq!(
        t.stderr
            .lines()
            .filter(|l| l.contains("third party"))
            .count(),
        1,
        "{}",
        t.stderr
    );
}

#[test]
fn globalping_locations_need_a_known_region() {
    let lab = flag_lab();
    let r = lab.run(&["--globalping-locations", "Atlantis", NAME]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("Atlantis@RIPE"), "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert!(lab.gp.requests().is_empty());
}

#[test]
fn globalping_is_asked_to_fetch_an_ip_identifier_and_no_dns_measurement_is_made() {
    // RFC 8738: the probes would fetch the address itself; nothing is resolved for it. The fake,
    // like the real API, refuses a private target: that is the engine's limit (a perspective
    // error), never a verdict about the address, and the local perspective still judges it.
    let lab = gp_lab(|_| Site::new(), |s| s);
    let r = lab.run(None, &["--format", "json", ORIGIN_DEFAULT]);
    let doc: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("invalid JSON ({e}): {}\nstderr: {}", r.stdout, r.stderr));
    let posted: Vec<Value> = lab
        .gp
        .requests()
        .iter()
        .filter(|q| q.method == "POST")
        .map(|q| q.json())
        .collect();
    assert!(!posted.is_empty(), "{doc:#}");
    for m in &posted {
        assert_eq!(m["type"], "http", "{m}");
        assert_eq!(m["target"], ORIGIN_DEFAULT, "{m}");
    }
    assert!(lab.dns.queries().is_empty(), "{:?}", lab.dns.queries());
    assert!(
        doc["identifiers"][0]["observations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["check"] == "http-01"),
        "{doc:#}"
    );
    assert!(
        codes(&doc).contains(&"perspective-error".to_string()),
        "{doc:#}"
    );
    assert!(
        !codes(&doc).contains(&"http-unreachable".to_string()),
        "{doc:#}"
    );
}
