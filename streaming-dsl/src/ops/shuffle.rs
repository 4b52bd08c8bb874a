//! Shuffle operators: they move data between partitions (by key, or to a
//! single place for global aggregates) and so end a fused stage.

use super::spec::{op, ArgKind::*, Combine, Emit, Kind::Shuffle, OpSpec};

/// The shuffle entries.
pub(crate) static OPS: &[OpSpec] = &[
    op(
        "repartition",
        "repartition",
        Shuffle,
        &[Value],
        Emit::Method("repartition"),
        "Redistributes each batch over `n` partitions.",
    )
    .params("n"),
    op(
        "count",
        "count",
        Shuffle,
        &[],
        Emit::Method("count"),
        "The number of elements of each batch, as a stream of one `u64` per batch.",
    ),
    op(
        "count_by_value",
        "countByValue",
        Shuffle,
        &[],
        Emit::Method("count_by_value"),
        "`(value, count)` for each distinct element of each batch.",
    )
    .combines(Combine::CountByValue),
    op(
        "count_by_value",
        "countByValue",
        Shuffle,
        &[Value],
        Emit::Method("count_by_value_with_partitions"),
        "`count_by_value` into `n` output partitions.",
    )
    .params("n"),
    op(
        "reduce",
        "reduce",
        Shuffle,
        &[Reducer],
        Emit::Method("reduce"),
        "Reduces each batch to one element with `f(T, T) -> T` (or `sum`, `count`, `min`, `max`).",
    )
    .params("reducer"),
    op(
        "group_by_key",
        "groupByKey",
        Shuffle,
        &[],
        Emit::Method("group_by_key"),
        "`(key, Vec<value>)` for each key of each batch.",
    )
    .pairs()
    .combines(Combine::GroupByKey),
    op(
        "group_by_key",
        "groupByKey",
        Shuffle,
        &[Value],
        Emit::Method("group_by_key_with_partitions"),
        "`group_by_key` into `n` output partitions.",
    )
    .params("n")
    .pairs(),
    op(
        "reduce_by_key",
        "reduceByKey",
        Shuffle,
        &[Reducer],
        Emit::Method("reduce_by_key"),
        "Reduces the values of each key with `f(V, V) -> V` (or `sum`, `count`, `min`, `max`).",
    )
    .params("reducer")
    .pairs()
    .combines(Combine::ReduceByKey),
    op(
        "reduce_by_key",
        "reduceByKey",
        Shuffle,
        &[Reducer, Value],
        Emit::Method("reduce_by_key_with_partitions"),
        "`reduce_by_key` into `n` output partitions.",
    )
    .params("reducer, n")
    .pairs(),
    op(
        "reduce_by_key_with_partitions",
        "reduceByKey",
        Shuffle,
        &[Reducer, Value],
        Emit::Method("reduce_by_key_with_partitions"),
        "Same as `reduce_by_key(f, n)`.",
    )
    .params("reducer, n")
    .pairs(),
    op(
        "combine_by_key",
        "combineByKey",
        Shuffle,
        &[Func, Func, Func],
        Emit::Method("combine_by_key"),
        "Per-key aggregation with `create(V) -> C`, `merge_value(C, V) -> C`, `merge_combiners(C, C) -> C`.",
    )
    .params("create, merge_value, merge_combiners")
    .pairs()
    .combines(Combine::CombineByKey),
    op(
        "combine_into_by_key",
        "combineByKey",
        Shuffle,
        &[Func, Func],
        Emit::Method("combine_into_by_key"),
        "`each(T, &mut Combiner<K, C>)` fills the map-side combine from any element; `merge_combiners(C, C) -> C`.",
    )
    .params("each, merge_combiners"),
    op(
        "combine_ref_into_by_key",
        "combineByKey",
        Shuffle,
        &[Func, Func],
        Emit::Method("combine_ref_into_by_key"),
        "`combine_into_by_key` given each element by reference: keys may borrow from it (`KeyRef`).",
    )
    .params("each, merge_combiners"),
    op(
        "join",
        "join",
        Shuffle,
        &[Stream],
        Emit::Method("join"),
        "Inner join by key: `(K, (V, W))`.",
    )
    .params("other")
    .same_key(),
    op(
        "left_outer_join",
        "leftOuterJoin",
        Shuffle,
        &[Stream],
        Emit::Method("left_outer_join"),
        "Left outer join by key: `(K, (V, Option<W>))`.",
    )
    .params("other")
    .same_key(),
    op(
        "right_outer_join",
        "rightOuterJoin",
        Shuffle,
        &[Stream],
        Emit::Method("right_outer_join"),
        "Right outer join by key: `(K, (Option<V>, W))`.",
    )
    .params("other")
    .same_key(),
    op(
        "full_outer_join",
        "fullOuterJoin",
        Shuffle,
        &[Stream],
        Emit::Method("full_outer_join"),
        "Full outer join by key: `(K, (Option<V>, Option<W>))`.",
    )
    .params("other")
    .same_key(),
    op(
        "cogroup",
        "cogroup",
        Shuffle,
        &[Stream],
        Emit::Method("cogroup"),
        "Groups both streams by key: `(K, (Vec<V>, Vec<W>))`.",
    )
    .params("other")
    .same_key(),
];
