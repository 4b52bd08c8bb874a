//! The one interface through which every stateful operator's state is
//! saved and restored ([`StatefulOperator`], its [`StateSnapshot`]s), and
//! the bound on what state may hold ([`StateData`]). The operators
//! themselves (`update_state_by_key`, `map_with_state`, incremental
//! windows) live in `dstream/`; checkpoints reach their state through
//! [`Operator::stateful`](super::node::Operator::stateful).

use std::sync::{Arc, Mutex, MutexGuard};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::batch::Data;
use crate::time::Time;

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

/// The state of one stateful operator captured between two batches, not
/// encoded yet: what the executor hands the checkpoint writer thread, which
/// [`encode`](Self::encode)s it. The operators of this crate capture their
/// state in O(1) or O(partitions × shards) (copy-on-write state, shared
/// panes): the executor never encodes a state.
pub struct CapturedState {
    inner: Captured,
}

type EncodeFn = Box<dyn FnOnce() -> std::result::Result<Vec<u8>, postcard::Error> + Send>;

/// A deferred encoding: to run, or its result (once run, the captured
/// state itself is dropped, so the operator's shards are no longer shared).
enum Stage {
    Pending(EncodeFn),
    Encoded(std::result::Result<Vec<u8>, postcard::Error>),
    Taken,
}

enum Captured {
    Ready(StateSnapshot),
    Deferred {
        operation: &'static str,
        time: Option<Time>,
        stage: Arc<Mutex<Stage>>,
    },
}

impl CapturedState {
    /// A state already encoded (what the default
    /// [`StatefulOperator::capture`] returns).
    pub fn ready(snapshot: StateSnapshot) -> Self {
        CapturedState {
            inner: Captured::Ready(snapshot),
        }
    }

    /// A state to be encoded later: `state` must own (or share immutably)
    /// everything it serializes.
    pub(crate) fn deferred<T: Serialize + Send + 'static>(
        operation: &'static str,
        time: Option<Time>,
        state: T,
    ) -> Self {
        CapturedState {
            inner: Captured::Deferred {
                operation,
                time,
                stage: Arc::new(Mutex::new(Stage::Pending(Box::new(move || {
                    postcard::to_stdvec(&state)
                })))),
            },
        }
    }

    /// Whether the state is still to be encoded.
    pub fn is_deferred(&self) -> bool {
        match &self.inner {
            Captured::Ready(_) => false,
            Captured::Deferred { stage, .. } => matches!(*lock(stage), Stage::Pending(_)),
        }
    }

    /// The last batch time folded into the state.
    pub fn time(&self) -> Option<Time> {
        match &self.inner {
            Captured::Ready(s) => s.time,
            Captured::Deferred { time, .. } => *time,
        }
    }

    /// Another handle on the same capture (encoding either encodes both).
    pub(crate) fn share(&self) -> CapturedState {
        CapturedState {
            inner: match &self.inner {
                Captured::Ready(s) => Captured::Ready(s.clone()),
                Captured::Deferred {
                    operation,
                    time,
                    stage,
                } => Captured::Deferred {
                    operation,
                    time: *time,
                    stage: stage.clone(),
                },
            },
        }
    }

    /// Encodes the state now if it is still to be encoded, keeping the
    /// bytes for [`encode`](Self::encode) and releasing the captured state.
    pub(crate) fn pre_encode(&self) {
        if let Captured::Deferred { stage, .. } = &self.inner {
            let mut stage = lock(stage);
            if matches!(*stage, Stage::Pending(_)) {
                let Stage::Pending(encode) = std::mem::replace(&mut *stage, Stage::Taken) else {
                    unreachable!("checked");
                };
                *stage = Stage::Encoded(encode());
            }
        }
    }

    /// Encodes the captured state into a snapshot.
    pub fn encode(self) -> std::result::Result<StateSnapshot, StateSnapshotError> {
        match self.inner {
            Captured::Ready(s) => Ok(s),
            Captured::Deferred {
                operation,
                time,
                stage,
            } => {
                let bytes = match std::mem::replace(&mut *lock(&stage), Stage::Taken) {
                    Stage::Pending(encode) => encode(),
                    Stage::Encoded(bytes) => bytes,
                    Stage::Taken => unreachable!("a capture is encoded once"),
                };
                Ok(StateSnapshot {
                    operation: operation.to_string(),
                    time,
                    bytes: bytes
                        .map_err(|source| StateSnapshotError::Encode { operation, source })?,
                })
            }
        }
    }
}

