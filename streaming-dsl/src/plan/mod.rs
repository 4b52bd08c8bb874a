//! Planning: grouping the graph's nodes into *stages*, each emitted as one
//! runtime operator call.
//!
//! * Consecutive fusable narrow operators (`map`, `flat_map`, `filter`,
//!   `map_values`, `flat_map_values`, `map_partitions`,
//!   `map_partitions_with_index`, `glom`) form one fused stage, compiled into
//!   a single `map_partitions` whose closure is one iterator chain per
//!   partition — no intermediate collection, no per-operator dispatch.
//! * A stream used more than once (fan-out), returned to the caller, or
//!   given a type annotation ends its stage (it must exist as a `DStream`).
//! * Inputs, shuffles, windows, state, whole-batch functions, persistence
//!   and outputs each form a stage of their own (stage boundaries).
//! * A chain of element-wise narrow operators (`map`, `flat_map`, `filter`,
//!   `map_values`, `flat_map_values`) feeding a by-key operator with a
//!   `combine` entry in the table (`reduce_by_key`, `count_by_value`,
//!   `group_by_key`, `combine_by_key`, `update_state_by_key` and
//!   `map_with_state` (on groups),
//!   and the windowed by-key reductions when they slide by their parent's
//!   slide) joins that operator's stage
//!   ([`Shape::Combined`]): the chain runs inside the map-side combine's
//!   loop, with no intermediate element. When the chain's first closure
//!   takes its element by reference (`|line: &str|`), the whole chain
//!   borrows from the input ([`borrows`]) and keys become owned only when
//!   they first enter a partition's combine table.
//! * A `filter` after a windowed reduction is a narrow operator on its
//!   output like any other: it is never applied to the window's state,
//!   which would change what the window holds (a key dropped by the filter
//!   would come back without its earlier in-window values).
//!
//! [`dump`] renders a plan as a Mermaid flowchart.

pub mod dump;

use crate::check::windows::{slides, Slide};
use crate::graph::Arg;
use crate::graph::{Graph, NodeId};
use crate::ops::{Combine, Fused, Kind, Reduction};
use syn::{Expr, Pat, PatType, Type};

/// Index of a stage in [`Plan::stages`].
pub type StageId = usize;

/// How a stage is emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// An input: `ssc.<input>(..)`.
    Input,
    /// One runtime operator on the input stream(s).
    Op,
    /// Two or more fusable narrow operators as one `map_partitions` call.
    Fused,
    /// Element-wise narrow operators and the by-key operator they feed,
    /// as one map-side combine loop.
    Combined,
    /// An output operation (produces no stream).
    Output,
}

/// One stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// Its index.
    pub id: StageId,
    /// The graph nodes it computes, in order; the last one is the stage's
    /// result stream.
    pub nodes: Vec<NodeId>,
    /// The stages whose streams it reads (distinct, in argument order).
    pub inputs: Vec<StageId>,
    /// How it is emitted.
    pub shape: Shape,
}

impl Stage {
    /// The node whose stream this stage produces.
    pub fn result(&self) -> NodeId {
        *self.nodes.last().expect("a stage has nodes")
    }
}

/// The stages of a graph, in an order where inputs come first.
#[derive(Debug)]
pub struct Plan {
    /// The stages.
    pub stages: Vec<Stage>,
    /// For each node, the stage computing it.
    pub stage_of: Vec<StageId>,
}

/// Whether the stream of `id` must exist as its own `DStream`.
fn materialized(graph: &Graph, id: NodeId) -> bool {
    graph.consumers(id).len() != 1 || graph.is_exported(id) || graph.nodes[id].ty.is_some()
}

/// Whether a windowed by-key reduction slides by its parent's slide, so
/// that fusing its input chain into a per-batch combine leaves each pane
/// exactly as the runtime would compute it ([`Combine::Precombine`]).
fn precombinable(graph: &Graph, slides: &[Option<Slide>], id: NodeId) -> bool {
    let node = &graph.nodes[id];
    let parent = node.inputs.first().and_then(|&i| slides[i]);
    matches!((slides[id], parent), (Some(own), Some(parent)) if own.ms == parent.ms)
}

