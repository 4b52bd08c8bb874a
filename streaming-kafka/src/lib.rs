//! Kafka direct streams: Spark's
//! `KafkaUtils.createDirectStream` on [librdkafka](https://docs.rs/rdkafka).
//!
//! A direct stream has no receiver. At every batch time the driver asks the
//! brokers for the latest offset of every partition and fixes the batch's
//! [`OffsetRange`] per partition: `[from, until)` where `from` is where the
//! previous batch ended and `until` is the latest offset, capped by
//! [`max_rate_per_partition`](DirectStreamConfig::max_rate_per_partition).
//! Computing the batch reads exactly those ranges, one batch partition per
//! Kafka partition (in topic, partition order), on the stream's worker
//! threads; each worker keeps one cached consumer per partition placed on
//! it ([`LocationStrategy`]), so a batch continues where the consumer's
//! prefetched data stands.
//!
//! Offsets are the stream's state: every batch's ranges are available by
//! batch time ([`KafkaOffsets::offset_ranges`], Spark's `HasOffsetRanges`),
//! can be committed to the consumer group after the outputs succeeded
//! ([`KafkaOffsets::commit_async`], Spark's `CanCommitOffsets`), and are
//! saved in the context's checkpoint, so a recovered context re-reads the
//! ranges of unfinished batches and continues where the last batch ended.
//! With idempotent outputs (`save_as_text_files` replaces a batch's
//! directory), Kafka to files is exactly-once.
//!
//! Failures: a broker that cannot be reached when a batch is planned is
//! reported to the listeners (`on_receiver_error`) and retried with a
//! doubling backoff; meanwhile batches read nothing new, and the next batch
//! that reaches the broker reads everything since, so nothing is lost.
//! Reading a range retries through outages up to the
//! [poll timeout](DirectStreamConfig::poll_timeout), then fails the batch.
//! Offsets out of the range the broker holds follow `auto.offset.reset`
//! and are reported; undecodable records are counted and reported, or fail
//! the batch ([`DirectStreamConfig::fail_on_undecodable`]).
//!
//! ```no_run
//! use streaming_kafka::{ConsumerStrategy, KafkaUtils, LocationStrategy};
//! use streaming_core::{StreamingConf, StreamingContext};
//! use std::time::Duration;
//!
//! let ssc = StreamingContext::new(
//!     StreamingConf::new().master("local[*]").batch_interval(Duration::from_secs(3)),
//! )?;
//! let params = [
//!     ("bootstrap.servers", "localhost:9092"),
//!     ("group.id", "use_a_separate_group_id_for_each_stream"),
//!     ("auto.offset.reset", "latest"),
//!     ("enable.auto.commit", "false"),
//! ];
//! let stream = KafkaUtils::create_direct_stream::<String, String>(
//!     &ssc,
//!     LocationStrategy::PreferConsistent,
//!     ConsumerStrategy::subscribe(["test"], params),
//! )?;
//! let offsets = stream.offsets();
//! stream
//!     .map(|record| record.value)
//!     .flat_map(|line: String| line.split(' ').map(str::to_string).collect::<Vec<_>>())
//!     .map(|word| (word, 1))
//!     .reduce_by_key(|a, b| a + b)
//!     .print();
//! stream.foreach_batch(move |_, time| {
//!     // Outputs of this batch are done: commit its offsets.
//!     if let Some(ranges) = offsets.offset_ranges(time) {
//!         offsets.commit_async(&ranges);
//!     }
//! });
//! ssc.start()?;
//! ssc.await_termination()?;
//! # Ok::<(), streaming_core::StreamingError>(())
//! ```

#![deny(missing_docs)]

mod client;
mod commit;
mod config;
mod deser;
mod group;
mod record;
mod sink;
mod source;
mod state;
mod stats;
mod strategy;
mod stream;
mod worker;

use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::Arc;

/// The [rdkafka](https://docs.rs/rdkafka) crate this module is built on,
/// for direct use of Kafka clients (producers, admin operations).
pub use rdkafka;

