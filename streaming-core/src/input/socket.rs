//! Socket streams: a receiver that connects to a TCP server and turns what it
//! sends into records ([`StreamingContext::socket_text_stream`],
//! [`StreamingContext::socket_stream`], [`SocketSpec`]).
//!
//! The receiver runs on the context's tokio runtime. It reads into a buffer,
//! decodes records with a [`RecordDecoder`] and hands them to a bounded
//! [receiver buffer](super::receiver): when that is full it stops reading, so
//! TCP pushes back on the sender. A failed connection attempt, a connection
//! closed by the peer and a read error are counted and reported (log and
//! `on_receiver_error`), and the receiver reconnects after a delay that
//! doubles on each consecutive failure (Spark restarts its receivers the same
//! way). Bad records are counted, reported, and skipped.
//!
//! Text lines ([`StreamingContext::socket_text_stream`]) take a faster path:
//! the receiver checks each line (UTF-8, length) and counts bad ones as it
//! reads, exactly as a [`LineDecoder`] does, but keeps the good lines as the
//! bytes it read plus the offsets of the line boundaries
//! (`LineBlock`). The `String`s are made when the batch is computed, in
//! parallel on the context's worker pool, one partition per block. Bad
//! lines are thus counted and reported when they are received, before their
//! batch runs, and the rate limit and buffer capacity count lines as before.
//!
//! With the write-ahead log (`spark.streaming.receiver.writeAheadLog.enable`,
//! see [`super::wal`]), the receiver gathers what the socket has ready into
//! a block, appends it to the log and fsyncs it before the block enters the
//! buffer. The source then records which records each batch took (a range
//! of record numbers) in its checkpoint data; a recovered source computes
//! the recorded batches again from the log, gives the records logged but
//! never taken to the next batches, and deletes segments once a state
//! checkpoint covers them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::decode::{
    BadRecords, BlockDecoder, LineBlock, LineDecoder, PooledLineDecoder, RecordDecoder,
    SharedLineDecoder, TextPool, MAX_BLOCK_LINE_LENGTH,
};
use super::receiver::{Block, BufferConfig, ReceiverBuffer, ReceiverStats, Unclaimed};
use super::settings;
use super::wal::{LinesCodec, WalCodec, WalConfig, WalError, WriteAheadLog};
use super::{InputContext, InputSource};
use crate::batch::{Batch, Data, SharedStr};
use crate::checkpoint::CheckpointError;
use crate::conf::StreamingConf;
use crate::error::{Result, StreamingError};
use crate::graph::env::Env;
use crate::rate::{BackpressureConf, RateController, RateListener};
use crate::time::Time;

/// The default bound on the input bytes a receiver holds: 64 MiB.
pub const DEFAULT_MAX_BUFFERED_BYTES: usize = 64 << 20;
/// The default buffer capacity of a receiver, in records.
pub const DEFAULT_BUFFER_CAPACITY: usize = 1_000_000;
/// The default first reconnection delay.
pub const DEFAULT_RESTART_DELAY: Duration = Duration::from_millis(100);
/// The default longest reconnection delay.
pub const DEFAULT_MAX_RESTART_DELAY: Duration = Duration::from_secs(5);

/// Bytes read from the socket at once (the buffer grows only for a record
/// longer than this).
const READ_CHUNK: usize = 256 * 1024;
/// With the write-ahead log, the input bytes a receiver gathers into one
/// logged block at most (while more is readable at once; at most a quarter
/// of its buffer's byte bound): one append and fsync per block. One block
/// is being logged while the next one is gathered, outside the buffer.
const WAL_BLOCK_BYTES: usize = 4 << 20;
/// The directory of the write-ahead logs in the checkpoint directory
/// (Spark's).
pub(crate) const WAL_DIRECTORY: &str = "receivedData";

type DecoderFactory<T> = Arc<dyn Fn() -> Box<dyn RecordDecoder<T>> + Send + Sync>;
type BlockDecoderFactory<B> = Arc<dyn Fn() -> Box<dyn BlockDecoder<B>> + Send + Sync>;

enum DecoderSpec<T> {
    /// Text lines; options not set here come from the configuration.
    Lines {
        max_line_length: Option<usize>,
        lossy: bool,
        /// Builds the ingest path of the configured decoder (`T` is `String`
        /// or `SharedStr`).
        make: fn(LineDecoder, BufferConfig, ReceiverStats) -> Arc<dyn Ingest<T>>,
    },
    Custom(DecoderFactory<T>),
}

/// The ingest path of text lines: lines kept as bytes in [`LineBlock`]s and
/// decoded when their batch is computed (or, for a line limit too large for
/// a block's offsets, the generic path with one `String` per line).
fn line_ingest(
    decoder: LineDecoder,
    config: BufferConfig,
    stats: ReceiverStats,
) -> Arc<dyn Ingest<String>> {
    if decoder.line_limit() <= MAX_BLOCK_LINE_LENGTH {
        let pool = TextPool::default();
        let decoder = PooledLineDecoder {
            decoder,
            pool: pool.clone(),
        };
        Arc::new(BlockIngest {
            buffer: Arc::new(ReceiverBuffer::new(config, stats)),
            decoder: Arc::new(move || {
                Box::new(decoder.clone()) as Box<dyn BlockDecoder<LineBlock>>
            }),
            codec: Some(Arc::new(LinesCodec)),
            wal: OnceLock::new(),
            into_batch: Box::new(move |blocks| {
                let batch = Batch::from_partitions(pool.decode_blocks(blocks));
                tracing::trace!(
                    lines = batch.len(),
                    partitions = batch.num_partitions(),
                    "made the received lines into strings"
                );
                batch
            }),
        })
    } else {
        record_ingest(
            Arc::new(move || Box::new(decoder.clone()) as Box<dyn RecordDecoder<String>>),
            Some(Arc::new(LinesCodec)),
            config,
            stats,
        )
    }
}

