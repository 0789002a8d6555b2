//! The user documentation keeps its promises: every relative link in README.md and docs/*.md
//! reaches a file (and heading) inside the repository and no link leaves it except to a public
//! web page; every finding code the binary can emit is explained in docs/findings.md and listed in
//! the README's table; and the configuration files users copy (the packaged
//! /etc/mpic-check/config.toml and the complete examples in the docs) are accepted by the binary.
//! None of these tests touches the network.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use mpic_check::config::Config;
use mpic_check::model::FindingCode;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// README.md and every Markdown file under docs/.
fn documents() -> Vec<String> {
    let mut docs = vec!["README.md".to_string()];
    for e in std::fs::read_dir(root().join("docs")).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".md") {
            docs.push(format!("docs/{name}"));
        }
    }
    docs.sort();
    docs
}

/// The text outside fenced code blocks and inline code spans, where Markdown links live.
fn prose(text: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            // Inline code (`[x](y)` shown as an example) is not a link.
            let mut in_code = false;
            for part in line.split('`') {
                if !in_code {
                    out.push_str(part);
                }
                in_code = !in_code;
            }
            out.push('\n');
        }
    }
    out
}

/// Targets of inline links and images: `[text](target)` and `![alt](target)`.
fn links(text: &str) -> Vec<String> {
    let p = prose(text);
    let mut found = Vec::new();
    let mut rest = p.as_str();
    while let Some(i) = rest.find("](") {
        let after = &rest[i + 2..];
        let Some(end) = after.find(')') else { break };
        let target = after[..end].split_whitespace().next().unwrap_or("");
        found.push(target.to_string());
        rest = &after[end..];
    }
    found
}

/// GitHub's anchor for a heading: lower-case, punctuation dropped, spaces to hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut fenced = false;
    let mut set = BTreeSet::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            set.insert(anchor(line.trim_start_matches('#')));
        }
    }
    set
}

#[test]
fn every_link_resolves_inside_the_repository_or_is_a_web_page() {
    let repo = root().canonicalize().unwrap();
    let mut problems = Vec::new();
    let mut checked = 0;
    for doc in documents() {
        let text = read(&doc);
        let dir = Path::new(&doc).parent().unwrap_or(Path::new(""));
        for target in links(&text) {
            checked += 1;
            if target.starts_with("https://") || target.starts_with("http://") {
                continue;
            }
            if target.contains("://") || target.starts_with("mailto:") || target.starts_with('/') {
                problems.push(format!("{doc}: {target}: leaves the repository"));
                continue;
            }
            let (path, frag) = target.split_once('#').unwrap_or((&target, ""));
            let file = if path.is_empty() {
                root().join(&doc)
            } else {
                root().join(dir).join(path)
            };
            let Ok(real) = file.canonicalize() else {
                problems.push(format!("{doc}: {target}: no such file"));
                continue;
            };
            if !real.starts_with(&repo) {
                problems.push(format!("{doc}: {target}: outside the repository"));
                continue;
            }
            if !frag.is_empty() && real.extension().is_some_and(|e| e == "md") {
                let heads = anchors(&std::fs::read_to_string(&real).unwrap());
                if !heads.contains(frag) {
                    problems.push(format!("{doc}: {target}: no heading #{frag}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        checked > 10,
        "only {checked} links found: is the parser broken?"
    );
}

#[test]
fn the_link_checker_catches_what_it_should() {
    let bad = "[a](../shared/docs/mpic-rules.md) `[b](nope.md)` [c](https://example.org)\n\
               ```\n[d](in-code.md)\n```\n";
    assert_eq!(
        links(bad),
        ["../shared/docs/mpic-rules.md", "https://example.org"]
    );
    assert_eq!(anchor(" `http-geoblocked`"), "http-geoblocked");
    assert_eq!(
        anchor(" Real vantage points: Globalping and Open MPIC (opt-in)"),
        "real-vantage-points-globalping-and-open-mpic-opt-in"
    );
}

#[test]
fn every_finding_code_is_explained_and_listed() {
    let findings = read("docs/findings.md");
    let readme = read("README.md");
    let table: String = readme
        .lines()
        .filter(|l| l.starts_with("| `"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut missing = Vec::new();
    for code in FindingCode::ALL {
        let c = code.as_str();
        if !findings.contains(&format!("\n## `{c}`\n")) {
            missing.push(format!("docs/findings.md has no section ## `{c}`"));
        }
        if !table.contains(&format!("`{c}`")) {
            missing.push(format!("README.md's findings table has no `{c}`"));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    // And nothing documented that the binary cannot emit.
    for line in findings.lines().filter(|l| l.starts_with("## `")) {
        let code = line.trim_start_matches("## `").trim_end_matches('`');
        assert!(FindingCode::parse(code).is_some(), "{code} is not a code");
    }
}

#[test]
fn the_packaged_config_is_the_built_in_set_and_the_binary_accepts_it() {
    let path = root().join("packaging/config.toml");
    let parsed = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed.perspectives, Config::built_in().perspectives);
    assert!(parsed.engines.is_empty(), "engines must stay commented out");

    // The binary itself: the config is read before --ca is checked, so a --ca error (and not a
    // config error) proves the file was accepted. No name is ever looked up.
    let home = tempfile::tempdir().unwrap();
    let out = crate::support::base_command(home.path())
        .arg("--config")
        .arg(&path)
        .args(["--ca", "not/a/ca", "example.com"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("--ca") && !err.contains("config.toml"),
        "{err}"
    );

    // The same probe with a broken copy names the file: the probe above can tell the difference.
    let broken = home.path().join("config.toml");
    std::fs::write(
        &broken,
        format!("{}\ncolour = 1\n", read("packaging/config.toml")),
    )
    .unwrap();
    let out = crate::support::base_command(home.path())
        .arg("--config")
        .arg(&broken)
        .args(["--ca", "not/a/ca", "example.com"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("config.toml:"), "{err}");
}

#[test]
fn complete_config_examples_in_the_docs_parse() {
    let mut parsed = 0;
    for doc in documents() {
        let text = read(&doc);
        let mut block: Option<String> = None;
        for line in text.lines() {
            match (&mut block, line.trim_start()) {
                (None, l) if l.starts_with("```toml") => block = Some(String::new()),
                (Some(b), l) if l.starts_with("```") => {
                    if b.contains("role = \"primary\"") {
                        Config::parse(b, Path::new(&doc))
                            .unwrap_or_else(|e| panic!("{doc}: example does not parse: {e}\n{b}"));
                        parsed += 1;
                    }
                    block = None;
                }
                (Some(b), _) => {
                    b.push_str(line);
                    b.push('\n');
                }
                (None, _) => {}
            }
        }
    }
    assert!(parsed >= 2, "only {parsed} complete examples found");
}

#[test]
fn man_dir_writes_every_page_the_package_ships() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("man1");
    std::fs::create_dir(&dir).unwrap();
    let out = crate::support::base_command(home.path())
        .args(["man", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let listed = String::from_utf8(out.stdout).unwrap();
    for page in [
        "mpic-check.1",
        "mpic-check-wait-txt.1",
        "mpic-check-watch.1",
        "mpic-check-explain.1",
        "mpic-check-completions.1",
        "mpic-check-man.1",
    ] {
        let text =
            std::fs::read_to_string(dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{page}");
        assert!(listed.contains(page), "{listed}");
    }

    // A directory that is not there: one line naming it, exit 3, nothing half-written elsewhere.
    let missing = home.path().join("nope");
    let out = crate::support::base_command(home.path())
        .args(["man", "--dir"])
        .arg(&missing)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("nope"), "{err}");
}
