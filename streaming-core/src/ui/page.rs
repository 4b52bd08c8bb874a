//! The Streaming page (Spark's Streaming tab, plus the pipeline's stages
//! and state sizes) and the batch detail page, as HTML with SVG charts
//! rendered here: no external asset, so the page works offline. A few lines
//! of embedded script fetch the live part again every second.

use std::fmt::Write as _;
use std::time::Duration;

use super::app::UiApp;
use super::pipeline::{stages, StageView};
use super::rest::spark_date;
use super::status::{CompletedBatch, Status};
use crate::listener::BatchInfo;
use crate::time::Time;

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn ms(d: Option<Duration>) -> String {
    match d {
        Some(d) if d < Duration::from_millis(1) => format!("{:.3} ms", d.as_secs_f64() * 1e3),
        Some(d) if d < Duration::from_millis(10) => format!("{:.2} ms", d.as_secs_f64() * 1e3),
        Some(d) => format!("{} ms", d.as_millis()),
        None => "-".into(),
    }
}

const STYLE: &str = r#"
body{font-family:sans-serif;margin:1.5em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.5em}
table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top;font-size:.9em}
th{background:#f3f3f3}
.num{text-align:right}.failed{color:#b00}.muted{color:#777}
svg{background:#fff}svg text{font-size:10px;fill:#444}
.line{fill:none;stroke:#3a7bd5;stroke-width:1.5}.point{fill:#3a7bd5}
.bar{fill:#7aa6e6}.limit{stroke:#b00;stroke-dasharray:4 3}
.axis{stroke:#999}.stage{fill:#eef4ff;stroke:#3a7bd5}.out{fill:#f6fff0;stroke:#5a5}
"#;

/// The page around `body`.
fn layout(title: &str, live: bool, body: &str) -> String {
    let script = if live {
        r#"<script>
(function(){
  var n=0;
  function refresh(){
    fetch(location.pathname+'?fragment=1',{cache:'no-store'})
      .then(function(r){return r.ok?r.text():Promise.reject(r.status)})
      .then(function(html){
        document.getElementById('live').innerHTML=html;
        n+=1;document.body.setAttribute('data-refreshes',String(n));
      })
      .catch(function(){document.body.setAttribute('data-offline','1')});
  }
  document.body.setAttribute('data-live','1');
  setInterval(refresh,1000);
})();
</script>"#
    } else {
        ""
    };
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head>\
         <body data-refreshes=\"0\">{body}{script}</body></html>",
        esc(title)
    )
}

/// A timeline of `(batch time, value)` points, with an optional limit line.
fn timeline(id: &str, unit: &str, points: &[(Time, f64)], limit: Option<f64>) -> String {
    let (w, h, left, bottom) = (520.0, 150.0, 46.0, 20.0);
    let top = points.iter().map(|p| p.1).fold(0.0f64, f64::max);
    // The limit line is drawn when the values come near it (else the
    // points would be squashed against the axis); its value is shown.
    let limit = limit.filter(|l| *l <= top * 2.0);
    let max = top.max(limit.unwrap_or(0.0)).max(1e-9) * 1.1;
    let n = points.len();
    let x = |i: usize| {
        left + if n <= 1 {
            0.0
        } else {
            (w - left - 10.0) * i as f64 / (n - 1) as f64
        }
    };
    let y = |v: f64| (h - bottom) - (h - bottom - 10.0) * v / max;
    let mut s = format!(
        "<svg id=\"timeline-{id}\" class=\"timeline\" data-points=\"{n}\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <line class=\"axis\" x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>\
         <line class=\"axis\" x1=\"{left}\" y1=\"10\" x2=\"{left}\" y2=\"{}\"/>\
         <text x=\"2\" y=\"14\">{max:.1}</text><text x=\"2\" y=\"{}\">0 {unit}</text>",
        h - bottom,
        w - 10.0,
        h - bottom,
        h - bottom,
        h - bottom
    );
    if let Some(l) = limit {
        let _ = write!(
            s,
            "<line class=\"limit\" x1=\"{left}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\"><title>batch interval</title></line>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#b00\">batch interval {l:.0} {unit}</text>",
            w - 10.0,
            y(l),
            y(l),
            w - 12.0,
            y(l) - 3.0
        );
    }
    if n > 0 {
        let path: Vec<String> = points
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.1)))
            .collect();
        let _ = write!(
            s,
            "<polyline class=\"line\" points=\"{}\"/>",
            path.join(" ")
        );
        for (i, (t, v)) in points.iter().enumerate() {
            let _ = write!(
                s,
                "<circle class=\"point\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" data-batch-time=\"{}\" data-value=\"{v}\">\
                 <title>{}: {v:.3} {unit}</title></circle>",
                x(i),
                y(*v),
                t.as_millis(),
                t.as_millis()
            );
        }
        let _ = write!(
            s,
            "<text x=\"{left}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            h - 5.0,
            points[0].0.as_millis(),
            w - 10.0,
            h - 5.0,
            points[n - 1].0.as_millis()
        );
    } else {
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\">no completed batch yet</text>",
            left + 10.0,
            h / 2.0
        );
    }
    s.push_str("</svg>");
    s
}

/// A histogram of `values` in 10 buckets.
fn histogram(id: &str, unit: &str, values: &[f64]) -> String {
    let (w, h, bottom) = (240.0, 150.0, 20.0);
    let buckets = 10usize;
    let max = values.iter().copied().fold(0.0f64, f64::max).max(1e-9);
    let mut counts = vec![0usize; buckets];
    for v in values {
        let b = ((v / max) * buckets as f64).floor() as usize;
        counts[b.min(buckets - 1)] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let bw = (w - 20.0) / buckets as f64;
    let mut s = format!(
        "<svg id=\"histogram-{id}\" class=\"histogram\" data-values=\"{}\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <line class=\"axis\" x1=\"10\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
        values.len(),
        h - bottom,
        w - 10.0,
        h - bottom
    );
    for (i, c) in counts.iter().enumerate() {
        let bh = (h - bottom - 10.0) * *c as f64 / top;
        let lo = max * i as f64 / buckets as f64;
        let hi = max * (i + 1) as f64 / buckets as f64;
        let _ = write!(
            s,
            "<rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" data-count=\"{c}\">\
             <title>{lo:.2}-{hi:.2} {unit}: {c} batches</title></rect>",
            10.0 + bw * i as f64 + 1.0,
            h - bottom - bh,
            bw - 2.0
        );
    }
    let _ = write!(
        s,
        "<text x=\"10\" y=\"{}\">0</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{max:.1} {unit}</text></svg>",
        h - 5.0,
        w - 10.0,
        h - 5.0
    );
    s
}

fn d_ms(d: Option<Duration>) -> Option<f64> {
    d.map(|d| d.as_secs_f64() * 1e3)
}

/// The statistics table: a timeline and a histogram per metric (delays to
/// the microsecond, as the listener measured them).
fn statistics(app: &UiApp, s: &Status) -> String {
    let secs = app.batch_interval.as_secs_f64();
    let interval_ms = app.batch_interval.as_secs_f64() * 1e3;
    type Metric<'a> = (
        &'a str,
        &'a str,
        &'a str,
        fn(&CompletedBatch, f64) -> Option<f64>,
        Option<f64>,
    );
    let metrics: [Metric; 4] = [
        (
            "input-rate",
            "Input Rate",
            "records/s",
            |b, secs| Some(b.info.num_records as f64 / secs),
            None,
        ),
        (
            "scheduling-delay",
            "Scheduling Delay",
            "ms",
            |b, _| d_ms(b.scheduling_delay()),
            None,
        ),
        (
            "processing-time",
            "Processing Time",
            "ms",
            |b, _| d_ms(b.processing_delay()),
            Some(interval_ms),
        ),
        (
            "total-delay",
            "Total Delay",
            "ms",
            |b, _| d_ms(b.total_delay()),
            None,
        ),
    ];
    let mut out = String::from(
        "<h2>Statistics</h2><table id=\"statistics\"><tr><th>metric</th><th>average</th><th>p99</th>\
         <th>timeline</th><th>histogram</th></tr>",
    );
    for (id, title, unit, f, limit) in metrics {
        let points: Vec<(Time, f64)> = s
            .completed
            .iter()
            .filter_map(|b| f(b, secs).map(|v| (b.info.batch_time, v)))
            .collect();
        let values: Vec<f64> = points.iter().map(|p| p.1).collect();
        let avg = if values.is_empty() {
            "-".to_string()
        } else {
            format!(
                "{:.3} {unit}",
                values.iter().sum::<f64>() / values.len() as f64
            )
        };
        let p99 = percentile(&values, 0.99).map_or("-".into(), |v| format!("{v:.3} {unit}"));
        let _ = write!(
            out,
            "<tr><td>{title}</td><td class=\"num\">{avg}</td><td class=\"num\" id=\"p99-{id}\">{p99}</td><td>{}</td><td>{}</td></tr>",
            timeline(id, unit, &points, limit),
            histogram(id, unit, &values)
        );
    }
    out.push_str("</table>");
    out
}

/// The `q` quantile of `values` (nearest rank), if any.
pub(crate) fn percentile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    Some(v[rank - 1])
}

