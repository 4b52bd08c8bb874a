//! Key-value outputs through an output format (Spark's `saveAsHadoopFiles`).

use std::fmt::Display;
use std::io::Write;

/// How [`save_as_hadoop_files`](crate::DStream::save_as_hadoop_files) writes the
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
