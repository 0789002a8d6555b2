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

mod api;
mod map;

use std::fmt;
use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use serde_json::json;
use url::Url;

use crate::config::redact_url;
use crate::observation::{Check, Observation, Rir};
use crate::perspective::http::error_text;

use api::{API_KEY_HEADER, API_USER_AGENT, trace_identifier};

/// Largest response read; a six-perspective answer is a few kilobytes.
pub const MAX_RESPONSE: usize = 1 << 20;
/// Prefix of every perspective name from this engine.
pub const PERSPECTIVE_PREFIX: &str = "openmpic-";

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
}

#[cfg(test)]
mod tests {
    //! The endpoint's URL handling. Everything that needs a server runs against the one fake Open
    //! MPIC endpoint in the integration tests (`tests/openmpic_api.rs`).

    use super::*;

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
}
