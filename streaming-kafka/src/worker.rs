//! The worker threads of a direct stream: each owns the cached consumers of
//! the partitions placed on it and reads the offset ranges of each batch.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message, OwnedMessage, Timestamp};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

use super::client::{close_consumer, create_consumer, kafka_error, KafkaConsumer};
use super::deser::{DeserializeError, KafkaDeserialize};
use super::record::{ConsumerRecord, Header, OffsetRange, RecordTimestamp, TopicPartition};
use super::strategy::OffsetReset;
use super::stream::StreamInfo;
use streaming_core::{Data, Result, StreamingError, Time};

/// Records of one batch partition, or why it could not be read.
pub(crate) type PartitionResult<K, V> = (usize, Result<Vec<ConsumerRecord<K, V>>>);

/// Reading one range of one batch.
pub(crate) struct ReadTask<K, V> {
    /// The batch partition this range becomes.
    pub(crate) index: usize,
    pub(crate) range: OffsetRange,
    pub(crate) time: Time,
    pub(crate) reply: mpsc::Sender<PartitionResult<K, V>>,
}

enum Msg<K, V> {
    Read(ReadTask<K, V>),
    /// Close every cached consumer (the stream stopped).
    Release,
}

/// The worker threads of one stream.
pub(crate) struct Workers<K, V> {
    senders: Vec<mpsc::Sender<Msg<K, V>>>,
    /// One message per worker thread that ended.
    ended: Mutex<mpsc::Receiver<()>>,
}

impl<K, V> Workers<K, V>
where
    K: KafkaDeserialize + Data,
    V: KafkaDeserialize + Data,
{
    /// Starts `shared.settings.workers` threads.
    pub(crate) fn spawn(shared: &Arc<StreamInfo>, stream_id: usize) -> Result<Self> {
        let (ended_tx, ended_rx) = mpsc::channel();
        let mut senders = Vec::new();
        for index in 0..shared.settings.workers {
            let (tx, rx) = mpsc::channel();
            let worker = Worker::<K, V> {
                index,
                shared: shared.clone(),
                cache: Vec::new(),
                tick: 0,
                _types: std::marker::PhantomData,
            };
            let ended = ended_tx.clone();
            std::thread::Builder::new()
                .name(format!("kafka-worker-{stream_id}-{index}"))
                .spawn(move || {
                    worker.run(rx);
                    let _ = ended.send(());
                })
                .map_err(|e| StreamingError::io("cannot start a Kafka worker thread", e))?;
            senders.push(tx);
        }
        Ok(Workers {
            senders,
            ended: Mutex::new(ended_rx),
        })
    }

    /// Hands `task` to worker `worker`.
    pub(crate) fn submit(&self, worker: usize, task: ReadTask<K, V>) -> Result<()> {
        let w = worker % self.senders.len();
        self.senders[w]
            .send(Msg::Read(task))
            .map_err(|_| kafka_error("reading a batch", format!("Kafka worker {w} has stopped")))
    }
}

impl<K, V> Workers<K, V> {
    /// Asks every worker to close its cached consumers once its queued
    /// reads are done.
    pub(crate) fn release(&self) {
        for s in &self.senders {
            let _ = s.send(Msg::Release);
        }
    }

    /// Ends the worker threads (each closes its consumers) and waits for
    /// them, at most `timeout` in all.
    pub(crate) fn shutdown(self, timeout: Duration) {
        let n = self.senders.len();
        drop(self.senders);
        let deadline = Instant::now() + timeout;
        let ended = self.ended.into_inner().unwrap_or_else(|p| p.into_inner());
        for _ in 0..n {
            let left = deadline.saturating_duration_since(Instant::now());
            if ended.recv_timeout(left).is_err() {
                tracing::warn!(
                    ?timeout,
                    "Kafka worker threads did not end in time; leaving them"
                );
                return;
            }
        }
    }
}

/// A cached consumer of one partition.
struct Cached {
    tp: TopicPartition,
    topic: Arc<str>,
    consumer: KafkaConsumer,
    /// The offset the consumer will deliver next, when known.
    next: Option<i64>,
    /// A record read past the end of the previous range (offsets may skip):
    /// it belongs to a later range.
    carry: Option<OwnedMessage>,
    last_used: u64,
}

struct Worker<K, V> {
    index: usize,
    shared: Arc<StreamInfo>,
    cache: Vec<Cached>,
    tick: u64,
    _types: std::marker::PhantomData<fn() -> (K, V)>,
}

/// Undecodable records of one range.
#[derive(Default)]
struct Undecodable {
    count: u64,
    first: Option<(i64, String)>,
}

