//! Flags + configuration + ACME-client configurations → a validated [`Plan`]: which identifiers
//! to check, by which methods, against which CA and account, from which perspectives, under which
//! quorum policy. Everything that can be wrong with the user's input is found here, before any
//! packet is sent, and comes back as one [`UsageError`] line (exit 3); the probe stage then never
//! has to second-guess its input.

use std::time::Duration;

use crate::analysis::quorum::Policy;
use crate::checks::http01;
use crate::cli::{Cli, MethodArg};
use crate::config::{Config, PolicyName};
use crate::identifier::Identifier;
use crate::observation::Method;
use crate::perspective::NetSettings;

/// A problem that stops the run before any probing: bad input or bad configuration.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Everything the probes need, validated.
#[derive(Debug)]
pub struct Plan {
    /// What to check, one entry per identifier.
    pub identifiers: Vec<Target>,
    /// The configuration.
    pub config: Config,
    /// Per-step timeout.
    pub timeout: Duration,
    /// CAA issuer domain.
    pub ca: String,
    /// ACME account URI for CAA accounturi.
    pub account_uri: Option<String>,
    /// Quorum policy.
    pub policy: Policy,
    /// HTTP-01 fetch plan.
    pub http: http01::Plan,
    /// Expected dns-01 values.
    pub expect_txt: Vec<String>,
    /// tls-alpn-01: the key authorization the challenge certificate's acmeIdentifier must
    /// digest (`--key-authorization`, else `--expect-body`); `None`: the digest is not compared.
    pub key_authorization: Option<String>,
    /// Identifiers in flight at once.
    pub concurrency: usize,
    /// S/MIME (`--cert-type smime`): CAA issuemail, DNS checks only.
    pub smime: bool,
    /// Client configuration files that could not be read.
    pub config_problems: Vec<String>,
    /// Ports and address policy, read from the environment once.
    pub net: NetSettings,
    /// How long the whole probe may take (`--deadline`); what is unfinished then is not assessed.
    pub deadline: Option<Duration>,
}

impl Plan {
    /// Sockets one name can hold open at once, for sizing `--concurrency` to the open-file limit.
    /// Each perspective asks A, AAAA and CAA in parallel and fetches over one connection (two
    /// through a proxy: the proxy's and a resolver's); the nameserver sources ask SOA, A, AAAA and
    /// CAA at every address of the zone in parallel, typically four. Measured in BENCHMARKS.md
    /// (the open-file row): the peak is below this for the bulk lab's six perspectives.
    pub fn open_files_per_name(&self) -> usize {
        let views = self.config.perspectives.len();
        let sources = if self.config.authoritative_sources {
            16
        } else {
            0
        };
        views * 5 + sources
    }
}

/// The deadline `--format nagios` gets without `--deadline`: under the 60 s default
/// `service_check_timeout` of Nagios and Icinga, with room to render and exit, so a slow run
/// reports what finished instead of being killed with "(Service check timed out)".
pub const NAGIOS_DEADLINE: Duration = Duration::from_secs(50);

/// Adds the names of certificates read from a client's configuration, each with its own
/// method, CA, account and webroot. A name given on the command line keeps its flags. Returns
/// the configuration problems found on the way: an IP address renewed with dns-01, which no CA
/// offers for an address (RFC 8738 §7), or one in a reserved range (which `net` will not
/// contact) is not checked and is reported instead, so one odd SAN does not stop the others.
fn add_managed(
    targets: &mut Vec<Target>,
    certs: Vec<crate::acme_clients::ManagedCert>,
    client: &str,
    ca: &str,
    cli: &Overrides,
    net: &NetSettings,
) -> Vec<String> {
    let mut problems = Vec::new();
    let now = chrono::Utc::now();
    for cert in certs {
        let (cert_ca, ca_note, unknown_ca) = cert_ca(&cert, ca, cli);
        let info = crate::model::CertInfo {
            client: client.into(),
            lineage: cert.lineage.clone(),
            source: cert.source.display().to_string(),
            authenticator: cert.authenticator.clone(),
            not_after: cert
                .not_after
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            days_left: cert.not_after.map(|t| (t - now).num_days()),
            warnings: cert.warnings.clone(),
            ca_note: Some(ca_note),
            unknown_ca,
        };
        for id in &cert.names {
            if targets.iter().any(|t| t.id == *id) {
                continue;
            }
            if id.is_ip() && cert.method == Method::Dns01 {
                problems.push(format!(
                    "{}: {}",
                    cert.source.display(),
                    ip_dns01_message(&id.name)
                ));
                continue;
            }
            if let Err(UsageError(why)) = refuse_reserved_ip(id, net) {
                problems.push(format!("{}: {why}", cert.source.display()));
                continue;
            }
            let webroot = cli.webroot.clone().or_else(|| {
                cert.webroots
                    .iter()
                    .find(|(n, _)| *n == id.name)
                    .or_else(|| cert.webroots.first())
                    .map(|(_, p)| p.clone())
                    .filter(|p| p.is_dir())
            });
            targets.push(Target {
                id: id.clone(),
                methods: vec![if id.is_wildcard() {
                    Method::Dns01
                } else {
                    cert.method
                }],
                ca: cert_ca.clone(),
                account_uri: cli.account_uri.clone().or_else(|| cert.account_uri.clone()),
                webroot: if cert.method == Method::Http01 {
                    webroot
                } else {
                    None
                },
                certificate: Some(info.clone()),
            });
        }
    }
    problems
}

