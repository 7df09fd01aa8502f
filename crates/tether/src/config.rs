//! Process settings of `tether serve`, loaded and validated in one place.
//!
//! Four layers, each overriding the one before: built-in defaults, the settings file
//! (`tether.toml` in the data folder, or `--config FILE`), `TETHER_…` environment variables, then
//! command-line flags. [`figment`] merges them; every setting is then checked here, and every
//! problem is reported at once, naming the setting and where its value came from
//! (`/etc/tether.toml:workers`, `TETHER_WORKERS`, `--workers`). `tether config check` prints the
//! effective values with their origins, secrets redacted.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
#[cfg(test)]
use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use clap::parser::{ArgMatches, ValueSource};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::Serialize;

use crate::cmd::data::DataArgs;

/// The settings file's name in the data folder.
pub const FILE_NAME: &str = "tether.toml";

/// One setting: its key in the settings file, its environment variable and its flag.
struct Key {
    key: &'static str,
    env: &'static str,
    flag: &'static str,
    help: &'static str,
}

/// Every setting, in the order `tether config check` prints them.
const KEYS: &[Key] = &[
    Key {
        key: "listen",
        env: "TETHER_LISTEN",
        flag: "--listen",
        help: "address the server binds",
    },
    Key {
        key: "public_url",
        env: "TETHER_PUBLIC_URL",
        flag: "--public-url",
        help: "URL people and apps reach Tether at",
    },
    Key {
        key: "trusted_proxies",
        env: "TETHER_TRUSTED_PROXIES",
        flag: "--trusted-proxies",
        help: "reverse proxies whose X-Forwarded-For names the client",
    },
    Key {
        key: "data_dir",
        env: "TETHER_DATA_DIR",
        flag: "--data-dir",
        help: "folder of the SQLite database, the key and tether.toml",
    },
    Key {
        key: "database_url",
        env: "TETHER_DATABASE_URL",
        flag: "--database",
        help: "database (default: SQLite in the data folder)",
    },
    Key {
        key: "secret_key_file",
        env: "TETHER_SECRET_KEY_FILE",
        flag: "--secret-key-file",
        help: "file of the key that seals credentials",
    },
    Key {
        key: "retention",
        env: "TETHER_RETENTION",
        flag: "--retention",
        help: "how long finished runs and their journals are kept",
    },
    Key {
        key: "workers",
        env: "TETHER_WORKERS",
        flag: "--workers",
        help: "runs executed at once",
    },
    Key {
        key: "reconcile_every",
        env: "TETHER_RECONCILE_EVERY",
        flag: "--reconcile-every",
        help: "how often GHL's change feed is read",
    },
    Key {
        key: "log_level",
        env: "TETHER_LOG",
        flag: "--log",
        help: "log filter, as in RUST_LOG",
    },
    Key {
        key: "log_format",
        env: "TETHER_LOG_FORMAT",
        flag: "--log-format",
        help: "`text` or `json`",
    },
];

