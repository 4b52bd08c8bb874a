//! Turning bytes into records: the [`RecordDecoder`] trait used by socket
//! streams, the built-in [`LineDecoder`] (text lines) and
//! [`LengthPrefixedDecoder`] (binary frames), and [`BadRecords`], the tally of
//! input that could not become a record.
//!
//! Bad input never panics and is never dropped silently: every decoder counts
//! what it skips in a [`BadRecords`], which the receiver adds to its
//! [`ReceiverStats`](crate::ReceiverStats) and reports to the log and to the
//! listeners' `on_receiver_error`.

use std::collections::BTreeMap;
use std::fmt::Display;

use crate::error::Result;

/// Kind of bad record: a line that is not valid UTF-8.
pub const INVALID_UTF8: &str = "invalid UTF-8";
/// Kind of bad record: a line longer than the configured maximum.
pub const LINE_TOO_LONG: &str = "line too long";
/// Kind of bad record: a frame longer than the configured maximum.
pub const FRAME_TOO_LONG: &str = "frame too long";
/// Kind of bad record: a frame whose payload the converter rejected.
pub const UNDECODABLE: &str = "undecodable record";
/// Kind of bad record: the connection or file ended in the middle of a record.
pub const TRUNCATED: &str = "truncated record";

/// A tally of bad input, by kind, with the first example of each kind.
///
/// ```
/// use streaming_core::BadRecords;
/// let mut bad = BadRecords::default();
/// bad.add("invalid UTF-8", "line 3");
/// bad.add("invalid UTF-8", "line 7");
/// assert_eq!(bad.total(), 2);
/// assert_eq!(bad.count("invalid UTF-8"), 2);
/// assert_eq!(bad.summary(), "2 invalid UTF-8 (first: line 3)");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BadRecords {
    kinds: BTreeMap<&'static str, (u64, String)>,
}

impl BadRecords {
    /// Counts one bad record of `kind`; `detail` describes it (kept only for
    /// the first one of its kind).
    pub fn add(&mut self, kind: &'static str, detail: impl Display) {
        self.add_n(kind, 1, detail);
    }

    /// Counts `n` bad records of `kind` at once.
    pub fn add_n(&mut self, kind: &'static str, n: u64, detail: impl Display) {
        if n == 0 {
            return;
        }
        let entry = self
            .kinds
            .entry(kind)
            .or_insert_with(|| (0, detail.to_string()));
        entry.0 += n;
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: BadRecords) {
        for (kind, (n, first)) in other.kinds {
            self.add_n(kind, n, first);
        }
    }

    /// Total number of bad records.
    pub fn total(&self) -> u64 {
        self.kinds.values().map(|(n, _)| n).sum()
    }

