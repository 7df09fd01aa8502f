//! Deterministic seed data: `seed_users` users, each with photos (titles, descriptions, tags, a
//! few machine tags, some private), an album or two, contacts among each other, comments,
//! favorites and, for every third user, a gallery.
//!
//! Choices come from a generator seeded with `rng_seed` on its own stream and ids from the
//! world's id generator, so the same seed gives the same ids and data. Dates are spread over the
//! year before the start of the current UTC day: fixed for a seed within a day.

use super::state::{Data, Gallery, World, nsid_number};

/// Mixed into `rng_seed` so the choices differ from the id stream.
const SEED_STREAM: u64 = 0x5eed_f11c_4e00_0001;
/// How far back photo dates go.
const HISTORY_SECS: u64 = 365 * 86_400;

#[rustfmt::skip]
const FIRST_NAMES: &[&str] = &[
    "Ada", "Bea", "Carl", "Dora", "Emil", "Flora", "Gus", "Hana", "Ivo", "June", "Kai", "Lena", "Milo", "Nora",
    "Otto", "Pia", "Quinn", "Rosa", "Sami", "Tove",
];
#[rustfmt::skip]
const LAST_NAMES: &[&str] = &[
    "Rose", "Lily", "Moss", "Fern", "Heath", "Birch", "Thorn", "Vale", "Reed", "Sage", "Laurel", "Marsh",
];
#[rustfmt::skip]
const SUBJECTS: &[&str] = &[
    "Peonies", "Tulip field", "Wedding bouquet", "Harbour at dusk", "Old bridge", "Market stall", "Sunflowers",
    "Foggy morning", "Garden party", "Rose arch", "City lights", "Autumn leaves", "Birthday table", "Orchid",
];
#[rustfmt::skip]
const PLACES: &[&str] = &[
    "Amsterdam", "Lisbon", "Kyoto", "Portland", "Oslo", "Austin", "Bristol", "Lyon", "Melbourne", "Toronto",
];
#[rustfmt::skip]
const TAGS: &[&str] = &[
    "flowers", "bouquet", "wedding", "macro", "spring", "summer", "autumn", "street", "\"golden hour\"", "portrait",
    "garden", "travel", "blackandwhite", "film",
];
const ALBUMS: &[&str] = &["Favourites", "Weddings", "Travels", "Garden", "Studio work"];

