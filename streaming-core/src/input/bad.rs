//! [`BadRecords`]: the tally of input that could not become a record, by
//! kind, kept by decoders, receivers and file streams.

use std::collections::BTreeMap;
use std::fmt::Display;

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
