//! Exactly-once from Kafka to files across a SIGKILLed job: the job runs in
//! a child process (this test binary, re-run in child mode), is killed in
//! the middle of a batch, and is recovered with `get_or_create` from its
//! checkpoint, which holds the offset ranges of every planned batch.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use streaming::kafka::ConsumerStrategy;
use streaming::prelude::*;
use streaming::ManualClock;

use super::support::*;
use crate::support::files::part_files;
use crate::support::wait_for_every;

/// Set in the child process's environment.
const CHILD: &str = "STREAMING_KAFKA_RECOVERY_CHILD";
/// This test's name, to re-run it in child mode.
const TEST: &str = "kafka::recovery::a_sigkilled_job_recovers_with_no_loss_and_no_duplicates";
const TOPIC: &str = "ledger";
const GROUP: &str = "g-ledger";
const PARTITIONS: i32 = 3;

/// The job: Kafka → text files (one directory per batch), offsets
/// committed after the files; every batch checkpointed. Driven over stdin
/// (`step <n>`, `quit`); reports on stdout (`@@ ...`).
fn run_child() {
    let env = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set"));
    let bootstrap = env("KAFKA_BOOTSTRAP");
    let ckpt = PathBuf::from(env("KAFKA_CKPT"));
    let out = PathBuf::from(env("KAFKA_OUT"));
    let clock_start: u64 = env("KAFKA_CLOCK_START").parse().unwrap();
    let pause_at: Option<Time> = std::env::var("KAFKA_PAUSE_AT")
        .ok()
        .map(|n| batch_time(n.parse().unwrap()));
    let clock = ManualClock::starting_at(batch_time(clock_start));
    let creator_clock = clock.clone();
    let ckpt_dir = ckpt.clone();
    let ssc = StreamingContext::get_or_create(&ckpt, move || {
        let conf = StreamingConf::new().set("spark.streaming.kafka.maxRatePerPartition", "4");
        let ssc = StreamingContext::new(manual_conf("kafka-to-files", conf, creator_clock))?;
        ssc.checkpoint(&ckpt_dir)?;
        let params = [
            ("bootstrap.servers", bootstrap.as_str()),
            ("group.id", GROUP),
            ("auto.offset.reset", "earliest"),
        ];
        let stream = direct(&ssc, ConsumerStrategy::subscribe([TOPIC], params));
        stream.checkpoint(INTERVAL);
        stream
            .map(|r| r.value)
            .save_as_text_files(out.join("values"), "");
        let offsets = stream.offsets();
        stream.foreach_batch(move |_, time| {
            if Some(time) == pause_at {
                // Stuck in the middle of the batch, after its files: the
                // parent kills the process here.
                println!("@@ paused {}", time.as_millis());
                std::io::stdout().flush().unwrap();
                loop {
                    std::thread::sleep(Duration::from_secs(3600));
                }
            }
            let ranges = offsets
                .offset_ranges(time)
                .expect("ranges of a running batch");
            offsets.commit_async(&ranges);
        });
        Ok(ssc)
    })
    .expect("get_or_create");
    println!(
        "@@ recovered {}",
        ssc.recovered_from().map_or(0, |t| t.as_millis())
    );
    ssc.start().expect("start");
    for line in std::io::stdin().lines() {
        let line = line.expect("stdin");
        if let Some(n) = line.strip_prefix("step ") {
            let n: u64 = n.parse().unwrap();
            step(&ssc, n);
            println!("@@ done {n}");
        } else if line == "quit" {
            ssc.stop(StopMode::Graceful);
            println!("@@ bye");
            return;
        }
        std::io::stdout().flush().unwrap();
    }
}

