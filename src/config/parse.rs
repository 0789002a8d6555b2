//! TOML text → a validated [`Config`]. Users write this file by hand, so every error names the
//! file, the line and the key, unknown keys are rejected (a typo must not silently fall back to a
//! default), and no error quotes a password.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::spec::check_raw_url;
use super::{
    Config, ConfigError, ConfigSource, DnsSpec, EngineSpec, HttpSpec, PerspectiveSpec, engine,
};
use crate::observation::{Rir, Role};

impl Config {
    /// Parses and validates `text` as if read from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let p = path.display().to_string();
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| line_of(text, s.start));
            let mut msg = e.message().trim().to_string();
            let mut key = msg
                .split('`')
                .nth(1)
                .filter(|_| msg.starts_with("unknown field") || msg.starts_with("missing field"))
                .unwrap_or("toml")
                .to_string();
            // serde's "invalid type: integer `5`, expected a string" names neither the key nor
            // the form it wants: name both (`defaults.timeout: expected a duration like "5s"`).
            let at = e.span().map(|s| s.start);
            if let (Some(rest), Some(path)) = (
                msg.strip_prefix("invalid type: "),
                at.and_then(|a| key_path_at(text, a)),
            ) {
                let got = rest
                    .split(", expected")
                    .next()
                    .unwrap_or(rest)
                    .replace('`', "");
                let leaf = path.rsplit('.').next().unwrap_or(&path).to_string();
                let want = expected_form(&leaf).map(str::to_string).unwrap_or_else(|| {
                    rest.split(", ")
                        .nth(1)
                        .unwrap_or("another type")
                        .to_string()
                });
                msg = format!("{want}, got {got}");
                key = path;
            }
            ConfigError::Invalid {
                path: p.clone(),
                line,
                key: cap_line(&key),
                message: cap_line(&msg),
            }
        })?;
        let err = |span: std::ops::Range<usize>, key: &str, message: String| ConfigError::Invalid {
            path: p.clone(),
            line: line_of(text, span.start),
            key: key.to_string(),
            message: cap_line(&message),
        };

        let mut cfg = Config {
            source: ConfigSource::File(path.to_path_buf()),
            timeout: None,
            ca: None,
            policy: None,
            authoritative_sources: true,
            perspectives: Vec::new(),
            engines: Vec::new(),
            modules: Default::default(),
        };
        if let Some(d) = raw.defaults {
            if let Some(t) = d.timeout {
                let v = humantime::parse_duration(t.get_ref())
                    .map_err(|e| err(t.span(), "defaults.timeout", format!("{e} (e.g. \"5s\")")))?;
                if v.is_zero() || v > Duration::from_secs(600) {
                    return Err(err(
                        t.span(),
                        "defaults.timeout",
                        "must be between 1ms and 10m".into(),
                    ));
                }
                cfg.timeout = Some(v);
            }
            if let Some(ca) = d.ca {
                let v = issuer_domain(ca.get_ref())
                    .ok_or_else(|| err(ca.span(), "defaults.ca", ISSUER_DOMAIN_FORM.into()))?;
                cfg.ca = Some(v);
            }
            if let Some(pol) = d.policy {
                cfg.policy = Some(
                    pol.get_ref()
                        .parse()
                        .map_err(|m| err(pol.span(), "defaults.policy", m))?,
                );
            }
            if let Some(a) = d.authoritative_sources {
                cfg.authoritative_sources = a;
            }
        }
        for (i, e) in raw.engine.iter().enumerate() {
            let k = |f: &str| format!("engine[{i}].{f}");
            let kind = e.kind.get_ref().as_str();
            let url_of = |v: &Spanned<String>, key: &str| -> Result<Url, ConfigError> {
                check_raw_url(v.get_ref()).map_err(|m| err(v.span(), &k(key), m))?;
                let u = Url::parse(v.get_ref())
                    .map_err(|x| err(v.span(), &k(key), format!("not a URL: {x}")))?;
                if !matches!(u.scheme(), "https" | "http") {
                    return Err(err(v.span(), &k(key), "must be an https:// URL".into()));
                }
                Ok(u)
            };
            match kind {
                "globalping" => {
                    if e.url.is_some() || e.api_key_env.is_some() {
                        return Err(err(
                            e.kind.span(),
                            &k("kind"),
                            "globalping takes api_url, token_env and locations".into(),
                        ));
                    }
                    let api_url = match &e.api_url {
                        Some(v) => url_of(v, "api_url")?,
                        None => Url::parse(engine::DEFAULT_API_URL).expect("constant URL"),
                    };
                    let mut locations = Vec::new();
                    for (j, l) in e.locations.iter().enumerate() {
                        let lk = format!("engine[{i}].locations[{j}]");
                        let specs: Vec<engine::LocationSpec> = [
                            l.continent.clone().map(engine::LocationSpec::Continent),
                            l.country.clone().map(engine::LocationSpec::Country),
                            l.magic.clone().map(engine::LocationSpec::Magic),
                            l.tag.clone().map(engine::LocationSpec::Tag),
                        ]
                        .into_iter()
                        .flatten()
                        .collect();
                        let [spec] = <[_; 1]>::try_from(specs).map_err(|_| {
                            err(
                                e.kind.span(),
                                &lk,
                                "give exactly one of continent, country, magic or tag".into(),
                            )
                        })?;
                        let rir = Rir::parse(&l.rir).ok_or_else(|| {
                            err(
                                e.kind.span(),
                                &format!("{lk}.rir"),
                                format!("{:?}: use ARIN, RIPE, APNIC, LACNIC or AFRINIC", l.rir),
                            )
                        })?;
                        if l.name.is_empty()
                            || !l
                                .name
                                .bytes()
                                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                        {
                            return Err(err(
                                e.kind.span(),
                                &format!("{lk}.name"),
                                format!("{:?} must be [a-z0-9-]", l.name),
                            ));
                        }
                        locations.push(engine::Location {
                            name: l.name.clone(),
                            rir,
                            spec,
                        });
                    }
                    if locations.is_empty() {
                        return Err(err(
                            e.kind.span(),
                            &k("locations"),
                            "a globalping engine needs at least one location".into(),
                        ));
                    }
                    cfg.engines.push(EngineSpec::Globalping {
                        api_url,
                        token_env: e
                            .token_env
                            .clone()
                            .unwrap_or_else(|| engine::TOKEN_ENV.into()),
                        locations,
                    });
                }
                "open-mpic" => {
                    let Some(u) = &e.url else {
                        return Err(err(
                            e.kind.span(),
                            &k("url"),
                            "open-mpic needs url = \"https://…/mpic\"".into(),
                        ));
                    };
                    if e.api_url.is_some() || !e.locations.is_empty() {
                        return Err(err(
                            e.kind.span(),
                            &k("kind"),
                            "open-mpic takes url and api_key_env".into(),
                        ));
                    }
                    cfg.engines.push(EngineSpec::OpenMpic {
                        url: url_of(u, "url")?,
                        api_key_env: e
                            .api_key_env
                            .clone()
                            .unwrap_or_else(|| engine::API_KEY_ENV.into()),
                    });
                }
                other => {
                    return Err(err(
                        e.kind.span(),
                        &k("kind"),
                        format!("{other:?}: use globalping or open-mpic"),
                    ));
                }
            }
        }
        if raw.perspective.is_empty() {
            return Err(ConfigError::Invalid {
                path: p.clone(),
                line: 1,
                key: "perspective".into(),
                message:
                    "no [[perspective]] defined: a file replaces the built-in set, so it needs \
                          one primary and its remotes"
                        .into(),
            });
        }
        for (i, rp) in raw.perspective.iter().enumerate() {
            let k = |f: &str| format!("perspective[{i}].{f}");
            let name = rp.name.get_ref();
            if name.is_empty()
                || name.len() > 63
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(err(
                    rp.name.span(),
                    &k("name"),
                    format!("{name:?} must be 1-63 characters of [a-z0-9-]"),
                ));
            }
            if cfg
                .perspectives
                .iter()
                .any(|q: &PerspectiveSpec| q.name == *name)
            {
                return Err(err(
                    rp.name.span(),
                    &k("name"),
                    format!("duplicate perspective name {name:?}"),
                ));
            }
            let role = match rp.role.get_ref().as_str() {
                "primary" => Role::Primary,
                "remote" => Role::Remote,
                "source" => Role::Source,
                other => {
                    return Err(err(
                        rp.role.span(),
                        &k("role"),
                        format!("{other:?}: use primary, remote or source"),
                    ));
                }
            };
            let rir = match &rp.rir {
                Some(r) => Some(Rir::parse(r.get_ref()).ok_or_else(|| {
                    err(
                        r.span(),
                        &k("rir"),
                        format!(
                            "{:?}: use ARIN, RIPE, APNIC, LACNIC or AFRINIC",
                            r.get_ref()
                        ),
                    )
                })?),
                // The primary is never counted toward RIR diversity (only remotes corroborate),
                // and the built-in primary has none, so a file may leave it out too.
                None if role == Role::Remote => {
                    return Err(err(
                        rp.name.span(),
                        &k("rir"),
                        format!(
                            "perspective {name:?} is {role}: it needs rir = \"ARIN|RIPE|APNIC|LACNIC|AFRINIC\""
                        ),
                    ));
                }
                None => None,
            };
            let location = match &rp.location {
                Some(l) => {
                    let v = l.get_ref();
                    if v.len() != 2
                        || !(-90.0..=90.0).contains(&v[0])
                        || !(-180.0..=180.0).contains(&v[1])
                    {
                        return Err(err(
                            l.span(),
                            &k("location"),
                            "must be [latitude, longitude] in degrees".into(),
                        ));
                    }
                    Some((v[0], v[1]))
                }
                None => None,
            };
            let dns = match &rp.dns {
                Some(d) => d
                    .get_ref()
                    .parse()
                    .map_err(|m| err(d.span(), &k("dns"), m))?,
                None => DnsSpec::System,
            };
            let ecs = match &rp.ecs {
                Some(e) => Some(
                    e.get_ref()
                        .parse()
                        .map_err(|m| err(e.span(), &k("ecs"), m))?,
                ),
                None => None,
            };
            let http: HttpSpec = match &rp.http {
                Some(h) => h
                    .get_ref()
                    .parse()
                    .map_err(|m| err(h.span(), &k("http"), m))?,
                None => HttpSpec::Direct,
            };
            let doh_ca = match &rp.doh_ca {
                Some(c) if !matches!(dns, DnsSpec::Doh(_)) => {
                    return Err(err(
                        c.span(),
                        &k("doh_ca"),
                        "only applies to a DoH (https://) DNS side".into(),
                    ));
                }
                Some(c) => Some(PathBuf::from(c.get_ref())),
                None => None,
            };
            cfg.perspectives.push(PerspectiveSpec {
                name: name.clone(),
                role,
                rir,
                location,
                dns,
                ecs,
                http,
                doh_ca,
            });
        }
        let primaries: Vec<_> = raw
            .perspective
            .iter()
            .filter(|rp| rp.role.get_ref() == "primary")
            .collect();
        match primaries.len() {
            1 => {}
            0 => {
                return Err(ConfigError::Invalid {
                    path: p.clone(),
                    line: line_of(text, raw.perspective[0].name.span().start),
                    key: "perspective.role".into(),
                    message: "no perspective has role = \"primary\"; exactly one must".into(),
                });
            }
            _ => {
                return Err(err(
                    primaries[1].role.span(),
                    "perspective.role",
                    format!(
                        "more than one primary ({}); exactly one is allowed",
                        primaries.len()
                    ),
                ));
            }
        }
        cfg.perspectives.sort_by_key(|s| s.role != Role::Primary);
        for (name, m) in &raw.modules {
            let module = parse_module(name, m, &cfg, &err)?;
            cfg.modules.insert(name.get_ref().clone(), module);
        }
        Ok(cfg)
    }
}

