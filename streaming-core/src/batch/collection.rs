//! [`Batch`], the partitioned collection, and the bounds of its elements
//! ([`Data`], [`Key`]); its element-wise operations.

use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

use rayon::prelude::*;

use super::chunks::{self, PartitionIter};

/// The bound every stream element satisfies: a plain owned value that can be
/// shared between threads.
pub trait Data: Send + Sync + Clone + 'static {}
impl<T: Send + Sync + Clone + 'static> Data for T {}

/// The bound of keys of key-value streams.
pub trait Key: Data + Hash + Eq {}
impl<T: Data + Hash + Eq> Key for T {}

/// Something split into partitions that can each be iterated independently.
pub trait Partitioned<T>: Sync {
    /// Number of partitions.
    fn num_partitions(&self) -> usize;
    /// An owning iterator over partition `i`.
    fn partition_iter(&self, i: usize) -> PartitionIter<T>;
}

/// One batch of a stream: a partitioned, immutable collection.
///
/// ```
/// use streaming_core::Batch;
/// let b = Batch::split(vec![1, 2, 3, 4, 5], 2);
/// assert_eq!(b.num_partitions(), 2);
/// assert_eq!(b.partitions()[0], vec![1, 2]);
/// assert_eq!(b.map(|x| x * 10).collect(), vec![10, 20, 30, 40, 50]);
/// ```
pub struct Batch<T> {
    pub(super) parts: Arc<Vec<Vec<T>>>,
    pub(super) len: usize,
}

impl<T> Clone for Batch<T> {
    fn clone(&self) -> Self {
        Batch {
            parts: self.parts.clone(),
            len: self.len,
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Batch<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch")
            .field("partitions", &self.parts)
            .finish()
    }
}

impl<T: PartialEq> PartialEq for Batch<T> {
    fn eq(&self, other: &Self) -> bool {
        self.parts == other.parts
    }
}

impl<T> Default for Batch<T> {
    fn default() -> Self {
        Batch::from_partitions(Vec::new())
    }
}

impl<T> From<Vec<T>> for Batch<T> {
    /// A batch of one partition.
    fn from(v: Vec<T>) -> Self {
        Batch::from_partitions(vec![v])
    }
}

impl<T> FromIterator<T> for Batch<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Batch::from(iter.into_iter().collect::<Vec<T>>())
    }
}

impl<T> Batch<T> {
    /// A batch with the given partitions.
    pub fn from_partitions(parts: Vec<Vec<T>>) -> Self {
        let len = parts.iter().map(Vec::len).sum();
        Batch {
            parts: Arc::new(parts),
            len,
        }
    }

    /// A batch with no partitions and no elements.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Splits `v` into `n` partitions by contiguous slicing, as Spark's
    /// `parallelize` does: partition `j` holds positions `[j*len/n, (j+1)*len/n)`.
    pub fn split(v: Vec<T>, n: usize) -> Self {
        let n = n.max(1);
        let len = v.len();
        let mut parts = Vec::with_capacity(n);
        let mut it = v.into_iter();
        for j in 0..n {
            let size = (j + 1) * len / n - j * len / n;
            parts.push(it.by_ref().take(size).collect());
        }
        Batch::from_partitions(parts)
    }

    /// The partitions, in order.
    pub fn partitions(&self) -> &[Vec<T>] {
        &self.parts
    }

    /// Number of partitions.
    pub fn num_partitions(&self) -> usize {
        self.parts.len()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the batch has no element.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Iterates over all elements, partition by partition.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.parts.iter().flatten()
    }

    /// The partitions, owned when this is the only handle on them (no copy),
    /// cloned otherwise.
    pub fn into_partitions(self) -> Vec<Vec<T>>
    where
        T: Clone,
    {
        Arc::try_unwrap(self.parts).unwrap_or_else(|shared| (*shared).clone())
    }
}

