//! The runtime of `streaming`: Spark Streaming's DStream model in Rust.
//!
//! A [`StreamingContext`] cuts its inputs into batches at every batch
//! interval; a [`DStream`] is the resulting sequence of [`Batch`]es, one per
//! batch time, and its operations build a typed graph that runs once the
//! context starts.
//!
//! Where things live, bottom layer first (each imports only those below;
//! `scripts/check-layers.sh` checks it):
//! - base: `time`, `clock`, `error`, `listener`, [`conf`], [`rate`]
//!   (backpressure's PID rate estimator);
//! - `batch`: [`Batch`], the partitioned collection of one batch time, and
//!   the parallel shuffle kernels (rayon);
//! - `graph`: nodes, operator shapes, the graph being defined and run; it
//!   knows no `DStream` and no context;
//! - [`checkpoint`]: what checkpoints hold, writing, reading and restoring
//!   them;
//! - [`output`]: the layouts and formats outputs write;
//! - `input`: the inputs (queue, socket, files; [`InputSource`] for your own);
//! - `dstream`: [`DStream`] and its operations, one file per operator family
//!   (the families of `stream!`'s operator table);
//! - `ui` (feature `ui`, default): the live Streaming page, Spark's REST
//!   API and Prometheus `/metrics` a running context serves;
//! - `context`: every [`StreamingContext`] method: lifecycle, inputs,
//!   recovery ([`StreamingContext::get_or_create`]), signals, the scheduler.
//!
//! The test harness is the `streaming-testkit` crate (`streaming::testing`),
//! the Kafka direct stream the `streaming-kafka` crate (`streaming::kafka`).
//!
//! ```
//! use streaming_testkit::run_operation;
//! let out = run_operation(
//!     vec![vec!["a", "b", "a"]],
//!     |s| s.count_by_value(),
//!     1,
//! );
//! let mut counts = out[0].clone();
//! counts.sort();
//! assert_eq!(counts, vec![("a", 2), ("b", 1)]);
//! ```
#![deny(missing_docs)]

mod batch;
pub mod checkpoint;
mod clock;
pub mod conf;
mod context;
mod dstream;
mod error;
mod graph;
mod input;
mod listener;
pub mod output;
pub mod rate;
mod time;
#[cfg(feature = "ui")]
mod ui;

pub use batch::{
    Batch, Combiner, Data, Key, KeyRef, Lines, PartitionIter, Partitioned, Separator, SharedStr,
    Split, SplitWhitespace,
};
pub use checkpoint::{CheckpointError, RecoverOptions};
pub use clock::{Clock, ManualClock};
pub use conf::StreamingConf;
pub use context::{
    StopMode, StreamingContext, StreamingContextState, CHECKPOINT_DIRECTORY,
    STOP_GRACEFULLY_ON_SHUTDOWN, STOP_ON_BATCH_FAILURE,
};
pub use dstream::ops::reducers::{SumPath, WindowSum};
pub use dstream::ops::window::{Window, Windowed};
pub use dstream::state::{
    BoxedMappingFn, MapWithStateDStream, Mapping, MappingFunction, MappingWithTime, State,
    StateError, StateSpec,
};
pub use dstream::DStream;
pub use error::{panic_message, Result, StreamingError};
pub use graph::source::{InputContext, InputSource, PartitionOwnership};
pub use graph::stateful::{
    CapturedState, StateData, StateSnapshot, StateSnapshotError, StatefulOperator,
};
pub use input::{
    BadRecords, FileReader, FileStreamHandle, FileStreamSpec, FileStreamState, FileStreamStats,
    LengthPrefixedDecoder, LineDecoder, ReceiverStats, RecordDecoder, SocketSpec, TextFileReader,
    FRAME_TOO_LONG, INVALID_UTF8, LINE_TOO_LONG, TRUNCATED, UNDECODABLE,
};
pub use input::{BatchQueue, FnSource, QueueSource};
pub use listener::{
    BatchInfo, CheckpointFailureInfo, CheckpointInfo, OutputOperationInfo, ReceiverErrorInfo,
    StreamingListener,
};
pub use output::{print_layout, OutputFormat, TextOutputFormat};
pub use time::Time;
#[cfg(feature = "ui")]
pub use ui::{
    UiError, PORT_MAX_RETRIES, UI_BIND_ADDRESS, UI_ENABLED, UI_PORT, UI_RETAINED_BATCHES,
};

/// Everything a pipeline needs, in one import.
pub mod prelude {
    pub use crate::{
        Batch, BatchQueue, DStream, Data, Key, SharedStr, StopMode, StreamingConf,
        StreamingContext, StreamingError, StreamingListener, Time, Window,
    };
    pub use crate::{FileStreamSpec, OutputFormat, SocketSpec, TextOutputFormat};
    pub use crate::{MapWithStateDStream, State, StateSpec};
    pub use std::time::Duration;
}
