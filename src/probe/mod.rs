//! The probe stage: fans the checks out over identifiers × perspectives with deadlines and turns
//! what the vantages saw into a [`Run`] (the input of the analysis, and what `--save` keeps). A
//! perspective that fails is data, not an `Err`: `probe` never fails. The vantages are built once
//! per run ([`ProbeSet`]) so that each perspective keeps one DNS side and one HTTP client. This
//! module also drives the one thing that writes on the user's server, the webroot probe; the file
//! itself is handled by [`webroot`], the nameserver sources by [`sources`], and saved runs by
//! [`saved`].

pub mod acme_dry_run;
pub mod online;
pub mod overload;
pub mod saved;
pub mod sources;
pub mod webroot;

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use futures::future::join_all;

use crate::analysis::{IdentifierRun, Run};
use crate::checks::{self, caa, http01};
use crate::config::{Config, DnsSpec, HttpSpec};
use crate::model::PerspectiveInfo;
use crate::observation::{Check, Method, Observation, Provenance, Role, Signature};
use crate::perspective::{Discovery, Vantage, http::proxy_preflight};
use crate::plan::{Plan, Target};
use crate::text::Redactor;

/// The three things the hooks need from a run's vantages: the recursive view that finds a zone's
/// nameservers, the configured perspectives, and the zone-cut bookkeeping they share.
#[derive(Debug, Clone, Copy)]
pub struct Resolvers<'a> {
    /// The recursive view used to discover authoritative servers.
    pub bootstrap: &'a Vantage,
    /// One vantage per configured perspective, in config order.
    pub vantages: &'a [Arc<Vantage>],
    /// Zone-cut bookkeeping shared by the vantages.
    pub discovery: &'a Arc<Discovery>,
}

/// The vantages of one run and their shared bookkeeping, built once and used for every
/// identifier: one DNS side and one HTTP client per perspective for the whole run.
#[derive(Debug)]
pub struct ProbeSet {
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
    /// Every secret of the run; what leaves this stage has passed through it.
    pub redactor: Redactor,
    /// Timeouts clustering on one perspective across names (bulk runs only).
    pub overload: overload::Overload,
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
    /// Perspectives the run's deadline cut off.
    pub unfinished: Vec<String>,
}

