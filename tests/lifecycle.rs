//! StreamingContext lifecycle, stop modes, queue input, listeners and slice.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use streaming::prelude::*;
use streaming::{BatchInfo, ManualClock, OutputOperationInfo, StreamingContextState};

mod support;
use support::{collect_timed as collect, manual_conf, run_batches, try_step as step};

fn manual_ssc(master: &str) -> (StreamingContext, ManualClock) {
    manual_ssc_with(master, |c| c)
}

fn manual_ssc_with(
    master: &str,
    conf: impl FnOnce(StreamingConf) -> StreamingConf,
) -> (StreamingContext, ManualClock) {
    let clock = ManualClock::new();
    let ssc = StreamingContext::new(conf(manual_conf(&clock).master(master))).unwrap();
    (ssc, clock)
}

/// The `BatchInfo` of every batch as it completes.
fn completed_batches(ssc: &StreamingContext) -> std::sync::mpsc::Receiver<BatchInfo> {
    let (tx, rx) = std::sync::mpsc::channel();
    struct Completed(Mutex<std::sync::mpsc::Sender<BatchInfo>>);
    impl StreamingListener for Completed {
        fn on_batch_completed(&self, info: &BatchInfo) {
            let _ = self.0.lock().unwrap().send(info.clone());
        }
    }
    ssc.add_streaming_listener(Completed(Mutex::new(tx)));
    rx
}

/// A started `local[2]` context with a manual clock, collecting the queue
/// stream of `queue`.
fn start_collecting(queue: &BatchQueue<i32>, one_at_a_time: bool) -> Started {
    let (ssc, clock) = manual_ssc("local[2]");
    let out = collect(&ssc.queue_stream(queue.clone(), one_at_a_time));
    ssc.start().unwrap();
    (ssc, clock, out)
}

/// A started context, its clock, and its batches with their times.
type Started = (
    StreamingContext,
    ManualClock,
    Arc<Mutex<Vec<(u64, Vec<i32>)>>>,
);

/// A queue holding `batches`.
fn queued<T: Data>(batches: impl IntoIterator<Item = Vec<T>>) -> BatchQueue<T> {
    let queue = BatchQueue::new();
    for b in batches {
        queue.push(b);
    }
    queue
}

#[test]
fn conf_errors_are_typed() {
    let err = StreamingContext::new(StreamingConf::new()).unwrap_err();
    assert!(
        matches!(err, StreamingError::Config(ref m) if m.contains("batch interval")),
        "{err}"
    );
    let err =
        StreamingContext::new(StreamingConf::new().batch_interval(Duration::ZERO)).unwrap_err();
    assert!(matches!(err, StreamingError::Config(_)), "{err}");
    let err = StreamingContext::new(
        StreamingConf::new()
            .master("yarn")
            .batch_interval(Duration::from_secs(1)),
    )
    .unwrap_err();
    assert!(err.to_string().contains("yarn"), "{err}");
    let err = StreamingContext::new(
        StreamingConf::new()
            .master("local[0]")
            .batch_interval(Duration::from_secs(1)),
    )
    .unwrap_err();
    assert!(matches!(err, StreamingError::Config(_)), "{err}");
    assert_eq!(
        StreamingConf::new().master("local").parallelism().unwrap(),
        1
    );
    assert_eq!(
        StreamingConf::new()
            .master("local[3]")
            .parallelism()
            .unwrap(),
        3
    );
    assert!(
        StreamingConf::new()
            .master("local[*]")
            .parallelism()
            .unwrap()
            >= 1
    );
}

#[test]
fn start_without_output_operations_is_an_error() {
    let (ssc, _) = manual_ssc("local[2]");
    let _ = ssc
        .queue_stream(BatchQueue::<i32>::new(), true)
        .map(|x| x + 1);
    assert!(matches!(
        ssc.start(),
        Err(StreamingError::NoOutputOperations)
    ));
    // As in Spark, a context that failed to start is stopped.
    assert_eq!(ssc.state(), StreamingContextState::Stopped);
    assert!(matches!(ssc.start(), Err(StreamingError::IllegalState(_))));
}

