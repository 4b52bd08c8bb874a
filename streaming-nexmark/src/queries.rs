//! The Nexmark queries with the plain DStream API: each a function from the
//! stream of events to its result stream.
//!
//! Windows are by batch time; since the replay makes batch time follow event
//! time (the batch at `t` holds the events of `[t - interval, t)`), the
//! window ending at batch time `t` is the event-time window `[t - w, t)`.
//! The queries follow the Nexmark definitions (Flink's SQL forms where they
//! differ from Beam's), with the constants below.

use std::time::Duration;

use nexmark::event::{Bid, Event};
use serde::{Deserialize, Serialize};
use streaming::{Batch, DStream, Time};

/// q1's dollar to euro rate.
pub const Q1_RATE: f64 = 0.908;
/// q2 keeps the bids on auctions whose id is a multiple of this.
pub const Q2_MODULUS: usize = 123;
/// q3's states (the generator's states are lower case).
pub const Q3_STATES: [&str; 3] = ["or", "id", "ca"];
/// q3's category.
pub const Q3_CATEGORY: usize = 10;
/// q5's sliding window: 10 s every 2 s (as Flink's Nexmark).
pub const Q5_WINDOW: Duration = Duration::from_secs(10);
/// q5's slide.
pub const Q5_SLIDE: Duration = Duration::from_secs(2);
/// q7's and q8's tumbling window: 10 s.
pub const TUMBLE: Duration = Duration::from_secs(10);

/// q1's row: a bid with its price in euros.
pub type Q1Row = (usize, usize, f64, u64);
/// q3's row: seller name, city, state, auction id.
pub type Q3Row = (String, String, String, usize);
/// q7's row: auction, price, bidder, bid time.
pub type Q7Row = (usize, usize, usize, u64);

/// The bids among `e` (a narrow `flat_map`).
pub fn bid_of(e: Event) -> Option<Bid> {
    match e {
        Event::Bid(b) => Some(b),
        _ => None,
    }
}

/// The bids of `events`.
pub fn bids(events: &DStream<Event>) -> DStream<Bid> {
    events.flat_map(bid_of)
}

/// q0, pass-through: every bid, unchanged (measures the input and the
/// data plane).
pub fn q0(events: &DStream<Event>) -> DStream<Bid> {
    bids(events)
}

/// q1, currency conversion: each bid as (auction, bidder, price in euros,
/// time).
pub fn q1(events: &DStream<Event>) -> DStream<Q1Row> {
    bids(events).map(|b: Bid| (b.auction, b.bidder, Q1_RATE * b.price as f64, b.date_time))
}

/// q2, selection: (auction, price) of the bids on auctions whose id is a
/// multiple of [`Q2_MODULUS`].
pub fn q2(events: &DStream<Event>) -> DStream<(usize, usize)> {
    bids(events)
        .filter(|b: &Bid| b.auction.is_multiple_of(Q2_MODULUS))
        .map(|b: Bid| (b.auction, b.price))
}

/// One side of q3's join, keyed by person id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Q3Side {
    /// A person of the selected states: name, city, state.
    Person(String, String, String),
    /// An auction of the selected category: its id.
    Auction(usize),
}

/// q3's state per person id: the person once seen, the auctions waiting
/// for it, and the rows this batch produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Q3State {
    /// The person (name, city, state), once seen.
    pub person: Option<(String, String, String)>,
    /// Auctions seen before their seller.
    pub pending: Vec<usize>,
    /// The rows joined in the current batch.
    pub emitted: Vec<Q3Row>,
}

/// q3's input side of an event: persons of [`Q3_STATES`] by id, auctions of
/// [`Q3_CATEGORY`] by seller.
pub fn q3_side(e: Event) -> Option<(usize, Q3Side)> {
    match e {
        Event::Person(p) if Q3_STATES.contains(&p.state.as_str()) => {
            Some((p.id, Q3Side::Person(p.name, p.city, p.state)))
        }
        Event::Auction(a) if a.category == Q3_CATEGORY => Some((a.seller, Q3Side::Auction(a.id))),
        _ => None,
    }
}

/// q3's state update: an incremental inner join (persons are kept for good,
/// as the unbounded join of the SQL form keeps them).
pub fn q3_update(new: &[Q3Side], state: Option<Q3State>) -> Option<Q3State> {
    let mut s = state.unwrap_or_default();
    s.emitted.clear();
    for side in new {
        match side {
            Q3Side::Person(name, city, st) => {
                let person = (name.clone(), city.clone(), st.clone());
                for id in s.pending.drain(..) {
                    s.emitted.push((name.clone(), city.clone(), st.clone(), id));
                }
                s.person = Some(person);
            }
            Q3Side::Auction(id) => match &s.person {
                Some((name, city, st)) => {
                    s.emitted
                        .push((name.clone(), city.clone(), st.clone(), *id))
                }
                None => s.pending.push(*id),
            },
        }
    }
    Some(s)
}

/// q3, local item suggestion: (name, city, state, auction) for every auction
/// of category [`Q3_CATEGORY`] whose seller lives in one of [`Q3_STATES`],
/// in the batch where both the person and the auction have been seen.
pub fn q3(events: &DStream<Event>) -> DStream<Q3Row> {
    events
        .flat_map(q3_side)
        .update_state_by_key(q3_update)
        .flat_map(|(_, s): (usize, Q3State)| s.emitted)
}

