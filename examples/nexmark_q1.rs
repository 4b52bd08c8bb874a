//! Nexmark q1, currency conversion: each bid's price in euros.
//!
//! The `stream!` form (`streaming_nexmark::dsl::q1`) on the replay of the
//! `nexmark` crate's events, cut into 1 s batches by event time and run on a
//! manual clock; prints the first elements of every batch in Spark's layout.
//!
//! Run: `cargo run --release --example nexmark_q1 [-- EVENTS [EVENTS_PER_SECOND]]`
//! (default: 2,000 events at 100 events/s, the results test's set).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    streaming_nexmark::example::run("q1", 5, streaming_nexmark::dsl::q1)
}