#[test]
fn lifecycle_rules() {
    let (ssc, _) = manual_ssc("local[2]");
    let s = ssc.queue_stream(BatchQueue::<i32>::new(), true);
    s.foreach_batch(|_, _| {});
    assert_eq!(ssc.state(), StreamingContextState::Initialized);
    ssc.start().unwrap();
    assert_eq!(ssc.state(), StreamingContextState::Active);
    // A second start is a no-op.
    ssc.start().unwrap();
    assert_eq!(ssc.state(), StreamingContextState::Active);
    // Adding operations after start panics, as Spark throws.
    let err =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.map(|x| x * 2))).unwrap_err();
    let msg = streaming_panic_message(err);
    assert!(msg.contains("after starting"), "{msg}");
    assert!(!ssc
        .await_termination_or_timeout(Duration::from_millis(10))
        .unwrap());
    ssc.stop(StopMode::Immediate);
    assert_eq!(ssc.state(), StreamingContextState::Stopped);
    assert!(ssc
        .await_termination_or_timeout(Duration::from_millis(10))
        .unwrap());
    ssc.await_termination().unwrap();
    // Stopping twice is fine; restarting is not.
    ssc.stop(StopMode::Graceful);
    assert!(matches!(ssc.start(), Err(StreamingError::IllegalState(_))));
}

#[test]
fn stop_before_start_then_start_is_an_error() {
    let (ssc, _) = manual_ssc("local[2]");
    ssc.queue_stream(BatchQueue::<i32>::new(), true)
        .foreach_batch(|_, _| {});
    ssc.stop(StopMode::Immediate);
    assert_eq!(ssc.state(), StreamingContextState::Stopped);
    assert!(matches!(ssc.start(), Err(StreamingError::IllegalState(_))));
}

fn streaming_panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn batches_run_in_order_at_each_interval_under_the_manual_clock() {
    let queue = queued((1..=3).map(|i| vec![i]));
    let (ssc, _, out) = start_collecting(&queue, true);
    run_batches(&ssc, 1..=4);
    ssc.stop(StopMode::Immediate);
    // The exhausted queue gives an empty batch at 4000 ms.
    assert_eq!(
        *out.lock().unwrap(),
        vec![
            (1000, vec![1]),
            (2000, vec![2]),
            (3000, vec![3]),
            (4000, vec![])
        ]
    );
}

#[test]
fn queue_without_one_at_a_time_merges_everything_queued() {
    let queue = queued([vec![1, 2], vec![3]]);
    let (ssc, clock, out) = start_collecting(&queue, false);
    step(&ssc, &clock, 1).unwrap();
    // Pushed from another thread while running.
    let q2 = queue.clone();
    std::thread::spawn(move || {
        q2.push(vec![4]);
        q2.push(Batch::from_partitions(vec![vec![5], vec![6]]));
    })
    .join()
    .unwrap();
    step(&ssc, &clock, 2).unwrap();
    step(&ssc, &clock, 3).unwrap();
    ssc.stop(StopMode::Immediate);
    assert_eq!(
        *out.lock().unwrap(),
        vec![(1000, vec![1, 2, 3]), (2000, vec![4, 5, 6]), (3000, vec![])]
    );
}

#[test]
fn immediate_stop_drops_queued_work() {
    let queue = queued((1..=3).map(|i| vec![i]));
    let (ssc, clock, out) = start_collecting(&queue, true);
    step(&ssc, &clock, 1).unwrap();
    ssc.stop(StopMode::Immediate);
    assert_eq!(*out.lock().unwrap(), vec![(1000, vec![1])]);
    assert_eq!(queue.len(), 2, "the remaining batches were not consumed");
}

#[test]
fn graceful_stop_processes_every_queued_batch() {
    // System clock: when each batch runs depends on timing, but what runs does not.
    let ssc = StreamingContext::new(
        StreamingConf::new()
            .master("local[2]")
            .batch_interval(Duration::from_millis(20)),
    )
    .unwrap();
    let queue = queued((1..=5).map(|i| vec![i]));
    let out = collect(&ssc.queue_stream(queue.clone(), true));
    ssc.start().unwrap();
    ssc.stop(StopMode::Graceful);
    let got: Vec<i32> = out
        .lock()
        .unwrap()
        .iter()
        .flat_map(|(_, b)| b.clone())
        .collect();
    assert_eq!(got, vec![1, 2, 3, 4, 5]);
    assert!(queue.is_empty());
    assert_eq!(ssc.state(), StreamingContextState::Stopped);
}

