//! The JSON document (design §8, `schema_version` 1): the `Report` serialised as is, pretty-printed,
//! with a trailing newline. Field documentation lives in `docs/json.md`.

use std::io::{self, Write};

use crate::model::Report;

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
