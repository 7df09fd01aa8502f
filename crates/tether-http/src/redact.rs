//! Keeps secrets out of logs and error messages.

use serde_json::Value;

/// Field names whose values are secrets wherever they appear (JSON keys or form fields).
pub const SECRET_FIELDS: &[&str] = &[
    "access_token",
    "accessToken",
    "refresh_token",
    "refreshToken",
    "client_secret",
    "clientSecret",
    "code",
    "password",
    "api_key",
    "apiKey",
    "oauth_token_secret",
    "id_token",
];

/// Header names never logged.
pub const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "proxy-authorization",
];

/// Most bytes of a body kept in an error.
pub const MAX_KEPT_BODY: usize = 4 * 1024;

/// A body fit for an error message: secret fields replaced, then cut to [`MAX_KEPT_BODY`].
pub fn body(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let redacted = match serde_json::from_str::<Value>(&text) {
        Ok(mut value) => {
            redact_json(&mut value);
            value.to_string()
        }
        Err(_) if text.contains('=') && !text.contains(' ') => redact_form(&text),
        Err(_) => text.into_owned(),
    };
    truncate(redacted)
}

fn redact_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                if SECRET_FIELDS.contains(&key.as_str()) {
                    *field = Value::String("[redacted]".into());
                } else {
                    redact_json(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

fn redact_form(text: &str) -> String {
    text.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if SECRET_FIELDS.contains(&key) => format!("{key}=[redacted]"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn truncate(mut text: String) -> String {
    if text.len() > MAX_KEPT_BODY {
        let mut cut = MAX_KEPT_BODY;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_json_and_forms_are_replaced() {
        let check = |raw: &str, expected: &str| assert_eq!(body(raw.as_bytes()), expected, "{raw}");
        check(
            r#"{"access_token":"at-1","nested":{"refresh_token":"rt-1"},"message":"ok"}"#,
            r#"{"access_token":"[redacted]","message":"ok","nested":{"refresh_token":"[redacted]"}}"#,
        );
        check(
            "grant_type=refresh_token&refresh_token=rt-1&client_secret=s",
            "grant_type=refresh_token&refresh_token=[redacted]&client_secret=[redacted]",
        );
        check("plain text error", "plain text error");
    }

    #[test]
    fn long_bodies_are_cut_on_a_char_boundary() {
        let long = "é".repeat(MAX_KEPT_BODY);
        let kept = body(long.as_bytes());
        assert!(kept.len() <= MAX_KEPT_BODY + '…'.len_utf8());
        assert!(kept.ends_with('…'));
    }
}
