//! `flickr.contacts.*`: the connection's contacts, and anyone's public contacts.

use futures::Stream;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::models::{Contact, ContactPage};
use super::paging::{Page, into_stream};
use super::{Error, FlickrClient, Params, UserId, Verb, require};

/// The largest page of contacts.
pub const MAX_CONTACT_PAGE: u32 = 1000;

/// Arguments of `flickr.contacts.getList`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct ContactListQuery {
    /// `friends`, `family`, `both` or `neither`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// `name` (the default) or `time` (when they became a contact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    /// Page size (at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u32>,
    /// Page (from 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
}

/// Arguments of `flickr.contacts.getPublicList`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PublicContactsQuery {
    /// Whose contacts.
    pub user_id: UserId,
    /// Page size (at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u32>,
    /// Page (from 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
}

/// The contact methods of a [`FlickrClient`].
#[derive(Debug, Clone, Copy)]
pub struct Contacts<'a> {
    pub(crate) client: &'a FlickrClient,
}

impl Contacts<'_> {
    /// `flickr.contacts.getList` (read): one page of the connection's contacts.
    pub async fn list(&self, query: &ContactListQuery) -> Result<ContactPage, Error> {
        let params = Params::from_struct(query)?;
        self.client
            .call("flickr.contacts.getList", "contacts", Verb::Read, params)
            .await
    }

    /// Every contact of the connection's user, page by page.
    pub fn list_stream(
        &self,
        mut query: ContactListQuery,
    ) -> impl Stream<Item = Result<Contact, Error>> + Send + 'static {
        let client = self.client.clone();
        let first = u64::from(query.page.take().unwrap_or(1));
        query.per_page = Some(query.per_page.unwrap_or(MAX_CONTACT_PAGE));
        into_stream(first, move |page| {
            let client = client.clone();
            let mut query = query.clone();
            query.page = u32::try_from(page).ok();
            async move {
                let answer = client.contacts().list(&query).await?;
                Ok(Page {
                    items: answer.contacts,
                    paging: answer.paging,
                })
            }
        })
    }

    /// `flickr.contacts.getPublicList`: one page of a user's public contacts.
    pub async fn public_list(&self, query: &PublicContactsQuery) -> Result<ContactPage, Error> {
        require("user_id", query.user_id.as_str())?;
        let params = Params::from_struct(query)?;
        self.client
            .call(
                "flickr.contacts.getPublicList",
                "contacts",
                Verb::Read,
                params,
            )
            .await
    }

    /// Every public contact of a user, page by page.
    pub fn public_list_stream(
        &self,
        mut query: PublicContactsQuery,
    ) -> impl Stream<Item = Result<Contact, Error>> + Send + 'static {
        let client = self.client.clone();
        let first = u64::from(query.page.take().unwrap_or(1));
        query.per_page = Some(query.per_page.unwrap_or(MAX_CONTACT_PAGE));
        into_stream(first, move |page| {
            let client = client.clone();
            let mut query = query.clone();
            query.page = u32::try_from(page).ok();
            async move {
                let answer = client.contacts().public_list(&query).await?;
                Ok(Page {
                    items: answer.contacts,
                    paging: answer.paging,
                })
            }
        })
    }
}
