//! The receivers' write-ahead log (Spark's `FileBasedWriteAheadLog`, turned
//! on by `spark.streaming.receiver.writeAheadLog.enable`): every block a
//! receiver stores is appended to a log in the checkpoint directory and
//! fsynced before it enters the receiver's buffer, so before any batch can
//! take it.
//!
//! # Records and blocks
//! The records a receiver stores are numbered from 0, in the order they are
//! received, across restarts (a recovered log goes on from its last
//! record). A block is a run of consecutive records; a batch takes a run of
//! consecutive records too (`[from, until)`), which is all a checkpoint
//! needs to record to compute the batch again from the log (as Spark's
//! `WriteAheadLogBackedBlockRDD` reads a batch's blocks back).
//!
//! # On disk
//! `<checkpoint dir>/receivedData/<stream id>/log-<first record, 20 digits>`:
//! segment files, each the 8-byte magic [`SEGMENT_MAGIC`] and the log's
//! identity (a random `u64` chosen by a new run and kept in its
//! checkpoints, so that a log left by another run is never taken for this
//! one's) followed by frames. A frame is the body's length (`u32`, little-endian), the CRC-32
//! (IEEE) of those four bytes, the CRC-32 of the body (`u32`s), then the
//! body: the block's first record (`u64`), its number of records (`u32`)
//! and its payload (the records, encoded by a [`WalCodec`]). A segment is
//! rolled (closed, a new one started) once it holds
//! `streaming.receiver.writeAheadLog.maxSegmentBytes` or has been open for
//! `spark.streaming.receiver.writeAheadLog.rollingIntervalSecs`; segments
//! whose records every recovery would skip are deleted
//! ([`WriteAheadLog::clean`]).
//!
//! # Crashes
//! A process killed while appending leaves a torn frame at the end of the
//! segment: opening the log finds it (a frame header cut short, a body
//! running past the end of the file, a last body whose checksum does not
//! match, or zeros to the end of the file, as a file system leaves after a
//! crash) and truncates the segment there; that block was never stored, so
//! no batch took it. Anything else that is not a whole, intact frame (a
//! length whose own checksum fails, a bad frame followed by more data) or
//! a gap in the record numbers is corruption: opening the log fails with
//! [`WalError::Corrupt`], naming the file and the offset. The length has
//! its own checksum so that a damaged length is never taken for a torn
//! append, which would cut off the records after it. Reading a block
//! checks its checksum again.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::decode::LineBlock;

/// The first eight bytes of every segment file.
pub(crate) const SEGMENT_MAGIC: &[u8; 8] = b"STRMWAL1";
/// Magic and log identity.
const SEGMENT_HEADER: usize = 16;
/// Body length, its checksum, and the body's checksum.
const FRAME_HEADER: usize = 12;
/// First record and record count, at the start of a body.
const ENTRY_HEADER: usize = 12;
/// Prefix of segment file names.
const SEGMENT_PREFIX: &str = "log-";
/// The default size at which a segment is rolled.
pub(crate) const DEFAULT_MAX_SEGMENT_BYTES: u64 = 64 << 20;
/// The default age at which a segment is rolled (Spark's 60 s).
pub(crate) const DEFAULT_ROLLING_INTERVAL: Duration = Duration::from_secs(60);

/// What went wrong with a write-ahead log.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WalError {
    /// A file operation failed.
    #[error("cannot {what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A segment holds data that is not a whole, intact frame where more
    /// data follows, or breaks the numbering of records.
    #[error("corrupt write-ahead log segment {} at byte {offset}: {reason}", path.display())]
    Corrupt {
        /// The segment file.
        path: PathBuf,
        /// Where the bad frame starts.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The segment was written by another run's log (its identity differs
    /// from the one the checkpoint recorded).
    #[error("write-ahead log segment {} belongs to another run (log {found:016x}, the checkpoint's is {expected:016x})", path.display())]
    Foreign {
        /// The segment file.
        path: PathBuf,
        /// Its log identity.
        found: u64,
        /// The identity the checkpoint recorded.
        expected: u64,
    },
    /// Records asked for are not in the log (deleted, or never written).
    #[error("the write-ahead log in {} does not hold records {from}..{until}: {reason}", dir.display())]
    Missing {
        /// The log's directory.
        dir: PathBuf,
        /// First record asked for.
        from: u64,
        /// End of the records asked for.
        until: u64,
        /// What the log holds instead.
        reason: String,
    },
}

fn io_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> WalError + 'a {
    move |source| WalError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// How a receiver's blocks are stored in the log: the payload of a frame.
