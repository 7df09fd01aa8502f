//! The wire types of the HighLevel Contacts and Calendars APIs, in their JSON shapes (camelCase).
//!
//! Answers are read leniently, because the spec and the live service disagree in places
//! (reference README §4, §7, §13): unknown fields are ignored, most fields are optional, and
//! the spellings the API uses side by side are all accepted (`succeded`/`succeeded`,
//! `field_value`/`fieldValue`, `count`/`total`). Requests are written as the v2 spec spells them.

use chrono::{DateTime, FixedOffset, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Number, Value};

use super::{
    BusinessId, CalendarGroupId, CalendarId, ContactId, EventId, LocationId, NoteId, TaskId, UserId,
};

// ---------------------------------------------------------------------------------------------
// Contacts

/// The value of a custom field; its JSON type follows the field's type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum CustomFieldValue {
    /// Text, large text, single select, radio, date.
    Text(String),
    /// Checkbox and multi-select options.
    List(Vec<String>),
    /// Numeric and monetary fields.
    Number(Number),
    /// File upload (a map of uploaded files).
    Object(Map<String, Value>),
    /// Anything else the service may send (a boolean, null); never produced by Tether.
    Other(Value),
}

/// A custom field value to write: the field is named by `id` or by `key` (the spec marks `id`
/// required, while its descriptions say either will do; README §13.15).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomFieldInput {
    /// The custom field's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The custom field's key (`contact.favourite_flower`), instead of its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The value. Written as v2's `field_value`; v3's `fieldValue` and the read side's `value`
    /// are accepted on input.
    #[serde(rename = "field_value", alias = "fieldValue", alias = "value")]
    pub field_value: CustomFieldValue,
}

impl CustomFieldInput {
    /// A value for the field with this id.
    pub fn by_id(id: impl Into<String>, value: CustomFieldValue) -> Self {
        CustomFieldInput {
            id: Some(id.into()),
            key: None,
            field_value: value,
        }
    }

    /// A value for the field with this key.
    pub fn by_key(key: impl Into<String>, value: CustomFieldValue) -> Self {
        CustomFieldInput {
            id: None,
            key: Some(key.into()),
            field_value: value,
        }
    }
}

/// A custom field value as read (`customFields: [{id, value}]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomField {
    /// The custom field's id.
    pub id: String,
    /// The value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<CustomFieldValue>,
}

/// Status of a do-not-disturb channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DndStatus {
    /// Messages on this channel are blocked.
    Active,
    /// Messages are allowed.
    Inactive,
    /// Blocked for good (the contact opted out).
    Permanent,
}

/// One do-not-disturb channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DndChannel {
    /// Status.
    pub status: DndStatus,
    /// Why, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// A code the service or the user set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// Per-channel do-not-disturb settings. Written with v2's keys (`Call`, `SMS`, ...); v3's
/// lower-camel keys (`call`, `sms`, ...) are accepted on input.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DndSettings {
    /// Phone calls.
    #[serde(
        rename = "Call",
        alias = "call",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub call: Option<DndChannel>,
    /// E-mail.
    #[serde(
        rename = "Email",
        alias = "email",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub email: Option<DndChannel>,
    /// Text messages.
    #[serde(
        rename = "SMS",
        alias = "sms",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sms: Option<DndChannel>,
    /// WhatsApp.
    #[serde(
        rename = "WhatsApp",
        alias = "whatsApp",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub whats_app: Option<DndChannel>,
    /// Google Business Messages.
    #[serde(
        rename = "GMB",
        alias = "gmb",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub gmb: Option<DndChannel>,
    /// Facebook.
    #[serde(
        rename = "FB",
        alias = "fb",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fb: Option<DndChannel>,
}

/// Status of inbound do-not-disturb.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum InboundDndStatus {
    /// Inbound messages are blocked.
    Active,
    /// Inbound messages are allowed.
    Inactive,
}

