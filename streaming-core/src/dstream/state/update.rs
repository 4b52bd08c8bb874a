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
    check_order, decode, encode, lock, partition_by_key, partition_of, pending_times, zero_time,
    StateData, StateSnapshot, StateSnapshotError, StatefulOperator,
};
use crate::batch::{Batch, Data, Key, Lazy};
use crate::context::env::Env;
use crate::dstream::node::{Node, Operator};
use crate::dstream::DStream;
use crate::error::Result;
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
        let mut st = lock(&sh.state);
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

    fn always_memoize(&self) -> bool {
        true
    }

    fn requires_checkpoint(&self) -> bool {
        true
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
        let st = lock(&self.state);
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
        *lock(&self.state) = KeyedState {
            time: restored.time,
            started: restored.started,
            parts,
        };
        Ok(())
    }
}

impl<K: Key, V: Data> DStream<(K, V)> {
    /// Adds the `update_state_by_key` node.
    fn state_node<S: StateData>(
        &self,
        f: UpdateFn<K, V, S>,
        initial: Option<Batch<(K, S)>>,
    ) -> DStream<(K, S)>
    where
        K: StateData,
    {
        let slide = self.slide_duration();
        let op = UpdateStateOp {
            parent: self.node.clone(),
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
        self.derive("update_state_by_key", slide, op)
    }

    /// Keeps a state per key across batches (Spark's `updateStateByKey`):
    /// every batch, `f(new_values, state)` runs for every key with state or
    /// new values (`new_values` is empty for keys without new data, in
    /// arrival order otherwise) and returns the key's new state, `None`
    /// removing the key. Each batch holds every key's state.
    ///
    /// Needs a checkpoint directory (an error at `start` otherwise). The
    /// state is partitioned by key and updated in parallel.
    ///
    /// ```
    /// use streaming_testkit::run_operation;
    /// let out = run_operation(
    ///     vec![vec!["a", "b"], vec!["a"]],
    ///     |words| {
    ///         words.map(|w| (w.to_string(), 1u64)).update_state_by_key(
    ///             |new: &[u64], old: Option<u64>| Some(old.unwrap_or(0) + new.iter().sum::<u64>()),
    ///         )
    ///     },
    ///     2,
    /// );
    /// let mut second = out[1].clone();
    /// second.sort();
    /// assert_eq!(second, vec![("a".to_string(), 2), ("b".to_string(), 1)]);
    /// ```
    pub fn update_state_by_key<S: StateData>(
        &self,
        f: impl Fn(&[V], Option<S>) -> Option<S> + Send + Sync + 'static,
    ) -> DStream<(K, S)>
    where
        K: StateData,
    {
        self.state_node(Arc::new(move |_, _, vs, s| f(vs, s)), None)
    }

    /// [`update_state_by_key`](Self::update_state_by_key) starting from
    /// `initial` (merged in with the first batch, as in Spark).
    pub fn update_state_by_key_with_initial<S: StateData>(
        &self,
        f: impl Fn(&[V], Option<S>) -> Option<S> + Send + Sync + 'static,
        initial: Batch<(K, S)>,
    ) -> DStream<(K, S)>
    where
        K: StateData,
    {
        self.state_node(Arc::new(move |_, _, vs, s| f(vs, s)), Some(initial))
    }

    /// [`update_state_by_key`](Self::update_state_by_key) whose function
    /// also gets the batch time and the key:
    /// `f(time, key, new_values, state)`.
    pub fn update_state_by_key_with_time<S: StateData>(
        &self,
        f: impl Fn(Time, &K, &[V], Option<S>) -> Option<S> + Send + Sync + 'static,
    ) -> DStream<(K, S)>
    where
        K: StateData,
    {
        self.state_node(Arc::new(f), None)
    }
}
