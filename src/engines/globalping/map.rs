//! Finished Globalping results → the same `Observation` facts local perspectives produce: DNS
//! tests become exchanges (answers, CNAME chain, rcode, the EDE dig printed), HTTP tests become
//! hops and a final judgement made by the local HTTP-01 rules. Everything taken from a probe is
//! escaped here, since the probe and its network are not ours.

use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use super::api::{Fault, Measured};
use super::{PROBE_BODY_LIMIT_TEXT, PROBE_USER_AGENT};
use crate::checks::blank;
use crate::checks::http01::hex;
use crate::observation::{
    Check, ConnectFailure, DnsExchange, Ede, HttpFacts, HttpHop, Observation, Phase, Provenance,
    Rr, Signature,
};
use crate::perspective::LookupFailure;
use crate::text::escape_bytes;

pub(super) use crate::checks::http01::HEADERS_OF_INTEREST;

/// How an HTTP-01 chain through Globalping ended.
#[derive(Debug)]
pub(super) enum HttpEnd {
    /// A final (non-redirect) response.
    Final {
        status: u16,
        body: Vec<u8>,
        truncated: bool,
        url: String,
    },
    /// A redirect a CA would not follow.
    Refused(String),
    /// The probe could not fetch: phase, message, whether it is the probe's own fault, and how
    /// the connection failed when it did.
    Failed(Phase, String, bool, Option<ConnectFailure>),
    /// The API failed.
    Fault(Fault),
}

pub(super) fn http_observation(
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
        HttpEnd::Failed(phase, msg, fault, kind) => {
            o.phase = Some(phase);
            o.connect_failure = kind;
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

/// A probe failure of an HTTP test, classified like local fetch errors. Only `internal`
/// failures are the probe's own; refusals and timeouts are what this region sees.
pub(super) fn http_failure(r: &Value) -> (Phase, String, bool, Option<ConnectFailure>) {
    let raw = r.get("rawOutput").and_then(Value::as_str).unwrap_or("");
    let line = first_line(raw);
    let lower = raw.to_ascii_lowercase();
    if r.get("failureSource").and_then(Value::as_str) == Some("internal") {
        (
            Phase::Proxy,
            format!("the Globalping probe failed internally: {line}"),
            true,
            None,
        )
    } else if ["timeout", "timed out", "etimedout"]
        .iter()
        .any(|s| lower.contains(s))
    {
        (
            Phase::Timeout,
            format!("Timeout during connect (likely firewall problem): {line}"),
            false,
            None,
        )
    } else if ["econnrefused", "refused"]
        .iter()
        .any(|s| lower.contains(s))
    {
        // The probe's raw output is the only record of why its connection failed: read once here
        // into a typed kind, so nothing downstream reads the message.
        (
            Phase::Connect,
            format!("Connection refused: {line}"),
            false,
            Some(ConnectFailure::Refused),
        )
    } else if ["econnreset", "reset"].iter().any(|s| lower.contains(s)) {
        (
            Phase::Connect,
            format!("Connection failed: {line}"),
            false,
            Some(ConnectFailure::Reset),
        )
    } else if ["ehostunreach", "enetunreach"]
        .iter()
        .any(|s| lower.contains(s))
    {
        (
            Phase::Connect,
            format!("Connection failed: {line}"),
            false,
            Some(ConnectFailure::Unreachable),
        )
    } else if ["enotfound", "eai_again", "getaddrinfo"]
        .iter()
        .any(|s| lower.contains(s))
    {
        (
            Phase::Dns,
            format!("the probe could not resolve the name: {line}"),
            false,
            None,
        )
    } else if ["tls", "ssl", "certificate", "handshake"]
        .iter()
        .any(|s| lower.contains(s))
    {
        (Phase::Tls, format!("TLS failed: {line}"), false, None)
    } else {
        (
            Phase::Http,
            format!("the fetch failed: {line}"),
            false,
            None,
        )
    }
}

/// One DNS test as an exchange, and why it is not a usable answer when it is not.
pub(super) fn dns_outcome(
    qname: &str,
    qtype: &str,
    m: &Measured,
) -> (DnsExchange, Option<LookupFailure>) {
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
        retransmits: 0,
        diagnostic: false,
        reused: false,
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
pub(super) fn describe_probe(p: &Value) -> String {
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

/// Where a Globalping measurement was made: the location asked for and the probe that answered
/// (its city, country and ASN as the API reported them, escaped: the API's text is not ours).
pub(super) fn probe_provenance(location: &str, p: &Value) -> Provenance {
    let s = |k: &str| {
        p.get(k)
            .and_then(Value::as_str)
            .map(|v| escape_bytes(v.as_bytes()))
    };
    Provenance::GlobalpingProbe {
        location: location.to_string(),
        city: s("city"),
        country: s("country"),
        asn: p.get("asn").and_then(Value::as_u64),
    }
}

pub(super) fn probe_suffix(probe: Option<&str>) -> String {
    probe
        .map(|p| format!(" [Globalping probe {p}]"))
        .unwrap_or_default()
}

/// Response headers as lower-case name and value; arrays (repeated headers) joined with ", ".
pub(super) fn response_headers(r: &Value) -> Vec<(String, String)> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DNS_A: &str = include_str!("../../../tests/fixtures/globalping/measurement-dns-a.json");

    fn fixture(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
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
}
