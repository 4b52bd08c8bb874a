//! The built-in reducers: the bare words `sum`, `count`, `min` and `max`
//! written where an operator takes a reducer ([`ArgKind::Reducer`]). The
//! compiler writes their functions itself ([`BuiltinFn`]); this table says
//! which, and which of them make a windowed reduce incremental.
//!
//! [`ArgKind::Reducer`]: super::ArgKind::Reducer

/// A function the compiler writes itself (built-in reducers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuiltinFn {
    /// `|a, b| a + b` (the `sum` reducer, and `count` after mapping to 1).
    Add,
    /// `|a, b| a - b` (inverse of `Add`).
    Sub,
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
            BuiltinFn::Sub => "a - b",
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
    /// Its inverse, if it has one: a windowed reduce with an `incremental`
    /// entry then uses that entry, with this as its inverse function.
    pub inverse: Option<BuiltinFn>,
    /// A mapping applied to every value first (`count` maps each to 1 and
    /// then sums), as a compiler-inserted `map` or `map_values` node.
    pub premap: Option<BuiltinFn>,
}

/// The built-in reducers.
pub static REDUCERS: &[BuiltinReducer] = &[
    BuiltinReducer {
        name: "sum",
        reduce: BuiltinFn::Add,
        inverse: Some(BuiltinFn::Sub),
        premap: None,
    },
    BuiltinReducer {
        name: "count",
        reduce: BuiltinFn::Add,
        inverse: Some(BuiltinFn::Sub),
        premap: Some(BuiltinFn::One),
    },
    BuiltinReducer {
        name: "min",
        reduce: BuiltinFn::Min,
        inverse: None,
        premap: None,
    },
    BuiltinReducer {
        name: "max",
        reduce: BuiltinFn::Max,
        inverse: None,
        premap: None,
    },
];

/// The built-in reducer written `word`, if any.
pub fn builtin_reducer(word: &str) -> Option<&'static BuiltinReducer> {
    REDUCERS.iter().find(|r| r.name == word)
}
