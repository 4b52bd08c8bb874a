//! Group mode with real worker processes on loopback: copies of
//! `examples/kafka_group_word_count` share a topic's partitions through
//! the consumer group of a real tansu broker, keep each partition's counts
//! with the partition (snapshots in a shared directory), and survive a
//! SIGKILLed worker and a worker joining later with exact counts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use streaming::testing::kafka::{KafkaTestBroker, TestRecord};

use streaming::prelude::{StopMode, StreamingConf, StreamingContext};

use super::support::*;

const PARTITIONS: i32 = 8;
const GROUP: &str = "word-count";

/// The worker example, built if missing.
fn worker_binary() -> PathBuf {
    crate::support::example_binary("kafka_group_word_count", &["--features", "kafka"])
}

/// One worker process.
struct Worker {
    name: String,
    child: Option<Child>,
    log: PathBuf,
}

impl Worker {
    fn start(broker: &KafkaTestBroker, dir: &Path, name: &str, extra: &[&str]) -> Worker {
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(worker_binary())
            .args(["--bootstrap", &broker.bootstrap_servers()])
            .args(["--group", GROUP])
            .args(["--state-dir", dir.join("state").to_str().unwrap()])
            .args(["--report-dir", dir.join("reports").to_str().unwrap()])
            .args(["--worker", name])
            .args(["--interval-ms", "500"])
            .args(["--session-timeout-ms", "6000"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start a worker");
        Worker {
            name: name.to_string(),
            child: Some(child),
            log,
        }
    }

    /// SIGKILL: no graceful leave; the group notices by session timeout.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().expect("SIGKILL a worker");
            let _ = c.wait();
        }
    }

