//! Flow files: loading, every problem with its line and column, the shipped flows, versions.

use std::path::{Path, PathBuf};

use tether_core::catalog::OperationMeta;
use tether_engine::flow::{
    KnownConnection, Problem, StepKind, TriggerSpec, WritePolicy, load_flow, validate_flow_file,
    validate_flow_file_with,
};

fn catalog() -> Vec<OperationMeta> {
    tether_connectors::catalog()
}

/// Writes `text` as a flow file in a fresh temporary folder and returns its path.
fn write(name: &str, text: &str) -> PathBuf {
    let folder =
        std::env::temp_dir().join(format!("tether-engine-flow-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let path = folder.join(format!("{name}.yaml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn problems(name: &str, text: &str) -> Vec<String> {
    let path = write(name, text);
    validate_flow_file(&path, &catalog())
        .iter()
        .map(|problem| {
            problem
                .to_string()
                .replacen(&format!("{}:", path.display()), "", 1)
        })
        .collect()
}

const GOOD: &str = r#"
id: good
trigger:
  webhook: { app: ghl, events: [ContactCreate], connection: ghl-main }
steps:
  - id: contact
    lookup:
      operation: ghl.contact.get
      connection: ghl-main
      input: { contactId: "{{ trigger.id }}" }
  - id: upsert
    action:
      operation: details_flowers.customer.create
      connection: df
      input:
        email: "{{ steps.contact.output.email | lower }}"
        full_name: "{{ steps.contact.output.firstName }}"
      match: { field: email, value: "{{ trigger.email }}" }
      on_error: dlq
"#;

#[test]
fn a_good_flow_loads_into_the_model() {
    let flow = load_flow(&write("good", GOOD)).unwrap();
    assert_eq!(flow.id, "good");
    assert_eq!(flow.name, "good");
    assert_eq!(flow.version.len(), 16);
    assert!(
        matches!(&flow.trigger, TriggerSpec::Webhook { app, events, .. }
        if app == "ghl" && events == &["ContactCreate"])
    );
    assert_eq!(flow.steps.len(), 2);
    let StepKind::Action {
        operation,
        match_on,
        ..
    } = &flow.steps[1].kind
    else {
        panic!("an action: {:?}", flow.steps[1]);
    };
    assert_eq!(operation, "details_flowers.customer.create");
    assert_eq!(match_on.as_ref().unwrap().field, "email");
    assert!(problems("good2", GOOD).is_empty());
}

#[test]
fn a_yaml_syntax_error_has_its_line_and_column() {
    let found = problems(
        "syntax",
        "id: broken\ntrigger:\n  schedule:\n    cron: \"@daily\"\nsteps:\n  - id: a\n    map:\n      fields: [1, 2\n  - id: b\n",
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0],
        "9:7: invalid YAML: illegal placement of ':' indicator"
    );
    let unquoted = problems(
        "unquoted",
        "id: x\ntrigger:\n  schedule: { cron: \"@daily\" }\nsteps:\n  - id: a\n    map:\n      fields:\n        email: {{ trigger.email }}\n",
    );
    assert_eq!(unquoted.len(), 1, "{unquoted:?}");
    assert!(unquoted[0].starts_with("8:"), "{}", unquoted[0]);
    assert!(unquoted[0].contains("must be quoted"), "{}", unquoted[0]);
}

#[test]
fn every_problem_is_reported_in_one_run() {
    let text = r#"id: many
trigger:
  poll:
    operation: ghl.contact.list
    connection: ghl-main
    every: 5 minutes
    cursr: dateUpdated
steps:
  - id: first
    action:
      operation: ghl.contact.creat
      connection: ghl-main
      input: {}
  - id: first
    map:
      fields:
        email: "{{ trigger.emial | lower }"
        later: "{{ steps.last.output.id }}"
        other: "{{ steps.nowhere.output }}"
        typo: "{{ triger.email }}"
  - id: last
    action:
      operation: ghl.contact.upsert
      connection: ghl-main
      input:
        emial: "{{ trigger.email }}"
      on_error: later
  - id: when
    filter:
      when: "{{ true }}"
    map: { fields: {} }
"#;
    let found = problems("many", text);
    let expected = [
        "4:16: trigger.poll.operation: ghl.contact.list is an action, not a trigger; triggers of ghl.contact: ghl.contact.new, ghl.contact.updated",
        r#"6:12: trigger.poll.every: invalid duration "5 minutes" (expected e.g. "30s", "5m", "1h30m")"#,
        r#"7:5: trigger.poll.cursr: unknown field "cursr" (did you mean "cursor"?)"#,
        r#"11:18: steps[0].action.operation: unknown operation "ghl.contact.creat" (did you mean "ghl.contact.create"?)"#,
        r#"14:9: steps[1].id: duplicate step id "first" (already used by steps[0])"#,
        "17:16: steps[1].map.fields.email: syntax error: unexpected `}`, expected end of variable block",
        "18:16: steps[1].map.fields.later: 'steps.last.output.id' refers to step 'last', which has not run yet at this point (steps[2])",
        "19:16: steps[1].map.fields.other: 'steps.nowhere.output' refers to unknown step 'nowhere'",
        "20:15: steps[1].map.fields.typo: unknown variable 'triger.email' (did you mean 'trigger'?)",
        r#"26:9: steps[2].action.input.emial: ghl.contact.upsert takes no input "emial" (did you mean "email"?)"#,
        r#"27:17: steps[2].action.on_error: unknown on_error "later" (expected retry or dlq)"#,
        "31:5: steps[3].map: a step has exactly one of: filter, map, action, lookup",
    ];
    assert_eq!(found, expected, "\n{}", found.join("\n"));
}

#[test]
fn bad_cron_and_unknown_events_are_reported() {
    let found = problems(
        "cron",
        "id: cron\ntrigger:\n  schedule:\n    cron: \"61 * * * *\"\nsteps: []\n",
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("4:11: trigger.schedule.cron: invalid cron"),
        "{}",
        found[0]
    );
    let found = problems(
        "events",
        "id: events\ntrigger:\n  webhook: { app: ghl, events: [ContactCreated], connection: c }\nsteps: []\n",
    );
    assert_eq!(
        found,
        [
            r#"3:33: trigger.webhook.events[0]: unknown GHL event "ContactCreated" (did you mean "ContactCreate"?)"#
        ]
    );
}

#[test]
fn write_policies_load_and_their_mistakes_are_reported_where_they_are() {
    let text = r#"
id: policies
trigger:
  webhook: { app: ghl, events: [ContactCreate], connection: ghl-main }
steps:
  - id: upsert
    action:
      operation: details_flowers.customer.create
      connection: df
      input:
        email: "{{ trigger.email }}"
        full_name: "{{ trigger.firstName }}"
        phone: "{{ trigger.phone }}"
      write:
        full_name: if_empty
        phone: never
"#;
    let flow = load_flow(&write("policies", text)).unwrap();
    let StepKind::Action { write, .. } = &flow.steps[0].kind else {
        panic!("an action: {:?}", flow.steps[0]);
    };
    assert_eq!(
        write
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect::<Vec<_>>(),
        [
            ("full_name", WritePolicy::IfEmpty),
            ("phone", WritePolicy::Never)
        ]
    );
    let bad = text
        .replace("phone: never", "phone: sometimes")
        .replace("full_name: if_empty", "fullname: if_empty");
    assert_eq!(
        problems("policies-bad", &bad),
        [
            r#"15:9: steps[0].action.write.fullname: "fullname" is not a field of this action's input, so its write policy would do nothing"#,
            r#"16:16: steps[0].action.write.phone: unknown write policy "sometimes" (expected always, if_empty or never)"#,
        ]
    );
}

#[test]
fn a_missing_file_is_one_problem() {
    let problems = validate_flow_file(Path::new("/nonexistent/flow.yaml"), &catalog());
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0]
            .to_string()
            .starts_with("/nonexistent/flow.yaml: cannot read the file")
    );
}

