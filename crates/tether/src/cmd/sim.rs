//! `tether sim APP`: run a simulator as a standalone HTTP server.

use crate::out::say;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use tether_sim::ghl::{GhlSim, GhlSimConfig, OAuthApp, RateLimitConfig};
use tokio_util::sync::CancellationToken;

/// Arguments of `tether sim`.
#[derive(Debug, Args)]
pub struct SimArgs {
    #[command(subcommand)]
    app: SimApp,
}

#[derive(Debug, Subcommand)]
enum SimApp {
    /// HighLevel (GHL / LeadConnector): Contacts v2, appointments, OAuth 2.0, webhooks, rate limits.
    Ghl(GhlArgs),
    /// Details Flowers, a florist's back office, served from its app manifest.
    DetailsFlowers(DetailsFlowersArgs),
    /// Flickr: the REST API, upload and OAuth 1.0a, every signature verified, hourly limit.
    Flickr(FlickrArgs),
}

/// Options of the Flickr simulator.
#[derive(Debug, Args)]
pub struct FlickrArgs {
    /// Address to listen on; use port 0 to pick a free port.
    #[arg(long, default_value = "127.0.0.1:8803")]
    listen: SocketAddr,
    /// Consumer (API) key of the registered app.
    #[arg(long, default_value = "sim-flickr-key")]
    consumer_key: String,
    /// Consumer secret of the registered app.
    #[arg(long, default_value = "sim-flickr-secret")]
    consumer_secret: String,
    /// How many users to generate, each with photos, albums, comments and contacts.
    #[arg(long, default_value_t = 5)]
    seed_users: usize,
    /// Seed of the data generator: the same value gives the same ids and data.
    #[arg(long, default_value_t = 7)]
    rng_seed: u64,
    /// Flickr's hourly limit per consumer key (HTTP 429 past it), or none.
    #[arg(long, value_enum, default_value = "on")]
    rate_limit: OnOff,
    /// Requests allowed per consumer key in any hour.
    #[arg(long, default_value_t = 3_600)]
    hourly_max: u32,
    /// How many received requests to keep for `GET /__sim/requests` (0 keeps none).
    #[arg(long, default_value_t = 10_000)]
    request_log: usize,
    /// Approve every OAuth authorize page at once, as the first user with the perms asked, and
    /// redirect to the callback: a standard OAuth 1.0a client then runs unattended.
    #[arg(long)]
    auto_approve: bool,
}

