//! A bounded record of what the simulator received, so tests can assert on the exact wire.

use std::collections::VecDeque;

use parking_lot::Mutex;
use serde::Serialize;

/// One request as received, with the status it was answered with.
#[derive(Debug, Clone, Serialize)]
pub struct LoggedRequest {
    /// Sequence number, from 1.
    pub seq: u64,
    /// HTTP method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Raw query string.
    pub query: Option<String>,
    /// Headers, names lowercased, in arrival order.
    pub headers: Vec<(String, String)>,
    /// Body as text (lossy UTF-8).
    pub body: String,
    /// The `operationId`, when the route is an API operation.
    pub operation_id: Option<String>,
    /// Status answered.
    pub status: u16,
    /// When the request arrived, ms since the epoch (how fast a client sent, against a limit).
    pub received_at_ms: i64,
}

/// The ring buffer of recent requests.
#[derive(Debug)]
pub struct RequestLog {
    capacity: usize,
    inner: Mutex<(u64, VecDeque<LoggedRequest>)>,
}

impl RequestLog {
    /// Keeps the last `capacity` requests; 0 keeps none (benchmarks).
    pub fn new(capacity: usize) -> Self {
        RequestLog {
            capacity,
            inner: Mutex::new((0, VecDeque::new())),
        }
    }

    /// Whether anything is kept.
    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// Appends a request, assigning its sequence number.
    pub fn push(&self, mut request: LoggedRequest) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.inner.lock();
        inner.0 += 1;
        request.seq = inner.0;
        if inner.1.len() == self.capacity {
            inner.1.pop_front();
        }
        inner.1.push_back(request);
    }

    /// Requests with a sequence number above `after`, oldest first.
    pub fn since(&self, after: u64) -> Vec<LoggedRequest> {
        self.inner
            .lock()
            .1
            .iter()
            .filter(|request| request.seq > after)
            .cloned()
            .collect()
    }

    /// Forgets everything kept.
    pub fn clear(&self) {
        self.inner.lock().1.clear();
    }
}
