//! The live Streaming page: a stateful word count over generated lines
//! (their volume rises and falls), 200 ms batches, with the UI a running
//! context serves (Spark's Streaming tab, REST API and Prometheus metrics).
//!
//! ```text
//! cargo run --release --example streaming_ui -- [--port P] [--seconds N]
//! ```
//!
//! Open the printed address (`http://127.0.0.1:4040/streaming/` by default;
//! `--port 0` picks a free port): the charts fill as batches run. Also try
//! `/api/v1/applications`, `/metrics`. With `--seconds N` it stops
//! gracefully after N seconds; otherwise it runs until interrupted.

use std::io::Write;
use std::time::Duration;

use streaming::prelude::*;

const WORDS: &[&str] = &[
    "spark",
    "streaming",
    "batch",
    "dstream",
    "window",
    "state",
    "rust",
    "rayon",
    "tokio",
    "kafka",
];

// This job allocates a `String` per word (owned elements); on mimalloc that
// costs about half what it does on the system allocator (README,
// "Performance"), so the example picks it. The library sets no allocator.
// (Not in tests, which include the examples' pipelines as modules.)
#[cfg(not(test))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut port = "4040".to_string();
    let mut seconds = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => port = args.next().ok_or("--port needs a number")?,
            "--seconds" => {
                seconds = Some(
                    args.next()
                        .ok_or("--seconds needs a number")?
                        .parse::<u64>()?,
                )
            }
            _ => {
                return Err(
                    format!("usage: streaming_ui [--port P] [--seconds N]; got {a:?}").into(),
                )
            }
        }
    }
    let dir = std::env::temp_dir().join(format!("streaming-ui-example-{}", std::process::id()));
    let ssc = StreamingContext::new(
        StreamingConf::new()
            .app_name("StreamingUiExample")
            .master("local[2]")
            .batch_interval(Duration::from_millis(200))
            .set("spark.ui.port", port)
            .stop_gracefully_on_shutdown(true),
    )?;
    ssc.checkpoint(&dir)?;
    let lines = ssc.input_stream_from_fn(|t| {
        // 200 to 2 200 lines a batch, in a wave of about 6 s.
        let phase = (t.as_millis() / 200) as f64 / 5.0;
        let n = 1200.0 + 1000.0 * phase.sin();
        let lines: Vec<String> = (0..n as usize)
            .map(|i| {
                (0..8)
                    .map(|j| WORDS[(i * 7 + j * 3 + t.as_millis() as usize / 200) % WORDS.len()])
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        Some(Batch::from(lines))
    });
    let counts = lines
        .flat_map(|l: String| l.split(' ').map(str::to_string).collect::<Vec<_>>())
        .map(|w: String| (w, 1u64))
        .reduce_by_key(|a, b| a + b)
        .update_state_by_key(|new: &[u64], old: Option<u64>| {
            Some(old.unwrap_or(0) + new.iter().sum::<u64>())
        })
        .name("word totals");
    counts.foreach_batch(|b, _| {
        std::hint::black_box(b.len());
    });
    ssc.start()?;
    match ssc.ui_web_url() {
        Some(url) => println!("Streaming UI: {url}/streaming/"),
        None => println!("Streaming UI: disabled or its port was taken"),
    }
    std::io::stdout().flush()?;
    let result = match seconds {
        Some(s) => {
            if !ssc.await_termination_or_timeout(Duration::from_secs(s))? {
                ssc.stop(StopMode::Graceful);
            }
            Ok(())
        }
        None => ssc.await_termination(),
    };
    let _ = std::fs::remove_dir_all(&dir);
    Ok(result?)
}
