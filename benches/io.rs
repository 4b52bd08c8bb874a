//! I/O benchmark: socket ingest and text file streams, each next to a bare
//! reader measured in the same run, printed as throughput and ratios.
//!
//! Run with `cargo bench --bench io` (options after `--`: `--quick`,
//! `--socket-only`, `--files-only`, `--outputs-only`, `--wal-only`).
//!
//! - Socket ingest: a local sender writes 60-byte lines (59 characters and
//!   `\n`) over 127.0.0.1 as fast as it can. The baseline is a bare tokio
//!   line reader (`BufReader::lines`, one `String` per line, on a 2-worker
//!   runtime like the context's). The stream is measured twice: until every
//!   line is in the receiver's buffer (counted and checked, still as bytes:
//!   text lines become `String`s when their batch is computed), and until
//!   every line has gone through batches (20 ms interval) as `String`s into a
//!   `foreach_batch` count, the figure to compare with the bare reader. For reference,
//!   the bare reader is also run keeping its lines for 20 ms and dropping
//!   them on another thread, as any consumer that batches must.
//! - Receiver write-ahead log: the same socket ingest with a checkpoint
//!   directory (in the system's temporary directory), with
//!   `spark.streaming.receiver.writeAheadLog.enable` off and on, runs
//!   interleaved: the ratio on / off is the price of appending every block
//!   to the log and fsyncing it before it enters the buffer. For scale, a
//!   bare loop appending the same bytes to a file in 4 MiB writes, each
//!   followed by `fdatasync`, runs in the same rounds (the disk's rate).
//! - Text file stream: a directory of many files, all new for one batch. The
//!   baseline reads and splits them on one thread with `std::fs` and `str::lines`.
//!
//! - Durable outputs: `save_as_text_files` over 20 batches (each fsyncs its
//!   part files, `_SUCCESS` and directories before and after the rename),
//!   next to the same layout written without any fsync by a hand-written
//!   loop: the ratio is the price of durability plus the framework.
//!
//! Every variant runs on mimalloc (the global allocator of this bench).

use std::hint::black_box;
use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use streaming::prelude::*;
use streaming::ManualClock;

/// Every variant, the baselines included, runs on mimalloc, as the other
/// benches do: with owned lines the system allocator dominates otherwise
/// (see the README).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const LINE: usize = 60;
const BLOCK_LINES: usize = 16 * 1024;

/// One block of 60-byte lines with varied content.
fn block() -> Vec<u8> {
    let mut b = Vec::with_capacity(BLOCK_LINES * LINE);
    for i in 0..BLOCK_LINES {
        let head = format!("{i:08} the quick brown fox jumps over the lazy dog ");
        let mut line = head.into_bytes();
        line.resize(LINE - 1, b'.');
        line.push(b'\n');
        b.extend_from_slice(&line);
    }
    b
}

/// Accepts one connection on `listener` and writes `block` `repeats` times.
fn spawn_sender(
    listener: TcpListener,
    block: Arc<Vec<u8>>,
    repeats: usize,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        for _ in 0..repeats {
            conn.write_all(&block).expect("send");
        }
    })
}

/// A bare tokio line reader of a local sender of `repeats` blocks: the
/// runtime, the address to connect to and the sender thread.
fn tokio_reader_setup(
    block: &Arc<Vec<u8>>,
    repeats: usize,
) -> (
    tokio::runtime::Runtime,
    std::net::SocketAddr,
    thread::JoinHandle<()>,
) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let sender = spawn_sender(listener, block.clone(), repeats);
    (rt, addr, sender)
}

/// The lines of a connection to `addr`, read by tokio's buffered reader.
async fn tokio_lines(
    addr: std::net::SocketAddr,
) -> tokio::io::Lines<tokio::io::BufReader<tokio::net::TcpStream>> {
    use tokio::io::AsyncBufReadExt;
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    tokio::io::BufReader::with_capacity(256 * 1024, stream).lines()
}

