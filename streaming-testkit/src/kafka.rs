//! A real Kafka-protocol broker for tests, benchmarks and local runs (the
//! role of Spark's `KafkaTestUtils`): [`KafkaTestBroker`] starts
//! [tansu](https://crates.io/crates/tansu) on a free 127.0.0.1 port in a
//! temporary directory, with its SQLite storage, and stops it by PID.
//!
//! tansu is installed once by `scripts/install-tansu.sh`
//! (`cargo install --locked tansu --version 0.6.0 --features libsql`); the
//! binary is looked up in `$TANSU_BIN`, then on `PATH`, then in
//! `~/.cargo/bin`. Starting fails with a clear error (never silently) when
//! it is missing or the broker does not come up. tansu does not create
//! topics on first use: create them with [`KafkaTestBroker::create_topic`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use streaming_kafka::rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use streaming_kafka::rdkafka::client::DefaultClientContext;
use streaming_kafka::rdkafka::config::ClientConfig;
use streaming_kafka::rdkafka::consumer::{BaseConsumer, Consumer};
use streaming_kafka::rdkafka::message::{Header as RdHeader, OwnedHeaders};
use streaming_kafka::rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use streaming_kafka::rdkafka::types::RDKafkaErrorCode;
use streaming_kafka::rdkafka::{Offset, TopicPartitionList};

use streaming_core::{Result, StreamingError};
use streaming_kafka::{kafka_error, DeliveryCounter};

/// How long a broker may take to accept clients after it was spawned.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one administrative or produce operation may take.
const OP_TIMEOUT: Duration = Duration::from_secs(30);

/// A record to produce with [`KafkaTestBroker::produce`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestRecord {
    /// The partition; `None` lets the producer's partitioner choose.
    pub partition: Option<i32>,
    /// The key (`None`: no key).
    pub key: Option<Vec<u8>>,
    /// The value (`None`: a null value).
    pub value: Option<Vec<u8>>,
    /// Headers, in order.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl TestRecord {
    /// A record with value `value` and no key.
    pub fn value(value: impl Into<Vec<u8>>) -> Self {
        TestRecord {
            value: Some(value.into()),
            ..TestRecord::default()
        }
    }

    /// Sends the record to partition `p`.
    pub fn partition(mut self, p: i32) -> Self {
        self.partition = Some(p);
        self
    }

    /// Sets the key.
    pub fn key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Adds a header.
    pub fn header(mut self, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((key.into(), value.into()));
        self
    }
}

/// The path of the tansu binary: `$TANSU_BIN`, then `tansu` on `PATH`, then
/// `~/.cargo/bin/tansu`.
pub fn tansu_binary() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("TANSU_BIN") {
        return Ok(PathBuf::from(p));
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("tansu"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|c| c.join("bin").join("tansu"));
    on_path
        .into_iter()
        .chain(home)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            StreamingError::Config(
                "the Kafka-protocol broker `tansu` is not installed: run scripts/install-tansu.sh (or set TANSU_BIN)".into(),
            )
        })
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| StreamingError::io("cannot find a free port", e))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| StreamingError::io("cannot find a free port", e))
}

/// A tansu broker process on 127.0.0.1, storing its data in SQLite inside
/// a temporary directory that lives as long as this value. Dropping it
/// kills the process.
pub struct KafkaTestBroker {
    binary: PathBuf,
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    producer: Mutex<Option<BaseProducer<DeliveryCounter>>>,
}

impl std::fmt::Debug for KafkaTestBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaTestBroker")
            .field("port", &self.port)
            .field("dir", &self.dir.path())
            .field("pid", &self.pid())
            .finish()
    }
}

impl KafkaTestBroker {
    /// Starts a broker on a free port and waits until it answers.
    pub fn start() -> Result<Self> {
        Self::start_on_port(free_port()?)
    }

