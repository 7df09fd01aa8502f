//! HighLevel (GHL / LeadConnector): a typed client for the 32 operations of the Contacts API v2
//! and the calendar and appointment operations of the Calendars API v2, with paging streams and
//! the catalog entries that expose each operation to the engine.
//!
//! [`GhlClient`] wraps one connection's [`HttpClient`] (credentials, rate limit, retries) and the
//! location the connection is for. Each resource has a handler borrowed from the client:
//!
//! ```no_run
//! # async fn example(client: tether_connectors::ghl::GhlClient) -> Result<(), tether_connectors::ghl::Error> {
//! use tether_connectors::ghl::models::ContactInput;
//!
//! let input = ContactInput { email: Some("ada@example.com".into()), ..Default::default() };
//! let contact = client.contacts().create(&input).await?;
//! client.tags().add(&contact.id, &["vip".to_owned()]).await?;
//! # Ok(()) }
//! ```
//!
//! Every request carries the `Version` header its spec enumerates (Contacts `2021-07-28`,
//! Calendars `2021-04-15`); the header is per operation, not per client, because the two APIs
//! refuse each other's value.

pub mod business;
pub mod calendars;
pub mod campaigns;
pub mod catalog;
pub mod contacts;
pub mod error;
pub mod followers;
pub mod models;
pub mod notes;
pub mod paging;
pub mod poll;
pub mod tags;
pub mod tasks;
pub mod workflows;

use std::sync::Arc;

use http::Method;
use serde::de::DeserializeOwned;
use tether_core::Secret;
use tether_http::{ApiRequest, ClientConfig, HttpClient, LimitConfig, StaticBearer, WindowLimiter};
use url::Url;

pub use error::Error;
pub use tether_core::id::{ContactId, LocationId};

/// The REST base URL of every HighLevel v2 API.
pub const BASE_URL: &str = "https://services.leadconnectorhq.com";
/// `Version` header value of every Contacts v2 operation (the only value its spec enumerates).
pub const VERSION_CONTACTS: &str = "2021-07-28";
/// `Version` header value of every Calendars v2 operation (the only value its spec enumerates).
pub const VERSION_CALENDARS: &str = "2021-04-15";

/// Declares a GHL id newtype with [`tether_core::id_type!`] and gives it a JSON Schema (a plain
/// string), so operation schemas can name it.
macro_rules! ghl_id {
    ($(#[$meta:meta])* $name:ident) => {
        tether_core::id_type!($(#[$meta])* $name);

        impl schemars::JsonSchema for $name {
            fn inline_schema() -> bool {
                true
            }

            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
                <String as schemars::JsonSchema>::json_schema(generator)
            }
        }
    };
}

ghl_id!(
    /// A task of a contact.
    TaskId
);
ghl_id!(
    /// A note of a contact.
    NoteId
);
ghl_id!(
    /// A user of the location (assignee, follower, note author).
    UserId
);
ghl_id!(
    /// A business (company record) contacts can belong to.
    BusinessId
);
ghl_id!(
    /// An email/SMS campaign.
    CampaignId
);
ghl_id!(
    /// An automation workflow.
    WorkflowId
);
ghl_id!(
    /// A calendar.
    CalendarId
);
ghl_id!(
    /// A calendar group.
    CalendarGroupId
);
ghl_id!(
    /// A calendar event (appointment), or one instance of a recurring series
    /// (`<masterEventId>_<startMs>_<durationMin>`).
    EventId
);

/// Which API an operation belongs to, which decides its `Version` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    /// Contacts v2.
    Contacts,
    /// Calendars v2.
    Calendars,
}

impl Api {
    fn version(self) -> &'static str {
        match self {
            Api::Contacts => VERSION_CONTACTS,
            Api::Calendars => VERSION_CALENDARS,
        }
    }
}

/// A client for one HighLevel connection: its HTTP stack and its location.
#[derive(Debug, Clone)]
pub struct GhlClient {
    http: HttpClient,
    location_id: LocationId,
}

impl GhlClient {
    /// A client over an existing HTTP client (credentials, limiter and base URL already chosen).
    pub fn new(http: HttpClient, location_id: LocationId) -> Self {
        GhlClient { http, location_id }
    }

