//! `tether demo`: the built-in GHL simulator on loopback, seeded, and a guided tour of the
//! Contacts API through it, so a person sees the moving parts with no account anywhere.
//!
//! The tour speaks plain HTTP until the typed GHL connector exists; the sync engine, Details
//! Flowers and the web UI join the demo as they land (see the open issues).

use std::net::SocketAddr;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use serde_json::{Value, json};
use tether_sim::ghl::{GhlSim, GhlSimConfig};
use tokio_util::sync::CancellationToken;

const DEMO_PIT: &str = "demo-pit";
const VERSION_CONTACTS: &str = "2021-07-28";
const VERSION_CALENDARS: &str = "2021-04-15";

/// Options of `tether demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address of the GHL simulator; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    ghl_listen: SocketAddr,
    /// How many contacts to seed.
    #[arg(long, default_value_t = 1_000)]
    contacts: usize,
    /// Exit after the tour instead of serving until Ctrl-C.
    #[arg(long)]
    exit: bool,
}

/// Runs the demo.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let n_contacts = args.contacts;
    let sim = tokio::task::spawn_blocking(move || {
        GhlSim::new(GhlSimConfig {
            pits: vec![DEMO_PIT.into()],
            seed_contacts: n_contacts,
            ..GhlSimConfig::default()
        })
    })
    .await?;
    let location_id = sim.world().config.location_id.clone();
    let shutdown = CancellationToken::new();
    let running = sim
        .spawn(args.ghl_listen, shutdown.clone())
        .await
        .context("cannot start the GHL simulator")?;
    println!("Tether demo");
    println!(
        "  GHL simulator  {}  (location {location_id}, {n_contacts} contacts seeded in {:.2?})",
        running.base_url,
        started.elapsed()
    );

    let tour = Tour {
        http: reqwest::Client::new(),
        base: running.base_url.clone(),
        location_id,
    };
    tour.run().await?;

    println!();
    println!("Try it yourself:");
    println!(
        "  curl -s -H 'Authorization: Bearer {DEMO_PIT}' -H 'Version: {VERSION_CONTACTS}' '{}/contacts/?locationId={}&limit=2'",
        running.base_url, tour.location_id
    );
    println!(
        "  what the simulator received: {}/__sim/requests",
        running.base_url
    );
    if args.exit {
        running.stop().await?;
        return Ok(());
    }
    println!("Serving until Ctrl-C.");
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    running.stop().await?;
    Ok(())
}

struct Tour {
    http: reqwest::Client,
    base: String,
    location_id: String,
}

impl Tour {
    async fn call(
        &self,
        version: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(DEMO_PIT)
            .header("Version", version);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = response.status();
        let remaining = response
            .headers()
            .get("x-ratelimit-remaining")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("-")
            .to_owned();
        let body: Value = response
            .json()
            .await
            .with_context(|| format!("{method} {path}: body is not JSON"))?;
        println!(
            "  {:<6} {:<48} {}  (rate limit left {remaining})",
            method.as_str(),
            path,
            status.as_u16()
        );
        if !status.is_success() {
            bail!("{method} {path} answered {status}: {body}");
        }
        Ok(body)
    }

    async fn run(&self) -> anyhow::Result<()> {
        use reqwest::Method;
        let location_id = &self.location_id;
        println!();
        println!("A tour of the Contacts API, through the simulator:");
        let found = self
            .call(
                VERSION_CONTACTS,
                Method::POST,
                "/contacts/search",
                Some(json!({"locationId": location_id, "pageLimit": 3})),
            )
            .await?;
        println!("         {} contacts in the location", found["total"]);
        let email = format!("demo.{}@example.com", std::process::id());
        let created = self
            .call(
                VERSION_CONTACTS,
                Method::POST,
                "/contacts/",
                Some(json!({"locationId": location_id, "firstName": "Rosa", "lastName": "Demo", "email": email, "tags": ["demo"]})),
            )
            .await?;
        let contact_id = created["contact"]["id"]
            .as_str()
            .context("created contact has an id")?
            .to_owned();
        println!("         created contact {contact_id}");
        let upserted = self
            .call(
                VERSION_CONTACTS,
                Method::POST,
                "/contacts/upsert",
                Some(json!({"locationId": location_id, "email": email, "city": "Lisbon"})),
            )
            .await?;
        println!(
            "         upsert by e-mail matched the same contact: new = {}",
            upserted["new"]
        );
        self.call(
            VERSION_CONTACTS,
            Method::POST,
            &format!("/contacts/{contact_id}/tags"),
            Some(json!({"tags": ["vip"]})),
        )
        .await?;
        self.call(
            VERSION_CONTACTS,
            Method::POST,
            &format!("/contacts/{contact_id}/tasks"),
            Some(json!({"title": "Call about the wedding bouquet", "dueDate": "2026-12-01T10:00:00Z", "completed": false})),
        )
        .await?;
        self.call(
            VERSION_CONTACTS,
            Method::POST,
            &format!("/contacts/{contact_id}/notes"),
            Some(json!({"body": "Prefers peonies."})),
        )
        .await?;
        let calendars = self
            .call(
                VERSION_CALENDARS,
                Method::GET,
                &format!("/calendars/?locationId={location_id}"),
                None,
            )
            .await?;
        if let Some(calendar_id) = calendars["calendars"][0]["id"].as_str() {
            self.call(
                VERSION_CALENDARS,
                Method::POST,
                "/calendars/events/appointments",
                Some(json!({
                    "calendarId": calendar_id, "locationId": location_id, "contactId": contact_id,
                    "startTime": "2026-12-02T15:00:00+00:00", "title": "Bouquet fitting"
                })),
            )
            .await?;
        }
        let contact = self
            .call(
                VERSION_CONTACTS,
                Method::GET,
                &format!("/contacts/{contact_id}"),
                None,
            )
            .await?;
        println!(
            "         {} <{}> tags {}",
            contact["contact"]["name"], contact["contact"]["email"], contact["contact"]["tags"]
        );
        self.call(
            VERSION_CONTACTS,
            Method::DELETE,
            &format!("/contacts/{contact_id}"),
            None,
        )
        .await?;
        Ok(())
    }
}
