//! Direct semantics: exact ranges, one batch partition per Kafka partition,
//! starting offsets, rate limits, consumer and location strategies, commits.

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc;

use streaming::kafka::{
    ConsumerStrategy, DirectStreamConfig, KafkaUtils, LocationStrategy, OffsetRange,
    RecordTimestamp, TopicPartition,
};
use streaming::prelude::*;
use streaming::testing::kafka::TestRecord;

use super::support::*;

fn range(topic: &str, partition: i32, from: i64, until: i64) -> OffsetRange {
    OffsetRange::new(topic, partition, from, until)
}

#[test]
fn each_batch_reads_the_exact_ranges_one_partition_per_kafka_partition() {
    with_timeout(240, || {
        let broker = broker_with("events", 3, &[("a", 0, 5), ("b", 0, 3)]);
        // A record with a key and headers, to check every field.
        broker
            .produce(
                "events",
                [TestRecord::value("b-3")
                    .partition(1)
                    .key("k")
                    .header("trace", "t-1")],
            )
            .unwrap();

        let ssc = context("exact-ranges");
        let events = Events::attach(&ssc);
        let stream = subscribed(&ssc, &broker, "events", "g-exact", "earliest");
        let seen = Collected::attach(&stream);
        let full = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = full.clone();
        stream.foreach_batch(move |b, _| {
            sink.lock()
                .unwrap()
                .extend(b.iter().filter(|r| r.key.is_some()).cloned())
        });
        ssc.start().unwrap();

        step(&ssc, 1);
        assert_eq!(
            stream.offset_ranges(batch_time(1)).unwrap(),
            vec![
                range("events", 0, 0, 5),
                range("events", 1, 0, 4),
                range("events", 2, 0, 0)
            ]
        );
        let b1 = seen.batch(1);
        assert_eq!(b1.len(), 3, "one batch partition per Kafka partition");
        assert_eq!(
            b1[0],
            (0..5).map(|i| (0, i, format!("a-{i}"))).collect::<Vec<_>>()
        );
        assert_eq!(
            b1[1],
            (0..4).map(|i| (1, i, format!("b-{i}"))).collect::<Vec<_>>()
        );
        assert!(b1[2].is_empty());
        assert_eq!(events.records(1), 9);

        let keyed = full.lock().unwrap().clone();
        assert_eq!(keyed.len(), 1);
        let r = &keyed[0];
        assert_eq!(&*r.topic, "events");
        assert_eq!((r.partition, r.offset), (1, 3));
        assert_eq!(r.key.as_deref(), Some("k"));
        assert_eq!(r.value, "b-3");
        assert_eq!(r.headers.len(), 1);
        assert_eq!(r.headers[0].key, "trace");
        assert_eq!(r.headers[0].value.as_deref(), Some(&b"t-1"[..]));
        assert!(
            matches!(r.timestamp, RecordTimestamp::CreateTime(t) if t > 0),
            "{:?}",
            r.timestamp
        );

        // The next batch starts exactly where the previous one ended.
        produce(&broker, "events", 2, values("c", 0, 2));
        produce(&broker, "events", 0, values("a", 5, 1));
        step(&ssc, 2);
        assert_eq!(
            stream.offset_ranges(batch_time(2)).unwrap(),
            vec![
                range("events", 0, 5, 6),
                range("events", 1, 4, 4),
                range("events", 2, 0, 2)
            ]
        );
        assert_eq!(
            seen.batch(2),
            vec![
                vec![(0, 5, "a-5".to_string())],
                vec![],
                vec![(2, 0, "c-0".to_string()), (2, 1, "c-1".to_string())]
            ]
        );

        // Nothing new: empty ranges at the current offsets, empty partitions.
        step(&ssc, 3);
        assert_eq!(
            stream.offset_ranges(batch_time(3)).unwrap(),
            vec![
                range("events", 0, 6, 6),
                range("events", 1, 4, 4),
                range("events", 2, 2, 2)
            ]
        );
        assert_eq!(seen.batch(3), vec![vec![], vec![], vec![]]);
        assert_eq!(events.records(3), 0);

        // Consumers are cached between batches: one per partition with data.
        let stats = stream.stats();
        assert_eq!(stats.consumers_created(), 3);
        assert_eq!(stats.records_read(), 12);
        assert_eq!(stats.undecodable_records(), 0);
        ssc.stop(StopMode::Immediate);
    });
}

