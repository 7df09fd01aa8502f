//! The HighLevel entries of the catalog: one [`OperationMeta`] per operation, with JSON Schemas
//! derived from the typed input and output, and [`invoke`], which runs any of them from JSON.
//!
//! Both come from one table (the `operations!` invocation below), so an entry cannot describe
//! types other than the ones its call takes and returns.
//!
//! Inputs never carry `locationId`: the connection's location is the client's.

use crate::input::{self, input_schema, output_schema};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tether_core::catalog::{OperationKind, OperationMeta};

use super::models::{
    Appointment, AppointmentInput, AppointmentUpdate, BulkBusinessResult, BulkTagsResult,
    BusinessContactsQuery, Calendar, CalendarEventsQuery, CalendarsQuery, Contact, ContactInput,
    ContactPage, DuplicateContact, FollowersAdded, FollowersRemoved, ListContactsQuery, Note,
    NoteInput, NoteUpdate, SearchRequest, Succeeded, TagAction, Tags, Task, TaskInput, TaskUpdate,
    UpsertedContact,
};
use super::poll::{
    BusinessPollInput, ContactChange, PollCursor, PollInput, PollOutput, SeenCursor, SeenPollInput,
};
use super::{
    BusinessId, CalendarId, CampaignId, ContactId, Error, EventId, GhlClient, NoteId, TaskId,
    UserId, WorkflowId,
};

const CONTACTS_READ: &str = "contacts.readonly";
const CONTACTS_WRITE: &str = "contacts.write";
const CALENDARS_READ: &str = "calendars.readonly";
const EVENTS_READ: &str = "calendars/events.readonly";
const EVENTS_WRITE: &str = "calendars/events.write";

// ---------------------------------------------------------------------------------------------
// Inputs and outputs that exist only for the catalog: path ids next to a body, lists in objects.

/// A contact, by id.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactRef {
    /// The contact.
    #[schemars(with = "String")]
    pub contact_id: ContactId,
}

/// A contact, by id, and a body for it.
#[derive(Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OnContact<T> {
    /// The contact.
    #[schemars(with = "String")]
    pub contact_id: ContactId,
    /// The body.
    #[serde(flatten)]
    pub body: T,
}

/// A task of a contact, and a body for it.
#[derive(Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OnTask<T> {
    /// The contact.
    #[schemars(with = "String")]
    pub contact_id: ContactId,
    /// The task.
    pub task_id: TaskId,
    /// The body.
    #[serde(flatten)]
    pub body: T,
}

/// A note of a contact, and a body for it.
#[derive(Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OnNote<T> {
    /// The contact.
    #[schemars(with = "String")]
    pub contact_id: ContactId,
    /// The note.
    pub note_id: NoteId,
    /// The body.
    #[serde(flatten)]
    pub body: T,
}

/// An appointment, by id, and a body for it.
#[derive(Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OnEvent<T> {
    /// The appointment (calendar event).
    pub event_id: EventId,
    /// The body.
    #[serde(flatten)]
    pub body: T,
}

/// No further fields.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct NoFields {}

/// Whether a task is done.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Completion {
    /// `true` (the default) marks it done, `false` not done.
    #[serde(default = "yes")]
    pub completed: bool,
}

fn yes() -> bool {
    true
}

/// An upsert: the contact fields and the duplicate setting.
#[derive(Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpsertInput {
    /// The contact fields.
    #[serde(flatten)]
    pub contact: ContactInput,
    /// Create right away when the location allows duplicates.
    #[serde(default)]
    pub create_new_if_duplicate_allowed: Option<bool>,
}

/// What to look a duplicate up by.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DuplicateQuery {
    /// E-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// Phone (E.164).
    #[serde(default)]
    pub phone: Option<String>,
}

/// Tags to add or remove.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TagsInput {
    /// The tags.
    pub tags: Vec<String>,
}

