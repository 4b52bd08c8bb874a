//! [`SharedStr`]: an immutable string that shares the buffer it was cut
//! from, so text can be split into lines and words without allocating one
//! `String` per piece.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Bound, Deref, RangeBounds};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest string kept inline, in the value itself.
const INLINE: usize = 15;

/// An immutable UTF-8 string that shares the buffer it was cut from: a
/// stream element for text that is split into lines, words or fields
/// without allocating for each piece.
///
/// Cloning it and cutting pieces from it ([`split`](Self::split),
/// [`lines`](Self::lines), [`slice`](Self::slice), ...) never copies a
/// long string: a piece longer than 15 bytes is a view of the same buffer
/// (a reference count and a range), and a piece of up to 15 bytes (most
/// words) is copied into the value itself, which costs less than counting
/// a reference and keeps no buffer alive. So a word count over `SharedStr`
/// lines allocates nothing per word:
///
/// ```
/// use streaming_core::SharedStr;
/// let block = SharedStr::from("to be or\nnot to be".to_string());
/// let words: Vec<SharedStr> = block.lines().flat_map(|l| l.split(' ')).collect();
/// assert_eq!(words, ["to", "be", "or", "not", "to", "be"]);
/// ```
///
/// It dereferences to `str` (every `str` method works on it), and hashes,
/// compares, orders, prints and serializes as its `str` does, so a
/// `SharedStr` key and a `String` key of the same text behave alike (and
/// a table of `SharedStr` keys can be searched with a `&str`). A piece
/// keeps its whole buffer alive while it is a view of it: a
/// [`to_string`](ToString::to_string) or [`compact`](Self::compact) copy
/// lets the buffer go.
///
/// Layout: 24 bytes, three aligned words. Inline, `buf` is `None` and
/// `words` holds the bytes (unused ones zero) with the length in its last
/// byte; shared, `buf` is the buffer and `words` the start and the length
/// of the range. (An enum with a one-byte tag made the compiler copy the
/// rest with overlapping unaligned moves, which stall the CPU's store
/// forwarding when the value is read right after being moved.)
#[derive(Clone)]
pub struct SharedStr {
    buf: Option<Arc<String>>,
    words: [u64; 2],
}

