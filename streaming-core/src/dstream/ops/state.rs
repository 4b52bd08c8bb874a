//! Stateful operators (the `state` family of `stream!`'s operator table,
//! `streaming-dsl/src/ops/state.rs`): per-key state carried from batch to
//! batch. The algorithms live in `dstream/state/`.

use std::sync::Arc;

use crate::batch::{Batch, Data, Key};
use crate::dstream::state::{self, MapWithStateDStream, MappingFunction, StateSpec};
use crate::dstream::DStream;
use crate::graph::stateful::{StateData, StatefulOperator};
use crate::time::Time;

impl<T: Data> DStream<T> {
    /// The state of the operator that computes this stream, when it keeps
    /// state across batches (the stream returned by `update_state_by_key`,
    /// `map_with_state`, `reduce_by_key_and_window_inv`,
    /// `count_by_value_and_window`); `None` otherwise.
    pub fn stateful_operator(&self) -> Option<Arc<dyn StatefulOperator>> {
        use crate::graph::node::AnyNode;
        self.node.stateful()
    }
}

impl<K: Key, V: Data> DStream<(K, V)> {
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
        state::update_state_by_key(self, move |_: Time, _: &K, vs: &[V], s| f(vs, s), None)
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
        state::update_state_by_key(
            self,
            move |_: Time, _: &K, vs: &[V], s| f(vs, s),
            Some(initial),
        )
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
        state::update_state_by_key(self, f, None)
    }
    /// Keeps a state per key that `spec`'s function reads and changes
    /// through a [`State`](crate::State) handle (Spark's `mapWithState`). The function is
    /// called for each record of a batch, in arrival order, with the
    /// record's value, and once more for each key that times out (see
    /// [`StateSpec::timeout`]); the returned stream holds its outputs, and
    /// [`state_snapshots`](MapWithStateDStream::state_snapshots) the full
    /// state after each batch. A batch is produced at every batch time.
    ///
    /// Needs a checkpoint directory (an error at `start` otherwise). The
    /// state is partitioned by key and updated in parallel.
    pub fn map_with_state<S: StateData, U: Data, F: MappingFunction<K, V, S, U>>(
        &self,
        spec: StateSpec<K, V, S, U, F>,
    ) -> MapWithStateDStream<K, V, S, U>
    where
        K: StateData,
    {
        state::map_with_state(self, spec)
    }
}

/// Keys with groups of new values (what `group_by_key` makes, or the
/// grouping combine `stream!` fuses a narrow chain into): the same state
/// updates, each key's groups taken as its new values, in order.
impl<K: Key, V: Data> DStream<(K, Vec<V>)> {
    /// [`update_state_by_key`](DStream::update_state_by_key) on groups: the
    /// function sees, per key, the values of its groups of the batch,
    /// concatenated in order (without a copy for the one group per key a
    /// grouping makes). So `s.group_by_key().update_state_by_key_grouped(f)`
    /// equals `s.update_state_by_key(f)`, and a `stream!` chain feeding
    /// `update_state_by_key` compiles to this after a combine that runs the
    /// chain in its loop.
    ///
    /// ```
    /// use streaming_testkit::run_operation;
    /// let input = vec![vec![(1u8, 2i64), (1, 3)], vec![(1, 4)]];
    /// let sum = |vs: &[i64], s: Option<i64>| Some(s.unwrap_or(0) + vs.iter().sum::<i64>());
    /// let grouped = run_operation(input.clone(), move |s| s.group_by_key().update_state_by_key_grouped(sum), 2);
    /// let plain = run_operation(input, move |s| s.update_state_by_key(sum), 2);
    /// assert_eq!(grouped, plain);
    /// assert_eq!(grouped, vec![vec![(1, 5)], vec![(1, 9)]]);
    /// ```
    pub fn update_state_by_key_grouped<S: StateData>(
        &self,
        f: impl Fn(&[V], Option<S>) -> Option<S> + Send + Sync + 'static,
    ) -> DStream<(K, S)>
    where
        K: StateData,
    {
        state::update_state_by_key(self, ungroup(move |_, _, vs, s| f(vs, s)), None)
    }

