//! Calendars and appointments (Calendars v2 spec, `Version: 2021-04-15`): list and get
//! calendars, book, read, edit and delete appointments, list events in a window, and the
//! contacts spec's read-only `GET /contacts/{contactId}/appointments`. Sends the
//! `AppointmentCreate`, `AppointmentUpdate` and `AppointmentDelete` webhooks.
//!
//! Choices where the sources are silent or disagree (each also noted at its code):
//! - Times are answered in UTC: calendar answers as ISO 8601 with a `+00:00` offset (the spec's
//!   examples carry the location's offset; simulated locations are on UTC), the contacts spec's
//!   `GetEventSchema` as `YYYY-MM-DD HH:mm:ss` (README §13.16).
//! - A `calendarId`, `contactId` or `assignedUserId` in a body that does not exist in the location
//!   answers 400, the only client error the calendars spec declares; unknown ids in the path
//!   answer 404.
//! - Free-slot validation (open hours, minimum notice, slots per booking) is not simulated: every
//!   slot is free, as with `ignoreFreeSlotValidation: true`.
//! - A recurring booking (`rrule`, applied only with `ignoreFreeSlotValidation: true` as the spec
//!   says) is stored and reported (`isRecurring`, `rrule`) but not expanded into instances.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use chrono::{DateTime, Duration as ChronoDuration, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::auth::Caller;
use super::error::{GhlError, GhlResult};
use super::extract::{GhlJson, GhlQuery};
use super::model::{Appointment, Calendar};
use super::state::{Location, World};
use super::tasks::parse_iso_time;

/// `createdBy.source` and webhook `source` of appointments booked through the API.
const API_SOURCE: &str = "third_party";

/// The routes of this family, with exactly the paths of the operation table.
pub fn routes() -> Router<Arc<World>> {
    Router::new()
        .route("/calendars/", get(list_calendars))
        .route("/calendars", get(list_calendars))
        .route("/calendars/{calendarId}", get(get_calendar))
        .route("/calendars/events", get(list_events))
        .route("/calendars/events/appointments", post(create_appointment))
        .route(
            "/calendars/events/appointments/{eventId}",
            get(get_appointment).put(edit_appointment),
        )
        .route("/calendars/events/{eventId}", delete(delete_event))
        .route(
            "/contacts/{contactId}/appointments",
            get(contact_appointments),
        )
}

/// The 404 for an event id that is not in the caller's location.
pub fn event_not_found(event_id: &str) -> GhlError {
    GhlError::NotFound(format!("Event with id {event_id} not found"))
}

/// A time as the calendars API writes it: ISO 8601 with an offset, `2021-06-23T03:30:00+00:00`.
fn calendar_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// A time as the contacts spec's `GetEventSchema` writes it: `2021-07-16 11:00:00`.
fn contact_event_time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn calendar_of<'a>(location: &'a Location, calendar_id: &str) -> Option<&'a Calendar> {
    location
        .calendars
        .iter()
        .find(|calendar| calendar.id == calendar_id)
}

/// Inserts `value` under `key` when there is one: absent fields are left out of answers.
fn put_some(fields: &mut Map<String, Value>, key: &str, value: Option<&String>) {
    if let Some(value) = value {
        fields.insert(key.to_owned(), Value::String(value.clone()));
    }
}

/// A calendar in the spec's `CalendarDTO` shape. Settings the simulator does not model are
/// reported with the spec's defaults.
fn calendar_view(location_id: &str, calendar: &Calendar) -> Value {
    let slug: String = calendar
        .name
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let team_members: Vec<Value> = calendar
        .team_members
        .iter()
        .enumerate()
        .map(
            |(index, user_id)| json!({"userId": user_id, "priority": 0.5, "isPrimary": index == 0}),
        )
        .collect();
    let mut view = json!({
        "id": calendar.id,
        "locationId": location_id,
        "name": calendar.name,
        "slug": slug,
        "widgetSlug": slug,
        "calendarType": if calendar.team_members.len() > 1 { "round_robin" } else { "event" },
        "eventType": "RoundRobin_OptimizeForAvailability",
        "widgetType": "classic",
        "eventTitle": "{{contact.name}}",
        "eventColor": "#039be5",
        "teamMembers": team_members,
        "slotDuration": calendar.slot_duration,
        "slotDurationUnit": "mins",
        "slotInterval": calendar.slot_duration,
        "slotIntervalUnit": "mins",
        "appoinmentPerSlot": 1,
        "autoConfirm": true,
        "allowReschedule": true,
        "allowCancellation": true,
        "enableRecurring": false,
        "isActive": true,
    });
    if let (Some(group_id), Value::Object(fields)) = (&calendar.group_id, &mut view) {
        fields.insert("groupId".into(), json!(group_id));
    }
    view
}

