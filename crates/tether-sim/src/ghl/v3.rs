//! What `Version: v3` changes on the wire, applied by the gate so the handlers speak one shape
//! (v2's) whatever the client sent.
//!
//! The v3 specs (`contacts-v3.openapi.json`, `oauth-v3.openapi.json`) describe the same operations
//! as v2 with these differences, and only these are translated (reference README §7, §3.2):
//! - DND channel keys of `dndSettings` are lower-camel (`call`, `email`, `sms`, `whatsApp`, `gmb`,
//!   `fb`) in request and answer bodies;
//! - success answers carry `succeeded` beside the deprecated `succeded`;
//! - the token endpoint takes camelCase fields (`clientId`, `grantType`, ...) as a form or JSON
//!   body and answers camelCase token fields (`accessToken`, `expiresIn`, ...);
//! - custom field input may say `fieldValue` (the contact handlers read both spellings already).
//!
//! Error texts stay v2's: the v3 specs give the same error schemas, and where their examples name
//! a field the simulator keeps the v2 name it validated.

use axum::body::{Body, Bytes};
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use serde_json::{Map, Value};

use super::error::GhlError;
use super::ops::OpSpec;

/// `dndSettings` channel keys as `(v2, v3)`.
const DND_KEYS: [(&str, &str); 6] = [
    ("Call", "call"),
    ("Email", "email"),
    ("SMS", "sms"),
    ("WhatsApp", "whatsApp"),
    ("GMB", "gmb"),
    ("FB", "fb"),
];

/// Token request fields as `(v2, v3)` (`GetAccessTokenBodyDto` of each spec).
const TOKEN_REQUEST_FIELDS: [(&str, &str); 7] = [
    ("client_id", "clientId"),
    ("client_secret", "clientSecret"),
    ("grant_type", "grantType"),
    ("code", "code"),
    ("refresh_token", "refreshToken"),
    ("user_type", "userType"),
    ("redirect_uri", "redirectUri"),
];

/// Token answer fields that differ, as `(v2, v3)`; the others are camelCase in both.
const TOKEN_ANSWER_FIELDS: [(&str, &str); 4] = [
    ("access_token", "accessToken"),
    ("token_type", "tokenType"),
    ("expires_in", "expiresIn"),
    ("refresh_token", "refreshToken"),
];

/// The operation id of the token endpoint.
const TOKEN_OPERATION: &str = "get-access-token";

/// Renames the keys of `object` from the first name of each pair to the second.
fn rename_keys(object: &mut Map<String, Value>, pairs: &[(&str, &str)], to_v3: bool) {
    for (v2, v3) in pairs {
        let (from, to) = if to_v3 { (v2, v3) } else { (v3, v2) };
        if from != to
            && let Some(value) = object.remove(*from)
        {
            object.insert((*to).to_owned(), value);
        }
    }
}

/// Renames the DND channel keys of a contact-shaped object's `dndSettings`.
fn translate_dnd(contact: &mut Value, to_v3: bool) {
    if let Some(Value::Object(settings)) = contact.get_mut("dndSettings") {
        rename_keys(settings, &DND_KEYS, to_v3);
    }
}

/// Turns a v3 request body into the v2 one the handler reads; `headers` follow the body (the token
/// endpoint's JSON body becomes a form). A body that is not JSON is left to the handler's checks.
pub fn request_to_v2(op: &OpSpec, headers: &mut HeaderMap, body: Bytes) -> Bytes {
    if op.operation_id == TOKEN_OPERATION {
        return token_request_to_v2(headers, body);
    }
    let Ok(mut value) = serde_json::from_slice::<Value>(&body) else {
        return body;
    };
    translate_dnd(&mut value, false);
    headers.remove(CONTENT_LENGTH);
    Bytes::from(serde_json::to_vec(&value).expect("a JSON value serializes"))
}

/// The v3 token request (form or JSON, camelCase) as the v2 form the handler reads.
fn token_request_to_v2(headers: &mut HeaderMap, body: Bytes) -> Bytes {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let pairs: Vec<(String, String)> = match essence.as_str() {
        "application/json" => match serde_json::from_slice::<Map<String, Value>>(&body) {
            Ok(object) => object
                .into_iter()
                .map(|(name, value)| {
                    let text = match value {
                        Value::String(text) => text,
                        other => other.to_string(),
                    };
                    (name, text)
                })
                .collect(),
            // Not a JSON object: the handler answers 422 for the missing fields.
            Err(_) => Vec::new(),
        },
        "application/x-www-form-urlencoded" => {
            url::form_urlencoded::parse(&body).into_owned().collect()
        }
        _ => return body,
    };
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in &pairs {
        let v2_name = TOKEN_REQUEST_FIELDS
            .iter()
            .find(|(_, v3)| v3 == name)
            .map_or(name.as_str(), |(v2, _)| v2);
        form.append_pair(v2_name, value);
    }
    headers.insert(
        CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    headers.remove(CONTENT_LENGTH);
    Bytes::from(form.finish())
}

/// Turns a handler's v2 answer into the v3 one. Error answers have the same shapes in both.
pub async fn response_from_v2(op: &OpSpec, response: Response) -> Response {
    if !response.status().is_success() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return GhlError::Internal.into_response();
    };
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    if let Value::Object(object) = &mut value {
        if op.operation_id == TOKEN_OPERATION {
            rename_keys(object, &TOKEN_ANSWER_FIELDS, true);
        }
        if let Some(contact) = object.get_mut("contact") {
            translate_dnd(contact, true);
        }
        if let Some(Value::Array(contacts)) = object.get_mut("contacts") {
            contacts
                .iter_mut()
                .for_each(|contact| translate_dnd(contact, true));
        }
        if let Some(flag) = object.get("succeded").cloned() {
            object.entry("succeeded").or_insert(flag);
        }
    }
    parts.headers.remove(CONTENT_LENGTH);
    let bytes = serde_json::to_vec(&value).expect("a JSON value serializes");
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dnd_keys_round_trip() {
        let mut contact = json!({"dndSettings": {"Call": {"status": "active"}, "WhatsApp": {"status": "inactive"}}});
        translate_dnd(&mut contact, true);
        assert_eq!(
            contact,
            json!({"dndSettings": {"call": {"status": "active"}, "whatsApp": {"status": "inactive"}}})
        );
        translate_dnd(&mut contact, false);
        assert_eq!(
            contact,
            json!({"dndSettings": {"Call": {"status": "active"}, "WhatsApp": {"status": "inactive"}}})
        );
    }

    #[test]
    fn a_json_token_request_becomes_a_v2_form() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, "application/json".parse().unwrap());
        let body = token_request_to_v2(
            &mut headers,
            Bytes::from_static(
                br#"{"clientId": "c", "grantType": "refresh_token", "refreshToken": "r t"}"#,
            ),
        );
        let fields: Vec<(String, String)> =
            url::form_urlencoded::parse(&body).into_owned().collect();
        assert_eq!(
            fields,
            vec![
                ("client_id".to_owned(), "c".to_owned()),
                ("grant_type".to_owned(), "refresh_token".to_owned()),
                ("refresh_token".to_owned(), "r t".to_owned()),
            ]
        );
        assert_eq!(headers[CONTENT_TYPE], "application/x-www-form-urlencoded");
    }
}
