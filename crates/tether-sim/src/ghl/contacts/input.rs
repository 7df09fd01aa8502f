//! Contact bodies of create, update and upsert: parsing, normalisation (tags, phone, e-mail,
//! date of birth, custom fields) and applying them to a stored contact.
//!
//! A body is first turned into a [`ContactPatch`] whose every value is already valid, so that
//! applying it can no longer fail half-way through a change.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::ghl::error::{GhlError, GhlResult};
use crate::ghl::model::{Contact, CustomField, CustomFieldValue, iso};

/// `None`: the field was absent (leave it); `Some(None)`: it was `null` (clear it).
pub type Field<T> = Option<Option<T>>;

/// Tells an absent field from a `null` one: serde maps absent to `None` through `default`,
/// and this maps a present value (including `null`) to `Some`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// One `customFields` item as sent: `{id | key, field_value | fieldValue | value}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomFieldInput {
    /// The custom field's id.
    pub id: Option<String>,
    /// The custom field's key (`contact.my_field`), accepted instead of the id.
    pub key: Option<String>,
    /// The value (v2 name).
    #[serde(rename = "field_value")]
    pub field_value: Option<Value>,
    /// The value (v3 name).
    #[serde(rename = "fieldValue")]
    pub field_value_v3: Option<Value>,
    /// The value under the name the output uses, which clients often echo back.
    pub value: Option<Value>,
}

/// The body of create / update / upsert (the union of `CreateContactDto`, `UpdateContactDto`
/// and `UpsertContactDto`; the gate has already refused properties an operation does not declare).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactInput {
    /// The location (create and upsert).
    pub location_id: Option<String>,
    /// Upsert only: create without looking for duplicates when the location allows them.
    pub create_new_if_duplicate_allowed: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    first_name: Field<String>,
    #[serde(default, deserialize_with = "present")]
    last_name: Field<String>,
    #[serde(default, deserialize_with = "present")]
    name: Field<String>,
    #[serde(default, deserialize_with = "present")]
    email: Field<String>,
    #[serde(default, deserialize_with = "present")]
    phone: Field<String>,
    #[serde(default, deserialize_with = "present")]
    gender: Field<String>,
    #[serde(default, deserialize_with = "present")]
    address1: Field<String>,
    #[serde(default, deserialize_with = "present")]
    city: Field<String>,
    #[serde(default, deserialize_with = "present")]
    state: Field<String>,
    #[serde(default, deserialize_with = "present")]
    postal_code: Field<String>,
    #[serde(default, deserialize_with = "present")]
    country: Field<String>,
    #[serde(default, deserialize_with = "present")]
    website: Field<String>,
    #[serde(default, deserialize_with = "present")]
    timezone: Field<String>,
    #[serde(default, deserialize_with = "present")]
    company_name: Field<String>,
    #[serde(default, deserialize_with = "present")]
    source: Field<String>,
    #[serde(default, deserialize_with = "present")]
    assigned_to: Field<String>,
    #[serde(default, deserialize_with = "present")]
    date_of_birth: Field<String>,
    dnd: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    dnd_settings: Field<Value>,
    #[serde(default, deserialize_with = "present")]
    inbound_dnd_settings: Field<Value>,
    tags: Option<Vec<String>>,
    custom_fields: Option<Vec<CustomFieldInput>>,
}

/// A validated, normalised change to a contact.
#[derive(Debug, Clone, Default)]
pub struct ContactPatch {
    first_name: Field<String>,
    last_name: Field<String>,
    /// Normalised: trimmed.
    pub email: Field<String>,
    /// Normalised to E.164.
    pub phone: Field<String>,
    gender: Field<String>,
    address1: Field<String>,
    city: Field<String>,
    state: Field<String>,
    postal_code: Field<String>,
    country: Field<String>,
    website: Field<String>,
    timezone: Field<String>,
    company_name: Field<String>,
    source: Field<String>,
    assigned_to: Field<String>,
    /// ISO timestamp at midnight UTC.
    date_of_birth: Field<String>,
    dnd: Option<bool>,
    dnd_settings: Field<Value>,
    inbound_dnd_settings: Field<Value>,
    /// Normalised: lowercased, trimmed, deduplicated.
    tags: Option<Vec<String>>,
    /// `(field, value)`; a `null` value removes the field.
    custom_fields: Option<Vec<(FieldRef, Value)>>,
}

/// How a `customFields` item names its field.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FieldRef {
    /// By definition id.
    Id(String),
    /// By key (`contact.my_field`, or `my_field`), resolved against the location's definitions.
    Key(String),
}

