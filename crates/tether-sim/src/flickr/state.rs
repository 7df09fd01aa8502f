//! The Flickr simulator's world: users, photos (tags, dates, visibility), photosets, comments,
//! contacts, favorites, galleries and OAuth tokens, in memory behind one lock, plus the clock,
//! nonce memory, hourly limiter, faults and request log.
//!
//! Ids look like Flickr's (photo `53104126447`, NSID `12037949754@N01`, photoset
//! `72157626216528324`, comment `6065-109722179-72057594077818641`) and come from one generator
//! seeded with `rng_seed`: the same seed and the same calls give the same ids.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};

use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

use super::{FlickrSimConfig, SimFaults, SimHourlyLimit};
use crate::ghl::log::RequestLog;

/// A token's permission level; levels nest (delete ⊃ write ⊃ read ⊃ none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Perms {
    /// No permission (public calls).
    None,
    /// Read private data.
    Read,
    /// Read and write.
    Write,
    /// Read, write and delete.
    Delete,
}

impl Perms {
    /// `none`, `read`, `write` or `delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            Perms::None => "none",
            Perms::Read => "read",
            Perms::Write => "write",
            Perms::Delete => "delete",
        }
    }

    /// Reads `read`, `write` or `delete` (the levels a user can grant).
    pub fn parse(text: &str) -> Option<Perms> {
        match text {
            "read" => Some(Perms::Read),
            "write" => Some(Perms::Write),
            "delete" => Some(Perms::Delete),
            _ => None,
        }
    }
}

/// A Flickr account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    /// NSID, e.g. `12037949754@N01`.
    pub nsid: String,
    /// Screen name.
    pub username: String,
    /// Real name (may be empty).
    pub realname: String,
    /// E-mail address, for `people.findByEmail`.
    pub email: Option<String>,
    /// Free-text location.
    pub location: String,
    /// Profile description.
    pub description: String,
    /// When the account was created (Unix seconds).
    pub joined: i64,
}

/// A tag on a photo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tag {
    /// Tag id (`author-photo-n`), what `removeTag` takes.
    pub id: String,
    /// NSID of who added it.
    pub author: String,
    /// As typed.
    pub raw: String,
    /// Normalized (`_content`): lower case, and for plain tags only letters and digits.
    pub clean: String,
    /// `namespace:predicate=value`.
    pub machine: bool,
}

/// A photo.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Photo {
    /// Photo id.
    pub id: String,
    /// Owner NSID.
    pub owner: String,
    /// Image secret.
    pub secret: String,
    /// Image server.
    pub server: String,
    /// Image farm.
    pub farm: i64,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Tags in the order added.
    pub tags: Vec<Tag>,
    /// Upload time (Unix seconds).
    pub posted: i64,
    /// Taken time (Unix seconds, answered as a MySQL datetime).
    pub taken: i64,
    /// Last change of the photo or its metadata (Unix seconds).
    pub lastupdate: i64,
    /// Visible to everyone.
    pub is_public: bool,
    /// Visible to the owner's friends.
    pub is_friend: bool,
    /// Visible to the owner's family.
    pub is_family: bool,
    /// License id.
    pub license: String,
    /// View count.
    pub views: i64,
    /// Original file format (`jpg`, `png`, …).
    pub original_format: String,
    /// Original size in bytes (uploads only; seeded photos claim none).
    pub size: usize,
}

/// An album.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Photoset {
    /// Photoset id.
    pub id: String,
    /// Owner NSID.
    pub owner: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Cover photo id (always one of `photos`).
    pub primary: String,
    /// Photo ids in album order.
    pub photos: Vec<String>,
    /// Created (Unix seconds).
    pub created: i64,
    /// Last changed (Unix seconds).
    pub updated: i64,
}

/// A comment on a photo.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comment {
    /// Comment id.
    pub id: String,
    /// Photo id.
    pub photo_id: String,
    /// Author NSID.
    pub author: String,
    /// Text.
    pub text: String,
    /// Created (Unix seconds).
    pub created: i64,
}

/// One entry of a user's contact list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contact {
    /// The contact's NSID.
    pub nsid: String,
    /// When it was added (Unix seconds; `sort=time` orders by it).
    pub added: i64,
    /// Marked as a friend.
    pub friend: bool,
    /// Marked as family.
    pub family: bool,
}

