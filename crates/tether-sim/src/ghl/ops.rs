//! The table of every simulated operation: method, path, `Version` header and scope, as the
//! official specs declare them. The middleware reads it to check each request before a handler
//! runs, and the conformance tests read it to know which schema an answer must match.

use axum::http::Method;

/// Which spec file an operation comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecFile {
    /// `contacts.openapi.json`.
    Contacts,
    /// `calendars.openapi.json`.
    Calendars,
    /// `oauth.openapi.json`.
    OAuth,
    /// `apps/marketplace.json` (not copied; only the uninstall operation, described in the reference README).
    Marketplace,
    /// `contacts-v3.openapi.json`: the schemas of a Contacts request sent with `Version: v3`.
    ContactsV3,
    /// `oauth-v3.openapi.json`: the schemas of an OAuth request sent with `Version: v3`.
    OAuthV3,
}

impl SpecFile {
    /// The v3 spec of the same service, when HighLevel publishes one.
    pub fn v3(self) -> Option<SpecFile> {
        match self {
            SpecFile::Contacts | SpecFile::ContactsV3 => Some(SpecFile::ContactsV3),
            SpecFile::OAuth | SpecFile::OAuthV3 => Some(SpecFile::OAuthV3),
            SpecFile::Calendars | SpecFile::Marketplace => None,
        }
    }
}

/// Which generation of the API a request speaks, told by its `Version` header.
///
/// `2021-04-15`, `2021-07-28` and `2023-02-21` all select the v2 specs (the official Node SDK sends
/// `2023-02-21` on every call, and no spec describes a different shape for it); `v3` selects the v3
/// specs, on the paths they serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Dialect {
    /// The v2 specs (`contacts.openapi.json`, ...).
    #[default]
    V2,
    /// The v3 specs (`contacts-v3.openapi.json`, `oauth-v3.openapi.json`).
    V3,
}

impl Dialect {
    /// The spec file that describes `op` in this dialect.
    pub fn file(self, op: &OpSpec) -> SpecFile {
        match self {
            Dialect::V2 => op.spec,
            Dialect::V3 => op.spec.v3().unwrap_or(op.spec),
        }
    }
}

/// Which kind of bearer token an operation accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRule {
    /// No `Authorization` header (the token endpoint).
    None,
    /// `bearer` / `Location-Access`: a location OAuth token or a location PIT.
    Location,
    /// `Agency-Access-Only`: an agency (company) OAuth token.
    AgencyOnly,
    /// A location or an agency token (developer uninstall).
    LocationOrAgency,
}

/// One operation of the simulated API.
#[derive(Debug, Clone)]
pub struct OpSpec {
    /// The spec's `operationId`.
    pub operation_id: &'static str,
    /// HTTP method.
    pub method: Method,
    /// Path in axum's syntax, which is also OpenAPI's (`/contacts/{contactId}`).
    pub path: &'static str,
    /// The only `Version` header value the spec enumerates; `None` when the spec declares none.
    pub version: Option<&'static str>,
    /// The scope required, when any.
    pub scope: Option<&'static str>,
    /// The token kind accepted.
    pub token: TokenRule,
    /// Where the operation is specified.
    pub spec: SpecFile,
}

const CONTACTS_VERSION: Option<&str> = Some("2021-07-28");
const CALENDARS_VERSION: Option<&str> = Some("2021-04-15");
const R: Option<&str> = Some("contacts.readonly");
const W: Option<&str> = Some("contacts.write");

macro_rules! op {
    ($id:literal, $method:ident, $path:literal, $version:expr, $scope:expr, $token:ident, $spec:ident) => {
        OpSpec {
            operation_id: $id,
            method: Method::$method,
            path: $path,
            version: $version,
            scope: $scope,
            token: TokenRule::$token,
            spec: SpecFile::$spec,
        }
    };
}