#[test]
fn latest_starts_at_the_offsets_of_start_time_and_explicit_offsets_win() {
    with_timeout(240, || {
        let broker = broker_with("news", 2, &[("old", 0, 4), ("old", 4, 2)]);

        let ssc = context("latest");
        let stream = direct(
            &ssc,
            ConsumerStrategy::subscribe(["news"], params(&broker, "g-latest", "latest"))
                .with_offsets([(TopicPartition::new("news", 1), 1)]),
        );
        let seen = Collected::attach(&stream);
        ssc.start().unwrap();
        assert_eq!(
            stream.offsets().current_offsets(),
            BTreeMap::from([
                (TopicPartition::new("news", 0), 4),
                (TopicPartition::new("news", 1), 1)
            ])
        );
        produce(&broker, "news", 0, values("new", 0, 2));
        step(&ssc, 1);
        assert_eq!(
            seen.batch(1),
            vec![
                vec![(0, 4, "new-0".to_string()), (0, 5, "new-1".to_string())],
                vec![(1, 1, "old-5".to_string())]
            ]
        );
        ssc.stop(StopMode::Immediate);
    });
}

#[test]
fn max_rate_per_partition_caps_every_batch_and_never_goes_below_the_minimum() {
    with_timeout(240, || {
        let broker = broker_with("rated", 2, &[("p0", 0, 25), ("p1", 0, 4)]);

        // From the configuration, as in Spark: 10 records/s × 1 s.
        let ssc = context_with(
            "rated",
            StreamingConf::new().set("spark.streaming.kafka.maxRatePerPartition", "10"),
        );
        let events = Events::attach(&ssc);
        let stream = subscribed(&ssc, &broker, "rated", "g-rate", "earliest");
        let seen = Collected::attach(&stream);
        // A second stream with a per-stream limit under the minimum rate:
        // 1 record/s, at least 3 per partition and batch.
        let slow = direct_with(
            &ssc,
            ConsumerStrategy::assign(
                [TopicPartition::new("rated", 0)],
                params(&broker, "g-rate-slow", "earliest"),
            ),
            DirectStreamConfig::new()
                .max_rate_per_partition(1.0)
                .min_rate_per_partition(3),
        );
        let slow_seen = Collected::attach(&slow);
        ssc.start().unwrap();
        for n in 1..=4 {
            step(&ssc, n);
        }
        let counts: Vec<Vec<usize>> = (1..=4)
            .map(|n| seen.batch(n).iter().map(Vec::len).collect())
            .collect();
        assert_eq!(
            counts,
            vec![vec![10, 4], vec![10, 0], vec![5, 0], vec![0, 0]]
        );
        assert_eq!(
            stream.offset_ranges(batch_time(2)).unwrap(),
            vec![range("rated", 0, 10, 20), range("rated", 1, 4, 4)]
        );
        // Listeners see the capped record counts (both streams).
        let slow_counts: Vec<usize> = (1..=4).map(|n| slow_seen.batch(n)[0].len()).collect();
        assert_eq!(slow_counts, vec![3, 3, 3, 3]);
        let total: Vec<u64> = (1..=4).map(|n| events.records(n)).collect();
        assert_eq!(total, vec![17, 13, 8, 3]);
        // Nothing is lost or duplicated.
        let mut all = seen.values();
        all.sort();
        let mut expected = values("p0", 0, 25);
        expected.extend(values("p1", 0, 4));
        expected.sort();
        assert_eq!(all, expected);
        ssc.stop(StopMode::Immediate);
    });
}