impl<T: Data> Partitioned<T> for Batch<T> {
    fn num_partitions(&self) -> usize {
        self.parts.len()
    }
    fn partition_iter(&self, i: usize) -> PartitionIter<T> {
        PartitionIter::from_chunks(Box::new(chunks::SharedChunks {
            parts: self.parts.clone(),
            part: i,
            pos: 0,
        }))
    }
}

impl<T: Data> Batch<T> {
    /// All elements in partition order.
    pub fn collect(&self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len);
        for p in self.parts.iter() {
            out.extend(p.iter().cloned());
        }
        out
    }

    /// The first `n` elements in partition order (Spark's `take`).
    pub fn take(&self, n: usize) -> Vec<T> {
        self.iter().take(n).cloned().collect()
    }

    /// Number of elements, as Spark's `count`.
    pub fn count(&self) -> u64 {
        self.len as u64
    }

    /// Applies `f` to each partition's iterator, in parallel.
    pub fn map_partitions_with_index<U, I, F>(&self, f: F) -> Batch<U>
    where
        U: Data,
        I: IntoIterator<Item = U>,
        F: Fn(usize, PartitionIter<T>) -> I + Send + Sync,
    {
        let parts = (0..self.num_partitions())
            .into_par_iter()
            .map(|i| f(i, self.partition_iter(i)).into_iter().collect())
            .collect();
        Batch::from_partitions(parts)
    }

    /// Applies `f` to each partition's iterator, in parallel.
    pub fn map_partitions<U, I, F>(&self, f: F) -> Batch<U>
    where
        U: Data,
        I: IntoIterator<Item = U>,
        F: Fn(PartitionIter<T>) -> I + Send + Sync,
    {
        self.map_partitions_with_index(|_, it| f(it))
    }

    /// Applies `f` to every element.
    pub fn map<U: Data, F: Fn(T) -> U + Send + Sync>(&self, f: F) -> Batch<U> {
        let parts = self
            .parts
            .par_iter()
            .map(|p| p.iter().cloned().map(&f).collect())
            .collect();
        Batch::from_partitions(parts)
    }

    /// Applies `f` to every element and flattens the results.
    pub fn flat_map<U, I, F>(&self, f: F) -> Batch<U>
    where
        U: Data,
        I: IntoIterator<Item = U>,
        F: Fn(T) -> I + Send + Sync,
    {
        let parts = self
            .parts
            .par_iter()
            .map(|p| p.iter().cloned().flat_map(&f).collect())
            .collect();
        Batch::from_partitions(parts)
    }

    /// Keeps the elements for which `f` is true.
    pub fn filter<F: Fn(&T) -> bool + Send + Sync>(&self, f: F) -> Batch<T> {
        let parts = self
            .parts
            .par_iter()
            .map(|p| p.iter().filter(|x| f(x)).cloned().collect())
            .collect();
        Batch::from_partitions(parts)
    }

    /// This batch's partitions followed by `other`'s.
    pub fn union(&self, other: &Batch<T>) -> Batch<T> {
        let mut parts = Vec::with_capacity(self.num_partitions() + other.num_partitions());
        parts.extend(self.parts.iter().cloned());
        parts.extend(other.parts.iter().cloned());
        Batch::from_partitions(parts)
    }

    /// Reduces all elements with `f`; `None` when the batch is empty.
    pub fn reduce<F: Fn(T, T) -> T + Send + Sync>(&self, f: F) -> Option<T> {
        self.parts
            .par_iter()
            .filter_map(|p| p.iter().cloned().reduce(&f))
            .collect::<Vec<T>>()
            .into_iter()
            .reduce(&f)
    }

    /// Sorts ascending by `key_fn` (stable), keeping the number of partitions:
    /// the sorted elements are sliced contiguously, as Spark's `sortBy` ranges.
    pub fn sort_by<K, F>(&self, key_fn: F) -> Batch<T>
    where
        K: Ord + Send,
        F: Fn(&T) -> K + Send + Sync,
    {
        let mut all = self.collect();
        all.par_sort_by_cached_key(|x| key_fn(x));
        Batch::split(all, self.num_partitions().max(1))
    }
}
