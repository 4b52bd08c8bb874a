//! `map_with_state` (Spark's `mapWithState`): per-key state that the mapping
//! function reads and changes through a [`State`] handle, called only for
//! the records of the batch and for keys that time out.
//!
//! Per batch, for each record `(k, v)` in arrival order, the function runs
//! with `Some(v)` and the key's state, and what it returns goes into the
//! output. With a timeout, a key that received no record for longer than the
//! timeout (its last record is older than `batch time - timeout`) is then
//! called once more with `None` and a state that is timing out, and removed.
//! Keys timing out are found through a log of update times, so a batch costs
//! its records plus the keys that time out, not the size of the state.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::hash::Hash;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::cow::{hash_key, CowMap, Frozen};
use super::update::initial_parts;
use super::{
    atomically, check_order, decode, lock, lock_for_snapshot, lock_intact, partition_by_key,
    partition_of, pending_times, replace, zero_time, CapturedState, StateData, StateSnapshot,
    StateSnapshotError, StatefulOperator, Transactional,
};
use crate::batch::{Batch, Data, Key, Lazy};
use crate::dstream::DStream;
use crate::error::{Result, StreamingError};
use crate::graph::env::Env;
use crate::graph::node::{Node, Operator};
use crate::time::Time;

/// Misuse of a [`State`] handle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// `update` on a state that is timing out.
    #[error("cannot update the state that is timing out")]
    UpdateTimingOut,
    /// `remove` on a state that is timing out (it is removed anyway).
    #[error("cannot remove the state that is timing out")]
    RemoveTimingOut,
    /// `update` after `remove` in the same call.
    #[error("cannot update the state after it has been removed")]
    UpdateRemoved,
    /// `remove` twice in the same call.
    #[error("cannot remove the state that has already been removed")]
    RemoveRemoved,
}

/// The state of one key, as the mapping function of
/// [`map_with_state`](DStream::map_with_state) sees it (Spark's `State`).
#[derive(Debug)]
pub struct State<S> {
    value: Option<S>,
    updated: bool,
    removed: bool,
    timing_out: bool,
}

impl<S> State<S> {
    fn wrap(value: Option<S>) -> Self {
        State {
            value,
            updated: false,
            removed: false,
            timing_out: false,
        }
    }

    /// A key's state for a mapping function called outside
    /// [`map_with_state`](DStream::map_with_state), by an operator that
    /// keeps its state elsewhere (per Kafka partition, for instance):
    /// `value` is the key's current state. Read the outcome with
    /// [`into_state`](Self::into_state).
    pub fn detached(value: Option<S>) -> Self {
        Self::wrap(value)
    }

    /// The key's state after the mapping function ran: `None` if it was
    /// removed or never set.
    pub fn into_state(self) -> Option<S> {
        if self.removed {
            None
        } else {
            self.value
        }
    }

    /// Whether the key has a state.
    pub fn exists(&self) -> bool {
        self.value.is_some() && !self.removed
    }

    /// The key's state, if it has one.
    pub fn get(&self) -> Option<&S> {
        if self.removed {
            None
        } else {
            self.value.as_ref()
        }
    }

    /// Sets the key's state.
    ///
    /// # Panics
    /// If the state is timing out or was removed in this call (see
    /// [`try_update`](Self::try_update)); the batch then fails.
    pub fn update(&mut self, state: S) {
        if let Err(e) = self.try_update(state) {
            panic!("{e}");
        }
    }

    /// Sets the key's state; an error if it is timing out or was removed
    /// in this call.
    pub fn try_update(&mut self, state: S) -> std::result::Result<(), StateError> {
        if self.removed {
            return Err(StateError::UpdateRemoved);
        }
        if self.timing_out {
            return Err(StateError::UpdateTimingOut);
        }
        self.value = Some(state);
        self.updated = true;
        Ok(())
    }

