//! The checkpoint file format: a fixed header (magic, version, checksum,
//! length) and a `postcard`-encoded [`CheckpointData`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::graph::GraphDescription;
use super::CheckpointError;
use crate::conf::StreamingConf;
use crate::graph::stateful::StateSnapshot;
use crate::time::Time;

/// The first eight bytes of every checkpoint file.
pub const MAGIC: &[u8; 8] = b"STRMCKPT";
/// The version of the checkpoint format this build reads and writes.
pub const FORMAT_VERSION: u16 = 2;
/// Magic, version, reserved, CRC-32, payload length.
const HEADER_LEN: usize = 8 + 2 + 2 + 4 + 8;

/// What one checkpoint holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct CheckpointData {
    /// The checkpoint time: every batch before it is folded into the state;
    /// recovery runs batches from this time on.
    pub(crate) time: Time,
    /// The zero time of the context that wrote it.
    pub(crate) zero_time: Time,
    /// Wall-clock time of the snapshot.
    pub(crate) taken_at: Time,
    /// The configuration of the context that wrote it.
    pub(crate) conf: Arc<StreamingConf>,
    /// Batch times generated but not completed (from `time` on).
    pub(crate) pending: Vec<Time>,
    /// The structure of the pipeline.
    pub(crate) graph: Arc<GraphDescription>,
    /// What each input keeps, in input order.
    pub(crate) inputs: Vec<InputData>,
    /// The state of each stateful operator.
    pub(crate) states: Vec<OperatorState>,
    /// `None` for a full checkpoint (state and metadata); for a metadata
    /// checkpoint, the time of the state checkpoint it builds on (`Some(None)`:
    /// none yet, the state is empty at the zero time).
    pub(crate) state_from: Option<Option<Time>>,
}

/// The checkpoint data of one input.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct InputData {
    /// The input's name (`file stream /data`, ...).
    pub(crate) name: String,
    /// Whatever the input returned from `checkpoint_data`.
    pub(crate) data: Option<Vec<u8>>,
}

/// The state of one stateful operator.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct OperatorState {
    /// The operator's stable name.
    pub(crate) name: String,
    /// Its snapshot.
    pub(crate) snapshot: StateSnapshot,
}

/// Encodes a checkpoint into the bytes of a file.
///
/// The payload is encoded in place after the header, into one buffer sized
/// for the operators' states up front (no copy of the payload, no growth of
/// a state-sized buffer by doubling).
pub(crate) fn encode(data: &CheckpointData) -> Result<Vec<u8>, postcard::Error> {
    let states: usize = data.states.iter().map(|s| s.snapshot.bytes.len()).sum();
    let mut out = Vec::with_capacity(HEADER_LEN + states + 64 * 1024);
    out.extend_from_slice(&[0; HEADER_LEN]);
    let mut out = postcard::to_extend(data, out)?;
    let payload = &out[HEADER_LEN..];
    let (crc, len) = (crc32fast::hash(payload), payload.len() as u64);
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(&[0, 0]);
    header.extend_from_slice(&crc.to_le_bytes());
    header.extend_from_slice(&len.to_le_bytes());
    out[..HEADER_LEN].copy_from_slice(&header);
    Ok(out)
}

