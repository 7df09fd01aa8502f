//! Webhook registrations and delivery: every change becomes the matching GHL event, signed with
//! the simulator's keys (`x-wh-signature` RSA-SHA256, `x-ghl-signature` Ed25519) and POSTed to
//! every registered receiver by a background task.
//!
//! Delivery follows what GHL documents (reference README §10.1):
//! - each body carries `type`, `locationId` (absent for agency-level events), `timestamp` (ISO
//!   8601) and `webhookId` (unique per event);
//! - both signatures are computed once per event over the exact bytes sent, so a receiver can
//!   verify the raw body as received;
//! - a receiver that answers 429 is retried, up to [`MAX_RETRIES`] times, each retry
//!   `webhook_retry_interval` (GHL: about 10 minutes) plus up to 10 % random jitter after the
//!   previous attempt; any other status, a connection error or no answer within
//!   `webhook_timeout` is final (the event is lost, as with GHL).
//!
//! Receivers are the configured `webhook_urls`, the URLs registered through the admin API (both
//! get every event) and each app's `webhook_url`, which gets `INSTALL` / `UNINSTALL` of that app
//! and the events of the locations the app is installed on.
//!
//! First attempts to one receiver are made in the order events were emitted (one worker per
//! receiver); retries run beside them, so a retried event can arrive after later ones, as with
//! GHL, which promises no order.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use chrono::Utc;
use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::GhlSimConfig;
use super::model::iso;
use super::state::World;

/// Retries after a 429 answer, as GHL documents ("up to 6 times").
pub const MAX_RETRIES: u32 = 6;

/// Events kept waiting for the delivery task; past this the oldest is dropped, so a simulator
/// served without [`start`] (a bare router in a test or a benchmark) keeps bounded memory.
pub const MAX_PENDING: usize = 10_000;

/// Emitted events and delivery records the admin API keeps.
pub const LOG_CAPACITY: usize = 10_000;

/// Jobs queued per receiver before the dispatcher waits for its worker.
const TARGET_QUEUE: usize = 1_024;

const RSA_PEM: &str = include_str!("../../keys/ghl-webhook-rsa.pem");
const ED25519_PEM: &str = include_str!("../../keys/ghl-webhook-ed25519.pem");
const RSA_FILE: &str = "ghl-webhook-rsa.pem";
const ED25519_FILE: &str = "ghl-webhook-ed25519.pem";

/// An event waiting for delivery, body already complete.
#[derive(Debug, Clone)]
pub struct PendingEvent {
    /// The `type` field (`ContactCreate`, `INSTALL`, ...).
    pub event_type: String,
    /// The body as it will be sent.
    pub body: Value,
}

/// Where one delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Queued; no attempt made yet.
    Pending,
    /// The receiver answered 429; another attempt is scheduled.
    Retrying,
    /// The receiver answered 2xx.
    Delivered,
    /// Final without success: another status, no answer, or 429 after every retry.
    Failed,
}

/// One event on its way to one receiver, as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// Sequence number of this record, from 1.
    pub id: u64,
    /// The event's `webhookId`.
    pub webhook_id: String,
    /// The event's `type`.
    pub event_type: String,
    /// The receiver URL.
    pub target: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// The status of each attempt; 0 where no answer came.
    pub statuses: Vec<u16>,
    /// Why the last attempt got no answer, if it did not.
    pub error: Option<String>,
    /// Where it stands.
    pub state: DeliveryState,
}

/// Why the signing keys could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key file could not be read.
    #[error("cannot read webhook signing key {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A key is not a PKCS#8 PEM private key of the expected algorithm.
    #[error("invalid {algorithm} webhook signing key: {reason}")]
    Invalid {
        /// `RSA` or `Ed25519`.
        algorithm: &'static str,
        /// What the parser said.
        reason: String,
    },
}

/// The two signatures of one body, base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signatures {
    /// `x-wh-signature`: RSASSA-PKCS1-v1_5 with SHA-256.
    pub rsa: String,
    /// `x-ghl-signature`: Ed25519.
    pub ed25519: String,
}

/// The private keys webhooks are signed with, and their published public halves.
pub struct SigningKeys {
    rsa: rsa::pkcs1v15::SigningKey<sha2::Sha256>,
    ed25519: ed25519_dalek::SigningKey,
    rsa_public_pem: String,
    ed25519_public_pem: String,
    ed25519_spki_base64: String,
}

