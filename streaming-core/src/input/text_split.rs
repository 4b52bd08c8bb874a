//! Text files read as streams: a file is cut into byte ranges
//! ([`TextSplit`]s, at most `max_partition_bytes` each, one partition
//! each), and a partition's lines are read from its range a block at a
//! time ([`SplitLines`]) when the partition is consumed. A batch of a
//! text file stream therefore holds no file in memory: a consumer that
//! streams its partitions (a count, a map-side combine, an output writing
//! as it reads) holds one block and one chunk of lines per partition being
//! read, whatever the size of the files.
//!
//! The split rule is Hadoop's `LineRecordReader`'s: a split owns the lines
//! that *start* inside its range. So a split that does not start the file
//! skips up to the first line end at or after its start (that line belongs
//! to the split before), and a split reads past its end up to the line end
//! that closes its last line. Lines keep the [`LineDecoder`] rules: a line
//! longer than the limit is counted and skipped without being buffered,
//! and invalid UTF-8 is counted and skipped.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::decode::{BadRecords, LineDecoder, RecordDecoder};
use super::file_stats::FileStreamStats;
use super::InputContext;
use crate::batch::chunks::Chunks;

/// Bytes read from a file at a time.
pub(crate) const READ_BLOCK: usize = 64 << 10;

/// One partition of a text file: the lines that start in `start..end`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TextSplit {
    pub(crate) path: PathBuf,
    pub(crate) start: u64,
    pub(crate) end: u64,
}

/// Cuts a file of `len` bytes into splits of at most `max_bytes` (one
/// empty split for an empty file, so that every file has a partition).
pub(crate) fn splits_of(path: PathBuf, len: u64, max_bytes: u64) -> Vec<TextSplit> {
    let max_bytes = max_bytes.max(1);
    let n = len.div_ceil(max_bytes).max(1);
    (0..n)
        .map(|i| TextSplit {
            path: path.clone(),
            start: i * max_bytes,
            end: ((i + 1) * max_bytes).min(len),
        })
        .collect()
}

/// Where a split reports what it read: the stream's counters and its
/// listeners.
pub(crate) struct SplitSink {
    pub(crate) stats: FileStreamStats,
    pub(crate) ctx: Option<InputContext>,
}

impl SplitSink {
    fn report(&self, message: String) {
        match &self.ctx {
            Some(ctx) => ctx.report_error(message),
            None => tracing::warn!(%message, "file stream error"),
        }
    }
}

/// The phase of a [`SplitLines`].
enum Phase {
    /// Not opened yet.
    Closed,
    /// Reading.
    Reading(File),
    /// Everything read and reported.
    Done,
}

/// The lines of one [`TextSplit`], read a block at a time.
pub(crate) struct SplitLines {
    split: TextSplit,
    sink: Arc<SplitSink>,
    decoder: LineDecoder,
    phase: Phase,
    /// File offset of the next byte to read.
    pos: u64,
    /// Bytes read but not yet decoded (at most one incomplete line, itself
    /// at most the line limit, plus one block).
    buf: Vec<u8>,
    bad: BadRecords,
}

impl SplitLines {
    pub(crate) fn new(split: TextSplit, max_line_length: usize, sink: Arc<SplitSink>) -> Self {
        SplitLines {
            split,
            sink,
            decoder: LineDecoder::new().max_line_length(max_line_length),
            phase: Phase::Closed,
            pos: 0,
            buf: Vec::new(),
            bad: BadRecords::default(),
        }
    }

    /// Opens the file at the split's first line: for a split that does not
    /// start the file, the byte after the first `\n` at or after
    /// `start - 1`. `None` when the split owns no line.
    fn open(&mut self) -> std::io::Result<Option<File>> {
        let mut file = File::open(&self.split.path)?;
        if self.split.start == 0 {
            self.pos = 0;
            return Ok(Some(file));
        }
        let mut at = self.split.start - 1;
        file.seek(SeekFrom::Start(at))?;
        let mut block = vec![0u8; READ_BLOCK];
        loop {
            if at >= self.split.end {
                return Ok(None);
            }
            let n = read_some(&mut file, &mut block)?;
            if n == 0 {
                return Ok(None);
            }
            if let Some(i) = memchr::memchr(b'\n', &block[..n]) {
                self.pos = at + i as u64 + 1;
                if self.pos >= self.split.end {
                    // The line ending here runs to the split's end: the
                    // next line starts in the next split.
                    return Ok(None);
                }
                file.seek(SeekFrom::Start(self.pos))?;
                return Ok(Some(file));
            }
            at += n as u64;
        }
    }

