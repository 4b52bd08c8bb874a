//! The configuration of a context being recovered: while
//! `StreamingContext::get_or_create` runs its `create_fn` on a thread, the
//! contexts created there get the checkpointed configuration (with the new
//! one's local settings), as Spark's recovered contexts do.

use std::cell::RefCell;

use crate::conf::StreamingConf;

thread_local! {
    /// The checkpointed configuration of the context `get_or_create` is
    /// recovering on this thread, while its `create_fn` runs.
    static RECOVERING: RefCell<Option<StreamingConf>> = const { RefCell::new(None) };
}

/// Holds the checkpointed configuration for the contexts created on this
/// thread until dropped.
pub(super) struct RecoveringConf;

impl RecoveringConf {
    pub(super) fn set(conf: StreamingConf) -> RecoveringConf {
        RECOVERING.with(|r| *r.borrow_mut() = Some(conf));
        RecoveringConf
    }
}

impl Drop for RecoveringConf {
    fn drop(&mut self) {
        RECOVERING.with(|r| *r.borrow_mut() = None);
    }
}

/// The configuration a context created with `conf` runs with: `conf`
/// itself, or, while `get_or_create` recovers on this thread, the
/// checkpointed configuration with `conf`'s local parts (see
/// [`StreamingContext::get_or_create`]).
pub(super) fn effective_conf(conf: StreamingConf) -> StreamingConf {
    RECOVERING.with(|r| match &*r.borrow() {
        None => conf,
        Some(checkpointed) => {
            let (merged, ignored) = checkpointed.recovered_with(&conf);
            for key in ignored {
                tracing::warn!(
                    key,
                    "setting ignored: a recovered context runs with its checkpointed configuration"
                );
            }
            merged
        }
    })
}
