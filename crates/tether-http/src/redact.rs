//! Keeps secrets and personal data out of logs and error messages: secret fields of bodies,
//! every query-string value of a URL (they carry e-mail addresses, phone numbers and names), path
//! segments that are e-mail addresses or phone numbers, and e-mail addresses in a service's
//! message.

use serde_json::Value;
use url::Url;

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

/// A JSON value fit to show a person (a run's step input or output): every [`SECRET_FIELDS`]
/// value replaced, at any depth; nothing cut.
pub fn json(value: &mut Value) {
    redact_json(value);
}

/// What replaces a redacted value.
pub const REDACTED: &str = "[redacted]";

/// A URL fit for an error message or a log: every query value replaced (the names stay, so the
/// message still says what was asked), and e-mail or phone path segments replaced.
pub fn url(url: &Url) -> Url {
    let mut shown = url.clone();
    shown.set_path(&path(url.path()));
    if let Some(query) = url.query() {
        let names: Vec<String> = query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let name = pair.split_once('=').map_or(pair, |(name, _)| name);
                format!("{name}={REDACTED}")
            })
            .collect();
        shown.set_query(Some(&names.join("&")));
    }
    shown.set_fragment(None);
    let _ = shown.set_password(None);
    shown
}

/// A path fit for an error message or a log: segments that are e-mail addresses or phone numbers
/// replaced, and anything after `?` (a query written into the path) redacted as [`url()`] does.
pub fn path(path: &str) -> String {
    let (path, query) = match path.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path, None),
    };
    let mut shown = path
        .split('/')
        .map(|segment| {
            let decoded = percent_decode(segment);
            if is_email(&decoded) || is_phone(&decoded) {
                REDACTED
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    if let Some(query) = query {
        let names: Vec<String> = query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let name = pair.split_once('=').map_or(pair, |(name, _)| name);
                format!("{name}={REDACTED}")
            })
            .collect();
        shown.push('?');
        shown.push_str(&names.join("&"));
    }
    shown
}

/// Text (a service's error message) with every e-mail address replaced.
pub fn text(text: &str) -> String {
    let is_local = |c: char| c.is_alphanumeric() || "._%+-".contains(c);
    let is_domain = |c: char| c.is_alphanumeric() || ".-".contains(c);
    let mut shown = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        let local_start = rest[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_local(*c))
            .last()
            .map_or(at, |(index, _)| index);
        let domain_end = rest[at + 1..]
            .char_indices()
            .find(|(_, c)| !is_domain(*c))
            .map_or(rest.len(), |(index, _)| at + 1 + index);
        let domain = rest[at + 1..domain_end].trim_end_matches('.');
        if local_start < at && domain.contains('.') {
            shown.push_str(&rest[..local_start]);
            shown.push_str(REDACTED);
            rest = &rest[at + 1 + domain.len()..];
        } else {
            shown.push_str(&rest[..=at]);
            rest = &rest[at + 1..];
        }
    }
    shown.push_str(rest);
    shown
}

fn percent_decode(segment: &str) -> String {
    // Form decoding turns `+` into a space; in a path `+` is itself, so it is escaped first.
    let escaped = segment.replace('+', "%2B");
    url::form_urlencoded::parse(format!("x={escaped}").as_bytes())
        .next()
        .map_or_else(|| segment.to_owned(), |(_, value)| value.into_owned())
}

fn is_email(segment: &str) -> bool {
    segment
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
}

/// A phone number: 7 to 15 digits with a leading `+` or separators (`-`, `.`, spaces, brackets).
/// A bare run of digits is an id (Flickr's photo ids are), not a phone number.
fn is_phone(segment: &str) -> bool {
    let digits = segment.chars().filter(char::is_ascii_digit).count();
    let allowed = segment
        .chars()
        .all(|c| c.is_ascii_digit() || "+-. ()".contains(c));
    let formatted = segment.starts_with('+') || segment.chars().any(|c| "-. ()".contains(c));
    allowed && formatted && (7..=15).contains(&digits)
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
    fn query_values_and_personal_path_segments_are_replaced() {
        let check = |raw: &str, expected: &str| {
            assert_eq!(url(&Url::parse(raw).unwrap()).as_str(), expected, "{raw}");
        };
        check(
            "http://127.0.0.1:8802/customers?per_page=100&email=rosa%40example.com&page=1",
            "http://127.0.0.1:8802/customers?per_page=[redacted]&email=[redacted]&page=[redacted]",
        );
        check(
            "http://127.0.0.1:8802/customers/rosa@example.com/orders",
            "http://127.0.0.1:8802/customers/[redacted]/orders",
        );
        check(
            "http://127.0.0.1:8802/lookup/+1%20555-010-9999",
            "http://127.0.0.1:8802/lookup/[redacted]",
        );
        check(
            "http://127.0.0.1:8803/photos/53412345678",
            "http://127.0.0.1:8803/photos/53412345678",
        );
        assert_eq!(path("/customers/a@b.com"), "/customers/[redacted]");
        assert_eq!(path("/contacts/abc123"), "/contacts/abc123");
        assert_eq!(
            path("/customers?email=a@b.com"),
            "/customers?email=[redacted]"
        );
    }

    #[test]
    fn email_addresses_in_messages_are_replaced() {
        let check = |raw: &str, expected: &str| assert_eq!(text(raw), expected, "{raw}");
        check(
            "no customer with email Rosa.D+x@example.co.uk.",
            "no customer with email [redacted].",
        );
        check("a@b.com and c@d.org", "[redacted] and [redacted]");
        check(
            "email: must be an e-mail address",
            "email: must be an e-mail address",
        );
        check("@handle and x@localhost", "@handle and x@localhost");
    }

    #[test]
    fn long_bodies_are_cut_on_a_char_boundary() {
        let long = "é".repeat(MAX_KEPT_BODY);
        let kept = body(long.as_bytes());
        assert!(kept.len() <= MAX_KEPT_BODY + '…'.len_utf8());
        assert!(kept.ends_with('…'));
    }
}
