//! The algorithms of the stateful operations: per-key state carried from
//! batch to batch (`update_state_by_key` in `update`, `map_with_state` in
//! `map_with_state`). Their `DStream` methods are in `dstream/ops/state.rs`;
//! the trait through which checkpoints save and restore every stateful
//! operator's state is [`StatefulOperator`](crate::StatefulOperator)
//! (`graph/stateful.rs`).
//!
//! Keyed state is hash partitioned by key (the context's parallelism, or
//! the partitions asked for) and each batch updates the partitions in
//! parallel. Each partition is a [`cow::CowMap`]: copy-on-write shards that
//! a checkpoint captures without copying or encoding an entry on the
//! executor (the writer thread encodes the capture).
//!
//! # Why state types are serializable
//! Stateful operations require a checkpoint directory (as in Spark: an
//! error at `start` otherwise), and the checkpoint exists to hold their
//! state. So their keys and state values (and, for incremental windows,
//! values) are [`StateData`]: `serde` serializable. Operations that keep no
//! state of their own (`window`, `reduce_by_key_and_window` without an
//! inverse, ...) need no checkpoint and no `serde`.

pub(crate) mod cow;
mod map_with_state;
mod update;

use std::time::Duration;

use rayon::prelude::*;

use crate::batch::{Data, Key, Partitioned};
use crate::error::{Result, StreamingError};
use crate::graph::env::Env;
use crate::time::Time;

pub(crate) use crate::graph::stateful::{
    atomically, decode, lock, lock_for_snapshot, lock_intact, replace, CapturedState, StateData,
    StateSnapshot, StateSnapshotError, StatefulOperator, Transactional,
};
pub(crate) use map_with_state::{map_with_state, state_snapshots};
pub use map_with_state::{
    BoxedMappingFn, MapWithStateDStream, Mapping, MappingFunction, MappingWithTime, State,
    StateError, StateSpec,
};
pub(crate) use update::{update_state_by_key, UpdateFn};

/// The context's zero time (set at start; operators only run after it).
pub(crate) fn zero_time(env: &Env) -> Result<Time> {
    env.zero_time().ok_or_else(|| {
        StreamingError::IllegalState("a stateful operator ran before the context started".into())
    })
}

/// Fails a request for a batch time the state has already moved past (its
/// batch was dropped from memory and cannot be recomputed).
pub(crate) fn check_order(operation: &str, last: Option<Time>, time: Time) -> Result<()> {
    match last {
        Some(last) if time <= last => Err(StreamingError::BatchFailed {
            time,
            message: format!(
                "{operation} keeps state and has already moved on to {last}; its batch for {time} is no longer available"
            ),
        }),
        _ => Ok(()),
    }
}

/// The batch times an operator sliding by `slide` has not folded in yet,
/// after `last` (or the zero time) up to `time`, oldest first. Normally just
/// `time`; more when no consumer asked for the operator's batch at some
/// times, so that the state still sees every batch.
pub(crate) fn pending_times(
    last: Option<Time>,
    time: Time,
    slide: Duration,
    zero: Time,
) -> Vec<Time> {
    let mut t = last.unwrap_or(zero).max(zero) + slide;
    let mut out = Vec::new();
    while t <= time {
        out.push(t);
        t = t + slide;
    }
    out
}

/// The partition of `key` among `n` for keyed state and panes: the
/// shuffles' own choice ([`crate::batch::shuffle::partition_of`], fixed-seed
/// FxHash), so keyed state is laid out like a shuffle's output. Stateful
/// operators partition by this function themselves and re-partition restored
/// snapshots with it.
pub(crate) use crate::batch::shuffle::partition_of;

/// Hash partitions `src` by key into `n` partitions, keeping the order of
/// the elements of each key (input partition order, then position).
pub(crate) fn partition_by_key<K: Key, V: Data, P: Partitioned<(K, V)> + ?Sized>(
    src: &P,
    n: usize,
) -> Vec<Vec<(K, V)>> {
    let buckets: Vec<Vec<Vec<(K, V)>>> = (0..src.num_partitions())
        .into_par_iter()
        .map(|i| {
            let mut b: Vec<Vec<(K, V)>> = (0..n).map(|_| Vec::new()).collect();
            for (k, v) in src.partition_iter(i) {
                b[partition_of(&k, n)].push((k, v));
            }
            b
        })
        .collect();
    let mut out: Vec<Vec<(K, V)>> = (0..n).map(|_| Vec::new()).collect();
    for row in buckets {
        for (j, part) in row.into_iter().enumerate() {
            out[j].extend(part);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::Batch;
    use crate::graph::stateful::encode;

    #[test]
    fn pending_times_catch_up_on_skipped_batches() {
        let s = Duration::from_secs(1);
        let t = |ms| Time::from_millis(ms);
        assert_eq!(pending_times(None, t(1000), s, Time::ZERO), vec![t(1000)]);
        assert_eq!(
            pending_times(Some(t(1000)), t(3000), s, Time::ZERO),
            vec![t(2000), t(3000)]
        );
        assert!(pending_times(Some(t(3000)), t(3000), s, Time::ZERO).is_empty());
    }

    #[test]
    fn partition_by_key_keeps_each_keys_order() {
        let b = Batch::split(vec![(1, 'a'), (2, 'b'), (1, 'c'), (2, 'd'), (1, 'e')], 2);
        let parts = partition_by_key(&b, 3);
        let of_key = |k: i32| -> Vec<char> {
            parts
                .iter()
                .flatten()
                .filter(|(key, _)| *key == k)
                .map(|(_, v)| *v)
                .collect()
        };
        assert_eq!(of_key(1), vec!['a', 'c', 'e']);
        assert_eq!(of_key(2), vec!['b', 'd']);
        for (j, p) in parts.iter().enumerate() {
            assert!(p.iter().all(|(k, _)| partition_of(k, 3) == j));
        }
    }

    #[test]
    fn snapshots_refuse_another_operation() {
        let snap = encode("update_state_by_key", None, &vec![1u8, 2, 3]).unwrap();
        let err = decode::<Vec<u8>>("map_with_state", &snap).unwrap_err();
        assert!(matches!(err, StateSnapshotError::Mismatch { .. }), "{err}");
        assert_eq!(
            decode::<Vec<u8>>("update_state_by_key", &snap).unwrap(),
            vec![1, 2, 3]
        );
        let bad = StateSnapshot {
            bytes: vec![0xff; 3],
            ..snap
        };
        assert!(matches!(
            decode::<Vec<String>>("update_state_by_key", &bad),
            Err(StateSnapshotError::Decode { .. })
        ));
    }
}
