//! Checkpointing and recovery under the manual clock: a pipeline over a
//! real file stream (files with chosen modification times) and real
//! checkpoint files, stopped, recovered with `get_or_create`, and compared
//! with an uninterrupted run; corrupt checkpoints; changed pipelines.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use streaming::checkpoint::{self, CheckpointError, RETAINED_SETTING};
use streaming::prelude::*;
use streaming::{ManualClock, RecoverOptions};

mod support;
use support::files::{names, set_mtime};
use support::manual_conf;

const SEC: Duration = Duration::from_secs(1);
/// The zero time of every run: a whole second of wall-clock time in 2020,
/// so that files can be given modification times inside each batch.
const BASE: u64 = 1_600_000_000_000;
/// Batches the uninterrupted reference run covers.
const BATCHES: u64 = 12;
const WAIT: Duration = Duration::from_secs(60);

/// Outputs by (stream, batch time): a re-run batch replaces its entry, as
/// it replaces a `save_as_*` directory.
type Sink = Arc<Mutex<BTreeMap<(&'static str, u64), Vec<String>>>>;

fn t(batch: u64) -> Time {
    Time::from_millis(BASE + batch * 1000)
}

/// The lines of the file read by batch `i` (batch 4 has no file at all).
fn lines_of(i: u64) -> Option<String> {
    (i != 4).then(|| format!("w{} w{} w{}\ncommon w{}", i % 3, i % 5, i % 7, i % 2))
}

/// Writes the input files of batches `1..=BATCHES`, each modified half a
/// second before its batch time so that exactly that batch selects it.
fn write_input(dir: &Path) {
    for i in 1..=BATCHES {
        let Some(text) = lines_of(i) else { continue };
        let path = dir.join(format!("batch-{i:02}.txt"));
        fs::write(&path, text).unwrap();
        set_mtime(&path, t(i).as_millis() - 500);
    }
}

fn conf(clock: &ManualClock) -> StreamingConf {
    manual_conf(clock).app_name("checkpoint-test")
}

fn record<T: Data + std::fmt::Debug>(stream: &DStream<T>, label: &'static str, sink: &Sink) {
    let sink = sink.clone();
    stream.foreach_batch(move |batch, time| {
        let mut v: Vec<String> = batch.collect().iter().map(|x| format!("{x:?}")).collect();
        v.sort();
        sink.lock().unwrap().insert((label, time.as_millis()), v);
    });
}

fn words(line: String) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

fn running_sum(new: &[u64], old: Option<u64>) -> Option<u64> {
    Some(old.unwrap_or(0) + new.iter().sum::<u64>())
}

/// How the pipeline differs from the reference one.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Variant {
    /// The reference: a running count named `counts` (checkpointed every
    /// 3 s), an incremental 3 s window and a `map_with_state`, the last two
    /// with generated names.
    Reference,
    /// A stateless filter inserted before the stateful operators, and one
    /// more output.
    ExtraStatelessOps,
    /// The running count renamed to `totals`.
    Renamed,
    /// The running count keeping `i64` instead of `u64`.
    OtherStateType,
}

/// The pipeline, defined on `ssc` (what a `create_fn` does).
fn define(ssc: &StreamingContext, input: &Path, sink: &Sink, variant: Variant) {
    let lines = ssc.file_stream_with(
        FileStreamSpec::text(input)
            .new_files_only(false)
            .min_remember(Duration::from_secs(3600)),
    );
    let mut pairs = lines.flat_map(words).map(|w: String| (w, 1u64));
    if variant == Variant::ExtraStatelessOps {
        pairs = pairs.filter(|(w, _): &(String, u64)| !w.is_empty());
        pairs.count().foreach_batch(|_, _| {});
    }
    match variant {
        Variant::OtherStateType => {
            let counts = pairs
                .map(|(w, n): (String, u64)| (w, n as i64))
                .update_state_by_key(|new: &[i64], old: Option<i64>| {
                    Some(old.unwrap_or(0) + new.iter().sum::<i64>())
                })
                .name("counts")
                .checkpoint(3 * SEC);
            record(&counts, "counts", sink);
        }
        _ => {
            let name = if variant == Variant::Renamed {
                "totals"
            } else {
                "counts"
            };
            let counts = pairs
                .update_state_by_key(running_sum)
                .name(name)
                .checkpoint(3 * SEC);
            record(&counts, "counts", sink);
        }
    }
    let windowed = pairs.reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, 3 * SEC, SEC);
    record(&windowed, "window", sink);
    let seen = pairs.map_with_state(StateSpec::function(
        |word: &String, one: Option<u64>, state: &mut State<u64>| {
            let n = state.get().copied().unwrap_or(0) + one.unwrap_or(0);
            state.update(n);
            (word.clone(), n)
        },
    ));
    record(&seen, "seen", sink);
}

