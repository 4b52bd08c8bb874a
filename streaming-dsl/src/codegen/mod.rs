//! Code generation: a checked graph and its plan to Rust tokens that call
//! the plain, typed runtime API by absolute paths (`::streaming::..`).
//!
//! The expansion is one block expression of type
//! `::streaming::Result<::streaming::StreamingContext>` (or of a tuple of the
//! context and the returned streams). It builds the `StreamingConf` and the
//! context, sets the checkpoint directory, then emits one `let` per stage:
//! inputs as `ssc.<input>(..)`, single operators as method calls spanned on
//! the user's operator, fused narrow chains as one `map_partitions` call
//! ([`fused`]), narrow chains feeding a by-key operator as one map-side
//! combine loop ([`combined`]), and outputs as statements. Internal names are hygienic
//! (`Span::mixed_site`); the user's stream names keep their spans, so rustc's
//! "unused variable" warning points at a stream nobody reads.
//!
//! The files: this one emits the context and the single-operator stages;
//! [`fused`] emits fused chains; both build on `tokens` (hygienic names,
//! stage variables, argument tokens); [`helpers`] is the helper module
//! emitted inside every expansion.

pub mod combined;
pub mod fused;
pub mod helpers;
mod tokens;

use crate::graph::{Arg, Graph, NodeId};
use crate::ops::{Elements, Emit};
use crate::plan::{Plan, Shape, Stage};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned};
use tokens::{arg, duration, hygienic, located, stage_var, var_of};

