//! Shuffle kernels: hash partitioning with map-side combining.
//!
//! Every kernel runs in two parallel phases. The map side walks each input
//! partition once and combines into one hash map per output partition; the
//! reduce side merges, for each output partition, the maps every input
//! partition produced for it. Hashing uses a fixed-seed hasher (FxHash) so that
//! partition assignment and output order are the same on every run.

use std::hash::{BuildHasher, Hash};

use hashbrown::{hash_table, HashTable};
use rayon::prelude::*;
use rustc_hash::FxBuildHasher;

use super::{Batch, Combiner, Data, Key, Lazy, Partitioned};

/// The output partition of `key` among `n`: the same choice every kernel
/// makes (see [`bucket_of`]).
#[inline]
pub(crate) fn partition_of<K: Hash + ?Sized>(key: &K, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    bucket_of(FxBuildHasher.hash_one(key), n)
}

/// Map side shared by every kernel: per input partition, one map per output
/// partition, filled by `insert`.
fn map_side<T, M, P, I>(src: &P, n: usize, insert: I) -> Vec<Vec<M>>
where
    T: Data,
    M: Default + Send,
    P: Partitioned<T> + ?Sized,
    I: Fn(&mut [M], T) + Send + Sync,
{
    map_side_with(src, n, M::default, insert)
}

/// [`map_side`] with the maps made by `make` (e.g. pre-sized).
fn map_side_with<T, M, P, I>(
    src: &P,
    n: usize,
    make: impl Fn() -> M + Send + Sync,
    insert: I,
) -> Vec<Vec<M>>
where
    T: Data,
    M: Send,
    P: Partitioned<T> + ?Sized,
    I: Fn(&mut [M], T) + Send + Sync,
{
    (0..src.num_partitions())
        .into_par_iter()
        .map(|i| {
            let mut buckets: Vec<M> = (0..n).map(|_| make()).collect();
            for x in src.partition_iter(i) {
                insert(&mut buckets, x);
            }
            buckets
        })
        .collect()
}

/// Regroups map-side output by output partition: `out[j]` holds, in input
/// partition order, what every input partition produced for `j`.
fn transpose<M>(map_out: Vec<Vec<M>>, n: usize) -> Vec<Vec<M>> {
    let mut cols: Vec<Vec<M>> = (0..n).map(|_| Vec::with_capacity(map_out.len())).collect();
    for row in map_out {
        for (j, m) in row.into_iter().enumerate() {
            cols[j].push(m);
        }
    }
    cols
}

/// One output partition's combiners on one side of a shuffle: a hash table
/// of `(hash, key, combiner)`, so each key is hashed once for both its
/// partition and its slot, and the reduce side reuses the stored hash.
pub(super) type Table<K, C> = HashTable<(u64, K, Option<C>)>;

/// The hash bits that choose a partition: bits 25..57, which neither the
/// table's slot index (low bits) nor its control tag (top 7 bits) use.
#[inline]
pub(super) fn bucket_of(hash: u64, n: usize) -> usize {
    ((((hash >> 25) & 0xFFFF_FFFF) * n as u64) >> 32) as usize
}

/// Merges into a combiner slot by value. Slots are `Option`s so that a panic
/// in a user function leaves an empty slot behind (the table is then
/// discarded as the panic propagates) instead of a moved-from value.
#[inline]
pub(super) fn merge_into<C>(slot: &mut Option<C>, f: impl FnOnce(C) -> C) {
    if let Some(c) = slot.take() {
        *slot = Some(f(c));
    }
}

/// Inserts `(k, v)` with hash `h` into `table`, creating or merging.
#[inline]
fn upsert<K: Eq, V, C>(
    table: &mut Table<K, C>,
    h: u64,
    k: K,
    v: V,
    create: impl FnOnce(V) -> C,
    merge: impl FnOnce(C, V) -> C,
) {
    match table.entry(h, |e| e.1 == k, |e| e.0) {
        hash_table::Entry::Occupied(mut e) => merge_into(&mut e.get_mut().2, |c| merge(c, v)),
        hash_table::Entry::Vacant(e) => {
            e.insert((h, k, Some(create(v))));
        }
    }
}