/// The CAA issuer domain one certificate's renewal will be judged against, the one line that says
/// where it came from, and (when the conf names an ACME server mpic-check does not know) that
/// server. `--ca` wins; then the CA behind the conf's ACME server; a conf without a server renews
/// with the client's default CA (Let's Encrypt for certbot and acme.sh's le mode), so `default`
/// applies. An unknown server gives an empty issuer: judging its CAA against letsencrypt.org
/// would be a verdict about the wrong CA, so CAA is reported as not judged instead.
fn cert_ca(
    cert: &crate::acme_clients::ManagedCert,
    default: &str,
    cli: &Overrides,
) -> (String, String, Option<String>) {
    let source = cert.source.display().to_string();
    if let Some(ca) = &cli.ca {
        return (ca.clone(), format!("CAA issuer {ca} (from --ca)"), None);
    }
    match (&cert.server, &cert.ca_issuer_domain) {
        (Some(_), Some(ca)) => (
            ca.clone(),
            format!("CAA issuer {ca} (from the ACME server in {source})"),
            None,
        ),
        (Some(server), None) => {
            let shown = crate::acme_clients::shown_server(server);
            (
                String::new(),
                format!("unknown CA at {shown} — CAA not judged; give --ca DOMAIN"),
                Some(shown),
            )
        }
        (None, _) => (
            default.to_string(),
            format!("CAA issuer {default} ({source} names no ACME server: the client's default)"),
            None,
        ),
    }
}

/// Flags that override what a client's configuration says, per certificate.
#[derive(Debug, Default)]
struct Overrides {
    ca: Option<String>,
    account_uri: Option<String>,
    webroot: Option<std::path::PathBuf>,
}

impl Overrides {
    fn of(cli: &Cli) -> Overrides {
        Overrides {
            ca: cli.ca.clone(),
            account_uri: cli.account_uri.clone(),
            webroot: cli.webroot.clone(),
        }
    }
}

/// The plan of `mpic-check gate`: the given certificates (already read and filtered by the gate),
/// each with its own method, CA, account and webroot, under the gate's check flags.
pub fn plan_gate(
    args: &crate::cli::GateArgs,
    certs: Vec<crate::acme_clients::ManagedCert>,
) -> Result<Plan, UsageError> {
    let config = Config::discover(args.config.as_deref()).map_err(|e| UsageError(e.to_string()))?;
    let timeout = args
        .timeout
        .or(config.timeout)
        .unwrap_or(crate::config::DEFAULT_TIMEOUT);
    let ca = config
        .ca
        .clone()
        .unwrap_or_else(|| crate::config::DEFAULT_CA.to_string());
    let as_of = args
        .as_of
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    let policy = Policy::named(
        args.policy.or(config.policy).unwrap_or(PolicyName::Br),
        as_of,
        None,
        None,
    )
    .map_err(UsageError)?;
    let net = NetSettings::from_env().map_err(UsageError)?;
    let mut identifiers = Vec::new();
    let config_problems = add_managed(
        &mut identifiers,
        certs,
        "certbot",
        &ca,
        &Overrides::default(),
        &net,
    );
    Ok(Plan {
        identifiers,
        config_problems,
        net,
        config,
        timeout,
        ca,
        account_uri: None,
        policy,
        http: http01::Plan::random(),
        expect_txt: Vec::new(),
        key_authorization: None,
        concurrency: crate::cli::DEFAULT_CONCURRENCY,
        smime: false,
        // The gate has no overall deadline: each certificate is bounded by the step timeouts,
        // and cutting a check short would only turn a verdict into "could not assess".
        deadline: None,
    })
}

