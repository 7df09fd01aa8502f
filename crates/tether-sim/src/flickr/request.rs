//! One API request as the simulator reads it: the signature base URL rebuilt from what the client
//! saw, and every parameter collected from the query, the `Authorization: OAuth` header, an
//! urlencoded body and the text fields of a multipart body (file parts kept apart, never signed).

use bytes::Bytes;
use http::{HeaderMap, Method, Uri, header};

use super::oauth;

/// A file part of a multipart body (the upload's `photo`).
#[derive(Debug, Clone)]
pub struct FilePart {
    /// The form field name.
    pub name: String,
    /// The file name the client gave, if any.
    pub filename: Option<String>,
    /// The part's `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The bytes.
    pub data: Bytes,
}

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// A multipart body without a usable boundary or with a broken part.
    #[error("malformed multipart body")]
    Multipart,
}

impl BodyError {
    /// How a client should treat it: its request is wrong.
    pub fn kind(&self) -> tether_core::ErrorKind {
        tether_core::ErrorKind::Permanent
    }
}

/// A request, parsed.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// `GET`, `POST`, …
    pub http_method: Method,
    /// `http://` + the `Host` header + the path, as the client signed it.
    pub base_url: String,
    /// The path as requested, for the production URLs a client may have signed instead
    /// ([`oauth::production_base_urls`]).
    pub path: String,
    /// Every parameter, decoded, in arrival order (query, header, body), `oauth_signature` included.
    pub params: Vec<(String, String)>,
    /// File parts of a multipart body.
    pub files: Vec<FilePart>,
    /// Whether the body was multipart.
    pub multipart: bool,
}

impl Incoming {
    /// Reads a request; the scheme is always `http` because the simulator serves plain HTTP.
    pub fn parse(
        http_method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Incoming, BodyError> {
        let authority = headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
            .or_else(|| uri.authority().map(|authority| authority.to_string()))
            .unwrap_or_else(|| "localhost".to_owned());
        let base_url = oauth::base_url("http", &authority, uri.path());

        let mut params: Vec<(String, String)> = Vec::new();
        if let Some(query) = uri.query() {
            params.extend(form_pairs(query.as_bytes()));
        }
        for value in headers.get_all(header::AUTHORIZATION) {
            if let Some(pairs) = value.to_str().ok().and_then(oauth::parse_authorization) {
                params.extend(pairs);
            }
        }
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let mut files = Vec::new();
        let mut multipart = false;
        if mime == "application/x-www-form-urlencoded" {
            params.extend(form_pairs(body));
        } else if mime == "multipart/form-data" {
            multipart = true;
            let boundary = boundary_of(content_type).ok_or(BodyError::Multipart)?;
            for part in parse_multipart(body, &boundary)? {
                // The upload's `photo` is never signed, even when a client sends it without a
                // file name; any other part with a file name is a file too.
                if part.filename.is_some() || part.name == "photo" {
                    files.push(part);
                } else {
                    params.push((part.name, String::from_utf8_lossy(&part.data).into_owned()));
                }
            }
        }
        Ok(Incoming {
            http_method: http_method.clone(),
            base_url,
            path: uri.path().to_owned(),
            params,
            files,
            multipart,
        })
    }

    /// The first value of parameter `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Whether the request carries any OAuth protocol parameter.
    pub fn is_oauth(&self) -> bool {
        self.params
            .iter()
            .any(|(name, _)| name.starts_with("oauth_"))
    }
}

/// `application/x-www-form-urlencoded` pairs (`+` is a space, as in every form).
fn form_pairs(bytes: &[u8]) -> impl Iterator<Item = (String, String)> + '_ {
    url::form_urlencoded::parse(bytes).map(|(name, value)| (name.into_owned(), value.into_owned()))
}

