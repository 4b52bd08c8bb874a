//! Flat batch times (issue #17) and windowed keyed counts by window length.
//!
//! `cargo bench --bench windows` runs the job of issue #17 and prints the
//! distribution of its batch times: a windowed word count, 40 batches of
//! 50,000 lines of 10 words from a 100,000-word vocabulary with Zipf
//! frequencies (exponent 1.0), 1 s batches, a window of 30 batches sliding
//! by one, two input partitions, `local[2]`, a checkpoint directory and
//! nothing else configured (so a state checkpoint every 10 batches). Four
//! variants: the inverse path (`reduce_by_key_and_window_inv(+, -)`) and
//! the pane path (`reduce_by_key_and_window(+)`), each through the plain
//! API and through `stream!`; the inverse path through the plain API on
//! `SharedStr` lines (issue #15), with the hand-written limit of the same
//! job interleaved batch by batch (each of its batches just before the
//! variant's, while the context idles) and the issue #15 target ratio
//! printed. `stream!`'s windowed `sum` on borrowed words (issue #11) runs
//! side by side with a second run of the plain closure form (the pane
//! path), batch by batch, which goes first alternating, so that the
//! target ratio compares the two under the same load. Then
//! `update_state_by_key` and
//! `map_with_state` holding 1 M keys with 1 % of them updated per batch.
//! For each: p50, p99 and max processing time, and the max scheduling
//! delay (from the clock tick to the batch's start: what a state or
//! metadata checkpoint holds the executor for).
//!
//! Batches are driven by the manual clock, one tick per second of real
//! time as the job's 1 s batches would be (`WINDOWS_BENCH_PACE_MS` changes
//! it; 0 runs them back to back), so the whole run takes about 4 minutes;
//! the checkpoint writer thread runs concurrently, as on a real clock.
//!
//! `-- --scaling` instead runs the older table: per-batch time and memory
//! of the three window paths (inverse, pane, naive recomputation) for
//! windows of 10, 100 and 1000 batches (`--quick` skips 1000).

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault};
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rustc_hash::{FxBuildHasher, FxHasher};
use streaming::prelude::*;
use streaming::testing::TestConfig;
use streaming::{BatchInfo, ManualClock, StreamingListener};

#[path = "support/alloc.rs"]
mod alloc;

/// The system allocator (mimalloc when built with
/// `BENCH_ALLOCATOR=mimalloc`), counting live bytes for the `--scaling`
/// table only.
#[global_allocator]
static ALLOC: alloc::BenchAlloc = alloc::BenchAlloc;

// ------------------------------------------------------------ issue #17 job

const JOB_BATCHES: usize = 40;
const LINES: usize = 50_000;
const WORDS_PER_LINE: usize = 10;
const VOCABULARY: usize = 100_000;
const WINDOW: u64 = 30;

/// xorshift64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The job's input: `JOB_BATCHES` batches of `LINES` lines in two
/// partitions, words drawn from a Zipf(1.0) vocabulary.
fn zipf_lines() -> Vec<Vec<Vec<String>>> {
    let words: Vec<String> = (0..VOCABULARY).map(|r| format!("w{r:x}")).collect();
    let mut cumulative = Vec::with_capacity(VOCABULARY);
    let mut total = 0.0;
    for r in 1..=VOCABULARY {
        total += 1.0 / r as f64;
        cumulative.push(total);
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..JOB_BATCHES)
        .map(|_| {
            let lines: Vec<String> = (0..LINES)
                .map(|_| {
                    let mut line = String::new();
                    for i in 0..WORDS_PER_LINE {
                        let x = rng.unit() * total;
                        let r = cumulative.partition_point(|&c| c < x).min(VOCABULARY - 1);
                        if i > 0 {
                            line.push(' ');
                        }
                        line.push_str(&words[r]);
                    }
                    line
                })
                .collect();
            let half = lines.len() / 2;
            let mut lines = lines;
            let second = lines.split_off(half);
            vec![lines, second]
        })
        .collect()
}

/// Per batch: processing time (ms) and scheduling delay (ms, from the
/// clock tick to the batch's start), in batch order.
#[derive(Clone, Default)]
struct BatchTimes {
    ticked: Arc<Mutex<Option<Instant>>>,
    started: Arc<Mutex<Option<Instant>>>,
    rows: Arc<Mutex<Vec<(f64, f64)>>>,
}