    /// Removes the key's state.
    ///
    /// # Panics
    /// If the state is timing out or was already removed (see
    /// [`try_remove`](Self::try_remove)); the batch then fails.
    pub fn remove(&mut self) {
        if let Err(e) = self.try_remove() {
            panic!("{e}");
        }
    }

    /// Removes the key's state; an error if it is timing out (it is removed
    /// anyway) or was already removed.
    pub fn try_remove(&mut self) -> std::result::Result<(), StateError> {
        if self.timing_out {
            return Err(StateError::RemoveTimingOut);
        }
        if self.removed {
            return Err(StateError::RemoveRemoved);
        }
        self.removed = true;
        self.updated = false;
        Ok(())
    }

    /// Whether this call is the one made because the key timed out (its
    /// value is then `None`, and the state is removed after the call).
    pub fn is_timing_out(&self) -> bool {
        self.timing_out
    }
}

/// The mapping function of a [`StateSpec`] boxed, in its most general form
/// (`f(time, key, value, state) -> Option<output>`): the function type of
/// `StateSpec<K, V, S, U>`, what [`StateSpec::boxed`] makes.
pub type BoxedMappingFn<K, V, S, U> =
    Arc<dyn Fn(Time, &K, Option<V>, &mut State<S>) -> Option<U> + Send + Sync>;

/// The function a [`StateSpec`] holds: a type parameter of the spec and of
/// the `map_with_state` operator, so that its calls are monomorphized.
/// Implemented by what [`StateSpec::function`] and
/// [`StateSpec::function_with_time`] wrap, and by [`BoxedMappingFn`].
pub trait MappingFunction<K, V, S, U>: Send + Sync + 'static {
    /// Maps one value of `key` at batch `time` (`value` is `None` only in
    /// the call made when the key times out).
    fn call(&self, time: Time, key: &K, value: Option<V>, state: &mut State<S>) -> Option<U>;
}

impl<K: 'static, V: 'static, S: 'static, U: 'static> MappingFunction<K, V, S, U>
    for BoxedMappingFn<K, V, S, U>
{
    #[inline]
    fn call(&self, time: Time, key: &K, value: Option<V>, state: &mut State<S>) -> Option<U> {
        self(time, key, value, state)
    }
}

/// The function of [`StateSpec::function`]: `f(key, value, state) -> output`.
#[derive(Clone)]
pub struct Mapping<G>(G);

impl<K, V, S, U, G> MappingFunction<K, V, S, U> for Mapping<G>
where
    G: Fn(&K, Option<V>, &mut State<S>) -> U + Send + Sync + 'static,
{
    #[inline]
    fn call(&self, _time: Time, key: &K, value: Option<V>, state: &mut State<S>) -> Option<U> {
        Some((self.0)(key, value, state))
    }
}

/// The function of [`StateSpec::function_with_time`]:
/// `f(time, key, value, state) -> Option<output>`.
#[derive(Clone)]
pub struct MappingWithTime<G>(G);

impl<K, V, S, U, G> MappingFunction<K, V, S, U> for MappingWithTime<G>
where
    G: Fn(Time, &K, Option<V>, &mut State<S>) -> Option<U> + Send + Sync + 'static,
{
    #[inline]
    fn call(&self, time: Time, key: &K, value: Option<V>, state: &mut State<S>) -> Option<U> {
        (self.0)(time, key, value, state)
    }
}

