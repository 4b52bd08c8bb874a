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
//!   the files a file stream read per batch time);
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
//! batch. Taking the snapshot is the only work done on the executor thread:
//! encoding, writing and pruning happen on a background writer thread.
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

mod dstream;
mod format;
mod graph;
mod recovery;
mod schedule;
mod shutdown;
mod store;
mod writer;

use std::path::PathBuf;

pub use format::{Checkpoint, FORMAT_VERSION, MAGIC};
pub use recovery::RecoverOptions;
pub use shutdown::STOP_GRACEFULLY_ON_SHUTDOWN;
pub use store::{list, read, CheckpointFile, DEFAULT_RETAINED, RETAINED_SETTING};

pub(crate) use recovery::Recovery;
pub(crate) use schedule::Checkpointer;
pub(crate) use shutdown::install_signal_handler;

/// Why a checkpoint could not be read, or a context not recovered from it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The file is not a whole, intact checkpoint (truncated, bad checksum,
    /// undecodable).
    #[error("corrupt checkpoint {}: {reason}", path.display())]
    Corrupt {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The file was written in a format version this build cannot read.
    #[error("checkpoint {} has format version {found}; this build reads version {supported}", path.display())]
    UnsupportedVersion {
        /// The checkpoint file.
        path: PathBuf,
        /// The file's version.
        found: u16,
        /// The version this build reads and writes.
        supported: u16,
    },
    /// Checkpoint files exist but none of them can be read.
    #[error("no usable checkpoint in {}: {}", dir.display(), attempts.join("; "))]
    NoUsableCheckpoint {
        /// The checkpoint directory.
        dir: PathBuf,
        /// Why each file was rejected, newest first.
        attempts: Vec<String>,
    },
    /// The pipeline built by `create_fn` does not match the checkpoint.
    #[error(
        "the checkpoint {} does not match the pipeline built by create_fn:\n  - {}\n(the state of stateful operators can only be kept when they are found by name with the same operation and types; start from an empty checkpoint directory to discard it)",
        path.display(),
        changes.join("\n  - ")
    )]
    Incompatible {
        /// The checkpoint file.
        path: PathBuf,
        /// What changed, one entry per change.
        changes: Vec<String>,
    },
    /// The pipeline has an input whose batches cannot be replayed (a queue
    /// stream, ...), so it cannot be recovered from a checkpoint.
    #[error("cannot recover from the checkpoint {}: input `{input}` is not recoverable (its batches cannot be replayed; as in Spark, only replayable inputs such as file streams can be recovered)", path.display())]
    NotRecoverable {
        /// The checkpoint file.
        path: PathBuf,
        /// The input's name.
        input: String,
    },
    /// A part of the checkpoint could not be restored into the pipeline.
    #[error("cannot restore {what} from the checkpoint {}: {message}", path.display())]
    Restore {
        /// The checkpoint file.
        path: PathBuf,
        /// What was being restored (an operator or an input).
        what: String,
        /// Why it failed.
        message: String,
    },
}
