//! Test harness mirroring Spark's `TestSuiteBase`: run an operation over
//! given input batches under a manual clock and collect what it outputs.
//!
//! - The manual clock starts at 0; batch `i` (1-based) has time
//!   `i * batch_interval`.
//! - Input batch `i` is `input[i - 1]`, split into `num_input_partitions`
//!   partitions by contiguous slicing; past the end of `input` batches are
//!   empty. With the `_opt` variants, `None` produces no batch at all.
//! - `num_batches` batches run, one clock step at a time, each awaited (no
//!   sleeps). The result holds one entry per batch time at which the
//!   operation's stream produced a batch, its partitions flattened in order.
//! - A fresh temporary checkpoint directory is set and removed afterwards.
//!
//! With the `kafka` feature, `kafka` adds a real Kafka-protocol broker for
//! tests (Spark's `KafkaTestUtils`). The `streaming` facade re-exports this
//! crate as `streaming::testing`.
//!
//! ```
//! use streaming_testkit::run_operation;
//! let out = run_operation(vec![vec![1, 2], vec![3]], |s| s.map(|x: i32| x * 2), 3);
//! assert_eq!(out, vec![vec![2, 4], vec![6], vec![]]);
//! ```

#![deny(missing_docs)]

#[cfg(feature = "kafka")]
pub mod kafka;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use streaming_core::{
    panic_message, Batch, DStream, Data, ManualClock, Result, StopMode, StreamingConf,
    StreamingContext, StreamingError, Time,
};

/// Settings of a harness run.
#[derive(Clone, Debug)]
pub struct TestConfig {
    /// The batch interval (default 1 s).
    pub batch_interval: Duration,
    /// Partitions each input batch is split into (default 2).
    pub num_input_partitions: usize,
    /// The master (default `local[2]`).
    pub master: String,
    /// How long to wait for one batch before failing (default 60 s; only a
    /// safety net against hangs, never reached by a passing test).
    pub batch_timeout: Duration,
}

impl Default for TestConfig {
    fn default() -> Self {
        TestConfig {
            batch_interval: Duration::from_secs(1),
            num_input_partitions: 2,
            master: "local[2]".into(),
            batch_timeout: Duration::from_secs(60),
        }
    }
}

impl TestConfig {
    /// A context for this configuration, driven by a new manual clock at 0,
    /// with a checkpoint directory inside `checkpoint_dir`.
    pub fn context(&self, checkpoint_dir: &std::path::Path) -> Result<StreamingContext> {
        let conf = StreamingConf::new()
            .app_name("test")
            .master(self.master.clone())
            .batch_interval(self.batch_interval)
            // As Spark's own test suites do: no UI server per test context.
            .set("spark.ui.enabled", "false")
            .manual_clock(ManualClock::new());
        let ssc = StreamingContext::new(conf)?;
        ssc.checkpoint(checkpoint_dir)?;
        Ok(ssc)
    }
}

/// A test input stream: batch `i` is `input[i - 1]`.
fn test_input<T: Data>(
    ssc: &StreamingContext,
    config: &TestConfig,
    input: Vec<Option<Vec<T>>>,
) -> DStream<T> {
    let input = Arc::new(input);
    let interval = config.batch_interval.as_millis() as u64;
    let parts = config.num_input_partitions;
    ssc.input_stream_from_fn(move |time: Time| {
        let index = (time.as_millis() / interval).checked_sub(1)? as usize;
        match input.get(index) {
            Some(Some(v)) => Some(Batch::split(v.clone(), parts)),
            Some(None) => None,
            None => Some(Batch::split(Vec::new(), parts)),
        }
    })
}

/// Builds a graph with `build`, runs `num_batches` batches, returns the
/// output of the stream `build` returned.
fn run_graph<U: Data>(
    config: &TestConfig,
    build: impl FnOnce(&StreamingContext) -> DStream<U>,
    num_batches: usize,
) -> Result<Vec<Vec<U>>> {
    let dir = tempfile::tempdir()
        .map_err(|e| StreamingError::io("cannot create a checkpoint directory", e))?;
    let ssc = config.context(dir.path())?;
    let output = catch_unwind(AssertUnwindSafe(|| build(&ssc))).map_err(|p| {
        let msg = panic_message(p.as_ref());
        let msg = msg
            .strip_prefix("invalid operation: ")
            .map(str::to_string)
            .unwrap_or(msg);
        StreamingError::InvalidOperation(msg)
    })?;
    let collected: Arc<Mutex<Vec<Vec<U>>>> = Arc::default();
    let sink = collected.clone();
    output.foreach_batch(move |b, _| sink.lock().unwrap().push(b.collect()));
    ssc.start()?;
    let clock = ssc.manual_clock().expect("the harness uses a manual clock");
    let result = (|| {
        for i in 1..=num_batches {
            clock.advance(config.batch_interval);
            let t = Time::from_millis(i as u64 * config.batch_interval.as_millis() as u64);
            ssc.await_batch_completion(t, config.batch_timeout)?;
        }
        Ok(())
    })();
    ssc.stop(StopMode::Immediate);
    result?;
    let out = std::mem::take(&mut *collected.lock().unwrap());
    Ok(out)
}

/// Runs `op` over `input` for `num_batches` batches with the default
/// [`TestConfig`]; panics with the error's message on failure.
pub fn run_operation<T: Data, U: Data>(
    input: Vec<Vec<T>>,
    op: impl FnOnce(DStream<T>) -> DStream<U>,
    num_batches: usize,
) -> Vec<Vec<U>> {
    run_operation_with(&TestConfig::default(), input, op, num_batches)
}

