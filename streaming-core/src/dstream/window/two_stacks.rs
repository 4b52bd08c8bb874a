//! Pane-based windowed reduction for functions without an inverse.
//!
//! Each slide pre-aggregates the parent's new batches into panes (one
//! partial aggregate per key and pane). The panes of the window are then
//! combined with the two-stacks sliding-window aggregation: new panes go on
//! a *back* stack with a running aggregate; when the oldest pane must leave
//! and the *front* stack is empty, the back stack is flipped onto the front
//! with suffix aggregates (each front entry holds the aggregate of its pane
//! and every newer front pane). The window's value is then the front top
//! combined with the back aggregate. Each pane is merged a constant number
//! of times, so a slide costs the size of its panes plus the size of the
//! result, whatever the window length, instead of re-reducing every element
//! (or every pane) of the window.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::panes::{merge_newer, merge_older, parent_remember, Geometry, Pane, ReduceFn};
use crate::batch::{Batch, Data, Key, Lazy};
use crate::dstream::state::{check_order, lock_intact, zero_time};
use crate::error::Result;
use crate::graph::env::Env;
use crate::graph::node::{Node, Operator};
use crate::time::Time;

/// The panes of one partition's window, in two stacks.
pub(crate) struct TwoStacks<K, V> {
    /// Oldest pane on top (last); each entry aggregates its pane and every
    /// newer pane below it.
    front: Vec<(Time, FxHashMap<K, V>)>,
    /// Panes newer than the front's, oldest first, as reduced.
    back: Vec<(Time, Vec<(K, V)>)>,
    /// The aggregate of every back pane.
    back_agg: FxHashMap<K, V>,
}

impl<K: Key, V: Data> TwoStacks<K, V> {
    pub(crate) fn new() -> Self {
        TwoStacks {
            front: Vec::new(),
            back: Vec::new(),
            back_agg: FxHashMap::default(),
        }
    }

    /// Adds the newest pane.
    pub(crate) fn push(&mut self, end: Time, pane: Vec<(K, V)>, f: &ReduceFn<V>) {
        for (k, v) in &pane {
            merge_newer(&mut self.back_agg, k.clone(), v.clone(), f);
        }
        self.back.push((end, pane));
    }

    /// Drops every pane ending at or before `limit`.
    pub(crate) fn evict_through(&mut self, limit: Time, f: &ReduceFn<V>) {
        loop {
            if self.front.is_empty() {
                match self.back.last() {
                    // Everything leaves: no aggregate to rebuild.
                    Some((end, _)) if *end <= limit => {
                        self.back.clear();
                        self.back_agg.clear();
                        return;
                    }
                    Some(_) if self.back[0].0 <= limit => self.flip(f),
                    _ => return,
                }
            }
            match self.front.last() {
                Some((end, _)) if *end <= limit => {
                    self.front.pop();
                }
                _ => return,
            }
        }
    }

    /// Moves the back panes onto the front, with suffix aggregates.
    fn flip(&mut self, f: &ReduceFn<V>) {
        let panes = std::mem::take(&mut self.back);
        self.back_agg.clear();
        let count = panes.len();
        self.front.reserve(count);
        let mut running: FxHashMap<K, V> = FxHashMap::default();
        for (i, (end, pane)) in panes.into_iter().rev().enumerate() {
            for (k, v) in pane {
                merge_older(&mut running, k, v, f);
            }
            if i + 1 == count {
                self.front.push((end, std::mem::take(&mut running)));
            } else {
                self.front.push((end, running.clone()));
            }
        }
    }

    /// The aggregate of every pane held, per key.
    pub(crate) fn query(&self, f: &ReduceFn<V>) -> Vec<(K, V)> {
        let Some((_, front)) = self.front.last() else {
            return self
                .back_agg
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
        };
        let mut out = Vec::with_capacity(front.len() + self.back_agg.len());
        for (k, v) in front {
            let v = match self.back_agg.get(k) {
                Some(b) => f(v.clone(), b.clone()),
                None => v.clone(),
            };
            out.push((k.clone(), v));
        }
        for (k, b) in &self.back_agg {
            if !front.contains_key(k) {
                out.push((k.clone(), b.clone()));
            }
        }
        out
    }

    /// Number of panes held.
    pub(crate) fn num_panes(&self) -> usize {
        self.front.len() + self.back.len()
    }

