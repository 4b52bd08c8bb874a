//! Typed errors of the runtime, [`CheckpointError`] among them (base layer:
//! every other module may use it).

use std::path::PathBuf;
use std::sync::Arc;

use crate::time::Time;

/// The result type used throughout the crate.
pub type Result<T, E = StreamingError> = std::result::Result<T, E>;

/// Every error the streaming runtime reports.
///
/// Errors are cheap to clone (I/O causes are shared), so one error can stop the
/// context and still be returned to every caller of
/// [`await_termination`](crate::StreamingContext::await_termination).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StreamingError {
    /// A configuration value is missing or invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An operation was attempted in a lifecycle state that does not allow it
    /// (for example `start` after `stop`).
    #[error("illegal state: {0}")]
    IllegalState(String),
    /// `start` was called on a context without any output operation.
    #[error("no output operations registered, so nothing to execute")]
    NoOutputOperations,
    /// An operation was defined with invalid arguments (for example a window
    /// that is not a multiple of its parent's slide).
    #[error("invalid operation: {0}")]
    InvalidOperation(String),
    /// A user function panicked while computing a batch.
    #[error("user function panicked in batch {time}: {message}")]
    UserPanic {
        /// Batch time whose computation panicked.
        time: Time,
        /// The panic payload, when it was a string.
        message: String,
    },
    /// An operation that needs a batch from every parent found one missing.
    #[error("{operation} at {time}: couldn't generate a batch from parent {parent}: it produced no batch for this time")]
    MissingParentBatch {
        /// Name of the operation that needed the batch.
        operation: &'static str,
        /// Batch time.
        time: Time,
        /// Index of the parent that produced nothing.
        parent: usize,
    },
    /// An I/O error, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// A batch failed for another reason.
    #[error("batch {time} failed: {message}")]
    BatchFailed {
        /// Batch time.
        time: Time,
        /// Why.
        message: String,
    },
    /// Waiting for something timed out.
    #[error("timed out: {0}")]
    Timeout(String),
    /// Data could not be decoded (a corrupt object file, an unparsable
    /// record), with what was being read.
    #[error("{context}: {message}")]
    InvalidData {
        /// What was being read.
        context: String,
        /// What is wrong with it.
        message: String,
    },
    /// A checkpoint could not be read, or a context could not be recovered
    /// from it (corrupt files, a changed pipeline, an input that cannot be
    /// replayed).
    #[error(transparent)]
    Checkpoint(CheckpointError),
    /// A Kafka client operation (metadata, offsets, fetch, commit, client
    /// creation) failed.
    #[error("kafka: {operation}: {message}")]
    Kafka {
        /// What was being done.
        operation: String,
        /// The client's error.
        message: String,
    },
    /// A Kafka offset lies outside what the broker holds for the partition
    /// and `auto.offset.reset` is `none`.
    #[error("kafka: offset {offset} of {partition} is out of range [{earliest}, {latest}] and auto.offset.reset is none")]
    KafkaOffsetOutOfRange {
        /// The partition, as `topic-partition`.
        partition: String,
        /// The offset asked for.
        offset: i64,
        /// The partition's earliest offset.
        earliest: i64,
        /// The partition's latest offset (the next one to be written).
        latest: i64,
    },
    /// A Kafka record could not be decoded into the stream's key or value
    /// type (and the stream is configured to fail on such records).
    #[error("kafka: cannot decode record {offset} of {partition}: {message}")]
    KafkaDecode {
        /// The partition, as `topic-partition`.
        partition: String,
        /// The record's offset.
        offset: i64,
        /// Why it could not be decoded.
        message: String,
    },
}

impl StreamingError {
    /// Wraps an I/O error with a description of what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        StreamingError::Io {
            context: context.into(),
            source: Arc::new(source),
        }
    }
}

/// Turns a panic payload into a readable message (what a failed batch
/// reports for a panic in a user function).
///
/// ```
/// let payload = std::panic::catch_unwind(|| panic!("boom {}", 1)).unwrap_err();
/// assert_eq!(streaming_core::panic_message(payload.as_ref()), "boom 1");
/// ```
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(e) = payload.downcast_ref::<StreamingError>() {
        e.to_string()
    } else {
        "non-string panic payload".to_string()
    }
}

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
    /// A receiver's write-ahead log cannot be opened or read: it is corrupt
    /// (a bad record with data after it), or lacks records a checkpoint
    /// needs (the error names the file, offset or records).
    #[error("receiver write-ahead log in {}: {reason}", dir.display())]
    WriteAheadLog {
        /// The log's directory.
        dir: PathBuf,
        /// What is wrong.
        reason: String,
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
