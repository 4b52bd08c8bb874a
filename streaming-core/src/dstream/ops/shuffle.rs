//! Shuffle operators (the `shuffle` family of `stream!`'s operator table,
//! `streaming-dsl/src/ops/shuffle.rs`): each is a stage boundary that hash
//! partitions its batch into the context's parallelism (or the partitions
//! asked for) with a map-side combine, in parallel on the worker pool.

use std::hash::Hash;

#[cfg(doc)]
use crate::batch::KeyRef;
use crate::batch::{shuffle, Batch, Combiner, Data, Key, Partitioned};
use crate::dstream::DStream;

impl<T: Data> DStream<T> {
    /// Spark's `combineByKey` fed straight from this stream's elements:
    /// `each(element, combiner)` adds what the element contributes to its
    /// input partition's map-side [`Combiner`] (with
    /// [`Combiner::insert`] or [`Combiner::insert_ref`], each taking that
    /// key's `create` and `merge_value`), and `merge_combiners` merges the
    /// combiners of different input partitions. A narrow chain in front of
    /// a by-key reduction thus runs in the same per-partition loop as its
    /// map-side combine; `stream!` compiles such chains to this.
    ///
    /// ```
    /// use streaming_testkit::run_operation;
    /// let out = run_operation(
    ///     vec![vec!["a b".to_string(), "b".to_string()]],
    ///     |lines| {
    ///         lines.combine_into_by_key(
    ///             |line: String, out| {
    ///                 for w in line.split(' ') {
    ///                     out.insert_ref(w, 1u64, |v| v, |a, v| a + v);
    ///                 }
    ///             },
    ///             |a, b| a + b,
    ///         )
    ///     },
    ///     1,
    /// );
    /// let mut counts = out[0].clone();
    /// counts.sort();
    /// assert_eq!(counts, vec![("a".to_string(), 1), ("b".to_string(), 2)]);
    /// ```
    pub fn combine_into_by_key<K: Key, C: Data>(
        &self,
        each: impl Fn(T, &mut Combiner<K, C>) + Send + Sync + 'static,
        merge_combiners: impl Fn(C, C) -> C + Send + Sync + 'static,
    ) -> DStream<(K, C)> {
        self.batch_op("combine_by_key", move |l, _, env| {
            Ok(shuffle::combine_each(
                &l,
                env.parallelism(),
                &each,
                &merge_combiners,
            ))
        })
    }

