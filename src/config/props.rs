//! Property tests for `Config::parse`, which reads a hand-written TOML file. Inputs are arbitrary
//! text and mutated copies of valid configs (every key the README documents, engines included),
//! so both the TOML layer and the validation behind it are reached. Beyond "never panics": an
//! error is one bounded line naming the file, and an accepted config keeps the invariants the
//! rest of the tool assumes (exactly one primary, listed first; unique names; redacted proxy
//! credentials in every `Display`, and no DoH URL with a user or password). The side parsers (`DnsSpec`, `HttpSpec`, `Subnet`) get
//! their own property: their messages end up in those errors and must not leak a password.

use std::path::Path;

use proptest::prelude::*;

use super::{Config, ConfigError, DnsSpec, HttpSpec, Subnet};
use crate::observation::Role;
use crate::proptest_support::{is_one_clean_line, mutated};

/// The README's example, made loadable (one primary), plus engines and every side syntax.
const FULL: &str = r#"
[defaults]                      # optional
timeout = "5s"                  # per network step
ca = "letsencrypt.org"          # CAA issuer domain to evaluate
policy = "br"                   # br | letsencrypt | custom
authoritative_sources = true

[[perspective]]
name = "eu-ripe"
role = "remote"
rir = "RIPE"
location = [52.37, 4.90]
dns = "udp://192.0.2.53:53"
ecs = "198.51.100.0/24"
http = "socks5://user:Pw7secret@127.0.0.1:1080"

[[perspective]]
name = "home"
role = "primary"
rir = "ARIN"
dns = "tcp://[2001:db8::53]:53"
http = "http://127.0.0.1:3128"

[[perspective]]
name = "doh"
role = "source"
dns = "https://doh.example.test/dns-query"
doh_ca = "/etc/ssl/private-ca.pem"

[[engine]]
kind = "globalping"
api_url = "https://api.globalping.io"
token_env = "GLOBALPING_TOKEN"
locations = [ { name = "gp-na", continent = "NA", rir = "ARIN" },
              { name = "gp-eu", magic = "Europe", rir = "RIPE" },
              { name = "gp-as", country = "SG", rir = "APNIC" } ]

[[engine]]
kind = "open-mpic"
url = "https://mpic.example.net/mpic"
api_key_env = "OPEN_MPIC_API_KEY"
"#;

/// The smallest valid file.
const MINIMAL: &str = "[[perspective]]\nname = \"a\"\nrole = \"primary\"\nrir = \"ARIN\"\n";

/// Remotes through SOCKS5h with an IPv6 ECS subnet.
const REMOTES: &str = r#"[defaults]
timeout = "250ms"
policy = "letsencrypt"
[[perspective]]
name = "p"
role = "primary"
rir = "apnic"
[[perspective]]
name = "r1"
role = "remote"
rir = "LACNIC"
dns = "authoritative"
ecs = "2001:db8::/56"
http = "socks5h://[::1]:1080"
location = [-23.55, -46.63]
"#;

/// TOML syntax and the tool's own vocabulary, for insertion by the mutator.
const TOKENS: &[&str] = &[
    "\"",
    "'",
    "\"\"\"",
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    "=",
    ",",
    ".",
    "#",
    "\n",
    "\r\n",
    "\\",
    "\\u0000",
    "\\n",
    "[[perspective]]\n",
    "[[engine]]\n",
    "[defaults]\n",
    "role = \"primary\"\n",
    "role = \"remote\"\n",
    "role = \"source\"\n",
    "name = \"x\"\n",
    "rir = \"RIPE\"\n",
    "dns = \"",
    "http = \"",
    "ecs = \"",
    "location = [",
    "udp://",
    "tcp://",
    "https://",
    "socks5://",
    "socks5h://",
    "http://",
    "@",
    ":",
    ":99999",
    "/129",
    "system",
    "authoritative",
    "direct",
    "globalping",
    "open-mpic",
    "1e999",
    "-0.0",
    "nan",
    "inf",
    "9223372036854775807",
    "true",
    "1979-05-27T07:32:00Z",
    "ü",
    "\u{202e}",
    "\u{1b}[31m",
];

/// The file name errors are expected to start with.
const PATH: &str = "cfg.toml";

