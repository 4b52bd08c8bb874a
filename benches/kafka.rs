//! Kafka benchmark: the direct stream reading a topic of a million small
//! records, next to a bare rdkafka consumer reading the same topic from the
//! same broker in the same run, printed as throughput and ratios.
//!
//! Run with `cargo bench --features kafka --bench kafka` (options after
//! `--`: `--records N`, `--partitions N`, `--rounds N`). The broker is a
//! tansu process started by the bench (install it with
//! `scripts/install-tansu.sh`).
//!
//! - The topic holds `N` records (default 1 000 000) of 24-byte values
//!   (`record-<16 digits>`, no key), spread over the partitions (default 4).
//! - Baseline: one `BaseConsumer` assigned every partition from offset 0,
//!   polling until it has seen every record and copying each value into an
//!   owned `String` (what a batch of `ConsumerRecord<String, String>` holds).
//!   A second baseline only counts the records (no copy).
//! - Direct stream: a context with a manual clock; one batch reads the whole
//!   topic (every partition's range, in parallel on the stream's workers,
//!   decoded into `ConsumerRecord<String, String>`), counted by `foreach_batch`.
//!   A second run reads it in 10 rate-limited batches.
//! - Each variant runs `rounds` times (default 3), interleaved; the best
//!   round of each is compared. Every run starts with new consumers.
//!
//! Every variant runs on mimalloc (the global allocator of this bench).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use streaming::kafka::rdkafka::config::ClientConfig;
use streaming::kafka::rdkafka::consumer::{BaseConsumer, Consumer};
use streaming::kafka::rdkafka::message::Message;
use streaming::kafka::rdkafka::{Offset, TopicPartitionList};
use streaming::kafka::{ConsumerStrategy, DirectStreamConfig, KafkaUtils, LocationStrategy};
use streaming::prelude::*;
use streaming::testing::kafka::{KafkaTestBroker, TestRecord};
use streaming::ManualClock;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TOPIC: &str = "bench";

struct Options {
    records: u64,
    partitions: i32,
    rounds: usize,
}

fn options() -> Options {
    let mut o = Options {
        records: 1_000_000,
        partitions: 4,
        rounds: 3,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = || args.get(i + 1).and_then(|v| v.parse().ok());
        match args[i].as_str() {
            "--records" => o.records = value().expect("--records N"),
            "--partitions" => o.partitions = value().expect("--partitions N") as i32,
            "--rounds" => o.rounds = value().expect("--rounds N") as usize,
            _ => {}
        }
        i += 1;
    }
    o
}

/// Reads the whole topic with a bare consumer; `copy` copies each value
/// into an owned `String`.
fn bare_consumer(broker: &KafkaTestBroker, o: &Options, copy: bool) -> Duration {
    let start = Instant::now();
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap_servers())
        .set("group.id", "bench-baseline")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..o.partitions {
        tpl.add_partition_offset(TOPIC, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).expect("assign");
    let mut seen = 0u64;
    let mut kept: Vec<String> = Vec::with_capacity(if copy { o.records as usize } else { 0 });
    while seen < o.records {
        match consumer.poll(Duration::from_secs(30)) {
            Some(Ok(m)) => {
                if copy {
                    let v = std::str::from_utf8(m.payload().unwrap_or_default()).expect("utf-8");
                    kept.push(v.to_owned());
                }
                seen += 1;
            }
            Some(Err(e)) => panic!("baseline consumer: {e}"),
            None => panic!("baseline consumer: no record within 30 s after {seen}"),
        }
    }
    let elapsed = start.elapsed();
    std::hint::black_box(kept);
    consumer.unassign().ok();
    drop(consumer);
    elapsed
}