/// Inbound do-not-disturb for every channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InboundDndChannel {
    /// Status.
    pub status: InboundDndStatus,
    /// Why, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Inbound do-not-disturb settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InboundDndSettings {
    /// All channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<InboundDndChannel>,
}

/// Where a contact came from (first or last touch).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(
    missing_docs,
    reason = "each field is the marketing parameter of the same name"
)]
pub struct AttributionSource {
    /// The landing URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_medium: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fbclid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gclid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msclikid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dclid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fbc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fbp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fb_event_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium_id: Option<String>,
}

/// A contact as read: the union of the spec's get, create and search shapes, every field but
/// `id` optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    /// Contact id.
    #[schemars(with = "String")]
    pub id: ContactId,
    /// Owning location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub location_id: Option<LocationId>,
    /// Full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Given name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Primary e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Primary phone (E.164).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Company name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    /// Gender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// IANA time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Do-not-disturb on every channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnd: Option<bool>,
    /// Per-channel do-not-disturb.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnd_settings: Option<DndSettings>,
    /// Inbound do-not-disturb.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_dnd_settings: Option<InboundDndSettings>,
    /// `lead`, `customer`, ...
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub contact_type: Option<String>,
    /// Where the contact came from, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Assigned user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<UserId>,
    /// Street address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address1: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State or region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Two-letter country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// Website.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// Tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Date of birth (an ISO timestamp as read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<String>,
    /// Creation time, ISO 8601.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_added: Option<String>,
    /// Last update time, ISO 8601.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_updated: Option<String>,
    /// Custom field values.
    #[serde(default, deserialize_with = "null_as_default")]
    pub custom_fields: Vec<CustomField>,
    /// Business the contact belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_id: Option<BusinessId>,
    /// Follower user ids (search results).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub followers: Vec<UserId>,
    /// Attachments; the spec says a string, webhooks show other shapes, so it is kept as read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Value>,
    /// First-touch attribution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution_source: Option<AttributionSource>,
    /// Last-touch attribution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attribution_source: Option<AttributionSource>,
    /// Attributions (search results).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub attributions: Vec<AttributionSource>,
    /// Last activity; typed as a string by the spec, kept as read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_activity: Option<Value>,
    /// Website visitor id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_id: Option<String>,
    /// Whether e-mails to the contact bounce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounce_email: Option<bool>,
    /// Whether the contact unsubscribed from e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsubscribe_email: Option<bool>,
    /// The search cursor that continues after this contact (search results only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_after: Option<Vec<Value>>,
}

/// The fields of a contact to create, update or upsert; unset fields are not sent.
///
/// `locationId` is not here: the client adds the connection's location. `tags` replaces every
/// tag of the contact on update and upsert (use the tag operations to add or remove some).
/// `gender` and `companyName` exist on create and upsert only; update refuses them, as the
/// spec's `UpdateContactDto` has no such fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactInput {
    /// Given name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Primary e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Primary phone, E.164 (`+14155550123`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Gender (create and upsert only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// Company name (create and upsert only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    /// Street address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address1: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State or region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// Two-letter country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Website.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// IANA time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Where the contact came from, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Assigned user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<UserId>,
    /// Date of birth: `YYYY-MM-DD`, `MM/DD/YYYY` and the other formats the spec lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<String>,
    /// Do-not-disturb on every channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnd: Option<bool>,
    /// Per-channel do-not-disturb.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnd_settings: Option<DndSettings>,
    /// Inbound do-not-disturb.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_dnd_settings: Option<InboundDndSettings>,
    /// Every tag of the contact (replaces the current ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Custom field values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<Vec<CustomFieldInput>>,
}

/// The body of create-contact: the location plus the fields.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateContactBody<'a> {
    pub location_id: &'a LocationId,
    #[serde(flatten)]
    pub contact: &'a ContactInput,
}

/// The body of upsert-contact.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpsertContactBody<'a> {
    pub location_id: &'a LocationId,
    #[serde(flatten)]
    pub contact: &'a ContactInput,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_new_if_duplicate_allowed: Option<bool>,
}

