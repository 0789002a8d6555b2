//! Text that crosses a trust boundary, in one place: escaping of bytes from the wire
//! ([`escape_bytes`]), terminal safety for any text ([`terminal_safe`]), one-line error text
//! ([`one_line`]), shortening ([`shorten`]), log normalisation ([`normalise_log`]), bounded reads of files and streams (so a device, a FIFO or
//! a huge file ends at once with one line instead of eating memory), and the [`Redactor`], which knows every secret of a run (engine tokens
//! and API keys, proxy user names and passwords, the ACME account URI) and removes them from any
//! string, in the forms a server may echo them back (as is, percent-encoded, base64 of a
//! `user:password` pair); it is applied to everything a remote party could have filled before it is
//! stored, so no renderer, log or saved file ever has a secret to leak.

use std::fmt;
use std::io::Read;
use std::path::Path;

use base64::Engine as _;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

/// Escapes bytes from the wire so they are safe in a terminal and in JSON: printable ASCII as is,
/// everything else as `\xNN`, quotes and backslashes escaped.
pub fn escape_bytes(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    for &c in b {
        match c {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s
}

/// Makes any text safe for a terminal: control characters (C0 except newline, DEL, C1) become
/// `\xNN`. Wire bytes are escaped when recorded, but a replayed file or a config path may still
/// carry raw ones, and one ESC is enough to rewrite a terminal.
pub fn terminal_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push(c),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// Text as one line of at most `max` characters, whatever it quotes: line breaks and tabs become
/// `\n`, `\r`, `\t`, other control characters `\xNN`, and a longer text ends in `…`. For error
/// messages that quote a file name, a file fragment or a hostile value.
pub fn one_line(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    shorten(&out, max)
}

/// Cuts `s` to `max` characters (not bytes: text may hold any UTF-8), marking the cut with `…`.
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// A pasted log made uniform: ANSI colour sequences dropped (acme.sh and some wrappers colour
/// errors on terminals, and users paste them) and CR/LF or a lone CR turned into LF, so that lines
/// split the same everywhere.
pub fn normalise_log(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    // Parameter and intermediate bytes, then one final byte in @..~.
                    for f in chars.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&f) {
                            break;
                        }
                    }
                }
            }
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push('\n');
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Reads at most `cap` bytes; more is an `InvalidData` error that says so (never a silent
/// truncation, so a partial read is never parsed as if it were complete).
pub fn read_capped(r: impl Read, cap: u64) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    r.take(cap.saturating_add(1)).read_to_end(&mut buf)?;
    if buf.len() as u64 > cap {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {} (the limit)", human_bytes(cap)),
        ));
    }
    Ok(buf)
}

/// [`read_capped`] for UTF-8 text.
pub fn read_text_capped(r: impl Read, cap: u64) -> std::io::Result<String> {
    String::from_utf8(read_capped(r, cap)?)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
}

/// [`read_capped`] of a file, with the error as one lower-case line.
pub fn read_file_capped(path: &Path, cap: u64) -> Result<Vec<u8>, String> {
    std::fs::File::open(path)
        .and_then(|f| read_capped(f, cap))
        .map_err(|e| io_message(&e))
}

/// `io::Error` text without the "(os error N)" noise, lower-cased like the rest of our messages.
pub fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "not found".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        std::io::ErrorKind::IsADirectory => "is a directory".to_owned(),
        _ => e.to_string(),
    }
}

/// The host of `url` without the brackets of an IPv6 literal (what DNS, address parsing and a
/// SOCKS request want).
pub fn bare_host(url: &url::Url) -> String {
    url.host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string()
}

/// A size in the largest whole binary unit, for limits in messages.
pub fn human_bytes(n: u64) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

/// What a secret is replaced with.
pub const REDACTED: &str = "***";

/// Shorter strings are not treated as secrets: replacing every `a` or `12` in a report would
/// destroy it and protect nothing (a real token or password is longer).
const MIN_SECRET_LEN: usize = 4;

