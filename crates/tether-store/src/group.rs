//! Group commit: callers queue work and wait; the first caller to find no commit under way starts
//! one, as a task of its own (so a caller that stops waiting never strands the others). The task
//! takes everything queued (up to a bound), commits it together, answers each caller, and goes
//! on while more is queued. While one commit runs, the next batch gathers: under load one commit
//! serves many callers, and a lone caller waits for nothing but its own commit.
//!
//! [`crate::intake`] (events, synced to disk) and [`crate::writer`] (the run path's writes) are
//! the two users. On SQLite they commit on two connections to one file, which has one writer:
//! they take turns through a [`WriteTurn`] rather than through SQLite's busy handler, which
//! polls the lock with sleeps of 1 to 100 ms (measured: while the change feed took events in,
//! the run path's first write of a batch waited 1.8 ms on average, against 0.2 ms after).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

/// The turn to write of a store's group writers: on SQLite, one at a time, each woken as soon as
/// the one before it committed; on PostgreSQL (row locks, several writers at once) no turn is
/// needed and [`WriteTurn::take`] waits for nothing.
#[derive(Clone, Default)]
pub(crate) struct WriteTurn(Option<Arc<tokio::sync::Mutex<()>>>);

impl WriteTurn {
    /// Turns taken one at a time (SQLite's).
    pub(crate) fn exclusive() -> Self {
        WriteTurn(Some(Arc::default()))
    }

    /// Waits for the turn (in the order asked, first come first served); it lasts until the
    /// answer is dropped.
    pub(crate) async fn take(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match &self.0 {
            Some(turn) => Some(turn.clone().lock_owned().await),
            None => None,
        }
    }
}

/// What a batch's commit does: takes the batch and answers every item in it.
pub(crate) type Commit<T> =
    Arc<dyn Fn(Vec<T>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

struct Queue<T> {
    waiting: Vec<T>,
    committing: bool,
}

/// A queue of `T`, each item carrying its own way to be answered.
pub(crate) struct Group<T> {
    queue: Arc<Mutex<Queue<T>>>,
    commit: Commit<T>,
    /// How much of the bound an item takes (an intake of many events takes many).
    weight: fn(&T) -> usize,
    /// The most a batch holds, counted by `weight` (a single heavier item still goes alone).
    bound: usize,
}

impl<T> Clone for Group<T> {
    fn clone(&self) -> Self {
        Group {
            queue: self.queue.clone(),
            commit: self.commit.clone(),
            weight: self.weight,
            bound: self.bound,
        }
    }
}

impl<T: Send + 'static> Group<T> {
    /// A group committing with `commit`, batches of at most `bound` by `weight`.
    pub(crate) fn new(commit: Commit<T>, weight: fn(&T) -> usize, bound: usize) -> Self {
        Group {
            queue: Arc::new(Mutex::new(Queue {
                waiting: Vec::new(),
                committing: false,
            })),
            commit,
            weight,
            bound,
        }
    }

    /// Queues `item`; it is committed and answered by the task committing at the time, or by
    /// one started now.
    pub(crate) fn submit(&self, item: T) {
        let start = {
            let mut queue = self
                .queue
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            queue.waiting.push(item);
            !std::mem::replace(&mut queue.committing, true)
        };
        if start {
            let group = self.clone();
            tokio::spawn(async move { group.commit_while_queued().await });
        }
    }

    async fn commit_while_queued(self) {
        // A panic below must not leave the queue believing a commit is under way.
        struct Reset<T>(Arc<Mutex<Queue<T>>>);
        impl<T> Drop for Reset<T> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    let mut queue = self.0.lock().unwrap_or_else(|poison| poison.into_inner());
                    queue.committing = false;
                }
            }
        }
        let _reset = Reset(self.queue.clone());
        loop {
            // The tasks ready to run now go first: what they submit joins this batch.
            tokio::task::yield_now().await;
            let batch = {
                let mut queue = self
                    .queue
                    .lock()
                    .unwrap_or_else(|poison| poison.into_inner());
                if queue.waiting.is_empty() {
                    queue.committing = false;
                    return;
                }
                let mut taken = 0;
                let mut weight = 0;
                for item in &queue.waiting {
                    let more = (self.weight)(item);
                    if taken > 0 && weight + more > self.bound {
                        break;
                    }
                    weight += more;
                    taken += 1;
                }
                queue.waiting.drain(..taken).collect::<Vec<_>>()
            };
            (self.commit)(batch).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite's writers take turns, each in the order asked, the next as soon as the one before
    /// is done; PostgreSQL's need none and never wait.
    #[tokio::test]
    async fn exclusive_turns_come_one_at_a_time_in_order_and_shared_ones_never_wait() {
        let turn = WriteTurn::exclusive();
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = turn.take().await;
        let mut waiting = tokio::task::JoinSet::new();
        for n in 0..3 {
            let (turn, order) = (turn.clone(), order.clone());
            waiting.spawn(async move {
                let _turn = turn.take().await;
                order.lock().unwrap().push(n);
                tokio::task::yield_now().await;
            });
            // Each asks before the next does.
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(
            order.lock().unwrap().is_empty(),
            "nobody writes while the first turn is held"
        );
        drop(first);
        while waiting.join_next().await.is_some() {}
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2]);

        let shared = WriteTurn::default();
        let held = shared.take().await;
        assert!(held.is_none());
        let again = tokio::time::timeout(std::time::Duration::from_secs(1), shared.take())
            .await
            .expect("a turn of PostgreSQL's never waits");
        assert!(again.is_none());
    }
}
