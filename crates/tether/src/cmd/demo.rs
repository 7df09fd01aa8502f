//! `tether demo`: the whole product on loopback with no account anywhere.
//!
//! It starts the GHL and Details Flowers simulators, a fresh store in a data folder, the two
//! connections, the shipped flows, the engine's worker and the webhook server; seeds GHL, syncs
//! every contact to Details Flowers with a progress bar, then makes a live change in GHL and
//! shows it arriving in Details Flowers through a signed webhook, and keeps syncing until Ctrl-C.
//! The connections are tested once at start, as `tether connect` does, so the web UI shows them
//! healthy; the web UI is what it prints first and last: a one-time sign-in link.

use crate::out::say;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use serde_json::{Value, json};
use tether_connectors::ghl::models::ContactInput;
use tether_connectors::registry::Registry;
use tether_core::Secret;
use tether_engine::invoke::Operations;
use tether_engine::worker::{Worker, starts};
use tether_sim::details_flowers::{
    DEFAULT_API_KEY, DetailsFlowersConfig, DetailsFlowersSim, SimRateLimit,
};
use tether_sim::flickr::{
    DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET, FlickrSim, FlickrSimConfig, Perms,
};
use tether_sim::ghl::{GhlSim, GhlSimConfig};
use tether_store::{AuthKind, NewConnection, Store, Vault};
use tokio_util::sync::CancellationToken;

const DEMO_PIT: &str = "demo-pit";
/// The demo simulator's requests per 10 s (GHL's own: 100).
const DEMO_GHL_BURST: u32 = 1_000;
/// The demo Details Flowers plan's requests per minute (the manifest's: 600).
const DEMO_DF_PER_MINUTE: u32 = 6_000;
/// The shipped flows, embedded so the demo runs from any folder.
const FLOWS: &[(&str, &str)] = &[
    (
        "ghl-contact-to-df-customer.yaml",
        include_str!("../../../../flows/ghl-contact-to-df-customer.yaml"),
    ),
    (
        "ghl-task-to-df.yaml",
        include_str!("../../../../flows/ghl-task-to-df.yaml"),
    ),
    (
        "ghl-note-to-df-note.yaml",
        include_str!("../../../../flows/ghl-note-to-df-note.yaml"),
    ),
    (
        "ghl-appointment-to-df-delivery.yaml",
        include_str!("../../../../flows/ghl-appointment-to-df-delivery.yaml"),
    ),
    (
        "df-customer-to-ghl-contact.yaml",
        include_str!("../../../../flows/df-customer-to-ghl-contact.yaml"),
    ),
    (
        "flickr-contact-to-ghl-contact.yaml",
        include_str!("../../../../flows/flickr-contact-to-ghl-contact.yaml"),
    ),
    (
        "flickr-photo-to-ghl-note.yaml",
        include_str!("../../../../flows/flickr-photo-to-ghl-note.yaml"),
    ),
    (
        "flickr-photoset-to-ghl-task.yaml",
        include_str!("../../../../flows/flickr-photoset-to-ghl-task.yaml"),
    ),
    (
        "ghl-notes-to-flickr-photoset.yaml",
        include_str!("../../../../flows/ghl-notes-to-flickr-photoset.yaml"),
    ),
];

/// Options of `tether demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How many GHL contacts to seed and sync.
    #[arg(long, default_value_t = 200)]
    contacts: usize,
    /// Folder for the demo's database, key and flows; the demo starts it afresh each time.
    #[arg(long, default_value = "tether-demo")]
    data_dir: PathBuf,
    /// Address of the GHL simulator; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    ghl_listen: SocketAddr,
    /// Address of the Details Flowers simulator.
    #[arg(long, default_value = "127.0.0.1:0")]
    details_flowers_listen: SocketAddr,
    /// Address of the Flickr simulator.
    #[arg(long, default_value = "127.0.0.1:0")]
    flickr_listen: SocketAddr,
    /// Address of Tether's server (webhook intake, REST API).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Exit after the live change instead of syncing until Ctrl-C.
    #[arg(long)]
    exit: bool,
}

