//! Pane-based windowed reduction for functions without an inverse, with a
//! per-slide cost bounded by a constant number of pane merges.
//!
//! Each slide pre-aggregates the parent's new batches into panes (one
//! partial aggregate per key and pane). The panes of the window are then
//! combined by [`SlidingPanes`], a de-amortised two-stacks aggregation.
//!
//! The classic two-stacks algorithm keeps a *back* stack of new panes with a
//! running aggregate, and flips it onto a *front* stack of suffix
//! aggregates when the oldest pane must leave and the front is empty. The
//! flip builds one suffix aggregate per pane at once: at the first slide
//! after the window fills, a 30-pane window builds 30 window-sized maps in
//! one batch (a 5x processing-time spike in the word-count job of #17).
//!
//! Here the panes are cut into segments of `ceil(window / 2)` panes (in
//! pane units), and the window spans at most three of them:
//! - `old`: the oldest, in suffix form (each entry aggregates its pane and
//!   every newer pane of its segment), draining as panes leave;
//! - `mid`: the previous complete segment, converted to suffix form *one
//!   pane per pushed pane*, newest first;
//! - `new`: the segment being filled, with a running aggregate.
//!
//! The window's value is `old`'s top combined with `back`, the aggregate
//! of `mid` and `new`, oldest first (so non-commutative reducers keep their
//! order). Each pushed pane is merged into `back` and into `new`'s own
//! aggregate, which becomes `back` when `mid` moves to `old` (moved, as
//! `new` closes at the same time in a steady window; copied once per
//! segment otherwise). A segment of `L` panes closes while the previous
//! one still holds about `window - L` panes: by the time `old` has drained
//! and `mid` must take its place, the conversion has had as many pushed
//! panes as it has panes. A slide therefore costs its own panes (merged
//! twice), one conversion step per pushed pane (at most two when a window
//! of a few slides drains its oldest segment early) and the output,
//! whatever the window length.
//! [`SlidingPanes::take_steps`] counts the steps for the tests that check
//! the bound.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rayon::prelude::*;

use hashbrown::hash_table::{Entry, HashTable};

use super::panes::{parent_remember, Geometry, Pane, ReduceFn};
use crate::batch::{Batch, Data, Key, Lazy};
use crate::dstream::state::cow::hash_key;
use crate::dstream::state::{check_order, lock_intact, zero_time};
use crate::error::Result;
use crate::graph::env::Env;
use crate::graph::node::{Node, Operator};
use crate::time::{duration_ms, Time};

/// Conversion steps of the `mid` segment done per pushed pane.
const STEPS_PER_PUSH: usize = 1;

/// A per-key aggregate of panes, each entry with its key's hash: a key is
/// hashed once per pane entry merged, looked up in another aggregate by its
/// stored hash, never rehashed when the table grows, and cloned only when
/// it is new to the aggregate.
struct AggMap<K, V> {
    table: HashTable<(u64, K, V)>,
}

impl<K, V> Default for AggMap<K, V> {
    fn default() -> Self {
        AggMap {
            table: HashTable::new(),
        }
    }
}

impl<K: Clone, V: Clone> Clone for AggMap<K, V> {
    fn clone(&self) -> Self {
        AggMap {
            table: self.table.clone(),
        }
    }
}

impl<K: Key, V: Data> AggMap<K, V> {
    fn len(&self) -> usize {
        self.table.len()
    }

    fn clear(&mut self) {
        self.table.clear();
    }

    fn iter(&self) -> impl Iterator<Item = &(u64, K, V)> + '_ {
        self.table.iter()
    }

    fn get(&self, h: u64, k: &K) -> Option<&V> {
        self.table.find(h, |e| e.1 == *k).map(|e| &e.2)
    }

    /// Merges `v`, newer (`newer`) or older than what the map holds for
    /// `k`, with `f`; the key is cloned only when absent.
    #[inline]
    fn merge_ref(&mut self, h: u64, k: &K, v: &V, newer: bool, f: &impl ReduceFn<V>) {
        match self.table.find_entry(h, |e| e.1 == *k) {
            Ok(occupied) => {
                let ((h, key, cur), vacant) = occupied.remove();
                let merged = if newer {
                    f(cur, v.clone())
                } else {
                    f(v.clone(), cur)
                };
                vacant.insert((h, key, merged));
            }
            Err(absent) => {
                absent
                    .into_table()
                    .insert_unique(h, (h, k.clone(), v.clone()), |e| e.0);
            }
        }
    }

    /// [`merge_ref`](Self::merge_ref) of an owned entry.
    #[inline]
    fn merge_owned(&mut self, h: u64, k: K, v: V, newer: bool, f: &impl ReduceFn<V>) {
        match self.table.entry(h, |e| e.1 == k, |e| e.0) {
            Entry::Occupied(occupied) => {
                let ((h, key, cur), vacant) = occupied.remove();
                let merged = if newer { f(cur, v) } else { f(v, cur) };
                vacant.insert((h, key, merged));
            }
            Entry::Vacant(vacant) => {
                vacant.insert((h, k, v));
            }
        }
    }
}

