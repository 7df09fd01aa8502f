//! Integration tests of the simulators over real HTTP on loopback (one binary, one module per area).

#![allow(
    clippy::unwrap_used,
    reason = "a test that cannot set up should fail loudly"
)]

mod support;

mod calendars;
mod conformance;
mod contacts;
mod details_flowers;
mod flickr;
mod oauth;
mod ratelimit;
mod search;
mod seed;
mod tasks_notes;
mod webhooks;
