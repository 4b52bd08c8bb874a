//! Backpressure, as Spark's `spark.streaming.backpressure.*`: a
//! [`PidRateEstimator`] per input computes, from each completed batch, the
//! rate (records/s) the pipeline can take; a [`RateController`] (a
//! listener) feeds it and publishes the rate to its input. Socket receivers
//! then take at most that rate per batch (the rest waits in the bounded
//! buffer, and TCP pushes back on the sender); the Kafka direct stream
//! shares it among partitions by lag
//! ([`max_messages_per_partition`]).
//!
//! | setting | default (Spark's) |
//! |---|---|
//! | `spark.streaming.backpressure.enabled` | `false` |
//! | `spark.streaming.backpressure.initialRate` | none: receivers unlimited, Kafka at `maxRatePerPartition`, until the first estimate |
//! | `spark.streaming.backpressure.pid.proportional` | 1.0 |
//! | `spark.streaming.backpressure.pid.integral` | 0.2 |
//! | `spark.streaming.backpressure.pid.derived` | 0.0 |
//! | `spark.streaming.backpressure.pid.minRate` | 100 records/s |

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::conf::{settings, StreamingConf};
use crate::error::{Result, StreamingError};
use crate::listener::{BatchInfo, StreamingListener};

/// Whether backpressure is on (`true`/`false`, default `false`).
pub const BACKPRESSURE_ENABLED: &str = "spark.streaming.backpressure.enabled";
/// The rate (records/s) before the first estimate.
pub const BACKPRESSURE_INITIAL_RATE: &str = "spark.streaming.backpressure.initialRate";
/// The PID's proportional gain (default 1.0).
pub const PID_PROPORTIONAL: &str = "spark.streaming.backpressure.pid.proportional";
/// The PID's integral gain (default 0.2).
pub const PID_INTEGRAL: &str = "spark.streaming.backpressure.pid.integral";
/// The PID's derivative gain (default 0.0; Spark's key says `derived`).
pub const PID_DERIVATIVE: &str = "spark.streaming.backpressure.pid.derived";
/// The lowest rate the estimator publishes (default 100 records/s).
pub const PID_MIN_RATE: &str = "spark.streaming.backpressure.pid.minRate";

/// An invalid estimator parameter.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RateError {
    /// A gain below zero.
    #[error("the {gain} gain of the PID rate estimator must be >= 0, got {value}")]
    NegativeGain {
        /// Which gain.
        gain: &'static str,
        /// Its value.
        value: f64,
    },
    /// A minimum rate that is not positive.
    #[error("the minimum rate of the PID rate estimator must be > 0, got {0}")]
    MinRate(f64),
    /// A zero batch interval.
    #[error("the batch interval of the PID rate estimator must be > 0")]
    Interval,
}

/// Spark's `PIDRateEstimator`: the rate is corrected by the difference
/// between the last rate and the measured processing rate (proportional),
/// by the backlog the scheduling delay stands for (integral) and by the
/// change of the error (derivative), and never goes below a minimum.
///
/// With `rate` the previous estimate, `processing = elements / processing
/// delay`, `error = rate - processing`, `historical = scheduling delay ×
/// processing / batch interval` and `d = (error - previous error) / seconds
/// since the previous estimate`:
/// `new rate = max(rate - kp × error - ki × historical - kd × d, min rate)`.
/// The first batch only seeds `rate` with its processing rate (no
/// estimate); batches with no elements, no processing time or an older
/// time are ignored.
///
/// ```
/// use streaming_core::rate::PidRateEstimator;
/// use std::time::Duration;
/// let mut pid = PidRateEstimator::with_defaults(Duration::from_secs(1)).unwrap();
/// // 1000 records in 500 ms: 2000 records/s; the first batch seeds.
/// assert_eq!(pid.compute(1_000, 1000, 500, 0), None);
/// // 1000 records in 1000 ms, 200 ms scheduling delay:
/// // error = 2000 - 1000; historical = 200 × 1000 / 1000;
/// // 2000 - 1.0 × 1000 - 0.2 × 200 = 960 records/s.
/// assert_eq!(pid.compute(2_000, 1000, 1000, 200), Some(960.0));
/// ```
#[derive(Clone, Debug)]
pub struct PidRateEstimator {
    batch_interval_ms: f64,
    proportional: f64,
    integral: f64,
    derivative: f64,
    min_rate: f64,
    first_run: bool,
    latest_time: i64,
    latest_rate: f64,
    latest_error: f64,
}

