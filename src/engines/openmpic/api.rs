//! The HTTP side of the Open MPIC engine: one `POST` of a JSON request to the endpoint under one
//! timeout, the key only in its header, the answer read up to [`super::MAX_RESPONSE`], and every
//! refusal (401/403, other statuses, non-JSON) turned into one escaped line with the key scrubbed.

use reqwest::header::CONTENT_TYPE;
use serde_json::Value;

use crate::config::engine::API_KEY_ENV;
use crate::config::redact_url;
use crate::perspective::http::error_text;
use crate::text::escape_bytes;

use super::map::map_response;
use super::{Ask, MAX_RESPONSE, MpicResult, OpenMpic};

/// The header the reference deployments (API Gateway, the containers) read the key from.
pub(super) const API_KEY_HEADER: &str = "x-api-key";
pub(super) const API_USER_AGENT: &str = concat!("mpic-check/", env!("CARGO_PKG_VERSION"));

impl OpenMpic {
    pub(super) async fn post(
        &self,
        body: Value,
        name: &str,
        ask: Ask<'_>,
    ) -> Result<MpicResult, String> {
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

pub(super) fn trace_identifier() -> String {
    format!("mpic-check-{:016x}", rand::random::<u64>())
}