/// What applying a patch changed that has its own webhook event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changes {
    /// The tag set differs (→ `ContactTagUpdate`).
    pub tags: bool,
    /// `dnd` or `dndSettings` differ (→ `ContactDndUpdate`).
    pub dnd: bool,
}

impl ContactInput {
    /// Validates and normalises the body into a patch; a bad value answers 422 naming the field.
    pub fn into_patch(self) -> GhlResult<ContactPatch> {
        let mut problems = Vec::new();
        let mut patch = ContactPatch {
            first_name: text(self.first_name),
            last_name: text(self.last_name),
            gender: text(self.gender),
            address1: text(self.address1),
            city: text(self.city),
            state: text(self.state),
            postal_code: text(self.postal_code),
            country: text(self.country),
            website: text(self.website),
            timezone: text(self.timezone),
            company_name: text(self.company_name),
            source: text(self.source),
            assigned_to: text(self.assigned_to),
            dnd: self.dnd,
            dnd_settings: self.dnd_settings,
            inbound_dnd_settings: self.inbound_dnd_settings,
            tags: self
                .tags
                .map(|tags| normalize_tags(tags.iter().map(String::as_str))),
            ..ContactPatch::default()
        };
        // `name` only fills first and last name when neither is given (a choice: the real
        // service derives the display name from them, so the two cannot disagree here).
        if let Some(Some(name)) = text(self.name)
            && patch.first_name.is_none()
            && patch.last_name.is_none()
        {
            let (first, last) = name
                .split_once(' ')
                .map_or((name.as_str(), ""), |(first, last)| (first, last.trim()));
            patch.first_name = Some(Some(first.to_owned()));
            patch.last_name = Some((!last.is_empty()).then(|| last.to_owned()));
        }
        patch.email = match text(self.email) {
            Some(Some(email)) if !is_email(&email) => {
                problems.push("email must be an email".to_owned());
                None
            }
            other => other,
        };
        patch.phone = match text(self.phone) {
            Some(Some(phone)) => match normalize_phone(&phone) {
                Some(phone) => Some(Some(phone)),
                None => {
                    problems.push("phone must be a valid phone number".to_owned());
                    None
                }
            },
            other => other,
        };
        patch.date_of_birth = match text(self.date_of_birth) {
            Some(Some(date)) => match parse_date_of_birth(&date) {
                Some(date) => Some(Some(date)),
                None => {
                    problems.push(format!(
                        "dateOfBirth must be a date in one of the formats YYYY/MM/DD, MM/DD/YYYY, YYYY-MM-DD, \
                         MM-DD-YYYY, YYYY.MM.DD, MM.DD.YYYY, YYYY_MM_DD, MM_DD_YYYY (got {date:?})"
                    ));
                    None
                }
            },
            other => other,
        };
        if let Some(fields) = self.custom_fields {
            let mut values = Vec::with_capacity(fields.len());
            for (index, field) in fields.into_iter().enumerate() {
                let reference = match (field.id.filter(|id| !id.trim().is_empty()), field.key) {
                    (Some(id), _) => Some(FieldRef::Id(id)),
                    (None, Some(key)) if !key.trim().is_empty() => Some(FieldRef::Key(key)),
                    _ => None,
                };
                match reference {
                    Some(reference) => {
                        let value = field
                            .field_value
                            .or(field.field_value_v3)
                            .or(field.value)
                            .unwrap_or(Value::Null);
                        values.push((reference, value));
                    }
                    None => problems.push(format!("customFields.{index}: id or key is required")),
                }
            }
            patch.custom_fields = Some(values);
        }
        if problems.is_empty() {
            Ok(patch)
        } else {
            Err(GhlError::Unprocessable(problems))
        }
    }
}

