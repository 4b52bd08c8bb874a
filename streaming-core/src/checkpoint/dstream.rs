//! The checkpoint-related operations of [`DStream`]: `name` and
//! `checkpoint(interval)`.

use std::time::Duration;

use crate::batch::Data;
use crate::dstream::DStream;
use crate::error::{Result, StreamingError};

impl<T: Data> DStream<T> {
    /// Names the operator computing this stream, and returns the stream.
    ///
    /// The name identifies a stateful operator's state in checkpoints
    /// (without one, it is `<operation>#<n>`: the `n`-th stateful operator
    /// of that operation in definition order). A checkpoint's state is
    /// restored into the operator of the same name, so naming stateful
    /// operators keeps their state across changes of the pipeline around
    /// them. Names of stateful operators must be unique; set them before
    /// `start`.
    ///
    /// ```
    /// use streaming_testkit::TestConfig;
    /// use streaming_core::{Batch, StatefulOperator};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let ssc = TestConfig::default().context(dir.path()).unwrap();
    /// let words = ssc.input_stream_from_fn(|_| Some(Batch::from(vec![("a".to_string(), 1u64)])));
    /// let counts = words
    ///     .update_state_by_key(|new: &[u64], old: Option<u64>| Some(old.unwrap_or(0) + new.iter().sum::<u64>()))
    ///     .name("counts");
    /// assert_eq!(counts.given_name().as_deref(), Some("counts"));
    /// ```
    pub fn name(&self, name: impl Into<String>) -> DStream<T> {
        *self.node.meta.user_name.lock().unwrap() = Some(name.into());
        self.clone()
    }

    /// The name given with [`name`](Self::name), if any.
    pub fn given_name(&self) -> Option<String> {
        self.node.meta.user_name.lock().unwrap().clone()
    }

    /// Checkpoints the context at least every `interval` of this stream
    /// (Spark's `DStream.checkpoint`): a checkpoint is written before every
    /// batch whose time is a multiple of `interval` after the zero time.
    /// Without it, a stateful stream uses Spark's default, the smallest
    /// multiple of its slide of at least 10 s. Needs a checkpoint directory
    /// ([`StreamingContext::checkpoint`](crate::StreamingContext::checkpoint)).
    ///
    /// A shorter interval replays fewer batches after a failure and costs a
    /// snapshot of every stateful operator's state more often.
    ///
    /// # Panics
    /// If `interval` is not a positive multiple of this stream's slide
    /// duration (see [`try_checkpoint`](Self::try_checkpoint)).
    pub fn checkpoint(&self, interval: Duration) -> DStream<T> {
        self.try_checkpoint(interval)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`checkpoint`](Self::checkpoint), returning an invalid interval as an
    /// error.
    pub fn try_checkpoint(&self, interval: Duration) -> Result<DStream<T>> {
        let slide = self.node.meta.slide;
        let slide_ms = slide.as_millis();
        if interval.as_millis() == 0
            || !interval.subsec_nanos().is_multiple_of(1_000_000)
            || slide_ms == 0
            || !interval.as_millis().is_multiple_of(slide_ms)
        {
            return Err(StreamingError::InvalidOperation(format!(
                "checkpoint: the interval {interval:?} of `{}` must be a positive multiple of its slide duration {slide:?}",
                self.node.meta.name
            )));
        }
        *self.node.meta.checkpoint_interval.lock().unwrap() = Some(interval);
        Ok(self.clone())
    }
}
