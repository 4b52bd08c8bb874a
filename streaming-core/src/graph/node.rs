//! Graph nodes: one per operator, each with a typed output that is computed
//! at most once per batch time and shared by every consumer (memoized, like
//! Spark's `generatedRDDs`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use super::env::Env;
use super::stateful::StatefulOperator;
use crate::batch::{Batch, Data, Lazy};
use crate::error::{Result, StreamingError};
use crate::time::Time;

/// How an operator computes its output for one batch time.
pub(crate) trait Operator<T>: Send + Sync + 'static {
    /// The output at `time`, lazily; `None` when the operator produces no batch
    /// for that time. Only called for valid times (multiples of the slide).
    fn compute(&self, time: Time, env: &Env) -> Result<Option<Lazy<T>>>;

    /// How long the parents must remember their batches, given how long this
    /// node remembers its own (windows need more).
    fn parent_remember(&self, own: Duration) -> Duration {
        own
    }

    /// The operator's state, for operators that keep state across batches
    /// (what checkpoints save and restore); `None` for stateless ones. An
    /// operator with state needs a checkpoint directory and always
    /// memoizes.
    fn stateful(&self) -> Option<Arc<dyn StatefulOperator>> {
        None
    }

    /// Operators that must not be computed twice for a time memoize
    /// whatever their consumers: stateful ones (a recomputation would apply
    /// the batch to the state again), and others that keep what they
    /// computed (panes).
    fn always_memoize(&self) -> bool {
        self.stateful().is_some()
    }

    /// Whether the operator keeps state across batches and so needs a
    /// checkpoint directory.
    fn requires_checkpoint(&self) -> bool {
        self.stateful().is_some()
    }
}

/// Type-independent view of a node, for walking the graph.
pub(crate) trait AnyNode: Send + Sync + 'static {
    fn meta(&self) -> &NodeMeta;
    /// Propagates remember durations to the parents.
    fn parent_remember(&self, own: Duration) -> Duration;
    fn requires_checkpoint(&self) -> bool;
    /// Drops memoized batches that no consumer can need after batch `time`.
    fn clear_metadata(&self, time: Time);
    /// The node's operator state, if it keeps any across batches.
    fn stateful(&self) -> Option<Arc<dyn StatefulOperator>> {
        None
    }
    /// The Rust type of the node's elements (part of the pipeline structure
    /// a checkpoint records).
    fn element_type(&self) -> &'static str;
    /// Whether the node's batches are materialized and kept (else its output
    /// stays lazy and fuses into its single consumer's pass).
    #[cfg_attr(not(feature = "ui"), allow(dead_code))]
    fn is_memoized(&self) -> bool {
        true
    }
}

/// What every node has whatever its element type.
pub(crate) struct NodeMeta {
    pub(crate) id: usize,
    pub(crate) name: &'static str,
    pub(crate) slide: Duration,
    pub(crate) parents: Vec<Arc<dyn AnyNode>>,
    consumers: AtomicUsize,
    remember: Mutex<Duration>,
    cached: AtomicBool,
    /// A name given with `DStream::name` (identifies stateful operators in
    /// checkpoints).
    pub(crate) user_name: Mutex<Option<String>>,
    /// The interval set with `DStream::checkpoint`.
    pub(crate) checkpoint_interval: Mutex<Option<Duration>>,
}

impl NodeMeta {
    pub(crate) fn new(
        id: usize,
        name: &'static str,
        slide: Duration,
        parents: Vec<Arc<dyn AnyNode>>,
    ) -> Self {
        for p in &parents {
            p.meta().consumers.fetch_add(1, Ordering::Relaxed);
        }
        NodeMeta {
            id,
            name,
            slide,
            parents,
            consumers: AtomicUsize::new(0),
            remember: Mutex::new(slide),
            cached: AtomicBool::new(false),
            user_name: Mutex::new(None),
            checkpoint_interval: Mutex::new(None),
        }
    }

    /// How many nodes and output operations consume this node.
    #[cfg_attr(not(feature = "ui"), allow(dead_code))]
    pub(crate) fn consumers(&self) -> usize {
        self.consumers.load(Ordering::Relaxed)
    }