impl fmt::Debug for SigningKeys {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("SigningKeys([redacted])")
    }
}

impl SigningKeys {
    /// The keys shipped in `keys/` (test keys, public on purpose; see `keys/README.md`).
    pub fn builtin() -> Result<Self, KeyError> {
        Self::from_pem(RSA_PEM, ED25519_PEM)
    }

    /// The keys in `dir` (files named as in `keys/`), or the built-in ones when `dir` is `None`.
    pub fn load(dir: Option<&Path>) -> Result<Self, KeyError> {
        let Some(dir) = dir else {
            return Self::builtin();
        };
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|source| KeyError::Read { path, source })
        };
        Self::from_pem(&read(RSA_FILE)?, &read(ED25519_FILE)?)
    }

    /// Keys from PKCS#8 PEM texts.
    pub fn from_pem(rsa_pem: &str, ed25519_pem: &str) -> Result<Self, KeyError> {
        // `rsa` and `ed25519-dalek` share the `pkcs8` crate, so one import serves both keys.
        use rsa::pkcs8::{DecodePrivateKey as _, EncodePublicKey as _};

        let rsa_invalid = |reason: String| KeyError::Invalid {
            algorithm: "RSA",
            reason,
        };
        let ed25519_invalid = |reason: String| KeyError::Invalid {
            algorithm: "Ed25519",
            reason,
        };
        let rsa_key = rsa::RsaPrivateKey::from_pkcs8_pem(rsa_pem)
            .map_err(|error| rsa_invalid(error.to_string()))?;
        let rsa_public_pem = rsa_key
            .to_public_key()
            .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
            .map_err(|error| rsa_invalid(error.to_string()))?;
        let ed25519 = ed25519_dalek::SigningKey::from_pkcs8_pem(ed25519_pem)
            .map_err(|error| ed25519_invalid(error.to_string()))?;
        let verifying = ed25519.verifying_key();
        let ed25519_public_pem = verifying
            .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
            .map_err(|error| ed25519_invalid(error.to_string()))?;
        let ed25519_spki = verifying
            .to_public_key_der()
            .map_err(|error| ed25519_invalid(error.to_string()))?;
        Ok(SigningKeys {
            rsa: rsa::pkcs1v15::SigningKey::new(rsa_key),
            ed25519,
            rsa_public_pem,
            ed25519_public_pem,
            ed25519_spki_base64: BASE64.encode(ed25519_spki.as_bytes()),
        })
    }

    /// Signs `body` with both keys. CPU-heavy (RSA 4096): call it from `spawn_blocking`.
    pub fn sign(&self, body: &[u8]) -> Result<Signatures, KeyError> {
        use rsa::signature::{SignatureEncoding as _, Signer as _};

        let rsa = self.rsa.try_sign(body).map_err(|error| KeyError::Invalid {
            algorithm: "RSA",
            reason: error.to_string(),
        })?;
        let ed25519 = ed25519_dalek::Signer::sign(&self.ed25519, body);
        Ok(Signatures {
            rsa: BASE64.encode(rsa.to_bytes()),
            ed25519: BASE64.encode(ed25519.to_bytes()),
        })
    }

    /// The public keys, as `GET /__sim/webhook-keys` publishes them.
    pub fn published(&self) -> Value {
        json!({
            "x-wh-signature": {"algorithm": "RSA-SHA256", "publicKeyPem": self.rsa_public_pem},
            "x-ghl-signature": {
                "algorithm": "Ed25519",
                "publicKeyPem": self.ed25519_public_pem,
                "publicKeySpkiBase64": self.ed25519_spki_base64,
            },
        })
    }
}

/// Where events go, what is waiting, and what happened to each delivery.
#[derive(Debug)]
pub struct Webhooks {
    /// Receiver URLs that get every event: the configured ones and those registered through the
    /// admin API. Apps' own URLs are not in here (see the module docs).
    pub targets: RwLock<Vec<String>>,
    /// Events not yet handed to the delivery task.
    pub outbox: Mutex<VecDeque<PendingEvent>>,
    wake: Notify,
    events: Mutex<VecDeque<Value>>,
    deliveries: Mutex<VecDeque<Delivery>>,
    next_delivery_id: AtomicU64,
    n_dropped: AtomicU64,
    keys_dir: Option<PathBuf>,
    keys: OnceLock<Result<Arc<SigningKeys>, KeyError>>,
    started: AtomicBool,
    tasks: TaskTracker,
}

