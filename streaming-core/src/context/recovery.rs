//! `StreamingContext::get_or_create`: recovery from a checkpoint, driven
//! from the context (the checkpoint side is `checkpoint/recovery.rs`).

use std::path::{Path, PathBuf};

use super::recovering::RecoveringConf;
use super::{StreamingContext, StreamingContextState};
use crate::checkpoint::{
    latest, restore, set_aside, Checkpoint, CheckpointError, Latest, RecoverOptions,
};
use crate::error::{Result, StreamingError};
use crate::time::Time;

impl StreamingContext {
    /// Recovers a context from the newest usable checkpoint in `dir`, or
    /// creates one with `create_fn` when there is none (Spark's
    /// `StreamingContext.getOrCreate`).
    ///
    /// Closures cannot be saved, so `create_fn` always builds the pipeline
    /// (it must define the same pipeline each time, and may set the
    /// checkpoint directory, to `dir`; it is set to `dir` otherwise). With a
    /// checkpoint, this then:
    /// - checks the pipeline against the checkpoint's structure. Every input
    ///   must be replayable
    ///   ([`is_recoverable`](crate::InputSource::is_recoverable): a queue
    ///   stream is not, an error as in Spark) and unchanged, the batch
    ///   interval the same. The
    ///   operators may change around the stateful ones (Spark cannot do
    ///   this): each stateful operator is found by its name
    ///   ([`DStream::name`](crate::DStream::name), or the generated
    ///   `<operation>#<n>`) and must have the same operation and element
    ///   type; otherwise the error
    ///   ([`CheckpointError::Incompatible`]) names every change;
    /// - restores each stateful operator's state and each input's position;
    /// - and, once started, runs the batch of the checkpoint time again (its
    ///   state holds every batch before it), the batches that were pending,
    ///   and those missed while the application was down, in order, before
    ///   following the clock again. Outputs of re-run batches are produced
    ///   again: `save_as_*` outputs replace the directories of the same batch
    ///   times, so file outputs are exactly-once.
    ///
    /// The recovered context runs with the checkpointed configuration, as
    /// in Spark: a context `create_fn` creates during recovery (on the
    /// calling thread) gets the configuration of the checkpoint, except for
    /// what is local to the new process, taken from the configuration
    /// `create_fn` passes: the master, the clock, the batch interval (which
    /// must match the checkpoint's) and the process's addresses and ports
    /// ([`LOCAL_SETTINGS`](crate::conf::settings::LOCAL_SETTINGS): the UI
    /// port and bind address, the driver host). Other settings of the new
    /// configuration that differ from the checkpoint's are ignored, each
    /// with a warning naming it; start from an empty checkpoint directory to
    /// change them. A newest checkpoint that cannot be read (corrupt, truncated)
    /// is skipped for the one before it; when none can be read the error is
    /// [`CheckpointError::NoUsableCheckpoint`] (see
    /// [`get_or_create_with`](Self::get_or_create_with) to start afresh
    /// instead).
    ///
    /// The returned context is not started.
    pub fn get_or_create<F>(dir: impl AsRef<Path>, create_fn: F) -> Result<StreamingContext>
    where
        F: FnOnce() -> Result<StreamingContext>,
    {
        Self::get_or_create_with(dir, create_fn, RecoverOptions::default())
    }

    /// [`get_or_create`](Self::get_or_create) with options.
    pub fn get_or_create_with<F>(
        dir: impl AsRef<Path>,
        create_fn: F,
        options: RecoverOptions,
    ) -> Result<StreamingContext>
    where
        F: FnOnce() -> Result<StreamingContext>,
    {
        let dir = dir.as_ref();
        let checkpoint = match latest(dir)? {
            Latest::Empty => {
                tracing::info!(dir = %dir.display(), "no checkpoint: creating a new context");
                return fresh(dir, create_fn);
            }
            Latest::Usable(c) => *c,
            Latest::Unusable {
                attempts,
                unreadable,
            } => {
                if !options.create_on_error {
                    return Err(StreamingError::Checkpoint(
                        CheckpointError::NoUsableCheckpoint {
                            dir: dir.to_path_buf(),
                            attempts,
                        },
                    ));
                }
                set_aside(&unreadable);
                tracing::warn!(dir = %dir.display(), "no usable checkpoint: creating a new context (create_on_error)");
                return fresh(dir, create_fn);
            }
        };
        // The pipeline is built again by `create_fn`, but with the
        // checkpointed configuration (see `StreamingContext::new`).
        let ssc = {
            let _conf = RecoveringConf::set(checkpoint.conf().clone());
            create_fn()?
        };
        use_dir(&ssc, dir)?;
        ssc.restore_checkpoint(checkpoint)?;
        Ok(ssc)
    }

    /// The time of the checkpoint this context was recovered from by
    /// [`get_or_create`](Self::get_or_create) (the first batch it runs), or
    /// `None` for a new context.
    pub fn recovered_from(&self) -> Option<Time> {
        self.inner.recovery.lock().unwrap().as_ref().map(|r| r.time)
    }

    /// Checks the pipeline against `checkpoint` and restores its state.
    fn restore_checkpoint(&self, checkpoint: Checkpoint) -> Result<()> {
        if self.state() != StreamingContextState::Initialized {
            return Err(StreamingError::IllegalState(
                "a checkpoint can only be restored into a context that has not started".into(),
            ));
        }
        let recovery = restore(
            checkpoint,
            &self.inner.registry.lock(),
            self.batch_interval(),
        )?;
        *self.inner.recovery.lock().unwrap() = Some(recovery);
        Ok(())
    }
}

/// A new context from `create_fn`, checkpointing into `dir`.
fn fresh<F>(dir: &Path, create_fn: F) -> Result<StreamingContext>
where
    F: FnOnce() -> Result<StreamingContext>,
{
    let ssc = create_fn()?;
    use_dir(&ssc, dir)?;
    Ok(ssc)
}

/// Sets the checkpoint directory of `ssc` to `dir` unless `create_fn` did;
/// another directory is an error.
fn use_dir(ssc: &StreamingContext, dir: &Path) -> Result<()> {
    match ssc.checkpoint_dir() {
        None => ssc.checkpoint(dir),
        Some(set) if same_dir(&set, dir) => Ok(()),
        Some(set) => Err(StreamingError::Config(format!(
            "create_fn set the checkpoint directory to {}, but get_or_create recovers from {}",
            set.display(),
            dir.display()
        ))),
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| PathBuf::from(p));
    canon(a) == canon(b)
}
