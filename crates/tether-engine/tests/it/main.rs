//! The engine's integration tests: expressions, flow files and their validation.
#![allow(
    clippy::unwrap_used,
    reason = "a failed setup in a test should fail loudly"
)]

mod expr;
mod flow;