fn tokio_baseline(block: &Arc<Vec<u8>>, repeats: usize) -> Duration {
    let expected = (BLOCK_LINES * repeats) as u64;
    let (rt, addr, sender) = tokio_reader_setup(block, repeats);
    let elapsed = rt.block_on(async move {
        let start = Instant::now();
        let mut lines = tokio_lines(addr).await;
        let mut n = 0u64;
        while let Some(line) = lines.next_line().await.unwrap() {
            black_box(&line);
            n += 1;
        }
        assert_eq!(n, expected);
        start.elapsed()
    });
    sender.join().unwrap();
    elapsed
}

/// The bare reader again, but keeping its lines as a batching consumer must:
/// every 20 ms (the stream's batch interval) the lines read so far go to
/// another thread, which drops them.
fn tokio_keeping_baseline(block: &Arc<Vec<u8>>, repeats: usize) -> Duration {
    let expected = (BLOCK_LINES * repeats) as u64;
    let (rt, addr, sender) = tokio_reader_setup(block, repeats);
    let (tx, rx) = std::sync::mpsc::channel::<Vec<String>>();
    let dropper = thread::spawn(move || {
        let mut n = 0;
        for batch in rx {
            n += batch.len() as u64;
        }
        n
    });
    let elapsed = rt.block_on(async move {
        let start = Instant::now();
        let mut lines = tokio_lines(addr).await;
        let mut kept = Vec::new();
        let mut cut = Instant::now() + Duration::from_millis(20);
        while let Some(line) = lines.next_line().await.unwrap() {
            kept.push(line);
            if kept.len().is_multiple_of(4096) && Instant::now() >= cut {
                tx.send(std::mem::take(&mut kept)).unwrap();
                cut += Duration::from_millis(20);
            }
        }
        tx.send(kept).unwrap();
        drop(tx);
        start.elapsed()
    });
    assert_eq!(dropper.join().unwrap(), expected);
    sender.join().unwrap();
    elapsed
}

fn wait_until(cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while !cond() {
        assert!(Instant::now() < deadline, "benchmark stalled");
        thread::sleep(Duration::from_micros(200));
    }
}

/// How the socket stream runs: plain, with a checkpoint directory, or
/// with a checkpoint directory and the write-ahead log.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Durability {
    Plain,
    Checkpointed,
    Logged,
}

/// Returns (time until all lines are received, time until all went through batches).
fn socket_stream(
    block: &Arc<Vec<u8>>,
    repeats: usize,
    durability: Durability,
) -> (Duration, Duration) {
    let expected = (BLOCK_LINES * repeats) as u64;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let conf = StreamingConf::new()
        .app_name("io bench")
        .master("local[2]")
        .batch_interval(Duration::from_millis(20))
        .set(
            "spark.streaming.receiver.writeAheadLog.enable",
            if durability == Durability::Logged {
                "true"
            } else {
                "false"
            },
        );
    let ssc = StreamingContext::new(conf).unwrap();
    let checkpoint = tempfile::tempdir().unwrap();
    if durability != Durability::Plain {
        ssc.checkpoint(checkpoint.path()).unwrap();
    }
    let spec = SocketSpec::text("127.0.0.1", port)
        .buffer_capacity(8_000_000)
        .reconnect_backoff(Duration::from_millis(50), Duration::from_secs(1));
    let stats = spec.stats();
    let counted = Arc::new(AtomicU64::new(0));
    let sink = counted.clone();
    ssc.socket_stream_with(spec).foreach_batch(move |b, _| {
        sink.fetch_add(b.len() as u64, Ordering::Relaxed);
    });
    let sender = spawn_sender(listener, block.clone(), repeats);
    let start = Instant::now();
    ssc.start().unwrap();
    wait_until(|| stats.records_received() >= expected);
    let received = start.elapsed();
    wait_until(|| counted.load(Ordering::Relaxed) >= expected);
    let processed = start.elapsed();
    sender.join().unwrap();
    ssc.stop(StopMode::Immediate);
    assert_eq!(stats.bad_records(), 0);
    (received, processed)
}

