//! The run path's writes, group-committed: a record lease taken or given back, runs leased, a
//! run's steps committed. Each is a job run on the writer's connection inside the transaction of
//! its batch ([`crate::group`]), and its caller is answered once that transaction committed.
//!
//! On SQLite this makes the run path one writer: no two of its transactions contend for the
//! file's lock (a loser would sleep in SQLite's busy handler), and the runs finishing at about
//! the same moment share one commit. On PostgreSQL, one commit serves the batch as well.
//!
//! Runs' step commits ([`Writer::commit_steps`]) are not closures but data, so the steps of every
//! run in a batch go in together: one statement for all their journal rows, one for the leases
//! they give back, one for their completions (`runs::write_many_steps`), where each would cost
//! three of its own. Record leases ([`Writer::take_lease`]) are data too: every lease asked for
//! in a batch is taken in one statement. A statement costs about the same whatever its rows: most
//! of its time is handing it to the database (on SQLite, to the connection's thread) and back.
//!
//! A job runs only statements on the connection it is given, never the pool (the writer holds a
//! pooled connection while it runs). When a batch fails, each of its jobs runs again alone, in
//! its own transaction, so one job's failure is answered to its caller only; a job must
//! therefore be repeatable, which a job's statements are as long as they commit or roll back
//! together.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use sqlx::{AnyConnection, AnyPool, Connection};
use tokio::sync::oneshot;

use crate::Error;
use crate::group::{Group, WriteTurn};
use crate::leases::LeaseJob;
use crate::runs::{RunId, StepCommit};

/// Jobs committed in one transaction at most.
const MAX_JOBS: usize = 256;

/// What a job's future is.
pub(crate) type JobFuture<'c, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'c>>;

type Answer = Box<dyn Any + Send>;
type Job = Arc<dyn for<'c> Fn(&'c mut AnyConnection) -> JobFuture<'c, Answer> + Send + Sync>;

/// A run's step commit, as queued: its run, attempt, time and what to write.
pub(crate) struct StepsJob {
    pub(crate) run_id: RunId,
    pub(crate) attempt: i64,
    pub(crate) recorded_at_ms: i64,
    pub(crate) commit: Arc<StepCommit>,
}

/// What a step commit wrote: the journal rows inserted (step id → row id) and whether the
/// completion found the run leased to someone else.
pub(crate) type StepsWritten = (std::collections::HashMap<String, i64>, bool);

enum Waiting {
    Job {
        job: Job,
        reply: oneshot::Sender<Result<Answer, Error>>,
    },
    Steps {
        steps: StepsJob,
        reply: oneshot::Sender<Result<StepsWritten, Error>>,
    },
    Lease {
        lease: LeaseJob,
        reply: oneshot::Sender<Result<bool, Error>>,
    },
}