#[test]
fn the_shipped_flows_validate() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../flows");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "yaml")
        })
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    let all: Vec<Problem> = files
        .iter()
        .flat_map(|file| validate_flow_file(file, &catalog()))
        .collect();
    let described: Vec<String> = all.iter().map(ToString::to_string).collect();
    assert!(described.is_empty(), "\n{}", described.join("\n"));
}

#[test]
fn the_version_follows_meaning_not_formatting() {
    let original = load_flow(&write("version-a", GOOD)).unwrap();
    let reformatted = GOOD
        .replace(
            "  - id: upsert",
            "  # Writes the customer.\n  - id:   upsert   ",
        )
        .replace(
            "input: { contactId: \"{{ trigger.id }}\" }",
            "input:\n        contactId: '{{ trigger.id }}'",
        );
    let same = load_flow(&write("version-b", &reformatted)).unwrap();
    assert_eq!(same.version, original.version);
    let changed = load_flow(&write("version-c", &GOOD.replace("| lower", "| upper"))).unwrap();
    assert_ne!(changed.version, original.version);
}

#[test]
fn unknown_filters_and_functions_are_reported_with_the_nearest_name() {
    let text = r#"id: calls
trigger:
  webhook: { app: ghl, events: [ContactCreate], connection: ghl-main }
steps:
  - id: shape
    map:
      fields:
        email: "{{ trigger.email | trimm }}"
        name: "{{ fullname(trigger.firstName, trigger.lastName) }}"
        known: "{{ full_name(trigger.firstName) | lower | e164 if trigger.phone is defined else '' }}"
        test: "{{ trigger.tags is sequense }}"
        text: "Hello {{ trigger.firstName | capitalise }} | not a filter(here)"
        sliced: "{{ (steps.nowhere.output.name | split(' '))[1:] }}"
"#;
    let found = problems("calls", text);
    let expected = [
        "8:16: steps[0].map.fields.email: unknown filter `trimm` (did you mean `trim`?)",
        "9:15: steps[0].map.fields.name: unknown function `fullname` (did you mean `full_name`?)",
        "11:15: steps[0].map.fields.test: unknown test `sequense` (did you mean `sequence`?)",
        "12:15: steps[0].map.fields.text: unknown filter `capitalise` (did you mean `capitalize`?)",
        "13:17: steps[0].map.fields.sliced: 'steps.nowhere.output.name' refers to unknown step 'nowhere'",
    ];
    assert_eq!(found, expected, "\n{}", found.join("\n"));
}