impl PidRateEstimator {
    /// An estimator for batches of `batch_interval` with these gains and
    /// minimum rate (records/s).
    pub fn new(
        batch_interval: Duration,
        proportional: f64,
        integral: f64,
        derivative: f64,
        min_rate: f64,
    ) -> std::result::Result<Self, RateError> {
        if batch_interval.is_zero() {
            return Err(RateError::Interval);
        }
        for (gain, value) in [
            ("proportional", proportional),
            ("integral", integral),
            ("derivative", derivative),
        ] {
            if value.is_nan() || value < 0.0 {
                return Err(RateError::NegativeGain { gain, value });
            }
        }
        if min_rate.is_nan() || min_rate <= 0.0 {
            return Err(RateError::MinRate(min_rate));
        }
        tracing::info!(
            proportional,
            integral,
            derivative,
            min_rate,
            "created a PID rate estimator"
        );
        Ok(PidRateEstimator {
            batch_interval_ms: batch_interval.as_secs_f64() * 1e3,
            proportional,
            integral,
            derivative,
            min_rate,
            first_run: true,
            latest_time: -1,
            latest_rate: -1.0,
            latest_error: -1.0,
        })
    }

    /// Spark's defaults: gains 1.0, 0.2, 0.0, minimum rate 100 records/s.
    pub fn with_defaults(batch_interval: Duration) -> std::result::Result<Self, RateError> {
        Self::new(batch_interval, 1.0, 0.2, 0.0, 100.0)
    }

    /// The new rate (records/s) after a batch completed at `time_ms` (the
    /// end of its processing, in ms) with `elements` records, processed in
    /// `processing_delay_ms` after waiting `scheduling_delay_ms`; `None`
    /// when there is no new estimate.
    pub fn compute(
        &mut self,
        time_ms: u64,
        elements: u64,
        processing_delay_ms: u64,
        scheduling_delay_ms: u64,
    ) -> Option<f64> {
        let time = time_ms as i64;
        if !(time > self.latest_time && elements > 0 && processing_delay_ms > 0) {
            return None;
        }
        let since_update = (time - self.latest_time) as f64 / 1000.0;
        let processing_rate = elements as f64 / processing_delay_ms as f64 * 1000.0;
        let error = self.latest_rate - processing_rate;
        let historical_error =
            scheduling_delay_ms as f64 * processing_rate / self.batch_interval_ms;
        let d_error = (error - self.latest_error) / since_update;
        let new_rate = (self.latest_rate
            - self.proportional * error
            - self.integral * historical_error
            - self.derivative * d_error)
            .max(self.min_rate);
        self.latest_time = time;
        if self.first_run {
            self.latest_rate = processing_rate;
            self.latest_error = 0.0;
            self.first_run = false;
            tracing::trace!(processing_rate, "first rate estimate skipped");
            None
        } else {
            self.latest_rate = new_rate;
            self.latest_error = error;
            tracing::trace!(
                processing_rate,
                error,
                historical_error,
                d_error,
                new_rate,
                "new rate estimate"
            );
            Some(new_rate)
        }
    }
}

/// The backpressure settings of a configuration (see the module table).
#[derive(Clone, Debug, PartialEq)]
pub struct BackpressureConf {
    /// `spark.streaming.backpressure.initialRate`, if set (> 0).
    pub initial_rate: Option<f64>,
    /// The PID's gains: proportional, integral, derivative.
    pub gains: (f64, f64, f64),
    /// The lowest estimate.
    pub min_rate: f64,
}

