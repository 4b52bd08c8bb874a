//! Narrow operators (the `narrow` family of `stream!`'s operator table,
//! `streaming-dsl/src/ops/narrow.rs`): per-element or per-partition work
//! with no data movement, fused lazily into one pass per partition; plus
//! the whole-batch `transform`s, `union`, and the persistence marks
//! (`cache`, `persist`, `checkpoint`, `name`).

use std::sync::Arc;
use std::time::Duration;

use crate::batch::chunks::{FilterChunks, FlatMapChunks, IterChunks, MapChunks, CHUNK};
use crate::batch::{Batch, Data, Key, PartitionIter};
use crate::dstream::check_compatible;
use crate::dstream::DStream;
use crate::error::{Result, StreamingError};
use crate::graph::node::AnyNode;
use crate::graph::shapes::{TransformOp, UnionOp};
use crate::time::Time;

impl<T: Data> DStream<T> {
    /// The union of `streams` (at least one), in order: Spark's
    /// `StreamingContext.union`.
    ///
    /// # Panics
    /// If `streams` is empty, or they belong to different contexts or slide
    /// differently.
    pub(crate) fn union_all(streams: Vec<DStream<T>>) -> DStream<T> {
        assert!(
            !streams.is_empty(),
            "{}",
            StreamingError::InvalidOperation("union of an empty list of streams".into())
        );
        let info: Vec<_> = streams
            .iter()
            .map(|s| (&s.registry, s.slide_duration()))
            .collect();
        check_compatible("union", &info);
        let first = &streams[0];
        let parents: Vec<Arc<dyn AnyNode>> = streams.iter().map(|s| s.any_node()).collect();
        let op = UnionOp {
            parents: streams.iter().map(|s| s.node.clone()).collect(),
        };
        let node = first
            .registry
            .add_node("union", first.slide_duration(), parents, op);
        DStream::from_node(node, first.registry.clone())
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
            Box::new(FlatMapChunks::new(src, move |x| f(x)))
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

    /// Applies an arbitrary batch-to-batch function (Spark's `transform`).
    /// A parent that produced no batch for a time fails that batch.
    pub fn transform<U: Data>(
        &self,
        f: impl Fn(Batch<T>, Time) -> Batch<U> + Send + Sync + 'static,
    ) -> DStream<U> {
        let op = TransformOp {
            parent: self.node.clone(),
            f: Arc::new(f),
        };
        self.derive("transform", self.slide_duration(), op)
    }

    /// Applies a function of this stream's and `other`'s batches.
    pub fn transform_with<U: Data, V: Data>(
        &self,
        other: &DStream<U>,
        f: impl Fn(Batch<T>, Batch<U>, Time) -> Batch<V> + Send + Sync + 'static,
    ) -> DStream<V> {
        self.binary("transform_with", other, move |l, r, time, _| {
            let (l, r) = rayon::join(|| l.materialize(), || r.materialize());
            Ok(f(l, r, time))
        })
    }

    /// The union of this stream and `other`: this stream's elements first.
    ///
    /// # Panics
    /// If the streams belong to different contexts or slide differently.
    pub fn union(&self, other: &DStream<T>) -> DStream<T> {
        DStream::union_all(vec![self.clone(), other.clone()])
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
    /// Names the operator computing this stream, and returns the stream.
    ///
    /// The name identifies a stateful operator's state in checkpoints
    /// (without one, it is `<operation>#<n>`: the `n`-th stateful operator
    /// of that operation in definition order). A checkpoint's state is
    /// restored into the operator of the same name, so naming stateful
    /// operators keeps their state across changes of the pipeline around
    /// them. Names of stateful operators must be unique; set them before
    /// `start`.
    ///
    /// ```
    /// use streaming_testkit::TestConfig;
    /// use streaming_core::{Batch, StatefulOperator};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let ssc = TestConfig::default().context(dir.path()).unwrap();
    /// let words = ssc.input_stream_from_fn(|_| Some(Batch::from(vec![("a".to_string(), 1u64)])));
    /// let counts = words
    ///     .update_state_by_key(|new: &[u64], old: Option<u64>| Some(old.unwrap_or(0) + new.iter().sum::<u64>()))
    ///     .name("counts");
    /// assert_eq!(counts.given_name().as_deref(), Some("counts"));
    /// ```
    pub fn name(&self, name: impl Into<String>) -> DStream<T> {
        *self.node.meta.user_name.lock().unwrap() = Some(name.into());
        self.clone()
    }

    /// The name given with [`name`](Self::name), if any.
    pub fn given_name(&self) -> Option<String> {
        self.node.meta.user_name.lock().unwrap().clone()
    }

    /// Checkpoints the context at least every `interval` of this stream
    /// (Spark's `DStream.checkpoint`): a checkpoint is written before every
    /// batch whose time is a multiple of `interval` after the zero time.
    /// Without it, a stateful stream uses Spark's default, the smallest
    /// multiple of its slide of at least 10 s. Needs a checkpoint directory
    /// ([`StreamingContext::checkpoint`](crate::StreamingContext::checkpoint)).
    ///
    /// A shorter interval replays fewer batches after a failure and costs a
    /// snapshot of every stateful operator's state more often.
    ///
    /// # Panics
    /// If `interval` is not a positive multiple of this stream's slide
    /// duration (see [`try_checkpoint`](Self::try_checkpoint)).
    pub fn checkpoint(&self, interval: Duration) -> DStream<T> {
        self.try_checkpoint(interval)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`checkpoint`](Self::checkpoint), returning an invalid interval as an
    /// error.
    pub fn try_checkpoint(&self, interval: Duration) -> Result<DStream<T>> {
        let slide = self.node.meta.slide;
        let slide_ms = slide.as_millis();
        if interval.as_millis() == 0
            || !interval.subsec_nanos().is_multiple_of(1_000_000)
            || slide_ms == 0
            || !interval.as_millis().is_multiple_of(slide_ms)
        {
            return Err(StreamingError::InvalidOperation(format!(
                "checkpoint: the interval {interval:?} of `{}` must be a positive multiple of its slide duration {slide:?}",
                self.node.meta.name
            )));
        }
        *self.node.meta.checkpoint_interval.lock().unwrap() = Some(interval);
        Ok(self.clone())
    }
}

impl<K: Key, V: Data> DStream<(K, V)> {
    /// Applies `f` to every value, keeping keys.
    pub fn map_values<U: Data>(
        &self,
        f: impl Fn(V) -> U + Send + Sync + 'static,
    ) -> DStream<(K, U)> {
        let f = Arc::new(f);
        self.narrow_chunks("map_values", move |_, src| {
            let f = f.clone();
            Box::new(MapChunks {
                src,
                buf: Vec::with_capacity(CHUNK),
                f: move |(k, v)| (k, f(v)),
            })
        })
    }

    /// Applies `f` to every value and pairs each result with the key.
    pub fn flat_map_values<U, I>(
        &self,
        f: impl Fn(V) -> I + Send + Sync + 'static,
    ) -> DStream<(K, U)>
    where
        U: Data,
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: Send + 'static,
    {
        let f = Arc::new(f);
        self.narrow_chunks("flat_map_values", move |_, src| {
            let f = f.clone();
            Box::new(FlatMapChunks::new(src, move |(k, v): (K, V)| {
                f(v).into_iter().map(move |u| (k.clone(), u))
            }))
        })
    }
}
