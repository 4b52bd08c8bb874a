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

use hashbrown::hash_table::{self, HashTable};

use super::panes::{parent_remember, Geometry, Pane, PaneSource, ReduceFn};
use crate::batch::{Data, Key, Lazy, PartitionIter};
use crate::dstream::state::cow::{hash_key, CowMap, Frozen, Slot};
use crate::dstream::state::{
    atomically, check_order, decode, lock, lock_for_snapshot, lock_intact, partition_of, replace,
    zero_time, CapturedState, StateData, StateSnapshot, StateSnapshotError, StatefulOperator,
    Transactional,
};
use crate::error::Result;
use crate::graph::env::Env;
use crate::graph::node::{Node, Operator};
use crate::time::Time;

/// What an incremental window keeps of a key after a slide (a type
/// parameter, so its calls are monomorphized): given the key and its new
/// value, the value to keep, or `None` to drop the key.
pub(crate) trait Keep<K, V>: Send + Sync + 'static {
    /// The value to keep for `key`, or `None`.
    fn keep(&self, key: &K, value: V) -> Option<V>;
}

/// Keeps every key: Spark's inverse forms without a filter function.
pub(crate) struct KeepAll;

impl<K, V> Keep<K, V> for KeepAll {
    #[inline]
    fn keep(&self, _: &K, value: V) -> Option<V> {
        Some(value)
    }
}

/// Spark's filter function, on the whole entry (the key is cloned to call
/// it).
pub(crate) struct KeepEntries<P>(pub(crate) P);

impl<K: Clone, V, P: Fn(&(K, V)) -> bool + Send + Sync + 'static> Keep<K, V> for KeepEntries<P> {
    #[inline]
    fn keep(&self, key: &K, value: V) -> Option<V> {
        let entry = (key.clone(), value);
        (self.0)(&entry).then_some(entry.1)
    }
}

/// A filter on the value alone (the built-in windows' rule of dropping a
/// key whose count reached 0).
pub(crate) struct KeepValues<G>(pub(crate) G);

impl<K, V, G: Fn(&V) -> bool + Send + Sync + 'static> Keep<K, V> for KeepValues<G> {
    #[inline]
    fn keep(&self, _: &K, value: V) -> Option<V> {
        (self.0)(&value).then_some(value)
    }
}

/// The functions of an incremental window: `f` and its inverse `inv_f`,
/// what the window keeps of a key after a slide, and what its output holds
/// of each kept value (`Clone::clone` for the value itself).
pub(crate) struct Incremental<F, I, P, O> {
    pub(crate) f: F,
    pub(crate) inv_f: I,
    pub(crate) keep: P,
    pub(crate) project: O,
}

impl<F, I, P, V: Clone> Incremental<F, I, P, fn(&V) -> V> {
    /// `f` and `inv_f` keeping what `keep` keeps, the output holding each
    /// value whole.
    pub(crate) fn new(f: F, inv_f: I, keep: P) -> Self {
        Incremental {
            f,
            inv_f,
            keep,
            project: V::clone,
        }
    }
}

/// What an incremental window's output holds of a value.
pub(crate) trait Project<V, W>: Fn(&V) -> W + Send + Sync + 'static {}
impl<V, W, O: Fn(&V) -> W + Send + Sync + 'static> Project<V, W> for O {}

/// What the operator carries from slide to slide.
struct InvState<K, V> {
    /// The last window computed.
    last: Option<Time>,
    /// The parent has been consumed up to this time.
    covered: Option<Time>,
    /// The panes inside the last window, oldest first (shared with
    /// captured snapshots).
    panes: VecDeque<Arc<Pane<K, V>>>,
    /// The last window's value per key, hash partitioned, in copy-on-write
    /// shards.
    window: Vec<CowMap<K, V>>,
    /// The panes the slide in progress took out of the window, oldest
    /// first, to put back if it fails.
    left: Vec<Arc<Pane<K, V>>>,
    /// `last`, `covered`, the number of panes and whether `window` was
    /// empty before the slide in progress (see [`Transactional`]).
    before: Option<(Option<Time>, Option<Time>, usize, bool)>,
}

impl<K: Key, V: Data> Transactional for InvState<K, V> {
    fn begin(&mut self) {
        self.left.clear();
        self.before = Some((
            self.last,
            self.covered,
            self.panes.len(),
            self.window.is_empty(),
        ));
    }

    fn commit(&mut self) {
        self.left.clear();
        self.before = None;
    }

