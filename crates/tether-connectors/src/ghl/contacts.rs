//! Contacts: read, create, update, delete, upsert, search, duplicate lookup and the deprecated
//! list (Contacts API v2, `Version: 2021-07-28`, scopes `contacts.readonly` / `contacts.write`).

use futures::Stream;
use http::Method;

use super::models::{
    Contact, ContactEnvelope, ContactInput, ContactPage, CreateContactBody, DuplicateContact,
    ListContactsQuery, SearchBody, SearchRequest, Succeeded, UpsertContactBody, UpsertedContact,
};
use super::{Api, ContactId, Error, GhlClient, paging, segment};

/// The contact operations of a [`GhlClient`].
#[derive(Debug, Clone, Copy)]
pub struct Contacts<'a> {
    pub(crate) client: &'a GhlClient,
}

impl Contacts<'_> {
    /// `GET /contacts/{contactId}` (get-contact).
    pub async fn get(&self, contact_id: &ContactId) -> Result<Contact, Error> {
        let path = format!("/contacts/{}", segment("contactId", contact_id.as_str())?);
        let request = self.client.request(Api::Contacts, Method::GET, path)?;
        let envelope: ContactEnvelope = self.client.send(request).await?;
        Ok(envelope.contact)
    }

    /// `POST /contacts/` (create-contact) in the client's location; answers 201.
    ///
    /// Not idempotent: a retry after a timeout could create the contact twice, so the stack
    /// retries it only when the request surely did not arrive. Use [`Contacts::upsert`] when a
    /// retry must be safe.
    pub async fn create(&self, contact: &ContactInput) -> Result<Contact, Error> {
        let body = CreateContactBody {
            location_id: self.client.location_id(),
            contact,
        };
        let request = self
            .client
            .request(Api::Contacts, Method::POST, "/contacts/".into())?
            .json(&body)?
            .idempotent(false);
        let envelope: ContactEnvelope = self.client.send(request).await?;
        Ok(envelope.contact)
    }

    /// `PUT /contacts/{contactId}` (update-contact). `tags`, when given, replace every tag.
    ///
    /// Refuses `gender` and `companyName` before sending: the spec's `UpdateContactDto` has
    /// neither, and silently dropping a field the caller set would hide the problem.
    pub async fn update(
        &self,
        contact_id: &ContactId,
        contact: &ContactInput,
    ) -> Result<Contact, Error> {
        for (field, set) in [
            ("gender", contact.gender.is_some()),
            ("companyName", contact.company_name.is_some()),
        ] {
            if set {
                return Err(Error::InvalidInput {
                    path: field.into(),
                    message: "cannot be changed by update-contact (create or upsert only)".into(),
                });
            }
        }
        let path = format!("/contacts/{}", segment("contactId", contact_id.as_str())?);
        let request = self
            .client
            .request(Api::Contacts, Method::PUT, path)?
            .json(contact)?;
        // The answer is `{succeded, contact}`; the contact is what callers need.
        let envelope: ContactEnvelope = self.client.send(request).await?;
        Ok(envelope.contact)
    }

    /// `DELETE /contacts/{contactId}` (delete-contact).
    pub async fn delete(&self, contact_id: &ContactId) -> Result<Succeeded, Error> {
        let path = format!("/contacts/{}", segment("contactId", contact_id.as_str())?);
        let request = self.client.request(Api::Contacts, Method::DELETE, path)?;
        self.client.send(request).await
    }

    /// `POST /contacts/upsert` (upsert-contact): updates the contact the location's duplicate
    /// rules match, or creates one. `create_new_if_duplicate_allowed` creates right away when
    /// the location allows duplicates.
    ///
    /// Marked idempotent: repeating the same upsert finds the contact the first one created.
    pub async fn upsert(
        &self,
        contact: &ContactInput,
        create_new_if_duplicate_allowed: Option<bool>,
    ) -> Result<UpsertedContact, Error> {
        let body = UpsertContactBody {
            location_id: self.client.location_id(),
            contact,
            create_new_if_duplicate_allowed,
        };
        let request = self
            .client
            .request(Api::Contacts, Method::POST, "/contacts/upsert".into())?
            .json(&body)?
            .idempotent(true);
        self.client.send(request).await
    }

    /// `POST /contacts/search` (search-contacts-advanced): one page.
    ///
    /// A search only reads, so it is marked idempotent and retried like a GET.
    pub async fn search(&self, search: &SearchRequest) -> Result<ContactPage, Error> {
        if search.page_limit == 0 {
            return Err(Error::InvalidInput {
                path: "pageLimit".into(),
                message: "must be at least 1".into(),
            });
        }
        let body = SearchBody {
            location_id: self.client.location_id(),
            request: search,
        };
        let request = self
            .client
            .request(Api::Contacts, Method::POST, "/contacts/search".into())?
            .json(&body)?
            .idempotent(true);
        self.client.send_undeclared(request).await
    }

    /// Every contact a search matches, page by page with `searchAfter` cursors (the way the
    /// service recommends; it goes past 10,000 records). See [`paging::search_stream`].
    pub fn search_stream(
        &self,
        search: SearchRequest,
    ) -> impl Stream<Item = Result<Contact, Error>> + Send + 'static {
        paging::search_stream(self.client.clone(), search)
    }

    /// Every contact a search matches with `page` / `pageLimit` paging, which the service stops
    /// at 10,000 records. See [`paging::search_pages_stream`].
    pub fn search_pages_stream(
        &self,
        search: SearchRequest,
    ) -> impl Stream<Item = Result<Contact, Error>> + Send + 'static {
        paging::search_pages_stream(self.client.clone(), search)
    }

    /// `GET /contacts/search/duplicate` (get-duplicate-contact): the contact the location's
    /// duplicate rules match for this e-mail and/or phone, if any.
    ///
    /// The query is form-encoded, so `+` in a phone or an e-mail is sent as `%2B` as the spec
    /// asks.
    pub async fn find_duplicate(
        &self,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> Result<Option<Contact>, Error> {
        let mut request = self
            .client
            .request(
                Api::Contacts,
                Method::GET,
                "/contacts/search/duplicate".into(),
            )?
            .query("locationId", self.client.location_id().as_str());
        if let Some(phone) = phone {
            request = request.query("number", phone);
        }
        if let Some(email) = email {
            request = request.query("email", email);
        }
        let answer: DuplicateContact = self.client.send_undeclared(request).await?;
        Ok(answer.contact)
    }

    /// `GET /contacts/` (get-contacts, **deprecated** in favour of search): one page.
    pub async fn list(&self, query: &ListContactsQuery) -> Result<ContactPage, Error> {
        let mut request = self
            .client
            .request(Api::Contacts, Method::GET, "/contacts/".into())?
            .query("locationId", self.client.location_id().as_str());
        if let Some(limit) = query.limit {
            request = request.query("limit", limit.to_string());
        }
        if let Some(text) = &query.query {
            request = request.query("query", text.as_str());
        }
        if let Some(start_after_id) = &query.start_after_id {
            request = request.query("startAfterId", start_after_id.as_str());
        }
        if let Some(start_after) = query.start_after {
            request = request.query("startAfter", start_after.to_string());
        }
        self.client.send(request).await
    }

    /// Every contact of the deprecated list, following its cursor. See
    /// [`paging::list_stream`].
    pub fn list_stream(
        &self,
        query: ListContactsQuery,
    ) -> impl Stream<Item = Result<Contact, Error>> + Send + 'static {
        paging::list_stream(self.client.clone(), query)
    }
}
