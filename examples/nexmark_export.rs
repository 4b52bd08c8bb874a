//! Writes Nexmark events to files, one per batch of event time, for the
//! Spark comparison (`scripts/spark-nexmark.sh`): `DIR/batch-NNNNNN.tsv`
//! holds the events of `[(N-1)·1 s, N·1 s)`, one per line
//! (`streaming_nexmark::text`).
//!
//! Run: `cargo run --release --example nexmark_export -- DIR [EVENTS [EVENTS_PER_SECOND]]`

use std::io::Write;

use streaming_nexmark::example::spec_from_args;
use streaming_nexmark::text::to_line;
use streaming_nexmark::Replay;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args
        .first()
        .ok_or("usage: nexmark_export DIR [EVENTS [EVENTS_PER_SECOND]]")?;
    let spec = spec_from_args(&args[1..])?;
    std::fs::create_dir_all(dir)?;
    let mut replay = Replay::new(&spec)?;
    let mut n = 0;
    while replay.has_more() {
        n += 1;
        let path = std::path::Path::new(dir).join(format!("batch-{n:06}.tsv"));
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        for e in replay.next_batch() {
            writeln!(out, "{}", to_line(&e))?;
        }
        out.flush()?;
    }
    println!("{} events in {n} batch files under {dir}", spec.events);
    Ok(())
}