    fn rollback(&mut self) {
        let Some((last, covered, panes, empty)) = self.before.take() else {
            return;
        };
        (self.last, self.covered) = (last, covered);
        // The window's maps are changed only once nothing can fail any
        // more (see `slide`): as they were, unless this slide made them.
        if empty {
            self.window.clear();
        }
        // Panes added after those that left (none are, unless the slide
        // got that far), then the ones that left, back in front.
        self.panes.truncate(panes - self.left.len());
        for pane in self.left.drain(..).rev() {
            self.panes.push_front(pane);
        }
    }
}

/// A captured [`InvState`] (what a checkpoint saves: with the panes, no
/// parent batch is needed to resume), encoded on the writer thread.
#[derive(Serialize)]
#[serde(bound(serialize = "K: Serialize, V: Serialize"))]
struct InvView<K, V> {
    last: Option<Time>,
    covered: Option<Time>,
    panes: VecDeque<Arc<Pane<K, V>>>,
    window: Vec<Frozen<K, V>>,
}

/// A decoded snapshot (the encoding of [`InvView`]).
#[derive(Deserialize)]
#[serde(bound(deserialize = "K: Deserialize<'de> + Eq + Hash, V: Deserialize<'de>"))]
struct InvOwned<K, V> {
    last: Option<Time>,
    covered: Option<Time>,
    panes: VecDeque<Pane<K, V>>,
    window: Vec<FxHashMap<K, V>>,
}

/// Functions and state of an incremental window, shared by the graph node
/// and checkpointing.
pub(crate) struct InvShared<K, V, F, I, P> {
    name: &'static str,
    f: F,
    inv_f: I,
    keep: P,
    geo: Geometry,
    partitions: Option<usize>,
    state: Mutex<InvState<K, V>>,
}

/// The graph node's operator, reading its panes from `S` (the parent
/// stream of pairs, or a combine over the parent's elements).
pub(crate) struct InvReduceOp<K, V, F, I, P, S = Arc<Node<(K, V)>>, O = fn(&V) -> V> {
    parent: S,
    shared: Arc<InvShared<K, V, F, I, P>>,
    /// What the output holds of each key's window value (the value itself,
    /// or a part of it: the counted sum's sum), cloned as it is read.
    project: Arc<O>,
}

impl<
        K: Key + StateData,
        V: StateData,
        F: ReduceFn<V>,
        I: ReduceFn<V>,
        P: Keep<K, V>,
        S: PaneSource<K, V>,
        O,
    > InvReduceOp<K, V, F, I, P, S, O>
{
    pub(crate) fn new(
        name: &'static str,
        parent: S,
        fns: Incremental<F, I, P, O>,
        geo: Geometry,
        partitions: Option<usize>,
    ) -> Self {
        let Incremental {
            f,
            inv_f,
            keep,
            project,
        } = fns;
        InvReduceOp {
            parent,
            project: Arc::new(project),
            shared: Arc::new(InvShared {
                name,
                f,
                inv_f,
                keep,
                geo,
                partitions,
                state: Mutex::new(InvState {
                    last: None,
                    covered: None,
                    panes: VecDeque::new(),
                    window: Vec::new(),
                    left: Vec::new(),
                    before: None,
                }),
            }),
        }
    }

    /// Slides the window to `time` (run [`atomically`]: a failure leaves
    /// the state as it was).
    fn slide(
        &self,
        st: &mut InvState<K, V>,
        time: Time,
        zero: Time,
        env: &Env,
    ) -> Result<Arc<Vec<Frozen<K, V>>>> {
        let sh = &*self.shared;
        if st.window.is_empty() {
            let n = sh.partitions.unwrap_or(env.parallelism()).max(1);
            st.window = (0..n).map(|_| CowMap::default()).collect();
        }
        let n = st.window.len();
        let covered = st.covered.unwrap_or(zero);
        // The newest pane's keys per partition: about what the next pane's
        // map-side tables will hold, so they are sized for it up front
        // rather than grown (a pre-sized combine table).
        let capacity = st
            .panes
            .back()
            .map_or(0, |p| p.parts.iter().map(Vec::len).max().unwrap_or(0));
        let entering = sh
            .geo
            .entering(covered, time)
            .into_iter()
            .map(|end| {
                self.parent
                    .pane(&sh.geo, end, n, capacity, &sh.f, env)
                    .map(Arc::new)
            })
            .collect::<Result<Vec<_>>>()?;
        let limit = sh.geo.window_start(time);
        let mut leaving = Vec::new();
        while st.panes.front().is_some_and(|p| p.end <= limit) {
            leaving.extend(st.panes.pop_front());
        }
        st.left.clone_from(&leaving);
        let InvState { window, panes, .. } = st;
        // Two phases, so that a failure (a panic in `f`, `inv_f` or the
        // filter) leaves the window as it was without journaling it: every
        // partition's changes are computed, reading the window only, then
        // made, running no function of the caller's.
        let plans: Vec<SlidePlan<K, V>> = window
            .par_iter_mut()
            .enumerate()
            .map(|(j, w)| {
                let left: Vec<&[(K, V)]> = leaving.iter().map(|p| &p.parts[j][..]).collect();
                let entered: Vec<&[(K, V)]> = entering.iter().map(|p| &p.parts[j][..]).collect();
                plan_partition(w, &left, &entered, sh)
            })
            .collect();
        window
            .par_iter_mut()
            .zip(plans)
            .for_each(|(w, plan)| w.apply(plan.unique, plan.changes, plan.inserts));
        // The output shares the window's shards and clones entries only as
        // they are read; the next slide copies the shards it changes only
        // if this batch is still held by then.
        let views: Arc<Vec<Frozen<K, V>>> = Arc::new(window.iter().map(CowMap::capture).collect());
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
        Ok(views)
    }
}

