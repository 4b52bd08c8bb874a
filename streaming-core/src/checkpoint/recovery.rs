//! Recovery: [`StreamingContext::get_or_create`] and restoring a checkpoint
//! into a rebuilt pipeline.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::format::Checkpoint;
use super::graph::GraphDescription;
use super::{store, CheckpointError};
use crate::context::{StreamingContext, StreamingContextState};
use crate::error::{Result, StreamingError};
use crate::time::Time;

/// Options of [`StreamingContext::get_or_create_with`].
#[derive(Clone, Debug, Default)]
pub struct RecoverOptions {
    create_on_error: bool,
}

impl RecoverOptions {
    /// The defaults: an unreadable checkpoint directory is an error.
    pub fn new() -> Self {
        Self::default()
    }

    /// When every checkpoint in the directory is unreadable (corrupt,
    /// truncated, of another format version), start afresh with
    /// `create_fn()` instead of failing (Spark's `createOnError`). The
    /// unreadable files are renamed with a `.corrupt` suffix and kept for
    /// inspection. A pipeline that does not match a readable checkpoint is
    /// still an error.
    pub fn create_on_error(mut self, enabled: bool) -> Self {
        self.create_on_error = enabled;
        self
    }
}

/// What `start` needs from the checkpoint a context was recovered from.
#[derive(Clone, Debug)]
pub(crate) struct Recovery {
    /// The checkpoint time: the first batch to run.
    pub(crate) time: Time,
    /// The zero time of the recovered run.
    pub(crate) zero_time: Time,
}

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
    /// The configuration of the recovered context is the one `create_fn`
    /// gives. A newest checkpoint that cannot be read (corrupt, truncated)
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
        let files = store::list(dir)?;
        if files.is_empty() {
            tracing::info!(dir = %dir.display(), "no checkpoint: creating a new context");
            return fresh(dir, create_fn);
        }
        let mut attempts = Vec::new();
        let mut unreadable = Vec::new();
        let mut found = None;
        for file in files.iter().rev() {
            match store::read(&file.path) {
                Ok(c) => {
                    found = Some(c);
                    break;
                }
                Err(e) => {
                    tracing::warn!(
                        path = %file.path.display(),
                        error = %e,
                        "checkpoint unusable; trying the one before it"
                    );
                    attempts.push(e.to_string());
                    unreadable.push(file.path.clone());
                }
            }
        }
        let Some(checkpoint) = found else {
            if options.create_on_error {
                for path in &unreadable {
                    match store::set_aside(path) {
                        Ok(to) => {
                            tracing::warn!(to = %to.display(), "unreadable checkpoint set aside")
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot set aside an unreadable checkpoint")
                        }
                    }
                }
                tracing::warn!(dir = %dir.display(), "no usable checkpoint: creating a new context (create_on_error)");
                return fresh(dir, create_fn);
            }
            return Err(StreamingError::Checkpoint(
                CheckpointError::NoUsableCheckpoint {
                    dir: dir.to_path_buf(),
                    attempts,
                },
            ));
        };
        let ssc = create_fn()?;
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
        let Checkpoint { path, data } = checkpoint;
        let graph = self.inner.graph.lock().unwrap();
        if let Some(input) = graph.inputs.iter().find(|i| !i.is_recoverable()) {
            return Err(StreamingError::Checkpoint(
                CheckpointError::NotRecoverable {
                    path,
                    input: input.name(),
                },
            ));
        }
        let (desc, entries) = GraphDescription::describe(
            self.batch_interval(),
            &graph.nodes,
            &graph.inputs,
            &graph.outputs,
        )?;
        let problems = incompatibilities(&data.graph, &desc, &data.states);
        let structural = desc.structural_changes(&data.graph);
        if !problems.is_empty() {
            let mut changes = problems;
            changes.extend(structural);
            return Err(StreamingError::Checkpoint(CheckpointError::Incompatible {
                path,
                changes,
            }));
        }
        if !structural.is_empty() {
            tracing::warn!(
                checkpoint = %path.display(),
                changes = ?structural,
                "the pipeline changed around its stateful operators; their state is restored by name"
            );
        }
        let restore_err = |what: String, message: String| CheckpointError::Restore {
            path: path.clone(),
            what,
            message,
        };
        for (input, saved) in graph.inputs.iter().zip(&data.inputs) {
            if let Some(bytes) = &saved.data {
                input
                    .restore_checkpoint_data(bytes)
                    .map_err(|e| restore_err(format!("input `{}`", input.name()), e.to_string()))
                    .map_err(StreamingError::Checkpoint)?;
            }
        }
        for entry in &entries {
            let what = || format!("the state of `{}`", entry.name);
            let Some(saved) = data.states.iter().find(|s| s.name == entry.name) else {
                return Err(StreamingError::Checkpoint(restore_err(
                    what(),
                    "the checkpoint holds no state of that name".into(),
                )));
            };
            entry
                .op
                .restore(&saved.snapshot)
                .map_err(|e| StreamingError::Checkpoint(restore_err(what(), e.to_string())))?;
        }
        tracing::info!(
            checkpoint = %path.display(),
            time = %data.time,
            pending = data.pending.len(),
            operators = entries.len(),
            "recovered from checkpoint: batches run again from the checkpoint time"
        );
        *self.inner.recovery.lock().unwrap() = Some(Recovery {
            time: data.time,
            zero_time: data.zero_time,
        });
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

