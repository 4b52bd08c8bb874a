//! [`DStream`]: a discretized stream, a sequence of [`Batch`]es, one per
//! batch time, and its operations.
//!
//! Each operation adds a typed node to the graph (`crate::graph`). Narrow
//! operations (`map`, `flat_map`, `filter`, `map_partitions`, ...) stay
//! lazy and fuse into one pass per partition; shuffles (`reduce_by_key`,
//! joins, ...) hash partition into the context's parallelism with map-side
//! combining. A stream's batch for a time is computed once and shared by
//! every consumer.
//!
//! Layout: this file holds the stream itself and the plumbing every
//! operation uses; [`ops`] holds the operations, one file per family with
//! the same names as `stream!`'s operator table (`streaming-dsl/src/ops/`):
//! `narrow`, `shuffle`, `window`, `state`, `output` and `input`. The
//! algorithms behind the window and state families are in [`window`] and
//! [`state`].

pub(crate) mod ops;
pub(crate) mod state;
pub(crate) mod window;

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use crate::batch::chunks::BoxChunks;
use crate::batch::{Batch, Data, Lazy};
use crate::error::{Result, StreamingError};
use crate::graph::env::Env;
use crate::graph::node::{AnyNode, Node, Operator};
use crate::graph::registry::{OutputOp, Registry};
use crate::graph::shapes::{BatchOp, BinaryOp, NarrowOp};
use crate::time::Time;

/// A discretized stream: a sequence of batches of `T`, one per batch time
/// (Spark's `DStream`).
///
/// Operations return new streams and register them with the context; nothing
/// runs before [`StreamingContext::start`](crate::StreamingContext::start). Element functions take owned
/// values and must be `Send + Sync + 'static`: they run on the worker pool,
/// one partition per task.
///
/// ```
/// use streaming_testkit::run_operation;
///
/// let out = run_operation(
///     vec![vec!["a b".to_string(), "b".to_string()]],
///     |lines| {
///         lines
///             .flat_map(|l: String| l.split(' ').map(str::to_string).collect::<Vec<_>>())
///             .map(|w| (w, 1))
///             .reduce_by_key(|a, b| a + b)
///     },
///     1,
/// );
/// let mut counts = out[0].clone();
/// counts.sort();
/// assert_eq!(counts, vec![("a".to_string(), 1), ("b".to_string(), 2)]);
/// ```
pub struct DStream<T> {
    pub(crate) node: Arc<Node<T>>,
    pub(crate) registry: Arc<Registry>,
    /// Keeps the owning context alive while its streams are (the graph
    /// holds it only weakly, and knows no context type).
    owner: Arc<dyn Any + Send + Sync>,
}

impl<T> Clone for DStream<T> {
    fn clone(&self) -> Self {
        DStream {
            node: self.node.clone(),
            registry: self.registry.clone(),
            owner: self.owner.clone(),
        }
    }
}

impl<T> std::fmt::Debug for DStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DStream")
            .field("id", &self.node.meta.id)
            .field("operation", &self.node.meta.name)
            .field("slide", &self.node.meta.slide)
            .finish()
    }
}

impl<T: Data> DStream<T> {
    pub(crate) fn from_node(node: Arc<Node<T>>, registry: Arc<Registry>) -> Self {
        let owner = registry
            .owner()
            .expect("streams are only created while their context is alive");
        DStream {
            node,
            registry,
            owner,
        }
    }

    pub(crate) fn any_node(&self) -> Arc<dyn AnyNode> {
        self.node.clone()
    }

    /// Adds a node with this stream as its only parent.
    pub(crate) fn derive<U: Data>(
        &self,
        name: &'static str,
        slide: Duration,
        op: impl Operator<U>,
    ) -> DStream<U> {
        let node = self
            .registry
            .add_node(name, slide, vec![self.any_node()], op);
        DStream::from_node(node, self.registry.clone())
    }

    /// Adds a narrow operator transforming each partition's chunk source.
    pub(crate) fn narrow_chunks<U: Data>(
        &self,
        name: &'static str,
        f: impl Fn(usize, BoxChunks<T>) -> BoxChunks<U> + Send + Sync + 'static,
    ) -> DStream<U> {
        let op = NarrowOp {
            parent: self.node.clone(),
            f: Arc::new(f),
        };
        self.derive(name, self.slide_duration(), op)
    }

