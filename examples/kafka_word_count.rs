//! The seed's Kafka word count (Spark's `KafkaUtils.createDirectStream`
//! example): words of the lines in topic `test`, counted per 3 s batch.
//!
//! ```sh
//! ./scripts/install-tansu.sh && ./scripts/kafka-broker.sh &     # a broker on localhost:9092
//! cargo run --features kafka --example kafka_word_count         # then, in another terminal:
//! cargo run --features kafka --example kafka_producer
//! ```
//!
//! Arguments (all optional): `[bootstrap servers] [topic] [batches]`; with
//! a number of batches it stops gracefully after them, otherwise it runs
//! until interrupted.

use std::sync::mpsc;
use std::sync::Mutex;

use streaming::kafka::{ConsumerStrategy, KafkaUtils, LocationStrategy};
use streaming::prelude::*;

// This job allocates a `String` per word (owned elements); on mimalloc that
// costs about half what it does on the system allocator (README,
// "Performance"), so the example picks it. The library sets no allocator.
// (Not in tests, which include the examples' pipelines as modules.)
#[cfg(not(test))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), StreamingError> {
    let mut args = std::env::args().skip(1);
    let bootstrap = args.next().unwrap_or_else(|| "localhost:9092".to_string());
    let topic = args.next().unwrap_or_else(|| "test".to_string());
    let batches: Option<usize> = args.next().map(|n| n.parse().expect("a number of batches"));

    let ssc = StreamingContext::new(
        StreamingConf::new()
            .app_name("KafkaWordCount")
            .master("local[*]")
            .batch_interval(Duration::from_secs(3)),
    )?;
    let kafka_params = [
        ("bootstrap.servers", bootstrap.as_str()),
        (
            "key.deserializer",
            "org.apache.kafka.common.serialization.StringDeserializer",
        ),
        (
            "value.deserializer",
            "org.apache.kafka.common.serialization.StringDeserializer",
        ),
        ("group.id", "use_a_separate_group_id_for_each_stream"),
        ("auto.offset.reset", "latest"),
        ("enable.auto.commit", "false"),
    ];
    let stream = KafkaUtils::create_direct_stream::<String, String>(
        &ssc,
        LocationStrategy::PreferConsistent,
        ConsumerStrategy::subscribe([topic], kafka_params),
    )?;
    stream
        .map(|record| record.value)
        .flat_map(|line: String| line.split(' ').map(str::to_string).collect::<Vec<_>>())
        .map(|word| (word, 1))
        .reduce_by_key(|a, b| a + b)
        .print();

    let (done_tx, done_rx) = mpsc::channel();
    let done_tx = Mutex::new(done_tx);
    stream.foreach_batch(move |_, _| {
        let _ = done_tx.lock().unwrap().send(());
    });
    ssc.start()?;
    match batches {
        Some(n) => {
            for _ in 0..n {
                if done_rx.recv().is_err() {
                    break;
                }
            }
            ssc.stop(StopMode::Graceful);
            ssc.await_termination()
        }
        None => ssc.await_termination(),
    }
}