/// A gallery: a curated list of other people's public photos.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gallery {
    /// Gallery id.
    pub id: String,
    /// Owner NSID.
    pub owner: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Primary photo id.
    pub primary: Option<String>,
    /// `(photo id, curator's comment)` in order.
    pub photos: Vec<(String, Option<String>)>,
    /// Created (Unix seconds).
    pub created: i64,
    /// Last changed (Unix seconds).
    pub updated: i64,
}

/// A request token between `request_token` and `access_token`.
#[derive(Debug, Clone)]
pub struct RequestToken {
    /// The app that asked for it.
    pub consumer_key: String,
    /// Its secret.
    pub secret: String,
    /// `oauth_callback` (`oob` for copy-the-code flows).
    pub callback: String,
    /// Set when a user approved it: `(nsid, perms, verifier)`.
    pub approval: Option<(String, Perms, String)>,
    /// Exchanged or denied: never valid again.
    pub spent: bool,
}

/// An access token.
#[derive(Debug, Clone, Serialize)]
pub struct AccessToken {
    /// The app it was issued to.
    pub consumer_key: String,
    /// Its secret.
    pub secret: String,
    /// The user it acts for.
    pub nsid: String,
    /// What it may do.
    pub perms: Perms,
}

/// The id generator.
#[derive(Debug)]
pub struct Ids {
    rng: fastrand::Rng,
    next_photo: u64,
    next_big: u64,
    next_tag: u64,
}

impl Ids {
    fn new(seed: u64) -> Ids {
        let mut rng = fastrand::Rng::with_seed(seed);
        let next_photo = 53_000_000_000 + rng.u64(..900_000_000);
        let next_big = 72_157_700_000_000_000 + rng.u64(..1_000_000_000);
        Ids {
            rng,
            next_photo,
            next_big,
            next_tag: 1,
        }
    }

    fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from_digit(self.rng.u32(..16), 16).unwrap_or('0'))
            .collect()
    }

    /// A new photo id (increasing, like Flickr's).
    pub fn photo(&mut self) -> String {
        self.next_photo += 1 + self.rng.u64(..5_000);
        self.next_photo.to_string()
    }

    /// A new 17-digit id of the `72157…` family (photosets, gallery and comment suffixes).
    pub fn big(&mut self) -> String {
        self.next_big += 1 + self.rng.u64(..50_000);
        self.next_big.to_string()
    }

    /// A new NSID.
    pub fn nsid(&mut self) -> String {
        format!(
            "{}@N{:02}",
            10_000_000 + self.rng.u64(..190_000_000),
            self.rng.u32(1..10)
        )
    }

    /// A tag id for `author` on `photo_id`.
    pub fn tag(&mut self, author: &str, photo_id: &str) -> String {
        self.next_tag += 1;
        format!("{}-{photo_id}-{}", nsid_number(author), self.next_tag)
    }

    /// A 10-hex-digit image secret.
    pub fn secret(&mut self) -> String {
        self.hex(10)
    }

    /// `(token, secret)` shaped like Flickr's.
    pub fn token(&mut self) -> (String, String) {
        let token = format!("{}-{}", self.big(), self.hex(16));
        (token, self.hex(16))
    }

    /// An OAuth verifier: 16 hex digits, or `123-456-789` for out-of-band flows.
    pub fn verifier(&mut self, oob: bool) -> String {
        if oob {
            let mut digits = || self.rng.u32(100..1000);
            format!("{}-{}-{}", digits(), digits(), digits())
        } else {
            self.hex(16)
        }
    }

    /// A number in `range` (seeding and image servers).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.rng.u64(..bound.max(1))
    }
}

/// The numeric part of an NSID (`12037949754` of `12037949754@N01`).
pub fn nsid_number(nsid: &str) -> &str {
    nsid.split('@').next().unwrap_or(nsid)
}