/// Every operation the GHL simulator serves.
///
/// The two bulk operations declare no security in the spec (reference README §13.3); the simulator
/// requires a location token with `contacts.write` for them, because they write contacts and the
/// real service does not serve anonymous writes.
pub static OPS: &[OpSpec] = &[
    // Contacts v2 (contacts.openapi.json): all 32 operations.
    op!(
        "search-contacts-advanced",
        POST,
        "/contacts/search",
        CONTACTS_VERSION,
        R,
        Location,
        Contacts
    ),
    op!(
        "get-duplicate-contact",
        GET,
        "/contacts/search/duplicate",
        CONTACTS_VERSION,
        R,
        Location,
        Contacts
    ),
    op!(
        "get-all-tasks",
        GET,
        "/contacts/{contactId}/tasks",
        CONTACTS_VERSION,
        R,
        Location,
        Contacts
    ),
    op!(
        "create-task",
        POST,
        "/contacts/{contactId}/tasks",
        CONTACTS_VERSION,
        W,
        Location,
        Contacts
    ),
    op!(
        "get-task",
        GET,
        "/contacts/{contactId}/tasks/{taskId}",
        CONTACTS_VERSION,
        R,
        Location,
        Contacts
    ),
    op!(
        "update-task",
        PUT,
        "/contacts/{contactId}/tasks/{taskId}",
        CONTACTS_VERSION,
        W,
        Location,
        Contacts
    ),
    op!(
        "delete-task",
        DELETE,
        "/contacts/{contactId}/tasks/{taskId}",
        CONTACTS_VERSION,
        W,
        Location,
        Contacts
    ),
    op!(
        "update-task-completed",
        PUT,
        "/contacts/{contactId}/tasks/{taskId}/completed",
        CONTACTS_VERSION,
        W,
        Location,
        Contacts
    ),
    op!(
        "get-appointments-for-contact",
        GET,
        "/contacts/{contactId}/appointments",
        CONTACTS_VERSION,
        R,
        Location,
        Contacts
    ),
    op!(
        "add-tags",
        POST,
        "/contacts/{contactId}/tags",
        CONTACTS_VERSION,
        W,
        Location,
        Contacts
    ),
    op!(
        "remove-tags",
        DELETE,
        "/contacts/{contactId}/tags",
        CONTACTS_VERSION,
        W,
        Location,
        Contacts
    ),
    op!(
        "get-all-notes",
        GET,
        "/contacts/{contactId}/notes",
        CONTACTS_VERSION,
        R,
        Location,
        Contacts
    ),
    op!(
        "create-note",
        POST,
        "/contacts/{contactId}/notes",
        CONTACTS_VERSION,
        W,
        Location,
        Contacts
    ),
    op!(
        "get-note",
        GET,
        "/contacts/{contactId}/notes/{id}",
        CONTACTS_VERSION,
        R,
        Location,
        Contacts
    ),
    op!(
        "update-note",
        PUT,
        "/contacts/{contactId}/notes/{id}",
        CONTACTS_VERSION,
        W,
        Location,
        Contacts
    ),
    op!(
        "delete-note",
        DELETE,
        "/contacts/{contactId}/notes/{id}",
        CONTACTS_VERSION,
        W,
        Location,
        Contacts
    ),
    op!(
        "create-association",
        POST,
        "/contacts/bulk/tags/update/{type}",
        CONTACTS_VERSION,
        W,
        Location,
        Contacts
    ),
    op!(
        "add-remove-contact-from-business",
        POST,
        "/contacts/bulk/business",
        CONTACTS_VERSION,
        W,
        Location,
        Contacts
    ),
    op!(
        "get-contact",
        GET,
        "/contacts/{contactId}",
        CONTACTS_VERSION,
        R,
        Location,
        Contacts
    ),
    op!(
        "update-contact",
        PUT,
        "/contacts/{contactId}",
        CONTACTS_VERSION,
        W,
        Location,
        Contacts
    ),
    op!(
        "delete-contact",
        DELETE,
        "/contacts/{contactId}",
        CONTACTS_VERSION,
        W,
        Location,
        Contacts
    ),
    op!(
        "upsert-contact",
        POST,
        "/contacts/upsert",
        CONTACTS_VERSION,
        W,
        Location,
        Contacts
    ),
    op!(
        "get-contacts-by-businessId",
        GET,
        "/contacts/business/{businessId}",
        CONTACTS_VERSION,
        R,
        Location,
        Contacts
    ),
    op!(
        "add-followers-contact",
        POST,
        "/contacts/{contactId}/followers",
        CONTACTS_VERSION,
        W,
        Location,
        Contacts
    ),
    op!(
        "remove-followers-contact",
        DELETE,
        "/contacts/{contactId}/followers",
        CONTACTS_VERSION,
        W,
        Location,
        Contacts
    ),
    op!(
        "add-contact-to-campaign",
        POST,
        "/contacts/{contactId}/campaigns/{campaignId}",
        CONTACTS_VERSION,
        W,
        Location,
        Contacts
    ),
    op!(
        "remove-contact-from-campaign",
        DELETE,
        "/contacts/{contactId}/campaigns/{campaignId}",
        CONTACTS_VERSION,
        W,
        Location,
        Contacts
    ),
    op!(
        "remove-contact-from-every-campaign",
        DELETE,
        "/contacts/{contactId}/campaigns/removeAll",
        CONTACTS_VERSION,
        W,
        Location,
        Contacts
    ),
    op!(
        "add-contact-to-workflow",
        POST,
        "/contacts/{contactId}/workflow/{workflowId}",
        CONTACTS_VERSION,
        W,
        Location,
        Contacts
    ),
    op!(
        "delete-contact-from-workflow",
        DELETE,
        "/contacts/{contactId}/workflow/{workflowId}",
        CONTACTS_VERSION,
        W,
        Location,
        Contacts
    ),
    op!(
        "create-contact",
        POST,
        "/contacts/",
        CONTACTS_VERSION,
        W,
        Location,
        Contacts
    ),
    op!(
        "get-contacts",
        GET,
        "/contacts/",
        CONTACTS_VERSION,
        R,
        Location,
        Contacts
    ),
    // Calendars v2 (calendars.openapi.json): what a contact sync needs.
    op!(
        "get-calendars",
        GET,
        "/calendars/",
        CALENDARS_VERSION,
        Some("calendars.readonly"),
        Location,
        Calendars
    ),
    op!(
        "get-calendar",
        GET,
        "/calendars/{calendarId}",
        CALENDARS_VERSION,
        Some("calendars.readonly"),
        Location,
        Calendars
    ),
    op!(
        "get-calendar-events",
        GET,
        "/calendars/events",
        CALENDARS_VERSION,
        Some("calendars/events.readonly"),
        Location,
        Calendars
    ),
    op!(
        "create-appointment",
        POST,
        "/calendars/events/appointments",
        CALENDARS_VERSION,
        Some("calendars/events.write"),
        Location,
        Calendars
    ),
    op!(
        "get-appointment",
        GET,
        "/calendars/events/appointments/{eventId}",
        CALENDARS_VERSION,
        Some("calendars/events.readonly"),
        Location,
        Calendars
    ),
    op!(
        "edit-appointment",
        PUT,
        "/calendars/events/appointments/{eventId}",
        CALENDARS_VERSION,
        Some("calendars/events.write"),
        Location,
        Calendars
    ),
    op!(
        "delete-event",
        DELETE,
        "/calendars/events/{eventId}",
        CALENDARS_VERSION,
        Some("calendars/events.write"),
        Location,
        Calendars
    ),
    // OAuth (oauth.openapi.json).
    op!(
        "get-access-token",
        POST,
        "/oauth/token",
        None,
        None,
        None,
        OAuth
    ),
    op!(
        "get-location-access-token",
        POST,
        "/oauth/locationToken",
        CONTACTS_VERSION,
        Some("oauth.write"),
        AgencyOnly,
        OAuth
    ),
    op!(
        "get-installed-location",
        GET,
        "/oauth/installedLocations",
        CONTACTS_VERSION,
        Some("oauth.readonly"),
        AgencyOnly,
        OAuth
    ),
    // Marketplace: developer-initiated uninstall (reference README §3.5).
    op!(
        "uninstall-application",
        DELETE,
        "/marketplace/app/{appId}/installations",
        CONTACTS_VERSION,
        Some("oauth.write"),
        LocationOrAgency,
        Marketplace
    ),
];

