//! Upload and replace: `multipart/form-data` POSTs to `up.flickr.com`, answered in XML
//! (reference README §7).
//!
//! Every text field is signed with the OAuth parameters; the `photo` part is a file part (it has
//! a `filename`), which the signer never reads, so the binary is never signed, exactly as Flickr
//! requires. The answers are `<rsp stat="ok"><photoid>…</photoid></rsp>` (or a `<ticketid>` with
//! `async=1`), or `<rsp stat="fail"><err code="…" msg="…"/></rsp>`; a few lines read them
//! rather than an XML crate, since nothing else is ever in them.

use bytes::{BufMut, Bytes, BytesMut};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::models::{Replaced, Uploaded};
use super::{Error, FlickrClient, Params, PhotoId, Verb, require, tag_text};

/// A file to send.
#[derive(Debug, Clone)]
pub struct UploadFile {
    /// The bytes.
    pub bytes: Bytes,
    /// Its name (Flickr keeps it as the default title).
    pub filename: String,
    /// Its media type, when known (`image/jpeg`).
    pub content_type: Option<String>,
}

/// The optional fields of an upload.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct UploadOptions {
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Description (limited HTML).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Tags (written space-separated, multi-word ones quoted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Public.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_public: Option<bool>,
    /// Visible to friends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_friend: Option<bool>,
    /// Visible to family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_family: Option<bool>,
    /// 1 safe, 2 moderate, 3 restricted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_level: Option<u8>,
    /// 1 photo, 2 screenshot, 3 other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<u8>,
    /// 1 shown in global search, 2 hidden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<u8>,
    /// Answer at once with a ticket instead of waiting for the photo.
    #[serde(default, rename = "async", skip_serializing_if = "Option::is_none")]
    pub asynchronous: Option<bool>,
}

/// The upload methods of a [`FlickrClient`].
#[derive(Debug, Clone, Copy)]
pub struct Upload<'a> {
    pub(crate) client: &'a FlickrClient,
}

impl Upload<'_> {
    /// Uploads a photo (write). Not repeated after it may have arrived: a repeat would create a
    /// second photo.
    pub async fn upload(
        &self,
        file: &UploadFile,
        options: &UploadOptions,
    ) -> Result<Uploaded, Error> {
        check_file(file)?;
        let mut fields = options.clone();
        let tags = fields.tags.take();
        let mut params = Params::from_struct(&fields)?;
        if let Some(tags) = tags {
            params = params.add("tags", tag_text(&tags)?);
        }
        let (content_type, body) = multipart(params.pairs(), file);
        let url = self.client.endpoints().upload.as_str().to_owned();
        let answer = self
            .client
            .retrying("upload", Verb::Write { idempotent: false }, || async {
                let request = tether_http::ApiRequest::post(url.clone())
                    .body(&content_type, body.clone())?
                    .idempotent(false);
                let answer = self.client.http().send(request).await?;
                read_answer("upload", &answer.body)
            })
            .await?;
        Ok(Uploaded {
            photo_id: answer.photo_id.map(PhotoId::new),
            ticket_id: answer.ticket_id,
        })
    }

    /// Replaces a photo's image (write), keeping its id, title, tags and comments. Safe to
    /// repeat: the same bytes replace the image again.
    pub async fn replace(
        &self,
        photo_id: &PhotoId,
        file: &UploadFile,
        asynchronous: bool,
    ) -> Result<Replaced, Error> {
        require("photo_id", photo_id.as_str())?;
        check_file(file)?;
        let params = Params::new()
            .add("photo_id", photo_id)
            .opt("async", asynchronous.then_some("1"));
        let (content_type, body) = multipart(params.pairs(), file);
        let url = self.client.endpoints().replace.as_str().to_owned();
        let answer = self
            .client
            .retrying("replace", Verb::Write { idempotent: true }, || async {
                let request = tether_http::ApiRequest::post(url.clone())
                    .body(&content_type, body.clone())?
                    .idempotent(true);
                let answer = self.client.http().send(request).await?;
                read_answer("replace", &answer.body)
            })
            .await?;
        Ok(Replaced {
            photo_id: answer.photo_id.map(PhotoId::new),
            secret: answer.secret,
            original_secret: answer.original_secret,
            ticket_id: answer.ticket_id,
        })
    }
}

