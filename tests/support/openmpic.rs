//! A fake Open MPIC endpoint (API spec v3.5.0, the subset `mpic-check` uses) for tests of the
//! Open MPIC engine. It speaks hand-written HTTP/1.1 on a tokio listener in 127/8 (one request
//! per connection, then `Connection: close`), reads requests with the one reader
//! [`super::wire`], and behaves like the reference deployments where the engine must cope with
//! them: the API key is checked (403 with API Gateway's body for a wrong key, the containers'
//! 401 for [`Answer::Unauthorized`], which even echoes the key back), requests the spec does not
//! allow are refused with its 400 `validation_issues` shape, and anything but `POST …/mpic` is a
//! 404. An accepted request gets the configured [`Answer`]: a fixture body, garbage, an oversized
//! body, silence, or [`Answer::Echo`], a successful answer with a chosen string in every field a
//! server fills.
//!
//! Synchronous API like the other servers: [`FakeOpenMpic`] runs on its own thread (see
//! [`super::ServerThread`]) and stops when dropped. Every request is logged for assertions.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use super::wire::{self, ReadError};
use super::{ServerThread, assert_loopback};

/// The API key the fake accepts unless [`Setup::key`] says otherwise.
pub const KEY: &str = "mpic-KEY-5b0f6c1e9a7d4e2f8c3b1a0d";
/// The engine reads at most 1 MiB; an oversized answer is this much larger.
const OVERSIZE: usize = (1 << 20) + 4096;
const E403: &str = include_str!("../fixtures/openmpic/error-403-forbidden.json");
const E400: &str = include_str!("../fixtures/openmpic/error-400-validation.json");

/// What an accepted request (right key, valid per the spec) is answered with.
#[derive(Debug, Clone)]
pub enum Answer {
    /// 200 with this body.
    Body(String),
    /// The containers' 401 for any key, echoing the key back as a careless one might.
    Unauthorized,
    /// 200 with an HTML error page and a terminal escape: not JSON at all.
    Garbage,
    /// 200 with more than 1 MiB, with or without a `Content-Length`.
    Huge { length: bool },
    /// Nothing for this long, then the CAA fixture's shape with an empty perspective list.
    Slow(Duration),
    /// 200 with a valid, completed answer to exactly the check asked for, carrying this string
    /// in every field a server fills (see [`echo_response`]).
    Echo(String),
}

/// What the fake does; given to [`FakeOpenMpic::start`].
#[derive(Debug, Clone)]
pub struct Setup {
    answer: Answer,
    key: String,
}

impl Setup {
    /// Accepts [`KEY`] and answers accepted requests with `answer`.
    pub fn new(answer: Answer) -> Setup {
        Setup {
            answer,
            key: KEY.to_owned(),
        }
    }

    /// Accepts [`KEY`] and answers 200 with `body`.
    pub fn body(body: &str) -> Setup {
        Setup::new(Answer::Body(body.to_owned()))
    }

    /// Accepts [`KEY`] and answers every accepted request with a successful result that carries
    /// `s` in every server-filled field (perspective codes and RIRs, errors, CAA values, HTTP
    /// URLs, pages, addresses and headers, TXT values and names, echoed parameters).
    pub fn echo(s: &str) -> Setup {
        Setup::new(Answer::Echo(s.to_owned()))
    }

    /// The only API key accepted.
    pub fn key(mut self, key: &str) -> Self {
        self.key = key.to_owned();
        self
    }
}

/// One request as received, with the status it got.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    /// The `x-api-key` header.
    pub key: Option<String>,
    /// The body as JSON (`null` when it was not JSON).
    pub body: Value,
    pub status: u16,
}

/// A running fake endpoint; stops when dropped.
pub struct FakeOpenMpic {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    _thread: ServerThread,
}

