//! Nexmark q2, selection: the bids on auctions whose id is a multiple of 123.
//!
//! The `stream!` form (`streaming_nexmark::dsl::q2`) on the replay of the
//! `nexmark` crate's events, cut into 1 s batches by event time and run on a
//! manual clock; prints the first elements of every batch in Spark's layout.
//!
//! Run: `cargo run --release --example nexmark_q2 [-- EVENTS [EVENTS_PER_SECOND]]`
//! (default: 2,000 events at 100 events/s, the results test's set).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    streaming_nexmark::example::run("q2", 5, streaming_nexmark::dsl::q2)
}
