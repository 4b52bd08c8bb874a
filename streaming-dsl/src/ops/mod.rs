//! The operator table: the single source of truth about every operator the
//! `stream!` DSL knows.
//!
//! Each entry ([`OpSpec`]) names an operator, the arguments it takes, what it
//! does to the data flow ([`Kind`]), which elements it needs ([`Elements`]),
//! whether it needs a checkpoint directory, and how it is emitted ([`Emit`]).
//! The table drives name resolution and arity checks (`graph`), the semantic
//! checks (`check`), stage planning (`plan`), code generation (`codegen`) and
//! the generated operator reference ([`markdown_reference`]).
//!
//! An operator name may have several entries with different arities
//! (overloads, as in Spark: `reduce_by_key(f)` and `reduce_by_key(f, n)`).
//! Input operators live in their own namespace: they start a pipeline
//! (`socket_text_stream(host, port)`), all others are method calls on a stream.

mod input;
mod narrow;
mod output;
mod shuffle;
mod state;
mod window;

use std::fmt;

/// What an operator does to the data flow; drives planning and checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Creates a stream from outside data (socket, files, queue).
    Input,
    /// Element-wise or partition-wise work without data movement.
    Narrow,
    /// Moves data between partitions (by key, or to one place).
    Shuffle,
    /// Works over a sliding window of batches; changes the slide duration.
    Window,
    /// Keeps per-key state across batches.
    State,
    /// Whole-batch function supplied by the user (`transform`).
    Batch,
    /// Marks a stream for persistence or checkpointing.
    Persist,
    /// Registers an output operation; ends a chain.
    Output,
}

impl Kind {
    /// Short lower-case name used in plan dumps and documentation.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Input => "input",
            Kind::Narrow => "narrow",
            Kind::Shuffle => "shuffle",
            Kind::Window => "window",
            Kind::State => "state",
            Kind::Batch => "batch",
            Kind::Persist => "persist",
            Kind::Output => "output",
        }
    }

    /// Whether the operator's stream has its own slide duration (given by
    /// its slide argument) instead of its parent's.
    pub fn sets_slide(self) -> bool {
        self == Kind::Window
    }
}

/// The elements an operator needs on its input stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elements {
    /// Any element type.
    Any,
    /// Key-value pairs `(K, V)`.
    Pairs,
    /// Key-value pairs on both inputs, with the same key type (joins).
    SameKeyPairs,
}

/// The kind of one argument, which decides how it is checked and emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// A function (closure or path); passed through unchanged.
    Func,
    /// Any Rust value expression (host, port, queue, count...).
    Value,
    /// A duration: a literal such as `3s`, `500ms`, `2min`, `1h`,
    /// `Seconds(3)`, or any expression of type `std::time::Duration`.
    Duration,
    /// Another stream of the pipeline: a name (`other` or `&other`) or an
    /// inline pipeline expression.
    Stream,
    /// One or more streams (variadic; only as the last argument).
    Streams,
    /// A reduce function, or one of the built-in reducers `sum`, `count`,
    /// `min`, `max`.
    Reducer,
}

impl ArgKind {
    /// Placeholder name used in signatures in messages and documentation.
    pub fn placeholder(self) -> &'static str {
        match self {
            ArgKind::Func => "f",
            ArgKind::Value => "value",
            ArgKind::Duration => "duration",
            ArgKind::Stream => "stream",
            ArgKind::Streams => "streams..",
            ArgKind::Reducer => "reducer",
        }
    }
}

/// The fusable narrow operators: what one step of a fused per-partition
/// iterator chain does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fused {
    /// `Iterator::map(f)`.
    Map,
    /// `Iterator::flat_map(f)`.
    FlatMap,
    /// `Iterator::filter(f)`, `f` taking `&T`.
    Filter,
    /// `.map(|(k, v)| (k, f(v)))`.
    MapValues,
    /// `.flat_map(|(k, v)| f(v).map(|w| (k.clone(), w)))`.
    FlatMapValues,
    /// `f(boxed iterator)`.
    MapPartitions,
    /// `f(partition index, boxed iterator)`.
    MapPartitionsWithIndex,
    /// Collect the partition into one `Vec`.
    Glom,
}

