//! Per-stream settings of a direct stream ([`DirectStreamConfig`]), resolved
//! against the context's configuration.

use std::time::Duration;

use streaming_core::rate::BackpressureConf;
use streaming_core::{conf::settings, Result, StreamingConf, StreamingError};

/// Spark's per-partition rate limit, in records per second.
pub(crate) const MAX_RATE_PER_PARTITION: &str = "spark.streaming.kafka.maxRatePerPartition";
/// Spark's lower bound of the per-partition rate, in records per second.
pub(crate) const MIN_RATE_PER_PARTITION: &str = "spark.streaming.kafka.minRatePerPartition";
/// Spark's longest wait for a batch's records.
pub(crate) const POLL_TIMEOUT: &str = "spark.streaming.kafka.consumer.poll.ms";
/// Spark's capacity of the consumer cache (per worker here).
pub(crate) const CACHE_CAPACITY: &str = "spark.streaming.kafka.consumer.cache.maxCapacity";
/// Worker threads of a stream.
pub(crate) const WORKERS: &str = "streaming.kafka.workers";
/// Longest wait for a metadata or offset query.
pub(crate) const QUERY_TIMEOUT: &str = "streaming.kafka.queryTimeout";
/// First delay before retrying a failed query.
pub(crate) const RETRY_BACKOFF: &str = "streaming.kafka.retryBackoff";
/// Longest delay between query retries.
pub(crate) const MAX_RETRY_BACKOFF: &str = "streaming.kafka.maxRetryBackoff";
/// Whether an undecodable record fails its batch.
pub(crate) const FAIL_ON_UNDECODABLE: &str = "streaming.kafka.failOnUndecodable";

/// Settings of one direct stream. Options left unset take the context's
/// configuration settings ([`StreamingConf::set`]), then the defaults:
///
/// | option | setting | default |
/// |---|---|---|
/// | [`max_rate_per_partition`](Self::max_rate_per_partition) | `spark.streaming.kafka.maxRatePerPartition` (records/s, `<= 0`: none) | unlimited |
/// | [`min_rate_per_partition`](Self::min_rate_per_partition) | `spark.streaming.kafka.minRatePerPartition` (records/s) | 1 |
/// | [`poll_timeout`](Self::poll_timeout) | `spark.streaming.kafka.consumer.poll.ms` (ms) | 120 s |
/// | [`consumer_cache_capacity`](Self::consumer_cache_capacity) | `spark.streaming.kafka.consumer.cache.maxCapacity` | 64 per worker |
/// | [`workers`](Self::workers) | `streaming.kafka.workers` | the master's thread count |
/// | [`query_timeout`](Self::query_timeout) | `streaming.kafka.queryTimeout` (ms) | 10 s |
/// | [`retry_backoff`](Self::retry_backoff) | `streaming.kafka.retryBackoff`, `streaming.kafka.maxRetryBackoff` (ms) | 100 ms doubling to 5 s |
/// | [`fail_on_undecodable`](Self::fail_on_undecodable) | `streaming.kafka.failOnUndecodable` (`true`/`false`) | false |
#[derive(Clone, Debug, Default)]
pub struct DirectStreamConfig {
    max_rate: Option<f64>,
    min_rate: Option<u64>,
    poll_timeout: Option<Duration>,
    cache_capacity: Option<usize>,
    workers: Option<usize>,
    query_timeout: Option<Duration>,
    retry_backoff: Option<(Duration, Duration)>,
    fail_on_undecodable: Option<bool>,
}

impl DirectStreamConfig {
    /// The defaults (everything taken from the context's configuration).
    pub fn new() -> Self {
        Self::default()
    }

    /// Limits each partition to `records_per_second` per second of batch
    /// interval: a batch of interval `d` reads at most
    /// `records_per_second × d` records of a partition (never fewer than the
    /// [minimum](Self::min_rate_per_partition)); the rest waits for later
    /// batches. `<= 0` means unlimited.
    pub fn max_rate_per_partition(mut self, records_per_second: f64) -> Self {
        self.max_rate = Some(records_per_second);
        self
    }

