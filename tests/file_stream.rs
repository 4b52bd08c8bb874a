//! File streams over real temporary directories, batches driven by the
//! manual clock. As in Spark's own suite, each file's modification time is
//! set to a time of the manual clock, and files are written elsewhere and
//! moved into the watched directory between batches.

use std::fs;
use std::path::Path;
use std::sync::{Arc, Mutex};

use streaming::prelude::*;
use streaming::{FileStreamHandle, FileStreamState, ManualClock, ReceiverErrorInfo, INVALID_UTF8};

mod support;
use support::files::{set_mtime, Dirs};
use support::{context_at, Events, INTERVAL, TIMEOUT};

type Collected<T> = std::sync::Arc<std::sync::Mutex<Vec<Batch<T>>>>;

/// A context on `clock` with `settings`, and its listener.
fn context(clock: &ManualClock, settings: &[(&str, &str)]) -> (StreamingContext, Events) {
    let ssc = context_at(clock, "file stream test", settings);
    let errors = Events::attach(&ssc);
    (ssc, errors)
}

fn collect<T: Data>(stream: &DStream<T>) -> Collected<T> {
    let out: Collected<T> = Default::default();
    let sink = out.clone();
    stream.foreach_batch(move |b, _| sink.lock().unwrap().push(b));
    out
}

/// A started context, its clock, its listener and the batches collected.
type Run<T> = (StreamingContext, ManualClock, Events, Collected<T>);

/// Starts a context on a new manual clock at 0, with `settings`, that
/// collects the batches of the stream `define` makes.
fn start<T: Data>(
    settings: &[(&str, &str)],
    define: impl FnOnce(&StreamingContext) -> DStream<T>,
) -> Run<T> {
    let clock = ManualClock::new();
    let (ssc, errors) = context(&clock, settings);
    let out = collect(&define(&ssc));
    ssc.start().unwrap();
    (ssc, clock, errors, out)
}

/// [`start`]s a text file stream of `dir` that also skips temporary names
/// (`_x`, `x.tmp`, `x._COPYING_`; the default skips hidden names only);
/// returns the stream's handle too.
fn start_text(dir: &Path) -> (FileStreamHandle, Run<String>) {
    let spec = FileStreamSpec::text(dir).skip_temporary_names(true);
    let handle = spec.handle();
    (handle, start(&[], |ssc| ssc.file_stream_with(spec)))
}

/// Advances the clock by one interval and returns the batch of that time.
fn step<T: Data>(ssc: &StreamingContext, clock: &ManualClock, out: &Collected<T>) -> Batch<T> {
    clock.advance(INTERVAL);
    ssc.await_batch_completion(clock.time(), TIMEOUT).unwrap();
    out.lock().unwrap().last().cloned().unwrap()
}

#[test]
fn each_batch_reads_the_files_that_appeared_since_the_last_one() {
    let dirs = Dirs::new();
    let (handle, (ssc, clock, _errors, out)) = start_text(&dirs.watched);

    let a = dirs.put("a.txt", "a1\r\na2\n", 500);
    assert_eq!(step(&ssc, &clock, &out).collect(), vec!["a1", "a2"]);

    dirs.put("b.txt", "b1\n\nb3", 1500);
    dirs.put("c.txt", "c1\n", 2500); // modified after batch 2: waits for batch 3
    for ignored in [".hidden.txt", "_temporary.txt", "x.tmp", "y.txt._COPYING_"] {
        dirs.put(ignored, "ignored\n", 1500);
    }
    fs::create_dir(dirs.watched.join("sub")).unwrap();
    fs::write(dirs.watched.join("sub").join("inner.txt"), "ignored\n").unwrap();
    let b2 = step(&ssc, &clock, &out);
    assert_eq!(b2.collect(), vec!["b1", "", "b3"]);

    // A file already read is not read again, even when it changes.
    fs::write(&a, "a1\na2\na3\n").unwrap();
    set_mtime(&a, 2800);
    assert_eq!(step(&ssc, &clock, &out).collect(), vec!["c1"]);
    assert!(step(&ssc, &clock, &out).is_empty());
    ssc.stop(StopMode::Immediate);

    let stats = handle.stats();
    assert_eq!(stats.files_read(), 3);
    assert_eq!(stats.records_read(), 6);
    assert_eq!(stats.unreadable_files(), 0);
    let state = handle.state();
    assert_eq!(
        state.batches.get(&Time::from_millis(2000)),
        Some(&vec![dirs.watched.join("b.txt")])
    );
    assert_eq!(state.files().count(), 3);
}

