//! The one-way architecture of design §3, checked on the source itself: every top-level module of
//! the library has a layer, and its non-test code may import (`crate::…`) only modules of lower
//! layers. A cycle is then impossible, and an import that runs up the stages (config or checks
//! importing engines, a renderer importing the CLI) fails here with the offending line. The test
//! also prints the import picture it checked, one line per module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lowest first. Modules of one layer never import each other.
const LAYERS: &[&[&str]] = &[
    &["text", "identifier", "observation"],
    &["model"],
    &["config", "acme_clients", "explain"],
    &["perspective"],
    &["checks"],
    &["engines", "analysis"],
    &["exit"],
    &["report"],
    &["cli"],
    &["plan"],
    &["probe"],
    &["commands"],
    &["app"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file of `src/` belongs to.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

/// The code of a file that is not test code: everything before its first `#[cfg(test)]`, and
/// nothing of files that are test modules themselves.
fn production_code(file: &Path, text: &str) -> Option<String> {
    let name = file.file_name()?.to_str()?;
    if name.ends_with("_tests.rs")
        || name.ends_with("_props.rs")
        || name == "props.rs"
        || name == "tests.rs"
        || name == "test_fixtures.rs"
        || name == "proptest_support.rs"
    {
        return None;
    }
    // Only the test module is cut: a `#[cfg(test)]` on a single item (an impl for tests) must
    // not hide the production code after it.
    let mut code = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod "))
        {
            // Skip the test module by its braces (a `mod x;` line has none and ends at once);
            // production code may follow it.
            let mut depth = 0i64;
            let mut opened = false;
            for l in lines.by_ref() {
                depth += l.matches('{').count() as i64 - l.matches('}').count() as i64;
                opened |= l.contains('{');
                if (opened && depth <= 0) || (!opened && l.trim_end().ends_with(';')) {
                    break;
                }
            }
            continue;
        }
        if line.trim() == "#[cfg(test)]" {
            // Skip the one test-only item's first line; its body is usually short and a
            // crate:: path there is test code.
            lines.next();
            continue;
        }
        code.push_str(line);
        code.push('\n');
    }
    Some(code)
}

/// `crate::X` paths named in `code`, also inside `use crate::{a, b::c}` groups.
fn imported_modules(code: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in code.lines() {
        let l = line.trim_start();
        if l.starts_with("//") {
            continue;
        }
        let mut rest = l;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                // Top-level items of the group only: `{config::X, model::{A, B}}` names config
                // and model, not A or B.
                let mut depth = 0usize;
                let mut item = String::new();
                let mut items = Vec::new();
                for c in group.chars() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => items.push(std::mem::take(&mut item)),
                        _ if depth == 0 => item.push(c),
                        _ => {}
                    }
                }
                items.push(item);
                for item in items {
                    let m: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !m.is_empty() {
                        out.push((m, line.trim().to_string()));
                    }
                }
            } else {
                let m: String = after
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !m.is_empty() {
                    out.push((m, line.trim().to_string()));
                }
            }
            rest = after;
        }
    }
    out
}

#[test]
fn imports_point_down_the_stages_only() {
    let src = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src"));
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut picture: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut violations = Vec::new();
    for f in &files {
        let Some(module) = module_of(&src, f) else {
            continue;
        };
        let text = std::fs::read_to_string(f).unwrap();
        let Some(code) = production_code(f, &text) else {
            continue;
        };
        let Some(mine) = layer_of(&module) else {
            violations.push(format!("{}: module {module} has no layer", f.display()));
            continue;
        };
        for (dep, line) in imported_modules(&code) {
            if dep == module || dep == "self" || dep == "super" {
                continue;
            }
            picture
                .entry(module.clone())
                .or_default()
                .insert(dep.clone());
            match layer_of(&dep) {
                Some(theirs) if theirs < mine => {}
                _ => violations.push(format!(
                    "{}: {module} (layer {mine}) imports {dep} (layer {:?}): {line}",
                    f.strip_prefix(&src).unwrap().display(),
                    layer_of(&dep)
                )),
            }
        }
    }
    let shown: Vec<String> = picture
        .iter()
        .map(|(m, deps)| {
            format!(
                "{m:>13} -> {}",
                deps.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    println!("{}", shown.join("\n"));
    assert!(
        violations.is_empty(),
        "imports against the stages:\n{}\n\nthe picture:\n{}",
        violations.join("\n"),
        shown.join("\n")
    );
}

#[test]
fn the_checker_sees_grouped_and_plain_imports() {
    let code =
        "use crate::{config::X, model::{A, B}};\nlet x = crate::probe::run();\n// crate::app\n";
    let got: Vec<String> = imported_modules(code).into_iter().map(|(m, _)| m).collect();
    assert_eq!(got, ["config", "model", "probe"]);
}
