//! Events as lines of text: the files of the Spark comparison
//! (`scripts/spark-nexmark.sh`), one event per line, fields separated by
//! tabs, the first field the event's kind:
//!
//! - `P  id  name  email  credit_card  city  state  date_time  extra`
//! - `A  id  item_name  description  initial_bid  reserve  date_time  expires  seller  category  extra`
//! - `B  auction  bidder  price  channel  url  date_time  extra`
//!
//! (The generator's strings hold no tab or newline.)

use nexmark::event::{Auction, Bid, Event, Person};

/// A line that is not an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The first field is not `P`, `A` or `B`.
    #[error("unknown event kind {0:?}")]
    UnknownKind(String),
    /// Too few fields for the kind.
    #[error("{kind} event with {found} fields, expected {expected}")]
    Fields {
        /// The event kind.
        kind: char,
        /// Fields found.
        found: usize,
        /// Fields expected.
        expected: usize,
    },
    /// A numeric field that does not parse.
    #[error("field {index}: {value:?} is not a number")]
    Number {
        /// The field's position.
        index: usize,
        /// Its text.
        value: String,
    },
}

/// `e` as one line (no newline).
pub fn to_line(e: &Event) -> String {
    match e {
        Event::Person(p) => format!(
            "P\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            p.id, p.name, p.email_address, p.credit_card, p.city, p.state, p.date_time, p.extra
        ),
        Event::Auction(a) => format!(
            "A\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            a.id,
            a.item_name,
            a.description,
            a.initial_bid,
            a.reserve,
            a.date_time,
            a.expires,
            a.seller,
            a.category,
            a.extra
        ),
        Event::Bid(b) => format!(
            "B\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            b.auction, b.bidder, b.price, b.channel, b.url, b.date_time, b.extra
        ),
    }
}

/// The event of a line written by [`to_line`].
pub fn parse_line(line: &str) -> Result<Event, ParseError> {
    let f: Vec<&str> = line.split('\t').collect();
    let want = |kind: char, expected: usize| {
        if f.len() == expected {
            Ok(())
        } else {
            Err(ParseError::Fields {
                kind,
                found: f.len(),
                expected,
            })
        }
    };
    let num = |index: usize| -> Result<u64, ParseError> {
        f[index].parse().map_err(|_| ParseError::Number {
            index,
            value: f[index].to_string(),
        })
    };
    let s = |index: usize| f[index].to_string();
    match f[0] {
        "P" => {
            want('P', 9)?;
            Ok(Event::Person(Person {
                id: num(1)? as usize,
                name: s(2),
                email_address: s(3),
                credit_card: s(4),
                city: s(5),
                state: s(6),
                date_time: num(7)?,
                extra: s(8),
            }))
        }
        "A" => {
            want('A', 11)?;
            Ok(Event::Auction(Auction {
                id: num(1)? as usize,
                item_name: s(2),
                description: s(3),
                initial_bid: num(4)? as usize,
                reserve: num(5)? as usize,
                date_time: num(6)?,
                expires: num(7)?,
                seller: num(8)? as usize,
                category: num(9)? as usize,
                extra: s(10),
            }))
        }
        "B" => {
            want('B', 8)?;
            Ok(Event::Bid(Bid {
                auction: num(1)? as usize,
                bidder: num(2)? as usize,
                price: num(3)? as usize,
                channel: s(4),
                url: s(5),
                date_time: num(6)?,
                extra: s(7),
            }))
        }
        other => Err(ParseError::UnknownKind(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NexmarkSpec;

    #[test]
    fn every_event_round_trips() {
        for e in NexmarkSpec::default().events() {
            assert_eq!(parse_line(&to_line(&e)), Ok(e));
        }
        assert!(matches!(
            parse_line("X\t1"),
            Err(ParseError::UnknownKind(_))
        ));
        assert!(matches!(parse_line("B\t1"), Err(ParseError::Fields { .. })));
    }
}
