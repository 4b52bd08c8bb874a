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
//! The DSL's special cases are data here too, so no phase matches operator
//! names: the built-in reducers and what they write ([`builtin_reducer`]),
//! the entry a windowed reduce becomes with the built-in `sum` or `count`
//! ([`summed_of`]), how a windowed reduce runs ([`Reduction`]), the mapping
//! in front of `count` ([`value_mapper`]) and the method of a fused chain
//! ([`fused_method`]).
//!
//! An operator name may have several entries with different arities
//! (overloads, as in Spark: `reduce_by_key(f)` and `reduce_by_key(f, n)`).
//! Input operators live in their own namespace: they start a pipeline
//! (`socket_text_stream(host, port)`), all others are method calls on a stream.
//!
//! The files: `spec` defines an entry's shape (re-exported here); one file
//! per family (`input`, `narrow`, `shuffle`, `window`, `state`, `output`)
//! holds its entries; `reducers` holds the built-in reducer table; this
//! module gathers them and answers look-ups. The
//! table is the second layer of the crate (above `diag` only), so every
//! phase reads it.

mod input;
mod narrow;
mod output;
mod reducers;
mod shuffle;
mod spec;
mod state;
mod window;

pub use reducers::{builtin_reducer, BuiltinFn, BuiltinReducer};
pub use spec::{ArgKind, Combine, Elements, Emit, Fused, Kind, OpSpec, Reduction};

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

/// The entry a windowed reduce `spec` becomes with the built-in `sum` or
/// `count` (its `summed` entry, which takes the same durations and no
/// reducer), if any.
pub fn summed_of(spec: &OpSpec) -> Option<&'static OpSpec> {
    let name = spec.summed?;
    Some(lookup(Namespace::Method, name, spec.arity() - 1).expect("summed entry exists"))
}

/// The entry mapping every value of a stream of `elements`: `map_values` on
/// key-value pairs (keeping the key), `map` otherwise. The built-in `count`
/// maps each value to 1 with it before summing.
pub fn value_mapper(elements: Elements) -> &'static OpSpec {
    let step = match elements {
        Elements::Pairs | Elements::SameKeyPairs => Fused::MapValues,
        Elements::Any => Fused::Map,
    };
    fused_entry(step)
}

/// The runtime method a combined stage (a narrow chain and the by-key
/// operator it feeds, [`Combine`]) is emitted as: the combine given each
/// element by reference when the chain borrows, by value otherwise.
pub fn combine_method(borrowed: bool) -> &'static str {
    if borrowed {
        "combine_ref_into_by_key"
    } else {
        "combine_into_by_key"
    }
}

/// The runtime method a borrowing chain into the built-in windowed sum by
/// key is emitted as ([`crate::plan::in_window_combine`]): the window's own
/// pane combine, given each element by reference.
pub fn window_combine_method() -> &'static str {
    "sum_ref_into_by_key_and_window"
}

/// The runtime method a fused chain of narrow operators is emitted as: that
/// of `map_partitions_with_index` when one of its steps needs the partition
/// index ([`Fused::indexed`]), of `map_partitions` otherwise.
pub fn fused_method(indexed: bool) -> &'static str {
    let step = if indexed {
        Fused::MapPartitionsWithIndex
    } else {
        Fused::MapPartitions
    };
    fused_entry(step).emit.method()
}

/// The entry of a fusable step.
fn fused_entry(step: Fused) -> &'static OpSpec {
    all()
        .find(|s| s.fused() == Some(step))
        .expect("every fused step has an entry")
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
    fn summed_targets_take_the_durations_only() {
        let mut found = 0;
        for spec in all().filter(|s| s.summed.is_some()) {
            found += 1;
            let target = summed_of(spec).unwrap();
            assert!(target.needs_checkpoint);
            assert_eq!(target.reduction, Some(Reduction::Summed));
            assert_eq!(target.args, &spec.args[1..], "{}", spec.name);
            assert_eq!(target.elements, spec.elements, "{}", spec.name);
            assert_eq!(target.emit.method(), target.name);
        }
        assert_eq!(found, 2);
    }

    #[test]
    fn windowed_reduces_say_how_they_run() {
        for spec in all() {
            let is_reduce = spec.kind == Kind::Window
                && (spec.name.starts_with("reduce") || spec.name.starts_with("sum"));
            assert_eq!(spec.reduction.is_some(), is_reduce, "{}", spec.name);
            if let Some(reduction) = spec.reduction {
                let stateful = reduction != Reduction::Panes;
                assert_eq!(stateful, spec.needs_checkpoint, "{}", spec.name);
            }
        }
    }

    #[test]
    fn builtin_helpers_read_the_table() {
        assert_eq!(value_mapper(Elements::Pairs).name, "map_values");
        assert_eq!(value_mapper(Elements::Pairs).elements, Elements::Pairs);
        assert_eq!(value_mapper(Elements::SameKeyPairs).name, "map_values");
        assert_eq!(value_mapper(Elements::Any).name, "map");
        assert_eq!(value_mapper(Elements::Any).elements, Elements::Any);
        assert_eq!(fused_method(false), "map_partitions");
        assert_eq!(fused_method(true), "map_partitions_with_index");
        let count = builtin_reducer("count").unwrap();
        assert_eq!(count.premap, Some(BuiltinFn::One));
        assert!(count.sums);
        assert!(!builtin_reducer("min").unwrap().sums);
        assert!(builtin_reducer("avg").is_none());
        for spec in all().filter(|s| s.summed.is_some()) {
            assert_eq!(summed_of(spec).unwrap().name, spec.summed.unwrap());
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
