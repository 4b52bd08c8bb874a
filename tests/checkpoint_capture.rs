//! State checkpoints do not hold the executor (issue #17): the executor only
//! captures each operator's state (shared copy-on-write shards and panes);
//! encoding happens on the checkpoint writer thread. A state type whose
//! `Serialize` records the thread it runs on proves where encoding happens;
//! the captured state stays what it was when captured while later batches
//! change the operator; and what the writer encodes restores exactly.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use streaming::prelude::*;
use streaming::testing::TestConfig;

/// Threads that serialized a [`Traced`] value.
static ENCODED_ON: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// Number of [`Traced`] values serialized.
static ENCODED: AtomicUsize = AtomicUsize::new(0);

/// A count whose serialization records the thread doing it.
#[derive(Clone, Debug, PartialEq)]
struct Traced(u64);

impl Serialize for Traced {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ENCODED.fetch_add(1, Ordering::SeqCst);
        let name = std::thread::current()
            .name()
            .unwrap_or("<unnamed>")
            .to_string();
        let mut seen = ENCODED_ON.lock().unwrap();
        if !seen.contains(&name) {
            seen.push(name);
        }
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Traced {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        u64::deserialize(d).map(Traced)
    }
}

/// Serializes the tests of this file (they share the statics above).
static SERIAL: Mutex<()> = Mutex::new(());

fn batch(i: u64) -> Batch<(u64, u64)> {
    Batch::from_partitions(vec![
        (0..200).map(|k| (k, i)).collect(),
        (200..400).map(|k| (k * 7 % 500, 1)).collect(),
    ])
}

#[test]
fn the_executor_captures_state_and_the_writer_encodes_it() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    ENCODED_ON.lock().unwrap().clear();
    let dir = tempfile::tempdir().unwrap();
    let ssc = TestConfig::default().context(dir.path()).unwrap();
    let sec = Duration::from_secs(1);
    let input = ssc.input_stream_from_fn(|t| Some(batch(t.as_millis() / 1000)));
    let traced = input.map(|(k, v)| (k, Traced(v)));
    let counts = traced
        .update_state_by_key(|new: &[Traced], old: Option<Traced>| {
            Some(Traced(
                old.map_or(0, |o| o.0) + new.iter().map(|t| t.0).sum::<u64>(),
            ))
        })
        .checkpoint(sec);
    counts.foreach_batch(|_, _| {});
    let spec = StateSpec::function(|_: &u64, v: Option<Traced>, s: &mut State<Traced>| {
        let next = s.get().map_or(0, |t| t.0) + v.map_or(0, |t| t.0);
        s.update(Traced(next));
    });
    let mapped = traced.map_with_state(spec);
    mapped.checkpoint(sec);
    mapped.foreach_batch(|_, _| {});
    let windowed = traced
        .map(|(k, t)| (k, t.0))
        .reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, sec * 3, sec)
        .checkpoint(sec);
    windowed.foreach_batch(|_, _| {});
    ssc.start().unwrap();
    let clock = ssc.manual_clock().unwrap();
    for i in 1..=5u64 {
        clock.advance(sec);
        ssc.await_batch_completion(Time::from_millis(i * 1000), Duration::from_secs(60))
            .unwrap();
    }
    ssc.stop(StopMode::Graceful);
    assert_eq!(ssc.checkpoint_failures(), 0, "no checkpoint failed");
    let seen = ENCODED_ON.lock().unwrap().clone();
    assert!(!seen.is_empty(), "the state checkpoints encoded some state");
    assert_eq!(
        seen,
        vec!["streaming-checkpoint-writer".to_string()],
        "state is encoded on the writer thread only"
    );
}

