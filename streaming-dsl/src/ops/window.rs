//! Window operators: computed over the batches of the last `window`
//! duration, every `slide`. Both durations must be multiples of the parent
//! stream's slide; the result's slide is `slide`.
//!
//! Windowed reductions are resolved at compile time, and never at the cost
//! of a different result:
//! - with an inverse function (the four-argument and `_inv` spellings, one
//!   entry each, the same runtime operator), the incremental runtime
//!   operator runs with Spark's documented semantics: a key whose value
//!   returns to its zero stays in the output unless Spark's filter function
//!   (the five-argument form) removes it;
//! - the built-in `sum` and `count` become `sum_by_window` /
//!   `sum_by_key_and_window`, whose result is exactly that of the closure
//!   `|a, b| a + b` (a key is emitted while it has an element in the window,
//!   and is gone once it has none); the runtime picks the path from the value
//!   type: incremental with a per-key element count for integers, panes for
//!   floats, which would drift under subtraction;
//! - other reducers (`min`, `max`, closures) use the runtime's slide-sized
//!   partial aggregates (panes).
//!
//! A `filter` after a windowed reduction filters its output; it is never
//! applied to the window's state.

use super::spec::{op, ArgKind::*, Combine, Emit, Kind::Window, OpSpec, Reduction::*};

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
        "Reduces the window's elements; `sum`/`count` become `sum_by_window`.",
    )
    .params("reducer, window, slide")
    .reduces(Panes)
    .summed("sum_by_window"),
    op(
        "sum_by_window",
        "reduceByWindow",
        Window,
        &[Duration, Duration],
        Emit::Method("sum_by_window"),
        "The sum of the window's elements, exactly as `reduce_by_window(|a, b| a + b, ..)`: incremental for integers, panes for floats.",
    )
    .params("window, slide")
    .reduces(Summed)
    .checkpointed(),
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
        "Per-key reduce over the window on slide-sized panes; `sum`/`count` become `sum_by_key_and_window`.",
    )
    .params("reducer, window, slide")
    .reduces(Panes)
    .pairs()
    .summed("sum_by_key_and_window")
    .combines(Combine::Precombine),
    op(
        "sum_ref_into_by_key_and_window",
        "reduceByKeyAndWindow",
        Window,
        &[Func, Duration, Duration],
        Emit::Method("sum_ref_into_by_key_and_window"),
        "`each(&T, &mut Combiner<K, V>)` makes each element's pairs (keys may borrow from it), summed per key over the window exactly as `sum_by_key_and_window`; each pane is one combine straight from the elements.",
    )
    .params("each, window, slide")
    .reduces(Summed)
    .checkpointed(),
    op(
        "sum_by_key_and_window",
        "reduceByKeyAndWindow",
        Window,
        &[Duration, Duration],
        Emit::Method("sum_by_key_and_window"),
        "Per-key sum over the window, exactly as `reduce_by_key_and_window(|a, b| a + b, ..)`: keys with no element left are dropped; incremental with element counts for integers, panes for floats.",
    )
    .params("window, slide")
    .reduces(Summed)
    .pairs()
    .checkpointed()
    .combines(Combine::Precombine),
    op(
        "reduce_by_key_and_window",
        "reduceByKeyAndWindow",
        Window,
        &[Func, Func, Duration, Duration],
        Emit::Method("reduce_by_key_and_window_inv"),
        "Incremental per-key windowed reduce with an inverse function (Spark's semantics: keys back at zero stay).",
    )
    .params("f, inv_f, window, slide")
    .reduces(Incremental)
    .pairs()
    .checkpointed()
    .combines(Combine::Precombine),
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
    .combines(Combine::Precombine),
    op(
        "reduce_by_key_and_window",
        "reduceByKeyAndWindow",
        Window,
        &[Func, Func, Duration, Duration, Func],
        Emit::Method("reduce_by_key_and_window_inv_filtered"),
        "Incremental per-key windowed reduce with Spark's `filterFunc`: only pairs with `filter(&(K, V))` true are emitted and kept.",
    )
    .params("f, inv_f, window, slide, filter")
    .reduces(Incremental)
    .pairs()
    .checkpointed()
    .combines(Combine::Precombine),
    op(
        "reduce_by_key_and_window_inv_filtered",
        "reduceByKeyAndWindow",
        Window,
        &[Func, Func, Duration, Duration, Func],
        Emit::Method("reduce_by_key_and_window_inv_filtered"),
        "Same as the five-argument `reduce_by_key_and_window`.",
    )
    .params("f, inv_f, window, slide, filter")
    .reduces(Incremental)
    .pairs()
    .checkpointed()
    .combines(Combine::Precombine),
];
