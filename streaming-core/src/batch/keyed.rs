//! The operations of a batch that move data between partitions (Spark's
//! `repartition` and `PairRDDFunctions`), on the shuffle kernels.

use std::hash::Hash;

use super::shuffle;
use super::{Batch, Data, Key};

impl<T: Data> Batch<T> {
    /// Redistributes the elements round-robin over `n` partitions.
    pub fn repartition(&self, n: usize) -> Batch<T> {
        shuffle::repartition(self, n)
    }

    /// Counts each distinct element, into as many partitions as this batch has.
    pub fn count_by_value(&self) -> Batch<(T, u64)>
    where
        T: Hash + Eq,
    {
        shuffle::count_by_value(self, self.num_partitions().max(1))
    }
}

impl<K: Key, V: Data> Batch<(K, V)> {
    /// Applies `f` to every value, keeping keys.
    pub fn map_values<U: Data, F: Fn(V) -> U + Send + Sync>(&self, f: F) -> Batch<(K, U)> {
        self.map(|(k, v)| (k, f(v)))
    }

    /// Merges the values of each key with `f`, into as many partitions as this
    /// batch has.
    pub fn reduce_by_key<F: Fn(V, V) -> V + Send + Sync>(&self, f: F) -> Batch<(K, V)> {
        self.reduce_by_key_with_partitions(f, self.num_partitions().max(1))
    }

    /// Merges the values of each key with `f`, into `n` partitions.
    pub fn reduce_by_key_with_partitions<F: Fn(V, V) -> V + Send + Sync>(
        &self,
        f: F,
        n: usize,
    ) -> Batch<(K, V)> {
        shuffle::combine_by_key(self, n, |v| v, &f, &f)
    }

    /// Groups the values of each key (in the order they appear).
    pub fn group_by_key(&self) -> Batch<(K, Vec<V>)> {
        shuffle::group_by_key(self, self.num_partitions().max(1))
    }

    /// Inner join by key.
    pub fn join<W: Data>(&self, other: &Batch<(K, W)>) -> Batch<(K, (V, W))> {
        let n = self.num_partitions().max(other.num_partitions()).max(1);
        shuffle::join(self, other, n)
    }

    /// For each key, all values of both batches.
    pub fn cogroup<W: Data>(&self, other: &Batch<(K, W)>) -> Batch<(K, (Vec<V>, Vec<W>))> {
        let n = self.num_partitions().max(other.num_partitions()).max(1);
        shuffle::cogroup(self, other, n)
    }

    /// The keys.
    pub fn keys(&self) -> Batch<K> {
        self.map(|(k, _)| k)
    }

    /// The values.
    pub fn values(&self) -> Batch<V> {
        self.map(|(_, v)| v)
    }
}
