//! The [`StreamingContext`], the top layer: every `StreamingContext`
//! method lives in this folder. This file holds its configuration and
//! lifecycle (`start`, `stop`, `await_termination`); `input` creates input
//! streams, `recovery` rebuilds a context from a checkpoint
//! (`get_or_create`), `signals` stops contexts gracefully on SIGINT/SIGTERM,
//! and `scheduler` runs the job generator (tokio) and the executor.

mod input;
mod recovering;
mod recovery;
pub(crate) mod scheduler;
mod signals;

use std::any::Any;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

use crate::batch::Data;
use crate::checkpoint::{Failures, Recovery};
use crate::clock::{Clock, ManualClock};
use crate::conf::{settings, StreamingConf};
use crate::dstream::DStream;
use crate::error::{Result, StreamingError};
use crate::graph::env::Env;
use crate::graph::registry::Registry;
use crate::graph::source::{InputContext, InputHandle};
use crate::listener::{ListenerBus, StreamingListener};
use crate::time::Time;
pub use scheduler::StreamingContextState;
use scheduler::{RunShared, StopRequest};
use signals::GracefulStop;
pub use signals::STOP_GRACEFULLY_ON_SHUTDOWN;

/// The setting that makes the first failed batch stop the context
/// (`true`/`false`, default `false`). By default, as in Spark, a failed
/// batch is reported (to [`StreamingListener::on_batch_completed`] with its
/// failure, and by [`StreamingContext::await_termination`], which returns
/// the error) and later batches still run.
pub const STOP_ON_BATCH_FAILURE: &str = "spark.streaming.stopOnBatchFailure";

/// The setting that sets the checkpoint directory, as
/// [`StreamingContext::checkpoint`] does (Spark's).
pub const CHECKPOINT_DIRECTORY: &str = "spark.streaming.checkpoint.directory";

/// How [`StreamingContext::stop`] stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopMode {
    /// Stop receiving, then process every batch whose data has already
    /// arrived before returning (bounded by the graceful stop timeout).
    Graceful,
    /// Stop after the batch being processed; queued batches are dropped.
    Immediate,
}

/// The running parts, present between `start` and `stop`.
struct Running {
    runtime: tokio::runtime::Runtime,
    stop: Arc<watch::Sender<StopRequest>>,
    executor: Option<JoinHandle<()>>,
    inputs: Vec<Arc<dyn InputHandle>>,
    /// The UI's URL, when it is served.
    ui_url: Option<String>,
}

pub(crate) struct ContextInner {
    conf: StreamingConf,
    batch_interval: Duration,
    /// The graph and the environment its operators run in.
    pub(crate) registry: Arc<Registry>,
    /// Checkpoints that could not be taken or written.
    checkpoint_failures: Arc<AtomicU64>,
    listeners: Arc<ListenerBus>,
    run: Arc<RunShared>,
    running: Mutex<Option<Running>>,
    /// Set by `get_or_create` when the context was recovered from a
    /// checkpoint.
    pub(crate) recovery: Mutex<Option<Recovery>>,
}

/// The entry point of a streaming application (Spark's `StreamingContext`):
/// it holds the configuration and the batch interval, creates input streams,
/// and runs the stream graph once started.
///
/// Nothing runs until [`start`](Self::start). Operations are defined before
/// it; defining one after it panics, as Spark throws. The handle is cheap to
/// clone; clones control the same context.
///
/// ```
/// use streaming_core::{BatchQueue, StreamingConf, StreamingContext, StopMode};
/// use std::time::Duration;
///
/// let ssc = StreamingContext::new(
///     StreamingConf::new().master("local[2]").batch_interval(Duration::from_millis(50)),
/// )?;
/// let queue = BatchQueue::new();
/// queue.push(vec!["Spark Streaming Sample ssc".to_string()]);
/// let words = ssc
///     .queue_stream(queue, true)
///     .flat_map(|line: String| line.split(' ').map(str::to_string).collect::<Vec<_>>());
/// words.count_by_value().print();
/// ssc.start()?;
/// ssc.stop(StopMode::Graceful); // processes the queued batch, then stops
/// # Ok::<(), streaming_core::StreamingError>(())
/// ```
#[derive(Clone)]
pub struct StreamingContext {
    pub(crate) inner: Arc<ContextInner>,
}

impl std::fmt::Debug for StreamingContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingContext")
            .field("app_name", &self.inner.conf.get_app_name())
            .field("batch_interval", &self.inner.batch_interval)
            .field("state", &self.state())
            .finish()
    }
}