    /// Adds an operator computing a batch from this stream's whole batch.
    pub(crate) fn batch_op<U: Data>(
        &self,
        name: &'static str,
        f: impl Fn(Lazy<T>, Time, &Env) -> Result<Batch<U>> + Send + Sync + 'static,
    ) -> DStream<U> {
        let op = BatchOp {
            parent: self.node.clone(),
            f: Arc::new(f),
        };
        self.derive(name, self.slide_duration(), op)
    }

    /// Adds a node with this stream and `other` as parents, computed by `f`
    /// from both batches.
    ///
    /// # Panics
    /// If the streams belong to different contexts or slide differently.
    pub(crate) fn binary<B: Data, U: Data>(
        &self,
        name: &'static str,
        other: &DStream<B>,
        f: impl Fn(Lazy<T>, Lazy<B>, Time, &Env) -> Result<Batch<U>> + Send + Sync + 'static,
    ) -> DStream<U> {
        check_compatible(
            name,
            &[
                (&self.registry, self.slide_duration()),
                (&other.registry, other.slide_duration()),
            ],
        );
        let op = BinaryOp {
            name,
            left: self.node.clone(),
            right: other.node.clone(),
            f: Arc::new(f),
        };
        let node = self.registry.add_node(
            name,
            self.slide_duration(),
            vec![self.any_node(), other.any_node()],
            op,
        );
        DStream::from_node(node, self.registry.clone())
    }

    /// Registers an output operation running `f` on every batch this stream
    /// produces; an error fails the batch.
    pub(crate) fn output(
        &self,
        name: &'static str,
        f: impl Fn(Batch<T>, Time) -> Result<()> + Send + Sync + 'static,
    ) {
        let node = self.node.clone();
        self.registry.add_output(OutputOp {
            name,
            node: self.any_node(),
            run: Box::new(move |time, env| match node.get_batch(time, env)? {
                Some(b) => f(b, time).map(|()| true),
                None => Ok(false),
            }),
        });
    }

    /// The context owning this stream, type-erased (`DStream::context` in
    /// `context/` turns it back into a `StreamingContext`).
    pub(crate) fn owner(&self) -> Arc<dyn Any + Send + Sync> {
        self.owner.clone()
    }

    /// A number identifying this stream within its context.
    pub fn id(&self) -> usize {
        self.node.meta.id
    }

    /// The interval at which this stream produces batches (the batch interval
    /// for inputs and their narrow descendants; the slide for windows).
    pub fn slide_duration(&self) -> Duration {
        self.node.meta.slide
    }

    /// The batches of this stream between `from` and `to` (inclusive),
    /// aligned to its slide; batches no longer remembered are recomputed
    /// where the inputs allow. An error before the context has started.
    pub fn slice(&self, from: Time, to: Time) -> Result<Vec<Batch<T>>> {
        if self.registry.is_open() {
            return Err(StreamingError::IllegalState(
                "slice is only available once the context has started".into(),
            ));
        }
        let env = self.registry.env();
        let zero = env.zero_time().unwrap_or(Time::ZERO);
        let slide = self.slide_duration();
        let align = |t: Time| {
            if t <= zero {
                zero
            } else {
                Time::from_millis(t.as_millis() - zero.as_millis()).floor(slide)
                    + Duration::from_millis(zero.as_millis())
            }
        };
        let (from, to) = (align(from), align(to));
        let mut out = Vec::new();
        let mut t = from;
        while t <= to {
            if let Some(b) = env.install(|| self.node.get_batch(t, env))? {
                out.push(b);
            }
            t = t + slide;
        }
        Ok(out)
    }
}

/// Panics unless every stream shares one context and one slide duration
/// (Spark's checks in `UnionDStream` and `TransformedDStream`).
pub(crate) fn check_compatible(operation: &str, streams: &[(&Arc<Registry>, Duration)]) {
    let (ctx0, slide0) = streams[0];
    for (ctx, slide) in &streams[1..] {
        if !Arc::ptr_eq(ctx0, ctx) {
            panic!(
                "{}",
                StreamingError::InvalidOperation(format!(
                    "{operation}: the streams belong to different StreamingContexts"
                ))
            );
        }
        if *slide != slide0 {
            panic!(
                "{}",
                StreamingError::InvalidOperation(format!(
                    "{operation}: the streams have different slide durations ({slide0:?} and {slide:?})"
                ))
            );
        }
    }
}
