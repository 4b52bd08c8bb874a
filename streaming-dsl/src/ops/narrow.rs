//! Narrow operators: per-element or per-partition work with no data
//! movement. The fusable ones are compiled into one iterator chain per
//! partition when they follow each other.

use super::spec::{op, ArgKind::*, Emit, Fused, Kind, Kind::Narrow, Kind::Persist, OpSpec};

/// The narrow entries.
pub(crate) static OPS: &[OpSpec] = &[
    op(
        "map",
        "map",
        Narrow,
        &[Func],
        Emit::Fuse(Fused::Map, "map"),
        "Applies `f(T) -> U` to each element.",
    ),
    op(
        "flat_map",
        "flatMap",
        Narrow,
        &[Func],
        Emit::Fuse(Fused::FlatMap, "flat_map"),
        "Applies `f(T) -> impl IntoIterator<Item = U>` and flattens.",
    ),
    op(
        "filter",
        "filter",
        Narrow,
        &[Func],
        Emit::Fuse(Fused::Filter, "filter"),
        "Keeps the elements for which `f(&T)` is true.",
    ),
    op(
        "map_partitions",
        "mapPartitions",
        Narrow,
        &[Func],
        Emit::Fuse(Fused::MapPartitions, "map_partitions"),
        "Applies `f(PartitionIter<T>) -> impl IntoIterator<Item = U>` to each partition.",
    ),
    op(
        "map_partitions_with_index",
        "mapPartitionsWithIndex",
        Narrow,
        &[Func],
        Emit::Fuse(Fused::MapPartitionsWithIndex, "map_partitions_with_index"),
        "Like `map_partitions`, with the partition index: `f(usize, PartitionIter<T>)`.",
    ),
    op(
        "glom",
        "glom",
        Narrow,
        &[],
        Emit::Fuse(Fused::Glom, "glom"),
        "Turns each partition into one `Vec<T>` element.",
    ),
    op(
        "map_values",
        "mapValues",
        Narrow,
        &[Func],
        Emit::Fuse(Fused::MapValues, "map_values"),
        "Applies `f(V) -> W` to the value of each pair, keeping the key.",
    )
    .pairs(),
    op(
        "flat_map_values",
        "flatMapValues",
        Narrow,
        &[Func],
        Emit::Fuse(Fused::FlatMapValues, "flat_map_values"),
        "Applies `f(V) -> impl IntoIterator<Item = W>` to each value, pairing each result with the key.",
    )
    .pairs(),
    op(
        "union",
        "union",
        Narrow,
        &[Stream],
        Emit::Method("union"),
        "The elements of both streams (`a.union(&b)`).",
    )
    .params("streams.."),
    op(
        "transform",
        "transform",
        Kind::Batch,
        &[Func],
        Emit::Method("transform"),
        "Applies `f(Batch<T>, Time) -> Batch<U>` to each batch: any batch operation.",
    ),
    op(
        "transform_with",
        "transformWith",
        Kind::Batch,
        &[Stream, Func],
        Emit::Method("transform_with"),
        "Combines the batches of two streams: `f(Batch<T>, Batch<U>, Time) -> Batch<V>`.",
    )
    .params("other, f"),
    op(
        "cache",
        "cache",
        Persist,
        &[],
        Emit::Method("cache"),
        "Keeps each batch in memory for its several consumers.",
    ),
    op(
        "persist",
        "persist",
        Persist,
        &[],
        Emit::Method("persist"),
        "Same as `cache`.",
    ),
    op(
        "name",
        "name",
        Persist,
        &[Value],
        Emit::Method("name"),
        "Names the stream (in logs, plans, and the state of a stateful operator in checkpoints).",
    )
    .params("name"),
    op(
        "checkpoint",
        "checkpoint",
        Persist,
        &[Duration],
        Emit::Method("checkpoint"),
        "Checkpoints the stream's batches every `interval` (a multiple of its slide).",
    )
    .params("interval"),
];
