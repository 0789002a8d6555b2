//! certbot: every `renewal/*.conf` under a config dir (normally /etc/letsencrypt) becomes a
//! `ManagedCert`. The conf is in configobj format; the names are deliberately *not* taken from it
//! but from the lineage's current certificate, because that is what `certbot renew` does
//! (`reconstitute()` sets the domains from the cert's SANs). The account URL comes from the
//! account's `regr.json`, the only place certbot keeps it. Files certbot itself would skip (broken
//! syntax, no `[renewalparams]`, no authenticator) are reported as `ReadError`s.

use std::fs;
use std::path::{Path, PathBuf};

use super::{
    Capability, CertFacts, ManagedCert, ReadError, ca_issuer_domain, collect_names, derive_method,
    io_message, parse_cert_pem, parse_challenge, read_limited,
};
use crate::identifier::Identifier;
use crate::observation::Method;

/// certbot's default `--config-dir`; absolute paths in confs usually start with it.
const DEFAULT_CONFIG_DIR: &str = "/etc/letsencrypt";

/// Reads every renewal conf in `<dir>/renewal`, in file-name order. Each conf yields either a
/// certificate or an error; a bad conf never stops the others.
pub fn read_dir(dir: &Path) -> (Vec<ManagedCert>, Vec<ReadError>) {
    let mut certs = Vec::new();
    let mut errors = Vec::new();
    let renewal = dir.join("renewal");
    let entries = match fs::read_dir(&renewal) {
        Ok(entries) => entries,
        Err(e) => {
            let message = format!("cannot list renewal confs: {}", io_message(&e));
            return (certs, vec![ReadError::new(&renewal, message)]);
        }
    };
    let mut confs = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => {
                let name = entry.file_name().to_string_lossy().into_owned();
                // certbot globs `*.conf`, which skips dot files; anything else there (backups,
                // editor leftovers) is not a lineage.
                if name.len() > ".conf".len() && name.ends_with(".conf") && !name.starts_with('.') {
                    confs.push(entry.path());
                }
            }
            Err(e) => errors.push(ReadError::new(&renewal, io_message(&e))),
        }
    }
    confs.sort();
    for conf in confs {
        match read_conf(dir, &conf) {
            Ok(cert) => certs.push(cert),
            Err(e) => errors.push(e),
        }
    }
    (certs, errors)
}

/// One renewal conf, with its certificate and account.
fn read_conf(dir: &Path, conf: &Path) -> Result<ManagedCert, ReadError> {
    let fail = |message: String| ReadError::new(conf, message);
    let bytes = read_limited(conf).map_err(&fail)?;
    let text = String::from_utf8(bytes).map_err(|_| fail("not valid UTF-8".to_owned()))?;
    let root = parse_configobj(&text).map_err(|e| fail(format!("malformed renewal conf: {e}")))?;

    let file_name = conf.file_name().unwrap_or_default().to_string_lossy();
    let lineage = file_name
        .strip_suffix(".conf")
        .unwrap_or(&file_name)
        .to_owned();

    // The same two checks, with the same outcome, as certbot's `_reconstitute`.
    let params = root
        .section("renewalparams")
        .ok_or_else(|| fail("no [renewalparams] section: certbot skips this file".to_owned()))?;
    let authenticator = params.get_str("authenticator").unwrap_or_default();
    if authenticator.is_empty() {
        return Err(fail(
            "no authenticator in [renewalparams]: certbot skips this file".to_owned(),
        ));
    }

    let mut warnings = Vec::new();
    let (cert_path, facts) =
        read_current_cert(dir, conf, &root, params, &lineage, &mut warnings).map_err(&fail)?;
    let what = format!("certificate {}", cert_path.display());
    // IP-address SANs (RFC 8738; certbot 5 requests them) are identifiers like the names.
    let names = collect_names(
        facts
            .dns_names
            .iter()
            .chain(&facts.ip_names)
            .map(String::as_str),
        &what,
        &mut warnings,
    );
    if names.is_empty() {
        return Err(fail(format!(
            "{what} has no usable DNS names or IP addresses"
        )));
    }

    let capability = capability(&authenticator);
    if capability == Capability::Either && plugin_name(&authenticator) != "manual" {
        warnings.push(format!(
            "unknown authenticator {authenticator:?}: assuming it answers http-01 unless the \
             preferred challenges say otherwise"
        ));
    }
    let prefs = preferred_challenges(params);
    let method = derive_method(&authenticator, capability, &prefs, &names, &mut warnings);

    let webroots = if plugin_name(&authenticator) == "webroot" {
        webroots(params, &names, &mut warnings)
    } else {
        Vec::new()
    };

    let server = params.get_str("server").filter(|s| !s.is_empty());
    if server.is_none() {
        warnings.push(
            "no server in [renewalparams]: certbot would use its configured default CA".to_owned(),
        );
    }
    let account_uri = account_uri(dir, server.as_deref(), params, &mut warnings);
    let renew_from = renew_from(&root, facts.not_after, &mut warnings);
    // certbot's `autorenewal_is_enabled`: absent means on; configobj's as_bool spellings.
    let autorenew = match params.get_str("autorenew") {
        None => true,
        Some(v) => !matches!(
            v.to_ascii_lowercase().as_str(),
            "false" | "no" | "off" | "0"
        ),
    };

    Ok(ManagedCert {
        source: conf.to_path_buf(),
        lineage,
        names,
        method,
        authenticator,
        webroots,
        ca_issuer_domain: server.as_deref().and_then(ca_issuer_domain),
        server,
        account_uri,
        not_after: facts.not_after,
        renew_from,
        autorenew,
        warnings,
    })
}