impl Plan {
    /// Whether any name gets a webroot probe (then signals must clean up).
    pub fn probes_webroot(&self) -> bool {
        self.identifiers.iter().any(|t| t.webroot.is_some())
    }
}

/// One identifier to check, with everything that may differ per name when names come from a
/// certbot or acme.sh configuration (method, CA, account, webroot, certificate).
#[derive(Debug, Clone)]
pub struct Target {
    /// The name.
    pub id: Identifier,
    /// DCV methods to evaluate.
    pub methods: Vec<Method>,
    /// CAA issuer domain of the CA that will issue.
    pub ca: String,
    /// ACME account URI, for CAA accounturi.
    pub account_uri: Option<String>,
    /// Web root for the probe file.
    pub webroot: Option<std::path::PathBuf>,
    /// The certificate this name belongs to, when read from a client's configuration.
    pub certificate: Option<crate::model::CertInfo>,
}

impl Target {
    /// Why no CA issues for this name (a public suffix, a TLD outside the Public Suffix List),
    /// decided from the name alone: such a target gets no network work at all (no DNS, no
    /// HTTP), and the analysis reports `name-not-issuable` from the name.
    pub fn refused(&self) -> Option<String> {
        let name = &self.id.name;
        crate::analysis::detect::refusal(name.strip_prefix("*.").unwrap_or(name))
    }
}

