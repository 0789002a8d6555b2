//! The raw dump: every observation per identifier and perspective, in collapsible sections
//! that open where something failed, with the DNS exchanges, HTTP hops, CAA and probe facts as
//! recorded. Everything here came off the wire, so everything goes through `esc`.

use super::*;

// ---------------------------------------------------------------------------------------------
// Raw observations

pub(super) fn raw(r: &Report, out: &mut String) -> fmt::Result {
    out.push_str(
        "<section class=\"raw\" aria-labelledby=\"raw-h\">\n<h2 id=\"raw-h\">Raw observations\
         </h2>\n<p class=\"sub noprint\">Open a section to see what each perspective sent and \
         received. Perspectives with a problem are open already.</p>\n",
    );
    // With many names the wire detail of the ready ones is most of the page (1.6 MB of 2.4 for
    // 200 names) and says only that everything answered as expected; it stays in
    // `--format json` and `--save`. One name always keeps its own.
    let many = r.identifiers.len() > 1;
    let ready = r
        .identifiers
        .iter()
        .filter(|id| id.outcome == Outcome::Pass)
        .count();
    if many && ready > 0 {
        writeln!(
            out,
            "<p class=\"sub\">The observations of the {ready} ready name(s) are left out here; \
             <code>--format json</code> or <code>--save FILE</code> keeps every one.</p>"
        )?;
    }
    for id in r
        .identifiers
        .iter()
        .filter(|id| !many || id.outcome != Outcome::Pass)
    {
        writeln!(
            out,
            "<details class=\"ident-raw\"{}>\n<summary>{} {} — {} observation(s)</summary>",
            if id.outcome == Outcome::Pass {
                ""
            } else {
                " open"
            },
            Sym(Mark::of(id.outcome)),
            esc(&id.name),
            id.observations.len()
        )?;
        // Report order of perspectives, then any name that only the observations know.
        let mut names: Vec<&str> = r.perspectives.iter().map(|p| p.name.as_str()).collect();
        for o in &id.observations {
            if !names.contains(&o.perspective.as_str()) {
                names.push(&o.perspective);
            }
        }
        for name in names {
            let obs: Vec<&Observation> = id
                .observations
                .iter()
                .filter(|o| o.perspective == name)
                .collect();
            if obs.is_empty() {
                continue;
            }
            let bad = obs.iter().any(|o| id.marks_of(o).answer != Mark::Pass);
            let mark = match r.perspectives.iter().find(|p| p.name == name) {
                Some(p) => perspective_mark(p, id).0,
                None if bad => Mark::Fail,
                None => Mark::Pass,
            };
            writeln!(
                out,
                "<details class=\"persp-raw\"{}>\n<summary>{} {} — {} check(s)</summary>",
                if bad { " open" } else { "" },
                Sym(mark),
                esc(name),
                obs.len()
            )?;
            for o in obs {
                observation(o, out)?;
            }
            out.push_str("</details>\n");
        }
        out.push_str("</details>\n");
    }
    out.push_str("</section>\n");
    Ok(())
}

/// A `<dt>`/`<dd>` pair of escaped text.
fn kv(out: &mut String, k: &str, v: &str) -> fmt::Result {
    write!(out, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v))
}