    /// A client for a location token or a sub-account private integration token, with
    /// HighLevel's published rate limits; `base_url` is [`BASE_URL`] or a simulator's address.
    pub fn with_token(
        base_url: &str,
        token: Secret,
        location_id: LocationId,
    ) -> Result<Self, Error> {
        let base_url = Url::parse(base_url).map_err(|error| Error::InvalidInput {
            path: "baseUrl".into(),
            message: error.to_string(),
        })?;
        let config = ClientConfig::new(format!("ghl:{location_id}"), base_url);
        let limiter = Arc::new(WindowLimiter::new(LimitConfig::ghl()));
        let http = HttpClient::new(config, Arc::new(StaticBearer(token)), Some(limiter))?;
        Ok(GhlClient::new(http, location_id))
    }

    /// The location every location-scoped call is made for.
    pub fn location_id(&self) -> &LocationId {
        &self.location_id
    }

    /// The underlying HTTP client.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// Contacts: get, create, update, delete, upsert, search, duplicates, lists.
    pub fn contacts(&self) -> contacts::Contacts<'_> {
        contacts::Contacts { client: self }
    }

    /// Tasks of a contact.
    pub fn tasks(&self) -> tasks::Tasks<'_> {
        tasks::Tasks { client: self }
    }

    /// Notes of a contact.
    pub fn notes(&self) -> notes::Notes<'_> {
        notes::Notes { client: self }
    }

    /// Tags of one contact, and tags of many contacts at once.
    pub fn tags(&self) -> tags::Tags<'_> {
        tags::Tags { client: self }
    }

    /// Followers of a contact.
    pub fn followers(&self) -> followers::Followers<'_> {
        followers::Followers { client: self }
    }

    /// A contact's campaign memberships.
    pub fn campaigns(&self) -> campaigns::Campaigns<'_> {
        campaigns::Campaigns { client: self }
    }

    /// A contact's workflow enrolments.
    pub fn workflows(&self) -> workflows::Workflows<'_> {
        workflows::Workflows { client: self }
    }

    /// Businesses and their contacts.
    pub fn businesses(&self) -> business::Businesses<'_> {
        business::Businesses { client: self }
    }

    /// Calendars, calendar events and appointments.
    pub fn calendars(&self) -> calendars::Calendars<'_> {
        calendars::Calendars { client: self }
    }

    /// Polling triggers: what was added or changed since a cursor.
    pub fn polls(&self) -> poll::Polls<'_> {
        poll::Polls { client: self }
    }

    /// A request for `path` with the API's `Version` header.
    pub(crate) fn request(
        &self,
        api: Api,
        method: Method,
        path: String,
    ) -> Result<ApiRequest, Error> {
        Ok(ApiRequest::new(method, path).header("version", api.version())?)
    }

    /// Sends `request` and decodes the JSON answer; any 2xx is a success (creates answer 201,
    /// upserts 200, and the spec's delete-event 201).
    pub(crate) async fn send<T: DeserializeOwned>(&self, request: ApiRequest) -> Result<T, Error> {
        Ok(self.http.send_json(request).await?)
    }

    /// Like [`Client::send`], for the operations whose spec declares no 2xx body
    /// (`search-contacts-advanced`, `get-duplicate-contact`): an empty body reads as `{}`, so the
    /// answer means "nothing found" instead of failing to decode `null`.
    pub(crate) async fn send_undeclared<T: DeserializeOwned>(
        &self,
        request: ApiRequest,
    ) -> Result<T, Error> {
        let mut response = self.http.send(request).await?;
        if response.body.iter().all(u8::is_ascii_whitespace) {
            response.body = bytes::Bytes::from_static(b"{}");
        }
        Ok(response.json()?)
    }
}

/// `id` as one path segment: refused when empty (the request would reach another route) and
/// percent-encoded otherwise, so an id cannot add segments or a query.
pub(crate) fn segment(field: &str, id: &str) -> Result<String, Error> {
    if id.is_empty() {
        return Err(Error::InvalidInput {
            path: field.to_owned(),
            message: "must not be empty".into(),
        });
    }
    let mut encoded = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    Ok(encoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded_and_never_empty() {
        let check = |id: &str, expected: &str| assert_eq!(segment("id", id).unwrap(), expected);
        check("sx6wyHhbFdRXh302LLNR", "sx6wyHhbFdRXh302LLNR");
        check("a/b?c", "a%2Fb%3Fc");
        check("ev_1729821600000_1800", "ev_1729821600000_1800");
        assert!(matches!(
            segment("contactId", ""),
            Err(Error::InvalidInput { .. })
        ));
    }
}