/// The users of an appointment: its assignee (GHL's `users` are the secondary owners, which the
/// simulator does not model apart from the assignee).
fn users_of(appointment: &Appointment) -> Vec<&str> {
    appointment
        .assigned_user_id
        .iter()
        .map(String::as_str)
        .collect()
}

/// An appointment in the calendars spec's `CalendarEventDTO` shape (get, list).
///
/// `groupId` and `assignedUserId` are required there; an appointment without them (a calendar
/// outside any group, nobody assigned) reports an empty string rather than breaking the schema.
fn event_view(location: &Location, appointment: &Appointment) -> Value {
    let group_id = calendar_of(location, &appointment.calendar_id)
        .and_then(|calendar| calendar.group_id.clone());
    let mut view = json!({
        "id": appointment.id,
        "title": appointment.title.clone().unwrap_or_default(),
        "calendarId": appointment.calendar_id,
        "locationId": appointment.location_id,
        "contactId": appointment.contact_id,
        "groupId": group_id.unwrap_or_default(),
        "appointmentStatus": appointment.appointment_status,
        "assignedUserId": appointment.assigned_user_id.clone().unwrap_or_default(),
        "users": users_of(appointment),
        "isRecurring": appointment.rrule.is_some(),
        "startTime": calendar_time(appointment.start_time),
        "endTime": calendar_time(appointment.end_time),
        "dateAdded": calendar_time(appointment.date_added),
        "dateUpdated": calendar_time(appointment.date_updated),
        "assignedResources": [],
        "createdBy": {"source": appointment.source.as_deref().unwrap_or(API_SOURCE)},
    });
    let fields = view.as_object_mut().expect("a JSON object literal");
    put_some(fields, "address", appointment.address.as_ref());
    put_some(fields, "description", appointment.notes.as_ref());
    put_some(fields, "rrule", appointment.rrule.as_ref());
    view
}

/// An appointment in the `AppointmentSchemaResponse` shape (create and edit answers, top level).
fn booking_view(appointment: &Appointment) -> Value {
    let mut view = json!({
        "id": appointment.id,
        "calendarId": appointment.calendar_id,
        "locationId": appointment.location_id,
        "contactId": appointment.contact_id,
        "startTime": calendar_time(appointment.start_time),
        "endTime": calendar_time(appointment.end_time),
        "appointmentStatus": appointment.appointment_status,
        "isRecurring": appointment.rrule.is_some(),
    });
    let fields = view.as_object_mut().expect("a JSON object literal");
    put_some(fields, "title", appointment.title.as_ref());
    put_some(
        fields,
        "meetingLocationType",
        appointment.meeting_location_type.as_ref(),
    );
    put_some(
        fields,
        "assignedUserId",
        appointment.assigned_user_id.as_ref(),
    );
    put_some(fields, "address", appointment.address.as_ref());
    put_some(fields, "rrule", appointment.rrule.as_ref());
    view
}