    /// The smallest per-partition rate a limit may come down to.
    pub fn min_rate_per_partition(mut self, records_per_second: u64) -> Self {
        self.min_rate = Some(records_per_second);
        self
    }

    /// How long reading a batch's range waits for its records (through
    /// broker outages) before the batch fails.
    pub fn poll_timeout(mut self, d: Duration) -> Self {
        self.poll_timeout = Some(d);
        self
    }

    /// How many partition consumers each worker keeps between batches; the
    /// least recently used is closed beyond that.
    pub fn consumer_cache_capacity(mut self, n: usize) -> Self {
        self.cache_capacity = Some(n.max(1));
        self
    }

    /// How many worker threads read the stream's partitions (see
    /// [`LocationStrategy`](super::LocationStrategy)).
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = Some(n.max(1));
        self
    }

    /// How long one metadata or offset query waits for the broker.
    pub fn query_timeout(mut self, d: Duration) -> Self {
        self.query_timeout = Some(d);
        self
    }

    /// After a failed query, batches get no new records until `initial` has
    /// passed, then the query is retried; the delay doubles on each
    /// consecutive failure, up to `max`.
    pub fn retry_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.retry_backoff = Some((initial, max.max(initial)));
        self
    }

    /// Whether a record whose key or value does not decode fails its batch
    /// ([`KafkaDecode`](StreamingError::KafkaDecode)) rather than being
    /// counted, reported and left out.
    pub fn fail_on_undecodable(mut self, fail: bool) -> Self {
        self.fail_on_undecodable = Some(fail);
        self
    }

    pub(crate) fn resolve(&self, conf: &StreamingConf, interval: Duration) -> Result<Settings> {
        let max_rate = match self.max_rate {
            Some(r) if r > 0.0 && r.is_finite() => Some(r),
            Some(_) => None,
            None => settings::get(conf, MAX_RATE_PER_PARTITION, settings::parse_rate)?.flatten(),
        };
        let min_rate = match self.min_rate {
            Some(r) => r,
            None => settings::get(conf, MIN_RATE_PER_PARTITION, |k, v| {
                v.trim().parse::<u64>().map_err(|_| {
                    StreamingError::Config(format!(
                        "{k}={v:?}: expected a whole number of records per second"
                    ))
                })
            })?
            .unwrap_or(1),
        };
        let ms = |k: &str, v: &str| settings::parse_duration(k, v, "ms");
        let poll_timeout = match self.poll_timeout {
            Some(d) => d,
            None => settings::get(conf, POLL_TIMEOUT, ms)?.unwrap_or(Duration::from_secs(120)),
        };
        let query_timeout = match self.query_timeout {
            Some(d) => d,
            None => settings::get(conf, QUERY_TIMEOUT, ms)?.unwrap_or(Duration::from_secs(10)),
        };
        let retry_backoff = match self.retry_backoff {
            Some(b) => b,
            None => {
                let initial =
                    settings::get(conf, RETRY_BACKOFF, ms)?.unwrap_or(Duration::from_millis(100));
                let max =
                    settings::get(conf, MAX_RETRY_BACKOFF, ms)?.unwrap_or(Duration::from_secs(5));
                (initial, max.max(initial))
            }
        };
        let cache_capacity = match self.cache_capacity {
            Some(n) => n,
            None => settings::get(conf, CACHE_CAPACITY, settings::parse_count)?.unwrap_or(64),
        };
        let workers = match self.workers {
            Some(n) => n,
            None => match settings::get(conf, WORKERS, settings::parse_count)? {
                Some(n) => n,
                None => conf.parallelism()?,
            },
        };
        let fail_on_undecodable = match self.fail_on_undecodable {
            Some(f) => f,
            None => settings::get(conf, FAIL_ON_UNDECODABLE, |k, v| {
                match v.trim().to_ascii_lowercase().as_str() {
                    "true" => Ok(true),
                    "false" => Ok(false),
                    _ => Err(StreamingError::Config(format!(
                        "{k}={v:?}: expected true or false"
                    ))),
                }
            })?
            .unwrap_or(false),
        };
        let secs = interval.as_secs_f64();
        let max_per_batch = max_rate.map(|r| {
            let by_rate = (r * secs).floor() as u64;
            let floor = (min_rate as f64 * secs).floor() as u64;
            by_rate.max(floor).max(1)
        });
        let backpressure = BackpressureConf::from_conf(conf)?;
        Ok(Settings {
            max_per_batch,
            max_rate,
            min_rate,
            backpressure,
            poll_timeout,
            query_timeout,
            retry_backoff,
            cache_capacity,
            workers,
            fail_on_undecodable,
        })
    }
}