impl ProbeSet {
    /// The part of the vantages the DNS-01 hooks use.
    pub fn resolvers(&self) -> Resolvers<'_> {
        Resolvers {
            bootstrap: &self.bootstrap,
            vantages: &self.vantages,
            discovery: &self.discovery,
        }
    }

    /// Builds every vantage and checks each proxy once.
    pub async fn new(plan: &Plan) -> ProbeSet {
        // A generous bound: a healthy name costs each perspective 10-60 questions, the caps on
        // nameservers keep a hostile one under a few hundred.
        let per_name = 500 * (plan.config.perspectives.len() as u64 + 1);
        let budget = 10_000 + per_name * plan.identifiers.len() as u64;
        let discovery = Discovery::with_budget(plan.net.clone(), budget);
        let mut set = ProbeSet::build(&plan.config, plan.timeout, discovery).await;
        set.overload =
            overload::Overload::new(plan.timeout, plan.concurrency, plan.identifiers.len());
        // The ACME account URIs (from --account-uri or a client's configuration) are secrets too:
        // a CAA record or a server may echo them.
        for uri in plan.account_uri.iter().chain(
            plan.identifiers
                .iter()
                .filter_map(|t| t.account_uri.as_ref()),
        ) {
            set.redactor.add(uri);
        }
        set
    }

    /// Removes the run's secrets from everything a server, a proxy or an engine could have filled,
    /// before it reaches a renderer, a log or a saved file.
    pub fn scrub(&self, run: Run) -> Run {
        self.redactor.clean_value(run)
    }

    /// Builds the vantages of `config` with a per-step `timeout`, sharing `discovery`.
    pub async fn build(config: &Config, timeout: Duration, discovery: Discovery) -> ProbeSet {
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
        let mut set = ProbeSet {
            bootstrap,
            vantages,
            discovery,
            globalping: None,
            openmpic: None,
            engine_problems: Vec::new(),
            redactor: redactor_for(config),
            overload: overload::Overload::new(timeout, 1, 0),
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
                        Ok(g) => set.globalping = Some(g),
                        Err(m) => set.engine_problems.push(format!("globalping: {m}")),
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
                        Ok(o) => set.openmpic = Some(o),
                        Err(m) => set.engine_problems.push(format!("open-mpic: {m}")),
                    }
                }
            }
        }
        set
    }

    /// The remote engines' perspectives and observations for one identifier.
    async fn engine_checks(
        &self,
        plan: &Plan,
        t: &Target,
    ) -> (Vec<(PerspectiveInfo, Vec<Observation>)>, Vec<String>) {
        let mut verdicts = Vec::new();
        let id = &t.id;
        // An IP identifier (RFC 8738) has no DNS side: no address lookup, zone or CAA.
        let ip = id.is_ip();
        let http = t.methods.contains(&Method::Http01) && !id.is_wildcard();
        let dns01 = t.methods.contains(&Method::Dns01);
        let mut obs: Vec<Observation> = Vec::new();
        let mut infos: Vec<PerspectiveInfo> = Vec::new();
        if let Some(g) = &self.globalping {
            let (addr, txt, web) = tokio::join!(
                async {
                    if id.is_wildcard() || ip {
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
                        // An IPv6 identifier goes into the URL in brackets.
                        g.http01(
                            &id.url_host(),
                            &plan.http.token,
                            plan.http.expect_body.as_deref(),
                        )
                        .await
                    } else {
                        Vec::new()
                    }
                },
            );
            obs.extend(addr);
            obs.extend(txt);
            obs.extend(web);
            // Both need the zone's nameservers: without them (no delegation found) the local
            // checks already report the zone, and neither question could be asked.
            let (apex, servers) = if ip {
                (String::new(), Vec::new())
            } else {
                match self.bootstrap.zone_of(id.base()).await {
                    Ok(z) if !id.is_wildcard() => (z.apex, z.servers),
                    _ => (String::new(), Vec::new()),
                }
            };
            let (auth, caa_emulated) = match servers.first() {
                None => (Vec::new(), Vec::new()),
                Some((_, first)) => {
                    tokio::join!(
                        self.globalping_authoritative(g, id.base(), &servers),
                        self.globalping_caa(plan, g, t, &apex, *first)
                    )
                }
            };
            for (info, o) in auth.into_iter().chain(caa_emulated) {
                if !infos.iter().any(|i| i.name == info.name) {
                    infos.push(info);
                }
                obs.push(o);
            }
            infos.extend(g.locations().iter().map(|l| PerspectiveInfo {
                name: l.name.clone(),
                role: Role::Remote,
                rir: Some(l.rir),
                dns: format!("globalping probe ({})", l.spec),
                http: format!("globalping probe ({})", l.spec),
                nameserver: None,
                location: None,
                dns_provenance: Some(Provenance::GlobalpingProbe {
                    location: l.spec.to_string(),
                    city: None,
                    country: None,
                    asn: None,
                }),
                http_provenance: Some(Provenance::GlobalpingProbe {
                    location: l.spec.to_string(),
                    city: None,
                    country: None,
                    asn: None,
                }),
            }));
        }
        if let Some(m) = &self.openmpic {
            // A certificate whose CA is unknown has no issuer domain and its CAA is not judged
            // (`ca-unknown`); Open MPIC would answer for an empty issuer list instead.
            let caa = if t.ca.is_empty() || ip {
                None
            } else {
                Some(m.caa(id.base(), &t.ca).await)
            };
            let dcv = if let (true, Some(body)) = (http, plan.http.expect_body.as_deref()) {
                Some(m.dcv_http01(&id.name, &plan.http.token, body).await)
            } else if let (true, Some(value)) = (dns01, plan.expect_txt.first()) {
                Some(m.dcv_dns01(&id.name, value).await)
            } else {
                None
            };
            for (what, r) in caa
                .map(|c| ("caa", c))
                .into_iter()
                .chain(dcv.map(|d| ("dcv", d)))
            {
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
                                    dns_provenance: Some(Provenance::OpenMpic {
                                        perspective_code: code.clone(),
                                    }),
                                    http_provenance: Some(Provenance::OpenMpic {
                                        perspective_code: code.clone(),
                                    }),
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
                                dns_provenance: None,
                                http_provenance: None,
                            });
                        }
                        obs.push(checks::broken(
                            &name,
                            Check::Caa,
                            &e,
                            crate::observation::Phase::Proxy,
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

    /// The name asked from every Globalping probe directly of its zone's authoritative
    /// nameservers: a provider refusing a region shows as that probe's REFUSED, which the
    /// analysis reports as `dns-refused-by-region`. These are sources (role `source`), so they
    /// never count in a quorum; the nameserver field stays empty because the question did not
    /// leave this host.
    async fn globalping_authoritative(
        &self,
        g: &crate::engines::globalping::Globalping,
        name: &str,
        servers: &[(String, std::net::SocketAddr)],
    ) -> Vec<(PerspectiveInfo, Observation)> {
        g.authoritative(name, servers)
            .await
            .into_iter()
            .map(|(i, ns, addr, o)| {
                let l = &g.locations()[i];
                let info = PerspectiveInfo {
                    name: o.perspective.clone(),
                    role: Role::Source,
                    rir: None,
                    dns: format!(
                        "{ns}@{} asked from globalping probe ({})",
                        addr.ip(),
                        l.spec
                    ),
                    http: "none".into(),
                    nameserver: None,
                    location: None,
                    dns_provenance: Some(Provenance::GlobalpingProbe {
                        location: l.spec.to_string(),
                        city: None,
                        country: None,
                        asn: None,
                    }),
                    http_provenance: None,
                };
                (info, o)
            })
            .collect()
    }

    /// CAA for each Globalping location, which Globalping cannot query: the zone's first
    /// authoritative server (the one the probes were sent to) asked from this host with the EDNS
    /// Client Subnet of that location's RIR region (a configured perspective's subnet for that
    /// RIR, else the built-in set's). The observation says it is emulated, and it is a source, so
    /// it never counts as a remote.
    async fn globalping_caa(
        &self,
        plan: &Plan,
        g: &crate::engines::globalping::Globalping,
        t: &Target,
        apex: &str,
        server: std::net::SocketAddr,
    ) -> Vec<(PerspectiveInfo, Observation)> {
        let builtin = Config::built_in();
        let subnet_for = |rir| {
            plan.config
                .perspectives
                .iter()
                .chain(builtin.perspectives.iter())
                .find(|p| p.rir == Some(rir) && p.ecs.is_some())
                .and_then(|p| p.ecs)
        };
        let req = caa_request(plan, t);
        let jobs = g.locations().iter().filter_map(|l| {
            let subnet = subnet_for(l.rir)?;
            let name = format!("{} CAA emulated (ECS {subnet})", l.name);
            let mut spec = crate::config::PerspectiveSpec::local(
                name.clone(),
                Role::Source,
                DnsSpec::Nameserver(server),
            );
            spec.ecs = Some(subnet);
            let info = PerspectiveInfo {
                name,
                role: Role::Source,
                rir: None,
                dns: format!(
                    "{} from this host, ECS {subnet} (emulates {})",
                    spec.dns, l.name
                ),
                http: "none".into(),
                nameserver: None,
                location: None,
                dns_provenance: Some(Provenance::ThisHostEcs {
                    subnet: subnet.to_string(),
                }),
                http_provenance: None,
            };
            let v = Vantage::new(spec, plan.timeout, None, self.discovery.clone());
            let loc = l.name.clone();
            Some(async move {
                let mut o = caa::check(&v, t.id.base(), req, Some(apex)).await;
                o.summary = format!(
                    "emulated (ECS {subnet}, asked from this host for {loc}; Globalping cannot \
                     query CAA): {}",
                    o.summary
                );
                (info, o)
            })
        });
        join_all(jobs).await
    }

    /// What the engines lost during the run (setup failures, rate limits, API errors).
    pub fn engine_problems(&self) -> Vec<String> {
        let mut v = self.engine_problems.clone();
        if let Some(g) = &self.globalping {
            v.extend(g.problems().into_iter().map(|p| format!("globalping: {p}")));
        }
        v.iter().map(|p| self.redactor.clean(p)).collect()
    }

    /// Every check of one identifier from every perspective, plus its nameserver sources, all
    /// at once; each perspective bounded by a deadline so one silent vantage costs one timeout.
    pub async fn identifier(&self, plan: &Plan, t: &Target) -> Probed {
        self.identifier_until(plan, t, None).await
    }

    /// One perspective's checks of `t`, bounded by the perspective's own deadline and the run's
    /// `until`; `true` when the run's deadline cut it off.
    async fn perspective_until(
        plan: &Plan,
        v: &Vantage,
        t: &Target,
        until: Option<Instant>,
    ) -> (Vec<Observation>, bool) {
        let deadline = http01::deadline(plan.timeout) + plan.timeout * 4;
        if until.is_some_and(|u| Instant::now() >= u) {
            return (cut_off(&v.spec.name, t), true);
        }
        let own = Instant::now() + deadline;
        let stop = until.map_or(own, |u| own.min(u));
        match tokio::time::timeout_at(stop, perspective_checks(plan, v, t)).await {
            Ok(o) => (o, false),
            Err(_) if stop < own => (cut_off(&v.spec.name, t), true),
            Err(_) => {
                let mut o = checks::blank(&v.spec.name, Check::Address);
                o.phase = Some(crate::observation::Phase::Timeout);
                o.summary = format!("perspective did not finish within {deadline:?}");
                o.signature = "error:timeout".into();
                (vec![o], false)
            }
        }
    }

    /// [`ProbeSet::identifier_until`] for a bulk run, with the tool's own overload told apart
    /// (see [`overload`]): when perspectives' resolvers time out on this name while others
    /// answer and the same happens to other names of the run at once, those perspectives check
    /// the name once more (at a quarter of the concurrency); timeouts that remain while the
    /// cluster holds become the perspective's fault.
    pub async fn identifier_checked(
        &self,
        plan: &Plan,
        t: &Target,
        until: Option<Instant>,
    ) -> Probed {
        let mut p = self.identifier_until(plan, t, until).await;
        if !self.overload.enabled() {
            return p;
        }
        let pace = &self.discovery.pace;
        let label = |i: usize| self.vantages[i].spec.name.clone();
        let first = overload::Overload::suspects(&p.groups, &self.vantages);
        let first_ns = overload::Overload::source_suspects(&p.sources, pace);
        if first.is_empty() && first_ns.is_empty() {
            return p;
        }
        let keys: Vec<String> = first
            .iter()
            .map(|i| label(*i))
            .chain(first_ns.iter().map(|(_, s)| s.clone()))
            .collect();
        let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        self.overload.record(&p.name, &key_refs);
        let clustered = self.overload.await_cluster(&key_refs).await;
        let again: Vec<usize> = first
            .into_iter()
            .filter(|i| clustered.contains(&label(*i)))
            .collect();
        let again_ns = first_ns.iter().any(|(_, s)| clustered.contains(s));
        if again.is_empty() && !again_ns {
            return p;
        }
        let (retried, retried_ns) = {
            let _slot = self.overload.retry_slot().await;
            let groups = join_all(
                again
                    .iter()
                    .map(|i| Self::perspective_until(plan, &self.vantages[*i], t, until)),
            );
            let ns = async {
                if again_ns && until.is_none_or(|u| Instant::now() < u) {
                    sources::nameserver_sources(plan, &self.bootstrap, &self.discovery, t).await
                } else {
                    Vec::new()
                }
            };
            tokio::join!(groups, ns)
        };
        for (i, (mut g, cut)) in again.iter().zip(retried) {
            if cut {
                // The run's deadline came first: keep what the first try saw.
                continue;
            }
            for o in &mut g {
                stamp(o, &self.vantages[*i].spec);
            }
            p.groups[*i] = g;
        }
        for (info, mut obs) in retried_ns {
            if let Some(slot) = p.sources.iter_mut().find(|(s, _)| s.name == info.name) {
                for o in &mut obs {
                    if o.provenance.is_none() {
                        o.provenance = info.dns_provenance.clone();
                    }
                }
                slot.1 = obs;
            }
        }
        let still: Vec<usize> = overload::Overload::suspects(&p.groups, &self.vantages)
            .into_iter()
            .filter(|i| again.contains(i))
            .collect();
        let still_ns = overload::Overload::source_suspects(&p.sources, pace);
        let keys: Vec<String> = still
            .iter()
            .map(|i| label(*i))
            .chain(still_ns.iter().map(|(_, s)| s.clone()))
            .collect();
        self.overload.record(
            &p.name,
            &keys.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        for i in still {
            if let Some(n) = self.overload.cluster(&label(i)) {
                overload::Overload::blame_resolver(&mut p.groups[i], n, true);
            }
        }
        for (i, server) in still_ns {
            if let Some(n) = self.overload.cluster(&server) {
                overload::Overload::blame_nameserver(&mut p.sources[i].1, n);
            }
        }
        p
    }

    /// [`ProbeSet::identifier`] that also stops at the run's deadline `until`: a perspective not
    /// finished by then gives the tool's own timeout for each of its checks (so the quorum leaves
    /// it out instead of counting it against the domain) and is listed in `unfinished`; sources
    /// and engines not finished are left out. Past the deadline nothing is sent at all.
    pub async fn identifier_until(
        &self,
        plan: &Plan,
        t: &Target,
        until: Option<Instant>,
    ) -> Probed {
        let id = &t.id;
        // A name no CA issues for is decided from the name alone: asking the DNS or fetching
        // from it would only add noise (and traffic for names like `nas.local`).
        if t.refused().is_some() {
            return Probed {
                name: id.name.clone(),
                groups: self.vantages.iter().map(|_| Vec::new()).collect(),
                sources: Vec::new(),
                engine_verdicts: Vec::new(),
                unfinished: Vec::new(),
            };
        }
        let over = || until.is_some_and(|u| Instant::now() >= u);
        let groups = join_all(
            self.vantages
                .iter()
                .map(|v| Self::perspective_until(plan, v, t, until)),
        );
        let bounded = |f| async move {
            match until {
                _ if over() => Vec::new(),
                Some(u) => tokio::time::timeout_at(u, f).await.unwrap_or_default(),
                None => f.await,
            }
        };
        let sources = bounded(Box::pin(async {
            // An IP identifier has no zone, so no nameservers to ask.
            if plan.config.authoritative_sources && !t.id.is_ip() {
                sources::nameserver_sources(plan, &self.bootstrap, &self.discovery, t).await
            } else {
                Vec::new()
            }
        }));
        let engines = async {
            match until {
                _ if over() => (Vec::new(), Vec::new()),
                Some(u) => tokio::time::timeout_at(u, self.engine_checks(plan, t))
                    .await
                    .unwrap_or_default(),
                None => self.engine_checks(plan, t).await,
            }
        };
        let (groups, mut sources, (engines, engine_verdicts)) =
            tokio::join!(groups, sources, engines);
        sources.extend(engines);
        let unfinished: Vec<String> = self
            .vantages
            .iter()
            .zip(&groups)
            .filter(|(_, (_, cut))| *cut)
            .map(|(v, _)| v.spec.name.clone())
            .collect();
        // Where each observation was made follows from its perspective's DNS or HTTP side;
        // engines stamp their own.
        let groups = self
            .vantages
            .iter()
            .zip(groups)
            .map(|(v, (mut g, _))| {
                for o in &mut g {
                    stamp(o, &v.spec);
                }
                g
            })
            .collect();
        for (info, obs) in &mut sources {
            for o in obs {
                if o.provenance.is_none() {
                    o.provenance = if o.check == Check::Http01 {
                        info.http_provenance.clone()
                    } else {
                        info.dns_provenance.clone()
                    };
                }
            }
        }
        Probed {
            name: id.name.clone(),
            groups,
            sources,
            engine_verdicts,
            unfinished,
        }
    }
}

/// Runs the probes of a plan and returns the raw run. Never fails: problems are observations.
pub async fn probe(plan: &Plan, progress: &indicatif::ProgressBar) -> Run {
    probe_until(plan, progress, std::future::pending())
        .await
        .run
}

/// A run that may have been stopped before every name was checked.
#[derive(Debug)]
pub struct Probe {
    /// The names that finished (all of them unless stopped), in plan order.
    pub run: Run,
    /// The names that had not finished when `stop` fired, in plan order.
    pub unchecked: Vec<String>,
    /// What a stop interrupted beyond the names (the webroot probe), for the person who stopped it.
    pub stopped: Option<String>,
}

/// [`probe`] that ends early when `stop` completes (a signal): the names that finished are kept
/// and the rest are listed as unchecked. The run's `--deadline` bounds it as well, but a deadline
/// does not stop it: names past it are probed as "not finished" at once and stay in the report.
/// Names run out of order (`buffer_unordered`), so a slow name does not hold back the finished
/// ones behind it when the run is stopped; the run is put back in plan order.
pub async fn probe_until(
    plan: &Plan,
    progress: &indicatif::ProgressBar,
    stop: impl Future<Output = ()>,
) -> Probe {
    use futures::StreamExt;
    let until = plan.deadline.map(|d| Instant::now() + d);
    let set = ProbeSet::new(plan).await;
    progress.set_length(plan.identifiers.len() as u64);
    let mut done: Vec<Option<Probed>> = plan.identifiers.iter().map(|_| None).collect();
    let mut stop = std::pin::pin!(stop);
    let mut stopped = false;
    {
        let mut stream = futures::stream::iter(plan.identifiers.iter().enumerate())
            .map(|(i, t)| {
                let set = &set;
                async move {
                    progress.set_message(t.id.name.clone());
                    let p = set.identifier_checked(plan, t, until).await;
                    progress.inc(1);
                    (i, p)
                }
            })
            .buffer_unordered(plan.concurrency.max(1));
        loop {
            tokio::select! {
                biased;
                () = &mut stop => {
                    stopped = true;
                    break;
                }
                next = stream.next() => match next {
                    Some((i, p)) => done[i] = Some(p),
                    None => break,
                },
            }
        }
    }
    let mut unchecked: Vec<String> = plan
        .identifiers
        .iter()
        .zip(&done)
        .filter(|(_, p)| p.is_none())
        .map(|(t, _)| t.id.name.clone())
        .collect();
    let mut targets: Vec<&Target> = Vec::new();
    let mut probed: Vec<Probed> = Vec::new();
    for (t, p) in plan.identifiers.iter().zip(done) {
        if let Some(p) = p {
            targets.push(t);
            probed.push(p);
        }
    }
    // One probe file per distinct webroot, fetched for the names that webroot serves. A stopped
    // run writes none; a stop during the probe drops it, which removes the file.
    let mut problems = Vec::new();
    let mut note = None;
    let mut dirs: Vec<&std::path::PathBuf> = plan
        .identifiers
        .iter()
        .filter_map(|t| t.webroot.as_ref())
        .collect();
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        if stopped {
            break;
        }
        progress.set_message(format!("webroot probe in {}", dir.display()));
        tokio::select! {
            biased;
            () = &mut stop => {
                // The phase had taken the names' observations to fetch with; none of them is
                // whole now, so none is reported as checked.
                stopped = true;
                note = Some(format!(
                    "the webroot probe in {} was stopped and its probe file removed",
                    dir.display()
                ));
                unchecked = plan.identifiers.iter().map(|t| t.id.name.clone()).collect();
                probed.clear();
                targets.clear();
            }
            r = webroot_phase(plan, dir, &set.vantages, &mut probed) => {
                if let Err(e) = r {
                    problems.push(format!("{}: {e}", dir.display()));
                }
            }
        }
    }
    let probe_problem = (!problems.is_empty()).then(|| problems.join("; "));
    let mut perspectives = perspective_infos(&plan.config);
    let mut identifiers = Vec::new();
    for (p, t) in probed.into_iter().zip(targets) {
        identifiers.push(assemble(p, t, &mut perspectives));
    }
    let run = set.scrub(Run {
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
        engine_problems: set.engine_problems(),
    });
    Probe {
        run,
        unchecked,
        stopped: note,
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
        unfinished: p.unfinished,
    }
}

/// What the streaming probe knows once every identifier is done.
#[derive(Debug)]
pub struct Streamed {
    /// The configured perspectives (nameserver sources are per identifier and not listed).
    pub perspectives: Vec<PerspectiveInfo>,
    /// What the remote engines lost during the whole run.
    pub engine_problems: Vec<String>,
    /// Stopped by a signal before every name was done.
    pub interrupted: bool,
}

/// Probes the identifiers of `plan` and hands each one's run to `each` as soon as it is done, in
/// identifier order, so memory stays bounded by the identifiers in flight (`--format jsonl`).
/// Each run holds one identifier; the problems of the whole run (configuration, engines) ride on
/// the first. An error from `each` (a closed stdout) stops the probing.
pub async fn probe_streaming<E>(
    plan: &Plan,
    each: impl FnMut(Run) -> Result<(), E>,
) -> Result<Streamed, E> {
    probe_streaming_until(plan, each, std::future::pending()).await
}

/// [`probe_streaming`] that ends early when `stop` completes (a signal); `interrupted` then says
/// so and the names in flight are dropped. The run's `--deadline` bounds each name as in
/// [`probe_until`].
pub async fn probe_streaming_until<E>(
    plan: &Plan,
    mut each: impl FnMut(Run) -> Result<(), E>,
    stop: impl Future<Output = ()>,
) -> Result<Streamed, E> {
    use futures::StreamExt;
    let until = plan.deadline.map(|d| Instant::now() + d);
    let set = ProbeSet::new(plan).await;
    let base = perspective_infos(&plan.config);
    let mut stream = futures::stream::iter(&plan.identifiers)
        .map(|t| {
            let set = &set;
            async move { (set.identifier_checked(plan, t, until).await, t) }
        })
        .buffered(plan.concurrency.max(1));
    let mut first = true;
    let mut stop = std::pin::pin!(stop);
    let mut interrupted = false;
    loop {
        let (p, t) = tokio::select! {
            biased;
            () = &mut stop => {
                interrupted = true;
                break;
            }
            next = stream.next() => match next {
                Some(x) => x,
                None => break,
            },
        };
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
                set.engine_problems()
            } else {
                Vec::new()
            },
        };
        first = false;
        each(set.scrub(run))?;
    }
    Ok(Streamed {
        perspectives: base,
        engine_problems: set.engine_problems(),
        interrupted,
    })
}

