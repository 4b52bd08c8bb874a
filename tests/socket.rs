//! Socket streams against real TCP servers on 127.0.0.1, with batches driven
//! by the manual clock. Where the test must know that data has arrived
//! before a batch, it polls the receiver's counters (never sleeps a guessed
//! amount).

use std::io::Write;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use streaming::prelude::*;
use streaming::{
    LengthPrefixedDecoder, FRAME_TOO_LONG, INVALID_UTF8, LINE_TOO_LONG, TRUNCATED, UNDECODABLE,
};

mod support;
use support::socket::{
    listener, send_in_pieces, send_lines, start_collecting, start_connected, text,
};
use support::{collect, manual_context, step as run_batch, wait_for, INTERVAL};

#[test]
fn lines_split_across_packets_with_crlf_and_a_last_line_at_close() {
    let (mut conn, (ssc, clock, _events, stats, out)) = start_connected(&[], text);
    send_in_pieces(
        &mut conn,
        &stats,
        &[b"hel", b"lo\r\nwor", b"ld\n\n", b"x\r", b"\nlast"],
    );
    drop(conn);
    wait_for("5 lines", || stats.records_received() == 5);

    run_batch(&ssc, &clock, 1);
    ssc.stop(StopMode::Immediate);
    let batches = out.lock().unwrap().clone();
    assert_eq!(batches, vec![vec!["hello", "world", "", "x", "last"]]);
    assert_eq!(stats.bad_records(), 0);
    assert_eq!(stats.bytes_received(), 21);
}

#[test]
fn invalid_utf8_and_overlong_lines_are_counted_reported_and_skipped() {
    let (mut conn, (ssc, clock, events, stats, out)) =
        start_connected(&[("streaming.socket.maxLineLength", "16")], text);
    let long = "y".repeat(40) + "\n";
    let z = "z".repeat(10);
    send_in_pieces(
        &mut conn,
        &stats,
        &[
            b"ok1\n",
            b"bad \xff\xfe line\n",
            long.as_bytes(),
            b"ok2\n",
            // A long line arriving in pieces, never buffered whole.
            z.as_bytes(),
            z.as_bytes(),
            z.as_bytes(),
            b"\nok3\n",
            b"exactly-16-bytes\r\n",
        ],
    );
    wait_for("4 good lines", || stats.records_received() == 4);
    run_batch(&ssc, &clock, 1);

    assert_eq!(
        out.lock().unwrap().clone(),
        vec![vec!["ok1", "ok2", "ok3", "exactly-16-bytes"]]
    );
    assert_eq!(stats.bad_records_of(INVALID_UTF8), 1);
    assert_eq!(stats.bad_records_of(LINE_TOO_LONG), 2);
    assert_eq!(stats.bad_records(), 3);
    assert!(events.errors_containing("invalid UTF-8") >= 1);
    assert!(events.errors_containing("line too long") >= 2);

    // The job keeps running: more data after the bad lines still arrives.
    send_in_pieces(&mut conn, &stats, &[b"after\n"]);
    wait_for("the line after", || stats.records_received() == 5);
    run_batch(&ssc, &clock, 2);
    ssc.stop(StopMode::Immediate);
    assert_eq!(out.lock().unwrap()[1], vec!["after"]);
}

#[test]
fn lossy_mode_keeps_invalid_utf8_lines_and_still_counts_them() {
    let (mut conn, (ssc, clock, _events, stats, out)) =
        start_connected(&[], |port| text(port).lossy_utf8(true));
    send_in_pieces(&mut conn, &stats, &[b"caf\xe9\n"]);
    wait_for("1 line", || stats.records_received() == 1);
    run_batch(&ssc, &clock, 1);
    ssc.stop(StopMode::Immediate);
    assert_eq!(out.lock().unwrap()[0], vec!["caf\u{FFFD}"]);
    assert_eq!(stats.bad_records_of(INVALID_UTF8), 1);
}

