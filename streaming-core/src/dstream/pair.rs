//! Operations on key-value streams (Spark's `PairDStreamFunctions`).

use std::sync::Arc;

use super::multi::binary;
use super::DStream;
use crate::batch::chunks::{FlatMapChunks, MapChunks, CHUNK};
use crate::batch::{shuffle, Data, Key};

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
            Box::new(FlatMapChunks {
                src,
                buf: Vec::with_capacity(CHUNK),
                f: move |(k, v): (K, V)| f(v).into_iter().map(move |u| (k.clone(), u)),
            })
        })
    }

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
        binary("cogroup", self, other, |l, r, _, env| {
            Ok(shuffle::cogroup(&l, &r, env.parallelism()))
        })
    }

    /// Inner join by key: every pair of values of keys on both sides.
    pub fn join<W: Data>(&self, other: &DStream<(K, W)>) -> DStream<(K, (V, W))> {
        binary("join", self, other, |l, r, _, env| {
            Ok(shuffle::join(&l, &r, env.parallelism()))
        })
    }

    /// Left outer join: every value of this stream, with each matching value
    /// of `other` or `None`.
    pub fn left_outer_join<W: Data>(
        &self,
        other: &DStream<(K, W)>,
    ) -> DStream<(K, (V, Option<W>))> {
        binary("left_outer_join", self, other, |l, r, _, env| {
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
        binary("right_outer_join", self, other, |l, r, _, env| {
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
        binary("full_outer_join", self, other, |l, r, _, env| {
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
