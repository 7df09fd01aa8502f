//! The store conformance suite: every test runs on SQLite (a temp file) and on PostgreSQL (a
//! fresh database on 127.0.0.1:5432, or `TETHER_TEST_POSTGRES`), through the same `Store` API.

#![allow(
    clippy::unwrap_used,
    reason = "a test that cannot set up should fail loudly"
)]

mod accounts;
mod budgets;
mod connections;
mod cursors;
mod dlq;
mod events;
mod flow_stats;
mod flows;
mod leases;
mod links;
mod retention;
mod run_search;
mod runs;
mod samples;
mod support;
