//! Batches: the partitioned collection behind every batch time of a stream
//! (Spark's RDD for one batch).
//!
//! A [`Batch`] is immutable and cheap to clone (its partitions are shared).
//! Operations on it run partition by partition in parallel on the current rayon
//! pool; inside a streaming job that is the context's pool.
//!
//! Layout: `collection` (the type and its element-wise operations),
//! `combiner` (map-side combine tables filled by the caller), `keyed`
//! (operations that shuffle), `shuffle` (the parallel hash-partitioning
//! kernels), `chunks` and `lazy` (how narrow operators stream a partition
//! without materializing it), `shared_str` ([`SharedStr`], text that
//! shares the buffer it was cut from).

pub(crate) mod chunks;
mod collection;
mod combiner;
mod keyed;
mod lazy;
mod shared_str;
pub(crate) mod shuffle;

pub use chunks::PartitionIter;
pub use collection::{Batch, Data, Key, Partitioned};
pub use combiner::{Combiner, KeyRef};
pub(crate) use lazy::Lazy;
pub use shared_str::{Lines, Separator, SharedStr, Split, SplitWhitespace};