pub(crate) trait WalCodec<B>: Send + Sync {
    /// Appends the encoding of `block` to `out`.
    fn encode(&self, block: &B, out: &mut Vec<u8>);
    /// The block `payload` encodes.
    fn decode(&self, payload: &[u8]) -> Result<B, String>;
}

/// Text lines, each followed by `\n` (lines never hold one).
pub(crate) struct LinesCodec;

impl WalCodec<LineBlock> for LinesCodec {
    fn encode(&self, block: &LineBlock, out: &mut Vec<u8>) {
        block.write_lines(out);
    }
    fn decode(&self, payload: &[u8]) -> Result<LineBlock, String> {
        let text = std::str::from_utf8(payload).map_err(|e| format!("not UTF-8: {e}"))?;
        LineBlock::from_lines(text.to_owned())
    }
}

impl WalCodec<Vec<String>> for LinesCodec {
    fn encode(&self, block: &Vec<String>, out: &mut Vec<u8>) {
        for line in block {
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
        }
    }
    fn decode(&self, payload: &[u8]) -> Result<Vec<String>, String> {
        let text = std::str::from_utf8(payload).map_err(|e| format!("not UTF-8: {e}"))?;
        let Some(body) = text.strip_suffix('\n') else {
            return if text.is_empty() {
                Ok(Vec::new())
            } else {
                Err("the last line has no end".into())
            };
        };
        Ok(body.split('\n').map(str::to_owned).collect())
    }
}

/// When segments are rolled.
#[derive(Clone, Debug)]
pub(crate) struct WalConfig {
    /// A segment holding this many bytes is rolled.
    pub(crate) max_segment_bytes: u64,
    /// A segment open this long is rolled.
    pub(crate) rolling_interval: Duration,
}

impl Default for WalConfig {
    fn default() -> Self {
        WalConfig {
            max_segment_bytes: DEFAULT_MAX_SEGMENT_BYTES,
            rolling_interval: DEFAULT_ROLLING_INTERVAL,
        }
    }
}

/// A block found in the log.
#[derive(Clone, Debug)]
struct Entry {
    first: u64,
    records: u32,
    /// Index of its segment in `segments`' numbering (the segment's first
    /// record, which names it).
    segment: u64,
    /// Where its frame starts.
    offset: u64,
    /// Its body's length.
    len: u32,
}

impl Entry {
    fn end(&self) -> u64 {
        self.first + u64::from(self.records)
    }
}

/// The segment being appended to.
struct Current {
    file: File,
    first: u64,
    len: u64,
    opened: Instant,
    /// Holds at least one frame.
    used: bool,
}

struct State {
    /// The log's identity, in every segment's header.
    id: u64,
    /// Every segment's first record, oldest first (the current one last).
    segments: VecDeque<u64>,
    /// Every block in the log, in record order.
    entries: VecDeque<Entry>,
    /// The number the next record gets.
    next: u64,
    current: Option<Current>,
}

/// One receiver's write-ahead log (see the module documentation).
pub(crate) struct WriteAheadLog {
    dir: PathBuf,
    config: WalConfig,
    state: Mutex<State>,
}

/// A block read back: its first record, record count and payload, and
/// where it is.
pub(crate) struct StoredBlock {
    pub(crate) first: u64,
    pub(crate) records: u32,
    pub(crate) payload: Vec<u8>,
    /// Its segment file.
    pub(crate) path: PathBuf,
    /// Where its frame starts in the segment.
    pub(crate) offset: u64,
}

fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("{SEGMENT_PREFIX}{first:020}"))
}

/// The segment files in `dir`, by first record.
pub(crate) fn segment_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>, WalError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("list", dir)(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err("list", dir))?;
        let name = entry.file_name();
        let Some(first) = name
            .to_str()
            .and_then(|n| n.strip_prefix(SEGMENT_PREFIX))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        out.push((first, entry.path()));
    }
    out.sort();
    Ok(out)
}

fn sync_dir(dir: &Path) -> Result<(), WalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("sync directory", dir))
}

/// Creates `dir` and its missing parents, fsyncing each parent after
/// creating an entry in it.
fn create_dir_durably(dir: &Path) -> Result<(), WalError> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        if !parent.as_os_str().is_empty() {
            create_dir_durably(parent)?;
        }
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(io_err("create directory", dir)(e)),
    }
    match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent),
        _ => Ok(()),
    }
}

/// The CRC of a frame's body, in parts.
fn body_crc(parts: &[&[u8]]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    for p in parts {
        h.update(p);
    }
    h.finalize()
}

