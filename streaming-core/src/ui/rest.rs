//! Spark's REST API for streaming (`/api/v1/applications/{app-id}/streaming/..`),
//! with Spark's paths and JSON field names: `StreamingStatistics`,
//! `ReceiverInfo`, `BatchInfo`, `OutputOperationInfo`. Dates are Spark's
//! `yyyy-MM-dd'T'HH:mm:ss.SSS'GMT'`; delays are milliseconds. An unknown
//! application, batch, receiver or operation is a 404 with a JSON error,
//! never a panic.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::app::UiApp;
use super::status::{millis, CompletedBatch, Status};
use crate::listener::{BatchInfo, OutputOperationInfo};
use crate::time::Time;

/// What an endpoint answers.
pub(crate) type Reply = Result<Value, RestError>;

/// An error answer of the REST API.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RestError {
    /// Nothing at that path, or no such application, batch...
    #[error("{0}")]
    NotFound(String),
    /// A malformed query parameter.
    #[error("{0}")]
    BadRequest(String),
}

impl RestError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            RestError::NotFound(_) => StatusCode::NOT_FOUND,
            RestError::BadRequest(_) => StatusCode::BAD_REQUEST,
        }
    }

    pub(crate) fn body(&self) -> Value {
        json!({ "error": self.to_string(), "status": self.status().as_u16() })
    }
}

/// A date in Spark's REST format, e.g. `2015-07-30T12:34:56.789GMT`.
pub(crate) fn spark_date(t: Time) -> String {
    let ms = t.as_millis();
    let (secs, milli) = (ms / 1000, ms % 1000);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{milli:03}GMT",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Year, month, day of a count of days since 1970-01-01 (proleptic
/// Gregorian calendar; H. Hinnant's civil-from-days algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn check_app(app: &UiApp, app_id: &str) -> Result<(), RestError> {
    if app_id == app.id {
        Ok(())
    } else {
        Err(RestError::NotFound(format!("unknown app: {app_id}")))
    }
}

fn app_json(app: &UiApp, status: &Status) -> Value {
    let now = Time::now();
    let end = status.stopped;
    let last = end.unwrap_or(now);
    json!({
        "id": app.id,
        "name": app.name,
        "coresGranted": app.cores,
        "maxCores": app.cores,
        "attempts": [{
            "startTime": spark_date(app.start),
            "endTime": spark_date(end.unwrap_or(Time::from_millis(0))),
            "lastUpdated": spark_date(last),
            "duration": last.saturating_since(app.start).as_millis() as u64,
            "sparkUser": std::env::var("USER").unwrap_or_default(),
            "completed": end.is_some(),
            "appSparkVersion": env!("CARGO_PKG_VERSION"),
            "startTimeEpoch": app.start.as_millis(),
            "endTimeEpoch": end.map_or(-1, |t| t.as_millis() as i64),
            "lastUpdatedEpoch": last.as_millis(),
        }],
    })
}

/// `GET /api/v1/applications`: this application.
pub(crate) fn applications(app: &UiApp) -> Value {
    Value::Array(vec![app_json(app, &app.store.snapshot())])
}

/// `GET /api/v1/applications/{app-id}`.
pub(crate) fn application(app: &UiApp, app_id: &str) -> Reply {
    check_app(app, app_id)?;
    Ok(app_json(app, &app.store.snapshot()))
}

fn avg(values: impl Iterator<Item = u64>) -> Option<u64> {
    let (sum, n) = values.fold((0u64, 0u64), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n)
}

/// `GET .../streaming/statistics`: Spark's `StreamingStatistics`.
pub(crate) fn statistics(app: &UiApp, app_id: &str) -> Reply {
    check_app(app, app_id)?;
    let s = app.store.snapshot();
    let interval_ms = app.batch_interval.as_millis() as u64;
    let done = &s.completed;
    let avg_input_rate = (!done.is_empty()).then(|| {
        let records: u64 = done.iter().map(|b| b.info.num_records).sum();
        records as f64 * 1000.0 / (done.len() as u64 * interval_ms) as f64
    });
    let active_inputs = if s.stopped.is_some() {
        0
    } else {
        app.inputs.len()
    };
    Ok(json!({
        "startTime": spark_date(app.start),
        "batchDuration": interval_ms,
        "numReceivers": app.inputs.len(),
        "numActiveReceivers": active_inputs,
        "numInactiveReceivers": app.inputs.len() - active_inputs,
        "numTotalCompletedBatches": s.total_completed,
        "numRetainedCompletedBatches": done.len(),
        "numActiveBatches": s.waiting.len() + s.running.len(),
        "numProcessedRecords": s.total_processed,
        "numReceivedRecords": s.total_received,
        "avgInputRate": avg_input_rate,
        "avgSchedulingDelay": avg(done.iter().filter_map(|b| b.info.scheduling_delay().map(millis))),
        "avgProcessingTime": avg(done.iter().filter_map(|b| b.info.processing_delay().map(millis))),
        "avgTotalDelay": avg(done.iter().filter_map(|b| b.info.total_delay().map(millis))),
    }))
}