impl std::fmt::Debug for CapturedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner {
            Captured::Ready(s) => f.debug_tuple("Ready").field(s).finish(),
            Captured::Deferred {
                operation, time, ..
            } => f
                .debug_struct("Deferred")
                .field("operation", operation)
                .field("time", time)
                .field("encoded", &!self.is_deferred())
                .finish_non_exhaustive(),
        }
    }
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
    /// The state was left incomplete by a failed batch (a panic in a user
    /// function while it was being updated).
    #[error("the state of {operation} was left incomplete by a failed batch")]
    Incomplete {
        /// The operation whose state it is.
        operation: &'static str,
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
/// Reach it with [`DStream::stateful_operator`](crate::DStream::stateful_operator) on the stream an operation
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
    /// Captures the current state without encoding it (checkpoints call
    /// this on the executor thread, between two batches, and encode the
    /// result on the writer thread). The default encodes at once; the
    /// operators of this crate capture in O(1) or O(partitions × shards).
    fn capture(&self) -> std::result::Result<CapturedState, StateSnapshotError> {
        self.snapshot().map(CapturedState::ready)
    }
    /// Replaces the state with a snapshot's; the next batch computed must be
    /// later than the snapshot's time.
    fn restore(&self, snapshot: &StateSnapshot) -> std::result::Result<(), StateSnapshotError>;
}

/// Encodes a state for a snapshot (the operators capture theirs instead:
/// [`CapturedState`]).
#[cfg(test)]
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

/// Locks operator state for reading diagnostics (entries, time), whatever
/// its condition.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Operator state that can undo the changes of one batch: what makes a
/// failed batch leave the state exactly as it was before it.
pub(crate) trait Transactional {
    /// Starts recording what the batch changes.
    fn begin(&mut self);
    /// Keeps the batch's changes.
    fn commit(&mut self);
    /// Undoes the batch's changes.
    fn rollback(&mut self);
}

/// Runs one batch's update of an operator's `state` as a transaction: if
/// `body` fails or a user function in it panics, the state is rolled back
/// to what it was before, and the batch fails with the error (a panic as
/// [`StreamingError::UserPanic`](crate::error::StreamingError::UserPanic)).
/// The operators then mark the failed batch as done, so that later batches
/// run on the state as it was, as if the failed batch had brought no data.
pub(crate) fn atomically<S: Transactional, R>(
    state: &mut S,
    time: Time,
    body: impl FnOnce(&mut S) -> crate::error::Result<R>,
) -> crate::error::Result<R> {
    state.begin();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&mut *state)));
    match result {
        Ok(Ok(r)) => {
            state.commit();
            Ok(r)
        }
        Ok(Err(e)) => {
            state.rollback();
            Err(e)
        }
        Err(panic) => {
            state.rollback();
            tracing::warn!(%time, "a batch failed in a stateful operator; its state was rolled back");
            Err(crate::error::StreamingError::UserPanic {
                time,
                message: crate::error::panic_message(panic.as_ref()),
            })
        }
    }
}

/// Locks operator state to compute batch `time` from it. Stateful
/// operators update their state [`atomically`], so a failed batch leaves
/// it whole; a lock poisoned all the same (a panic outside a transaction,
/// a bug) makes every later batch of the operator fail with this error
/// until the state is restored from a checkpoint.
pub(crate) fn lock_intact<'a, T>(
    m: &'a Mutex<T>,
    operation: &str,
    time: Time,
) -> crate::error::Result<MutexGuard<'a, T>> {
    m.lock().map_err(|_| crate::error::StreamingError::BatchFailed {
        time,
        message: format!(
            "the state of {operation} was left incomplete by an earlier failed batch; restart from a checkpoint"
        ),
    })
}

/// Locks operator state to snapshot it: a state left incomplete by a failed
/// batch is not checkpointed.
pub(crate) fn lock_for_snapshot<'a, T>(
    m: &'a Mutex<T>,
    operation: &'static str,
) -> std::result::Result<MutexGuard<'a, T>, StateSnapshotError> {
    m.lock()
        .map_err(|_| StateSnapshotError::Incomplete { operation })
}

/// Replaces operator state (a restore), which makes it whole again.
pub(crate) fn replace<T>(m: &Mutex<T>, value: T) {
    m.clear_poison();
    *lock(m) = value;
}