fn inputs(app: &UiApp, s: &Status) -> String {
    let mut out = String::from(
        "<h2>Inputs</h2><table id=\"inputs\"><tr><th>stream</th><th>name</th><th>avg rate (records/s)</th>\
         <th>records</th><th>bad records</th><th>rate over time</th><th>last error</th></tr>",
    );
    for input in &app.inputs {
        let id = input.stream_id();
        let points: Vec<(Time, f64)> = s.input_rates(id, app.batch_interval);
        let avg = if points.is_empty() {
            "-".to_string()
        } else {
            format!(
                "{:.1}",
                points.iter().map(|p| p.1).sum::<f64>() / points.len() as f64
            )
        };
        let err = s.last_errors.get(&id).map_or(String::new(), |e| {
            format!("{}: {}", spark_date(e.time), esc(&e.message))
        });
        let _ = write!(
            out,
            "<tr><td>{id}</td><td>{}{}</td><td class=\"num\">{avg}</td><td class=\"num\">{}</td>\
             <td class=\"num bad-records\">{}</td><td>{}</td><td class=\"failed\">{err}</td></tr>",
            esc(&input.name()),
            input.status().map_or(String::new(), |st| format!(
                "<br><small class=\"input-status\">{}</small>",
                esc(&st)
            )),
            s.received_by_stream.get(&id).copied().unwrap_or(0),
            input.bad_records(),
            timeline(&format!("input-{id}"), "records/s", &points, None)
        );
    }
    out.push_str("</table>");
    out
}

