//! OAuth 1.0a HMAC-SHA1 as the simulator reads RFC 5849 §3.4 and the reference (README §5):
//! percent-encoding, the normalized parameter string, the signature base string, the signing key
//! and a constant-time check of a received signature.
//!
//! This is the simulator's own reading of the spec, written apart from Tether's client signer on
//! purpose: a misreading shared by both would make every test pass against a wrong signature.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha1::Sha1;

/// Every byte is encoded except the RFC 3986 unreserved set `A-Z a-z 0-9 - . _ ~` (RFC 5849 §3.6).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The only signature method Flickr accepts.
pub const HMAC_SHA1: &str = "HMAC-SHA1";

/// Percent-encodes `value` as RFC 5849 §3.6 asks: UTF-8 bytes, upper-case hex, space as `%20`.
pub fn encode(value: &str) -> String {
    utf8_percent_encode(value, UNRESERVED).to_string()
}

/// The normalized parameter string (RFC 5849 §3.4.1.3.2): every pair but `oauth_signature`,
/// names and values encoded, sorted by name then value (bytes), joined as `name=value` with `&`.
pub fn normalized_parameters(params: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .filter(|(name, _)| name != "oauth_signature")
        .map(|(name, value)| (encode(name), encode(value)))
        .collect();
    encoded.sort();
    let pairs: Vec<String> = encoded
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    pairs.join("&")
}

/// The base string URI (RFC 5849 §3.4.1.2): scheme and host lower-cased, the default port of the
/// scheme dropped, the path kept exactly as requested (an empty path stays empty, as flickr-sdk
/// signs it; real requests always have one).
pub fn base_url(scheme: &str, authority: &str, path: &str) -> String {
    let scheme = scheme.to_ascii_lowercase();
    let mut host = authority.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => Some(":80"),
        "https" => Some(":443"),
        _ => None,
    };
    if let Some(port) = default_port
        && host.ends_with(port)
    {
        host.truncate(host.len() - port.len());
    }
    format!("{scheme}://{host}{path}")
}

/// Splits an absolute URL into the parts [`base_url`] takes, dropping any query or fragment.
pub fn base_url_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, ""),
    };
    base_url(scheme, authority, path)
}

/// The base string URIs a client may have signed for a request served at `path`, besides the URL
/// it was served at: Flickr's production host for that endpoint (reference README §1) with the path
/// as requested, trailing slash or not, since the path is signed exactly as sent.
///
/// A client that knows only Flickr (flickr-sdk builds `https://api.flickr.com/services/rest` into
/// every call) signs the production URL and is pointed at the simulator by rewriting the host
/// in its transport; its signature is right for Flickr, so the simulator accepts it too. Paths
/// Flickr does not serve have none.
pub fn production_base_urls(path: &str) -> Vec<String> {
    let hosts: &[&str] = match path.strip_suffix('/').unwrap_or(path) {
        // `www.flickr.com/services/rest/` is the address in Flickr's older documentation.
        "/services/rest" => &["api.flickr.com", "www.flickr.com"],
        "/services/upload" | "/services/replace" => &["up.flickr.com"],
        "/services/oauth/request_token" | "/services/oauth/access_token" => &["www.flickr.com"],
        _ => &[],
    };
    hosts
        .iter()
        .map(|host| base_url("https", host, path))
        .collect()
}

/// The signature base string (RFC 5849 §3.4.1.1).
pub fn base_string(http_method: &str, base_url: &str, params: &[(String, String)]) -> String {
    format!(
        "{}&{}&{}",
        http_method.to_ascii_uppercase(),
        encode(base_url),
        encode(&normalized_parameters(params))
    )
}

/// The HMAC key: both secrets encoded, joined by `&` (present even when the token secret is empty).
pub fn signing_key(consumer_secret: &str, token_secret: &str) -> String {
    format!("{}&{}", encode(consumer_secret), encode(token_secret))
}

fn mac(key: &str, base_string: &str) -> Hmac<Sha1> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(key.as_bytes())
        .expect("HMAC accepts a key of any length");
    mac.update(base_string.as_bytes());
    mac
}

/// The signature: Base64 (with padding) of HMAC-SHA1 over the base string.
pub fn sign(key: &str, base_string: &str) -> String {
    STANDARD.encode(mac(key, base_string).finalize().into_bytes())
}

/// Whether `signature` (Base64, as received) is the signature of `base_string` under `key`.
/// The comparison of the MAC bytes takes the same time wherever they differ.
pub fn verify(key: &str, base_string: &str, signature: &str) -> bool {
    let Ok(given) = STANDARD.decode(signature.trim()) else {
        return false;
    };
    mac(key, base_string).verify_slice(&given).is_ok()
}

/// Parses an `Authorization: OAuth k="v", …` header into decoded pairs, without `realm`
/// (RFC 5849 §3.5.1). `None` when the scheme is not `OAuth`.
pub fn parse_authorization(value: &str) -> Option<Vec<(String, String)>> {
    let value = value.trim_start();
    let (scheme, rest) = value.split_at(value.find(char::is_whitespace).unwrap_or(value.len()));
    if !scheme.eq_ignore_ascii_case("OAuth") {
        return None;
    }
    let mut pairs = Vec::new();
    for item in rest.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (name, quoted) = item.split_once('=').unwrap_or((item, ""));
        let name = percent_decode(name.trim());
        let quoted = quoted.trim();
        let raw = quoted
            .strip_prefix('"')
            .and_then(|inner| inner.strip_suffix('"'))
            .unwrap_or(quoted);
        if name.eq_ignore_ascii_case("realm") {
            continue;
        }
        pairs.push((name, percent_decode(raw)));
    }
    Some(pairs)
}