impl BackpressureConf {
    /// The settings of `conf`; `None` when backpressure is off.
    pub fn from_conf(conf: &StreamingConf) -> Result<Option<Self>> {
        if !settings::get(conf, BACKPRESSURE_ENABLED, settings::parse_bool)?.unwrap_or(false) {
            return Ok(None);
        }
        let number = |key: &str, default: f64| -> Result<f64> {
            settings::get(conf, key, |k, v| {
                v.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| StreamingError::Config(format!("{k}={v:?}: expected a number")))
            })
            .map(|v| v.unwrap_or(default))
        };
        let initial_rate =
            settings::get(conf, BACKPRESSURE_INITIAL_RATE, settings::parse_rate)?.flatten();
        let bp = BackpressureConf {
            initial_rate,
            gains: (
                number(PID_PROPORTIONAL, 1.0)?,
                number(PID_INTEGRAL, 0.2)?,
                number(PID_DERIVATIVE, 0.0)?,
            ),
            min_rate: number(PID_MIN_RATE, 100.0)?,
        };
        // Reject bad gains now, at definition time.
        bp.estimator(Duration::from_secs(1))
            .map_err(|e| StreamingError::Config(e.to_string()))?;
        Ok(Some(bp))
    }

    /// A new estimator with these settings.
    pub fn estimator(
        &self,
        batch_interval: Duration,
    ) -> std::result::Result<PidRateEstimator, RateError> {
        let (p, i, d) = self.gains;
        PidRateEstimator::new(batch_interval, p, i, d, self.min_rate)
    }
}

/// Spark's `RateController`: a listener that feeds one input's completed
/// batches to its estimator and keeps the latest rate, which the input
/// reads ([`latest_rate`](Self::latest_rate)) or gets pushed (the
/// `on_update` callback).
pub struct RateController {
    stream_id: usize,
    estimator: Mutex<PidRateEstimator>,
    /// The latest estimate's bits; 0 (0.0) before the first.
    latest: AtomicU64,
    on_update: Box<dyn Fn(f64) + Send + Sync>,
}

impl RateController {
    /// A controller of input `stream_id`, calling `on_update` with each new
    /// rate.
    pub fn new(
        stream_id: usize,
        estimator: PidRateEstimator,
        on_update: impl Fn(f64) + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(RateController {
            stream_id,
            estimator: Mutex::new(estimator),
            latest: AtomicU64::new(0),
            on_update: Box::new(on_update),
        })
    }

    /// The latest estimate (records/s), if any.
    pub fn latest_rate(&self) -> Option<f64> {
        let r = f64::from_bits(self.latest.load(Ordering::Acquire));
        (r > 0.0).then_some(r)
    }

    /// Feeds one completed batch (what the listener does).
    pub fn on_batch(&self, info: &BatchInfo) {
        let (Some(end), Some(work), Some(wait)) = (
            info.processing_end_time,
            info.processing_delay(),
            info.scheduling_delay(),
        ) else {
            return;
        };
        let Some(&elements) = info.stream_id_to_num_records.get(&self.stream_id) else {
            return;
        };
        let rate = self
            .estimator
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .compute(
                end.as_millis(),
                elements,
                work.as_millis() as u64,
                wait.as_millis() as u64,
            );
        if let Some(rate) = rate {
            self.latest.store(rate.to_bits(), Ordering::Release);
            tracing::debug!(stream_id = self.stream_id, rate, "backpressure: new rate");
            (self.on_update)(rate);
        }
    }
}

/// The controller as a listener (register it with the context's
/// listeners, e.g. `InputContext::add_streaming_listener`).
pub struct RateListener(pub Arc<RateController>);

impl StreamingListener for RateListener {
    fn on_batch_completed(&self, info: &BatchInfo) {
        self.0.on_batch(info);
    }
}

