//! What `tether serve` writes to its log during an initial sync: progress a person can follow,
//! and no customer's e-mail address or phone number, even while a service fails requests.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cli::{Running, start_process};

const TETHER: &str = env!("CARGO_BIN_EXE_tether");
const PIT: &str = "logs-pit";
const LOCATION: &str = "ve9EPM428h8vShlRW1KT";
const CONTACTS: usize = 1200;

fn tether(data_dir: &Path, args: &[&str]) -> Value {
    let output = Command::new(TETHER)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "tether {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or(Value::Null)
}

/// Every e-mail address and phone number GHL holds, read through `tether call`.
fn personal_data(data_dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let input = json!({"cursor": cursor, "limit": 1000}).to_string();
        let page = tether(
            data_dir,
            &[
                "call",
                "ghl.contact.updated",
                "-c",
                "ghl-main",
                "-i",
                &input,
            ],
        );
        let records = page["records"].as_array().unwrap();
        for record in records {
            for field in ["email", "phone"] {
                if let Some(value) = record[field].as_str().filter(|value| !value.is_empty()) {
                    found.push(value.to_owned());
                }
            }
        }
        if records.len() < 1000 {
            return found;
        }
        cursor = page["cursor"].clone();
    }
}

#[test]
fn serve_logs_the_initial_syncs_progress_and_no_personal_data() {
    let (_ghl, ghl_url) = start_process(
        &["sim", "ghl", "--listen", "127.0.0.1:0", "--pit", PIT],
        &["--seed", &CONTACTS.to_string(), "--rate-limit", "off"],
        "GHL simulator listening on ",
    );
    let (_flowers, flowers_url) = start_process(
        &["sim", "details-flowers", "--listen", "127.0.0.1:0"],
        &["--rate-limit", "off"],
        "Details Flowers simulator listening on ",
    );
    let dir = std::env::temp_dir().join(format!(
        "tether-logs-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let data_dir = dir.join("data");
    let flows_dir = dir.join("flows");
    std::fs::create_dir_all(&flows_dir).unwrap();
    let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../flows");
    let flow = "ghl-contact-to-df-customer.yaml";
    std::fs::copy(shipped.join(flow), flows_dir.join(flow)).unwrap();
    tether(
        &data_dir,
        &[
            "connect",
            "ghl",
            "--name",
            "ghl-main",
            "--pit",
            PIT,
            "--location",
            LOCATION,
            "--api-base",
            &ghl_url,
        ],
    );
    tether(
        &data_dir,
        &[
            "connect",
            "details-flowers",
            "--name",
            "details-flowers-main",
            "--api-key",
            "sim-api-key",
            "--base-url",
            &flowers_url,
        ],
    );
    for name in ["ghl-main", "details-flowers-main"] {
        tether(
            &data_dir,
            &["connections", "set", name, "--rate-limit", "off"],
        );
    }
    let personal = personal_data(&data_dir);
    assert!(
        personal.len() > CONTACTS,
        "e-mails and phones: {}",
        personal.len()
    );

    // Details Flowers fails a quarter of its requests, so runs fail, retry and log why.
    let faults = Command::new("curl")
        .args(["-s", "-X", "PUT", "-H", "Content-Type: application/json"])
        .args(["-d", r#"{"error_rate":0.25}"#])
        .arg(format!("{flowers_url}/__sim/faults"))
        .output()
        .unwrap();
    assert!(faults.status.success());

    let log_path = dir.join("serve.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(TETHER)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--reconcile-every",
            "1h",
        ])
        .arg("--flows")
        .arg(&flows_dir)
        .arg("--data-dir")
        .arg(&data_dir)
        // Debug: every line a person might turn on when something goes wrong.
        .args(["--log", "debug"])
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .unwrap();
    // Waits without blocking a thread the clippy way: the test has no runtime of its own.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let started = Instant::now();
    let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    while !read_log().contains("GHL sync found changes.") {
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "the sync did not finish: {}",
            read_log()
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "serve exited: {}",
            read_log()
        );
        runtime.block_on(async { tokio::time::sleep(Duration::from_millis(200)).await });
    }
    // Let the worker execute runs (and fail some) for a while.
    runtime.block_on(async { tokio::time::sleep(Duration::from_secs(5)).await });
    let _ = Running(child);

    let log = read_log();
    let progress: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("GHL sync in progress."))
        .collect();
    assert!(!progress.is_empty(), "no progress line: {log}");
    // Each line counts what was read and started so far; the counts only grow.
    let count = |line: &str, field: &str| -> usize {
        let start = line.find(&format!("{field}=")).unwrap() + field.len() + 1;
        line[start..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let contacts: Vec<usize> = progress
        .iter()
        .map(|line| count(line, "contacts"))
        .collect();
    assert!(
        contacts.windows(2).all(|pair| pair[0] < pair[1]),
        "{progress:#?}"
    );
    assert!(
        contacts[0] > 0 && count(progress[0], "runs_started") > 0,
        "{}",
        progress[0]
    );
    let done = log
        .lines()
        .find(|line| line.contains("GHL sync found changes."))
        .unwrap();
    assert!(
        done.contains(&format!("contacts={CONTACTS}")) && done.contains("runs_started="),
        "{done}"
    );
    assert!(log.contains("Run"), "the worker ran: {log}");
    for value in &personal {
        assert!(!log.contains(value.as_str()), "the log shows {value:?}");
        let encoded = value.replace('@', "%40").replace('+', "%2B");
        assert!(!log.contains(&encoded), "the log shows {encoded:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
