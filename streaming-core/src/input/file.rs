//! File streams: every batch reads the files that appeared in a directory
//! since the previous one ([`StreamingContext::text_file_stream`],
//! [`StreamingContext::file_stream`], [`FileStreamSpec`]).
//!
//! Spark's `FileInputDStream` rules, at batch time `t`:
//! - a file is *new* if its modification time is at most `t`, after the
//!   ignore threshold (SPARK-4518: a file stamped at the threshold itself is
//!   not new), and it was not selected before; the threshold is
//!   `max(initial, t - remember)`, where `remember` is
//!   `spark.streaming.fileStream.minRememberDuration` (default 60 s) rounded
//!   up to a whole number of batch intervals, and `initial` is the clock time
//!   when the stream was defined with `new_files_only` (the default), zero
//!   otherwise;
//! - a file modified after `t` waits for a later batch; changes to a file
//!   already selected are not tracked (as the seed warns: move complete files
//!   into the directory, e.g. write elsewhere and rename);
//! - hidden names (starting with `.`) are ignored, as by Hadoop's default
//!   path filter; with [`FileStreamSpec::skip_temporary_names`], so are
//!   names starting with `_` or ending in `.tmp` or `._COPYING_` (files
//!   being written by other tools); an optional glob filters names;
//!   directories and other non-regular entries are ignored.
//!
//! Selected files become partitions in order of modification time then
//! path. Text files are read lazily, as streams: each is cut into splits of
//! at most `max_partition_bytes`, one partition each, read a block at a time
//! when the partition is consumed (`text_split`), so a batch never holds a
//! whole file. Files of a custom [`FileReader`] are read when the batch is
//! computed, in parallel. A file that cannot be read is counted and
//! reported (log and `on_receiver_error`) and the stream goes on; bad
//! records inside a file (invalid UTF-8 lines, over-long lines) are
//! counted, reported and skipped.
//!
//! The files selected for each remembered batch time form a
//! [`FileStreamState`], serializable, which [`FileStreamHandle::state`]
//! snapshots and [`FileStreamHandle::restore`] puts back, so that recovery
//! re-reads the same files for the same batches and never reads a file
//! twice. The stream is recoverable: its `InputSource` checkpoint data is
//! that state, encoded with postcard.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, UNIX_EPOCH};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::decode::{split_lines, BadRecords, DEFAULT_MAX_LINE_LENGTH};
use super::file_stats::FileStreamStats;
use super::glob::Glob;
use super::settings;
use super::text_split::{splits_of, SplitLines, SplitSink};
use super::{InputContext, InputSource};
use crate::batch::chunks::BoxChunks;
use crate::batch::{Batch, Data, Lazy};
use crate::conf::StreamingConf;
use crate::error::{Result, StreamingError};
use crate::graph::source::LazyInput;
use crate::time::Time;

/// The default minimum remember duration of file streams (Spark's).
pub const DEFAULT_MIN_REMEMBER: Duration = Duration::from_secs(60);
/// The default largest partition of a text file, in bytes (Spark's
/// `spark.files.maxPartitionBytes`).
pub const DEFAULT_MAX_PARTITION_BYTES: u64 = 128 << 20;

/// Reads one file of a file stream into partitions.
///
/// Implemented by [`TextFileReader`], and by any closure
/// `Fn(&Path) -> Result<Vec<T>, E>` with `E: Display` (one partition per
/// file; an `Err` reports the file as unreadable).
pub trait FileReader<T>: Send + Sync + 'static {
    /// Reads the file at `path` into one or more partitions, counting the
    /// records it skips in `bad`. An error skips the whole file (it is
    /// reported and the stream goes on).
    fn read(&self, path: &Path, bad: &mut BadRecords) -> Result<Vec<Vec<T>>>;
}

impl<T, E, F> FileReader<T> for F
where
    F: Fn(&Path) -> std::result::Result<Vec<T>, E> + Send + Sync + 'static,
    E: Display,
{
    fn read(&self, path: &Path, _bad: &mut BadRecords) -> Result<Vec<Vec<T>>> {
        self(path)
            .map(|records| vec![records])
            .map_err(|e| StreamingError::InvalidData {
                context: format!("cannot read {}", path.display()),
                message: e.to_string(),
            })
    }
}

