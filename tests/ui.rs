//! The Streaming UI as users see it: Spark's REST API, Prometheus
//! `/metrics` and the Streaming page, fetched over HTTP with a real client
//! from a running context driven by a manual clock (so every figure is
//! known), the bind address, port fallback and the unknown-setting
//! warning. The page in headless Chromium is in `tests/ui_browser.rs`.

use std::net::{IpAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use streaming::prelude::*;
use streaming::ManualClock;

mod support;
use support::socket::{send_in_pieces, start_connected, text};
use support::{input_from, manual_conf, run_batches, try_step, wait_for};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// GETs `url`: status, content type, body.
fn get(url: &str) -> (u16, String, String) {
    let mut r = agent()
        .get(url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = r.body_mut().read_to_string().unwrap();
    (r.status().as_u16(), ct, body)
}

fn get_json(url: &str) -> (u16, Value) {
    let (status, ct, body) = get(url);
    assert!(ct.starts_with("application/json"), "{url}: {ct}");
    (
        status,
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{url}: {e}: {body}")),
    )
}

/// A context with two inputs (3, 5, 2 and 1, 1, 1 records in batches 1-3),
/// a stateful count, and an output that fails batch 3; three batches run.
fn three_batches() -> (StreamingContext, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let ssc = StreamingContext::new(manual_conf(&clock).app_name("UiTest")).unwrap();
    ssc.checkpoint(dir.path()).unwrap();
    let words = input_from(
        &ssc,
        vec![
            vec!["a", "b", "a"],
            vec!["a", "c", "d", "e", "a"],
            vec!["x", "y"],
        ],
    );
    let other = input_from(&ssc, vec![vec!["z"], vec!["z"], vec!["z"]]);
    words
        .union(&other)
        .map(|w: &str| (w.to_string(), 1u64))
        .update_state_by_key(|new: &[u64], old: Option<u64>| {
            Some(old.unwrap_or(0) + new.iter().sum::<u64>())
        })
        .name("counts")
        .foreach_batch(|b, t| {
            if t.as_millis() == 3000 {
                panic!("output failed on purpose ({} keys)", b.len());
            }
        });
    ssc.start().unwrap();
    for i in 1..=2 {
        try_step(&ssc, &clock, i).unwrap();
    }
    let e = try_step(&ssc, &clock, 3).unwrap_err();
    assert!(e.to_string().contains("on purpose"), "{e}");
    (ssc, dir)
}

fn app_url(ssc: &StreamingContext) -> (String, String) {
    let base = ssc.ui_web_url().expect("the UI runs by default");
    let (status, apps) = get_json(&format!("{base}/api/v1/applications"));
    assert_eq!(status, 200);
    let id = apps[0]["id"].as_str().unwrap().to_string();
    (base.clone(), format!("{base}/api/v1/applications/{id}"))
}

#[test]
fn the_rest_api_answers_with_sparks_paths_and_field_names() {
    let (ssc, _dir) = three_batches();
    let base = ssc.ui_web_url().unwrap();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let (_, apps) = get_json(&format!("{base}/api/v1/applications"));
    assert_eq!(apps.as_array().unwrap().len(), 1);
    assert_eq!(apps[0]["name"], "UiTest");
    assert!(apps[0]["id"].as_str().unwrap().starts_with("local-"));
    assert_eq!(apps[0]["attempts"][0]["completed"], false);
    let (_, app) = app_url(&ssc);

    let (status, stats) = get_json(&format!("{app}/streaming/statistics"));
    assert_eq!(status, 200);
    assert_eq!(stats["batchDuration"], 1000);
    assert_eq!(stats["numReceivers"], 2);
    assert_eq!(stats["numTotalCompletedBatches"], 3);
    assert_eq!(stats["numRetainedCompletedBatches"], 3);
    assert_eq!(stats["numActiveBatches"], 0);
    assert_eq!(stats["numReceivedRecords"], 13);
    // Batch 3 failed: its 3 records were not processed.
    assert_eq!(stats["numProcessedRecords"], 10);
    assert!((stats["avgInputRate"].as_f64().unwrap() - 13.0 / 3.0).abs() < 1e-9);
    for k in ["avgSchedulingDelay", "avgProcessingTime", "avgTotalDelay"] {
        assert!(stats[k].is_u64(), "{k}: {stats}");
    }
    assert!(stats["startTime"].as_str().unwrap().ends_with("GMT"));

    let (_, batches) = get_json(&format!("{app}/streaming/batches"));
    let ids: Vec<u64> = batches
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["batchId"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![3000, 2000, 1000], "newest first");
    let b1 = &batches[2];
    assert_eq!(b1["status"], "COMPLETED");
    assert_eq!(b1["inputSize"], 4);
    assert_eq!(b1["batchDuration"], 1000);
    assert_eq!(b1["batchTime"], "1970-01-01T00:00:01.000GMT");
    assert_eq!(b1["numTotalOutputOps"], 1);
    assert_eq!(b1["numCompletedOutputOps"], 1);
    assert_eq!(b1["numFailedOutputOps"], 0);
    assert!(b1["firstFailureReason"].is_null());
    for k in ["schedulingDelay", "processingTime", "totalDelay"] {
        assert!(b1[k].is_u64(), "{k}: {b1}");
    }
    let (_, completed) = get_json(&format!("{app}/streaming/batches?status=COMPLETED"));
    assert_eq!(completed.as_array().unwrap().len(), 3);
    let (_, queued) = get_json(&format!("{app}/streaming/batches?status=QUEUED"));
    assert_eq!(queued, Value::Array(vec![]));

    let (status, b3) = get_json(&format!("{app}/streaming/batches/3000"));
    assert_eq!(status, 200);
    assert_eq!(b3["inputSize"], 3);
    assert_eq!(b3["numFailedOutputOps"], 1);
    let reason = b3["firstFailureReason"].as_str().unwrap();
    assert!(reason.contains("output failed on purpose"), "{reason}");

    let (_, ops) = get_json(&format!("{app}/streaming/batches/3000/operations"));
    assert_eq!(ops.as_array().unwrap().len(), 1);
    assert_eq!(ops[0]["outputOpId"], 0);
    assert_eq!(ops[0]["name"], "foreach_batch");
    assert!(ops[0]["duration"].is_u64());
    assert!(ops[0]["failureReason"]
        .as_str()
        .unwrap()
        .contains("on purpose"));
    let (status, op) = get_json(&format!("{app}/streaming/batches/1000/operations/0"));
    assert_eq!(status, 200);
    assert!(op["failureReason"].is_null());

    let (_, receivers) = get_json(&format!("{app}/streaming/receivers"));
    let r = receivers.as_array().unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0]["numRecords"], 10);
    assert_eq!(r[1]["numRecords"], 3);
    assert_eq!(r[1]["eventRates"][0], serde_json::json!([1000, 1.0]));
    assert!(r[0]["streamName"].is_string());
    let id = r[1]["streamId"].as_u64().unwrap();
    let (status, one) = get_json(&format!("{app}/streaming/receivers/{id}"));
    assert_eq!((status, &one["numRecords"]), (200, &Value::from(3)));
    ssc.stop(StopMode::Immediate);
}