    /// [`combine_into_by_key`](Self::combine_into_by_key) given each element
    /// by reference, so keys may borrow from it ([`KeyRef`]) and become
    /// owned only when they first enter a partition's table: one allocation
    /// per distinct key and partition, not one per element.
    ///
    /// ```
    /// use streaming_testkit::run_operation;
    /// let out = run_operation(
    ///     vec![vec!["a b".to_string(), "b".to_string()]],
    ///     |lines| {
    ///         lines.combine_ref_into_by_key(
    ///             |line: &String, out| {
    ///                 for w in line.split(' ') {
    ///                     out.insert_ref(w, 1u64, |v| v, |a, v| a + v);
    ///                 }
    ///             },
    ///             |a, b| a + b,
    ///         )
    ///     },
    ///     1,
    /// );
    /// let mut counts: Vec<(String, u64)> = out[0].clone();
    /// counts.sort();
    /// assert_eq!(counts, vec![("a".to_string(), 1), ("b".to_string(), 2)]);
    /// ```
    pub fn combine_ref_into_by_key<K: Key, C: Data>(
        &self,
        each: impl Fn(&T, &mut Combiner<K, C>) + Send + Sync + 'static,
        merge_combiners: impl Fn(C, C) -> C + Send + Sync + 'static,
    ) -> DStream<(K, C)> {
        self.batch_op("combine_by_key", move |l, _, env| {
            Ok(shuffle::combine_each_ref(
                &l,
                env.parallelism(),
                &each,
                &merge_combiners,
            ))
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
}

impl<K: Key, V: Data> DStream<(K, V)> {
    /// Groups the values of each key, in the order they appear.
    pub fn group_by_key(&self) -> DStream<(K, Vec<V>)> {
        self.batch_op("group_by_key", |l, _, env| {
            Ok(shuffle::group_by_key(&l, env.parallelism()))
        })
    }

    /// Groups the values of each key into `n` partitions.
    pub fn group_by_key_with_partitions(&self, n: usize) -> DStream<(K, Vec<V>)> {
        self.batch_op("group_by_key", move |l, _, _| {
            Ok(shuffle::group_by_key(&l, n))
        })
    }

    /// Merges the values of each key with `f` (associative), combining on
    /// the map side, into the context's parallelism of partitions.
    pub fn reduce_by_key(&self, f: impl Fn(V, V) -> V + Send + Sync + 'static) -> DStream<(K, V)> {
        self.batch_op("reduce_by_key", move |l, _, env| {
            Ok(shuffle::combine_by_key(
                &l,
                env.parallelism(),
                |v| v,
                &f,
                &f,
            ))
        })
    }

    /// Merges the values of each key with `f` into `n` partitions.
    pub fn reduce_by_key_with_partitions(
        &self,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        n: usize,
    ) -> DStream<(K, V)> {
        self.batch_op("reduce_by_key", move |l, _, _| {
            Ok(shuffle::combine_by_key(&l, n, |v| v, &f, &f))
        })
    }

    /// Spark's `combineByKey`: `create` turns a key's first value into a
    /// combiner, `merge_value` adds a value to it, `merge_combiners` merges
    /// two combiners (from different partitions).
    pub fn combine_by_key<C: Data>(
        &self,
        create: impl Fn(V) -> C + Send + Sync + 'static,
        merge_value: impl Fn(C, V) -> C + Send + Sync + 'static,
        merge_combiners: impl Fn(C, C) -> C + Send + Sync + 'static,
    ) -> DStream<(K, C)> {
        self.batch_op("combine_by_key", move |l, _, env| {
            Ok(shuffle::combine_by_key(
                &l,
                env.parallelism(),
                &create,
                &merge_value,
                &merge_combiners,
            ))
        })
    }

    /// For each key, all values of this stream's and `other`'s batches.
    pub fn cogroup<W: Data>(&self, other: &DStream<(K, W)>) -> DStream<(K, (Vec<V>, Vec<W>))> {
        self.binary("cogroup", other, |l, r, _, env| {
            Ok(shuffle::cogroup(&l, &r, env.parallelism()))
        })
    }

    /// Inner join by key: every pair of values of keys on both sides.
    pub fn join<W: Data>(&self, other: &DStream<(K, W)>) -> DStream<(K, (V, W))> {
        self.binary("join", other, |l, r, _, env| {
            Ok(shuffle::join(&l, &r, env.parallelism()))
        })
    }

    /// Left outer join: every value of this stream, with each matching value
    /// of `other` or `None`.
    pub fn left_outer_join<W: Data>(
        &self,
        other: &DStream<(K, W)>,
    ) -> DStream<(K, (V, Option<W>))> {
        self.binary("left_outer_join", other, |l, r, _, env| {
            Ok(shuffle::flat_map_groups(
                shuffle::cogroup(&l, &r, env.parallelism()),
                |k, vs, ws| {
                    let mut out = Vec::new();
                    for v in vs {
                        if ws.is_empty() {
                            out.push((k.clone(), (v, None)));
                        } else {
                            out.extend(
                                ws.iter().map(|w| (k.clone(), (v.clone(), Some(w.clone())))),
                            );
                        }
                    }
                    out
                },
            ))
        })
    }

    /// Right outer join: every value of `other`, with each matching value of
    /// this stream or `None`.
    pub fn right_outer_join<W: Data>(
        &self,
        other: &DStream<(K, W)>,
    ) -> DStream<(K, (Option<V>, W))> {
        self.binary("right_outer_join", other, |l, r, _, env| {
            Ok(shuffle::flat_map_groups(
                shuffle::cogroup(&l, &r, env.parallelism()),
                |k, vs, ws| {
                    let mut out = Vec::new();
                    for w in ws {
                        if vs.is_empty() {
                            out.push((k.clone(), (None, w)));
                        } else {
                            out.extend(
                                vs.iter().map(|v| (k.clone(), (Some(v.clone()), w.clone()))),
                            );
                        }
                    }
                    out
                },
            ))
        })
    }

    /// Full outer join: every value of both sides, paired with each match
    /// or `None`.
    pub fn full_outer_join<W: Data>(
        &self,
        other: &DStream<(K, W)>,
    ) -> DStream<(K, (Option<V>, Option<W>))> {
        self.binary("full_outer_join", other, |l, r, _, env| {
            Ok(shuffle::flat_map_groups(
                shuffle::cogroup(&l, &r, env.parallelism()),
                |k, vs, ws| {
                    let mut out = Vec::new();
                    if vs.is_empty() {
                        out.extend(ws.into_iter().map(|w| (k.clone(), (None, Some(w)))));
                    } else if ws.is_empty() {
                        out.extend(vs.into_iter().map(|v| (k.clone(), (Some(v), None))));
                    } else {
                        for v in &vs {
                            out.extend(
                                ws.iter()
                                    .map(|w| (k.clone(), (Some(v.clone()), Some(w.clone())))),
                            );
                        }
                    }
                    out
                },
            ))
        })
    }
}
