//! The Rust side of the Spark comparison (`scripts/spark-nexmark.sh`): runs
//! one Nexmark query (plain API, `streaming_nexmark::queries`) on the batch
//! files written by `nexmark_export`, as the PySpark job does: batch `N`
//! reads `batch-NNNNNN.tsv`, parses its lines into events and runs the
//! query; the output counts the results. `local[2]`, 1 s batches, manual
//! clock; prints `RESULT <query> <events> <seconds of batch processing> <results>`.
//!
//! Run: `cargo run --release --example nexmark_files -- DIR q0|q1|q2|q5|q7`

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use streaming::prelude::*;
use streaming::Data;
use streaming_nexmark::drive::{drive, manual_conf};
use streaming_nexmark::queries;
use streaming_nexmark::text::parse_line;
use streaming_nexmark::Event;

// On mimalloc, as the project's benches run (see README "Performance").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Batches after the files', so that windows empty (as the PySpark job).
const DRAIN: u64 = 10;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, query) = match &args[..] {
        [d, q] => (PathBuf::from(d), q.clone()),
        _ => return Err("usage: nexmark_files DIR q0|q1|q2|q5|q7".into()),
    };
    match query.as_str() {
        "q0" => run(&dir, &query, queries::q0),
        "q1" => run(&dir, &query, queries::q1),
        "q2" => run(&dir, &query, queries::q2),
        "q5" => run(&dir, &query, queries::q5),
        "q7" => run(&dir, &query, queries::q7),
        other => Err(format!("unknown query {other}").into()),
    }
}

fn run<T: Data>(
    dir: &std::path::Path,
    name: &str,
    query: fn(&DStream<Event>) -> DStream<T>,
) -> Result<(), Box<dyn std::error::Error>> {
    let files = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tsv"))
        .count() as u64;
    let ssc = StreamingContext::new(
        manual_conf(&format!("nexmark-files-{name}"), 2).batch_interval(Duration::from_secs(1)),
    )?;
    let root = dir.to_path_buf();
    // Events read, counted as the files are read (a second consumer of the
    // event stream would make the runtime materialize it).
    let total = Arc::new(AtomicU64::new(0));
    let t = total.clone();
    let lines = ssc.input_stream_from_fn(move |time: Time| {
        let path = root.join(format!("batch-{:06}.tsv", time.as_millis() / 1000));
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        t.fetch_add(lines.len() as u64, Ordering::Relaxed);
        let half = lines.len() / 2;
        let mut first = lines;
        let second = first.split_off(half);
        Some(Batch::from_partitions(vec![first, second]))
    });
    let events = lines.flat_map(|line: String| parse_line(&line).ok());
    let out = query(&events);
    let read = events.count();
    let total = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let t = total.clone();
    read.foreach_batch(move |b, _| {
        t.fetch_add(
            b.collect().into_iter().sum::<u64>(),
            std::sync::atomic::Ordering::Relaxed,
        );
    });
    let run = drive(ssc, &out, files + DRAIN, false, |_| {})?;
    let busy: Duration = run.latencies.iter().sum();
    println!(
        "RESULT {name} {} {:.3} {}",
        total.load(Ordering::Relaxed),
        busy.as_secs_f64(),
        run.outputs
    );
    Ok(())
}
