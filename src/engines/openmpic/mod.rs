//! A user-supplied Open MPIC endpoint (https://open-mpic.org, API spec v3.5.0) as a remote engine:
//! one `POST /mpic` per check (`caa` with the CA's issuer domain; `dcv` with `acme-http-01` or
//! `acme-dns-01`), and each perspective the deployment used mapped into an `Observation` named
//! `openmpic-<perspective_code>`, with its RIR taken from the AWS region table of the reference
//! deployment. The engine's own `is_valid` and quorum are returned beside the observations so the
//! report can show them next to the tool's verdict. Deployments disagree on the response shape
//! (the spec's schema nests the check fields under `check_response`, its example and some
//! versions of the reference code put them straight on the perspective), so both are read. The
//! API key goes only into the `x-api-key` header and is scrubbed from every message; responses
//! are read up to 1 MiB.

use std::fmt;
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;

use crate::checks::blank;
use crate::checks::http01::hex;
use crate::config::engine::API_KEY_ENV;
use crate::config::redact_url;
use crate::model::{
    CaaDecision, CaaFacts, CaaRecord, Check, DnsExchange, HttpFacts, HttpHop, Observation, Phase,
    Rir, Rr, Signature,
};
use crate::perspective::dns::escape_bytes;
use crate::perspective::http::error_text;

/// Largest response read; a six-perspective answer is a few kilobytes.
pub const MAX_RESPONSE: usize = 1 << 20;
/// Prefix of every perspective name from this engine.
pub const PERSPECTIVE_PREFIX: &str = "openmpic-";
/// The header the reference deployments (API Gateway, the containers) read the key from.
const API_KEY_HEADER: &str = "x-api-key";
const API_USER_AGENT: &str = concat!("mpic-check/", env!("CARGO_PKG_VERSION"));

/// AWS region → RIR, from the reference deployment's `aws_region_config.yaml` (mpic-rules §4.3).
const REGION_RIR: &[(&str, Rir)] = &[
    ("us-east-1", Rir::Arin),
    ("us-east-2", Rir::Arin),
    ("us-west-1", Rir::Arin),
    ("us-west-2", Rir::Arin),
    ("ca-central-1", Rir::Arin),
    ("ca-west-1", Rir::Arin),
    ("eu-central-1", Rir::Ripe),
    ("eu-central-2", Rir::Ripe),
    ("eu-north-1", Rir::Ripe),
    ("eu-south-1", Rir::Ripe),
    ("eu-south-2", Rir::Ripe),
    ("eu-west-1", Rir::Ripe),
    ("eu-west-2", Rir::Ripe),
    ("eu-west-3", Rir::Ripe),
    ("il-central-1", Rir::Ripe),
    ("me-central-1", Rir::Ripe),
    ("me-south-1", Rir::Ripe),
    ("ap-east-1", Rir::Apnic),
    ("ap-northeast-1", Rir::Apnic),
    ("ap-northeast-2", Rir::Apnic),
    ("ap-northeast-3", Rir::Apnic),
    ("ap-south-1", Rir::Apnic),
    ("ap-south-2", Rir::Apnic),
    ("ap-southeast-1", Rir::Apnic),
    ("ap-southeast-2", Rir::Apnic),
    ("ap-southeast-3", Rir::Apnic),
    ("ap-southeast-4", Rir::Apnic),
    ("ap-southeast-5", Rir::Apnic),
    ("sa-east-1", Rir::Lacnic),
    ("af-south-1", Rir::Afrinic),
];

/// The RIR of a perspective code that is an AWS region of the reference table; `None` otherwise
/// (a deployment may name its perspectives freely).
pub fn region_rir(code: &str) -> Option<Rir> {
    let c = code.trim().to_ascii_lowercase();
    REGION_RIR
        .iter()
        .find(|(r, _)| *r == c)
        .map(|(_, rir)| *rir)
}

/// Where the endpoint is, its key, and the bound on one request.
#[derive(Clone)]
pub struct OpenMpicConfig {
    /// The endpoint: either the full `…/mpic` URL or the API base (then `mpic` is appended).
    pub url: Url,
    /// Sent as `x-api-key`. Never printed.
    pub api_key: Option<String>,
    /// Bound on the whole request, response included.
    pub timeout: Duration,
}

impl fmt::Debug for OpenMpicConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenMpicConfig")
            .field("url", &redact_url(&self.url))
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// What the endpoint concluded, and what each of its perspectives saw.
#[derive(Debug, Clone, PartialEq)]
pub struct MpicResult {
    /// The engine's own verdict (`is_valid`): quorum met and, above two perspectives, two RIRs.
    pub is_valid: bool,
    /// `mpic_completed`: false when the coordinator itself failed.
    pub mpic_completed: bool,
    /// One observation per returned perspective, named `openmpic-<perspective_code>`.
    pub observations: Vec<Observation>,
    /// `(perspective_count, quorum_count)` the engine actually used, when it said.
    pub quorum: Option<(usize, usize)>,
    /// Attempts the engine made (`attempt_count`), when it said.
    pub attempt_count: Option<usize>,
    /// Each perspective code with its RIR (from the response, else the region table).
    pub rirs: Vec<(String, Option<Rir>)>,
}

/// The Open MPIC client.
pub struct OpenMpic {
    client: reqwest::Client,
    endpoint: Url,
    api_key: Option<String>,
    timeout: Duration,
}

impl fmt::Debug for OpenMpic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenMpic")
            .field("endpoint", &redact_url(&self.endpoint))
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// What one request was about, for wording the observations.
#[derive(Debug, Clone, Copy)]
enum Ask<'a> {
    Caa {
        issuer: &'a str,
    },
    Http {
        token: &'a str,
        key_authorization: &'a str,
    },
    Dns {
        hash: &'a str,
    },
}