#[test]
fn graceful_stop_under_a_manual_clock_waits_for_the_clock() {
    let queue = queued([vec![1], vec![2]]);
    let (ssc, clock, out) = start_collecting(&queue, true);
    let ssc2 = ssc.clone();
    let stopper = std::thread::spawn(move || ssc2.stop(StopMode::Graceful));
    // The stop cannot finish until the clock reaches the batches holding the data.
    step(&ssc, &clock, 1).unwrap();
    step(&ssc, &clock, 2).unwrap();
    stopper.join().unwrap();
    assert_eq!(*out.lock().unwrap(), vec![(1000, vec![1]), (2000, vec![2])]);
}

#[test]
fn with_stop_on_batch_failure_a_panic_stops_the_context_and_await_termination_returns_it() {
    let (ssc, clock) = manual_ssc_with("local[2]", |c| {
        c.set(streaming::STOP_ON_BATCH_FAILURE, "true")
    });
    let queue = queued([vec![1], vec![2], vec![3]]);
    let processed = Arc::new(AtomicUsize::new(0));
    let p = processed.clone();
    ssc.queue_stream(queue.clone(), true)
        .map(|x: i32| if x == 2 { panic!("bad record {x}") } else { x })
        .foreach_batch(move |_, _| {
            p.fetch_add(1, Ordering::SeqCst);
        });
    ssc.start().unwrap();
    step(&ssc, &clock, 1).unwrap();
    let err = step(&ssc, &clock, 2).unwrap_err();
    assert!(err.to_string().contains("bad record 2"), "{err}");
    let err = ssc.await_termination().unwrap_err();
    assert!(
        matches!(&err, StreamingError::UserPanic { time, message } if time.as_millis() == 2000 && message == "bad record 2")
    );
    assert_eq!(ssc.state(), StreamingContextState::Stopped);
    // No further batch runs.
    clock.advance(Duration::from_secs(5));
    ssc.stop(StopMode::Immediate);
    assert_eq!(processed.load(Ordering::SeqCst), 1);
    assert!(ssc
        .await_termination_or_timeout(Duration::from_millis(1))
        .is_err());
}

#[test]
fn stop_from_inside_an_output_operation_does_not_deadlock() {
    let (ssc, clock) = manual_ssc("local[2]");
    let queue = queued([vec![1]]);
    let handle = ssc.clone();
    ssc.queue_stream(queue, true)
        .foreach_batch(move |_, _| handle.stop(StopMode::Immediate));
    ssc.start().unwrap();
    clock.advance(Duration::from_secs(1));
    ssc.await_termination().unwrap();
    assert_eq!(ssc.state(), StreamingContextState::Stopped);
    ssc.stop(StopMode::Immediate);
}

#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<String>>,
    infos: Mutex<Vec<BatchInfo>>,
}

impl StreamingListener for Recorder {
    fn on_streaming_started(&self, time: Time) {
        self.events.lock().unwrap().push(format!("started {time}"));
    }
    fn on_batch_submitted(&self, info: &BatchInfo) {
        self.events
            .lock()
            .unwrap()
            .push(format!("submitted {}", info.batch_time));
    }
    fn on_batch_started(&self, info: &BatchInfo) {
        self.events
            .lock()
            .unwrap()
            .push(format!("batch started {}", info.batch_time));
    }
    fn on_batch_completed(&self, info: &BatchInfo) {
        self.events.lock().unwrap().push(format!(
            "completed {} records={}",
            info.batch_time, info.num_records
        ));
        self.infos.lock().unwrap().push(info.clone());
    }
    fn on_output_operation_started(&self, info: &OutputOperationInfo) {
        self.events
            .lock()
            .unwrap()
            .push(format!("op {} {} started", info.id, info.name));
    }
    fn on_output_operation_completed(&self, info: &OutputOperationInfo) {
        self.events
            .lock()
            .unwrap()
            .push(format!("op {} {} completed", info.id, info.name));
    }
}

