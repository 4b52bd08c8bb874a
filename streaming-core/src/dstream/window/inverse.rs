//! Incremental windowed reduction with an inverse function (Spark's
//! `ReducedWindowedDStream`).
//!
//! The operator keeps the previous window's result per key and the panes
//! still inside the window. Each slide it subtracts (with `inv_f`) the panes
//! that left and adds (with `f`) the panes that entered, touching nothing
//! else, so its cost does not grow with the window length.
//!
//! Per key, as Spark: with a previous value, `f(inv_f(prev, left), entered)`
//! (each side first reduced over its panes with `f`); without one, the
//! entered values alone (values leaving a key that has no previous value are
//! ignored: the key was filtered out). A key whose value returns to its zero
//! stays, unless the filter drops it; the filtered result is also the state.

use std::collections::VecDeque;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::panes::{parent_remember, reduce_parts, Geometry, Pane, ReduceFn};
use crate::batch::{Batch, Key, Lazy};
use crate::dstream::state::{
    check_order, decode, encode, lock, lock_for_snapshot, lock_intact, partition_of, replace,
    zero_time, StateData, StateSnapshot, StateSnapshotError, StatefulOperator,
};
use crate::error::Result;
use crate::graph::env::Env;
use crate::graph::node::{Node, Operator};
use crate::time::Time;

/// The filter applied to the window's state after each slide.
pub(crate) type FilterFn<K, V> = Arc<dyn Fn(&(K, V)) -> bool + Send + Sync>;

/// What the operator carries from slide to slide (and what a checkpoint
/// saves: with the panes, no parent batch is needed to resume).
#[derive(Serialize, Deserialize)]
#[serde(bound(
    serialize = "K: Serialize + Eq + Hash, V: Serialize",
    deserialize = "K: Deserialize<'de> + Eq + Hash, V: Deserialize<'de>"
))]
struct InvState<K, V> {
    /// The last window computed.
    last: Option<Time>,
    /// The parent has been consumed up to this time.
    covered: Option<Time>,
    /// The panes inside the last window, oldest first.
    panes: VecDeque<Pane<K, V>>,
    /// The last window's value per key, hash partitioned.
    window: Vec<FxHashMap<K, V>>,
}

/// Functions and state of an incremental window, shared by the graph node
/// and checkpointing.
pub(crate) struct InvShared<K, V> {
    name: &'static str,
    f: ReduceFn<V>,
    inv_f: ReduceFn<V>,
    filter: Option<FilterFn<K, V>>,
    geo: Geometry,
    partitions: Option<usize>,
    state: Mutex<InvState<K, V>>,
}

/// The graph node's operator.
pub(crate) struct InvReduceOp<K, V> {
    parent: Arc<Node<(K, V)>>,
    shared: Arc<InvShared<K, V>>,
}

impl<K: Key + StateData, V: StateData> InvReduceOp<K, V> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        name: &'static str,
        parent: Arc<Node<(K, V)>>,
        f: ReduceFn<V>,
        inv_f: ReduceFn<V>,
        filter: Option<FilterFn<K, V>>,
        geo: Geometry,
        partitions: Option<usize>,
    ) -> Self {
        InvReduceOp {
            parent,
            shared: Arc::new(InvShared {
                name,
                f,
                inv_f,
                filter,
                geo,
                partitions,
                state: Mutex::new(InvState {
                    last: None,
                    covered: None,
                    panes: VecDeque::new(),
                    window: Vec::new(),
                }),
            }),
        }
    }
}

/// Applies one slide to one partition of the window.
fn slide_partition<K: Key, V: StateData>(
    window: &mut FxHashMap<K, V>,
    left: &[&[(K, V)]],
    entered: &[&[(K, V)]],
    sh: &InvShared<K, V>,
) {
    let old = reduce_parts(left, &sh.f);
    let new = reduce_parts(entered, &sh.f);
    let mut touched = Vec::new();
    let track = sh.filter.is_some();
    for (k, o) in old {
        if let Some(cur) = window.remove(&k) {
            if track {
                touched.push(k.clone());
            }
            window.insert(k, (sh.inv_f)(cur, o));
        }
    }
    for (k, v) in new {
        if track {
            touched.push(k.clone());
        }
        match window.remove(&k) {
            Some(cur) => window.insert(k, (sh.f)(cur, v)),
            None => window.insert(k, v),
        };
    }
    if let Some(filter) = &sh.filter {
        // Untouched keys kept their value, which passed the filter before.
        for k in touched {
            if let Some(entry) = window.remove_entry(&k) {
                if filter(&entry) {
                    window.insert(entry.0, entry.1);
                }
            }
        }
    }
}

