//! Remote engines: services that run whole checks elsewhere and report what they saw, mapped into
//! this tool's observations. They sit above `checks` (they apply the same CA rules to what the
//! remote side fetched) and below `probe`, which fans them out beside the local perspectives.

pub mod globalping;
pub mod openmpic;
