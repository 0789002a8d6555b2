//! A fake Globalping API (the subset `mpic-check` uses) for end-to-end tests of the Globalping
//! engine. It speaks hand-written HTTP/1.1 on a tokio listener in 127/8 (one request per
//! connection, then `Connection: close`, like [`super::http`]) and implements
//! `POST /v1/measurements` (202 + id, `Location` header) and `GET /v1/measurements/{id}`
//! (`in-progress` for a configurable number of polls, then `finished`; weak `ETag` and 304 on
//! `If-None-Match`). Requests the real API would refuse are refused with its error shapes:
//! unparsable JSON is a 400 `api_error`; schema violations (missing or unknown `type`, missing
//! `target`, private IP targets, unknown keys, bad location objects, a per-location `limit`
//! next to a global one, limits above the API's maxima, query types it does not know, bad
//! `measurementOptions`) are a 400 `validation_error` with `params`; an unknown or expired
//! measurement id in `locations` and locations without probes are a 422 `no_probes_found`;
//! a malformed or unknown bearer token is a bare 401.
//!
//! Nothing is proxied to the Internet: every probe is simulated on loopback. A `dns`
//! measurement is answered from a per-continent record map (the GeoDNS view a probe on that
//! continent would get). An `http` measurement is really performed: the probe resolves the
//! target through the same map, binds a socket to its continent's own 127.0.0.x source address
//! and connects to the origin, with port 80 (what the client sends, as a real user would)
//! mapped to the lab's `MPIC_CHECK_HTTP_PORT`, so a test origin that blocks a source address
//! really blocks that probe. Results use the API's documented shapes (`probe` with continent,
//! country, city, asn, network, tags; `result` with answers/statusCodeName for DNS and
//! statusCode/headers/rawBody/timings for HTTP, or `failed` with rawOutput).
//!
//! Synchronous API like the other servers: [`FakeGlobalping`] runs on its own thread (see
//! [`super::ServerThread`]) and stops when dropped. Every API request (headers included) and
//! every origin fetch is logged for assertions.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use super::wire::{self, ReadError, Request};
use super::{ServerThread, assert_loopback, bind_same_port, lo};

/// The User-Agent real probes send (it cannot be changed through the API).
pub const PROBE_USER_AGENT: &str = "globalping probe (https://github.com/jsdelivr/globalping)";
/// Largest request head accepted, and the API's JSON body limit (koa-bodyparser
/// `jsonLimit: '100kb'`).
const LIMITS: wire::Limits = wire::Limits {
    head: 16 * 1024,
    body: 100 * 1024,
};
/// How long a client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Probes return only the first 10 KB of a body.
const PROBE_BODY_LIMIT: usize = 10 * 1024;
/// A probe's HTTP timeout (the real one is 10 s).
const PROBE_HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Maximum probes per location object.
const LOCATION_LIMIT: u64 = 200;
/// Maximum global `limit` with a token / anonymously.
const AUTH_LIMIT: u64 = 500;
const ANON_LIMIT: u64 = 50;
const CONTINENTS: [&str; 7] = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"];
const DNS_TYPES: [&str; 16] = [
    "A", "AAAA", "ANY", "CNAME", "DNSKEY", "DS", "HTTPS", "MX", "NS", "NSEC", "PTR", "RRSIG",
    "SOA", "TXT", "SRV", "SVCB",
];
const DOCS: &str = "https://globalping.io/docs/api.globalping.io#post-/v1/measurements";

/// One simulated probe: its public metadata and the loopback address its traffic leaves from.
#[derive(Clone, Debug)]
pub struct Probe {
    pub continent: &'static str,
    pub region: &'static str,
    pub country: &'static str,
    pub city: &'static str,
    pub asn: u32,
    pub network: &'static str,
    pub tags: Vec<&'static str>,
    /// Source address of this probe's HTTP fetches (127/8).
    pub src: IpAddr,
}

impl Probe {
    fn info(&self) -> Value {
        json!({
            "continent": self.continent,
            "region": self.region,
            "country": self.country,
            "state": null,
            "city": self.city,
            "asn": self.asn,
            "longitude": 0.0,
            "latitude": 0.0,
            "network": self.network,
            "tags": self.tags,
            "resolvers": ["private"],
        })
    }

    /// Whether this probe matches one location object of a request.
    fn matches(&self, loc: &serde_json::Map<String, Value>) -> bool {
        let tags: Vec<String> = self.tags.iter().map(|t| t.to_ascii_lowercase()).collect();
        loc.iter().all(|(k, v)| {
            let s = v.as_str().unwrap_or("");
            match k.as_str() {
                "continent" => s.eq_ignore_ascii_case(self.continent),
                "country" => s.eq_ignore_ascii_case(self.country),
                "city" => s.eq_ignore_ascii_case(self.city),
                "region" => s.eq_ignore_ascii_case(self.region),
                "network" => s.eq_ignore_ascii_case(self.network),
                "asn" => v.as_u64() == Some(u64::from(self.asn)),
                "tags" => v.as_array().is_some_and(|want| {
                    want.iter()
                        .filter_map(Value::as_str)
                        .all(|w| tags.contains(&w.to_ascii_lowercase()))
                }),
                "magic" => {
                    // The real API also knows countries by name.
                    let country_name = match self.country {
                        "DE" => "germany",
                        "US" => "united states",
                        "JP" => "japan",
                        "BR" => "brazil",
                        "AU" => "australia",
                        "ZA" => "south africa",
                        _ => "",
                    };
                    let hay = format!(
                        "{} {} {} {} {} as{} {} {country_name}",
                        self.continent,
                        self.region,
                        self.country,
                        self.city,
                        self.network,
                        self.asn,
                        tags.join(" ")
                    )
                    .to_ascii_lowercase();
                    s.split('+')
                        .all(|part| hay.contains(&part.trim().to_ascii_lowercase()))
                }
                // "limit" and "state" do not select here.
                _ => true,
            }
        })
    }
}

