//! Turning bytes into records: the [`RecordDecoder`] trait used by socket
//! streams, the built-in [`LineDecoder`] (text lines) and
//! [`LengthPrefixedDecoder`] (binary frames). What could not become a record
//! is counted in a [`BadRecords`] (`input/bad.rs`).
//!
//! Bad input never panics and is never dropped silently: every decoder counts
//! what it skips in a [`BadRecords`], which the receiver adds to its
//! [`ReceiverStats`](crate::ReceiverStats) and reports to the log and to the
//! listeners' `on_receiver_error`.

use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::batch::SharedStr;
use crate::error::Result;

pub use super::bad::{
    BadRecords, FRAME_TOO_LONG, INVALID_UTF8, LINE_TOO_LONG, TRUNCATED, UNDECODABLE,
};

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

/// A plain closure is a decoder: `|buf: &[u8], out: &mut Vec<T>| -> usize`
/// appends the complete records at the start of `buf` to `out` and returns
/// how many bytes it consumed (the framing is the closure's, as Spark's
/// `socketStream` converter owns its framing). It cannot report bad records
/// or fail; write a [`RecordDecoder`] for that.
///
/// ```
/// use streaming_core::{BadRecords, RecordDecoder};
/// // Fixed 4-byte big-endian integers.
/// let mut ints = |buf: &[u8], out: &mut Vec<u32>| {
///     let whole = buf.len() / 4 * 4;
///     out.extend(buf[..whole].chunks(4).map(|c| u32::from_be_bytes(c.try_into().unwrap())));
///     whole
/// };
/// let (mut out, mut bad) = (Vec::new(), BadRecords::default());
/// let used = ints.decode(&[0, 0, 0, 7, 0, 0], &mut out, &mut bad).unwrap();
/// assert_eq!((used, out), (4, vec![7]));
/// ```
impl<T, F> RecordDecoder<T> for F
where
    F: FnMut(&[u8], &mut Vec<T>) -> usize + Send + 'static,
{
    fn decode(&mut self, buf: &[u8], out: &mut Vec<T>, _bad: &mut BadRecords) -> Result<usize> {
        Ok(self(buf, out).min(buf.len()))
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
    fn emit<O: LineOut>(&self, line: &[u8], out: &mut O, bad: &mut BadRecords) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > self.max_line_length {
            bad.add(
                LINE_TOO_LONG,
                format_args!("{} bytes > {}", line.len(), self.max_line_length),
            );
            return;
        }
        match std::str::from_utf8(line) {
            Ok(s) => out.line(s),
            Err(e) => {
                bad.add(
                    INVALID_UTF8,
                    format_args!("{e} in a line of {} bytes", line.len()),
                );
                if self.lossy {
                    out.line(&String::from_utf8_lossy(line));
                }
            }
        }
    }

    /// Decodes the complete lines of `buf` (every `\n`-terminated line).
    /// Returns the number of bytes consumed.
    fn decode_lines<O: LineOut>(&mut self, buf: &[u8], out: &mut O, bad: &mut BadRecords) -> usize {
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
                let run = out.begin_run(text);
                let mut start = 0;
                for nl in memchr::memchr_iter(b'\n', complete) {
                    let end = if nl > start && complete[nl - 1] == b'\r' {
                        nl - 1
                    } else {
                        nl
                    };
                    if end - start > self.max_line_length {
                        bad.add(
                            LINE_TOO_LONG,
                            format_args!("{} bytes > {}", end - start, self.max_line_length),
                        );
                    } else {
                        out.range(text, run, start, end);
                    }
                    start = nl + 1;
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

    /// [`RecordDecoder::decode`] into any line output.
    fn decode_into<O: LineOut>(&mut self, buf: &[u8], out: &mut O, bad: &mut BadRecords) -> usize {
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
        used
    }

    /// [`RecordDecoder::decode_eof`] into any line output.
    fn decode_eof_into<O: LineOut>(&mut self, rest: &[u8], out: &mut O, bad: &mut BadRecords) {
        if !self.discarding && !rest.is_empty() {
            self.emit(rest, out, bad);
        }
        self.discarding = false;
    }

    /// The longest line accepted, in bytes.
    pub(crate) fn line_limit(&self) -> usize {
        self.max_line_length
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
        Ok(self.decode_into(buf, out, bad))
    }

    fn decode_eof(
        &mut self,
        rest: &[u8],
        out: &mut Vec<String>,
        bad: &mut BadRecords,
    ) -> Result<()> {
        self.decode_eof_into(rest, out, bad);
        Ok(())
    }
}

/// A [`LineDecoder`] whose lines are [`SharedStr`]s, one buffer per line:
/// the record path of shared text lines, for line limits too large for a
/// [`LineBlock`] (the block path makes no buffer per line). A wrapper
/// rather than a second `RecordDecoder` impl on `LineDecoder`, so that code
/// decoding into a `Vec` of inferred type keeps compiling.
#[derive(Clone)]
pub(crate) struct SharedLineDecoder(pub(crate) LineDecoder);

impl RecordDecoder<SharedStr> for SharedLineDecoder {
    fn decode(
        &mut self,
        buf: &[u8],
        out: &mut Vec<SharedStr>,
        bad: &mut BadRecords,
    ) -> Result<usize> {
        Ok(self.0.decode_into(buf, out, bad))
    }

    fn decode_eof(
        &mut self,
        rest: &[u8],
        out: &mut Vec<SharedStr>,
        bad: &mut BadRecords,
    ) -> Result<()> {
        self.0.decode_eof_into(rest, out, bad);
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
pub(crate) fn split_lines(
    data: &[u8],
    max_line_length: usize,
    bad: &mut BadRecords,
) -> Vec<String> {
    let mut decoder = LineDecoder::new().max_line_length(max_line_length);
    let mut out = Vec::with_capacity(data.len() / 32 + 1);
    let used = decoder.decode_into(data, &mut out, bad);
    decoder.decode_eof_into(&data[used..], &mut out, bad);
    out
}

/// Where [`LineDecoder`] puts the lines it finds.
trait LineOut {
    /// Starts a run of complete lines, all valid UTF-8; returns what
    /// [`range`](Self::range) gets back for the lines of this run.
    fn begin_run(&mut self, run: &str) -> usize;
    /// The line `run[start..end]` of the run started with `token`.
    fn range(&mut self, run: &str, token: usize, start: usize, end: usize);
    /// One line on its own.
    fn line(&mut self, line: &str);
}

impl LineOut for Vec<String> {
    fn begin_run(&mut self, _run: &str) -> usize {
        0
    }
    fn range(&mut self, run: &str, _token: usize, start: usize, end: usize) {
        self.push(run[start..end].to_owned());
    }
    fn line(&mut self, line: &str) {
        self.push(line.to_owned());
    }
}

impl LineOut for Vec<SharedStr> {
    fn begin_run(&mut self, _run: &str) -> usize {
        0
    }
    fn range(&mut self, run: &str, _token: usize, start: usize, end: usize) {
        self.push(SharedStr::from(&run[start..end]));
    }
    fn line(&mut self, line: &str) {
        self.push(SharedStr::from(line));
    }
}

/// The longest line a [`LineBlock`] holds: line offsets within a segment
/// are `u32`, and a segment holds at most one read buffer, which grows to
/// about twice the longest line.
pub(crate) const MAX_BLOCK_LINE_LENGTH: usize = 1 << 30;

/// Text lines received but not yet turned into `String`s: the text as read
/// (in segments, one per read from the socket) and the byte range of every
/// line, found with `memchr` when the text arrived. Lines were already
/// checked (UTF-8, length) and bad ones counted by the [`LineDecoder`] that
/// filled the block; [`to_strings`](Self::to_strings) makes the records when
/// the batch is computed, so the receiver only copies bytes (as Spark's
/// receivers store blocks of bytes).
///
/// A line longer than the limit but shorter than a read stays in its
/// segment's text (unreferenced) until the block is dropped.
#[derive(Debug, Default)]
pub(crate) struct LineBlock {
    segments: Vec<LineSegment>,
    len: usize,
}

#[derive(Debug, Default)]
struct LineSegment {
    text: String,
    /// `(start, end)` byte offsets of each line in `text`.
    lines: Vec<(u32, u32)>,
}

impl LineSegment {
    /// The memory the segment holds, in bytes.
    fn footprint(&self) -> usize {
        self.text.capacity() + self.lines.capacity() * std::mem::size_of::<(u32, u32)>()
    }
}

fn offset(n: usize) -> u32 {
    u32::try_from(n).expect("internal error: a line segment exceeds 4 GiB")
}

impl LineBlock {
    /// The lines, in order.
    pub(crate) fn lines(&self) -> impl Iterator<Item = &str> + '_ {
        self.segments.iter().flat_map(|seg| {
            seg.lines
                .iter()
                .map(|&(s, e)| &seg.text[s as usize..e as usize])
        })
    }

    /// Every line as an owned `String`, in order.
    pub(crate) fn to_strings(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.len);
        out.extend(self.lines().map(str::to_owned));
        out
    }

    /// Appends every line, each followed by `\n`, to `out`: the block as
    /// the receivers' write-ahead log stores it (a line never holds a
    /// `\n`, so [`from_lines`](Self::from_lines) gets the same lines back).
    pub(crate) fn write_lines(&self, out: &mut Vec<u8>) {
        for seg in &self.segments {
            for &(s, e) in &seg.lines {
                out.extend_from_slice(&seg.text.as_bytes()[s as usize..e as usize]);
                out.push(b'\n');
            }
        }
    }

    /// The block of the lines of `text`, each ended by `\n` (what
    /// [`write_lines`](Self::write_lines) wrote); an error if `text` does
    /// not end with one.
    pub(crate) fn from_lines(text: String) -> std::result::Result<LineBlock, String> {
        if !text.is_empty() && !text.ends_with('\n') {
            return Err("the last line has no end".into());
        }
        let mut lines = Vec::new();
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', text.as_bytes()) {
            lines.push((offset(start), offset(end)));
            start = end + 1;
        }
        let len = lines.len();
        Ok(LineBlock {
            segments: vec![LineSegment { text, lines }],
            len,
        })
    }

    /// Every line as a [`SharedStr`], in order, without a copy: each
    /// segment's text becomes a shared buffer and its lines views of it
    /// (lines of up to 15 bytes are copied inline instead). The segments'
    /// memory is not pooled then: it lives as long as its lines.
    pub(crate) fn into_shared(self) -> Vec<SharedStr> {
        let mut out = Vec::with_capacity(self.len);
        for seg in self.segments {
            let text = SharedStr::from(seg.text);
            out.extend(
                seg.lines
                    .iter()
                    .map(|&(s, e)| text.slice(s as usize..e as usize)),
            );
        }
        out
    }

    /// Whether the next lines would go to a segment without any memory
    /// yet (see [`provide_segment`](Self::provide_segment)).
    fn wants_segment(&self) -> bool {
        match self.segments.last() {
            None => true,
            Some(s) => s.text.capacity() == 0 && s.lines.capacity() == 0,
        }
    }

    /// Makes `seg` (empty, with memory to reuse) the segment the next lines
    /// go to, in place of an unused one.
    fn provide_segment(&mut self, seg: LineSegment) {
        if self.wants_segment() {
            self.segments.pop();
            self.segments.push(seg);
        }
    }

    /// Bytes the last segment's text can take without growing.
    fn room(&self) -> usize {
        self.segments
            .last()
            .map_or(0, |s| s.text.capacity() - s.text.len())
    }

    /// Makes `seg` (empty) the segment the next lines go to, after the
    /// others.
    fn start_segment(&mut self, seg: LineSegment) {
        self.segments.push(seg);
    }

    /// The segment lines are added to (a new one after a split or append).
    fn tail(&mut self) -> &mut LineSegment {
        if self.segments.is_empty() {
            self.segments.push(LineSegment::default());
        }
        self.segments.last_mut().expect("a segment was just added")
    }
}

impl LineOut for LineBlock {
    fn begin_run(&mut self, run: &str) -> usize {
        let seg = self.tail();
        let base = seg.text.len();
        seg.text.push_str(run);
        base
    }
    fn range(&mut self, _run: &str, base: usize, start: usize, end: usize) {
        let seg = self.tail();
        seg.lines.push((offset(base + start), offset(base + end)));
        self.len += 1;
    }
    fn line(&mut self, line: &str) {
        let seg = self.tail();
        let base = seg.text.len();
        seg.text.push_str(line);
        seg.lines.push((offset(base), offset(base + line.len())));
        self.len += 1;
    }
}

impl super::receiver::Block for LineBlock {
    fn records(&self) -> usize {
        self.len
    }

    fn split_off(&mut self, n: usize) -> Self {
        if n >= self.len {
            return LineBlock::default();
        }
        // Find the segment holding line `n`.
        let mut before = 0;
        let mut i = 0;
        while before + self.segments[i].lines.len() <= n {
            before += self.segments[i].lines.len();
            i += 1;
        }
        let mut rest: Vec<LineSegment> = self.segments.split_off(i + 1);
        let k = n - before;
        if k == 0 {
            rest.insert(0, self.segments.pop().expect("segment i exists"));
        } else {
            // Split segment `i` at the start of its line `k`, which is a
            // character boundary (right after a `\n` or a whole line).
            let seg = &mut self.segments[i];
            let cut = seg.lines[k].0;
            let lines: Vec<(u32, u32)> = seg.lines[k..]
                .iter()
                .map(|&(s, e)| (s - cut, e - cut))
                .collect();
            let text = seg.text[cut as usize..].to_owned();
            seg.lines.truncate(k);
            seg.text.truncate(cut as usize);
            rest.insert(0, LineSegment { text, lines });
        }
        let rest_len = self.len - n;
        self.len = n;
        LineBlock {
            segments: rest,
            len: rest_len,
        }
    }

    fn append(&mut self, other: Self) {
        self.len += other.len;
        self.segments
            .extend(other.segments.into_iter().filter(|s| !s.lines.is_empty()));
    }

    fn reserve(&mut self, _records: usize) {
        // Segments come with memory from a `TextPool` when the decoder
        // fills them; reserving here would allocate what the pool provides.
    }
}

/// The memory of [`LineBlock`] segments whose lines were made into
/// `String`s, handed back to the receiver so that it fills memory already in
/// use instead of fresh pages (which the kernel must zero). Holds at most
/// [`MAX_POOLED_BYTES`](Self::MAX_POOLED_BYTES); segments grown for long
/// lines are not kept.
#[derive(Clone, Default)]
pub(crate) struct TextPool {
    inner: Arc<Mutex<PoolState>>,
}

#[derive(Default)]
struct PoolState {
    segments: Vec<LineSegment>,
    bytes: usize,
}

impl TextPool {
    /// The most memory kept, in bytes.
    const MAX_POOLED_BYTES: usize = 64 << 20;
    /// The largest segment kept, in bytes.
    const MAX_POOLED_SEGMENT: usize = 2 << 20;

    /// An empty segment, with memory if one is available.
    fn get(&self) -> LineSegment {
        let mut s = self.inner.lock().unwrap();
        match s.segments.pop() {
            Some(seg) => {
                s.bytes -= seg.footprint();
                seg
            }
            None => LineSegment::default(),
        }
    }

    /// Keeps the memory of `segments` for reuse, as far as the limits allow.
    fn put(&self, segments: Vec<LineSegment>) {
        let mut s = self.inner.lock().unwrap();
        for mut seg in segments {
            let size = seg.footprint();
            if size == 0
                || size > Self::MAX_POOLED_SEGMENT
                || s.bytes + size > Self::MAX_POOLED_BYTES
            {
                continue;
            }
            seg.text.clear();
            seg.lines.clear();
            s.bytes += size;
            s.segments.push(seg);
        }
    }

    /// Makes the `String`s of a text batch, one partition per block, in
    /// parallel on the current rayon pool (the context's, when a batch is
    /// computed), and keeps the blocks' buffers for reuse.
    pub(crate) fn decode_blocks(&self, blocks: Vec<LineBlock>) -> Vec<Vec<String>> {
        blocks
            .into_par_iter()
            .map(|block| {
                let lines = block.to_strings();
                self.put(block.segments);
                lines
            })
            .collect()
    }
}

/// A [`LineDecoder`] filling [`LineBlock`]s with buffers from a [`TextPool`].
#[derive(Clone)]
pub(crate) struct PooledLineDecoder {
    pub(crate) decoder: LineDecoder,
    pub(crate) pool: TextPool,
}

impl BlockDecoder<LineBlock> for PooledLineDecoder {
    fn decode(&mut self, buf: &[u8], out: &mut LineBlock, bad: &mut BadRecords) -> Result<usize> {
        if out.wants_segment() {
            out.provide_segment(self.pool.get());
        } else if out.room() < buf.len() {
            // A segment does not grow past the memory it came with (a
            // block gathering several reads for the write-ahead log gets
            // one per read that does not fit): growing would copy its text
            // into fresh pages the kernel must zero, too large to pool.
            out.start_segment(self.pool.get());
        }
        Ok(self.decoder.decode_into(buf, out, bad))
    }
    fn decode_eof(&mut self, rest: &[u8], out: &mut LineBlock, bad: &mut BadRecords) -> Result<()> {
        self.decoder.decode_eof_into(rest, out, bad);
        Ok(())
    }
}

/// Turns bytes into blocks of records for a receiver: the
/// [`RecordDecoder`]s, into `Vec`s of records, and the [`LineDecoder`] into
/// [`LineBlock`]s ([`PooledLineDecoder`]).
pub(crate) trait BlockDecoder<B>: Send {
    /// Decodes the complete records at the start of `buf` into `out`;
    /// returns the number of bytes consumed (see [`RecordDecoder::decode`]).
    fn decode(&mut self, buf: &[u8], out: &mut B, bad: &mut BadRecords) -> Result<usize>;
    /// The stream ended with `rest` unconsumed (see [`RecordDecoder::decode_eof`]).
    fn decode_eof(&mut self, rest: &[u8], out: &mut B, bad: &mut BadRecords) -> Result<()>;
}

impl<T: 'static> BlockDecoder<Vec<T>> for Box<dyn RecordDecoder<T>> {
    fn decode(&mut self, buf: &[u8], out: &mut Vec<T>, bad: &mut BadRecords) -> Result<usize> {
        (**self).decode(buf, out, bad)
    }
    fn decode_eof(&mut self, rest: &[u8], out: &mut Vec<T>, bad: &mut BadRecords) -> Result<()> {
        (**self).decode_eof(rest, out, bad)
    }
}

