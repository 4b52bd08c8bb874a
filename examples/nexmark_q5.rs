//! Nexmark q5, hot items: the auction(s) with the most bids over the last 10 s, every 2 s.
//!
//! The `stream!` form (`streaming_nexmark::dsl::q5`) on the replay of the
//! `nexmark` crate's events, cut into 1 s batches by event time and run on a
//! manual clock; prints the first elements of every batch in Spark's layout.
//!
//! Run: `cargo run --release --example nexmark_q5 [-- EVENTS [EVENTS_PER_SECOND]]`
//! (default: 2,000 events at 100 events/s, the results test's set).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    streaming_nexmark::example::run("q5", 5, streaming_nexmark::dsl::q5)
}
