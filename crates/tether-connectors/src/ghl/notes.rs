//! Notes of a contact (Contacts API v2, `Version: 2021-07-28`).

use http::Method;

use super::models::{Note, NoteEnvelope, NoteInput, NoteUpdate, NotesEnvelope, Succeeded};
use super::{Api, ContactId, Error, GhlClient, NoteId, segment};

/// The note operations of a [`GhlClient`].
#[derive(Debug, Clone, Copy)]
pub struct Notes<'a> {
    pub(crate) client: &'a GhlClient,
}

impl Notes<'_> {
    fn path(contact_id: &ContactId, note_id: Option<&NoteId>) -> Result<String, Error> {
        let mut path = format!(
            "/contacts/{}/notes",
            segment("contactId", contact_id.as_str())?
        );
        if let Some(note_id) = note_id {
            path.push('/');
            path.push_str(&segment("noteId", note_id.as_str())?);
        }
        Ok(path)
    }

    /// `GET /contacts/{contactId}/notes` (get-all-notes); not paginated.
    pub async fn list(&self, contact_id: &ContactId) -> Result<Vec<Note>, Error> {
        let request =
            self.client
                .request(Api::Contacts, Method::GET, Self::path(contact_id, None)?)?;
        let envelope: NotesEnvelope = self.client.send(request).await?;
        Ok(envelope.notes)
    }

    /// `POST /contacts/{contactId}/notes` (create-note); answers 201. Not idempotent.
    pub async fn create(&self, contact_id: &ContactId, note: &NoteInput) -> Result<Note, Error> {
        let request = self
            .client
            .request(Api::Contacts, Method::POST, Self::path(contact_id, None)?)?
            .json(note)?
            .idempotent(false);
        let envelope: NoteEnvelope = self.client.send(request).await?;
        Ok(envelope.note)
    }

    /// `GET /contacts/{contactId}/notes/{id}` (get-note).
    pub async fn get(&self, contact_id: &ContactId, note_id: &NoteId) -> Result<Note, Error> {
        let request = self.client.request(
            Api::Contacts,
            Method::GET,
            Self::path(contact_id, Some(note_id))?,
        )?;
        let envelope: NoteEnvelope = self.client.send(request).await?;
        Ok(envelope.note)
    }

    /// `PUT /contacts/{contactId}/notes/{id}` (update-note).
    pub async fn update(
        &self,
        contact_id: &ContactId,
        note_id: &NoteId,
        changes: &NoteUpdate,
    ) -> Result<Note, Error> {
        let request = self
            .client
            .request(
                Api::Contacts,
                Method::PUT,
                Self::path(contact_id, Some(note_id))?,
            )?
            .json(changes)?;
        let envelope: NoteEnvelope = self.client.send(request).await?;
        Ok(envelope.note)
    }

    /// `DELETE /contacts/{contactId}/notes/{id}` (delete-note).
    pub async fn delete(
        &self,
        contact_id: &ContactId,
        note_id: &NoteId,
    ) -> Result<Succeeded, Error> {
        let request = self.client.request(
            Api::Contacts,
            Method::DELETE,
            Self::path(contact_id, Some(note_id))?,
        )?;
        self.client.send(request).await
    }
}
