//! Window operations (Spark's section on window operations): results over
//! the last `window` of a stream, every `slide`.
//!
//! Semantics, as Spark's:
//! - `window` and `slide` must be positive multiples of the parent stream's
//!   slide duration (its batch interval for an input); anything else is a
//!   [`StreamingError::InvalidOperation`] naming both values, raised when the
//!   operation is defined (the `try_` methods return it, the others panic
//!   with it);
//! - a windowed stream produces a batch at every multiple of `slide` after
//!   the zero time; the window ending at `t` covers the parent's batches in
//!   `(t - window, t]`; early windows are partial;
//! - with an inverse function, a key whose value returns to its zero stays
//!   in the output unless a filter drops it.
//!
//! Algorithms (one file each): `slicing` for the plain window (a union of
//! the remembered parent batches, no copy); `two_stacks` for reductions
//! without an inverse (one partial aggregate per pane, combined with the
//! two-stacks sliding aggregation); `inverse` for incremental reductions
//! (previous result, minus the panes that left, plus those that entered).
//! Parent batches are remembered exactly as long as a window still needs
//! them.

mod inverse;
mod panes;
mod slicing;
mod two_stacks;

use std::sync::Arc;
use std::time::Duration;

use super::DStream;
use crate::batch::{Data, Key};
use crate::dstream::state::StateData;
use crate::error::{Result, StreamingError};
use inverse::{FilterFn, InvReduceOp};
use panes::{Geometry, ReduceFn};
use slicing::WindowOp;
use two_stacks::PaneReduceOp;

/// Checks Spark's rule for window and slide durations.
fn check_durations(
    operation: &str,
    parent_slide: Duration,
    window: Duration,
    slide: Duration,
) -> Result<Geometry> {
    for (what, d) in [("window", window), ("slide", slide)] {
        if d.is_zero() {
            return Err(StreamingError::InvalidOperation(format!(
                "{operation}: the {what} duration must be positive, got {d:?}"
            )));
        }
        if d.as_nanos() % parent_slide.as_nanos().max(1) != 0 {
            return Err(StreamingError::InvalidOperation(format!(
                "{operation}: the {what} duration {d:?} must be a multiple of the parent stream's slide duration {parent_slide:?}"
            )));
        }
    }
    Ok(Geometry::new(window, slide, parent_slide))
}