/// Reads text files as lines, Hadoop's `TextInputFormat` way: lines end at
/// `\n` (a `\r` before it is dropped), the last line needs no `\n`, empty
/// lines are records. Lines that are not valid UTF-8 are counted as
/// [`INVALID_UTF8`](crate::INVALID_UTF8) and skipped, and so are lines longer
/// than [`max_line_length`](Self::max_line_length), as
/// [`LINE_TOO_LONG`](crate::LINE_TOO_LONG). A file larger than
/// [`max_partition_bytes`](Self::max_partition_bytes) is split at line
/// boundaries into several partitions, decoded in parallel.
#[derive(Clone, Debug)]
pub struct TextFileReader {
    max_partition_bytes: u64,
    max_line_length: usize,
}

impl Default for TextFileReader {
    fn default() -> Self {
        Self::new()
    }
}

impl TextFileReader {
    /// A reader with partitions of at most 128 MiB and lines of at most
    /// 1 MiB.
    pub fn new() -> Self {
        TextFileReader {
            max_partition_bytes: DEFAULT_MAX_PARTITION_BYTES,
            max_line_length: DEFAULT_MAX_LINE_LENGTH,
        }
    }

    /// Sets the longest line kept, in bytes (default 1 MiB, as for sockets);
    /// longer lines are counted and skipped.
    pub fn max_line_length(mut self, bytes: usize) -> Self {
        self.max_line_length = bytes.max(1);
        self
    }

    /// Sets the largest partition, in bytes (a partition always holds at
    /// least one whole line).
    pub fn max_partition_bytes(mut self, bytes: u64) -> Self {
        self.max_partition_bytes = bytes.max(1);
        self
    }
}

impl FileReader<String> for TextFileReader {
    fn read(&self, path: &Path, bad: &mut BadRecords) -> Result<Vec<Vec<String>>> {
        let data = std::fs::read(path)
            .map_err(|e| StreamingError::io(format!("cannot read {}", path.display()), e))?;
        let max = usize::try_from(self.max_partition_bytes).unwrap_or(usize::MAX);
        let mut chunks = Vec::new();
        let mut start = 0;
        while start < data.len() {
            let target = start.saturating_add(max);
            let end = if target >= data.len() {
                data.len()
            } else {
                // The line that holds byte `target - 1` ends this partition.
                memchr::memchr(b'\n', &data[target - 1..]).map_or(data.len(), |i| target + i)
            };
            chunks.push(&data[start..end]);
            start = end;
        }
        if chunks.is_empty() {
            return Ok(vec![Vec::new()]);
        }
        let parts: Vec<(Vec<String>, BadRecords)> = chunks
            .par_iter()
            .map(|chunk| {
                let mut b = BadRecords::default();
                (split_lines(chunk, self.max_line_length, &mut b), b)
            })
            .collect();
        Ok(parts
            .into_iter()
            .map(|(lines, b)| {
                bad.merge(b);
                lines
            })
            .collect())
    }
}

/// The files a file stream selected, by batch time: what the checkpointing
/// of a file stream must keep (see [`FileStreamHandle::state`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStreamState {
    /// The files selected for each remembered batch time, in the order they
    /// were read. (Paths serialize as their bytes, so a name that is not
    /// UTF-8 is kept like any other.)
    #[serde(with = "path_bytes")]
    pub batches: BTreeMap<Time, Vec<PathBuf>>,
    /// Files modified before this time are never selected: the clock time
    /// when the stream was defined with `new_files_only`, zero otherwise.
    pub initial_mod_time_threshold: Time,
}

/// Serializes paths as their raw bytes (any file name, UTF-8 or not).
mod path_bytes {
    use std::collections::BTreeMap;
    use std::ffi::OsString;
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    use std::path::PathBuf;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::time::Time;