/// When `certbot renew` starts renewing: notAfter minus the top-level `renew_before_expiry`
/// (certbot's default 30 days). An interval we cannot read falls back to the default with a
/// warning rather than guessing later.
fn renew_from(
    root: &Section,
    not_after: Option<chrono::DateTime<chrono::Utc>>,
    warnings: &mut Vec<String>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let default = chrono::TimeDelta::days(30);
    let before = match root
        .get_str("renew_before_expiry")
        .filter(|v| !v.is_empty())
    {
        None => default,
        Some(text) => super::parse_interval(&text).unwrap_or_else(|| {
            warnings.push(format!(
                "renew_before_expiry {text:?} not understood; assuming 30 days"
            ));
            default
        }),
    };
    not_after.and_then(|t| t.checked_sub_signed(before))
}

/// The plugin part of an authenticator; third-party plugins used to be named
/// `distribution:plugin` (e.g. `certbot-dns-ovh:dns-ovh`).
fn plugin_name(authenticator: &str) -> &str {
    authenticator
        .rsplit(':')
        .next()
        .unwrap_or(authenticator)
        .trim()
}

fn capability(authenticator: &str) -> Capability {
    match plugin_name(authenticator) {
        "webroot" | "standalone" | "nginx" | "apache" => Capability::Http,
        // Every DNS plugin, bundled or third-party, follows the `dns-<provider>` convention.
        p if p == "dns" || p.starts_with("dns-") || p.starts_with("dns_") => Capability::Dns,
        _ => Capability::Either,
    }
}

/// `pref_challs` is what certbot writes; the CLI spellings are accepted too because hand-edited
/// confs use them.
fn preferred_challenges(params: &Section) -> Vec<Method> {
    ["pref_challs", "pref_challenges", "preferred_challenges"]
        .iter()
        .find_map(|key| params.get_list(key))
        .unwrap_or_default()
        .iter()
        .filter_map(|c| parse_challenge(c))
        .collect()
}

/// The webroot for each (non-wildcard) name: `[[webroot_map]]` first, else the last
/// `webroot_path`, which is the fallback certbot's webroot plugin applies to unmapped names.
fn webroots(
    params: &Section,
    names: &[Identifier],
    warnings: &mut Vec<String>,
) -> Vec<(String, PathBuf)> {
    let map = params.section("webroot_map");
    let fallback = params
        .get_list("webroot_path")
        .and_then(|paths| paths.last().cloned())
        .filter(|p| !p.is_empty());
    let mut out = Vec::new();
    for name in names.iter().filter(|n| !n.is_wildcard()) {
        // Map keys are the names as the user typed them; compare normalised forms.
        let mapped = map.and_then(|m| {
            m.values.iter().find_map(|(k, v)| {
                let same = Identifier::parse(k).is_ok_and(|id| id == *name);
                same.then(|| v.as_joined())
            })
        });
        match mapped.or_else(|| fallback.clone()) {
            Some(path) => out.push((name.name.clone(), PathBuf::from(path))),
            None => warnings.push(format!(
                "no webroot for {name}: certbot would ask interactively, so an unattended \
                 renewal fails"
            )),
        }
    }
    out
}

/// Finds and parses the lineage's current certificate. Returns the path actually read.
fn read_current_cert(
    dir: &Path,
    conf: &Path,
    root: &Section,
    params: &Section,
    lineage: &str,
    warnings: &mut Vec<String>,
) -> Result<(PathBuf, CertFacts), String> {
    let configured = root.get_str("cert").filter(|c| !c.is_empty());
    // Each candidate remembers whether it is a reading of the configured path: only falling all
    // the way back to live/<lineage>/ deserves a warning.
    let mut candidates: Vec<(PathBuf, bool)> = Vec::new();
    if let Some(cert) = &configured {
        let cert = PathBuf::from(cert);
        if cert.is_relative() {
            // Relative to the conf first (what the path says), then to the config dir (what
            // people mean when they write `live/<name>/cert.pem`).
            if let Some(parent) = conf.parent() {
                candidates.push((parent.join(&cert), true));
            }
            candidates.push((dir.join(&cert), true));
        } else {
            // Confs store absolute paths under the config dir they were written in. When `dir`
            // is a copy (a backup, a container volume) the same path inside `dir` is the one
            // that belongs to this conf, so it is tried before the literal path.
            let config_dir = params
                .get_str("config_dir")
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| DEFAULT_CONFIG_DIR.to_owned());
            if let Ok(rest) = cert.strip_prefix(&config_dir) {
                candidates.push((dir.join(rest), true));
            }
            candidates.push((cert, true));
        }
    }
    candidates.push((dir.join("live").join(lineage).join("cert.pem"), false));
    let mut unique: Vec<(PathBuf, bool)> = Vec::new();
    for (path, from_conf) in candidates {
        if !unique.iter().any(|(p, _)| *p == path) {
            unique.push((path, from_conf));
        }
    }

    let mut tried = Vec::new();
    let mut found = None;
    for (candidate, from_conf) in &unique {
        // `metadata` follows the live/ → archive/ symlinks as certbot lays them out.
        match fs::metadata(candidate) {
            Ok(_) => {
                found = Some((candidate.clone(), *from_conf));
                break;
            }
            Err(e) => {
                let why = if fs::symlink_metadata(candidate).is_ok() {
                    match fs::read_link(candidate) {
                        Ok(target) => format!("dangling symlink to {}", target.display()),
                        Err(_) => "dangling symlink".to_owned(),
                    }
                } else {
                    io_message(&e)
                };
                tried.push(format!("{}: {why}", candidate.display()));
            }
        }
    }
    let Some((path, from_conf)) = found else {
        return Err(format!(
            "cannot find the current certificate ({})",
            tried.join("; ")
        ));
    };

    match &configured {
        None => warnings.push(format!(
            "no `cert` in the conf (certbot itself refuses such a file); read {}",
            path.display()
        )),
        Some(cert) if !from_conf => warnings.push(format!(
            "cert {cert} not found; read {} instead",
            path.display()
        )),
        Some(_) => {}
    }

    let bytes = read_limited(&path).map_err(|e| format!("certificate {}: {e}", path.display()))?;
    let facts =
        parse_cert_pem(&bytes).map_err(|e| format!("certificate {}: {e}", path.display()))?;
    Ok((path, facts))
}

