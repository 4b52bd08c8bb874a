//! Saving batches to real temporary directories and reading them back:
//! `save_as_text_files`, `save_as_object_files`, `save_as_hadoop_files`, and a
//! custom sink through `try_foreach_batch`. Batches are driven by the manual
//! clock.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use serde::{Deserialize, Serialize};
use streaming::output::{read_object_file, read_object_files};
use streaming::prelude::*;
use streaming::ManualClock;

mod support;
use support::files::{names, part_files};
use support::{manual_context, INTERVAL, TIMEOUT};

fn context() -> (StreamingContext, ManualClock) {
    manual_context("outputs test", &[])
}

/// A temporary directory for the outputs, and a [`context`].
fn context_in_tempdir() -> (tempfile::TempDir, StreamingContext, ManualClock) {
    let root = tempfile::tempdir().unwrap();
    let (ssc, clock) = context();
    (root, ssc, clock)
}

/// An input whose batch at time `t` is `make(t)`, as partitions.
fn input<T: Data>(
    ssc: &StreamingContext,
    make: impl Fn(u64) -> Vec<Vec<T>> + Send + Sync + 'static,
) -> DStream<T> {
    ssc.input_stream_from_fn(move |t: Time| Some(Batch::from_partitions(make(t.as_millis()))))
}

/// Starts `ssc`, runs batches `1..=n` and stops it.
fn run_batches(ssc: &StreamingContext, clock: &ManualClock, n: u64) {
    ssc.start().unwrap();
    for i in 1..=n {
        support::step(ssc, clock, i);
    }
    ssc.stop(StopMode::Immediate);
}

#[test]
fn text_files_are_laid_out_as_hadoop_does() {
    let (root, ssc, clock) = context_in_tempdir();
    let words = input(&ssc, |t| {
        vec![
            vec![format!("a{t}"), format!("b{t}")],
            vec![format!("c{t}")],
        ]
    });
    words.save_as_text_files(root.path().join("out/words"), "txt");
    words.save_as_text_files(root.path().join("plain"), "");
    run_batches(&ssc, &clock, 2);

    assert_eq!(
        names(&root.path().join("out")),
        vec!["words-1000.txt", "words-2000.txt"],
        "no temporary directory is left"
    );
    let dir = root.path().join("out/words-2000.txt");
    assert_eq!(names(&dir), vec!["_SUCCESS", "part-00000", "part-00001"]);
    assert_eq!(
        fs::read_to_string(dir.join("part-00000")).unwrap(),
        "a2000\nb2000\n"
    );
    assert_eq!(
        fs::read_to_string(dir.join("part-00001")).unwrap(),
        "c2000\n"
    );
    assert_eq!(fs::metadata(dir.join("_SUCCESS")).unwrap().len(), 0);
    let plain = root.path().join("plain-1000");
    assert_eq!(
        fs::read_to_string(plain.join("part-00001")).unwrap(),
        "c1000\n"
    );
}

