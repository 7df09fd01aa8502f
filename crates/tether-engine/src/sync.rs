//! Two-way sync without echo and without damage: what changed in a source record, which input
//! fields of an action that change reaches, and what the target holds already.
//!
//! The model (written for users in `docs/sync.md`):
//! - **Origin.** Every link remembers, in its [`SyncState`], the source record's fields as its
//!   flow last read them (`seen`) and the fields Tether last wrote into its target (`written`),
//!   each with the time Tether read or wrote it. A record is "known" through every link that
//!   touches it, whichever flow made the link: links are the id map both directions share.
//! - **Echo.** A change event is compared with what Tether knew of the record: the flow's own
//!   last read, overlaid with whatever any flow wrote into the record since. A field that only
//!   reflects Tether's own write is not a change, so the write that comes back (an echo) changes
//!   nothing and is written nowhere.
//! - **Field ownership.** An action writes only the input fields made from source fields that
//!   changed ([`input_dependencies`]), each under its write policy (`always`, `if_empty`, `never`),
//!   and never a value the target is known to hold already.
//! - **Conflicts.** Per field, the later change wins: a field is written only when its source
//!   changed, and a change older than the version Tether already wrote is skipped as stale.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, LazyLock};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::expr;
use crate::flow::{Step, StepKind};

/// A field's value and when Tether read or wrote it (ms since the epoch, Tether's clock).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Known(pub Value, pub i64);

/// What a link knows of its two records; stored as JSON on the link.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncState {
    /// The source record's top-level fields as the link's flow last read them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub seen: BTreeMap<String, Known>,
    /// The target record's fields as Tether last wrote them through this link.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub written: BTreeMap<String, Known>,
    /// The target record's version (its change time, ms) right after Tether's last write, when
    /// the app answered one: an event carrying this version is that write coming back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_version: Option<i64>,
}

impl SyncState {
    /// The state stored on a link, if any (a link from before two-way sync has none).
    pub fn of(link: &tether_store::Link) -> Option<SyncState> {
        link.sync_state
            .as_ref()
            .and_then(|state| serde_json::from_value(state.clone()).ok())
    }

    /// The state as the link's JSON column.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a SyncState is plain JSON data")
    }

    /// Records `record`'s top-level fields as read at `now`: fields whose value did not change
    /// keep the time they were first read with it.
    pub fn see(&mut self, record: &Value, now: i64) {
        let Value::Object(fields) = record else {
            return;
        };
        let mut seen = BTreeMap::new();
        for (name, value) in fields {
            let at = match self.seen.get(name) {
                Some(Known(old, at)) if old == value => *at,
                _ => now,
            };
            seen.insert(name.clone(), Known(value.clone(), at));
        }
        self.seen = seen;
    }

    /// Records the fields of `input` as written at `now`.
    pub fn wrote(&mut self, input: &Map<String, Value>, now: i64) {
        for (name, value) in input {
            self.written.insert(name.clone(), Known(value.clone(), now));
        }
    }
}

/// Which source fields an event changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// The record was never seen: everything is new.
    All,
    /// These top-level fields differ from what Tether knew (empty: nothing did, the event is
    /// an echo or a repeat).
    Fields(BTreeSet<String>),
}

impl Changed {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        matches!(self, Changed::Fields(fields) if fields.is_empty())
    }
}

