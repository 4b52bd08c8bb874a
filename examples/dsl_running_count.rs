//! The seed's `updateStateByKey` example with `stream!`: a running count per
//! word across batches. Batches `[a, b, c]`, `[b, c]`, `[a, a, a]` print
//! `(a,1) (b,1) (c,1)`, then `(a,1) (b,2) (c,2)`, then `(a,4) (b,2) (c,2)`
//! (in some order). State needs a checkpoint directory.
//!
//! Run: `cargo run --example dsl_running_count`

use std::path::Path;
use streaming::prelude::*;

/// The running count: new values of a key added to its previous total.
fn running_sum(new: &[u64], total: Option<u64>) -> Option<u64> {
    Some(total.unwrap_or(0) + new.iter().sum::<u64>())
}

/// The running counts built with `stream!` (also printed).
pub fn with_dsl(
    conf: StreamingConf,
    queue: BatchQueue<String>,
    checkpoint: &Path,
) -> streaming::Result<(StreamingContext, DStream<(String, u64)>)> {
    stream! {
        context(conf = conf, batch = 1s, checkpoint = checkpoint);
        let pairs = queue_stream(queue, true).map(|word: String| (word, 1u64));
        let totals = pairs.update_state_by_key(running_sum);
        totals.print();
        totals
    }
}

/// The same pipeline written with the plain API.
pub fn with_plain_api(
    conf: StreamingConf,
    queue: BatchQueue<String>,
    checkpoint: &Path,
) -> streaming::Result<(StreamingContext, DStream<(String, u64)>)> {
    let ssc = StreamingContext::new(conf.batch_interval(Duration::from_secs(1)))?;
    ssc.checkpoint(checkpoint)?;
    let pairs = ssc
        .queue_stream(queue, true)
        .map(|word: String| (word, 1u64));
    let totals = pairs.update_state_by_key(running_sum);
    totals.print();
    Ok((ssc, totals))
}

/// The seed's three batches.
pub fn seed_queue() -> BatchQueue<String> {
    let queue = BatchQueue::new();
    for batch in [&["a", "b", "c"][..], &["b", "c"], &["a", "a", "a"]] {
        queue.push(batch.iter().map(|w| w.to_string()).collect::<Vec<_>>());
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
    let dir = std::env::temp_dir().join(format!("dsl-running-count-{}", std::process::id()));
    let conf = StreamingConf::new()
        .master("local[*]")
        .app_name("RunningCount");
    let (ssc, _totals) = with_dsl(conf, seed_queue(), &dir)?;
    ssc.start()?;
    ssc.await_termination_or_timeout(Duration::from_millis(3_500))?;
    ssc.stop(StopMode::Graceful);
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
