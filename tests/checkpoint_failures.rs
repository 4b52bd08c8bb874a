//! Checkpoint failures are never silent: a checkpoint that cannot be
//! written reaches the listeners (`on_checkpoint_failed`) and the context's
//! counter, and the batches go on.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use streaming::prelude::*;
use streaming::{CheckpointFailureInfo, ManualClock};

mod support;
use support::manual_conf;

const WAIT: Duration = Duration::from_secs(30);

struct Failures(Mutex<mpsc::Sender<CheckpointFailureInfo>>);

impl StreamingListener for Failures {
    fn on_checkpoint_failed(&self, info: &CheckpointFailureInfo) {
        let _ = self.0.lock().unwrap().send(info.clone());
    }
}

#[test]
fn a_checkpoint_that_cannot_be_written_reaches_the_listeners_and_the_counter() {
    let root = tempfile::tempdir().unwrap();
    let ckpt = root.path().join("checkpoint");
    let clock = ManualClock::new();
    let ssc = StreamingContext::new(manual_conf(&clock)).unwrap();
    ssc.checkpoint(&ckpt).unwrap();
    let (tx, rx) = mpsc::channel();
    ssc.add_streaming_listener(Failures(Mutex::new(tx)));
    let seen: Arc<Mutex<Vec<u64>>> = Arc::default();
    let sink = seen.clone();
    ssc.input_stream_from_fn(|t| Some(Batch::from(vec![t.as_millis()])))
        .foreach_batch(move |b, _| sink.lock().unwrap().extend(b.collect()));
    ssc.start().unwrap();
    clock.advance(Duration::from_secs(1));
    ssc.await_batch_completion(Time::from_millis(1000), WAIT)
        .unwrap();
    assert_eq!(ssc.checkpoint_failures(), 0);

    // The checkpoint directory becomes a plain file: nothing can be written
    // into it any more.
    std::fs::remove_dir_all(&ckpt).unwrap();
    std::fs::write(&ckpt, b"not a directory").unwrap();
    clock.advance(Duration::from_secs(1));
    ssc.await_batch_completion(Time::from_millis(2000), WAIT)
        .unwrap();
    let failure = rx.recv_timeout(WAIT).expect("a checkpoint failure event");
    assert!(failure.reason.contains("cannot write"), "{failure:?}");
    assert!(ssc.checkpoint_failures() >= 1);
    // The batches go on.
    clock.advance(Duration::from_secs(1));
    ssc.await_batch_completion(Time::from_millis(3000), WAIT)
        .unwrap();
    ssc.stop(StopMode::Immediate);
    assert_eq!(*seen.lock().unwrap(), vec![1000, 2000, 3000]);
}
