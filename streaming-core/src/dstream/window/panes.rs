//! Window geometry and panes: the pre-aggregated slices of a parent stream
//! that the incremental and pane-based windowed reductions are built from.
//!
//! A pane covers `gcd(window, slide)` of the parent's batches. Every window
//! boundary falls on a pane boundary, so a window is always a whole number of
//! panes, and each slide adds and drops whole panes.

use std::time::Duration;

#[cfg(test)]
use hashbrown::hash_map::Entry;
#[cfg(test)]
use rustc_hash::FxBuildHasher;
use serde::{Deserialize, Serialize};

use crate::batch::{shuffle, Combiner, Data, Key, Lazy, Partitioned};
use crate::error::Result;
use crate::graph::env::Env;
use crate::graph::node::Node;
use crate::time::{duration_ms, Time};

/// A per-key map the tests compute expected panes with.
#[cfg(test)]
pub(crate) type PaneMap<K, V> = hashbrown::HashMap<K, V, FxBuildHasher>;

/// A reduce function of the window operators: any `Fn(V, V) -> V`, taken
/// as a type parameter so every call is monomorphized (no dynamic
/// dispatch in a window's inner loops).
pub(crate) trait ReduceFn<V>: Fn(V, V) -> V + Send + Sync + 'static {}
impl<V, F: Fn(V, V) -> V + Send + Sync + 'static> ReduceFn<V> for F {}

/// The durations of a windowed operation, all in whole milliseconds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    pub(crate) window: Duration,
    pub(crate) slide: Duration,
    pub(crate) pane: Duration,
    pub(crate) parent_slide: Duration,
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl Geometry {
    /// The geometry of a window over a parent sliding by `parent_slide`
    /// (window and slide already checked to be multiples of it).
    pub(crate) fn new(window: Duration, slide: Duration, parent_slide: Duration) -> Self {
        let pane = Duration::from_millis(gcd(duration_ms(window), duration_ms(slide)));
        Geometry {
            window,
            slide,
            pane,
            parent_slide,
        }
    }

    /// The exclusive start of the window ending at `t`: it covers the
    /// parent's batches in `(t - window, t]`.
    pub(crate) fn window_start(&self, t: Time) -> Time {
        t.saturating_sub(self.window)
    }

    /// End times of the panes an operator that has consumed the parent up
    /// to `covered` must add to reach the window ending at `t`: those after
    /// `covered`, up to `t`, that lie inside that window. `covered` and `t`
    /// are pane-aligned (both are zero time plus whole slides).
    pub(crate) fn entering(&self, covered: Time, t: Time) -> Vec<Time> {
        let mut end = self.window_start(t).max(covered) + self.pane;
        let mut ends = Vec::new();
        while end <= t {
            ends.push(end);
            end = end + self.pane;
        }
        ends
    }

    /// The parent's batch times inside the pane ending at `end`, oldest first.
    pub(crate) fn pane_times(&self, end: Time) -> impl Iterator<Item = Time> {
        let step = self.parent_slide;
        let first = end.saturating_sub(self.pane) + step;
        std::iter::successors(Some(first), move |&t| Some(t + step)).take_while(move |&t| t <= end)
    }
}

/// How long a window operator's parent must remember its batches: `need`,
/// or the operator's own remember duration when something downstream keeps
/// the window's output longer than one slide.
pub(crate) fn parent_remember(own: Duration, slide: Duration, need: Duration) -> Duration {
    if own > slide {
        own.max(need)
    } else {
        need
    }
}

/// Several lazy batches viewed as one, their partitions side by side in
/// order (a union without copying).
pub(crate) fn concat<T: Data>(parts: Vec<Lazy<T>>) -> Lazy<T> {
    if parts.len() == 1 {
        return parts.into_iter().next().expect("one part");
    }
    let mut starts = Vec::with_capacity(parts.len());
    let mut total = 0;
    for p in &parts {
        starts.push(total);
        total += p.num_partitions();
    }
    Lazy::from_chunks(total, move |i| {
        let j = starts.partition_point(|&s| s <= i) - 1;
        parts[j].chunks(i - starts[j])
    })
}

