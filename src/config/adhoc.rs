//! Perspectives given on the command line: `--perspective 'name=eu,role=remote,rir=RIPE,…'`
//! (the config file's perspective keys as `key=value` pairs, like `docker --mount`) and
//! `--resolver ADDR` (one more DNS source). Each `--perspective` is turned into the TOML of one
//! `[[perspective]]` table and validated by the file parser, so it gets the same checks and the
//! same messages; the error names the flag and its position instead of quoting the value, which
//! may carry a proxy password.
//!
//! The merge rule (README "Perspectives on the command line"): perspectives given with
//! `--perspective` replace the remotes and sources of the config file (or of the built-in set);
//! the primary is kept unless one of them has `role=primary`. `--resolver` always adds a source.
//! Engines and defaults of the file are kept.

use std::path::Path;

use super::{Config, ConfigError, DnsSpec, PerspectiveSpec};
use crate::observation::Role;

/// The keys a `--perspective` value may use (those of a `[[perspective]]` table).
const KEYS: [&str; 8] = [
    "name", "role", "rir", "location", "dns", "ecs", "http", "doh_ca",
];

/// Splits `name=eu,rir=RIPE,location=52.37,4.90` into pairs. A comma starts a new pair only when
/// a known key and `=` follow, so a location's own comma stays in its value.
fn pairs(raw: &str) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for piece in raw.split(',') {
        // `colour=blue` after a comma is a misspelt key, not part of the previous value (values
        // with an `=` of their own, a DoH URL's query, have more than letters before it).
        if let Some((k, _)) = piece.split_once('=')
            && !k.is_empty()
            && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            && !KEYS.contains(&k)
        {
            return Err(format!(
                "unknown key {:?}: use {}",
                crate::text::shorten(k, 40),
                KEYS.join(", ")
            ));
        }
        let starts_pair = piece
            .split_once('=')
            .is_some_and(|(k, _)| KEYS.contains(&k.trim()));
        match (starts_pair, out.last_mut()) {
            (true, _) => {
                let (k, v) = piece.split_once('=').expect("checked");
                out.push((k.trim().to_string(), v.trim().to_string()));
            }
            (false, Some((_, v))) => {
                v.push(',');
                v.push_str(piece);
            }
            (false, None) => {
                let key = piece.split_once('=').map_or(piece, |(k, _)| k).trim();
                // Only the key is quoted: the rest may be a proxy URL with a password.
                return Err(if piece.contains('=') {
                    format!(
                        "unknown key {:?}: use {}",
                        crate::text::shorten(key, 40),
                        KEYS.join(", ")
                    )
                } else {
                    format!(
                        "expected key=value pairs separated by commas ({})",
                        KEYS.join(", ")
                    )
                });
            }
        }
    }
    Ok(out)
}

/// The TOML of one `[[perspective]]` table for a `--perspective` value.
fn to_toml(raw: &str) -> Result<String, String> {
    let mut t = String::from("[[perspective]]\n");
    let mut seen: Vec<String> = Vec::new();
    for (k, v) in pairs(raw)? {
        if seen.contains(&k) {
            return Err(format!("{k} is given twice"));
        }
        seen.push(k.clone());
        let value = if k == "location" {
            let nums: Vec<&str> = v
                .trim_matches(|c| c == '[' || c == ']')
                .split([',', ':', ' '])
                .filter(|s| !s.is_empty())
                .collect();
            if nums.len() != 2 || nums.iter().any(|n| n.parse::<f64>().is_err()) {
                return Err("perspective.location: must be LATITUDE,LONGITUDE in degrees".into());
            }
            format!("[{}, {}]", nums[0], nums[1])
        } else {
            toml::Value::String(v).to_string()
        };
        t.push_str(&format!("{k} = {value}\n"));
    }
    if !seen.iter().any(|k| k == "name") {
        return Err("name= is required (e.g. name=eu)".into());
    }
    if !seen.iter().any(|k| k == "role") {
        t.push_str("role = \"remote\"\n");
    }
    Ok(t)
}

/// The DNS side of `--resolver ADDR`: `IP[:port]` means `udp://`; a URL is taken as written.
fn resolver_dns(raw: &str) -> Result<DnsSpec, String> {
    if raw.contains("://") {
        raw.parse()
    } else {
        format!("udp://{raw}").parse()
    }
}

