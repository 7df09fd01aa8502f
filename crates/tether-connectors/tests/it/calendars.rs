//! Calendars and appointments: list and read calendars, book, read, move, list and delete an
//! appointment, and a contact's appointments.

use chrono::{DateTime, Duration, Utc};
use tether_connectors::ghl::models::{
    AppointmentInput, AppointmentStatus, AppointmentUpdate, CalendarEventsQuery, CalendarsQuery,
};
use tether_connectors::ghl::{CalendarId, Error, EventId};

use crate::support::TestSim;

/// Tomorrow at `hour`:00 UTC, written with a +02:00 offset as a client in Europe would.
fn tomorrow_at(hour: u32) -> DateTime<chrono::FixedOffset> {
    let day = (Utc::now() + Duration::days(1)).date_naive();
    let utc = day.and_hms_opt(hour, 0, 0).unwrap().and_utc();
    utc.with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).unwrap())
}

#[tokio::test]
async fn calendars_are_listed_and_read() {
    let sim = TestSim::start().await;
    let calendars = sim
        .client
        .calendars()
        .list(&CalendarsQuery::default())
        .await
        .unwrap();
    let seeded: Vec<String> = sim.seeded().calendars;
    assert_eq!(
        calendars
            .iter()
            .map(|c| c.id.as_str().to_owned())
            .collect::<Vec<_>>(),
        seeded
    );
    assert!(calendars.iter().all(|c| c.name.is_some()));
    let first = sim.client.calendars().get(&calendars[0].id).await.unwrap();
    assert_eq!(first.id, calendars[0].id);
    assert_eq!(first.name, calendars[0].name);
    let error = sim
        .client
        .calendars()
        .get(&CalendarId::new("NoSuchCalendar000000"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
}

#[tokio::test]
async fn an_appointment_is_booked_read_moved_listed_and_deleted() {
    let sim = TestSim::start().await;
    let calendar = CalendarId::new(sim.seeded().calendars[0].clone());
    let contact = sim.contact("appointments@example.com").await;
    let calendars = sim.client.calendars();

    let start = tomorrow_at(9);
    let input = AppointmentInput {
        calendar_id: calendar.clone(),
        contact_id: contact.id.clone(),
        start_time: start,
        end_time: Some(start + Duration::minutes(30)),
        title: Some("Bouquet consultation".into()),
        description: None,
        appointment_status: Some(AppointmentStatus::Confirmed),
        assigned_user_id: None,
        address: None,
        meeting_location_type: None,
        meeting_location_id: None,
        override_location_config: None,
        ignore_date_range: None,
        ignore_free_slot_validation: Some(true),
        to_notify: Some(false),
        rrule: None,
    };
    let booked = calendars.create_appointment(&input).await.unwrap();
    assert_eq!(booked.calendar_id.as_ref(), Some(&calendar));
    assert_eq!(booked.contact_id.as_ref(), Some(&contact.id));
    assert_eq!(booked.appointment_status.as_deref(), Some("confirmed"));
    let booked_start = DateTime::parse_from_rfc3339(booked.start_time.as_deref().unwrap()).unwrap();
    assert_eq!(booked_start, start);

    let read = calendars.get_appointment(&booked.id).await.unwrap();
    assert_eq!(read.title.as_deref(), Some("Bouquet consultation"));

    let moved_start = tomorrow_at(11);
    let changes = AppointmentUpdate {
        start_time: Some(moved_start),
        end_time: Some(moved_start + Duration::minutes(30)),
        appointment_status: Some(AppointmentStatus::Showed),
        ignore_free_slot_validation: Some(true),
        ..AppointmentUpdate::default()
    };
    let moved = calendars
        .update_appointment(&booked.id, &changes)
        .await
        .unwrap();
    let moved_at = DateTime::parse_from_rfc3339(moved.start_time.as_deref().unwrap()).unwrap();
    assert_eq!(moved_at, moved_start);
    assert_eq!(moved.appointment_status.as_deref(), Some("showed"));

    let window = CalendarEventsQuery {
        start_time: Utc::now(),
        end_time: Utc::now() + Duration::days(3),
        calendar_id: Some(calendar.clone()),
        user_id: None,
        group_id: None,
    };
    let events = calendars.events(&window).await.unwrap();
    assert!(
        events.iter().any(|event| event.id == booked.id),
        "{events:#?}"
    );

    let of_contact = calendars.contact_appointments(&contact.id).await.unwrap();
    assert_eq!(
        of_contact.iter().map(|e| &e.id).collect::<Vec<_>>(),
        vec![&booked.id]
    );

    assert!(calendars.delete_event(&booked.id).await.unwrap().succeeded);
    let error = calendars.get_appointment(&booked.id).await.unwrap_err();
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
    assert!(
        calendars
            .contact_appointments(&contact.id)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_event_window_needs_a_calendar_user_or_group() {
    let sim = TestSim::start().await;
    let mark = sim.log_mark();
    let window = CalendarEventsQuery {
        start_time: Utc::now(),
        end_time: Utc::now() + Duration::days(1),
        calendar_id: None,
        user_id: None,
        group_id: None,
    };
    let error = sim.client.calendars().events(&window).await.unwrap_err();
    assert!(matches!(error, Error::InvalidInput { .. }), "{error:?}");
    assert!(sim.log_since(mark).is_empty());
    let error = sim
        .client
        .calendars()
        .delete_event(&EventId::new("NoSuchEvent000000000"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
}
