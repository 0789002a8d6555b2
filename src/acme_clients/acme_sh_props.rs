//! Property tests for the acme.sh reader: `parse_shell_assignments`, which reads domain confs
//! with POSIX shell quoting without running a shell, and `read_conf` on mutated copies of the
//! fixture conf. Beyond "never panics": a value written with either of the shell's quoting styles
//! reads back exactly, only well-formed variable names are returned, and a conf that reads yields
//! one-line warnings while one that does not yields a one-line `ReadError`.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::{parse_shell_assignments, read_conf};
use crate::proptest_support::{apply, edits, is_one_clean_line};

/// The fixture conf (ECC layout, three names, a DNS API mode).
const CONF: &str = include_str!("../../tests/fixtures/acme_sh/example.test_ecc/example.test.conf");

/// Shell syntax and the keys `read_conf` looks at, for insertion by the mutator.
const TOKENS: &[&str] = &[
    "'",
    "\"",
    "\\",
    "'\\''",
    "$",
    "`",
    "=",
    " ",
    "\t",
    "\n",
    "\r\n",
    "#",
    ",",
    ":",
    "export ",
    "Le_Domain=",
    "Le_Alt=",
    "Le_Webroot=",
    "Le_API=",
    "Le_Alt='no'\n",
    "Le_Webroot='/var/www:nginx:no:dns_cf:alpn:stateless:dns:apache'\n",
    "Le_API='https://acme-staging-v02.api.letsencrypt.org/directory'\n",
    "Le_API='letsencrypt_test'\n",
    "*.",
    "..",
    "ü",
    "\u{0}",
    "\u{1b}",
];

/// A shell variable name.
fn name() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,12}"
}

/// Writes `value` in single quotes, closing and reopening them around each `'` (`'it'\''s'`).
fn single_quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// Writes `value` in double quotes with the four characters that need it backslash-escaped.
fn double_quoted(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

proptest! {
    /// Any text: never panics; only well-formed names, and at most one assignment per line.
    #[test]
    fn prop_acme_sh_assignments_arbitrary_text(
        text in prop_oneof![any::<String>(), "[A-Za-z_0-9='\"\\\\ \n$`#]{0,80}"],
    ) {
        let vars = parse_shell_assignments(&text);
        prop_assert!(vars.len() <= text.lines().count());
        for (name, value) in &vars {
            let mut chars = name.chars();
            prop_assert!(chars.next().is_some_and(|c| c == '_' || c.is_ascii_alphabetic()), "{name:?}");
            prop_assert!(chars.all(|c| c == '_' || c.is_ascii_alphanumeric()), "{name:?}");
            prop_assert!(!value.contains('\n'));
        }
    }

    /// Any one-line value, quoted either way (and optionally exported), reads back exactly, and
    /// the assignments around it are unaffected.
    #[test]
    fn prop_acme_sh_assignments_round_trip(
        name in name(),
        value in "[^\n]{0,40}",
        double in any::<bool>(),
        export in any::<bool>(),
        comment in any::<bool>(),
    ) {
        let quoted = if double { double_quoted(&value) } else { single_quoted(&value) };
        let export = if export { "export " } else { "" };
        let comment = if comment { "  # note" } else { "" };
        let text = format!("Before=1\n{export}{name}={quoted}{comment}\nAfter='2'\n");
        let vars = parse_shell_assignments(&text);
        let want = vec![
            ("Before".to_owned(), "1".to_owned()),
            (name, value),
            ("After".to_owned(), "2".to_owned()),
        ];
        prop_assert_eq!(vars, want, "text {:?}", text);
    }

    /// Mutated copies of the fixture conf, read as `--acme-sh` reads them: never panic, and
    /// every message the user may see is one line.
    #[test]
    fn prop_acme_sh_read_conf_mutated(e in edits(TOKENS)) {
        let text = apply(CONF, &e);
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/acme_sh");
        let tmp = tempfile::tempdir().unwrap();
        let domain_dir: PathBuf = tmp.path().join("example.test_ecc");
        std::fs::create_dir(&domain_dir).unwrap();
        std::fs::copy(
            fixtures.join("example.test_ecc/example.test.cer"),
            domain_dir.join("example.test.cer"),
        )
        .unwrap();
        let conf = domain_dir.join("example.test.conf");
        std::fs::write(&conf, &text).unwrap();
        // The fixture home supplies the CA account confs the server resolves to.
        match read_conf(&fixtures, &conf, "example.test") {
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
