//! Socket streams against real TCP servers on 127.0.0.1.

use std::io::Write;
use std::net::{TcpListener, TcpStream};

use streaming::prelude::*;
use streaming::{ManualClock, ReceiverStats};

use super::{collect, manual_context, wait_for, Collected, Events};

/// A server socket on a free port of 127.0.0.1, and the port.
pub fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

/// Writes `pieces` one by one, each only once the receiver has read all the
/// bytes before it, so each arrives as its own packet.
pub fn send_in_pieces(conn: &mut TcpStream, stats: &ReceiverStats, pieces: &[&[u8]]) {
    conn.set_nodelay(true).unwrap();
    let mut sent = 0u64;
    for p in pieces {
        conn.write_all(p).unwrap();
        conn.flush().unwrap();
        sent += p.len() as u64;
        wait_for("the receiver to read a piece", || {
            stats.bytes_received() >= sent
        });
    }
}

/// Writes `lines` (each with its newline) at once and waits until the
/// receiver has read all of them.
pub fn send_lines(conn: &mut TcpStream, stats: &ReceiverStats, lines: &[String]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    conn.write_all(text.as_bytes()).unwrap();
    let n = lines.len() as u64;
    wait_for(&format!("{n} lines"), || stats.records_received() == n);
}

/// A text socket stream of `port` on 127.0.0.1.
pub fn text(port: u16) -> SocketSpec<String> {
    SocketSpec::text("127.0.0.1", port)
}

/// A started context reading one socket stream: the context, its clock,
/// its listener, the stream's counters and what it collects.
pub type SocketRun<T> = (
    StreamingContext,
    ManualClock,
    Events,
    ReceiverStats,
    Collected<T>,
);

/// Starts a manual-clock context with `settings` that reads `spec` and
/// collects every batch.
pub fn start_collecting<T: Data>(settings: &[(&str, &str)], spec: SocketSpec<T>) -> SocketRun<T> {
    let (ssc, clock) = manual_context("socket test", settings);
    let events = Events::attach(&ssc);
    let stats = spec.stats();
    let out = collect(&ssc.socket_stream_with(spec));
    ssc.start().unwrap();
    (ssc, clock, events, stats, out)
}

/// [`start_collecting`] the stream `spec` makes for a server on a free
/// port, and the connection the stream makes to that server.
pub fn start_connected<T: Data>(
    settings: &[(&str, &str)],
    spec: impl FnOnce(u16) -> SocketSpec<T>,
) -> (TcpStream, SocketRun<T>) {
    let (server, port) = listener();
    let run = start_collecting(settings, spec(port));
    let (conn, _) = server.accept().unwrap();
    (conn, run)
}