    /// Starts a broker on `port` and waits until it answers.
    pub fn start_on_port(port: u16) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("tansu-")
            .tempdir()
            .map_err(|e| StreamingError::io("cannot create the broker's directory", e))?;
        let mut broker = KafkaTestBroker {
            binary: tansu_binary()?,
            port,
            dir,
            child: None,
            producer: Mutex::new(None),
        };
        broker.spawn()?;
        Ok(broker)
    }

    /// `127.0.0.1:<port>`, for `bootstrap.servers`.
    pub fn bootstrap_servers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The port the broker listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The broker's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The broker's working directory (its SQLite database and log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("broker.log")
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    fn spawn(&mut self) -> Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|e| StreamingError::io("cannot create the broker's log", e))?;
        let log2 = log
            .try_clone()
            .map_err(|e| StreamingError::io("cannot create the broker's log", e))?;
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let child = Command::new(&self.binary)
            .arg("broker")
            .args(["--listener-url", &url])
            .args(["--advertised-listener-url", &url])
            .args(["--storage-engine", "sqlite://tansu.db"])
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| {
                StreamingError::io(format!("cannot start {}", self.binary.display()), e)
            })?;
        tracing::info!(pid = child.id(), port = self.port, dir = %self.dir.path().display(), "tansu broker started");
        self.child = Some(child);
        self.wait_ready()
    }

    /// Waits until the broker answers a metadata request.
    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        let client: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", self.bootstrap_servers())
            .set("log_level", "3")
            .create()
            .map_err(|e| kafka_error("creating a metadata client", e))?;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(kafka_error(
                        "starting the tansu broker",
                        format!(
                            "it exited with {status}; its log ends with:\n{}",
                            self.log_tail()
                        ),
                    ));
                }
            }
            if client
                .fetch_metadata(None, Duration::from_millis(500))
                .is_ok()
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = self.kill();
                return Err(kafka_error(
                    "starting the tansu broker",
                    format!(
                        "it did not answer on {} within {START_TIMEOUT:?}; its log ends with:\n{}",
                        self.bootstrap_servers(),
                        self.log_tail()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn kill(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            let pid = child.id();
            child.kill().map_err(|e| {
                StreamingError::io(format!("cannot kill the broker (pid {pid})"), e)
            })?;
            let _ = child.wait();
            tracing::info!(pid, "tansu broker killed");
        }
        Ok(())
    }

    /// Kills the broker process (SIGKILL, by PID) and waits for it. Its
    /// data stays, for [`restart`](Self::restart).
    pub fn stop(&mut self) -> Result<()> {
        if let Some(p) = self.producer.lock().unwrap().take() {
            drop(p);
        }
        self.kill()
    }

    /// Starts the broker again on the same port with the same data.
    pub fn restart(&mut self) -> Result<()> {
        self.kill()?;
        self.spawn()
    }

    fn admin(&self) -> Result<AdminClient<DefaultClientContext>> {
        ClientConfig::new()
            .set("bootstrap.servers", self.bootstrap_servers())
            .create()
            .map_err(|e| kafka_error("creating an admin client", e))
    }

    fn block_on<F: std::future::Future>(f: F) -> Result<F::Output> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StreamingError::io("cannot start a tokio runtime", e))?;
        Ok(rt.block_on(f))
    }

    /// Creates `topic` with `partitions` partitions and waits until its
    /// metadata lists them all.
    pub fn create_topic(&self, topic: &str, partitions: i32) -> Result<()> {
        let admin = self.admin()?;
        let spec = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
        let opts = AdminOptions::new().operation_timeout(Some(OP_TIMEOUT));
        let results = Self::block_on(admin.create_topics([&spec], &opts))?
            .map_err(|e| kafka_error(format!("creating topic {topic}"), e))?;
        for r in results {
            if let Err((name, code)) = r {
                return Err(kafka_error(format!("creating topic {name}"), code));
            }
        }
        let client: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", self.bootstrap_servers())
            .create()
            .map_err(|e| kafka_error("creating a metadata client", e))?;
        let deadline = Instant::now() + OP_TIMEOUT;
        loop {
            if let Ok(md) = client.fetch_metadata(Some(topic), Duration::from_secs(2)) {
                if md
                    .topics()
                    .iter()
                    .any(|t| t.error().is_none() && t.partitions().len() == partitions as usize)
                {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                return Err(kafka_error(
                    format!("creating topic {topic}"),
                    "its partitions did not appear in the metadata",
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Produces `records` to `topic` and waits until every one is
    /// acknowledged; fails if any is not.
    pub fn produce(
        &self,
        topic: &str,
        records: impl IntoIterator<Item = TestRecord>,
    ) -> Result<u64> {
        let mut guard = self.producer.lock().unwrap();
        if guard.is_none() {
            let p: BaseProducer<DeliveryCounter> = ClientConfig::new()
                .set("bootstrap.servers", self.bootstrap_servers())
                .set("linger.ms", "5")
                .set("message.timeout.ms", "30000")
                .create_with_context(DeliveryCounter::default())
                .map_err(|e| kafka_error("creating a producer", e))?;
            *guard = Some(p);
        }
        let producer = guard.as_ref().expect("created above");
        let ctx = producer.context();
        ctx.reset();
        let mut sent = 0u64;
        for r in records {
            let mut headers = OwnedHeaders::new_with_capacity(r.headers.len());
            for (k, v) in &r.headers {
                headers = headers.insert(RdHeader {
                    key: k,
                    value: Some(v),
                });
            }
            let mut rec: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic);
            if let Some(p) = r.partition {
                rec = rec.partition(p);
            }
            if let Some(k) = &r.key {
                rec = rec.key(k.as_slice());
            }
            if let Some(v) = &r.value {
                rec = rec.payload(v.as_slice());
            }
            if !r.headers.is_empty() {
                rec = rec.headers(headers);
            }
            let deadline = Instant::now() + OP_TIMEOUT;
            loop {
                match producer.send(rec) {
                    Ok(()) => break,
                    Err((e, back)) => {
                        let full = matches!(
                            e,
                            streaming_kafka::rdkafka::error::KafkaError::MessageProduction(
                                RDKafkaErrorCode::QueueFull
                            )
                        );
                        if !full || Instant::now() >= deadline {
                            return Err(kafka_error(format!("producing to {topic}"), e));
                        }
                        producer.poll(Duration::from_millis(10));
                        rec = back;
                    }
                }
            }
            sent += 1;
            if sent.is_multiple_of(10_000) {
                producer.poll(Duration::ZERO);
            }
        }
        producer
            .flush(OP_TIMEOUT)
            .map_err(|e| kafka_error(format!("flushing records to {topic}"), e))?;
        ctx.check(topic, sent)?;
        Ok(sent)
    }

    /// Produces text values to one partition of `topic`, in order.
    pub fn produce_values<S: AsRef<str>>(
        &self,
        topic: &str,
        partition: i32,
        values: impl IntoIterator<Item = S>,
    ) -> Result<u64> {
        self.produce(
            topic,
            values
                .into_iter()
                .map(|v| TestRecord::value(v.as_ref().as_bytes()).partition(partition)),
        )
    }

    /// The earliest and latest offset of every partition of `topic`.
    pub fn watermarks(&self, topic: &str, partitions: i32) -> Result<BTreeMap<i32, (i64, i64)>> {
        let client: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", self.bootstrap_servers())
            .create()
            .map_err(|e| kafka_error("creating a metadata client", e))?;
        (0..partitions)
            .map(|p| {
                client
                    .fetch_watermarks(topic, p, OP_TIMEOUT)
                    .map(|w| (p, w))
                    .map_err(|e| kafka_error(format!("offsets of {topic}-{p}"), e))
            })
            .collect()
    }

    /// The offsets `group` has committed for `topic`'s partitions
    /// `0..partitions` (partitions without a commit are left out).
    pub fn committed_offsets(
        &self,
        group: &str,
        topic: &str,
        partitions: i32,
    ) -> Result<BTreeMap<i32, i64>> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", self.bootstrap_servers())
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .map_err(|e| kafka_error("creating a consumer", e))?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_range(topic, 0, partitions - 1);
        let res = consumer.committed_offsets(tpl, OP_TIMEOUT);
        let out = res.map(|tpl| {
            tpl.elements()
                .iter()
                .filter_map(|e| match e.offset() {
                    Offset::Offset(o) => Some((e.partition(), o)),
                    _ => None,
                })
                .collect()
        });
        streaming_kafka::close_consumer(consumer, "committed offsets query");
        out.map_err(|e| kafka_error(format!("committed offsets of group {group}"), e))
    }
}

impl Drop for KafkaTestBroker {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::warn!(error = %e, "cannot stop the tansu broker");
        }
    }
}
