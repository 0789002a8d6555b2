//! An Open MPIC response → `Observation`s, one per perspective the deployment used. Both shapes
//! deployments send are read (fields under `check_response`, or straight on the perspective),
//! CAA records, HTTP-01 hops and pages, and DNS-01 TXT answers become the same facts local
//! checks produce, and everything the server filled in is escaped here.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::checks::blank;
use crate::checks::http01::hex;
use crate::observation::{
    CaaDecision, CaaFacts, CaaRecord, Check, DnsExchange, HttpFacts, HttpHop, Observation, Phase,
    Rir, Rr, Signature,
};
use crate::text::escape_bytes;

use super::{Ask, MpicResult, PERSPECTIVE_PREFIX};

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
fn region_rir(code: &str) -> Option<Rir> {
    let c = code.trim().to_ascii_lowercase();
    REGION_RIR
        .iter()
        .find(|(r, _)| *r == c)
        .map(|(_, rir)| *rir)
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

pub(super) fn map_response(v: &Value, name: &str, ask: Ask<'_>) -> Result<MpicResult, String> {
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
    o.provenance = Some(crate::observation::Provenance::OpenMpic {
        perspective_code: p.code.clone(),
    });
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
        .and_then(|s| u16::try_from(s).ok())
        .or_else(|| status_from_http_error(&p.errors));
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

/// The status of a non-200 answer, which the real library reports only in its error: for any
/// status but 200, open-mpic-core's `MpicDcvChecker.evaluate_http_lookup_response`
/// (mpic_dcv_checker.py) sets `errors = [mpic_error:http "An HTTP error occurred: Response status
/// 403, Response reason: Forbidden"]` and leaves `details.response_status_code` empty (it fills the
/// details only for a 200). Without this a geoblocking 403 would reach the analysis as a failure
/// with no status, and not as the regional refusal it is.
fn status_from_http_error(errors: &[(String, String)]) -> Option<u16> {
    errors
        .iter()
        .filter(|(t, _)| t == "mpic_error:http")
        .find_map(|(_, m)| {
            let rest = &m[m.find("Response status ")? + "Response status ".len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok().filter(|s| (100..600).contains(s))
        })
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
        retransmits: 0,
        diagnostic: false,
        reused: false,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KEY_AUTH: &str =
        "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0.nIb4z1-9dGkC7sGQKbR8VHBdBQ6GCuY6QK1hVn5nRbQ";

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

    /// A 403 exactly as open-mpic-core 6.5.0 serialises it (`model_dump_json`, taken from the
    /// interop lab's real coordinator): the status is only in the error message.
    #[test]
    fn a_real_library_403_keeps_its_status() {
        let p = parse_perspective(&json!({
            "perspective_code": "eu-west-1",
            "check_response": {
                "check_completed": true, "check_passed": false,
                "errors": [{"error_type": "mpic_error:http",
                            "error_message": "An HTTP error occurred: Response status 403, Response reason: Forbidden"}],
                "timestamp_ns": 1_765_069_000_000_000_000u64, "check_type": "dcv",
                "details": {"validation_method": "acme-http-01", "response_history": null,
                            "response_url": null, "response_status_code": null, "response_page": null}
            }
        }))
        .unwrap();
        let o = observe(
            &p,
            "www.example.com",
            Ask::Http {
                token: "t",
                key_authorization: KEY_AUTH,
            },
        );
        assert!(!o.ok && !o.perspective_fault);
        assert_eq!(o.http.as_ref().and_then(|h| h.status), Some(403));
        assert_eq!(o.signature, Signature::Status(403));
        assert_eq!(
            status_from_http_error(&[("mpic_error:http".into(), "Response status 99x".into())]),
            None
        );
    }
}
