//! Checkpoint files in a directory: names, atomic writes, listing,
//! retention.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::format::{decode, Checkpoint};
use crate::conf::StreamingConf;
use crate::error::{Result, StreamingError};
use crate::time::Time;

/// Prefix of (full) checkpoint file names: `checkpoint-<time in ms>`.
const PREFIX: &str = "checkpoint-";
/// Prefix of metadata checkpoint file names: `metadata-<time in ms>`.
const METADATA_PREFIX: &str = "metadata-";
/// Prefix of the temporary files checkpoints are written to.
const TEMP_PREFIX: &str = ".checkpoint-";
/// Suffix of the temporary files.
const TEMP_SUFFIX: &str = ".tmp";
/// Suffix given to unreadable checkpoints set aside by
/// [`RecoverOptions::create_on_error`](super::RecoverOptions::create_on_error).
pub(crate) const CORRUPT_SUFFIX: &str = ".corrupt";

/// How many checkpoints are kept by default.
pub const DEFAULT_RETAINED: usize = 3;
/// The setting of [`StreamingConf`] that changes how many checkpoints are
/// kept (a positive integer; default [`DEFAULT_RETAINED`]).
pub const RETAINED_SETTING: &str = "streaming.checkpoint.retained";

/// How many checkpoints `conf` asks to keep.
pub(crate) fn retained(conf: &StreamingConf) -> Result<usize> {
    match conf.get(RETAINED_SETTING) {
        None => Ok(DEFAULT_RETAINED),
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(StreamingError::Config(format!(
                "{RETAINED_SETTING}={v:?}: expected a positive number of checkpoints to keep"
            ))),
        },
    }
}

/// A checkpoint file found in a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointFile {
    /// Its checkpoint time (from its name).
    pub time: Time,
    /// Its path.
    pub path: PathBuf,
}

/// The path of the checkpoint of `time` in `dir` (a metadata checkpoint's
/// when `metadata`).
pub(crate) fn file_path(dir: &Path, time: Time, metadata: bool) -> PathBuf {
    let prefix = if metadata { METADATA_PREFIX } else { PREFIX };
    dir.join(format!("{prefix}{}", time.as_millis()))
}

/// The (full) checkpoint files in `dir`, oldest first (a missing directory
/// has none). Temporary files, set-aside corrupt files and the per-batch
/// metadata checkpoints are not listed.
pub fn list(dir: impl AsRef<Path>) -> Result<Vec<CheckpointFile>> {
    list_prefixed(dir.as_ref(), PREFIX)
}

/// The metadata checkpoints in `dir` (written at every batch, each naming
/// the state checkpoint it builds on), oldest first.
pub fn list_metadata(dir: impl AsRef<Path>) -> Result<Vec<CheckpointFile>> {
    list_prefixed(dir.as_ref(), METADATA_PREFIX)
}

fn list_prefixed(dir: &Path, prefix: &str) -> Result<Vec<CheckpointFile>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(StreamingError::io(
                format!("cannot list checkpoint directory {}", dir.display()),
                e,
            ))
        }
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| {
            StreamingError::io(
                format!("cannot list checkpoint directory {}", dir.display()),
                e,
            )
        })?;
        let name = entry.file_name();
        let Some(ms) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|t| t.parse::<u64>().ok())
        else {
            continue;
        };
        files.push(CheckpointFile {
            time: Time::from_millis(ms),
            path: entry.path(),
        });
    }
    files.sort_by_key(|f| f.time);
    Ok(files)
}

/// Reads and verifies the checkpoint file at `path`: a
/// [`CheckpointError`](super::CheckpointError) (inside
/// [`StreamingError::Checkpoint`]) when it is corrupt or of another format
/// version, an I/O error when it cannot be read.
pub fn read(path: impl AsRef<Path>) -> Result<Checkpoint> {
    let path = path.as_ref();
    let bytes = fs::read(path)
        .map_err(|e| StreamingError::io(format!("cannot read checkpoint {}", path.display()), e))?;
    let data = decode(path, &bytes).map_err(StreamingError::Checkpoint)?;
    Ok(Checkpoint {
        path: path.to_path_buf(),
        data,
    })
}

