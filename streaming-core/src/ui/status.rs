//! What the UI shows, collected from listener events: Spark's
//! `StreamingJobProgressListener`. A [`StatusStore`] keeps the waiting and
//! running batches, the newest `spark.streaming.ui.retainedBatches`
//! completed ones (with their output operations), running totals, the last
//! error of every input and the checkpoints taken.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

use crate::listener::{
    BatchInfo, CheckpointFailureInfo, CheckpointInfo, OutputOperationInfo, ReceiverErrorInfo,
    StreamingListener,
};
use crate::time::Time;

/// Buckets (seconds) of the checkpoint duration histogram.
const CHECKPOINT_BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

/// Labels of the checkpoint metrics: `kind` is `metadata` or `state`.
pub(crate) type CheckpointLabels = Vec<(&'static str, &'static str)>;

/// A completed batch with its output operations.
#[derive(Clone, Debug)]
pub(crate) struct CompletedBatch {
    pub(crate) info: BatchInfo,
    pub(crate) ops: Vec<OutputOperationInfo>,
    /// Its delays to the microsecond, from the instants the listener saw
    /// (`BatchInfo` has millisecond times); `None` when it missed one.
    pub(crate) precise: Option<Delays>,
}

/// A batch's delays measured by the listener's clock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Delays {
    pub(crate) scheduling: Duration,
    pub(crate) processing: Duration,
    pub(crate) total: Duration,
}

impl CompletedBatch {
    /// The scheduling delay, to the microsecond when known.
    pub(crate) fn scheduling_delay(&self) -> Option<Duration> {
        self.precise
            .map(|d| d.scheduling)
            .or_else(|| self.info.scheduling_delay())
    }

    /// The processing time, to the microsecond when known.
    pub(crate) fn processing_delay(&self) -> Option<Duration> {
        self.precise
            .map(|d| d.processing)
            .or_else(|| self.info.processing_delay())
    }

    /// The total delay, to the microsecond when known.
    pub(crate) fn total_delay(&self) -> Option<Duration> {
        self.precise
            .map(|d| d.total)
            .or_else(|| self.info.total_delay())
    }
}

/// The last error an input reported.
#[derive(Clone, Debug)]
pub(crate) struct LastError {
    pub(crate) time: Time,
    pub(crate) message: String,
}

/// Everything the store knows, copied out under its lock.
#[derive(Clone, Debug, Default)]
pub(crate) struct Status {
    /// When the context started (wall clock) and its first batch time.
    pub(crate) started: Option<(Time, Time)>,
    /// Whether the context has stopped.
    pub(crate) stopped: Option<Time>,
    /// Batches generated and not started yet.
    pub(crate) waiting: BTreeMap<Time, BatchInfo>,
    /// Batches being processed.
    pub(crate) running: BTreeMap<Time, BatchInfo>,
    /// Output operations of the active batches.
    pub(crate) active_ops: BTreeMap<Time, Vec<OutputOperationInfo>>,
    /// When the active batches were submitted and started (this process's
    /// monotonic clock).
    pub(crate) instants: BTreeMap<Time, (Instant, Option<Instant>)>,
    /// The newest completed batches, oldest first.
    pub(crate) completed: VecDeque<CompletedBatch>,
    /// Batches completed since the start (also those no longer retained).
    pub(crate) total_completed: u64,
    /// Batches that failed since the start.
    pub(crate) total_failed: u64,
    /// Records of every batch that ran.
    pub(crate) total_received: u64,
    /// Records of the batches that completed without failure.
    pub(crate) total_processed: u64,
    /// Records by input stream id, over every batch that ran.
    pub(crate) received_by_stream: BTreeMap<usize, u64>,
    /// The last error each input reported, by stream id.
    pub(crate) last_errors: BTreeMap<usize, LastError>,
    /// Checkpoints taken by the executor.
    pub(crate) checkpoints_taken: u64,
    /// The last checkpoint taken.
    pub(crate) last_checkpoint: Option<CheckpointInfo>,
    /// Checkpoints that could not be taken or written, by kind
    /// (`metadata`, `state`).
    pub(crate) checkpoint_failures: BTreeMap<&'static str, u64>,
}

impl Status {
    /// The input rate (records/s) of input `stream_id` at each completed
    /// batch, oldest first: its records over the batch interval.
    pub(crate) fn input_rates(&self, stream_id: usize, interval: Duration) -> Vec<(Time, f64)> {
        let secs = interval.as_secs_f64();
        self.completed
            .iter()
            .map(|b| {
                let n = b
                    .info
                    .stream_id_to_num_records
                    .get(&stream_id)
                    .copied()
                    .unwrap_or(0);
                (b.info.batch_time, n as f64 / secs)
            })
            .collect()
    }

    /// The newest completed batch.
    pub(crate) fn last_completed(&self) -> Option<&CompletedBatch> {
        self.completed.back()
    }

    /// A retained completed batch by time.
    pub(crate) fn completed_batch(&self, time: Time) -> Option<&CompletedBatch> {
        self.completed.iter().find(|b| b.info.batch_time == time)
    }
}

/// Collects listener events for the UI, the REST API and `/metrics`.
pub(crate) struct StatusStore {
    retained: usize,
    status: Mutex<Status>,
    checkpoint_durations: Family<CheckpointLabels, Histogram>,
}

