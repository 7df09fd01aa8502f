//! The command line under rough handling: a closed output pipe, a mistyped or missing data
//! folder, a lost secret key, SIGTERM during a run, logs into a file, personal data in errors,
//! and machine-readable output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::cli::start_process;

const TETHER: &str = env!("CARGO_BIN_EXE_tether");

/// A fresh data folder path under the temp dir (not created).
fn temp_dir(label: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "tether-{label}-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ))
}

/// Runs `tether ARGS…` on `data_dir` with no key in the environment.
fn tether(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(TETHER)
        .args(args)
        .env("TETHER_DATA_DIR", data_dir)
        .env_remove("TETHER_SECRET_KEY")
        .env_remove("TETHER_LOG")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Starts `tether sim details-flowers` with `seed` customers; answers it and its base URL.
fn start_details_flowers(seed: &str) -> (crate::cli::Running, String) {
    start_process(
        &[
            "sim",
            "details-flowers",
            "--listen",
            "127.0.0.1:0",
            "--seed",
            seed,
        ],
        &[],
        "Details Flowers simulator listening on ",
    )
}

/// Connects `name` to the Details Flowers simulator at `base` in `data_dir`.
fn connect_details_flowers(data_dir: &Path, name: &str, base: &str) {
    let connected = tether(
        data_dir,
        &[
            "connect",
            "details-flowers",
            "--name",
            name,
            "--api-key",
            "sim-api-key",
            "--base-url",
            base,
        ],
    );
    assert!(connected.status.success(), "{}", text(&connected.stderr));
}

/// Runs `tether ARGS…` with its stdout closed before it writes anything, as `… | head -0` would.
fn with_closed_stdout(data_dir: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(TETHER)
        .args(args)
        .env("TETHER_DATA_DIR", data_dir)
        .env_remove("TETHER_SECRET_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Closing our end of the pipe at once: the child's first write finds no reader.
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_output_pipe_ends_read_commands_quietly() {
    let (_sim, base) = start_details_flowers("2");
    let data_dir = temp_dir("pipe");
    connect_details_flowers(&data_dir, "df", &base);
    let commands: [&[&str]; 5] = [
        &["catalog"],
        &["catalog", "--json"],
        &["runs"],
        &["connections"],
        &["call", "details_flowers.customer.list", "-c", "df"],
    ];
    for args in commands {
        let output = with_closed_stdout(&data_dir, args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "tether {args:?}: {}",
            text(&output.stderr)
        );
        assert_eq!(text(&output.stderr), "", "tether {args:?} says nothing");
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}
