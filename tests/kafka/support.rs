//! Shared helpers of the Kafka tests.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use streaming::kafka::{
    ConsumerRecord, ConsumerStrategy, DirectKafkaStream, DirectStreamConfig, KafkaUtils,
    LocationStrategy,
};
use streaming::prelude::*;
use streaming::testing::kafka::KafkaTestBroker;
use streaming::{BatchInfo, ManualClock, ReceiverErrorInfo};

/// The batch interval of every test.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// Runs `f` on its own thread and fails the test if it takes longer than
/// `secs` seconds (a hung Kafka client must not hang the suite).
pub fn with_timeout(secs: u64, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) => handle.join().expect("test thread"),
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the test thread ended without reporting"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("test timed out after {secs} s"),
    }
}

/// Starts a broker; a broker that cannot start fails the test loudly.
pub fn broker() -> KafkaTestBroker {
    KafkaTestBroker::start().unwrap_or_else(|e| {
        panic!("the tansu broker must start (install it with scripts/install-tansu.sh): {e}")
    })
}

/// [`broker`] with topic `topic` of `partitions` partitions; partition `i`
/// holds the [`values`] `(prefix, from, count)` of `records[i]`.
pub fn broker_with(
    topic: &str,
    partitions: i32,
    records: &[(&str, usize, usize)],
) -> KafkaTestBroker {
    let broker = broker();
    broker.create_topic(topic, partitions).unwrap();
    for (partition, &(prefix, from, count)) in (0..).zip(records) {
        produce(&broker, topic, partition, values(prefix, from, count));
    }
    broker
}

/// A context driven by a manual clock at 0.
pub fn context(app: &str) -> StreamingContext {
    context_with(app, StreamingConf::new())
}

/// A context driven by a manual clock at 0, on top of `conf`.
pub fn context_with(app: &str, conf: StreamingConf) -> StreamingContext {
    StreamingContext::new(manual_conf(app, conf, ManualClock::new())).expect("context")
}

/// `conf` for application `app` on `local[2]`, driven by `clock`.
pub fn manual_conf(app: &str, conf: StreamingConf, clock: ManualClock) -> StreamingConf {
    conf.app_name(app)
        .master("local[2]")
        .batch_interval(INTERVAL)
        .manual_clock(clock)
}

/// Consumer parameters for `broker`.
pub fn params(broker: &KafkaTestBroker, group: &str, reset: &str) -> Vec<(String, String)> {
    vec![
        ("bootstrap.servers".into(), broker.bootstrap_servers()),
        ("group.id".into(), group.into()),
        ("auto.offset.reset".into(), reset.into()),
        ("enable.auto.commit".into(), "false".into()),
    ]
}

/// A direct stream of string keys and values over `strategy`, its
/// partitions placed consistently.
pub fn direct(
    ssc: &StreamingContext,
    strategy: ConsumerStrategy,
) -> DirectKafkaStream<String, String> {
    direct_with(ssc, strategy, DirectStreamConfig::default())
}

/// [`direct`] with `config`.
pub fn direct_with(
    ssc: &StreamingContext,
    strategy: ConsumerStrategy,
    config: DirectStreamConfig,
) -> DirectKafkaStream<String, String> {
    KafkaUtils::create_direct_stream_with_config::<String, String>(
        ssc,
        LocationStrategy::PreferConsistent,
        strategy,
        config,
    )
    .unwrap()
}

/// [`direct`] subscribed to `topic` as `group` of `broker`, with
/// `auto.offset.reset` = `reset`.
pub fn subscribed(
    ssc: &StreamingContext,
    broker: &KafkaTestBroker,
    topic: &str,
    group: &str,
    reset: &str,
) -> DirectKafkaStream<String, String> {
    direct(
        ssc,
        ConsumerStrategy::subscribe([topic], params(broker, group, reset)),
    )
}

/// Writes `values` to `partition` of `topic`.
pub fn produce(broker: &KafkaTestBroker, topic: &str, partition: i32, values: Vec<String>) {
    broker.produce_values(topic, partition, values).unwrap();
}

/// Batch `n` (1-based) of a context started at clock 0.
pub fn batch_time(n: u64) -> Time {
    Time::from_millis(n * INTERVAL.as_millis() as u64)
}