impl Webhooks {
    /// Registrations from the configuration, nothing queued.
    pub fn new(config: &GhlSimConfig) -> Self {
        let mut targets = Vec::new();
        for url in &config.webhook_urls {
            if !targets.contains(url) {
                targets.push(url.clone());
            }
        }
        Webhooks {
            targets: RwLock::new(targets),
            outbox: Mutex::new(VecDeque::new()),
            wake: Notify::new(),
            events: Mutex::new(VecDeque::new()),
            deliveries: Mutex::new(VecDeque::new()),
            next_delivery_id: AtomicU64::new(1),
            n_dropped: AtomicU64::new(0),
            keys_dir: config.webhook_keys_dir.clone(),
            keys: OnceLock::new(),
            started: AtomicBool::new(false),
            tasks: TaskTracker::new(),
        }
    }

    /// Queues an event of `event_type` for `location_id` with `payload`'s fields.
    ///
    /// Adds `type`, `locationId` (left out when `location_id` is empty, as in agency-level
    /// `INSTALL` / `UNINSTALL` events), `timestamp` and `webhookId`. They are added here, when the
    /// event happens, rather than at delivery: the event is then complete in [`Webhooks::events`]
    /// at once, and the timestamp is the event's time. It is the wall clock, not the admin API's
    /// shifted clock, because receivers judge a timestamp's freshness by their own clock.
    pub fn emit(&self, event_type: &str, location_id: &str, mut payload: Value) {
        if let Value::Object(fields) = &mut payload {
            fields.insert("type".into(), Value::String(event_type.to_owned()));
            if !location_id.is_empty() {
                fields.insert("locationId".into(), Value::String(location_id.to_owned()));
            }
            fields.insert("timestamp".into(), Value::String(iso(Utc::now())));
            fields.insert("webhookId".into(), Value::String(new_webhook_id()));
        }
        {
            let mut events = self.events.lock();
            if events.len() == LOG_CAPACITY {
                events.pop_front();
            }
            events.push_back(payload.clone());
        }
        {
            let mut outbox = self.outbox.lock();
            if outbox.len() >= MAX_PENDING {
                outbox.pop_front();
                self.n_dropped.fetch_add(1, Ordering::Relaxed);
            }
            outbox.push_back(PendingEvent {
                event_type: event_type.to_owned(),
                body: payload,
            });
        }
        self.wake.notify_one();
    }

    /// The most recent emitted events (up to [`LOG_CAPACITY`]), oldest first, as sent.
    pub fn events(&self) -> Vec<Value> {
        self.events.lock().iter().cloned().collect()
    }

    /// Forgets the emitted events and the delivery records.
    pub fn clear_log(&self) {
        self.events.lock().clear();
        self.deliveries.lock().clear();
    }

    /// Events dropped because the outbox was full (the delivery task was not running).
    pub fn n_dropped(&self) -> u64 {
        self.n_dropped.load(Ordering::Relaxed)
    }

    /// Adds a receiver of every event; false when it was already registered.
    pub fn register(&self, url: &str) -> bool {
        let mut targets = self.targets.write();
        if targets.iter().any(|target| target == url) {
            return false;
        }
        targets.push(url.to_owned());
        true
    }

    /// Removes a receiver; false when it was not registered.
    pub fn unregister(&self, url: &str) -> bool {
        let mut targets = self.targets.write();
        let before = targets.len();
        targets.retain(|target| target != url);
        targets.len() != before
    }

