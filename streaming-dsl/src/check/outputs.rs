//! Output operations: a pipeline that registers none would never run
//! anything (Spark refuses to start it). A program that returns streams to
//! its caller may register outputs later, so it is exempt; so is one whose
//! output statements have errors of their own (reported already).

use crate::diag::Diagnostics;
use crate::graph::Graph;

/// Runs the check.
pub fn check(graph: &Graph, diags: &mut Diagnostics) {
    if graph.has_output() || graph.outputs_unknown || !graph.exports.is_empty() {
        return;
    }
    diags.error(
        graph.call_span,
        "this pipeline has no output operation, so it would compute nothing: end a chain with `.print()`, `.foreach_batch(..)` or `.save_as_text_files(..)`, or return streams by naming them in a last expression",
    );
}