impl StreamingContext {
    /// A context for `conf`, which must set the batch interval.
    pub fn new(conf: StreamingConf) -> Result<Self> {
        let conf = recovering::effective_conf(conf);
        let interval = conf.validate()?;
        let parallelism = conf.parallelism()?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(parallelism)
            .thread_name(|i| format!("streaming-worker-{i}"))
            .build()
            .map_err(|e| StreamingError::Config(format!("cannot create the worker pool: {e}")))?;
        tracing::info!(
            app = conf.get_app_name(),
            master = conf.get_master(),
            ?interval,
            "streaming context created"
        );
        let inner = Arc::new(ContextInner {
            batch_interval: interval,
            registry: Arc::new(Registry::new(
                Arc::new(Env::new(pool, parallelism)),
                interval,
            )),
            listeners: Arc::new(ListenerBus::default()),
            checkpoint_failures: Arc::default(),
            run: Arc::new(RunShared::new()),
            running: Mutex::new(None),
            recovery: Mutex::new(None),
            conf,
        });
        let owner: Arc<dyn Any + Send + Sync> = inner.clone();
        inner.registry.set_owner(Arc::downgrade(&owner));
        let ssc = StreamingContext { inner };
        if let Some(dir) = ssc.inner.conf.get(CHECKPOINT_DIRECTORY) {
            ssc.checkpoint(dir)?;
        }
        Ok(ssc)
    }

    /// The configuration.
    pub fn conf(&self) -> &StreamingConf {
        &self.inner.conf
    }

    /// The batch interval.
    pub fn batch_interval(&self) -> Duration {
        self.inner.batch_interval
    }

    /// The manual clock driving this context, if it was configured with one.
    pub fn manual_clock(&self) -> Option<ManualClock> {
        match self.inner.conf.clock() {
            Clock::Manual(m) => Some(m),
            Clock::System => None,
        }
    }

    /// The lifecycle state.
    pub fn state(&self) -> StreamingContextState {
        self.inner.run.state.lock().unwrap().lifecycle
    }

