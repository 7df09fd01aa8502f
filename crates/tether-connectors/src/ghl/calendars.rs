//! Calendars, calendar events and appointments (Calendars API v2, `Version: 2021-04-15`), and a
//! contact's appointments (Contacts API v2, `Version: 2021-07-28`).
//!
//! There is no `POST /contacts/{contactId}/appointments`: an appointment for a contact is booked
//! in the Calendars API with the contact's id in the body (README §5).

use http::Method;

use super::models::{
    Appointment, AppointmentInput, AppointmentUpdate, Calendar, CalendarEnvelope,
    CalendarEventsQuery, CalendarsEnvelope, CalendarsQuery, CreateAppointmentBody, EmptyBody,
    EventEnvelope, EventsEnvelope, Succeeded,
};
use super::{Api, CalendarId, ContactId, Error, EventId, GhlClient, segment};

/// The calendar and appointment operations of a [`GhlClient`].
#[derive(Debug, Clone, Copy)]
pub struct Calendars<'a> {
    pub(crate) client: &'a GhlClient,
}

impl Calendars<'_> {
    /// `GET /calendars/` (get-calendars): the location's calendars.
    pub async fn list(&self, query: &CalendarsQuery) -> Result<Vec<Calendar>, Error> {
        let mut request = self
            .client
            .request(Api::Calendars, Method::GET, "/calendars/".into())?
            .query("locationId", self.client.location_id().as_str());
        if let Some(group_id) = &query.group_id {
            request = request.query("groupId", group_id.as_str());
        }
        if let Some(show_drafted) = query.show_drafted {
            request = request.query("showDrafted", show_drafted.to_string());
        }
        let envelope: CalendarsEnvelope = self.client.send(request).await?;
        Ok(envelope.calendars)
    }

    /// `GET /calendars/{calendarId}` (get-calendar).
    pub async fn get(&self, calendar_id: &CalendarId) -> Result<Calendar, Error> {
        let path = format!(
            "/calendars/{}",
            segment("calendarId", calendar_id.as_str())?
        );
        let request = self.client.request(Api::Calendars, Method::GET, path)?;
        let envelope: CalendarEnvelope = self.client.send(request).await?;
        Ok(envelope.calendar)
    }

    /// `GET /calendars/events` (get-calendar-events): the events in a time window of a calendar,
    /// a user or a group. Times are sent as epoch milliseconds, as the spec asks.
    pub async fn events(&self, query: &CalendarEventsQuery) -> Result<Vec<Appointment>, Error> {
        if query.calendar_id.is_none() && query.user_id.is_none() && query.group_id.is_none() {
            // The spec makes each optional but requires one of the three.
            return Err(Error::InvalidInput {
                path: "calendarId".into(),
                message: "one of calendarId, userId or groupId is required".into(),
            });
        }
        if query.end_time < query.start_time {
            return Err(Error::InvalidInput {
                path: "endTime".into(),
                message: "must not be before startTime".into(),
            });
        }
        let mut request = self
            .client
            .request(Api::Calendars, Method::GET, "/calendars/events".into())?
            .query("locationId", self.client.location_id().as_str())
            .query("startTime", query.start_time.timestamp_millis().to_string())
            .query("endTime", query.end_time.timestamp_millis().to_string());
        if let Some(calendar_id) = &query.calendar_id {
            request = request.query("calendarId", calendar_id.as_str());
        }
        if let Some(user_id) = &query.user_id {
            request = request.query("userId", user_id.as_str());
        }
        if let Some(group_id) = &query.group_id {
            request = request.query("groupId", group_id.as_str());
        }
        let envelope: EventsEnvelope = self.client.send(request).await?;
        Ok(envelope.events)
    }

    /// `POST /calendars/events/appointments` (create-appointment) in the client's location;
    /// answers 200 with the appointment at the top level. Not idempotent.
    pub async fn create_appointment(
        &self,
        appointment: &AppointmentInput,
    ) -> Result<Appointment, Error> {
        let body = CreateAppointmentBody {
            location_id: self.client.location_id(),
            appointment,
        };
        let request = self
            .client
            .request(
                Api::Calendars,
                Method::POST,
                "/calendars/events/appointments".into(),
            )?
            .json(&body)?
            .idempotent(false);
        self.client.send(request).await
    }

    /// `GET /calendars/events/appointments/{eventId}` (get-appointment).
    pub async fn get_appointment(&self, event_id: &EventId) -> Result<Appointment, Error> {
        let path = format!(
            "/calendars/events/appointments/{}",
            segment("eventId", event_id.as_str())?
        );
        let request = self.client.request(Api::Calendars, Method::GET, path)?;
        let envelope: EventEnvelope = self.client.send(request).await?;
        Ok(envelope.event)
    }

    /// `PUT /calendars/events/appointments/{eventId}` (edit-appointment). For a recurring series,
    /// pass the master event's id to change the whole series.
    pub async fn update_appointment(
        &self,
        event_id: &EventId,
        changes: &AppointmentUpdate,
    ) -> Result<Appointment, Error> {
        let path = format!(
            "/calendars/events/appointments/{}",
            segment("eventId", event_id.as_str())?
        );
        let request = self
            .client
            .request(Api::Calendars, Method::PUT, path)?
            .json(changes)?;
        self.client.send(request).await
    }

    /// `DELETE /calendars/events/{eventId}` (delete-event); the spec requires a JSON body with
    /// no fields, so `{}` is sent, and declares 201 as the answer.
    pub async fn delete_event(&self, event_id: &EventId) -> Result<Succeeded, Error> {
        let path = format!(
            "/calendars/events/{}",
            segment("eventId", event_id.as_str())?
        );
        let request = self
            .client
            .request(Api::Calendars, Method::DELETE, path)?
            .json(&EmptyBody {})?;
        self.client.send(request).await
    }

    /// `GET /contacts/{contactId}/appointments` (get-appointments-for-contact): a Contacts API
    /// operation, hence `Version: 2021-07-28` and scope `contacts.readonly`; not paginated.
    pub async fn contact_appointments(
        &self,
        contact_id: &ContactId,
    ) -> Result<Vec<Appointment>, Error> {
        let path = format!(
            "/contacts/{}/appointments",
            segment("contactId", contact_id.as_str())?
        );
        let request = self.client.request(Api::Contacts, Method::GET, path)?;
        let envelope: EventsEnvelope = self.client.send(request).await?;
        Ok(envelope.events)
    }
}