/// The account URL from `accounts/<server host and path>/<account>/regr.json`. The `account`
/// value in the conf is a local id (a hash of the key), not the CA's account number, so without
/// regr.json the URL cannot be derived and stays unknown.
fn account_uri(
    dir: &Path,
    server: Option<&str>,
    params: &Section,
    warnings: &mut Vec<String>,
) -> Option<String> {
    let account = params.get_str("account").filter(|a| !a.is_empty())?;
    // The id becomes a path component: refuse anything that could walk out of accounts/.
    if !account
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        warnings.push(format!(
            "account id {account:?} is not a plain id; accounturi unknown"
        ));
        return None;
    }
    let url = url::Url::parse(server?).ok()?;
    // certbot's `server_path`: netloc + path, one directory per path segment.
    let mut account_dir = dir.join("accounts");
    let mut netloc = url.host_str()?.to_owned();
    if let Some(port) = url.port() {
        netloc.push_str(&format!(":{port}"));
    }
    account_dir.push(netloc);
    for segment in url.path().split('/').filter(|s| !s.is_empty()) {
        if segment == ".." {
            return None;
        }
        account_dir.push(segment);
    }
    let regr = account_dir.join(&account).join("regr.json");

    let unknown = |why: String| format!("account {account}: {why}; accounturi unknown");
    let bytes = match read_limited(&regr) {
        Ok(bytes) => bytes,
        Err(e) => {
            warnings.push(unknown(format!("{}: {e}", regr.display())));
            return None;
        }
    };
    let uri = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("uri")?.as_str().map(str::to_owned));
    match uri {
        Some(uri) if url::Url::parse(&uri).is_ok() => Some(uri),
        _ => {
            warnings.push(unknown(format!("{} has no \"uri\" URL", regr.display())));
            None
        }
    }
}

// ---------------------------------------------------------------------------------------------
// configobj, the subset certbot writes and people hand-edit: `key = value`, `#` comments (whole
// line or trailing), `[section]` / `[[subsection]]` markers, comma lists with an optional
// trailing comma, single/double quotes (no escapes, as in configobj) and triple-quoted
// multi-line values. Whatever configobj would reject (duplicate keys or sections, bad nesting,
// unbalanced quotes or brackets) is an error here too, since certbot would then skip the file.

/// A configobj value: a string, or a list when the text contained a comma.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Str(String),
    List(Vec<String>),
}

impl Value {
    /// Strings as is; lists joined back with commas (what a string key with a list means).
    fn as_joined(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::List(items) => items.join(","),
        }
    }
}

/// A section: its keys and its subsections, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Section {
    values: Vec<(String, Value)>,
    sections: Vec<(String, Section)>,
}

impl Section {
    fn get(&self, key: &str) -> Option<&Value> {
        self.values.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn get_str(&self, key: &str) -> Option<String> {
        self.get(key).map(|v| v.as_joined().trim().to_owned())
    }

    /// A list key; a plain string counts as a one-element list, as certbot treats it.
    fn get_list(&self, key: &str) -> Option<Vec<String>> {
        self.get(key).map(|v| match v {
            Value::Str(s) if s.is_empty() => Vec::new(),
            Value::Str(s) => vec![s.clone()],
            Value::List(items) => items.clone(),
        })
    }

    fn section(&self, name: &str) -> Option<&Section> {
        self.sections
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
    }
}

/// The section at `path`, creating missing ones (the parser only asks for paths it opened).
fn section_at<'a>(mut section: &'a mut Section, path: &[String]) -> &'a mut Section {
    for name in path {
        let index = match section.sections.iter().position(|(n, _)| n == name) {
            Some(index) => index,
            None => {
                section.sections.push((name.clone(), Section::default()));
                section.sections.len() - 1
            }
        };
        section = &mut section.sections[index].1;
    }
    section
}