    pub(super) fn serialize<S: Serializer>(
        batches: &BTreeMap<Time, Vec<PathBuf>>,
        ser: S,
    ) -> Result<S::Ok, S::Error> {
        let bytes: BTreeMap<&Time, Vec<&[u8]>> = batches
            .iter()
            .map(|(t, files)| (t, files.iter().map(|p| p.as_os_str().as_bytes()).collect()))
            .collect();
        bytes.serialize(ser)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        de: D,
    ) -> Result<BTreeMap<Time, Vec<PathBuf>>, D::Error> {
        let bytes = BTreeMap::<Time, Vec<Vec<u8>>>::deserialize(de)?;
        Ok(bytes
            .into_iter()
            .map(|(t, files)| {
                let paths = files
                    .into_iter()
                    .map(|b| PathBuf::from(OsString::from_vec(b)))
                    .collect();
                (t, paths)
            })
            .collect())
    }
}

impl FileStreamState {
    /// Every remembered file, in batch order.
    pub fn files(&self) -> impl Iterator<Item = &Path> + '_ {
        self.batches.values().flatten().map(PathBuf::as_path)
    }
}

/// What a file source tracks between batches.
#[derive(Default)]
struct Tracking {
    state: FileStreamState,
    /// Every file in `state.batches`, for quick look-up.
    recent: HashSet<PathBuf>,
    /// Paths already reported as unexaminable (reported once).
    reported: HashSet<PathBuf>,
    listing_failed: bool,
}

impl Tracking {
    fn rebuild_recent(&mut self) {
        self.recent = self.state.files().map(Path::to_path_buf).collect();
    }
}

struct FileShared {
    tracking: Mutex<Tracking>,
    stats: FileStreamStats,
}

/// A handle on a file stream: its counters and the set of files it read.
/// Cheap to clone.
#[derive(Clone)]
pub struct FileStreamHandle {
    shared: Arc<FileShared>,
}

impl std::fmt::Debug for FileStreamHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStreamHandle")
            .field("stats", &self.shared.stats)
            .finish()
    }
}

impl FileStreamHandle {
    fn new() -> Self {
        FileStreamHandle {
            shared: Arc::new(FileShared {
                tracking: Mutex::new(Tracking::default()),
                stats: FileStreamStats::default(),
            }),
        }
    }

    /// The stream's counters.
    pub fn stats(&self) -> FileStreamStats {
        self.shared.stats.clone()
    }

    /// A snapshot of the files selected per remembered batch time.
    pub fn state(&self) -> FileStreamState {
        self.shared.tracking.lock().unwrap().state.clone()
    }

    /// Puts back a state taken by [`state`](Self::state) (before the context
    /// starts): its files are not selected again, and a batch time it lists
    /// re-reads exactly its files.
    pub fn restore(&self, state: FileStreamState) {
        let mut t = self.shared.tracking.lock().unwrap();
        t.state = state;
        t.rebuild_recent();
    }
}

enum ReaderSpec<T> {
    /// A text reader; the partition size comes from the configuration when
    /// not set here.
    Text {
        max_partition_bytes: Option<u64>,
        max_line_length: Option<usize>,
        make: fn(TextFileReader) -> Arc<dyn FileReader<T>>,
        /// The records of a split read as a stream.
        lines: fn(SplitLines) -> BoxChunks<T>,
    },
    Custom(Arc<dyn FileReader<T>>),
}

fn text_reader(reader: TextFileReader) -> Arc<dyn FileReader<String>> {
    Arc::new(reader)
}

fn text_lines(lines: SplitLines) -> BoxChunks<String> {
    Box::new(lines)
}

/// How a text file stream cuts and reads its files.
struct TextPlan<T> {
    max_partition_bytes: u64,
    max_line_length: usize,
    lines: fn(SplitLines) -> BoxChunks<T>,
}

