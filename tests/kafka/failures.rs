//! Failure handling: offsets out of range, undecodable records, a broker
//! that restarts mid-stream, a broker that is down at start.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use streaming::kafka::{
    ConsumerStrategy, DirectKafkaStream, DirectStreamConfig, KafkaUtils, LocationStrategy,
    OffsetRange, TopicPartition,
};
use streaming::prelude::*;
use streaming::testing::kafka::{free_port, KafkaTestBroker, TestRecord};

use super::support::*;

/// Fast retries, for tests that take a broker away.
fn resilient() -> DirectStreamConfig {
    DirectStreamConfig::new()
        .query_timeout(Duration::from_secs(2))
        .retry_backoff(Duration::from_millis(200), Duration::from_secs(1))
        .poll_timeout(Duration::from_secs(60))
}

fn resilient_params(broker_addr: String, group: &str) -> Vec<(String, String)> {
    vec![
        ("bootstrap.servers".into(), broker_addr),
        ("group.id".into(), group.into()),
        ("auto.offset.reset".into(), "earliest".into()),
        ("reconnect.backoff.max.ms".into(), "500".into()),
    ]
}

/// A direct stream of `topic` as `group` from the broker at `broker_addr`,
/// with [`resilient`] settings and [`resilient_params`].
fn resilient_stream(
    ssc: &StreamingContext,
    topic: &str,
    broker_addr: String,
    group: &str,
) -> DirectKafkaStream<String, String> {
    direct_with(
        ssc,
        ConsumerStrategy::subscribe([topic], resilient_params(broker_addr, group)),
        resilient(),
    )
}

#[test]
fn out_of_range_offsets_follow_auto_offset_reset_and_are_reported() {
    with_timeout(240, || {
        let broker = broker_with("trimmed", 1, &[("v", 0, 10)]);
        let tp = TopicPartition::new("trimmed", 0);

        let ssc = context("out-of-range");
        let events = Events::attach(&ssc);
        // Offset 100 does not exist (the partition ends at 10).
        let earliest = direct(
            &ssc,
            ConsumerStrategy::assign([tp.clone()], params(&broker, "g-e", "earliest"))
                .with_offsets([(tp.clone(), 100)]),
        );
        let earliest_seen = Collected::attach(&earliest);
        let latest = direct(
            &ssc,
            ConsumerStrategy::assign([tp.clone()], params(&broker, "g-l", "latest"))
                .with_offsets([(tp.clone(), 100)]),
        );
        let latest_seen = Collected::attach(&latest);
        ssc.start().unwrap();
        step(&ssc, 1);
        assert_eq!(earliest_seen.values(), values("v", 0, 10));
        assert_eq!(
            earliest.offset_ranges(batch_time(1)).unwrap(),
            vec![OffsetRange::new("trimmed", 0, 0, 10)]
        );
        assert!(latest_seen.values().is_empty());
        assert_eq!(
            latest.offset_ranges(batch_time(1)).unwrap(),
            vec![OffsetRange::new("trimmed", 0, 10, 10)]
        );
        assert_eq!(earliest.stats().offset_resets(), 1);
        assert_eq!(latest.stats().offset_resets(), 1);
        let reported = events.errors_with("offset 100 of trimmed-0 is out of range [0, 10]");
        assert_eq!(reported.len(), 2, "{reported:?}");
        assert!(reported
            .iter()
            .any(|m| m.contains("auto.offset.reset=earliest")));
        assert!(reported
            .iter()
            .any(|m| m.contains("auto.offset.reset=latest")));
        broker.produce_values("trimmed", 0, ["w-0"]).unwrap();
        step(&ssc, 2);
        assert_eq!(latest_seen.values(), vec!["w-0"]);
        ssc.stop(StopMode::Immediate);

        // With `none`, the batch fails with a typed error.
        let ssc = context("out-of-range-none");
        let none = direct(
            &ssc,
            ConsumerStrategy::assign([tp.clone()], params(&broker, "g-n", "none"))
                .with_offsets([(tp.clone(), 100)]),
        );
        let err = first_batch_error(&ssc, &none);
        match &err {
            StreamingError::KafkaOffsetOutOfRange {
                partition,
                offset,
                earliest,
                latest,
            } => {
                assert_eq!(partition, "trimmed-0");
                assert_eq!((*offset, *earliest, *latest), (100, 0, 11));
            }
            other => panic!("expected KafkaOffsetOutOfRange, got {other:?}"),
        }
        assert!(ssc.await_termination().is_err());

        // With `none` and no committed offset, there is no starting offset.
        let ssc = context("no-offset-none");
        let none = subscribed(&ssc, &broker, "trimmed", "g-fresh", "none");
        let err = first_batch_error(&ssc, &none);
        match &err {
            StreamingError::Kafka { operation, message } => {
                assert_eq!(operation, "starting offset of trimmed-0");
                assert!(
                    message.contains("no committed offset for group \"g-fresh\""),
                    "{message}"
                );
            }
            other => panic!("expected a Kafka error, got {other:?}"),
        }
    });
}