/// An appointment in the contacts spec's `GetEventSchema` shape. `status` is the legacy (v1)
/// booking status, `cancelled` or `booked`; `appointmentStatus` the current one.
fn contact_event_view(location: &Location, appointment: &Appointment) -> Value {
    let status = if appointment.appointment_status == "cancelled" {
        "cancelled"
    } else {
        "booked"
    };
    let mut view = json!({
        "id": appointment.id,
        "calendarId": appointment.calendar_id,
        "locationId": appointment.location_id,
        "contactId": appointment.contact_id,
        "status": status,
        "appointmentStatus": appointment.appointment_status,
        "users": users_of(appointment),
        "startTime": contact_event_time(appointment.start_time),
        "endTime": contact_event_time(appointment.end_time),
        "dateAdded": contact_event_time(appointment.date_added),
        "dateUpdated": contact_event_time(appointment.date_updated),
        "assignedResources": [],
    });
    let group_id = calendar_of(location, &appointment.calendar_id)
        .and_then(|calendar| calendar.group_id.as_ref());
    let fields = view.as_object_mut().expect("a JSON object literal");
    put_some(fields, "title", appointment.title.as_ref());
    put_some(
        fields,
        "assignedUserId",
        appointment.assigned_user_id.as_ref(),
    );
    put_some(fields, "notes", appointment.notes.as_ref());
    put_some(fields, "address", appointment.address.as_ref());
    put_some(fields, "groupId", group_id);
    view
}

/// The webhook payload of the appointment events (`webhook-examples/Appointment*.json`):
/// `{appointment: {...}}`; `type` and `locationId` are added by the outbox. The docs' examples
/// of Update and Delete say `type: AppointmentCreate` (README §13.4); each event carries its
/// own name here.
fn appointment_event(location: &Location, appointment: &Appointment) -> Value {
    let group_id = calendar_of(location, &appointment.calendar_id)
        .and_then(|calendar| calendar.group_id.as_ref());
    let mut inner = json!({
        "id": appointment.id,
        "calendarId": appointment.calendar_id,
        "contactId": appointment.contact_id,
        "appointmentStatus": appointment.appointment_status,
        "users": users_of(appointment),
        "source": appointment.source.as_deref().unwrap_or(API_SOURCE),
        "startTime": calendar_time(appointment.start_time),
        "endTime": calendar_time(appointment.end_time),
        "dateAdded": calendar_time(appointment.date_added),
        "dateUpdated": calendar_time(appointment.date_updated),
    });
    let fields = inner.as_object_mut().expect("a JSON object literal");
    put_some(fields, "title", appointment.title.as_ref());
    put_some(fields, "address", appointment.address.as_ref());
    put_some(fields, "groupId", group_id);
    put_some(
        fields,
        "assignedUserId",
        appointment.assigned_user_id.as_ref(),
    );
    put_some(fields, "notes", appointment.notes.as_ref());
    json!({ "appointment": inner })
}