#[test]
fn bad_ids_get_404_with_a_json_error() {
    let (ssc, _dir) = three_batches();
    let (base, app) = app_url(&ssc);
    for url in [
        format!("{base}/api/v1/applications/app-nope/streaming/statistics"),
        format!("{base}/api/v1/applications/app-nope"),
        format!("{app}/streaming/batches/abc"),
        format!("{app}/streaming/batches/999"),
        format!("{app}/streaming/batches/-1/operations"),
        format!("{app}/streaming/batches/1000/operations/7"),
        format!("{app}/streaming/batches/1000/operations/x"),
        format!("{app}/streaming/receivers/99"),
        format!("{app}/streaming/nothing"),
        format!("{base}/api/v1/nothing"),
        format!("{app}/streaming/batches/99999999999999999999999"),
        format!("{app}/streaming/batches/1e3"),
        format!("{app}/streaming/batches/%FF%FE"),
        format!("{app}/streaming/batches/{}", "9".repeat(2000)),
        format!("{app}/streaming/receivers/-1"),
    ] {
        let (status, body) = get_json(&url);
        assert_eq!(status, 404, "{url}: {body}");
        assert!(body["error"].is_string(), "{url}: {body}");
    }
    for query in ["status=DONE", "status=%FF"] {
        let (status, body) = get_json(&format!("{app}/streaming/batches?{query}"));
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body["error"].is_string());
    }
    // The server still answers after all that.
    assert_eq!(get_json(&format!("{app}/streaming/statistics")).0, 200);
    ssc.stop(StopMode::Immediate);
}