#[test]
fn refused_connections_and_disconnects_are_reported_and_retried() {
    // A port with nothing listening yet.
    let (probe, port) = listener();
    drop(probe);
    let (ssc, clock, events, stats, out) = start_collecting(
        &[],
        text(port).reconnect_backoff(Duration::from_millis(5), Duration::from_millis(20)),
    );
    wait_for("two refused connections", || {
        stats.connection_failures() >= 2
    });
    assert!(events.errors_containing("cannot connect to 127.0.0.1") >= 2);

    let server = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let keep_open = Arc::new(AtomicBool::new(true));
    let server_thread = {
        let stats = stats.clone();
        let keep_open = keep_open.clone();
        thread::spawn(move || {
            let (mut first, _) = server.accept().unwrap();
            send_in_pieces(&mut first, &stats, &[b"a\nb\n"]);
            drop(first); // the peer goes away
            let (mut second, _) = server.accept().unwrap();
            second.write_all(b"c\n").unwrap();
            while keep_open.load(Ordering::Acquire) {
                thread::sleep(Duration::from_millis(1));
            }
        })
    };
    wait_for("3 lines over two connections", || {
        stats.records_received() == 3
    });
    assert_eq!(stats.connections(), 2);
    assert!(stats.disconnects() >= 1);
    assert!(events.errors_containing("connection closed by the peer") >= 1);

    run_batch(&ssc, &clock, 1);
    ssc.stop(StopMode::Immediate);
    keep_open.store(false, Ordering::Release);
    server_thread.join().unwrap();
    assert_eq!(out.lock().unwrap()[0], vec!["a", "b", "c"]);
}

#[test]
fn the_rate_limit_caps_each_batch_and_keeps_the_rest() {
    let (mut conn, (ssc, clock, events, stats, out)) =
        start_connected(&[("spark.streaming.receiver.maxRate", "100")], text);
    let expected: Vec<String> = (0..350).map(|i| format!("line-{i}")).collect();
    send_lines(&mut conn, &stats, &expected);

    for i in 1..=5 {
        run_batch(&ssc, &clock, i);
    }
    ssc.stop(StopMode::Immediate);
    assert_eq!(
        *events.records.lock().unwrap(),
        vec![100, 100, 100, 50, 0],
        "records per batch, as the listener sees them"
    );
    let all: Vec<String> = out.lock().unwrap().concat();
    assert_eq!(all, expected);
}

/// How a receiver's buffer is bounded in a test.
#[derive(Clone, Copy)]
enum Bound {
    Records(usize),
    Bytes(usize),
}

/// Sends far more than the kernel buffers hold to a receiver bounded by
/// `bound`; the receiver fills its buffer and stops reading (TCP holds the
/// sender back), then batches drain it and every line arrives, in order.
fn a_bounded_buffer_pushes_back_and_loses_nothing(bound: Bound) {
    const LINES: u64 = 1_000_000; // 64 MB: far more than the kernel buffers
    let line = |i: u64| format!("{i:0>63}");
    let (server, port) = listener();
    let (ssc, clock) = manual_context("socket test", &[]);
    let spec = match bound {
        Bound::Records(n) => text(port).buffer_capacity(n),
        Bound::Bytes(n) => text(port).buffer_capacity(usize::MAX).max_buffered_bytes(n),
    };
    let stats = spec.stats();
    let lines = ssc.socket_stream_with(spec);
    // Check order and completeness as batches arrive, without keeping them.
    let next = Arc::new(AtomicU64::new(0));
    let seen = next.clone();
    lines.foreach_batch(move |b, _| {
        for l in b.iter() {
            let i = seen.fetch_add(1, Ordering::Relaxed);
            assert_eq!(*l, line(i), "line {i} out of order or corrupt");
        }
    });
    ssc.start().unwrap();

    let sent = Arc::new(AtomicU64::new(0));
    let sender = {
        let sent = sent.clone();
        thread::spawn(move || {
            let (mut conn, _) = server.accept().unwrap();
            let mut chunk = String::new();
            for i in 0..LINES {
                chunk.push_str(&line(i));
                chunk.push('\n');
                if chunk.len() >= 64 * 1024 || i + 1 == LINES {
                    conn.write_all(chunk.as_bytes()).unwrap();
                    sent.fetch_add(chunk.len() as u64, Ordering::Release);
                    chunk.clear();
                }
            }
        })
    };
    let full = || match bound {
        Bound::Records(n) => stats.buffered() == n as u64,
        // Within one 64-byte line of the bound.
        Bound::Bytes(n) => stats.buffered_bytes() + 64 > n as u64,
    };
    wait_for("a full buffer", full);
    // The receiver no longer reads: the sender is held back by TCP.
    assert!(
        sent.load(Ordering::Acquire) < LINES * 64,
        "the sender could write everything although nothing was consumed"
    );
    if let Bound::Records(n) = bound {
        assert_eq!(stats.records_received(), n as u64);
    }

    let mut i = 0;
    while next.load(Ordering::Relaxed) < LINES {
        wait_for("data to batch", || {
            stats.buffered() > 0 || stats.records_received() == LINES
        });
        i += 1;
        run_batch(&ssc, &clock, i);
        assert!(i < 10_000, "no progress");
    }
    sender.join().unwrap();
    ssc.stop(StopMode::Immediate);
    assert_eq!(next.load(Ordering::Relaxed), LINES);
    match bound {
        Bound::Records(n) => assert!(stats.peak_buffered() <= n as u64),
        Bound::Bytes(n) => assert!(stats.peak_buffered_bytes() <= n as u64),
    }
    assert_eq!(stats.bad_records(), 0);
}

