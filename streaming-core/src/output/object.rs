//! Object files: batches of serde values in a documented binary layout.
//!
//! # Format
//! An object output directory is laid out like a text one (`part-NNNNN`
//! files, one per partition, and `_SUCCESS`). Each part file is:
//!
//! 1. the 8-byte magic [`OBJECT_FILE_MAGIC`], `STRMOBJ1`;
//! 2. then, for each element in partition order, a record: the payload
//!    length as a 4-byte little-endian unsigned integer, then the payload,
//!    the element encoded with [postcard](https://docs.rs/postcard) 1.x
//!    (serde's data model: varint integers, length-prefixed strings and
//!    sequences, fields in declaration order, no field names).
//!
//! A file ends after its last record. The payload is not self-describing,
//! so it must be read back with the same type (or one with the same serde
//! shape), as [`read_object_files`] does.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::SUCCESS_MARKER;
use crate::error::{Result, StreamingError};

/// The first 8 bytes of every object part file.
pub const OBJECT_FILE_MAGIC: &[u8; 8] = b"STRMOBJ1";

fn corrupt(path: &Path, message: impl Into<String>) -> StreamingError {
    StreamingError::InvalidData {
        context: format!("object file {}", path.display()),
        message: message.into(),
    }
}

/// Encodes `part` into `out` in the object file format.
pub(crate) fn write_objects<T: Serialize>(part: &[T], out: &mut dyn Write) -> std::io::Result<()> {
    out.write_all(OBJECT_FILE_MAGIC)?;
    let mut buf = Vec::new();
    for (i, x) in part.iter().enumerate() {
        buf.clear();
        buf = postcard::to_extend(x, buf).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("cannot encode element {i}: {e}"),
            )
        })?;
        let len = u32::try_from(buf.len()).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "element {i} encodes to {} bytes, more than 4 GiB",
                    buf.len()
                ),
            )
        })?;
        out.write_all(&len.to_le_bytes())?;
        out.write_all(&buf)?;
    }
    Ok(())
}

/// Reads the elements of one object part file.
///
/// Fails with [`StreamingError::InvalidData`] (naming the file and the byte
/// offset) on a wrong magic, a truncated record, or a payload that does not
/// decode as `T`.
pub fn read_object_file<T: DeserializeOwned>(path: impl AsRef<Path>) -> Result<Vec<T>> {
    let path = path.as_ref();
    let data = std::fs::read(path)
        .map_err(|e| StreamingError::io(format!("cannot read {}", path.display()), e))?;
    if data.len() < OBJECT_FILE_MAGIC.len() || &data[..OBJECT_FILE_MAGIC.len()] != OBJECT_FILE_MAGIC
    {
        return Err(corrupt(path, "not an object file (bad magic)"));
    }
    let mut pos = OBJECT_FILE_MAGIC.len();
    let mut out = Vec::new();
    while pos < data.len() {
        let Some(len_bytes) = data.get(pos..pos + 4) else {
            return Err(corrupt(
                path,
                format!("truncated record length at byte {pos}"),
            ));
        };
        let len = u32::from_le_bytes(len_bytes.try_into().expect("4 bytes")) as usize;
        let start = pos + 4;
        let Some(payload) = data.get(start..start + len) else {
            return Err(corrupt(
                path,
                format!(
                    "truncated record at byte {pos}: {len} bytes announced, {} left",
                    data.len() - start
                ),
            ));
        };
        let (value, rest) = postcard::take_from_bytes::<T>(payload)
            .map_err(|e| corrupt(path, format!("record at byte {pos} does not decode: {e}")))?;
        if !rest.is_empty() {
            return Err(corrupt(
                path,
                format!(
                    "record at byte {pos} has {} bytes after its value",
                    rest.len()
                ),
            ));
        }
        out.push(value);
        pos = start + len;
    }
    Ok(out)
}

/// The part files of an output directory, in partition order.
fn part_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let list_err = |e| StreamingError::io(format!("cannot list {}", dir.display()), e);
    let mut parts = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(list_err)? {
        let entry = entry.map_err(list_err)?;
        if entry.file_name().to_string_lossy().starts_with("part-") {
            parts.push(entry.path());
        }
    }
    parts.sort();
    Ok(parts)
}

/// Reads back a directory written by
/// [`save_as_object_files`](crate::DStream::save_as_object_files): the elements of
/// every part file, in partition order.
///
/// Fails if the directory has no `_SUCCESS` marker (it is not a complete
/// output) or if a part file is corrupt (see [`read_object_file`]).
pub fn read_object_files<T: DeserializeOwned>(dir: impl AsRef<Path>) -> Result<Vec<T>> {
    let dir = dir.as_ref();
    if !dir.join(SUCCESS_MARKER).is_file() {
        return Err(StreamingError::InvalidData {
            context: format!("object directory {}", dir.display()),
            message: format!("no {SUCCESS_MARKER} marker: not a complete output"),
        });
    }
    let mut out = Vec::new();
    for part in part_files(dir)? {
        out.extend(read_object_file::<T>(&part)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_is_magic_then_length_prefixed_postcard() {
        let mut bytes = Vec::new();
        write_objects(&[(1u8, "a".to_string())], &mut bytes).unwrap();
        // postcard: u8 as one byte, a string as varint length + UTF-8.
        let mut expected = b"STRMOBJ1".to_vec();
        expected.extend_from_slice(&[3, 0, 0, 0, 1, 1, b'a']);
        assert_eq!(bytes, expected);
    }

    #[test]
    fn corrupt_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part-00000");
        let mut bytes = Vec::new();
        write_objects(&["hello".to_string(), "world".to_string()], &mut bytes).unwrap();
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(
            read_object_file::<String>(&path).unwrap(),
            vec!["hello", "world"]
        );

        std::fs::write(&path, &bytes[..bytes.len() - 2]).unwrap();
        let e = read_object_file::<String>(&path).unwrap_err().to_string();
        assert!(e.contains("truncated record at byte 18"), "{e}");

        std::fs::write(&path, b"NOTMAGIC").unwrap();
        let e = read_object_file::<String>(&path).unwrap_err().to_string();
        assert!(e.contains("bad magic"), "{e}");

        std::fs::write(&path, &bytes).unwrap();
        let e = read_object_file::<u64>(&path).unwrap_err().to_string();
        assert!(e.contains("record at byte 8"), "{e}");
    }
}