impl FakeOpenMpic {
    /// Serves `setup` on `ip` (127/8) with an ephemeral port.
    pub fn start(ip: IpAddr, setup: Setup) -> FakeOpenMpic {
        assert_loopback(ip);
        let listener = std::net::TcpListener::bind((ip, 0)).expect("bind the fake Open MPIC");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("local addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let setup = Arc::new(setup);
        let thread = ServerThread::spawn(&format!("openmpic-{addr}"), move || async move {
            let listener = TcpListener::from_std(listener).expect("register listener");
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        tokio::spawn(serve(stream, setup.clone(), log.clone()));
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        });
        FakeOpenMpic {
            addr,
            seen,
            _thread: thread,
        }
    }

    /// The endpoint URL with `path` (e.g. `"/"`, `"/prod/mpic"`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn serve(mut s: TcpStream, setup: Arc<Setup>, log: Arc<Mutex<Vec<Seen>>>) {
    let mut buf = Vec::new();
    let req = match wire::read_request(&mut s, &mut buf, wire::DEFAULT_LIMITS).await {
        Ok(r) => r,
        Err(ReadError::Gone) => return,
        Err(ReadError::Reject(status)) => {
            let _ = write(&mut s, status, b"{}", true).await;
            return;
        }
    };
    let key = req.header("x-api-key").map(str::to_owned);
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let path = req.target.clone();
    let (status, text, length, delay) = answer(&setup, &req.method, &path, key.as_deref(), &body);
    log.lock().unwrap().push(Seen {
        path,
        key,
        body,
        status,
    });
    tokio::time::sleep(delay).await;
    let _ = write(&mut s, status, &text, length).await;
}

/// (status, body, whether to send `Content-Length`, delay before answering).
fn answer(
    setup: &Setup,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: &Value,
) -> (u16, Vec<u8>, bool, Duration) {
    let now = |status, text: Vec<u8>| (status, text, true, Duration::ZERO);
    if method != "POST" || !path.ends_with("/mpic") {
        return now(404, br#"{"message":"Not Found"}"#.to_vec());
    }
    if matches!(setup.answer, Answer::Unauthorized) {
        let m = json!({"detail": format!("Invalid API key {}", key.unwrap_or_default())});
        return now(401, m.to_string().into_bytes());
    }
    if key != Some(setup.key.as_str()) {
        return now(403, E403.as_bytes().to_vec());
    }
    if let Err(why) = validate(body) {
        let mut e: Value = serde_json::from_str(E400).unwrap();
        e["validation_issues"][0]["message"] = json!(why);
        return now(400, e.to_string().into_bytes());
    }
    match &setup.answer {
        Answer::Body(b) => now(200, b.as_bytes().to_vec()),
        Answer::Garbage => now(
            200,
            b"<html><body>502 Bad Gateway</body></html>\x1b[31m".to_vec(),
        ),
        Answer::Huge { length } => {
            let mut b = br#"{"is_valid": true, "pad": ""#.to_vec();
            b.resize(OVERSIZE, b'x');
            b.extend_from_slice(br#""}"#);
            (200, b, *length, Duration::ZERO)
        }
        Answer::Slow(d) => (
            200,
            br#"{"is_valid": true, "perspectives": []}"#.to_vec(),
            true,
            *d,
        ),
        Answer::Echo(s) => now(200, echo_response(body, s).to_string().into_bytes()),
        Answer::Unauthorized => unreachable!("answered above"),
    }
}

async fn write(s: &mut TcpStream, status: u16, body: &[u8], length: bool) -> std::io::Result<()> {
    let mut head =
        format!("HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nConnection: close\r\n");
    if length {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).await?;
    s.write_all(body).await?;
    s.shutdown().await
}

/// A valid, completed, passing answer to `request` in which every string a server fills is `s`.
/// Two perspectives cover both shapes deployments send: the spec example's flat one with a
/// string `perspective_code`, and the schema's nested `check_response` with a `perspective`
/// object (code and RIR). The HTTP-01 page is `s` as is in one and base64-encoded (as the
/// reference checker sends it) in the other. Only what the answer needs to stay a success keeps
/// its meaning: booleans, counts, status and response codes, `check_type` and the CAA record's
/// flags and tag.
pub fn echo_response(request: &Value, s: &str) -> Value {
    let check_type = request["check_type"].as_str().unwrap_or("caa");
    let method = request
        .pointer("/dcv_check_parameters/validation_method")
        .and_then(Value::as_str)
        .unwrap_or("");
    let b64 = base64::engine::general_purpose::STANDARD.encode(s);
    let details = |page: &str| match (check_type, method) {
        ("dcv", "acme-http-01") => json!({
            "validation_method": s,
            "response_history": [{"response_status_code": 301, "response_url": s, "url": s}],
            "response_url": s,
            "response_status_code": 200,
            "response_page": page,
            "resolved_ip": s,
            "response_headers": {"server": s, "x-echo": s},
        }),
        ("dcv", _) => json!({
            "validation_method": s,
            "found_at": s,
            "records_seen": [s],
            "response_code": 0,
            "ad_flag": true,
            "cname_chain": [s],
        }),
        _ => json!({
            "caa_record_present": true,
            "found_at": s,
            "records_seen": [format!("0 issue \"{s}\""), s],
        }),
    };
    let errors = json!([{"error_type": s, "error_message": s}, s]);
    let flat = json!({
        "perspective_code": s,
        "check_passed": true,
        "check_completed": true,
        "timestamp_ns": 1,
        "errors": errors,
        "check_type": check_type,
        "details": details(s),
    });
    let nested = json!({
        "perspective": {"code": s, "rir": s},
        "check_response": {
            "check_passed": true,
            "check_completed": true,
            "timestamp_ns": 2,
            "errors": errors,
            "check_type": check_type,
            "details": details(&b64),
        },
    });
    let mut v = json!({
        "domain_or_ip_target": s,
        "is_valid": true,
        "mpic_completed": true,
        "check_type": check_type,
        "trace_identifier": s,
        "request_orchestration_parameters": null,
        "actual_orchestration_parameters": {
            "perspective_count": 2,
            "quorum_count": 1,
            "attempt_count": 1,
        },
        "perspectives": [flat, nested],
        "previous_attempt_results": null,
    });
    if check_type == "dcv" {
        v["dcv_check_parameters"] = json!({
            "validation_method": method,
            "token": s,
            "key_authorization": s,
            "key_authorization_hash": s,
        });
    } else {
        v["caa_check_parameters"] = json!({"certificate_type": s, "caa_domains": [s]});
    }
    v
}

/// The request schema of the spec (`CAAParams`, `DCVParams`), as far as the engine uses it.
pub fn validate(v: &Value) -> Result<(), String> {
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
                if p.get("caa_domains")
                    .is_some_and(|d| !d.as_array().is_some_and(|a| a.iter().all(Value::is_string)))
                {
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