#[test]
fn a_full_buffer_pauses_reading_so_tcp_pushes_back_and_nothing_is_lost() {
    a_bounded_buffer_pushes_back_and_loses_nothing(Bound::Records(20_000));
}

#[test]
fn a_buffer_bounded_in_bytes_pauses_reading_and_loses_nothing() {
    a_bounded_buffer_pushes_back_and_loses_nothing(Bound::Bytes(1 << 20));
}

#[test]
fn a_graceful_stop_processes_everything_received_within_the_rate() {
    let (mut conn, (ssc, clock, events, stats, out)) =
        start_connected(&[("spark.streaming.receiver.maxRate", "1000")], text);
    let expected: Vec<String> = (0..3500).map(|i| i.to_string()).collect();
    send_lines(&mut conn, &stats, &expected);

    // No batch has run yet; the stop must generate as many as the rate
    // needs. The manual clock is moved by a helper while `stop` waits.
    let stopped = Arc::new(AtomicBool::new(false));
    let ticker = {
        let (clock, stopped) = (clock.clone(), stopped.clone());
        thread::spawn(move || {
            while !stopped.load(Ordering::Acquire) {
                clock.advance(INTERVAL);
                thread::sleep(Duration::from_millis(2));
            }
        })
    };
    ssc.stop(StopMode::Graceful);
    stopped.store(true, Ordering::Release);
    ticker.join().unwrap();
    drop(conn);

    let all: Vec<String> = out.lock().unwrap().concat();
    assert_eq!(all, expected, "a graceful stop loses nothing received");
    let records = events.records.lock().unwrap().clone();
    assert_eq!(&records[..4], &[1000, 1000, 1000, 500]);
}

#[test]
fn socket_stream_decodes_length_prefixed_frames_and_counts_bad_ones() {
    let decoder = LengthPrefixedDecoder::new(|p: &[u8]| {
        std::str::from_utf8(p)
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
            .ok_or_else(|| format!("not a number: {:?}", String::from_utf8_lossy(p)))
    })
    .max_frame_length(64);
    let (mut conn, (ssc, clock, events, stats, out)) =
        start_connected(&[], |port| SocketSpec::new("127.0.0.1", port, decoder));

    let frame = |p: &[u8]| {
        let mut f = (p.len() as u32).to_be_bytes().to_vec();
        f.extend_from_slice(p);
        f
    };
    let mut data = Vec::new();
    data.extend(frame(b"1"));
    data.extend(frame(b"22"));
    data.extend(frame(&[b'9'; 100])); // longer than the limit: skipped
    data.extend(frame(b"abc")); // the converter rejects it
    data.extend(frame(b"-333"));
    data.extend_from_slice(&[0, 0, 0, 10, b'4', b'4']); // cut by the close
    send_in_pieces(&mut conn, &stats, &[&data[..7], &data[7..60], &data[60..]]);
    drop(conn);
    wait_for("the truncated frame to be counted", || {
        stats.bad_records_of(TRUNCATED) == 1
    });
    run_batch(&ssc, &clock, 1);
    ssc.stop(StopMode::Immediate);

    assert_eq!(out.lock().unwrap()[0], vec![1, 22, -333]);
    assert_eq!(stats.bad_records_of(FRAME_TOO_LONG), 1);
    assert_eq!(stats.bad_records_of(UNDECODABLE), 1);
    assert!(events.errors_containing("not a number: \"abc\"") >= 1);
}

#[test]
fn socket_text_stream_uses_the_configured_limits() {
    let (server, port) = listener();
    let (ssc, clock) = manual_context("socket test", &[("streaming.socket.maxLineLength", "3")]);
    let out = collect(&ssc.socket_text_stream("127.0.0.1", port));
    ssc.start().unwrap();
    let (mut conn, _) = server.accept().unwrap();
    conn.write_all(b"abc\nabcd\nxy\n").unwrap();
    drop(conn);
    // No stats handle here: step batches until both good lines arrived.
    let mut i = 0;
    while out.lock().unwrap().concat().len() < 2 {
        i += 1;
        run_batch(&ssc, &clock, i);
        assert!(i < 100_000, "lines never arrived");
    }
    ssc.stop(StopMode::Immediate);
    assert_eq!(out.lock().unwrap().concat(), vec!["abc", "xy"]);
}

