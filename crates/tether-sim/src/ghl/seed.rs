//! Populates a new world: the configured locations and PITs, then generated records in the main
//! location: users, calendars, businesses, campaigns, workflows, custom fields and
//! `seed_contacts` contacts with tasks, notes and appointments.
//!
//! Everything generated comes from `fastrand` generators seeded from `rng_seed` on their own
//! stream (not the world's id generator): one for the reference records and one per chunk of
//! contacts, so the same seed gives the same ids and data whatever the number of threads and
//! however many requests the world later serves. Dates are spread over the two years before the
//! start of the current UTC day: fixed for a seed within a day, and "recent" whenever the
//! simulator starts. Seeding writes the location directly, so it sends no webhooks.
//!
//! Speed at a million contacts (see `tests/it/seed.rs`): the maps are sized once, the location is
//! filled before it is shared (no lock per contact), lists are allocated at their final size, and
//! contacts are generated on spare cores while this thread inserts them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde_json::Value;

use super::model::{
    Appointment, Business, Calendar, Contact, CustomField, CustomFieldValue, Note, Task, iso,
};
use super::state::{Location, World};

/// Mixed into `rng_seed` so the seeding stream differs from the world's id stream.
const SEED_STREAM: u64 = 0x5eed_da7a_c0de_0001;

const N_USERS: usize = 5;
const N_BUSINESSES: usize = 20;
const N_CAMPAIGNS: usize = 3;
const N_WORKFLOWS: usize = 4;
/// How far back `dateAdded` goes.
const HISTORY_DAYS: i64 = 730;

#[rustfmt::skip]
const FIRST_NAMES: &[&str] = &[
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas", "Mia", "Mason",
    "Amelia", "Ethan", "Harper", "Logan", "Evelyn", "Aiden", "Abigail", "Jacob", "Emily", "Michael", "Ella",
    "Daniel", "Grace", "Henry", "Chloe", "Jackson", "Zoe", "Sebastian", "Nora", "Mateo", "Lily", "Owen", "Hannah",
    "Samuel", "Layla", "David", "Aria", "Joseph", "Priya", "Kenji", "Fatima", "Diego", "Ingrid", "Kwame",
];
#[rustfmt::skip]
const LAST_NAMES: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker",
    "Young", "Allen", "King", "Wright", "Scott", "Nguyen", "Hill", "Flores", "Green", "Patel", "Tanaka", "Okafor",
];
#[rustfmt::skip]
const TAGS: &[&str] = &[
    "customer", "lead", "vip", "newsletter", "wedding", "funeral", "corporate", "birthday", "repeat", "wholesale",
    "subscription", "event",
];
#[rustfmt::skip]
const SOURCES: &[&str] = &[
    "website", "facebook", "google ads", "referral", "walk-in", "import", "phone call", "instagram",
];
/// `(city, state, postal code, country, time zone)`.
const PLACES: &[(&str, &str, &str, &str, &str)] = &[
    ("Austin", "TX", "78701", "US", "America/Chicago"),
    ("Denver", "CO", "80202", "US", "America/Denver"),
    ("Seattle", "WA", "98101", "US", "America/Los_Angeles"),
    ("Boston", "MA", "02108", "US", "America/New_York"),
    ("Miami", "FL", "33130", "US", "America/New_York"),
    ("Chicago", "IL", "60601", "US", "America/Chicago"),
    ("Phoenix", "AZ", "85004", "US", "America/Phoenix"),
    ("Portland", "OR", "97204", "US", "America/Los_Angeles"),
    ("Nashville", "TN", "37203", "US", "America/Chicago"),
    ("Toronto", "ON", "M5H 2N2", "CA", "America/Toronto"),
    ("Vancouver", "BC", "V6B 1A1", "CA", "America/Vancouver"),
    ("London", "England", "SW1A 1AA", "GB", "Europe/London"),
    ("Manchester", "England", "M1 1AE", "GB", "Europe/London"),
    ("Sydney", "NSW", "2000", "AU", "Australia/Sydney"),
    ("Berlin", "Berlin", "10115", "DE", "Europe/Berlin"),
];
/// US area codes for phone numbers (E.164 `+1` + area + 7 digits).
const AREA_CODES: &[u16] = &[
    212, 305, 312, 415, 512, 602, 617, 303, 206, 503, 615, 702, 713, 818, 917,
];
#[rustfmt::skip]
const STREETS: &[&str] = &[
    "Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Elm St", "Pine Rd", "Rose Blvd", "Lake View Dr",
];
#[rustfmt::skip]
const BUSINESS_WORDS: (&[&str], &[&str]) = (
    &["Blue", "Golden", "Evergreen", "Summit", "Harbor", "Prairie", "Silver", "Northwind", "Redwood", "Sunrise"],
    &["Events", "Hotels", "Catering", "Weddings", "Realty", "Dental", "Law Group", "Studios", "Bakery", "Florals"],
);
#[rustfmt::skip]
const TASK_TITLES: &[&str] = &[
    "Call back", "Send quote", "Confirm delivery address", "Follow up on order", "Book consultation",
];
const NOTE_BODIES: &[&str] = &[
    "Prefers white lilies; allergic to pollen-heavy arrangements.",
    "Asked about weekly office subscription pricing.",
    "Delivery gate code is 4411.",
    "Wedding on the 14th, wants peonies if in season.",
    "Left a voicemail, will try again Friday.",
];
#[rustfmt::skip]
const FLOWERS: &[&str] = &["Roses", "Tulips", "Peonies", "Lilies", "Orchids", "Sunflowers", "Hydrangeas"];
/// Past appointments' statuses, weighted by repetition.
#[rustfmt::skip]
const APPOINTMENT_STATUSES: &[&str] = &[
    "confirmed", "confirmed", "confirmed", "new", "showed", "cancelled", "noshow",
];

