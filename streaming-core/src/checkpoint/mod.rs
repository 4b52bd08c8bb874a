//! Checkpointing and recovery (Spark's metadata and data checkpoints, and
//! `StreamingContext.getOrCreate`).
//!
//! # What a checkpoint holds
//! Closures cannot be serialized, so the pipeline itself is rebuilt from
//! code on restart (the `create_fn` of
//! [`StreamingContext::get_or_create`](crate::StreamingContext::get_or_create));
//! a checkpoint holds everything else:
//! - the configuration, the zero time and the batch interval;
//! - the structure of the pipeline (every operator's operation, element type,
//!   slide and parents; the inputs; the outputs) and its fingerprint;
//! - every stateful operator's identity: a stable name, given with
//!   [`DStream::name`](crate::DStream::name) or generated as
//!   `<operation>#<n>` (the `n`-th stateful operator of that operation, in
//!   definition order);
//! - the batch times generated but not completed;
//! - the positions of replayable inputs
//!   ([`InputSource::checkpoint_data`](crate::InputSource::checkpoint_data):
//!   the files a file stream read per batch time, the records a socket
//!   stream with the write-ahead log took from it per batch time);
//! - the data: every stateful operator's state
//!   ([`StatefulOperator::snapshot`](crate::StatefulOperator::snapshot)),
//!   incremental windows included (with the panes they still need).
//!
//! # When checkpoints are written
//! A checkpoint of time `t` is taken on the executor thread between two
//! batches, right before batch `t` runs (so it holds the state of every
//! batch before `t`: recovery re-runs batch `t`, as Spark does), at every
//! `t` that is a multiple of a checkpoint interval after the zero time. A
//! stream's interval is the one set with
//! [`DStream::checkpoint`](crate::DStream::checkpoint), else, for a stateful
//! stream, Spark's default: the smallest multiple of its slide that is at
//! least 10 s; with neither, the smallest multiple of the batch interval of
//! at least 10 s. A graceful stop writes a final checkpoint after the last
//! batch. At every batch a metadata checkpoint (no state) is taken too,
//! naming the state checkpoint it builds on. On the executor thread: the
//! inputs' records and a capture of each operator's state
//! ([`StatefulOperator::capture`](crate::StatefulOperator::capture): shared
//! copy-on-write shards and panes, O(partitions × shards), no entry copied
//! or encoded); encoding the states, assembling the file, writing and
//! pruning happen on a background writer thread.
//!
//! # On disk
//! `<dir>/checkpoint-<time in ms>`, written as `.checkpoint-<ms>.<pid>.tmp`,
//! fsynced, renamed into place, then the directory is fsynced: a reader
//! (or a process killed at any moment) sees a whole checkpoint or none. The
//! newest [`DEFAULT_RETAINED`] checkpoints are kept (setting
//! [`RETAINED_SETTING`]), older ones deleted. A file is a 24-byte header —
//! the magic [`MAGIC`], the format version ([`FORMAT_VERSION`], `u16`
//! little-endian), 2 reserved bytes, the CRC-32 (IEEE) of the payload and
//! the payload's length (`u32` and `u64`, little-endian) — followed by the
//! payload: the checkpoint in serde's `postcard` encoding.
//!
//! # Recovery
//! See [`StreamingContext::get_or_create`](crate::StreamingContext::get_or_create).

mod format;
mod graph;
mod recovery;
mod schedule;
mod store;
mod writer;

pub use format::{Checkpoint, FORMAT_VERSION, MAGIC};
pub use recovery::RecoverOptions;
pub use store::{list, list_metadata, read, CheckpointFile, DEFAULT_RETAINED, RETAINED_SETTING};

pub(crate) use recovery::{latest, restore, set_aside, Latest, Recovery};
pub(crate) use schedule::Checkpointer;

pub use crate::error::CheckpointError;

/// Where checkpoint failures go: a counter and the listeners'
/// `on_checkpoint_failed`, never only a log line.
#[derive(Clone)]
pub(crate) struct Failures {
    pub(crate) count: std::sync::Arc<std::sync::atomic::AtomicU64>,
    pub(crate) listeners: std::sync::Arc<crate::listener::ListenerBus>,
}

impl Failures {
    pub(crate) fn report(&self, time: crate::time::Time, metadata: bool, reason: String) {
        self.count
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let info = crate::listener::CheckpointFailureInfo {
            time,
            metadata,
            reason,
        };
        self.listeners.post(|l| l.on_checkpoint_failed(&info));
    }
}
