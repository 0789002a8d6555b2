//! The JSON document (design §8, `schema_version` 1): the `Report` serialised as is, pretty-printed,
//! with a trailing newline. Field documentation lives in `docs/json.md`; the JSON Schemas in
//! `docs/schema/` are generated from the same types ([`report_schema`], and
//! [`crate::report::jsonl::line_schema`] for `--format jsonl`), so they cannot drift from the output.

use std::io::{self, Write};

use crate::model::Report;

/// The JSON Schema (draft 2020-12) of the `--format json` document, from the `Report` types.
pub fn report_schema() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(Report)).unwrap_or_default();
    if let Some(o) = schema.as_object_mut() {
        o.insert(
            "$id".into(),
            "https://github.com/mpic-check/mpic-check/docs/schema/report.schema.json".into(),
        );
        o.insert(
            "description".into(),
            "mpic-check --format json, schema_version 1 (field meanings: docs/json.md)".into(),
        );
    }
    schema
}

/// Writes the report as one JSON document.
pub fn render(report: &Report, w: &mut impl Write) -> io::Result<()> {
    // `From` hands back serde_json's inner io::Error as it was, so a closed stdout is still a
    // `BrokenPipe` to the caller (`io::Error::other` hid it, and the run exited 3).
    serde_json::to_writer_pretty(&mut *w, report).map_err(io::Error::from)?;
    writeln!(w)
}

#[cfg(test)]
mod tests {
    use std::io::{self, Write};

    /// A stdout whose reader has gone.
    struct ClosedPipe;

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// The committed schemas are the generated ones: `MPIC_UPDATE_SCHEMA=1 cargo test
    /// committed_schemas` rewrites them after a deliberate change to the output types.
    #[test]
    fn committed_schemas_are_generated_from_the_types() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schema");
        for (file, schema) in [
            ("report.schema.json", super::report_schema()),
            ("jsonl.schema.json", crate::report::jsonl::line_schema()),
        ] {
            let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
            let path = dir.join(file);
            if std::env::var_os("MPIC_UPDATE_SCHEMA").is_some() {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &text).unwrap();
            }
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == text,
                "{} is not the schema the types generate; after a deliberate change run \
                 MPIC_UPDATE_SCHEMA=1 cargo test committed_schemas",
                path.display()
            );
        }
    }

    #[test]
    fn a_closed_pipe_stays_a_broken_pipe() {
        let report = crate::report::test_fixtures::report(
            "2026-11-28T10:00:00.000Z",
            crate::model::Outcome::Pass,
            0,
            Vec::new(),
            Vec::new(),
        );
        let err = super::render(&report, &mut ClosedPipe).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }
}