/// The parent's batches at `times` that exist, concatenated.
pub(crate) fn gather<T: Data>(
    parent: &Node<T>,
    times: impl Iterator<Item = Time>,
    env: &Env,
) -> Result<Option<Lazy<T>>> {
    let mut parts = Vec::new();
    for t in times {
        if let Some(l) = parent.get_lazy(t, env)? {
            parts.push(l);
        }
    }
    Ok(if parts.is_empty() {
        None
    } else {
        Some(concat(parts))
    })
}

/// One pane: the parent's batches of one pane reduced by key, hash
/// partitioned (partition `j` holds the keys `partition_of(k, n) == j`,
/// each once).
#[derive(Serialize, Deserialize)]
pub(crate) struct Pane<K, V> {
    pub(crate) end: Time,
    pub(crate) parts: Vec<Vec<(K, V)>>,
}

impl<K: Key, V: Data> Pane<K, V> {
    /// Reads and reduces the parent's batches of the pane ending at `end`
    /// into `n` partitions (in parallel, combining on the map side), the
    /// map side's tables sized for `capacity` keys each (0: grown as
    /// needed).
    pub(crate) fn build(
        parent: &Node<(K, V)>,
        geo: &Geometry,
        end: Time,
        n: usize,
        capacity: usize,
        f: &impl ReduceFn<V>,
        env: &Env,
    ) -> Result<Self> {
        let parts = match gather(parent, geo.pane_times(end), env)? {
            Some(src) => reduce_by_key_partitioned(&src, n, capacity, f),
            None => (0..n).map(|_| Vec::new()).collect(),
        };
        Ok(Pane { end, parts })
    }

    /// Number of keys held, over all partitions.
    pub(crate) fn len(&self) -> usize {
        self.parts.iter().map(Vec::len).sum()
    }
}

/// Where a window's panes come from: a stream of pairs (each pane the
/// parent's batches in it reduced by key), or a stream whose pairs a
/// combine written by the caller makes ([`CombinedSource`]).
pub(crate) trait PaneSource<K, V>: Send + Sync + 'static {
    /// The pane ending at `end`, reduced by key with `f` into `n`
    /// partitions (see [`Pane::build`]).
    #[allow(clippy::too_many_arguments)]
    fn pane(
        &self,
        geo: &Geometry,
        end: Time,
        n: usize,
        capacity: usize,
        f: &impl ReduceFn<V>,
        env: &Env,
    ) -> Result<Pane<K, V>>;
}

impl<K: Key, V: Data> PaneSource<K, V> for std::sync::Arc<Node<(K, V)>> {
    fn pane(
        &self,
        geo: &Geometry,
        end: Time,
        n: usize,
        capacity: usize,
        f: &impl ReduceFn<V>,
        env: &Env,
    ) -> Result<Pane<K, V>> {
        Pane::build(self, geo, end, n, capacity, f, env)
    }
}

/// Panes made straight from a stream of any element type by a combine the
/// caller wrote: `each` puts each element's pairs into a [`Combiner`]
/// (keys possibly borrowed from the element), `merge` merges combiners of
/// different input partitions and `lift` turns each key's combiner into
/// the window's value. A pane is then one combine over its batches, with
/// no batch of pairs in between; `lift(merge(a, b))` must equal
/// `f(lift(a), lift(b))` for the window's `f`, so the pane is the one the
/// stream of pairs would give.
pub(crate) struct CombinedSource<T, C, E, M, L> {
    pub(crate) parent: std::sync::Arc<Node<T>>,
    pub(crate) each: E,
    pub(crate) merge: M,
    pub(crate) lift: L,
    pub(crate) combiner: std::marker::PhantomData<fn() -> C>,
}