/// A complete segment being converted to suffix form, newest pane first.
struct Mid<K, V> {
    /// Panes not converted yet, oldest first.
    pending: Vec<(Time, Vec<(K, V)>)>,
    /// Suffix aggregates converted so far; the last is the oldest.
    done: Vec<(Time, AggMap<K, V>)>,
    /// The aggregate of the converted panes (the suffix being extended).
    running: AggMap<K, V>,
}

impl<K: Key, V: Data> Mid<K, V> {
    fn empty() -> Self {
        Mid {
            pending: Vec::new(),
            done: Vec::new(),
            running: AggMap::default(),
        }
    }

    fn is_empty(&self) -> bool {
        self.pending.is_empty() && self.done.is_empty()
    }

    fn oldest(&self) -> Option<Time> {
        let pending = self.pending.first().map(|(end, _)| *end);
        pending.or(self.done.last().map(|(end, _)| *end))
    }

    fn newest(&self) -> Option<Time> {
        let pending = self.pending.last().map(|(end, _)| *end);
        pending.or(self.done.first().map(|(end, _)| *end))
    }

    /// Converts the newest pending pane; `false` when none is left.
    fn step(&mut self, f: &impl ReduceFn<V>) -> bool {
        let Some((end, pane)) = self.pending.pop() else {
            return false;
        };
        for (k, v) in pane {
            self.running.merge_owned(hash_key(&k), k, v, false, f);
        }
        if self.pending.is_empty() {
            self.done.push((end, std::mem::take(&mut self.running)));
        } else {
            self.done.push((end, self.running.clone()));
        }
        true
    }
}

/// The panes of one partition's window: see the module documentation.
pub(crate) struct SlidingPanes<K, V> {
    /// Panes per segment (at least 1).
    seg_len: usize,
    /// The oldest segment in suffix form; the last entry is the oldest pane.
    old: Vec<(Time, AggMap<K, V>)>,
    mid: Mid<K, V>,
    /// The segment being filled, oldest first, as reduced.
    new: Vec<(Time, Vec<(K, V)>)>,
    /// The aggregate of `new`.
    new_agg: AggMap<K, V>,
    /// The aggregate of `mid` and `new`: what follows `old`'s top.
    back: AggMap<K, V>,
    /// Conversion steps since the last [`take_steps`](Self::take_steps).
    steps: usize,
}

impl<K: Key, V: Data> SlidingPanes<K, V> {
    /// An empty window whose segments hold `seg_len` panes.
    pub(crate) fn new(seg_len: usize) -> Self {
        SlidingPanes {
            seg_len: seg_len.max(1),
            old: Vec::new(),
            mid: Mid::empty(),
            new: Vec::new(),
            new_agg: AggMap::default(),
            back: AggMap::default(),
            steps: 0,
        }
    }

    /// The segment length for a window of `window_panes` panes: half the
    /// window, rounded up.
    pub(crate) fn segment_for(window_panes: usize) -> usize {
        window_panes.div_ceil(2).max(1)
    }

    /// Adds the newest pane.
    pub(crate) fn push(&mut self, end: Time, pane: Vec<(K, V)>, f: &impl ReduceFn<V>) {
        if self.new.len() >= self.seg_len {
            if self.mid.is_empty() {
                self.freeze();
            } else if self.old.is_empty() {
                self.promote(f);
            }
        }
        for (k, v) in &pane {
            let h = hash_key(k);
            self.new_agg.merge_ref(h, k, v, true, f);
            self.back.merge_ref(h, k, v, true, f);
        }
        self.new.push((end, pane));
        for _ in 0..STEPS_PER_PUSH {
            if !self.mid.step(f) {
                break;
            }
            self.steps += 1;
        }
    }