/// The run path's writer of one store (see the module docs).
#[derive(Clone)]
pub(crate) struct Writer {
    group: Group<Waiting>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl Writer {
    /// A writer committing on a connection of `pool`, each batch in its `turn`.
    pub(crate) fn new(pool: AnyPool, turn: WriteTurn) -> Self {
        let pool = Arc::new(pool);
        Writer {
            group: Group::new(
                Arc::new(move |batch| {
                    let pool = pool.clone();
                    let turn = turn.clone();
                    Box::pin(async move {
                        let _turn = turn.take().await;
                        commit(&pool, batch).await
                    })
                }),
                |_| 1,
                MAX_JOBS,
            ),
        }
    }

    /// Runs `job` in the next batch's transaction and answers what it answered, once that
    /// transaction committed.
    pub(crate) async fn write<T: Send + 'static>(
        &self,
        job: impl for<'c> Fn(&'c mut AnyConnection) -> JobFuture<'c, T> + Send + Sync + 'static,
    ) -> Result<T, Error> {
        let job: Job = Arc::new(move |connection| {
            let future = job(connection);
            Box::pin(async move { future.await.map(|value| Box::new(value) as Answer) })
        });
        let (reply, answer) = oneshot::channel();
        self.group.submit(Waiting::Job { job, reply });
        let answer = answer.await.map_err(|_| Error::Stopped)??;
        answer
            .downcast::<T>()
            .map(|value| *value)
            .map_err(|_| Error::Corrupt {
                field: "writer",
                reason: "a job answered another type than its own".into(),
            })
    }

    /// Writes a run's step commit in the next batch's transaction, together with the other
    /// runs' step commits of that batch, and answers once that transaction committed.
    pub(crate) async fn commit_steps(&self, steps: StepsJob) -> Result<StepsWritten, Error> {
        let (reply, answer) = oneshot::channel();
        self.group.submit(Waiting::Steps { steps, reply });
        answer.await.map_err(|_| Error::Stopped)?
    }

    /// Queues the lease `lease` for the next batch's transaction, where every lease of the batch
    /// is taken in one statement ([`crate::leases::take_leases`]), and answers whether its owner
    /// holds it once that transaction committed. Queued at the call, before the answer is
    /// awaited: a caller asking for several leases has them all in one batch.
    pub(crate) fn take_lease(
        &self,
        lease: LeaseJob,
    ) -> impl Future<Output = Result<bool, Error>> + use<> {
        let (reply, answer) = oneshot::channel();
        self.group.submit(Waiting::Lease { lease, reply });
        async move { answer.await.map_err(|_| Error::Stopped)? }
    }
}

/// What a batch's jobs answered, in the batch's order.
enum Answered {
    Job(Answer),
    Steps(StepsWritten),
    Lease(bool),
}

async fn commit(pool: &AnyPool, batch: Vec<Waiting>) {
    let together = async {
        let mut connection = pool.acquire().await?;
        let mut transaction = connection.begin().await?;
        let mut answers = Vec::with_capacity(batch.len());
        let mut steps = Vec::new();
        // The leases first, in one statement: runs wait on them before their actions call out.
        let leases: Vec<(usize, &LeaseJob)> = batch
            .iter()
            .enumerate()
            .filter_map(|(at, waiting)| match waiting {
                Waiting::Lease { lease, .. } => Some((at, lease)),
                _ => None,
            })
            .collect();
        let mut held = Vec::new();
        if !leases.is_empty() {
            let jobs: Vec<&LeaseJob> = leases.iter().map(|(_, lease)| *lease).collect();
            held = crate::leases::take_leases(&mut transaction, &jobs).await?;
        }
        let mut held = held.into_iter();
        for waiting in &batch {
            match waiting {
                Waiting::Lease { .. } => answers.push(held.next().map(Answered::Lease)),
                Waiting::Job { job, .. } => {
                    answers.push(Some(Answered::Job(job(&mut transaction).await?)))
                }
                Waiting::Steps { steps: job, .. } => {
                    steps.push((answers.len(), job));
                    answers.push(None);
                }
            }
        }
        let jobs: Vec<&StepsJob> = steps.iter().map(|(_, job)| *job).collect();
        let written = crate::runs::write_many_steps(&mut transaction, &jobs).await?;
        for ((at, _), written) in steps.iter().zip(written) {
            answers[*at] = Some(Answered::Steps(written));
        }
        transaction.commit().await?;
        Ok::<_, Error>(answers)
    }
    .await;
    match together {
        Ok(answers) => {
            for (waiting, answer) in batch.into_iter().zip(answers) {
                // The job goes before its caller hears: what it held is the caller's again.
                match (waiting, answer) {
                    (Waiting::Job { job, reply }, Some(Answered::Job(answer))) => {
                        drop(job);
                        let _ = reply.send(Ok(answer));
                    }
                    (Waiting::Steps { steps, reply }, Some(Answered::Steps(written))) => {
                        drop(steps);
                        let _ = reply.send(Ok(written));
                    }
                    (Waiting::Lease { reply, .. }, Some(Answered::Lease(held))) => {
                        let _ = reply.send(Ok(held));
                    }
                    (waiting, _) => answer_error(
                        waiting,
                        Error::Corrupt {
                            field: "writer",
                            reason: "a job's answer went astray".into(),
                        },
                    ),
                }
            }
        }
        Err(error) if batch.len() == 1 => {
            if let Some(waiting) = batch.into_iter().next() {
                answer_error(waiting, error);
            }
        }
        Err(error) => {
            tracing::debug!(
                %error, jobs = batch.len(),
                "A batch of writes failed; running each alone."
            );
            for waiting in batch {
                match waiting {
                    Waiting::Job { job, reply } => {
                        let alone = async {
                            let mut connection = pool.acquire().await?;
                            let mut transaction = connection.begin().await?;
                            let answer = job(&mut transaction).await?;
                            transaction.commit().await?;
                            Ok::<_, Error>(answer)
                        }
                        .await;
                        drop(job);
                        let _ = reply.send(alone);
                    }
                    Waiting::Steps { steps, reply } => {
                        let alone = async {
                            let mut connection = pool.acquire().await?;
                            let mut transaction = connection.begin().await?;
                            let mut written =
                                crate::runs::write_many_steps(&mut transaction, &[&steps]).await?;
                            transaction.commit().await?;
                            written.pop().ok_or_else(|| Error::Corrupt {
                                field: "writer",
                                reason: "a step commit answered nothing".into(),
                            })
                        }
                        .await;
                        drop(steps);
                        let _ = reply.send(alone);
                    }
                    Waiting::Lease { lease, reply } => {
                        let alone = async {
                            let mut connection = pool.acquire().await?;
                            let mut transaction = connection.begin().await?;
                            let held =
                                crate::leases::take_leases(&mut transaction, &[&lease]).await?;
                            transaction.commit().await?;
                            Ok::<_, Error>(held.first().copied().unwrap_or(false))
                        }
                        .await;
                        let _ = reply.send(alone);
                    }
                }
            }
        }
    }
}