/// A redactor that knows the secrets `config` brings: proxy user names and passwords, and the
/// engines' token and API key as the environment holds them.
fn redactor_for(config: &Config) -> Redactor {
    let mut r = Redactor::new();
    for p in &config.perspectives {
        if let Some((user, password)) = p.http.proxy_credentials() {
            r.add_credentials(&user, &password);
        }
        if let HttpSpec::Proxy { url, .. } = &p.http {
            // The raw (percent-encoded) forms too, as they stand in the URL.
            r.add(url.username());
            if let Some(pw) = url.password() {
                r.add(pw);
            }
        }
    }
    for e in &config.engines {
        let secret = match e {
            crate::config::EngineSpec::Globalping { token_env, .. } => {
                crate::engines::globalping::token_from_env(token_env)
            }
            crate::config::EngineSpec::OpenMpic { api_key_env, .. } => std::env::var(api_key_env)
                .ok()
                .map(|k| k.trim().to_string()),
        };
        if let Some(s) = secret {
            r.add(&s);
        }
    }
    r
}

/// What a perspective cut off by the run's deadline contributes: the tool's own timeout for each
/// check it would have run, so every verdict sees it and leaves it out as not assessed.
fn cut_off(perspective: &str, t: &Target) -> Vec<Observation> {
    let mut checks = if t.id.is_ip() {
        Vec::new()
    } else {
        vec![Check::Address, Check::Caa]
    };
    checks.extend(t.methods.iter().map(|m| m.check()));
    checks.dedup();
    checks
        .into_iter()
        .map(|c| {
            let mut o = checks::blank(perspective, c);
            o.phase = Some(crate::observation::Phase::Timeout);
            o.perspective_fault = true;
            o.summary = "not finished when the run's deadline passed".into();
            o.signature = "error:timeout".into();
            o
        })
        .collect()
}