/// Validates flags and configuration into a plan.
pub fn plan(cli: &Cli) -> Result<Plan, UsageError> {
    if cli.online_context && cli.format == crate::cli::Format::Jsonl {
        // The stream's lines are written as names finish, before any context could be gathered.
        return Err(UsageError(
            "--online-context is not available with --format jsonl (each line is written as its name finishes); use --format json".into(),
        ));
    }
    let mut wanted: Vec<(String, MethodArg, Option<String>)> = cli
        .names
        .iter()
        .map(|n| (n.clone(), cli.method, None))
        .collect();
    if let Some(path) = &cli.from_file {
        wanted.extend(read_name_list(path, cli.method)?);
    }
    if let Some(sub) = crate::cli::subcommand_among(&cli.names) {
        return Err(UsageError(crate::cli::misplaced_subcommand_message(sub)));
    }
    let mut identifiers = Vec::new();
    for (raw, method, whence) in &wanted {
        let id = Identifier::parse(raw).map_err(|e| match whence {
            Some(w) => UsageError(format!("{w}: {e}")),
            // A directory where a name belongs is almost always a certbot or acme.sh directory
            // meant for --certbot / --acme-sh (e.g. MPIC_ARGS="/etc/letsencrypt").
            None if std::path::Path::new(raw).is_dir() => UsageError(format!(
                "{raw:?} is a directory, not a name: to check the certificates certbot renews \
                 from it, use --certbot {raw} (acme.sh: --acme-sh {raw}; renewal gate: \
                 mpic-check gate --config-dir {raw})"
            )),
            None => UsageError(e.to_string()),
        })?;
        if id.is_ip() {
            let named = match whence {
                Some(w) => format!("{w}: {}", id.name),
                None => id.name.clone(),
            };
            if cli.cert_type == crate::cli::CertType::Smime {
                return Err(UsageError(format!(
                    "{named}: an S/MIME certificate names an email domain, not an IP address"
                )));
            }
            if *method == MethodArg::Dns01 {
                return Err(UsageError(ip_dns01_message(&named)));
            }
        }
        let methods = match method {
            // S/MIME: the email domain is validated through DNS; HTTP-01 does not apply.
            _ if cli.cert_type == crate::cli::CertType::Smime => vec![Method::Dns01],
            MethodArg::Auto if id.is_wildcard() => vec![Method::Dns01],
            MethodArg::Auto | MethodArg::Http01 => vec![Method::Http01],
            MethodArg::Dns01 => vec![Method::Dns01],
            // RFC 8737 §3: tls-alpn-01 cannot validate a wildcard (as http-01 cannot).
            MethodArg::TlsAlpn01 if id.is_wildcard() => {
                return Err(UsageError(format!(
                    "{}: a wildcard can only be validated with dns-01, not tls-alpn-01",
                    id.name
                )));
            }
            MethodArg::TlsAlpn01 => vec![Method::TlsAlpn01],
        };
        if !identifiers.iter().any(|(i, _): &(Identifier, _)| *i == id) {
            identifiers.push((id, methods));
        }
    }
    if identifiers.is_empty() && cli.certbot.is_none() && cli.acme_sh.is_none() {
        return Err(UsageError("no names to check".into()));
    }
    let mut config = Config::discover(cli.config.as_deref())
        .and_then(|c| c.with_command_line(&cli.adhoc.perspectives, &cli.adhoc.resolvers))
        .map_err(|e| UsageError(e.to_string()))?;
    add_globalping_flag(cli, &mut config)?;
    // Perspectives given on the command line that leave no remote would end in "0/0 remotes".
    if !cli.adhoc.perspectives.is_empty()
        && let Some(problem) = config.no_remote_problem()
    {
        return Err(UsageError(format!("--perspective: {problem}")));
    }
    let timeout = cli
        .timeout
        .or(config.timeout)
        .unwrap_or(crate::config::DEFAULT_TIMEOUT);
    let ca = match &cli.ca {
        Some(c) => {
            let c = c.trim().trim_end_matches('.').to_ascii_lowercase();
            if c.is_empty() || c.contains(['/', ':', ' ', ';']) {
                return Err(UsageError(format!(
                    "--ca {c:?}: give the CA's CAA issuer domain, e.g. letsencrypt.org"
                )));
            }
            c
        }
        None => config
            .ca
            .clone()
            .unwrap_or_else(|| crate::config::DEFAULT_CA.to_string()),
    };
    let as_of = cli.as_of.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let policy_name = cli
        .policy
        .or(config.policy)
        .unwrap_or(if cli.remotes.is_some() {
            PolicyName::Custom
        } else {
            PolicyName::Br
        });
    let policy = Policy::named(policy_name, as_of, cli.remotes, cli.quorum).map_err(UsageError)?;
    let mut http = http01::Plan::random();
    if let Some(t) = &cli.token {
        if t.is_empty()
            || !t
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(UsageError(format!(
                "--token {t:?}: an ACME token is base64url (A-Z a-z 0-9 - _)"
            )));
        }
        http.token.clone_from(t);
        http.expect_body.clone_from(&cli.expect_body);
    }
    let mut targets: Vec<Target> = identifiers
        .into_iter()
        .map(|(id, methods)| Target {
            id,
            methods,
            ca: ca.clone(),
            account_uri: cli.account_uri.clone(),
            webroot: cli.webroot.clone(),
            certificate: None,
        })
        .collect();
    let mut net = NetSettings::from_env().map_err(UsageError)?;
    net.share &= !cli.no_share;
    // Command-line addresses are refused outright; a client configuration's are reported below.
    for t in &targets {
        refuse_reserved_ip(&t.id, &net)?;
    }
    let mut config_problems = Vec::new();
    if let Some(dir) = &cli.certbot {
        let dir = dir.clone().unwrap_or_else(|| "/etc/letsencrypt".into());
        let (certs, errors) = crate::acme_clients::certbot::read_dir(&dir);
        config_problems.extend(add_managed(
            &mut targets,
            certs,
            "certbot",
            &ca,
            &Overrides::of(cli),
            &net,
        ));
        config_problems.extend(errors.iter().map(ToString::to_string));
        if targets.is_empty() && config_problems.is_empty() {
            return Err(UsageError(format!(
                "--certbot {}: no renewal/*.conf found",
                dir.display()
            )));
        }
    }
    if let Some(dir) = &cli.acme_sh {
        let dir = dir.clone().or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".acme.sh"))
        });
        let dir = dir
            .ok_or_else(|| UsageError("--acme-sh: give the directory (HOME is not set)".into()))?;
        let (certs, errors) = crate::acme_clients::acme_sh::read_dir(&dir);
        config_problems.extend(add_managed(
            &mut targets,
            certs,
            "acme.sh",
            &ca,
            &Overrides::of(cli),
            &net,
        ));
        config_problems.extend(errors.iter().map(ToString::to_string));
    }
    if targets.is_empty() {
        return Err(UsageError(match config_problems.as_slice() {
            [] => "no names to check".into(),
            [one] => format!("no certificate could be read: {one}"),
            [first, rest @ ..] => format!(
                "no certificate could be read: {first} (and {} more)",
                rest.len()
            ),
        }));
    }
    Ok(Plan {
        identifiers: targets,
        config_problems,
        net,
        config,
        timeout,
        ca,
        account_uri: cli.account_uri.clone(),
        policy,
        http,
        expect_txt: cli.expect_txt.clone(),
        key_authorization: cli
            .key_authorization
            .clone()
            .or_else(|| cli.expect_body.clone()),
        concurrency: cli.concurrency,
        smime: cli.cert_type == crate::cli::CertType::Smime,
        deadline: cli
            .deadline
            .or((cli.format == crate::cli::Format::Nagios).then_some(NAGIOS_DEADLINE)),
    })
}

