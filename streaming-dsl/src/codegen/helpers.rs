//! The helper module emitted (once) inside every expansion.
//!
//! The helpers give closures their expected signatures before fusion (so
//! closure parameter types are inferred from the stream's element type, as
//! with the plain API), and carry element types as `PhantomData` through a
//! fused chain, where no intermediate `DStream` exists. The key-value checks
//! are traits with `#[diagnostic::on_unimplemented]`, and every call of a
//! helper is spanned on the user's operator, so a by-key operator on a
//! stream that is not made of pairs, or a join of different key types, is
//! reported by rustc at that operator with a message written for the user.
//! Helpers are generated locally, so the runtime needs no hidden items.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

/// The name of the helper module (hygienic: invisible to user code).
pub fn module_name() -> Ident {
    Ident::new("__stream_dsl", Span::mixed_site())
}

/// The helper module's tokens.
pub fn module() -> TokenStream {
    let m = module_name();
    quote! {
        #[allow(dead_code, non_camel_case_types, clippy::all, clippy::pedantic)]
        mod #m {
            use ::core::marker::PhantomData;
            use ::core::marker::Send;
            use ::core::marker::Sync;
            use ::core::iter::{IntoIterator, Iterator};
            use ::streaming::DStream;

            // The partition iterator of `map_partitions`: the runtime's own
            // type, fused or not.
            pub type PartitionIter<T> = ::streaming::PartitionIter<T>;

            #[diagnostic::on_unimplemented(
                message = "the elements of this stream, `{Self}`, are not `(key, value)` pairs",
                label = "this operator needs a stream of `(key, value)` pairs",
                note = "key-value operators (`map_values`, `reduce_by_key`, `join`, `update_state_by_key`, `reduce_by_key_and_window`, ..) apply to streams of 2-tuples; make pairs first, e.g. `.map(|word| (word, 1))`"
            )]
            pub trait KeyValue<K, V>: Sized {
                fn stream(stream: &DStream<Self>) -> &DStream<(K, V)>;
                fn into_pair(self) -> (K, V);
            }

            impl<K, V> KeyValue<K, V> for (K, V) {
                fn stream(stream: &DStream<(K, V)>) -> &DStream<(K, V)> {
                    stream
                }
                fn into_pair(self) -> (K, V) {
                    self
                }
            }

            #[diagnostic::on_unimplemented(
                message = "cannot combine a stream of `{Self}` with a stream of `{Rhs}` by key",
                label = "both streams must be `(key, value)` pairs with the same key type",
                note = "map one side so that the key types agree, e.g. `.map(|(k, v)| (k.to_string(), v))`"
            )]
            pub trait SameKey<Rhs, K, W> {
                fn rhs(stream: &DStream<Rhs>) -> &DStream<(K, W)>;
            }

            impl<K, V, W> SameKey<(K, W), K, W> for (K, V) {
                fn rhs(stream: &DStream<(K, W)>) -> &DStream<(K, W)> {
                    stream
                }
            }

            // The element type of a stream, as a value.
            pub fn elem<T>(_: &DStream<T>) -> PhantomData<T> {
                PhantomData
            }

            // The stream itself, if its elements are pairs.
            pub fn as_pairs<K, V, T: KeyValue<K, V>>(stream: &DStream<T>) -> &DStream<(K, V)> {
                T::stream(stream)
            }

            // The right side of a by-key binary operator, if the keys agree.
            // (The right side comes first so that rustc knows both types
            // before it selects the impl, and reports the trait message.)
            pub fn keyed_rhs<'a, K, W, B, A: SameKey<B, K, W>>(rhs: &'a DStream<B>, _: &DStream<A>) -> &'a DStream<(K, W)> {
                A::rhs(rhs)
            }


            // Boxes a partition iterator for a user's `map_partitions` function.
            pub fn boxed<I: Iterator + Send + 'static>(it: I) -> PartitionIter<I::Item>
            where
                I::Item: Send + 'static,
            {
                ::streaming::PartitionIter::new(it)
            }

            pub fn map<T, U, F>(_: PhantomData<T>, f: F) -> (F, PhantomData<U>)
            where
                F: Fn(T) -> U + Send + Sync + 'static,
            {
                (f, PhantomData)
            }

            pub fn flat_map<T, I, F>(_: PhantomData<T>, f: F) -> (F, PhantomData<I::Item>)
            where
                F: Fn(T) -> I + Send + Sync + 'static,
                I: IntoIterator,
                I::IntoIter: Send + 'static,
            {
                (f, PhantomData)
            }

            pub fn filter<T, F>(_: PhantomData<T>, f: F) -> (F, PhantomData<T>)
            where
                F: Fn(&T) -> bool + Send + Sync + 'static,
            {
                (f, PhantomData)
            }

            // The by-key narrow helpers also return the function splitting
            // an element into its key and value, typed where the pair bound
            // holds, so a stream that is not made of pairs is reported once,
            // here, and not again inside the fused loop.
            pub fn map_values<K, V, T, W, F>(
                _: PhantomData<T>,
                f: F,
            ) -> (F, PhantomData<(K, W)>, fn(T) -> (K, V))
            where
                T: KeyValue<K, V>,
                F: Fn(V) -> W + Send + Sync + 'static,
            {
                (f, PhantomData, <T as KeyValue<K, V>>::into_pair)
            }

            pub fn flat_map_values<K, V, T, I, F>(
                _: PhantomData<T>,
                f: F,
            ) -> (F, PhantomData<(K, I::Item)>, fn(T) -> (K, V))
            where
                T: KeyValue<K, V>,
                F: Fn(V) -> I + Send + Sync + 'static,
                I: IntoIterator,
                I::IntoIter: Send + 'static,
            {
                (f, PhantomData, <T as KeyValue<K, V>>::into_pair)
            }

            pub fn map_partitions<T, I, F>(_: PhantomData<T>, f: F) -> (F, PhantomData<I::Item>)
            where
                F: Fn(PartitionIter<T>) -> I + Send + Sync + 'static,
                I: IntoIterator,
                I::IntoIter: Send + 'static,
            {
                (f, PhantomData)
            }

            pub fn map_partitions_with_index<T, I, F>(_: PhantomData<T>, f: F) -> (F, PhantomData<I::Item>)
            where
                F: Fn(usize, PartitionIter<T>) -> I + Send + Sync + 'static,
                I: IntoIterator,
                I::IntoIter: Send + 'static,
            {
                (f, PhantomData)
            }

            pub fn glom<T>(_: PhantomData<T>) -> PhantomData<::std::vec::Vec<T>> {
                PhantomData
            }
        }
    }
}
