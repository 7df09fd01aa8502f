//! Links, the id map of DESIGN.md: `(flow, source app, source type, source id)` → `(target app,
//! target type, target id, content hash)`. An action consults its link to update instead of
//! creating twice; a bidirectional flow finds its own writes by target and content hash, and so
//! recognises their echo.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Error, Store};

/// One link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The flow that made it.
    pub flow_id: String,
    /// The source app (`ghl`).
    pub source_app: String,
    /// The source record type (`contact`).
    pub source_type: String,
    /// The source record id.
    pub source_id: String,
    /// The target app (`details-flowers`).
    pub target_app: String,
    /// The target record type (`customer`).
    pub target_type: String,
    /// The target record id.
    pub target_id: String,
    /// A hash of the content last written to the target.
    pub content_hash: String,
    /// The version (change time, ms since epoch) of the source record last written, when the
    /// source gave one: an older version arriving later must not overwrite it.
    pub source_version: Option<i64>,
    /// When the link was last written, ms since epoch.
    pub updated_at_ms: i64,
    /// What two-way sync knows of the link's two records (the engine's `SyncState`, as JSON):
    /// the source fields the flow last read and the target fields Tether last wrote, each with
    /// when. `None` for links written before two-way sync.
    pub sync_state: Option<serde_json::Value>,
}

/// What [`Store::upsert_link`] expects of the stored link before it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkExpect<'a> {
    /// Nothing: write whatever is there.
    Any,
    /// No link for this source yet (the action created the target).
    Absent,
    /// A link whose content hash is this one (nobody wrote since it was read).
    Hash(&'a str),
}

macro_rules! link_columns {
    () => {
        "flow_id, source_app, source_type, source_id, target_app, target_type, target_id, \
         content_hash, updated_at_ms, source_version, sync_state"
    };
}

/// What [`Store::links_of_record`] answers: the flow's own link from the record, and the links
/// into it.
type RecordLinks = (Option<Link>, Vec<Link>);

/// [`Store::links_of_record`] asked for, as queued.
struct LinkRead {
    flow_id: String,
    app: String,
    record_type: String,
    id: String,
    reply: tokio::sync::oneshot::Sender<Result<RecordLinks, Error>>,
}

/// Reads of [`Store::links_of_record`], batched like the writer's jobs ([`crate::group`]): the
/// reads queued while one query runs go in the next, one `UNION ALL` of two indexed lookups per
/// read. Every action reads its record's links once, right after taking the record's lease; the
/// query costs about the same for one read as for a batch's, most of it handing the statement to
/// the database and back.
#[derive(Clone)]
pub(crate) struct LinkReads {
    group: crate::group::Group<LinkRead>,
}

impl std::fmt::Debug for LinkReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkReads").finish_non_exhaustive()
    }
}

/// Reads answered by one query at most.
const READS_PER_QUERY: usize = 64;

impl LinkReads {
    /// Reads on `pool`, one query per batch; placeholders anonymous when `anonymous` (SQLite's,
    /// see [`crate::placeholders`]).
    pub(crate) fn new(pool: sqlx::AnyPool, anonymous: bool) -> Self {
        let pool = std::sync::Arc::new(pool);
        LinkReads {
            group: crate::group::Group::new(
                std::sync::Arc::new(move |batch: Vec<LinkRead>| {
                    let pool = pool.clone();
                    Box::pin(async move {
                        match read_links(&pool, anonymous, &batch).await {
                            Ok(answers) => {
                                for (read, answer) in batch.into_iter().zip(answers) {
                                    let _ = read.reply.send(Ok(answer));
                                }
                            }
                            Err(error) => {
                                // One error for the batch: each read is asked alone again, so a
                                // failure is its own caller's only.
                                tracing::debug!(
                                    %error, reads = batch.len(),
                                    "A batch of link reads failed; reading each alone."
                                );
                                for read in batch {
                                    let alone = read_links(&pool, anonymous, &[&read])
                                        .await
                                        .and_then(|mut answers| {
                                            answers.pop().ok_or(Error::Corrupt {
                                                field: "links",
                                                reason: "a read answered nothing".into(),
                                            })
                                        });
                                    let _ = read.reply.send(alone);
                                }
                            }
                        }
                    })
                }),
                |_| 1,
                READS_PER_QUERY,
            ),
        }
    }
}

