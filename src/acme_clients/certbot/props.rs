//! Property tests for the certbot reader: the configobj parser behind `--certbot` and the whole
//! `read_conf` on mutated renewal confs. Renewal confs are written by certbot but edited by hand,
//! restored from backups and truncated by full disks, so any text can arrive. Beyond "never
//! panics": a configobj document generated from a known tree parses back to that tree, a parse
//! error names a line that exists and is one line, and a conf that reads yields warnings of one
//! line each (as `ManagedCert::warnings` promises) while a conf that does not yields a one-line
//! `ReadError`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::{Section, Value, parse_configobj, read_conf};
use crate::proptest_support::{apply, edits, is_one_clean_line};

/// The fixture renewal confs, with the lineage each belongs to (its file name).
const CONFS: &[(&str, &str)] = &[
    (
        "example.test",
        include_str!("../../../tests/fixtures/certbot/renewal/example.test.conf"),
    ),
    (
        "web.example.test",
        include_str!("../../../tests/fixtures/certbot/renewal/web.example.test.conf"),
    ),
    (
        "manual.example.test",
        include_str!("../../../tests/fixtures/certbot/renewal/manual.example.test.conf"),
    ),
    (
        "nginx.example.test",
        include_str!("../../../tests/fixtures/certbot/renewal/nginx.example.test.conf"),
    ),
    (
        "wildweb.example.test",
        include_str!("../../../tests/fixtures/certbot/renewal/wildweb.example.test.conf"),
    ),
    (
        "missing.example.test",
        include_str!("../../../tests/fixtures/certbot/renewal/missing.example.test.conf"),
    ),
    (
        "broken.example.test",
        include_str!("../../../tests/fixtures/certbot/renewal/broken.example.test.conf"),
    ),
];

/// configobj syntax and the keys `read_conf` looks at, for insertion by the mutator.
const TOKENS: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "[renewalparams]\n",
    "[[webroot_map]]\n",
    "=",
    " = ",
    ",",
    "#",
    "'",
    "\"",
    "'''",
    "\"\"\"",
    "'''\n",
    "\n",
    "\r",
    "\t",
    "..",
    "/",
    "authenticator = webroot\n",
    "authenticator = manual\n",
    "authenticator = dns-ovh\n",
    "pref_challs = dns-01, http-01,\n",
    "webroot_path = /var/www,\n",
    "cert = ",
    "cert = live/example.test/cert.pem\n",
    "config_dir = /etc/letsencrypt\n",
    "account = ",
    "server = https://acme-v02.api.letsencrypt.org/directory\n",
    "server = http://[::1]:99/../x\n",
    "*.example.test = /w\n",
    "xn--bcher-kva.example.test",
    "\u{0}",
    "\u{1b}",
    "ü",
];

/// One value as configobj would hold it, with text that survives a write-out.
fn value() -> impl Strategy<Value = Value> {
    // Plain text has no quote, comma or `#`, and no surrounding blanks, which configobj trims.
    let plain = "([a-zA-Z0-9/._:+@=*-]([a-zA-Z0-9/._:+@=* -]{0,16}[a-zA-Z0-9/._:+@=*-])?)?";
    // Quoted text may hold anything but its own quote and a line break.
    let quoted = "[^\"\n]{0,16}";
    let item = prop_oneof!["[a-zA-Z0-9/._:+@=*-]{1,12}", quoted];
    prop_oneof![
        3 => plain.prop_map(Value::Str),
        2 => quoted.prop_map(Value::Str),
        2 => prop::collection::vec(item, 0..4).prop_map(Value::List),
        // Triple-quoted values span lines; the first line must not end in blanks, which the
        // line trim would eat before the value is seen.
        1 => prop::collection::vec("[a-z0-9#,=\\[\\]\"]([a-z0-9 #,=\\[\\]\"]{0,8}[a-z0-9#,=\\[\\]\"])?", 1..4)
            .prop_map(|lines| Value::Str(lines.join("\n"))),
    ]
}

/// Keys and values of one section; keys are unique, as configobj requires.
fn values() -> impl Strategy<Value = BTreeMap<String, Value>> {
    let key = prop_oneof!["[a-z_][a-z0-9_.*-]{0,10}", "[a-z =#,\\[]{1,8}"];
    prop::collection::btree_map(key, value(), 0..5)
}

