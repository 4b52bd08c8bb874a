//! The built-in windowed `sum` (the `reducers` table of `stream!`,
//! `streaming-dsl/src/ops/reducers.rs`): what `reduce_by_key_and_window(sum,
//! ..)`, `reduce_by_window(sum, ..)` and, after mapping every element to 1,
//! `count` compile to.
//!
//! The result is always that of the plain definition, the closure form
//! `reduce_by_key_and_window(|a, b| a + b, ..)`: every key with at least one
//! element in the window, with the sum of those elements, and no other key.
//! How it gets there is chosen statically from the value type, through
//! [`WindowSum::PATH`]:
//!
//! - **Integers** run incrementally ([`SumPath::Counted`]): each slide adds
//!   the batches that entered and subtracts those that left, and keeps an
//!   element count per key beside the sum, as retractions do in differential
//!   dataflow. A key is dropped from the output *and* the state once its
//!   count reaches 0, even if its sum is 0 while it still has elements (it is
//!   then emitted with 0, as the closure form does). Addition and
//!   subtraction wrap, so the result equals the wrapping sum of the window's
//!   elements whatever order they entered and left in (the closure form
//!   panics on overflow in debug builds and wraps in release ones).
//! - **Floats** run on panes ([`SumPath::Panes`]), exactly as the closure
//!   form does: subtracting a float that was added does not, in general,
//!   give back the earlier sum, so an incremental float sum drifts.
//!
//! This differs from Spark's explicit inverse forms on purpose:
//! [`reduce_by_key_and_window_inv`](DStream::reduce_by_key_and_window_inv)
//! keeps Spark's documented rule that a key whose value returns to 0 stays
//! in the output unless a filter function removes it.
//!
//! ```
//! use streaming_testkit::run_operation;
//! use std::time::Duration;
//! let out = run_operation(
//!     vec![vec![('a', 2i64), ('b', -1)], vec![('b', 1)], vec![]],
//!     |s| s.sum_by_key_and_window(Duration::from_secs(2), Duration::from_secs(1)),
//!     4,
//! );
//! let mut second = out[1].clone();
//! second.sort();
//! // `b` sums to 0 but still has two elements in the window: it stays.
//! assert_eq!(second, vec![('a', 2), ('b', 0)]);
//! assert_eq!(out[2], vec![('b', 1)]); // `a` left the window: gone, not 0
//! assert_eq!(out[3], vec![]); // every element left
//! ```

use std::time::Duration;

use super::window::Windowed;
use crate::batch::{Combiner, Data, Key};
use crate::dstream::window::{Incremental, Keep, KeepValues, Project, ReduceFn};
use crate::dstream::DStream;
use crate::graph::stateful::StateData;

/// How a windowed sum of a value type is computed; see the
/// [module documentation](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SumPath {
    /// Incrementally, with an element count per key (exact for integers).
    Counted,
    /// On the window's slide-sized partial sums (panes), re-combined every
    /// slide: no subtraction, so no drift.
    Panes,
}

/// A value type the built-in windowed `sum` adds up. Implemented for the
/// primitive integers (incremental, [`SumPath::Counted`]) and floats
/// ([`SumPath::Panes`]); implement it for a type of your own to use `sum`
/// on it in a window.
pub trait WindowSum: StateData + Data {
    /// How a window of this type is summed.
    const PATH: SumPath;

    /// `a + b`.
    fn add(a: Self, b: Self) -> Self;

    /// `a - b`, the inverse of [`add`](Self::add) (used only on the
    /// [`SumPath::Counted`] path: `sub(add(a, b), b)` must equal `a`).
    fn sub(a: Self, b: Self) -> Self;
}

macro_rules! integer_sums {
    ($($t:ty),*) => {$(
        impl WindowSum for $t {
            const PATH: SumPath = SumPath::Counted;
            #[inline]
            fn add(a: Self, b: Self) -> Self {
                a.wrapping_add(b)
            }
            #[inline]
            fn sub(a: Self, b: Self) -> Self {
                a.wrapping_sub(b)
            }
        }
    )*};
}

integer_sums!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

macro_rules! float_sums {
    ($($t:ty),*) => {$(
        impl WindowSum for $t {
            const PATH: SumPath = SumPath::Panes;
            #[inline]
            fn add(a: Self, b: Self) -> Self {
                a + b
            }
            #[inline]
            fn sub(a: Self, b: Self) -> Self {
                a - b
            }
        }
    )*};
}

float_sums!(f32, f64);

/// The counted sum's incremental window over `(sum, count)` values: added
/// and subtracted pairwise, a key kept while its count is above 0, the
/// output holding the sum alone.
#[allow(clippy::type_complexity)]
fn counted_sum<K, V: WindowSum>() -> Incremental<
    impl ReduceFn<(V, u64)>,
    impl ReduceFn<(V, u64)>,
    impl Keep<K, (V, u64)>,
    impl Project<(V, u64), V>,
> {
    Incremental {
        f: |(a, n), (b, m)| (V::add(a, b), n + m),
        inv_f: |(a, n): (V, u64), (b, m): (V, u64)| (V::sub(a, b), n - m),
        keep: KeepValues(|(_, n): &(V, u64)| *n > 0),
        project: |(sum, _): &(V, u64)| sum.clone(),
    }
}