/// What upsert-contact answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpsertedContact {
    /// Whether a contact was created (`false`: an existing one was updated).
    #[serde(default)]
    pub new: bool,
    /// The contact after the upsert.
    pub contact: Contact,
    /// The service's trace id, for support requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

/// A success flag, read from v2's `succeded` (sic) or v3's `succeeded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Succeeded {
    /// Whether the service says it did it.
    pub succeeded: bool,
}

impl<'de> Deserialize<'de> for Succeeded {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(default)]
            succeded: Option<bool>,
            #[serde(default)]
            succeeded: Option<bool>,
        }
        let raw = Raw::deserialize(deserializer)?;
        Ok(Succeeded {
            // A 2xx without either flag is still a success: the status already said so.
            succeeded: raw.succeeded.or(raw.succeded).unwrap_or(true),
        })
    }
}

/// The `meta` of the deprecated contact list (the spec's unreferenced `ContactsMetaSchema`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListMeta {
    /// Contacts matching, in all.
    #[serde(
        default,
        deserialize_with = "lenient_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub total: Option<u64>,
    /// URL of the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_url: Option<String>,
    /// The cursor's id part: pass as `startAfterId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub start_after_id: Option<ContactId>,
    /// The cursor's time part (epoch ms): pass as `startAfter`.
    #[serde(
        default,
        deserialize_with = "lenient_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub start_after: Option<u64>,
    /// This page's number.
    #[serde(
        default,
        deserialize_with = "lenient_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub current_page: Option<u64>,
    /// The next page's number.
    #[serde(
        default,
        deserialize_with = "lenient_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub next_page: Option<u64>,
    /// The previous page's number.
    #[serde(
        default,
        deserialize_with = "lenient_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub prev_page: Option<u64>,
}

/// One page of contacts: a search, the deprecated list or a business's contacts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactPage {
    /// The contacts of this page.
    pub contacts: Vec<Contact>,
    /// Matching contacts in all, from `total` (search) or `count` (the lists' spec).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// Cursor of the deprecated list, when the service sends it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<ListMeta>,
    /// A page-level `searchAfter`, when the service sends one (it is also on each contact).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_after: Option<Vec<Value>>,
    /// The service's trace id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

impl<'de> Deserialize<'de> for ContactPage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            #[serde(default, deserialize_with = "null_as_default")]
            contacts: Vec<Contact>,
            #[serde(default, deserialize_with = "lenient_u64")]
            total: Option<u64>,
            #[serde(default, deserialize_with = "lenient_u64")]
            count: Option<u64>,
            #[serde(default)]
            meta: Option<ListMeta>,
            #[serde(default)]
            search_after: Option<Vec<Value>>,
            #[serde(default)]
            trace_id: Option<String>,
        }
        let raw = Raw::deserialize(deserializer)?;
        Ok(ContactPage {
            contacts: raw.contacts,
            total: raw.total.or(raw.count),
            meta: raw.meta,
            search_after: raw.search_after,
            trace_id: raw.trace_id,
        })
    }
}

/// What the duplicate lookup answers: the matching contact, if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DuplicateContact {
    /// The contact the location's duplicate rules match, or none.
    #[serde(default)]
    pub contact: Option<Contact>,
}

// ---------------------------------------------------------------------------------------------
// Search

/// How the filters of a group combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum FilterGroup {
    /// Every filter must match.
    #[serde(rename = "AND")]
    And,
    /// One filter must match.
    #[serde(rename = "OR")]
    Or,
}

/// A search filter operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FilterOperator {
    /// Equals.
    Eq,
    /// Does not equal.
    NotEq,
    /// Contains (no special characters).
    Contains,
    /// Does not contain.
    NotContains,
    /// Has a value (send no `value`).
    Exists,
    /// Has no value (send no `value`).
    NotExists,
    /// Within a range: `value` is `{gte, lte, gt, lt}`.
    Range,
}