#[test]
fn an_invalid_setting_fails_start_with_a_clear_error() {
    let (_server, port) = listener();
    let (ssc, _clock) = manual_context(
        "socket test",
        &[("spark.streaming.receiver.maxRate", "fast")],
    );
    ssc.socket_text_stream("127.0.0.1", port).count().print();
    let e = ssc.start().unwrap_err();
    assert!(matches!(e, StreamingError::Config(_)), "{e:?}");
    assert!(
        e.to_string()
            .contains("spark.streaming.receiver.maxRate=\"fast\""),
        "{e}"
    );
}

#[test]
fn text_lines_are_checked_when_read_and_become_strings_when_their_batch_runs() {
    let (mut conn, (ssc, clock, events, stats, out)) =
        start_connected(&[("spark.streaming.receiver.maxRate", "3")], text);
    // Lines cut between reads, so the received bytes sit in several
    // segments, and the rate limit cuts the third one.
    send_in_pieces(
        &mut conn,
        &stats,
        &[b"one\ntw", b"o\n\xff\xfe\nthr", b"ee\r\nfour\nfive\n"],
    );
    wait_for("5 lines", || stats.records_received() == 5);

    // The invalid line is counted and reported when it is read, before
    // any batch runs; it never counts against the rate.
    assert_eq!(stats.bad_records_of(INVALID_UTF8), 1);
    wait_for("the report of the invalid line", || {
        events.errors_containing(INVALID_UTF8) == 1
    });
    assert!(events.records.lock().unwrap().is_empty());

    run_batch(&ssc, &clock, 1);
    run_batch(&ssc, &clock, 2);
    ssc.stop(StopMode::Immediate);
    assert_eq!(*events.records.lock().unwrap(), vec![3, 2]);
    assert_eq!(
        *out.lock().unwrap(),
        vec![vec!["one", "two", "three"], vec!["four", "five"]]
    );
    assert_eq!(stats.buffered(), 0);
}

/// `SocketSpec::shared_text` delivers the lines `text` does (the same
/// rules: CRLF, a last line at close, invalid UTF-8 and over-long lines
/// counted and skipped), as `SharedStr` views of the text received; also
/// through the record path a line limit beyond a block's offsets takes.
#[test]
fn shared_text_lines_are_the_text_lines() {
    let long = "w".repeat(30);
    let pieces: Vec<Vec<u8>> = vec![
        b"hel".to_vec(),
        format!("lo {long}\r\nwor").into_bytes(),
        b"ld\n\nbad \xff line\n".to_vec(),
        "x".repeat(50).into_bytes(),
        b"\n\xc3\xa9t\xc3\xa9 two\r".to_vec(),
        b"\nlast".to_vec(),
    ];
    let pieces: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
    let want: Vec<String> = vec![
        format!("hello {long}"),
        "world".into(),
        "".into(),
        "été two".into(),
        "last".into(),
    ];
    for limit in [40usize, 3 << 30] {
        let spec = move |port| SocketSpec::shared_text("127.0.0.1", port).max_line_length(limit);
        let (mut conn, (ssc, clock, _events, stats, out)) = start_connected(&[], spec);
        send_in_pieces(&mut conn, &stats, &pieces);
        drop(conn);
        let good = if limit == 40 { 5 } else { 6 };
        wait_for("the lines", || stats.records_received() == good);
        run_batch(&ssc, &clock, 1);
        ssc.stop(StopMode::Immediate);
        let got: Vec<String> = out
            .lock()
            .unwrap()
            .concat()
            .iter()
            .map(|l| l.to_string())
            .collect();
        if limit == 40 {
            assert_eq!(got, want);
            assert_eq!(stats.bad_records_of(LINE_TOO_LONG), 1);
        } else {
            let mut with_long = want.clone();
            with_long.insert(3, "x".repeat(50));
            assert_eq!(got, with_long);
        }
        assert_eq!(stats.bad_records_of(INVALID_UTF8), 1);
        // Words split from the lines are the words of the text.
        let words: Vec<String> = out
            .lock()
            .unwrap()
            .concat()
            .into_iter()
            .flat_map(|l| l.split(' '))
            .map(|w| w.to_string())
            .collect();
        let text_words: Vec<String> = got
            .iter()
            .flat_map(|l| l.split(' '))
            .map(String::from)
            .collect();
        assert_eq!(words, text_words);
    }
}
