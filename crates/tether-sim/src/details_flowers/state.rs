//! The simulator's in-memory records, one table per manifest resource, and the operations on
//! them: create, read, change, delete, list with filters, all checked against the manifest.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};
use tether_core::manifest::{FieldType, InputMode, Manifest, Resource};

/// Why an operation on the records failed, as the HTTP layer answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// 404: no such record.
    NotFound(String),
    /// 422: a field (or query parameter) is wrong; `field` names it.
    Invalid {
        /// The field or parameter.
        field: String,
        /// What is wrong.
        message: String,
    },
}

impl RecordError {
    fn invalid(field: &str, message: impl Into<String>) -> Self {
        RecordError::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// One resource's records, ordered by id (ids are zero-padded, so that is creation order).
#[derive(Debug, Default)]
pub struct Table {
    next_id: u64,
    records: BTreeMap<String, Map<String, Value>>,
    /// field → value key ([`index_key`]) → ids: unique checks and `search_by` listings look
    /// records up instead of scanning, so a lookup costs the same at 100 records or 1,000,000.
    index: HashMap<String, HashMap<String, BTreeSet<String>>>,
}

/// The index key of a scalar value; other values are not indexed (nor searchable).
fn index_key(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(format!("s:{text}")),
        Value::Number(number) => Some(format!("n:{number}")),
        Value::Bool(flag) => Some(format!("b:{flag}")),
        _ => None,
    }
}

impl Table {
    fn unindex(&mut self, id: &str) {
        let Some(record) = self.records.get(id) else {
            return;
        };
        for (field, value) in record {
            let Some(key) = index_key(value) else {
                continue;
            };
            let Some(keys) = self.index.get_mut(field) else {
                continue;
            };
            // An emptied entry goes too: values that change on every write (`updated_at`)
            // would otherwise leave one dead entry per update behind.
            if let Some(ids) = keys.get_mut(&key) {
                ids.remove(id);
                if ids.is_empty() {
                    keys.remove(&key);
                }
            }
            if keys.is_empty() {
                self.index.remove(field);
            }
        }
    }

    fn reindex(&mut self, id: &str) {
        let Some(record) = self.records.get(id) else {
            return;
        };
        for (field, value) in record {
            if let Some(key) = index_key(value) {
                self.index
                    .entry(field.clone())
                    .or_default()
                    .entry(key)
                    .or_default()
                    .insert(id.to_owned());
            }
        }
    }

    /// Ids whose `field` holds `value` as a query gives it (text, or an integer's digits).
    fn lookup(&self, field: &str, wanted: &str) -> BTreeSet<String> {
        let Some(keys) = self.index.get(field) else {
            return BTreeSet::new();
        };
        let mut ids = keys
            .get(&format!("s:{wanted}"))
            .cloned()
            .unwrap_or_default();
        if let Ok(number) = wanted.parse::<i64>()
            && let Some(more) = keys.get(&format!("n:{number}"))
        {
            ids.extend(more.iter().cloned());
        }
        ids
    }
}

/// Which records a listing returns, in which order.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    /// Field → value that must match exactly (only `search_by` fields).
    pub equals: Vec<(String, String)>,
    /// Only records whose `field` is at or after the time, sorted by that field then id.
    pub since: Option<(String, DateTime<Utc>)>,
}

/// Every table, plus the clock that stamps `created_at` / `updated_at`.
#[derive(Debug)]
pub struct Records {
    tables: Vec<Table>,
    last_stamp: DateTime<Utc>,
}

