//! Process-level journeys. Every process listens on loopback only and is killed when dropped.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const TETHER: &str = env!("CARGO_BIN_EXE_tether");

/// A child process killed on drop.
pub(crate) struct Running(pub(crate) Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `tether sim ghl` on a free port and returns it with its base URL (read from its banner).
fn start_sim(extra: &[&str]) -> (Running, String) {
    start_process(
        &["sim", "ghl", "--listen", "127.0.0.1:0", "--pit", "cli-pit"],
        extra,
        "GHL simulator listening on ",
    )
}

/// Starts `tether ARGS…` and waits for the banner line starting with `banner`; answers the URL after it.
pub(crate) fn start_process(args: &[&str], extra: &[&str], banner: &str) -> (Running, String) {
    start_process_logging(args, extra, banner, Stdio::null())
}

/// As [`start_process`], with the process's log (stderr) going to `stderr`.
pub(crate) fn start_process_logging(
    args: &[&str],
    extra: &[&str],
    banner: &str,
    stderr: Stdio,
) -> (Running, String) {
    let mut child = Command::new(TETHER)
        .args(args)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let started = Instant::now();
    let base_url = loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the simulator did not start"
        );
        let line = lines
            .next()
            .expect("the simulator prints a banner")
            .unwrap();
        if let Some(url) = line.strip_prefix(banner) {
            break url.trim().to_owned();
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (Running(child), base_url)
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

const AUTH: &str = "Authorization: Bearer cli-pit";
const VERSION: &str = "Version: 2021-07-28";
const LOCATION: &str = "ve9EPM428h8vShlRW1KT";

#[test]
fn curl_can_list_search_create_update_and_delete_through_the_simulator() {
    let (_sim, base) = start_sim(&["--seed", "1000"]);
    let (status, listed) = curl(&[
        "-H",
        AUTH,
        "-H",
        VERSION,
        &format!("{base}/contacts/?locationId={LOCATION}&limit=5"),
    ]);
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["contacts"].as_array().unwrap().len(), 5);

    let search = format!(r#"{{"locationId":"{LOCATION}","pageLimit":10}}"#);
    let (status, found) = curl(&[
        "-H",
        AUTH,
        "-H",
        VERSION,
        "-H",
        "Content-Type: application/json",
        "-d",
        &search,
        &format!("{base}/contacts/search"),
    ]);
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["total"], 1000);

    let create =
        format!(r#"{{"locationId":"{LOCATION}","firstName":"Curl","email":"curl@example.com"}}"#);
    let (status, created) = curl(&[
        "-H",
        AUTH,
        "-H",
        VERSION,
        "-H",
        "Content-Type: application/json",
        "-d",
        &create,
        &format!("{base}/contacts/"),
    ]);
    assert_eq!(status, 201, "{created}");
    let id = created["contact"]["id"].as_str().unwrap().to_owned();

    let (status, updated) = curl(&[
        "-X",
        "PUT",
        "-H",
        AUTH,
        "-H",
        VERSION,
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"lastName":"Updated"}"#,
        &format!("{base}/contacts/{id}"),
    ]);
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["contact"]["lastName"], "Updated");

    let (status, deleted) = curl(&[
        "-X",
        "DELETE",
        "-H",
        AUTH,
        "-H",
        VERSION,
        &format!("{base}/contacts/{id}"),
    ]);
    assert_eq!(status, 200, "{deleted}");
    let (status, _) = curl(&["-H", AUTH, "-H", VERSION, &format!("{base}/contacts/{id}")]);
    assert_eq!(status, 404);
}