fn decode<K, V, M>(
    topic: &Arc<str>,
    m: &M,
) -> std::result::Result<ConsumerRecord<K, V>, DeserializeError>
where
    K: KafkaDeserialize,
    V: KafkaDeserialize,
    M: Message,
{
    let key = match m.key() {
        Some(k) => Some(K::deserialize(k).map_err(|e| DeserializeError::new(format!("key: {e}")))?),
        None => None,
    };
    let value = match m.payload() {
        Some(p) => V::deserialize(p),
        None => V::deserialize_null(),
    }
    .map_err(|e| DeserializeError::new(format!("value: {e}")))?;
    let timestamp = match m.timestamp() {
        Timestamp::NotAvailable => RecordTimestamp::NotAvailable,
        Timestamp::CreateTime(t) => RecordTimestamp::CreateTime(t),
        Timestamp::LogAppendTime(t) => RecordTimestamp::LogAppendTime(t),
    };
    let headers = match m.headers() {
        Some(h) => h
            .iter()
            .map(|h| Header {
                key: h.key.to_string(),
                value: h.value.map(<[u8]>::to_vec),
            })
            .collect(),
        None => Vec::new(),
    };
    Ok(ConsumerRecord {
        topic: topic.clone(),
        partition: m.partition(),
        offset: m.offset(),
        timestamp,
        key,
        value,
        headers,
    })
}

/// Where reading a range stands.
struct Progress<K, V> {
    next: i64,
    out: Vec<ConsumerRecord<K, V>>,
    bad: Undecodable,
}

impl<K, V> Progress<K, V>
where
    K: KafkaDeserialize,
    V: KafkaDeserialize,
{
    /// Takes message `m` (at or after `next`, before the range's end).
    fn take<M: Message>(
        &mut self,
        topic: &Arc<str>,
        m: &M,
        fail: bool,
        tp: &TopicPartition,
    ) -> Result<()> {
        match decode::<K, V, M>(topic, m) {
            Ok(r) => self.out.push(r),
            Err(e) => {
                if fail {
                    return Err(StreamingError::KafkaDecode {
                        partition: tp.to_string(),
                        offset: m.offset(),
                        message: e.0,
                    });
                }
                self.bad.count += 1;
                self.bad.first.get_or_insert((m.offset(), e.0));
            }
        }
        self.next = m.offset() + 1;
        Ok(())
    }
}

fn is_out_of_range(e: &KafkaError) -> bool {
    matches!(
        e,
        KafkaError::MessageConsumption(
            RDKafkaErrorCode::AutoOffsetReset | RDKafkaErrorCode::OffsetOutOfRange
        )
    )
}

fn assign_at(consumer: &KafkaConsumer, tp: &TopicPartition, offset: i64) -> Result<()> {
    let mut tpl = TopicPartitionList::with_capacity(1);
    tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(offset))
        .map_err(|e| kafka_error(format!("seeking {tp} to {offset}"), e))?;
    consumer
        .assign(&tpl)
        .map_err(|e| kafka_error(format!("seeking {tp} to {offset}"), e))
}

