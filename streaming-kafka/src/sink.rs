//! Writing streams to Kafka (`KafkaSink::save_to_kafka`) and re-keying
//! through a topic (`KafkaSink::repartition_through`).
//!
//! The sink uses librdkafka's idempotent producer (`enable.idempotence`,
//! `acks=all`): a record retried after a lost acknowledgement is written
//! once, and the records of a partition keep their order. A batch's output
//! completes only when every record of the batch is acknowledged; a record
//! that cannot be delivered fails the batch.
//!
//! Guarantee: exactly-once within a running process; at-least-once across
//! a crash. When a process dies after its output of a batch was written
//! and before the batch's offsets were committed, the partitions' next
//! owner computes the batch again and writes its records again. Closing
//! that gap needs Kafka transactions (offsets and output committed
//! together); the test broker, tansu 0.6, begins transactions but does
//! not support `EndTxn` (`commit_transaction` fails with "EndTxnRequest
//! (KIP-98) not supported by broker"), so the sink does not use them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientContext;

use super::client::kafka_error;
use super::deser::Json;
use streaming_core::{DStream, Data, Result, StreamingError};

/// How a value is written as a record's key or value (Kafka's
/// `Serializer`s; the inverse of `KafkaDeserialize`): strings as UTF-8,
/// bytes as they are, `i32`, `i64` and `f64` big-endian (Kafka's
/// `IntegerSerializer`, `LongSerializer`, `DoubleSerializer`), `Json`
/// with serde.
pub trait KafkaSerialize {
    /// The record bytes.
    fn to_kafka_bytes(&self) -> Vec<u8>;
}

impl KafkaSerialize for String {
    fn to_kafka_bytes(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}

impl KafkaSerialize for Vec<u8> {
    fn to_kafka_bytes(&self) -> Vec<u8> {
        self.clone()
    }
}

macro_rules! big_endian {
    ($($t:ty),*) => {$(
        impl KafkaSerialize for $t {
            fn to_kafka_bytes(&self) -> Vec<u8> {
                self.to_be_bytes().to_vec()
            }
        }
    )*};
}

big_endian!(i32, i64, f64);

impl<T: serde::Serialize> KafkaSerialize for Json<T> {
    fn to_kafka_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.0).expect("a serde value encodes to JSON")
    }
}

/// An element a Kafka sink writes as one record: a plain value (a record
/// without key), or a `(key, value)` pair (the key becomes the record's
/// key, which picks its partition).
pub trait ToKafkaRecord {
    /// The record's key.
    fn kafka_key(&self) -> Option<Vec<u8>>;
    /// The record's value.
    fn kafka_value(&self) -> Vec<u8>;
}

macro_rules! unkeyed {
    ($($t:ty),*) => {$(
        impl ToKafkaRecord for $t {
            fn kafka_key(&self) -> Option<Vec<u8>> {
                None
            }
            fn kafka_value(&self) -> Vec<u8> {
                self.to_kafka_bytes()
            }
        }
    )*};
}

unkeyed!(String, Vec<u8>, i32, i64, f64);

impl<T: serde::Serialize> ToKafkaRecord for Json<T> {
    fn kafka_key(&self) -> Option<Vec<u8>> {
        None
    }
    fn kafka_value(&self) -> Vec<u8> {
        self.to_kafka_bytes()
    }
}

impl<K: KafkaSerialize, V: KafkaSerialize> ToKafkaRecord for (K, V) {
    fn kafka_key(&self) -> Option<Vec<u8>> {
        Some(self.0.to_kafka_bytes())
    }
    fn kafka_value(&self) -> Vec<u8> {
        self.1.to_kafka_bytes()
    }
}

/// A producer context that counts the records a write failed to deliver:
/// what the sink (and the test kit's producer) check after flushing.
#[derive(Default)]
pub struct DeliveryCounter {
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl DeliveryCounter {
    /// Starts counting for a new write.
    pub fn reset(&self) {
        self.failed.store(0, Ordering::Relaxed);
        *self.first_error.lock().unwrap() = None;
    }

    /// After a flush: an error naming `topic` and the first delivery error
    /// if any of the `sent` records since [`reset`](Self::reset) was not
    /// delivered.
    pub fn check(&self, topic: &str, sent: u64) -> Result<()> {
        let failed = self.failed.load(Ordering::Relaxed);
        if failed == 0 {
            return Ok(());
        }
        Err(kafka_error(
            format!("producing to {topic}"),
            format!(
                "{failed} of {sent} records were not delivered (first error: {})",
                self.first_error.lock().unwrap().clone().unwrap_or_default()
            ),
        ))
    }
}

impl ClientContext for DeliveryCounter {}

impl ProducerContext for DeliveryCounter {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            self.failed.fetch_add(1, Ordering::Relaxed);
            self.first_error
                .lock()
                .unwrap()
                .get_or_insert_with(|| e.to_string());
        }
    }
}

