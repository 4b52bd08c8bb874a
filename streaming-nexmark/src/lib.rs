//! Nexmark on DStreams.
//!
//! [Nexmark](https://github.com/nexmark/nexmark) is the standard streaming
//! benchmark: a stream of people, auctions and bids (generated here by the
//! `nexmark` crate, RisingWave's generator) and queries q0..q22 over it.
//!
//! - [`replay`]: the input. A [`Replay`] cuts the generated events into
//!   batches by event time (batch `i` holds the events with timestamp in
//!   `[base + (i-1)·interval, base + i·interval)`), at a configurable event
//!   rate; [`NexmarkSource`] is that replay as an [`InputSource`], rebasing
//!   event times onto the batch times it serves, so batch time follows event
//!   time (the batch at time `t` holds the events of `[t - interval, t)`).
//! - [`queries`]: each query that a micro-batch DStream job can express, as a
//!   function from the event stream to the result stream, with the plain API.
//! - [`dsl`]: the same queries written with `stream!`.
//! - [`drive`]: running a query on a manual clock, batch by batch;
//!   [`example`]: what the `nexmark_q*` examples share; [`text`]: events as
//!   lines of text (the files of the Spark comparison).
//!
//! [`InputSource`]: streaming::InputSource

pub mod drive;
pub mod dsl;
pub mod example;
pub mod queries;
pub mod replay;
pub mod text;

pub use nexmark::event::{Auction, Bid, Event, Person};
pub use replay::{NexmarkError, NexmarkSource, NexmarkSpec, Replay};