/// Paths the v3 spec gives an operation where v2 has another, as `(v3 path, v2 path)`.
pub const V3_PATHS: &[(&str, &str)] = &[(
    "/contacts/{contactId}/campaigns/remove-all",
    "/contacts/{contactId}/campaigns/removeAll",
)];

/// The spec path of a matched route: `/contacts` and `/contacts/` (and `/calendars`) are the
/// same operation.
pub fn spec_path(path: &str) -> &str {
    match path {
        "/contacts" => "/contacts/",
        "/calendars" => "/calendars/",
        other => other,
    }
}

/// Finds the operation for a matched route, by its v2 path or its v3 spelling.
pub fn find(method: &Method, path: &str) -> Option<&'static OpSpec> {
    let path = spec_path(path);
    let path = V3_PATHS
        .iter()
        .find(|(v3, _)| *v3 == path)
        .map_or(path, |(_, v2)| v2);
    OPS.iter().find(|op| op.method == method && op.path == path)
}

/// The scopes a private integration token gets in the simulator: everything it serves.
pub fn all_location_scopes() -> Vec<String> {
    [
        "contacts.readonly",
        "contacts.write",
        "calendars.readonly",
        "calendars.write",
        "calendars/events.readonly",
        "calendars/events.write",
        "locations.readonly",
        "oauth.write",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contacts_operation_of_the_spec_is_in_the_table() {
        let spec: serde_json::Value =
            serde_json::from_str(include_str!("../../spec/ghl/contacts.openapi.json")).unwrap();
        let mut n_ops = 0;
        for (path, item) in spec["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let method: Method = method.to_uppercase().parse().unwrap();
                let id = op["operationId"].as_str().unwrap();
                let found =
                    find(&method, path).unwrap_or_else(|| panic!("{method} {path} missing"));
                assert_eq!(found.operation_id, id);
                n_ops += 1;
            }
        }
        assert_eq!(n_ops, 32);
    }

    #[test]
    fn declared_scopes_and_versions_match_the_specs() {
        for (file, spec_file) in [
            (
                include_str!("../../spec/ghl/contacts.openapi.json"),
                SpecFile::Contacts,
            ),
            (
                include_str!("../../spec/ghl/calendars.openapi.json"),
                SpecFile::Calendars,
            ),
            (
                include_str!("../../spec/ghl/oauth.openapi.json"),
                SpecFile::OAuth,
            ),
        ] {
            let spec: serde_json::Value = serde_json::from_str(file).unwrap();
            for op in OPS.iter().filter(|op| op.spec == spec_file) {
                let item = &spec["paths"][op.path][op.method.as_str().to_lowercase()];
                assert_eq!(item["operationId"], op.operation_id, "{}", op.path);
                let version = item["parameters"]
                    .as_array()
                    .and_then(|params| params.iter().find(|p| p["name"] == "Version"))
                    .map(|p| p["schema"]["enum"][0].as_str().unwrap());
                assert_eq!(version, op.version, "{}", op.operation_id);
                let declared = item["security"][0]
                    .as_object()
                    .and_then(|scheme| scheme.values().next())
                    .and_then(|scopes| scopes[0].as_str());
                if declared.is_some() {
                    assert_eq!(declared, op.scope, "{}", op.operation_id);
                }
            }
        }
    }
}
