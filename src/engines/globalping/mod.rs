//! Globalping (jsDelivr's public probe network) as a remote perspective engine. Each configured
//! location is one perspective served by exactly one probe: the first measurement for a location
//! picks a probe, and every later measurement for that location passes the first measurement's id
//! as `locations`, which the API documents as "reuse the same probes in the same order". DNS
//! answers (A, AAAA, TXT) and HTTP-01 fetches from those probes become the same `Observation`s as
//! local perspectives produce. Globalping does not follow redirects, so the HTTP-01 chain is
//! followed here under the CA rules by re-measuring from the same probe; it cannot query CAA, so
//! CAA is reported as not tested (coverage) and never as passed. The client keeps to the API's
//! rules (202, then polling no faster than 500 ms after each response, ETag/If-None-Match,
//! `Retry-After` on 429) inside one deadline per call. Anything that goes wrong with the API
//! itself (unreachable, rate limited, no probe, slow) is the perspective's fault, never the
//! domain's. The token travels only in the `Authorization` header and is scrubbed from every
//! message this module produces.

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use futures::future::join_all;
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_TYPE, ETAG, HeaderMap, HeaderValue, IF_NONE_MATCH, RETRY_AFTER,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use crate::checks::http01::{BODY_LIMIT, MAX_REDIRECTS, hex};
use crate::checks::{blank, broken, fail_with};
use crate::config::engine::{Location, LocationSpec, TOKEN_ENV};
use crate::config::redact_url;
use crate::model::{
    Check, DnsExchange, Ede, HttpFacts, HttpHop, Observation, Phase, Rr, Signature,
};
use crate::perspective::LookupFailure;
use crate::perspective::dns::escape_bytes;
use crate::perspective::http::error_text;

/// The User-Agent every probe sends; it cannot be changed (`User-Agent` is a reserved header).
pub const PROBE_USER_AGENT: &str = "globalping probe (https://github.com/jsdelivr/globalping)";
/// Probes return only the first 10 KB of a body.
pub const PROBE_BODY_LIMIT_TEXT: &str = "10 KB";
/// Our own User-Agent towards the API (the API guidelines ask clients to send one).
const API_USER_AGENT: &str = concat!("mpic-check/", env!("CARGO_PKG_VERSION"));
/// The guidelines: poll again 500 ms after each response.
const FIRST_POLL: Duration = Duration::from_millis(500);
/// Later polls back off by half each time up to this, which stays far below the API's limit of
/// 5 requests per 2 s per measurement and still notices a finished measurement quickly.
const POLL_CAP: Duration = Duration::from_secs(3);
/// Wait after a 429 without a usable `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(2);
/// 429s tolerated on one request before giving up (each one waited out first).
const MAX_RATE_RETRIES: u32 = 4;
/// Largest API response read. A finished HTTP measurement carries at most 10 KB of body plus
/// headers and raw output, so this is generous; it only stops a runaway server.
const MAX_RESPONSE: usize = 4 << 20;
/// Response headers that reveal caching, CDNs or WAFs (the same list the local HTTP-01 check
/// keeps, so remote and local hops compare).
const HEADERS_OF_INTEREST: &[&str] = &[
    "age",
    "cache-control",
    "expires",
    "x-cache",
    "x-cache-status",
    "cf-cache-status",
    "cf-ray",
    "via",
    "server",
    "x-served-by",
    "cdn-cache-control",
    "surrogate-control",
    "content-length",
    "content-type",
];