/// Everything the API reads and writes, under one lock.
#[derive(Debug)]
pub struct Data {
    /// The id generator.
    pub ids: Ids,
    /// Users by NSID.
    pub users: HashMap<String, User>,
    /// NSIDs in creation order.
    pub user_order: Vec<String>,
    /// Photos by id.
    pub photos: HashMap<String, Photo>,
    /// Photosets by id.
    pub photosets: HashMap<String, Photoset>,
    /// Each user's photoset ids in the user's order (new sets first).
    pub set_order: HashMap<String, Vec<String>>,
    /// Comments by id.
    pub comments: HashMap<String, Comment>,
    /// Each user's contacts.
    pub contacts: HashMap<String, Vec<Contact>>,
    /// Each user's favorites: `(photo id, faved at)`.
    pub favorites: HashMap<String, Vec<(String, i64)>>,
    /// Galleries by id.
    pub galleries: HashMap<String, Gallery>,
    /// Each user's gallery ids, newest first.
    pub gallery_order: HashMap<String, Vec<String>>,
    /// Request tokens by token.
    pub request_tokens: HashMap<String, RequestToken>,
    /// Access tokens by token.
    pub access_tokens: HashMap<String, AccessToken>,
}

/// Why a change was refused (admin API and test helpers).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// No user with this NSID.
    #[error("user {0} not found")]
    UnknownUser(String),
    /// No photo with this id.
    #[error("photo {0} not found")]
    UnknownPhoto(String),
    /// A value the simulator cannot store.
    #[error("invalid input: {0}")]
    Invalid(String),
}

impl StateError {
    /// How a client should treat it.
    pub fn kind(&self) -> tether_core::ErrorKind {
        tether_core::ErrorKind::Permanent
    }
}

/// The most tags a photo carries (Flickr's limit is 75).
pub const MAX_TAGS: usize = 75;

/// Splits a written tag list: space-separated, double quotes around multi-word tags (also inside a
/// machine tag's value: `ns:pred="two words"`).
pub fn split_tags(input: &str) -> Vec<String> {
    let mut tags = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in input.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    tags.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        tags.push(current);
    }
    tags
}

fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `raw` is a machine tag (`namespace:predicate=value`).
pub fn is_machine_tag(raw: &str) -> bool {
    let Some((namespace, rest)) = raw.split_once(':') else {
        return false;
    };
    let Some((predicate, value)) = rest.split_once('=') else {
        return false;
    };
    is_name(namespace) && is_name(predicate) && !value.is_empty()
}

/// The normalized form of a tag: machine tags lower-cased whole; plain tags lower-cased with
/// everything but letters and digits removed (`"woo yay"` → `wooyay`).
pub fn clean_tag(raw: &str) -> String {
    if is_machine_tag(raw) {
        raw.to_lowercase()
    } else {
        raw.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    }
}

impl Data {
    fn new(seed: u64) -> Data {
        Data {
            ids: Ids::new(seed),
            users: HashMap::new(),
            user_order: Vec::new(),
            photos: HashMap::new(),
            photosets: HashMap::new(),
            set_order: HashMap::new(),
            comments: HashMap::new(),
            contacts: HashMap::new(),
            favorites: HashMap::new(),
            galleries: HashMap::new(),
            gallery_order: HashMap::new(),
            request_tokens: HashMap::new(),
            access_tokens: HashMap::new(),
        }
    }

    /// Adds a user; returns the NSID.
    pub fn insert_user(
        &mut self,
        username: &str,
        realname: &str,
        email: Option<&str>,
        joined: i64,
    ) -> String {
        let mut nsid = self.ids.nsid();
        while self.users.contains_key(&nsid) {
            nsid = self.ids.nsid();
        }
        self.users.insert(
            nsid.clone(),
            User {
                nsid: nsid.clone(),
                username: username.to_owned(),
                realname: realname.to_owned(),
                email: email.map(str::to_owned),
                location: String::new(),
                description: String::new(),
                joined,
            },
        );
        self.user_order.push(nsid.clone());
        nsid
    }

    /// A user by NSID.
    pub fn user(&self, nsid: &str) -> Option<&User> {
        self.users.get(nsid)
    }

    /// Adds a photo posted at `posted`; returns its id.
    pub fn insert_photo(
        &mut self,
        owner: &str,
        title: &str,
        description: &str,
        tags: &[String],
        posted: i64,
    ) -> Result<String, StateError> {
        if !self.users.contains_key(owner) {
            return Err(StateError::UnknownUser(owner.to_owned()));
        }
        let id = self.ids.photo();
        let photo = Photo {
            id: id.clone(),
            owner: owner.to_owned(),
            secret: self.ids.secret(),
            server: (1000 + self.ids.below(64_000)).to_string(),
            farm: 66,
            title: title.to_owned(),
            description: description.to_owned(),
            tags: Vec::new(),
            posted,
            taken: posted - i64::try_from(self.ids.below(86_400 * 3)).unwrap_or(0),
            lastupdate: posted,
            is_public: true,
            is_friend: false,
            is_family: false,
            license: "0".into(),
            views: 0,
            original_format: "jpg".into(),
            size: 0,
        };
        self.photos.insert(id.clone(), photo);
        self.add_tags(&id, owner, tags, posted)?;
        if let Some(photo) = self.photos.get_mut(&id) {
            photo.lastupdate = posted;
        }
        Ok(id)
    }

