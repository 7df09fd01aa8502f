//! Flickr's answer shapes: a payload is built once as an XML-like tree ([`Node`]) and written as
//! REST XML (`<rsp stat="ok">…</rsp>`), JSON or JSONP following Flickr's mapping rules (reference
//! README §3): attributes become members, element text becomes `_content`, list elements become
//! arrays (even with zero or one item), the payload sits next to `stat`.
//!
//! Attribute values are strings or numbers ([`Scalar`]), because real JSON answers mix them even
//! within one object (`"page": 1` but `"total": "1270"`); XML writes both as text.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Map, Value};

/// An attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// Written as a JSON string.
    Str(String),
    /// Written as a JSON number.
    Num(i64),
}

/// A child of an element.
#[derive(Debug, Clone, PartialEq)]
pub enum Child {
    /// One element, a JSON object under its name.
    One(Node),
    /// A repeated element, a JSON array under `name` even when empty.
    Many(String, Vec<Node>),
}

/// An element: attributes, optional text, children.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Node {
    /// The element name.
    pub name: String,
    /// Attributes in order.
    pub attrs: Vec<(String, Scalar)>,
    /// Element text (`_content` in JSON, a number when Flickr writes one).
    pub text: Option<Scalar>,
    /// Child elements in order.
    pub children: Vec<Child>,
}

impl Node {
    /// An empty element.
    pub fn new(name: &str) -> Node {
        Node {
            name: name.to_owned(),
            ..Node::default()
        }
    }

    /// An element with only text: `{"_content": text}` in JSON.
    pub fn text_only(name: &str, text: impl Into<String>) -> Node {
        Node::new(name).text(text)
    }

    /// Adds a string attribute.
    pub fn attr(mut self, name: &str, value: impl Into<String>) -> Node {
        self.attrs
            .push((name.to_owned(), Scalar::Str(value.into())));
        self
    }

    /// Adds a numeric attribute.
    pub fn num(mut self, name: &str, value: i64) -> Node {
        self.attrs.push((name.to_owned(), Scalar::Num(value)));
        self
    }

    /// Adds a 0/1 numeric attribute.
    pub fn flag(self, name: &str, value: bool) -> Node {
        self.num(name, i64::from(value))
    }

    /// Sets the element text.
    pub fn text(mut self, text: impl Into<String>) -> Node {
        self.text = Some(Scalar::Str(text.into()));
        self
    }

    /// Sets numeric element text (`{"_content": 12}` in JSON).
    pub fn num_text(mut self, number: i64) -> Node {
        self.text = Some(Scalar::Num(number));
        self
    }

    /// Adds one child element.
    pub fn child(mut self, child: Node) -> Node {
        self.children.push(Child::One(child));
        self
    }

    /// Adds a child holding only text.
    pub fn text_child(self, name: &str, text: impl Into<String>) -> Node {
        self.child(Node::text_only(name, text))
    }

    /// Adds a repeated child (`name` is each item's element name).
    pub fn list(mut self, name: &str, items: Vec<Node>) -> Node {
        self.children.push(Child::Many(name.to_owned(), items));
        self
    }

