//! Key-value outputs through an output format (Spark's `saveAsHadoopFiles`).

use std::fmt::Display;
use std::io::Write;
use std::path::Path;

use super::{batch_output_dir, save_batch};
use crate::batch::{Data, Key};
use crate::dstream::DStream;

/// How [`save_as_hadoop_files`](DStream::save_as_hadoop_files) writes the
/// records of one partition into its `part-NNNNN` file (Hadoop's
/// `OutputFormat` and `RecordWriter` in one).
///
/// ```
/// use streaming_core::output::OutputFormat;
/// use std::io::Write;
///
/// /// `key,value` lines.
/// struct Csv;
/// impl OutputFormat<String, u64> for Csv {
///     fn write_partition(&self, records: &[(String, u64)], out: &mut dyn Write) -> std::io::Result<()> {
///         for (k, v) in records {
///             writeln!(out, "{k},{v}")?;
///         }
///         Ok(())
///     }
/// }
/// let mut buf = Vec::new();
/// Csv.write_partition(&[("a".into(), 1)], &mut buf).unwrap();
/// assert_eq!(buf, b"a,1\n");
/// ```
pub trait OutputFormat<K, V>: Send + Sync + 'static {
    /// Writes `records`, one partition, to `out`.
    fn write_partition(&self, records: &[(K, V)], out: &mut dyn Write) -> std::io::Result<()>;
}

/// Hadoop's `TextOutputFormat`: one `key<TAB>value` line per record
/// (`Display` of each), or another separator (Hadoop's
/// `mapreduce.output.textoutputformat.separator`).
///
/// ```
/// use streaming_core::output::{OutputFormat, TextOutputFormat};
/// let mut buf = Vec::new();
/// TextOutputFormat::new().write_partition(&[("a", 1), ("b", 2)], &mut buf).unwrap();
/// assert_eq!(buf, b"a\t1\nb\t2\n");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextOutputFormat {
    separator: String,
}

impl Default for TextOutputFormat {
    fn default() -> Self {
        Self::new()
    }
}

impl TextOutputFormat {
    /// The format with a tab between key and value.
    pub fn new() -> Self {
        TextOutputFormat {
            separator: "\t".to_string(),
        }
    }

    /// The format with `separator` between key and value.
    pub fn with_separator(separator: impl Into<String>) -> Self {
        TextOutputFormat {
            separator: separator.into(),
        }
    }
}

impl<K: Display, V: Display> OutputFormat<K, V> for TextOutputFormat {
    fn write_partition(&self, records: &[(K, V)], out: &mut dyn Write) -> std::io::Result<()> {
        for (k, v) in records {
            writeln!(out, "{k}{}{v}", self.separator)?;
        }
        Ok(())
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
        let (prefix, suffix) = (prefix.as_ref().to_path_buf(), suffix.as_ref().to_string());
        let node = self.node.clone();
        self.register_output("save_as_hadoop_files", move |time, env| {
            let Some(batch) = node.get_batch(time, env)? else {
                return Ok(false);
            };
            let dir = batch_output_dir(&prefix, &suffix, time);
            save_batch(&batch, &dir, |part, out| format.write_partition(part, out))?;
            Ok(true)
        });
    }
}