/// The settings flags of `tether serve` and `tether config check` (the data folder, database and
/// key file flags are [`DataArgs`]; the log filter is the global `--log`).
#[derive(Debug, Clone, Default, Args)]
pub struct SettingsArgs {
    /// Settings file (default: `tether.toml` in the data folder, when it exists).
    #[arg(long, env = "TETHER_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address of the server (webhooks at `/hooks/ghl`, REST API at `/api`) [default:
    /// 127.0.0.1:8800].
    #[arg(long)]
    pub listen: Option<String>,
    /// The URL people and apps reach this Tether at, e.g. `https://tether.example.com` (OAuth
    /// redirects and the webhook URL derive from it) [default: http:// and the listen address].
    #[arg(long)]
    pub public_url: Option<String>,
    /// Addresses of the reverse proxies in front of Tether, comma-separated (`127.0.0.1,::1`):
    /// a request from one of them is attributed to the client its `X-Forwarded-For` names, so
    /// sign-in throttling counts clients, not the proxy [default: none].
    #[arg(long)]
    pub trusted_proxies: Option<String>,
    /// How long finished runs and their journals are kept, e.g. `30d` [default: 30d].
    #[arg(long)]
    pub retention: Option<String>,
    /// Runs executed at once by this process [default: 8].
    #[arg(long)]
    pub workers: Option<String>,
    /// How often GHL's change feed is read to catch webhooks that never arrived (the first read,
    /// at start, is the initial sync of a new connection, or the catch-up after downtime)
    /// [default: 5m].
    #[arg(long)]
    pub reconcile_every: Option<String>,
    /// Log lines as `text` or `json` (one object per line) [default: text].
    #[arg(long)]
    pub log_format: Option<String>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One line of text per event.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The effective, valid settings, and where each came from.
#[derive(Debug, Clone)]
pub struct Config {
    /// The address the server binds.
    pub listen: SocketAddr,
    /// The URL people and apps reach Tether at.
    pub public_url: url::Url,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The data folder.
    pub data_dir: PathBuf,
    /// A database URL; `None` is the SQLite file in the data folder.
    pub database_url: Option<String>,
    /// The secret key file (used unless `TETHER_SECRET_KEY` holds the key).
    pub secret_key_file: PathBuf,
    /// How long finished runs are kept.
    pub retention: Duration,
    /// Runs executed at once.
    pub workers: usize,
    /// How often GHL's change feed is read.
    pub reconcile_every: Duration,
    /// The log filter.
    pub log_level: String,
    /// The log format.
    pub log_format: LogFormat,
    /// The settings file read, if any.
    pub file: Option<PathBuf>,
    origins: BTreeMap<&'static str, Origin>,
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The built-in default.
    Default,
    /// A key of the settings file.
    File(PathBuf, String),
    /// An environment variable.
    Env(&'static str),
    /// A command-line flag.
    Flag(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File(path, key) => write!(f, "{}:{key}", path.display()),
            Origin::Env(var) => write!(f, "environment variable {var}"),
            Origin::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// A setting that is wrong: which, from where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The setting's key (`workers`), or `file` for the settings file itself.
    pub key: String,
    /// Where the bad value came from.
    pub origin: Origin,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (from {}): {}", self.key, self.origin, self.message)
    }
}

/// Every problem of the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.0.len();
        write!(
            f,
            "{count} invalid setting{}:",
            if count == 1 { "" } else { "s" }
        )?;
        for problem in &self.0 {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// The values given as command-line flags (only those typed, not defaults or environment).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Flags {
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    public_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trusted_proxies: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_key_file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retention: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    workers: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reconcile_every: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_format: Option<String>,
    /// The settings file named by `--config` (or `TETHER_CONFIG`).
    #[serde(skip)]
    config: Option<PathBuf>,
}

impl Flags {
    /// The flags of a command: `settings` and `data` as parsed, `log` the global `--log`, and
    /// `matches` the command's matches, which tell a typed flag from an environment variable or a
    /// default (those two are read by the lower layers instead).
    pub fn from_args(
        settings: &SettingsArgs,
        data: &DataArgs,
        log: &str,
        matches: &ArgMatches,
        top: &ArgMatches,
    ) -> Flags {
        let typed = |matches: &ArgMatches, id: &str| {
            matches.value_source(id) == Some(ValueSource::CommandLine)
        };
        let given = |id: &str| typed(matches, id);
        Flags {
            listen: settings.listen.clone(),
            public_url: settings.public_url.clone(),
            trusted_proxies: settings.trusted_proxies.clone(),
            data_dir: given("data_dir").then(|| data.data_dir.clone()),
            database_url: data.database.clone().filter(|_| given("database")),
            secret_key_file: data
                .secret_key_file
                .clone()
                .filter(|_| given("secret_key_file")),
            retention: settings.retention.clone(),
            workers: settings.workers.clone(),
            reconcile_every: settings.reconcile_every.clone(),
            log_level: typed(top, "log").then(|| log.to_owned()),
            log_format: settings.log_format.clone(),
            config: settings.config.clone(),
        }
    }
}

/// The built-in defaults (`public_url` and `secret_key_file` derive from other settings).
#[derive(Debug, Serialize)]
struct Defaults {
    listen: &'static str,
    data_dir: &'static str,
    retention: &'static str,
    workers: usize,
    reconcile_every: &'static str,
    log_level: &'static str,
    log_format: &'static str,
}

const DEFAULTS: Defaults = Defaults {
    listen: "127.0.0.1:8800",
    data_dir: "tether-data",
    retention: "30d",
    workers: 32,
    reconcile_every: "5m",
    log_level: "info",
    log_format: "text",
};

/// Loads the settings: defaults, then the settings file, then the environment, then `flags`.
/// Every problem is reported at once.
pub fn load(flags: &Flags) -> Result<Config, Problems> {
    let env = || {
        Env::raw().filter_map(|name| {
            KEYS.iter()
                .find(|key| name.as_str().eq_ignore_ascii_case(key.env))
                .map(|key| key.key.into())
        })
    };
    // Where the file is: `--config`, else `tether.toml` in the data folder named without it.
    let located = Figment::from(Serialized::defaults(&DEFAULTS))
        .merge(env())
        .merge(Serialized::defaults(flags));
    let mut problems = Vec::new();
    let (file, explicit) = match &flags.config {
        Some(path) => (Some(path.clone()), true),
        None => match located.extract_inner::<PathBuf>("data_dir") {
            Ok(dir) => (Some(dir.join(FILE_NAME)), false),
            Err(_) => (None, false),
        },
    };
    let file = file.filter(|path| explicit || path.is_file());
    if let Some(path) = &file
        && !path.is_file()
    {
        // `--config` and `TETHER_CONFIG` are one clap argument; the value tells them apart.
        let from_env = std::env::var_os("TETHER_CONFIG")
            .is_some_and(|value| std::path::Path::new(&value) == path.as_path());
        problems.push(Problem {
            key: "config".into(),
            origin: if from_env {
                Origin::Env("TETHER_CONFIG")
            } else {
                Origin::Flag("--config")
            },
            message: format!("the settings file {} does not exist", path.display()),
        });
    }
    let mut file_figment = file
        .as_ref()
        .filter(|path| path.is_file())
        .map(|path| Figment::from(Toml::file_exact(path)));
    let mut file_keys = Vec::new();
    if let (Some(path), Some(figment)) = (&file, &file_figment) {
        match figment.extract::<figment::value::Dict>() {
            Ok(dict) => file_keys = dict.keys().cloned().collect(),
            Err(error) => {
                problems.push(Problem {
                    key: "file".into(),
                    origin: Origin::File(path.clone(), "(syntax)".into()),
                    message: error.to_string(),
                });
                // Reported once; the other settings are still checked, without the file.
                file_figment = None;
            }
        }
    }
    for unknown in file_keys
        .iter()
        .filter(|name| !KEYS.iter().any(|key| key.key == name.as_str()))
    {
        let mut message = format!("unknown setting `{unknown}`");
        match tether_engine::flow::closest(unknown, KEYS.iter().map(|key| key.key)) {
            Some(near) => message.push_str(&format!(" (did you mean `{near}`?)")),
            None => message.push_str(&format!(
                "; the settings are {}",
                KEYS.iter()
                    .map(|key| key.key)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
        problems.push(Problem {
            key: unknown.clone(),
            origin: Origin::File(file.clone().unwrap_or_default(), unknown.clone()),
            message,
        });
    }
    if !explicit && file_keys.iter().any(|name| name == "data_dir") {
        problems.push(Problem {
            key: "data_dir".into(),
            origin: Origin::File(file.clone().unwrap_or_default(), "data_dir".into()),
            message: "the tether.toml in a data folder cannot move the data folder; pass \
                      --config FILE to use a settings file elsewhere"
                .into(),
        });
    }

    let mut figment = Figment::from(Serialized::defaults(&DEFAULTS));
    if let Some(file_figment) = file_figment {
        figment = figment.merge(file_figment);
    }
    let figment = figment.merge(env()).merge(Serialized::defaults(flags));

    let origin_of = |key: &'static Key| -> Origin {
        let flagged = serde_json::to_value(flags)
            .ok()
            .and_then(|value| value.get(key.key).cloned())
            .is_some();
        if flagged {
            Origin::Flag(key.flag)
        } else if std::env::var_os(key.env).is_some() {
            Origin::Env(key.env)
        } else if file_keys.iter().any(|name| name == key.key) {
            Origin::File(file.clone().unwrap_or_default(), key.key.into())
        } else {
            Origin::Default
        }
    };
    let origins: BTreeMap<&'static str, Origin> =
        KEYS.iter().map(|key| (key.key, origin_of(key))).collect();
    let mut check = Checker {
        figment: &figment,
        origins: &origins,
        problems: &mut problems,
    };

    let listen = check.required("listen", |text: String| {
        text.parse::<SocketAddr>().map_err(|_| {
            format!("{text:?} is not an address with a port, e.g. 127.0.0.1:8800 or 0.0.0.0:8800")
        })
    });
    let public_url = check.value("public_url", |text: Option<String>| match text {
        None => Ok(None),
        Some(text) => public_url(&text).map(Some),
    });
    let trusted_proxies = check.value("trusted_proxies", |text: Option<String>| {
        let Some(text) = text else {
            return Ok(Vec::new());
        };
        text.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<std::net::IpAddr>().map_err(|_| {
                    format!("{item:?} is not an IP address (give addresses, comma-separated)")
                })
            })
            .collect()
    });
    let data_dir = check.required("data_dir", |dir: PathBuf| {
        if dir.as_os_str().is_empty() {
            Err("the data folder is empty".to_owned())
        } else {
            Ok(dir)
        }
    });
    let database_url = check.value("database_url", |url: Option<String>| match url {
        None => Ok(None),
        Some(url) => database_url(&url).map(|()| Some(url)),
    });
    let secret_key_file = check.value("secret_key_file", |file: Option<PathBuf>| {
        Ok::<_, String>(file)
    });
    let retention = check.required("retention", |text: String| {
        let retention = duration(&text)?;
        if retention < Duration::from_secs(3600) {
            return Err(format!(
                "{text:?} is shorter than an hour; finished runs are swept hourly"
            ));
        }
        Ok(retention)
    });
    let workers = check.required("workers", |workers: i64| {
        usize::try_from(workers)
            .ok()
            .filter(|workers| *workers >= 1)
            .ok_or_else(|| format!("{workers} is not a whole number of at least 1"))
    });
    let reconcile_every = check.required("reconcile_every", |text: String| duration(&text));
    let log_level = check.required("log_level", |text: String| {
        tracing_subscriber::EnvFilter::try_new(&text)
            .map(|_| text.clone())
            .map_err(|error| format!("{text:?} is not a log filter: {error}"))
    });
    let log_format = check.required("log_format", |text: String| match text.as_str() {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        other => Err(format!("{other:?} is not `text` or `json`")),
    });
    if !problems.is_empty() {
        return Err(Problems(problems));
    }
    let (
        Some(listen),
        Some(public_url),
        Some(trusted_proxies),
        Some(data_dir),
        Some(database_url),
        Some(secret_key_file),
        Some(retention),
        Some(workers),
        Some(reconcile_every),
        Some(log_level),
        Some(log_format),
    ) = (
        listen,
        public_url,
        trusted_proxies,
        data_dir,
        database_url,
        secret_key_file,
        retention,
        workers,
        reconcile_every,
        log_level,
        log_format,
    )
    else {
        unreachable!("every setting without a problem has a value")
    };
    let public_url = public_url.unwrap_or_else(|| default_public_url(listen));
    let secret_key_file = secret_key_file.unwrap_or_else(|| data_dir.join("secret.key"));
    Ok(Config {
        listen,
        public_url,
        trusted_proxies,
        data_dir,
        database_url,
        secret_key_file,
        retention,
        workers,
        reconcile_every,
        log_level,
        log_format,
        file: file.filter(|path| path.is_file()),
        origins,
    })
}

/// Extracts and checks settings, collecting every problem with its origin.
struct Checker<'a> {
    figment: &'a Figment,
    origins: &'a BTreeMap<&'static str, Origin>,
    problems: &'a mut Vec<Problem>,
}

impl Checker<'_> {
    /// The setting `key` (`None` when no layer sets it), checked by `check`.
    fn value<T: serde::de::DeserializeOwned, U>(
        &mut self,
        key: &'static str,
        check: impl FnOnce(Option<T>) -> Result<U, String>,
    ) -> Option<U> {
        let origin = self.origins.get(key).cloned().unwrap_or(Origin::Default);
        let result = if self.figment.contains(key) {
            match self.figment.extract_inner_lossy::<T>(key) {
                Ok(value) => check(Some(value)),
                Err(error) => Err(error.kind.to_string()),
            }
        } else {
            check(None)
        };
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.problems.push(Problem {
                    key: key.to_owned(),
                    origin,
                    message,
                });
                None
            }
        }
    }

    /// A setting every layer below the flags has a default for.
    fn required<T: serde::de::DeserializeOwned, U>(
        &mut self,
        key: &'static str,
        check: impl FnOnce(T) -> Result<U, String>,
    ) -> Option<U> {
        self.value(key, |value: Option<T>| match value {
            Some(value) => check(value),
            None => Err("is missing".to_owned()),
        })
    }
}

