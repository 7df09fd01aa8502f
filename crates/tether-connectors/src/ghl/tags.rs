//! Tags: add to or remove from one contact, or update many contacts at once (Contacts API v2,
//! `Version: 2021-07-28`).

use http::Method;
use serde::Serialize;

use super::models::{BulkTagsBody, BulkTagsResult, TagAction, Tags as TagList};
use super::{Api, ContactId, Error, GhlClient, segment};

/// The tag operations of a [`GhlClient`].
#[derive(Debug, Clone, Copy)]
pub struct Tags<'a> {
    pub(crate) client: &'a GhlClient,
}

#[derive(Serialize)]
struct TagsBody<'a> {
    tags: &'a [String],
}

impl Tags<'_> {
    fn path(contact_id: &ContactId) -> Result<String, Error> {
        Ok(format!(
            "/contacts/{}/tags",
            segment("contactId", contact_id.as_str())?
        ))
    }

    /// `POST /contacts/{contactId}/tags` (add-tags); answers 201 with every tag of the contact.
    ///
    /// Adding tags a contact already has changes nothing, so a repeat is harmless and the call
    /// is marked idempotent.
    pub async fn add(&self, contact_id: &ContactId, tags: &[String]) -> Result<TagList, Error> {
        let request = self
            .client
            .request(Api::Contacts, Method::POST, Self::path(contact_id)?)?
            .json(&TagsBody { tags })?
            .idempotent(true);
        self.client.send(request).await
    }

    /// `DELETE /contacts/{contactId}/tags` (remove-tags), with the tags in a JSON body.
    pub async fn remove(&self, contact_id: &ContactId, tags: &[String]) -> Result<TagList, Error> {
        let request = self
            .client
            .request(Api::Contacts, Method::DELETE, Self::path(contact_id)?)?
            .json(&TagsBody { tags })?;
        self.client.send(request).await
    }

    /// `POST /contacts/bulk/tags/update/{type}` (create-association, sic): adds tags to or
    /// removes them from many contacts of the client's location; `remove_all_tags` (remove
    /// only) clears every tag.
    ///
    /// The spec's path keeps `{type}` but lost the parameter's declaration in its 2026-05 sync
    /// (README §13.3); `add` / `remove`, as the earlier spec declared, fill it.
    pub async fn bulk_update(
        &self,
        action: TagAction,
        contacts: &[ContactId],
        tags: &[String],
        remove_all_tags: Option<bool>,
    ) -> Result<BulkTagsResult, Error> {
        let body = BulkTagsBody {
            contacts,
            tags,
            location_id: self.client.location_id(),
            remove_all_tags,
        };
        let path = format!("/contacts/bulk/tags/update/{}", action.as_str());
        let request = self
            .client
            .request(Api::Contacts, Method::POST, path)?
            .json(&body)?
            // Adding or removing the same tags twice ends in the same state.
            .idempotent(true);
        self.client.send(request).await
    }
}