/// Reads a token from the environment variable `var` (trimmed; empty means none).
pub fn token_from_env(var: &str) -> Option<String> {
    std::env::var(var)
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// What the engine needs: where the API is, the optional token, the locations and the bound on
/// each whole call.
#[derive(Clone)]
pub struct GlobalpingConfig {
    /// API base, normally [`crate::config::engine::DEFAULT_API_URL`]; tests and proxies override it.
    pub api_url: Url,
    /// Bearer token (from `GLOBALPING_TOKEN` or the config). Never printed.
    pub token: Option<String>,
    /// One perspective per location.
    pub locations: Vec<Location>,
    /// Bound on each whole call (`address`, `txt`, `http01`), polling and redirects included.
    pub timeout: Duration,
}

impl fmt::Debug for GlobalpingConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GlobalpingConfig")
            .field("api_url", &redact_url(&self.api_url))
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("locations", &self.locations)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The location object for the API, asking for exactly one probe.
fn location_json(spec: &LocationSpec) -> Value {
    match spec {
        LocationSpec::Continent(c) => json!({"continent": c.to_ascii_uppercase(), "limit": 1}),
        LocationSpec::Country(c) => json!({"country": c.to_ascii_uppercase(), "limit": 1}),
        LocationSpec::Magic(m) => json!({"magic": m.trim(), "limit": 1}),
        LocationSpec::Tag(t) => json!({"tags": [t.trim()], "limit": 1}),
    }
}

/// Which probe a location uses for the rest of the run.
#[derive(Debug, Clone)]
enum Pin {
    /// Nothing measured yet (or every attempt so far failed at the API).
    Unset,
    /// The id of the location's first measurement: later ones reuse its probe.
    Probe(String),
    /// The API had no probe for this location; kept so the run does not ask again.
    Lost(String),
}

/// A failure of the engine itself: always a perspective fault.
#[derive(Debug, Clone)]
struct Fault {
    phase: Phase,
    message: String,
}

impl Fault {
    fn proxy(message: String) -> Fault {
        Fault {
            phase: Phase::Proxy,
            message,
        }
    }
}

/// Why a measurement could not be created.
#[derive(Debug)]
enum CreateError {
    /// 422: no probe matched (or a reused measurement id expired).
    NoProbe(String),
    /// Anything else.
    Fault(Fault),
}

/// One probe's part of a finished measurement.
#[derive(Debug)]
struct Measured {
    probe: Value,
    result: Value,
}

/// One API response, body read up to [`MAX_RESPONSE`].
#[derive(Debug)]
struct ApiResponse {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// The Globalping client: one probe pinned per location for the lifetime of this value.
pub struct Globalping {
    client: reqwest::Client,
    base: Url,
    token: Option<String>,
    locations: Vec<Location>,
    timeout: Duration,
    /// First poll delay; the guidelines' 500 ms (tests may shorten it).
    first_poll: Duration,
    pins: Vec<Mutex<Pin>>,
    /// Engine-level problems seen (rate limits, authentication, unreachable API), deduplicated.
    problems: std::sync::Mutex<Vec<String>>,
}

impl fmt::Debug for Globalping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Globalping")
            .field("api_url", &redact_url(&self.base))
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("locations", &self.locations)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Globalping {
    /// Validates the configuration and builds the HTTP client. The error never contains the token.
    pub fn new(cfg: GlobalpingConfig) -> Result<Self, String> {
        let GlobalpingConfig {
            api_url,
            token,
            locations,
            timeout,
        } = cfg;
        let shown = redact_url(&api_url);
        if !matches!(api_url.scheme(), "http" | "https") || api_url.cannot_be_a_base() {
            return Err(format!(
                "Globalping api_url {shown}: only http:// and https:// URLs are supported"
            ));
        }
        if locations.is_empty() {
            return Err("Globalping engine: no locations configured".into());
        }
        let mut names = HashSet::new();
        for l in &locations {
            if l.name.trim().is_empty() {
                return Err("Globalping engine: a location has an empty name".into());
            }
            if !names.insert(l.name.as_str()) {
                return Err(format!(
                    "Globalping engine: location name {:?} is used twice",
                    l.name
                ));
            }
            l.spec
                .validate()
                .map_err(|e| format!("Globalping location {:?}: {e}", l.name))?;
        }
        if timeout.is_zero() {
            return Err("Globalping engine: the timeout must be more than zero".into());
        }
        let token = token
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(t) = &token {
            // A token sent in clear text to anything but this machine could be read on the way.
            if crate::perspective::http::sends_in_clear_text(&api_url) {
                return Err(format!(
                    "Globalping api_url {shown}: refusing to send the token over plain http"
                ));
            }
            let mut v = HeaderValue::from_str(&format!("Bearer {t}")).map_err(|_| {
                "the Globalping token contains characters not allowed in an HTTP header".to_string()
            })?;
            // Keeps the value out of any Debug output of requests.
            v.set_sensitive(true);
            headers.insert(AUTHORIZATION, v);
        }
        let client = reqwest::Client::builder()
            // The API is reached directly: a stray HTTP_PROXY must not receive the token.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(API_USER_AGENT)
            .default_headers(headers)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| {
                format!(
                    "cannot build the Globalping HTTP client: {}",
                    error_text(&e)
                )
            })?;
        let mut base = api_url;
        base.set_query(None);
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        let pins = locations.iter().map(|_| Mutex::new(Pin::Unset)).collect();
        Ok(Globalping {
            client,
            base,
            token,
            locations,
            timeout,
            first_poll: FIRST_POLL,
            pins,
            problems: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// The configured locations, in order (perspective names and RIRs for the report).
    pub fn locations(&self) -> &[Location] {
        &self.locations
    }

    /// A and AAAA of `name` from each location's probe (its system resolver), CNAME chain kept.
    /// One observation per location.
    pub async fn address(&self, name: &str) -> Vec<Observation> {
        self.per_location(Check::Address, |i, deadline| {
            self.address_one(i, name, deadline)
        })
        .await
    }

    /// TXT at `challenge_name` from each location's probe, compared with `expect` (every value
    /// must be present, as for apex + wildcard). One observation per location.
    pub async fn txt(&self, challenge_name: &str, expect: &[String]) -> Vec<Observation> {
        self.per_location(Check::Dns01, |i, deadline| {
            self.txt_one(i, challenge_name, expect, deadline)
        })
        .await
    }

    /// `GET http://<name>/.well-known/acme-challenge/<token>` from each location's probe,
    /// redirects followed here under the CA rules by re-measuring from the same probe. The
    /// summary records the probe's limits (its own User-Agent, bodies cut at 10 KB). One
    /// observation per location.
    pub async fn http01(
        &self,
        name: &str,
        token: &str,
        expect_body: Option<&str>,
    ) -> Vec<Observation> {
        self.per_location(Check::Http01, |i, deadline| {
            self.http_one(i, name, token, expect_body, deadline)
        })
        .await
    }

    /// CAA cannot be measured through Globalping (it is not among its DNS query types), so this
    /// engine returns no CAA observations; these notes say so for the coverage section, as
    /// `(failure_mode, tested, why)`, together with its other limits.
    pub fn coverage_notes(&self) -> Vec<(String, bool, String)> {
        let n = self.locations.len();
        vec![
            (
                "caa-forbids".into(),
                false,
                format!(
                    "Globalping cannot query CAA (not among its DNS query types): its {n} \
                     location(s) did not check CAA, which is not the same as passing it"
                ),
            ),
            (
                "caa-lookup-failed".into(),
                false,
                format!("Globalping cannot query CAA: its {n} location(s) did not look it up"),
            ),
            (
                "http-geoblocked".into(),
                true,
                format!(
                    "{n} Globalping location(s) fetch HTTP-01 from a probe in their own region"
                ),
            ),
            (
                "user-agent-filtered".into(),
                false,
                format!(
                    "Globalping probes always send their own User-Agent ({PROBE_USER_AGENT}), so \
                     a filter keyed on the CA's User-Agent cannot be reproduced from them"
                ),
            ),
            (
                "body-too-large".into(),
                true,
                format!(
                    "Globalping returns only the first {PROBE_BODY_LIMIT_TEXT} of a body, which \
                     is enough to compare with the {BODY_LIMIT}-byte limit"
                ),
            ),
            (
                "dead-address".into(),
                false,
                "Globalping probes resolve the name and pick one address themselves; the \
                 published addresses are not fetched one by one from them"
                    .into(),
            ),
            (
                "ipv6-broken".into(),
                false,
                "Globalping HTTP measurements leave over IPv4 (IPv6 is experimental there), so \
                 IPv6 reachability is not tested from its probes"
                    .into(),
            ),
        ]
    }

    /// Engine-level problems seen so far (rate limits with the anonymous/token allowance,
    /// authentication, an unreachable API), each once, for "what was lost" in the report.
    pub fn problems(&self) -> Vec<String> {
        self.problems.lock().map(|p| p.clone()).unwrap_or_default()
    }

    fn note_problem(&self, msg: &str) {
        let msg = self.redact(msg);
        if let Ok(mut p) = self.problems.lock()
            && !p.contains(&msg)
        {
            p.push(msg);
        }
    }

    /// Removes the token from any text that may have come from the wire or an error chain.
    fn redact(&self, s: &str) -> String {
        match &self.token {
            Some(t) if !t.is_empty() => s.replace(t.as_str(), "***"),
            _ => s.to_string(),
        }
    }

    /// Runs `one` for every location under one deadline; a location that does not finish in
    /// time gets a timeout observation (a perspective fault: the engine was slow, not the
    /// domain).
    async fn per_location<F, Fut>(&self, check: Check, one: F) -> Vec<Observation>
    where
        F: Fn(usize, Instant) -> Fut,
        Fut: Future<Output = Observation>,
    {
        let deadline = Instant::now() + self.timeout;
        let work = (0..self.locations.len()).map(|i| {
            let fut = one(i, deadline);
            async move {
                let start = Instant::now();
                let mut o = match tokio::time::timeout_at(deadline, fut).await {
                    Ok(o) => o,
                    Err(_) => broken(
                        &self.locations[i].name,
                        check,
                        &format!(
                            "Globalping gave no final result within {} (the engine's time \
                             limit for the whole call): this location was not tested",
                            humantime::format_duration(self.timeout)
                        ),
                        Phase::Timeout,
                    ),
                };
                o.elapsed_ms = start.elapsed().as_millis() as u64;
                o.summary = self.redact(&o.summary);
                o.signature = Signature::parse(&self.redact(&o.signature.to_string()));
                if let Some(h) = o.http.as_mut() {
                    h.body_prefix = h.body_prefix.as_deref().map(|b| self.redact(b));
                }
                o
            }
        });
        join_all(work).await
    }

    // ---------------------------------------------------------------------------------------
    // The API

    fn endpoint(&self, path: &str) -> Result<Url, Fault> {
        self.base
            .join(path)
            .map_err(|e| Fault::proxy(format!("cannot build the Globalping URL for {path}: {e}")))
    }

    /// Sends one request and reads the body (bounded). Transport failures are faults.
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<ApiResponse, Fault> {
        let shown = redact_url(&self.base);
        let mut resp = req.send().await.map_err(|e| {
            let phase = if e.is_timeout() {
                Phase::Timeout
            } else {
                Phase::Proxy
            };
            let msg = self.redact(&format!(
                "Globalping API unreachable ({shown}): {}",
                error_text(&e)
            ));
            self.note_problem(&msg);
            Fault {
                phase,
                message: msg,
            }
        })?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => {
                    if body.len() + c.len() > MAX_RESPONSE {
                        return Err(Fault::proxy(format!(
                            "the Globalping API sent more than {} MiB; not read further",
                            MAX_RESPONSE >> 20
                        )));
                    }
                    body.extend_from_slice(&c);
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(Fault::proxy(self.redact(&format!(
                        "reading the Globalping API response: {}",
                        error_text(&e)
                    ))));
                }
            }
        }
        Ok(ApiResponse {
            status,
            headers,
            body,
        })
    }

    /// `POST /v1/measurements`; waits out 429s while the deadline allows.
    async fn create(&self, body: &Value, deadline: Instant) -> Result<String, CreateError> {
        let url = self
            .endpoint("v1/measurements")
            .map_err(CreateError::Fault)?;
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        let mut tries = 0;
        loop {
            let req = self
                .client
                .post(url.clone())
                .header(CONTENT_TYPE, "application/json")
                .body(bytes.clone());
            let r = self.send(req).await.map_err(CreateError::Fault)?;
            match r.status {
                200..=299 => {
                    let v: Value = serde_json::from_slice(&r.body).map_err(|e| {
                        CreateError::Fault(Fault::proxy(format!(
                            "the Globalping API accepted the measurement but its answer is not \
                             the documented JSON: {e}"
                        )))
                    })?;
                    return match v.get("id").and_then(Value::as_str) {
                        Some(id) if valid_id(id) => Ok(id.to_string()),
                        _ => Err(CreateError::Fault(Fault::proxy(
                            "the Globalping API accepted the measurement but returned no usable id"
                                .into(),
                        ))),
                    };
                }
                429 => {
                    let msg = self.rate_limit_message(&r);
                    self.note_problem(&msg);
                    let wait = retry_after(&r.headers)
                        .or_else(|| header_secs(&r.headers, "x-ratelimit-reset"))
                        .unwrap_or(DEFAULT_RETRY_AFTER);
                    tries += 1;
                    if tries > MAX_RATE_RETRIES || Instant::now() + wait >= deadline {
                        return Err(CreateError::Fault(Fault::proxy(msg)));
                    }
                    tokio::time::sleep(wait).await;
                }
                422 => {
                    let (_, m) = api_error(&r.body);
                    return Err(CreateError::NoProbe(self.redact(&m)));
                }
                401 | 403 => {
                    let (_, m) = api_error(&r.body);
                    let hint = if self.token.is_some() {
                        format!("check the token (for example {TOKEN_ENV})")
                    } else {
                        "this endpoint needs a token".into()
                    };
                    let msg = self.redact(&format!(
                        "Globalping refused the request (HTTP {}): {m}; {hint}",
                        r.status
                    ));
                    self.note_problem(&msg);
                    return Err(CreateError::Fault(Fault::proxy(msg)));
                }
                s => {
                    let (kind, m) = api_error(&r.body);
                    let kind = kind.map(|k| format!(" {k}")).unwrap_or_default();
                    let msg = self.redact(&format!(
                        "Globalping refused the measurement (HTTP {s}{kind}): {m}"
                    ));
                    if s >= 500 {
                        self.note_problem(&msg);
                    }
                    return Err(CreateError::Fault(Fault::proxy(msg)));
                }
            }
        }
    }

    /// A 429 on creation explained: which allowance ran out and how to get more.
    fn rate_limit_message(&self, r: &ApiResponse) -> String {
        let (kind, m) = api_error(&r.body);
        let kind = kind.map(|k| format!(", {k}")).unwrap_or_default();
        let allowance = if self.token.is_some() {
            "with a token the allowance is 500 tests per hour, then the account's credits".into()
        } else {
            format!(
                "anonymous use allows 250 tests per hour per IP address; a token \
                 ({TOKEN_ENV}) raises it to 500 and adds credits"
            )
        };
        let mut extra = Vec::new();
        for (h, label) in [
            ("x-ratelimit-remaining", "remaining"),
            ("x-credits-remaining", "credits left"),
            ("x-request-cost", "this request costs"),
        ] {
            if let Some(v) = header_str(&r.headers, h) {
                extra.push(format!("{label} {}", escape_bytes(v.as_bytes())));
            }
        }
        if let Some(d) =
            retry_after(&r.headers).or_else(|| header_secs(&r.headers, "x-ratelimit-reset"))
        {
            extra.push(format!("resets in {} s", d.as_secs()));
        }
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!(" ({})", extra.join(", "))
        };
        self.redact(&format!(
            "Globalping rate limit reached (HTTP 429{kind}): {m}; {allowance}{extra}"
        ))
    }

    /// Polls `GET /v1/measurements/{id}` until the measurement is final: first 500 ms after the
    /// creating response, then backing off, with If-None-Match so unchanged bodies cost nothing.
    async fn wait_finished(&self, id: &str, deadline: Instant) -> Result<Value, Fault> {
        let url = self.endpoint(&format!("v1/measurements/{id}"))?;
        let mut etag: Option<HeaderValue> = None;
        let mut interval = self.first_poll;
        let mut wait = interval;
        loop {
            tokio::time::sleep(wait).await;
            let mut req = self.client.get(url.clone());
            if let Some(e) = &etag {
                req = req.header(IF_NONE_MATCH, e.clone());
            }
            let r = self.send(req).await?;
            match r.status {
                200 => {
                    let v: Value = serde_json::from_slice(&r.body).map_err(|e| {
                        Fault::proxy(format!(
                            "the Globalping measurement {id} is not the documented JSON: {e}"
                        ))
                    })?;
                    // "Any value other than in-progress is final."
                    if v.get("status").and_then(Value::as_str) != Some("in-progress") {
                        return Ok(v);
                    }
                    etag = r.headers.get(ETAG).cloned();
                }
                // Unchanged since the last poll: still in progress.
                304 => {}
                429 => {
                    let w = retry_after(&r.headers).unwrap_or(DEFAULT_RETRY_AFTER);
                    if Instant::now() + w >= deadline {
                        let (_, m) = api_error(&r.body);
                        return Err(Fault::proxy(self.redact(&format!(
                            "Globalping limited polling of measurement {id} (HTTP 429: {m}) \
                             beyond the time limit"
                        ))));
                    }
                    wait = w;
                    continue;
                }
                404 => {
                    return Err(Fault::proxy(format!(
                        "Globalping no longer knows measurement {id} (HTTP 404)"
                    )));
                }
                s => {
                    let (_, m) = api_error(&r.body);
                    return Err(Fault::proxy(self.redact(&format!(
                        "Globalping failed to report measurement {id} (HTTP {s}): {m}"
                    ))));
                }
            }
            interval = (interval.mul_f64(1.5)).min(POLL_CAP);
            wait = interval;
        }
    }

    /// One measurement from location `idx`'s probe: the first one picks the probe, later ones
    /// reuse it by passing the first measurement's id as `locations`.
    async fn measure(
        &self,
        idx: usize,
        kind: &str,
        target: &str,
        options: Value,
        deadline: Instant,
    ) -> Result<Measured, Fault> {
        let loc = &self.locations[idx];
        let body = |locations: Value| {
            json!({
                "type": kind,
                "target": target,
                "inProgressUpdates": false,
                "locations": locations,
                "measurementOptions": options,
            })
        };
        // The lock is held across the first creation only, so concurrent checks of one location
        // wait for its probe to be chosen instead of each picking a different one.
        let mut pin = self.pins[idx].lock().await;
        let pinned = match &*pin {
            Pin::Probe(first) => Some(first.clone()),
            Pin::Lost(why) => return Err(Fault::proxy(why.clone())),
            Pin::Unset => None,
        };
        let id = if let Some(first) = pinned {
            drop(pin);
            match self.create(&body(json!(first)), deadline).await {
                Ok(id) => id,
                Err(CreateError::NoProbe(m)) => {
                    return Err(Fault::proxy(format!(
                        "the probe chosen for this location is no longer available ({m}); \
                         another probe would be another perspective, so none is used"
                    )));
                }
                Err(CreateError::Fault(f)) => return Err(f),
            }
        } else {
            let created = self
                .create(&body(json!([location_json(&loc.spec)])), deadline)
                .await;
            let id = match created {
                Ok(id) => {
                    *pin = Pin::Probe(id.clone());
                    id
                }
                Err(CreateError::NoProbe(m)) => {
                    let why = format!(
                        "no probe available: Globalping has no probe for {} ({m}); this \
                         location was not tested",
                        loc.spec
                    );
                    *pin = Pin::Lost(why.clone());
                    return Err(Fault::proxy(why));
                }
                Err(CreateError::Fault(f)) => return Err(f),
            };
            drop(pin);
            id
        };
        let v = self.wait_finished(&id, deadline).await?;
        let first = v
            .get("results")
            .and_then(Value::as_array)
            .and_then(|r| r.first())
            .cloned();
        match first {
            Some(item) => Ok(Measured {
                probe: item.get("probe").cloned().unwrap_or(Value::Null),
                result: item.get("result").cloned().unwrap_or(Value::Null),
            }),
            None => Err(Fault::proxy(format!(
                "no probe available: measurement {id} came back without any probe result"
            ))),
        }
    }

    // ---------------------------------------------------------------------------------------
    // Checks

    async fn address_one(&self, idx: usize, name: &str, deadline: Instant) -> Observation {
        let loc = &self.locations[idx].name;
        let (a, aaaa) = tokio::join!(
            self.measure(idx, "dns", name, dns_options("A"), deadline),
            self.measure(idx, "dns", name, dns_options("AAAA"), deadline)
        );
        let mut o = blank(loc, Check::Address);
        let mut probe = None;
        let mut failures: Vec<LookupFailure> = Vec::new();
        let mut exchanges = Vec::new();
        for (qtype, r) in [("A", a), ("AAAA", aaaa)] {
            match r {
                Ok(m) => {
                    probe.get_or_insert_with(|| describe_probe(&m.probe));
                    let (ex, fail) = dns_outcome(name, qtype, &m);
                    exchanges.push(ex);
                    failures.extend(fail);
                }
                Err(f) => failures.push(LookupFailure {
                    phase: f.phase,
                    message: format!("{qtype}: {}", f.message),
                    perspective_fault: true,
                }),
            }
        }
        let mut addrs: Vec<IpAddr> = exchanges
            .iter()
            .flat_map(|e| e.answers.iter())
            .filter(|r| r.rtype == "A" || r.rtype == "AAAA")
            .filter_map(|r| r.data.parse().ok())
            .collect();
        addrs.sort();
        addrs.dedup();
        o.addresses = addrs.iter().map(ToString::to_string).collect();
        let suffix = probe_suffix(probe.as_deref());
        if !addrs.is_empty() {
            o.ok = true;
            o.signature = Signature::parse(&o.addresses.join(","));
            let chain = exchanges
                .first()
                .map(|e| e.cname_chain.clone())
                .filter(|c| c.len() > 1)
                .map(|c| format!(" via {}", c[1..].join(" → ")))
                .unwrap_or_default();
            let missing = failures
                .iter()
                .map(|f| format!("; {}", f.message))
                .collect::<String>();
            o.summary = format!("{}{chain}{missing}{suffix}", o.addresses.join(" "));
            o.dns = exchanges;
            return o;
        }
        let nx = exchanges
            .iter()
            .any(|e| e.rcode.as_deref() == Some("NXDOMAIN"));
        o.dns = exchanges;
        if nx || failures.is_empty() {
            o.summary = if nx {
                format!("NXDOMAIN: the name does not exist{suffix}")
            } else {
                format!("no A or AAAA record{suffix}")
            };
            o.signature = if nx {
                Signature::NxDomain
            } else {
                Signature::NoData
            };
            return o;
        }
        fail_with(&mut o, &failures[0]);
        o.summary = format!("{}{suffix}", o.summary);
        o
    }

    async fn txt_one(
        &self,
        idx: usize,
        challenge_name: &str,
        expect: &[String],
        deadline: Instant,
    ) -> Observation {
        let loc = &self.locations[idx].name;
        let m = match self
            .measure(idx, "dns", challenge_name, dns_options("TXT"), deadline)
            .await
        {
            Ok(m) => m,
            Err(f) => return broken(loc, Check::Dns01, &f.message, f.phase),
        };
        let suffix = probe_suffix(Some(&describe_probe(&m.probe)));
        let mut o = blank(loc, Check::Dns01);
        let (ex, fail) = dns_outcome(challenge_name, "TXT", &m);
        let nx = ex.rcode.as_deref() == Some("NXDOMAIN");
        let mut values: Vec<String> = ex
            .answers
            .iter()
            .filter(|r| r.rtype == "TXT")
            .map(|r| r.data.clone())
            .collect();
        o.dns = vec![ex];
        if let Some(f) = fail {
            fail_with(&mut o, &f);
            o.summary = format!("{}{suffix}", o.summary);
            return o;
        }
        values.sort();
        values.dedup();
        o.txt = values.clone();
        o.signature = if values.is_empty() {
            Signature::None
        } else {
            Signature::parse(&values.join("|"))
        };
        let negative = if nx { "NXDOMAIN" } else { "no TXT record" };
        if expect.is_empty() {
            o.ok = true;
            o.summary = if values.is_empty() {
                format!("{negative} at {challenge_name}{suffix}")
            } else {
                format!("{} value(s): {}{suffix}", values.len(), values.join(" "))
            };
            return o;
        }
        let missing: Vec<&str> = expect
            .iter()
            .filter(|e| !values.contains(e))
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            o.ok = true;
            o.summary = format!("all {} expected value(s) present{suffix}", expect.len());
        } else if values.is_empty() {
            o.summary = format!("No TXT record found at {challenge_name}{suffix}");
        } else {
            o.summary = format!(
                "Incorrect TXT record {:?} found at {challenge_name}; missing {}{suffix}",
                values[0],
                missing.join(", ")
            );
        }
        o
    }

    async fn http_one(
        &self,
        idx: usize,
        name: &str,
        token: &str,
        expect_body: Option<&str>,
        deadline: Instant,
    ) -> Observation {
        let loc = &self.locations[idx].name;
        let start_url =
            match Url::parse(&format!("http://{name}/.well-known/acme-challenge/{token}")) {
                Ok(u) => u,
                Err(e) => {
                    let mut o = blank(loc, Check::Http01);
                    o.phase = Some(Phase::Protocol);
                    o.summary = format!("cannot build the challenge URL: {e}");
                    o.signature = Signature::Failed(Phase::Protocol);
                    return o;
                }
            };
        let mut url = start_url.clone();
        let mut seen: HashSet<String> = HashSet::new();
        let mut hops: Vec<HttpHop> = Vec::new();
        let mut probe: Option<String> = None;
        let end = loop {
            seen.insert(url.to_string());
            let host = url
                .host_str()
                .unwrap_or_default()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            let m = match self
                .measure(idx, "http", &host, http_options(&url), deadline)
                .await
            {
                Ok(m) => m,
                Err(f) => break HttpEnd::Fault(f),
            };
            probe.get_or_insert_with(|| describe_probe(&m.probe));
            let r = &m.result;
            let mut hop = HttpHop {
                url: url.to_string(),
                address: r
                    .get("resolvedAddress")
                    .and_then(Value::as_str)
                    .map(|a| escape_bytes(a.as_bytes())),
                status: None,
                location: None,
                headers: Vec::new(),
                elapsed_ms: r
                    .pointer("/timings/total")
                    .and_then(Value::as_f64)
                    .map_or(0, |t| t.max(0.0) as u64),
            };
            match r.get("status").and_then(Value::as_str) {
                Some("finished") => {}
                Some("failed") => {
                    hops.push(hop);
                    let (phase, msg, fault) = http_failure(r);
                    break HttpEnd::Failed(phase, msg, fault);
                }
                Some("offline") => {
                    break HttpEnd::Fault(Fault::proxy(
                        "the probe chosen for this location went offline".into(),
                    ));
                }
                other => {
                    break HttpEnd::Fault(Fault {
                        phase: Phase::Timeout,
                        message: format!(
                            "the probe did not finish (status {:?})",
                            other.unwrap_or("missing")
                        ),
                    });
                }
            }
            let Some(status) = r
                .get("statusCode")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok())
            else {
                hops.push(hop);
                break HttpEnd::Fault(Fault {
                    phase: Phase::Protocol,
                    message: "Globalping reported a finished HTTP test without a status code"
                        .into(),
                });
            };
            let headers = response_headers(r);
            let location = headers
                .iter()
                .find(|(k, _)| k == "location")
                .map(|(_, v)| v.clone());
            hop.status = Some(status);
            hop.location = location.as_deref().map(|l| escape_bytes(l.as_bytes()));
            hop.headers = headers
                .iter()
                .filter(|(k, _)| HEADERS_OF_INTEREST.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), escape_bytes(v.as_bytes())))
                .collect();
            hops.push(hop);
            if (300..400).contains(&status) {
                match next_hop(&url, status, location.as_deref(), &seen, hops.len()) {
                    Ok(next) => {
                        url = next;
                        continue;
                    }
                    Err(why) => break HttpEnd::Refused(why),
                }
            }
            let body = r
                .get("rawBody")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .as_bytes()
                .to_vec();
            let truncated = r.get("truncated").and_then(Value::as_bool).unwrap_or(false);
            break HttpEnd::Final {
                status,
                body,
                truncated,
                url: url.to_string(),
            };
        };
        http_observation(loc, &start_url, hops, probe.as_deref(), end, expect_body)
    }
}

