//! Compile-time cost of `stream!`: the same 20-operator pipeline written
//! with `stream!` and with the plain API, each a binary of a scratch crate
//! (under `target/compile-probe/`) that depends on this workspace. The
//! dependencies are built once (untimed); then each binary is rebuilt
//! after touching its source, `COMPILE_RUNS` times (default 5), round-robin,
//! and the median rebuild times are printed with their difference.
//!
//! `cargo bench --bench compile_time` (the first run builds the
//! dependencies of the scratch crate, a few minutes on 2 cores).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The same pipeline in both programs: 20 operators (an input, 18
/// transformations over narrow, shuffle, window, state and join, an output).
const DSL: &str = r#"
use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let queue: BatchQueue<String> = BatchQueue::new();
    let (_ssc, out) = stream! {
        context(batch = 1s, checkpoint = "/tmp/compile-probe");
        let lines = queue_stream(queue, true);
        let words = lines.flat_map(|l: &str| l.split(' ')).filter(|w: &&str| !w.is_empty()).map(|w: &str| (w, 1i64));
        let counts = words.reduce_by_key(sum);
        let windowed = counts.map_values(|n| n * 2).reduce_by_key_and_window(sum, 30s, 10s);
        let state = counts.update_state_by_key(|vs: &[i64], s: Option<i64>| Some(s.unwrap_or(0) + vs.iter().sum::<i64>()));
        let joined = windowed.join(&state.window(10s, 10s)).map(|(w, (a, b))| (w, a + b)).filter(|(_, n)| *n > 1);
        let lengths = lines.map(|l: String| l.len()).count_by_value().map(|(n, c)| (n.to_string(), c as i64));
        let out = joined.union(&lengths.window(10s, 10s)).map_values(|n| n + 1).group_by_key().map(|(w, ns)| (w, ns.len()));
        out.print();
        out
    }?;
    drop(out);
    Ok(())
}
"#;

const PLAIN: &str = r#"
use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let queue: BatchQueue<String> = BatchQueue::new();
    let ssc = StreamingContext::new(StreamingConf::new().app_name("probe").master("local[*]").batch_interval(Duration::from_secs(1)))?;
    ssc.checkpoint("/tmp/compile-probe")?;
    let lines = ssc.queue_stream(queue, true);
    let words = lines.flat_map(|l: String| l.split(' ').map(str::to_string).collect::<Vec<_>>()).filter(|w| !w.is_empty()).map(|w| (w, 1i64));
    let counts = words.reduce_by_key(|a, b| a + b);
    let windowed = counts.map_values(|n| n * 2).reduce_by_key_and_window(|a, b| a + b, Duration::from_secs(30), Duration::from_secs(10));
    let state = counts.update_state_by_key(|vs: &[i64], s: Option<i64>| Some(s.unwrap_or(0) + vs.iter().sum::<i64>()));
    let joined = windowed.join(&state.window(Duration::from_secs(10), Duration::from_secs(10))).map(|(w, (a, b))| (w, a + b)).filter(|(_, n)| *n > 1);
    let lengths = lines.map(|l: String| l.len()).count_by_value().map(|(n, c)| (n.to_string(), c as i64));
    let out = joined.union(&lengths.window(Duration::from_secs(10), Duration::from_secs(10))).map_values(|n| n + 1).group_by_key().map(|(w, ns)| (w, ns.len()));
    out.print();
    drop(out);
    Ok(())
}
"#;

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Writes the scratch crate and returns its directory.
fn scratch(workspace: &Path) -> PathBuf {
    let dir = workspace.join("target/compile-probe");
    std::fs::create_dir_all(dir.join("src/bin")).unwrap();
    let manifest = format!(
        "[package]\nname = \"compile-probe\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\nstreaming = {{ path = {:?} }}\n\n[workspace]\n",
        workspace.display().to_string()
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(dir.join("src/bin/dsl.rs"), DSL).unwrap();
    std::fs::write(dir.join("src/bin/plain.rs"), PLAIN).unwrap();
    dir
}

/// Builds binary `bin` of the scratch crate; returns the wall time.
fn build(dir: &Path, bin: &str) -> Duration {
    let start = Instant::now();
    let status = cargo()
        .args(["build", "--quiet", "--bin", bin])
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success(), "building {bin} failed");
    start.elapsed()
}

fn touch(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    std::fs::write(path, text).unwrap();
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let runs: usize = std::env::var("COMPILE_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = scratch(&workspace);
    println!("building the scratch crate's dependencies (untimed)...");
    build(&dir, "dsl");
    build(&dir, "plain");
    let (mut dsl, mut plain) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        touch(&dir.join("src/bin/dsl.rs"));
        dsl.push(build(&dir, "dsl"));
        touch(&dir.join("src/bin/plain.rs"));
        plain.push(build(&dir, "plain"));
    }
    let (d, p) = (median(dsl), median(plain));
    println!(
        "compile time of a 20-operator pipeline (debug build of the binary, median of {runs}):"
    );
    println!("  plain API  {:>8.2} s", p.as_secs_f64());
    println!("  stream!    {:>8.2} s", d.as_secs_f64());
    println!(
        "  stream! extra: {:+.2} s ({:.2}x)",
        d.as_secs_f64() - p.as_secs_f64(),
        d.as_secs_f64() / p.as_secs_f64()
    );
}