fn duration(text: &str) -> Result<Duration, String> {
    tether_engine::flow::parse_duration(text)
}

fn public_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text).map_err(|error| {
        format!("{text:?} is not a URL ({error}); e.g. https://tether.example.com")
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "{text:?} is not an http:// or https:// URL with a host"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{text:?} has a query or fragment; give the base URL only"
        ));
    }
    Ok(url)
}

fn database_url(text: &str) -> Result<(), String> {
    let scheme = text.split_once(':').map(|(scheme, _)| scheme);
    match scheme {
        Some("postgres" | "postgresql") => url::Url::parse(text)
            .map(|_| ())
            .map_err(|error| format!("{} is not a valid URL: {error}", redact_database_url(text))),
        Some("sqlite") => Ok(()),
        _ => Err(format!(
            "{} is not a `postgres://` or `sqlite:` URL",
            redact_database_url(text)
        )),
    }
}

/// The URL of a server bound to `listen`: an unspecified address (`0.0.0.0`) is reached on
/// loopback from this machine.
fn default_public_url(listen: SocketAddr) -> url::Url {
    let host = if listen.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        match listen.ip() {
            std::net::IpAddr::V4(ip) => ip.to_string(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        }
    };
    url::Url::parse(&format!("http://{host}:{}/", listen.port()))
        .unwrap_or_else(|_| unreachable!("an IP address and a port make a URL"))
}

