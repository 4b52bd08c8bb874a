//! The seed's first example (section 2.1): two in-memory batches,
//! `"Spark Streaming Sample ssc"` and `"Spark Queue Spark API"`, go through a
//! queue stream with a 3 s batch interval, are split into words and counted
//! per batch with `count_by_value`, and printed in Spark's layout.
//!
//! Run it with `cargo run --release --example queue_word_count`. It exits by
//! itself once the queue is drained: a graceful stop processes every queued
//! batch before the context stops, and `await_termination` returns then.

use streaming::prelude::*;

// This job allocates a `String` per word (owned elements); on mimalloc that
// costs about half what it does on the system allocator (README,
// "Performance"), so the example picks it. The library sets no allocator.
// (Not in tests, which include the examples' pipelines as modules.)
#[cfg(not(test))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), StreamingError> {
    let conf = StreamingConf::new()
        .app_name("QueueWordCount")
        .master("local[*]")
        .batch_interval(Duration::from_secs(3));
    let ssc = StreamingContext::new(conf)?;

    let input_queue = BatchQueue::new();
    input_queue.push(vec!["Spark Streaming Sample ssc".to_string()]);
    input_queue.push(vec!["Spark Queue Spark API".to_string()]);

    let lines = ssc.queue_stream(input_queue, true);
    let words =
        lines.flat_map(|line: String| line.split(' ').map(str::to_string).collect::<Vec<_>>());
    words.count_by_value().print();

    ssc.start()?;
    // Stopping "at some point or on some condition is left to the developer":
    // here, once every queued batch has been processed.
    let stopper = ssc.clone();
    std::thread::spawn(move || stopper.stop(StopMode::Graceful));
    ssc.await_termination()
}