/// What the CAA check of `t` asks for: its CA, wildcard or not, the first method, its account, and
/// the certificate type.
pub(crate) fn caa_request<'a>(plan: &Plan, t: &'a Target) -> caa::Request<'a> {
    caa::Request {
        issuer: &t.ca,
        wildcard: t.id.is_wildcard(),
        method: t.methods.first().copied(),
        account_uri: t.account_uri.as_deref(),
        smime: plan.smime,
    }
}

fn key_authorization_like() -> String {
    let a = http01::Plan::random().token;
    let b = http01::Plan::random().token;
    format!("{a}.{b}")
}

/// The webroot probe (design §5): with no file each perspective already fetched a random token
/// (phase 1, in `results`); now write the probe file under *another* random token, fetch phase
/// 1's path a second time (a cached 404 shows there, so the probe's own path is never fetched
/// before its file exists), fetch the probe from every perspective with the exact content
/// expected, rewrite it and fetch again (a cache shows the old content), then delete it.
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
    // The probe file gets a token nobody has fetched: the first phase fetched `plan.http.token`
    // while no file existed, and an edge that caches 404s would replay that 404 for the probe
    // (the tool poisoning the cache itself). A real ACME flow writes the file before the CA's
    // first fetch; so does this one.
    let probe_token = http01::Plan::random().token;
    let mut file =
        webroot::ProbeFile::create(dir, &probe_token, &first).map_err(|e| e.to_string())?;
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
        let addrs: Vec<std::net::IpAddr> = match t.id.ip() {
            Some(ip) => vec![ip],
            None => obs
                .iter()
                .find(|o| o.check == Check::Address)
                .map(|o| o.addresses.iter().filter_map(|a| a.parse().ok()).collect())
                .unwrap_or_default(),
        };
        targets.push((idx, v.clone(), t.id.url_host(), addrs));
    }
    // Whether the edge caches 404s, learned from the first phase's path (never the probe's):
    // fetched a second time now, a cached 404 comes back with Age or a cache HIT header.
    let negative = join_all(
        targets
            .iter()
            .map(|(_, v, name, addrs)| http01::check(v, name, addrs, &plan.http)),
    )
    .await;
    let with = |body: &str| http01::Plan {
        token: probe_token.clone(),
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
    for ((((idx, ..), mut fresh), again), negative) in
        targets.iter().zip(main).zip(again).zip(negative)
    {
        let obs = &mut results[*idx].1;
        let before = obs
            .iter()
            .find(|o| o.check == Check::Http01 && o.address.is_none())
            .and_then(|o| o.http.as_ref()?.status);
        if let (Some(m), Some(a)) = (fresh.first_mut(), again.first()) {
            let stale = a.http.as_ref().and_then(|h| h.body_sha256.as_deref())
                == Some(first_digest.as_str());
            m.probe = Some(crate::observation::ProbeFacts {
                before_status: before,
                rewrite_status: a.http.as_ref().and_then(|h| h.status),
                rewrite_matched: a.ok,
                rewrite_stale: stale,
                rewrite_summary: a.summary.clone(),
                cached_404: negative.first().and_then(|n| {
                    let h = n.http.as_ref()?;
                    if h.status != Some(404) {
                        return None;
                    }
                    http01::cache_hit(&h.hops.last()?.headers)
                }),
            });
        }
        obs.retain(|o| o.check != Check::Http01);
        obs.append(&mut fresh);
    }
    Ok(())
}