/// Seeds the world as its config asks.
pub fn populate(world: &World) {
    let n_users = world.config().seed_users;
    if n_users == 0 {
        return;
    }
    let mut rng = fastrand::Rng::with_seed(world.config().rng_seed ^ SEED_STREAM);
    let today = world.now().div_euclid(86_400) * 86_400;
    let mut data = world.data.write();
    let data = &mut *data;
    let past = |rng: &mut fastrand::Rng| {
        today - i64::try_from(1 + rng.u64(..HISTORY_SECS)).unwrap_or_default()
    };

    let mut users = Vec::with_capacity(n_users);
    for n in 0..n_users {
        let first = FIRST_NAMES[rng.usize(..FIRST_NAMES.len())];
        let last = LAST_NAMES[rng.usize(..LAST_NAMES.len())];
        let username = format!("{}{}{}", first.to_lowercase(), last.to_lowercase(), n + 1);
        let email = format!(
            "{}.{}{}@example.com",
            first.to_lowercase(),
            last.to_lowercase(),
            n + 1
        );
        let joined = past(&mut rng) - 86_400 * 365;
        let nsid = data.insert_user(&username, &format!("{first} {last}"), Some(&email), joined);
        if let Some(user) = data.users.get_mut(&nsid) {
            user.location = PLACES[rng.usize(..PLACES.len())].to_owned();
            user.description = format!("Photos by {first}.");
        }
        users.push(nsid);
    }

    for nsid in &users {
        let mut photos = Vec::new();
        for _ in 0..rng.usize(3..=8) {
            let subject = SUBJECTS[rng.usize(..SUBJECTS.len())];
            let place = PLACES[rng.usize(..PLACES.len())];
            let mut tags: Vec<String> = (0..rng.usize(1..=4))
                .map(|_| TAGS[rng.usize(..TAGS.len())].to_owned())
                .collect();
            tags.push(place.to_lowercase());
            if rng.u8(..4) == 0 {
                tags.push(format!(
                    "camera:make={}",
                    ["fuji", "canon", "leica"][rng.usize(..3)]
                ));
            }
            let tags = super::state::split_tags(&tags.join(" "));
            let posted = past(&mut rng);
            let Ok(id) = data.insert_photo(
                nsid,
                &format!("{subject}, {place}"),
                &format!("{subject} in {place}."),
                &tags,
                posted,
            ) else {
                continue;
            };
            if let Some(photo) = data.photos.get_mut(&id) {
                photo.is_public = rng.u8(..10) != 0;
                photo.is_friend = !photo.is_public && rng.bool();
                photo.views = i64::from(rng.u16(..500));
            }
            photos.push((id, posted));
        }
        seed_albums(data, &mut rng, nsid, &photos);
    }

    for (idx, nsid) in users.iter().enumerate() {
        if users.len() < 2 {
            break;
        }
        for _ in 0..rng.usize(1..=3.min(users.len() - 1)) {
            let other = &users[(idx + 1 + rng.usize(..users.len() - 1)) % users.len()];
            let added = past(&mut rng);
            let friend = rng.bool();
            // Refusals (already a contact) are expected here and change nothing.
            let _ = data.insert_contact(nsid, other, friend, friend && rng.bool(), added);
        }
    }

    let public: Vec<(String, String, i64)> = {
        let mut public: Vec<_> = data
            .photos
            .values()
            .filter(|photo| photo.is_public)
            .map(|photo| (photo.id.clone(), photo.owner.clone(), photo.posted))
            .collect();
        public.sort();
        public
    };
    if public.is_empty() || users.len() < 2 {
        return;
    }
    for (photo_id, owner, posted) in &public {
        for _ in 0..rng.usize(..3) {
            let author = &users[rng.usize(..users.len())];
            if author == owner {
                continue;
            }
            let at = posted + i64::from(rng.u32(60..86_400 * 30));
            let text = [
                "Lovely colours!",
                "Great light.",
                "Where was this?",
                "Beautiful.",
            ][rng.usize(..4)];
            let _ = data.insert_comment(photo_id, author, text, at.min(today));
        }
    }
    for (idx, nsid) in users.iter().enumerate() {
        let others: Vec<&(String, String, i64)> = public
            .iter()
            .filter(|(_, owner, _)| owner != nsid)
            .collect();
        if others.is_empty() {
            continue;
        }
        for _ in 0..rng.usize(..3) {
            let (photo_id, _, posted) = others[rng.usize(..others.len())];
            let faves = data.favorites.entry(nsid.clone()).or_default();
            if !faves.iter().any(|(id, _)| id == photo_id) {
                faves.push((photo_id.clone(), (posted + 3_600).min(today)));
            }
        }
        if idx % 3 == 0 && others.len() >= 2 {
            let created = past(&mut rng);
            let picks: Vec<(String, Option<String>)> = others
                .iter()
                .take(2)
                .map(|(photo_id, _, _)| (photo_id.clone(), None))
                .collect();
            let id = format!("{}-{}", nsid_number(nsid), data.ids.big());
            data.galleries.insert(
                id.clone(),
                Gallery {
                    id: id.clone(),
                    owner: nsid.clone(),
                    title: "Inspiration".into(),
                    description: "Photos I keep coming back to.".into(),
                    primary: picks.first().map(|(photo_id, _)| photo_id.clone()),
                    photos: picks,
                    created,
                    updated: created,
                },
            );
            data.gallery_order.entry(nsid.clone()).or_default().push(id);
        }
    }
}

/// One or two albums of a few of the user's photos.
fn seed_albums(data: &mut Data, rng: &mut fastrand::Rng, nsid: &str, photos: &[(String, i64)]) {
    if photos.len() < 2 {
        return;
    }
    for _ in 0..rng.usize(1..=2) {
        let title = ALBUMS[rng.usize(..ALBUMS.len())];
        let first = rng.usize(..photos.len());
        let (primary, created) = &photos[first];
        let id = data.insert_photoset(nsid, title, &format!("{title} ({nsid})"), primary, *created);
        let extra: Vec<String> = (0..rng.usize(1..=3))
            .map(|_| photos[rng.usize(..photos.len())].0.clone())
            .collect();
        if let Some(set) = data.photosets.get_mut(&id) {
            for photo_id in extra {
                if !set.photos.contains(&photo_id) {
                    set.photos.push(photo_id);
                }
            }
        }
    }
}