pub use client::{close_consumer, kafka_error, CLOSE_TIMEOUT};
pub use config::DirectStreamConfig;
pub use deser::{DeserializeError, Json, KafkaDeserialize};
pub use group::Rebalance;
pub use record::{ConsumerRecord, Header, OffsetRange, RecordTimestamp, TopicPartition};
pub use sink::{DeliveryCounter, KafkaSerialize, ToKafkaRecord};
pub use state::{PartitionStateError, PartitionedState};
pub use stats::KafkaStreamStats;
pub use strategy::{ConsumerStrategy, LocationStrategy, OffsetReset};

use source::{DirectKafkaSource, Shared};
use streaming_core::{DStream, Data, Result, StreamingContext, StreamingError, Time};

/// Creates Kafka direct streams (Spark's `KafkaUtils`).
pub struct KafkaUtils;

impl KafkaUtils {
    /// A direct stream of the records of the partitions `consumer_strategy`
    /// selects, read on workers placed by `location_strategy`, with keys
    /// decoded into `K` and values into `V` (see [`KafkaDeserialize`]).
    /// Settings come from the context's configuration (see
    /// [`DirectStreamConfig`]).
    ///
    /// Fails with a [`Config`](streaming_core::StreamingError::Config) error for
    /// invalid consumer parameters or settings; the brokers are first
    /// contacted at `start`.
    ///
    /// # Panics
    /// If the context has already started.
    pub fn create_direct_stream<K, V>(
        ssc: &StreamingContext,
        location_strategy: LocationStrategy,
        consumer_strategy: ConsumerStrategy,
    ) -> Result<DirectKafkaStream<K, V>>
    where
        K: KafkaDeserialize + Data,
        V: KafkaDeserialize + Data,
    {
        Self::create_direct_stream_with_config(
            ssc,
            location_strategy,
            consumer_strategy,
            DirectStreamConfig::default(),
        )
    }

    /// [`create_direct_stream`](Self::create_direct_stream) with per-stream
    /// settings (rate limits, timeouts, workers...).
    ///
    /// # Panics
    /// If the context has already started.
    pub fn create_direct_stream_with_config<K, V>(
        ssc: &StreamingContext,
        location_strategy: LocationStrategy,
        consumer_strategy: ConsumerStrategy,
        config: DirectStreamConfig,
    ) -> Result<DirectKafkaStream<K, V>>
    where
        K: KafkaDeserialize + Data,
        V: KafkaDeserialize + Data,
    {
        let interval = ssc.batch_interval();
        let settings = config.resolve(ssc.conf(), interval)?;
        let source = DirectKafkaSource::<K, V>::new(
            ssc.conf().get_app_name(),
            location_strategy,
            consumer_strategy,
            settings,
            interval,
        )?;
        let shared = source.shared();
        let stream = ssc.input_stream(source);
        Ok(DirectKafkaStream {
            stream,
            offsets: KafkaOffsets { shared },
        })
    }
}

/// A Kafka direct stream: a [`DStream`] of [`ConsumerRecord`]s (it
/// dereferences to one), plus access to its offsets ([`offsets`](Self::offsets)).
pub struct DirectKafkaStream<K, V> {
    stream: DStream<ConsumerRecord<K, V>>,
    offsets: KafkaOffsets,
}

impl<K, V> Clone for DirectKafkaStream<K, V> {
    fn clone(&self) -> Self {
        DirectKafkaStream {
            stream: self.stream.clone(),
            offsets: self.offsets.clone(),
        }
    }
}

impl<K, V> Deref for DirectKafkaStream<K, V> {
    type Target = DStream<ConsumerRecord<K, V>>;

    fn deref(&self) -> &Self::Target {
        &self.stream
    }
}

impl<K, V> DirectKafkaStream<K, V> {
    /// The stream of records.
    pub fn stream(&self) -> DStream<ConsumerRecord<K, V>> {
        self.stream.clone()
    }

    /// A handle on the stream's offsets, to move into output functions.
    pub fn offsets(&self) -> KafkaOffsets {
        self.offsets.clone()
    }