/// What prevents restoring a checkpoint of structure `old` (with states
/// `saved`) into a pipeline of structure `new`, one sentence each.
fn incompatibilities(
    old: &GraphDescription,
    new: &GraphDescription,
    saved: &[super::format::OperatorState],
) -> Vec<String> {
    let mut problems = Vec::new();
    if old.batch_interval_ms != new.batch_interval_ms {
        problems.push(format!(
            "the batch interval changed from {} ms to {} ms",
            old.batch_interval_ms, new.batch_interval_ms
        ));
    }
    for i in 0..old.inputs.len().max(new.inputs.len()) {
        match (old.inputs.get(i), new.inputs.get(i)) {
            (Some(a), Some(b)) if a != b => {
                problems.push(format!("input #{i} was `{a}`, now `{b}`"))
            }
            (Some(a), None) => problems.push(format!("input #{i} `{a}` was removed")),
            (None, Some(b)) => problems.push(format!("input #{i} `{b}` was added")),
            _ => {}
        }
    }
    let before: HashMap<&str, _> = old.stateful().collect();
    let after: HashMap<&str, _> = new.stateful().collect();
    for (name, node) in new.stateful() {
        let Some(prev) = before.get(name) else {
            problems.push(format!(
                "stateful operator `{name}` (`{}`) is new: the checkpoint holds no state for it",
                node.operation
            ));
            continue;
        };
        if prev.operation != node.operation {
            problems.push(format!(
                "stateful operator `{name}` was `{}`, now `{}`",
                prev.operation, node.operation
            ));
        } else if prev.element_type != node.element_type {
            problems.push(format!(
                "the elements of stateful operator `{name}` changed type from `{}` to `{}`",
                prev.element_type, node.element_type
            ));
        } else if prev.slide_ms != node.slide_ms {
            problems.push(format!(
                "stateful operator `{name}` changed its slide from {} ms to {} ms",
                prev.slide_ms, node.slide_ms
            ));
        } else if !saved.iter().any(|s| s.name == name) {
            problems.push(format!(
                "the checkpoint holds no state for stateful operator `{name}`"
            ));
        }
    }
    for (name, node) in old.stateful() {
        if !after.contains_key(name) {
            problems.push(format!(
                "stateful operator `{name}` (`{}`) is no longer in the pipeline",
                node.operation
            ));
        }
    }
    problems
}
