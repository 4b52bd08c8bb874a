//! Recovery, the checkpoint side: finding the newest usable checkpoint of a
//! directory, and restoring one into a rebuilt graph (checking that it fits
//! first). `StreamingContext::get_or_create` (`context/recovery.rs`) drives
//! both.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::format::Checkpoint;
use super::graph::GraphDescription;
use super::{store, CheckpointError};
use crate::error::{Result, StreamingError};
use crate::graph::registry::Graph;
use crate::time::Time;

/// Options of [`StreamingContext::get_or_create_with`](crate::StreamingContext::get_or_create_with).
#[derive(Clone, Debug, Default)]
pub struct RecoverOptions {
    pub(crate) create_on_error: bool,
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
    /// Whether operator state was restored from the state checkpoint of
    /// `time` (else it starts empty, before the first one).
    pub(crate) from_state: bool,
}

/// What a checkpoint directory holds for recovery.
pub(crate) enum Latest {
    /// No checkpoint at all.
    Empty,
    /// The newest checkpoint that could be read.
    Usable(Box<Checkpoint>),
    /// Checkpoints exist, but none can be read.
    Unusable {
        /// Why each was rejected, newest first.
        attempts: Vec<String>,
        /// Their paths.
        unreadable: Vec<PathBuf>,
    },
}

/// The newest usable checkpoint in `dir`, full or metadata (a full one
/// first at equal times): a checkpoint that cannot be read (corrupt,
/// truncated), or a metadata checkpoint whose state checkpoint cannot, is
/// skipped for the one before it.
///
/// A metadata checkpoint comes back merged with the state checkpoint it
/// builds on: its inputs' records and pending batches, that checkpoint's
/// states, and that checkpoint's time, from which recovery replays. Before
/// the first state checkpoint, its time is the first batch's and its state
/// empty (`state_from` stays `Some(None)`).
pub(crate) fn latest(dir: &Path) -> Result<Latest> {
    let mut files: Vec<(Time, bool, PathBuf)> = store::list(dir)?
        .into_iter()
        .map(|f| (f.time, false, f.path))
        .chain(
            store::list_metadata(dir)?
                .into_iter()
                .map(|f| (f.time, true, f.path)),
        )
        .collect();
    if files.is_empty() {
        return Ok(Latest::Empty);
    }
    // Newest first; a full checkpoint before a metadata one of its time.
    files.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut attempts = Vec::new();
    let mut unreadable = Vec::new();
    for (_, metadata, path) in &files {
        let skip = |e: &dyn std::fmt::Display, attempts: &mut Vec<String>| {
            tracing::warn!(path = %path.display(), error = %e, "checkpoint unusable; trying the one before it");
            attempts.push(e.to_string());
        };
        let mut c = match store::read(path) {
            Ok(c) => c,
            Err(e) => {
                skip(&e, &mut attempts);
                unreadable.push(path.clone());
                continue;
            }
        };
        if !metadata {
            return Ok(Latest::Usable(Box::new(c)));
        }
        match c.data.state_from {
            Some(Some(state_time)) => match store::read(store::file_path(dir, state_time, false)) {
                Ok(state) => {
                    c.data.states = state.data.states;
                    c.data.time = state_time;
                    c.data.state_from = None;
                }
                Err(e) => {
                    let e = format!(
                        "{}: the state checkpoint it builds on is unusable: {e}",
                        path.display()
                    );
                    skip(&e, &mut attempts);
                    continue;
                }
            },
            _ => {
                let interval = std::time::Duration::from_millis(c.data.graph.batch_interval_ms);
                c.data.time = c.data.zero_time + interval;
            }
        }
        return Ok(Latest::Usable(Box::new(c)));
    }
    Ok(Latest::Unusable {
        attempts,
        unreadable,
    })
}

/// Renames unreadable checkpoints aside (`.corrupt`), keeping them for
/// inspection.
pub(crate) fn set_aside(unreadable: &[PathBuf]) {
    for path in unreadable {
        match store::set_aside(path) {
            Ok(to) => {
                tracing::warn!(to = %to.display(), "unreadable checkpoint set aside")
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot set aside an unreadable checkpoint")
            }
        }
    }
}

/// Checks that `graph` fits `checkpoint` and restores the checkpoint's
/// input positions and operator states into it; returns where the
/// recovered run starts.
pub(crate) fn restore(
    checkpoint: Checkpoint,
    graph: &Graph,
    batch_interval: std::time::Duration,
) -> Result<Recovery> {
    let Checkpoint { path, data } = checkpoint;
    if let Some(input) = graph.inputs.iter().find(|i| !i.is_recoverable()) {
        return Err(StreamingError::Checkpoint(
            CheckpointError::NotRecoverable {
                path,
                input: input.name(),
            },
        ));
    }
    let (desc, entries) =
        GraphDescription::describe(batch_interval, &graph.nodes, &graph.inputs, &graph.outputs)?;
    // Before the first state checkpoint, every operator starts empty.
    let empty_state = data.state_from == Some(None);
    let problems = incompatibilities(&data.graph, &desc, &data.states, empty_state);
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
    for entry in entries.iter().filter(|_| !empty_state) {
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
    Ok(Recovery {
        time: data.time,
        zero_time: data.zero_time,
        from_state: !empty_state,
    })
}

/// What prevents restoring a checkpoint of structure `old` (with states
/// `saved`) into a pipeline of structure `new`, one sentence each.
fn incompatibilities(
    old: &GraphDescription,
    new: &GraphDescription,
    saved: &[super::format::OperatorState],
    empty_state: bool,
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
        } else if !empty_state && !saved.iter().any(|s| s.name == name) {
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
