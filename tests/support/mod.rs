//! Helpers shared by the integration tests (each test binary includes this
//! module with `mod support;` and uses what it needs): contexts driven by a
//! manual clock, stepping batches, collecting outputs, listening for
//! receiver errors, polling for a condition, and running the examples.

#![allow(dead_code)]

pub mod files;
pub mod socket;
#[macro_use]
pub mod twins;

use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use streaming::prelude::*;
use streaming::testing::{run_operation_with_opt, TestConfig};
use streaming::{BatchInfo, ManualClock, ReceiverErrorInfo};

/// The batch interval of the manual-clock contexts.
pub const INTERVAL: Duration = Duration::from_secs(1);
/// How long to wait for a batch or a condition before failing (a safety
/// net against hangs, never reached by a passing test).
pub const TIMEOUT: Duration = Duration::from_secs(60);

// ------------------------------------------------------------- contexts

/// `local[2]`, batches every [`INTERVAL`], driven by `clock`.
pub fn manual_conf(clock: &ManualClock) -> StreamingConf {
    StreamingConf::new()
        .master("local[2]")
        .batch_interval(INTERVAL)
        // Each test context's UI on a free port (tests run in parallel).
        .set("spark.ui.port", "0")
        .manual_clock(clock.clone())
}

/// `conf` with every `(key, value)` of `settings` set.
pub fn with_settings(mut conf: StreamingConf, settings: &[(&str, &str)]) -> StreamingConf {
    for (k, v) in settings {
        conf = conf.set(*k, *v);
    }
    conf
}

/// A context of application `app` on [`manual_conf`] of `clock`, with
/// `settings`.
pub fn context_at(clock: &ManualClock, app: &str, settings: &[(&str, &str)]) -> StreamingContext {
    StreamingContext::new(with_settings(manual_conf(clock).app_name(app), settings)).unwrap()
}

/// [`context_at`] a new manual clock at 0, and that clock.
pub fn manual_context(app: &str, settings: &[(&str, &str)]) -> (StreamingContext, ManualClock) {
    let clock = ManualClock::new();
    (context_at(&clock, app, settings), clock)
}

/// A context on a new manual clock at 0 with no checkpoint directory.
pub fn context_without_checkpoint() -> StreamingContext {
    StreamingContext::new(manual_conf(&ManualClock::new())).unwrap()
}

/// An input whose batch at `i` seconds is `feed[i - 1]` (no batch past its
/// end).
pub fn input_from<T: Data>(ssc: &StreamingContext, feed: Vec<Vec<T>>) -> DStream<T> {
    ssc.input_stream_from_fn(move |t| {
        feed.get(t.as_millis() as usize / 1000 - 1)
            .cloned()
            .map(Batch::from)
    })
}

// ------------------------------------------------------------- batches

/// The time of batch `i` of a clock started at 0.
pub fn batch_time(i: u64) -> Time {
    Time::from_millis(i * INTERVAL.as_millis() as u64)
}

/// Advances `clock` one interval and waits for batch `i`.
pub fn try_step(ssc: &StreamingContext, clock: &ManualClock, i: u64) -> streaming::Result<()> {
    clock.advance(INTERVAL);
    ssc.await_batch_completion(batch_time(i), TIMEOUT)
}

/// [`try_step`], failing the test when the batch fails.
pub fn step(ssc: &StreamingContext, clock: &ManualClock, i: u64) {
    try_step(ssc, clock, i).unwrap_or_else(|e| panic!("batch {i}: {e}"));
}

/// [`step`]s through `batches` with the context's own manual clock.
pub fn run_batches(ssc: &StreamingContext, batches: RangeInclusive<u64>) {
    let clock = ssc.manual_clock().expect("a manual clock");
    for i in batches {
        step(ssc, &clock, i);
    }
}

/// `run_operation_with_opt` with the default [`TestConfig`]: `None`
/// produces no input batch at that time.
pub fn run_opt<T: Data, U: Data>(
    input: Vec<Option<Vec<T>>>,
    op: impl FnOnce(DStream<T>) -> DStream<U>,
    num_batches: usize,
) -> Vec<Vec<U>> {
    run_operation_with_opt(&TestConfig::default(), input, op, num_batches)
}

