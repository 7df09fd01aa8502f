//! Flows in the store: create one from YAML (it becomes its draft), edit the draft (with the
//! revision it was read at), validate it, publish it as a new immutable version, enable or
//! disable it, list its versions and export what is published.
//!
//! A draft is kept byte for byte, comments and `{{ }}` expressions included, and may have
//! problems: the UI saves work in progress. Publishing refuses a draft with problems, every one
//! listed with its line, column and field path. Publishing also loads the new version into the
//! service's [`FlowSet`](tether_engine::executor::FlowSet), so new events run it at once, while
//! older versions stay for the runs enqueued with them. Another process (`tether serve`) notices
//! a publish through [`Service::reload_flows_since`].
//!
//! People see a version as its number within the flow (`v2`) and its content hash (16 hex
//! digits, `Flow.version`), never as the integer runs record.
//!
//! While building, a draft can be discarded (it becomes the published text again) and run once
//! against a sample: its steps in order, as step tests, writing only when the write is confirmed,
//! the answer naming the draft revision that ran.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tether_engine::executor::version_number;
use tether_engine::flow::{self, Flow, KnownConnection};
use tether_store::{ConnectionStatus, DraftSave, FlowRunStats, FlowVersion, StoredFlow};
use utoipa::ToSchema;

use crate::error::{Diagnostic, Error, ErrorCode, Result};
use crate::samples::{StepTest, TestStepRequest, render_step};
use crate::{Page, Service};

/// The most items one page of a list holds.
pub const MAX_PAGE: usize = 200;

/// The window of a flow's recent run counts: 24 hours.
const RECENT_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// A published version, as people see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VersionInfo {
    /// Its number within the flow: 1, 2, …
    pub seq: i64,
    /// The flow's content hash, 16 hex digits (what `flow_version` of a run refers to).
    pub version: String,
    /// What the publisher said about it.
    pub message: String,
    /// When it was published (RFC 3339).
    pub published_at: String,
}

/// A published version with its YAML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VersionDetail {
    /// The flow.
    pub flow_id: String,
    /// The version.
    #[serde(flatten)]
    pub info: VersionInfo,
    /// The YAML exactly as published.
    pub yaml: String,
}

/// A flow in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FlowSummary {
    /// The flow's id (the YAML's `id`).
    pub id: String,
    /// Its name for people.
    pub name: String,
    /// Whether it starts runs.
    pub enabled: bool,
    /// The draft's revision (the `ETag` of the flow).
    pub draft_revision: i64,
    /// When the draft was last saved (RFC 3339).
    pub draft_updated_at: String,
    /// Whether the draft differs from the published version (or nothing is published yet).
    pub unpublished_changes: bool,
    /// The version new events run; absent before the first publish.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<VersionInfo>,
    /// What starts it, in a few words (`poll details_flowers.customer.updated every 1m`), read
    /// from the published version, else from the draft; absent when neither can be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    /// What starts it, field by field (from the same text as `trigger`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger_info: Option<TriggerInfo>,
    /// Its newest run; absent when it never ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run: Option<LastRunInfo>,
    /// Its runs created in the last 24 hours, by outcome.
    pub runs_24h: RecentRuns,
    /// Its dead letters neither replayed nor resolved.
    pub open_dead_letters: i64,
    /// The connections it names (trigger and steps) that are not usable as far as Tether knows:
    /// refused (`revoked`, `refresh_failed`), `unreachable` at the last check, or `missing`.
    pub unhealthy_connections: Vec<ConnectionProblem>,
}

/// What starts a flow, field by field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TriggerInfo {
    /// `webhook`, `poll` or `schedule`.
    pub kind: String,
    /// The app whose events or records start it (`ghl`, `details_flowers`); absent for a
    /// schedule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// A poll's operation (`details_flowers.customer.new`) or resource (`ghl.contact`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// A webhook's event types (`ContactCreate`); empty for the other kinds.
    pub events: Vec<String>,
    /// A poll's interval (`90s`, `5m`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub every: Option<String>,
    /// A schedule's cron expression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// The connection the trigger uses; absent for a schedule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
}

/// A flow's newest run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LastRunInfo {
    /// The run's id (`GET /runs/{id}`).
    pub id: i64,
    /// `queued`, `running`, `retry`, `done` or `dead`.
    pub status: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When it last changed, for a finished run when it finished (RFC 3339).
    pub updated_at: String,
}

/// Runs of a recent window by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecentRuns {
    /// Finished runs (`done`, a filter's stop included).
    pub ok: i64,
    /// Runs that failed for good (`dead`: in the dead letters, or replayed since).
    pub failed: i64,
}

