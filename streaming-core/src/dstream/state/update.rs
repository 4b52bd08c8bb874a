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

use super::{
    check_order, decode, encode, lock, lock_for_snapshot, lock_intact, partition_by_key,
    partition_of, pending_times, replace, zero_time, StateData, StateSnapshot, StateSnapshotError,
    StatefulOperator,
};
use crate::batch::{Batch, Data, Key, Lazy};
use crate::dstream::DStream;
use crate::error::Result;
use crate::graph::env::Env;
use crate::graph::node::{Node, Operator};
use crate::time::Time;

/// The update function in its most general form.
pub(crate) type UpdateFn<K, V, S> =
    Arc<dyn Fn(Time, &K, &[V], Option<S>) -> Option<S> + Send + Sync>;

#[derive(Serialize, Deserialize)]
#[serde(bound(
    serialize = "K: Serialize + Eq + Hash, S: Serialize",
    deserialize = "K: Deserialize<'de> + Eq + Hash, S: Deserialize<'de>"
))]
struct KeyedState<K, S> {
    /// The last batch time folded in.
    time: Option<Time>,
    /// Whether a state batch has been produced (the parent produced one).
    started: bool,
    /// State per key, hash partitioned.
    parts: Vec<FxHashMap<K, S>>,
}

pub(crate) struct UpdateShared<K, V, S> {
    f: UpdateFn<K, V, S>,
    initial: Option<Batch<(K, S)>>,
    slide: Duration,
    state: Mutex<KeyedState<K, S>>,
}

/// The graph node's operator.
pub(crate) struct UpdateStateOp<K, V, S> {
    parent: Arc<Node<(K, V)>>,
    shared: Arc<UpdateShared<K, V, S>>,
}

/// Runs the update for one partition: keys with new values first (their
/// values grouped in arrival order), then every other key with state.
fn update_partition<K: Key, V, S>(
    part: &mut FxHashMap<K, S>,
    records: Vec<(K, V)>,
    time: Time,
    f: &UpdateFn<K, V, S>,
) {
    let mut groups: FxHashMap<K, Vec<V>> = FxHashMap::default();
    for (k, v) in records {
        groups.entry(k).or_default().push(v);
    }
    let mut next: FxHashMap<K, S> =
        FxHashMap::with_capacity_and_hasher(part.len() + groups.len(), Default::default());
    for (k, vs) in groups {
        let old = part.remove(&k);
        if let Some(s) = f(time, &k, &vs, old) {
            next.insert(k, s);
        }
    }
    for (k, s) in part.drain() {
        if let Some(s) = f(time, &k, &[], Some(s)) {
            next.insert(k, s);
        }
    }
    *part = next;
}

/// The state a stateful operation starts from: `initial` hash partitioned
/// into `n` partitions (the first state of a duplicated key wins, as in
/// Spark).
pub(crate) fn initial_parts<K: Key, S: Data>(
    initial: Option<&Batch<(K, S)>>,
    n: usize,
) -> Vec<FxHashMap<K, S>> {
    let mut parts: Vec<FxHashMap<K, S>> = (0..n).map(|_| FxHashMap::default()).collect();
    if let Some(b) = initial {
        for (k, s) in b.iter() {
            parts[partition_of(k, n)]
                .entry(k.clone())
                .or_insert_with(|| s.clone());
        }
    }
    parts
}

impl<K: Key + StateData, V: Data, S: StateData> Operator<(K, S)> for UpdateStateOp<K, V, S> {
    fn compute(&self, time: Time, env: &Env) -> Result<Option<Lazy<(K, S)>>> {
        let sh = &*self.shared;
        let zero = zero_time(env)?;
        let mut st = lock_intact(&sh.state, "update_state_by_key", time)?;
        check_order("update_state_by_key", st.time, time)?;
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
        if !st.started {
            return Ok(None);
        }
        let out: Vec<Vec<(K, S)>> = st
            .parts
            .par_iter()
            .map(|p| p.iter().map(|(k, s)| (k.clone(), s.clone())).collect())
            .collect();
        tracing::trace!(%time, keys = out.iter().map(Vec::len).sum::<usize>(), "state updated");
        Ok(Some(Lazy::from_batch(Batch::from_partitions(out))))
    }

    fn stateful(&self) -> Option<Arc<dyn StatefulOperator>> {
        Some(self.shared.clone())
    }
}

impl<K: Key + StateData, V: Data, S: StateData> StatefulOperator for UpdateShared<K, V, S> {
    fn operation(&self) -> &'static str {
        "update_state_by_key"
    }

    fn state_time(&self) -> Option<Time> {
        lock(&self.state).time
    }

    fn num_entries(&self) -> usize {
        lock(&self.state).parts.iter().map(FxHashMap::len).sum()
    }

    fn snapshot(&self) -> std::result::Result<StateSnapshot, StateSnapshotError> {
        let st = lock_for_snapshot(&self.state, self.operation())?;
        encode(self.operation(), st.time, &*st)
    }

    fn restore(&self, snapshot: &StateSnapshot) -> std::result::Result<(), StateSnapshotError> {
        let restored: KeyedState<K, S> = decode(self.operation(), snapshot)?;
        // Re-partition by key, so a snapshot stays valid whatever wrote it.
        let n = restored.parts.len();
        let mut parts: Vec<FxHashMap<K, S>> = (0..n).map(|_| FxHashMap::default()).collect();
        for (k, s) in restored.parts.into_iter().flatten() {
            parts[partition_of(&k, n)].insert(k, s);
        }
        replace(
            &self.state,
            KeyedState {
                time: restored.time,
                started: restored.started,
                parts,
            },
        );
        Ok(())
    }
}

/// Adds the `update_state_by_key` node.
pub(crate) fn update_state_by_key<K, V, S>(
    parent: &DStream<(K, V)>,
    f: UpdateFn<K, V, S>,
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
            initial,
            slide,
            state: Mutex::new(KeyedState {
                time: None,
                started: false,
                parts: Vec::new(),
            }),
        }),
    };
    parent.derive("update_state_by_key", slide, op)
}
