//! The Nexmark queries written with `stream!`: each builds its context
//! (1 s batches, the given configuration and checkpoint directory), reads
//! the events from `source` and returns the result stream. Same definitions
//! and constants as [`crate::queries`]; windows are literal durations, as
//! `stream!` checks them at compile time (they equal the constants there).
//!
//! A `flat_map` feeding a state operator returns `Option::into_iter()`
//! rather than the `Option`: `stream!` runs such a chain inside the state
//! operator's grouping loop as `for x in f(e)`, which rustc's
//! `for_loops_over_fallibles` lint flags for an `Option` (a lint in the
//! generated code, not a behaviour difference).

use std::path::Path;

use nexmark::event::{Bid, Event};
use streaming::prelude::*;
use streaming::InputSource;

use crate::queries::{
    argmax, bid_of, q3_side, q3_update, q4_average, q4_closed, q4_in, q4_totals, q4_update, Q1Row,
    Q3Row, Q3State, Q4State, Q7Row, Q1_RATE, Q2_MODULUS,
};

/// What every builder returns: the context and the result stream.
pub type Built<T> = streaming::Result<(StreamingContext, DStream<T>)>;

/// q0, pass-through.
pub fn q0(conf: StreamingConf, source: impl InputSource<Event>, dir: &Path) -> Built<Bid> {
    stream! {
        context(conf = conf, batch = 1s, checkpoint = dir);
        let out = input_stream(source).flat_map(bid_of);
        out
    }
}

/// q1, currency conversion.
pub fn q1(conf: StreamingConf, source: impl InputSource<Event>, dir: &Path) -> Built<Q1Row> {
    stream! {
        context(conf = conf, batch = 1s, checkpoint = dir);
        let out = input_stream(source)
            .flat_map(bid_of)
            .map(|b: Bid| (b.auction, b.bidder, Q1_RATE * b.price as f64, b.date_time));
        out
    }
}

/// q2, selection.
pub fn q2(
    conf: StreamingConf,
    source: impl InputSource<Event>,
    dir: &Path,
) -> Built<(usize, usize)> {
    stream! {
        context(conf = conf, batch = 1s, checkpoint = dir);
        let out = input_stream(source)
            .flat_map(bid_of)
            .filter(|b: &Bid| b.auction.is_multiple_of(Q2_MODULUS))
            .map(|b: Bid| (b.auction, b.price));
        out
    }
}

/// q3, local item suggestion (stateful join).
pub fn q3(conf: StreamingConf, source: impl InputSource<Event>, dir: &Path) -> Built<Q3Row> {
    stream! {
        context(conf = conf, batch = 1s, checkpoint = dir);
        let out = input_stream(source)
            .flat_map(|e: Event| q3_side(e).into_iter())
            .update_state_by_key(q3_update)
            .flat_map(|(_, s): (usize, Q3State)| s.emitted);
        out
    }
}

/// q4, average price per category.
pub fn q4(conf: StreamingConf, source: impl InputSource<Event>, dir: &Path) -> Built<(usize, f64)> {
    stream! {
        context(conf = conf, batch = 1s, checkpoint = dir);
        let out = input_stream(source)
            .flat_map(|e: Event| q4_in(e).into_iter())
            .update_state_by_key_with_time(q4_update)
            .flat_map(|x: (usize, Q4State)| q4_closed(x).into_iter())
            .update_state_by_key(q4_totals)
            .map(q4_average);
        out
    }
}

/// q5, hot items over a sliding window (the built-in `count` reducer).
pub fn q5(conf: StreamingConf, source: impl InputSource<Event>, dir: &Path) -> Built<(usize, u64)> {
    stream! {
        context(conf = conf, batch = 1s, checkpoint = dir);
        let out = input_stream(source)
            .flat_map(bid_of)
            .map(|b: Bid| (b.auction, ()))
            .reduce_by_key_and_window(count, 10s, 2s)
            .transform(|batch: Batch<(usize, u64)>, _t| argmax(batch, |&(_, n): &(usize, u64)| n));
        out
    }
}

/// q7, highest bid per tumbling window.
pub fn q7(conf: StreamingConf, source: impl InputSource<Event>, dir: &Path) -> Built<Q7Row> {
    stream! {
        context(conf = conf, batch = 1s, checkpoint = dir);
        let out = input_stream(source)
            .flat_map(bid_of)
            .map(|b: Bid| (b.auction, b.price, b.bidder, b.date_time))
            .window(10s, 10s)
            .transform(|batch: Batch<Q7Row>, _t| argmax(batch, |r: &Q7Row| r.1));
        out
    }
}

/// q8, new users: a windowed join.
pub fn q8(
    conf: StreamingConf,
    source: impl InputSource<Event>,
    dir: &Path,
) -> Built<(usize, String)> {
    stream! {
        context(conf = conf, batch = 1s, checkpoint = dir);
        let events = input_stream(source);
        let persons = events
            .flat_map(|e: Event| match e { Event::Person(p) => Some((p.id, p.name)), _ => None })
            .window(10s, 10s);
        let sellers = events
            .flat_map(|e: Event| match e { Event::Auction(a) => Some((a.seller, ())), _ => None })
            .window(10s, 10s)
            .reduce_by_key(|_, _| ());
        let out = persons.join(sellers).map(|(id, (name, ())): (usize, (String, ()))| (id, name));
        out
    }
}