/// A connection a flow names that is not usable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionProblem {
    /// The name (or id) the flow uses.
    pub name: String,
    /// `revoked`, `refresh_failed`, `unreachable`, or `missing` when no connection has it.
    pub health: String,
    /// The connection's last error, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A flow's draft with its problems.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Draft {
    /// The YAML exactly as saved.
    pub yaml: String,
    /// Its revision, moved by every save; send it as `If-Match` to save again.
    pub revision: i64,
    /// When it was saved (RFC 3339).
    pub updated_at: String,
    /// Every problem of the draft (empty: it can be published).
    pub diagnostics: Vec<Diagnostic>,
}

/// A flow with its draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FlowDetail {
    /// The flow's id.
    pub id: String,
    /// Its name for people.
    pub name: String,
    /// Whether it starts runs.
    pub enabled: bool,
    /// The draft and its diagnostics.
    pub draft: Draft,
    /// The version new events run; absent before the first publish.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<VersionInfo>,
}

/// What a publish did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublishResult {
    /// The flow's current version after the publish.
    pub version: VersionInfo,
    /// `false` when the draft was the current version already, so no version was added.
    pub created: bool,
}

/// What to run a draft once with.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DraftRunRequest {
    /// The draft revision the person is looking at (its `ETag`); when given, a draft saved
    /// since is refused (412) rather than run unseen.
    #[serde(default)]
    pub revision: Option<i64>,
    /// The trigger record (`trigger` in expressions).
    #[serde(default)]
    pub sample: Option<serde_json::Value>,
    /// A stored sample to use as the trigger record instead of `sample`.
    #[serde(default)]
    pub sample_id: Option<i64>,
    /// Lets the draft's actions write to their apps; without it they are rendered, not run.
    #[serde(default)]
    pub confirm_write: bool,
}

/// What running a draft once did: each step reached, as a step test.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DraftRun {
    /// The flow.
    pub flow_id: String,
    /// The draft revision that ran.
    pub revision: i64,
    /// Whether actions were allowed to write.
    pub confirm_write: bool,
    /// The steps reached, in order.
    pub steps: Vec<StepTest>,
    /// Why it stopped before the last step (a filter that did not pass, a step that failed or
    /// could not be rendered); absent when every step ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// The problems of the step that could not be rendered, with their places.
    pub diagnostics: Vec<Diagnostic>,
}

/// What applying a flow file did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplyOutcome {
    /// A new flow, published as v1.
    Created,
    /// A new version was published.
    Updated,
    /// The text was the published version already.
    Unchanged,
}

impl ApplyOutcome {
    /// The outcome as a word (`created`).
    pub fn as_str(self) -> &'static str {
        match self {
            ApplyOutcome::Created => "created",
            ApplyOutcome::Updated => "updated",
            ApplyOutcome::Unchanged => "unchanged",
        }
    }
}

/// A flow applied from its YAML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    /// The flow's id.
    pub id: String,
    /// What happened.
    pub outcome: ApplyOutcome,
    /// Its current version.
    pub version: VersionInfo,
}

/// How a person names a version: its number within the flow (`2`, `v2`) or its content hash
/// (16 hex digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionRef {
    /// v1, v2, …
    Seq(i64),
    /// The content hash.
    Hash(String),
}

impl FromStr for VersionRef {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let text = text.trim();
        if text.len() == 16 && text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Ok(VersionRef::Hash(text.to_ascii_lowercase()));
        }
        let digits = text
            .strip_prefix('v')
            .or_else(|| text.strip_prefix('V'))
            .unwrap_or(text);
        match digits.parse::<i64>() {
            Ok(seq) if seq > 0 => Ok(VersionRef::Seq(seq)),
            _ => Err(Error::invalid(format!(
                "version {text:?} is neither a version number (1, v2) nor a content hash (16 hex \
                 digits)"
            ))),
        }
    }
}

/// Which checks a flow gets before it is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checks {
    /// Everything, the stored connections included (what the API and `tether flows apply` do).
    Full,
    /// Everything but the connections, which may be connected after the flows are applied
    /// (`tether serve --flows DIR`, as before flows lived in the store).
    WithoutConnections,
}

impl Service {
    /// Every problem of `yaml` as a flow: YAML, fields, expressions, operations against the
    /// catalog and, with [`Checks::Full`], the stored connections. The flow when there is none.
    pub async fn validate_flow(
        &self,
        yaml: &str,
        checks: Checks,
    ) -> Result<(Option<Flow>, Vec<Diagnostic>)> {
        let connections = match checks {
            Checks::Full => Some(self.known_connections().await?),
            Checks::WithoutConnections => None,
        };
        let file = Path::new("flow.yaml");
        match flow::parse_flow_with(yaml, file, Some(self.catalog()), connections.as_deref()) {
            Ok(flow) => Ok((Some(flow), Vec::new())),
            Err(errors) => Ok((None, errors.problems.iter().map(Diagnostic::from).collect())),
        }
    }

