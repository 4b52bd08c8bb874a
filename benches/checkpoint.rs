//! How long a state checkpoint holds the executor: the capture of an
//! `update_state_by_key` operator holding 1 M keys (set `CHECKPOINT_KEYS` to
//! change it), next to a bare `postcard` encoding of the same map as the
//! baseline measured in the same run. The capture
//! (`StatefulOperator::capture`) is what the executor does between two
//! batches when a state checkpoint is due; encoding the capture (also
//! shown), the rest of the file and writing it happen on the writer
//! thread. What the batches around a state checkpoint cost is in
//! `cargo bench --bench windows` (state at 1 M keys).
//!
//! `cargo bench --bench checkpoint`

use std::collections::HashMap;
use std::time::{Duration, Instant};

use streaming::prelude::*;
use streaming::ManualClock;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let keys: u64 = std::env::var("CHECKPOINT_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let ssc = StreamingContext::new(
        StreamingConf::new()
            .master("local[2]")
            .batch_interval(Duration::from_secs(1))
            .manual_clock(clock.clone()),
    )
    .unwrap();
    ssc.checkpoint(dir.path()).unwrap();
    let input = ssc.input_stream_from_fn(move |t| {
        (t.as_millis() == 1000).then(|| {
            Batch::from_partitions(vec![
                (0..keys / 2).map(|k| (k, 1u64)).collect(),
                (keys / 2..keys).map(|k| (k, 1u64)).collect(),
            ])
        })
    });
    let counts = input.update_state_by_key(|new: &[u64], old: Option<u64>| {
        Some(old.unwrap_or(0) + new.iter().sum::<u64>())
    });
    counts.foreach_batch(|_, _| {});
    let state = counts.stateful_operator().unwrap();
    ssc.start().unwrap();
    clock.advance(Duration::from_secs(1));
    ssc.await_batch_completion(Time::from_millis(1000), Duration::from_secs(600))
        .unwrap();
    ssc.stop(StopMode::Immediate);
    assert_eq!(state.num_entries() as u64, keys);

    let map: HashMap<u64, u64> = (0..keys).map(|k| (k, 1)).collect();
    let runs = 5;
    let (mut hold, mut encode, mut bare) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = Instant::now();
        let c = state.capture().unwrap();
        hold.push(t.elapsed());
        assert!(c.is_deferred(), "the capture encodes nothing");
        let t = Instant::now();
        let s = c.encode().unwrap();
        encode.push(t.elapsed());
        std::hint::black_box(s);
        let t = Instant::now();
        let b = postcard::to_stdvec(&map).unwrap();
        bare.push(t.elapsed());
        std::hint::black_box(b);
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (h, e, b) = (median(&mut hold), median(&mut encode), median(&mut bare));
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("state checkpoint of update_state_by_key, {keys} keys, median of {runs}");
    println!(
        "  bare postcard encoding of the map          {:>9.3} ms   1.00x",
        ms(b)
    );
    println!(
        "  capture (holds the executor)               {:>9.3} ms   {:.4}x",
        ms(h),
        h.as_secs_f64() / b.as_secs_f64()
    );
    println!(
        "  encoding the capture (writer thread)       {:>9.3} ms   {:.2}x",
        ms(e),
        e.as_secs_f64() / b.as_secs_f64()
    );
    println!(
        "executor hold at {keys} keys: {:.3} ms (goal <= 1 ms): {}",
        ms(h),
        if ms(h) <= 1.0 { "met" } else { "MISSED" }
    );
}