#[test]
fn a_misspelt_trigger_field_is_reported_against_the_trigger_schema() {
    // A poll trigger's records are the operation's output items.
    let poll = r#"id: fields
trigger:
  poll: { operation: details_flowers.customer.new, connection: df, every: 5m }
steps:
  - id: shape
    map:
      fields:
        email: "{{ trigger.emial }}"
        fallback: "{{ trigger.fulname | default('') }}"
        sliced: "{{ (trigger.ful_name | split(' '))[1:] | join(' ') }}"
        fine: "{{ trigger.full_name }} <{{ trigger.email }}>"
"#;
    let found = problems("fields-poll", poll);
    let expected = [
        "8:16: steps[0].map.fields.email: `trigger.emial`: details_flowers.customer.new records have no field `emial` (did you mean `email`?)",
        "9:19: steps[0].map.fields.fallback: `trigger.fulname`: details_flowers.customer.new records have no field `fulname` (did you mean `full_name`?)",
        "10:17: steps[0].map.fields.sliced: `trigger.ful_name`: details_flowers.customer.new records have no field `ful_name` (did you mean `full_name`?)",
    ];
    assert_eq!(found, expected, "\n{}", found.join("\n"));

    // A GHL webhook's payload is the event's shape; with several events, any one's fields.
    let webhook = r#"id: fields-hook
trigger:
  webhook: { app: ghl, events: [NoteCreate, AppointmentCreate], connection: ghl-main }
steps:
  - id: shape
    map:
      fields:
        contact: "{{ trigger.contactId or trigger.appointment.contactId }}"
        when: "{{ trigger.timestamp }} {{ trigger.webhookId }}"
        typo: "{{ trigger.bdy }}"
"#;
    assert_eq!(
        problems("fields-hook", webhook),
        [
            "10:15: steps[0].map.fields.typo: `trigger.bdy`: GHL NoteCreate and AppointmentCreate events have no field `bdy` (did you mean `body`?)"
        ]
    );

    // Open records (GHL's polled records carry every API field; Flickr's are untyped) and
    // resources are not checked.
    for (name, trigger) in [
        (
            "open-ghl",
            "poll: { operation: ghl.contact.updated, connection: ghl-main, every: 5m }",
        ),
        (
            "open-flickr",
            "poll: { operation: flickr.photo.new, connection: flickr-main, every: 5m }",
        ),
        ("open-schedule", "schedule: { cron: \"@daily\" }"),
    ] {
        let text = format!(
            "id: {name}\ntrigger:\n  {trigger}\nsteps:\n  - id: shape\n    map: {{ fields: {{ email: \"{{{{ trigger.anything }}}}\" }} }}\n"
        );
        assert_eq!(problems(name, &text), Vec::<String>::new(), "{name}");
    }
}