/// A tag update of many contacts.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkTagsInput {
    /// Add or remove.
    pub action: TagAction,
    /// The contacts.
    #[schemars(with = "Vec<String>")]
    pub contacts: Vec<ContactId>,
    /// The tags.
    pub tags: Vec<String>,
    /// With `remove`: remove every tag of the contacts.
    #[serde(default)]
    pub remove_all_tags: Option<bool>,
}

/// Contacts to put in a business, or to take out of theirs.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BusinessContactsInput {
    /// The contacts.
    #[schemars(with = "Vec<String>")]
    pub contacts: Vec<ContactId>,
    /// The business; `null` takes the contacts out of their business. Required, so that
    /// forgetting it cannot detach contacts.
    #[serde(deserialize_with = "required_nullable")]
    #[schemars(with = "RequiredNullableId")]
    pub business_id: Option<BusinessId>,
}

/// Followers to add or remove.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FollowersInput {
    /// User ids.
    pub followers: Vec<UserId>,
}

/// A contact and a campaign.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CampaignInput {
    /// The contact.
    #[schemars(with = "String")]
    pub contact_id: ContactId,
    /// The campaign.
    pub campaign_id: CampaignId,
}

/// A contact and a workflow.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowInput {
    /// The contact.
    #[schemars(with = "String")]
    pub contact_id: ContactId,
    /// The workflow.
    pub workflow_id: WorkflowId,
    /// When the workflow's time-based steps count from, with an offset.
    #[serde(default)]
    pub event_start_time: Option<chrono::DateTime<chrono::FixedOffset>>,
}

/// A calendar, by id.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CalendarRef {
    /// The calendar.
    pub calendar_id: CalendarId,
}

/// A contact's tasks.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TaskList {
    /// The tasks.
    pub tasks: Vec<Task>,
}

/// A contact's notes.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NoteList {
    /// The notes.
    pub notes: Vec<Note>,
}

/// Calendar events.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EventList {
    /// The events.
    pub events: Vec<Appointment>,
}

/// Calendars.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CalendarList {
    /// The calendars.
    pub calendars: Vec<Calendar>,
}

/// The schema of an id that must be present but may be `null`: schemars makes every `Option`
/// field optional, and its `required` attribute forbids `null`.
struct RequiredNullableId;

impl JsonSchema for RequiredNullableId {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RequiredNullableId".into()
    }

    fn json_schema(_generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": ["string", "null"]})
    }
}

/// A field that must be present but may be `null`.
fn required_nullable<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer)
}

// ---------------------------------------------------------------------------------------------
// The table

/// An operation's metadata of the given kind.
fn meta(kind: OperationKind, id: &str, title: &str, description: &str) -> OperationMeta {
    match kind {
        OperationKind::Action => OperationMeta::action(id, title, description),
        OperationKind::Trigger => OperationMeta::trigger(id, title, description),
    }
}

/// The kind of a table entry: an action unless it says `kind: trigger`.
macro_rules! kind {
    () => {
        OperationKind::Action
    };
    (trigger) => {
        OperationKind::Trigger
    };
}

/// Declares every operation once: id, kind (actions by default), title, description, scopes,
/// input type, output type and the call. Generates [`operations`] and [`invoke`].
macro_rules! operations {
    ($(
        $id:literal {
            $(kind: $kind:ident,)?
            title: $title:literal,
            description: $description:literal,
            scopes: [$($scope:expr),*],
            input: $input:ty,
            output: $output:ty,
            call: |$client:ident, $arg:ident| $call:expr $(,)?
        }
    )*) => {
        /// Every HighLevel operation of the catalog.
        pub fn operations() -> Vec<OperationMeta> {
            vec![$(
                meta(kind!($($kind)?), $id, $title, $description)
                    .with_scopes([$($scope),*])
                    .with_schemas(input_schema::<$input>(), output_schema::<$output>()),
            )*]
        }

        /// Runs the operation `id` with a JSON `input` (its input schema's shape) and answers its
        /// output as JSON. A field of the wrong type or an unknown field is refused with its JSON
        /// path before anything is sent; an unknown id is [`Error::UnknownOperation`].
        pub async fn invoke(client: &GhlClient, id: &str, input: Value) -> Result<Value, Error> {
            match id {
                $(
                    $id => {
                        let $arg: $input = decode(input)?;
                        let $client = client;
                        let output: $output = $call.await?;
                        serde_json::to_value(output).map_err(Error::Encode)
                    }
                )*
                _ => Err(Error::UnknownOperation { id: id.to_owned() }),
            }
        }
    };
}

