//! Helpers shared by several test files (`mod support;` in each).
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use streaming::prelude::*;
use streaming::ManualClock;

/// A context of 1 s batches on `local[2]`, driven by a manual clock that
/// starts at `from_ms`, checkpointing into `dir`.
pub fn manual_context_at(dir: &Path, from_ms: u64) -> StreamingContext {
    let ssc = StreamingContext::new(
        StreamingConf::new()
            .master("local[2]")
            .batch_interval(Duration::from_secs(1))
            .manual_clock(ManualClock::starting_at(Time::from_millis(from_ms))),
    )
    .unwrap();
    ssc.checkpoint(dir).unwrap();
    ssc
}

/// An input stream of 1 s batches whose batch `i` (at `i` seconds) is
/// `input[i - 1]`, and none past the end.
pub fn fed<T: Data>(ssc: &StreamingContext, input: Vec<Vec<T>>) -> DStream<T> {
    ssc.input_stream_from_fn(move |t| {
        input
            .get(t.as_millis() as usize / 1000 - 1)
            .cloned()
            .map(Batch::from)
    })
}
