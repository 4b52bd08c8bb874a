//! `update_state_by_key` (Spark's `StateDStream`).
//!
//! Every batch, the update function runs for every key that has state or
//! new values (with an empty slice for keys without new values), and the
//! batch holds every key's new state; `None` removes a key. As in Spark, the
//! first batch is produced once the parent has produced one (the initial
//! state, if any, is merged in then); from then on a missing parent batch
//! counts as one without values.

use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use hashbrown::hash_table::{Entry, HashTable};

use super::cow::{hash_key, CowMap, Frozen};
use super::{
    atomically, check_order, decode, lock, lock_for_snapshot, lock_intact, partition_by_key,
    partition_of, pending_times, replace, zero_time, CapturedState, StateData, StateSnapshot,
    StateSnapshotError, StatefulOperator, Transactional,
};
use crate::batch::{Batch, Data, Key, Lazy};
use crate::dstream::DStream;
use crate::error::Result;
use crate::graph::env::Env;
use crate::graph::node::{Node, Operator};
use crate::time::Time;

/// The update function in its most general form.
/// (A type parameter of the operator, so its calls are monomorphized.)
pub(crate) trait UpdateFn<K, V, S>:
    Fn(Time, &K, &[V], Option<S>) -> Option<S> + Send + Sync + 'static
{
}
impl<K, V, S, F> UpdateFn<K, V, S> for F where
    F: Fn(Time, &K, &[V], Option<S>) -> Option<S> + Send + Sync + 'static
{
}

/// The operator's state.
struct KeyedState<K, S> {
    /// The last batch time folded in.
    time: Option<Time>,
    /// Whether a state batch has been produced (the parent produced one).
    started: bool,
    /// State per key, hash partitioned, in copy-on-write shards.
    parts: Vec<CowMap<K, S>>,
    /// `time`, `started` and whether `parts` was empty before the batch in
    /// progress (see [`Transactional`]).
    before: Option<(Option<Time>, bool, bool)>,
}

impl<K: Key, S: Data> Transactional for KeyedState<K, S> {
    fn begin(&mut self) {
        self.before = Some((self.time, self.started, self.parts.is_empty()));
        self.parts.iter_mut().for_each(CowMap::begin);
    }

    fn commit(&mut self) {
        self.before = None;
        self.parts.iter_mut().for_each(CowMap::commit);
    }

    fn rollback(&mut self) {
        let Some((time, started, empty)) = self.before.take() else {
            return;
        };
        (self.time, self.started) = (time, started);
        if empty {
            self.parts.clear();
        } else {
            self.parts.iter_mut().for_each(CowMap::rollback);
        }
    }
}

/// A captured [`KeyedState`], encoded on the checkpoint writer thread.
#[derive(Serialize)]
#[serde(bound(serialize = "K: Serialize, S: Serialize"))]
struct KeyedView<K, S> {
    time: Option<Time>,
    started: bool,
    parts: Vec<Frozen<K, S>>,
}

/// A decoded snapshot (the encoding of [`KeyedView`]).
#[derive(Deserialize)]
#[serde(bound(deserialize = "K: Deserialize<'de> + Eq + Hash, S: Deserialize<'de>"))]
struct KeyedOwned<K, S> {
    time: Option<Time>,
    started: bool,
    parts: Vec<FxHashMap<K, S>>,
}

pub(crate) struct UpdateShared<K, V, S, F> {
    f: F,
    _values: std::marker::PhantomData<fn(&[V])>,
    initial: Option<Batch<(K, S)>>,
    slide: Duration,
    state: Mutex<KeyedState<K, S>>,
}

/// The graph node's operator.
pub(crate) struct UpdateStateOp<K, V, S, F> {
    parent: Arc<Node<(K, V)>>,
    shared: Arc<UpdateShared<K, V, S, F>>,
}

/// Runs the update for one partition: every key with state (with its new
/// values, in arrival order, or none), then the keys without state that
/// received values. Each record's key is hashed once, and each key with
/// state once.
fn update_partition<K: Key, V, S: Data>(
    part: &mut CowMap<K, S>,
    records: Vec<(K, V)>,
    time: Time,
    f: &impl UpdateFn<K, V, S>,
) {
    let mut groups: HashTable<(u64, K, Vec<V>)> = HashTable::new();
    for (k, v) in records {
        let h = hash_key(&k);
        match groups.entry(h, |(_, q, _)| *q == k, |(h, _, _)| *h) {
            Entry::Occupied(mut e) => e.get_mut().2.push(v),
            Entry::Vacant(e) => {
                e.insert((h, k, vec![v]));
            }
        }
    }
    part.rebuild(|h, k, s| match groups.find_entry(h, |(_, q, _)| q == k) {
        Ok(e) => {
            let ((_, _, vs), _) = e.remove();
            f(time, k, &vs, Some(s))
        }
        Err(_) => f(time, k, &[], Some(s)),
    });
    for (h, k, vs) in groups {
        if let Some(s) = f(time, &k, &vs, None) {
            part.insert(h, k, s);
        }
    }
}

