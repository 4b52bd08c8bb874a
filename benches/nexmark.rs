//! Nexmark on DStreams (#15): `cargo bench --bench nexmark [-- --events N --rate R --queries q0,q5]`.
//!
//! For each query (the `stream!` forms of `streaming_nexmark::dsl`), in a
//! child process of its own (so that its peak memory is its own): N events
//! (default 10,000,000; env `NEXMARK_EVENTS` too) of the `nexmark` crate's
//! generator at an event-time rate of R events/s (default 200,000: 1 s
//! batches of 200,000 events, 50 batches for 10 M events), replayed into
//! batches by event time on a manual clock, on `local[2]` (this machine's 2
//! cores). Each batch's events are generated before its time comes, outside
//! the measured time (the generator's own speed is printed apart); then the
//! clock advances and the batch runs. Printed per query:
//! - events/s per core: events / (sum of batch latencies) / cores;
//! - per-batch latency p50 / p99 over the batches holding events: from the
//!   clock's advance to the batch's completion (the whole batch: input,
//!   every operator, the output);
//! - peak memory: the child's peak resident set (`VmHWM`), generator and
//!   one batch of events included.
//!
//! Then start-up: from `StreamingContext::new` to the end of the first
//! batch (10 ms batches on the system clock, UI server on, port 0), as
//! users run it, over 20 fresh contexts.
//!
//! Every run uses mimalloc, as the other benches do.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use streaming::prelude::*;
use streaming::{BatchInfo, Data, QueueSource};
use streaming_nexmark::drive::{drive, manual_conf};
use streaming_nexmark::dsl::{self, Built};
use streaming_nexmark::replay::partitioned;
use streaming_nexmark::{Event, NexmarkSpec, Replay};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CORES: usize = 2;
const QUERIES: [&str; 8] = ["q0", "q1", "q2", "q3", "q4", "q5", "q7", "q8"];
/// Batches after the last event's, so that windows and auctions close.
const DRAIN: u64 = 10;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let events: u64 = arg(&args, "--events")
        .or_else(|| std::env::var("NEXMARK_EVENTS").ok())
        .map(|s| s.parse().expect("--events N"))
        .unwrap_or(10_000_000);
    let rate: usize = arg(&args, "--rate")
        .map(|s| s.parse().expect("--rate R"))
        .unwrap_or(200_000);
    let spec = NexmarkSpec {
        events,
        events_per_second: rate,
        batch_interval: Duration::from_secs(1),
        base_time: 0,
        partitions: CORES,
    };
    spec.validate().expect("valid spec");
    if let Some(q) = arg(&args, "--child") {
        child(&q, &spec);
        return;
    }
    let queries: Vec<String> = arg(&args, "--queries")
        .map(|s| s.split(',').map(str::to_string).collect())
        .unwrap_or_else(|| QUERIES.iter().map(|q| q.to_string()).collect());

    println!(
        "nexmark: {events} events at {rate} events/s of event time, 1 s batches, local[{CORES}]"
    );
    println!(
        "generator alone: {:.2} M events/s (not in the figures below)",
        generator_speed(&spec) / 1e6
    );
    println!();
    println!("| query | events/s per core | batch latency p50 / p99 | peak memory | results |");
    println!("|---|---|---|---|---|");
    let exe = std::env::current_exe().expect("bench executable");
    for q in &queries {
        let out = std::process::Command::new(&exe)
            .args([
                "--child",
                q,
                "--events",
                &events.to_string(),
                "--rate",
                &rate.to_string(),
            ])
            .output()
            .expect("run the query's child process");
        let text = String::from_utf8_lossy(&out.stdout);
        match text.lines().find(|l| l.starts_with('|')) {
            Some(row) if out.status.success() => println!("{row}"),
            _ => println!(
                "| {q} | failed: {} | | | |",
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            ),
        }
    }
    println!();
    startup();
}

/// The generator's own speed, events/s, over up to a million events.
fn generator_speed(spec: &NexmarkSpec) -> f64 {
    let probe = NexmarkSpec {
        events: spec.events.min(1_000_000),
        ..spec.clone()
    };
    let mut replay = Replay::new(&probe).expect("valid spec");
    let started = Instant::now();
    let mut n = 0usize;
    while replay.has_more() {
        n += replay.next_batch().len();
    }
    n as f64 / started.elapsed().as_secs_f64()
}