/// The description of a file stream: the directory, how files are read and
/// which are selected. Register it with
/// [`StreamingContext::file_stream_with`](crate::StreamingContext::file_stream_with).
///
/// ```no_run
/// use streaming_core::{FileStreamSpec, StreamingConf, StreamingContext};
/// use std::time::Duration;
/// let ssc = StreamingContext::new(StreamingConf::new().batch_interval(Duration::from_secs(2)))?;
/// let spec = FileStreamSpec::text("/data/incoming").glob("*.log").new_files_only(false);
/// let handle = spec.handle();
/// ssc.file_stream_with(spec).count().print();
/// ssc.start()?;
/// // ... later: handle.stats().files_read(), handle.state() ...
/// # Ok::<(), streaming_core::StreamingError>(())
/// ```
pub struct FileStreamSpec<T> {
    dir: PathBuf,
    reader: ReaderSpec<T>,
    glob: Option<String>,
    new_files_only: bool,
    skip_temporary: bool,
    min_remember: Option<Duration>,
    handle: FileStreamHandle,
}

impl FileStreamSpec<String> {
    /// The lines of the text files appearing in `dir`, read by a
    /// [`TextFileReader`].
    pub fn text(dir: impl AsRef<Path>) -> Self {
        Self::with_reader(
            dir,
            ReaderSpec::Text {
                max_partition_bytes: None,
                max_line_length: None,
                make: text_reader,
                lines: text_lines,
            },
        )
    }

    /// Sets the longest line kept, in bytes (default: the
    /// `streaming.fileStream.maxLineLength` setting, else 1 MiB); longer
    /// lines are counted as bad records and skipped.
    pub fn max_line_length(mut self, bytes: usize) -> Self {
        if let ReaderSpec::Text {
            max_line_length, ..
        } = &mut self.reader
        {
            *max_line_length = Some(bytes);
        }
        self
    }

    /// Sets the largest partition of a text file, in bytes (default: the
    /// `spark.files.maxPartitionBytes` setting, else 128 MiB).
    pub fn max_partition_bytes(mut self, bytes: u64) -> Self {
        if let ReaderSpec::Text {
            max_partition_bytes,
            ..
        } = &mut self.reader
        {
            *max_partition_bytes = Some(bytes);
        }
        self
    }
}

impl<T: Data> FileStreamSpec<T> {
    /// The records of the files appearing in `dir`, read by `reader`.
    pub fn new(dir: impl AsRef<Path>, reader: impl FileReader<T>) -> Self {
        Self::with_reader(dir, ReaderSpec::Custom(Arc::new(reader)))
    }

    fn with_reader(dir: impl AsRef<Path>, reader: ReaderSpec<T>) -> Self {
        FileStreamSpec {
            dir: dir.as_ref().to_path_buf(),
            reader,
            glob: None,
            new_files_only: true,
            skip_temporary: false,
            min_remember: None,
            handle: FileStreamHandle::new(),
        }
    }

    /// Only selects files whose name matches `pattern` (`*`, `?`, `[a-z]`,
    /// `[!a-z]`, `{a,b}`, `\x`). An invalid pattern makes `start` fail.
    pub fn glob(mut self, pattern: impl Into<String>) -> Self {
        self.glob = Some(pattern.into());
        self
    }

    /// Whether files modified before the stream was defined are ignored
    /// (Spark's `newFilesOnly`, default `true`); with `false`, files of the
    /// remember window present at start are read by the first batch.
    pub fn new_files_only(mut self, new_only: bool) -> Self {
        self.new_files_only = new_only;
        self
    }

    /// Also ignores the names other tools give files they are still
    /// writing: starting with `_` (`_temporary`), ending in `.tmp` or in
    /// `._COPYING_` (`hdfs dfs -put`). Default `false`: as in Spark, only
    /// hidden names (starting with `.`) are ignored.
    pub fn skip_temporary_names(mut self, skip: bool) -> Self {
        self.skip_temporary = skip;
        self
    }

    /// Sets how far back files are remembered (and considered), overriding
    /// `spark.streaming.fileStream.minRememberDuration`.
    pub fn min_remember(mut self, d: Duration) -> Self {
        self.min_remember = Some(d);
        self
    }

