//! Flickr's polling triggers against the simulator, through the catalog as the engine's poller
//! calls them (`{"cursor", "limit", …params}` → `{"records", "cursor"}`): records sharing a
//! timestamp across polls, nothing skipped or repeated, resuming from a stored cursor, and the
//! `id` / `created_at` / `updated_at` every record carries.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use tether_connectors::flickr::catalog::invoke;
use tether_connectors::flickr::{FlickrClient, PhotoId};

use crate::flickr_support::{FlickrTest, calls_of};

/// One poll, its cursor passed through JSON text as the store keeps it.
async fn poll(
    client: &FlickrClient,
    id: &str,
    cursor: &Value,
    limit: usize,
    params: Value,
) -> (Vec<Value>, Value) {
    let stored: Value = serde_json::from_str(&cursor.to_string()).unwrap();
    let mut input = json!({"cursor": stored, "limit": limit});
    input
        .as_object_mut()
        .unwrap()
        .extend(params.as_object().unwrap().clone());
    let output = invoke(client, id, input)
        .await
        .unwrap_or_else(|error| panic!("{id}: {error:?}"));
    let records = output["records"].as_array().unwrap().clone();
    for record in &records {
        for field in ["id", "created_at", "updated_at"] {
            let text = record[field]
                .as_str()
                .unwrap_or_else(|| panic!("{field} in {record}"));
            if field != "id" {
                chrono::DateTime::parse_from_rfc3339(text).unwrap();
            }
        }
    }
    (records, output["cursor"].clone())
}

/// Polls until a poll answers nothing; every record's `<id>@<time>` key, in order, and the
/// final cursor (which that last poll must leave as it was).
async fn drain(
    client: &FlickrClient,
    id: &str,
    mut cursor: Value,
    limit: usize,
    params: Value,
    time_field: &str,
) -> (Vec<String>, Value) {
    let mut keys = Vec::new();
    for _ in 0..100 {
        let (records, next) = poll(client, id, &cursor, limit, params.clone()).await;
        assert!(records.len() <= limit);
        if records.is_empty() {
            assert_eq!(next, cursor, "an empty poll keeps the cursor");
            return (keys, cursor);
        }
        keys.extend(records.iter().map(|record| {
            format!(
                "{}@{}",
                record["id"].as_str().unwrap(),
                record[time_field].as_str().unwrap()
            )
        }));
        cursor = next;
    }
    panic!("{id} never ran dry");
}

fn assert_unique(keys: &[String]) {
    let unique: BTreeSet<&String> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "a record came twice: {keys:?}");
}

fn ids_of(keys: &[String]) -> BTreeSet<String> {
    keys.iter()
        .map(|key| key.rsplit_once('@').unwrap().0.to_owned())
        .collect()
}

#[tokio::test]
async fn new_photos_across_pages_and_polls() {
    let test = FlickrTest::start().await;
    // More than one 500-photo page, most sharing their upload second.
    let first: BTreeSet<String> = test.photos(520, "batch").into_iter().collect();
    let mark = test.log_mark();
    let (keys, cursor) = drain(
        &test.client,
        "flickr.photo.new",
        Value::Null,
        200,
        json!({}),
        "created_at",
    )
    .await;
    assert_unique(&keys);
    assert_eq!(ids_of(&keys), first);
    assert!(
        calls_of(&test, mark, "flickr.people.getPhotos").len() >= 2,
        "both pages were read"
    );

    // Later uploads, some in one second, resumed from the stored cursor by a fresh client.
    test.world().advance_clock(5);
    let later: BTreeSet<String> = test.photos(3, "later").into_iter().collect();
    let fresh = test.client.clone();
    let (keys, _) = drain(
        &fresh,
        "flickr.photo.new",
        cursor,
        2,
        json!({"user_id": test.user}),
        "created_at",
    )
    .await;
    assert_unique(&keys);
    assert_eq!(ids_of(&keys), later);
}

#[tokio::test]
async fn equal_timestamps_are_handed_out_once_each() {
    let test = FlickrTest::start().await;
    let photos: Vec<String> = test.photos(5, "same second");
    let mut cursor = Value::Null;
    let mut seen = Vec::new();
    for _ in 0..5 {
        let (records, next) = poll(&test.client, "flickr.photo.new", &cursor, 2, json!({})).await;
        seen.extend(
            records
                .iter()
                .map(|record| record["id"].as_str().unwrap().to_owned()),
        );
        cursor = next;
    }
    let mut expected = photos.clone();
    expected.sort_by_key(|id| (test.world().photo(id).unwrap().posted, id.clone()));
    assert_eq!(seen, expected, "in (time, id) order, each once");
}

