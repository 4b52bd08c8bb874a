//! Streaming listeners: batch and output-operation events with statistics,
//! Spark's `StreamingListener`.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::time::Time;

/// Statistics of one batch, Spark's `BatchInfo`.
///
/// Wall-clock instants are [`Time`]s from the system clock (also under a manual
/// clock, where only the batch time is manual).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchInfo {
    /// The batch time.
    pub batch_time: Time,
    /// Number of records the inputs produced for this batch (known once the
    /// batch has run).
    pub num_records: u64,
    /// Records each input produced for this batch, by input stream id
    /// (Spark's `streamIdToInputInfo`; known once the batch has run).
    pub stream_id_to_num_records: BTreeMap<usize, u64>,
    /// When the batch was submitted to the executor.
    pub submission_time: Time,
    /// When its processing started.
    pub processing_start_time: Option<Time>,
    /// When its processing ended.
    pub processing_end_time: Option<Time>,
    /// Number of output operations that ran.
    pub num_output_operations: usize,
    /// The error that failed the batch, if any.
    pub failure: Option<String>,
}

impl BatchInfo {
    /// Time from submission to the start of processing.
    pub fn scheduling_delay(&self) -> Option<Duration> {
        self.processing_start_time
            .map(|s| s.saturating_since(self.submission_time))
    }

    /// Time spent processing.
    pub fn processing_delay(&self) -> Option<Duration> {
        match (self.processing_start_time, self.processing_end_time) {
            (Some(s), Some(e)) => Some(e.saturating_since(s)),
            _ => None,
        }
    }

    /// Scheduling delay plus processing delay.
    pub fn total_delay(&self) -> Option<Duration> {
        self.processing_end_time
            .map(|e| e.saturating_since(self.submission_time))
    }
}

/// One output operation of one batch, Spark's `OutputOperationInfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputOperationInfo {
    /// The batch time.
    pub batch_time: Time,
    /// Position of the output operation in registration order.
    pub id: usize,
    /// Its name, e.g. `print` or `foreach_batch`.
    pub name: String,
    /// When it started.
    pub start_time: Option<Time>,
    /// When it ended.
    pub end_time: Option<Time>,
    /// Why it failed, if it did.
    pub failure_reason: Option<String>,
}

/// An error reported by an input's receiver (a dropped connection, a
/// malformed record, an unreadable file...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiverErrorInfo {
    /// Id of the input stream.
    pub stream_id: usize,
    /// Name of the input (e.g. `socket 127.0.0.1:9000`).
    pub name: String,
    /// What went wrong.
    pub message: String,
}

/// A checkpoint that could not be taken or written (the batches go on; a
/// recovery would start from an older checkpoint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointFailureInfo {
    /// The checkpoint's batch time.
    pub time: Time,
    /// Whether it was a per-batch metadata checkpoint (else a state one).
    pub metadata: bool,
    /// What went wrong.
    pub reason: String,
}

/// A checkpoint the executor took between two batches (Spark has no such
/// event; the UI and `/metrics` show these durations).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointInfo {
    /// The checkpoint's batch time.
    pub time: Time,
    /// Whether it was a per-batch metadata checkpoint (else a state one).
    pub metadata: bool,
    /// How long the executor spent taking it (snapshots of the inputs and,
    /// for a state checkpoint, of every operator's state); the file is
    /// written afterwards on a background thread.
    pub duration: Duration,
}

/// Receives events of a running context, Spark's `StreamingListener`.
///
/// Every method has an empty default; implement those you need. Events are
/// delivered on the scheduler's threads, in order; keep handlers short. A
/// panicking handler is logged and otherwise ignored.
///
/// ```
/// use streaming_core::{BatchInfo, StreamingListener};
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// #[derive(Default)]
/// struct Records(AtomicU64);
/// impl StreamingListener for Records {
///     fn on_batch_completed(&self, info: &BatchInfo) {
///         self.0.fetch_add(info.num_records, Ordering::Relaxed);
///     }
/// }
/// ```
#[allow(unused_variables)]
pub trait StreamingListener: Send + Sync + 'static {
    /// The context started; `time` is the first batch time.
    fn on_streaming_started(&self, time: Time) {}
    /// A batch was generated and queued for processing.
    fn on_batch_submitted(&self, info: &BatchInfo) {}
    /// A batch started processing.
    fn on_batch_started(&self, info: &BatchInfo) {}
    /// A batch finished (successfully or not: see [`BatchInfo::failure`]).
    fn on_batch_completed(&self, info: &BatchInfo) {}
    /// An output operation started.
    fn on_output_operation_started(&self, info: &OutputOperationInfo) {}
    /// An output operation finished.
    fn on_output_operation_completed(&self, info: &OutputOperationInfo) {}
    /// An input's receiver reported an error.
    fn on_receiver_error(&self, info: &ReceiverErrorInfo) {}
    /// A checkpoint could not be taken or written (also counted, see
    /// `StreamingContext::checkpoint_failures`).
    fn on_checkpoint_failed(&self, info: &CheckpointFailureInfo) {}
    /// The executor took a checkpoint (see [`CheckpointInfo`]).
    fn on_checkpoint_taken(&self, info: &CheckpointInfo) {}
    /// The context stopped.
    fn on_streaming_stopped(&self) {}
}

/// The registered listeners.
#[derive(Default)]
pub(crate) struct ListenerBus {
    listeners: std::sync::RwLock<Vec<std::sync::Arc<dyn StreamingListener>>>,
}

impl ListenerBus {
    pub(crate) fn add(&self, l: std::sync::Arc<dyn StreamingListener>) {
        self.listeners.write().unwrap().push(l);
    }

    /// Calls `f` on every listener, containing panics.
    pub(crate) fn post(&self, f: impl Fn(&dyn StreamingListener)) {
        let ls = self.listeners.read().unwrap().clone();
        for l in ls {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(l.as_ref())));
            if let Err(p) = r {
                tracing::error!(
                    message = crate::error::panic_message(p.as_ref()),
                    "a streaming listener panicked"
                );
            }
        }
    }
}
