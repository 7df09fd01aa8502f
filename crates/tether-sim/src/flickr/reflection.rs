//! Flickr's reflection data (`spec/flickr/methods.json`, a copy of the reference), embedded: each
//! method's required permission, login and signing flags, required arguments and error codes.
//! The gate enforces what it says; `flickr.reflection.*` answer with it.
//!
//! The data mixes numbers and strings (`"optional": 0` and `"0"`, `"requiredperms": "2"` and `2`),
//! so every flag is read numerically.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

use super::envelope::ApiError;
use super::state::Perms;

const METHODS_JSON: &str = include_str!("../../spec/flickr/methods.json");

/// One method as the reflection data declares it.
#[derive(Debug, Clone)]
pub struct MethodInfo {
    /// `flickr.photos.getInfo`, …
    pub name: String,
    /// `requiredperms`.
    pub perms: Perms,
    /// `needslogin`.
    pub needs_login: bool,
    /// `needssigning`.
    pub needs_signing: bool,
    /// Arguments with `optional` equal to 0, `api_key` included.
    pub required: Vec<String>,
    /// The method's own error codes (below 95) and messages.
    pub errors: Vec<(u32, String)>,
    /// The entry as stored, without `stat` (the `getMethodInfo` payload).
    pub entry: Value,
}

/// Words of an error message that name the thing an argument points at; the first error whose
/// message contains one answers a missing argument (after any error that says "missing").
const MISSING_HINTS: &[(&str, &[&str])] = &[
    (
        "photo_id",
        &["photo not found", "invalid photo id", "photo not in"],
    ),
    ("primary_photo_id", &["photo not found"]),
    ("photoset_id", &["photoset not found"]),
    (
        "user_id",
        &["user not found", "unknown user", "no user specified"],
    ),
    ("find_email", &["user not found"]),
    ("username", &["user not found"]),
    ("url", &["user not found"]),
    ("title", &["no title", "title"]),
    ("comment_text", &["blank comment"]),
    ("comment_id", &["comment not found"]),
    ("tag_id", &["tag not found"]),
    ("method_name", &["method not found"]),
    ("gallery_id", &["invalid gallery"]),
    ("min_date", &["not a valid date"]),
];

/// The code the simulator answers when an argument is missing and the method defines no error
/// for it (Flickr documents none; see `docs/decisions/0002-flickr-simulator-choices.md`).
pub const MISSING_ARGUMENT_FALLBACK: u32 = 1000;

impl MethodInfo {
    /// The error for a missing required argument: the method's own "missing" error if it has one,
    /// else its error about the thing the argument names, else [`MISSING_ARGUMENT_FALLBACK`].
    pub fn missing_argument(&self, argument: &str) -> ApiError {
        if argument == "oauth_token" {
            return ApiError::new(98, "Invalid auth token");
        }
        let own = |needles: &[&str]| {
            self.errors.iter().find(|(_, message)| {
                let message = message.to_ascii_lowercase();
                needles.iter().any(|needle| message.contains(needle))
            })
        };
        let found = own(&["missing"]).or_else(|| {
            MISSING_HINTS
                .iter()
                .find(|(name, _)| *name == argument)
                .and_then(|(_, needles)| own(needles))
        });
        match found {
            Some((code, message)) => ApiError::new(*code, message.clone()),
            None => ApiError::new(
                MISSING_ARGUMENT_FALLBACK,
                format!("Required argument \"{argument}\" missing"),
            ),
        }
    }
}

/// Every method of the reflection data.
#[derive(Debug)]
pub struct Reflection {
    /// Method names in the order `getMethods` lists them.
    pub names: Vec<String>,
    /// The `getMethods` payload as stored.
    pub get_methods: Value,
    methods: HashMap<String, MethodInfo>,
}

impl Reflection {
    /// One method.
    pub fn method(&self, name: &str) -> Option<&MethodInfo> {
        self.methods.get(name)
    }
}