/// An operator's line in its stage box.
fn op_label(op: &super::pipeline::OpView) -> String {
    let mut label = op.name.to_string();
    if let Some(n) = &op.user_name {
        let _ = write!(label, " \"{n}\"");
    }
    if let Some(e) = op.state_entries {
        let _ = write!(label, " — state: {e} entries");
    }
    label
}

/// The pipeline: one box per stage (the operators fused into one pass),
/// arrows between stages, the output operations, state sizes.
fn pipeline(app: &UiApp) -> String {
    let stages = stages(&app.graph);
    let index: std::collections::BTreeMap<usize, usize> = stages
        .iter()
        .enumerate()
        .map(|(i, s)| (s.root, i))
        .collect();
    // Columns by depth, rows in order.
    let mut depth = vec![0usize; stages.len()];
    for (i, st) in stages.iter().enumerate() {
        depth[i] = st
            .inputs
            .iter()
            .filter_map(|r| index.get(r))
            .map(|&p| depth[p] + 1)
            .max()
            .unwrap_or(0);
    }
    let mut rows = vec![0usize; stages.len()];
    let mut per_col: std::collections::BTreeMap<usize, usize> = Default::default();
    for (i, d) in depth.iter().enumerate() {
        let r = per_col.entry(*d).or_insert(0);
        rows[i] = *r;
        *r += 1;
    }
    // Boxes as wide as their longest line (about 6 px per character).
    let longest = stages
        .iter()
        .flat_map(|st| {
            st.ops
                .iter()
                .map(|op| op_label(op).chars().count() + 4)
                .chain(st.outputs.iter().map(|o| o.chars().count() + 10))
        })
        .max()
        .unwrap_or(0);
    let (bw, gx, gy) = ((longest as f64 * 6.2 + 24.0).max(210.0), 60.0, 20.0);
    let box_h = |st: &StageView| 28.0 + 14.0 * st.ops.len() as f64 + 14.0 * st.outputs.len() as f64;
    let row_h = stages.iter().map(box_h).fold(60.0f64, f64::max);
    let cols = depth.iter().max().map_or(1, |d| d + 1);
    let max_rows = per_col.values().max().copied().unwrap_or(1);
    let (w, h) = (
        10.0 + cols as f64 * (bw + gx),
        10.0 + max_rows as f64 * (row_h + gy),
    );
    let pos = |i: usize| {
        (
            10.0 + depth[i] as f64 * (bw + gx),
            10.0 + rows[i] as f64 * (row_h + gy),
        )
    };
    let mut s = format!(
        "<h2>Pipeline</h2><p class=\"muted\">Each box is a stage: operators fused into one pass per partition. \
         A stage ends where a batch is materialized (shuffle, state, cache, several consumers) or written.</p>\
         <svg id=\"pipeline\" data-stages=\"{}\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <defs><marker id=\"arrow\" markerWidth=\"8\" markerHeight=\"8\" refX=\"7\" refY=\"4\" orient=\"auto\">\
         <path d=\"M0,0 L8,4 L0,8 z\" fill=\"#3a7bd5\"/></marker></defs>",
        stages.len()
    );
    for (i, st) in stages.iter().enumerate() {
        let (x, y) = pos(i);
        for r in &st.inputs {
            if let Some(&p) = index.get(r) {
                let (px, py) = pos(p);
                let _ = write!(
                    s,
                    "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#3a7bd5\" marker-end=\"url(#arrow)\"/>",
                    px + bw,
                    py + 20.0,
                    y + 20.0
                );
            }
        }
        let _ = write!(
            s,
            "<g class=\"stage-group\" data-ops=\"{}\"><rect class=\"stage\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bw}\" height=\"{:.1}\" rx=\"6\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-weight=\"bold\">stage {}</text>",
            st.ops.len(),
            box_h(st),
            x + 8.0,
            y + 16.0,
            i + 1
        );
        let mut line = y + 32.0;
        for op in &st.ops {
            let label = op_label(op);
            let _ = write!(
                s,
                "<text class=\"op\" data-op-id=\"{}\" x=\"{:.1}\" y=\"{line:.1}\">#{} {}</text>",
                op.id,
                x + 12.0,
                op.id,
                esc(&label)
            );
            line += 14.0;
        }
        for o in &st.outputs {
            let _ = write!(
                s,
                "<text class=\"output\" x=\"{:.1}\" y=\"{line:.1}\" fill=\"#383\">→ output: {}</text>",
                x + 12.0,
                esc(o)
            );
            line += 14.0;
        }
        s.push_str("</g>");
    }
    s.push_str("</svg>");
    let stateful: Vec<String> = stages
        .iter()
        .flat_map(|st| st.ops.iter())
        .filter_map(|op| {
            op.state_entries.map(|e| {
                format!(
                    "<tr><td>#{}</td><td>{}</td><td>{}</td><td class=\"num state-entries\">{e}</td></tr>",
                    op.id,
                    op.name,
                    esc(op.user_name.as_deref().unwrap_or("")),
                )
            })
        })
        .collect();
    if !stateful.is_empty() {
        let _ = write!(
            s,
            "<table id=\"state\"><tr><th>operator</th><th>operation</th><th>name</th><th>state entries</th></tr>{}</table>",
            stateful.join("")
        );
    }
    s
}