/// Spark's `combineByKey` over any element type: `split` turns an element
/// into a key and a value, `create` makes a combiner from a key's first
/// value in a partition, `merge_value` adds further values, `merge_combiners`
/// merges combiners of different input partitions.
pub(crate) fn combine_kernel<T, K, V, C, P>(
    src: &P,
    n: usize,
    capacity: usize,
    split: impl Fn(T) -> (K, V) + Send + Sync,
    create: impl Fn(V) -> C + Send + Sync,
    merge_value: impl Fn(C, V) -> C + Send + Sync,
    merge_combiners: impl Fn(C, C) -> C + Send + Sync,
) -> Batch<(K, C)>
where
    T: Data,
    K: Key,
    V: Data,
    C: Data,
    P: Partitioned<T> + ?Sized,
{
    let n = n.max(1);
    let make = || Table::with_capacity(capacity);
    let map_out = map_side_with(src, n, make, |tables: &mut [Table<K, C>], x| {
        let (k, v) = split(x);
        let h = FxBuildHasher.hash_one(&k);
        upsert(&mut tables[bucket_of(h, n)], h, k, v, &create, &merge_value);
    });
    Batch::from_partitions(reduce_side(map_out, n, merge_combiners, |c| c))
}

/// The map side of a combine written by the caller: `each` folds every
/// element of input partition `i` (by value) into that partition's
/// [`Combiner`].
pub(crate) fn combine_each<T, K, C>(
    src: &Lazy<T>,
    n: usize,
    each: impl Fn(T, &mut Combiner<K, C>) + Send + Sync,
    merge_combiners: impl Fn(C, C) -> C + Send + Sync,
) -> Batch<(K, C)>
where
    T: Data,
    K: Key,
    C: Data,
{
    let parts = combine_partitions(
        src,
        n,
        0,
        merge_combiners,
        |c| c,
        |i, combiner| {
            for x in src.partition_iter(i) {
                each(x, combiner);
            }
        },
    );
    Batch::from_partitions(parts)
}

/// [`combine_each`] given each element by reference: a batch's shared
/// elements are read in place, a lazy chain's a chunk at a time.
pub(crate) fn combine_each_ref<T, K, C>(
    src: &Lazy<T>,
    n: usize,
    each: impl Fn(&T, &mut Combiner<K, C>) + Send + Sync,
    merge_combiners: impl Fn(C, C) -> C + Send + Sync,
) -> Batch<(K, C)>
where
    T: Data,
    K: Key,
    C: Data,
{
    Batch::from_partitions(combine_each_ref_into(
        src,
        n,
        0,
        each,
        merge_combiners,
        |c| c,
    ))
}

/// [`combine_each_ref`] into the partitions of
/// [`partition_of`] as vectors, each map-side table sized for `capacity`
/// keys (0: grown as needed) and each combiner finished by `lift`: a pane
/// of a window fed by a combine written by the caller.
pub(crate) fn combine_each_ref_into<T, K, C, W>(
    src: &Lazy<T>,
    n: usize,
    capacity: usize,
    each: impl Fn(&T, &mut Combiner<K, C>) + Send + Sync,
    merge_combiners: impl Fn(C, C) -> C + Send + Sync,
    lift: impl Fn(C) -> W + Send + Sync,
) -> Vec<Vec<(K, W)>>
where
    T: Data,
    K: Key,
    C: Data,
    W: Data,
{
    combine_partitions(src, n, capacity, merge_combiners, lift, |i, combiner| {
        src.for_each_ref(i, |x| each(x, combiner));
    })
}

/// Runs `fill(i, combiner)` for every input partition `i` of `src` in
/// parallel (each combiner's tables sized for `capacity` keys), then the
/// reduce side.
fn combine_partitions<T, K, C, W>(
    src: &Lazy<T>,
    n: usize,
    capacity: usize,
    merge_combiners: impl Fn(C, C) -> C + Send + Sync,
    lift: impl Fn(C) -> W + Send + Sync,
    fill: impl Fn(usize, &mut Combiner<K, C>) + Send + Sync,
) -> Vec<Vec<(K, W)>>
where
    T: Data,
    K: Key,
    C: Data,
    W: Data,
{
    let n = n.max(1);
    let map_out = (0..src.num_partitions())
        .into_par_iter()
        .map(|i| {
            let mut combiner = Combiner::with_capacity(n, capacity);
            fill(i, &mut combiner);
            combiner.into_tables()
        })
        .collect();
    reduce_side(map_out, n, merge_combiners, lift)
}

