//! Parsers for the free-form settings of [`StreamingConf`], with Spark's
//! value syntax (`100ms`, `60s`, `2min`; `64k`, `128m`). Inputs, the Kafka
//! stream and other crates read their own keys through them, so every
//! setting fails the same way on a bad value: a [`StreamingError::Config`]
//! naming the key and the value.
//!
//! ```
//! use streaming_core::conf::settings;
//! use streaming_core::StreamingConf;
//! use std::time::Duration;
//!
//! let conf = StreamingConf::new().set("my.timeout", "250ms");
//! let t = settings::get(&conf, "my.timeout", |k, v| settings::parse_duration(k, v, "s"));
//! assert_eq!(t.unwrap(), Some(Duration::from_millis(250)));
//! ```

use std::time::Duration;

use crate::conf::StreamingConf;
use crate::error::{Result, StreamingError};

fn invalid(key: &str, value: &str, expected: &str) -> StreamingError {
    StreamingError::Config(format!("{key}={value:?}: expected {expected}"))
}

/// A duration such as `100ms`, `60s`, `2min`, `1h`; a bare number is in
/// `default_unit`.
pub fn parse_duration(key: &str, value: &str, default_unit: &str) -> Result<Duration> {
    let v = value.trim();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let unit = match unit.trim() {
        "" => default_unit,
        u => u,
    };
    let n: f64 = num
        .parse()
        .map_err(|_| invalid(key, value, "a duration such as 100ms, 60s or 2min"))?;
    let ms = match unit {
        "ms" => n,
        "s" => n * 1e3,
        "m" | "min" => n * 60e3,
        "h" => n * 3600e3,
        _ => return Err(invalid(key, value, "a duration unit among ms, s, min, h")),
    };
    if !ms.is_finite() || ms < 0.0 {
        return Err(invalid(key, value, "a non-negative duration"));
    }
    Ok(Duration::from_millis(ms as u64))
}

/// A size such as `64k`, `128m`, `1g`, `512b`; a bare number is in bytes.
pub fn parse_bytes(key: &str, value: &str) -> Result<u64> {
    let v = value.trim().to_ascii_lowercase();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| invalid(key, value, "a size such as 64k or 128m"))?;
    let mult: u64 = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" => 1 << 10,
        "m" | "mb" => 1 << 20,
        "g" | "gb" => 1 << 30,
        _ => return Err(invalid(key, value, "a size unit among b, k, m, g")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| invalid(key, value, "a size that fits in 64 bits"))
}

/// A positive count.
pub fn parse_count(key: &str, value: &str) -> Result<usize> {
    match value.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(invalid(key, value, "a positive integer")),
    }
}

/// A rate in records per second; `None` when unlimited (`<= 0`).
pub fn parse_rate(key: &str, value: &str) -> Result<Option<f64>> {
    match value.trim().parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(Some(r)),
        Ok(r) if r.is_finite() => Ok(None),
        _ => Err(invalid(key, value, "a number of records per second")),
    }
}

/// `true` or `false` (any case).
pub fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value.trim() {
        v if v.eq_ignore_ascii_case("true") => Ok(true),
        v if v.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(invalid(key, value, "true or false")),
    }
}

/// Looks `key` up in `conf` and parses it with `parse`.
pub fn get<V>(
    conf: &StreamingConf,
    key: &str,
    parse: impl FnOnce(&str, &str) -> Result<V>,
) -> Result<Option<V>> {
    conf.get(key).map(|v| parse(key, v)).transpose()
}

/// Every `spark.*` key this project implements (in any of its crates: the
/// Kafka keys are read by `streaming-kafka`). A `spark.*` key set in a
/// [`StreamingConf`] and missing here is reported once when the context
/// starts, naming it (Spark silently ignores such keys).
pub const IMPLEMENTED_SPARK_SETTINGS: &[&str] = &[
    "spark.driver.bindAddress",
    "spark.files.maxPartitionBytes",
    "spark.port.maxRetries",
    "spark.streaming.backpressure.enabled",
    "spark.streaming.backpressure.initialRate",
    "spark.streaming.backpressure.pid.derived",
    "spark.streaming.backpressure.pid.integral",
    "spark.streaming.backpressure.pid.minRate",
    "spark.streaming.backpressure.pid.proportional",
    "spark.streaming.checkpoint.directory",
    "spark.streaming.fileStream.minRememberDuration",
    "spark.streaming.kafka.consumer.cache.maxCapacity",
    "spark.streaming.kafka.consumer.poll.ms",
    "spark.streaming.kafka.maxRatePerPartition",
    "spark.streaming.kafka.minRatePerPartition",
    "spark.streaming.receiver.maxBufferedBytes",
    "spark.streaming.receiver.maxRate",
    "spark.streaming.receiver.writeAheadLog.enable",
    "spark.streaming.receiver.writeAheadLog.rollingIntervalSecs",
    "spark.streaming.receiverRestartDelay",
    "spark.streaming.stopGracefullyOnShutdown",
    "spark.streaming.stopOnBatchFailure",
    "spark.streaming.ui.retainedBatches",
    "spark.ui.enabled",
    "spark.ui.port",
];