/// What one slide does to one key (borrowed from the panes): the values
/// that left and entered it, each reduced over its panes (oldest first).
type Touched<'a, K, V> = HashTable<(u64, &'a K, Option<V>, Option<V>)>;

/// Adds one side of a slide (`left` or not) to the touched keys, hashing
/// each pane entry once.
fn touch<'a, K: Key, V: StateData>(
    touched: &mut Touched<'a, K, V>,
    panes: &[&'a [(K, V)]],
    left: bool,
    f: &impl ReduceFn<V>,
) {
    for pane in panes {
        for (k, v) in pane.iter() {
            let h = hash_key(k);
            match touched.entry(h, |e| e.1 == k, |e| e.0) {
                hash_table::Entry::Occupied(mut e) => {
                    let slot = if left {
                        &mut e.get_mut().2
                    } else {
                        &mut e.get_mut().3
                    };
                    *slot = Some(match slot.take() {
                        Some(acc) => f(acc, v.clone()),
                        None => v.clone(),
                    });
                }
                hash_table::Entry::Vacant(e) => {
                    let (l, n) = if left {
                        (Some(v.clone()), None)
                    } else {
                        (None, Some(v.clone()))
                    };
                    e.insert((h, k, l, n));
                }
            }
        }
    }
}

/// The changes one slide makes to one partition of the window, computed
/// before any is made (see [`CowMap::find_slot`]).
struct SlidePlan<K, V> {
    /// The shards made unshared while planning.
    unique: u64,
    /// New values of present keys (`None`: the key goes).
    changes: Vec<(Slot, Option<V>)>,
    /// Keys entering the window, with their hashes and values.
    inserts: Vec<(u64, K, V)>,
}

/// Plans one slide of one partition of the window: each touched key is
/// hashed once, found once, its new value computed (`f(inv_f(prev, left),
/// entered)`) and filtered; no other key is read or copied, and a key is
/// cloned only when it enters the window. Only reads the window.
fn plan_partition<K: Key, V: StateData, F: ReduceFn<V>, I: ReduceFn<V>, P: Keep<K, V>>(
    window: &mut CowMap<K, V>,
    left: &[&[(K, V)]],
    entered: &[&[(K, V)]],
    sh: &InvShared<K, V, F, I, P>,
) -> SlidePlan<K, V> {
    // Sized once for every pane entry (an upper bound of the keys touched),
    // so that the table never grows while it is filled.
    let entries: usize = left.iter().chain(entered).map(|p| p.len()).sum();
    let mut touched: Touched<'_, K, V> = HashTable::with_capacity(entries);
    touch(&mut touched, left, true, &sh.f);
    touch(&mut touched, entered, false, &sh.f);
    let mut plan = SlidePlan {
        unique: 0,
        changes: Vec::with_capacity(touched.len()),
        inserts: Vec::new(),
    };
    for (h, k, old, new) in touched {
        let (slot, cur) = match window.find_slot(h, k, &mut plan.unique) {
            Some((slot, cur)) => (Some(slot), Some(cur.clone())),
            None => (None, None),
        };
        let value = match (cur, old, new) {
            (Some(cur), Some(o), Some(n)) => (sh.f)((sh.inv_f)(cur, o), n),
            (Some(cur), Some(o), None) => (sh.inv_f)(cur, o),
            (Some(cur), None, Some(n)) => (sh.f)(cur, n),
            (Some(cur), None, None) => cur,
            // No previous value (the key was filtered out, or never seen):
            // what left is ignored.
            (None, _, Some(n)) => n,
            (None, _, None) => continue,
        };
        let kept = sh.keep.keep(k, value);
        match (slot, kept) {
            (Some(slot), kept) => plan.changes.push((slot, kept)),
            (None, Some(v)) => plan.inserts.push((h, k.clone(), v)),
            (None, None) => {}
        }
    }
    plan
}

