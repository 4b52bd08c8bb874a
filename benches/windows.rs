//! Windowed keyed count: per-batch processing time and memory of the three
//! window paths, for windows of 10, 100 and 1000 batches, in one run.
//!
//! - `inverse`: `reduce_by_key_and_window_inv(+, -)`, incremental;
//! - `pane`: `reduce_by_key_and_window(+)`, one partial aggregate per pane
//!   combined with the two-stacks algorithm;
//! - `naive`: `window(..).reduce_by_key(+)`, recomputing the whole window.
//!
//! Batches are driven by the manual clock; processing time is measured by a
//! listener around each batch (Spark's processing delay), after the window
//! has filled. Memory is the live heap held by the running pipeline (state,
//! panes and remembered batches), from a counting allocator.
//!
//! `cargo bench --bench windows` runs everything; `-- --quick` skips the
//! 1000-batch windows. Targets: the inverse path at 1000 batches within
//! 1.2x of its time at 10; the pane path at 100 batches at most a fifth of
//! naive recomputation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use streaming::prelude::*;
use streaming::testing::TestConfig;
use streaming::{BatchInfo, StreamingListener};

/// The system allocator, counting live bytes.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

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
    let baseline = LIVE.load(Ordering::Relaxed);
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
    let memory = LIVE.load(Ordering::Relaxed).saturating_sub(baseline);
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

fn main() {
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
