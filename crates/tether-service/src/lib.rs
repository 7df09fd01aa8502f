//! Tether's service layer: everything a person does with Tether — flows, connections, runs and
//! dead letters, samples, accounts — as one API over the store, the engine and the connectors.
//!
//! The CLI (`crates/tether`) and the REST API (`tether-server`'s `/api/v1`) both call this
//! crate, so a rule (what a valid flow is, when a connection may be deleted, what a replay does)
//! lives in one place. It speaks plain Rust types ([`Page`], [`Error`] with its [`Diagnostic`]s);
//! the HTTP shapes (status codes, `application/problem+json`, cookies) belong to the server.

pub mod accounts;
pub mod catalog;
pub mod connections;
pub mod error;
pub mod flows;
pub mod names;
pub mod runs;
pub mod samples;

use std::sync::Arc;

use tether_core::catalog::OperationMeta;
use tether_engine::executor::FlowSet;
use tether_engine::invoke::Operations;
use tether_store::Store;

pub use error::{Diagnostic, Error, ErrorCode};

/// Process settings the service needs to answer (the rest stay with the binary).
#[derive(Debug, Clone)]
pub struct Settings {
    /// The URL people and apps reach this Tether at (`https://tether.example.com`): OAuth
    /// redirect URLs and webhook URLs are derived from it. Default `http://127.0.0.1:8800`.
    pub public_url: url::Url,
    /// Reverse proxies in front of Tether: a request from one of these addresses is attributed
    /// to the client its `X-Forwarded-For` names (sign-in throttling counts clients, not the
    /// proxy). Empty by default: the header is then ignored, since any client can send it.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            public_url: url::Url::parse("http://127.0.0.1:8800/")
                .unwrap_or_else(|_| unreachable!("a literal URL parses")),
            trusted_proxies: Vec::new(),
        }
    }
}

/// The service: cheap to clone (one `Arc`), shared by every request and command.
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    ops: Arc<dyn Operations>,
    catalog: Arc<[OperationMeta]>,
    flows: FlowSet,
    settings: Settings,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("public_url", &self.inner.settings.public_url.as_str())
            .finish_non_exhaustive()
    }
}

impl Service {
    /// A service over `store`, calling operations through `ops`, running `flows`.
    pub fn new(store: Store, ops: Arc<dyn Operations>, flows: FlowSet, settings: Settings) -> Self {
        Service {
            inner: Arc::new(Inner {
                store,
                ops,
                catalog: tether_connectors::catalog().into(),
                flows,
                settings,
            }),
        }
    }

    /// A service over `store` with the connectors' registry as its operations and no flows
    /// loaded: what a CLI command or a test needs.
    pub fn for_store(store: Store) -> Self {
        let ops: Arc<dyn Operations> =
            Arc::new(tether_connectors::registry::Registry::new(store.clone()));
        Service::new(store, ops, FlowSet::new(), Settings::default())
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// How operations are called (the connectors' registry in production).
    pub fn ops(&self) -> &Arc<dyn Operations> {
        &self.inner.ops
    }

    /// Every shipped operation.
    pub fn catalog(&self) -> &[OperationMeta] {
        &self.inner.catalog
    }

    /// The flows the engine runs (every version a queued run may need).
    pub fn flows(&self) -> &FlowSet {
        &self.inner.flows
    }

    /// The process settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }
}

/// One page of a list, and the cursor of the next one (`None` on the last page).
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// The items, in the list's order.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
