//! A contact's campaign memberships (Contacts API v2, `Version: 2021-07-28`).

use http::Method;

use super::models::{EmptyBody, Succeeded};
use super::{Api, CampaignId, ContactId, Error, GhlClient, segment};

/// The campaign operations of a [`GhlClient`].
#[derive(Debug, Clone, Copy)]
pub struct Campaigns<'a> {
    pub(crate) client: &'a GhlClient,
}

impl Campaigns<'_> {
    fn path(contact_id: &ContactId, rest: &str) -> Result<String, Error> {
        Ok(format!(
            "/contacts/{}/campaigns/{rest}",
            segment("contactId", contact_id.as_str())?
        ))
    }

    /// `POST /contacts/{contactId}/campaigns/{campaignId}` (add-contact-to-campaign); answers
    /// 201. The spec requires a body whose schema has no fields, so `{}` is sent.
    pub async fn add_contact(
        &self,
        contact_id: &ContactId,
        campaign_id: &CampaignId,
    ) -> Result<Succeeded, Error> {
        let path = Self::path(contact_id, &segment("campaignId", campaign_id.as_str())?)?;
        let request = self
            .client
            .request(Api::Contacts, Method::POST, path)?
            .json(&EmptyBody {})?
            // Whether a repeated add restarts the campaign's messages is not documented, so a
            // retry after the request may have arrived is not allowed.
            .idempotent(false);
        self.client.send(request).await
    }

    /// `DELETE /contacts/{contactId}/campaigns/{campaignId}` (remove-contact-from-campaign).
    pub async fn remove_contact(
        &self,
        contact_id: &ContactId,
        campaign_id: &CampaignId,
    ) -> Result<Succeeded, Error> {
        let path = Self::path(contact_id, &segment("campaignId", campaign_id.as_str())?)?;
        let request = self.client.request(Api::Contacts, Method::DELETE, path)?;
        self.client.send(request).await
    }

    /// `DELETE /contacts/{contactId}/campaigns/removeAll` (remove-contact-from-every-campaign).
    pub async fn remove_contact_from_all(
        &self,
        contact_id: &ContactId,
    ) -> Result<Succeeded, Error> {
        let path = Self::path(contact_id, "removeAll")?;
        let request = self.client.request(Api::Contacts, Method::DELETE, path)?;
        self.client.send(request).await
    }
}
