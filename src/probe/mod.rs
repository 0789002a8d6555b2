//! The probe stage: fans the checks out over identifiers × perspectives with deadlines, and owns
//! the one thing that writes on the user's server, the webroot probe.

pub mod webroot;
