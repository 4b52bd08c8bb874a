//! The opt-in graceful stop on signals, in a child process: the first
//! SIGTERM stops a running context gracefully; once no context runs, a
//! signal ends the process as its default action would.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use streaming::prelude::*;

const CHILD_ENV: &str = "STREAMING_SIGNALS_CHILD";

/// The child: runs a context with the graceful stop on signals, prints
/// `running`, waits for the signal to stop it, prints `stopped`, then waits
/// (forever, unless a signal ends the process).
fn child() {
    let ssc = StreamingContext::new(
        StreamingConf::new()
            .master("local[1]")
            .batch_interval(Duration::from_millis(20))
            .stop_gracefully_on_shutdown(true),
    )
    .unwrap();
    ssc.queue_stream(BatchQueue::<u32>::new(), true)
        .foreach_batch(|_, _| {});
    ssc.start().unwrap();
    println!("running");
    ssc.await_termination().unwrap();
    println!("stopped");
    loop {
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {pid}");
}

#[test]
fn sigterm_stops_gracefully_and_a_later_sigint_ends_the_process() {
    if std::env::var_os(CHILD_ENV).is_some() {
        child();
        return;
    }
    let mut proc = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "sigterm_stops_gracefully_and_a_later_sigint_ends_the_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = proc.id();
    let mut lines = BufReader::new(proc.stdout.take().unwrap()).lines();
    let mut wait_for = |word: &str| loop {
        let line = lines.next().expect("child output").unwrap();
        if line.trim_end().ends_with(word) {
            break;
        }
    };
    wait_for("running");
    signal(pid, "-TERM");
    // The context stopped gracefully and await_termination returned Ok.
    wait_for("stopped");
    signal(pid, "-INT");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = proc.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            proc.kill().unwrap();
            panic!("the child did not exit on SIGINT after its context stopped");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130), "{status:?}");
}