impl ContactPatch {
    /// Applies the patch to `contact` and tells which evented parts changed. `dateUpdated` is the
    /// caller's business.
    pub fn apply(&self, contact: &mut Contact) -> Changes {
        fn set<T: Clone>(target: &mut Option<T>, change: &Field<T>) {
            if let Some(value) = change {
                target.clone_from(value);
            }
        }
        let dnd_before = (contact.dnd, contact.dnd_settings.clone());
        let tags_before = contact.tags.clone();
        set(&mut contact.first_name, &self.first_name);
        set(&mut contact.last_name, &self.last_name);
        if self.first_name.is_some() || self.last_name.is_some() {
            // The display name follows first and last name from now on.
            contact.name = None;
        }
        set(&mut contact.email, &self.email);
        set(&mut contact.phone, &self.phone);
        set(&mut contact.gender, &self.gender);
        set(&mut contact.address1, &self.address1);
        set(&mut contact.city, &self.city);
        set(&mut contact.state, &self.state);
        set(&mut contact.postal_code, &self.postal_code);
        set(&mut contact.country, &self.country);
        set(&mut contact.website, &self.website);
        set(&mut contact.timezone, &self.timezone);
        set(&mut contact.company_name, &self.company_name);
        set(&mut contact.source, &self.source);
        set(&mut contact.assigned_to, &self.assigned_to);
        set(&mut contact.date_of_birth, &self.date_of_birth);
        if let Some(dnd) = self.dnd {
            contact.dnd = dnd;
        }
        // Channels merge: a body naming `SMS` leaves the stored `Email` setting alone, as the UI's
        // per-channel toggles do (a choice; the spec does not say).
        match &self.dnd_settings {
            Some(Some(Value::Object(channels))) => {
                let mut merged = match contact.dnd_settings.take() {
                    Some(Value::Object(existing)) => existing,
                    _ => Map::new(),
                };
                merged.extend(
                    channels
                        .iter()
                        .map(|(channel, setting)| (channel.clone(), setting.clone())),
                );
                contact.dnd_settings = Some(Value::Object(merged));
            }
            Some(other) => contact.dnd_settings = other.clone(),
            None => {}
        }
        set(
            &mut contact.inbound_dnd_settings,
            &self.inbound_dnd_settings,
        );
        if let Some(tags) = &self.tags {
            contact.tags.clone_from(tags);
        }
        // Custom fields merge by id: fields the body does not name keep their values, as the
        // real update does; a `null` value removes the field.
        if let Some(fields) = &self.custom_fields {
            for (reference, value) in fields {
                // Keys are resolved by `resolve_custom_field_keys` beforehand; one without a
                // definition stands for its own id.
                let (FieldRef::Id(id) | FieldRef::Key(id)) = reference;
                let existing = contact
                    .custom_fields
                    .iter()
                    .position(|field| &field.id == id);
                match (existing, value.is_null()) {
                    (Some(index), true) => {
                        contact.custom_fields.remove(index);
                    }
                    (Some(index), false) => contact.custom_fields[index].value = value.clone(),
                    (None, true) => {}
                    (None, false) => contact.custom_fields.push(CustomFieldValue {
                        id: id.clone(),
                        value: value.clone(),
                    }),
                }
            }
        }
        Changes {
            tags: contact.tags != tags_before,
            dnd: (contact.dnd, &contact.dnd_settings) != (dnd_before.0, &dnd_before.1),
        }
    }

    /// Turns custom field keys into the ids of the location's definitions. A key without a
    /// definition is kept as the id (a choice: the simulator may run without definitions, and
    /// dropping the value silently would hide it from the client).
    pub fn resolve_custom_field_keys(&mut self, definitions: &[CustomField]) {
        for (reference, _) in self.custom_fields.iter_mut().flatten() {
            if let FieldRef::Key(key) = reference {
                let bare = key.strip_prefix("contact.").unwrap_or(key);
                let found = definitions.iter().find(|definition| {
                    definition.key == *key || definition.key.strip_prefix("contact.") == Some(bare)
                });
                if let Some(definition) = found {
                    *reference = FieldRef::Id(definition.id.clone());
                }
            }
        }
    }

    /// Whether the patch sets the e-mail to a value (not absent, not cleared).
    pub fn email_value(&self) -> Option<&str> {
        self.email.as_ref().and_then(Option::as_deref)
    }

    /// Whether the patch sets the phone to a value.
    pub fn phone_value(&self) -> Option<&str> {
        self.phone.as_ref().and_then(Option::as_deref)
    }

    /// Drops the phone change (upsert: the phone matched another contact than the one updated).
    pub fn forget_phone(&mut self) {
        self.phone = None;
    }

    /// Drops the e-mail change (upsert: the e-mail matched another contact than the one updated).
    pub fn forget_email(&mut self) {
        self.email = None;
    }
}

/// Trims a text field; an empty string clears it like `null` does.
fn text(field: Field<String>) -> Field<String> {
    field.map(|value| {
        value
            .map(|text| text.trim().to_owned())
            .filter(|text| !text.is_empty())
    })
}

