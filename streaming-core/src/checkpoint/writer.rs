//! The background checkpoint writer: encodes the captured operator states
//! and the file, writes and prunes off the executor thread, so batches
//! never wait for an encoder or the disk.

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;

use super::format::{encode, CheckpointData, OperatorState};
use super::store;
use super::Failures;
use crate::graph::stateful::CapturedState;

/// A checkpoint handed to the writer: its data, and for a state checkpoint
/// the operators' states as captured on the executor (by name), encoded
/// here.
pub(crate) struct Job {
    pub(crate) data: CheckpointData,
    pub(crate) captured: Vec<(String, CapturedState)>,
}

/// What the writer thread is handed.
enum Msg {
    /// A checkpoint to write.
    Write(Box<Job>),
    /// States captured ahead of a state checkpoint (right after the batch
    /// before it), to encode now, while the executor is idle, so that the
    /// next batch finds its shards unshared.
    Prepare(Vec<CapturedState>),
}

/// A thread writing the checkpoints it is handed, newest wins: when it
/// falls behind, checkpoints superseded by a newer one are skipped.
pub(crate) struct Writer {
    tx: Option<mpsc::Sender<Msg>>,
    handle: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the writer for `dir`, keeping the newest `keep` checkpoints.
    pub(crate) fn start(dir: PathBuf, keep: usize, failures: Failures) -> std::io::Result<Writer> {
        let (tx, rx) = mpsc::channel::<Msg>();
        let handle = std::thread::Builder::new()
            .name("streaming-checkpoint-writer".into())
            .spawn(move || {
                lower_priority();
                while let Ok(first) = rx.recv() {
                    // Write only the newest of what queued meanwhile, but
                    // never drop a state checkpoint for a metadata one
                    // (which builds on it): the newest of each kind, the
                    // state checkpoint first.
                    let (mut full, mut meta) = (None, None);
                    let mut keep_newest = |msg: Msg| match msg {
                        Msg::Prepare(states) => {
                            let started = std::time::Instant::now();
                            for state in &states {
                                state.pre_encode();
                            }
                            tracing::debug!(elapsed = ?started.elapsed(), operators = states.len(), "captured states encoded ahead of their checkpoint");
                        }
                        Msg::Write(job) => {
                            let slot = if job.data.is_metadata() { &mut meta } else { &mut full };
                            if let Some(old) = slot.replace(job) {
                                tracing::debug!(skipped = %old.data.time, "checkpoint superseded before it was written");
                            }
                        }
                    };
                    keep_newest(first);
                    while let Ok(newer) = rx.try_recv() {
                        keep_newest(newer);
                    }
                    let full_time = full.as_ref().map(|f| f.data.time);
                    if let Some(f) = full {
                        write_one(&dir, keep, *f, &failures);
                    }
                    match (meta, full_time) {
                        (Some(m), Some(f)) if m.data.time < f => {}
                        (Some(m), _) => write_one(&dir, keep, *m, &failures),
                        (None, _) => {}
                    }
                }
            })?;
        Ok(Writer {
            tx: Some(tx),
            handle: Some(handle),
        })
    }

    /// Queues a checkpoint for writing.
    pub(crate) fn submit(&self, job: Job) {
        if let Some(tx) = &self.tx {
            if tx.send(Msg::Write(Box::new(job))).is_err() {
                tracing::error!("the checkpoint writer has exited; checkpoint dropped");
            }
        }
    }

    /// Has states captured ahead of their checkpoint encoded now.
    pub(crate) fn prepare(&self, states: Vec<CapturedState>) {
        if let Some(tx) = &self.tx {
            if tx.send(Msg::Prepare(states)).is_err() {
                tracing::error!("the checkpoint writer has exited; states not encoded ahead");
            }
        }
    }

    /// Writes what is queued, then stops the thread.
    pub(crate) fn finish(&mut self) {
        self.tx.take();
        if let Some(h) = self.handle.take() {
            if h.join().is_err() {
                tracing::error!("the checkpoint writer panicked");
            }
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Nice value of the writer thread: the batches' threads (nice 0) get
/// about ten times its share of a contended CPU, so a checkpoint being
/// encoded or written slows no batch down, and it still progresses on a
/// machine that is never idle.
#[cfg(target_os = "linux")]
const WRITER_NICE: i32 = 10;

/// Lowers the calling thread's scheduling priority to [`WRITER_NICE`]
/// (Linux: the nice value is per thread); elsewhere, does nothing.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on the calling thread's own id; no
        // memory is shared with them.
        let r = unsafe {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, WRITER_NICE)
        };
        if r != 0 {
            tracing::debug!(error = %std::io::Error::last_os_error(), "cannot lower the checkpoint writer's priority");
        }
    }
}

/// Encodes the captured states into `data` (which must have none yet).
fn encode_states(
    data: &mut CheckpointData,
    captured: Vec<(String, CapturedState)>,
) -> Result<(), String> {
    for (name, state) in captured {
        let snapshot = state
            .encode()
            .map_err(|e| format!("cannot snapshot the state of `{name}`: {e}"))?;
        data.states.push(OperatorState { name, snapshot });
    }
    Ok(())
}

fn write_one(dir: &std::path::Path, keep: usize, job: Job, failures: &Failures) {
    let started = std::time::Instant::now();
    let Job { mut data, captured } = job;
    let data = &mut data;
    if let Err(reason) = encode_states(data, captured) {
        tracing::error!(time = %data.time, %reason, "checkpoint skipped");
        failures.report(data.time, data.is_metadata(), reason);
        return;
    }
    let bytes = match encode(data) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(time = %data.time, error = %e, "cannot encode the checkpoint; not written");
            failures.report(
                data.time,
                data.is_metadata(),
                format!("cannot encode the checkpoint: {e}"),
            );
            return;
        }
    };
    match store::write_atomic(dir, data.time, data.is_metadata(), &bytes) {
        Ok(path) => {
            tracing::info!(
                time = %data.time,
                path = %path.display(),
                bytes = bytes.len(),
                elapsed = ?started.elapsed(),
                metadata = data.is_metadata(),
                "checkpoint written"
            );
            match store::prune(dir, keep) {
                Ok(0) => {}
                Ok(n) => tracing::debug!(removed = n, "old checkpoints deleted"),
                Err(e) => tracing::warn!(error = %e, "cannot delete old checkpoints"),
            }
        }
        Err(e) => {
            tracing::error!(
                time = %data.time,
                dir = %dir.display(),
                error = %e,
                "cannot write the checkpoint; recovery would start from an older one"
            );
            failures.report(
                data.time,
                data.is_metadata(),
                format!("cannot write the checkpoint into {}: {e}", dir.display()),
            );
        }
    }
}
