//! Configuration of a [`StreamingContext`](crate::StreamingContext):
//! [`StreamingConf`], and the [`settings`] parsers for its free-form keys.

pub mod settings;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::{Clock, ManualClock};
use crate::error::{Result, StreamingError};

/// The settings a context recovered from a checkpoint takes from the
/// configuration it is created with rather than from the checkpoint: those
/// of the process itself (its addresses and ports), as Spark reloads
/// `spark.driver.host`, `spark.driver.bindAddress`, `spark.driver.port`
/// (and, here, the UI's port and switch) on recovery.
pub const LOCAL_SETTINGS: &[&str] = &[
    "spark.driver.bindAddress",
    "spark.driver.host",
    "spark.driver.port",
    "spark.port.maxRetries",
    "spark.ui.enabled",
    "spark.ui.port",
];

/// Configuration of a streaming application, the counterpart of Spark's
/// `SparkConf` plus the batch interval.
///
/// ```
/// use streaming_core::StreamingConf;
/// use std::time::Duration;
/// let conf = StreamingConf::new()
///     .app_name("word count")
///     .master("local[2]")
///     .batch_interval(Duration::from_secs(3));
/// assert_eq!(conf.parallelism().unwrap(), 2);
/// ```
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StreamingConf {
    app_name: String,
    master: String,
    batch_interval: Option<Duration>,
    graceful_stop_timeout: Option<Duration>,
    settings: BTreeMap<String, String>,
    #[serde(skip)]
    clock: Option<ManualClock>,
}

impl Default for StreamingConf {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamingConf {
    /// A configuration with master `local[*]`, no batch interval yet.
    pub fn new() -> Self {
        StreamingConf {
            app_name: "streaming".to_string(),
            master: "local[*]".to_string(),
            batch_interval: None,
            graceful_stop_timeout: None,
            settings: BTreeMap::new(),
            clock: None,
        }
    }

    /// Sets the application name (used in logs).
    pub fn app_name(mut self, name: impl Into<String>) -> Self {
        self.app_name = name.into();
        self
    }

    /// Sets the master: `local` (one thread), `local[N]` or `local[*]` (one
    /// thread per core). It sizes the thread pool batches run on and the
    /// default number of partitions of shuffles.
    pub fn master(mut self, master: impl Into<String>) -> Self {
        self.master = master.into();
        self
    }

    /// Sets the batch interval (required).
    pub fn batch_interval(mut self, d: Duration) -> Self {
        self.batch_interval = Some(d);
        self
    }

    /// Drives batches with the given manual clock instead of the system clock
    /// (Spark's `spark.streaming.clock=ManualClock`, for tests).
    pub fn manual_clock(mut self, clock: ManualClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// How long a graceful stop may wait for pending batches before it gives
    /// up and stops immediately (Spark's `spark.streaming.gracefulStopTimeout`;
    /// default: ten batch intervals, at least 10 s).
    pub fn graceful_stop_timeout(mut self, d: Duration) -> Self {
        self.graceful_stop_timeout = Some(d);
        self
    }

    /// Sets a free-form setting (for example `spark.streaming.receiver.maxRate`).
    pub fn set(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.insert(key.into(), value.into());
        self
    }

    /// A free-form setting.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.settings.get(key).map(String::as_str)
    }

    /// Every free-form setting's key, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.settings.keys().map(String::as_str)
    }

    /// The application name.
    pub fn get_app_name(&self) -> &str {
        &self.app_name
    }

    /// The master string.
    pub fn get_master(&self) -> &str {
        &self.master
    }

    /// The batch interval, if set.
    pub fn get_batch_interval(&self) -> Option<Duration> {
        self.batch_interval
    }

    /// The clock batches are driven by.
    pub fn clock(&self) -> Clock {
        match &self.clock {
            Some(c) => Clock::Manual(c.clone()),
            None => Clock::System,
        }
    }

    /// The configuration a context recovered from a checkpoint runs with,
    /// as Spark's `Checkpoint.createSparkConf` makes it: `self` (the
    /// checkpointed configuration), with what must stay local to the new
    /// process taken from `local` (the configuration the pipeline was
    /// created with): the master, the clock, the batch interval (part of
    /// the pipeline, checked against the checkpoint) and the settings of
    /// [`LOCAL_SETTINGS`](LOCAL_SETTINGS) (addresses and ports of
    /// this process: the UI port and bind address, the driver host).
    /// Returns the merged configuration and the keys of `local` it ignored
    /// because they differ from the checkpointed ones.
    pub(crate) fn recovered_with(&self, local: &StreamingConf) -> (StreamingConf, Vec<String>) {
        let mut merged = self.clone();
        merged.master = local.master.clone();
        merged.clock = local.clock.clone();
        merged.batch_interval = local.batch_interval;
        for key in LOCAL_SETTINGS {
            match local.settings.get(*key) {
                Some(v) => merged.settings.insert(key.to_string(), v.clone()),
                None => merged.settings.remove(*key),
            };
        }
        let ignored = local
            .settings
            .iter()
            .filter(|(k, v)| {
                !LOCAL_SETTINGS.contains(&k.as_str()) && self.settings.get(*k) != Some(*v)
            })
            .map(|(k, _)| k.clone())
            .collect();
        (merged, ignored)
    }

    pub(crate) fn effective_graceful_stop_timeout(&self, interval: Duration) -> Duration {
        self.graceful_stop_timeout
            .unwrap_or_else(|| (interval * 10).max(Duration::from_secs(10)))
    }

    /// Number of worker threads the master asks for.
    pub fn parallelism(&self) -> Result<usize> {
        let m = self.master.trim();
        let cores = || {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        };
        if m == "local" {
            return Ok(1);
        }
        let inner = m
            .strip_prefix("local[")
            .and_then(|r| r.strip_suffix(']'))
            .ok_or_else(|| {
                StreamingError::Config(format!(
                    "unsupported master {m:?}: expected local, local[N] or local[*]"
                ))
            })?;
        if inner == "*" {
            return Ok(cores());
        }
        match inner.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(StreamingError::Config(format!(
                "invalid master {m:?}: the thread count must be a positive integer or *"
            ))),
        }
    }

    pub(crate) fn validate(&self) -> Result<Duration> {
        self.parallelism()?;
        let d = self.batch_interval.ok_or_else(|| {
            StreamingError::Config(
                "the batch interval is not set (StreamingConf::batch_interval)".into(),
            )
        })?;
        if d.as_millis() == 0 {
            return Err(StreamingError::Config(format!(
                "the batch interval must be at least 1 ms, got {d:?}"
            )));
        }
        if d.subsec_nanos() % 1_000_000 != 0 {
            return Err(StreamingError::Config(format!(
                "the batch interval must be a whole number of milliseconds, got {d:?}"
            )));
        }
        Ok(d)
    }
}
