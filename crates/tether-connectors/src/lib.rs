//! Tether's catalog of connectors: a typed client per app and, for each of its operations, the
//! metadata and the generic entry point the engine calls.
//!
//! Each app lives in its own module with the same layout (`mod.rs` for the client, `models.rs`
//! for the wire types, one file per resource, `paging.rs`, `error.rs` and `catalog.rs`).
//!
//! **Invariant:** connectors reach the network only through `tether-http`, so every call pays
//! the connection's rate limit and follows the shared retry rules.

pub mod auth;
pub mod ghl;
pub mod registry;
pub mod rest;
