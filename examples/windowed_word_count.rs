//! A windowed word count (the seed's section 5.3): every second, the count
//! of each word over the last 3 seconds, computed incrementally — the words
//! of the batch that entered the window are added, those of the batch that
//! left are subtracted with the inverse function — and words whose count
//! fell to 0 are dropped from the window's state. Next to it, the number of
//! words in the window (`count_by_window`) and the longest word of the
//! window (`reduce_by_window`, which has no inverse: it combines one partial
//! result per batch).
//!
//! Run it with `cargo run --release --example windowed_word_count`
//! (`-- --batch-ms 200` for a shorter interval). Five queued batches of
//! lines run, then the context stops by itself.

use streaming::prelude::*;

/// The batch interval: 1 s, or `--batch-ms N`.
fn batch_interval() -> Duration {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--batch-ms")
        .and_then(|i| args.get(i + 1))
        .and_then(|ms| ms.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_secs(1))
}

// This job allocates a `String` per word (owned elements); on mimalloc that
// costs about half what it does on the system allocator (README,
// "Performance"), so the example picks it. The library sets no allocator.
// (Not in tests, which include the examples' pipelines as modules.)
#[cfg(not(test))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), StreamingError> {
    let interval = batch_interval();
    let conf = StreamingConf::new()
        .app_name("WindowedWordCount")
        .master("local[*]")
        .batch_interval(interval);
    let ssc = StreamingContext::new(conf)?;
    // Incremental windows keep state, so they need a checkpoint directory.
    let checkpoint = tempfile::tempdir()
        .map_err(|e| StreamingError::io("cannot create a checkpoint directory", e))?;
    ssc.checkpoint(checkpoint.path())?;

    let queue = BatchQueue::new();
    for line in [
        "spark streaming counts words",
        "windows slide over batches",
        "spark windows count words",
        "old batches leave the window",
        "spark",
    ] {
        queue.push(vec![line.to_string()]);
    }
    let words = ssc
        .queue_stream(queue, true)
        .flat_map(|line: String| line.split(' ').map(str::to_string).collect::<Vec<_>>());

    let window = interval * 3;
    let counts = words
        .map(|w| (w, 1u64))
        .reduce_by_key_and_window_inv_filtered(
            |a, b| a + b,
            |a, b| a - b,
            window,
            interval,
            |(_, count)| *count > 0,
        );
    // Most frequent first, then alphabetically.
    counts
        .transform(|batch, _| batch.sort_by(|(w, c)| (std::cmp::Reverse(*c), w.clone())))
        .print();
    words.count_by_window(window, interval).print();
    words
        .reduce_by_window(
            |a, b| {
                if b.len() > a.len() || (b.len() == a.len() && b < a) {
                    b
                } else {
                    a
                }
            },
            window,
            interval,
        )
        .print();

    ssc.start()?;
    let stopper = ssc.clone();
    std::thread::spawn(move || stopper.stop(StopMode::Graceful));
    ssc.await_termination()
}
