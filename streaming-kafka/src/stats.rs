//! Counters of a direct stream ([`KafkaStreamStats`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Counters of a direct stream, readable while it runs. Cheap to clone;
/// clones share the counters.
#[derive(Clone, Debug)]
pub struct KafkaStreamStats {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    records_read: AtomicU64,
    undecodable_records: AtomicU64,
    offset_resets: AtomicU64,
    query_failures: AtomicU64,
    fetch_errors: AtomicU64,
    commits: AtomicU64,
    commit_failures: AtomicU64,
    consumers_created: AtomicU64,
    by_worker: Vec<AtomicU64>,
}

impl KafkaStreamStats {
    pub(crate) fn new(workers: usize) -> Self {
        KafkaStreamStats {
            inner: Arc::new(Inner {
                records_read: AtomicU64::new(0),
                undecodable_records: AtomicU64::new(0),
                offset_resets: AtomicU64::new(0),
                query_failures: AtomicU64::new(0),
                fetch_errors: AtomicU64::new(0),
                commits: AtomicU64::new(0),
                commit_failures: AtomicU64::new(0),
                consumers_created: AtomicU64::new(0),
                by_worker: (0..workers).map(|_| AtomicU64::new(0)).collect(),
            }),
        }
    }

    /// Records read into batches (undecodable ones excluded).
    pub fn records_read(&self) -> u64 {
        self.inner.records_read.load(Ordering::Relaxed)
    }

    /// Records read by each worker thread, by worker index.
    pub fn records_read_by_worker(&self) -> Vec<u64> {
        self.inner
            .by_worker
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }

    /// Records whose key or value did not decode.
    pub fn undecodable_records(&self) -> u64 {
        self.inner.undecodable_records.load(Ordering::Relaxed)
    }

    /// Offsets that were out of range and reset by `auto.offset.reset`.
    pub fn offset_resets(&self) -> u64 {
        self.inner.offset_resets.load(Ordering::Relaxed)
    }

    /// Metadata or offset queries that failed (broker unreachable...).
    pub fn query_failures(&self) -> u64 {
        self.inner.query_failures.load(Ordering::Relaxed)
    }

    /// Errors while fetching records (retried until the poll timeout).
    pub fn fetch_errors(&self) -> u64 {
        self.inner.fetch_errors.load(Ordering::Relaxed)
    }

    /// Offset commits that succeeded.
    pub fn commits(&self) -> u64 {
        self.inner.commits.load(Ordering::Relaxed)
    }

    /// Offset commits that failed.
    pub fn commit_failures(&self) -> u64 {
        self.inner.commit_failures.load(Ordering::Relaxed)
    }

    /// Partition consumers created (a cached consumer is reused across
    /// batches, so this stays at the number of partitions in steady state).
    pub fn consumers_created(&self) -> u64 {
        self.inner.consumers_created.load(Ordering::Relaxed)
    }

    pub(crate) fn add_records(&self, worker: usize, n: u64) {
        self.inner.records_read.fetch_add(n, Ordering::Relaxed);
        if let Some(c) = self.inner.by_worker.get(worker) {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }

    pub(crate) fn add_undecodable(&self, n: u64) {
        self.inner
            .undecodable_records
            .fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn offset_reset(&self) {
        self.inner.offset_resets.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn query_failed(&self) {
        self.inner.query_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn fetch_error(&self) {
        self.inner.fetch_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn committed(&self) {
        self.inner.commits.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn commit_failed(&self) {
        self.inner.commit_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn consumer_created(&self) {
        self.inner.consumers_created.fetch_add(1, Ordering::Relaxed);
    }
}