/// The frame header of a body of `len` bytes with checksum `crc`.
fn frame_header(len: u32, crc: u32) -> [u8; FRAME_HEADER] {
    let mut h = [0u8; FRAME_HEADER];
    h[..4].copy_from_slice(&len.to_le_bytes());
    h[4..8].copy_from_slice(&crc32fast::hash(&len.to_le_bytes()).to_le_bytes());
    h[8..12].copy_from_slice(&crc.to_le_bytes());
    h
}

/// The body length and body checksum of a frame header, or `None` when
/// the length's checksum fails.
fn parse_header(h: &[u8]) -> Option<(u32, u32)> {
    let len = u32::from_le_bytes(h[..4].try_into().expect("4 bytes"));
    let len_crc = u32::from_le_bytes(h[4..8].try_into().expect("4 bytes"));
    let crc = u32::from_le_bytes(h[8..12].try_into().expect("4 bytes"));
    (crc32fast::hash(&h[..4]) == len_crc).then_some((len, crc))
}

/// What scanning one segment found.
struct Scan {
    /// The log identity in its header (none if the header was cut short).
    id: Option<u64>,
    entries: Vec<Entry>,
    /// Where a torn frame at the end starts (the segment is cut there).
    torn: Option<(u64, String)>,
}

/// Reads and checks the frames of segment `path`, whose records start at
/// `first` (its name).
fn scan_segment(path: &Path, first: u64) -> Result<Scan, WalError> {
    let bytes = fs::read(path).map_err(io_err("read", path))?;
    let corrupt = |offset: u64, reason: String| WalError::Corrupt {
        path: path.to_path_buf(),
        offset,
        reason,
    };
    let magic = bytes.len().min(SEGMENT_MAGIC.len());
    if bytes[..magic] != SEGMENT_MAGIC[..magic] {
        return Err(corrupt(
            0,
            "not a write-ahead log segment (bad magic)".into(),
        ));
    }
    if bytes.len() < SEGMENT_HEADER {
        return Ok(Scan {
            id: None,
            entries: Vec::new(),
            torn: Some((0, "the segment header was cut short".into())),
        });
    }
    let id = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
    let mut entries = Vec::new();
    let mut next = first;
    let mut pos = SEGMENT_HEADER;
    // A frame that runs to (or past) the end of the file is a torn append;
    // anything bad with data after it is corruption.
    let mut torn = None;
    while pos < bytes.len() {
        let rest = bytes.len() - pos;
        if rest < FRAME_HEADER {
            torn = Some((
                pos as u64,
                format!("{rest} bytes, less than a frame header"),
            ));
            break;
        }
        let Some((len, crc)) = parse_header(&bytes[pos..pos + FRAME_HEADER]) else {
            if bytes[pos..].iter().all(|&b| b == 0) {
                torn = Some((pos as u64, "zeros to the end of the file".into()));
                break;
            }
            return Err(corrupt(
                pos as u64,
                "the frame's length fails its checksum".into(),
            ));
        };
        let body_start = pos + FRAME_HEADER;
        let frame_end = body_start as u64 + u64::from(len);
        if frame_end > bytes.len() as u64 {
            torn = Some((
                pos as u64,
                format!(
                    "the frame announces {len} bytes, {} remain",
                    rest - FRAME_HEADER
                ),
            ));
            break;
        }
        let frame_end = frame_end as usize;
        let body = &bytes[body_start..frame_end];
        let bad = if (len as usize) < ENTRY_HEADER {
            Some(format!(
                "a frame of {len} bytes is shorter than a block header"
            ))
        } else if body_crc(&[body]) != crc {
            Some("checksum mismatch".to_string())
        } else {
            None
        };
        if let Some(reason) = bad {
            if frame_end == bytes.len() {
                torn = Some((pos as u64, reason));
                break;
            }
            return Err(corrupt(pos as u64, format!("{reason}, and data follows")));
        }
        let block_first = u64::from_le_bytes(body[..8].try_into().expect("8 bytes"));
        let records = u32::from_le_bytes(body[8..12].try_into().expect("4 bytes"));
        if block_first != next {
            return Err(corrupt(
                pos as u64,
                format!("the block starts at record {block_first}, expected {next}"),
            ));
        }
        entries.push(Entry {
            first: block_first,
            records,
            segment: first,
            offset: pos as u64,
            len,
        });
        next += u64::from(records);
        pos = frame_end;
    }
    Ok(Scan {
        id: Some(id),
        entries,
        torn,
    })
}

/// A segment's header: the magic and the log's identity.
fn segment_header(id: u64) -> [u8; SEGMENT_HEADER] {
    let mut h = [0u8; SEGMENT_HEADER];
    h[..8].copy_from_slice(SEGMENT_MAGIC);
    h[8..].copy_from_slice(&id.to_le_bytes());
    h
}