/// How an HTTP-01 chain through Globalping ended.
#[derive(Debug)]
enum HttpEnd {
    /// A final (non-redirect) response.
    Final {
        status: u16,
        body: Vec<u8>,
        truncated: bool,
        url: String,
    },
    /// A redirect a CA would not follow.
    Refused(String),
    /// The probe could not fetch: phase, message, whether it is the probe's own fault.
    Failed(Phase, String, bool),
    /// The API failed.
    Fault(Fault),
}

fn http_observation(
    loc: &str,
    start_url: &Url,
    hops: Vec<HttpHop>,
    probe: Option<&str>,
    end: HttpEnd,
    expect_body: Option<&str>,
) -> Observation {
    let mut o = blank(loc, Check::Http01);
    let status = hops.last().and_then(|h| h.status);
    let redirects = hops.len().saturating_sub(1);
    let body = match &end {
        HttpEnd::Final {
            body, truncated, ..
        } => Some((body.clone(), *truncated)),
        _ => None,
    };
    o.http = Some(HttpFacts {
        url: start_url.to_string(),
        via: format!("globalping probe {}", probe.unwrap_or("(none)")),
        user_agent: PROBE_USER_AGENT.into(),
        hops,
        status,
        body_prefix: body
            .as_ref()
            .map(|(b, _)| escape_bytes(&b[..b.len().min(160)])),
        body_len: body.as_ref().map(|(b, _)| b.len() as u64),
        body_sha256: body.as_ref().map(|(b, _)| hex(&Sha256::digest(b))),
        body_truncated: body.as_ref().is_some_and(|(_, t)| *t),
        alt_user_agent: None,
    });
    let via = if redirects > 0 {
        format!(" after {redirects} redirect(s)")
    } else {
        String::new()
    };
    match end {
        HttpEnd::Fault(f) => {
            o.phase = Some(f.phase);
            o.perspective_fault = true;
            o.summary = f.message;
            o.signature = Signature::Failed(f.phase);
        }
        HttpEnd::Failed(phase, msg, fault) => {
            o.phase = Some(phase);
            o.perspective_fault = fault;
            o.summary = msg;
            o.signature = match (phase, status) {
                (Phase::Http, Some(s)) => Signature::HttpError(s),
                _ => Signature::Failed(phase),
            };
        }
        HttpEnd::Refused(why) => {
            o.phase = Some(Phase::Http);
            o.summary = why;
            o.signature = Signature::RedirectDisallowed;
        }
        HttpEnd::Final {
            status,
            body,
            truncated,
            url,
        } => {
            // The same judgement as the local HTTP-01 check, so equal answers get equal signatures.
            crate::checks::http01::judge_final(
                &mut o,
                status,
                &body,
                truncated,
                expect_body,
                url.as_str(),
                &via,
            );
        }
    }
    o.summary = format!(
        "{} [Globalping probe {}: its own User-Agent, not the CA's; body cut at {}]",
        o.summary,
        probe.unwrap_or("(none)"),
        PROBE_BODY_LIMIT_TEXT
    );
    o
}