    /// Fails the test if the worker exited.
    fn assert_running(&mut self) {
        if let Some(c) = self.child.as_mut() {
            if let Ok(Some(status)) = c.try_wait() {
                panic!(
                    "worker {} exited with {status}; its log ends with:\n{}",
                    self.name,
                    tail(&self.log)
                );
            }
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// What a worker reported after its latest batch.
#[derive(Debug, Default, Clone)]
struct Report {
    /// Owned partition → the offset its state reflects.
    ranges: BTreeMap<i32, i64>,
    /// (partition, key) → count.
    counts: BTreeMap<(i32, String), i64>,
}

fn read_report(dir: &Path, name: &str) -> Option<Report> {
    let text = std::fs::read_to_string(dir.join("reports").join(format!("{name}.tsv"))).ok()?;
    let mut r = Report::default();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        match f[0] {
            "range" => {
                r.ranges
                    .insert(f[2].parse().unwrap(), f[3].parse().unwrap());
            }
            "count" => {
                r.counts.insert(
                    (f[1].parse().unwrap(), f[2].to_string()),
                    f[3].parse().unwrap(),
                );
            }
            _ => {}
        }
    }
    Some(r)
}

/// The latest reports of `workers` if their partitions are disjoint and
/// cover the topic.
fn covering(dir: &Path, workers: &[&str]) -> Option<Vec<Report>> {
    covering_n(dir, workers, PARTITIONS)
}

/// [`covering`] for a topic of `partitions` partitions.
fn covering_n(dir: &Path, workers: &[&str], partitions: i32) -> Option<Vec<Report>> {
    let reports: Vec<Report> = workers
        .iter()
        .map(|w| read_report(dir, w))
        .collect::<Option<_>>()?;
    let mut seen = BTreeSet::new();
    for r in &reports {
        for p in r.ranges.keys() {
            if !seen.insert(*p) {
                return None;
            }
        }
    }
    (seen.len() == partitions as usize).then_some(reports)
}

/// Polls `cond` every 100 ms until it holds, failing after `secs`
/// seconds with `what` and the workers' logs.
fn wait_for<T>(
    secs: u64,
    what: &str,
    workers: &mut [&mut Worker],
    mut cond: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        for w in workers.iter_mut() {
            w.assert_running();
        }
        if let Some(v) = cond() {
            return v;
        }
        if Instant::now() >= deadline {
            let logs: Vec<String> = workers
                .iter()
                .map(|w| format!("--- {} ---\n{}", w.name, tail(&w.log)))
                .collect();
            panic!("{what}: not reached within {secs} s\n{}", logs.join("\n"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Writes round `round`: `per_partition` records to each partition, each
/// a word keyed by itself; word `w{i}` always lives in partition `i % 8`.
fn produce_round(
    broker: &KafkaTestBroker,
    topic: &str,
    round: usize,
    per_partition: usize,
    expected: &mut BTreeMap<String, i64>,
) {
    let mut records = Vec::new();
    for p in 0..PARTITIONS as usize {
        for i in 0..per_partition {
            // Five words per partition: w{p}, w{p+8}, ..., w{p+32}.
            let word = format!("w{}", p + 8 * ((i * 3 + round) % 5));
            *expected.entry(word.clone()).or_default() += 1;
            records.push(
                TestRecord::value(word.as_bytes())
                    .key(word.as_bytes())
                    .partition(p as i32),
            );
        }
    }
    broker.produce(topic, records).unwrap();
}

fn high_watermarks(broker: &KafkaTestBroker, topic: &str) -> BTreeMap<i32, i64> {
    broker
        .watermarks(topic, PARTITIONS)
        .unwrap()
        .into_iter()
        .map(|(p, (_, high))| (p, high))
        .collect()
}

/// The union of the reports' counts; fails if a word is counted in two
/// partitions.
fn union_counts(reports: &[Report]) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    let mut home: BTreeMap<String, i32> = BTreeMap::new();
    for r in reports {
        for ((p, word), n) in &r.counts {
            if let Some(q) = home.insert(word.clone(), *p) {
                panic!("{word} has state in partitions {q} and {p}");
            }
            out.insert(word.clone(), *n);
        }
    }
    out
}

#[test]
fn three_workers_one_killed_and_one_joining_count_exactly() {
    with_timeout(400, || {
        let broker = broker();
        broker.create_topic("words", PARTITIONS).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        let mut expected = BTreeMap::new();
        produce_round(&broker, "words", 1, 300, &mut expected);

        // 100 records/s per partition: a round of 300 per partition takes
        // at least 3 s to drain, so the kill below lands mid-run.
        let opts = ["--topic", "words", "--max-rate", "100"];
        let mut w1 = Worker::start(&broker, dir, "w1", &opts);
        let mut w2 = Worker::start(&broker, dir, "w2", &opts);
        let mut w3 = Worker::start(&broker, dir, "w3", &opts);
        // The three share the eight partitions.
        wait_for(
            120,
            "3 workers own all partitions",
            &mut [&mut w1, &mut w2, &mut w3],
            || {
                covering(dir, &["w1", "w2", "w3"])
                    .filter(|rs| rs.iter().all(|r| !r.ranges.is_empty()))
            },
        );
        let owned_by_w2 = read_report(dir, "w2").unwrap().ranges;

        // Mid-run: w2 has processed part of its partitions, not all.
        produce_round(&broker, "words", 2, 300, &mut expected);
        let high = high_watermarks(&broker, "words");
        wait_for(
            120,
            "w2 processes records",
            &mut [&mut w1, &mut w2, &mut w3],
            || {
                let r = read_report(dir, "w2")?;
                r.ranges
                    .iter()
                    .any(|(p, &o)| o > 0 && o < high[p])
                    .then_some(())
            },
        );
        let before_kill = read_report(dir, "w2").unwrap();
        assert!(
            before_kill.ranges.iter().any(|(p, &o)| o < high[p]),
            "w2 was killed after it drained its partitions: {before_kill:?}"
        );
        w2.kill();
        produce_round(&broker, "words", 3, 300, &mut expected);

        // The survivors take w2's partitions over after the session timeout.
        wait_for(
            120,
            "w1 and w3 own all partitions",
            &mut [&mut w1, &mut w3],
            || covering(dir, &["w1", "w3"]),
        );
        let mut w4 = Worker::start(&broker, dir, "w4", &opts);
        produce_round(&broker, "words", 4, 300, &mut expected);
        wait_for(
            120,
            "w4 owns partitions",
            &mut [&mut w1, &mut w3, &mut w4],
            || read_report(dir, "w4").filter(|r| !r.ranges.is_empty()),
        );

        // Drained: the live workers' states cover every partition at its
        // end, and the group committed those ends.
        let high = high_watermarks(&broker, "words");
        let reports = wait_for(
            180,
            "the input is drained",
            &mut [&mut w1, &mut w3, &mut w4],
            || {
                let rs = covering(dir, &["w1", "w3", "w4"])?;
                let at_end = rs
                    .iter()
                    .all(|r| r.ranges.iter().all(|(p, &o)| o == high[p]));
                let committed = broker.committed_offsets(GROUP, "words", PARTITIONS).ok()?;
                (at_end && committed == high).then_some(rs)
            },
        );
        let counts = union_counts(&reports);
        assert_eq!(counts, expected, "nothing lost, nothing counted twice");
        assert_eq!(expected.values().sum::<i64>(), 4 * 300 * PARTITIONS as i64);
        // w2's partitions really moved, and w4 took some over.
        let now_owned: BTreeSet<i32> = reports
            .iter()
            .flat_map(|r| r.ranges.keys().copied())
            .collect();
        assert!(owned_by_w2.keys().all(|p| now_owned.contains(p)));
        for w in [&mut w1, &mut w3, &mut w4] {
            w.assert_running();
            w.kill();
        }
    });
}

#[test]
fn re_keying_through_a_topic_co_partitions_the_counts_with_the_words() {
    with_timeout(300, || {
        let broker = broker();
        broker.create_topic("lines", 3).unwrap();
        broker.create_topic("by-word", PARTITIONS).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        // Lines spread over the input partitions without keys: a word's
        // occurrences are in every input partition.
        let mut expected: BTreeMap<String, i64> = BTreeMap::new();
        let mut words = 0;
        let mut records = Vec::new();
        for i in 0..600usize {
            let line: Vec<String> = (0..4)
                .map(|j| format!("x{}", (i * 5 + j * 11) % 37))
                .collect();
            for w in &line {
                *expected.entry(w.clone()).or_default() += 1;
                words += 1;
            }
            records.push(TestRecord::value(line.join(" ").as_bytes()).partition((i % 3) as i32));
        }
        broker.produce("lines", records).unwrap();
        let opts = ["--topic", "lines", "--rekey", "by-word"];
        let mut w1 = Worker::start(&broker, dir, "r1", &opts);
        let mut w2 = Worker::start(&broker, dir, "r2", &opts);
        let reports = wait_for(
            180,
            "the re-keyed input is drained",
            &mut [&mut w1, &mut w2],
            || {
                let rs = covering_n(dir, &["r1", "r2"], PARTITIONS)?;
                let lines_high = high_watermarks_n(&broker, "lines", 3);
                let committed = broker.committed_offsets(GROUP, "lines", 3).ok()?;
                if committed != lines_high {
                    return None;
                }
                let high = high_watermarks(&broker, "by-word");
                let at_end = rs
                    .iter()
                    .all(|r| r.ranges.iter().all(|(p, &o)| o == high[p]));
                at_end.then_some(rs)
            },
        );
        // Each word's count lives in one partition of the re-keying topic
        // (union_counts checks) and is exact.
        assert_eq!(union_counts(&reports), expected);
        // Without a crash, the sink wrote every word once.
        let written: i64 = high_watermarks(&broker, "by-word").values().sum();
        assert_eq!(written, words);
        for w in [&mut w1, &mut w2] {
            w.assert_running();
        }
    });
}

fn high_watermarks_n(broker: &KafkaTestBroker, topic: &str, partitions: i32) -> BTreeMap<i32, i64> {
    broker
        .watermarks(topic, partitions)
        .unwrap()
        .into_iter()
        .map(|(p, (_, high))| (p, high))
        .collect()
}

/// A running count per key with `PartitionedState::map_with_state` in
/// group mode: each record's count, by key.
fn running_counts(
    ssc: &StreamingContext,
    broker: &KafkaTestBroker,
    dir: &Path,
) -> (
    streaming::kafka::KafkaOffsets,
    std::sync::Arc<std::sync::Mutex<Vec<(String, i64)>>>,
) {
    use streaming::kafka::ConsumerStrategy;
    use streaming::prelude::State;
    let mut p = params(broker, "restore", "earliest");
    p.push(("session.timeout.ms".into(), "6000".into()));
    let stream = direct(ssc, ConsumerStrategy::subscribe(["keyed"], p).join_group());
    let offsets = stream.offsets();
    let counts = offsets.partitioned_state(dir, "running").map_with_state(
        &stream.map(|r| (r.key.unwrap_or_default(), r.value)),
        |k: &String, _v: Option<String>, state: &mut State<i64>| {
            let n = state.get().copied().unwrap_or(0) + 1;
            state.update(n);
            (k.clone(), n)
        },
    );
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    counts.foreach_batch(move |b, _| sink.lock().unwrap().extend(b.iter().cloned()));
    (offsets, seen)
}

fn produce_keyed(broker: &KafkaTestBroker, from: usize, count: usize) {
    let records = (from..from + count).map(|i| {
        let key = format!("k{}", i % 5);
        TestRecord::value("1")
            .key(key.as_bytes())
            .partition((i % 5 % 2) as i32)
    });
    broker.produce("keyed", records).unwrap();
}

#[test]
fn a_new_owner_restores_partition_state_at_the_committed_offsets() {
    with_timeout(240, || {
        let broker = broker();
        broker.create_topic("keyed", 2).unwrap();
        let dir = tempfile::tempdir().unwrap();
        produce_keyed(&broker, 0, 50);

        let ssc = context("owner-a");
        let (offsets, seen) = running_counts(&ssc, &broker, dir.path());
        ssc.start().unwrap();
        step_until(&ssc, 1, Duration::from_secs(120), || {
            seen.lock().unwrap().len() == 50
        });
        assert_eq!(
            offsets.assignment().len(),
            2,
            "one member owns both partitions"
        );
        assert!(!offsets.rebalances().is_empty());
        // The Streaming page shows what the member owns.
        let url = format!("{}/streaming/", ssc.ui_web_url().expect("the UI runs"));
        let page = ureq::get(&url)
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        assert!(
            page.contains("group restore: owns keyed-0, keyed-1;")
                && page.contains("rebalance(s), the last from batch"),
            "{page}"
        );
        // So does /metrics, with the rebalances it saw.
        let metrics = ureq::get(&format!(
            "{}/metrics",
            ssc.ui_web_url().expect("the UI runs")
        ))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
        let has = |prefix: &str, suffix: &str| {
            metrics.lines().any(|l| {
                l.starts_with(prefix) && l.contains("group=\"restore\"") && l.ends_with(suffix)
            })
        };
        assert!(has("streaming_input_owned_partitions{", "} 2"), "{metrics}");
        assert!(
            has("streaming_input_owned_partition{", "} 1")
                && metrics.contains("partition=\"keyed-0\"")
                && metrics.contains("partition=\"keyed-1\""),
            "{metrics}"
        );
        let rebalances = offsets.rebalances().len();
        assert!(
            has(
                "streaming_input_rebalances_total{",
                &format!("}} {rebalances}")
            ),
            "{metrics}"
        );
        assert!(
            has("streaming_input_last_rebalance_batch_time_seconds{", ""),
            "{metrics}"
        );
        let first: Vec<(String, i64)> = seen.lock().unwrap().clone();
        ssc.stop(StopMode::Immediate);
        // The group holds the ends of what A processed.
        assert_eq!(
            broker.committed_offsets("restore", "keyed", 2).unwrap(),
            BTreeMap::from([(0, 30), (1, 20)])
        );

        produce_keyed(&broker, 50, 30);
        let ssc = context("owner-b");
        let (_, seen) = running_counts(&ssc, &broker, dir.path());
        ssc.start().unwrap();
        step_until(&ssc, 1, Duration::from_secs(120), || {
            seen.lock().unwrap().len() == 30
        });
        let second: Vec<(String, i64)> = seen.lock().unwrap().clone();
        ssc.stop(StopMode::Immediate);
        // B continues each key's count where A left it: nothing lost,
        // nothing counted twice.
        for k in 0..5 {
            let key = format!("k{k}");
            let a: Vec<i64> = first
                .iter()
                .filter(|(x, _)| *x == key)
                .map(|(_, n)| *n)
                .collect();
            let b: Vec<i64> = second
                .iter()
                .filter(|(x, _)| *x == key)
                .map(|(_, n)| *n)
                .collect();
            assert_eq!(a, (1..=10).collect::<Vec<_>>(), "{key} under A");
            assert_eq!(b, (11..=16).collect::<Vec<_>>(), "{key} under B");
        }
    });
}

type Windows = std::sync::Arc<std::sync::Mutex<BTreeMap<u64, BTreeMap<String, i64>>>>;

/// A 30 s window of counts per key with
/// `PartitionedState::reduce_by_key_and_window_inv`, by batch number.
fn windowed_counts(
    ssc: &StreamingContext,
    broker: &KafkaTestBroker,
    dir: &Path,
) -> (streaming::kafka::KafkaOffsets, Windows) {
    use streaming::kafka::ConsumerStrategy;
    let mut p = params(broker, "window", "earliest");
    p.push(("session.timeout.ms".into(), "6000".into()));
    let stream = direct(ssc, ConsumerStrategy::subscribe(["keyed"], p).join_group());
    let offsets = stream.offsets();
    let windows = offsets
        .partitioned_state(dir, "window")
        .reduce_by_key_and_window_inv(
            &stream.map(|r| (r.key.unwrap_or_default(), 1i64)),
            |a, b| a + b,
            |a, b| a - b,
            Duration::from_secs(30),
        )
        .unwrap();
    let seen: Windows = Default::default();
    let sink = seen.clone();
    windows.foreach_batch(move |b, t| {
        let n = t.as_millis() / INTERVAL.as_millis() as u64;
        sink.lock().unwrap().insert(n, b.iter().cloned().collect());
    });
    (offsets, seen)
}

fn produce_to(broker: &KafkaTestBroker, key: &str, partition: i32, count: usize) {
    let records = (0..count).map(|_| {
        TestRecord::value("1")
            .key(key.as_bytes())
            .partition(partition)
    });
    broker.produce("keyed", records).unwrap();
}

fn counts(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect()
}

#[test]
fn an_incremental_window_continues_on_the_partitions_next_owner() {
    with_timeout(240, || {
        let broker = broker();
        broker.create_topic("keyed", 2).unwrap();
        let dir = tempfile::tempdir().unwrap();

        let ssc = context("window-a");
        let (offsets, seen) = windowed_counts(&ssc, &broker, dir.path());
        ssc.start().unwrap();
        let a = step_until(&ssc, 1, Duration::from_secs(120), || {
            offsets.assignment().len() == 2
        });
        produce_to(&broker, "k0", 0, 2);
        produce_to(&broker, "k1", 1, 1);
        step(&ssc, a + 1);
        produce_to(&broker, "k0", 0, 1);
        step(&ssc, a + 2);
        ssc.stop(StopMode::Immediate);
        let w = seen.lock().unwrap().clone();
        assert_eq!(w[&(a + 1)], counts(&[("k0", 2), ("k1", 1)]));
        assert_eq!(w[&(a + 2)], counts(&[("k0", 3), ("k1", 1)]));

        // B starts where A's clock stopped, as a process started later
        // would on the wall clock.
        let clock = streaming::ManualClock::new();
        clock.set_time(batch_time(a + 2));
        let ssc =
            StreamingContext::new(manual_conf("window-b", StreamingConf::new(), clock)).unwrap();
        let (offsets, seen) = windowed_counts(&ssc, &broker, dir.path());
        ssc.start().unwrap();
        let b = step_until(&ssc, a + 3, Duration::from_secs(120), || {
            offsets.assignment().len() == 2
        });
        assert!(b + 1 < a + 31, "B owned the partitions within the window");
        // The window A left, restored from the partitions' snapshots.
        assert_eq!(seen.lock().unwrap()[&b], counts(&[("k0", 3), ("k1", 1)]));
        produce_to(&broker, "k1", 1, 2);
        step(&ssc, b + 1);
        assert_eq!(
            seen.lock().unwrap()[&(b + 1)],
            counts(&[("k0", 3), ("k1", 3)])
        );
        // A's batches leave the window 30 s after they entered it.
        for n in b + 2..=a + 32 {
            step(&ssc, n);
        }
        let w = seen.lock().unwrap().clone();
        ssc.stop(StopMode::Immediate);
        assert_eq!(w[&(a + 30)], counts(&[("k0", 3), ("k1", 3)]));
        assert_eq!(w[&(a + 31)], counts(&[("k0", 1), ("k1", 2)]));
        assert_eq!(w[&(a + 32)], counts(&[("k1", 2)]));
    });
}

#[test]
fn group_mode_needs_a_group_and_subscribed_topics() {
    use streaming::kafka::{ConsumerStrategy, KafkaUtils, LocationStrategy, TopicPartition};
    let ssc = context("group-config");
    let create = |strategy: ConsumerStrategy| {
        KafkaUtils::create_direct_stream::<String, String>(
            &ssc,
            LocationStrategy::PreferConsistent,
            strategy,
        )
        .map(|_| ())
        .unwrap_err()
        .to_string()
    };
    let e = create(
        ConsumerStrategy::subscribe(["t"], [("bootstrap.servers", "127.0.0.1:1")]).join_group(),
    );
    assert!(
        e.contains("join_group needs the Kafka parameter group.id"),
        "{e}"
    );
    let with_group = [("bootstrap.servers", "127.0.0.1:1"), ("group.id", "g")];
    let e =
        create(ConsumerStrategy::assign([TopicPartition::new("t", 0)], with_group).join_group());
    assert!(
        e.contains("join_group needs subscribe or subscribe_pattern"),
        "{e}"
    );
    let e = create(
        ConsumerStrategy::subscribe(["t"], with_group)
            .with_offsets([(TopicPartition::new("t", 0), 5)])
            .join_group(),
    );
    assert!(e.contains("with_offsets cannot be combined"), "{e}");
}
