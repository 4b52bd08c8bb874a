//! The graph's side of an input: the [`InputSource`] trait users and the
//! built-in inputs implement, the [`InputContext`] they get at start, and
//! the operator ([`SourceOp`]) and lifecycle handle ([`InputHandle`]) that
//! connect a source to its node.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::env::Env;
use super::node::Operator;
use crate::batch::{Batch, Data, Lazy};
use crate::error::Result;
use crate::listener::{ListenerBus, ReceiverErrorInfo};
use crate::time::Time;

/// What an input gets when the context starts.
#[derive(Clone)]
pub struct InputContext {
    stream_id: usize,
    name: String,
    runtime: tokio::runtime::Handle,
    listeners: Arc<ListenerBus>,
}

impl InputContext {
    pub(crate) fn new(
        stream_id: usize,
        name: String,
        runtime: tokio::runtime::Handle,
        listeners: Arc<ListenerBus>,
    ) -> Self {
        InputContext {
            stream_id,
            name,
            runtime,
            listeners,
        }
    }

    /// The id of the input stream.
    pub fn stream_id(&self) -> usize {
        self.stream_id
    }

    /// Registers a listener of the running context (e.g. a
    /// [`RateListener`](crate::rate::RateListener) for backpressure).
    pub fn add_streaming_listener(&self, listener: impl crate::listener::StreamingListener) {
        self.listeners.add(Arc::new(listener));
    }

    /// The tokio runtime inputs run their background work on.
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        &self.runtime
    }

    /// Reports an error to the log and to the listeners'
    /// [`on_receiver_error`](crate::StreamingListener::on_receiver_error).
    pub fn report_error(&self, message: impl Into<String>) {
        let message = message.into();
        tracing::warn!(stream_id = self.stream_id, input = %self.name, %message, "receiver error");
        let info = ReceiverErrorInfo {
            stream_id: self.stream_id,
            name: self.name.clone(),
            message,
        };
        self.listeners.post(|l| l.on_receiver_error(&info));
    }
}

/// A source of batches for an input stream (Spark's `InputDStream` and
/// `Receiver` in one trait). Implement it for custom inputs and register it
/// with [`StreamingContext::input_stream`](crate::StreamingContext::input_stream).
#[allow(unused_variables)]
pub trait InputSource<T>: Send + Sync + 'static {
    /// A name for logs and listener events.
    fn name(&self) -> String;

    /// Starts background work (receivers); called once by `start`.
    fn start(&self, ctx: &InputContext) -> Result<()> {
        Ok(())
    }

    /// Stops receiving. Data already received stays available to later
    /// batches, so a graceful stop can still process it.
    fn stop(&self) {}

    /// The generator reached batch time `time`: assign the data received
    /// so far to it. Called once per batch time, in order, before the batch
    /// is computed.
    fn on_batch_time(&self, time: Time) {}

    /// The batch for `time`; `None` for no batch at all (as opposed to an
    /// empty one). Called at most once per batch time.
    fn compute(&self, time: Time) -> Result<Option<Batch<T>>>;

    /// Whether data has arrived that no batch has taken yet; a graceful stop
    /// keeps generating batches while this is true.
    fn has_pending_data(&self) -> bool {
        false
    }

    /// Recovery may replay up to `replay` of batches from what this input
    /// recorded (the state checkpoint interval plus a margin): keep the
    /// per-batch records, and what they name, at least that long. Called
    /// once at start when checkpointing; the default keeps nothing.
    fn remember_at_least(&self, replay: Duration) {
        let _ = replay;
    }

    /// Bad records seen so far (input that could not become a record:
    /// invalid UTF-8, undecodable frames...), shown by the UI and
    /// `/metrics`; 0 for inputs that never skip any.
    fn bad_records(&self) -> u64 {
        0
    }

    /// A short line about the input's current state for the Streaming
    /// page, next to its name (for instance, the partitions a Kafka
    /// consumer-group member owns); `None` (the default) shows nothing.
    fn status(&self) -> Option<String> {
        None
    }

    /// The partitions this process owns, for an input that shares its
    /// partitions with other processes of the same job (a Kafka
    /// consumer-group member): exported by `/metrics`. `None` (the
    /// default) for inputs that own all their data.
    fn ownership(&self) -> Option<PartitionOwnership> {
        None
    }

    /// Whether this input can be recovered from a checkpoint: whether its
    /// batches can be replayed (files, Kafka offsets). Recovering a pipeline
    /// with an input that cannot (a queue stream, as in Spark) is an error
    /// ([`CheckpointError::NotRecoverable`](crate::checkpoint::CheckpointError::NotRecoverable)).
    fn is_recoverable(&self) -> bool {
        false
    }

    /// What a checkpoint must hold for this input, encoded by the input
    /// (files read per batch time, offset ranges per batch time...); `None`
    /// for inputs that keep nothing.
    ///
    /// Called on the executor thread between two batches: every batch
    /// before the checkpoint time has been computed, none after (the
    /// generator may meanwhile call [`on_batch_time`](Self::on_batch_time)
    /// for later times). Recovery runs again every batch time from the
    /// checkpoint time on, so the data must let the input compute again the
    /// batches it recorded (with the same data) and continue after them
    /// without skipping or repeating anything. An `Err` skips this
    /// checkpoint (logged); the batches go on.
    fn checkpoint_data(&self) -> Option<Result<Vec<u8>>> {
        None
    }

    /// Restores what [`checkpoint_data`](Self::checkpoint_data) returned
    /// when a context is recovered from a checkpoint, before `start`. An
    /// `Err` fails the recovery
    /// ([`CheckpointError::Restore`](crate::checkpoint::CheckpointError::Restore)).
    fn restore_checkpoint_data(&self, bytes: &[u8]) -> Result<()> {
        let _ = bytes;
        Ok(())
    }
}

