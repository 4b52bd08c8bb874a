//! Stateful operations: per-key state carried from batch to batch
//! (`update_state_by_key`, `map_with_state`), and the one trait through
//! which every stateful operator's state — these and the incremental
//! windows — is saved and restored: [`StatefulOperator`].
//!
//! Keyed state is hash partitioned by key (the context's parallelism, or
//! the partitions asked for) and each batch updates the partitions in
//! parallel.
//!
//! # Why state types are serializable
//! Stateful operations require a checkpoint directory (as in Spark: an
//! error at `start` otherwise), and the checkpoint exists to hold their
//! state. So their keys and state values (and, for incremental windows,
//! values) are [`StateData`]: `serde` serializable. Operations that keep no
//! state of their own (`window`, `reduce_by_key_and_window` without an
//! inverse, ...) need no checkpoint and no `serde`.

mod map_with_state;
mod update;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::DStream;
use crate::batch::{Data, Key, Partitioned};
use crate::context::env::Env;
use crate::error::{Result, StreamingError};
use crate::time::Time;

pub use map_with_state::{MapWithStateDStream, State, StateError, StateSpec};

/// A value kept in operator state: plain data that a checkpoint can
/// serialize (implemented for every `Data + Serialize + DeserializeOwned`).
pub trait StateData: Data + Serialize + DeserializeOwned {}
impl<T: Data + Serialize + DeserializeOwned> StateData for T {}

/// The encoded state of one stateful operator at one batch time.
///
/// `bytes` is the operator's state in the `postcard` encoding of `serde`
/// (compact, self-delimiting); only the operator that produced a snapshot
/// (same operation, same key and value types) can restore it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateSnapshot {
    /// The operation that produced it, e.g. `update_state_by_key`.
    pub operation: String,
    /// The last batch time folded into the state (`None` before the first).
    pub time: Option<Time>,
    /// The encoded state.
    pub bytes: Vec<u8>,
}

/// Why a state snapshot could not be taken or restored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateSnapshotError {
    /// The state could not be encoded.
    #[error("cannot encode the state of {operation}: {source}")]
    Encode {
        /// The operation whose state it is.
        operation: &'static str,
        /// The encoder's error.
        #[source]
        source: postcard::Error,
    },
    /// The bytes are not a state of this operator.
    #[error("cannot decode the state of {operation}: {source}")]
    Decode {
        /// The operation being restored.
        operation: &'static str,
        /// The decoder's error.
        #[source]
        source: postcard::Error,
    },
    /// The snapshot was taken from another kind of operation.
    #[error("a snapshot of {found} cannot restore {expected}")]
    Mismatch {
        /// The operation being restored.
        expected: &'static str,
        /// The operation the snapshot came from.
        found: String,
    },
}

/// The state of an operator that carries state across batches
/// (`update_state_by_key`, `map_with_state`, incremental windows): the one
/// interface checkpointing uses to save and restore it.
///
/// Reach it with [`DStream::stateful_operator`] on the stream an operation
/// returned. Snapshots are consistent: each is taken between two batches.
///
/// ```
/// use streaming_testkit::TestConfig;
/// use streaming_core::{Batch, StatefulOperator};
///
/// let dir = tempfile::tempdir().unwrap();
/// let ssc = TestConfig::default().context(dir.path()).unwrap();
/// let words = ssc.input_stream_from_fn(|_| Some(Batch::from(vec![("a".to_string(), 1u64)])));
/// let counts = words.update_state_by_key(|new: &[u64], old: Option<u64>| {
///     Some(old.unwrap_or(0) + new.iter().sum::<u64>())
/// });
/// let state = counts.stateful_operator().expect("update_state_by_key keeps state");
/// assert_eq!(state.operation(), "update_state_by_key");
/// let snapshot = state.snapshot().unwrap();
/// assert_eq!(snapshot.time, None); // nothing computed yet
/// state.restore(&snapshot).unwrap();
/// ```
pub trait StatefulOperator: Send + Sync + 'static {
    /// The operation, e.g. `update_state_by_key`.
    fn operation(&self) -> &'static str;
    /// The last batch time folded into the state, if any.
    fn state_time(&self) -> Option<Time>;
    /// Number of entries held (keys, plus pane entries for windows).
    fn num_entries(&self) -> usize;
    /// Encodes the current state.
    fn snapshot(&self) -> std::result::Result<StateSnapshot, StateSnapshotError>;
    /// Replaces the state with a snapshot's; the next batch computed must be
    /// later than the snapshot's time.
    fn restore(&self, snapshot: &StateSnapshot) -> std::result::Result<(), StateSnapshotError>;
}

impl<T: Data> DStream<T> {
    /// The state of the operator that computes this stream, when it keeps
    /// state across batches (the stream returned by `update_state_by_key`,
    /// `map_with_state`, `reduce_by_key_and_window_inv`,
    /// `count_by_value_and_window`); `None` otherwise.
    pub fn stateful_operator(&self) -> Option<Arc<dyn StatefulOperator>> {
        use super::node::AnyNode;
        self.node.stateful()
    }
}

/// Encodes a state for a snapshot.
pub(crate) fn encode<T: Serialize>(
    operation: &'static str,
    time: Option<Time>,
    state: &T,
) -> std::result::Result<StateSnapshot, StateSnapshotError> {
    let bytes = postcard::to_stdvec(state)
        .map_err(|source| StateSnapshotError::Encode { operation, source })?;
    Ok(StateSnapshot {
        operation: operation.to_string(),
        time,
        bytes,
    })
}

/// Decodes a snapshot's state, checking it comes from the same operation.
pub(crate) fn decode<T: DeserializeOwned>(
    operation: &'static str,
    snapshot: &StateSnapshot,
) -> std::result::Result<T, StateSnapshotError> {
    if snapshot.operation != operation {
        return Err(StateSnapshotError::Mismatch {
            expected: operation,
            found: snapshot.operation.clone(),
        });
    }
    postcard::from_bytes(&snapshot.bytes)
        .map_err(|source| StateSnapshotError::Decode { operation, source })
}

/// Locks operator state. A user function that panicked while the lock was
/// held has already failed its batch and stopped the context; the state is
/// still readable (for diagnostics), so poisoning is ignored.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

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