/// `url` with its password, if any, replaced by `[redacted]`.
pub fn redact_database_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:[redacted]@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

impl Config {
    /// Where `key`'s value came from.
    pub fn origin(&self, key: &str) -> Origin {
        self.origins.get(key).cloned().unwrap_or(Origin::Default)
    }

    /// Every setting as `(key, value, origin, help)`, secrets redacted: the database URL's
    /// password, and the key itself (only its source is named).
    pub fn report(&self) -> Vec<(&'static str, String, String, &'static str)> {
        let mut rows = Vec::new();
        for key in KEYS {
            let value = match key.key {
                "listen" => self.listen.to_string(),
                "public_url" => self.public_url.to_string(),
                "trusted_proxies" if self.trusted_proxies.is_empty() => "none".to_owned(),
                "trusted_proxies" => self
                    .trusted_proxies
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
                "data_dir" => self.data_dir.display().to_string(),
                "database_url" => self.database_url.as_deref().map_or_else(
                    || {
                        format!(
                            "SQLite file {}",
                            self.data_dir.join("tether.sqlite").display()
                        )
                    },
                    redact_database_url,
                ),
                "secret_key_file" => self.secret_key_file.display().to_string(),
                "retention" => humanize(self.retention),
                "workers" => self.workers.to_string(),
                "reconcile_every" => humanize(self.reconcile_every),
                "log_level" => self.log_level.clone(),
                "log_format" => match self.log_format {
                    LogFormat::Text => "text".into(),
                    LogFormat::Json => "json".into(),
                },
                _ => continue,
            };
            let origin = match (key.key, self.origin(key.key)) {
                ("public_url", Origin::Default) => "default: from listen".to_owned(),
                ("secret_key_file", Origin::Default) => "default: in data_dir".to_owned(),
                (_, origin) => origin.to_string(),
            };
            rows.push((key.key, value, origin, key.help));
        }
        let (key_value, key_origin) = if std::env::var_os(tether_store::vault::KEY_ENV).is_some() {
            (
                "[redacted]".to_owned(),
                format!(
                    "environment variable {} (the file is not read)",
                    tether_store::vault::KEY_ENV
                ),
            )
        } else if self.secret_key_file.is_file() {
            (
                "[redacted]".to_owned(),
                format!("file {}", self.secret_key_file.display()),
            )
        } else {
            (
                "(none yet)".to_owned(),
                format!(
                    "created in {} by the first `tether serve`",
                    self.secret_key_file.display()
                ),
            )
        };
        rows.push((
            "secret_key",
            key_value,
            key_origin,
            "the key that seals credentials",
        ));
        rows
    }

