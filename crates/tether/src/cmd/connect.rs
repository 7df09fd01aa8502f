//! `tether connect APP`: authorize an account and store the connection, sealed.

use crate::out::outln;
use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::extract::{Query, State};
use axum::response::Html;
use clap::{Args, Subcommand};
use tether_connectors::auth::ghl::{
    AuthorizeHost, GhlOAuthApp, StoredOAuth, authorize_url, exchange_code, expires_at_ms,
    token_client,
};
use tether_connectors::ghl::BASE_URL;
use tether_core::Secret;
use tether_service::Service;
use tether_service::connections::{ConnectOptions, Health};
use tether_store::{AuthKind, NewConnection};
use tokio::sync::mpsc;
use url::Url;

use super::data::DataArgs;

/// Arguments of `tether connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    #[command(subcommand)]
    app: ConnectApp,
    /// Store the connection without testing it (health `untested`). Without it, Tether makes
    /// one cheap read first: credentials the app refuses are not stored, and an unreachable
    /// app is stored as `unreachable` with a warning.
    #[arg(long, global = true)]
    skip_test: bool,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Debug, Subcommand)]
enum ConnectApp {
    /// HighLevel: OAuth 2.0 (authorization code) or a private integration token.
    Ghl(GhlConnectArgs),
    /// Details Flowers (or any app of a shipped manifest with API-key auth).
    DetailsFlowers(ApiKeyConnectArgs),
    /// Flickr: OAuth 1.0a with the app's API key and secret.
    Flickr(FlickrConnectArgs),
}

/// Options of `tether connect flickr`.
#[derive(Debug, Args)]
struct FlickrConnectArgs {
    /// The connection's name, used by `--connection` elsewhere. Reconnecting an existing name
    /// replaces its credentials and keeps its id.
    #[arg(long, default_value = "flickr")]
    name: String,
    /// The app's API key (the OAuth consumer key).
    #[arg(long, env = "TETHER_FLICKR_KEY")]
    consumer_key: String,
    /// The API key's secret.
    #[arg(long, env = "TETHER_FLICKR_SECRET", hide_env_values = true)]
    consumer_secret: String,
    /// One base URL for the OAuth pages, the REST API and uploads (a simulator's address, for
    /// `tether sim flickr`). Without it: www.flickr.com, api.flickr.com and up.flickr.com.
    #[arg(long, value_parser = http_url)]
    base_url: Option<String>,
    /// The permission to ask for: read, write or delete (delete only if a flow deletes photos).
    #[arg(long, default_value = "write")]
    perms: tether_connectors::flickr::Perms,
    /// Port of the loopback callback (`http://127.0.0.1:PORT/callback`); 0 picks one.
    #[arg(long, default_value_t = 0)]
    callback_port: u16,
    /// Simulator only: approve as this user (NSID) without a browser.
    #[arg(long)]
    sim_approve_as: Option<String>,
    /// How long to wait for the browser to come back.
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
}

/// Options of `tether connect details-flowers`.
#[derive(Debug, Args)]
struct ApiKeyConnectArgs {
    /// The connection's name.
    #[arg(long, default_value = "details-flowers")]
    name: String,
    /// The API key.
    #[arg(long, env = "TETHER_DETAILS_FLOWERS_API_KEY", hide_env_values = true)]
    api_key: String,
    /// The API base URL (a simulator's address, for `tether sim details-flowers`).
    #[arg(long, value_parser = http_url)]
    base_url: String,
}