operations! {
    // Contacts ---------------------------------------------------------------------------------
    "ghl.contact.get" {
        title: "Get contact",
        description: "Reads one contact by its id.",
        scopes: [CONTACTS_READ],
        input: ContactRef,
        output: Contact,
        call: |client, input| client.contacts().get(&input.contact_id),
    }
    "ghl.contact.create" {
        title: "Create contact",
        description: "Creates a contact in the connection's location. Fails if the location does not allow duplicates and the e-mail or phone is taken; use upsert to create or update.",
        scopes: [CONTACTS_WRITE],
        input: ContactInput,
        output: Contact,
        call: |client, input| client.contacts().create(&input),
    }
    "ghl.contact.update" {
        title: "Update contact",
        description: "Changes the given fields of a contact. Tags, when given, replace all of the contact's tags.",
        scopes: [CONTACTS_WRITE],
        input: OnContact<ContactInput>,
        output: Contact,
        call: |client, input| client.contacts().update(&input.contact_id, &input.body),
    }
    "ghl.contact.delete" {
        title: "Delete contact",
        description: "Deletes a contact with its tasks, notes and appointments.",
        scopes: [CONTACTS_WRITE],
        input: ContactRef,
        output: Succeeded,
        call: |client, input| client.contacts().delete(&input.contact_id),
    }
    "ghl.contact.upsert" {
        title: "Create or update contact",
        description: "Updates the contact that matches by e-mail or phone (following the location's duplicate settings), or creates one. Safe to repeat.",
        scopes: [CONTACTS_WRITE],
        input: UpsertInput,
        output: UpsertedContact,
        call: |client, input| client.contacts().upsert(&input.contact, input.create_new_if_duplicate_allowed),
    }
    "ghl.contact.search" {
        title: "Search contacts",
        description: "Finds contacts by filters, free text and sort order; answers one page, with a searchAfter cursor on each contact to continue.",
        scopes: [CONTACTS_READ],
        input: SearchRequest,
        output: ContactPage,
        call: |client, input| client.contacts().search(&input),
    }
    "ghl.contact.find_duplicate" {
        title: "Find duplicate contact",
        description: "Finds the contact the location's duplicate rules match for an e-mail and/or a phone, if any.",
        scopes: [CONTACTS_READ],
        input: DuplicateQuery,
        output: DuplicateContact,
        call: |client, input| async move {
            let contact = client
                .contacts()
                .find_duplicate(input.email.as_deref(), input.phone.as_deref())
                .await?;
            Ok::<_, Error>(DuplicateContact { contact })
        },
    }
    "ghl.contact.list" {
        title: "List contacts (deprecated)",
        description: "Lists the location's contacts one page at a time with the older list endpoint, which HighLevel has deprecated in favour of search.",
        scopes: [CONTACTS_READ],
        input: ListContactsQuery,
        output: ContactPage,
        call: |client, input| client.contacts().list(&input),
    }
    "ghl.contact.list_appointments" {
        title: "List contact's appointments",
        description: "Lists every appointment booked for a contact.",
        scopes: [CONTACTS_READ],
        input: ContactRef,
        output: EventList,
        call: |client, input| async move {
            let events = client.calendars().contact_appointments(&input.contact_id).await?;
            Ok::<_, Error>(EventList { events })
        },
    }
    // Businesses -------------------------------------------------------------------------------
    "ghl.business.list_contacts" {
        title: "List business's contacts",
        description: "Lists the contacts of a business one page at a time.",
        scopes: [CONTACTS_READ],
        input: BusinessContactsQuery,
        output: ContactPage,
        call: |client, input| client.businesses().contacts(&input),
    }
    // The spec declares no security for the two bulk operations (README §13.3); they change
    // contacts, so the catalog asks for contacts.write.
    "ghl.business.set_contacts" {
        title: "Add or remove contacts from business",
        description: "Puts contacts in a business, or takes them out of theirs when the business is null.",
        scopes: [CONTACTS_WRITE],
        input: BusinessContactsInput,
        output: BulkBusinessResult,
        call: |client, input| client.businesses().set_contacts(&input.contacts, input.business_id.as_ref()),
    }
    // Tags -------------------------------------------------------------------------------------
    "ghl.tag.add" {
        title: "Add tags",
        description: "Adds tags to a contact, keeping the ones it has.",
        scopes: [CONTACTS_WRITE],
        input: OnContact<TagsInput>,
        output: Tags,
        call: |client, input| client.tags().add(&input.contact_id, &input.body.tags),
    }
    "ghl.tag.remove" {
        title: "Remove tags",
        description: "Removes tags from a contact.",
        scopes: [CONTACTS_WRITE],
        input: OnContact<TagsInput>,
        output: Tags,
        call: |client, input| client.tags().remove(&input.contact_id, &input.body.tags),
    }
    "ghl.tag.bulk_update" {
        title: "Update tags of many contacts",
        description: "Adds tags to, or removes tags from, many contacts at once.",
        scopes: [CONTACTS_WRITE],
        input: BulkTagsInput,
        output: BulkTagsResult,
        call: |client, input| client.tags().bulk_update(input.action, &input.contacts, &input.tags, input.remove_all_tags),
    }
    // Tasks ------------------------------------------------------------------------------------
    "ghl.task.list" {
        title: "List tasks",
        description: "Lists every task of a contact.",
        scopes: [CONTACTS_READ],
        input: ContactRef,
        output: TaskList,
        call: |client, input| async move {
            let tasks = client.tasks().list(&input.contact_id).await?;
            Ok::<_, Error>(TaskList { tasks })
        },
    }
    "ghl.task.create" {
        title: "Create task",
        description: "Adds a task with a due date to a contact.",
        scopes: [CONTACTS_WRITE],
        input: OnContact<TaskInput>,
        output: Task,
        call: |client, input| client.tasks().create(&input.contact_id, &input.body),
    }
    "ghl.task.get" {
        title: "Get task",
        description: "Reads one task of a contact.",
        scopes: [CONTACTS_READ],
        input: OnTask<NoFields>,
        output: Task,
        call: |client, input| client.tasks().get(&input.contact_id, &input.task_id),
    }
    "ghl.task.update" {
        title: "Update task",
        description: "Changes the given fields of a task.",
        scopes: [CONTACTS_WRITE],
        input: OnTask<TaskUpdate>,
        output: Task,
        call: |client, input| client.tasks().update(&input.contact_id, &input.task_id, &input.body),
    }
    "ghl.task.delete" {
        title: "Delete task",
        description: "Deletes a task of a contact.",
        scopes: [CONTACTS_WRITE],
        input: OnTask<NoFields>,
        output: Succeeded,
        call: |client, input| client.tasks().delete(&input.contact_id, &input.task_id),
    }
    "ghl.task.complete" {
        title: "Complete task",
        description: "Marks a task done, or not done again.",
        scopes: [CONTACTS_WRITE],
        input: OnTask<Completion>,
        output: Task,
        call: |client, input| client.tasks().complete(&input.contact_id, &input.task_id, input.body.completed),
    }
    // Notes ------------------------------------------------------------------------------------
    "ghl.note.list" {
        title: "List notes",
        description: "Lists every note of a contact.",
        scopes: [CONTACTS_READ],
        input: ContactRef,
        output: NoteList,
        call: |client, input| async move {
            let notes = client.notes().list(&input.contact_id).await?;
            Ok::<_, Error>(NoteList { notes })
        },
    }
    "ghl.note.create" {
        title: "Create note",
        description: "Adds a note to a contact.",
        scopes: [CONTACTS_WRITE],
        input: OnContact<NoteInput>,
        output: Note,
        call: |client, input| client.notes().create(&input.contact_id, &input.body),
    }
    "ghl.note.get" {
        title: "Get note",
        description: "Reads one note of a contact.",
        scopes: [CONTACTS_READ],
        input: OnNote<NoFields>,
        output: Note,
        call: |client, input| client.notes().get(&input.contact_id, &input.note_id),
    }
    "ghl.note.update" {
        title: "Update note",
        description: "Changes the given fields of a note.",
        scopes: [CONTACTS_WRITE],
        input: OnNote<NoteUpdate>,
        output: Note,
        call: |client, input| client.notes().update(&input.contact_id, &input.note_id, &input.body),
    }
    "ghl.note.delete" {
        title: "Delete note",
        description: "Deletes a note of a contact.",
        scopes: [CONTACTS_WRITE],
        input: OnNote<NoFields>,
        output: Succeeded,
        call: |client, input| client.notes().delete(&input.contact_id, &input.note_id),
    }
    // Followers --------------------------------------------------------------------------------
    "ghl.follower.add" {
        title: "Add followers",
        description: "Adds users as followers of a contact, so they are told about its activity.",
        scopes: [CONTACTS_WRITE],
        input: OnContact<FollowersInput>,
        output: FollowersAdded,
        call: |client, input| client.followers().add(&input.contact_id, &input.body.followers),
    }
    "ghl.follower.remove" {
        title: "Remove followers",
        description: "Removes users from a contact's followers.",
        scopes: [CONTACTS_WRITE],
        input: OnContact<FollowersInput>,
        output: FollowersRemoved,
        call: |client, input| client.followers().remove(&input.contact_id, &input.body.followers),
    }
    // Campaigns --------------------------------------------------------------------------------
    "ghl.campaign.add_contact" {
        title: "Add contact to campaign",
        description: "Adds a contact to a campaign.",
        scopes: [CONTACTS_WRITE],
        input: CampaignInput,
        output: Succeeded,
        call: |client, input| client.campaigns().add_contact(&input.contact_id, &input.campaign_id),
    }
    "ghl.campaign.remove_contact" {
        title: "Remove contact from campaign",
        description: "Takes a contact out of one campaign.",
        scopes: [CONTACTS_WRITE],
        input: CampaignInput,
        output: Succeeded,
        call: |client, input| client.campaigns().remove_contact(&input.contact_id, &input.campaign_id),
    }
    "ghl.campaign.remove_contact_from_all" {
        title: "Remove contact from every campaign",
        description: "Takes a contact out of every campaign it is in.",
        scopes: [CONTACTS_WRITE],
        input: ContactRef,
        output: Succeeded,
        call: |client, input| client.campaigns().remove_contact_from_all(&input.contact_id),
    }
    // Workflows --------------------------------------------------------------------------------
    "ghl.workflow.add_contact" {
        title: "Add contact to workflow",
        description: "Enrols a contact in a workflow, optionally with the time its timed steps count from.",
        scopes: [CONTACTS_WRITE],
        input: WorkflowInput,
        output: Succeeded,
        call: |client, input| client.workflows().add_contact(&input.contact_id, &input.workflow_id, input.event_start_time),
    }
    "ghl.workflow.remove_contact" {
        title: "Remove contact from workflow",
        description: "Takes a contact out of a workflow.",
        scopes: [CONTACTS_WRITE],
        input: WorkflowInput,
        output: Succeeded,
        call: |client, input| client.workflows().remove_contact(&input.contact_id, &input.workflow_id, input.event_start_time),
    }
    // Polling triggers -------------------------------------------------------------------------
    "ghl.contact.new" {
        kind: trigger,
        title: "New contact",
        description: "Polls for contacts added since the cursor, oldest first, each once: the contact as search answers it, plus created_at and updated_at.",
        scopes: [CONTACTS_READ],
        input: PollInput,
        output: PollOutput<PollCursor>,
        call: |client, input| async move {
            let batch = client.polls().contacts(ContactChange::Added, input.cursor.as_ref(), input.limit()?).await?;
            Ok::<_, Error>(PollOutput::from(batch))
        },
    }
    "ghl.contact.updated" {
        kind: trigger,
        title: "New or updated contact",
        description: "Polls for contacts added or changed since the cursor, oldest change first, each version once; catches changes whose webhook was lost.",
        scopes: [CONTACTS_READ],
        input: PollInput,
        output: PollOutput<PollCursor>,
        call: |client, input| async move {
            let batch = client.polls().contacts(ContactChange::Updated, input.cursor.as_ref(), input.limit()?).await?;
            Ok::<_, Error>(PollOutput::from(batch))
        },
    }
    "ghl.contact.task.new" {
        kind: trigger,
        title: "New task of contact",
        description: "Polls for tasks added to one contact since the cursor. Tasks carry no creation time, so the cursor holds the ids already seen.",
        scopes: [CONTACTS_READ],
        input: OnContact<SeenPollInput>,
        output: PollOutput<SeenCursor>,
        call: |client, input| async move {
            let batch = client.polls().contact_tasks(&input.contact_id, input.body.cursor.as_ref(), input.body.limit()?).await?;
            Ok::<_, Error>(PollOutput::from(batch))
        },
    }
    "ghl.contact.note.new" {
        kind: trigger,
        title: "New note of contact",
        description: "Polls for notes added to one contact since the cursor, oldest first.",
        scopes: [CONTACTS_READ],
        input: OnContact<PollInput>,
        output: PollOutput<PollCursor>,
        call: |client, input| async move {
            let batch = client.polls().contact_notes(&input.contact_id, input.body.cursor.as_ref(), input.body.limit()?).await?;
            Ok::<_, Error>(PollOutput::from(batch))
        },
    }
    "ghl.contact.appointment.new" {
        kind: trigger,
        title: "New appointment of contact",
        description: "Polls for appointments booked for one contact since the cursor, oldest booking first.",
        scopes: [CONTACTS_READ],
        input: OnContact<PollInput>,
        output: PollOutput<PollCursor>,
        call: |client, input| async move {
            let batch = client.polls().contact_appointments(&input.contact_id, input.body.cursor.as_ref(), input.body.limit()?).await?;
            Ok::<_, Error>(PollOutput::from(batch))
        },
    }
    "ghl.business.contact.new" {
        kind: trigger,
        title: "New contact in business",
        description: "Polls for contacts put in a business since the cursor. The listing gives no time, so the cursor holds the member ids already seen.",
        scopes: [CONTACTS_READ],
        input: BusinessPollInput,
        output: PollOutput<SeenCursor>,
        call: |client, input| async move {
            let batch = client.polls().business_contacts(&input.business_id, input.cursor.as_ref(), input.limit()?).await?;
            Ok::<_, Error>(PollOutput::from(batch))
        },
    }
    // Calendars --------------------------------------------------------------------------------
    "ghl.calendar.list" {
        title: "List calendars",
        description: "Lists the location's calendars, to pick one to book into.",
        scopes: [CALENDARS_READ],
        input: CalendarsQuery,
        output: CalendarList,
        call: |client, input| async move {
            let calendars = client.calendars().list(&input).await?;
            Ok::<_, Error>(CalendarList { calendars })
        },
    }
    "ghl.calendar.get" {
        title: "Get calendar",
        description: "Reads one calendar by its id.",
        scopes: [CALENDARS_READ],
        input: CalendarRef,
        output: Calendar,
        call: |client, input| client.calendars().get(&input.calendar_id),
    }
    "ghl.calendar.list_events" {
        title: "List calendar events",
        description: "Lists the events between two times in a calendar, for a user, or in a calendar group.",
        scopes: [EVENTS_READ],
        input: CalendarEventsQuery,
        output: EventList,
        call: |client, input| async move {
            let events = client.calendars().events(&input).await?;
            Ok::<_, Error>(EventList { events })
        },
    }
    // Appointments -----------------------------------------------------------------------------
    "ghl.appointment.create" {
        title: "Book appointment",
        description: "Books an appointment for a contact in a calendar.",
        scopes: [EVENTS_WRITE],
        input: AppointmentInput,
        output: Appointment,
        call: |client, input| client.calendars().create_appointment(&input),
    }
    "ghl.appointment.get" {
        title: "Get appointment",
        description: "Reads one appointment by its id.",
        scopes: [EVENTS_READ],
        input: OnEvent<NoFields>,
        output: Appointment,
        call: |client, input| client.calendars().get_appointment(&input.event_id),
    }
    "ghl.appointment.update" {
        title: "Update appointment",
        description: "Changes the given fields of an appointment: its time, status, title or place.",
        scopes: [EVENTS_WRITE],
        input: OnEvent<AppointmentUpdate>,
        output: Appointment,
        call: |client, input| client.calendars().update_appointment(&input.event_id, &input.body),
    }
    "ghl.appointment.delete" {
        title: "Delete appointment",
        description: "Deletes an appointment (or any calendar event).",
        scopes: [EVENTS_WRITE],
        input: OnEvent<NoFields>,
        output: Succeeded,
        call: |client, input| client.calendars().delete_event(&input.event_id),
    }
}