    /// Number of key-value entries held (panes and aggregates).
    pub(crate) fn num_entries(&self) -> usize {
        self.front.iter().map(|(_, m)| m.len()).sum::<usize>()
            + self.back.iter().map(|(_, p)| p.len()).sum::<usize>()
            + self.back_agg.len()
    }
}

/// One partition's share of some panes: end time and reduced pairs.
type PanesOf<K, V> = Vec<(Time, Vec<(K, V)>)>;

struct PaneState<K, V> {
    last: Option<Time>,
    covered: Option<Time>,
    stacks: Vec<TwoStacks<K, V>>,
}

/// `reduce_by_key_and_window(f, window, slide)`: per key, `f` over the
/// window, from one partial aggregate per pane.
pub(crate) struct PaneReduceOp<K, V> {
    pub(crate) name: &'static str,
    pub(crate) parent: Arc<Node<(K, V)>>,
    pub(crate) f: ReduceFn<V>,
    pub(crate) geo: Geometry,
    pub(crate) partitions: Option<usize>,
    state: Mutex<PaneState<K, V>>,
}

impl<K: Key, V: Data> PaneReduceOp<K, V> {
    pub(crate) fn new(
        name: &'static str,
        parent: Arc<Node<(K, V)>>,
        f: ReduceFn<V>,
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

impl<K: Key, V: Data> Operator<(K, V)> for PaneReduceOp<K, V> {
    fn compute(&self, time: Time, env: &Env) -> Result<Option<Lazy<(K, V)>>> {
        let zero = zero_time(env)?;
        let mut st = lock_intact(&self.state, self.name, time)?;
        check_order(self.name, st.last, time)?;
        if st.stacks.is_empty() {
            let n = self.partitions.unwrap_or(env.parallelism()).max(1);
            st.stacks = (0..n).map(|_| TwoStacks::new()).collect();
        }
        let n = st.stacks.len();
        let covered = st.covered.unwrap_or(zero);
        let mut incoming: Vec<PanesOf<K, V>> = (0..n).map(|_| Vec::new()).collect();
        for end in self.geo.entering(covered, time) {
            let pane = Pane::build(&self.parent, &self.geo, end, n, &self.f, env)?;
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
        tracing::trace!(
            operation = self.name,
            %time,
            panes = st.stacks.first().map_or(0, TwoStacks::num_panes),
            entries = st.stacks.iter().map(TwoStacks::num_entries).sum::<usize>(),
            "pane window computed"
        );
        Ok(Some(Lazy::from_batch(Batch::from_partitions(parts))))
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
    use super::*;

    fn add() -> ReduceFn<i64> {
        Arc::new(|a, b| a + b)
    }

    fn sorted(mut v: Vec<(u8, i64)>) -> Vec<(u8, i64)> {
        v.sort();
        v
    }

    #[test]
    fn two_stacks_match_a_plain_sum_over_a_sliding_window() {
        let f = add();
        let mut s: TwoStacks<u8, i64> = TwoStacks::new();
        let panes: Vec<Vec<(u8, i64)>> = (0..20).map(|i| vec![(i % 3, i as i64), (7, 1)]).collect();
        for (i, pane) in panes.iter().enumerate() {
            let end = Time::from_millis(i as u64 + 1);
            s.evict_through(end.saturating_sub(Duration::from_millis(4)), &f);
            s.push(end, pane.clone(), &f);
            let lo = (i + 1).saturating_sub(4);
            let mut expected: FxHashMap<u8, i64> = FxHashMap::default();
            for p in &panes[lo..=i] {
                for &(k, v) in p {
                    *expected.entry(k).or_insert(0) += v;
                }
            }
            assert_eq!(sorted(s.query(&f)), sorted(expected.into_iter().collect()));
            assert!(s.num_panes() <= 4);
        }
    }

    #[test]
    fn non_commutative_order_is_kept() {
        // String concatenation is associative but not commutative: the
        // window must combine panes oldest first.
        let f: ReduceFn<String> = Arc::new(|a, b| a + &b);
        let mut s: TwoStacks<u8, String> = TwoStacks::new();
        for (i, x) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            let end = Time::from_millis(i as u64 + 1);
            s.evict_through(end.saturating_sub(Duration::from_millis(3)), &f);
            s.push(end, vec![(0, x.to_string())], &f);
        }
        assert_eq!(s.query(&f), vec![(0, "cde".to_string())]);
    }
}