/// Creates the configured locations and PITs, and seeds the main location.
pub fn populate(world: &World) {
    let config = &world.config;
    let mut main = Location::new(
        &config.location_id,
        &config.location_name,
        &config.company_id,
    );
    // Without a configured seed the data is drawn from the world's (entropy-seeded) generator.
    let seed = config.rng_seed.unwrap_or_else(|| world.rng.lock().u64(..));
    let mut rng = fastrand::Rng::with_seed(seed ^ SEED_STREAM);
    let today = world
        .now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists on every day")
        .and_utc();
    seed_location(&mut main, &mut rng, config.seed_contacts, today);
    world.add_location(main);
    for n in 1..=config.extra_locations {
        let id = world.new_id();
        world.add_location(Location::new(
            id,
            format!("Sub-account {n} (sim)"),
            &config.company_id,
        ));
    }
    for pit in &config.pits {
        world
            .tokens
            .add_pit(pit, &config.location_id, &config.company_id);
    }
}

/// A new id in GHL's style, drawn exactly as [`super::model::new_id`] draws it, with one allocation instead of
/// a growing `String` (a million contacts need close to two million ids).
fn seed_id(rng: &mut fastrand::Rng) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let bytes: Vec<u8> = (0..20)
        .map(|_| ALPHABET[rng.usize(..ALPHABET.len())])
        .collect();
    String::from_utf8(bytes).expect("the id alphabet is ASCII")
}

fn pick<'a, T>(rng: &mut fastrand::Rng, items: &'a [T]) -> &'a T {
    &items[rng.usize(..items.len())]
}

/// True with probability `percent` / 100.
fn chance(rng: &mut fastrand::Rng, percent: u8) -> bool {
    rng.u8(..100) < percent
}

/// Contacts per generation chunk. Each chunk draws from its own generator, so the data depends
/// on the seed and the chunk only, not on how many threads generate. Small enough that a chunk
/// is still in cache when it is inserted (chunks of 16 Ki contacts measured ~20% more CPU).
const CHUNK: usize = 1_024;

/// What contact generation reads: a copy of the location's reference records, so generator
/// threads can read it while the location is being filled.
struct Reference {
    location_id: String,
    users: Vec<String>,
    calendars: Vec<Calendar>,
    businesses: Vec<Business>,
    flower_field_id: String,
    budget_field_id: String,
    lower_first: Vec<String>,
    lower_last: Vec<String>,
    anchor: DateTime<Utc>,
    history_start: DateTime<Utc>,
    /// Milliseconds of history per contact: contact `index` is created in the `index`-th slice,
    /// so creation order follows the index as in a real account.
    slice_ms: i64,
    /// Seed of the chunk generators.
    chunk_seed: u64,
}