#[test]
fn undecodable_records_are_counted_and_reported_or_fail_the_batch() {
    with_timeout(240, || {
        let broker = broker();
        broker.create_topic("mixed", 1).unwrap();
        broker
            .produce(
                "mixed",
                [
                    TestRecord::value("ok-0"),
                    TestRecord::value(vec![0xff, 0xfe]),
                    TestRecord::value("ok-1"),
                    TestRecord::default(),
                    TestRecord::value("ok-2").key(vec![0xc3]),
                ],
            )
            .unwrap();

        let ssc = context("undecodable");
        let events = Events::attach(&ssc);
        let strings = subscribed(&ssc, &broker, "mixed", "g-s", "earliest");
        let seen = Collected::attach(&strings);
        // Null values are fine for an Option value type.
        let optional = KafkaUtils::create_direct_stream::<Vec<u8>, Option<String>>(
            &ssc,
            LocationStrategy::PreferConsistent,
            ConsumerStrategy::subscribe(["mixed"], params(&broker, "g-o", "earliest")),
        )
        .unwrap();
        let optional_values = Arc::new(Mutex::new(Vec::new()));
        let sink = optional_values.clone();
        optional.foreach_batch(move |b, _| {
            sink.lock()
                .unwrap()
                .extend(b.iter().map(|r| r.value.clone()))
        });
        ssc.start().unwrap();
        step(&ssc, 1);
        assert_eq!(seen.values(), vec!["ok-0", "ok-1"]);
        assert_eq!(strings.stats().undecodable_records(), 3);
        assert_eq!(
            *optional_values.lock().unwrap(),
            vec![
                Some("ok-0".to_string()),
                Some("ok-1".to_string()),
                None,
                Some("ok-2".to_string())
            ]
        );
        assert_eq!(optional.stats().undecodable_records(), 1);
        let reported = events.errors_with("undecodable record(s) of mixed-0");
        assert_eq!(reported.len(), 2, "{reported:?}");
        assert!(
            reported.iter().any(|m| m.contains(
                "3 undecodable record(s) of mixed-0 left out of the batch (first at offset 1: value: invalid UTF-8"
            )),
            "{reported:?}"
        );
        ssc.stop(StopMode::Immediate);

        // Configured to fail: the batch fails with a typed error.
        let ssc = context("undecodable-fails");
        let strict = direct_with(
            &ssc,
            ConsumerStrategy::subscribe(["mixed"], params(&broker, "g-f", "earliest")),
            DirectStreamConfig::new().fail_on_undecodable(true),
        );
        let err = first_batch_error(&ssc, &strict);
        match &err {
            StreamingError::KafkaDecode {
                partition,
                offset,
                message,
            } => {
                assert_eq!((partition.as_str(), *offset), ("mixed-0", 1));
                assert!(message.contains("invalid UTF-8"), "{message}");
            }
            other => panic!("expected KafkaDecode, got {other:?}"),
        }
    });
}