#[test]
fn backpressure_shares_the_initial_rate_by_lag_and_loses_nothing() {
    with_timeout(240, || {
        let broker = broker_with("pressed", 2, &[("p0", 0, 30), ("p1", 0, 10)]);
        let ssc = context_with(
            "pressed",
            StreamingConf::new()
                .set("spark.streaming.backpressure.enabled", "true")
                .set("spark.streaming.backpressure.initialRate", "8")
                .set("spark.streaming.kafka.maxRatePerPartition", "100"),
        );
        let stream = subscribed(&ssc, &broker, "pressed", "g-pressed", "earliest");
        let seen = Collected::attach(&stream);
        ssc.start().unwrap();
        // Before the first estimate (the first batch only seeds the
        // estimator): the initial 8 records/s, shared 3:1 by lag.
        step(&ssc, 1);
        step(&ssc, 2);
        let counts: Vec<Vec<usize>> = (1..=2)
            .map(|n| seen.batch(n).iter().map(Vec::len).collect())
            .collect();
        assert_eq!(counts, vec![vec![6, 2], vec![6, 2]]);
        assert_eq!(
            stream.offset_ranges(batch_time(2)).unwrap(),
            vec![range("pressed", 0, 6, 12), range("pressed", 1, 2, 4)]
        );
        // Then the estimate (at least the PID's 100 records/s minimum,
        // capped by maxRatePerPartition) drains the rest: nothing lost or
        // read twice.
        let mut n = 2;
        while seen.values().len() < 40 && n < 30 {
            n += 1;
            step(&ssc, n);
        }
        let mut all = seen.values();
        all.sort();
        let mut expected = values("p0", 0, 30);
        expected.extend(values("p1", 0, 10));
        expected.sort();
        assert_eq!(all, expected);
        ssc.stop(StopMode::Immediate);
    });
}

#[test]
fn assign_pattern_and_new_topics() {
    with_timeout(240, || {
        let broker = broker();
        broker.create_topic("pat-a", 2).unwrap();
        broker.create_topic("pat-b", 1).unwrap();
        broker.create_topic("other", 1).unwrap();
        broker.produce_values("pat-a", 1, ["a1"]).unwrap();
        broker.produce_values("pat-b", 0, ["b0"]).unwrap();
        broker.produce_values("other", 0, ["x"]).unwrap();
        broker.produce_values("pat-a", 0, ["a0"]).unwrap();

        let ssc = context("strategies");
        let pattern = direct(
            &ssc,
            ConsumerStrategy::subscribe_pattern("pat-.*", params(&broker, "g-pat", "earliest"))
                .unwrap(),
        );
        let pattern_seen = Collected::attach(&pattern);
        let assigned = direct(
            &ssc,
            ConsumerStrategy::assign(
                [TopicPartition::new("pat-a", 1)],
                params(&broker, "g-assign", "earliest"),
            ),
        );
        let assigned_seen = Collected::attach(&assigned);
        ssc.start().unwrap();
        step(&ssc, 1);
        assert_eq!(
            pattern.offset_ranges(batch_time(1)).unwrap(),
            vec![
                range("pat-a", 0, 0, 1),
                range("pat-a", 1, 0, 1),
                range("pat-b", 0, 0, 1)
            ]
        );
        assert_eq!(pattern_seen.values(), vec!["a0", "a1", "b0"]);
        assert_eq!(assigned_seen.values(), vec!["a1"]);

        // A topic created while the stream runs is picked up at the next
        // batch, from its earliest offset (records written before that
        // batch are not missed).
        broker.create_topic("pat-c", 2).unwrap();
        broker.produce_values("pat-c", 1, ["c1-0", "c1-1"]).unwrap();
        step(&ssc, 2);
        assert_eq!(
            pattern.offset_ranges(batch_time(2)).unwrap(),
            vec![
                range("pat-a", 0, 1, 1),
                range("pat-a", 1, 1, 1),
                range("pat-b", 0, 1, 1),
                range("pat-c", 0, 0, 0),
                range("pat-c", 1, 0, 2)
            ]
        );
        assert_eq!(pattern_seen.batch(2)[4].len(), 2);
        assert_eq!(pattern.offsets().placement().len(), 5);
        ssc.stop(StopMode::Immediate);
    });
}