/// Reads an operation's input (see [`input::fields`]); `T` reads its own fields.
fn decode<T: Input>(input: Value) -> Result<T, Error> {
    T::decode(input::fields::<T>(input)?)
}

/// An operation's input, read from the fields of a JSON object.
///
/// Inputs that put path ids next to a body are read in two steps (the ids, then the body from
/// the remaining fields) rather than with `#[serde(flatten)]`, because a flattened field that
/// fails to deserialize loses its JSON path, and naming the bad field is the point.
trait Input: JsonSchema + Sized {
    /// Reads the input.
    fn decode(fields: Map<String, Value>) -> Result<Self, Error>;
}

/// Reads a type whose fields are all its own, with the path of the first bad field.
fn decode_fields<T: DeserializeOwned>(fields: Map<String, Value>) -> Result<T, Error> {
    Ok(input::from_fields(fields)?)
}

/// Takes a required, non-empty string id out of `fields`.
fn take_id(fields: &mut Map<String, Value>, name: &str) -> Result<String, Error> {
    let invalid = |message: &str| Error::InvalidInput {
        path: name.to_owned(),
        message: message.to_owned(),
    };
    match fields.remove(name) {
        Some(Value::String(id)) if !id.is_empty() => Ok(id),
        Some(Value::String(_)) => Err(invalid("must not be empty")),
        Some(other) => Err(invalid(&format!("expected a string id, got {other}"))),
        None => Err(invalid("missing field")),
    }
}

