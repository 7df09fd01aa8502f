//! Simulators of the services Tether talks to.
//!
//! Each simulator is a real HTTP server (an axum `Router` over in-memory state) that behaves like the
//! service it stands for, as far as the official specs copied into `spec/` tell: validation,
//! status codes, auth, rate limits, webhooks, paging and injected faults. They are a product
//! feature (`tether sim ghl`, `tether demo`) and the test peer of every connector.
//!
//! **Invariant:** this crate depends on `tether-core` only, never on Tether's own client stack or
//! connectors, so that the simulator and the client are two independent readings of a spec.

pub mod details_flowers;
pub mod flickr;
pub mod ghl;