/// The one line for dns-01 asked of an IP address. RFC 8738 §7: dns-01 cannot validate an IP
/// address (there is no name to put `_acme-challenge` under); Boulder's `policy/pa.go`
/// `ChallengeTypesFor` offers an IP identifier http-01 and tls-alpn-01 only. Like a wildcard with
/// tls-alpn-01 this is refused up front (exit 3): no CA would offer the challenge, so there is
/// nothing to measure.
fn ip_dns01_message(named: &str) -> String {
    format!(
        "{named}: dns-01 cannot validate an IP address (RFC 8738 §7); use http-01 or tls-alpn-01"
    )
}

/// An IP identifier in a special-purpose range (loopback, private, link-local, documentation…)
/// is refused before any packet: no CA issues for it (Boulder's `policy/pa.go` `ValidIP` refuses
/// IANA-reserved addresses), and fetching from it would make this tool, often run as root beside
/// internal services, contact the LAN or the machine itself on a user's say-so. The ranges a lab
/// allows (`MPIC_CHECK_ALLOW_RANGES`) are the exception, as for a name's addresses.
fn refuse_reserved_ip(id: &Identifier, net: &NetSettings) -> Result<(), UsageError> {
    match id.ip().and_then(|ip| net.addresses.refusal(ip)) {
        Some(r) => Err(UsageError(format!(
            "{}: no CA issues for this IP address and mpic-check will not contact it: {r}",
            id.name
        ))),
        None => Ok(()),
    }
}

/// `--globalping` / `--globalping-locations`: the config file's perspectives stay, and the
/// flag's Globalping engine replaces any Globalping `[[engine]]` the file configures (a run has
/// one Globalping engine). The API is `GLOBALPING_API_URL` or the public one; the token is read
/// from `GLOBALPING_TOKEN` at run time.
fn add_globalping_flag(cli: &Cli, config: &mut Config) -> Result<(), UsageError> {
    use crate::engines::globalping::flag;
    if !cli.globalping && cli.globalping_locations.is_none() {
        return Ok(());
    }
    let locations = match &cli.globalping_locations {
        Some(list) => flag::parse_locations(list).map_err(UsageError)?,
        None => flag::default_locations(),
    };
    if let Some(clash) = locations
        .iter()
        .find(|l| config.perspectives.iter().any(|p| p.name == l.name))
    {
        return Err(UsageError(format!(
            "--globalping: the location name {:?} is also a perspective of the config file; \
             rename that perspective",
            clash.name
        )));
    }
    let api_url = flag::api_url_from_env().map_err(UsageError)?;
    config
        .engines
        .retain(|e| !matches!(e, crate::config::EngineSpec::Globalping { .. }));
    config.engines.push(crate::config::EngineSpec::Globalping {
        api_url,
        token_env: crate::config::engine::TOKEN_ENV.into(),
        locations,
    });
    Ok(())
}

/// The line to print before the first Globalping measurement of this plan, if it has any:
/// names go to a third party, and what the run costs in Globalping tests.
pub fn globalping_notice(plan: &Plan) -> Option<String> {
    use crate::engines::globalping::{flag, token_from_env};
    plan.config.engines.iter().find_map(|e| match e {
        crate::config::EngineSpec::Globalping {
            api_url,
            token_env,
            locations,
        } => {
            let names: Vec<flag::NameCost> = plan
                .identifiers
                .iter()
                .map(|t| flag::NameCost {
                    // An IP identifier is not looked up (RFC 8738): no address measurement.
                    address: !t.id.is_wildcard() && !t.id.is_ip(),
                    http01: t.methods.contains(&Method::Http01) && !t.id.is_wildcard(),
                    dns01: t.methods.contains(&Method::Dns01),
                })
                .collect();
            Some(flag::notice(
                api_url,
                locations.len(),
                flag::measurements(&names),
                token_from_env(token_env).is_some(),
            ))
        }
        crate::config::EngineSpec::OpenMpic { .. } => None,
    })
}

/// Largest `--from-file` list: about two million names, far beyond any renewal window.
pub const MAX_NAME_LIST_BYTES: u64 = 64 << 20;