/// Public description of the perspectives (credentials redacted by `Display`).
/// Records where an observation of a configured perspective was made, unless its maker did.
fn stamp(o: &mut Observation, spec: &crate::config::PerspectiveSpec) {
    if o.provenance.is_none() {
        o.provenance = Some(if o.check == Check::Http01 {
            spec.http_provenance()
        } else {
            spec.dns_provenance()
        });
    }
}

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
            dns_provenance: Some(p.dns_provenance()),
            http_provenance: (p.role != Role::Source).then(|| p.http_provenance()),
        })
        .collect()
}

async fn perspective_checks(plan: &Plan, v: &Vantage, t: &Target) -> Vec<Observation> {
    let (id, methods) = (&t.id, t.methods.as_slice());
    let name = &v.spec.name;
    let wants_http =
        methods.contains(&Method::Http01) && !id.is_wildcard() && v.spec.role != Role::Source;
    let wants_tls =
        methods.contains(&Method::TlsAlpn01) && !id.is_wildcard() && v.spec.role != Role::Source;
    if let Some(why) = &v.broken {
        // A proxy that failed its preflight, or a DNS side that could not be set up.
        let phase = if why.starts_with("proxy") {
            crate::observation::Phase::Proxy
        } else {
            crate::observation::Phase::Dns
        };
        let mut all = Vec::new();
        if !id.is_ip() {
            all.push(checks::broken(name, Check::Caa, why, phase));
        }
        if !id.is_wildcard() && !id.is_ip() {
            all.push(checks::broken(name, Check::Address, why, phase));
        }
        if wants_http {
            all.push(checks::broken(name, Check::Http01, why, phase));
        }
        if wants_tls {
            all.push(checks::broken(name, Check::TlsAlpn01, why, phase));
        }
        if methods.contains(&Method::Dns01) {
            all.push(checks::broken(name, Check::Dns01, why, phase));
        }
        return all;
    }
    if let Some(ip) = id.ip() {
        return ip_checks(plan, v, t, ip, wants_http, wants_tls).await;
    }
    let req = caa_request(plan, t);
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
                // The fetch failed in DNS, whatever the lookup's own phase (a resolver timeout
                // is `timeout` on the address check): never a port-80 timeout, so never read as
                // HTTP geoblocking. A proxy failure stays the proxy's.
                use crate::observation::Phase;
                let phase = match a.phase {
                    Some(Phase::Timeout | Phase::Protocol) => Some(Phase::Dns),
                    p => p,
                };
                o.phase = phase;
                o.perspective_fault = a.perspective_fault;
                o.tool_fault = a.tool_fault;
                o.summary = format!("not fetched: the name did not resolve ({})", a.summary);
                o.signature = match (&a.signature, phase) {
                    (Signature::Failed(_), Some(p)) => Signature::Failed(p),
                    (s, _) => s.clone(),
                };
                out.push(o);
            } else {
                out.extend(http01::check(v, &id.name, &addrs, &plan.http).await);
            }
        }
        if wants_tls {
            let addrs: Vec<std::net::IpAddr> =
                a.addresses.iter().filter_map(|s| s.parse().ok()).collect();
            if a.phase.is_some() && v.pins_addresses() {
                let mut o = checks::blank(name, Check::TlsAlpn01);
                o.phase = a.phase;
                o.perspective_fault = a.perspective_fault;
                o.summary = format!("not tried: the name did not resolve ({})", a.summary);
                o.signature = a.signature.clone();
                out.push(o);
            } else {
                out.push(
                    checks::tls_alpn01::check(
                        v,
                        &id.name,
                        &addrs,
                        plan.key_authorization.as_deref(),
                    )
                    .await,
                );
            }
        }
        out.push(a);
    }
    out
}

/// The checks of an IP-address identifier (RFC 8738) from one perspective: no DNS at all — the
/// address is the identifier (Boulder's `va/http.go` `newHTTPValidationTarget` and
/// `va/tlsalpn.go` `validateTLSALPN01` take it as the only address, no lookup), and CAA does not
/// apply (`ra/ra.go` `checkDCVAndCAA` skips `DoCAA` for IP identifiers). http-01 fetches
/// `http://<ip>/…` (IPv6 in brackets, the Host header the address); tls-alpn-01 sends the
/// reverse-DNS name as SNI.
async fn ip_checks(
    plan: &Plan,
    v: &Vantage,
    t: &Target,
    ip: std::net::IpAddr,
    wants_http: bool,
    wants_tls: bool,
) -> Vec<Observation> {
    let mut out = Vec::new();
    if wants_http {
        out.extend(http01::check(v, &t.id.url_host(), &[ip], &plan.http).await);
    }
    if wants_tls {
        out.push(checks::tls_alpn01::check_ip(v, ip, plan.key_authorization.as_deref()).await);
    }
    out
}