#[cfg(test)]
mod tests {
    use super::super::receiver::Block;
    use super::*;

    /// Feeds `pieces` to `decoder` as the receiver does (unconsumed bytes
    /// come back with the next piece), then the end of the stream; returns
    /// what each output received, appended into one.
    fn feed<O: LineOut + Default>(
        mut decoder: LineDecoder,
        pieces: &[&[u8]],
        join: impl Fn(&mut O, O),
    ) -> (O, BadRecords) {
        let (mut all, mut bad) = (O::default(), BadRecords::default());
        let mut pending: Vec<u8> = Vec::new();
        for p in pieces {
            pending.extend_from_slice(p);
            let mut out = O::default();
            let used = decoder.decode_into(&pending, &mut out, &mut bad);
            pending.drain(..used);
            join(&mut all, out);
        }
        let mut out = O::default();
        decoder.decode_eof_into(&pending, &mut out, &mut bad);
        join(&mut all, out);
        (all, bad)
    }

    fn as_block(decoder: LineDecoder, pieces: &[&[u8]]) -> (LineBlock, BadRecords) {
        feed(decoder, pieces, |all: &mut LineBlock, b| {
            Block::append(all, b)
        })
    }

    fn as_strings(decoder: LineDecoder, pieces: &[&[u8]]) -> (Vec<String>, BadRecords) {
        feed(decoder, pieces, |all: &mut Vec<String>, v| all.extend(v))
    }

