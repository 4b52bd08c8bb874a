//! Graceful stop on SIGINT and SIGTERM (Spark's
//! `spark.streaming.stopGracefullyOnShutdown`), opt-in.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use tokio::sync::watch;

use super::scheduler::{RunShared, StopRequest, StreamingContextState};
use crate::conf::{settings, StreamingConf};
use crate::error::{Result, StreamingError};

/// The setting that turns the graceful stop on signals on (`true`/`false`,
/// Spark's name); see [`StreamingConf::stop_gracefully_on_shutdown`].
pub const STOP_GRACEFULLY_ON_SHUTDOWN: &str = "spark.streaming.stopGracefullyOnShutdown";

impl StreamingConf {
    /// Stops the context gracefully when the process receives SIGINT
    /// (Ctrl-C) or SIGTERM (Spark's `spark.streaming.stopGracefullyOnShutdown`,
    /// default off): inputs stop, the batches already generated complete, a
    /// final checkpoint is written (with a checkpoint directory), then
    /// [`await_termination`](crate::StreamingContext::await_termination)
    /// returns. A second signal while stopping drops the remaining batches.
    ///
    /// The signals are received by one process-wide thread; once no context
    /// is running any more, a signal ends the process as its default action
    /// would (exit status 128 + the signal number).
    pub fn stop_gracefully_on_shutdown(self, enabled: bool) -> Self {
        self.set(STOP_GRACEFULLY_ON_SHUTDOWN, enabled.to_string())
    }
}

/// Whether `conf` asks for the graceful stop on signals.
fn enabled(conf: &StreamingConf) -> Result<bool> {
    Ok(settings::get(conf, STOP_GRACEFULLY_ON_SHUTDOWN, settings::parse_bool)?.unwrap_or(false))
}

/// What the signal thread does to a registered context.
pub(crate) trait GracefulStop: Send + Sync + 'static {
    /// Stops gracefully: waits for the batches already generated.
    fn stop_gracefully(&self);
}

/// A context that asked for the graceful stop on signals.
struct Registered {
    ctx: Weak<dyn GracefulStop>,
    stop: Arc<watch::Sender<StopRequest>>,
    run: Arc<RunShared>,
    /// Signals seen since it registered.
    seen: usize,
}

impl Registered {
    fn is_running(&self) -> bool {
        self.ctx.strong_count() > 0
            && self.run.state.lock().unwrap().lifecycle != StreamingContextState::Stopped
    }
}

/// The contexts to stop on the next signal.
static REGISTERED: Mutex<Vec<Registered>> = Mutex::new(Vec::new());

/// The process-wide signal thread, started once; `Err` if the handlers
/// could not be installed.
static SIGNAL_THREAD: OnceLock<std::result::Result<(), String>> = OnceLock::new();

/// Registers a context to stop gracefully on SIGINT or SIGTERM when `conf`
/// asks for it. One process-wide thread (with a small tokio runtime of its
/// own) receives the signals and dispatches them to the running contexts:
/// the first signal stops each gracefully (from a thread of its own, since
/// `stop` waits), a second one turns that into an immediate stop. With no
/// context running any more, a signal ends the process as the default
/// action would (exit status 128 + the signal number), so Ctrl-C keeps
/// working after a stop.
pub(crate) fn install_signal_handler(
    conf: &StreamingConf,
    ctx: Weak<dyn GracefulStop>,
    stop: Arc<watch::Sender<StopRequest>>,
    run: Arc<RunShared>,
) -> Result<()> {
    if !enabled(conf)? {
        return Ok(());
    }
    SIGNAL_THREAD
        .get_or_init(start_signal_thread)
        .clone()
        .map_err(StreamingError::Config)?;
    REGISTERED.lock().unwrap().push(Registered {
        ctx,
        stop,
        run,
        seen: 0,
    });
    tracing::debug!("graceful stop on SIGINT/SIGTERM installed");
    Ok(())
}

/// Starts the signal thread and waits until its handlers are installed.
fn start_signal_thread() -> std::result::Result<(), String> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("streaming-signals".into())
        .spawn(move || {
            use tokio::signal::unix::{signal, SignalKind};
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("cannot start the signal runtime: {e}")));
                    return;
                }
            };
            runtime.block_on(async move {
                let handlers = signal(SignalKind::interrupt())
                    .and_then(|i| Ok((i, signal(SignalKind::terminate())?)));
                let (mut interrupt, mut terminate) = match handlers {
                    Ok(h) => h,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!(
                            "cannot install the SIGINT/SIGTERM handlers: {e}"
                        )));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                loop {
                    let received = tokio::select! {
                        s = interrupt.recv() => s.map(|()| ("SIGINT", 2)),
                        s = terminate.recv() => s.map(|()| ("SIGTERM", 15)),
                    };
                    match received {
                        Some((name, number)) => dispatch(name, number),
                        None => break,
                    }
                }
            });
        });
    if let Err(e) = spawned {
        return Err(format!("cannot start the signal thread: {e}"));
    }
    ready_rx
        .recv()
        .unwrap_or_else(|_| Err("the signal thread ended before installing its handlers".into()))
}

/// Handles one signal: stops the running contexts, or ends the process when
/// none is running.
fn dispatch(name: &'static str, number: i32) {
    let mut registered = REGISTERED.lock().unwrap();
    registered.retain(Registered::is_running);
    if registered.is_empty() {
        tracing::info!(
            signal = name,
            "signal received with no streaming context running: exiting"
        );
        std::process::exit(128 + number);
    }
    for r in registered.iter_mut() {
        r.seen += 1;
        if r.seen == 1 {
            tracing::info!(signal = name, "signal received: stopping gracefully");
            let Some(ctx) = r.ctx.upgrade() else {
                continue;
            };
            let spawned = std::thread::Builder::new()
                .name("streaming-shutdown".into())
                .spawn(move || ctx.stop_gracefully());
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start the shutdown thread");
            }
        } else {
            tracing::warn!(
                signal = name,
                "second signal while stopping: remaining batches are dropped"
            );
            r.run.discard.store(true, Ordering::SeqCst);
            r.stop.send_replace(StopRequest::Immediate);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_is_parsed_strictly() {
        let conf = StreamingConf::new();
        assert!(!enabled(&conf).unwrap());
        assert!(enabled(&conf.clone().stop_gracefully_on_shutdown(true)).unwrap());
        assert!(!enabled(&conf.clone().stop_gracefully_on_shutdown(false)).unwrap());
        let err = enabled(&conf.set(STOP_GRACEFULLY_ON_SHUTDOWN, "yes")).unwrap_err();
        assert!(err.to_string().contains("expected true or false"), "{err}");
    }
}
