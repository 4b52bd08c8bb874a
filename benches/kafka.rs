//! Work in progress (Kafka direct stream, issue 7).

fn main() {}