/// Removes a run's secrets from text.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Every form to remove, ASCII-lower-cased (matching ignores case), longest first so a longer
    /// form is replaced before a part of it.
    forms: Vec<String>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secrets themselves.
        f.debug_struct("Redactor")
            .field("forms", &self.forms.len())
            .finish()
    }
}

impl Redactor {
    /// A redactor that knows nothing yet.
    pub fn new() -> Redactor {
        Redactor::default()
    }

    /// Adds one secret (ignored when shorter than 4 characters).
    pub fn add(&mut self, secret: &str) {
        let secret = secret.trim();
        if secret.len() < MIN_SECRET_LEN {
            return;
        }
        let mut forms = vec![secret.to_string()];
        let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        forms.push(encoded.clone());
        forms.push(encoded.replace('+', "%20"));
        forms.push(base64::engine::general_purpose::STANDARD.encode(secret));
        for f in forms.iter().map(|f| f.to_ascii_lowercase()) {
            if f.len() >= MIN_SECRET_LEN && !self.forms.contains(&f) {
                self.forms.push(f);
            }
        }
        self.forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    }

    /// Adds a proxy's credentials: the password, the user name, and the `user:password` pair in
    /// the base64 form HTTP Basic and `Proxy-Authorization` carry.
    pub fn add_credentials(&mut self, user: &str, password: &str) {
        self.add(password);
        self.add(user);
        if !password.is_empty() {
            let pair = format!("{user}:{password}");
            self.add(&pair);
        }
    }

    /// Whether any secret is known.
    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// `text` with every known secret replaced by [`REDACTED`]. Matching ignores ASCII case: DNS
    /// owner names and some headers come back case-folded, and a folded secret is still one.
    pub fn clean(&self, text: &str) -> String {
        let mut out = text.to_string();
        let mut lower = out.to_ascii_lowercase();
        for f in &self.forms {
            if lower.contains(f.as_str()) {
                out = replace_ignoring_case(&out, &lower, f);
                lower = out.to_ascii_lowercase();
            }
        }
        out
    }

    /// Cleans `text` in place; true when something was removed.
    pub fn clean_in_place(&self, text: &mut String) -> bool {
        let lower = text.to_ascii_lowercase();
        if self.forms.iter().any(|f| lower.contains(f.as_str())) {
            *text = self.clean(text);
            true
        } else {
            false
        }
    }

    /// Cleans every string inside any serialisable value (keys included) — the one pass that
    /// reaches every field a remote party could fill, present and future, without listing them.
    /// A value that does not round-trip through JSON is returned unchanged.
    pub fn clean_value<T: Serialize + DeserializeOwned>(&self, value: T) -> T {
        if self.forms.is_empty() {
            return value;
        }
        let Ok(mut v) = serde_json::to_value(&value) else {
            return value;
        };
        if !self.walk(&mut v) {
            return value;
        }
        serde_json::from_value(v).unwrap_or(value)
    }

    fn walk(&self, v: &mut Value) -> bool {
        match v {
            Value::String(s) => self.clean_in_place(s),
            Value::Array(a) => a.iter_mut().fold(false, |acc, x| self.walk(x) | acc),
            Value::Object(m) => {
                let mut changed = false;
                let keys: Vec<String> = m.keys().cloned().collect();
                for k in keys {
                    let mut val = m.remove(&k).unwrap_or(Value::Null);
                    changed |= self.walk(&mut val);
                    let mut key = k;
                    changed |= self.clean_in_place(&mut key);
                    m.insert(key, val);
                }
                changed
            }
            _ => false,
        }
    }
}

