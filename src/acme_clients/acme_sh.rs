//! acme.sh: each `<domain>/<domain>.conf` (RSA) or `<domain>_ecc/<domain>.conf` (ECC) under the
//! cert home (normally `~/.acme.sh`) becomes a `ManagedCert`. The confs are shell assignments
//! (`Le_Domain='example.com'`) that acme.sh sources, so values are read with shell quoting rules.
//! Unlike certbot, acme.sh renews the names in the conf (`Le_Domain` + `Le_Alt`), not those of the
//! current certificate, and keeps the validation mode of each name in `Le_Webroot`: a path
//! (webroot), `no` (standalone), `nginx:`, `apache`, `stateless`, `alpn`, `dns` (manual) or a DNS
//! API such as `dns_cf`. The account URL lives in the CA's `ca/<host>/<path>/ca.conf`.

use std::fs;
use std::path::{Path, PathBuf};

use super::{
    ManagedCert, ReadError, ca_issuer_domain, collect_names, io_message, parse_cert_pem,
    read_limited,
};
use crate::identifier::Identifier;
use crate::observation::Method;

/// acme.sh's `ECC_SUFFIX`: ECC certificates live in `<domain>_ecc/`.
const ECC_SUFFIX: &str = "_ecc";

/// Reads every domain conf under `dir`, in directory-name order. Directories without a domain
/// conf (`ca/`, `dnsapi/`, `deploy/`, `notify/` in an install dir) are not certificates and are
/// passed over silently; each conf yields a certificate or an error on its own.
pub fn read_dir(dir: &Path) -> (Vec<ManagedCert>, Vec<ReadError>) {
    let mut certs = Vec::new();
    let mut errors = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            let message = format!("cannot list acme.sh domains: {}", io_message(&e));
            return (certs, vec![ReadError::new(dir, message)]);
        }
    };
    let mut domain_dirs = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) if entry.path().is_dir() => {
                domain_dirs.push(entry.file_name().to_string_lossy().into_owned());
            }
            Ok(_) => {}
            Err(e) => errors.push(ReadError::new(dir, io_message(&e))),
        }
    }
    domain_dirs.sort();
    for dir_name in domain_dirs {
        let domain = dir_name.strip_suffix(ECC_SUFFIX).unwrap_or(&dir_name);
        if domain.is_empty() {
            continue;
        }
        let conf = dir.join(&dir_name).join(format!("{domain}.conf"));
        if fs::symlink_metadata(&conf).is_err() {
            continue;
        }
        match read_conf(dir, &conf, domain) {
            Ok(cert) => certs.push(cert),
            Err(e) => errors.push(e),
        }
    }
    (certs, errors)
}

/// How acme.sh validates one name, from its `Le_Webroot` field.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    Webroot(String),
    Standalone,
    Nginx,
    Apache,
    Stateless,
    /// tls-alpn-01 (acme.sh `--alpn`).
    Alpn,
    /// `--dns` without an API: the user adds the TXT record by hand.
    DnsManual,
    DnsApi(String),
    /// Empty field: acme.sh has no mode for the name.
    Missing,
}

impl Mode {
    fn parse(field: &str) -> Mode {
        match field.trim() {
            "" => Mode::Missing,
            "no" => Mode::Standalone,
            "apache" => Mode::Apache,
            "stateless" => Mode::Stateless,
            "alpn" => Mode::Alpn,
            "dns" => Mode::DnsManual,
            f if f.starts_with("nginx:") => Mode::Nginx,
            f if f.starts_with("dns_") => Mode::DnsApi(f.to_owned()),
            // Anything else is a webroot path, exactly as acme.sh treats it.
            f => Mode::Webroot(f.to_owned()),
        }
    }

    fn label(&self) -> &str {
        match self {
            Mode::Webroot(_) => "webroot",
            Mode::Standalone => "standalone",
            Mode::Nginx => "nginx",
            Mode::Apache => "apache",
            Mode::Stateless => "stateless",
            Mode::Alpn => "alpn",
            Mode::DnsManual => "dns",
            Mode::DnsApi(api) => api,
            Mode::Missing => "none",
        }
    }

