//! The engine's integration tests: expressions, flow files and their validation, the run
//! executor, pollers and schedules.
#![allow(
    clippy::unwrap_used,
    reason = "a failed setup in a test should fail loudly"
)]

mod docs;
mod executor;
mod expr;
mod flickr_recipes;
mod flow;
mod ghl_sync;
mod poller;
mod recipes;
mod scheduler;
