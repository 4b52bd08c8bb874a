//! What the parts of one direct stream share: its name, parameters,
//! settings, statistics and input context ([`StreamInfo`]), seen by the
//! source (`source`), its read workers (`worker`) and its committer
//! (`commit`).

use std::sync::OnceLock;

use streaming_core::InputContext;

use super::config::Settings;
use super::stats::KafkaStreamStats;
use super::strategy::ConsumerParams;

/// The non-generic, read-only description of a stream, plus its input
/// context once started.
pub(crate) struct StreamInfo {
    pub(crate) name: String,
    pub(crate) params: ConsumerParams,
    pub(crate) settings: Settings,
    pub(crate) stats: KafkaStreamStats,
    /// The group id of the partition consumers (never joined, never committed).
    pub(crate) executor_group: String,
    ctx: OnceLock<InputContext>,
}

impl StreamInfo {
    pub(crate) fn new(
        name: String,
        params: ConsumerParams,
        settings: Settings,
        stats: KafkaStreamStats,
        executor_group: String,
    ) -> Self {
        StreamInfo {
            name,
            params,
            settings,
            stats,
            executor_group,
            ctx: OnceLock::new(),
        }
    }

    /// Records the input context given at start.
    pub(crate) fn set_context(&self, ctx: &InputContext) {
        let _ = self.ctx.set(ctx.clone());
    }

    /// The input context, once started.
    pub(crate) fn input_context(&self) -> Option<InputContext> {
        self.ctx.get().cloned()
    }

    /// Reports a problem to the log and the listeners.
    pub(crate) fn report(&self, message: String) {
        match self.ctx.get() {
            Some(ctx) => ctx.report_error(message),
            None => tracing::warn!(input = %self.name, %message, "Kafka direct stream"),
        }
    }
}