fn metric(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name_and_labels) && l[name_and_labels.len()..].starts_with(' '))
        .unwrap_or_else(|| panic!("no {name_and_labels} in\n{text}"))
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn metrics_are_in_prometheus_format_with_sparks_gauges() {
    let (ssc, _dir) = three_batches();
    let base = ssc.ui_web_url().unwrap();
    let (status, ct, text) = get(&format!("{base}/metrics"));
    assert_eq!(status, 200);
    assert!(ct.contains("text"), "{ct}");
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    let app = "{app=\"UiTest\"}";
    assert_eq!(
        metric(&text, &format!("streaming_completed_batches_total{app}")),
        3.0
    );
    assert_eq!(
        metric(&text, &format!("streaming_failed_batches_total{app}")),
        1.0
    );
    assert_eq!(
        metric(&text, &format!("streaming_received_records_total{app}")),
        13.0
    );
    assert_eq!(
        metric(&text, &format!("streaming_processed_records_total{app}")),
        10.0
    );
    assert_eq!(
        metric(&text, &format!("streaming_waiting_batches{app}")),
        0.0
    );
    assert_eq!(
        metric(&text, &format!("streaming_running_batches{app}")),
        0.0
    );
    assert_eq!(metric(&text, &format!("streaming_receivers{app}")), 2.0);
    assert_eq!(
        metric(
            &text,
            &format!("streaming_last_completed_batch_records{app}")
        ),
        3.0
    );
    assert!(
        metric(
            &text,
            &format!("streaming_last_completed_batch_total_delay_seconds{app}")
        ) >= 0.0
    );
    assert!(text.contains("# TYPE streaming_last_completed_batch_scheduling_delay_seconds gauge"));
    assert!(
        text.contains("streaming_input_bad_records_total{app=\"UiTest\",stream_id=\"0\""),
        "{text}"
    );
    assert!(
        text.contains("streaming_input_records_total{app=\"UiTest\",stream_id=\"1\""),
        "{text}"
    );
    // A metadata checkpoint before each batch, state ones when due.
    assert!(
        metric(
            &text,
            "streaming_checkpoint_duration_seconds_count{app=\"UiTest\",kind=\"metadata\"}"
        ) >= 3.0,
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            "streaming_checkpoint_failures_total{app=\"UiTest\",kind=\"state\"}"
        ),
        0.0
    );
    ssc.stop(StopMode::Immediate);
}