impl BatchTimes {
    fn tick(&self, clock: &ManualClock) {
        *self.ticked.lock().unwrap() = Some(Instant::now());
        clock.advance(Duration::from_secs(1));
    }
}

impl StreamingListener for BatchTimes {
    fn on_batch_started(&self, _: &BatchInfo) {
        *self.started.lock().unwrap() = Some(Instant::now());
    }
    fn on_batch_completed(&self, _: &BatchInfo) {
        let started = self.started.lock().unwrap().take();
        let ticked = self.ticked.lock().unwrap().take();
        if let (Some(s), Some(t)) = (started, ticked) {
            let processing = s.elapsed().as_secs_f64() * 1e3;
            let delay = s.saturating_duration_since(t).as_secs_f64() * 1e3;
            self.rows.lock().unwrap().push((processing, delay));
        }
    }
}

/// Milliseconds between clock ticks: the batch interval of the job (1 s),
/// so that, as on a real clock, the executor idles between batches;
/// `WINDOWS_BENCH_PACE_MS=0` runs batches back to back.
fn pace() -> Duration {
    let ms = std::env::var("WINDOWS_BENCH_PACE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    Duration::from_millis(ms)
}

/// Runs `batches` batches of a started context, one at a time, one clock
/// tick per [`pace`] (or as soon as the previous batch completed, when it
/// took longer).
fn drive(ssc: &StreamingContext, times: &BatchTimes, batches: usize) -> Vec<(f64, f64)> {
    drive_with(ssc, times, batches, &mut |_| {})
}

/// [`drive`], calling `before(i)` just before ticking batch `i` (while the
/// context is idle: the previous batch has completed).
fn drive_with(
    ssc: &StreamingContext,
    times: &BatchTimes,
    batches: usize,
    before: &mut dyn FnMut(usize),
) -> Vec<(f64, f64)> {
    paced(batches, |i| {
        before(i);
        step(ssc, times, i);
    });
    ssc.stop(StopMode::Graceful);
    let rows = times.rows.lock().unwrap().clone();
    rows
}

/// Calls `run(i)` for batches `1..=batches`, one per [`pace`] (or as soon
/// as the previous one returned, when it took longer).
fn paced(batches: usize, mut run: impl FnMut(usize)) {
    let (start, pace) = (Instant::now(), pace());
    for i in 1..=batches {
        let due = start + pace * (i as u32 - 1);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        run(i);
    }
}

/// Ticks batch `i` of `ssc` and waits for it.
fn step(ssc: &StreamingContext, times: &BatchTimes, i: usize) {
    let clock = ssc.manual_clock().expect("manual clock");
    times.tick(&clock);
    ssc.await_batch_completion(Time::from_millis(i as u64 * 1000), Duration::from_secs(600))
        .expect("batch");
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// What the table shows for one variant.
struct Distribution {
    p50: f64,
    p99: f64,
    max: f64,
    max_delay: f64,
}

fn distribution(processing: &[f64], delays: &[f64]) -> Distribution {
    let mut p = processing.to_vec();
    p.sort_by(f64::total_cmp);
    Distribution {
        p50: percentile(&p, 0.5),
        p99: percentile(&p, 0.99),
        max: *p.last().expect("batches"),
        max_delay: delays.iter().copied().fold(0.0, f64::max),
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum JobPath {
    Inverse,
    Pane,
    /// `stream!`'s built-in `sum` on borrowed words (issue #11): the chain
    /// runs in a per-batch combine, then the exact windowed sum. Through
    /// the plain API it is the closure form, the pane path.
    Sum,
}

fn job_conf() -> StreamingConf {
    StreamingConf::new()
        .app_name("FlatBatches")
        .master("local[2]")
        .batch_interval(Duration::from_secs(1))
        .manual_clock(ManualClock::new())
}

fn split_words(line: String) -> Vec<String> {
    line.split(' ').map(str::to_string).collect()
}

/// The plain-API job.
fn plain_job(
    path: JobPath,
    queue: BatchQueue<String>,
    dir: &std::path::Path,
) -> (StreamingContext, DStream<(String, i64)>) {
    let ssc = StreamingContext::new(job_conf()).expect("context");
    ssc.checkpoint(dir).expect("checkpoint directory");
    let pairs = ssc
        .queue_stream(queue, true)
        .flat_map(split_words)
        .map(|w| (w, 1i64));
    let (w, s) = (Duration::from_secs(WINDOW), Duration::from_secs(1));
    let counts = match path {
        JobPath::Inverse => pairs.reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, w, s),
        JobPath::Pane | JobPath::Sum => pairs.reduce_by_key_and_window(|a, b| a + b, w, s),
    };
    (ssc, counts)
}

/// The same job through `stream!`.
fn dsl_job(
    path: JobPath,
    queue: BatchQueue<String>,
    dir: &std::path::Path,
) -> (StreamingContext, DStream<(String, i64)>) {
    let conf = job_conf();
    let built: streaming::Result<(StreamingContext, DStream<(String, i64)>)> = match path {
        JobPath::Inverse => stream! {
            context(conf = conf, checkpoint = dir);
            let counts = queue_stream(queue, true)
                .flat_map(split_words)
                .map(|w| (w, 1i64))
                .reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 30s, 1s);
            counts
        },
        JobPath::Sum => stream! {
            // The batch interval written here (as in `conf`) lets the
            // compiler see that the window slides by one batch, so the
            // borrowing chain can run inside the per-batch combine.
            context(conf = conf, batch = 1s, checkpoint = dir);
            let counts = queue_stream(queue, true)
                .flat_map(|l: &str| l.split(' '))
                .map(|w: &str| (w, 1i64))
                .reduce_by_key_and_window(sum, 30s, 1s);
            counts
        },
        JobPath::Pane => stream! {
            context(conf = conf, checkpoint = dir);
            let counts = queue_stream(queue, true)
                .flat_map(split_words)
                .map(|w| (w, 1i64))
                .reduce_by_key_and_window(|a: i64, b: i64| a + b, 30s, 1s);
            counts
        },
    };
    built.expect("stream! context")
}

struct JobRun {
    name: String,
    rows: Vec<(f64, f64)>,
    /// Per-batch output: total count over the window (a check that every
    /// variant computed the same windows).
    totals: Vec<i64>,
}

/// Collects each window's total count (the check that every variant
/// computes the same windows) and times the batches of `ssc`.
fn watch<K: Data>(
    ssc: &StreamingContext,
    counts: &DStream<(K, i64)>,
) -> (Arc<Mutex<Vec<i64>>>, BatchTimes) {
    let totals = Arc::new(Mutex::new(Vec::new()));
    let sink = totals.clone();
    counts.foreach_batch(move |b, _| {
        let total: i64 = b.iter().map(|(_, n)| *n).sum();
        sink.lock().unwrap().push(total);
    });
    let times = BatchTimes::default();
    ssc.add_streaming_listener(times.clone());
    (totals, times)
}

/// A started job: its context, batch timer, per-batch window totals and
/// checkpoint directory.
struct Started {
    name: String,
    ssc: StreamingContext,
    times: BatchTimes,
    totals: Arc<Mutex<Vec<i64>>>,
    _dir: tempfile::TempDir,
}

impl Started {
    fn new(path: JobPath, dsl: bool, input: &[Vec<Vec<String>>]) -> Self {
        let dir = tempfile::tempdir().expect("checkpoint directory");
        let queue = BatchQueue::new();
        for batch in input {
            queue.push(Batch::from_partitions(batch.clone()));
        }
        let (ssc, counts) = if dsl {
            dsl_job(path, queue, dir.path())
        } else {
            plain_job(path, queue, dir.path())
        };
        let (totals, times) = watch(&ssc, &counts);
        ssc.start().expect("start");
        Started {
            name: format!(
                "{} {}",
                if dsl { "stream!" } else { "plain" },
                format!("{path:?}").to_lowercase()
            ),
            ssc,
            times,
            totals,
            _dir: dir,
        }
    }

    fn finish(self) -> JobRun {
        self.ssc.stop(StopMode::Graceful);
        let rows = self.times.rows.lock().unwrap().clone();
        let totals = self.totals.lock().unwrap().clone();
        JobRun {
            name: self.name,
            rows,
            totals,
        }
    }
}

fn run_job(path: JobPath, dsl: bool, input: &[Vec<Vec<String>>]) -> JobRun {
    let job = Started::new(path, dsl, input);
    paced(JOB_BATCHES, |i| step(&job.ssc, &job.times, i));
    job.finish()
}

/// Two jobs run side by side, batch by batch (which goes first alternates),
/// so that both see the same machine load: issue #11's pair, `stream!`'s
/// windowed `sum` and the plain API's closure form.
fn run_pair(a: (JobPath, bool), b: (JobPath, bool), input: &[Vec<Vec<String>>]) -> [JobRun; 2] {
    let jobs = [Started::new(a.0, a.1, input), Started::new(b.0, b.1, input)];
    paced(JOB_BATCHES, |i| {
        let order = if i % 2 == 1 { [0, 1] } else { [1, 0] };
        for j in order {
            step(&jobs[j].ssc, &jobs[j].times, i);
        }
    });
    jobs.map(Started::finish)
}

/// The inverse job through the plain API on [`SharedStr`] lines (each
/// partition one received block, as text inputs deliver it): words are
/// cut from the lines without allocating.
///
/// The hand-written limit runs interleaved with it: its batch `i` just
/// before batch `i` is ticked (while the context idles), so that both see
/// the same machine load; returns both runs (the variant's first).
fn run_shared_inverse(input: &[Vec<Vec<SharedStr>>], text: &[Vec<Vec<String>>]) -> [JobRun; 2] {
    let dir = tempfile::tempdir().expect("checkpoint directory");
    let queue = BatchQueue::new();
    for batch in input {
        queue.push(Batch::from_partitions(batch.clone()));
    }
    let ssc = StreamingContext::new(job_conf()).expect("context");
    ssc.checkpoint(dir.path()).expect("checkpoint directory");
    let (w, s) = (Duration::from_secs(WINDOW), Duration::from_secs(1));
    let counts = ssc
        .queue_stream(queue, true)
        .flat_map(|l: SharedStr| l.split(' '))
        .map(|w| (w, 1i64))
        .reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, w, s);
    let (totals, times) = watch(&ssc, &counts);
    ssc.start().expect("start");
    let mut hand = HandLimit::new(text.first().map_or(0, Vec::len));
    let (mut hand_rows, mut hand_totals) = (Vec::new(), Vec::new());
    let rows = drive_with(&ssc, &times, JOB_BATCHES, &mut |i| {
        if let Some(batch) = text.get(i - 1) {
            let (ms, total) = hand.step(batch);
            hand_rows.push((ms, 0.0));
            hand_totals.push(total);
        }
    });
    let totals = totals.lock().unwrap().clone();
    [
        JobRun {
            name: SHARED_INVERSE.to_string(),
            rows,
            totals,
        },
        JobRun {
            name: HAND_LIMIT.to_string(),
            rows: hand_rows,
            totals: hand_totals,
        },
    ]
}

/// The plain closure form run beside `stream!`'s `sum` (issue #11).
const PAIRED_PANE: &str = "plain pane (paired)";
const SHARED_INVERSE: &str = "plain inverse SharedStr";
const HAND_LIMIT: &str = "hand-written limit";

/// Each partition's lines as one block, its lines [`SharedStr`] views.
fn shared_input(input: &[Vec<Vec<String>>]) -> Vec<Vec<Vec<SharedStr>>> {
    input
        .iter()
        .map(|batch| {
            batch
                .iter()
                .map(|part| SharedStr::from(part.join("\n")).lines().collect())
                .collect()
        })
        .collect()
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The hand-written limit of the inverse windowed count: the same
/// algorithm with nothing around it, on the same two cores. Per batch,
/// each input partition is counted by its own thread with borrowed `&str`
/// keys into one map per key shard; then each shard's thread adds the
/// batch's counts into its part of the window, subtracts the counts of the
/// batch that left (kept, per shard, since it entered), and sums its part
/// (what the streaming variants' output does). Keys stay borrowed from the
/// input lines, which outlive the run; maps are kept from batch to batch.
struct HandLimit<'a> {
    window: Vec<FxMap<&'a str, i64>>,
    /// Per input partition, per shard: the batch's counts (cleared, so
    /// that they keep their capacity).
    counting: Vec<Vec<FxMap<&'a str, i64>>>,
    /// Per batch in the window, per shard: the batch's counts.
    entered: VecDeque<Vec<Vec<(&'a str, i64)>>>,
}

const SHARDS: usize = 2;

fn shard_of(w: &str) -> usize {
    (FxBuildHasher.hash_one(w) >> 60) as usize % SHARDS
}

impl<'a> HandLimit<'a> {
    fn new(partitions: usize) -> Self {
        HandLimit {
            window: (0..SHARDS).map(|_| FxMap::default()).collect(),
            counting: (0..partitions)
                .map(|_| (0..SHARDS).map(|_| FxMap::default()).collect())
                .collect(),
            entered: VecDeque::new(),
        }
    }

    /// Runs one batch: its time in ms and the window's total count.
    fn step(&mut self, batch: &'a [Vec<String>]) -> (f64, i64) {
        let start = Instant::now();
        std::thread::scope(|s| {
            for (part, maps) in batch.iter().zip(self.counting.iter_mut()) {
                s.spawn(move || {
                    for line in part {
                        for w in line.split(' ') {
                            *maps[shard_of(w)].entry(w).or_insert(0) += 1;
                        }
                    }
                });
            }
        });
        let leaving = if self.entered.len() == WINDOW as usize {
            self.entered.pop_front()
        } else {
            None
        };
        let mut leaving: Vec<Option<Vec<(&str, i64)>>> = match leaving {
            Some(l) => l.into_iter().map(Some).collect(),
            None => (0..SHARDS).map(|_| None).collect(),
        };
        // Shard j's maps of every partition, for shard j's thread.
        let mut by_shard: Vec<Vec<&mut FxMap<&str, i64>>> =
            (0..SHARDS).map(|_| Vec::new()).collect();
        for maps in self.counting.iter_mut() {
            for (j, m) in maps.iter_mut().enumerate() {
                by_shard[j].push(m);
            }
        }
        let results: Vec<(Vec<(&str, i64)>, i64)> = std::thread::scope(|s| {
            let handles: Vec<_> = self
                .window
                .iter_mut()
                .zip(by_shard)
                .zip(leaving.iter_mut())
                .map(|((win, maps), left)| {
                    s.spawn(move || {
                        let mut maps = maps.into_iter();
                        let first = maps.next().expect("a partition");
                        for m in maps {
                            for (k, v) in m.drain() {
                                *first.entry(k).or_insert(0) += v;
                            }
                        }
                        let batch_counts: Vec<(&str, i64)> = first.drain().collect();
                        for &(k, v) in &batch_counts {
                            *win.entry(k).or_insert(0) += v;
                        }
                        if let Some(left) = left.take() {
                            for (k, v) in left {
                                *win.get_mut(k).expect("a key that entered") -= v;
                            }
                        }
                        (batch_counts, win.values().sum::<i64>())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut total = 0;
        let mut shards = Vec::new();
        for (counts, t) in results {
            shards.push(counts);
            total += t;
        }
        self.entered.push_back(shards);
        (start.elapsed().as_secs_f64() * 1e3, total)
    }
}

fn job() {
    println!("allocator: {}", alloc::name());
    println!(
        "issue #17 job: {JOB_BATCHES} batches x {LINES} lines x {WORDS_PER_LINE} words, Zipf(1.0) over {VOCABULARY} words, window {WINDOW} slide 1, local[2], checkpoint dir only"
    );
    let t = Instant::now();
    let input = zipf_lines();
    println!("(input generated in {:.1} s)", t.elapsed().as_secs_f64());
    // `WINDOWS_BENCH_VARIANT=<text>` runs only the variants whose name
    // contains it (e.g. `plain pane`), for profiling.
    let only = std::env::var("WINDOWS_BENCH_VARIANT").unwrap_or_default();
    let mut runs = Vec::new();
    if SHARED_INVERSE.contains(&only) || HAND_LIMIT.contains(&only) {
        runs.extend(run_shared_inverse(&shared_input(&input), &input));
    }
    for dsl in [false, true] {
        for path in [JobPath::Inverse, JobPath::Pane] {
            let name = format!(
                "{} {}",
                if dsl { "stream!" } else { "plain" },
                format!("{path:?}").to_lowercase()
            );
            if name.contains(&only) {
                runs.push(run_job(path, dsl, &input));
            }
        }
    }
    // Issue #11's pair, interleaved: `stream!`'s `sum`, then the plain
    // closure form again (a second run of "plain pane", side by side).
    if "stream! sum".contains(&only) || PAIRED_PANE.contains(&only) {
        let [sum, mut pane] = run_pair((JobPath::Sum, true), (JobPath::Pane, false), &input);
        pane.name = PAIRED_PANE.to_string();
        runs.extend([sum, pane]);
    }
    let full = (WINDOW as usize - 1)..JOB_BATCHES;
    let filling = 4..(WINDOW as usize - 1);
    println!(
        "{:<16} {:>8} {:>8} {:>8} {:>10} | full window: {:>8} {:>9} {:>8} | {:>12}",
        "variant",
        "p50 ms",
        "p99 ms",
        "max ms",
        "max delay",
        "median",
        "max/med",
        "filling",
        "full/filling"
    );
    let mut medians = Vec::new();
    for r in &runs {
        let processing: Vec<f64> = r.rows.iter().map(|(p, _)| *p).collect();
        let delays: Vec<f64> = r.rows.iter().map(|(_, d)| *d).collect();
        let d = distribution(&processing, &delays);
        let fw = distribution(&processing[full.clone()], &delays[full.clone()]);
        let fill = distribution(&processing[filling.clone()], &delays[filling.clone()]);
        println!(
            "{:<16} {:>8.1} {:>8.1} {:>8.1} {:>10.2} | {:>20.1} {:>9.2} {:>8.1} | {:>12.2}",
            r.name,
            d.p50,
            d.p99,
            d.max,
            d.max_delay,
            fw.p50,
            fw.max / fw.p50,
            fill.p50,
            fw.p50 / fill.p50
        );
        medians.push((r.name.clone(), fw.p50));
    }
    let median_of = |name: &str| medians.iter().find(|(n, _)| n == name).map(|(_, m)| *m);
    for name in [
        SHARED_INVERSE,
        "plain inverse",
        "stream! inverse",
        "stream! sum",
    ] {
        if let (Some(hand), Some(x)) = (median_of(HAND_LIMIT), median_of(name)) {
            println!(
                "{}{name} vs the hand-written limit (full-window median batch, limit / variant): {:.2}x{}",
                if name == SHARED_INVERSE { "TARGET (issue #15): " } else { "" },
                hand / x,
                if name == SHARED_INVERSE { " (target >= 0.50x)" } else { "" }
            );
        }
    }
    for (a, b) in [
        ("plain inverse", "plain pane"),
        ("stream! inverse", "stream! pane"),
        ("stream! sum", PAIRED_PANE),
    ] {
        if let (Some(x), Some(y)) = (median_of(a), median_of(b)) {
            println!("{a} / {b} median full-window batch: {:.2}x", x / y);
        }
    }
    // Issue #11: `stream!`'s windowed `sum` (borrowed words) against the
    // plain API with a closure reducer (the pane path), as a speed-up, from
    // the pair run side by side.
    if let (Some(sum), Some(plain)) = (median_of("stream! sum"), median_of(PAIRED_PANE)) {
        println!(
            "TARGET (issue #11): stream! sum speed-up over the plain closure form run beside it (plain pane / stream! sum, full-window medians): {:.2}x (target >= 1.30x)",
            plain / sum
        );
    }
    if std::env::var_os("WINDOWS_BENCH_VERBOSE").is_some() {
        for r in &runs {
            let per: Vec<String> = r
                .rows
                .iter()
                .map(|(p, d)| format!("{p:.0}/{d:.1}"))
                .collect();
            println!("{} (ms processing/delay): {}", r.name, per.join(" "));
        }
    }
    let same = runs.iter().all(|r| r.totals == runs[0].totals);
    println!(
        "every variant's window totals equal: {}",
        if same { "yes" } else { "NO" }
    );
    for (i, r) in runs.iter().enumerate() {
        let slow: Vec<String> = r
            .rows
            .iter()
            .enumerate()
            .filter(|(_, (_, d))| *d > 10.0)
            .map(|(b, (_, d))| format!("batch {} delay {d:.1} ms", b + 1))
            .collect();
        if !slow.is_empty() {
            println!("{} (run {i}): {}", r.name, slow.join(", "));
        }
    }
}

// ------------------------------------------------------ state at 1 M keys

const STATE_KEYS: u64 = 1_000_000;
const STATE_BATCHES: usize = 40;

#[derive(Clone, Copy, Debug)]
enum StateOp {
    UpdateStateByKey,
    MapWithState,
}

fn run_state(op: StateOp) -> Vec<(f64, f64)> {
    let dir = tempfile::tempdir().expect("checkpoint directory");
    let ssc = StreamingContext::new(job_conf()).expect("context");
    ssc.checkpoint(dir.path()).expect("checkpoint directory");
    let input = ssc.input_stream_from_fn(|t| {
        let i = t.as_millis() / 1000;
        Some(if i == 1 {
            // Every key once: the state's first batch.
            Batch::from_partitions(vec![
                (0..STATE_KEYS / 2).map(|k| (k, 1u64)).collect(),
                (STATE_KEYS / 2..STATE_KEYS).map(|k| (k, 1u64)).collect(),
            ])
        } else {
            let mut rng = Rng(0x2545_F491_4F6C_DD1D ^ i);
            let n = (STATE_KEYS / 100) as usize;
            let keys: Vec<(u64, u64)> = (0..n).map(|_| (rng.next() % STATE_KEYS, 1)).collect();
            Batch::split(keys, 2)
        })
    });
    match op {
        StateOp::UpdateStateByKey => {
            let counts = input.update_state_by_key(|new: &[u64], old: Option<u64>| {
                Some(old.unwrap_or(0) + new.iter().sum::<u64>())
            });
            counts.foreach_batch(|b, _| {
                black_box(b.len());
            });
        }
        StateOp::MapWithState => {
            let spec = StateSpec::function(|_: &u64, v: Option<u64>, s: &mut State<u64>| {
                let n = s.get().copied().unwrap_or(0) + v.unwrap_or(0);
                s.update(n);
                n
            });
            input.map_with_state(spec).foreach_batch(|b, _| {
                black_box(b.len());
            });
        }
    }
    let times = BatchTimes::default();
    ssc.add_streaming_listener(times.clone());
    ssc.start().expect("start");
    drive(&ssc, &times, STATE_BATCHES)
}

fn state() {
    println!(
        "state of {STATE_KEYS} keys, 1 % updated per batch, {STATE_BATCHES} batches (the first, loading every key, left out), local[2], checkpoint dir only"
    );
    println!(
        "{:<20} {:>8} {:>8} {:>8} {:>10} {:>16}",
        "operation", "p50 ms", "p99 ms", "max ms", "max delay", "checkpoint batches"
    );
    for op in [StateOp::UpdateStateByKey, StateOp::MapWithState] {
        let rows = run_state(op);
        let rows = &rows[1..];
        let processing: Vec<f64> = rows.iter().map(|(p, _)| *p).collect();
        let delays: Vec<f64> = rows.iter().map(|(_, d)| *d).collect();
        let d = distribution(&processing, &delays);
        // Batches 10, 20, ... follow a state checkpoint.
        let at_checkpoints: Vec<String> = rows
            .iter()
            .enumerate()
            .filter(|(i, _)| (i + 2) % 10 == 0)
            .map(|(_, (p, _))| format!("{p:.0}"))
            .collect();
        if std::env::var_os("WINDOWS_BENCH_VERBOSE").is_some() {
            let per: Vec<String> = rows.iter().map(|(p, d)| format!("{p:.1}/{d:.1}")).collect();
            println!(
                "{op:?} (ms processing/delay, from batch 2): {}",
                per.join(" ")
            );
        }
        println!(
            "{:<20} {:>8.1} {:>8.1} {:>8.1} {:>10.2} {:>16}",
            format!("{op:?}"),
            d.p50,
            d.p99,
            d.max,
            d.max_delay,
            at_checkpoints.join("/")
        );
    }
}

fn main() {
    if std::env::args().any(|a| a == "--scaling") {
        alloc::count(true);
        scaling();
        return;
    }
    let only = |what: &str| {
        let args: Vec<String> = std::env::args().collect();
        !args.iter().any(|a| a == "--job" || a == "--state") || args.iter().any(|a| a == what)
    };
    if only("--job") {
        job();
    }
    if only("--state") {
        state();
    }
}

// ---------------------------------------------- window length scaling table

const RECORDS_PER_BATCH: usize = 5_000;
const KEYS: u32 = 500;
const MEASURED: usize = 100;
const POOL: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Path {
    Inverse,
    Pane,
    Naive,
}

/// Processing time of each batch, measured on the executor thread (clones
/// share their figures).
#[derive(Clone, Default)]
struct Timer {
    started: Arc<Mutex<Option<Instant>>>,
    durations: Arc<Mutex<Vec<f64>>>,
}

impl StreamingListener for Timer {
    fn on_batch_started(&self, _: &BatchInfo) {
        *self.started.lock().unwrap() = Some(Instant::now());
    }
    fn on_batch_completed(&self, _: &BatchInfo) {
        if let Some(s) = self.started.lock().unwrap().take() {
            self.durations
                .lock()
                .unwrap()
                .push(s.elapsed().as_secs_f64() * 1e3);
        }
    }
}

/// Deterministic word ids (xorshift), mildly skewed towards small ids.
fn make_pool() -> Arc<Vec<Vec<u32>>> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let pool = (0..POOL)
        .map(|_| {
            (0..RECORDS_PER_BATCH)
                .map(|_| {
                    let a = (next() % KEYS as u64) as u32;
                    let b = (next() % KEYS as u64) as u32;
                    a.min(b)
                })
                .collect()
        })
        .collect();
    Arc::new(pool)
}

struct Figures {
    median_ms: f64,
    mean_ms: f64,
    memory_mb: f64,
}

fn run(path: Path, window: usize, pool: &Arc<Vec<Vec<u32>>>) -> Figures {
    let dir = tempfile::tempdir().expect("temporary checkpoint directory");
    let baseline = alloc::live_bytes();
    let config = TestConfig::default();
    let ssc = config.context(dir.path()).expect("context");
    let timer = Timer::default();
    ssc.add_streaming_listener(timer.clone());
    let feed = pool.clone();
    let words = ssc.input_stream_from_fn(move |t| {
        let i = (t.as_millis() / 1000) as usize % POOL;
        Some(Batch::split(feed[i].clone(), 2))
    });
    let pairs = words.map(|w| (w, 1u64));
    let sec = Duration::from_secs(1);
    let w = sec * window as u32;
    let counts = match path {
        Path::Inverse => pairs.reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, w, sec),
        Path::Pane => pairs.reduce_by_key_and_window(|a, b| a + b, w, sec),
        Path::Naive => pairs.window(w, sec).reduce_by_key(|a, b| a + b),
    };
    counts.foreach_batch(|b, _| {
        black_box(b.len());
    });
    ssc.start().expect("start");
    let clock = ssc.manual_clock().expect("manual clock");
    let total = window + 5 + MEASURED;
    for i in 1..=total {
        clock.advance(sec);
        ssc.await_batch_completion(Time::from_millis(i as u64 * 1000), Duration::from_secs(600))
            .expect("batch");
    }
    let memory = alloc::live_bytes().saturating_sub(baseline).max(0) as usize;
    ssc.stop(StopMode::Immediate);
    let durations = timer.durations.lock().unwrap();
    let mut measured: Vec<f64> = durations[durations.len() - MEASURED..].to_vec();
    measured.sort_by(f64::total_cmp);
    Figures {
        median_ms: measured[MEASURED / 2],
        mean_ms: measured.iter().sum::<f64>() / MEASURED as f64,
        memory_mb: memory as f64 / (1024.0 * 1024.0),
    }
}

fn scaling() {
    let quick = std::env::args().any(|a| a == "--quick");
    let windows: &[usize] = if quick { &[10, 100] } else { &[10, 100, 1000] };
    let pool = make_pool();
    println!(
        "keyed windowed count: {RECORDS_PER_BATCH} records/batch over {KEYS} keys, slide 1 batch, local[2]"
    );
    println!(
        "{:<8} {:>7} {:>16} {:>14} {:>11}",
        "path", "window", "median ms/batch", "mean ms/batch", "memory MB"
    );
    let mut results = Vec::new();
    for &window in windows {
        for path in [Path::Inverse, Path::Pane, Path::Naive] {
            let f = run(path, window, &pool);
            println!(
                "{:<8} {:>7} {:>16.3} {:>14.3} {:>11.2}",
                format!("{path:?}").to_lowercase(),
                window,
                f.median_ms,
                f.mean_ms,
                f.memory_mb
            );
            results.push((path, window, f));
        }
    }
    let get = |p: Path, w: usize| {
        results
            .iter()
            .find(|(q, v, _)| *q == p && *v == w)
            .map(|(_, _, f)| f.median_ms)
    };
    let largest = *windows.last().expect("windows");
    if let (Some(small), Some(large)) = (get(Path::Inverse, 10), get(Path::Inverse, largest)) {
        let r = large / small;
        println!(
            "inverse {largest}/10 batches: {r:.2}x (target <= 1.2x): {}",
            if r <= 1.2 { "met" } else { "MISSED" }
        );
    }
    if let (Some(pane), Some(naive)) = (get(Path::Pane, 100), get(Path::Naive, 100)) {
        let r = pane / naive;
        println!(
            "pane/naive at 100 batches: {r:.3}x, naive is {:.1}x slower (target <= 0.2x): {}",
            naive / pane,
            if r <= 0.2 { "met" } else { "MISSED" }
        );
    }
}
