//! Inputs: where a stream's batches come from.
//!
//! An input implements [`InputSource`] (defined with the graph, which
//! drives it: `graph::source`); this folder holds the inputs themselves. Pull inputs (the queue stream) produce
//! a batch when it is computed; push inputs (sockets) receive data in the
//! background on the context's tokio runtime and hand what arrived to the
//! batch time being generated ([`InputSource::on_batch_time`]).

mod bad;
pub(crate) mod decode;
mod file;
mod file_stats;
mod fn_source;
mod glob;
mod queue;
pub(crate) mod receiver;
pub(crate) mod settings;
mod socket;
mod text_split;
pub(crate) mod wal;

pub use decode::{
    BadRecords, LengthPrefixedDecoder, LineDecoder, RecordDecoder, FRAME_TOO_LONG, INVALID_UTF8,
    LINE_TOO_LONG, TRUNCATED, UNDECODABLE,
};
pub use file::{FileReader, FileStreamHandle, FileStreamSpec, FileStreamState, TextFileReader};
pub use file_stats::FileStreamStats;
pub use fn_source::FnSource;
pub use queue::{BatchQueue, QueueSource};
pub use receiver::ReceiverStats;
pub use socket::SocketSpec;

pub use crate::graph::source::{InputContext, InputSource};