/// Writes `bytes` as the checkpoint of `time` in `dir`: into a temporary
/// file, fsynced, renamed into place (replacing an older file of the same
/// time), then the directory is fsynced.
pub(crate) fn write_atomic(
    dir: &Path,
    time: Time,
    metadata: bool,
    bytes: &[u8],
) -> std::io::Result<PathBuf> {
    let target = file_path(dir, time, metadata);
    let temp = dir.join(format!(
        "{TEMP_PREFIX}{}.{}{TEMP_SUFFIX}",
        time.as_millis(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = File::create(&temp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&temp, &target)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result.map(|()| target)
}

/// Makes a rename inside `dir` durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Deletes all but the newest `keep` checkpoints of `dir` (full ones, and
/// metadata ones), metadata checkpoints that build on a deleted state
/// checkpoint, and temporary files left by other processes (killed while
/// writing).
pub(crate) fn prune(dir: &Path, keep: usize) -> Result<usize> {
    let full = list(dir)?;
    let oldest_kept = full
        .len()
        .checked_sub(keep.min(full.len()))
        .and_then(|i| full.get(i));
    let metadata = list_metadata(dir)?;
    let mut doomed: Vec<&CheckpointFile> = full[..full.len().saturating_sub(keep)].iter().collect();
    let meta_excess = metadata.len().saturating_sub(keep);
    doomed.extend(metadata.iter().enumerate().filter_map(|(i, f)| {
        let stale = oldest_kept.is_some_and(|o| f.time < o.time);
        (i < meta_excess || stale).then_some(f)
    }));
    let mut removed = 0;
    for f in doomed {
        match fs::remove_file(&f.path) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(StreamingError::io(
                    format!("cannot delete old checkpoint {}", f.path.display()),
                    e,
                ))
            }
        }
    }
    let own = format!(".{}{TEMP_SUFFIX}", std::process::id());
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX) && !name.ends_with(&own)
            {
                tracing::debug!(
                    file = name,
                    "removing a temporary checkpoint file left behind"
                );
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    Ok(removed)
}

/// Renames an unreadable checkpoint so that recovery no longer considers it
/// (kept for inspection).
pub(crate) fn set_aside(path: &Path) -> Result<PathBuf> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(CORRUPT_SUFFIX);
    let to = path.with_file_name(name);
    fs::rename(path, &to).map_err(|e| {
        StreamingError::io(
            format!("cannot set aside the corrupt checkpoint {}", path.display()),
            e,
        )
    })?;
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_and_cleans_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        for ms in [3000u64, 1000, 20000, 4000] {
            write_atomic(dir.path(), Time::from_millis(ms), false, b"x").unwrap();
        }
        fs::write(dir.path().join(".checkpoint-5000.999999999.tmp"), b"half").unwrap();
        fs::write(dir.path().join("checkpoint-7000.corrupt"), b"bad").unwrap();
        fs::write(dir.path().join("notes.txt"), b"").unwrap();
        let times: Vec<u64> = list(dir.path())
            .unwrap()
            .iter()
            .map(|f| f.time.as_millis())
            .collect();
        assert_eq!(times, vec![1000, 3000, 4000, 20000]);
        assert_eq!(prune(dir.path(), 2).unwrap(), 2);
        let times: Vec<u64> = list(dir.path())
            .unwrap()
            .iter()
            .map(|f| f.time.as_millis())
            .collect();
        assert_eq!(times, vec![4000, 20000]);
        assert!(!dir.path().join(".checkpoint-5000.999999999.tmp").exists());
        assert!(dir.path().join("checkpoint-7000.corrupt").exists());
    }

    #[test]
    fn metadata_checkpoints_are_kept_apart_and_pruned_with_their_state() {
        let dir = tempfile::tempdir().unwrap();
        let ms = Time::from_millis;
        for t in [1000u64, 5000, 9000] {
            write_atomic(dir.path(), ms(t), false, b"full").unwrap();
        }
        for t in [2000u64, 3000, 6000, 7000, 9000, 10000] {
            write_atomic(dir.path(), ms(t), true, b"meta").unwrap();
        }
        let times =
            |v: Vec<CheckpointFile>| v.iter().map(|f| f.time.as_millis()).collect::<Vec<_>>();
        assert_eq!(times(list(dir.path()).unwrap()), vec![1000, 5000, 9000]);
        assert_eq!(
            times(list_metadata(dir.path()).unwrap()),
            vec![2000, 3000, 6000, 7000, 9000, 10000]
        );
        // Keep 2: the full ones of 5000 and 9000; metadata beyond the newest
        // two, and any older than the oldest state kept, go.
        prune(dir.path(), 2).unwrap();
        assert_eq!(times(list(dir.path()).unwrap()), vec![5000, 9000]);
        assert_eq!(times(list_metadata(dir.path()).unwrap()), vec![9000, 10000]);
    }

    #[test]
    fn a_missing_directory_has_no_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        assert!(list(dir.path().join("nope")).unwrap().is_empty());
    }

    #[test]
    fn the_retained_setting_is_validated() {
        let conf = StreamingConf::new();
        assert_eq!(retained(&conf).unwrap(), DEFAULT_RETAINED);
        assert_eq!(
            retained(&conf.clone().set(RETAINED_SETTING, "5")).unwrap(),
            5
        );
        let err = retained(&conf.set(RETAINED_SETTING, "0")).unwrap_err();
        assert!(err.to_string().contains(RETAINED_SETTING), "{err}");
    }
}
