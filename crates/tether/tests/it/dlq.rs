//! `tether runs` and `tether dlq` as a person uses them: filters, a run's detail, and replays
//! that say what they did, refuse what cannot work, and happen once.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::cli::start_process;

const TETHER: &str = env!("CARGO_BIN_EXE_tether");

fn temp_dir(label: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "tether-{label}-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ))
}

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

fn json_of(data_dir: &Path, args: &[&str]) -> Value {
    let output = tether(data_dir, args);
    assert!(
        output.status.success(),
        "tether {args:?}: {}",
        text(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Two contacts with e-mails the app refuses are dead-lettered; replays are refused or taken
/// as they should be, and every version is shown as its 16 hex digits.
#[test]
fn dead_letters_are_replayed_once_with_a_loaded_version_and_say_what_happens_next() {
    let (_sim, base) = start_process(
        &[
            "sim",
            "details-flowers",
            "--listen",
            "127.0.0.1:0",
            "--seed",
            "1",
        ],
        &[],
        "Details Flowers simulator listening on ",
    );
    let data_dir = temp_dir("dlq");
    let connected = tether(
        &data_dir,
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
    );
    assert!(connected.status.success(), "{}", text(&connected.stderr));
    let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../flows");
    let flows = shipped.display().to_string();
    for (id, email) in [
        ("c1", "ann@example.com"),
        ("c2", "not-an-email"),
        ("c3", "nor-this"),
    ] {
        let event = format!(r#"{{"id":"{id}","email":"{email}"}}"#);
        tether(
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
    }

    // Filters, and versions in hex everywhere.
    let dead = json_of(&data_dir, &["runs", "--status", "dead", "--json"]);
    assert_eq!(dead.as_array().unwrap().len(), 2, "{dead}");
    let version = dead[0]["flow_version"].as_str().unwrap().to_owned();
    assert_eq!(version.len(), 16, "{version}");
    assert!(version.chars().all(|c| c.is_ascii_hexdigit()), "{version}");
    let by_record = json_of(
        &data_dir,
        &["runs", "--record", "ANN@example.com", "--json"],
    );
    assert_eq!(by_record.as_array().unwrap().len(), 1, "{by_record}");
    assert_eq!(by_record[0]["status"], "done");
    let listed = text(&tether(&data_dir, &["runs", "--status", "dead"]).stdout);
    assert!(listed.contains(&format!("v{version}")), "{listed}");
    let done_id = by_record[0]["id"].to_string();
    let shown = text(&tether(&data_dir, &["runs", "show", &done_id]).stdout);
    assert!(
        shown.contains(&format!("v{version}")) && shown.contains("input:"),
        "{shown}"
    );
    let bad_status = tether(&data_dir, &["runs", "--status", "finished"]);
    assert!(!bad_status.status.success());
    assert!(text(&bad_status.stderr).contains("status: \"finished\""));

    let letters = json_of(&data_dir, &["dlq", "list", "--json"]);
    let newest = letters[0]["id"].to_string();
    let older = letters[1]["id"].to_string();
    assert_eq!(letters[0]["flow_version"], version.as_str());

    // A version that is not a version is refused (it was taken as it was).
    let twelve = tether(
        &data_dir,
        &[
            "dlq",
            "replay",
            &newest,
            "--from",
            "start",
            "--version",
            "12",
            "--flows",
            &flows,
        ],
    );
    assert!(!twelve.status.success());
    assert!(
        text(&twelve.stderr).contains("\"12\" is not"),
        "{}",
        text(&twelve.stderr)
    );

    // A replay says that it is queued and who will run it (it said nothing).
    let replayed = tether(
        &data_dir,
        &[
            "dlq",
            "replay",
            &newest,
            "--from",
            "failed-step",
            "--version",
            "ran",
            "--flows",
            &flows,
        ],
    );
    assert!(replayed.status.success(), "{}", text(&replayed.stderr));
    let said = text(&replayed.stdout);
    assert!(
        said.contains("queued as run") && said.contains("a running `tether serve` will execute it"),
        "{said}"
    );
    // A second replay, with another version, is refused naming the first (it was ignored).
    let again = tether(
        &data_dir,
        &[
            "dlq",
            "replay",
            &newest,
            "--from",
            "start",
            "--version",
            "current",
            "--flows",
            &flows,
        ],
    );
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("replayed already, as run"),
        "{}",
        text(&again.stderr)
    );

    // The flow file changed: the version that ran is gone, and `ran` is refused naming both
    // versions (the replay ran the gone version and was dead-lettered again, forever).
    let changed = temp_dir("flows");
    std::fs::create_dir_all(&changed).unwrap();
    let flow = std::fs::read_to_string(shipped.join("ghl-contact-to-df-customer.yaml")).unwrap();
    std::fs::write(
        changed.join("ghl-contact-to-df-customer.yaml"),
        flow.replace("name: GHL contact", "name: Changed GHL contact"),
    )
    .unwrap();
    let changed_flows = changed.display().to_string();
    let gone = tether(
        &data_dir,
        &[
            "dlq",
            "replay",
            &older,
            "--from",
            "start",
            "--version",
            "ran",
            "--flows",
            &changed_flows,
        ],
    );
    assert!(!gone.status.success());
    let refusal = text(&gone.stderr);
    assert!(
        refusal.contains(&format!("version {version} that ran is no longer loaded"))
            && refusal.contains("the current version is "),
        "{refusal}"
    );

    let resolved = tether(
        &data_dir,
        &["dlq", "resolve", &older, "--note", "bad address"],
    );
    assert!(resolved.status.success(), "{}", text(&resolved.stderr));
    let open = json_of(&data_dir, &["dlq", "list", "--state", "open", "--json"]);
    assert_eq!(open, serde_json::json!([]));
    let shown = text(&tether(&data_dir, &["dlq", "show", &older]).stdout);
    assert!(shown.contains("(resolved: bad address)"), "{shown}");
    let _ = std::fs::remove_dir_all(&data_dir);
    let _ = std::fs::remove_dir_all(&changed);
}