fn batch_row(
    info: &BatchInfo,
    delays: [Option<Duration>; 3],
    status: &str,
    ops_done: usize,
) -> String {
    let t = info.batch_time.as_millis();
    let cls = if info.failure.is_some() {
        " class=\"failed\""
    } else {
        ""
    };
    format!(
        "<tr{cls} data-batch-time=\"{t}\"><td><a href=\"/streaming/batch/?id={t}\">{t}</a></td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{ops_done}/{}</td><td>{status}</td><td>{}</td></tr>",
        info.num_records,
        ms(delays[0]),
        ms(delays[1]),
        ms(delays[2]),
        info.num_output_operations,
        esc(info.failure.as_deref().unwrap_or(""))
    )
}

const BATCH_HEADER: &str = "<tr><th>batch time (ms)</th><th>records</th><th>scheduling delay</th>\
     <th>processing time</th><th>total delay</th><th>output ops</th><th>status</th><th>failure</th></tr>";

fn batches(s: &Status) -> String {
    let mut out = format!(
        "<h2>Active Batches ({})</h2><table id=\"active-batches\">{BATCH_HEADER}",
        s.waiting.len() + s.running.len()
    );
    for (t, info) in s.running.iter().rev() {
        let done = s
            .active_ops
            .get(t)
            .map_or(0, |o| o.iter().filter(|o| o.end_time.is_some()).count());
        let delays = [info.scheduling_delay(), None, None];
        out.push_str(&batch_row(info, delays, "processing", done));
    }
    for info in s.waiting.values().rev() {
        out.push_str(&batch_row(info, [None; 3], "queued", 0));
    }
    let _ = write!(
        out,
        "</table><h2>Completed Batches (last {} out of {})</h2><table id=\"completed-batches\">{BATCH_HEADER}",
        s.completed.len().min(100),
        s.total_completed
    );
    for b in s.completed.iter().rev().take(100) {
        let done = b.ops.iter().filter(|o| o.end_time.is_some()).count();
        let delays = [b.scheduling_delay(), b.processing_delay(), b.total_delay()];
        out.push_str(&batch_row(&b.info, delays, "completed", done));
    }
    out.push_str("</table>");
    out
}

