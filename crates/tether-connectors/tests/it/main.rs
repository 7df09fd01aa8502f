//! The GHL client against the GHL simulator over loopback HTTP: every catalog operation, the
//! error paths that matter, exact wire checks from the simulator's request log, and paging.

#![allow(
    clippy::unwrap_used,
    reason = "a test that cannot set up should fail loudly"
)]

mod support;

mod business;
mod calendars;
mod campaigns;
mod catalog;
mod contacts;
mod errors;
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
