//! Tasks of a contact (Contacts API v2, `Version: 2021-07-28`). Tasks take no `locationId`: the
//! token's location is the one.

use http::Method;
use serde::Serialize;

use super::models::{Succeeded, Task, TaskEnvelope, TaskInput, TaskUpdate, TasksEnvelope};
use super::{Api, ContactId, Error, GhlClient, TaskId, segment};

/// The task operations of a [`GhlClient`].
#[derive(Debug, Clone, Copy)]
pub struct Tasks<'a> {
    pub(crate) client: &'a GhlClient,
}

impl Tasks<'_> {
    fn path(contact_id: &ContactId, task_id: Option<&TaskId>) -> Result<String, Error> {
        let mut path = format!(
            "/contacts/{}/tasks",
            segment("contactId", contact_id.as_str())?
        );
        if let Some(task_id) = task_id {
            path.push('/');
            path.push_str(&segment("taskId", task_id.as_str())?);
        }
        Ok(path)
    }

    /// `GET /contacts/{contactId}/tasks` (get-all-tasks); not paginated.
    pub async fn list(&self, contact_id: &ContactId) -> Result<Vec<Task>, Error> {
        let request =
            self.client
                .request(Api::Contacts, Method::GET, Self::path(contact_id, None)?)?;
        let envelope: TasksEnvelope = self.client.send(request).await?;
        Ok(envelope.tasks)
    }

    /// `POST /contacts/{contactId}/tasks` (create-task); answers 201. Not idempotent.
    pub async fn create(&self, contact_id: &ContactId, task: &TaskInput) -> Result<Task, Error> {
        let request = self
            .client
            .request(Api::Contacts, Method::POST, Self::path(contact_id, None)?)?
            .json(task)?
            .idempotent(false);
        let envelope: TaskEnvelope = self.client.send(request).await?;
        Ok(envelope.task)
    }

    /// `GET /contacts/{contactId}/tasks/{taskId}` (get-task).
    pub async fn get(&self, contact_id: &ContactId, task_id: &TaskId) -> Result<Task, Error> {
        let request = self.client.request(
            Api::Contacts,
            Method::GET,
            Self::path(contact_id, Some(task_id))?,
        )?;
        let envelope: TaskEnvelope = self.client.send(request).await?;
        Ok(envelope.task)
    }

    /// `PUT /contacts/{contactId}/tasks/{taskId}` (update-task).
    pub async fn update(
        &self,
        contact_id: &ContactId,
        task_id: &TaskId,
        changes: &TaskUpdate,
    ) -> Result<Task, Error> {
        let request = self
            .client
            .request(
                Api::Contacts,
                Method::PUT,
                Self::path(contact_id, Some(task_id))?,
            )?
            .json(changes)?;
        let envelope: TaskEnvelope = self.client.send(request).await?;
        Ok(envelope.task)
    }

    /// `DELETE /contacts/{contactId}/tasks/{taskId}` (delete-task).
    pub async fn delete(
        &self,
        contact_id: &ContactId,
        task_id: &TaskId,
    ) -> Result<Succeeded, Error> {
        let request = self.client.request(
            Api::Contacts,
            Method::DELETE,
            Self::path(contact_id, Some(task_id))?,
        )?;
        self.client.send(request).await
    }

    /// `PUT /contacts/{contactId}/tasks/{taskId}/completed` (update-task-completed): marks the
    /// task done (`true`) or not done (`false`).
    pub async fn complete(
        &self,
        contact_id: &ContactId,
        task_id: &TaskId,
        completed: bool,
    ) -> Result<Task, Error> {
        #[derive(Serialize)]
        struct Body {
            completed: bool,
        }
        let path = format!("{}/completed", Self::path(contact_id, Some(task_id))?);
        let request = self
            .client
            .request(Api::Contacts, Method::PUT, path)?
            .json(&Body { completed })?;
        let envelope: TaskEnvelope = self.client.send(request).await?;
        Ok(envelope.task)
    }
}