/// Contacts and appointments of one chunk, ready to insert.
struct Chunk {
    contacts: Vec<Contact>,
    appointments: Vec<Appointment>,
}

/// Fills `location` with the reference records and `n_contacts` contacts, dated before `anchor`.
///
/// Generation runs on spare cores while this thread inserts: at a million contacts inserting
/// into the big maps is the larger half of the work, and the two overlap.
fn seed_location(
    location: &mut Location,
    rng: &mut fastrand::Rng,
    n_contacts: usize,
    anchor: DateTime<Utc>,
) {
    let reference = seed_reference_records(location, rng, n_contacts, anchor);
    location.reserve_contacts(n_contacts);
    location.appointments.reserve(n_contacts / 10 + 1);
    let n_chunks = n_contacts.div_ceil(CHUNK);
    let n_workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .saturating_sub(1)
        .clamp(1, 4)
        .min(n_chunks.max(1));
    let next_chunk = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        // Bounded, so generators stay at most a few chunks ahead of the inserts.
        let (sender, receiver) = mpsc::sync_channel::<Chunk>(n_workers);
        for _ in 0..n_workers {
            let sender = sender.clone();
            let (reference, next_chunk) = (&reference, &next_chunk);
            scope.spawn(move || {
                loop {
                    let chunk_index = next_chunk.fetch_add(1, Ordering::Relaxed);
                    if chunk_index >= n_chunks {
                        break;
                    }
                    let chunk = generate_chunk(reference, chunk_index, n_contacts);
                    if sender.send(chunk).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        // Insertion order does not matter: seeded contacts are never duplicates, and the maps and
        // the date index do not depend on it.
        for chunk in receiver {
            for appointment in chunk.appointments {
                location
                    .appointments
                    .insert(appointment.id.clone(), appointment);
            }
            for contact in chunk.contacts {
                location.insert_contact(contact);
            }
        }
    });
}

/// Users, calendars, businesses, campaigns, workflows and custom fields of the location.
fn seed_reference_records(
    location: &mut Location,
    rng: &mut fastrand::Rng,
    n_contacts: usize,
    anchor: DateTime<Utc>,
) -> Reference {
    location.users = (0..N_USERS).map(|_| seed_id(rng)).collect();
    let group_id = seed_id(rng);
    location.calendars = vec![
        Calendar {
            id: seed_id(rng),
            name: "Consultations".into(),
            slot_duration: 30,
            group_id: Some(group_id.clone()),
            team_members: location.users[..2].to_vec(),
        },
        Calendar {
            id: seed_id(rng),
            name: "Deliveries & Installs".into(),
            slot_duration: 60,
            group_id: Some(group_id),
            team_members: location.users[2..3].to_vec(),
        },
    ];
    let businesses: Vec<Business> = (0..N_BUSINESSES)
        .map(|n| {
            let (first_words, second_words) = BUSINESS_WORDS;
            let name = format!(
                "{} {}",
                first_words[n % first_words.len()],
                second_words[(n / first_words.len() + n) % second_words.len()]
            );
            Business {
                id: seed_id(rng),
                name,
            }
        })
        .collect();
    location.businesses = businesses
        .iter()
        .map(|business| (business.id.clone(), business.clone()))
        .collect();
    location.campaigns = (0..N_CAMPAIGNS).map(|_| seed_id(rng)).collect();
    location.workflows = (0..N_WORKFLOWS).map(|_| seed_id(rng)).collect();
    location.custom_fields = [
        ("favourite_flower", "Favourite flower", "SINGLE_OPTIONS"),
        ("anniversary_date", "Anniversary date", "DATE"),
        ("monthly_budget", "Monthly budget", "NUMERICAL"),
        ("delivery_notes", "Delivery notes", "LARGE_TEXT"),
    ]
    .into_iter()
    .map(|(key, name, data_type)| CustomField {
        id: seed_id(rng),
        key: format!("contact.{key}"),
        name: name.into(),
        data_type: data_type.into(),
    })
    .collect();
    let n_slices = i64::try_from(n_contacts.max(1)).unwrap_or(i64::MAX);
    Reference {
        location_id: location.id.clone(),
        users: location.users.clone(),
        calendars: location.calendars.clone(),
        businesses,
        flower_field_id: location.custom_fields[0].id.clone(),
        budget_field_id: location.custom_fields[2].id.clone(),
        lower_first: FIRST_NAMES.iter().map(|name| name.to_lowercase()).collect(),
        lower_last: LAST_NAMES.iter().map(|name| name.to_lowercase()).collect(),
        anchor,
        history_start: anchor - ChronoDuration::days(HISTORY_DAYS),
        slice_ms: (HISTORY_DAYS * 24 * 3600 * 1000 / n_slices).max(1),
        chunk_seed: rng.u64(..),
    }
}

/// Contacts `chunk_index * CHUNK ..` (at most `CHUNK`, never past `n_contacts`) and the
/// appointments of every tenth.
fn generate_chunk(reference: &Reference, chunk_index: usize, n_contacts: usize) -> Chunk {
    // Chunk generators' seeds are spread by the golden-ratio increment, as SplitMix64 does.
    let chunk_number = u64::try_from(chunk_index).unwrap_or(u64::MAX);
    let mut rng = fastrand::Rng::with_seed(
        reference.chunk_seed.wrapping_add(
            chunk_number
                .wrapping_add(1)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15),
        ),
    );
    let first = chunk_index * CHUNK;
    let end = (first + CHUNK).min(n_contacts);
    let mut contacts = Vec::with_capacity(end - first);
    let mut appointments = Vec::with_capacity((end - first) / 10 + 1);
    let mut date_added = reference.history_start;
    for index in first..end {
        // About a third of the contacts share the previous one's timestamp exactly, as a CSV
        // import or a bulk API load produces: paging and sorting must cope with ties.
        if index == first || !chance(&mut rng, 35) {
            let slice = i64::try_from(index).unwrap_or(i64::MAX);
            let offset_ms =
                slice.saturating_mul(reference.slice_ms) + rng.i64(0..reference.slice_ms);
            date_added = reference.history_start + ChronoDuration::milliseconds(offset_ms);
        }
        let contact = generate_contact(reference, &mut rng, index, date_added);
        if index.is_multiple_of(10) {
            appointments.push(generate_appointment(reference, &mut rng, &contact));
        }
        contacts.push(contact);
    }
    Chunk {
        contacts,
        appointments,
    }
}

fn generate_contact(
    reference: &Reference,
    rng: &mut fastrand::Rng,
    index: usize,
    date_added: DateTime<Utc>,
) -> Contact {
    let first = rng.usize(..FIRST_NAMES.len());
    let last = rng.usize(..LAST_NAMES.len());
    let id = seed_id(rng);
    // The index makes e-mails and phones unique, so seeded contacts are never duplicates.
    let email = chance(rng, 97).then(|| {
        format!(
            "{}.{}.{index}@example.com",
            reference.lower_first[first], reference.lower_last[last]
        )
    });
    // Seven digits starting 2-9 (a valid NANP exchange); unique for up to 8 million contacts.
    let phone = chance(rng, 92).then(|| {
        format!(
            "+1{}{}",
            pick(rng, AREA_CODES),
            2_000_000 + index % 8_000_000
        )
    });
    let (city, state, postal_code, country, timezone) = *pick(rng, PLACES);
    let has_address = chance(rng, 70);
    // Lists are allocated at their final size: the default first growth (to four elements) would
    // cost hundreds of megabytes across a million contacts.
    let n_tags = rng.usize(0..4);
    let mut tags: Vec<String> = Vec::with_capacity(n_tags);
    for _ in 0..n_tags {
        let tag = *pick(rng, TAGS);
        if !tags.iter().any(|known| known == tag) {
            tags.push(tag.to_owned());
        }
    }
    let business = chance(rng, 12).then(|| pick(rng, &reference.businesses));
    let (has_flower, has_budget) = (chance(rng, 50), chance(rng, 20));
    let mut custom_fields = Vec::with_capacity(usize::from(has_flower) + usize::from(has_budget));
    if has_flower {
        let value = Value::String((*pick(rng, FLOWERS)).to_owned());
        custom_fields.push(CustomFieldValue {
            id: reference.flower_field_id.clone(),
            value,
        });
    }
    if has_budget {
        let value = Value::String((50 + 25 * rng.u32(0..20)).to_string());
        custom_fields.push(CustomFieldValue {
            id: reference.budget_field_id.clone(),
            value,
        });
    }
    let since_added = (reference.anchor - date_added).num_milliseconds().max(1);
    // Most contacts were touched after creation; some never were (`dateUpdated == dateAdded`).
    let date_updated = if chance(rng, 40) {
        date_added
    } else {
        date_added + ChronoDuration::milliseconds(rng.i64(0..since_added))
    };
    let assigned_to = chance(rng, 40).then(|| pick(rng, &reference.users).clone());
    let mut contact = Contact {
        id,
        location_id: reference.location_id.clone(),
        first_name: Some(FIRST_NAMES[first].to_owned()),
        last_name: Some(LAST_NAMES[last].to_owned()),
        email,
        phone,
        company_name: business.map(|business| business.name.clone()),
        address1: has_address.then(|| format!("{} {}", rng.u32(1..9999), pick(rng, STREETS))),
        city: Some(city.to_owned()),
        state: Some(state.to_owned()),
        postal_code: Some(postal_code.to_owned()),
        country: Some(country.to_owned()),
        timezone: Some(timezone.to_owned()),
        source: Some((*pick(rng, SOURCES)).to_owned()),
        assigned_to,
        dnd: chance(rng, 3),
        tags,
        custom_fields,
        business_id: business.map(|business| business.id.clone()),
        date_added,
        date_updated,
        ..Contact::default()
    };
    if index.is_multiple_of(3) {
        let due = date_added + ChronoDuration::days(rng.i64(1..60));
        contact.tasks = vec![Task {
            id: seed_id(rng),
            title: (*pick(rng, TASK_TITLES)).to_owned(),
            body: chance(rng, 60).then(|| format!("Regarding {}", FIRST_NAMES[first])),
            assigned_to: chance(rng, 70).then(|| pick(rng, &reference.users).clone()),
            due_date: iso(due),
            completed: due < reference.anchor && chance(rng, 70),
            contact_id: contact.id.clone(),
            date_added,
        }];
    }
    if index.is_multiple_of(4) {
        contact.notes = vec![Note {
            id: seed_id(rng),
            body: (*pick(rng, NOTE_BODIES)).to_owned(),
            user_id: chance(rng, 80).then(|| pick(rng, &reference.users).clone()),
            date_added: iso(date_updated),
            contact_id: contact.id.clone(),
            title: None,
            color: None,
            pinned: chance(rng, 10),
        }];
    }
    contact
}

/// An appointment for `contact` between its creation and two months after the anchor, on a slot
/// boundary of a seeded calendar.
fn generate_appointment(
    reference: &Reference,
    rng: &mut fastrand::Rng,
    contact: &Contact,
) -> Appointment {
    let calendar = pick(rng, &reference.calendars);
    let slot = ChronoDuration::minutes(i64::from(calendar.slot_duration));
    // Half-hour boundaries, in half-hours since the epoch; the first one at or after creation.
    const HALF_HOUR_MS: i64 = 1_800_000;
    let earliest = (contact.date_added.timestamp_millis() + HALF_HOUR_MS - 1) / HALF_HOUR_MS;
    let latest = (reference.anchor + ChronoDuration::days(60)).timestamp_millis() / HALF_HOUR_MS;
    let start =
        DateTime::from_timestamp_millis(rng.i64(earliest..latest.max(earliest + 1)) * HALF_HOUR_MS)
            .expect("a seeded appointment time is in chrono's range");
    let status = if start > reference.anchor {
        "confirmed"
    } else {
        *pick(rng, APPOINTMENT_STATUSES)
    };
    Appointment {
        id: seed_id(rng),
        calendar_id: calendar.id.clone(),
        location_id: reference.location_id.clone(),
        contact_id: contact.id.clone(),
        title: contact.full_name(),
        appointment_status: status.to_owned(),
        assigned_user_id: calendar.team_members.first().cloned(),
        address: None,
        notes: None,
        start_time: start,
        end_time: start + slot,
        date_added: contact.date_added,
        date_updated: contact.date_added,
        meeting_location_type: None,
        rrule: None,
        source: Some("booking_widget".into()),
    }
}
