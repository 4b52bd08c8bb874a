//! The compiler behind the `stream!` macro of the `streaming` crate.
//!
//! A `stream!` body is compiled in five phases, each a module, over two base
//! modules: [`diag`], the error accumulator every phase reports into, and
//! [`ops`], the operator table every phase reads (special cases included,
//! as data). Each module imports only from itself and the modules before it
//! in the order `diag`, `ops`, `parse`, `graph`, `check`, `plan`, `codegen`
//! (checked by `scripts/check-layers.sh`):
//!
//! 1. [`parse`]: the macro input (Rust statement syntax, parsed by `syn`) to
//!    a surface AST of a context clause, `let` bindings of pipelines, output
//!    statements and returned streams — every token keeps its span.
//! 2. [`graph`]: the AST to a graph of operator nodes (named streams, fan-out
//!    and fan-in), resolving names against the [`ops`] table, checking
//!    argument counts, parsing durations ([`graph::args`]), and resolving
//!    built-in reducers.
//! 3. [`check`]: the semantic checks (slide multiples, checkpoint
//!    requirements, output operations). All phases report into one
//!    [`diag::Diagnostics`]; nothing stops at the first error.
//! 4. [`plan`]: the graph to stages — consecutive narrow operators fused into
//!    one stage, shuffles, windows and state as boundaries.
//! 5. [`codegen`]: the stages to Rust code calling the typed runtime API
//!    (`::streaming::..`), with fused stages as one iterator chain per
//!    partition.
//!
//! The crate is an ordinary library (no proc-macro context needed), so each
//! phase is unit-tested directly; `streaming-macros` only forwards to
//! [`expand`] and [`expand_plan`].

#![deny(missing_docs)]

pub mod check;
pub mod codegen;
pub mod diag;
pub mod graph;
pub mod ops;
pub mod parse;
pub mod plan;

use diag::Diagnostics;
use proc_macro2::{Span, TokenStream};

/// The result of compiling a `stream!` body.
#[derive(Debug)]
pub struct Compiled {
    /// The pipeline graph.
    pub graph: graph::Graph,
    /// Its stages.
    pub plan: plan::Plan,
}

/// The failure of compiling a `stream!` body: all errors, and how many
/// streams the program returns (so the placeholder has the right type).
#[derive(Debug)]
pub struct Failure {
    /// Every error found.
    pub diagnostics: Diagnostics,
    /// Number of streams named in the tail expression.
    pub exports: usize,
}

/// Runs parse, lowering, checks and planning.
pub fn compile(input: TokenStream) -> Result<Compiled, Failure> {
    let mut diags = Diagnostics::new();
    let program = match parse::parse(input, &mut diags) {
        Ok(program) => program,
        Err(err) => {
            diags.push(err);
            return Err(Failure {
                diagnostics: diags,
                exports: 0,
            });
        }
    };
    let exports = program.exports.len();
    let graph = graph::lower(program, Span::call_site(), &mut diags);
    check::run(&graph, &mut diags);
    if !diags.is_empty() {
        return Err(Failure {
            diagnostics: diags,
            exports,
        });
    }
    let plan = plan::plan(&graph);
    Ok(Compiled { graph, plan })
}

/// The expansion of `stream! { .. }`: the pipeline code, or on errors every
/// `compile_error!` plus a well-typed placeholder.
pub fn expand(input: TokenStream) -> TokenStream {
    match compile(input) {
        Ok(compiled) => {
            if std::env::var_os("STREAMING_DSL_PLAN").is_some() {
                eprintln!("{}", plan::dump::mermaid(&compiled.graph, &compiled.plan));
            }
            codegen::generate(&compiled.graph, &compiled.plan)
        }
        Err(failure) => {
            codegen::placeholder(failure.diagnostics.to_compile_errors(), failure.exports)
        }
    }
}

/// The expansion of `stream_plan! { .. }`: the plan as a Mermaid flowchart
/// in a `&'static str` literal (or the errors).
pub fn expand_plan(input: TokenStream) -> TokenStream {
    match compile(input) {
        Ok(compiled) => {
            let text = plan::dump::mermaid(&compiled.graph, &compiled.plan);
            quote::quote!(#text)
        }
        Err(failure) => {
            let errors = failure.diagnostics.to_compile_errors();
            quote::quote!({ #errors "" })
        }
    }
}