#[test]
fn the_page_shows_charts_batches_pipeline_and_state() {
    let (ssc, _dir) = three_batches();
    let base = ssc.ui_web_url().unwrap();
    let (status, ct, page) = get(&format!("{base}/"));
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/html"), "{ct}");
    for chart in [
        "input-rate",
        "scheduling-delay",
        "processing-time",
        "total-delay",
    ] {
        assert!(
            page.contains(&format!(
                "id=\"timeline-{chart}\" class=\"timeline\" data-points=\"3\""
            )),
            "{chart}"
        );
        assert!(page.contains(&format!(
            "id=\"histogram-{chart}\" class=\"histogram\" data-values=\"3\""
        )));
    }
    for external in ["src=\"http", "href=\"http", "<link", "<script src"] {
        assert!(!page.contains(external), "no external asset: {external}");
    }
    // Two inputs union'ed (each its own stage), then map and the stateful
    // count; the output on the count.
    // Stages: the inputs, union and map in one pass; the stateful count.
    assert!(page.contains("id=\"pipeline\" data-stages=\"2\""), "{page}");
    assert!(
        page.contains("update_state_by_key &quot;counts&quot; — state: 8 entries"),
        "{page}"
    );
    assert!(page.contains("class=\"num state-entries\">8<"));
    assert!(page.contains("→ output: foreach_batch"));
    assert_eq!(
        page.matches("<tr class=\"failed\" data-batch-time=\"3000\"")
            .count(),
        1
    );
    assert!(page.contains("<a href=\"/streaming/batch/?id=1000\">1000</a>"));
    let (status, _, fragment) = get(&format!("{base}/streaming/?fragment=1"));
    assert_eq!(status, 200);
    assert!(fragment.starts_with("<p id=\"summary\">"));

    let (status, _, detail) = get(&format!("{base}/streaming/batch/?id=3000"));
    assert_eq!(status, 200);
    assert!(detail.contains("id=\"batch-inputs\""));
    assert!(detail.contains("output failed on purpose"));
    assert!(detail.contains("<td>foreach_batch</td>"));
    assert_eq!(get(&format!("{base}/streaming/batch/?id=nope")).0, 404);
    assert_eq!(get(&format!("{base}/streaming/batch/?id=42")).0, 404);
    ssc.stop(StopMode::Immediate);
}

/// A non-loopback IPv4 address of this machine.
fn non_loopback_address() -> IpAddr {
    // Connecting a UDP socket sends nothing; it picks the outgoing address.
    if let Ok(s) = std::net::UdpSocket::bind("0.0.0.0:0") {
        if s.connect("192.0.2.1:9").is_ok() {
            if let Ok(a) = s.local_addr() {
                if !a.ip().is_loopback() && !a.ip().is_unspecified() {
                    return a.ip();
                }
            }
        }
    }
    let out = std::process::Command::new("hostname")
        .arg("-I")
        .output()
        .expect("run hostname -I");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|a| a.parse::<IpAddr>().ok())
        .find(|a| a.is_ipv4() && !a.is_loopback())
        .expect("this test needs a non-loopback IPv4 address on the machine")
}

fn started_with(settings: &[(&str, &str)]) -> StreamingContext {
    let clock = ManualClock::new();
    let mut conf = manual_conf(&clock);
    for (k, v) in settings {
        conf = conf.set(*k, *v);
    }
    let ssc = StreamingContext::new(conf).unwrap();
    input_from(&ssc, vec![vec![1u32]]).foreach_batch(|_, _| {});
    ssc.start().unwrap();
    ssc
}

#[test]
fn by_default_the_server_is_not_reachable_on_a_non_loopback_address() {
    let ip = non_loopback_address();
    let ssc = started_with(&[]);
    let url = ssc.ui_web_url().unwrap();
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_eq!(
        get(&format!("{url}/metrics")).0,
        200,
        "reachable on loopback"
    );
    let r = TcpStream::connect_timeout(&(ip, port).into(), Duration::from_secs(5));
    assert!(r.is_err(), "the UI answered on {ip}:{port}");
    ssc.stop(StopMode::Immediate);

    // A configured bind address opens it up.
    let ssc = started_with(&[("spark.driver.bindAddress", "0.0.0.0")]);
    let url = ssc.ui_web_url().unwrap();
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    assert_eq!(get(&format!("http://{ip}:{port}/metrics")).0, 200);
    ssc.stop(StopMode::Immediate);
}

#[test]
fn a_taken_port_moves_to_the_next_and_the_ui_can_be_disabled() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let ssc = started_with(&[("spark.ui.port", &port.to_string())]);
    let url = ssc.ui_web_url().expect("a next port was free");
    let got: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    assert!(
        got > port && got <= port.saturating_add(16),
        "{port} -> {got}"
    );
    ssc.stop(StopMode::Immediate);
    assert_eq!(ssc.ui_web_url(), None, "no UI once stopped");

    let ssc = started_with(&[("spark.ui.enabled", "false")]);
    assert_eq!(ssc.ui_web_url(), None);
    ssc.stop(StopMode::Immediate);

    let clock = ManualClock::new();
    let ssc = StreamingContext::new(manual_conf(&clock).set("spark.ui.port", "http")).unwrap();
    input_from(&ssc, vec![vec![1u32]]).foreach_batch(|_, _| {});
    let e = ssc.start().unwrap_err().to_string();
    assert!(e.contains("spark.ui.port"), "{e}");
}