/// The type of a successful expansion: the context, or a tuple of the
/// context and the returned streams (whose element types rustc infers).
pub fn success_type(exports: usize) -> TokenStream {
    if exports == 0 {
        quote!(::streaming::StreamingContext)
    } else {
        let streams = (0..exports).map(|_| quote!(::streaming::DStream<_>));
        quote!((::streaming::StreamingContext, #(#streams),*))
    }
}

/// The expansion used when there are errors: the `compile_error!`s and a
/// diverging expression of the success type, so the caller's code still
/// type-checks and only the real errors are shown.
pub fn placeholder(errors: TokenStream, exports: usize) -> TokenStream {
    let ty = success_type(exports);
    let f = hygienic("__stream_placeholder");
    quote! {
        {
            #errors
            fn #f<__T>() -> __T {
                ::core::unreachable!("`stream!` failed to compile")
            }
            #f::<::streaming::Result<#ty>>()
        }
    }
}

/// Generates the expansion of a checked graph.
pub fn generate(graph: &Graph, plan: &Plan) -> TokenStream {
    let helpers = helpers::module();
    let ssc = hygienic("__ssc");
    let conf = hygienic("__conf");
    let err = hygienic("__err");
    let ctx = &graph.context;
    // With `conf = ..`, only the settings written are applied on top of it.
    let base = match &ctx.conf {
        Some(conf) => quote!(#conf),
        None => quote!(::streaming::StreamingConf::new()),
    };
    let app = match (&ctx.app, &ctx.conf) {
        (Some(app), _) => Some(quote!(.app_name(#app))),
        (None, None) => Some(quote!(.app_name(::core::module_path!()))),
        (None, Some(_)) => None,
    };
    let master = match (&ctx.master, &ctx.conf) {
        (Some(master), _) => Some(quote!(.master(#master))),
        (None, None) => Some(quote!(.master("local[*]"))),
        (None, Some(_)) => None,
    };
    let batch = ctx.batch.as_ref().map(|d| {
        let d = duration(d);
        quote!(.batch_interval(#d))
    });
    let label = syn::Lifetime::new("'__stream", Span::mixed_site());
    let checkpoint = ctx.checkpoint.as_ref().map(|dir| {
        quote! {
            if let ::core::result::Result::Err(#err) = #ssc.checkpoint(#dir) {
                break #label ::core::result::Result::Err(#err);
            }
        }
    });
    let remember = ctx.remember.as_ref().map(|d| {
        let d = duration(d);
        quote!(#ssc.remember(#d);)
    });
    let stages = plan
        .stages
        .iter()
        .map(|stage| self::stage(graph, plan, stage, &ssc));
    let ret = if graph.exports.is_empty() {
        quote!(#ssc)
    } else {
        let vars = graph.exports.iter().map(|(_, id)| var_of(graph, plan, *id));
        quote!((#ssc, #(#vars),*))
    };
    let body = quote! {
        #checkpoint
        #remember
        #(#stages)*
        ::core::result::Result::Ok(#ret)
    };
    // The label lets a failing step (the checkpoint directory, a fallible
    // input) end the block with its error.
    let fallible = checkpoint.is_some()
        || graph
            .nodes
            .iter()
            .any(|n| matches!(n.spec.emit, Emit::FallibleSource(_)));
    let body = if fallible {
        quote!(#label: { #body })
    } else {
        quote!({ #body })
    };
    quote! {
        {
            #helpers
            let #conf = #base #app #master #batch;
            match ::streaming::StreamingContext::new(#conf) {
                ::core::result::Result::Err(#err) => ::core::result::Result::Err(#err),
                ::core::result::Result::Ok(#ssc) => #body,
            }
        }
    }
}

/// The receiver of a by-key operator: `as_pairs(&input)`, so a stream that
/// is not made of pairs is reported at the operator.
fn receiver(graph: &Graph, plan: &Plan, node: NodeId) -> TokenStream {
    let n = &graph.nodes[node];
    let input = var_of(graph, plan, n.inputs[0]);
    match n.spec.elements {
        Elements::Any => quote!(#input),
        Elements::Pairs | Elements::SameKeyPairs => {
            let at = n.op.span();
            let m = located(&helpers::module_name(), at);
            let input = located(&input, at);
            quote_spanned!(at=> #m::as_pairs(&#input))
        }
    }
}

/// One runtime call for a single node on its input(s).
fn single(graph: &Graph, plan: &Plan, node: NodeId, extra: Option<TokenStream>) -> TokenStream {
    let n = &graph.nodes[node];
    let method = Ident::new(n.spec.emit.method(), n.op.span());
    let recv = receiver(graph, plan, node);
    let mut args: Vec<TokenStream> = Vec::new();
    for (i, a) in n.args.iter().enumerate() {
        match (n.spec.elements, a) {
            (Elements::SameKeyPairs, Arg::Stream(other)) if i == 0 => {
                let at = n.op.span();
                let m = located(&helpers::module_name(), at);
                let lhs = located(&var_of(graph, plan, n.inputs[0]), at);
                let rhs = located(&var_of(graph, plan, *other), at);
                args.push(quote_spanned!(at=> #m::keyed_rhs(&#rhs, &#lhs)));
            }
            _ => args.push(arg(graph, plan, a)),
        }
    }
    args.extend(extra);
    quote!(#recv.#method(#(#args),*))
}

/// The statement computing one stage.
fn stage(graph: &Graph, plan: &Plan, stage: &Stage, ssc: &Ident) -> TokenStream {
    let first = &graph.nodes[stage.nodes[0]];
    let expr = match stage.shape {
        Shape::Input => {
            let method = Ident::new(first.spec.emit.method(), first.op.span());
            match first.spec.emit {
                Emit::UnionSource => {
                    let streams = first.inputs.iter().map(|&i| {
                        let var = var_of(graph, plan, i);
                        quote!(::core::clone::Clone::clone(&#var))
                    });
                    quote!(#ssc.#method(::std::vec![#(#streams),*]))
                }
                Emit::FallibleSource(path) => {
                    let path: syn::Path = syn::parse_str(path).expect("the table's paths parse");
                    let path = quote_spanned!(first.op.span()=> #path);
                    let args = first.args.iter().map(|a| arg(graph, plan, a));
                    let (ok, err) = (hygienic("__ok"), hygienic("__err"));
                    let label = syn::Lifetime::new("'__stream", Span::mixed_site());
                    quote! {
                        match #path(&#ssc, #(#args),*) {
                            ::core::result::Result::Ok(#ok) => #ok,
                            ::core::result::Result::Err(#err) => break #label ::core::result::Result::Err(#err),
                        }
                    }
                }
                _ => {
                    let args = first.args.iter().map(|a| arg(graph, plan, a));
                    quote!(#ssc.#method(#(#args),*))
                }
            }
        }
        Shape::Op | Shape::Output => single(graph, plan, first.id, None),
        Shape::Fused => fused::stage(graph, plan, stage),
        Shape::Combined => combined::stage(graph, plan, stage),
    };
    // A chain that borrows its elements can only run inside a combine,
    // where the keys it needs become owned; say so before rustc's type
    // errors about it.
    let expr = match (stage.shape, crate::plan::borrows(graph, stage)) {
        (Shape::Fused | Shape::Op, true) => {
            let message = "this chain takes its element by reference, which only works when it ends in a by-key operator it can run inside: `reduce_by_key`, `count_by_value`, `group_by_key`, `combine_by_key`, `update_state_by_key`, or a windowed by-key reduction that slides by the batch interval (write the interval as `context(batch = ..)` so the compiler can see it); otherwise take the element by value, e.g. `|line: String|`";
            quote_spanned! {first.op.span()=>
                {
                    ::core::compile_error!(#message);
                    #expr
                }
            }
        }
        _ => expr,
    };
    if stage.shape == Shape::Output {
        return quote!(#expr;);
    }
    let var = stage_var(graph, stage);
    match &graph.nodes[stage.result()].ty {
        Some(ty) => quote!(let #var: #ty = #expr;),
        None => quote!(let #var = #expr;),
    }
}
