//! [`DStream`]: a discretized stream, a sequence of [`Batch`]es, one per
//! batch time, and its operations.
//!
//! Each operation adds a typed node to the context's graph. Narrow operations
//! (`map`, `flat_map`, `filter`, `map_partitions`, ...) stay lazy and fuse
//! into one pass per partition; shuffles (`reduce_by_key`, joins, ...) hash
//! partition into the context's parallelism with map-side combining. A
//! stream's batch for a time is computed once and shared by every consumer.

pub(crate) mod multi;
pub(crate) mod node;
pub(crate) mod ops;
pub(crate) mod output;
mod pair;
pub(crate) mod state;
pub(crate) mod window;

use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use crate::batch::chunks::{BoxChunks, FilterChunks, FlatMapChunks, IterChunks, MapChunks, CHUNK};
use crate::batch::{shuffle, Batch, Data, PartitionIter, Partitioned};
use crate::context::{ContextInner, StreamingContext, StreamingContextState};
use crate::error::{Result, StreamingError};
use crate::time::Time;
use node::{AnyNode, Node, Operator};
use ops::{BatchOp, NarrowOp};

/// A discretized stream: a sequence of batches of `T`, one per batch time
/// (Spark's `DStream`).
///
/// Operations return new streams and register them with the context; nothing
/// runs before [`StreamingContext::start`]. Element functions take owned
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
    pub(crate) ctx: Arc<ContextInner>,
}

