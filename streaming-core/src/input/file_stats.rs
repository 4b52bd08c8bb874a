//! The counters of a file stream ([`FileStreamStats`]), shared by the
//! stream (`file.rs`) and the readers of its text splits (`text_split.rs`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::decode::BadRecords;

/// Counters of a file stream. Cheap to clone; clones share the counters.
#[derive(Clone, Default)]
pub struct FileStreamStats {
    pub(crate) inner: Arc<FileStatsInner>,
}

#[derive(Default)]
pub(crate) struct FileStatsInner {
    pub(crate) files_read: AtomicU64,
    pub(crate) records_read: AtomicU64,
    pub(crate) bytes_read: AtomicU64,
    pub(crate) unreadable_files: AtomicU64,
    pub(crate) listing_errors: AtomicU64,
    pub(crate) bad: Mutex<BadRecords>,
}

impl std::fmt::Debug for FileStreamStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStreamStats")
            .field("files_read", &self.files_read())
            .field("records_read", &self.records_read())
            .field("bytes_read", &self.bytes_read())
            .field("unreadable_files", &self.unreadable_files())
            .field("listing_errors", &self.listing_errors())
            .field("bad_records", &self.bad_records())
            .finish()
    }
}

impl FileStreamStats {
    /// Files read successfully.
    pub fn files_read(&self) -> u64 {
        self.inner.files_read.load(Ordering::Relaxed)
    }

    /// Records read.
    pub fn records_read(&self) -> u64 {
        self.inner.records_read.load(Ordering::Relaxed)
    }

    /// Bytes of the files read (their sizes when listed).
    pub fn bytes_read(&self) -> u64 {
        self.inner.bytes_read.load(Ordering::Relaxed)
    }

    /// Files that could not be read or examined (each counted once).
    pub fn unreadable_files(&self) -> u64 {
        self.inner.unreadable_files.load(Ordering::Relaxed)
    }

    /// Batches whose directory listing failed.
    pub fn listing_errors(&self) -> u64 {
        self.inner.listing_errors.load(Ordering::Relaxed)
    }

    /// Bad records skipped inside files.
    pub fn bad_records(&self) -> u64 {
        self.inner.bad.lock().unwrap().total()
    }

    /// Bad records of one kind.
    pub fn bad_records_of(&self, kind: &str) -> u64 {
        self.inner.bad.lock().unwrap().count(kind)
    }
}