fn checkpoints(s: &Status) -> String {
    let failures: u64 = s.checkpoint_failures.values().sum();
    let last = s.last_checkpoint.as_ref().map_or("-".to_string(), |c| {
        format!(
            "{} at {} ({})",
            if c.metadata { "metadata" } else { "state" },
            c.time.as_millis(),
            ms(Some(c.duration))
        )
    });
    format!(
        "<h2>Checkpoints</h2><table id=\"checkpoints\"><tr><th>taken</th><th>last</th><th>failures</th></tr>\
         <tr><td class=\"num\">{}</td><td>{last}</td><td class=\"num\">{failures}</td></tr></table>",
        s.checkpoints_taken
    )
}

/// The live part of the Streaming page.
fn live(app: &UiApp) -> String {
    let s = app.store.snapshot();
    let state = if s.stopped.is_some() {
        "stopped"
    } else {
        "running"
    };
    let now = s.stopped.unwrap_or_else(Time::now);
    let mut out = format!(
        "<p id=\"summary\">Running batches of <b>{}</b> for <b>{}</b> since <b>{}</b> ({state}); \
         <b id=\"completed-count\">{}</b> completed batches, <b>{}</b> records; {} failed batches.</p>",
        ms(Some(app.batch_interval)),
        humantime(now.saturating_since(app.start)),
        spark_date(app.start),
        s.total_completed,
        s.total_processed,
        s.total_failed
    );
    out.push_str(&statistics(app, &s));
    out.push_str(&inputs(app, &s));
    out.push_str(&pipeline(app));
    out.push_str(&batches(&s));
    out.push_str(&checkpoints(&s));
    out
}

fn humantime(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h {}m", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}m {}s", s / 60, s % 60)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// The Streaming page, or only its live part for `fragment`.
pub(crate) fn streaming(app: &UiApp, fragment: bool) -> String {
    if fragment {
        return live(app);
    }
    let body = format!(
        "<h1>Streaming: {}</h1><p class=\"muted\">application {} · master {} · \
         <a href=\"/api/v1/applications/{}/streaming/statistics\">REST API</a> · <a href=\"/metrics\">metrics</a></p>\
         <div id=\"live\">{}</div>",
        esc(&app.name),
        esc(&app.id),
        esc(&app.master),
        esc(&app.id),
        live(app)
    );
    layout(&format!("{} - Streaming", app.name), true, &body)
}