fn observation(o: &Observation, out: &mut String) -> fmt::Result {
    let m = if o.ok {
        Mark::Pass
    } else if o.perspective_fault {
        Mark::Unknown
    } else {
        Mark::Fail
    };
    writeln!(
        out,
        "<div class=\"obs\">\n<h4>{} {}</h4>\n<dl>",
        Sym(m),
        esc(&check_label(o))
    )?;
    kv(out, "summary", &o.summary)?;
    kv(out, "result", if o.ok { "ok" } else { "not ok" })?;
    if let Some(p) = o.phase {
        kv(out, "phase", &p.to_string())?;
    }
    if o.perspective_fault {
        kv(
            out,
            "fault",
            "the tool's own (proxy or resolver), not the domain's",
        )?;
    }
    kv(out, "elapsed", &duration(o.elapsed_ms))?;
    kv(out, "signature", &o.signature.to_string())?;
    if !o.addresses.is_empty() {
        kv(out, "addresses", &o.addresses.join(", "))?;
    }
    if !o.txt.is_empty() {
        out.push_str("<dt>TXT values</dt><dd><ul class=\"mono\">");
        for t in &o.txt {
            write!(out, "<li>{}</li>", esc(t))?;
        }
        out.push_str("</ul></dd>");
    }
    // One list of facts, so the names line up; the tables follow it.
    if let Some(h) = &o.http {
        http_facts(h, out)?;
    }
    if let Some(c) = &o.caa {
        caa(c, out)?;
    }
    if let Some(p) = &o.probe {
        probe(p, out)?;
    }
    out.push_str("</dl>\n");
    if !o.dns.is_empty() {
        dns_table(&o.dns, out)?;
    }
    if let Some(h) = &o.http {
        http_tables(h, out)?;
    }
    out.push_str("</div>\n");
    Ok(())
}

fn dns_table(dns: &[DnsExchange], out: &mut String) -> fmt::Result {
    out.push_str(
        "<div class=\"scroll\"><table class=\"dns\">\n<caption>DNS exchanges</caption>\n\
         <thead><tr><th scope=\"col\">question</th><th scope=\"col\">server</th>\
         <th scope=\"col\">reply</th><th scope=\"col\">answers</th><th scope=\"col\">time</th>\
         </tr></thead>\n<tbody>\n",
    );
    for d in dns {
        let mut flags = Vec::new();
        if d.aa {
            flags.push("aa".to_string());
        }
        if d.ad {
            flags.push("ad".to_string());
        }
        if let Some(t) = d.negative_ttl {
            flags.push(format!("negative TTL {t}"));
        }
        if let Some(e) = &d.ecs {
            flags.push(match d.ecs_scope {
                Some(s) => format!("ECS {e} scope /{s}"),
                None => format!("ECS {e}"),
            });
        }
        let reply = match (&d.rcode, &d.error) {
            (Some(rc), Some(e)) => format!("{rc} ({e})"),
            (Some(rc), None) => rc.clone(),
            (None, Some(e)) => format!("no reply: {e}"),
            (None, None) => "no reply".to_string(),
        };
        if let Some(ede) = &d.ede {
            flags.push(format!("EDE {ede}"));
        }
        write!(
            out,
            "<tr><td><code>{} {}</code></td><td><code>{}</code></td><td>{}{}{}</td><td>",
            esc(&d.qname),
            esc(&d.qtype),
            esc(&d.server),
            esc(&reply),
            if flags.is_empty() { "" } else { "<br>" },
            esc(&flags.join(", "))
        )?;
        if d.cname_chain.len() > 1 {
            write!(
                out,
                "<div class=\"sub\">chain {}</div>",
                esc(&d.cname_chain.join(" → "))
            )?;
        }
        if !d.answers.is_empty() {
            out.push_str("<ul class=\"mono\">");
            for rr in &d.answers {
                write!(
                    out,
                    "<li>{} {} {} {}</li>",
                    esc(&rr.name),
                    rr.ttl,
                    esc(&rr.rtype),
                    esc(&rr.data)
                )?;
            }
            out.push_str("</ul>");
        }
        writeln!(out, "</td><td>{}</td></tr>", duration(d.elapsed_ms))?;
    }
    out.push_str("</tbody></table></div>\n");
    Ok(())
}

