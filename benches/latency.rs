//! Latency of small batches: `cargo bench --bench latency [-- --batches N --startups N]`.
//!
//! Prints two figures (and their spread):
//! - the scheduling delay of 10 ms batches (Spark's: from a batch's
//!   submission by the job generator to the start of its processing),
//!   p50 / p99 / max over N batches (default 1000, 10 s), measured with the
//!   monotonic clock by a listener; also the firing lag (from the batch's
//!   time on the system clock to the start of its processing), which
//!   includes the timer's precision;
//! - start-up to first batch: from `StreamingContext::new` (and from
//!   `start`) to the end of the first batch, over N fresh contexts (default
//!   20), each with its UI server on (port 0), as users run.
//!
//! The pipeline is trivial (one record per batch, a no-op output): the
//! figures are the runtime's own overhead.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use streaming::prelude::*;
use streaming::BatchInfo;

const INTERVAL: Duration = Duration::from_millis(10);

#[derive(Default)]
struct Timings {
    submitted: BTreeMap<u64, Instant>,
    /// (scheduling delay, firing lag) per started batch.
    delays: Vec<(Duration, Duration)>,
    first_done: Option<Instant>,
}

#[derive(Clone, Default)]
struct Probe(Arc<Mutex<Timings>>);

impl StreamingListener for Probe {
    fn on_batch_submitted(&self, info: &BatchInfo) {
        let now = Instant::now();
        self.0
            .lock()
            .unwrap()
            .submitted
            .insert(info.batch_time.as_millis(), now);
    }
    fn on_batch_started(&self, info: &BatchInfo) {
        let now = Instant::now();
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let mut t = self.0.lock().unwrap();
        if let Some(sub) = t.submitted.remove(&info.batch_time.as_millis()) {
            let lag = wall.saturating_sub(Duration::from_millis(info.batch_time.as_millis()));
            t.delays.push((now - sub, lag));
        }
    }
    fn on_batch_completed(&self, _: &BatchInfo) {
        let now = Instant::now();
        self.0.lock().unwrap().first_done.get_or_insert(now);
    }
}

fn context(app: &str) -> StreamingContext {
    StreamingContext::new(
        StreamingConf::new()
            .app_name(app)
            .master("local[2]")
            .batch_interval(INTERVAL)
            .set("spark.ui.port", "0"),
    )
    .unwrap()
}

fn pipeline(ssc: &StreamingContext) {
    ssc.input_stream_from_fn(|t| Some(Batch::from(vec![t.as_millis()])))
        .foreach_batch(|b, _| {
            std::hint::black_box(b.len());
        });
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let batches = arg("--batches", 1000);
    let startups = arg("--startups", 20);

    // Start-up to first batch.
    let mut from_new = Vec::new();
    let mut from_start = Vec::new();
    for i in 0..startups {
        let t0 = Instant::now();
        let ssc = context(&format!("startup-{i}"));
        let probe = Probe::default();
        ssc.add_streaming_listener(probe.clone());
        pipeline(&ssc);
        let t1 = Instant::now();
        ssc.start().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let done = loop {
            if let Some(d) = probe.0.lock().unwrap().first_done {
                break d;
            }
            assert!(Instant::now() < deadline, "no first batch within 10 s");
            std::thread::sleep(Duration::from_micros(200));
        };
        from_new.push(done - t0);
        from_start.push(done - t1);
        ssc.stop(StopMode::Immediate);
    }
    from_new.sort();
    from_start.sort();

    // Scheduling delay of 10 ms batches.
    let ssc = context("latency");
    let probe = Probe::default();
    ssc.add_streaming_listener(probe.clone());
    pipeline(&ssc);
    ssc.start().unwrap();
    let deadline = Instant::now() + INTERVAL * (batches as u32) * 3 + Duration::from_secs(10);
    while probe.0.lock().unwrap().delays.len() < batches {
        assert!(Instant::now() < deadline, "batches fell behind");
        std::thread::sleep(Duration::from_millis(50));
    }
    let url = ssc.ui_web_url();
    ssc.stop(StopMode::Immediate);
    let delays = probe.0.lock().unwrap().delays.clone();
    // The first batches run while the process warms up; skip 1%.
    let skip = delays.len() / 100;
    let mut sched: Vec<Duration> = delays[skip..].iter().map(|d| d.0).collect();
    let mut lag: Vec<Duration> = delays[skip..].iter().map(|d| d.1).collect();
    sched.sort();
    lag.sort();

    println!(
        "latency bench: 10 ms batches, local[2], UI on ({})",
        url.unwrap_or_default()
    );
    println!(
        "scheduling delay over {} batches: p50 {}, p99 {}, max {}",
        sched.len(),
        us(quantile(&sched, 0.5)),
        us(quantile(&sched, 0.99)),
        us(*sched.last().unwrap())
    );
    println!(
        "firing lag (batch time -> processing start): p50 {}, p99 {}, max {}",
        us(quantile(&lag, 0.5)),
        us(quantile(&lag, 0.99)),
        us(*lag.last().unwrap())
    );
    println!(
        "start-up to first batch over {} contexts: from new() p50 {:.1} ms, max {:.1} ms; from start() p50 {:.1} ms, max {:.1} ms",
        from_new.len(),
        quantile(&from_new, 0.5).as_secs_f64() * 1e3,
        from_new.last().unwrap().as_secs_f64() * 1e3,
        quantile(&from_start, 0.5).as_secs_f64() * 1e3,
        from_start.last().unwrap().as_secs_f64() * 1e3,
    );
}
