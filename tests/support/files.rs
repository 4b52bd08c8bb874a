//! Files in temporary directories: watched directories with a staging
//! area, modification times, listing.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

/// A watched directory and a staging directory on the same file system.
pub struct Dirs {
    _root: tempfile::TempDir,
    pub watched: PathBuf,
    pub staging: PathBuf,
}

impl Dirs {
    pub fn new() -> Dirs {
        let root = tempfile::tempdir().unwrap();
        let watched = root.path().join("in");
        let staging = root.path().join("staging");
        fs::create_dir(&watched).unwrap();
        fs::create_dir(&staging).unwrap();
        Dirs {
            _root: root,
            watched,
            staging,
        }
    }

    /// Writes `name` in staging with modification time `mtime_ms`, then
    /// moves it into the watched directory.
    pub fn put(&self, name: &str, content: impl AsRef<[u8]>, mtime_ms: u64) -> PathBuf {
        let staged = self.staging.join(name);
        fs::write(&staged, content).unwrap();
        set_mtime(&staged, mtime_ms);
        let dest = self.watched.join(name);
        fs::rename(&staged, &dest).unwrap();
        dest
    }
}

/// Sets the modification time of `path` to `ms` after the epoch.
pub fn set_mtime(path: &Path, ms: u64) {
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(UNIX_EPOCH + Duration::from_millis(ms))
        .unwrap();
}

/// The names in `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The `part-*` files of an output directory, in order.
pub fn part_files(dir: &Path) -> Vec<PathBuf> {
    names(dir)
        .into_iter()
        .filter(|n| n.starts_with("part-"))
        .map(|n| dir.join(n))
        .collect()
}