#[test]
fn a_broker_restart_mid_stream_is_reported_and_loses_nothing() {
    with_timeout(300, || {
        let mut broker = broker_with("live", 2, &[("x", 0, 5), ("y", 0, 5)]);

        let ssc = context("restart");
        let events = Events::attach(&ssc);
        let stream = resilient_stream(&ssc, "live", broker.bootstrap_servers(), "g-live");
        let seen = Collected::attach(&stream);
        ssc.start().unwrap();
        step(&ssc, 1);
        assert_eq!(seen.values().len(), 10);

        // The broker goes away: the batch reads nothing new, the failure
        // is reported.
        broker.stop().unwrap();
        step(&ssc, 2);
        assert_eq!(seen.batch(2), vec![Vec::new(), Vec::new()]);
        assert!(stream.stats().query_failures() >= 1);
        let reported = events.errors_with("cannot plan batch 2000 ms");
        assert_eq!(reported.len(), 1, "{:?}", events.errors.lock().unwrap());
        assert!(reported[0].contains("retrying in"), "{}", reported[0]);

        // It comes back (same port, same data) and more records arrive:
        // the stream resumes where it stopped.
        broker.restart().unwrap();
        produce(&broker, "live", 0, values("x", 5, 5));
        produce(&broker, "live", 1, values("y", 5, 5));
        let last = step_until(&ssc, 3, Duration::from_secs(120), || {
            seen.values().len() >= 20
        });
        let by_partition = |p: i32| -> Vec<String> {
            let map = seen.0.lock().unwrap();
            map.values()
                .flat_map(|parts| parts[p as usize].iter().map(|(_, _, v)| v.clone()))
                .collect()
        };
        assert_eq!(by_partition(0), values("x", 0, 10));
        assert_eq!(by_partition(1), values("y", 0, 10));
        assert_eq!(
            stream.offsets().current_offsets(),
            [
                (TopicPartition::new("live", 0), 10),
                (TopicPartition::new("live", 1), 10)
            ]
            .into_iter()
            .collect()
        );
        // Nothing more arrives afterwards (no duplicates).
        step(&ssc, last + 1);
        assert_eq!(seen.values().len(), 20);
        ssc.stop(StopMode::Immediate);
    });
}

#[test]
fn a_broker_down_at_start_is_reported_and_the_stream_starts_when_it_comes_up() {
    with_timeout(300, || {
        let port = free_port().unwrap();
        let ssc = context("down-at-start");
        let events = Events::attach(&ssc);
        let stream = resilient_stream(&ssc, "late", format!("127.0.0.1:{port}"), "g-late");
        let seen = Collected::attach(&stream);
        ssc.start()
            .expect("start does not fail on a broker that is down");
        assert_eq!(
            events
                .errors_with("cannot resolve the starting offsets")
                .len(),
            1,
            "{:?}",
            events.errors.lock().unwrap()
        );
        step(&ssc, 1);
        assert!(seen.batch(1).is_empty(), "no partition is known yet");

        let broker = KafkaTestBroker::start_on_port(port)
            .unwrap_or_else(|e| panic!("the tansu broker must start: {e}"));
        broker.create_topic("late", 2).unwrap();
        broker.produce_values("late", 0, ["l-0", "l-1"]).unwrap();
        broker.produce_values("late", 1, ["l-2"]).unwrap();
        step_until(&ssc, 2, Duration::from_secs(120), || {
            seen.values().len() >= 3
        });
        let mut all = seen.values();
        all.sort();
        assert_eq!(all, vec!["l-0", "l-1", "l-2"]);
        assert!(stream.stats().query_failures() >= 1);
        ssc.stop(StopMode::Immediate);
    });
}
