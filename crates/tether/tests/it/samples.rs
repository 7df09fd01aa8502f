//! `tether preview` and `tether flows test` as processes: a value from a sample on standard
//! input, a problem with its place, a step rendered from a flow file, an action left unwritten.

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

const TETHER: &str = env!("CARGO_BIN_EXE_tether");

/// Runs `tether ARGS…` with `stdin`; answers (success, stdout, stderr).
fn tether(args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(TETHER)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn preview_prints_the_typed_value_or_the_problem_and_its_place() {
    let sample = r#"{"email": " Ada@Example.com ", "tags": ["vip", "florist"]}"#;
    let (ok, out, _) = tether(
        &["preview", "{{ trigger.tags | length }}", "--sample", "@-"],
        sample,
    );
    assert!(ok);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), json!(2));
    let (ok, out, _) = tether(
        &[
            "preview",
            "{{ trigger.email | trim | lower }}",
            "--sample",
            "@-",
        ],
        sample,
    );
    assert!(ok);
    assert_eq!(out.trim(), "\"ada@example.com\"");

    let (ok, _, err) = tether(
        &["preview", "{{ trigger.emial | lower }}", "--sample", "@-"],
        sample,
    );
    assert!(!ok);
    assert!(
        err.contains("expression (line 1, column 4): undefined variable 'trigger.emial'"),
        "{err}"
    );
    let (ok, _, err) = tether(&["preview", "{{ 1 }}", "--sample", "@-"], "{not json");
    assert!(!ok);
    assert!(
        err.contains("the sample in standard input is not JSON"),
        "{err}"
    );
}

const FLOW: &str = r#"
id: ghl-contact-copy
trigger:
  webhook: { app: ghl, events: [ContactCreate], connection: ghl-main }
steps:
  - id: shape
    map:
      fields: { email: "{{ trigger.email | lower }}", name: "{{ full_name(trigger.firstName, trigger.lastName) }}" }
  - id: customer
    action:
      operation: details_flowers.customer.create
      connection: details-flowers-main
      input: { email: "{{ trigger.email | lower }}", full_name: "{{ trigger.firstName }}" }
"#;

#[test]
fn flows_test_renders_a_step_and_leaves_an_action_unwritten() {
    let flow = std::env::temp_dir().join(format!(
        "tether_flows_test_{}_{}.yaml",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::write(&flow, FLOW).unwrap();
    let flow_arg = flow.to_str().unwrap();
    let sample = r#"{"email": "Ada@Example.com", "firstName": "Ada", "lastName": "Lovelace"}"#;

    let (ok, out, err) = tether(
        &[
            "flows", "test", flow_arg, "--step", "shape", "--sample", "@-",
        ],
        sample,
    );
    assert!(ok, "{err}");
    let test: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        test["output"],
        json!({"email": "ada@example.com", "name": "Ada Lovelace"})
    );

    // An action renders, and without --execute --confirm-write writes nothing.
    let (ok, out, err) = tether(
        &[
            "flows", "test", flow_arg, "--step", "customer", "--sample", "@-",
        ],
        sample,
    );
    assert!(ok, "{err}");
    let test: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        test["input"],
        json!({"email": "ada@example.com", "full_name": "Ada"})
    );
    assert_eq!(test["executed"], false);
    assert!(err.contains("--execute --confirm-write"), "{err}");

    // A sample without the field says which field and where.
    let (ok, _, err) = tether(
        &[
            "flows", "test", flow_arg, "--step", "customer", "--sample", "@-",
        ],
        "{}",
    );
    assert!(!ok);
    assert!(
        err.contains(
            "steps[1].action.input.email (line 1, column 4): undefined variable 'trigger.email'"
        ),
        "{err}"
    );

    let (ok, _, err) = tether(&["flows", "test", flow_arg, "--step", "nope"], "");
    assert!(!ok);
    assert!(
        err.contains("no step \"nope\" in flow \"ghl-contact-copy\""),
        "{err}"
    );
    let _ = std::fs::remove_file(&flow);
}
