//! Keyed state that follows its input partition ([`PartitionedState`]):
//! state kept per Kafka partition of a group-mode direct stream, saved as
//! per-partition snapshots in a directory every process of the group
//! shares, and restored by a partition's next owner at the partition's
//! committed offset.
//!
//! A snapshot is named by the offset it reflects: `<dir>/<name>/<topic>-<partition>/<offset>.snap`
//! holds the state after every record of the partition before `offset`
//! was applied. A partition that starts at offset `o` (its committed
//! offset, in group mode) loads exactly the snapshot `o`, so state and
//! input always agree: nothing is counted twice, nothing is lost, whatever
//! happened between the last snapshot and the last commit. Since a
//! snapshot at offset `o` is a function of the partition's records before
//! `o` only, two processes that own a partition for a moment (a rebalance
//! without barrier) write the same snapshots: ownership overlaps cannot
//! corrupt the state. Snapshots well below the committed offset are
//! deleted (see [`KEEP_BELOW`]).

use std::collections::HashMap;
use std::hash::Hash;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::record::TopicPartition;
use super::source::Shared;
use streaming_core::{Batch, DStream, Data, State, Time};

/// Why a partition's state cannot be loaded or saved.
#[derive(Debug, thiserror::Error)]
pub enum PartitionStateError {
    /// Reading or writing the snapshot directory failed.
    #[error("partition state {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A snapshot does not decode.
    #[error("partition state {path}: cannot decode the snapshot: {message}")]
    Decode {
        /// The snapshot file.
        path: PathBuf,
        /// The decoder's message.
        message: String,
    },
    /// The partition has snapshots, but none at the offset it starts from.
    #[error("no snapshot of {partition} at offset {offset} in {dir} (snapshots at {available:?}): the state and the committed offsets disagree")]
    Missing {
        /// The partition.
        partition: TopicPartition,
        /// The offset the partition starts from.
        offset: i64,
        /// The partition's snapshot directory.
        dir: PathBuf,
        /// The offsets of the snapshots present.
        available: Vec<i64>,
    },
    /// The stream given to the operator does not have one batch partition
    /// per Kafka partition of the direct stream.
    #[error("batch {time}: the stream has {partitions} partitions but the direct stream read {ranges} Kafka partitions; keep the direct stream's partitions (narrow operators only), or re-key through Kafka first")]
    Misaligned {
        /// The batch.
        time: Time,
        /// The stream's partitions.
        partitions: usize,
        /// The direct stream's ranges.
        ranges: usize,
    },
    /// The direct stream did not plan the batch.
    #[error("batch {0}: the direct stream has no offset ranges for it")]
    NoRanges(Time),
}

/// The snapshots of one stateful operator.
#[derive(Clone, Debug)]
struct SnapshotStore {
    root: PathBuf,
}