/// Spark's `maxMessagesPerPartition` of the Kafka direct stream: how many
/// records each partition may give a batch of `batch_interval`.
///
/// With a rate (the latest estimate, else `initial_rate`), each partition
/// gets the share of it its lag (records behind the latest offset) has of
/// the total lag, capped by `max_rate_per_partition`; without one, each gets
/// `max_rate_per_partition`. Either way a partition's rate is at least
/// `min_rate_per_partition`, and its count is the rate times the batch
/// seconds (rounded down, at least 1). `None`: no limit.
///
/// ```
/// use streaming_core::rate::max_messages_per_partition;
/// use std::time::Duration;
/// // Lags 300 and 100, an estimated 1000 records/s, 2 s batches: shares of
/// // 750 and 250 records/s, capped at 600: 1200 and 500 records.
/// let lags = [("a", 300), ("b", 100)].into_iter().collect();
/// let m = max_messages_per_partition(&lags, Some(1000.0), Some(600.0), 1, Duration::from_secs(2));
/// assert_eq!(m.unwrap(), [("a", 1200), ("b", 500)].into_iter().collect());
/// ```
pub fn max_messages_per_partition<P: Ord + Clone>(
    lags: &BTreeMap<P, u64>,
    rate: Option<f64>,
    max_rate_per_partition: Option<f64>,
    min_rate_per_partition: u64,
    batch_interval: Duration,
) -> Option<BTreeMap<P, u64>> {
    let max = max_rate_per_partition.filter(|r| *r > 0.0);
    let per_partition: BTreeMap<P, f64> = match rate.filter(|r| *r > 0.0) {
        Some(rate) => {
            let total: u64 = lags.values().sum();
            lags.iter()
                .map(|(p, &lag)| {
                    let share = if total == 0 {
                        0.0
                    } else {
                        lag as f64 / total as f64 * rate
                    };
                    (p.clone(), max.map_or(share, |m| share.min(m)))
                })
                .collect()
        }
        None => lags
            .keys()
            .map(|p| (p.clone(), max.unwrap_or(0.0)))
            .collect(),
    };
    if per_partition.values().sum::<f64>() <= 0.0 {
        return None;
    }
    let secs = batch_interval.as_secs_f64();
    Some(
        per_partition
            .into_iter()
            .map(|(p, r)| {
                let r = r.max(min_rate_per_partition as f64);
                (p, ((r * secs).floor() as u64).max(1))
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid() -> PidRateEstimator {
        PidRateEstimator::with_defaults(Duration::from_secs(1)).unwrap()
    }

    #[test]
    fn the_first_batch_only_seeds_the_rate() {
        let mut p = pid();
        assert_eq!(p.compute(1000, 500, 1000, 0), None);
        // Same processing rate, no delay: error 0, the rate stays 500.
        assert_eq!(p.compute(2000, 500, 1000, 0), Some(500.0));
    }

    #[test]
    fn worked_values_with_sparks_gains() {
        let mut p = pid();
        // Seed: 2000 records in 500 ms = 4000 records/s.
        assert_eq!(p.compute(1000, 2000, 500, 0), None);
        // 2000 records in 1000 ms (2000/s), 500 ms scheduling delay:
        // error = 4000 - 2000 = 2000; historical = 500 × 2000 / 1000 = 1000;
        // 4000 - 2000 - 0.2 × 1000 = 1800.
        assert_eq!(p.compute(2000, 2000, 1000, 500), Some(1800.0));
        // 1800 records in 900 ms (2000/s), 200 ms delay:
        // error = 1800 - 2000 = -200; historical = 200 × 2000 / 1000 = 400;
        // 1800 + 200 - 80 = 1920.
        assert_eq!(p.compute(3000, 1800, 900, 200), Some(1920.0));
    }

    #[test]
    fn the_derivative_term_uses_the_seconds_since_the_last_update() {
        let mut p = PidRateEstimator::new(Duration::from_secs(1), 1.0, 0.0, 0.5, 1.0).unwrap();
        assert_eq!(p.compute(1000, 1000, 1000, 0), None); // seeds 1000/s, error 0
                                                          // 500 in 1000 ms at t = 3 s: error = 1000 - 500 = 500; d = (500 - 0) / 2 s
                                                          // = 250; 1000 - 500 - 0.5 × 250 = 375.
        assert_eq!(p.compute(3000, 500, 1000, 0), Some(375.0));
    }

    #[test]
    fn never_below_the_minimum_and_ignores_empty_or_old_batches() {
        let mut p = pid();
        assert_eq!(p.compute(1000, 10_000, 1000, 0), None); // 10 000/s
        assert_eq!(p.compute(2000, 0, 1000, 0), None, "no elements");
        assert_eq!(p.compute(2000, 10, 0, 0), None, "no processing time");
        // 10 records in 1000 ms with a 10 s delay: far below, clamped.
        assert_eq!(p.compute(2000, 10, 1000, 10_000), Some(100.0));
        assert_eq!(p.compute(1500, 10, 1000, 0), None, "older than the last");
    }

    #[test]
    fn bad_parameters_are_rejected() {
        let d = Duration::from_secs(1);
        assert!(matches!(
            PidRateEstimator::new(d, -1.0, 0.2, 0.0, 100.0),
            Err(RateError::NegativeGain {
                gain: "proportional",
                ..
            })
        ));
        assert_eq!(
            PidRateEstimator::new(d, 1.0, 0.2, 0.0, 0.0).unwrap_err(),
            RateError::MinRate(0.0)
        );
        assert_eq!(
            PidRateEstimator::new(Duration::ZERO, 1.0, 0.2, 0.0, 1.0).unwrap_err(),
            RateError::Interval
        );
        let conf = StreamingConf::new()
            .set(BACKPRESSURE_ENABLED, "true")
            .set(PID_INTEGRAL, "-0.5");
        let e = BackpressureConf::from_conf(&conf).unwrap_err().to_string();
        assert!(e.contains("integral"), "{e}");
    }

    #[test]
    fn settings_default_to_sparks() {
        assert_eq!(
            BackpressureConf::from_conf(&StreamingConf::new()).unwrap(),
            None
        );
        let bp =
            BackpressureConf::from_conf(&StreamingConf::new().set(BACKPRESSURE_ENABLED, "true"))
                .unwrap()
                .unwrap();
        assert_eq!(bp.gains, (1.0, 0.2, 0.0));
        assert_eq!(bp.min_rate, 100.0);
        assert_eq!(bp.initial_rate, None);
    }

    fn lags(v: &[(u32, u64)]) -> BTreeMap<u32, u64> {
        v.iter().copied().collect()
    }

    #[test]
    fn kafka_shares_the_rate_by_lag() {
        let sec = Duration::from_secs(1);
        // 1000/s over lags 600, 300, 100: 600, 300, 100 records.
        let m = max_messages_per_partition(
            &lags(&[(0, 600), (1, 300), (2, 100)]),
            Some(1000.0),
            None,
            1,
            sec,
        );
        assert_eq!(m, Some(lags(&[(0, 600), (1, 300), (2, 100)])));
        // Capped by maxRatePerPartition = 400, raised to minRatePerPartition = 150.
        let m = max_messages_per_partition(
            &lags(&[(0, 600), (1, 300), (2, 100)]),
            Some(1000.0),
            Some(400.0),
            150,
            sec,
        );
        assert_eq!(m, Some(lags(&[(0, 400), (1, 300), (2, 150)])));
        // 500 ms batches halve the counts; no lag anywhere gives the minimum.
        let half = Duration::from_millis(500);
        let m =
            max_messages_per_partition(&lags(&[(0, 300), (1, 100)]), Some(1000.0), None, 1, half);
        assert_eq!(m, Some(lags(&[(0, 375), (1, 125)])));
        assert_eq!(
            max_messages_per_partition(&lags(&[(0, 0)]), Some(1000.0), None, 1, sec),
            None
        );
        // Without an estimate: maxRatePerPartition each, or no limit at all.
        let m = max_messages_per_partition(&lags(&[(0, 5), (1, 0)]), None, Some(20.0), 1, sec);
        assert_eq!(m, Some(lags(&[(0, 20), (1, 20)])));
        assert_eq!(
            max_messages_per_partition(&lags(&[(0, 5)]), None, None, 1, sec),
            None
        );
    }
}