fn receiver_json(app: &UiApp, s: &Status, index: usize) -> Value {
    let input = &app.inputs[index];
    let id = input.stream_id();
    let rates: Vec<(u64, f64)> = s
        .input_rates(id, app.batch_interval)
        .into_iter()
        .map(|(t, r)| (t.as_millis(), r))
        .collect();
    let avg_rate =
        (!rates.is_empty()).then(|| rates.iter().map(|(_, r)| r).sum::<f64>() / rates.len() as f64);
    let err = s.last_errors.get(&id);
    json!({
        "streamId": id,
        "streamName": input.name(),
        "isActive": s.stopped.is_none(),
        "executorId": "driver",
        "executorHost": "localhost",
        "lastErrorTime": err.map(|e| spark_date(e.time)),
        "lastErrorMessage": err.map(|e| e.message.clone()),
        "lastError": err.map(|e| e.message.clone()),
        "avgEventRate": avg_rate,
        "eventRates": rates,
        "numRecords": s.received_by_stream.get(&id).copied().unwrap_or(0),
        "numBadRecords": input.bad_records(),
    })
}

/// `GET .../streaming/receivers`: Spark's `ReceiverInfo` of every input
/// (plus `numRecords` and `numBadRecords`).
pub(crate) fn receivers(app: &UiApp, app_id: &str) -> Reply {
    check_app(app, app_id)?;
    let s = app.store.snapshot();
    Ok(Value::Array(
        (0..app.inputs.len())
            .map(|i| receiver_json(app, &s, i))
            .collect(),
    ))
}

/// `GET .../streaming/receivers/{stream-id}`.
pub(crate) fn receiver(app: &UiApp, app_id: &str, stream_id: &str) -> Reply {
    check_app(app, app_id)?;
    let unknown = || RestError::NotFound(format!("unknown receiver: {stream_id}"));
    let id: usize = stream_id.parse().map_err(|_| unknown())?;
    let index = app
        .inputs
        .iter()
        .position(|i| i.stream_id() == id)
        .ok_or_else(unknown)?;
    Ok(receiver_json(app, &app.store.snapshot(), index))
}

/// A batch in Spark's REST `BatchInfo` form.
fn batch_json(app: &UiApp, info: &BatchInfo, status: &str, ops: &[OutputOperationInfo]) -> Value {
    let completed = ops.iter().filter(|o| o.end_time.is_some()).count();
    let failed = ops.iter().filter(|o| o.failure_reason.is_some()).count();
    let first_failure = ops
        .iter()
        .filter_map(|o| o.failure_reason.clone())
        .next()
        .or_else(|| info.failure.clone());
    json!({
        "batchId": info.batch_time.as_millis(),
        "batchTime": spark_date(info.batch_time),
        "status": status,
        "batchDuration": app.batch_interval.as_millis() as u64,
        "inputSize": info.num_records,
        "schedulingDelay": info.scheduling_delay().map(millis),
        "processingTime": info.processing_delay().map(millis),
        "totalDelay": info.total_delay().map(millis),
        "numActiveOutputOps": ops.len() - completed,
        "numCompletedOutputOps": completed - failed,
        "numFailedOutputOps": failed,
        "numTotalOutputOps": info.num_output_operations,
        "firstFailureReason": first_failure,
    })
}

/// Every batch the store knows, newest first, with its Spark status.
fn all_batches(app: &UiApp, s: &Status) -> Vec<(Time, Value)> {
    let empty = Vec::new();
    let ops = |t: &Time| s.active_ops.get(t).unwrap_or(&empty).as_slice();
    let mut out: Vec<(Time, Value)> = s
        .completed
        .iter()
        .map(|b| {
            (
                b.info.batch_time,
                batch_json(app, &b.info, "COMPLETED", &b.ops),
            )
        })
        .collect();
    out.extend(
        s.running
            .iter()
            .map(|(t, i)| (*t, batch_json(app, i, "PROCESSING", ops(t)))),
    );
    out.extend(
        s.waiting
            .iter()
            .map(|(t, i)| (*t, batch_json(app, i, "QUEUED", ops(t)))),
    );
    out.sort_by_key(|b| std::cmp::Reverse(b.0));
    out
}

