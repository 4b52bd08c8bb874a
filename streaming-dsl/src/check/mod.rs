//! Checking: every error of a `stream!` program, collected in one
//! [`Diagnostics`] accumulator and each spanned on the user's token.
//!
//! Structural errors (unknown operators, wrong argument counts, undefined
//! stream names, malformed durations) are found while the graph is built
//! (`graph::lower`), using [`suggest`] and [`durations`]; the semantic passes
//! below then run over the whole graph: slide-duration multiples
//! ([`windows`]), checkpoint requirements ([`state`]) and output operations
//! ([`outputs`]). No pass stops at the first error.
//!
//! Type errors (a by-key operator on a stream that is not made of pairs,
//! joins of different key types) are left to rustc: the generated code routes
//! the element types through small helpers spanned on the user's operator
//! (see `codegen::helpers`).

pub mod durations;
pub mod outputs;
pub mod state;
pub mod suggest;
pub mod windows;

use crate::graph::Graph;
use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use std::fmt::Display;

/// The error accumulator shared by all phases.
#[derive(Default, Debug)]
pub struct Diagnostics {
    errors: Vec<syn::Error>,
}

impl Diagnostics {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an error at `span`.
    pub fn error(&mut self, span: Span, message: impl Display) {
        self.errors.push(syn::Error::new(span, message));
    }

    /// Adds an error covering all of `tokens`.
    pub fn error_spanned(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.errors.push(syn::Error::new_spanned(tokens, message));
    }

    /// Adds an existing error.
    pub fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    /// Whether no error was reported.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Number of errors.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// The messages, in report order (for tests and tools).
    pub fn messages(&self) -> Vec<String> {
        self.errors.iter().map(|e| e.to_string()).collect()
    }

    /// The errors, in report order.
    pub fn errors(&self) -> &[syn::Error] {
        &self.errors
    }

    /// One `compile_error!` per error, each at its span.
    pub fn to_compile_errors(&self) -> TokenStream {
        self.errors
            .iter()
            .map(syn::Error::to_compile_error)
            .collect()
    }
}

/// Runs the semantic passes over a lowered graph.
pub fn run(graph: &Graph, diags: &mut Diagnostics) {
    windows::check(graph, diags);
    state::check(graph, diags);
    outputs::check(graph, diags);
}
