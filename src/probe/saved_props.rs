//! Property tests for the replay reader (`--replay FILE`): a saved run is read with serde, analysed
//! by `report::build` and rendered, all without the network, so the file is the only input — and
//! it may be old, hand-edited, truncated or crafted. Starting from real saved runs (written by the
//! binary with `--save` in the e2e and hostile suites, kept in tests/fixtures/replay), each case
//! drops fields and array items, changes numbers, strings and types, copies one part of the tree
//! over another, or cuts the text. For every input that still deserializes, the analysis and every
//! renderer must not panic, and each output keeps its format's promise: the JSON is the report,
//! the Nagios status is one line with one `|`, the Prometheus file has only well-formed lines and
//! no series twice, the HTML has no script, no raw control or bidi-override character, and the
//! terminal table cannot be made to emit escape sequences other than its own colours.

use std::collections::HashSet;
use std::time::Duration;

use chrono::NaiveDate;
use proptest::prelude::*;
use serde_json::{Number, Value};

use super::SavedRun;
use crate::analysis::quorum::Policy;
use crate::config::PolicyName;
use crate::exit::FailOn;
use crate::model::{Outcome, Report, SCHEMA_VERSION};
use crate::proptest_support::{At, cases, scale};
use crate::report::{self, Style};

/// Real `--save` output: http-01 with one region blocked by the origin, and dns-01 with an
/// expected TXT value.
const SAVED: &[&str] = &[
    include_str!("../../tests/fixtures/replay/http01-one-region-blocked.json"),
    include_str!("../../tests/fixtures/replay/dns01-expected-txt.json"),
];

/// Words the saved-run schema gives meaning to, so a changed string often still deserializes
/// (into another enum variant or another verdict) instead of only being refused.
const WORDS: &[&str] = &[
    "primary",
    "remote",
    "source",
    "ARIN",
    "RIPE",
    "APNIC",
    "LACNIC",
    "AFRINIC",
    "address",
    "caa",
    "dns-01",
    "http-01",
    "soa",
    "dns",
    "connect",
    "tls",
    "proxy",
    "http",
    "timeout",
    "protocol",
    "permit",
    "forbid",
    "error",
    "none",
    "pass",
    "at-risk",
    "fail",
    "unknown",
    "NOERROR",
    "NXDOMAIN",
    "SERVFAIL",
    "REFUSED",
    "A",
    "AAAA",
    "CAA",
    "TXT",
    "CNAME",
    "system",
    "direct",
    "authoritative",
    "letsencrypt.org",
    "www.example.test",
    "*.example.test",
    "example.test",
    "127.0.20.1",
    "::1",
    "udp://127.0.0.1:53",
    "socks5://u:p@127.0.0.1:1080",
    "2026-11-28T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "",
    " ",
];

/// Text that attacks a renderer: terminal escapes, markup, line breaks, bidi overrides, the
/// Nagios perfdata separator, Prometheus label syntax.
const HOSTILE: &[&str] = &[
    "\u{1b}[2J\u{1b}[31mred",
    "\u{1b}]0;title\u{7}",
    "<script>alert(1)</script>",
    "<SCRIPT src=//x>",
    "\"><img src=x onerror=alert(1)>",
    "a\nb",
    "a\r\nMPIC OK - fake",
    "\u{202e}moc.elpmaxe",
    "\u{2066}x\u{2069}",
    "x | y=1;;;0",
    "'quoted'",
    "\"} 1\nmpic_check_fake{a=\"",
    "\\",
    "\u{0}\u{7f}\u{85}\u{9b}",
    "ü中文\u{301}",
];

/// A replacement scalar, chosen to hit the limits of the integer fields (u8 flags, u16 statuses,
/// u32 TTLs, u64 durations) as well as signs, fractions and huge values.
fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        4 => (0u64..2000).prop_map(Number::from),
        1 => prop::sample::select(&[255u64, 256, 65_535, 65_536, 4_294_967_295, 4_294_967_296, u64::MAX][..])
            .prop_map(Number::from),
        1 => (i64::MIN..0).prop_map(Number::from),
        1 => prop::sample::select(&[0.5f64, -0.0, 1e300, -1e-300, 1234.5678][..])
            .prop_map(|f| Number::from_f64(f).expect("finite")),
    ]
}