    fn method(&self) -> Method {
        match self {
            Mode::DnsManual | Mode::DnsApi(_) => Method::Dns01,
            Mode::Alpn => Method::TlsAlpn01,
            _ => Method::Http01,
        }
    }
}

/// acme.sh's `_getfield`: field `index` (1-based) of a comma list, falling back to the nearest
/// non-empty earlier field, then to the whole string. This is how one `-w` serves every later
/// `-d`, and why `Le_Webroot` may hold fewer fields than there are names.
fn getfield(list: &str, index: usize) -> &str {
    let fields: Vec<&str> = list.split(',').collect();
    (1..=index)
        .rev()
        .filter_map(|i| fields.get(i - 1))
        .find(|f| !f.is_empty())
        .copied()
        .unwrap_or(list)
}

/// Short CA names acme.sh accepts for `--server` (`CA_NAMES`); it normally stores the URL, but a
/// hand-edited conf may hold the name.
fn resolve_server(api: &str) -> String {
    let url = match api.to_ascii_lowercase().as_str() {
        "zerossl" => "https://acme.zerossl.com/v2/DV90",
        "letsencrypt" => "https://acme-v02.api.letsencrypt.org/directory",
        "letsencrypt_test" | "letsencrypttest" => {
            "https://acme-staging-v02.api.letsencrypt.org/directory"
        }
        "buypass" => "https://api.buypass.com/acme/directory",
        "buypass_test" | "buypasstest" => "https://api.test4.buypass.no/acme/directory",
        "sslcom" => "https://acme.ssl.com/sslcom-dv-rsa",
        "google" => "https://dv.acme-v02.api.pki.goog/directory",
        "googletest" | "google_test" => "https://dv.acme-v02.test-api.pki.goog/directory",
        "actalis" | "actalis.com" => "https://acme-api.actalis.com/acme/directory",
        _ => return api.to_owned(),
    };
    url.to_owned()
}

fn read_conf(home: &Path, conf: &Path, dir_domain: &str) -> Result<ManagedCert, ReadError> {
    let fail = |message: String| ReadError::new(conf, message);
    let bytes = read_limited(conf).map_err(&fail)?;
    // The shell does not care about encodings; neither do we beyond reading the ASCII keys.
    let vars = parse_shell_assignments(&String::from_utf8_lossy(&bytes));
    let get = |key: &str| {
        vars.iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };

    let mut warnings = Vec::new();
    let main = get("Le_Domain").ok_or_else(|| fail("no Le_Domain".to_owned()))?;
    if main != dir_domain {
        warnings.push(format!(
            "Le_Domain {main:?} does not match its directory {dir_domain:?}"
        ));
    }
    let mut raw_names = vec![main.clone()];
    if let Some(alt) = get("Le_Alt").filter(|a| a != "no") {
        raw_names.extend(
            alt.split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_owned),
        );
    }

    let le_webroot = get("Le_Webroot").unwrap_or_default();
    // Pair each raw name with its mode before dropping unusable names, so positions match.
    let mut per_name: Vec<(Identifier, Mode)> = Vec::new();
    for (index, raw) in raw_names.iter().enumerate() {
        let mode = Mode::parse(getfield(&le_webroot, index + 1));
        for id in collect_names([raw.as_str()], "conf", &mut warnings) {
            if !per_name.iter().any(|(n, _)| *n == id) {
                per_name.push((id, mode.clone()));
            }
        }
    }
    if per_name.is_empty() {
        return Err(fail("no usable names in Le_Domain / Le_Alt".to_owned()));
    }
    let names: Vec<Identifier> = per_name.iter().map(|(n, _)| n.clone()).collect();

    let mut labels: Vec<&str> = Vec::new();
    for (_, mode) in &per_name {
        if !labels.contains(&mode.label()) {
            labels.push(mode.label());
        }
    }
    let authenticator = labels.join(",");
    let method = acme_sh_method(&per_name, &mut warnings);
    mode_warnings(&per_name, &mut warnings);

    let webroots = per_name
        .iter()
        .filter(|(n, _)| !n.is_wildcard())
        .filter_map(|(n, mode)| match mode {
            Mode::Webroot(path) => Some((n.name.clone(), PathBuf::from(path))),
            _ => None,
        })
        .collect();

    let server = get("Le_API").map(|api| resolve_server(&api));
    if server.is_none() {
        warnings.push("no Le_API: acme.sh would use its default CA".to_owned());
    }
    let account_uri = server
        .as_deref()
        .and_then(|s| account_uri(home, s, &mut warnings));

    let not_after = current_cert(conf, &main, &names, &mut warnings);
    // acme.sh stores the next renewal as epoch seconds; `--cron` renews once it has passed.
    let renew_from = get("Le_NextRenewTime")
        .and_then(|t| t.parse::<i64>().ok())
        .and_then(|t| chrono::DateTime::<chrono::Utc>::from_timestamp(t, 0));

    Ok(ManagedCert {
        source: conf.to_path_buf(),
        lineage: main,
        names,
        method,
        authenticator,
        webroots,
        ca_issuer_domain: server.as_deref().and_then(ca_issuer_domain),
        server,
        account_uri,
        not_after,
        renew_from,
        autorenew: true,
        warnings,
    })
}