/// An input whose batches are read when they are consumed instead of when
/// they are computed (the text file stream, whose partitions read their
/// files a block at a time): a crate-internal extension of
/// [`InputSource`], whose [`compute`](InputSource::compute) it replaces.
/// Such an input reports no record count at compute time (as Spark's file
/// stream reports 0 records).
pub(crate) trait LazyInput<T>: Send + Sync {
    /// The batch for `time`, to be read when consumed; `None` for no batch.
    fn compute_lazy(&self, time: Time) -> Result<Option<Lazy<T>>>;
}

/// What one process of a job owns of an input shared by several processes
/// (see [`InputSource::ownership`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartitionOwnership {
    /// The group the processes form (Kafka's `group.id`).
    pub group: String,
    /// The partitions owned now, e.g. `words-3`.
    pub partitions: Vec<String>,
    /// Rebalances seen since the input started.
    pub rebalances: u64,
    /// The batch time from which the last rebalance took effect.
    pub last_rebalance: Option<Time>,
}

/// The type-erased lifecycle of an input, kept by the graph.
pub(crate) trait InputHandle: Send + Sync {
    fn name(&self) -> String;
    fn stream_id(&self) -> usize;
    fn start(&self, ctx: &InputContext) -> Result<()>;
    fn stop(&self);
    fn on_batch_time(&self, time: Time);
    fn has_pending_data(&self) -> bool;
    fn remember_at_least(&self, replay: Duration);
    fn is_recoverable(&self) -> bool;
    #[cfg_attr(not(feature = "ui"), allow(dead_code))]
    fn bad_records(&self) -> u64;
    #[cfg_attr(not(feature = "ui"), allow(dead_code))]
    fn status(&self) -> Option<String>;
    #[cfg_attr(not(feature = "ui"), allow(dead_code))]
    fn ownership(&self) -> Option<PartitionOwnership>;
    fn checkpoint_data(&self) -> Option<Result<Vec<u8>>>;
    fn restore_checkpoint_data(&self, bytes: &[u8]) -> Result<()>;
}

/// Connects an [`InputSource`] to the graph, both as an operator (its node's
/// computation) and as an input handle (its lifecycle).
#[derive(Clone)]
pub(crate) struct SourceOp<T> {
    pub(crate) stream_id: usize,
    pub(crate) source: Arc<dyn InputSource<T>>,
    /// The same input, when it reads its batches lazily.
    pub(crate) lazy: Option<Arc<dyn LazyInput<T>>>,
    /// The latest time computed: an input is computed at most once per time,
    /// so a time at or before it that is no longer memoized is gone.
    pub(crate) last_computed: Arc<Mutex<Option<Time>>>,
}

impl<T: Data> Operator<T> for SourceOp<T> {
    fn compute(&self, time: Time, env: &Env) -> Result<Option<Lazy<T>>> {
        // Never compute a batch time the generator has not reached: that
        // would hand future data to the wrong batch.
        match env.last_generated() {
            Some(last) if time <= last => {}
            _ => return Ok(None),
        }
        {
            let mut last = self.last_computed.lock().unwrap();
            if last.is_some_and(|l| time <= l) {
                tracing::debug!(%time, input = %self.source.name(), "batch no longer remembered");
                return Ok(None);
            }
            *last = Some(time);
        }
        if let Some(lazy) = &self.lazy {
            return lazy.compute_lazy(time);
        }
        let batch = self.source.compute(time)?;
        if let Some(b) = &batch {
            env.add_input_records(time, self.stream_id, b.len() as u64);
        }
        Ok(batch.map(Lazy::from_owned))
    }
}

impl<T: Data> InputHandle for SourceOp<T> {
    fn name(&self) -> String {
        self.source.name()
    }
    fn stream_id(&self) -> usize {
        self.stream_id
    }
    fn start(&self, ctx: &InputContext) -> Result<()> {
        self.source.start(ctx)
    }
    fn stop(&self) {
        self.source.stop()
    }
    fn on_batch_time(&self, time: Time) {
        self.source.on_batch_time(time)
    }
    fn has_pending_data(&self) -> bool {
        self.source.has_pending_data()
    }
    fn remember_at_least(&self, replay: Duration) {
        self.source.remember_at_least(replay)
    }
    fn is_recoverable(&self) -> bool {
        self.source.is_recoverable()
    }
    fn bad_records(&self) -> u64 {
        self.source.bad_records()
    }
    fn status(&self) -> Option<String> {
        self.source.status()
    }
    fn ownership(&self) -> Option<PartitionOwnership> {
        self.source.ownership()
    }
    fn checkpoint_data(&self) -> Option<Result<Vec<u8>>> {
        self.source.checkpoint_data()
    }
    fn restore_checkpoint_data(&self, bytes: &[u8]) -> Result<()> {
        self.source.restore_checkpoint_data(bytes)
    }
}
