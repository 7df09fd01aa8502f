//! Settings and the command line's polish as a user meets them: `tether config check` with its
//! sources and redaction, a bad setting refused by name, "did you mean" in `tether call`, and
//! `-i @-` reading standard input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::cli::start_process;

const TETHER: &str = env!("CARGO_BIN_EXE_tether");
/// A valid key (32 bytes, base64): its text must never be printed.
const KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tether-config-{label}-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `tether ARGS` in `dir` with `env` set and every other TETHER_ variable of the test's
/// environment removed, so the test sees only the layers it sets up.
fn tether_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(TETHER);
    command.current_dir(dir).args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("TETHER_") {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied()).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The line of `tether config check` for `key`.
fn line<'a>(stdout: &'a str, key: &str) -> &'a str {
    stdout
        .lines()
        .find(|line| line.trim_start().starts_with(&format!("{key} ")))
        .unwrap_or_else(|| panic!("no line for {key}: {stdout}"))
}

#[test]
fn config_check_prints_each_setting_with_its_source_and_redacts_secrets() {
    let dir = temp_dir("check");
    std::fs::create_dir_all(dir.join("tether-data")).unwrap();
    std::fs::write(
        dir.join("tether-data/tether.toml"),
        "workers = 3\npublic_url = \"https://tether.example.com\"\nretention = \"7d\"\n",
    )
    .unwrap();
    let output = tether_in(
        &dir,
        &[
            "config",
            "check",
            "--listen",
            "127.0.0.1:9999",
            "--workers",
            "5",
        ],
        &[
            (
                "TETHER_DATABASE_URL",
                "postgres://tether:pg-pass-123@127.0.0.1:5432/tether",
            ),
            ("TETHER_SECRET_KEY", KEY),
            ("TETHER_RETENTION", "14d"),
        ],
    );
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", text(&output.stderr));
    assert!(line(&stdout, "listen").contains("127.0.0.1:9999"));
    assert!(line(&stdout, "listen").contains("flag --listen"));
    // The flag beats the file.
    assert!(line(&stdout, "workers").contains(" 5 "), "{stdout}");
    assert!(line(&stdout, "workers").contains("flag --workers"));
    // The environment beats the file.
    assert!(line(&stdout, "retention").contains("14d"));
    assert!(line(&stdout, "retention").contains("environment variable TETHER_RETENTION"));
    // The file beats the default.
    assert!(line(&stdout, "public_url").contains("https://tether.example.com/"));
    assert!(line(&stdout, "public_url").contains("tether.toml:public_url"));
    assert!(line(&stdout, "reconcile_every").contains("(default)"));
    // Secrets: the password and the key never appear; where they came from does.
    assert!(
        line(&stdout, "database_url")
            .contains("postgres://tether:[redacted]@127.0.0.1:5432/tether")
    );
    assert!(line(&stdout, "secret_key").contains("[redacted]"));
    assert!(line(&stdout, "secret_key").contains("TETHER_SECRET_KEY"));
    let all = format!("{stdout}{}", text(&output.stderr));
    assert!(!all.contains("pg-pass-123") && !all.contains(KEY), "{all}");
    assert!(stdout.contains("The settings are valid."));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_setting_is_refused_by_name_and_source() {
    let dir = temp_dir("bad");
    std::fs::create_dir_all(dir.join("tether-data")).unwrap();
    std::fs::write(
        dir.join("tether-data/tether.toml"),
        "retention = \"5m\"\nlistn = \"0.0.0.0:80\"\n",
    )
    .unwrap();
    let output = tether_in(
        &dir,
        &["config", "check"],
        &[
            ("TETHER_WORKERS", "many"),
            ("TETHER_DATABASE_URL", "mysql://root:my-secret@db/tether"),
        ],
    );
    let stderr = text(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("4 invalid settings"), "{stderr}");
    assert!(stderr.contains("workers (from environment variable TETHER_WORKERS)"));
    assert!(stderr.contains("tether.toml:retention): \"5m\" is shorter than an hour"));
    assert!(stderr.contains("unknown setting `listn` (did you mean `listen`?)"));
    assert!(stderr.contains("mysql://root:[redacted]@db/tether"));
    assert!(!stderr.contains("my-secret"), "{stderr}");

    // `serve` refuses the same settings before it starts anything.
    let serve = tether_in(&dir, &["serve", "--public-url", "tether.example.com"], &[]);
    let stderr = text(&serve.stderr);
    assert!(!serve.status.success());
    assert!(
        stderr.contains("public_url (from flag --public-url)"),
        "{stderr}"
    );
    assert!(
        !dir.join("tether-data/tether.sqlite").exists(),
        "nothing was created"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A Details Flowers simulator and a data folder with a connection `details-flowers-main` to it.
fn connected(label: &str) -> (crate::cli::Running, PathBuf) {
    let (sim, base) = start_process(
        &["sim", "details-flowers", "--listen", "127.0.0.1:0"],
        &[],
        "Details Flowers simulator listening on ",
    );
    let dir = temp_dir(label);
    let output = tether_in(
        &dir,
        &[
            "connect",
            "details-flowers",
            "--name",
            "details-flowers-main",
            "--api-key",
            "sim-api-key",
            "--base-url",
            &base,
        ],
        &[],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    (sim, dir)
}

#[test]
fn call_suggests_the_operation_or_connection_meant() {
    let (_sim, dir) = connected("dym");
    let misspelt_operation = tether_in(
        &dir,
        &[
            "call",
            "details_flowers.custmer.list",
            "-c",
            "details-flowers-main",
        ],
        &[],
    );
    let stderr = text(&misspelt_operation.stderr);
    assert!(!misspelt_operation.status.success());
    assert!(
        stderr.contains(
            "no operation `details_flowers.custmer.list`; did you mean `details_flowers.customer.list`?"
        ),
        "{stderr}"
    );

    let misspelt_connection = tether_in(
        &dir,
        &[
            "call",
            "details_flowers.customer.list",
            "-c",
            "details-flower-main",
        ],
        &[],
    );
    let stderr = text(&misspelt_connection.stderr);
    assert!(!misspelt_connection.status.success());
    assert!(
        stderr
            .contains("no connection `details-flower-main`; did you mean `details-flowers-main`?"),
        "{stderr}"
    );

    let set = tether_in(
        &dir,
        &[
            "connections",
            "set",
            "details-flower-main",
            "--rate-limit",
            "off",
        ],
        &[],
    );
    assert!(
        text(&set.stderr).contains("did you mean `details-flowers-main`?"),
        "{}",
        text(&set.stderr)
    );

    let far_off = tether_in(&dir, &["call", "ghl.contact.get", "-c", "zzz"], &[]);
    let stderr = text(&far_off.stderr);
    assert!(
        stderr.contains("no connection `zzz`; the connections are `details-flowers-main`"),
        "{stderr}"
    );

    let wrong_app = tether_in(
        &dir,
        &["call", "ghl.contact.get", "-c", "details-flowers-main"],
        &[],
    );
    let stderr = text(&wrong_app.stderr);
    assert!(
        stderr.contains(
            "connection `details-flowers-main` is a details_flowers connection, not a ghl one"
        ),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn call_reads_its_input_from_standard_input_with_at_dash() {
    let (_sim, dir) = connected("stdin");
    let mut child = Command::new(TETHER)
        .current_dir(&dir)
        .args([
            "call",
            "details_flowers.customer.create",
            "-c",
            "details-flowers-main",
            "-i",
            "@-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"email": "stdin.reader@example.com", "full_name": "Stdin Reader"}"#)
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let customer: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(customer["full_name"], "Stdin Reader", "{customer}");

    // Not JSON on standard input: the message says where the input came from.
    let mut child = Command::new(TETHER)
        .current_dir(&dir)
        .args([
            "call",
            "details_flowers.customer.list",
            "-c",
            "details-flowers-main",
            "-i",
            "@-",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"{oops").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("the input in --input (standard input) is not JSON"),
        "{}",
        text(&output.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn catalog_suggests_the_prefix_meant() {
    let dir = temp_dir("catalog");
    let output = tether_in(&dir, &["catalog", "ghl.contct"], &[]);
    assert!(!output.status.success());
    assert!(
        text(&output.stderr)
            .contains("no operation starts with `ghl.contct`; did you mean `ghl.contact`?"),
        "{}",
        text(&output.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serve_takes_its_settings_from_tether_toml() {
    let dir = temp_dir("serve");
    let data_dir = dir.join("tether-data");
    std::fs::create_dir_all(&data_dir).unwrap();
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    // Port 0 and JSON logs can only come from the file: the defaults are 8800 and text.
    std::fs::write(
        data_dir.join("tether.toml"),
        "listen = \"127.0.0.1:0\"\nlog_format = \"json\"\nlog_level = \"info\"\nretention = \"2h\"\n",
    )
    .unwrap();
    let log_path = dir.join("serve.log");
    let mut child = Command::new(TETHER)
        .current_dir(&dir)
        .args(["serve", "--flows", "flows"])
        .env_remove("TETHER_LOG")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    let banner = lines.next().unwrap().unwrap();
    let running = crate::cli::Running(child);
    assert!(
        banner.starts_with("Tether serving on http://127.0.0.1:"),
        "{banner}"
    );
    assert!(!banner.contains(":8800"), "{banner}");
    drop(running);
    let log = std::fs::read_to_string(&log_path).unwrap();
    let first = log
        .lines()
        .next()
        .unwrap_or_else(|| panic!("no log line: {log}"));
    let line: Value = serde_json::from_str(first).unwrap_or_else(|_| panic!("not JSON: {first}"));
    assert!(line["fields"]["message"].is_string(), "{line}");
    let _ = std::fs::remove_dir_all(&dir);
}