/// Runs the demo.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let shutdown = CancellationToken::new();
    let store = fresh_store(&args.data_dir).await?;
    let flows_dir = write_flows(&args.data_dir)?;

    let n_contacts = args.contacts;
    let ghl = tokio::task::spawn_blocking(move || {
        GhlSim::new(GhlSimConfig {
            pits: vec![DEMO_PIT.into()],
            seed_contacts: n_contacts,
            // A tenfold budget so the walkthrough takes seconds: the initial sync reads each
            // contact's tasks, notes and appointments, and at GHL's real 100 per 10 s that is
            // minutes. Tether's limiter learns the limit from the simulator's headers, as it
            // does from GHL's.
            rate_limit: tether_sim::ghl::RateLimitConfig {
                burst_max: DEMO_GHL_BURST,
                ..tether_sim::ghl::RateLimitConfig::default()
            },
            ..GhlSimConfig::default()
        })
    })
    .await?;
    let ghl_world = ghl.world().clone();
    let location_id = ghl_world.config.location_id.clone();
    let ghl = ghl
        .spawn(args.ghl_listen, shutdown.clone())
        .await
        .context("cannot start the GHL simulator")?;
    // The shop's plan in the demo allows ten times the manifest's 600 requests a minute; the
    // connection is told so below (`tether connections set … --rate-limit`), as a user would.
    let details_flowers = DetailsFlowersSim::new(DetailsFlowersConfig {
        rate_limit: Some(SimRateLimit {
            requests: DEMO_DF_PER_MINUTE,
            window_ms: 60_000,
        }),
        ..DetailsFlowersConfig::default()
    })
    .spawn(args.details_flowers_listen, shutdown.clone())
    .await
    .context("cannot start the Details Flowers simulator")?;
    let df_world = details_flowers.sim.world().clone();

    connect(
        &store,
        "ghl-main",
        "ghl",
        AuthKind::PrivateToken,
        Some(&location_id),
        &ghl.base_url,
        DEMO_PIT,
    )
    .await?;
    connect(
        &store,
        "details-flowers-main",
        "details_flowers",
        AuthKind::ApiKey,
        None,
        &details_flowers.base_url,
        DEFAULT_API_KEY,
    )
    .await?;
    store
        .set_connection_settings(
            "details-flowers-main",
            &json!({"rate_limit": {"requests": DEMO_DF_PER_MINUTE, "window_secs": 60}}),
        )
        .await?;
    let flickr = FlickrSim::new(FlickrSimConfig::default())
        .spawn(args.flickr_listen, shutdown.clone())
        .await
        .context("cannot start the Flickr simulator")?;
    let flickr_world = flickr.sim.world().clone();
    let flickr_me = connect_flickr(&store, &flickr_world, &flickr.base_url).await?;
    // The shipped flows go into the store like any user's (`tether flows apply`), and run from
    // there; the files in the data folder are for reading.
    // The server's address is chosen now, so the service knows its public URL (the OAuth
    // redirect URLs the web UI shows, the sign-in links) before it serves.
    let listen = free_address(args.listen)?;
    let registry = Registry::new(store.clone());
    let ops: Arc<dyn Operations> = Arc::new(registry.clone());
    let service = tether_service::Service::new(
        store.clone(),
        ops.clone(),
        tether_engine::executor::FlowSet::new(),
        tether_service::Settings {
            public_url: format!("http://{listen}")
                .parse()
                .context("the demo's address is no URL")?,
            ..tether_service::Settings::default()
        },
    );
    // Each connection's one cheap read, as `tether connect` tests a new one: the web UI shows
    // their health from the start instead of `untested`.
    let mut tested = Vec::new();
    for name in ["ghl-main", "details-flowers-main", "flickr-main"] {
        let connection = service
            .test_connection(name)
            .await
            .with_context(|| format!("cannot test the demo's connection {name}"))?;
        if connection.health != tether_service::connections::Health::Ok {
            bail!(
                "the demo's connection {name} does not work: {} ({})",
                connection.health.as_str(),
                connection.last_error.unwrap_or_default()
            );
        }
        tested.push(format!("{name} {}", connection.health.as_str()));
    }
    let report = super::flows::apply_paths(
        &service,
        std::slice::from_ref(&flows_dir),
        Some("shipped with tether demo"),
        tether_service::flows::Checks::Full,
    )
    .await?;
    if report.refused > 0 {
        bail!(
            "the shipped flows do not apply:\n{}",
            report.lines.join("\n")
        );
    }
    let mut counter = service.reload_flows_since(0).await?;
    let flows = service.flows().clone();

    // The engine's worker, and the server that turns GHL's signed webhooks into runs.
    let worker = Worker::new(store.clone(), ops.clone(), flows.clone());
    let worker_task = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move { worker.run(shutdown).await })
    };
    let keys = ghl_world
        .webhooks
        .keys()
        .map_err(|error| anyhow::anyhow!("simulator keys: {error}"))?
        .published();
    let pem = |header: &str| keys[header]["publicKeyPem"].as_str().map(str::to_owned);
    let config = tether_server::ServerConfig {
        listen,
        ghl_rsa_public_key_pem: pem("x-wh-signature"),
        ghl_ed25519_public_key_pem: pem("x-ghl-signature"),
        ..tether_server::ServerConfig::default()
    };
    let matcher = {
        let flows = flows.clone();
        move |kind: &str, _payload: &Value| starts(&flows, tether_server::webhooks::SOURCE, kind)
    };
    let server =
        // The same service as the flows': the web UI sees the flows that run (a connection's
        // "used by") and the demo's public URL.
        tether_server::serve_with(config, service.clone(), Arc::new(matcher), shutdown.clone())
            .await?;
    ghl_world
        .webhooks
        .register(&format!("{}/hooks/ghl", server.base_url));

    say!(
        "Tether demo (everything on loopback; data in {})",
        args.data_dir.display()
    );
    say!(
        "  GHL simulator             {}  location {location_id}, {n_contacts} contacts, {DEMO_GHL_BURST} requests per 10 s (GHL: 100)",
        ghl.base_url
    );
    say!(
        "  Details Flowers simulator {}  {DEMO_DF_PER_MINUTE} requests per minute (manifest: 600)",
        details_flowers.base_url
    );
    say!(
        "  Flickr simulator          {}  user {flickr_me} (OAuth 1.0a, write)",
        flickr.base_url
    );
    say!(
        "  Tether server             {}  (webhooks: /hooks/ghl, API: /api/v1)",
        server.base_url
    );
    let login = super::accounts::demo_login(&service, server.addr).await?;
    say!("  sign in (one click, once, 15 min) {login}");
    say!(
        "  connections               {} (tested now)",
        tested.join(", ")
    );
    say!(
        "  flows                     {}",
        FLOWS
            .iter()
            .map(|(name, _)| name.trim_end_matches(".yaml"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // Initial sync: GHL's change feed from the beginning, so every contact (and its tasks, notes
    // and appointments) enters the webhook flows as the event its webhook would have been. The
    // same feed runs every few minutes afterwards in `tether serve` to catch lost webhooks.
    let synced = tether_engine::ghl_sync::sync_once(
        &store,
        ops.as_ref(),
        &flows,
        "ghl-main",
        "demo",
        tether_engine::ghl_sync::DEFAULT_PAGE,
        |report| {
            if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                // A progress line on a terminal only; a closed output is no reason to stop.
                let _ = write!(
                    std::io::stdout().lock(),
                    "\r  reading GHL: {} contacts, {} tasks/notes/appointments",
                    report.contacts,
                    report.related
                )
                .and_then(|()| std::io::stdout().flush());
            }
        },
    )
    .await
    .context("cannot read the GHL location")?;
    say!();
    let counts = store.run_counts().await?;
    let n_runs = usize::try_from(counts.total()).unwrap_or(0);
    wait_for_runs(&store, n_runs, "initial sync").await?;
    let n_without_email = {
        let locations = ghl_world.locations.read();
        locations.get(&location_id).map_or(0, |location| {
            location
                .read()
                .contacts
                .values()
                .filter(|contact| contact.email.as_deref().is_none_or(str::is_empty))
                .count()
        })
    };
    let (n_customers, n_tasks, n_notes, n_deliveries) = {
        let records = df_world.records.lock();
        let count = |name: &str| {
            df_world
                .manifest
                .resources
                .iter()
                .position(|resource| resource.name == name)
                .map_or(0, |index| records.count(index))
        };
        (
            count("customer"),
            count("task"),
            count("note"),
            count("delivery"),
        )
    };
    let counts = store.run_counts().await?;
    say!(
        "  {} GHL contacts ({n_without_email} without an e-mail, skipped by the flows' filters) → {n_customers} Details Flowers customers",
        synced.contacts
    );
    say!(
        "  {} GHL tasks, notes and appointments → {n_tasks} tasks, {n_notes} notes, {n_deliveries} deliveries; in {:.1?}, {} runs dead-lettered",
        synced.related,
        started.elapsed(),
        counts.dead,
    );
    let ghl_client = registry.ghl("ghl-main").await?;

    // A live change: a new contact in GHL reaches Details Flowers through a signed webhook.
    let live_started = Instant::now();
    let email = format!("live.{}@example.com", std::process::id());
    let input = ContactInput {
        first_name: Some("Rosa".into()),
        last_name: Some("Live".into()),
        email: Some(email.clone()),
        ..ContactInput::default()
    };
    ghl_client
        .contacts()
        .create(&input)
        .await
        .context("cannot create the live contact")?;
    let df = registry.rest_app("details-flowers-main").await?;
    let found = loop {
        let found = df
            .invoke(
                "details_flowers.customer.find_by_email",
                json!({ "email": email }),
            )
            .await?;
        if found.as_array().is_some_and(|items| !items.is_empty())
            || found
                .get("items")
                .and_then(Value::as_array)
                .is_some_and(|items| !items.is_empty())
        {
            break found;
        }
        if live_started.elapsed() > Duration::from_secs(60) {
            bail!(
                "the live change did not reach Details Flowers within 60 s; see `tether runs --data-dir {}`",
                args.data_dir.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let _ = found;
    say!(
        "  live: contact {email} created in GHL → webhook → run → Details Flowers customer in {} ms",
        live_started.elapsed().as_millis()
    );
    flickr_tour(
        &store,
        &registry,
        &flows,
        &flickr_world,
        &flickr_me,
        &ghl_world,
        &location_id,
    )
    .await?;
    say!();
    say!("Look around:");
    // A fresh link: the first may be spent, or past its 15 minutes on a slow machine.
    let login = super::accounts::demo_login(&service, server.addr).await?;
    say!("  open the web UI (the flows, their runs, the connections): {login}");
    say!("  tether runs --data-dir {}", args.data_dir.display());
    say!("  tether dlq list --data-dir {}", args.data_dir.display());
    say!("  curl -s {}/api/v1/health", server.base_url);
    say!(
        "  curl -s -H 'Authorization: Bearer {DEMO_PIT}' -H 'Version: 2021-07-28' '{}/contacts/?locationId={location_id}&limit=2'",
        ghl.base_url
    );

    let mut poller_task = None;
    if !args.exit {
        // The other direction starts now, after the walkthrough: Details Flowers customers that a
        // person adds or changes are polled and written to GHL, field by field; the customers
        // Tether wrote itself are recognised through the links and write nothing (docs/sync.md).
        let poller = tether_engine::poller::Poller::new(store.clone(), ops.clone(), flows.clone());
        let reconcile = tether_engine::ghl_sync::run(
            store.clone(),
            ops,
            flows.clone(),
            Duration::from_secs(60),
            shutdown.clone(),
        );
        // Flows published from the web UI (or `tether flows apply`) run within seconds, as in
        // `tether serve`.
        let reload = {
            let (service, shutdown) = (service.clone(), shutdown.clone());
            async move {
                loop {
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(Duration::from_secs(2)) => {}
                    }
                    if let Ok(next) = service.reload_flows_since(counter).await {
                        counter = next;
                    }
                }
            }
        };
        let shutdown = shutdown.clone();
        poller_task = Some(tokio::spawn(async move {
            tokio::join!(poller.run(shutdown), reconcile, reload);
        }));
        say!(
            "Syncing live changes both ways until Ctrl-C (Details Flowers is polled, and GHL reconciled, every minute)."
        );
        tokio::signal::ctrl_c()
            .await
            .context("cannot wait for Ctrl-C")?;
    }
    shutdown.cancel();
    if let Some(task) = poller_task {
        let _ = task.await;
    }
    let _ = worker_task.await;
    server.stop().await?;
    ghl.stop().await?;
    details_flowers.stop().await?;
    flickr.stop().await?;
    store.close().await;
    Ok(())
}

/// `listen` with a free port in place of port 0 (the port is free now; the server binds it
/// moments later, as `tether serve` does).
fn free_address(listen: SocketAddr) -> anyhow::Result<SocketAddr> {
    if listen.port() != 0 {
        return Ok(listen);
    }
    let probe = std::net::TcpListener::bind(listen)
        .with_context(|| format!("cannot listen on {listen}"))?;
    let address = probe.local_addr()?;
    drop(probe);
    Ok(address)
}

/// A fresh store in `data_dir`: the demo's own folder, emptied of a previous demo's database.
async fn fresh_store(data_dir: &Path) -> anyhow::Result<Store> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    for file in ["tether.sqlite", "tether.sqlite-wal", "tether.sqlite-shm"] {
        let path = data_dir.join(file);
        if path.exists() {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot reset {}", path.display()))?;
        }
    }
    let vault = Vault::load(&data_dir.join("secret.key"))?;
    Ok(Store::open_sqlite(&data_dir.join("tether.sqlite"), vault).await?)
}

fn write_flows(data_dir: &Path) -> anyhow::Result<PathBuf> {
    let dir = data_dir.join("flows");
    std::fs::create_dir_all(&dir)?;
    for (name, text) in FLOWS {
        std::fs::write(dir.join(name), text).with_context(|| format!("cannot write {name}"))?;
    }
    Ok(dir)
}

async fn connect(
    store: &Store,
    name: &str,
    app: &str,
    auth_kind: AuthKind,
    account_id: Option<&str>,
    base_url: &str,
    secret: &str,
) -> anyhow::Result<()> {
    store
        .create_connection(NewConnection {
            name: name.into(),
            app: app.into(),
            auth_kind,
            account_id: account_id.map(str::to_owned),
            base_url: base_url.into(),
            scopes: Vec::new(),
            credentials: Secret::new(secret),
            expires_at_ms: None,
        })
        .await?;
    Ok(())
}

/// Waits until `n_runs` runs have finished (done or dead-lettered), drawing a progress bar.
async fn wait_for_runs(store: &Store, n_runs: usize, label: &str) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    // Redraw in place on a terminal; elsewhere (a log, a test) print only the final line.
    let redraw = std::io::stdout().is_terminal();
    let started = Instant::now();
    loop {
        let counts = store.run_counts().await?;
        let finished = usize::try_from(counts.done + counts.dead)
            .unwrap_or(0)
            .min(n_runs);
        let width = 30;
        let filled = (finished * width).checked_div(n_runs).unwrap_or(width);
        let bar = format!(
            "  {label} [{}{}] {finished}/{n_runs} runs",
            "#".repeat(filled),
            ".".repeat(width - filled)
        );
        if redraw {
            let _ = write!(std::io::stdout().lock(), "\r{bar}")
                .and_then(|()| std::io::stdout().flush());
        }
        if finished >= n_runs {
            if redraw {
                say!();
            } else {
                say!("{bar}");
            }
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("the {label} did not finish in 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The demo's Flickr account: a florist's studio, connected with an access token the simulator
/// mints (what `tether connect flickr` obtains through the OAuth 1.0a dance). Answers its NSID.
async fn connect_flickr(
    store: &Store,
    world: &tether_sim::flickr::World,
    base_url: &str,
) -> anyhow::Result<String> {
    let me = world.add_user(
        "details-flowers-studio",
        "Details Flowers Studio",
        Some("studio@example.com"),
    );
    let (token, token_secret) = world.mint_access_token(DEFAULT_CONSUMER_KEY, &me, Perms::Write);
    let credentials = tether_connectors::flickr::StoredCredentials {
        consumer_key: DEFAULT_CONSUMER_KEY.into(),
        consumer_secret: Secret::new(DEFAULT_CONSUMER_SECRET),
        token: Secret::new(token),
        token_secret: Secret::new(token_secret),
        user_nsid: me.clone(),
        username: "details-flowers-studio".into(),
        fullname: "Details Flowers Studio".into(),
        perms: "write".into(),
    };
    store
        .create_connection(NewConnection {
            name: "flickr-main".into(),
            app: "flickr".into(),
            auth_kind: AuthKind::OAuth1,
            account_id: Some(me.clone()),
            base_url: base_url.into(),
            scopes: vec!["write".into()],
            credentials: credentials.to_secret(),
            expires_at_ms: None,
        })
        .await?;
    Ok(me)
}

/// Flickr ⇄ GHL: the studio's Flickr contacts become GHL contacts, its photos notes on their
/// owner's contact, an album a task whose completion follows it, and the contact's notes are
/// rendered back into the album's description.
async fn flickr_tour(
    store: &Store,
    registry: &Registry,
    flows: &tether_engine::executor::FlowSet,
    flickr: &tether_sim::flickr::World,
    me: &str,
    ghl: &tether_sim::ghl::World,
    location_id: &str,
) -> anyhow::Result<()> {
    for (username, realname) in [
        ("ada.bloom", "Ada Bloom"),
        ("grace.fern", "Grace Fern"),
        ("ivy.moss", "Ivy Moss"),
    ] {
        let person = flickr.add_user(username, realname, None);
        flickr.add_contact(me, &person);
    }
    let photos: Vec<String> = [
        ("Peonies", "A June bouquet of white peonies."),
        ("Wedding arch", "Roses and eucalyptus, Saturday's wedding."),
        ("Shop window", "The autumn window."),
    ]
    .iter()
    .map(|(title, caption)| flickr.add_photo(me, title, caption, &["flowers"]))
    .collect();
    registry
        .invoke(
            "flickr-main",
            "flickr.photoset.create",
            json!({"title": "Autumn weddings", "primary_photo_id": photos[1]}),
        )
        .await
        .context("cannot create the demo album")?;
    let started = Instant::now();
    let before = total_runs(store).await?;
    for flow in [
        "flickr-contact-to-ghl-contact",
        "flickr-photo-to-ghl-note",
        "flickr-photoset-to-ghl-task",
    ] {
        tether_engine::poller::poll_once(store, registry, flows, flow, tether_store::now_ms())
            .await
            .with_context(|| format!("cannot poll {flow}"))?;
    }
    // The notes written into GHL come back as webhooks and render the album's description;
    // wait for those runs too.
    let mut seen = 0;
    loop {
        let total = total_runs(store).await?;
        let pending = store.unfinished_run_counts().await?.pending();
        if pending == 0 && total == seen && started.elapsed() > Duration::from_secs(1) {
            break;
        }
        seen = total;
        if started.elapsed() > Duration::from_secs(60) {
            bail!("the Flickr flows did not settle within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (n_contacts, n_notes, n_tasks) = {
        let locations = ghl.locations.read();
        locations.get(location_id).map_or((0, 0, 0), |location| {
            let location = location.read();
            let flickr_contacts: Vec<_> = location
                .contacts
                .values()
                .filter(|contact| contact.tags.iter().any(|tag| tag == "flickr"))
                .collect();
            (
                flickr_contacts.len(),
                flickr_contacts
                    .iter()
                    .map(|contact| contact.notes.len())
                    .sum::<usize>(),
                flickr_contacts
                    .iter()
                    .map(|contact| contact.tasks.len())
                    .sum::<usize>(),
            )
        })
    };
    let album = flickr
        .photosets_of(me)
        .first()
        .and_then(|id| flickr.photoset(id))
        .map(|set| set.description)
        .unwrap_or_default();
    say!(
        "  Flickr: 3 contacts and the studio → {n_contacts} GHL contacts; 3 photos → {n_notes} GHL notes; 1 album → {n_tasks} GHL task; {} runs in {} ms",
        total_runs(store).await? - before,
        started.elapsed().as_millis()
    );
    let rendered: Vec<&str> = album
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .take(2)
        .collect();
    if !rendered.is_empty() {
        say!(
            "  Flickr album description rendered from GHL: {:?} …",
            rendered.join(" / ")
        );
    }
    Ok(())
}

async fn total_runs(store: &Store) -> anyhow::Result<i64> {
    let counts = store.run_counts().await?;
    Ok(counts.total())
}