    /// Closes the `new` segment: it becomes `mid` (which must be empty);
    /// `back` stays the aggregate of both.
    fn freeze(&mut self) {
        debug_assert!(self.mid.is_empty());
        self.mid.pending = std::mem::take(&mut self.new);
        self.mid.done.reserve(self.mid.pending.len());
        self.new_agg.clear();
    }

    /// Moves `mid` to `old` (which must be empty), finishing its
    /// conversion first; `back` becomes `new`'s aggregate: moved when `new`
    /// is full and is frozen at once, copied otherwise (once per segment).
    fn promote(&mut self, f: &impl ReduceFn<V>) {
        debug_assert!(self.old.is_empty());
        while self.mid.step(f) {
            self.steps += 1;
        }
        self.old = std::mem::take(&mut self.mid.done);
        self.mid = Mid::empty();
        let replaced = if self.new.len() >= self.seg_len {
            self.mid.pending = std::mem::take(&mut self.new);
            std::mem::replace(&mut self.back, std::mem::take(&mut self.new_agg))
        } else {
            std::mem::replace(&mut self.back, self.new_agg.clone())
        };
        // The previous `back` holds about every key of the window: free it
        // on an idle pool thread rather than in this slide.
        if !replaced.table.is_empty() {
            rayon::spawn(move || drop(replaced));
        }
    }

    fn newest(&self) -> Option<Time> {
        self.new
            .last()
            .map(|(end, _)| *end)
            .or(self.mid.newest())
            .or(self.old.first().map(|(end, _)| *end))
    }

    /// Drops every pane ending at or before `limit`.
    pub(crate) fn evict_through(&mut self, limit: Time, f: &impl ReduceFn<V>) {
        if self.newest().is_some_and(|end| end <= limit) {
            // Everything leaves: nothing to rebuild.
            let seg_len = self.seg_len;
            let steps = self.steps;
            *self = SlidingPanes::new(seg_len);
            self.steps = steps;
            return;
        }
        loop {
            if let Some((end, _)) = self.old.last() {
                if *end > limit {
                    return;
                }
                self.old.pop();
            } else if let Some(end) = self.mid.oldest() {
                if end > limit {
                    return;
                }
                self.promote(f);
            } else if self.new.first().is_some_and(|(end, _)| *end <= limit) {
                self.freeze();
                self.promote(f);
            } else {
                return;
            }
        }
    }

    /// The aggregate of every pane held, per key (oldest panes first).
    pub(crate) fn query(&self, f: &impl ReduceFn<V>) -> Vec<(K, V)> {
        let Some((_, front)) = self.old.last() else {
            return self
                .back
                .iter()
                .map(|(_, k, v)| (k.clone(), v.clone()))
                .collect();
        };
        let mut out = Vec::with_capacity(front.len() + self.back.len());
        for (h, k, v) in front.iter() {
            let v = match self.back.get(*h, k) {
                Some(b) => f(v.clone(), b.clone()),
                None => v.clone(),
            };
            out.push((k.clone(), v));
        }
        for (h, k, b) in self.back.iter() {
            if front.get(*h, k).is_none() {
                out.push((k.clone(), b.clone()));
            }
        }
        out
    }

    /// Number of panes held.
    pub(crate) fn num_panes(&self) -> usize {
        self.old.len() + self.mid.pending.len() + self.mid.done.len() + self.new.len()
    }

    /// Number of key-value entries held (panes and aggregates).
    pub(crate) fn num_entries(&self) -> usize {
        let maps = |v: &[(Time, AggMap<K, V>)]| v.iter().map(|(_, m)| m.len()).sum::<usize>();
        let panes = |v: &[(Time, Vec<(K, V)>)]| v.iter().map(|(_, p)| p.len()).sum::<usize>();
        maps(&self.old)
            + maps(&self.mid.done)
            + panes(&self.mid.pending)
            + self.mid.running.len()
            + panes(&self.new)
            + self.new_agg.len()
            + self.back.len()
    }

    /// Conversion steps (pane merges into a suffix aggregate) since the
    /// last call.
    pub(crate) fn take_steps(&mut self) -> usize {
        std::mem::take(&mut self.steps)
    }
}

