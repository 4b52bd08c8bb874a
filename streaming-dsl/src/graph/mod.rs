//! The pipeline graph: every operator application of a program as a node,
//! with its resolved table entry, its checked arguments and its input
//! streams. Named streams are just names on nodes, so a stream used several
//! times has several consumers (fan-out) and binary operators and `union`
//! have several inputs (fan-in).
//!
//! Nodes are stored in program order, and a node's inputs always come before
//! it, so the node order is a topological order.
//!
//! The graph is built by [`lower`] (from the parsed program), which parses
//! argument values with [`args`] (durations) and words its name errors with
//! [`suggest`] ("did you mean"). The later phases (`check`, `plan`,
//! `codegen`) read the graph; none of these modules imports them.

pub mod args;
mod lower;
pub mod suggest;

pub use lower::lower;

use crate::ops::{BuiltinFn, Kind, OpSpec};
use args::DurationArg;
use proc_macro2::Span;
use syn::{Expr, Ident, Type};

/// Index of a node in [`Graph::nodes`].
pub type NodeId = usize;

/// A checked argument.
#[derive(Clone, Debug)]
pub enum Arg {
    /// A function or value expression, emitted as written.
    Expr(Box<Expr>),
    /// A duration.
    Duration(DurationArg),
    /// Another stream of the graph.
    Stream(NodeId),
    /// A compiler-written function, spanned at the user's token (e.g. `sum`).
    Builtin(BuiltinFn, Span),
}

/// One operator application.
#[derive(Debug)]
pub struct Node {
    /// Its index.
    pub id: NodeId,
    /// The resolved table entry.
    pub spec: &'static OpSpec,
    /// The operator's name as written (all errors about it point here).
    pub op: Ident,
    /// The arguments (stream arguments included, as [`Arg::Stream`]).
    pub args: Vec<Arg>,
    /// Input streams: the receiver first, then stream arguments in order.
    pub inputs: Vec<NodeId>,
    /// The `let` name bound to this node's stream, if any.
    pub name: Option<Ident>,
    /// The type annotation of that `let`, if any.
    pub ty: Option<Box<Type>>,
    /// Inserted by the compiler (e.g. the `map_values(|_| 1)` of `count`).
    pub synthetic: bool,
    /// The built-in reducer the user wrote, if any (`sum`, `count`, ..).
    pub builtin: Option<&'static str>,
}

impl Node {
    /// The node's operator kind.
    pub fn kind(&self) -> Kind {
        self.spec.kind
    }

    /// The duration arguments in order (for windows: window, then slide).
    pub fn durations(&self) -> impl Iterator<Item = &DurationArg> {
        self.args.iter().filter_map(|a| match a {
            Arg::Duration(d) => Some(d),
            _ => None,
        })
    }

    /// The stream names this node is known by in dumps: its `let` name or
    /// its operator name.
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) => name.to_string(),
            None => self.spec.name.to_string(),
        }
    }
}

/// The settings of the `context(..)` clause.
#[derive(Debug)]
pub struct Context {
    /// Span of the clause (or of the macro call when it is missing).
    pub span: Span,
    /// `conf = ..`: a `StreamingConf` to start from (other settings are
    /// applied on top of it).
    pub conf: Option<Box<Expr>>,
    /// The batch interval (required unless `conf` is given).
    pub batch: Option<DurationArg>,
    /// `master = ..` (default `"local[*]"`).
    pub master: Option<Box<Expr>>,
    /// `app = ..` (default: the calling module's path).
    pub app: Option<Box<Expr>>,
    /// `checkpoint = ..`: the checkpoint directory.
    pub checkpoint: Option<Box<Expr>>,
    /// `remember = ..`: how long batches are kept.
    pub remember: Option<DurationArg>,
}

/// A lowered program.
#[derive(Debug)]
pub struct Graph {
    /// The context settings.
    pub context: Context,
    /// The nodes, in topological (program) order.
    pub nodes: Vec<Node>,
    /// The streams returned to the caller, in order.
    pub exports: Vec<(Ident, NodeId)>,
    /// The span of the whole macro call (for errors about the program).
    pub call_span: Span,
    /// Whether some statement could not be lowered because of another error,
    /// so whether the program has an output is unknown ("no output" is then
    /// not reported).
    pub outputs_unknown: bool,
}

impl Graph {
    /// The nodes reading `id`'s stream, in order (a node reading it twice,
    /// as in `a.join(&a)`, appears twice).
    pub fn consumers(&self, id: NodeId) -> Vec<NodeId> {
        self.nodes
            .iter()
            .flat_map(|n| n.inputs.iter().filter(|&&i| i == id).map(move |_| n.id))
            .collect()
    }

    /// Whether `id` is returned to the caller.
    pub fn is_exported(&self, id: NodeId) -> bool {
        self.exports.iter().any(|(_, e)| *e == id)
    }

    /// Whether the program registers at least one output operation.
    pub fn has_output(&self) -> bool {
        self.nodes.iter().any(|n| n.kind() == Kind::Output)
    }
}
