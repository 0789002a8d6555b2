//! Renderers: turn a `Report` into bytes for a human (table) or a program (JSON). Each writes to
//! any `impl Write` and decides nothing; colour and width are inputs, so tests render into a
//! `Vec<u8>` with fixed settings.

pub mod build;
pub mod dry_run;
pub mod html;
pub mod json;
pub mod jsonl;
pub mod markdown;
pub mod nagios;
pub mod prometheus;
pub mod table;
#[cfg(test)]
mod test_fixtures;

/// Presentation settings for the table renderer.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// ANSI colour on.
    pub color: bool,
    /// Target width in columns.
    pub width: u16,
    /// Show every observation, not only the matrix.
    pub verbose: bool,
}

/// The headline word of an outcome, the same in every human format.
pub fn outcome_word(o: crate::model::Outcome) -> &'static str {
    use crate::model::Outcome;
    match o {
        Outcome::Pass => "READY",
        Outcome::AtRisk => "AT RISK",
        Outcome::Fail => "WOULD FAIL",
        Outcome::Unknown => "COULD NOT ASSESS",
    }
}

pub use crate::text::shorten;

/// The perspective names an evidence line starts with: `eu-central: …`, `home (primary): …`,
/// `home, us-west → 203.0.113.10`.
fn named_in(evidence: &str) -> impl Iterator<Item = &str> {
    let head = evidence.split([':', '→']).next().unwrap_or_default();
    head.split(',')
        .map(|n| n.trim().trim_end_matches("(primary)").trim())
}

/// A finding's evidence with the lines about the perspectives it names (the dissenting side:
/// the region that got the 403) first, the rest after in their order. Detectors often list the
/// side that worked first; an operator reading an alert needs the other one.
pub fn dissenting_first(f: &crate::model::Finding) -> Vec<&str> {
    let (mut first, rest): (Vec<&str>, Vec<&str>) = f
        .evidence
        .iter()
        .map(String::as_str)
        .partition(|e| named_in(e).any(|n| f.perspectives.iter().any(|p| p == n)));
    first.extend(rest);
    first
}

/// Makes any text safe for a terminal: control characters (C0 except newline, DEL, C1) become
/// `\xNN`. Wire bytes are escaped when recorded, but a replayed file or a config path may still
/// carry raw ones, and one ESC is enough to rewrite a terminal.
pub fn clean(text: &str) -> String {
    crate::text::terminal_safe(text)
}

/// Wraps `text` to `width` columns without splitting words at hyphens (finding codes and host
/// names contain them). The text is cleaned of control characters first.
pub fn wrap(text: &str, width: u16, first: &str, rest: &str) -> Vec<String> {
    let text = clean(text);
    let text = text.as_str();
    let opts = textwrap::Options::new(usize::from(width).max(40))
        .initial_indent(first)
        .subsequent_indent(rest)
        .word_splitter(textwrap::WordSplitter::NoHyphenation)
        .break_words(false);
    textwrap::wrap(text, opts)
        .into_iter()
        .map(|c| c.into_owned())
        .collect()
}