/// One search filter, or a group of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum SearchFilter {
    /// Filters combined with AND or OR.
    Group {
        /// How they combine.
        group: FilterGroup,
        /// The filters.
        filters: Vec<SearchFilter>,
    },
    /// One condition on one field.
    Condition {
        /// The contact field (`email`, `tags`, `dateAdded`, `customFields.<id>`, ...).
        field: String,
        /// The comparison.
        operator: FilterOperator,
        /// The value compared with (absent for `exists` / `not_exists`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<Value>,
    },
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortDirection {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// One sort key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchSort {
    /// The field (`dateAdded`, `firstNameLowerCase`, ...).
    pub field: String,
    /// The direction.
    pub direction: SortDirection,
}

fn default_page_limit() -> u32 {
    100
}

/// A contact search (`POST /contacts/search`).
///
/// The spec's body schema is empty; the fields are those of the service's search documentation
/// (reference README §4.1). Page with `page` (page * pageLimit reaches at most 10,000 records)
/// or with `searchAfter` (no limit); never both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest {
    /// Free text, at most 75 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Filters, combined with AND.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<SearchFilter>,
    /// Sort keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sort: Vec<SearchSort>,
    /// Page number, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// Records per page, at most 500 (the service requires it; 100 when not given).
    #[serde(default = "default_page_limit")]
    pub page_limit: u32,
    /// The cursor to continue after: the `searchAfter` of the last contact of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_after: Option<Vec<Value>>,
}

impl Default for SearchRequest {
    fn default() -> Self {
        SearchRequest {
            query: None,
            filters: Vec::new(),
            sort: Vec::new(),
            page: None,
            page_limit: default_page_limit(),
            search_after: None,
        }
    }
}

/// The body of a search: the location plus the request.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SearchBody<'a> {
    pub location_id: &'a LocationId,
    #[serde(flatten)]
    pub request: &'a SearchRequest,
}

/// A page of the deprecated `GET /contacts/`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListContactsQuery {
    /// Records per page, at most 100 (the service's default is 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Cursor, id part: the last contact of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub start_after_id: Option<ContactId>,
    /// Cursor, time part: that contact's `dateAdded` in epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_after: Option<u64>,
}

/// A page of a business's contacts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BusinessContactsQuery {
    /// The business.
    pub business_id: BusinessId,
    /// Records per page (the service's default is 25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Records to skip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip: Option<u32>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Tasks, notes, tags, followers, bulk operations

/// A task of a contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    /// Task id.
    pub id: TaskId,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Assigned user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<UserId>,
    /// Due date, ISO 8601.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    /// Whether it is done.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub completed: bool,
    /// Owning contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub contact_id: Option<ContactId>,
}

/// A task to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskInput {
    /// Title.
    pub title: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Due date.
    pub due_date: DateTime<Utc>,
    /// Whether it is already done (the spec requires the field; `false` when not given).
    #[serde(default)]
    pub completed: bool,
    /// Assigned user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<UserId>,
}

/// Changes to a task; unset fields are left alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskUpdate {
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Due date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<DateTime<Utc>>,
    /// Whether it is done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<bool>,
    /// Assigned user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<UserId>,
}

/// A note of a contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    /// Note id.
    pub id: NoteId,
    /// Text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// Creation time, ISO 8601.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_added: Option<String>,
    /// Owning contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub contact_id: Option<ContactId>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Colour, `#RRGGBB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Pinned to the top.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<bool>,
}

/// A note to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NoteInput {
    /// Text.
    pub body: String,
    /// Author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Colour, `#RRGGBB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Pinned to the top.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<bool>,
}

/// Changes to a note; unset fields are left alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NoteUpdate {
    /// Text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Colour, `#RRGGBB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Pinned to the top.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<bool>,
}

/// A contact's tags after a change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tags {
    /// Every tag of the contact.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
}