fn write_files(dir: &Path, files: usize, lines_per_file: usize) -> u64 {
    let b = block();
    let mut bytes = 0;
    for f in 0..files {
        let start = (f * 7919) % (BLOCK_LINES - lines_per_file);
        let content = &b[start * LINE..(start + lines_per_file) * LINE];
        std::fs::write(dir.join(format!("file-{f:05}.txt")), content).unwrap();
        bytes += content.len() as u64;
    }
    bytes
}

fn files_baseline(dir: &Path) -> (Duration, u64) {
    let start = Instant::now();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let mut n = 0u64;
    for p in paths {
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        n += lines.len() as u64;
        black_box(lines);
    }
    (start.elapsed(), n)
}

fn file_stream(dir: &Path) -> (Duration, u64) {
    // The clock starts now, so the files just written are in the remember
    // window, and they are all read by the first batch.
    let clock = ManualClock::starting_at(Time::now());
    let ssc = StreamingContext::new(
        StreamingConf::new()
            .app_name("io bench")
            .master("local[2]")
            .batch_interval(Duration::from_secs(1))
            .manual_clock(clock.clone()),
    )
    .unwrap();
    let counted = Arc::new(AtomicU64::new(0));
    let sink = counted.clone();
    ssc.file_stream_with(FileStreamSpec::text(dir).new_files_only(false))
        .foreach_batch(move |b, _| {
            sink.fetch_add(b.len() as u64, Ordering::Relaxed);
        });
    ssc.start().unwrap();
    let first = clock.time().floor(Duration::from_secs(1)) + Duration::from_secs(1);
    let start = Instant::now();
    clock.set_time(first);
    ssc.await_batch_completion(first, Duration::from_secs(300))
        .unwrap();
    let elapsed = start.elapsed();
    ssc.stop(StopMode::Immediate);
    (elapsed, counted.load(Ordering::Relaxed))
}

fn best(runs: &[Duration]) -> Duration {
    *runs.iter().min().unwrap()
}

fn rate(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |f: &str| args.iter().any(|a| a == f);
    let quick = flag("--quick");
    let (repeats, runs) = if quick { (64, 2) } else { (320, 5) };
    let block = Arc::new(block());

    let only = [
        "--socket-only",
        "--files-only",
        "--outputs-only",
        "--wal-only",
    ]
    .into_iter()
    .find(|f| flag(f));
    let run = |f: &str| only.is_none_or(|o| o == f);
    if run("--socket-only") {
        socket_bench(&block, repeats, runs);
    }
    if run("--files-only") {
        files_bench(quick, runs);
    }
    if run("--outputs-only") {
        outputs_bench(quick, runs);
    }
    if run("--wal-only") {
        wal_bench(&block, repeats, runs);
    }
}

/// The batches the outputs bench writes: `parts` partitions of `lines`
/// 60-byte lines each.
fn output_batches(batches: usize, parts: usize, lines: usize) -> Vec<Vec<Vec<String>>> {
    (0..batches)
        .map(|b| {
            (0..parts)
                .map(|p| {
                    (0..lines)
                        .map(|i| format!("{b:>8} {p:>4} {i:>10} {}", "x".repeat(33)))
                        .collect()
                })
                .collect()
        })
        .collect()
}

/// The same directories as `save_as_text_files`, written without fsync.
fn outputs_baseline(dir: &Path, batches: &[Vec<Vec<String>>]) -> Duration {
    let started = Instant::now();
    for (b, parts) in batches.iter().enumerate() {
        let temp = dir.join(format!(".tmp-{b}"));
        std::fs::create_dir(&temp).unwrap();
        for (i, part) in parts.iter().enumerate() {
            let mut out = std::io::BufWriter::new(
                std::fs::File::create(temp.join(format!("part-{i:05}"))).unwrap(),
            );
            for line in part {
                writeln!(out, "{line}").unwrap();
            }
            out.flush().unwrap();
        }
        std::fs::File::create(temp.join("_SUCCESS")).unwrap();
        std::fs::rename(&temp, dir.join(format!("out-{}", (b + 1) * 1000))).unwrap();
    }
    started.elapsed()
}

