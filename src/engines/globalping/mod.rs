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

mod api;
pub mod flag;
mod map;

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures::future::join_all;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue};
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use crate::checks::http01::{BODY_LIMIT, MAX_REDIRECTS};
use crate::checks::{blank, broken, fail_with};
use crate::config::engine::Location;
use crate::config::redact_url;
use crate::observation::{Check, HttpHop, Observation, Phase, Signature};
use crate::perspective::LookupFailure;
use crate::perspective::http::error_text;
use crate::text::escape_bytes;

use api::{
    API_USER_AGENT, FIRST_POLL, Fault, Pin, authoritative_options, dns_options, http_options,
};
use map::{
    HEADERS_OF_INTEREST, HttpEnd, describe_probe, dns_outcome, http_failure, http_observation,
    probe_suffix, response_headers,
};

/// The User-Agent every probe sends; it cannot be changed (`User-Agent` is a reserved header).
pub const PROBE_USER_AGENT: &str = "globalping probe (https://github.com/jsdelivr/globalping)";
/// Probes return only the first 10 KB of a body.
pub const PROBE_BODY_LIMIT_TEXT: &str = "10 KB";

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
    /// The probe that answered each location (its metadata as the API reported it), for the
    /// observations' provenance: a location's measurements are pinned to one probe.
    answered_by: std::sync::Mutex<Vec<Option<Value>>>,
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
        let pins: Vec<_> = locations.iter().map(|_| Mutex::new(Pin::Unset)).collect();
        Ok(Globalping {
            client,
            base,
            token,
            locations,
            timeout,
            first_poll: FIRST_POLL,
            answered_by: std::sync::Mutex::new(vec![None; pins.len()]),
            pins,
            problems: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Where location `idx`'s measurements were made: the location asked for and, once a probe
    /// answered, its city, country and ASN.
    fn provenance(&self, idx: usize) -> crate::observation::Provenance {
        let seen = self
            .answered_by
            .lock()
            .ok()
            .and_then(|v| v.get(idx).cloned().flatten())
            .unwrap_or(Value::Null);
        map::probe_provenance(&self.locations[idx].spec.to_string(), &seen)
    }

    /// Records the probe that answered location `idx`.
    fn answered(&self, idx: usize, probe: &Value) {
        if let Ok(mut v) = self.answered_by.lock()
            && let Some(slot) = v.get_mut(idx)
            && slot.is_none()
            && probe.is_object()
        {
            *slot = Some(probe.clone());
        }
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

    /// The name's A record asked from each location's probe directly of each of the zone's
    /// authoritative nameserver addresses (at most [`flag::MAX_AUTH_SERVERS`]), with the DNS
    /// measurement's `resolver` and `port` options. A provider that refuses queries from some
    /// regions refuses the probe there, as it would refuse a CA's resolver in that region; asking
    /// only through the probe's own recursive resolver would hide that behind the resolver's
    /// location. The API has no switch to clear the RD bit, so the question is the same one a
    /// recursive resolver sends minus that flag; authoritative servers answer it either way.
    /// Returns (location index, nameserver name, address, observation) in location order; the
    /// observation is named [`Globalping::authoritative_name`] and is an address check.
    pub async fn authoritative(
        &self,
        name: &str,
        servers: &[(String, SocketAddr)],
    ) -> Vec<(usize, String, SocketAddr, Observation)> {
        let deadline = Instant::now() + self.timeout;
        let servers: Vec<&(String, SocketAddr)> =
            servers.iter().take(flag::MAX_AUTH_SERVERS).collect();
        let mut work = Vec::new();
        for i in 0..self.locations.len() {
            for (ns, addr) in &servers {
                let (ns, addr) = (ns.clone(), *addr);
                let who = self.authoritative_name(i, &ns, addr);
                work.push(async move {
                    let start = Instant::now();
                    let fut = self.authoritative_one(i, name, &ns, addr, &who, deadline);
                    let mut o = match tokio::time::timeout_at(deadline, fut).await {
                        Ok(o) => o,
                        Err(_) => broken(
                            &who,
                            Check::Address,
                            "Globalping gave no final result in time: this nameserver was not asked from this location",
                            Phase::Timeout,
                        ),
                    };
                    o.elapsed_ms = start.elapsed().as_millis() as u64;
                    o.provenance = Some(self.provenance(i));
                    o.summary = self.redact(&o.summary);
                    (i, ns, addr, o)
                });
            }
        }
        join_all(work).await
    }

    /// The perspective name of location `idx` asking nameserver `ns` at `addr` directly.
    pub fn authoritative_name(&self, idx: usize, ns: &str, addr: SocketAddr) -> String {
        format!("{} asks {ns}@{}", self.locations[idx].name, addr.ip())
    }

    async fn authoritative_one(
        &self,
        idx: usize,
        name: &str,
        ns: &str,
        addr: SocketAddr,
        who: &str,
        deadline: Instant,
    ) -> Observation {
        let region = format!("{} ({})", self.locations[idx].name, self.locations[idx].rir);
        let m = match self
            .measure(idx, "dns", name, authoritative_options("A", addr), deadline)
            .await
        {
            Ok(m) => m,
            Err(f) => return broken(who, Check::Address, &f.message, f.phase),
        };
        let probe = describe_probe(&m.probe);
        let (mut ex, fail) = dns_outcome(name, "A", &m);
        ex.server = format!("{ns} ({}) asked from Globalping probe {probe}", addr.ip());
        let mut o = blank(who, Check::Address);
        o.addresses = ex
            .answers
            .iter()
            .filter(|r| r.rtype == "A")
            .map(|r| r.data.clone())
            .collect();
        let rcode = ex.rcode.clone();
        o.dns = vec![ex];
        if let Some(f) = fail {
            fail_with(&mut o, &f);
            o.summary = match rcode {
                Some(rc) => format!(
                    "{rc} from the authoritative nameserver {ns} ({}) to a probe in {region} [Globalping probe {probe}]",
                    addr.ip()
                ),
                None => format!("{} [{ns} asked from {region}]", f.message),
            };
            return o;
        }
        o.ok = true;
        o.signature = if o.addresses.is_empty() {
            Signature::NoData
        } else {
            Signature::parse(&o.addresses.join(","))
        };
        o.summary = format!(
            "{ns} ({}) answered a probe in {region}: {} [Globalping probe {probe}]",
            addr.ip(),
            if o.addresses.is_empty() {
                rcode.unwrap_or_else(|| "no A record".into())
            } else {
                o.addresses.join(" ")
            }
        );
        o
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
                o.provenance = Some(self.provenance(i));
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
            let host = crate::text::bare_host(&url);
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
                    let (phase, msg, fault, kind) = http_failure(r);
                    break HttpEnd::Failed(phase, msg, fault, kind);
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
    // The same count as the local check: Boulder follows the 11th redirect, refuses the 12th.
    if crate::checks::http01::redirects_exceeded(hops) {
        return Err(format!(
            "Too many redirects (a CA follows {} at most)",
            MAX_REDIRECTS + 1
        ));
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    //! The configuration checks and an unreachable API (the mapping is tested in `map`).
    //! Everything that needs the API itself runs against the one fake Globalping API in the
    //! integration tests (`tests/globalping_api.rs`).

    use super::*;
    use crate::config::engine::DEFAULT_API_URL;
    use crate::config::engine::LocationSpec;
    use crate::observation::Rir;
    use std::net::SocketAddr;

    use tokio::net::TcpListener;

    #[test]
    fn probes_follow_eleven_redirects_and_refuse_the_twelfth_like_boulder() {
        let url = Url::parse("http://a.example/.well-known/acme-challenge/t").unwrap();
        let seen = HashSet::new();
        let next = |hops| next_hop(&url, 302, Some("http://b.example/x"), &seen, hops);
        assert!(next(11).is_ok(), "the 11th redirect is followed");
        let e = next(12).unwrap_err();
        assert!(
            e.contains("Too many redirects (a CA follows 11 at most)"),
            "{e}"
        );
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