/// A `create_fn` for `get_or_create`.
fn creator(
    input: PathBuf,
    ckpt: PathBuf,
    clock: ManualClock,
    sink: Sink,
    variant: Variant,
) -> impl FnOnce() -> Result<StreamingContext, StreamingError> {
    move || {
        let ssc = StreamingContext::new(conf(&clock))?;
        ssc.checkpoint(&ckpt)?;
        define(&ssc, &input, &sink, variant);
        Ok(ssc)
    }
}

/// Advances the clock batch by batch through `batches`, waiting for each.
fn drive(ssc: &StreamingContext, clock: &ManualClock, batches: std::ops::RangeInclusive<u64>) {
    drive_checkpointed(ssc, clock, batches, None);
}

/// The times of the checkpoints in `dir`, oldest first.
fn checkpoint_times(dir: &Path) -> Vec<Time> {
    checkpoint::list(dir)
        .unwrap()
        .iter()
        .map(|f| f.time)
        .collect()
}

/// Waits until the checkpoint of `time` is in `dir` (checkpoints are
/// written in the background; when it falls behind, the writer skips those
/// already superseded, so tests that count files wait for each).
fn await_checkpoint(dir: &Path, time: Time) {
    let deadline = std::time::Instant::now() + WAIT;
    while !checkpoint::list(dir)
        .unwrap()
        .iter()
        .any(|f| f.time == time)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint of {time} in {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// [`drive`], and with `Some((dir, every))`, after every `every`th batch,
/// wait for its checkpoint in `dir` (the reference pipeline's are taken
/// before every third batch).
fn drive_checkpointed(
    ssc: &StreamingContext,
    clock: &ManualClock,
    batches: std::ops::RangeInclusive<u64>,
    checkpoints: Option<(&Path, u64)>,
) {
    for i in batches {
        clock.set_time(t(i));
        ssc.await_batch_completion(t(i), WAIT).unwrap();
        if let Some((dir, every)) = checkpoints {
            if i % every == 0 {
                await_checkpoint(dir, t(i));
            }
        }
    }
}

/// Input and checkpoint directories.
struct Dirs {
    _root: tempfile::TempDir,
    input: PathBuf,
    ckpt: PathBuf,
}

fn dirs() -> Dirs {
    let root = tempfile::tempdir().unwrap();
    let input = root.path().join("in");
    let ckpt = root.path().join("ckpt");
    fs::create_dir(&input).unwrap();
    write_input(&input);
    Dirs {
        input,
        ckpt,
        _root: root,
    }
}

/// `get_or_create` of pipeline `variant` over `d`, its clock at batch `now`:
/// the result, the outputs' sink and the clock.
fn get_or_create(
    d: &Dirs,
    now: u64,
    variant: Variant,
) -> (Result<StreamingContext, StreamingError>, Sink, ManualClock) {
    get_or_create_with(d, now, variant, RecoverOptions::default())
}

/// [`get_or_create`] with `options`.
fn get_or_create_with(
    d: &Dirs,
    now: u64,
    variant: Variant,
    options: RecoverOptions,
) -> (Result<StreamingContext, StreamingError>, Sink, ManualClock) {
    let clock = ManualClock::starting_at(t(now));
    let sink = Sink::default();
    let r = StreamingContext::get_or_create_with(
        &d.ckpt,
        creator(
            d.input.clone(),
            d.ckpt.clone(),
            clock.clone(),
            sink.clone(),
            variant,
        ),
        options,
    );
    (r, sink, clock)
}

/// The outputs of an uninterrupted run of `BATCHES` batches.
fn uninterrupted() -> BTreeMap<(&'static str, u64), Vec<String>> {
    let d = dirs();
    let (ssc, sink, clock) = get_or_create(&d, 0, Variant::Reference);
    let ssc = ssc.unwrap();
    assert_eq!(ssc.recovered_from(), None);
    ssc.start().unwrap();
    drive(&ssc, &clock, 1..=BATCHES);
    ssc.stop(StopMode::Immediate);
    let out = sink.lock().unwrap().clone();
    assert_eq!(
        out.len() as u64,
        3 * BATCHES,
        "every stream outputs every batch"
    );
    out
}

/// Runs the reference pipeline for batches `1..=last`, then stops it with
/// `mode`; returns its outputs.
fn run_then_stop(
    d: &Dirs,
    last: u64,
    mode: StopMode,
) -> BTreeMap<(&'static str, u64), Vec<String>> {
    let (ssc, sink, clock) = get_or_create(d, 0, Variant::Reference);
    let ssc = ssc.unwrap();
    ssc.start().unwrap();
    drive_checkpointed(&ssc, &clock, 1..=last, Some((&d.ckpt, 3)));
    ssc.stop(mode);
    let out = sink.lock().unwrap().clone();
    out
}

/// Recovers the reference pipeline with the clock at batch `now` (the
/// batches after the stop were missed), checks it resumes from `expected`,
/// and runs it to `BATCHES`; returns its outputs.
fn recover_and_finish(
    d: &Dirs,
    now: u64,
    expected: u64,
) -> BTreeMap<(&'static str, u64), Vec<String>> {
    let (ssc, sink, clock) = get_or_create(d, now, Variant::Reference);
    let ssc = ssc.unwrap();
    assert_eq!(ssc.recovered_from(), Some(t(expected)));
    ssc.start().unwrap();
    // The batches from the checkpoint to `now` run at once, in order.
    ssc.await_batch_completion(t(now), WAIT).unwrap();
    drive(&ssc, &clock, now + 1..=BATCHES);
    ssc.stop(StopMode::Immediate);
    let out = sink.lock().unwrap().clone();
    out
}

/// Every output of `part` is the uninterrupted run's for the same batch.
fn assert_agrees(
    part: &BTreeMap<(&'static str, u64), Vec<String>>,
    reference: &BTreeMap<(&'static str, u64), Vec<String>>,
    what: &str,
) {
    for (key, out) in part {
        assert_eq!(
            Some(out),
            reference.get(key),
            "{what}: output of {} at batch {} differs",
            key.0,
            (key.1 - BASE) / 1000
        );
    }
}

/// The batches (1-based) at which `out` holds an output of the counts.
fn batches_of(out: &BTreeMap<(&'static str, u64), Vec<String>>) -> Vec<u64> {
    out.keys()
        .filter(|(s, _)| *s == "counts")
        .map(|(_, ms)| (ms - BASE) / 1000)
        .collect()
}

#[test]
fn recovery_after_a_crash_like_stop_equals_an_uninterrupted_run() {
    let reference = uninterrupted();
    let d = dirs();
    // Checkpoints are taken before batches 3 and 6 (the count's 3 s
    // interval); an immediate stop after batch 7 writes none.
    let first = run_then_stop(&d, 7, StopMode::Immediate);
    let times = checkpoint_times(&d.ckpt);
    assert_eq!(times, vec![t(3), t(6)]);
    // Down until batch 9: batches 8 and 9 are missed, 6 and 7 re-run.
    let second = recover_and_finish(&d, 9, 6);
    assert_eq!(batches_of(&first), (1..=7).collect::<Vec<_>>());
    assert_eq!(batches_of(&second), (6..=BATCHES).collect::<Vec<_>>());
    assert_agrees(&first, &reference, "before the stop");
    assert_agrees(&second, &reference, "after recovery");
}

#[test]
fn a_graceful_stop_writes_a_final_checkpoint_that_recovery_continues_from() {
    let reference = uninterrupted();
    let d = dirs();
    let first = run_then_stop(&d, 5, StopMode::Graceful);
    let newest = checkpoint::list(&d.ckpt)
        .unwrap()
        .pop()
        .expect("a final checkpoint");
    assert_eq!(newest.time, t(6), "the final checkpoint precedes batch 6");
    let c = checkpoint::read(&newest.path).unwrap();
    assert_eq!(c.time(), t(6));
    assert_eq!(c.zero_time(), t(0));
    assert_eq!(c.batch_interval(), SEC);
    assert!(c.pending_times().is_empty(), "{:?}", c.pending_times());
    assert_eq!(c.conf().get_app_name(), "checkpoint-test");
    let counts = c.state("counts").expect("the named count");
    assert_eq!(counts.operation, "update_state_by_key");
    assert_eq!(counts.time, Some(t(5)));
    let mut ops = c.operators();
    ops.sort();
    assert_eq!(
        ops,
        vec![
            ("counts", "update_state_by_key"),
            ("map_with_state#0", "map_with_state"),
            ("reduce_by_key_and_window#0", "reduce_by_key_and_window"),
        ]
    );
    assert_eq!(
        c.inputs(),
        vec![format!("file stream {}", d.input.display())]
    );
    assert!(c.input_data(0).is_some_and(|b| !b.is_empty()));
    assert!(c.structure().iter().any(|l| l.contains("named `counts`")));

    let second = recover_and_finish(&d, 6, 6);
    assert_eq!(batches_of(&second), (6..=BATCHES).collect::<Vec<_>>());
    assert_agrees(&first, &reference, "before the stop");
    assert_agrees(&second, &reference, "after recovery");
}

/// Flips one byte in the middle of a file.
fn corrupt(path: &Path) {
    let mut bytes = fs::read(path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    fs::write(path, bytes).unwrap();
}

#[test]
fn a_corrupt_newest_checkpoint_falls_back_to_the_one_before() {
    let reference = uninterrupted();
    let d = dirs();
    run_then_stop(&d, 7, StopMode::Immediate);
    let newest = checkpoint::list(&d.ckpt).unwrap().pop().unwrap();
    assert_eq!(newest.time, t(6));
    corrupt(&newest.path);
    match checkpoint::read(&newest.path) {
        Err(StreamingError::Checkpoint(CheckpointError::Corrupt { path, reason })) => {
            assert_eq!(path, newest.path);
            assert!(reason.contains("checksum mismatch"), "{reason}");
        }
        other => panic!("expected a corrupt checkpoint, got {other:?}"),
    }
    // Recovery falls back to the checkpoint of batch 3 and replays from there.
    let second = recover_and_finish(&d, 8, 3);
    assert_eq!(batches_of(&second), (3..=BATCHES).collect::<Vec<_>>());
    assert_agrees(
        &second,
        &reference,
        "after recovery from the older checkpoint",
    );
}

#[test]
fn no_readable_checkpoint_is_an_error_or_a_fresh_start_on_request() {
    let d = dirs();
    run_then_stop(&d, 7, StopMode::Immediate);
    let files = checkpoint::list(&d.ckpt).unwrap();
    assert_eq!(files.len(), 2);
    // The per-batch metadata checkpoints too: nothing is readable.
    let mut all = files.clone();
    all.extend(checkpoint::list_metadata(&d.ckpt).unwrap());
    all.sort_by_key(|f| std::cmp::Reverse(f.time));
    assert!(
        all.len() > 2,
        "metadata checkpoints are written at every batch"
    );
    for f in &all {
        let bytes = fs::read(&f.path).unwrap();
        fs::write(&f.path, &bytes[..bytes.len() - 3]).unwrap();
    }
    let called = Arc::new(AtomicBool::new(false));
    let flag = called.clone();
    let err = StreamingContext::get_or_create(&d.ckpt, move || {
        flag.store(true, Ordering::SeqCst);
        StreamingContext::new(conf(&ManualClock::new()))
    })
    .unwrap_err();
    assert!(
        !called.load(Ordering::SeqCst),
        "create_fn runs only to use a checkpoint"
    );
    match &err {
        StreamingError::Checkpoint(CheckpointError::NoUsableCheckpoint { dir, attempts }) => {
            assert_eq!(dir, &d.ckpt);
            assert_eq!(attempts.len(), all.len(), "{attempts:?}");
            let newest = all[0].path.file_name().unwrap().to_str().unwrap();
            assert!(attempts[0].contains(newest), "{attempts:?}");
            assert!(
                attempts.iter().all(|a| a.contains("truncated")),
                "{attempts:?}"
            );
        }
        other => panic!("expected NoUsableCheckpoint, got {other:?}"),
    }
    assert!(
        err.to_string().starts_with("no usable checkpoint in"),
        "{err}"
    );

    // With create_on_error, a new context; the bad files are set aside.
    let (ssc, sink, clock) = get_or_create_with(
        &d,
        0,
        Variant::Reference,
        RecoverOptions::new().create_on_error(true),
    );
    let ssc = ssc.unwrap();
    assert_eq!(ssc.recovered_from(), None);
    assert!(checkpoint::list(&d.ckpt).unwrap().is_empty());
    assert!(checkpoint::list_metadata(&d.ckpt).unwrap().is_empty());
    assert!(d.ckpt.join("checkpoint-1600000006000.corrupt").exists());
    ssc.start().unwrap();
    drive(&ssc, &clock, 1..=2);
    ssc.stop(StopMode::Immediate);
    let out = sink.lock().unwrap().clone();
    assert_eq!(batches_of(&out), vec![1, 2]);
}

/// Runs the reference pipeline 4 batches and stops it gracefully (a
/// checkpoint of batch 5), then tries to recover `variant` from it.
fn recover_variant(
    d: &Dirs,
    variant: Variant,
) -> (Result<StreamingContext, StreamingError>, Sink, ManualClock) {
    run_then_stop(d, 4, StopMode::Graceful);
    get_or_create(d, 5, variant)
}

#[test]
fn named_state_survives_a_change_of_the_stateless_operators_around_it() {
    let reference = uninterrupted();
    let d = dirs();
    let (ssc, sink, clock) = recover_variant(&d, Variant::ExtraStatelessOps);
    let ssc = ssc.expect("a stateless change around named state is recoverable");
    assert_eq!(ssc.recovered_from(), Some(t(5)));
    ssc.start().unwrap();
    drive(&ssc, &clock, 5..=8);
    ssc.stop(StopMode::Immediate);
    let out = sink.lock().unwrap().clone();
    // The filter drops nothing, so the counts go on as if unchanged: the
    // state of batches 1-4 was kept.
    assert_eq!(batches_of(&out), vec![5, 6, 7, 8]);
    assert_agrees(&out, &reference, "after a stateless change");
}

fn incompatible(r: Result<StreamingContext, StreamingError>) -> (Vec<String>, String) {
    match r {
        Err(e @ StreamingError::Checkpoint(CheckpointError::Incompatible { .. })) => {
            let msg = e.to_string();
            let StreamingError::Checkpoint(CheckpointError::Incompatible { changes, .. }) = e
            else {
                unreachable!()
            };
            (changes, msg)
        }
        Err(e) => panic!("expected Incompatible, got {e}"),
        Ok(_) => panic!("expected Incompatible, got a context"),
    }
}

#[test]
fn a_renamed_stateful_operator_is_an_error_naming_both_names() {
    let d = dirs();
    let (changes, msg) = incompatible(recover_variant(&d, Variant::Renamed).0);
    assert!(
        changes.contains(
            &"stateful operator `counts` (`update_state_by_key`) is no longer in the pipeline"
                .to_string()
        ),
        "{changes:?}"
    );
    assert!(
        changes.contains(&"stateful operator `totals` (`update_state_by_key`) is new: the checkpoint holds no state for it".to_string()),
        "{changes:?}"
    );
    assert!(
        msg.contains("does not match the pipeline built by create_fn"),
        "{msg}"
    );
}

#[test]
fn a_changed_state_type_is_an_error_naming_the_types() {
    let d = dirs();
    let (changes, _) = incompatible(recover_variant(&d, Variant::OtherStateType).0);
    let change = changes
        .iter()
        .find(|c| c.contains("stateful operator `counts` changed type"))
        .unwrap_or_else(|| panic!("{changes:?}"));
    assert!(change.contains("u64") && change.contains("i64"), "{change}");
    // The inserted `map` is named too.
    assert!(
        changes
            .iter()
            .any(|c| c.contains("`map`") && c.contains("was added")),
        "{changes:?}"
    );
}

#[test]
fn a_changed_batch_interval_or_input_is_an_error() {
    let d = dirs();
    run_then_stop(&d, 2, StopMode::Graceful);
    let sink = Sink::default();
    let (input, ckpt) = (d.input.clone(), d.ckpt.clone());
    let s = sink.clone();
    let err = StreamingContext::get_or_create(&d.ckpt, move || {
        let ssc = StreamingContext::new(conf(&ManualClock::new()).batch_interval(2 * SEC))?;
        ssc.checkpoint(&ckpt)?;
        let counts = ssc
            .file_stream_with(FileStreamSpec::text(&input).new_files_only(false))
            .flat_map(words)
            .map(|w: String| (w, 1u64))
            .update_state_by_key(running_sum)
            .name("counts");
        record(&counts, "counts", &s);
        Ok(ssc)
    });
    let (changes, _) = incompatible(err);
    assert!(
        changes.contains(&"the batch interval changed from 1000 ms to 2000 ms".to_string()),
        "{changes:?}"
    );

    let elsewhere = d.ckpt.parent().unwrap().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    let err = StreamingContext::get_or_create(
        &d.ckpt,
        creator(
            elsewhere.clone(),
            d.ckpt.clone(),
            ManualClock::new(),
            sink,
            Variant::Reference,
        ),
    );
    let (changes, _) = incompatible(err);
    assert_eq!(
        changes,
        vec![format!(
            "input #0 was `file stream {}`, now `file stream {}`",
            d.input.display(),
            elsewhere.display()
        )]
    );
}

#[test]
fn a_queue_stream_cannot_be_recovered() {
    let d = dirs();
    run_then_stop(&d, 2, StopMode::Graceful);
    let ckpt = d.ckpt.clone();
    let err = StreamingContext::get_or_create(&d.ckpt, move || {
        let ssc = StreamingContext::new(conf(&ManualClock::new()))?;
        ssc.checkpoint(&ckpt)?;
        ssc.queue_stream(BatchQueue::<String>::new(), true)
            .map(|w| (w, 1u64))
            .update_state_by_key(running_sum)
            .name("counts")
            .print();
        Ok(ssc)
    })
    .unwrap_err();
    match &err {
        StreamingError::Checkpoint(CheckpointError::NotRecoverable { input, .. }) => {
            assert_eq!(input, "queue stream")
        }
        other => panic!("expected NotRecoverable, got {other}"),
    }
    assert!(err.to_string().contains("is not recoverable"), "{err}");
}

#[test]
fn only_the_newest_checkpoints_are_kept() {
    let d = dirs();
    let clock = ManualClock::starting_at(t(0));
    let ssc = StreamingContext::new(conf(&clock).set(RETAINED_SETTING, "2")).unwrap();
    ssc.checkpoint(&d.ckpt).unwrap();
    let sink = Sink::default();
    let lines = ssc.file_stream_with(FileStreamSpec::text(&d.input).new_files_only(false));
    let counts = lines
        .flat_map(words)
        .map(|w: String| (w, 1u64))
        .update_state_by_key(running_sum)
        .checkpoint(SEC);
    record(&counts, "counts", &sink);
    ssc.start().unwrap();
    drive_checkpointed(&ssc, &clock, 1..=6, Some((&d.ckpt, 1)));
    ssc.stop(StopMode::Immediate);
    let times = checkpoint_times(&d.ckpt);
    // A checkpoint precedes every batch; the two newest are kept.
    assert_eq!(times, vec![t(5), t(6)]);
    let names = names(&d.ckpt);
    assert_eq!(
        names.len(),
        2,
        "no temporary file is left behind: {names:?}"
    );
}

#[test]
fn checkpoint_intervals_must_be_multiples_of_the_slide() {
    let ssc = StreamingContext::new(conf(&ManualClock::new())).unwrap();
    let lines = ssc.input_stream_from_fn(|_| Some(Batch::from(vec![1u64])));
    let err = lines
        .try_checkpoint(Duration::from_millis(1500))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("checkpoint: the interval 1.5s of `input` must be a positive multiple of its slide duration 1s"),
        "{err}"
    );
    let windowed = lines.window(4 * SEC, 2 * SEC);
    assert!(windowed.try_checkpoint(3 * SEC).is_err());
    assert!(windowed.try_checkpoint(4 * SEC).is_ok());
    assert!(lines.try_checkpoint(Duration::ZERO).is_err());
}

#[test]
fn two_stateful_operators_cannot_share_a_name() {
    let dir = tempfile::tempdir().unwrap();
    let ssc = StreamingContext::new(conf(&ManualClock::new())).unwrap();
    ssc.checkpoint(dir.path()).unwrap();
    let pairs = ssc.input_stream_from_fn(|_| Some(Batch::from(vec![("a".to_string(), 1u64)])));
    pairs.update_state_by_key(running_sum).name("same").print();
    pairs.update_state_by_key(running_sum).name("same").print();
    let err = ssc.start().unwrap_err();
    assert!(
        err.to_string()
            .contains("two stateful operators are named `same`"),
        "{err}"
    );
}

#[test]
fn get_or_create_without_a_checkpoint_uses_create_fn_and_the_directory() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("ckpt");
    let ssc =
        StreamingContext::get_or_create(&dir, || StreamingContext::new(conf(&ManualClock::new())))
            .unwrap();
    assert_eq!(ssc.recovered_from(), None);
    assert_eq!(ssc.checkpoint_dir().as_deref(), Some(dir.as_path()));

    let other = root.path().join("other");
    let err = StreamingContext::get_or_create(&dir, move || {
        let ssc = StreamingContext::new(conf(&ManualClock::new()))?;
        ssc.checkpoint(&other)?;
        Ok(ssc)
    })
    .unwrap_err();
    assert!(
        err.to_string().contains("but get_or_create recovers from"),
        "{err}"
    );
}

#[test]
fn a_failing_checkpoint_write_does_not_stop_the_batches() {
    // A checkpoint directory that becomes unwritable: checkpoints fail (and
    // are logged), batches go on.
    let d = dirs();
    let clock = ManualClock::starting_at(t(0));
    let sink = Sink::default();
    let ssc = StreamingContext::new(conf(&clock)).unwrap();
    ssc.checkpoint(&d.ckpt).unwrap();
    define(&ssc, &d.input, &sink, Variant::Reference);
    fs::remove_dir(&d.ckpt).unwrap();
    fs::write(&d.ckpt, b"not a directory").unwrap();
    ssc.start().unwrap();
    drive(&ssc, &clock, 1..=7);
    ssc.stop(StopMode::Graceful);
    let out = sink.lock().unwrap().clone();
    assert_eq!(batches_of(&out), (1..=7).collect::<Vec<_>>());
}

/// As in Spark, a recovered context runs with the checkpointed
/// configuration; the settings local to the new process (here the UI port,
/// and the master and clock) come from the configuration `create_fn` uses.
#[test]
fn a_recovered_context_gets_the_checkpointed_configuration_back() {
    let d = dirs();
    let create = |app_setting: &'static str, ui_port: &'static str, master: &'static str| {
        let (input, ckpt) = (d.input.clone(), d.ckpt.clone());
        move || {
            let clock = ManualClock::starting_at(t(0));
            let conf = conf(&clock)
                .master(master)
                .set("app.threshold", app_setting)
                .set("spark.ui.port", ui_port);
            let ssc = StreamingContext::new(conf)?;
            ssc.checkpoint(&ckpt)?;
            define(&ssc, &input, &Sink::default(), Variant::Reference);
            Ok::<_, StreamingError>(ssc)
        }
    };
    // A first run writes checkpoints with `app.threshold` = 1.
    let ssc = StreamingContext::get_or_create(&d.ckpt, create("1", "0", "local[2]")).unwrap();
    assert_eq!(ssc.recovered_from(), None);
    ssc.start().unwrap();
    let clock = ssc.manual_clock().unwrap();
    drive_checkpointed(&ssc, &clock, 1..=3, Some((&d.ckpt, 3)));
    ssc.stop(StopMode::Immediate);

    // Recovered with another threshold, UI port and master: the threshold
    // is the checkpoint's, the port and master the new ones.
    let ssc = StreamingContext::get_or_create(&d.ckpt, create("2", "0", "local[1]")).unwrap();
    assert!(ssc.recovered_from().is_some());
    assert_eq!(ssc.conf().get("app.threshold"), Some("1"));
    assert_eq!(ssc.conf().get("spark.ui.port"), Some("0"));
    assert_eq!(ssc.conf().get_master(), "local[1]");
    assert_eq!(ssc.conf().get_app_name(), "checkpoint-test");
    drop(ssc);

    // A context created outside `get_or_create` keeps its own settings.
    let own = StreamingContext::new(conf(&ManualClock::new()).set("app.threshold", "3")).unwrap();
    assert_eq!(own.conf().get("app.threshold"), Some("3"));
}
