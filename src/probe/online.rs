//! `--online-context` (opt-in, needs the internet): third-party context Let's Debug shows beside
//! its checks (`generic.go` `statusioChecker` and `rateLimitChecker`): Let's Encrypt's status page
//! (an incident can stop validation whatever the domain does) and the rate-limit view from
//! Certificate Transparency (crt.sh). Each becomes an `info` finding marked as third-party data:
//! it never changes the outcome or the exit code, because it says nothing about the domain's own
//! configuration. When a source cannot be reached it is skipped with a one-line note.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Deserialize;

use crate::model::{Finding, FindingCode, Severity};

/// Let's Encrypt's status page API (status.io public status endpoint, the page id Let's Debug
/// uses); `MPIC_CHECK_LE_STATUS_URL` replaces it (tests point it at a local fake).
pub const LE_STATUS_URL: &str = "https://api.status.io/1.0/status/55957a99e800baa4470002da";
/// crt.sh's JSON search; `MPIC_CHECK_CRTSH_URL` replaces the base.
pub const CRTSH_URL: &str = "https://crt.sh/";
/// Let's Encrypt: new certificates per registered domain per 7 days
/// (letsencrypt.org/docs/rate-limits, "New Certificates per Registered Domain").
pub const PER_DOMAIN_LIMIT: usize = 50;
/// Let's Encrypt: certificates for the exact same set of names per 7 days
/// (letsencrypt.org/docs/rate-limits, "New Certificates per Exact Set of Identifiers").
pub const DUPLICATE_LIMIT: usize = 5;

#[derive(Debug, Deserialize)]
struct StatusDoc {
    result: StatusResult,
}

#[derive(Debug, Deserialize)]
struct StatusResult {
    status_overall: StatusOverall,
}

#[derive(Debug, Deserialize)]
struct StatusOverall {
    #[serde(default)]
    updated: String,
    #[serde(default)]
    status: String,
    status_code: u32,
}

/// One crt.sh row (`output=json`).
#[derive(Debug, Deserialize)]
struct CrtRow {
    #[serde(default)]
    issuer_name: String,
    #[serde(default)]
    name_value: String,
    #[serde(default)]
    not_before: String,
    #[serde(default)]
    serial_number: String,
}

/// What `--online-context` found: findings to add, and notes about sources it skipped.
#[derive(Debug, Default)]
pub struct Context {
    /// Info findings, each marked as third-party data.
    pub findings: Vec<Finding>,
    /// One line per source that could not be used.
    pub notes: Vec<String>,
}

fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .user_agent(concat!("mpic-check/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())
}

async fn get_json<T: for<'de> Deserialize<'de>>(
    c: &reqwest::Client,
    url: &str,
) -> Result<T, String> {
    let r = c
        .get(url)
        .send()
        .await
        .map_err(|e| crate::perspective::http::error_text(&e))?;
    if !r.status().is_success() {
        return Err(format!("HTTP {}", r.status().as_u16()));
    }
    let body = r.bytes().await.map_err(|e| e.to_string())?;
    serde_json::from_slice(&body).map_err(|e| format!("unexpected JSON: {e}"))
}

fn info(code: FindingCode, identifier: &str, evidence: Vec<String>, fix: String) -> Finding {
    Finding {
        code,
        severity: Severity::Info,
        identifier: identifier.into(),
        perspectives: Vec::new(),
        evidence,
        fix,
    }
}

/// Gathers the context for the names of a run (`names` in canonical form, `*.` kept).
pub async fn gather(names: &[String], now: chrono::DateTime<chrono::Utc>) -> Context {
    let mut out = Context::default();
    let Some(first) = names.first() else {
        return out;
    };
    let c = match client() {
        Ok(c) => c,
        Err(e) => {
            out.notes.push(format!("--online-context skipped: {e}"));
            return out;
        }
    };
    let status_url =
        std::env::var("MPIC_CHECK_LE_STATUS_URL").unwrap_or_else(|_| LE_STATUS_URL.to_string());
    let crt_base = std::env::var("MPIC_CHECK_CRTSH_URL").unwrap_or_else(|_| CRTSH_URL.to_string());
    // Registered domains of the run, each asked once.
    let mut domains: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for n in names {
        let base = n.strip_prefix("*.").unwrap_or(n);
        let reg = psl::domain_str(base).unwrap_or(base).to_string();
        domains.entry(reg).or_default().push(n.clone());
    }
    let status = get_json::<StatusDoc>(&c, &status_url);
    let crt = futures::future::join_all(domains.keys().map(|d| {
        let url = format!(
            "{}?q={}&output=json&exclude=expired",
            crt_base.trim_end_matches('/').to_string() + "/",
            url_escape(&format!("%.{d}"))
        );
        let c = c.clone();
        async move { get_json::<Vec<CrtRow>>(&c, &url).await }
    }));
    let (status, crt) = tokio::join!(status, crt);
    match status {
        Ok(doc) => {
            let s = doc.result.status_overall;
            // status.io codes (kb.status.io/developers/status-codes): 100 operational, 200
            // planned maintenance, 300 degraded, 400 partial disruption, 500 disruption, 600
            // security event. Let's Debug reports 300 and up.
            let fix = if s.status_code >= 300 {
                format!(
                    "third-party data (Let's Encrypt status page, letsencrypt.status.io): \"{}\" since {}: \
                     validation or issuance may fail for reasons outside this domain; wait for the incident \
                     to end before retrying, and read the status page for details",
                    s.status, s.updated
                )
            } else {
                format!(
                    "third-party data (Let's Encrypt status page, letsencrypt.status.io): \"{}\": nothing to do",
                    s.status
                )
            };
            out.findings.push(info(
                FindingCode::LeStatus,
                first,
                vec![format!(
                    "Let's Encrypt status page (third-party data): {} (code {}), updated {}",
                    s.status, s.status_code, s.updated
                )],
                fix,
            ));
        }
        Err(e) => out.notes.push(format!(
            "--online-context: Let's Encrypt status page unreachable ({e}); skipped"
        )),
    }
    let week_ago = now - chrono::Duration::days(7);
    for ((reg, ids), rows) in domains.iter().zip(crt) {
        let rows = match rows {
            Ok(r) => r,
            Err(e) => {
                out.notes.push(format!(
                    "--online-context: crt.sh unreachable for {reg} ({e}); skipped"
                ));
                continue;
            }
        };
        // A precertificate and its certificate share a serial: count each serial once.
        let mut serials: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for r in rows.iter().filter(|r| {
            r.issuer_name.contains("Let's Encrypt")
                && parse_time(&r.not_before).is_some_and(|t| t >= week_ago)
        }) {
            let names: BTreeSet<String> = r
                .name_value
                .lines()
                .map(|l| l.trim().to_ascii_lowercase())
                .filter(|l| !l.is_empty())
                .collect();
            serials
                .entry(r.serial_number.clone())
                .or_default()
                .extend(names);
        }
        let total = serials.len();
        let wanted: BTreeSet<String> = ids.iter().cloned().collect();
        let duplicates = serials.values().filter(|s| **s == wanted).count();
        let mut evidence = vec![format!(
            "crt.sh (third-party data): {total} Let's Encrypt certificate(s) for {reg} in the last 7 days \
             (limit {PER_DOMAIN_LIMIT} per registered domain)"
        )];
        evidence.push(format!(
            "crt.sh (third-party data): {duplicates} for exactly {{{}}} (limit {DUPLICATE_LIMIT} per exact set)",
            ids.join(", ")
        ));
        let near = total * 5 >= PER_DOMAIN_LIMIT * 4 || duplicates + 1 >= DUPLICATE_LIMIT;
        let fix = if near {
            format!(
                "third-party data (Certificate Transparency via crt.sh): {reg} is at or near a Let's Encrypt rate \
                 limit; a new certificate may be refused until older ones fall out of the 7-day window. Renewals \
                 of an existing certificate are exempt from the per-domain limit (ARI or the same names); avoid \
                 requesting the same set of names again, and test with the staging environment"
            )
        } else {
            format!(
                "third-party data (Certificate Transparency via crt.sh): {reg} is well below Let's Encrypt's rate \
                 limits: nothing to do"
            )
        };
        out.findings
            .push(info(FindingCode::RateLimitContext, &ids[0], evidence, fix));
    }
    out
}

fn parse_time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f"))
        .ok()
        .map(|t| t.and_utc())
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crt_times_and_query_escaping() {
        assert!(parse_time("2026-12-01T10:00:00").is_some());
        assert!(parse_time("2026-12-01T10:00:00.123").is_some());
        assert_eq!(url_escape("%.example.com"), "%25.example.com");
    }
}