impl Config {
    /// Applies `--perspective` and `--resolver` (the module doc's merge rule). Errors name the
    /// flag and its position (`--perspective #2:1: perspective[0].rir: …`), never the value.
    pub fn with_command_line(
        mut self,
        perspectives: &[String],
        resolvers: &[String],
    ) -> Result<Config, ConfigError> {
        if !perspectives.is_empty() {
            let mut given: Vec<PerspectiveSpec> = Vec::new();
            for (i, raw) in perspectives.iter().enumerate() {
                let flag = format!("--perspective #{}", i + 1);
                let invalid = |key: &str, message: String| ConfigError::Invalid {
                    path: flag.clone(),
                    line: 1,
                    key: key.into(),
                    message,
                };
                let toml = to_toml(raw).map_err(|m| invalid("perspective", m))?;
                // A lone remote is valid on the command line: the primary comes from the file.
                let with_primary = format!(
                    "{toml}\n[[perspective]]\nname = \"mpic-check-placeholder-primary\"\nrole = \"primary\"\n"
                );
                let text = if toml.contains("role = \"primary\"") {
                    toml
                } else {
                    with_primary
                };
                // The line of the generated table means nothing to the user: the flag's
                // position says which value is wrong.
                let parsed = Config::parse(&text, Path::new(&flag)).map_err(|e| match e {
                    ConfigError::Invalid {
                        path, key, message, ..
                    } => ConfigError::Invalid {
                        path,
                        line: 1,
                        key,
                        message,
                    },
                    other => other,
                })?;
                let spec = parsed
                    .perspectives
                    .into_iter()
                    .find(|p| p.name != "mpic-check-placeholder-primary")
                    .ok_or_else(|| invalid("perspective.name", "a name is required".into()))?;
                if given.iter().any(|g| g.name == spec.name) {
                    return Err(invalid(
                        "perspective.name",
                        format!("duplicate perspective name {:?}", spec.name),
                    ));
                }
                if spec.role == Role::Primary && given.iter().any(|g| g.role == Role::Primary) {
                    return Err(invalid(
                        "perspective.role",
                        "more than one primary; exactly one is allowed".into(),
                    ));
                }
                given.push(spec);
            }
            let primary = match given.iter().position(|g| g.role == Role::Primary) {
                Some(i) => given.remove(i),
                None => self.primary().clone(),
            };
            if given.iter().any(|g| g.name == primary.name) {
                return Err(ConfigError::Invalid {
                    path: "--perspective".into(),
                    line: 1,
                    key: "perspective.name".into(),
                    message: format!(
                        "{:?} is the primary's name: give the remote another name",
                        primary.name
                    ),
                });
            }
            self.perspectives = std::iter::once(primary).chain(given).collect();
            // Modules name the file's perspectives; with those replaced they no longer apply.
            self.modules.clear();
        }
        for (i, raw) in resolvers.iter().enumerate() {
            let dns = resolver_dns(raw).map_err(|m| ConfigError::Invalid {
                path: format!("--resolver #{}", i + 1),
                line: 1,
                key: "dns".into(),
                message: m,
            })?;
            let mut name = format!("resolver-{}", i + 1);
            while self.perspectives.iter().any(|p| p.name == name) {
                name.push('x');
            }
            self.perspectives
                .push(PerspectiveSpec::local(name, Role::Source, dns));
        }
        Ok(self)
    }

    /// Why this set cannot judge a quorum, with the fix: no remote perspective and no engine
    /// that brings some.
    pub fn no_remote_problem(&self) -> Option<String> {
        let remotes = self.perspectives.iter().any(|p| p.role == Role::Remote);
        (!remotes && self.engines.is_empty()).then(|| {
            "this set has no remote perspective, so no quorum can be judged: add \
             [[perspective]] tables with role = \"remote\" and an rir (or --perspective \
             'name=eu,role=remote,rir=RIPE,dns=authoritative,http=socks5://127.0.0.1:1080'), \
             or an [[engine]] (or --globalping)"
                .to_string()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cl(p: &[&str], r: &[&str]) -> Result<Config, String> {
        let p: Vec<String> = p.iter().map(|s| s.to_string()).collect();
        let r: Vec<String> = r.iter().map(|s| s.to_string()).collect();
        Config::built_in()
            .with_command_line(&p, &r)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_remote_replaces_the_remotes_and_keeps_the_primary() {
        let c = cl(
            &["name=eu,role=remote,rir=RIPE,location=52.37,4.90,dns=udp://192.0.2.53:53,http=socks5://127.0.0.1:1080"],
            &[],
        )
        .unwrap();
        let names: Vec<&str> = c.perspectives.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["local", "eu"]);
        assert_eq!(c.perspectives[1].location, Some((52.37, 4.90)));
        assert_eq!(c.perspectives[1].rir, Some(crate::observation::Rir::Ripe));
    }

    #[test]
    fn a_primary_given_replaces_the_primary_and_resolvers_add_sources() {
        let c = cl(
            &[
                "name=home,role=primary,dns=udp://127.0.0.1:53",
                "name=eu,rir=RIPE,dns=authoritative,ecs=80.128.0.0/24",
            ],
            &["127.0.0.2:5353", "tcp://127.0.0.3"],
        )
        .unwrap();
        let names: Vec<&str> = c.perspectives.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["home", "eu", "resolver-1", "resolver-2"]);
        assert_eq!(c.perspectives[1].role, Role::Remote);
        assert_eq!(c.perspectives[2].role, Role::Source);
    }

    #[test]
    fn errors_are_the_files_messages_and_never_carry_a_password() {
        let e = cl(&["name=eu,role=remote,dns=udp://192.0.2.53"], &[]).unwrap_err();
        assert!(
            e.starts_with("--perspective #1:1: perspective[0].rir:"),
            "{e}"
        );
        let e = cl(
            &["name=eu,rir=RIPE,http=socks5://alice:s3cret@127.0.0.1"],
            &[],
        )
        .unwrap_err();
        assert!(
            e.contains("perspective[0].http") && !e.contains("s3cret"),
            "{e}"
        );
        let e = cl(&["name=eu,rir=RIPE,colour=blue"], &[]).unwrap_err();
        assert!(e.contains("unknown key \"colour\""), "{e}");
        let e = cl(&["rir=RIPE"], &[]).unwrap_err();
        assert!(e.contains("name= is required"), "{e}");
        let e = cl(&["name=local,rir=RIPE"], &[]).unwrap_err();
        assert!(e.contains("primary's name"), "{e}");
        let e = cl(&[], &["not-an-address"]).unwrap_err();
        assert!(e.starts_with("--resolver #1:1: dns:"), "{e}");
        assert!(cl(&["name=eu,rir=RIPE,location=91,0"], &[]).is_err());
    }

    #[test]
    fn a_set_without_remotes_is_a_problem_with_a_fix() {
        let c = cl(&["name=home,role=primary"], &[]).unwrap();
        assert!(c.no_remote_problem().unwrap().contains("--perspective"));
        assert!(Config::built_in().no_remote_problem().is_none());
    }
}
