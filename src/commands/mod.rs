//! The subcommands other than the main check: each one is a small driver over the lower stages
//! (plan, perspectives, analysis) with its own output (`serve`: over HTTP), kept out of `app` so
//! that dispatch stays thin.

pub mod explain;
pub mod gate;
pub mod serve;
pub mod wait_txt;