impl WriteAheadLog {
    /// Opens the log `id` in `dir` (created if missing). With `fresh`,
    /// segments already there (left by a run that is not being recovered)
    /// are deleted; otherwise they are read and checked (a segment of
    /// another log is [`WalError::Foreign`]), a torn frame at the end of a
    /// segment is cut off, and appends go on after the last record, in a
    /// new segment.
    pub(crate) fn open(
        dir: &Path,
        config: WalConfig,
        id: u64,
        fresh: bool,
    ) -> Result<Self, WalError> {
        create_dir_durably(dir)?;
        let files = segment_files(dir)?;
        let mut segments = VecDeque::new();
        let mut entries: VecDeque<Entry> = VecDeque::new();
        let mut next = 0;
        if fresh {
            for (_, path) in &files {
                fs::remove_file(path).map_err(io_err("delete", path))?;
            }
            if !files.is_empty() {
                tracing::warn!(dir = %dir.display(), segments = files.len(), "write-ahead log of an earlier run deleted: this run is not recovered from a checkpoint");
                sync_dir(dir)?;
            }
        } else {
            // The end of the segment before, and its torn tail if any.
            let mut before: Option<(u64, Option<(&PathBuf, u64, String)>)> = None;
            let mut torn_tails = Vec::new();
            for (first, path) in &files {
                let scan = scan_segment(path, *first)?;
                if let Some(found) = scan.id.filter(|&found| found != id) {
                    return Err(WalError::Foreign {
                        path: path.clone(),
                        found,
                        expected: id,
                    });
                }
                if let Some((end, torn)) = before.take() {
                    if *first != end {
                        // A torn tail is an interrupted append only if the
                        // log goes on after it where it ended.
                        return Err(match torn {
                            Some((prev, offset, reason)) => WalError::Corrupt {
                                path: prev.clone(),
                                offset,
                                reason: format!("{reason} in the last frame, but the next segment starts at record {first}, not {end}: records are missing"),
                            },
                            None => WalError::Corrupt {
                                path: path.clone(),
                                offset: 0,
                                reason: format!("the segment starts at record {first}, the one before ends at record {end}"),
                            },
                        });
                    }
                }
                let end = scan.entries.last().map_or(*first, Entry::end);
                if let Some((offset, reason)) = &scan.torn {
                    torn_tails.push((path, *offset, reason.clone()));
                }
                before = Some((end, scan.torn.map(|(o, r)| (path, o, r))));
                next = end;
                segments.push_back(*first);
                entries.extend(scan.entries);
            }
            for (path, offset, reason) in torn_tails {
                tracing::warn!(segment = %path.display(), offset, %reason, "torn write at the end of a write-ahead log segment (a crash while appending): cut off");
                let f = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(io_err("open", path))?;
                let keep = offset.max(SEGMENT_HEADER as u64);
                f.set_len(keep).map_err(io_err("truncate", path))?;
                if offset < SEGMENT_HEADER as u64 {
                    (&f).seek(SeekFrom::Start(0))
                        .and_then(|_| (&f).write_all(&segment_header(id)))
                        .map_err(io_err("write", path))?;
                }
                f.sync_all().map_err(io_err("sync", path))?;
            }
            // A segment without blocks at the end (its header only) is
            // deleted: appends start a new one named for the same record.
            while let Some(&last) = segments.back() {
                if entries.back().is_some_and(|e| e.segment == last) {
                    break;
                }
                let path = segment_path(dir, last);
                fs::remove_file(&path).map_err(io_err("delete", &path))?;
                sync_dir(dir)?;
                segments.pop_back();
            }
        }
        Ok(WriteAheadLog {
            dir: dir.to_path_buf(),
            config,
            state: Mutex::new(State {
                id,
                segments,
                entries,
                next,
                current: None,
            }),
        })
    }

    /// The log's directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The number the next record appended gets: every record before it
    /// is in the log (or was cleaned).
    pub(crate) fn end(&self) -> u64 {
        self.state.lock().unwrap().next
    }

    /// The first record still in the log.
    pub(crate) fn start(&self) -> u64 {
        let s = self.state.lock().unwrap();
        s.entries.front().map_or(s.next, |e| e.first)
    }

    /// How many segment files the log has.
    pub(crate) fn segments(&self) -> usize {
        self.state.lock().unwrap().segments.len()
    }

