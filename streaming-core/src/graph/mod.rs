//! The stream graph, independent of any context and of the `DStream` API:
//! typed nodes with their operators and memoized batches ([`node`]), the
//! operator shapes every operation is built from ([`shapes`]), the
//! execution environment operators see ([`env`]), the graph's side of
//! inputs ([`source`]), the state interface checkpoints use ([`stateful`]),
//! and the graph being defined or run ([`registry`]).
//!
//! Layering: this module imports only the base modules and `batch`; the
//! `DStream` API (`dstream/`), inputs (`input/`), checkpoints
//! (`checkpoint/`) and the context (`context/`) build on it.

pub(crate) mod env;
pub(crate) mod node;
pub(crate) mod registry;
pub(crate) mod shapes;
pub(crate) mod source;
pub(crate) mod stateful;
