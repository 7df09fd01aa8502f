//! `tether connect APP`: authorize an account and store the connection, sealed.

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
use tether_store::{AuthKind, NewConnection, Store};
use tokio::sync::mpsc;
use url::Url;

use super::data::DataArgs;

/// Arguments of `tether connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    #[command(subcommand)]
    app: ConnectApp,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Debug, Subcommand)]
enum ConnectApp {
    /// HighLevel: OAuth 2.0 (authorization code) or a private integration token.
    Ghl(GhlConnectArgs),
    /// Details Flowers (or any app of a shipped manifest with API-key auth).
    DetailsFlowers(ApiKeyConnectArgs),
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
    #[arg(long)]
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
    #[arg(long, default_value = BASE_URL)]
    api_base: String,
    /// Where the consent page lives; defaults to HighLevel's marketplace, or to `--api-base` when
    /// that is a simulator on loopback.
    #[arg(long)]
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
    let store = args.data.open().await?;
    match args.app {
        ConnectApp::Ghl(ghl) => connect_ghl(&store, ghl).await,
        ConnectApp::DetailsFlowers(args) => {
            Url::parse(&args.base_url)
                .with_context(|| format!("--base-url {:?} is not a URL", args.base_url))?;
            save(
                &store,
                NewConnection {
                    name: args.name.clone(),
                    app: "details_flowers".into(),
                    auth_kind: AuthKind::ApiKey,
                    account_id: None,
                    base_url: args.base_url.clone(),
                    scopes: Vec::new(),
                    credentials: Secret::new(args.api_key),
                    expires_at_ms: None,
                },
            )
            .await?;
            println!(
                "Connected {:?}: Details Flowers at {} with an API key.",
                args.name, args.base_url
            );
            Ok(())
        }
    }
}

async fn connect_ghl(store: &Store, args: GhlConnectArgs) -> anyhow::Result<()> {
    let scopes: Vec<String> = args.scopes.split_whitespace().map(str::to_owned).collect();
    if let Some(pit) = &args.pit {
        let location = args
            .location
            .clone()
            .context("a private integration token needs --location LOCATION_ID")?;
        save(
            store,
            NewConnection {
                name: args.name.clone(),
                app: "ghl".into(),
                auth_kind: AuthKind::PrivateToken,
                account_id: Some(location.clone()),
                base_url: args.api_base.clone(),
                scopes,
                credentials: Secret::new(pit.clone()),
                expires_at_ms: None,
            },
        )
        .await?;
        println!(
            "Connected {:?}: HighLevel location {location} with a private integration token.",
            args.name
        );
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
        println!("Open this address in a browser and approve the access:\n\n  {url}\n");
        println!(
            "Waiting for HighLevel to send the browser back to {} …",
            app.redirect_uri
        );
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
    save(
        store,
        NewConnection {
            name: args.name.clone(),
            app: "ghl".into(),
            auth_kind: AuthKind::OAuth2,
            account_id: Some(location.clone()),
            base_url: args.api_base.clone(),
            scopes: granted,
            credentials: stored.to_secret(),
            expires_at_ms: expires_at_ms(&tokens),
        },
    )
    .await?;
    println!(
        "Connected {:?}: HighLevel location {location} through OAuth 2.0.",
        args.name
    );
    Ok(())
}

async fn callback(
    State(sender): State<mpsc::Sender<HashMap<String, String>>>,
    Query(query): Query<HashMap<String, String>>,
) -> Html<&'static str> {
    let _ = sender.send(query).await;
    Html("<p>Tether received the authorization. You can close this tab.</p>")
}

/// Creates the connection, or replaces the credentials of an existing one with the same name.
async fn save(store: &Store, new: NewConnection) -> anyhow::Result<()> {
    match store.connection(&new.name).await {
        Ok(existing) => {
            if existing.app != new.app {
                bail!(
                    "a {} connection named {:?} exists already",
                    existing.app,
                    new.name
                );
            }
            let written = store
                .update_credentials(
                    &existing.id,
                    existing.version,
                    &new.credentials,
                    new.expires_at_ms,
                )
                .await?;
            if !written {
                bail!("the connection changed while reconnecting; try again");
            }
            Ok(())
        }
        Err(tether_store::Error::NotFound { .. }) => {
            store.create_connection(new).await?;
            Ok(())
        }
        Err(error) => Err(error.into()),
    }
}

fn random_state() -> String {
    (0..32)
        .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[fastrand::usize(..36)]))
        .collect()
}
