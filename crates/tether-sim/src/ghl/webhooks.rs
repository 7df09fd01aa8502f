//! Webhook registrations and delivery: every change becomes the matching GHL event, signed with
//! the simulator's keys (`x-wh-signature` RSA-SHA256, `x-ghl-signature` Ed25519).

use std::collections::VecDeque;

use parking_lot::{Mutex, RwLock};
use serde_json::Value;

use super::GhlSimConfig;

/// An event waiting for delivery, body already complete.
#[derive(Debug, Clone)]
pub struct PendingEvent {
    /// The `type` field (`ContactCreate`, `INSTALL`, ...).
    pub event_type: String,
    /// The body as it will be sent.
    pub body: Value,
}

/// Where events go and what is waiting.
#[derive(Debug)]
pub struct Webhooks {
    /// Registered receiver URLs.
    pub targets: RwLock<Vec<String>>,
    /// Events not yet handed to the delivery task.
    pub outbox: Mutex<VecDeque<PendingEvent>>,
}

impl Webhooks {
    /// Registrations from the configuration, nothing queued.
    pub fn new(config: &GhlSimConfig) -> Self {
        Webhooks { targets: RwLock::new(config.webhook_urls.clone()), outbox: Mutex::new(VecDeque::new()) }
    }

    /// Queues an event of `event_type` for `location_id` with `payload`'s fields.
    pub fn emit(&self, event_type: &str, location_id: &str, mut payload: Value) {
        if let Value::Object(fields) = &mut payload {
            fields.insert("type".into(), Value::String(event_type.to_owned()));
            fields.insert("locationId".into(), Value::String(location_id.to_owned()));
        }
        self.outbox.lock().push_back(PendingEvent { event_type: event_type.to_owned(), body: payload });
    }
}
