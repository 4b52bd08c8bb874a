//! A windowed word count with `stream!`: counts over the last 3 batches,
//! every batch, keeping the words seen more than once. The built-in `sum`
//! reducer compiles to the runtime's exact windowed sum, which runs
//! incrementally on these `i64` counts (adding the batch that enters the
//! window, subtracting the one that leaves, and dropping a word once its
//! last occurrence has left). The `filter` after it filters the output: the
//! result is exactly that of the plain definition below.
//!
//! Run: `cargo run --example dsl_windowed_count`

use std::path::Path;
use streaming::prelude::*;

/// The windowed counts built with `stream!` (also printed).
pub fn with_dsl(
    conf: StreamingConf,
    queue: BatchQueue<String>,
    checkpoint: &Path,
) -> streaming::Result<(StreamingContext, DStream<(String, i64)>)> {
    stream! {
        context(conf = conf, batch = 1s, checkpoint = checkpoint);
        let pairs = queue_stream(queue, true)
            .flat_map(|line: String| line.split(' ').map(str::to_string).collect::<Vec<_>>())
            .map(|word| (word, 1i64));
        let counts = pairs.reduce_by_key_and_window(sum, 3s, 1s).filter(|(_, n)| *n > 1);
        counts.print();
        counts
    }
}

/// The same pipeline written with the plain API, by its definition: a
/// closure reducer over the window, then a filter on the output.
pub fn with_plain_api(
    conf: StreamingConf,
    queue: BatchQueue<String>,
    checkpoint: &Path,
) -> streaming::Result<(StreamingContext, DStream<(String, i64)>)> {
    let ssc = StreamingContext::new(conf.batch_interval(Duration::from_secs(1)))?;
    ssc.checkpoint(checkpoint)?;
    let pairs = ssc
        .queue_stream(queue, true)
        .flat_map(|line: String| line.split(' ').map(str::to_string).collect::<Vec<_>>())
        .map(|word| (word, 1i64));
    let counts = pairs
        .reduce_by_key_and_window(|a, b| a + b, Duration::from_secs(3), Duration::from_secs(1))
        .filter(|(_, n)| *n > 1);
    counts.print();
    Ok((ssc, counts))
}

/// Five batches of words.
pub fn sample_queue() -> BatchQueue<String> {
    let queue = BatchQueue::new();
    for line in ["a b a", "b c", "c c d", "d", "e"] {
        queue.push(vec![line.to_string()]);
    }
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
    let dir = std::env::temp_dir().join(format!("dsl-windowed-count-{}", std::process::id()));
    let conf = StreamingConf::new()
        .master("local[*]")
        .app_name("WindowedCount");
    let (ssc, _counts) = with_dsl(conf, sample_queue(), &dir)?;
    ssc.start()?;
    ssc.await_termination_or_timeout(Duration::from_millis(7_500))?;
    ssc.stop(StopMode::Graceful);
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