/// The CA redirect rules (the same as the local HTTP-01 check): 301/302/307/308 only, to http or
/// https on ports 80/443, no loops, at most [`MAX_REDIRECTS`].
fn next_hop(
    url: &Url,
    status: u16,
    location: Option<&str>,
    seen: &HashSet<String>,
    hops: usize,
) -> Result<Url, String> {
    if !matches!(status, 301 | 302 | 307 | 308) {
        return Err(format!("received disallowed redirect status code {status}"));
    }
    let Some(loc) = location else {
        return Err(format!("redirect {status} without a Location header"));
    };
    let next = url.join(loc).map_err(|e| {
        format!(
            "invalid redirect target {:?}: {e}",
            escape_bytes(loc.as_bytes())
        )
    })?;
    if !matches!(next.scheme(), "http" | "https") {
        return Err(format!(
            "redirect to {} is not allowed: only http and https",
            next.scheme()
        ));
    }
    match next.port_or_known_default() {
        Some(80 | 443) => {}
        other => {
            return Err(format!(
                "Invalid port in redirect target. Only ports 80 and 443 are supported, not {}",
                other.map_or("none".into(), |p| p.to_string())
            ));
        }
    }
    if seen.contains(next.as_str()) {
        return Err(format!("Redirect loop detected at {next}"));
    }
    if hops > MAX_REDIRECTS {
        return Err(format!("Too many redirects (more than {MAX_REDIRECTS})"));
    }
    Ok(next)
}