#[test]
fn files_of_one_batch_are_read_in_modification_time_order_one_partition_each() {
    let dirs = Dirs::new();
    let (ssc, clock, _errors, out) = start(&[], |ssc| ssc.text_file_stream(&dirs.watched));
    dirs.put("z.txt", "first\n", 100);
    dirs.put("a.txt", "second\n", 200);
    dirs.put("m.txt", "third\n", 300);
    let batch = step(&ssc, &clock, &out);
    ssc.stop(StopMode::Immediate);
    assert_eq!(batch.num_partitions(), 3);
    assert_eq!(batch.collect(), vec!["first", "second", "third"]);
}

#[test]
fn a_glob_selects_file_names() {
    let dirs = Dirs::new();
    let (ssc, clock, _errors, out) = start(&[], |ssc| {
        ssc.file_stream_with(FileStreamSpec::text(&dirs.watched).glob("*.{log,csv}"))
    });
    dirs.put("app.log", "from log\n", 100);
    dirs.put("data.csv", "from csv\n", 200);
    dirs.put("notes.txt", "not selected\n", 300);
    let batch = step(&ssc, &clock, &out);
    ssc.stop(StopMode::Immediate);
    assert_eq!(batch.collect(), vec!["from log", "from csv"]);
}

#[test]
fn files_older_than_the_remember_window_or_the_start_are_ignored() {
    for new_files_only in [true, false] {
        let dirs = Dirs::new();
        // The stream is defined at 10 s; the first batch is at 11 s.
        let clock = ManualClock::starting_at(Time::from_millis(10_000));
        let (ssc, _errors) = context(
            &clock,
            &[("spark.streaming.fileStream.minRememberDuration", "3s")],
        );
        dirs.put("before-start.txt", "before start\n", 9_000);
        dirs.put("ancient.txt", "ancient\n", 5_000);
        let spec = FileStreamSpec::text(&dirs.watched).new_files_only(new_files_only);
        let out = collect(&ssc.file_stream_with(spec));
        ssc.start().unwrap();

        let first = step(&ssc, &clock, &out).collect();
        let expected: Vec<&str> = if new_files_only {
            vec![]
        } else {
            vec!["before start"]
        };
        assert_eq!(first, expected, "new_files_only = {new_files_only}");
        for _ in 0..3 {
            step(&ssc, &clock, &out);
        }
        // Batch time 15 s: the window starts at 12 s.
        dirs.put("moved-late-but-old.txt", "too old\n", 11_500);
        dirs.put("recent.txt", "recent\n", 12_500);
        assert_eq!(step(&ssc, &clock, &out).collect(), vec!["recent"]);
        ssc.stop(StopMode::Immediate);
    }
}

#[test]
fn unreadable_files_and_bad_lines_are_reported_and_the_stream_goes_on() {
    let dirs = Dirs::new();
    let (handle, (ssc, clock, errors, out)) = start_text(&dirs.watched);

    // A file that cannot be examined (a dangling link), a file with a line
    // that is not UTF-8, and a good file.
    let broken = dirs.watched.join("broken.txt");
    std::os::unix::fs::symlink(dirs.staging.join("missing"), &broken).unwrap();
    dirs.put("mixed.txt", b"good\n\xff\xfe\nalso good\n", 300);
    dirs.put("fine.txt", "fine\n", 400);
    let b1 = step(&ssc, &clock, &out);
    assert_eq!(b1.collect(), vec!["good", "also good", "fine"]);
    let b2 = step(&ssc, &clock, &out);
    assert!(b2.is_empty());
    dirs.put("later.txt", "later\n", 2500);
    assert_eq!(step(&ssc, &clock, &out).collect(), vec!["later"]);
    ssc.stop(StopMode::Immediate);

    let stats = handle.stats();
    assert_eq!(
        stats.unreadable_files(),
        1,
        "reported once, not every batch"
    );
    assert_eq!(errors.errors_containing("broken.txt"), 1);
    assert_eq!(stats.bad_records_of(INVALID_UTF8), 1);
    assert_eq!(
        errors.errors_containing("mixed.txt: skipped 1 bad records"),
        1
    );
    assert_eq!(stats.files_read(), 3);
}

#[test]
fn a_custom_reader_that_fails_skips_only_that_file() {
    let dirs = Dirs::new();
    let (ssc, clock, errors, out) = start(&[], |ssc| {
        ssc.file_stream(&dirs.watched, |path: &Path| -> Result<Vec<i64>, String> {
            let text = fs::read_to_string(path).map_err(|e| e.to_string())?;
            text.lines()
                .map(|l| l.parse::<i64>().map_err(|e| format!("{l:?}: {e}")))
                .collect()
        })
    });
    dirs.put("1.num", "1\n2\n", 100);
    dirs.put("2.num", "3\nfour\n", 200);
    dirs.put("3.num", "5\n", 300);
    let batch = step(&ssc, &clock, &out);
    ssc.stop(StopMode::Immediate);
    assert_eq!(batch.collect(), vec![1, 2, 5]);
    assert_eq!(
        errors.errors_containing("2.num: \"four\": invalid digit"),
        1
    );
}