/// One input of q4's per-auction state, keyed by auction id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Q4In {
    /// The auction: category, start, expiry.
    Auction(usize, u64, u64),
    /// A bid: price, time.
    Bid(usize, u64),
}

/// q4's state per auction.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Q4State {
    /// The auction (category, start, expiry), once seen.
    pub auction: Option<(usize, u64, u64)>,
    /// Bids seen before their auction.
    pub pending: Vec<(usize, u64)>,
    /// The highest valid bid so far.
    pub max: Option<usize>,
    /// The auction closed in this batch (the state goes the next batch).
    pub closed: bool,
}

/// q4's input of an event.
pub fn q4_in(e: Event) -> Option<(usize, Q4In)> {
    match e {
        Event::Auction(a) => Some((a.id, Q4In::Auction(a.category, a.date_time, a.expires))),
        Event::Bid(b) => Some((b.auction, Q4In::Bid(b.price, b.date_time))),
        Event::Person(_) => None,
    }
}

/// q4's per-auction update at batch time `time` (= the end of the batch's
/// event time): the highest bid with time in `[start, expires]`; the auction
/// closes in the first batch whose events all come after its expiry.
pub fn q4_update(time: Time, _id: &usize, new: &[Q4In], state: Option<Q4State>) -> Option<Q4State> {
    let mut s = state.unwrap_or_default();
    if s.closed {
        return None;
    }
    for v in new {
        match *v {
            Q4In::Auction(category, start, expires) => s.auction = Some((category, start, expires)),
            Q4In::Bid(price, at) => s.pending.push((price, at)),
        }
    }
    if let Some((_, start, expires)) = s.auction {
        for (price, at) in s.pending.drain(..) {
            if (start..=expires).contains(&at) {
                s.max = Some(s.max.map_or(price, |m| m.max(price)));
            }
        }
        s.closed = expires < time.as_millis();
    }
    Some(s)
}

/// q4's winning price of an auction closed in this batch: (category, price).
pub fn q4_closed((_, s): (usize, Q4State)) -> Option<(usize, usize)> {
    match (s.closed, s.auction, s.max) {
        (true, Some((category, _, _)), Some(price)) => Some((category, price)),
        _ => None,
    }
}

/// q4's running (sum, count) per category.
pub fn q4_totals(new: &[usize], state: Option<(u64, u64)>) -> Option<(u64, u64)> {
    let (sum, count) = state.unwrap_or((0, 0));
    Some((
        sum + new.iter().map(|&p| p as u64).sum::<u64>(),
        count + new.len() as u64,
    ))
}

/// q4's average from (sum, count).
pub fn q4_average((category, (sum, count)): (usize, (u64, u64))) -> (usize, f64) {
    (category, sum as f64 / count as f64)
}

/// q4, average price per category: the winning bid of every closed auction
/// (the highest bid within its lifetime; auctions without bids have none),
/// averaged per category over every auction closed so far: every batch
/// gives each category's current average.
pub fn q4(events: &DStream<Event>) -> DStream<(usize, f64)> {
    events
        .flat_map(q4_in)
        .update_state_by_key_with_time(q4_update)
        .flat_map(q4_closed)
        .update_state_by_key(q4_totals)
        .map(q4_average)
}

/// The elements of `batch` whose `key` is the batch's highest (all ties).
pub fn argmax<T: streaming::Data, K: Ord + Copy>(
    batch: Batch<T>,
    key: impl Fn(&T) -> K,
) -> Batch<T> {
    let all = batch.collect();
    let Some(top) = all.iter().map(&key).max() else {
        return Batch::from(all);
    };
    all.into_iter().filter(|x| key(x) == top).collect()
}

/// q5, hot items: the auction(s) with the most bids in the last
/// [`Q5_WINDOW`], every [`Q5_SLIDE`]: (auction, bids).
pub fn q5(events: &DStream<Event>) -> DStream<(usize, u64)> {
    bids(events)
        .map(|b: Bid| (b.auction, 1u64))
        .reduce_by_key_and_window(|a, b| a + b, Q5_WINDOW, Q5_SLIDE)
        .transform(|batch, _| argmax(batch, |&(_, n): &(usize, u64)| n))
}

/// q7, highest bid: in each tumbling [`TUMBLE`] window, the bid(s) with the
/// highest price: (auction, price, bidder, time).
pub fn q7(events: &DStream<Event>) -> DStream<Q7Row> {
    bids(events)
        .map(|b: Bid| (b.auction, b.price, b.bidder, b.date_time))
        .window(TUMBLE, TUMBLE)
        .transform(|batch, _| argmax(batch, |r: &Q7Row| r.1))
}

/// q8, monitor new users: the people (id, name) who registered and opened
/// an auction in the same tumbling [`TUMBLE`] window (a windowed join).
pub fn q8(events: &DStream<Event>) -> DStream<(usize, String)> {
    let persons = events
        .flat_map(|e: Event| match e {
            Event::Person(p) => Some((p.id, p.name)),
            _ => None,
        })
        .window(TUMBLE, TUMBLE);
    let sellers = events
        .flat_map(|e: Event| match e {
            Event::Auction(a) => Some((a.seller, ())),
            _ => None,
        })
        .window(TUMBLE, TUMBLE)
        .reduce_by_key(|_, _| ());
    persons
        .join(&sellers)
        .map(|(id, (name, ())): (usize, (String, ()))| (id, name))
}