/// A replacement string.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(WORDS).prop_map(str::to_owned),
        2 => prop::sample::select(HOSTILE).prop_map(str::to_owned),
        2 => any::<String>().prop_map(|s| s.chars().take(40).collect()),
        1 => (1usize..5000).prop_map(|n| "x".repeat(n)),
    ]
}

/// A replacement of any JSON type, for type confusion.
fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number().prop_map(Value::Number),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(&["name", "ok", "x", "check", "perspective"][..])
                    .prop_map(str::to_owned),
                inner,
                0..3
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One change to the document. Positions are fractions of the current node count (see `scale`),
/// so the nodes a mutation can reach include those earlier mutations created.
#[derive(Debug, Clone)]
enum Mutation {
    /// Drop an object member or an array item (a missing field, a lost observation).
    Remove(At),
    /// Change a scalar within its type: another number, another string, the other bool; a
    /// `null` becomes a string (most nullable fields are optional strings).
    Tweak(At, Number, String),
    /// Replace a node with a value of any type.
    Retype(At, Value),
    /// Overwrite a node with a copy of another (a whole observation where a string was, two
    /// identifiers with the same data).
    Copy { to: At, from: At },
    /// Repeat an array item (the same perspective or identifier twice).
    Duplicate(At),
    /// Empty an array or object.
    Clear(At),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => any::<At>().prop_map(Mutation::Remove),
        6 => (any::<At>(), number(), text()).prop_map(|(a, n, t)| Mutation::Tweak(a, n, t)),
        1 => (any::<At>(), any_value()).prop_map(|(a, v)| Mutation::Retype(a, v)),
        2 => (any::<At>(), any::<At>()).prop_map(|(to, from)| Mutation::Copy { to, from }),
        2 => any::<At>().prop_map(Mutation::Duplicate),
        1 => any::<At>().prop_map(Mutation::Clear),
    ]
}

/// A step from a node to one of its children.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Item(usize),
}

/// Every node's path, parents before children; the root is the empty path.
fn paths(v: &Value) -> Vec<Vec<Step>> {
    fn walk(v: &Value, here: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
        out.push(here.clone());
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    here.push(Step::Key(k.clone()));
                    walk(child, here, out);
                    here.pop();
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    here.push(Step::Item(i));
                    walk(child, here, out);
                    here.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

fn node_mut<'a>(mut v: &'a mut Value, path: &[Step]) -> &'a mut Value {
    for step in path {
        v = match (v, step) {
            (Value::Object(m), Step::Key(k)) => m.get_mut(k).expect("path from paths()"),
            (Value::Array(a), Step::Item(i)) => &mut a[*i],
            _ => unreachable!("path from paths()"),
        };
    }
    v
}

/// Applies one mutation; a mutation that does not fit the node it lands on does nothing.
fn mutate(doc: &mut Value, m: &Mutation) {
    let all = paths(doc);
    let pick = |at: At| all[scale(at, all.len())].clone();
    match m {
        Mutation::Remove(at) => {
            let path = pick(*at);
            if let Some((last, parent)) = path.split_last() {
                match (node_mut(doc, parent), last) {
                    (Value::Object(o), Step::Key(k)) => {
                        o.remove(k);
                    }
                    (Value::Array(a), Step::Item(i)) => {
                        a.remove(*i);
                    }
                    _ => {}
                }
            }
        }
        Mutation::Tweak(at, n, t) => {
            let node = node_mut(doc, &pick(*at));
            *node = match node {
                Value::Number(_) => Value::Number(n.clone()),
                Value::String(_) | Value::Null => Value::String(t.clone()),
                Value::Bool(b) => Value::Bool(!*b),
                Value::Array(a) => {
                    a.truncate(a.len() / 2);
                    return;
                }
                Value::Object(_) => return,
            };
        }
        Mutation::Retype(at, v) => *node_mut(doc, &pick(*at)) = v.clone(),
        Mutation::Copy { to, from } => {
            let value = node_mut(doc, &pick(*from)).clone();
            *node_mut(doc, &pick(*to)) = value;
        }
        Mutation::Duplicate(at) => {
            if let Value::Array(a) = node_mut(doc, &pick(*at))
                && let Some(first) = a.first().cloned()
            {
                a.push(first);
            }
        }
        Mutation::Clear(at) => match node_mut(doc, &pick(*at)) {
            Value::Array(a) => a.clear(),
            Value::Object(o) => o.clear(),
            _ => {}
        },
    }
}

