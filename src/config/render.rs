//! A configuration written back as the TOML of the file format: `config init` writes the built-in
//! set this way (with commented examples of proxies and engines) and `config show` prints the
//! effective set. Proxy credentials go through the redacting `Display` of the specs, so `show`
//! never prints a password; environment variables are named, never read.

use std::fmt::Write as _;

use super::engine::LocationSpec;
use super::{Config, EngineSpec, PolicyName};
use crate::observation::Role;

/// TOML string literal.
fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The commented examples `config init` appends: a SOCKS proxy over `ssh -D` and the engines.
pub const EXAMPLES: &str = r#"
# --- Real vantage points --------------------------------------------------------------------
# The remotes above ask DNS from this host with an ECS subnet ("emulated") and fetch HTTP from
# this host: they cannot see geoblocking or nameservers that refuse other regions. For that,
# make a remote's traffic leave from its region.
#
# A SOCKS proxy over SSH to a machine in that region (keep it running while you check):
#   ssh -N -D 127.0.0.1:1080 user@vps-in-frankfurt
# then give the remote that proxy; its DNS (authoritative, over TCP) goes through it too:
#
# [[perspective]]
# name = "ripe-vps"
# role = "remote"
# rir = "RIPE"
# location = [50.11, 8.68]
# dns = "authoritative"
# http = "socks5://127.0.0.1:1080"
#
# Globalping probes (a third party: the names checked are sent to it; a free token raises the
# limits, read from the environment variable named here and never printed):
#
# [[engine]]
# kind = "globalping"
# token_env = "GLOBALPING_TOKEN"
# locations = [ { name = "gp-na", continent = "NA", rir = "ARIN" },
#               { name = "gp-eu", continent = "EU", rir = "RIPE" },
#               { name = "gp-as", continent = "AS", rir = "APNIC" },
#               { name = "gp-sa", continent = "SA", rir = "LACNIC" },
#               { name = "gp-af", continent = "AF", rir = "AFRINIC" } ]
#
# An Open MPIC deployment of your own:
#
# [[engine]]
# kind = "open-mpic"
# url = "https://mpic.example.net/mpic"
# api_key_env = "OPEN_MPIC_API_KEY"
"#;

impl Config {
    /// The configuration as the TOML of a config file, one comment per perspective saying where
    /// its DNS and HTTP are really made.
    pub fn to_toml(&self) -> String {
        let mut t = String::new();
        let mut defaults = String::new();
        if let Some(d) = self.timeout {
            let _ = writeln!(
                defaults,
                "timeout = {}",
                q(&humantime::format_duration(d).to_string())
            );
        }
        if let Some(ca) = &self.ca {
            let _ = writeln!(defaults, "ca = {}", q(ca));
        }
        if let Some(p) = self.policy {
            let word = match p {
                PolicyName::Br => "br",
                PolicyName::Letsencrypt => "letsencrypt",
                PolicyName::Custom => "custom",
            };
            let _ = writeln!(defaults, "policy = {}", q(word));
        }
        if !self.authoritative_sources {
            defaults.push_str("authoritative_sources = false\n");
        }
        if !defaults.is_empty() {
            t.push_str("[defaults]\n");
            t.push_str(&defaults);
        }
        for p in &self.perspectives {
            if !t.is_empty() {
                t.push('\n');
            }
            let _ = writeln!(
                t,
                "# DNS: {}{}",
                p.dns_provenance(),
                if p.role == Role::Source {
                    String::new()
                } else {
                    format!("; HTTP: {}", p.http_provenance())
                }
            );
            t.push_str("[[perspective]]\n");
            let _ = writeln!(t, "name = {}", q(&p.name));
            let _ = writeln!(t, "role = {}", q(&p.role.to_string()));
            if let Some(r) = p.rir {
                let _ = writeln!(t, "rir = {}", q(r.as_str()));
            }
            if let Some((lat, lon)) = p.location {
                let _ = writeln!(t, "location = [{lat:.2}, {lon:.2}]");
            }
            let _ = writeln!(t, "dns = {}", q(&p.dns.to_string()));
            if let Some(e) = &p.ecs {
                let _ = writeln!(t, "ecs = {}", q(&e.to_string()));
            }
            let _ = writeln!(t, "http = {}", q(&p.http.to_string()));
            if let Some(c) = &p.doh_ca {
                let _ = writeln!(t, "doh_ca = {}", q(&c.display().to_string()));
            }
        }
        for e in &self.engines {
            t.push_str("\n[[engine]]\n");
            match e {
                EngineSpec::Globalping {
                    api_url,
                    token_env,
                    locations,
                } => {
                    t.push_str("kind = \"globalping\"\n");
                    let _ = writeln!(t, "api_url = {}", q(&super::redact_url(api_url)));
                    let _ = writeln!(t, "token_env = {}", q(token_env));
                    let locs: Vec<String> = locations
                        .iter()
                        .map(|l| {
                            let (k, v) = match &l.spec {
                                LocationSpec::Continent(c) => ("continent", c),
                                LocationSpec::Country(c) => ("country", c),
                                LocationSpec::Magic(m) => ("magic", m),
                                LocationSpec::Tag(x) => ("tag", x),
                            };
                            format!(
                                "{{ name = {}, {k} = {}, rir = {} }}",
                                q(&l.name),
                                q(v),
                                q(l.rir.as_str())
                            )
                        })
                        .collect();
                    let _ = writeln!(t, "locations = [ {} ]", locs.join(",\n              "));
                }
                EngineSpec::OpenMpic { url, api_key_env } => {
                    t.push_str("kind = \"open-mpic\"\n");
                    let _ = writeln!(t, "url = {}", q(&super::redact_url(url)));
                    let _ = writeln!(t, "api_key_env = {}", q(api_key_env));
                }
            }
        }
        if !self.modules.is_empty() {
            let _ = writeln!(
                t,
                "\n# {} [modules.*] table(s) of the file are not shown",
                self.modules.len()
            );
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn the_built_in_set_round_trips_through_its_toml() {
        let c = Config::built_in();
        let text = format!("{}{EXAMPLES}", c.to_toml());
        let back = Config::parse(&text, Path::new("init.toml")).unwrap();
        assert_eq!(back.perspectives, c.perspectives);
        assert!(text.contains("# DNS: emulated (ECS 73.0.0.0/24); HTTP: this host"));
    }

    #[test]
    fn show_never_prints_a_proxy_password() {
        let text = "[[perspective]]\nname = \"home\"\nrole = \"primary\"\n\n[[perspective]]\n\
                    name = \"eu\"\nrole = \"remote\"\nrir = \"RIPE\"\ndns = \"authoritative\"\n\
                    http = \"socks5://alice:s3cret@127.0.0.1:1080\"\n";
        let c = Config::parse(text, Path::new("c.toml")).unwrap();
        let shown = c.to_toml();
        assert!(
            !shown.contains("s3cret") && !shown.contains("alice"),
            "{shown}"
        );
        assert!(shown.contains("# DNS: proxy 127.0.0.1:1080; HTTP: proxy 127.0.0.1:1080"));
    }
}