/// The ingest path of shared text lines: as [`line_ingest`]'s, but the
/// batch's lines are [`SharedStr`] views of the text received (no `String`
/// per line).
fn shared_line_ingest(
    decoder: LineDecoder,
    config: BufferConfig,
    stats: ReceiverStats,
) -> Arc<dyn Ingest<SharedStr>> {
    if decoder.line_limit() <= MAX_BLOCK_LINE_LENGTH {
        // The pool stays empty: the segments' memory goes with the lines.
        let decoder = PooledLineDecoder {
            decoder,
            pool: TextPool::default(),
        };
        Arc::new(BlockIngest {
            buffer: Arc::new(ReceiverBuffer::new(config, stats)),
            decoder: Arc::new(move || {
                Box::new(decoder.clone()) as Box<dyn BlockDecoder<LineBlock>>
            }),
            codec: Some(Arc::new(LinesCodec)),
            wal: OnceLock::new(),
            into_batch: Box::new(|blocks: Vec<LineBlock>| {
                let parts: Vec<Vec<SharedStr>> =
                    blocks.into_par_iter().map(LineBlock::into_shared).collect();
                Batch::from_partitions(parts)
            }),
        })
    } else {
        record_ingest(
            Arc::new(move || {
                Box::new(SharedLineDecoder(decoder.clone())) as Box<dyn RecordDecoder<SharedStr>>
            }),
            // Lines past the block limit are not logged (see `LinesCodec`).
            None,
            config,
            stats,
        )
    }
}

/// The generic ingest path: records decoded by the receiver as they arrive
/// (logged by `codec` with the write-ahead log; without one, records
/// cannot be logged).
fn record_ingest<T: Data>(
    factory: DecoderFactory<T>,
    codec: Option<Arc<dyn WalCodec<Vec<T>>>>,
    config: BufferConfig,
    stats: ReceiverStats,
) -> Arc<dyn Ingest<T>> {
    Arc::new(BlockIngest {
        buffer: Arc::new(ReceiverBuffer::new(config, stats)),
        decoder: Arc::new(move || Box::new(factory()) as Box<dyn BlockDecoder<Vec<T>>>),
        codec,
        wal: OnceLock::new(),
        into_batch: Box::new(Batch::from_partitions),
    })
}

/// What the receiver task needs besides its buffer and decoder.
struct TaskParams {
    host: String,
    port: u16,
    backoff: (Duration, Duration),
    stats: ReceiverStats,
    ctx: InputContext,
    stop: watch::Receiver<bool>,
    running: RunningGuard,
}

/// A receiver's buffer and decoding, with the type of block it keeps
/// hidden: decoded records, or text lines still as bytes.
trait Ingest<T>: Send + Sync {
    /// Starts the receiver task on the context's runtime.
    fn spawn(&self, params: TaskParams);
    /// Stops accepting data beyond what was read.
    fn stop(&self);
    /// See [`ReceiverBuffer::on_batch_time`].
    fn on_batch_time(&self, time: Time) -> (u64, u64);
    /// See [`ReceiverBuffer::skip_batch_time`].
    fn skip_batch_time(&self, time: Time);
    /// The batch of `time` (its records made now, if kept undecoded), and
    /// the data given up on.
    fn take(&self, time: Time) -> (Batch<T>, Vec<Unclaimed>);
    /// Whether the records can be written to a write-ahead log.
    fn can_log(&self) -> bool;
    /// Before the receiver starts: logs every block it stores in `log`
    /// from now on, and puts the records of `log` from number `from` on
    /// (logged by an earlier run, never assigned) back into the buffer.
    fn use_log(&self, log: Arc<WriteAheadLog>, from: u64) -> Result<(), WalError>;
    /// The batch of the records `[from, until)`, read from the log.
    fn replay(&self, from: u64, until: u64) -> Result<Batch<T>, WalError>;
    /// Whether received data waits for a batch time.
    fn has_pending_data(&self) -> bool;
    /// See [`ReceiverBuffer::set_rate_limit`].
    fn set_rate_limit(&self, rate: f64);
}

struct BlockIngest<B, T> {
    buffer: Arc<ReceiverBuffer<B>>,
    decoder: BlockDecoderFactory<B>,
    /// How blocks are written to the write-ahead log, if they can be.
    codec: Option<Arc<dyn WalCodec<B>>>,
    /// The write-ahead log, when enabled.
    wal: OnceLock<Wal<B>>,
    /// Makes a batch of the blocks taken for it.
    into_batch: Box<dyn Fn(Vec<B>) -> Batch<T> + Send + Sync>,
}

/// A write-ahead log and how blocks are written to it.
struct Wal<B> {
    log: Arc<WriteAheadLog>,
    codec: Arc<dyn WalCodec<B>>,
}

impl<B> Clone for Wal<B> {
    fn clone(&self) -> Self {
        Wal {
            log: self.log.clone(),
            codec: self.codec.clone(),
        }
    }
}

impl<B: Block> Wal<B> {
    /// The blocks holding exactly the records `[from, until)`, and the
    /// bytes they were stored in.
    fn read(&self, from: u64, until: u64) -> Result<(Vec<B>, usize), WalError> {
        let mut blocks = Vec::new();
        let mut bytes = 0;
        for stored in self.log.read(from, until)? {
            let corrupt = |reason: String| WalError::Corrupt {
                path: stored.path.clone(),
                offset: stored.offset,
                reason: format!("the block of records {}..: {reason}", stored.first),
            };
            let mut block = self.codec.decode(&stored.payload).map_err(corrupt)?;
            if block.records() != stored.records as usize {
                return Err(corrupt(format!(
                    "it decodes to {} records, its header says {}",
                    block.records(),
                    stored.records
                )));
            }
            bytes += stored.payload.len();
            let end = stored.first + u64::from(stored.records);
            if end > until {
                // Keep the records before `until`.
                block.split_off((until - stored.first) as usize);
            }
            if stored.first < from {
                block = block.split_off((from - stored.first) as usize);
            }
            blocks.push(block);
        }
        Ok((blocks, bytes))
    }
}

