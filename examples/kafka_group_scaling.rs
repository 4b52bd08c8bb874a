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
//! 8-partition topic (and a third of them to a second one), and then, for
//! each worker count (default 1 2 4), starts that many workers in a fresh
//! group on each topic and times them from their start to the commit of
//! the last offset of every partition. The rate is the difference of
//! records over the difference of times, so start-up (processes, joining
//! the group) cancels out.

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
const SMALL: &str = "words-small";

/// Writes `records` one-word records keyed by the word to `topic` (8
/// partitions, each word in one partition).
fn fill(broker: &KafkaTestBroker, topic: &str, records: usize) -> Result<(), StreamingError> {
    broker.create_topic(topic, PARTITIONS)?;
    let batch = 50_000;
    let mut written = 0;
    while written < records {
        let n = batch.min(records - written);
        broker.produce(
            topic,
            (written..written + n).map(|i| {
                let word = format!("w{}", i % 1000);
                TestRecord::value(word.as_bytes())
                    .key(word.as_bytes())
                    .partition((i % 1000 % PARTITIONS as usize) as i32)
            }),
        )?;
        written += n;
    }
    Ok(())
}

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
    // The same records, a third of them in SMALL: timing both runs from
    // the workers' start and taking the difference cancels the start-up
    // (processes, group join) out of the rate.
    let small = records / 3;
    let started = Instant::now();
    fill(&broker, TOPIC, records)?;
    let produce_secs = started.elapsed().as_secs_f64();
    fill(&broker, SMALL, small)?;
    println!(
        "produced {records} records in {produce_secs:.2} s ({:.0} records/s)",
        records as f64 / produce_secs
    );

    let bare = bare_consumer(&broker, records)?;
    println!("bare rdkafka consumer: {bare:.0} records/s");
    for &n in &counts {
        let t_small = run_group(&broker, &worker_bin, n, SMALL)?;
        let t_all = run_group(&broker, &worker_bin, n, TOPIC)?;
        let rate = (records - small) as f64 / (t_all - t_small).max(1e-3);
        println!(
            "{n} worker(s): {small} records drained {t_small:.2} s after start, {records} after {t_all:.2} s"
        );
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

/// Runs `n` workers in a fresh group over `topic` until they have
/// committed the end of every partition; the seconds from their start.
fn run_group(
    broker: &KafkaTestBroker,
    worker_bin: &PathBuf,
    n: usize,
    topic: &str,
) -> Result<f64, StreamingError> {
    let group = format!("scaling-{n}-{topic}");
    let dir = tempfile::tempdir().map_err(|e| StreamingError::io("temp dir", e))?;
    let high: std::collections::BTreeMap<i32, i64> = broker
        .watermarks(topic, PARTITIONS)?
        .into_iter()
        .map(|(p, (_, h))| (p, h))
        .collect();
    let started = Instant::now();
    let mut workers: Vec<Child> = (0..n)
        .map(|i| {
            Command::new(worker_bin)
                .args(["--bootstrap", &broker.bootstrap_servers()])
                .args(["--topic", topic, "--group", &group])
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
    let deadline = started + Duration::from_secs(900);
    let result = 'run: loop {
        let committed = broker.committed_offsets(&group, topic, PARTITIONS)?;
        if committed == high {
            break 'run Ok(started.elapsed().as_secs_f64());
        }
        for w in &mut workers {
            if let Ok(Some(status)) = w.try_wait() {
                break 'run Err(streaming::kafka::kafka_error(
                    "scaling run",
                    format!("a worker exited with {status}"),
                ));
            }
        }
        if Instant::now() > deadline {
            break 'run Err(streaming::kafka::kafka_error(
                "scaling run",
                format!("{n} workers did not drain {topic}: {committed:?} of {high:?}"),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    for w in &mut workers {
        let _ = w.kill();
        let _ = w.wait();
    }
    result
}
