//! Every Flickr catalog operation against the simulator, run through the catalog's `invoke` (so
//! the input decoding, the typed call and the output encoding are all exercised), with effects
//! checked in the simulator's world; and the paging streams.

use futures::TryStreamExt;
use serde_json::{Value, json};
use tether_connectors::flickr::catalog::invoke;
use tether_connectors::flickr::contacts::ContactListQuery;
use tether_connectors::flickr::people::UserPhotosQuery;
use tether_connectors::flickr::photosets::PhotosetPhotosQuery;
use tether_connectors::flickr::{FlickrClient, PhotoId, PhotosetId};
use tether_sim::flickr::Perms;

use crate::flickr_support::{FlickrTest, calls_of};

async fn call(client: &FlickrClient, id: &str, input: Value) -> Value {
    invoke(client, id, input)
        .await
        .unwrap_or_else(|error| panic!("{id}: {error:?}"))
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn test_and_token_methods() {
    let test = FlickrTest::start().await;
    let me = call(&test.client, "flickr.test.login", json!({})).await;
    assert_eq!(me, json!({"id": test.user, "username": "tess"}));
    let token = call(&test.client, "flickr.auth.check_token", json!({})).await;
    assert_eq!(token["perms"], "write");
    assert_eq!(token["user"]["nsid"], test.user.as_str());
    assert!(
        !token.to_string().contains(&test.token.0),
        "the token is not an output"
    );
    let echo = call(
        &test.client,
        "flickr.test.echo",
        json!({"greeting": "héllo wörld & co"}),
    )
    .await;
    assert_eq!(echo["params"]["greeting"], "héllo wörld & co");
    assert_eq!(echo["params"]["method"], "flickr.test.echo");
}

#[tokio::test]
async fn people_methods() {
    let test = FlickrTest::start().await;
    let photos = test.photos(3, "mine");
    let by_email = call(
        &test.client,
        "flickr.people.find_by_email",
        json!({"email": "tess@example.com"}),
    )
    .await;
    assert_eq!(by_email["id"], test.user.as_str());
    let by_name = call(
        &test.client,
        "flickr.people.find_by_username",
        json!({"username": "tess"}),
    )
    .await;
    assert_eq!(by_name["id"], test.user.as_str());
    let person = call(
        &test.client,
        "flickr.people.get_info",
        json!({"user_id": test.user}),
    )
    .await;
    assert_eq!(person["realname"], "Tess Tether");
    assert_eq!(person["photos"]["count"], 3);
    let page = call(
        &test.client,
        "flickr.people.get_photos",
        json!({"extras": ["date_upload", "last_update"], "per_page": 2}),
    )
    .await;
    assert_eq!(
        (page["total"].as_u64(), page["pages"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(ids(&page["photos"]).len(), 2);
    assert!(page["photos"][0]["dateupload"].is_i64());
    let public = call(
        &test.client,
        "flickr.people.get_public_photos",
        json!({"user_id": test.user}),
    )
    .await;
    let mut found = ids(&public["photos"]);
    found.sort();
    let mut expected = photos.clone();
    expected.sort();
    assert_eq!(found, expected);
}

#[tokio::test]
async fn photo_reads_and_writes() {
    let test = FlickrTest::start().await;
    let photo = test.photos(1, "first").remove(0);
    test.world()
        .add_photo(&test.user, "Sunset over the bay", "", &["beach"]);

    let search = call(
        &test.client,
        "flickr.photo.search",
        json!({"user_id": "me", "text": "sunset"}),
    )
    .await;
    assert_eq!(search["photos"][0]["title"], "Sunset over the bay");
    let recent = call(
        &test.client,
        "flickr.photo.get_recent",
        json!({"per_page": 10}),
    )
    .await;
    assert_eq!(ids(&recent["photos"]).len(), 2);

    call(
        &test.client,
        "flickr.photo.set_meta",
        json!({"photo_id": photo, "title": "Jane Doe", "description": "Synced from HighLevel"}),
    )
    .await;
    let stored = test.world().photo(&photo).unwrap();
    assert_eq!(
        (stored.title.as_str(), stored.description.as_str()),
        ("Jane Doe", "Synced from HighLevel")
    );

    call(
        &test.client,
        "flickr.photo.set_tags",
        json!({"photo_id": photo, "tags": ["ghl", "two words"]}),
    )
    .await;
    call(
        &test.client,
        "flickr.photo.add_tags",
        json!({"photo_id": photo, "tags": ["ghl:contact=abc"]}),
    )
    .await;
    let raw: Vec<String> = test
        .world()
        .photo(&photo)
        .unwrap()
        .tags
        .iter()
        .map(|tag| tag.raw.clone())
        .collect();
    assert_eq!(raw, vec!["ghl", "two words", "ghl:contact=abc"]);

    let tags = call(
        &test.client,
        "flickr.photo.list_tags",
        json!({"photo_id": photo}),
    )
    .await;
    assert_eq!(tags["tags"][2]["machine_tag"], true);
    let tag_id = tags["tags"][0]["id"].as_str().unwrap().to_owned();
    call(
        &test.client,
        "flickr.photo.remove_tag",
        json!({"tag_id": tag_id}),
    )
    .await;
    let info = call(
        &test.client,
        "flickr.photo.get_info",
        json!({"photo_id": photo}),
    )
    .await;
    assert_eq!(info["title"], "Jane Doe");
    let clean: Vec<&str> = info["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tag| tag["tag"].as_str().unwrap())
        .collect();
    assert_eq!(clean, vec!["twowords", "ghl:contact=abc"]);
    assert!(
        info["dates"]["lastupdate"].as_i64().unwrap() >= info["dates"]["posted"].as_i64().unwrap()
    );

    let updated = call(
        &test.client,
        "flickr.photo.recently_updated",
        json!({"min_date": 1}),
    )
    .await;
    assert!(ids(&updated["photos"]).contains(&photo));

    // Deleting needs the delete permission.
    let deleter = test.client_with_perms(Perms::Delete);
    call(&deleter, "flickr.photo.delete", json!({"photo_id": photo})).await;
    assert!(test.world().photo(&photo).is_none());
}

#[tokio::test]
async fn upload_and_replace() {
    let test = FlickrTest::start().await;
    let uploaded = call(
        &test.client,
        "flickr.photo.upload",
        json!({
            "photo_base64": "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//",
            "filename": "café.jpg",
            "mime_type": "image/jpeg",
            "title": "Café & Co. ~ 100%",
            "description": "Line1\nLine2",
            "tags": ["ghl", "two words"],
            "is_public": false
        }),
    )
    .await;
    let photo_id = uploaded["photo_id"].as_str().unwrap().to_owned();
    let stored = test.world().photo(&photo_id).unwrap();
    assert_eq!(stored.title, "Café & Co. ~ 100%");
    assert_eq!(stored.description, "Line1\nLine2");
    assert!(!stored.is_public);
    let raw: Vec<&str> = stored.tags.iter().map(|tag| tag.raw.as_str()).collect();
    assert_eq!(raw, vec!["ghl", "two words"]);

    let replaced = call(
        &test.client,
        "flickr.photo.replace",
        json!({"photo_id": photo_id, "photo_base64": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB", "filename": "new.png"}),
    )
    .await;
    assert_eq!(replaced["photo_id"], photo_id.as_str());
    assert_eq!(
        test.world().photo(&photo_id).unwrap().title,
        "Café & Co. ~ 100%"
    );
}

#[tokio::test]
async fn comments() {
    let test = FlickrTest::start().await;
    let photo = test.photos(1, "commented").remove(0);
    let created = call(
        &test.client,
        "flickr.comment.add",
        json!({"photo_id": photo, "comment_text": "Lovely ✨"}),
    )
    .await;
    let comment_id = created["id"].as_str().unwrap().to_owned();
    call(
        &test.client,
        "flickr.comment.edit",
        json!({"comment_id": comment_id, "comment_text": "Lovely!"}),
    )
    .await;
    let list = call(
        &test.client,
        "flickr.comment.list",
        json!({"photo_id": photo}),
    )
    .await;
    assert_eq!(list["comments"][0]["text"], "Lovely!");
    assert_eq!(list["comments"][0]["author"], test.user.as_str());
    call(
        &test.client,
        "flickr.comment.delete",
        json!({"comment_id": comment_id}),
    )
    .await;
    assert!(test.world().comments(&photo).is_empty());
}

#[tokio::test]
async fn albums() {
    let test = FlickrTest::start().await;
    let photos = test.photos(3, "album");
    let created = call(
        &test.client,
        "flickr.photoset.create",
        json!({"title": "Deliveries", "description": "Flowers out", "primary_photo_id": photos[0]}),
    )
    .await;
    let set = created["id"].as_str().unwrap().to_owned();
    call(
        &test.client,
        "flickr.photoset.add_photo",
        json!({"photoset_id": set, "photo_id": photos[1]}),
    )
    .await;
    call(
        &test.client,
        "flickr.photoset.add_photo",
        json!({"photoset_id": set, "photo_id": photos[2]}),
    )
    .await;
    call(
        &test.client,
        "flickr.photoset.remove_photo",
        json!({"photoset_id": set, "photo_id": photos[1]}),
    )
    .await;
    call(
        &test.client,
        "flickr.photoset.edit_meta",
        json!({"photoset_id": set, "title": "Deliveries 2026"}),
    )
    .await;
    assert_eq!(
        test.world().photoset(&set).unwrap().photos,
        vec![photos[0].clone(), photos[2].clone()]
    );

    let list = call(&test.client, "flickr.photoset.list", json!({})).await;
    assert_eq!(list["photosets"][0]["title"], "Deliveries 2026");
    let info = call(
        &test.client,
        "flickr.photoset.get_info",
        json!({"photoset_id": set}),
    )
    .await;
    assert_eq!(info["photos"], 2);
    let members = call(
        &test.client,
        "flickr.photoset.get_photos",
        json!({"photoset_id": set}),
    )
    .await;
    assert_eq!(
        ids(&members["photos"]),
        vec![photos[0].clone(), photos[2].clone()]
    );
    call(
        &test.client,
        "flickr.photoset.delete",
        json!({"photoset_id": set}),
    )
    .await;
    assert!(test.world().photoset(&set).is_none());
}

#[tokio::test]
async fn contacts_favorites_galleries_and_urls() {
    let test = FlickrTest::start().await;
    let friend = test.world().add_user("finn", "Finn Friend", None);
    test.world().add_contact(&test.user, &friend);
    test.world().add_contact(&friend, &test.user);
    let theirs = test.world().add_photo(&friend, "Their tulips", "", &[]);

    let contacts = call(&test.client, "flickr.contact.list", json!({"sort": "time"})).await;
    assert_eq!(contacts["contacts"][0]["nsid"], friend.as_str());
    let public = call(
        &test.client,
        "flickr.contact.list_public",
        json!({"user_id": friend}),
    )
    .await;
    assert_eq!(public["contacts"][0]["nsid"], test.user.as_str());

    call(
        &test.client,
        "flickr.favorite.add",
        json!({"photo_id": theirs}),
    )
    .await;
    let faves = call(&test.client, "flickr.favorite.list", json!({})).await;
    assert_eq!(ids(&faves["photos"]), vec![theirs.clone()]);
    call(
        &test.client,
        "flickr.favorite.remove",
        json!({"photo_id": theirs}),
    )
    .await;
    let faves = call(&test.client, "flickr.favorite.list", json!({})).await;
    assert!(ids(&faves["photos"]).is_empty());

    let gallery = call(
        &test.client,
        "flickr.gallery.create",
        json!({"title": "Tulips", "description": "Other people's tulips"}),
    )
    .await;
    let gallery_id = gallery["id"].as_str().unwrap().to_owned();
    call(
        &test.client,
        "flickr.gallery.add_photo",
        json!({"gallery_id": gallery_id, "photo_id": theirs, "comment": "Best in show"}),
    )
    .await;
    let galleries = call(&test.client, "flickr.gallery.list", json!({})).await;
    assert_eq!(ids(&galleries["galleries"]), vec![gallery_id.clone()]);
    let info = call(
        &test.client,
        "flickr.gallery.get_info",
        json!({"gallery_id": gallery_id}),
    )
    .await;
    assert_eq!(info["title"], "Tulips");
    let in_gallery = call(
        &test.client,
        "flickr.gallery.get_photos",
        json!({"gallery_id": gallery_id}),
    )
    .await;
    assert_eq!(ids(&in_gallery["photos"]), vec![theirs]);

    let profile = call(&test.client, "flickr.url.get_user_profile", json!({})).await;
    assert_eq!(profile["nsid"], test.user.as_str());
    let stream = call(
        &test.client,
        "flickr.url.get_user_photos",
        json!({"user_id": friend}),
    )
    .await;
    assert_eq!(stream["nsid"], friend.as_str());
    let found = call(
        &test.client,
        "flickr.url.lookup_user",
        json!({"url": profile["url"]}),
    )
    .await;
    assert_eq!(found["id"], test.user.as_str());
}

#[tokio::test]
async fn streams_read_every_page_once() {
    let test = FlickrTest::start().await;
    let mut photos = test.photos(7, "paged");
    let mark = test.log_mark();
    let query = UserPhotosQuery {
        per_page: Some(3),
        ..UserPhotosQuery::default()
    };
    let mut streamed: Vec<String> = test
        .client
        .people()
        .get_photos_stream(query)
        .map_ok(|photo| photo.id.to_string())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        calls_of(&test, mark, "flickr.people.getPhotos").len(),
        3,
        "pages of 3, 3 and 1"
    );
    streamed.sort();
    photos.sort();
    assert_eq!(streamed, photos);

    let set = test
        .client
        .photosets()
        .create("All", None, &PhotoId::new(photos[0].clone()))
        .await
        .unwrap()
        .id;
    for photo in &photos[1..] {
        test.client
            .photosets()
            .add_photo(&set, &PhotoId::new(photo.clone()))
            .await
            .unwrap();
    }
    let members: Vec<String> = test
        .client
        .photosets()
        .get_photos_stream(PhotosetPhotosQuery {
            photoset_id: PhotosetId::new(set.to_string()),
            user_id: None,
            extras: None,
            privacy_filter: None,
            media: None,
            per_page: Some(2),
            page: None,
        })
        .map_ok(|photo| photo.id.to_string())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(members, photos, "the album's own order, every photo once");

    for idx in 0..5 {
        let other = test.world().add_user(&format!("c{idx}"), "", None);
        test.world().add_contact(&test.user, &other);
    }
    let contacts: Vec<_> = test
        .client
        .contacts()
        .list_stream(ContactListQuery {
            per_page: Some(2),
            ..ContactListQuery::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(contacts.len(), 5);
}
