//! The Flickr ⇄ GHL recipes end to end: the shipped flows poll a Flickr simulator and write to a
//! GHL simulator over loopback (and back, for a contact's notes), and every Flickr person ends
//! as one GHL contact (tagged `flickr:<nsid>`) with one note per photo and one task per album,
//! across repeated polls, renames, caption and album edits, and injected faults.

use serde_json::{Value, json};
use tether_connectors::flickr::StoredCredentials;
use tether_core::Secret;
use tether_engine::invoke::Operations;
use tether_engine::poller::{PollReport, poll_once};
use tether_sim::flickr::{
    DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET, FlickrSim, FlickrSimConfig, Perms,
    RunningFlickrSim,
};
use tether_store::{AuthKind, NewConnection};
use tokio_util::sync::CancellationToken;

use crate::executor::{Simulated, simulated};

const CONTACTS_FLOW: &str = "flickr-contact-to-ghl-contact";
const NOTES_FLOW: &str = "flickr-photo-to-ghl-note";

/// Both simulators, the shipped flows and a worker, with the connected Flickr user's NSID.
struct FlickrGhl {
    sim: Simulated,
    flickr: RunningFlickrSim,
    /// The connected Flickr user.
    me: String,
}

impl FlickrGhl {
    /// The simulators with the connections the flows name: `ghl-main` and `flickr-main` (the
    /// stored OAuth 1.0a token of the user Tess Tether, as `tether connect flickr` stores it).
    async fn start(pit: &str) -> FlickrGhl {
        let sim = simulated(pit, 0).await;
        let loopback: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
        let flickr = FlickrSim::new(FlickrSimConfig {
            rate_limit: None,
            ..FlickrSimConfig::default()
        })
        .spawn(loopback, CancellationToken::new())
        .await
        .unwrap();
        let world = flickr.sim.world();
        let me = world.add_user("tess", "Tess Tether", Some("tess@example.com"));
        let (token, token_secret) =
            world.mint_access_token(DEFAULT_CONSUMER_KEY, &me, Perms::Write);
        let stored = StoredCredentials {
            consumer_key: DEFAULT_CONSUMER_KEY.into(),
            consumer_secret: Secret::new(DEFAULT_CONSUMER_SECRET),
            token: Secret::new(token),
            token_secret: Secret::new(token_secret),
            user_nsid: me.clone(),
            username: "tess".into(),
            fullname: "Tess Tether".into(),
            perms: "write".into(),
        };
        sim.store
            .create_connection(NewConnection {
                name: "flickr-main".into(),
                app: "flickr".into(),
                auth_kind: AuthKind::OAuth1,
                account_id: Some(me.clone()),
                base_url: flickr.base_url.clone(),
                scopes: vec!["write".into()],
                credentials: stored.to_secret(),
                expires_at_ms: None,
            })
            .await
            .unwrap();
        // The simulator runs without a limit and sends no headers to learn one from.
        sim.store
            .set_connection_settings("flickr-main", &json!({"rate_limit": "off"}))
            .await
            .unwrap();
        FlickrGhl { sim, flickr, me }
    }

    fn world(&self) -> &tether_sim::flickr::World {
        self.flickr.sim.world()
    }

    /// Polls `flow` once; a poll that fails (a fault the client's retries did not absorb) is
    /// polled again, as the poller's next tick would, up to 10 times.
    async fn poll(&self, flow: &str) -> PollReport {
        let mut last_error = None;
        for _ in 0..10 {
            match poll_once(
                &self.sim.store,
                &self.sim.registry,
                &self.sim.flows,
                flow,
                tether_store::now_ms(),
            )
            .await
            {
                Ok(report) => return report,
                Err(error) => last_error = Some(error),
            }
        }
        panic!("polling {flow} failed 10 times: {last_error:?}");
    }

