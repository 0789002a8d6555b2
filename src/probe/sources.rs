//! Nameserver sources: every address of every authoritative nameserver of a name's zone is asked
//! the same questions as the perspectives, directly and without a cache, so the analysis can name
//! the one server that lacks a record or lags behind instead of only seeing that perspectives
//! disagree.

use std::sync::Arc;

use futures::future::join_all;

use crate::checks::{self, caa};
use crate::config::DnsSpec;
use crate::model::PerspectiveInfo;
use crate::observation::{Method, Observation, Role};
use crate::perspective::{Discovery, Vantage};
use crate::plan::{Plan, Target};

/// Every address of every authoritative nameserver of the name's zone (and of the dns-01
/// challenge's zone when `_acme-challenge` is delegated) becomes a source asked the same
/// questions, so the analysis can name the server that lacks a record or lags behind.
pub(crate) async fn nameserver_sources(
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
    // An `_acme-challenge` CNAME into another zone (acme-dns): the TXT a CA reads is on the
    // servers of the target's zone, so each of them is asked for the target name too; the
    // servers of the alias's own zone only answer with the alias.
    let alias = if dns01 {
        match bootstrap.alias_target(&challenge).await {
            Some(target) => match bootstrap.zone_of(&target).await {
                Ok(z) if z.apex != main.apex && chal.as_ref().is_none_or(|c| c.apex != z.apex) => {
                    Some((z, target))
                }
                _ => None,
            },
            None => None,
        }
    } else {
        None
    };
    let delegated = chal.is_some();
    let req = super::caa_request(plan, t);
    let mut jobs = Vec::new();
    let zones = std::iter::once((&main, true, None))
        .chain(chal.iter().map(|z| (z, false, None)))
        .chain(
            alias
                .iter()
                .map(|(z, target)| (z, false, Some(target.as_str()))),
        );
    for (zone, is_main, txt_name) in zones {
        for (ns, addr) in &zone.servers {
            let name = if is_main {
                format!("{ns}@{}", addr.ip())
            } else {
                format!("{ns}@{} ({})", addr.ip(), zone.apex)
            };
            let spec = crate::config::PerspectiveSpec::local(
                name.clone(),
                Role::Source,
                DnsSpec::Nameserver(*addr),
            );
            let info = PerspectiveInfo {
                name,
                role: Role::Source,
                rir: None,
                dns: spec.dns.to_string(),
                http: "none".into(),
                nameserver: Some(ns.clone()),
                location: None,
                dns_provenance: Some(crate::observation::Provenance::ThisHost),
                http_provenance: None,
            };
            let v = Vantage::new(spec, plan.timeout, None, discovery.clone());
            let challenge = &challenge;
            let apex = zone.apex.clone();
            jobs.push(async move {
                let want_txt = dns01 && (!is_main || !delegated);
                let challenge = txt_name.unwrap_or(challenge.as_str());
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
