//! The `tether` binary run as a process: the simulator served to curl, the demo, the
//! connect → connections → call journey against a simulator process, the official HighLevel
//! clients against `tether sim ghl`, independent Flickr clients against `tether sim flickr`, and
//! `tether serve` killed with SIGKILL during an initial sync, the command line under rough
//! handling (closed pipes, a missing data folder or key, SIGTERM, personal data, `--json`), a
//! tidy check that no tracked file reads outside the repository, and the web UI in Chromium.

#![allow(
    clippy::unwrap_used,
    reason = "a test that cannot set up should fail loudly"
)]

mod accounts;
mod cli;
mod compat;
mod compat_flickr;
mod config;
mod connections;
mod crash;
mod dlq;
mod flows;
mod logs;
mod robust;
mod samples;
mod tidy;
mod ui;
