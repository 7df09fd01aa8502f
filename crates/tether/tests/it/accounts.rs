//! Accounts from the command line against a running `tether serve`: the setup URL printed on
//! first start, `tether token create` whose token then opens the API (and `revoke` closes it),
//! and `tether admin reset-password`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cli::Running;

const TETHER: &str = env!("CARGO_BIN_EXE_tether");

/// `tether serve` on a free port over `data_dir`; answers it, its base URL, and every line it
/// printed up to the setup URL (or the line after the banner when there is none).
fn serve(data_dir: &Path) -> (Running, String, Vec<String>) {
    let flows = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../flows");
    let mut child = Command::new(TETHER)
        .args(["serve", "--listen", "127.0.0.1:0", "--flows"])
        .arg(&flows)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("TETHER_SECRET_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = Instant::now();
    let mut printed = Vec::new();
    // The banner, then where it listens, then the setup URL or a word on signing in.
    while !printed
        .last()
        .is_some_and(|line: &String| line.contains("setup: ") || line.contains("accounts: "))
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "serve did not start: {printed:?}"
        );
        printed.push(lines.next().expect("serve prints its banner").unwrap());
    }
    let base = printed
        .iter()
        .find_map(|line| line.strip_prefix("Tether serving on "))
        .map(|rest| rest.split_whitespace().next().unwrap().to_owned())
        .unwrap();
    std::thread::spawn(move || for _ in lines {});
    (Running(child), base, printed)
}

fn tether(data_dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(TETHER)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("TETHER_SECRET_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
    }
    child.wait_with_output().unwrap()
}

fn curl(args: &[&str]) -> (u16, Value) {
    let output = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    let (body, status) = text.rsplit_once('\n').unwrap();
    (
        status.trim().parse().unwrap(),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

fn post_json(url: &str, body: &Value) -> (u16, Value) {
    curl(&[
        "-H",
        "Content-Type: application/json",
        "-d",
        &body.to_string(),
        url,
    ])
}

#[test]
fn serve_prints_a_setup_url_then_cli_tokens_open_the_api_until_revoked_and_passwords_reset() {
    let data_dir = std::env::temp_dir().join(format!(
        "tether-accounts-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let (server, base, printed) = serve(&data_dir);
    let text = printed.join("\n");
    assert!(text.contains("listening on 127.0.0.1 only"), "{text}");
    let setup_url = printed
        .iter()
        .find_map(|line| line.trim().strip_prefix("setup: "))
        .unwrap_or_else(|| panic!("no setup URL in {text}"))
        .to_owned();
    assert!(
        setup_url.starts_with(&format!("{base}/setup?token=")),
        "{setup_url} vs {base}"
    );
    let token = setup_url.split("token=").nth(1).unwrap();

    // Nothing works without credentials; `token create` needs an owner first.
    let (status, _) = curl(&[&format!("{base}/api/v1/auth/me")]);
    assert_eq!(status, 401);
    let refused = tether(&data_dir, &["token", "create", "early"], None);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("no owner exists yet"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let (status, body) = post_json(
        &format!("{base}/api/v1/auth/setup"),
        &json!({"token": token, "email": "ada@example.com", "password": "the first password"}),
    );
    assert_eq!(status, 201, "{body}");

    // `tether token create` prints the token once; it opens the API.
    let created = tether(&data_dir, &["token", "create", "ci"], None);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let secret = String::from_utf8(created.stdout).unwrap().trim().to_owned();
    assert!(secret.starts_with("tth_"), "{secret}");
    let bearer = format!("Authorization: Bearer {secret}");
    let (status, me) = curl(&["-H", &bearer, &format!("{base}/api/v1/auth/me")]);
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], "ada@example.com");
    assert_eq!(me["authenticatedBy"], "token");

    let listed = tether(&data_dir, &["token", "list", "--json"], None);
    assert!(listed.status.success());
    let listed_text = String::from_utf8(listed.stdout).unwrap();
    assert!(
        !listed_text.contains(&secret),
        "the list never shows the secret"
    );
    let listed: Value = serde_json::from_str(&listed_text).unwrap();
    assert_eq!(listed[0]["name"], "ci");
    assert!(secret.starts_with(listed[0]["prefix"].as_str().unwrap()));
    assert!(listed[0]["lastUsedAt"].is_string(), "{listed}");
    let again = tether(&data_dir, &["token", "create", "ci"], None);
    assert!(!again.status.success(), "a live name is taken");

    let revoked = tether(&data_dir, &["token", "revoke", "ci"], None);
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    let (status, _) = curl(&["-H", &bearer, &format!("{base}/api/v1/auth/me")]);
    assert_eq!(status, 401, "a revoked token opens nothing");

    // `tether admin reset-password`: from standard input; too short is refused by name.
    let login = |password: &str| {
        post_json(
            &format!("{base}/api/v1/auth/login"),
            &json!({"email": "ada@example.com", "password": password}),
        )
        .0
    };
    let short = tether(
        &data_dir,
        &["admin", "reset-password", "ada@example.com"],
        Some("short\n"),
    );
    assert!(!short.status.success());
    assert!(
        String::from_utf8_lossy(&short.stderr).contains("at least 12 characters"),
        "{}",
        String::from_utf8_lossy(&short.stderr)
    );
    let reset = tether(
        &data_dir,
        &["admin", "reset-password", "ada@example.com"],
        Some("the second password\n"),
    );
    assert!(
        reset.status.success(),
        "{}",
        String::from_utf8_lossy(&reset.stderr)
    );
    assert_eq!(login("the first password"), 401);
    assert_eq!(login("the second password"), 200);
    let generated = tether(
        &data_dir,
        &["admin", "reset-password", "ADA@example.com", "--generate"],
        None,
    );
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let password = String::from_utf8(generated.stdout)
        .unwrap()
        .trim()
        .to_owned();
    assert!(password.len() >= 20, "{password}");
    assert_eq!(login("the second password"), 401);
    assert_eq!(login(&password), 200);
    let unknown = tether(
        &data_dir,
        &[
            "admin",
            "reset-password",
            "nobody@example.com",
            "--generate",
        ],
        None,
    );
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("nobody@example.com"));

    drop(server);
    // Once an owner exists, a restart prints no setup URL.
    let (_server, _, printed) = serve(&data_dir);
    assert!(!printed.join("\n").contains("setup: "), "{printed:?}");
    assert!(
        printed.last().unwrap().contains("accounts: "),
        "{printed:?}"
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}
