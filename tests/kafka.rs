//! The Kafka direct stream against a real Kafka-protocol broker: every test
//! starts its own tansu process (installed by `scripts/install-tansu.sh`) on
//! a free port, creates its topics, and drives batches with a manual clock.
//! A broker that cannot start fails the test. Every test runs under a
//! timeout and stops its context (closing its consumers) before its broker.

#![cfg(feature = "kafka")]

mod support;

mod kafka {
    pub mod support;

    mod broker_features;
    mod direct;
    mod dsl;
    mod examples;
    mod failures;
    mod group;
    mod recovery;
    mod sink;
}