#[test]
fn listener_sees_batch_and_output_events_with_statistics() {
    let (ssc, clock) = manual_ssc("local[2]");
    let rec = Arc::new(Recorder::default());
    struct Fwd(Arc<Recorder>);
    impl StreamingListener for Fwd {
        fn on_streaming_started(&self, t: Time) {
            self.0.on_streaming_started(t)
        }
        fn on_batch_submitted(&self, i: &BatchInfo) {
            self.0.on_batch_submitted(i)
        }
        fn on_batch_started(&self, i: &BatchInfo) {
            self.0.on_batch_started(i)
        }
        fn on_batch_completed(&self, i: &BatchInfo) {
            self.0.on_batch_completed(i)
        }
        fn on_output_operation_started(&self, i: &OutputOperationInfo) {
            self.0.on_output_operation_started(i)
        }
        fn on_output_operation_completed(&self, i: &OutputOperationInfo) {
            self.0.on_output_operation_completed(i)
        }
    }
    ssc.add_streaming_listener(Fwd(rec.clone()));
    let queue = queued([vec![1, 2, 3], vec![4]]);
    let s = ssc.queue_stream(queue, true);
    s.count().foreach_batch(|_, _| {});
    s.foreach_batch(|_, _| {});
    ssc.start().unwrap();
    step(&ssc, &clock, 1).unwrap();
    step(&ssc, &clock, 2).unwrap();
    ssc.stop(StopMode::Immediate);
    let events = rec.events.lock().unwrap().clone();
    assert_eq!(
        events[..9],
        [
            "started 1000 ms",
            "submitted 1000 ms",
            "batch started 1000 ms",
            "op 0 foreach_batch started",
            "op 0 foreach_batch completed",
            "op 1 foreach_batch started",
            "op 1 foreach_batch completed",
            "completed 1000 ms records=3",
            "submitted 2000 ms",
        ]
    );
    assert!(
        events.contains(&"completed 2000 ms records=1".to_string()),
        "{events:?}"
    );
    let infos = rec.infos.lock().unwrap();
    assert_eq!(infos.len(), 2);
    for info in infos.iter() {
        assert!(info.scheduling_delay().is_some());
        assert!(info.processing_delay().is_some());
        assert!(info.total_delay().unwrap() >= info.processing_delay().unwrap());
        assert_eq!(info.num_output_operations, 2);
        assert!(info.failure.is_none());
    }
}

#[test]
fn slice_is_an_error_before_start_and_returns_remembered_batches_after() {
    let (ssc, _) = manual_ssc("local[2]");
    ssc.remember(Duration::from_secs(10));
    let queue = queued((1..=4).map(|i| vec![i]));
    let s = ssc.queue_stream(queue, true).map(|x: i32| x * 10);
    s.foreach_batch(|_, _| {});
    assert!(matches!(
        s.slice(Time::from_millis(0), Time::from_millis(1000)),
        Err(StreamingError::IllegalState(_))
    ));
    ssc.start().unwrap();
    run_batches(&ssc, 1..=4);
    // From 1500 (aligned down to 1000) to 3000.
    let batches = s
        .slice(Time::from_millis(1500), Time::from_millis(3000))
        .unwrap();
    let got: Vec<Vec<i32>> = batches.iter().map(|b| b.collect()).collect();
    assert_eq!(got, vec![vec![10], vec![20], vec![30]]);
    ssc.stop(StopMode::Immediate);
}

#[test]
fn batches_are_forgotten_after_the_remember_duration() {
    let (ssc, _) = manual_ssc("local[2]");
    let queue = queued((1..=4).map(|i| vec![i]));
    let s = ssc.queue_stream(queue.clone(), true);
    let cached = s.map(|x: i32| x * 10).cache();
    cached.foreach_batch(|_, _| {});
    ssc.start().unwrap();
    run_batches(&ssc, 1..=3);
    let slice = |s: &DStream<i32>| -> Vec<Vec<i32>> {
        s.slice(Time::from_millis(1000), Time::from_millis(3000))
            .unwrap()
            .iter()
            .map(|b| b.collect())
            .collect()
    };
    // A cached stream keeps its latest batch (its remember duration is one
    // slide); older ones are dropped.
    assert_eq!(slice(&cached), vec![vec![30]]);
    // The input was consumed once per batch and is not memoized: past batches
    // are gone and are not recomputed (which would take data from the queue
    // again).
    assert_eq!(slice(&s), Vec::<Vec<i32>>::new());
    assert_eq!(queue.len(), 1);
    ssc.stop(StopMode::Immediate);
}