impl Ask<'_> {
    fn check(self) -> Check {
        match self {
            Ask::Caa { .. } => Check::Caa,
            Ask::Http { .. } => Check::Http01,
            Ask::Dns { .. } => Check::Dns01,
        }
    }
}

impl OpenMpic {
    /// Validates the configuration and builds the client. The error never contains the key.
    pub fn new(cfg: OpenMpicConfig) -> Result<Self, String> {
        let OpenMpicConfig {
            url,
            api_key,
            timeout,
        } = cfg;
        let shown = redact_url(&url);
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(format!(
                "Open MPIC url {shown}: only http:// and https:// URLs are supported"
            ));
        }
        if timeout.is_zero() {
            return Err("Open MPIC engine: the timeout must be more than zero".into());
        }
        let api_key = api_key
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty());
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(k) = &api_key {
            if crate::perspective::http::sends_in_clear_text(&url) {
                return Err(format!(
                    "Open MPIC url {shown}: refusing to send the API key over plain http"
                ));
            }
            let mut v = HeaderValue::from_str(k).map_err(|_| {
                "the Open MPIC API key contains characters not allowed in an HTTP header"
                    .to_string()
            })?;
            v.set_sensitive(true);
            headers.insert(API_KEY_HEADER, v);
        }
        let mut endpoint = url;
        endpoint.set_fragment(None);
        if !endpoint.path().trim_end_matches('/').ends_with("/mpic")
            && let Ok(mut segs) = endpoint.path_segments_mut()
        {
            segs.pop_if_empty().push("mpic");
        }
        let client = reqwest::Client::builder()
            // The endpoint is reached directly: a stray HTTP_PROXY must not receive the key.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(API_USER_AGENT)
            .default_headers(headers)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| format!("cannot build the Open MPIC HTTP client: {}", error_text(&e)))?;
        Ok(OpenMpic {
            client,
            endpoint,
            api_key,
            timeout,
        })
    }

    /// The endpoint requests go to (credentials redacted).
    pub fn endpoint(&self) -> String {
        redact_url(&self.endpoint)
    }

    /// `check_type: caa` for `name` (a `*.` prefix means wildcard, as the spec defines), with
    /// `caa_domains: [issuer]` so the engine judges for the same CA as the tool.
    pub async fn caa(&self, name: &str, issuer: &str) -> Result<MpicResult, String> {
        let body = json!({
            "check_type": "caa",
            "domain_or_ip_target": name.trim_end_matches('.'),
            "trace_identifier": trace_identifier(),
            "caa_check_parameters": {
                "certificate_type": "tls-server",
                "caa_domains": [issuer],
            },
        });
        self.post(body, name, Ask::Caa { issuer }).await
    }

    /// `check_type: dcv` with `acme-http-01`: the engine fetches
    /// `http://<name>/.well-known/acme-challenge/<token>` and compares with `key_authorization`.
    pub async fn dcv_http01(
        &self,
        name: &str,
        token: &str,
        key_authorization: &str,
    ) -> Result<MpicResult, String> {
        let body = json!({
            "check_type": "dcv",
            "domain_or_ip_target": name.trim_end_matches('.'),
            "trace_identifier": trace_identifier(),
            "dcv_check_parameters": {
                "validation_method": "acme-http-01",
                "token": token,
                "key_authorization": key_authorization,
            },
        });
        self.post(
            body,
            name,
            Ask::Http {
                token,
                key_authorization,
            },
        )
        .await
    }

    /// `check_type: dcv` with `acme-dns-01`: the engine looks for `key_authorization_hash` in the
    /// TXT RRset at `_acme-challenge.<base>` (a wildcard's `*.` is dropped, as ACME does).
    pub async fn dcv_dns01(
        &self,
        name: &str,
        key_authorization_hash: &str,
    ) -> Result<MpicResult, String> {
        let base = name.trim_end_matches('.');
        let base = base.strip_prefix("*.").unwrap_or(base);
        let body = json!({
            "check_type": "dcv",
            "domain_or_ip_target": base,
            "trace_identifier": trace_identifier(),
            "dcv_check_parameters": {
                "validation_method": "acme-dns-01",
                "key_authorization_hash": key_authorization_hash,
            },
        });
        self.post(
            body,
            base,
            Ask::Dns {
                hash: key_authorization_hash,
            },
        )
        .await
    }

    fn redact(&self, s: &str) -> String {
        match &self.api_key {
            Some(k) if !k.is_empty() => s.replace(k.as_str(), "***"),
            _ => s.to_string(),
        }
    }

    async fn post(&self, body: Value, name: &str, ask: Ask<'_>) -> Result<MpicResult, String> {
        let shown = redact_url(&self.endpoint);
        let work = async {
            let bytes = serde_json::to_vec(&body).unwrap_or_default();
            let mut resp = self
                .client
                .post(self.endpoint.clone())
                .header(CONTENT_TYPE, "application/json")
                .body(bytes)
                .send()
                .await
                .map_err(|e| {
                    format!("Open MPIC endpoint {shown} unreachable: {}", error_text(&e))
                })?;
            let status = resp.status().as_u16();
            if resp
                .content_length()
                .is_some_and(|l| l > MAX_RESPONSE as u64)
            {
                return Err(format!(
                    "Open MPIC endpoint {shown} sent a response over {} MiB (HTTP {status}); \
                     not read",
                    MAX_RESPONSE >> 20
                ));
            }
            let mut data = Vec::new();
            while let Some(c) = resp.chunk().await.map_err(|e| {
                format!(
                    "reading the Open MPIC response from {shown}: {}",
                    error_text(&e)
                )
            })? {
                if data.len() + c.len() > MAX_RESPONSE {
                    return Err(format!(
                        "Open MPIC endpoint {shown} sent a response over {} MiB (HTTP {status}); \
                         not read further",
                        MAX_RESPONSE >> 20
                    ));
                }
                data.extend_from_slice(&c);
            }
            Ok((status, data))
        };
        let (status, data) = match tokio::time::timeout(self.timeout, work).await {
            Ok(r) => r.map_err(|e| self.redact(&e))?,
            Err(_) => {
                return Err(format!(
                    "Open MPIC endpoint {shown} gave no answer within {}",
                    humantime::format_duration(self.timeout)
                ));
            }
        };
        match status {
            200 => {}
            401 | 403 => {
                let hint = if self.api_key.is_some() {
                    format!("check the API key (for example {API_KEY_ENV})")
                } else {
                    format!("no API key is configured (for example {API_KEY_ENV})")
                };
                return Err(self.redact(&format!(
                    "Open MPIC endpoint {shown} refused the request (HTTP {status}: {}); {hint}",
                    error_excerpt(&data)
                )));
            }
            s => {
                return Err(self.redact(&format!(
                    "Open MPIC endpoint {shown} answered HTTP {s}: {}",
                    error_excerpt(&data)
                )));
            }
        }
        let v: Value = serde_json::from_slice(&data).map_err(|e| {
            self.redact(&format!(
                "Open MPIC endpoint {shown} answered with something that is not JSON ({e}): {}",
                error_excerpt(&data)
            ))
        })?;
        map_response(&v, name, ask)
            .map_err(|e| self.redact(&format!("Open MPIC endpoint {shown}: {e}")))
    }
}

