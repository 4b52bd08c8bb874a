//! The Kafka examples, run as a user runs them, against a real broker.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::support::*;

/// The example binary cargo built next to this test, built if missing.
fn example(name: &str) -> PathBuf {
    crate::support::example_binary(name, &["--features", "kafka"])
}

#[test]
fn the_word_count_example_counts_what_the_producer_example_writes() {
    with_timeout(240, || {
        let broker = broker();
        broker.create_topic("test", 1).unwrap();
        let bootstrap = broker.bootstrap_servers();
        let mut count = Command::new(example("kafka_word_count"))
            .args([bootstrap.as_str(), "test", "4"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run kafka_word_count");
        let stdout = count.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        // Wait for the first batch: the stream runs (from the latest offsets).
        let mut printed = Vec::new();
        loop {
            let line = lines
                .recv_timeout(Duration::from_secs(60))
                .expect("kafka_word_count prints its first batch");
            let first = line.starts_with("Time: ");
            printed.push(line);
            if first {
                break;
            }
        }
        let produced = Command::new(example("kafka_producer"))
            .args([bootstrap.as_str(), "test", "10"])
            .output()
            .expect("run kafka_producer");
        assert!(
            produced.status.success(),
            "kafka_producer failed: {}",
            String::from_utf8_lossy(&produced.stderr)
        );
        let status = count.wait().expect("kafka_word_count ends");
        assert!(status.success(), "kafka_word_count failed: {status}");
        reader.join().unwrap();
        printed.extend(lines.try_iter());

        // Counts summed over the batches (production may straddle two).
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for line in &printed {
            if let Some(pair) = line.strip_prefix("(\"").and_then(|l| l.strip_suffix(')')) {
                let (word, n) = pair.split_once("\", ").expect("(word, count)");
                *counts.entry(word.to_string()).or_default() += n.parse::<u64>().unwrap();
            }
        }
        let expected: BTreeMap<String, u64> = [
            ("API", 5),
            ("Queue", 5),
            ("Sample", 5),
            ("Spark", 15),
            ("Streaming", 5),
            ("ssc", 5),
        ]
        .into_iter()
        .map(|(w, n)| (w.to_string(), n))
        .collect();
        assert_eq!(counts, expected, "{}", printed.join("\n"));
        assert_eq!(
            printed.iter().filter(|l| l.starts_with("Time: ")).count(),
            4,
            "four batches printed"
        );
    });
}
