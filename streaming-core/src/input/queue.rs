//! The queue stream: batches pushed into a queue, mostly for tests.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::InputSource;
use crate::batch::{Batch, Data};
use crate::error::Result;
use crate::time::Time;

/// A queue of batches feeding a [`queue_stream`](crate::StreamingContext::queue_stream).
///
/// Cheap to clone; clones share the queue, so other threads can push batches
/// while the context runs.
///
/// ```
/// use streaming_core::BatchQueue;
/// let q = BatchQueue::new();
/// q.push(vec!["a b".to_string()]);
/// assert_eq!(q.len(), 1);
/// ```
pub struct BatchQueue<T> {
    inner: Arc<Mutex<VecDeque<Batch<T>>>>,
}

impl<T> Clone for BatchQueue<T> {
    fn clone(&self) -> Self {
        BatchQueue {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Default for BatchQueue<T> {
    fn default() -> Self {
        BatchQueue {
            inner: Arc::new(Mutex::new(VecDeque::new())),
        }
    }
}

impl<T> BatchQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a batch (a `Vec<T>` becomes a one-partition batch).
    pub fn push(&self, batch: impl Into<Batch<T>>) {
        self.inner.lock().unwrap().push_back(batch.into());
    }

    /// Number of queued batches.
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap().len()
    }

    /// Whether no batch is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn pop(&self) -> Option<Batch<T>> {
        self.inner.lock().unwrap().pop_front()
    }

    fn drain(&self) -> Vec<Batch<T>> {
        self.inner.lock().unwrap().drain(..).collect()
    }
}

/// The source behind `queue_stream`. Queued batches are taken when the
/// generator reaches a batch time (so a graceful stop knows exactly what is
/// still pending) and handed out when that batch is computed.
pub struct QueueSource<T> {
    queue: BatchQueue<T>,
    one_at_a_time: bool,
    allocated: Mutex<std::collections::BTreeMap<Time, Batch<T>>>,
}

impl<T> QueueSource<T> {
    /// A source taking one queued batch per interval (`one_at_a_time`) or all
    /// of them, merged.
    pub fn new(queue: BatchQueue<T>, one_at_a_time: bool) -> Self {
        QueueSource {
            queue,
            one_at_a_time,
            allocated: Mutex::new(Default::default()),
        }
    }
}

impl<T: Data> InputSource<T> for QueueSource<T> {
    fn name(&self) -> String {
        "queue stream".to_string()
    }

    fn on_batch_time(&self, time: Time) {
        let batch = if self.one_at_a_time {
            self.queue.pop().unwrap_or_default()
        } else {
            let mut all = self.queue.drain().into_iter();
            match all.next() {
                None => Batch::empty(),
                Some(first) => all.fold(first, |acc, b| acc.union(&b)),
            }
        };
        self.allocated.lock().unwrap().insert(time, batch);
    }

    fn compute(&self, time: Time) -> Result<Option<Batch<T>>> {
        let mut allocated = self.allocated.lock().unwrap();
        let batch = allocated.remove(&time).unwrap_or_default();
        // Anything older was allocated to a time that is never computed.
        *allocated = allocated.split_off(&time);
        Ok(Some(batch))
    }

    fn has_pending_data(&self) -> bool {
        !self.queue.is_empty()
    }
}