#[test]
fn a_literal_of_the_wrong_type_for_an_input_is_reported() {
    let text = r#"id: literals
trigger:
  webhook: { app: ghl, events: [ContactCreate], connection: ghl-main }
steps:
  - id: task
    action:
      operation: ghl.task.create
      connection: ghl-main
      input:
        contactId: "{{ trigger.id }}"
        title: 42
        dueDate: "{{ now }}"
        completed: "yes"
  - id: fine
    action:
      operation: ghl.task.create
      connection: ghl-main
      input:
        contactId: "{{ trigger.id }}"
        title: Call back
        dueDate: "{{ now }}"
        completed: "{{ trigger.dnd }}"
"#;
    let found = problems("literals", text);
    let expected = [
        r#"11:16: steps[0].action.input.title: ghl.task.create input "title": 42 is not of type "string""#,
        r#"13:20: steps[0].action.input.completed: ghl.task.create input "completed": "yes" is not of type "boolean""#,
    ];
    assert_eq!(found, expected, "\n{}", found.join("\n"));
}

#[test]
fn connections_are_checked_against_the_stored_ones_when_given() {
    let text = r#"id: conns
trigger:
  webhook: { app: ghl, events: [ContactCreate], connection: ghl-mian }
steps:
  - id: contact
    lookup:
      operation: ghl.contact.get
      connection: df
      input: { contactId: "{{ trigger.id }}" }
  - id: customer
    action:
      operation: details_flowers.customer.create
      connection: df
      input: { email: "{{ trigger.email }}", full_name: "{{ trigger.name }}" }
"#;
    let path = write("conns", text);
    let connections = [
        KnownConnection {
            name: "ghl-main".into(),
            app: "ghl".into(),
        },
        KnownConnection {
            name: "df".into(),
            app: "details_flowers".into(),
        },
    ];
    let found: Vec<String> = validate_flow_file_with(&path, &catalog(), Some(&connections))
        .iter()
        .map(|problem| {
            problem
                .to_string()
                .replacen(&format!("{}:", path.display()), "", 1)
        })
        .collect();
    let expected = [
        "3:61: trigger.webhook.connection: connection `ghl-mian` does not exist (did you mean `ghl-main`?)",
        "8:19: steps[0].lookup.connection: connection `df` is a details_flowers connection, but ghl.contact.get is a GHL operation",
    ];
    assert_eq!(found, expected, "\n{}", found.join("\n"));
    // Without the stored connections, names are not checked.
    assert!(problems("conns-unchecked", text).is_empty());
}

#[test]
fn a_webhook_trigger_needs_an_app_with_webhook_intake() {
    let text = "id: df-hook\ntrigger:\n  webhook: { app: details_flowers, events: [customer.created], connection: df }\nsteps: []\n";
    let found = problems("df-hook", text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with(
            "3:19: trigger.webhook.app: app `details_flowers` has no webhook intake; use a poll trigger (details_flowers.customer.new, "
        ),
        "{}",
        found[0]
    );
}

#[test]
fn an_action_is_no_poll_trigger() {
    let text = "id: action-poll\ntrigger:\n  poll: { operation: ghl.contact.create, connection: ghl-main, every: 5m }\nsteps: []\n";
    assert_eq!(
        problems("action-poll", text),
        [
            "3:22: trigger.poll.operation: ghl.contact.create is an action, not a trigger; triggers of ghl.contact: ghl.contact.new, ghl.contact.updated"
        ]
    );
}

#[test]
fn a_flow_needs_an_id() {
    let text = "trigger:\n  schedule: { cron: \"@daily\" }\nsteps: []\n";
    assert_eq!(problems("no-id", text), ["1:1: id: a flow needs an `id`"]);
}