/// Options of `tether connect ghl`.
#[derive(Debug, Args)]
struct GhlConnectArgs {
    /// The connection's name, used by `--connection` elsewhere. Reconnecting an existing name
    /// replaces its credentials and keeps its id.
    #[arg(long, default_value = "ghl")]
    name: String,
    /// Use this private integration token instead of OAuth (needs `--location`).
    #[arg(long, env = "TETHER_GHL_PIT", hide_env_values = true)]
    pit: Option<String>,
    /// The location (sub-account) id, for a private integration token.
    #[arg(long)]
    location: Option<String>,
    /// The Marketplace app's client id.
    #[arg(long, env = "TETHER_GHL_CLIENT_ID")]
    client_id: Option<String>,
    /// The Marketplace app's client secret.
    #[arg(long, env = "TETHER_GHL_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// The API base URL (a simulator's address, for `tether sim ghl`).
    #[arg(long, default_value = BASE_URL, value_parser = http_url)]
    api_base: String,
    /// Where the consent page lives; defaults to HighLevel's marketplace, or to `--api-base` when
    /// that is a simulator on loopback.
    #[arg(long, value_parser = http_url)]
    authorize_base: Option<String>,
    /// Use the white-label consent host (`marketplace.leadconnectorhq.com`).
    #[arg(long)]
    white_label: bool,
    /// Scopes to request, space-separated.
    #[arg(
        long,
        default_value = "contacts.readonly contacts.write calendars.readonly calendars/events.readonly calendars/events.write"
    )]
    scopes: String,
    /// Port of the loopback callback (`http://127.0.0.1:PORT/callback`); 0 picks one. It must
    /// match a redirect URI registered for the app.
    #[arg(long, default_value_t = 0)]
    callback_port: u16,
    /// Simulator only: approve this location without a browser (the simulator's auto-approve).
    #[arg(long)]
    sim_approve_location: Option<String>,
    /// How long to wait for the browser to come back.
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
}

/// Runs `tether connect …`.
pub async fn run(args: ConnectArgs) -> anyhow::Result<()> {
    let store = args.data.open_or_create().await?;
    let saver = Saver {
        service: Service::for_store(store),
        skip_test: args.skip_test,
    };
    match args.app {
        ConnectApp::Ghl(ghl) => connect_ghl(&saver, ghl).await,
        ConnectApp::Flickr(flickr) => connect_flickr(&saver, flickr).await,
        ConnectApp::DetailsFlowers(args) => {
            saver
                .save(NewConnection {
                    name: args.name.clone(),
                    app: "details_flowers".into(),
                    auth_kind: AuthKind::ApiKey,
                    account_id: None,
                    base_url: args.base_url.clone(),
                    scopes: Vec::new(),
                    credentials: Secret::new(args.api_key),
                    expires_at_ms: None,
                })
                .await?;
            outln!(
                "Connected {:?}: Details Flowers at {} with an API key.",
                args.name,
                args.base_url
            )?;
            Ok(())
        }
    }
}

