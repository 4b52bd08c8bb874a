//! The librdkafka clients of a direct stream: consumer creation with logs
//! routed to `tracing`, deliberate closing, and the metadata and offset
//! queries of the driver.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};

use super::record::TopicPartition;
use super::strategy::Selection;
use streaming_core::{Result, StreamingError};

/// Routes librdkafka's logs and client errors to `tracing`.
pub(crate) struct TracingContext {
    pub(crate) name: String,
}

impl ClientContext for TracingContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        let client = self.name.as_str();
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => {
                tracing::error!(client, facility = fac, "librdkafka: {log_message}")
            }
            RDKafkaLogLevel::Warning => {
                tracing::warn!(client, facility = fac, "librdkafka: {log_message}")
            }
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(client, facility = fac, "librdkafka: {log_message}")
            }
            RDKafkaLogLevel::Debug => {
                tracing::debug!(client, facility = fac, "librdkafka: {log_message}")
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(client = %self.name, %error, "librdkafka client error: {reason}");
    }
}

impl ConsumerContext for TracingContext {}

/// A consumer of the stream.
pub(crate) type KafkaConsumer = BaseConsumer<TracingContext>;

/// A [`StreamingError::Kafka`] error for `operation` (used by the test
/// broker of `streaming-testkit` too).
pub fn kafka_error(operation: impl Into<String>, e: impl std::fmt::Display) -> StreamingError {
    StreamingError::Kafka {
        operation: operation.into(),
        message: e.to_string(),
    }
}

/// Creates a consumer (no broker is contacted until it is used).
pub(crate) fn create_consumer(config: &ClientConfig, name: String) -> Result<KafkaConsumer> {
    config
        .create_with_context(TracingContext { name: name.clone() })
        .map_err(|e| kafka_error(format!("cannot create consumer {name}"), e))
}

/// How long closing one consumer may take before it is abandoned.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Closes a consumer deliberately: unassigns it and destroys it on a helper
/// thread, waiting at most [`CLOSE_TIMEOUT`]. librdkafka's close can hang in
/// some sequences (a group coordinator that is gone); then the consumer is
/// abandoned with a warning instead of hanging the caller.
pub fn close_consumer<C: ConsumerContext + 'static>(consumer: BaseConsumer<C>, what: &str) {
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let what_owned = what.to_string();
    let spawned = std::thread::Builder::new()
        .name("kafka-close".into())
        .spawn(move || {
            if let Err(e) = consumer.unassign() {
                tracing::debug!(consumer = %what_owned, error = %e, "unassign before close failed");
            }
            drop(consumer);
            let _ = done_tx.send(());
        });
    match spawned {
        Ok(_) => {
            if done_rx.recv_timeout(CLOSE_TIMEOUT).is_err() {
                tracing::warn!(consumer = what, timeout = ?CLOSE_TIMEOUT, "Kafka consumer did not close in time; abandoning it");
            } else {
                tracing::debug!(consumer = what, "Kafka consumer closed");
            }
        }
        Err(e) => {
            tracing::warn!(consumer = what, error = %e, "cannot spawn a thread to close a Kafka consumer")
        }
    }
}