/// Whether a bulk tag update adds or removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TagAction {
    /// Add the tags.
    Add,
    /// Remove the tags.
    Remove,
}

impl TagAction {
    /// The path segment.
    pub fn as_str(self) -> &'static str {
        match self {
            TagAction::Add => "add",
            TagAction::Remove => "remove",
        }
    }
}

/// The body of a bulk tag update.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BulkTagsBody<'a> {
    pub contacts: &'a [ContactId],
    pub tags: &'a [String],
    pub location_id: &'a LocationId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remove_all_tags: Option<bool>,
}

/// What a bulk tag update answers.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkTagsResult {
    /// Whether the service says it did it.
    pub succeeded: bool,
    /// Contacts that could not be updated.
    pub error_count: u64,
    /// Per-contact outcomes, as sent.
    pub responses: Vec<Value>,
}

impl<'de> Deserialize<'de> for BulkTagsResult {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            #[serde(default)]
            succeded: Option<bool>,
            #[serde(default)]
            succeeded: Option<bool>,
            #[serde(default, deserialize_with = "lenient_u64")]
            error_count: Option<u64>,
            #[serde(default, deserialize_with = "null_as_default")]
            responses: Vec<Value>,
        }
        let raw = Raw::deserialize(deserializer)?;
        let error_count = raw.error_count.unwrap_or(0);
        Ok(BulkTagsResult {
            succeeded: raw.succeeded.or(raw.succeded).unwrap_or(error_count == 0),
            error_count,
            responses: raw.responses,
        })
    }
}

/// The body of add/remove contacts from a business.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BulkBusinessBody<'a> {
    pub location_id: &'a LocationId,
    pub ids: &'a [ContactId],
    /// Always sent: `null` detaches the contacts (the field is required and nullable).
    pub business_id: Option<&'a BusinessId>,
}

/// What add/remove contacts from a business answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkBusinessResult {
    /// Whether the service says it did it.
    #[serde(default)]
    pub success: bool,
    /// The contacts changed.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schemars(with = "Vec<String>")]
    pub ids: Vec<ContactId>,
}

/// A contact's followers after adding some.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FollowersAdded {
    /// Every follower of the contact.
    #[serde(default, deserialize_with = "null_as_default")]
    pub followers: Vec<UserId>,
    /// The ones this call added.
    #[serde(default, deserialize_with = "null_as_default")]
    pub followers_added: Vec<UserId>,
}

/// A contact's followers after removing some.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FollowersRemoved {
    /// Every follower of the contact.
    #[serde(default, deserialize_with = "null_as_default")]
    pub followers: Vec<UserId>,
    /// The ones this call removed.
    #[serde(default, deserialize_with = "null_as_default")]
    pub followers_removed: Vec<UserId>,
}

// ---------------------------------------------------------------------------------------------
// Calendars and appointments

/// Status of an appointment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AppointmentStatus {
    /// Booked, not yet confirmed.
    New,
    /// Confirmed.
    Confirmed,
    /// Cancelled.
    Cancelled,
    /// The contact came.
    Showed,
    /// The contact did not come.
    Noshow,
    /// Invalid.
    Invalid,
}

/// Where a meeting takes place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MeetingLocationType {
    /// A custom location or link.
    Custom,
    /// Zoom.
    Zoom,
    /// Google Meet.
    Gmeet,
    /// A phone call.
    Phone,
    /// A street address.
    Address,
    /// Microsoft Teams.
    MsTeams,
    /// Google.
    Google,
}

/// Who created or last changed an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedBy {
    /// The user, when a user did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// `third_party`, `booking_widget`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// An appointment (calendar event) as read: the union of the spec's appointment, calendar-event