/// Answers `waiting`'s caller with `error`, dropping the job first.
fn answer_error(waiting: Waiting, error: Error) {
    match waiting {
        Waiting::Job { job, reply } => {
            drop(job);
            let _ = reply.send(Err(error));
        }
        Waiting::Steps { steps, reply } => {
            drop(steps);
            let _ = reply.send(Err(error));
        }
        Waiting::Lease { reply, .. } => {
            let _ = reply.send(Err(error));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failing_job_fails_alone_and_every_other_job_commits() {
        sqlx::any::install_default_drivers();
        let path = std::env::temp_dir().join(format!(
            "tether-writer-{}-{}.sqlite",
            std::process::id(),
            fastrand::u64(..)
        ));
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(2)
            .connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .expect("a SQLite file opens");
        sqlx::query("CREATE TABLE written (n INTEGER PRIMARY KEY)")
            .execute(&pool)
            .await
            .expect("a table");
        let writer = Writer::new(pool.clone(), WriteTurn::default());
        // Fifty callers at once: they share batches, and job 13 fails in whichever it is in.
        let mut callers = tokio::task::JoinSet::new();
        for n in 0..50_i64 {
            let writer = writer.clone();
            callers.spawn(async move {
                let answer = writer
                    .write(move |connection| {
                        Box::pin(async move {
                            let sql = if n == 13 {
                                "INSERT INTO missing (n) VALUES ($1)"
                            } else {
                                "INSERT INTO written (n) VALUES ($1)"
                            };
                            sqlx::query(sql).bind(n).execute(&mut *connection).await?;
                            Ok(n * 10)
                        })
                    })
                    .await;
                (n, answer)
            });
        }
        while let Some(joined) = callers.join_next().await {
            let (n, answer) = joined.expect("a caller finishes");
            match answer {
                Ok(answer) => assert_eq!(answer, n * 10, "job {n} answers its own value"),
                Err(_) => assert_eq!(n, 13, "only job 13 fails"),
            }
        }
        let rows: Vec<i64> = sqlx::query_scalar("SELECT n FROM written ORDER BY n")
            .fetch_all(&pool)
            .await
            .expect("rows");
        let expected: Vec<i64> = (0..50).filter(|n| *n != 13).collect();
        assert_eq!(rows, expected);
        pool.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