/// One probe per continent, each leaving from its own address: EU 127.0.0.21, AS 127.0.0.22,
/// NA 127.0.0.23, SA 127.0.0.24, OC 127.0.0.25, AF 127.0.0.26.
pub fn standard_probes() -> Vec<Probe> {
    let p = |continent, region, country, city, asn, network, tags: &[&'static str], last| Probe {
        continent,
        region,
        country,
        city,
        asn,
        network,
        tags: tags.to_vec(),
        src: lo(0, 0, last),
    };
    vec![
        p(
            "EU",
            "Western Europe",
            "DE",
            "Frankfurt",
            16509,
            "Amazon.com, Inc.",
            &["aws-eu-central-1", "datacenter-network"],
            21,
        ),
        p(
            "AS",
            "Eastern Asia",
            "JP",
            "Tokyo",
            2516,
            "KDDI CORPORATION",
            &["eyeball-network"],
            22,
        ),
        p(
            "NA",
            "Northern America",
            "US",
            "Ashburn",
            14618,
            "Amazon.com, Inc.",
            &["aws-us-east-1", "datacenter-network"],
            23,
        ),
        p(
            "SA",
            "South America",
            "BR",
            "Sao Paulo",
            28573,
            "Claro NXT Telecomunicacoes Ltda",
            &["eyeball-network"],
            24,
        ),
        p(
            "OC",
            "Australia and New Zealand",
            "AU",
            "Sydney",
            202422,
            "G-Core Labs S.A.",
            &["datacenter-network"],
            25,
        ),
        p(
            "AF",
            "Southern Africa",
            "ZA",
            "Johannesburg",
            37100,
            "SEACOM Limited",
            &["eyeball-network"],
            26,
        ),
    ]
}

/// What the fake does; built with the methods below and given to [`FakeGlobalping::start`].
#[derive(Clone, Debug)]
pub struct Setup {
    probes: Vec<Probe>,
    /// (continent or "*", owner name, type, value).
    records: Vec<(String, String, String, String)>,
    /// Where a probe's fetch to port 80 really goes.
    http_port: u16,
    token: Option<String>,
    in_progress_polls: u32,
    rate_limit: Option<u64>,
    /// The first N creations get 429 with `Retry-After: secs`.
    rate_limited_posts: Option<(u32, u64)>,
    /// Echo the received `Authorization` header in the 401 message (a hostile API).
    echo_auth: bool,
    /// Measurements stay `in-progress` for ever.
    never_finish: bool,
    /// Polls are answered 200 with an HTML error page instead of JSON.
    garbage_polls: bool,
    /// Polls closer than this to the previous response break the polling guideline.
    min_poll_gap: Option<Duration>,
    /// Canned HTTP results per continent instead of a real fetch.
    http_answers: Vec<(String, HttpAnswer)>,
    /// Put into every server-filled field of a finished measurement (see [`Setup::echo`]).
    echo: Option<String>,
}

/// A canned HTTP result: (protocol, port, host, path) → the probe's `result` object.
#[derive(Clone)]
pub struct HttpAnswer(Arc<AnswerFn>);

type AnswerFn = dyn Fn(&str, u64, &str, &str) -> Value + Send + Sync;

impl std::fmt::Debug for HttpAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpAnswer(..)")
    }
}

impl Setup {
    /// The standard probes, no records, port 80 mapped to `http_port` (the lab's
    /// `MPIC_CHECK_HTTP_PORT`), anonymous access only, one `in-progress` poll per measurement.
    pub fn new(http_port: u16) -> Setup {
        Setup {
            probes: standard_probes(),
            records: Vec::new(),
            http_port,
            token: None,
            in_progress_polls: 1,
            rate_limit: None,
            rate_limited_posts: None,
            echo_auth: false,
            never_finish: false,
            garbage_polls: false,
            min_poll_gap: None,
            http_answers: Vec::new(),
            echo: None,
        }
    }

    /// Replaces the probe list.
    pub fn probes(mut self, probes: Vec<Probe>) -> Self {
        self.probes = probes;
        self
    }

    /// A record as probes on `continent` (or `"*"`: every continent without its own record for
    /// that name and type) see it. `rtype` is A, AAAA, CNAME or TXT; TXT values are the raw
    /// text (the fake quotes it as dig does).
    pub fn record(mut self, continent: &str, name: &str, rtype: &str, value: &str) -> Self {
        self.records.push((
            continent.to_ascii_uppercase(),
            name.trim_end_matches('.').to_ascii_lowercase(),
            rtype.to_ascii_uppercase(),
            value.to_owned(),
        ));
        self
    }

    /// The only bearer token accepted; any other `Authorization` header gets 401.
    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    /// Polls answered `in-progress` before a measurement reports `finished` (it also stays in
    /// progress until its probes really finished).
    pub fn in_progress_polls(mut self, n: u32) -> Self {
        self.in_progress_polls = n;
        self
    }

    /// Every request is answered 429 `rate_limit_exceeded` with `Retry-After: secs`.
    pub fn rate_limited(mut self, secs: u64) -> Self {
        self.rate_limit = Some(secs);
        self
    }

    /// The first `n` measurement creations are answered 429 `rate_limit_exceeded` with
    /// `Retry-After: secs`; later ones go through.
    pub fn rate_limited_posts(mut self, n: u32, secs: u64) -> Self {
        self.rate_limited_posts = Some((n, secs));
        self
    }

    /// A refused token is echoed in the 401 message, as a careless API might.
    pub fn echo_auth(mut self) -> Self {
        self.echo_auth = true;
        self
    }

    /// No measurement ever finishes.
    pub fn never_finish(mut self) -> Self {
        self.never_finish = true;
        self
    }

    /// Polls get an HTML error page with status 200 (malformed JSON).
    pub fn garbage_polls(mut self) -> Self {
        self.garbage_polls = true;
        self
    }

    /// Records a violation (see [`FakeGlobalping::violations`]) for each poll that comes sooner
    /// than `gap` after the previous response for that measurement.
    pub fn min_poll_gap(mut self, gap: Duration) -> Self {
        self.min_poll_gap = Some(gap);
        self
    }

    /// HTTP measurements from probes on `continent` are answered by `answer(protocol, port,
    /// host, path)` (a canned `result` object) instead of a real fetch; a later answer for the
    /// same continent wins.
    pub fn http_answer(
        mut self,
        continent: &str,
        answer: impl Fn(&str, u64, &str, &str) -> Value + Send + Sync + 'static,
    ) -> Self {
        self.http_answers
            .push((continent.to_ascii_uppercase(), HttpAnswer(Arc::new(answer))));
        self
    }

    /// Every finished measurement carries `s` in every field the API fills for it: the probe's
    /// continent, region, country, state, city, network, ASN (as a string), tags and resolvers,
    /// the measurement's target, and in each result the resolver, `rawOutput`, every DNS answer's
    /// owner and value, the resolved address, every response header value but `location`
    /// (plus an extra header `x-echo`), `rawHeaders`, `rawBody` and `statusCodeName` of an HTTP
    /// result. What keeps the measurement a success keeps its meaning: statuses, status codes,
    /// record types, the DNS rcode name and redirect targets.
    pub fn echo(mut self, s: &str) -> Self {
        self.echo = Some(s.to_owned());
        self
    }

