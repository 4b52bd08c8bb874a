//! The running pipeline as the UI shows it: operators grouped into the
//! stages they run in, and the state size of each stateful operator.
//!
//! A node whose output stays lazy (see the execution model in the README)
//! runs inside its single consumer's pass when that consumer is a narrow
//! operator (`map`, `flat_map`, `filter`, ..., `union`); a stage ends where
//! a batch is materialized (a stream that is cached, remembered or read by
//! several consumers), before a shuffle, window, state or transform (which
//! read their parents' batches whole, as Spark's stage boundaries), and at
//! an output.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::graph::node::AnyNode;
use crate::graph::registry::FrozenGraph;

/// One operator of the pipeline.
#[derive(Clone, Debug)]
pub(crate) struct OpView {
    pub(crate) id: usize,
    pub(crate) name: &'static str,
    /// The name given with `DStream::name`, if any.
    pub(crate) user_name: Option<String>,
    /// Entries of its state (keys, panes) for a stateful operator.
    pub(crate) state_entries: Option<usize>,
}

/// Operators run in one pass per partition.
#[derive(Clone, Debug)]
pub(crate) struct StageView {
    /// The node that ends the stage (its output is materialized or goes to
    /// an output operation).
    pub(crate) root: usize,
    /// Its operators, upstream first.
    pub(crate) ops: Vec<OpView>,
    /// The stages it reads from.
    pub(crate) inputs: Vec<usize>,
    /// The output operations fed by its last operator.
    pub(crate) outputs: Vec<String>,
}

/// Operators that process their parent's elements in the same pass.
const NARROW: &[&str] = &[
    "map",
    "flat_map",
    "filter",
    "map_partitions",
    "map_partitions_with_index",
    "glom",
    "map_values",
    "flat_map_values",
    "union",
];

/// The pipeline in stages, in topological order.
pub(crate) fn stages(graph: &FrozenGraph) -> Vec<StageView> {
    let nodes: BTreeMap<usize, &Arc<dyn AnyNode>> =
        graph.nodes.iter().map(|n| (n.meta().id, n)).collect();
    let mut children: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for n in graph.nodes.iter() {
        for p in &n.meta().parents {
            children.entry(p.meta().id).or_default().push(n.meta().id);
        }
    }
    // Node ids grow along the graph (a node is created after its parents),
    // so walking from the highest id down sees every consumer first.
    let mut stage_of: BTreeMap<usize, usize> = BTreeMap::new();
    for (&id, n) in nodes.iter().rev() {
        let kids = children.get(&id).map(Vec::as_slice).unwrap_or(&[]);
        let fused = !n.is_memoized()
            && n.meta().consumers() == 1
            && kids.len() == 1
            && NARROW.contains(&nodes[&kids[0]].meta().name);
        let stage = if fused {
            stage_of.get(&kids[0]).copied().unwrap_or(id)
        } else {
            id
        };
        stage_of.insert(id, stage);
    }
    let mut out: BTreeMap<usize, StageView> = BTreeMap::new();
    for (&id, n) in &nodes {
        let meta = n.meta();
        let stage = stage_of[&id];
        let view = out.entry(stage).or_insert_with(|| StageView {
            root: stage,
            ops: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
        });
        for p in &meta.parents {
            let ps = stage_of[&p.meta().id];
            if ps != stage && !view.inputs.contains(&ps) {
                view.inputs.push(ps);
            }
        }
        view.ops.push(OpView {
            id,
            name: meta.name,
            user_name: meta.user_name.lock().unwrap().clone(),
            state_entries: n.stateful().map(|s| s.num_entries()),
        });
    }
    for o in &graph.outputs {
        let stage = stage_of[&o.node.meta().id];
        if let Some(v) = out.get_mut(&stage) {
            v.outputs.push(o.name.to_string());
        }
    }
    out.into_values().collect()
}