    /// Appends tags (duplicates of a present tag are ignored); all or nothing past [`MAX_TAGS`].
    pub fn add_tags(
        &mut self,
        photo_id: &str,
        author: &str,
        raw_tags: &[String],
        now: i64,
    ) -> Result<bool, StateError> {
        let photo = self
            .photos
            .get(photo_id)
            .ok_or_else(|| StateError::UnknownPhoto(photo_id.to_owned()))?;
        let mut seen: HashSet<String> = photo.tags.iter().map(|tag| tag.clean.clone()).collect();
        let mut new_tags = Vec::new();
        for raw in raw_tags {
            let clean = clean_tag(raw);
            if clean.is_empty() || !seen.insert(clean.clone()) {
                continue;
            }
            new_tags.push((raw.clone(), clean));
        }
        if photo.tags.len() + new_tags.len() > MAX_TAGS {
            return Ok(false);
        }
        let tags: Vec<Tag> = new_tags
            .into_iter()
            .map(|(raw, clean)| Tag {
                id: self.ids.tag(author, photo_id),
                author: author.to_owned(),
                machine: is_machine_tag(&raw),
                raw,
                clean,
            })
            .collect();
        if let Some(photo) = self.photos.get_mut(photo_id) {
            photo.tags.extend(tags);
            photo.lastupdate = now;
        }
        Ok(true)
    }

    /// Replaces every tag; `false` when the list is over [`MAX_TAGS`].
    pub fn set_tags(
        &mut self,
        photo_id: &str,
        author: &str,
        raw_tags: &[String],
        now: i64,
    ) -> Result<bool, StateError> {
        let photo = self
            .photos
            .get_mut(photo_id)
            .ok_or_else(|| StateError::UnknownPhoto(photo_id.to_owned()))?;
        let previous = std::mem::take(&mut photo.tags);
        if self.add_tags(photo_id, author, raw_tags, now)? {
            return Ok(true);
        }
        if let Some(photo) = self.photos.get_mut(photo_id) {
            photo.tags = previous;
        }
        Ok(false)
    }

    /// Sets title and/or description; bumps `lastupdate`.
    pub fn set_meta(
        &mut self,
        photo_id: &str,
        title: Option<&str>,
        description: Option<&str>,
        now: i64,
    ) -> Result<(), StateError> {
        let photo = self
            .photos
            .get_mut(photo_id)
            .ok_or_else(|| StateError::UnknownPhoto(photo_id.to_owned()))?;
        if let Some(title) = title {
            photo.title = title.to_owned();
        }
        if let Some(description) = description {
            photo.description = description.to_owned();
        }
        photo.lastupdate = now;
        Ok(())
    }

    /// Marks a photo changed at `now`.
    pub fn touch(&mut self, photo_id: &str, now: i64) {
        if let Some(photo) = self.photos.get_mut(photo_id) {
            photo.lastupdate = now;
        }
    }

    /// Adds a comment; returns its id.
    pub fn insert_comment(
        &mut self,
        photo_id: &str,
        author: &str,
        text: &str,
        now: i64,
    ) -> Result<String, StateError> {
        if !self.users.contains_key(author) {
            return Err(StateError::UnknownUser(author.to_owned()));
        }
        let owner = self
            .photos
            .get(photo_id)
            .map(|photo| photo.owner.clone())
            .ok_or_else(|| StateError::UnknownPhoto(photo_id.to_owned()))?;
        let id = format!("{}-{photo_id}-{}", nsid_number(&owner), self.ids.big());
        self.comments.insert(
            id.clone(),
            Comment {
                id: id.clone(),
                photo_id: photo_id.to_owned(),
                author: author.to_owned(),
                text: text.to_owned(),
                created: now,
            },
        );
        self.touch(photo_id, now);
        Ok(id)
    }