impl<K, V> Worker<K, V>
where
    K: KafkaDeserialize + Data,
    V: KafkaDeserialize + Data,
{
    fn run(mut self, rx: mpsc::Receiver<Msg<K, V>>) {
        while let Ok(msg) = rx.recv() {
            match msg {
                Msg::Read(task) => {
                    let started = Instant::now();
                    let result = self.read(&task);
                    if let Ok(records) = &result {
                        self.shared
                            .stats
                            .add_records(self.index, records.len() as u64);
                        tracing::trace!(
                            worker = self.index,
                            range = %task.range,
                            records = records.len(),
                            elapsed = ?started.elapsed(),
                            "range read"
                        );
                    }
                    let _ = task.reply.send((task.index, result));
                }
                Msg::Release => self.close_all(),
            }
        }
        self.close_all();
    }

    fn close_all(&mut self) {
        for c in self.cache.drain(..) {
            close_consumer(c.consumer, &c.tp.to_string());
        }
    }

    /// The cache slot of `tp`'s consumer, creating it (and evicting the
    /// least recently used one beyond the capacity) if needed.
    fn slot(&mut self, tp: &TopicPartition) -> Result<usize> {
        self.tick += 1;
        if let Some(i) = self.cache.iter().position(|c| &c.tp == tp) {
            self.cache[i].last_used = self.tick;
            return Ok(i);
        }
        if self.cache.len() >= self.shared.settings.cache_capacity {
            let lru = (0..self.cache.len())
                .min_by_key(|&i| self.cache[i].last_used)
                .expect("the cache is not empty");
            let evicted = self.cache.swap_remove(lru);
            tracing::debug!(partition = %evicted.tp, "evicting a cached Kafka consumer");
            close_consumer(evicted.consumer, &evicted.tp.to_string());
        }
        let mut config = self
            .shared
            .params
            .config_with_group(&self.shared.executor_group);
        // Out-of-range offsets come back as errors; the stream applies
        // auto.offset.reset itself and reports it.
        config.set("auto.offset.reset", "error");
        let consumer = create_consumer(&config, format!("{}/{tp}", self.shared.name))?;
        self.shared.stats.consumer_created();
        tracing::debug!(worker = self.index, partition = %tp, "created a Kafka consumer");
        self.cache.push(Cached {
            tp: tp.clone(),
            topic: Arc::from(tp.topic.as_str()),
            consumer,
            next: None,
            carry: None,
            last_used: self.tick,
        });
        Ok(self.cache.len() - 1)
    }

    fn read(&mut self, task: &ReadTask<K, V>) -> Result<Vec<ConsumerRecord<K, V>>> {
        let range = &task.range;
        let tp = range.topic_partition();
        let until = range.until_offset;
        let settings = self.shared.settings.clone();
        let fail = settings.fail_on_undecodable;
        let slot = self.slot(&tp)?;
        let shared = self.shared.clone();
        let cached = &mut self.cache[slot];
        let mut p = Progress::<K, V> {
            next: range.from_offset,
            out: Vec::with_capacity(range.count().min(1 << 20) as usize),
            bad: Undecodable::default(),
        };
        let mut done = false;
        if cached.next == Some(range.from_offset) {
            if let Some(m) = cached.carry.take() {
                if m.offset() >= until {
                    // Nothing left in this range: keep it for a later one.
                    cached.carry = Some(m);
                    done = true;
                } else if m.offset() >= p.next {
                    p.take(&cached.topic, &m, fail, &tp)?;
                }
            }
        } else {
            cached.carry = None;
            assign_at(&cached.consumer, &tp, range.from_offset)?;
            cached.next = Some(range.from_offset);
        }
        let deadline = Instant::now() + settings.poll_timeout;
        let mut reported_fetch_error = false;
        while !done && p.next < until {
            let now = Instant::now();
            if now >= deadline {
                // The consumer's position is unknown now: seek next time.
                cached.next = None;
                cached.carry = None;
                return Err(kafka_error(
                    format!("reading {range} for batch {}", task.time),
                    format!(
                        "offsets from {} on did not arrive within the poll timeout ({:?})",
                        p.next, settings.poll_timeout
                    ),
                ));
            }
            let wait = (deadline - now).min(Duration::from_millis(500));
            match cached.consumer.poll(wait) {
                None => {}
                Some(Ok(m)) => {
                    let off = m.offset();
                    if off < p.next {
                        continue;
                    }
                    if off >= until {
                        // Offsets skipped past the end (compaction,
                        // transaction markers): the range is complete.
                        cached.carry = Some(m.detach());
                        done = true;
                        continue;
                    }
                    if let Err(e) = p.take(&cached.topic, &m, fail, &tp) {
                        // The consumer's position is past the failed record.
                        cached.next = None;
                        cached.carry = None;
                        return Err(e);
                    }
                }
                Some(Err(e)) if is_out_of_range(&e) => {
                    let (low, high) = cached
                        .consumer
                        .fetch_watermarks(&tp.topic, tp.partition, settings.query_timeout)
                        .map_err(|e| kafka_error(format!("offsets of {tp}"), e))?;
                    if p.next >= low && p.next <= high {
                        // Not out of range after all (the log moved): seek again.
                        assign_at(&cached.consumer, &tp, p.next)?;
                        continue;
                    }
                    shared.stats.offset_reset();
                    match shared.params.reset {
                        OffsetReset::Earliest if p.next < low => {
                            shared.report(format!(
                                "batch {}: offsets [{}, {low}) of {tp} are no longer on the broker (retention); reading from {low} (auto.offset.reset=earliest)",
                                task.time, p.next
                            ));
                            p.next = low;
                            assign_at(&cached.consumer, &tp, low)?;
                        }
                        OffsetReset::None => {
                            cached.next = None;
                            return Err(StreamingError::KafkaOffsetOutOfRange {
                                partition: tp.to_string(),
                                offset: p.next,
                                earliest: low,
                                latest: high,
                            });
                        }
                        _ => {
                            shared.report(format!(
                                "batch {}: offset {} of {tp} is out of range [{low}, {high}]; skipping the rest of {range} (auto.offset.reset={})",
                                task.time,
                                p.next,
                                shared.params.reset.as_str()
                            ));
                            cached.next = None;
                            done = true;
                        }
                    }
                }
                Some(Err(KafkaError::MessageConsumption(RDKafkaErrorCode::PartitionEOF))) => {}
                Some(Err(e)) => {
                    shared.stats.fetch_error();
                    if !reported_fetch_error {
                        reported_fetch_error = true;
                        shared.report(format!(
                            "batch {}: fetching {range}: {e}; retrying for up to {:?}",
                            task.time, settings.poll_timeout
                        ));
                    }
                }
            }
        }
        if cached.next.is_some() {
            cached.next = Some(until.max(p.next));
        }
        if p.bad.count > 0 {
            shared.stats.add_undecodable(p.bad.count);
            let (offset, message) = p.bad.first.take().unwrap_or_default();
            shared.report(format!(
                "batch {}: {} undecodable record(s) of {tp} left out of the batch (first at offset {offset}: {message})",
                task.time, p.bad.count
            ));
        }
        Ok(p.out)
    }
}
