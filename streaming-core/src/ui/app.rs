//! What the UI is given: its settings ([`UiSettings`], from the
//! configuration), the application ([`UiApp`]), and why it may not start
//! ([`UiError`]).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::status::StatusStore;
use crate::conf::{settings, StreamingConf};
use crate::error::Result;
use crate::graph::registry::FrozenGraph;
use crate::graph::source::InputHandle;
use crate::time::Time;

/// Whether a running context serves the UI (`true`/`false`, default
/// `true`, as in Spark).
pub const UI_ENABLED: &str = "spark.ui.enabled";
/// The UI's port (default 4040, as in Spark; taken ports are skipped, up to
/// `spark.port.maxRetries` of them; 0 picks any free port).
pub const UI_PORT: &str = "spark.ui.port";
/// The address the UI binds to (Spark's driver bind address; default
/// `127.0.0.1`, so the UI is reachable from this machine only).
pub const UI_BIND_ADDRESS: &str = "spark.driver.bindAddress";
/// How many ports after `spark.ui.port` are tried (default 16, Spark's).
pub const PORT_MAX_RETRIES: &str = "spark.port.maxRetries";
/// How many completed batches the UI and the REST API keep (default 1000,
/// Spark's).
pub const UI_RETAINED_BATCHES: &str = "spark.streaming.ui.retainedBatches";

/// Why the UI could not be started (the context runs on without it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UiError {
    /// No port could be bound.
    #[error("cannot bind the UI to {address} on ports {first}..={last}: {source}")]
    Bind {
        /// The bind address.
        address: IpAddr,
        /// The first port tried.
        first: u16,
        /// The last port tried.
        last: u16,
        /// The last bind error.
        #[source]
        source: std::io::Error,
    },
    /// The server could not be set up on the runtime.
    #[error("cannot serve the UI: {0}")]
    Serve(#[source] std::io::Error),
}

/// The UI settings of a configuration.
#[derive(Clone, Debug)]
pub(crate) struct UiSettings {
    pub(crate) enabled: bool,
    pub(crate) port: u16,
    pub(crate) bind: IpAddr,
    pub(crate) max_retries: u16,
    pub(crate) retained_batches: usize,
}

impl UiSettings {
    /// Reads (and checks) the UI settings of `conf`.
    pub(crate) fn from_conf(conf: &StreamingConf) -> Result<Self> {
        let enabled = settings::get(conf, UI_ENABLED, settings::parse_bool)?.unwrap_or(true);
        let port = settings::get(conf, UI_PORT, |k, v| {
            v.trim().parse::<u16>().map_err(|_| {
                crate::error::StreamingError::Config(format!(
                    "{k}={v:?}: expected a port number (0 for any free port)"
                ))
            })
        })?
        .unwrap_or(4040);
        let bind = settings::get(conf, UI_BIND_ADDRESS, |k, v| {
            v.trim().parse::<IpAddr>().map_err(|_| {
                crate::error::StreamingError::Config(format!(
                    "{k}={v:?}: expected an IP address such as 127.0.0.1 or 0.0.0.0"
                ))
            })
        })?
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let max_retries = settings::get(conf, PORT_MAX_RETRIES, |k, v| {
            v.trim().parse::<u16>().map_err(|_| {
                crate::error::StreamingError::Config(format!("{k}={v:?}: expected a count"))
            })
        })?
        .unwrap_or(16);
        let retained_batches =
            settings::get(conf, UI_RETAINED_BATCHES, settings::parse_count)?.unwrap_or(1000);
        Ok(UiSettings {
            enabled,
            port,
            bind,
            max_retries,
            retained_batches,
        })
    }
}

/// What the UI shows of the application besides the listener's events.
pub(crate) struct UiApp {
    /// The application name.
    pub(crate) name: String,
    /// The application id (`local-<start ms>`, as Spark's local mode).
    pub(crate) id: String,
    /// The master string.
    pub(crate) master: String,
    /// Worker threads (the master's).
    pub(crate) cores: usize,
    /// The batch interval.
    pub(crate) batch_interval: Duration,
    /// When the context was started (wall clock).
    pub(crate) start: Time,
    /// The running graph.
    pub(crate) graph: Arc<FrozenGraph>,
    /// The inputs (also in `graph`), for bad-record counts.
    pub(crate) inputs: Vec<Arc<dyn InputHandle>>,
    /// The listener's view of the batches.
    pub(crate) store: Arc<StatusStore>,
}