/// `measurementOptions` for one HTTP-01 hop: GET (HEAD is the API's default and has no body), the
/// URL's own scheme and port, path and query kept apart as the API wants them.
fn http_options(url: &Url) -> Value {
    let mut request = json!({"method": "GET", "path": url.path()});
    if let Some(q) = url.query() {
        request["query"] = json!(q);
    }
    let https = url.scheme() == "https";
    json!({
        "request": request,
        "protocol": if https { "HTTPS" } else { "HTTP" },
        "port": url.port_or_known_default().unwrap_or(if https { 443 } else { 80 }),
    })
}

fn dns_options(qtype: &str) -> Value {
    json!({"query": {"type": qtype}})
}

/// A probe failure of an HTTP test, classified like local fetch errors. Only `internal`
/// failures are the probe's own; refusals and timeouts are what this region sees.
fn http_failure(r: &Value) -> (Phase, String, bool) {
    let raw = r.get("rawOutput").and_then(Value::as_str).unwrap_or("");
    let line = first_line(raw);
    let lower = raw.to_ascii_lowercase();
    if r.get("failureSource").and_then(Value::as_str) == Some("internal") {
        (
            Phase::Proxy,
            format!("the Globalping probe failed internally: {line}"),
            true,
        )
    } else if ["timeout", "timed out", "etimedout"]
        .iter()
        .any(|s| lower.contains(s))
    {
        (
            Phase::Timeout,
            format!("Timeout during connect (likely firewall problem): {line}"),
            false,
        )
    } else if ["econnrefused", "refused"]
        .iter()
        .any(|s| lower.contains(s))
    {
        (Phase::Connect, format!("Connection refused: {line}"), false)
    } else if ["econnreset", "reset", "ehostunreach", "enetunreach"]
        .iter()
        .any(|s| lower.contains(s))
    {
        (Phase::Connect, format!("Connection failed: {line}"), false)
    } else if ["enotfound", "eai_again", "getaddrinfo"]
        .iter()
        .any(|s| lower.contains(s))
    {
        (
            Phase::Dns,
            format!("the probe could not resolve the name: {line}"),
            false,
        )
    } else if ["tls", "ssl", "certificate", "handshake"]
        .iter()
        .any(|s| lower.contains(s))
    {
        (Phase::Tls, format!("TLS failed: {line}"), false)
    } else {
        (Phase::Http, format!("the fetch failed: {line}"), false)
    }
}