/// and contact-appointment shapes.
///
/// Times are kept as the service writes them: ISO 8601 with an offset in the Calendars API,
/// `YYYY-MM-DD HH:mm:ss` in a contact's appointment list (README §13.16). The spec types some of
/// them as `object`; every example is a string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Appointment {
    /// Event id.
    pub id: EventId,
    /// Calendar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar_id: Option<CalendarId>,
    /// Location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub location_id: Option<LocationId>,
    /// Contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub contact_id: Option<ContactId>,
    /// Calendar group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<CalendarGroupId>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Event status (contact appointment lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// `new`, `confirmed`, `cancelled`, `showed`, `noshow`, `invalid`, `active`, `completed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment_status: Option<String>,
    /// Assigned user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_user_id: Option<UserId>,
    /// Users taking part.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub users: Vec<UserId>,
    /// Notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Address or meeting link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Meeting location type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_location_type: Option<String>,
    /// Start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// End.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_added: Option<String>,
    /// Last update time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_updated: Option<String>,
    /// Whether it is part of a recurring series (the spec's example is the string `"true"`).
    #[serde(
        default,
        deserialize_with = "lenient_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_recurring: Option<bool>,
    /// Recurrence rule (RFC 5545) of a series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rrule: Option<String>,
    /// The series an instance belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_event_id: Option<EventId>,
    /// Rooms and equipment booked.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub assigned_resources: Vec<String>,
    /// Who created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<CreatedBy>,
}

/// An appointment to book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentInput {
    /// Calendar to book in.
    pub calendar_id: CalendarId,
    /// The contact it is for.
    #[schemars(with = "String")]
    pub contact_id: ContactId,
    /// Start, with an offset (`2021-06-23T03:30:00+05:30`).
    pub start_time: DateTime<FixedOffset>,
    /// End; the calendar's slot length when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<DateTime<FixedOffset>>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment_status: Option<AppointmentStatus>,
    /// Assigned user (a team member of the calendar).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_user_id: Option<UserId>,
    /// Address or meeting link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Meeting location type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_location_type: Option<MeetingLocationType>,
    /// Which of the calendar's configured locations (`custom_0`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_location_id: Option<String>,
    /// Use `address` / `meetingLocationType` instead of the calendar's configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_location_config: Option<bool>,
    /// Book outside the calendar's date range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_date_range: Option<bool>,
    /// Book even when the slot is not free.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_free_slot_validation: Option<bool>,
    /// `false`: run no automations or notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_notify: Option<bool>,
    /// Recurrence rule; applied only with `ignoreFreeSlotValidation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rrule: Option<String>,
}

/// The body of create-appointment: the location plus the input.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateAppointmentBody<'a> {
    pub location_id: &'a LocationId,
    #[serde(flatten)]
    pub appointment: &'a AppointmentInput,
}

/// Changes to an appointment; unset fields are left alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentUpdate {
    /// Move it to another calendar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar_id: Option<CalendarId>,
    /// Start, with an offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<DateTime<FixedOffset>>,
    /// End, with an offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<DateTime<FixedOffset>>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment_status: Option<AppointmentStatus>,
    /// Assigned user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_user_id: Option<UserId>,
    /// Address or meeting link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Meeting location type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_location_type: Option<MeetingLocationType>,
    /// Which of the calendar's configured locations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_location_id: Option<String>,
    /// Use `address` / `meetingLocationType` instead of the calendar's configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_location_config: Option<bool>,
    /// Allow a time outside the calendar's date range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_date_range: Option<bool>,
    /// Allow a slot that is not free.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_free_slot_validation: Option<bool>,
    /// `false`: run no automations or notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_notify: Option<bool>,
    /// Recurrence rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rrule: Option<String>,
}

/// A team member of a calendar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamMember {
    /// The user.
    pub user_id: UserId,
    /// Round-robin priority (0, 0.5 or 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<f64>,
    /// Whether this is the calendar's primary member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_primary: Option<bool>,
}