    const PIECES: &[&[u8]] = &[
        b"hel",
        b"lo\r\nwor",
        b"ld\n\n",
        b"x\r",
        b"\nbad \xff line\r\ngood\nwaaaaaaaaaaaaay too long\n",
        b"split \xc3",
        b"\xa9 char\nlast",
    ];

    #[test]
    fn line_blocks_hold_the_lines_a_string_decoder_makes() {
        for lossy in [false, true] {
            let d = LineDecoder::new().max_line_length(16).lossy(lossy);
            let (block, bad) = as_block(d.clone(), PIECES);
            let (strings, bad_strings) = as_strings(d, PIECES);
            assert_eq!(block.to_strings(), strings);
            assert_eq!(block.records(), strings.len());
            assert_eq!(bad, bad_strings, "bad lines counted as they are read");
            assert_eq!((bad.count(INVALID_UTF8), bad.count(LINE_TOO_LONG)), (1, 1));
        }
        let (block, _) = as_block(LineDecoder::new().max_line_length(16), PIECES);
        assert_eq!(
            block.to_strings(),
            vec!["hello", "world", "", "x", "good", "split é char", "last"],
            "a line cut between reads (and inside a character) is whole"
        );
    }

    #[test]
    fn splitting_a_line_block_anywhere_keeps_every_line_once_in_order() {
        let (block, _) = as_block(LineDecoder::new().max_line_length(16), PIECES);
        let all = block.to_strings();
        for n in 1..all.len() {
            let (mut front, _) = as_block(LineDecoder::new().max_line_length(16), PIECES);
            let rest = Block::split_off(&mut front, n);
            assert_eq!(front.records(), n);
            assert_eq!(rest.records(), all.len() - n);
            assert_eq!(front.to_strings(), all[..n], "front of a split at {n}");
            assert_eq!(rest.to_strings(), all[n..], "rest of a split at {n}");
            // The rest can be split again and the parts joined back.
            let mut joined = front;
            Block::append(&mut joined, rest);
            assert_eq!(joined.to_strings(), all);
        }
    }