/// Unwraps a definition-time result, panicking with the error's message.
#[track_caller]
fn defined<T>(r: Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

impl<T: Data> DStream<T> {
    /// Every `slide`, all elements of the last `window` (Spark's `window`):
    /// the parent's batches in `(t - window, t]`, oldest first, without
    /// copying them.
    ///
    /// # Panics
    /// If `window` or `slide` is not a positive multiple of this stream's
    /// slide duration (see [`try_window`](Self::try_window)).
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
    pub fn window(&self, window: Duration, slide: Duration) -> DStream<T> {
        defined(self.try_window(window, slide))
    }

    /// [`window`](Self::window), returning an invalid duration as an error.
    pub fn try_window(&self, window: Duration, slide: Duration) -> Result<DStream<T>> {
        let geo = check_durations("window", self.slide_duration(), window, slide)?;
        if window > slide {
            // Consecutive windows overlap: keep each parent batch once
            // computed rather than recomputing it for every window (Spark
            // persists the parent here too).
            self.node.meta.set_cached();
        }
        let op = WindowOp {
            parent: self.node.clone(),
            geo,
        };
        Ok(self.derive("window", slide, op))
    }

    /// Every `slide`, the number of elements in the last `window` (Spark's
    /// `countByWindow`). Incremental, so it needs a checkpoint directory, as
    /// in Spark; like Spark, it produces an empty batch until the first
    /// element arrives, and `0` once the window has emptied.
    ///
    /// # Panics
    /// On invalid durations (see [`try_window`](Self::try_window)).
    pub fn count_by_window(&self, window: Duration, slide: Duration) -> DStream<u64> {
        defined(self.try_count_by_window(window, slide))
    }

    /// [`count_by_window`](Self::count_by_window), returning an invalid
    /// duration as an error.
    pub fn try_count_by_window(&self, window: Duration, slide: Duration) -> Result<DStream<u64>> {
        let geo = check_durations("count_by_window", self.slide_duration(), window, slide)?;
        let ones = self.map(|_| ((), 1u64));
        let counts = ones.inverse_window(
            "count_by_window",
            Arc::new(|a, b| a + b),
            Arc::new(|a, b| a - b),
            None,
            geo,
            Some(1),
        );
        Ok(counts.map(|(_, c)| c))
    }

    /// Every `slide`, the elements of the last `window` reduced with `f`
    /// (associative and commutative; Spark's `reduceByWindow`): one element,
    /// or an empty batch for an empty window. Uses one partial aggregate per
    /// pane (see the module documentation), not a re-reduction of the window.
    ///
    /// # Panics
    /// On invalid durations (see [`try_window`](Self::try_window)).
    pub fn reduce_by_window(
        &self,
        f: impl Fn(T, T) -> T + Send + Sync + 'static,
        window: Duration,
        slide: Duration,
    ) -> DStream<T> {
        defined(self.try_reduce_by_window(f, window, slide))
    }

    /// [`reduce_by_window`](Self::reduce_by_window), returning an invalid
    /// duration as an error.
    pub fn try_reduce_by_window(
        &self,
        f: impl Fn(T, T) -> T + Send + Sync + 'static,
        window: Duration,
        slide: Duration,
    ) -> Result<DStream<T>> {
        let geo = check_durations("reduce_by_window", self.slide_duration(), window, slide)?;
        let keyed = self.map(|x| ((), x));
        let reduced = keyed.pane_window("reduce_by_window", Arc::new(f), geo, Some(1));
        Ok(reduced.map(|(_, v)| v))
    }

    /// Every `slide`, the elements of the last `window` reduced
    /// incrementally: `f` adds the batches that entered, `inv_f(acc, old)`
    /// subtracts those that left (Spark's `reduceByWindow` with an inverse).
    /// Needs a checkpoint directory. Once an element has arrived, the
    /// result stays (as the zero value when the window empties).
    ///
    /// # Panics
    /// On invalid durations (see [`try_window`](Self::try_window)).
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
        defined(self.try_reduce_by_window_inv(f, inv_f, window, slide))
    }

    /// [`reduce_by_window_inv`](Self::reduce_by_window_inv), returning an
    /// invalid duration as an error.
    pub fn try_reduce_by_window_inv(
        &self,
        f: impl Fn(T, T) -> T + Send + Sync + 'static,
        inv_f: impl Fn(T, T) -> T + Send + Sync + 'static,
        window: Duration,
        slide: Duration,
    ) -> Result<DStream<T>>
    where
        T: StateData,
    {
        let geo = check_durations("reduce_by_window", self.slide_duration(), window, slide)?;
        let keyed = self.map(|x| ((), x));
        let reduced = keyed.inverse_window(
            "reduce_by_window",
            Arc::new(f),
            Arc::new(inv_f),
            None,
            geo,
            Some(1),
        );
        Ok(reduced.map(|(_, v)| v))
    }

    /// Every `slide`, each distinct element of the last `window` with its
    /// count (Spark's `countByValueAndWindow`); values whose count fell to 0
    /// are dropped. Incremental, so it needs a checkpoint directory.
    ///
    /// # Panics
    /// On invalid durations (see [`try_window`](Self::try_window)).
    pub fn count_by_value_and_window(&self, window: Duration, slide: Duration) -> DStream<(T, u64)>
    where
        T: Key + StateData,
    {
        defined(self.try_count_by_value_and_window(window, slide))
    }

    /// [`count_by_value_and_window`](Self::count_by_value_and_window),
    /// returning an invalid duration as an error.
    pub fn try_count_by_value_and_window(
        &self,
        window: Duration,
        slide: Duration,
    ) -> Result<DStream<(T, u64)>>
    where
        T: Key + StateData,
    {
        let geo = check_durations(
            "count_by_value_and_window",
            self.slide_duration(),
            window,
            slide,
        )?;
        Ok(self.map(|x| (x, 1u64)).inverse_window(
            "count_by_value_and_window",
            Arc::new(|a, b| a + b),
            Arc::new(|a, b| a - b),
            Some(Arc::new(|(_, c): &(T, u64)| *c != 0)),
            geo,
            None,
        ))
    }
}

impl<K: Key, V: Data> DStream<(K, V)> {
    fn pane_window(
        &self,
        name: &'static str,
        f: ReduceFn<V>,
        geo: Geometry,
        partitions: Option<usize>,
    ) -> DStream<(K, V)> {
        let op = PaneReduceOp::new(name, self.node.clone(), f, geo, partitions);
        self.derive(name, geo.slide, op)
    }

    fn inverse_window(
        &self,
        name: &'static str,
        f: ReduceFn<V>,
        inv_f: ReduceFn<V>,
        filter: Option<FilterFn<K, V>>,
        geo: Geometry,
        partitions: Option<usize>,
    ) -> DStream<(K, V)>
    where
        K: StateData,
        V: StateData,
    {
        let op = InvReduceOp::new(name, self.node.clone(), f, inv_f, filter, geo, partitions);
        self.derive(name, geo.slide, op)
    }