/// The partitions `selection` names, as the broker's metadata lists them
/// (a selection of explicit partitions is taken as it is).
pub(crate) fn discover_partitions(
    consumer: &KafkaConsumer,
    selection: &Selection,
    timeout: Duration,
) -> Result<Vec<TopicPartition>> {
    let mut out = Vec::new();
    match selection {
        Selection::Partitions(ps) => out.extend(ps.iter().cloned()),
        Selection::Topics(topics) => {
            for topic in topics {
                let md = consumer
                    .fetch_metadata(Some(topic), timeout)
                    .map_err(|e| kafka_error(format!("metadata of topic {topic}"), e))?;
                for t in md.topics() {
                    if let Some(err) = t.error() {
                        return Err(kafka_error(
                            format!("metadata of topic {topic}"),
                            rdkafka::types::RDKafkaErrorCode::from(err),
                        ));
                    }
                    out.extend(
                        t.partitions()
                            .iter()
                            .map(|p| TopicPartition::new(t.name(), p.id())),
                    );
                }
            }
        }
        Selection::Pattern(regex) => {
            let md = consumer
                .fetch_metadata(None, timeout)
                .map_err(|e| kafka_error("metadata of all topics", e))?;
            for t in md.topics() {
                if t.error().is_none() && regex.is_match(t.name()) {
                    out.extend(
                        t.partitions()
                            .iter()
                            .map(|p| TopicPartition::new(t.name(), p.id())),
                    );
                }
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn tpl_of(partitions: &[TopicPartition], offset: Offset) -> Result<TopicPartitionList> {
    let mut tpl = TopicPartitionList::with_capacity(partitions.len());
    for tp in partitions {
        tpl.add_partition_offset(&tp.topic, tp.partition, offset)
            .map_err(|e| kafka_error("building a partition list", e))?;
    }
    Ok(tpl)
}

/// Which end of a partition to look up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// The first offset the broker holds.
    Earliest,
    /// The offset the next record will get (the high watermark).
    Latest,
}

/// The earliest or latest offset of every partition, in one request per
/// leader.
pub(crate) fn list_offsets(
    consumer: &KafkaConsumer,
    partitions: &[TopicPartition],
    end: End,
    timeout: Duration,
) -> Result<BTreeMap<TopicPartition, i64>> {
    if partitions.is_empty() {
        return Ok(BTreeMap::new());
    }
    let what = match end {
        End::Earliest => "earliest offsets",
        End::Latest => "latest offsets",
    };
    let query = tpl_of(
        partitions,
        match end {
            End::Earliest => Offset::Beginning,
            End::Latest => Offset::End,
        },
    )?;
    let res = consumer
        .offsets_for_times(query, timeout)
        .map_err(|e| kafka_error(what, e))?;
    let mut out = BTreeMap::new();
    for e in res.elements() {
        let tp = TopicPartition::new(e.topic(), e.partition());
        if let Err(err) = e.error() {
            return Err(kafka_error(format!("{what} of {tp}"), err));
        }
        match e.offset() {
            Offset::Offset(o) => {
                out.insert(tp, o);
            }
            other => {
                return Err(kafka_error(
                    format!("{what} of {tp}"),
                    format!("the broker answered {other:?} instead of an offset"),
                ))
            }
        }
    }
    for tp in partitions {
        if !out.contains_key(tp) {
            return Err(kafka_error(
                format!("{what} of {tp}"),
                "missing from the broker's answer",
            ));
        }
    }
    Ok(out)
}

/// The offsets committed by the consumer's group, for the partitions that
/// have one.
pub(crate) fn committed_offsets(
    consumer: &KafkaConsumer,
    partitions: &[TopicPartition],
    timeout: Duration,
) -> Result<BTreeMap<TopicPartition, i64>> {
    if partitions.is_empty() {
        return Ok(BTreeMap::new());
    }
    let query = tpl_of(partitions, Offset::Invalid)?;
    let res = consumer
        .committed_offsets(query, timeout)
        .map_err(|e| kafka_error("committed offsets", e))?;
    let mut out = BTreeMap::new();
    for e in res.elements() {
        if let Offset::Offset(o) = e.offset() {
            if o >= 0 {
                out.insert(TopicPartition::new(e.topic(), e.partition()), o);
            }
        }
    }
    Ok(out)
}

/// A partition list of commit offsets.
pub(crate) fn commit_list(offsets: &BTreeMap<TopicPartition, i64>) -> Result<TopicPartitionList> {
    let mut tpl = TopicPartitionList::with_capacity(offsets.len());
    for (tp, o) in offsets {
        tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*o))
            .map_err(|e| kafka_error("building a commit list", e))?;
    }
    Ok(tpl)
}
