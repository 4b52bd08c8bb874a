//! What the test broker (tansu) supports of the protocols group mode and
//! the Kafka sink rely on: the consumer-group protocol with rebalancing,
//! the idempotent producer, and transactions. These tests pin the answers
//! the design of `streaming_kafka::group` and `save_to_kafka` rests on.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use streaming::kafka::rdkafka::config::ClientConfig;
use streaming::kafka::rdkafka::consumer::{BaseConsumer, Consumer};
use streaming::kafka::rdkafka::producer::DefaultProducerContext;
use streaming::kafka::rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use streaming::kafka::rdkafka::{Offset, TopicPartitionList};

use super::support::*;

fn member(broker: &str, group: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", broker)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "500")
        .create()
        .expect("consumer")
}

fn assigned(c: &BaseConsumer) -> BTreeSet<i32> {
    c.assignment()
        .map(|tpl| tpl.elements().iter().map(|e| e.partition()).collect())
        .unwrap_or_default()
}

/// Polls `consumers` until `done` holds of their assignments (30 s at most).
fn poll_until(consumers: &[&BaseConsumer], mut done: impl FnMut(&[BTreeSet<i32>]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        for c in consumers {
            let _ = c.poll(Duration::from_millis(50));
        }
        let a: Vec<BTreeSet<i32>> = consumers.iter().map(|c| assigned(c)).collect();
        if done(&a) {
            return;
        }
        assert!(Instant::now() < deadline, "assignments stuck at {a:?}");
    }
}

#[test]
fn the_group_protocol_assigns_and_rebalances_partitions() {
    with_timeout(120, || {
        let broker = broker();
        broker.create_topic("g", 4).unwrap();
        let servers = broker.bootstrap_servers();
        let a = member(&servers, "probe");
        a.subscribe(&["g"]).unwrap();
        poll_until(&[&a], |s| s[0].len() == 4);
        let b = member(&servers, "probe");
        b.subscribe(&["g"]).unwrap();
        poll_until(&[&a, &b], |s| {
            !s[0].is_empty()
                && !s[1].is_empty()
                && s[0].is_disjoint(&s[1])
                && s[0].len() + s[1].len() == 4
        });
        // b leaves: a owns everything again.
        streaming::kafka::close_consumer(b, "probe b");
        poll_until(&[&a], |s| s[0].len() == 4);
        streaming::kafka::close_consumer(a, "probe a");
    });
}

#[test]
fn the_idempotent_producer_delivers_every_record_once() {
    with_timeout(60, || {
        let broker = broker();
        broker.create_topic("i", 1).unwrap();
        let p: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
            .set("bootstrap.servers", broker.bootstrap_servers())
            .set("enable.idempotence", "true")
            .create()
            .expect("idempotent producer");
        for i in 0..100 {
            let v = format!("v{i}");
            p.send(BaseRecord::<(), str>::to("i").payload(&v)).unwrap();
        }
        p.flush(Duration::from_secs(30)).unwrap();
        assert_eq!(broker.watermarks("i", 1).unwrap()[&0], (0, 100));
    });
}

/// Transactions: tansu 0.6 accepts `InitProducerId` with a
/// `transactional.id`, `AddPartitionsToTxn` and `AddOffsetsToTxn`, but
/// not `EndTxn`, so no transaction can commit. This pins that answer: the
/// sink's guarantee (idempotent producer, at-least-once across crashes)
/// is documented from it, and a broker that starts committing
/// transactions fails this test, so the guarantee gets revisited.
#[test]
fn transactions_cannot_commit_on_the_test_broker() {
    with_timeout(120, || {
        let broker = broker();
        broker.create_topic("t", 1).unwrap();
        let p: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
            .set("bootstrap.servers", broker.bootstrap_servers())
            .set("transactional.id", "probe-tx")
            .set("transaction.timeout.ms", "10000")
            .create()
            .expect("transactional producer");
        p.init_transactions(Duration::from_secs(20))
            .expect("InitProducerId with a transactional.id");
        p.begin_transaction().expect("begin_transaction");
        p.send(BaseRecord::<(), str>::to("t").payload("in-tx"))
            .unwrap();
        let c = member(&broker.bootstrap_servers(), "probe-tx-group");
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset("t", 0, Offset::Offset(0)).unwrap();
        let meta = c.group_metadata().expect("group metadata");
        p.send_offsets_to_transaction(&tpl, &meta, Duration::from_secs(20))
            .expect("send_offsets_to_transaction");
        let commit = p.commit_transaction(Duration::from_secs(20));
        let err = commit
            .expect_err("tansu 0.6 does not end transactions")
            .to_string();
        eprintln!("commit_transaction: {err}");
        assert!(
            err.contains("EndTxnRequest (KIP-98) not supported by broker"),
            "{err}"
        );
        streaming::kafka::close_consumer(c, "probe tx");
    });
}