    /// The most recent delivery records (up to [`LOG_CAPACITY`]), oldest first.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.deliveries.lock().iter().cloned().collect()
    }

    /// The signing keys: the configured folder's, else the built-in ones. Loaded once.
    pub fn keys(&self) -> Result<&Arc<SigningKeys>, &KeyError> {
        self.keys
            .get_or_init(|| SigningKeys::load(self.keys_dir.as_deref()).map(Arc::new))
            .as_ref()
    }

    fn new_delivery(&self, webhook_id: &str, event_type: &str, target: &str) -> u64 {
        let id = self.next_delivery_id.fetch_add(1, Ordering::Relaxed);
        let mut deliveries = self.deliveries.lock();
        if deliveries.len() == LOG_CAPACITY {
            deliveries.pop_front();
        }
        deliveries.push_back(Delivery {
            id,
            webhook_id: webhook_id.to_owned(),
            event_type: event_type.to_owned(),
            target: target.to_owned(),
            attempts: 0,
            statuses: Vec::new(),
            error: None,
            state: DeliveryState::Pending,
        });
        id
    }

    /// Records one attempt's outcome and decides what comes next.
    fn record_attempt(
        &self,
        delivery_id: u64,
        attempts: u32,
        status: Option<u16>,
        error: Option<String>,
    ) -> DeliveryState {
        let state = match status {
            Some(429) if attempts <= MAX_RETRIES => DeliveryState::Retrying,
            Some(status) if (200..300).contains(&status) => DeliveryState::Delivered,
            _ => DeliveryState::Failed,
        };
        let mut deliveries = self.deliveries.lock();
        // Ids are consecutive, so the record's position follows from the oldest one kept.
        let position = deliveries
            .front()
            .and_then(|front| delivery_id.checked_sub(front.id))
            .and_then(|offset| usize::try_from(offset).ok());
        if let Some(delivery) = position.and_then(|position| deliveries.get_mut(position)) {
            delivery.attempts = attempts;
            delivery.statuses.push(status.unwrap_or(0));
            delivery.error = error;
            delivery.state = state;
        }
        state
    }
}