/// Tags as GHL stores them: trimmed, lowercased, without empties or duplicates, in given order.
pub fn normalize_tags<'a>(tags: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut normalized: Vec<String> = Vec::new();
    for tag in tags {
        let tag = tag.trim().to_lowercase();
        if !tag.is_empty() && !normalized.contains(&tag) {
            normalized.push(tag);
        }
    }
    normalized
}

/// A loose e-mail check in the spirit of class-validator's `IsEmail`: one `@`, a non-empty local
/// part, a dotted domain, no spaces.
fn is_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && !email.contains(char::is_whitespace)
                && domain.split('.').count() >= 2
                && domain.split('.').all(|part| !part.is_empty())
        }
        None => false,
    }
}

/// Normalises a phone number to E.164 as GHL stores it: formatting dropped, a 10-digit number
/// without a `+` taken as North American (`+1`), the location default of the simulator.
/// `None` when it cannot be a phone number (letters, fewer than 7 or more than 15 digits).
pub fn normalize_phone(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw
        .chars()
        .any(|c| !(c.is_ascii_digit() || " +-().".contains(c)))
    {
        return None;
    }
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    if !(7..=15).contains(&digits.len()) {
        return None;
    }
    Some(if raw.starts_with('+') || digits.len() != 10 {
        format!("+{digits}")
    } else {
        format!("+1{digits}")
    })
}

