//! When checkpoints are taken, and taking them: the [`Checkpointer`] the
//! executor calls between batches.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::format::{CheckpointData, InputData, OperatorState};
use super::graph::{GraphDescription, StatefulEntry};
use super::store;
use super::writer::{Job, Writer};
use super::Failures;
use crate::conf::StreamingConf;
use crate::error::{Result, StreamingError};
use crate::graph::node::AnyNode;
use crate::graph::registry::FrozenGraph;
use crate::graph::source::InputHandle;
use crate::graph::stateful::CapturedState;
use crate::time::Time;

/// The smallest interval Spark's default checkpoint interval reaches.
const MIN_DEFAULT_INTERVAL: Duration = Duration::from_secs(10);

/// Spark's default checkpoint interval of a stream sliding every `slide`:
/// the smallest multiple of the slide that is at least 10 s.
pub(crate) fn default_interval(slide: Duration) -> Duration {
    let slide_ms = slide.as_millis().max(1) as u64;
    let min_ms = MIN_DEFAULT_INTERVAL.as_millis() as u64;
    Duration::from_millis(min_ms.div_ceil(slide_ms) * slide_ms)
}

/// The checkpoint intervals of a graph: every stream's explicit interval,
/// Spark's default for stateful streams without one, and, when that leaves
/// none, the default for the batch interval.
fn intervals(nodes: &[Arc<dyn AnyNode>], batch_interval: Duration) -> Vec<Duration> {
    let mut out: Vec<Duration> = Vec::new();
    for node in nodes {
        let meta = node.meta();
        let explicit = *meta.checkpoint_interval.lock().unwrap();
        let interval = match explicit {
            Some(d) => Some(d),
            None if node.stateful().is_some() || node.requires_checkpoint() => {
                Some(default_interval(meta.slide))
            }
            None => None,
        };
        if let Some(d) = interval {
            if !out.contains(&d) {
                out.push(d);
            }
        }
    }
    if out.is_empty() {
        out.push(default_interval(batch_interval));
    }
    out.sort();
    out
}

/// Takes checkpoints of a running graph and hands them to the background
/// writer. Owned by the executor thread.
pub(crate) struct Checkpointer {
    /// Shared by every checkpoint taken (cloning them per batch would cost
    /// the executor).
    conf: Arc<StreamingConf>,
    zero: Time,
    batch_interval: Duration,
    intervals: Vec<Duration>,
    inputs: Vec<Arc<dyn InputHandle>>,
    description: Arc<GraphDescription>,
    stateful: Vec<StatefulEntry>,
    /// The time of the state checkpoint this run was recovered from: it is
    /// on disk already.
    recovered_at: Option<Time>,
    /// The latest state checkpoint taken (or recovered from): what the
    /// metadata checkpoints build on.
    last_full: Cell<Option<Time>>,
    failures: Failures,
    writer: Writer,
    /// States captured right after the batch before a due state checkpoint
    /// (the state the checkpoint holds: no batch runs in between), by
    /// checkpoint time, already handed to the writer to encode.
    prepared: RefCell<Option<(Time, Vec<(String, CapturedState)>)>>,
}