#[test]
fn a_rerun_of_a_batch_time_replaces_its_directory() {
    let root = tempfile::tempdir().unwrap();
    let prefix = root.path().join("run");
    for (partitions, word) in [(3usize, "first"), (1, "second")] {
        let (ssc, clock) = context();
        let s = input(&ssc, move |_| vec![vec![word.to_string()]; partitions]);
        s.save_as_text_files(&prefix, "out");
        run_batches(&ssc, &clock, 1);
    }
    let dir = root.path().join("run-1000.out");
    assert_eq!(names(&dir), vec!["_SUCCESS", "part-00000"]);
    assert_eq!(
        fs::read_to_string(dir.join("part-00000")).unwrap(),
        "second\n"
    );
    assert_eq!(names(root.path()), vec!["run-1000.out"]);
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Reading {
    sensor: String,
    at: u64,
    values: Vec<f64>,
    note: Option<String>,
}

#[test]
fn object_files_read_back_as_written() {
    let (root, ssc, clock) = context_in_tempdir();
    let make = |t: u64| -> Vec<Vec<Reading>> {
        let r = |i: u64| Reading {
            sensor: format!("s{i}"),
            at: t + i,
            values: vec![i as f64 / 3.0, -1.5],
            note: i.is_multiple_of(2).then(|| "even ✓".to_string()),
        };
        vec![vec![r(0), r(1)], vec![], vec![r(2)]]
    };
    input(&ssc, make).save_as_object_files(root.path().join("readings"), "bin");
    run_batches(&ssc, &clock, 2);

    for t in [1000u64, 2000] {
        let dir = root.path().join(format!("readings-{t}.bin"));
        assert_eq!(
            names(&dir),
            vec!["_SUCCESS", "part-00000", "part-00001", "part-00002"]
        );
        let back: Vec<Reading> = read_object_files(&dir).unwrap();
        assert_eq!(back, make(t).concat());
        assert!(read_object_file::<Reading>(dir.join("part-00001"))
            .unwrap()
            .is_empty());
    }

    // A damaged file is a clear error naming it, not a panic or a short read.
    let part = root.path().join("readings-1000.bin/part-00000");
    let bytes = fs::read(&part).unwrap();
    fs::write(&part, &bytes[..bytes.len() - 3]).unwrap();
    let e = read_object_files::<Reading>(root.path().join("readings-1000.bin")).unwrap_err();
    assert!(matches!(e, StreamingError::InvalidData { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("part-00000") && msg.contains("truncated record"),
        "{msg}"
    );

    // A directory without _SUCCESS is not a complete output.
    fs::remove_file(root.path().join("readings-2000.bin/_SUCCESS")).unwrap();
    let e = read_object_files::<Reading>(root.path().join("readings-2000.bin")).unwrap_err();
    assert!(e.to_string().contains("no _SUCCESS marker"), "{e}");
}

/// `key=value;` records, to show a format of one's own.
struct Semicolons;

impl OutputFormat<String, u64> for Semicolons {
    fn write_partition(
        &self,
        records: &[(String, u64)],
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        for (k, v) in records {
            write!(out, "{k}={v};")?;
        }
        Ok(())
    }
}

/// The records of every part file of `dir`, split by `split`, sorted.
fn all_records(dir: &Path, split: impl Fn(&str) -> Vec<&str>) -> Vec<String> {
    let mut records: Vec<String> = part_files(dir)
        .iter()
        .flat_map(|p| {
            let text = fs::read_to_string(p).unwrap();
            split(&text)
                .into_iter()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    records.sort();
    records
}

fn all_lines(dir: &Path) -> Vec<String> {
    all_records(dir, |text| text.lines().collect())
}

#[test]
fn hadoop_files_go_through_the_output_format() {
    let (root, ssc, clock) = context_in_tempdir();
    let counts = input(&ssc, |_| {
        vec![
            vec!["spark streaming".to_string(), "spark".to_string()],
            vec!["queue spark api".to_string()],
        ]
    })
    .flat_map(|l: String| l.split(' ').map(str::to_string).collect::<Vec<_>>())
    .map(|w| (w, 1u64))
    .reduce_by_key(|a, b| a + b);
    counts.save_as_hadoop_files(root.path().join("tab"), "tsv", TextOutputFormat::new());
    counts.save_as_hadoop_files(
        root.path().join("comma"),
        "csv",
        TextOutputFormat::with_separator(","),
    );
    counts.save_as_hadoop_files(root.path().join("semi"), "", Semicolons);
    run_batches(&ssc, &clock, 1);

    assert_eq!(
        all_lines(&root.path().join("tab-1000.tsv")),
        vec!["api\t1", "queue\t1", "spark\t3", "streaming\t1"]
    );
    assert_eq!(
        all_lines(&root.path().join("comma-1000.csv")),
        vec!["api,1", "queue,1", "spark,3", "streaming,1"]
    );
    let records = all_records(&root.path().join("semi-1000"), |text| {
        text.split_terminator(';').collect()
    });
    assert_eq!(records, vec!["api=1", "queue=1", "spark=3", "streaming=1"]);
}

#[test]
fn a_failed_write_fails_the_batch_with_a_clear_error() {
    let root = tempfile::tempdir().unwrap();
    let blocker = root.path().join("not-a-dir");
    fs::write(&blocker, "a file where a directory is needed").unwrap();
    let (ssc, clock) = context();
    input(&ssc, |_| vec![vec![1, 2, 3]]).save_as_text_files(blocker.join("out"), "txt");
    ssc.start().unwrap();
    clock.advance(INTERVAL);
    let e = ssc
        .await_batch_completion(Time::from_millis(1000), TIMEOUT)
        .unwrap_err();
    assert!(matches!(e, StreamingError::Io { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("cannot create output directory") && msg.contains("not-a-dir"),
        "{msg}"
    );
    assert!(
        ssc.await_termination().is_err(),
        "the failure stops the context"
    );
    assert_eq!(names(root.path()), vec!["not-a-dir"], "nothing left behind");
}

#[test]
fn readers_never_see_half_a_batch() {
    const PARTS: usize = 8;
    const LINES: usize = 2000;
    const BATCHES: u64 = 25;
    let root = tempfile::tempdir().unwrap();
    let out_dir = root.path().join("out");
    fs::create_dir(&out_dir).unwrap();
    let (ssc, clock) = context();
    input(&ssc, |t| {
        (0..PARTS)
            .map(|p| (0..LINES).map(|i| format!("{t}-{p}-{i}")).collect())
            .collect()
    })
    .save_as_text_files(out_dir.join("batch"), "txt");

    // A complete batch directory: the marker and every part, in full.
    fn check_complete(dir: &Path) {
        let listed = names(dir);
        assert_eq!(
            listed.len(),
            PARTS + 1,
            "incomplete {}: {listed:?}",
            dir.display()
        );
        assert_eq!(listed[0], "_SUCCESS");
        for p in 0..PARTS {
            let text = fs::read_to_string(dir.join(format!("part-{p:05}"))).unwrap();
            assert_eq!(
                text.lines().count(),
                LINES,
                "short part in {}",
                dir.display()
            );
        }
    }
    let done = Arc::new(AtomicBool::new(false));
    let checked = Arc::new(AtomicUsize::new(0));
    let reader = {
        let (done, checked, out_dir) = (done.clone(), checked.clone(), out_dir.clone());
        thread::spawn(move || {
            let mut seen: Vec<PathBuf> = Vec::new();
            while !done.load(Ordering::Acquire) {
                for name in names(&out_dir) {
                    let path = out_dir.join(&name);
                    if name.starts_with('.') || seen.contains(&path) {
                        continue;
                    }
                    check_complete(&path);
                    checked.fetch_add(1, Ordering::Relaxed);
                    seen.push(path);
                }
            }
        })
    };
    run_batches(&ssc, &clock, BATCHES);
    done.store(true, Ordering::Release);
    reader.join().unwrap();

    let visible: Vec<String> = names(&out_dir);
    assert_eq!(visible.len(), BATCHES as usize, "{visible:?}");
    for name in &visible {
        check_complete(&out_dir.join(name));
    }
    assert!(
        checked.load(Ordering::Relaxed) > 0,
        "the concurrent reader saw batches"
    );
}

#[test]
fn try_foreach_batch_makes_a_custom_sink() {
    let root = tempfile::tempdir().unwrap();
    let log = root.path().join("sink.log");
    let (ssc, clock) = context();
    let path = log.clone();
    input(&ssc, |t| vec![vec![t / 1000, t / 1000 + 1]]).try_foreach_batch(move |batch, time| {
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| StreamingError::io(format!("cannot open {}", path.display()), e))?;
        let sum: u64 = batch.iter().sum();
        writeln!(f, "{} {sum}", time.as_millis())
            .map_err(|e| StreamingError::io("cannot append", e))
    });
    run_batches(&ssc, &clock, 3);
    assert_eq!(
        fs::read_to_string(&log).unwrap(),
        "1000 3\n2000 5\n3000 7\n"
    );
}
