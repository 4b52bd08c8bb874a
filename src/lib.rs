//! # streaming
//!
//! Apache Spark Streaming's DStream model in Rust: micro-batches computed in
//! parallel, with Spark's operator names and semantics, and a `stream!` DSL
//! that compiles pipelines into fused, monomorphized loops.
//!
//! ```
//! use streaming::prelude::*;
//!
//! let ssc = StreamingContext::new(
//!     StreamingConf::new().master("local[2]").batch_interval(Duration::from_millis(20)),
//! )?;
//! let queue = BatchQueue::new();
//! queue.push(vec!["Spark Streaming Sample ssc".to_string()]);
//! queue.push(vec!["Spark Queue Spark API".to_string()]);
//! ssc.queue_stream(queue, true)
//!     .flat_map(|line: String| line.split(' ').map(str::to_string).collect::<Vec<_>>())
//!     .count_by_value()
//!     .print();
//! ssc.start()?;
//! ssc.stop(StopMode::Graceful); // runs both queued batches, then stops
//! # Ok::<(), StreamingError>(())
//! ```
//!
//! The runtime lives in [`streaming_core`] (re-exported here); the DSL in
//! `streaming_macros`.
//!
//! Features: `ui` (default) makes a started context serve Spark's
//! Streaming page, REST API and Prometheus `/metrics` on 127.0.0.1:4040
//! ([`StreamingContext::ui_web_url`]; `spark.ui.enabled=false` turns it
//! off); `kafka` adds the Kafka direct stream.
#![deny(missing_docs)]

pub use streaming_core::*;
pub use streaming_macros::{stream, stream_plan};

/// Test support: the manual-clock harness of the API contract
/// (`run_operation`, ...) and, with the `kafka` feature, a Kafka test broker.
pub use streaming_testkit as testing;

/// Kafka direct streams (feature `kafka`).
#[cfg(feature = "kafka")]
pub use streaming_kafka as kafka;

/// Everything a pipeline needs: `use streaming::prelude::*;`.
pub mod prelude {
    pub use streaming_core::prelude::*;
    pub use streaming_macros::{stream, stream_plan};
}