/// Decodes `%XX` escapes (not `+`: header values and names are RFC 3986-encoded).
pub fn percent_decode(value: &str) -> String {
    percent_encoding::percent_decode_str(value)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn encoding_follows_the_reference_table() {
        assert_eq!(encode("a b"), "a%20b");
        assert_eq!(encode("+/:=&@,;"), "%2B%2F%3A%3D%26%40%2C%3B");
        assert_eq!(encode("!'()*"), "%21%27%28%29%2A");
        assert_eq!(encode("~-._"), "~-._");
        assert_eq!(encode("é\n"), "%C3%A9%0A");
    }

    #[test]
    fn the_base_url_drops_default_ports_and_lowercases_the_host() {
        assert_eq!(
            base_url("HTTP", "Example.COM:80", "/Services/rest"),
            "http://example.com/Services/rest"
        );
        assert_eq!(
            base_url("http", "127.0.0.1:8803", "/services/rest/"),
            "http://127.0.0.1:8803/services/rest/"
        );
        assert_eq!(
            base_url_of("https://api.flickr.com:443/services/rest?x=1"),
            "https://api.flickr.com/services/rest"
        );
    }

    #[test]
    fn each_endpoint_has_flickrs_production_url_with_the_path_as_sent() {
        assert_eq!(
            production_base_urls("/services/rest"),
            [
                "https://api.flickr.com/services/rest",
                "https://www.flickr.com/services/rest"
            ]
        );
        assert_eq!(
            production_base_urls("/services/rest/"),
            [
                "https://api.flickr.com/services/rest/",
                "https://www.flickr.com/services/rest/"
            ]
        );
        assert_eq!(
            production_base_urls("/services/upload/"),
            ["https://up.flickr.com/services/upload/"]
        );
        assert_eq!(
            production_base_urls("/services/upload"),
            ["https://up.flickr.com/services/upload"]
        );
        assert_eq!(
            production_base_urls("/services/replace/"),
            ["https://up.flickr.com/services/replace/"]
        );
        assert_eq!(
            production_base_urls("/services/oauth/request_token"),
            ["https://www.flickr.com/services/oauth/request_token"]
        );
        assert_eq!(
            production_base_urls("/services/oauth/access_token"),
            ["https://www.flickr.com/services/oauth/access_token"]
        );
        // The browser page is never signed, and other paths are not Flickr's.
        assert!(production_base_urls("/services/oauth/authorize").is_empty());
        assert!(production_base_urls("/__sim/health").is_empty());
        assert!(production_base_urls("/services/restx").is_empty());
    }

    #[test]
    fn the_authorization_header_is_decoded_without_realm() {
        let parsed = parse_authorization(
            r#"OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03", oauth_signature="74KNZJeDHnMBp0EMJ9ZHt%2FXKycU%3D""#,
        )
        .unwrap();
        assert_eq!(
            parsed,
            pairs(&[
                ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
                ("oauth_signature", "74KNZJeDHnMBp0EMJ9ZHt/XKycU="),
            ])
        );
        assert!(parse_authorization("Bearer abc").is_none());
    }

    #[test]
    fn a_changed_signature_does_not_verify() {
        let key = signing_key("secret", "");
        let signature = sign(&key, "GET&x&y");
        assert!(verify(&key, "GET&x&y", &signature));
        assert!(!verify(&key, "GET&x&z", &signature));
        assert!(!verify(&key, "GET&x&y", "not base64!"));
        assert!(!verify(&signing_key("other", ""), "GET&x&y", &signature));
    }

    /// Every published and constructed vector of the reference, through this module only.
    #[test]
    fn every_reference_vector_reproduces() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/flickr/oauth1-test-vectors.json"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let file: Value = serde_json::from_str(&text).unwrap();
        let mut n_checked = 0;
        for group in ["vectors", "constructed_examples"] {
            for vector in file[group].as_array().unwrap() {
                let id = vector["id"].as_str().unwrap();
                let inputs = &vector["inputs"];
                let outputs = &vector["outputs"];
                let params: Vec<(String, String)> = inputs["params"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|pair| {
                        (
                            pair[0].as_str().unwrap().to_owned(),
                            pair[1].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect();
                let base = base_string(
                    inputs["http_method"].as_str().unwrap(),
                    &base_url_of(inputs["url"].as_str().unwrap()),
                    &params,
                );
                assert_eq!(base, outputs["base_string"].as_str().unwrap(), "{id}");
                if let Some(expected) = outputs["signature"].as_str() {
                    let key = signing_key(
                        inputs["consumer_secret"].as_str().unwrap_or_default(),
                        inputs["token_secret"].as_str().unwrap_or_default(),
                    );
                    assert_eq!(key, outputs["signing_key"].as_str().unwrap(), "{id}");
                    assert_eq!(sign(&key, &base), expected, "{id}");
                    assert!(verify(&key, &base, expected), "{id}");
                    assert_eq!(
                        encode(expected),
                        outputs["signature_percent_encoded"].as_str().unwrap(),
                        "{id}"
                    );
                }
                n_checked += 1;
            }
        }
        assert_eq!(n_checked, 18);
    }
}
