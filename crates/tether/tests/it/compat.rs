//! The official HighLevel clients, unmodified, against `tether sim ghl` as a process: the Node SDK
//! (`@gohighlevel/api-client`, default `Version: 2023-02-21`), the Python SDK
//! (`gohighlevel-api-client`, `Version: v3`) and a standard OAuth 2.0 client (requests-oauthlib)
//! through `--auto-approve`. Each script lives in `compat/` and is installed from its lock file; a
//! missing install fails the test with the command to run, never skips it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::cli::start_process;

const PIT: &str = "compat-pit";
const LOCATION: &str = "ve9EPM428h8vShlRW1KT";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Fails, naming the install command, when `installed` is missing.
fn require_installed(installed: &Path, command: &str) {
    assert!(
        installed.exists(),
        "{} is missing: install it from the repository root with `{command}`",
        installed.display()
    );
}

fn node_modules() -> PathBuf {
    let sdk = repo_root().join("compat/ghl-node/node_modules/@gohighlevel/api-client");
    require_installed(&sdk, "npm ci --prefix compat/ghl-node");
    sdk
}

fn python() -> PathBuf {
    let python = repo_root().join("compat/ghl-python/.venv/bin/python");
    require_installed(
        &python,
        "python3 -m venv compat/ghl-python/.venv && compat/ghl-python/.venv/bin/pip install -r compat/ghl-python/requirements.txt",
    );
    python
}

/// Starts `tether sim ghl` on a free port with the compat PIT (and `extra`).
fn start_sim(extra: &[&str]) -> (crate::cli::Running, String) {
    start_process(
        &["sim", "ghl", "--listen", "127.0.0.1:0", "--pit", PIT],
        extra,
        "GHL simulator listening on ",
    )
}

/// Asserts a script ended with exit 0, showing what it printed otherwise.
fn assert_ran(name: &str, output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{name} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains(" passed"), "{name}:\n{stdout}");
}

/// The simulator's request log.
fn requests(base: &str) -> Vec<Value> {
    let output = Command::new("curl")
        .args(["-s", &format!("{base}/__sim/requests")])
        .output()
        .unwrap();
    let log: Value = serde_json::from_slice(&output.stdout).unwrap();
    log["requests"].as_array().unwrap().clone()
}

/// A logged request's header, by lower-case name.
fn header<'a>(entry: &'a Value, name: &str) -> Option<&'a str> {
    entry["headers"]
        .as_array()?
        .iter()
        .find(|pair| pair[0].as_str() == Some(name))
        .and_then(|pair| pair[1].as_str())
}

/// The operations the requests carrying `marker` (the SDK's own header) reached, after checking
/// each was answered 2xx with the `Version` the SDK sends.
fn sdk_operations(base: &str, marker: &str, version: &str) -> Vec<String> {
    let log = requests(base);
    let sdk_calls: Vec<&Value> = log
        .iter()
        .filter(|entry| header(entry, marker).is_some())
        .collect();
    for entry in &sdk_calls {
        assert_eq!(header(entry, "version"), Some(version), "{entry}");
        assert_eq!(
            header(entry, "authorization"),
            Some(format!("Bearer {PIT}").as_str()),
            "{entry}"
        );
        let status = entry["status"].as_u64().unwrap();
        assert!((200..300).contains(&status), "{entry}");
    }
    sdk_calls
        .iter()
        .map(|entry| entry["operation_id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_official_node_sdk_runs_unmodified_with_its_default_version() {
    node_modules();
    let (_sim, base) = start_sim(&[]);
    let output = Command::new("node")
        .arg("contacts.mjs")
        .current_dir(repo_root().join("compat/ghl-node"))
        .env("GHL_SIM_URL", &base)
        .env("GHL_PIT", PIT)
        .env("GHL_LOCATION_ID", LOCATION)
        .output()
        .unwrap();
    assert_ran("contacts.mjs", &output);

    let operations = sdk_operations(&base, "x-sdk-version", "2023-02-21");
    for expected in [
        "create-contact",
        "get-contact",
        "update-contact",
        "upsert-contact",
        "add-tags",
        "remove-tags",
        "create-note",
        "get-all-notes",
        "create-task",
        "search-contacts-advanced",
        "get-duplicate-contact",
        "delete-contact",
    ] {
        assert!(
            operations.iter().any(|op| op == expected),
            "{expected} not in {operations:?}"
        );
    }
}

#[test]
fn the_official_python_sdk_runs_unmodified_with_version_v3() {
    let python = python();
    let (_sim, base) = start_sim(&[]);
    let output = Command::new(python)
        .arg("contacts.py")
        .current_dir(repo_root().join("compat/ghl-python"))
        .env("GHL_SIM_URL", &base)
        .env("GHL_PIT", PIT)
        .env("GHL_LOCATION_ID", LOCATION)
        .output()
        .unwrap();
    assert_ran("contacts.py", &output);

    let operations = sdk_operations(&base, "ghl-sdk-version", "v3");
    for expected in [
        "create-contact",
        "get-contact",
        "update-contact",
        "upsert-contact",
        "add-tags",
        "create-note",
        "get-all-notes",
        "search-contacts-advanced",
        "get-duplicate-contact",
        "remove-contact-from-every-campaign",
        "delete-contact",
    ] {
        assert!(
            operations.iter().any(|op| op == expected),
            "{expected} not in {operations:?}"
        );
    }
    // The SDK uses the v3 spelling of the path, unprefixed (no `/v3`).
    let log = requests(&base);
    assert!(
        log.iter().any(|entry| entry["path"]
            .as_str()
            .unwrap()
            .ends_with("/campaigns/remove-all")),
        "{log:?}"
    );
    assert!(
        log.iter()
            .all(|entry| !entry["path"].as_str().unwrap().starts_with("/v3/")),
        "{log:?}"
    );
}

#[test]
fn a_standard_oauth2_client_completes_the_code_flow_unattended_with_auto_approve() {
    let python = python();
    let (_sim, base) = start_sim(&["--auto-approve"]);
    let output = Command::new(python)
        .arg("oauth_flow.py")
        .current_dir(repo_root().join("compat/ghl-python"))
        .env("GHL_SIM_URL", &base)
        .output()
        .unwrap();
    assert_ran("oauth_flow.py", &output);

    let log = requests(&base);
    let statuses = |method: &str, path: &str| -> Vec<u64> {
        log.iter()
            .filter(|entry| entry["method"] == method && entry["path"] == path)
            .map(|entry| entry["status"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(statuses("GET", "/oauth/chooselocation"), vec![302]);
    // The code exchange and the refresh.
    assert_eq!(statuses("POST", "/oauth/token"), vec![200, 200]);
    let search = log
        .iter()
        .find(|entry| entry["path"] == "/contacts/search")
        .expect("the API call");
    assert_eq!(search["status"], 200);
    let authorization = header(search, "authorization").unwrap();
    assert!(
        authorization.starts_with("Bearer sim-at-"),
        "an OAuth access token, not the PIT: {authorization}"
    );
}
