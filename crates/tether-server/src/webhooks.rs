//! `POST /hooks/ghl`: GHL webhook intake.
//!
//! In order: the body is read up to the size limit (413); the applicable signature is verified
//! over the raw bytes (401); the body is parsed (400 with line and column) and must be an event
//! with a `type` (422) and a fresh `timestamp` (400 "stale webhook"); when the engine is behind,
//! the event is refused with 429 *before* it is stored, so GHL redelivers it later (GHL retries on
//! 429 only, reference README §10.1); otherwise it is stored, with one run per flow the
//! [`FlowMatcher`] picks, in one transaction, and only then answered 200.
//!
//! Which signature applies follows GHL's SDK: when `x-ghl-signature` is present and an Ed25519
//! key is configured, only Ed25519 counts (no fall back to RSA); otherwise `x-wh-signature` is
//! verified with the RSA key; a request with neither header is refused. Both keys default to
//! HighLevel's published ones, embedded from `keys/` (see `keys/SOURCE.md`). Only when an operator
//! configures no Ed25519 key at all can the Ed25519 header not be checked, so the RSA signature,
//! which GHL sends beside it, decides: that is no downgrade, since the RSA key is then the only
//! one the operator trusts.
//!
//! Every refused webhook is logged at WARN (reason, the header at fault, the event `type` when the
//! body is JSON) and counted in `GET /metrics` (see `metrics.rs`), so a rotated key or a
//! misconfigured sender shows without raising the log level.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tether_store::{EventInsert, Store};

use crate::error::{ApiError, Error, chain};
use crate::metrics::WebhookCounters;
use crate::{FlowMatcher, ServerConfig};

/// The event source under which GHL webhooks are stored; the dedup key is unique within it.
pub const SOURCE: &str = "ghl.webhook";

/// The Ed25519 signature header (GHL's preferred one).
pub const ED25519_HEADER: &str = "x-ghl-signature";

/// The RSA-SHA256 signature header (GHL's legacy one).
pub const RSA_HEADER: &str = "x-wh-signature";

/// GHL's published `x-wh-signature` public key (4096-bit RSA, SPKI PEM), copied from
/// `docs/oauth/WebhookAuthentication.md` (reference README §10.2). It is the default RSA key.
pub const GHL_RSA_PUBLIC_KEY_PEM: &str = include_str!("../keys/ghl-x-wh-signature.pub.pem");

/// GHL's published `x-ghl-signature` public key (Ed25519, SPKI PEM), from its Webhook Integration
/// Guide (reference README §10.2). It is the default Ed25519 key.
pub const GHL_ED25519_PUBLIC_KEY_PEM: &str = include_str!("../keys/ghl-x-ghl-signature.pub.pem");

/// The reason of a [`ApiError::BadSignature`] whose header is absent.
const MISSING: &str = "is missing";

/// The reason when a request carries neither signature header while both keys are configured:
/// the preferred header is named, since it is the only one GHL sends after 2026-07-01.
const NEITHER: &str = "is missing, and so is x-wh-signature";

/// The longest event `type` a refusal's log line repeats; the body is unverified input.
const MAX_LOGGED_TYPE_CHARS: usize = 64;

/// The public keys webhooks are verified with, parsed once at start.
#[derive(Debug, Clone)]
pub struct WebhookKeys {
    rsa: Option<rsa::pkcs1v15::VerifyingKey<Sha256>>,
    ed25519: Option<ed25519_dalek::VerifyingKey>,
}

