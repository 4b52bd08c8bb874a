//! Nexmark results (#15): every query, written with the plain API and with
//! `stream!`, run on a small fixed event set (the first 2,000 events of the
//! `nexmark` generator at 100 events/s from event time 0: 20 one-second
//! batches) on a manual clock, and compared batch by batch with an
//! independent computation in plain Rust over the same events.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use streaming::prelude::*;
use streaming_nexmark::drive::{drive, manual_conf};
use streaming_nexmark::queries::{self, Q1_RATE, Q2_MODULUS, Q3_CATEGORY, Q3_STATES};
use streaming_nexmark::{dsl, Bid, Event, NexmarkSource, NexmarkSpec};

/// Batches run: the 20 of the events, then enough for every window to empty.
const BATCHES: u64 = 32;
/// The batch interval in ms.
const MS: u64 = 1000;

type Out<T> = Vec<(u64, Vec<T>)>;

fn spec() -> NexmarkSpec {
    NexmarkSpec::default()
}

fn events() -> Vec<Event> {
    spec().events()
}

/// Runs a `stream!` builder on the replay.
fn run_dsl<T: Data>(build: fn(StreamingConf, NexmarkSource, &Path) -> dsl::Built<T>) -> Out<T> {
    let dir = tempfile::tempdir().unwrap();
    let source = NexmarkSource::new(&spec()).unwrap();
    let (ssc, out) = build(manual_conf("nexmark-dsl", 2), source, dir.path()).unwrap();
    drive(ssc, &out, BATCHES, true, |_| {}).unwrap().batches
}

/// Runs a plain-API query on the replay.
fn run_plain<T: Data>(query: fn(&DStream<Event>) -> DStream<T>) -> Out<T> {
    let dir = tempfile::tempdir().unwrap();
    let ssc =
        StreamingContext::new(manual_conf("nexmark", 2).batch_interval(Duration::from_secs(1)))
            .unwrap();
    ssc.checkpoint(dir.path()).unwrap();
    let events = ssc.input_stream(NexmarkSource::new(&spec()).unwrap());
    let out = query(&events);
    drive(ssc, &out, BATCHES, true, |_| {}).unwrap().batches
}

/// Drops empty batches and orders each batch with `sort`.
fn normalized<T>(out: Out<T>, sort: impl Fn(&mut Vec<T>)) -> Out<T> {
    out.into_iter()
        .filter(|(_, b)| !b.is_empty())
        .map(|(t, mut b)| {
            sort(&mut b);
            (t, b)
        })
        .collect()
}

/// Checks both forms of a query against `expected` (already normalized).
fn check<T: Data + PartialEq + std::fmt::Debug>(
    name: &str,
    plain: Out<T>,
    dsl: Out<T>,
    expected: Out<T>,
    sort: impl Fn(&mut Vec<T>) + Copy,
) {
    assert!(
        !expected.is_empty(),
        "{name}: the reference has no output: the test would prove nothing"
    );
    assert_eq!(normalized(plain, sort), expected, "{name}: plain API");
    assert_eq!(normalized(dsl, sort), expected, "{name}: stream!");
}

/// The events of batch `k` (1-based): time in `[(k-1)·MS, k·MS)`.
fn batch_of(ts: u64) -> u64 {
    ts / MS + 1
}

/// The reference of a per-batch (narrow) query: `f` over each batch's bids,
/// in event order.
fn per_batch<T>(f: impl Fn(&Bid) -> Option<T>) -> Out<T> {
    let mut out: BTreeMap<u64, Vec<T>> = BTreeMap::new();
    for e in events() {
        if let Event::Bid(b) = &e {
            if let Some(x) = f(b) {
                out.entry(batch_of(b.date_time) * MS).or_default().push(x);
            }
        }
    }
    out.into_iter().collect()
}

fn keep<T>(_: &mut Vec<T>) {}

#[test]
fn replay_batches_follow_event_time() {
    let all = events();
    assert_eq!(all.len(), 2000);
    assert_eq!(spec().batches(), 20);
    let run = run_plain(|e| e.map(|e: Event| e.timestamp()));
    let mut seen = 0;
    for (t, stamps) in &run {
        assert!(stamps.iter().all(|s| (t - MS..*t).contains(s)), "batch {t}");
        seen += stamps.len();
    }
    assert_eq!(seen, all.len());
}

#[test]
fn q0_pass_through() {
    let expected = per_batch(|b| Some(b.clone()));
    check(
        "q0",
        run_plain(queries::q0),
        run_dsl(dsl::q0),
        expected,
        keep,
    );
}

#[test]
fn q1_currency_conversion() {
    let expected =
        per_batch(|b| Some((b.auction, b.bidder, b.price as f64 * Q1_RATE, b.date_time)));
    check(
        "q1",
        run_plain(queries::q1),
        run_dsl(dsl::q1),
        expected,
        keep,
    );
}

#[test]
fn q2_selection() {
    let expected = per_batch(|b| (b.auction % Q2_MODULUS == 0).then_some((b.auction, b.price)));
    check(
        "q2",
        run_plain(queries::q2),
        run_dsl(dsl::q2),
        expected,
        keep,
    );
}