/// How an operator is emitted by the code generator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emit {
    /// `ssc.<method>(args..)` on the streaming context.
    Source(&'static str),
    /// `ssc.union(vec![streams..])`.
    UnionSource,
    /// `input.<method>(args..)`: one runtime operator.
    Method(&'static str),
    /// A fusable narrow operator: consecutive ones become one
    /// `map_partitions` call; alone it is `input.<method>(f)`.
    Fuse(Fused, &'static str),
}

impl Emit {
    /// The runtime method this entry calls when emitted on its own.
    pub fn method(self) -> &'static str {
        match self {
            Emit::Source(m) | Emit::Method(m) | Emit::Fuse(_, m) => m,
            Emit::UnionSource => "union",
        }
    }
}

/// One entry of the operator table.
#[derive(Debug)]
pub struct OpSpec {
    /// The name written in `stream!`.
    pub name: &'static str,
    /// Spark's name for the same operator (for suggestions and docs).
    pub spark: &'static str,
    /// What the operator does to the data flow.
    pub kind: Kind,
    /// What the input elements must be.
    pub elements: Elements,
    /// The arguments, in order (the arity is their number).
    pub args: &'static [ArgKind],
    /// The arguments' names for messages and docs (`"window, slide"`);
    /// `None` for operators whose only argument is a function `f`.
    pub params: Option<&'static str>,
    /// Whether the operator keeps state and needs `checkpoint = ..`.
    pub needs_checkpoint: bool,
    /// For a windowed reduce: the entry (by name, with an inverse function)
    /// used when the reducer is the invertible built-in `sum` or `count`.
    pub incremental: Option<&'static str>,
    /// How the operator is emitted.
    pub emit: Emit,
    /// One-line documentation.
    pub doc: &'static str,
}

impl OpSpec {
    /// Number of arguments (`usize::MAX` bound for variadic entries is not
    /// used: a variadic entry accepts `args.len()` or more).
    pub fn arity(&self) -> usize {
        self.args.len()
    }

    /// Whether the last argument is variadic.
    pub fn is_variadic(&self) -> bool {
        self.args.last() == Some(&ArgKind::Streams)
    }

    /// Whether `n` arguments fit this entry.
    pub fn accepts(&self, n: usize) -> bool {
        if self.is_variadic() {
            n >= self.args.len()
        } else {
            n == self.args.len()
        }
    }

    /// Whether this operator can be fused into a per-partition iterator chain.
    pub fn fused(&self) -> Option<Fused> {
        match self.emit {
            Emit::Fuse(f, _) => Some(f),
            _ => None,
        }
    }

    /// The signature as written by a user, e.g. `window(window, slide)`.
    pub fn signature(&self) -> String {
        match self.params {
            Some(params) => format!("{}({params})", self.name),
            None => {
                let args: Vec<&str> = self.args.iter().map(|a| a.placeholder()).collect();
                format!("{}({})", self.name, args.join(", "))
            }
        }
    }
}

impl fmt::Display for OpSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.signature())
    }
}

/// The operator families, one table per source file.
static FAMILIES: &[&[OpSpec]] = &[
    input::OPS,
    narrow::OPS,
    shuffle::OPS,
    window::OPS,
    state::OPS,
    output::OPS,
];

/// Every entry of the table, in documentation order.
pub fn all() -> impl Iterator<Item = &'static OpSpec> {
    FAMILIES.iter().flat_map(|family| family.iter())
}

/// The namespace an operator name is looked up in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Namespace {
    /// Inputs: the start of a pipeline (`socket_text_stream(..)`).
    Input,
    /// Operators: method calls on a stream (`.map(..)`).
    Method,
}

impl Namespace {
    fn contains(self, spec: &OpSpec) -> bool {
        (spec.kind == Kind::Input) == (self == Namespace::Input)
    }
}

/// All entries called `name` in a namespace (one per overload).
pub fn overloads(ns: Namespace, name: &str) -> Vec<&'static OpSpec> {
    all().filter(|s| ns.contains(s) && s.name == name).collect()
}

/// The entry called `name` in a namespace accepting `n` arguments.
pub fn lookup(ns: Namespace, name: &str, n: usize) -> Option<&'static OpSpec> {
    all().find(|s| ns.contains(s) && s.name == name && s.accepts(n))
}

/// The distinct names of a namespace (for suggestions).
pub fn names(ns: Namespace) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = all().filter(|s| ns.contains(s)).map(|s| s.name).collect();
    names.dedup();
    names
}

