//! `tether flows apply | export | list | show | enable | disable` as processes over one data
//! folder: only changed files publish, refused files name every problem with `file:line:col`,
//! and export gives back exactly the bytes applied.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tether-flows-{name}-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tether(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// A schedule flow (no connection needed), with a comment and a `{{ }}` expression.
fn flow(id: &str, greeting: &str) -> String {
    format!(
        "# {id}: a comment that must survive\nid: {id}\ntrigger:\n  schedule: {{ cron: \"0 * * * *\" }}\n\
         steps:\n  - id: greet\n    map:\n      fields:\n        said: \"{greeting} {{{{ trigger.scheduled_at }}}}\"\n"
    )
}

/// The line of `id` in an apply's output, split into words.
fn outcome<'a>(output: &'a str, id: &str) -> Vec<&'a str> {
    output
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|words| words.get(1) == Some(&id))
        .unwrap_or_else(|| panic!("no line for {id} in:\n{output}"))
}

#[test]
fn apply_publishes_only_changes_and_export_gives_back_the_bytes() {
    let root = temp_dir("apply");
    let data = root.join("data");
    let flows = root.join("flows");
    std::fs::create_dir_all(&flows).unwrap();
    for id in ["alpha", "beta", "gamma"] {
        std::fs::write(flows.join(format!("{id}.yaml")), flow(id, "hello")).unwrap();
    }
    let flows_arg = flows.display().to_string();

    let first = tether(&data, &["flows", "apply", &flows_arg]);
    assert!(first.status.success(), "{first:?}");
    let text = stdout(&first);
    for id in ["alpha", "beta", "gamma"] {
        let words = outcome(&text, id);
        assert_eq!(words[0], "created", "{text}");
        assert_eq!(words[2], "v1", "{text}");
        // The content hash, never the integer runs record.
        assert_eq!(words[3].trim_matches(['(', ')']).len(), 16, "{text}");
    }

    // One file changes, and a broken one arrives: the valid ones still apply.
    std::fs::write(flows.join("beta.yaml"), flow("beta", "goodbye")).unwrap();
    std::fs::write(
        flows.join("delta.yaml"),
        flow("delta", "hi").replace("trigger.scheduled_at", "trigger.scheduled_at | shout"),
    )
    .unwrap();
    let second = tether(
        &data,
        &["flows", "apply", &flows_arg, "-m", "beta says goodbye"],
    );
    assert!(!second.status.success(), "a refused file fails the command");
    let text = stdout(&second);
    assert_eq!(outcome(&text, "alpha")[0], "unchanged", "{text}");
    assert_eq!(outcome(&text, "gamma")[0], "unchanged", "{text}");
    let beta = outcome(&text, "beta");
    assert_eq!((beta[0], beta[2]), ("updated", "v2"), "{text}");
    let delta = flows.join("delta.yaml").display().to_string();
    assert!(
        text.lines()
            .any(|line| line.starts_with(&format!("{delta}:9:")) && line.contains("shout")),
        "the problem with file:line:col:\n{text}"
    );
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("1 file(s) refused, 3 applied"),
        "{second:?}"
    );
    std::fs::remove_file(flows.join("delta.yaml")).unwrap();

    let exported = root.join("exported");
    let export = tether(&data, &["flows", "export", &exported.display().to_string()]);
    assert!(export.status.success(), "{export:?}");
    for id in ["alpha", "beta", "gamma"] {
        let file = format!("{id}.yaml");
        assert_eq!(
            std::fs::read(exported.join(&file)).unwrap(),
            std::fs::read(flows.join(&file)).unwrap(),
            "{file} comes back byte for byte"
        );
    }
    assert!(!exported.join("delta.yaml").exists());

    let list = tether(&data, &["flows", "list", "--json"]);
    assert!(list.status.success(), "{list:?}");
    let listed: Value = serde_json::from_slice(&list.stdout).unwrap();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|flow| flow["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["alpha", "beta", "gamma"]);
    assert_eq!(listed[1]["published"]["seq"], 2);
    assert_eq!(listed[1]["published"]["message"], "beta says goodbye");

    let old = tether(&data, &["flows", "show", "beta", "--version", "1"]);
    assert!(old.status.success(), "{old:?}");
    assert!(
        stdout(&old).ends_with(&flow("beta", "hello")),
        "{}",
        stdout(&old)
    );
    let hash = listed[1]["published"]["version"].as_str().unwrap();
    let current = tether(
        &data,
        &["flows", "show", "beta", "--version", hash, "--json"],
    );
    let current: Value = serde_json::from_slice(&current.stdout).unwrap();
    assert_eq!(current["yaml"], flow("beta", "goodbye"));
    let missing = tether(&data, &["flows", "show", "beta", "--version", "9"]);
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("no version v9 of flow \"beta\""),
        "{missing:?}"
    );

    let disabled = tether(&data, &["flows", "disable", "beta"]);
    assert!(disabled.status.success(), "{disabled:?}");
    let list = tether(&data, &["flows", "list"]);
    let beta_line = stdout(&list)
        .lines()
        .find(|line| line.starts_with("beta "))
        .unwrap()
        .to_owned();
    assert!(beta_line.contains("disabled"), "{beta_line}");
    assert!(tether(&data, &["flows", "enable", "beta"]).status.success());
    let unknown = tether(&data, &["flows", "enable", "nope"]);
    assert!(!unknown.status.success());

    let deleted = tether(&data, &["flows", "delete", "beta"]);
    assert!(deleted.status.success(), "{deleted:?}");
    assert!(
        stdout(&deleted).contains("flow beta deleted"),
        "{deleted:?}"
    );
    let list = tether(&data, &["flows", "list"]);
    assert!(
        !stdout(&list).lines().any(|line| line.starts_with("beta ")),
        "{}",
        stdout(&list)
    );
    let again = tether(&data, &["flows", "delete", "beta"]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("flow \"beta\""),
        "{again:?}"
    );

    let _ = std::fs::remove_dir_all(&root);
}

