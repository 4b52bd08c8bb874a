//! Running a pipeline and its twin: the harness of the tests that compare
//! a `stream!` pipeline with the same pipeline written with the plain API
//! (`dsl_equivalence`, `dsl_soundness`, `dsl_operators`).

use std::path::Path;
use std::sync::{Arc, Mutex};

use streaming::prelude::*;
use streaming::ManualClock;

use super::{sorted, TIMEOUT};

/// A pipeline over a queue of `I`: built on a configuration the harness
/// makes (manual clock, `local[2]`) and a checkpoint directory.
pub type Build<I, T> =
    fn(StreamingConf, BatchQueue<I>, &Path) -> streaming::Result<(StreamingContext, DStream<T>)>;

/// `local[2]`, application `app`, driven by a new manual clock.
pub fn twin_conf(app: &str) -> StreamingConf {
    StreamingConf::new()
        .master("local[2]")
        .app_name(app)
        .manual_clock(ManualClock::new())
}

/// A plain-API context like the one `stream!` builds with
/// `context(conf = conf, batch = 1s, checkpoint = dir)`.
pub fn plain_context(conf: StreamingConf, dir: &Path) -> streaming::Result<StreamingContext> {
    let ssc = StreamingContext::new(conf.batch_interval(Duration::from_secs(1)))?;
    ssc.checkpoint(dir)?;
    Ok(ssc)
}

/// Starts `ssc`, collecting `out`'s batches, runs `batches` batches of its
/// batch interval on its manual clock and stops; returns every batch,
/// sorted (element order after a shuffle is not part of the contract).
/// `before(i)` runs before batch `i`.
pub fn drive<T: Data + Ord>(
    ssc: StreamingContext,
    out: DStream<T>,
    batches: u64,
    mut before: impl FnMut(u64),
) -> Vec<Vec<T>> {
    let collected: Arc<Mutex<Vec<Vec<T>>>> = Arc::default();
    let sink = collected.clone();
    out.foreach_batch(move |batch, _| sink.lock().unwrap().push(batch.collect()));
    ssc.start().expect("start");
    let clock = ssc.manual_clock().expect("manual clock");
    let interval = ssc.batch_interval();
    for i in 1..=batches {
        before(i);
        clock.advance(interval);
        let time = Time::from_millis(i * interval.as_millis() as u64);
        ssc.await_batch_completion(time, TIMEOUT)
            .expect("batch completes");
    }
    ssc.stop(StopMode::Immediate);
    let out = std::mem::take(&mut *collected.lock().unwrap());
    sorted(out)
}

/// [`drive`]s `build` over a queue holding `input` (one batch per batch
/// time), then `drain` more batches, in a fresh checkpoint directory.
pub fn run_queued<I: Data, T: Data + Ord>(
    build: Build<I, T>,
    input: &[Vec<I>],
    drain: u64,
) -> Vec<Vec<T>> {
    let dir = tempfile::tempdir().unwrap();
    let queue = BatchQueue::new();
    for batch in input {
        queue.push(batch.clone());
    }
    let (ssc, out) = build(twin_conf("twins"), queue, dir.path()).expect("pipeline builds");
    drive(ssc, out, input.len() as u64 + drain, |_| {})
}

/// The outputs of a `stream!` pipeline and of its plain-API twin over the
/// same queued `$data` (then `$drain` more batches): the `stream!` body
/// reads the queue as `$var` and binds its result to `out`; `$plain` is a
/// function of the context and the queue's stream returning the result.
/// Evaluates to `(dsl, plain)`, each batch sorted.
#[allow(unused_macros)]
macro_rules! twin_outputs {
    ($data:expr, $drain:expr, $var:ident: $elem:ty, { $($body:tt)* }, $plain:expr) => {{
        let data = $data;
        let dsl = support::twins::run_queued(
            |conf, queue, dir| {
                stream! {
                    context(conf = conf, batch = 1s, checkpoint = dir);
                    let $var = queue_stream(queue, true);
                    $($body)*
                    out
                }
            },
            &data,
            $drain,
        );
        let plain = support::twins::run_queued(
            |conf, queue: BatchQueue<$elem>, dir| {
                let ssc = support::twins::plain_context(conf, dir)?;
                let $var: DStream<$elem> = ssc.queue_stream(queue, true);
                let out = ($plain)(&ssc, $var);
                Ok((ssc, out))
            },
            &data,
            $drain,
        );
        (dsl, plain)
    }};
}
