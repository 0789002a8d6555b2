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
    //! A fake Globalping API on 127.0.0.1 that implements the documented subset: it validates
    //! requests the way the real API does (unknown keys, query types without CAA, location
    //! objects, reused measurement ids), answers 202 + id, keeps measurements in progress for a
    //! configurable number of polls, serves ETags and 304s, enforces the polling guideline, and
    //! can rate-limit, refuse tokens, run out of probes or never finish. Probe results are built
    //! from the fixtures in `tests/fixtures/globalping/`.

    use super::*;
    use crate::config::engine::{CONTINENTS, DEFAULT_API_URL};
    use crate::model::Rir;
    use std::collections::HashMap;
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex as StdMutex};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    const PROBES: &str = include_str!("../../../tests/fixtures/globalping/probes.json");
    const DNS_A: &str = include_str!("../../../tests/fixtures/globalping/measurement-dns-a.json");
    const DNS_TXT: &str =
        include_str!("../../../tests/fixtures/globalping/measurement-dns-txt.json");
    const HTTP_301: &str =
        include_str!("../../../tests/fixtures/globalping/measurement-http-301.json");
    const HTTP_200: &str =
        include_str!("../../../tests/fixtures/globalping/measurement-http-200.json");
    const HTTP_403: &str =
        include_str!("../../../tests/fixtures/globalping/measurement-http-403.json");
    const HTTP_FAILED: &str =
        include_str!("../../../tests/fixtures/globalping/measurement-http-failed.json");
    const IN_PROGRESS: &str =
        include_str!("../../../tests/fixtures/globalping/measurement-in-progress.json");
    const CREATED: &str = include_str!("../../../tests/fixtures/globalping/create-202.json");
    const E429: &str =
        include_str!("../../../tests/fixtures/globalping/error-429-too-many-probes.json");
    const E422: &str = include_str!("../../../tests/fixtures/globalping/error-422-no-probes.json");
    const E400: &str = include_str!("../../../tests/fixtures/globalping/error-400-validation.json");
    const E404: &str = include_str!("../../../tests/fixtures/globalping/error-404-not-found.json");

    const TOKEN: &str = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";
    const KEY_AUTH: &str =
        "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0.nIb4z1-9dGkC7sGQKbR8VHBdBQ6GCuY6QK1hVn5nRbQ";
    const TXT_A: &str = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";
    const TXT_B: &str = "9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";
    const V4: &str = "93.184.215.14";
    const V6: &str = "2606:2800:21f:cb07:6820:80da:af6b:8b2c";

    fn fixture(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    /// The `result` object of a fixture measurement, as a template.
    fn template(s: &str) -> Value {
        fixture(s)["results"][0]["result"].clone()
    }

    fn probe_info(i: usize) -> Value {
        fixture(PROBES)[i].clone()
    }

    // ---- a minimal HTTP/1.1 server: one request per connection, then close ----

    #[derive(Debug, Clone)]
    struct Req {
        method: String,
        path: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl Req {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }

        fn json(&self) -> Value {
            serde_json::from_slice(&self.body).unwrap_or(Value::Null)
        }
    }

    #[derive(Debug, Clone)]
    struct Resp {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl Resp {
        fn json(status: u16, v: &Value) -> Resp {
            Resp {
                status,
                headers: vec![(
                    "Content-Type".into(),
                    "application/json; charset=utf-8".into(),
                )],
                body: serde_json::to_vec(v).unwrap(),
            }
        }

        fn raw(status: u16, body: &str) -> Resp {
            Resp {
                status,
                headers: vec![(
                    "Content-Type".into(),
                    "application/json; charset=utf-8".into(),
                )],
                body: body.as_bytes().to_vec(),
            }
        }

        fn with(mut self, k: &str, v: &str) -> Resp {
            self.headers.push((k.into(), v.into()));
            self
        }
    }

    async fn serve<H>(handler: H) -> SocketAddr
    where
        H: Fn(&Req) -> Resp + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handler = Arc::new(handler);
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let h = handler.clone();
                tokio::spawn(async move {
                    let Some(req) = read_request(&mut s).await else {
                        return;
                    };
                    let resp = h(&req);
                    let mut head = format!(
                        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                        resp.status,
                        if resp.status == 304 {
                            0
                        } else {
                            resp.body.len()
                        }
                    );
                    for (k, v) in &resp.headers {
                        head.push_str(&format!("{k}: {v}\r\n"));
                    }
                    head.push_str("\r\n");
                    let _ = s.write_all(head.as_bytes()).await;
                    if resp.status != 304 {
                        let _ = s.write_all(&resp.body).await;
                    }
                    let _ = s.shutdown().await;
                });
            }
        });
        addr
    }

    async fn read_request(s: &mut TcpStream) -> Option<Req> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            let n = s.read(&mut chunk).await.ok()?;
            if n == 0 || buf.len() > 64 * 1024 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut first = lines.next()?.split(' ');
        let method = first.next()?.to_string();
        let path = first.next()?.to_string();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = buf[head_end + 4..].to_vec();
        while body.len() < len {
            let n = s.read(&mut chunk).await.ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        Some(Req {
            method,
            path,
            headers,
            body,
        })
    }

    // ---- the fake Globalping API ----

    type Answer = Box<dyn Fn(&str, &str, &Value) -> Value + Send + Sync>;

    struct FakeProbe {
        info: Value,
        answer: Answer,
    }

    #[derive(Default)]
    struct Knobs {
        /// The only token accepted (requests without a token are anonymous and fine).
        token: Option<String>,
        /// Put the received Authorization header into the 401 message (a hostile echo).
        echo_auth: bool,
        /// Polls answered "in-progress" before a measurement is final.
        in_progress_polls: u32,
        /// The first N creations get 429.
        rate_limited_posts: u32,
        retry_after: Option<u64>,
        never_finish: bool,
        garbage_polls: bool,
        /// Polls closer than this to the previous response break the guidelines.
        min_poll_gap: Duration,
    }

    struct Meas {
        doc: Value,
        in_progress: Value,
        probes: Vec<usize>,
        locations: Value,
        polls_left: u32,
        last_response: std::time::Instant,
    }

    #[derive(Debug, Clone)]
    struct Logged {
        req: Req,
        status: u16,
        resp: Value,
    }

    struct World {
        probes: Vec<FakeProbe>,
        knobs: Knobs,
        meas: HashMap<String, Meas>,
        log: Vec<Logged>,
        violations: Vec<String>,
        not_modified: u32,
        next: u32,
    }

    type Shared = Arc<StdMutex<World>>;

    impl World {
        fn new(probes: Vec<FakeProbe>, knobs: Knobs) -> World {
            World {
                probes,
                knobs,
                meas: HashMap::new(),
                log: Vec::new(),
                violations: Vec::new(),
                not_modified: 0,
                next: 0,
            }
        }

        fn handle(&mut self, req: &Req) -> Resp {
            let resp = self.route(req);
            self.log.push(Logged {
                req: req.clone(),
                status: resp.status,
                resp: serde_json::from_slice(&resp.body).unwrap_or(Value::Null),
            });
            resp
        }

        fn route(&mut self, req: &Req) -> Resp {
            if let Some(h) = req.header("authorization") {
                let good = self
                    .knobs
                    .token
                    .as_ref()
                    .is_some_and(|t| h == format!("Bearer {t}"));
                if !good {
                    let msg = if self.knobs.echo_auth {
                        format!("Invalid token in header {h:?}.")
                    } else {
                        "Invalid token.".into()
                    };
                    return Resp::json(
                        401,
                        &json!({"error": {"type": "unauthorized", "message": msg}}),
                    );
                }
            }
            match (req.method.as_str(), req.path.as_str()) {
                ("POST", "/v1/measurements") => self.create(req),
                ("GET", p) if p.starts_with("/v1/measurements/") => {
                    let id = p.trim_start_matches("/v1/measurements/").to_string();
                    self.poll(req, &id)
                }
                _ => Resp::raw(404, E404),
            }
        }

        fn create(&mut self, req: &Req) -> Resp {
            if self.knobs.rate_limited_posts > 0 {
                self.knobs.rate_limited_posts -= 1;
                let mut r = Resp::raw(429, E429)
                    .with("X-RateLimit-Limit", "250")
                    .with("X-RateLimit-Consumed", "0")
                    .with("X-RateLimit-Remaining", "0")
                    .with("X-RateLimit-Reset", "2520")
                    .with("X-Request-Cost", "1");
                if let Some(s) = self.knobs.retry_after {
                    r = r.with("Retry-After", &s.to_string());
                }
                return r;
            }
            let v = req.json();
            if let Err(params) = validate(&v) {
                let mut e = fixture(E400);
                e["error"]["params"] = json!(params);
                return Resp::json(400, &e);
            }
            let chosen: Vec<usize> = match &v["locations"] {
                Value::String(id) => match self.meas.get(id) {
                    Some(m) => m.probes.clone(),
                    None => return Resp::raw(422, E422),
                },
                Value::Array(locs) => {
                    let mut picked = Vec::new();
                    for l in locs {
                        let limit = l["limit"].as_u64().unwrap_or(1) as usize;
                        let found: Vec<usize> = (0..self.probes.len())
                            .filter(|i| !picked.contains(i))
                            .filter(|i| probe_matches(&self.probes[*i].info, l))
                            .take(limit)
                            .collect();
                        picked.extend(found);
                    }
                    picked
                }
                _ => (0..self.probes.len()).take(1).collect(),
            };
            if chosen.is_empty() {
                return Resp::raw(422, E422);
            }
            self.next += 1;
            let id = format!("gP{:04}x5fMsREMmIq", self.next);
            let kind = v["type"].as_str().unwrap_or("");
            let target = v["target"].as_str().unwrap_or("");
            let options = v.get("measurementOptions").cloned().unwrap_or(json!({}));
            let results: Vec<Value> = chosen
                .iter()
                .map(|i| {
                    let p = &self.probes[*i];
                    json!({"probe": p.info, "result": (p.answer)(kind, target, &options)})
                })
                .collect();
            let locations = match &v["locations"] {
                Value::String(first) => self.meas[first].locations.clone(),
                other => other.clone(),
            };
            let mut doc = fixture(IN_PROGRESS);
            doc["id"] = json!(id);
            doc["type"] = json!(kind);
            doc["target"] = json!(target);
            doc["probesCount"] = json!(chosen.len());
            doc["locations"] = locations.clone();
            doc["measurementOptions"] = options;
            let mut in_progress = doc.clone();
            in_progress["results"] = json!(
                chosen
                    .iter()
                    .map(|i| json!({
                        "probe": self.probes[*i].info,
                        "result": {"status": "in-progress", "rawOutput": ""}
                    }))
                    .collect::<Vec<_>>()
            );
            doc["status"] = json!("finished");
            doc["updatedAt"] = json!("2026-03-02T09:14:02.000Z");
            doc["results"] = json!(results);
            self.meas.insert(
                id.clone(),
                Meas {
                    doc,
                    in_progress,
                    probes: chosen.clone(),
                    locations,
                    polls_left: self.knobs.in_progress_polls,
                    last_response: std::time::Instant::now(),
                },
            );
            let mut created = fixture(CREATED);
            created["id"] = json!(id);
            created["probesCount"] = json!(chosen.len());
            Resp::json(202, &created)
                .with(
                    "Location",
                    &format!("https://api.globalping.io/v1/measurements/{id}"),
                )
                .with("X-RateLimit-Remaining", "240")
                .with("X-Request-Cost", &chosen.len().to_string())
        }

        fn poll(&mut self, req: &Req, id: &str) -> Resp {
            let gap = self.knobs.min_poll_gap;
            let never = self.knobs.never_finish;
            let garbage = self.knobs.garbage_polls;
            let Some(m) = self.meas.get_mut(id) else {
                return Resp::raw(404, E404);
            };
            let since = m.last_response.elapsed();
            if since < gap {
                self.violations.push(format!(
                    "{id}: polled {since:?} after the previous response"
                ));
            }
            m.last_response = std::time::Instant::now();
            if garbage {
                return Resp::raw(200, "<html><body>502 Bad Gateway</body></html>");
            }
            let doc = if never || m.polls_left > 0 {
                m.polls_left = m.polls_left.saturating_sub(1);
                &m.in_progress
            } else {
                &m.doc
            };
            let text = serde_json::to_string(doc).unwrap();
            let etag = format!("W/\"{}\"", &hex(&Sha256::digest(text.as_bytes()))[..16]);
            if req.header("if-none-match") == Some(etag.as_str()) {
                self.not_modified += 1;
                return Resp::raw(304, "").with("ETag", &etag);
            }
            Resp::raw(200, &text).with("ETag", &etag)
        }
    }

    /// What the real API rejects with 400 (its schemas set `additionalProperties: false`).
    fn validate(v: &Value) -> Result<(), HashMap<String, String>> {
        let mut bad = HashMap::new();
        let Some(o) = v.as_object() else {
            bad.insert("body".into(), "\"value\" must be of type object".into());
            return Err(bad);
        };
        for k in o.keys() {
            if ![
                "type",
                "target",
                "inProgressUpdates",
                "locations",
                "limit",
                "measurementOptions",
            ]
            .contains(&k.as_str())
            {
                bad.insert(k.clone(), format!("\"{k}\" is not allowed"));
            }
        }
        let kind = o.get("type").and_then(Value::as_str).unwrap_or("");
        if !["ping", "traceroute", "dns", "mtr", "http"].contains(&kind) {
            bad.insert(
                "type".into(),
                "\"type\" must be one of [ping, traceroute, dns, mtr, http]".into(),
            );
        }
        match o.get("target").and_then(Value::as_str) {
            Some(t) if !t.is_empty() => {
                if let Ok(ip) = t.parse::<IpAddr>()
                    && crate::checks::address::is_reserved(&ip)
                {
                    bad.insert("target".into(), "Private hostnames are not allowed.".into());
                }
            }
            _ => {
                bad.insert("target".into(), "\"target\" is required".into());
            }
        }
        if o.get("inProgressUpdates").is_some_and(|b| !b.is_boolean()) {
            bad.insert("inProgressUpdates".into(), "must be a boolean".into());
        }
        match o.get("locations") {
            None | Some(Value::String(_)) => {}
            Some(Value::Array(locs)) => {
                for (i, l) in locs.iter().enumerate() {
                    let Some(lo) = l.as_object() else {
                        bad.insert(format!("locations[{i}]"), "must be an object".into());
                        continue;
                    };
                    for (k, val) in lo {
                        let ok = match k.as_str() {
                            "continent" => val.as_str().is_some_and(|c| CONTINENTS.contains(&c)),
                            "country" => val.as_str().is_some_and(|c| {
                                c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())
                            }),
                            "magic" | "region" | "city" | "network" | "state" => val.is_string(),
                            "asn" => val.is_u64(),
                            "tags" => val
                                .as_array()
                                .is_some_and(|t| t.iter().all(Value::is_string)),
                            "limit" => {
                                val.as_u64().is_some_and(|n| (1..=200).contains(&n))
                                    && !o.contains_key("limit")
                            }
                            _ => false,
                        };
                        if !ok {
                            bad.insert(format!("locations[{i}].{k}"), format!("invalid {k}"));
                        }
                    }
                }
            }
            Some(_) => {
                bad.insert(
                    "locations".into(),
                    "must be an array or a measurement id".into(),
                );
            }
        }
        let opts = o.get("measurementOptions").cloned().unwrap_or(json!({}));
        let allowed_opts: &[&str] = match kind {
            "dns" => &[
                "query",
                "resolver",
                "port",
                "protocol",
                "ipVersion",
                "trace",
            ],
            "http" => &["request", "resolver", "port", "protocol", "ipVersion"],
            _ => &[],
        };
        for (k, val) in opts.as_object().cloned().unwrap_or_default() {
            if !allowed_opts.contains(&k.as_str()) {
                bad.insert(format!("measurementOptions.{k}"), "is not allowed".into());
                continue;
            }
            let ok = match (kind, k.as_str()) {
                ("dns", "query") => val.as_object().is_some_and(|q| {
                    q.keys().all(|k| k == "type")
                        && q.get("type").and_then(Value::as_str).is_none_or(|t| {
                            [
                                "A", "AAAA", "ANY", "CNAME", "DNSKEY", "DS", "HTTPS", "MX", "NS",
                                "NSEC", "PTR", "RRSIG", "SOA", "TXT", "SRV", "SVCB",
                            ]
                            .contains(&t)
                        })
                }),
                ("http", "request") => val.as_object().is_some_and(|r| {
                    r.keys().all(|k| {
                        ["host", "path", "query", "method", "headers"].contains(&k.as_str())
                    }) && r
                        .get("method")
                        .and_then(Value::as_str)
                        .is_none_or(|m| ["HEAD", "GET", "OPTIONS"].contains(&m))
                        && r.get("path")
                            .and_then(Value::as_str)
                            .is_none_or(|p| p.starts_with('/'))
                }),
                ("http", "protocol") => val
                    .as_str()
                    .is_some_and(|p| ["HTTP", "HTTPS", "HTTP2"].contains(&p)),
                ("dns", "protocol") => val.as_str().is_some_and(|p| ["UDP", "TCP"].contains(&p)),
                (_, "port") => val.as_u64().is_some_and(|p| p <= 65535),
                (_, "trace") => val.is_boolean(),
                _ => true,
            };
            if !ok {
                bad.insert(format!("measurementOptions.{k}"), format!("invalid {k}"));
            }
        }
        if bad.is_empty() { Ok(()) } else { Err(bad) }
    }

    fn probe_matches(info: &Value, loc: &Value) -> bool {
        let s = |k: &str| info[k].as_str().unwrap_or("").to_ascii_lowercase();
        let tags: Vec<String> = info["tags"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_ascii_lowercase)
                    .collect()
            })
            .unwrap_or_default();
        loc.as_object().is_some_and(|o| {
            o.iter().all(|(k, v)| match k.as_str() {
                "continent" | "country" | "city" | "region" => {
                    v.as_str().is_some_and(|x| x.eq_ignore_ascii_case(&s(k)))
                }
                "tags" => v.as_array().is_some_and(|want| {
                    want.iter()
                        .filter_map(Value::as_str)
                        .all(|w| tags.contains(&w.to_ascii_lowercase()))
                }),
                "magic" => v.as_str().is_some_and(|m| {
                    let hay = [
                        s("continent"),
                        s("region"),
                        s("country"),
                        s("city"),
                        s("network"),
                        format!("as{}", info["asn"]),
                        // The real API also knows countries by name.
                        match s("country").as_str() {
                            "de" => "germany",
                            "us" => "united states",
                            "jp" => "japan",
                            "br" => "brazil",
                            "au" => "australia",
                            _ => "",
                        }
                        .to_string(),
                        tags.join(" "),
                    ]
                    .join(" ");
                    m.split('+')
                        .all(|part| hay.contains(&part.trim().to_ascii_lowercase()))
                }),
                _ => true,
            })
        })
    }

    // ---- probe behaviours built from the fixtures ----

    fn dns_result(rcode: &str, answers: &[(&str, &str, &str)]) -> Value {
        let mut r = template(DNS_A);
        r["statusCodeName"] = json!(rcode);
        r["statusCode"] = json!(match rcode {
            "NOERROR" => 0,
            "SERVFAIL" => 2,
            "NXDOMAIN" => 3,
            _ => 5,
        });
        r["answers"] = json!(
            answers
                .iter()
                .map(|(n, t, v)| {
                    json!({
                        "name": format!("{n}."),
                        "type": t,
                        "ttl": 300,
                        "class": "IN",
                        "value": v
                    })
                })
                .collect::<Vec<_>>()
        );
        r
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

    /// How a site answers HTTP from one probe: (protocol, port, host, path) → result.
    type Site = Box<dyn Fn(&str, u64, &str, &str) -> Value + Send + Sync>;

    /// The standard site: port 80 redirects to https, https serves the key authorization.
    fn redirecting_site() -> Site {
        Box::new(|proto, _port, host, path| {
            if proto == "HTTP" {
                http_result(HTTP_301, 301, Some(&format!("https://{host}{path}")), "")
            } else {
                http_result(HTTP_200, 200, None, KEY_AUTH)
            }
        })
    }

    fn probe(i: usize, site: Site) -> FakeProbe {
        FakeProbe {
            info: probe_info(i),
            answer: Box::new(move |kind, target, opts| match kind {
                "dns" => match opts["query"]["type"].as_str().unwrap_or("A") {
                    "A" => dns_result("NOERROR", &[(target, "A", V4)]),
                    "AAAA" => dns_result("NOERROR", &[(target, "AAAA", V6)]),
                    "TXT" if target.starts_with("_acme-challenge.") => {
                        let mut r = template(DNS_TXT);
                        r["answers"][0]["name"] = json!(format!("{target}."));
                        r["answers"][1]["name"] = json!(format!("{target}."));
                        r
                    }
                    _ => dns_result("NXDOMAIN", &[]),
                },
                "http" => site(
                    opts["protocol"].as_str().unwrap_or("HTTPS"),
                    opts["port"].as_u64().unwrap_or(80),
                    target,
                    opts["request"]["path"].as_str().unwrap_or("/"),
                ),
                _ => json!({"status": "failed", "rawOutput": "unsupported"}),
            }),
        }
    }

    async fn fake(probes: Vec<FakeProbe>, knobs: Knobs) -> (SocketAddr, Shared) {
        let world: Shared = Arc::new(StdMutex::new(World::new(probes, knobs)));
        let w = world.clone();
        let addr = serve(move |req| w.lock().unwrap().handle(req)).await;
        (addr, world)
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

    fn guideline_knobs() -> Knobs {
        Knobs {
            // 500 ms after each response, minus a little scheduling slack.
            min_poll_gap: Duration::from_millis(450),
            ..Knobs::default()
        }
    }

    fn posts(w: &Shared) -> Vec<Logged> {
        w.lock()
            .unwrap()
            .log
            .iter()
            .filter(|l| l.req.method == "POST")
            .cloned()
            .collect()
    }

    fn two_locations() -> Vec<Location> {
        vec![
            loc("gp-eu", LocationSpec::Continent("EU".into()), Rir::Ripe),
            loc("gp-na", LocationSpec::Country("us".into()), Rir::Arin),
        ]
    }

    #[tokio::test]
    async fn happy_path_pins_one_probe_per_location_across_checks_and_redirects() {
        let (addr, world) = fake(
            vec![
                probe(0, redirecting_site()),
                probe(1, redirecting_site()),
                probe(2, redirecting_site()),
            ],
            Knobs {
                token: Some("gp-secret-token-0123456789".into()),
                in_progress_polls: 1,
                ..guideline_knobs()
            },
        )
        .await;
        let gp = engine(
            addr,
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
            assert_eq!(o.signature, "expected");
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
        let firsts: Vec<&Logged> = posts
            .iter()
            .filter(|p| p.req.json()["locations"].is_array())
            .collect();
        assert_eq!(firsts.len(), 2, "one probe choice per location");
        for first in &firsts {
            let id = first.resp["id"].as_str().unwrap();
            let reused: Vec<&Logged> = posts
                .iter()
                .filter(|p| p.req.json()["locations"] == json!(id))
                .collect();
            // AAAA, TXT, HTTP hop 1, HTTP hop 2 (the redirect, re-measured from the same probe).
            assert_eq!(reused.len(), 4, "{id}");
            let hop2 = reused
                .iter()
                .find(|p| p.req.json()["measurementOptions"]["protocol"] == "HTTPS")
                .expect("the redirect was re-measured");
            assert_eq!(hop2.req.json()["measurementOptions"]["port"], 443);
            assert_eq!(hop2.req.json()["target"], "example.com");
        }
        let bearer = "Bearer gp-secret-token-0123456789".to_string();
        let w = world.lock().unwrap();
        assert!(w.violations.is_empty(), "{:?}", w.violations);
        assert!(
            w.log.iter().all(|l| l.status != 400 && l.status != 401),
            "every request valid"
        );
        assert!(
            w.log
                .iter()
                .all(|l| l.req.header("authorization") == Some(bearer.as_str())),
            "the token is sent as a bearer token on every request"
        );
        assert!(w.log.iter().all(|l| {
            l.req
                .header("user-agent")
                .is_some_and(|u| u.starts_with("mpic-check/"))
        }));
        assert!(gp.problems().is_empty(), "{:?}", gp.problems());
    }

    #[tokio::test]
    async fn rate_limited_creation_waits_for_retry_after() {
        let (addr, world) = fake(
            vec![probe(0, redirecting_site())],
            Knobs {
                rate_limited_posts: 1,
                retry_after: Some(1),
                ..guideline_knobs()
            },
        )
        .await;
        let gp = engine(
            addr,
            vec![loc(
                "gp-eu",
                LocationSpec::Magic("Frankfurt+Germany".into()),
                Rir::Ripe,
            )],
            None,
            Duration::from_secs(10),
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
            let (addr, _world) = fake(
                vec![probe(0, redirecting_site())],
                Knobs {
                    token: token.map(str::to_string),
                    rate_limited_posts: 10,
                    retry_after: Some(3600),
                    ..guideline_knobs()
                },
            )
            .await;
            let gp = engine(
                addr,
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
        let (addr, world) = fake(
            vec![probe(0, redirecting_site())],
            Knobs {
                in_progress_polls: 3,
                ..guideline_knobs()
            },
        )
        .await;
        let gp = engine(
            addr,
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
        let w = world.lock().unwrap();
        let gets: Vec<&Logged> = w.log.iter().filter(|l| l.req.method == "GET").collect();
        assert_eq!(gets.len(), 4, "3 in progress, then final");
        assert!(gets[0].req.header("if-none-match").is_none());
        for g in &gets[1..] {
            assert!(g.req.header("if-none-match").is_some(), "{:?}", g.req);
        }
        assert_eq!(
            w.not_modified, 2,
            "unchanged in-progress bodies came back as 304"
        );
        assert_eq!(gets[1].status, 304);
        assert_eq!(gets[3].status, 200);
        assert!(w.violations.is_empty(), "{:?}", w.violations);
    }

    #[tokio::test]
    async fn location_without_a_probe_is_a_fault_and_is_not_asked_again() {
        let (addr, world) = fake(vec![probe(0, redirecting_site())], guideline_knobs()).await;
        let gp = engine(
            addr,
            vec![
                loc("gp-eu", LocationSpec::Continent("EU".into()), Rir::Ripe),
                loc("gp-af", LocationSpec::Continent("AF".into()), Rir::Afrinic),
            ],
            None,
            Duration::from_secs(10),
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
            .filter(|p| p.req.json()["locations"][0]["continent"] == "AF")
            .count();
        assert_eq!(asked_af, 1, "the missing probe is remembered for the run");
    }

    #[tokio::test]
    async fn the_token_never_appears_in_anything_returned() {
        let secret = "gp-SECRET-0e1d2c3b4a5968778695a4b3c2d1e0f";
        let (addr, _world) = fake(
            vec![probe(0, redirecting_site())],
            Knobs {
                token: Some("some-other-token".into()),
                echo_auth: true,
                ..guideline_knobs()
            },
        )
        .await;
        let cfg = GlobalpingConfig {
            api_url: Url::parse(&format!("http://{addr}")).unwrap(),
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
        let (addr, _world) = fake(
            vec![probe(0, redirecting_site()), probe(1, redirecting_site())],
            Knobs {
                never_finish: true,
                ..guideline_knobs()
            },
        )
        .await;
        let gp = engine(addr, two_locations(), None, Duration::from_millis(1500));
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
        let blocked: Site = Box::new(|_, _, _, _| template(HTTP_403));
        let direct: Site = Box::new(|_, _, _, _| http_result(HTTP_200, 200, None, KEY_AUTH));
        let (addr, _world) = fake(
            vec![
                probe(0, direct),
                probe(2, blocked),
                probe(
                    1,
                    Box::new(|_, _, _, _| http_result(HTTP_200, 200, None, KEY_AUTH)),
                ),
            ],
            guideline_knobs(),
        )
        .await;
        let gp = engine(
            addr,
            vec![
                loc("gp-na", LocationSpec::Continent("NA".into()), Rir::Arin),
                loc("gp-eu", LocationSpec::Continent("EU".into()), Rir::Ripe),
                loc("gp-as", LocationSpec::Continent("AS".into()), Rir::Apnic),
            ],
            None,
            Duration::from_secs(10),
        );
        let obs = gp.http01("example.com", TOKEN, Some(KEY_AUTH)).await;
        assert!(obs[0].ok && obs[1].ok);
        let asia = &obs[2];
        assert_eq!(asia.perspective, "gp-as");
        assert!(
            !asia.ok && !asia.perspective_fault,
            "the region's answer, not the tool's fault"
        );
        assert_eq!(asia.signature, "status:403");
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
        let failing: Site = Box::new(|_, _, _, _| template(HTTP_FAILED));
        let (addr, _world) = fake(vec![probe(3, failing)], guideline_knobs()).await;
        let gp = engine(
            addr,
            vec![loc(
                "gp-sa",
                LocationSpec::Country("BR".into()),
                Rir::Lacnic,
            )],
            None,
            Duration::from_secs(10),
        );
        let o = &gp.http01("example.com", TOKEN, None).await[0];
        assert!(!o.ok && !o.perspective_fault, "{o:?}");
        assert_eq!(o.phase, Some(Phase::Timeout));
        assert_eq!(o.signature, "error:timeout");
        assert!(o.summary.contains("Timeout awaiting"), "{}", o.summary);
    }

    #[tokio::test]
    async fn a_redirect_a_ca_would_refuse_is_not_followed() {
        let site: Site = Box::new(|_, _, host, path| {
            http_result(
                HTTP_301,
                302,
                Some(&format!("http://{host}:8080{path}")),
                "",
            )
        });
        let (addr, world) = fake(vec![probe(0, site)], guideline_knobs()).await;
        let gp = engine(
            addr,
            vec![loc(
                "gp-eu",
                LocationSpec::Continent("EU".into()),
                Rir::Ripe,
            )],
            None,
            Duration::from_secs(10),
        );
        let o = &gp.http01("example.com", TOKEN, None).await[0];
        assert_eq!(o.signature, "redirect-disallowed");
        assert!(o.summary.contains("Only ports 80 and 443"), "{}", o.summary);
        assert_eq!(
            posts(&world).len(),
            1,
            "the disallowed target was never measured"
        );
    }

    #[tokio::test]
    async fn malformed_json_from_the_api_is_a_perspective_fault() {
        let (addr, _world) = fake(
            vec![probe(0, redirecting_site())],
            Knobs {
                garbage_polls: true,
                ..guideline_knobs()
            },
        )
        .await;
        let gp = engine(
            addr,
            vec![loc(
                "gp-eu",
                LocationSpec::Continent("EU".into()),
                Rir::Ripe,
            )],
            None,
            Duration::from_secs(10),
        );
        let o = &gp.txt("_acme-challenge.example.com", &[]).await[0];
        assert!(o.perspective_fault && !o.ok);
        assert_eq!(o.phase, Some(Phase::Proxy));
        assert!(
            o.summary.contains("not the documented JSON"),
            "{}",
            o.summary
        );
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
    fn the_fake_rejects_what_the_real_api_rejects() {
        let ok = json!({
            "type": "dns",
            "target": "example.com",
            "inProgressUpdates": false,
            "locations": [{"continent": "EU", "limit": 1}],
            "measurementOptions": {"query": {"type": "TXT"}}
        });
        assert!(validate(&ok).is_ok());
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
            assert!(validate(&v).is_err(), "{path}");
        }
        let mut extra = ok;
        extra["callback"] = json!("https://example.net/");
        assert!(validate(&extra).is_err());
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