/// Options of the Details Flowers simulator.
#[derive(Debug, Args)]
pub struct DetailsFlowersArgs {
    /// Address to listen on; use port 0 to pick a free port.
    #[arg(long, default_value = "127.0.0.1:8802")]
    listen: SocketAddr,
    /// An API key the simulator accepts (repeatable); default `sim-api-key`.
    #[arg(long = "api-key")]
    api_keys: Vec<String>,
    /// How many customers to generate.
    #[arg(long, default_value_t = 0)]
    seed: usize,
    /// The manifest's rate limit, or none.
    #[arg(long, value_enum, default_value = "on")]
    rate_limit: OnOff,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OnOff {
    On,
    Off,
}

/// Options of the GHL simulator.
#[derive(Debug, Args)]
pub struct GhlArgs {
    /// Address to listen on; use port 0 to pick a free port.
    #[arg(long, default_value = "127.0.0.1:8801")]
    listen: SocketAddr,
    /// A private integration token accepted on the seeded location (repeatable).
    #[arg(long = "pit")]
    pits: Vec<String>,
    /// How many contacts to generate in the seeded location.
    #[arg(long, default_value_t = 0)]
    seed: usize,
    /// Seed of the data generator: the same value gives the same ids and records.
    #[arg(long, default_value_t = 42)]
    rng_seed: u64,
    /// GHL's rate limits (100 per 10 s and 200,000 per day, per app per location), or none.
    #[arg(long, value_enum, default_value = "on")]
    rate_limit: OnOff,
    /// Requests allowed per burst window.
    #[arg(long, default_value_t = 100)]
    burst_max: u32,
    /// Length of the burst window, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    burst_window_ms: u64,
    /// Requests allowed per UTC day.
    #[arg(long, default_value_t = 200_000)]
    daily_max: u32,
    /// Lifetime of OAuth access tokens, in seconds.
    #[arg(long, default_value_t = 86_399)]
    token_ttl_secs: u64,
    /// OAuth client id of the registered Marketplace app.
    #[arg(long, default_value = "sim-client-id")]
    client_id: String,
    /// OAuth client secret of the registered Marketplace app.
    #[arg(long, default_value = "sim-client-secret")]
    client_secret: String,
    /// A webhook receiver URL (repeatable); every change is delivered there, signed.
    #[arg(long = "webhook-url")]
    webhook_urls: Vec<String>,
    /// Seconds between webhook redeliveries after a 429 (GHL: about 600).
    #[arg(long, default_value_t = 600)]
    webhook_retry_secs: u64,
    /// Seconds to wait for a webhook receiver's answer before giving up on a delivery.
    #[arg(long, default_value_t = 10)]
    webhook_timeout_secs: u64,
    /// A folder with other webhook signing keys (see crates/tether-sim/keys/README.md).
    #[arg(long)]
    webhook_keys: Option<PathBuf>,
    /// Accept any documented `Version` value on any operation, not only those its path is
    /// documented for (its spec's value, `2023-02-21`, and `v3` on the v3 paths).
    #[arg(long)]
    lenient_version: bool,
    /// Approve every OAuth authorize request at once and redirect with the code, so a standard
    /// OAuth 2.0 client can run unattended (no consent page).
    #[arg(long)]
    auto_approve: bool,
    /// The location `--auto-approve` installs to (default: the seeded location).
    #[arg(long, requires = "auto_approve")]
    auto_approve_location: Option<String>,
    /// How many received requests to keep for `GET /__sim/requests` (0 keeps none).
    #[arg(long, default_value_t = 10_000)]
    request_log: usize,
}

impl GhlArgs {
    fn config(&self) -> GhlSimConfig {
        GhlSimConfig {
            pits: self.pits.clone(),
            seed_contacts: self.seed,
            rng_seed: Some(self.rng_seed),
            rate_limit: RateLimitConfig {
                enabled: matches!(self.rate_limit, OnOff::On),
                burst_max: self.burst_max,
                burst_window: Duration::from_millis(self.burst_window_ms),
                daily_max: self.daily_max,
            },
            access_token_ttl: Duration::from_secs(self.token_ttl_secs),
            apps: vec![OAuthApp {
                client_id: self.client_id.clone(),
                client_secret: self.client_secret.clone(),
                redirect_uris: Vec::new(),
                webhook_url: None,
            }],
            webhook_urls: self.webhook_urls.clone(),
            webhook_keys_dir: self.webhook_keys.clone(),
            webhook_retry_interval: Duration::from_secs(self.webhook_retry_secs),
            webhook_timeout: Duration::from_secs(self.webhook_timeout_secs),
            strict_version: !self.lenient_version,
            auto_approve: self
                .auto_approve
                .then(|| self.auto_approve_location.clone()),
            request_log_capacity: self.request_log,
            ..GhlSimConfig::default()
        }
    }
}

/// Runs `tether sim ...` until Ctrl-C.
pub async fn run(args: SimArgs) -> anyhow::Result<()> {
    match args.app {
        SimApp::Ghl(ghl) => run_ghl(ghl).await,
        SimApp::DetailsFlowers(args) => run_details_flowers(args).await,
        SimApp::Flickr(args) => run_flickr(args).await,
    }
}

async fn run_ghl(args: GhlArgs) -> anyhow::Result<()> {
    let config = args.config();
    let started = std::time::Instant::now();
    let sim = tokio::task::spawn_blocking(move || GhlSim::new(config)).await?;
    let seeded_in = started.elapsed();
    let location_id = sim.world().config.location_id.clone();
    let shutdown = CancellationToken::new();
    let running = sim
        .spawn(args.listen, shutdown.clone())
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    say!("GHL simulator listening on {}", running.base_url);
    say!(
        "  location:  {location_id} ({} contacts seeded in {:.2?})",
        args.seed,
        seeded_in
    );
    for pit in &args.pits {
        say!("  PIT:       {pit}");
    }
    say!(
        "  OAuth:     {}/oauth/chooselocation?response_type=code&client_id={}&redirect_uri=...&scope=contacts.readonly%20contacts.write",
        running.base_url,
        args.client_id
    );
    if args.auto_approve {
        say!(
            "  consent:   approved at once for {}",
            args.auto_approve_location
                .as_deref()
                .unwrap_or(&location_id)
        );
    }
    say!(
        "  admin:     {}/__sim/requests, /__sim/faults, /__sim/webhook-keys",
        running.base_url
    );
    if let Some(pit) = args.pits.first() {
        say!(
            "  try:       curl -H 'Authorization: Bearer {pit}' -H 'Version: 2021-07-28' '{}/contacts/?locationId={location_id}&limit=3'",
            running.base_url
        );
    }
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    say!("Stopping.");
    running.stop().await?;
    Ok(())
}

async fn run_details_flowers(args: DetailsFlowersArgs) -> anyhow::Result<()> {
    use tether_sim::details_flowers::{DEFAULT_API_KEY, DetailsFlowersConfig, DetailsFlowersSim};
    let mut config = DetailsFlowersConfig {
        seed_customers: args.seed,
        ..DetailsFlowersConfig::default()
    };
    if !args.api_keys.is_empty() {
        config.api_keys = args.api_keys.clone();
    }
    if matches!(args.rate_limit, OnOff::Off) {
        config.rate_limit = None;
    }
    let keys = config.api_keys.clone();
    let shutdown = CancellationToken::new();
    let running = DetailsFlowersSim::new(config)
        .spawn(args.listen, shutdown.clone())
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    say!(
        "Details Flowers simulator listening on {}",
        running.base_url
    );
    say!("  customers: {} seeded", args.seed);
    say!(
        "  API keys:  {} (header X-Api-Key)",
        if keys.is_empty() {
            DEFAULT_API_KEY.to_owned()
        } else {
            keys.join(", ")
        }
    );
    say!(
        "  admin:     {}/__sim/requests, /__sim/faults, /__sim/rate-limit",
        running.base_url
    );
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    say!("Stopping.");
    running.stop().await?;
    Ok(())
}

async fn run_flickr(args: FlickrArgs) -> anyhow::Result<()> {
    use tether_sim::flickr::{FlickrSim, FlickrSimConfig, SimHourlyLimit};
    let config = FlickrSimConfig {
        apps: vec![(args.consumer_key.clone(), args.consumer_secret.clone())],
        seed_users: args.seed_users,
        rng_seed: args.rng_seed,
        rate_limit: matches!(args.rate_limit, OnOff::On).then_some(SimHourlyLimit {
            requests: args.hourly_max,
            window_ms: 3_600_000,
        }),
        request_log_capacity: args.request_log,
        auto_approve: args.auto_approve,
        ..FlickrSimConfig::default()
    };
    let sim = tokio::task::spawn_blocking(move || FlickrSim::new(config)).await?;
    let users = sim.world().user_nsids();
    let counts = sim.world().counts();
    let shutdown = CancellationToken::new();
    let running = sim
        .spawn(args.listen, shutdown.clone())
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let base = &running.base_url;
    say!("Flickr simulator listening on {base}");
    say!(
        "  seeded:    {} users, {} photos, {} albums",
        counts.users,
        counts.photos,
        counts.photosets
    );
    if let Some(nsid) = users.first() {
        say!("  first user: {nsid}");
    }
    say!(
        "  app:       consumer key {} / secret {}",
        args.consumer_key,
        args.consumer_secret
    );
    say!("  REST:      {base}/services/rest (upload: {base}/services/upload/)");
    say!(
        "  OAuth:     {base}/services/oauth/request_token, /authorize (sim_approve_as=NSID), /access_token"
    );
    if args.auto_approve
        && let Some(nsid) = users.first()
    {
        say!("  authorize: approves at once as {nsid} (--auto-approve)");
    }
    say!(
        "  admin:     {base}/__sim/health, /__sim/requests, /__sim/faults, /__sim/rate-limit, /__sim/tokens"
    );
    say!(
        "  try:       curl '{base}/services/rest?method=flickr.test.echo&api_key={}&format=json&nojsoncallback=1'",
        args.consumer_key
    );
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    say!("Stopping.");
    running.stop().await?;
    Ok(())
}