    /// [`update_state_by_key_with_initial`](DStream::update_state_by_key_with_initial)
    /// on groups (see [`update_state_by_key_grouped`](Self::update_state_by_key_grouped)).
    pub fn update_state_by_key_grouped_with_initial<S: StateData>(
        &self,
        f: impl Fn(&[V], Option<S>) -> Option<S> + Send + Sync + 'static,
        initial: Batch<(K, S)>,
    ) -> DStream<(K, S)>
    where
        K: StateData,
    {
        state::update_state_by_key(self, ungroup(move |_, _, vs, s| f(vs, s)), Some(initial))
    }

    /// [`update_state_by_key_with_time`](DStream::update_state_by_key_with_time)
    /// on groups (see [`update_state_by_key_grouped`](Self::update_state_by_key_grouped)).
    pub fn update_state_by_key_grouped_with_time<S: StateData>(
        &self,
        f: impl Fn(Time, &K, &[V], Option<S>) -> Option<S> + Send + Sync + 'static,
    ) -> DStream<(K, S)>
    where
        K: StateData,
    {
        state::update_state_by_key(self, ungroup(f), None)
    }

    /// [`map_with_state`](DStream::map_with_state) on groups: `spec`'s
    /// function is called for each value of each key's groups, in order,
    /// as it is for each record of an ungrouped stream. So
    /// `s.group_by_key().map_with_state_grouped(spec)` gives what
    /// `s.map_with_state(spec)` gives (the order of a batch's outputs
    /// across keys aside), and a `stream!` chain feeding `map_with_state`
    /// compiles to this after a combine that runs the chain in its loop.
    ///
    /// ```
    /// use streaming_core::{State, StateSpec};
    /// use streaming_testkit::run_operation;
    /// let spec = || StateSpec::function(|k: &u8, v: Option<i64>, st: &mut State<i64>| {
    ///     let total = st.get().copied().unwrap_or(0) + v.unwrap_or(0);
    ///     st.update(total);
    ///     (*k, total)
    /// });
    /// let input = vec![vec![(1u8, 2i64), (2, 1), (1, 3)], vec![(1, 4)]];
    /// let sorted = |mut b: Vec<Vec<(u8, i64)>>| { b.iter_mut().for_each(|v| v.sort()); b };
    /// let grouped = run_operation(input.clone(), move |s| s.group_by_key().map_with_state_grouped(spec()).into_dstream(), 2);
    /// let plain = run_operation(input, move |s| s.map_with_state(spec()).into_dstream(), 2);
    /// assert_eq!(sorted(grouped.clone()), sorted(plain));
    /// assert_eq!(sorted(grouped), vec![vec![(1, 2), (1, 5), (2, 1)], vec![(1, 9)]]);
    /// ```
    pub fn map_with_state_grouped<S: StateData, U: Data, F: MappingFunction<K, V, S, U>>(
        &self,
        spec: StateSpec<K, V, S, U, F>,
    ) -> MapWithStateDStream<K, V, S, U>
    where
        K: StateData,
    {
        state::map_with_state(self, spec)
    }
}

/// An update function of values as one of groups of values: the groups of
/// a key are its values in order (borrowed when there is one group).
fn ungroup<K, V: Clone, S>(
    f: impl Fn(Time, &K, &[V], Option<S>) -> Option<S> + Send + Sync + 'static,
) -> impl state::UpdateFn<K, Vec<V>, S> {
    move |t: Time, k: &K, groups: &[Vec<V>], s: Option<S>| match groups {
        [] => f(t, k, &[], s),
        [one] => f(t, k, one, s),
        many => f(t, k, &many.concat(), s),
    }
}

impl<K, V, S, U> MapWithStateDStream<K, V, S, U>
where
    K: Key + StateData,
    V: Data,
    S: StateData,
    U: Data,
{
    /// The stream of the mapping function's outputs.
    pub fn into_dstream(self) -> DStream<U> {
        self.stream
    }

    /// The full state, `(key, state)`, after each batch (Spark's
    /// `stateSnapshots`).
    pub fn state_snapshots(&self) -> DStream<(K, S)> {
        state::state_snapshots(self)
    }
}