impl<B: Block + 'static, T: Data> Ingest<T> for BlockIngest<B, T> {
    fn spawn(&self, params: TaskParams) {
        let TaskParams {
            host,
            port,
            backoff,
            stats,
            ctx,
            stop,
            running,
        } = params;
        let task = ReceiverTask {
            host,
            port,
            buffer: self.buffer.clone(),
            decoder: self.decoder.clone(),
            wal: self.wal.get().cloned(),
            wal_buf: Vec::new(),
            in_flight: None,
            backoff,
            stats,
            ctx: ctx.clone(),
            stop,
        };
        ctx.runtime().spawn(async move {
            let _running = running;
            task.run().await;
        });
    }

    fn stop(&self) {
        self.buffer.stop();
    }

    fn on_batch_time(&self, time: Time) -> (u64, u64) {
        self.buffer.on_batch_time(time)
    }

    fn skip_batch_time(&self, time: Time) {
        self.buffer.skip_batch_time(time);
    }

    fn take(&self, time: Time) -> (Batch<T>, Vec<Unclaimed>) {
        let (blocks, unclaimed) = self.buffer.take(time);
        ((self.into_batch)(blocks), unclaimed)
    }

    fn can_log(&self) -> bool {
        self.codec.is_some()
    }

    fn use_log(&self, log: Arc<WriteAheadLog>, from: u64) -> Result<(), WalError> {
        let Some(codec) = self.codec.clone() else {
            return Ok(());
        };
        let wal = Wal { log, codec };
        let (blocks, bytes) = wal.read(from, wal.log.end())?;
        self.buffer.restore(from, blocks, bytes);
        let _ = self.wal.set(wal);
        Ok(())
    }

    fn replay(&self, from: u64, until: u64) -> Result<Batch<T>, WalError> {
        let Some(wal) = self.wal.get() else {
            return Ok(Batch::from_partitions(Vec::new()));
        };
        let (blocks, _) = wal.read(from, until)?;
        Ok((self.into_batch)(blocks))
    }

    fn has_pending_data(&self) -> bool {
        self.buffer.has_pending_data()
    }

    fn set_rate_limit(&self, rate: f64) {
        self.buffer.set_rate_limit(rate);
    }
}

/// The description of a socket input stream: where to connect, how to decode
/// records, and how the receiver is sized and paced. Register it with
/// [`StreamingContext::socket_stream_with`](crate::StreamingContext::socket_stream_with).
///
/// Options left unset take the context's configuration settings, then the
/// defaults:
///
/// | option | setting | default |
/// |---|---|---|
/// | [`max_rate`](Self::max_rate) | `spark.streaming.receiver.maxRate` (records/s, `<= 0`: none) | unlimited |
/// | [`buffer_capacity`](Self::buffer_capacity) | `streaming.receiver.bufferCapacity` (records) | 1 000 000 |
/// | [`max_buffered_bytes`](Self::max_buffered_bytes) | `spark.streaming.receiver.maxBufferedBytes` (bytes: `64m`, ...) | 64 MiB |
/// | [`reconnect_backoff`](Self::reconnect_backoff) | `spark.streaming.receiverRestartDelay`, `streaming.receiver.maxRestartDelay` | 100 ms doubling to 5 s |
/// | [`max_line_length`](Self::max_line_length) (text) | `streaming.socket.maxLineLength` (bytes) | 1 MiB |
/// | [`num_partitions`](Self::num_partitions) (at a steady rate) | | the master's thread count |
/// | [`unclaimed_retention`](Self::unclaimed_retention) | | max(60 s, 10 batch intervals) |
/// | write-ahead log | `spark.streaming.receiver.writeAheadLog.enable` (`true`/`false`) | `false` |
/// | segment rolled after | `spark.streaming.receiver.writeAheadLog.rollingIntervalSecs`, `streaming.receiver.writeAheadLog.maxSegmentBytes` | 60 s, 64 MiB |
///
/// With the write-ahead log (Spark's receiver WAL; it needs a checkpoint
/// directory), every block of received records is appended to a log in
/// `<checkpoint dir>/receivedData/<stream id>/` and fsynced before it
/// enters the buffer, the checkpoints record which records each batch
/// took, and the stream becomes recoverable: `get_or_create` computes the
/// batches since the state checkpoint again from the log, and records
/// logged but not yet in a batch go to the next batches, so everything
/// received reaches `save_as_*` outputs exactly once (records still in
/// the socket or not yet logged when the process dies are lost, as in
/// Spark). Text streams can be logged; a stream with a custom
/// [`RecordDecoder`] cannot (its records have no encoding), and `start`
/// fails with the log enabled.
///
/// The capacity and the byte bound count everything received and not yet
/// processed (bytes as read from the socket), so they also bound
/// throughput: at most that much per batch interval. Memory held by a
/// receiver is bounded by the byte bound, whatever the input (with the
/// write-ahead log, by 1.5 times the bound: two blocks of at most a
/// quarter of it wait outside the buffer, one being logged, one gathered).
///
/// ```no_run
/// use streaming_core::{SocketSpec, StreamingConf, StreamingContext};
/// use std::time::Duration;
/// let ssc = StreamingContext::new(StreamingConf::new().batch_interval(Duration::from_secs(1)))?;
/// let spec = SocketSpec::text("localhost", 9999).max_rate(1000.0).max_line_length(4096);
/// let stats = spec.stats();
/// ssc.socket_stream_with(spec).count().print();
/// ssc.start()?;
/// // ... later: stats.records_received(), stats.bad_records() ...
/// # Ok::<(), streaming_core::StreamingError>(())
/// ```
pub struct SocketSpec<T> {
    host: String,
    port: u16,
    decoder: DecoderSpec<T>,
    max_rate: Option<f64>,
    buffer_capacity: Option<usize>,
    max_bytes: Option<usize>,
    backoff: Option<(Duration, Duration)>,
    partitions: Option<usize>,
    retention: Option<Duration>,
    stats: ReceiverStats,
}

impl SocketSpec<String> {
    /// Text lines from `host:port`, decoded by a [`LineDecoder`].
    pub fn text(host: impl Into<String>, port: u16) -> Self {
        Self::with_decoder(
            host,
            port,
            DecoderSpec::Lines {
                max_line_length: None,
                lossy: false,
                make: line_ingest,
            },
        )
    }

    /// Sets the longest line accepted, in bytes; longer lines are counted
    /// and skipped.
    pub fn max_line_length(mut self, bytes: usize) -> Self {
        if let DecoderSpec::Lines {
            max_line_length, ..
        } = &mut self.decoder
        {
            *max_line_length = Some(bytes);
        }
        self
    }

    /// Keeps lines that are not valid UTF-8, with U+FFFD replacement
    /// characters (they are still counted as bad records).
    pub fn lossy_utf8(mut self, keep: bool) -> Self {
        if let DecoderSpec::Lines { lossy, .. } = &mut self.decoder {
            *lossy = keep;
        }
        self
    }
}

impl SocketSpec<SharedStr> {
    /// Text lines from `host:port`, decoded by a [`LineDecoder`], as
    /// [`SharedStr`]s: the lines of a received block are views of the text
    /// read (lines of up to 15 bytes are copied inline), so no `String` is
    /// made per line, and words split from them
    /// ([`SharedStr::split`]) need no allocation either. The same rules,
    /// limits and settings as [`text`](SocketSpec::text).
    ///
    /// A line (or a piece of it longer than 15 bytes) keeps the text read
    /// with it alive (a read is up to 256 KiB); keep
    /// [`compact`](SharedStr::compact) copies of pieces held for long
    /// (for example in state), if memory matters.
    pub fn shared_text(host: impl Into<String>, port: u16) -> Self {
        Self::with_decoder(
            host,
            port,
            DecoderSpec::Lines {
                max_line_length: None,
                lossy: false,
                make: shared_line_ingest,
            },
        )
    }