impl Checkpointer {
    /// A checkpointer writing into `dir` for `graph`, whose zero time is
    /// `zero`. Fails on a duplicate stateful name or an invalid setting.
    pub(crate) fn new(
        dir: PathBuf,
        conf: &StreamingConf,
        zero: Time,
        batch_interval: Duration,
        graph: &FrozenGraph,
        recovered_at: Option<Time>,
        failures: Failures,
    ) -> Result<Checkpointer> {
        let keep = store::retained(conf)?;
        let (description, stateful) = GraphDescription::describe(
            batch_interval,
            &graph.nodes,
            &graph.inputs,
            &graph.outputs,
        )?;
        let intervals = intervals(&graph.nodes, batch_interval);
        tracing::info!(
            dir = %dir.display(),
            ?intervals,
            stateful = stateful.len(),
            keep,
            "checkpointing enabled"
        );
        for input in &graph.inputs {
            if !input.is_recoverable() {
                tracing::info!(
                    input = %input.name(),
                    "this input cannot be replayed: the checkpoints written cannot be recovered from"
                );
            }
        }
        let writer = Writer::start(dir, keep, failures.clone())
            .map_err(|e| StreamingError::io("cannot start the checkpoint writer thread", e))?;
        Ok(Checkpointer {
            conf: Arc::new(conf.clone()),
            zero,
            batch_interval,
            intervals,
            inputs: graph.inputs.clone(),
            description: Arc::new(description),
            stateful,
            recovered_at,
            last_full: Cell::new(recovered_at),
            failures,
            writer,
            prepared: RefCell::new(None),
        })
    }

    /// Whether a checkpoint is due before batch `time` runs.
    pub(crate) fn is_due(&self, time: Time) -> bool {
        if Some(time) == self.recovered_at || time <= self.zero {
            return false;
        }
        let since = Time::from_millis(time.as_millis() - self.zero.as_millis());
        self.intervals.iter().any(|&d| since.is_multiple_of(d))
    }

    /// How far back a recovery may replay from the inputs' records: the
    /// longest state checkpoint interval, plus two batches (the batch of the
    /// state checkpoint itself, and the one being generated).
    pub(crate) fn replay_window(&self) -> Duration {
        self.intervals.iter().max().copied().unwrap_or_default() + self.batch_interval * 2
    }

    /// The batch time after `time`.
    pub(crate) fn next_batch(&self, time: Time) -> Time {
        time + self.batch_interval
    }

    /// Takes the checkpoint of batch `time`, called before the batch runs
    /// (every batch before it has run, none after): a full checkpoint
    /// (operator state too) when one [`is_due`](Self::is_due), otherwise a
    /// metadata checkpoint (input positions and each input's per-batch
    /// record, pending batches) that names the state checkpoint recovery
    /// starts from: batches since it are replayed from the recorded inputs.
    /// Both are queued for the background writer. Failures are logged: the
    /// batches go on, and a recovery would start from an older checkpoint.
    pub(crate) fn take_for_batch(&self, time: Time, last_generated: Option<Time>) {
        if self.is_due(time) {
            self.take(time, last_generated);
        } else {
            self.take_metadata(time, last_generated);
        }
    }

    /// Called after a batch, with the next batch time: when a state
    /// checkpoint is due before it, captures every operator's state now
    /// (it is the state the checkpoint holds) and has the writer encode it
    /// while the executor waits for the next batch, so that the encoding
    /// neither holds the executor nor shares the state's shards with the
    /// next batch. [`take`](Self::take) then uses it. A capture that fails
    /// is left for `take` to retry and report.
    pub(crate) fn prepare(&self, next: Time) {
        if !self.is_due(next) || self.stateful.is_empty() {
            return;
        }
        let mut captured = Vec::with_capacity(self.stateful.len());
        for entry in &self.stateful {
            match entry.op.capture() {
                Ok(state) => captured.push((entry.name.clone(), state)),
                Err(_) => return,
            }
        }
        self.writer
            .prepare(captured.iter().map(|(_, s)| s.share()).collect());
        *self.prepared.borrow_mut() = Some((next, captured));
    }

    /// The states prepared for `time`, if they are still the operators'
    /// current states (each operator's state time unchanged).
    fn take_prepared(&self, time: Time) -> Option<Vec<(String, CapturedState)>> {
        let (at, captured) = self.prepared.borrow_mut().take()?;
        let current = at == time
            && captured.len() == self.stateful.len()
            && self
                .stateful
                .iter()
                .zip(&captured)
                .all(|(entry, (_, state))| entry.op.state_time() == state.time());
        current.then_some(captured)
    }

