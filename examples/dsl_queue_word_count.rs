//! The seed's first example with `stream!`: words of queued lines counted
//! per batch (`countByValue`), one batch every 3 s.
//!
//! `with_dsl` and `with_plain_api` build the same pipeline; the test
//! `tests/dsl_equivalence.rs` checks that they produce the same batches.
//!
//! Run: `cargo run --example dsl_queue_word_count`

use streaming::prelude::*;

/// The counts stream built with `stream!` (also printed).
pub fn with_dsl(
    conf: StreamingConf,
    queue: BatchQueue<String>,
) -> streaming::Result<(StreamingContext, DStream<(String, u64)>)> {
    stream! {
        context(conf = conf, batch = 3s);
        let lines = queue_stream(queue, true);
        let words = lines.flat_map(|line: String| {
            line.split(' ').map(str::to_string).collect::<Vec<_>>()
        });
        let counts = words.count_by_value();
        counts.print();
        counts
    }
}

/// The same pipeline written with the plain API.
pub fn with_plain_api(
    conf: StreamingConf,
    queue: BatchQueue<String>,
) -> streaming::Result<(StreamingContext, DStream<(String, u64)>)> {
    let ssc = StreamingContext::new(conf.batch_interval(Duration::from_secs(3)))?;
    let lines = ssc.queue_stream(queue, true);
    let words =
        lines.flat_map(|line: String| line.split(' ').map(str::to_string).collect::<Vec<_>>());
    let counts = words.count_by_value();
    counts.print();
    Ok((ssc, counts))
}

/// The seed's two queued batches.
pub fn seed_queue() -> BatchQueue<String> {
    let queue = BatchQueue::new();
    queue.push(vec!["Spark Streaming Sample ssc".to_string()]);
    queue.push(vec!["Spark Queue Spark API".to_string()]);
    queue
}

// This job allocates a `String` per word (owned elements); on mimalloc that
// costs about half what it does on the system allocator (README,
// "Performance"), so the example picks it. The library sets no allocator.
// (Not in tests, which include the examples' pipelines as modules.)
#[cfg(not(test))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[allow(dead_code)]
fn main() -> streaming::Result<()> {
    let conf = StreamingConf::new()
        .master("local[*]")
        .app_name("QueueWordCount");
    let (ssc, _counts) = with_dsl(conf, seed_queue())?;
    ssc.start()?;
    // Two batches of 3 s, then stop (Spark leaves stopping to the developer).
    ssc.await_termination_or_timeout(Duration::from_millis(6_500))?;
    ssc.stop(StopMode::Graceful);
    Ok(())
}
