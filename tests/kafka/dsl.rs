//! The Kafka direct stream in `stream!` (`kafka_direct_stream`), against the
//! same stream built with the plain API, on the same records of a real
//! broker.

use streaming::kafka::{ConsumerRecord, ConsumerStrategy, KafkaUtils, LocationStrategy};
use streaming::prelude::*;

use super::support::*;

#[test]
fn the_direct_stream_in_stream_reads_what_the_plain_api_reads() {
    with_timeout(240, || {
        let broker = broker_with("dsl-events", 2, &[("a", 0, 4), ("b", 1, 3)]);
        let read = |dsl: bool| -> Vec<Vec<(i32, String)>> {
            let group = if dsl { "g-dsl" } else { "g-plain" };
            let conf = manual_conf(
                "kafka-dsl",
                StreamingConf::new(),
                streaming::ManualClock::new(),
            );
            let strategy =
                ConsumerStrategy::subscribe(["dsl-events"], params(&broker, group, "earliest"));
            let (ssc, out) = if dsl {
                stream! {
                    context(conf = conf);
                    let records = kafka_direct_stream(LocationStrategy::PreferConsistent, strategy);
                    let out = records.map(|r: ConsumerRecord<String, String>| (r.partition, r.value));
                    out
                }
                .unwrap()
            } else {
                let ssc = StreamingContext::new(conf).unwrap();
                let records = KafkaUtils::create_direct_stream::<String, String>(
                    &ssc,
                    LocationStrategy::PreferConsistent,
                    strategy,
                )
                .unwrap();
                let out = records.map(|r| (r.partition, r.value));
                (ssc, out)
            };
            let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let sink = seen.clone();
            out.foreach_batch(move |b, _| {
                let mut items = b.collect();
                items.sort();
                sink.lock().unwrap().push(items)
            });
            ssc.start().unwrap();
            step(&ssc, 1);
            step(&ssc, 2);
            ssc.stop(StopMode::Immediate);
            let out = seen.lock().unwrap().clone();
            out
        };
        let dsl = read(true);
        assert_eq!(dsl, read(false));
        assert_eq!(dsl[0].len(), 7, "{dsl:?}");
    });
}
