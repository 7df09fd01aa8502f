//! JSON views of a contact, written straight from the stored record by a serializer (no
//! intermediate maps): the single-contact view (`GetContectByIdSchema`), the list/search view
//! (`ContactsSearchSchema` plus what real search answers carry) and the webhook payload.
//!
//! Absent optional fields are omitted rather than written as `null`: the spec types them as
//! plain strings, not nullable ones.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use crate::ghl::model::{Contact, CustomFieldValue, iso};

/// The `type` of contacts created through the API: GHL records them as leads.
const CONTACT_TYPE: &str = "lead";

/// Writes `key: value` only when the value is there.
fn entry<M: SerializeMap, T: Serialize + ?Sized>(
    map: &mut M,
    key: &str,
    value: Option<&T>,
) -> Result<(), M::Error> {
    match value {
        Some(value) => map.serialize_entry(key, value),
        None => Ok(()),
    }
}

/// A contact's custom field values as the answers' `CustomFieldSchema` declares them:
/// `{id, value}` with `value` a string. A stored string is written as is, a number or boolean as
/// its JSON text, an array (checkbox, multi-select) or object (file upload) as compact JSON text,
/// so a client can still read it back; a field without a value has no `value`.
///
/// README §4.2 says values keep their type on the wire; the spec says string, and the simulator
/// answers what the spec declares, since that is what clients generated from it can read.
struct SpecCustomFields<'a>(&'a [CustomFieldValue]);

impl Serialize for SpecCustomFields<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for field in self.0 {
            seq.serialize_element(&SpecCustomField(field))?;
        }
        seq.end()
    }
}

struct SpecCustomField<'a>(&'a CustomFieldValue);

impl Serialize for SpecCustomField<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", &self.0.id)?;
        match &self.0.value {
            Value::Null => {}
            Value::String(text) => map.serialize_entry("value", text)?,
            other => map.serialize_entry("value", &other.to_string())?,
        }
        map.end()
    }
}

/// The single-contact view of get / create / update / upsert / duplicate lookup.
pub struct FullView<'a>(pub &'a Contact);

impl Serialize for FullView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let contact = self.0;
        let full_name = contact.full_name();
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", &contact.id)?;
        entry(&mut map, "name", full_name.as_deref())?;
        map.serialize_entry("locationId", &contact.location_id)?;
        entry(&mut map, "firstName", contact.first_name.as_deref())?;
        entry(&mut map, "lastName", contact.last_name.as_deref())?;
        entry(
            &mut map,
            "firstNameLowerCase",
            contact
                .first_name
                .as_deref()
                .map(str::to_lowercase)
                .as_deref(),
        )?;
        entry(
            &mut map,
            "lastNameLowerCase",
            contact
                .last_name
                .as_deref()
                .map(str::to_lowercase)
                .as_deref(),
        )?;
        entry(
            &mut map,
            "fullNameLowerCase",
            full_name.as_deref().map(str::to_lowercase).as_deref(),
        )?;
        entry(&mut map, "email", contact.email.as_deref())?;
        entry(
            &mut map,
            "emailLowerCase",
            contact.email.as_deref().map(str::to_lowercase).as_deref(),
        )?;
        entry(&mut map, "phone", contact.phone.as_deref())?;
        entry(&mut map, "companyName", contact.company_name.as_deref())?;
        entry(&mut map, "address1", contact.address1.as_deref())?;
        entry(&mut map, "city", contact.city.as_deref())?;
        entry(&mut map, "state", contact.state.as_deref())?;
        entry(&mut map, "country", contact.country.as_deref())?;
        entry(&mut map, "postalCode", contact.postal_code.as_deref())?;
        entry(&mut map, "website", contact.website.as_deref())?;
        entry(&mut map, "timezone", contact.timezone.as_deref())?;
        map.serialize_entry("dnd", &contact.dnd)?;
        entry(&mut map, "dndSettings", contact.dnd_settings.as_ref())?;
        entry(
            &mut map,
            "inboundDndSettings",
            contact.inbound_dnd_settings.as_ref(),
        )?;
        map.serialize_entry("type", CONTACT_TYPE)?;
        entry(&mut map, "source", contact.source.as_deref())?;
        entry(&mut map, "assignedTo", contact.assigned_to.as_deref())?;
        entry(&mut map, "gender", contact.gender.as_deref())?;
        entry(&mut map, "dateOfBirth", contact.date_of_birth.as_deref())?;
        map.serialize_entry("tags", &contact.tags)?;
        map.serialize_entry("customFields", &SpecCustomFields(&contact.custom_fields))?;
        entry(&mut map, "businessId", contact.business_id.as_deref())?;
        map.serialize_entry("followers", &contact.followers)?;
        map.serialize_entry("dateAdded", &iso(contact.date_added))?;
        map.serialize_entry("dateUpdated", &iso(contact.date_updated))?;
        map.end()
    }
}