/// What [`map_with_state`](DStream::map_with_state) does (Spark's
/// `StateSpec`): the mapping function and, optionally, a timeout for idle
/// keys, an initial state and a number of state partitions.
///
/// The function's type is the last type parameter, so `map_with_state`
/// calls it without dynamic dispatch; `StateSpec<K, V, S, U>` names a spec
/// with a boxed function ([`boxed`](Self::boxed) makes one), for specs of
/// several functions in one variable or collection.
///
/// ```
/// use streaming_testkit::run_operation;
/// use streaming_core::{State, StateSpec};
/// use std::time::Duration;
///
/// // A running count per word, emitted with each occurrence.
/// let spec = StateSpec::function(|word: &String, one: Option<u64>, state: &mut State<u64>| {
///     let count = state.get().copied().unwrap_or(0) + one.unwrap_or(0);
///     state.update(count);
///     (word.clone(), count)
/// })
/// .timeout(Duration::from_secs(10));
/// let out = run_operation(
///     vec![vec!["a", "a"], vec!["a"]],
///     move |words| words.map(|w| (w.to_string(), 1u64)).map_with_state(spec).into_dstream(),
///     2,
/// );
/// assert_eq!(out[0], vec![("a".to_string(), 1), ("a".to_string(), 2)]);
/// assert_eq!(out[1], vec![("a".to_string(), 3)]);
/// ```
pub struct StateSpec<K, V, S, U, F = BoxedMappingFn<K, V, S, U>> {
    func: F,
    timeout: Option<Duration>,
    initial: Option<Batch<(K, S)>>,
    partitions: Option<usize>,
    _types: PhantomData<fn(V) -> U>,
}

impl<K, V, S, U, F: Clone> Clone for StateSpec<K, V, S, U, F> {
    fn clone(&self) -> Self {
        StateSpec {
            func: self.func.clone(),
            timeout: self.timeout,
            initial: self.initial.clone(),
            partitions: self.partitions,
            _types: PhantomData,
        }
    }
}

impl<K, V, S, U, F> fmt::Debug for StateSpec<K, V, S, U, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.info().fmt(f)
    }
}

impl<K: Data, V: Data, S: Data, U: Data> StateSpec<K, V, S, U> {
    /// A spec with the mapping function `f(key, value, state) -> output`.
    /// `value` is `None` only in the call made when the key times out.
    pub fn function<G>(f: G) -> StateSpec<K, V, S, U, Mapping<G>>
    where
        G: Fn(&K, Option<V>, &mut State<S>) -> U + Send + Sync + 'static,
    {
        StateSpec::with(Mapping(f))
    }

    /// A spec whose function also gets the batch time and may produce no
    /// output: `f(time, key, value, state) -> Option<output>`.
    pub fn function_with_time<G>(f: G) -> StateSpec<K, V, S, U, MappingWithTime<G>>
    where
        G: Fn(Time, &K, Option<V>, &mut State<S>) -> Option<U> + Send + Sync + 'static,
    {
        StateSpec::with(MappingWithTime(f))
    }
}

impl<K, V, S, U, F> StateSpec<K, V, S, U, F> {
    fn with(func: F) -> Self {
        StateSpec {
            func,
            timeout: None,
            initial: None,
            partitions: None,
            _types: PhantomData,
        }
    }

    /// What the spec says besides its function.
    fn info(&self) -> SpecInfo {
        SpecInfo {
            timeout: self.timeout,
            initial_state: self.initial.as_ref().map(Batch::len),
            num_partitions: self.partitions,
        }
    }
}

impl<K: Data, V: Data, S: Data, U: Data, F: MappingFunction<K, V, S, U>> StateSpec<K, V, S, U, F> {
    /// Removes keys that received no record for longer than `timeout`,
    /// after one last call with `None` and a timing-out state.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The state to start from.
    pub fn initial_state(mut self, initial: impl Into<Batch<(K, S)>>) -> Self {
        self.initial = Some(initial.into());
        self
    }

    /// Number of partitions of the state (default: the context's
    /// parallelism).
    pub fn num_partitions(mut self, n: usize) -> Self {
        self.partitions = Some(n.max(1));
        self
    }

    /// The same spec with its function boxed: a `StateSpec<K, V, S, U>`,
    /// one type whatever the function.
    pub fn boxed(self) -> StateSpec<K, V, S, U> {
        let f = self.func;
        StateSpec {
            func: Arc::new(move |t: Time, k: &K, v: Option<V>, s: &mut State<S>| {
                f.call(t, k, v, s)
            }),
            timeout: self.timeout,
            initial: self.initial,
            partitions: self.partitions,
            _types: PhantomData,
        }
    }
}

