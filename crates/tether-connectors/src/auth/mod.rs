//! How connections authenticate: OAuth 2.0 tokens that refresh themselves safely, and each
//! app's token endpoint.

pub mod ghl;
pub mod oauth1;
pub mod oauth2;

pub use oauth2::{RefreshError, Refreshed, Refresher, RefreshingBearer};
