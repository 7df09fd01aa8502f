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
//! verified with the RSA key. Without an Ed25519 key the Ed25519 header cannot be checked at all,
//! so the RSA signature, which GHL sends beside it, decides: that is no downgrade, since the RSA
//! key is then the only one the operator trusts.

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
            return Err(bad(ED25519_HEADER, "is missing"));
        };
        let Some(value) = headers.get(RSA_HEADER) else {
            return Err(bad(RSA_HEADER, "is missing"));
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
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge {
                limit: intake.config.max_body_bytes,
            }
        } else {
            ApiError::BadRequest(format!("cannot read the body: {}", rejection.body_text()))
        }
    })?;
    intake.keys.verify(&headers, &body)?;
    let event = parse_event(&body, Utc::now(), intake.config.max_clock_skew)?;
    ensure_capacity(&intake).await?;
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

    #[test]
    fn the_real_ghl_rsa_key_parses() {
        WebhookKeys::from_pem(Some(GHL_RSA_PUBLIC_KEY_PEM), None).unwrap();
        // The copy in this crate is the reference's, byte for byte, when the reference is beside
        // the repository (as in CI).
        let reference = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/reference/ghl/webhook-public-key-x-wh-signature.pem"
        );
        if let Ok(text) = std::fs::read_to_string(reference) {
            assert_eq!(text, GHL_RSA_PUBLIC_KEY_PEM);
        }
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