/// One `[modules.NAME]` table, checked against the perspectives of the same file: a module that
/// names a perspective the file lacks, or leaves out the primary, is an error at start, not at
/// the first scrape.
fn parse_module(
    spanned_name: &Spanned<String>,
    m: &RawModule,
    cfg: &Config,
    err: &dyn Fn(std::ops::Range<usize>, &str, String) -> ConfigError,
) -> Result<super::Module, ConfigError> {
    let name = spanned_name.get_ref();
    let k = |f: &str| format!("modules.{name}.{f}");
    if name.is_empty()
        || name.len() > 63
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(err(
            spanned_name.span(),
            &format!("modules.{name}"),
            "a module name is 1-63 characters of [A-Za-z0-9_-]".into(),
        ));
    }
    let mut module = super::Module::default();
    if let Some(list) = &m.perspectives {
        let names: Vec<String> = list.get_ref().clone();
        for n in &names {
            if !cfg.perspectives.iter().any(|p| p.name == *n) {
                return Err(err(
                    list.span(),
                    &k("perspectives"),
                    format!("no [[perspective]] is named {n:?}"),
                ));
            }
        }
        let primary = &cfg.primary().name;
        if !names.contains(primary) {
            return Err(err(
                list.span(),
                &k("perspectives"),
                format!("must include the primary perspective {primary:?}"),
            ));
        }
        module.perspectives = Some(names);
    }
    if let Some(v) = &m.method {
        module.method = match v.get_ref().as_str() {
            "auto" => None,
            "http-01" => Some(crate::observation::Method::Http01),
            "dns-01" => Some(crate::observation::Method::Dns01),
            "tls-alpn-01" => Some(crate::observation::Method::TlsAlpn01),
            other => {
                return Err(err(
                    v.span(),
                    &k("method"),
                    format!("{other:?}: use auto, http-01, dns-01 or tls-alpn-01"),
                ));
            }
        };
    }
    if let Some(v) = &m.policy {
        module.policy = Some(
            v.get_ref()
                .parse()
                .map_err(|e| err(v.span(), &k("policy"), e))?,
        );
    }
    module.remotes = m.remotes;
    module.quorum = m.quorum;
    if let Some(ca) = &m.ca {
        let v = issuer_domain(ca.get_ref())
            .ok_or_else(|| err(ca.span(), &k("ca"), ISSUER_DOMAIN_FORM.into()))?;
        module.ca = Some(v);
    }
    if let Some(t) = &m.timeout {
        let v = humantime::parse_duration(t.get_ref())
            .map_err(|e| err(t.span(), &k("timeout"), format!("{e} (e.g. \"5s\")")))?;
        if v.is_zero() || v > Duration::from_secs(600) {
            return Err(err(
                t.span(),
                &k("timeout"),
                "must be between 1ms and 10m".into(),
            ));
        }
        module.timeout = Some(v);
    }
    Ok(module)
}

