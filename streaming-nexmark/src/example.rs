//! What the `nexmark_q*` examples share: arguments, the replay, printing.

use std::fmt::Debug;
use std::path::Path;

use streaming::Data;

use crate::drive::{drive, manual_conf};
use crate::dsl::Built;
use crate::{NexmarkSource, NexmarkSpec};

/// Batches run after the last event's, so that every window empties.
pub const DRAIN_BATCHES: u64 = 12;

/// The spec of an example run: `[EVENTS [EVENTS_PER_SECOND]]` from the
/// command line, else the results tests' 2,000 events at 100 events/s.
pub fn spec_from_args(args: &[String]) -> Result<NexmarkSpec, String> {
    let mut spec = NexmarkSpec::default();
    let num = |s: &String| s.parse::<u64>().map_err(|e| format!("{s:?}: {e}"));
    if let Some(n) = args.first() {
        spec.events = num(n)?;
    }
    if let Some(r) = args.get(1) {
        spec.events_per_second = num(r)? as usize;
    }
    spec.validate().map_err(|e| e.to_string())?;
    Ok(spec)
}

/// Runs query `name` built by `build` (a [`crate::dsl`] builder) on the
/// replay of the command line's spec, on a manual clock (as fast as the
/// batches run), printing the first `shown` elements of every batch in
/// Spark's layout, then a summary line.
pub fn run<T: Data + Debug>(
    name: &str,
    shown: usize,
    build: fn(streaming::StreamingConf, NexmarkSource, &Path) -> Built<T>,
) -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let spec = spec_from_args(&args)?;
    let dir = tempfile_dir()?;
    let source = NexmarkSource::new(&spec)?;
    let (ssc, out) = build(manual_conf(&format!("nexmark-{name}"), 2), source, &dir)?;
    out.print_n(shown);
    let batches = spec.batches() + DRAIN_BATCHES;
    let run = drive(ssc, &out, batches, false, |_| {})?;
    std::fs::remove_dir_all(&dir).ok();
    println!(
        "nexmark {name}: {} events in {batches} batches of 1 s event time, {} results",
        spec.events, run.outputs
    );
    Ok(())
}

/// A fresh checkpoint directory under the system's temporary directory.
fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "nexmark-example-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