fn io_err(path: &Path, source: std::io::Error) -> PartitionStateError {
    PartitionStateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl SnapshotStore {
    fn dir(&self, tp: &TopicPartition) -> PathBuf {
        self.root.join(format!("{}-{}", tp.topic, tp.partition))
    }

    fn file(&self, tp: &TopicPartition, offset: i64) -> PathBuf {
        self.dir(tp).join(format!("{offset:020}.snap"))
    }

    /// The offsets of the partition's snapshots, ascending.
    fn offsets(&self, tp: &TopicPartition) -> Result<Vec<i64>, PartitionStateError> {
        let dir = self.dir(tp);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(&dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_err(&dir, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if let Some(o) = name
                .strip_suffix(".snap")
                .and_then(|n| n.parse::<i64>().ok())
            {
                out.push(o);
            }
        }
        out.sort_unstable();
        Ok(out)
    }

    /// The state of `tp` before `offset`: the snapshot at `offset`, or
    /// `None` if the partition has no snapshot at all (its first owner).
    fn load<T: DeserializeOwned>(
        &self,
        tp: &TopicPartition,
        offset: i64,
    ) -> Result<Option<T>, PartitionStateError> {
        let path = self.file(tp, offset);
        match std::fs::read(&path) {
            Ok(bytes) => {
                postcard::from_bytes(&bytes)
                    .map(Some)
                    .map_err(|e| PartitionStateError::Decode {
                        path,
                        message: e.to_string(),
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let available = self.offsets(tp)?;
                if available.is_empty() {
                    Ok(None)
                } else {
                    Err(PartitionStateError::Missing {
                        partition: tp.clone(),
                        offset,
                        dir: self.dir(tp),
                        available,
                    })
                }
            }
            Err(e) => Err(io_err(&path, e)),
        }
    }

    /// Writes the snapshot of `tp` at `offset` atomically (temporary file,
    /// fsync, rename).
    fn save<T: Serialize>(
        &self,
        tp: &TopicPartition,
        offset: i64,
        state: &T,
    ) -> Result<(), PartitionStateError> {
        let dir = self.dir(tp);
        std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        let bytes = postcard::to_allocvec(state).map_err(|e| PartitionStateError::Decode {
            path: dir.clone(),
            message: format!("encoding: {e}"),
        })?;
        let tmp = dir.join(format!(".{offset:020}.{}.tmp", std::process::id()));
        let mut f = std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
        f.write_all(&bytes).map_err(|e| io_err(&tmp, e))?;
        f.sync_all().map_err(|e| io_err(&tmp, e))?;
        drop(f);
        let path = self.file(tp, offset);
        std::fs::rename(&tmp, &path).map_err(|e| io_err(&path, e))?;
        Ok(())
    }

    /// Deletes the snapshots of `tp` below `offset`, except the
    /// [`KEEP_BELOW`] newest of them.
    fn prune(&self, tp: &TopicPartition, offset: i64) -> Result<(), PartitionStateError> {
        let below: Vec<i64> = self
            .offsets(tp)?
            .into_iter()
            .filter(|&o| o < offset)
            .collect();
        for o in &below[..below.len().saturating_sub(KEEP_BELOW)] {
            let path = self.file(tp, *o);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(&path, e)),
            }
        }
        Ok(())
    }
}

/// A partition's incremental window: the batches in the window (time and
/// per-key value), the window's per-key totals, and in how many of the
/// batches each key has values.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(bound(
    serialize = "K: Serialize + Hash + Eq, V: Serialize",
    deserialize = "K: DeserializeOwned + Hash + Eq, V: DeserializeOwned"
))]
struct WindowState<K, V> {
    panes: Vec<(Time, Vec<(K, V)>)>,
    totals: HashMap<K, V>,
    panes_with: HashMap<K, usize>,
}

impl<K, V> Default for WindowState<K, V> {
    fn default() -> Self {
        WindowState {
            panes: Vec::new(),
            totals: HashMap::new(),
            panes_with: HashMap::new(),
        }
    }
}

/// How many snapshots below a partition's committed offset are kept. A
/// broker whose group protocol lets two processes own a partition for a
/// moment (tansu has no rebalance barrier) may see the committed offset
/// move back by a few batches; the snapshots it moves back to are kept.
const KEEP_BELOW: usize = 16;

/// The in-memory state of one owned partition.
struct PartitionSlot<T> {
    /// The offset the state reflects (every record before it applied).
    offset: i64,
    data: T,
}

/// Keyed state kept per Kafka partition of a group-mode direct stream (see
/// the README's "Scaling out").
///
/// Each partition's state is saved, after every batch that read records
/// of it, as a snapshot named by the offset it reflects
/// (`<dir>/<name>/<topic>-<partition>/<offset>.snap`: the state after
/// every record before `offset`). A process that starts a partition at
/// offset `o` (its committed offset, in group mode) loads exactly the
/// snapshot at `o`, so state and input always agree: nothing is counted
/// twice and nothing is lost, whatever happened between a snapshot and a
/// commit, and two processes that briefly own one partition write the same
/// snapshots.
///
/// Made by [`KafkaOffsets::partitioned_state`](crate::KafkaOffsets::partitioned_state). Its operators take a
/// stream derived from the direct stream by narrow operators only (`map`,
/// `flat_map`, `filter`, ...: one batch partition per Kafka partition,
/// in the direct stream's order), so each key's state lives with the
/// Kafka partition its records come from. For the state of a key to be
/// whole, all of its records must be in one partition: records keyed by it
/// in Kafka, or re-keyed through a topic first
/// (`KafkaSink::repartition_through`).
#[derive(Clone)]
pub struct PartitionedState {
    shared: Arc<Shared>,
    store: SnapshotStore,
}