/// A calendar: the fields a flow needs to pick one and book into it (the spec's `CalendarDTO`
/// has some sixty configuration fields; the others are ignored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Calendar {
    /// Calendar id.
    pub id: CalendarId,
    /// Location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub location_id: Option<LocationId>,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<CalendarGroupId>,
    /// Booking page slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    /// Widget slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub widget_slug: Option<String>,
    /// `round_robin`, `event`, `class_booking`, `collective`, `service_booking`, `personal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar_type: Option<String>,
    /// Round-robin strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// Title template of booked events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_title: Option<String>,
    /// Colour of booked events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_color: Option<String>,
    /// Whether it takes bookings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
    /// Slot length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot_duration: Option<f64>,
    /// Unit of the slot length (`mins`, `hours`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot_duration_unit: Option<String>,
    /// Time between slot starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot_interval: Option<f64>,
    /// Unit of the slot interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot_interval_unit: Option<String>,
    /// Team members.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub team_members: Vec<TeamMember>,
}

/// Which calendars to list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CalendarsQuery {
    /// Only this group's calendars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<CalendarGroupId>,
    /// Include drafts (the service's default is `true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_drafted: Option<bool>,
}

/// Which events to list: a time window and one of a calendar, a user or a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CalendarEventsQuery {
    /// Window start (sent as epoch milliseconds).
    pub start_time: DateTime<Utc>,
    /// Window end (sent as epoch milliseconds).
    pub end_time: DateTime<Utc>,
    /// Events of this calendar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar_id: Option<CalendarId>,
    /// Events owned by this user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// Events of this calendar group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<CalendarGroupId>,
}

// ---------------------------------------------------------------------------------------------
// Envelopes: the top-level keys answers are wrapped in.

#[derive(Deserialize)]
pub(crate) struct ContactEnvelope {
    pub contact: Contact,
}

#[derive(Deserialize)]
pub(crate) struct TaskEnvelope {
    pub task: Task,
}

#[derive(Deserialize)]
pub(crate) struct TasksEnvelope {
    #[serde(default, deserialize_with = "null_as_default")]
    pub tasks: Vec<Task>,
}

#[derive(Deserialize)]
pub(crate) struct NoteEnvelope {
    pub note: Note,
}

#[derive(Deserialize)]
pub(crate) struct NotesEnvelope {
    #[serde(default, deserialize_with = "null_as_default")]
    pub notes: Vec<Note>,
}

#[derive(Deserialize)]
pub(crate) struct EventEnvelope {
    pub event: Appointment,
}

#[derive(Deserialize)]
pub(crate) struct EventsEnvelope {
    #[serde(default, deserialize_with = "null_as_default")]
    pub events: Vec<Appointment>,
}

#[derive(Deserialize)]
pub(crate) struct CalendarEnvelope {
    pub calendar: Calendar,
}

#[derive(Deserialize)]
pub(crate) struct CalendarsEnvelope {
    #[serde(default, deserialize_with = "null_as_default")]
    pub calendars: Vec<Calendar>,
}

/// The body of operations whose spec requires a body with no fields.
#[derive(Debug, Serialize)]
pub(crate) struct EmptyBody {}

// ---------------------------------------------------------------------------------------------
// Lenient readers

/// `null` read as the type's default (an empty list), as the service sends `null` for empty
/// lists in places.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A count or timestamp sent as an integer, a float (`12.0`) or a numeric string.
fn lenient_u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    use serde::de::Error as _;
    let value = Option::<Value>::deserialize(deserializer)?;
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => number
            .as_u64()
            .or_else(|| {
                number
                    .as_f64()
                    .filter(|float| float.fract() == 0.0 && *float >= 0.0)
                    // Exact for every count and epoch-ms value below 2^53.
                    .map(|float| float as u64)
            })
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("{number} is not a whole number"))),
        Some(Value::String(text)) => text
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom(format!("{text:?} is not a whole number"))),
        Some(other) => Err(D::Error::custom(format!("{other} is not a whole number"))),
    }
}

