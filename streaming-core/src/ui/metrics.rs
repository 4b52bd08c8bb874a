//! `/metrics`: Spark's `StreamingSource` gauges in Prometheus naming (totals
//! as counters, delays in seconds), plus per-input record and bad-record
//! counts and the checkpoints (durations as a histogram, failures), all
//! labelled with the application name. Rendered by prometheus-client in the
//! text (OpenMetrics) format at every scrape from the status store.

use std::borrow::Cow;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use super::app::UiApp;

type Labels = Vec<(&'static str, String)>;

fn counter(v: u64) -> Counter {
    let c = Counter::default();
    c.inc_by(v);
    c
}

fn gauge(v: i64) -> Gauge {
    let g = Gauge::default();
    g.set(v);
    g
}

fn seconds(d: Option<Duration>) -> Gauge<f64, AtomicU64> {
    let g = Gauge::<f64, AtomicU64>::default();
    g.set(d.map_or(0.0, |d| d.as_secs_f64()));
    g
}

/// The metrics of `app` now, in the Prometheus text format.
pub(crate) fn render(app: &UiApp) -> String {
    let s = app.store.snapshot();
    let mut r = Registry::with_prefix_and_labels(
        "streaming",
        [(Cow::Borrowed("app"), Cow::Owned(app.name.clone()))].into_iter(),
    );
    r.register(
        "receivers",
        "Input streams of the application",
        gauge(app.inputs.len() as i64),
    );
    r.register(
        "completed_batches",
        "Batches completed (Spark: totalCompletedBatches)",
        counter(s.total_completed),
    );
    r.register(
        "failed_batches",
        "Batches that failed",
        counter(s.total_failed),
    );
    r.register(
        "received_records",
        "Records of every batch that ran (Spark: totalReceivedRecords)",
        counter(s.total_received),
    );
    r.register(
        "processed_records",
        "Records of the batches that completed without failure (Spark: totalProcessedRecords)",
        counter(s.total_processed),
    );
    r.register(
        "waiting_batches",
        "Batches generated and waiting to run (Spark: waitingBatches)",
        gauge(s.waiting.len() as i64),
    );
    r.register(
        "running_batches",
        "Batches being processed (Spark: runningBatches)",
        gauge(s.running.len() as i64),
    );
    r.register(
        "unprocessed_batches",
        "Waiting plus running batches (Spark: unprocessedBatches)",
        gauge((s.waiting.len() + s.running.len()) as i64),
    );
    r.register(
        "retained_completed_batches",
        "Completed batches kept by the UI (Spark: retainedCompletedBatches)",
        gauge(s.completed.len() as i64),
    );
    let last = s.last_completed().map(|b| &b.info);
    r.register_with_unit(
        "last_completed_batch_scheduling_delay",
        "Scheduling delay of the last completed batch (Spark: lastCompletedBatch_schedulingDelay)",
        Unit::Seconds,
        seconds(last.and_then(|b| b.scheduling_delay())),
    );
    r.register_with_unit(
        "last_completed_batch_processing_delay",
        "Processing time of the last completed batch (Spark: lastCompletedBatch_processingDelay)",
        Unit::Seconds,
        seconds(last.and_then(|b| b.processing_delay())),
    );
    r.register_with_unit(
        "last_completed_batch_total_delay",
        "Total delay of the last completed batch (Spark: lastCompletedBatch_totalDelay)",
        Unit::Seconds,
        seconds(last.and_then(|b| b.total_delay())),
    );
    r.register(
        "last_completed_batch_records",
        "Records of the last completed batch (Spark: lastReceivedBatch_records)",
        gauge(last.map_or(0, |b| b.num_records as i64)),
    );
    r.register_with_unit(
        "last_completed_batch_time",
        "Batch time of the last completed batch, since the epoch",
        Unit::Seconds,
        seconds(last.map(|b| Duration::from_millis(b.batch_time.as_millis()))),
    );
    let records = Family::<Labels, Counter>::default();
    let bad = Family::<Labels, Counter>::default();
    for input in &app.inputs {
        let labels = vec![
            ("stream_id", input.stream_id().to_string()),
            ("input", input.name()),
        ];
        let n = s
            .received_by_stream
            .get(&input.stream_id())
            .copied()
            .unwrap_or(0);
        records.get_or_create(&labels).inc_by(n);
        bad.get_or_create(&labels).inc_by(input.bad_records());
    }
    r.register(
        "input_records",
        "Records each input produced for the batches that ran",
        records,
    );
    r.register(
        "input_bad_records",
        "Input that could not become a record (invalid UTF-8, undecodable...), per input",
        bad,
    );
    // Inputs shared by the processes of a group (Kafka group mode): what
    // this process owns, and the rebalances it saw.
    let owned = Family::<Labels, Gauge>::default();
    let owned_partition = Family::<Labels, Gauge>::default();
    let rebalances = Family::<Labels, Counter>::default();
    let last_rebalance = Family::<Labels, Gauge<f64, AtomicU64>>::default();
    for input in &app.inputs {
        let Some(own) = input.ownership() else {
            continue;
        };
        let labels = vec![
            ("stream_id", input.stream_id().to_string()),
            ("input", input.name()),
            ("group", own.group.clone()),
        ];
        owned
            .get_or_create(&labels)
            .set(own.partitions.len() as i64);
        rebalances.get_or_create(&labels).inc_by(own.rebalances);
        if let Some(t) = own.last_rebalance {
            last_rebalance
                .get_or_create(&labels)
                .set(t.as_millis() as f64 / 1000.0);
        }
        for p in &own.partitions {
            let mut labels = labels.clone();
            labels.push(("partition", p.clone()));
            owned_partition.get_or_create(&labels).set(1);
        }
    }
    r.register(
        "input_owned_partitions",
        "Partitions of a group-shared input (Kafka group mode) this process owns",
        owned,
    );
    r.register(
        "input_owned_partition",
        "1 for each partition of a group-shared input this process owns",
        owned_partition,
    );
    r.register(
        "input_rebalances",
        "Rebalances of a group-shared input this process saw",
        rebalances,
    );
    r.register_with_unit(
        "input_last_rebalance_batch_time",
        "Batch time from which the last rebalance of a group-shared input took effect, since the epoch",
        Unit::Seconds,
        last_rebalance,
    );
    r.register_with_unit(
        "checkpoint_duration",
        "Time the executor spent taking each checkpoint, by kind (metadata, state)",
        Unit::Seconds,
        app.store.checkpoint_durations().clone(),
    );
    let failures = Family::<Vec<(&'static str, &'static str)>, Counter>::default();
    for kind in ["metadata", "state"] {
        failures
            .get_or_create(&vec![("kind", kind)])
            .inc_by(s.checkpoint_failures.get(kind).copied().unwrap_or(0));
    }
    r.register(
        "checkpoint_failures",
        "Checkpoints that could not be taken or written, by kind",
        failures,
    );
    let mut out = String::new();
    if let Err(e) = encode(&mut out, &r) {
        tracing::warn!(error = %e, "cannot encode the metrics");
    }
    out
}
