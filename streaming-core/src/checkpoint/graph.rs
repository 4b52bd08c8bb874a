//! The structure of a pipeline as a checkpoint records it, the stable names
//! of its stateful operators, and what changed between two structures.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Result, StreamingError};
use crate::graph::node::AnyNode;
use crate::graph::registry::OutputOp;
use crate::graph::source::InputHandle;
use crate::graph::stateful::StatefulOperator;

/// The structure of a pipeline: everything about it but its closures.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GraphDescription {
    pub(crate) batch_interval_ms: u64,
    /// Operators in definition order (inputs included).
    pub(crate) nodes: Vec<NodeDescription>,
    /// Input names, in definition order.
    pub(crate) inputs: Vec<String>,
    /// Output operations, in definition order.
    pub(crate) outputs: Vec<OutputDescription>,
}

/// One operator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct NodeDescription {
    /// The operation (`map`, `update_state_by_key`, `input`...).
    pub(crate) operation: String,
    /// The Rust type of its elements.
    pub(crate) element_type: String,
    pub(crate) slide_ms: u64,
    /// Indices of its parents in `nodes`.
    pub(crate) parents: Vec<usize>,
    /// The stable name of its state, for stateful operators.
    pub(crate) state_name: Option<String>,
}

/// One output operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OutputDescription {
    pub(crate) operation: String,
    /// Index of the stream it outputs in `nodes`.
    pub(crate) node: usize,
}

/// A stateful operator of a live pipeline, with its stable name.
pub(crate) struct StatefulEntry {
    pub(crate) name: String,
    pub(crate) op: Arc<dyn StatefulOperator>,
}

/// 64-bit FNV-1a.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl NodeDescription {
    /// How the node shows in messages: `map<alloc::string::String>`.
    fn label(&self) -> String {
        let slide = Duration::from_millis(self.slide_ms);
        match &self.state_name {
            Some(n) => format!(
                "`{}` named `{n}` ({}, every {slide:?})",
                self.operation, self.element_type
            ),
            None => format!(
                "`{}` ({}, every {slide:?})",
                self.operation, self.element_type
            ),
        }
    }
}

impl GraphDescription {
    /// Describes a pipeline and names its stateful operators.
    ///
    /// Fails when two stateful operators are given the same name.
    pub(crate) fn describe(
        batch_interval: Duration,
        nodes: &[Arc<dyn AnyNode>],
        inputs: &[Arc<dyn InputHandle>],
        outputs: &[Arc<OutputOp>],
    ) -> Result<(GraphDescription, Vec<StatefulEntry>)> {
        let index: HashMap<usize, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.meta().id, i))
            .collect();
        let mut per_operation: HashMap<&'static str, usize> = HashMap::new();
        let mut seen: Vec<*const ()> = Vec::new();
        let mut entries: Vec<StatefulEntry> = Vec::new();
        let mut described = Vec::with_capacity(nodes.len());
        for node in nodes {
            let meta = node.meta();
            let mut state_name = None;
            if let Some(op) = node.stateful() {
                // Several nodes may share one state (a stream and views of
                // it): the first one names it.
                let ptr = Arc::as_ptr(&op) as *const ();
                if !seen.contains(&ptr) {
                    seen.push(ptr);
                    let n = per_operation.entry(op.operation()).or_insert(0);
                    let generated = format!("{}#{n}", op.operation());
                    *n += 1;
                    let name = meta.user_name.lock().unwrap().clone().unwrap_or(generated);
                    if entries.iter().any(|e| e.name == name) {
                        return Err(StreamingError::Config(format!(
                            "two stateful operators are named `{name}`: names identify state in checkpoints and must be unique"
                        )));
                    }
                    state_name = Some(name.clone());
                    entries.push(StatefulEntry { name, op });
                }
            }
            described.push(NodeDescription {
                operation: meta.name.to_string(),
                element_type: node.element_type().to_string(),
                slide_ms: meta.slide.as_millis() as u64,
                parents: meta
                    .parents
                    .iter()
                    .filter_map(|p| index.get(&p.meta().id).copied())
                    .collect(),
                state_name,
            });
        }
        let outputs = outputs
            .iter()
            .map(|o| OutputDescription {
                operation: o.name.to_string(),
                node: index.get(&o.node.meta().id).copied().unwrap_or(usize::MAX),
            })
            .collect();
        Ok((
            GraphDescription {
                batch_interval_ms: batch_interval.as_millis() as u64,
                nodes: described,
                inputs: inputs.iter().map(|i| i.name()).collect(),
                outputs,
            },
            entries,
        ))
    }

    /// The fingerprint of the structure (FNV-1a of its encoding).
    pub(crate) fn fingerprint(&self) -> u64 {
        fnv1a(&postcard::to_stdvec(self).unwrap_or_default())
    }

    /// One line per operator, input and output.
    pub(crate) fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "batch interval {:?}",
            Duration::from_millis(self.batch_interval_ms)
        )];
        for (i, name) in self.inputs.iter().enumerate() {
            out.push(format!("input #{i}: {name}"));
        }
        for (i, n) in self.nodes.iter().enumerate() {
            out.push(format!("operator #{i}: {} <- {:?}", n.label(), n.parents));
        }
        for (i, o) in self.outputs.iter().enumerate() {
            out.push(format!(
                "output #{i}: `{}` of operator #{}",
                o.operation, o.node
            ));
        }
        out
    }

    /// The stateful operators, by name.
    pub(crate) fn stateful(&self) -> impl Iterator<Item = (&str, &NodeDescription)> + '_ {
        self.nodes
            .iter()
            .filter_map(|n| n.state_name.as_deref().map(|s| (s, n)))
    }

    /// What changed from `old` to `self` in the operators and outputs, as
    /// readable sentences (empty when they are the same).
    pub(crate) fn structural_changes(&self, old: &GraphDescription) -> Vec<String> {
        let mut changes = Vec::new();
        let old_labels: Vec<String> = old.nodes.iter().map(NodeDescription::label).collect();
        let new_labels: Vec<String> = self.nodes.iter().map(NodeDescription::label).collect();
        diff(&old_labels, &new_labels, "operator", &mut changes);
        let edges_only = changes.is_empty() && old.nodes != self.nodes;
        if edges_only {
            changes.push("the connections between operators changed".to_string());
        }
        let old_out: Vec<String> = old
            .outputs
            .iter()
            .map(|o| format!("`{}`", o.operation))
            .collect();
        let new_out: Vec<String> = self
            .outputs
            .iter()
            .map(|o| format!("`{}`", o.operation))
            .collect();
        let before = changes.len();
        diff(&old_out, &new_out, "output", &mut changes);
        if changes.len() == before && !edges_only && old.outputs != self.outputs {
            changes.push("the streams the outputs write changed".to_string());
        }
        changes
    }
}

