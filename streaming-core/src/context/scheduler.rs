//! The job generator (a tokio task that fires at every batch time) and the
//! job executor (a thread that runs batches one at a time, in order).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::checkpoint::Checkpointer;
use crate::clock::Clock;
use crate::error::{panic_message, Result, StreamingError};
use crate::graph::env::Env;
use crate::graph::registry::FrozenGraph;
use crate::listener::{BatchInfo, CheckpointInfo, ListenerBus, OutputOperationInfo};
use crate::time::Time;

/// Name of the executor thread; also used to detect `stop` called from a job.
pub(crate) const EXECUTOR_THREAD: &str = "streaming-job-executor";

thread_local! {
    /// Set on the thread running a batch's output operations, so that `stop`
    /// called from user code inside a batch does not wait for that batch.
    static IN_BATCH: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the current thread is running a batch's output operations.
pub(crate) fn in_batch() -> bool {
    IN_BATCH.with(|f| f.get())
}

/// Lifecycle of a context, Spark's `StreamingContextState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamingContextState {
    /// Created, operations may be added, not started.
    Initialized,
    /// Started and running batches.
    Active,
    /// Stopped (by `stop` or by an error); it cannot be restarted.
    Stopped,
}

/// What the generator has been asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StopRequest {
    Run,
    /// Keep generating batches while inputs hold unprocessed data.
    Graceful,
    Immediate,
}

#[derive(Debug)]
pub(crate) struct RunState {
    pub(crate) lifecycle: StreamingContextState,
    pub(crate) last_completed: Option<Time>,
    pub(crate) error: Option<StreamingError>,
    /// The executor has exited (every batch it will run has run).
    pub(crate) executor_done: bool,
}

/// State shared by the context, the generator and the executor.
pub(crate) struct RunShared {
    pub(crate) state: Mutex<RunState>,
    pub(crate) cond: Condvar,
    /// Set on an immediate stop or an error: queued batches are dropped.
    pub(crate) discard: AtomicBool,
}

impl RunShared {
    pub(crate) fn new() -> Self {
        RunShared {
            state: Mutex::new(RunState {
                lifecycle: StreamingContextState::Initialized,
                last_completed: None,
                error: None,
                executor_done: false,
            }),
            cond: Condvar::new(),
            discard: AtomicBool::new(false),
        }
    }

    pub(crate) fn update(&self, f: impl FnOnce(&mut RunState)) {
        let mut s = self.state.lock().unwrap();
        f(&mut s);
        self.cond.notify_all();
    }

    /// Waits until `done(state)` holds or `timeout` passes; returns whether it held.
    pub(crate) fn wait_for(
        &self,
        timeout: Option<Duration>,
        done: impl Fn(&RunState) -> bool,
    ) -> bool {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut s = self.state.lock().unwrap();
        loop {
            if done(&s) {
                return true;
            }
            match deadline {
                None => s = self.cond.wait(s).unwrap(),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return false;
                    }
                    s = self.cond.wait_timeout(s, d - now).unwrap().0;
                }
            }
        }
    }
}

/// A batch handed from the generator to the executor.
pub(crate) struct JobSet {
    pub(crate) time: Time,
    pub(crate) submission_time: Time,
}

/// Generates a batch at every multiple of the interval until asked to stop.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn generator_loop(
    clock: Clock,
    first: Time,
    interval: Duration,
    graph: Arc<FrozenGraph>,
    env: Arc<Env>,
    listeners: Arc<ListenerBus>,
    jobs: mpsc::Sender<JobSet>,
    mut stop: watch::Receiver<StopRequest>,
) {
    let mut t = first;
    loop {
        let req = *stop.borrow_and_update();
        match req {
            StopRequest::Immediate => break,
            StopRequest::Graceful if !graph.inputs.iter().any(|i| i.has_pending_data()) => break,
            _ => {}
        }
        tokio::select! {
            _ = clock.wait_until(t) => {}
            changed = stop.changed() => {
                if changed.is_err() {
                    break;
                }
                continue;
            }
        }
        for input in &graph.inputs {
            input.on_batch_time(t);
        }
        env.set_last_generated(t);
        let submission_time = Time::now();
        let info = BatchInfo {
            batch_time: t,
            num_records: 0,
            stream_id_to_num_records: Default::default(),
            submission_time,
            processing_start_time: None,
            processing_end_time: None,
            num_output_operations: graph.outputs.len(),
            failure: None,
        };
        listeners.post(|l| l.on_batch_submitted(&info));
        tracing::debug!(time = %t, "batch generated");
        if jobs
            .send(JobSet {
                time: t,
                submission_time,
            })
            .is_err()
        {
            break;
        }
        t = t + interval;
    }
    tracing::debug!("job generator stopped");
}