    /// Every `slide`, the values of each key over the last `window`, in the
    /// order they arrived (Spark's `groupByKeyAndWindow`): each batch is
    /// grouped once, and the groups of the window's batches concatenated.
    ///
    /// # Panics
    /// On invalid durations (see [`try_window`](DStream::try_window)).
    pub fn group_by_key_and_window(
        &self,
        window: Duration,
        slide: Duration,
    ) -> DStream<(K, Vec<V>)> {
        defined(self.try_group_by_key_and_window(window, slide))
    }

    /// [`group_by_key_and_window`](Self::group_by_key_and_window), returning
    /// an invalid duration as an error.
    pub fn try_group_by_key_and_window(
        &self,
        window: Duration,
        slide: Duration,
    ) -> Result<DStream<(K, Vec<V>)>> {
        check_durations(
            "group_by_key_and_window",
            self.slide_duration(),
            window,
            slide,
        )?;
        let windowed = self.group_by_key().try_window(window, slide)?;
        let concat = |mut a: Vec<V>, b: Vec<V>| {
            a.extend(b);
            a
        };
        Ok(windowed.combine_by_key(|v| v, concat, concat))
    }

    /// Every `slide`, the values of each key over the last `window` merged
    /// with `f` (associative and commutative; Spark's `reduceByKeyAndWindow`
    /// without an inverse). Each slide reduces only its own batches, into
    /// one partial aggregate per key and pane; the window combines the panes
    /// with the two-stacks algorithm, so a slide costs the size of its new
    /// batches plus the size of the result, whatever the window length.
    ///
    /// # Panics
    /// On invalid durations (see [`try_window`](DStream::try_window)).
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
    pub fn reduce_by_key_and_window(
        &self,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        window: Duration,
        slide: Duration,
    ) -> DStream<(K, V)> {
        defined(self.try_reduce_by_key_and_window(f, window, slide))
    }

    /// [`reduce_by_key_and_window`](Self::reduce_by_key_and_window),
    /// returning an invalid duration as an error.
    pub fn try_reduce_by_key_and_window(
        &self,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        window: Duration,
        slide: Duration,
    ) -> Result<DStream<(K, V)>> {
        let geo = check_durations(
            "reduce_by_key_and_window",
            self.slide_duration(),
            window,
            slide,
        )?;
        Ok(self.pane_window("reduce_by_key_and_window", Arc::new(f), geo, None))
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
    /// On invalid durations (see [`try_window`](DStream::try_window)).
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
        defined(self.try_reduce_by_key_and_window_inv(f, inv_f, window, slide))
    }

    /// [`reduce_by_key_and_window_inv`](Self::reduce_by_key_and_window_inv),
    /// returning an invalid duration as an error.
    pub fn try_reduce_by_key_and_window_inv(
        &self,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        inv_f: impl Fn(V, V) -> V + Send + Sync + 'static,
        window: Duration,
        slide: Duration,
    ) -> Result<DStream<(K, V)>>
    where
        K: StateData,
        V: StateData,
    {
        let geo = check_durations(
            "reduce_by_key_and_window",
            self.slide_duration(),
            window,
            slide,
        )?;
        Ok(self.inverse_window(
            "reduce_by_key_and_window",
            Arc::new(f),
            Arc::new(inv_f),
            None,
            geo,
            None,
        ))
    }

    /// [`reduce_by_key_and_window_inv`](Self::reduce_by_key_and_window_inv)
    /// keeping only the `(key, value)` pairs for which `filter` is true
    /// (Spark's `filterFunc`). The filtered result is also the state carried
    /// to the next slide, so dropped keys do not accumulate. `filter` must
    /// be a pure function of the pair: it is evaluated for the keys a slide
    /// touched.
    ///
    /// # Panics
    /// On invalid durations (see [`try_window`](DStream::try_window)).
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
        defined(self.try_reduce_by_key_and_window_inv_filtered(f, inv_f, window, slide, filter))
    }

    /// [`reduce_by_key_and_window_inv_filtered`](Self::reduce_by_key_and_window_inv_filtered),
    /// returning an invalid duration as an error.
    pub fn try_reduce_by_key_and_window_inv_filtered(
        &self,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        inv_f: impl Fn(V, V) -> V + Send + Sync + 'static,
        window: Duration,
        slide: Duration,
        filter: impl Fn(&(K, V)) -> bool + Send + Sync + 'static,
    ) -> Result<DStream<(K, V)>>
    where
        K: StateData,
        V: StateData,
    {
        let geo = check_durations(
            "reduce_by_key_and_window",
            self.slide_duration(),
            window,
            slide,
        )?;
        Ok(self.inverse_window(
            "reduce_by_key_and_window",
            Arc::new(f),
            Arc::new(inv_f),
            Some(Arc::new(filter)),
            geo,
            None,
        ))
    }
}