/// One DNS test as an exchange, and why it is not a usable answer when it is not.
fn dns_outcome(qname: &str, qtype: &str, m: &Measured) -> (DnsExchange, Option<LookupFailure>) {
    let r = &m.result;
    let probe = describe_probe(&m.probe);
    // With `trace` the answer of interest is in the last hop; without, at the top.
    let last_hop = r
        .get("hops")
        .and_then(Value::as_array)
        .and_then(|h| h.last());
    let resolver = r
        .get("resolver")
        .or_else(|| last_hop.and_then(|h| h.get("resolver")))
        .and_then(Value::as_str)
        .map(|s| escape_bytes(s.as_bytes()))
        .unwrap_or_else(|| "the probe's resolver".into());
    let server = format!("{resolver} (Globalping probe {probe})");
    let answers_json = r
        .get("answers")
        .or_else(|| last_hop.and_then(|h| h.get("answers")))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let answers: Vec<Rr> = answers_json.iter().filter_map(rr_of).collect();
    let chain = cname_chain(qname, &answers);
    let elapsed = r
        .pointer("/timings/total")
        .or_else(|| last_hop.and_then(|h| h.pointer("/timings/total")))
        .and_then(Value::as_f64)
        .map_or(0, |t| t.max(0.0) as u64);
    let status = r.get("status").and_then(Value::as_str).unwrap_or("");
    let rcode = r
        .get("statusCodeName")
        .and_then(Value::as_str)
        .map(|s| escape_bytes(s.to_ascii_uppercase().as_bytes()));
    let mut ex = DnsExchange {
        qname: qname.trim_end_matches('.').to_string(),
        qtype: qtype.into(),
        server: server.clone(),
        rcode: None,
        aa: false,
        // Globalping reports no AD flag.
        ad: false,
        answers,
        cname_chain: chain,
        negative_ttl: None,
        ecs: None,
        ecs_scope: None,
        elapsed_ms: elapsed,
        error: None,
        ede: r.get("rawOutput").and_then(Value::as_str).and_then(dig_ede),
    };
    let failure = match status {
        "finished" => {
            ex.rcode = rcode.clone();
            match rcode.as_deref() {
                Some("NOERROR" | "NXDOMAIN") => None,
                Some(rc) => Some(LookupFailure {
                    phase: Phase::Dns,
                    message: format!("{rc} from {server}"),
                    perspective_fault: false,
                }),
                None => Some(LookupFailure {
                    phase: Phase::Protocol,
                    message: format!("no response code from {server}"),
                    perspective_fault: true,
                }),
            }
        }
        "failed" => {
            let raw = r.get("rawOutput").and_then(Value::as_str).unwrap_or("");
            let line = first_line(raw);
            ex.error = Some(line.clone());
            let lower = raw.to_ascii_lowercase();
            let source = r.get("failureSource").and_then(Value::as_str);
            Some(if source == Some("internal") {
                LookupFailure {
                    phase: Phase::Proxy,
                    message: format!("the Globalping probe failed internally: {line}"),
                    perspective_fault: true,
                }
            } else if lower.contains("timed out") || lower.contains("timeout") {
                // Ambiguous, as for local resolvers: the resolver may be waiting for the
                // domain's silent nameservers.
                LookupFailure {
                    phase: Phase::Timeout,
                    message: format!("no answer from {server}: {line}"),
                    perspective_fault: false,
                }
            } else if source == Some("resolver") {
                LookupFailure {
                    phase: Phase::Dns,
                    message: format!("the probe's resolver failed: {line}"),
                    perspective_fault: true,
                }
            } else {
                LookupFailure {
                    phase: Phase::Dns,
                    message: format!("lookup failed at {server}: {line}"),
                    perspective_fault: false,
                }
            })
        }
        "offline" => Some(LookupFailure {
            phase: Phase::Proxy,
            message: "the probe chosen for this location went offline".into(),
            perspective_fault: true,
        }),
        other => Some(LookupFailure {
            phase: Phase::Timeout,
            message: format!(
                "the probe did not finish (status {:?})",
                escape_bytes(other.as_bytes())
            ),
            perspective_fault: true,
        }),
    };
    (ex, failure)
}

