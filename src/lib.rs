//! mpic-check: predicts whether a certificate renewal survives Multi-Perspective Issuance
//! Corroboration. Data flows one way: `cli` flags → `config` (validated perspectives) →
//! `perspective` (DNS and HTTP vantages) → `checks` (observations) → `analysis` (findings and
//! quorum verdicts, pure) → `report` (renderers) → `exit` code. `app` wires the stages; the binary
//! only parses flags and prints at most one error line.

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
pub mod perspective;
pub mod plan;
pub mod probe;
#[cfg(test)]
mod proptest_support;
pub mod report;