/// A UUID v4-shaped unique id. It is drawn from an entropy-seeded generator, not the world's
/// seeded one, so that emitting events (whose timing varies) never shifts the ids of records.
fn new_webhook_id() -> String {
    let mut bits = fastrand::u128(..);
    bits = (bits & !(0xF << 76)) | (0x4 << 76);
    bits = (bits & !(0x3 << 62)) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// One signed event for one receiver.
#[derive(Debug, Clone)]
struct Job {
    delivery_id: u64,
    target: String,
    body: Bytes,
    signatures: Arc<Signatures>,
}

/// What the delivery tasks share.
#[derive(Clone)]
struct Deliverer {
    world: Arc<World>,
    client: reqwest::Client,
    shutdown: CancellationToken,
}

/// Starts the delivery task, which runs until `shutdown` is cancelled. Fails when the signing
/// keys cannot be loaded, so a bad key folder stops the simulator at start rather than losing
/// every event later. Starting twice (two `spawn`s of clones of one simulator) starts once.
pub fn start(world: Arc<World>, shutdown: CancellationToken) -> std::io::Result<()> {
    if let Err(error) = world.webhooks.keys() {
        return Err(std::io::Error::other(error_chain(error)));
    }
    if world.webhooks.started.swap(true, Ordering::SeqCst) {
        return Ok(());
    }
    // When this crate shares a binary with tether-http, cargo unifies reqwest's features and
    // reqwest then wants a process-wide rustls provider even for plain HTTP; installing ring
    // (the one Tether uses) is harmless when another caller installed it first.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(world.config.webhook_timeout)
        .build()
        .expect("a plain-HTTP client with no TLS and no proxy settings always builds");
    let deliverer = Deliverer {
        world: world.clone(),
        client,
        shutdown,
    };
    world.webhooks.tasks.spawn(dispatch(deliverer));
    Ok(())
}

/// Takes events from the outbox, signs each once, and hands it to each receiver's worker.
async fn dispatch(deliverer: Deliverer) {
    let mut workers: HashMap<String, mpsc::Sender<Job>> = HashMap::new();
    loop {
        let batch: Vec<PendingEvent> = deliverer.world.webhooks.outbox.lock().drain(..).collect();
        if batch.is_empty() {
            tokio::select! {
                () = deliverer.shutdown.cancelled() => return,
                () = deliverer.world.webhooks.wake.notified() => continue,
            }
        }
        for event in batch {
            if deliverer.shutdown.is_cancelled() {
                return;
            }
            dispatch_event(&deliverer, &mut workers, event).await;
        }
    }
}

async fn dispatch_event(
    deliverer: &Deliverer,
    workers: &mut HashMap<String, mpsc::Sender<Job>>,
    event: PendingEvent,
) {
    let webhooks = &deliverer.world.webhooks;
    let targets = route(&deliverer.world, &event);
    if targets.is_empty() {
        return;
    }
    let Ok(keys) = webhooks.keys() else {
        // `start` refused to run without keys, so this cannot happen; drop the event if it does.
        return;
    };
    let body = Bytes::from(
        serde_json::to_vec(&event.body).expect("a serde_json::Value always serialises"),
    );
    let keys = keys.clone();
    let to_sign = body.clone();
    let signatures = match tokio::task::spawn_blocking(move || keys.sign(&to_sign)).await {
        Ok(Ok(signatures)) => Arc::new(signatures),
        Ok(Err(error)) => {
            tracing::error!(%error, event_type = %event.event_type, "Signing a webhook failed; the event is dropped.");
            return;
        }
        Err(error) => {
            tracing::error!(%error, event_type = %event.event_type, "The webhook signing task failed; the event is dropped.");
            return;
        }
    };
    let webhook_id = event
        .body
        .get("webhookId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    for target in targets {
        let delivery_id = webhooks.new_delivery(webhook_id, &event.event_type, &target);
        let job = Job {
            delivery_id,
            target: target.clone(),
            body: body.clone(),
            signatures: signatures.clone(),
        };
        let sender = workers.entry(target).or_insert_with(|| {
            let (sender, receiver) = mpsc::channel(TARGET_QUEUE);
            webhooks
                .tasks
                .spawn(target_worker(deliverer.clone(), receiver));
            sender
        });
        tokio::select! {
            () = deliverer.shutdown.cancelled() => return,
            sent = sender.send(job) => {
                if sent.is_err() {
                    // The worker stops only on shutdown, which the branch above handles.
                    return;
                }
            }
        }
    }
}

/// Which receivers get `event` (see the module docs).
fn route(world: &World, event: &PendingEvent) -> Vec<String> {
    let mut targets = world.webhooks.targets.read().clone();
    let app_id = event.body.get("appId").and_then(Value::as_str);
    let location_id = event.body.get("locationId").and_then(Value::as_str);
    let lifecycle = matches!(event.event_type.as_str(), "INSTALL" | "UNINSTALL");
    let installs = world.tokens.installs.read();
    for app in &world.config.apps {
        let Some(url) = &app.webhook_url else {
            continue;
        };
        // INSTALL / UNINSTALL go only to the app they concern (README §10.1).
        let wanted = if lifecycle {
            app_id.is_some_and(|app_id| super::oauth::is_app(&app.client_id, app_id))
        } else {
            location_id.is_some_and(|location_id| {
                installs.contains_key(&(app.client_id.clone(), location_id.to_owned()))
            })
        };
        if wanted && !targets.contains(url) {
            targets.push(url.clone());
        }
    }
    targets
}

/// Makes the first attempt of each job for one receiver, in order; schedules retries beside.
async fn target_worker(deliverer: Deliverer, mut receiver: mpsc::Receiver<Job>) {
    loop {
        let job = tokio::select! {
            () = deliverer.shutdown.cancelled() => return,
            job = receiver.recv() => match job {
                Some(job) => job,
                None => return,
            },
        };
        if attempt(&deliverer, &job, 1).await == DeliveryState::Retrying {
            let retrier = deliverer.clone();
            deliverer
                .world
                .webhooks
                .tasks
                .spawn(async move { retry(retrier, job).await });
        }
    }
}

/// Retries a job the receiver answered 429, until it is final or the simulator stops.
async fn retry(deliverer: Deliverer, job: Job) {
    let interval = deliverer.world.config.webhook_retry_interval;
    for attempt_number in 2..=MAX_RETRIES + 1 {
        let jitter_ms = u64::try_from(interval.as_millis() / 10).unwrap_or(u64::MAX);
        let delay = interval + Duration::from_millis(fastrand::u64(0..=jitter_ms));
        tokio::select! {
            () = deliverer.shutdown.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
        if attempt(&deliverer, &job, attempt_number).await != DeliveryState::Retrying {
            return;
        }
    }
}

/// POSTs the job once and records the outcome.
async fn attempt(deliverer: &Deliverer, job: &Job, attempt_number: u32) -> DeliveryState {
    let request = deliverer
        .client
        .post(&job.target)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header("x-wh-signature", &job.signatures.rsa)
        .header("x-ghl-signature", &job.signatures.ed25519)
        .body(job.body.clone());
    let sent = tokio::select! {
        () = deliverer.shutdown.cancelled() => return DeliveryState::Failed,
        sent = request.send() => sent,
    };
    let (status, error) = match sent {
        Ok(response) => (Some(response.status().as_u16()), None),
        Err(error) => (None, Some(error_chain(&error))),
    };
    if let Some(error) = &error {
        tracing::debug!(%error, target = %job.target, "A webhook delivery got no answer.");
    }
    deliverer
        .world
        .webhooks
        .record_attempt(job.delivery_id, attempt_number, status, error)
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_signatures_verify_over_the_exact_bytes() {
        use rsa::pkcs8::DecodePublicKey as _;
        use rsa::signature::Verifier as _;

        let keys = SigningKeys::builtin().unwrap();
        let body = br#"{"type":"ContactCreate","id":"x"}"#;
        let signatures = keys.sign(body).unwrap();
        let published = keys.published();

        let rsa_public = rsa::RsaPublicKey::from_public_key_pem(
            published["x-wh-signature"]["publicKeyPem"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        let rsa_verifier = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(rsa_public);
        let rsa_signature =
            rsa::pkcs1v15::Signature::try_from(BASE64.decode(&signatures.rsa).unwrap().as_slice())
                .unwrap();
        rsa_verifier.verify(body, &rsa_signature).unwrap();
        assert!(rsa_verifier.verify(b"{}", &rsa_signature).is_err());

        let ed_public = ed25519_dalek::VerifyingKey::from_public_key_pem(
            published["x-ghl-signature"]["publicKeyPem"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        let ed_signature =
            ed25519_dalek::Signature::from_slice(&BASE64.decode(&signatures.ed25519).unwrap())
                .unwrap();
        ed_public.verify_strict(body, &ed_signature).unwrap();
        assert!(ed_public.verify_strict(b"{}", &ed_signature).is_err());
    }

    #[test]
    fn the_published_keys_are_the_public_halves_shipped_in_keys() {
        let published = SigningKeys::builtin().unwrap().published();
        let normalise = |pem: &str| pem.split_whitespace().collect::<String>();
        assert_eq!(
            normalise(
                published["x-wh-signature"]["publicKeyPem"]
                    .as_str()
                    .unwrap()
            ),
            normalise(include_str!("../../keys/ghl-webhook-rsa.pub.pem"))
        );
        assert_eq!(
            normalise(
                published["x-ghl-signature"]["publicKeyPem"]
                    .as_str()
                    .unwrap()
            ),
            normalise(include_str!("../../keys/ghl-webhook-ed25519.pub.pem"))
        );
    }

    #[test]
    fn a_missing_key_folder_is_an_error_not_a_fallback() {
        let error = SigningKeys::load(Some(Path::new("/nonexistent/tether-sim-keys"))).unwrap_err();
        assert!(matches!(error, KeyError::Read { .. }), "{error:?}");
    }

    #[test]
    fn webhook_ids_are_unique_uuid_v4s() {
        let ids: std::collections::HashSet<String> = (0..1_000).map(|_| new_webhook_id()).collect();
        assert_eq!(ids.len(), 1_000);
        let id = ids.iter().next().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
    }

    #[test]
    fn emit_completes_the_body_and_leaves_out_an_empty_location() {
        let webhooks = Webhooks::new(&GhlSimConfig::default());
        webhooks.emit("UNINSTALL", "", json!({"appId": "app", "companyId": "co"}));
        webhooks.emit("ContactCreate", "loc", json!({"id": "c1"}));
        let events = webhooks.events();
        assert_eq!(events[0]["type"], "UNINSTALL");
        assert!(events[0].get("locationId").is_none());
        assert_eq!(events[1]["locationId"], "loc");
        assert!(
            chrono::DateTime::parse_from_rfc3339(events[1]["timestamp"].as_str().unwrap()).is_ok()
        );
        assert_ne!(events[0]["webhookId"], events[1]["webhookId"]);
    }

    #[test]
    fn the_outbox_is_bounded_when_nothing_delivers() {
        let webhooks = Webhooks::new(&GhlSimConfig::default());
        for n in 0..MAX_PENDING + 5 {
            webhooks.emit("ContactCreate", "loc", json!({"id": n}));
        }
        assert_eq!(webhooks.outbox.lock().len(), MAX_PENDING);
        assert_eq!(webhooks.n_dropped(), 5);
        assert_eq!(webhooks.outbox.lock().front().unwrap().body["id"], 5);
    }
}