impl<
        K: Key + StateData,
        V: StateData,
        F: ReduceFn<V>,
        I: ReduceFn<V>,
        P: Keep<K, V>,
        S: PaneSource<K, V>,
        O: Fn(&V) -> W + Send + Sync + 'static,
        W: Data,
    > Operator<(K, W)> for InvReduceOp<K, V, F, I, P, S, O>
{
    fn compute(&self, time: Time, env: &Env) -> Result<Option<Lazy<(K, W)>>> {
        let sh = &*self.shared;
        let zero = zero_time(env)?;
        let mut st = lock_intact(&sh.state, sh.name, time)?;
        check_order(sh.name, st.last, time)?;
        let out = atomically(&mut *st, time, |st| self.slide(st, time, zero, env));
        if out.is_err() {
            // The failed slide's new batches are dropped: the window stays
            // as it was (the panes that were to leave leave at the next
            // slide), and the next slide does not read them again.
            (st.covered, st.last) = (Some(time), Some(time));
        }
        let views = out?;
        let project = self.project.clone();
        Ok(Some(Lazy::new(views.len(), move |j| {
            let project = project.clone();
            PartitionIter::new(
                views[j]
                    .clone()
                    .into_mapped_iter(move |(k, v)| (k.clone(), project(v))),
            )
        })))
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

impl<K: Key + StateData, V: StateData, F: ReduceFn<V>, I: ReduceFn<V>, P: Keep<K, V>>
    StatefulOperator for InvShared<K, V, F, I, P>
{
    fn operation(&self) -> &'static str {
        self.name
    }

    fn state_time(&self) -> Option<Time> {
        lock(&self.state).last
    }

    fn num_entries(&self) -> usize {
        let st = lock(&self.state);
        st.window.iter().map(CowMap::len).sum::<usize>()
            + st.panes.iter().map(|p| p.len()).sum::<usize>()
    }

    fn snapshot(&self) -> std::result::Result<StateSnapshot, StateSnapshotError> {
        self.capture()?.encode()
    }

    /// O(partitions × shards + panes): shards and panes are shared with
    /// the capture, never copied or encoded here.
    fn capture(&self) -> std::result::Result<CapturedState, StateSnapshotError> {
        let st = lock_for_snapshot(&self.state, self.name)?;
        let view = InvView {
            last: st.last,
            covered: st.covered,
            panes: st.panes.clone(),
            window: st.window.iter().map(CowMap::capture).collect(),
        };
        Ok(CapturedState::deferred(self.name, st.last, view))
    }

    fn restore(&self, snapshot: &StateSnapshot) -> std::result::Result<(), StateSnapshotError> {
        let restored: InvOwned<K, V> = decode(self.name, snapshot)?;
        // Re-partition by key, so a snapshot stays valid whatever wrote it.
        let n = restored.window.len().max(1);
        let mut window: Vec<CowMap<K, V>> = (0..n).map(|_| CowMap::default()).collect();
        for (k, v) in restored.window.into_iter().flatten() {
            window[partition_of(&k, n)].insert(hash_key(&k), k, v);
        }
        let panes = restored
            .panes
            .into_iter()
            .map(|mut pane| {
                let mut parts: Vec<Vec<(K, V)>> = (0..n).map(|_| Vec::new()).collect();
                for (k, v) in std::mem::take(&mut pane.parts).into_iter().flatten() {
                    parts[partition_of(&k, n)].push((k, v));
                }
                pane.parts = parts;
                Arc::new(pane)
            })
            .collect();
        replace(
            &self.state,
            InvState {
                last: restored.last,
                covered: restored.covered,
                panes,
                window,
                left: Vec::new(),
                before: None,
            },
        );
        Ok(())
    }
}
