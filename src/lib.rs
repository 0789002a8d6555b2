//! mpic-check: predicts whether a certificate renewal survives Multi-Perspective Issuance
//! Corroboration. Data flows one way: `cli` flags → `plan` (flags, config and ACME-client
//! configurations, validated) → `probe` (checks from every `perspective` and engine, fanned out
//! with deadlines) → `analysis` (findings and quorum verdicts, pure) → `report` (the report and
//! its renderers) → `exit` code. `app` wires the stages; the binary only parses flags and prints
//! at most one error line.
//!
//! Only the renderers write to stdout, and only through the writer they are given; nothing in the
//! library prints on its own, so output can be captured, tested and closed (`| head`) cleanly.
//! The lints below hold every module to that; `report` may use the print macros (it does not
//! today), and the binary is a separate crate root.

#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod acme_clients;
pub mod analysis;
pub mod app;
pub mod checks;
pub mod cli;
pub mod commands;
pub mod config;
pub mod engines;
pub mod exit;
pub mod explain;
pub mod identifier;
pub mod model;
pub mod observation;
pub mod perspective;
pub mod plan;
pub mod probe;
#[cfg(test)]
mod proptest_support;
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub mod report;
pub mod text;