    /// Comments of a photo, oldest first.
    pub fn comments_of(&self, photo_id: &str) -> Vec<&Comment> {
        let mut comments: Vec<&Comment> = self
            .comments
            .values()
            .filter(|comment| comment.photo_id == photo_id)
            .collect();
        comments.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        comments
    }

    /// Adds `contact` to `user`'s contacts (again: updates nothing).
    pub fn insert_contact(
        &mut self,
        user: &str,
        contact: &str,
        friend: bool,
        family: bool,
        now: i64,
    ) -> Result<(), StateError> {
        for nsid in [user, contact] {
            if !self.users.contains_key(nsid) {
                return Err(StateError::UnknownUser(nsid.to_owned()));
            }
        }
        if user == contact {
            return Err(StateError::Invalid(
                "a user cannot be their own contact".into(),
            ));
        }
        let list = self.contacts.entry(user.to_owned()).or_default();
        if !list.iter().any(|entry| entry.nsid == contact) {
            list.push(Contact {
                nsid: contact.to_owned(),
                added: now,
                friend,
                family,
            });
        }
        Ok(())
    }

    /// Creates a photoset with `primary` as its first photo; returns its id.
    pub fn insert_photoset(
        &mut self,
        owner: &str,
        title: &str,
        description: &str,
        primary: &str,
        now: i64,
    ) -> String {
        let id = self.ids.big();
        self.photosets.insert(
            id.clone(),
            Photoset {
                id: id.clone(),
                owner: owner.to_owned(),
                title: title.to_owned(),
                description: description.to_owned(),
                primary: primary.to_owned(),
                photos: vec![primary.to_owned()],
                created: now,
                updated: now,
            },
        );
        self.set_order
            .entry(owner.to_owned())
            .or_default()
            .insert(0, id.clone());
        self.touch(primary, now);
        id
    }

    /// Deletes a photoset (its photos stay).
    pub fn remove_photoset(&mut self, id: &str) {
        if let Some(set) = self.photosets.remove(id)
            && let Some(order) = self.set_order.get_mut(&set.owner)
        {
            order.retain(|other| other != id);
        }
    }

    /// Takes a photo out of a set: a new primary when it was the cover, the set deleted when it
    /// was the last photo (an album cannot be empty).
    pub fn remove_from_set(&mut self, set_id: &str, photo_id: &str, now: i64) {
        let mut now_empty = false;
        if let Some(set) = self.photosets.get_mut(set_id) {
            set.photos.retain(|id| id != photo_id);
            set.updated = now;
            match set.photos.first() {
                None => now_empty = true,
                Some(first) if set.primary == photo_id => set.primary = first.clone(),
                Some(_) => {}
            }
        }
        if now_empty {
            self.remove_photoset(set_id);
        }
        self.touch(photo_id, now);
    }

    /// Deletes a photo and every trace of it (sets, galleries, favorites, comments).
    pub fn remove_photo(&mut self, photo_id: &str, now: i64) {
        self.photos.remove(photo_id);
        let sets: Vec<String> = self
            .photosets
            .values()
            .filter(|set| set.photos.iter().any(|id| id == photo_id))
            .map(|set| set.id.clone())
            .collect();
        for set in sets {
            self.remove_from_set(&set, photo_id, now);
        }
        for gallery in self.galleries.values_mut() {
            gallery.photos.retain(|(id, _)| id != photo_id);
            if gallery.primary.as_deref() == Some(photo_id) {
                gallery.primary = gallery.photos.first().map(|(id, _)| id.clone());
            }
        }
        for faves in self.favorites.values_mut() {
            faves.retain(|(id, _)| id != photo_id);
        }
        self.comments
            .retain(|_, comment| comment.photo_id != photo_id);
    }

    /// Whether `viewer` (`None`: an anonymous call) may see `photo`.
    pub fn can_see(&self, photo: &Photo, viewer: Option<&str>) -> bool {
        if photo.is_public || viewer == Some(photo.owner.as_str()) {
            return true;
        }
        let Some(viewer) = viewer else {
            return false;
        };
        self.contacts.get(&photo.owner).is_some_and(|contacts| {
            contacts.iter().any(|contact| {
                contact.nsid == viewer
                    && ((photo.is_friend && contact.friend) || (photo.is_family && contact.family))
            })
        })
    }

    /// The contact entry of `other` in `user`'s list.
    pub fn contact(&self, user: &str, other: &str) -> Option<&Contact> {
        self.contacts
            .get(user)
            .and_then(|contacts| contacts.iter().find(|contact| contact.nsid == other))
    }