    /// A handle on the stream's counters and the files it read.
    pub fn handle(&self) -> FileStreamHandle {
        self.handle.clone()
    }
}

/// The input source behind file streams.
pub(crate) struct FileSource<T> {
    dir: PathBuf,
    reader: Arc<dyn FileReader<T>>,
    /// For text files: read lazily, a split per partition.
    text: Option<TextPlan<T>>,
    glob: Option<Glob>,
    skip_temporary: bool,
    /// How far back files are remembered, in ms (raised at start to cover
    /// recovery's replay), and the batch interval it is a multiple of.
    remember_ms: AtomicU64,
    interval_ms: u64,
    shared: Arc<FileShared>,
    config_error: Option<StreamingError>,
    ctx: OnceLock<InputContext>,
}

/// Whether a file name is ignored: hidden, or (with `skip_temporary`) one
/// that other tools use while writing.
fn ignored_name(name: &str, skip_temporary: bool) -> bool {
    name.starts_with('.')
        || (skip_temporary
            && (name.starts_with('_') || name.ends_with(".tmp") || name.ends_with("._COPYING_")))
}

fn mod_time_ms(meta: &std::fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as u64)
}

impl<T: Data> FileSource<T> {
    fn remember(&self) -> Duration {
        Duration::from_millis(self.remember_ms.load(Ordering::Relaxed))
    }

    fn report(&self, message: String) {
        match self.ctx.get() {
            Some(ctx) => ctx.report_error(message),
            None => tracing::warn!(dir = %self.dir.display(), %message, "file stream error"),
        }
    }

    /// The files for batch `time`: those restored for it, or the new ones.
    /// Problems are reported once the stream's lock is released, so a
    /// listener may call back into the stream's handle.
    fn select(&self, time: Time) -> Vec<(PathBuf, u64)> {
        let mut reports = Vec::new();
        let files = self.select_locked(time, &mut reports);
        for message in reports {
            self.report(message);
        }
        files
    }

    fn select_locked(&self, time: Time, reports: &mut Vec<String>) -> Vec<(PathBuf, u64)> {
        let mut tracking = self.shared.tracking.lock().unwrap();
        if let Some(files) = tracking.state.batches.get(&time) {
            let files = files.clone();
            return files
                .into_iter()
                .map(|p| {
                    let len = std::fs::metadata(&p).map_or(0, |m| m.len());
                    (p, len)
                })
                .collect();
        }
        let threshold = tracking
            .state
            .initial_mod_time_threshold
            .max(time.saturating_sub(self.remember()));
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => {
                if tracking.listing_failed {
                    tracing::info!(dir = %self.dir.display(), "file stream directory readable again");
                }
                tracking.listing_failed = false;
                entries
            }
            Err(e) => {
                self.shared
                    .stats
                    .inner
                    .listing_errors
                    .fetch_add(1, Ordering::Relaxed);
                if !tracking.listing_failed {
                    reports.push(format!(
                        "cannot list {}: {e}; batches stay empty until it can be listed",
                        self.dir.display()
                    ));
                }
                tracking.listing_failed = true;
                return Vec::new();
            }
        };
        let mut selected = Vec::new();
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    reports.push(format!("cannot list {}: {e}", self.dir.display()));
                    continue;
                }
            };
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if ignored_name(&name, self.skip_temporary)
                || self.glob.as_ref().is_some_and(|g| !g.matches(&name))
            {
                continue;
            }
            let path = entry.path();
            if tracking.recent.contains(&path) {
                continue;
            }
            let meta = match std::fs::metadata(&path) {
                Ok(m) => {
                    tracking.reported.remove(&path);
                    m
                }
                Err(e) => {
                    if tracking.reported.insert(path.clone()) {
                        self.shared
                            .stats
                            .inner
                            .unreadable_files
                            .fetch_add(1, Ordering::Relaxed);
                        reports.push(format!("cannot examine {}: {e}; skipped", path.display()));
                    }
                    continue;
                }
            };
            if !meta.is_file() {
                continue;
            }
            let mtime = mod_time_ms(&meta);
            if mtime <= threshold.as_millis() || mtime > time.as_millis() {
                continue;
            }
            selected.push((mtime, path, meta.len()));
        }
        selected.sort();
        let files: Vec<PathBuf> = selected.iter().map(|(_, p, _)| p.clone()).collect();
        if !files.is_empty() {
            tracing::debug!(%time, files = files.len(), dir = %self.dir.display(), "new files");
        }
        tracking.recent.extend(files.iter().cloned());
        tracking.state.batches.insert(time, files);
        // Forget batches older than the remember window: their files are
        // now older than the threshold, so they cannot be selected again.
        let cutoff = time.saturating_sub(self.remember());
        let kept = tracking.state.batches.split_off(&cutoff);
        let forgotten = std::mem::replace(&mut tracking.state.batches, kept);
        if forgotten.values().any(|f| !f.is_empty()) {
            tracking.rebuild_recent();
        }
        selected.into_iter().map(|(_, p, len)| (p, len)).collect()
    }
}