    /// Sets the checkpoint directory (created if missing). Stateful
    /// operations require one.
    pub fn checkpoint(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| {
            StreamingError::io(
                format!("cannot create checkpoint directory {}", dir.display()),
                e,
            )
        })?;
        self.inner.env().set_checkpoint_dir(dir.to_path_buf());
        Ok(())
    }

    /// The checkpoint directory, if set.
    pub fn checkpoint_dir(&self) -> Option<std::path::PathBuf> {
        self.inner.env().checkpoint_dir()
    }

    /// Keeps every stream's batches for at least `duration` (so that
    /// [`DStream::slice`] can reach back that far).
    pub fn remember(&self, duration: Duration) {
        self.inner.registry.lock().remember = Some(duration);
    }

    /// Registers a listener for batch events.
    pub fn add_streaming_listener(&self, listener: impl StreamingListener) {
        self.inner.listeners.add(Arc::new(listener));
    }

    /// Starts generating and running batches. A second call on an active
    /// context does nothing; a call after `stop` is an error, as is a graph
    /// without output operations or a stateful operation without a
    /// checkpoint directory.
    pub fn start(&self) -> Result<()> {
        let inner = &self.inner;
        let mut running = inner.running.lock().unwrap();
        match self.state() {
            StreamingContextState::Active => {
                tracing::warn!("StreamingContext has already been started");
                return Ok(());
            }
            StreamingContextState::Stopped => {
                return Err(StreamingError::IllegalState(
                    "StreamingContext has already been stopped and cannot be restarted".into(),
                ))
            }
            StreamingContextState::Initialized => {}
        }
        for key in settings::unimplemented_spark_settings(&inner.conf) {
            tracing::warn!(
                setting = key,
                "{key} is not implemented by this project and is ignored"
            );
        }
        match self.launch() {
            Ok((parts, first)) => {
                let ui_url = parts.ui_url.clone();
                *running = Some(parts);
                drop(running);
                set_active(inner);
                match ui_url {
                    Some(url) => tracing::info!(
                        first_batch = %first,
                        ui = %url,
                        "streaming context started; Streaming UI at {url}"
                    ),
                    None => tracing::info!(first_batch = %first, "streaming context started"),
                }
                inner.listeners.post(|l| l.on_streaming_started(first));
                Ok(())
            }
            Err(e) => {
                // As in Spark: a context that failed to start is stopped.
                tracing::error!(error = %e, "error starting the context; marking it as stopped");
                inner.registry.close();
                inner
                    .run
                    .update(|s| s.lifecycle = StreamingContextState::Stopped);
                Err(e)
            }
        }
    }

    /// Starts the parts of a context (inputs, generator, executor); on an
    /// error, what was started is stopped again.
    fn launch(&self) -> Result<(Running, Time)> {
        let inner = &self.inner;
        let frozen = Arc::new(inner.registry.freeze()?);
        let env = inner.env();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("streaming-io")
            .enable_all()
            .build()
            .map_err(|e| StreamingError::io("cannot start the tokio runtime", e))?;
        let clock = inner.conf.clock();
        let interval = inner.batch_interval;
        // A recovered context runs again from its checkpoint's time, with
        // the zero time of the run that wrote it.
        let recovery = inner.recovery.lock().unwrap().clone();
        let (first, zero) = match &recovery {
            Some(r) => (r.time, r.zero_time),
            None => {
                let first = clock.now().floor(interval) + interval;
                (first, first - interval)
            }
        };
        env.set_zero_time(zero);
        let checkpointer = match env.checkpoint_dir() {
            Some(dir) => Some(crate::checkpoint::Checkpointer::new(
                dir,
                &inner.conf,
                zero,
                interval,
                &frozen,
                recovery.as_ref().filter(|r| r.from_state).map(|r| r.time),
                Failures {
                    count: inner.checkpoint_failures.clone(),
                    listeners: inner.listeners.clone(),
                },
            )?),
            None => None,
        };
        if let Some(c) = &checkpointer {
            // The replay a recovery may need must stay recorded.
            for input in &frozen.inputs {
                input.remember_at_least(c.replay_window());
            }
            c.take_metadata(first, None);
        }
        for (i, input) in frozen.inputs.iter().enumerate() {
            let ctx = InputContext::new(
                input.stream_id(),
                input.name(),
                runtime.handle().clone(),
                inner.listeners.clone(),
            );
            if let Err(e) = input.start(&ctx) {
                for started in &frozen.inputs[..i] {
                    started.stop();
                }
                runtime.shutdown_background();
                return Err(e);
            }
        }
        let (stop_tx, stop_rx) = watch::channel(StopRequest::Run);
        let stop_tx = Arc::new(stop_tx);
        let graceful: Weak<dyn GracefulStop> = Arc::downgrade(inner) as _;
        if let Err(e) = signals::install_signal_handler(
            &inner.conf,
            graceful,
            stop_tx.clone(),
            inner.run.clone(),
        ) {
            for started in &frozen.inputs {
                started.stop();
            }
            runtime.shutdown_background();
            return Err(e);
        }
        let stop_on_failure =
            settings::get(&inner.conf, STOP_ON_BATCH_FAILURE, settings::parse_bool)?
                .unwrap_or(false);
        let ui_url = self.start_ui(&frozen, runtime.handle(), first)?;
        let (job_tx, job_rx) = mpsc::channel();
        let executor = {
            let (graph, env, listeners, run, stop) = (
                frozen.clone(),
                env.clone(),
                inner.listeners.clone(),
                inner.run.clone(),
                stop_tx.clone(),
            );
            std::thread::Builder::new()
                .name(scheduler::EXECUTOR_THREAD.into())
                .spawn(move || {
                    scheduler::executor_loop(
                        graph,
                        env,
                        listeners,
                        run,
                        job_rx,
                        stop,
                        checkpointer,
                        stop_on_failure,
                    )
                })
                .map_err(|e| StreamingError::io("cannot start the job executor thread", e))?
        };
        runtime.spawn(scheduler::generator_loop(
            clock,
            first,
            interval,
            frozen.clone(),
            env.clone(),
            inner.listeners.clone(),
            job_tx,
            stop_rx,
        ));
        inner.registry.close();
        inner
            .run
            .update(|s| s.lifecycle = StreamingContextState::Active);
        let parts = Running {
            runtime,
            stop: stop_tx,
            executor: Some(executor),
            inputs: frozen.inputs.clone(),
            ui_url,
        };
        Ok((parts, first))
    }

    /// Starts the UI server when `spark.ui.enabled` (the default) and
    /// returns its URL; a UI that cannot bind is logged and left out (the
    /// context runs without it).
    #[cfg(feature = "ui")]
    fn start_ui(
        &self,
        graph: &Arc<crate::graph::registry::FrozenGraph>,
        runtime: &tokio::runtime::Handle,
        first: Time,
    ) -> Result<Option<String>> {
        use crate::ui::{self, status};
        let inner = &self.inner;
        let settings = ui::UiSettings::from_conf(&inner.conf)?;
        if !settings.enabled {
            return Ok(None);
        }
        let store = status::StatusStore::new(settings.retained_batches);
        let start = Time::now();
        store.started(start, first);
        inner
            .listeners
            .add(Arc::new(status::StatusListener(store.clone())));
        let app = ui::UiApp {
            name: inner.conf.get_app_name().to_string(),
            id: format!("local-{}", start.as_millis()),
            master: inner.conf.get_master().to_string(),
            cores: inner.env().parallelism(),
            batch_interval: inner.batch_interval,
            start,
            graph: graph.clone(),
            inputs: graph.inputs.clone(),
            store,
        };
        match ui::start(&settings, app, runtime) {
            Ok(server) => {
                tracing::info!(address = %server.local_addr(), "Streaming UI started");
                Ok(Some(server.url()))
            }
            Err(e) => {
                tracing::warn!(error = %e, "the Streaming UI could not be started; running without it");
                Ok(None)
            }
        }
    }

    #[cfg(not(feature = "ui"))]
    fn start_ui(
        &self,
        _graph: &Arc<crate::graph::registry::FrozenGraph>,
        _runtime: &tokio::runtime::Handle,
        _first: Time,
    ) -> Result<Option<String>> {
        Ok(None)
    }

    /// The address of the running context's Streaming UI (Spark's
    /// `SparkContext.uiWebUrl`), e.g. `http://127.0.0.1:4040`: `None` when
    /// the UI is disabled (`spark.ui.enabled=false`), could not bind, the
    /// crate was built without the `ui` feature, or the context is not
    /// running.
    pub fn ui_web_url(&self) -> Option<String> {
        self.inner
            .running
            .lock()
            .unwrap()
            .as_ref()
            .and_then(|r| r.ui_url.clone())
    }

    /// Stops the context. [`StopMode::Graceful`] stops receiving and
    /// processes every batch whose data has arrived first; [`StopMode::Immediate`]
    /// waits only for the batch in progress. Stopping twice, or a context
    /// that never started, is fine. May be called from inside an output
    /// operation, in which case it signals the stop without waiting.
    pub fn stop(&self, mode: StopMode) {
        self.inner.stop(mode)
    }

    /// Waits until the context stops. Returns the error that stopped it (a
    /// failed batch, e.g. a panic in a user function), if any.
    pub fn await_termination(&self) -> Result<()> {
        self.await_termination_or_timeout_inner(None).map(|_| ())
    }

    /// Waits at most `timeout` for the context to stop: `Ok(true)` if it
    /// stopped, `Ok(false)` on timeout, `Err` with the error that stopped it.
    pub fn await_termination_or_timeout(&self, timeout: Duration) -> Result<bool> {
        self.await_termination_or_timeout_inner(Some(timeout))
    }

    fn await_termination_or_timeout_inner(&self, timeout: Option<Duration>) -> Result<bool> {
        let run = &self.inner.run;
        let done = run.wait_for(timeout, |s| {
            s.error.is_some() || s.lifecycle == StreamingContextState::Stopped
        });
        match run.state.lock().unwrap().error.clone() {
            Some(e) => Err(e),
            None => Ok(done),
        }
    }

    /// Waits until batch `time` has completed (for tests driving a manual
    /// clock). Fails with the error that stopped the context, or on timeout.
    pub fn await_batch_completion(&self, time: Time, timeout: Duration) -> Result<()> {
        let run = &self.inner.run;
        let ok = run.wait_for(Some(timeout), |s| {
            s.last_completed.is_some_and(|t| t >= time) || s.error.is_some() || s.executor_done
        });
        let s = run.state.lock().unwrap();
        if let Some(e) = &s.error {
            return Err(e.clone());
        }
        if s.last_completed.is_some_and(|t| t >= time) {
            return Ok(());
        }
        if !ok {
            return Err(StreamingError::Timeout(format!(
                "batch {time} did not complete within {timeout:?} (last completed: {:?})",
                s.last_completed
            )));
        }
        Err(StreamingError::IllegalState(format!(
            "the context stopped before batch {time} completed"
        )))
    }

    /// How many checkpoints could not be taken or written since this context
    /// was created (each also reaches the listeners'
    /// [`on_checkpoint_failed`](StreamingListener::on_checkpoint_failed)).
    pub fn checkpoint_failures(&self) -> u64 {
        self.inner.checkpoint_failures.load(Ordering::Relaxed)
    }

    /// The latest batch time that completed.
    pub fn last_completed_batch(&self) -> Option<Time> {
        self.inner.run.state.lock().unwrap().last_completed
    }
}