    /// As [`SocketSpec::<String>::max_line_length`](SocketSpec::max_line_length).
    pub fn max_line_length(mut self, bytes: usize) -> Self {
        if let DecoderSpec::Lines {
            max_line_length, ..
        } = &mut self.decoder
        {
            *max_line_length = Some(bytes);
        }
        self
    }

    /// As [`SocketSpec::<String>::lossy_utf8`](SocketSpec::lossy_utf8).
    pub fn lossy_utf8(mut self, keep: bool) -> Self {
        if let DecoderSpec::Lines { lossy, .. } = &mut self.decoder {
            *lossy = keep;
        }
        self
    }
}

impl<T: Data> SocketSpec<T> {
    /// Records from `host:port` decoded by `decoder`; each connection gets a
    /// fresh clone of it.
    pub fn new<D>(host: impl Into<String>, port: u16, decoder: D) -> Self
    where
        D: RecordDecoder<T> + Clone + Sync,
    {
        let factory: DecoderFactory<T> =
            Arc::new(move || Box::new(decoder.clone()) as Box<dyn RecordDecoder<T>>);
        Self::with_decoder(host, port, DecoderSpec::Custom(factory))
    }

    fn with_decoder(host: impl Into<String>, port: u16, decoder: DecoderSpec<T>) -> Self {
        SocketSpec {
            host: host.into(),
            port,
            decoder,
            max_rate: None,
            buffer_capacity: None,
            max_bytes: None,
            backoff: None,
            partitions: None,
            retention: None,
            stats: ReceiverStats::default(),
        }
    }

    /// Limits the stream to `records_per_second` records per second of batch
    /// time (Spark's `spark.streaming.receiver.maxRate`): a batch takes at
    /// most that many per second of its interval, the rest waits in the
    /// buffer (and, once it is full, in the sender). `<= 0` means unlimited.
    pub fn max_rate(mut self, records_per_second: f64) -> Self {
        self.max_rate = Some(records_per_second);
        self
    }

    /// Sets how many records the receiver may hold (received and not yet
    /// processed) before it stops reading.
    pub fn buffer_capacity(mut self, records: usize) -> Self {
        self.buffer_capacity = Some(records.max(1));
        self
    }

    /// Sets how many bytes of input the receiver may hold (received and not
    /// yet processed) before it stops reading, so TCP pushes back on the
    /// sender.
    pub fn max_buffered_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = Some(bytes.max(1));
        self
    }

    /// Sets the reconnection delays: `initial` after a failure, doubling on
    /// each consecutive one up to `max`.
    pub fn reconnect_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff = Some((initial, max.max(initial)));
        self
    }

    /// Sets how many partitions each batch has at a steady rate. Received
    /// records are kept in blocks that become the partitions (as Spark's
    /// receiver blocks do, without copying): a block is sealed when it holds
    /// `1/n` of the previous batch's records (at least 1024), and at every
    /// batch time.
    pub fn num_partitions(mut self, n: usize) -> Self {
        self.partitions = Some(n.max(1));
        self
    }

    /// Sets how long data assigned to a batch waits for that batch to be
    /// computed before it is dropped (counted and reported). Only data that
    /// no output operation uses is ever dropped, e.g. when a window is
    /// shorter than its slide.
    pub fn unclaimed_retention(mut self, d: Duration) -> Self {
        self.retention = Some(d);
        self
    }

    /// A handle on the receiver's counters, readable while it runs.
    pub fn stats(&self) -> ReceiverStats {
        self.stats.clone()
    }
}

/// Everything the receiver task needs, resolved at definition time.
struct Resolved<T> {
    ingest: Arc<dyn Ingest<T>>,
    /// The write-ahead log's settings, when it is enabled.
    wal: Option<WalConfig>,
    backoff: (Duration, Duration),
    /// Backpressure (`spark.streaming.backpressure.*`), when enabled.
    backpressure: Option<BackpressureConf>,
    interval: Duration,
}

/// What a socket stream with the write-ahead log records in checkpoints:
/// the records each remembered batch took, and where the records not yet
/// assigned start.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct LoggedBatches {
    /// The identity of the log (chosen by the run that started it).
    log_id: u64,
    /// `[from, until)` record numbers, by batch time.
    ranges: BTreeMap<Time, (u64, u64)>,
    /// The first record no batch took.
    assigned_end: u64,
}

/// A random log identity (see [`super::wal`]).
fn new_log_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.write_u32(std::process::id());
    h.finish()
}

/// The write-ahead log side of a socket source.
struct WalTracking {
    batches: LoggedBatches,
    /// Batches restored from a checkpoint that the recovered run computes
    /// again from the log.
    replay: BTreeMap<Time, (u64, u64)>,
    /// Whether a checkpoint was restored (else the log starts empty).
    restored: bool,
    /// How long batches' records are remembered (the replay window).
    remember: Duration,
    log: Option<Arc<WriteAheadLog>>,
    /// The checkpoint directory, once started.
    checkpoint_dir: Option<PathBuf>,
}

/// The input source behind socket streams.
pub(crate) struct SocketSource<T> {
    host: String,
    port: u16,
    resolved: std::result::Result<Resolved<T>, StreamingError>,
    /// The context's environment (its checkpoint directory, which may be
    /// set after the stream is defined, up to `start`).
    env: Arc<Env>,
    tracking: Mutex<WalTracking>,
    stats: ReceiverStats,
    stop: watch::Sender<bool>,
    /// Whether the receiver task runs; `stop` waits for it to end.
    running: Arc<(Mutex<bool>, Condvar)>,
    ctx: OnceLock<InputContext>,
}