/// The state a stateful operation starts from: `initial` hash partitioned
/// into `n` partitions (the first state of a duplicated key wins, as in
/// Spark).
pub(crate) fn initial_parts<K: Key, S: Data>(
    initial: Option<&Batch<(K, S)>>,
    n: usize,
) -> Vec<CowMap<K, S>> {
    let mut parts: Vec<CowMap<K, S>> = (0..n).map(|_| CowMap::default()).collect();
    if let Some(b) = initial {
        for (k, s) in b.iter() {
            let (h, part) = (hash_key(k), &mut parts[partition_of(k, n)]);
            if part.get(h, k).is_none() {
                part.insert(h, k.clone(), s.clone());
            }
        }
    }
    parts
}

impl<K: Key + StateData, V: Data, S: StateData, F: UpdateFn<K, V, S>> Operator<(K, S)>
    for UpdateStateOp<K, V, S, F>
{
    fn compute(&self, time: Time, env: &Env) -> Result<Option<Lazy<(K, S)>>> {
        let sh = &*self.shared;
        let zero = zero_time(env)?;
        let mut st = lock_intact(&sh.state, "update_state_by_key", time)?;
        check_order("update_state_by_key", st.time, time)?;
        let done = atomically(&mut *st, time, |st| {
            for t in pending_times(st.time, time, sh.slide, zero) {
                let data = self.parent.get_lazy(t, env)?;
                if !st.started {
                    if data.is_none() {
                        st.time = Some(t);
                        continue;
                    }
                    st.started = true;
                    if st.parts.is_empty() {
                        st.parts = initial_parts(sh.initial.as_ref(), env.parallelism().max(1));
                    }
                }
                let n = st.parts.len();
                let records: Vec<Vec<(K, V)>> = match data {
                    Some(l) => partition_by_key(&l, n),
                    None => (0..n).map(|_| Vec::new()).collect(),
                };
                let f = &sh.f;
                st.parts
                    .par_iter_mut()
                    .zip(records.into_par_iter())
                    .for_each(|(part, records)| update_partition(part, records, t, f));
                st.time = Some(t);
            }
            Ok(())
        });
        if done.is_err() {
            // The failed batch's data is dropped: the state stays as it
            // was, and the next batch does not read the failed one again.
            st.time = Some(time);
        }
        done?;
        if !st.started {
            return Ok(None);
        }
        let out: Vec<Vec<(K, S)>> = st
            .parts
            .par_iter()
            .map(|p| p.iter().cloned().collect())
            .collect();
        tracing::trace!(%time, keys = out.iter().map(Vec::len).sum::<usize>(), "state updated");
        Ok(Some(Lazy::from_batch(Batch::from_partitions(out))))
    }

    fn stateful(&self) -> Option<Arc<dyn StatefulOperator>> {
        Some(self.shared.clone())
    }
}

impl<K: Key + StateData, V: Data, S: StateData, F: UpdateFn<K, V, S>> StatefulOperator
    for UpdateShared<K, V, S, F>
{
    fn operation(&self) -> &'static str {
        "update_state_by_key"
    }

    fn state_time(&self) -> Option<Time> {
        lock(&self.state).time
    }

    fn num_entries(&self) -> usize {
        lock(&self.state).parts.iter().map(CowMap::len).sum()
    }

    fn snapshot(&self) -> std::result::Result<StateSnapshot, StateSnapshotError> {
        self.capture()?.encode()
    }

    /// O(partitions × shards): the state's shards are shared with the
    /// capture, never copied or encoded here.
    fn capture(&self) -> std::result::Result<CapturedState, StateSnapshotError> {
        let st = lock_for_snapshot(&self.state, self.operation())?;
        let view = KeyedView {
            time: st.time,
            started: st.started,
            parts: st.parts.iter().map(CowMap::capture).collect(),
        };
        Ok(CapturedState::deferred(self.operation(), st.time, view))
    }

    fn restore(&self, snapshot: &StateSnapshot) -> std::result::Result<(), StateSnapshotError> {
        let restored: KeyedOwned<K, S> = decode(self.operation(), snapshot)?;
        // Re-partition by key, so a snapshot stays valid whatever wrote it.
        let n = restored.parts.len();
        let mut parts: Vec<CowMap<K, S>> = (0..n).map(|_| CowMap::default()).collect();
        for (k, s) in restored.parts.into_iter().flatten() {
            parts[partition_of(&k, n)].insert(hash_key(&k), k, s);
        }
        replace(
            &self.state,
            KeyedState {
                time: restored.time,
                started: restored.started,
                parts,
                before: None,
            },
        );
        Ok(())
    }
}

/// Adds the `update_state_by_key` node.
pub(crate) fn update_state_by_key<K, V, S>(
    parent: &DStream<(K, V)>,
    f: impl UpdateFn<K, V, S>,
    initial: Option<Batch<(K, S)>>,
) -> DStream<(K, S)>
where
    K: Key + StateData,
    V: Data,
    S: StateData,
{
    let slide = parent.slide_duration();
    let op = UpdateStateOp {
        parent: parent.node.clone(),
        shared: Arc::new(UpdateShared {
            f,
            _values: std::marker::PhantomData,
            initial,
            slide,
            state: Mutex::new(KeyedState {
                time: None,
                started: false,
                parts: Vec::new(),
                before: None,
            }),
        }),
    };
    parent.derive("update_state_by_key", slide, op)
}