/// A spec's settings, for `Debug`.
#[derive(Clone, Debug)]
#[allow(dead_code)] // read by `Debug`
struct SpecInfo {
    timeout: Option<Duration>,
    initial_state: Option<usize>,
    num_partitions: Option<usize>,
}

/// One partition of the state: value and last update time per key, and,
/// with a timeout, the keys in order of update (entries made stale by a
/// later update are skipped when their turn comes).
struct StatePartition<K, S> {
    map: CowMap<K, (S, Time)>,
    log: VecDeque<(Time, Vec<K>)>,
    /// The log entries the batch in progress timed out, oldest first, to
    /// put back if it fails (entries it added are skipped as stale when
    /// their turn comes, since the keys' times are rolled back).
    popped: Vec<(Time, Vec<K>)>,
}

impl<K: Key, S: Data> Transactional for StatePartition<K, S> {
    fn begin(&mut self) {
        self.popped.clear();
        self.map.begin();
    }

    fn commit(&mut self) {
        self.popped.clear();
        self.map.commit();
    }

    fn rollback(&mut self) {
        self.map.rollback();
        for entry in self.popped.drain(..).rev() {
            self.log.push_front(entry);
        }
    }
}

impl<K: Key, S: Data> StatePartition<K, S> {
    fn new(map: CowMap<K, (S, Time)>, track: bool) -> Self {
        let mut p = StatePartition {
            map,
            log: VecDeque::new(),
            popped: Vec::new(),
        };
        if track {
            p.rebuild_log();
        }
        p
    }

    fn rebuild_log(&mut self) {
        let mut by_time: BTreeMap<Time, Vec<K>> = BTreeMap::new();
        for (k, (_, t)) in self.map.iter() {
            by_time.entry(*t).or_default().push(k.clone());
        }
        self.log = by_time.into_iter().collect();
    }

    fn log_update(&mut self, k: &K, time: Time) {
        match self.log.back_mut() {
            Some((t, keys)) if *t == time => keys.push(k.clone()),
            _ => self.log.push_back((time, vec![k.clone()])),
        }
    }

    /// Runs the mapping function over one batch's records of this
    /// partition, then over the keys that time out.
    fn process<V, U, R: Records<V>>(
        &mut self,
        records: Vec<(K, R)>,
        time: Time,
        threshold: Option<Time>,
        f: &impl MappingFunction<K, V, S, U>,
    ) -> Vec<U> {
        let mut out = Vec::new();
        let track = threshold.is_some();
        for (k, values) in records {
            let h = hash_key(&k);
            // The key's state as each of its values of the batch is
            // mapped in turn (taken out once, put back once).
            let mut cur: Option<(S, Time)> = self.map.remove(h, &k).map(|(_, st)| st);
            values.for_each_value(|v| {
                let (old, old_time) = match cur.take() {
                    Some((s, t)) => (Some(s), Some(t)),
                    None => (None, None),
                };
                let mut state = State::wrap(old);
                if let Some(u) = f.call(time, &k, Some(v), &mut state) {
                    out.push(u);
                }
                if state.removed {
                    return;
                }
                let Some(value) = state.value else { return };
                // A record refreshes the key's update time when the
                // function updated the state, or when idle keys time out
                // (as Spark).
                let t = match old_time {
                    Some(t) if !state.updated && !track => t,
                    _ => time,
                };
                if track && Some(t) != old_time {
                    self.log_update(&k, t);
                }
                cur = Some((value, t));
            });
            if let Some(st) = cur {
                self.map.insert(h, k, st);
            }
        }
        if let Some(threshold) = threshold {
            while let Some((t, keys)) = self.log.front().filter(|(t, _)| *t < threshold) {
                let t = *t;
                for k in keys {
                    let h = hash_key(k);
                    if self.map.get(h, k).is_some_and(|(_, u)| *u == t) {
                        let (_, (s, _)) = self.map.remove(h, k).expect("checked");
                        let mut state = State::wrap(Some(s));
                        state.timing_out = true;
                        if let Some(u) = f.call(time, k, None, &mut state) {
                            out.push(u);
                        }
                    }
                }
                // Popped once all its keys are done (a panic above leaves
                // it in the log).
                self.popped.extend(self.log.pop_front());
            }
        }
        out
    }
}