#[test]
fn the_demo_syncs_every_contact_and_a_live_change_then_exits() {
    let data_dir = std::env::temp_dir().join(format!(
        "tether-demo-test-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let output = Command::new(TETHER)
        .args(["demo", "--exit", "--contacts", "40", "--data-dir"])
        .arg(&data_dir)
        .env_remove("TETHER_SECRET_KEY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("initial sync [##############################]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("sign in (one click, once, 15 min) http://127.0.0.1:")
            && stdout.contains("/login?token="),
        "the demo prints a one-time login link: {stdout}"
    );
    let numbers_of = |needle: &str| -> Vec<usize> {
        let line = stdout.lines().find(|line| line.contains(needle)).unwrap();
        line.split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .collect()
    };
    // Every contact with an e-mail became exactly one customer; every task, note and appointment
    // of those contacts one record; none was dead-lettered.
    let contacts = numbers_of("GHL contacts (");
    let (n_contacts, n_without_email, n_customers) = (contacts[0], contacts[1], contacts[2]);
    assert_eq!(n_contacts, 40, "{stdout}");
    assert_eq!(n_customers + n_without_email, n_contacts, "{stdout}");
    let related = numbers_of("GHL tasks, notes and appointments");
    let dead = related[related.len() - 1];
    assert!(
        related[0] > 0,
        "the seed has tasks, notes and appointments: {stdout}"
    );
    assert!(
        related[1] + related[2] + related[3] <= related[0],
        "no record was written twice: {stdout}"
    );
    assert_eq!(dead, 0, "{stdout}");
    // Flickr ⇄ GHL: three Flickr contacts and the studio itself (the photos' owner) became GHL
    // contacts, each photo one note, the album one task.
    assert!(
        stdout.contains(
            "Flickr: 3 contacts and the studio → 4 GHL contacts; 3 photos → 3 GHL notes; 1 album → 1 GHL task"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("live: contact") && stdout.contains("→ Details Flowers customer in"),
        "{stdout}"
    );

    // The runs it made are in the store, readable by `tether runs` (the last ones are the tour's
    // other flows: nothing echoes the live change back, so it is not necessarily among the last).
    let runs = Command::new(TETHER)
        .args(["runs", "--limit", "500", "--data-dir"])
        .arg(&data_dir)
        .output()
        .unwrap();
    let runs = String::from_utf8_lossy(&runs.stdout);
    assert!(
        runs.contains("ghl-contact-to-df-customer")
            && runs.contains("done")
            && runs.contains("upsert"),
        "{runs}"
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}

fn tether(data_dir: &PathBuf, args: &[&str]) -> Output {
    Command::new(TETHER)
        .args(args)
        .env("TETHER_DATA_DIR", data_dir)
        .env_remove("TETHER_SECRET_KEY")
        .output()
        .unwrap()
}

#[test]
fn connect_then_list_then_call_against_a_simulator_process() {
    let (_sim, base) = start_sim(&["--seed", "20"]);
    let data_dir = std::env::temp_dir().join(format!(
        "tether-cli-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));

    let connected = tether(
        &data_dir,
        &[
            "connect",
            "ghl",
            "--name",
            "sim",
            "--client-id",
            "sim-client-id",
            "--client-secret",
            "sim-client-secret",
            "--api-base",
            &base,
            "--sim-approve-location",
            LOCATION,
        ],
    );
    assert!(
        connected.status.success(),
        "{}",
        String::from_utf8_lossy(&connected.stderr)
    );
    assert!(String::from_utf8_lossy(&connected.stdout).contains("through OAuth 2.0"));

    let key_mode = std::fs::metadata(data_dir.join("secret.key")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(key_mode.permissions().mode() & 0o777, 0o600);
    }
    let _ = key_mode;

    let listed = tether(&data_dir, &["connections"]);
    let listed_text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed_text.contains("sim") && listed_text.contains("oauth2") && listed_text.contains("ok"),
        "{listed_text}"
    );

    let called = tether(
        &data_dir,
        &[
            "call",
            "ghl.contact.search",
            "--connection",
            "sim",
            "--input",
            r#"{"pageLimit":3}"#,
        ],
    );
    assert!(
        called.status.success(),
        "{}",
        String::from_utf8_lossy(&called.stderr)
    );
    let output: Value = serde_json::from_slice(&called.stdout).unwrap();
    assert_eq!(output["contacts"].as_array().unwrap().len(), 3, "{output}");

    let bad = tether(
        &data_dir,
        &[
            "call",
            "ghl.contact.get",
            "--connection",
            "sim",
            "--input",
            "{not json",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not JSON"));
    let wrong_field = tether(
        &data_dir,
        &[
            "call",
            "ghl.contact.search",
            "--connection",
            "sim",
            "--input",
            r#"{"pageLimt":3}"#,
        ],
    );
    assert!(!wrong_field.status.success());
    assert!(
        String::from_utf8_lossy(&wrong_field.stderr).contains("pageLimt"),
        "the bad field is named"
    );

    // The database file never holds the tokens in clear.
    let db = std::fs::read(data_dir.join("tether.sqlite")).unwrap();
    assert!(!db.windows(13).any(|window| window == b"refresh_token"));
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[test]
fn flows_validate_accepts_the_shipped_flows_and_names_each_problem_with_its_place() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let shipped: Vec<PathBuf> = std::fs::read_dir(repo.join("flows"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert!(shipped.len() >= 4, "the seed recipes ship as flows");
    let ok = Command::new(TETHER)
        .args(["flows", "validate"])
        .args(&shipped)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    let bad = std::env::temp_dir().join(format!("tether-bad-flow-{}.yaml", std::process::id()));
    std::fs::write(
        &bad,
        "id: broken\ntrigger:\n  webhook: {app: ghl, connection: main, events: [ContactCreat]}\nsteps:\n  - id: a\n    action: {operation: ghl.contact.creat, connection: main, input: {}}\n",
    )
    .unwrap();
    let refused = Command::new(TETHER)
        .args(["flows", "validate"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stdout = String::from_utf8_lossy(&refused.stdout);
    let file = bad.display().to_string();
    assert!(
        stdout.contains(&format!("{file}:3:")) && stdout.contains("ContactCreat"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{file}:6:"))
            && stdout.contains("did you mean \"ghl.contact.create\""),
        "{stdout}"
    );
    assert!(
        String::from_utf8_lossy(&refused.stderr).starts_with("error: 2 problem(s)"),
        "one readable line, no backtrace"
    );
    let _ = std::fs::remove_file(bad);
}

#[test]
fn details_flowers_connects_with_an_api_key_and_its_operations_run() {
    let (_sim, base) = start_process(
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
    let data_dir = std::env::temp_dir().join(format!(
        "tether-cli-df-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let connected = tether(
        &data_dir,
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
    assert!(
        connected.status.success(),
        "{}",
        String::from_utf8_lossy(&connected.stderr)
    );

    let input = r#"{"email":"rosa@example.com","full_name":"Rosa Demo"}"#;
    let created = tether(
        &data_dir,
        &[
            "call",
            "details_flowers.customer.create",
            "--connection",
            "df",
            "--input",
            input,
        ],
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let customer: Value = serde_json::from_slice(&created.stdout).unwrap();
    assert_eq!(customer["email"], "rosa@example.com", "{customer}");

    let found = tether(
        &data_dir,
        &[
            "call",
            "details_flowers.customer.find_by_email",
            "-c",
            "df",
            "-i",
            r#"{"email":"rosa@example.com"}"#,
        ],
    );
    assert!(
        found.status.success(),
        "{}",
        String::from_utf8_lossy(&found.stderr)
    );
    assert!(String::from_utf8_lossy(&found.stdout).contains(customer["id"].as_str().unwrap()));

    let invalid = tether(
        &data_dir,
        &[
            "call",
            "details_flowers.customer.create",
            "-c",
            "df",
            "-i",
            r#"{"email":"not-an-email","full_name":"X"}"#,
        ],
    );
    assert!(!invalid.status.success());
    assert!(
        String::from_utf8_lossy(&invalid.stderr).contains("email"),
        "{}",
        String::from_utf8_lossy(&invalid.stderr)
    );

    let wrong_key_args = [
        "connect",
        "details-flowers",
        "--name",
        "df",
        "--api-key",
        "wrong",
        "--base-url",
        &base,
    ];
    // A key the service refuses is not stored over the working one…
    let wrong_key = tether(&data_dir, &wrong_key_args);
    assert!(!wrong_key.status.success());
    assert!(String::from_utf8_lossy(&wrong_key.stderr).contains("refused the API key"));
    // …unless the test is skipped; then calls fail with the service's refusal.
    let mut skipped = wrong_key_args.to_vec();
    skipped.push("--skip-test");
    let wrong_key = tether(&data_dir, &skipped);
    assert!(wrong_key.status.success());
    let refused = tether(
        &data_dir,
        &["call", "details_flowers.customer.list", "-c", "df"],
    );
    assert!(!refused.status.success());
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[test]
fn serve_loads_the_flows_answers_health_and_refuses_unsigned_webhooks() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data_dir = std::env::temp_dir().join(format!(
        "tether-serve-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let flows = repo.join("flows");
    let data = data_dir.display().to_string();
    let (_server, base) = start_process(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--flows",
            &flows.display().to_string(),
            "--data-dir",
            &data,
        ],
        &[],
        "Tether serving on ",
    );
    let base = base.split_whitespace().next().unwrap().to_owned();
    let (status, _) = curl(&[&format!("{base}/healthz")]);
    assert_eq!(status, 200);
    let (status, refused) = curl(&[
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"type":"ContactCreate","id":"x"}"#,
        &format!("{base}/hooks/ghl"),
    ]);
    assert_eq!(status, 401, "{refused}");
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[test]
fn serve_verifies_x_ghl_signature_with_ghls_key_or_the_given_one_and_logs_refusals_at_warn() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = std::env::temp_dir().join(format!(
        "tether-serve-keys-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let flows = repo.join("flows").display().to_string();
    // A webhook as GHL sends it from 2026-07-01 on: `x-ghl-signature` alone, here made with the
    // simulator's test key.
    let body = format!(
        r#"{{"type":"ContactCreate","id":"c1","webhookId":"wh-{}"}}"#,
        fastrand::u64(..)
    );
    let signature = tether_sim::ghl::webhooks::SigningKeys::builtin()
        .unwrap()
        .sign(body.as_bytes())
        .unwrap()
        .ed25519;
    let post = |base: &str| {
        curl(&[
            "-H",
            "Content-Type: application/json",
            "-H",
            &format!("x-ghl-signature: {signature}"),
            "--data-binary",
            &body,
            &format!("{base}/hooks/ghl"),
        ])
    };
    let serve = |name: &str, extra: &[&str]| {
        let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
        let data = dir.join(name).display().to_string();
        let (running, banner) = start_process_logging(
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--flows",
                &flows,
                "--data-dir",
                &data,
            ],
            extra,
            "Tether serving on ",
            Stdio::from(log),
        );
        (
            running,
            banner.split_whitespace().next().unwrap().to_owned(),
        )
    };

    // By default HighLevel's built-in key checks the header, and the refusal is logged at the
    // default level with its reason, header and event type.
    let (server, base) = serve("default", &[]);
    let (status, refused) = post(&base);
    assert_eq!(status, 401, "{refused}");
    assert_eq!(
        refused["error"]["message"],
        "x-ghl-signature: does not verify over the body"
    );
    drop(server);
    let log = std::fs::read_to_string(dir.join("default.log")).unwrap();
    let line = log
        .lines()
        .find(|line| line.contains("Webhook refused."))
        .unwrap_or_else(|| panic!("no refusal logged in:\n{log}"));
    for part in [
        "WARN",
        "signature_invalid",
        "x-ghl-signature",
        "ContactCreate",
    ] {
        assert!(line.contains(part), "{part:?} not in {line}");
    }

    // The key given on the command line replaces it.
    let key = repo.join("crates/tether-sim/keys/ghl-webhook-ed25519.pub.pem");
    let (_server, base) = serve("given", &["--ghl-ed25519-key", &key.display().to_string()]);
    let (status, stored) = post(&base);
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["duplicate"], false);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn run_executes_one_flow_prints_its_steps_and_fails_with_the_reason() {
    let (_sim, base) = start_process(
        &[
            "sim",
            "details-flowers",
            "--listen",
            "127.0.0.1:0",
            "--seed",
            "2",
        ],
        &[],
        "Details Flowers simulator listening on ",
    );
    let data_dir = std::env::temp_dir().join(format!(
        "tether-cli-run-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let flows = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../flows")
        .display()
        .to_string();
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
    assert!(
        connected.status.success(),
        "{}",
        String::from_utf8_lossy(&connected.stderr)
    );
    let run = |event: &str, extra: &[&str]| {
        let mut args = vec![
            "run",
            "ghl-contact-to-df-customer",
            "--flows",
            &flows,
            "--event",
            event,
        ];
        args.extend_from_slice(extra);
        let output = tether(&data_dir, &args);
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };

    // A dry run prints what the action would send and sends nothing.
    let cy = r#"{"id":"c9","email":"Cy@Example.com","firstName":"Cy"}"#;
    let (ok, stdout, stderr) = run(cy, &["--dry-run"]);
    assert!(ok, "{stdout}{stderr}");
    assert!(
        stdout.contains("would call details_flowers.customer.create on details-flowers-main")
            && stdout.contains(r#""email": "cy@example.com""#),
        "{stdout}"
    );
    let found = tether(
        &data_dir,
        &[
            "call",
            "details_flowers.customer.find_by_email",
            "-c",
            "details-flowers-main",
            "-i",
            r#"{"email":"cy@example.com"}"#,
        ],
    );
    let found: Value = serde_json::from_slice(&found.stdout).unwrap();
    assert_eq!(found["items"], serde_json::json!([]), "{found}");

    // A real run creates the customer and prints each step with the id it wrote.
    let (ok, stdout, stderr) = run(cy, &[]);
    assert!(ok, "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].contains("ghl-contact-to-df-customer") && lines[0].contains(" done "),
        "{stdout}"
    );
    let steps: Vec<Vec<&str>> = lines[1..]
        .iter()
        .map(|line| line.split_whitespace().take(4).collect())
        .collect();
    assert_eq!(
        steps,
        [
            ["has_email", "attempt", "1", "ok"],
            ["customer", "attempt", "1", "ok"],
            ["upsert", "attempt", "1", "ok"]
        ],
        "{stdout}"
    );
    assert!(lines[3].contains("id cus_"), "{stdout}");
    // The customer is linked to the GHL contact as a webhook would link it (app `ghl`), so a
    // later webhook or reconciliation of contact c9 updates this customer.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let link = runtime.block_on(async {
        let store = tether_store::Store::open_sqlite(
            &data_dir.join("tether.sqlite"),
            tether_store::Vault::load(&data_dir.join("secret.key")).unwrap(),
        )
        .await
        .unwrap();
        let link = store
            .get_link("ghl-contact-to-df-customer/upsert", "ghl", "contact", "c9")
            .await
            .unwrap();
        store.close().await;
        link
    });
    let link = link.expect("the run linked contact c9 under app ghl");
    assert!(
        link.target_id.starts_with("cus_") && lines[3].contains(&link.target_id),
        "{link:?}\n{stdout}"
    );

    // A record the app refuses: the run is dead-lettered and the exit code says so, with why.
    let (ok, stdout, stderr) = run(r#"{"id":"c10","email":"not-an-email"}"#, &[]);
    assert!(!ok, "{stdout}{stderr}");
    assert!(stdout.contains(" dead "), "{stdout}");
    assert!(
        stderr.contains("failed at step `upsert`") && stderr.contains("email"),
        "{stderr}"
    );

    // A schedule flow runs with a tick due now as its event.
    let schedule_dir = data_dir.join("schedule-flows");
    std::fs::create_dir_all(&schedule_dir).unwrap();
    std::fs::write(
        schedule_dir.join("nightly.yaml"),
        "id: nightly\ntrigger:\n  schedule: { cron: \"@daily\" }\nsteps:\n  - id: stamp\n    \
         map:\n      fields:\n        at: \"{{ trigger.scheduled_at }}\"\n",
    )
    .unwrap();
    let ticked = tether(
        &data_dir,
        &[
            "run",
            "nightly",
            "--flows",
            &schedule_dir.display().to_string(),
        ],
    );
    let stdout = String::from_utf8_lossy(&ticked.stdout);
    assert!(
        ticked.status.success() && stdout.contains(" done ") && stdout.contains("stamp"),
        "{stdout}{}",
        String::from_utf8_lossy(&ticked.stderr)
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[test]
fn flickr_connects_with_oauth1_and_its_operations_run() {
    let (_sim, base) = start_process(
        &[
            "sim",
            "flickr",
            "--listen",
            "127.0.0.1:0",
            "--seed-users",
            "0",
        ],
        &[],
        "Flickr simulator listening on ",
    );
    let (status, user) = curl(&[
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"username":"cli","realname":"Cli Person","email":"cli@example.com"}"#,
        &format!("{base}/__sim/users"),
    ]);
    assert_eq!(status, 200, "{user}");
    let nsid = user["nsid"].as_str().unwrap().to_owned();
    let data_dir = std::env::temp_dir().join(format!(
        "tether-cli-flickr-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let connected = tether(
        &data_dir,
        &[
            "connect",
            "flickr",
            "--name",
            "fl",
            "--consumer-key",
            "sim-flickr-key",
            "--consumer-secret",
            "sim-flickr-secret",
            "--base-url",
            &base,
            "--sim-approve-as",
            &nsid,
        ],
    );
    assert!(
        connected.status.success(),
        "{}",
        String::from_utf8_lossy(&connected.stderr)
    );
    let said = String::from_utf8_lossy(&connected.stdout);
    assert!(
        said.contains("through OAuth 1.0a") && said.contains(&nsid) && said.contains("write"),
        "{said}"
    );

    let listed = tether(&data_dir, &["connections"]);
    let listed_text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed_text.contains("fl") && listed_text.contains("oauth1"),
        "{listed_text}"
    );

    let called = tether(&data_dir, &["call", "flickr.test.login", "-c", "fl"]);
    assert!(
        called.status.success(),
        "{}",
        String::from_utf8_lossy(&called.stderr)
    );
    let me: Value = serde_json::from_slice(&called.stdout).unwrap();
    assert_eq!(me["id"], nsid.as_str(), "{me}");

    let found = tether(
        &data_dir,
        &[
            "call",
            "flickr.people.find_by_email",
            "-c",
            "fl",
            "-i",
            r#"{"email":"cli@example.com"}"#,
        ],
    );
    assert!(
        found.status.success(),
        "{}",
        String::from_utf8_lossy(&found.stderr)
    );
    assert!(String::from_utf8_lossy(&found.stdout).contains(&nsid));

    let wrong_field = tether(
        &data_dir,
        &[
            "call",
            "flickr.photo.get_info",
            "-c",
            "fl",
            "-i",
            r#"{"photoid":"1"}"#,
        ],
    );
    assert!(!wrong_field.status.success());
    assert!(
        String::from_utf8_lossy(&wrong_field.stderr).contains("photoid"),
        "the bad field is named"
    );

    // The consumer secret is stored sealed, never in clear.
    let db = std::fs::read(data_dir.join("tether.sqlite")).unwrap();
    assert!(!db.windows(17).any(|window| window == b"sim-flickr-secret"));
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[test]
fn flows_validate_reports_every_problem_of_every_file_in_a_folder() {
    let folder = std::env::temp_dir().join(format!(
        "tether-cli-flows-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let flows = folder.join("flows");
    std::fs::create_dir_all(&flows).unwrap();
    let files = [
        (
            "a-filter.yaml",
            "id: a-filter\ntrigger:\n  webhook: { app: ghl, events: [ContactCreate], connection: ghl-main }\nsteps:\n  - id: m\n    map: { fields: { email: \"{{ trigger.email | trimm }}\" } }\n",
        ),
        (
            "b-no-id.yaml",
            "trigger:\n  webhook: { app: details_flowers, events: [customer.created], connection: df }\nsteps: []\n",
        ),
        (
            "c-fields.yml",
            "id: c-fields\ntrigger:\n  poll: { operation: details_flowers.customer.new, connection: df, every: 5m }\nsteps:\n  - id: task\n    action:\n      operation: ghl.task.create\n      connection: ghl-mian\n      input: { contactId: \"{{ trigger.ghl_contact_id }}\", title: \"{{ trigger.emial }}\", dueDate: \"{{ now }}\", completed: \"yes\" }\n",
        ),
        (
            "d-action-poll.yaml",
            "id: d-action-poll\ntrigger:\n  poll: { operation: ghl.contact.create, connection: df, every: 5m }\nsteps: []\n",
        ),
        (
            "e-good.yaml",
            "id: e-good\ntrigger:\n  schedule: { cron: \"@daily\" }\nsteps: []\n",
        ),
        ("notes.txt", "not a flow"),
    ];
    for (name, text) in files {
        std::fs::write(flows.join(name), text).unwrap();
    }
    let data_dir = folder.join("data");
    let validate = || tether(&data_dir, &["flows", "validate", flows.to_str().unwrap()]);

    // No data folder: every problem of every file, connections not checked, no folder made.
    let refused = validate();
    let stdout = String::from_utf8_lossy(&refused.stdout);
    assert!(!refused.status.success(), "{stdout}");
    let at = |name: &str, rest: &str| format!("{}:{rest}", flows.join(name).display());
    for expected in [
        at(
            "a-filter.yaml",
            "6:29: steps[0].map.fields.email: unknown filter `trimm` (did you mean `trim`?)",
        ),
        at("b-no-id.yaml", "1:1: id: a flow needs an `id`"),
        at(
            "b-no-id.yaml",
            "2:19: trigger.webhook.app: app `details_flowers` has no webhook intake; use a poll trigger (details_flowers.customer.new,",
        ),
        at(
            "c-fields.yml",
            "9:66: steps[0].action.input.title: `trigger.emial`: details_flowers.customer.new records have no field `emial` (did you mean `email`?)",
        ),
        at(
            "c-fields.yml",
            "9:122: steps[0].action.input.completed: ghl.task.create input \"completed\": \"yes\" is not of type \"boolean\"",
        ),
        at(
            "d-action-poll.yaml",
            "3:22: trigger.poll.operation: ghl.contact.create is an action, not a trigger; triggers of ghl.contact: ghl.contact.new, ghl.contact.updated",
        ),
        at("e-good.yaml", " ok"),
        "note: connections were not checked".to_owned(),
    ] {
        assert!(
            stdout.contains(&expected),
            "missing {expected:?} in\n{stdout}"
        );
    }
    assert!(!stdout.contains("notes.txt"), "{stdout}");
    assert!(!stdout.contains("ghl-mian"), "{stdout}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).starts_with("error: 6 problem(s) in 5 file(s)"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(!data_dir.exists(), "a read command made the data folder");

    // With a data folder, connection names and apps are checked too.
    let (_sim, base) = start_process(
        &["sim", "details-flowers", "--listen", "127.0.0.1:0"],
        &[],
        "Details Flowers simulator listening on ",
    );
    let connected = tether(
        &data_dir,
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
    assert!(
        connected.status.success(),
        "{}",
        String::from_utf8_lossy(&connected.stderr)
    );
    let checked = validate();
    let stdout = String::from_utf8_lossy(&checked.stdout);
    assert!(!checked.status.success(), "{stdout}");
    for expected in [
        at(
            "a-filter.yaml",
            "3:61: trigger.webhook.connection: connection `ghl-main` does not exist",
        ),
        at(
            "c-fields.yml",
            "8:19: steps[0].action.connection: connection `ghl-mian` does not exist",
        ),
        at(
            "d-action-poll.yaml",
            "3:54: trigger.poll.connection: connection `df` is a details_flowers connection, but ghl.contact.create is a GHL operation",
        ),
    ] {
        assert!(
            stdout.contains(&expected),
            "missing {expected:?} in\n{stdout}"
        );
    }
    assert!(!stdout.contains("not checked"), "{stdout}");
    let _ = std::fs::remove_dir_all(&folder);
}
