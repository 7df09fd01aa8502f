//! Independent Flickr clients, unmodified, against `tether sim flickr --auto-approve` as a process:
//! the npm `flickr-sdk` (which signs Flickr's production URLs and is pointed here only through its
//! transport) and Python's `requests-oauthlib` running the three-legged dance unattended.
//!
//! Each script's own checks must pass (exit 0); then the simulator's request log and admin API
//! show that the calls arrived, signed, and changed the world. The clients are installed outside
//! cargo; when they are missing the test fails and names the install command.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use tether_sim::flickr::oauth;

use crate::cli::Running;

const KEY: &str = "compat-flickr-key";
const SECRET: &str = "compat-flickr-secret";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Starts `tether sim flickr --auto-approve` with two seeded users; answers its base URL and the
/// first user's NSID, both read from its banner.
fn start_flickr() -> (Running, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args([
            "sim",
            "flickr",
            "--listen",
            "127.0.0.1:0",
            "--seed-users",
            "2",
            "--auto-approve",
            "--consumer-key",
            KEY,
            "--consumer-secret",
            SECRET,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut lines = BufReader::new(stdout).lines();
    let mut base = None;
    let first = loop {
        let line = lines
            .next()
            .expect("the simulator prints a banner")
            .unwrap();
        if let Some(url) = line.strip_prefix("Flickr simulator listening on ") {
            base = Some(url.trim().to_owned());
        } else if let Some(nsid) = line.trim().strip_prefix("first user: ") {
            break nsid.to_owned();
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (
        running,
        base.expect("the URL comes before the first user"),
        first,
    )
}

/// Runs a client script with the simulator's URL and keys; its stdout's last line, as JSON.
fn run_client(mut command: Command, base: &str) -> Value {
    let output = command
        .env("FLICKR_SIM_URL", base)
        .env("FLICKR_CONSUMER_KEY", KEY)
        .env("FLICKR_CONSUMER_SECRET", SECRET)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the client failed ({}): {}{stdout}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|_| panic!("not JSON: {stdout}"))
}

fn get_json(url: &str) -> Value {
    let output = Command::new("curl")
        .args(["-s", "--fail", url])
        .output()
        .unwrap();
    assert!(output.status.success(), "GET {url} failed");
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The simulator's request log.
fn logged(base: &str) -> Vec<Value> {
    get_json(&format!("{base}/__sim/requests"))["requests"]
        .as_array()
        .unwrap()
        .clone()
}

/// The log entries of one operation (a REST method name, `upload`, `oauth.request_token`, …).
fn entries<'a>(log: &'a [Value], operation: &str) -> Vec<&'a Value> {
    log.iter()
        .filter(|entry| entry["operation_id"] == operation)
        .collect()
}

/// The parameters of a logged GET: its query, decoded.
fn query_params(entry: &Value) -> Vec<(String, String)> {
    let query = entry["query"].as_str().unwrap_or_default();
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Whether the logged GET's `oauth_signature` is the signature of its parameters over `url`.
fn signed_over(entry: &Value, url: &str, token_secret: &str) -> bool {
    let params = query_params(entry);
    let base_string = oauth::base_string("GET", url, &params);
    let signature = param(&params, "oauth_signature").unwrap_or_default();
    oauth::verify(
        &oauth::signing_key(SECRET, token_secret),
        &base_string,
        signature,
    )
}

#[test]
fn flickr_sdk_runs_unmodified_against_the_simulator() {
    let dir = repo_root().join("compat/flickr-node");
    assert!(
        dir.join("node_modules/flickr-sdk/package.json").is_file(),
        "flickr-sdk is not installed: run `npm ci --prefix compat/flickr-node` from the repository root (Node.js 18 or later)"
    );
    let (_sim, base, first_user) = start_flickr();
    let mut command = Command::new("node");
    command.arg(dir.join("flickr.mjs")).current_dir(&dir);
    let made = run_client(command, &base);
    let nsid = made["user_nsid"].as_str().unwrap();
    assert_eq!(
        nsid, first_user,
        "--auto-approve approves as the first user"
    );
    let access_token = made["access_token"].as_str().unwrap();
    let access_secret = made["access_token_secret"].as_str().unwrap();
    let request_secret = made["request_token_secret"].as_str().unwrap();
    let log = logged(&base);

    // The token endpoints, signed by the SDK over www.flickr.com and accepted.
    for (operation, path, secret) in [
        ("oauth.request_token", "/services/oauth/request_token", ""),
        (
            "oauth.access_token",
            "/services/oauth/access_token",
            request_secret,
        ),
    ] {
        let found = entries(&log, operation);
        assert_eq!(found.len(), 1, "{operation}: {found:?}");
        assert_eq!(found[0]["status"], 200, "{operation}");
        assert!(
            signed_over(found[0], &format!("https://www.flickr.com{path}"), secret),
            "{operation} was not signed over Flickr's URL: {}",
            found[0]
        );
    }
    let visits = entries(&log, "oauth.authorize");
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0]["status"], 302, "--auto-approve redirects at once");

    // Read calls are GETs: their signature is over api.flickr.com, not over the simulator's URL.
    for method in [
        "flickr.test.login",
        "flickr.people.getInfo",
        "flickr.photos.search",
    ] {
        let found = entries(&log, method);
        assert_eq!(found.len(), 1, "{method}");
        let call = found[0];
        assert_eq!(
            (call["method"].as_str(), call["status"].as_u64()),
            (Some("GET"), Some(200))
        );
        assert_eq!(
            param(&query_params(call), "oauth_token"),
            Some(access_token)
        );
        assert!(
            signed_over(call, "https://api.flickr.com/services/rest", access_secret),
            "{method} was not signed over Flickr's URL: {call}"
        );
        assert!(!signed_over(
            call,
            &format!("{base}/services/rest"),
            access_secret
        ));
    }
    // Writes and the upload are multipart POSTs carrying the access token and a signature.
    for operation in ["upload", "flickr.photos.addTags", "flickr.photosets.create"] {
        let found = entries(&log, operation);
        assert_eq!(found.len(), 1, "{operation}");
        let call = found[0];
        assert_eq!(
            (call["method"].as_str(), call["status"].as_u64()),
            (Some("POST"), Some(200))
        );
        let body = call["body"].as_str().unwrap();
        assert!(
            body.contains("name=\"oauth_signature\"") && body.contains(access_token),
            "{operation} arrived unsigned: {body}"
        );
    }
    let upload_path = entries(&log, "upload")[0]["path"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(upload_path, "/services/upload");

    // The writes changed the simulator's world.
    let photo_id = made["photo_id"].as_str().unwrap();
    let photo = get_json(&format!("{base}/__sim/photos/{photo_id}"));
    assert_eq!(photo["owner"], nsid, "{photo}");
    assert_eq!(photo["title"], "Uploaded by flickr-sdk", "{photo}");
    let tags: Vec<&str> = photo["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|tag| tag["clean"].as_str())
        .collect();
    assert!(
        ["compat", "sdk", "twowords"]
            .iter()
            .all(|tag| tags.contains(tag)),
        "{photo}"
    );
    let set = get_json(&format!(
        "{base}/services/rest?method=flickr.photosets.getInfo&api_key={KEY}&photoset_id={}&user_id={nsid}&format=json&nojsoncallback=1",
        made["photoset_id"].as_str().unwrap()
    ));
    assert_eq!(
        set["photoset"]["title"]["_content"], "Made by flickr-sdk",
        "{set}"
    );
    assert_eq!(set["photoset"]["primary"], photo_id, "{set}");
}

#[test]
fn requests_oauthlib_runs_the_three_legged_dance_unattended() {
    let dir = repo_root().join("compat/flickr-python");
    let python = dir.join(".venv/bin/python");
    let installed = python.is_file()
        && Command::new(&python)
            .args(["-c", "import requests_oauthlib"])
            .output()
            .is_ok_and(|output| output.status.success());
    assert!(
        installed,
        "requests-oauthlib is not installed: from the repository root run `python3 -m venv compat/flickr-python/.venv && compat/flickr-python/.venv/bin/pip install -r compat/flickr-python/requirements.txt`"
    );
    let (_sim, base, first_user) = start_flickr();
    let mut command = Command::new(&python);
    command.arg(dir.join("flickr_oauth.py"));
    let made = run_client(command, &base);
    let log = logged(&base);

    // Each leg arrived once, in order, and every signed one carried the header and was accepted.
    let order: Vec<&str> = log
        .iter()
        .filter_map(|entry| entry["operation_id"].as_str())
        .collect();
    assert_eq!(
        order,
        [
            "oauth.request_token",
            "oauth.authorize",
            "oauth.access_token",
            "flickr.test.login"
        ]
    );
    let statuses: Vec<u64> = log
        .iter()
        .filter_map(|entry| entry["status"].as_u64())
        .collect();
    assert_eq!(statuses, [200, 302, 200, 200]);
    let authorization = |entry: &Value| -> String {
        entry["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|pair| pair[0] == "authorization")
            .and_then(|pair| pair[1].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    for (entry, token) in [
        (&log[0], None),
        (&log[2], made["request_token"].as_str()),
        (&log[3], made["access_token"].as_str()),
    ] {
        let header = authorization(entry);
        assert!(
            header.starts_with("OAuth ") && header.contains("oauth_signature=\""),
            "{entry}"
        );
        if let Some(token) = token {
            assert!(
                header.contains(&format!("oauth_token=\"{token}\"")),
                "{header}"
            );
        }
    }
    assert!(
        authorization(&log[2]).contains(&format!(
            "oauth_verifier=\"{}\"",
            made["verifier"].as_str().unwrap()
        )),
        "the verifier read from the redirect was sent"
    );
    assert_eq!(
        made["user_nsid"], first_user,
        "--auto-approve approves as the first user"
    );
}