/// One method for the certificate: dns-01 as soon as a wildcard is present (the CA offers nothing
/// else for it), otherwise the shared method of all names, otherwise (mixed modes) the main
/// domain's, with a warning since the names will then be checked differently.
fn acme_sh_method(per_name: &[(Identifier, Mode)], warnings: &mut Vec<String>) -> Method {
    let first = per_name.first().map_or(Method::Http01, |(_, m)| m.method());
    let mixed = per_name.iter().any(|(_, m)| m.method() != first);
    if mixed {
        let detail: Vec<String> = per_name
            .iter()
            .map(|(n, m)| format!("{n}: {}", m.label()))
            .collect();
        warnings.push(format!(
            "names use different validation modes ({})",
            detail.join(", ")
        ));
    }
    if per_name.iter().any(|(n, _)| n.is_wildcard()) {
        Method::Dns01
    } else {
        first
    }
}

fn mode_warnings(per_name: &[(Identifier, Mode)], warnings: &mut Vec<String>) {
    let mut seen: Vec<&Mode> = Vec::new();
    for (name, mode) in per_name {
        if name.is_wildcard() && mode.method() != Method::Dns01 {
            warnings.push(format!(
                "{name} needs dns-01 but its mode {:?} answers {}: the renewal will fail",
                mode.label(),
                mode.method().as_str()
            ));
        }
        if seen.contains(&mode) {
            continue;
        }
        seen.push(mode);
        match mode {
            Mode::DnsManual => warnings.push(
                "dns manual mode: acme.sh cannot renew this certificate unattended".to_owned(),
            ),
            Mode::Missing => warnings.push(format!(
                "no validation mode for {name} in Le_Webroot; assuming http-01"
            )),
            Mode::Webroot(path) if !Path::new(path).is_absolute() => warnings.push(format!(
                "webroot {path:?} is not an absolute path; acme.sh resolves it from its working \
                 directory"
            )),
            _ => {}
        }
    }
}

/// `ACCOUNT_URL` from `<home>/ca/<host>/<path>/ca.conf` (acme.sh ≥ 2.9 layout), or the older
/// `<home>/ca/<host>/ca.conf`.
fn account_uri(home: &Path, server: &str, warnings: &mut Vec<String>) -> Option<String> {
    let url = url::Url::parse(server).ok()?;
    let host = url.host_str()?;
    let host_dir = home.join("ca").join(host);
    let mut ca_dir = host_dir.clone();
    for segment in url.path().split('/').filter(|s| !s.is_empty()) {
        if segment == ".." {
            return None;
        }
        ca_dir.push(segment);
    }
    for candidate in [ca_dir.join("ca.conf"), host_dir.join("ca.conf")] {
        let Ok(bytes) = read_limited(&candidate) else {
            continue;
        };
        let vars = parse_shell_assignments(&String::from_utf8_lossy(&bytes));
        let found = vars
            .iter()
            .rev()
            .find(|(k, _)| k == "ACCOUNT_URL")
            .map(|(_, v)| v.trim().to_owned());
        if let Some(uri) = found.filter(|u| url::Url::parse(u).is_ok()) {
            return Some(uri);
        }
    }
    warnings.push(format!(
        "no ACCOUNT_URL in {}; accounturi unknown",
        ca_dir.join("ca.conf").display()
    ));
    None
}