    /// Finds a user by NSID, username (case-insensitive) or the `me` of a signed call.
    pub fn resolve_user(&self, user_id: &str, caller: Option<&str>) -> Option<&User> {
        if user_id == "me" {
            return caller.and_then(|nsid| self.users.get(nsid));
        }
        self.users.get(user_id)
    }

    /// Mints an access token.
    pub fn mint_access_token(
        &mut self,
        consumer_key: &str,
        nsid: &str,
        perms: Perms,
    ) -> (String, String) {
        let (token, secret) = self.ids.token();
        self.access_tokens.insert(
            token.clone(),
            AccessToken {
                consumer_key: consumer_key.to_owned(),
                secret: secret.clone(),
                nsid: nsid.to_owned(),
                perms,
            },
        );
        (token, secret)
    }
}

/// Counts of what the world holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Users.
    pub users: usize,
    /// Photos.
    pub photos: usize,
    /// Photosets.
    pub photosets: usize,
    /// Comments.
    pub comments: usize,
    /// Galleries.
    pub galleries: usize,
}

/// The hourly limit's memory: per consumer key, the times of the requests admitted in the last
/// window. A sliding window: never more than the limit in any window.
#[derive(Debug)]
pub struct HourlyLimiter {
    /// The limit; `None` admits everything.
    pub limit: Option<SimHourlyLimit>,
    admitted: HashMap<String, VecDeque<i64>>,
}

impl HourlyLimiter {
    /// A limiter with nothing admitted yet.
    pub fn new(limit: Option<SimHourlyLimit>) -> HourlyLimiter {
        HourlyLimiter {
            limit,
            admitted: HashMap::new(),
        }
    }

    /// Counts one request of `key` at `now_ms`; `false` (and not counted) when over the limit.
    pub fn admit(&mut self, key: &str, now_ms: i64) -> bool {
        let Some(limit) = self.limit else {
            return true;
        };
        let window = i64::try_from(limit.window_ms).unwrap_or(i64::MAX);
        let times = self.admitted.entry(key.to_owned()).or_default();
        while times
            .front()
            .is_some_and(|&at| at <= now_ms.saturating_sub(window))
        {
            times.pop_front();
        }
        if times.len() >= limit.requests as usize {
            return false;
        }
        times.push_back(now_ms);
        true
    }
}

/// Nonces seen, by timestamp: `(consumer key, token, nonce)`.
type NonceMemory = BTreeMap<i64, HashSet<(String, String, String)>>;

/// The simulator's shared state.
pub struct World {
    pub(super) config: FlickrSimConfig,
    /// Everything the API reads and writes.
    pub data: RwLock<Data>,
    /// Nonces seen, by timestamp: `(consumer key, token, nonce)`.
    nonces: Mutex<NonceMemory>,
    pub(super) limiter: Mutex<HourlyLimiter>,
    pub(super) faults: Mutex<SimFaults>,
    pub(super) fault_rng: Mutex<fastrand::Rng>,
    clock_offset_secs: AtomicI64,
    /// Recent requests, for tests and the admin API.
    pub log: RequestLog,
}

impl World {
    pub(super) fn new(config: FlickrSimConfig) -> World {
        World {
            data: RwLock::new(Data::new(config.rng_seed)),
            nonces: Mutex::new(BTreeMap::new()),
            limiter: Mutex::new(HourlyLimiter::new(config.rate_limit)),
            faults: Mutex::new(SimFaults::default()),
            fault_rng: Mutex::new(fastrand::Rng::with_seed(config.rng_seed ^ 0xfa17)),
            clock_offset_secs: AtomicI64::new(0),
            log: RequestLog::new(config.request_log_capacity),
            config,
        }
    }

    /// The configuration the world was built with.
    pub fn config(&self) -> &FlickrSimConfig {
        &self.config
    }

    /// The real clock, Unix milliseconds.
    pub fn wall_ms() -> i64 {
        chrono::Utc::now().timestamp_millis()
    }