    #[test]
    fn a_line_block_segment_holds_one_run_of_lines() {
        let mut d = LineDecoder::new();
        let (mut block, mut bad) = (LineBlock::default(), BadRecords::default());
        let used = d.decode_into(b"a\nbb\r\nccc\ndd", &mut block, &mut bad);
        assert_eq!(used, 10, "the incomplete line waits for more data");
        assert_eq!(block.segments.len(), 1);
        assert_eq!(block.segments[0].text, "a\nbb\r\nccc\n");
        assert_eq!(block.segments[0].lines, vec![(0, 1), (2, 4), (6, 9)]);
        assert_eq!(block.lines().collect::<Vec<_>>(), vec!["a", "bb", "ccc"]);
        let rest = Block::split_off(&mut block, 2);
        assert_eq!(rest.segments[0].text, "ccc\n");
        assert_eq!(rest.segments[0].lines, vec![(0, 3)]);
    }

    #[test]
    fn a_block_gathering_reads_starts_a_segment_where_one_would_grow() {
        let mut d = PooledLineDecoder {
            decoder: LineDecoder::new(),
            pool: TextPool::default(),
        };
        let (mut block, mut bad) = (LineBlock::default(), BadRecords::default());
        d.decode(b"one\ntwo\n", &mut block, &mut bad).unwrap();
        let capacity = block.segments[0].text.capacity();
        let long: Vec<u8> = b"three\n".repeat(capacity / 6 + 1);
        d.decode(&long, &mut block, &mut bad).unwrap();
        assert_eq!(block.segments.len(), 2, "a second segment");
        assert_eq!(block.segments[0].text.capacity(), capacity, "never grown");
        let lines = block.to_strings();
        assert_eq!(lines.len(), 2 + capacity / 6 + 1);
        assert_eq!((lines[0].as_str(), lines[1].as_str()), ("one", "two"));
        assert!(lines[2..].iter().all(|l| l == "three"));
        // The log's encoding of a block of several segments is its lines.
        let mut encoded = Vec::new();
        block.write_lines(&mut encoded);
        let back = LineBlock::from_lines(String::from_utf8(encoded).unwrap()).unwrap();
        assert_eq!(back.to_strings(), lines);
    }