/// Waits `ms` without blocking a runtime (there is none here; the house rule bans thread sleep).
fn pause(ms: u64) {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(async move { tokio::time::sleep(std::time::Duration::from_millis(ms)).await });
}

#[test]
fn a_running_serve_picks_up_a_flow_applied_by_another_process() {
    let (_sim, base) = crate::cli::start_process(
        &[
            "sim",
            "details-flowers",
            "--listen",
            "127.0.0.1:0",
            "--seed",
            "3",
        ],
        &[],
        "Details Flowers simulator listening on ",
    );
    let root = temp_dir("reload");
    let data = root.join("data");
    let connected = tether(
        &data,
        &[
            "connect",
            "details-flowers",
            "--name",
            "df",
            "--api-key",
            "sim-api-key",
            "--base-url",
            &base,
        ],
    );
    assert!(connected.status.success(), "{connected:?}");
    let data_arg = data.display().to_string();
    let (_server, banner) = crate::cli::start_process(
        &["serve", "--listen", "127.0.0.1:0", "--data-dir", &data_arg],
        &[],
        "Tether serving on ",
    );
    assert!(banner.contains("(0 flows running"), "{banner}");

    let file = root.join("poll.yaml");
    std::fs::write(
        &file,
        "id: df-poll\ntrigger:\n  poll:\n    operation: details_flowers.customer.updated\n    \
         connection: df\n    every: 1s\n    cursor: updated_at\nsteps:\n  - id: seen\n    map:\n      \
         fields:\n        email: \"{{ trigger.email }}\"\n",
    )
    .unwrap();
    let applied = tether(&data, &["flows", "apply", &file.display().to_string()]);
    assert!(applied.status.success(), "{applied:?}");

    // No restart: within a few seconds the server polls with the new flow and runs it.
    let started = std::time::Instant::now();
    loop {
        let runs = tether(&data, &["runs", "--json"]);
        let listed: Value = serde_json::from_slice(&runs.stdout).unwrap_or(Value::Null);
        let done = listed
            .as_array()
            .map(|runs| {
                runs.iter()
                    .filter(|run| run["flow_id"] == "df-poll" && run["status"] == "done")
                    .count()
            })
            .unwrap_or(0);
        if done >= 3 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the running server did not pick up the flow: {}",
            stdout(&runs)
        );
        pause(200);
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_broken_flow_file_is_refused_at_serve_start_and_the_others_run() {
    let root = temp_dir("serve-broken");
    let data = root.join("data");
    let folder = root.join("flows");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("good.yaml"), flow("good", "hello")).unwrap();
    std::fs::write(
        folder.join("broken.yaml"),
        flow("broken", "hello").replace("map:", "mapp:"),
    )
    .unwrap();
    let log = root.join("serve.log");
    let data_arg = data.display().to_string();
    let folder_arg = folder.display().to_string();
    let (_server, banner) = crate::cli::start_process_logging(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            &data_arg,
            "--flows",
            &folder_arg,
        ],
        &[],
        "Tether serving on ",
        std::process::Stdio::from(std::fs::File::create(&log).unwrap()),
    );
    assert!(banner.contains("(1 flows running"), "{banner}");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("1 flow file(s)") && logged.contains("broken.yaml:7:"),
        "{logged}"
    );
    let listed = tether(&data, &["flows", "list", "--json"]);
    let flows: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let ids: Vec<&str> = flows
        .as_array()
        .unwrap()
        .iter()
        .map(|flow| flow["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["good"], "{flows}");
    let _ = std::fs::remove_dir_all(&root);
}