/// The answers of `reads`, in order, from one query.
async fn read_links<R: std::borrow::Borrow<LinkRead>>(
    pool: &sqlx::AnyPool,
    anonymous: bool,
    reads: &[R],
) -> Result<Vec<RecordLinks>, Error> {
    let mut sql = String::new();
    let mut n = 0;
    let mut next = || {
        n += 1;
        crate::param_as(anonymous, n)
    };
    for at in 0..reads.len() {
        if at > 0 {
            sql.push_str(" UNION ALL ");
        }
        // `at` and the side are this code's own numbers, not input.
        sql.push_str(&format!(
            "SELECT CAST({at} AS BIGINT) AS read_at, CAST(0 AS BIGINT) AS side, {} FROM links \
             WHERE flow_id = {} AND source_app = {} AND source_type = {} AND source_id = {} \
             UNION ALL SELECT CAST({at} AS BIGINT) AS read_at, CAST(1 AS BIGINT) AS side, {} \
             FROM links WHERE target_app = {} AND target_type = {} AND target_id = {}",
            link_columns!(),
            next(),
            next(),
            next(),
            next(),
            link_columns!(),
            next(),
            next(),
            next(),
        ));
    }
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for read in reads {
        let read = read.borrow();
        query = query
            .bind(read.flow_id.as_str())
            .bind(read.app.as_str())
            .bind(read.record_type.as_str())
            .bind(read.id.as_str())
            .bind(read.app.as_str())
            .bind(read.record_type.as_str())
            .bind(read.id.as_str());
    }
    let rows = query.fetch_all(pool).await?;
    let mut answers: Vec<RecordLinks> = reads.iter().map(|_| (None, Vec::new())).collect();
    for row in &rows {
        let at: i64 = row.try_get("read_at")?;
        let side: i64 = row.try_get("side")?;
        let Some(answer) = usize::try_from(at).ok().and_then(|at| answers.get_mut(at)) else {
            continue;
        };
        let link = decode_link(row)?;
        if side == 0 {
            answer.0 = Some(link);
        } else {
            answer.1.push(link);
        }
    }
    for (_, into) in &mut answers {
        into.sort_by(|a, b| {
            b.updated_at_ms
                .cmp(&a.updated_at_ms)
                .then_with(|| a.flow_id.cmp(&b.flow_id))
        });
    }
    Ok(answers)
}

impl Store {
    /// The link of a source record in a flow.
    pub async fn get_link(
        &self,
        flow_id: &str,
        source_app: &str,
        source_type: &str,
        source_id: &str,
    ) -> Result<Option<Link>, Error> {
        let row = sqlx::query(concat!(
            "SELECT ",
            link_columns!(),
            " FROM links WHERE flow_id = $1 AND source_app = $2 AND source_type = $3 \
             AND source_id = $4"
        ))
        .bind(flow_id)
        .bind(source_app)
        .bind(source_type)
        .bind(source_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(decode_link).transpose()
    }

    /// Writes `link` when the stored one is as `expect`ed; answers whether it wrote.
    pub async fn upsert_link(&self, link: &Link, expect: LinkExpect<'_>) -> Result<bool, Error> {
        let mut connection = self.pool.acquire().await?;
        upsert_link_on(&mut connection, link, expect).await
    }

    /// Every link, of any flow, pointing at this target record, most recently written first.
    /// A record Tether wrote has one; its content hash tells an echo from a person's change.
    pub async fn find_link_by_target(
        &self,
        target_app: &str,
        target_type: &str,
        target_id: &str,
    ) -> Result<Vec<Link>, Error> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            link_columns!(),
            " FROM links WHERE target_app = $1 AND target_type = $2 AND target_id = $3 \
             ORDER BY updated_at_ms DESC, flow_id"
        ))
        .bind(target_app)
        .bind(target_type)
        .bind(target_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode_link).collect()
    }

    /// What an action needs to know of its source record, in one query: `flow_id`'s link from
    /// the record ([`Store::get_link`]) and every link, of any flow, that wrote into it
    /// ([`Store::find_link_by_target`], in its order).
    ///
    /// The actions asking at about the same moment share one query.
    pub async fn links_of_record(
        &self,
        flow_id: &str,
        app: &str,
        record_type: &str,
        id: &str,
    ) -> Result<RecordLinks, Error> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.link_reads.group.submit(LinkRead {
            flow_id: flow_id.to_owned(),
            app: app.to_owned(),
            record_type: record_type.to_owned(),
            id: id.to_owned(),
            reply,
        });
        answer.await.map_err(|_| Error::Stopped)?
    }

    /// Every link, of any flow, pointing at one of these target records of one app and type, in
    /// one query (a page of polled or fed records, checked for Tether's own writes at once).
    pub async fn find_links_by_targets(
        &self,
        target_app: &str,
        target_type: &str,
        target_ids: &[&str],
    ) -> Result<Vec<Link>, Error> {
        let mut links = Vec::new();
        for chunk in target_ids.chunks(500) {
            // Anonymous on SQLite: a page's ids are hundreds of placeholders (see
            // `crate::placeholders`).
            let anonymous = self.backend == crate::Backend::Sqlite;
            let list = (0..chunk.len())
                .map(|at| crate::param_as(anonymous, at + 3))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT {} FROM links WHERE target_app = {} AND target_type = {} \
                 AND target_id IN ({list})",
                link_columns!(),
                crate::param_as(anonymous, 1),
                crate::param_as(anonymous, 2),
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(target_app)
                .bind(target_type);
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&self.pool).await? {
                links.push(decode_link(&row)?);
            }
        }
        Ok(links)
    }
}

