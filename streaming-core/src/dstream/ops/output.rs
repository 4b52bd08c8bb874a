//! Output operators (the `output` family of `stream!`'s operator table,
//! `streaming-dsl/src/ops/output.rs`): what makes batches run. The file
//! layouts and formats they write are in [`crate::output`].

use std::fmt::{Debug, Display};
use std::io::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::batch::{Batch, Data, Key};
use crate::dstream::DStream;
use crate::error::Result;
use crate::output::{batch_output_dir, print_layout, save_batch, write_objects, OutputFormat};
use crate::time::Time;

impl<T: Data> DStream<T> {
    /// Registers an output saving every batch to the directory
    /// `<prefix>-<time ms>.<suffix>`, one part file per partition written by
    /// `write_part` (see [`crate::output`] for the layout).
    fn save_files(
        &self,
        name: &'static str,
        prefix: &Path,
        suffix: &str,
        write_part: impl Fn(&[T], &mut dyn std::io::Write) -> std::io::Result<()>
            + Send
            + Sync
            + 'static,
    ) {
        let (prefix, suffix) = (prefix.to_path_buf(), suffix.to_string());
        self.output(name, move |batch, time| {
            save_batch(
                &batch,
                &batch_output_dir(&prefix, &suffix, time),
                &write_part,
            )
        });
    }

    /// Runs `f` on every batch with its time (Spark's `foreachRDD`). This is
    /// an output operation: it makes the stream's batches compute.
    pub fn foreach_batch(&self, f: impl Fn(Batch<T>, Time) + Send + Sync + 'static) {
        self.output("foreach_batch", move |b, time| {
            f(b, time);
            Ok(())
        });
    }

    /// Like [`foreach_batch`](Self::foreach_batch), for sinks that can fail:
    /// an error fails the batch and stops the context.
    pub fn try_foreach_batch(
        &self,
        f: impl Fn(Batch<T>, Time) -> Result<()> + Send + Sync + 'static,
    ) {
        self.output("foreach_batch", f);
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
        self.output("print", move |b, time| {
            let text = print_layout(time, &b.take(n + 1), n);
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
            Ok(())
        });
    }
}

impl<T: Data + Display> DStream<T> {
    /// Saves every batch as text (Spark's `saveAsTextFiles`): the directory
    /// `<prefix>-<time ms>.<suffix>` holds one `part-NNNNN` file per
    /// partition with one element per line (`Display`) and a `_SUCCESS`
    /// marker, and appears atomically (see the [module](crate::output)
    /// documentation). A failed write fails the batch.
    pub fn save_as_text_files(&self, prefix: impl AsRef<Path>, suffix: impl AsRef<str>) {
        self.save_files(
            "save_as_text_files",
            prefix.as_ref(),
            suffix.as_ref(),
            |part, out| {
                for x in part {
                    writeln!(out, "{x}")?;
                }
                Ok(())
            },
        );
    }
}

impl<T: Data + Serialize> DStream<T> {
    /// Saves every batch as object files (Spark's `saveAsObjectFiles`): the
    /// layout of [`save_as_text_files`](Self::save_as_text_files), with
    /// elements in the binary format documented in [`crate::output`]
    /// (postcard-encoded serde values, length-prefixed), readable with
    /// [`read_object_files`](crate::output::read_object_files). A failed write or an element that cannot be
    /// encoded fails the batch.
    pub fn save_as_object_files(&self, prefix: impl AsRef<Path>, suffix: impl AsRef<str>) {
        self.save_files(
            "save_as_object_files",
            prefix.as_ref(),
            suffix.as_ref(),
            |part, out| write_objects(part, out),
        );
    }
}

impl<K: Key, V: Data> DStream<(K, V)> {
    /// Saves every batch of key-value pairs through `format` (Spark's
    /// `saveAsHadoopFiles`), in the directory layout of
    /// [`save_as_text_files`](DStream::save_as_text_files): one
    /// `part-NNNNN` file per partition written by
    /// [`OutputFormat::write_partition`], then `_SUCCESS`, atomically. A
    /// failed write fails the batch.
    pub fn save_as_hadoop_files(
        &self,
        prefix: impl AsRef<Path>,
        suffix: impl AsRef<str>,
        format: impl OutputFormat<K, V>,
    ) {
        self.save_files(
            "save_as_hadoop_files",
            prefix.as_ref(),
            suffix.as_ref(),
            move |part, out| format.write_partition(part, out),
        );
    }
}
