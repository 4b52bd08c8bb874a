//! The algorithms behind the window operators (whose `DStream` methods,
//! and the [`Window`](crate::Window) value they take, are in
//! `dstream/ops/window.rs`), one file each: `slicing` for the plain window
//! (a union of the remembered parent batches, no copy); `two_stacks` for
//! reductions without an inverse (one partial aggregate per pane, combined
//! with a de-amortised two-stacks sliding aggregation); `inverse` for incremental
//! reductions (previous result, minus the panes that left, plus those that
//! entered); `panes` for the geometry and pane helpers they share. Parent
//! batches are remembered exactly as long as a window still needs them.

mod inverse;
mod panes;
mod slicing;
mod two_stacks;

use crate::batch::{Combiner, Data, Key};
use crate::dstream::DStream;
use crate::graph::stateful::StateData;
use inverse::InvReduceOp;
pub(crate) use inverse::{Incremental, Keep, KeepAll, KeepEntries, KeepValues, Project};
use panes::CombinedSource;
pub(crate) use panes::{Geometry, ReduceFn};
use slicing::WindowOp;
use two_stacks::PaneReduceOp;

impl<T: Data> DStream<T> {
    /// Adds the plain window node: the parent's batches of each window,
    /// without copying them.
    pub(crate) fn slicing_window(&self, geo: Geometry) -> DStream<T> {
        if geo.window > geo.slide {
            // Consecutive windows overlap: keep each parent batch once
            // computed rather than recomputing it for every window (Spark
            // persists the parent here too).
            self.node.meta.set_cached();
        }
        let op = WindowOp {
            parent: self.node.clone(),
            geo,
        };
        self.derive("window", geo.slide, op)
    }
}

impl<K: Key, V: Data> DStream<(K, V)> {
    pub(crate) fn pane_window(
        &self,
        name: &'static str,
        f: impl ReduceFn<V>,
        geo: Geometry,
        partitions: Option<usize>,
    ) -> DStream<(K, V)> {
        let op = PaneReduceOp::new(name, self.node.clone(), f, geo, partitions);
        self.derive(name, geo.slide, op)
    }

    /// Adds an incremental window node (see `inverse.rs`).
    pub(crate) fn inverse_window<W: Data>(
        &self,
        name: &'static str,
        fns: Incremental<impl ReduceFn<V>, impl ReduceFn<V>, impl Keep<K, V>, impl Project<V, W>>,
        geo: Geometry,
        partitions: Option<usize>,
    ) -> DStream<(K, W)>
    where
        K: StateData,
        V: StateData,
    {
        let op = InvReduceOp::new(name, self.node.clone(), fns, geo, partitions);
        self.derive(name, geo.slide, op)
    }
}

impl<T: Data> DStream<T> {
    /// [`inverse_window`](DStream::inverse_window) of the pairs a combine
    /// written by the caller makes from this stream's elements, each pane
    /// combined straight from them (see [`CombinedSource`]).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn combined_inverse_window<K, C, V, W: Data>(
        &self,
        name: &'static str,
        each: impl Fn(&T, &mut Combiner<K, C>) + Send + Sync + 'static,
        merge: impl Fn(C, C) -> C + Send + Sync + 'static,
        lift: impl Fn(C) -> V + Send + Sync + 'static,
        fns: Incremental<impl ReduceFn<V>, impl ReduceFn<V>, impl Keep<K, V>, impl Project<V, W>>,
        geo: Geometry,
    ) -> DStream<(K, W)>
    where
        K: Key + StateData,
        C: Data,
        V: StateData,
    {
        let source = CombinedSource {
            parent: self.node.clone(),
            each,
            merge,
            lift,
            combiner: std::marker::PhantomData,
        };
        let op = InvReduceOp::new(name, source, fns, geo, None);
        self.derive(name, geo.slide, op)
    }
}
