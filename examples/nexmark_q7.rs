//! Nexmark q7, highest bid: the bid(s) with the highest price in each tumbling 10 s window.
//!
//! The `stream!` form (`streaming_nexmark::dsl::q7`) on the replay of the
//! `nexmark` crate's events, cut into 1 s batches by event time and run on a
//! manual clock; prints the first elements of every batch in Spark's layout.
//!
//! Run: `cargo run --release --example nexmark_q7 [-- EVENTS [EVENTS_PER_SECOND]]`
//! (default: 2,000 events at 100 events/s, the results test's set).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    streaming_nexmark::example::run("q7", 5, streaming_nexmark::dsl::q7)
}
