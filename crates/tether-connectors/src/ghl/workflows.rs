//! A contact's workflow enrolments (Contacts API v2, `Version: 2021-07-28`).

use chrono::{DateTime, FixedOffset};
use http::Method;
use serde::Serialize;

use super::models::Succeeded;
use super::{Api, ContactId, Error, GhlClient, WorkflowId, segment};

/// The workflow operations of a [`GhlClient`].
#[derive(Debug, Clone, Copy)]
pub struct Workflows<'a> {
    pub(crate) client: &'a GhlClient,
}

/// The body both workflow operations require (`CreateWorkflowDto`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WorkflowBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    event_start_time: Option<DateTime<FixedOffset>>,
}

impl Workflows<'_> {
    fn path(contact_id: &ContactId, workflow_id: &WorkflowId) -> Result<String, Error> {
        Ok(format!(
            "/contacts/{}/workflow/{}",
            segment("contactId", contact_id.as_str())?,
            segment("workflowId", workflow_id.as_str())?
        ))
    }

    /// `POST /contacts/{contactId}/workflow/{workflowId}` (add-contact-to-workflow); answers
    /// 200. `event_start_time` is the time the workflow's event-based steps count from.
    ///
    /// Not marked idempotent: enrolling twice may run the workflow twice.
    pub async fn add_contact(
        &self,
        contact_id: &ContactId,
        workflow_id: &WorkflowId,
        event_start_time: Option<DateTime<FixedOffset>>,
    ) -> Result<Succeeded, Error> {
        let request = self
            .client
            .request(
                Api::Contacts,
                Method::POST,
                Self::path(contact_id, workflow_id)?,
            )?
            .json(&WorkflowBody { event_start_time })?
            .idempotent(false);
        self.client.send(request).await
    }

    /// `DELETE /contacts/{contactId}/workflow/{workflowId}` (delete-contact-from-workflow). The
    /// spec requires a JSON body of the same shape as enrolment, so one is sent.
    pub async fn remove_contact(
        &self,
        contact_id: &ContactId,
        workflow_id: &WorkflowId,
        event_start_time: Option<DateTime<FixedOffset>>,
    ) -> Result<Succeeded, Error> {
        let request = self
            .client
            .request(
                Api::Contacts,
                Method::DELETE,
                Self::path(contact_id, workflow_id)?,
            )?
            .json(&WorkflowBody { event_start_time })?;
        self.client.send(request).await
    }
}