/// Parses a date of birth in one of the eight documented formats (README §4.2) — or an ISO
/// timestamp, which clients echo back from a GET — into GHL's stored form
/// `YYYY-MM-DDT00:00:00.000Z`.
pub fn parse_date_of_birth(raw: &str) -> Option<String> {
    if let Ok(time) = DateTime::parse_from_rfc3339(raw) {
        return Some(iso(time.with_timezone(&Utc)));
    }
    let separator = raw.chars().find(|c| ['/', '-', '.', '_'].contains(c))?;
    let parts: Vec<&str> = raw.split(separator).collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    if ![a, b, c]
        .iter()
        .all(|part| !part.is_empty() && part.chars().all(|ch| ch.is_ascii_digit()))
    {
        return None;
    }
    let (year, month, day) = match (a.len(), b.len(), c.len()) {
        (4, 1..=2, 1..=2) => (a, b, c),
        (1..=2, 1..=2, 4) => (c, a, b),
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?)?;
    Some(format!("{}T00:00:00.000Z", date.format("%Y-%m-%d")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_dob(input: &str, expected: Option<&str>) {
        assert_eq!(parse_date_of_birth(input).as_deref(), expected, "{input}");
    }

    #[test]
    fn every_documented_date_of_birth_format_is_accepted() {
        for input in [
            "1990/09/25",
            "09/25/1990",
            "1990-09-25",
            "09-25-1990",
            "1990.09.25",
            "09.25.1990",
            "1990_09_25",
            "09_25_1990",
            "1990-9-25",
        ] {
            check_dob(input, Some("1990-09-25T00:00:00.000Z"));
        }
        check_dob("1990-09-25T00:00:00.000Z", Some("1990-09-25T00:00:00.000Z"));
    }

    #[test]
    fn impossible_or_unknown_dates_of_birth_are_refused() {
        for input in [
            "1990-02-30",
            "25/09/1990",
            "1990/09",
            "yesterday",
            "1990-09-25-01",
            "90-09-25",
            "",
        ] {
            check_dob(input, None);
        }
    }

    #[test]
    fn phones_are_normalised_to_e164() {
        assert_eq!(
            normalize_phone("+1 888-888-8888").as_deref(),
            Some("+18888888888")
        );
        assert_eq!(
            normalize_phone("(888) 888-8888").as_deref(),
            Some("+18888888888")
        );
        assert_eq!(
            normalize_phone("+49 30 1234567").as_deref(),
            Some("+49301234567")
        );
        assert_eq!(normalize_phone("call me"), None);
        assert_eq!(normalize_phone("123"), None);
    }

    #[test]
    fn tags_are_trimmed_lowercased_and_deduplicated() {
        assert_eq!(
            normalize_tags([" VIP", "vip", "", "New Lead ", "b"]),
            ["vip", "new lead", "b"]
        );
    }

    #[test]
    fn name_fills_first_and_last_name_only_when_both_are_absent() {
        let input: ContactInput =
            serde_json::from_value(serde_json::json!({"name": "Rosan  Deo Junior"})).unwrap();
        let patch = input.into_patch().unwrap();
        let mut contact = Contact::default();
        patch.apply(&mut contact);
        assert_eq!(contact.first_name.as_deref(), Some("Rosan"));
        assert_eq!(contact.last_name.as_deref(), Some("Deo Junior"));

        let input: ContactInput =
            serde_json::from_value(serde_json::json!({"name": "Rosan Deo", "firstName": "Ro"}))
                .unwrap();
        let mut contact = Contact::default();
        input.into_patch().unwrap().apply(&mut contact);
        assert_eq!(
            (contact.first_name.as_deref(), contact.last_name.as_deref()),
            (Some("Ro"), None)
        );
    }

    #[test]
    fn null_clears_and_absent_keeps() {
        let mut contact = Contact {
            city: Some("Berlin".into()),
            state: Some("BE".into()),
            ..Contact::default()
        };
        let input: ContactInput =
            serde_json::from_value(serde_json::json!({"city": null})).unwrap();
        input.into_patch().unwrap().apply(&mut contact);
        assert_eq!(
            (contact.city.as_deref(), contact.state.as_deref()),
            (None, Some("BE"))
        );
    }

    #[test]
    fn custom_fields_merge_by_id_and_null_removes() {
        let mut contact = Contact {
            custom_fields: vec![
                CustomFieldValue {
                    id: "a".into(),
                    value: "1".into(),
                },
                CustomFieldValue {
                    id: "b".into(),
                    value: "2".into(),
                },
            ],
            ..Contact::default()
        };
        let input: ContactInput = serde_json::from_value(serde_json::json!({"customFields": [
            {"id": "a", "field_value": ["x", "y"]}, {"id": "b", "value": null}, {"key": "c", "field_value": 7}
        ]}))
        .unwrap();
        input.into_patch().unwrap().apply(&mut contact);
        let fields: Vec<(&str, Value)> = contact
            .custom_fields
            .iter()
            .map(|field| (field.id.as_str(), field.value.clone()))
            .collect();
        assert_eq!(
            fields,
            [
                ("a", serde_json::json!(["x", "y"])),
                ("c", serde_json::json!(7))
            ]
        );
    }

    #[test]
    fn custom_field_keys_resolve_to_definition_ids() {
        let definitions = [CustomField {
            id: "cf1".into(),
            key: "contact.flower".into(),
            name: "Flower".into(),
            data_type: "TEXT".into(),
        }];
        let input: ContactInput = serde_json::from_value(serde_json::json!({"customFields": [
            {"key": "contact.flower", "field_value": "rose"}, {"key": "flower", "value": "tulip"}, {"key": "other", "value": 1}
        ]}))
        .unwrap();
        let mut patch = input.into_patch().unwrap();
        patch.resolve_custom_field_keys(&definitions);
        let mut contact = Contact::default();
        patch.apply(&mut contact);
        let fields: Vec<(&str, Value)> = contact
            .custom_fields
            .iter()
            .map(|field| (field.id.as_str(), field.value.clone()))
            .collect();
        assert_eq!(
            fields,
            [
                ("cf1", serde_json::json!("tulip")),
                ("other", serde_json::json!(1))
            ]
        );
    }

    #[test]
    fn bad_values_are_all_reported_by_field() {
        let input: ContactInput = serde_json::from_value(serde_json::json!({
            "email": "not-an-email", "phone": "abc", "dateOfBirth": "31/12/1990", "customFields": [{"field_value": "x"}]
        }))
        .unwrap();
        let Err(GhlError::Unprocessable(problems)) = input.into_patch() else {
            panic!("expected a 422")
        };
        assert_eq!(problems.len(), 4, "{problems:?}");
        for field in ["email", "phone", "dateOfBirth", "customFields.0"] {
            assert!(
                problems.iter().any(|problem| problem.starts_with(field)),
                "{field}: {problems:?}"
            );
        }
    }

    #[test]
    fn dnd_changes_are_detected_and_channels_merge() {
        let mut contact = Contact::default();
        let input: ContactInput = serde_json::from_value(
            serde_json::json!({"dndSettings": {"SMS": {"status": "active"}}}),
        )
        .unwrap();
        assert!(input.into_patch().unwrap().apply(&mut contact).dnd);
        let input: ContactInput = serde_json::from_value(
            serde_json::json!({"dndSettings": {"Email": {"status": "inactive"}}}),
        )
        .unwrap();
        let changes = input.into_patch().unwrap().apply(&mut contact);
        assert!(changes.dnd && !changes.tags);
        let settings = contact.dnd_settings.unwrap();
        assert_eq!(
            (
                settings["SMS"]["status"].as_str(),
                settings["Email"]["status"].as_str()
            ),
            (Some("active"), Some("inactive"))
        );
    }
}