impl ContextInner {
    /// The environment operators run in.
    pub(crate) fn env(&self) -> &Arc<Env> {
        self.registry.env()
    }

    fn stop(&self, mode: StopMode) {
        let on_executor = scheduler::in_batch()
            || std::thread::current().name() == Some(scheduler::EXECUTOR_THREAD);
        let mut guard = self.running.lock().unwrap();
        self.registry.close();
        let Some(running) = guard.as_mut() else {
            // Never started, or already stopped.
            self.run
                .update(|s| s.lifecycle = StreamingContextState::Stopped);
            return;
        };
        for input in &running.inputs {
            input.stop();
        }
        if on_executor {
            // Called from a job: the executor cannot wait for itself. Signal
            // the stop; the batch in progress finishes and nothing follows.
            self.run.discard.store(true, Ordering::SeqCst);
            running.stop.send_replace(StopRequest::Immediate);
            self.run
                .update(|s| s.lifecycle = StreamingContextState::Stopped);
            return;
        }
        match mode {
            StopMode::Graceful => {
                running.stop.send_replace(StopRequest::Graceful);
                let timeout = self
                    .conf
                    .effective_graceful_stop_timeout(self.batch_interval);
                if !self.run.wait_for(Some(timeout), |s| s.executor_done) {
                    tracing::warn!(?timeout, "graceful stop timed out; stopping immediately");
                    self.run.discard.store(true, Ordering::SeqCst);
                    running.stop.send_replace(StopRequest::Immediate);
                }
            }
            StopMode::Immediate => {
                self.run.discard.store(true, Ordering::SeqCst);
                running.stop.send_replace(StopRequest::Immediate);
            }
        }
        let mut running = guard.take().expect("checked above");
        drop(guard);
        if let Some(h) = running.executor.take() {
            let _ = h.join();
        }
        if tokio::runtime::Handle::try_current().is_ok() {
            running.runtime.shutdown_background();
        } else {
            running.runtime.shutdown_timeout(Duration::from_secs(2));
        }
        self.run
            .update(|s| s.lifecycle = StreamingContextState::Stopped);
        tracing::info!(?mode, "streaming context stopped");
        self.listeners.post(|l| l.on_streaming_stopped());
    }
}