/// Runs query `q` and prints its table row.
fn child(q: &str, spec: &NexmarkSpec) {
    match q {
        "q0" => measure(q, spec, dsl::q0),
        "q1" => measure(q, spec, dsl::q1),
        "q2" => measure(q, spec, dsl::q2),
        "q3" => measure(q, spec, dsl::q3),
        "q4" => measure(q, spec, dsl::q4),
        "q5" => measure(q, spec, dsl::q5),
        "q7" => measure(q, spec, dsl::q7),
        "q8" => measure(q, spec, dsl::q8),
        other => panic!("unknown query {other}"),
    }
}

fn measure<T: Data>(
    q: &str,
    spec: &NexmarkSpec,
    build: fn(StreamingConf, QueueSource<Event>, &std::path::Path) -> Built<T>,
) {
    let dir = tempfile::tempdir().expect("checkpoint dir");
    let queue = BatchQueue::new();
    let (ssc, out) = build(
        manual_conf(&format!("nexmark-{q}"), CORES),
        QueueSource::new(queue.clone(), true),
        dir.path(),
    )
    .expect("query builds");
    let mut replay = Replay::new(spec).expect("valid spec");
    let mut batches = 0;
    let mut probe = Replay::new(spec).expect("valid spec");
    while probe.has_more() {
        probe.next_batch();
        batches += 1;
    }
    drop(probe);
    let run = drive(ssc, &out, batches + DRAIN, false, |_| {
        queue.push(partitioned(replay.next_batch(), CORES));
    })
    .expect("query runs");
    let busy: Duration = run.latencies.iter().sum();
    // Latency over the batches that hold events (the drain batches are
    // nearly empty); throughput over all (they close windows and auctions).
    let mut lat = run.latencies[..batches as usize].to_vec();
    lat.sort();
    let pct = |p: f64| lat[((lat.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3;
    println!(
        "| {q} | {:.2} M | {:.1} / {:.1} ms | {:.0} MiB | {} |",
        spec.events as f64 / busy.as_secs_f64() / CORES as f64 / 1e6,
        pct(0.5),
        pct(0.99),
        peak_rss_mib(),
        run.outputs
    );
}

/// The process's peak resident set, MiB (Linux `VmHWM`; 0 elsewhere).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[derive(Clone, Default)]
struct FirstBatch(Arc<Mutex<Option<Instant>>>);

impl StreamingListener for FirstBatch {
    fn on_batch_completed(&self, _: &BatchInfo) {
        self.0.lock().unwrap().get_or_insert_with(Instant::now);
    }
}

/// Start-up to the first batch, over 20 fresh contexts.
fn startup() {
    let mut times = Vec::new();
    for i in 0..20 {
        let started = Instant::now();
        let conf = StreamingConf::new()
            .app_name(format!("nexmark-startup-{i}"))
            .master(format!("local[{CORES}]"))
            .batch_interval(Duration::from_millis(10))
            .set("spark.ui.port", "0");
        let ssc = StreamingContext::new(conf).expect("context");
        let probe = FirstBatch::default();
        ssc.add_streaming_listener(probe.clone());
        let queue = BatchQueue::new();
        queue.push(
            Replay::new(&NexmarkSpec::default())
                .expect("spec")
                .next_batch(),
        );
        let events = ssc.queue_stream(queue, true);
        streaming_nexmark::queries::q0(&events).foreach_batch(|b, _| {
            b.len();
        });
        ssc.start().expect("start");
        while probe.0.lock().unwrap().is_none() {
            std::thread::sleep(Duration::from_micros(200));
        }
        let first = probe.0.lock().unwrap().unwrap();
        times.push(first - started);
        ssc.stop(StopMode::Immediate);
    }
    times.sort();
    println!(
        "start-up to first batch (new -> first batch completed, 10 ms batches, UI on): p50 {:.1} ms, max {:.1} ms over {} contexts",
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
        times.len()
    );
}
