//! Fills a Kafka topic with lines for the `kafka_word_count` example: the
//! seed's two sentences, over and over. Creates the topic (one partition)
//! when it does not exist; brokers such as tansu do not create topics on
//! first use.
//!
//! ```sh
//! cargo run --features kafka --example kafka_producer -- [bootstrap servers] [topic] [lines]
//! ```
//! Defaults: `localhost:9092`, `test`, 10 lines.

use std::time::Duration;

use streaming::kafka::rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use streaming::kafka::rdkafka::client::DefaultClientContext;
use streaming::kafka::rdkafka::config::ClientConfig;
use streaming::kafka::rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use streaming::kafka::rdkafka::types::RDKafkaErrorCode;

const LINES: [&str; 2] = ["Spark Streaming Sample ssc", "Spark Queue Spark API"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let bootstrap = args.next().unwrap_or_else(|| "localhost:9092".to_string());
    let topic = args.next().unwrap_or_else(|| "test".to_string());
    let count: usize = match args.next() {
        Some(n) => n.parse()?,
        None => 10,
    };

    // Create the topic unless it exists.
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let spec = NewTopic::new(&topic, 1, TopicReplication::Fixed(1));
    let created = runtime.block_on(admin.create_topics([&spec], &AdminOptions::new()))?;
    for result in created {
        match result {
            Ok(name) => eprintln!("created topic {name}"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => return Err(format!("cannot create topic {name}: {code}").into()),
        }
    }

    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()?;
    for i in 0..count {
        let line = LINES[i % LINES.len()];
        producer
            .send(BaseRecord::<(), str>::to(&topic).payload(line))
            .map_err(|(e, _)| e)?;
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(30))?;
    eprintln!("produced {count} lines to {topic} on {bootstrap}");
    Ok(())
}