#[test]
fn a_large_file_is_split_into_partitions_in_order() {
    let dirs = Dirs::new();
    let (ssc, clock, _errors, out) = start(&[("spark.files.maxPartitionBytes", "1k")], |ssc| {
        ssc.text_file_stream(&dirs.watched)
    });
    let lines: Vec<String> = (0..1000).map(|i| format!("line {i:>5}")).collect();
    dirs.put("big.txt", lines.join("\n"), 100); // 11 bytes a line, no final \n
    dirs.put("small.txt", "tail\n", 200);
    let batch = step(&ssc, &clock, &out);
    ssc.stop(StopMode::Immediate);

    let mut expected = lines.clone();
    expected.push("tail".into());
    assert_eq!(batch.collect(), expected);
    // 11 000 bytes in partitions of about 1 KiB, plus the small file.
    assert_eq!(batch.num_partitions(), 11 + 1);
    assert!(batch.partitions()[..11].iter().all(|p| p.len() <= 94));
}

#[test]
fn a_restored_state_rereads_its_batches_and_never_rereads_its_files() {
    let dirs = Dirs::new();
    let state: FileStreamState = {
        let (handle, (ssc, clock, _errors, out)) = start_text(&dirs.watched);
        dirs.put("a.txt", "a\n", 500);
        step(&ssc, &clock, &out);
        dirs.put("b.txt", "b\n", 1500);
        step(&ssc, &clock, &out);
        ssc.stop(StopMode::Immediate);
        handle.state()
    };
    assert_eq!(state.files().count(), 2);

    // Recovery: a new context replays batches 1 and 2 from the state.
    let spec = FileStreamSpec::text(&dirs.watched);
    spec.handle().restore(state);
    let (ssc, clock, _errors, out) = start(&[], |ssc| ssc.file_stream_with(spec));
    dirs.put("c.txt", "c\n", 2500);
    assert_eq!(step(&ssc, &clock, &out).collect(), vec!["a"]);
    assert_eq!(step(&ssc, &clock, &out).collect(), vec!["b"]);
    assert_eq!(step(&ssc, &clock, &out).collect(), vec!["c"]);
    ssc.stop(StopMode::Immediate);
}

#[test]
fn a_missing_directory_is_reported_and_read_once_it_exists() {
    let dirs = Dirs::new();
    let later = dirs.watched.join("later");
    let (handle, (ssc, clock, errors, out)) = start_text(&later);
    assert!(step(&ssc, &clock, &out).is_empty());
    assert!(step(&ssc, &clock, &out).is_empty());
    assert_eq!(errors.errors_containing("cannot list"), 1, "reported once");
    assert_eq!(handle.stats().listing_errors(), 2);

    fs::create_dir(&later).unwrap();
    fs::write(later.join("f.txt"), "now\n").unwrap();
    set_mtime(&later.join("f.txt"), 2500);
    assert_eq!(step(&ssc, &clock, &out).collect(), vec!["now"]);
    ssc.stop(StopMode::Immediate);
}

#[test]
fn an_invalid_glob_fails_start() {
    let dirs = Dirs::new();
    let (ssc, _errors) = context(&ManualClock::new(), &[]);
    ssc.file_stream_with(FileStreamSpec::text(&dirs.watched).glob("[abc"))
        .print();
    let e = ssc.start().unwrap_err();
    assert!(matches!(e, StreamingError::Config(_)), "{e:?}");
    assert!(
        e.to_string().contains("invalid file name glob \"[abc\""),
        "{e}"
    );
}

#[test]
fn by_default_only_hidden_names_are_ignored_and_the_threshold_itself_is_old() {
    let dirs = Dirs::new();
    let clock = ManualClock::new();
    let (ssc, _errors) = context(&clock, &[]);
    let spec = FileStreamSpec::text(&dirs.watched)
        .new_files_only(false)
        .min_remember(Duration::from_secs(2));
    let out = collect(&ssc.file_stream_with(spec));
    ssc.start().unwrap();
    for (name, ms) in [
        (".hidden.txt", 500),
        ("_underscore.txt", 500),
        ("x.tmp", 500),
        ("y.txt._COPYING_", 500),
    ] {
        dirs.put(name, format!("{name}\n"), ms);
    }
    let mut first = step(&ssc, &clock, &out).collect();
    first.sort();
    assert_eq!(first, vec!["_underscore.txt", "x.tmp", "y.txt._COPYING_"]);
    assert!(step(&ssc, &clock, &out).is_empty());
    // Batch 3 s, remember 2 s: the threshold is 1 s. A file stamped exactly
    // then is not new (SPARK-4518); one a millisecond later is.
    dirs.put("at_threshold.txt", "old\n", 1000);
    dirs.put("after_threshold.txt", "new\n", 1001);
    assert_eq!(step(&ssc, &clock, &out).collect(), vec!["new"]);
    ssc.stop(StopMode::Immediate);
}