/// Parses a configobj document; errors name the 1-based line.
fn parse_configobj(text: &str) -> Result<Section, String> {
    let mut root = Section::default();
    let mut path: Vec<String> = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((index, raw)) = lines.next() {
        let lineno = index + 1;
        let at = |e: String| format!("line {lineno}: {e}");
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') {
            let (depth, name) = parse_section_marker(line).map_err(at)?;
            if depth > path.len() + 1 {
                return Err(at(format!("section [{name}] is nested too deeply")));
            }
            path.truncate(depth - 1);
            let parent = section_at(&mut root, &path);
            if parent.sections.iter().any(|(n, _)| *n == name) {
                return Err(at(format!("duplicate section [{name}]")));
            }
            parent.sections.push((name.clone(), Section::default()));
            path.push(name);
            continue;
        }

        let (key, rest) = split_key(line).map_err(at)?;
        let value = match rest.get(..3) {
            Some(quote @ ("'''" | "\"\"\"")) => {
                let body = &rest[3..];
                let (value, tail) = match body.find(quote) {
                    Some(end) => (body[..end].to_owned(), body[end + 3..].to_owned()),
                    None => {
                        // Multi-line: everything up to the line holding the closing quotes.
                        let mut value = body.to_owned();
                        loop {
                            let Some((_, next)) = lines.next() else {
                                return Err(at("unterminated triple-quoted value".to_owned()));
                            };
                            value.push('\n');
                            if let Some(end) = next.find(quote) {
                                value.push_str(&next[..end]);
                                break (value, next[end + 3..].to_owned());
                            }
                            value.push_str(next);
                        }
                    }
                };
                if !is_blank_or_comment(&tail) {
                    return Err(at("text after a triple-quoted value".to_owned()));
                }
                Value::Str(value)
            }
            _ => parse_value(rest).map_err(at)?,
        };
        let section = section_at(&mut root, &path);
        if section.values.iter().any(|(k, _)| *k == key) {
            return Err(at(format!("duplicate key {key:?}")));
        }
        section.values.push((key, value));
    }
    Ok(root)
}

fn is_blank_or_comment(s: &str) -> bool {
    let s = s.trim_start();
    s.is_empty() || s.starts_with('#')
}

/// `[name]`, `[[name]]`, … with optional spaces inside the brackets and a trailing comment.
fn parse_section_marker(line: &str) -> Result<(usize, String), String> {
    let mut rest = line;
    let mut depth = 0;
    while let Some(after) = rest.trim_start().strip_prefix('[') {
        depth += 1;
        rest = after;
    }
    let close = rest
        .find(']')
        .ok_or_else(|| format!("section marker {line:?} has no closing \"]\""))?;
    let name = unquote(rest[..close].trim());
    let mut tail = &rest[close..];
    let mut closing = 0;
    while let Some(after) = tail.trim_start().strip_prefix(']') {
        closing += 1;
        tail = after;
    }
    if closing != depth {
        return Err(format!("section marker {line:?} has unbalanced brackets"));
    }
    if !is_blank_or_comment(tail) {
        return Err(format!("text after section marker {line:?}"));
    }
    if name.is_empty() {
        return Err("empty section name".to_owned());
    }
    Ok((depth, name.to_owned()))
}

fn unquote(s: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    s
}

/// Splits `key = value`; the key may be quoted (then it may contain `=`).
fn split_key(line: &str) -> Result<(String, &str), String> {
    let (key, after) = match line.chars().next() {
        Some(q @ ('"' | '\'')) => {
            let body = &line[1..];
            let end = body
                .find(q)
                .ok_or_else(|| "unterminated quoted key".to_owned())?;
            let after = body[end + 1..].trim_start();
            let after = after
                .strip_prefix('=')
                .ok_or_else(|| format!("expected \"=\" after key in {line:?}"))?;
            (body[..end].to_owned(), after)
        }
        _ => {
            let eq = line
                .find('=')
                .ok_or_else(|| format!("not a key = value line: {line:?}"))?;
            (line[..eq].trim().to_owned(), &line[eq + 1..])
        }
    };
    if key.is_empty() {
        return Err(format!("empty key in {line:?}"));
    }
    Ok((key, after.trim()))
}

