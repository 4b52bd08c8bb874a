//! The shape of one table entry: [`OpSpec`] and the enums describing an
//! operator (its [`Kind`], the [`Elements`] it needs, its arguments'
//! [`ArgKind`]s, how it is emitted: [`Emit`], [`Fused`], and for windowed
//! reduces how they run: [`Reduction`]), with the `const` builder the family
//! files write their entries with.

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

impl Fused {
    /// Whether the step needs the partition index, so that a fused chain
    /// holding it is emitted as `map_partitions_with_index`.
    pub fn indexed(self) -> bool {
        self == Fused::MapPartitionsWithIndex
    }

    /// Whether the step works element by element (not on the whole
    /// partition), so that it can run inside a by-key operator's map-side
    /// combine loop ([`Combine`]).
    pub fn element_wise(self) -> bool {
        matches!(
            self,
            Fused::Map | Fused::FlatMap | Fused::Filter | Fused::MapValues | Fused::FlatMapValues
        )
    }
}

/// How a by-key operator takes a chain of element-wise narrow operators in
/// front of it into its own map-side combine: the chain and the combine run
/// as one loop per partition (the runtime's `combine_into_by_key`, or
/// `combine_ref_into_by_key` when the chain takes its elements by
/// reference).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Combine {
    /// `reduce_by_key(f)`: the combiner is the first value, merged with `f`.
    ReduceByKey,
    /// `count_by_value()`: each element is a key counted once.
    CountByValue,
    /// `group_by_key()`: the values of each key in arrival order.
    GroupByKey,
    /// `combine_by_key(create, merge_value, merge_combiners)`.
    CombineByKey,
    /// A windowed by-key reduction whose first argument is its reducer `f`
    /// (or the built-in `sum`, for `sum_by_key_and_window`): the chain is
    /// fused into a per-batch `reduce_by_key` with `f`, and the windowed
    /// operator runs on its output. Only where that gives the same result
    /// bit for bit: when the window slides by its parent's slide, so each
    /// pane is one batch, reduced exactly as the runtime would. The
    /// built-in `sum` behind a borrowing chain goes further: the chain runs
    /// in the window's own pane combine (`sum_ref_into_by_key_and_window`),
    /// with no per-batch stream of pairs.
    Precombine,
    /// A stateful by-key operator: the chain is fused into a grouping
    /// combine (each key's values in arrival order, as the operator would
    /// group them), and the operator runs on the groups through the runtime
    /// method named here, with the same arguments.
    Grouped(&'static str),
}

/// How a windowed reduce is computed (shown in plan dumps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    /// Incrementally: the batches entering the window are added and those
    /// leaving it subtracted with an inverse function, on state kept
    /// between batches (so it needs a checkpoint directory).
    Incremental,
    /// On the runtime's slide-sized partial aggregates (panes), for
    /// reducers without an inverse.
    Panes,
    /// The built-in `sum` (and `count`): the runtime's `WindowSum` picks the
    /// path from the value type at compile time, incremental with a
    /// per-key element count for integers and panes for floats, so the
    /// result always equals the closure form `|a, b| a + b`. Needs a
    /// checkpoint directory (for the integer path).
    Summed,
}

impl Reduction {
    /// Short lower-case name used in plan dumps.
    pub fn label(self) -> &'static str {
        match self {
            Reduction::Incremental => "incremental",
            Reduction::Panes => "panes",
            Reduction::Summed => "exact sum",
        }
    }
}

/// How an operator is emitted by the code generator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emit {
    /// `ssc.<method>(args..)` on the streaming context.
    Source(&'static str),
    /// `ssc.union(vec![streams..])`.
    UnionSource,
    /// `path(&ssc, args..)`, a function returning a `Result` of the stream
    /// (an input of another crate, such as the Kafka direct stream); an
    /// error ends the expansion's block with that error.
    FallibleSource(&'static str),
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
            Emit::FallibleSource(path) => path.rsplit("::").next().unwrap_or(path),
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
    /// For a windowed reduce: the entry (by name, taking only the
    /// durations) used when the reducer is the built-in `sum` or `count`,
    /// whose runtime method picks an exact path from the value type.
    pub summed: Option<&'static str>,
    /// For a windowed reduce: how it is computed.
    pub reduction: Option<Reduction>,
    /// For a by-key operator: how a narrow chain in front of it is fused
    /// into its map-side combine.
    pub combine: Option<Combine>,
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
        summed: None,
        reduction: None,
        combine: None,
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

    /// With the built-in `sum` or `count` reducer, use the entry `name`
    /// (the same durations, no reducer argument) instead.
    pub(crate) const fn summed(mut self, name: &'static str) -> Self {
        self.summed = Some(name);
        self
    }

    /// A narrow chain in front of it is fused into its combine as `how`.
    pub(crate) const fn combines(mut self, how: Combine) -> Self {
        self.combine = Some(how);
        self
    }

    /// The operator is a windowed reduce computed as `reduction`.
    pub(crate) const fn reduces(mut self, reduction: Reduction) -> Self {
        self.reduction = Some(reduction);
        self
    }
}