impl std::fmt::Debug for PartitionedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionedState")
            .field("dir", &self.store.root)
            .finish()
    }
}

impl PartitionedState {
    /// The state of operator `name` of the stream `shared`, under `dir`.
    pub(crate) fn new(shared: Arc<Shared>, dir: &Path, name: &str) -> Self {
        PartitionedState {
            shared,
            store: SnapshotStore {
                root: dir.join(name),
            },
        }
    }

    /// Spark's `updateStateByKey`, per input partition: for every key with
    /// new values in a batch, `f(new_values, state)` gives the key's new
    /// state (`None` removes it); the result holds every key's state of the
    /// partitions this process owns, one batch partition per Kafka
    /// partition.
    ///
    /// Unlike [`DStream::update_state_by_key`], `f` is not called for keys
    /// without new values: a partition's state is then a function of its
    /// records up to an offset, which is what lets the partition's next
    /// owner restore it exactly from the snapshot at that offset.
    ///
    /// A partition's state is loaded from its snapshot at the offset the
    /// batch starts reading it from when the partition is new to this
    /// process, and saved after every batch that read records of it; a
    /// batch fails (loudly) when the snapshot it needs is not there.
    pub fn update_state_by_key<K, V, S>(
        &self,
        pairs: &DStream<(K, V)>,
        f: impl Fn(&[V], Option<S>) -> Option<S> + Send + Sync + 'static,
    ) -> DStream<(K, S)>
    where
        K: Hash + Eq + Data + Serialize + DeserializeOwned,
        V: Data,
        S: Data + Serialize + DeserializeOwned,
    {
        self.operator(pairs, move |map: &mut HashMap<K, S>, part: &[(K, V)], _| {
            let mut grouped: HashMap<K, Vec<V>> = HashMap::new();
            for (k, v) in part.iter().cloned() {
                grouped.entry(k).or_default().push(v);
            }
            for (k, values) in grouped {
                let previous = map.remove(&k);
                if let Some(s) = f(&values, previous) {
                    map.insert(k, s);
                }
            }
            map.iter().map(|(k, s)| (k.clone(), s.clone())).collect()
        })
    }

    /// Spark's `mapWithState`, per input partition: for each pair, in the
    /// partition's order, `f(key, Some(value), state)` reads and updates
    /// the key's state (as [`DStream::map_with_state`]'s function) and
    /// returns an output element; the result holds the outputs, one batch
    /// partition per Kafka partition. State is kept, saved and restored as
    /// by [`update_state_by_key`](Self::update_state_by_key).
    ///
    /// There are no timeouts: a key's state changes only with its
    /// partition's records, so that the partition's next owner restores it
    /// exactly.
    pub fn map_with_state<K, V, S, U>(
        &self,
        pairs: &DStream<(K, V)>,
        f: impl Fn(&K, Option<V>, &mut State<S>) -> U + Send + Sync + 'static,
    ) -> DStream<U>
    where
        K: Hash + Eq + Data + Serialize + DeserializeOwned,
        V: Data,
        S: Data + Serialize + DeserializeOwned,
        U: Data,
    {
        self.operator(pairs, move |map: &mut HashMap<K, S>, part: &[(K, V)], _| {
            part.iter()
                .cloned()
                .map(|(k, v)| {
                    let mut state = State::detached(map.remove(&k));
                    let out = f(&k, Some(v), &mut state);
                    if let Some(s) = state.into_state() {
                        map.insert(k, s);
                    }
                    out
                })
                .collect()
        })
    }

