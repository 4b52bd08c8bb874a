//! What a Kafka direct stream carries: records, partitions and offset ranges.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A topic and one of its partitions (Kafka's `TopicPartition`).
///
/// Ordered by topic, then partition: the order of a batch's partitions.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TopicPartition {
    /// The topic.
    pub topic: String,
    /// The partition number.
    pub partition: i32,
}

impl TopicPartition {
    /// Partition `partition` of `topic`.
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    /// `topic-partition`, as Kafka prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// The offsets one batch reads from one partition: `[from_offset,
/// until_offset)` (Spark's `OffsetRange`).
///
/// `until_offset` is also what a commit stores for the partition: the next
/// offset to read.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OffsetRange {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The first offset read (inclusive).
    pub from_offset: i64,
    /// The offset after the last one read (exclusive).
    pub until_offset: i64,
}

impl OffsetRange {
    /// The range `[from_offset, until_offset)` of `topic`'s partition `partition`.
    pub fn new(
        topic: impl Into<String>,
        partition: i32,
        from_offset: i64,
        until_offset: i64,
    ) -> Self {
        OffsetRange {
            topic: topic.into(),
            partition,
            from_offset,
            until_offset,
        }
    }

    /// The partition this range reads.
    pub fn topic_partition(&self) -> TopicPartition {
        TopicPartition::new(self.topic.clone(), self.partition)
    }

    /// Number of offsets in the range (records, on a topic that is neither
    /// compacted nor transactional).
    pub fn count(&self) -> u64 {
        (self.until_offset - self.from_offset).max(0) as u64
    }
}

impl fmt::Display for OffsetRange {
    /// Spark's layout: `OffsetRange(topic: 't', partition: 0, range: [0 -> 10])`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "OffsetRange(topic: '{}', partition: {}, range: [{} -> {}])",
            self.topic, self.partition, self.from_offset, self.until_offset
        )
    }
}

/// The timestamp of a record, with its kind (Kafka's `TimestampType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordTimestamp {
    /// The record carries no timestamp.
    NotAvailable,
    /// Set by the producer, in milliseconds since the epoch.
    CreateTime(i64),
    /// Set by the broker when it appended the record, in milliseconds since
    /// the epoch.
    LogAppendTime(i64),
}

impl RecordTimestamp {
    /// The timestamp in milliseconds since the epoch, if there is one.
    pub fn millis(self) -> Option<i64> {
        match self {
            RecordTimestamp::NotAvailable => None,
            RecordTimestamp::CreateTime(t) | RecordTimestamp::LogAppendTime(t) => Some(t),
        }
    }
}

/// A record header: a key and an optional value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// The header key.
    pub key: String,
    /// The header value (`None` for a null value).
    pub value: Option<Vec<u8>>,
}

/// One record read from Kafka (Kafka's `ConsumerRecord<K, V>`).
///
/// The key is `None` for a record without a key (its bytes are decoded into
/// `K` only when present); the value is always decoded into `V`, so a stream
/// that must accept null values (tombstones) uses an `Option<_>` value type
/// (see [`KafkaDeserialize`](super::KafkaDeserialize)).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConsumerRecord<K, V> {
    /// The topic (shared by the records of a partition).
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// The record's offset in its partition.
    pub offset: i64,
    /// The record's timestamp.
    pub timestamp: RecordTimestamp,
    /// The decoded key, `None` when the record has none.
    pub key: Option<K>,
    /// The decoded value.
    pub value: V,
    /// The record's headers, in order (empty, without allocating, when
    /// there are none).
    pub headers: Vec<Header>,
}

impl<K, V> ConsumerRecord<K, V> {
    /// The record's partition.
    pub fn topic_partition(&self) -> TopicPartition {
        TopicPartition::new(self.topic.as_ref(), self.partition)
    }
}