/// A number given as a number or a string.
fn lenient_number(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn parse(text: &str) -> Reflection {
    // A unit test parses the embedded file, so this holds for every build that passed it.
    let root: Value = serde_json::from_str(text).expect("the embedded methods.json is JSON");
    let get_methods = root["getMethods"].clone();
    let names: Vec<String> = get_methods["methods"]["method"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item["_content"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut methods = HashMap::new();
    if let Some(infos) = root["getMethodInfo"].as_object() {
        for (name, info) in infos {
            let method = &info["method"];
            let perms = match lenient_number(&method["requiredperms"]).unwrap_or(0) {
                0 => Perms::None,
                1 => Perms::Read,
                2 => Perms::Write,
                _ => Perms::Delete,
            };
            let required = info["arguments"]["argument"]
                .as_array()
                .map(|arguments| {
                    arguments
                        .iter()
                        .filter(|argument| lenient_number(&argument["optional"]) == Some(0))
                        .filter_map(|argument| argument["name"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let errors = info["errors"]["error"]
                .as_array()
                .map(|errors| {
                    errors
                        .iter()
                        .filter_map(|error| {
                            let code = u32::try_from(lenient_number(&error["code"])?).ok()?;
                            let message = error["message"].as_str()?.to_owned();
                            (code < 95).then_some((code, message))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let mut entry = info.clone();
            if let Some(object) = entry.as_object_mut() {
                object.remove("stat");
            }
            methods.insert(
                name.clone(),
                MethodInfo {
                    name: name.clone(),
                    perms,
                    needs_login: lenient_number(&method["needslogin"]) == Some(1),
                    needs_signing: lenient_number(&method["needssigning"]) == Some(1),
                    required,
                    errors,
                    entry,
                },
            );
        }
    }
    Reflection {
        names,
        get_methods,
        methods,
    }
}

/// The embedded reflection data, parsed once.
pub fn reflection() -> &'static Reflection {
    static REFLECTION: OnceLock<Reflection> = OnceLock::new();
    REFLECTION.get_or_init(|| parse(METHODS_JSON))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_copy_is_the_recorded_one() {
        use sha2::Digest as _;

        // The digest `spec/flickr/SOURCE.md` records for the file as assembled from its source.
        assert_eq!(
            format!("{:x}", sha2::Sha256::digest(METHODS_JSON.as_bytes())),
            "4c3d67050b8587219f297798185b666ac41792610b1059ed42795ea43e0a3ba1",
            "spec/flickr/methods.json drifted from the copy SOURCE.md describes"
        );
    }

    #[test]
    fn the_flags_are_read_numerically() {
        let reflection = reflection();
        assert_eq!(reflection.names.len(), 222);
        let set_meta = reflection.method("flickr.photos.setMeta").unwrap();
        assert_eq!(set_meta.perms, Perms::Write);
        assert!(set_meta.needs_signing);
        assert_eq!(set_meta.required, vec!["api_key", "photo_id"]);
        assert_eq!(
            reflection.method("flickr.photos.delete").unwrap().perms,
            Perms::Delete
        );
        let echo = reflection.method("flickr.test.echo").unwrap();
        assert_eq!((echo.perms, echo.needs_login), (Perms::None, false));
        let check = reflection.method("flickr.auth.oauth.checkToken").unwrap();
        assert!(check.needs_signing && check.perms == Perms::None);
    }

    #[test]
    fn a_missing_argument_gets_the_methods_own_error() {
        let reflection = reflection();
        let error = |method: &str, argument: &str| {
            reflection
                .method(method)
                .unwrap()
                .missing_argument(argument)
        };
        assert_eq!(error("flickr.people.getPhotos", "user_id").code, 1);
        assert_eq!(
            error("flickr.people.getPhotos", "user_id").message,
            "Required arguments missing"
        );
        assert_eq!(
            error("flickr.photos.getInfo", "photo_id").message,
            "Photo not found."
        );
        assert_eq!(
            error("flickr.photosets.create", "title").message,
            "No title specified"
        );
        assert_eq!(error("flickr.photosets.getInfo", "user_id").code, 2);
        assert_eq!(
            error("flickr.photos.setTags", "tags").code,
            MISSING_ARGUMENT_FALLBACK
        );
        assert_eq!(
            error("flickr.auth.oauth.checkToken", "oauth_token").code,
            98
        );
    }
}