/// One returned perspective, whichever shape it came in.
#[derive(Debug)]
struct Perspective {
    code: String,
    rir: Option<Rir>,
    passed: bool,
    completed: Option<bool>,
    errors: Vec<(String, String)>,
    details: Value,
}

fn parse_perspective(p: &Value) -> Option<Perspective> {
    // `perspective_code` (spec), `perspective` (some reference versions); either a string or an
    // object with `code` and `rir`.
    let code_v = p.get("perspective_code").or_else(|| p.get("perspective"))?;
    let (code, rir_given) = match code_v {
        Value::String(s) => (s.clone(), None),
        Value::Object(o) => (
            o.get("code").and_then(Value::as_str)?.to_string(),
            o.get("rir").and_then(Value::as_str).and_then(Rir::parse),
        ),
        _ => return None,
    };
    let code = escape_bytes(code.trim().as_bytes());
    // Schema: fields under `check_response`; the spec's example: straight on the perspective.
    let cr = p
        .get("check_response")
        .filter(|c| c.is_object())
        .unwrap_or(p);
    let errors = cr
        .get("errors")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| match e {
                    Value::String(s) => (String::new(), escape_bytes(s.as_bytes())),
                    _ => (
                        e.get("error_type")
                            .and_then(Value::as_str)
                            .map(|t| escape_bytes(t.as_bytes()))
                            .unwrap_or_default(),
                        e.get("error_message")
                            .and_then(Value::as_str)
                            .map(|m| escape_bytes(m.as_bytes()))
                            .unwrap_or_default(),
                    ),
                })
                .collect()
        })
        .unwrap_or_default();
    Some(Perspective {
        rir: rir_given.or_else(|| region_rir(&code)),
        code,
        passed: cr
            .get("check_passed")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        completed: cr.get("check_completed").and_then(Value::as_bool),
        errors,
        details: cr.get("details").cloned().unwrap_or(Value::Null),
    })
}

fn map_response(v: &Value, name: &str, ask: Ask<'_>) -> Result<MpicResult, String> {
    let is_valid = v
        .get("is_valid")
        .and_then(Value::as_bool)
        .ok_or("the answer is not an MPIC response (no boolean is_valid)")?;
    let perspectives = v
        .get("perspectives")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let parsed: Vec<Perspective> = perspectives.iter().filter_map(parse_perspective).collect();
    let actual = v.get("actual_orchestration_parameters");
    let count = |k: &str| {
        actual
            .and_then(|a| a.get(k))
            .and_then(Value::as_u64)
            .map(|n| n as usize)
    };
    let quorum = count("perspective_count").zip(count("quorum_count"));
    Ok(MpicResult {
        is_valid,
        mpic_completed: v
            .get("mpic_completed")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        observations: parsed.iter().map(|p| observe(p, name, ask)).collect(),
        quorum,
        attempt_count: count("attempt_count"),
        rirs: parsed.iter().map(|p| (p.code.clone(), p.rir)).collect(),
    })
}

