//! Connections you can trust, as a person meets them on the command line: `tether connect`
//! refuses credentials the app refuses (nothing stored), an unknown location and a base URL
//! that is not a URL; `--skip-test` stores `untested`; an app that does not answer is stored
//! `unreachable` with a warning; `connections test`, `rename` and `delete` (refused while the
//! shipped flows use the connection); and the README connects the names the shipped flows use.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::cli::start_process;

const TETHER: &str = env!("CARGO_BIN_EXE_tether");
const PIT: &str = "conn-cli-pit";
const LOCATION: &str = "ve9EPM428h8vShlRW1KT";

fn tether(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(TETHER)
        .args(args)
        .env("TETHER_DATA_DIR", data_dir)
        .env_remove("TETHER_SECRET_KEY")
        .env_remove("TETHER_GHL_PIT")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn listed(data_dir: &Path) -> Vec<Value> {
    let output = tether(data_dir, &["connections", "list", "--json"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    serde_json::from_slice::<Value>(&output.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn health_of(data_dir: &Path, name: &str) -> Value {
    listed(data_dir)
        .into_iter()
        .find(|connection| connection["name"] == name)
        .unwrap_or_else(|| panic!("no connection {name}"))
}

fn connect_pit(
    data_dir: &Path,
    name: &str,
    pit: &str,
    location: &str,
    base: &str,
    extra: &[&str],
) -> Output {
    let mut args = vec![
        "connect",
        "ghl",
        "--name",
        name,
        "--pit",
        pit,
        "--location",
        location,
        "--api-base",
        base,
    ];
    args.extend_from_slice(extra);
    tether(data_dir, &args)
}

fn shipped_flows() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../flows")
}

#[test]
fn connect_tests_credentials_before_storing_them() {
    let (_sim, base) = start_process(
        &["sim", "ghl", "--listen", "127.0.0.1:0", "--pit", PIT],
        &[],
        "GHL simulator listening on ",
    );
    let data_dir = std::env::temp_dir().join(format!(
        "tether-conn-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));

    // A wrong token: refused with the cause; nothing stored.
    let wrong = connect_pit(&data_dir, "ghl-main", "wrong-token", LOCATION, &base, &[]);
    assert!(!wrong.status.success());
    let stderr = text(&wrong.stderr);
    assert!(
        stderr.contains("refused") && stderr.contains("not stored"),
        "{stderr}"
    );
    assert!(!stderr.contains("wrong-token"), "{stderr}");
    assert!(listed(&data_dir).is_empty());

    // The right token for a location it cannot reach: refused, naming the location.
    let nope = connect_pit(&data_dir, "ghl-main", PIT, "nope", &base, &[]);
    assert!(!nope.status.success());
    let stderr = text(&nope.stderr);
    assert!(stderr.contains("location nope"), "{stderr}");
    assert!(listed(&data_dir).is_empty());

    // Not a URL: refused by argument parsing, naming the flag.
    let bad_url = connect_pit(&data_dir, "ghl-main", PIT, LOCATION, "not a url", &[]);
    assert_eq!(bad_url.status.code(), Some(2));
    let stderr = text(&bad_url.stderr);
    assert!(
        stderr.contains("--api-base") && stderr.contains("not a URL"),
        "{stderr}"
    );

    // --skip-test stores it anyway, as untested.
    let skipped = connect_pit(
        &data_dir,
        "ghl-later",
        "wrong-token",
        LOCATION,
        &base,
        &["--skip-test"],
    );
    assert!(skipped.status.success(), "{}", text(&skipped.stderr));
    assert_eq!(health_of(&data_dir, "ghl-later")["health"], "untested");
    // Testing it now tells the truth, and fails the command.
    let tested = tether(&data_dir, &["connections", "test", "ghl-later"]);
    assert!(!tested.status.success());
    assert!(
        text(&tested.stdout).contains("revoked"),
        "{}",
        text(&tested.stdout)
    );
    let later = health_of(&data_dir, "ghl-later");
    assert_eq!(later["health"], "revoked");
    assert!(!later.to_string().contains("wrong-token"), "{later}");

    // The right token: stored and ok.
    let good = connect_pit(&data_dir, "ghl-main", PIT, LOCATION, &base, &[]);
    assert!(good.status.success(), "{}", text(&good.stderr));
    let main = health_of(&data_dir, "ghl-main");
    assert_eq!(main["health"], "ok", "{main}");
    assert!(main["checked_at"].is_string(), "{main}");
    let tested = tether(&data_dir, &["connections", "test", "ghl-main"]);
    assert!(tested.status.success(), "{}", text(&tested.stderr));
    assert!(text(&tested.stdout).contains("ok"));

    // Nothing answers: stored as unreachable, with a warning.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let down = connect_pit(&data_dir, "ghl-down", PIT, LOCATION, &closed, &[]);
    assert!(down.status.success(), "{}", text(&down.stderr));
    let stderr = text(&down.stderr);
    assert!(
        stderr.contains("warning") && stderr.contains("unreachable"),
        "{stderr}"
    );
    assert_eq!(health_of(&data_dir, "ghl-down")["health"], "unreachable");

    // The shipped flows use ghl-main: renaming or deleting it is refused, naming them.
    let flows = shipped_flows();
    let flows = flows.to_str().unwrap();
    let rename = tether(
        &data_dir,
        &[
            "connections",
            "rename",
            "ghl-main",
            "main",
            "--flows",
            flows,
        ],
    );
    assert!(!rename.status.success());
    let stderr = text(&rename.stderr);
    assert!(stderr.contains("ghl-contact-to-df-customer"), "{stderr}");
    let delete = tether(
        &data_dir,
        &["connections", "delete", "ghl-main", "--flows", flows],
    );
    assert!(!delete.status.success());
    let stderr = text(&delete.stderr);
    assert!(
        stderr.contains("used by") && stderr.contains("ghl-contact-to-df-customer"),
        "{stderr}"
    );
    assert_eq!(
        health_of(&data_dir, "ghl-main")["health"],
        "ok",
        "still there"
    );

    // Not used by any loaded flow: rename and delete go through.
    let rename = tether(
        &data_dir,
        &["connections", "rename", "ghl-down", "ghl-spare"],
    );
    assert!(rename.status.success(), "{}", text(&rename.stderr));
    let taken = tether(
        &data_dir,
        &["connections", "rename", "ghl-spare", "ghl-main"],
    );
    assert!(!taken.status.success());
    assert!(text(&taken.stderr).contains("exists already"));
    let delete = tether(&data_dir, &["connections", "delete", "ghl-spare"]);
    assert!(delete.status.success(), "{}", text(&delete.stderr));
    let names: Vec<String> = listed(&data_dir)
        .iter()
        .map(|connection| connection["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["ghl-later", "ghl-main"]);
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[test]
fn the_readme_connects_the_names_the_shipped_flows_use() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let mut used = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(shipped_flows()).unwrap() {
        let flow = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in flow.lines() {
            if let Some(name) = line.trim().strip_prefix("connection:") {
                used.insert(name.trim().to_owned());
            }
        }
    }
    assert!(used.contains("ghl-main"), "{used:?}");
    for name in &used {
        assert!(
            readme.contains(&format!("--name {name} ")),
            "the README never connects {name:?}, which the shipped flows use"
        );
    }
}