/// `save_as_text_files` of the same batches, one batch per manual-clock step.
fn outputs_stream(dir: &Path, batches: &[Vec<Vec<String>>]) -> Duration {
    let clock = ManualClock::new();
    let ssc = StreamingContext::new(
        StreamingConf::new()
            .master("local[2]")
            .batch_interval(Duration::from_secs(1))
            .manual_clock(clock.clone()),
    )
    .unwrap();
    let data: Arc<Vec<Vec<Vec<String>>>> = Arc::new(batches.to_vec());
    let input = data.clone();
    ssc.input_stream_from_fn(move |t| {
        let i = (t.as_millis() / 1000) as usize - 1;
        input
            .get(i)
            .map(|parts| Batch::from_partitions(parts.clone()))
    })
    .save_as_text_files(dir.join("out"), "");
    ssc.start().unwrap();
    let started = Instant::now();
    for b in 1..=batches.len() as u64 {
        clock.advance(Duration::from_secs(1));
        ssc.await_batch_completion(Time::from_millis(b * 1000), Duration::from_secs(600))
            .unwrap();
    }
    let elapsed = started.elapsed();
    ssc.stop(StopMode::Immediate);
    elapsed
}

fn outputs_bench(quick: bool, runs: usize) {
    let (n, parts, lines) = if quick {
        (10, 2, 20_000)
    } else {
        (20, 2, 50_000)
    };
    let batches = output_batches(n, parts, lines);
    let mb = (n * parts * lines * LINE) as f64 / 1e6;
    println!(
        "durable outputs: {n} batches of {parts} x {lines} lines ({mb:.0} MB), best of {runs}"
    );
    let (mut base, mut ours) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let dir = tempfile::tempdir().unwrap();
        base.push(outputs_baseline(dir.path(), &batches));
        let dir = tempfile::tempdir().unwrap();
        ours.push(outputs_stream(dir.path(), &batches));
    }
    let b = best(&base);
    for (name, d) in [
        ("hand-written, no fsync", b),
        ("save_as_text_files, durable", best(&ours)),
    ] {
        println!(
            "  {name:<38} {:>7.0} MB/s {:>8.1} ms/batch   {:.2}x",
            mb / d.as_secs_f64(),
            d.as_secs_f64() * 1e3 / n as f64,
            b.as_secs_f64() / d.as_secs_f64()
        );
    }
}

fn socket_bench(block: &Arc<Vec<u8>>, repeats: usize, runs: usize) {
    let lines = (BLOCK_LINES * repeats) as u64;
    let mb = (lines * LINE as u64) as f64 / 1e6;
    println!(
        "socket ingest: {lines} lines of {LINE} bytes ({mb:.0} MB) over 127.0.0.1, best of {runs}"
    );
    let (mut base, mut keep, mut recv, mut proc_) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        base.push(tokio_baseline(block, repeats));
        keep.push(tokio_keeping_baseline(block, repeats));
        let (r, p) = socket_stream(block, repeats, Durability::Plain);
        recv.push(r);
        proc_.push(p);
    }
    let (b, k) = (best(&base), best(&keep));
    println!("  {:<38} {:>15} {:>12}   vs bare  vs keeping", "", "", "");
    for (name, d) in [
        ("bare tokio line reader", b),
        ("  same, keeping 20 ms of lines", k),
        ("socket_text_stream, received", best(&recv)),
        ("socket_text_stream, through batches", best(&proc_)),
    ] {
        println!(
            "  {name:<38} {:>6.2} M lines/s {:>7.0} MB/s   {:>6.2}x  {:>6.2}x",
            rate(lines, d) / 1e6,
            mb / d.as_secs_f64(),
            b.as_secs_f64() / d.as_secs_f64(),
            k.as_secs_f64() / d.as_secs_f64()
        );
    }
}

