//! Tether's vocabulary, shared by every crate: error kinds, secrets, id newtypes and the
//! catalog's operation metadata.
//!
//! This crate does no I/O and has no async runtime, so anything may depend on it.

pub mod catalog;
pub mod error;
pub mod id;
pub mod manifest;
pub mod secret;

pub use error::ErrorKind;
pub use secret::Secret;