/// A listener may call any public method, here the file stream's handle,
/// from the receiver-error event the stream raises while selecting files.
#[test]
fn a_listener_may_call_back_into_the_file_stream_handle() {
    let dirs = Dirs::new();
    let clock = ManualClock::new();
    let (ssc, _errors) = context(&clock, &[]);
    let spec = FileStreamSpec::text(&dirs.watched);
    let handle = spec.handle();
    struct CallsBack(FileStreamHandle, Mutex<Vec<u64>>);
    impl StreamingListener for CallsBack {
        fn on_receiver_error(&self, _: &ReceiverErrorInfo) {
            let files = self.0.state().files().count() as u64;
            let unreadable = self.0.stats().unreadable_files();
            self.1.lock().unwrap().push(files + unreadable);
        }
    }
    let listener = Arc::new(CallsBack(handle.clone(), Mutex::new(Vec::new())));
    struct Shared(Arc<CallsBack>);
    impl StreamingListener for Shared {
        fn on_receiver_error(&self, info: &ReceiverErrorInfo) {
            self.0.on_receiver_error(info)
        }
    }
    ssc.add_streaming_listener(Shared(listener.clone()));
    let out = collect(&ssc.file_stream_with(spec));
    ssc.start().unwrap();
    let broken = dirs.watched.join("broken.txt");
    std::os::unix::fs::symlink(dirs.staging.join("missing"), &broken).unwrap();
    dirs.put("fine.txt", "fine\n", 400);
    // Deadlocked, the batch would never complete (step fails on timeout).
    assert_eq!(step(&ssc, &clock, &out).collect(), vec!["fine"]);
    ssc.stop(StopMode::Immediate);
    assert!(!listener.1.lock().unwrap().is_empty());
}

#[test]
fn a_line_longer_than_the_limit_is_counted_and_skipped() {
    let dirs = Dirs::new();
    let clock = ManualClock::new();
    let (ssc, errors) = context(&clock, &[("streaming.fileStream.maxLineLength", "16")]);
    let spec = FileStreamSpec::text(&dirs.watched);
    let handle = spec.handle();
    let out = collect(&ssc.file_stream_with(spec));
    ssc.start().unwrap();
    let long = "x".repeat(40);
    dirs.put("long.txt", format!("short\n{long}\nafter\n{long}"), 500);
    assert_eq!(step(&ssc, &clock, &out).collect(), vec!["short", "after"]);
    ssc.stop(StopMode::Immediate);
    assert_eq!(handle.stats().bad_records_of(streaming::LINE_TOO_LONG), 2);
    assert_eq!(
        errors.errors_containing("long.txt: skipped 2 bad records"),
        1
    );
}

/// Recovery replays the batches since the last state checkpoint from the
/// files each batch recorded: with checkpointing, a file stream keeps its
/// records at least that long, whatever its own remember window.
#[test]
fn the_remember_window_is_raised_to_cover_the_replay_of_a_recovery() {
    let dirs = Dirs::new();
    let ckpt = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let (ssc, _errors) = context(&clock, &[]);
    ssc.checkpoint(ckpt.path()).unwrap();
    let spec = FileStreamSpec::text(&dirs.watched)
        .new_files_only(false)
        .min_remember(Duration::from_secs(1));
    let handle = spec.handle();
    let words = ssc.file_stream_with(spec).map(|l: String| (l, 1u64));
    // A state checkpoint every 5 s: a recovery may replay 5 batches.
    let counts = words
        .update_state_by_key(|n: &[u64], s: Option<u64>| Some(s.unwrap_or(0) + n.len() as u64))
        .checkpoint(Duration::from_secs(5));
    let out = collect(&counts);
    ssc.start().unwrap();
    for i in 1..=4u64 {
        dirs.put(&format!("f{i}.txt"), format!("w{i}\n"), i * 1000 - 500);
        step(&ssc, &clock, &out);
    }
    ssc.stop(StopMode::Immediate);
    // Every batch since the start is still recorded (a 1 s window alone
    // would keep only the last one or two).
    let state = handle.state();
    assert_eq!(state.batches.len(), 4, "{:?}", state.batches.keys());
    assert_eq!(state.files().count(), 4);
}