/// One partition's share of some panes: end time and reduced pairs.
type PanesOf<K, V> = Vec<(Time, Vec<(K, V)>)>;

struct PaneState<K, V> {
    last: Option<Time>,
    covered: Option<Time>,
    stacks: Vec<SlidingPanes<K, V>>,
}

/// `reduce_by_key_and_window(f, window, slide)`: per key, `f` over the
/// window, from one partial aggregate per pane.
pub(crate) struct PaneReduceOp<K, V, F> {
    pub(crate) name: &'static str,
    pub(crate) parent: Arc<Node<(K, V)>>,
    pub(crate) f: F,
    pub(crate) geo: Geometry,
    pub(crate) partitions: Option<usize>,
    state: Mutex<PaneState<K, V>>,
}

impl<K: Key, V: Data, F: ReduceFn<V>> PaneReduceOp<K, V, F> {
    pub(crate) fn new(
        name: &'static str,
        parent: Arc<Node<(K, V)>>,
        f: F,
        geo: Geometry,
        partitions: Option<usize>,
    ) -> Self {
        PaneReduceOp {
            name,
            parent,
            f,
            geo,
            partitions,
            state: Mutex::new(PaneState {
                last: None,
                covered: None,
                stacks: Vec::new(),
            }),
        }
    }
}

impl<K: Key, V: Data, F: ReduceFn<V>> PaneReduceOp<K, V, F> {
    /// Slides the window to `time`: one output partition per state
    /// partition.
    fn slide(
        &self,
        st: &mut PaneState<K, V>,
        time: Time,
        zero: Time,
        env: &Env,
    ) -> Result<Vec<Vec<(K, V)>>> {
        if st.stacks.is_empty() {
            let n = self.partitions.unwrap_or(env.parallelism()).max(1);
            let window_panes = duration_ms(self.geo.window) / duration_ms(self.geo.pane).max(1);
            let seg = SlidingPanes::<K, V>::segment_for(window_panes as usize);
            st.stacks = (0..n).map(|_| SlidingPanes::new(seg)).collect();
        }
        let n = st.stacks.len();
        let covered = st.covered.unwrap_or(zero);
        let mut incoming: Vec<PanesOf<K, V>> = (0..n).map(|_| Vec::new()).collect();
        for end in self.geo.entering(covered, time) {
            let pane = Pane::build(&self.parent, &self.geo, end, n, 0, &self.f, env)?;
            for (j, part) in pane.parts.into_iter().enumerate() {
                incoming[j].push((end, part));
            }
        }
        let limit = self.geo.window_start(time);
        let f = &self.f;
        let parts: Vec<Vec<(K, V)>> = st
            .stacks
            .par_iter_mut()
            .zip(incoming.into_par_iter())
            .map(|(stack, panes)| {
                stack.evict_through(limit, f);
                for (end, pane) in panes {
                    stack.push(end, pane, f);
                }
                stack.query(f)
            })
            .collect();
        st.covered = Some(time);
        st.last = Some(time);
        let steps: usize = st.stacks.iter_mut().map(SlidingPanes::take_steps).sum();
        tracing::trace!(
            operation = self.name,
            %time,
            panes = st.stacks.first().map_or(0, SlidingPanes::num_panes),
            entries = st.stacks.iter().map(SlidingPanes::num_entries).sum::<usize>(),
            steps,
            "pane window computed"
        );
        Ok(parts)
    }
}