/// A writer the test log goes to.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn unknown_spark_settings_get_one_warning_at_start() {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let ssc = tracing::subscriber::with_default(subscriber, || {
        started_with(&[
            ("spark.streaming.blockInterval", "50ms"),
            ("spark.streaming.receiver.maxRate", "100"),
            ("spark.executor.memory", "4g"),
            ("streaming.socket.maxLineLength", "4096"),
        ])
    });
    let clock = ssc.manual_clock().unwrap();
    clock.advance(Duration::from_secs(1));
    ssc.await_batch_completion(Time::from_millis(1000), Duration::from_secs(60))
        .unwrap();
    ssc.stop(StopMode::Immediate);
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert_eq!(
        text.matches("spark.streaming.blockInterval is not implemented")
            .count(),
        1,
        "{text}"
    );
    assert_eq!(
        text.matches("spark.executor.memory is not implemented")
            .count(),
        1,
        "{text}"
    );
    assert!(!text.contains("maxRate"), "an implemented key: {text}");
    assert!(!text.contains("maxLineLength"), "not a spark.* key: {text}");
}

#[test]
fn the_page_fills_as_batches_run() {
    let clock = ManualClock::new();
    let ssc = StreamingContext::new(manual_conf(&clock).app_name("Filling")).unwrap();
    input_from(&ssc, (1..=5).map(|i| vec![i; i as usize]).collect()).foreach_batch(|_, _| {});
    ssc.start().unwrap();
    let base = ssc.ui_web_url().unwrap();
    let points = || {
        let (_, _, page) = get(&format!("{base}/streaming/?fragment=1"));
        page.split("id=\"timeline-input-rate\" class=\"timeline\" data-points=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap()
    };
    assert_eq!(points(), 0);
    run_batches(&ssc, 1..=2);
    assert_eq!(points(), 2);
    run_batches(&ssc, 3..=5);
    wait_for("five points", || points() == 5);
    ssc.stop(StopMode::Immediate);
}

#[test]
fn bad_records_of_a_socket_receiver_reach_the_api_the_metrics_and_the_page() {
    let (mut conn, (ssc, clock, _events, stats, _out)) =
        start_connected(&[("spark.ui.port", "0")], |port| {
            text(port).num_partitions(1)
        });
    send_in_pieces(
        &mut conn,
        &stats,
        &[b"good\n", b"bad \xff\xfe\n", b"fine\n"],
    );
    wait_for("the bad line counted", || stats.bad_records() == 1);
    try_step(&ssc, &clock, 1).unwrap();
    let (base, app) = app_url(&ssc);
    let (_, receivers) = get_json(&format!("{app}/streaming/receivers"));
    assert_eq!(receivers[0]["numBadRecords"], 1);
    assert_eq!(receivers[0]["numRecords"], 2);
    assert!(receivers[0]["streamName"]
        .as_str()
        .unwrap()
        .starts_with("socket 127.0.0.1:"));
    assert!(
        receivers[0]["lastError"]
            .as_str()
            .unwrap()
            .contains("UTF-8"),
        "{receivers}"
    );
    let (_, _, metrics) = get(&format!("{base}/metrics"));
    let line = metrics
        .lines()
        .find(|l| l.starts_with("streaming_input_bad_records_total{"))
        .unwrap();
    assert!(line.ends_with(" 1"), "{line}");
    let (_, _, page) = get(&format!("{base}/streaming/"));
    assert!(
        page.contains("<td class=\"num bad-records\">1</td>"),
        "{page}"
    );
    ssc.stop(StopMode::Immediate);
}
