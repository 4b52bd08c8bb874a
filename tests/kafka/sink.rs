//! `save_to_kafka`: batches written to a real broker with the idempotent
//! producer, read back.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use streaming::kafka::rdkafka::config::ClientConfig;
use streaming::kafka::rdkafka::consumer::{BaseConsumer, Consumer};
use streaming::kafka::rdkafka::{Message, Offset, TopicPartitionList};
use streaming::kafka::KafkaSink;
use streaming::prelude::*;
use streaming::testing::kafka::KafkaTestBroker;

use super::support::*;

/// Every record of `topic`'s `partitions`: (partition, key, value), in
/// offset order per partition.
fn read_all(
    broker: &KafkaTestBroker,
    topic: &str,
    partitions: i32,
) -> Vec<(i32, Option<String>, String)> {
    let high = broker.watermarks(topic, partitions).unwrap();
    let total: i64 = high.values().map(|(lo, hi)| hi - lo).sum();
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap_servers())
        .set("group.id", "sink-reader")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    c.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while (out.len() as i64) < total {
        assert!(
            Instant::now() < deadline,
            "read {} of {total} records",
            out.len()
        );
        if let Some(m) = c.poll(Duration::from_millis(100)) {
            let m = m.unwrap();
            out.push((
                m.partition(),
                m.key().map(|k| String::from_utf8(k.to_vec()).unwrap()),
                String::from_utf8(m.payload().unwrap_or_default().to_vec()).unwrap(),
            ));
        }
    }
    streaming::kafka::close_consumer(c, "sink reader");
    out
}

#[test]
fn save_to_kafka_writes_each_batch_once_keyed_by_the_pairs_keys() {
    with_timeout(120, || {
        let broker = broker();
        broker.create_topic("pairs", 4).unwrap();
        broker.create_topic("values", 1).unwrap();
        let ssc = context("sink");
        let queue = BatchQueue::new();
        for b in 0..3 {
            queue.push(
                (0..100)
                    .map(|i| (format!("k{}", i % 7), format!("{b}-{i}")))
                    .collect::<Vec<_>>(),
            );
        }
        let pairs = ssc.queue_stream(queue, true);
        let params = [("bootstrap.servers", broker.bootstrap_servers())];
        pairs.save_to_kafka("pairs", params.clone()).unwrap();
        pairs
            .map(|(_, v): (String, String)| v)
            .save_to_kafka("values", params)
            .unwrap();
        ssc.start().unwrap();
        for n in 1..=3 {
            step(&ssc, n);
        }
        ssc.stop(StopMode::Immediate);

        let pairs = read_all(&broker, "pairs", 4);
        assert_eq!(pairs.len(), 300, "every record once");
        // A key's records are all in one partition, in the order written.
        let mut homes: BTreeMap<String, i32> = BTreeMap::new();
        let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (p, k, v) in &pairs {
            let k = k.clone().expect("keyed");
            assert_eq!(
                *homes.entry(k.clone()).or_insert(*p),
                *p,
                "{k} in two partitions"
            );
            by_key.entry(k).or_default().push(v.clone());
        }
        assert_eq!(by_key.len(), 7);
        for (k, vs) in &by_key {
            let expected: Vec<String> = (0..3)
                .flat_map(|b| {
                    (0..100)
                        .filter(|i| format!("k{}", i % 7) == *k)
                        .map(move |i| format!("{b}-{i}"))
                })
                .collect();
            assert_eq!(vs, &expected, "the order of {k}'s records");
        }
        let values = read_all(&broker, "values", 1);
        assert_eq!(values.len(), 300);
        assert!(
            values.iter().all(|(_, k, _)| k.is_none()),
            "plain values have no key"
        );
        assert_eq!(values[0].2, "0-0");
        assert_eq!(values[299].2, "2-99");
    });
}

#[test]
fn save_to_kafka_rejects_a_producer_without_idempotence() {
    let ssc = context("sink-config");
    let s = ssc.queue_stream(BatchQueue::<String>::new(), true);
    let e = s
        .save_to_kafka(
            "t",
            [
                ("bootstrap.servers", "127.0.0.1:1"),
                ("enable.idempotence", "false"),
            ],
        )
        .unwrap_err();
    assert!(e.to_string().contains("idempotent producer"), "{e}");
    let e = s.save_to_kafka("t", [("acks", "all")]).unwrap_err();
    assert!(
        e.to_string().contains("bootstrap.servers is required"),
        "{e}"
    );
}

#[test]
fn an_undeliverable_record_fails_its_batch() {
    with_timeout(120, || {
        let broker = broker();
        let ssc = context("sink-undeliverable");
        let queue = BatchQueue::new();
        queue.push(vec!["lost".to_string()]);
        ssc.queue_stream(queue, true)
            .save_to_kafka(
                "no-such-topic",
                [
                    ("bootstrap.servers", broker.bootstrap_servers().as_str()),
                    ("message.timeout.ms", "2000"),
                ],
            )
            .unwrap();
        ssc.start().unwrap();
        ssc.manual_clock().unwrap().set_time(batch_time(1));
        let e = ssc
            .await_batch_completion(batch_time(1), Duration::from_secs(60))
            .unwrap_err()
            .to_string();
        ssc.stop(StopMode::Immediate);
        assert!(e.contains("producing to no-such-topic"), "{e}");
        assert!(e.contains("1 of 1 records were not delivered"), "{e}");
    });
}