/// The resolved settings of a stream.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// Most records a batch takes from one partition (`None`: unlimited),
    /// without backpressure.
    pub(crate) max_per_batch: Option<u64>,
    /// `maxRatePerPartition` (records/s), if limited.
    pub(crate) max_rate: Option<f64>,
    /// `minRatePerPartition` (records/s).
    pub(crate) min_rate: u64,
    /// Backpressure (`spark.streaming.backpressure.*`), when enabled.
    pub(crate) backpressure: Option<BackpressureConf>,
    pub(crate) poll_timeout: Duration,
    pub(crate) query_timeout: Duration,
    pub(crate) retry_backoff: (Duration, Duration),
    pub(crate) cache_capacity: usize,
    pub(crate) workers: usize,
    pub(crate) fail_on_undecodable: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf() -> StreamingConf {
        StreamingConf::new()
            .master("local[3]")
            .batch_interval(Duration::from_secs(2))
    }

    #[test]
    fn rate_limits_per_batch() {
        let s = DirectStreamConfig::new()
            .max_rate_per_partition(10.0)
            .resolve(&conf(), Duration::from_secs(2))
            .unwrap();
        assert_eq!(s.max_per_batch, Some(20));
        // Never below the minimum rate.
        let s = DirectStreamConfig::new()
            .max_rate_per_partition(1.0)
            .min_rate_per_partition(5)
            .resolve(&conf(), Duration::from_secs(2))
            .unwrap();
        assert_eq!(s.max_per_batch, Some(10));
        let s = DirectStreamConfig::new()
            .resolve(&conf(), Duration::from_secs(2))
            .unwrap();
        assert_eq!(s.max_per_batch, None);
        assert_eq!(s.workers, 3);
    }

    #[test]
    fn the_spark_keys_read_here_are_known_to_the_runtime() {
        use streaming_core::conf::settings::IMPLEMENTED_SPARK_SETTINGS;
        for k in [
            MAX_RATE_PER_PARTITION,
            MIN_RATE_PER_PARTITION,
            POLL_TIMEOUT,
            CACHE_CAPACITY,
        ] {
            assert!(IMPLEMENTED_SPARK_SETTINGS.contains(&k), "{k} is not listed");
        }
    }

    #[test]
    fn settings_from_the_configuration() {
        let c = conf()
            .set(MAX_RATE_PER_PARTITION, "100")
            .set(POLL_TIMEOUT, "2500")
            .set(WORKERS, "2")
            .set(FAIL_ON_UNDECODABLE, "true");
        let s = DirectStreamConfig::new()
            .resolve(&c, Duration::from_millis(500))
            .unwrap();
        assert_eq!(s.max_per_batch, Some(50));
        assert_eq!(s.poll_timeout, Duration::from_millis(2500));
        assert_eq!(s.workers, 2);
        assert!(s.fail_on_undecodable);
        let bad = conf().set(FAIL_ON_UNDECODABLE, "maybe");
        let e = DirectStreamConfig::new()
            .resolve(&bad, Duration::from_secs(1))
            .unwrap_err();
        assert!(e.to_string().contains("expected true or false"), "{e}");
    }
}