#[test]
fn a_capture_does_not_encode_and_keeps_the_state_it_captured() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let ssc = TestConfig::default().context(dir.path()).unwrap();
    let sec = Duration::from_secs(1);
    let input = ssc.input_stream_from_fn(|t| Some(batch(t.as_millis() / 1000)));
    let counts = input.map(|(k, v)| (k, Traced(v))).update_state_by_key(
        |new: &[Traced], old: Option<Traced>| {
            Some(Traced(
                old.map_or(0, |o| o.0) + new.iter().map(|t| t.0).sum::<u64>(),
            ))
        },
    );
    counts.foreach_batch(|_, _| {});
    let state = counts.stateful_operator().unwrap();
    ssc.start().unwrap();
    let clock = ssc.manual_clock().unwrap();
    let run_to = |i: u64| {
        clock.advance(sec);
        ssc.await_batch_completion(Time::from_millis(i * 1000), Duration::from_secs(60))
            .unwrap();
    };
    run_to(1);
    run_to(2);
    let before = ENCODED.load(Ordering::SeqCst);
    let captured = state.capture().unwrap();
    assert!(
        captured.is_deferred(),
        "update_state_by_key captures lazily"
    );
    assert_eq!(
        ENCODED.load(Ordering::SeqCst),
        before,
        "capturing encoded nothing"
    );
    assert_eq!(captured.time(), Some(Time::from_millis(2000)));
    let at_two = state.snapshot().unwrap();
    // Later batches change every key; the capture still holds batch 2's.
    run_to(3);
    run_to(4);
    let encoded = captured.encode().unwrap();
    assert_eq!(encoded, at_two, "the capture is the state at its time");
    assert!(ENCODED.load(Ordering::SeqCst) > before);
    let keys = state.num_entries();
    ssc.stop(StopMode::Immediate);

    // What was encoded restores that state exactly.
    let dir = tempfile::tempdir().unwrap();
    let ssc = TestConfig::default().context(dir.path()).unwrap();
    let input = ssc.input_stream_from_fn(|t| Some(batch(t.as_millis() / 1000)));
    let counts = input.map(|(k, v)| (k, Traced(v))).update_state_by_key(
        |new: &[Traced], old: Option<Traced>| {
            Some(Traced(
                old.map_or(0, |o| o.0) + new.iter().map(|t| t.0).sum::<u64>(),
            ))
        },
    );
    let restored = counts.stateful_operator().unwrap();
    restored.restore(&encoded).unwrap();
    assert_eq!(restored.num_entries(), keys);
    assert_eq!(restored.snapshot().unwrap().time, at_two.time);
    let again = restored.snapshot().unwrap();
    let decode = |s: &streaming::StateSnapshot| {
        let (time, started, parts): (Option<Time>, bool, Vec<Vec<(u64, u64)>>) =
            postcard::from_bytes(&s.bytes).unwrap();
        let mut all: Vec<(u64, u64)> = parts.into_iter().flatten().collect();
        all.sort();
        (time, started, all)
    };
    assert_eq!(decode(&again), decode(&at_two));
}

#[test]
fn every_stateful_operator_captures_without_encoding() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let ssc = TestConfig::default().context(dir.path()).unwrap();
    let sec = Duration::from_secs(1);
    let input = ssc.input_stream_from_fn(|t| Some(batch(t.as_millis() / 1000)));
    let traced = input.map(|(k, v)| (k, Traced(v)));
    let spec = StateSpec::function(|_: &u64, v: Option<Traced>, s: &mut State<Traced>| {
        s.update(v.unwrap_or(Traced(0)));
    });
    let mapped = traced.map_with_state(spec);
    mapped.foreach_batch(|_, _| {});
    let windowed = traced.reduce_by_key_and_window_inv(
        |a, b| Traced(a.0 + b.0),
        |a, b| Traced(a.0 - b.0),
        sec * 3,
        sec,
    );
    windowed.foreach_batch(|_, _| {});
    let ops = [
        mapped.stateful_operator().unwrap(),
        windowed.stateful_operator().unwrap(),
    ];
    ssc.start().unwrap();
    let clock = ssc.manual_clock().unwrap();
    for i in 1..=4u64 {
        clock.advance(sec);
        ssc.await_batch_completion(Time::from_millis(i * 1000), Duration::from_secs(60))
            .unwrap();
    }
    for op in &ops {
        let before = ENCODED.load(Ordering::SeqCst);
        let c = op.capture().unwrap();
        assert!(c.is_deferred(), "{} captures lazily", op.operation());
        assert_eq!(ENCODED.load(Ordering::SeqCst), before, "{}", op.operation());
        assert_eq!(c.encode().unwrap(), op.snapshot().unwrap());
    }
    ssc.stop(StopMode::Immediate);
}