/// Keeps an error to one readable line even when it quotes a huge or hostile value.
fn cap_line(message: &str) -> String {
    crate::text::one_line(message, 240)
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

const ISSUER_DOMAIN_FORM: &str = "must be a CAA issuer domain like letsencrypt.org";

/// A `ca` value as CAA compares it (lower case, no trailing dot), or `None` when it is not a
/// domain (a URL, a host:port, words).
fn issuer_domain(raw: &str) -> Option<String> {
    let v = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    (!v.is_empty() && !v.contains(['/', ':', ' '])).then_some(v)
}

/// The dotted key path (`defaults.timeout`, `perspective[1].dns`, `modules.eu.remotes`) of the
/// `key = value` line holding byte `at`, from the line and the table header above it.
fn key_path_at(text: &str, at: usize) -> Option<String> {
    let start = text.get(..at)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text.get(start..)?.lines().next()?;
    let leaf = line.split('=').next()?.trim().trim_matches('"');
    if leaf.is_empty() || !line.contains('=') {
        return None;
    }
    let mut table = String::new();
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for l in text.get(..start)?.lines().map(str::trim) {
        if let Some(name) = l.strip_prefix("[[").and_then(|l| l.split("]]").next()) {
            let n = counts.entry(name.trim().to_string()).or_default();
            table = format!("{}[{}]", name.trim(), *n);
            *n += 1;
        } else if let Some(name) = l.strip_prefix('[').and_then(|l| l.split(']').next()) {
            table = name.trim().to_string();
        }
    }
    Some(if table.is_empty() {
        leaf.to_string()
    } else {
        format!("{table}.{leaf}")
    })
}

/// What a key's value looks like, for type errors.
fn expected_form(key: &str) -> Option<&'static str> {
    Some(match key {
        "timeout" => "expected a duration in quotes, like \"5s\"",
        "dns" => "expected a resolver URL in quotes, like \"udp://192.0.2.53:53\"",
        "http" => "expected \"direct\" or a proxy URL in quotes, like \"socks5://127.0.0.1:1080\"",
        "ecs" => "expected a subnet in quotes, like \"203.0.113.0/24\"",
        "ca" => "expected a CAA issuer domain in quotes, like \"letsencrypt.org\"",
        "rir" => "expected one of \"ARIN\", \"RIPE\", \"APNIC\", \"LACNIC\", \"AFRINIC\"",
        "role" => "expected \"primary\", \"remote\" or \"source\"",
        "name" | "method" | "policy" | "kind" | "doh_ca" => "expected a string in quotes",
        "location" => "expected [latitude, longitude], like [50.11, 8.68]",
        "remotes" | "quorum" => "expected a whole number, like 5",
        "authoritative_sources" => "expected true or false",
        "perspectives" => "expected a list of perspective names, like [\"home\", \"eu-west\"]",
        _ => return None,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    defaults: Option<RawDefaults>,
    #[serde(default)]
    perspective: Vec<RawPerspective>,
    #[serde(default)]
    engine: Vec<RawEngine>,
    #[serde(default)]
    modules: std::collections::BTreeMap<Spanned<String>, RawModule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModule {
    perspectives: Option<Spanned<Vec<String>>>,
    method: Option<Spanned<String>>,
    policy: Option<Spanned<String>>,
    remotes: Option<usize>,
    quorum: Option<usize>,
    ca: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEngine {
    kind: Spanned<String>,
    api_url: Option<Spanned<String>>,
    token_env: Option<String>,
    #[serde(default)]
    locations: Vec<RawLocation>,
    url: Option<Spanned<String>>,
    api_key_env: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLocation {
    name: String,
    rir: String,
    continent: Option<String>,
    country: Option<String>,
    magic: Option<String>,
    tag: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    timeout: Option<Spanned<String>>,
    ca: Option<Spanned<String>>,
    policy: Option<Spanned<String>>,
    authoritative_sources: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPerspective {
    name: Spanned<String>,
    role: Spanned<String>,
    rir: Option<Spanned<String>>,
    location: Option<Spanned<Vec<f64>>>,
    dns: Option<Spanned<String>>,
    ecs: Option<Spanned<String>>,
    http: Option<Spanned<String>>,
    doh_ca: Option<Spanned<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PolicyName;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, Path::new("t.toml")).map_err(|e| e.to_string())
    }

    const GOOD: &str = r#"
[defaults]
timeout = "2s"
ca = "LetsEncrypt.org"
policy = "letsencrypt"

[[perspective]]
name = "eu-ripe"
role = "remote"
rir = "RIPE"
location = [52.37, 4.90]
dns = "udp://127.0.1.2:5353"
ecs = "198.51.100.7/24"
http = "socks5://user:s3cret@127.0.30.2:1080"

[[perspective]]
name = "home"
role = "primary"
rir = "arin"
dns = "tcp://[::1]"

[[perspective]]
name = "ns-a"
role = "source"
dns = "https://doh.example.test/dns-query"
"#;

    #[test]
    fn parses_every_key_and_puts_primary_first() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.timeout, Some(Duration::from_secs(2)));
        assert_eq!(c.ca.as_deref(), Some("letsencrypt.org"));
        assert_eq!(c.policy, Some(PolicyName::Letsencrypt));
        assert_eq!(c.perspectives[0].name, "home");
        assert_eq!(
            c.perspectives[0].dns,
            DnsSpec::Tcp("[::1]:53".parse().unwrap())
        );
        let eu = &c.perspectives[1];
        assert_eq!(eu.rir, Some(Rir::Ripe));
        assert_eq!(eu.location, Some((52.37, 4.90)));
        assert_eq!(eu.ecs.unwrap().to_string(), "198.51.100.0/24");
        assert_eq!(eu.dns, DnsSpec::Udp("127.0.1.2:5353".parse().unwrap()));
        assert_eq!(c.perspectives[2].role, Role::Source);
    }

    #[test]
    fn credentials_are_never_displayed() {
        let c = parse(GOOD).unwrap();
        let shown = c.perspectives[1].http.to_string();
        assert!(
            !shown.contains("s3cret") && !shown.contains("user"),
            "{shown}"
        );
        assert!(shown.contains("127.0.30.2:1080"));
        let ep = c.perspectives[1].http.socks_endpoint().unwrap();
        assert_eq!(ep.auth, Some(("user".into(), "s3cret".into())));
        assert!(!format!("{ep:?}").contains("s3cret"));
        let e = "x".parse::<HttpSpec>().unwrap_err();
        assert!(!e.contains("secret"));
        let e = "ftp://a:secret@h:1".parse::<HttpSpec>().unwrap_err();
        assert!(!e.contains("secret"), "{e}");
    }

    fn err_of(text: &str) -> String {
        parse(text).unwrap_err()
    }

    #[test]
    fn type_errors_name_the_key_and_the_form_it_wants() {
        let e = err_of("[defaults]\ntimeout = 5\n");
        assert_eq!(
            e,
            "t.toml:2: defaults.timeout: expected a duration in quotes, like \"5s\", got integer 5"
        );
        let e = err_of(
            "[[perspective]]\nname = \"home\"\nrole = \"primary\"\n\n[[perspective]]\nname = \"eu\"\n\
             role = \"remote\"\nrir = \"RIPE\"\ndns = 53\n",
        );
        assert!(
            e.starts_with("t.toml:9: perspective[1].dns: expected a resolver URL in quotes")
                && e.ends_with("got integer 53"),
            "{e}"
        );
        let e =
            err_of("[[perspective]]\nname = \"home\"\nrole = \"primary\"\nlocation = \"paris\"\n");
        assert!(
            e.contains("perspective[0].location: expected [latitude, longitude]")
                && e.ends_with("got string \"paris\""),
            "{e}"
        );
        let e = err_of("[defaults]\nauthoritative_sources = \"yes\"\n");
        assert!(
            e.starts_with("t.toml:2: defaults.authoritative_sources: expected true or false"),
            "{e}"
        );
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let e = err_of(
            "[[perspective]]\nname = \"a\"\nrole = \"primary\"\nrir = \"ARIN\"\ncolour = 1\n",
        );
        assert!(e.starts_with("t.toml:5: colour:"), "{e}");
        let e = err_of("[[perspective]]\nname = \"a\"\nrole = \"boss\"\nrir = \"ARIN\"\n");
        assert!(e.starts_with("t.toml:3: perspective[0].role:"), "{e}");
        let e = err_of(
            "[[perspective]]\nname = \"a\"\nrole = \"primary\"\nrir = \"ARIN\"\ndns = \"udp://ns.example:53\"\n",
        );
        assert!(e.starts_with("t.toml:5: perspective[0].dns:"), "{e}");
        let e = err_of("[[perspective]]\nname = \"a\"\nrole = \"remote\"\n");
        assert!(
            e.contains("perspective[0].rir") && e.contains("needs rir"),
            "{e}"
        );
        assert!(
            parse("[[perspective]]\nname = \"a\"\nrole = \"primary\"\n").is_ok(),
            "a primary needs no rir"
        );
        let e = err_of("[[perspective]]\nname = \"a\"\nrole = \"remote\"\nrir = \"ARIN\"\n");
        assert!(e.contains("no perspective has role = \"primary\""), "{e}");
        let two = "[[perspective]]\nname = \"a\"\nrole = \"primary\"\nrir = \"ARIN\"\n\
                   [[perspective]]\nname = \"b\"\nrole = \"primary\"\nrir = \"RIPE\"\n";
        let e = err_of(two);
        assert!(
            e.starts_with("t.toml:7:") && e.contains("more than one primary"),
            "{e}"
        );
        let dup = "[[perspective]]\nname = \"a\"\nrole = \"primary\"\nrir = \"ARIN\"\n\
                   [[perspective]]\nname = \"a\"\nrole = \"remote\"\nrir = \"RIPE\"\n";
        assert!(err_of(dup).starts_with("t.toml:6: perspective[1].name: duplicate"));
        let e =
            err_of("[[perspective]]\nname = \"Big Name\"\nrole = \"primary\"\nrir = \"ARIN\"\n");
        assert!(e.contains("[a-z0-9-]"), "{e}");
        let e = err_of("[defaults]\ntimeout = \"soon\"\n");
        assert!(e.starts_with("t.toml:2: defaults.timeout:"), "{e}");
        let e = err_of(
            "[[perspective]]\nname = \"a\"\nrole = \"primary\"\nrir = \"ARIN\"\nhttp = \"ftp://h:1\"\n",
        );
        assert!(
            e.contains("perspective[0].http") && e.contains("unsupported proxy scheme"),
            "{e}"
        );
        let e = err_of(
            "[[perspective]]\nname = \"a\"\nrole = \"primary\"\nrir = \"ARIN\"\necs = \"10.0.0.0/33\"\n",
        );
        assert!(e.contains("perspective[0].ecs"), "{e}");
        let e = err_of(
            "[[perspective]]\nname = \"a\"\nrole = \"primary\"\nrir = \"ARIN\"\nlocation = [91.0, 0.0]\n",
        );
        assert!(e.contains("perspective[0].location"), "{e}");
        let e = err_of("");
        assert!(e.contains("no [[perspective]]"), "{e}");
        let e = err_of("[[perspective]\n");
        assert!(e.starts_with("t.toml:1:"), "{e}");
        assert_eq!(e.lines().count(), 1, "one line: {e}");
    }

    /// Found by `prop_config_sides_never_show_credentials`: a proxy URL given as the DNS side
    /// (an easy slip when copying the `http =` line) was quoted whole, password included.
    #[test]
    fn dns_side_errors_redact_credentials() {
        for value in [
            "socks5://user:Pw7secret@",
            "socks5://user:Pw7secret@127.0.0.1:1080",
            "udp://user:Pw7secret@192.0.2.1",
            "https://user:Pw7secret@[::1",
        ] {
            let e = value.parse::<DnsSpec>().unwrap_err();
            assert!(!e.contains("Pw7secret"), "{value:?}: {e}");
            assert!(e.contains("***@"), "{value:?}: {e}");
        }
        let e = err_of(
            "[[perspective]]\nname = \"a\"\nrole = \"primary\"\nrir = \"ARIN\"\n\
             dns = \"socks5://user:Pw7secret@127.0.0.1:1080\"\n",
        );
        assert!(e.starts_with("t.toml:5: perspective[0].dns:"), "{e}");
        assert!(!e.contains("Pw7secret"), "{e}");
    }

    /// Values the URL parser used to mis-split (a `#` in the user name made `us` the host and
    /// the password part of a fragment) or that a typo kept from being redacted: each is now one
    /// line naming file:line:key, and none shows the password.
    #[test]
    fn url_userinfo_and_scheme_typos_never_leak_the_password() {
        let side = |key: &str, value: &str| {
            err_of(&format!(
                "[[perspective]]\nname = \"a\"\nrole = \"primary\"\nrir = \"ARIN\"\n\
                 {key} = \"{value}\"\n"
            ))
        };
        for (key, value, says) in [
            (
                "http",
                "socks5://us#er:Secret@127.0.0.1:1080",
                "percent-encode",
            ),
            (
                "http",
                "socks5://user:Sec/ret@127.0.0.1:1080",
                "percent-encode",
            ),
            (
                "http",
                "http://us?er:Secret@127.0.0.1:3128",
                "percent-encode",
            ),
            (
                "http",
                "http://us\\\\er:Secret@127.0.0.1:3128",
                "percent-encode",
            ),
            ("http", "socks5:/user:Secret@h:1", "not an HTTP side"),
            ("http", "socks5//user:Secret@h:1", "not an HTTP side"),
            ("http", "socks5:user:Secret@h:1", "not an HTTP side"),
            ("http", "so cks5://user:Secret@h:1", "malformed scheme"),
            (
                "dns",
                "https://us#er:Secret@127.0.0.1/dns-query",
                "cannot carry a user",
            ),
            (
                "dns",
                "https://user:Secret@127.0.0.1/dns-query",
                "cannot carry a user",
            ),
            (
                "dns",
                "https:/user:Secret@127.0.0.1/dns-query",
                "not a DNS side",
            ),
            ("dns", "udp//user:Secret@127.0.0.1", "not a DNS side"),
            ("dns", "a:Secret@b://127.0.0.1", "malformed scheme"),
        ] {
            let e = side(key, value);
            assert!(
                e.starts_with(&format!("t.toml:5: perspective[0].{key}:")),
                "{value}: {e}"
            );
            assert!(e.contains(says), "{value}: {e}");
            assert!(!e.contains("Secret") && !e.contains("ret@"), "{value}: {e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
        // The typos are still quoted, so the user can see which line is wrong.
        let e = side("http", "socks5:/user:Secret@h:1");
        assert!(e.contains(r#""socks5:/***@h:1""#), "{e}");
        let e = side("http", "socks5//user:Secret@h:1");
        assert!(e.contains(r#""socks5//***@h:1""#), "{e}");
        // A DoH URL without userinfo is as before; with a percent-encoded one too is refused.
        assert!(matches!(
            "https://127.0.0.1/dns-query".parse::<DnsSpec>(),
            Ok(DnsSpec::Doh(_))
        ));
        assert!("https://u%23:S%2F@h/dns-query".parse::<DnsSpec>().is_err());
        // Percent-encoded, the same characters are fine in a proxy password.
        let h: HttpSpec = "socks5://us%23er:Sec%2Fret@127.0.0.1:1080".parse().unwrap();
        assert_eq!(
            h.socks_endpoint().unwrap().auth,
            Some(("us#er".into(), "Sec/ret".into()))
        );
        // Engine URLs follow the same rules.
        for url in [
            "https://us#er:Secret@api.example.test",
            "https:/user:Secret@api.example.test",
        ] {
            let e = err_of(&format!(
                "{MINIMAL_PRIMARY}[[engine]]\nkind = \"open-mpic\"\nurl = \"{url}\"\n"
            ));
            assert!(e.starts_with("t.toml:7: engine[0].url:"), "{url}: {e}");
            assert!(!e.contains("Secret"), "{url}: {e}");
        }
    }

    #[test]
    fn modules_are_parsed_and_checked_against_the_perspectives() {
        let base = "[defaults]\ntimeout = \"2s\"\nca = \"letsencrypt.org\"\n\
                    [[perspective]]\nname = \"home\"\nrole = \"primary\"\nrir = \"ARIN\"\n\
                    [[perspective]]\nname = \"eu\"\nrole = \"remote\"\nrir = \"RIPE\"\n\
                    [[perspective]]\nname = \"ap\"\nrole = \"remote\"\nrir = \"APNIC\"\n";
        let c = parse(&format!(
            "{base}[modules.dns]\nperspectives = [\"home\", \"eu\"]\nmethod = \"dns-01\"\n\
             policy = \"letsencrypt\"\nca = \"Pki.Goog\"\ntimeout = \"500ms\"\n[modules.plain]\n"
        ))
        .unwrap();
        assert_eq!(c.module_names(), ["default", "dns", "plain"]);
        let (view, m) = c.for_module("dns").unwrap();
        assert_eq!(m.method, Some(crate::observation::Method::Dns01));
        let names: Vec<&str> = view.perspectives.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["home", "eu"]);
        assert_eq!(view.ca.as_deref(), Some("pki.goog"));
        assert_eq!(view.policy, Some(PolicyName::Letsencrypt));
        assert_eq!(view.timeout, Some(Duration::from_millis(500)));
        // An empty module is the file's defaults; `default` exists without being defined.
        let (view, m) = c.for_module("plain").unwrap();
        assert_eq!((view.perspectives.len(), m.method), (3, None));
        assert_eq!(view.timeout, Some(Duration::from_secs(2)));
        assert!(c.for_module("default").is_some());
        assert!(c.for_module("nope").is_none());

        for (module, says) in [
            (
                "[modules.x]\nperspectives = [\"eu\"]\n",
                "modules.x.perspectives: must include the primary perspective \"home\"",
            ),
            (
                "[modules.x]\nperspectives = [\"home\", \"us\"]\n",
                "modules.x.perspectives: no [[perspective]] is named \"us\"",
            ),
            (
                "[modules.x]\nmethod = \"tls-sni-01\"\n",
                "modules.x.method: \"tls-sni-01\": use auto, http-01, dns-01 or tls-alpn-01",
            ),
            ("[modules.x]\npolicy = \"strict\"\n", "modules.x.policy:"),
            ("[modules.x]\nca = \"https://ca\"\n", "modules.x.ca:"),
            (
                "[modules.x]\ntimeout = \"0s\"\n",
                "modules.x.timeout: must be between",
            ),
            ("[modules.x]\nperspective = [\"home\"]\n", "perspective"),
            ("[modules.\"a b\"]\n", "modules.a b: a module name is"),
        ] {
            let e = err_of(&format!("{base}{module}"));
            assert!(
                e.starts_with("t.toml:1") && e.contains(says),
                "{module}: {e}"
            );
            assert_eq!(e.lines().count(), 1, "{e}");
        }
    }

    const MINIMAL_PRIMARY: &str =
        "[[perspective]]\nname = \"a\"\nrole = \"primary\"\nrir = \"ARIN\"\n";

    #[test]
    fn engines_are_parsed_and_checked() {
        let base = "[[perspective]]\nname = \"a\"\nrole = \"primary\"\nrir = \"ARIN\"\n";
        let c = parse(&format!(
            "{base}[[engine]]\nkind = \"globalping\"\nlocations = [ {{ name = \"gp-eu\", magic = \"Europe\", rir = \"RIPE\" }} ]\n\
             [[engine]]\nkind = \"open-mpic\"\nurl = \"https://mpic.example.net/mpic\"\n"
        ))
        .unwrap();
        assert_eq!(c.engines.len(), 2);
        assert!(
            matches!(&c.engines[0], EngineSpec::Globalping { locations, .. } if locations[0].name == "gp-eu")
        );
        let e = err_of(&format!("{base}[[engine]]\nkind = \"globalping\"\n"));
        assert!(
            e.contains("engine[0].locations") && e.contains("at least one"),
            "{e}"
        );
        let e = err_of(&format!(
            "{base}[[engine]]\nkind = \"globalping\"\nlocations = [ {{ name = \"x\", rir = \"RIPE\" }} ]\n"
        ));
        assert!(e.contains("exactly one of continent"), "{e}");
        let e = err_of(&format!("{base}[[engine]]\nkind = \"open-mpic\"\n"));
        assert!(e.contains("engine[0].url"), "{e}");
        let e = err_of(&format!("{base}[[engine]]\nkind = \"ripe-atlas\"\n"));
        assert!(e.contains("use globalping or open-mpic"), "{e}");
    }
}