impl<K: Key, V: Data, F: ReduceFn<V>> Operator<(K, V)> for PaneReduceOp<K, V, F> {
    fn compute(&self, time: Time, env: &Env) -> Result<Option<Lazy<(K, V)>>> {
        let zero = zero_time(env)?;
        let mut st = lock_intact(&self.state, self.name, time)?;
        check_order(self.name, st.last, time)?;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.slide(&mut st, time, zero, env)
        }));
        let error = match result {
            Ok(Ok(parts)) => return Ok(Some(Lazy::from_batch(Batch::from_partitions(parts)))),
            Ok(Err(e)) => e,
            Err(panic) => crate::error::StreamingError::UserPanic {
                time,
                message: crate::error::panic_message(panic.as_ref()),
            },
        };
        // The panes are half merged: the window starts afresh after the
        // failed slide (and refills over one window length).
        tracing::warn!(
            operation = self.name,
            %time,
            "a slide failed; the window restarts empty after it"
        );
        st.stacks.clear();
        (st.covered, st.last) = (Some(time), Some(time));
        Err(error)
    }

    /// Only the batches of the slide in progress: older ones live on as panes.
    fn parent_remember(&self, own: Duration) -> Duration {
        parent_remember(
            own,
            self.geo.slide,
            self.geo.slide.saturating_sub(self.geo.parent_slide),
        )
    }

    fn always_memoize(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::super::panes::{merge_newer, PaneMap};
    use super::*;

    fn sorted<V: Ord>(mut v: Vec<(u8, V)>) -> Vec<(u8, V)> {
        v.sort();
        v
    }

    /// xorshift, for deterministic random panes.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Slides a window of `window` ms by `slide` ms over random panes (one
    /// per ms of the pane geometry) with a non-commutative reducer, checking
    /// every result against a plain re-reduction of the window and
    /// returning the most conversion steps one slide took, per pane pushed
    /// in that slide (at least one).
    fn check_against_plain(window: u64, slide: u64, slides: u64, rng: &mut Rng) -> usize {
        let ms = Duration::from_millis;
        let geo = Geometry::new(ms(window), ms(slide), ms(1));
        let pane_ms = duration_ms(geo.pane);
        let f = |a: String, b: String| a + &b;
        let seg = SlidingPanes::<u8, String>::segment_for((window / pane_ms) as usize);
        let mut s: SlidingPanes<u8, String> = SlidingPanes::new(seg);
        let mut all: Vec<(Time, Vec<(u8, String)>)> = Vec::new();
        let mut covered = Time::ZERO;
        let mut worst = 0;
        for i in 1..=slides {
            let t = Time::from_millis(i * slide);
            s.evict_through(geo.window_start(t), &f);
            let entering = geo.entering(covered, t);
            for &end in &entering {
                let n = (rng.next() % 5) as usize;
                let pane: Vec<(u8, String)> = (0..n)
                    .map(|j| ((rng.next() % 4) as u8, format!("{}.{j};", end.as_millis())))
                    .collect::<PaneMap<_, _>>()
                    .into_iter()
                    .collect();
                all.push((end, pane.clone()));
                s.push(end, pane, &f);
            }
            covered = t;
            let steps = s.take_steps();
            worst = worst.max(steps.div_ceil(entering.len().max(1)));
            let mut expected: PaneMap<u8, String> = PaneMap::default();
            for (end, pane) in &all {
                if *end > geo.window_start(t) && *end <= t {
                    for (k, v) in pane {
                        merge_newer(&mut expected, *k, v.clone(), &f);
                    }
                }
            }
            assert_eq!(
                sorted(s.query(&f)),
                sorted(expected.into_iter().collect()),
                "window {window} slide {slide} at {t}"
            );
            assert!(s.num_panes() as u64 <= window / pane_ms);
        }
        worst
    }

    #[test]
    fn sliding_panes_equal_a_plain_re_reduction_in_order() {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        for window in 1..=24 {
            for slide in 1..=window + 3 {
                check_against_plain(window, slide, 3 * window / slide + 12, &mut rng);
            }
        }
    }

    #[test]
    fn a_slide_costs_a_bounded_number_of_merges_whatever_the_window() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for window in [2, 3, 7, 30, 31, 100, 301, 1000] {
            for slide in [1, 2, 3, 5] {
                if slide > window {
                    continue;
                }
                let worst = check_against_plain(window, slide, 4 * window / slide + 10, &mut rng);
                // One pane per ms here, so every slide pushes `slide` panes
                // (or fewer, for windows shorter than the slide).
                assert!(
                    worst <= 2,
                    "window {window} slide {slide}: {worst} steps per pane"
                );
            }
        }
    }

    #[test]
    fn non_commutative_order_is_kept() {
        // String concatenation is associative but not commutative: the
        // window must combine panes oldest first.
        let f = |a: String, b: String| a + &b;
        let mut s: SlidingPanes<u8, String> = SlidingPanes::new(2);
        for (i, x) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            let end = Time::from_millis(i as u64 + 1);
            s.evict_through(end.saturating_sub(Duration::from_millis(3)), &f);
            s.push(end, vec![(0, x.to_string())], &f);
        }
        assert_eq!(s.query(&f), vec![(0, "cde".to_string())]);
    }
}