fn resolve<T: Data>(
    spec: &SocketSpec<T>,
    conf: &StreamingConf,
    interval: Duration,
) -> Result<Resolved<T>> {
    let max_rate = match spec.max_rate {
        Some(r) if r > 0.0 && r.is_finite() => Some(r),
        Some(_) => None,
        None => settings::get(conf, settings::MAX_RATE, settings::parse_rate)?.flatten(),
    };
    let capacity = match spec.buffer_capacity {
        Some(c) => c,
        None => settings::get(conf, settings::BUFFER_CAPACITY, settings::parse_count)?
            .unwrap_or(DEFAULT_BUFFER_CAPACITY),
    };
    let backoff = match spec.backoff {
        Some(b) => b,
        None => {
            let initial = settings::get(conf, settings::RESTART_DELAY, |k, v| {
                settings::parse_duration(k, v, "ms")
            })?
            .unwrap_or(DEFAULT_RESTART_DELAY);
            let max = settings::get(conf, settings::MAX_RESTART_DELAY, |k, v| {
                settings::parse_duration(k, v, "ms")
            })?
            .unwrap_or(DEFAULT_MAX_RESTART_DELAY);
            (initial, max.max(initial))
        }
    };
    let max_bytes = match spec.max_bytes {
        Some(b) => b,
        None => settings::get(conf, settings::MAX_BUFFERED_BYTES, settings::parse_bytes)?
            .map_or(DEFAULT_MAX_BUFFERED_BYTES, |b| b.max(1) as usize),
    };
    let config = BufferConfig {
        capacity,
        max_bytes,
        max_rate,
        interval,
        partitions: spec
            .partitions
            .unwrap_or_else(|| conf.parallelism().unwrap_or(1)),
        retention: spec
            .retention
            .unwrap_or_else(|| (interval * 10).max(Duration::from_secs(60))),
    };
    let wal_enabled =
        settings::get(conf, settings::WAL_ENABLE, settings::parse_bool)?.unwrap_or(false);
    let wal = if wal_enabled {
        let rolling_interval = settings::get(conf, settings::WAL_ROLLING_INTERVAL, |k, v| {
            settings::parse_duration(k, v, "s")
        })?
        .unwrap_or(super::wal::DEFAULT_ROLLING_INTERVAL);
        let max_segment_bytes =
            settings::get(conf, settings::WAL_MAX_SEGMENT_BYTES, settings::parse_bytes)?
                .unwrap_or(super::wal::DEFAULT_MAX_SEGMENT_BYTES);
        Some(WalConfig {
            max_segment_bytes,
            rolling_interval,
        })
    } else {
        None
    };
    let stats = spec.stats.clone();
    let ingest = match &spec.decoder {
        DecoderSpec::Custom(f) => record_ingest(f.clone(), None, config, stats),
        DecoderSpec::Lines {
            max_line_length,
            lossy,
            make,
        } => {
            let max_len = match max_line_length {
                Some(n) => *n,
                None => settings::get(conf, settings::MAX_LINE_LENGTH, |k, v| {
                    settings::parse_bytes(k, v).map(|n| n as usize)
                })?
                .unwrap_or(super::decode::DEFAULT_MAX_LINE_LENGTH),
            };
            make(
                LineDecoder::new().max_line_length(max_len).lossy(*lossy),
                config,
                stats,
            )
        }
    };
    let backpressure = BackpressureConf::from_conf(conf)?;
    if let Some(bp) = &backpressure {
        // Spark's receivers start at the initial rate, capped by maxRate.
        if let Some(initial) = bp.initial_rate {
            ingest.set_rate_limit(initial);
        }
    }
    Ok(Resolved {
        ingest,
        wal,
        backoff,
        backpressure,
        interval,
    })
}

impl<T: Data> InputSource<T> for SocketSource<T> {
    fn name(&self) -> String {
        format!("socket {}:{}", self.host, self.port)
    }

    fn bad_records(&self) -> u64 {
        self.stats.bad_records()
    }

    fn start(&self, ctx: &InputContext) -> Result<()> {
        let resolved = self.resolved.as_ref().map_err(Clone::clone)?;
        if let Some(config) = &resolved.wal {
            self.open_log(resolved, config, ctx)?;
        }
        let _ = self.ctx.set(ctx.clone());
        *self.running.0.lock().unwrap() = true;
        if let Some(bp) = &resolved.backpressure {
            let estimator = bp
                .estimator(resolved.interval)
                .map_err(|e| StreamingError::Config(e.to_string()))?;
            let ingest = resolved.ingest.clone();
            let controller = RateController::new(ctx.stream_id(), estimator, move |rate| {
                ingest.set_rate_limit(rate)
            });
            ctx.add_streaming_listener(RateListener(controller));
            tracing::info!(input = %self.name(), "backpressure enabled");
        }
        resolved.ingest.spawn(TaskParams {
            host: self.host.clone(),
            port: self.port,
            backoff: resolved.backoff,
            stats: self.stats.clone(),
            ctx: ctx.clone(),
            stop: self.stop.subscribe(),
            running: RunningGuard(self.running.clone()),
        });
        tracing::info!(host = %self.host, port = self.port, "socket receiver started");
        Ok(())
    }

    fn stop(&self) {
        self.stop.send_replace(true);
        if let Ok(r) = &self.resolved {
            r.ingest.stop();
        }
        // Wait (briefly) for the receiver to hand over what it has read, so
        // a graceful stop sees it as pending data.
        let (lock, cond) = &*self.running;
        let guard = lock.lock().unwrap();
        let (guard, timeout) = cond
            .wait_timeout_while(guard, Duration::from_secs(5), |running| *running)
            .unwrap();
        if timeout.timed_out() && *guard {
            tracing::warn!(host = %self.host, port = self.port, "socket receiver did not stop within 5 s");
        }
    }

    fn on_batch_time(&self, time: Time) {
        let Ok(r) = &self.resolved else {
            return;
        };
        if r.wal.is_none() {
            r.ingest.on_batch_time(time);
            return;
        }
        let mut t = self.tracking.lock().unwrap();
        if t.replay.contains_key(&time) {
            // Recovered: the batch takes the records it took before.
            r.ingest.skip_batch_time(time);
        } else {
            let range = r.ingest.on_batch_time(time);
            t.batches.ranges.insert(time, range);
            t.batches.assigned_end = range.1;
        }
        if !t.remember.is_zero() {
            let cutoff = time.saturating_sub(t.remember);
            t.batches.ranges = t.batches.ranges.split_off(&cutoff);
        }
    }