async fn connect_ghl(saver: &Saver, args: GhlConnectArgs) -> anyhow::Result<()> {
    let scopes: Vec<String> = args.scopes.split_whitespace().map(str::to_owned).collect();
    if let Some(pit) = &args.pit {
        let location = args
            .location
            .clone()
            .context("a private integration token needs --location LOCATION_ID")?;
        saver
            .save(NewConnection {
                name: args.name.clone(),
                app: "ghl".into(),
                auth_kind: AuthKind::PrivateToken,
                account_id: Some(location.clone()),
                base_url: args.api_base.clone(),
                scopes,
                credentials: Secret::new(pit.clone()),
                expires_at_ms: None,
            })
            .await?;
        outln!(
            "Connected {:?}: HighLevel location {location} with a private integration token.",
            args.name
        )?;
        return Ok(());
    }

    let client_id = args
        .client_id
        .clone()
        .context("OAuth needs --client-id (or TETHER_GHL_CLIENT_ID), or use --pit")?;
    let client_secret = args
        .client_secret
        .clone()
        .context("OAuth needs --client-secret (or TETHER_GHL_CLIENT_SECRET)")?;
    let api_base = Url::parse(&args.api_base)
        .with_context(|| format!("--api-base {:?} is not a URL", args.api_base))?;
    let authorize_base = match &args.authorize_base {
        Some(base) => {
            Url::parse(base).with_context(|| format!("--authorize-base {base:?} is not a URL"))?
        }
        None if api_base
            .host_str()
            .is_some_and(|host| host == "127.0.0.1" || host == "localhost") =>
        {
            api_base.clone()
        }
        None => {
            let host = if args.white_label {
                AuthorizeHost::WhiteLabel
            } else {
                AuthorizeHost::Standard
            };
            Url::parse(host.base_url()).expect("the marketplace hosts are URLs")
        }
    };

    // The loopback callback catches the browser's redirect with the code.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.callback_port))
        .await
        .context("cannot open the callback port")?;
    let redirect_uri = format!("http://{}/callback", listener.local_addr()?);
    let state = random_state();
    let app = GhlOAuthApp {
        client_id,
        client_secret: Secret::new(client_secret),
        authorize_base,
        api_base: api_base.clone(),
        redirect_uri,
        scopes: scopes.clone(),
    };
    let (sender, mut receiver) = mpsc::channel::<HashMap<String, String>>(1);
    let callback = axum::Router::new()
        .route("/callback", axum::routing::get(callback))
        .with_state(sender);
    let server = tokio::spawn(async move { axum::serve(listener, callback).await });

    let extra: Vec<(&str, &str)> = args
        .sim_approve_location
        .as_deref()
        .map(|location| ("location_id", location))
        .into_iter()
        .collect();
    let url = authorize_url(&app, &state, &extra);
    if args.sim_approve_location.is_some() {
        // The simulator approves at once and redirects to our callback, as a browser would follow it.
        reqwest::get(url.as_str())
            .await
            .context("the simulator's authorize page did not answer")?;
    } else {
        outln!("Open this address in a browser and approve the access:\n\n  {url}\n")?;
        outln!(
            "Waiting for HighLevel to send the browser back to {} …",
            app.redirect_uri
        )?;
    }
    let query = tokio::time::timeout(Duration::from_secs(args.timeout_secs), receiver.recv())
        .await
        .context("no answer from the browser in time")?
        .context("the callback stopped")?;
    server.abort();
    if let Some(error) = query.get("error") {
        bail!("the authorization was refused: {error}");
    }
    if query.get("state") != Some(&state) {
        bail!("the callback's state does not match this request; refusing it (possible CSRF)");
    }
    let code = query.get("code").context("the callback carried no code")?;
    let http = token_client(&api_base)?;
    let tokens = exchange_code(&http, &app, code, "Location")
        .await
        .context("the code exchange failed")?;
    let location = tokens
        .location_id
        .clone()
        .context("the token is not a location token")?;
    let stored = StoredOAuth::from_response(&tokens, &app, None);
    let granted = tokens.scope.clone().map_or(scopes, |scope| {
        scope.split_whitespace().map(str::to_owned).collect()
    });
    saver
        .save(NewConnection {
            name: args.name.clone(),
            app: "ghl".into(),
            auth_kind: AuthKind::OAuth2,
            account_id: Some(location.clone()),
            base_url: args.api_base.clone(),
            scopes: granted,
            credentials: stored.to_secret(),
            expires_at_ms: expires_at_ms(&tokens),
        })
        .await?;
    outln!(
        "Connected {:?}: HighLevel location {location} through OAuth 2.0.",
        args.name
    )?;
    Ok(())
}

