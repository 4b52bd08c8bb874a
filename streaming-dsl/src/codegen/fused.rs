//! Fused stages: a chain of narrow operators compiled into one
//! `map_partitions` (or `map_partitions_with_index`) call whose closure is a
//! single iterator chain per partition.
//!
//! For `lines.flat_map(f).map(g).filter(h)` the generated code is, in essence:
//!
//! ```text
//! let t = elem(&lines);                       // PhantomData<String>
//! let (f0, t) = flat_map(t, f);              // closure typed from the element type
//! let (f1, t) = map(t, g);
//! let (f2, t) = filter(t, h);
//! let (f0, f1, f2) = (Arc::new(f0), Arc::new(f1), Arc::new(f2));
//! lines.map_partitions(move |it| {
//!     let it = { let f = f0.clone(); it.flat_map(move |x| f(x)) };
//!     let it = { let f = f1.clone(); it.map(move |x| f(x)) };
//!     let it = { let f = f2.clone(); it.filter(move |x| f(x)) };
//!     it
//! })
//! ```
//!
//! The typing calls are spanned on each user operator, so a closure of the
//! wrong shape is reported there; the user's closure tokens keep their own
//! spans. The closures are shared by `Arc` (cloned once per partition, not
//! per element), so they need not be `Clone` — exactly the plain API's
//! `Fn + Send + Sync + 'static` bounds.

use super::helpers;
use super::tokens::{arg, hygienic, located, var_of};
use crate::graph::Graph;
use crate::ops::{self, Fused};
use crate::plan::{Plan, Stage};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

/// The expression computing a fused stage.
pub fn stage(graph: &Graph, plan: &Plan, stage: &Stage) -> TokenStream {
    let m = helpers::module_name();
    let first = &graph.nodes[stage.nodes[0]];
    let input = var_of(graph, plan, first.inputs[0]);
    let t = hygienic("__t");
    let it = hygienic("__it");
    let idx = hygienic("__idx");
    let x = hygienic("__x");
    let k = hygienic("__k");
    let v = hygienic("__v");
    let w = hygienic("__w");
    let f = hygienic("__f");
    let mut typing = Vec::new();
    let mut sharing = Vec::new();
    let mut steps = Vec::new();
    let mut indexed = false;
    for (i, &id) in stage.nodes.iter().enumerate() {
        let node = &graph.nodes[id];
        let span = node.op.span();
        let fi = format_ident!("__f{}", i, span = Span::mixed_site());
        let kind = node
            .spec
            .fused()
            .expect("fused stages hold fusable operators");
        let helper = proc_macro2::Ident::new(node.spec.name, span);
        let m = located(&m, span);
        let t = located(&t, span);
        let fi = located(&fi, span);
        if kind == Fused::Glom {
            typing.push(quote_spanned!(span=> let #t = #m::#helper(#t);));
            steps.push(quote! {
                let #it = ::core::iter::once(::core::iter::Iterator::collect::<::std::vec::Vec<_>>(#it));
            });
            continue;
        }
        indexed |= kind.indexed();
        let user_fn = arg(graph, plan, &node.args[0]);
        // By-key steps also get the typed key/value splitter (see helpers).
        let split = format_ident!("__split{}", i, span = Span::mixed_site());
        if matches!(kind, Fused::MapValues | Fused::FlatMapValues) {
            let split = located(&split, span);
            typing.push(quote_spanned!(span=> let (#fi, #t, #split) = #m::#helper(#t, #user_fn);));
        } else {
            typing.push(quote_spanned!(span=> let (#fi, #t) = #m::#helper(#t, #user_fn);));
        }
        sharing.push(quote!(let #fi = ::std::sync::Arc::new(#fi);));
        let body = match kind {
            Fused::Map => quote!(::core::iter::Iterator::map(#it, move |#x| (*#f)(#x))),
            Fused::FlatMap => quote!(::core::iter::Iterator::flat_map(#it, move |#x| (*#f)(#x))),
            Fused::Filter => quote!(::core::iter::Iterator::filter(#it, move |#x| (*#f)(#x))),
            Fused::MapValues => quote! {
                ::core::iter::Iterator::map(#it, move |#x| {
                    let (#k, #v) = #split(#x);
                    (#k, (*#f)(#v))
                })
            },
            Fused::FlatMapValues => quote! {
                ::core::iter::Iterator::flat_map(#it, move |#x| {
                    let (#k, #v) = #split(#x);
                    ::core::iter::Iterator::map(
                        ::core::iter::IntoIterator::into_iter((*#f)(#v)),
                        move |#w| (::core::clone::Clone::clone(&#k), #w),
                    )
                })
            },
            // The partition iterator is handed over as is when the step
            // comes first (it is already the runtime's `PartitionIter`), and
            // wrapped in one after other steps.
            Fused::MapPartitions if i == 0 => {
                quote!(::core::iter::IntoIterator::into_iter((*#f)(#it)))
            }
            Fused::MapPartitionsWithIndex if i == 0 => {
                quote!(::core::iter::IntoIterator::into_iter((*#f)(#idx, #it)))
            }
            Fused::MapPartitions => {
                quote!(::core::iter::IntoIterator::into_iter((*#f)(#m::boxed(#it))))
            }
            Fused::MapPartitionsWithIndex => {
                quote!(::core::iter::IntoIterator::into_iter((*#f)(#idx, #m::boxed(#it))))
            }
            Fused::Glom => unreachable!("handled above"),
        };
        steps.push(quote! {
            let #it = {
                let #f = ::std::sync::Arc::clone(&#fi);
                #body
            };
        });
    }
    let last = &graph.nodes[stage.result()];
    let params = if indexed {
        quote!(#idx, #it)
    } else {
        quote!(#it)
    };
    let method = proc_macro2::Ident::new(ops::fused_method(indexed), last.op.span());
    quote! {
        {
            let #t = #m::elem(&#input);
            #(#typing)*
            let _ = #t;
            #(#sharing)*
            #input.#method(move |#params| {
                #(#steps)*
                #it
            })
        }
    }
}
