//! The receiver framework behind push inputs (sockets): a bounded buffer that
//! a background task fills as data arrives and that the job generator cuts
//! into batches, plus the counters a running receiver exposes.
//!
//! - Records pushed by the receiver wait in the buffer until the generator
//!   reaches a batch time ([`ReceiverBuffer::on_batch_time`]), which assigns
//!   them to that batch; the batch takes them when it is computed.
//! - The buffer holds at most `capacity` records and `max_bytes` bytes (of
//!   received input), assigned or not: when either is reached,
//!   [`ReceiverBuffer::push`] waits, so the receiver stops reading and TCP
//!   pushes back on the sender instead of memory growing. Bytes are those
//!   the records were decoded from, spread evenly over the records of a
//!   push; a single record larger than the bound is still taken when the
//!   buffer is empty, so a stream always makes progress.
//! - With a maximum rate, a batch covering `d` of batch time takes at most
//!   `max_rate × d` records (fractions carry over); the rest waits for the
//!   next batch. Batch times come from the context's clock, so the limit is
//!   exact and deterministic under a manual clock.
//! - Data assigned to a batch that is never computed (no output operation
//!   needed it) is dropped, counted and reported once a batch `retention`
//!   later has been computed.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::bad::BadRecords;
use crate::time::Time;

/// Counters of a receiver, readable while it runs (from a
/// [`SocketSpec::stats`](crate::SocketSpec::stats) handle). Cheap to clone;
/// clones share the counters.
///
/// "Received" records are those handed to the buffer: bad records (see
/// [`bad_records`](Self::bad_records)) are counted separately and never
/// enter it.
#[derive(Clone, Default)]
pub struct ReceiverStats {
    inner: Arc<StatsInner>,
}

#[derive(Default)]
struct StatsInner {
    records_received: AtomicU64,
    bytes_received: AtomicU64,
    buffered: AtomicU64,
    peak_buffered: AtomicU64,
    buffered_bytes: AtomicU64,
    peak_buffered_bytes: AtomicU64,
    records_dropped: AtomicU64,
    connections: AtomicU64,
    connection_failures: AtomicU64,
    disconnects: AtomicU64,
    connected: AtomicBool,
    bad: Mutex<BadRecords>,
}

impl std::fmt::Debug for ReceiverStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiverStats")
            .field("records_received", &self.records_received())
            .field("bytes_received", &self.bytes_received())
            .field("buffered", &self.buffered())
            .field("bad_records", &self.bad_records())
            .field("connections", &self.connections())
            .field("connection_failures", &self.connection_failures())
            .field("disconnects", &self.disconnects())
            .finish()
    }
}

impl ReceiverStats {
    /// Records handed to the buffer so far.
    pub fn records_received(&self) -> u64 {
        self.inner.records_received.load(Ordering::Acquire)
    }

    /// Bytes read from the source so far.
    pub fn bytes_received(&self) -> u64 {
        self.inner.bytes_received.load(Ordering::Relaxed)
    }

    /// Records held now: received and not yet taken by a computed batch.
    pub fn buffered(&self) -> u64 {
        self.inner.buffered.load(Ordering::Acquire)
    }

    /// Input bytes held now (see [`peak_buffered_bytes`](Self::peak_buffered_bytes)).
    pub fn buffered_bytes(&self) -> u64 {
        self.inner.buffered_bytes.load(Ordering::Acquire)
    }

    /// The most input bytes ever held at once: at most the buffer's byte
    /// bound, or one record when a single record is larger.
    pub fn peak_buffered_bytes(&self) -> u64 {
        self.inner.peak_buffered_bytes.load(Ordering::Relaxed)
    }

    /// The most records ever held at once (never above the buffer capacity,
    /// except for what was read just before a stop).
    pub fn peak_buffered(&self) -> u64 {
        self.inner.peak_buffered.load(Ordering::Relaxed)
    }