impl WebhookKeys {
    /// Parses the keys: RSA as SPKI (`BEGIN PUBLIC KEY`) or PKCS#1 (`BEGIN RSA PUBLIC KEY`) PEM,
    /// Ed25519 as SPKI PEM. At least one is needed.
    pub fn from_pem(rsa_pem: Option<&str>, ed25519_pem: Option<&str>) -> Result<Self, Error> {
        use rsa::pkcs1::DecodeRsaPublicKey as _;
        use rsa::pkcs8::DecodePublicKey as _;

        let rsa = match rsa_pem {
            None => None,
            Some(pem) => {
                let key = rsa::RsaPublicKey::from_public_key_pem(pem.trim())
                    .or_else(|_| rsa::RsaPublicKey::from_pkcs1_pem(pem.trim()))
                    .map_err(|error| Error::InvalidKey {
                        algorithm: "RSA",
                        reason: error.to_string(),
                    })?;
                Some(rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key))
            }
        };
        let ed25519 = match ed25519_pem {
            None => None,
            Some(pem) => Some(
                ed25519_dalek::VerifyingKey::from_public_key_pem(pem.trim()).map_err(|error| {
                    Error::InvalidKey {
                        algorithm: "Ed25519",
                        reason: error.to_string(),
                    }
                })?,
            ),
        };
        if rsa.is_none() && ed25519.is_none() {
            return Err(Error::NoKeys);
        }
        Ok(WebhookKeys { rsa, ed25519 })
    }

    /// Verifies the applicable signature of `body` (see the module docs); answers which header
    /// was verified.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<&'static str, ApiError> {
        let ed25519_header = headers.get(ED25519_HEADER);
        if let (Some(key), Some(value)) = (&self.ed25519, ed25519_header) {
            let signature = decode_signature(ED25519_HEADER, value.as_bytes())?;
            let signature = ed25519_dalek::Signature::from_slice(&signature)
                .map_err(|_| bad(ED25519_HEADER, "is not a 64-byte Ed25519 signature"))?;
            key.verify_strict(body, &signature)
                .map_err(|_| bad(ED25519_HEADER, "does not verify over the body"))?;
            return Ok(ED25519_HEADER);
        }
        let Some(key) = &self.rsa else {
            // Only an Ed25519 key is configured, and its header is missing.
            return Err(bad(ED25519_HEADER, MISSING));
        };
        let Some(value) = headers.get(RSA_HEADER) else {
            if self.ed25519.is_some() && ed25519_header.is_none() {
                return Err(bad(ED25519_HEADER, NEITHER));
            }
            return Err(bad(RSA_HEADER, MISSING));
        };
        let signature = decode_signature(RSA_HEADER, value.as_bytes())?;
        let signature = rsa::pkcs1v15::Signature::try_from(signature.as_slice())
            .map_err(|_| bad(RSA_HEADER, "is not an RSA signature"))?;
        rsa::signature::Verifier::verify(key, body, &signature)
            .map_err(|_| bad(RSA_HEADER, "does not verify over the body"))?;
        Ok(RSA_HEADER)
    }
}

fn bad(header: &'static str, reason: &'static str) -> ApiError {
    ApiError::BadSignature { header, reason }
}

fn decode_signature(header: &'static str, value: &[u8]) -> Result<Vec<u8>, ApiError> {
    BASE64
        .decode(value.trim_ascii())
        .map_err(|_| bad(header, "is not base64"))
}

/// What the webhook handler shares.
pub(crate) struct Intake {
    pub(crate) store: Store,
    pub(crate) keys: WebhookKeys,
    pub(crate) matcher: Arc<dyn FlowMatcher>,
    pub(crate) config: ServerConfig,
    /// Accepted and refused webhooks, shown by `GET /metrics`.
    pub(crate) counters: Arc<WebhookCounters>,
    /// The last pending-run count and when it was read, so that a burst of webhooks costs one
    /// count query per `backpressure_refresh` rather than one each. The async mutex also makes
    /// concurrent requests wait for one refresh instead of all querying at once.
    pub(crate) pending: tokio::sync::Mutex<Option<(Instant, i64)>>,
}

/// The webhook route, with the body limit applied.
pub(crate) fn routes(intake: Arc<Intake>) -> Router {
    Router::new()
        .route("/hooks/ghl", axum::routing::post(receive))
        .layer(axum::extract::DefaultBodyLimit::max(
            intake.config.max_body_bytes,
        ))
        .with_state(intake)
}

async fn receive(
    State(intake): State<Arc<Intake>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let error = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge {
                    limit: intake.config.max_body_bytes,
                }
            } else {
                ApiError::BadRequest(format!("cannot read the body: {}", rejection.body_text()))
            };
            return Err(refuse(&intake, error, None));
        }
    };
    match accept(&intake, &headers, &body).await {
        Ok(answer) => {
            intake.counters.accepted();
            Ok(answer)
        }
        Err(error) => Err(refuse(&intake, error, Some(&body))),
    }
}