/// One perspective as an observation. A perspective that did not complete its check is not
/// automatically the engine's fault: the reference checker reports the domain's own timeouts and
/// lookup errors that way, and those are exactly what the tool looks for (a region that times
/// out). Only the coordinator's errors, or an incomplete check with no reason, are the
/// perspective's fault.
fn observe(p: &Perspective, name: &str, ask: Ask<'_>) -> Observation {
    let check = ask.check();
    let mut o = blank(&format!("{PERSPECTIVE_PREFIX}{}", p.code), check);
    let coordinator = p
        .errors
        .iter()
        .any(|(t, _)| t.starts_with("mpic_error:coordinator"));
    let error_text = p
        .errors
        .iter()
        .map(|(t, m)| match (t.is_empty(), m.is_empty()) {
            (true, _) => m.clone(),
            (false, true) => t.clone(),
            (false, false) => format!("{t}: {m}"),
        })
        .collect::<Vec<_>>()
        .join("; ");
    // Older reference versions send no `check_completed`: an error without a pass means the
    // check did not complete.
    let completed = p.completed.unwrap_or(p.passed || p.errors.is_empty());
    match ask {
        Ask::Caa { issuer } => caa_facts(&mut o, p, issuer, &error_text),
        Ask::Http {
            token,
            key_authorization,
        } => http_facts(&mut o, p, name, token, key_authorization, &error_text),
        Ask::Dns { hash } => dns_facts(&mut o, p, name, hash, &error_text),
    }
    if coordinator || (!completed && p.errors.is_empty()) {
        o.ok = false;
        o.perspective_fault = true;
        o.phase = Some(Phase::Proxy);
        o.summary = format!(
            "Open MPIC could not use perspective {}: {}",
            p.code,
            if error_text.is_empty() {
                "the check did not complete and no reason was given"
            } else {
                &error_text
            }
        );
        o.signature = Signature::Failed(Phase::Proxy);
    } else if !completed {
        let lower = error_text.to_ascii_lowercase();
        let phase = match check {
            Check::Http01 if lower.contains("timed out") || lower.contains("timeout") => {
                Phase::Timeout
            }
            Check::Http01 => Phase::Connect,
            _ if lower.contains("timed out") || lower.contains("timeout") => Phase::Timeout,
            _ => Phase::Dns,
        };
        o.ok = false;
        o.phase = Some(phase);
        o.summary = error_text;
        o.signature = match check {
            // The same signature the local CAA check gives a failed lookup.
            Check::Caa => Signature::CaaError,
            _ => Signature::Failed(phase),
        };
        if let Some(c) = o.caa.as_mut() {
            c.decision = CaaDecision::Error;
            c.reason = o.summary.clone();
        }
    }
    o
}

fn caa_facts(o: &mut Observation, p: &Perspective, issuer: &str, errors: &str) {
    let d = &p.details;
    let found_at = d
        .get("found_at")
        .and_then(Value::as_str)
        .map(|s| escape_bytes(s.as_bytes()));
    // `records_seen` is a list in the reference code, a string in the spec's schema.
    let seen: Vec<String> = match d.get("records_seen") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    };
    let records: Vec<CaaRecord> = seen.iter().map(|r| caa_record(r)).collect();
    let present = d
        .get("caa_record_present")
        .and_then(Value::as_bool)
        .unwrap_or(!records.is_empty());
    let at = found_at.clone().unwrap_or_else(|| "the name".into());
    let shown: Vec<String> = records
        .iter()
        .map(|r| format!("{} {} \"{}\"", r.flags, r.tag, r.value))
        .collect();
    let (decision, reason) = if p.passed {
        (
            CaaDecision::Permit,
            if present {
                format!("CAA at {at} authorizes {issuer} ({})", shown.join("; "))
            } else {
                "no CAA records up to the TLD: any CA may issue".into()
            },
        )
    } else {
        let mut r = format!(
            "CAA record for {at} prevents issuance by {issuer} (as the engine reads it): {}",
            if shown.is_empty() {
                "no records reported".to_string()
            } else {
                shown.join("; ")
            }
        );
        if !errors.is_empty() {
            r.push_str(&format!("; {errors}"));
        }
        (CaaDecision::Forbid, r)
    };
    o.ok = p.passed;
    o.summary = if p.passed {
        format!("permits ({reason})")
    } else {
        reason.clone()
    };
    o.signature = match decision {
        CaaDecision::Permit => Signature::Permit,
        CaaDecision::Forbid => Signature::Forbid,
        CaaDecision::Error => Signature::CaaError,
    };
    o.caa = Some(CaaFacts {
        found_at,
        records,
        decision,
        reason,
    });
}

/// `0 issue "letsencrypt.org"` (dnspython's presentation) into its parts.
fn caa_record(s: &str) -> CaaRecord {
    let mut parts = s.trim().splitn(3, char::is_whitespace);
    let flags = parts.next().and_then(|f| f.parse().ok());
    let tag = parts.next();
    let value = parts.next();
    match (flags, tag, value) {
        (Some(flags), Some(tag), Some(value)) => {
            let v = value.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .unwrap_or(v);
            CaaRecord {
                flags,
                tag: escape_bytes(tag.as_bytes()),
                value: escape_bytes(v.as_bytes()),
            }
        }
        _ => CaaRecord {
            flags: 0,
            tag: String::new(),
            value: escape_bytes(s.as_bytes()),
        },
    }
}

