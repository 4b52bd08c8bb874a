//! Each `stream!` example produces exactly the batches of its plain-API twin.
//!
//! Both pipelines of an example run on a manual clock, batch by batch, and
//! their outputs are collected with `foreach_batch` and compared (each
//! batch sorted, since the order of elements after a shuffle is not part of
//! the contract). The seed examples are also checked against the seed's
//! printed results.

#[path = "../examples/dsl_queue_word_count.rs"]
mod queue_word_count;
#[path = "../examples/dsl_running_count.rs"]
mod running_count;
#[path = "../examples/dsl_socket_word_count.rs"]
mod socket_word_count;
#[path = "../examples/dsl_windowed_count.rs"]
mod windowed_count;

use std::io::Write;
use std::sync::{Arc, Mutex};
use streaming::prelude::*;

mod support;
use support::twins::{drive, twin_conf};

/// A local configuration driven by a new manual clock.
fn manual_conf() -> StreamingConf {
    twin_conf("dsl-equivalence")
}

/// Runs `batches` batches of `ssc` and returns what `out` produced, each
/// batch sorted.
fn run<T: Data + Ord>((ssc, out): (StreamingContext, DStream<T>), batches: u64) -> Vec<Vec<T>> {
    drive(ssc, out, batches, |_| {})
}

/// An example's pipeline over a queue, checkpointed in a directory.
type Checkpointed<T> = fn(
    StreamingConf,
    BatchQueue<String>,
    &std::path::Path,
) -> streaming::Result<(StreamingContext, DStream<T>)>;

/// [`run`]s the `stream!` pipeline `dsl` and its plain-API twin `plain`
/// over a `queue()` each, in their own checkpoint directories, for
/// `batches` batches; returns what each produced.
fn run_checkpointed_twins<T: Data + Ord>(
    dsl: Checkpointed<T>,
    plain: Checkpointed<T>,
    queue: fn() -> BatchQueue<String>,
    batches: u64,
) -> (Vec<Vec<T>>, Vec<Vec<T>>) {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("dsl"), dir.path().join("plain"));
    let dsl = run(dsl(manual_conf(), queue(), &a).unwrap(), batches);
    let plain = run(plain(manual_conf(), queue(), &b).unwrap(), batches);
    (dsl, plain)
}

/// [`run_checkpointed_twins`] of example module `$example` over its
/// `$queue`.
macro_rules! twins {
    ($example:ident, $queue:ident, $batches:expr) => {
        run_checkpointed_twins(
            $example::with_dsl,
            $example::with_plain_api,
            $example::$queue,
            $batches,
        )
    };
}

fn pairs(items: &[(&str, u64)]) -> Vec<(String, u64)> {
    items.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn queue_word_count_matches_the_plain_api_and_the_seed() {
    let dsl = run(
        queue_word_count::with_dsl(manual_conf(), queue_word_count::seed_queue()).unwrap(),
        3,
    );
    let plain = run(
        queue_word_count::with_plain_api(manual_conf(), queue_word_count::seed_queue()).unwrap(),
        3,
    );
    assert_eq!(dsl, plain);
    assert_eq!(
        dsl,
        vec![
            pairs(&[("Sample", 1), ("Spark", 1), ("Streaming", 1), ("ssc", 1)]),
            pairs(&[("API", 1), ("Queue", 1), ("Spark", 2)]),
            vec![],
        ]
    );
}

#[test]
fn running_count_matches_the_plain_api_and_the_seed() {
    let (dsl, plain) = twins!(running_count, seed_queue, 3);
    assert_eq!(dsl, plain);
    assert_eq!(
        dsl,
        vec![
            pairs(&[("a", 1), ("b", 1), ("c", 1)]),
            pairs(&[("a", 1), ("b", 2), ("c", 2)]),
            pairs(&[("a", 4), ("b", 2), ("c", 2)]),
        ]
    );
}

#[test]
fn windowed_count_matches_the_plain_api() {
    let (dsl, plain) = twins!(windowed_count, sample_queue, 8);
    assert_eq!(dsl, plain);
    let at = |i: usize| -> Vec<(String, i64)> { dsl[i].clone() };
    // Window of batches 1..=3: "a b a", "b c", "c c d"; words seen twice or more.
    assert_eq!(
        at(2),
        vec![("a".into(), 2), ("b".into(), 2), ("c".into(), 3)]
    );
    // Window of batches 2..=4: "b c", "c c d", "d". `a` left the window, and
    // `b` is back to one occurrence: both are filtered out of the output,
    // while the window still counts `b`.
    assert_eq!(at(3), vec![("c".into(), 3), ("d".into(), 2)]);
    // Batch 7: only batch 5's "e" is left in the window (batches 5..=7).
    assert_eq!(at(6), vec![]);
    assert_eq!(at(7), vec![]);
}

#[test]
fn socket_word_count_matches_the_plain_api() {
    // One server, one connection per pipeline; each receives the same lines.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let lines = "to be or not to be\nthat is the question\n\nto be\n";
    let server = std::thread::spawn(move || {
        for _ in 0..2 {
            let (mut conn, _) = listener.accept().unwrap();
            conn.write_all(lines.as_bytes()).unwrap();
        }
    });
    let totals = |(ssc, counts): (StreamingContext, DStream<(String, u64)>)| {
        // Batch boundaries depend on arrival times, so compare the totals
        // over all batches, once every word has been counted.
        let expected_words = 12;
        let collected: Arc<Mutex<Vec<(String, u64)>>> = Arc::default();
        let sink = collected.clone();
        counts.foreach_batch(move |batch, _| sink.lock().unwrap().extend(batch.collect()));
        ssc.start().unwrap();
        let clock = ssc.manual_clock().unwrap();
        let interval = ssc.batch_interval();
        for i in 1..=200u64 {
            std::thread::sleep(Duration::from_millis(20));
            clock.advance(interval);
            let time = Time::from_millis(i * interval.as_millis() as u64);
            ssc.await_batch_completion(time, Duration::from_secs(60))
                .unwrap();
            let seen: u64 = collected.lock().unwrap().iter().map(|(_, n)| n).sum();
            if seen >= expected_words {
                break;
            }
        }
        ssc.stop(StopMode::Immediate);
        let mut total = std::collections::BTreeMap::new();
        for (word, n) in collected.lock().unwrap().drain(..) {
            *total.entry(word).or_insert(0) += n;
        }
        total
    };
    let dsl = totals(socket_word_count::with_dsl(manual_conf(), "127.0.0.1", port).unwrap());
    let plain =
        totals(socket_word_count::with_plain_api(manual_conf(), "127.0.0.1", port).unwrap());
    server.join().unwrap();
    assert_eq!(dsl, plain);
    assert_eq!(dsl.get("to"), Some(&3));
    assert_eq!(dsl.get("be"), Some(&3));
    assert_eq!(dsl.values().sum::<u64>(), 12);
}