/// The list view of search, the deprecated list and the by-business list; `search_after` is the
/// cursor of this record (search only).
pub struct SearchView<'a> {
    /// The record.
    pub contact: &'a Contact,
    /// `[sort values..., id]`, the value to send as `searchAfter` to continue after this record.
    pub search_after: Option<Vec<Value>>,
}

impl Serialize for SearchView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let contact = self.contact;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", &contact.id)?;
        map.serialize_entry("locationId", &contact.location_id)?;
        entry(&mut map, "contactName", contact.full_name().as_deref())?;
        entry(&mut map, "firstName", contact.first_name.as_deref())?;
        entry(&mut map, "lastName", contact.last_name.as_deref())?;
        entry(
            &mut map,
            "firstNameLowerCase",
            contact
                .first_name
                .as_deref()
                .map(str::to_lowercase)
                .as_deref(),
        )?;
        entry(
            &mut map,
            "lastNameLowerCase",
            contact
                .last_name
                .as_deref()
                .map(str::to_lowercase)
                .as_deref(),
        )?;
        entry(&mut map, "email", contact.email.as_deref())?;
        entry(&mut map, "phone", contact.phone.as_deref())?;
        entry(&mut map, "companyName", contact.company_name.as_deref())?;
        // Real search answers name the street `address` (not `address1`).
        entry(&mut map, "address", contact.address1.as_deref())?;
        entry(&mut map, "city", contact.city.as_deref())?;
        entry(&mut map, "state", contact.state.as_deref())?;
        entry(&mut map, "country", contact.country.as_deref())?;
        entry(&mut map, "postalCode", contact.postal_code.as_deref())?;
        entry(&mut map, "website", contact.website.as_deref())?;
        entry(&mut map, "timezone", contact.timezone.as_deref())?;
        entry(&mut map, "source", contact.source.as_deref())?;
        map.serialize_entry("type", CONTACT_TYPE)?;
        map.serialize_entry("dnd", &contact.dnd)?;
        entry(&mut map, "dndSettings", contact.dnd_settings.as_ref())?;
        map.serialize_entry("tags", &contact.tags)?;
        map.serialize_entry("customFields", &SpecCustomFields(&contact.custom_fields))?;
        entry(&mut map, "businessId", contact.business_id.as_deref())?;
        entry(&mut map, "assignedTo", contact.assigned_to.as_deref())?;
        map.serialize_entry("followers", &contact.followers)?;
        entry(&mut map, "dateOfBirth", contact.date_of_birth.as_deref())?;
        map.serialize_entry("dateAdded", &iso(contact.date_added))?;
        map.serialize_entry("dateUpdated", &iso(contact.date_updated))?;
        entry(&mut map, "searchAfter", self.search_after.as_ref())?;
        map.end()
    }
}