fn check_file(file: &UploadFile) -> Result<(), Error> {
    if file.bytes.is_empty() {
        return Err(Error::input("photo", "the file is empty"));
    }
    require("filename", &file.filename)
}

/// A `multipart/form-data` body: the text fields, then the file as `photo`. Answers the
/// `Content-Type` (with its boundary) and the body.
pub fn multipart(fields: &[(String, String)], file: &UploadFile) -> (String, Bytes) {
    loop {
        let boundary = format!("tether-{}", fastrand_alnum(24));
        let delimiter = format!("--{boundary}");
        // The boundary must not occur inside any part; 24 random characters practically never
        // do, but checking is cheap.
        let clash = fields
            .iter()
            .any(|(name, value)| name.contains(&delimiter) || value.contains(&delimiter))
            || file
                .bytes
                .windows(delimiter.len())
                .any(|window| window == delimiter.as_bytes());
        if clash {
            continue;
        }
        let mut body = BytesMut::with_capacity(file.bytes.len() + 256 * (fields.len() + 1));
        for (name, value) in fields {
            body.put_slice(
                format!(
                    "{delimiter}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n",
                    header_text(name)
                )
                .as_bytes(),
            );
            body.put_slice(value.as_bytes());
            body.put_slice(b"\r\n");
        }
        body.put_slice(
            format!(
                "{delimiter}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
                header_text(&file.filename),
                file.content_type.as_deref().map_or("application/octet-stream", media_type_or_default)
            )
            .as_bytes(),
        );
        body.put_slice(&file.bytes);
        body.put_slice(format!("\r\n{delimiter}--\r\n").as_bytes());
        return (
            format!("multipart/form-data; boundary={boundary}"),
            body.freeze(),
        );
    }
}

/// Text fit for a quoted header parameter: quotes escaped as `%22`, line breaks dropped (the
/// way browsers write file names).
fn header_text(text: &str) -> String {
    text.replace('"', "%22").replace(['\r', '\n'], "")
}

/// A media type fit for a part header, or `application/octet-stream` when it is not.
fn media_type_or_default(text: &str) -> &str {
    if text.contains(['\r', '\n', '"']) {
        "application/octet-stream"
    } else {
        text
    }
}

fn fastrand_alnum(length: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..length)
        .map(|_| char::from(ALPHABET[fastrand::usize(..ALPHABET.len())]))
        .collect()
}

/// What an upload or replace answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct XmlAnswer {
    photo_id: Option<String>,
    secret: Option<String>,
    original_secret: Option<String>,
    ticket_id: Option<String>,
}

/// Reads `<rsp stat="…">` answers of upload and replace.
fn read_answer(method: &str, body: &[u8]) -> Result<XmlAnswer, Error> {
    let text = String::from_utf8_lossy(body);
    let not_xml = || Error::NotJson {
        method: method.to_owned(),
        body: tether_http::redact::body(body),
    };
    let rsp = element(&text, "rsp").ok_or_else(not_xml)?;
    match attribute(rsp.attributes, "stat").as_deref() {
        Some("ok") => {}
        Some("fail") => {
            let err = element(rsp.content, "err");
            let code = err
                .as_ref()
                .and_then(|err| attribute(err.attributes, "code"))
                .and_then(|code| code.trim().parse().ok())
                .unwrap_or(0);
            let message = err
                .as_ref()
                .and_then(|err| attribute(err.attributes, "msg"))
                .unwrap_or_default();
            return Err(Error::Api {
                method: method.to_owned(),
                code,
                message,
            });
        }
        _ => return Err(not_xml()),
    }
    let photo = element(rsp.content, "photoid");
    let ticket = element(rsp.content, "ticketid");
    if photo.is_none() && ticket.is_none() {
        return Err(Error::Protocol {
            message: format!("{method} answered neither a photoid nor a ticketid"),
        });
    }
    Ok(XmlAnswer {
        photo_id: photo.as_ref().map(|photo| unescape(photo.content.trim())),
        secret: photo
            .as_ref()
            .and_then(|photo| attribute(photo.attributes, "secret")),
        original_secret: photo
            .as_ref()
            .and_then(|photo| attribute(photo.attributes, "originalsecret")),
        ticket_id: ticket.map(|ticket| unescape(ticket.content.trim())),
    })
}

/// One element: its attribute text and its content (empty for `<x/>`).
struct Element<'a> {
    attributes: &'a str,
    content: &'a str,
}