/// A page saying what was not found.
pub(crate) fn not_found(message: &str) -> String {
    layout(
        "Not found",
        false,
        &format!(
            "<h1>Not found</h1><p>{}</p><p><a href=\"/streaming/\">back</a></p>",
            esc(message)
        ),
    )
}

/// The detail page of batch `id` (its time in ms): records per input, each
/// output operation's duration and failure.
pub(crate) fn batch(app: &UiApp, id: &str) -> Result<String, String> {
    let unknown = || format!("unknown batch: {id}");
    let t = Time::from_millis(id.trim().parse::<u64>().map_err(|_| unknown())?);
    let s = app.store.snapshot();
    let (info, ops, status, delays) = if let Some(b) = s.completed_batch(t) {
        let delays = [b.scheduling_delay(), b.processing_delay(), b.total_delay()];
        (b.info.clone(), b.ops.clone(), "completed", delays)
    } else if let Some(i) = s.running.get(&t) {
        let delays = [i.scheduling_delay(), None, None];
        let ops = s.active_ops.get(&t).cloned().unwrap_or_default();
        (i.clone(), ops, "processing", delays)
    } else if let Some(i) = s.waiting.get(&t) {
        (i.clone(), Vec::new(), "queued", [None; 3])
    } else {
        return Err(unknown());
    };
    let mut body = format!(
        "<h1>Details of batch at {} ({})</h1><p><a href=\"/streaming/\">back to the Streaming page</a></p>\
         <table id=\"batch\"><tr><th>batch duration</th><td>{}</td></tr><tr><th>status</th><td>{status}</td></tr>\
         <tr><th>input size</th><td>{} records</td></tr><tr><th>scheduling delay</th><td>{}</td></tr>\
         <tr><th>processing time</th><td>{}</td></tr><tr><th>total delay</th><td>{}</td></tr>\
         <tr><th>failure</th><td class=\"failed\">{}</td></tr></table>",
        t.as_millis(),
        spark_date(t),
        ms(Some(app.batch_interval)),
        info.num_records,
        ms(delays[0]),
        ms(delays[1]),
        ms(delays[2]),
        esc(info.failure.as_deref().unwrap_or("")),
    );
    body.push_str("<h2>Records per input</h2><table id=\"batch-inputs\"><tr><th>stream</th><th>name</th><th>records</th></tr>");
    for input in &app.inputs {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            input.stream_id(),
            esc(&input.name()),
            info.stream_id_to_num_records
                .get(&input.stream_id())
                .copied()
                .unwrap_or(0)
        );
    }
    body.push_str("</table><h2>Output operations</h2><table id=\"batch-operations\"><tr><th>id</th><th>name</th>\
                   <th>duration</th><th>status</th><th>failure reason</th></tr>");
    for o in &ops {
        let duration = match (o.start_time, o.end_time) {
            (Some(s), Some(e)) => Some(e.saturating_since(s)),
            _ => None,
        };
        let status = match (&o.failure_reason, o.end_time) {
            (Some(_), _) => "failed",
            (None, Some(_)) => "succeeded",
            (None, None) => "running",
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{status}</td><td class=\"failed\">{}</td></tr>",
            o.id,
            esc(&o.name),
            ms(duration),
            esc(o.failure_reason.as_deref().unwrap_or(""))
        );
    }
    body.push_str("</table>");
    Ok(layout(&format!("batch {}", t.as_millis()), false, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.99), Some(99.0));
        assert_eq!(percentile(&v, 0.5), Some(50.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn charts_hold_one_point_per_batch() {
        let pts: Vec<(Time, f64)> = (1..=3)
            .map(|i| (Time::from_millis(i * 1000), i as f64))
            .collect();
        let svg = timeline("x", "ms", &pts, Some(2.0));
        assert_eq!(svg.matches("class=\"point\"").count(), 3);
        assert!(svg.contains("data-batch-time=\"3000\""));
        let h = histogram("x", "ms", &[1.0, 2.0, 2.0]);
        assert_eq!(h.matches("class=\"bar\"").count(), 10);
        assert_eq!(esc("<a&\"b'>"), "&lt;a&amp;&quot;b&#39;&gt;");
    }
}
