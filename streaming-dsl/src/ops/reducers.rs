//! The built-in reducers: the bare words `sum`, `count`, `min` and `max`
//! written where an operator takes a reducer ([`ArgKind::Reducer`]). The
//! compiler writes their functions itself ([`BuiltinFn`]); this table says
//! which, and which of them are sums (a windowed reduce then calls the
//! runtime's exact windowed sum).
//!
//! [`ArgKind::Reducer`]: super::ArgKind::Reducer

/// A function the compiler writes itself (built-in reducers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuiltinFn {
    /// `|a, b| a + b` (the `sum` reducer, and `count` after mapping to 1).
    Add,
    /// `::core::cmp::min`.
    Min,
    /// `::core::cmp::max`.
    Max,
    /// `|_| 1u64` (the mapping in front of `count`).
    One,
}

impl BuiltinFn {
    /// How the function reads in plan dumps.
    pub fn label(self) -> &'static str {
        match self {
            BuiltinFn::Add => "a + b",
            BuiltinFn::Min => "min",
            BuiltinFn::Max => "max",
            BuiltinFn::One => "1",
        }
    }
}

/// One built-in reducer.
#[derive(Debug)]
pub struct BuiltinReducer {
    /// The word written in `stream!`.
    pub name: &'static str,
    /// The reduce function.
    pub reduce: BuiltinFn,
    /// Whether it is a sum: a windowed reduce with a `summed` entry then
    /// uses that entry (the runtime's exact windowed sum).
    pub sums: bool,
    /// A mapping applied to every value first (`count` maps each to 1 and
    /// then sums), as a compiler-inserted `map` or `map_values` node.
    pub premap: Option<BuiltinFn>,
}

/// The built-in reducers.
pub static REDUCERS: &[BuiltinReducer] = &[
    BuiltinReducer {
        name: "sum",
        reduce: BuiltinFn::Add,
        sums: true,
        premap: None,
    },
    BuiltinReducer {
        name: "count",
        reduce: BuiltinFn::Add,
        sums: true,
        premap: Some(BuiltinFn::One),
    },
    BuiltinReducer {
        name: "min",
        reduce: BuiltinFn::Min,
        sums: false,
        premap: None,
    },
    BuiltinReducer {
        name: "max",
        reduce: BuiltinFn::Max,
        sums: false,
        premap: None,
    },
];

/// The built-in reducer written `word`, if any.
pub fn builtin_reducer(word: &str) -> Option<&'static BuiltinReducer> {
    REDUCERS.iter().find(|r| r.name == word)
}
