//! The GHL and Flickr clients against their simulators over loopback HTTP: every catalog
//! operation, the error paths that matter, exact wire checks from the simulator's request log,
//! and paging (the Flickr modules are `flickr_*`).

#![allow(
    clippy::unwrap_used,
    reason = "a test that cannot set up should fail loudly"
)]

mod flickr_support;
mod support;

mod business;
mod calendars;
mod campaigns;
mod catalog;
mod contacts;
mod errors;
mod flickr_errors;
mod flickr_oauth;
mod flickr_ops;
mod flickr_poll;
mod flickr_registry;
mod flickr_wire;
mod followers;
mod ghl_poll;
mod notes;
mod oauth;
mod paging;
mod resilience;
mod rest_app;
mod tags;
mod tasks;
mod wire;
mod workflows;