    /// Spark's `reduceByKeyAndWindow` with an inverse function, per input
    /// partition, sliding every batch: the result holds, for each key of
    /// each owned partition, `reduce` over the values of the batches in
    /// the last `window`, kept incrementally (each batch's values added
    /// with `reduce` as it enters, taken out with `inv_reduce` as it
    /// leaves). A key leaves the result when no batch in the window has
    /// values of it.
    ///
    /// The window's per-batch contributions are part of the partition's
    /// snapshot, with their batch times, so a partition's next owner
    /// continues the window (batch times are aligned on every process):
    /// every record is in exactly the windows of the batch that read it.
    ///
    /// `window` must be a multiple of the stream's slide (its batch
    /// interval); otherwise a [`Config`](streaming_core::StreamingError::Config)
    /// error naming both.
    pub fn reduce_by_key_and_window_inv<K, V>(
        &self,
        pairs: &DStream<(K, V)>,
        reduce: impl Fn(V, V) -> V + Send + Sync + 'static,
        inv_reduce: impl Fn(V, V) -> V + Send + Sync + 'static,
        window: Duration,
    ) -> streaming_core::Result<DStream<(K, V)>>
    where
        K: Hash + Eq + Data + Serialize + DeserializeOwned,
        V: Data + Serialize + DeserializeOwned,
    {
        let slide = pairs.slide_duration();
        if window.is_zero() || !window.as_millis().is_multiple_of(slide.as_millis().max(1)) {
            return Err(streaming_core::StreamingError::Config(format!(
                "the window ({window:?}) must be a positive multiple of the stream's slide ({slide:?})"
            )));
        }
        Ok(self.operator(
            pairs,
            move |w: &mut WindowState<K, V>, part: &[(K, V)], time: Time| {
                // Batches that left the window: `time - window` and before.
                let horizon = time.saturating_sub(window);
                while w.panes.first().is_some_and(|(t, _)| *t <= horizon) {
                    let (_, pane) = w.panes.remove(0);
                    for (k, v) in pane {
                        let n = w.panes_with.get_mut(&k).expect("counted");
                        *n -= 1;
                        if *n == 0 {
                            w.panes_with.remove(&k);
                            w.totals.remove(&k);
                        } else {
                            let total = w.totals.remove(&k).expect("a total");
                            w.totals.insert(k, inv_reduce(total, v));
                        }
                    }
                }
                let mut pane: HashMap<K, V> = HashMap::new();
                for (k, v) in part.iter().cloned() {
                    let merged = match pane.remove(&k) {
                        Some(acc) => reduce(acc, v),
                        None => v,
                    };
                    pane.insert(k, merged);
                }
                if !pane.is_empty() {
                    for (k, v) in &pane {
                        *w.panes_with.entry(k.clone()).or_default() += 1;
                        let total = match w.totals.remove(k) {
                            Some(t) => reduce(t, v.clone()),
                            None => v.clone(),
                        };
                        w.totals.insert(k.clone(), total);
                    }
                    w.panes.push((time, pane.into_iter().collect()));
                }
                w.totals
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            },
        ))
    }

    /// The operator: `apply(state, records, time)` updates one partition's
    /// state `T` with its records of batch `time` and gives the
    /// partition's output.
    fn operator<K, V, T, O>(
        &self,
        pairs: &DStream<(K, V)>,
        apply: impl Fn(&mut T, &[(K, V)], Time) -> Vec<O> + Send + Sync + 'static,
    ) -> DStream<O>
    where
        K: Data,
        V: Data,
        T: Default + Serialize + DeserializeOwned + Send + 'static,
        O: Data,
    {
        let shared = self.shared.clone();
        let store = self.store.clone();
        let slots: Arc<Mutex<HashMap<TopicPartition, PartitionSlot<T>>>> = Arc::default();
        let last: Arc<Mutex<Option<(Time, Batch<O>)>>> = Arc::default();
        pairs.transform(move |batch, time| {
            let mut last = last.lock().unwrap();
            if let Some((t, b)) = last.as_ref() {
                if *t == time {
                    // Computed again (a second consumer without caching):
                    // the state must not be applied twice.
                    return b.clone();
                }
            }
            let out = apply_batch(
                &shared,
                &store,
                &mut slots.lock().unwrap(),
                batch,
                time,
                &apply,
            )
            .unwrap_or_else(|e| panic!("{e}"));
            *last = Some((time, out.clone()));
            out
        })
    }
}