impl StatusStore {
    /// A store keeping `retained` completed batches.
    pub(crate) fn new(retained: usize) -> Arc<Self> {
        Arc::new(StatusStore {
            retained: retained.max(1),
            status: Mutex::new(Status::default()),
            checkpoint_durations: Family::new_with_constructor(|| {
                Histogram::new(CHECKPOINT_BUCKETS.iter().copied())
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A copy of everything known now.
    pub(crate) fn snapshot(&self) -> Status {
        self.lock().clone()
    }

    /// The checkpoint duration histogram (shared with `/metrics`).
    pub(crate) fn checkpoint_durations(&self) -> &Family<CheckpointLabels, Histogram> {
        &self.checkpoint_durations
    }

    /// Records the start: wall-clock time and first batch time.
    pub(crate) fn started(&self, wall: Time, first_batch: Time) {
        self.lock().started = Some((wall, first_batch));
    }
}

fn kind(metadata: bool) -> &'static str {
    if metadata {
        "metadata"
    } else {
        "state"
    }
}

/// The store as a listener (the context registers it when the UI is on).
pub(crate) struct StatusListener(pub(crate) Arc<StatusStore>);

impl StreamingListener for StatusListener {
    fn on_batch_submitted(&self, info: &BatchInfo) {
        let now = Instant::now();
        let mut s = self.0.lock();
        s.waiting.insert(info.batch_time, info.clone());
        s.instants.insert(info.batch_time, (now, None));
    }

    fn on_batch_started(&self, info: &BatchInfo) {
        let now = Instant::now();
        let mut s = self.0.lock();
        if let Some(i) = s.instants.get_mut(&info.batch_time) {
            i.1 = Some(now);
        }
        s.waiting.remove(&info.batch_time);
        s.running.insert(info.batch_time, info.clone());
    }

    fn on_output_operation_started(&self, info: &OutputOperationInfo) {
        let mut s = self.0.lock();
        let ops = s.active_ops.entry(info.batch_time).or_default();
        ops.retain(|o| o.id != info.id);
        ops.push(info.clone());
    }

    fn on_output_operation_completed(&self, info: &OutputOperationInfo) {
        self.on_output_operation_started(info);
    }

    fn on_batch_completed(&self, info: &BatchInfo) {
        let now = Instant::now();
        let retained = self.0.retained;
        let mut s = self.0.lock();
        let precise = match s.instants.remove(&info.batch_time) {
            Some((submitted, Some(started))) => Some(Delays {
                scheduling: started.saturating_duration_since(submitted),
                processing: now.saturating_duration_since(started),
                total: now.saturating_duration_since(submitted),
            }),
            _ => None,
        };
        s.waiting.remove(&info.batch_time);
        s.running.remove(&info.batch_time);
        let ops = s.active_ops.remove(&info.batch_time).unwrap_or_default();
        s.total_completed += 1;
        s.total_received += info.num_records;
        if info.failure.is_some() {
            s.total_failed += 1;
        } else {
            s.total_processed += info.num_records;
        }
        for (id, n) in &info.stream_id_to_num_records {
            *s.received_by_stream.entry(*id).or_insert(0) += n;
        }
        s.completed.push_back(CompletedBatch {
            info: info.clone(),
            ops,
            precise,
        });
        while s.completed.len() > retained {
            s.completed.pop_front();
        }
    }

    fn on_receiver_error(&self, info: &ReceiverErrorInfo) {
        self.0.lock().last_errors.insert(
            info.stream_id,
            LastError {
                time: Time::now(),
                message: info.message.clone(),
            },
        );
    }

    fn on_checkpoint_taken(&self, info: &CheckpointInfo) {
        self.0
            .checkpoint_durations
            .get_or_create(&vec![("kind", kind(info.metadata))])
            .observe(info.duration.as_secs_f64());
        let mut s = self.0.lock();
        s.checkpoints_taken += 1;
        s.last_checkpoint = Some(info.clone());
    }

    fn on_checkpoint_failed(&self, info: &CheckpointFailureInfo) {
        *self
            .0
            .lock()
            .checkpoint_failures
            .entry(kind(info.metadata))
            .or_insert(0) += 1;
    }

    fn on_streaming_stopped(&self) {
        self.0.lock().stopped = Some(Time::now());
    }
}

/// Milliseconds of a duration, as Spark reports delays.
pub(crate) fn millis(d: Duration) -> u64 {
    d.as_millis() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(t: u64, records: u64, failure: Option<&str>) -> BatchInfo {
        BatchInfo {
            batch_time: Time::from_millis(t),
            num_records: records,
            stream_id_to_num_records: [(0, records)].into(),
            submission_time: Time::from_millis(t),
            processing_start_time: Some(Time::from_millis(t + 2)),
            processing_end_time: Some(Time::from_millis(t + 7)),
            num_output_operations: 1,
            failure: failure.map(str::to_string),
        }
    }

    #[test]
    fn batches_move_from_waiting_to_running_to_completed() {
        let store = StatusStore::new(2);
        let l = StatusListener(store.clone());
        for t in [1000, 2000, 3000] {
            l.on_batch_submitted(&batch(t, 0, None));
        }
        assert_eq!(store.snapshot().waiting.len(), 3);
        l.on_batch_started(&batch(1000, 0, None));
        let s = store.snapshot();
        assert_eq!((s.waiting.len(), s.running.len()), (2, 1));
        l.on_batch_completed(&batch(1000, 5, None));
        l.on_batch_started(&batch(2000, 0, None));
        l.on_batch_completed(&batch(2000, 3, Some("boom")));
        l.on_batch_started(&batch(3000, 0, None));
        l.on_batch_completed(&batch(3000, 4, None));
        let s = store.snapshot();
        assert_eq!(s.total_completed, 3);
        assert_eq!(s.total_failed, 1);
        assert_eq!((s.total_received, s.total_processed), (12, 9));
        assert_eq!(s.received_by_stream[&0], 12);
        let kept: Vec<u64> = s
            .completed
            .iter()
            .map(|b| b.info.batch_time.as_millis())
            .collect();
        assert_eq!(kept, vec![2000, 3000], "only the retained batches");
        assert!(s.waiting.is_empty() && s.running.is_empty());
    }
}