    /// Reads the next block into the buffer, cut after the line end that
    /// closes the split. Returns whether the split has more to read.
    fn read_block(&mut self, file: &mut File) -> std::io::Result<bool> {
        let (buf, end) = (&mut self.buf, self.split.end);
        let old = buf.len();
        buf.resize(old + READ_BLOCK, 0);
        let n = read_some(file, &mut buf[old..])?;
        buf.truncate(old + n);
        if n == 0 {
            return Ok(false);
        }
        let block_start = self.pos;
        self.pos += n as u64;
        // The split's last line holds byte `end - 1`; it ends at the first
        // `\n` at or after that byte.
        if self.pos >= end {
            let from = old + (end.saturating_sub(1).max(block_start) - block_start) as usize;
            if let Some(i) = memchr::memchr(b'\n', &buf[from..]) {
                buf.truncate(from + i + 1);
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Reports the split's bad records once it is done.
    fn finish(&mut self) {
        self.phase = Phase::Done;
        self.buf = Vec::new();
        if !self.bad.is_empty() {
            let bad = std::mem::take(&mut self.bad);
            self.sink.stats.inner.bad.lock().unwrap().merge(bad.clone());
            self.sink.report(format!(
                "{}: skipped {} bad records: {} (in bytes {}..{})",
                self.split.path.display(),
                bad.total(),
                bad.summary(),
                self.split.start,
                self.split.end,
            ));
        }
    }

    fn fail(&mut self, e: std::io::Error) {
        self.sink
            .stats
            .inner
            .unreadable_files
            .fetch_add(1, Ordering::Relaxed);
        self.sink.report(format!(
            "cannot read {} (bytes {}..{}): {e}; the rest of that range is skipped",
            self.split.path.display(),
            self.split.start,
            self.split.end
        ));
        self.finish();
    }
}

/// `read` that retries on interruption.
fn read_some(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match file.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

impl Chunks<String> for SplitLines {
    fn fill(&mut self, out: &mut Vec<String>) -> bool {
        let before = out.len();
        loop {
            match std::mem::replace(&mut self.phase, Phase::Done) {
                Phase::Done => return out.len() > before,
                Phase::Closed => match self.open() {
                    Ok(Some(file)) => self.phase = Phase::Reading(file),
                    Ok(None) => self.finish(),
                    Err(e) => self.fail(e),
                },
                Phase::Reading(mut file) => {
                    let more = match self.read_block(&mut file) {
                        Ok(more) => more,
                        Err(e) => {
                            self.fail(e);
                            continue;
                        }
                    };
                    let n = out.len();
                    let used = self
                        .decoder
                        .decode(&self.buf, out, &mut self.bad)
                        .expect("decoding lines cannot fail");
                    self.buf.drain(..used);
                    if more {
                        self.phase = Phase::Reading(file);
                    } else {
                        let rest = std::mem::take(&mut self.buf);
                        self.decoder
                            .decode_eof(&rest, out, &mut self.bad)
                            .expect("decoding lines cannot fail");
                        self.finish();
                    }
                    let read = (out.len() - n) as u64;
                    self.sink
                        .stats
                        .inner
                        .records_read
                        .fetch_add(read, Ordering::Relaxed);
                    if out.len() > before {
                        return true;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(
        path: &std::path::Path,
        len: u64,
        max_bytes: u64,
        max_line: usize,
    ) -> (Vec<String>, u64) {
        let stats = FileStreamStats::default();
        let sink = Arc::new(SplitSink {
            stats: stats.clone(),
            ctx: None,
        });
        let mut lines = Vec::new();
        for split in splits_of(path.to_path_buf(), len, max_bytes) {
            let mut s = SplitLines::new(split, max_line, sink.clone());
            let mut chunk = Vec::new();
            while s.fill(&mut chunk) {
                lines.append(&mut chunk);
            }
        }
        (lines, stats.bad_records())
    }

    /// Every split size gives the lines of the whole file, each once, with
    /// the same bad records.
    #[test]
    fn splits_of_any_size_read_every_line_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        let mut text = Vec::new();
        for i in 0..300 {
            match i % 7 {
                0 => text.extend_from_slice(b"\n"),
                1 => text.extend_from_slice(b"bad \xff utf8\n"),
                2 => text.extend_from_slice(&[b'x'; 40]),
                3 => text.extend_from_slice(format!("crlf {i}\r\n").as_bytes()),
                _ => text.extend_from_slice(format!("line number {i}\n").as_bytes()),
            }
        }
        text.extend_from_slice(b"last without end");
        std::fs::write(&path, &text).unwrap();
        let len = text.len() as u64;
        let (whole, bad) = read_all(&path, len, u64::MAX, 32);
        let mut expected = Vec::new();
        let mut expected_bad = BadRecords::default();
        let mut d = LineDecoder::new().max_line_length(32);
        let used = d.decode(&text, &mut expected, &mut expected_bad).unwrap();
        d.decode_eof(&text[used..], &mut expected, &mut expected_bad)
            .unwrap();
        assert_eq!(whole, expected);
        assert_eq!(bad, expected_bad.total());
        assert!(bad > 0);
        for max_bytes in [1, 2, 3, 5, 17, 64, 100, 1000] {
            let (lines, b) = read_all(&path, len, max_bytes, 32);
            assert_eq!(lines, expected, "splits of {max_bytes} bytes");
            assert_eq!(b, bad, "splits of {max_bytes} bytes");
        }
    }

    #[test]
    fn an_empty_file_has_one_empty_split() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty");
        std::fs::write(&path, b"").unwrap();
        assert_eq!(splits_of(path.clone(), 0, 10).len(), 1);
        assert_eq!(read_all(&path, 0, 10, 10).0, Vec::<String>::new());
    }
}