impl<T: Data> InputSource<T> for FileSource<T> {
    fn name(&self) -> String {
        format!("file stream {}", self.dir.display())
    }

    fn bad_records(&self) -> u64 {
        self.shared.stats.bad_records()
    }

    fn start(&self, ctx: &InputContext) -> Result<()> {
        if let Some(e) = &self.config_error {
            return Err(e.clone());
        }
        let _ = self.ctx.set(ctx.clone());
        if !self.dir.is_dir() {
            tracing::warn!(dir = %self.dir.display(), "file stream directory does not exist (yet)");
        }
        Ok(())
    }

    fn compute(&self, time: Time) -> Result<Option<Batch<T>>> {
        match &self.text {
            Some(_) => Ok(self.compute_lazy(time)?.map(|l| l.materialize())),
            None => self.read_now(time),
        }
    }

    /// Remembers at least `replay` (in whole batch intervals), so that a
    /// recovery replaying that far finds every batch's files recorded.
    fn remember_at_least(&self, replay: Duration) {
        let ms = (replay.as_millis() as u64).div_ceil(self.interval_ms.max(1)) * self.interval_ms;
        self.remember_ms.fetch_max(ms, Ordering::Relaxed);
    }

    /// A file stream is replayable: the files of each remembered batch are
    /// still there to be read again.
    fn is_recoverable(&self) -> bool {
        true
    }

    /// The [`FileStreamState`], encoded with postcard.
    fn checkpoint_data(&self) -> Option<Result<Vec<u8>>> {
        let state = self.shared.tracking.lock().unwrap().state.clone();
        Some(
            postcard::to_stdvec(&state).map_err(|e| StreamingError::InvalidData {
                context: format!("cannot encode the state of {}", self.name()),
                message: e.to_string(),
            }),
        )
    }

    fn restore_checkpoint_data(&self, bytes: &[u8]) -> Result<()> {
        let state: FileStreamState =
            postcard::from_bytes(bytes).map_err(|e| StreamingError::InvalidData {
                context: format!("cannot decode the checkpointed state of {}", self.name()),
                message: e.to_string(),
            })?;
        FileStreamHandle {
            shared: self.shared.clone(),
        }
        .restore(state);
        Ok(())
    }
}

impl<T: Data> LazyInput<T> for FileSource<T> {
    /// Text files: one partition per split, each read a block at a time
    /// when consumed. Other readers read their files now.
    fn compute_lazy(&self, time: Time) -> Result<Option<Lazy<T>>> {
        let Some(plan) = &self.text else {
            return Ok(self.read_now(time)?.map(Lazy::from_owned));
        };
        let stats = &self.shared.stats.inner;
        let mut splits = Vec::new();
        for (path, len) in self.select(time) {
            stats.files_read.fetch_add(1, Ordering::Relaxed);
            stats.bytes_read.fetch_add(len, Ordering::Relaxed);
            splits.extend(splits_of(path, len, plan.max_partition_bytes));
        }
        let sink = Arc::new(SplitSink {
            stats: self.shared.stats.clone(),
            ctx: self.ctx.get().cloned(),
        });
        let (max_line, lines) = (plan.max_line_length, plan.lines);
        let splits = Arc::new(splits);
        Ok(Some(Lazy::from_chunks(splits.len(), move |i| {
            lines(SplitLines::new(splits[i].clone(), max_line, sink.clone()))
        })))
    }
}