#[test]
fn master_sets_the_default_shuffle_parallelism() {
    let (ssc, clock) = manual_ssc("local[3]");
    let queue = BatchQueue::new();
    queue.push((0..50).map(|i| (i % 7, 1)).collect::<Vec<(i32, i32)>>());
    let out = collect(
        &ssc.queue_stream(queue, true)
            .reduce_by_key(|a, b| a + b)
            .glom()
            .map(|p| p.len()),
    );
    ssc.start().unwrap();
    step(&ssc, &clock, 1).unwrap();
    ssc.stop(StopMode::Immediate);
    let sizes = out.lock().unwrap()[0].1.clone();
    assert_eq!(sizes.len(), 3);
    assert_eq!(sizes.iter().sum::<usize>(), 7);
}

/// An element that counts its clones.
static CLONES: AtomicUsize = AtomicUsize::new(0);
#[derive(Debug, PartialEq)]
struct Tracked(u64);
impl Clone for Tracked {
    fn clone(&self) -> Self {
        CLONES.fetch_add(1, Ordering::SeqCst);
        Tracked(self.0)
    }
}

/// Runs `chains` narrow chains of four operators over one input batch of
/// 1000 elements; returns (elements counted per chain, clones made).
fn run_narrow_chains(chains: usize) -> (Vec<usize>, usize) {
    let (ssc, clock) = manual_ssc("local[2]");
    let queue = BatchQueue::new();
    queue.push(Batch::split((0..1000).map(Tracked).collect::<Vec<_>>(), 4));
    let input = ssc.queue_stream(queue, true);
    let totals: Vec<Arc<AtomicUsize>> = (0..chains).map(|_| Arc::default()).collect();
    for t in &totals {
        let t = t.clone();
        input
            .map(|x: Tracked| Tracked(x.0 + 1))
            .filter(|x| x.0 % 2 == 0)
            .map(|x| Tracked(x.0 * 2))
            .flat_map(|x| vec![x])
            .count()
            .foreach_batch(move |b, _| t.store(b.collect()[0] as usize, Ordering::SeqCst));
    }
    ssc.start().unwrap();
    CLONES.store(0, Ordering::SeqCst);
    step(&ssc, &clock, 1).unwrap();
    ssc.stop(StopMode::Immediate);
    let counted = totals.iter().map(|t| t.load(Ordering::SeqCst)).collect();
    (counted, CLONES.load(Ordering::SeqCst))
}

#[test]
fn a_narrow_chain_copies_no_element_and_a_shared_input_once_per_consumer() {
    // One consumer: the input batch is handed over and every operator passes
    // values along by move.
    let (counted, clones) = run_narrow_chains(1);
    assert_eq!(counted, vec![500]);
    assert_eq!(clones, 0);
    // Two consumers share the memoized input: each chain reads it once, so
    // one clone per element per chain, never one per operator.
    let (counted, clones) = run_narrow_chains(2);
    assert_eq!(counted, vec![500, 500]);
    assert_eq!(clones, 2000);
}

#[test]
fn a_stateful_pipeline_without_checkpoint_fails_to_start_and_is_stopped() {
    let (ssc, _) = manual_ssc("local[2]");
    let s = ssc.queue_stream(BatchQueue::<(String, u64)>::new(), true);
    s.update_state_by_key(|v: &[u64], st: Option<u64>| Some(st.unwrap_or(0) + v.len() as u64))
        .foreach_batch(|_, _| {});
    let err = ssc.start().unwrap_err();
    assert!(err.to_string().contains("checkpoint"), "{err}");
    assert_eq!(ssc.state(), StreamingContextState::Stopped);
    // Its graph is closed, as after any stop.
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.count())).unwrap_err();
    assert!(streaming_panic_message(panic).contains("after starting or stopping"));
}