/// Reads `name [method]` lines; `-` is stdin. Errors name the file and line.
fn read_name_list(
    path: &std::path::Path,
    default: MethodArg,
) -> Result<Vec<(String, MethodArg, Option<String>)>, UsageError> {
    use crate::text::read_text_capped;
    let shown = path.display().to_string();
    let read = if path.as_os_str() == "-" {
        read_text_capped(std::io::stdin(), MAX_NAME_LIST_BYTES)
    } else {
        std::fs::File::open(path).and_then(|f| read_text_capped(f, MAX_NAME_LIST_BYTES))
    };
    let text = read.map_err(|e| UsageError(format!("--from-file {shown}: {e}")))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let whence = format!("{shown}:{}", n + 1);
        let mut parts = line.split_whitespace();
        let name = parts.next().unwrap_or_default().to_string();
        let method = match parts.next() {
            None => default,
            Some("http-01") => MethodArg::Http01,
            Some("dns-01") => MethodArg::Dns01,
            Some("tls-alpn-01") => MethodArg::TlsAlpn01,
            Some("auto") => MethodArg::Auto,
            Some(other) => {
                return Err(UsageError(format!(
                    "{whence}: unknown method {other:?}: use http-01, dns-01, tls-alpn-01 or auto"
                )));
            }
        };
        if parts.next().is_some() {
            return Err(UsageError(format!(
                "{whence}: expected `name` or `name method`"
            )));
        }
        out.push((name, method, Some(whence)));
    }
    Ok(out)
}

/// The quorum policy for `--replay`: the saved run brings its own perspectives and CA, so only
/// the policy flags apply, and the configuration file is not read.
pub fn replay_policy(cli: &Cli) -> Result<Policy, UsageError> {
    if cli.online_context {
        // Today's status page and CT counts beside observations from another day would mislead.
        return Err(UsageError(
            "--online-context adds today's third-party context to a live run; it does not apply to --replay".into(),
        ));
    }
    let as_of = cli.as_of.unwrap_or_else(|| chrono::Utc::now().date_naive());
    Policy::named(
        cli.policy.unwrap_or(PolicyName::Br),
        as_of,
        cli.remotes,
        cli.quorum,
    )
    .map_err(UsageError)
}

/// The plan of one exporter probe (`mpic-check serve`): one target checked with a module's
/// settings. `config` is the module's view of the file ([`Config::for_module`]); the target
/// passes the same identifier rules as a name on the command line, so a URL, a reserved IP
/// address or an over-long label is refused before any packet is sent.
pub fn for_probe(
    config: Config,
    module: &crate::config::Module,
    target: &str,
    net: NetSettings,
) -> Result<Plan, UsageError> {
    let id = Identifier::parse(target).map_err(|e| UsageError(e.to_string()))?;
    refuse_reserved_ip(&id, &net)?;
    if id.is_ip() && module.method == Some(Method::Dns01) {
        return Err(UsageError(ip_dns01_message(&id.name)));
    }
    let methods = match module.method {
        Some(m @ (Method::Http01 | Method::TlsAlpn01)) if id.is_wildcard() => {
            return Err(UsageError(format!(
                "{}: a wildcard can only be validated with dns-01, and this module uses {}",
                id.name,
                m.as_str()
            )));
        }
        Some(m) => vec![m],
        None if id.is_wildcard() => vec![Method::Dns01],
        None => vec![Method::Http01],
    };
    let timeout = config.timeout.unwrap_or(crate::config::DEFAULT_TIMEOUT);
    let ca = config
        .ca
        .clone()
        .unwrap_or_else(|| crate::config::DEFAULT_CA.to_string());
    let policy_name = config.policy.unwrap_or(if module.remotes.is_some() {
        PolicyName::Custom
    } else {
        PolicyName::Br
    });
    let policy = Policy::named(
        policy_name,
        chrono::Utc::now().date_naive(),
        module.remotes,
        module.quorum,
    )
    .map_err(UsageError)?;
    Ok(Plan {
        identifiers: vec![Target {
            id,
            methods,
            ca: ca.clone(),
            account_uri: None,
            webroot: None,
            certificate: None,
        }],
        config,
        timeout,
        ca,
        account_uri: None,
        policy,
        http: http01::Plan::random(),
        expect_txt: Vec::new(),
        key_authorization: None,
        concurrency: 1,
        smime: false,
        // A scrape that gives up does not cancel the check (its result is cached for the next
        // scrape), so the exporter needs no overall deadline of its own.
        deadline: None,
        config_problems: Vec::new(),
        net,
    })
}