/// Verifies, parses and stores one webhook whose body was read.
async fn accept(
    intake: &Intake,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Json<Value>, ApiError> {
    intake.keys.verify(headers, body)?;
    let event = parse_event(body, Utc::now(), intake.config.max_clock_skew)?;
    ensure_capacity(intake).await?;
    let flows = intake.matcher.flows_for(&event.kind, &event.payload);
    let flow_refs: Vec<(&str, i64)> = flows
        .iter()
        .map(|(flow_id, version)| (flow_id.as_str(), *version))
        .collect();
    let (inserted, run_ids) = intake
        .store
        .record_event_with_runs(
            SOURCE,
            &event.key,
            &event.kind,
            &event.payload,
            tether_store::now_ms(),
            &flow_refs,
        )
        .await
        .map_err(|error| store_unavailable(&error))?;
    let duplicate = matches!(inserted, EventInsert::Duplicate(_));
    tracing::debug!(event_key = %event.key, kind = %event.kind, duplicate, "Webhook stored.");
    Ok(Json(json!({
        "eventId": inserted.id(),
        "duplicate": duplicate,
        "runIds": run_ids,
    })))
}

/// Logs and counts a refused webhook, and answers the error to send.
fn refuse(intake: &Intake, error: ApiError, body: Option<&[u8]>) -> ApiError {
    let (reason, header) = refusal_reason(&error);
    intake.counters.refused(reason, header);
    let event_type = body.and_then(event_type);
    // The type comes from an unverified body, so it is logged in its Debug form: quoted, with
    // control characters escaped, and cut short, so a sender cannot forge or flood log lines.
    tracing::warn!(
        reason,
        header,
        status = error.status().as_u16(),
        event_type = event_type.as_deref().map(tracing::field::debug),
        error = %error,
        "Webhook refused."
    );
    error
}

/// The label under which a refusal is logged and counted, and the signature header at fault.
fn refusal_reason(error: &ApiError) -> (&'static str, Option<&'static str>) {
    match error {
        ApiError::BadSignature {
            header,
            reason: MISSING | NEITHER,
        } => ("signature_missing", Some(header)),
        ApiError::BadSignature { header, .. } => ("signature_invalid", Some(header)),
        other => (other.code(), None),
    }
}

/// The `type` of a body that is a JSON object with a string `type`, cut to
/// [`MAX_LOGGED_TYPE_CHARS`].
fn event_type(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Typed {
        #[serde(rename = "type")]
        kind: Option<String>,
    }
    let typed: Typed = serde_json::from_slice(body).ok()?;
    typed
        .kind
        .map(|kind| kind.chars().take(MAX_LOGGED_TYPE_CHARS).collect())
}

/// A verified, parsed webhook.
#[derive(Debug)]
pub(crate) struct ParsedEvent {
    /// `webhookId`, or `sha256:<hex of the body>` when there is none.
    pub(crate) key: String,
    /// The `type`.
    pub(crate) kind: String,
    pub(crate) payload: Value,
}

/// Parses and checks the body of a webhook whose signature verified.
pub(crate) fn parse_event(
    body: &[u8],
    now: DateTime<Utc>,
    max_clock_skew: Duration,
) -> Result<ParsedEvent, ApiError> {
    let payload: Value =
        serde_json::from_slice(body).map_err(|error| ApiError::MalformedJson(error.to_string()))?;
    let Some(object) = payload.as_object() else {
        return Err(ApiError::Unprocessable(
            "the body is not a JSON object".into(),
        ));
    };
    let kind = match object.get("type") {
        Some(Value::String(kind)) if !kind.is_empty() => kind.clone(),
        Some(_) => {
            return Err(ApiError::Unprocessable(
                "field `type` is not a non-empty string".into(),
            ));
        }
        None => {
            return Err(ApiError::Unprocessable(
                "field `type` is missing: not a webhook event".into(),
            ));
        }
    };
    // GHL's per-event examples show no `timestamp` (reference README §13), so its absence is
    // accepted; when present it must be fresh, which is the documented replay protection.
    if let Some(timestamp) = object.get("timestamp") {
        check_timestamp(timestamp, now, max_clock_skew)?;
    }
    let key = match object.get("webhookId") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => format!("sha256:{:x}", Sha256::digest(body)),
    };
    Ok(ParsedEvent { key, kind, payload })
}

fn check_timestamp(
    timestamp: &Value,
    now: DateTime<Utc>,
    max_clock_skew: Duration,
) -> Result<(), ApiError> {
    let Some(text) = timestamp.as_str() else {
        return Err(ApiError::BadRequest(
            "field `timestamp` is not an ISO 8601 string".into(),
        ));
    };
    let sent = DateTime::parse_from_rfc3339(text).map_err(|error| {
        ApiError::BadRequest(format!(
            "field `timestamp` {text:?} is not ISO 8601: {error}"
        ))
    })?;
    let age_ms = now.timestamp_millis() - sent.timestamp_millis();
    let limit_ms = i64::try_from(max_clock_skew.as_millis()).unwrap_or(i64::MAX);
    if age_ms > limit_ms {
        return Err(ApiError::BadRequest(format!(
            "stale webhook: timestamp {text} is {} s old, the limit is {} s",
            age_ms / 1000,
            max_clock_skew.as_secs()
        )));
    }
    if -age_ms > limit_ms {
        return Err(ApiError::BadRequest(format!(
            "stale webhook: timestamp {text} is {} s in the future, the limit is {} s",
            -age_ms / 1000,
            max_clock_skew.as_secs()
        )));
    }
    Ok(())
}

