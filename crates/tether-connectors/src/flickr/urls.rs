//! `flickr.urls.*`: profile and photostream addresses of a user, and the user behind an address
//! (for links in GHL notes, and for matching a profile URL a contact gave).

use super::models::{User, UserUrl};
use super::{Error, FlickrClient, Params, UserId, Verb, require};

/// The URL methods of a [`FlickrClient`].
#[derive(Debug, Clone, Copy)]
pub struct Urls<'a> {
    pub(crate) client: &'a FlickrClient,
}

impl Urls<'_> {
    /// `flickr.urls.getUserProfile`: a user's profile address (default: the connection's).
    pub async fn user_profile(&self, user_id: Option<&UserId>) -> Result<UserUrl, Error> {
        let params = Params::new().opt("user_id", user_id);
        self.client
            .call("flickr.urls.getUserProfile", "user", Verb::Read, params)
            .await
    }

    /// `flickr.urls.getUserPhotos`: a user's photostream address (default: the connection's).
    pub async fn user_photos(&self, user_id: Option<&UserId>) -> Result<UserUrl, Error> {
        let params = Params::new().opt("user_id", user_id);
        self.client
            .call("flickr.urls.getUserPhotos", "user", Verb::Read, params)
            .await
    }

    /// `flickr.urls.lookupUser`: the user of a profile or photostream address.
    pub async fn lookup_user(&self, url: &str) -> Result<User, Error> {
        require("url", url)?;
        let params = Params::new().add("url", url);
        self.client
            .call("flickr.urls.lookupUser", "user", Verb::Read, params)
            .await
    }
}