struct Store<K, S> {
    time: Option<Time>,
    parts: Vec<StatePartition<K, S>>,
    /// `time`, and whether `parts` was empty, before the batch in progress.
    before: Option<(Option<Time>, bool)>,
}

impl<K: Key, S: Data> Transactional for Store<K, S> {
    fn begin(&mut self) {
        self.before = Some((self.time, self.parts.is_empty()));
        self.parts.iter_mut().for_each(Transactional::begin);
    }

    fn commit(&mut self) {
        self.before = None;
        self.parts.iter_mut().for_each(Transactional::commit);
    }

    fn rollback(&mut self) {
        let Some((time, empty)) = self.before.take() else {
            return;
        };
        self.time = time;
        if empty {
            self.parts.clear();
        } else {
            self.parts.iter_mut().for_each(Transactional::rollback);
        }
    }
}

/// A captured store, encoded on the checkpoint writer thread.
#[derive(Serialize)]
#[serde(bound(serialize = "K: Serialize, S: Serialize"))]
struct SnapshotView<K, S> {
    time: Option<Time>,
    parts: Vec<Frozen<K, (S, Time)>>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "K: Deserialize<'de> + Eq + Hash, S: Deserialize<'de>"))]
struct SnapshotOwned<K, S> {
    time: Option<Time>,
    parts: Vec<FxHashMap<K, (S, Time)>>,
}

/// Spec and state of one `map_with_state`, shared by its nodes and by
/// checkpointing.
pub(crate) struct MapWithStateShared<K, V, S, U, F> {
    spec: StateSpec<K, V, S, U, F>,
    slide: Duration,
    store: Arc<Mutex<Store<K, S>>>,
}

/// The values a `map_with_state` record carries for its key: one value,
/// or a group of values in arrival order (a grouped input,
/// `DStream::map_with_state_grouped`).
pub(crate) trait Records<V>: Data {
    /// Calls `f` on each value, in order.
    fn for_each_value(self, f: impl FnMut(V));
}

impl<V: Data> Records<V> for V {
    fn for_each_value(self, mut f: impl FnMut(V)) {
        f(self)
    }
}

impl<V: Data> Records<V> for Vec<V> {
    fn for_each_value(self, f: impl FnMut(V)) {
        self.into_iter().for_each(f)
    }
}

struct MapWithStateOp<K, V, S, U, R, F> {
    parent: Arc<Node<(K, R)>>,
    shared: Arc<MapWithStateShared<K, V, S, U, F>>,
}

