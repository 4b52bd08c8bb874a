//! Running a query on a manual clock, batch by batch, as the results tests,
//! the examples and the bench do.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use streaming::prelude::*;
use streaming::{Data, ManualClock};

/// How long a batch may take before [`drive`] gives up.
pub const BATCH_TIMEOUT: Duration = Duration::from_secs(600);

/// A configuration for a query: `local[cores]`, a new manual clock, no UI
/// server (nothing to serve in a test or a bench).
pub fn manual_conf(app: &str, cores: usize) -> StreamingConf {
    StreamingConf::new()
        .app_name(app)
        .master(format!("local[{cores}]"))
        .manual_clock(ManualClock::new())
        .set("spark.ui.enabled", "false")
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Run<T> {
    /// Each output batch: (batch time in ms, elements in partition order);
    /// empty unless the run collected.
    pub batches: Vec<(u64, Vec<T>)>,
    /// Elements output over the run.
    pub outputs: u64,
    /// Per batch: from the clock's advance to the batch's completion.
    pub latencies: Vec<Duration>,
}

/// Starts `ssc` with an output on `out` (collecting every batch when
/// `collect`, else only counting), runs `batches` batches on its manual
/// clock (`before(i)` runs before batch `i` is due) and stops it.
pub fn drive<T: Data>(
    ssc: StreamingContext,
    out: &DStream<T>,
    batches: u64,
    collect: bool,
    mut before: impl FnMut(u64),
) -> streaming::Result<Run<T>> {
    type Sink<T> = Arc<Mutex<(Vec<(u64, Vec<T>)>, u64)>>;
    let sink: Sink<T> = Arc::default();
    let s = sink.clone();
    out.foreach_batch(move |batch, time| {
        let mut s = s.lock().unwrap_or_else(|e| e.into_inner());
        if collect {
            let items = batch.collect();
            s.1 += items.len() as u64;
            s.0.push((time.as_millis(), items));
        } else {
            s.1 += batch.len() as u64;
        }
    });
    ssc.start()?;
    let clock = ssc.manual_clock().expect("drive needs a manual clock");
    let interval = ssc.batch_interval();
    let mut latencies = Vec::with_capacity(batches as usize);
    let result = (|| {
        for i in 1..=batches {
            before(i);
            let started = Instant::now();
            clock.advance(interval);
            ssc.await_batch_completion(
                Time::from_millis(i * interval.as_millis() as u64),
                BATCH_TIMEOUT,
            )?;
            latencies.push(started.elapsed());
        }
        Ok(())
    })();
    ssc.stop(StopMode::Immediate);
    result?;
    let (batches, outputs) = std::mem::take(&mut *sink.lock().unwrap_or_else(|e| e.into_inner()));
    Ok(Run {
        batches,
        outputs,
        latencies,
    })
}