/// `GET .../streaming/batches[?status=COMPLETED|PROCESSING|QUEUED]`, newest
/// first.
pub(crate) fn batches(app: &UiApp, app_id: &str, status: Option<&str>) -> Reply {
    check_app(app, app_id)?;
    let wanted = match status {
        None => None,
        Some(st) => match st.to_ascii_uppercase().as_str() {
            v @ ("COMPLETED" | "PROCESSING" | "QUEUED") => Some(v.to_string()),
            _ => {
                return Err(RestError::BadRequest(format!(
                    "unknown batch status: {st} (expected COMPLETED, PROCESSING or QUEUED)"
                )))
            }
        },
    };
    let s = app.store.snapshot();
    Ok(Value::Array(
        all_batches(app, &s)
            .into_iter()
            .map(|(_, v)| v)
            .filter(|v| wanted.as_deref().is_none_or(|w| v["status"] == w))
            .collect(),
    ))
}

fn find_batch(app: &UiApp, s: &Status, batch_id: &str) -> Result<Value, RestError> {
    let unknown = || RestError::NotFound(format!("unknown batch: {batch_id}"));
    let t = Time::from_millis(batch_id.parse::<u64>().map_err(|_| unknown())?);
    all_batches(app, s)
        .into_iter()
        .find(|(bt, _)| *bt == t)
        .map(|(_, v)| v)
        .ok_or_else(unknown)
}

/// `GET .../streaming/batches/{batch-id}` (the id is the batch time in ms).
pub(crate) fn batch(app: &UiApp, app_id: &str, batch_id: &str) -> Reply {
    check_app(app, app_id)?;
    find_batch(app, &app.store.snapshot(), batch_id)
}

fn op_json(o: &OutputOperationInfo) -> Value {
    json!({
        "outputOpId": o.id,
        "name": o.name,
        "description": format!("{} at batch {}", o.name, o.batch_time.as_millis()),
        "startTime": o.start_time.map(spark_date),
        "endTime": o.end_time.map(spark_date),
        "duration": match (o.start_time, o.end_time) {
            (Some(s), Some(e)) => Some(millis(e.saturating_since(s))),
            _ => None,
        },
        "failureReason": o.failure_reason,
        "jobIds": [],
    })
}

fn batch_ops(s: &Status, batch_id: &str) -> Result<Vec<OutputOperationInfo>, RestError> {
    let unknown = || RestError::NotFound(format!("unknown batch: {batch_id}"));
    let t = Time::from_millis(batch_id.parse::<u64>().map_err(|_| unknown())?);
    if let Some(CompletedBatch { ops, .. }) = s.completed_batch(t) {
        return Ok(ops.clone());
    }
    if s.running.contains_key(&t) || s.waiting.contains_key(&t) {
        return Ok(s.active_ops.get(&t).cloned().unwrap_or_default());
    }
    Err(unknown())
}

/// `GET .../streaming/batches/{batch-id}/operations`: Spark's
/// `OutputOperationInfo` of each output operation of the batch.
pub(crate) fn operations(app: &UiApp, app_id: &str, batch_id: &str) -> Reply {
    check_app(app, app_id)?;
    let ops = batch_ops(&app.store.snapshot(), batch_id)?;
    Ok(Value::Array(ops.iter().map(op_json).collect()))
}

/// `GET .../streaming/batches/{batch-id}/operations/{outputOp-id}`.
pub(crate) fn operation(app: &UiApp, app_id: &str, batch_id: &str, op_id: &str) -> Reply {
    check_app(app, app_id)?;
    let ops = batch_ops(&app.store.snapshot(), batch_id)?;
    ops.iter()
        .find(|o| op_id.parse::<usize>().ok() == Some(o.id))
        .map(op_json)
        .ok_or_else(|| RestError::NotFound(format!("unknown output operation: {op_id}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_spark_format() {
        assert_eq!(
            spark_date(Time::from_millis(0)),
            "1970-01-01T00:00:00.000GMT"
        );
        // 2015-07-30T12:34:56.789Z
        assert_eq!(
            spark_date(Time::from_millis(1_438_259_696_789)),
            "2015-07-30T12:34:56.789GMT"
        );
        // A leap day.
        assert_eq!(
            spark_date(Time::from_millis(951_782_400_000)),
            "2000-02-29T00:00:00.000GMT"
        );
    }
}
