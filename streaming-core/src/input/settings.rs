//! The settings keys of the inputs (socket receivers, file streams); their
//! values are parsed with [`crate::conf::settings`].

pub(crate) use crate::conf::settings::*;

/// Spark's receiver rate limit, in records per second (absent or `<= 0`:
/// unlimited).
pub(crate) const MAX_RATE: &str = "spark.streaming.receiver.maxRate";
/// Records a receiver may hold (received, not yet processed).
pub(crate) const BUFFER_CAPACITY: &str = "streaming.receiver.bufferCapacity";
/// Input bytes a receiver may hold (received, not yet processed).
pub(crate) const MAX_BUFFERED_BYTES: &str = "spark.streaming.receiver.maxBufferedBytes";
/// First delay before reconnecting (Spark's receiver restart delay).
pub(crate) const RESTART_DELAY: &str = "spark.streaming.receiverRestartDelay";
/// Longest delay between reconnection attempts.
pub(crate) const MAX_RESTART_DELAY: &str = "streaming.receiver.maxRestartDelay";
/// Longest line a socket text stream accepts, in bytes.
pub(crate) const MAX_LINE_LENGTH: &str = "streaming.socket.maxLineLength";
/// Longest line a text file stream keeps, in bytes.
pub(crate) const FILE_MAX_LINE_LENGTH: &str = "streaming.fileStream.maxLineLength";
/// How far back a file stream remembers files (Spark's).
pub(crate) const MIN_REMEMBER: &str = "spark.streaming.fileStream.minRememberDuration";
/// Largest partition a file is split into, in bytes (Spark's).
pub(crate) const MAX_PARTITION_BYTES: &str = "spark.files.maxPartitionBytes";
/// Spark's switch of the receivers' write-ahead log (`true`/`false`).
pub(crate) const WAL_ENABLE: &str = "spark.streaming.receiver.writeAheadLog.enable";
/// Spark's age at which a write-ahead log segment is rolled (seconds).
pub(crate) const WAL_ROLLING_INTERVAL: &str =
    "spark.streaming.receiver.writeAheadLog.rollingIntervalSecs";
/// The size at which a write-ahead log segment is rolled (bytes: `64m`).
pub(crate) const WAL_MAX_SEGMENT_BYTES: &str = "streaming.receiver.writeAheadLog.maxSegmentBytes";