    /// The JSON object of this element.
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        for (name, value) in &self.attrs {
            object.insert(name.clone(), scalar_json(value));
        }
        if let Some(text) = &self.text {
            object.insert("_content".into(), scalar_json(text));
        }
        children_json(&self.children, &mut object);
        Value::Object(object)
    }

    fn write_xml(&self, out: &mut String, depth: usize) {
        let indent = "\t".repeat(depth);
        out.push_str(&indent);
        out.push('<');
        out.push_str(&self.name);
        for (name, value) in &self.attrs {
            let text = match value {
                Scalar::Str(text) => xml_escape(text),
                Scalar::Num(number) => number.to_string(),
            };
            out.push_str(&format!(" {name}=\"{text}\""));
        }
        if self.text.is_none() && self.children.is_empty() {
            out.push_str(" />\n");
            return;
        }
        out.push('>');
        match &self.text {
            Some(Scalar::Str(text)) => out.push_str(&xml_escape(text)),
            Some(Scalar::Num(number)) => out.push_str(&number.to_string()),
            None => {}
        }
        if !self.children.is_empty() {
            out.push('\n');
            write_children_xml(&self.children, out, depth + 1);
            out.push_str(&indent);
        }
        out.push_str(&format!("</{}>\n", self.name));
    }

    /// Builds an element from JSON written by Flickr's mapping rules (the reverse of
    /// [`Node::to_json`]): scalars are attributes, `_content` is text, objects are children and
    /// arrays are repeated children.
    pub fn from_json(name: &str, value: &Value) -> Node {
        let mut node = Node::new(name);
        match value {
            Value::Object(object) => {
                for (key, member) in object {
                    match member {
                        Value::Object(_) => node = node.child(Node::from_json(key, member)),
                        Value::Array(items) => {
                            let items = items
                                .iter()
                                .map(|item| Node::from_json(key, item))
                                .collect();
                            node = node.list(key, items);
                        }
                        Value::Number(number) if key == "_content" && number.is_i64() => {
                            node = node.num_text(number.as_i64().unwrap_or_default());
                        }
                        scalar if key == "_content" => node = node.text(scalar_text(scalar)),
                        Value::Number(number) if number.is_i64() => {
                            node = node.num(key, number.as_i64().unwrap_or_default());
                        }
                        scalar => node = node.attr(key, scalar_text(scalar)),
                    }
                }
            }
            scalar => node = node.text(scalar_text(scalar)),
        }
        node
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn scalar_json(value: &Scalar) -> Value {
    match value {
        Scalar::Str(text) => Value::String(text.clone()),
        Scalar::Num(number) => Value::from(*number),
    }
}

fn children_json(children: &[Child], object: &mut Map<String, Value>) {
    for child in children {
        match child {
            Child::One(node) => {
                object.insert(node.name.clone(), node.to_json());
            }
            Child::Many(name, items) => {
                object.insert(
                    name.clone(),
                    Value::Array(items.iter().map(Node::to_json).collect()),
                );
            }
        }
    }
}

fn write_children_xml(children: &[Child], out: &mut String, depth: usize) {
    for child in children {
        match child {
            Child::One(node) => node.write_xml(out, depth),
            Child::Many(_, items) => {
                for item in items {
                    item.write_xml(out, depth);
                }
            }
        }
    }
}

/// Escapes text for XML content and attribute values.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// How the client asked to be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// REST XML (`format` absent or `rest`).
    Xml,
    /// JSON (`format=json&nojsoncallback=1`).
    Json,
    /// JSONP (`format=json` without `nojsoncallback=1`), wrapped in this function name.
    Jsonp(String),
}

impl Format {
    /// The format of a REST request, or the unknown `format` value (error 111).
    pub fn of(
        format: Option<&str>,
        nojsoncallback: Option<&str>,
        callback: Option<&str>,
    ) -> Result<Format, String> {
        match format {
            None | Some("rest") => Ok(Format::Xml),
            Some("json") if nojsoncallback == Some("1") => Ok(Format::Json),
            Some("json") => {
                // Only a plain identifier is used as the callback, so a caller cannot inject script.
                let name = callback
                    .filter(|name| {
                        !name.is_empty()
                            && name.len() <= 64
                            && name.chars().all(|c| {
                                c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '.'
                            })
                    })
                    .unwrap_or("jsonFlickrApi");
                Ok(Format::Jsonp(name.to_owned()))
            }
            Some(other) => Err(other.to_owned()),
        }
    }
}

/// A REST answer, before it is written in a format.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// `stat=ok` with these payload elements.
    Ok(Vec<Child>),
    /// `stat=fail` with a code and message.
    Fail(ApiError),
}

/// A Flickr API error: code and message, answered with HTTP 200.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("flickr error {code}: {message}")]
pub struct ApiError {
    /// Flickr's error code.
    pub code: u32,
    /// Its message.
    pub message: String,
}

impl ApiError {
    /// An error with this code and message.
    pub fn new(code: u32, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
        }
    }

    /// How a client should treat it, by Flickr's code meanings (README §8, §10).
    pub fn kind(&self) -> tether_core::ErrorKind {
        match self.code {
            105 | 106 => tether_core::ErrorKind::Transient,
            96..=100 => tether_core::ErrorKind::Auth,
            _ => tether_core::ErrorKind::Permanent,
        }
    }
}