/// The Extended DNS Error (RFC 8914) dig printed, as the model writes it: `; EDE: 22 (No
/// Reachable Authority): (at delegation example.com.)` becomes `22 No Reachable Authority: at
/// delegation example.com.`. Resolvers explain a SERVFAIL this way (DNSSEC bogus, lame
/// delegation), and the probe's raw output is the only place Globalping keeps it.
fn dig_ede(raw: &str) -> Option<Ede> {
    let rest = raw
        .lines()
        .find_map(|l| l.trim().strip_prefix("; EDE:"))?
        .trim();
    let (code, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let rest = rest.trim();
    let (meaning, extra) = match rest.strip_prefix('(').and_then(|r| r.split_once(')')) {
        Some((m, after)) => (m.trim(), after.trim()),
        None => ("", rest),
    };
    let extra = extra.trim_start_matches(':').trim();
    let extra = extra
        .strip_prefix('(')
        .and_then(|e| e.strip_suffix(')'))
        .unwrap_or(extra);
    let mut text = meaning.to_string();
    if !extra.is_empty() {
        text.push_str(": ");
        text.push_str(extra);
    }
    Some(Ede {
        code: code.parse().ok()?,
        text: escape_bytes(text.as_bytes()),
    })
}

/// One answer record from Globalping's `{name, type, ttl, class, value}`.
fn rr_of(v: &Value) -> Option<Rr> {
    let rtype = v.get("type")?.as_str()?.to_ascii_uppercase();
    let name = v
        .get("name")?
        .as_str()?
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let value = v.get("value")?.as_str()?;
    let data = match rtype.as_str() {
        "TXT" => escape_bytes(&txt_bytes(value)),
        "CNAME" | "NS" | "PTR" => escape_bytes(value.trim_end_matches('.').as_bytes()),
        _ => escape_bytes(value.as_bytes()),
    };
    Some(Rr {
        name: escape_bytes(name.as_bytes()),
        rtype: escape_bytes(rtype.as_bytes()),
        ttl: v
            .get("ttl")
            .and_then(Value::as_u64)
            .and_then(|t| u32::try_from(t).ok())
            .unwrap_or(0),
        data,
    })
}

/// The aliases followed from `qname`, starting with it.
fn cname_chain(qname: &str, answers: &[Rr]) -> Vec<String> {
    let mut chain = vec![qname.trim_end_matches('.').to_ascii_lowercase()];
    for _ in 0..answers.len() {
        let cur = chain.last().cloned().unwrap_or_default();
        match answers
            .iter()
            .find(|r| r.rtype == "CNAME" && r.name.eq_ignore_ascii_case(&cur))
        {
            Some(r) if !chain.contains(&r.data.to_ascii_lowercase()) => {
                chain.push(r.data.to_ascii_lowercase());
            }
            _ => break,
        }
    }
    chain
}

/// TXT presentation data as dig prints it (`"a" "b"`, with `\"`, `\\` and `\DDD` escapes),
/// joined into the bytes RFC 8555 compares. Unquoted text is taken as is.
fn txt_bytes(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    if !s.trim_start().starts_with('"') {
        return b.to_vec();
    }
    let mut out = Vec::new();
    let mut i = 0;
    let mut quoted = false;
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' => quoted = !quoted,
            b'\\' if i + 1 < b.len() => {
                let d = &b[i + 1..];
                if d.len() >= 3 && d[..3].iter().all(u8::is_ascii_digit) {
                    let n = (d[0] - b'0') as u32 * 100
                        + (d[1] - b'0') as u32 * 10
                        + (d[2] - b'0') as u32;
                    out.push(u8::try_from(n).unwrap_or(b'?'));
                    i += 3;
                } else {
                    out.push(d[0]);
                    i += 1;
                }
            }
            _ if quoted => out.push(c),
            // Whitespace between the strings of one record.
            _ => {}
        }
        i += 1;
    }
    out
}

/// `City, CC, ASn network` of a probe, escaped.
fn describe_probe(p: &Value) -> String {
    let s = |k: &str| {
        p.get(k)
            .and_then(Value::as_str)
            .map(|v| escape_bytes(v.as_bytes()))
    };
    let mut parts = Vec::new();
    if let Some(c) = s("city") {
        parts.push(c);
    }
    if let Some(c) = s("country") {
        parts.push(c);
    }
    let asn = p.get("asn").and_then(Value::as_u64);
    match (asn, s("network")) {
        (Some(a), Some(n)) => parts.push(format!("AS{a} {n}")),
        (Some(a), None) => parts.push(format!("AS{a}")),
        (None, Some(n)) => parts.push(n),
        (None, None) => {}
    }
    if parts.is_empty() {
        "(unknown)".into()
    } else {
        parts.join(", ")
    }
}

fn probe_suffix(probe: Option<&str>) -> String {
    probe
        .map(|p| format!(" [Globalping probe {p}]"))
        .unwrap_or_default()
}