/// The fields of `record` (the event's payload) that changed since Tether last knew it.
///
/// `own` is the flow's own link state for this source record; `written_into` are the states of
/// every link (of any flow) that writes this record as its target. The baseline is what the flow
/// last read, overlaid with every later write by Tether; without a read of its own, the flow
/// compares only the fields Tether wrote. When `version` (the event's record version) is not
/// newer than the version a write of Tether's left the record at, the fields of that write are
/// Tether's and never count as changed, even if the app reformatted them.
pub fn changed_fields(
    record: &Value,
    version: Option<i64>,
    own: Option<&SyncState>,
    written_into: &[SyncState],
) -> Changed {
    let own_seen = own.filter(|state| !state.seen.is_empty());
    if own_seen.is_none() && written_into.is_empty() {
        return Changed::All;
    }
    let mut baseline: BTreeMap<&str, &Known> = own_seen
        .map(|state| {
            state
                .seen
                .iter()
                .map(|(name, known)| (name.as_str(), known))
                .collect()
        })
        .unwrap_or_default();
    let mut ours: BTreeSet<&str> = BTreeSet::new();
    for state in written_into {
        let echo = matches!((version, state.target_version), (Some(version), Some(written)) if version <= written);
        for (name, known) in &state.written {
            if echo {
                ours.insert(name);
            }
            match baseline.get(name.as_str()) {
                Some(current) if current.1 >= known.1 => {}
                _ => {
                    baseline.insert(name, known);
                }
            }
        }
    }
    let complete = own_seen.is_some();
    let empty = Map::new();
    let fields = record.as_object().unwrap_or(&empty);
    let mut changed = BTreeSet::new();
    for (name, value) in fields {
        if ours.contains(name.as_str()) {
            continue;
        }
        match baseline.get(name.as_str()) {
            Some(Known(known, _)) if known == value => {}
            Some(_) => {
                changed.insert(name.clone());
            }
            None if complete => {
                changed.insert(name.clone());
            }
            None => {}
        }
    }
    if complete {
        for name in baseline.keys() {
            if !fields.contains_key(*name) && !ours.contains(name) {
                changed.insert((*name).to_owned());
            }
        }
    }
    Changed::Fields(changed)
}

/// What an input field is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deps {
    /// These top-level fields of the trigger's record.
    Fields(BTreeSet<String>),
    /// Something Tether cannot trace to trigger fields (a lookup's answer, the whole trigger):
    /// the field is written whenever anything changed.
    Any,
}

impl Deps {
    fn add(&mut self, other: Deps) {
        match (self, other) {
            (Deps::Any, _) => {}
            (this, Deps::Any) => *this = Deps::Any,
            (Deps::Fields(mine), Deps::Fields(theirs)) => mine.extend(theirs),
        }
    }

    /// Whether a change of `changed` reaches this field.
    pub fn touched_by(&self, changed: &Changed) -> bool {
        match (self, changed) {
            (_, Changed::All) => true,
            (Deps::Any, Changed::Fields(fields)) => !fields.is_empty(),
            (Deps::Fields(mine), Changed::Fields(fields)) => !mine.is_disjoint(fields),
        }
    }
}

/// [`input_dependencies`] of the action at `index` of `flow`, worked out once per flow version
/// and step rather than once per run: it compiles every expression of the input and analyses
/// what it reads (3 % of a sync's CPU when done per run).
pub fn flow_input_dependencies(
    flow: &crate::flow::Flow,
    index: usize,
    input: &Value,
) -> Arc<BTreeMap<String, Deps>> {
    type Key = (String, String, usize);
    type Known = HashMap<Key, Arc<BTreeMap<String, Deps>>>;
    /// Dependencies by flow id, version and step; emptied when full (flows changed a great deal).
    static KNOWN: LazyLock<parking_lot::Mutex<Known>> = LazyLock::new(Default::default);
    const MAX_KNOWN: usize = 4096;
    let key = (flow.id.clone(), flow.version.clone(), index);
    if let Some(deps) = KNOWN.lock().get(&key) {
        return deps.clone();
    }
    let deps = Arc::new(input_dependencies(&flow.steps, index, input));
    let mut known = KNOWN.lock();
    if known.len() >= MAX_KNOWN {
        known.clear();
    }
    known.insert(key, deps.clone());
    deps
}

/// For each top-level field of the action's `input` (the step at `index` of `steps`), the trigger
/// fields it is made from, followed through earlier map steps (`steps.customer.output.email` is
/// what the map step `customer` made its `email` from). `flow.*` and `now` are constants of a run
/// and count as nothing.
pub fn input_dependencies(steps: &[Step], index: usize, input: &Value) -> BTreeMap<String, Deps> {
    let Value::Object(fields) = input else {
        return BTreeMap::new();
    };
    fields
        .iter()
        .map(|(name, template)| (name.clone(), value_deps(steps, index, template)))
        .collect()
}