/// The webhook payload of the contact events (`webhook-examples/Contact*.json`): a flat contact;
/// `dndSettings` only for `ContactDndUpdate`. `type` and `locationId` are added by the outbox.
struct WebhookView<'a> {
    contact: &'a Contact,
    with_dnd_settings: bool,
}

impl Serialize for WebhookView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let contact = self.contact;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", &contact.id)?;
        entry(&mut map, "address1", contact.address1.as_deref())?;
        entry(&mut map, "city", contact.city.as_deref())?;
        entry(&mut map, "state", contact.state.as_deref())?;
        entry(&mut map, "companyName", contact.company_name.as_deref())?;
        entry(&mut map, "country", contact.country.as_deref())?;
        entry(&mut map, "source", contact.source.as_deref())?;
        map.serialize_entry("dateAdded", &iso(contact.date_added))?;
        entry(&mut map, "dateOfBirth", contact.date_of_birth.as_deref())?;
        map.serialize_entry("dnd", &contact.dnd)?;
        if self.with_dnd_settings {
            entry(&mut map, "dndSettings", contact.dnd_settings.as_ref())?;
        }
        entry(&mut map, "email", contact.email.as_deref())?;
        entry(&mut map, "name", contact.full_name().as_deref())?;
        entry(&mut map, "firstName", contact.first_name.as_deref())?;
        entry(&mut map, "lastName", contact.last_name.as_deref())?;
        entry(&mut map, "phone", contact.phone.as_deref())?;
        entry(&mut map, "postalCode", contact.postal_code.as_deref())?;
        map.serialize_entry("tags", &contact.tags)?;
        entry(&mut map, "website", contact.website.as_deref())?;
        map.serialize_entry("attachments", &[] as &[Value])?;
        entry(&mut map, "assignedTo", contact.assigned_to.as_deref())?;
        map.serialize_entry("customFields", &contact.custom_fields)?;
        map.end()
    }
}

/// The payload of a contact event for `contact`.
pub fn webhook_payload(contact: &Contact, with_dnd_settings: bool) -> Value {
    serde_json::to_value(WebhookView {
        contact,
        with_dnd_settings,
    })
    .unwrap_or_else(|error| {
        tracing::error!(%error, contact_id = %contact.id, "Serializing a webhook payload failed.");
        Value::Object(serde_json::Map::new())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_payload_has_the_fields_of_the_documented_example() {
        let example: Value = serde_json::from_str(include_str!(
            "../../../spec/ghl/webhook-examples/ContactDndUpdate.json"
        ))
        .unwrap();
        let contact = Contact {
            id: "c1".into(),
            location_id: "l1".into(),
            first_name: Some("John".into()),
            last_name: Some("Deo".into()),
            email: Some("john@deo.com".into()),
            phone: Some("+15550000000".into()),
            company_name: Some("Deo Inc".into()),
            address1: Some("1 Main St".into()),
            city: Some("Dolomite".into()),
            state: Some("AL".into()),
            postal_code: Some("35061".into()),
            country: Some("US".into()),
            website: Some("https://deo.com".into()),
            source: Some("api".into()),
            assigned_to: Some("u1".into()),
            date_of_birth: Some("2000-01-05T00:00:00.000Z".into()),
            dnd_settings: Some(serde_json::json!({"SMS": {"status": "active"}})),
            tags: vec!["a".into()],
            custom_fields: vec![crate::ghl::model::CustomFieldValue {
                id: "f".into(),
                value: "v".into(),
            }],
            ..Contact::default()
        };
        let payload = webhook_payload(&contact, true);
        let mut expected: Vec<&String> = example
            .as_object()
            .unwrap()
            .keys()
            .filter(|key| !["type", "locationId"].contains(&key.as_str()))
            .collect();
        let mut got: Vec<&String> = payload.as_object().unwrap().keys().collect();
        expected.sort();
        got.sort();
        assert_eq!(got, expected);
        assert!(
            webhook_payload(&contact, false)
                .get("dndSettings")
                .is_none()
        );
    }
}