/// Refuses with 429 when queued and retrying runs exceed the configured limit.
async fn ensure_capacity(intake: &Intake) -> Result<(), ApiError> {
    let limit = intake.config.max_pending_runs;
    let pending = {
        let mut cached = intake.pending.lock().await;
        match *cached {
            Some((read_at, pending)) if read_at.elapsed() < intake.config.backpressure_refresh => {
                pending
            }
            _ => {
                let counts = intake
                    .store
                    .unfinished_run_counts()
                    .await
                    .map_err(|error| store_unavailable(&error))?;
                let pending = counts.queued + counts.retry;
                *cached = Some((Instant::now(), pending));
                pending
            }
        }
    };
    if pending > limit {
        return Err(ApiError::Busy {
            reason: format!("engine busy: {pending} runs waiting, the limit is {limit}"),
            retry_after: Duration::from_secs(60),
        });
    }
    Ok(())
}

/// A store failure during intake answers 429, not 500: GHL drops an event on any status but
/// 429, while a 429 brings it back once the store recovers.
fn store_unavailable(error: &tether_store::Error) -> ApiError {
    tracing::error!(error = %chain(error), kind = error.kind().label(), "Storing a webhook failed; asking the sender to redeliver.");
    ApiError::Busy {
        reason: "the event store is unavailable".into(),
        retry_after: Duration::from_secs(60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-06-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn check(body: &str) -> Result<ParsedEvent, String> {
        parse_event(body.as_bytes(), now(), Duration::from_secs(300))
            .map_err(|error| format!("{} {error}", error.status().as_u16()))
    }

    #[test]
    fn a_webhook_is_keyed_by_its_webhook_id() {
        let event = check(
            r#"{"type":"ContactCreate","webhookId":"w1","timestamp":"2025-06-01T11:59:00Z"}"#,
        )
        .unwrap();
        assert_eq!(event.key, "w1");
        assert_eq!(event.kind, "ContactCreate");
    }

    #[test]
    fn without_a_webhook_id_the_key_is_the_body_hash() {
        let one = check(r#"{"type":"ContactCreate","id":"a"}"#).unwrap();
        let again = check(r#"{"type":"ContactCreate","id":"a"}"#).unwrap();
        let other = check(r#"{"type":"ContactCreate","id":"b"}"#).unwrap();
        assert!(
            one.key.starts_with("sha256:") && one.key.len() == 7 + 64,
            "{}",
            one.key
        );
        assert_eq!(one.key, again.key);
        assert_ne!(one.key, other.key);
    }

    #[test]
    fn bad_bodies_are_named() {
        let error = check("{\n  \"type\": }").unwrap_err();
        assert!(error.starts_with("400 malformed JSON body"), "{error}");
        assert!(error.contains("line 2 column"), "{error}");
        assert!(
            check(r#"{"id":"x"}"#)
                .unwrap_err()
                .starts_with("422 field `type` is missing")
        );
        assert!(check("[1]").unwrap_err().starts_with("422 the body is not"));
        assert!(
            check(r#"{"type":7}"#)
                .unwrap_err()
                .starts_with("422 field `type`")
        );
        let error = check(r#"{"type":"X","timestamp":"yesterday"}"#).unwrap_err();
        assert!(
            error.starts_with("400 field `timestamp` \"yesterday\""),
            "{error}"
        );
    }

    #[test]
    fn timestamps_outside_the_window_are_stale_both_ways() {
        let at = |timestamp: &str| check(&format!(r#"{{"type":"X","timestamp":"{timestamp}"}}"#));
        assert!(at("2025-06-01T11:55:01Z").is_ok());
        assert!(at("2025-06-01T12:04:59.999+00:00").is_ok());
        let old = at("2025-06-01T11:54:00Z").unwrap_err();
        assert_eq!(
            old,
            "400 stale webhook: timestamp 2025-06-01T11:54:00Z is 360 s old, the limit is 300 s"
        );
        let future = at("2025-06-01T12:06:00Z").unwrap_err();
        assert!(
            future.contains("360 s in the future, the limit is 300 s"),
            "{future}"
        );
    }

    /// The SHA-256 of a file as hex, to compare an embedded copy with the digest its
    /// `keys/SOURCE.md` records.
    fn sha256_hex(text: &str) -> String {
        format!("{:x}", Sha256::digest(text.as_bytes()))
    }

    #[test]
    fn the_real_ghl_rsa_key_parses_and_is_the_recorded_copy() {
        WebhookKeys::from_pem(Some(GHL_RSA_PUBLIC_KEY_PEM), None).unwrap();
        assert_eq!(
            sha256_hex(GHL_RSA_PUBLIC_KEY_PEM),
            "1155f70c468992df8664106baec6d0576dd5eaf2322b97d8ba36fe11d1c0d068"
        );
    }

    #[test]
    fn the_default_ed25519_key_is_ghls() {
        use ed25519_dalek::pkcs8::EncodePublicKey as _;

        let keys = WebhookKeys::from_pem(None, Some(GHL_ED25519_PUBLIC_KEY_PEM)).unwrap();
        let spki = keys.ed25519.unwrap().to_public_key_der().unwrap();
        assert_eq!(
            BASE64.encode(spki.as_bytes()),
            "MCowBQYDK2VwAyEAi2HR1srL4o18O8BRa7gVJY7G7bupbN3H9AwJrHCDiOg="
        );
        assert_eq!(
            sha256_hex(GHL_ED25519_PUBLIC_KEY_PEM),
            "0c91f6373e9844b6f83136e834054868cc418992969a5e5a9ff4abe6bc17ba0a"
        );
        // `tether serve` trusts GHL's keys unless told otherwise.
        let config = ServerConfig::default();
        assert_eq!(
            config.ghl_ed25519_public_key_pem.as_deref(),
            Some(GHL_ED25519_PUBLIC_KEY_PEM)
        );
        assert_eq!(
            config.ghl_rsa_public_key_pem.as_deref(),
            Some(GHL_RSA_PUBLIC_KEY_PEM)
        );
    }

    #[test]
    fn refusals_are_labelled_by_what_went_wrong() {
        let keys = WebhookKeys::from_pem(
            Some(GHL_RSA_PUBLIC_KEY_PEM),
            Some(GHL_ED25519_PUBLIC_KEY_PEM),
        )
        .unwrap();
        let neither = keys.verify(&HeaderMap::new(), b"{}").unwrap_err();
        assert_eq!(
            neither.to_string(),
            "x-ghl-signature: is missing, and so is x-wh-signature"
        );
        assert_eq!(
            refusal_reason(&neither),
            ("signature_missing", Some(ED25519_HEADER))
        );
        let mut headers = HeaderMap::new();
        headers.insert(ED25519_HEADER, BASE64.encode([7; 64]).parse().unwrap());
        let forged = keys.verify(&headers, b"{}").unwrap_err();
        assert_eq!(
            refusal_reason(&forged),
            ("signature_invalid", Some(ED25519_HEADER))
        );
        assert_eq!(
            refusal_reason(&ApiError::MalformedJson("x".into())),
            ("malformed_json", None)
        );
    }

    #[test]
    fn the_logged_event_type_is_read_from_json_bodies_only_and_cut_short() {
        assert_eq!(
            event_type(br#"{"type":"ContactCreate","id":"x"}"#).as_deref(),
            Some("ContactCreate")
        );
        assert_eq!(event_type(b"not json"), None);
        assert_eq!(event_type(br#"{"type":7}"#), None);
        assert_eq!(event_type(br#"{"id":"x"}"#), None);
        let long = format!(r#"{{"type":"{}"}}"#, "A".repeat(500));
        assert_eq!(
            event_type(long.as_bytes()).unwrap().len(),
            MAX_LOGGED_TYPE_CHARS
        );
    }

    #[test]
    fn bad_key_configurations_are_refused() {
        assert!(matches!(
            WebhookKeys::from_pem(None, None),
            Err(Error::NoKeys)
        ));
        let error = WebhookKeys::from_pem(Some("not a key"), None).unwrap_err();
        assert!(
            matches!(
                error,
                Error::InvalidKey {
                    algorithm: "RSA",
                    ..
                }
            ),
            "{error:?}"
        );
        let error = WebhookKeys::from_pem(None, Some(GHL_RSA_PUBLIC_KEY_PEM)).unwrap_err();
        assert!(
            matches!(
                error,
                Error::InvalidKey {
                    algorithm: "Ed25519",
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn an_ed25519_header_without_an_ed25519_key_leaves_rsa_to_decide() {
        let keys = WebhookKeys::from_pem(Some(GHL_RSA_PUBLIC_KEY_PEM), None).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(ED25519_HEADER, "AAAA".parse().unwrap());
        let error = keys.verify(&headers, b"{}").unwrap_err();
        assert_eq!(error.to_string(), "x-wh-signature: is missing");
    }
}