/// A section tree up to three levels deep, with unique section names.
fn section() -> impl Strategy<Value = Section> {
    let leaf = values().prop_map(|v| Section {
        values: v.into_iter().collect(),
        sections: Vec::new(),
    });
    leaf.prop_recursive(3, 12, 3, |inner| {
        (
            values(),
            prop::collection::btree_map("[a-z0-9_.-]{1,10}", inner, 0..3),
        )
            .prop_map(|(v, s)| Section {
                values: v.into_iter().collect(),
                sections: s.into_iter().collect(),
            })
    })
}

/// Writes `section` as configobj text: keys first, then each subsection one level deeper.
fn render(section: &Section, depth: usize, out: &mut String) {
    for (k, v) in &section.values {
        let key = if k
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.*-".contains(&b))
        {
            k.clone()
        } else {
            format!("\"{k}\"")
        };
        let text = match v {
            Value::Str(s) if s.contains('\n') => format!("'''{s}'''"),
            Value::Str(s) => quote(s),
            Value::List(items) if items.is_empty() => ",".to_owned(),
            Value::List(items) if items.len() == 1 => format!("{},", quote(&items[0])),
            Value::List(items) => items
                .iter()
                .map(|i| quote(i))
                .collect::<Vec<_>>()
                .join(", "),
        };
        out.push_str(&format!("{key} = {text}\n"));
    }
    for (name, sub) in &section.sections {
        let (open, close) = ("[".repeat(depth), "]".repeat(depth));
        out.push_str(&format!("{open}{name}{close}\n"));
        render(sub, depth + 1, out);
    }
}

/// Quotes text that plain configobj syntax cannot carry as is, with a quote it does not contain
/// (configobj has no escapes; the strategies never combine both quotes in one value).
fn quote(s: &str) -> String {
    let plain = !s.is_empty() && !s.contains([',', '#', '"', '\'']) && s.trim() == s;
    if plain {
        s.to_owned()
    } else if !s.contains('"') {
        format!("\"{s}\"")
    } else {
        format!("'{s}'")
    }
}

/// A parse error must read `line N: …` with N a line of `text`, and be one line.
fn check_parse_error(text: &str, e: &str) -> Result<(), TestCaseError> {
    prop_assert!(!e.contains('\n'), "multi-line error {e:?}");
    let n: usize = e
        .strip_prefix("line ")
        .and_then(|r| r.split(':').next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| TestCaseError::fail(format!("no line number in {e:?}")))?;
    prop_assert!(
        n >= 1 && n <= text.lines().count(),
        "line {n} of {text:?}: {e}"
    );
    Ok(())
}

/// The fixture config dir, which holds the certificates the confs point to.
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/certbot")
}

proptest! {
    /// Any text: never panics; an error names an existing line and is one line.
    #[test]
    fn prop_certbot_configobj_arbitrary_text(
        text in prop_oneof![any::<String>(), "[\\[\\]=,#'\" a-z\n]{0,80}"],
    ) {
        if let Err(e) = parse_configobj(&text) {
            check_parse_error(&text, &e)?;
        }
    }

    /// A document written from a tree parses back to that tree.
    #[test]
    fn prop_certbot_configobj_round_trip(tree in section()) {
        let mut text = String::new();
        render(&tree, 1, &mut text);
        prop_assert_eq!(parse_configobj(&text), Ok(tree), "text:\n{}", text);
    }

    /// Mutated fixture confs, read as `--certbot` reads them: never panic, and every message
    /// the user may see is one line.
    #[test]
    fn prop_certbot_read_conf_mutated(
        (lineage, seed) in prop::sample::select(CONFS),
        e in edits(TOKENS),
    ) {
        let text = apply(seed, &e);
        if let Err(err) = parse_configobj(&text) {
            check_parse_error(&text, &err)?;
        }
        let tmp = tempfile::tempdir().unwrap();
        let conf = tmp.path().join(format!("{lineage}.conf"));
        std::fs::write(&conf, &text).unwrap();
        match read_conf(&fixtures(), &conf) {
            Ok(cert) => {
                prop_assert!(!cert.names.is_empty());
                for w in &cert.warnings {
                    prop_assert!(!w.contains('\n'), "multi-line warning {w:?}");
                }
            }
            Err(err) => prop_assert!(is_one_clean_line(&err.to_string()), "{err}"),
        }
    }
}