/// Advances the clock to batch `n` and waits for it to complete.
pub fn step(ssc: &StreamingContext, n: u64) {
    let clock = ssc.manual_clock().expect("manual clock");
    clock.set_time(batch_time(n));
    ssc.await_batch_completion(batch_time(n), Duration::from_secs(90))
        .unwrap_or_else(|e| panic!("batch {n}: {e}"));
}

/// Collects `stream`, starts `ssc`, advances the clock to batch 1 and
/// returns the error that batch fails with.
pub fn first_batch_error<K: Data>(
    ssc: &StreamingContext,
    stream: &DStream<ConsumerRecord<K, String>>,
) -> StreamingError {
    Collected::attach(stream);
    ssc.start().unwrap();
    ssc.manual_clock().unwrap().set_time(batch_time(1));
    ssc.await_batch_completion(batch_time(1), Duration::from_secs(60))
        .unwrap_err()
}

/// `(partition, offset, value)` of a record.
pub type Seen = (i32, i64, String);

/// What a stream's batches held, by batch time: per batch partition.
#[derive(Clone, Default)]
pub struct Collected(pub Arc<Mutex<BTreeMap<Time, Vec<Vec<Seen>>>>>);

impl Collected {
    /// Collects every batch of `stream`.
    pub fn attach<K: Data>(stream: &DStream<ConsumerRecord<K, String>>) -> Self {
        let c = Collected::default();
        let sink = c.0.clone();
        stream.foreach_batch(move |b, t| {
            let parts = b
                .partitions()
                .iter()
                .map(|p| {
                    p.iter()
                        .map(|r| (r.partition, r.offset, r.value.clone()))
                        .collect()
                })
                .collect();
            sink.lock().unwrap().insert(t, parts);
        });
        c
    }

    /// The partitions of batch `n`.
    pub fn batch(&self, n: u64) -> Vec<Vec<Seen>> {
        self.0
            .lock()
            .unwrap()
            .get(&batch_time(n))
            .cloned()
            .unwrap_or_else(|| panic!("batch {n} was not collected"))
    }

    /// The values of every batch so far, in batch and partition order.
    pub fn values(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .values()
            .flatten()
            .flatten()
            .map(|(_, _, v)| v.clone())
            .collect()
    }
}

/// Receiver errors and records per batch, as listeners see them.
#[derive(Clone, Default)]
pub struct Events {
    pub errors: Arc<Mutex<Vec<String>>>,
    pub records: Arc<Mutex<BTreeMap<Time, u64>>>,
}

impl Events {
    /// Registers a listener on `ssc`.
    pub fn attach(ssc: &StreamingContext) -> Self {
        let e = Events::default();
        ssc.add_streaming_listener(e.clone());
        e
    }

    /// Errors reported so far that contain `needle`.
    pub fn errors_with(&self, needle: &str) -> Vec<String> {
        self.errors
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.contains(needle))
            .cloned()
            .collect()
    }

    /// Records of batch `n`.
    pub fn records(&self, n: u64) -> u64 {
        self.records.lock().unwrap()[&batch_time(n)]
    }
}

impl StreamingListener for Events {
    fn on_batch_completed(&self, info: &BatchInfo) {
        self.records
            .lock()
            .unwrap()
            .insert(info.batch_time, info.num_records);
    }

    fn on_receiver_error(&self, info: &ReceiverErrorInfo) {
        self.errors.lock().unwrap().push(info.message.clone());
    }
}

/// Steps batches from `first` on until `done` holds, at most `max_wait`
/// of wall time (broker restarts and retry backoffs take real time);
/// returns the last batch run.
pub fn step_until(
    ssc: &StreamingContext,
    first: u64,
    max_wait: Duration,
    mut done: impl FnMut() -> bool,
) -> u64 {
    let deadline = Instant::now() + max_wait;
    let mut n = first;
    loop {
        step(ssc, n);
        if done() {
            return n;
        }
        assert!(
            Instant::now() < deadline,
            "condition not reached after batch {n} ({max_wait:?})"
        );
        std::thread::sleep(Duration::from_millis(100));
        n += 1;
    }
}

/// `count` values `prefix-<i>` for `i` in `from..from + count`.
pub fn values(prefix: &str, from: usize, count: usize) -> Vec<String> {
    (from..from + count)
        .map(|i| format!("{prefix}-{i}"))
        .collect()
}