#[test]
fn q3_local_item_suggestion() {
    // A row appears in the batch where the later of its person and auction arrives.
    let all = events();
    let mut people = HashMap::new();
    for e in &all {
        if let Event::Person(p) = e {
            if Q3_STATES.contains(&p.state.as_str()) {
                people.insert(p.id, p);
            }
        }
    }
    let mut out: BTreeMap<u64, Vec<queries::Q3Row>> = BTreeMap::new();
    for e in &all {
        if let Event::Auction(a) = e {
            if a.category != Q3_CATEGORY {
                continue;
            }
            if let Some(p) = people.get(&a.seller) {
                let k = batch_of(a.date_time).max(batch_of(p.date_time));
                out.entry(k * MS).or_default().push((
                    p.name.clone(),
                    p.city.clone(),
                    p.state.clone(),
                    a.id,
                ));
            }
        }
    }
    let expected = normalized(out.into_iter().collect(), |b| b.sort());
    check(
        "q3",
        run_plain(queries::q3),
        run_dsl(dsl::q3),
        expected,
        |b| b.sort(),
    );
}

#[test]
fn q4_average_price_per_category() {
    let all = events();
    let auctions: Vec<_> = all
        .iter()
        .filter_map(|e| match e {
            Event::Auction(a) => Some(a),
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    for k in 1..=BATCHES {
        let end = k * MS;
        let mut per_category: BTreeMap<usize, (u64, u64)> = BTreeMap::new();
        for a in auctions.iter().filter(|a| a.expires < end) {
            let best = all
                .iter()
                .filter_map(|e| match e {
                    Event::Bid(b)
                        if b.auction == a.id
                            && (a.date_time..=a.expires).contains(&b.date_time) =>
                    {
                        Some(b.price)
                    }
                    _ => None,
                })
                .max();
            if let Some(price) = best {
                let c = per_category.entry(a.category).or_default();
                c.0 += price as u64;
                c.1 += 1;
            }
        }
        let batch: Vec<(usize, f64)> = per_category
            .into_iter()
            .map(|(c, (s, n))| (c, s as f64 / n as f64))
            .collect();
        out.push((end, batch));
    }
    let by_category = |b: &mut Vec<(usize, f64)>| b.sort_by_key(|r| r.0);
    let expected = normalized(out, by_category);
    check(
        "q4",
        run_plain(queries::q4),
        run_dsl(dsl::q4),
        expected,
        by_category,
    );
}

/// The bids with time in `[from, to)`.
fn bids_between(all: &[Event], from: i64, to: u64) -> Vec<&Bid> {
    all.iter()
        .filter_map(|e| match e {
            Event::Bid(b) if b.date_time as i64 >= from && b.date_time < to => Some(b),
            _ => None,
        })
        .collect()
}

#[test]
fn q5_hot_items() {
    let all = events();
    let mut out = Vec::new();
    for t in (2 * MS..=BATCHES * MS).step_by(2 * MS as usize) {
        let mut counts: BTreeMap<usize, u64> = BTreeMap::new();
        for b in bids_between(&all, t as i64 - 10 * MS as i64, t) {
            *counts.entry(b.auction).or_default() += 1;
        }
        let top = counts.values().copied().max().unwrap_or(0);
        out.push((t, counts.into_iter().filter(|&(_, n)| n == top).collect()));
    }
    let expected = normalized(out, |b: &mut Vec<(usize, u64)>| b.sort());
    check(
        "q5",
        run_plain(queries::q5),
        run_dsl(dsl::q5),
        expected,
        |b| b.sort(),
    );
}

#[test]
fn q7_highest_bid() {
    let all = events();
    let mut out = Vec::new();
    for t in (10 * MS..=BATCHES * MS).step_by(10 * MS as usize) {
        let window = bids_between(&all, t as i64 - 10 * MS as i64, t);
        let top = window.iter().map(|b| b.price).max();
        let rows = window
            .iter()
            .filter(|b| Some(b.price) == top)
            .map(|b| (b.auction, b.price, b.bidder, b.date_time))
            .collect();
        out.push((t, rows));
    }
    let expected = normalized(out, |b: &mut Vec<queries::Q7Row>| b.sort());
    check(
        "q7",
        run_plain(queries::q7),
        run_dsl(dsl::q7),
        expected,
        |b| b.sort(),
    );
}

#[test]
fn q8_new_users() {
    let all = events();
    let mut out = Vec::new();
    for t in (10 * MS..=BATCHES * MS).step_by(10 * MS as usize) {
        let inside = |ts: u64| ts + 10 * MS >= t && ts < t;
        let sellers: BTreeSet<usize> = all
            .iter()
            .filter_map(|e| match e {
                Event::Auction(a) if inside(a.date_time) => Some(a.seller),
                _ => None,
            })
            .collect();
        let rows: Vec<(usize, String)> = all
            .iter()
            .filter_map(|e| match e {
                Event::Person(p) if inside(p.date_time) && sellers.contains(&p.id) => {
                    Some((p.id, p.name.clone()))
                }
                _ => None,
            })
            .collect();
        out.push((t, rows));
    }
    let expected = normalized(out, |b: &mut Vec<(usize, String)>| b.sort());
    check(
        "q8",
        run_plain(queries::q8),
        run_dsl(dsl::q8),
        expected,
        |b| b.sort(),
    );
}
