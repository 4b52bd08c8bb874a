//! Combined stages: a chain of element-wise narrow operators and the by-key
//! operator it feeds, compiled into one map-side combine loop per partition
//! (the runtime's `combine_into_by_key`, or `combine_ref_into_by_key` when
//! the chain borrows its elements).
//!
//! For `lines.flat_map(|line: &str| line.split(' ')).map(|w: &str| (w, 1)).reduce_by_key(sum)`
//! the generated code is, in essence:
//!
//! ```text
//! let r = Arc::new(|a, b| a + b);
//! let r2 = Arc::clone(&r);
//! lines.combine_ref_into_by_key(
//!     move |x0, out| {
//!         for x1 in { let line: &str = x0; line.split(' ') } {
//!             let x2 = { let w: &str = x1; (w, 1) };
//!             let (k, v) = into_pair(x2);
//!             out.insert_ref(k, v, |v| v, |c, v| (*r)(c, v));
//!         }
//!     },
//!     move |a, b| (*r2)(a, b),
//! )
//! ```
//!
//! A closure literal is *inlined*: its parameter becomes a `let` of the
//! current element (with the closure's own pattern and type annotation) and
//! its body the value. So a closure may take a borrowed element
//! (`|line: &str|` on a stream of `String`s, by deref coercion) and return
//! something that borrows from it (`line.split(' ')`), which a closure
//! called through a generic `Fn` bound could not. A closure whose body
//! returns early (`return`, `?`) is called instead, as is any other
//! function expression. Captured variables are moved into the loop's
//! closure, as a `move` closure of the user's would be.
//!
//! The built-in windowed `sum` behind a borrowing chain
//! ([`plan::in_window_combine`]) is the runtime's
//! `sum_ref_into_by_key_and_window`, given the same loop: each pane is
//! combined straight from the input's elements.
//!
//! A stateful operator runs on the groups the combine makes (each key's
//! values in arrival order) through its `_grouped` runtime form.
//!
//! Keys are inserted owned (`Combiner::insert`) unless the chain borrows
//! (its first closure taking the element declares a reference,
//! [`plan::borrows`]), in which case
//! they go through `Combiner::insert_ref` and become owned (`ToOwned`) only
//! when they first enter the partition's table.
//!
//! [`plan::borrows`]: crate::plan::borrows
//! [`plan::in_window_combine`]: crate::plan::in_window_combine

use super::helpers;
use super::tokens::{arg, hygienic, located, var_of};
use crate::graph::{Arg, Graph, Node};
use crate::ops::{self, Combine, Fused, Reduction};
use crate::plan::{self, Plan, Stage};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::visit::Visit;
use syn::{Expr, ExprClosure};

/// The expression computing a combined stage.
pub fn stage(graph: &Graph, plan: &Plan, stage: &Stage) -> TokenStream {
    let m = helpers::module_name();
    let (chain, last) = stage.nodes.split_at(stage.nodes.len() - 1);
    let target = &graph.nodes[last[0]];
    let first = &graph.nodes[chain[0]];
    let input = var_of(graph, plan, first.inputs[0]);
    let borrowed = plan::borrows(graph, stage);
    let out = hygienic("__out");
    let mut prelude = Vec::new();

    // The innermost statement: the element goes into the combine table.
    let item = format_ident!("__x{}", chain.len(), span = Span::mixed_site());
    let (insert, merge_combiners) =
        combine(graph, plan, target, &m, &out, &item, borrowed, &mut prelude);
    let mut body = insert;
    for (i, &id) in chain.iter().enumerate().rev() {
        let node = &graph.nodes[id];
        let x = format_ident!("__x{}", i, span = Span::mixed_site());
        let next = format_ident!("__x{}", i + 1, span = Span::mixed_site());
        body = step(graph, plan, node, &m, &x, &next, body);
    }

    let x0 = format_ident!("__x0", span = Span::mixed_site());
    let method = Ident::new(ops::combine_method(borrowed), target.op.span());
    let combined = quote! {
        #input.#method(
            move |#x0, #out: &mut ::streaming::Combiner<_, _>| { #body },
            #merge_combiners,
        )
    };
    let expr = match target.spec.combine {
        Some(Combine::Precombine) if plan::in_window_combine(graph, stage) => {
            // Each pane is combined straight from the input's elements
            // (keys borrowed until they enter a table), with no batch of
            // pairs in between.
            let method = Ident::new(ops::window_combine_method(), target.op.span());
            let args = target.args.iter().map(|a| arg(graph, plan, a));
            quote! {
                #input.#method(
                    move |#x0, #out: &mut ::streaming::Combiner<_, _>| { #body },
                    #(#args),*
                )
            }
        }
        Some(Combine::Precombine) => window_on(graph, plan, target, combined, &mut prelude),
        Some(Combine::Grouped(method)) => {
            let method = Ident::new(method, target.op.span());
            let grouped = hygienic("__grouped");
            let args = target.args.iter().map(|a| arg(graph, plan, a));
            quote! {
                {
                    let #grouped = #combined;
                    #grouped.#method(#(#args),*)
                }
            }
        }
        _ => combined,
    };
    quote! {
        {
            #(#prelude)*
            #expr
        }
    }
}

