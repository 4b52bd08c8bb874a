//! Slide durations: every window and slide duration must be a multiple of
//! the parent stream's slide duration — the batch interval for a stream
//! derived from an input, the slide of the nearest window upstream
//! otherwise — and streams combined by `union`, `join`, .. must have the same
//! slide. A stream checkpoint interval must be a multiple of its slide.
//!
//! Durations given as run-time expressions are not known statically; the
//! check is skipped for them and everything downstream.

use crate::diag::Diagnostics;
use crate::graph::args::format_ms;
use crate::graph::{Graph, NodeId};
use crate::ops::Kind;

/// Where a stream's slide duration comes from (for messages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlideOrigin {
    /// The batch interval of the context.
    Batch,
    /// The slide argument of a window operator (the node).
    Window(NodeId),
}

/// A stream's slide duration, when statically known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slide {
    /// Milliseconds.
    pub ms: u64,
    /// Where it comes from.
    pub origin: SlideOrigin,
}

/// The slide duration of every node (`None` when not statically known).
pub fn slides(graph: &Graph) -> Vec<Option<Slide>> {
    let batch = graph.context.batch.as_ref().and_then(|d| d.millis());
    let mut out: Vec<Option<Slide>> = Vec::with_capacity(graph.nodes.len());
    for node in &graph.nodes {
        let slide = if node.kind() == Kind::Input && node.inputs.is_empty() {
            batch.map(|ms| Slide {
                ms,
                origin: SlideOrigin::Batch,
            })
        } else if node.kind().sets_slide() {
            node.durations()
                .nth(1)
                .and_then(|d| d.millis())
                .map(|ms| Slide {
                    ms,
                    origin: SlideOrigin::Window(node.id),
                })
        } else {
            node.inputs.first().and_then(|&i| out[i])
        };
        out.push(slide);
    }
    out
}

fn parent_text(graph: &Graph, slide: Slide) -> String {
    match slide.origin {
        SlideOrigin::Batch => format!("the batch interval `{}`", format_ms(slide.ms)),
        SlideOrigin::Window(id) => format!(
            "the parent stream's slide duration `{}` (set by `{}` upstream)",
            format_ms(slide.ms),
            graph.nodes[id].op
        ),
    }
}

/// Runs the check.
pub fn check(graph: &Graph, diags: &mut Diagnostics) {
    let slides = slides(graph);
    for node in &graph.nodes {
        let parent = node.inputs.first().and_then(|&i| slides[i]);
        // Fan-in: all inputs must slide together.
        let known: Vec<Slide> = node.inputs.iter().filter_map(|&i| slides[i]).collect();
        if let Some(first) = known.first() {
            if let Some(other) = known.iter().find(|s| s.ms != first.ms) {
                diags.error(
                    node.op.span(),
                    format!(
                        "`{}` combines streams with different slide durations (`{}` and `{}`); window them to the same slide first",
                        node.op,
                        format_ms(first.ms),
                        format_ms(other.ms)
                    ),
                );
            }
        }
        let Some(parent) = parent else { continue };
        match node.kind() {
            Kind::Window => {
                for (what, d) in ["window duration", "slide duration"]
                    .into_iter()
                    .zip(node.durations())
                {
                    if let Some(ms) = d.millis() {
                        if !ms.is_multiple_of(parent.ms) {
                            diags.error(
                                d.span(),
                                format!(
                                    "{what} `{}` of `{}` is not a multiple of {}",
                                    format_ms(ms),
                                    node.op,
                                    parent_text(graph, parent)
                                ),
                            );
                        }
                    }
                }
            }
            Kind::Persist => {
                for d in node.durations() {
                    if let Some(ms) = d.millis() {
                        if !ms.is_multiple_of(parent.ms) {
                            diags.error(
                                d.span(),
                                format!(
                                    "checkpoint interval `{}` is not a multiple of {}",
                                    format_ms(ms),
                                    parent_text(graph, parent)
                                ),
                            );
                        }
                    }
                }
            }
            _ => {}
        }
    }
}
