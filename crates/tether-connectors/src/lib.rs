//! Tether's catalog of connectors: a typed client per app and, for each of its operations, the
//! metadata and the generic entry point the engine calls.
//!
//! Each app lives in its own module with the same layout (`mod.rs` for the client, `models.rs`
//! for the wire types, one file per resource, `paging.rs`, `error.rs` and `catalog.rs`).
//!
//! **Invariant:** connectors reach the network only through `tether-http`, so every call pays
//! the connection's rate limit and follows the shared retry rules.

pub mod auth;
pub mod flickr;
pub mod ghl;
mod input;
pub mod registry;
pub mod rest;

/// Every operation Tether ships: HighLevel's, then each shipped app manifest's (Details Flowers),
/// then Flickr's.
pub fn catalog() -> Vec<tether_core::catalog::OperationMeta> {
    let mut operations = ghl::catalog::operations();
    // The shipped manifest is embedded and tested; failing to load it is a build defect.
    let details_flowers = tether_core::manifest::details_flowers()
        .expect("the shipped Details Flowers manifest is valid");
    operations.extend(rest::catalog::catalog(&details_flowers));
    operations.extend(flickr::catalog::operations());
    operations
}