/// The context started last and not stopped since (Spark's active context).
static ACTIVE: Mutex<Option<Weak<ContextInner>>> = Mutex::new(None);

fn set_active(inner: &Arc<ContextInner>) {
    *ACTIVE.lock().unwrap() = Some(Arc::downgrade(inner));
}

impl StreamingContext {
    /// The active context: the one started last and not stopped since, if
    /// any (Spark's `StreamingContext.getActive`). Unlike Spark, several
    /// contexts may run in one process; this is the newest.
    pub fn get_active() -> Option<StreamingContext> {
        let inner = ACTIVE.lock().unwrap().as_ref()?.upgrade()?;
        let active = inner.run.state.lock().unwrap().lifecycle == StreamingContextState::Active;
        active.then_some(StreamingContext { inner })
    }

    /// The active context, or a new one from `create_fn` (not started) when
    /// there is none (Spark's `StreamingContext.getActiveOrCreate`).
    pub fn get_active_or_create<F>(create_fn: F) -> Result<StreamingContext>
    where
        F: FnOnce() -> Result<StreamingContext>,
    {
        match Self::get_active() {
            Some(ssc) => Ok(ssc),
            None => create_fn(),
        }
    }

    /// The active context, or one recovered from the checkpoint in `dir` (or
    /// created by `create_fn`) as [`get_or_create`](Self::get_or_create)
    /// does when there is none.
    pub fn get_active_or_create_from<F>(
        dir: impl AsRef<Path>,
        create_fn: F,
    ) -> Result<StreamingContext>
    where
        F: FnOnce() -> Result<StreamingContext>,
    {
        match Self::get_active() {
            Some(ssc) => Ok(ssc),
            None => Self::get_or_create(dir, create_fn),
        }
    }
}

impl GracefulStop for ContextInner {
    fn stop_gracefully(&self) {
        self.stop(StopMode::Graceful)
    }
}

impl Drop for ContextInner {
    fn drop(&mut self) {
        if self.running.get_mut().map(|r| r.is_some()).unwrap_or(false) {
            self.stop(StopMode::Immediate);
        }
    }
}

impl<T: Data> DStream<T> {
    /// The context this stream belongs to.
    pub fn context(&self) -> StreamingContext {
        let inner = self
            .owner()
            .downcast::<ContextInner>()
            .expect("a stream's graph is owned by its StreamingContext");
        StreamingContext { inner }
    }
}