fn http_facts(
    o: &mut Observation,
    p: &Perspective,
    name: &str,
    token: &str,
    key_authorization: &str,
    errors: &str,
) {
    let d = &p.details;
    let start = format!(
        "http://{}/.well-known/acme-challenge/{token}",
        name.trim_end_matches('.')
    );
    let mut hops: Vec<HttpHop> = d
        .get("response_history")
        .and_then(Value::as_array)
        .map(|h| {
            h.iter()
                .map(|r| HttpHop {
                    url: r
                        .get("response_url")
                        .or_else(|| r.get("url"))
                        .and_then(Value::as_str)
                        .map(|u| escape_bytes(u.as_bytes()))
                        .unwrap_or_default(),
                    address: None,
                    status: r
                        .get("response_status_code")
                        .or_else(|| r.get("status_code"))
                        .and_then(Value::as_u64)
                        .and_then(|s| u16::try_from(s).ok()),
                    location: None,
                    headers: Vec::new(),
                    elapsed_ms: 0,
                })
                .collect()
        })
        .unwrap_or_default();
    let status = d
        .get("response_status_code")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok());
    let final_url = d
        .get("response_url")
        .and_then(Value::as_str)
        .map(|u| escape_bytes(u.as_bytes()))
        .unwrap_or_else(|| start.clone());
    if status.is_some() {
        hops.push(HttpHop {
            url: final_url.clone(),
            address: d
                .get("resolved_ip")
                .and_then(Value::as_str)
                .map(|a| escape_bytes(a.as_bytes())),
            status,
            location: None,
            headers: Vec::new(),
            elapsed_ms: 0,
        });
    }
    let page = d
        .get("response_page")
        .and_then(Value::as_str)
        .map(page_bytes);
    let redirects = hops.len().saturating_sub(1);
    o.http = Some(HttpFacts {
        url: start,
        via: format!("open-mpic perspective {}", p.code),
        user_agent: "set by the Open MPIC deployment".into(),
        hops,
        status,
        body_prefix: page.as_ref().map(|b| escape_bytes(b)),
        body_len: page.as_ref().map(|b| b.len() as u64),
        body_sha256: page.as_ref().map(|b| hex(&Sha256::digest(b))),
        // The engine reports only the first 100 bytes of a page.
        body_truncated: page.as_ref().is_some_and(|b| b.len() >= 100),
        alt_user_agent: None,
    });
    let via = if redirects > 0 {
        format!(" after {redirects} redirect(s)")
    } else {
        String::new()
    };
    o.ok = p.passed;
    if p.passed {
        o.summary = format!("200, expected body{via}");
        o.signature = Signature::Expected;
        return;
    }
    o.phase = Some(Phase::Http);
    if p.errors
        .iter()
        .any(|(t, _)| t.starts_with("mpic_error:redirect"))
    {
        o.summary = errors.to_string();
        o.signature = Signature::RedirectDisallowed;
    } else if let Some(s) = status.filter(|s| *s != 200) {
        o.summary = format!("Invalid response from {final_url}: {s}");
        o.signature = Signature::Status(s);
    } else if status == Some(200) {
        // Hashed like the local HTTP-01 check (trailing whitespace trimmed, bytes as sent), so
        // an engine perspective and a local one that saw the same page agree.
        let got = page.unwrap_or_default();
        let trimmed = got.trim_ascii_end();
        o.phase = None;
        o.summary = format!(
            "The key authorization file from the server did not match this challenge. Expected \
             \"{}\" (got \"{}\")",
            escape_bytes(key_authorization.as_bytes()),
            escape_bytes(trimmed)
        );
        o.signature = Signature::Mismatch(hex(&Sha256::digest(trimmed)));
    } else {
        o.summary = if errors.is_empty() {
            "the engine reported no status and no reason".into()
        } else {
            errors.to_string()
        };
        o.signature = Signature::Failed(Phase::Http);
    }
}

fn dns_facts(o: &mut Observation, p: &Perspective, name: &str, hash: &str, errors: &str) {
    let d = &p.details;
    let qname = format!("_acme-challenge.{}", name.trim_end_matches('.'));
    let found_at = d
        .get("found_at")
        .and_then(Value::as_str)
        .map(|s| escape_bytes(s.trim_end_matches('.').as_bytes()))
        .unwrap_or_else(|| qname.clone());
    let mut values: Vec<String> = d
        .get("records_seen")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|s| escape_bytes(s.as_bytes()))
                .collect()
        })
        .unwrap_or_default();
    let rcode = d
        .get("response_code")
        .and_then(Value::as_u64)
        .map(rcode_name);
    let nx = rcode.as_deref() == Some("NXDOMAIN") || errors.contains("NXDOMAIN");
    let mut chain = vec![qname.clone()];
    if let Some(c) = d.get("cname_chain").and_then(Value::as_array) {
        chain.extend(
            c.iter()
                .filter_map(Value::as_str)
                .map(|s| escape_bytes(s.trim_end_matches('.').as_bytes())),
        );
    }
    o.dns = vec![DnsExchange {
        qname: qname.clone(),
        qtype: "TXT".into(),
        server: format!("open-mpic perspective {}", p.code),
        rcode: rcode.clone(),
        aa: false,
        ad: d.get("ad_flag").and_then(Value::as_bool).unwrap_or(false),
        answers: values
            .iter()
            .map(|v| Rr {
                name: found_at.clone(),
                rtype: "TXT".into(),
                ttl: 0,
                data: v.clone(),
            })
            .collect(),
        cname_chain: chain,
        negative_ttl: None,
        ecs: None,
        ecs_scope: None,
        elapsed_ms: 0,
        error: if errors.is_empty() {
            None
        } else {
            Some(errors.to_string())
        },
        // The engine's details carry no Extended DNS Error.
        ede: None,
    }];
    values.sort();
    values.dedup();
    o.txt = values.clone();
    if let Some(rc) = rcode
        .as_deref()
        .filter(|rc| !matches!(*rc, "NOERROR" | "NXDOMAIN"))
    {
        o.phase = Some(Phase::Dns);
        o.summary = format!("{rc} looking up TXT at {qname}");
        o.signature = Signature::Failed(Phase::Dns);
        return;
    }
    o.signature = if values.is_empty() {
        Signature::None
    } else {
        Signature::parse(&values.join("|"))
    };
    o.ok = p.passed;
    o.summary = if p.passed {
        "the expected value is present".into()
    } else if values.is_empty() {
        if nx {
            format!("NXDOMAIN looking up TXT for {qname}")
        } else {
            format!("No TXT record found at {qname}")
        }
    } else {
        format!(
            "Incorrect TXT record {:?} found at {qname}; missing {hash}",
            values[0]
        )
    };
}