/// The reduce side shared by the combines: for each output partition, in
/// parallel, the tables every input partition made for it merged in input
/// partition order with `merge_combiners`, each combiner then finished by
/// `lift`.
fn reduce_side<K, C, W>(
    map_out: Vec<Vec<Table<K, C>>>,
    n: usize,
    merge_combiners: impl Fn(C, C) -> C + Send + Sync,
    lift: impl Fn(C) -> W + Send + Sync,
) -> Vec<Vec<(K, W)>>
where
    K: Key,
    C: Data,
    W: Data,
{
    transpose(map_out, n)
        .into_par_iter()
        .map(|tables| {
            let mut tables = tables.into_iter();
            let mut acc = tables.next().unwrap_or_default();
            for t in tables {
                for (h, k, c) in t {
                    let c = c.expect("combiner slot filled");
                    upsert(&mut acc, h, k, c, |c| c, &merge_combiners);
                }
            }
            acc.into_iter()
                .map(|(_, k, c)| (k, lift(c.expect("combiner slot filled"))))
                .collect::<Vec<(K, W)>>()
        })
        .collect()
}

/// [`combine_by_key`] with each map-side table (one per input and output
/// partition) sized for `capacity` keys up front, so that a caller that
/// knows about how many keys to expect (a stream's previous batch) saves
/// the tables' growth.
pub(crate) fn combine_by_key_sized<K, V, C, P>(
    src: &P,
    n: usize,
    capacity: usize,
    create: impl Fn(V) -> C + Send + Sync,
    merge_value: impl Fn(C, V) -> C + Send + Sync,
    merge_combiners: impl Fn(C, C) -> C + Send + Sync,
) -> Batch<(K, C)>
where
    K: Key,
    V: Data,
    C: Data,
    P: Partitioned<(K, V)> + ?Sized,
{
    combine_kernel(
        src,
        n,
        capacity,
        |kv| kv,
        create,
        merge_value,
        merge_combiners,
    )
}

/// Spark's `combineByKey` on key-value elements.
pub(crate) fn combine_by_key<K, V, C, P>(
    src: &P,
    n: usize,
    create: impl Fn(V) -> C + Send + Sync,
    merge_value: impl Fn(C, V) -> C + Send + Sync,
    merge_combiners: impl Fn(C, C) -> C + Send + Sync,
) -> Batch<(K, C)>
where
    K: Key,
    V: Data,
    C: Data,
    P: Partitioned<(K, V)> + ?Sized,
{
    combine_by_key_sized(src, n, 0, create, merge_value, merge_combiners)
}

/// Spark's `countByValue`.
pub(crate) fn count_by_value<T, P>(src: &P, n: usize) -> Batch<(T, u64)>
where
    T: Key,
    P: Partitioned<T> + ?Sized,
{
    combine_kernel(
        src,
        n,
        0,
        |x| (x, ()),
        |()| 1u64,
        |c, ()| c + 1,
        |a, b| a + b,
    )
}

/// Spark's `groupByKey`: values of each key in input order.
pub(crate) fn group_by_key<K, V, P>(src: &P, n: usize) -> Batch<(K, Vec<V>)>
where
    K: Key,
    V: Data,
    P: Partitioned<(K, V)> + ?Sized,
{
    combine_by_key(
        src,
        n,
        |v| vec![v],
        |mut c, v| {
            c.push(v);
            c
        },
        |mut a, b| {
            a.extend(b);
            a
        },
    )
}

/// The values of one key on each side of a `cogroup`.
type CoGroups<V, W> = (Vec<V>, Vec<W>);

/// The groups of `k` (hash `h`) in `acc`, inserted empty if missing.
fn groups_of<K: Eq, V, W>(
    acc: &mut HashTable<(u64, K, CoGroups<V, W>)>,
    h: u64,
    k: K,
) -> &mut CoGroups<V, W> {
    let entry = acc
        .entry(h, |e| e.1 == k, |e| e.0)
        .or_insert_with(|| (h, k, (Vec::new(), Vec::new())));
    &mut entry.into_mut().2
}