macro_rules! plain_inputs {
    ($($name:ty),* $(,)?) => {$(
        impl Input for $name {
            fn decode(fields: Map<String, Value>) -> Result<Self, Error> {
                decode_fields(fields)
            }
        }
    )*};
}

plain_inputs!(
    AppointmentInput,
    AppointmentUpdate,
    BulkTagsInput,
    BusinessContactsInput,
    BusinessPollInput,
    BusinessContactsQuery,
    CalendarEventsQuery,
    CalendarRef,
    CalendarsQuery,
    CampaignInput,
    Completion,
    ContactInput,
    ContactRef,
    DuplicateQuery,
    FollowersInput,
    ListContactsQuery,
    NoFields,
    NoteInput,
    NoteUpdate,
    PollInput,
    SearchRequest,
    SeenPollInput,
    TagsInput,
    TaskInput,
    TaskUpdate,
    WorkflowInput,
);

impl<T: Input> Input for OnContact<T> {
    fn decode(mut fields: Map<String, Value>) -> Result<Self, Error> {
        let contact_id = ContactId::new(take_id(&mut fields, "contactId")?);
        Ok(OnContact {
            contact_id,
            body: T::decode(fields)?,
        })
    }
}

impl<T: Input> Input for OnTask<T> {
    fn decode(mut fields: Map<String, Value>) -> Result<Self, Error> {
        let contact_id = ContactId::new(take_id(&mut fields, "contactId")?);
        let task_id = TaskId::new(take_id(&mut fields, "taskId")?);
        Ok(OnTask {
            contact_id,
            task_id,
            body: T::decode(fields)?,
        })
    }
}