    /// Records dropped because no batch ever claimed them (see the module
    /// documentation of the receiver framework), or because they could not
    /// be written to the write-ahead log.
    pub fn records_dropped(&self) -> u64 {
        self.inner.records_dropped.load(Ordering::Relaxed)
    }

    /// Successful connections so far (the first one and every reconnection).
    pub fn connections(&self) -> u64 {
        self.inner.connections.load(Ordering::Acquire)
    }

    /// Failed connection attempts so far.
    pub fn connection_failures(&self) -> u64 {
        self.inner.connection_failures.load(Ordering::Acquire)
    }

    /// Connections that ended (closed by the peer or failed while reading).
    pub fn disconnects(&self) -> u64 {
        self.inner.disconnects.load(Ordering::Acquire)
    }

    /// Whether the receiver is connected now.
    pub fn is_connected(&self) -> bool {
        self.inner.connected.load(Ordering::Acquire)
    }

    /// Bad records seen so far (skipped and reported).
    pub fn bad_records(&self) -> u64 {
        self.inner.bad.lock().unwrap().total()
    }

    /// Bad records of one kind (e.g. [`INVALID_UTF8`](crate::INVALID_UTF8)).
    pub fn bad_records_of(&self, kind: &str) -> u64 {
        self.inner.bad.lock().unwrap().count(kind)
    }

    /// Every bad-record count, by kind.
    pub fn bad_record_counts(&self) -> BadRecords {
        self.inner.bad.lock().unwrap().clone()
    }