#[test]
fn the_checkpoint_directory_setting_sets_the_checkpoint_directory() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("ck");
    let (ssc, _) = manual_ssc_with("local[2]", |c| {
        c.set(streaming::CHECKPOINT_DIRECTORY, ckpt.to_str().unwrap())
    });
    assert_eq!(ssc.checkpoint_dir().as_deref(), Some(ckpt.as_path()));
    assert!(ckpt.is_dir());
}

#[test]
fn get_active_is_the_started_context_until_it_stops() {
    let (ssc, _) = manual_ssc("local[2]");
    ssc.queue_stream(BatchQueue::<i32>::new(), true)
        .foreach_batch(|_, _| {});
    ssc.start().unwrap();
    // Other tests of this binary start contexts too: ours is active unless a
    // newer one is.
    let active = StreamingContext::get_active().expect("an active context");
    assert_eq!(active.state(), StreamingContextState::Active);
    let same = StreamingContext::get_active_or_create(|| panic!("not called")).unwrap();
    assert_eq!(same.state(), StreamingContextState::Active);
    ssc.stop(StopMode::Immediate);
    if let Some(a) = StreamingContext::get_active() {
        assert_eq!(a.state(), StreamingContextState::Active);
    }
}

/// The PySpark conformance vector: batches 0..3, batch 1 fails; the failure
/// is reported (listener, `await_termination`) and later batches still run,
/// as in Spark: outputs `[0, 2, 3]`.
#[test]
fn a_failed_batch_is_reported_and_later_batches_run() {
    let (ssc, clock) = manual_ssc("local[2]");
    let queue = BatchQueue::new();
    for i in 0..4 {
        queue.push(vec![i]);
    }
    let out: Arc<Mutex<Vec<i32>>> = Arc::default();
    let sink = out.clone();
    ssc.queue_stream(queue, true).foreach_batch(move |b, _| {
        let v = b.collect();
        if v == vec![1] {
            panic!("batch with 1");
        }
        sink.lock().unwrap().extend(v);
    });
    let rx = completed_batches(&ssc);
    ssc.start().unwrap();
    let mut infos = Vec::new();
    for _ in 0..4 {
        clock.advance(Duration::from_secs(1));
        infos.push(rx.recv_timeout(support::TIMEOUT).expect("batch completed"));
    }
    assert_eq!(*out.lock().unwrap(), vec![0, 2, 3]);
    let failures: Vec<Option<String>> = infos.iter().map(|i| i.failure.clone()).collect();
    assert!(failures[0].is_none() && failures[2].is_none() && failures[3].is_none());
    assert!(
        failures[1]
            .as_deref()
            .is_some_and(|f| f.contains("batch with 1")),
        "{failures:?}"
    );
    assert_eq!(ssc.state(), StreamingContextState::Active);
    let err = ssc.await_termination().unwrap_err();
    assert!(
        matches!(&err, StreamingError::UserPanic { time, .. } if time.as_millis() == 2000),
        "{err}"
    );
    ssc.stop(StopMode::Immediate);
}

/// Runs `stateful` over three batches of `(word, n)` pairs, the second of
/// which holds a 99 (on which its function panics, after some of the batch
/// was folded in); returns each batch's failure and the collected outputs
/// of the batches that succeeded, each sorted.
fn run_with_a_failing_batch<U: Data + Ord>(
    stateful: impl FnOnce(DStream<(String, u64)>) -> DStream<U>,
) -> (Vec<Option<String>>, Vec<Vec<U>>, u64) {
    let dir = tempfile::tempdir().unwrap();
    let (ssc, clock) = manual_ssc("local[2]");
    ssc.checkpoint(dir.path()).unwrap();
    let w = |s: &str, n: u64| (s.to_string(), n);
    let queue = queued([
        vec![w("a", 1), w("b", 1), w("c", 1)],
        // Keys on both sides of the failing one, in several partitions.
        vec![w("a", 5), w("b", 5), w("c", 99), w("d", 5), w("e", 5)],
        vec![w("b", 1), w("d", 1)],
    ]);
    let out = collect(&stateful(ssc.queue_stream(queue, true)));
    let rx = completed_batches(&ssc);
    ssc.start().unwrap();
    let mut failures = Vec::new();
    for _ in 0..3 {
        clock.advance(Duration::from_secs(1));
        failures.push(
            rx.recv_timeout(support::TIMEOUT)
                .expect("batch completed")
                .failure,
        );
    }
    ssc.stop(StopMode::Immediate);
    let outputs = out
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| {
            let mut b = b.clone();
            b.sort();
            b
        })
        .collect();
    (failures, outputs, ssc.checkpoint_failures())
}

