//! Integration tests of the server over real HTTP on loopback, each with its own SQLite file.

#![allow(
    clippy::unwrap_used,
    reason = "tests fail loudly on any unexpected error"
)]

mod api;
mod apps;
mod auth;
mod catalog;
mod connections;
mod editor;
mod flow_list;
mod flows;
mod journey;
mod openapi;
mod password;
mod refusals;
mod runs;
mod samples;
mod simulator;
mod support;
mod web;
mod webhooks;
