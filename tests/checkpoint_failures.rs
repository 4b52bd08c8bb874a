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
    // into it any more. The writer thread may still be writing batch 1's
    // checkpoint into it, so the directory is moved away (atomically) and
    // the file put in its place, again if the writer made a new directory
    // there in between.
    let moved = root.path().join("moved");
    let mut attempt = 0;
    loop {
        attempt += 1;
        if ckpt.is_dir() {
            let _ = std::fs::remove_dir_all(&moved);
            std::fs::rename(&ckpt, &moved).unwrap();
        }
        if std::fs::write(&ckpt, b"not a directory").is_ok() && ckpt.is_file() {
            break;
        }
        assert!(attempt < 1000, "could not replace the checkpoint directory");
        std::thread::sleep(Duration::from_millis(5));
    }
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
