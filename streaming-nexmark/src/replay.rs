//! The replay input: Nexmark events cut into batches by event time.

use std::sync::Mutex;
use std::time::Duration;

use nexmark::config::{NexmarkConfig, RateShape};
use nexmark::event::Event;
use nexmark::EventGenerator;
use streaming::{Batch, InputSource, Result as StreamingResult, Time};

/// An invalid [`NexmarkSpec`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NexmarkError {
    /// The event rate must be at least one event per second.
    #[error("nexmark: events_per_second must be > 0")]
    ZeroRate,
    /// The batch interval must be at least a millisecond.
    #[error("nexmark: the batch interval must be at least 1 ms, got {0:?}")]
    ZeroInterval(Duration),
    /// A batch needs at least one partition.
    #[error("nexmark: partitions must be > 0")]
    ZeroPartitions,
}

/// What to generate and how to cut it into batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NexmarkSpec {
    /// How many events in all (the replay then produces empty batches).
    pub events: u64,
    /// Event-time rate of the generator, events per second (the `nexmark`
    /// crate's `first_rate` = `next_rate`, square rate shape).
    pub events_per_second: usize,
    /// The width of a batch in event time (the context's batch interval).
    pub batch_interval: Duration,
    /// Event time of the first event, in milliseconds.
    pub base_time: u64,
    /// Partitions of each batch (contiguous slices of the events).
    pub partitions: usize,
}

impl Default for NexmarkSpec {
    /// 2,000 events at 100 events/s from event time 0, 1 s batches of 2
    /// partitions: the small fixed event set of the results tests (20 batches).
    fn default() -> Self {
        NexmarkSpec {
            events: 2_000,
            events_per_second: 100,
            batch_interval: Duration::from_secs(1),
            base_time: 0,
            partitions: 2,
        }
    }
}

impl NexmarkSpec {
    /// Checks the spec.
    pub fn validate(&self) -> Result<(), NexmarkError> {
        if self.events_per_second == 0 {
            return Err(NexmarkError::ZeroRate);
        }
        if self.batch_interval.as_millis() == 0 {
            return Err(NexmarkError::ZeroInterval(self.batch_interval));
        }
        if self.partitions == 0 {
            return Err(NexmarkError::ZeroPartitions);
        }
        Ok(())
    }

    /// The generator's configuration: the `nexmark` crate's defaults with
    /// this rate and base time (deterministic: the generator is seeded by
    /// the event number).
    pub fn config(&self) -> NexmarkConfig {
        NexmarkConfig {
            base_time: self.base_time,
            first_rate: self.events_per_second,
            next_rate: self.events_per_second,
            rate_shape: RateShape::Square,
            ..NexmarkConfig::default()
        }
    }

    /// Every event of this spec, in generation (= event time) order. For
    /// small sets: tests and the reference computations.
    pub fn events(&self) -> Vec<Event> {
        EventGenerator::new(self.config())
            .take(self.events as usize)
            .collect()
    }

    /// How many batches hold the events.
    pub fn batches(&self) -> u64 {
        let last = self.events().last().map(Event::timestamp);
        match last {
            None => 0,
            Some(ts) => (ts - self.base_time) / self.batch_interval.as_millis() as u64 + 1,
        }
    }
}

/// The generated events, batch after batch by event time: the `i`-th call
/// of [`Replay::next_batch`] returns the events with timestamp in
/// `[base + (i-1)·interval, base + i·interval)`.
pub struct Replay {
    generator: EventGenerator,
    remaining: u64,
    lookahead: Option<Event>,
    window_end: u64,
    interval: u64,
}

impl Replay {
    /// A replay of `spec`.
    pub fn new(spec: &NexmarkSpec) -> Result<Self, NexmarkError> {
        spec.validate()?;
        Ok(Replay {
            generator: EventGenerator::new(spec.config()),
            remaining: spec.events,
            lookahead: None,
            window_end: spec.base_time,
            interval: spec.batch_interval.as_millis() as u64,
        })
    }

    /// The events of the next interval of event time (empty once all events
    /// were replayed).
    pub fn next_batch(&mut self) -> Vec<Event> {
        self.window_end += self.interval;
        let mut out = Vec::new();
        loop {
            let event = match self.lookahead.take() {
                Some(e) => e,
                None if self.remaining == 0 => break,
                None => {
                    self.remaining -= 1;
                    match self.generator.next() {
                        Some(e) => e,
                        None => break,
                    }
                }
            };
            if event.timestamp() >= self.window_end {
                self.lookahead = Some(event);
                break;
            }
            out.push(event);
        }
        out
    }

    /// Whether events are left to replay.
    pub fn has_more(&self) -> bool {
        self.remaining > 0 || self.lookahead.is_some()
    }

    /// Event time (ms) at which the current batch ends (exclusive).
    pub fn window_end(&self) -> u64 {
        self.window_end
    }
}

/// Splits `events` into `partitions` contiguous slices.
pub fn partitioned(events: Vec<Event>, partitions: usize) -> Batch<Event> {
    let n = events.len();
    let mut parts: Vec<Vec<Event>> = Vec::with_capacity(partitions);
    let mut it = events.into_iter();
    for j in 0..partitions {
        let len = (j + 1) * n / partitions - j * n / partitions;
        parts.push(it.by_ref().take(len).collect());
    }
    Batch::from_partitions(parts)
}

/// Moves an event's times (and an auction's expiry) by `shift` ms.
pub fn rebase(event: &mut Event, shift: i64) {
    let by = |t: &mut u64| *t = t.wrapping_add_signed(shift);
    match event {
        Event::Person(p) => by(&mut p.date_time),
        Event::Auction(a) => {
            by(&mut a.date_time);
            by(&mut a.expires);
        }
        Event::Bid(b) => by(&mut b.date_time),
    }
}

/// A [`Replay`] as an input: the batch at time `t` holds the events of one
/// interval of event time, rebased so that they lie in `[t - interval, t)`
/// (with a manual clock starting at 0 and `base_time` 0 nothing moves). The
/// first batch time the context asks for fixes the shift; each later batch
/// takes the next interval of events, so batch time follows event time.
pub struct NexmarkSource {
    state: Mutex<SourceState>,
    partitions: usize,
    interval: u64,
    base: u64,
}

struct SourceState {
    replay: Replay,
    shift: Option<i64>,
}

impl NexmarkSource {
    /// The replay of `spec` as an input.
    pub fn new(spec: &NexmarkSpec) -> Result<Self, NexmarkError> {
        Ok(NexmarkSource {
            state: Mutex::new(SourceState {
                replay: Replay::new(spec)?,
                shift: None,
            }),
            partitions: spec.partitions,
            interval: spec.batch_interval.as_millis() as u64,
            base: spec.base_time,
        })
    }
}

impl InputSource<Event> for NexmarkSource {
    fn name(&self) -> String {
        "nexmark".to_string()
    }

    fn compute(&self, time: Time) -> StreamingResult<Option<Batch<Event>>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (base, interval) = (self.base as i64, self.interval as i64);
        let shift = *state
            .shift
            .get_or_insert(time.as_millis() as i64 - interval - base);
        let mut events = state.replay.next_batch();
        if shift != 0 {
            events.iter_mut().for_each(|e| rebase(e, shift));
        }
        Ok(Some(partitioned(events, self.partitions)))
    }

    fn has_pending_data(&self) -> bool {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.replay.has_more()
    }
}
