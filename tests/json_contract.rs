//! The JSON contract, checked independently of the crate's own types: real `--format json`,
//! `--format jsonl` and `--save` output of end-to-end runs is deserialised into structs written
//! here from `docs/json.md`, every one with unknown fields denied and every documented field
//! required (nullable ones may be `null` but must be present). Parsing output back into the
//! `model::Report` it was serialised from cannot catch a renamed or dropped field, because both
//! sides change together; these structs do not change with the code, so such a change fails here
//! until the document (and, if incompatible, `schema_version`) is updated on purpose.
//!
//! Closed vocabularies (roles, checks, phases, outcomes, severities, RIRs, CAA decisions, finding
//! codes) are enums or lists here too, so a new or renamed value is a contract change as well.

// Most fields are here to be required and type-checked by deserialisation, not read afterwards.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};

use crate::e2e::{geo_zone, lab, plain_zone};
use crate::support::dns::Zone;
use crate::support::http::{Block, Site};
use crate::support::lo;

/// A field that is documented as always present but may be `null`. Plain `Option` fields are
/// filled with `None` by serde when missing, which would let a dropped field through.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    Option::<T>::deserialize(d)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    schema_version: u32,
    tool: Tool,
    started_at: String,
    duration_ms: u64,
    policy: Policy,
    ca: String,
    outcome: Outcome,
    exit_code: u8,
    perspectives: Vec<Perspective>,
    identifiers: Vec<Identifier>,
    findings: Vec<Finding>,
    coverage: Vec<Coverage>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tool {
    name: String,
    version: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Policy {
    name: PolicyName,
    remotes_required: u32,
    allowed_failures: u32,
    rirs_required: u32,
    as_of: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum PolicyName {
    Br,
    Letsencrypt,
    Custom,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Outcome {
    Pass,
    AtRisk,
    Fail,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Role {
    Primary,
    Remote,
    Source,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
enum Rir {
    Arin,
    Ripe,
    Apnic,
    Lacnic,
    Afrinic,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Perspective {
    name: String,
    role: Role,
    #[serde(deserialize_with = "nullable")]
    rir: Option<Rir>,
    dns: String,
    http: String,
    #[serde(default)]
    nameserver: Option<String>,
    #[serde(default)]
    location: Option<[f64; 2]>,
    #[serde(default)]
    dns_provenance: Option<Provenance>,
    #[serde(default)]
    http_provenance: Option<Provenance>,
}

/// docs/json.md "Provenance objects".
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum Provenance {
    ThisHost,
    ThisHostEcs {
        subnet: String,
    },
    RemoteResolver {
        resolver: String,
    },
    Proxy {
        proxy: String,
        #[serde(default)]
        egress: Option<String>,
    },
    GlobalpingProbe {
        location: String,
        #[serde(default)]
        city: Option<String>,
        #[serde(default)]
        country: Option<String>,
        #[serde(default)]
        asn: Option<u64>,
    },
    OpenMpic {
        perspective_code: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum VerdictReach {
    Measured,
    Emulated,
    Untested,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
enum Check {
    #[serde(rename = "address")]
    Address,
    #[serde(rename = "caa")]
    Caa,
    #[serde(rename = "dns-01")]
    Dns01,
    #[serde(rename = "http-01")]
    Http01,
    #[serde(rename = "soa")]
    Soa,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
enum Method {
    #[serde(rename = "http-01")]
    Http01,
    #[serde(rename = "dns-01")]
    Dns01,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Phase {
    Dns,
    Connect,
    Tls,
    Proxy,
    Http,
    Timeout,
    Protocol,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Identifier {
    name: String,
    methods: Vec<Method>,
    outcome: Outcome,
    verdicts: Vec<Verdict>,
    observations: Vec<Observation>,
    ca: String,
    #[serde(default)]
    certificate: Option<Certificate>,
    #[serde(default)]
    acme_dry_run: Option<Box<DryRun>>,
}

/// `--acme-dry-run`: the CA's verdict for the name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DryRun {
    server: String,
    status: DryRunStatus,
    #[serde(default)]
    challenge: Option<String>,
    #[serde(default)]
    problem: Option<serde_json::Value>,
    #[serde(default)]
    validation_records: Vec<serde_json::Value>,
    #[serde(default)]
    error: Option<String>,
    summary: String,
    #[serde(default)]
    agrees: Option<bool>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
enum DryRunStatus {
    Valid,
    Invalid,
    Error,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Certificate {
    client: String,
    lineage: String,
    source: String,
    authenticator: String,
    #[serde(deserialize_with = "nullable")]
    not_after: Option<String>,
    #[serde(deserialize_with = "nullable")]
    days_left: Option<i64>,
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Verdict {
    check: Check,
    outcome: Outcome,
    corroborating: u32,
    remotes: u32,
    required: u32,
    rirs: Vec<Rir>,
    primary_ok: bool,
    corroborating_perspectives: Vec<String>,
    dissenting_perspectives: Vec<String>,
    explanation: String,
    #[serde(default)]
    next_phase: Option<String>,
    reach: VerdictReach,
    #[serde(default)]
    from_this_host: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Observation {
    perspective: String,
    check: Check,
    #[serde(deserialize_with = "nullable")]
    address: Option<String>,
    ok: bool,
    #[serde(deserialize_with = "nullable")]
    phase: Option<Phase>,
    perspective_fault: bool,
    summary: String,
    elapsed_ms: u64,
    signature: String,
    #[serde(default)]
    addresses: Option<Vec<String>>,
    #[serde(default)]
    dns: Option<Vec<DnsExchange>>,
    #[serde(default)]
    http: Option<Http>,
    #[serde(default)]
    caa: Option<Caa>,
    #[serde(default)]
    txt: Option<Vec<String>>,
    #[serde(default)]
    probe: Option<Probe>,
    #[serde(default)]
    refused: Option<Vec<Refused>>,
    #[serde(default)]
    ns_capped: Option<NsCapped>,
    #[serde(default)]
    connect_failure: Option<ConnectFailure>,
    #[serde(default)]
    provenance: Option<Provenance>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum ConnectFailure {
    Refused,
    Reset,
    Unreachable,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Refused {
    address: String,
    range: String,
    what: String,
    from: RefusedFrom,
    #[serde(default)]
    host: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RefusedFrom {
    Address,
    Redirect,
    Nameserver,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NsCapped {
    zone: String,
    names: usize,
    names_asked: usize,
    addresses_left_out: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DnsExchange {
    qname: String,
    qtype: String,
    server: String,
    #[serde(deserialize_with = "nullable")]
    rcode: Option<String>,
    aa: bool,
    ad: bool,
    answers: Vec<Rr>,
    cname_chain: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    negative_ttl: Option<u32>,
    #[serde(deserialize_with = "nullable")]
    ecs: Option<String>,
    #[serde(deserialize_with = "nullable")]
    ecs_scope: Option<u8>,
    elapsed_ms: u64,
    #[serde(deserialize_with = "nullable")]
    error: Option<String>,
    #[serde(default)]
    ede: Option<String>,
    /// Absent when 0.
    #[serde(default)]
    retransmits: Option<u32>,
    /// Absent when false.
    #[serde(default)]
    diagnostic: Option<bool>,
    /// Absent when false.
    #[serde(default)]
    reused: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rr {
    name: String,
    #[serde(rename = "type")]
    rtype: String,
    ttl: u32,
    data: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Http {
    url: String,
    via: String,
    user_agent: String,
    hops: Vec<Hop>,
    #[serde(deserialize_with = "nullable")]
    status: Option<u16>,
    #[serde(deserialize_with = "nullable")]
    body_prefix: Option<String>,
    #[serde(deserialize_with = "nullable")]
    body_len: Option<u64>,
    #[serde(deserialize_with = "nullable")]
    body_sha256: Option<String>,
    body_truncated: bool,
    #[serde(default)]
    alt_user_agent: Option<AltUserAgent>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Hop {
    url: String,
    #[serde(deserialize_with = "nullable")]
    address: Option<String>,
    #[serde(deserialize_with = "nullable")]
    status: Option<u16>,
    #[serde(deserialize_with = "nullable")]
    location: Option<String>,
    headers: Vec<(String, String)>,
    elapsed_ms: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AltUserAgent {
    user_agent: String,
    #[serde(deserialize_with = "nullable")]
    status: Option<u16>,
    summary: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum CaaDecision {
    Permit,
    Forbid,
    Error,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Caa {
    #[serde(deserialize_with = "nullable")]
    found_at: Option<String>,
    records: Vec<CaaRecord>,
    decision: CaaDecision,
    reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaaRecord {
    flags: u8,
    tag: String,
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Probe {
    #[serde(deserialize_with = "nullable")]
    before_status: Option<u16>,
    #[serde(deserialize_with = "nullable")]
    rewrite_status: Option<u16>,
    rewrite_matched: bool,
    rewrite_stale: bool,
    rewrite_summary: String,
    #[serde(default)]
    cached_404: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Severity {
    Info,
    Warning,
    Error,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Finding {
    code: String,
    severity: Severity,
    identifier: String,
    perspectives: Vec<String>,
    evidence: Vec<String>,
    fix: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Coverage {
    failure_mode: String,
    tested: bool,
    why: String,
}

/// `--format jsonl`: one line per identifier, then a summary line.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum Line {
    Identifier {
        schema_version: u32,
        identifier: Identifier,
        findings: Vec<Finding>,
    },
    Summary {
        schema_version: u32,
        tool: Tool,
        started_at: String,
        duration_ms: u64,
        policy: Policy,
        ca: String,
        perspectives: Vec<Perspective>,
        identifiers: usize,
        interrupted: bool,
        outcomes: BTreeMap<String, usize>,
        outcome: Outcome,
        exit_code: u8,
        engine_problems: Vec<String>,
    },
}

/// `--save FILE`: the input of the analysis.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Saved {
    schema_version: u32,
    started_at: String,
    duration_ms: u64,
    run: SavedRun,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedRun {
    perspectives: Vec<Perspective>,
    ca: String,
    identifiers: Vec<SavedIdentifier>,
    http_vantages: usize,
    expect_txt: Vec<String>,
    #[serde(default)]
    probe_problem: Option<String>,
    smime: bool,
    #[serde(default)]
    engine_problems: Vec<String>,
    #[serde(default)]
    config_problems: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedIdentifier {
    name: String,
    methods: Vec<Method>,
    observations: Vec<Observation>,
    ca: String,
    #[serde(default)]
    certificate: Option<Certificate>,
    #[serde(default)]
    engine_verdicts: Vec<String>,
    #[serde(default)]
    unfinished: Vec<String>,
}

/// Every documented finding code: the catalogue itself (docs/findings.md and the README table
/// are held to it by tests/docs.rs).
fn documented(code: &str) -> bool {
    mpic_check::model::FindingCode::ALL
        .iter()
        .any(|c| c.as_str() == code)
}

/// Holds `bytes` to the committed JSON Schema `docs/schema/<file>` (generated from the output
/// types; a unit test keeps the file equal to what the types generate), so a consumer that
/// validates with the published schema accepts every document the suite sees.
pub fn against_schema(file: &str, what: &str, bytes: &[u8]) {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static VALIDATORS: OnceLock<Mutex<HashMap<String, std::sync::Arc<jsonschema::Validator>>>> =
        OnceLock::new();
    let validator = {
        let mut map = VALIDATORS.get_or_init(Default::default).lock().unwrap();
        map.entry(file.to_string())
            .or_insert_with(|| {
                let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("docs/schema")
                    .join(file);
                let schema: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
                std::sync::Arc::new(jsonschema::validator_for(&schema).unwrap())
            })
            .clone()
    };
    let value: serde_json::Value = strict(what, bytes);
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .take(5)
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not validate against docs/schema/{file}: {errors:#?}"
    );
}

fn strict<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> T {
    serde_json::from_slice(bytes).unwrap_or_else(|e| {
        panic!(
            "{what} breaks the documented contract: {e}\n{}",
            String::from_utf8_lossy(bytes)
        )
    })
}

/// Runs `--format json` on the lab and holds the document to the contract.
fn document(lab: &crate::e2e::Lab, args: &[&str]) -> Document {
    let out = lab
        .cmd()
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let doc: Document = strict("--format json", &out.stdout);
    check_document(&doc, out.status.code().unwrap());
    every_failure_has_a_finding(&strict::<serde_json::Value>("--format json", &out.stdout));
    doc
}

/// Holds any `--format json` output of another test module to the contract.
pub fn contract(bytes: &[u8], code: i32) {
    against_schema("report.schema.json", "--format json", bytes);
    let doc: Document = strict("--format json", bytes);
    check_document(&doc, code);
    every_failure_has_a_finding(&strict::<serde_json::Value>("--format json", bytes));
}

/// Every name whose outcome is not `pass`, and every name with a verdict that is not `pass`,
/// carries at least one finding for that name with evidence and a fix (README: every non-pass
/// outcome has a cause). Takes the parsed document, so any test that ran `--format json` can
/// hold its output to it (`crate::e2e::Lab::json` does).
pub fn every_failure_has_a_finding(doc: &serde_json::Value) {
    let findings = doc["findings"].as_array().cloned().unwrap_or_default();
    for id in doc["identifiers"].as_array().into_iter().flatten() {
        let name = id["name"].as_str().unwrap_or_default();
        let not_pass: Vec<String> = std::iter::once(&id["outcome"])
            .chain(
                id["verdicts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    // A check made only from this host is not a failure: its verdict says
                    // "not tested from other regions" and the coverage line names the remedy.
                    .filter(|v| v["reach"] != "untested")
                    .map(|v| &v["outcome"]),
            )
            .filter_map(|o| o.as_str())
            .filter(|o| *o != "pass")
            .map(str::to_string)
            .collect();
        if not_pass.is_empty() {
            continue;
        }
        let with_cause = findings.iter().any(|f| {
            f["identifier"] == name
                && f["fix"].as_str().is_some_and(|x| !x.trim().is_empty())
                && f["evidence"].as_array().is_some_and(|e| {
                    !e.is_empty()
                        && e.iter()
                            .all(|l| l.as_str().is_some_and(|l| !l.trim().is_empty()))
                })
        });
        if with_cause {
            continue;
        }
        let summaries: Vec<&str> = id["observations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|o| o["ok"] == false)
            .filter_map(|o| o["summary"].as_str())
            .collect();
        // No exceptions: dns-01 without --expect-txt (the last one) is `txt-not-judged`.
        panic!(
            "{name} is {not_pass:?} without a finding that has evidence and a fix: {summaries:#?}; verdicts: {}",
            id["verdicts"]
        );
    }
}

/// What the document promises beyond its shape.
fn check_document(doc: &Document, code: i32) {
    assert_eq!(doc.schema_version, 1);
    assert_eq!(doc.tool.name, "mpic-check");
    assert_eq!(
        i32::from(doc.exit_code),
        code,
        "exit_code is the exit status"
    );
    assert!(doc.started_at.ends_with('Z') && doc.started_at.contains('T'));
    assert!(!doc.ca.is_empty());
    for f in &doc.findings {
        assert!(documented(&f.code), "undocumented code {}", f.code);
    }
    for c in &doc.coverage {
        assert!(
            documented(&c.failure_mode),
            "undocumented failure mode {}",
            c.failure_mode
        );
    }
    let names: Vec<&str> = doc.perspectives.iter().map(|p| p.name.as_str()).collect();
    for id in &doc.identifiers {
        for o in &id.observations {
            assert!(names.contains(&o.perspective.as_str()), "{}", o.perspective);
        }
    }
}

fn codes(doc: &Document) -> Vec<&str> {
    doc.findings.iter().map(|f| f.code.as_str()).collect()
}

#[test]
fn healthy_run_matches_the_documented_json() {
    let lab = lab(plain_zone(), |_| Site::new());
    let doc = document(&lab, &["www.example.test"]);
    assert_eq!(doc.outcome, Outcome::Pass);
    let id = &doc.identifiers[0];
    let has = |c: Check| id.observations.iter().any(|o| o.check == c);
    assert!(has(Check::Address) && has(Check::Caa) && has(Check::Http01));
    // The optional objects this run is known to produce were seen and checked.
    assert!(id.observations.iter().any(|o| o.http.is_some()));
    assert!(id.observations.iter().any(|o| o.caa.is_some()));
    assert!(id.observations.iter().any(|o| o.dns.is_some()));
    assert!(id.observations.iter().any(|o| o.addresses.is_some()));
}

#[test]
fn failing_run_with_findings_matches_the_documented_json() {
    // GeoDNS plus a region refused with 403: findings with evidence.
    let lab1 = lab(geo_zone(), |_| {
        Site::new().block_source(lo(0, 0, 4), Block::Status(403))
    });
    let doc = document(&lab1, &["www.example.test"]);
    let c = codes(&doc);
    assert!(c.contains(&"geodns-divergence"), "{c:?}");
    assert!(c.contains(&"http-geoblocked"), "{c:?}");

    // Two regions refused: the quorum is missed.
    let lab2 = lab(plain_zone(), |_| {
        Site::new()
            .block_source(lo(0, 0, 4), Block::Status(403))
            .block_source(lo(0, 0, 5), Block::Status(403))
    });
    let doc = document(&lab2, &["www.example.test"]);
    assert_eq!(doc.outcome, Outcome::Fail);
    assert!(
        doc.identifiers[0]
            .verdicts
            .iter()
            .any(|v| !v.dissenting_perspectives.is_empty())
    );
}

#[test]
fn caa_and_txt_facts_match_the_documented_json() {
    let zone = Zone::new("test")
        .caa("example.test", 128, "tbs", "unknown")
        .caa("example.test", 0, "issue", "letsencrypt.org")
        .a("www.example.test", crate::e2e::ORIGIN_DEFAULT)
        .txt("_acme-challenge.www.example.test", "seen-value");
    let lab = lab(zone, |_| Site::new());
    let doc = document(
        &lab,
        &[
            "-m",
            "dns-01",
            "--expect-txt",
            "wanted-value",
            "www.example.test",
        ],
    );
    let id = &doc.identifiers[0];
    let caa = id
        .observations
        .iter()
        .find_map(|o| o.caa.as_ref())
        .expect("a CAA object");
    assert_eq!(caa.decision, CaaDecision::Forbid, "{caa:?}");
    assert!(caa.records.iter().any(|r| r.flags == 128));
    assert!(
        id.observations
            .iter()
            .any(|o| o.check == Check::Dns01 && o.txt.is_some())
    );
    assert!(codes(&doc).contains(&"caa-critical-unknown"), "{doc:?}");
}

#[test]
fn perspective_failures_match_the_documented_json() {
    // One dead proxy: a tool failure, blamed on the perspective.
    let lab = lab(plain_zone(), |_| Site::new());
    let text = std::fs::read_to_string(&lab.config).unwrap();
    std::fs::write(
        &lab.config,
        text.replace(&lab.proxies[3].url(false), "socks5://127.0.31.9:9"),
    )
    .unwrap();
    let doc = document(&lab, &["www.example.test"]);
    assert!(codes(&doc).contains(&"perspective-error"));
    assert!(doc.identifiers[0].observations.iter().any(|o| {
        o.perspective_fault && o.phase == Some(Phase::Proxy) && o.signature.starts_with("error:")
    }));

    // Every perspective dead: still a complete document, outcome unknown.
    let mut dead = std::fs::read_to_string(&lab.config).unwrap();
    for p in &lab.proxies {
        dead = dead.replace(&p.url(false), "socks5://127.0.31.9:9");
    }
    std::fs::write(&lab.config, dead).unwrap();
    let doc = document(&lab, &["www.example.test"]);
    assert_eq!(doc.outcome, Outcome::Unknown);
    assert_eq!(doc.exit_code, 3);
}

#[test]
fn jsonl_lines_match_the_documented_shape() {
    let lab = lab(geo_zone(), |_| Site::new());
    let out = lab
        .cmd()
        .args(["--format", "jsonl", "www.example.test", "example.test"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Line> = text
        .lines()
        .map(|l| {
            against_schema("jsonl.schema.json", "a --format jsonl line", l.as_bytes());
            strict("a --format jsonl line", l.as_bytes())
        })
        .collect();
    assert_eq!(lines.len(), 3, "{text}");
    let names: Vec<&str> = lines
        .iter()
        .filter_map(|l| match l {
            Line::Identifier { identifier, .. } => Some(identifier.name.as_str()),
            Line::Summary { .. } => None,
        })
        .collect();
    assert_eq!(names, ["www.example.test", "example.test"]);
    match lines.last().unwrap() {
        Line::Summary {
            identifiers,
            exit_code,
            outcomes,
            ..
        } => {
            assert_eq!(*identifiers, 2);
            assert_eq!(i32::from(*exit_code), out.status.code().unwrap());
            assert_eq!(outcomes.values().sum::<usize>(), 2);
        }
        other => panic!("last line is not the summary: {other:?}"),
    }
}

#[test]
fn saved_run_matches_the_documented_shape() {
    let lab = lab(geo_zone(), |_| {
        Site::new().block_source(lo(0, 0, 4), Block::Status(403))
    });
    let saved = lab.dir.path().join("run.json");
    let out = lab
        .cmd()
        .args(["--format", "json", "--save"])
        .arg(&saved)
        .arg("www.example.test")
        .output()
        .unwrap();
    let _: Document = strict("--format json", &out.stdout);
    let file: Saved = strict("--save", &std::fs::read(&saved).unwrap());
    assert_eq!(file.schema_version, 1);
    assert_eq!(file.run.identifiers.len(), 1);
    assert!(!file.run.identifiers[0].observations.is_empty());
}