/// Decodes the bytes of the checkpoint file at `path`, verifying them.
pub(crate) fn decode(path: &Path, bytes: &[u8]) -> Result<CheckpointData, CheckpointError> {
    let corrupt = |reason: String| CheckpointError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    if bytes.len() < HEADER_LEN {
        return Err(corrupt(format!(
            "truncated: {} bytes, shorter than the {HEADER_LEN}-byte header",
            bytes.len()
        )));
    }
    if &bytes[..8] != MAGIC {
        return Err(corrupt("not a checkpoint file (bad magic number)".into()));
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version != FORMAT_VERSION {
        return Err(CheckpointError::UnsupportedVersion {
            path: path.to_path_buf(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let crc = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes"));
    let len = u64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes"));
    let payload = &bytes[HEADER_LEN..];
    if payload.len() as u64 != len {
        return Err(corrupt(format!(
            "truncated or extended: the header announces {len} payload bytes, the file holds {}",
            payload.len()
        )));
    }
    let actual = crc32fast::hash(payload);
    if actual != crc {
        return Err(corrupt(format!(
            "checksum mismatch (stored {crc:08x}, computed {actual:08x})"
        )));
    }
    postcard::from_bytes(payload).map_err(|e| corrupt(format!("cannot decode the payload: {e}")))
}

/// A checkpoint read back from disk (see [`read`](super::read)): what a
/// recovery would restore, for inspection and tooling.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    pub(crate) path: PathBuf,
    pub(crate) data: CheckpointData,
}

impl CheckpointData {
    /// Whether this is a metadata checkpoint (no state of its own).
    pub(crate) fn is_metadata(&self) -> bool {
        self.state_from.is_some()
    }
}

impl Checkpoint {
    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The checkpoint time: the state holds every batch before it, and a
    /// recovery re-runs the batch of this time and every later one.
    pub fn time(&self) -> Time {
        self.data.time
    }

    /// The zero time of the context that wrote it (batch times are the zero
    /// time plus whole batch intervals).
    pub fn zero_time(&self) -> Time {
        self.data.zero_time
    }

    /// The batch interval of the context that wrote it.
    pub fn batch_interval(&self) -> Duration {
        Duration::from_millis(self.data.graph.batch_interval_ms)
    }

    /// The configuration of the context that wrote it.
    pub fn conf(&self) -> &StreamingConf {
        &self.data.conf
    }

    /// The batch times that had been generated but not completed when the
    /// checkpoint was taken (the first is the checkpoint time, if any).
    pub fn pending_times(&self) -> &[Time] {
        &self.data.pending
    }

    /// The fingerprint of the pipeline's structure (a 64-bit FNV-1a hash of
    /// its description); equal fingerprints mean equal structures.
    pub fn fingerprint(&self) -> u64 {
        self.data.graph.fingerprint()
    }

    /// The pipeline's structure, one line per operator, input and output.
    pub fn structure(&self) -> Vec<String> {
        self.data.graph.lines()
    }

    /// The stateful operators, as `(name, operation)`.
    pub fn operators(&self) -> Vec<(&str, &str)> {
        self.data
            .states
            .iter()
            .map(|s| (s.name.as_str(), s.snapshot.operation.as_str()))
            .collect()
    }

    /// The saved state of the stateful operator called `name`.
    pub fn state(&self, name: &str) -> Option<&StateSnapshot> {
        self.data
            .states
            .iter()
            .find(|s| s.name == name)
            .map(|s| &s.snapshot)
    }

    /// The inputs' names, in input order.
    pub fn inputs(&self) -> Vec<&str> {
        self.data.inputs.iter().map(|i| i.name.as_str()).collect()
    }

    /// What input `index` saved (its
    /// [`checkpoint_data`](crate::InputSource::checkpoint_data)), if anything.
    pub fn input_data(&self, index: usize) -> Option<&[u8]> {
        self.data.inputs.get(index)?.data.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::graph::GraphDescription;

    fn sample() -> CheckpointData {
        CheckpointData {
            time: Time::from_millis(5000),
            zero_time: Time::from_millis(0),
            taken_at: Time::from_millis(42),
            conf: Arc::new(StreamingConf::new().batch_interval(Duration::from_secs(1))),
            pending: vec![Time::from_millis(5000), Time::from_millis(6000)],
            graph: Arc::new(GraphDescription {
                batch_interval_ms: 1000,
                ..Default::default()
            }),
            inputs: vec![InputData {
                name: "file stream /in".into(),
                data: Some(vec![1, 2, 3]),
            }],
            states: vec![OperatorState {
                name: "counts".into(),
                snapshot: StateSnapshot {
                    operation: "update_state_by_key".into(),
                    time: Some(Time::from_millis(4000)),
                    bytes: vec![9; 10],
                },
            }],
            state_from: None,
        }
    }

    fn path() -> PathBuf {
        PathBuf::from("/ckpt/checkpoint-5000")
    }

    #[test]
    fn round_trips() {
        let bytes = encode(&sample()).unwrap();
        assert_eq!(&bytes[..8], MAGIC);
        let back = decode(&path(), &bytes).unwrap();
        assert_eq!(back.time, Time::from_millis(5000));
        assert_eq!(back.pending.len(), 2);
        assert_eq!(back.states[0].snapshot.bytes, vec![9; 10]);
        assert_eq!(back.inputs[0].data.as_deref(), Some(&[1u8, 2, 3][..]));
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let bytes = encode(&sample()).unwrap();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            if (10..12).contains(&i) {
                // The reserved bytes carry nothing.
                continue;
            }
            let err = decode(&path(), &bad).expect_err("a flipped bit must not go unnoticed");
            assert!(
                matches!(
                    err,
                    CheckpointError::Corrupt { .. } | CheckpointError::UnsupportedVersion { .. }
                ),
                "byte {i}: {err}"
            );
        }
    }

    #[test]
    fn truncation_is_reported_as_such() {
        let bytes = encode(&sample()).unwrap();
        for len in [0, 7, HEADER_LEN - 1, HEADER_LEN, bytes.len() - 1] {
            let err = decode(&path(), &bytes[..len]).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains("truncated"), "{len}: {msg}");
            assert!(msg.contains("/ckpt/checkpoint-5000"), "{msg}");
        }
    }

    #[test]
    fn another_version_is_refused_by_name() {
        let mut bytes = encode(&sample()).unwrap();
        bytes[8..10].copy_from_slice(&7u16.to_le_bytes());
        match decode(&path(), &bytes).unwrap_err() {
            CheckpointError::UnsupportedVersion {
                found, supported, ..
            } => {
                assert_eq!(found, 7);
                assert_eq!(supported, FORMAT_VERSION);
            }
            e => panic!("unexpected {e}"),
        }
    }
}
