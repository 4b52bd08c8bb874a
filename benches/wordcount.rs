//! Word count throughput: the streaming pipeline next to hand-written Rust
//! loops doing the same job on the same cores, in the same run.
//!
//! `cargo bench --bench wordcount` prints words/s for each variant and its
//! ratio to the hand-written parallel loop (the baseline). The machine is
//! shared and noisy, so compare ratios, not absolute figures. Set
//! `WORDCOUNT_LINES` to change the corpus size (default 1,000,000 lines of
//! 10 words: 10 million words).

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustc_hash::FxHasher;
use streaming::prelude::*;
use streaming::ManualClock;

#[path = "support/alloc.rs"]
mod alloc;

/// Every variant, the baselines included, runs on the system allocator, or
/// on mimalloc when built with `BENCH_ALLOCATOR=mimalloc` (see the README).
#[global_allocator]
static GLOBAL: alloc::BenchAlloc = alloc::BenchAlloc;

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

const WORDS_PER_LINE: usize = 10;
const VOCABULARY: u64 = 10_000;
const RUNS: usize = 5;
const BASELINE: &str = "hand-written loop, &str keys (baseline)";
const PLAIN_SHARED: &str = "plain API on SharedStr lines: flat_map(split) -> map -> reduce_by_key";

fn corpus(lines: usize) -> Vec<String> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..lines)
        .map(|_| {
            (0..WORDS_PER_LINE)
                .map(|_| format!("w{}", next() % VOCABULARY))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// One variant: prepares a fresh input (untimed) and runs it (timed),
/// returning the total count, which is checked against the number of words.
type Variant<'a> = (
    &'a str,
    Box<dyn FnMut() -> Box<dyn FnOnce() -> u64 + 'a> + 'a>,
);

/// Runs the variants round-robin, `RUNS` rounds (so that a change in the
/// machine's load hits every variant alike), and returns each one's median.
fn measure_all(words: u64, variants: &mut [Variant<'_>]) -> Vec<Duration> {
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); variants.len()];
    for _ in 0..RUNS {
        for (i, (name, prepare)) in variants.iter_mut().enumerate() {
            let run = prepare();
            let start = Instant::now();
            let total = run();
            times[i].push(start.elapsed());
            assert_eq!(total, words, "{name}: every word counted once");
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort();
            t[RUNS / 2]
        })
        .collect()
}

fn chunks(lines: &[String], n: usize) -> Vec<&[String]> {
    let per = lines.len().div_ceil(n);
    lines.chunks(per.max(1)).collect()
}