    /// Runs every due run, jumping the clock past backoffs instead of sleeping through them;
    /// answers how many runs needed more than one attempt.
    async fn drain(&self) -> usize {
        let mut offset_ms = 0;
        for _ in 0..20 {
            let now_offset = offset_ms;
            self.sim
                .worker
                .run_until_idle(move || tether_store::now_ms() + now_offset)
                .await
                .unwrap();
            let counts = self.sim.store.run_counts().await.unwrap();
            if counts.pending() == 0 {
                let dead = self.sim.store.dlq_list(5).await.unwrap();
                assert_eq!(counts.dead, 0, "{counts:?}: {dead:?}");
                return self
                    .sim
                    .store
                    .runs_recent(200)
                    .await
                    .unwrap()
                    .iter()
                    .filter(|summary| summary.run.attempts > 1)
                    .count();
            }
            offset_ms += 3_600_000;
        }
        panic!("runs still pending after 20 passes");
    }

    async fn ghl(&self, operation: &str, input: Value) -> Value {
        self.sim
            .registry
            .invoke("ghl-main", operation, input)
            .await
            .unwrap()
    }

    /// The GHL contacts tagged `flickr:<nsid>`.
    async fn contacts_of(&self, nsid: &str) -> Vec<Value> {
        let page = self
            .ghl(
                "ghl.contact.search",
                json!({
                    "filters": [{"field": "tags", "operator": "eq",
                                 "value": format!("flickr:{}", nsid.to_lowercase())}],
                    "pageLimit": 100,
                }),
            )
            .await;
        page["contacts"].as_array().unwrap().clone()
    }

    /// The one GHL contact of `nsid`; fails when there is none or more than one.
    async fn contact_of(&self, nsid: &str) -> Value {
        let contacts = self.contacts_of(nsid).await;
        assert_eq!(contacts.len(), 1, "contacts of {nsid}: {contacts:?}");
        contacts[0].clone()
    }

    async fn notes(&self, contact_id: &str) -> Vec<Value> {
        let list = self
            .ghl("ghl.note.list", json!({"contactId": contact_id}))
            .await;
        list["notes"].as_array().unwrap().clone()
    }

    /// How many GHL contacts the location holds.
    async fn n_contacts(&self) -> u64 {
        let page = self
            .ghl("ghl.contact.search", json!({"pageLimit": 1}))
            .await;
        page["total"].as_u64().unwrap()
    }
}

#[tokio::test]
async fn a_flickr_contact_becomes_one_ghl_contact_across_polls() {
    let test = FlickrGhl::start("pit-flickr-contacts").await;
    let ada = test
        .world()
        .add_user("ada_l", "Ada Lovelace Byron", Some("ada@example.com"));
    let grace = test.world().add_user("grace", "", None);
    test.world().add_contact(&test.me, &ada);
    test.world().add_contact(&test.me, &grace);

    let report = test.poll(CONTACTS_FLOW).await;
    assert_eq!(report.new_events, 2, "{report:?}");
    // Renamed after the poll listed her: the run writes the profile's latest name.
    assert!(test.world().set_realname(&ada, "Ada Lovelace King"));
    test.drain().await;
    let contact = test.contact_of(&ada).await;
    assert_eq!(contact["firstName"], "Ada");
    assert_eq!(contact["lastName"], "Lovelace King");
    let website = contact["website"].as_str().unwrap_or_default();
    assert!(website.contains(&ada), "profile address: {contact}");
    // No real name: the screen name stands in.
    assert_eq!(test.contact_of(&grace).await["firstName"], "grace");

    // Polling again finds nothing new and writes nothing.
    let report = test.poll(CONTACTS_FLOW).await;
    assert_eq!(report.new_events, 0, "{report:?}");
    test.drain().await;
    assert_eq!(test.n_contacts().await, 2);
}

