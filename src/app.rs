//! The only module that knows every stage: flags → validated plan → vantages → checks fanned out
//! over identifiers × perspectives (bounded concurrency, a deadline per task) → pure analysis →
//! report → renderer → exit code. Everything user-facing that can go wrong before probing is an
//! `AppError` with exit code 3 and a one-line message.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;

use crate::analysis::{self, IdentifierRun, Run, quorum::Policy};
use crate::checks::{self, caa, http01};
use crate::cli::{Cli, ColorArg, Format, MethodArg};
use crate::config::{Config, DnsSpec, PolicyName};
use crate::exit::Exit;
use crate::identifier::Identifier;
use crate::model::{
    Check, Method, Observation, Outcome, PerspectiveInfo, Report, Role, SCHEMA_VERSION, ToolInfo,
};
use crate::perspective::{Discovery, NetSettings, Vantage, http::proxy_preflight};
use crate::report::{self, Style};

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
    /// Identifiers in flight at once.
    pub concurrency: usize,
    /// S/MIME (`--cert-type smime`): CAA issuemail, DNS checks only.
    pub smime: bool,
    /// Client configuration files that could not be read.
    pub config_problems: Vec<String>,
    /// Ports and address policy, read from the environment once.
    pub net: NetSettings,
}

/// Adds the names of certificates read from a client's configuration, each with its own
/// method, CA, account and webroot. A name given on the command line keeps its flags.
fn add_managed(
    targets: &mut Vec<Target>,
    certs: Vec<crate::acme_clients::ManagedCert>,
    client: &str,
    ca: &str,
    cli: &Cli,
) {
    let now = chrono::Utc::now();
    for cert in certs {
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
        };
        for id in &cert.names {
            if targets.iter().any(|t| t.id == *id) {
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
                ca: cli
                    .ca
                    .clone()
                    .or_else(|| cert.ca_issuer_domain.clone())
                    .unwrap_or_else(|| ca.to_string()),
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

/// Validates flags and configuration into a plan.
pub fn plan(cli: &Cli) -> Result<Plan, UsageError> {
    let mut wanted: Vec<(String, MethodArg, Option<String>)> = cli
        .names
        .iter()
        .map(|n| (n.clone(), cli.method, None))
        .collect();
    if let Some(path) = &cli.from_file {
        wanted.extend(read_name_list(path, cli.method)?);
    }
    let mut identifiers = Vec::new();
    for (raw, method, whence) in &wanted {
        let id = Identifier::parse(raw).map_err(|e| match whence {
            Some(w) => UsageError(format!("{w}: {e}")),
            None => UsageError(e.to_string()),
        })?;
        let methods = match method {
            // S/MIME: the email domain is validated through DNS; HTTP-01 does not apply.
            _ if cli.cert_type == crate::cli::CertType::Smime => vec![Method::Dns01],
            MethodArg::Auto if id.is_wildcard() => vec![Method::Dns01],
            MethodArg::Auto | MethodArg::Http01 => vec![Method::Http01],
            MethodArg::Dns01 => vec![Method::Dns01],
        };
        if !identifiers.iter().any(|(i, _): &(Identifier, _)| *i == id) {
            identifiers.push((id, methods));
        }
    }
    if identifiers.is_empty() && cli.certbot.is_none() && cli.acme_sh.is_none() {
        return Err(UsageError("no names to check".into()));
    }
    let config = Config::discover(cli.config.as_deref()).map_err(|e| UsageError(e.to_string()))?;
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
    let mut config_problems = Vec::new();
    if let Some(dir) = &cli.certbot {
        let dir = dir.clone().unwrap_or_else(|| "/etc/letsencrypt".into());
        let (certs, errors) = crate::acme_clients::certbot::read_dir(&dir);
        add_managed(&mut targets, certs, "certbot", &ca, cli);
        config_problems.extend(errors.iter().map(ToString::to_string));
        if targets.is_empty() && errors.is_empty() {
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
        add_managed(&mut targets, certs, "acme.sh", &ca, cli);
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
    let net = NetSettings::from_env().map_err(UsageError)?;
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
        concurrency: cli.concurrency,
        smime: cli.cert_type == crate::cli::CertType::Smime,
    })
}

/// The vantages of one run and their shared bookkeeping, built once and used for every
/// identifier: one DNS side and one HTTP client per perspective for the whole run.
#[derive(Debug)]
pub struct Engine {
    /// The recursive view used to discover authoritative servers.
    pub bootstrap: Arc<Vantage>,
    /// One vantage per configured perspective, in config order.
    pub vantages: Vec<Arc<Vantage>>,
    /// Zone-cut bookkeeping shared by the vantages.
    pub discovery: Arc<Discovery>,
    /// Globalping probes, when configured (one perspective per location).
    pub globalping: Option<crate::engines::globalping::Globalping>,
    /// An Open MPIC endpoint, when configured.
    pub openmpic: Option<crate::engines::openmpic::OpenMpic>,
    /// Why a configured engine could not be set up.
    pub engine_problems: Vec<String>,
}

/// What the probes saw for one identifier: one group of observations per configured
/// perspective, and the nameserver sources discovered for it.
#[derive(Debug)]
pub struct Probed {
    /// The identifier's name.
    pub name: String,
    /// Observations per configured perspective, in config order.
    pub groups: Vec<Vec<Observation>>,
    /// Nameserver sources with their observations.
    pub sources: Vec<(PerspectiveInfo, Vec<Observation>)>,
    /// Remote engines' own verdicts.
    pub engine_verdicts: Vec<String>,
}

impl Engine {
    /// The part of the vantages the DNS-01 hooks use.
    pub fn resolvers(&self) -> crate::commands::wait_txt::Resolvers<'_> {
        crate::commands::wait_txt::Resolvers {
            bootstrap: &self.bootstrap,
            vantages: &self.vantages,
            discovery: &self.discovery,
        }
    }

    /// Builds every vantage and checks each proxy once.
    pub async fn new(plan: &Plan) -> Engine {
        // A generous bound: a healthy name costs each perspective 10-60 questions, the caps on
        // nameservers keep a hostile one under a few hundred.
        let per_name = 500 * (plan.config.perspectives.len() as u64 + 1);
        let budget = 10_000 + per_name * plan.identifiers.len() as u64;
        let discovery = Discovery::with_budget(plan.net.clone(), budget);
        Engine::build(&plan.config, plan.timeout, discovery).await
    }

    /// Builds the vantages of `config` with a per-step `timeout`, sharing `discovery`.
    pub async fn build(config: &Config, timeout: Duration, discovery: Discovery) -> Engine {
        let discovery = Arc::new(discovery);
        // Discovery of authoritative servers goes through a recursive view: the first configured
        // recursive perspective (normally the primary), else the host's resolvers.
        let boot_spec = config
            .perspectives
            .iter()
            .find(|p| p.dns != DnsSpec::Authoritative)
            .cloned();
        let bootstrap = Arc::new(match boot_spec {
            Some(s) => Vantage::new(s, timeout, None, discovery.clone()),
            None => Vantage::system(timeout, discovery.clone()),
        });
        let preflights = join_all(
            config
                .perspectives
                .iter()
                .map(|p| proxy_preflight(&p.http, timeout)),
        )
        .await;
        let mut vantages = Vec::new();
        for (spec, pre) in config.perspectives.iter().zip(preflights) {
            let mut v = Vantage::new(
                spec.clone(),
                timeout,
                Some(bootstrap.clone()),
                discovery.clone(),
            );
            if let Err(e) = pre {
                v.broken = Some(e);
            }
            vantages.push(Arc::new(v));
        }
        let mut engine = Engine {
            bootstrap,
            vantages,
            discovery,
            globalping: None,
            openmpic: None,
            engine_problems: Vec::new(),
        };
        // Remote engines get a longer bound: they queue, poll and re-measure redirects.
        let engine_timeout = (timeout * 6).max(Duration::from_secs(30));
        for e in &config.engines {
            match e {
                crate::config::EngineSpec::Globalping {
                    api_url,
                    token_env,
                    locations,
                } => {
                    let cfg = crate::engines::globalping::GlobalpingConfig {
                        api_url: api_url.clone(),
                        token: crate::engines::globalping::token_from_env(token_env),
                        locations: locations.clone(),
                        timeout: engine_timeout,
                    };
                    match crate::engines::globalping::Globalping::new(cfg) {
                        Ok(g) => engine.globalping = Some(g),
                        Err(m) => engine.engine_problems.push(format!("globalping: {m}")),
                    }
                }
                crate::config::EngineSpec::OpenMpic { url, api_key_env } => {
                    let cfg = crate::engines::openmpic::OpenMpicConfig {
                        url: url.clone(),
                        api_key: std::env::var(api_key_env)
                            .ok()
                            .filter(|k| !k.trim().is_empty()),
                        timeout: engine_timeout,
                    };
                    match crate::engines::openmpic::OpenMpic::new(cfg) {
                        Ok(o) => engine.openmpic = Some(o),
                        Err(m) => engine.engine_problems.push(format!("open-mpic: {m}")),
                    }
                }
            }
        }
        engine
    }

    /// The remote engines' perspectives and observations for one identifier.
    async fn engine_checks(
        &self,
        plan: &Plan,
        t: &Target,
    ) -> (Vec<(PerspectiveInfo, Vec<Observation>)>, Vec<String>) {
        let mut verdicts = Vec::new();
        let id = &t.id;
        let http = t.methods.contains(&Method::Http01) && !id.is_wildcard();
        let dns01 = t.methods.contains(&Method::Dns01);
        let mut obs: Vec<Observation> = Vec::new();
        let mut infos: Vec<PerspectiveInfo> = Vec::new();
        if let Some(g) = &self.globalping {
            let (addr, txt, web) = tokio::join!(
                async {
                    if id.is_wildcard() {
                        Vec::new()
                    } else {
                        g.address(id.base()).await
                    }
                },
                async {
                    if dns01 {
                        g.txt(&id.challenge_name(), &plan.expect_txt).await
                    } else {
                        Vec::new()
                    }
                },
                async {
                    if http {
                        g.http01(&id.name, &plan.http.token, plan.http.expect_body.as_deref())
                            .await
                    } else {
                        Vec::new()
                    }
                },
            );
            obs.extend(addr);
            obs.extend(txt);
            obs.extend(web);
            infos.extend(g.locations().iter().map(|l| PerspectiveInfo {
                name: l.name.clone(),
                role: Role::Remote,
                rir: Some(l.rir),
                dns: format!("globalping probe ({})", l.spec),
                http: format!("globalping probe ({})", l.spec),
                nameserver: None,
                location: None,
            }));
        }
        if let Some(m) = &self.openmpic {
            let caa = m.caa(id.base(), &t.ca).await;
            let dcv = if let (true, Some(body)) = (http, plan.http.expect_body.as_deref()) {
                Some(m.dcv_http01(&id.name, &plan.http.token, body).await)
            } else if let (true, Some(value)) = (dns01, plan.expect_txt.first()) {
                Some(m.dcv_dns01(&id.name, value).await)
            } else {
                None
            };
            for (what, r) in std::iter::once(("caa", caa)).chain(dcv.map(|d| ("dcv", d))) {
                match r {
                    Ok(res) => {
                        verdicts.push(format!(
                            "Open MPIC {} says {what} is_valid={}{}{}",
                            m.endpoint(),
                            res.is_valid,
                            res.quorum.map_or(String::new(), |(n, q)| format!(
                                " (quorum {q} of {n} perspectives)"
                            )),
                            if res.mpic_completed {
                                ""
                            } else {
                                ", MPIC not completed"
                            }
                        ));
                        for (code, rir) in &res.rirs {
                            let name =
                                format!("{}{code}", crate::engines::openmpic::PERSPECTIVE_PREFIX);
                            if !infos.iter().any(|i| i.name == name) {
                                infos.push(PerspectiveInfo {
                                    name,
                                    role: if rir.is_some() {
                                        Role::Remote
                                    } else {
                                        Role::Source
                                    },
                                    rir: *rir,
                                    dns: format!("open-mpic {}", m.endpoint()),
                                    http: format!("open-mpic {}", m.endpoint()),
                                    nameserver: None,
                                    location: None,
                                });
                            }
                        }
                        obs.extend(res.observations);
                    }
                    Err(e) => {
                        let name = "open-mpic".to_string();
                        if !infos.iter().any(|i| i.name == name) {
                            infos.push(PerspectiveInfo {
                                name: name.clone(),
                                role: Role::Source,
                                rir: None,
                                dns: m.endpoint(),
                                http: m.endpoint(),
                                nameserver: None,
                                location: None,
                            });
                        }
                        obs.push(checks::broken(
                            &name,
                            Check::Caa,
                            &e,
                            crate::model::Phase::Proxy,
                        ));
                    }
                }
            }
        }
        // One entry per perspective, as for nameserver sources.
        let per = infos
            .into_iter()
            .map(|info| {
                let mine: Vec<Observation> = obs
                    .iter()
                    .filter(|o| o.perspective == info.name)
                    .cloned()
                    .collect();
                (info, mine)
            })
            .collect();
        (per, verdicts)
    }

    /// What the engines lost during the run (setup failures, rate limits, API errors).
    pub fn engine_problems(&self) -> Vec<String> {
        let mut v = self.engine_problems.clone();
        if let Some(g) = &self.globalping {
            v.extend(g.problems().into_iter().map(|p| format!("globalping: {p}")));
        }
        v
    }

    /// Every check of one identifier from every perspective, plus its nameserver sources, all
    /// at once; each perspective bounded by a deadline so one silent vantage costs one timeout.
    pub async fn identifier(&self, plan: &Plan, t: &Target) -> Probed {
        let id = &t.id;
        let deadline = http01::deadline(plan.timeout) + plan.timeout * 4;
        let groups = join_all(self.vantages.iter().map(|v| async move {
            match tokio::time::timeout(deadline, perspective_checks(plan, v, t)).await {
                Ok(o) => o,
                Err(_) => {
                    let mut o = checks::blank(&v.spec.name, Check::Address);
                    o.phase = Some(crate::model::Phase::Timeout);
                    o.summary = format!("perspective did not finish within {deadline:?}");
                    o.signature = crate::model::Signature::Failed(crate::model::Phase::Timeout);
                    vec![o]
                }
            }
        }));
        let sources = async {
            if plan.config.authoritative_sources {
                nameserver_sources(plan, &self.bootstrap, &self.discovery, t).await
            } else {
                Vec::new()
            }
        };
        let (groups, mut sources, (engines, engine_verdicts)) =
            tokio::join!(groups, sources, self.engine_checks(plan, t));
        sources.extend(engines);
        Probed {
            name: id.name.clone(),
            groups,
            sources,
            engine_verdicts,
        }
    }
}

/// Largest `--from-file` list: about two million names, far beyond any renewal window.
pub const MAX_NAME_LIST_BYTES: u64 = 64 << 20;

/// Largest `--replay` file (a saved run of 10,000 names is tens of MiB).
pub const MAX_REPLAY_BYTES: u64 = 256 << 20;

/// Reads `name [method]` lines; `-` is stdin. Errors name the file and line.
fn read_name_list(
    path: &std::path::Path,
    default: MethodArg,
) -> Result<Vec<(String, MethodArg, Option<String>)>, UsageError> {
    use crate::config::read_text_capped;
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
            Some("auto") => MethodArg::Auto,
            Some(other) => {
                return Err(UsageError(format!(
                    "{whence}: unknown method {other:?}: use http-01, dns-01 or auto"
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

/// Runs the probes of a plan and returns the raw run. Never fails: problems are observations.
pub async fn probe(plan: &Plan, progress: &indicatif::ProgressBar) -> Run {
    use futures::StreamExt;
    let engine = Engine::new(plan).await;
    progress.set_length(plan.identifiers.len() as u64);
    let mut probed: Vec<Probed> = futures::stream::iter(&plan.identifiers)
        .map(|t| {
            let engine = &engine;
            async move {
                progress.set_message(t.id.name.clone());
                let p = engine.identifier(plan, t).await;
                progress.inc(1);
                p
            }
        })
        .buffered(plan.concurrency.max(1))
        .collect()
        .await;
    // One probe file per distinct webroot, fetched for the names that webroot serves.
    let mut problems = Vec::new();
    let mut dirs: Vec<&std::path::PathBuf> = plan
        .identifiers
        .iter()
        .filter_map(|t| t.webroot.as_ref())
        .collect();
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        progress.set_message(format!("webroot probe in {}", dir.display()));
        if let Err(e) = webroot_phase(plan, dir, &engine.vantages, &mut probed).await {
            problems.push(format!("{}: {e}", dir.display()));
        }
    }
    let probe_problem = (!problems.is_empty()).then(|| problems.join("; "));
    let mut perspectives = perspective_infos(&plan.config);
    let mut identifiers = Vec::new();
    for (p, t) in probed.into_iter().zip(&plan.identifiers) {
        identifiers.push(assemble(p, t, &mut perspectives));
    }
    Run {
        perspectives,
        ca: plan.ca.clone(),
        identifiers,
        http_vantages: plan
            .config
            .perspectives
            .iter()
            .filter(|p| p.role != Role::Source)
            .count(),
        expect_txt: plan.expect_txt.clone(),
        probe_problem,
        config_problems: plan.config_problems.clone(),
        smime: plan.smime,
        engine_problems: engine.engine_problems(),
    }
}

/// Flattens one identifier's groups and sources into its run record, adding newly seen
/// nameserver sources to `perspectives`.
fn assemble(p: Probed, t: &Target, perspectives: &mut Vec<PerspectiveInfo>) -> IdentifierRun {
    let mut observations: Vec<Observation> = p.groups.into_iter().flatten().collect();
    for (info, mut obs) in p.sources {
        if !perspectives.iter().any(|q| q.name == info.name) {
            perspectives.push(info);
        }
        observations.append(&mut obs);
    }
    IdentifierRun {
        name: p.name,
        methods: t.methods.clone(),
        observations,
        ca: t.ca.clone(),
        certificate: t.certificate.clone(),
        engine_verdicts: p.engine_verdicts,
    }
}

/// Streams one JSON object per identifier, in identifier order, as soon as it is done (memory
/// stays bounded by the identifiers in flight), then a summary line. Returns the worst outcome.
pub async fn probe_streaming(plan: &Plan, out: &mut impl Write) -> Result<Outcome, anyhow::Error> {
    use futures::StreamExt;
    let started = chrono::Utc::now();
    let clock = Instant::now();
    let engine = Engine::new(plan).await;
    let base = perspective_infos(&plan.config);
    let mut stream = futures::stream::iter(&plan.identifiers)
        .map(|t| {
            let engine = &engine;
            async move { (engine.identifier(plan, t).await, t) }
        })
        .buffered(plan.concurrency.max(1));
    let mut worst: Option<Outcome> = None;
    let mut counts: std::collections::BTreeMap<&'static str, usize> =
        std::collections::BTreeMap::new();
    let mut first = true;
    while let Some((p, t)) = stream.next().await {
        let mut perspectives = base.clone();
        let ident = assemble(p, t, &mut perspectives);
        let run = Run {
            perspectives,
            ca: plan.ca.clone(),
            identifiers: vec![ident],
            http_vantages: base.iter().filter(|p| p.role != Role::Source).count(),
            expect_txt: plan.expect_txt.clone(),
            probe_problem: None,
            // Reported once, with the first identifier.
            config_problems: if first {
                plan.config_problems.clone()
            } else {
                Vec::new()
            },
            smime: plan.smime,
            // Engine problems seen so far; later ones go in the summary line.
            engine_problems: if first {
                engine.engine_problems()
            } else {
                Vec::new()
            },
        };
        first = false;
        let a = analysis::analyze(&run, &plan.policy);
        worst = Some(worst.map_or(a.outcome, |w| w.worst(a.outcome)));
        *counts.entry(a.outcome.as_str()).or_default() += 1;
        let Some(ir) = a.identifiers.into_iter().next() else {
            continue;
        };
        // Serialized straight from the structs (no intermediate `Value`) and handed to the
        // writer as one line, so a stdout `LineWriter` sees one write per identifier.
        #[derive(serde::Serialize)]
        struct Line<'a> {
            #[serde(rename = "type")]
            kind: &'static str,
            schema_version: u32,
            identifier: &'a crate::model::IdentifierReport,
            findings: &'a [crate::model::Finding],
        }
        let mut bytes = serde_json::to_vec(&Line {
            kind: "identifier",
            schema_version: SCHEMA_VERSION,
            identifier: &ir,
            findings: &a.findings,
        })?;
        bytes.push(b'\n');
        out.write_all(&bytes)?;
    }
    let outcome = worst.unwrap_or(Outcome::Unknown);
    let summary = serde_json::json!({
        "type": "summary",
        "schema_version": SCHEMA_VERSION,
        "tool": ToolInfo { name: "mpic-check".into(), version: env!("CARGO_PKG_VERSION").into() },
        "started_at": started.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "duration_ms": clock.elapsed().as_millis() as u64,
        "policy": plan.policy.info(),
        "ca": plan.ca,
        "perspectives": base,
        "identifiers": plan.identifiers.len(),
        "outcomes": counts,
        "outcome": outcome,
        "exit_code": exit_for(outcome).code(),
        "engine_problems": engine.engine_problems(),
    });
    serde_json::to_writer(&mut *out, &summary)?;
    writeln!(out)?;
    out.flush()?;
    Ok(outcome)
}

fn key_authorization_like() -> String {
    let a = http01::Plan::random().token;
    let b = http01::Plan::random().token;
    format!("{a}.{b}")
}

/// The webroot probe (design §5): with the file absent each perspective already fetched the
/// token (phase 1, in `results`); now write it and fetch it from every perspective with the exact
/// content expected, rewrite it and fetch again (a cache shows the old content), then delete it.
/// The file is removed when this future completes or is dropped (Ctrl-C, SIGTERM, deadline).
async fn webroot_phase(
    plan: &Plan,
    dir: &std::path::Path,
    vantages: &[Arc<Vantage>],
    probed: &mut [Probed],
) -> Result<(), String> {
    let mut results: Vec<(String, Vec<Observation>)> = Vec::new();
    for p in probed.iter_mut() {
        for g in &mut p.groups {
            results.push((p.name.clone(), std::mem::take(g)));
        }
    }
    let r = webroot_fetches(plan, dir, vantages, &mut results).await;
    let mut it = results.into_iter();
    for p in probed.iter_mut() {
        for g in &mut p.groups {
            if let Some((_, obs)) = it.next() {
                *g = obs;
            }
        }
    }
    r
}

async fn webroot_fetches(
    plan: &Plan,
    dir: &std::path::Path,
    vantages: &[Arc<Vantage>],
    results: &mut [(String, Vec<Observation>)],
) -> Result<(), String> {
    let first = key_authorization_like();
    let second = key_authorization_like();
    let mut file = crate::probe::webroot::ProbeFile::create(dir, &plan.http.token, &first)
        .map_err(|e| e.to_string())?;
    let mut targets = Vec::new();
    for (idx, (name, obs)) in results.iter().enumerate() {
        let Some(t) = plan.identifiers.iter().find(|t| t.id.name == *name) else {
            continue;
        };
        // Only the names this webroot serves.
        if t.webroot.as_deref() != Some(dir)
            || t.id.is_wildcard()
            || !t.methods.contains(&Method::Http01)
            || obs.is_empty()
        {
            continue;
        }
        let perspective = obs[0].perspective.clone();
        let Some(v) = vantages.iter().find(|v| v.spec.name == perspective) else {
            continue;
        };
        if v.broken.is_some() || v.spec.role == Role::Source {
            continue;
        }
        let addrs: Vec<std::net::IpAddr> = obs
            .iter()
            .find(|o| o.check == Check::Address)
            .map(|o| o.addresses.iter().filter_map(|a| a.parse().ok()).collect())
            .unwrap_or_default();
        targets.push((idx, v.clone(), t.id.name.clone(), addrs));
    }
    let with = |body: &str| http01::Plan {
        expect_body: Some(body.to_string()),
        ..plan.http.clone()
    };
    let (plan_a, plan_b) = (with(&first), with(&second));
    let main = join_all(
        targets
            .iter()
            .map(|(_, v, name, addrs)| http01::check(v, name, addrs, &plan_a)),
    )
    .await;
    file.rewrite(&second).map_err(|e| e.to_string())?;
    let again = join_all(
        targets
            .iter()
            .map(|(_, v, name, addrs)| http01::check(v, name, addrs, &plan_b)),
    )
    .await;
    file.remove().map_err(|e| e.to_string())?;
    let first_digest = http01::hex(&<sha2::Sha256 as sha2::Digest>::digest(first.as_bytes()));
    for (((idx, ..), mut fresh), again) in targets.iter().zip(main).zip(again) {
        let obs = &mut results[*idx].1;
        let before = obs
            .iter()
            .find(|o| o.check == Check::Http01 && o.address.is_none())
            .and_then(|o| o.http.as_ref()?.status);
        if let (Some(m), Some(a)) = (fresh.first_mut(), again.first()) {
            let stale = a.http.as_ref().and_then(|h| h.body_sha256.as_deref())
                == Some(first_digest.as_str());
            m.probe = Some(crate::model::ProbeFacts {
                before_status: before,
                rewrite_status: a.http.as_ref().and_then(|h| h.status),
                rewrite_matched: a.ok,
                rewrite_stale: stale,
                rewrite_summary: a.summary.clone(),
            });
        }
        obs.retain(|o| o.check != Check::Http01);
        obs.append(&mut fresh);
    }
    Ok(())
}

/// Public description of the perspectives (credentials redacted by `Display`).
pub fn perspective_infos(c: &Config) -> Vec<PerspectiveInfo> {
    c.perspectives
        .iter()
        .map(|p| PerspectiveInfo {
            name: p.name.clone(),
            role: p.role,
            rir: p.rir,
            dns: match &p.ecs {
                Some(e) => format!("{} ecs={e}", p.dns),
                None => p.dns.to_string(),
            },
            http: p.http.to_string(),
            nameserver: None,
            location: p.location.map(|(a, b)| [a, b]),
        })
        .collect()
}

/// Every address of every authoritative nameserver of the name's zone (and of the dns-01
/// challenge's zone when `_acme-challenge` is delegated) becomes a source asked the same
/// questions, so the analysis can name the server that lacks a record or lags behind.
async fn nameserver_sources(
    plan: &Plan,
    bootstrap: &Vantage,
    discovery: &Arc<Discovery>,
    t: &Target,
) -> Vec<(PerspectiveInfo, Vec<Observation>)> {
    let (id, methods) = (&t.id, t.methods.as_slice());
    let dns01 = methods.contains(&Method::Dns01);
    let challenge = id.challenge_name();
    let (main, chal) = tokio::join!(bootstrap.zone_of(id.base()), async {
        if dns01 {
            bootstrap.zone_of(&challenge).await.ok()
        } else {
            None
        }
    });
    let Ok(main) = main else { return Vec::new() };
    let chal = chal.filter(|z| z.apex != main.apex);
    let delegated = chal.is_some();
    let req = caa::Request {
        issuer: &t.ca,
        wildcard: id.is_wildcard(),
        method: methods.first().copied(),
        account_uri: t.account_uri.as_deref(),
        smime: plan.smime,
    };
    let mut jobs = Vec::new();
    for (zone, is_main) in std::iter::once((&main, true)).chain(chal.iter().map(|z| (z, false))) {
        for (ns, addr) in &zone.servers {
            let name = if is_main {
                format!("{ns}@{}", addr.ip())
            } else {
                format!("{ns}@{} ({})", addr.ip(), zone.apex)
            };
            let spec = crate::config::PerspectiveSpec {
                name: name.clone(),
                role: Role::Source,
                rir: None,
                location: None,
                dns: DnsSpec::Nameserver(*addr),
                ecs: None,
                http: crate::config::HttpSpec::Direct,
                doh_ca: None,
            };
            let info = PerspectiveInfo {
                name,
                role: Role::Source,
                rir: None,
                dns: spec.dns.to_string(),
                http: "none".into(),
                nameserver: Some(ns.clone()),
                location: None,
            };
            let v = Vantage::new(spec, plan.timeout, None, discovery.clone());
            let challenge = &challenge;
            let apex = zone.apex.clone();
            jobs.push(async move {
                let want_txt = dns01 && (!is_main || !delegated);
                let (soa, addr, caa_o, txt) = tokio::join!(
                    checks::soa::check(&v, &apex),
                    async {
                        if is_main && !id.is_wildcard() {
                            Some(checks::address::check(&v, id.base()).await)
                        } else {
                            None
                        }
                    },
                    async {
                        if is_main {
                            Some(caa::check(&v, id.base(), req, Some(&apex)).await)
                        } else {
                            None
                        }
                    },
                    async {
                        if want_txt {
                            Some(checks::txt::check(&v, challenge, &plan.expect_txt).await)
                        } else {
                            None
                        }
                    },
                );
                let mut obs = vec![soa];
                obs.extend(addr);
                obs.extend(caa_o);
                obs.extend(txt);
                (info, obs)
            });
        }
    }
    join_all(jobs).await
}

async fn perspective_checks(plan: &Plan, v: &Vantage, t: &Target) -> Vec<Observation> {
    let (id, methods) = (&t.id, t.methods.as_slice());
    let name = &v.spec.name;
    let wants_http =
        methods.contains(&Method::Http01) && !id.is_wildcard() && v.spec.role != Role::Source;
    if let Some(why) = &v.broken {
        // A proxy that failed its preflight, or a DNS side that could not be set up.
        let phase = if why.starts_with("proxy") {
            crate::model::Phase::Proxy
        } else {
            crate::model::Phase::Dns
        };
        let mut all = vec![checks::broken(name, Check::Caa, why, phase)];
        if !id.is_wildcard() {
            all.push(checks::broken(name, Check::Address, why, phase));
        }
        if wants_http {
            all.push(checks::broken(name, Check::Http01, why, phase));
        }
        if methods.contains(&Method::Dns01) {
            all.push(checks::broken(name, Check::Dns01, why, phase));
        }
        return all;
    }
    let req = caa::Request {
        issuer: &t.ca,
        wildcard: id.is_wildcard(),
        method: methods.first().copied(),
        account_uri: t.account_uri.as_deref(),
        smime: plan.smime,
    };
    let address = async {
        if id.is_wildcard() {
            None
        } else {
            Some(checks::address::check(v, id.base()).await)
        }
    };
    let txt = async {
        if methods.contains(&Method::Dns01) {
            Some(checks::txt::check(v, &id.challenge_name(), &plan.expect_txt).await)
        } else {
            None
        }
    };
    let (addr_obs, caa_obs, txt_obs) =
        tokio::join!(address, caa::check(v, id.base(), req, None), txt);
    let mut out = vec![caa_obs];
    out.extend(txt_obs);
    if let Some(a) = addr_obs {
        if wants_http {
            let addrs: Vec<std::net::IpAddr> =
                a.addresses.iter().filter_map(|s| s.parse().ok()).collect();
            if a.phase.is_some() && v.pins_addresses() {
                let mut o = checks::blank(name, Check::Http01);
                o.phase = a.phase;
                o.perspective_fault = a.perspective_fault;
                o.summary = format!("not fetched: the name did not resolve ({})", a.summary);
                o.signature = a.signature.clone();
                out.push(o);
            } else {
                out.extend(http01::check(v, &id.name, &addrs, &plan.http).await);
            }
        }
        out.push(a);
    }
    out
}

async fn helper_command(
    cmd: &crate::cli::Command,
    out: &mut impl Write,
) -> Result<Exit, anyhow::Error> {
    use crate::cli::Command as C;
    use clap::CommandFactory;
    let mut command = Cli::command();
    match cmd {
        C::Completions { shell } => {
            clap_complete::generate(*shell, &mut command, "mpic-check", out);
            Ok(Exit::Ready)
        }
        C::Man => {
            clap_mangen::Man::new(command).render(out)?;
            Ok(Exit::Ready)
        }
        C::WaitTxt {
            name,
            values,
            hook,
            timeout,
        } => {
            let (engine, policy, challenge, step) = hook_setup(name, hook).await?;
            let mut err = std::io::stderr();
            let mut sink = std::io::sink();
            let log: &mut dyn Write = if hook.quiet { &mut sink } else { &mut err };
            let code = crate::commands::wait_txt::wait_txt(
                &engine.resolvers(),
                &policy,
                &challenge,
                values,
                *timeout,
                step,
                &mut LogWriter(log),
                out,
            )
            .await?;
            Ok(code)
        }
        C::Explain {
            text,
            run,
            format,
            config,
        } => explain_command(text, *run, *format, config.as_deref(), out),
        C::Watch {
            name,
            hook,
            duration,
            interval,
            ..
        } => {
            let (engine, _, challenge, step) = hook_setup(name, hook).await?;
            let stop = async {
                shutdown_signal().await;
            };
            Ok(crate::commands::wait_txt::watch(
                &engine.resolvers(),
                &challenge,
                *duration,
                *interval,
                step,
                stop,
                out,
            )
            .await?)
        }
    }
}

fn explain_command(
    text: &[String],
    run: bool,
    format: crate::cli::ExplainFormat,
    config: Option<&std::path::Path>,
    out: &mut impl Write,
) -> Result<Exit, anyhow::Error> {
    use std::io::Read;
    let input = if text.is_empty() || text == ["-"] {
        let mut s = String::new();
        std::io::stdin()
            .take(crate::explain::MAX_INPUT_BYTES as u64)
            .read_to_string(&mut s)
            .map_err(|e| UsageError(format!("explain: cannot read standard input: {e}")))?;
        s
    } else {
        text.join(" ")
    };
    let found = crate::explain::explain(&input);
    match format {
        crate::cli::ExplainFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &found)?;
            writeln!(out)?;
        }
        crate::cli::ExplainFormat::Text => {
            for (i, e) in found.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                let head = if e.recognised {
                    format!(
                        "{} ({} check){}",
                        e.family,
                        e.stage.as_str(),
                        e.identifier
                            .as_deref()
                            .map_or(String::new(), |n| format!(" for {n}"))
                    )
                } else {
                    "not recognised".to_string()
                };
                writeln!(out, "{}", report::clean(&head))?;
                for l in report::wrap(&e.meaning, 100, "  ", "  ") {
                    writeln!(out, "{l}")?;
                }
                if let Some(u) = &e.url {
                    writeln!(out, "  url: {}", report::clean(u))?;
                }
                if let Some(a) = &e.address {
                    writeln!(out, "  address: {}", report::clean(a))?;
                }
                if !e.likely_findings.is_empty() {
                    writeln!(
                        out,
                        "  mpic-check would report: {}",
                        e.likely_findings.join(", ")
                    )?;
                }
                if !e.suggested_args.is_empty() {
                    writeln!(
                        out,
                        "  run: mpic-check {}",
                        report::clean(&e.suggested_args.join(" "))
                    )?;
                }
                for c in &e.checklist {
                    for l in report::wrap(c, 100, "  - ", "    ") {
                        writeln!(out, "{l}")?;
                    }
                }
            }
        }
    }
    out.flush()?;
    if !run {
        return Ok(if found.iter().any(|e| e.recognised) {
            Exit::Ready
        } else {
            Exit::CouldNotAssess
        });
    }
    // --run: the suggested checks, one process each, their worst exit status.
    let exe = std::env::current_exe().map_err(|e| UsageError(format!("explain --run: {e}")))?;
    let mut worst = Exit::Ready;
    let mut seen = Vec::new();
    for e in found.iter().filter(|e| !e.suggested_args.is_empty()) {
        if seen.contains(&e.suggested_args) {
            continue;
        }
        seen.push(e.suggested_args.clone());
        writeln!(
            out,
            "\n$ mpic-check {}",
            report::clean(&e.suggested_args.join(" "))
        )?;
        out.flush()?;
        let mut cmd = std::process::Command::new(&exe);
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        let status = cmd
            .args(&e.suggested_args)
            .stdin(std::process::Stdio::null())
            .status()
            .map_err(|err| UsageError(format!("explain --run: {err}")))?;
        let code = match status.code() {
            Some(0) => Exit::Ready,
            Some(1) => Exit::AtRisk,
            Some(2) => Exit::WouldFail,
            _ => Exit::CouldNotAssess,
        };
        worst = worst.max(code);
    }
    Ok(worst)
}

/// Adapts a `dyn Write` to `impl Write` for the hook log.
struct LogWriter<'a>(&'a mut dyn Write);

impl Write for LogWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// The challenge name, the vantages and the policy for a hook subcommand.
async fn hook_setup(
    name: &str,
    hook: &crate::cli::HookArgs,
) -> Result<(Engine, Policy, String, Duration), UsageError> {
    let bare = name.trim().trim_end_matches('.');
    let bare = bare.strip_prefix("_acme-challenge.").unwrap_or(bare);
    let id = Identifier::parse(bare).map_err(|e| UsageError(e.to_string()))?;
    let config = Config::discover(hook.config.as_deref()).map_err(|e| UsageError(e.to_string()))?;
    let step = hook
        .step_timeout
        .or(config.timeout)
        .unwrap_or(crate::config::DEFAULT_TIMEOUT);
    let policy = Policy::named(
        hook.policy.or(config.policy).unwrap_or(PolicyName::Br),
        chrono::Utc::now().date_naive(),
        None,
        None,
    )
    .map_err(UsageError)?;
    let net = NetSettings::from_env().map_err(UsageError)?;
    // Hooks poll for minutes at most once a second per server (and caps bound the servers), so they
    // carry no run budget.
    let engine = Engine::build(&config, step, Discovery::new(net)).await;
    Ok((engine, policy, id.challenge_name(), step))
}

/// The exit status under the gate threshold.
pub fn gated(outcome: Outcome, fail_on: crate::cli::FailOn) -> Exit {
    match (exit_for(outcome), fail_on) {
        (Exit::AtRisk, crate::cli::FailOn::Error) => Exit::Ready,
        (e, _) => e,
    }
}

/// Exit code for an outcome.
pub fn exit_for(o: Outcome) -> Exit {
    match o {
        Outcome::Pass => Exit::Ready,
        Outcome::AtRisk => Exit::AtRisk,
        Outcome::Fail => Exit::WouldFail,
        Outcome::Unknown => Exit::CouldNotAssess,
    }
}

/// Builds the report from a run.
pub fn build_report(
    run: &Run,
    policy: &Policy,
    started: chrono::DateTime<chrono::Utc>,
    duration: Duration,
) -> Report {
    let a = analysis::analyze(run, policy);
    let exit = exit_for(a.outcome);
    Report {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: "mpic-check".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        started_at: started.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        duration_ms: duration.as_millis() as u64,
        policy: policy.info(),
        ca: run.ca.clone(),
        outcome: a.outcome,
        exit_code: exit.code(),
        perspectives: run.perspectives.clone(),
        identifiers: a.identifiers,
        findings: a.findings,
        coverage: a.coverage,
    }
}

/// The whole program after flag parsing. Writes the report to `out`; returns the exit status.
pub async fn run(cli: Cli, out: &mut impl Write) -> Result<Exit, anyhow::Error> {
    if let Some(cmd) = &cli.command {
        return helper_command(cmd, out).await;
    }
    if let Some(path) = &cli.replay {
        return replay(&cli, path, out);
    }
    let plan = plan(&cli)?;
    if cli.format == Format::Jsonl {
        if plan.probes_webroot() || cli.save.is_some() {
            return Err(UsageError(
                "--format jsonl streams results; it cannot be combined with --webroot or --save"
                    .into(),
            )
            .into());
        }
        let outcome = probe_streaming(&plan, out).await?;
        return Ok(gated(outcome, cli.fail_on));
    }
    let started = chrono::Utc::now();
    let clock = Instant::now();
    let stderr_tty = std::io::stderr().is_terminal();
    let progress = if stderr_tty && !cli.quiet && cli.format == Format::Table {
        let pb = indicatif::ProgressBar::new(plan.identifiers.len() as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{spinner} [{pos}/{len}] {wide_msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        pb.enable_steady_tick(Duration::from_millis(120));
        pb
    } else {
        indicatif::ProgressBar::hidden()
    };
    let run = if plan.probes_webroot() {
        // The probe file must not outlive an interrupted run: stop probing on a signal, which
        // drops the probe future and with it the file, then report the interruption.
        let mut signals = Signals::install();
        tokio::select! {
            biased;
            sig = signals.recv() => {
                progress.finish_and_clear();
                return Err(UsageError(format!("interrupted by {sig}; the probe file was removed")).into());
            }
            r = probe(&plan, &progress) => r,
        }
    } else {
        probe(&plan, &progress).await
    };
    progress.finish_and_clear();
    let duration = clock.elapsed();
    if let Some(path) = &cli.save {
        let saved = SavedRun {
            schema_version: SCHEMA_VERSION,
            started_at: started.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            duration_ms: duration.as_millis() as u64,
            run: run.clone(),
        };
        let text = serde_json::to_string_pretty(&saved)?;
        std::fs::write(path, text + "\n")
            .map_err(|e| UsageError(format!("--save {}: {e}", path.display())))?;
    }
    let mut report = build_report(&run, &plan.policy, started, duration);
    let exit = gated(report.outcome, cli.fail_on);
    report.exit_code = exit.code();
    render(&cli, &report, out)?;
    Ok(exit)
}

/// What `--save` writes and `--replay` reads.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedRun {
    /// Format version (same as the report's).
    pub schema_version: u32,
    /// When the run started.
    pub started_at: String,
    /// How long it took.
    pub duration_ms: u64,
    /// The observations.
    pub run: Run,
}

fn replay(cli: &Cli, path: &std::path::Path, out: &mut impl Write) -> Result<Exit, anyhow::Error> {
    let text = std::fs::File::open(path)
        .and_then(|f| crate::config::read_text_capped(f, MAX_REPLAY_BYTES))
        .map_err(|e| UsageError(format!("--replay {}: {e}", path.display())))?;
    let saved: SavedRun = serde_json::from_str(&text)
        .map_err(|e| UsageError(format!("--replay {}: not a saved run: {e}", path.display())))?;
    if saved.schema_version != SCHEMA_VERSION {
        return Err(UsageError(format!(
            "--replay {}: schema_version {} is not supported",
            path.display(),
            saved.schema_version
        ))
        .into());
    }
    let as_of = cli.as_of.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let policy = Policy::named(
        cli.policy.unwrap_or(PolicyName::Br),
        as_of,
        cli.remotes,
        cli.quorum,
    )
    .map_err(UsageError)?;
    let started = chrono::DateTime::parse_from_rfc3339(&saved.started_at)
        .map(|d| d.with_timezone(&chrono::Utc))
        .unwrap_or_else(|_| chrono::Utc::now());
    let mut report = build_report(
        &saved.run,
        &policy,
        started,
        Duration::from_millis(saved.duration_ms),
    );
    let exit = gated(report.outcome, cli.fail_on);
    report.exit_code = exit.code();
    render(cli, &report, out)?;
    Ok(exit)
}

fn render(cli: &Cli, r: &Report, out: &mut impl Write) -> Result<(), anyhow::Error> {
    match cli.format {
        Format::Json | Format::Jsonl => report::json::render(r, out)?,
        Format::Nagios => report::nagios::render(r, out)?,
        Format::Prometheus => report::prometheus::render(r, out)?,
        Format::Html => report::html::render(r, out)?,
        Format::Table => {
            let tty = std::io::stdout().is_terminal();
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            let color = match cli.color {
                ColorArg::Always => true,
                ColorArg::Never => false,
                ColorArg::Auto => tty && !no_color,
            };
            let width = if tty {
                terminal_width().unwrap_or(100)
            } else {
                100
            };
            report::table::render(
                r,
                Style {
                    color,
                    width,
                    verbose: cli.verbose > 0,
                },
                out,
            )?;
        }
    }
    out.flush()?;
    Ok(())
}

/// SIGINT, SIGTERM and SIGHUP, caught from the moment this is built. Building it before the
/// webroot probe starts leaves no window in which a signal would kill the process with the
/// default action while a probe file exists.
struct Signals {
    int: Option<tokio::signal::unix::Signal>,
    term: Option<tokio::signal::unix::Signal>,
    hup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn install() -> Signals {
        use tokio::signal::unix::{SignalKind, signal};
        Signals {
            int: signal(SignalKind::interrupt()).ok(),
            term: signal(SignalKind::terminate()).ok(),
            hup: signal(SignalKind::hangup()).ok(),
        }
    }

    /// The name of the first signal received.
    async fn recv(&mut self) -> &'static str {
        async fn one(s: &mut Option<tokio::signal::unix::Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        tokio::select! {
            () = one(&mut self.int) => "SIGINT",
            () = one(&mut self.term) => "SIGTERM",
            () = one(&mut self.hup) => "SIGHUP",
        }
    }
}

async fn shutdown_signal() -> &'static str {
    Signals::install().recv().await
}

/// The terminal's width; a terminal that reports 0 columns (no window size, as under some
/// `docker exec -t` and CI setups) gets the default instead of a one-character table.
fn terminal_width() -> Option<u16> {
    let t = comfy_table::Table::new();
    t.width().filter(|w| *w >= 40)
}

#[cfg(test)]
#[path = "app_props.rs"]
mod app_props;
