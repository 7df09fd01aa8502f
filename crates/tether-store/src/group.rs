//! Group commit: callers queue work and wait; the first caller to find no commit under way starts
//! one, as a task of its own (so a caller that stops waiting never strands the others). The task
//! takes everything queued (up to a bound), commits it together, answers each caller, and goes
//! on while more is queued. While one commit runs, the next batch gathers: under load one commit
//! serves many callers, and a lone caller waits for nothing but its own commit.
//!
//! [`crate::intake`] (events, synced to disk) and [`crate::writer`] (the run path's writes) are
//! the two users.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

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