impl<K, V, S, U, R, F> Operator<U> for MapWithStateOp<K, V, S, U, R, F>
where
    K: Key + StateData,
    V: Data,
    S: StateData,
    U: Data,
    R: Records<V>,
    F: MappingFunction<K, V, S, U>,
{
    fn compute(&self, time: Time, env: &Env) -> Result<Option<Lazy<U>>> {
        let sh = &*self.shared;
        let zero = zero_time(env)?;
        let mut st = lock_intact(&sh.store, "map_with_state", time)?;
        check_order("map_with_state", st.time, time)?;
        let track = sh.spec.timeout.is_some();
        let last = atomically(&mut *st, time, |st| {
            let mut last = None;
            for t in pending_times(st.time, time, sh.slide, zero) {
                if st.parts.is_empty() {
                    let n = sh.spec.partitions.unwrap_or(env.parallelism()).max(1);
                    st.parts = initial_parts(sh.spec.initial.as_ref(), n)
                        .into_iter()
                        .map(|m| {
                            let m = m.iter().map(|(k, s)| (k.clone(), (s.clone(), t))).collect();
                            StatePartition::new(m, track)
                        })
                        .collect();
                }
                let n = st.parts.len();
                let records = match self.parent.get_lazy(t, env)? {
                    Some(l) => partition_by_key(&l, n),
                    None => (0..n).map(|_| Vec::new()).collect(),
                };
                let threshold = sh.spec.timeout.map(|d| t.saturating_sub(d));
                let f = &sh.spec.func;
                let out: Vec<Vec<U>> = st
                    .parts
                    .par_iter_mut()
                    .zip(records.into_par_iter())
                    .map(|(part, recs)| part.process(recs, t, threshold, f))
                    .collect();
                st.time = Some(t);
                last = Some(out);
            }
            Ok(last)
        });
        if last.is_err() {
            // The failed batch's data is dropped: the state stays as it
            // was, and the next batch does not read the failed one again.
            st.time = Some(time);
        }
        let last = last?;
        let out = last.expect("the requested time is always pending");
        Ok(Some(Lazy::from_batch(Batch::from_partitions(out))))
    }

    fn stateful(&self) -> Option<Arc<dyn StatefulOperator>> {
        Some(self.shared.clone())
    }
}

impl<K, V, S, U, F> StatefulOperator for MapWithStateShared<K, V, S, U, F>
where
    K: Key + StateData,
    V: Data,
    S: StateData,
    U: Data,
    F: MappingFunction<K, V, S, U>,
{
    fn operation(&self) -> &'static str {
        "map_with_state"
    }

    fn state_time(&self) -> Option<Time> {
        lock(&self.store).time
    }

    fn num_entries(&self) -> usize {
        lock(&self.store).parts.iter().map(|p| p.map.len()).sum()
    }

    fn snapshot(&self) -> std::result::Result<StateSnapshot, StateSnapshotError> {
        self.capture()?.encode()
    }

    /// O(partitions × shards): the store's shards are shared with the
    /// capture, never copied or encoded here.
    fn capture(&self) -> std::result::Result<CapturedState, StateSnapshotError> {
        let st = lock_for_snapshot(&self.store, self.operation())?;
        let view = SnapshotView {
            time: st.time,
            parts: st.parts.iter().map(|p| p.map.capture()).collect(),
        };
        Ok(CapturedState::deferred(self.operation(), st.time, view))
    }

    fn restore(&self, snapshot: &StateSnapshot) -> std::result::Result<(), StateSnapshotError> {
        let restored: SnapshotOwned<K, S> = decode(self.operation(), snapshot)?;
        let n = restored.parts.len();
        let mut maps: Vec<CowMap<K, (S, Time)>> = (0..n).map(|_| CowMap::default()).collect();
        for (k, v) in restored.parts.into_iter().flatten() {
            maps[partition_of(&k, n)].insert(hash_key(&k), k, v);
        }
        let track = self.spec.timeout.is_some();
        replace(
            &self.store,
            Store {
                time: restored.time,
                parts: maps
                    .into_iter()
                    .map(|m| StatePartition::new(m, track))
                    .collect(),
                before: None,
            },
        );
        Ok(())
    }
}

/// The state after each batch, read from the `map_with_state` store once
/// that batch has been computed.
struct SnapshotsOp<K, S, U> {
    mapped: Arc<Node<U>>,
    store: Arc<Mutex<Store<K, S>>>,
}

