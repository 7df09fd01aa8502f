//! The engine's integration tests: expressions, flow files and their validation, and the run
//! executor.
#![allow(
    clippy::unwrap_used,
    reason = "a failed setup in a test should fail loudly"
)]

mod executor;
mod expr;
mod flow;
mod poller;
mod recipes;
