//! The Globalping API client: building measurement requests, `POST /v1/measurements` (waiting out
//! 429s with `Retry-After`), polling `GET /v1/measurements/{id}` no faster than the guidelines
//! allow (500 ms after each response, ETag/If-None-Match), and pinning one probe per location.
//! Responses are read up to a bound; every failure here is the engine's, so it is a [`Fault`]
//! (a perspective fault), never the domain's.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, ETAG, HeaderMap, HeaderValue, IF_NONE_MATCH, RETRY_AFTER};
use serde_json::{Value, json};
use tokio::time::Instant;
use url::Url;

use super::Globalping;
use crate::config::engine::{LocationSpec, TOKEN_ENV};
use crate::config::redact_url;
use crate::observation::Phase;
use crate::perspective::http::error_text;
use crate::text::escape_bytes;

/// Our own User-Agent towards the API (the API guidelines ask clients to send one).
pub(super) const API_USER_AGENT: &str = concat!("mpic-check/", env!("CARGO_PKG_VERSION"));
/// The guidelines: poll again 500 ms after each response.
pub(super) const FIRST_POLL: Duration = Duration::from_millis(500);
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
pub(super) enum Pin {
    /// Nothing measured yet (or every attempt so far failed at the API).
    Unset,
    /// The id of the location's first measurement: later ones reuse its probe.
    Probe(String),
    /// The API had no probe for this location; kept so the run does not ask again.
    Lost(String),
}

/// A failure of the engine itself: always a perspective fault.
#[derive(Debug, Clone)]
pub(super) struct Fault {
    pub(super) phase: Phase,
    pub(super) message: String,
}

impl Fault {
    pub(super) fn proxy(message: String) -> Fault {
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
pub(super) struct Measured {
    pub(super) probe: Value,
    pub(super) result: Value,
}

/// One API response, body read up to [`MAX_RESPONSE`].
#[derive(Debug)]
struct ApiResponse {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Globalping {
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
    pub(super) async fn measure(
        &self,
        idx: usize,
        kind: &str,
        target: &str,
        options: Value,
        deadline: Instant,
    ) -> Result<Measured, Fault> {
        let m = self
            .measure_once(idx, kind, target, options, deadline)
            .await?;
        self.answered(idx, &m.probe);
        Ok(m)
    }

    async fn measure_once(
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
}

/// `measurementOptions` for one HTTP-01 hop: GET (HEAD is the API's default and has no body), the
/// URL's own scheme and port, path and query kept apart as the API wants them.
pub(super) fn http_options(url: &Url) -> Value {
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

pub(super) fn dns_options(qtype: &str) -> Value {
    json!({"query": {"type": qtype}})
}

/// `measurementOptions` for asking one nameserver directly: the API's `resolver` (an address)
/// and `port` options point the probe's dig at it instead of the probe's own resolver.
pub(super) fn authoritative_options(qtype: &str, server: std::net::SocketAddr) -> Value {
    json!({
        "query": {"type": qtype},
        "resolver": server.ip().to_string(),
        "port": server.port(),
    })
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