#[tokio::test]
async fn updated_photos_report_each_change() {
    let test = FlickrTest::start().await;
    let photos = test.photos(3, "u");
    let (keys, cursor) = drain(
        &test.client,
        "flickr.photo.updated",
        Value::Null,
        10,
        json!({}),
        "updated_at",
    )
    .await;
    assert_eq!(ids_of(&keys), photos.iter().cloned().collect());

    test.world().advance_clock(3);
    test.world()
        .edit_photo(&photos[1], Some("Renamed"), None, None)
        .unwrap();
    let (records, cursor) =
        poll(&test.client, "flickr.photo.updated", &cursor, 10, json!({})).await;
    assert_eq!(records.len(), 1);
    assert_eq!(
        (records[0]["id"].as_str(), records[0]["title"].as_str()),
        (Some(photos[1].as_str()), Some("Renamed"))
    );
    assert!(records[0]["updated_at"].as_str() > records[0]["created_at"].as_str());

    test.world().advance_clock(3);
    test.world()
        .edit_photo(&photos[1], None, None, Some(&["ghl".to_owned()]))
        .unwrap();
    test.world()
        .edit_photo(&photos[2], None, Some("described"), None)
        .unwrap();
    let (keys, _) = drain(
        &test.client,
        "flickr.photo.updated",
        cursor,
        1,
        json!({}),
        "updated_at",
    )
    .await;
    assert_unique(&keys);
    assert_eq!(
        ids_of(&keys),
        [photos[1].clone(), photos[2].clone()].into_iter().collect()
    );
}

#[tokio::test]
async fn new_comments_on_the_users_photos() {
    let test = FlickrTest::start().await;
    let photos = test.photos(2, "c");
    let friend = test.world().add_user("finn", "Finn", None);
    let mut expected = BTreeSet::new();
    for (idx, photo) in photos.iter().enumerate() {
        for n in 0..3 {
            expected.insert(test.world().add_comment(
                photo,
                &friend,
                &format!("comment {idx}.{n}"),
            ));
        }
    }
    let (keys, cursor) = drain(
        &test.client,
        "flickr.comment.new",
        Value::Null,
        2,
        json!({}),
        "created_at",
    )
    .await;
    assert_unique(&keys);
    assert_eq!(ids_of(&keys), expected);

    test.world().advance_clock(2);
    let newer = test.world().add_comment(&photos[0], &friend, "one more");
    let (records, _) = poll(&test.client, "flickr.comment.new", &cursor, 10, json!({})).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["id"].as_str(), Some(newer.as_str()));
    assert_eq!(records[0]["photo_id"].as_str(), Some(photos[0].as_str()));
    assert_eq!(records[0]["text"], "one more");
}

#[tokio::test]
async fn new_photos_in_an_album() {
    let test = FlickrTest::start().await;
    let photos = test.photos(4, "album");
    let set = test
        .client
        .photosets()
        .create("Deliveries", None, &PhotoId::new(photos[0].clone()))
        .await
        .unwrap()
        .id;
    let params = json!({"photoset_id": set});
    let (records, cursor) = poll(
        &test.client,
        "flickr.photoset.photo.new",
        &Value::Null,
        10,
        params.clone(),
    )
    .await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["photoset_id"], set.as_str());

    for photo in &photos[1..] {
        test.client
            .photosets()
            .add_photo(&set, &PhotoId::new(photo.clone()))
            .await
            .unwrap();
    }
    let (keys, cursor) = drain(
        &test.client,
        "flickr.photoset.photo.new",
        cursor,
        2,
        params.clone(),
        "created_at",
    )
    .await;
    assert_unique(&keys);
    assert_eq!(ids_of(&keys), photos[1..].iter().cloned().collect());

    // An unchanged album is not listed again.
    let mark = test.log_mark();
    let (records, again) = poll(
        &test.client,
        "flickr.photoset.photo.new",
        &cursor,
        10,
        params.clone(),
    )
    .await;
    assert!(records.is_empty());
    assert_eq!(again, cursor);
    assert!(calls_of(&test, mark, "flickr.photosets.getPhotos").is_empty());

    // A photo taken out is no longer known, so putting it back reports it again.
    test.client
        .photosets()
        .remove_photo(&set, &PhotoId::new(photos[2].clone()))
        .await
        .unwrap();
    let (records, cursor) = poll(
        &test.client,
        "flickr.photoset.photo.new",
        &cursor,
        10,
        params.clone(),
    )
    .await;
    assert!(records.is_empty());
    test.client
        .photosets()
        .add_photo(&set, &PhotoId::new(photos[2].clone()))
        .await
        .unwrap();
    let (records, _) = poll(
        &test.client,
        "flickr.photoset.photo.new",
        &cursor,
        10,
        params,
    )
    .await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["id"].as_str(), Some(photos[2].as_str()));
}

#[tokio::test]
async fn new_contacts_with_stable_keys() {
    let test = FlickrTest::start().await;
    let mut expected = BTreeSet::new();
    for idx in 0..3 {
        let other = test.world().add_user(&format!("contact{idx}"), "", None);
        test.world().add_contact(&test.user, &other);
        expected.insert(other);
    }
    // The same cursor gives the same records, keys included (a poll repeated after a crash).
    let (first, _) = poll(
        &test.client,
        "flickr.contact.new",
        &Value::Null,
        2,
        json!({}),
    )
    .await;
    let (again, _) = poll(
        &test.client,
        "flickr.contact.new",
        &Value::Null,
        2,
        json!({}),
    )
    .await;
    assert_eq!(first, again);

    let (keys, cursor) = drain(
        &test.client,
        "flickr.contact.new",
        Value::Null,
        2,
        json!({}),
        "created_at",
    )
    .await;
    assert_unique(&keys);
    assert_eq!(ids_of(&keys), expected);

    let newcomer = test.world().add_user("newcomer", "", None);
    test.world().add_contact(&test.user, &newcomer);
    let (records, _) = poll(&test.client, "flickr.contact.new", &cursor, 10, json!({})).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["nsid"].as_str(), Some(newcomer.as_str()));
    assert_eq!(records[0]["id"].as_str(), Some(newcomer.as_str()));
}
