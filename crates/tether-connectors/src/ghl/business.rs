//! Businesses and their contacts (Contacts API v2, `Version: 2021-07-28`).

use futures::Stream;
use http::Method;

use super::models::{
    BulkBusinessBody, BulkBusinessResult, BusinessContactsQuery, Contact, ContactPage,
};
use super::{Api, BusinessId, ContactId, Error, GhlClient, paging, segment};

/// The business operations of a [`GhlClient`].
#[derive(Debug, Clone, Copy)]
pub struct Businesses<'a> {
    pub(crate) client: &'a GhlClient,
}

impl Businesses<'_> {
    /// `GET /contacts/business/{businessId}` (get-contacts-by-businessId): one page, by
    /// `skip` / `limit` (sent as strings, as the spec types them).
    pub async fn contacts(&self, query: &BusinessContactsQuery) -> Result<ContactPage, Error> {
        let path = format!(
            "/contacts/business/{}",
            segment("businessId", query.business_id.as_str())?
        );
        let mut request = self
            .client
            .request(Api::Contacts, Method::GET, path)?
            .query("locationId", self.client.location_id().as_str());
        if let Some(limit) = query.limit {
            request = request.query("limit", limit.to_string());
        }
        if let Some(skip) = query.skip {
            request = request.query("skip", skip.to_string());
        }
        if let Some(text) = &query.query {
            request = request.query("query", text.as_str());
        }
        self.client.send(request).await
    }

    /// Every contact of a business, by `skip` / `limit`. See
    /// [`paging::business_contacts_stream`].
    pub fn contacts_stream(
        &self,
        query: BusinessContactsQuery,
    ) -> impl Stream<Item = Result<Contact, Error>> + Send + 'static {
        paging::business_contacts_stream(self.client.clone(), query)
    }

    /// `POST /contacts/bulk/business` (add-remove-contact-from-business): puts the contacts in
    /// the business, or takes them out of theirs when `business_id` is `None` (sent as `null`).
    ///
    /// Setting the same business again ends in the same state, so the call is idempotent.
    pub async fn set_contacts(
        &self,
        contacts: &[ContactId],
        business_id: Option<&BusinessId>,
    ) -> Result<BulkBusinessResult, Error> {
        let body = BulkBusinessBody {
            location_id: self.client.location_id(),
            ids: contacts,
            business_id,
        };
        let request = self
            .client
            .request(
                Api::Contacts,
                Method::POST,
                "/contacts/bulk/business".into(),
            )?
            .json(&body)?
            .idempotent(true);
        self.client.send(request).await
    }
}
