//! The records a simulated location holds, and their JSON views in the spec's shapes.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::Value;

/// Formats a time the way GHL does in contact records: `2021-07-02T05:18:26.704Z`.
pub fn iso(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A new random id in GHL's style: 20 alphanumeric characters.
pub fn new_id(rng: &mut fastrand::Rng) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..20)
        .map(|_| ALPHABET[rng.usize(..ALPHABET.len())] as char)
        .collect()
}

/// A custom field value on a contact (`customFields: [{id, value}]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomFieldValue {
    /// The custom field definition id.
    pub id: String,
    /// The value; a string for text fields, an array for checkboxes, a number for numeric fields.
    pub value: Value,
}

/// A contact of a location.
#[derive(Debug, Clone, Default)]
pub struct Contact {
    /// Contact id.
    pub id: String,
    /// Owning location.
    pub location_id: String,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Full name when given explicitly (else derived from first and last name).
    pub name: Option<String>,
    /// Primary e-mail.
    pub email: Option<String>,
    /// Primary phone, E.164.
    pub phone: Option<String>,
    /// Company name.
    pub company_name: Option<String>,
    /// Street address.
    pub address1: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State or region.
    pub state: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Two-letter country code.
    pub country: Option<String>,
    /// Website.
    pub website: Option<String>,
    /// IANA time zone.
    pub timezone: Option<String>,
    /// Where the contact came from.
    pub source: Option<String>,
    /// Assigned user id.
    pub assigned_to: Option<String>,
    /// Date of birth, ISO timestamp.
    pub date_of_birth: Option<String>,
    /// Gender.
    pub gender: Option<String>,
    /// Do-not-disturb on every channel.
    pub dnd: bool,
    /// Per-channel DND settings object (`{Call: {status, message, code}, ...}`).
    pub dnd_settings: Option<Value>,
    /// Inbound DND settings object.
    pub inbound_dnd_settings: Option<Value>,
    /// Tags, in insertion order, unique (case-insensitive, stored lowercase as GHL does).
    pub tags: Vec<String>,
    /// Custom field values.
    pub custom_fields: Vec<CustomFieldValue>,
    /// Business the contact belongs to.
    pub business_id: Option<String>,
    /// Follower user ids.
    pub followers: Vec<String>,
    /// Campaigns the contact is in.
    pub campaigns: BTreeSet<String>,
    /// Workflows the contact is in, with the event start time given.
    pub workflows: HashMap<String, Option<String>>,
    /// Creation time.
    pub date_added: DateTime<Utc>,
    /// Last update time.
    pub date_updated: DateTime<Utc>,
    /// The contact's tasks, oldest first.
    pub tasks: Vec<Task>,
    /// The contact's notes, oldest first.
    pub notes: Vec<Note>,
}

impl Contact {
    /// The display name: `name` when set, else first and last name joined.
    pub fn full_name(&self) -> Option<String> {
        if let Some(name) = &self.name {
            return Some(name.clone());
        }
        let joined = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        (!joined.is_empty()).then_some(joined)
    }
}

/// A task on a contact.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    /// Task id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Assigned user id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
    /// Due date, ISO timestamp.
    pub due_date: String,
    /// Whether it is done.
    pub completed: bool,
    /// Owning contact.
    pub contact_id: String,
    /// Creation time (not in the spec's `TaskSchema`; kept for webhooks).
    #[serde(skip)]
    pub date_added: DateTime<Utc>,
}

/// A note on a contact.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    /// Note id.
    pub id: String,
    /// Text.
    pub body: String,
    /// Author user id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Creation time, ISO.
    pub date_added: String,
    /// Owning contact.
    pub contact_id: String,
    /// Optional title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Optional colour, `#RRGGBB`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Pinned to the top.
    pub pinned: bool,
}

/// An appointment (calendar event) booked for a contact.
#[derive(Debug, Clone, PartialEq)]
pub struct Appointment {
    /// Event id.
    pub id: String,
    /// Calendar it is booked in.
    pub calendar_id: String,
    /// Owning location.
    pub location_id: String,
    /// The contact it is for.
    pub contact_id: String,
    /// Title.
    pub title: Option<String>,
    /// Status: `new`, `confirmed`, `cancelled`, `showed`, `noshow`, `invalid`.
    pub appointment_status: String,
    /// Assigned user.
    pub assigned_user_id: Option<String>,
    /// Address or meeting link.
    pub address: Option<String>,
    /// Free-text notes / description.
    pub notes: Option<String>,
    /// Start, ISO with offset.
    pub start_time: DateTime<Utc>,
    /// End, ISO with offset.
    pub end_time: DateTime<Utc>,
    /// Creation time.
    pub date_added: DateTime<Utc>,
    /// Last update time.
    pub date_updated: DateTime<Utc>,
    /// Meeting location type (`custom`, `zoom`, `gmeet`, `phone`, `address`, `ms_teams`, `google`).
    pub meeting_location_type: Option<String>,
    /// Recurrence rule (RFC 5545) of a recurring series; `None` for a single event.
    pub rrule: Option<String>,
    /// Who booked it: `createdBy.source` and the webhooks' `source` (`third_party` for the API).
    pub source: Option<String>,
}

/// A calendar of a location, to book appointments into.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    /// Calendar id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Slot length in minutes.
    pub slot_duration: u32,
    /// The calendar group it belongs to (events report it as `groupId`).
    pub group_id: Option<String>,
    /// User ids of the team members who take its appointments, primary first.
    pub team_members: Vec<String>,
}

/// A custom field definition of a location (contacts carry values as `customFields: [{id, value}]`).
#[derive(Debug, Clone, PartialEq)]
pub struct CustomField {
    /// Field id.
    pub id: String,
    /// Key used in merge fields and in `{key, field_value}` input (`contact.favourite_flower`).
    pub key: String,
    /// Display name.
    pub name: String,
    /// GHL data type: `TEXT`, `LARGE_TEXT`, `NUMERICAL`, `DATE`, `SINGLE_OPTIONS`, ...
    pub data_type: String,
}

/// A business (company record) contacts can belong to.
#[derive(Debug, Clone, PartialEq)]
pub struct Business {
    /// Business id.
    pub id: String,
    /// Name.
    pub name: String,
}