#[test]
fn location_strategies_place_partitions_on_workers() {
    with_timeout(240, || {
        let broker = broker();
        broker.create_topic("placed", 4).unwrap();
        for p in 0..4 {
            broker
                .produce_values(
                    "placed",
                    p,
                    values(&format!("p{p}"), 0, (p as usize + 1) * 10),
                )
                .unwrap();
        }
        let tp = |p| TopicPartition::new("placed", p);
        let ssc = context("placement");
        let config = || DirectStreamConfig::new().workers(3);
        let placed = |ssc: &StreamingContext, location, group: &str| {
            KafkaUtils::create_direct_stream_with_config::<String, String>(
                ssc,
                location,
                ConsumerStrategy::subscribe(["placed"], params(&broker, group, "earliest")),
                config(),
            )
        };
        let consistent = placed(&ssc, LocationStrategy::PreferConsistent, "g-c").unwrap();
        let brokers = placed(&ssc, LocationStrategy::PreferBrokers, "g-b").unwrap();
        let fixed = placed(
            &ssc,
            LocationStrategy::PreferFixed(HashMap::from([(tp(0), 2), (tp(3), 2)])),
            "g-f",
        )
        .unwrap();
        for s in [&consistent, &brokers, &fixed] {
            Collected::attach(s);
        }
        ssc.start().unwrap();
        step(&ssc, 1);
        let consistent_placement = BTreeMap::from([(tp(0), 0), (tp(1), 1), (tp(2), 2), (tp(3), 0)]);
        assert_eq!(consistent.offsets().placement(), consistent_placement);
        // On one host, PreferBrokers falls back to PreferConsistent.
        assert_eq!(brokers.offsets().placement(), consistent_placement);
        assert_eq!(
            fixed.offsets().placement(),
            BTreeMap::from([(tp(0), 2), (tp(1), 0), (tp(2), 1), (tp(3), 2)])
        );
        // The workers the partitions were placed on read them.
        assert_eq!(
            consistent.stats().records_read_by_worker(),
            vec![50, 20, 30]
        );
        assert_eq!(fixed.stats().records_read_by_worker(), vec![20, 30, 50]);
        ssc.stop(StopMode::Immediate);

        // A pinned worker that does not exist is a configuration error.
        let ssc = context("placement-bad");
        let err = placed(
            &ssc,
            LocationStrategy::PreferFixed(HashMap::from([(tp(0), 7)])),
            "g-x",
        )
        .err()
        .expect("worker 7 of 3 is rejected");
        assert!(matches!(err, StreamingError::Config(_)), "{err}");
        assert!(err.to_string().contains("worker 7"), "{err}");
    });
}

#[test]
fn commits_after_outputs_and_a_new_stream_resumes_from_them() {
    with_timeout(240, || {
        let broker = broker_with("orders", 2, &[("o", 0, 3), ("o", 3, 2)]);

        let ssc = context("commits");
        let stream = subscribed(&ssc, &broker, "orders", "g-orders", "earliest");
        let seen = Collected::attach(&stream);
        let (tx, rx) = mpsc::channel();
        let tx = std::sync::Mutex::new(tx);
        let offsets = stream.offsets();
        // After the outputs of the batch: commit its ranges.
        stream.foreach_batch(move |_, time| {
            let ranges = offsets
                .offset_ranges(time)
                .expect("ranges of a running batch");
            let tx = tx.lock().unwrap().clone();
            offsets.commit_async_with_callback(&ranges, move |r| {
                let _ = tx.send(r);
            });
        });
        ssc.start().unwrap();
        step(&ssc, 1);
        let committed = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("commit callback")
            .expect("commit succeeds");
        assert_eq!(
            committed,
            BTreeMap::from([
                (TopicPartition::new("orders", 0), 3),
                (TopicPartition::new("orders", 1), 2)
            ])
        );
        assert_eq!(
            broker.committed_offsets("g-orders", "orders", 2).unwrap(),
            BTreeMap::from([(0, 3), (1, 2)])
        );
        assert_eq!(stream.stats().commits(), 1);
        assert_eq!(seen.values().len(), 5);
        ssc.stop(StopMode::Immediate);
        drop(stream);
        drop(ssc);

        // Records written meanwhile; a new stream of the same group starts
        // from the committed offsets (auto.offset.reset is not used).
        produce(&broker, "orders", 1, values("o", 5, 2));
        let ssc = context("commits-2");
        let stream = subscribed(&ssc, &broker, "orders", "g-orders", "earliest");
        let seen = Collected::attach(&stream);
        ssc.start().unwrap();
        step(&ssc, 1);
        assert_eq!(seen.values(), vec!["o-5", "o-6"]);
        ssc.stop(StopMode::Immediate);
    });
}