impl<T, K, C, V, E, M, L> PaneSource<K, V> for CombinedSource<T, C, E, M, L>
where
    T: Data,
    K: Key,
    C: Data,
    V: Data,
    E: Fn(&T, &mut Combiner<K, C>) + Send + Sync + 'static,
    M: Fn(C, C) -> C + Send + Sync + 'static,
    L: Fn(C) -> V + Send + Sync + 'static,
{
    fn pane(
        &self,
        geo: &Geometry,
        end: Time,
        n: usize,
        capacity: usize,
        _f: &impl ReduceFn<V>,
        env: &Env,
    ) -> Result<Pane<K, V>> {
        let parts = match gather(&self.parent, geo.pane_times(end), env)? {
            Some(src) => shuffle::combine_each_ref_into(
                &src,
                n,
                capacity,
                &self.each,
                &self.merge,
                &self.lift,
            ),
            None => (0..n).map(|_| Vec::new()).collect(),
        };
        Ok(Pane { end, parts })
    }
}

/// Reduces `src` by key with `f` into `n` partitions laid out by the state
/// partitioning ([`partition_of`](shuffle::partition_of)): in parallel, combining within each
/// input partition first, then merging, per output partition, what every
/// input partition produced for it (in input order). This is the shuffle's
/// combine ([`shuffle::combine_by_key`]), which hashes each element once
/// (for both its partition and its slot) and reuses the hash when merging;
/// its partitions are `partition_of`'s.
///
/// `capacity` sizes each map-side table up front (0: grow as needed).
pub(crate) fn reduce_by_key_partitioned<K: Key, V: Data, P: Partitioned<(K, V)> + ?Sized>(
    src: &P,
    n: usize,
    capacity: usize,
    f: &impl ReduceFn<V>,
) -> Vec<Vec<(K, V)>> {
    shuffle::combine_by_key_sized(src, n.max(1), capacity, |v| v, f, f).into_partitions()
}

/// Merges `v` into the value of `k` with `f(current, v)`, or inserts it.
#[cfg(test)]
pub(crate) fn merge_newer<K: Key, V>(map: &mut PaneMap<K, V>, k: K, v: V, f: &impl ReduceFn<V>) {
    match map.entry(k) {
        Entry::Vacant(e) => {
            e.insert(v);
        }
        Entry::Occupied(e) => {
            e.replace_entry_with(|_, cur| Some(f(cur, v)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn pane_is_the_gcd_of_window_and_slide() {
        let g = Geometry::new(ms(6000), ms(4000), ms(1000));
        assert_eq!(g.pane, ms(2000));
        let times: Vec<u64> = g
            .pane_times(Time::from_millis(6000))
            .map(Time::as_millis)
            .collect();
        assert_eq!(times, vec![5000, 6000]);
    }

    #[test]
    fn entering_panes_skip_what_is_outside_the_window() {
        // window 2 s, slide 5 s: of the panes since 0, only those ending in
        // (3 s, 5 s] matter at 5 s.
        let g = Geometry::new(ms(2000), ms(5000), ms(1000));
        let ends: Vec<u64> = g
            .entering(Time::ZERO, Time::from_millis(5000))
            .into_iter()
            .map(Time::as_millis)
            .collect();
        assert_eq!(ends, vec![4000, 5000]);
        // Sliding by one pane adds exactly one.
        let g = Geometry::new(ms(3000), ms(1000), ms(1000));
        let ends: Vec<u64> = g
            .entering(Time::from_millis(4000), Time::from_millis(5000))
            .into_iter()
            .map(Time::as_millis)
            .collect();
        assert_eq!(ends, vec![5000]);
    }

    #[test]
    fn parent_remember_is_exact_unless_downstream_keeps_more() {
        assert_eq!(parent_remember(ms(1000), ms(1000), ms(0)), ms(0));
        assert_eq!(parent_remember(ms(1000), ms(1000), ms(4000)), ms(4000));
        assert_eq!(parent_remember(ms(9000), ms(1000), ms(4000)), ms(9000));
    }
}