impl<T> Clone for DStream<T> {
    fn clone(&self) -> Self {
        DStream {
            node: self.node.clone(),
            ctx: self.ctx.clone(),
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
    pub(crate) fn from_node(node: Arc<Node<T>>, ctx: Arc<ContextInner>) -> Self {
        DStream { node, ctx }
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
        let node = self.ctx.add_node(name, slide, vec![self.any_node()], op);
        DStream::from_node(node, self.ctx.clone())
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
        f: impl Fn(crate::batch::Lazy<T>, Time, &crate::context::env::Env) -> Result<Batch<U>>
            + Send
            + Sync
            + 'static,
    ) -> DStream<U> {
        let op = BatchOp {
            parent: self.node.clone(),
            f: Arc::new(f),
        };
        self.derive(name, self.slide_duration(), op)
    }

    /// The context this stream belongs to.
    pub fn context(&self) -> StreamingContext {
        StreamingContext {
            inner: self.ctx.clone(),
        }
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

    /// Applies `f` to every element.
    pub fn map<U: Data>(&self, f: impl Fn(T) -> U + Send + Sync + 'static) -> DStream<U> {
        let f = Arc::new(f);
        self.narrow_chunks("map", move |_, src| {
            let f = f.clone();
            Box::new(MapChunks {
                src,
                buf: Vec::with_capacity(CHUNK),
                f: move |x| f(x),
            })
        })
    }

    /// Applies `f` to every element and flattens the results.
    pub fn flat_map<U, I>(&self, f: impl Fn(T) -> I + Send + Sync + 'static) -> DStream<U>
    where
        U: Data,
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: Send + 'static,
    {
        let f = Arc::new(f);
        self.narrow_chunks("flat_map", move |_, src| {
            let f = f.clone();
            Box::new(FlatMapChunks {
                src,
                buf: Vec::with_capacity(CHUNK),
                f: move |x| f(x),
            })
        })
    }

    /// Keeps the elements for which `f` is true.
    pub fn filter(&self, f: impl Fn(&T) -> bool + Send + Sync + 'static) -> DStream<T> {
        let f = Arc::new(f);
        self.narrow_chunks("filter", move |_, src| {
            let f = f.clone();
            Box::new(FilterChunks {
                src,
                buf: Vec::with_capacity(CHUNK),
                f: move |x: &T| f(x),
            })
        })
    }

    /// Applies `f` to each partition's iterator (a [`PartitionIter`], read a
    /// chunk at a time); what `f` returns is read lazily, so this fuses with
    /// neighbouring narrow operations. This is what `stream!` compiles a
    /// chain of narrow operators into: one monomorphized iterator chain.
    pub fn map_partitions<U, I>(
        &self,
        f: impl Fn(PartitionIter<T>) -> I + Send + Sync + 'static,
    ) -> DStream<U>
    where
        U: Data,
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: Send + 'static,
    {
        self.narrow_chunks("map_partitions", move |_, src| {
            Box::new(IterChunks {
                it: f(PartitionIter::from_chunks(src)).into_iter(),
            })
        })
    }

    /// Like [`map_partitions`](Self::map_partitions), also given the
    /// partition's index.
    pub fn map_partitions_with_index<U, I>(
        &self,
        f: impl Fn(usize, PartitionIter<T>) -> I + Send + Sync + 'static,
    ) -> DStream<U>
    where
        U: Data,
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: Send + 'static,
    {
        self.narrow_chunks("map_partitions_with_index", move |i, src| {
            Box::new(IterChunks {
                it: f(i, PartitionIter::from_chunks(src)).into_iter(),
            })
        })
    }

    /// Each partition as one `Vec`.
    pub fn glom(&self) -> DStream<Vec<T>> {
        self.narrow_chunks("glom", |_, src| {
            Box::new(IterChunks {
                it: std::iter::once(src.drain_all()),
            })
        })
    }

    /// Redistributes every batch round-robin over `n` partitions.
    pub fn repartition(&self, n: usize) -> DStream<T> {
        self.batch_op("repartition", move |l, _, _| {
            Ok(shuffle::repartition(&l, n))
        })
    }

    /// The number of elements of each batch: one element, `0` for an empty
    /// batch.
    pub fn count(&self) -> DStream<u64> {
        self.batch_op("count", |l, _, _| {
            use rayon::prelude::*;
            let n: u64 = (0..l.num_partitions())
                .into_par_iter()
                .map(|i| l.partition_iter(i).count() as u64)
                .sum();
            Ok(Batch::from(vec![n]))
        })
    }

    /// Counts each distinct element of each batch.
    pub fn count_by_value(&self) -> DStream<(T, u64)>
    where
        T: Hash + Eq,
    {
        self.batch_op("count_by_value", |l, _, env| {
            Ok(shuffle::count_by_value(&l, env.parallelism()))
        })
    }

    /// Counts each distinct element into `n` partitions.
    pub fn count_by_value_with_partitions(&self, n: usize) -> DStream<(T, u64)>
    where
        T: Hash + Eq,
    {
        self.batch_op("count_by_value", move |l, _, _| {
            Ok(shuffle::count_by_value(&l, n))
        })
    }

    /// Reduces each batch to one element with `f` (an associative
    /// function); an empty batch gives an empty batch.
    pub fn reduce(&self, f: impl Fn(T, T) -> T + Send + Sync + 'static) -> DStream<T> {
        self.batch_op("reduce", move |l, _, _| {
            use rayon::prelude::*;
            let partials: Vec<T> = (0..l.num_partitions())
                .into_par_iter()
                .filter_map(|i| l.partition_iter(i).reduce(&f))
                .collect();
            Ok(Batch::from(
                partials
                    .into_iter()
                    .reduce(&f)
                    .into_iter()
                    .collect::<Vec<T>>(),
            ))
        })
    }

    /// Applies an arbitrary batch-to-batch function (Spark's `transform`).
    /// A parent that produced no batch for a time fails that batch.
    pub fn transform<U: Data>(
        &self,
        f: impl Fn(Batch<T>, Time) -> Batch<U> + Send + Sync + 'static,
    ) -> DStream<U> {
        multi::transform(self, f)
    }

    /// Applies a function of this stream's and `other`'s batches.
    pub fn transform_with<U: Data, V: Data>(
        &self,
        other: &DStream<U>,
        f: impl Fn(Batch<T>, Batch<U>, Time) -> Batch<V> + Send + Sync + 'static,
    ) -> DStream<V> {
        multi::transform_with(self, other, f)
    }

    /// The union of this stream and `other`: this stream's elements first.
    ///
    /// # Panics
    /// If the streams belong to different contexts or slide differently.
    pub fn union(&self, other: &DStream<T>) -> DStream<T> {
        multi::union_all(vec![self.clone(), other.clone()])
    }

    /// Keeps each batch once computed, for every consumer (it is computed
    /// once per batch time in any case; this also keeps it for
    /// [`slice`](Self::slice) and makes it a materialization point).
    pub fn cache(&self) -> DStream<T> {
        self.node.meta.set_cached();
        self.clone()
    }

    /// Same as [`cache`](Self::cache): batches are kept in memory.
    pub fn persist(&self) -> DStream<T> {
        self.cache()
    }

    /// The batches of this stream between `from` and `to` (inclusive),
    /// aligned to its slide; batches no longer remembered are recomputed
    /// where the inputs allow. An error before the context has started.
    pub fn slice(&self, from: Time, to: Time) -> Result<Vec<Batch<T>>> {
        if self.context().state() == StreamingContextState::Initialized {
            return Err(StreamingError::IllegalState(
                "slice is only available once the context has started".into(),
            ));
        }
        let env = &self.ctx.env;
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