/// What the replay gets to read: a mutated saved run, or a cut-off one.
#[derive(Debug, Clone)]
enum Input {
    Mutated(Vec<Mutation>),
    Truncated(At),
}

fn input() -> impl Strategy<Value = (usize, Input)> {
    (
        0..SAVED.len(),
        prop_oneof![
            9 => prop::collection::vec(mutation(), 1..6).prop_map(Input::Mutated),
            1 => any::<At>().prop_map(Input::Truncated),
        ],
    )
}

/// The text of the file the replay reads.
fn file_text(seed: &str, input: &Input) -> String {
    match input {
        Input::Mutated(ms) => {
            let mut doc: Value = serde_json::from_str(seed).expect("fixture is JSON");
            for m in ms {
                mutate(&mut doc, m);
            }
            serde_json::to_string_pretty(&doc).expect("a Value serializes")
        }
        Input::Truncated(at) => {
            let cut = scale(*at, seed.len() + 1);
            let cut = (0..=cut)
                .rev()
                .find(|&i| seed.is_char_boundary(i))
                .unwrap_or(0);
            seed[..cut].to_owned()
        }
    }
}

/// The policies a replay may be asked for (`--policy`, `--as-of`, `--remotes`, `--quorum`).
fn policy() -> impl Strategy<Value = Policy> {
    let date = prop::sample::select(&["2025-01-01", "2026-03-15", "2026-11-28", "2029-06-01"][..])
        .prop_map(|d| d.parse::<NaiveDate>().expect("date"));
    let name =
        prop::sample::select(&[PolicyName::Br, PolicyName::Letsencrypt, PolicyName::Custom][..]);
    (name, date, 1usize..7, 1usize..7).prop_map(|(name, date, n, q)| {
        Policy::named(name, date, Some(n), Some(q.min(n))).expect("valid policy")
    })
}

/// Characters no renderer may let through from a report: C0/C1 controls other than the line
/// break and tab, which would let a replayed string rewrite a terminal or a web page.
fn stray_control(s: &str) -> Option<char> {
    s.chars()
        .find(|&c| c.is_control() && c != '\n' && c != '\t')
}