/// The failures of [`run_with_a_failing_batch`]: the second batch's (on
/// its 99), and only that one.
fn assert_only_the_bad_batch_failed(failures: &[Option<String>]) {
    assert!(
        failures[0].is_none() && failures[2].is_none(),
        "{failures:?}"
    );
    assert!(
        failures[1]
            .as_deref()
            .is_some_and(|f| f.contains("bad value")),
        "{failures:?}"
    );
}

fn no_99(v: u64) -> u64 {
    assert_ne!(v, 99, "bad value");
    v
}

/// A panic inside a stateful operator's update fails that batch, and the
/// operator's state is rolled back to what it was before the batch: the
/// next batch computes from it as if the failed batch had brought no data,
/// and its state checkpoints go on. For `update_state_by_key`,
/// `map_with_state` and an incremental window.
#[test]
fn a_failed_batch_leaves_the_state_as_it_was_before_it() {
    let w = |s: &str, n: u64| (s.to_string(), n);
    let check = |failures: &[Option<String>], checkpoint_failures: u64| {
        assert_only_the_bad_batch_failed(failures);
        assert_eq!(checkpoint_failures, 0, "the state is checkpointed as usual");
    };

    let (failures, out, cpf) = run_with_a_failing_batch(|s| {
        s.update_state_by_key(|new: &[u64], old: Option<u64>| {
            Some(old.unwrap_or(0) + new.iter().map(|v| no_99(*v)).sum::<u64>())
        })
        .checkpoint(Duration::from_secs(1))
    });
    check(&failures, cpf);
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(out[0], vec![w("a", 1), w("b", 1), w("c", 1)]);
    assert_eq!(out[1], vec![w("a", 1), w("b", 2), w("c", 1), w("d", 1)]);

    let (failures, out, cpf) = run_with_a_failing_batch(|s| {
        let spec = StateSpec::function(|k: &String, v: Option<u64>, st: &mut State<u64>| {
            let n = st.get().copied().unwrap_or(0) + no_99(v.unwrap_or(0));
            st.update(n);
            (k.clone(), n)
        });
        s.map_with_state(spec).state_snapshots()
    });
    check(&failures, cpf);
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(out[1], vec![w("a", 1), w("b", 2), w("c", 1), w("d", 1)]);

    let (failures, out, cpf) = run_with_a_failing_batch(|s| {
        s.map(|(k, v)| (k, v)).reduce_by_key_and_window_inv(
            |a, b| no_99(a) + no_99(b),
            |a, b| a - b,
            Duration::from_secs(3),
            Duration::from_secs(1),
        )
    });
    check(&failures, cpf);
    assert_eq!(out.len(), 2, "{out:?}");
    // The window over batches 1..3 without the failed batch.
    assert_eq!(out[1], vec![w("a", 1), w("b", 2), w("c", 1), w("d", 1)]);

    // Spark's filter function failing on one key of the slide, after other
    // keys were computed: the window is as before the batch.
    let (failures, out, cpf) = run_with_a_failing_batch(|s| {
        s.reduce_by_key_and_window_inv_filtered(
            |a, b| a + b,
            |a, b| a - b,
            Duration::from_secs(3),
            Duration::from_secs(1),
            |(_, v): &(String, u64)| {
                no_99(v.wrapping_sub(1));
                true
            },
        )
    });
    check(&failures, cpf);
    assert_eq!(out[1], vec![w("a", 1), w("b", 2), w("c", 1), w("d", 1)]);

    // The built-in sum fed by a combine of its own (what `stream!` makes of
    // a borrowing chain), failing while it builds the batch's pane.
    let (failures, out, cpf) = run_with_a_failing_batch(|s| {
        s.sum_ref_into_by_key_and_window(
            |(k, v): &(String, u64), out| {
                out.insert_ref(
                    k.as_str(),
                    no_99(*v),
                    |v| v,
                    <u64 as streaming::WindowSum>::add,
                )
            },
            Duration::from_secs(3),
            Duration::from_secs(1),
        )
    });
    check(&failures, cpf);
    assert_eq!(out[1], vec![w("a", 1), w("b", 2), w("c", 1), w("d", 1)]);
}

