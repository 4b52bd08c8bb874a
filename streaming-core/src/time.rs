//! Batch times.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A batch time: milliseconds since the Unix epoch (or since zero under a
/// [`ManualClock`](crate::ManualClock)), printed as Spark prints it (`1000 ms`).
///
/// ```
/// use streaming_core::Time;
/// use std::time::Duration;
/// let t = Time::from_millis(3000);
/// assert_eq!((t + Duration::from_secs(3)).as_millis(), 6000);
/// assert_eq!(t.to_string(), "3000 ms");
/// ```
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug, Serialize, Deserialize,
)]
pub struct Time(u64);

impl Time {
    /// The time zero.
    pub const ZERO: Time = Time(0);

    /// A time from milliseconds.
    pub const fn from_millis(ms: u64) -> Time {
        Time(ms)
    }

    /// The time in milliseconds.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// The current wall-clock time.
    pub fn now() -> Time {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Time(ms)
    }

    /// `self - other`, or zero when `other` is later.
    pub fn saturating_since(self, other: Time) -> Duration {
        Duration::from_millis(self.0.saturating_sub(other.0))
    }

    /// `self - d`, saturating at zero.
    pub fn saturating_sub(self, d: Duration) -> Time {
        Time(self.0.saturating_sub(duration_ms(d)))
    }

    /// Whether `self` is a whole multiple of `d` (`d` non-zero).
    pub fn is_multiple_of(self, d: Duration) -> bool {
        let d = duration_ms(d);
        d != 0 && self.0.is_multiple_of(d)
    }

    /// The largest multiple of `d` that is not after `self`.
    pub fn floor(self, d: Duration) -> Time {
        let d = duration_ms(d).max(1);
        Time(self.0 / d * d)
    }
}

/// A duration in whole milliseconds (the runtime's resolution).
pub(crate) fn duration_ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

impl std::ops::Add<Duration> for Time {
    type Output = Time;
    fn add(self, d: Duration) -> Time {
        Time(self.0 + duration_ms(d))
    }
}

impl std::ops::Sub<Duration> for Time {
    type Output = Time;
    fn sub(self, d: Duration) -> Time {
        Time(self.0 - duration_ms(d))
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ms", self.0)
    }
}