/// Describes the edit turning `old` into `new` (a longest common
/// subsequence: what was removed, what was added, with positions).
fn diff(old: &[String], new: &[String], what: &str, out: &mut Vec<String>) {
    let (n, m) = (old.len(), new.len());
    // lcs[i][j]: the longest common subsequence of old[i..] and new[j..].
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if old[i] == new[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && old[i] == new[j] {
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(format!("{what} #{j} {} was added", new[j]));
            j += 1;
        } else {
            out.push(format!("{what} #{i} {} was removed", old[i]));
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(op: &str, parents: Vec<usize>) -> NodeDescription {
        NodeDescription {
            operation: op.into(),
            element_type: "u64".into(),
            slide_ms: 1000,
            parents,
            state_name: None,
        }
    }

    fn graph(nodes: Vec<NodeDescription>) -> GraphDescription {
        GraphDescription {
            batch_interval_ms: 1000,
            nodes,
            inputs: vec!["file stream /in".into()],
            outputs: vec![OutputDescription {
                operation: "print".into(),
                node: 0,
            }],
        }
    }

    #[test]
    fn an_inserted_operator_is_named_with_its_position() {
        let old = graph(vec![node("input", vec![]), node("map", vec![0])]);
        let new = graph(vec![
            node("input", vec![]),
            node("filter", vec![0]),
            node("map", vec![1]),
        ]);
        let changes = new.structural_changes(&old);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert!(changes[0].contains("operator #1 `filter`"), "{changes:?}");
        assert!(changes[0].contains("added"), "{changes:?}");
        assert_ne!(old.fingerprint(), new.fingerprint());
    }

    #[test]
    fn a_replaced_operator_is_removed_and_added() {
        let old = graph(vec![node("input", vec![]), node("map", vec![0])]);
        let new = graph(vec![node("input", vec![]), node("flat_map", vec![0])]);
        let changes = new.structural_changes(&old);
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert!(changes
            .iter()
            .any(|c| c.contains("`map`") && c.contains("removed")));
        assert!(changes
            .iter()
            .any(|c| c.contains("`flat_map`") && c.contains("added")));
    }

    #[test]
    fn rewired_operators_are_reported() {
        let old = graph(vec![
            node("input", vec![]),
            node("map", vec![0]),
            node("map", vec![1]),
        ]);
        let new = graph(vec![
            node("input", vec![]),
            node("map", vec![0]),
            node("map", vec![0]),
        ]);
        assert_eq!(
            new.structural_changes(&old),
            vec!["the connections between operators changed".to_string()]
        );
        assert!(old.structural_changes(&old).is_empty());
        assert_eq!(old.fingerprint(), old.clone().fingerprint());
    }
}