impl<K: Key + StateData, V: StateData> Operator<(K, V)> for InvReduceOp<K, V> {
    fn compute(&self, time: Time, env: &Env) -> Result<Option<Lazy<(K, V)>>> {
        let sh = &*self.shared;
        let zero = zero_time(env)?;
        let mut st = lock_intact(&sh.state, sh.name, time)?;
        check_order(sh.name, st.last, time)?;
        if st.window.is_empty() {
            let n = sh.partitions.unwrap_or(env.parallelism()).max(1);
            st.window = (0..n).map(|_| FxHashMap::default()).collect();
        }
        let n = st.window.len();
        let covered = st.covered.unwrap_or(zero);
        let entering = sh
            .geo
            .entering(covered, time)
            .into_iter()
            .map(|end| Pane::build(&self.parent, &sh.geo, end, n, &sh.f, env))
            .collect::<Result<Vec<_>>>()?;
        let limit = sh.geo.window_start(time);
        let mut leaving = Vec::new();
        while st.panes.front().is_some_and(|p| p.end <= limit) {
            leaving.extend(st.panes.pop_front());
        }
        let InvState { window, panes, .. } = &mut *st;
        let out: Vec<Vec<(K, V)>> = window
            .par_iter_mut()
            .enumerate()
            .map(|(j, w)| {
                let left: Vec<&[(K, V)]> = leaving.iter().map(|p| &p.parts[j][..]).collect();
                let entered: Vec<&[(K, V)]> = entering.iter().map(|p| &p.parts[j][..]).collect();
                slide_partition(w, &left, &entered, sh);
                w.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
            })
            .collect();
        tracing::trace!(
            operation = sh.name,
            %time,
            entered = entering.len(),
            left = leaving.len(),
            "incremental window computed"
        );
        panes.extend(entering);
        st.covered = Some(time);
        st.last = Some(time);
        Ok(Some(Lazy::from_batch(Batch::from_partitions(out))))
    }

    /// Only the batches of the slide in progress: older ones live on as
    /// panes inside the operator.
    fn parent_remember(&self, own: Duration) -> Duration {
        let geo = &self.shared.geo;
        parent_remember(own, geo.slide, geo.slide.saturating_sub(geo.parent_slide))
    }

    fn stateful(&self) -> Option<Arc<dyn StatefulOperator>> {
        Some(self.shared.clone())
    }
}

impl<K: Key + StateData, V: StateData> StatefulOperator for InvShared<K, V> {
    fn operation(&self) -> &'static str {
        self.name
    }

    fn state_time(&self) -> Option<Time> {
        lock(&self.state).last
    }

    fn num_entries(&self) -> usize {
        let st = lock(&self.state);
        st.window.iter().map(FxHashMap::len).sum::<usize>()
            + st.panes.iter().map(Pane::len).sum::<usize>()
    }

    fn snapshot(&self) -> std::result::Result<StateSnapshot, StateSnapshotError> {
        let st = lock_for_snapshot(&self.state, self.name)?;
        encode(self.name, st.last, &*st)
    }

    fn restore(&self, snapshot: &StateSnapshot) -> std::result::Result<(), StateSnapshotError> {
        let mut restored: InvState<K, V> = decode(self.name, snapshot)?;
        // Re-partition by key, so a snapshot stays valid whatever wrote it.
        let n = restored.window.len().max(1);
        let mut window: Vec<FxHashMap<K, V>> = (0..n).map(|_| FxHashMap::default()).collect();
        for (k, v) in restored.window.into_iter().flatten() {
            window[partition_of(&k, n)].insert(k, v);
        }
        restored.window = window;
        for pane in &mut restored.panes {
            let mut parts: Vec<Vec<(K, V)>> = (0..n).map(|_| Vec::new()).collect();
            for (k, v) in std::mem::take(&mut pane.parts).into_iter().flatten() {
                parts[partition_of(&k, n)].push((k, v));
            }
            pane.parts = parts;
        }
        replace(&self.state, restored);
        Ok(())
    }
}