/// The hand-written baseline: one thread per core, borrowed `&str` keys,
/// thread-local maps merged at the end.
fn hand_written_borrowed(lines: &[String], threads: usize) -> u64 {
    let maps: Vec<FxMap<&str, u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks(lines, threads)
            .into_iter()
            .map(|chunk| {
                s.spawn(move || {
                    let mut m: FxMap<&str, u64> = FxMap::default();
                    for line in chunk {
                        for w in line.split(' ') {
                            *m.entry(w).or_insert(0) += 1;
                        }
                    }
                    m
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut total: FxMap<&str, u64> = FxMap::default();
    for m in maps {
        for (k, v) in m {
            *total.entry(k).or_insert(0) += v;
        }
    }
    total.values().sum()
}

/// Hand-written with owned `String` words, as stream elements are owned.
fn hand_written_owned(lines: &[String], threads: usize) -> u64 {
    let maps: Vec<FxMap<String, u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks(lines, threads)
            .into_iter()
            .map(|chunk| {
                s.spawn(move || {
                    let mut m: FxMap<String, u64> = FxMap::default();
                    for line in chunk {
                        for w in line.split(' ') {
                            *m.entry(w.to_string()).or_insert(0) += 1;
                        }
                    }
                    m
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut total: FxMap<String, u64> = FxMap::default();
    for m in maps {
        for (k, v) in m {
            *total.entry(k).or_insert(0) += v;
        }
    }
    total.values().sum()
}

/// A streaming context under a manual clock that runs one batch of `lines`
/// through the pipeline `build` makes, once per call of the returned closure.
struct Pipeline<I = String> {
    ssc: StreamingContext,
    clock: ManualClock,
    queue: BatchQueue<I>,
    total: Arc<Mutex<u64>>,
    batch: u64,
}

impl<I: Data> Pipeline<I> {
    /// A pipeline built with the plain API by `build`.
    fn new<K: Key>(threads: usize, build: Build<I, K>) -> Pipeline<I> {
        Self::with(threads, |conf, queue| {
            let ssc = StreamingContext::new(conf)?;
            let counts = build(ssc.queue_stream(queue, true));
            Ok((ssc, counts))
        })
    }

    /// A pipeline whose context and counts stream `make` creates from a
    /// configuration (manual clock, 1 s batches) and the input queue.
    fn with<K: Key>(
        threads: usize,
        make: impl FnOnce(
            StreamingConf,
            BatchQueue<I>,
        ) -> streaming::Result<(StreamingContext, DStream<(K, u64)>)>,
    ) -> Pipeline<I> {
        let clock = ManualClock::new();
        let conf = StreamingConf::new()
            .master(format!("local[{threads}]"))
            .batch_interval(Duration::from_secs(1))
            .manual_clock(clock.clone());
        let queue = BatchQueue::new();
        let (ssc, counts) = make(conf, queue.clone()).unwrap();
        let total = Arc::new(Mutex::new(0));
        let sink = total.clone();
        counts.foreach_batch(move |b, _| {
            *sink.lock().unwrap() = b.iter().map(|(_, n)| n).sum();
        });
        ssc.start().unwrap();
        Pipeline {
            ssc,
            clock,
            queue,
            total,
            batch: 0,
        }
    }

    /// Runs one batch. The batch is handed over (as data arriving in a
    /// stream is), so the input is read without a copy.
    fn run(&mut self, input: Batch<I>) -> u64 {
        self.queue.push(input);
        self.batch += 1;
        self.clock.advance(Duration::from_secs(1));
        self.ssc
            .await_batch_completion(
                Time::from_millis(self.batch * 1000),
                Duration::from_secs(600),
            )
            .unwrap();
        *self.total.lock().unwrap()
    }
}

/// Builds a word count pipeline on a stream of lines.
type Build<I = String, K = String> = fn(DStream<I>) -> DStream<(K, u64)>;

fn plain(lines: DStream<String>) -> DStream<(String, u64)> {
    lines
        .flat_map(|l: String| l.split(' ').map(str::to_string).collect::<Vec<_>>())
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b)
}

/// The plain API on shared text: lines are [`SharedStr`]s of a received
/// block, and `split` cuts words from them without allocating.
fn plain_shared(lines: DStream<SharedStr>) -> DStream<(SharedStr, u64)> {
    lines
        .flat_map(|l: SharedStr| l.split(' '))
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b)
}

/// The input as a text input delivers it: per partition, one received
/// block, its lines [`SharedStr`] views of it.
fn shared_lines(lines: &[String], n: usize) -> Vec<Vec<SharedStr>> {
    chunks(lines, n)
        .into_iter()
        .map(|part| SharedStr::from(part.join("\n")).lines().collect())
        .collect()
}

fn fused(lines: DStream<String>) -> DStream<(String, u64)> {
    lines
        .map_partitions(|it| {
            it.flat_map(|l: String| l.split(' ').map(str::to_string).collect::<Vec<_>>())
                .map(|w| (w, 1u64))
        })
        .reduce_by_key(|a, b| a + b)
}

fn main() {
    let lines: usize = std::env::var("WORDCOUNT_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    // WORDCOUNT_ONLY=<substring> runs only the matching variants besides the
    // baseline (e.g. to profile one of them).
    let only = std::env::var("WORDCOUNT_ONLY").unwrap_or_default();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let words = (lines * WORDS_PER_LINE) as u64;
    println!("word count: {lines} lines, {words} words, vocabulary {VOCABULARY}, {threads} threads, median of {RUNS} runs, allocator: {}", alloc::name());
    let text = corpus(lines);
    let shared = shared_lines(&text, threads);
    let shared = &shared;

    let wanted = |name: &str| only.is_empty() || name.contains(only.as_str());
    let text = &text;
    let fresh_batch = move || Batch::split(text.clone(), threads);
    let mut variants: Vec<Variant<'_>> = vec![(
        BASELINE,
        Box::new(move || Box::new(move || hand_written_borrowed(text, threads))),
    )];
    variants.push((
        "hand-written loop, owned String keys",
        Box::new(move || Box::new(move || hand_written_owned(text, threads))),
    ));
    let pipelines: [(&str, Build); 2] = [
        ("plain API: flat_map -> map -> reduce_by_key", plain),
        (
            "plain API, one fused map_partitions (stream! codegen shape)",
            fused,
        ),
    ];
    let dsl = Pipeline::<String>::with(threads, |conf, queue| {
        stream! {
            context(conf = conf);
            let counts = queue_stream(queue, true)
                .flat_map(|l: String| l.split(' ').map(str::to_string).collect::<Vec<_>>())
                .map(|w| (w, 1u64))
                .reduce_by_key(sum);
            counts
        }
    });
    let dsl_borrowed = Pipeline::<String>::with(threads, |conf, queue| {
        stream! {
            context(conf = conf);
            let counts = queue_stream(queue, true)
                .flat_map(|l: &str| l.split(' '))
                .map(|w: &str| (w, 1u64))
                .reduce_by_key(sum);
            counts
        }
    });
    let plain_shared = Arc::new(Mutex::new(Pipeline::new(
        threads,
        plain_shared as Build<_, _>,
    )));
    {
        let p = plain_shared.clone();
        variants.push((
            PLAIN_SHARED,
            Box::new(move || {
                let batch = Batch::from_partitions(shared.clone());
                let p = p.clone();
                Box::new(move || p.lock().unwrap().run(batch))
            }),
        ));
    }
    let built = pipelines
        .into_iter()
        .map(|(name, build)| (name, Pipeline::new(threads, build)))
        .chain([
            ("stream!: the same pipeline, fused by the macro", dsl),
            (
                "stream!: borrowed &str words, fused into the combine",
                dsl_borrowed,
            ),
        ]);
    let mut contexts = Vec::new();
    for (name, pipeline) in built {
        let p = Arc::new(Mutex::new(pipeline));
        contexts.push(p.clone());
        variants.push((
            name,
            Box::new(move || {
                let batch = fresh_batch();
                let p = p.clone();
                Box::new(move || p.lock().unwrap().run(batch))
            }),
        ));
    }
    variants.retain(|(name, _)| name.contains("baseline") || wanted(name));
    let times = measure_all(words, &mut variants);
    // WORDCOUNT_COUNT_ALLOCS=1: one more run of each variant, counting its
    // allocations (not timed: counting adds a shared atomic per allocation).
    let allocs = std::env::var_os("WORDCOUNT_COUNT_ALLOCS").map(|_| {
        variants
            .iter_mut()
            .map(|(_, prepare)| {
                let run = prepare();
                alloc::count(true);
                let before = alloc::allocations();
                run();
                let n = alloc::allocations() - before;
                alloc::count(false);
                n
            })
            .collect::<Vec<u64>>()
    });
    for p in contexts {
        p.lock().unwrap().ssc.stop(StopMode::Immediate);
    }
    plain_shared.lock().unwrap().ssc.stop(StopMode::Immediate);
    let results: Vec<(&str, Duration)> = variants.iter().map(|(n, _)| *n).zip(times).collect();

    let base = results[0].1.as_secs_f64();
    println!("{:<62} {:>14} {:>10}", "variant", "words/s", "ratio");
    for (name, t) in &results {
        let rate = words as f64 / t.as_secs_f64();
        println!("{name:<62} {rate:>14.0} {:>9.2}x", base / t.as_secs_f64());
    }
    if let Some((_, t)) = results.iter().find(|(n, _)| *n == PLAIN_SHARED) {
        println!(
            "TARGET (issue #15): plain-API word count / borrowed hand-written loop = {:.2}x (target >= 0.50x, allocator: {})",
            base / t.as_secs_f64(),
            alloc::name()
        );
    }
    if let Some(allocs) = &allocs {
        println!("{:<62} {:>14}", "variant", "allocs/word");
        for ((name, _), a) in results.iter().zip(allocs) {
            println!("{name:<62} {:>14.3}", *a as f64 / words as f64);
        }
    }
}