    /// Starts a new segment of log `id` for the records from `first` (a
    /// file left by a failed attempt is removed).
    fn open_segment(&self, id: u64, first: u64) -> Result<Current, WalError> {
        let path = segment_path(&self.dir, first);
        let created = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .map_err(io_err("create", &path))?;
            file.write_all(&segment_header(id))
                .map_err(io_err("write", &path))?;
            file.sync_all().map_err(io_err("sync", &path))?;
            sync_dir(&self.dir)?;
            Ok(file)
        })();
        let file = match created {
            Ok(f) => f,
            Err(e) => {
                if !matches!(&e, WalError::Io { what: "create", .. }) {
                    let _ = fs::remove_file(&path);
                }
                return Err(e);
            }
        };
        Ok(Current {
            file,
            first,
            len: SEGMENT_HEADER as u64,
            opened: Instant::now(),
            used: false,
        })
    }

    /// Appends a block of `records` records encoded as `payload`, and
    /// fsyncs it; returns the number of its first record. On an error
    /// nothing is appended (a partly written frame is cut off again, or the
    /// next append starts a new segment).
    pub(crate) fn append(&self, records: u64, payload: &[u8]) -> Result<u64, WalError> {
        let records = u32::try_from(records).map_err(|_| WalError::Io {
            what: "append a block of more than 4 G records to",
            path: self.dir.clone(),
            source: std::io::Error::other("block too large"),
        })?;
        let len = u32::try_from(ENTRY_HEADER + payload.len()).map_err(|_| WalError::Io {
            what: "append a block of 4 GiB or more to",
            path: self.dir.clone(),
            source: std::io::Error::other("block too large"),
        })?;
        let mut s = self.state.lock().unwrap();
        let first = s.next;
        let roll = match &s.current {
            None => true,
            Some(c) => {
                c.used
                    && (c.len >= self.config.max_segment_bytes
                        || c.opened.elapsed() >= self.config.rolling_interval)
            }
        };
        if roll {
            let current = self.open_segment(s.id, first)?;
            s.segments.push_back(first);
            s.current = Some(current);
        }
        let mut head = [0u8; FRAME_HEADER + ENTRY_HEADER];
        head[FRAME_HEADER..FRAME_HEADER + 8].copy_from_slice(&first.to_le_bytes());
        head[FRAME_HEADER + 8..].copy_from_slice(&records.to_le_bytes());
        let crc = body_crc(&[&head[FRAME_HEADER..], payload]);
        head[..FRAME_HEADER].copy_from_slice(&frame_header(len, crc));
        let c = s.current.as_mut().expect("a segment was opened");
        let path = segment_path(&self.dir, c.first);
        let written = c
            .file
            .write_all(&head)
            .and_then(|()| c.file.write_all(payload))
            .and_then(|()| c.file.sync_data());
        if let Err(e) = written {
            // Cut the partial frame off; if that fails too, never append
            // to this segment again.
            let old = c.len;
            let undone = c
                .file
                .set_len(old)
                .and_then(|()| c.file.seek(SeekFrom::Start(old)).map(|_| ()))
                .and_then(|()| c.file.sync_data());
            if undone.is_err() {
                s.current = None;
            }
            return Err(io_err("append to", &path)(e));
        }
        let offset = c.len;
        c.len += (FRAME_HEADER as u64) + u64::from(len);
        c.used = true;
        let segment = c.first;
        s.entries.push_back(Entry {
            first,
            records,
            segment,
            offset,
            len,
        });
        s.next = first + u64::from(records);
        Ok(first)
    }

    /// The blocks holding records `from..until`, read back and checked (the
    /// first and last may hold records outside the range).
    pub(crate) fn read(&self, from: u64, until: u64) -> Result<Vec<StoredBlock>, WalError> {
        if from >= until {
            return Ok(Vec::new());
        }
        let wanted: Vec<Entry> = {
            let s = self.state.lock().unwrap();
            let i = s.entries.partition_point(|e| e.end() <= from);
            s.entries
                .iter()
                .skip(i)
                .take_while(|e| e.first < until)
                .cloned()
                .collect()
        };
        let missing = |reason: String| WalError::Missing {
            dir: self.dir.clone(),
            from,
            until,
            reason,
        };
        match (wanted.first(), wanted.last()) {
            (Some(a), Some(b)) if a.first <= from && b.end() >= until => {}
            _ => {
                return Err(missing(format!(
                    "it holds records {}..{}",
                    self.start(),
                    self.end()
                )))
            }
        }
        let mut out = Vec::with_capacity(wanted.len());
        let mut open: Option<(u64, File)> = None;
        for e in wanted {
            let path = segment_path(&self.dir, e.segment);
            if open.as_ref().is_none_or(|(seg, _)| *seg != e.segment) {
                let f = File::open(&path).map_err(io_err("open", &path))?;
                open = Some((e.segment, f));
            }
            let (_, f) = open.as_mut().expect("opened above");
            let mut frame = vec![0u8; FRAME_HEADER + e.len as usize];
            f.seek(SeekFrom::Start(e.offset))
                .and_then(|_| f.read_exact(&mut frame))
                .map_err(io_err("read", &path))?;
            let header = parse_header(&frame[..FRAME_HEADER]);
            let body = &frame[FRAME_HEADER..];
            let first = u64::from_le_bytes(body[..8].try_into().expect("8 bytes"));
            let records = u32::from_le_bytes(body[8..12].try_into().expect("4 bytes"));
            if header.is_none_or(|(len, crc)| len != e.len || body_crc(&[body]) != crc) {
                return Err(WalError::Corrupt {
                    path,
                    offset: e.offset,
                    reason: "checksum mismatch on reading the block back".into(),
                });
            }
            if first != e.first || records != e.records {
                return Err(WalError::Corrupt {
                    path,
                    offset: e.offset,
                    reason: format!(
                        "the block holds records {first}.., {records} of them; expected {}.., {}",
                        e.first, e.records
                    ),
                });
            }
            frame.drain(..FRAME_HEADER + ENTRY_HEADER);
            out.push(StoredBlock {
                first,
                records,
                payload: frame,
                path,
                offset: e.offset,
            });
        }
        Ok(out)
    }

    /// Deletes the segments whose records are all before record `before`
    /// (never the newest segment); returns how many were deleted.
    pub(crate) fn clean(&self, before: u64) -> Result<usize, WalError> {
        let mut s = self.state.lock().unwrap();
        let mut deleted = 0;
        while s.segments.len() > 1 && s.segments[1] <= before {
            let first = s.segments.pop_front().expect("two segments");
            let path = segment_path(&self.dir, first);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    s.segments.push_front(first);
                    return Err(io_err("delete", &path)(e));
                }
            }
            let next_first = s.segments[0];
            while s.entries.front().is_some_and(|e| e.first < next_first) {
                s.entries.pop_front();
            }
            deleted += 1;
        }
        drop(s);
        if deleted > 0 {
            sync_dir(&self.dir)?;
        }
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The log identity of the tests.
    const ID: u64 = 0x5eed;

    fn lines(range: std::ops::Range<u32>) -> Vec<String> {
        range.map(|i| format!("line {i}")).collect()
    }

    fn append_lines(log: &WriteAheadLog, block: &[String]) -> u64 {
        let mut payload = Vec::new();
        LinesCodec.encode(&block.to_vec(), &mut payload);
        log.append(block.len() as u64, &payload).unwrap()
    }

    fn read_lines(log: &WriteAheadLog, from: u64, until: u64) -> Vec<String> {
        let mut out = Vec::new();
        for b in log.read(from, until).unwrap() {
            let block: Vec<String> = LinesCodec.decode(&b.payload).unwrap();
            assert_eq!(block.len(), b.records as usize);
            for (i, line) in block.into_iter().enumerate() {
                let n = b.first + i as u64;
                if (from..until).contains(&n) {
                    out.push(line);
                }
            }
        }
        out
    }

    fn small_segments() -> WalConfig {
        WalConfig {
            max_segment_bytes: 1,
            rolling_interval: Duration::from_secs(3600),
        }
    }

    #[test]
    fn blocks_are_numbered_by_record_and_read_back_across_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let log = WriteAheadLog::open(dir.path(), WalConfig::default(), ID, true).unwrap();
        assert_eq!(append_lines(&log, &lines(0..3)), 0);
        assert_eq!(append_lines(&log, &lines(3..10)), 3);
        assert_eq!(log.end(), 10);
        assert_eq!(read_lines(&log, 2, 5), lines(2..5));
        drop(log);
        let log = WriteAheadLog::open(dir.path(), WalConfig::default(), ID, false).unwrap();
        assert_eq!(log.end(), 10);
        assert_eq!(read_lines(&log, 0, 10), lines(0..10));
        // Appends go on in a new segment.
        assert_eq!(append_lines(&log, &lines(10..12)), 10);
        assert_eq!(log.segments(), 2);
        assert_eq!(read_lines(&log, 9, 12), lines(9..12));
        let err = log.read(5, 13).err().expect("past the end");
        assert!(matches!(err, WalError::Missing { .. }), "{err}");
    }

    #[test]
    fn segments_roll_and_are_cleaned_up_to_a_record() {
        let dir = tempfile::tempdir().unwrap();
        let log = WriteAheadLog::open(dir.path(), small_segments(), ID, true).unwrap();
        for k in 0..5u32 {
            append_lines(&log, &lines(k * 10..k * 10 + 10));
        }
        assert_eq!(log.segments(), 5, "one block per segment");
        // Records before 25: the segments of 0..10 and 10..20 go (20..30
        // holds record 25).
        assert_eq!(log.clean(25).unwrap(), 2);
        let names: Vec<u64> = segment_files(dir.path())
            .unwrap()
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(names, vec![20, 30, 40]);
        assert_eq!(log.start(), 20);
        assert!(log.read(15, 25).is_err(), "cleaned records are gone");
        assert_eq!(read_lines(&log, 25, 50), lines(25..50));
        // The newest segment always stays.
        assert_eq!(log.clean(1000).unwrap(), 2);
        assert_eq!(log.segments(), 1);
        drop(log);
        let log = WriteAheadLog::open(dir.path(), small_segments(), ID, false).unwrap();
        assert_eq!((log.start(), log.end()), (40, 50));
    }

    /// The path of the only segment of `dir`.
    fn only_segment(dir: &Path) -> PathBuf {
        let files = segment_files(dir).unwrap();
        assert_eq!(files.len(), 1);
        files[0].1.clone()
    }

    #[test]
    fn a_torn_tail_is_cut_off_at_every_length() {
        let dir = tempfile::tempdir().unwrap();
        let log = WriteAheadLog::open(dir.path(), WalConfig::default(), ID, true).unwrap();
        append_lines(&log, &lines(0..4));
        drop(log);
        let path = only_segment(dir.path());
        let intact = fs::read(&path).unwrap();
        // A second block, cut at every length (a crash while appending).
        let log = WriteAheadLog::open(dir.path(), WalConfig::default(), ID, false).unwrap();
        append_lines(&log, &lines(4..6));
        drop(log);
        let second = segment_files(dir.path()).unwrap()[1].1.clone();
        let whole = fs::read(&second).unwrap();
        fs::remove_file(&second).unwrap();
        for cut in 0..whole.len() {
            fs::write(&second, &whole[..cut]).unwrap();
            let log = WriteAheadLog::open(dir.path(), WalConfig::default(), ID, false)
                .unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
            assert_eq!(
                log.end(),
                4,
                "cut at {cut}: the torn block is not in the log"
            );
            assert_eq!(read_lines(&log, 0, 4), lines(0..4));
            // Cut back to its header, the segment held no block: deleted.
            assert!(!second.exists(), "cut at {cut}");
            // And the log takes appends again.
            assert_eq!(append_lines(&log, &lines(4..5)), 4);
            drop(log);
            fs::remove_file(&second).unwrap();
        }
        assert_eq!(fs::read(&path).unwrap(), intact);
    }

    #[test]
    fn a_bad_frame_with_data_after_it_is_corruption_named_by_file_and_offset() {
        let dir = tempfile::tempdir().unwrap();
        let log = WriteAheadLog::open(dir.path(), WalConfig::default(), ID, true).unwrap();
        append_lines(&log, &lines(0..3));
        append_lines(&log, &lines(3..6));
        drop(log);
        let path = only_segment(dir.path());
        let whole = fs::read(&path).unwrap();
        // Every byte of the first frame flipped in turn.
        let first_frame_end = {
            let h = SEGMENT_HEADER;
            let len = u32::from_le_bytes(whole[h..h + 4].try_into().unwrap()) as usize;
            h + FRAME_HEADER + len
        };
        assert!(first_frame_end < whole.len());
        for i in SEGMENT_HEADER..first_frame_end {
            let mut bad = whole.clone();
            bad[i] ^= 0x40;
            fs::write(&path, &bad).unwrap();
            match WriteAheadLog::open(dir.path(), WalConfig::default(), ID, false) {
                Err(WalError::Corrupt {
                    path: p, offset, ..
                }) => {
                    assert_eq!(p, path);
                    assert_eq!(offset, SEGMENT_HEADER as u64, "byte {i}");
                }
                Ok(log) => panic!("byte {i}: opened with end {}", log.end()),
                Err(e) => panic!("byte {i}: {e}"),
            }
        }
        // A flipped byte in the last frame is a torn tail: cut off, and the
        // records before it stay.
        let mut bad = whole.clone();
        let last = whole.len() - 2;
        bad[last] ^= 0x40;
        fs::write(&path, &bad).unwrap();
        let log = WriteAheadLog::open(dir.path(), WalConfig::default(), ID, false).unwrap();
        assert_eq!(log.end(), 3);
        assert_eq!(read_lines(&log, 0, 3), lines(0..3));
        drop(log);
        // Zeros after the last frame (a file system's size update without
        // its data, after a crash) are a torn tail too.
        let mut zeros = fs::read(&path).unwrap();
        let intact = zeros.len();
        zeros.extend_from_slice(&[0; 100]);
        fs::write(&path, &zeros).unwrap();
        let log = WriteAheadLog::open(dir.path(), WalConfig::default(), ID, false).unwrap();
        assert_eq!(log.end(), 3);
        assert_eq!(fs::metadata(&path).unwrap().len(), intact as u64);
    }

    #[test]
    fn a_bad_last_frame_is_corruption_when_the_next_segment_goes_on_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let log = WriteAheadLog::open(dir.path(), small_segments(), ID, true).unwrap();
        for k in 0..3u32 {
            append_lines(&log, &lines(k * 10..k * 10 + 10));
        }
        drop(log);
        let files = segment_files(dir.path()).unwrap();
        let middle = files[1].1.clone();
        let mut bytes = fs::read(&middle).unwrap();
        let n = bytes.len();
        bytes[n - 1] ^= 0x01;
        fs::write(&middle, &bytes).unwrap();
        match WriteAheadLog::open(dir.path(), small_segments(), ID, false) {
            Err(WalError::Corrupt {
                path,
                offset,
                reason,
            }) => {
                assert_eq!(path, middle);
                assert_eq!(offset, SEGMENT_HEADER as u64);
                assert!(reason.contains("records are missing"), "{reason}");
            }
            Ok(_) => panic!("opened a log with a damaged block in the middle"),
            Err(e) => panic!("{e}"),
        }
        assert_eq!(fs::read(&middle).unwrap(), bytes, "nothing was cut off");
        // Cut short in the last segment, the same frame is a torn append:
        // cut off, and the log ends before it.
        fs::write(&middle, &bytes[..SEGMENT_HEADER + 1]).unwrap();
        fs::remove_file(&files[2].1).unwrap();
        let log = WriteAheadLog::open(dir.path(), small_segments(), ID, false).unwrap();
        assert_eq!(log.end(), 10);
    }

    #[test]
    fn a_block_changed_after_opening_fails_its_read() {
        let dir = tempfile::tempdir().unwrap();
        let log = WriteAheadLog::open(dir.path(), WalConfig::default(), ID, true).unwrap();
        append_lines(&log, &lines(0..3));
        let path = only_segment(dir.path());
        let mut bytes = fs::read(&path).unwrap();
        let n = bytes.len();
        bytes[n - 3] ^= 1;
        fs::write(&path, &bytes).unwrap();
        let err = log.read(0, 3).err().expect("a changed block");
        assert!(matches!(err, WalError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("checksum"), "{err}");
    }

    #[test]
    fn a_segment_of_another_log_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let log = WriteAheadLog::open(dir.path(), WalConfig::default(), ID, true).unwrap();
        append_lines(&log, &lines(0..3));
        drop(log);
        match WriteAheadLog::open(dir.path(), WalConfig::default(), ID + 1, false) {
            Err(WalError::Foreign {
                found, expected, ..
            }) => assert_eq!((found, expected), (ID, ID + 1)),
            Ok(_) => panic!("opened another run's log"),
            Err(e) => panic!("{e}"),
        }
        // A new run's log deletes it.
        let log = WriteAheadLog::open(dir.path(), WalConfig::default(), ID + 1, true).unwrap();
        assert_eq!(log.end(), 0);
        append_lines(&log, &lines(0..1));
        drop(log);
        let log = WriteAheadLog::open(dir.path(), WalConfig::default(), ID + 1, false).unwrap();
        assert_eq!(read_lines(&log, 0, 1), lines(0..1));
    }

    #[test]
    fn a_fresh_log_deletes_what_an_earlier_run_left() {
        let dir = tempfile::tempdir().unwrap();
        let log = WriteAheadLog::open(dir.path(), WalConfig::default(), ID, true).unwrap();
        append_lines(&log, &lines(0..3));
        drop(log);
        let log = WriteAheadLog::open(dir.path(), WalConfig::default(), ID, true).unwrap();
        assert_eq!((log.start(), log.end(), log.segments()), (0, 0, 0));
        assert!(segment_files(dir.path()).unwrap().is_empty());
    }

    #[test]
    fn line_blocks_round_trip_through_the_codec() {
        let block = LineBlock::from_lines("a\n\nccc\n".to_string()).unwrap();
        let mut out = Vec::new();
        LinesCodec.encode(&block, &mut out);
        assert_eq!(out, b"a\n\nccc\n");
        let back: LineBlock = LinesCodec.decode(&out).unwrap();
        assert_eq!(back.to_strings(), vec!["a", "", "ccc"]);
        let err = WalCodec::<LineBlock>::decode(&LinesCodec, b"no end").err();
        assert!(err.is_some());
        let empty: Vec<String> = LinesCodec.decode(b"").unwrap();
        assert!(empty.is_empty());
    }
}
