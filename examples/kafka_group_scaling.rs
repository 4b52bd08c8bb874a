//! Scaling figures of group mode (README, "Scaling out"): records/s of the
//! stateful word count (`kafka_group_word_count`) with 1, 2 and 4 worker
//! processes, next to the broker's own bound, a bare rdkafka consumer
//! reading the same records.
//!
//! ```sh
//! cargo build --release --features kafka --example kafka_group_word_count --example kafka_group_scaling
//! target/release/examples/kafka_group_scaling [records] [workers...]
//! ```
//!
//! It starts its own tansu broker (scripts/install-tansu.sh), writes
//! `records` one-word records (default 400000) keyed by the word to an
//! 8-partition topic, and then, for each worker count (default 1 2 4),
//! starts that many workers in a fresh group and times them from their
//! first commit to the commit of the last offset of every partition.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use streaming::kafka::rdkafka::config::ClientConfig;
use streaming::kafka::rdkafka::consumer::{BaseConsumer, Consumer};
use streaming::kafka::rdkafka::{Offset, TopicPartitionList};
use streaming::testing::kafka::{KafkaTestBroker, TestRecord};
use streaming::StreamingError;

const PARTITIONS: i32 = 8;
const TOPIC: &str = "words";

fn main() -> Result<(), StreamingError> {
    let mut args = std::env::args().skip(1);
    let records: usize = args
        .next()
        .map(|n| n.parse().expect("a number of records"))
        .unwrap_or(400_000);
    let mut counts: Vec<usize> = args.map(|n| n.parse().expect("a worker count")).collect();
    if counts.is_empty() {
        counts = vec![1, 2, 4];
    }
    let worker_bin: PathBuf = std::env::current_exe()
        .expect("own path")
        .with_file_name("kafka_group_word_count");
    assert!(
        worker_bin.exists(),
        "build the worker first: cargo build --release --features kafka --example kafka_group_word_count"
    );

    let broker = KafkaTestBroker::start()?;
    broker.create_topic(TOPIC, PARTITIONS)?;
    let started = Instant::now();
    let batch = 50_000;
    let mut written = 0;
    while written < records {
        let n = batch.min(records - written);
        broker.produce(
            TOPIC,
            (written..written + n).map(|i| {
                let word = format!("w{}", i % 1000);
                TestRecord::value(word.as_bytes())
                    .key(word.as_bytes())
                    .partition((i % 1000 % PARTITIONS as usize) as i32)
            }),
        )?;
        written += n;
    }
    let produce_secs = started.elapsed().as_secs_f64();
    println!(
        "produced {records} records in {produce_secs:.2} s ({:.0} records/s)",
        records as f64 / produce_secs
    );

    let bare = bare_consumer(&broker, records)?;
    println!("bare rdkafka consumer: {bare:.0} records/s");
    for &n in &counts {
        let rate = run_group(&broker, &worker_bin, n, records)?;
        println!(
            "{n} worker(s): {rate:.0} records/s ({:.2} of the bare consumer)",
            rate / bare
        );
    }
    Ok(())
}

/// Reads every record with one BaseConsumer over all partitions.
fn bare_consumer(broker: &KafkaTestBroker, records: usize) -> Result<f64, StreamingError> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap_servers())
        .set("group.id", "bare")
        .set("enable.auto.commit", "false")
        .create()
        .map_err(|e| streaming::kafka::kafka_error("bare consumer", e))?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition_offset(TOPIC, p, Offset::Beginning)
            .map_err(|e| streaming::kafka::kafka_error("bare consumer", e))?;
    }
    c.assign(&tpl)
        .map_err(|e| streaming::kafka::kafka_error("bare consumer", e))?;
    let started = Instant::now();
    let mut seen = 0;
    while seen < records {
        if let Some(m) = c.poll(Duration::from_millis(100)) {
            m.map_err(|e| streaming::kafka::kafka_error("bare consumer", e))?;
            seen += 1;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "bare consumer stalled at {seen}"
        );
    }
    let secs = started.elapsed().as_secs_f64();
    streaming::kafka::close_consumer(c, "bare consumer");
    Ok(records as f64 / secs)
}

/// Runs `n` workers in a fresh group until they have committed the end of
/// every partition; records/s from their first commit on.
fn run_group(
    broker: &KafkaTestBroker,
    worker_bin: &PathBuf,
    n: usize,
    records: usize,
) -> Result<f64, StreamingError> {
    let group = format!("scaling-{n}");
    let dir = tempfile::tempdir().map_err(|e| StreamingError::io("temp dir", e))?;
    let high: std::collections::BTreeMap<i32, i64> = broker
        .watermarks(TOPIC, PARTITIONS)?
        .into_iter()
        .map(|(p, (_, h))| (p, h))
        .collect();
    let mut workers: Vec<Child> = (0..n)
        .map(|i| {
            Command::new(worker_bin)
                .args(["--bootstrap", &broker.bootstrap_servers()])
                .args(["--topic", TOPIC, "--group", &group])
                .args(["--state-dir", dir.path().join("state").to_str().unwrap()])
                .args(["--worker", &format!("s{i}")])
                .args(["--interval-ms", "1000"])
                .env("STREAMING_LOG", "warn")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn()
                .expect("start a worker")
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(900);
    let mut first: Option<(Instant, i64)> = None;
    let result = loop {
        let committed = broker.committed_offsets(&group, TOPIC, PARTITIONS)?;
        let done: i64 = committed.values().sum();
        if first.is_none() && done > 0 {
            first = Some((Instant::now(), done));
        }
        if committed == high {
            let (t0, at) = first.expect("progress seen");
            let secs = t0.elapsed().as_secs_f64().max(1e-3);
            break Ok((records as i64 - at) as f64 / secs);
        }
        if Instant::now() > deadline {
            break Err(streaming::kafka::kafka_error(
                "scaling run",
                format!("{n} workers did not drain the topic: {committed:?} of {high:?}"),
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    for w in &mut workers {
        let _ = w.kill();
        let _ = w.wait();
    }
    result
}