/// Reads the whole topic with a direct stream in `batches` batches.
fn direct_stream(broker: &KafkaTestBroker, o: &Options, batches: u64) -> Duration {
    let clock = ManualClock::new();
    let interval = Duration::from_secs(1);
    let ssc = StreamingContext::new(
        StreamingConf::new()
            .app_name("kafka-bench")
            .master("local[2]")
            .batch_interval(interval)
            .manual_clock(clock.clone()),
    )
    .expect("context");
    let per_partition = o.records.div_ceil(o.partitions as u64);
    let mut config = DirectStreamConfig::new();
    if batches > 1 {
        config = config.max_rate_per_partition(per_partition.div_ceil(batches) as f64);
    }
    let stream = KafkaUtils::create_direct_stream_with_config::<String, String>(
        &ssc,
        LocationStrategy::PreferConsistent,
        ConsumerStrategy::subscribe(
            [TOPIC],
            [
                ("bootstrap.servers", broker.bootstrap_servers()),
                ("group.id", "bench-direct".to_string()),
                ("auto.offset.reset", "earliest".to_string()),
            ],
        ),
        config,
    )
    .expect("stream");
    let count = Arc::new(AtomicU64::new(0));
    let sink = count.clone();
    stream.foreach_batch(move |b, _| {
        sink.fetch_add(b.len() as u64, Ordering::Relaxed);
    });
    ssc.start().expect("start");
    let start = Instant::now();
    let mut n = 0;
    while count.load(Ordering::Relaxed) < o.records {
        n += 1;
        assert!(
            n <= batches + 2,
            "the stream did not read every record in {n} batches"
        );
        clock.set_time(Time::from_millis(n * 1000));
        ssc.await_batch_completion(Time::from_millis(n * 1000), Duration::from_secs(300))
            .expect("batch");
    }
    let elapsed = start.elapsed();
    assert_eq!(count.load(Ordering::Relaxed), o.records);
    ssc.stop(StopMode::Immediate);
    elapsed
}

fn rate(records: u64, d: Duration) -> f64 {
    records as f64 / d.as_secs_f64()
}

fn main() {
    let o = options();
    let broker = KafkaTestBroker::start()
        .unwrap_or_else(|e| panic!("the tansu broker must start (scripts/install-tansu.sh): {e}"));
    broker.create_topic(TOPIC, o.partitions).expect("topic");
    let t = Instant::now();
    let produced = broker
        .produce(
            TOPIC,
            (0..o.records).map(|i| {
                TestRecord::value(format!("record-{i:016}"))
                    .partition((i % o.partitions as u64) as i32)
            }),
        )
        .expect("produce");
    println!(
        "kafka bench: {produced} records of 24 bytes in {} partitions, produced in {:.1?}",
        o.partitions,
        t.elapsed()
    );

    let mut best: [Option<Duration>; 4] = [None; 4];
    for round in 1..=o.rounds {
        let runs = [
            bare_consumer(&broker, &o, true),
            bare_consumer(&broker, &o, false),
            direct_stream(&broker, &o, 1),
            direct_stream(&broker, &o, 10),
        ];
        println!(
            "round {round}: bare+copy {:.2?}, bare count {:.2?}, direct 1 batch {:.2?}, direct 10 batches {:.2?}",
            runs[0], runs[1], runs[2], runs[3]
        );
        for (b, r) in best.iter_mut().zip(runs) {
            *b = Some(b.map_or(r, |x| x.min(r)));
        }
    }
    let [copy, count, one, ten] = best.map(|d| d.expect("at least one round"));
    let r = |d| rate(o.records, d);
    println!("best of {} rounds (records/s):", o.rounds);
    println!("  bare rdkafka consumer, values copied : {:>12.0}", r(copy));
    println!(
        "  bare rdkafka consumer, count only    : {:>12.0}",
        r(count)
    );
    println!(
        "  direct stream, 1 batch              : {:>12.0}  = {:.2}x bare+copy, {:.2}x bare count",
        r(one),
        r(one) / r(copy),
        r(one) / r(count)
    );
    println!(
        "  direct stream, 10 batches           : {:>12.0}  = {:.2}x bare+copy, {:.2}x bare count",
        r(ten),
        r(ten) / r(copy),
        r(ten) / r(count)
    );
}