/// Whether a [`Shape::Combined`] stage borrows its elements: the first
/// closure of its chain that takes the element itself (a `filter` takes a
/// reference to it whatever the mode, so filters are skipped) declares its
/// parameter as a reference (`|line: &str|`).
pub fn borrows(graph: &Graph, stage: &Stage) -> bool {
    let Some(first) = stage
        .nodes
        .iter()
        .map(|&n| &graph.nodes[n])
        .find(|n| n.spec.fused().is_some_and(|f| f != Fused::Filter))
    else {
        return false;
    };
    let Some(Arg::Expr(expr)) = first.args.first() else {
        return false;
    };
    let Expr::Closure(closure) = &**expr else {
        return false;
    };
    matches!(
        closure.inputs.first(),
        Some(Pat::Type(PatType { ty, .. })) if matches!(**ty, Type::Reference(_))
    )
}

/// Whether a [`Shape::Combined`] stage's chain runs inside its window's
/// own pane combine: a borrowing chain ([`borrows`]) in front of the
/// built-in windowed sum by key, emitted as the runtime's
/// `sum_ref_into_by_key_and_window` (each pane combined straight from the
/// input's elements, with no per-batch stream of pairs).
pub fn in_window_combine(graph: &Graph, stage: &Stage) -> bool {
    let Some(&last) = stage.nodes.last() else {
        return false;
    };
    let target = &graph.nodes[last];
    target.spec.combine == Some(Combine::Precombine)
        && target.spec.reduction == Some(Reduction::Summed)
        && target.spec.emit.method() == "sum_by_key_and_window"
        && borrows(graph, stage)
}

/// Plans a graph (which must have passed the checks).
pub fn plan(graph: &Graph) -> Plan {
    let slides = slides(graph);
    let mut stages: Vec<Stage> = Vec::new();
    let mut stage_of: Vec<StageId> = Vec::with_capacity(graph.nodes.len());
    for node in &graph.nodes {
        let parent = node.inputs.first().copied();
        let joinable = parent.and_then(|p| {
            let stage = &stages[stage_of[p]];
            let open = stage.result() == p && !materialized(graph, p) && node.inputs.len() == 1;
            open.then_some(stage.id)
        });
        let fuse_into = joinable.filter(|&s| {
            let stage = &stages[s];
            node.spec.fused().is_some()
                && matches!(stage.shape, Shape::Op | Shape::Fused)
                && stage
                    .nodes
                    .iter()
                    .all(|&n| graph.nodes[n].spec.fused().is_some())
        });
        let combine_into = joinable.filter(|&s| {
            let stage = &stages[s];
            let elementwise = stage.nodes.iter().all(|&n| {
                graph.nodes[n]
                    .spec
                    .fused()
                    .is_some_and(|f| f.element_wise())
            });
            match node.spec.combine {
                None => false,
                Some(how) => {
                    matches!(stage.shape, Shape::Op | Shape::Fused)
                        && elementwise
                        && (how != Combine::Precombine || precombinable(graph, &slides, node.id))
                }
            }
        });
        if let Some(s) = fuse_into {
            stages[s].nodes.push(node.id);
            stages[s].shape = Shape::Fused;
            stage_of.push(s);
        } else if let Some(s) = combine_into {
            stages[s].nodes.push(node.id);
            stages[s].shape = Shape::Combined;
            stage_of.push(s);
        } else {
            let shape = match node.kind() {
                Kind::Input => Shape::Input,
                Kind::Output => Shape::Output,
                _ => Shape::Op,
            };
            let mut inputs: Vec<StageId> = Vec::new();
            for &i in &node.inputs {
                if !inputs.contains(&stage_of[i]) {
                    inputs.push(stage_of[i]);
                }
            }
            let id = stages.len();
            stages.push(Stage {
                id,
                nodes: vec![node.id],
                inputs,
                shape,
            });
            stage_of.push(id);
        }
    }
    Plan { stages, stage_of }
}