    #[test]
    fn decoded_blocks_hand_their_buffers_back_for_reuse() {
        let pool = TextPool::default();
        let mut d = PooledLineDecoder {
            decoder: LineDecoder::new(),
            pool: pool.clone(),
        };
        let mut bad = BadRecords::default();
        let (mut first, mut second) = (LineBlock::default(), LineBlock::default());
        assert_eq!(d.decode(b"a\nb\nc", &mut first, &mut bad).unwrap(), 4);
        d.decode(b"c\n", &mut second, &mut bad).unwrap();
        d.decode_eof(b"", &mut second, &mut bad).unwrap();
        let parts = pool.decode_blocks(vec![first, second]);
        assert_eq!(parts, vec![vec!["a", "b"], vec!["c"]]);
        let (a, b) = (pool.get(), pool.get());
        for seg in [&a, &b] {
            assert!(
                seg.text.is_empty() && seg.text.capacity() >= 2,
                "used, cleared"
            );
            assert!(seg.lines.is_empty() && seg.lines.capacity() >= 1);
        }
        assert_eq!(pool.get().footprint(), 0, "only two were kept");
        // A segment grown for a long line is not kept.
        pool.put(vec![LineSegment {
            text: String::with_capacity(TextPool::MAX_POOLED_SEGMENT + 1),
            lines: Vec::new(),
        }]);
        assert_eq!(pool.get().footprint(), 0);
    }
}