/// The name of a function argument shared through an `Arc` (see
/// [`share`]).
fn shared_name(name: &str) -> Ident {
    format_ident!("{}", name, span = Span::mixed_site())
}

/// Binds `f` in an `Arc` named `name` in the prelude, so the loop, the
/// merge of combiners and a window can each own a handle (`clone_of`) and
/// call it as `(*f)(..)`: a monomorphized call, no dynamic dispatch.
fn share(f: TokenStream, name: &str, prelude: &mut Vec<TokenStream>) {
    let a = shared_name(name);
    prelude.push(quote!(let #a = ::std::sync::Arc::new(#f);));
}

/// A new handle on the shared function `name`, bound in the prelude.
fn clone_of(name: &str, use_: &str, prelude: &mut Vec<TokenStream>) -> Ident {
    let a = shared_name(name);
    let b = format_ident!("{}_{}", name, use_, span = Span::mixed_site());
    prelude.push(quote!(let #b = ::std::sync::Arc::clone(&#a);));
    b
}

/// The insertion of `item` into the combiner `out` for `target`, and the
/// function merging combiners across partitions.
#[allow(clippy::too_many_arguments)]
fn combine(
    graph: &Graph,
    plan: &Plan,
    target: &Node,
    m: &Ident,
    out: &Ident,
    item: &Ident,
    borrowed: bool,
    prelude: &mut Vec<TokenStream>,
) -> (TokenStream, TokenStream) {
    let span = target.op.span();
    let insert = Ident::new(if borrowed { "insert_ref" } else { "insert" }, span);
    let (k, v, c, a, b) = (
        hygienic("__k"),
        hygienic("__v"),
        hygienic("__c"),
        hygienic("__a"),
        hygienic("__b"),
    );
    let m = located(m, span);
    let at = located(item, span);
    let pair = quote_spanned!(span=> let (#k, #v) = #m::KeyValue::into_pair(#at););
    let how = target
        .spec
        .combine
        .expect("a combined stage ends with a combining operator");
    match how {
        Combine::Precombine if target.spec.reduction == Some(Reduction::Summed) => (
            // A function item: no handle to share.
            quote! {
                #pair
                #out.#insert(#k, #v, |#v| #v, |#c, #v| ::streaming::WindowSum::add(#c, #v));
            },
            quote!(|#a, #b| ::streaming::WindowSum::add(#a, #b)),
        ),
        Combine::ReduceByKey | Combine::Precombine => {
            let f = arg(graph, plan, &target.args[0]);
            share(f, "__reduce", prelude);
            let f1 = clone_of("__reduce", "loop", prelude);
            let f2 = clone_of("__reduce", "merge", prelude);
            (
                quote! {
                    #pair
                    #out.#insert(#k, #v, |#v| #v, |#c, #v| (*#f1)(#c, #v));
                },
                quote!(move |#a, #b| (*#f2)(#a, #b)),
            )
        }
        Combine::CountByValue => (
            quote!(#out.#insert(#item, (), |()| 1u64, |#c: u64, ()| #c + 1);),
            quote!(|#a: u64, #b: u64| #a + #b),
        ),
        Combine::GroupByKey | Combine::Grouped(_) => (
            quote! {
                #pair
                #out.#insert(
                    #k,
                    #v,
                    |#v| ::std::vec![#v],
                    |mut #c: ::std::vec::Vec<_>, #v| { #c.push(#v); #c },
                );
            },
            quote!(|mut #a: ::std::vec::Vec<_>, #b: ::std::vec::Vec<_>| { #a.extend(#b); #a }),
        ),
        Combine::CombineByKey => {
            share(arg(graph, plan, &target.args[0]), "__create", prelude);
            share(arg(graph, plan, &target.args[1]), "__merge_value", prelude);
            let create = shared_name("__create");
            let merge = shared_name("__merge_value");
            let merge_combiners = arg(graph, plan, &target.args[2]);
            (
                quote! {
                    #pair
                    #out.#insert(#k, #v, |#v| (*#create)(#v), |#c, #v| (*#merge)(#c, #v));
                },
                quote!(#merge_combiners),
            )
        }
    }
}

/// The windowed operator of a precombined stage, on the combined stream.
fn window_on(
    graph: &Graph,
    plan: &Plan,
    target: &Node,
    combined: TokenStream,
    prelude: &mut Vec<TokenStream>,
) -> TokenStream {
    let method = Ident::new(target.spec.emit.method(), target.op.span());
    let pre = hygienic("__precombined");
    let (a, b) = (hygienic("__a"), hygienic("__b"));
    let mut args = Vec::new();
    for (i, x) in target.args.iter().enumerate() {
        if i == 0 && target.spec.reduction != Some(Reduction::Summed) {
            // The reducer, shared with the precombine.
            let f = clone_of("__reduce", "window", prelude);
            args.push(quote!(move |#a, #b| (*#f)(#a, #b)));
        } else {
            args.push(arg(graph, plan, x));
        }
    }
    quote! {
        {
            let #pre = #combined;
            #pre.#method(#(#args),*)
        }
    }
}

/// One narrow step around `inner`, reading `x` and binding `next`.
fn step(
    graph: &Graph,
    plan: &Plan,
    node: &Node,
    m: &Ident,
    x: &Ident,
    next: &Ident,
    inner: TokenStream,
) -> TokenStream {
    let span = node.op.span();
    let kind = node
        .spec
        .fused()
        .filter(|f| f.element_wise())
        .expect("combined chains hold element-wise narrow operators");
    let (k, v, w) = (hygienic("__k"), hygienic("__v"), hygienic("__w"));
    let m = located(m, span);
    let f = &node.args[0];
    match kind {
        Fused::Map => {
            let value = apply(graph, plan, f, quote!(#x));
            quote!(let #next = #value; #inner)
        }
        Fused::Filter => {
            let keep = apply(graph, plan, f, quote!(&#x));
            quote!(if #keep { let #next = #x; #inner })
        }
        Fused::FlatMap => {
            let items = apply(graph, plan, f, quote!(#x));
            quote!(for #next in ::core::iter::IntoIterator::into_iter(#items) { #inner })
        }
        Fused::MapValues => {
            let value = apply(graph, plan, f, quote!(#v));
            let x = located(x, span);
            quote_spanned! {span=>
                let (#k, #v) = #m::KeyValue::into_pair(#x);
                let #next = (#k, #value);
                #inner
            }
        }
        Fused::FlatMapValues => {
            let values = apply(graph, plan, f, quote!(#v));
            let x = located(x, span);
            quote_spanned! {span=>
                let (#k, #v) = #m::KeyValue::into_pair(#x);
                for #w in ::core::iter::IntoIterator::into_iter(#values) {
                    let #next = (::core::clone::Clone::clone(&#k), #w);
                    #inner
                }
            }
        }
        _ => unreachable!("not element-wise"),
    }
}

/// `f` applied to `input`: a closure literal inlined (see the module
/// documentation), anything else called.
fn apply(graph: &Graph, plan: &Plan, f: &Arg, input: TokenStream) -> TokenStream {
    if let Arg::Expr(expr) = f {
        if let Expr::Closure(closure) = &**expr {
            if let Some(inlined) = inline(closure, &input) {
                return inlined;
            }
        }
    }
    let f = arg(graph, plan, f);
    quote!((#f)(#input))
}

/// A one-parameter closure as a block binding its parameter to `input`;
/// `None` if its body could return early or it is not a plain closure.
fn inline(closure: &ExprClosure, input: &TokenStream) -> Option<TokenStream> {
    if closure.inputs.len() != 1
        || closure.asyncness.is_some()
        || closure.constness.is_some()
        || returns_early(&closure.body)
    {
        return None;
    }
    let param = &closure.inputs[0];
    let body = &closure.body;
    let value = match &closure.output {
        syn::ReturnType::Default => quote!(#body),
        syn::ReturnType::Type(_, ty) => {
            let o = hygienic("__o");
            quote!({ let #o: #ty = #body; #o })
        }
    };
    Some(quote!({ let #param = #input; #value }))
}

/// Whether `body` holds a `return` or `?` of its own (not inside a nested
/// closure, async block or item, which return from themselves).
fn returns_early(body: &Expr) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_expr_return(&mut self, _: &'ast syn::ExprReturn) {
            self.0 = true;
        }
        fn visit_expr_try(&mut self, _: &'ast syn::ExprTry) {
            self.0 = true;
        }
        fn visit_expr_closure(&mut self, _: &'ast ExprClosure) {}
        fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}
        fn visit_item(&mut self, _: &'ast syn::Item) {}
        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            // A macro's arguments may hold `return` or `?`.
            self.0 |= holds_early_return(mac.tokens.clone());
        }
    }
    let mut finder = Finder(false);
    finder.visit_expr(body);
    finder.0
}

/// Whether `tokens` hold a `return` or a `?` anywhere.
fn holds_early_return(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|t| match t {
        proc_macro2::TokenTree::Ident(i) => i == "return",
        proc_macro2::TokenTree::Punct(p) => p.as_char() == '?',
        proc_macro2::TokenTree::Group(g) => holds_early_return(g.stream()),
        proc_macro2::TokenTree::Literal(_) => false,
    })
}