impl<K, S, U> Operator<(K, S)> for SnapshotsOp<K, S, U>
where
    K: Key + StateData,
    S: StateData,
    U: Data,
{
    fn compute(&self, time: Time, env: &Env) -> Result<Option<Lazy<(K, S)>>> {
        if self.mapped.get_batch(time, env)?.is_none() {
            return Ok(None);
        }
        let st = lock_intact(&self.store, "state_snapshots", time)?;
        if st.time != Some(time) {
            return Err(StreamingError::BatchFailed {
                time,
                message: format!(
                    "the state snapshot of map_with_state for {time} is no longer available (the state is at {:?})",
                    st.time
                ),
            });
        }
        let parts: Vec<Vec<(K, S)>> = st
            .parts
            .par_iter()
            .map(|p| {
                p.map
                    .iter()
                    .map(|(k, (s, _))| (k.clone(), s.clone()))
                    .collect()
            })
            .collect();
        Ok(Some(Lazy::from_batch(Batch::from_partitions(parts))))
    }

    fn always_memoize(&self) -> bool {
        true
    }
}

/// The stream returned by [`map_with_state`](DStream::map_with_state): the
/// mapping function's outputs (it dereferences to that `DStream<U>`), plus
/// [`state_snapshots`](Self::state_snapshots).
pub struct MapWithStateDStream<K, V, S, U> {
    pub(crate) stream: DStream<U>,
    store: Arc<Mutex<Store<K, S>>>,
    spec: SpecInfo,
    _values: PhantomData<fn(V)>,
}

impl<K, V, S, U> Clone for MapWithStateDStream<K, V, S, U> {
    fn clone(&self) -> Self {
        MapWithStateDStream {
            stream: self.stream.clone(),
            store: self.store.clone(),
            spec: self.spec.clone(),
            _values: PhantomData,
        }
    }
}

impl<K, V, S, U> fmt::Debug for MapWithStateDStream<K, V, S, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapWithStateDStream")
            .field("stream", &self.stream)
            .field("spec", &self.spec)
            .finish()
    }
}

impl<K, V, S, U> Deref for MapWithStateDStream<K, V, S, U> {
    type Target = DStream<U>;
    fn deref(&self) -> &DStream<U> {
        &self.stream
    }
}

impl<K, V, S, U> From<MapWithStateDStream<K, V, S, U>> for DStream<U> {
    fn from(s: MapWithStateDStream<K, V, S, U>) -> DStream<U> {
        s.stream
    }
}

/// Adds the `map_with_state` node of `parent`, whose records carry one
/// value per key ([`DStream::map_with_state`]) or a group of them
/// (`DStream::map_with_state_grouped`).
pub(crate) fn map_with_state<K, V, S, U, R, F>(
    parent: &DStream<(K, R)>,
    spec: StateSpec<K, V, S, U, F>,
) -> MapWithStateDStream<K, V, S, U>
where
    K: Key + StateData,
    V: Data,
    S: StateData,
    U: Data,
    R: Records<V>,
    F: MappingFunction<K, V, S, U>,
{
    let this = parent;
    let slide = this.slide_duration();
    let store = Arc::new(Mutex::new(Store {
        time: None,
        parts: Vec::new(),
        before: None,
    }));
    let info = spec.info();
    let shared = Arc::new(MapWithStateShared {
        spec,
        slide,
        store: store.clone(),
    });
    let op = MapWithStateOp {
        parent: this.node.clone(),
        shared,
    };
    MapWithStateDStream {
        stream: this.derive("map_with_state", slide, op),
        store,
        spec: info,
        _values: PhantomData,
    }
}

/// Adds the `state_snapshots` node of a `map_with_state` stream.
pub(crate) fn state_snapshots<K, V, S, U>(s: &MapWithStateDStream<K, V, S, U>) -> DStream<(K, S)>
where
    K: Key + StateData,
    V: Data,
    S: StateData,
    U: Data,
{
    let this = s;
    let op = SnapshotsOp {
        mapped: this.stream.node.clone(),
        store: this.store.clone(),
    };
    this.stream
        .derive("state_snapshots", this.stream.slide_duration(), op)
}
