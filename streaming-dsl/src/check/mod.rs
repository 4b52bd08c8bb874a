//! Checking: the semantic passes over a lowered graph. Like every phase,
//! they report into one [`Diagnostics`] accumulator (in [`crate::diag`]),
//! each error spanned on the user's token.
//!
//! Structural errors (unknown operators, wrong argument counts, undefined
//! stream names, malformed durations) are found while the graph is built
//! (`graph::lower`, with `graph::suggest` and `graph::args`); the semantic passes
//! below then run over the whole graph: slide-duration multiples
//! ([`windows`]), checkpoint requirements ([`state`]) and output operations
//! ([`outputs`]). No pass stops at the first error.
//!
//! Type errors (a by-key operator on a stream that is not made of pairs,
//! joins of different key types) are left to rustc: the generated code routes
//! the element types through small helpers spanned on the user's operator
//! (see `codegen::helpers`).

pub mod outputs;
pub mod state;
pub mod windows;

use crate::diag::Diagnostics;
use crate::graph::Graph;

/// Runs the semantic passes over a lowered graph.
pub fn run(graph: &Graph, diags: &mut Diagnostics) {
    windows::check(graph, diags);
    state::check(graph, diags);
    outputs::check(graph, diags);
}