/// Checks the invariants of an accepted config and of the message of a refused one.
fn check(text: &str) -> Result<(), TestCaseError> {
    match Config::parse(text, Path::new(PATH)) {
        Ok(cfg) => {
            let primaries = cfg
                .perspectives
                .iter()
                .filter(|p| p.role == Role::Primary)
                .count();
            prop_assert_eq!(primaries, 1);
            prop_assert_eq!(cfg.perspectives[0].role, Role::Primary);
            prop_assert_eq!(&cfg.primary().name, &cfg.perspectives[0].name);
            let mut names: Vec<&str> = cfg.perspectives.iter().map(|p| p.name.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            prop_assert_eq!(names.len(), cfg.perspectives.len(), "duplicate names");
            for p in &cfg.perspectives {
                prop_assert!(
                    !p.name.is_empty()
                        && p.name.len() <= 63
                        && p.name
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                    "name {:?}",
                    p.name
                );
                // Remotes need their RIR for the quorum's RIR rule; a primary may omit it (it
                // never counts toward that rule) and sources never have one that matters.
                prop_assert!(p.role != Role::Remote || p.rir.is_some());
                if let Some((lat, lon)) = p.location {
                    prop_assert!((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon));
                }
                prop_assert!(p.doh_ca.is_none() || matches!(p.dns, DnsSpec::Doh(_)));
                assert_redacted(&p.dns.to_string())?;
                assert_redacted(&p.http.to_string())?;
            }
            if let Some(t) = cfg.timeout {
                prop_assert!(!t.is_zero() && t.as_secs() <= 600);
            }
        }
        Err(e) => {
            prop_assert!(matches!(e, ConfigError::Invalid { .. }), "{e:?}");
            let shown = e.to_string();
            prop_assert!(shown.starts_with(&format!("{PATH}:")), "{shown:?}");
            prop_assert!(is_one_clean_line(&shown), "not one clean line: {shown:?}");
            // Path, line number, then a key and a message that are each capped at 240 characters.
            let bound = PATH.len() + ":18446744073709551615: ".len() + 240 + ": ".len() + 240;
            prop_assert!(
                shown.chars().count() <= bound,
                "{} chars: {shown:?}",
                shown.chars().count()
            );
        }
    }
    Ok(())
}

/// A displayed side never shows a password, and a user name only as `***`. This is checked on
/// the URL and not by looking for the seed's password: a mutation can move those characters out
/// of the credentials (`https://udp://user:Pw7secret@host` is host `udp` with that text in its
/// path), and a path is shown as it is.
fn assert_redacted(shown: &str) -> Result<(), TestCaseError> {
    if let Ok(u) = url::Url::parse(shown) {
        prop_assert!(u.password().is_none(), "password shown in {shown:?}");
        prop_assert!(
            matches!(u.username(), "" | "***"),
            "user shown in {shown:?}"
        );
    }
    Ok(())
}

proptest! {
    /// Arbitrary text: never panics, errors are one bounded line.
    #[test]
    fn prop_config_arbitrary_text(text in prop_oneof![any::<String>(), "[ -~\n]{0,200}"]) {
        check(&text)?;
    }

    /// Near-misses of valid files: never panic, accepted ones keep every invariant.
    #[test]
    fn prop_config_mutated_files(text in mutated(&[FULL, MINIMAL, REMOTES], TOKENS)) {
        check(&text)?;
    }

    /// The side parsers on values that carry a password: whatever follows it, neither the
    /// parsed side's `Display` nor the error message shows it.
    #[test]
    fn prop_config_sides_never_show_credentials(
        scheme in prop::sample::select(&["socks5", "socks5h", "http", "https", "udp", "ftp"][..]),
        rest in "[a-z0-9.:/@%?#\\[\\]-]{0,24}",
    ) {
        // Nothing in `rest` can end the authority before the `@`, so the password stays one.
        let value = format!("{scheme}://user:Pw7secret@{rest}");
        match value.parse::<HttpSpec>() {
            Ok(h) => {
                assert_redacted(&h.to_string())?;
                prop_assert!(!h.to_string().contains("Pw7secret"), "{value:?}: {h}");
            }
            Err(e) => {
                prop_assert!(!e.contains("Pw7secret"), "{value:?}: {e}");
                prop_assert!(is_one_clean_line(&e));
            }
        }
        match value.parse::<DnsSpec>() {
            Ok(d) => {
                assert_redacted(&d.to_string())?;
                prop_assert!(!d.to_string().contains("Pw7secret"), "{value:?}: {d}");
            }
            Err(e) => {
                prop_assert!(!e.contains("Pw7secret"), "{value:?}: {e}");
                prop_assert!(is_one_clean_line(&e));
            }
        }
    }

    /// A user or password with an unencoded `#`, `/`, `?` or `\` (which the URL parser would
    /// take as the end of the authority), or a scheme typo: always refused, on one line, and the
    /// password never shown, for proxies, DoH and engine URLs alike.
    #[test]
    fn prop_config_userinfo_that_would_be_mis_split_is_refused_without_the_password(
        scheme in prop::sample::select(&["socks5://", "socks5h://", "http://", "https://",
            "socks5:/", "socks5//", "https:/", "https:", "so cks5://"][..]),
        user in "[a-z#/?\\\\]{0,6}",
        before in "[a-zA-Z0-9]{0,4}",
        bad in prop::sample::select(&['#', '/', '?', '\\'][..]),
        after in "[a-zA-Z0-9]{0,4}",
        host in prop::sample::select(&["127.0.0.1:1080", "h:1", "[::1]:8080", "x.test/dns-query"][..]),
    ) {
        let value = format!("{scheme}{user}:Pw7{before}{bad}{after}@{host}");
        if let Ok(h) = value.parse::<HttpSpec>() {
            prop_assert!(false, "{value:?} accepted as {h}");
        }
        if let Ok(d) = value.parse::<DnsSpec>() {
            prop_assert!(false, "{value:?} accepted as {d}");
        }
        let e = value.parse::<HttpSpec>().unwrap_err();
        let d = value.parse::<DnsSpec>().unwrap_err();
        let r = super::spec::check_raw_url(&value).unwrap_err();
        for e in [e, d, r] {
            prop_assert!(!e.contains("Pw7"), "{value:?}: {e}");
            prop_assert!(is_one_clean_line(&e), "{value:?}: {e:?}");
        }
    }

    /// ECS subnets: any text; an accepted subnet has its host bits cleared and prints back to
    /// itself.
    #[test]
    fn prop_config_subnet(text in prop_oneof![any::<String>(), "[0-9a-f.:/]{0,45}"]) {
        if let Ok(s) = text.parse::<Subnet>() {
            let again: Subnet = s.to_string().parse().unwrap();
            prop_assert_eq!(again, s);
            prop_assert_eq!(super::spec::mask(s.addr, s.prefix), s.addr);
        }
    }
}