impl SharedStr {
    /// The empty string.
    pub const fn new() -> Self {
        SharedStr {
            buf: None,
            words: [0; 2],
        }
    }

    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.buf {
            None => {
                // SAFETY: `words` is 16 initialized bytes, of which the
                // first `len` (at most 15) were copied from a `str` at
                // character boundaries (see `from_window`).
                unsafe {
                    let bytes = std::slice::from_raw_parts(
                        self.words.as_ptr().cast::<u8>(),
                        self.inline_len(),
                    );
                    std::str::from_utf8_unchecked(bytes)
                }
            }
            Some(buf) => {
                let (start, len) = (self.words[0] as usize, self.words[1] as usize);
                // SAFETY: `start..start + len` was checked to lie on
                // character boundaries of `buf` when the slice was made.
                unsafe { buf.get_unchecked(start..start + len) }
            }
        }
    }

    /// An inline string's length: its 16th byte.
    #[inline]
    fn inline_len(&self) -> usize {
        self.words[1].to_ne_bytes()[7] as usize
    }

    /// `buf[start..start + len]`, sharing `buf`.
    #[inline]
    fn shared(buf: Arc<String>, start: usize, len: usize) -> Self {
        SharedStr {
            buf: Some(buf),
            words: [start as u64, len as u64],
        }
    }

    /// `s` copied inline; `s.len() <= INLINE`.
    #[inline]
    fn inline(s: &str) -> Self {
        debug_assert!(s.len() <= INLINE);
        let mut bytes = [0u8; 16];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        Self::from_window(bytes, s.len())
    }

    /// The first `len` bytes of `window` inline (the rest zeroed, the
    /// length in the last byte).
    #[inline]
    fn from_window(window: [u8; 16], len: usize) -> Self {
        debug_assert!(len <= INLINE);
        let v = (u128::from_le_bytes(window) & ((1u128 << (len * 8)) - 1)) | ((len as u128) << 120);
        let bytes = v.to_le_bytes();
        let word = |i: usize| u64::from_ne_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        SharedStr {
            buf: None,
            words: [word(0), word(8)],
        }
    }

    /// `s[start..end]` copied inline, `end - start <= INLINE`, by a copy of
    /// fixed length when `s` has `INLINE` bytes from `start` (no call to
    /// `memcpy` for a short word).
    #[inline]
    fn inline_at(s: &str, start: usize, end: usize) -> Self {
        match s.as_bytes().get(start..start + 16) {
            Some(window) => Self::from_window(window.try_into().expect("16 bytes"), end - start),
            // SAFETY: boundaries checked by the caller.
            None => Self::inline(unsafe { s.get_unchecked(start..end) }),
        }
    }

    /// The piece `start..end` of this string, which the caller checked to
    /// lie on character boundaries.
    #[inline]
    fn piece(&self, start: usize, end: usize) -> Self {
        let s = self.as_str();
        debug_assert!(s.is_char_boundary(start) && s.is_char_boundary(end) && start <= end);
        if end - start <= INLINE {
            return Self::inline_at(s, start, end);
        }
        let buf = self
            .buf
            .as_ref()
            .expect("an inline string holds no piece this long");
        Self::shared(buf.clone(), self.words[0] as usize + start, end - start)
    }

    /// The bytes `range` of this string, sharing its buffer (see the type's
    /// documentation).
    ///
    /// # Panics
    ///
    /// As `&s[range]` does: when the range is out of bounds or does not
    /// start and end on character boundaries.
    ///
    /// ```
    /// use streaming_core::SharedStr;
    /// let s = SharedStr::from("key=value");
    /// assert_eq!(s.slice(4..), "value");
    /// ```
    pub fn slice(&self, range: impl RangeBounds<usize>) -> Self {
        let start = match range.start_bound() {
            Bound::Included(&i) => i,
            Bound::Excluded(&i) => i + 1,
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&i) => i + 1,
            Bound::Excluded(&i) => i,
            Bound::Unbounded => self.len(),
        };
        // Checks bounds and boundaries, panicking as `str` indexing does.
        let _ = &self.as_str()[start..end];
        self.piece(start, end)
    }

    /// `sub`, a string borrowed from this one (from `self.as_str()` or a
    /// `str` method's result on it), as a `SharedStr` sharing this one's
    /// buffer: any `str` method can cut pieces without copying them.
    ///
    /// # Panics
    ///
    /// When `sub` does not lie within this string (an empty `sub` anywhere
    /// gives the empty string).
    ///
    /// ```
    /// use streaming_core::SharedStr;
    /// let line = SharedStr::from("a, b,c");
    /// let fields: Vec<SharedStr> = line
    ///     .split(',')
    ///     .map(|f| f.slice_ref(f.trim()))
    ///     .collect();
    /// assert_eq!(fields, ["a", "b", "c"]);
    /// ```
    pub fn slice_ref(&self, sub: &str) -> Self {
        if sub.is_empty() {
            return Self::new();
        }
        let base = self.as_str().as_ptr() as usize;
        let at = sub.as_ptr() as usize;
        assert!(
            at >= base && at + sub.len() <= base + self.len(),
            "SharedStr::slice_ref: the string is not part of this one"
        );
        // `sub` is a `str` inside ours, so its ends are character boundaries.
        self.piece(at - base, at - base + sub.len())
    }

    /// The pieces between occurrences of `sep`, as `str::split` cuts them
    /// (empty pieces included), each sharing this string's buffer.
    ///
    /// ```
    /// use streaming_core::SharedStr;
    /// let s = SharedStr::from("a  b");
    /// assert_eq!(s.split(' ').collect::<Vec<_>>(), ["a", "", "b"]);
    /// assert_eq!(SharedStr::from("a--b").split("--").collect::<Vec<_>>(), ["a", "b"]);
    /// ```
    pub fn split<P: Separator>(self, sep: P) -> Split<P> {
        Split {
            src: self,
            pos: 0,
            done: false,
            last_empty: None,
            sep,
        }
    }

    /// The lines, as `str::lines` cuts them (`\n` or `\r\n` ends a line; a
    /// final line end adds no empty line), each sharing this string's
    /// buffer.
    ///
    /// ```
    /// use streaming_core::SharedStr;
    /// let s = SharedStr::from("one\r\ntwo\n\nthree\n");
    /// assert_eq!(s.lines().collect::<Vec<_>>(), ["one", "two", "", "three"]);
    /// ```
    pub fn lines(self) -> Lines {
        Lines { src: self, pos: 0 }
    }

    /// The pieces between runs of whitespace, as `str::split_whitespace`
    /// cuts them, each sharing this string's buffer.
    ///
    /// ```
    /// use streaming_core::SharedStr;
    /// let s = SharedStr::from("  to be\tor ");
    /// assert_eq!(s.split_whitespace().collect::<Vec<_>>(), ["to", "be", "or"]);
    /// ```
    pub fn split_whitespace(self) -> SplitWhitespace {
        SplitWhitespace { src: self, pos: 0 }
    }

    /// The same text with a buffer of its own (or inline), so that it no
    /// longer keeps a larger buffer alive.
    pub fn compact(&self) -> Self {
        match &self.buf {
            Some(buf) if self.len() != buf.len() => SharedStr::from(self.as_str().to_string()),
            _ => self.clone(),
        }
    }

    /// Whether this string is a view of a buffer (rather than inline).
    pub fn is_shared(&self) -> bool {
        self.buf.is_some()
    }
}