    /// The records for (continent, name, type): the continent's own, else the `"*"` ones.
    fn lookup(&self, continent: &str, name: &str, rtype: &str) -> Vec<String> {
        let pick = |c: &str| -> Vec<String> {
            self.records
                .iter()
                .filter(|(rc, n, t, _)| rc == c && n == name && t == rtype)
                .map(|(_, _, _, v)| v.clone())
                .collect()
        };
        let own = pick(continent);
        if own.is_empty() { pick("*") } else { own }
    }

    fn name_exists(&self, continent: &str, name: &str) -> bool {
        self.records
            .iter()
            .any(|(c, n, _, _)| n == name && (c == continent || c == "*"))
    }

    /// Resolves like a recursive resolver on `continent`: follows CNAMEs within the map.
    /// Returns (rcode name, answers as (owner, type, value)).
    fn resolve(&self, continent: &str, qname: &str, qtype: &str) -> (&'static str, Vec<Answer>) {
        let mut name = qname.trim_end_matches('.').to_ascii_lowercase();
        let mut answers = Vec::new();
        for _ in 0..8 {
            let direct = self.lookup(continent, &name, qtype);
            if !direct.is_empty() {
                answers.extend(
                    direct
                        .into_iter()
                        .map(|v| (name.clone(), qtype.to_owned(), v)),
                );
                return ("NOERROR", answers);
            }
            match self.lookup(continent, &name, "CNAME").into_iter().next() {
                Some(target) if qtype != "CNAME" => {
                    let target = target.trim_end_matches('.').to_ascii_lowercase();
                    answers.push((name.clone(), "CNAME".into(), target.clone()));
                    name = target;
                }
                _ => break,
            }
        }
        if answers.is_empty() && !self.name_exists(continent, &name) {
            return ("NXDOMAIN", answers);
        }
        ("NOERROR", answers)
    }
}

/// (owner, type, value).
type Answer = (String, String, String);

/// One API request as received, with the status it got.
#[derive(Clone, Debug)]
pub struct ApiRequest {
    pub peer: SocketAddr,
    pub method: String,
    pub path: String,
    /// Header names lower-cased, values as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub status: u16,
    /// The response body as JSON (`Null` when it was not JSON).
    pub response: Value,
}

impl ApiRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// One HTTP fetch a simulated probe made.
#[derive(Clone, Debug)]
pub struct ProbeFetch {
    pub continent: String,
    /// Local address of the probe's connection (its IP is the probe's source address).
    pub src: Option<SocketAddr>,
    pub dst: Option<SocketAddr>,
    pub host: String,
    pub path: String,
    pub status: Option<u16>,
    pub error: Option<String>,
}

#[derive(Debug)]
struct Measurement {
    doc: Value,
    probes: Vec<usize>,
    /// One slot per probe, filled when it finishes.
    results: Arc<Mutex<Vec<Option<Value>>>>,
    polls: u32,
    last_response: Instant,
}

#[derive(Debug, Default)]
struct State {
    measurements: HashMap<String, Measurement>,
    requests: Vec<ApiRequest>,
    fetches: Vec<ProbeFetch>,
    next: u64,
    not_modified: u32,
    rate_limited_posts: u32,
    violations: Vec<String>,
}

type Shared = Arc<Mutex<State>>;

/// A running fake API. Stops when dropped.
#[derive(Debug)]
pub struct FakeGlobalping {
    pub addr: SocketAddr,
    state: Shared,
    _thread: ServerThread,
}

