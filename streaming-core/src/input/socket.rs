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

use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

use rayon::prelude::*;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::decode::{
    BadRecords, BlockDecoder, LineBlock, LineDecoder, PooledLineDecoder, RecordDecoder,
    SharedLineDecoder, TextPool, MAX_BLOCK_LINE_LENGTH,
};
use super::receiver::{Block, BufferConfig, ReceiverBuffer, ReceiverStats, Unclaimed};
use super::settings;
use super::{InputContext, InputSource};
use crate::batch::{Batch, Data, SharedStr};
use crate::conf::StreamingConf;
use crate::error::{Result, StreamingError};
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
            config,
            stats,
        )
    }
}

/// The generic ingest path: records decoded by the receiver as they arrive.
fn record_ingest<T: Data>(
    factory: DecoderFactory<T>,
    config: BufferConfig,
    stats: ReceiverStats,
) -> Arc<dyn Ingest<T>> {
    Arc::new(BlockIngest {
        buffer: Arc::new(ReceiverBuffer::new(config, stats)),
        decoder: Arc::new(move || Box::new(factory()) as Box<dyn BlockDecoder<Vec<T>>>),
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
    fn on_batch_time(&self, time: Time);
    /// The batch of `time` (its records made now, if kept undecoded), and
    /// the data given up on.
    fn take(&self, time: Time) -> (Batch<T>, Vec<Unclaimed>);
    /// Whether received data waits for a batch time.
    fn has_pending_data(&self) -> bool;
    /// See [`ReceiverBuffer::set_rate_limit`].
    fn set_rate_limit(&self, rate: f64);
}

struct BlockIngest<B, T> {
    buffer: Arc<ReceiverBuffer<B>>,
    decoder: BlockDecoderFactory<B>,
    /// Makes a batch of the blocks taken for it.
    into_batch: Box<dyn Fn(Vec<B>) -> Batch<T> + Send + Sync>,
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

    fn on_batch_time(&self, time: Time) {
        self.buffer.on_batch_time(time);
    }

    fn take(&self, time: Time) -> (Batch<T>, Vec<Unclaimed>) {
        let (blocks, unclaimed) = self.buffer.take(time);
        ((self.into_batch)(blocks), unclaimed)
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
///
/// The capacity and the byte bound count everything received and not yet
/// processed (bytes as read from the socket), so they also bound
/// throughput: at most that much per batch interval. Memory held by a
/// receiver is bounded by the byte bound, whatever the input.
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
    backoff: (Duration, Duration),
    /// Backpressure (`spark.streaming.backpressure.*`), when enabled.
    backpressure: Option<BackpressureConf>,
    interval: Duration,
}

/// The input source behind socket streams.
pub(crate) struct SocketSource<T> {
    host: String,
    port: u16,
    resolved: std::result::Result<Resolved<T>, StreamingError>,
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
    let stats = spec.stats.clone();
    let ingest = match &spec.decoder {
        DecoderSpec::Custom(f) => record_ingest(f.clone(), config, stats),
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
        if let Ok(r) = &self.resolved {
            r.ingest.on_batch_time(time);
        }
    }

    fn compute(&self, time: Time) -> Result<Option<Batch<T>>> {
        let r = self.resolved.as_ref().map_err(Clone::clone)?;
        let (batch, unclaimed) = r.ingest.take(time);
        if let Some(ctx) = self.ctx.get() {
            for u in unclaimed {
                ctx.report_error(format!(
                    "dropped {} records assigned to batch {} that was never computed (no output operation used it)",
                    u.records, u.time
                ));
            }
        }
        Ok(Some(batch))
    }

    fn has_pending_data(&self) -> bool {
        match &self.resolved {
            Ok(r) => r.ingest.has_pending_data(),
            Err(_) => false,
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
    backoff: (Duration, Duration),
    stats: ReceiverStats,
    ctx: InputContext,
    stop: watch::Receiver<bool>,
}

impl<B: Block> ReceiverTask<B> {
    fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
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
            let read = tokio::select! {
                biased;
                _ = self.stop.wait_for(|s| *s) => return ConnectionEnd::Stopped,
                r = stream.read(&mut buf[end..]) => r,
            };
            let n = match read {
                Ok(n) => n,
                Err(e) => {
                    return ConnectionEnd::Failed {
                        bytes,
                        error: format!("read failed: {e}"),
                    }
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
                    let pushed =
                        out.records() == 0 || self.buffer.push(&mut out, end - start).await;
                    if !pushed {
                        return ConnectionEnd::Stopped;
                    }
                    return ConnectionEnd::Failed {
                        bytes,
                        error: format!("undecodable stream: {e}"),
                    };
                }
            };
            last_decoded = out.records().max(64);
            start += used.min(end - start);
            if start == end {
                start = 0;
                end = 0;
            }
            if out.records() > 0 && !self.buffer.push(&mut out, used).await {
                return ConnectionEnd::Stopped;
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
    pub(crate) fn into_source(self, conf: &StreamingConf, interval: Duration) -> SocketSource<T> {
        let resolved = resolve(&self, conf, interval);
        let (stop, _) = watch::channel(false);
        SocketSource {
            host: self.host,
            port: self.port,
            resolved,
            stats: self.stats,
            stop,
            running: Arc::new((Mutex::new(false), Condvar::new())),
            ctx: OnceLock::new(),
        }
    }
}
