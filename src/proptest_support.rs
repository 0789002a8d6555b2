//! Shared pieces of the property tests (`*_props.rs` beside each parser): a text mutator that
//! turns a valid input (a config, a renewal conf) into the near-misses users and editors produce —
//! a deleted quote, a duplicated line, a truncated file, a stray token pasted in the middle — and
//! the case-count setting for the slower properties. Random text alone almost never gets past a
//! parser's first line; mutating a valid file reaches the validation code behind it.
//!
//! Every property test's name contains `prop_`, so `cargo test --lib prop_` selects them all and
//! `PROPTEST_CASES=N` scales them (see README, Development).

use proptest::prelude::*;
use proptest::test_runner::Config;

/// A position as a fraction of whatever length the text has when the edit is applied (0 is the
/// start, `usize::MAX` the end), so that any sequence of edits is valid whatever the previous
/// ones did, and shrinking moves edits towards the start.
pub(crate) type At = usize;

/// Maps `at` onto `0..n`; `n` must not be 0.
pub(crate) fn scale(at: At, n: usize) -> usize {
    ((n as u128 * at as u128) >> usize::BITS) as usize
}

/// One edit of a text.
#[derive(Debug, Clone)]
pub(crate) enum Edit {
    /// Remove up to `len` characters.
    Delete { at: At, len: usize },
    /// Insert text.
    Insert { at: At, text: String },
    /// Replace up to `len` characters with text.
    Replace { at: At, len: usize, text: String },
    /// Cut the text off (a partially written file).
    Truncate { at: At },
    /// Repeat one line (a duplicated key or section).
    DuplicateLine { line: At },
    /// Exchange two lines (a key moved into another section).
    SwapLines { a: At, b: At },
}

/// Edits whose inserted text is either one of `tokens` (syntax of the format at hand) or a short
/// arbitrary string (anything, including control characters and non-ASCII).
pub(crate) fn edits(tokens: &'static [&'static str]) -> impl Strategy<Value = Vec<Edit>> {
    let text = prop_oneof![
        3 => prop::sample::select(tokens).prop_map(str::to_owned),
        1 => any::<String>().prop_map(|s| s.chars().take(12).collect()),
    ];
    let edit = prop_oneof![
        3 => (any::<At>(), 1usize..16).prop_map(|(at, len)| Edit::Delete { at, len }),
        3 => (any::<At>(), text.clone()).prop_map(|(at, text)| Edit::Insert { at, text }),
        3 => (any::<At>(), 1usize..8, text)
            .prop_map(|(at, len, text)| Edit::Replace { at, len, text }),
        1 => any::<At>().prop_map(|at| Edit::Truncate { at }),
        1 => any::<At>().prop_map(|line| Edit::DuplicateLine { line }),
        1 => (any::<At>(), any::<At>()).prop_map(|(a, b)| Edit::SwapLines { a, b }),
    ];
    prop::collection::vec(edit, 1..6)
}

/// Applies the edits in order, on characters so the result stays valid UTF-8.
pub(crate) fn apply(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for edit in edits {
        // An insertion point may also be the very end, hence `n + 1` places.
        let pos = |at: &At, n: usize| scale(*at, n + 1);
        match edit {
            Edit::Delete { at, len } => {
                let start = pos(at, chars.len());
                let end = (start + len).min(chars.len());
                chars.drain(start..end);
            }
            Edit::Insert { at, text } => {
                let start = pos(at, chars.len());
                chars.splice(start..start, text.chars());
            }
            Edit::Replace { at, len, text } => {
                let start = pos(at, chars.len());
                let end = (start + len).min(chars.len());
                chars.splice(start..end, text.chars());
            }
            Edit::Truncate { at } => chars.truncate(pos(at, chars.len())),
            Edit::DuplicateLine { line } | Edit::SwapLines { a: line, .. } => {
                let s: String = chars.iter().collect();
                let mut lines: Vec<&str> = s.split('\n').collect();
                let i = scale(*line, lines.len());
                if let Edit::SwapLines { b, .. } = edit {
                    let j = scale(*b, lines.len());
                    lines.swap(i, j);
                } else {
                    lines.insert(i, lines[i]);
                }
                chars = lines.join("\n").chars().collect();
            }
        }
    }
    chars.into_iter().collect()
}

/// A mutated copy of one of `seeds`.
pub(crate) fn mutated(
    seeds: &'static [&'static str],
    tokens: &'static [&'static str],
) -> impl Strategy<Value = String> {
    (prop::sample::select(seeds), edits(tokens)).prop_map(|(seed, e)| apply(seed, &e))
}

/// The config for a property whose cases are expensive: `default` cases in the ordinary test run,
/// so the suite stays fast, but `PROPTEST_CASES` (read by `Config::default`) wins when set, so
/// the long run scales every property alike.
pub(crate) fn cases(default: u32) -> Config {
    if std::env::var_os("PROPTEST_CASES").is_some() {
        Config::default()
    } else {
        Config::with_cases(default)
    }
}

/// Whether `s` prints as one line with nothing that could drive a terminal.
pub(crate) fn is_one_clean_line(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_apply_at_any_position() {
        let (start, end) = (0, usize::MAX);
        let text = "ab\ncd\nef";
        assert_eq!(
            apply(
                text,
                &[Edit::Delete {
                    at: start,
                    len: 100
                }]
            ),
            ""
        );
        assert_eq!(apply(text, &[Edit::Truncate { at: end }]), text);
        assert_eq!(
            apply(text, &[Edit::DuplicateLine { line: end }]),
            "ab\ncd\nef\nef"
        );
        assert_eq!(
            apply(text, &[Edit::SwapLines { a: start, b: end }]),
            "ef\ncd\nab"
        );
        let insert = |at, text: &str| Edit::Insert {
            at,
            text: text.into(),
        };
        assert_eq!(apply("é", &[insert(start, "x"), insert(end, "y")]), "xéy");
        assert_eq!(
            apply(
                "abc",
                &[Edit::Replace {
                    at: start,
                    len: 2,
                    text: "Z".into()
                }]
            ),
            "Zc"
        );
    }
}
