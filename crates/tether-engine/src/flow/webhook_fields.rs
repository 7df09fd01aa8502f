//! The top-level fields of each GHL webhook event's payload, so that a flow reading
//! `trigger.emial` is told before it runs that no such event carries that field.
//!
//! Derived from the official payload examples of GoHighLevel/highlevel-api-docs at commit
//! `0af86a4cbd48c66a4071c7e509d1079f9f10ed17` (`docs/webhook events/<Event>.md`, CC0-1.0): the
//! keys of each example, which the simulator also serves verbatim. Every delivery also carries
//! the envelope fields [`ENVELOPE_FIELDS`]. Events without an example here (opportunities) are
//! not checked.

/// Fields GHL adds to every delivery, whatever the event.
pub(crate) const ENVELOPE_FIELDS: [&str; 2] = ["timestamp", "webhookId"];

/// A contact event's payload: the contact itself.
const CONTACT: &[&str] = &[
    "address1",
    "assignedTo",
    "attachments",
    "city",
    "companyName",
    "country",
    "customFields",
    "dateAdded",
    "dateOfBirth",
    "dnd",
    "email",
    "firstName",
    "id",
    "lastName",
    "locationId",
    "name",
    "phone",
    "postalCode",
    "source",
    "state",
    "tags",
    "type",
    "website",
];

/// A note event's payload.
const NOTE: &[&str] = &["body", "contactId", "dateAdded", "id", "locationId", "type"];

/// A task event's payload.
const TASK: &[&str] = &[
    "assignedTo",
    "body",
    "contactId",
    "dateAdded",
    "dueDate",
    "id",
    "locationId",
    "title",
    "type",
];

/// An appointment event's payload: the appointment nested under `appointment`.
const APPOINTMENT: &[&str] = &["appointment", "locationId", "type"];

/// Event type → the top-level fields of its payload, in groups (`ContactDndUpdate` is a contact
/// event's payload plus its `dndSettings`).
pub(crate) const EVENT_FIELDS: [(&str, &[&[&str]]); 14] = [
    ("ContactCreate", &[CONTACT]),
    ("ContactUpdate", &[CONTACT]),
    ("ContactDelete", &[CONTACT]),
    ("ContactDndUpdate", &[CONTACT, &["dndSettings"]]),
    ("ContactTagUpdate", &[CONTACT]),
    ("NoteCreate", &[NOTE]),
    ("NoteUpdate", &[NOTE]),
    ("NoteDelete", &[NOTE]),
    ("TaskCreate", &[TASK]),
    ("TaskComplete", &[TASK]),
    ("TaskDelete", &[TASK]),
    ("AppointmentCreate", &[APPOINTMENT]),
    ("AppointmentUpdate", &[APPOINTMENT]),
    ("AppointmentDelete", &[APPOINTMENT]),
];

/// The top-level fields of `event`'s payload, when its shape is known.
pub(crate) fn fields(event: &str) -> Option<impl Iterator<Item = &'static str>> {
    EVENT_FIELDS
        .iter()
        .find(|(known, _)| *known == event)
        .map(|(_, groups)| {
            groups
                .iter()
                .flat_map(|fields| fields.iter().copied())
                .chain(ENVELOPE_FIELDS)
        })
}
