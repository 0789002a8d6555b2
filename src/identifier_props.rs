//! Property tests for `Identifier::parse`, the first thing every user-typed or file-read name goes
//! through. Inputs are arbitrary strings and name-shaped strings assembled from the pieces that
//! trip IDNA and URL handling (Unicode, ideographic dots, `*`, xn-- prefixes, ports, control
//! characters, overlong labels). Beyond "never panics", the properties pin down what the rest of
//! the tool relies on: an accepted name is already canonical (parsing it again, or parsing its
//! Unicode form, gives the same identifier), and a refusal prints as one line.
//!
//! Long run: `PROPTEST_CASES=500000 cargo test --release --lib prop_` (see README, Development).

use proptest::prelude::*;

use super::{Identifier, MAX_LABEL_OCTETS, MAX_NAME_OCTETS};

/// Fragments that each exercise a distinct branch of `normalise`; joined at random they reach
/// combinations a hand-written table would not.
const PIECES: &[&str] = &[
    "a",
    "Z",
    "0",
    "9",
    "-",
    "--",
    "xn--",
    "XN--",
    "xn--bcher-kva",
    "xn--zz",
    "ü",
    "ß",
    "Ü",
    "中文",
    "\u{5D0}",
    "\u{627}",
    "\u{661}",
    "\u{301}",
    "\u{200D}",
    "\u{200C}",
    "\u{AD}",
    "\u{FEFF}",
    "\u{3002}",
    "\u{FF0E}",
    "\u{FF61}",
    "\u{2024}",
    "ﬁ",
    "℡",
    "*",
    "_",
    ".",
    "..",
    "@",
    ":",
    ":443",
    "/",
    "?q",
    "#f",
    "%",
    "[",
    "]",
    "::1",
    "192.0.2.1",
    "0x1f",
    "https://",
    " ",
    "\t",
    "\n",
    "\u{0}",
    "\u{1b}",
    "\u{7f}",
    "\u{85}",
    "\u{2028}",
];

/// Name-shaped input: pieces and plain labels (up to just over the 63-octet limit) joined by dots.
fn name_like() -> impl Strategy<Value = String> {
    let label = prop_oneof![
        4 => "[a-zA-Z0-9]{1,8}",
        2 => prop::collection::vec(prop::sample::select(PIECES), 1..4).prop_map(|p| p.concat()),
        1 => (55usize..70, prop::sample::select(&["a", "ü", "0"][..])).prop_map(|(n, c)| c.repeat(n)),
    ];
    let wildcard = prop_oneof![3 => Just(""), 1 => Just("*."), 1 => Just("*")];
    let trailer = prop_oneof![3 => Just(""), 1 => Just("."), 1 => Just(" ")];
    (wildcard, prop::collection::vec(label, 1..8), trailer)
        .prop_map(|(w, labels, t)| format!("{w}{}{t}", labels.join(".")))
}

/// Either completely arbitrary text or something close to a name.
fn any_input() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), name_like(), "\\PC{0,300}"]
}

/// What every accepted identifier must look like: lower-case A-labels within the DNS limits,
/// a wildcard only as a whole leftmost `*` label, and a name that is already in canonical form.
fn assert_canonical(input: &str, id: &Identifier) -> Result<(), TestCaseError> {
    let name = id.name.as_str();
    if let Some(ip) = id.ip() {
        // An IP identifier (RFC 8738) is its address's canonical text, and re-parses to itself.
        prop_assert_eq!(name, ip.to_string());
        prop_assert!(!id.is_wildcard());
        prop_assert_eq!(&Identifier::parse(name), &Ok(id.clone()));
        return Ok(());
    }
    prop_assert!(
        name.len() <= MAX_NAME_OCTETS,
        "{input:?} -> {name:?} too long"
    );
    prop_assert!(!name.ends_with('.'), "{input:?} -> {name:?} keeps a dot");
    let labels: Vec<&str> = id.base().split('.').collect();
    prop_assert!(labels.len() >= 2, "{input:?} -> {name:?} has one label");
    for l in &labels {
        prop_assert!(
            !l.is_empty() && l.len() <= MAX_LABEL_OCTETS,
            "{input:?}: label {l:?}"
        );
        prop_assert!(
            l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{input:?} -> label {l:?} is not a lower-case LDH label"
        );
        prop_assert!(!l.starts_with('-') && !l.ends_with('-'), "{input:?}: {l:?}");
    }
    // Canonical means idempotent: the stored name, and what users are shown, parse back to it.
    prop_assert_eq!(
        &Identifier::parse(name),
        &Ok(id.clone()),
        "re-parse of {:?}",
        input
    );
    prop_assert_eq!(
        &Identifier::parse(&id.unicode()),
        &Ok(id.clone()),
        "Unicode form {:?} of {:?}",
        id.unicode(),
        input
    );
    // The wildcard prefix is the only `*`, and the challenge name drops it.
    prop_assert_eq!(id.is_wildcard(), name.starts_with("*."));
    prop_assert!(!id.base().contains('*'));
    prop_assert_eq!(
        id.challenge_name(),
        format!("_acme-challenge.{}", id.base())
    );
    Ok(())
}

proptest! {
    /// Never panics; accepted names are canonical; refusals echo the input and are one line.
    #[test]
    fn prop_identifier_parse_total_canonical_one_line(input in any_input()) {
        match Identifier::parse(&input) {
            Ok(id) => assert_canonical(&input, &id)?,
            Err(e) => {
                prop_assert_eq!(&e.input, &input);
                prop_assert!(!e.reason.is_empty());
                let shown = e.to_string();
                // The input is quoted with `{:?}`, so even a pasted newline or ESC stays escaped.
                prop_assert!(
                    !shown.chars().any(char::is_control),
                    "error is not one clean line: {shown:?}"
                );
            }
        }
    }

    /// Two spellings of one name compare equal: case, a trailing dot and surrounding blanks do
    /// not change the identifier (CAA and dns-01 must look up exactly one name).
    #[test]
    fn prop_identifier_spellings_compare_equal(
        input in name_like(),
        upper in prop::collection::vec(any::<bool>(), 0..300),
        dot in any::<bool>(),
        pad in prop::sample::select(&["", " ", "\t", "  \n"][..]),
    ) {
        if let Ok(id) = Identifier::parse(&input) {
            let respelt: String = id
                .name
                .chars()
                .zip(upper.iter().chain(std::iter::repeat(&false)))
                .map(|(c, &u)| if u { c.to_ascii_uppercase() } else { c })
                .collect();
            // A trailing dot is a DNS spelling; an IPv6 address has none.
            let dot = dot && !id.name.contains(':');
            let respelt = format!("{pad}{respelt}{}{pad}", if dot { "." } else { "" });
            prop_assert_eq!(Identifier::parse(&respelt), Ok(id));
        }
    }
}
