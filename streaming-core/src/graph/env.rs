//! What operators see while computing a batch: the worker pool, the default
//! parallelism, the stream's zero time, and per-batch input accounting.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use crate::time::Time;

/// Execution environment shared by all nodes of one context.
pub(crate) struct Env {
    pool: rayon::ThreadPool,
    parallelism: usize,
    zero_time: OnceLock<Time>,
    last_generated: Mutex<Option<Time>>,
    input_records: Mutex<BTreeMap<Time, BTreeMap<usize, u64>>>,
    checkpoint_dir: Mutex<Option<PathBuf>>,
}

impl Env {
    pub(crate) fn new(pool: rayon::ThreadPool, parallelism: usize) -> Self {
        Env {
            pool,
            parallelism,
            zero_time: OnceLock::new(),
            last_generated: Mutex::new(None),
            input_records: Mutex::new(BTreeMap::new()),
            checkpoint_dir: Mutex::new(None),
        }
    }

    /// Runs `f` on the context's worker pool.
    pub(crate) fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.pool.install(f)
    }

    /// The default number of partitions of shuffles.
    pub(crate) fn parallelism(&self) -> usize {
        self.parallelism
    }

    /// The time before the first batch; set once when the context starts.
    pub(crate) fn zero_time(&self) -> Option<Time> {
        self.zero_time.get().copied()
    }

    pub(crate) fn set_zero_time(&self, t: Time) {
        let _ = self.zero_time.set(t);
    }

    /// The latest batch time the generator has reached.
    pub(crate) fn last_generated(&self) -> Option<Time> {
        *self.last_generated.lock().unwrap()
    }

    pub(crate) fn set_last_generated(&self, t: Time) {
        *self.last_generated.lock().unwrap() = Some(t);
    }

    /// Records that input `stream_id` produced `n` records for batch `time`.
    pub(crate) fn add_input_records(&self, time: Time, stream_id: usize, n: u64) {
        *self
            .input_records
            .lock()
            .unwrap()
            .entry(time)
            .or_default()
            .entry(stream_id)
            .or_insert(0) += n;
    }

    /// Takes the number of input records of batch `time`, by input stream id.
    pub(crate) fn take_input_records(&self, time: Time) -> BTreeMap<usize, u64> {
        let mut m = self.input_records.lock().unwrap();
        let n = m.remove(&time).unwrap_or_default();
        // Forget anything older (inputs computed for times that never ran).
        *m = m.split_off(&time);
        n
    }

    pub(crate) fn checkpoint_dir(&self) -> Option<PathBuf> {
        self.checkpoint_dir.lock().unwrap().clone()
    }

    pub(crate) fn set_checkpoint_dir(&self, dir: PathBuf) {
        *self.checkpoint_dir.lock().unwrap() = Some(dir);
    }
}
