//! Output operations: what makes batches run (`foreach_batch`, `print`).

use std::fmt::{Debug, Write as _};
use std::io::Write as _;
use std::sync::Arc;

use super::node::AnyNode;
use super::DStream;
use crate::batch::{Batch, Data};
use crate::context::env::Env;
use crate::error::Result;
use crate::time::Time;

type RunFn = Box<dyn Fn(Time, &Env) -> Result<bool> + Send + Sync>;

/// A registered output operation: runs for every batch time at which its
/// stream produces a batch.
pub(crate) struct OutputOp {
    pub(crate) name: &'static str,
    pub(crate) node: Arc<dyn AnyNode>,
    /// Runs the operation for a time; `Ok(false)` when the stream produced
    /// no batch then.
    pub(crate) run: RunFn,
}

/// Formats a batch the way Spark's `print` does: a line of 43 `-`,
/// `Time: <ms> ms`, another line of dashes, up to `n` elements (`Debug`), `...`
/// when `first` holds more than `n`, then an empty line.
///
/// ```
/// use streaming_core::{print_layout, Time};
/// let text = print_layout(Time::from_millis(3000), &[1, 2, 3], 2);
/// let dashes = "-".repeat(43);
/// assert_eq!(text, format!("{dashes}\nTime: 3000 ms\n{dashes}\n1\n2\n...\n\n"));
/// ```
pub fn print_layout<T: Debug>(time: Time, first: &[T], n: usize) -> String {
    let dashes = "-".repeat(43);
    let mut s = format!("{dashes}\nTime: {time}\n{dashes}\n");
    for x in first.iter().take(n) {
        let _ = writeln!(s, "{x:?}");
    }
    if first.len() > n {
        s.push_str("...\n");
    }
    s.push('\n');
    s
}

impl<T: Data> DStream<T> {
    pub(crate) fn register_output(
        &self,
        name: &'static str,
        run: impl Fn(Time, &Env) -> Result<bool> + Send + Sync + 'static,
    ) {
        self.ctx.add_output(OutputOp {
            name,
            node: self.any_node(),
            run: Box::new(run),
        });
    }

    /// Runs `f` on every batch with its time (Spark's `foreachRDD`). This is
    /// an output operation: it makes the stream's batches compute.
    pub fn foreach_batch(&self, f: impl Fn(Batch<T>, Time) + Send + Sync + 'static) {
        let node = self.node.clone();
        self.register_output("foreach_batch", move |time, env| {
            match node.get_batch(time, env)? {
                Some(b) => {
                    f(b, time);
                    Ok(true)
                }
                None => Ok(false),
            }
        });
    }

    /// Like [`foreach_batch`](Self::foreach_batch), for sinks that can fail:
    /// an error fails the batch and stops the context.
    pub fn try_foreach_batch(
        &self,
        f: impl Fn(Batch<T>, Time) -> Result<()> + Send + Sync + 'static,
    ) {
        let node = self.node.clone();
        self.register_output("foreach_batch", move |time, env| {
            match node.get_batch(time, env)? {
                Some(b) => f(b, time).map(|_| true),
                None => Ok(false),
            }
        });
    }

    /// Prints the first 10 elements of every batch to stdout, in Spark's
    /// layout (see [`print_layout`]).
    pub fn print(&self)
    where
        T: Debug,
    {
        self.print_n(10)
    }

    /// Prints the first `n` elements of every batch to stdout, in Spark's
    /// layout (see [`print_layout`]).
    pub fn print_n(&self, n: usize)
    where
        T: Debug,
    {
        let node = self.node.clone();
        self.register_output("print", move |time, env| {
            match node.get_batch(time, env)? {
                Some(b) => {
                    let text = print_layout(time, &b.take(n + 1), n);
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(text.as_bytes());
                    let _ = out.flush();
                    Ok(true)
                }
                None => Ok(false),
            }
        });
    }
}