fn apply_batch<K, V, T, O>(
    shared: &Shared,
    store: &SnapshotStore,
    slots: &mut HashMap<TopicPartition, PartitionSlot<T>>,
    batch: Batch<(K, V)>,
    time: Time,
    apply: &impl Fn(&mut T, &[(K, V)], Time) -> Vec<O>,
) -> Result<Batch<O>, PartitionStateError>
where
    K: Data,
    V: Data,
    T: Default + Serialize + DeserializeOwned,
    O: Data,
{
    let ranges = shared
        .offset_ranges(time)
        .ok_or(PartitionStateError::NoRanges(time))?;
    if batch.num_partitions() != ranges.len()
        && !(batch.is_empty() && ranges.iter().all(|r| r.count() == 0))
    {
        return Err(PartitionStateError::Misaligned {
            time,
            partitions: batch.num_partitions(),
            ranges: ranges.len(),
        });
    }
    // Partitions no longer owned: their next owner restores them.
    slots.retain(|tp, _| ranges.iter().any(|r| r.topic_partition() == *tp));
    let committed = shared
        .group_member()
        .map(|g| g.committed())
        .unwrap_or_default();
    let mut out = Vec::with_capacity(ranges.len());
    for (i, range) in ranges.iter().enumerate() {
        let tp = range.topic_partition();
        let fresh = slots
            .get(&tp)
            .is_none_or(|slot| slot.offset != range.from_offset);
        if fresh {
            let loaded = store.load::<T>(&tp, range.from_offset)?;
            let existed = loaded.is_some();
            tracing::info!(partition = %tp, offset = range.from_offset, existed, "partition state restored");
            let data = loaded.unwrap_or_default();
            if !existed {
                // The first owner's starting point is a snapshot too, so
                // the partition always has one at its committed offset.
                store.save(&tp, range.from_offset, &data)?;
            }
            slots.insert(
                tp.clone(),
                PartitionSlot {
                    offset: range.from_offset,
                    data,
                },
            );
        }
        let slot = slots.get_mut(&tp).expect("inserted above");
        if let Some(&c) = committed.get(&tp) {
            store.prune(&tp, c.min(slot.offset))?;
        }
        let part: &[(K, V)] = batch.partitions().get(i).map_or(&[], |p| p.as_slice());
        out.push(apply(&mut slot.data, part, time));
        if range.until_offset != slot.offset {
            slot.offset = range.until_offset;
            store.save(&tp, slot.offset, &slot.data)?;
        }
    }
    Ok(Batch::from_partitions(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, SnapshotStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SnapshotStore {
            root: dir.path().join("op"),
        };
        (dir, store)
    }

    #[test]
    fn a_partition_without_snapshots_starts_empty() {
        let (_dir, store) = store();
        let tp = TopicPartition::new("t", 0);
        assert!(store
            .load::<HashMap<String, i64>>(&tp, 7)
            .unwrap()
            .is_none());
    }

    #[test]
    fn snapshots_load_at_their_exact_offset_only() {
        let (_dir, store) = store();
        let tp = TopicPartition::new("t", 1);
        let state: HashMap<String, i64> = HashMap::from([("a".to_string(), 3)]);
        store.save(&tp, 0, &HashMap::<String, i64>::new()).unwrap();
        store.save(&tp, 10, &state).unwrap();
        assert_eq!(
            store.load::<HashMap<String, i64>>(&tp, 10).unwrap(),
            Some(state)
        );
        let e = store.load::<HashMap<String, i64>>(&tp, 5).unwrap_err();
        assert!(
            matches!(&e, PartitionStateError::Missing { offset: 5, available, .. } if available == &vec![0, 10]),
            "{e}"
        );
        // Another partition's snapshots are its own.
        assert!(store
            .load::<HashMap<String, i64>>(&TopicPartition::new("t", 2), 10)
            .unwrap()
            .is_none());
    }

    #[test]
    fn pruning_keeps_the_committed_snapshot_and_the_newest_below_it() {
        let (_dir, store) = store();
        let tp = TopicPartition::new("t", 0);
        for o in 0..30 {
            store.save(&tp, o, &o).unwrap();
        }
        store.prune(&tp, 25).unwrap();
        let left = store.offsets(&tp).unwrap();
        let expected: Vec<i64> = (25 - KEEP_BELOW as i64..30).collect();
        assert_eq!(left, expected);
        assert_eq!(store.load::<i64>(&tp, 25).unwrap(), Some(25));
    }
}
