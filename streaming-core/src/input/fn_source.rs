//! An input computed by a function of the batch time.

use super::InputSource;
use crate::batch::{Batch, Data};
use crate::error::Result;
use crate::time::Time;

/// A source whose batch at each time is `f(time)`; `None` means no batch at
/// all for that time. The testing harness feeds its input through it.
pub struct FnSource<F> {
    f: F,
}

impl<F> FnSource<F> {
    /// A source computing each batch with `f`.
    pub fn new(f: F) -> Self {
        FnSource { f }
    }
}

impl<T, F> InputSource<T> for FnSource<F>
where
    T: Data,
    F: Fn(Time) -> Option<Batch<T>> + Send + Sync + 'static,
{
    fn name(&self) -> String {
        "function stream".to_string()
    }

    fn compute(&self, time: Time) -> Result<Option<Batch<T>>> {
        Ok((self.f)(time))
    }
}
