//! The tokens every stage emitter shares: hygienic names, the variable of
//! each stage's stream, and the tokens of arguments (durations, streams,
//! compiler-written functions). Used by [`super`] for single operators and
//! by [`super::fused`] for fused chains.

use crate::graph::args::DurationArg;
use crate::graph::{Arg, Graph, NodeId};
use crate::ops::BuiltinFn;
use crate::plan::{Plan, Stage};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

/// A hygienic identifier for generated locals.
pub(crate) fn hygienic(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// The variable holding the stream of a stage's result.
pub(crate) fn stage_var(graph: &Graph, stage: &Stage) -> Ident {
    match &graph.nodes[stage.result()].name {
        Some(name) => name.clone(),
        None => format_ident!("__s{}", stage.id, span = Span::mixed_site()),
    }
}

/// `ident` moved to `at` for error reporting, keeping its hygiene, so
/// that an expression mixing it with tokens spanned at `at` is reported at
/// `at` alone.
pub(crate) fn located(ident: &Ident, at: Span) -> Ident {
    Ident::new(&ident.to_string(), ident.span().located_at(at))
}

/// The variable holding the stream of `node` (its stage's variable).
pub(crate) fn var_of(graph: &Graph, plan: &Plan, node: NodeId) -> Ident {
    stage_var(graph, &plan.stages[plan.stage_of[node]])
}

/// Tokens of a duration argument: `Duration::from_millis(ms)` or the
/// user's expression.
pub(crate) fn duration(d: &DurationArg) -> TokenStream {
    match d {
        DurationArg::Millis { ms, span } => {
            quote_spanned!(*span=> ::std::time::Duration::from_millis(#ms))
        }
        DurationArg::Dynamic(expr) => quote!(#expr),
    }
}

/// Tokens of a compiler-written function, spanned at the user's token.
pub(crate) fn builtin(f: BuiltinFn, span: Span) -> TokenStream {
    let (a, b) = (hygienic("__a"), hygienic("__b"));
    match f {
        BuiltinFn::Add => quote_spanned!(span=> |#a, #b| #a + #b),
        BuiltinFn::Min => quote_spanned!(span=> ::core::cmp::min),
        BuiltinFn::Max => quote_spanned!(span=> ::core::cmp::max),
        BuiltinFn::One => quote_spanned!(span=> |_| 1u64),
    }
}

/// Tokens of one argument of an operator call.
pub(crate) fn arg(graph: &Graph, plan: &Plan, a: &Arg) -> TokenStream {
    match a {
        Arg::Expr(expr) => quote!(#expr),
        Arg::Duration(d) => duration(d),
        Arg::Stream(id) => {
            let var = var_of(graph, plan, *id);
            quote!(&#var)
        }
        Arg::Builtin(f, span) => builtin(*f, *span),
    }
}
