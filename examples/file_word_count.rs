//! Word count over a file stream: every 2 s batch reads the text files that
//! appeared in a directory, counts their words, prints the counts and saves
//! them with `save_as_text_files`.
//!
//! ```text
//! cargo run --example file_word_count -- [--demo] [DIR] [--out OUT] [--seconds N]
//! ```
//!
//! - `--demo` (the default when no DIR is given) watches a fresh temporary
//!   directory and writes a new file into it every 700 ms, the way files
//!   should arrive in a watched directory: written under a hidden name, then
//!   renamed. `cargo run --example file_word_count -- --seconds 7`
//! - With DIR, move text files into it while the example runs (files already
//!   there are ignored, as Spark's `textFileStream` does).
//!
//! Counts go to `OUT/wordcounts-<batch time ms>.txt/part-NNNNN` (OUT defaults
//! to a temporary directory in demo mode, `./wordcounts-out` otherwise). With
//! `--seconds N` the example stops after N seconds and lists what it wrote.

use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use streaming::prelude::*;

const TEXT: &[&str] = &[
    "Spark Streaming Sample ssc",
    "Spark Queue Spark API",
    "only new files are picked up",
    "changes to a file already read are not tracked",
];

struct Args {
    dir: Option<PathBuf>,
    out: Option<PathBuf>,
    seconds: Option<u64>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        dir: None,
        out: None,
        seconds: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--demo" => args.dir = None,
            "--out" => args.out = Some(it.next().ok_or("--out needs a directory")?.into()),
            "--seconds" => {
                let n = it.next().ok_or("--seconds needs a number")?;
                args.seconds = Some(n.parse().map_err(|_| format!("bad --seconds {n:?}"))?);
            }
            "-h" | "--help" => {
                return Err(
                    "usage: file_word_count [--demo] [DIR] [--out OUT] [--seconds N]".into(),
                )
            }
            _ => args.dir = Some(a.into()),
        }
    }
    Ok(args)
}

/// Writes a new file into `dir` every 700 ms: under a hidden name, then
/// renamed, so the stream never sees a half-written file.
fn write_files(dir: PathBuf) {
    thread::spawn(move || {
        for i in 0.. {
            let text = format!("{}\n{}\n", TEXT[i % TEXT.len()], TEXT[(i + 1) % TEXT.len()]);
            let hidden = dir.join(format!(".file-{i}.txt"));
            let visible = dir.join(format!("file-{i}.txt"));
            if std::fs::write(&hidden, text).is_err() || std::fs::rename(&hidden, &visible).is_err()
            {
                break;
            }
            thread::sleep(Duration::from_millis(700));
        }
    });
}

fn list_outputs(out: &Path) -> std::io::Result<()> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(out)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    println!(
        "saved {} batch directories under {}",
        dirs.len(),
        out.display()
    );
    if let Some(last) = dirs.last() {
        let mut files: Vec<String> = std::fs::read_dir(last)?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        println!("{}: {}", last.display(), files.join(" "));
    }
    Ok(())
}

// This job allocates a `String` per word (owned elements); on mimalloc that
// costs about half what it does on the system allocator (README,
// "Performance"), so the example picks it. The library sets no allocator.
// (Not in tests, which include the examples' pipelines as modules.)
#[cfg(not(test))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let demo_root = tempfile::tempdir()?;
    let demo = args.dir.is_none();
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| demo_root.path().join("in"));
    std::fs::create_dir_all(&dir)?;
    let out = args.out.clone().unwrap_or_else(|| {
        if demo {
            demo_root.path().join("out")
        } else {
            PathBuf::from("wordcounts-out")
        }
    });
    println!(
        "watching {}; counts saved under {}",
        dir.display(),
        out.display()
    );

    let ssc = StreamingContext::new(
        StreamingConf::new()
            .app_name("FileWordCount")
            .master("local[2]")
            .batch_interval(Duration::from_secs(2)),
    )?;
    let spec = FileStreamSpec::text(&dir);
    let handle = spec.handle();
    let counts = ssc
        .file_stream_with(spec)
        .flat_map(|line: String| {
            line.split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b);
    counts.print();
    counts
        .map(|(w, n)| format!("{w}\t{n}"))
        .save_as_text_files(out.join("wordcounts"), "txt");
    ssc.start()?;
    if demo {
        write_files(dir.clone());
    }
    match args.seconds.or(demo.then_some(7)) {
        Some(s) => {
            ssc.await_termination_or_timeout(Duration::from_secs(s))?;
            ssc.stop(StopMode::Graceful);
            let stats = handle.stats();
            println!(
                "read {} files ({} lines, {} unreadable)",
                stats.files_read(),
                stats.records_read(),
                stats.unreadable_files()
            );
            list_outputs(&out)?;
        }
        None => ssc.await_termination()?,
    }
    Ok(())
}