impl<T: Data> FileSource<T> {
    /// Reads the files of batch `time` now, with the stream's
    /// [`FileReader`].
    fn read_now(&self, time: Time) -> Result<Option<Batch<T>>> {
        let files = self.select(time);
        let results: Vec<(Result<Vec<Vec<T>>>, BadRecords)> = files
            .par_iter()
            .map(|(path, _)| {
                let mut bad = BadRecords::default();
                (self.reader.read(path, &mut bad), bad)
            })
            .collect();
        let stats = &self.shared.stats.inner;
        let mut parts = Vec::new();
        for ((path, len), (result, bad)) in files.iter().zip(results) {
            if !bad.is_empty() {
                stats.bad.lock().unwrap().merge(bad.clone());
                self.report(format!(
                    "{}: skipped {} bad records: {}",
                    path.display(),
                    bad.total(),
                    bad.summary()
                ));
            }
            match result {
                Ok(file_parts) => {
                    let n: usize = file_parts.iter().map(Vec::len).sum();
                    stats.files_read.fetch_add(1, Ordering::Relaxed);
                    stats.records_read.fetch_add(n as u64, Ordering::Relaxed);
                    stats.bytes_read.fetch_add(*len, Ordering::Relaxed);
                    parts.extend(file_parts);
                }
                Err(e) => {
                    stats.unreadable_files.fetch_add(1, Ordering::Relaxed);
                    self.report(format!("{e}; file skipped"));
                }
            }
        }
        Ok(Some(Batch::from_partitions(parts)))
    }
}

