//! The plain window (Spark's `WindowedDStream`): at every slide, the union
//! of the parent's batches inside the window, without copying them.

use std::sync::Arc;
use std::time::Duration;

use super::panes::{gather, parent_remember, Geometry};
use crate::batch::{Data, Lazy};
use crate::error::Result;
use crate::graph::env::Env;
use crate::graph::node::{Node, Operator};
use crate::time::Time;

/// The window ending at `t` is the parent's batches in `(t - window, t]`,
/// oldest first, their partitions side by side. Early windows are partial;
/// a window over no batch is an empty batch.
pub(crate) struct WindowOp<T> {
    pub(crate) parent: Arc<Node<T>>,
    pub(crate) geo: Geometry,
}

impl<T: Data> Operator<T> for WindowOp<T> {
    fn compute(&self, time: Time, env: &Env) -> Result<Option<Lazy<T>>> {
        let step = self.geo.parent_slide;
        let first = self.geo.window_start(time) + step;
        let times = std::iter::successors(Some(first), move |&t| Some(t + step))
            .take_while(move |&t| t <= time);
        let window = gather(&self.parent, times, env)?;
        Ok(Some(window.unwrap_or_else(|| {
            Lazy::new(0, |_| crate::batch::PartitionIter::empty())
        })))
    }

    /// The next window, one parent batch later, reaches back to
    /// `window - parent_slide` before this batch: exactly that much.
    fn parent_remember(&self, own: Duration) -> Duration {
        parent_remember(
            own,
            self.geo.slide,
            self.geo.window.saturating_sub(self.geo.parent_slide),
        )
    }
}