/// A value after `=`: a string, or a list when a comma appears outside quotes.
fn parse_value(text: &str) -> Result<Value, String> {
    let text = text.trim();
    // A lone comma is configobj's empty list.
    if let Some(after) = text.strip_prefix(',') {
        if is_blank_or_comment(after) {
            return Ok(Value::List(Vec::new()));
        }
        return Err(format!("list starts with an empty item: {text:?}"));
    }
    let mut items = Vec::new();
    let mut had_comma = false;
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if is_blank_or_comment(rest) {
            if !had_comma && items.is_empty() {
                // `key =` or `key = # comment`: an empty string.
                items.push(String::new());
            }
            break;
        }
        let item;
        match rest.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let body = &rest[1..];
                let end = body
                    .find(q)
                    .ok_or_else(|| format!("unterminated quote in {text:?}"))?;
                item = body[..end].to_owned();
                rest = &body[end + 1..];
            }
            Some(',') => return Err(format!("empty list item in {text:?}")),
            _ => {
                // Unquoted items end at a comma or a comment, as in configobj.
                let end = rest.find([',', '#']).unwrap_or(rest.len());
                item = rest[..end].trim_end().to_owned();
                rest = &rest[end..];
            }
        }
        items.push(item);
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            had_comma = true;
            rest = after;
        } else if is_blank_or_comment(rest) {
            break;
        } else {
            return Err(format!("unexpected text after a quoted value in {text:?}"));
        }
    }
    if had_comma {
        Ok(Value::List(items))
    } else {
        Ok(Value::Str(items.pop().unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOT_AFTER: &str = "2027-02-26T15:51:56+00:00";

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/certbot")
    }

    fn names(cert: &ManagedCert) -> Vec<&str> {
        cert.names.iter().map(|n| n.name.as_str()).collect()
    }

    fn find<'a>(certs: &'a [ManagedCert], lineage: &str) -> &'a ManagedCert {
        certs
            .iter()
            .find(|c| c.lineage == lineage)
            .unwrap_or_else(|| panic!("no lineage {lineage}"))
    }

    /// A scratch config dir holding a copy of one fixture certificate as `live/<lineage>/cert.pem`.
    fn scratch(cert_from: &str, lineage: &str) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir_all(tmp.path().join("renewal")).unwrap();
        let live = tmp.path().join("live").join(lineage);
        fs::create_dir_all(&live).unwrap();
        fs::copy(
            fixtures().join("live").join(cert_from).join("cert.pem"),
            live.join("cert.pem"),
        )
        .unwrap();
        tmp
    }

    /// Writes `renewal/<lineage>.conf` and reads it.
    fn read_one(tmp: &Path, lineage: &str, conf: &str) -> Result<ManagedCert, ReadError> {
        let path = tmp.join("renewal").join(format!("{lineage}.conf"));
        fs::write(&path, conf).unwrap();
        read_conf(tmp, &path)
    }

    /// A renewal conf for lineage x.example.test with Let's Encrypt as the server.
    fn conf(params: &str) -> String {
        conf_without_server(&format!(
            "server = https://acme-v02.api.letsencrypt.org/directory\n{params}"
        ))
    }

    fn conf_without_server(params: &str) -> String {
        format!(
            "version = 4.0.0\ncert = /etc/letsencrypt/live/x.example.test/cert.pem\n\
             [renewalparams]\n{params}\n"
        )
    }

    #[test]
    fn fixture_dir_reads_the_good_and_reports_the_bad() {
        let (certs, errors) = read_dir(&fixtures());
        let lineages: Vec<&str> = certs.iter().map(|c| c.lineage.as_str()).collect();
        assert_eq!(
            lineages,
            [
                "example.test",
                "manual.example.test",
                "nginx.example.test",
                "web.example.test",
                "wildweb.example.test"
            ]
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].path.ends_with("renewal/broken.example.test.conf"));
        assert!(errors[0].message.contains("malformed"), "{}", errors[0]);
        assert!(errors[0].message.contains("line 3"), "{}", errors[0]);
        assert!(
            errors[1]
                .path
                .ends_with("renewal/missing.example.test.conf")
        );
        assert!(
            errors[1]
                .message
                .contains("cannot find the current certificate"),
            "{}",
            errors[1]
        );
        assert!(errors[1].message.contains("not found"), "{}", errors[1]);
        for e in &errors {
            assert!(!e.to_string().contains('\n'));
        }
    }

    #[test]
    fn webroot_with_map_and_account() {
        let (certs, _) = read_dir(&fixtures());
        let web = find(&certs, "web.example.test");
        assert_eq!(names(web), ["web.example.test", "static.example.test"]);
        assert_eq!(web.method, Method::Http01);
        assert_eq!(web.authenticator, "webroot");
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
        assert_eq!(
            web.server.as_deref(),
            Some("https://acme-v02.api.letsencrypt.org/directory")
        );
        assert_eq!(web.ca_issuer_domain.as_deref(), Some("letsencrypt.org"));
        assert_eq!(
            web.account_uri.as_deref(),
            Some("https://acme-v02.api.letsencrypt.org/acme/acct/1234567890")
        );
        assert_eq!(
            web.not_after.map(|t| t.to_rfc3339()).as_deref(),
            Some(NOT_AFTER)
        );
        assert!(web.source.ends_with("renewal/web.example.test.conf"));
        assert!(web.warnings.is_empty(), "{:?}", web.warnings);
    }

    #[test]
    fn nginx_is_http01_and_ip_sans_are_identifiers() {
        let (certs, _) = read_dir(&fixtures());
        let nginx = find(&certs, "nginx.example.test");
        // An IP-address SAN is an identifier too (RFC 8738).
        assert_eq!(names(nginx), ["nginx.example.test", "192.0.2.10"]);
        assert_eq!(
            (nginx.method, nginx.authenticator.as_str()),
            (Method::Http01, "nginx")
        );
        assert!(nginx.webroots.is_empty());
        assert!(nginx.warnings.is_empty(), "{:?}", nginx.warnings);
    }

    #[test]
    fn dns_plugin_with_wildcard_and_staging_without_regr() {
        let (certs, _) = read_dir(&fixtures());
        let dns = find(&certs, "example.test");
        assert_eq!(
            names(dns),
            ["example.test", "www.example.test", "*.example.test"]
        );
        assert_eq!(
            (dns.method, dns.authenticator.as_str()),
            (Method::Dns01, "dns-cloudflare")
        );
        assert_eq!(
            dns.server.as_deref(),
            Some("https://acme-staging-v02.api.letsencrypt.org/directory")
        );
        assert_eq!(dns.ca_issuer_domain.as_deref(), Some("letsencrypt.org"));
        // The account id is a local hash: without regr.json there is no honest accounturi.
        assert_eq!(dns.account_uri, None);
        assert_eq!(dns.warnings.len(), 1, "{:?}", dns.warnings);
        assert!(dns.warnings[0].contains("regr.json"), "{:?}", dns.warnings);
        assert!(
            dns.warnings[0].contains("accounturi unknown"),
            "{:?}",
            dns.warnings
        );
    }

    #[test]
    fn manual_with_dns_preference_is_dns01() {
        let (certs, _) = read_dir(&fixtures());
        let manual = find(&certs, "manual.example.test");
        assert_eq!(
            (manual.method, manual.authenticator.as_str()),
            (Method::Dns01, "manual")
        );
        assert!(manual.warnings.is_empty(), "{:?}", manual.warnings);
    }

    #[test]
    fn wildcard_on_webroot_is_dns01_with_a_warning() {
        let (certs, _) = read_dir(&fixtures());
        let wild = find(&certs, "wildweb.example.test");
        assert_eq!(wild.method, Method::Dns01);
        assert_eq!(
            wild.webroots,
            [(
                "wildweb.example.test".to_owned(),
                PathBuf::from("/var/www/wildweb")
            )]
        );
        assert_eq!(wild.warnings.len(), 1, "{:?}", wild.warnings);
        assert!(
            wild.warnings[0].contains("*.wildweb.example.test"),
            "{:?}",
            wild.warnings
        );
        assert!(
            wild.warnings[0].contains("will fail"),
            "{:?}",
            wild.warnings
        );
    }

    #[test]
    fn follows_live_symlinks_to_the_current_archive_version() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path();
        fs::create_dir_all(base.join("renewal")).unwrap();
        let archive = base.join("archive/x.example.test");
        let live = base.join("live/x.example.test");
        fs::create_dir_all(&archive).unwrap();
        fs::create_dir_all(&live).unwrap();
        // cert1 is an older version with other names; live/ points at cert2, as after a renewal.
        fs::copy(
            fixtures().join("live/nginx.example.test/cert.pem"),
            archive.join("cert1.pem"),
        )
        .unwrap();
        fs::copy(
            fixtures().join("live/web.example.test/cert.pem"),
            archive.join("cert2.pem"),
        )
        .unwrap();
        std::os::unix::fs::symlink(
            "../../archive/x.example.test/cert2.pem",
            live.join("cert.pem"),
        )
        .unwrap();

        let text = conf_without_server(
            "authenticator = standalone\nserver = https://acme.zerossl.com/v2/DV90",
        );
        let cert = read_one(base, "x.example.test", &text).unwrap();
        assert_eq!(names(&cert), ["web.example.test", "static.example.test"]);
        assert_eq!(cert.method, Method::Http01);
        assert_eq!(cert.ca_issuer_domain.as_deref(), Some("sectigo.com"));
        assert!(cert.warnings.is_empty(), "{:?}", cert.warnings);

        // A dangling live/ link is named as such.
        fs::remove_file(archive.join("cert2.pem")).unwrap();
        let e = read_one(base, "x.example.test", &text).unwrap_err();
        assert!(e.message.contains("dangling symlink"), "{e}");
        assert!(e.message.contains("cert2.pem"), "{e}");
    }

    #[test]
    fn relative_cert_paths() {
        let tmp = scratch("manual.example.test", "x.example.test");
        let params = "[renewalparams]\nauthenticator = apache\n";
        // Relative to the conf's own directory.
        let text = format!("cert = ../live/x.example.test/cert.pem\n{params}");
        let cert = read_one(tmp.path(), "x.example.test", &text).unwrap();
        assert_eq!(names(&cert), ["manual.example.test"]);
        assert_eq!(cert.method, Method::Http01);
        assert!(
            !cert.warnings.iter().any(|w| w.contains("not found")),
            "{:?}",
            cert.warnings
        );
        // Relative to the config dir.
        let text = format!("cert = live/x.example.test/cert.pem\n{params}");
        let cert = read_one(tmp.path(), "x.example.test", &text).unwrap();
        assert_eq!(names(&cert), ["manual.example.test"]);
        assert!(
            !cert.warnings.iter().any(|w| w.contains("not found")),
            "{:?}",
            cert.warnings
        );
    }

    #[test]
    fn absolute_cert_path_under_a_custom_config_dir_is_rebased() {
        let tmp = scratch("manual.example.test", "x.example.test");
        let text = "cert = /opt/le/live/x.example.test/cert.pem\n[renewalparams]\n\
                    authenticator = webroot\nconfig_dir = /opt/le\nwebroot_path = /var/www,\n";
        let cert = read_one(tmp.path(), "x.example.test", text).unwrap();
        assert_eq!(names(&cert), ["manual.example.test"]);
        assert!(
            cert.warnings.iter().all(|w| !w.contains("not found")),
            "{:?}",
            cert.warnings
        );
    }

    #[test]
    fn missing_or_stale_cert_key_falls_back_to_live() {
        let tmp = scratch("manual.example.test", "x.example.test");
        let text = "[renewalparams]\nauthenticator = standalone\n";
        let cert = read_one(tmp.path(), "x.example.test", text).unwrap();
        assert_eq!(names(&cert), ["manual.example.test"]);
        assert!(
            cert.warnings.iter().any(|w| w.contains("no `cert`")),
            "{:?}",
            cert.warnings
        );

        let text = "cert = /nonexistent/cert.pem\n[renewalparams]\nauthenticator = standalone\n";
        let cert = read_one(tmp.path(), "x.example.test", text).unwrap();
        assert_eq!(names(&cert), ["manual.example.test"]);
        assert!(
            cert.warnings
                .iter()
                .any(|w| w.contains("/nonexistent/cert.pem not found")),
            "{:?}",
            cert.warnings
        );
    }

    #[test]
    fn unreadable_certificates_are_errors() {
        let tmp = scratch("manual.example.test", "x.example.test");
        let pem = tmp.path().join("live/x.example.test/cert.pem");
        fs::write(
            &pem,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let e = read_one(tmp.path(), "x.example.test", &conf("authenticator = nginx")).unwrap_err();
        assert!(e.message.contains("no PEM CERTIFICATE block"), "{e}");
        fs::write(&pem, "garbage").unwrap();
        assert!(read_one(tmp.path(), "x.example.test", &conf("authenticator = nginx")).is_err());
    }

    #[test]
    fn confs_certbot_skips_are_errors() {
        let tmp = scratch("manual.example.test", "x.example.test");
        let e = read_one(tmp.path(), "x.example.test", "version = 2.0.0\n").unwrap_err();
        assert!(e.message.contains("[renewalparams]"), "{e}");
        let e = read_one(tmp.path(), "x.example.test", &conf("key_type = ecdsa")).unwrap_err();
        assert!(e.message.contains("no authenticator"), "{e}");
        let e = read_one(tmp.path(), "x.example.test", &conf("authenticator =")).unwrap_err();
        assert!(e.message.contains("no authenticator"), "{e}");
        let path = tmp.path().join("renewal/bin.conf");
        fs::write(&path, [0xff, 0xfe, b'\n']).unwrap();
        let e = read_conf(tmp.path(), &path).unwrap_err();
        assert!(e.message.contains("UTF-8"), "{e}");
    }

    #[test]
    fn preferred_challenges_decide_for_manual() {
        let tmp = scratch("manual.example.test", "x.example.test");
        for (params, want) in [
            (
                "authenticator = manual\npref_challs = http-01, dns-01,",
                Method::Http01,
            ),
            (
                "authenticator = manual\npref_challs = dns-01, http-01,",
                Method::Dns01,
            ),
            (
                "authenticator = manual\npreferred_challenges = dns",
                Method::Dns01,
            ),
            (
                "authenticator = manual\npref_challenges = \"dns-01\",",
                Method::Dns01,
            ),
            ("authenticator = manual", Method::Http01),
            (
                "authenticator = dns-route53\npref_challs = http-01, dns-01,",
                Method::Dns01,
            ),
            ("authenticator = certbot-dns-ovh:dns-ovh", Method::Dns01),
            (
                "authenticator = standalone\npref_challs = http-01,",
                Method::Http01,
            ),
        ] {
            let cert = read_one(tmp.path(), "x.example.test", &conf(params)).unwrap();
            assert_eq!(cert.method, want, "{params}");
            assert!(cert.warnings.is_empty(), "{params}: {:?}", cert.warnings);
        }
    }

    #[test]
    fn unknown_authenticator_is_assumed_http_with_a_warning() {
        let tmp = scratch("manual.example.test", "x.example.test");
        let cert = read_one(
            tmp.path(),
            "x.example.test",
            &conf("authenticator = exotic"),
        )
        .unwrap();
        assert_eq!(cert.method, Method::Http01);
        assert!(
            cert.warnings
                .iter()
                .any(|w| w.contains("unknown authenticator"))
        );
        let params = "authenticator = exotic\npref_challs = dns-01,";
        let cert = read_one(tmp.path(), "x.example.test", &conf(params)).unwrap();
        assert_eq!(cert.method, Method::Dns01);
    }

    #[test]
    fn webroot_path_covers_unmapped_names_and_missing_server_warns() {
        let tmp = scratch("web.example.test", "x.example.test");
        let params = "authenticator = webroot\nwebroot_path = /a, /b,\n[[webroot_map]]\n\
                      WEB.example.test. = /mapped";
        let cert = read_one(tmp.path(), "x.example.test", &conf_without_server(params)).unwrap();
        assert_eq!(
            cert.webroots,
            [
                ("web.example.test".to_owned(), PathBuf::from("/mapped")),
                ("static.example.test".to_owned(), PathBuf::from("/b")),
            ]
        );
        assert_eq!(cert.server, None);
        assert_eq!(cert.ca_issuer_domain, None);
        assert!(
            cert.warnings.iter().any(|w| w.contains("no server")),
            "{:?}",
            cert.warnings
        );

        let params = "authenticator = webroot\n[[webroot_map]]\nweb.example.test = /only";
        let cert = read_one(tmp.path(), "x.example.test", &conf(params)).unwrap();
        assert_eq!(cert.webroots.len(), 1);
        assert!(
            cert.warnings
                .iter()
                .any(|w| w.contains("no webroot for static.example.test")),
            "{:?}",
            cert.warnings
        );
    }

    #[test]
    fn regr_json_problems_are_warnings() {
        let tmp = scratch("manual.example.test", "x.example.test");
        let acct = tmp
            .path()
            .join("accounts/acme-v02.api.letsencrypt.org/directory/abc123");
        fs::create_dir_all(&acct).unwrap();
        let params = "authenticator = nginx\naccount = abc123";
        fs::write(acct.join("regr.json"), "{not json").unwrap();
        let cert = read_one(tmp.path(), "x.example.test", &conf(params)).unwrap();
        assert_eq!(cert.account_uri, None);
        assert!(
            cert.warnings.iter().any(|w| w.contains("no \"uri\"")),
            "{:?}",
            cert.warnings
        );

        fs::write(acct.join("regr.json"), r#"{"uri": "https://acme-v02.api.letsencrypt.org/acme/acct/42", "body": {"status": "valid"}}"#).unwrap();
        let cert = read_one(tmp.path(), "x.example.test", &conf(params)).unwrap();
        assert_eq!(
            cert.account_uri.as_deref(),
            Some("https://acme-v02.api.letsencrypt.org/acme/acct/42")
        );

        let params = "authenticator = nginx\naccount = ../../etc";
        let cert = read_one(tmp.path(), "x.example.test", &conf(params)).unwrap();
        assert_eq!(cert.account_uri, None);
        assert!(cert.warnings.iter().any(|w| w.contains("not a plain id")));
    }

    #[test]
    fn missing_renewal_dir_is_one_error() {
        let tmp = tempfile::tempdir().unwrap();
        let (certs, errors) = read_dir(tmp.path());
        assert!(certs.is_empty());
        assert_eq!(errors.len(), 1);
        assert!(errors[0].path.ends_with("renewal"));
        assert!(errors[0].to_string().contains("not found"), "{}", errors[0]);
    }

    #[test]
    fn only_conf_files_are_read() {
        let tmp = scratch("manual.example.test", "x.example.test");
        let renewal = tmp.path().join("renewal");
        fs::write(
            renewal.join("x.example.test.conf"),
            conf("authenticator = nginx"),
        )
        .unwrap();
        fs::write(renewal.join("x.example.test.conf.bak"), "garbage [").unwrap();
        fs::write(renewal.join(".hidden.conf"), "garbage [").unwrap();
        fs::write(renewal.join(".conf"), "garbage [").unwrap();
        let (certs, errors) = read_dir(tmp.path());
        assert_eq!(certs.len(), 1);
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn configobj_values() {
        let text = "\
# comment
top = 1
quoted = \"a, b\"   # trailing comment
single = 'x # not a comment'
list = a, b ,c
one = /var/www/html,
empty =
emptylist = ,
hook = echo hi#comment
'quoted key' = v
url = https://example.test/a=b
[renewalparams]
  indented = yes
[[webroot_map]]
a.example = /a
[ other ]  # comment
multi = '''line one
line two'''
inline = \"\"\"x\"\"\"
";
        let root = parse_configobj(text).unwrap();
        let s = |v: &str| Value::Str(v.to_owned());
        let l = |v: &[&str]| Value::List(v.iter().map(|x| (*x).to_owned()).collect());
        assert_eq!(root.get("top"), Some(&s("1")));
        assert_eq!(root.get("quoted"), Some(&s("a, b")));
        assert_eq!(root.get("single"), Some(&s("x # not a comment")));
        assert_eq!(root.get("list"), Some(&l(&["a", "b", "c"])));
        assert_eq!(root.get("one"), Some(&l(&["/var/www/html"])));
        assert_eq!(root.get("empty"), Some(&s("")));
        assert_eq!(root.get("emptylist"), Some(&l(&[])));
        assert_eq!(root.get("hook"), Some(&s("echo hi")));
        assert_eq!(root.get("quoted key"), Some(&s("v")));
        assert_eq!(root.get("url"), Some(&s("https://example.test/a=b")));
        let params = root.section("renewalparams").unwrap();
        assert_eq!(params.get("indented"), Some(&s("yes")));
        assert_eq!(
            params.section("webroot_map").unwrap().get("a.example"),
            Some(&s("/a"))
        );
        let other = root.section("other").unwrap();
        assert_eq!(other.get("multi"), Some(&s("line one\nline two")));
        assert_eq!(other.get("inline"), Some(&s("x")));
        assert!(params.get("multi").is_none());
    }

    #[test]
    fn configobj_errors_name_the_line() {
        for (text, want) in [
            ("a = 1\na = 2", "line 2: duplicate key"),
            ("[s]\n[s]", "line 2: duplicate section"),
            ("[[deep]]", "line 1: section [deep] is nested too deeply"),
            (
                "[s]\n[[t]\n",
                "line 2: section marker \"[[t]\" has unbalanced brackets",
            ),
            ("[s", "line 1: section marker \"[s\" has no closing"),
            ("[s] x", "text after section marker"),
            ("[]", "empty section name"),
            ("x", "line 1: not a key = value line"),
            (" = 1", "empty key"),
            ("a = \"open", "unterminated quote"),
            ("a = \"x\" y", "unexpected text"),
            ("a = x,,y", "empty list item"),
            ("a = ,x", "empty item"),
            (
                "a = '''never closed\nmore",
                "line 1: unterminated triple-quoted",
            ),
            ("a = '''x''' y", "text after a triple-quoted value"),
            ("'k = 1", "unterminated quoted key"),
            ("'k' 1", "expected \"=\""),
        ] {
            let e = parse_configobj(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
        }
        // Sections close by depth: after [[a]], a new [b] is top level again.
        let root = parse_configobj("[a]\n[[x]]\nk = 1\n[b]\n[[x]]\nk = 2").unwrap();
        assert!(root.section("b").unwrap().section("x").is_some());
    }

    #[test]
    fn odd_confs_never_panic() {
        let mut inputs: Vec<String> = Vec::new();
        for entry in fs::read_dir(fixtures().join("renewal")).unwrap() {
            let text = fs::read_to_string(entry.unwrap().path()).unwrap();
            for (i, _) in text.char_indices() {
                inputs.push(text[..i].to_owned());
                inputs.push(text[i..].to_owned());
            }
        }
        for odd in [
            "[",
            "]",
            "[[",
            "]]",
            "=",
            "'",
            "\"",
            "'''",
            "\"\"\"",
            ",",
            "#",
            "[\u{0}]",
            "a=\u{0}",
            "[a]\n[[b]]\n[[[c]]]\n[[[[d]]]]",
            "ü = ü",
            "\r\n\r\n",
            "[ ]",
            "['']",
            "a = '''",
            "a = ''''''",
            "a = '''\n'''",
            "a = \"\"\"'''",
        ] {
            inputs.push(odd.to_owned());
        }
        for input in &inputs {
            if let Ok(root) = parse_configobj(input) {
                let _ = preferred_challenges(&root);
                let names = [Identifier::parse("a.example").unwrap()];
                let _ = webroots(&root, &names, &mut Vec::new());
            }
        }
    }
}

#[cfg(test)]
#[path = "props.rs"]
mod props;