    /// Number of bad records of `kind`.
    pub fn count(&self, kind: &str) -> u64 {
        self.kinds.get(kind).map_or(0, |(n, _)| *n)
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    /// `(kind, count)` pairs, by kind.
    pub fn counts(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.kinds.iter().map(|(k, (n, _))| (*k, *n))
    }

    /// A one-line description, e.g. `2 invalid UTF-8 (first: ...); 1 line too long (first: ...)`.
    pub fn summary(&self) -> String {
        self.kinds
            .iter()
            .map(|(kind, (n, first))| format!("{n} {kind} (first: {first})"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Forgets every count.
    pub fn clear(&mut self) {
        self.kinds.clear();
    }
}

/// Reads records from a byte stream (the `converter` of
/// [`socket_stream`](crate::StreamingContext::socket_stream)).
///
/// The receiver reads bytes into a buffer and calls [`decode`](Self::decode)
/// with everything not consumed yet; the decoder appends the complete
/// records it finds to `out` and returns how many bytes it consumed. Bytes
/// left unconsumed (an incomplete record) are handed back, followed by more
/// data, on the next call. When the peer closes the connection,
/// [`decode_eof`](Self::decode_eof) gets what remained.
///
/// Input that cannot become a record is counted in `bad` and skipped. An
/// `Err` means the stream cannot be resynchronized: the connection is closed,
/// the error reported, and the receiver reconnects (with a fresh clone of
/// the decoder, so per-connection state starts over).
///
/// A decoder must bound what it leaves unconsumed (an over-long record
/// should be skipped or rejected), or a peer could make the buffer grow
/// without limit.
pub trait RecordDecoder<T>: Send + 'static {
    /// Decodes the complete records at the start of `buf` into `out`;
    /// returns the number of bytes consumed.
    fn decode(&mut self, buf: &[u8], out: &mut Vec<T>, bad: &mut BadRecords) -> Result<usize>;

    /// The stream ended; `rest` is what was left unconsumed. By default a
    /// non-empty rest is counted as a [`TRUNCATED`] record.
    fn decode_eof(&mut self, rest: &[u8], out: &mut Vec<T>, bad: &mut BadRecords) -> Result<()> {
        let _ = out;
        if !rest.is_empty() {
            bad.add(
                TRUNCATED,
                format_args!("{} bytes at end of stream", rest.len()),
            );
        }
        Ok(())
    }
}

/// Splits a byte stream into text lines: lines end at `\n`, a `\r` before
/// it is dropped, and a last line without `\n` is kept when the stream ends
/// (as `BufferedReader.readLine` does in Spark's socket receiver). Empty
/// lines are records (`""`).
///
/// A line that is not valid UTF-8 is counted as [`INVALID_UTF8`] and dropped
/// (or kept with U+FFFD replacement characters with
/// [`lossy`](Self::lossy), still counted). A line longer than
/// [`max_line_length`](Self::max_line_length) bytes is counted as
/// [`LINE_TOO_LONG`] and skipped up to its end without being buffered.
///
/// ```
/// use streaming_core::{BadRecords, LineDecoder, RecordDecoder};
/// let mut d = LineDecoder::new().max_line_length(8);
/// let (mut out, mut bad) = (Vec::new(), BadRecords::default());
/// let used = d.decode(b"a\r\nbb\n\xff\nlooooooooong\ncc", &mut out, &mut bad).unwrap();
/// assert_eq!(out, vec!["a", "bb"]);
/// assert_eq!(used, 21); // "cc" waits for more data
/// assert_eq!((bad.count("invalid UTF-8"), bad.count("line too long")), (1, 1));
/// ```
#[derive(Clone, Debug)]
pub struct LineDecoder {
    max_line_length: usize,
    lossy: bool,
    /// Inside an over-long line: skip up to the next `\n`.
    discarding: bool,
}

impl Default for LineDecoder {
    fn default() -> Self {
        Self::new()
    }
}

/// The default maximum line length: 1 MiB.
pub const DEFAULT_MAX_LINE_LENGTH: usize = 1 << 20;

impl LineDecoder {
    /// A decoder with the default maximum line length (1 MiB), dropping
    /// invalid UTF-8.
    pub fn new() -> Self {
        LineDecoder {
            max_line_length: DEFAULT_MAX_LINE_LENGTH,
            lossy: false,
            discarding: false,
        }
    }

    /// Sets the longest line accepted, in bytes (without the line end).
    pub fn max_line_length(mut self, bytes: usize) -> Self {
        self.max_line_length = bytes.max(1);
        self
    }

    /// Keeps lines with invalid UTF-8, replacing bad sequences with U+FFFD
    /// (they are still counted as [`INVALID_UTF8`]).
    pub fn lossy(mut self, lossy: bool) -> Self {
        self.lossy = lossy;
        self
    }

    /// One complete line (without its `\n`).
    fn emit(&self, line: &[u8], out: &mut Vec<String>, bad: &mut BadRecords) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > self.max_line_length {
            bad.add(
                LINE_TOO_LONG,
                format_args!("{} bytes > {}", line.len(), self.max_line_length),
            );
            return;
        }
        match std::str::from_utf8(line) {
            Ok(s) => out.push(s.to_owned()),
            Err(e) => {
                bad.add(
                    INVALID_UTF8,
                    format_args!("{e} in a line of {} bytes", line.len()),
                );
                if self.lossy {
                    out.push(String::from_utf8_lossy(line).into_owned());
                }
            }
        }
    }

    /// Decodes the complete lines of `buf` (every `\n`-terminated line).
    /// Returns the number of bytes consumed.
    fn decode_lines(&mut self, buf: &[u8], out: &mut Vec<String>, bad: &mut BadRecords) -> usize {
        let mut pos = 0;
        if self.discarding {
            match memchr::memchr(b'\n', buf) {
                Some(i) => {
                    self.discarding = false;
                    pos = i + 1;
                }
                None => return buf.len(),
            }
        }
        let Some(last_nl) = memchr::memrchr(b'\n', &buf[pos..]).map(|i| pos + i) else {
            return self.check_partial(buf, pos);
        };
        let complete = &buf[pos..=last_nl];
        // Fast path: validate the whole run of complete lines at once; it is
        // then cut at `\n` bytes, which are always character boundaries.
        match std::str::from_utf8(complete) {
            Ok(text) => {
                let mut start = 0;
                for nl in memchr::memchr_iter(b'\n', complete) {
                    let line = &text[start..nl];
                    start = nl + 1;
                    let line = line.strip_suffix('\r').unwrap_or(line);
                    if line.len() > self.max_line_length {
                        bad.add(
                            LINE_TOO_LONG,
                            format_args!("{} bytes > {}", line.len(), self.max_line_length),
                        );
                    } else {
                        out.push(line.to_owned());
                    }
                }
            }
            Err(_) => {
                let mut start = 0;
                for nl in memchr::memchr_iter(b'\n', complete) {
                    self.emit(&complete[start..nl], out, bad);
                    start = nl + 1;
                }
            }
        }
        self.check_partial(buf, last_nl + 1)
    }

    /// `buf[pos..]` is an incomplete line: keep it, unless it is already too
    /// long, in which case it is counted and skipped up to its end.
    fn check_partial(&mut self, buf: &[u8], pos: usize) -> usize {
        // One byte of slack for a `\r` that the line end would drop.
        if buf.len() - pos > self.max_line_length + 1 {
            self.discarding = true;
            return buf.len();
        }
        pos
    }
}

impl RecordDecoder<String> for LineDecoder {
    fn decode(&mut self, buf: &[u8], out: &mut Vec<String>, bad: &mut BadRecords) -> Result<usize> {
        let was_discarding = self.discarding;
        let used = self.decode_lines(buf, out, bad);
        if self.discarding && !was_discarding {
            bad.add(
                LINE_TOO_LONG,
                format_args!(
                    "more than {} bytes without a line end",
                    self.max_line_length
                ),
            );
        }
        Ok(used)
    }

    fn decode_eof(
        &mut self,
        rest: &[u8],
        out: &mut Vec<String>,
        bad: &mut BadRecords,
    ) -> Result<()> {
        if !self.discarding && !rest.is_empty() {
            self.emit(rest, out, bad);
        }
        self.discarding = false;
        Ok(())
    }
}

/// Decodes frames made of a 4-byte big-endian length (network byte order, as
/// Java's `DataOutputStream.writeInt` writes it) followed by that many bytes
/// of payload, each payload turned into a record by a converter function.
///
/// A frame longer than [`max_frame_length`](Self::max_frame_length) is
/// counted as [`FRAME_TOO_LONG`] and skipped without being buffered; a
/// payload the converter rejects is counted as [`UNDECODABLE`]; a frame cut
/// by the end of the stream as [`TRUNCATED`].
///
/// ```
/// use streaming_core::{BadRecords, LengthPrefixedDecoder, RecordDecoder};
/// let mut d = LengthPrefixedDecoder::new(|p: &[u8]| {
///     std::str::from_utf8(p).map(str::to_owned).map_err(|e| e.to_string())
/// });
/// let (mut out, mut bad) = (Vec::new(), BadRecords::default());
/// let used = d.decode(b"\0\0\0\x02hi\0\0\0\x05wor", &mut out, &mut bad).unwrap();
/// assert_eq!((out, used), (vec!["hi".to_string()], 6));
/// ```
pub struct LengthPrefixedDecoder<F> {
    convert: F,
    max_frame_length: usize,
    /// Bytes of an over-long frame still to skip.
    skipping: usize,
}

impl<F: Clone> Clone for LengthPrefixedDecoder<F> {
    fn clone(&self) -> Self {
        LengthPrefixedDecoder {
            convert: self.convert.clone(),
            max_frame_length: self.max_frame_length,
            skipping: self.skipping,
        }
    }
}

/// The default maximum frame length: 16 MiB.
pub const DEFAULT_MAX_FRAME_LENGTH: usize = 16 << 20;

impl<F> LengthPrefixedDecoder<F> {
    /// A decoder turning each payload into a record with `convert`, which
    /// returns an error message for a payload it cannot decode.
    pub fn new<T>(convert: F) -> Self
    where
        F: Fn(&[u8]) -> std::result::Result<T, String>,
    {
        LengthPrefixedDecoder {
            convert,
            max_frame_length: DEFAULT_MAX_FRAME_LENGTH,
            skipping: 0,
        }
    }

    /// Sets the longest payload accepted, in bytes (default 16 MiB).
    pub fn max_frame_length(mut self, bytes: usize) -> Self {
        self.max_frame_length = bytes;
        self
    }
}

impl<T, F> RecordDecoder<T> for LengthPrefixedDecoder<F>
where
    F: Fn(&[u8]) -> std::result::Result<T, String> + Send + 'static,
{
    fn decode(&mut self, buf: &[u8], out: &mut Vec<T>, bad: &mut BadRecords) -> Result<usize> {
        let mut pos = 0;
        if self.skipping > 0 {
            let n = self.skipping.min(buf.len());
            self.skipping -= n;
            pos = n;
        }
        while self.skipping == 0 && buf.len() - pos >= 4 {
            let len_bytes: [u8; 4] = buf[pos..pos + 4].try_into().expect("4 bytes");
            let len = u32::from_be_bytes(len_bytes) as usize;
            if len > self.max_frame_length {
                bad.add(
                    FRAME_TOO_LONG,
                    format_args!("{len} bytes > {}", self.max_frame_length),
                );
                pos += 4;
                let n = len.min(buf.len() - pos);
                pos += n;
                self.skipping = len - n;
                continue;
            }
            if buf.len() - pos - 4 < len {
                break;
            }
            let payload = &buf[pos + 4..pos + 4 + len];
            match (self.convert)(payload) {
                Ok(record) => out.push(record),
                Err(message) => bad.add(UNDECODABLE, message),
            }
            pos += 4 + len;
        }
        Ok(pos)
    }

    fn decode_eof(&mut self, rest: &[u8], _out: &mut Vec<T>, bad: &mut BadRecords) -> Result<()> {
        if self.skipping == 0 && !rest.is_empty() {
            bad.add(
                TRUNCATED,
                format_args!(
                    "{} bytes of an incomplete frame at end of stream",
                    rest.len()
                ),
            );
        }
        self.skipping = 0;
        Ok(())
    }
}

/// Splits `data` (a whole file or stream) into text lines with the
/// [`LineDecoder`] rules, without a length limit.
pub(crate) fn split_lines(data: &[u8], bad: &mut BadRecords) -> Vec<String> {
    let mut decoder = LineDecoder::new().max_line_length(usize::MAX - 1);
    let mut out = Vec::with_capacity(data.len() / 32 + 1);
    let used = decoder.decode_lines(data, &mut out, bad);
    decoder.emit_rest(&data[used..], &mut out, bad);
    out
}

impl LineDecoder {
    fn emit_rest(&mut self, rest: &[u8], out: &mut Vec<String>, bad: &mut BadRecords) {
        if !rest.is_empty() {
            self.emit(rest, out, bad);
        }
    }
}