fn value_deps(steps: &[Step], index: usize, template: &Value) -> Deps {
    let mut deps = Deps::Fields(BTreeSet::new());
    match template {
        Value::String(text) => match expr::compile(text) {
            Ok(mut paths) => {
                // minijinja's analysis loses variables under a slice (`(a | split)[1:]`); the
                // dotted paths written in the text are added, so none is missed.
                paths.extend(expr::written_paths(text));
                for path in paths {
                    deps.add(path_deps(steps, index, &path));
                }
            }
            Err(_) => deps = Deps::Any,
        },
        Value::Array(items) => {
            for item in items {
                deps.add(value_deps(steps, index, item));
            }
        }
        Value::Object(entries) => {
            for item in entries.values() {
                deps.add(value_deps(steps, index, item));
            }
        }
        _ => {}
    }
    deps
}

/// The trigger fields one variable path (`trigger.email`, `steps.customer.output.email`) reads.
fn path_deps(steps: &[Step], index: usize, path: &str) -> Deps {
    let mut segments = path.split('.');
    match segments.next() {
        Some("trigger") => match segments.next() {
            Some(field) => Deps::Fields(BTreeSet::from([field.to_owned()])),
            None => Deps::Any,
        },
        Some("flow" | "now") => Deps::Fields(BTreeSet::new()),
        Some("steps") => {
            let (Some(step_id), Some("output")) = (segments.next(), segments.next()) else {
                return Deps::Any;
            };
            let Some(step) = steps[..index.min(steps.len())]
                .iter()
                .find(|step| step.id == step_id)
            else {
                return Deps::Any;
            };
            let StepKind::Map { fields } = &step.kind else {
                return Deps::Any;
            };
            let earlier = steps
                .iter()
                .position(|candidate| candidate.id == step.id)
                .unwrap_or(0);
            match segments.next() {
                Some(field) => match fields.get(field) {
                    Some(template) => value_deps(steps, earlier, template),
                    None => Deps::Fields(BTreeSet::new()),
                },
                None => {
                    let mut deps = Deps::Fields(BTreeSet::new());
                    for template in fields.values() {
                        deps.add(value_deps(steps, earlier, template));
                    }
                    deps
                }
            }
        }
        _ => Deps::Any,
    }
}

/// What Tether knows a record holds now: the latest of what any flow read of it and what any
/// flow wrote into it, field by field.
pub fn known_fields<'a>(
    read_by: impl IntoIterator<Item = &'a SyncState>,
    written_by: impl IntoIterator<Item = &'a SyncState>,
) -> BTreeMap<String, Known> {
    let mut known: BTreeMap<String, Known> = BTreeMap::new();
    let mut merge = |name: &String, value: &Known| match known.get(name) {
        Some(current) if current.1 >= value.1 => {}
        _ => {
            known.insert(name.clone(), value.clone());
        }
    };
    for state in read_by {
        for (name, value) in &state.seen {
            merge(name, value);
        }
    }
    for state in written_by {
        for (name, value) in &state.written {
            merge(name, value);
        }
    }
    known
}

/// Whether a value counts as empty for the `if_empty` policy: missing, null, `""` or `[]`.
pub fn is_empty(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::String(text)) => text.trim().is_empty(),
        Some(Value::Array(items)) => items.is_empty(),
        Some(_) => false,
    }
}