impl Store {
    /// Every link, of any flow, whose source is this record: what each flow last read of it.
    pub async fn find_links_by_source(
        &self,
        source_app: &str,
        source_type: &str,
        source_id: &str,
    ) -> Result<Vec<Link>, Error> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            link_columns!(),
            " FROM links WHERE source_app = $1 AND source_type = $2 AND source_id = $3 \
             ORDER BY updated_at_ms DESC, flow_id"
        ))
        .bind(source_app)
        .bind(source_type)
        .bind(source_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode_link).collect()
    }
}

fn decode_link(row: &AnyRow) -> Result<Link, Error> {
    Ok(Link {
        flow_id: row.try_get("flow_id")?,
        source_app: row.try_get("source_app")?,
        source_type: row.try_get("source_type")?,
        source_id: row.try_get("source_id")?,
        target_app: row.try_get("target_app")?,
        target_type: row.try_get("target_type")?,
        target_id: row.try_get("target_id")?,
        content_hash: row.try_get("content_hash")?,
        updated_at_ms: row.try_get("updated_at_ms")?,
        source_version: row.try_get("source_version")?,
        sync_state: row
            .try_get::<Option<String>, _>("sync_state")?
            .map(|text| serde_json::from_str(&text))
            .transpose()
            .map_err(|error| Error::Corrupt {
                field: "links.sync_state",
                reason: error.to_string(),
            })?,
    })
}

/// What makes an `INSERT INTO links` write whatever is stored ([`LinkExpect::Any`]).
const REPLACE_ON_CONFLICT: &str = " ON CONFLICT (flow_id, source_app, source_type, source_id) \
     DO UPDATE SET target_app = excluded.target_app, target_type = excluded.target_type, \
     target_id = excluded.target_id, content_hash = excluded.content_hash, \
     updated_at_ms = excluded.updated_at_ms, source_version = excluded.source_version, \
     sync_state = excluded.sync_state";

/// A statement's query with `link`'s eleven columns bound next, in [`link_columns!`]'s order.
fn bind_link<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    link: &'q Link,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    query
        .bind(&link.flow_id)
        .bind(&link.source_app)
        .bind(&link.source_type)
        .bind(&link.source_id)
        .bind(&link.target_app)
        .bind(&link.target_type)
        .bind(&link.target_id)
        .bind(&link.content_hash)
        .bind(link.updated_at_ms)
        .bind(link.source_version)
        .bind(link.sync_state.as_ref().map(serde_json::Value::to_string))
}

/// Writes every link of `links` whatever is stored ([`LinkExpect::Any`]) in one statement per
/// chunk. Two links of one record in one statement are refused by PostgreSQL; a run path's
/// batch never holds two (each is written under its record's lease), and a refused batch is
/// written again one job at a time.
pub(crate) async fn upsert_links_any(
    connection: &mut sqlx::AnyConnection,
    links: &[&Link],
) -> Result<(), Error> {
    for chunk in links.chunks(500) {
        let values = crate::placeholders(connection, chunk.len(), 11, 1);
        let sql = format!(
            "INSERT INTO links ({}) VALUES {values}{REPLACE_ON_CONFLICT}",
            link_columns!()
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for link in chunk {
            query = bind_link(query, link);
        }
        query.execute(&mut *connection).await?;
    }
    Ok(())
}

/// [`Store::upsert_link`] on `connection` (a transaction's, to write more with it).
pub(crate) async fn upsert_link_on(
    connection: &mut sqlx::AnyConnection,
    link: &Link,
    expect: LinkExpect<'_>,
) -> Result<bool, Error> {
    let query = match expect {
        // Always written: an insert, or an update of the one row of this record and flow.
        LinkExpect::Any => return upsert_links_any(connection, &[link]).await.map(|()| true),
        LinkExpect::Absent => sqlx::query(concat!(
            "INSERT INTO links (",
            link_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING"
        )),
        LinkExpect::Hash(_) => sqlx::query(
            "UPDATE links SET target_app = $5, target_type = $6, target_id = $7, \
             content_hash = $8, updated_at_ms = $9, source_version = $10, sync_state = $11 \
             WHERE flow_id = $1 AND source_app = $2 AND source_type = $3 AND source_id = $4 \
             AND content_hash = $12",
        ),
    };
    let mut query = bind_link(query, link);
    if let LinkExpect::Hash(expected) = expect {
        query = query.bind(expected);
    }
    let result = query.execute(&mut *connection).await?;
    Ok(result.rows_affected() == 1)
}