/// The `boundary` parameter of a multipart `Content-Type`, unquoted.
fn boundary_of(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let value = value.trim().trim_matches('"');
        (!value.is_empty()).then(|| value.to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    (from..=haystack.len() - needle.len()).find(|&at| &haystack[at..at + needle.len()] == needle)
}

/// Splits a `multipart/form-data` body (RFC 7578) into its parts.
fn parse_multipart(body: &[u8], boundary: &str) -> Result<Vec<FilePart>, BodyError> {
    let delimiter = format!("--{boundary}").into_bytes();
    let next_delimiter = format!("\r\n--{boundary}").into_bytes();
    let mut at = find(body, &delimiter, 0).ok_or(BodyError::Multipart)? + delimiter.len();
    let mut parts = Vec::new();
    loop {
        if body[at..].starts_with(b"--") {
            return Ok(parts);
        }
        // The rest of the delimiter line (transport padding, then CRLF).
        let line_end = find(body, b"\r\n", at).ok_or(BodyError::Multipart)?;
        let headers_start = line_end + 2;
        let headers_end = find(body, b"\r\n\r\n", headers_start)
            .map(|end| end + 4)
            .or_else(|| {
                body[headers_start..]
                    .starts_with(b"\r\n")
                    .then_some(headers_start + 2)
            })
            .ok_or(BodyError::Multipart)?;
        let head = String::from_utf8_lossy(&body[headers_start..headers_end]);
        let data_end = find(body, &next_delimiter, headers_end).ok_or(BodyError::Multipart)?;
        let mut name = None;
        let mut filename = None;
        let mut content_type = None;
        for line in head.split("\r\n") {
            let Some((header_name, value)) = line.split_once(':') else {
                continue;
            };
            let header_name = header_name.trim().to_ascii_lowercase();
            if header_name == "content-disposition" {
                for item in value.split(';').skip(1) {
                    let Some((key, raw)) = item.split_once('=') else {
                        continue;
                    };
                    let raw = raw.trim();
                    let unquoted = raw
                        .strip_prefix('"')
                        .and_then(|inner| inner.strip_suffix('"'))
                        .unwrap_or(raw)
                        .replace("\\\"", "\"");
                    match key.trim().to_ascii_lowercase().as_str() {
                        "name" => name = Some(unquoted),
                        "filename" => filename = Some(unquoted),
                        _ => {}
                    }
                }
            } else if header_name == "content-type" {
                content_type = Some(value.trim().to_owned());
            }
        }
        parts.push(FilePart {
            name: name.ok_or(BodyError::Multipart)?,
            filename,
            content_type,
            data: Bytes::copy_from_slice(&body[headers_end..data_end]),
        });
        at = data_end + next_delimiter.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_text_fields_are_params_and_files_are_not() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nCaf\xc3\xa9 & Co\r\n--XyZ\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n\x00\x01\r\n--XyZ\r\nContent-Disposition: form-data; name=\"empty\"\r\n\r\n\r\n--XyZ--\r\n";
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "127.0.0.1:9".parse().unwrap());
        headers.insert(
            header::CONTENT_TYPE,
            "multipart/form-data; boundary=\"XyZ\"".parse().unwrap(),
        );
        let uri: Uri = "/services/upload/?a=1+2".parse().unwrap();
        let incoming = Incoming::parse(&Method::POST, &uri, &headers, body).unwrap();
        assert_eq!(incoming.base_url, "http://127.0.0.1:9/services/upload/");
        assert_eq!(incoming.get("a"), Some("1 2"));
        assert_eq!(incoming.get("title"), Some("Café & Co"));
        assert_eq!(incoming.get("empty"), Some(""));
        assert_eq!(incoming.get("photo"), None);
        assert_eq!(incoming.files.len(), 1);
        assert_eq!(&incoming.files[0].data[..], b"\x00\x01");
        assert_eq!(incoming.files[0].filename.as_deref(), Some("a.jpg"));
    }

    #[test]
    fn a_broken_multipart_body_is_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            "multipart/form-data; boundary=abc".parse().unwrap(),
        );
        let uri: Uri = "/services/upload/".parse().unwrap();
        let result = Incoming::parse(&Method::POST, &uri, &headers, b"--abc\r\nno end");
        assert_eq!(result.unwrap_err(), BodyError::Multipart);
    }
}