impl<T: Data> FileStreamSpec<T> {
    /// The input source of this spec, with the settings `conf` gives for
    /// what the spec leaves open. An invalid glob or setting is kept and
    /// fails `start`.
    pub(crate) fn into_source(self, conf: &StreamingConf, interval: Duration) -> FileSource<T> {
        let mut config_error = None;
        let mut check = |r: Result<()>| {
            if let Err(e) = r {
                config_error.get_or_insert(e);
            }
        };
        let glob = match self.glob.as_deref().map(Glob::new).transpose() {
            Ok(g) => g,
            Err(e) => {
                check(Err(e));
                None
            }
        };
        let min_remember = match self.min_remember {
            Some(d) => d,
            None => settings::get(conf, settings::MIN_REMEMBER, |k, v| {
                settings::parse_duration(k, v, "s")
            })
            .unwrap_or_else(|e| {
                check(Err(e));
                None
            })
            .unwrap_or(DEFAULT_MIN_REMEMBER),
        };
        let mut text = None;
        let reader: Arc<dyn FileReader<T>> = match self.reader {
            ReaderSpec::Custom(r) => r,
            ReaderSpec::Text {
                max_partition_bytes,
                max_line_length,
                make,
                lines,
            } => {
                let line = match max_line_length {
                    Some(n) => n,
                    None => settings::get(conf, settings::FILE_MAX_LINE_LENGTH, |k, v| {
                        settings::parse_bytes(k, v).map(|n| n as usize)
                    })
                    .unwrap_or_else(|e| {
                        check(Err(e));
                        None
                    })
                    .unwrap_or(DEFAULT_MAX_LINE_LENGTH),
                };
                let bytes = match max_partition_bytes {
                    Some(b) => b,
                    None => {
                        settings::get(conf, settings::MAX_PARTITION_BYTES, settings::parse_bytes)
                            .unwrap_or_else(|e| {
                                check(Err(e));
                                None
                            })
                            .unwrap_or(DEFAULT_MAX_PARTITION_BYTES)
                    }
                };
                text = Some(TextPlan {
                    max_partition_bytes: bytes.max(1),
                    max_line_length: line.max(1),
                    lines,
                });
                make(
                    TextFileReader::new()
                        .max_partition_bytes(bytes)
                        .max_line_length(line),
                )
            }
        };
        // Spark's `durationToRemember`: the minimum remember duration rounded
        // up to whole batch intervals.
        let interval = interval.as_millis().max(1) as u64;
        let remember_ms = (min_remember.as_millis() as u64).div_ceil(interval) * interval;
        {
            let mut tracking = self.handle.shared.tracking.lock().unwrap();
            if tracking.state.batches.is_empty() {
                tracking.state.initial_mod_time_threshold = if self.new_files_only {
                    conf.clock().now()
                } else {
                    Time::ZERO
                };
            }
        }
        if let Some(g) = &glob {
            tracing::debug!(glob = g.as_str(), dir = %self.dir.display(), "file stream glob");
        }
        FileSource {
            dir: self.dir,
            reader,
            text,
            glob,
            skip_temporary: self.skip_temporary,
            remember_ms: AtomicU64::new(remember_ms),
            interval_ms: interval,
            shared: self.handle.shared,
            config_error,
            ctx: OnceLock::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(dir: &Path, handle: &FileStreamHandle) -> FileSource<String> {
        FileSource {
            dir: dir.to_path_buf(),
            reader: text_reader(TextFileReader::new()),
            text: Some(TextPlan {
                max_partition_bytes: DEFAULT_MAX_PARTITION_BYTES,
                max_line_length: DEFAULT_MAX_LINE_LENGTH,
                lines: text_lines,
            }),
            glob: None,
            skip_temporary: false,
            remember_ms: AtomicU64::new(DEFAULT_MIN_REMEMBER.as_millis() as u64),
            interval_ms: 1000,
            shared: handle.shared.clone(),
            config_error: None,
            ctx: OnceLock::new(),
        }
    }

    /// Writes `content` to `path`, modified at 500 ms after the epoch.
    fn write_at_500ms(path: &Path, content: &str) {
        std::fs::write(path, content).unwrap();
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(UNIX_EPOCH + Duration::from_millis(500))
            .unwrap();
    }

    #[test]
    fn a_file_name_that_is_not_utf8_is_checkpointed_like_any_other() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let name = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
        let path = dir.path().join(name);
        write_at_500ms(&path, "x\n");
        let handle = FileStreamHandle::new();
        let src = source(dir.path(), &handle);
        let t = Time::from_millis(1000);
        assert_eq!(src.compute(t).unwrap().unwrap().collect(), vec!["x"]);
        let bytes = src.checkpoint_data().unwrap().unwrap();
        let again = FileStreamHandle::new();
        source(dir.path(), &again)
            .restore_checkpoint_data(&bytes)
            .unwrap();
        assert_eq!(
            again.state().files().collect::<Vec<_>>(),
            vec![path.as_path()]
        );
    }

    #[test]
    fn checkpoint_data_round_trips_the_files_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        write_at_500ms(&path, "x\ny\n");
        let t = Time::from_millis(1000);

        let first = FileStreamHandle::new();
        let src = source(dir.path(), &first);
        assert!(InputSource::<String>::is_recoverable(&src));
        assert_eq!(src.compute(t).unwrap().unwrap().collect(), vec!["x", "y"]);
        let bytes = src.checkpoint_data().unwrap().unwrap();

        let second = FileStreamHandle::new();
        let recovered = source(dir.path(), &second);
        recovered.restore_checkpoint_data(&bytes).unwrap();
        assert_eq!(second.state(), first.state());
        // The recovered stream replays the batch, and reads nothing new after it.
        assert_eq!(
            recovered.compute(t).unwrap().unwrap().collect(),
            vec!["x", "y"]
        );
        assert!(recovered
            .compute(Time::from_millis(2000))
            .unwrap()
            .unwrap()
            .is_empty());

        let e = recovered.restore_checkpoint_data(&[0xff]).unwrap_err();
        assert!(matches!(e, StreamingError::InvalidData { .. }), "{e:?}");
    }
}
