//! The JSON document (design §8, `schema_version` 1): the `Report` serialised as is, pretty-printed,
//! with a trailing newline. Field documentation lives in `docs/json.md`.

use std::io::{self, Write};

use crate::model::Report;

/// Writes the report as one JSON document.
pub fn render(report: &Report, w: &mut impl Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, report).map_err(io::Error::other)?;
    writeln!(w)
}
