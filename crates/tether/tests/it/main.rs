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
mod scale_out;
mod tidy;
mod ui;

/// The browser journeys share the machine with each other, but not with the scale-out crash
/// test: three `tether serve` processes syncing 10,000 contacts take both cores of a CI machine
/// for minutes, and a journey's few-second waits (an OAuth popup closing) would time out. The
/// journeys hold it for reading; that crash test holds it alone.
pub(crate) static BROWSER_OR_SCALE_OUT: std::sync::RwLock<()> = std::sync::RwLock::new(());