impl FakeGlobalping {
    /// Serves `setup` on `ip` (127/8) with an ephemeral port.
    pub fn start(ip: IpAddr, setup: Setup) -> FakeGlobalping {
        assert_loopback(ip);
        for p in &setup.probes {
            assert_loopback(p.src);
        }
        let listener = bind_same_port(&[ip], |ip, port| {
            let l = std::net::TcpListener::bind((ip, port))?;
            l.set_nonblocking(true)?;
            let port = l.local_addr()?.port();
            Ok((l, port))
        })
        .expect("bind the fake Globalping API on 127/8")
        .remove(0);
        let addr = listener.local_addr().expect("local addr");
        let state = Shared::default();
        let task_state = state.clone();
        let setup = Arc::new(setup);
        let thread = ServerThread::spawn(&format!("globalping-{addr}"), move || async move {
            let listener = TcpListener::from_std(listener).expect("register listener");
            loop {
                match listener.accept().await {
                    Ok((stream, peer)) => {
                        tokio::spawn(serve(stream, peer, setup.clone(), task_state.clone()));
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        });
        FakeGlobalping {
            addr,
            state,
            _thread: thread,
        }
    }

    /// The `api_url` for the config.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every API request so far, in arrival order.
    pub fn requests(&self) -> Vec<ApiRequest> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Every probe HTTP fetch so far.
    pub fn fetches(&self) -> Vec<ProbeFetch> {
        self.state.lock().unwrap().fetches.clone()
    }

    /// Polls that broke the guideline set with [`Setup::min_poll_gap`].
    pub fn violations(&self) -> Vec<String> {
        self.state.lock().unwrap().violations.clone()
    }

    /// How many polls were answered 304 Not Modified.
    pub fn not_modified(&self) -> u32 {
        self.state.lock().unwrap().not_modified
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn json(status: u16, v: &Value) -> Response {
        Response {
            status,
            headers: vec![(
                "Content-Type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: serde_json::to_vec(v).unwrap(),
        }
    }

    fn text(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    /// The API's error envelope.
    fn error(status: u16, kind: &str, message: &str, params: Option<Value>) -> Response {
        let mut e = json!({"error": {"message": message, "type": kind}});
        if let Some(p) = params {
            e["error"]["params"] = p;
        }
        if status == 400 || status == 422 {
            e["links"] = json!({"documentation": DOCS});
        }
        Response::json(status, &e)
    }

    fn with(mut self, k: &str, v: &str) -> Response {
        self.headers.push((k.into(), v.into()));
        self
    }
}

async fn write_response(s: &mut TcpStream, r: &Response) -> io::Result<()> {
    let mut out = format!("HTTP/1.1 {} {}\r\n", r.status, reason(r.status));
    for (k, v) in &r.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    let body: &[u8] = if r.status == 304 { &[] } else { &r.body };
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    s.write_all(&bytes).await?;
    s.shutdown().await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        505 => "HTTP Version Not Supported",
        _ => "Status",
    }
}

async fn serve(mut stream: TcpStream, peer: SocketAddr, setup: Arc<Setup>, state: Shared) {
    let mut buf = Vec::new();
    let read = wire::read_request(&mut stream, &mut buf, LIMITS);
    let req = match tokio::time::timeout(READ_TIMEOUT, read).await {
        Ok(Ok(r)) => r,
        Ok(Err(ReadError::Reject(status))) => {
            let _ = write_response(&mut stream, &Response::text(status, reason(status))).await;
            return;
        }
        Ok(Err(ReadError::Gone)) | Err(_) => return,
    };
    let resp = route(&req, &setup, &state);
    state.lock().unwrap().requests.push(ApiRequest {
        peer,
        method: req.method.clone(),
        path: req.target.clone(),
        headers: req
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect(),
        body: req.body.clone(),
        status: resp.status,
        response: serde_json::from_slice(&resp.body).unwrap_or(Value::Null),
    });
    let _ = write_response(&mut stream, &resp).await;
}

fn route(req: &Request, setup: &Arc<Setup>, state: &Shared) -> Response {
    // The real API answers a bad token with a bare 401 before anything else.
    if let Some(auth) = req.header("authorization") {
        let good = match auth.split_once(' ') {
            Some(("Bearer", t)) => setup.token.as_deref() == Some(t),
            _ => false,
        };
        if !good {
            if setup.echo_auth {
                let msg = format!("Invalid token in header {auth:?}.");
                return Response::error(401, "unauthorized", &msg, None);
            }
            return Response::text(401, "Unauthorized");
        }
    }
    let authenticated = req.header("authorization").is_some();
    if let Some(secs) = setup.rate_limit {
        return Response::error(429, "rate_limit_exceeded", "API rate limit exceeded.", None)
            .with(
                "X-RateLimit-Limit",
                if authenticated { "500" } else { "250" },
            )
            .with(
                "X-RateLimit-Consumed",
                if authenticated { "500" } else { "250" },
            )
            .with("X-RateLimit-Remaining", "0")
            .with("X-RateLimit-Reset", &secs.to_string())
            .with("Retry-After", &secs.to_string());
    }
    let path = req.target.split('?').next().unwrap_or("");
    match (req.method.as_str(), path) {
        ("POST", "/v1/measurements") => {
            if let Some((n, secs)) = setup.rate_limited_posts {
                let mut st = state.lock().unwrap();
                if st.rate_limited_posts < n {
                    st.rate_limited_posts += 1;
                    return Response::error(
                        429,
                        "rate_limit_exceeded",
                        "API rate limit exceeded.",
                        None,
                    )
                    .with(
                        "X-RateLimit-Limit",
                        if authenticated { "500" } else { "250" },
                    )
                    .with("X-RateLimit-Remaining", "0")
                    .with("X-RateLimit-Reset", "2520")
                    .with("X-Request-Cost", "1")
                    .with("Retry-After", &secs.to_string());
                }
            }
            create(req, setup, state, authenticated)
        }
        (_, "/v1/measurements") => {
            Response::error(405, "method_not_allowed", "Method Not Allowed", None)
                .with("Allow", "POST")
        }
        ("GET" | "HEAD", p) if p.starts_with("/v1/measurements/") => {
            poll(req, &p["/v1/measurements/".len()..], setup, state)
        }
        _ => Response::error(404, "not_found", "Couldn't find the requested item.", None),
    }
}

// ---------------------------------------------------------------------------------------------
// POST /v1/measurements

fn create(req: &Request, setup: &Arc<Setup>, state: &Shared, authenticated: bool) -> Response {
    // koa-bodyparser only parses JSON; any other content type leaves an empty body, which then
    // fails validation like a missing type and target.
    let is_json = req
        .header("content-type")
        .is_some_and(|c| c.to_ascii_lowercase().contains("json"));
    let body: Value = if !is_json || req.body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(e) => return Response::error(400, "api_error", &e.to_string(), None),
        }
    };
    if let Err(params) = validate(&body, authenticated) {
        return Response::error(
            400,
            "validation_error",
            "Validation Failed",
            Some(Value::Object(params)),
        );
    }
    let mut st = state.lock().unwrap();
    let probes: Vec<usize> = match &body["locations"] {
        Value::String(id) => match st.measurements.get(id) {
            Some(m) => m.probes.clone(),
            None => {
                return Response::error(
                    422,
                    "no_probes_found",
                    "No suitable probes supporting IPv4 found.",
                    None,
                );
            }
        },
        Value::Array(locs) if !locs.is_empty() => {
            let global = body.get("limit").and_then(Value::as_u64);
            let mut picked = Vec::new();
            for l in locs {
                let obj = l.as_object().cloned().unwrap_or_default();
                let limit = global
                    .unwrap_or_else(|| obj.get("limit").and_then(Value::as_u64).unwrap_or(1))
                    as usize;
                let found: Vec<usize> = (0..setup.probes.len())
                    .filter(|i| !picked.contains(i) && setup.probes[*i].matches(&obj))
                    .take(limit)
                    .collect();
                picked.extend(found);
            }
            if let Some(g) = global {
                picked.truncate(g as usize);
            }
            picked
        }
        _ => {
            let limit = body.get("limit").and_then(Value::as_u64).unwrap_or(1) as usize;
            (0..setup.probes.len()).take(limit).collect()
        }
    };
    if probes.is_empty() {
        return Response::error(
            422,
            "no_probes_found",
            "No suitable probes supporting IPv4 found.",
            None,
        );
    }
    st.next += 1;
    let id = format!("fakeGp{:06}x5fMs", st.next);
    let kind = body["type"].as_str().unwrap_or("").to_ascii_lowercase();
    let target = body["target"].as_str().unwrap_or("").to_owned();
    let options = body.get("measurementOptions").cloned().unwrap_or(json!({}));
    let locations = match &body["locations"] {
        Value::String(first) => st.measurements[first].doc["locations"].clone(),
        Value::Array(a) if !a.is_empty() => Value::Array(a.clone()),
        _ => json!([{"magic": "world", "limit": probes.len()}]),
    };
    let results = Arc::new(Mutex::new(vec![None; probes.len()]));
    for (slot, &p) in probes.iter().enumerate() {
        let probe = setup.probes[p].clone();
        let setup = setup.clone();
        let results = results.clone();
        let state = state.clone();
        let (kind, target, options) = (kind.clone(), target.clone(), options.clone());
        tokio::spawn(async move {
            let canned = setup
                .http_answers
                .iter()
                .rev()
                .find(|(c, _)| c == probe.continent)
                .map(|(_, a)| a.clone());
            let r = if kind == "dns" && options.get("resolver").is_some() {
                dns_result_direct(&probe, &target, &options).await
            } else if kind == "dns" {
                dns_result(&setup, &probe, &target, &options)
            } else if let Some(HttpAnswer(answer)) = canned {
                answer(
                    options["protocol"].as_str().unwrap_or("HTTPS"),
                    options["port"].as_u64().unwrap_or(80),
                    &target,
                    options["request"]["path"].as_str().unwrap_or("/"),
                )
            } else {
                let (r, fetch) = http_result(&setup, &probe, &target, &options).await;
                state.lock().unwrap().fetches.push(fetch);
                r
            };
            results.lock().unwrap()[slot] = Some(r);
        });
    }
    let doc = json!({
        "id": id,
        "type": kind,
        "status": "in-progress",
        "createdAt": "2026-03-02T09:14:01.002Z",
        "updatedAt": "2026-03-02T09:14:01.002Z",
        "target": target,
        "probesCount": probes.len(),
        "locations": locations,
        "measurementOptions": options,
        "results": [],
    });
    let count = probes.len();
    st.measurements.insert(
        id.clone(),
        Measurement {
            doc,
            probes,
            results,
            polls: 0,
            last_response: Instant::now(),
        },
    );
    Response::json(202, &json!({"id": id, "probesCount": count}))
        .with(
            "Location",
            &format!("https://api.globalping.io/v1/measurements/{id}"),
        )
        .with("X-RateLimit-Remaining", "240")
        .with("X-Request-Cost", &count.to_string())
}

/// The real API's schema (Joi, unknown keys refused), as far as the fake implements it.
pub fn validate(v: &Value, authenticated: bool) -> Result<(), serde_json::Map<String, Value>> {
    let mut bad = serde_json::Map::new();
    let mut add = |k: &str, m: String| {
        bad.insert(k.to_owned(), Value::String(m));
    };
    let Some(o) = v.as_object() else {
        add("value", "\"value\" must be of type object".into());
        return Err(bad);
    };
    for k in o.keys() {
        if ![
            "type",
            "target",
            "measurementOptions",
            "timeout",
            "locations",
            "limit",
            "inProgressUpdates",
        ]
        .contains(&k.as_str())
        {
            add(k, format!("\"{k}\" is not allowed"));
        }
    }
    let kind = match o.get("type") {
        None => {
            add("type", "\"type\" is required".into());
            String::new()
        }
        Some(Value::String(t))
            if ["ping", "traceroute", "dns", "mtr", "http"]
                .contains(&t.to_ascii_lowercase().as_str()) =>
        {
            t.to_ascii_lowercase()
        }
        Some(_) => {
            add(
                "type",
                "\"type\" must be one of [ping, traceroute, dns, mtr, http]".into(),
            );
            String::new()
        }
    };
    match o.get("target") {
        None => add("target", "\"target\" is required".into()),
        Some(Value::String(t)) if t.is_empty() => {
            add("target", "\"target\" is not allowed to be empty".into());
        }
        Some(Value::String(t)) => {
            if let Ok(ip) = t.parse::<IpAddr>() {
                if is_private(ip) {
                    add("target", "Private hostnames are not allowed.".into());
                }
            } else if !valid_hostname(t) {
                add(
                    "target",
                    "\"target\" does not match any of the allowed types".into(),
                );
            }
        }
        Some(_) => add("target", "\"target\" must be a string".into()),
    }
    if o.get("inProgressUpdates").is_some_and(|b| !b.is_boolean()) {
        add(
            "inProgressUpdates",
            "\"inProgressUpdates\" must be a boolean".into(),
        );
    }
    if let Some(t) = o.get("timeout")
        && !t.as_u64().is_some_and(|t| (5..=30).contains(&t))
    {
        add(
            "timeout",
            "\"timeout\" must be an integer from 5 to 30".into(),
        );
    }
    let max = if authenticated {
        AUTH_LIMIT
    } else {
        ANON_LIMIT
    };
    let global_limit = o.get("limit");
    if let Some(l) = global_limit {
        match l.as_u64() {
            Some(n) if (1..=max).contains(&n) => {}
            _ => add(
                "limit",
                format!("\"limit\" must be less than or equal to {max}"),
            ),
        }
    }
    match o.get("locations") {
        None | Some(Value::String(_)) => {}
        Some(Value::Array(locs)) => {
            let mut total = 0;
            for (i, l) in locs.iter().enumerate() {
                let Some(lo) = l.as_object() else {
                    add(
                        &format!("locations[{i}]"),
                        format!("\"locations[{i}]\" must be of type object"),
                    );
                    continue;
                };
                let selectors = [
                    "continent",
                    "region",
                    "country",
                    "state",
                    "city",
                    "network",
                    "asn",
                    "magic",
                    "tags",
                ];
                if !lo.keys().any(|k| selectors.contains(&k.as_str())) {
                    add(
                        &format!("locations[{i}]"),
                        format!(
                            "\"locations[{i}]\" must contain at least one of [{}]",
                            selectors.join(", ")
                        ),
                    );
                }
                for (k, val) in lo {
                    let key = format!("locations[{i}].{k}");
                    let ok = match k.as_str() {
                        "continent" => val
                            .as_str()
                            .is_some_and(|c| CONTINENTS.contains(&c.to_ascii_uppercase().as_str())),
                        "country" | "state" => val.as_str().is_some_and(|c| {
                            c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic())
                        }),
                        "region" | "city" | "network" | "magic" => val
                            .as_str()
                            .is_some_and(|s| !s.is_empty() && s.len() <= 128),
                        "asn" => val.as_u64().is_some_and(|a| a > 0),
                        "tags" => val.as_array().is_some_and(|t| {
                            t.iter().all(|x| x.as_str().is_some_and(|s| !s.is_empty()))
                        }),
                        "limit" => {
                            if global_limit.is_some() {
                                add(
                                    &key,
                                    "limit per location is not allowed when a global limit is set"
                                        .into(),
                                );
                                continue;
                            }
                            match val.as_u64() {
                                Some(n) if (1..=LOCATION_LIMIT).contains(&n) => {
                                    total += n;
                                    true
                                }
                                _ => false,
                            }
                        }
                        _ => {
                            add(&key, format!("\"{key}\" is not allowed"));
                            continue;
                        }
                    };
                    if !ok {
                        add(&key, format!("\"{key}\" is invalid"));
                    }
                }
                if !lo.contains_key("limit") && global_limit.is_none() {
                    total += 1;
                }
            }
            if total > max {
                add(
                    "locations",
                    format!("the locations ask for {total} probes; at most {max} are allowed"),
                );
            }
        }
        Some(_) => add(
            "locations",
            "\"locations\" must be an array or a measurement id".into(),
        ),
    }
    let opts = match o.get("measurementOptions") {
        None => serde_json::Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            add(
                "measurementOptions",
                "\"measurementOptions\" must be of type object".into(),
            );
            serde_json::Map::new()
        }
    };
    let allowed: &[&str] = match kind.as_str() {
        "dns" => &[
            "query",
            "resolver",
            "port",
            "protocol",
            "ipVersion",
            "trace",
        ],
        "http" => &["request", "resolver", "port", "protocol", "ipVersion"],
        "ping" => &["packets", "ipVersion"],
        "traceroute" => &["port", "protocol", "ipVersion"],
        "mtr" => &["port", "protocol", "packets", "ipVersion"],
        _ => &[],
    };
    for (k, val) in &opts {
        let key = format!("measurementOptions.{k}");
        if !allowed.contains(&k.as_str()) {
            add(&key, format!("\"{key}\" is not allowed"));
            continue;
        }
        let ok = match (kind.as_str(), k.as_str()) {
            ("dns", "query") => val.as_object().is_some_and(|q| {
                q.keys().all(|k| k == "type")
                    && q.get("type").is_none_or(|t| {
                        t.as_str()
                            .is_some_and(|t| DNS_TYPES.contains(&t.to_ascii_uppercase().as_str()))
                    })
            }),
            ("http", "request") => val.as_object().is_some_and(|r| {
                r.keys()
                    .all(|k| ["host", "path", "query", "method", "headers"].contains(&k.as_str()))
                    && r.get("method").is_none_or(|m| {
                        m.as_str().is_some_and(|m| {
                            ["HEAD", "GET", "OPTIONS"].contains(&m.to_ascii_uppercase().as_str())
                        })
                    })
                    && r.get("path").is_none_or(Value::is_string)
                    && r.get("query").is_none_or(Value::is_string)
                    && r.get("host").is_none_or(Value::is_string)
                    && r.get("headers").is_none_or(|h| {
                        h.as_object().is_some_and(|h| {
                            h.iter().all(|(name, v)| {
                                v.is_string()
                                    && !["host", "user-agent", "connection", "content-length"]
                                        .contains(&name.to_ascii_lowercase().as_str())
                            })
                        })
                    })
            }),
            ("http", "protocol") => val.as_str().is_some_and(|p| {
                ["HTTP", "HTTPS", "HTTP2"].contains(&p.to_ascii_uppercase().as_str())
            }),
            ("dns" | "traceroute" | "mtr", "protocol") => val
                .as_str()
                .is_some_and(|p| ["UDP", "TCP", "ICMP"].contains(&p.to_ascii_uppercase().as_str())),
            (_, "port") => val.as_u64().is_some_and(|p| (1..=65535).contains(&p)),
            (_, "ipVersion") => val.as_u64().is_some_and(|v| v == 4 || v == 6),
            (_, "trace") => val.is_boolean(),
            (_, "resolver") => val.is_string(),
            (_, "packets") => val.as_u64().is_some_and(|n| (1..=16).contains(&n)),
            _ => true,
        };
        if !ok {
            add(&key, format!("\"{key}\" is invalid"));
        }
    }
    if bad.is_empty() { Ok(()) } else { Err(bad) }
}

/// Loopback, private, link-local and other reserved IPv4/IPv6 targets, which the API refuses.
fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => {
            v.is_private()
                || v.is_loopback()
                || v.is_link_local()
                || v.is_unspecified()
                || v.is_broadcast()
                || v.is_documentation()
                || v.octets()[0] == 0
                || v.octets()[0] >= 224
                || (v.octets()[0] == 100 && (64..128).contains(&v.octets()[1]))
        }
        IpAddr::V6(v) => {
            v.is_loopback()
                || v.is_unspecified()
                || v.is_multicast()
                || (v.segments()[0] & 0xfe00) == 0xfc00
                || (v.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

fn valid_hostname(t: &str) -> bool {
    let t = t.trim_end_matches('.');
    !t.is_empty()
        && t.len() <= 253
        && t.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

// ---------------------------------------------------------------------------------------------
// GET /v1/measurements/{id}

fn poll(req: &Request, id: &str, setup: &Setup, state: &Shared) -> Response {
    let mut guard = state.lock().unwrap();
    let st = &mut *guard;
    let Some(m) = st.measurements.get_mut(id) else {
        return Response::error(
            404,
            "not_found",
            "Couldn't find the requested measurement.",
            None,
        );
    };
    let since = m.last_response.elapsed();
    m.last_response = Instant::now();
    if setup.min_poll_gap.is_some_and(|gap| since < gap) {
        let v = format!("{id}: polled {since:?} after the previous response");
        st.violations.push(v);
    }
    if setup.garbage_polls {
        return Response::text(200, "<html><body>502 Bad Gateway</body></html>");
    }
    let done: Vec<Option<Value>> = m.results.lock().unwrap().clone();
    let finished = !setup.never_finish
        && m.polls >= setup.in_progress_polls
        && done.iter().all(Option::is_some);
    m.polls += 1;
    let mut doc = m.doc.clone();
    doc["results"] = Value::Array(
        m.probes
            .iter()
            .zip(&done)
            .map(|(&p, r)| {
                let result = match (finished, r) {
                    (true, Some(r)) => r.clone(),
                    _ => json!({"status": "in-progress", "rawOutput": ""}),
                };
                json!({"probe": setup.probes[p].info(), "result": result})
            })
            .collect(),
    );
    if finished {
        doc["status"] = json!("finished");
        doc["updatedAt"] = json!("2026-03-02T09:14:02.000Z");
        if let Some(s) = &setup.echo {
            echo_into(&mut doc, s);
        }
    }
    let text = serde_json::to_string(&doc).unwrap();
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    let etag = format!("W/\"{:016x}\"", h.finish());
    if req.header("if-none-match") == Some(etag.as_str()) {
        st.not_modified += 1;
        return Response::text(304, "").with("ETag", &etag);
    }
    Response {
        status: 200,
        headers: vec![
            (
                "Content-Type".into(),
                "application/json; charset=utf-8".into(),
            ),
            ("ETag".into(), etag),
        ],
        body: text.into_bytes(),
    }
}

/// [`Setup::echo`]: `s` into every server-filled field of a finished measurement document.
fn echo_into(doc: &mut Value, s: &str) {
    doc["target"] = json!(s);
    let Some(results) = doc["results"].as_array_mut() else {
        return;
    };
    for item in results {
        let probe = &mut item["probe"];
        for k in [
            "continent",
            "region",
            "country",
            "state",
            "city",
            "network",
            "asn",
        ] {
            probe[k] = json!(s);
        }
        probe["tags"] = json!([s]);
        probe["resolvers"] = json!([s]);
        let r = &mut item["result"];
        r["rawOutput"] = json!(s);
        if r.get("answers").is_some() {
            r["resolver"] = json!(s);
            for a in r["answers"].as_array_mut().into_iter().flatten() {
                a["name"] = json!(s);
                a["value"] = json!(s);
            }
        } else {
            r["resolvedAddress"] = json!(s);
            r["rawHeaders"] = json!(s);
            r["rawBody"] = json!(s);
            r["statusCodeName"] = json!(s);
            if let Some(h) = r["headers"].as_object_mut() {
                for (k, v) in h.iter_mut() {
                    if k != "location" {
                        *v = json!(s);
                    }
                }
                h.insert("x-echo".into(), json!(s));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Probes

fn dns_result(setup: &Setup, probe: &Probe, target: &str, options: &Value) -> Value {
    let started = Instant::now();
    let qtype = options
        .pointer("/query/type")
        .and_then(Value::as_str)
        .unwrap_or("A")
        .to_ascii_uppercase();
    let (rcode, answers) = setup.resolve(probe.continent, target, &qtype);
    let present = |t: &str, v: &str| {
        if t == "TXT" {
            format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
        } else if t == "CNAME" {
            format!("{v}.")
        } else {
            v.to_owned()
        }
    };
    let answers_json: Vec<Value> = answers
        .iter()
        .map(|(n, t, v)| {
            json!({"name": format!("{n}."), "type": t, "ttl": 300, "class": "IN", "value": present(t, v)})
        })
        .collect();
    let mut raw = format!(
        "\n; <<>> DiG 9.18.28 (fake Globalping probe {}) <<>> -t {qtype} {target}\n;; Got answer:\n\
         ;; ->>HEADER<<- opcode: QUERY, status: {rcode}\n\n;; ANSWER SECTION:\n",
        probe.city
    );
    for (n, t, v) in &answers {
        raw.push_str(&format!("{n}.\t300\tIN\t{t}\t{}\n", present(t, v)));
    }
    json!({
        "status": "finished",
        "statusCodeName": rcode,
        "statusCode": if rcode == "NXDOMAIN" { 3 } else { 0 },
        "rawOutput": raw,
        "answers": answers_json,
        "resolver": "private",
        "timings": {"total": started.elapsed().as_millis() as u64},
    })
}

/// A DNS test with the `resolver` option: the probe's dig really asks that server (an address
/// in 127/8 here, at `port`, default 53) from the probe's own source address, so a nameserver
/// that refuses a source address refuses that probe. A server that does not answer is a failed
/// test with dig's timeout line, as the real probes report it.
async fn dns_result_direct(probe: &Probe, target: &str, options: &Value) -> Value {
    use hickory_server::proto::rr::RData;
    let started = Instant::now();
    let qtype = options
        .pointer("/query/type")
        .and_then(Value::as_str)
        .unwrap_or("A")
        .to_ascii_uppercase();
    let resolver = options["resolver"].as_str().unwrap_or("");
    let port = options["port"].as_u64().unwrap_or(53) as u16;
    let Ok(ip) = resolver.parse::<IpAddr>() else {
        return json!({
            "status": "failed",
            "rawOutput": format!("dig: couldn't get address for '{resolver}': not found"),
            "failureSource": "resolver",
        });
    };
    assert_loopback(ip);
    let msg = super::dns::query(target, &qtype);
    let reply = super::dns::udp_exchange(
        SocketAddr::new(ip, port),
        probe.src,
        &msg,
        Duration::from_secs(2),
    )
    .await;
    let reply = match reply {
        Ok(r) => r,
        Err(_) => {
            return json!({
                "status": "failed",
                "rawOutput": format!(";; communications error to {ip}#{port}: timed out\n;; no servers could be reached"),
                "timings": {"total": started.elapsed().as_millis() as u64},
            });
        }
    };
    // dig's names for the codes (hickory's Display spells them out in words).
    let rcode = match u16::from(reply.metadata.response_code) {
        0 => "NOERROR".to_string(),
        1 => "FORMERR".to_string(),
        2 => "SERVFAIL".to_string(),
        3 => "NXDOMAIN".to_string(),
        4 => "NOTIMP".to_string(),
        5 => "REFUSED".to_string(),
        n => format!("RCODE{n}"),
    };
    let answers: Vec<Value> = reply
        .answers
        .iter()
        .filter_map(|r| {
            let (t, v) = match &r.data {
                RData::A(a) => ("A", a.0.to_string()),
                RData::AAAA(a) => ("AAAA", a.0.to_string()),
                RData::CNAME(c) => ("CNAME", c.0.to_ascii()),
                _ => return None,
            };
            Some(json!({"name": r.name.to_ascii(), "type": t, "ttl": r.ttl, "class": "IN", "value": v}))
        })
        .collect();
    json!({
        "status": "finished",
        "statusCodeName": rcode,
        "statusCode": u16::from(reply.metadata.response_code),
        "rawOutput": format!(
            "\n; <<>> DiG 9.18.28 (fake Globalping probe {}) <<>> @{ip} -p {port} -t {qtype} {target}\n\
             ;; ->>HEADER<<- opcode: QUERY, status: {rcode}\n",
            probe.city
        ),
        "answers": answers,
        "resolver": ip.to_string(),
        "timings": {"total": started.elapsed().as_millis() as u64},
    })
}

fn http_failed(raw: &str, resolved: Option<IpAddr>, source: &str) -> Value {
    json!({
        "status": "failed",
        "failureSource": source,
        "rawOutput": raw,
        "resolvedAddress": resolved.map(|a| a.to_string()),
        "headers": {},
        "rawHeaders": null,
        "rawBody": null,
        "truncated": false,
        "statusCode": null,
        "statusCodeName": null,
        "timings": {"total": null, "download": null, "firstByte": null, "dns": 0, "tls": null, "tcp": null},
        "tls": null,
    })
}

/// Really performs an HTTP test from `probe`'s source address.
async fn http_result(
    setup: &Setup,
    probe: &Probe,
    target: &str,
    options: &Value,
) -> (Value, ProbeFetch) {
    let req = options.get("request").cloned().unwrap_or(json!({}));
    let method = req["method"]
        .as_str()
        .unwrap_or("HEAD")
        .to_ascii_uppercase();
    let mut path = req["path"].as_str().unwrap_or("/").to_owned();
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    if let Some(q) = req["query"].as_str().filter(|q| !q.is_empty()) {
        path = format!("{path}?{}", q.trim_start_matches('?'));
    }
    let protocol = options["protocol"]
        .as_str()
        .unwrap_or("HTTPS")
        .to_ascii_uppercase();
    let port = options["port"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(if protocol == "HTTP" { 80 } else { 443 });
    let host_header = req["host"].as_str().unwrap_or(target).to_owned();
    let mut fetch = ProbeFetch {
        continent: probe.continent.to_owned(),
        src: None,
        dst: None,
        host: host_header.clone(),
        path: path.clone(),
        status: None,
        error: None,
    };
    let fail = |fetch: &mut ProbeFetch, raw: String, ip, source: &str| {
        let r = http_failed(&raw, ip, source);
        fetch.error = Some(raw);
        r
    };
    if protocol != "HTTP" {
        let r = fail(
            &mut fetch,
            format!("the fake Globalping API does not simulate {protocol}"),
            None,
            "internal",
        );
        return (r, fetch);
    }
    let ip: Option<IpAddr> = match target.parse::<IpAddr>() {
        Ok(ip) => Some(ip),
        Err(_) => setup
            .resolve(probe.continent, target, "A")
            .1
            .iter()
            .filter(|(_, t, _)| t == "A")
            .find_map(|(_, _, v)| v.parse().ok()),
    };
    let Some(ip) = ip else {
        let r = fail(
            &mut fetch,
            format!("getaddrinfo ENOTFOUND {target}"),
            None,
            "target",
        );
        return (r, fetch);
    };
    if !super::is_loopback_v4(ip) {
        // Never leave the machine.
        let r = fail(
            &mut fetch,
            format!("connect ENETUNREACH {ip}:{port} (the fake only reaches 127/8)"),
            Some(ip),
            "target",
        );
        return (r, fetch);
    }
    let real_port = if port == 80 { setup.http_port } else { port };
    let dst = SocketAddr::new(ip, real_port);
    fetch.dst = Some(dst);
    let started = Instant::now();
    let outcome = tokio::time::timeout(PROBE_HTTP_TIMEOUT, async {
        let sock = TcpSocket::new_v4()?;
        sock.bind(SocketAddr::new(probe.src, 0))?;
        let mut s = sock.connect(dst).await?;
        let local = s.local_addr().ok();
        let tcp = started.elapsed();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: {PROBE_USER_AGENT}\r\n\
             Accept-Encoding: gzip, deflate, br\r\nConnection: close\r\n\r\n"
        );
        s.write_all(request.as_bytes()).await?;
        let mut raw = Vec::new();
        let mut chunk = [0u8; 4096];
        let mut first_byte = None;
        loop {
            let n = s.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            first_byte.get_or_insert_with(|| started.elapsed());
            raw.extend_from_slice(&chunk[..n]);
            if raw.len() > PROBE_BODY_LIMIT + LIMITS.head {
                break;
            }
        }
        Ok::<_, io::Error>((local, raw, tcp, first_byte.unwrap_or_default()))
    })
    .await;
    let (local, raw, tcp, first_byte) = match outcome {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => {
            let code = match e.kind() {
                io::ErrorKind::ConnectionRefused => "ECONNREFUSED",
                io::ErrorKind::ConnectionReset => "ECONNRESET",
                _ => "EIO",
            };
            let r = fail(
                &mut fetch,
                format!("connect {code} {ip}:{port} ({e})"),
                Some(ip),
                "target",
            );
            return (r, fetch);
        }
        Err(_) => {
            let r = fail(
                &mut fetch,
                format!(
                    "Timeout awaiting 'request' for {}ms",
                    PROBE_HTTP_TIMEOUT.as_millis()
                ),
                Some(ip),
                "target",
            );
            return (r, fetch);
        }
    };
    fetch.src = local;
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        let what = if raw.is_empty() {
            "socket hang up (read ECONNRESET)"
        } else {
            "Parse Error: Invalid response"
        };
        let r = fail(&mut fetch, what.into(), Some(ip), "target");
        return (r, fetch);
    };
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: Option<u16> = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok());
    let Some(status) = status else {
        let r = fail(
            &mut fetch,
            "Parse Error: Invalid status line".into(),
            Some(ip),
            "target",
        );
        return (r, fetch);
    };
    fetch.status = Some(status);
    let mut headers = serde_json::Map::new();
    let mut raw_headers = Vec::new();
    let mut status_text = String::new();
    if let Some(t) = head
        .split("\r\n")
        .next()
        .and_then(|l| l.splitn(3, ' ').nth(2))
    {
        status_text = t.to_owned();
    }
    for l in lines {
        let Some((k, v)) = l.split_once(':') else {
            continue;
        };
        raw_headers.push(format!("{}: {}", k.trim(), v.trim()));
        let k = k.trim().to_ascii_lowercase();
        let v = Value::String(v.trim().to_owned());
        match headers.get_mut(&k) {
            Some(Value::Array(a)) => a.push(v),
            Some(prev) => *prev = Value::Array(vec![prev.clone(), v]),
            None => {
                headers.insert(k, v);
            }
        }
    }
    let body = &raw[end + 4..];
    let truncated = body.len() > PROBE_BODY_LIMIT;
    let body = &body[..body.len().min(PROBE_BODY_LIMIT)];
    let total = started.elapsed().as_millis() as u64;
    let result = json!({
        "status": "finished",
        "resolvedAddress": ip.to_string(),
        "headers": headers,
        "rawHeaders": raw_headers.join("\n"),
        "rawBody": if method == "HEAD" { Value::Null } else { json!(String::from_utf8_lossy(body)) },
        "rawOutput": format!("HTTP/1.1 {status} {status_text}\n{}", raw_headers.join("\n")),
        "truncated": truncated,
        "statusCode": status,
        "statusCodeName": status_text,
        "timings": {
            "total": total,
            "dns": 0,
            "tcp": tcp.as_millis() as u64,
            "tls": null,
            "firstByte": first_byte.saturating_sub(tcp).as_millis() as u64,
            "download": total.saturating_sub(first_byte.as_millis() as u64),
        },
        "tls": null,
    });
    (result, fetch)
}
