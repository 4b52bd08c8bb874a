//! One worker of a stateful word count scaled out over a Kafka consumer
//! group (README, "Scaling out"): run N copies with the same group and
//! state directory; each counts the words of the partitions the group
//! assigns to it, keeping every partition's counts with the partition.
//!
//! ```sh
//! ./scripts/run-group.sh 3          # a broker and 3 workers of this job
//! ```
//!
//! Options (`--name value`):
//! - `--bootstrap` (localhost:9092), `--topic` (words), `--group` (word-count),
//!   `--state-dir` (target/group-state): where partitions' state snapshots live;
//! - `--rekey TOPIC`: the input's records are lines; their words are re-keyed
//!   through TOPIC (`repartition_through`), so each word's count lives in one
//!   partition of TOPIC. Without it, each record's value is one word and the
//!   input must be keyed by it (a word's records all in one partition);
//! - `--report-dir DIR`: after every batch, writes `DIR/<worker>.tsv`
//!   (atomically): the ranges this worker owns and its counts;
//! - `--worker NAME` (the process id), `--interval-ms` (1000),
//!   `--session-timeout-ms` (6000), `--max-rate` (records/s per partition,
//!   unlimited), `--print` (print each batch's counts), `--kafka-debug`
//!   (librdkafka's `debug` contexts, e.g. `cgrp`, shown with `STREAMING_LOG=debug`),
//!   `--assignor` (`partition.assignment.strategy`; cooperative-sticky by default).
//!
//! SIGTERM or Ctrl-C stops it gracefully (leaving the group: its partitions
//! move at once); SIGKILL leaves them to the group's session timeout.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use streaming::kafka::{
    ConsumerStrategy, DirectStreamConfig, KafkaSink, KafkaUtils, LocationStrategy,
};
use streaming::prelude::*;

fn main() -> Result<(), StreamingError> {
    // The log level is STREAMING_LOG's (info by default).
    let level = std::env::var("STREAMING_LOG")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .init();
    let mut opts: BTreeMap<String, String> = BTreeMap::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let name = a
            .strip_prefix("--")
            .unwrap_or_else(|| panic!("unexpected argument {a:?}"))
            .to_string();
        if name == "print" {
            opts.insert(name, "true".into());
        } else {
            let v = args
                .next()
                .unwrap_or_else(|| panic!("--{name} needs a value"));
            opts.insert(name, v);
        }
    }
    let opt = |k: &str, d: &str| opts.get(k).cloned().unwrap_or_else(|| d.to_string());
    let bootstrap = opt("bootstrap", "localhost:9092");
    let topic = opt("topic", "words");
    let group = opt("group", "word-count");
    let state_dir = PathBuf::from(opt("state-dir", "target/group-state"));
    let worker = opt("worker", &std::process::id().to_string());
    let interval: u64 = opt("interval-ms", "1000").parse().expect("--interval-ms");
    let session = opt("session-timeout-ms", "6000");
    let print = opts.contains_key("print");

    let ssc = StreamingContext::new(
        StreamingConf::new()
            .app_name(format!("KafkaGroupWordCount-{worker}"))
            .master("local[2]")
            .batch_interval(Duration::from_millis(interval))
            .stop_gracefully_on_shutdown(true),
    )?;
    let params = vec![
        ("bootstrap.servers".to_string(), bootstrap.clone()),
        ("group.id".to_string(), group.clone()),
        ("auto.offset.reset".to_string(), "earliest".to_string()),
        ("session.timeout.ms".to_string(), session.clone()),
        ("heartbeat.interval.ms".to_string(), "500".to_string()),
    ];
    let mut params = params;
    if let Some(debug) = opts.get("kafka-debug") {
        // librdkafka's debug contexts (e.g. cgrp), logged at debug level.
        params.push(("debug".to_string(), debug.clone()));
        params.push(("log_level".to_string(), "7".to_string()));
    }
    if let Some(assignor) = opts.get("assignor") {
        // The group mode default is cooperative-sticky.
        params.push((
            "partition.assignment.strategy".to_string(),
            assignor.clone(),
        ));
    }
    let mut config = DirectStreamConfig::new();
    if let Some(rate) = opts.get("max-rate") {
        config = config.max_rate_per_partition(rate.parse().expect("--max-rate"));
    }
    let input = KafkaUtils::create_direct_stream_with_config::<String, String>(
        &ssc,
        LocationStrategy::PreferConsistent,
        ConsumerStrategy::subscribe([topic.clone()], params.clone()).join_group(),
        config.clone(),
    )?;
    // The stream whose partitions hold each word's records.
    let (words, offsets) = match opts.get("rekey") {
        Some(through) => {
            let stream = input
                .flat_map(|r| {
                    r.value
                        .split_whitespace()
                        .map(|w| (w.to_string(), 1i64))
                        .collect::<Vec<_>>()
                })
                .repartition_through::<String, i64>(&ssc, through, params.clone(), config)?;
            let offsets = stream.offsets();
            (
                stream.map(|r| (r.key.unwrap_or_default(), r.value)),
                offsets,
            )
        }
        None => (input.map(|r| (r.value, 1i64)), input.offsets()),
    };
    let counts = offsets
        .partitioned_state(&state_dir, "counts")
        .update_state_by_key(&words, |new: &[i64], state: Option<i64>| {
            Some(state.unwrap_or(0) + new.iter().sum::<i64>())
        });
    if print {
        counts.print_n(20);
    }
    // The counts are computed (and the partitions' snapshots written) by
    // an output: this one logs how many keys each batch holds.
    counts.foreach_batch(|batch, time| {
        tracing::debug!(%time, keys = batch.len(), "counts");
    });
    if let Some(dir) = opts.get("report-dir") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| StreamingError::io(format!("creating {}", dir.display()), e))?;
        let report_offsets = offsets.clone();
        let worker = worker.clone();
        counts.try_foreach_batch(move |batch, time| {
            let ranges = report_offsets.offset_ranges(time).unwrap_or_default();
            let mut text = format!("time\t{}\n", time.as_millis());
            for (range, part) in ranges.iter().zip(batch.partitions()) {
                text.push_str(&format!(
                    "range\t{}\t{}\t{}\n",
                    range.topic, range.partition, range.until_offset
                ));
                for (word, n) in part {
                    text.push_str(&format!("count\t{}\t{word}\t{n}\n", range.partition));
                }
            }
            let tmp = dir.join(format!(".{worker}.tsv.tmp"));
            let path = dir.join(format!("{worker}.tsv"));
            let write = || -> std::io::Result<()> {
                let mut f = std::fs::File::create(&tmp)?;
                f.write_all(text.as_bytes())?;
                f.sync_all()?;
                std::fs::rename(&tmp, &path)
            };
            write().map_err(|e| StreamingError::io(format!("writing {}", path.display()), e))
        });
    }
    ssc.start()?;
    tracing::info!(%worker, %group, %topic, "worker started");
    ssc.await_termination()
}