    pub(crate) fn add_bytes(&self, n: usize) {
        self.inner
            .bytes_received
            .fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn add_dropped(&self, n: usize) {
        self.inner
            .records_dropped
            .fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn add_bad(&self, bad: &BadRecords) {
        self.inner.bad.lock().unwrap().merge(bad.clone());
    }

    pub(crate) fn connected(&self) {
        self.inner.connections.fetch_add(1, Ordering::AcqRel);
        self.inner.connected.store(true, Ordering::Release);
    }

    pub(crate) fn set_idle(&self) {
        self.inner.connected.store(false, Ordering::Release);
    }

    pub(crate) fn disconnected(&self) {
        self.inner.connected.store(false, Ordering::Release);
        self.inner.disconnects.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn connection_failed(&self) {
        self.inner
            .connection_failures
            .fetch_add(1, Ordering::AcqRel);
    }

    fn set_buffered(&self, held: usize, held_bytes: usize) {
        self.inner
            .buffered_bytes
            .store(held_bytes as u64, Ordering::Release);
        self.inner
            .peak_buffered_bytes
            .fetch_max(held_bytes as u64, Ordering::Relaxed);
        self.inner.buffered.store(held as u64, Ordering::Release);
        self.inner
            .peak_buffered
            .fetch_max(held as u64, Ordering::Relaxed);
    }
}

/// Sizing and pacing of a [`ReceiverBuffer`].
#[derive(Clone, Debug)]
pub(crate) struct BufferConfig {
    /// Records held at most.
    pub(crate) capacity: usize,
    /// Input bytes held at most.
    pub(crate) max_bytes: usize,
    /// Records per second of batch time, if limited.
    pub(crate) max_rate: Option<f64>,
    /// The batch interval (the span of the first batch).
    pub(crate) interval: Duration,
    /// Blocks (partitions) a batch should have at a steady rate.
    pub(crate) partitions: usize,
    /// How long assigned data waits for its batch to be computed.
    pub(crate) retention: Duration,
}

/// The smallest block a receiver seals on its own (before a batch time).
const MIN_BLOCK: usize = 1024;

/// A run of received records kept together in a [`ReceiverBuffer`], which
/// counts, splits and merges blocks by records: a `Vec` of decoded records,
/// or undecoded data that knows how many records it holds (text lines kept
/// as bytes, [`LineBlock`](super::decode::LineBlock)).
pub(crate) trait Block: Default + Send {
    /// Records in the block.
    fn records(&self) -> usize;
    /// Keeps the first `n` records (`n` below [`records`](Self::records))
    /// and returns the rest.
    fn split_off(&mut self, n: usize) -> Self;
    /// Appends the records of `other`.
    fn append(&mut self, other: Self);
    /// Makes room for about `records` more records.
    fn reserve(&mut self, records: usize);
}

impl<T: Send> Block for Vec<T> {
    fn records(&self) -> usize {
        self.len()
    }
    fn split_off(&mut self, n: usize) -> Self {
        Vec::split_off(self, n)
    }
    fn append(&mut self, mut other: Self) {
        Vec::append(self, &mut other);
    }
    fn reserve(&mut self, records: usize) {
        Vec::reserve(self, records);
    }
}

struct BufState<B> {
    /// Input bytes of the records held (see the module documentation).
    held_bytes: usize,
    /// Received records not yet assigned, in blocks (oldest first); the last
    /// block grows until it reaches `block_size`.
    blocks: VecDeque<B>,
    unassigned: usize,
    /// The number of the first unassigned record: records are numbered
    /// from 0 in the order they are received (continued from a recovered
    /// write-ahead log), so a batch takes the records `[from, until)`.
    first_unassigned: u64,
    /// The blocks of each batch time, until the batch takes them.
    assigned: BTreeMap<Time, Vec<B>>,
    held: usize,
    /// Records per block: the previous batch's size over the partitions
    /// wanted, so a steady stream gives batches of about that many blocks.
    block_size: usize,
    last_batch: Option<Time>,
    /// Fraction of a record carried over by the rate limit.
    allowance: f64,
    stopped: bool,
}

impl<B: Block> BufState<B> {
    /// Appends received records, as a block of their own or to the last one.
    fn append(&mut self, records: B) {
        let n = records.records();
        match self.blocks.back_mut() {
            Some(last) if last.records() < self.block_size => last.append(records),
            _ => self.blocks.push_back(records),
        }
        self.unassigned += n;
        self.held += n;
    }

    /// Takes the first `n` unassigned records, as blocks.
    fn take_blocks(&mut self, n: usize) -> Vec<B> {
        let mut out = Vec::new();
        let mut left = n;
        while left > 0 {
            let Some(mut block) = self.blocks.pop_front() else {
                break;
            };
            if block.records() > left {
                let rest = block.split_off(left);
                self.blocks.push_front(rest);
            }
            left -= block.records();
            out.push(block);
        }
        self.unassigned -= n - left;
        self.first_unassigned += (n - left) as u64;
        out
    }
}

/// Data that was assigned to a batch that never took it.
pub(crate) struct Unclaimed {
    pub(crate) time: Time,
    pub(crate) records: usize,
}

/// The bounded buffer between a receiver task and the batches.
///
/// Received data is kept in blocks, which become the partitions of the
/// batches (as Spark's receivers make one partition per block): a block is
/// sealed when it reaches the previous batch's size divided by the wanted
/// number of partitions, and at every batch time, so records are never
/// copied into partitions.
pub(crate) struct ReceiverBuffer<B> {
    state: Mutex<BufState<B>>,
    /// The rate backpressure set (records/s, as `f64` bits; 0: none).
    rate_limit: AtomicU64,
    /// Signalled when records leave the buffer, and on stop.
    space: tokio::sync::Notify,
    config: BufferConfig,
    stats: ReceiverStats,
}

impl<B: Block> ReceiverBuffer<B> {
    pub(crate) fn new(config: BufferConfig, stats: ReceiverStats) -> Self {
        ReceiverBuffer {
            state: Mutex::new(BufState {
                blocks: VecDeque::new(),
                unassigned: 0,
                first_unassigned: 0,
                assigned: BTreeMap::new(),
                held: 0,
                held_bytes: 0,
                block_size: MIN_BLOCK,
                last_batch: None,
                allowance: 0.0,
                stopped: false,
            }),
            space: tokio::sync::Notify::new(),
            rate_limit: AtomicU64::new(0),
            config,
            stats,
        }
    }

    /// Sets the rate batches take records at (backpressure's estimate),
    /// capped by the configured maximum rate (Spark's
    /// `RateLimiter.updateRate`); a rate `<= 0` is ignored.
    pub(crate) fn set_rate_limit(&self, rate: f64) {
        if rate > 0.0 && rate.is_finite() {
            self.rate_limit.store(rate.to_bits(), Ordering::Release);
        }
    }

    /// The rate batches take records at: the configured maximum and the
    /// backpressure rate, whichever is lower.
    fn effective_rate(&self) -> Option<f64> {
        let dynamic = f64::from_bits(self.rate_limit.load(Ordering::Acquire));
        let dynamic = (dynamic > 0.0).then_some(dynamic);
        match (self.config.max_rate, dynamic) {
            (Some(m), Some(d)) => Some(m.min(d)),
            (m, d) => m.or(d),
        }
    }

    /// Moves `records` into the buffer, waiting for room while it is full.
    /// Returns `false` once the buffer is stopped; what was passed in is
    /// then accepted whole (it was read before the stop), so a graceful stop
    /// loses nothing the receiver read. `records` is left empty, possibly
    /// without capacity.
    pub(crate) async fn push(&self, records: &mut B, bytes: usize) -> bool {
        let mut bytes = bytes;
        loop {
            {
                let mut s = self.state.lock().unwrap();
                let total = records.records();
                let n = if s.stopped {
                    total
                } else {
                    let by_count = self.config.capacity.saturating_sub(s.held);
                    let room = self.config.max_bytes.saturating_sub(s.held_bytes);
                    let by_bytes = if bytes == 0 {
                        total
                    } else if s.held == 0 {
                        // An empty buffer takes at least one record.
                        (room as u128 * total as u128 / bytes as u128).max(1) as usize
                    } else {
                        (room as u128 * total as u128 / bytes as u128) as usize
                    };
                    by_count.min(by_bytes).min(total)
                };
                if n > 0 {
                    let part = if n == total {
                        std::mem::take(records)
                    } else {
                        let rest = records.split_off(n);
                        std::mem::replace(records, rest)
                    };
                    let part_bytes = (bytes as u128 * n as u128 / total as u128) as usize;
                    bytes -= part_bytes;
                    s.held_bytes += part_bytes;
                    s.append(part);
                    self.stats
                        .inner
                        .records_received
                        .fetch_add(n as u64, Ordering::AcqRel);
                    self.stats.set_buffered(s.held, s.held_bytes);
                }
                if s.stopped {
                    return false;
                }
                if records.records() == 0 {
                    return true;
                }
            }
            // `notify_one` stores a permit when nobody waits, so a wake-up
            // between the unlock above and this await is not lost.
            self.space.notified().await;
        }
    }

    /// Stops accepting data into the buffer beyond what the receiver has
    /// already read, and wakes a receiver waiting for room.
    pub(crate) fn stop(&self) {
        self.state.lock().unwrap().stopped = true;
        self.space.notify_one();
    }

    /// Assigns the data received so far (at most what the rate allows) to
    /// batch `time`; returns the numbers of the records assigned,
    /// `[from, until)` (see [`restore`](Self::restore)).
    pub(crate) fn on_batch_time(&self, time: Time) -> (u64, u64) {
        let mut s = self.state.lock().unwrap();
        let span = match s.last_batch {
            Some(last) => time.saturating_since(last),
            None => self.config.interval,
        };
        s.last_batch = Some(time);
        let available = s.unassigned;
        let take = match self.effective_rate() {
            None => available,
            Some(rate) => {
                let allowed = s.allowance + rate * span.as_secs_f64();
                let take = (allowed.floor() as usize).min(available);
                // Only carry over fractions while data waits: an idle
                // stream does not bank permits for a later burst.
                s.allowance = if take < available {
                    allowed - take as f64
                } else {
                    0.0
                };
                take
            }
        };
        s.block_size = (take / self.config.partitions.max(1)).max(MIN_BLOCK);
        let from = s.first_unassigned;
        if take == 0 {
            return (from, from);
        }
        let blocks = s.take_blocks(take);
        s.assigned.insert(time, blocks);
        (from, s.first_unassigned)
    }

    /// Batch `time` takes its records from elsewhere (a recovery replays
    /// it from the write-ahead log): nothing is assigned to it, and the
    /// rate limit of the next batch counts from it.
    pub(crate) fn skip_batch_time(&self, time: Time) {
        self.state.lock().unwrap().last_batch = Some(time);
    }

    /// Before the receiver starts: the records from number `first` on are
    /// `blocks` (received by an earlier run, logged, never assigned to a
    /// batch), decoded from `bytes` bytes; they wait for the next batches,
    /// and records received from now on are numbered after them.
    pub(crate) fn restore(&self, first: u64, blocks: Vec<B>, bytes: usize) {
        let mut s = self.state.lock().unwrap();
        s.first_unassigned = first;
        for block in blocks {
            let n = block.records();
            if n == 0 {
                continue;
            }
            s.blocks.push_back(block);
            s.unassigned += n;
            s.held += n;
        }
        s.held_bytes += bytes;
        self.stats.set_buffered(s.held, s.held_bytes);
    }

    /// The bound on the input bytes held.
    pub(crate) fn max_bytes(&self) -> usize {
        self.config.max_bytes
    }

    /// The blocks assigned to `time` (none if none), which become the
    /// batch's partitions, and the data of older batches given up on
    /// (assigned more than the retention before `time` and never taken).
    pub(crate) fn take(&self, time: Time) -> (Vec<B>, Vec<Unclaimed>) {
        let (blocks, unclaimed) = {
            let mut s = self.state.lock().unwrap();
            let blocks = s.assigned.remove(&time).unwrap_or_default();
            let cutoff = time.saturating_sub(self.config.retention);
            let kept = s.assigned.split_off(&cutoff);
            let old = std::mem::replace(&mut s.assigned, kept);
            let unclaimed: Vec<Unclaimed> = old
                .into_iter()
                .map(|(time, blocks)| Unclaimed {
                    time,
                    records: blocks.iter().map(Block::records).sum(),
                })
                .collect();
            let freed = blocks.iter().map(Block::records).sum::<usize>()
                + unclaimed.iter().map(|u| u.records).sum::<usize>();
            // The bytes leave with their share of the records.
            let freed_bytes = if freed >= s.held {
                s.held_bytes
            } else {
                (s.held_bytes as u128 * freed as u128 / s.held as u128) as usize
            };
            s.held -= freed;
            s.held_bytes -= freed_bytes;
            self.stats.set_buffered(s.held, s.held_bytes);
            (blocks, unclaimed)
        };
        let dropped: usize = unclaimed.iter().map(|u| u.records).sum();
        if dropped > 0 {
            self.stats
                .inner
                .records_dropped
                .fetch_add(dropped as u64, Ordering::Relaxed);
        }
        self.space.notify_one();
        (blocks, unclaimed)
    }

    /// Whether received data waits for a batch time.
    pub(crate) fn has_pending_data(&self) -> bool {
        self.state.lock().unwrap().unassigned > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::Batch;

    impl ReceiverBuffer<Vec<u32>> {
        /// `take`, with the blocks as a batch.
        fn take_batch(&self, time: Time) -> (Batch<u32>, Vec<Unclaimed>) {
            let (blocks, unclaimed) = self.take(time);
            (Batch::from_partitions(blocks), unclaimed)
        }
    }

    fn buffer(capacity: usize, max_rate: Option<f64>) -> ReceiverBuffer<Vec<u32>> {
        buffer_bytes(capacity, usize::MAX, max_rate)
    }

    fn buffer_bytes(
        capacity: usize,
        max_bytes: usize,
        max_rate: Option<f64>,
    ) -> ReceiverBuffer<Vec<u32>> {
        ReceiverBuffer::new(
            BufferConfig {
                capacity,
                max_bytes,
                max_rate,
                interval: Duration::from_secs(1),
                partitions: 2,
                retention: Duration::from_secs(10),
            },
            ReceiverStats::default(),
        )
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn batches_take_what_arrived_before_their_time() {
        let b = buffer(100, None);
        assert!(block_on(b.push(&mut vec![1, 2, 3], 0)));
        assert!(b.has_pending_data());
        b.on_batch_time(Time::from_millis(1000));
        assert!(block_on(b.push(&mut vec![4], 0)));
        let (batch, unclaimed) = b.take_batch(Time::from_millis(1000));
        assert_eq!(batch.collect(), vec![1, 2, 3]);
        assert_eq!(batch.num_partitions(), 1, "one block");
        assert!(unclaimed.is_empty());
        assert_eq!(b.stats.buffered(), 1);
        b.on_batch_time(Time::from_millis(2000));
        assert_eq!(b.take_batch(Time::from_millis(2000)).0.collect(), vec![4]);
        assert!(!b.has_pending_data());
    }

    #[test]
    fn a_steady_stream_gives_batches_of_about_the_wanted_blocks() {
        let b = buffer(100_000, None);
        let mut sizes = Vec::new();
        for i in 1..=3u64 {
            for _ in 0..4 {
                assert!(block_on(b.push(&mut vec![7; 1000], 0)));
            }
            let t = Time::from_millis(i * 1000);
            b.on_batch_time(t);
            let batch = b.take_batch(t).0;
            assert_eq!(batch.len(), 4000);
            sizes.push(batch.num_partitions());
        }
        // First batch: blocks of at least 1024 records; then 4000 / 2.
        assert_eq!(sizes, vec![2, 2, 2]);
    }

    #[test]
    fn rate_limit_carries_fractions_and_keeps_the_rest() {
        let b = buffer(100, Some(2.5));
        assert!(block_on(b.push(&mut (0..10).collect(), 0)));
        let mut sizes = Vec::new();
        for i in 1..=4 {
            let t = Time::from_millis(i * 1000);
            b.on_batch_time(t);
            sizes.push(b.take_batch(t).0.len());
        }
        assert_eq!(sizes, vec![2, 3, 2, 3]);
    }

    #[test]
    fn backpressure_lowers_the_rate_within_the_maximum() {
        let b = buffer(1000, Some(50.0));
        assert!(block_on(b.push(&mut (0..200).collect(), 0)));
        let mut sizes = Vec::new();
        for (i, rate) in [
            (1, None),
            (2, Some(20.0)),
            (3, Some(500.0)),
            (4, Some(-1.0)),
        ] {
            if let Some(r) = rate {
                b.set_rate_limit(r);
            }
            let t = Time::from_millis(i * 1000);
            b.on_batch_time(t);
            sizes.push(b.take_batch(t).0.len());
        }
        // The maximum (50/s), the estimate (20/s), the maximum again (the
        // estimate is above it), an invalid estimate ignored.
        assert_eq!(sizes, vec![50, 20, 50, 50]);
        let unlimited = buffer(1000, None);
        unlimited.set_rate_limit(7.0);
        assert!(block_on(unlimited.push(&mut (0..20).collect(), 0)));
        unlimited.on_batch_time(Time::from_millis(1000));
        assert_eq!(unlimited.take_batch(Time::from_millis(1000)).0.len(), 7);
    }

    #[test]
    fn a_full_buffer_takes_what_fits_and_a_stop_accepts_the_rest() {
        let b = Arc::new(buffer(3, None));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let b2 = b.clone();
        let pushed = rt.spawn(async move { b2.push(&mut (0..5).collect(), 0).await });
        rt.block_on(async {
            while b.stats.buffered() < 3 {
                tokio::task::yield_now().await;
            }
        });
        assert_eq!(b.stats.records_received(), 3);
        b.stop();
        let accepted = rt.block_on(pushed).unwrap();
        assert!(!accepted, "a push after stop reports the stop");
        assert_eq!(b.stats.records_received(), 5);
        b.on_batch_time(Time::from_millis(1000));
        assert_eq!(
            b.take_batch(Time::from_millis(1000)).0.collect(),
            vec![0, 1, 2, 3, 4]
        );
    }

    #[test]
    fn the_buffer_is_bounded_in_bytes_and_frees_them_with_the_records() {
        // 10 records from 300 input bytes: 30 bytes each; 100 bytes hold 3.
        let b = Arc::new(buffer_bytes(1_000_000, 100, None));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let b2 = b.clone();
        let pushed = rt.spawn(async move { b2.push(&mut (0..10).collect(), 300).await });
        rt.block_on(async {
            while b.stats.buffered() < 3 {
                tokio::task::yield_now().await;
            }
        });
        assert_eq!(b.stats.records_received(), 3);
        assert_eq!(b.stats.buffered_bytes(), 90);
        let mut got = Vec::new();
        for t in 1..=4u64 {
            b.on_batch_time(Time::from_millis(t * 1000));
            got.extend(b.take_batch(Time::from_millis(t * 1000)).0.collect());
            rt.block_on(async {
                for _ in 0..100 {
                    tokio::task::yield_now().await;
                }
            });
        }
        assert!(rt.block_on(pushed).unwrap());
        assert_eq!(got, (0..10).collect::<Vec<u32>>(), "nothing lost, in order");
        assert!(b.stats.peak_buffered_bytes() <= 100);
        assert_eq!(b.stats.buffered_bytes(), 0);
        // A record larger than the bound still enters an empty buffer.
        assert!(block_on(b.push(&mut vec![42], 1000)));
        assert_eq!(b.stats.buffered(), 1);
    }

    #[test]
    fn batches_take_numbered_records_and_restored_ones_come_first() {
        let b = buffer(100, Some(3.0));
        // Records 10.. were received by an earlier run and never assigned.
        b.restore(10, vec![vec![10, 11], vec![12, 13]], 40);
        assert!(b.has_pending_data());
        assert_eq!(b.stats.buffered(), 4);
        assert!(block_on(b.push(&mut vec![14, 15], 0)));
        let ms = Time::from_millis;
        assert_eq!(b.on_batch_time(ms(1000)), (10, 13), "the rate takes 3");
        assert_eq!(b.take_batch(ms(1000)).0.collect(), vec![10, 11, 12]);
        // A batch computed from elsewhere takes nothing, and the next one's
        // rate counts from it.
        b.skip_batch_time(ms(2000));
        assert_eq!(b.on_batch_time(ms(3000)), (13, 16));
        assert_eq!(b.take_batch(ms(3000)).0.collect(), vec![13, 14, 15]);
        assert_eq!(b.on_batch_time(ms(4000)), (16, 16), "nothing left");
    }

    #[test]
    fn unclaimed_batches_are_dropped_after_the_retention() {
        let b = buffer(100, None);
        block_on(b.push(&mut vec![1, 2], 0));
        b.on_batch_time(Time::from_millis(1000));
        for i in 2..=11 {
            b.on_batch_time(Time::from_millis(i * 1000));
            let (_, unclaimed) = b.take_batch(Time::from_millis(i * 1000));
            assert!(unclaimed.is_empty(), "kept within the retention");
        }
        b.on_batch_time(Time::from_millis(12_000));
        let (_, unclaimed) = b.take_batch(Time::from_millis(12_000));
        assert_eq!(unclaimed.len(), 1);
        assert_eq!(
            (unclaimed[0].time.as_millis(), unclaimed[0].records),
            (1000, 2)
        );
        assert_eq!(b.stats.records_dropped(), 2);
        assert_eq!(b.stats.buffered(), 0);
    }
}