    fn compute(&self, time: Time) -> Result<Option<Batch<T>>> {
        let r = self.resolved.as_ref().map_err(Clone::clone)?;
        let replay = match &r.wal {
            None => None,
            Some(_) => {
                let mut t = self.tracking.lock().unwrap();
                // Replays of earlier times are never computed any more.
                t.replay = t.replay.split_off(&time);
                t.replay.remove(&time)
            }
        };
        let batch = match replay {
            Some((from, until)) => {
                let batch = r
                    .ingest
                    .replay(from, until)
                    .map_err(|e| self.log_error(time, e))?;
                tracing::info!(%time, from, until, input = %self.name(), "batch computed again from the write-ahead log");
                batch
            }
            None => {
                let (batch, unclaimed) = r.ingest.take(time);
                if let Some(ctx) = self.ctx.get() {
                    for u in unclaimed {
                        ctx.report_error(format!(
                            "dropped {} records assigned to batch {} that was never computed (no output operation used it)",
                            u.records, u.time
                        ));
                    }
                }
                batch
            }
        };
        if r.wal.is_some() {
            self.clean_log();
        }
        Ok(Some(batch))
    }

    fn remember_at_least(&self, replay: Duration) {
        let mut t = self.tracking.lock().unwrap();
        t.remember = t.remember.max(replay);
    }

    /// Recoverable with the write-ahead log (text streams): a recovery
    /// computes the recorded batches again from the log.
    fn is_recoverable(&self) -> bool {
        match &self.resolved {
            Ok(r) => r.wal.is_some() && r.ingest.can_log(),
            Err(_) => false,
        }
    }

    /// With the write-ahead log: the records each remembered batch took,
    /// and where the records no batch took yet start.
    fn checkpoint_data(&self) -> Option<Result<Vec<u8>>> {
        let r = self.resolved.as_ref().ok()?;
        r.wal.as_ref()?;
        let t = self.tracking.lock().unwrap();
        Some(
            postcard::to_stdvec(&t.batches).map_err(|e| StreamingError::InvalidData {
                context: format!("cannot encode the logged batches of {}", self.name()),
                message: e.to_string(),
            }),
        )
    }

    fn restore_checkpoint_data(&self, bytes: &[u8]) -> Result<()> {
        let batches: LoggedBatches =
            postcard::from_bytes(bytes).map_err(|e| StreamingError::InvalidData {
                context: format!("cannot decode the logged batches of {}", self.name()),
                message: e.to_string(),
            })?;
        let mut t = self.tracking.lock().unwrap();
        t.replay = batches.ranges.clone();
        t.batches = batches;
        t.restored = true;
        Ok(())
    }

    fn has_pending_data(&self) -> bool {
        match &self.resolved {
            Ok(r) => r.ingest.has_pending_data(),
            Err(_) => false,
        }
    }
}

impl<T: Data> SocketSource<T> {
    /// A write-ahead log error as the error batch `time` fails with.
    fn log_error(&self, time: Time, e: WalError) -> StreamingError {
        let t = self.tracking.lock().unwrap();
        let dir = t
            .log
            .as_ref()
            .map(|l| l.dir().to_path_buf())
            .unwrap_or_default();
        StreamingError::Checkpoint(CheckpointError::WriteAheadLog {
            dir,
            reason: format!("cannot compute batch {time} again: {e}"),
        })
    }

    /// Opens the write-ahead log at start: empty for a new run; for a
    /// recovered one, checked, with the records no batch took back in the
    /// buffer.
    fn open_log(&self, r: &Resolved<T>, config: &WalConfig, ctx: &InputContext) -> Result<()> {
        if !r.ingest.can_log() {
            return Err(StreamingError::Config(format!(
                "{}=true, but the records of {} cannot be written to the write-ahead log: a custom decoder's records have no encoding (text socket streams can be logged)",
                settings::WAL_ENABLE,
                self.name()
            )));
        }
        let Some(checkpoint_dir) = self.env.checkpoint_dir() else {
            return Err(StreamingError::Config(format!(
                "cannot enable the receiver write-ahead log ({}) without a checkpoint directory: set one with ssc.checkpoint(dir)",
                settings::WAL_ENABLE
            )));
        };
        let dir = checkpoint_dir
            .join(WAL_DIRECTORY)
            .join(ctx.stream_id().to_string());
        let fail = |reason: String| {
            StreamingError::Checkpoint(CheckpointError::WriteAheadLog {
                dir: dir.clone(),
                reason,
            })
        };
        let mut t = self.tracking.lock().unwrap();
        let id = t.batches.log_id;
        let log = match WriteAheadLog::open(&dir, config.clone(), id, !t.restored) {
            // The checkpoint was taken at the start of a run killed before
            // it opened its log (over one an earlier run left): nothing of
            // that log is this run's.
            Err(WalError::Foreign { .. })
                if t.batches.assigned_end == 0 && t.batches.ranges.is_empty() =>
            {
                WriteAheadLog::open(&dir, config.clone(), id, true)
            }
            r => r,
        }
        .map_err(|e| fail(e.to_string()))?;
        let assigned_end = t.batches.assigned_end;
        if log.end() < assigned_end {
            return Err(fail(format!(
                "the checkpoint counts {assigned_end} records as received, the log ends at record {}",
                log.end()
            )));
        }
        // (Batches recomputed from the log find their records when they
        // run: which of the recorded batches run again is the recovery's
        // business; one whose records are gone fails, naming them.)
        let log = Arc::new(log);
        r.ingest
            .use_log(log.clone(), assigned_end)
            .map_err(|e| fail(e.to_string()))?;
        tracing::info!(
            dir = %dir.display(),
            unassigned = log.end() - assigned_end,
            replayed_batches = t.replay.len(),
            "receiver write-ahead log opened"
        );
        t.log = Some(log);
        t.checkpoint_dir = Some(checkpoint_dir);
        Ok(())
    }

    /// Deletes the log's segments that no recovery needs: those whose
    /// records all went to batches before the newest state checkpoint in
    /// the checkpoint directory (which holds their effect).
    fn clean_log(&self) {
        let (log, dir) = {
            let t = self.tracking.lock().unwrap();
            match (&t.log, &t.checkpoint_dir) {
                (Some(log), Some(dir)) if log.segments() > 1 => (log.clone(), dir.clone()),
                _ => return,
            }
        };
        let state_time = match crate::checkpoint::list(&dir) {
            Ok(files) => match files.last() {
                Some(f) => f.time,
                None => return,
            },
            Err(e) => {
                tracing::warn!(error = %e, "cannot list the state checkpoints; the write-ahead log is not cleaned");
                return;
            }
        };
        let before = {
            let t = self.tracking.lock().unwrap();
            // Only when the remembered batches reach back to that
            // checkpoint: the first one from it on starts what it needs.
            match t.batches.ranges.keys().next() {
                Some(&first) if first <= state_time => {}
                _ => return,
            }
            t.batches
                .ranges
                .range(state_time..)
                .next()
                .map_or(t.batches.assigned_end, |(_, r)| r.0)
                .min(t.batches.assigned_end)
        };
        match log.clean(before) {
            Ok(0) => {}
            Ok(n) => {
                tracing::debug!(segments = n, before, %state_time, "write-ahead log segments deleted")
            }
            Err(e) => {
                if let Some(ctx) = self.ctx.get() {
                    ctx.report_error(format!("cannot clean the write-ahead log: {e}"));
                }
            }
        }
    }
}

