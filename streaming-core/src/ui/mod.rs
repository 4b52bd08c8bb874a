//! The live Streaming page, Spark's REST API and Prometheus `/metrics`,
//! served by a running context (feature `ui`, on by default).
//!
//! - [`status`]: the listener that collects batches, output operations,
//!   input errors and checkpoints (Spark's `StreamingJobProgressListener`);
//! - `pipeline`: the running graph with its fused stages and the state size
//!   of each stateful operator;
//! - `rest`: Spark's `/api/v1` streaming endpoints, with Spark's JSON field
//!   names;
//! - `metrics`: Spark's `StreamingSource` gauges and more, in the Prometheus
//!   text format (prometheus-client);
//! - `page`: the HTML page with server-rendered SVG charts (no external
//!   assets: it works offline) and a few lines of embedded script that
//!   refresh it;
//! - `server`: binding (`spark.ui.port`, the next ports when taken) and the
//!   axum routes, on the context's tokio runtime.
//!
//! The context (the layer above) starts it from `StreamingContext::start`
//! when `spark.ui.enabled` is true (the default, as in Spark) and stops it
//! with the runtime.

mod app;
mod metrics;
mod page;
mod pipeline;
mod rest;
mod server;
pub(crate) mod status;

pub(crate) use app::{UiApp, UiSettings};
pub use app::{
    UiError, PORT_MAX_RETRIES, UI_BIND_ADDRESS, UI_ENABLED, UI_PORT, UI_RETAINED_BATCHES,
};
pub(crate) use server::start;