fn http_facts(h: &HttpFacts, out: &mut String) -> fmt::Result {
    kv(out, "URL", &h.url)?;
    kv(out, "via", &h.via)?;
    kv(out, "User-Agent", &h.user_agent)?;
    kv(
        out,
        "final status",
        &h.status.map_or("none".to_string(), |s| s.to_string()),
    )?;
    if let Some(n) = h.body_len {
        let more = if h.body_truncated {
            " (stopped reading there)"
        } else {
            ""
        };
        kv(out, "body bytes read", &format!("{n}{more}"))?;
    }
    if let Some(s) = &h.body_sha256 {
        kv(out, "body SHA-256", s)?;
    }
    if let Some(a) = &h.alt_user_agent {
        kv(
            out,
            "with another User-Agent",
            &format!(
                "{} → {}: {}",
                a.user_agent,
                a.status.map_or("none".to_string(), |s| s.to_string()),
                a.summary
            ),
        )?;
    }
    Ok(())
}

/// The body's first bytes and the redirect chain with the revealing headers.
fn http_tables(h: &HttpFacts, out: &mut String) -> fmt::Result {
    if let Some(b) = &h.body_prefix {
        writeln!(
            out,
            "<p class=\"sub\">Body (first bytes)</p><pre>{}</pre>",
            esc(b)
        )?;
    }
    if h.hops.is_empty() {
        return Ok(());
    }
    out.push_str(
        "<div class=\"scroll\"><table class=\"hops\">\n<caption>HTTP requests</caption>\n\
         <thead><tr><th scope=\"col\">#</th><th scope=\"col\">request</th><th scope=\"col\">\
         status</th><th scope=\"col\">headers</th><th scope=\"col\">time</th></tr></thead>\n\
         <tbody>\n",
    );
    for (k, hop) in h.hops.iter().enumerate() {
        write!(
            out,
            "<tr><td>{}</td><td><code>{}</code>{}{}</td><td>{}{}{}</td><td>",
            k + 1,
            esc(&hop.url),
            if hop.address.is_some() {
                "<br><span class=\"sub\">to </span>"
            } else {
                ""
            },
            esc(hop.address.as_deref().unwrap_or("")),
            hop.status.map_or("none".to_string(), |s| s.to_string()),
            if hop.location.is_some() { " → " } else { "" },
            esc(hop.location.as_deref().unwrap_or(""))
        )?;
        if !hop.headers.is_empty() {
            out.push_str("<ul class=\"mono\">");
            for (n, v) in &hop.headers {
                write!(out, "<li>{}: {}</li>", esc(n), esc(v))?;
            }
            out.push_str("</ul>");
        }
        writeln!(out, "</td><td>{}</td></tr>", duration(hop.elapsed_ms))?;
    }
    out.push_str("</tbody></table></div>\n");
    Ok(())
}

fn caa(c: &CaaFacts, out: &mut String) -> fmt::Result {
    kv(out, "CAA decision", c.decision.as_str())?;
    kv(out, "why", &c.reason)?;
    kv(
        out,
        "relevant RRset at",
        c.found_at.as_deref().unwrap_or("none"),
    )?;
    if !c.records.is_empty() {
        out.push_str("<dt>CAA records</dt><dd><ul class=\"mono\">");
        for rec in &c.records {
            write!(
                out,
                "<li>{} {} &quot;{}&quot;</li>",
                rec.flags,
                esc(&rec.tag),
                esc(&rec.value)
            )?;
        }
        out.push_str("</ul></dd>");
    }
    Ok(())
}

fn probe(p: &ProbeFacts, out: &mut String) -> fmt::Result {
    let st = |s: Option<u16>| s.map_or("none".to_string(), |s| s.to_string());
    kv(
        out,
        "webroot probe: before the file existed",
        &st(p.before_status),
    )?;
    kv(
        out,
        "after rewriting it",
        &format!(
            "{} — new content {}, old content {}: {}",
            st(p.rewrite_status),
            if p.rewrite_matched {
                "seen"
            } else {
                "not seen"
            },
            if p.rewrite_stale { "seen" } else { "not seen" },
            p.rewrite_summary
        ),
    )
}