    /// The ranges batch `time` reads (see [`KafkaOffsets::offset_ranges`]).
    pub fn offset_ranges(&self, time: Time) -> Option<Vec<OffsetRange>> {
        self.offsets.offset_ranges(time)
    }

    /// Commits `ranges` (see [`KafkaOffsets::commit_async`]).
    pub fn commit_async(&self, ranges: &[OffsetRange]) {
        self.offsets.commit_async(ranges)
    }

    /// The stream's counters.
    pub fn stats(&self) -> KafkaStreamStats {
        self.offsets.stats()
    }
}

/// The offsets of a direct stream: each batch's ranges (Spark's
/// `HasOffsetRanges`) and commits (Spark's `CanCommitOffsets`). Cheap to
/// clone; move a clone into `foreach_batch` or `transform`.
#[derive(Clone)]
pub struct KafkaOffsets {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for KafkaOffsets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaOffsets")
            .field("stream", &self.shared.info.name)
            .field("current", &self.current_offsets())
            .finish()
    }
}

impl KafkaOffsets {
    /// The offset ranges batch `time` reads, one per partition in the
    /// order of the batch's partitions; `None` for a time the stream has
    /// not planned (or has forgotten: ranges are kept while the batch is
    /// pending and for at least a minute after it was computed).
    pub fn offset_ranges(&self, time: Time) -> Option<Vec<OffsetRange>> {
        self.shared.offset_ranges(time)
    }

    /// The next offset the stream will read of every partition it knows:
    /// the end of the latest planned batch.
    pub fn current_offsets(&self) -> BTreeMap<TopicPartition, i64> {
        self.shared.current_offsets()
    }

    /// Commits `ranges` to the consumer group (`group.id`) in the
    /// background: each partition's committed offset becomes its range's
    /// `until_offset`. Call it once a batch's outputs have succeeded.
    /// Commits queued while one is in flight are merged. Failures are
    /// counted ([`KafkaStreamStats::commit_failures`]) and reported to the
    /// listeners.
    pub fn commit_async(&self, ranges: &[OffsetRange]) {
        self.shared.commit(ranges, None)
    }

    /// [`commit_async`](Self::commit_async), calling `callback` (on the
    /// commit thread) with the offsets committed or the error.
    pub fn commit_async_with_callback(
        &self,
        ranges: &[OffsetRange],
        callback: impl FnOnce(Result<BTreeMap<TopicPartition, i64>>) + Send + 'static,
    ) {
        self.shared.commit(ranges, Some(Box::new(callback)))
    }

    /// Which worker thread reads which partition (see [`LocationStrategy`]).
    pub fn placement(&self) -> BTreeMap<TopicPartition, usize> {
        self.shared.placement()
    }

    /// The stream's counters.
    pub fn stats(&self) -> KafkaStreamStats {
        self.shared.info.stats.clone()
    }

    /// Group mode: the partitions this process owns (those of the latest
    /// planned batch); empty for a stream not in group mode.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.shared
            .group_member()
            .map(|g| g.assignment())
            .unwrap_or_default()
    }

    /// Group mode: every change of the partitions this process owns, with
    /// the first batch that read the new assignment.
    pub fn rebalances(&self) -> Vec<Rebalance> {
        self.shared
            .group_member()
            .map(|g| g.rebalances())
            .unwrap_or_default()
    }

    /// Group mode: the offsets this process last committed, per partition.
    pub fn group_committed(&self) -> BTreeMap<TopicPartition, i64> {
        self.shared
            .group_member()
            .map(|g| g.committed())
            .unwrap_or_default()
    }

    /// Whether the stream is in group mode.
    pub fn is_group_member(&self) -> bool {
        self.shared.group_member().is_some()
    }
}

impl KafkaOffsets {
    /// Per-partition keyed state for this group-mode stream (see
    /// [`PartitionedState`]), with the snapshots of the operator `name`
    /// under `dir`, a directory every process of the group can reach (a
    /// local directory for processes on one host, a shared file system
    /// otherwise). `name` must be unique among the job's stateful
    /// operators and stable across runs.
    pub fn partitioned_state(
        &self,
        dir: impl AsRef<std::path::Path>,
        name: &str,
    ) -> PartitionedState {
        PartitionedState::new(self.shared.clone(), dir.as_ref(), name)
    }
}