/// Renders `r` in every format and checks each format's promise.
fn check_renderings(r: &Report) -> Result<(), TestCaseError> {
    // JSON: the document is the report, nothing more or less.
    let mut out = Vec::new();
    report::json::render(r, &mut out)?;
    let parsed: Value =
        serde_json::from_slice(&out).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(parsed, serde_json::to_value(r).expect("report serializes"));

    // Nagios: one status line with exactly one perfdata separator, then one line per evidence
    // line of each finding (one for a finding without evidence), unless the long-output budget
    // cut it short and said so on a last line.
    let mut out = Vec::new();
    report::nagios::render(r, &mut out)?;
    let text = String::from_utf8(out).expect("UTF-8");
    let lines: Vec<&str> = text
        .strip_suffix('\n')
        .unwrap_or(&text)
        .split('\n')
        .collect();
    let expected: usize = 1 + r
        .findings
        .iter()
        .map(|f| f.evidence.len().max(1))
        .sum::<usize>();
    if lines.last().is_some_and(|l| l.starts_with("... ")) {
        prop_assert!(lines.len() <= expected, "{:?}", text);
    } else {
        prop_assert_eq!(lines.len(), expected, "{:?}", text);
    }
    prop_assert!(lines[0].starts_with("MPIC "), "{:?}", lines[0]);
    prop_assert_eq!(lines[0].matches('|').count(), 1, "{:?}", lines[0]);
    for l in &lines[1..] {
        prop_assert!(!l.contains('|'), "{:?}", l);
    }
    prop_assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{:?}",
        text
    );

    // Prometheus: HELP, TYPE and samples only, and no series twice (the textfile collector
    // drops a whole file for one duplicate).
    let mut out = Vec::new();
    report::prometheus::render(r, &mut out)?;
    let text = String::from_utf8(out).expect("UTF-8");
    prop_assert!(text.ends_with('\n'));
    let mut series = HashSet::new();
    for l in text.lines() {
        if l.starts_with("# HELP mpic_check_") || l.starts_with("# TYPE mpic_check_") {
            continue;
        }
        prop_assert!(l.starts_with("mpic_check_"), "stray line {:?}", l);
        let (key, value) = l.rsplit_once(' ').expect("sample has a value");
        prop_assert!(value.parse::<f64>().is_ok(), "value {:?}", value);
        prop_assert!(series.insert(key.to_owned()), "series twice: {:?}", key);
    }

    // HTML: no script, no raw control or bidi override characters.
    let mut out = Vec::new();
    report::html::render(r, &mut out)?;
    let html = String::from_utf8(out).expect("UTF-8");
    prop_assert!(html.starts_with("<!DOCTYPE html>"));
    prop_assert!(html.trim_end().ends_with("</html>"));
    prop_assert!(!html.to_ascii_lowercase().contains("<script"));
    prop_assert_eq!(stray_control(&html), None);
    prop_assert!(
        !html
            .chars()
            .any(|c| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')),
        "bidi override in the HTML"
    );

    // Table: without colour no escape at all; with colour only its own SGR sequences.
    for (color, width, verbose) in [(false, 100, false), (false, 40, true), (true, 73, true)] {
        let mut out = Vec::new();
        report::table::render(
            r,
            Style {
                color,
                width,
                verbose,
            },
            &mut out,
        )?;
        let text = String::from_utf8(out).expect("UTF-8");
        let rest = if color {
            strip_sgr(&text)?
        } else {
            text.clone()
        };
        prop_assert_eq!(stray_control(&rest), None, "{:?}", text);
    }
    Ok(())
}

/// Removes `ESC [ digits/semicolons m` sequences; any other escape is an error.
fn strip_sgr(text: &str) -> Result<String, TestCaseError> {
    let mut out = String::with_capacity(text.len());
    let mut parts = text.split('\u{1b}');
    out.push_str(parts.next().unwrap_or(""));
    for p in parts {
        let body = p
            .strip_prefix('[')
            .ok_or_else(|| TestCaseError::fail(format!("raw ESC before {p:?}")))?;
        let end = body
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .filter(|&i| body[i..].starts_with('m'))
            .ok_or_else(|| TestCaseError::fail(format!("not an SGR sequence: {p:?}")))?;
        out.push_str(&body[end + 1..]);
    }
    Ok(out)
}

proptest! {
    #![proptest_config(cases(64))]

    /// Mutated and truncated saved runs: whatever deserializes is analysed and rendered in
    /// every format without a panic, and every output keeps its format's promise.
    #[test]
    fn prop_replay_mutated_saved_runs((seed, input) in input(), policy in policy()) {
        let text = file_text(SAVED[seed], &input);
        // What `replay` does before it analyses: refuse what is not a saved run of this schema.
        let Ok(saved) = serde_json::from_str::<SavedRun>(&text) else {
            return Ok(());
        };
        if saved.schema_version != SCHEMA_VERSION {
            return Ok(());
        }
        let started = chrono::DateTime::parse_from_rfc3339(&saved.started_at)
            .map(|d| d.with_timezone(&chrono::Utc))
            .unwrap_or_default();
        let (r, _) = report::build::build(
            &saved.run,
            &policy,
            started,
            Duration::from_millis(saved.duration_ms),
            FailOn::Warning,
        );

        prop_assert_eq!(r.identifiers.len(), saved.run.identifiers.len());
        let worst = r.identifiers.iter().map(|i| i.outcome).reduce(Outcome::worst);
        prop_assert_eq!(r.outcome, worst.unwrap_or(Outcome::Unknown));
        check_renderings(&r)?;
    }
}

#[test]
fn the_saved_fixtures_replay_unchanged() {
    // The fixtures must deserialize as they are, or the mutations start from nothing.
    for text in SAVED {
        let saved: SavedRun = serde_json::from_str(text).unwrap();
        assert_eq!(saved.schema_version, SCHEMA_VERSION);
        assert!(!saved.run.identifiers.is_empty());
    }
}
