//! Window operators (the `window` family of `stream!`'s operator table,
//! `streaming-dsl/src/ops/window.rs`; Spark's section on window
//! operations): results over the last `window` of a stream, every `slide`.
//!
//! Semantics, as Spark's:
//! - `window` and `slide` must be positive multiples of the parent stream's
//!   slide duration (its batch interval for an input); anything else is a
//!   [`StreamingError::InvalidOperation`] naming both values, raised when the
//!   operation is defined;
//! - a windowed stream produces a batch at every multiple of `slide` after
//!   the zero time; the window ending at `t` covers the parent's batches in
//!   `(t - window, t]`; early windows are partial;
//! - with an inverse function, a key whose value returns to its zero stays
//!   in the output unless a filter drops it.
//!
//! Two spellings, one implementation. Spark's methods take the two
//! durations (`reduce_by_key_and_window(f, window, slide)`) and panic on
//! invalid ones, as Spark throws. To handle the error instead, validate a
//! [`Window`] once and apply it with [`DStream::over`], which returns the
//! error; the [`Windowed`] stream it gives has every window operation:
//!
//! ```
//! use streaming_core::{StreamingConf, StreamingContext, Window, Batch};
//! use std::time::Duration;
//!
//! let ssc = StreamingContext::new(
//!     StreamingConf::new().master("local[2]").batch_interval(Duration::from_secs(1)),
//! )?;
//! let s = ssc.input_stream_from_fn(|_| Some(Batch::from(vec![("a", 1)])));
//! let w = Window::new(Duration::from_secs(3), Duration::from_secs(1))?;
//! let sums = s.over(w)?.reduce_by_key(|a, b| a + b); // = s.reduce_by_key_and_window(.., 3 s, 1 s)
//! assert!(s.over(Window::new(Duration::from_millis(1500), Duration::from_secs(1))?).is_err());
//! assert!(Window::new(Duration::ZERO, Duration::from_secs(1)).is_err());
//! # drop(sums);
//! # Ok::<(), streaming_core::StreamingError>(())
//! ```
//!
//! The algorithms behind these operators are in `dstream/window/`.

use std::time::Duration;

use crate::batch::{Combiner, Data, Key};
use crate::dstream::window::{
    Geometry, Incremental, Keep, KeepAll, KeepEntries, KeepValues, Project, ReduceFn,
};
use crate::dstream::DStream;
use crate::error::{Result, StreamingError};
use crate::graph::stateful::StateData;

/// A window length and slide (Spark's `windowDuration` and
/// `slideDuration`), both positive. Apply it to a stream with
/// [`DStream::over`], which also checks that both are multiples of the
/// stream's slide duration.
///
/// ```
/// use streaming_core::Window;
/// use std::time::Duration;
/// let w = Window::new(Duration::from_secs(30), Duration::from_secs(10)).unwrap();
/// assert_eq!((w.length(), w.slide()), (Duration::from_secs(30), Duration::from_secs(10)));
/// let err = Window::new(Duration::from_secs(30), Duration::ZERO).unwrap_err();
/// assert!(err.to_string().contains("must be positive"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    length: Duration,
    slide: Duration,
}

impl Window {
    /// A window of `window` sliding by `slide`; an error unless both are
    /// positive.
    pub fn new(window: Duration, slide: Duration) -> Result<Window> {
        check("Window::new", window, slide, None)?;
        Ok(Window {
            length: window,
            slide,
        })
    }

    /// The window length.
    pub fn length(&self) -> Duration {
        self.length
    }

    /// The slide: how often the window produces a batch.
    pub fn slide(&self) -> Duration {
        self.slide
    }
}

/// Checks Spark's rule for window and slide durations: positive, and
/// multiples of `parent_slide` when given. The error names `operation`.
fn check(
    operation: &str,
    window: Duration,
    slide: Duration,
    parent_slide: Option<Duration>,
) -> Result<()> {
    for (what, d) in [("window", window), ("slide", slide)] {
        if d.is_zero() {
            return Err(StreamingError::InvalidOperation(format!(
                "{operation}: the {what} duration must be positive, got {d:?}"
            )));
        }
        if let Some(parent_slide) = parent_slide {
            if d.as_nanos() % parent_slide.as_nanos().max(1) != 0 {
                return Err(StreamingError::InvalidOperation(format!(
                    "{operation}: the {what} duration {d:?} must be a multiple of the parent stream's slide duration {parent_slide:?}"
                )));
            }
        }
    }
    Ok(())
}

/// A stream with a [`Window`] applied to it, checked against its slide
/// duration ([`DStream::over`]); its methods are the window operations.
#[derive(Clone, Debug)]
pub struct Windowed<T> {
    stream: DStream<T>,
    geo: Geometry,
}