    /// Creates a flow from `yaml`, which becomes its draft (not yet published), and answers it
    /// with the draft's diagnostics: a draft with problems is saved too. The id is the YAML's
    /// `id`; without one nothing is saved (422). A flow with that id already is a conflict.
    pub async fn create_flow(&self, yaml: &str) -> Result<FlowDetail> {
        let (id, name) = self.id_and_name(yaml).await?;
        self.store()
            .create_flow(&id, &name, yaml, tether_store::now_ms())
            .await
            .map_err(|error| match error {
                tether_store::Error::Conflict { .. } => Error::conflict(format!(
                    "a flow with id {id:?} exists already; edit its draft instead"
                )),
                other => other.into(),
            })?;
        self.flow(&id).await
    }

    /// One page of flows, by id.
    pub async fn list_flows(
        &self,
        limit: Option<usize>,
        cursor: Option<&str>,
    ) -> Result<Page<FlowSummary>> {
        let limit = page_limit(limit)?;
        let after = cursor.map(decode_cursor).transpose()?;
        let mut flows = self
            .store()
            .flows_page(after.as_deref(), limit as i64 + 1)
            .await?;
        let next_cursor = if flows.len() > limit {
            flows.truncate(limit);
            flows.last().map(|flow| encode_cursor(&flow.id))
        } else {
            None
        };
        Ok(Page {
            items: self.summaries(&flows).await?,
            next_cursor,
        })
    }

    /// The list entries of `flows` (a page, by id): what their texts say, their run statistics
    /// and their connections' health, with three reads of the store for the whole page.
    async fn summaries(&self, flows: &[StoredFlow]) -> Result<Vec<FlowSummary>> {
        let (Some(first), Some(last)) = (flows.first(), flows.last()) else {
            return Ok(Vec::new());
        };
        let since = tether_store::now_ms() - RECENT_WINDOW_MS;
        let stats: HashMap<String, FlowRunStats> = self
            .store()
            .flow_run_stats(&first.id, &last.id, since)
            .await?
            .into_iter()
            .map(|stats| (stats.flow_id.clone(), stats))
            .collect();
        let connections = self.store().connections().await?;
        Ok(flows
            .iter()
            .map(|stored| {
                let parsed = parse_listed(stored);
                let mut entry = summary(stored, parsed.as_ref());
                if let Some(parsed) = &parsed {
                    entry.unhealthy_connections = unhealthy(parsed, &connections);
                }
                if let Some(stats) = stats.get(&stored.id) {
                    entry.last_run = stats.last_run.as_ref().map(|run| LastRunInfo {
                        id: run.id.0,
                        status: run.status.as_str().to_owned(),
                        created_at: rfc3339(run.created_at_ms),
                        updated_at: rfc3339(run.updated_at_ms),
                    });
                    entry.runs_24h = RecentRuns {
                        ok: stats.done_since,
                        failed: stats.dead_since,
                    };
                    entry.open_dead_letters = stats.open_dead_letters;
                }
                entry
            })
            .collect())
    }