/// A boolean sent as `true` or as the string `"true"`.
fn lenient_opt_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    use serde::de::Error as _;
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(flag)),
        Some(Value::String(text)) if text.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(text)) if text.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(other) => Err(D::Error::custom(format!("{other} is not a boolean"))),
    }
}

/// Like [`lenient_opt_bool`], `false` when absent or null.
fn lenient_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(lenient_opt_bool(deserializer)?.unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read<T: for<'de> Deserialize<'de>>(value: Value) -> T {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn both_spellings_of_succeeded_are_read() {
        let check = |value: Value, expected: bool| {
            assert_eq!(
                read::<Succeeded>(value.clone()).succeeded,
                expected,
                "{value}"
            );
        };
        check(json!({"succeded": true}), true);
        check(json!({"succeeded": false}), false);
        check(json!({"succeded": false, "succeeded": true}), true);
        check(json!({}), true);
    }

    #[test]
    fn total_is_read_from_total_or_count() {
        let check = |value: Value, expected: Option<u64>| {
            assert_eq!(
                read::<ContactPage>(value.clone()).total,
                expected,
                "{value}"
            );
        };
        check(json!({"contacts": [], "total": 3}), Some(3));
        check(json!({"contacts": [], "count": 4.0}), Some(4));
        check(json!({"contacts": [], "count": "5"}), Some(5));
        check(json!({"contacts": null}), None);
    }

    #[test]
    fn custom_field_values_keep_their_json_type() {
        let check = |value: Value, expected: CustomFieldValue| {
            let input: CustomFieldInput = read(json!({"id": "f1", "field_value": value}));
            assert_eq!(input.field_value, expected);
            assert_eq!(serde_json::to_value(&input).unwrap()["field_value"], value);
        };
        check(json!("rose"), CustomFieldValue::Text("rose".into()));
        check(
            json!(["a", "b"]),
            CustomFieldValue::List(vec!["a".into(), "b".into()]),
        );
        check(
            json!(12.5),
            CustomFieldValue::Number(Number::from_f64(12.5).unwrap()),
        );
        check(
            json!({"f": {"url": "u"}}),
            CustomFieldValue::Object(json!({"f": {"url": "u"}}).as_object().unwrap().clone()),
        );
        let v3: CustomFieldInput = read(json!({"key": "contact.flower", "fieldValue": "tulip"}));
        assert_eq!(v3.field_value, CustomFieldValue::Text("tulip".into()));
    }

    #[test]
    fn dnd_settings_read_v3_keys_and_write_v2_keys() {
        let settings: DndSettings = read(
            json!({"sms": {"status": "active"}, "Call": {"status": "permanent", "code": "x"}}),
        );
        assert_eq!(settings.sms.as_ref().unwrap().status, DndStatus::Active);
        let written = serde_json::to_value(&settings).unwrap();
        assert_eq!(
            written,
            json!({"Call": {"status": "permanent", "code": "x"}, "SMS": {"status": "active"}})
        );
    }

    #[test]
    fn appointments_read_string_booleans_and_unknown_fields() {
        let event: Appointment =
            read(json!({"id": "e1", "isRecurring": "true", "somethingNew": 1, "users": null}));
        assert_eq!(event.is_recurring, Some(true));
        assert!(event.users.is_empty());
    }

    #[test]
    fn search_filters_nest() {
        let request: SearchRequest = read(json!({
            "filters": [
                {"group": "OR", "filters": [
                    {"field": "tags", "operator": "eq", "value": "vip"},
                    {"field": "email", "operator": "exists"}
                ]}
            ]
        }));
        assert_eq!(request.page_limit, 100);
        let SearchFilter::Group { group, filters } = &request.filters[0] else {
            panic!("not a group: {request:?}");
        };
        assert_eq!(*group, FilterGroup::Or);
        assert_eq!(filters.len(), 2);
        let written = serde_json::to_value(&request).unwrap();
        assert_eq!(
            written["filters"][0]["filters"][1],
            json!({"field": "email", "operator": "exists"})
        );
    }
}