fn rcode_name(code: u64) -> String {
    match code {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        n => format!("RCODE{n}"),
    }
}

/// `response_page`: the spec says "the first 100 bytes of the page"; the reference checker
/// sends them base64-encoded. A key authorization always contains a `.`, which base64 never
/// does, so a string that decodes cleanly as base64 to UTF-8 is taken as encoded.
fn page_bytes(s: &str) -> Vec<u8> {
    match base64_decode(s) {
        Some(b) if !s.is_empty() && std::str::from_utf8(&b).is_ok() => b,
        _ => s.as_bytes().to_vec(),
    }
}

/// Standard base64 with padding; `None` when `s` is not exactly that.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        return None;
    }
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    for (i, chunk) in b.chunks(4).enumerate() {
        let last = i == b.len() / 4 - 1;
        let pad = chunk.iter().rev().take_while(|c| **c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            n = (n << 6) | val(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

/// An escaped excerpt of an error body: the `message`/`error`/`detail` of a JSON body when there
/// is one, else the first bytes.
fn error_excerpt(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        let parts: Vec<String> = ["message", "error", "detail", "validation_issues"]
            .iter()
            .filter_map(|k| v.get(*k))
            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
            .collect();
        if !parts.is_empty() {
            let cut: String = parts.join(": ").chars().take(400).collect();
            return escape_bytes(cut.as_bytes());
        }
    }
    if body.is_empty() {
        return "empty body".into();
    }
    format!("{:?}", escape_bytes(&body[..body.len().min(200)]))
}

fn trace_identifier() -> String {
    format!("mpic-check-{:016x}", rand::random::<u64>())
}

#[cfg(test)]
mod tests {
    //! A fake Open MPIC endpoint on 127.0.0.1: it checks the API key like the reference
    //! deployments (403 from API Gateway, 401 from the containers), rejects requests the spec
    //! does not allow (400), and answers with the fixtures in `tests/fixtures/openmpic/`, or with
    //! garbage, an oversized body or nothing at all.

    use super::*;
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    const CAA_VALID: &str = include_str!("../../../tests/fixtures/openmpic/caa-valid-example.json");
    const CAA_FORBID: &str =
        include_str!("../../../tests/fixtures/openmpic/caa-forbid-nested.json");
    const HTTP_INVALID: &str =
        include_str!("../../../tests/fixtures/openmpic/dcv-http01-invalid-nested.json");
    const DNS_VALID: &str =
        include_str!("../../../tests/fixtures/openmpic/dcv-dns01-valid-nested.json");
    const E403: &str = include_str!("../../../tests/fixtures/openmpic/error-403-forbidden.json");
    const E400: &str = include_str!("../../../tests/fixtures/openmpic/error-400-validation.json");

    const KEY: &str = "mpic-KEY-5b0f6c1e9a7d4e2f8c3b1a0d";
    const TOKEN: &str = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";
    const KEY_AUTH: &str =
        "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0.nIb4z1-9dGkC7sGQKbR8VHBdBQ6GCuY6QK1hVn5nRbQ";
    const HASH: &str = "9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";

    #[derive(Debug, Clone)]
    enum Answer {
        /// 200 with this body.
        Body(&'static str),
        /// The key was wrong: the containers' 401 (echoing the key, as a careless one might).
        Unauthorized,
        /// Not JSON at all.
        Garbage,
        /// More than 1 MiB, with or without a Content-Length.
        Huge { length: bool },
        /// Nothing for this long.
        Slow(Duration),
    }

    #[derive(Debug, Clone)]
    struct Seen {
        path: String,
        key: Option<String>,
        body: Value,
        status: u16,
    }

    async fn fake(answer: Answer) -> (SocketAddr, Arc<Mutex<Vec<Seen>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let answer = answer.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    let Some((method, path, headers, body)) = read_request(&mut s).await else {
                        return;
                    };
                    let key = headers
                        .iter()
                        .find(|(k, _)| k == "x-api-key")
                        .map(|(_, v)| v.clone());
                    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let (status, text, length, delay): (u16, Vec<u8>, bool, Duration) = if method
                        != "POST"
                        || !path.ends_with("/mpic")
                    {
                        (
                            404,
                            br#"{"message":"Not Found"}"#.to_vec(),
                            true,
                            Duration::ZERO,
                        )
                    } else if matches!(answer, Answer::Unauthorized) {
                        let m = format!(
                            r#"{{"detail":"Invalid API key {}"}}"#,
                            key.clone().unwrap_or_default()
                        );
                        (401, m.into_bytes(), true, Duration::ZERO)
                    } else if key.as_deref() != Some(KEY) {
                        (403, E403.as_bytes().to_vec(), true, Duration::ZERO)
                    } else if let Err(why) = validate(&body) {
                        let mut e: Value = serde_json::from_str(E400).unwrap();
                        e["validation_issues"][0]["message"] = json!(why);
                        (400, e.to_string().into_bytes(), true, Duration::ZERO)
                    } else {
                        match &answer {
                            Answer::Body(b) => (200, b.as_bytes().to_vec(), true, Duration::ZERO),
                            Answer::Garbage => (
                                200,
                                b"<html><body>502 Bad Gateway</body></html>\x1b[31m".to_vec(),
                                true,
                                Duration::ZERO,
                            ),
                            Answer::Huge { length } => {
                                let mut b = br#"{"is_valid": true, "pad": ""#.to_vec();
                                b.resize(MAX_RESPONSE + 4096, b'x');
                                b.extend_from_slice(br#""}"#);
                                (200, b, *length, Duration::ZERO)
                            }
                            Answer::Slow(d) => (200, CAA_VALID.as_bytes().to_vec(), true, *d),
                            Answer::Unauthorized => unreachable!(),
                        }
                    };
                    log.lock().unwrap().push(Seen {
                        path: path.clone(),
                        key,
                        body,
                        status,
                    });
                    tokio::time::sleep(delay).await;
                    let mut head = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n\
                         Connection: close\r\n"
                    );
                    if length {
                        head.push_str(&format!("Content-Length: {}\r\n", text.len()));
                    }
                    head.push_str("\r\n");
                    let _ = s.write_all(head.as_bytes()).await;
                    let _ = s.write_all(&text).await;
                    let _ = s.shutdown().await;
                });
            }
        });
        (addr, seen)
    }

    type Request = (String, String, Vec<(String, String)>, Vec<u8>);

    async fn read_request(s: &mut TcpStream) -> Option<Request> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            let n = s.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
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
        let mut body = buf[end + 4..].to_vec();
        while body.len() < len {
            let n = s.read(&mut chunk).await.ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        Some((method, path, headers, body))
    }

    /// The request schema of the spec (`CAAParams`, `DCVParams`), as far as we use it.
    fn validate(v: &Value) -> Result<(), String> {
        let o = v.as_object().ok_or("not an object")?;
        for k in o.keys() {
            if ![
                "check_type",
                "domain_or_ip_target",
                "trace_identifier",
                "orchestration_parameters",
                "caa_check_parameters",
                "dcv_check_parameters",
            ]
            .contains(&k.as_str())
            {
                return Err(format!("unknown field {k}"));
            }
        }
        match o.get("domain_or_ip_target").and_then(Value::as_str) {
            Some(t) if !t.is_empty() && !t.ends_with('.') => {}
            _ => return Err("domain_or_ip_target missing or invalid".into()),
        }
        match o.get("check_type").and_then(Value::as_str) {
            Some("caa") => {
                if o.contains_key("dcv_check_parameters") {
                    return Err("dcv_check_parameters with check_type caa".into());
                }
                if let Some(p) = o.get("caa_check_parameters") {
                    let p = p.as_object().ok_or("caa_check_parameters")?;
                    if p.keys()
                        .any(|k| k != "certificate_type" && k != "caa_domains")
                    {
                        return Err("unknown caa_check_parameters field".into());
                    }
                    if p.get("certificate_type")
                        .and_then(Value::as_str)
                        .is_some_and(|c| c != "tls-server" && c != "s-mime")
                    {
                        return Err("certificate_type".into());
                    }
                    if p.get("caa_domains").is_some_and(|d| {
                        !d.as_array().is_some_and(|a| a.iter().all(Value::is_string))
                    }) {
                        return Err("caa_domains".into());
                    }
                }
                Ok(())
            }
            Some("dcv") => {
                let p = o
                    .get("dcv_check_parameters")
                    .and_then(Value::as_object)
                    .ok_or("dcv_check_parameters required")?;
                let s = |k: &str| {
                    p.get(k)
                        .and_then(Value::as_str)
                        .is_some_and(|x| !x.is_empty())
                };
                let (required, allowed): (&[&str], &[&str]) =
                    match p.get("validation_method").and_then(Value::as_str) {
                        Some("acme-http-01") => (
                            &["token", "key_authorization"],
                            &[
                                "validation_method",
                                "token",
                                "key_authorization",
                                "http_headers",
                            ],
                        ),
                        Some("acme-dns-01") => (
                            &["key_authorization_hash"],
                            &["validation_method", "key_authorization_hash"],
                        ),
                        other => return Err(format!("validation_method {other:?}")),
                    };
                if let Some(k) = required.iter().find(|k| !s(k)) {
                    return Err(format!("Missing or invalid parameter: {k}"));
                }
                if let Some(k) = p.keys().find(|k| !allowed.contains(&k.as_str())) {
                    return Err(format!("unknown field {k}"));
                }
                Ok(())
            }
            other => Err(format!("check_type {other:?}")),
        }
    }

    fn engine(addr: SocketAddr, path: &str, key: Option<&str>, timeout: Duration) -> OpenMpic {
        OpenMpic::new(OpenMpicConfig {
            url: Url::parse(&format!("http://{addr}{path}")).unwrap(),
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
        let (addr, seen) = fake(Answer::Body(CAA_VALID)).await;
        let mpic = engine(addr, "/", Some(KEY), Duration::from_secs(5));
        let r = mpic.caa("example.com", "letsencrypt.org").await.unwrap();
        assert!(r.is_valid && r.mpic_completed);
        assert_eq!(r.quorum, Some((6, 4)));
        assert_eq!(r.attempt_count, Some(1));
        assert_eq!(r.observations.len(), 6);
        for o in &r.observations {
            assert!(o.ok && !o.perspective_fault, "{o:?}");
            assert_eq!(o.check, Check::Caa);
            assert_eq!(o.signature, "permit");
            assert_eq!(o.caa.as_ref().unwrap().decision, "permit");
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
        let s = seen.lock().unwrap();
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
        let (addr, _) = fake(Answer::Body(CAA_FORBID)).await;
        let mpic = engine(addr, "/mpic", Some(KEY), Duration::from_secs(5));
        let r = mpic
            .caa("shop.example.com", "letsencrypt.org")
            .await
            .unwrap();
        assert!(!r.is_valid);
        let o = by(&r, "us-west-1");
        assert!(!o.ok && !o.perspective_fault);
        assert_eq!(o.signature, "forbid");
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
        assert_eq!(me.signature, "error");
        assert_eq!(me.caa.as_ref().unwrap().decision, "error");
    }

    #[tokio::test]
    async fn dcv_http01_invalid_with_errors() {
        let (addr, seen) = fake(Answer::Body(HTTP_INVALID)).await;
        let mpic = engine(addr, "", Some(KEY), Duration::from_secs(5));
        let r = mpic
            .dcv_http01("example.com", TOKEN, KEY_AUTH)
            .await
            .unwrap();
        assert!(!r.is_valid);
        assert_eq!(r.observations.len(), 6);
        let ok = by(&r, "us-east-1");
        assert!(ok.ok);
        assert_eq!(ok.signature, "expected");
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
        assert_eq!(blocked.signature, "status:403");
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
        let body = &seen.lock().unwrap()[0].body;
        assert_eq!(
            body["dcv_check_parameters"]["validation_method"],
            "acme-http-01"
        );
        assert_eq!(body["dcv_check_parameters"]["token"], TOKEN);
        assert_eq!(body["dcv_check_parameters"]["key_authorization"], KEY_AUTH);
    }

    #[tokio::test]
    async fn dcv_dns01_valid() {
        let (addr, seen) = fake(Answer::Body(DNS_VALID)).await;
        let mpic = engine(addr, "/prod/mpic", Some(KEY), Duration::from_secs(5));
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
        let s = seen.lock().unwrap();
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
        let (addr, _) = fake(Answer::Body(CAA_VALID)).await;
        let wrong = "mpic-WRONG-0f9e8d7c6b5a4";
        let mpic = engine(addr, "/", Some(wrong), Duration::from_secs(5));
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
        let (addr, _) = fake(Answer::Unauthorized).await;
        let cfg = OpenMpicConfig {
            url: Url::parse(&format!("http://{addr}/")).unwrap(),
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
        let (addr, seen) = fake(Answer::Body(CAA_VALID)).await;
        let mpic = engine(addr, "/", Some(KEY), Duration::from_secs(5));
        let e = mpic.dcv_http01("example.com", TOKEN, "").await.unwrap_err();
        assert!(
            e.contains("HTTP 400") && e.contains("key_authorization"),
            "{e}"
        );
        assert_eq!(seen.lock().unwrap()[0].status, 400);
    }

    #[tokio::test]
    async fn non_json_garbage_is_an_error_with_an_escaped_excerpt() {
        let (addr, _) = fake(Answer::Garbage).await;
        let mpic = engine(addr, "/", Some(KEY), Duration::from_secs(5));
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
            let (addr, _) = fake(Answer::Huge { length }).await;
            let mpic = engine(addr, "/", Some(KEY), Duration::from_secs(5));
            let e = mpic
                .caa("example.com", "letsencrypt.org")
                .await
                .unwrap_err();
            assert!(e.contains("over 1 MiB"), "{e}");
        }
    }

    #[tokio::test]
    async fn a_silent_endpoint_is_bounded_by_the_timeout() {
        let (addr, _) = fake(Answer::Slow(Duration::from_secs(30))).await;
        let mpic = engine(addr, "/", Some(KEY), Duration::from_millis(800));
        let start = std::time::Instant::now();
        let e = mpic
            .caa("example.com", "letsencrypt.org")
            .await
            .unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(3));
        assert!(e.contains("no answer within 800ms"), "{e}");
    }

    #[test]
    fn the_endpoint_gets_mpic_appended_once() {
        let ep = |u: &str| {
            OpenMpic::new(OpenMpicConfig {
                url: Url::parse(u).unwrap(),
                api_key: None,
                timeout: Duration::from_secs(1),
            })
            .unwrap()
            .endpoint()
        };
        assert_eq!(
            ep("https://mpic.example.net/mpic"),
            "https://mpic.example.net/mpic"
        );
        assert_eq!(
            ep("https://mpic.example.net/"),
            "https://mpic.example.net/mpic"
        );
        assert_eq!(
            ep("https://mpic.example.net/prod"),
            "https://mpic.example.net/prod/mpic"
        );
        assert_eq!(
            ep("https://mpic.example.net/v1/"),
            "https://mpic.example.net/v1/mpic"
        );
    }

    #[test]
    fn pages_and_regions() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
        assert!(base64_decode("abc.def").is_none());
        assert_eq!(
            page_bytes(KEY_AUTH),
            KEY_AUTH.as_bytes(),
            "a plain key authorization"
        );
        assert_eq!(region_rir("EU-CENTRAL-2"), Some(Rir::Ripe));
        assert_eq!(region_rir("af-south-1"), Some(Rir::Afrinic));
        assert_eq!(region_rir("mars-north-1"), None);
        let r = caa_record("128 tbs \"Unknown\"");
        assert_eq!(
            (r.flags, r.tag.as_str(), r.value.as_str()),
            (128, "tbs", "Unknown")
        );
    }

    #[test]
    fn perspective_codes_may_be_objects_with_their_rir() {
        let p = parse_perspective(&json!({
            "perspective": {"code": "dc-west", "rir": "RIPE NCC"},
            "check_passed": false,
            "errors": [{
                "error_type": "mpic_error:caa_checker:lookup",
                "error_message": "SERVFAIL"
            }],
            "details": {"caa_record_present": null}
        }))
        .unwrap();
        assert_eq!(p.code, "dc-west");
        assert_eq!(p.rir, Some(Rir::Ripe));
        let o = observe(
            &p,
            "example.com",
            Ask::Caa {
                issuer: "letsencrypt.org",
            },
        );
        // No check_completed (older reference versions): an error without a pass is incomplete.
        assert_eq!(o.phase, Some(Phase::Dns));
        assert!(!o.perspective_fault && !o.ok);
    }
}