impl<T: Data> DStream<T> {
    /// This stream over `window`: an error unless the window's length and
    /// slide are multiples of this stream's slide duration.
    pub fn over(&self, window: Window) -> Result<Windowed<T>> {
        self.windowed("window", window.length, window.slide)
    }

    fn windowed(&self, operation: &str, window: Duration, slide: Duration) -> Result<Windowed<T>> {
        let parent_slide = self.slide_duration();
        check(operation, window, slide, Some(parent_slide))?;
        Ok(Windowed {
            stream: self.clone(),
            geo: Geometry::new(window, slide, parent_slide),
        })
    }

    /// Spark's spelling: the window of a named operation, panicking with the
    /// error on invalid durations.
    #[track_caller]
    pub(super) fn spark_window(
        &self,
        operation: &str,
        window: Duration,
        slide: Duration,
    ) -> Windowed<T> {
        self.windowed(operation, window, slide)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Every `slide`, all elements of the last `window` (Spark's `window`):
    /// the parent's batches in `(t - window, t]`, oldest first, without
    /// copying them.
    ///
    /// # Panics
    /// If `window` or `slide` is not a positive multiple of this stream's
    /// slide duration (see [`over`](Self::over) for the error instead).
    ///
    /// ```
    /// use streaming_testkit::run_operation;
    /// use std::time::Duration;
    /// let out = run_operation(
    ///     vec![vec![1], vec![2], vec![3]],
    ///     |s| s.window(Duration::from_secs(2), Duration::from_secs(1)),
    ///     3,
    /// );
    /// assert_eq!(out, vec![vec![1], vec![1, 2], vec![2, 3]]);
    /// ```
    #[track_caller]
    pub fn window(&self, window: Duration, slide: Duration) -> DStream<T> {
        self.spark_window("window", window, slide).stream()
    }

    /// Every `slide`, the number of elements in the last `window` (Spark's
    /// `countByWindow`). Incremental, so it needs a checkpoint directory, as
    /// in Spark; like Spark, it produces an empty batch until the first
    /// element arrives, and `0` once the window has emptied.
    ///
    /// # Panics
    /// On invalid durations (see [`over`](Self::over)).
    #[track_caller]
    pub fn count_by_window(&self, window: Duration, slide: Duration) -> DStream<u64> {
        self.spark_window("count_by_window", window, slide).count()
    }

    /// Every `slide`, the elements of the last `window` reduced with `f`
    /// (associative and commutative; Spark's `reduceByWindow`): one element,
    /// or an empty batch for an empty window. Uses one partial aggregate per
    /// pane, not a re-reduction of the window.
    ///
    /// # Panics
    /// On invalid durations (see [`over`](Self::over)).
    #[track_caller]
    pub fn reduce_by_window(
        &self,
        f: impl Fn(T, T) -> T + Send + Sync + 'static,
        window: Duration,
        slide: Duration,
    ) -> DStream<T> {
        self.spark_window("reduce_by_window", window, slide)
            .reduce(f)
    }

    /// Every `slide`, the elements of the last `window` reduced
    /// incrementally: `f` adds the batches that entered, `inv_f(acc, old)`
    /// subtracts those that left (Spark's `reduceByWindow` with an inverse).
    /// Needs a checkpoint directory. Once an element has arrived, the
    /// result stays (as the zero value when the window empties).
    ///
    /// # Panics
    /// On invalid durations (see [`over`](Self::over)).
    #[track_caller]
    pub fn reduce_by_window_inv(
        &self,
        f: impl Fn(T, T) -> T + Send + Sync + 'static,
        inv_f: impl Fn(T, T) -> T + Send + Sync + 'static,
        window: Duration,
        slide: Duration,
    ) -> DStream<T>
    where
        T: StateData,
    {
        self.spark_window("reduce_by_window", window, slide)
            .reduce_inv(f, inv_f)
    }

    /// Every `slide`, each distinct element of the last `window` with its
    /// count (Spark's `countByValueAndWindow`); values whose count fell to 0
    /// are dropped. Incremental, so it needs a checkpoint directory.
    ///
    /// # Panics
    /// On invalid durations (see [`over`](Self::over)).
    #[track_caller]
    pub fn count_by_value_and_window(&self, window: Duration, slide: Duration) -> DStream<(T, u64)>
    where
        T: Key + StateData,
    {
        self.spark_window("count_by_value_and_window", window, slide)
            .count_by_value()
    }
}

impl<K: Key, V: Data> DStream<(K, V)> {
    /// Every `slide`, the values of each key over the last `window`, in the
    /// order they arrived (Spark's `groupByKeyAndWindow`): each batch is
    /// grouped once, and the groups of the window's batches concatenated.
    ///
    /// # Panics
    /// On invalid durations (see [`over`](DStream::over)).
    #[track_caller]
    pub fn group_by_key_and_window(
        &self,
        window: Duration,
        slide: Duration,
    ) -> DStream<(K, Vec<V>)> {
        self.spark_window("group_by_key_and_window", window, slide)
            .group_by_key()
    }

    /// Every `slide`, the values of each key over the last `window` merged
    /// with `f` (associative and commutative; Spark's `reduceByKeyAndWindow`
    /// without an inverse). Each slide reduces only its own batches, into
    /// one partial aggregate per key and pane; the window combines the panes
    /// with the two-stacks algorithm, so a slide costs the size of its new
    /// batches plus the size of the result, whatever the window length.
    ///
    /// # Panics
    /// On invalid durations (see [`over`](DStream::over)).
    ///
    /// ```
    /// use streaming_testkit::run_operation;
    /// use std::time::Duration;
    /// let out = run_operation(
    ///     vec![vec![("a", 1)], vec![("a", 2), ("b", 5)], vec![("a", 4)]],
    ///     |s| s.reduce_by_key_and_window(|a, b| a.max(b), Duration::from_secs(2), Duration::from_secs(1)),
    ///     3,
    /// );
    /// let (mut second, mut third) = (out[1].clone(), out[2].clone());
    /// second.sort();
    /// third.sort();
    /// assert_eq!(second, vec![("a", 2), ("b", 5)]);
    /// assert_eq!(third, vec![("a", 4), ("b", 5)]);
    /// ```
    #[track_caller]
    pub fn reduce_by_key_and_window(
        &self,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        window: Duration,
        slide: Duration,
    ) -> DStream<(K, V)> {
        self.spark_window("reduce_by_key_and_window", window, slide)
            .reduce_by_key(f)
    }

    /// Every `slide`, the values of each key over the last `window`,
    /// computed incrementally: `f` adds the values that entered the window,
    /// `inv_f(acc, old)` subtracts those that left (Spark's
    /// `reduceByKeyAndWindow` with an inverse function). A slide touches only
    /// the batches that entered and left. Like Spark, a key whose value
    /// returns to its zero stays in the output; use
    /// [`reduce_by_key_and_window_inv_filtered`](Self::reduce_by_key_and_window_inv_filtered)
    /// to drop such keys. Needs a checkpoint directory.
    ///
    /// # Panics
    /// On invalid durations (see [`over`](DStream::over)).
    #[track_caller]
    pub fn reduce_by_key_and_window_inv(
        &self,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        inv_f: impl Fn(V, V) -> V + Send + Sync + 'static,
        window: Duration,
        slide: Duration,
    ) -> DStream<(K, V)>
    where
        K: StateData,
        V: StateData,
    {
        self.spark_window("reduce_by_key_and_window", window, slide)
            .reduce_by_key_inv(f, inv_f)
    }

    /// [`reduce_by_key_and_window_inv`](Self::reduce_by_key_and_window_inv)
    /// keeping only the `(key, value)` pairs for which `filter` is true
    /// (Spark's `filterFunc`). The filtered result is also the state carried
    /// to the next slide, so dropped keys do not accumulate. `filter` must
    /// be a pure function of the pair: it is evaluated for the keys a slide
    /// touched.
    ///
    /// # Panics
    /// On invalid durations (see [`over`](DStream::over)).
    #[track_caller]
    pub fn reduce_by_key_and_window_inv_filtered(
        &self,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        inv_f: impl Fn(V, V) -> V + Send + Sync + 'static,
        window: Duration,
        slide: Duration,
        filter: impl Fn(&(K, V)) -> bool + Send + Sync + 'static,
    ) -> DStream<(K, V)>
    where
        K: StateData,
        V: StateData,
    {
        self.spark_window("reduce_by_key_and_window", window, slide)
            .reduce_by_key_inv_filtered(f, inv_f, filter)
    }
}

impl<T: Data> Windowed<T> {
    /// The same window over this stream with `f` applied to every element
    /// (a narrow map commutes with windowing).
    pub(super) fn mapped<U: Data>(
        &self,
        f: impl Fn(T) -> U + Send + Sync + 'static,
    ) -> Windowed<U> {
        Windowed {
            stream: self.stream.map(f),
            geo: self.geo,
        }
    }

    /// The window's length and slide.
    pub fn window(&self) -> Window {
        Window {
            length: self.geo.window,
            slide: self.geo.slide,
        }
    }

    /// All elements of each window: [`DStream::window`].
    pub fn stream(&self) -> DStream<T> {
        self.stream.slicing_window(self.geo)
    }

    /// The number of elements of each window: [`DStream::count_by_window`].
    pub fn count(&self) -> DStream<u64> {
        let ones = self.stream.map(|_| ((), 1u64));
        let counts = ones.inverse_window(
            "count_by_window",
            Incremental::new(|a, b| a + b, |a, b| a - b, KeepAll),
            self.geo,
            Some(1),
        );
        counts.map(|(_, c)| c)
    }

    /// Each window reduced with `f`: [`DStream::reduce_by_window`].
    pub fn reduce(&self, f: impl Fn(T, T) -> T + Send + Sync + 'static) -> DStream<T> {
        let keyed = self.stream.map(|x| ((), x));
        let reduced = keyed.pane_window("reduce_by_window", f, self.geo, Some(1));
        reduced.map(|(_, v)| v)
    }

    /// Each window reduced incrementally: [`DStream::reduce_by_window_inv`].
    pub fn reduce_inv(
        &self,
        f: impl Fn(T, T) -> T + Send + Sync + 'static,
        inv_f: impl Fn(T, T) -> T + Send + Sync + 'static,
    ) -> DStream<T>
    where
        T: StateData,
    {
        let keyed = self.stream.map(|x| ((), x));
        let reduced = keyed.inverse_window(
            "reduce_by_window",
            Incremental::new(f, inv_f, KeepAll),
            self.geo,
            Some(1),
        );
        reduced.map(|(_, v)| v)
    }

    /// Each distinct element of each window with its count:
    /// [`DStream::count_by_value_and_window`].
    pub fn count_by_value(&self) -> DStream<(T, u64)>
    where
        T: Key + StateData,
    {
        self.stream.map(|x| (x, 1u64)).inverse_window(
            "count_by_value_and_window",
            Incremental::new(|a, b| a + b, |a, b| a - b, KeepValues(|c: &u64| *c != 0)),
            self.geo,
            None,
        )
    }
}

impl<T: Data> Windowed<T> {
    /// The incremental window of the pairs `each` makes from this stream's
    /// elements (see `DStream::combined_inverse_window`).
    pub(super) fn inverse_combined<K, C, V, W: Data>(
        &self,
        each: impl Fn(&T, &mut Combiner<K, C>) + Send + Sync + 'static,
        merge: impl Fn(C, C) -> C + Send + Sync + 'static,
        lift: impl Fn(C) -> V + Send + Sync + 'static,
        fns: Incremental<impl ReduceFn<V>, impl ReduceFn<V>, impl Keep<K, V>, impl Project<V, W>>,
    ) -> DStream<(K, W)>
    where
        K: Key + StateData,
        C: Data,
        V: StateData,
    {
        self.stream.combined_inverse_window(
            "reduce_by_key_and_window",
            each,
            merge,
            lift,
            fns,
            self.geo,
        )
    }
}

impl<K: Key, V: Data> Windowed<(K, V)> {
    /// The values of each key over each window:
    /// [`DStream::group_by_key_and_window`].
    pub fn group_by_key(&self) -> DStream<(K, Vec<V>)> {
        let windowed = self.stream.group_by_key().slicing_window(self.geo);
        let concat = |mut a: Vec<V>, b: Vec<V>| {
            a.extend(b);
            a
        };
        windowed.combine_by_key(|v| v, concat, concat)
    }

    /// The values of each key over each window merged with `f`:
    /// [`DStream::reduce_by_key_and_window`].
    pub fn reduce_by_key(&self, f: impl Fn(V, V) -> V + Send + Sync + 'static) -> DStream<(K, V)> {
        self.stream
            .pane_window("reduce_by_key_and_window", f, self.geo, None)
    }

    /// The values of each key over each window, incrementally:
    /// [`DStream::reduce_by_key_and_window_inv`].
    pub fn reduce_by_key_inv(
        &self,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        inv_f: impl Fn(V, V) -> V + Send + Sync + 'static,
    ) -> DStream<(K, V)>
    where
        K: StateData,
        V: StateData,
    {
        self.inverse(Incremental::new(f, inv_f, KeepAll))
    }

    /// [`reduce_by_key_inv`](Self::reduce_by_key_inv) keeping the pairs for
    /// which `filter` is true:
    /// [`DStream::reduce_by_key_and_window_inv_filtered`].
    pub fn reduce_by_key_inv_filtered(
        &self,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        inv_f: impl Fn(V, V) -> V + Send + Sync + 'static,
        filter: impl Fn(&(K, V)) -> bool + Send + Sync + 'static,
    ) -> DStream<(K, V)>
    where
        K: StateData,
        V: StateData,
    {
        self.inverse(Incremental::new(f, inv_f, KeepEntries(filter)))
    }

    pub(super) fn inverse<W: Data>(
        &self,
        fns: Incremental<impl ReduceFn<V>, impl ReduceFn<V>, impl Keep<K, V>, impl Project<V, W>>,
    ) -> DStream<(K, W)>
    where
        K: StateData,
        V: StateData,
    {
        self.stream
            .inverse_window("reduce_by_key_and_window", fns, self.geo, None)
    }
}