/// `text` with every occurrence of `n` (lower case) in `lower` (`text` ASCII-lower-cased) replaced
/// by [`REDACTED`].
fn replace_ignoring_case(text: &str, lower: &str, n: &str) -> String {
    if n.is_empty() {
        return text.to_string();
    }
    // ASCII lower-casing keeps byte offsets, so positions found in `lower` are valid in `text`.
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(i) = lower[at..].find(n) {
        out.push_str(&text[at..at + i]);
        out.push_str(REDACTED);
        at += i + n.len();
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_neutralises_terminal_sequences() {
        assert_eq!(escape_bytes(b"ok"), "ok");
        assert_eq!(escape_bytes(b"\x1b[31mred"), "\\x1b[31mred");
        assert_eq!(escape_bytes("é".as_bytes()), "\\xc3\\xa9");
        assert_eq!(escape_bytes(b"a\"b\\"), "a\\\"b\\\\");
        assert_eq!(terminal_safe("a\x1b[2Jb\nc\u{9b}"), "a\\x1b[2Jb\nc\\x9b");
    }

    #[test]
    fn one_line_keeps_errors_on_one_line_and_short() {
        assert_eq!(one_line("a\nb\tc\x07", 100), "a\\nb\\tc\\x07");
        assert_eq!(one_line("abcdef", 4), "abc…");
        assert_eq!(shorten("ééé", 2), "é…");
        assert_eq!(normalise_log("\x1b[31mred\x1b[0m\r\nx\ry"), "red\nx\ny");
    }

    #[test]
    fn capped_reads_fail_instead_of_truncating() {
        assert_eq!(read_capped(&b"12345"[..], 5).unwrap(), b"12345");
        let e = read_capped(&b"123456"[..], 5).unwrap_err();
        assert!(e.to_string().contains("larger than 5 bytes"), "{e}");
        let e = read_text_capped(std::io::repeat(b'x'), 1 << 20).unwrap_err();
        assert!(e.to_string().contains("larger than 1 MiB"), "{e}");
        assert!(read_text_capped(&b"\xff"[..], 10).is_err());
        assert_eq!(
            read_file_capped(Path::new("/nonexistent/x"), 10).unwrap_err(),
            "not found"
        );
    }

    #[test]
    fn every_form_of_a_secret_is_removed() {
        let mut r = Redactor::new();
        r.add("s3cr3t/key+42==");
        let echoed = [
            "key s3cr3t/key+42== echoed",
            "query ?k=s3cr3t%2Fkey%2B42%3D%3D",
            "b64 czNjcjN0L2tleSs0Mj09",
        ];
        for e in echoed {
            let c = r.clean(e);
            assert!(c.contains(REDACTED), "{e} -> {c}");
            assert!(!c.contains("s3cr3t"), "{c}");
        }
    }

    #[test]
    fn a_case_folded_echo_is_still_removed() {
        let mut r = Redactor::new();
        r.add("Token-AbC-123");
        assert_eq!(r.clean("x token-abc-123.example y"), "x ***.example y");
        assert_eq!(r.clean("ünïcode TOKEN-ABC-123 ü"), "ünïcode *** ü");
    }

    #[test]
    fn proxy_credentials_are_removed_also_as_basic_auth() {
        let mut r = Redactor::new();
        r.add_credentials("alice", "Pw7secret");
        let basic = base64::engine::general_purpose::STANDARD.encode("alice:Pw7secret");
        let c = r.clean(&format!("Proxy-Authorization: Basic {basic} for alice"));
        assert!(!c.contains(&basic) && !c.contains("alice"), "{c}");
    }

    #[test]
    fn short_strings_are_not_secrets_and_debug_hides_everything() {
        let mut r = Redactor::new();
        r.add("ab");
        assert!(r.is_empty());
        r.add("token-value-123");
        let shown = format!("{r:?}");
        assert!(!shown.contains("token-value"), "{shown}");
    }

    #[test]
    fn every_string_of_a_structure_is_cleaned_keys_included() {
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        struct Inner {
            name: String,
            list: Vec<String>,
            map: std::collections::BTreeMap<String, String>,
            n: u32,
        }
        let mut r = Redactor::new();
        r.add("KEY-0123456789");
        let v = Inner {
            name: "p-KEY-0123456789".into(),
            list: vec!["ok".into(), "x KEY-0123456789".into()],
            map: [("KEY-0123456789".to_string(), "KEY-0123456789".to_string())].into(),
            n: 7,
        };
        let c = r.clean_value(v);
        let text = format!("{c:?}");
        assert!(!text.contains("KEY-0123456789"), "{text}");
        assert_eq!(c.n, 7);
        assert_eq!(c.list[0], "ok");
    }
}