impl<K: Key, V: WindowSum> Windowed<(K, V)> {
    /// The sum of each key's values over each window:
    /// [`DStream::sum_by_key_and_window`].
    pub fn sum_by_key(&self) -> DStream<(K, V)>
    where
        K: StateData,
    {
        match V::PATH {
            SumPath::Panes => self.reduce_by_key(V::add),
            SumPath::Counted => {
                let counted = self.mapped(|(k, v)| (k, (v, 1u64)));
                counted.inverse(counted_sum::<K, V>())
            }
        }
    }
}

impl<T: WindowSum> Windowed<T> {
    /// The sum of each window's elements: [`DStream::sum_by_window`].
    pub fn sum(&self) -> DStream<T> {
        self.mapped(|x| ((), x)).sum_by_key().map(|(_, v)| v)
    }
}

impl<K: Key + StateData, V: WindowSum> DStream<(K, V)> {
    /// Every `slide`, the sum of each key's values over the last `window`:
    /// the built-in `sum` of `stream!`'s `reduce_by_key_and_window(sum, ..)`.
    /// Equal to `reduce_by_key_and_window(|a, b| a + b, window, slide)`,
    /// computed incrementally for integers (so, like Spark's inverse
    /// forms, it needs a checkpoint directory); see the
    /// [module documentation](self).
    ///
    /// # Panics
    /// On invalid durations (see [`over`](DStream::over)).
    #[track_caller]
    pub fn sum_by_key_and_window(&self, window: Duration, slide: Duration) -> DStream<(K, V)> {
        self.spark_window("reduce_by_key_and_window", window, slide)
            .sum_by_key()
    }
}

impl<T: Data> DStream<T> {
    /// Every `slide`, the sum of each key's values over the last `window`,
    /// the pairs made from this stream's elements by `each` (as in
    /// [`combine_ref_into_by_key`](DStream::combine_ref_into_by_key): keys
    /// may borrow from the element and become owned when they first enter a
    /// partition's table). Equal to
    /// `self.combine_ref_into_by_key(each, V::add).sum_by_key_and_window(window, slide)`,
    /// which is what it runs for float values; for integers each pane is
    /// combined once, straight from this stream's batches, into the exact
    /// counted sum (see the [module documentation](self)): no batch of
    /// pairs is made in between, and no pair is hashed twice. `each` must
    /// add values with [`WindowSum::add`] (any other merge is a different
    /// reduction). `stream!` compiles a borrowing chain into
    /// `reduce_by_key_and_window(sum, ..)` to this.
    ///
    /// ```
    /// use streaming_core::WindowSum;
    /// use streaming_testkit::run_operation;
    /// use std::time::Duration;
    /// let out = run_operation(
    ///     vec![vec!["a b".to_string()], vec!["b".to_string()], vec![]],
    ///     |lines| {
    ///         lines.sum_ref_into_by_key_and_window(
    ///             |line: &String, out| {
    ///                 for w in line.split(' ') {
    ///                     out.insert_ref(w, 1i64, |v| v, i64::add);
    ///                 }
    ///             },
    ///             Duration::from_secs(2),
    ///             Duration::from_secs(1),
    ///         )
    ///     },
    ///     3,
    /// );
    /// let mut second = out[1].clone();
    /// second.sort();
    /// assert_eq!(second, vec![("a".to_string(), 1), ("b".to_string(), 2)]);
    /// assert_eq!(out[2], vec![("b".to_string(), 1)]);
    /// ```
    ///
    /// # Panics
    /// On invalid durations (see [`over`](DStream::over)).
    #[track_caller]
    pub fn sum_ref_into_by_key_and_window<K, V>(
        &self,
        each: impl Fn(&T, &mut Combiner<K, V>) + Send + Sync + 'static,
        window: Duration,
        slide: Duration,
    ) -> DStream<(K, V)>
    where
        K: Key + StateData,
        V: WindowSum,
    {
        // Checked against this stream's slide on both paths.
        let windowed = self.spark_window("reduce_by_key_and_window", window, slide);
        match V::PATH {
            SumPath::Panes => self
                .combine_ref_into_by_key(each, V::add)
                .sum_by_key_and_window(window, slide),
            SumPath::Counted => {
                windowed.inverse_combined(each, V::add, |v| (v, 1u64), counted_sum::<K, V>())
            }
        }
    }
}

impl<T: WindowSum> DStream<T> {
    /// Every `slide`, the sum of the last `window`'s elements (an empty
    /// batch for an empty window): the built-in `sum` of `stream!`'s
    /// `reduce_by_window(sum, ..)`. Equal to
    /// `reduce_by_window(|a, b| a + b, window, slide)`; see the
    /// [module documentation](self).
    ///
    /// # Panics
    /// On invalid durations (see [`over`](DStream::over)).
    #[track_caller]
    pub fn sum_by_window(&self, window: Duration, slide: Duration) -> DStream<T> {
        self.spark_window("reduce_by_window", window, slide).sum()
    }
}
