//! Checkpoint requirements: stateful operators (`update_state_by_key`,
//! `map_with_state`) and incremental windows (an inverse function, or the
//! built-in `sum`/`count` reducers, which the runtime computes incrementally
//! for integer values,
//! and `count_by_window`/`count_by_value_and_window`, which the runtime
//! computes incrementally) need a checkpoint directory, as in Spark.

use crate::diag::Diagnostics;
use crate::graph::Graph;
use crate::ops::{ArgKind, Kind};

/// Runs the check.
pub fn check(graph: &Graph, diags: &mut Diagnostics) {
    if graph.context.checkpoint.is_some() {
        return;
    }
    for node in graph
        .nodes
        .iter()
        .filter(|n| n.spec.needs_checkpoint && !n.synthetic)
    {
        let why = match node.builtin {
            Some(builtin) => format!(
"`{}` with the built-in `{builtin}` runs incrementally for integer values (it adds the batches entering the window and subtracts those leaving it, keeping a per-key sum and element count), so it keeps state and needs a checkpoint directory",
                node.op
            ),
            None if node.kind() == Kind::Window && node.spec.args.starts_with(&[ArgKind::Func, ArgKind::Func]) => format!(
                "`{}` with an inverse function keeps the window's state between batches and needs a checkpoint directory",
                node.op
            ),
            None if node.kind() == Kind::Window => format!(
                "`{}` is computed incrementally (as Spark's `{}`), so it keeps the window's state between batches and needs a checkpoint directory",
                node.op, node.spec.spark
            ),
            None => format!(
                "`{}` keeps state across batches and needs a checkpoint directory",
                node.op
            ),
        };
        diags.error(
            node.op.span(),
            format!("{why}: add `checkpoint = \"<dir>\"` to the `context(..)` clause"),
        );
    }
}