/// The version (change time, ms) of the record an action answered: `updated_at` or
/// `dateUpdated`, at the top or under `<resource>` (GHL wraps records: `{"contact": {...}}`).
pub fn answered_version(output: &Value, resource: &str) -> Option<i64> {
    ["updated_at", "dateUpdated"].iter().find_map(|field| {
        output
            .get(*field)
            .or_else(|| output.get(resource)?.get(*field))
            .and_then(Value::as_str)
            .and_then(expr::parse_time)
            .map(|time| time.timestamp_millis())
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::flow::parse_flow;

    fn state(seen: Value, written: Value, target_version: Option<i64>) -> SyncState {
        let known =
            |value: Value| -> BTreeMap<String, Known> { serde_json::from_value(value).unwrap() };
        SyncState {
            seen: known(seen),
            written: known(written),
            target_version,
        }
    }

    fn fields(names: &[&str]) -> Changed {
        Changed::Fields(names.iter().map(|name| (*name).to_owned()).collect())
    }

    #[test]
    fn a_record_never_seen_is_all_new() {
        let record = json!({"email": "a@example.com"});
        assert_eq!(changed_fields(&record, None, None, &[]), Changed::All);
    }

    #[test]
    fn the_echo_of_tethers_own_write_changes_nothing() {
        // The forward flow created this customer; the reverse flow reads it for the first time.
        let written = state(
            json!({}),
            json!({"email": ["a@example.com", 10], "full_name": ["Mary Ann Smith", 10]}),
            Some(500),
        );
        let record = json!({"id": "c1", "email": "a@example.com", "full_name": "Mary Ann Smith",
                            "updated_at": "2026-01-01T00:00:00Z", "notes_text": null});
        let changed = changed_fields(&record, Some(500), None, std::slice::from_ref(&written));
        assert!(changed.is_empty(), "{changed:?}");
        // The same without versions: the written values themselves tell.
        assert!(changed_fields(&record, None, None, &[written]).is_empty());
    }

    #[test]
    fn a_persons_edit_after_tethers_write_is_a_change_of_that_field_only() {
        let own = state(
            json!({"email": ["a@example.com", 20], "full_name": ["Mary Ann Smith", 20],
                   "phone": ["+15550001", 20], "updated_at": ["t1", 20]}),
            json!({}),
            None,
        );
        let record = json!({"email": "a@example.com", "full_name": "Mary Ann Smith",
                            "phone": "+15550002", "updated_at": "t2"});
        assert_eq!(
            changed_fields(&record, None, Some(&own), &[]),
            fields(&["phone", "updated_at"])
        );
    }

    #[test]
    fn a_later_write_into_the_record_moves_the_baseline() {
        // The flow read the contact, then another flow wrote its last name: the webhook that
        // reports that write is no change for the flow.
        let own = state(
            json!({"firstName": ["Mary", 20], "lastName": ["Smith", 20]}),
            json!({}),
            None,
        );
        let other = state(json!({}), json!({"lastName": ["Smyth", 30]}), None);
        let record = json!({"firstName": "Mary", "lastName": "Smyth"});
        assert!(changed_fields(&record, None, Some(&own), &[other]).is_empty());
    }

    #[test]
    fn fields_tether_wrote_are_its_own_up_to_the_version_it_left() {
        // The app reformatted the phone Tether wrote; the event is that write (same version).
        let other = state(json!({}), json!({"phone": ["555 0001", 30]}), Some(1_000));
        let own = state(json!({"phone": ["+15550000", 20]}), json!({}), None);
        let record = json!({"phone": "+15550001"});
        assert!(
            changed_fields(
                &record,
                Some(1_000),
                Some(&own),
                std::slice::from_ref(&other)
            )
            .is_empty()
        );
        // A later version of the record is a person's change again.
        assert_eq!(
            changed_fields(&record, Some(2_000), Some(&own), &[other]),
            fields(&["phone"])
        );
    }

    #[test]
    fn a_field_that_disappears_is_a_change_once_the_flow_has_read_the_record() {
        let own = state(json!({"phone": ["+15550001", 20]}), json!({}), None);
        assert_eq!(
            changed_fields(&json!({}), None, Some(&own), &[]),
            fields(&["phone"])
        );
    }

    #[test]
    fn input_fields_follow_map_steps_to_the_trigger_fields_they_read() {
        let flow = parse_flow(
            r#"
id: deps
trigger: { webhook: { app: ghl, events: [ContactCreate], connection: ghl-main } }
steps:
  - id: customer
    map:
      fields:
        email: "{{ trigger.email | lower }}"
        full_name: "{{ full_name(trigger.firstName, trigger.lastName) }}"
  - id: fetch
    lookup: { operation: ghl.contact.get, connection: ghl-main, input: { contactId: "{{ trigger.id }}" } }
  - id: write
    action:
      operation: details_flowers.customer.create
      connection: df
      input:
        email: "{{ steps.customer.output.email }}"
        full_name: "{{ steps.customer.output.full_name }}"
        source: "Tether {{ flow.id }} {{ now }}"
        tags: "{{ steps.fetch.output.tags }}"
        whole: "{{ trigger }}"
"#,
            std::path::Path::new("deps.yaml"),
            None,
        )
        .unwrap();
        let StepKind::Action { input, .. } = &flow.steps[2].kind else {
            panic!("the third step is the action");
        };
        let deps = input_dependencies(&flow.steps, 2, input);
        let names = |list: &[&str]| Deps::Fields(list.iter().map(|n| (*n).to_owned()).collect());
        assert_eq!(deps["email"], names(&["email"]));
        assert_eq!(deps["full_name"], names(&["firstName", "lastName"]));
        assert_eq!(deps["source"], names(&[]));
        assert_eq!(deps["tags"], Deps::Any);
        assert_eq!(deps["whole"], Deps::Any);
        assert!(deps["full_name"].touched_by(&fields(&["lastName"])));
        assert!(!deps["full_name"].touched_by(&fields(&["email", "phone"])));
        assert!(!deps["source"].touched_by(&fields(&["email"])));
        assert!(deps["tags"].touched_by(&fields(&["email"])));
        assert!(!deps["tags"].touched_by(&fields(&[])));
        // Worked out once per flow version and step: the same answer, then the same value.
        let once = flow_input_dependencies(&flow, 2, input);
        assert_eq!(*once, deps);
        assert!(Arc::ptr_eq(
            &once,
            &flow_input_dependencies(&flow, 2, input)
        ));
        // Another version of the flow (its action's input changed) is worked out anew.
        let mut edited = flow.clone();
        edited.version = "another".into();
        if let StepKind::Action { input, .. } = &mut edited.steps[2].kind {
            input["email"] = json!("{{ trigger.phone }}");
        }
        let StepKind::Action { input, .. } = &edited.steps[2].kind else {
            panic!("the third step is the action");
        };
        assert_eq!(
            flow_input_dependencies(&edited, 2, input)["email"],
            names(&["phone"])
        );
    }

    #[test]
    fn paths_under_a_slice_are_not_missed() {
        let steps = [];
        let deps = input_dependencies(
            &steps,
            0,
            &json!({
                "last": "{{ (trigger.full_name | default('') | trim | split(' '))[1:] | join(' ') }}",
                "quoted": "{{ 'trigger.secret' ~ trigger.shown }}",
            }),
        );
        let names = |list: &[&str]| Deps::Fields(list.iter().map(|n| (*n).to_owned()).collect());
        assert_eq!(deps["last"], names(&["full_name"]));
        assert_eq!(deps["quoted"], names(&["shown"]));
    }

    #[test]
    fn what_a_record_holds_is_the_latest_read_or_write_of_each_field() {
        let read = state(
            json!({"phone": ["+1", 10], "source": ["web", 10]}),
            json!({}),
            None,
        );
        let wrote = state(json!({}), json!({"phone": ["+2", 20]}), None);
        let known = known_fields([&read], [&wrote]);
        assert_eq!(known["phone"], Known(json!("+2"), 20));
        assert_eq!(known["source"], Known(json!("web"), 10));
    }

    #[test]
    fn reading_keeps_the_time_of_unchanged_fields() {
        let mut state = SyncState::default();
        state.see(&json!({"a": 1, "b": 2}), 10);
        state.see(&json!({"a": 1, "b": 3}), 20);
        assert_eq!(state.seen["a"], Known(json!(1), 10));
        assert_eq!(state.seen["b"], Known(json!(3), 20));
    }

    #[test]
    fn versions_come_from_the_answered_record() {
        assert_eq!(
            answered_version(&json!({"updated_at": "1970-01-01T00:00:01Z"}), "customer"),
            Some(1_000)
        );
        assert_eq!(
            answered_version(
                &json!({"new": false, "contact": {"dateUpdated": "1970-01-01T00:00:02.000Z"}}),
                "contact"
            ),
            Some(2_000)
        );
        assert_eq!(answered_version(&json!({"id": "x"}), "contact"), None);
    }

    #[test]
    fn empty_means_missing_null_blank_or_an_empty_list() {
        assert!(is_empty(None));
        assert!(is_empty(Some(&json!(null))));
        assert!(is_empty(Some(&json!("  "))));
        assert!(is_empty(Some(&json!([]))));
        assert!(!is_empty(Some(&json!("web"))));
        assert!(!is_empty(Some(&json!(0))));
    }
}
