//! Graceful stop on SIGINT and SIGTERM (Spark's
//! `spark.streaming.stopGracefullyOnShutdown`), opt-in.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use tokio::sync::watch;

use crate::conf::StreamingConf;
use crate::context::scheduler::{RunShared, StopRequest};
use crate::context::{ContextInner, StopMode, StreamingContext};
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
    /// Once the context has started, the process keeps these signals
    /// handled (by the context's handler while it runs, ignored afterwards):
    /// the default action of ending the process no longer applies.
    pub fn stop_gracefully_on_shutdown(self, enabled: bool) -> Self {
        self.set(STOP_GRACEFULLY_ON_SHUTDOWN, enabled.to_string())
    }
}

/// Whether `conf` asks for the graceful stop on signals.
fn enabled(conf: &StreamingConf) -> Result<bool> {
    match conf.get(STOP_GRACEFULLY_ON_SHUTDOWN).map(str::trim) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(StreamingError::Config(format!(
            "{STOP_GRACEFULLY_ON_SHUTDOWN}={v:?}: expected true or false"
        ))),
    }
}

/// Installs the signal handler on `runtime` when `conf` asks for it: the
/// first SIGINT or SIGTERM stops the context gracefully (from a thread of
/// its own, since `stop` waits), a second one turns that into an immediate
/// stop.
pub(crate) fn install_signal_handler(
    conf: &StreamingConf,
    runtime: &tokio::runtime::Runtime,
    ctx: Weak<ContextInner>,
    stop: Arc<watch::Sender<StopRequest>>,
    run: Arc<RunShared>,
) -> Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    if !enabled(conf)? {
        return Ok(());
    }
    let _guard = runtime.enter();
    let register = |kind: SignalKind, name: &str| {
        signal(kind)
            .map_err(|e| StreamingError::io(format!("cannot install the {name} handler"), e))
    };
    let mut interrupt = register(SignalKind::interrupt(), "SIGINT")?;
    let mut terminate = register(SignalKind::terminate(), "SIGTERM")?;
    runtime.spawn(async move {
        let mut received = 0usize;
        loop {
            let which = tokio::select! {
                s = interrupt.recv() => s.map(|()| "SIGINT"),
                s = terminate.recv() => s.map(|()| "SIGTERM"),
            };
            let Some(which) = which else { break };
            received += 1;
            if received == 1 {
                tracing::info!(signal = which, "signal received: stopping gracefully");
                let Some(inner) = ctx.upgrade() else { break };
                let spawned = std::thread::Builder::new()
                    .name("streaming-shutdown".into())
                    .spawn(move || StreamingContext { inner }.stop(StopMode::Graceful));
                if let Err(e) = spawned {
                    tracing::error!(error = %e, "cannot start the shutdown thread");
                }
            } else {
                tracing::warn!(
                    signal = which,
                    "second signal while stopping: remaining batches are dropped"
                );
                run.discard.store(true, Ordering::SeqCst);
                stop.send_replace(StopRequest::Immediate);
            }
        }
    });
    tracing::debug!("graceful stop on SIGINT/SIGTERM installed");
    Ok(())
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