    pub(crate) fn add_consumer(&self) {
        self.consumers.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn set_cached(&self) {
        self.cached.store(true, Ordering::Relaxed);
    }

    pub(crate) fn remember(&self) -> Duration {
        *self.remember.lock().unwrap()
    }

    /// Raises the remember duration to at least `d`.
    pub(crate) fn remember_at_least(&self, d: Duration) {
        let mut r = self.remember.lock().unwrap();
        if d > *r {
            *r = d;
        }
    }

    /// Whether `time` is one at which this node produces a batch: after the
    /// zero time, by a whole number of slides.
    pub(crate) fn is_time_valid(&self, time: Time, env: &Env) -> bool {
        let Some(zero) = env.zero_time() else {
            return false;
        };
        time > zero
            && Time::from_millis(time.as_millis() - zero.as_millis()).is_multiple_of(self.slide)
    }
}

type Slot<T> = Arc<OnceLock<Result<Option<Batch<T>>>>>;

/// A node of the stream graph producing elements of type `T`.
pub(crate) struct Node<T> {
    pub(crate) meta: NodeMeta,
    op: Box<dyn Operator<T>>,
    /// `op.always_memoize()`, asked once.
    always_memoize: bool,
    memo: Mutex<BTreeMap<Time, Slot<T>>>,
}

impl<T: Data> Node<T> {
    pub(crate) fn new(meta: NodeMeta, op: impl Operator<T>) -> Self {
        Node {
            meta,
            always_memoize: op.always_memoize(),
            op: Box::new(op),
            memo: Mutex::new(BTreeMap::new()),
        }
    }

    /// Whether this node's batches are materialized once and kept: when it
    /// is cached, has several consumers, or must remember more than its
    /// latest batch. Otherwise its output stays lazy and fuses into its
    /// single consumer's pass (inputs guard against being computed twice
    /// for a time on their own).
    fn memoizes(&self) -> bool {
        self.always_memoize
            || self.meta.cached.load(Ordering::Relaxed)
            || self.meta.consumers.load(Ordering::Relaxed) > 1
            || self.meta.remember() > self.meta.slide
    }

    /// The output at `time`, lazily when the node does not memoize.
    pub(crate) fn get_lazy(&self, time: Time, env: &Env) -> Result<Option<Lazy<T>>> {
        if !self.meta.is_time_valid(time, env) {
            return Ok(None);
        }
        if self.memoizes() {
            Ok(self.get_batch(time, env)?.map(Lazy::from_batch))
        } else {
            self.op.compute(time, env)
        }
    }

    /// The output at `time`, materialized (computed once when memoized).
    pub(crate) fn get_batch(&self, time: Time, env: &Env) -> Result<Option<Batch<T>>> {
        if !self.meta.is_time_valid(time, env) {
            return Ok(None);
        }
        if !self.memoizes() {
            return Ok(self.op.compute(time, env)?.map(|l| l.materialize()));
        }
        let slot = {
            let mut memo = self.memo.lock().unwrap();
            memo.entry(time).or_default().clone()
        };
        slot.get_or_init(|| {
            tracing::trace!(node = self.meta.name, id = self.meta.id, %time, "computing");
            Ok(self.op.compute(time, env)?.map(|l| l.materialize()))
        })
        .clone()
    }
}

impl<T: Data> AnyNode for Node<T> {
    fn meta(&self) -> &NodeMeta {
        &self.meta
    }
    fn is_memoized(&self) -> bool {
        self.memoizes()
    }
    fn parent_remember(&self, own: Duration) -> Duration {
        self.op.parent_remember(own)
    }
    fn requires_checkpoint(&self) -> bool {
        self.op.requires_checkpoint()
    }
    fn clear_metadata(&self, time: Time) {
        let keep_after = time.saturating_sub(self.meta.remember());
        let mut memo = self.memo.lock().unwrap();
        let kept = memo.split_off(&Time::from_millis(keep_after.as_millis() + 1));
        *memo = kept;
    }
    fn stateful(&self) -> Option<Arc<dyn StatefulOperator>> {
        self.op.stateful()
    }
    fn element_type(&self) -> &'static str {
        std::any::type_name::<T>()
    }
}

/// The error for a multi-parent operator whose parent produced no batch.
pub(crate) fn missing_parent(operation: &'static str, time: Time, parent: usize) -> StreamingError {
    StreamingError::MissingParentBatch {
        operation,
        time,
        parent,
    }
}