    /// Deletes flow `id`: it starts no runs from now on (in this process at once, in others at
    /// their next reload) and leaves the lists; runs already enqueued finish on the version they
    /// started with, and its runs, dead letters and versions stay as history. A flow with the
    /// same id may be created again.
    pub async fn delete_flow(&self, id: &str) -> Result<()> {
        match self.store().delete_flow(id, tether_store::now_ms()).await {
            Ok(_) => {
                self.flows().retire(id);
                Ok(())
            }
            Err(tether_store::Error::NotFound { .. }) => {
                Err(Error::not_found(format!("flow {id:?}")))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The flow `id` with its draft, the draft's diagnostics and its published version.
    pub async fn flow(&self, id: &str) -> Result<FlowDetail> {
        let stored = self.stored_flow(id).await?;
        let (_, diagnostics) = self.validate_flow(&stored.draft_yaml, Checks::Full).await?;
        Ok(detail(&stored, diagnostics))
    }

    /// Replaces the draft of `id` with `yaml` when its revision is still `expected_revision`
    /// (a stale one is [`ErrorCode::PreconditionFailed`]). The YAML's `id` must stay `id`.
    pub async fn save_flow_draft(
        &self,
        id: &str,
        yaml: &str,
        expected_revision: i64,
    ) -> Result<FlowDetail> {
        let (yaml_id, name) = self.id_and_name(yaml).await?;
        if yaml_id != id {
            return Err(id_changed(id, &yaml_id, yaml));
        }
        let saved = self
            .store()
            .save_flow_draft(
                id,
                &name,
                yaml,
                Some(expected_revision),
                tether_store::now_ms(),
            )
            .await?;
        match saved {
            DraftSave::Saved(stored) => {
                let (_, diagnostics) = self.validate_flow(&stored.draft_yaml, Checks::Full).await?;
                Ok(detail(&stored, diagnostics))
            }
            DraftSave::Stale { current_revision } => {
                Err(stale_draft(id, current_revision, expected_revision))
            }
        }
    }

    /// Publishes the draft of `id` as its new current version with `message`; refused (422)
    /// with every diagnostic when the draft has problems. A draft equal to the current version
    /// adds no version.
    pub async fn publish_flow(&self, id: &str, message: &str) -> Result<PublishResult> {
        let stored = self.stored_flow(id).await?;
        let (version, created) = self
            .publish_text(&stored, &stored.draft_yaml, message, Checks::Full)
            .await?;
        Ok(PublishResult {
            version: version_info(&version),
            created,
        })
    }

    /// Discards the draft of `id`: it becomes the published text again (a new revision, so an
    /// editor holding the old `ETag` notices). With `expected_revision`, a draft saved since is
    /// refused ([`ErrorCode::PreconditionFailed`]); a flow never published has nothing to go back
    /// to ([`ErrorCode::Conflict`]). A draft equal to the published text is answered as it is.
    pub async fn discard_flow_draft(
        &self,
        id: &str,
        expected_revision: Option<i64>,
    ) -> Result<FlowDetail> {
        let stored = self.stored_flow(id).await?;
        let Some(current) = stored.current.as_ref() else {
            return Err(Error::conflict(format!(
                "flow {id:?} was never published, so its draft has nothing to go back to; edit \
                 the draft instead"
            )));
        };
        if let Some(expected) = expected_revision
            && expected != stored.draft_revision
        {
            return Err(stale_draft(id, stored.draft_revision, expected));
        }
        if stored.draft_yaml == current.yaml {
            return self.flow(id).await;
        }
        let name = flow::peek_id_and_name(&current.yaml)
            .map(|(_, name)| name)
            .unwrap_or_else(|| stored.name.clone());
        let saved = self
            .store()
            .save_flow_draft(
                id,
                &name,
                &current.yaml,
                Some(stored.draft_revision),
                tether_store::now_ms(),
            )
            .await?;
        match saved {
            DraftSave::Saved(stored) => {
                let (_, diagnostics) = self.validate_flow(&stored.draft_yaml, Checks::Full).await?;
                Ok(detail(&stored, diagnostics))
            }
            DraftSave::Stale { current_revision } => {
                Err(stale_draft(id, current_revision, stored.draft_revision))
            }
        }
    }

    /// Runs the draft of `id` once against a sample: every step in order as
    /// [`Service::test_step`] tests it (lookups run; actions write only with `confirm_write`,
    /// directly, without the flow's links), each step seeing the outputs of those before it.
    /// It stops at a filter that does not pass, a failed step or one that cannot be rendered.
    /// Nothing is stored: no event, no run, no sample. The answer names the revision that ran.
    pub async fn run_draft_once(&self, id: &str, request: &DraftRunRequest) -> Result<DraftRun> {
        let stored = self.stored_flow(id).await?;
        if let Some(expected) = request.revision
            && expected != stored.draft_revision
        {
            return Err(stale_draft(id, stored.draft_revision, expected));
        }
        let revision = stored.draft_revision;
        let flow = flow::parse_flow(
            &stored.draft_yaml,
            Path::new("flow.yaml"),
            Some(self.catalog()),
        )
        .map_err(|errors| {
            Error::unprocessable(
                format!(
                    "draft revision {revision} of flow {id:?} has {} problem(s); fix them to run it",
                    errors.problems.len()
                ),
                errors.problems.iter().map(Diagnostic::from).collect(),
            )
        })?;
        let trigger = self
            .trigger_record(request.sample.as_ref(), request.sample_id)
            .await?;
        let mut run = DraftRun {
            flow_id: id.to_owned(),
            revision,
            confirm_write: request.confirm_write,
            steps: Vec::new(),
            stopped: None,
            diagnostics: Vec::new(),
        };
        let mut outputs = std::collections::BTreeMap::new();
        for step in &flow.steps {
            let test_request = TestStepRequest {
                step_id: step.id.clone(),
                steps: outputs.clone(),
                execute: true,
                confirm_write: request.confirm_write,
                ..TestStepRequest::default()
            };
            let (mut test, call) = match render_step(&flow, &test_request, trigger.clone()) {
                Ok(rendered) => rendered,
                Err(error) => {
                    run.stopped = Some(error.message);
                    run.diagnostics = error.diagnostics;
                    break;
                }
            };
            if let Some(call) = call {
                test.executed = true;
                match self
                    .ops()
                    .invoke(&call.connection, &call.operation, call.input)
                    .await
                {
                    Ok(output) => test.output = Some(output),
                    Err(error) => {
                        test.error = Some(format!(
                            "{} on {:?} failed: {}",
                            call.operation, call.connection, error.message
                        ));
                    }
                }
            }
            let passed = test.kind != "filter"
                || test
                    .output
                    .as_ref()
                    .and_then(|output| output.get("passed"))
                    .and_then(serde_json::Value::as_bool)
                    .unwrap_or(false);
            if test.kind != "filter"
                && let Some(output) = &test.output
            {
                outputs.insert(step.id.clone(), output.clone());
            }
            let failed = test.error.clone();
            run.steps.push(test);
            if !passed {
                run.stopped = Some(format!(
                    "the filter `{}` did not pass on this sample: a run would end here",
                    step.id
                ));
                break;
            }
            if let Some(error) = failed {
                run.stopped = Some(format!("step `{}` failed: {error}", step.id));
                break;
            }
        }
        Ok(run)
    }

    /// Applies a flow file: creates the flow or replaces its draft with `yaml`, and publishes it
    /// when its text differs from the published version. Refused (422, nothing saved) with every
    /// diagnostic when the flow has problems.
    pub async fn apply_flow(&self, yaml: &str, message: &str, checks: Checks) -> Result<Applied> {
        let (flow, diagnostics) = self.validate_flow(yaml, checks).await?;
        let Some(flow) = flow else {
            return Err(Error::unprocessable(
                format!("the flow has {} problem(s)", diagnostics.len()),
                diagnostics,
            ));
        };
        let now = tether_store::now_ms();
        let existing = self.store().flow(&flow.id).await?;
        let stored = match existing {
            None => {
                self.store()
                    .create_flow(&flow.id, &flow.name, yaml, now)
                    .await?
            }
            Some(stored) if stored.draft_yaml == yaml && stored.name == flow.name => stored,
            Some(_) => match self
                .store()
                .save_flow_draft(&flow.id, &flow.name, yaml, None, now)
                .await?
            {
                DraftSave::Saved(stored) => *stored,
                DraftSave::Stale { .. } => {
                    return Err(Error::internal("an unconditional draft save was refused"));
                }
            },
        };
        let first = stored.current.is_none();
        let (version, created) = self.publish_text(&stored, yaml, message, checks).await?;
        let outcome = match (created, first) {
            (false, _) => ApplyOutcome::Unchanged,
            (true, true) => ApplyOutcome::Created,
            (true, false) => ApplyOutcome::Updated,
        };
        Ok(Applied {
            id: flow.id,
            outcome,
            version: version_info(&version),
        })
    }

    /// One page of the published versions of `id`, newest first.
    pub async fn flow_versions(
        &self,
        id: &str,
        limit: Option<usize>,
        cursor: Option<&str>,
    ) -> Result<Page<VersionInfo>> {
        self.stored_flow(id).await?;
        let limit = page_limit(limit)?;
        let before = cursor
            .map(|cursor| {
                decode_cursor(cursor)?
                    .parse::<i64>()
                    .map_err(|_| bad_cursor())
            })
            .transpose()?;
        let mut versions = self
            .store()
            .flow_versions(id, before, limit as i64 + 1)
            .await?;
        let next_cursor = if versions.len() > limit {
            versions.truncate(limit);
            versions
                .last()
                .map(|version| encode_cursor(&version.seq.to_string()))
        } else {
            None
        };
        Ok(Page {
            items: versions.iter().map(version_info).collect(),
            next_cursor,
        })
    }

    /// One published version of `id` with its YAML.
    pub async fn flow_version(&self, id: &str, version: &VersionRef) -> Result<VersionDetail> {
        self.stored_flow(id).await?;
        let found = match version {
            VersionRef::Seq(seq) => self.store().flow_version(id, *seq).await?,
            VersionRef::Hash(hash) => self.store().flow_version_by_hash(id, hash).await?,
        };
        let found = found.ok_or_else(|| {
            Error::not_found(format!(
                "version {} of flow {id:?}",
                match version {
                    VersionRef::Seq(seq) => format!("v{seq}"),
                    VersionRef::Hash(hash) => hash.clone(),
                }
            ))
        })?;
        Ok(VersionDetail {
            flow_id: id.to_owned(),
            info: version_info(&found),
            yaml: found.yaml,
        })
    }

    /// The published version of `id` whose run number is `number` (what a run records as its
    /// `flow_version`), to show people its number and hash instead; `None` when none is stored
    /// (a flow loaded from files before flows lived in the store).
    pub async fn version_of_run_number(
        &self,
        id: &str,
        number: i64,
    ) -> Result<Option<VersionInfo>> {
        Ok(self
            .store()
            .flow_version_by_number(id, number)
            .await?
            .as_ref()
            .map(version_info))
    }

    /// Enables or disables `id`. A disabled flow starts no runs (webhooks, polls, schedules,
    /// GHL's feed); runs already enqueued still finish.
    pub async fn set_flow_enabled(&self, id: &str, enabled: bool) -> Result<FlowSummary> {
        self.store().set_flow_enabled(id, enabled).await?;
        let stored = self.stored_flow(id).await?;
        self.load_into_flow_set(&stored);
        let mut summaries = self.summaries(std::slice::from_ref(&stored)).await?;
        summaries
            .pop()
            .ok_or_else(|| Error::internal("a flow's summary is missing"))
    }

    /// Every published flow as `(id, YAML exactly as published)`, by id.
    pub async fn export_flows(&self) -> Result<Vec<(String, String)>> {
        Ok(self
            .store()
            .all_flows()
            .await?
            .into_iter()
            .filter_map(|stored| stored.current.map(|version| (stored.id, version.yaml)))
            .collect())
    }

    /// Loads into the [`FlowSet`](tether_engine::executor::FlowSet) every flow published,
    /// enabled or disabled after the store's change counter was `counter` (0: every flow), and
    /// answers the counter to pass next time. A flow whose current version no longer loads (the
    /// catalog changed) is logged with its problems and starts no runs; the others load.
    pub async fn reload_flows_since(&self, counter: i64) -> Result<i64> {
        let now = self.store().flow_change_counter().await?;
        if now == counter && counter != 0 {
            return Ok(now);
        }
        let changed = if counter == 0 {
            self.store().all_flows().await?
        } else {
            self.store().flows_changed_since(counter).await?
        };
        for stored in &changed {
            self.load_into_flow_set(stored);
        }
        Ok(now)
    }

    async fn publish_text(
        &self,
        stored: &StoredFlow,
        yaml: &str,
        message: &str,
        checks: Checks,
    ) -> Result<(FlowVersion, bool)> {
        let (flow, diagnostics) = self.validate_flow(yaml, checks).await?;
        let Some(flow) = flow else {
            return Err(Error::unprocessable(
                format!(
                    "flow {:?} is not published: its draft has {} problem(s)",
                    stored.id,
                    diagnostics.len()
                ),
                diagnostics,
            ));
        };
        if flow.id != stored.id {
            return Err(id_changed(&stored.id, &flow.id, yaml));
        }
        let number = version_number(&flow.version).ok_or_else(|| {
            Error::internal(format!("flow version {:?} is not hex", flow.version))
        })?;
        let published = self
            .store()
            .publish_flow(
                &stored.id,
                yaml,
                &flow.version,
                number,
                message,
                tether_store::now_ms(),
            )
            .await?;
        let insert = if stored.enabled {
            self.flows().insert(flow)
        } else {
            self.flows().insert_version(flow)
        };
        insert.map_err(Error::internal)?;
        Ok((published.version, published.created))
    }

    /// Puts a stored flow's state into the flow set: its current version runs when it is
    /// enabled and loads; otherwise it starts nothing.
    fn load_into_flow_set(&self, stored: &StoredFlow) {
        if stored.deleted_at_ms.is_some() {
            self.flows().retire(&stored.id);
            return;
        }
        let Some(version) = stored.current.as_ref() else {
            return;
        };
        let label = format!("{}@v{}", stored.id, version.seq);
        match flow::parse_flow(&version.yaml, Path::new(&label), Some(self.catalog())) {
            Ok(flow) if stored.enabled => {
                if let Err(problem) = self.flows().insert(flow) {
                    tracing::error!(flow_id = %stored.id, %problem, "A stored flow does not load; it starts no runs.");
                    self.flows().retire(&stored.id);
                }
            }
            Ok(flow) => {
                let _ = self.flows().insert_version(flow);
                self.flows().retire(&stored.id);
            }
            Err(errors) => {
                tracing::error!(
                    flow_id = %stored.id,
                    version = %version.hash,
                    problems = %errors,
                    "A stored flow no longer loads; it starts no runs until it is fixed and published again."
                );
                self.flows().retire(&stored.id);
            }
        }
    }

    async fn stored_flow(&self, id: &str) -> Result<StoredFlow> {
        self.store()
            .flow(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("flow {id:?}")))
    }

    async fn known_connections(&self) -> Result<Vec<KnownConnection>> {
        Ok(self
            .store()
            .connections()
            .await?
            .into_iter()
            .map(|connection| KnownConnection {
                name: connection.name,
                app: connection.app,
            })
            .collect())
    }

    /// The YAML's id and name; without an id, 422 with every diagnostic.
    async fn id_and_name(&self, yaml: &str) -> Result<(String, String)> {
        if let Some(found) = flow::peek_id_and_name(yaml) {
            return Ok(found);
        }
        let (_, mut diagnostics) = self.validate_flow(yaml, Checks::Full).await?;
        if diagnostics.is_empty() {
            diagnostics.push(Diagnostic {
                line: None,
                column: None,
                path: "id".into(),
                message: "a flow needs an `id`".into(),
            });
        }
        Err(Error::unprocessable(
            "the flow has no `id` (a top-level string), so it cannot be saved",
            diagnostics,
        ))
    }
}

fn stale_draft(id: &str, current_revision: i64, expected_revision: i64) -> Error {
    Error::new(
        ErrorCode::PreconditionFailed,
        format!(
            "the draft of flow {id:?} is at revision {current_revision}, not \
             {expected_revision}: someone saved it meanwhile; read it again and reapply your \
             change"
        ),
    )
}

fn id_changed(id: &str, yaml_id: &str, yaml: &str) -> Error {
    let line = yaml
        .lines()
        .position(|line| line.trim_start().starts_with("id:") && !line.starts_with(' '))
        .map(|index| index as u64 + 1);
    Error {
        diagnostics: vec![Diagnostic {
            line,
            column: line.map(|_| 1),
            path: "id".into(),
            message: format!("the id is {yaml_id:?}, but this is flow {id:?}; an id never changes"),
        }],
        ..Error::invalid(format!(
            "the YAML's id {yaml_id:?} is not the flow's id {id:?}; create a new flow instead"
        ))
    }
}

fn page_limit(limit: Option<usize>) -> Result<usize> {
    match limit {
        None => Ok(50),
        Some(0) => Err(Error::invalid("limit must be at least 1")),
        Some(limit) if limit > MAX_PAGE => {
            Err(Error::invalid(format!("limit must be at most {MAX_PAGE}")))
        }
        Some(limit) => Ok(limit),
    }
}

/// Cursors are opaque: the key they continue after, hex-encoded.
fn encode_cursor(key: &str) -> String {
    key.bytes().map(|byte| format!("{byte:02x}")).collect()
}

fn decode_cursor(cursor: &str) -> Result<String> {
    if !cursor.len().is_multiple_of(2) {
        return Err(bad_cursor());
    }
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|index| {
            cursor
                .get(index..index + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(bad_cursor)?;
    String::from_utf8(bytes).map_err(|_| bad_cursor())
}

fn bad_cursor() -> Error {
    Error::invalid("cursor is not one this API gave out; start again without it")
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn version_info(version: &FlowVersion) -> VersionInfo {
    VersionInfo {
        seq: version.seq,
        version: version.hash.clone(),
        message: version.message.clone(),
        published_at: rfc3339(version.published_at_ms),
    }
}

fn summary(stored: &StoredFlow, parsed: Option<&Flow>) -> FlowSummary {
    FlowSummary {
        id: stored.id.clone(),
        name: stored.name.clone(),
        enabled: stored.enabled,
        draft_revision: stored.draft_revision,
        draft_updated_at: rfc3339(stored.draft_updated_at_ms),
        unpublished_changes: stored
            .current
            .as_ref()
            .is_none_or(|version| version.yaml != stored.draft_yaml),
        published: stored.current.as_ref().map(version_info),
        trigger: parsed.map(trigger_text),
        trigger_info: parsed.map(trigger_info),
        last_run: None,
        runs_24h: RecentRuns::default(),
        open_dead_letters: 0,
        unhealthy_connections: Vec::new(),
    }
}

/// The flow a list describes: its published version, else its draft; `None` when that text is
/// no readable flow.
fn parse_listed(stored: &StoredFlow) -> Option<Flow> {
    let text = stored
        .current
        .as_ref()
        .map_or(stored.draft_yaml.as_str(), |version| version.yaml.as_str());
    flow::parse_flow(text, Path::new("flow.yaml"), None).ok()
}

/// The connections `flow` names that are not usable, by name: known dead or unreachable at the
/// last check, or named by no connection at all. An untested connection is not a problem yet.
fn unhealthy(flow: &Flow, connections: &[tether_store::Connection]) -> Vec<ConnectionProblem> {
    crate::connections::connections_named(flow)
        .into_iter()
        .filter_map(|name| {
            let found = connections
                .iter()
                .find(|connection| connection.name == name || connection.id == name);
            match found {
                None => Some(ConnectionProblem {
                    name: name.to_owned(),
                    health: "missing".into(),
                    message: Some(format!("no connection is named {name:?}")),
                }),
                Some(connection) => match connection.status {
                    ConnectionStatus::Ok | ConnectionStatus::Untested => None,
                    status @ (ConnectionStatus::RefreshFailed
                    | ConnectionStatus::Revoked
                    | ConnectionStatus::Unreachable) => Some(ConnectionProblem {
                        name: name.to_owned(),
                        health: status.as_str().to_owned(),
                        message: connection.status_message.clone(),
                    }),
                },
            }
        })
        .collect()
}

/// A flow's trigger field by field.
fn trigger_info(flow: &Flow) -> TriggerInfo {
    match &flow.trigger {
        flow::TriggerSpec::Webhook {
            app,
            events,
            connection,
        } => TriggerInfo {
            kind: "webhook".into(),
            app: Some(app.clone()),
            operation: None,
            events: events.clone(),
            every: None,
            cron: None,
            connection: Some(connection.clone()),
        },
        flow::TriggerSpec::Poll {
            source,
            every,
            connection,
            ..
        } => {
            let (flow::PollSource::Operation(name) | flow::PollSource::Resource(name)) = source;
            TriggerInfo {
                kind: "poll".into(),
                app: name.split('.').next().map(str::to_owned),
                operation: Some(name.clone()),
                events: Vec::new(),
                every: Some(every_text(*every)),
                cron: None,
                connection: Some(connection.clone()),
            }
        }
        flow::TriggerSpec::Schedule { cron } => TriggerInfo {
            kind: "schedule".into(),
            app: None,
            operation: None,
            events: Vec::new(),
            every: None,
            cron: Some(cron.clone()),
            connection: None,
        },
    }
}

/// A flow's trigger in a few words, for lists; `None` when the text is no readable flow.
#[cfg(test)]
fn trigger_summary(yaml: &str) -> Option<String> {
    let flow = flow::parse_flow(yaml, Path::new("flow.yaml"), None).ok()?;
    Some(trigger_text(&flow))
}

/// A flow's trigger in a few words, for lists.
fn trigger_text(flow: &Flow) -> String {
    match &flow.trigger {
        flow::TriggerSpec::Webhook { app, events, .. } => {
            format!("webhook {app}: {}", events.join(", "))
        }
        flow::TriggerSpec::Poll { source, every, .. } => {
            let (flow::PollSource::Operation(name) | flow::PollSource::Resource(name)) = source;
            format!("poll {name} every {}", every_text(*every))
        }
        flow::TriggerSpec::Schedule { cron } => format!("schedule {cron}"),
    }
}

/// `90s`, `5m`, `2h`: a poll interval as flows write it.
fn every_text(every: std::time::Duration) -> String {
    let secs = every.as_secs();
    if secs > 0 && secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs > 0 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

fn detail(stored: &StoredFlow, diagnostics: Vec<Diagnostic>) -> FlowDetail {
    FlowDetail {
        id: stored.id.clone(),
        name: stored.name.clone(),
        enabled: stored.enabled,
        draft: Draft {
            yaml: stored.draft_yaml.clone(),
            revision: stored.draft_revision,
            updated_at: rfc3339(stored.draft_updated_at_ms),
            diagnostics,
        },
        published: stored.current.as_ref().map(version_info),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trigger_is_summed_up_in_a_few_words() {
        let flow = |trigger: &str| {
            format!(
                "id: f\ntrigger:\n{trigger}steps:\n  - id: s\n    filter:\n      when: \"{{{{ true }}}}\"\n"
            )
        };
        assert_eq!(
            trigger_summary(&flow("  webhook:\n    app: ghl\n    events: [ContactCreate, ContactUpdate]\n    connection: main\n")).as_deref(),
            Some("webhook ghl: ContactCreate, ContactUpdate")
        );
        assert_eq!(
            trigger_summary(&flow("  poll:\n    operation: details_flowers.customer.new\n    connection: df\n    every: 90s\n")).as_deref(),
            Some("poll details_flowers.customer.new every 90s")
        );
        assert_eq!(
            trigger_summary(&flow("  schedule:\n    cron: \"@daily\"\n")).as_deref(),
            Some("schedule @daily")
        );
        assert_eq!(trigger_summary("not: [a flow"), None);
        assert_eq!(every_text(std::time::Duration::from_secs(7200)), "2h");
        assert_eq!(every_text(std::time::Duration::from_secs(300)), "5m");
    }

    #[test]
    fn versions_are_named_by_number_or_hash() {
        assert_eq!("2".parse::<VersionRef>().unwrap(), VersionRef::Seq(2));
        assert_eq!("v3".parse::<VersionRef>().unwrap(), VersionRef::Seq(3));
        assert_eq!(
            "0123456789ABCDEF".parse::<VersionRef>().unwrap(),
            VersionRef::Hash("0123456789abcdef".into())
        );
        // Sixteen digits are a hash, not a number.
        assert_eq!(
            "1234567890123456".parse::<VersionRef>().unwrap(),
            VersionRef::Hash("1234567890123456".into())
        );
        let error = "v0".parse::<VersionRef>().unwrap_err();
        assert_eq!(error.code, ErrorCode::Invalid);
        assert!(error.message.contains("\"v0\""), "{}", error.message);
    }

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let cursor = encode_cursor("ghl-contact→df");
        assert_eq!(decode_cursor(&cursor).unwrap(), "ghl-contact→df");
        assert_eq!(decode_cursor("zz").unwrap_err().code, ErrorCode::Invalid);
        assert_eq!(decode_cursor("abc").unwrap_err().code, ErrorCode::Invalid);
    }
}