/// A window without an inverse is not journaled: a panic in its reducer
/// fails that batch, and the window starts again, empty, after it (the
/// next batches run, holding only what came after the failure).
#[test]
fn a_failed_slide_of_a_window_without_inverse_restarts_it_after_the_failure() {
    let (failures, out, _) = run_with_a_failing_batch(|s| {
        s.reduce_by_key_and_window(
            |a, b| no_99(a) + no_99(b),
            Duration::from_secs(3),
            Duration::from_secs(1),
        )
    });
    assert_only_the_bad_batch_failed(&failures);
    assert_eq!(out.len(), 2, "{out:?}");
    let w = |s: &str, n: u64| (s.to_string(), n);
    assert_eq!(out[1], vec![w("b", 1), w("d", 1)]);
}

/// A `map_with_state` batch that fails while keys time out puts back what
/// it timed out: the key is still there, and times out at the next batch
/// (its one last call made then), as if the failed batch had not run.
#[test]
fn a_failed_batch_of_timeouts_puts_the_timed_out_keys_back() {
    use std::sync::atomic::AtomicBool;
    let dir = tempfile::tempdir().unwrap();
    let (ssc, clock) = manual_ssc("local[2]");
    ssc.checkpoint(dir.path()).unwrap();
    let w = |s: &str| (s.to_string(), 1u64);
    // "x" and "y" arrive at 1 s and stay idle; with a 2 s timeout they time
    // out at the batch of 4 s, which fails once on "x"'s last call.
    let queue = queued([vec![w("x"), w("y")], vec![], vec![], vec![], vec![]]);
    let failed = Arc::new(AtomicBool::new(false));
    let once = failed.clone();
    let spec = StateSpec::function(move |k: &String, v: Option<u64>, st: &mut State<u64>| {
        if st.is_timing_out() {
            if k == "x" && !once.swap(true, Ordering::SeqCst) {
                panic!("timeout of x fails once");
            }
            return (format!("{k} timed out"), *st.get().unwrap());
        }
        let n = st.get().copied().unwrap_or(0) + v.unwrap_or(0);
        st.update(n);
        (k.clone(), n)
    })
    .timeout(Duration::from_secs(2));
    let mapped = ssc.queue_stream(queue, true).map_with_state(spec);
    let out = collect(&mapped);
    let states = collect(&mapped.state_snapshots());
    let rx = completed_batches(&ssc);
    ssc.start().unwrap();
    let mut failures = Vec::new();
    for _ in 0..5 {
        clock.advance(Duration::from_secs(1));
        failures.push(rx.recv_timeout(support::TIMEOUT).expect("batch").failure);
    }
    ssc.stop(StopMode::Immediate);
    assert!(failed.load(Ordering::SeqCst));
    let failed_at: Vec<usize> = (0..5).filter(|&i| failures[i].is_some()).collect();
    assert_eq!(failed_at, vec![3], "{failures:?}");
    let by_time = |c: &Arc<Mutex<Vec<(u64, Vec<(String, u64)>)>>>, t: u64| {
        let mut v = c
            .lock()
            .unwrap()
            .iter()
            .find(|(time, _)| *time == t)
            .map(|(_, b)| b.clone())
            .unwrap_or_else(|| panic!("no batch at {t} ms"));
        v.sort();
        v
    };
    // Both keys are still in the state after the failed batch, and time
    // out, each once, in the next one.
    assert_eq!(by_time(&states, 3000), vec![w("x"), w("y")]);
    assert_eq!(
        by_time(&out, 5000),
        vec![
            ("x timed out".to_string(), 1),
            ("y timed out".to_string(), 1)
        ]
    );
    assert_eq!(by_time(&states, 5000), vec![]);
}
