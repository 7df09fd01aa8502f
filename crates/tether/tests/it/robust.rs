//! The command line under rough handling: a closed output pipe, a mistyped or missing data
//! folder, a lost secret key, SIGTERM during a run, logs into a file, personal data in errors,
//! and machine-readable output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

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

/// Waits `ms` milliseconds while polling a process for a condition (`std::thread::sleep` is
/// reserved, so a small runtime sleeps).
fn pause(ms: u64) {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(async move { tokio::time::sleep(std::time::Duration::from_millis(ms)).await });
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

#[test]
fn read_commands_never_create_a_data_folder_or_a_key() {
    let misspelt = temp_dir("dmeo");
    let commands: [&[&str]; 7] = [
        &["runs"],
        &["runs", "--json"],
        &["runs", "show", "1"],
        &["dlq", "list"],
        &["dlq", "show", "1"],
        &["connections"],
        &["call", "details_flowers.customer.list", "-c", "df"],
    ];
    for args in commands {
        let output = tether(&misspelt, args);
        assert!(!output.status.success(), "tether {args:?} must fail");
        let stderr = text(&output.stderr);
        let expected = format!(
            "no Tether data in {} (looked for {}); run",
            misspelt.display(),
            misspelt.join("tether.sqlite").display()
        );
        assert!(
            stderr.contains(&expected) && stderr.contains("or pass --data-dir"),
            "tether {args:?}: {stderr}"
        );
        assert!(!misspelt.exists(), "tether {args:?} created {misspelt:?}");
    }
    // Validating flows needs no state, and makes none either.
    let flow = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../flows/ghl-task-to-df.yaml");
    let validated = tether(
        &misspelt,
        &["flows", "validate", &flow.display().to_string()],
    );
    assert!(validated.status.success(), "{}", text(&validated.stderr));
    assert!(!misspelt.exists());
}

#[test]
fn a_lost_or_wrong_secret_key_is_named_and_never_replaced() {
    let (_sim, base) = start_details_flowers("1");
    let data_dir = temp_dir("key");
    connect_details_flowers(&data_dir, "df", &base);
    let key_file = data_dir.join("secret.key");
    let original_key = std::fs::read(&key_file).unwrap();
    let call = ["call", "details_flowers.customer.list", "-c", "df"];

    // Another key in the file: the connection is named with the key tried and the remedy.
    std::fs::write(&key_file, "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=").unwrap();
    for args in [&call[..], &["connections"]] {
        let refused = tether(&data_dir, args);
        assert!(!refused.status.success());
        let stderr = text(&refused.stderr);
        assert!(
            stderr.contains(&format!(
                "connection `df` cannot be decrypted with the secret key in {} (or TETHER_SECRET_KEY): \
                 restore the original key, or reconnect it with `tether connect details-flowers --name df",
                key_file.display()
            )),
            "tether {args:?}: {stderr}"
        );
        assert!(!stderr.contains("conn_"), "no internal id: {stderr}");
    }

    // No key at all: nothing writes a new one while sealed connections exist.
    std::fs::remove_file(&key_file).unwrap();
    let refused = tether(&data_dir, &call);
    assert!(!refused.status.success());
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("connection `df` cannot be decrypted") && stderr.contains("missing"),
        "{stderr}"
    );
    let runs = tether(&data_dir, &["runs"]);
    assert!(
        runs.status.success(),
        "runs need no key: {}",
        text(&runs.stderr)
    );
    let connected = tether(
        &data_dir,
        &[
            "connect",
            "details-flowers",
            "--name",
            "df2",
            "--api-key",
            "sim-api-key",
            "--base-url",
            &base,
        ],
    );
    assert!(!connected.status.success());
    let stderr = text(&connected.stderr);
    assert!(
        stderr.contains("missing")
            && stderr.contains("`df`")
            && stderr.contains("will not write a new key"),
        "{stderr}"
    );
    assert!(!key_file.exists(), "no new key was written");

    // The original key back: everything opens again.
    std::fs::write(&key_file, &original_key).unwrap();
    let called = tether(&data_dir, &call);
    assert!(called.status.success(), "{}", text(&called.stderr));

    // Without the key, deleting what it sealed lets a new key be made.
    std::fs::remove_file(&key_file).unwrap();
    let deleted = tether(&data_dir, &["connections", "delete", "df"]);
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    connect_details_flowers(&data_dir, "df", &base);
    assert!(key_file.exists());
    let called = tether(&data_dir, &call);
    assert!(called.status.success(), "{}", text(&called.stderr));
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[test]
fn logs_into_a_pipe_carry_no_colour_codes() {
    let (_sim, base) = start_details_flowers("1");
    let data_dir = temp_dir("ansi");
    connect_details_flowers(&data_dir, "df", &base);
    let called = tether(
        &data_dir,
        &[
            "call",
            "details_flowers.customer.list",
            "-c",
            "df",
            "--log",
            "debug",
        ],
    );
    assert!(called.status.success(), "{}", text(&called.stderr));
    let stderr = text(&called.stderr);
    assert!(
        stderr.contains("DEBUG"),
        "debug lines were logged: {stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "no escape codes: {stderr:?}");
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[test]
fn customers_email_addresses_stay_out_of_errors_logs_and_stored_reasons() {
    let email = "rosa.private@example.com";
    let (sim, base) = start_details_flowers("1");
    let data_dir = temp_dir("pii");
    connect_details_flowers(&data_dir, "details-flowers-main", &base);
    let find = [
        "call",
        "details_flowers.customer.find_by_email",
        "-c",
        "details-flowers-main",
        "-i",
        &format!(r#"{{"email":"{email}"}}"#),
        "--log",
        "trace",
    ];
    let assert_absent = |output: &Output, what: &str| {
        let all = format!("{}{}", text(&output.stdout), text(&output.stderr));
        assert!(!all.contains(email), "{what} shows the e-mail: {all}");
        assert!(
            !all.contains("rosa.private%40example.com"),
            "{what} shows the e-mail: {all}"
        );
    };

    // The service fails every request (an injected fault).
    let injected = Command::new("curl")
        .args(["-s", "-X", "PUT", "-H", "Content-Type: application/json"])
        .args(["-d", r#"{"error_rate":1.0}"#])
        .arg(format!("{base}/__sim/faults"))
        .output()
        .unwrap();
    assert!(injected.status.success());
    let failed = tether(&data_dir, &find);
    assert!(!failed.status.success());
    assert!(
        text(&failed.stderr).contains("GET /customers"),
        "{}",
        text(&failed.stderr)
    );
    assert_absent(&failed, "an injected 5xx");

    // The service is gone (connection refused): the transport's error names the URL.
    drop(sim);
    let failed = tether(&data_dir, &find);
    assert!(!failed.status.success());
    let stderr = text(&failed.stderr);
    assert!(
        stderr.contains("email=[redacted]"),
        "the query's names stay: {stderr}"
    );
    assert_absent(&failed, "a refused connection");

    // A run of the shipped flow looks the customer up by e-mail and fails the same way; its
    // stored reason is free of the address too.
    let flows = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../flows")
        .display()
        .to_string();
    let event = format!(r#"{{"id":"c1","email":"{email}","firstName":"Rosa"}}"#);
    let ran = tether(
        &data_dir,
        &[
            "run",
            "ghl-contact-to-df-customer",
            "--flows",
            &flows,
            "--event",
            &event,
        ],
    );
    assert!(!ran.status.success());
    assert_absent(&ran, "tether run");
    let runs = tether(&data_dir, &["runs"]);
    assert!(runs.status.success(), "{}", text(&runs.stderr));
    assert!(
        text(&runs.stdout).contains("ghl-contact-to-df-customer")
            && text(&runs.stdout).contains("email=[redacted]"),
        "the stored reason is the refused lookup: {}",
        text(&runs.stdout)
    );
    assert_absent(&runs, "the stored run");
    let dead = tether(&data_dir, &["dlq", "list"]);
    assert_absent(&dead, "the dead-letter queue");
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[test]
fn serve_finishes_the_run_in_flight_on_sigterm_then_exits_cleanly() {
    let (_sim, base) = start_details_flowers("1");
    let data_dir = temp_dir("sigterm");
    connect_details_flowers(&data_dir, "df", &base);
    let flows = data_dir.join("flows");
    std::fs::create_dir_all(&flows).unwrap();
    // One customer to poll, and a slow service: the run's one call takes two seconds.
    std::fs::write(
        flows.join("slow.yaml"),
        "id: slow-lookup\ntrigger:\n  poll:\n    operation: details_flowers.customer.updated\n    \
         connection: df\n    every: 1s\n    cursor: updated_at\nsteps:\n  - id: look\n    action:\n      \
         operation: details_flowers.customer.find_by_email\n      connection: df\n      input:\n        \
         email: \"{{ trigger.email }}\"\n",
    )
    .unwrap();
    let injected = Command::new("curl")
        .args(["-s", "-X", "PUT", "-H", "Content-Type: application/json"])
        .args(["-d", r#"{"latency_ms":2000}"#])
        .arg(format!("{base}/__sim/faults"))
        .output()
        .unwrap();
    assert!(injected.status.success());
    let (mut server, _) = start_process(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--flows",
            &flows.display().to_string(),
            "--data-dir",
            &data_dir.display().to_string(),
        ],
        &[],
        "Tether serving on ",
    );

    // Wait until the run is leased and its slow call under way.
    let started = std::time::Instant::now();
    loop {
        let runs = tether(&data_dir, &["runs"]);
        if text(&runs.stdout).contains(" running ") {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "no run started: {}",
            text(&runs.stdout)
        );
        pause(100);
    }
    let pid = server.0.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(40),
            "serve did not stop"
        );
        pause(50);
    };
    assert_eq!(status.code(), Some(0), "a clean exit, not death by signal");
    let runs = tether(&data_dir, &["runs"]);
    let runs = text(&runs.stdout);
    assert!(
        runs.contains("slow-lookup") && runs.contains(" done ") && !runs.contains(" running "),
        "the run in flight was finished: {runs}"
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// Runs `tether ARGS…` and parses its stdout as JSON.
fn json_of(data_dir: &Path, args: &[&str]) -> Value {
    let output = tether(data_dir, args);
    assert!(
        output.status.success(),
        "tether {args:?}: {}",
        text(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "tether {args:?} is not JSON ({error}): {}",
            text(&output.stdout)
        )
    })
}

#[test]
fn read_commands_answer_json_and_runs_show_prints_one_run() {
    let (_sim, base) = start_details_flowers("1");
    let data_dir = temp_dir("json");
    connect_details_flowers(&data_dir, "details-flowers-main", &base);
    let flows = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../flows")
        .display()
        .to_string();
    let run = |event: &str| {
        tether(
            &data_dir,
            &[
                "run",
                "ghl-contact-to-df-customer",
                "--flows",
                &flows,
                "--event",
                event,
            ],
        )
    };
    assert!(
        run(r#"{"id":"c1","email":"ann@example.com"}"#)
            .status
            .success()
    );
    // The app refuses this e-mail: the run is dead-lettered.
    assert!(
        !run(r#"{"id":"c2","email":"not-an-email"}"#)
            .status
            .success()
    );

    let runs = json_of(&data_dir, &["runs", "--json"]);
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    let done = runs.iter().find(|run| run["status"] == "done").unwrap();
    let steps: Vec<&str> = done["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["step_id"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["has_email", "customer", "upsert"]);
    let id = done["id"].as_i64().unwrap().to_string();

    let shown = json_of(&data_dir, &["runs", "show", &id, "--json"]);
    assert_eq!(shown["id"].to_string(), id);
    assert_eq!(shown["flow_id"], "ghl-contact-to-df-customer");
    assert_eq!(shown["steps"][2]["status"], "ok", "{shown}");
    assert!(
        shown["steps"][2]["output"]["id"]
            .as_str()
            .unwrap()
            .starts_with("cus_")
    );
    let shown_text = tether(&data_dir, &["runs", "show", &id]);
    let shown_text = text(&shown_text.stdout);
    assert!(
        shown_text.contains("ghl-contact-to-df-customer")
            && shown_text.contains("upsert")
            && shown_text.contains("id cus_"),
        "{shown_text}"
    );
    let missing = tether(&data_dir, &["runs", "show", "999"]);
    assert!(!missing.status.success());
    assert!(text(&missing.stderr).contains("no run 999"));

    let connections = json_of(&data_dir, &["connections", "--json"]);
    assert_eq!(
        connections[0]["name"], "details-flowers-main",
        "{connections}"
    );
    assert_eq!(connections[0]["auth"], "api_key");
    assert!(
        !connections.to_string().contains("sim-api-key"),
        "credentials never show: {connections}"
    );

    let dead = json_of(&data_dir, &["dlq", "list", "--json"]);
    assert_eq!(dead.as_array().unwrap().len(), 1, "{dead}");
    assert_eq!(dead[0]["failed_step"], "upsert");
    let dead_id = dead[0]["id"].to_string();
    let letter = json_of(&data_dir, &["dlq", "show", &dead_id, "--json"]);
    assert_eq!(letter["payload"]["id"], "c2", "{letter}");

    let catalog = json_of(&data_dir, &["catalog", "--json"]);
    assert!(
        catalog
            .as_array()
            .unwrap()
            .iter()
            .any(|operation| operation["id"] == "details_flowers.customer.find_by_email")
    );

    for (shell, marker) in [
        ("bash", "_tether()"),
        ("zsh", "#compdef tether"),
        ("fish", "complete -c tether"),
    ] {
        let script = tether(&data_dir, &["completions", shell]);
        assert!(script.status.success(), "{}", text(&script.stderr));
        let script = text(&script.stdout);
        assert!(
            script.contains(marker) && script.contains("runs") && script.contains("data-dir"),
            "{shell}: {script}"
        );
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}