/// How long a batch's records may take to be acknowledged.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(60);

/// An idempotent producer writing batches to one topic.
struct BatchWriter {
    topic: String,
    producer: ThreadedProducer<DeliveryCounter>,
    /// One batch is written at a time (the delivery counters are per batch).
    writing: Mutex<()>,
}

impl BatchWriter {
    fn new<I, PK, PV>(topic: &str, params: I) -> Result<Self>
    where
        I: IntoIterator<Item = (PK, PV)>,
        PK: Into<String>,
        PV: Into<String>,
    {
        let mut config = ClientConfig::new();
        // Java's default partitioner: a key lands where a Java producer
        // puts it.
        config.set("partitioner", "murmur2_random");
        config.set("linger.ms", "5");
        for (k, v) in params {
            let (k, v): (String, String) = (k.into(), v.into());
            if matches!(
                k.as_str(),
                "key.serializer" | "value.serializer" | "group.id"
            ) {
                continue;
            }
            config.set(k, v);
        }
        if config.get("bootstrap.servers").is_none() {
            return Err(StreamingError::Config(
                "save_to_kafka: the Kafka parameter bootstrap.servers is required".into(),
            ));
        }
        if config
            .get("enable.idempotence")
            .is_some_and(|v| v.eq_ignore_ascii_case("false"))
        {
            return Err(StreamingError::Config(
                "save_to_kafka writes with the idempotent producer; enable.idempotence=false is not supported".into(),
            ));
        }
        config.set("enable.idempotence", "true");
        config.set("acks", "all");
        let producer: ThreadedProducer<DeliveryCounter> = config
            .create_with_context(DeliveryCounter::default())
            .map_err(|e| StreamingError::Config(format!("save_to_kafka to {topic}: {e}")))?;
        Ok(BatchWriter {
            topic: topic.to_string(),
            producer,
            writing: Mutex::new(()),
        })
    }

    /// Writes `records` and waits until every one is acknowledged.
    fn write<'a, T: ToKafkaRecord + 'a>(
        &self,
        records: impl Iterator<Item = &'a T>,
    ) -> Result<u64> {
        let _one = self.writing.lock().unwrap();
        let ctx = self.producer.context();
        ctx.reset();
        let mut sent = 0u64;
        for element in records {
            let key = element.kafka_key();
            let value = element.kafka_value();
            let mut record: BaseRecord<'_, [u8], [u8]> =
                BaseRecord::to(&self.topic).payload(value.as_slice());
            if let Some(k) = &key {
                record = record.key(k.as_slice());
            }
            let deadline = Instant::now() + FLUSH_TIMEOUT;
            loop {
                match self.producer.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back))
                        if Instant::now() < deadline =>
                    {
                        // The local queue is full: wait for acknowledgements.
                        std::thread::sleep(Duration::from_millis(5));
                        record = back;
                    }
                    Err((e, _)) => {
                        return Err(kafka_error(format!("producing to {}", self.topic), e))
                    }
                }
            }
            sent += 1;
        }
        self.producer
            .flush(FLUSH_TIMEOUT)
            .map_err(|e| kafka_error(format!("flushing records to {}", self.topic), e))?;
        ctx.check(&self.topic, sent)?;
        Ok(sent)
    }
}

/// Producer settings among consumer parameters: the connection settings a
/// re-keying stage's producer shares with its consumers.
pub(crate) fn producer_params(params: &[(String, String)]) -> Vec<(String, String)> {
    params
        .iter()
        .filter(|(k, _)| {
            k == "bootstrap.servers"
                || k.starts_with("security.")
                || k.starts_with("sasl.")
                || k.starts_with("ssl.")
                || k == "client.id"
        })
        .cloned()
        .collect()
}

/// Writes every batch of `stream` to `topic` (see `KafkaSink::save_to_kafka`).
pub(crate) fn save_to_kafka<T, I, PK, PV>(stream: &DStream<T>, topic: &str, params: I) -> Result<()>
where
    T: ToKafkaRecord + Data,
    I: IntoIterator<Item = (PK, PV)>,
    PK: Into<String>,
    PV: Into<String>,
{
    let writer = Arc::new(BatchWriter::new(topic, params)?);
    stream.try_foreach_batch(move |batch, time| {
        let sent = writer.write(batch.iter())?;
        tracing::debug!(topic = %writer.topic, %time, records = sent, "batch written to Kafka");
        Ok(())
    });
    Ok(())
}