// ------------------------------------------------------------- outputs

/// Batches collected by an output operation, in order.
pub type Collected<T> = Arc<Mutex<Vec<Vec<T>>>>;

/// Collects the elements of every batch of `stream`.
pub fn collect<T: Data>(stream: &DStream<T>) -> Collected<T> {
    let out: Collected<T> = Arc::default();
    let sink = out.clone();
    stream.foreach_batch(move |b, _| sink.lock().unwrap().push(b.collect()));
    out
}

/// Collects every batch of `stream` with its time in milliseconds.
pub fn collect_timed<T: Data>(stream: &DStream<T>) -> Arc<Mutex<Vec<(u64, Vec<T>)>>> {
    let out: Arc<Mutex<Vec<(u64, Vec<T>)>>> = Arc::default();
    let sink = out.clone();
    stream.foreach_batch(move |b, t| sink.lock().unwrap().push((t.as_millis(), b.collect())));
    out
}

/// Every batch with its elements sorted.
pub fn sorted<T: Ord>(batches: Vec<Vec<T>>) -> Vec<Vec<T>> {
    batches
        .into_iter()
        .map(|mut b| {
            b.sort();
            b
        })
        .collect()
}

// ------------------------------------------------------------- listeners

/// Receiver errors and batch record counts, as a listener sees them.
#[derive(Clone, Default)]
pub struct Events {
    pub errors: Arc<Mutex<Vec<String>>>,
    pub records: Arc<Mutex<Vec<u64>>>,
}

impl Events {
    /// Registers a listener on `ssc`.
    pub fn attach(ssc: &StreamingContext) -> Events {
        let events = Events::default();
        ssc.add_streaming_listener(events.clone());
        events
    }

    /// How many errors reported so far contain `needle`.
    pub fn errors_containing(&self, needle: &str) -> usize {
        self.errors
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.contains(needle))
            .count()
    }
}

impl StreamingListener for Events {
    fn on_receiver_error(&self, info: &ReceiverErrorInfo) {
        self.errors.lock().unwrap().push(info.message.clone());
    }
    fn on_batch_completed(&self, info: &BatchInfo) {
        self.records.lock().unwrap().push(info.num_records);
    }
}

// ------------------------------------------------------------- polling

/// Polls `cond` every `every` until it holds; panics with `what` after
/// [`TIMEOUT`].
pub fn wait_for_every(what: &str, every: Duration, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(every);
    }
}

/// [`wait_for_every`] millisecond.
pub fn wait_for(what: &str, cond: impl Fn() -> bool) {
    wait_for_every(what, Duration::from_millis(1), cond)
}

// ------------------------------------------------------------- examples

/// The directory of the profile this test binary was built in.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .to_path_buf()
}

/// Builds example `name` with cargo, with `extra` arguments, in this test's
/// profile (`cargo test --release` looks in `target/release`).
pub fn build_example(name: &str, extra: &[&str]) {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "--quiet", "--example", name])
        .args(extra)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile_dir().file_name().is_some_and(|p| p == "release") {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("cargo build");
    assert!(status.success(), "building example {name} failed");
}

/// Where cargo puts example `name` next to this test binary.
pub fn example_path(name: &str) -> PathBuf {
    profile_dir()
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// The example binary `name`, (re)built with `extra` cargo arguments in
/// this test's profile, a no-op when it is up to date (`cargo test --test X`
/// does not build examples, and would otherwise run a stale one).
pub fn example_binary(name: &str, extra: &[&str]) -> PathBuf {
    build_example(name, extra);
    let path = example_path(name);
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// Runs example `name` with `args` in the package directory, as a user
/// would; fails the test when it fails; returns what it printed.
pub fn run_example(name: &str, args: &[&str]) -> String {
    let out = Command::new(example_binary(name, &[]))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run example");
    assert!(
        out.status.success(),
        "example {name} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