/// Marks the receiver task as ended when dropped (also on panic or when the
/// runtime shuts down).
struct RunningGuard(Arc<(Mutex<bool>, Condvar)>);

impl Drop for RunningGuard {
    fn drop(&mut self) {
        let (lock, cond) = &*self.0;
        *lock.lock().unwrap() = false;
        cond.notify_all();
    }
}

/// How one connection ended.
enum ConnectionEnd {
    /// The receiver was asked to stop.
    Stopped,
    /// The peer closed the connection.
    Closed { bytes: u64 },
    /// Reading or decoding failed.
    Failed { bytes: u64, error: String },
}

struct ReceiverTask<B> {
    host: String,
    port: u16,
    buffer: Arc<ReceiverBuffer<B>>,
    decoder: BlockDecoderFactory<B>,
    /// The write-ahead log every block goes to before the buffer.
    wal: Option<Wal<B>>,
    /// Reused for encoding blocks for the log (two alternate: one is with
    /// the block in flight).
    wal_buf: Vec<u8>,
    /// The task logging the last block and handing it to the buffer.
    in_flight: Option<tokio::task::JoinHandle<(Stored, Vec<u8>)>>,
    backoff: (Duration, Duration),
    stats: ReceiverStats,
    ctx: InputContext,
    stop: watch::Receiver<bool>,
}

/// What storing a block came to.
enum Stored {
    /// In the buffer (and, with the log, logged first).
    Ok,
    /// The receiver is stopping (the block was still accepted whole).
    Stopped,
    /// The block could not be logged: dropped and reported.
    Failed(String),
}

