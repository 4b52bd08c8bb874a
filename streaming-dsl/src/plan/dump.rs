//! Plan dumps: a [`Plan`] as a Mermaid flowchart, one box per stage listing
//! the user's operators it contains and how it runs (the runtime method, and
//! for windowed reduces the table's [`Reduction`]). This is the text
//! `stream_plan!` returns.

use super::{Plan, Shape, Stage};
use crate::check::windows::slides;
use crate::graph::args::format_ms;
use crate::graph::{Arg, Graph, Node};
use crate::ops::{self, Combine, Fused, Kind};

/// Renders the plan as a Mermaid `flowchart`.
pub fn mermaid(graph: &Graph, plan: &Plan) -> String {
    let slides = slides(graph);
    let mut out = String::from("flowchart TD\n");
    for stage in &plan.stages {
        let ops: Vec<String> = stage
            .nodes
            .iter()
            .map(|&n| op_label(&graph.nodes[n]))
            .collect();
        let mut detail = vec![how(graph, stage)];
        if let (true, Some(slide)) = (
            kind_of(graph, stage) == Kind::Window,
            slides[stage.result()],
        ) {
            detail.push(format!("slide {}", format_ms(slide.ms)));
        }
        out.push_str(&format!(
            "    s{}[\"{}<br/>{}\"]\n",
            stage.id,
            escape(&ops.join(" → ")),
            escape(&detail.join(" · "))
        ));
    }
    for stage in &plan.stages {
        for input in &stage.inputs {
            out.push_str(&format!("    s{input} --> s{}\n", stage.id));
        }
    }
    out
}

fn kind_of(graph: &Graph, stage: &Stage) -> Kind {
    graph.nodes[stage.result()].kind()
}

/// `name = op(builtin)` for one node.
fn op_label(node: &Node) -> String {
    let mut label = String::new();
    if let Some(name) = &node.name {
        label.push_str(&format!("{name} = "));
    }
    if node.synthetic {
        let f = node.args.iter().find_map(|a| match a {
            Arg::Builtin(f, _) => Some(f.label()),
            _ => None,
        });
        label.push_str(&format!("{}(|_| {})", node.spec.name, f.unwrap_or("?")));
        return label;
    }
    label.push_str(&node.op.to_string());
    if let Some(builtin) = node.builtin {
        label.push_str(&format!("({builtin})"));
    }
    label
}

/// The second line of a stage box: its kind and runtime call.
fn how(graph: &Graph, stage: &Stage) -> String {
    let first = &graph.nodes[stage.nodes[0]];
    let last = &graph.nodes[stage.result()];
    match stage.shape {
        Shape::Input => format!("input · {}", first.spec.emit.method()),
        Shape::Output => format!("output · {}", first.spec.emit.method()),
        Shape::Fused => {
            let indexed = stage
                .nodes
                .iter()
                .filter_map(|&n| graph.nodes[n].spec.fused())
                .any(Fused::indexed);
            format!(
                "{} · fused {} ops into {}",
                first.kind().label(),
                stage.nodes.len(),
                ops::fused_method(indexed)
            )
        }
        Shape::Combined => {
            let in_window = crate::plan::in_window_combine(graph, stage);
            let method = if in_window {
                ops::window_combine_method()
            } else {
                ops::combine_method(crate::plan::borrows(graph, stage))
            };
            let chain = stage.nodes.len() - 1;
            let ops = if chain == 1 { "op" } else { "ops" };
            let fused = format!("fused {chain} {ops} into {method}");
            match (last.spec.combine, last.spec.reduction) {
                // The chain runs in the window's own combine: no method
                // after it.
                (_, Some(reduction)) if in_window => {
                    format!("{} · {fused} · {}", last.kind().label(), reduction.label())
                }
                (Some(Combine::Precombine), Some(reduction)) => format!(
                    "{} · {fused} · {} · {}",
                    last.kind().label(),
                    reduction.label(),
                    last.spec.emit.method()
                ),
                (Some(Combine::Grouped(method)), _) => {
                    format!("{} · {fused} · {method}", last.kind().label())
                }
                _ => format!("{} · {fused}", last.kind().label()),
            }
        }
        Shape::Op => {
            let method = last.spec.emit.method();
            match last.spec.reduction {
                Some(reduction) => {
                    format!("{} · {} · {method}", last.kind().label(), reduction.label())
                }
                None => format!("{} · {method}", last.kind().label()),
            }
        }
    }
}

/// Escapes a label for a quoted Mermaid string.
fn escape(text: &str) -> String {
    text.replace('"', "#quot;")
}
