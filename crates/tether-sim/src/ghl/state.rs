//! The simulator's world: agencies, locations and their records, behind locks that readers share.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use parking_lot::{Mutex, RwLock};

use super::GhlSimConfig;
use super::auth::Tokens;
use super::error::{GhlError, GhlResult};
use super::faults::Faults;
use super::log::RequestLog;
use super::model::{Appointment, Business, Calendar, Contact, CustomField};
use super::ratelimit::RateLimiter;
use super::webhooks::Webhooks;

/// Which field decides that two contacts are the same person, in the location's priority order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchField {
    /// E-mail, compared case-insensitively.
    Email,
    /// Phone, compared as given (E.164 expected).
    Phone,
}

/// A sub-account and everything in it.
#[derive(Debug)]
pub struct Location {
    /// Location id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Owning agency.
    pub company_id: String,
    /// The "Allow Duplicate Contact" setting.
    pub allow_duplicates: bool,
    /// Which fields identify a duplicate, first match wins.
    pub duplicate_priority: Vec<MatchField>,
    /// Contacts by id.
    pub contacts: HashMap<String, Box<Contact>>,
    /// Lowercased e-mail → contact ids having it (several only when duplicates are allowed).
    pub by_email: HashMap<String, Vec<String>>,
    /// Phone → contact ids having it.
    pub by_phone: HashMap<String, Vec<String>>,
    /// `(dateAdded ms, id)` of every contact: the order of the deprecated list and the default search sort.
    pub by_date_added: BTreeSet<(i64, String)>,
    /// Appointments by id.
    pub appointments: HashMap<String, Appointment>,
    /// Calendars by id.
    pub calendars: Vec<Calendar>,
    /// Businesses by id.
    pub businesses: HashMap<String, Business>,
    /// User ids of the location (assignees, followers, note authors).
    pub users: Vec<String>,
    /// Campaign ids that exist.
    pub campaigns: Vec<String>,
    /// Workflow ids that exist.
    pub workflows: Vec<String>,
    /// Custom field definitions (contact values refer to their ids).
    pub custom_fields: Vec<CustomField>,
}

impl Location {
    /// An empty location.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        company_id: impl Into<String>,
    ) -> Self {
        Location {
            id: id.into(),
            name: name.into(),
            company_id: company_id.into(),
            allow_duplicates: false,
            duplicate_priority: vec![MatchField::Email, MatchField::Phone],
            contacts: HashMap::new(),
            by_email: HashMap::new(),
            by_phone: HashMap::new(),
            by_date_added: BTreeSet::new(),
            appointments: HashMap::new(),
            calendars: Vec::new(),
            businesses: HashMap::new(),
            users: Vec::new(),
            campaigns: Vec::new(),
            workflows: Vec::new(),
            custom_fields: Vec::new(),
        }
    }

    /// Makes room for `additional` more contacts in the map and its indexes, so a bulk load
    /// (seeding a million contacts) does not rehash again and again.
    pub fn reserve_contacts(&mut self, additional: usize) {
        self.contacts.reserve(additional);
        self.by_email.reserve(additional);
        self.by_phone.reserve(additional);
    }

    /// Adds a contact and indexes it. The caller has checked duplicates.
    pub fn insert_contact(&mut self, contact: Contact) {
        self.index(&contact);
        // Boxed: the map's slots stay small (a million inline contacts would need ~1.6 GB of
        // slots alone), and growing the map moves pointers, not records.
        self.contacts.insert(contact.id.clone(), Box::new(contact));
    }

    /// Removes a contact, its indexes and its appointments.
    pub fn remove_contact(&mut self, contact_id: &str) -> Option<Contact> {
        let contact = self.contacts.remove(contact_id)?;
        self.unindex(&contact);
        self.appointments
            .retain(|_, appointment| appointment.contact_id != contact_id);
        Some(*contact)
    }

    /// Applies `change` to a contact, keeping the indexes right; returns the updated contact.
    pub fn update_contact<T>(
        &mut self,
        contact_id: &str,
        change: impl FnOnce(&mut Contact) -> GhlResult<T>,
    ) -> GhlResult<T> {
        let mut contact = self
            .contacts
            .remove(contact_id)
            .ok_or_else(|| contact_not_found(contact_id))?;
        self.unindex(&contact);
        let result = change(&mut contact);
        self.index(&contact);
        self.contacts.insert(contact.id.clone(), contact);
        result
    }

    /// The contact, or the 404 the API answers.
    pub fn contact(&self, contact_id: &str) -> GhlResult<&Contact> {
        self.contacts
            .get(contact_id)
            .map(|contact| &**contact)
            .ok_or_else(|| contact_not_found(contact_id))
    }

    /// Ids of contacts with this e-mail (case-insensitive).
    pub fn find_by_email(&self, email: &str) -> &[String] {
        self.by_email
            .get(&email.to_lowercase())
            .map_or(&[], Vec::as_slice)
    }

    /// Ids of contacts with this phone.
    pub fn find_by_phone(&self, phone: &str) -> &[String] {
        self.by_phone.get(phone).map_or(&[], Vec::as_slice)
    }

    fn index(&mut self, contact: &Contact) {
        // Almost every key has one contact: a one-slot Vec, not the default first growth to four
        // slots, saves ~160 MB across the two indexes at a million contacts.
        if let Some(email) = &contact.email {
            self.by_email
                .entry(email.to_lowercase())
                .or_insert_with(|| Vec::with_capacity(1))
                .push(contact.id.clone());
        }
        if let Some(phone) = &contact.phone {
            self.by_phone
                .entry(phone.clone())
                .or_insert_with(|| Vec::with_capacity(1))
                .push(contact.id.clone());
        }
        self.by_date_added
            .insert((contact.date_added.timestamp_millis(), contact.id.clone()));
    }

    fn unindex(&mut self, contact: &Contact) {
        fn drop_from(map: &mut HashMap<String, Vec<String>>, key: &str, id: &str) {
            if let Some(ids) = map.get_mut(key) {
                ids.retain(|other| other != id);
                if ids.is_empty() {
                    map.remove(key);
                }
            }
        }
        if let Some(email) = &contact.email {
            drop_from(&mut self.by_email, &email.to_lowercase(), &contact.id);
        }
        if let Some(phone) = &contact.phone {
            drop_from(&mut self.by_phone, phone, &contact.id);
        }
        self.by_date_added
            .remove(&(contact.date_added.timestamp_millis(), contact.id.clone()));
    }
}