impl Default for SharedStr {
    fn default() -> Self {
        Self::new()
    }
}

impl Deref for SharedStr {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for SharedStr {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for SharedStr {
    fn as_ref(&self) -> &[u8] {
        self.as_str().as_bytes()
    }
}

impl Borrow<str> for SharedStr {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<String> for SharedStr {
    /// Takes the string's buffer as is (short strings are copied inline).
    fn from(s: String) -> Self {
        if s.len() <= INLINE {
            return Self::inline(&s);
        }
        let len = s.len();
        Self::shared(Arc::new(s), 0, len)
    }
}

impl From<&str> for SharedStr {
    fn from(s: &str) -> Self {
        if s.len() <= INLINE {
            Self::inline(s)
        } else {
            Self::from(s.to_string())
        }
    }
}

impl From<SharedStr> for String {
    fn from(s: SharedStr) -> Self {
        match s.buf {
            Some(buf) if s.words[0] == 0 && s.words[1] as usize == buf.len() => {
                Arc::try_unwrap(buf).unwrap_or_else(|buf| buf.as_str().to_string())
            }
            _ => s.as_str().to_string(),
        }
    }
}

impl Hash for SharedStr {
    /// As the `str` hashes (so `Borrow<str>` lookups work).
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl PartialEq for SharedStr {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        match (&self.buf, &other.buf) {
            // Unused inline bytes are zero and the length is in the last
            // byte, so equal strings have equal words.
            (None, None) => self.words == other.words,
            // A string of up to `INLINE` bytes is always inline, so an
            // inline string never equals a shared one.
            (None, Some(_)) | (Some(_), None) => false,
            _ => self.as_str() == other.as_str(),
        }
    }
}

impl Eq for SharedStr {}

impl PartialEq<str> for SharedStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for SharedStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for SharedStr {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<SharedStr> for str {
    fn eq(&self, other: &SharedStr) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<SharedStr> for &str {
    fn eq(&self, other: &SharedStr) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<SharedStr> for String {
    fn eq(&self, other: &SharedStr) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialOrd for SharedStr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SharedStr {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Debug for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl Serialize for SharedStr {
    /// As its `str`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SharedStr {
    /// From a string (into a buffer of its own, or inline).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(SharedStr::from)
    }
}

/// What [`SharedStr::split`] splits at: a `char`, a `&str`, or a
/// `FnMut(char) -> bool` (as for `str::split`).
pub trait Separator {
    /// The first match in `s`, as the byte range it covers.
    fn find_in(&mut self, s: &str) -> Option<(usize, usize)>;
}

impl Separator for char {
    #[inline]
    fn find_in(&mut self, s: &str) -> Option<(usize, usize)> {
        if self.is_ascii() {
            // A byte loop: words are short, so this beats `memchr`'s set-up.
            let b = *self as u8;
            return s
                .as_bytes()
                .iter()
                .position(|&x| x == b)
                .map(|i| (i, i + 1));
        }
        s.find(*self).map(|i| (i, i + self.len_utf8()))
    }
}

impl Separator for &str {
    #[inline]
    fn find_in(&mut self, s: &str) -> Option<(usize, usize)> {
        s.find(*self).map(|i| (i, i + self.len()))
    }
}

impl<F: FnMut(char) -> bool> Separator for F {
    #[inline]
    fn find_in(&mut self, s: &str) -> Option<(usize, usize)> {
        s.char_indices()
            .find(|&(_, c)| self(c))
            .map(|(i, c)| (i, i + c.len_utf8()))
    }
}

/// The iterator of [`SharedStr::split`].
#[derive(Clone)]
pub struct Split<P> {
    src: SharedStr,
    pos: usize,
    done: bool,
    /// Where the last empty match was (an empty `&str` separator matches
    /// at every character boundary, each once, as in `str::split`).
    last_empty: Option<usize>,
    sep: P,
}

impl<P: Separator> Split<P> {
    /// The next match at or after `self.pos`, as absolute byte offsets.
    #[inline]
    fn find(&mut self) -> Option<(usize, usize)> {
        let s = self.src.as_str();
        let mut from = self.pos;
        loop {
            // SAFETY: `from` is a character boundary of `s` (a match's end
            // or the start of a character).
            let (a, b) = self.sep.find_in(unsafe { s.get_unchecked(from..) })?;
            let (a, b) = (from + a, from + b);
            if a == b && self.last_empty == Some(a) {
                // This empty match was used: look again one character on.
                from = a + s[a..].chars().next()?.len_utf8();
                continue;
            }
            return Some((a, b));
        }
    }
}

impl<P: Separator> Iterator for Split<P> {
    type Item = SharedStr;

    #[inline]
    fn next(&mut self) -> Option<SharedStr> {
        if self.done {
            return None;
        }
        match self.find() {
            Some((a, b)) => {
                let piece = self.src.piece(self.pos, a);
                if a == b {
                    self.last_empty = Some(a);
                }
                self.pos = b;
                Some(piece)
            }
            None => {
                self.done = true;
                Some(self.src.piece(self.pos, self.src.len()))
            }
        }
    }
}

/// The iterator of [`SharedStr::lines`].
#[derive(Clone)]
pub struct Lines {
    src: SharedStr,
    pos: usize,
}

impl Iterator for Lines {
    type Item = SharedStr;

    fn next(&mut self) -> Option<SharedStr> {
        let s = self.src.as_str();
        if self.pos >= s.len() {
            return None;
        }
        let rest = &s.as_bytes()[self.pos..];
        let (end, next) = match memchr::memchr(b'\n', rest) {
            Some(i) => (self.pos + i, self.pos + i + 1),
            None => (s.len(), s.len()),
        };
        let end = if end > self.pos && s.as_bytes()[end - 1] == b'\r' && next > end {
            end - 1
        } else {
            end
        };
        let line = self.src.piece(self.pos, end);
        self.pos = next;
        Some(line)
    }
}

/// The iterator of [`SharedStr::split_whitespace`].
#[derive(Clone)]
pub struct SplitWhitespace {
    src: SharedStr,
    pos: usize,
}

impl Iterator for SplitWhitespace {
    type Item = SharedStr;

    fn next(&mut self) -> Option<SharedStr> {
        let s = self.src.as_str();
        let rest = &s[self.pos..];
        let start = self.pos + rest.find(|c: char| !c.is_whitespace())?;
        let end = s[start..]
            .find(char::is_whitespace)
            .map_or(s.len(), |i| start + i);
        let word = self.src.piece(start, end);
        self.pos = end;
        Some(word)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_pieces_are_inline_and_long_ones_shared() {
        let long = "x".repeat(40);
        let s = SharedStr::from(format!("ab {long} cd"));
        let pieces: Vec<SharedStr> = s.clone().split(' ').collect();
        assert_eq!(pieces, ["ab", long.as_str(), "cd"]);
        assert!(!pieces[0].is_shared());
        assert!(pieces[1].is_shared());
        assert_eq!(std::mem::size_of::<SharedStr>(), 24);
        assert!(!SharedStr::from("fifteen bytes !").is_shared());
        assert!(SharedStr::from("sixteen bytes ok").is_shared());
    }

    #[test]
    fn hash_is_the_str_hash() {
        use std::hash::BuildHasher;
        let h = rustc_hash::FxBuildHasher;
        let long = "y".repeat(30);
        for t in ["", "a", long.as_str()] {
            assert_eq!(h.hash_one(SharedStr::from(t)), h.hash_one(t));
            assert_eq!(h.hash_one(SharedStr::from(t)), h.hash_one(t.to_string()));
        }
    }

    #[test]
    fn slices_check_boundaries() {
        let s = SharedStr::from("héllo wörld, a longer line of text");
        assert_eq!(s.slice(..1), "h");
        assert!(std::panic::catch_unwind(|| s.slice(..2)).is_err());
        assert!(std::panic::catch_unwind(|| s.slice(5..100)).is_err());
        assert!(std::panic::catch_unwind(|| s.slice_ref("elsewhere")).is_err());
        assert_eq!(s.slice_ref(&s[7..]).as_str(), &s[7..]);
    }

    #[test]
    fn string_round_trip_keeps_the_buffer() {
        let text = "z".repeat(100);
        let ptr = text.as_ptr();
        let back: String = SharedStr::from(text).into();
        assert_eq!(back.as_ptr(), ptr);
    }

    #[test]
    fn serializes_as_str() {
        let s = SharedStr::from("a fairly long string, longer than inline");
        let bytes = postcard::to_allocvec(&s).unwrap();
        assert_eq!(bytes, postcard::to_allocvec(s.as_str()).unwrap());
        let back: SharedStr = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, s);
    }
}
