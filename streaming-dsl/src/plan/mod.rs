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
//! * A `filter` after a windowed reduction is a narrow operator on its
//!   output like any other: it is never applied to the window's state,
//!   which would change what the window holds (a key dropped by the filter
//!   would come back without its earlier in-window values).
//!
//! [`dump`] renders a plan as a Mermaid flowchart.

pub mod dump;

use crate::graph::{Graph, NodeId};
use crate::ops::Kind;

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

/// Plans a graph (which must have passed the checks).
pub fn plan(graph: &Graph) -> Plan {
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
        if let Some(s) = fuse_into {
            stages[s].nodes.push(node.id);
            stages[s].shape = Shape::Fused;
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
