//! Clocks: the system clock, and a manual clock that tests advance by hand.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::time::Time;

/// The clock that decides when batches are generated.
///
/// [`Clock::System`] follows wall-clock time. [`Clock::Manual`] only moves when
/// [`ManualClock::advance`] or [`ManualClock::set_time`] is called, which makes
/// batch generation fully deterministic, as in Spark's own test suites.
#[derive(Clone, Debug)]
pub enum Clock {
    /// Wall-clock time.
    System,
    /// A clock moved by hand.
    Manual(ManualClock),
}

impl Clock {
    /// The current time of this clock.
    pub fn now(&self) -> Time {
        match self {
            Clock::System => Time::now(),
            Clock::Manual(m) => m.time(),
        }
    }

    /// Waits until the clock reaches `t`.
    pub(crate) async fn wait_until(&self, t: Time) {
        match self {
            Clock::System => loop {
                let left = until_wall(t);
                if left.is_zero() {
                    return;
                }
                if left > PRECISE_SLEEP {
                    // The timer wheel ticks in whole milliseconds (and
                    // rounds up): sleep on it until shortly before `t`.
                    tokio::time::sleep(left - PRECISE_SLEEP).await;
                } else {
                    // The last stretch on a blocking thread, whose sleep is
                    // precise to tens of microseconds, so that batches start
                    // on time (short: a stop never waits for it long).
                    let _ = tokio::task::spawn_blocking(move || std::thread::sleep(left)).await;
                }
            },
            Clock::Manual(m) => m.wait_until(t).await,
        }
    }
}

/// How long before a batch time the system clock stops sleeping on tokio's
/// millisecond timer and sleeps precisely.
const PRECISE_SLEEP: Duration = Duration::from_millis(2);

/// The wall-clock time left until `t` (zero once reached), to the
/// nanosecond.
fn until_wall(t: Time) -> Duration {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Duration::from_millis(t.as_millis()).saturating_sub(now)
}

/// A clock that only moves when told to; cheap to clone (clones share the time).
///
/// ```
/// use streaming_core::ManualClock;
/// use std::time::Duration;
/// let clock = ManualClock::new();
/// clock.advance(Duration::from_secs(1));
/// assert_eq!(clock.time().as_millis(), 1000);
/// ```
#[derive(Clone, Debug)]
pub struct ManualClock {
    tx: Arc<watch::Sender<u64>>,
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl ManualClock {
    /// A manual clock at time zero.
    pub fn new() -> Self {
        Self::starting_at(Time::ZERO)
    }

    /// A manual clock at the given time.
    pub fn starting_at(t: Time) -> Self {
        let (tx, _) = watch::channel(t.as_millis());
        ManualClock { tx: Arc::new(tx) }
    }

    /// The current time.
    pub fn time(&self) -> Time {
        Time::from_millis(*self.tx.borrow())
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        self.tx.send_modify(|t| *t += d.as_millis() as u64);
    }

    /// Sets the clock to `t` (it never moves backwards).
    pub fn set_time(&self, t: Time) {
        self.tx.send_modify(|cur| *cur = (*cur).max(t.as_millis()));
    }

    async fn wait_until(&self, t: Time) {
        let mut rx = self.tx.subscribe();
        // The sender lives as long as `self`, so this cannot fail.
        let _ = rx.wait_for(|now| *now >= t.as_millis()).await;
    }
}