    /// Takes the full checkpoint of `time` and queues it for writing. On
    /// the executor, each operator's state is only captured (in O(1) or
    /// O(partitions × shards) for this crate's operators); the writer
    /// thread encodes it.
    pub(crate) fn take(&self, time: Time, last_generated: Option<Time>) {
        let started = Instant::now();
        if let Some(captured) = self.take_prepared(time) {
            if let Some(data) = self.data(time, last_generated, Vec::new(), None) {
                tracing::debug!(%time, elapsed = ?started.elapsed(), operators = captured.len(), "checkpoint state captured after the previous batch");
                self.last_full.set(Some(time));
                self.writer.submit(Job { data, captured });
            }
            return;
        }
        let mut captured = Vec::with_capacity(self.stateful.len());
        for entry in &self.stateful {
            match entry.op.capture() {
                Ok(state) => captured.push((entry.name.clone(), state)),
                Err(e) => {
                    tracing::error!(%time, operator = %entry.name, error = %e, "cannot snapshot the state; checkpoint skipped");
                    let reason = format!("cannot snapshot the state of `{}`: {e}", entry.name);
                    self.failures.report(time, false, reason);
                    return;
                }
            }
        }
        let Some(data) = self.data(time, last_generated, Vec::new(), None) else {
            return;
        };
        tracing::debug!(%time, elapsed = ?started.elapsed(), operators = captured.len(), "checkpoint state captured");
        self.last_full.set(Some(time));
        self.writer.submit(Job { data, captured });
    }

    /// Takes the metadata checkpoint of `time` and queues it for writing;
    /// also at start, with `time` the first batch, so that a process killed
    /// before its first batch restarts where it started (the file stream's
    /// threshold, the zero time).
    pub(crate) fn take_metadata(&self, time: Time, last_generated: Option<Time>) {
        let from = Some(self.last_full.get());
        if let Some(data) = self.data(time, last_generated, Vec::new(), from) {
            self.writer.submit(Job {
                data,
                captured: Vec::new(),
            });
        }
    }

    /// A checkpoint of `time` with the inputs' records and `states`; `None`
    /// when an input cannot be checkpointed (logged).
    fn data(
        &self,
        time: Time,
        last_generated: Option<Time>,
        states: Vec<OperatorState>,
        state_from: Option<Option<Time>>,
    ) -> Option<CheckpointData> {
        let mut inputs = Vec::with_capacity(self.inputs.len());
        for input in &self.inputs {
            let data = match input.checkpoint_data() {
                None => None,
                Some(Ok(bytes)) => Some(bytes),
                Some(Err(e)) => {
                    tracing::error!(%time, input = %input.name(), error = %e, "cannot checkpoint the input; checkpoint skipped");
                    let reason = format!("cannot checkpoint the input `{}`: {e}", input.name());
                    self.failures.report(time, state_from.is_some(), reason);
                    return None;
                }
            };
            inputs.push(InputData {
                name: input.name(),
                data,
            });
        }
        let mut pending = Vec::new();
        if let Some(last) = last_generated {
            let mut t = time;
            while t <= last {
                pending.push(t);
                t = t + self.batch_interval;
            }
        }
        Some(CheckpointData {
            time,
            zero_time: self.zero,
            taken_at: Time::now(),
            conf: self.conf.clone(),
            pending,
            graph: self.description.clone(),
            inputs,
            states,
            state_from,
        })
    }

    /// Waits for the queued checkpoints to be written.
    pub(crate) fn finish(mut self) {
        self.writer.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_interval_is_the_first_multiple_of_the_slide_from_ten_seconds() {
        let ms = Duration::from_millis;
        assert_eq!(default_interval(ms(1000)), ms(10_000));
        assert_eq!(default_interval(ms(3000)), ms(12_000));
        assert_eq!(default_interval(ms(300)), ms(10_200));
        assert_eq!(default_interval(ms(15_000)), ms(15_000));
    }
}