/// Kafka outputs of a stream.
pub trait KafkaSink<T> {
    /// Writes every batch to `topic` with the idempotent producer
    /// configured by `params` (Kafka producer settings; `bootstrap.servers`
    /// is required; `key.serializer`, `value.serializer` and `group.id`
    /// are ignored): plain values as records without key, `(key, value)`
    /// pairs with the key as the record's key (Java's partitioner picks
    /// the partition). A batch's output ends when all its records are
    /// acknowledged; an undeliverable record fails the batch. Exactly-once
    /// while the process runs, at-least-once across a crash (see the
    /// [`ToKafkaRecord`] and the README's "Scaling out": the test broker
    /// cannot commit transactions).
    ///
    /// Invalid producer settings are a [`Config`](StreamingError::Config)
    /// error; the broker is first contacted by the first batch.
    fn save_to_kafka<I, PK, PV>(&self, topic: &str, params: I) -> Result<()>
    where
        I: IntoIterator<Item = (PK, PV)>,
        PK: Into<String>,
        PV: Into<String>;

    /// Re-keys pairs through Kafka (Kafka Streams' `repartition`): writes
    /// each batch's pairs to `topic`, keyed by their key, and returns a
    /// group-mode direct stream of `topic` as the next stage's input, in
    /// the consumer group of `params` (`group.id` is required). The
    /// records of one key are then all in one partition of `topic`, so
    /// [`PartitionedState`] downstream is
    /// co-partitioned with the new key.
    ///
    /// Latency: one batch; what batch `t` writes is read by batch `t + 1`
    /// (or later, under a rate limit). Ordering: the records of a key keep
    /// the order in which they were written, which within one process is
    /// batch order, then input partition order; records of one key
    /// written by different processes in the same batch interleave in no
    /// defined order. Delivery: as [`save_to_kafka`](Self::save_to_kafka),
    /// at-least-once across a crash of a writer.
    ///
    /// `topic` must exist (create it with as many partitions as the state
    /// downstream needs).
    fn repartition_through<K, V>(
        &self,
        ssc: &StreamingContext,
        topic: &str,
        params: Vec<(String, String)>,
        config: DirectStreamConfig,
    ) -> Result<DirectKafkaStream<K, V>>
    where
        T: ToKafkaRecord,
        K: KafkaDeserialize + Data,
        V: KafkaDeserialize + Data;
}

impl<T: ToKafkaRecord + Data> KafkaSink<T> for DStream<T> {
    fn save_to_kafka<I, PK, PV>(&self, topic: &str, params: I) -> Result<()>
    where
        I: IntoIterator<Item = (PK, PV)>,
        PK: Into<String>,
        PV: Into<String>,
    {
        sink::save_to_kafka(self, topic, params)
    }

    fn repartition_through<K, V>(
        &self,
        ssc: &StreamingContext,
        topic: &str,
        params: Vec<(String, String)>,
        config: DirectStreamConfig,
    ) -> Result<DirectKafkaStream<K, V>>
    where
        T: ToKafkaRecord,
        K: KafkaDeserialize + Data,
        V: KafkaDeserialize + Data,
    {
        if !params.iter().any(|(k, v)| k == "group.id" && !v.is_empty()) {
            return Err(StreamingError::Config(
                "repartition_through needs the Kafka parameter group.id".into(),
            ));
        }
        self.save_to_kafka(topic, sink::producer_params(&params))?;
        // Everything written to the topic is read: a partition without a
        // committed offset starts at its beginning.
        let mut params = params;
        params.retain(|(k, _)| k != "auto.offset.reset");
        params.push(("auto.offset.reset".into(), "earliest".into()));
        KafkaUtils::create_direct_stream_with_config(
            ssc,
            LocationStrategy::PreferConsistent,
            ConsumerStrategy::subscribe([topic.to_string()], params).join_group(),
            config,
        )
    }
}
