//! `flickr.test.login`, `flickr.test.echo` and `flickr.auth.oauth.checkToken`: who the
//! connection is, and whether its keys and token work.

use std::collections::BTreeMap;

use serde_json::Value;

use super::models::{TokenInfo, User};
use super::{Error, FlickrClient, Params, Verb};

/// The diagnostic methods of a [`FlickrClient`].
#[derive(Debug, Clone, Copy)]
pub struct Test<'a> {
    pub(crate) client: &'a FlickrClient,
}

impl Test<'_> {
    /// `flickr.test.login` (read): the connection's user.
    pub async fn login(&self) -> Result<User, Error> {
        self.client
            .call("flickr.test.login", "user", Verb::Read, Params::new())
            .await
    }

    /// `flickr.test.echo`: every parameter the service received, `_content` unwrapped (the
    /// protocol's own, such as `method` and `format`, included).
    pub async fn echo(
        &self,
        params: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, Error> {
        let params = params.iter().fold(Params::new(), |params, (name, value)| {
            params.add(name, value)
        });
        let envelope = self
            .client
            .call_envelope("flickr.test.echo", Verb::Read, params)
            .await?;
        let Value::Object(fields) = envelope else {
            return Err(Error::Protocol {
                message: "flickr.test.echo answered no object".into(),
            });
        };
        Ok(fields
            .into_iter()
            .filter(|(name, _)| name != "stat")
            .map(|(name, value)| {
                let text = match value {
                    Value::Object(mut inner) => match inner.remove("_content") {
                        Some(Value::String(text)) => text,
                        Some(other) => other.to_string(),
                        None => Value::Object(inner).to_string(),
                    },
                    Value::String(text) => text,
                    other => other.to_string(),
                };
                (name, text)
            })
            .collect())
    }

    /// `flickr.auth.oauth.checkToken` (signed, no permission needed): the token's permission
    /// and owner. The token itself travels as the signed request's `oauth_token`.
    pub async fn check_token(&self) -> Result<TokenInfo, Error> {
        self.client
            .call(
                "flickr.auth.oauth.checkToken",
                "oauth",
                Verb::Read,
                Params::new(),
            )
            .await
    }
}