#[tokio::test]
async fn a_photo_becomes_one_note_on_its_owners_contact_and_follows_its_caption() {
    let test = FlickrGhl::start("pit-flickr-notes").await;
    // Tess's contact exists already, tagged by another flow: the photo flow must find it.
    let existing = test
        .ghl(
            "ghl.contact.create",
            json!({"firstName": "T", "tags": ["flickr", format!("flickr:{}", test.me.to_lowercase())]}),
        )
        .await;
    let contact_id = existing["id"].as_str().unwrap().to_owned();
    let bridge = test
        .world()
        .add_photo(&test.me, "Bridge", "Fog at dawn.", &["fog"]);
    let tower = test.world().add_photo(&test.me, "Tower", "", &[]);

    let report = test.poll(NOTES_FLOW).await;
    assert_eq!(report.new_events, 2, "{report:?}");
    test.drain().await;
    let contact = test.contact_of(&test.me).await;
    assert_eq!(
        contact["id"],
        contact_id.as_str(),
        "found by its tag, not created"
    );
    assert_eq!(
        (contact["firstName"].as_str(), contact["lastName"].as_str()),
        (Some("Tess"), Some("Tether"))
    );
    let notes = test.notes(&contact_id).await;
    assert_eq!(notes.len(), 2, "{notes:?}");
    let bridge_note = |notes: &[Value]| -> Value {
        let matching: Vec<&Value> = notes
            .iter()
            .filter(|note| note["body"].as_str().unwrap_or_default().contains(&bridge))
            .collect();
        assert_eq!(matching.len(), 1, "one note of the photo: {notes:?}");
        matching[0].clone()
    };
    let note = bridge_note(&notes);
    let body = note["body"].as_str().unwrap();
    assert!(body.contains("Fog at dawn."), "{body}");
    assert!(
        body.contains(&format!(
            "https://www.flickr.com/photos/{}/{bridge}",
            test.me
        )),
        "{body}"
    );
    assert!(
        notes
            .iter()
            .any(|note| note["body"].as_str().unwrap_or_default().contains(&tower))
    );

    // Polling again: nothing new, nothing written.
    let report = test.poll(NOTES_FLOW).await;
    assert_eq!(report.new_events, 0, "{report:?}");
    test.drain().await;
    assert_eq!(test.notes(&contact_id).await.len(), 2);

    // Tess renames herself and edits a caption: the same contact is renamed and the photo's
    // note is updated in place.
    assert!(test.world().set_realname(&test.me, "Tess Quill"));
    test.world().advance_clock(10);
    test.world()
        .edit_photo(&bridge, None, Some("Fog at dawn, from the pier."), None)
        .unwrap();
    let report = test.poll(NOTES_FLOW).await;
    assert_eq!(report.new_events, 1, "{report:?}");
    test.drain().await;
    let contact = test.contact_of(&test.me).await;
    assert_eq!(contact["lastName"], "Quill");
    let notes = test.notes(&contact_id).await;
    assert_eq!(notes.len(), 2, "updated, not added: {notes:?}");
    let note = bridge_note(&notes);
    assert!(
        note["body"].as_str().unwrap().contains("from the pier"),
        "{note}"
    );
    assert_eq!(test.n_contacts().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_four_recipes_under_injected_faults_write_exactly_once() {
    use tether_sim::ghl::faults::FaultsConfig;

    let test = FlickrGhl::start("pit-flickr-faults").await;
    // Set up without faults: four people Tess follows, five photos, a project album, and Tess's
    // contact (tagged, as an earlier sync left it) with a note to render on the album.
    let people: Vec<String> = (0..4)
        .map(|n| {
            test.world()
                .add_user(&format!("friend{n}"), &format!("Friend Number{n}"), None)
        })
        .collect();
    for person in &people {
        test.world().add_contact(&test.me, person);
    }
    let photos: Vec<String> = (0..5)
        .map(|n| {
            test.world().add_photo(
                &test.me,
                &format!("Photo {n}"),
                &format!("Caption {n}"),
                &[],
            )
        })
        .collect();
    let created = test
        .flickr(
            "flickr.photoset.create",
            json!({"title": "Portraits", "primary_photo_id": photos[0]}),
        )
        .await;
    let album = created["id"].as_str().unwrap().to_owned();
    let tess = test
        .ghl(
            "ghl.contact.create",
            json!({"firstName": "Tess", "tags": [format!("flickr:{}", test.me.to_lowercase())]}),
        )
        .await;
    let tess_id = tess["id"].as_str().unwrap().to_owned();
    test.ghl(
        "ghl.note.create",
        json!({"contactId": tess_id, "body": "Deliver the prints by Friday."}),
    )
    .await;

    // 10 % of requests fail and every request is slowed, on both services.
    let ghl_faults = |error_rate: f64| {
        test.sim.ghl.sim.world().faults.lock().set(
            FaultsConfig {
                error_rate,
                latency_ms: 2,
                jitter_ms: 5,
                ..FaultsConfig::default()
            },
            std::time::Instant::now(),
        );
    };
    let flickr_faults = async |error_rate: f64| {
        let answer = reqwest::Client::new()
            .put(format!("{}/__sim/faults", test.flickr.base_url))
            .json(&json!({"error_rate": error_rate, "latency_ms": 3}))
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{:?}", answer.text().await);
    };
    ghl_faults(0.1);
    flickr_faults(0.1).await;

    for flow in [CONTACTS_FLOW, NOTES_FLOW, TASKS_FLOW] {
        test.poll(flow).await;
    }
    let mut n_retried = test.drain().await;
    // The task exists now, so the note's event finds the album.
    test.deliver_ghl_events("NoteCreate", 0).await;
    n_retried += test.drain().await;

    // A caption is revised and the project finished, through the faulty API.
    test.world().advance_clock(10);
    test.world()
        .edit_photo(&photos[1], None, Some("Caption 1, revised"), None)
        .unwrap();
    let mut finished = false;
    for _ in 0..10 {
        let input = json!({"photoset_id": album, "title": "Portraits [done]"});
        if test
            .sim
            .registry
            .invoke("flickr-main", "flickr.photoset.edit_meta", input)
            .await
            .is_ok()
        {
            finished = true;
            break;
        }
    }
    assert!(finished, "editing the album failed 10 times");
    for flow in [NOTES_FLOW, TASKS_FLOW, CONTACTS_FLOW] {
        test.poll(flow).await;
    }
    n_retried += test.drain().await;

    // Faults off for the checks.
    ghl_faults(0.0);
    flickr_faults(0.0).await;
    for person in &people {
        test.contact_of(person).await;
    }
    assert_eq!(test.contact_of(&test.me).await["id"], tess_id.as_str());
    assert_eq!(
        test.n_contacts().await,
        5,
        "four friends and Tess, once each"
    );
    let notes = test.notes(&tess_id).await;
    assert_eq!(
        notes.len(),
        photos.len() + 1,
        "one note per photo and the hand-written one: {notes:?}"
    );
    assert!(
        notes.iter().any(|note| note["body"]
            .as_str()
            .unwrap_or_default()
            .contains("Caption 1, revised")),
        "{notes:?}"
    );
    let tasks = test.tasks(&tess_id).await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0]["completed"], true);
    let album_now = test.world().photoset(&album).unwrap();
    assert!(
        album_now
            .description
            .contains("Deliver the prints by Friday."),
        "{}",
        album_now.description
    );
    eprintln!("Runs retried under faults: {n_retried}.");
}