impl<B: Block + 'static> ReceiverTask<B> {
    fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Stores the records of `out`, decoded from `bytes` input bytes. With
    /// the write-ahead log: encodes them, waits for the block before (one
    /// block is in flight at most, so blocks are logged and reach the
    /// buffer in order, and memory stays bounded), then has a task append
    /// them to the log as one block, fsync (on a blocking thread) and hand
    /// them to the buffer, while this task reads on. [`finish`](Self::finish)
    /// waits for that task.
    async fn store(&mut self, out: &mut B, bytes: usize) -> Stored {
        if out.records() == 0 {
            return Stored::Ok;
        }
        let Some(wal) = self.wal.clone() else {
            return if self.buffer.push(out, bytes).await {
                Stored::Ok
            } else {
                Stored::Stopped
            };
        };
        let mut payload = std::mem::take(&mut self.wal_buf);
        payload.clear();
        wal.codec.encode(out, &mut payload);
        let mut block = std::mem::take(out);
        let before = self.finish().await;
        if let Stored::Failed(e) = before {
            let n = block.records();
            self.stats.add_dropped(n);
            return Stored::Failed(format!("{e}; {n} more records dropped"));
        }
        let (log, buffer, stats) = (wal.log.clone(), self.buffer.clone(), self.stats.clone());
        self.in_flight = Some(tokio::spawn(async move {
            let records = block.records();
            let appended = tokio::task::spawn_blocking(move || {
                let r = log.append(records as u64, &payload);
                (r, payload)
            })
            .await;
            let (error, payload) = match appended {
                Ok((Ok(_), payload)) => (None, payload),
                Ok((Err(e), payload)) => (Some(e.to_string()), payload),
                Err(e) => (
                    Some(format!("the append did not complete: {e}")),
                    Vec::new(),
                ),
            };
            if let Some(e) = error {
                stats.add_dropped(records);
                let message =
                    format!("cannot write to the write-ahead log, {records} records dropped: {e}");
                return (Stored::Failed(message), payload);
            }
            let stored = if buffer.push(&mut block, bytes).await {
                Stored::Ok
            } else {
                Stored::Stopped
            };
            (stored, payload)
        }));
        match before {
            // Stopping: the block is still logged and accepted whole.
            Stored::Stopped => match self.finish().await {
                Stored::Failed(e) => Stored::Failed(e),
                _ => Stored::Stopped,
            },
            _ => Stored::Ok,
        }
    }

    /// Waits for the block being logged, if any, to be in the log and the
    /// buffer. Cancel-safe: dropped before the end, the block is still in
    /// flight.
    async fn finish(&mut self) -> Stored {
        let Some(task) = self.in_flight.as_mut() else {
            return Stored::Ok;
        };
        let done = task.await;
        self.in_flight = None;
        match done {
            Ok((stored, payload)) => {
                self.wal_buf = payload;
                stored
            }
            Err(e) => Stored::Failed(format!("the write-ahead log append did not complete: {e}")),
        }
    }

    /// Waits for `d` unless asked to stop first; returns whether to go on.
    async fn pause(&mut self, d: Duration) -> bool {
        tokio::select! {
            _ = self.stop.wait_for(|s| *s) => false,
            _ = tokio::time::sleep(d) => true,
        }
    }

    async fn run(mut self) {
        let (initial, max) = self.backoff;
        let mut delay = initial;
        loop {
            if *self.stop.borrow() {
                break;
            }
            let connect = TcpStream::connect((self.host.as_str(), self.port));
            let stream = tokio::select! {
                _ = self.stop.wait_for(|s| *s) => break,
                r = connect => r,
            };
            let stream = match stream {
                Ok(s) => s,
                Err(e) => {
                    self.stats.connection_failed();
                    self.ctx.report_error(format!(
                        "cannot connect to {}: {e}; retrying in {delay:?}",
                        self.addr()
                    ));
                    if !self.pause(delay).await {
                        break;
                    }
                    delay = (delay * 2).min(max);
                    continue;
                }
            };
            self.stats.connected();
            tracing::info!(addr = %self.addr(), "socket receiver connected");
            let end = self.read_connection(stream).await;
            // The last block read is logged and in the buffer before the
            // connection counts as ended.
            let end = match (self.finish().await, end) {
                (Stored::Ok, end) => end,
                (Stored::Stopped, _) => ConnectionEnd::Stopped,
                (Stored::Failed(error), ConnectionEnd::Stopped) => {
                    self.ctx.report_error(format!("{}: {error}", self.addr()));
                    ConnectionEnd::Stopped
                }
                (
                    Stored::Failed(error),
                    ConnectionEnd::Closed { bytes } | ConnectionEnd::Failed { bytes, .. },
                ) => ConnectionEnd::Failed { bytes, error },
            };
            let (bytes, what) = match end {
                ConnectionEnd::Stopped => {
                    self.stats.set_idle();
                    break;
                }
                ConnectionEnd::Closed { bytes } => (bytes, "connection closed by the peer".into()),
                ConnectionEnd::Failed { bytes, error } => (bytes, error),
            };
            self.stats.disconnected();
            if bytes > 0 {
                delay = initial;
            }
            self.ctx.report_error(format!(
                "{}: {what} after {bytes} bytes; reconnecting in {delay:?}",
                self.addr()
            ));
            if !self.pause(delay).await {
                break;
            }
            if bytes == 0 {
                delay = (delay * 2).min(max);
            }
        }
        tracing::info!(addr = %self.addr(), "socket receiver stopped");
    }

    /// Reads and decodes one connection until it ends or the receiver stops.
    async fn read_connection(&mut self, mut stream: TcpStream) -> ConnectionEnd {
        let mut decoder = (self.decoder)();
        let mut buf = vec![0u8; READ_CHUNK];
        let (mut start, mut end) = (0usize, 0usize);
        let mut out = B::default();
        // Records decoded from the previous read: room to reserve, since a
        // push takes the block's allocation along with the records.
        let mut last_decoded = 1024;
        let mut bad = BadRecords::default();
        let mut bytes = 0u64;
        // Input bytes of the records in `out`.
        let mut pending = 0usize;
        let logging = self.wal.is_some();
        let block_bytes = WAL_BLOCK_BYTES.min(self.buffer.max_bytes() / 4).max(1);
        loop {
            if end == buf.len() {
                if start > 0 {
                    buf.copy_within(start..end, 0);
                    end -= start;
                    start = 0;
                } else {
                    // One record longer than the buffer: the decoder bounds this.
                    buf.resize(buf.len() * 2, 0);
                }
            }
            let read = if logging && out.records() > 0 && pending < block_bytes {
                // Gather what is readable at once into one logged block,
                // and, while the block before is being logged, what comes
                // until it is (group commit: one fsync for all of it).
                match stream.try_read(&mut buf[end..]) {
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        if self.in_flight.is_some() {
                            tokio::select! {
                                biased;
                                stored = self.finish() => match stored {
                                    Stored::Ok => {}
                                    Stored::Stopped => return ConnectionEnd::Stopped,
                                    Stored::Failed(error) => {
                                        return ConnectionEnd::Failed { bytes, error }
                                    }
                                },
                                _ = stream.readable() => continue,
                            }
                        }
                        match self.store(&mut out, std::mem::take(&mut pending)).await {
                            Stored::Ok => continue,
                            Stored::Stopped => return ConnectionEnd::Stopped,
                            Stored::Failed(error) => return ConnectionEnd::Failed { bytes, error },
                        }
                    }
                    r => r,
                }
            } else {
                tokio::select! {
                    biased;
                    _ = self.stop.wait_for(|s| *s) => return ConnectionEnd::Stopped,
                    r = stream.read(&mut buf[end..]) => r,
                }
            };
            let n = match read {
                Ok(n) => n,
                Err(e) => {
                    // Records gathered for the log are stored first.
                    return match self.store(&mut out, pending).await {
                        Stored::Stopped => ConnectionEnd::Stopped,
                        Stored::Failed(error) => ConnectionEnd::Failed { bytes, error },
                        Stored::Ok => ConnectionEnd::Failed {
                            bytes,
                            error: format!("read failed: {e}"),
                        },
                    };
                }
            };
            if out.records() == 0 {
                out.reserve(last_decoded);
            }
            let decoded = if n == 0 {
                decoder
                    .decode_eof(&buf[start..end], &mut out, &mut bad)
                    .map(|_| end - start)
            } else {
                end += n;
                bytes += n as u64;
                self.stats.add_bytes(n);
                decoder.decode(&buf[start..end], &mut out, &mut bad)
            };
            if !bad.is_empty() {
                self.stats.add_bad(&bad);
                self.ctx.report_error(format!(
                    "{}: skipped {} bad records: {}",
                    self.addr(),
                    bad.total(),
                    bad.summary()
                ));
                bad.clear();
            }
            let used = match decoded {
                Ok(used) => used,
                Err(e) => {
                    return match self.store(&mut out, pending + end - start).await {
                        Stored::Stopped => ConnectionEnd::Stopped,
                        Stored::Failed(error) => ConnectionEnd::Failed { bytes, error },
                        Stored::Ok => ConnectionEnd::Failed {
                            bytes,
                            error: format!("undecodable stream: {e}"),
                        },
                    };
                }
            };
            last_decoded = out.records().max(64);
            start += used.min(end - start);
            if start == end {
                start = 0;
                end = 0;
            }
            pending += used;
            if out.records() == 0 {
                pending = 0;
            } else if !logging || pending >= block_bytes || n == 0 {
                match self.store(&mut out, std::mem::take(&mut pending)).await {
                    Stored::Ok => {}
                    Stored::Stopped => return ConnectionEnd::Stopped,
                    Stored::Failed(error) => return ConnectionEnd::Failed { bytes, error },
                }
            }
            if n == 0 {
                return ConnectionEnd::Closed { bytes };
            }
        }
    }
}

impl<T: Data> SocketSpec<T> {
    /// The input source of this spec, with the settings `conf` gives for
    /// what the spec leaves open. An invalid setting is kept and fails
    /// `start`.
    pub(crate) fn into_source(
        self,
        conf: &StreamingConf,
        interval: Duration,
        env: Arc<Env>,
    ) -> SocketSource<T> {
        let resolved = resolve(&self, conf, interval);
        let (stop, _) = watch::channel(false);
        SocketSource {
            host: self.host,
            port: self.port,
            resolved,
            env,
            tracking: Mutex::new(WalTracking {
                batches: LoggedBatches {
                    log_id: new_log_id(),
                    ranges: BTreeMap::new(),
                    assigned_end: 0,
                },
                replay: BTreeMap::new(),
                restored: false,
                remember: Duration::ZERO,
                log: None,
                checkpoint_dir: None,
            }),
            stats: self.stats,
            stop,
            running: Arc::new((Mutex::new(false), Condvar::new())),
            ctx: OnceLock::new(),
        }
    }
}