/// The 404 for a contact id that is not in the caller's location.
pub fn contact_not_found(contact_id: &str) -> GhlError {
    GhlError::NotFound(format!("Contact with id {contact_id} not found"))
}

/// An agency (company).
#[derive(Debug, Clone)]
pub struct Company {
    /// Company id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// Everything the simulator knows, shared by every request.
pub struct World {
    /// The configuration it was started with.
    pub config: GhlSimConfig,
    /// Agencies by id.
    pub companies: RwLock<HashMap<String, Company>>,
    /// Locations by id; each behind its own lock so locations do not contend.
    pub locations: RwLock<HashMap<String, Arc<RwLock<Location>>>>,
    /// Issued tokens, codes and refresh tokens.
    pub tokens: Tokens,
    /// Per (app, resource) burst and daily counters.
    pub limiter: RateLimiter,
    /// Faults to inject, set through the admin API.
    pub faults: Mutex<Faults>,
    /// What the simulator received, for assertions.
    pub log: RequestLog,
    /// Webhook registrations and delivery.
    pub webhooks: Webhooks,
    /// Ids from a seeded generator (deterministic runs) or from entropy.
    pub rng: Mutex<fastrand::Rng>,
    /// Milliseconds added to the wall clock (admin "time travel", to expire tokens in tests).
    clock_offset_ms: AtomicI64,
}

impl World {
    /// A world with the configured agency and location, and no records yet.
    pub fn new(config: GhlSimConfig) -> Self {
        let rng = match config.rng_seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        };
        let limiter = RateLimiter::new(config.rate_limit.clone());
        let webhooks = Webhooks::new(&config);
        let world = World {
            companies: RwLock::new(HashMap::new()),
            locations: RwLock::new(HashMap::new()),
            tokens: Tokens::default(),
            limiter,
            faults: Mutex::new(Faults::default()),
            log: RequestLog::new(config.request_log_capacity),
            webhooks,
            rng: Mutex::new(rng),
            clock_offset_ms: AtomicI64::new(0),
            config,
        };
        world.companies.write().insert(
            world.config.company_id.clone(),
            Company {
                id: world.config.company_id.clone(),
                name: "Tether Demo Agency".into(),
            },
        );
        world
    }

    /// Now, as the simulator sees it (wall clock plus the admin offset).
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + ChronoDuration::milliseconds(self.clock_offset_ms.load(Ordering::Relaxed))
    }

    /// Moves the simulator's clock forward (or back) by `ms`.
    pub fn advance_clock_ms(&self, ms: i64) {
        self.clock_offset_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// A fresh random id.
    pub fn new_id(&self) -> String {
        super::model::new_id(&mut self.rng.lock())
    }

    /// The location, or the 403 the API answers for a location the token cannot reach.
    pub fn location(&self, location_id: &str) -> GhlResult<Arc<RwLock<Location>>> {
        self.locations
            .read()
            .get(location_id)
            .cloned()
            .ok_or_else(|| {
                GhlError::Forbidden("The token does not have access to this location".into())
            })
    }

    /// Adds a location (replacing one with the same id).
    pub fn add_location(&self, location: Location) -> Arc<RwLock<Location>> {
        let location = Arc::new(RwLock::new(location));
        let id = location.read().id.clone();
        self.locations.write().insert(id, location.clone());
        location
    }
}
