//! Followers of a contact: users who get its notifications (Contacts API v2,
//! `Version: 2021-07-28`).

use http::Method;
use serde::Serialize;

use super::models::{FollowersAdded, FollowersRemoved};
use super::{Api, ContactId, Error, GhlClient, UserId, segment};

/// The follower operations of a [`GhlClient`].
#[derive(Debug, Clone, Copy)]
pub struct Followers<'a> {
    pub(crate) client: &'a GhlClient,
}

#[derive(Serialize)]
struct FollowersBody<'a> {
    followers: &'a [UserId],
}

impl Followers<'_> {
    fn path(contact_id: &ContactId) -> Result<String, Error> {
        Ok(format!(
            "/contacts/{}/followers",
            segment("contactId", contact_id.as_str())?
        ))
    }

    /// `POST /contacts/{contactId}/followers` (add-followers-contact); answers 201. Adding a
    /// follower twice changes nothing, so the call is marked idempotent.
    pub async fn add(
        &self,
        contact_id: &ContactId,
        followers: &[UserId],
    ) -> Result<FollowersAdded, Error> {
        let request = self
            .client
            .request(Api::Contacts, Method::POST, Self::path(contact_id)?)?
            .json(&FollowersBody { followers })?
            .idempotent(true);
        self.client.send(request).await
    }

    /// `DELETE /contacts/{contactId}/followers` (remove-followers-contact), with the followers in
    /// a JSON body.
    pub async fn remove(
        &self,
        contact_id: &ContactId,
        followers: &[UserId],
    ) -> Result<FollowersRemoved, Error> {
        let request = self
            .client
            .request(Api::Contacts, Method::DELETE, Self::path(contact_id)?)?
            .json(&FollowersBody { followers })?;
        self.client.send(request).await
    }
}