/// A required query parameter, or the 422 NestJS' validation answers without it.
fn required(value: Option<String>, name: &str) -> GhlResult<String> {
    value
        .filter(|value| !value.is_empty())
        .ok_or_else(|| GhlError::unprocessable(format!("{name} should not be empty")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CalendarsQuery {
    location_id: Option<String>,
    group_id: Option<String>,
}

/// `get-calendars`: `{calendars}` of the location, optionally of one group. Every simulated
/// calendar is published, so `showDrafted` changes nothing.
async fn list_calendars(
    State(world): State<Arc<World>>,
    caller: Caller,
    GhlQuery(query): GhlQuery<CalendarsQuery>,
) -> GhlResult<axum::Json<Value>> {
    let location_id = required(query.location_id, "locationId")?;
    caller.check_location(&location_id)?;
    let location = world.location(&location_id)?;
    let location = location.read();
    let calendars: Vec<Value> = location
        .calendars
        .iter()
        .filter(|calendar| query.group_id.is_none() || calendar.group_id == query.group_id)
        .map(|calendar| calendar_view(&location_id, calendar))
        .collect();
    Ok(axum::Json(json!({ "calendars": calendars })))
}

/// `get-calendar`: `{calendar}`, or 404 for a calendar of another location.
async fn get_calendar(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path(calendar_id): Path<String>,
) -> GhlResult<axum::Json<Value>> {
    let location_id = caller.location_id()?;
    let location = world.location(location_id)?;
    let location = location.read();
    let calendar = calendar_of(&location, &calendar_id)
        .ok_or_else(|| GhlError::NotFound(format!("Calendar with id {calendar_id} not found")))?;
    Ok(axum::Json(
        json!({ "calendar": calendar_view(location_id, calendar) }),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventsQuery {
    location_id: Option<String>,
    calendar_id: Option<String>,
    user_id: Option<String>,
    group_id: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
}

fn epoch_ms(value: Option<String>, name: &str) -> GhlResult<DateTime<Utc>> {
    let text = required(value, name)?;
    text.parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(|| {
            GhlError::unprocessable(format!(
                "{name} must be a number string (epoch milliseconds)"
            ))
        })
}

/// `get-calendar-events`: `{events}` overlapping `[startTime, endTime]` (epoch ms), of a
/// calendar, a user (assignee) or a calendar group; filters given together all apply. Without
/// any of the three the API refuses the query (the spec: "either of calendarId, userId or groupId
/// is required"); that rule is the service's, not the DTO's, so it answers 400.
async fn list_events(
    State(world): State<Arc<World>>,
    caller: Caller,
    GhlQuery(query): GhlQuery<EventsQuery>,
) -> GhlResult<axum::Json<Value>> {
    let location_id = required(query.location_id, "locationId")?;
    let start = epoch_ms(query.start_time, "startTime")?;
    let end = epoch_ms(query.end_time, "endTime")?;
    if query.calendar_id.is_none() && query.user_id.is_none() && query.group_id.is_none() {
        return Err(GhlError::BadRequest(
            "Either of calendarId, userId or groupId is required".into(),
        ));
    }
    caller.check_location(&location_id)?;
    let location = world.location(&location_id)?;
    let location = location.read();
    let group_calendars: Option<Vec<&str>> = query.group_id.as_ref().map(|group_id| {
        location
            .calendars
            .iter()
            .filter(|calendar| calendar.group_id.as_ref() == Some(group_id))
            .map(|calendar| calendar.id.as_str())
            .collect()
    });
    let mut events: Vec<&Appointment> = location
        .appointments
        .values()
        .filter(|appointment| appointment.start_time < end && appointment.end_time > start)
        .filter(|appointment| {
            query
                .calendar_id
                .as_ref()
                .is_none_or(|id| &appointment.calendar_id == id)
        })
        .filter(|appointment| {
            query
                .user_id
                .as_ref()
                .is_none_or(|id| appointment.assigned_user_id.as_ref() == Some(id))
        })
        .filter(|appointment| {
            group_calendars
                .as_ref()
                .is_none_or(|ids| ids.contains(&appointment.calendar_id.as_str()))
        })
        .collect();
    events.sort_by(|a, b| (a.start_time, &a.id).cmp(&(b.start_time, &b.id)));
    let events: Vec<Value> = events
        .into_iter()
        .map(|appointment| event_view(&location, appointment))
        .collect();
    Ok(axum::Json(json!({ "events": events })))
}

/// A time field of an appointment body; a string that is no ISO 8601 date answers 422.
fn body_time(text: &str, name: &str) -> GhlResult<DateTime<Utc>> {
    parse_iso_time(text).ok_or_else(|| {
        GhlError::unprocessable(format!("{name} must be a valid ISO 8601 date string"))
    })
}

fn check_user(location: &Location, user_id: Option<&str>) -> GhlResult<()> {
    match user_id {
        Some(user_id) if !location.users.iter().any(|user| user == user_id) => Err(
            GhlError::BadRequest(format!("User with id {user_id} not found in this location")),
        ),
        _ => Ok(()),
    }
}

fn check_span(start: DateTime<Utc>, end: DateTime<Utc>) -> GhlResult<()> {
    if end > start {
        Ok(())
    } else {
        Err(GhlError::BadRequest(
            "endTime must be after startTime".into(),
        ))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateAppointment {
    calendar_id: String,
    location_id: String,
    contact_id: String,
    start_time: String,
    end_time: Option<String>,
    title: Option<String>,
    description: Option<String>,
    appointment_status: Option<String>,
    assigned_user_id: Option<String>,
    address: Option<String>,
    meeting_location_type: Option<String>,
    ignore_free_slot_validation: Option<bool>,
    rrule: Option<String>,
}

/// `create-appointment`: 200 (not 201) with the appointment at the top level.
///
/// Defaults, from the calendar settings the spec documents: `endTime` = start + the calendar's
/// slot duration; `appointmentStatus` = `confirmed` (`autoConfirm` defaults to true); `title` =
/// the calendar's `eventTitle` (`{{contact.name}}`) filled in; `assignedUserId` = the calendar's
/// primary team member; `meetingLocationType` = `custom` when an `address` is given. `toNotify:
/// false` stops the location's automations, not the app's webhooks, so the event is still sent.
async fn create_appointment(
    State(world): State<Arc<World>>,
    caller: Caller,
    GhlJson(input): GhlJson<CreateAppointment>,
) -> GhlResult<axum::Json<Value>> {
    let start = body_time(&input.start_time, "startTime")?;
    let end = input
        .end_time
        .as_deref()
        .map(|text| body_time(text, "endTime"))
        .transpose()?;
    caller.check_location(&input.location_id)?;
    let location = world.location(&input.location_id)?;
    let (appointment, event) = {
        let mut location = location.write();
        let calendar = calendar_of(&location, &input.calendar_id).ok_or_else(|| {
            GhlError::BadRequest(format!("Calendar with id {} not found", input.calendar_id))
        })?;
        let contact = location.contacts.get(&input.contact_id).ok_or_else(|| {
            GhlError::BadRequest(format!("Contact with id {} not found", input.contact_id))
        })?;
        check_user(&location, input.assigned_user_id.as_deref())?;
        let end = end.unwrap_or(start + ChronoDuration::minutes(i64::from(calendar.slot_duration)));
        check_span(start, end)?;
        let now = world.now();
        let meeting_location_type = input
            .meeting_location_type
            .or_else(|| input.address.as_ref().map(|_| "custom".to_owned()));
        let appointment = Appointment {
            id: world.new_id(),
            calendar_id: input.calendar_id,
            location_id: input.location_id,
            contact_id: input.contact_id,
            title: Some(
                input
                    .title
                    .unwrap_or_else(|| contact.full_name().unwrap_or_default()),
            ),
            appointment_status: input
                .appointment_status
                .unwrap_or_else(|| "confirmed".into()),
            assigned_user_id: input
                .assigned_user_id
                .or_else(|| calendar.team_members.first().cloned()),
            address: input.address,
            notes: input.description,
            start_time: start,
            end_time: end,
            date_added: now,
            date_updated: now,
            meeting_location_type,
            rrule: input
                .rrule
                .filter(|_| input.ignore_free_slot_validation == Some(true)),
            source: Some(API_SOURCE.into()),
        };
        let event = appointment_event(&location, &appointment);
        location
            .appointments
            .insert(appointment.id.clone(), appointment.clone());
        (appointment, event)
    };
    world
        .webhooks
        .emit("AppointmentCreate", &appointment.location_id, event);
    Ok(axum::Json(booking_view(&appointment)))
}

/// `get-appointment`: `{event}`.
async fn get_appointment(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path(event_id): Path<String>,
) -> GhlResult<axum::Json<Value>> {
    let location = world.location(caller.location_id()?)?;
    let location = location.read();
    let appointment = location
        .appointments
        .get(&event_id)
        .ok_or_else(|| event_not_found(&event_id))?;
    Ok(axum::Json(
        json!({ "event": event_view(&location, appointment) }),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EditAppointment {
    calendar_id: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
    title: Option<String>,
    description: Option<String>,
    appointment_status: Option<String>,
    assigned_user_id: Option<String>,
    address: Option<String>,
    meeting_location_type: Option<String>,
    ignore_free_slot_validation: Option<bool>,
    rrule: Option<String>,
}

/// `edit-appointment`: fields not given are kept. A new `startTime` without `endTime` keeps the
/// appointment's length (a reschedule), which is what the booking UI does.
async fn edit_appointment(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path(event_id): Path<String>,
    GhlJson(input): GhlJson<EditAppointment>,
) -> GhlResult<axum::Json<Value>> {
    let new_start = input
        .start_time
        .as_deref()
        .map(|text| body_time(text, "startTime"))
        .transpose()?;
    let new_end = input
        .end_time
        .as_deref()
        .map(|text| body_time(text, "endTime"))
        .transpose()?;
    let location_id = caller.location_id()?;
    let location = world.location(location_id)?;
    let (appointment, event) = {
        let mut location = location.write();
        let current = location
            .appointments
            .get(&event_id)
            .ok_or_else(|| event_not_found(&event_id))?;
        if let Some(calendar_id) = &input.calendar_id
            && calendar_of(&location, calendar_id).is_none()
        {
            return Err(GhlError::BadRequest(format!(
                "Calendar with id {calendar_id} not found"
            )));
        }
        check_user(&location, input.assigned_user_id.as_deref())?;
        let start = new_start.unwrap_or(current.start_time);
        let end = new_end.unwrap_or(start + (current.end_time - current.start_time));
        check_span(start, end)?;
        let mut appointment = current.clone();
        appointment.start_time = start;
        appointment.end_time = end;
        if let Some(calendar_id) = input.calendar_id {
            appointment.calendar_id = calendar_id;
        }
        if let Some(title) = input.title {
            appointment.title = Some(title);
        }
        if let Some(description) = input.description {
            appointment.notes = Some(description);
        }
        if let Some(status) = input.appointment_status {
            appointment.appointment_status = status;
        }
        if let Some(user_id) = input.assigned_user_id {
            appointment.assigned_user_id = Some(user_id);
        }
        if let Some(address) = input.address {
            appointment.address = Some(address);
        }
        if let Some(kind) = input.meeting_location_type {
            appointment.meeting_location_type = Some(kind);
        }
        if let Some(rrule) = input
            .rrule
            .filter(|_| input.ignore_free_slot_validation == Some(true))
        {
            appointment.rrule = Some(rrule);
        }
        appointment.date_updated = world.now();
        let event = appointment_event(&location, &appointment);
        location
            .appointments
            .insert(appointment.id.clone(), appointment.clone());
        (appointment, event)
    };
    world.webhooks.emit("AppointmentUpdate", location_id, event);
    Ok(axum::Json(booking_view(&appointment)))
}

/// `delete-event`: 201 `{succeeded: true}` (spelt right in this spec). The body is required but
/// its schema (`DeleteAppointmentSchema`) declares no property, so `{}` (or no body, which NestJS
/// reads as `{}`) is accepted and any property is refused like every undeclared one; a body that
/// is not JSON answers 400 through [`GhlJson`].
async fn delete_event(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path(event_id): Path<String>,
    GhlJson(body): GhlJson<Value>,
) -> GhlResult<(StatusCode, axum::Json<Value>)> {
    match &body {
        Value::Object(fields) if fields.is_empty() => {}
        Value::Object(fields) => {
            return Err(GhlError::Unprocessable(
                fields
                    .keys()
                    .map(|key| format!("property {key} should not exist"))
                    .collect(),
            ));
        }
        _ => return Err(GhlError::unprocessable("body must be a JSON object")),
    }
    let location_id = caller.location_id()?;
    let location = world.location(location_id)?;
    let event = {
        let mut location = location.write();
        let appointment = location
            .appointments
            .remove(&event_id)
            .ok_or_else(|| event_not_found(&event_id))?;
        appointment_event(&location, &appointment)
    };
    world.webhooks.emit("AppointmentDelete", location_id, event);
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({ "succeeded": true })),
    ))
}

/// `get-appointments-for-contact` (contacts spec): `{events}` of the contact, earliest first,
/// in `GetEventSchema`'s shape. Not paginated, like the other lists under a contact.
async fn contact_appointments(
    State(world): State<Arc<World>>,
    caller: Caller,
    Path(contact_id): Path<String>,
) -> GhlResult<axum::Json<Value>> {
    let location = world.location(caller.location_id()?)?;
    let location = location.read();
    location.contact(&contact_id)?;
    // A scan of the location's appointments: fine for a list call, and it keeps the location free
    // of a second index that contact deletion would have to maintain.
    let mut events: Vec<&Appointment> = location
        .appointments
        .values()
        .filter(|appointment| appointment.contact_id == contact_id)
        .collect();
    events.sort_by(|a, b| (a.start_time, &a.id).cmp(&(b.start_time, &b.id)));
    let events: Vec<Value> = events
        .into_iter()
        .map(|appointment| contact_event_view(&location, appointment))
        .collect();
    Ok(axum::Json(json!({ "events": events })))
}