pub use super::LOCAL_SETTINGS;

/// The `spark.*` keys of `conf` that this project does not implement (see
/// [`IMPLEMENTED_SPARK_SETTINGS`]), in key order.
///
/// ```
/// use streaming_core::conf::settings;
/// use streaming_core::StreamingConf;
/// let conf = StreamingConf::new()
///     .set("spark.streaming.receiver.maxRate", "100")
///     .set("spark.streaming.blockInterval", "50ms")
///     .set("my.own.key", "1");
/// assert_eq!(settings::unimplemented_spark_settings(&conf), vec!["spark.streaming.blockInterval"]);
/// ```
pub fn unimplemented_spark_settings(conf: &StreamingConf) -> Vec<&str> {
    conf.keys()
        .filter(|k| k.starts_with("spark.") && !IMPLEMENTED_SPARK_SETTINGS.contains(k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_spark_syntax() {
        assert_eq!(
            parse_duration("k", "250ms", "s").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(
            parse_duration("k", "3", "s").unwrap(),
            Duration::from_secs(3)
        );
        assert_eq!(
            parse_duration("k", "2min", "s").unwrap(),
            Duration::from_secs(120)
        );
        let e = parse_duration("k", "soon", "s").unwrap_err().to_string();
        assert!(e.contains("k=\"soon\""), "{e}");
        assert!(parse_duration("k", "3 parsecs", "s").is_err());
    }

    #[test]
    fn every_spark_key_the_runtime_reads_is_listed() {
        use crate::input::settings as input;
        let mut keys = vec![
            input::MAX_RATE,
            input::MAX_BUFFERED_BYTES,
            input::RESTART_DELAY,
            input::MIN_REMEMBER,
            input::MAX_PARTITION_BYTES,
            input::WAL_ENABLE,
            input::WAL_ROLLING_INTERVAL,
            crate::STOP_ON_BATCH_FAILURE,
            crate::CHECKPOINT_DIRECTORY,
            crate::STOP_GRACEFULLY_ON_SHUTDOWN,
            crate::rate::BACKPRESSURE_ENABLED,
            crate::rate::BACKPRESSURE_INITIAL_RATE,
            crate::rate::PID_PROPORTIONAL,
            crate::rate::PID_INTEGRAL,
            crate::rate::PID_DERIVATIVE,
            crate::rate::PID_MIN_RATE,
        ];
        #[cfg(feature = "ui")]
        keys.extend([
            crate::UI_ENABLED,
            crate::UI_PORT,
            crate::UI_BIND_ADDRESS,
            crate::PORT_MAX_RETRIES,
            crate::UI_RETAINED_BATCHES,
        ]);
        for k in keys {
            assert!(IMPLEMENTED_SPARK_SETTINGS.contains(&k), "{k} is not listed");
        }
    }

    #[test]
    fn the_implemented_list_is_sorted_and_unique() {
        let mut sorted = IMPLEMENTED_SPARK_SETTINGS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, IMPLEMENTED_SPARK_SETTINGS);
    }

    #[test]
    fn sizes_and_rates() {
        assert_eq!(parse_bytes("k", "64k").unwrap(), 65536);
        assert_eq!(parse_bytes("k", "2MB").unwrap(), 2 << 20);
        assert!(parse_bytes("k", "-1").is_err());
        assert_eq!(parse_rate("k", "100").unwrap(), Some(100.0));
        assert_eq!(parse_rate("k", "0").unwrap(), None);
        assert!(parse_rate("k", "fast").is_err());
        assert_eq!(parse_count("k", "10").unwrap(), 10);
        assert!(parse_count("k", "0").is_err());
    }
}
