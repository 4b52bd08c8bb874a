//! The Streaming page in a real browser: headless Chromium (installed by
//! `scripts/install-chromium.sh`, which `scripts/test-all.sh` runs) loads
//! the page of a running context, runs its script, and the test checks the
//! DOM after that: every chart holds one data point per batch run, and the
//! page fills as more batches run. It saves a screenshot under the target
//! directory. Without Chromium the test FAILS (it never skips).

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use streaming::prelude::*;
use streaming::ManualClock;

mod support;
use support::{example_binary, input_from, manual_conf, run_batches};

/// The Chromium binary; panics with what to do when there is none.
fn chromium() -> PathBuf {
    for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!(
        "Chromium is not installed: this test needs it (run scripts/install-chromium.sh, \
         which runs `apt-get install chromium`; scripts/test-all.sh does it)"
    );
}

/// Runs Chromium headless with `args` then `url`; its stdout.
fn run_chromium(args: &[&str], url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).ok();
        s
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium exited with {status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap()
}

/// The DOM after the page's scripts ran for 2.5 s of virtual time.
fn dom(url: &str) -> String {
    run_chromium(&["--virtual-time-budget=2500", "--dump-dom"], url)
}

/// The `data-points` of chart `id` and the data points inside it.
fn chart_points(dom: &str, id: &str) -> (usize, usize) {
    let start = dom
        .find(&format!("id=\"timeline-{id}\""))
        .unwrap_or_else(|| panic!("no chart {id} in the DOM:\n{dom}"));
    let svg = &dom[start..start + dom[start..].find("</svg>").unwrap()];
    let declared = svg
        .split("data-points=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    (declared, svg.matches("class=\"point\"").count())
}

#[test]
fn chromium_shows_charts_with_a_point_per_batch_and_a_screenshot() {
    let clock = ManualClock::new();
    let ssc = StreamingContext::new(manual_conf(&clock).app_name("BrowserTest")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    ssc.checkpoint(dir.path()).unwrap();
    let lines: Vec<Vec<String>> = (1..=8)
        .map(|i| {
            (0..i * 3)
                .map(|j| format!("word{} other{}", j % 4, j % 2))
                .collect()
        })
        .collect();
    input_from(&ssc, lines)
        .flat_map(|l: String| l.split(' ').map(str::to_string).collect::<Vec<_>>())
        .map(|w: String| (w, 1u64))
        .update_state_by_key(|new: &[u64], old: Option<u64>| {
            Some(old.unwrap_or(0) + new.iter().sum::<u64>())
        })
        .name("word counts")
        .foreach_batch(|_, _| {});
    ssc.start().unwrap();
    let url = format!("{}/streaming/", ssc.ui_web_url().unwrap());

    run_batches(&ssc, 1..=3);
    let first = dom(&url);
    assert!(
        first.contains("data-live=\"1\""),
        "the page's script did not run:\n{first}"
    );
    for chart in [
        "input-rate",
        "scheduling-delay",
        "processing-time",
        "total-delay",
    ] {
        assert_eq!(
            chart_points(&first, chart),
            (3, 3),
            "{chart} after 3 batches"
        );
    }

    // The charts fill as the run goes on.
    run_batches(&ssc, 4..=8);
    let later = dom(&url);
    for chart in [
        "input-rate",
        "scheduling-delay",
        "processing-time",
        "total-delay",
    ] {
        assert_eq!(
            chart_points(&later, chart),
            (8, 8),
            "{chart} after 8 batches"
        );
    }
    assert!(
        later.contains("update_state_by_key \"word counts\" — state: 6 entries"),
        "{later}"
    );
    // The script refreshed the live part (fetched it again and swapped it in).
    let refreshes: usize = later
        .split("data-refreshes=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(refreshes >= 1, "no live refresh ran");

    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("streaming-page.png");
    let _ = std::fs::remove_file(&shot);
    run_chromium(
        &[
            "--virtual-time-budget=1500",
            "--window-size=1280,2600",
            &format!("--screenshot={}", shot.display()),
        ],
        &url,
    );
    let png = std::fs::read(&shot).expect("chromium wrote no screenshot");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    assert!(
        png.len() > 10_000,
        "a suspiciously small screenshot: {} bytes",
        png.len()
    );
    eprintln!("screenshot of the Streaming page: {}", shot.display());
    ssc.stop(StopMode::Immediate);
}

/// Kills the example when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_example_shows_the_page_whose_charts_fill_during_the_run() {
    let bin = example_binary("streaming_ui", &[]);
    let mut child = Command::new(bin)
        .args(["--port", "0", "--seconds", "120"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the streaming_ui example");
    let stdout = child.stdout.take().unwrap();
    let _running = Running(child);
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("Streaming UI: ")
        .filter(|u| u.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("the example printed {line:?}"))
        .to_string();

    // Poll the page in Chromium until the charts hold points, then until
    // they hold more: they fill while the example runs.
    let points = |dom: &str| chart_points(dom, "processing-time").1;
    let deadline = Instant::now() + Duration::from_secs(90);
    let first = loop {
        let d = dom(&url);
        if points(&d) >= 3 {
            break d;
        }
        assert!(Instant::now() < deadline, "no batches on the page:\n{d}");
    };
    let n = points(&first);
    let later = loop {
        let d = dom(&url);
        if points(&d) >= n + 5 {
            break d;
        }
        assert!(
            Instant::now() < deadline,
            "the charts stopped filling at {n} points"
        );
    };
    assert!(later.contains("data-live=\"1\""));
    for chart in ["input-rate", "scheduling-delay", "total-delay"] {
        assert!(chart_points(&later, chart).1 >= n + 5, "{chart}");
    }
    assert!(later.contains("update_state_by_key \"word totals\" — state: 10 entries"));
    // input, flat_map, map | reduce_by_key | update_state_by_key.
    assert!(
        later.contains("id=\"pipeline\" data-stages=\"3\""),
        "{later}"
    );
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("streaming-ui-example.png");
    let _ = std::fs::remove_file(&shot);
    run_chromium(
        &[
            "--virtual-time-budget=1500",
            "--window-size=1280,2600",
            &format!("--screenshot={}", shot.display()),
        ],
        &url,
    );
    let png = std::fs::read(&shot).expect("chromium wrote no screenshot");
    assert!(png.starts_with(b"\x89PNG"));
    eprintln!("screenshot of the example's page: {}", shot.display());
}