/// A job process; killed when dropped.
struct Job {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl Job {
    fn spawn(
        bootstrap: &str,
        ckpt: &Path,
        out: &Path,
        clock_start: u64,
        pause_at: Option<u64>,
    ) -> Job {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([TEST, "--exact", "--nocapture", "--test-threads", "1"])
            .env(CHILD, "1")
            .env("KAFKA_BOOTSTRAP", bootstrap)
            .env("KAFKA_CKPT", ckpt)
            .env("KAFKA_OUT", out)
            .env("KAFKA_CLOCK_START", clock_start.to_string())
            .env_remove("KAFKA_PAUSE_AT")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(p) = pause_at {
            cmd.env("KAFKA_PAUSE_AT", p.to_string());
        }
        let mut child = cmd.spawn().expect("spawn the job process");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // The test harness may print its own text before a report
                // on the same line.
                if let Some(at) = line.find("@@ ") {
                    if tx.send(line[at + 3..].to_string()).is_err() {
                        break;
                    }
                }
            }
        });
        Job {
            child,
            stdin,
            lines,
        }
    }

    /// Waits for the job's next report.
    fn expect(&self, what: &str) {
        let got = self
            .lines
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("the job did not report {what:?}"));
        assert_eq!(got, what);
    }

    fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("write to the job");
        self.stdin.flush().unwrap();
    }

    fn step(&mut self, n: u64) {
        self.send(&format!("step {n}"));
        self.expect(&format!("done {n}"));
    }

    /// SIGKILL.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL the job");
        self.child.wait().unwrap();
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines of every batch directory under `out`, by batch time.
fn outputs(out: &Path) -> BTreeMap<u64, Vec<String>> {
    let mut by_batch = BTreeMap::new();
    for entry in std::fs::read_dir(out).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let Some(ms) = name.strip_prefix("values-") else {
            continue; // temporary directories of writes in progress
        };
        let lines: Vec<String> = part_files(&path)
            .iter()
            .flat_map(|p| {
                std::fs::read_to_string(p)
                    .unwrap()
                    .lines()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
        by_batch.insert(ms.parse().unwrap(), lines);
    }
    by_batch
}

fn produce_round(broker: &streaming::testing::kafka::KafkaTestBroker, from: usize, count: usize) {
    for p in 0..PARTITIONS {
        broker
            .produce_values(TOPIC, p, values(&format!("p{p}"), from, count))
            .unwrap();
    }
}

#[test]
fn a_sigkilled_job_recovers_with_no_loss_and_no_duplicates() {
    if std::env::var_os(CHILD).is_some() {
        run_child();
        return;
    }
    with_timeout(300, || {
        let broker = broker();
        broker.create_topic(TOPIC, PARTITIONS).unwrap();
        produce_round(&broker, 0, 10);
        let root = tempfile::tempdir().unwrap();
        let (ckpt, out) = (root.path().join("ckpt"), root.path().join("out"));
        std::fs::create_dir_all(&out).unwrap();
        let bootstrap = broker.bootstrap_servers();

        // First run: batches 1 and 2 complete; batch 3 is killed after
        // writing its files, before it completes (and before its commit).
        let mut job = Job::spawn(&bootstrap, &ckpt, &out, 0, Some(3));
        job.expect("recovered 0");
        job.step(1);
        job.step(2);
        produce_round(&broker, 10, 5);
        job.send("step 3");
        job.expect("paused 3000");
        wait_for_every("a checkpoint of batch 3", Duration::from_millis(20), || {
            ckpt.join("checkpoint-3000").exists()
        });
        let before_kill = outputs(&out);
        assert_eq!(
            before_kill.keys().copied().collect::<Vec<_>>(),
            vec![1000, 2000, 3000]
        );
        assert!(
            before_kill.values().all(|lines| lines.len() == 12),
            "{before_kill:?}"
        );
        // Batch 2's commit lands; batch 3's never happens.
        await_committed(&broker, [8, 8, 8]);
        job.kill();
        assert_eq!(
            broker.committed_offsets(GROUP, TOPIC, PARTITIONS).unwrap(),
            BTreeMap::from([(0, 8), (1, 8), (2, 8)])
        );

        // Recovery: batch 3 runs again with exactly the same ranges, then
        // the stream continues where it ended.
        let mut job = Job::spawn(&bootstrap, &ckpt, &out, 3, None);
        job.expect("recovered 3000");
        job.step(3);
        assert_eq!(outputs(&out)[&3000], before_kill[&3000]);
        produce_round(&broker, 15, 5);
        for n in 4..=6 {
            job.step(n);
        }
        job.send("quit");
        job.expect("bye");

        let all = outputs(&out);
        let counts: Vec<usize> = all.values().map(Vec::len).collect();
        assert_eq!(counts, vec![12, 12, 12, 12, 12, 0]);
        let mut lines: Vec<String> = all.into_values().flatten().collect();
        lines.sort();
        let mut expected: Vec<String> = (0..PARTITIONS)
            .flat_map(|p| values(&format!("p{p}"), 0, 20))
            .collect();
        expected.sort();
        assert_eq!(lines, expected, "every record exactly once");
        await_committed(&broker, [20, 20, 20]);
    });
}

/// Waits until the group's committed offsets are `expected` (commits are
/// asynchronous).
fn await_committed(broker: &streaming::testing::kafka::KafkaTestBroker, expected: [i64; 3]) {
    let expected: BTreeMap<i32, i64> = (0..).zip(expected).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let committed = broker.committed_offsets(GROUP, TOPIC, PARTITIONS).unwrap();
        if committed == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "committed offsets: {committed:?}, expected {expected:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
