//! What output operations write: Spark's `print` layout ([`print_layout`])
//! and the directories that save every batch, laid out as Hadoop and Spark
//! lay out a saved RDD, for [`DStream::save_as_text_files`],
//! [`DStream::save_as_object_files`] (read back with [`read_object_files`])
//! and [`DStream::save_as_hadoop_files`] (through an [`OutputFormat`], e.g.
//! [`TextOutputFormat`]). The operations themselves are `DStream` methods
//! (`dstream/ops/output.rs`); this module holds the formats and writers
//! they use, and knows no stream.
//!
//! [`DStream::save_as_text_files`]: crate::DStream::save_as_text_files
//! [`DStream::save_as_object_files`]: crate::DStream::save_as_object_files
//! [`DStream::save_as_hadoop_files`]: crate::DStream::save_as_hadoop_files
//!
//! The batch of time `t` goes to the directory `<prefix>-<t in ms>.<suffix>`
//! (no `.<suffix>` when the suffix is empty), with one `part-NNNNN` file per
//! partition (written in parallel) and an empty `_SUCCESS` file written last.
//! The directory is written under a hidden temporary name beside it
//! (`.<name>._temporary-…`, which file streams ignore) and renamed into
//! place, so a reader never sees half a batch; a re-run of the same batch
//! time replaces the directory. It is durable once the batch completes: the
//! part files, `_SUCCESS` and the temporary directory are fsynced before the
//! rename, the parent directory after it, so a machine that crashes right
//! after a batch keeps its output. A failed write fails the batch with an
//! [`Io`](crate::StreamingError::Io) error naming the file, and leaves no
//! temporary directory behind.

mod hadoop;
mod object;

use std::ffi::OsString;
use std::fmt::{Debug, Write as _};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::batch::{Batch, Data};
use crate::error::{Result, StreamingError};
use crate::time::Time;

pub use hadoop::{OutputFormat, TextOutputFormat};
pub(crate) use object::write_objects;
pub use object::{read_object_file, read_object_files, OBJECT_FILE_MAGIC};

/// Name of the marker file written last into a complete output directory.
pub const SUCCESS_MARKER: &str = "_SUCCESS";

/// The directory a batch of time `time` is saved to: `<prefix>-<ms>` then
/// `.<suffix>` unless the suffix is empty (Spark's `rddToFileName`).
///
/// ```
/// use streaming_core::output::batch_output_dir;
/// use streaming_core::Time;
/// let t = Time::from_millis(3000);
/// assert_eq!(batch_output_dir("out/test", "txt", t).to_str(), Some("out/test-3000.txt"));
/// assert_eq!(batch_output_dir("out/test", "", t).to_str(), Some("out/test-3000"));
/// ```
pub fn batch_output_dir(prefix: impl AsRef<Path>, suffix: &str, time: Time) -> PathBuf {
    let mut name = OsString::from(prefix.as_ref().as_os_str());
    name.push(format!("-{}", time.as_millis()));
    if !suffix.is_empty() {
        name.push(".");
        name.push(suffix);
    }
    PathBuf::from(name)
}

/// The name of partition `i`'s file: `part-00000`, `part-00001`, ...
pub fn part_file_name(i: usize) -> String {
    format!("part-{i:05}")
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A sibling path of `dir` with a hidden, unique name.
fn sibling(dir: &Path, tag: &str) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.with_file_name(format!(".{name}.{tag}-{}-{n}", std::process::id()))
}

/// Writes a partitioned directory atomically: `write_part(i, out)` writes
/// partition `i` (for `i < partitions`, in parallel), then `_SUCCESS`, then
/// the directory is renamed to `dir`, replacing what was there.
pub(crate) fn write_partitioned_dir(
    dir: &Path,
    partitions: usize,
    write_part: impl Fn(usize, &mut dyn Write) -> std::io::Result<()> + Sync,
) -> Result<()> {
    if dir.file_name().is_none() {
        return Err(StreamingError::InvalidOperation(format!(
            "output path {} has no file name",
            dir.display()
        )));
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| {
            StreamingError::io(
                format!("cannot create output directory {}", parent.display()),
                e,
            )
        })?;
    }
    let temp = sibling(dir, "_temporary");
    std::fs::create_dir(&temp).map_err(|e| {
        StreamingError::io(
            format!("cannot create temporary directory {}", temp.display()),
            e,
        )
    })?;
    let result = (|| {
        (0..partitions).into_par_iter().try_for_each(|i| {
            let name = part_file_name(i);
            let path = temp.join(&name);
            let wrap = |e: std::io::Error| {
                StreamingError::io(format!("cannot write {name} of {}", dir.display()), e)
            };
            let file = File::create(&path).map_err(wrap)?;
            let mut out = BufWriter::with_capacity(256 * 1024, file);
            write_part(i, &mut out).map_err(wrap)?;
            // Durable before it can become visible: data, then names.
            let file = out.into_inner().map_err(|e| wrap(e.into_error()))?;
            file.sync_all().map_err(wrap)
        })?;
        let success_err = |e| {
            StreamingError::io(
                format!("cannot write {SUCCESS_MARKER} of {}", dir.display()),
                e,
            )
        };
        File::create(temp.join(SUCCESS_MARKER))
            .and_then(|f| f.sync_all())
            .map_err(success_err)?;
        sync_dir(&temp)
            .map_err(|e| StreamingError::io(format!("cannot sync {}", temp.display()), e))?;
        replace_dir(&temp, dir)?;
        match dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(parent) => sync_dir(parent),
            None => sync_dir(Path::new(".")),
        }
        .map_err(|e| {
            StreamingError::io(format!("cannot sync the directory of {}", dir.display()), e)
        })
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&temp);
    }
    result
}

/// Makes the names inside `dir` durable (fsync of the directory).
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Renames `temp` to `dir`; an existing `dir` is moved aside first and
/// removed once the new one is in place (restored if the rename fails).
fn replace_dir(temp: &Path, dir: &Path) -> Result<()> {
    let rename_err = |e| {
        StreamingError::io(
            format!(
                "cannot move {} into place as {}",
                temp.display(),
                dir.display()
            ),
            e,
        )
    };
    let old = match std::fs::symlink_metadata(dir) {
        Ok(_) => {
            let old = sibling(dir, "_old");
            std::fs::rename(dir, &old).map_err(|e| {
                StreamingError::io(format!("cannot replace the previous {}", dir.display()), e)
            })?;
            Some(old)
        }
        Err(_) => None,
    };
    if let Err(e) = std::fs::rename(temp, dir) {
        if let Some(old) = &old {
            let _ = std::fs::rename(old, dir);
        }
        return Err(rename_err(e));
    }
    if let Some(old) = old {
        let removed = if old.is_dir() {
            std::fs::remove_dir_all(&old)
        } else {
            std::fs::remove_file(&old)
        };
        if let Err(e) = removed {
            tracing::warn!(path = %old.display(), error = %e, "cannot remove the replaced output");
        }
    }
    tracing::debug!(dir = %dir.display(), "batch saved");
    Ok(())
}

/// Saves `batch` to `dir` with `write_part` writing each partition.
pub(crate) fn save_batch<T: Data>(
    batch: &Batch<T>,
    dir: &Path,
    write_part: impl Fn(&[T], &mut dyn Write) -> std::io::Result<()> + Sync,
) -> Result<()> {
    let parts = batch.partitions();
    write_partitioned_dir(dir, parts.len(), |i, out| write_part(&parts[i], out))
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