    /// The data options these settings name, for opening the store.
    pub fn data_args(&self) -> DataArgs {
        DataArgs {
            data_dir: self.data_dir.clone(),
            database: self.database_url.clone(),
            secret_key_file: Some(self.secret_key_file.clone()),
        }
    }
}

/// `90000s` as `1d1h`: the largest units that divide it.
fn humanize(duration: Duration) -> String {
    let mut seconds = duration.as_secs();
    let mut text = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if seconds >= size {
            text.push_str(&format!("{}{unit}", seconds / size));
            seconds %= size;
        }
    }
    if text.is_empty() { "0s".into() } else { text }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]
    #![allow(
        clippy::result_large_err,
        reason = "figment's Jail closures answer figment's own error type"
    )]

    use super::*;
    use figment::Jail;

    fn flags() -> Flags {
        Flags::default()
    }

    fn problems(flags: &Flags) -> Vec<Problem> {
        load(flags).unwrap_err().0
    }

    #[test]
    fn flags_beat_the_environment_which_beats_the_file_which_beats_the_defaults() {
        Jail::expect_with(|jail| {
            let defaults = load(&flags()).unwrap();
            assert_eq!(defaults.workers, 32);
            assert_eq!(defaults.origin("workers"), Origin::Default);
            assert_eq!(defaults.public_url.as_str(), "http://127.0.0.1:8800/");
            assert_eq!(defaults.retention, Duration::from_secs(30 * 86_400));

            jail.create_dir("tether-data")?;
            jail.create_file(
                "tether-data/tether.toml",
                "workers = 2\nlisten = \"0.0.0.0:9000\"\nreconcile_every = \"1m\"\n",
            )?;
            let file = load(&flags()).unwrap();
            assert_eq!(file.workers, 2);
            let path = PathBuf::from("tether-data").join(FILE_NAME);
            assert_eq!(file.origin("workers"), Origin::File(path, "workers".into()));
            assert_eq!(
                file.file.as_deref(),
                Some(Path::new("tether-data/tether.toml"))
            );
            // An unspecified listen address is reached on loopback by default.
            assert_eq!(file.public_url.as_str(), "http://127.0.0.1:9000/");

            jail.set_env("TETHER_WORKERS", "3");
            jail.set_env("TETHER_PUBLIC_URL", "https://tether.example.com");
            let env = load(&flags()).unwrap();
            assert_eq!(env.workers, 3);
            assert_eq!(env.origin("workers"), Origin::Env("TETHER_WORKERS"));
            assert_eq!(env.public_url.as_str(), "https://tether.example.com/");
            assert_eq!(
                env.reconcile_every,
                Duration::from_secs(60),
                "the file still counts"
            );

            let flagged = load(&Flags {
                workers: Some("4".into()),
                log_level: Some("debug".into()),
                ..flags()
            })
            .unwrap();
            assert_eq!(flagged.workers, 4);
            assert_eq!(flagged.origin("workers"), Origin::Flag("--workers"));
            assert_eq!(flagged.log_level, "debug");
            assert_eq!(flagged.origin("log_level"), Origin::Flag("--log"));

            // A data folder named by the environment has its own tether.toml.
            jail.create_dir("elsewhere")?;
            jail.create_file("elsewhere/tether.toml", "workers = 6\n")?;
            jail.set_env("TETHER_WORKERS", "");
            jail.set_env("TETHER_DATA_DIR", "elsewhere");
            let elsewhere = load(&Flags {
                workers: Some("5".into()),
                ..flags()
            });
            assert_eq!(elsewhere.unwrap().workers, 5);
            Ok(())
        });
    }

    #[test]
    fn a_named_settings_file_is_read_and_may_move_the_data_folder() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "prod.toml",
                "data_dir = \"/var/lib/tether\"\nretention = \"7d\"\nlog_format = \"json\"\n",
            )?;
            let config = load(&Flags {
                config: Some("prod.toml".into()),
                ..flags()
            })
            .unwrap();
            assert_eq!(config.data_dir, PathBuf::from("/var/lib/tether"));
            assert_eq!(
                config.secret_key_file,
                PathBuf::from("/var/lib/tether/secret.key")
            );
            assert_eq!(config.retention, Duration::from_secs(7 * 86_400));
            assert_eq!(config.log_format, LogFormat::Json);
            Ok(())
        });
    }

    #[test]
    fn every_bad_setting_is_named_with_its_source() {
        Jail::expect_with(|jail| {
            jail.create_dir("tether-data")?;
            jail.create_file(
                "tether-data/tether.toml",
                "workers = 0\nlisten = \"localhost\"\nretension = \"7d\"\ndata_dir = \"x\"\n",
            )?;
            jail.set_env("TETHER_RETENTION", "10m");
            jail.set_env("TETHER_PUBLIC_URL", "ftp://files.example.com");
            jail.set_env("TETHER_DATABASE_URL", "mysql://root:hunter2@db/tether");
            jail.set_env("TETHER_TRUSTED_PROXIES", "10.0.0.1, proxy.local");
            let problems = problems(&Flags {
                log_format: Some("xml".into()),
                reconcile_every: Some("soon".into()),
                ..flags()
            });
            let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
            let find = |key: &str| {
                text.iter()
                    .find(|line| line.starts_with(&format!("{key} (")))
                    .unwrap_or_else(|| panic!("no problem for {key}: {text:#?}"))
                    .clone()
            };
            let file = PathBuf::from("tether-data")
                .join(FILE_NAME)
                .display()
                .to_string();
            assert!(
                find("workers").contains(&format!("{file}:workers")),
                "{text:#?}"
            );
            assert!(find("listen").contains(&format!("{file}:listen")));
            assert!(find("listen").contains("not an address with a port"));
            assert!(find("retension").contains("did you mean `retention`?"));
            assert!(find("data_dir").contains("cannot move the data folder"));
            assert!(find("retention").contains("environment variable TETHER_RETENTION"));
            assert!(find("retention").contains("shorter than an hour"));
            assert!(find("public_url").contains("TETHER_PUBLIC_URL"));
            assert!(find("public_url").contains("http:// or https://"));
            assert!(find("database_url").contains("TETHER_DATABASE_URL"));
            assert!(find("trusted_proxies").contains("TETHER_TRUSTED_PROXIES"));
            assert!(find("trusted_proxies").contains("\"proxy.local\" is not an IP address"));
            assert!(find("database_url").contains("mysql://root:[redacted]@db/tether"));
            assert!(!text.concat().contains("hunter2"), "the password stays out");
            assert!(find("log_format").contains("flag --log-format"));
            assert!(find("reconcile_every").contains("flag --reconcile-every"));
            assert_eq!(problems.len(), 10, "{text:#?}");
            Ok(())
        });
    }

    #[test]
    fn a_missing_or_broken_settings_file_is_named() {
        Jail::expect_with(|jail| {
            let missing = problems(&Flags {
                config: Some("nope.toml".into()),
                ..flags()
            });
            assert!(missing[0].to_string().contains("nope.toml does not exist"));
            assert_eq!(missing[0].origin, Origin::Flag("--config"));

            jail.create_file("broken.toml", "workers = [\n")?;
            let broken = problems(&Flags {
                config: Some("broken.toml".into()),
                ..flags()
            });
            assert!(broken[0].to_string().contains("broken.toml"), "{broken:?}");
            assert_eq!(
                broken.len(),
                1,
                "the syntax error is reported once: {broken:?}"
            );
            Ok(())
        });
    }

    #[test]
    fn the_report_redacts_the_database_password_and_the_key() {
        Jail::expect_with(|jail| {
            jail.set_env(
                "TETHER_DATABASE_URL",
                "postgres://tether:s3cret-pw@db.internal:5432/tether?sslmode=require",
            );
            jail.set_env(tether_store::vault::KEY_ENV, "a2V5LW1hdGVyaWFs");
            let config = load(&flags()).unwrap();
            let report = format!("{:?}", config.report());
            assert!(!report.contains("s3cret-pw"), "{report}");
            assert!(!report.contains("a2V5LW1hdGVyaWFs"), "{report}");
            assert!(report.contains("postgres://tether:[redacted]@db.internal:5432/tether"));
            assert!(report.contains("environment variable TETHER_SECRET_KEY"));
            Ok(())
        });
        assert_eq!(
            redact_database_url("postgres://only-user@db/x"),
            "postgres://only-user@db/x"
        );
        assert_eq!(redact_database_url("sqlite://a.db"), "sqlite://a.db");
    }
}