const TASKS_FLOW: &str = "flickr-photoset-to-ghl-task";

impl FlickrGhl {
    async fn flickr(&self, operation: &str, input: Value) -> Value {
        self.sim
            .registry
            .invoke("flickr-main", operation, input)
            .await
            .unwrap()
    }

    async fn tasks(&self, contact_id: &str) -> Vec<Value> {
        let list = self
            .ghl("ghl.task.list", json!({"contactId": contact_id}))
            .await;
        list["tasks"].as_array().unwrap().clone()
    }

    /// Intakes, as GHL's webhook would deliver them, the events of `kind` the GHL simulator
    /// emitted since `seen` events; answers how many it emitted in all.
    async fn deliver_ghl_events(&self, kind: &str, seen: usize) -> usize {
        let events = self.sim.ghl.sim.world().webhooks.events();
        for event in events.iter().skip(seen) {
            if event["type"] == kind {
                tether_engine::worker::intake(
                    &self.sim.store,
                    &self.sim.flows,
                    "ghl.webhook",
                    event["webhookId"].as_str().unwrap(),
                    kind,
                    event,
                )
                .await
                .unwrap();
            }
        }
        events.len()
    }
}

#[tokio::test]
async fn an_album_is_a_task_whose_completion_follows_it_and_shows_the_contacts_notes() {
    let test = FlickrGhl::start("pit-flickr-projects").await;
    let cover = test.world().add_photo(&test.me, "Harbour at dusk", "", &[]);
    let created = test
        .flickr(
            "flickr.photoset.create",
            json!({"title": "Harbour series", "primary_photo_id": cover}),
        )
        .await;
    let album = created["id"].as_str().unwrap().to_owned();

    // Recipe 2: the album becomes an open task on Tess's contact.
    let report = test.poll(TASKS_FLOW).await;
    assert_eq!(report.new_events, 1, "{report:?}");
    test.drain().await;
    let contact_id = test.contact_of(&test.me).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let tasks = test.tasks(&contact_id).await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0]["title"], "Photo project: Harbour series");
    assert_eq!(tasks[0]["completed"], false);
    assert!(
        tasks[0]["body"]
            .as_str()
            .unwrap()
            .contains(&format!("Flickr album: {album}")),
        "{tasks:?}"
    );
    assert_eq!(test.poll(TASKS_FLOW).await.new_events, 0);

    // The project is finished: the same task is completed.
    test.world().advance_clock(10);
    test.flickr(
        "flickr.photoset.edit_meta",
        json!({"photoset_id": album, "title": "Harbour series [done]"}),
    )
    .await;
    assert_eq!(test.poll(TASKS_FLOW).await.new_events, 1);
    test.drain().await;
    let tasks = test.tasks(&contact_id).await;
    assert_eq!(tasks.len(), 1, "updated, not added: {tasks:?}");
    assert_eq!(tasks[0]["completed"], true);
    assert_eq!(tasks[0]["title"], "Photo project: Harbour series");

    // Recipe 4: a note on the contact is rendered in the album's description, and follows the
    // note's changes.
    let seen = test.deliver_ghl_events("NoteCreate", 0).await;
    let note = test
        .ghl(
            "ghl.note.create",
            json!({"contactId": contact_id, "body": "Print the harbour at A3."}),
        )
        .await;
    let note_id = note["id"].as_str().unwrap().to_owned();
    test.world().advance_clock(10);
    let seen = test.deliver_ghl_events("NoteCreate", seen).await;
    test.drain().await;
    let description = test.world().photoset(&album).unwrap().description;
    assert!(
        description.contains("Print the harbour at A3."),
        "{description}"
    );
    test.ghl(
        "ghl.note.update",
        json!({"contactId": contact_id, "noteId": note_id, "body": "Print the harbour at A2."}),
    )
    .await;
    test.deliver_ghl_events("NoteUpdate", seen).await;
    test.drain().await;
    let album_now = test.world().photoset(&album).unwrap();
    assert!(
        album_now.description.contains("A2.") && !album_now.description.contains("A3."),
        "{}",
        album_now.description
    );
    assert_eq!(
        album_now.title, "Harbour series [done]",
        "the title is kept"
    );

    // The description's edit changed the album; its task sees no change and stays as it is.
    assert_eq!(test.poll(TASKS_FLOW).await.new_events, 1);
    test.drain().await;
    let tasks = test.tasks(&contact_id).await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0]["completed"], true);
    assert_eq!(test.n_contacts().await, 1);
}
