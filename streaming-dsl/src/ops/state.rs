//! Stateful operators: per-key state carried from batch to batch. All of
//! them need a checkpoint directory (`checkpoint = ".."` in the context
//! clause), as in Spark.

use super::spec::{op, ArgKind::*, Combine, Emit, Kind::Narrow, Kind::State, OpSpec};

/// The state entries.
pub(crate) static OPS: &[OpSpec] = &[
    op(
        "update_state_by_key",
        "updateStateByKey",
        State,
        &[Func],
        Emit::Method("update_state_by_key"),
        "Per-key state: `f(new_values: &[V], state: Option<S>) -> Option<S>`; `None` removes the key.",
    )
    .pairs()
    .checkpointed()
    .combines(Combine::Grouped("update_state_by_key_grouped")),
    op(
        "update_state_by_key_with_initial",
        "updateStateByKey",
        State,
        &[Func, Value],
        Emit::Method("update_state_by_key_with_initial"),
        "`update_state_by_key` starting from an initial `Batch<(K, S)>`.",
    )
    .params("f, initial")
    .pairs()
    .checkpointed()
    .combines(Combine::Grouped("update_state_by_key_grouped_with_initial")),
    op(
        "update_state_by_key_with_time",
        "updateStateByKey",
        State,
        &[Func],
        Emit::Method("update_state_by_key_with_time"),
        "`update_state_by_key` whose function also gets the batch time and key: `f(Time, &K, &[V], Option<S>)`.",
    )
    .pairs()
    .checkpointed()
    .combines(Combine::Grouped("update_state_by_key_grouped_with_time")),
    op(
        "map_with_state",
        "mapWithState",
        State,
        &[Value],
        Emit::Method("map_with_state"),
        "Per-key state driven by a `StateSpec`; emits the function's results.",
    )
    .params("spec")
    .pairs()
    .checkpointed()
    .combines(Combine::Grouped("map_with_state_grouped")),
    op(
        "state_snapshots",
        "stateSnapshots",
        Narrow,
        &[],
        Emit::Method("state_snapshots"),
        "The full `(K, S)` state after each batch, on the result of `map_with_state`.",
    ),
];
