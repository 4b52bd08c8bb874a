//! Lazily computed batches: how chains of narrow operators avoid
//! materializing a collection per operator.

use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use super::chunks::{BoxChunks, SharedChunks, VecChunks, CHUNK};
use super::{Batch, Data, PartitionIter, Partitioned};

type PartitionGen<T> = Arc<dyn Fn(usize) -> BoxChunks<T> + Send + Sync>;

/// A batch not yet materialized: for each partition, a function producing a
/// [`Chunks`](super::chunks::Chunks) source of its elements. Narrow operators wrap the parent's
/// sources, so a chain of them runs as one pass per partition with no
/// intermediate collection; the chain is materialized once, in parallel,
/// where a shuffle, an output or a memoized stream needs the data.
pub(crate) struct Lazy<T> {
    num_partitions: usize,
    gen: PartitionGen<T>,
    /// The batch this wraps unchanged, if any: materializing it is free.
    batch: Option<Batch<T>>,
}

impl<T> Clone for Lazy<T> {
    fn clone(&self) -> Self {
        Lazy {
            num_partitions: self.num_partitions,
            gen: self.gen.clone(),
            batch: self.batch.clone(),
        }
    }
}

impl<T: Data> Lazy<T> {
    /// A lazy batch whose partition `i` is the iterator `gen(i)`.
    pub(crate) fn new(
        num_partitions: usize,
        gen: impl Fn(usize) -> PartitionIter<T> + Send + Sync + 'static,
    ) -> Self {
        Lazy::from_chunks(num_partitions, move |i| Box::new(gen(i)))
    }

    /// A lazy batch whose partition `i` is the chunk source `gen(i)`.
    pub(crate) fn from_chunks(
        num_partitions: usize,
        gen: impl Fn(usize) -> BoxChunks<T> + Send + Sync + 'static,
    ) -> Self {
        Lazy {
            num_partitions,
            gen: Arc::new(gen),
            batch: None,
        }
    }

    /// A lazy view of a shared batch: reading it clones the elements.
    pub(crate) fn from_batch(b: Batch<T>) -> Self {
        let n = b.num_partitions();
        let parts = b.parts.clone();
        Lazy {
            batch: Some(b),
            ..Lazy::from_chunks(n, move |i| {
                Box::new(SharedChunks {
                    parts: parts.clone(),
                    part: i,
                    pos: 0,
                })
            })
        }
    }

    /// A lazy view of a batch nobody else holds: each partition is moved out
    /// when read, with no copy. A batch that is shared after all falls back
    /// to [`from_batch`](Self::from_batch).
    ///
    /// Each partition can be read once, which is how every consumer of a
    /// `Lazy` uses it (one pass per partition).
    pub(crate) fn from_owned(b: Batch<T>) -> Self {
        let len = b.len;
        match Arc::try_unwrap(b.parts) {
            Ok(parts) => {
                let n = parts.len();
                let slots: Vec<Mutex<Option<Vec<T>>>> =
                    parts.into_iter().map(|p| Mutex::new(Some(p))).collect();
                Lazy::from_chunks(n, move |i| {
                    let part = slots[i]
                        .lock()
                        .unwrap()
                        .take()
                        .expect("internal error: an owned partition was read twice");
                    Box::new(VecChunks::new(part))
                })
            }
            Err(shared) => Lazy::from_batch(Batch { parts: shared, len }),
        }
    }

    /// Wraps every partition's chunk source with `f` (given the index).
    pub(crate) fn map_chunks<U: Data>(
        self,
        f: impl Fn(usize, BoxChunks<T>) -> BoxChunks<U> + Send + Sync + 'static,
    ) -> Lazy<U> {
        let gen = self.gen;
        Lazy::from_chunks(self.num_partitions, move |i| f(i, gen(i)))
    }

    /// Partition `i`'s chunk source.
    pub(crate) fn chunks(&self, i: usize) -> BoxChunks<T> {
        (self.gen)(i)
    }

    /// Calls `f` on every element of partition `i` by reference: a batch's
    /// elements in place, a chain's a chunk at a time (each chunk dropped
    /// once read).
    pub(crate) fn for_each_ref(&self, i: usize, mut f: impl FnMut(&T)) {
        if let Some(b) = &self.batch {
            b.parts[i].iter().for_each(f);
            return;
        }
        let mut src = (self.gen)(i);
        let mut chunk = Vec::with_capacity(CHUNK);
        while src.fill(&mut chunk) {
            chunk.iter().for_each(&mut f);
            chunk.clear();
        }
    }

    /// Runs every partition in parallel and collects the results.
    pub(crate) fn materialize(&self) -> Batch<T> {
        if let Some(b) = &self.batch {
            return b.clone();
        }
        let parts = (0..self.num_partitions)
            .into_par_iter()
            .map(|i| (self.gen)(i).drain_all())
            .collect();
        Batch::from_partitions(parts)
    }
}

impl<T: Data> Partitioned<T> for Lazy<T> {
    fn num_partitions(&self) -> usize {
        self.num_partitions
    }
    fn partition_iter(&self, i: usize) -> PartitionIter<T> {
        PartitionIter::from_chunks((self.gen)(i))
    }
}