/// Response headers as lower-case name and value; arrays (repeated headers) joined with ", ".
fn response_headers(r: &Value) -> Vec<(String, String)> {
    let Some(map) = r.get("headers").and_then(Value::as_object) else {
        return Vec::new();
    };
    map.iter()
        .map(|(k, v)| {
            let val = match v {
                Value::String(s) => s.clone(),
                Value::Array(a) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            (k.to_ascii_lowercase(), val)
        })
        .collect()
}

/// The first non-empty line of raw probe output, escaped and bounded.
fn first_line(raw: &str) -> String {
    let line = raw
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no output");
    let cut: String = line.chars().take(200).collect();
    escape_bytes(cut.as_bytes())
}

/// The API's error body `{"error": {"type", "message", "params"}}` as (type, message); any
/// other body as an escaped excerpt.
fn api_error(body: &[u8]) -> (Option<String>, String) {
    if let Ok(v) = serde_json::from_slice::<Value>(body)
        && let Some(e) = v.get("error")
    {
        let kind = e
            .get("type")
            .and_then(Value::as_str)
            .map(|t| escape_bytes(t.as_bytes()));
        let mut msg = e
            .get("message")
            .and_then(Value::as_str)
            .or_else(|| e.as_str())
            .map(|m| escape_bytes(m.as_bytes()))
            .unwrap_or_else(|| "no message".into());
        if let Some(params) = e.get("params").and_then(Value::as_object) {
            let p: Vec<String> = params
                .iter()
                .map(|(k, v)| {
                    let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    format!(
                        "{}: {}",
                        escape_bytes(k.as_bytes()),
                        escape_bytes(v.as_bytes())
                    )
                })
                .collect();
            if !p.is_empty() {
                msg.push_str(&format!(" ({})", p.join("; ")));
            }
        }
        return (kind, msg);
    }
    let cut = &body[..body.len().min(200)];
    if cut.is_empty() {
        (None, "empty body".into())
    } else {
        (None, format!("unexpected body {:?}", escape_bytes(cut)))
    }
}

/// `Retry-After` in seconds (the API sends seconds; an HTTP date is not used there).
fn retry_after(h: &HeaderMap) -> Option<Duration> {
    h.get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

fn header_secs(h: &HeaderMap, name: &str) -> Option<Duration> {
    header_str(h, name)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

fn header_str(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Measurement ids are short alphanumeric strings; anything else is not put into a URL path.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    //! The pure mapping (documented API examples → exchanges, dig output, TXT presentation), the
    //! configuration checks and an unreachable API. Everything that needs the API itself runs
    //! against the one fake Globalping API in the integration tests (`tests/globalping_api.rs`).

    use super::*;
    use crate::config::engine::DEFAULT_API_URL;
    use crate::model::Rir;
    use std::net::SocketAddr;

    use tokio::net::TcpListener;

    const DNS_A: &str = include_str!("../../../tests/fixtures/globalping/measurement-dns-a.json");

    fn fixture(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    fn loc(name: &str, spec: LocationSpec, rir: Rir) -> Location {
        Location {
            name: name.into(),
            rir,
            spec,
        }
    }

    fn engine(
        addr: SocketAddr,
        locations: Vec<Location>,
        token: Option<&str>,
        timeout: Duration,
    ) -> Globalping {
        Globalping::new(GlobalpingConfig {
            api_url: Url::parse(&format!("http://{addr}")).unwrap(),
            token: token.map(str::to_string),
            locations,
            timeout,
        })
        .unwrap()
    }

    fn two_locations() -> Vec<Location> {
        vec![
            loc("gp-eu", LocationSpec::Continent("EU".into()), Rir::Ripe),
            loc("gp-na", LocationSpec::Country("us".into()), Rir::Arin),
        ]
    }

    #[tokio::test]
    async fn an_unreachable_api_is_a_perspective_fault() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let gp = engine(addr, two_locations(), None, Duration::from_secs(5));
        let obs = gp.address("example.com").await;
        for o in &obs {
            assert!(o.perspective_fault && !o.ok, "{o:?}");
            assert_eq!(o.phase, Some(Phase::Proxy));
            assert!(
                o.summary.contains("Globalping API unreachable"),
                "{}",
                o.summary
            );
        }
        assert_eq!(gp.problems().len(), 1);
    }

    #[test]
    fn the_documented_dns_example_maps_to_an_exchange() {
        let doc = fixture(DNS_A);
        let m = Measured {
            probe: doc["results"][0]["probe"].clone(),
            result: doc["results"][0]["result"].clone(),
        };
        let (ex, fail) = dns_outcome("www.example.com", "A", &m);
        assert!(fail.is_none());
        assert_eq!(ex.rcode.as_deref(), Some("NOERROR"));
        assert_eq!(
            ex.cname_chain,
            [
                "www.example.com",
                "www.example.com-v4.edgesuite.net",
                "a1422.dscr.akamai.net"
            ]
        );
        assert_eq!(ex.answers[2].data, "23.215.0.136");
        assert_eq!(ex.elapsed_ms, 13);
        assert!(
            ex.server
                .starts_with("172.31.0.2 (Globalping probe Frankfurt, DE, AS16509")
        );
        // A SERVFAIL is the domain's problem as seen from that resolver, not the tool's.
        let mut m2 = m;
        m2.result["statusCodeName"] = json!("SERVFAIL");
        let (_, fail) = dns_outcome("www.example.com", "A", &m2);
        let f = fail.unwrap();
        assert_eq!(f.phase, Phase::Dns);
        assert!(!f.perspective_fault);
    }

    #[test]
    fn extended_dns_errors_are_read_from_dig_output() {
        let raw = ";; ->>HEADER<<- opcode: QUERY, status: SERVFAIL, id: 1\n\
                   ; EDE: 22 (No Reachable Authority): (at delegation example.com.)\n";
        assert_eq!(
            dig_ede(raw).map(|e| e.to_string()).as_deref(),
            Some("22 No Reachable Authority: at delegation example.com.")
        );
        assert_eq!(
            dig_ede("; EDE: 18 (Prohibited)")
                .map(|e| e.to_string())
                .as_deref(),
            Some("18 Prohibited")
        );
        assert_eq!(dig_ede(";; no EDE here"), None);
        let doc = fixture(DNS_A);
        let mut m = Measured {
            probe: doc["results"][0]["probe"].clone(),
            result: doc["results"][0]["result"].clone(),
        };
        m.result["statusCodeName"] = json!("SERVFAIL");
        m.result["rawOutput"] = json!(raw);
        let (ex, _) = dns_outcome("www.example.com", "A", &m);
        assert_eq!(
            ex.ede.as_ref().map(|e| e.to_string()).as_deref(),
            Some("22 No Reachable Authority: at delegation example.com.")
        );
    }

    #[test]
    fn txt_presentation_is_unquoted_and_joined() {
        assert_eq!(txt_bytes("\"abc\""), b"abc");
        assert_eq!(txt_bytes("\"ab\" \"cd\""), b"abcd");
        assert_eq!(txt_bytes(r#""a\"b\\c\065""#), b"a\"b\\cA");
        assert_eq!(txt_bytes("plain"), b"plain");
    }

    #[test]
    fn the_configuration_is_validated() {
        let cfg = |locations: Vec<Location>| GlobalpingConfig {
            api_url: Url::parse(DEFAULT_API_URL).unwrap(),
            token: None,
            locations,
            timeout: Duration::from_secs(30),
        };
        assert!(Globalping::new(cfg(vec![])).is_err());
        let e = Globalping::new(cfg(vec![loc(
            "x",
            LocationSpec::Continent("EA".into()),
            Rir::Ripe,
        )]))
        .unwrap_err();
        assert!(e.contains("continent"), "{e}");
        let e = Globalping::new(cfg(vec![loc(
            "x",
            LocationSpec::Country("DEU".into()),
            Rir::Ripe,
        )]))
        .unwrap_err();
        assert!(e.contains("two-letter"), "{e}");
        let e = Globalping::new(cfg(vec![
            loc("x", LocationSpec::Country("DE".into()), Rir::Ripe),
            loc("x", LocationSpec::Country("FR".into()), Rir::Ripe),
        ]))
        .unwrap_err();
        assert!(e.contains("twice"), "{e}");
        let gp = Globalping::new(cfg(two_locations())).unwrap();
        assert_eq!(gp.locations().len(), 2);
        let notes = gp.coverage_notes();
        assert!(
            notes
                .iter()
                .any(|(m, tested, why)| m == "caa-forbids" && !tested && why.contains("CAA"))
        );
        assert!(
            notes
                .iter()
                .any(|(m, tested, _)| m == "user-agent-filtered" && !tested)
        );
    }
}