/// The expiry of `<domain>.cer` next to the conf, and a warning when the certificate's names
/// differ from the conf's (the conf was changed and the next renewal will request new names).
fn current_cert(
    conf: &Path,
    main: &str,
    names: &[Identifier],
    warnings: &mut Vec<String>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let cer = conf.with_file_name(format!("{main}.cer"));
    let facts = match read_limited(&cer).and_then(|bytes| parse_cert_pem(&bytes)) {
        Ok(facts) => facts,
        Err(e) => {
            warnings.push(format!(
                "certificate {}: {e}; expiry unknown",
                cer.display()
            ));
            return None;
        }
    };
    let mut ignored = Vec::new();
    let in_cert = collect_names(facts.dns_names.iter().map(String::as_str), "", &mut ignored);
    let mut want: Vec<&str> = names.iter().map(|n| n.name.as_str()).collect();
    let mut have: Vec<&str> = in_cert.iter().map(|n| n.name.as_str()).collect();
    want.sort_unstable();
    have.sort_unstable();
    if want != have {
        warnings.push(format!(
            "the current certificate covers {} but the conf asks for {}",
            have.join(", "),
            want.join(", ")
        ));
    }
    facts.not_after
}

/// `NAME=value` lines as a POSIX shell would assign them (optionally after `export`), with
/// single quotes, double quotes (backslash escapes for `"`, `\`, `$`, `` ` ``), backslashes and
/// concatenation (`'it'\''s'`). Lines that are not plain assignments are ignored: acme.sh confs
/// contain nothing else, and no code is ever run.
fn parse_shell_assignments(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let name_len = line
            .char_indices()
            .find(|&(i, c)| !(c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
            .map_or(line.len(), |(i, _)| i);
        if name_len == 0 {
            continue;
        }
        let Some(value) = line[name_len..].strip_prefix('=') else {
            continue;
        };
        out.push((line[..name_len].to_owned(), shell_word(value)));
    }
    out
}

/// The first shell word of `s`, quotes removed. Unterminated quotes run to the end of the line
/// (lenient: the shell would fail, but the rest of the conf is still worth reading).
fn shell_word(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => break,
            '\'' => {
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    out.push(c);
                }
            }
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some(e @ ('"' | '\\' | '$' | '`')) => out.push(e),
                            Some(other) => {
                                out.push('\\');
                                out.push(other);
                            }
                            None => out.push('\\'),
                        },
                        c => out.push(c),
                    }
                }
            }
            '\\' => {
                if let Some(e) = chars.next() {
                    out.push(e);
                }
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOT_AFTER: &str = "2027-02-26T15:51:56+00:00";

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/acme_sh")
    }

    fn names(cert: &ManagedCert) -> Vec<&str> {
        cert.names.iter().map(|n| n.name.as_str()).collect()
    }

    /// A scratch home with one domain conf (and optionally a copy of a fixture certificate).
    fn read_one(dir_name: &str, domain: &str, conf: &str, cer: Option<&str>) -> ManagedCert {
        let tmp = tempfile::tempdir().unwrap();
        let domain_dir = tmp.path().join(dir_name);
        fs::create_dir_all(&domain_dir).unwrap();
        fs::write(domain_dir.join(format!("{domain}.conf")), conf).unwrap();
        if let Some(lineage) = cer {
            let src = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/certbot/live")
                .join(lineage)
                .join("cert.pem");
            fs::copy(src, domain_dir.join(format!("{domain}.cer"))).unwrap();
        }
        let (mut certs, errors) = read_dir(tmp.path());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(certs.len(), 1);
        certs.remove(0)
    }

    #[test]
    fn fixture_home() {
        let (certs, errors) = read_dir(&fixtures());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0]
                .path
                .ends_with("bad.example.test/bad.example.test.conf")
        );
        assert!(errors[0].message.contains("no Le_Domain"), "{}", errors[0]);
        let lineages: Vec<&str> = certs.iter().map(|c| c.lineage.as_str()).collect();
        assert_eq!(lineages, ["example.test", "web.example.test"]);

        let ecc = &certs[0];
        assert!(ecc.source.ends_with("example.test_ecc/example.test.conf"));
        assert_eq!(
            names(ecc),
            ["example.test", "www.example.test", "*.example.test"]
        );
        assert_eq!(
            (ecc.method, ecc.authenticator.as_str()),
            (Method::Dns01, "dns_cf")
        );
        assert!(ecc.webroots.is_empty());
        assert_eq!(
            ecc.server.as_deref(),
            Some("https://acme-v02.api.letsencrypt.org/directory")
        );
        assert_eq!(ecc.ca_issuer_domain.as_deref(), Some("letsencrypt.org"));
        assert_eq!(
            ecc.account_uri.as_deref(),
            Some("https://acme-v02.api.letsencrypt.org/acme/acct/2345678901")
        );
        assert_eq!(
            ecc.not_after.map(|t| t.to_rfc3339()).as_deref(),
            Some(NOT_AFTER)
        );
        assert!(ecc.warnings.is_empty(), "{:?}", ecc.warnings);

        let web = &certs[1];
        assert_eq!(names(web), ["web.example.test", "static.example.test"]);
        assert_eq!(
            (web.method, web.authenticator.as_str()),
            (Method::Http01, "webroot")
        );
        assert_eq!(
            web.webroots,
            [
                ("web.example.test".to_owned(), PathBuf::from("/var/www/web")),
                (
                    "static.example.test".to_owned(),
                    PathBuf::from("/srv/static")
                ),
            ]
        );
        assert_eq!(web.ca_issuer_domain.as_deref(), Some("sectigo.com"));
        assert_eq!(web.account_uri, None);
        assert_eq!(web.not_after, None);
        assert_eq!(web.warnings.len(), 2, "{:?}", web.warnings);
        assert!(
            web.warnings[0].contains("ACCOUNT_URL"),
            "{:?}",
            web.warnings
        );
        assert!(
            web.warnings[1].contains("expiry unknown"),
            "{:?}",
            web.warnings
        );
    }

    #[test]
    fn one_webroot_serves_later_names() {
        let conf = "Le_Domain=a.example.test\nLe_Alt=b.example.test,c.example.test\n\
                    Le_Webroot=/srv/a,,/srv/c\nLe_API=letsencrypt\n";
        let cert = read_one("a.example.test", "a.example.test", conf, None);
        assert_eq!(
            cert.webroots,
            [
                ("a.example.test".to_owned(), PathBuf::from("/srv/a")),
                ("b.example.test".to_owned(), PathBuf::from("/srv/a")),
                ("c.example.test".to_owned(), PathBuf::from("/srv/c")),
            ]
        );
        // A short CA name is resolved to the URL acme.sh would use.
        assert_eq!(
            cert.server.as_deref(),
            Some("https://acme-v02.api.letsencrypt.org/directory")
        );
    }

    #[test]
    fn modes_map_to_methods() {
        for (webroot, method, auth) in [
            ("no", Method::Http01, "standalone"),
            ("nginx:", Method::Http01, "nginx"),
            ("nginx:/etc/nginx/nginx.conf", Method::Http01, "nginx"),
            ("apache", Method::Http01, "apache"),
            ("stateless", Method::Http01, "stateless"),
            ("alpn", Method::TlsAlpn01, "alpn"),
            ("dns", Method::Dns01, "dns"),
            ("dns_aws", Method::Dns01, "dns_aws"),
            ("/var/www/html", Method::Http01, "webroot"),
        ] {
            let conf = format!(
                "Le_Domain='a.example.test'\nLe_Alt='no'\nLe_Webroot='{webroot}'\n\
                 Le_API='https://acme-v02.api.letsencrypt.org/directory'\n"
            );
            let cert = read_one("a.example.test", "a.example.test", &conf, None);
            assert_eq!(
                (cert.method, cert.authenticator.as_str()),
                (method, auth),
                "{webroot}"
            );
            assert_eq!(names(&cert), ["a.example.test"]);
            if webroot == "dns" {
                assert!(cert.warnings.iter().any(|w| w.contains("unattended")));
            }
        }
    }

    #[test]
    fn wildcards_force_dns01_and_http_modes_warn() {
        let conf = "Le_Domain='a.example.test'\nLe_Alt='*.a.example.test'\nLe_Webroot='no'\n";
        let cert = read_one("a.example.test", "a.example.test", conf, None);
        assert_eq!(cert.method, Method::Dns01);
        assert!(
            cert.warnings
                .iter()
                .any(|w| w.contains("*.a.example.test") && w.contains("will fail")),
            "{:?}",
            cert.warnings
        );
        assert!(
            cert.warnings.iter().any(|w| w.contains("no Le_API")),
            "{:?}",
            cert.warnings
        );
        assert_eq!(cert.server, None);

        // A wildcard on a DNS API is the normal case: no warning about it.
        let conf = "Le_Domain='*.a.example.test'\nLe_Alt='no'\nLe_Webroot='dns_cf'\n";
        let cert = read_one("*.a.example.test_ecc", "*.a.example.test", conf, None);
        assert_eq!(cert.method, Method::Dns01);
        assert_eq!(cert.lineage, "*.a.example.test");
        assert!(
            !cert.warnings.iter().any(|w| w.contains("will fail")),
            "{:?}",
            cert.warnings
        );
    }

    #[test]
    fn mixed_modes_warn_and_follow_the_main_domain() {
        let conf = "Le_Domain='a.example.test'\nLe_Alt='b.example.test'\n\
                    Le_Webroot='/srv/a,dns_cf'\n";
        let cert = read_one("a.example.test", "a.example.test", conf, None);
        assert_eq!(cert.method, Method::Http01);
        assert_eq!(cert.authenticator, "webroot,dns_cf");
        assert_eq!(
            cert.webroots,
            [("a.example.test".to_owned(), PathBuf::from("/srv/a"))]
        );
        assert!(
            cert.warnings
                .iter()
                .any(|w| w.contains("different validation modes"))
        );
    }

    #[test]
    fn stale_certificate_and_odd_values_warn() {
        let conf = "export Le_Domain=\"web.example.test\"\nLe_Alt=\"new.example.test\"\n\
                    Le_Webroot=\"relative/dir\"\n";
        let cert = read_one("other", "other", conf, None);
        // The directory name and Le_Domain disagree.
        assert!(
            cert.warnings.iter().any(|w| w.contains("does not match")),
            "{:?}",
            cert.warnings
        );

        let cert = read_one(
            "web.example.test",
            "web.example.test",
            conf,
            Some("web.example.test"),
        );
        assert_eq!(
            cert.not_after.map(|t| t.to_rfc3339()).as_deref(),
            Some(NOT_AFTER)
        );
        assert!(
            cert.warnings.iter().any(|w| w
                .contains("covers static.example.test, web.example.test")
                && w.contains("asks for new.example.test, web.example.test")),
            "{:?}",
            cert.warnings
        );
        assert!(
            cert.warnings
                .iter()
                .any(|w| w.contains("not an absolute path"))
        );
    }

    #[test]
    fn bad_names_are_skipped_and_no_names_is_an_error() {
        let conf = "Le_Domain='a.example.test'\nLe_Alt='bad_name.example.test,,1.2.3.4'\n\
                    Le_Webroot='no'\n";
        let cert = read_one("a.example.test", "a.example.test", conf, None);
        // An IP address is an identifier (RFC 8738; acme.sh issues for one with `-d 1.2.3.4`).
        assert_eq!(names(&cert), ["a.example.test", "1.2.3.4"]);
        assert_eq!(
            cert.warnings
                .iter()
                .filter(|w| w.contains("skipped"))
                .count(),
            1
        );

        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir_all(tmp.path().join("x_y")).unwrap();
        fs::write(tmp.path().join("x_y/x_y.conf"), "Le_Domain='x_y'\n").unwrap();
        let (certs, errors) = read_dir(tmp.path());
        assert!(certs.is_empty());
        assert!(
            errors[0].message.contains("no usable names"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn old_account_layout() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path();
        fs::create_dir_all(home.join("a.example.test")).unwrap();
        fs::write(
            home.join("a.example.test/a.example.test.conf"),
            "Le_Domain='a.example.test'\nLe_Webroot='no'\n\
             Le_API='https://acme-v02.api.letsencrypt.org/directory'\n",
        )
        .unwrap();
        fs::create_dir_all(home.join("ca/acme-v02.api.letsencrypt.org")).unwrap();
        fs::write(
            home.join("ca/acme-v02.api.letsencrypt.org/ca.conf"),
            "ACCOUNT_URL=\"https://acme-v02.api.letsencrypt.org/acme/acct/77\"\n",
        )
        .unwrap();
        let (certs, errors) = read_dir(home);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            certs[0].account_uri.as_deref(),
            Some("https://acme-v02.api.letsencrypt.org/acme/acct/77")
        );
    }

    #[test]
    fn missing_home_is_one_error() {
        let tmp = tempfile::tempdir().unwrap();
        let (certs, errors) = read_dir(&tmp.path().join("nope"));
        assert!(certs.is_empty());
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0]
                .to_string()
                .ends_with(": cannot list acme.sh domains: not found")
        );
    }

    #[test]
    fn getfield_matches_acme_sh() {
        assert_eq!(getfield("a,b", 1), "a");
        assert_eq!(getfield("a,b", 2), "b");
        assert_eq!(getfield("a,b", 3), "b");
        assert_eq!(getfield("a,,c", 2), "a");
        assert_eq!(getfield("a,,c", 3), "c");
        assert_eq!(getfield("", 1), "");
        assert_eq!(getfield(",x", 1), ",x");
        assert_eq!(getfield("x", 0), "x");
    }

    #[test]
    fn shell_assignments() {
        let text = "\
Le_Domain='example.test'
Le_Alt=\"a.example.test,b.example.test\"
Le_Webroot=/var/www/html  # trailing comment
export Le_API='https://x.test/dir'
  Indented=yes
Concat='it'\\''s'\"$HOME\"
Escapes=\"a\\\"b\\\\c\\$d\\ne\"
Backslash=a\\ b
Empty=
EmptyQuoted=''
# Commented='x'
not an assignment
9bad=1
Unterminated='abc
Hash=#x
Le_Domain='later.example.test'
";
        let vars = parse_shell_assignments(text);
        let get = |k: &str| {
            vars.iter()
                .rev()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("Le_Domain"), Some("later.example.test"));
        assert_eq!(get("Le_Alt"), Some("a.example.test,b.example.test"));
        assert_eq!(get("Le_Webroot"), Some("/var/www/html"));
        assert_eq!(get("Le_API"), Some("https://x.test/dir"));
        assert_eq!(get("Indented"), Some("yes"));
        assert_eq!(get("Concat"), Some("it's$HOME"));
        assert_eq!(get("Escapes"), Some("a\"b\\c$d\\ne"));
        assert_eq!(get("Backslash"), Some("a b"));
        assert_eq!(get("Empty"), Some(""));
        assert_eq!(get("EmptyQuoted"), Some(""));
        assert_eq!(get("Commented"), None);
        assert_eq!(get("9bad"), None);
        assert_eq!(get("Unterminated"), Some("abc"));
        assert_eq!(get("Hash"), Some("#x"));
    }

    #[test]
    fn odd_confs_never_panic() {
        let text =
            fs::read_to_string(fixtures().join("example.test_ecc/example.test.conf")).unwrap();
        let mut inputs: Vec<String> = Vec::new();
        for (i, _) in text.char_indices() {
            inputs.push(text[..i].to_owned());
            inputs.push(text[i..].to_owned());
        }
        for odd in [
            "=", "'", "\"", "\\", "a=\\", "a=\"\\", "a='", "_=", "ü=1", "a=\u{0}",
        ] {
            inputs.push(odd.to_owned());
        }
        for input in &inputs {
            let vars = parse_shell_assignments(input);
            for (_, v) in &vars {
                let _ = Mode::parse(v);
                let _ = getfield(v, 3);
                let _ = resolve_server(v);
            }
        }
    }
}

#[cfg(test)]
#[path = "acme_sh_props.rs"]
mod props;