/// Appends `block` `repeats` times to a new file in 4 MiB writes, each
/// fsynced (`sync_data`): the disk's rate for what the log writes.
fn bare_append_fsync(block: &[u8], repeats: usize) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let mut f = std::fs::File::create(dir.path().join("log")).unwrap();
    let chunk: Vec<u8> = block.iter().copied().cycle().take(4 << 20).collect();
    let total = block.len() * repeats;
    let start = Instant::now();
    let mut written = 0;
    while written < total {
        let n = chunk.len().min(total - written);
        f.write_all(&chunk[..n]).unwrap();
        f.sync_data().unwrap();
        written += n;
    }
    start.elapsed()
}

fn wal_bench(block: &Arc<Vec<u8>>, repeats: usize, runs: usize) {
    let lines = (BLOCK_LINES * repeats) as u64;
    let mb = (lines * LINE as u64) as f64 / 1e6;
    println!(
        "receiver write-ahead log: socket ingest of {lines} lines of {LINE} bytes ({mb:.0} MB), checkpointed, log off and on, best of {runs}"
    );
    let mut results: Vec<(Vec<Duration>, Vec<Duration>)> = vec![Default::default(); 3];
    let variants = [
        Durability::Plain,
        Durability::Checkpointed,
        Durability::Logged,
    ];
    let mut disk = Vec::new();
    for _ in 0..runs {
        for (i, &d) in variants.iter().enumerate() {
            let (r, p) = socket_stream(block, repeats, d);
            results[i].0.push(r);
            results[i].1.push(p);
        }
        disk.push(bare_append_fsync(block, repeats));
    }
    let off = (best(&results[1].0), best(&results[1].1));
    println!(
        "  {:<38} {:>15} {:>12}   on / off (received, through batches)",
        "", "", ""
    );
    for (name, (recv, proc_)) in [
        ("no checkpoint directory", &results[0]),
        ("checkpointed, log off", &results[1]),
        ("checkpointed, log on", &results[2]),
    ] {
        let (r, p) = (best(recv), best(proc_));
        println!(
            "  {name:<38} {:>6.2} M lines/s {:>7.0} MB/s   {:>6.2}x  {:>6.2}x",
            rate(lines, p) / 1e6,
            mb / p.as_secs_f64(),
            off.0.as_secs_f64() / r.as_secs_f64(),
            off.1.as_secs_f64() / p.as_secs_f64()
        );
    }
    let disk = best(&disk);
    println!(
        "  {:<38} {:>15} {:>7.0} MB/s   (log on, through batches: {:.2}x of it)",
        "bare append + fdatasync, 4 MiB writes",
        "",
        mb / disk.as_secs_f64(),
        disk.as_secs_f64() / best(&results[2].1).as_secs_f64()
    );
}

fn files_bench(quick: bool, runs: usize) {
    let (files, per_file) = if quick { (500, 256) } else { (4000, 256) };
    let dir = tempfile::tempdir().unwrap();
    let bytes = write_files(dir.path(), files, per_file);
    let fmb = bytes as f64 / 1e6;
    println!(
        "text file stream: {files} files of {per_file} lines ({fmb:.0} MB) in one batch, best of {runs}"
    );
    let (mut base, mut ours) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let (d, n) = files_baseline(dir.path());
        assert_eq!(n, (files * per_file) as u64);
        base.push(d);
        let (d, n) = file_stream(dir.path());
        assert_eq!(n, (files * per_file) as u64);
        ours.push(d);
    }
    let b = best(&base);
    let total = (files * per_file) as u64;
    for (name, d) in [
        ("std::fs + str::lines, one thread", b),
        ("text_file_stream batch (local[2])", best(&ours)),
    ] {
        println!(
            "  {name:<38} {:>6.2} M lines/s {:>7.0} MB/s {:>8.0} files/s   {:.2}x",
            rate(total, d) / 1e6,
            fmb / d.as_secs_f64(),
            rate(files as u64, d),
            b.as_secs_f64() / d.as_secs_f64()
        );
    }
}
