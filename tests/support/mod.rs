//! Helpers shared by several test files (`mod support;` in each).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use streaming::prelude::*;
use streaming::ManualClock;

/// A context of 1 s batches on `local[2]`, driven by a manual clock that
/// starts at `from_ms`, checkpointing into `dir`.
pub fn manual_context_at(dir: &Path, from_ms: u64) -> StreamingContext {
    let ssc = StreamingContext::new(
        StreamingConf::new()
            .master("local[2]")
            .batch_interval(Duration::from_secs(1))
            .manual_clock(ManualClock::starting_at(Time::from_millis(from_ms))),
    )
    .unwrap();
    ssc.checkpoint(dir).unwrap();
    ssc
}

/// An input stream of 1 s batches whose batch `i` (at `i` seconds) is
/// `input[i - 1]`, and none past the end.
pub fn fed<T: Data>(ssc: &StreamingContext, input: Vec<Vec<T>>) -> DStream<T> {
    ssc.input_stream_from_fn(move |t| {
        input
            .get(t.as_millis() as usize / 1000 - 1)
            .cloned()
            .map(Batch::from)
    })
}

/// Each batch sorted (for operations whose order within a batch is not
/// defined).
pub fn sorted<T: Ord>(batches: Vec<Vec<T>>) -> Vec<Vec<T>> {
    batches
        .into_iter()
        .map(|mut b| {
            b.sort();
            b
        })
        .collect()
}

/// The example `name` next to this test binary, (re)built with `features`
/// in this test's profile (`cargo test --release` looks in
/// `target/release`), a no-op when it is up to date. `cargo test` builds
/// examples, but `cargo test --test X` does not and would leave a stale one.
pub fn example_binary(name: &str, features: &[&str]) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "--quiet", "--example", name])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    for f in features {
        cmd.args(["--features", f]);
    }
    if profile_dir.file_name().is_some_and(|p| p == "release") {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("cargo build");
    assert!(status.success(), "building example {name} failed");
    let path = profile_dir.join("examples").join(name);
    assert!(path.exists(), "{} was not built", path.display());
    path
}