impl Answer {
    /// The JSON value (`stat` last for successes, as Flickr writes it).
    pub fn to_json(&self) -> Value {
        match self {
            Answer::Ok(children) => {
                let mut object = Map::new();
                children_json(children, &mut object);
                object.insert("stat".into(), Value::String("ok".into()));
                Value::Object(object)
            }
            Answer::Fail(error) => serde_json::json!({
                "stat": "fail",
                "code": error.code,
                "message": error.message,
            }),
        }
    }

    /// The REST XML document.
    pub fn to_xml(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n");
        match self {
            Answer::Ok(children) => {
                out.push_str("<rsp stat=\"ok\">\n");
                write_children_xml(children, &mut out, 1);
                out.push_str("</rsp>\n");
            }
            Answer::Fail(error) => {
                out.push_str(&format!(
                    "<rsp stat=\"fail\">\n\t<err code=\"{}\" msg=\"{}\" />\n</rsp>\n",
                    error.code,
                    xml_escape(&error.message)
                ));
            }
        }
        out
    }

    /// The HTTP answer in `format` (always status 200: Flickr reports API errors in the body).
    pub fn render(&self, format: &Format) -> Response {
        let (content_type, body) = match format {
            Format::Xml => ("text/xml; charset=utf-8", self.to_xml()),
            Format::Json => ("application/json", self.to_json().to_string()),
            Format::Jsonp(callback) => (
                "text/javascript; charset=utf-8",
                format!("{callback}({})", self.to_json()),
            ),
        };
        let mut response = (StatusCode::OK, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Answer {
        Answer::Ok(vec![Child::One(
            Node::new("photos").num("page", 1).attr("total", "1").list(
                "photo",
                vec![Node::new("photo").attr("id", "5").attr("title", "a<b")],
            ),
        )])
    }

    #[test]
    fn json_follows_flickrs_mapping() {
        assert_eq!(
            sample().to_json(),
            json!({"photos": {"page": 1, "total": "1", "photo": [{"id": "5", "title": "a<b"}]}, "stat": "ok"})
        );
        let empty = Answer::Ok(vec![Child::One(Node::new("photos").list("photo", vec![]))]);
        assert_eq!(empty.to_json()["photos"]["photo"], json!([]));
        let text = Answer::Ok(vec![Child::One(Node::text_only("title", "Foo"))]);
        assert_eq!(text.to_json()["title"], json!({"_content": "Foo"}));
    }

    #[test]
    fn xml_escapes_and_nests() {
        let xml = sample().to_xml();
        assert!(xml.contains("<rsp stat=\"ok\">"), "{xml}");
        assert!(
            xml.contains(
                "<photos page=\"1\" total=\"1\">\n\t\t<photo id=\"5\" title=\"a&lt;b\" />"
            ),
            "{xml}"
        );
        let fail = Answer::Fail(ApiError::new(112, "Method \"x\" not found")).to_xml();
        assert!(
            fail.contains("<err code=\"112\" msg=\"Method &quot;x&quot; not found\" />"),
            "{fail}"
        );
    }

    #[test]
    fn json_converts_back_into_the_same_tree() {
        let value = json!({"method": {"name": "m", "needslogin": 1, "description": {"_content": "d"}}, "arguments": {"argument": [{"name": "a", "_content": "x"}]}});
        let node = Node::from_json("rsp", &value);
        assert_eq!(node.to_json(), value);
    }

    #[test]
    fn jsonp_needs_a_plain_callback_name() {
        assert_eq!(
            Format::of(Some("json"), None, None),
            Ok(Format::Jsonp("jsonFlickrApi".into()))
        );
        assert_eq!(
            Format::of(Some("json"), None, Some("cb_1")),
            Ok(Format::Jsonp("cb_1".into()))
        );
        assert_eq!(
            Format::of(Some("json"), None, Some("alert(1)")),
            Ok(Format::Jsonp("jsonFlickrApi".into()))
        );
        assert_eq!(Format::of(Some("json"), Some("1"), None), Ok(Format::Json));
        assert_eq!(Format::of(None, None, None), Ok(Format::Xml));
        assert_eq!(Format::of(Some("soap"), None, None), Err("soap".into()));
    }
}