impl<T: Input> Input for OnNote<T> {
    fn decode(mut fields: Map<String, Value>) -> Result<Self, Error> {
        let contact_id = ContactId::new(take_id(&mut fields, "contactId")?);
        let note_id = NoteId::new(take_id(&mut fields, "noteId")?);
        Ok(OnNote {
            contact_id,
            note_id,
            body: T::decode(fields)?,
        })
    }
}

impl<T: Input> Input for OnEvent<T> {
    fn decode(mut fields: Map<String, Value>) -> Result<Self, Error> {
        let event_id = EventId::new(take_id(&mut fields, "eventId")?);
        Ok(OnEvent {
            event_id,
            body: T::decode(fields)?,
        })
    }
}

impl Input for UpsertInput {
    fn decode(mut fields: Map<String, Value>) -> Result<Self, Error> {
        let create_new_if_duplicate_allowed = match fields.remove("createNewIfDuplicateAllowed") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(flag)) => Some(flag),
            Some(other) => {
                return Err(Error::InvalidInput {
                    path: "createNewIfDuplicateAllowed".into(),
                    message: format!("expected a boolean, got {other}"),
                });
            }
        };
        Ok(UpsertInput {
            contact: ContactInput::decode(fields)?,
            create_new_if_duplicate_allowed,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_operation_has_an_entry_with_schemas_and_a_unique_id() {
        let operations = operations();
        assert_eq!(operations.len(), 45);
        let problems = tether_core::catalog::problems(&operations);
        assert!(problems.is_empty(), "{problems:#?}");
        for operation in &operations {
            assert_eq!(operation.app, "ghl");
            assert!(!operation.scopes.is_empty(), "{}", operation.id);
            assert_eq!(operation.input_schema["type"], "object", "{}", operation.id);
        }
    }

    #[test]
    fn flattened_inputs_list_every_property() {
        let schema = input_schema::<OnTask<TaskInput>>();
        let properties = schema["properties"].as_object().unwrap();
        for name in ["contactId", "taskId", "title", "dueDate", "completed"] {
            assert!(properties.contains_key(name), "{name}: {schema:#}");
        }
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            required.contains(&"title") && required.contains(&"contactId"),
            "{required:?}"
        );
    }

    #[test]
    fn a_bad_field_is_named() {
        let check = |input: Value, path: &str| {
            let Err(Error::InvalidInput { path: found, .. }) =
                decode::<OnContact<TaskInput>>(input.clone())
            else {
                panic!("accepted {input}");
            };
            assert_eq!(found, path, "{input}");
        };
        check(
            json!({"contactId": "c", "title": "t", "dueDate": "not a date"}),
            "dueDate",
        );
        check(
            json!({"contactId": "c", "title": 5, "dueDate": "2030-01-01T00:00:00Z"}),
            "title",
        );
        check(
            json!({"contactId": "c", "title": "t", "dueDate": "2030-01-01T00:00:00Z", "tilte": "x"}),
            "tilte",
        );
        assert!(
            decode::<ContactInput>(json!({"customFields": [{"id": "f", "field_value": "x"}]}))
                .is_ok()
        );
    }

    #[test]
    fn a_required_nullable_field_must_be_present() {
        assert!(
            decode::<BusinessContactsInput>(json!({"contacts": ["a"], "businessId": null})).is_ok()
        );
        assert!(decode::<BusinessContactsInput>(json!({"contacts": ["a"]})).is_err());
        let schema = input_schema::<BusinessContactsInput>();
        assert!(
            schema["required"]
                .as_array()
                .unwrap()
                .contains(&json!("businessId")),
            "{schema:#}"
        );
        assert_eq!(
            schema["properties"]["businessId"]["type"],
            json!(["string", "null"])
        );
    }
}