/// [`run_operation`] returning the failure as an error.
pub fn try_run_operation<T: Data, U: Data>(
    input: Vec<Vec<T>>,
    op: impl FnOnce(DStream<T>) -> DStream<U>,
    num_batches: usize,
) -> Result<Vec<Vec<U>>> {
    try_run_operation_with(&TestConfig::default(), input, op, num_batches)
}

/// [`run_operation`] with a configuration.
pub fn run_operation_with<T: Data, U: Data>(
    config: &TestConfig,
    input: Vec<Vec<T>>,
    op: impl FnOnce(DStream<T>) -> DStream<U>,
    num_batches: usize,
) -> Vec<Vec<U>> {
    try_run_operation_with(config, input, op, num_batches).unwrap_or_else(|e| panic!("{e}"))
}

/// [`try_run_operation`] with a configuration.
pub fn try_run_operation_with<T: Data, U: Data>(
    config: &TestConfig,
    input: Vec<Vec<T>>,
    op: impl FnOnce(DStream<T>) -> DStream<U>,
    num_batches: usize,
) -> Result<Vec<Vec<U>>> {
    try_run_operation_with_opt(
        config,
        input.into_iter().map(Some).collect(),
        op,
        num_batches,
    )
}

/// [`run_operation`] where `None` input means no batch at all for that time.
pub fn run_operation_with_opt<T: Data, U: Data>(
    config: &TestConfig,
    input: Vec<Option<Vec<T>>>,
    op: impl FnOnce(DStream<T>) -> DStream<U>,
    num_batches: usize,
) -> Vec<Vec<U>> {
    try_run_operation_with_opt(config, input, op, num_batches).unwrap_or_else(|e| panic!("{e}"))
}

/// [`try_run_operation`] where `None` input means no batch at all.
pub fn try_run_operation_with_opt<T: Data, U: Data>(
    config: &TestConfig,
    input: Vec<Option<Vec<T>>>,
    op: impl FnOnce(DStream<T>) -> DStream<U>,
    num_batches: usize,
) -> Result<Vec<Vec<U>>> {
    run_graph(
        config,
        |ssc| op(test_input(ssc, config, input)),
        num_batches,
    )
}

/// Runs a two-input `op` for `num_batches` batches with the default
/// [`TestConfig`]; panics with the error's message on failure.
pub fn run_binary_operation<T1: Data, T2: Data, U: Data>(
    input1: Vec<Vec<T1>>,
    input2: Vec<Vec<T2>>,
    op: impl FnOnce(DStream<T1>, DStream<T2>) -> DStream<U>,
    num_batches: usize,
) -> Vec<Vec<U>> {
    run_binary_operation_with(&TestConfig::default(), input1, input2, op, num_batches)
}

/// [`run_binary_operation`] returning the failure as an error.
pub fn try_run_binary_operation<T1: Data, T2: Data, U: Data>(
    input1: Vec<Vec<T1>>,
    input2: Vec<Vec<T2>>,
    op: impl FnOnce(DStream<T1>, DStream<T2>) -> DStream<U>,
    num_batches: usize,
) -> Result<Vec<Vec<U>>> {
    try_run_binary_operation_with(&TestConfig::default(), input1, input2, op, num_batches)
}

/// [`run_binary_operation`] with a configuration.
pub fn run_binary_operation_with<T1: Data, T2: Data, U: Data>(
    config: &TestConfig,
    input1: Vec<Vec<T1>>,
    input2: Vec<Vec<T2>>,
    op: impl FnOnce(DStream<T1>, DStream<T2>) -> DStream<U>,
    num_batches: usize,
) -> Vec<Vec<U>> {
    try_run_binary_operation_with(config, input1, input2, op, num_batches)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// [`try_run_binary_operation`] with a configuration.
pub fn try_run_binary_operation_with<T1: Data, T2: Data, U: Data>(
    config: &TestConfig,
    input1: Vec<Vec<T1>>,
    input2: Vec<Vec<T2>>,
    op: impl FnOnce(DStream<T1>, DStream<T2>) -> DStream<U>,
    num_batches: usize,
) -> Result<Vec<Vec<U>>> {
    try_run_binary_operation_with_opt(
        config,
        input1.into_iter().map(Some).collect(),
        input2.into_iter().map(Some).collect(),
        op,
        num_batches,
    )
}

/// [`run_binary_operation`] where `None` input means no batch at all.
pub fn run_binary_operation_with_opt<T1: Data, T2: Data, U: Data>(
    config: &TestConfig,
    input1: Vec<Option<Vec<T1>>>,
    input2: Vec<Option<Vec<T2>>>,
    op: impl FnOnce(DStream<T1>, DStream<T2>) -> DStream<U>,
    num_batches: usize,
) -> Vec<Vec<U>> {
    try_run_binary_operation_with_opt(config, input1, input2, op, num_batches)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// [`try_run_binary_operation`] where `None` input means no batch at all.
pub fn try_run_binary_operation_with_opt<T1: Data, T2: Data, U: Data>(
    config: &TestConfig,
    input1: Vec<Option<Vec<T1>>>,
    input2: Vec<Option<Vec<T2>>>,
    op: impl FnOnce(DStream<T1>, DStream<T2>) -> DStream<U>,
    num_batches: usize,
) -> Result<Vec<Vec<U>>> {
    run_graph(
        config,
        |ssc| {
            op(
                test_input(ssc, config, input1),
                test_input(ssc, config, input2),
            )
        },
        num_batches,
    )
}