/// Runs batches in order until the generator hangs up. A failed batch is
/// recorded (the first error is what `await_termination` returns) and the
/// next batches run, unless `stop_on_failure`, which stops everything on the
/// first failed batch. With a checkpointer, takes the checkpoints of every
/// batch, and a final one after a clean stop (no batch dropped).
#[allow(clippy::too_many_arguments)]
pub(crate) fn executor_loop(
    graph: Arc<FrozenGraph>,
    env: Arc<Env>,
    listeners: Arc<ListenerBus>,
    run: Arc<RunShared>,
    jobs: mpsc::Receiver<JobSet>,
    stop: Arc<watch::Sender<StopRequest>>,
    checkpointer: Option<Checkpointer>,
    stop_on_failure: bool,
) {
    let mut last_run = None;
    while let Ok(job) = jobs.recv() {
        if run.discard.load(Ordering::SeqCst) {
            tracing::debug!(time = %job.time, "batch dropped by stop");
            continue;
        }
        if let Some(c) = &checkpointer {
            let started = Instant::now();
            let metadata = !c.is_due(job.time);
            c.take_for_batch(job.time, env.last_generated());
            let info = CheckpointInfo {
                time: job.time,
                metadata,
                duration: started.elapsed(),
            };
            listeners.post(|l| l.on_checkpoint_taken(&info));
        }
        last_run = Some(job.time);
        let result = run_batch(&graph, &env, &listeners, &job);
        if let Some(c) = &checkpointer {
            // A state checkpoint due before the next batch: capture now.
            c.prepare(c.next_batch(job.time));
        }
        match result {
            Ok(()) => run.update(|s| s.last_completed = Some(job.time)),
            Err(e) if !stop_on_failure => {
                tracing::error!(time = %job.time, error = %e, "batch failed; the next batches run");
                run.update(|s| {
                    s.last_completed = Some(job.time);
                    s.error.get_or_insert(e);
                });
            }
            Err(e) => {
                tracing::error!(time = %job.time, error = %e, "batch failed; stopping the context");
                run.discard.store(true, Ordering::SeqCst);
                stop.send_replace(StopRequest::Immediate);
                for input in &graph.inputs {
                    input.stop();
                }
                run.update(|s| {
                    s.error.get_or_insert(e);
                    s.lifecycle = StreamingContextState::Stopped;
                });
            }
        }
    }
    if let Some(c) = checkpointer {
        let clean = !run.discard.load(Ordering::SeqCst);
        if let (true, Some(last)) = (clean, last_run) {
            c.take(c.next_batch(last), env.last_generated());
        }
        c.finish();
    }
    run.update(|s| s.executor_done = true);
}

fn run_batch(graph: &FrozenGraph, env: &Env, listeners: &ListenerBus, job: &JobSet) -> Result<()> {
    let time = job.time;
    let mut info = BatchInfo {
        batch_time: time,
        num_records: 0,
        stream_id_to_num_records: Default::default(),
        submission_time: job.submission_time,
        processing_start_time: Some(Time::now()),
        processing_end_time: None,
        num_output_operations: graph.outputs.len(),
        failure: None,
    };
    listeners.post(|l| l.on_batch_started(&info));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        env.install(|| {
            IN_BATCH.with(|f| f.set(true));
            struct Reset;
            impl Drop for Reset {
                fn drop(&mut self) {
                    IN_BATCH.with(|f| f.set(false));
                }
            }
            let _reset = Reset;
            for (id, out) in graph.outputs.iter().enumerate() {
                let mut op = OutputOperationInfo {
                    batch_time: time,
                    id,
                    name: out.name.to_string(),
                    start_time: Some(Time::now()),
                    end_time: None,
                    failure_reason: None,
                };
                listeners.post(|l| l.on_output_operation_started(&op));
                let r =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (out.run)(time, env)));
                let r = match r {
                    Ok(r) => r,
                    Err(p) => Err(StreamingError::UserPanic {
                        time,
                        message: panic_message(p.as_ref()),
                    }),
                };
                op.end_time = Some(Time::now());
                op.failure_reason = r.as_ref().err().map(|e| e.to_string());
                listeners.post(|l| l.on_output_operation_completed(&op));
                r?;
            }
            Ok(())
        })
    }));
    let result = match result {
        Ok(r) => r,
        Err(p) => Err(StreamingError::UserPanic {
            time,
            message: panic_message(p.as_ref()),
        }),
    };
    info.stream_id_to_num_records = env.take_input_records(time);
    info.num_records = info.stream_id_to_num_records.values().sum();
    info.processing_end_time = Some(Time::now());
    info.failure = result.as_ref().err().map(|e| e.to_string());
    listeners.post(|l| l.on_batch_completed(&info));
    for node in &graph.nodes {
        node.clear_metadata(time);
    }
    result
}