/// The wire form of every timestamp the simulator writes: fixed width, so text order is time order.
pub fn stamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Records {
    /// Empty tables for `manifest`'s resources.
    pub fn new(manifest: &Manifest) -> Self {
        Records {
            tables: manifest
                .resources
                .iter()
                .map(|_| Table::default())
                .collect(),
            last_stamp: DateTime::<Utc>::MIN_UTC,
        }
    }

    /// Now, never earlier than the last stamp given (the wall clock may step back).
    fn now(&mut self) -> DateTime<Utc> {
        let now = Utc::now().max(self.last_stamp);
        self.last_stamp = now;
        now
    }

    /// Creates a record from checked input, stamped `at` (now when `None`).
    pub fn create(
        &mut self,
        resource_idx: usize,
        resource: &Resource,
        input: Map<String, Value>,
        at: Option<DateTime<Utc>>,
    ) -> Result<Map<String, Value>, RecordError> {
        check(resource, &input, InputMode::Create)?;
        self.check_unique(resource_idx, resource, &input, None)?;
        let now = match at {
            Some(at) => at,
            None => self.now(),
        };
        let table = &mut self.tables[resource_idx];
        table.next_id += 1;
        let id = format!("{}_{:08}", id_prefix(&resource.name), table.next_id);
        let mut record = Map::new();
        // Every declared field is present in answers, null when unset, as a typical API does.
        for field in &resource.fields {
            record.insert(field.name.clone(), Value::Null);
        }
        record.extend(input);
        record.insert(resource.id_field.clone(), Value::String(id.clone()));
        for field in [&resource.created_field, &resource.updated_field]
            .into_iter()
            .flatten()
        {
            record.insert(field.clone(), Value::String(stamp(now)));
        }
        table.records.insert(id.clone(), record.clone());
        table.reindex(&id);
        Ok(record)
    }

    /// The record `id`.
    pub fn get(&self, resource_idx: usize, id: &str) -> Option<&Map<String, Value>> {
        self.tables[resource_idx].records.get(id)
    }

    /// Changes the given fields of record `id`.
    pub fn update(
        &mut self,
        resource_idx: usize,
        resource: &Resource,
        id: &str,
        input: Map<String, Value>,
    ) -> Result<Map<String, Value>, RecordError> {
        if !self.tables[resource_idx].records.contains_key(id) {
            return Err(RecordError::NotFound(format!(
                "{} {id} not found",
                resource.name
            )));
        }
        check(resource, &input, InputMode::Update)?;
        self.check_unique(resource_idx, resource, &input, Some(id))?;
        let now = self.now();
        let table = &mut self.tables[resource_idx];
        table.unindex(id);
        let Some(record) = table.records.get_mut(id) else {
            return Err(RecordError::NotFound(format!(
                "{} {id} not found",
                resource.name
            )));
        };
        record.extend(input);
        if let Some(field) = &resource.updated_field {
            record.insert(field.clone(), Value::String(stamp(now)));
        }
        let record = record.clone();
        table.reindex(id);
        Ok(record)
    }

    /// Deletes record `id`; `false` when there was none.
    pub fn delete(&mut self, resource_idx: usize, id: &str) -> bool {
        let table = &mut self.tables[resource_idx];
        table.unindex(id);
        table.records.remove(id).is_some()
    }

    /// The records `filter` selects, in its order.
    pub fn list(&self, resource_idx: usize, filter: &ListFilter) -> Vec<&Map<String, Value>> {
        let matches = |record: &Map<String, Value>| {
            filter.equals.iter().all(|(field, wanted)| {
                record.get(field).is_some_and(|value| match value {
                    Value::String(text) => text == wanted,
                    // Search fields are strings or integers (the manifest's validation says so).
                    Value::Number(number) => {
                        number.as_i64().is_some() && number.as_i64() == wanted.parse::<i64>().ok()
                    }
                    _ => false,
                })
            })
        };
        let table = &self.tables[resource_idx];
        // With an equality filter, only the records the index names are looked at (in id order,
        // as a scan would give them).
        let records: Box<dyn Iterator<Item = &Map<String, Value>>> = match filter.equals.first() {
            Some((field, wanted)) => Box::new(
                table
                    .lookup(field, wanted)
                    .into_iter()
                    .filter_map(|id| table.records.get(&id)),
            ),
            None => Box::new(table.records.values()),
        };
        match &filter.since {
            None => records.filter(|record| matches(record)).collect(),
            Some((field, since)) => {
                let since = stamp(*since);
                let time_of = |record: &Map<String, Value>| {
                    record
                        .get(field)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                let mut selected: Vec<(String, &Map<String, Value>)> = records
                    .filter(|record| matches(record))
                    .map(|record| (time_of(record), record))
                    .filter(|(time, _)| *time >= since)
                    .collect();
                // The records are already in id order, and the sort is stable, so equal times
                // stay in id order: the (time, id) order the manifest's polling relies on.
                selected.sort_by(|a, b| a.0.cmp(&b.0));
                selected.into_iter().map(|(_, record)| record).collect()
            }
        }
    }

    /// How many records a resource holds.
    pub fn count(&self, resource_idx: usize) -> usize {
        self.tables[resource_idx].records.len()
    }

    fn check_unique(
        &self,
        resource_idx: usize,
        resource: &Resource,
        input: &Map<String, Value>,
        except_id: Option<&str>,
    ) -> Result<(), RecordError> {
        for field in resource.fields.iter().filter(|field| field.unique) {
            let Some(value) = input.get(&field.name).filter(|value| !value.is_null()) else {
                continue;
            };
            let table = &self.tables[resource_idx];
            let taken = index_key(value)
                .and_then(|key| table.index.get(&field.name)?.get(&key))
                .and_then(|ids| ids.iter().find(|id| Some(id.as_str()) != except_id));
            if let Some(id) = taken {
                return Err(RecordError::invalid(
                    &field.name,
                    format!("is already used by {id}"),
                ));
            }
        }
        Ok(())
    }
}

/// The manifest's field checks, the first problem as the answer (sorted, so it is stable).
fn check(
    resource: &Resource,
    input: &Map<String, Value>,
    mode: InputMode,
) -> Result<(), RecordError> {
    let mut problems = resource.check_input(input, mode);
    problems.sort_by(|a, b| a.field.cmp(&b.field));
    match problems.into_iter().next() {
        None => Ok(()),
        Some(problem) => Err(RecordError::Invalid {
            field: problem.field,
            message: problem.message,
        }),
    }
}

/// `cus` for `customer`: ids say what they are, as many real APIs' do.
fn id_prefix(name: &str) -> String {
    name.chars().filter(|c| *c != '_').take(3).collect()
}

/// Parses a query value for a `search_by` field, refusing what the field's type cannot hold.
pub fn check_search_value(
    resource: &Resource,
    field: &str,
    value: &str,
) -> Result<(), RecordError> {
    match resource.field(field).map(|field| field.kind) {
        Some(FieldType::Integer) if value.parse::<i64>().is_err() => {
            Err(RecordError::invalid(field, "must be an integer"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tether_core::manifest::details_flowers;

    use super::*;

    #[test]
    fn equal_times_list_in_id_order_and_unique_fields_are_enforced() {
        let manifest = details_flowers().unwrap();
        let customer = manifest.resource("customer").unwrap();
        let mut records = Records::new(&manifest);
        let at = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        for idx in 0..3 {
            let input = json!({"email": format!("c{idx}@example.com"), "full_name": "C"});
            records
                .create(0, customer, input.as_object().unwrap().clone(), Some(at))
                .unwrap();
        }
        let filter = ListFilter {
            equals: Vec::new(),
            since: Some(("updated_at".into(), at)),
        };
        let ids: Vec<&str> = records
            .list(0, &filter)
            .iter()
            .map(|record| record["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["cus_00000001", "cus_00000002", "cus_00000003"]);

        let duplicate = json!({"email": "c1@example.com", "full_name": "D"});
        let error = records
            .create(0, customer, duplicate.as_object().unwrap().clone(), None)
            .unwrap_err();
        assert_eq!(
            error,
            RecordError::invalid("email", "is already used by cus_00000002")
        );
        // Setting a record's own value again is not a conflict.
        let same = json!({"email": "c1@example.com"});
        records
            .update(
                0,
                customer,
                "cus_00000002",
                same.as_object().unwrap().clone(),
            )
            .unwrap();
    }
}

#[cfg(test)]
mod index_tests {
    use serde_json::json;

    use super::*;

    fn input(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn lookups_follow_creates_updates_and_deletes() {
        let manifest = tether_core::manifest::details_flowers().expect("shipped manifest");
        let index = manifest
            .resources
            .iter()
            .position(|resource| resource.name == "customer")
            .expect("customers");
        let resource = manifest.resources[index].clone();
        let mut records = Records::new(&manifest);
        let by = |records: &Records, field: &str, value: &str| -> Vec<String> {
            let filter = ListFilter {
                equals: vec![(field.into(), value.into())],
                since: None,
            };
            records
                .list(index, &filter)
                .iter()
                .map(|record| record["id"].as_str().unwrap_or_default().to_owned())
                .collect()
        };
        let ann = records
            .create(
                index,
                &resource,
                input(json!({"email": "ann@x.io", "full_name": "Ann"})),
                None,
            )
            .expect("created");
        let ann_id = ann["id"].as_str().expect("id").to_owned();
        assert_eq!(by(&records, "email", "ann@x.io"), vec![ann_id.clone()]);
        let duplicate = records.create(
            index,
            &resource,
            input(json!({"email": "ann@x.io", "full_name": "Another"})),
            None,
        );
        assert!(matches!(duplicate, Err(RecordError::Invalid { field, .. }) if field == "email"));

        // A changed e-mail moves in the index: the old value is free, the new one found.
        records
            .update(
                index,
                &resource,
                &ann_id,
                input(json!({"email": "ann@y.io"})),
            )
            .expect("updated");
        assert!(by(&records, "email", "ann@x.io").is_empty());
        assert_eq!(by(&records, "email", "ann@y.io"), vec![ann_id.clone()]);
        records
            .create(
                index,
                &resource,
                input(json!({"email": "ann@x.io", "full_name": "Ann two"})),
                None,
            )
            .expect("the old e-mail is free again");
        assert!(records.delete(index, &ann_id));
        assert!(by(&records, "email", "ann@y.io").is_empty());
    }

    /// The index holds entries for the values records have now, however often they changed: a
    /// field stamped on every write does not leave one entry per update behind.
    #[test]
    fn updates_and_deletes_leave_no_empty_index_entries() {
        let manifest = tether_core::manifest::details_flowers().expect("shipped manifest");
        let index = manifest
            .resources
            .iter()
            .position(|resource| resource.name == "customer")
            .expect("customers");
        let resource = manifest.resources[index].clone();
        let mut records = Records::new(&manifest);
        let created = records
            .create(
                index,
                &resource,
                input(json!({"email": "bo@x.io", "full_name": "Bo"})),
                None,
            )
            .expect("created");
        let id = created["id"].as_str().expect("id").to_owned();
        let entries = |records: &Records| -> usize {
            records.tables[index].index.values().map(HashMap::len).sum()
        };
        let after_create = entries(&records);
        for n in 0..50 {
            records
                .update(
                    index,
                    &resource,
                    &id,
                    input(json!({"full_name": format!("Bo {n}")})),
                )
                .expect("updated");
        }
        assert_eq!(entries(&records), after_create);
        assert!(records.delete(index, &id));
        assert_eq!(entries(&records), 0);
        assert!(records.tables[index].index.is_empty());
    }
}
