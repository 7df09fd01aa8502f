//! `flickr.photos.comments.*`: read, add, edit and delete the comments of a photo.

use super::models::{CommentList, CreatedComment, Done};
use super::{CommentId, Error, FlickrClient, Params, PhotoId, Verb, require};

/// The comment methods of a [`FlickrClient`].
#[derive(Debug, Clone, Copy)]
pub struct Comments<'a> {
    pub(crate) client: &'a FlickrClient,
}

impl Comments<'_> {
    /// `flickr.photos.comments.getList`: a photo's comments, oldest first, optionally only
    /// those written in `[min_date, max_date]` (Unix seconds).
    pub async fn list(
        &self,
        photo_id: &PhotoId,
        min_date: Option<i64>,
        max_date: Option<i64>,
    ) -> Result<CommentList, Error> {
        require("photo_id", photo_id.as_str())?;
        let params = Params::new()
            .add("photo_id", photo_id)
            .opt("min_comment_date", min_date)
            .opt("max_comment_date", max_date);
        self.client
            .call(
                "flickr.photos.comments.getList",
                "comments",
                Verb::Read,
                params,
            )
            .await
    }

    /// `flickr.photos.comments.addComment` (write): comments as the connection's user. Not
    /// repeated after it may have arrived: a repeat would post the comment twice.
    pub async fn add(&self, photo_id: &PhotoId, text: &str) -> Result<CreatedComment, Error> {
        require("photo_id", photo_id.as_str())?;
        require("comment_text", text)?;
        let params = Params::new()
            .add("photo_id", photo_id)
            .add("comment_text", text);
        self.client
            .call(
                "flickr.photos.comments.addComment",
                "comment",
                Verb::Write { idempotent: false },
                params,
            )
            .await
    }

    /// `flickr.photos.comments.editComment` (write): replaces a comment's text.
    pub async fn edit(&self, comment_id: &CommentId, text: &str) -> Result<Done, Error> {
        require("comment_id", comment_id.as_str())?;
        require("comment_text", text)?;
        let params = Params::new()
            .add("comment_id", comment_id)
            .add("comment_text", text);
        self.client
            .call_empty(
                "flickr.photos.comments.editComment",
                Verb::Write { idempotent: true },
                params,
            )
            .await
    }

    /// `flickr.photos.comments.deleteComment` (write).
    pub async fn delete(&self, comment_id: &CommentId) -> Result<Done, Error> {
        require("comment_id", comment_id.as_str())?;
        let params = Params::new().add("comment_id", comment_id);
        self.client
            .call_empty(
                "flickr.photos.comments.deleteComment",
                Verb::Write { idempotent: false },
                params,
            )
            .await
    }
}
