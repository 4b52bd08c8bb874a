//! A running word count over a directory of text files that survives being
//! killed: recovered with `StreamingContext::get_or_create`, it counts every
//! word exactly once however often it is stopped, killed and restarted.
//!
//! ```text
//! cargo run --example checkpointed_word_count -- \
//!     [--input DIR] [--output PREFIX] [--checkpoint DIR] \
//!     [--batch-ms N] [--checkpoint-ms N] [--remember-secs N] [--new-files-only]
//! ```
//!
//! - Every batch (`--batch-ms`, default 1000) reads the text files that
//!   appeared in `--input` (default `./wc-input`; move complete files in:
//!   write elsewhere, then rename); the first batch also reads those already
//!   there, unless `--new-files-only` (Spark's default) is given and adds their words to the running
//!   counts, kept by `update_state_by_key` under the name `counts`.
//! - Each batch writes all counts, one `word<TAB>count` line each, to
//!   `PREFIX-<batch time ms>.txt/part-NNNNN` (`--output`, default
//!   `./wc-output/counts`), replacing the directory when a batch runs again
//!   after a recovery.
//! - Checkpoints go to `--checkpoint` (default `./wc-checkpoint`): the
//!   small metadata checkpoint (which files each batch read) at every batch,
//!   the counts every `--checkpoint-ms` (default Spark's: the first multiple
//!   of the batch interval from 10 s). Files stay eligible for
//!   `--remember-secs` (default Spark's 60) after they were modified. With
//!   the defaults nothing is lost or counted twice: recovery restores the
//!   last counts and replays the batches since from the recorded files.
//! - Ctrl-C or SIGTERM stops it gracefully (the running batches complete and
//!   a final checkpoint is written); run it again and it goes on where it
//!   stopped. Killed with SIGKILL, it goes on from its last checkpoint and
//!   re-runs the batches since.
//!
//! The crash test (`tests/crash.rs`) runs this example in a child process
//! and kills it at random moments.

use std::path::PathBuf;

use streaming::prelude::*;

struct Args {
    input: PathBuf,
    output: PathBuf,
    checkpoint: PathBuf,
    batch: Duration,
    checkpoint_interval: Option<Duration>,
    remember: Option<Duration>,
    new_files_only: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        input: "wc-input".into(),
        output: "wc-output/counts".into(),
        checkpoint: "wc-checkpoint".into(),
        batch: Duration::from_secs(1),
        checkpoint_interval: None,
        remember: None,
        new_files_only: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| -> Result<u64, String> {
            v.parse().map_err(|_| format!("{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "--input" => args.input = value()?.into(),
            "--output" => args.output = value()?.into(),
            "--checkpoint" => args.checkpoint = value()?.into(),
            "--batch-ms" => args.batch = Duration::from_millis(number(value()?)?),
            "--checkpoint-ms" => {
                args.checkpoint_interval = Some(Duration::from_millis(number(value()?)?))
            }
            "--new-files-only" => args.new_files_only = true,
            "--remember-secs" => args.remember = Some(Duration::from_secs(number(value()?)?)),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

/// Builds the pipeline: what `get_or_create` calls, whether or not there is
/// a checkpoint to recover.
fn create(args: &Args) -> Result<StreamingContext, StreamingError> {
    let conf = StreamingConf::new()
        .app_name("CheckpointedWordCount")
        .master("local[2]")
        .batch_interval(args.batch)
        .stop_gracefully_on_shutdown(true);
    let ssc = StreamingContext::new(conf)?;
    ssc.checkpoint(&args.checkpoint)?;
    std::fs::create_dir_all(&args.input)
        .map_err(|e| StreamingError::io(format!("cannot create {}", args.input.display()), e))?;
    let mut files = FileStreamSpec::text(&args.input).new_files_only(args.new_files_only);
    if let Some(remember) = args.remember {
        files = files.min_remember(remember);
    }
    let counts = ssc
        .file_stream_with(files)
        .flat_map(|line: String| {
            line.split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .map(|word: String| (word, 1u64))
        .update_state_by_key(|new: &[u64], total: Option<u64>| {
            Some(total.unwrap_or(0) + new.iter().sum::<u64>())
        })
        .name("counts");
    if let Some(interval) = args.checkpoint_interval {
        counts.checkpoint(interval);
    }
    counts
        .map(|(word, n): (String, u64)| format!("{word}\t{n}"))
        .save_as_text_files(&args.output, "txt");
    Ok(ssc)
}

// This job allocates a `String` per word (owned elements); on mimalloc that
// costs about half what it does on the system allocator (README,
// "Performance"), so the example picks it. The library sets no allocator.
// (Not in tests, which include the examples' pipelines as modules.)
#[cfg(not(test))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), StreamingError> {
    let args = parse_args().map_err(StreamingError::Config)?;
    let ssc = StreamingContext::get_or_create(&args.checkpoint, || create(&args))?;
    match ssc.recovered_from() {
        Some(time) => eprintln!("recovered from the checkpoint of {time}"),
        None => eprintln!("no checkpoint: started afresh"),
    }
    ssc.start()?;
    ssc.await_termination()?;
    eprintln!("stopped");
    Ok(())
}
