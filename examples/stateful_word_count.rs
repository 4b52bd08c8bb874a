//! The seed's `updateStateByKey` example (section 5.2): a running word
//! count kept across batches.
//!
//! Three queued batches, `[a, b, c]`, `[b, c]`, `[a, a, a]`, go through a
//! queue stream with a 3 s batch interval; each word becomes `(word, 1)` and
//! `update_state_by_key` adds a batch's new values to the word's previous
//! total. A checkpoint directory is required (here a temporary one). It
//! prints, in Spark's layout:
//!
//! ```text
//! batch 1: ("a", 1) ("b", 1) ("c", 1)
//! batch 2: ("a", 1) ("b", 2) ("c", 2)
//! batch 3: ("a", 4) ("b", 2) ("c", 2)
//! ```
//!
//! Spark prints each batch in its hash partitioner's order (`(c,1) (a,1)
//! (b,1)` in the tutorial); here each batch is sorted by word before
//! printing, so the output is the same on every run.
//!
//! Run it with `cargo run --release --example stateful_word_count`
//! (`-- --batch-ms 200` for a shorter interval). It exits by itself once
//! the three batches have run.

use streaming::prelude::*;

/// The update function: new values of a word added to its previous total.
fn running_sum(new_values: &[u64], total: Option<u64>) -> Option<u64> {
    Some(total.unwrap_or(0) + new_values.iter().sum::<u64>())
}

/// The batch interval: 3 s as in the seed, or `--batch-ms N`.
fn batch_interval() -> Duration {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--batch-ms")
        .and_then(|i| args.get(i + 1))
        .and_then(|ms| ms.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_secs(3))
}

// This job allocates a `String` per word (owned elements); on mimalloc that
// costs about half what it does on the system allocator (README,
// "Performance"), so the example picks it. The library sets no allocator.
// (Not in tests, which include the examples' pipelines as modules.)
#[cfg(not(test))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), StreamingError> {
    let conf = StreamingConf::new()
        .app_name("StatefulWordCount")
        .master("local[*]")
        .batch_interval(batch_interval());
    let ssc = StreamingContext::new(conf)?;
    let checkpoint = tempfile::tempdir()
        .map_err(|e| StreamingError::io("cannot create a checkpoint directory", e))?;
    ssc.checkpoint(checkpoint.path())?;

    let queue = BatchQueue::new();
    for batch in [&["a", "b", "c"][..], &["b", "c"], &["a", "a", "a"]] {
        queue.push(batch.iter().map(|w| w.to_string()).collect::<Vec<_>>());
    }

    let totals = ssc
        .queue_stream(queue, true)
        .map(|word: String| (word, 1u64))
        .update_state_by_key(running_sum);
    totals
        .transform(|batch, _| batch.sort_by(|(word, _)| word.clone()))
        .print();

    ssc.start()?;
    // A graceful stop runs every queued batch, then stops the context.
    let stopper = ssc.clone();
    std::thread::spawn(move || stopper.stop(StopMode::Graceful));
    ssc.await_termination()
}