    /// The simulated now, Unix seconds (the wall clock plus every `advance_clock`).
    pub fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// The simulated now, Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        World::wall_ms() + self.clock_offset_secs.load(Ordering::Relaxed) * 1000
    }

    /// Moves the simulated clock forward by `secs` (dates, `lastupdate`, the timestamp window and
    /// the hourly limit all follow it).
    pub fn advance_clock(&self, secs: u64) {
        let secs = i64::try_from(secs).unwrap_or(i64::MAX);
        self.clock_offset_secs.fetch_add(secs, Ordering::Relaxed);
    }

    /// The secret of a registered consumer key.
    pub fn consumer_secret(&self, key: &str) -> Option<&str> {
        self.config
            .apps
            .iter()
            .find(|(known, _)| known == key)
            .map(|(_, secret)| secret.as_str())
    }

    /// Whether `timestamp` is within the window of either the simulated or the real clock.
    ///
    /// Both are accepted so that a client signing with its own clock keeps working after a test
    /// advanced the simulated one (see the decisions file).
    pub fn timestamp_fresh(&self, timestamp: i64) -> bool {
        let window = i64::try_from(self.config.timestamp_window_secs).unwrap_or(i64::MAX);
        [self.now(), World::wall_ms().div_euclid(1000)]
            .iter()
            .any(|now| (timestamp - now).abs() <= window)
    }

    /// Records a nonce; `false` when `(key, token, timestamp, nonce)` was seen before.
    pub fn use_nonce(&self, key: &str, token: &str, timestamp: i64, nonce: &str) -> bool {
        let window = i64::try_from(self.config.timestamp_window_secs).unwrap_or(i64::MAX);
        let oldest = self.now().min(World::wall_ms().div_euclid(1000)) - window;
        let mut nonces = self.nonces.lock();
        // Timestamps this old are refused anyway, so their nonces need not be kept.
        while let Some((&first, _)) = nonces.first_key_value() {
            if first >= oldest {
                break;
            }
            nonces.pop_first();
        }
        nonces.entry(timestamp).or_default().insert((
            key.to_owned(),
            token.to_owned(),
            nonce.to_owned(),
        ))
    }

    /// Mints an access token for a user with `perms` for consumer key `consumer_key`:
    /// `(token, token_secret)`.
    pub fn mint_access_token(
        &self,
        consumer_key: &str,
        user_nsid: &str,
        perms: Perms,
    ) -> (String, String) {
        self.data
            .write()
            .mint_access_token(consumer_key, user_nsid, perms)
    }

    /// Revokes an access token (the user removed the app); `false` when unknown.
    pub fn revoke_token(&self, token: &str) -> bool {
        self.data.write().access_tokens.remove(token).is_some()
    }

    /// Adds a user; returns the NSID.
    pub fn add_user(&self, username: &str, realname: &str, email: Option<&str>) -> String {
        let now = self.now();
        self.data
            .write()
            .insert_user(username, realname, email, now)
    }

    /// Uploads a photo now, as its owner would in the browser; returns the photo id.
    ///
    /// # Panics
    ///
    /// When `owner_nsid` is not a user: a bug in the calling test.
    pub fn add_photo(
        &self,
        owner_nsid: &str,
        title: &str,
        description: &str,
        tags: &[&str],
    ) -> String {
        let tags: Vec<String> = tags.iter().map(|tag| (*tag).to_owned()).collect();
        let now = self.now();
        self.data
            .write()
            .insert_photo(owner_nsid, title, description, &tags, now)
            .expect("add_photo takes the NSID of an existing user")
    }

    /// Comments on a photo now; returns the comment id.
    ///
    /// # Panics
    ///
    /// When the photo or the author does not exist: a bug in the calling test.
    pub fn add_comment(&self, photo_id: &str, author_nsid: &str, text: &str) -> String {
        let now = self.now();
        self.data
            .write()
            .insert_comment(photo_id, author_nsid, text, now)
            .expect("add_comment takes an existing photo and user")
    }

    /// Adds `contact_nsid` to `user_nsid`'s contacts (neither friend nor family).
    ///
    /// # Panics
    ///
    /// When either user does not exist or both are the same: a bug in the calling test.
    pub fn add_contact(&self, user_nsid: &str, contact_nsid: &str) {
        let now = self.now();
        self.data
            .write()
            .insert_contact(user_nsid, contact_nsid, false, false, now)
            .expect("add_contact takes two different existing users");
    }

    /// Edits a photo as its owner would in the browser: any of title, description and the full
    /// tag list (raw tags); bumps `lastupdate`.
    pub fn edit_photo(
        &self,
        photo_id: &str,
        title: Option<&str>,
        description: Option<&str>,
        tags: Option<&[String]>,
    ) -> Result<(), StateError> {
        let now = self.now();
        let mut data = self.data.write();
        data.set_meta(photo_id, title, description, now)?;
        if let Some(tags) = tags {
            let owner = data
                .photos
                .get(photo_id)
                .map(|photo| photo.owner.clone())
                .unwrap_or_default();
            if !data.set_tags(photo_id, &owner, tags, now)? {
                return Err(StateError::Invalid(format!("more than {MAX_TAGS} tags")));
            }
        }
        Ok(())
    }

    /// Changes a user's real name, as the user would on their profile page (Flickr's API has no
    /// method for it); `false` when there is no such user.
    pub fn set_realname(&self, nsid: &str, realname: &str) -> bool {
        match self.data.write().users.get_mut(nsid) {
            Some(user) => {
                realname.clone_into(&mut user.realname);
                true
            }
            None => false,
        }
    }

    /// A photo by id.
    pub fn photo(&self, photo_id: &str) -> Option<Photo> {
        self.data.read().photos.get(photo_id).cloned()
    }

    /// A photoset by id.
    pub fn photoset(&self, photoset_id: &str) -> Option<Photoset> {
        self.data.read().photosets.get(photoset_id).cloned()
    }

    /// A user by NSID.
    pub fn user(&self, nsid: &str) -> Option<User> {
        self.data.read().users.get(nsid).cloned()
    }

    /// Every NSID, in creation order.
    pub fn user_nsids(&self) -> Vec<String> {
        self.data.read().user_order.clone()
    }

    /// The ids of a user's photos, newest first.
    pub fn photos_of(&self, owner_nsid: &str) -> Vec<String> {
        let data = self.data.read();
        let mut photos: Vec<&Photo> = data
            .photos
            .values()
            .filter(|photo| photo.owner == owner_nsid)
            .collect();
        photos.sort_by(|a, b| (b.posted, &b.id).cmp(&(a.posted, &a.id)));
        photos.into_iter().map(|photo| photo.id.clone()).collect()
    }

    /// A user's photoset ids in the user's order.
    pub fn photosets_of(&self, owner_nsid: &str) -> Vec<String> {
        self.data
            .read()
            .set_order
            .get(owner_nsid)
            .cloned()
            .unwrap_or_default()
    }

    /// The comments of a photo, oldest first.
    pub fn comments(&self, photo_id: &str) -> Vec<Comment> {
        self.data
            .read()
            .comments_of(photo_id)
            .into_iter()
            .cloned()
            .collect()
    }

    /// A user's contacts in the order added.
    pub fn contacts_of(&self, nsid: &str) -> Vec<Contact> {
        self.data
            .read()
            .contacts
            .get(nsid)
            .cloned()
            .unwrap_or_default()
    }

    /// How much the world holds.
    pub fn counts(&self) -> Counts {
        let data = self.data.read();
        Counts {
            users: data.users.len(),
            photos: data.photos.len(),
            photosets: data.photosets.len(),
            comments: data.comments.len(),
            galleries: data.galleries.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_tags_split_on_spaces_and_keep_quoted_words() {
        assert_eq!(
            split_tags(r#"ghl  crm "two words" ns:pred="a b""#),
            vec!["ghl", "crm", "two words", "ns:pred=a b"]
        );
    }

    #[test]
    fn tags_are_normalized_like_flickrs() {
        assert_eq!(clean_tag("Woo Yay!"), "wooyay");
        assert_eq!(clean_tag("ghl:contact=AbC-1"), "ghl:contact=abc-1");
        assert!(is_machine_tag("ghl:contact=abc"));
        assert!(!is_machine_tag("ghl:contact="));
        assert!(!is_machine_tag("1a:b=c"));
    }

    #[test]
    fn the_hourly_window_slides() {
        let mut limiter = HourlyLimiter::new(Some(SimHourlyLimit {
            requests: 2,
            window_ms: 1_000,
        }));
        assert!(limiter.admit("k", 0));
        assert!(limiter.admit("k", 500));
        assert!(!limiter.admit("k", 900));
        assert!(limiter.admit("other", 900));
        assert!(limiter.admit("k", 1_000));
        assert!(!limiter.admit("k", 1_400));
        assert!(limiter.admit("k", 1_500));
    }
}
