//! Window operators: computed over the batches of the last `window`
//! duration, every `slide`. Both durations must be multiples of the parent
//! stream's slide; the result's slide is `slide`.
//!
//! Windowed reductions are resolved at compile time: with an inverse
//! function, or the invertible built-in reducers `sum` and `count`, the
//! incremental (`_inv`) runtime operator is used; other reducers (`min`,
//! `max`, closures) use the runtime's slide-sized partial aggregates.

use super::spec::{op, ArgKind::*, Emit, Kind::Window, OpSpec, Reduction::*};

/// The window entries.
pub(crate) static OPS: &[OpSpec] = &[
    op(
        "window",
        "window",
        Window,
        &[Duration, Duration],
        Emit::Method("window"),
        "All elements of the last `window` duration, every `slide`.",
    )
    .params("window, slide"),
    op(
        "count_by_window",
        "countByWindow",
        Window,
        &[Duration, Duration],
        Emit::Method("count_by_window"),
        "The number of elements in the window, as a stream of `u64`.",
    )
    .params("window, slide")
    .checkpointed(),
    op(
        "reduce_by_window",
        "reduceByWindow",
        Window,
        &[Reducer, Duration, Duration],
        Emit::Method("reduce_by_window"),
        "Reduces the window's elements; `sum`/`count` run incrementally.",
    )
    .params("reducer, window, slide")
    .reduces(Panes)
    .incremental("reduce_by_window_inv"),
    op(
        "reduce_by_window",
        "reduceByWindow",
        Window,
        &[Func, Func, Duration, Duration],
        Emit::Method("reduce_by_window_inv"),
        "Incremental windowed reduce with an inverse function `inv_f(acc, old) -> acc`.",
    )
    .params("f, inv_f, window, slide")
    .reduces(Incremental)
    .checkpointed(),
    op(
        "reduce_by_window_inv",
        "reduceByWindow",
        Window,
        &[Func, Func, Duration, Duration],
        Emit::Method("reduce_by_window_inv"),
        "Same as the four-argument `reduce_by_window`.",
    )
    .params("f, inv_f, window, slide")
    .reduces(Incremental)
    .checkpointed(),
    op(
        "count_by_value_and_window",
        "countByValueAndWindow",
        Window,
        &[Duration, Duration],
        Emit::Method("count_by_value_and_window"),
        "`(value, count)` for each distinct element of the window.",
    )
    .params("window, slide")
    .checkpointed(),
    op(
        "group_by_key_and_window",
        "groupByKeyAndWindow",
        Window,
        &[Duration, Duration],
        Emit::Method("group_by_key_and_window"),
        "`(key, Vec<value>)` over the window.",
    )
    .params("window, slide")
    .pairs(),
    op(
        "reduce_by_key_and_window",
        "reduceByKeyAndWindow",
        Window,
        &[Reducer, Duration, Duration],
        Emit::Method("reduce_by_key_and_window"),
        "Per-key reduce over the window; `sum`/`count` run incrementally, others on slide-sized panes.",
    )
    .params("reducer, window, slide")
    .reduces(Panes)
    .pairs()
    .incremental("reduce_by_key_and_window_inv"),
    op(
        "reduce_by_key_and_window",
        "reduceByKeyAndWindow",
        Window,
        &[Func, Func, Duration, Duration],
        Emit::Method("reduce_by_key_and_window_inv"),
        "Incremental per-key windowed reduce with an inverse function; a `filter` right after it filters the window state.",
    )
    .params("f, inv_f, window, slide")
    .reduces(Incremental)
    .pairs()
    .checkpointed(),
    op(
        "reduce_by_key_and_window_inv",
        "reduceByKeyAndWindow",
        Window,
        &[Func, Func, Duration, Duration],
        Emit::Method("reduce_by_key_and_window_inv"),
        "Same as the four-argument `reduce_by_key_and_window`.",
    )
    .params("f, inv_f, window, slide")
    .reduces(Incremental)
    .pairs()
    .checkpointed()
    .filtered("reduce_by_key_and_window_inv_filtered"),
    op(
        "reduce_by_key_and_window_inv_filtered",
        "reduceByKeyAndWindow",
        Window,
        &[Func, Func, Duration, Duration, Func],
        Emit::Method("reduce_by_key_and_window_inv_filtered"),
        "Incremental per-key windowed reduce whose state is filtered by `filter(&(K, V)) -> bool`.",
    )
    .params("f, inv_f, window, slide, filter")
    .reduces(Incremental)
    .pairs()
    .checkpointed(),
];
