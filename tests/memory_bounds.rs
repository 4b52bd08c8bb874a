//! Memory bounded by configuration, not by the input (#12): a text file
//! far larger than any buffer, and a socket sender far faster than the
//! batches, each run in a child process (this test binary run again for
//! one test, with `MEMORY_BOUNDS_CHILD` set) that reports its peak resident
//! set size from `getrusage`, so the figure is that workload's alone.

use std::io::Write;
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use streaming::prelude::*;
use streaming::{ManualClock, LINE_TOO_LONG};

mod support;
use support::files::{set_mtime, Dirs};
use support::{context_at, INTERVAL, TIMEOUT};

const CHILD: &str = "MEMORY_BOUNDS_CHILD";
const MIB: u64 = 1 << 20;

/// This process's peak resident set size, in bytes.
fn peak_rss() -> u64 {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut usage), 0);
        usage
    };
    usage.ru_maxrss as u64 * 1024 // kilobytes on Linux
}

/// Whether this process is the child that runs test `name`'s workload; if
/// not, runs it in a child and returns the child's peak RSS.
fn child_or_run(name: &str) -> Result<(), u64> {
    if std::env::var(CHILD).as_deref() == Ok(name) {
        return Ok(());
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, name)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let peak = stdout
        .lines()
        .find_map(|l| l.split("PEAK_RSS=").nth(1))
        .unwrap_or_else(|| panic!("no PEAK_RSS in the child's output:\n{stdout}"))
        .trim()
        .parse()
        .unwrap();
    Err(peak)
}

/// One MiB of 64-byte lines (`word<n> ` repeated, then `\n`).
fn block_of_lines() -> Vec<u8> {
    let mut block = Vec::with_capacity(MIB as usize);
    let mut i = 0u64;
    while block.len() + 64 <= MIB as usize {
        let mut line = format!("word{} ", i % 1000).repeat(8);
        line.truncate(63);
        line.push('\n');
        block.extend_from_slice(line.as_bytes());
        i += 1;
    }
    block
}

/// Advances `clock` by one interval and waits for that batch's output.
fn step(clock: &ManualClock, out: &Arc<Mutex<Vec<u64>>>) -> u64 {
    let before = out.lock().unwrap().len();
    clock.advance(INTERVAL);
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(n) = out.lock().unwrap().get(before) {
            return *n;
        }
        assert!(Instant::now() < deadline, "no batch within {TIMEOUT:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn counts(stream: &DStream<String>) -> Arc<Mutex<Vec<u64>>> {
    let out: Arc<Mutex<Vec<u64>>> = Arc::default();
    let sink = out.clone();
    stream
        .count()
        .foreach_batch(move |b, _| sink.lock().unwrap().extend(b.collect()));
    out
}

/// A 256 MiB text file, with a 3 MiB line (over the 1 MiB limit) in the
/// middle, is read in bounded blocks: the batch's count is exact, the long
/// line is counted and skipped, and the process's peak RSS stays under a
/// quarter of the file (reading it whole needed more than the file).
#[test]
fn a_text_file_larger_than_memory_is_read_in_bounded_memory() {
    const FILE_MIB: u64 = 256;
    if let Err(peak) = child_or_run("a_text_file_larger_than_memory_is_read_in_bounded_memory") {
        eprintln!("peak RSS reading a {FILE_MIB} MiB file: {} MiB", peak / MIB);
        assert!(
            peak < FILE_MIB * MIB / 4,
            "peak RSS {} MiB for a {FILE_MIB} MiB file",
            peak / MIB
        );
        return;
    }
    let dirs = Dirs::new();
    let staged = dirs.staging.join("big.txt");
    let block = block_of_lines();
    let lines_per_block = block.iter().filter(|&&b| b == b'\n').count() as u64;
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&staged).unwrap());
        for i in 0..FILE_MIB {
            if i == FILE_MIB / 2 {
                f.write_all(&vec![b'x'; 3 * MIB as usize]).unwrap();
                f.write_all(b"\n").unwrap();
            }
            f.write_all(&block).unwrap();
        }
        f.flush().unwrap();
    }
    set_mtime(&staged, 500);
    std::fs::rename(&staged, dirs.watched.join("big.txt")).unwrap();

    let clock = ManualClock::new();
    let ssc = context_at(&clock, "big file", &[]);
    let spec = FileStreamSpec::text(&dirs.watched);
    let handle = spec.handle();
    let out = counts(&ssc.file_stream_with(spec));
    ssc.start().unwrap();
    assert_eq!(step(&clock, &out), FILE_MIB * lines_per_block);
    ssc.stop(StopMode::Immediate);
    assert_eq!(handle.stats().bad_records_of(LINE_TOO_LONG), 1);
    println!("PEAK_RSS={}", peak_rss());
}

/// A sender pushing 192 MiB as fast as it can into a socket stream whose
/// batches do not run yet: the receiver holds at most its byte bound
/// (`spark.streaming.receiver.maxBufferedBytes`, 16 MiB here) and TCP holds
/// back the sender; then every line arrives, in later batches, and the
/// process's peak RSS stays far under what was sent.
#[test]
fn a_socket_sender_faster_than_the_batches_is_held_to_the_byte_bound() {
    const SENT_MIB: u64 = 192;
    const BOUND: u64 = 16 * MIB;
    if let Err(peak) =
        child_or_run("a_socket_sender_faster_than_the_batches_is_held_to_the_byte_bound")
    {
        eprintln!("peak RSS receiving {SENT_MIB} MiB: {} MiB", peak / MIB);
        assert!(
            peak < SENT_MIB * MIB / 2,
            "peak RSS {} MiB for {SENT_MIB} MiB sent",
            peak / MIB
        );
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let block = block_of_lines();
    let lines_per_block = block.iter().filter(|&&b| b == b'\n').count() as u64;
    let sender = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        for _ in 0..SENT_MIB {
            conn.write_all(&block).unwrap();
        }
    });

    let clock = ManualClock::new();
    let bound = BOUND.to_string();
    let ssc = context_at(
        &clock,
        "fast sender",
        &[("spark.streaming.receiver.maxBufferedBytes", bound.as_str())],
    );
    let spec = SocketSpec::text("127.0.0.1", port);
    let stats = spec.stats();
    let out = counts(&ssc.socket_stream_with(spec));
    ssc.start().unwrap();
    // The receiver fills its buffer up to the bound, and stops reading.
    let deadline = Instant::now() + TIMEOUT;
    while stats.buffered_bytes() < BOUND * 9 / 10 {
        assert!(
            Instant::now() < deadline,
            "the receiver never filled its buffer"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(stats.peak_buffered_bytes() <= BOUND);
    let mut total = 0;
    let deadline = Instant::now() + TIMEOUT;
    while total < SENT_MIB * lines_per_block {
        assert!(Instant::now() < deadline, "only {total} lines arrived");
        total += step(&clock, &out);
    }
    sender.join().unwrap();
    ssc.stop(StopMode::Immediate);
    assert_eq!(total, SENT_MIB * lines_per_block);
    assert!(stats.peak_buffered_bytes() <= BOUND);
    println!("PEAK_RSS={}", peak_rss());
}
