//! Spark's NetworkWordCount: count the words of the lines a TCP server sends,
//! per 1 s batch, from a socket text stream whose lines are `SharedStr`s
//! (`SocketSpec::shared_text`): the words are cut from the received text
//! without allocating one `String` per word.
//!
//! ```text
//! cargo run --example network_word_count -- [--serve] [HOST] [PORT] [--seconds N]
//! ```
//!
//! - With `--serve`, the example also runs a small data server on
//!   `HOST:PORT` that sends lines of sample text (about 50 a second), so it
//!   runs without `nc`: `cargo run --example network_word_count -- --serve --seconds 5`.
//! - Without it, start a server first, e.g. `nc -lk 9999`, then
//!   `cargo run --example network_word_count -- localhost 9999` and type lines.
//!
//! HOST defaults to `localhost`, PORT to 9999. With `--seconds N` the context
//! stops gracefully after N seconds (processing what was received) and prints
//! the receiver's counters; otherwise it runs until interrupted.

use std::io::Write;
use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use streaming::prelude::*;

const SAMPLE: &[&str] = &[
    "Spark Streaming Sample ssc",
    "Spark Queue Spark API",
    "a DStream is a sequence of RDDs",
    "every batch interval the input becomes the next batch",
];

struct Args {
    serve: bool,
    host: String,
    port: u16,
    seconds: Option<u64>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        serve: false,
        host: "localhost".into(),
        port: 9999,
        seconds: None,
    };
    let mut positional = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--serve" => args.serve = true,
            "--seconds" => {
                let n = it.next().ok_or("--seconds needs a number")?;
                args.seconds = Some(n.parse().map_err(|_| format!("bad --seconds {n:?}"))?);
            }
            "-h" | "--help" => {
                return Err(
                    "usage: network_word_count [--serve] [HOST] [PORT] [--seconds N]".into(),
                )
            }
            _ => positional.push(a),
        }
    }
    if let Some(h) = positional.first() {
        args.host = h.clone();
    }
    if let Some(p) = positional.get(1) {
        args.port = p.parse().map_err(|_| format!("bad port {p:?}"))?;
    }
    Ok(args)
}

/// Listens on `host:port` and sends sample lines to every client, about 50
/// a second, until the client goes away.
fn serve(host: &str, port: u16) -> std::io::Result<()> {
    let listener = TcpListener::bind((host, port))?;
    println!("serving sample lines on {}", listener.local_addr()?);
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            thread::spawn(move || {
                for i in 0.. {
                    let line = SAMPLE[i % SAMPLE.len()];
                    if writeln!(conn, "{line}").is_err() {
                        break;
                    }
                    thread::sleep(Duration::from_millis(20));
                }
            });
        }
    });
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    if args.serve {
        serve(&args.host, args.port)?;
    }
    let ssc = StreamingContext::new(
        StreamingConf::new()
            .app_name("NetworkWordCount")
            .master("local[2]")
            .batch_interval(Duration::from_secs(1)),
    )?;
    // Lines as `SharedStr`s (views of the text received), so that neither
    // the lines nor the words split from them are allocated one by one;
    // `SocketSpec::text` gives `String` lines, as Spark's socketTextStream.
    let spec = SocketSpec::shared_text(args.host.clone(), args.port);
    let stats = spec.stats();
    let lines = ssc.socket_stream_with(spec);
    let words = lines.flat_map(|line: SharedStr| line.split_whitespace());
    let counts = words.map(|w| (w, 1u64)).reduce_by_key(|a, b| a + b);
    counts.print();
    ssc.start()?;
    match args.seconds {
        Some(s) => {
            ssc.await_termination_or_timeout(Duration::from_secs(s))?;
            ssc.stop(StopMode::Graceful);
            println!(
                "received {} lines ({} bytes) over {} connection(s); {} bad lines",
                stats.records_received(),
                stats.bytes_received(),
                stats.connections(),
                stats.bad_records()
            );
        }
        None => ssc.await_termination()?,
    }
    Ok(())
}
