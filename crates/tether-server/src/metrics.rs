//! `GET /metrics`: the webhook intake's counters in Prometheus' text exposition format, so an
//! operator can alert on refused webhooks (a rotated GHL key shows as a jump in
//! `signature_invalid`) without reading logs, and tests can read them over HTTP.
//!
//! The counters live as long as the server: they start at zero with each process, as Prometheus
//! counters do.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

/// Webhooks accepted and refused since the server started.
#[derive(Debug, Default)]
pub(crate) struct WebhookCounters {
    accepted: AtomicU64,
    /// Refusals by (reason, the signature header at fault when there is one).
    refused: Mutex<BTreeMap<(&'static str, Option<&'static str>), u64>>,
}

impl WebhookCounters {
    /// Counts one webhook answered 200 (stored, or recognised as a redelivery).
    pub(crate) fn accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one refused webhook.
    pub(crate) fn refused(&self, reason: &'static str, header: Option<&'static str>) {
        // A panic while the map is locked cannot leave a count half-written, so a poisoned lock
        // is still sound to use.
        let mut refused = self.refused.lock().unwrap_or_else(PoisonError::into_inner);
        *refused.entry((reason, header)).or_default() += 1;
    }

    /// The counters in Prometheus' text format, refusals sorted by reason then header.
    fn render(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(
            text,
            "# HELP tether_webhooks_accepted_total GHL webhooks answered 200 (stored, or a redelivery of a stored one).\n\
             # TYPE tether_webhooks_accepted_total counter\n\
             tether_webhooks_accepted_total {}",
            self.accepted.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            text,
            "# HELP tether_webhooks_refused_total GHL webhooks refused, by reason and by the signature header at fault.\n\
             # TYPE tether_webhooks_refused_total counter"
        );
        let refused = self.refused.lock().unwrap_or_else(PoisonError::into_inner);
        for ((reason, header), count) in refused.iter() {
            // Reasons and headers are our own constants, so they need no label escaping.
            match header {
                Some(header) => {
                    let _ = writeln!(
                        text,
                        "tether_webhooks_refused_total{{reason=\"{reason}\",header=\"{header}\"}} {count}"
                    );
                }
                None => {
                    let _ = writeln!(
                        text,
                        "tether_webhooks_refused_total{{reason=\"{reason}\"}} {count}"
                    );
                }
            }
        }
        text
    }
}

/// The `/metrics` route.
pub(crate) fn routes(counters: Arc<WebhookCounters>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(counters)
}

async fn metrics(State(counters): State<Arc<WebhookCounters>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        counters.render(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_counted_per_reason_and_header() {
        let counters = WebhookCounters::default();
        counters.accepted();
        counters.refused("signature_invalid", Some("x-ghl-signature"));
        counters.refused("signature_invalid", Some("x-ghl-signature"));
        counters.refused("signature_invalid", Some("x-wh-signature"));
        counters.refused("malformed_json", None);
        let text = counters.render();
        let samples: Vec<&str> = text.lines().filter(|line| !line.starts_with('#')).collect();
        assert_eq!(
            samples,
            [
                "tether_webhooks_accepted_total 1",
                "tether_webhooks_refused_total{reason=\"malformed_json\"} 1",
                "tether_webhooks_refused_total{reason=\"signature_invalid\",header=\"x-ghl-signature\"} 2",
                "tether_webhooks_refused_total{reason=\"signature_invalid\",header=\"x-wh-signature\"} 1",
            ]
        );
    }
}