/// For each key, the values of both sides; keys in a deterministic order.
pub(crate) fn cogroup<K, V, W, P1, P2>(a: &P1, b: &P2, n: usize) -> Batch<(K, (Vec<V>, Vec<W>))>
where
    K: Key,
    V: Data,
    W: Data,
    P1: Partitioned<(K, V)> + ?Sized,
    P2: Partitioned<(K, W)> + ?Sized,
{
    let n = n.max(1);
    fn push<K: Key, X>(tables: &mut [Table<K, Vec<X>>], n: usize, (k, x): (K, X)) {
        let h = FxBuildHasher.hash_one(&k);
        upsert(
            &mut tables[bucket_of(h, n)],
            h,
            k,
            x,
            |x| vec![x],
            |mut xs, x| {
                xs.push(x);
                xs
            },
        );
    }
    let (left, right) = rayon::join(
        || map_side(a, n, |t: &mut [Table<K, Vec<V>>], kv| push(t, n, kv)),
        || map_side(b, n, |t: &mut [Table<K, Vec<W>>], kw| push(t, n, kw)),
    );
    let left = transpose(left, n);
    let right = transpose(right, n);
    let parts = left
        .into_par_iter()
        .zip(right.into_par_iter())
        .map(|(ls, rs)| {
            // Both sides' groups of a key, merged with the hash stored on
            // the map side.
            let mut acc: HashTable<(u64, K, CoGroups<V, W>)> = HashTable::new();
            for t in ls {
                for (h, k, vs) in t {
                    let mut vs = vs.expect("combiner slot filled");
                    groups_of(&mut acc, h, k).0.append(&mut vs);
                }
            }
            for t in rs {
                for (h, k, ws) in t {
                    let mut ws = ws.expect("combiner slot filled");
                    groups_of(&mut acc, h, k).1.append(&mut ws);
                }
            }
            acc.into_iter()
                .map(|(_, k, groups)| (k, groups))
                .collect::<Vec<_>>()
        })
        .collect();
    Batch::from_partitions(parts)
}

/// Inner join: every pair of values of a key present on both sides.
pub(crate) fn join<K, V, W, P1, P2>(a: &P1, b: &P2, n: usize) -> Batch<(K, (V, W))>
where
    K: Key,
    V: Data,
    W: Data,
    P1: Partitioned<(K, V)> + ?Sized,
    P2: Partitioned<(K, W)> + ?Sized,
{
    flat_map_groups(cogroup(a, b, n), |k, vs, ws| {
        let mut out = Vec::with_capacity(vs.len() * ws.len());
        for v in &vs {
            for w in &ws {
                out.push((k.clone(), (v.clone(), w.clone())));
            }
        }
        out
    })
}

/// Turns each co-grouped key into output elements, in parallel.
pub(crate) fn flat_map_groups<K, V, W, U, F>(groups: Batch<(K, (Vec<V>, Vec<W>))>, f: F) -> Batch<U>
where
    K: Key,
    V: Data,
    W: Data,
    U: Data,
    F: Fn(&K, Vec<V>, Vec<W>) -> Vec<U> + Send + Sync,
{
    let parts = groups
        .into_partitions()
        .into_par_iter()
        .map(|p| {
            let mut out = Vec::new();
            for (k, (vs, ws)) in p {
                out.extend(f(&k, vs, ws));
            }
            out
        })
        .collect();
    Batch::from_partitions(parts)
}

/// Round-robin redistribution into `n` partitions: element `k` of input
/// partition `p` goes to partition `(p + k) % n`.
pub(crate) fn repartition<T, P>(src: &P, n: usize) -> Batch<T>
where
    T: Data,
    P: Partitioned<T> + ?Sized,
{
    let n = n.max(1);
    let map_out: Vec<Vec<Vec<T>>> = (0..src.num_partitions())
        .into_par_iter()
        .map(|p| {
            let mut buckets: Vec<Vec<T>> = (0..n).map(|_| Vec::new()).collect();
            for (k, x) in src.partition_iter(p).enumerate() {
                buckets[(p + k) % n].push(x);
            }
            buckets
        })
        .collect();
    let parts = transpose(map_out, n)
        .into_par_iter()
        .map(|cols| cols.into_iter().flatten().collect())
        .collect();
    Batch::from_partitions(parts)
}