/// The first `<name …>…</name>` or `<name …/>` in `text`.
fn element<'a>(text: &'a str, name: &str) -> Option<Element<'a>> {
    let open = format!("<{name}");
    let mut from = 0;
    let start = loop {
        let at = from + text[from..].find(&open)?;
        let next = text[at + open.len()..].chars().next()?;
        if next.is_whitespace() || next == '>' || next == '/' {
            break at + open.len();
        }
        from = at + open.len();
    };
    let tag_end = start + text[start..].find('>')?;
    let head = &text[start..tag_end];
    if let Some(attributes) = head.strip_suffix('/') {
        return Some(Element {
            attributes,
            content: "",
        });
    }
    let close = format!("</{name}>");
    let content_end = tag_end + 1 + text[tag_end + 1..].find(&close)?;
    Some(Element {
        attributes: head,
        content: &text[tag_end + 1..content_end],
    })
}

/// An attribute's value, unescaped, from an element's attribute text.
fn attribute(attributes: &str, name: &str) -> Option<String> {
    let mut rest = attributes;
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq].trim();
        let after = rest[eq + 1..].trim_start();
        let quote = after.chars().next()?;
        if quote != '"' && quote != '\'' {
            return None;
        }
        let end = after[1..].find(quote)?;
        let value = &after[1..1 + end];
        if key.rsplit(char::is_whitespace).next() == Some(name) {
            return Some(unescape(value));
        }
        rest = &after[end + 2..];
    }
    None
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::oauth1::multipart_text_fields;

    #[test]
    fn answers_are_read() {
        let check = |body: &str, expected: XmlAnswer| {
            assert_eq!(
                read_answer("upload", body.as_bytes()).unwrap(),
                expected,
                "{body}"
            );
        };
        check(
            "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<rsp stat=\"ok\">\n<photoid>35467821184</photoid>\n</rsp>",
            XmlAnswer {
                photo_id: Some("35467821184".into()),
                ..XmlAnswer::default()
            },
        );
        check(
            "<rsp stat=\"ok\"><photoid secret=\"abc\" originalsecret=\"def\">1234</photoid></rsp>",
            XmlAnswer {
                photo_id: Some("1234".into()),
                secret: Some("abc".into()),
                original_secret: Some("def".into()),
                ticket_id: None,
            },
        );
        check(
            "<rsp stat='ok'><ticketid>7-1</ticketid></rsp>",
            XmlAnswer {
                ticket_id: Some("7-1".into()),
                ..XmlAnswer::default()
            },
        );
        let failed = read_answer(
            "upload",
            b"<rsp stat=\"fail\"><err code=\"5\" msg=\"Filetype was not recognised &amp; so on\" /></rsp>",
        );
        let Err(Error::Api { code, message, .. }) = failed else {
            panic!("{failed:?}");
        };
        assert_eq!(
            (code, message.as_str()),
            (5, "Filetype was not recognised & so on")
        );
        assert!(matches!(
            read_answer("upload", b"<html>502</html>"),
            Err(Error::NotJson { .. })
        ));
        assert!(matches!(
            read_answer("upload", b"<rsp stat=\"ok\"></rsp>"),
            Err(Error::Protocol { .. })
        ));
    }

    #[test]
    fn multipart_bodies_carry_text_fields_then_the_file() {
        let file = UploadFile {
            bytes: Bytes::from_static(b"\xff\xd8\xff\xe0binary\r\n--not-a-boundary"),
            filename: "ca\"fé.jpg".into(),
            content_type: Some("image/jpeg".into()),
        };
        let fields = vec![
            ("title".to_owned(), "Café & Co. ~ 100%".to_owned()),
            ("description".to_owned(), "Line1\nLine2".to_owned()),
        ];
        let (content_type, body) = multipart(&fields, &file);
        assert!(content_type.starts_with("multipart/form-data; boundary=tether-"));
        // The signer reads back exactly the text fields, never the photo.
        assert_eq!(multipart_text_fields(&content_type, &body).unwrap(), fields);
        let text = String::from_utf8_lossy(&body);
        assert!(
            text.contains("name=\"photo\"; filename=\"ca%22fé.jpg\""),
            "{text}"
        );
        assert!(
            body.windows(file.bytes.len())
                .any(|window| window == file.bytes.as_ref())
        );
    }
}