async fn connect_flickr(saver: &Saver, args: FlickrConnectArgs) -> anyhow::Result<()> {
    use tether_connectors::auth::oauth1::{
        Consumer, FlowEndpoints, access_token, authorize_url, request_token,
    };
    use tether_connectors::flickr::{
        API_BASE, FlickrClient, FlickrEndpoints, OAUTH_BASE, StoredCredentials,
    };

    let (endpoints, flow, base_url) = match &args.base_url {
        Some(base) => {
            let url =
                Url::parse(base).with_context(|| format!("--base-url {base:?} is not a URL"))?;
            (
                FlickrEndpoints::single(&url),
                FlowEndpoints::flickr(&url),
                base.clone(),
            )
        }
        None => (
            FlickrEndpoints::flickr(),
            FlowEndpoints::flickr(&Url::parse(OAUTH_BASE).expect("Flickr's URL parses")),
            API_BASE.to_owned(),
        ),
    };
    let consumer = Consumer {
        key: args.consumer_key.clone(),
        secret: Secret::new(args.consumer_secret.clone()),
    };

    // The loopback callback catches the browser's redirect with the verifier.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.callback_port))
        .await
        .context("cannot open the callback port")?;
    let callback_url = format!("http://{}/callback", listener.local_addr()?);
    let (sender, mut receiver) = mpsc::channel::<HashMap<String, String>>(1);
    let router = axum::Router::new()
        .route("/callback", axum::routing::get(callback))
        .with_state(sender);
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    let request = request_token(&flow, &consumer, &callback_url)
        .await
        .context("Flickr refused the request token")?;
    let url = authorize_url(&flow, &request, args.perms);
    if let Some(nsid) = &args.sim_approve_as {
        // The simulator approves at once and redirects to our callback, as a browser would follow it.
        let mut approve = url.clone();
        approve
            .query_pairs_mut()
            .append_pair("sim_approve_as", nsid);
        reqwest::get(approve.as_str())
            .await
            .context("the simulator's authorize page did not answer")?;
    } else {
        outln!("Open this address in a browser and approve the access:\n\n  {url}\n")?;
        outln!("Waiting for Flickr to send the browser back to {callback_url} …")?;
    }
    let query = tokio::time::timeout(Duration::from_secs(args.timeout_secs), receiver.recv())
        .await
        .context("no answer from the browser in time")?
        .context("the callback stopped")?;
    server.abort();
    if query.get("oauth_token").map(String::as_str) != Some(request.pair.token.expose()) {
        bail!("the callback is for another request token; refusing it");
    }
    let verifier = query
        .get("oauth_verifier")
        .context("the callback carried no oauth_verifier (was the access denied?)")?;
    let access = access_token(&flow, &consumer, &request, verifier)
        .await
        .context("the token exchange failed")?;

    // The new token must work before it is stored.
    let client =
        FlickrClient::with_credentials(endpoints, consumer.clone(), access.pair.clone(), None)?;
    let me = client
        .test()
        .login()
        .await
        .context("flickr.test.login refused the new token")?;
    let perms = match client.test().check_token().await {
        Ok(info) => info.perms,
        Err(error) => {
            tracing::warn!(%error, "Cannot read the token's permission; storing the one asked for.");
            args.perms.to_string()
        }
    };
    let stored = StoredCredentials {
        consumer_key: consumer.key,
        consumer_secret: consumer.secret,
        token: access.pair.token,
        token_secret: access.pair.secret,
        user_nsid: me.id.to_string(),
        username: access.username.unwrap_or_else(|| me.username.clone()),
        fullname: access.fullname.unwrap_or_default(),
        perms: perms.clone(),
    };
    saver
        .save(NewConnection {
            name: args.name.clone(),
            app: "flickr".into(),
            auth_kind: AuthKind::OAuth1,
            account_id: Some(me.id.to_string()),
            base_url,
            scopes: vec![perms.clone()],
            credentials: stored.to_secret(),
            expires_at_ms: None,
        })
        .await?;
    outln!(
        "Connected {:?}: Flickr user {} ({}) with {perms} permission through OAuth 1.0a.",
        args.name,
        me.username,
        me.id
    )?;
    Ok(())
}

async fn callback(
    State(sender): State<mpsc::Sender<HashMap<String, String>>>,
    Query(query): Query<HashMap<String, String>>,
) -> Html<&'static str> {
    let _ = sender.send(query).await;
    Html("<p>Tether received the authorization. You can close this tab.</p>")
}

/// Stores connections through the service: tested first unless `--skip-test`.
struct Saver {
    service: Service,
    skip_test: bool,
}

impl Saver {
    /// Tests and stores `new`, or replaces the credentials of the connection of that name (a
    /// reconnect). Refused credentials store nothing; an unreachable app is stored with a
    /// warning.
    async fn save(&self, new: NewConnection) -> anyhow::Result<()> {
        let name = new.name.clone();
        let (stored, outcome) = self
            .service
            .connect(
                new,
                ConnectOptions {
                    skip_test: self.skip_test,
                    replace: true,
                },
            )
            .await?;
        match outcome {
            None => {
                tracing::warn!(connection = %name, "Stored without a test (--skip-test): `tether connections test {name}` tests it.")
            }
            Some(outcome) if outcome.health == Health::Ok => {
                tracing::info!(connection = %name, "Tested: {}.", outcome.message);
            }
            Some(outcome) => {
                eprintln!(
                    "warning: connection {name:?} is stored as {}: {}. `tether connections test {name}` tries again.",
                    stored.health.as_str(),
                    outcome.message
                );
            }
        }
        Ok(())
    }
}

/// An `http` or `https` URL with a host (clap's value parser, so a bad value is refused before
/// anything runs).
fn http_url(text: &str) -> Result<String, String> {
    match Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Ok(text.to_owned())
        }
        Ok(_) => Err(format!("{text:?} is not an http(s) URL with a host")),
        Err(error) => Err(format!(
            "{text:?} is not a URL ({error}); e.g. http://127.0.0.1:8801"
        )),
    }
}

fn random_state() -> String {
    (0..32)
        .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[fastrand::usize(..36)]))
        .collect()
}