/// The entry whose Spark name is `spark` in a namespace, if any.
pub fn by_spark_name(ns: Namespace, spark: &str) -> Option<&'static OpSpec> {
    all().find(|s| ns.contains(s) && s.spark == spark)
}

/// The operator reference as a Markdown table, generated from the table.
///
/// The `streaming-macros` crate includes this text (checked in as
/// `OPERATORS.md` and kept equal by a test) in the `stream!` documentation.
pub fn markdown_reference() -> String {
    let mut out = String::new();
    out.push_str("| operator | Spark | kind | elements | checkpoint | description |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for spec in all() {
        let elements = match spec.elements {
            Elements::Any => "any",
            Elements::Pairs => "`(K, V)`",
            Elements::SameKeyPairs => "`(K, V)`, `(K, W)`",
        };
        out.push_str(&format!(
            "| `{}` | `{}` | {} | {} | {} | {} |\n",
            spec.signature(),
            spec.spark,
            spec.kind.label(),
            elements,
            if spec.needs_checkpoint { "yes" } else { "" },
            spec.doc
        ));
    }
    out
}

/// Builds an entry with defaults (any elements, no checkpoint); the family
/// files refine it with the `const` methods below.
pub(crate) const fn op(
    name: &'static str,
    spark: &'static str,
    kind: Kind,
    args: &'static [ArgKind],
    emit: Emit,
    doc: &'static str,
) -> OpSpec {
    OpSpec {
        name,
        spark,
        kind,
        elements: Elements::Any,
        args,
        params: None,
        needs_checkpoint: false,
        incremental: None,
        emit,
        doc,
    }
}

impl OpSpec {
    /// The input must be a stream of key-value pairs.
    pub(crate) const fn pairs(mut self) -> Self {
        self.elements = Elements::Pairs;
        self
    }

    /// Both inputs must be key-value streams with the same key type.
    pub(crate) const fn same_key(mut self) -> Self {
        self.elements = Elements::SameKeyPairs;
        self
    }

    /// Names the arguments for messages and documentation.
    pub(crate) const fn params(mut self, params: &'static str) -> Self {
        self.params = Some(params);
        self
    }

    /// The operator needs a checkpoint directory.
    pub(crate) const fn checkpointed(mut self) -> Self {
        self.needs_checkpoint = true;
        self
    }

    /// With an invertible built-in reducer, use the entry `name` instead.
    pub(crate) const fn incremental(mut self, name: &'static str) -> Self {
        self.incremental = Some(name);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overloads_have_distinct_arities() {
        for spec in all() {
            let ns = if spec.kind == Kind::Input {
                Namespace::Input
            } else {
                Namespace::Method
            };
            let same: Vec<_> = overloads(ns, spec.name)
                .into_iter()
                .filter(|o| o.arity() == spec.arity())
                .collect();
            assert_eq!(same.len(), 1, "duplicate overload {}", spec.signature());
        }
    }

    #[test]
    fn incremental_targets_exist_and_take_an_inverse() {
        for spec in all().filter(|s| s.incremental.is_some()) {
            let target = lookup(Namespace::Method, spec.incremental.unwrap(), 4)
                .unwrap_or_else(|| panic!("missing incremental entry for {}", spec.name));
            assert!(target.needs_checkpoint);
            assert_eq!(target.args[..2], [ArgKind::Func, ArgKind::Func]);
        }
    }

    #[test]
    fn lookup_respects_namespace_and_arity() {
        assert_eq!(
            lookup(Namespace::Method, "reduce_by_key", 2).unwrap().emit,
            Emit::Method("reduce_by_key_with_partitions")
        );
        assert!(lookup(Namespace::Method, "socket_text_stream", 2).is_none());
        assert!(lookup(Namespace::Input, "union", 3).is_some());
        assert_eq!(
            lookup(Namespace::Method, "print", 1).unwrap().emit,
            Emit::Method("print_n")
        );
        assert_eq!(
            by_spark_name(Namespace::Method, "foreachRDD").unwrap().name,
            "foreach_batch"
        );
    }

    #[test]
    fn reference_lists_every_entry() {
        let doc = markdown_reference();
        assert_eq!(doc.lines().count(), all().count() + 2);
        assert!(doc.contains("| `reduce_by_key_and_window(reducer, window, slide)` | `reduceByKeyAndWindow` | window |"));
    }
}
