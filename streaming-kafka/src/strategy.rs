//! Where partitions are read ([`LocationStrategy`]) and which partitions,
//! from which offsets, with which consumer parameters ([`ConsumerStrategy`]).

use std::collections::{BTreeMap, HashMap};

use rdkafka::config::ClientConfig;

use super::record::TopicPartition;
use streaming_core::{Result, StreamingError};

/// Which worker thread reads which partition (Spark's `LocationStrategies`).
///
/// A direct stream reads its partitions on its own worker threads
/// ([`DirectStreamConfig::workers`](super::DirectStreamConfig::workers),
/// the context's parallelism by default), each keeping its cached consumers
/// between batches, so the strategy decides where a partition's consumer
/// and its prefetched data live.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum LocationStrategy {
    /// Spreads partitions evenly: in (topic, partition) order, partition `i`
    /// goes to worker `i % workers`. The right choice unless there is a
    /// special reason.
    #[default]
    PreferConsistent,
    /// Places each partition with a worker on the host of the partition's
    /// leader broker. All workers of a stream run in this process, on one
    /// host, so this falls back to [`PreferConsistent`](Self::PreferConsistent).
    PreferBrokers,
    /// Pins the given partitions to the given worker indexes (`0..workers`);
    /// partitions not in the map are spread as by `PreferConsistent` over
    /// the order of the remaining partitions.
    PreferFixed(HashMap<TopicPartition, usize>),
}

/// What `auto.offset.reset` says to do for a partition without a valid
/// offset (none committed, or one out of the range the broker holds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsetReset {
    /// Start at the partition's earliest offset (`earliest`, `smallest`, `beginning`).
    Earliest,
    /// Start at the partition's latest offset (`latest`, `largest`, `end`),
    /// Kafka's default.
    Latest,
    /// Fail (`none`, `error`).
    None,
}

impl OffsetReset {
    fn parse(value: &str) -> Result<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "earliest" | "smallest" | "beginning" => Ok(OffsetReset::Earliest),
            "latest" | "largest" | "end" => Ok(OffsetReset::Latest),
            "none" | "error" => Ok(OffsetReset::None),
            _ => Err(StreamingError::Config(format!(
                "auto.offset.reset={value:?}: expected earliest, latest or none"
            ))),
        }
    }

    /// The name Kafka uses.
    pub fn as_str(self) -> &'static str {
        match self {
            OffsetReset::Earliest => "earliest",
            OffsetReset::Latest => "latest",
            OffsetReset::None => "none",
        }
    }
}

/// Which partitions a stream reads.
#[derive(Clone, Debug)]
pub(crate) enum Selection {
    /// Every partition of these topics, including partitions added later.
    Topics(Vec<String>),
    /// Every partition of every topic whose name matches.
    Pattern(regex::Regex),
    /// Exactly these partitions.
    Partitions(Vec<TopicPartition>),
}

/// Which partitions a direct stream reads, from which offsets, with which
/// consumer parameters (Spark's `ConsumerStrategies`).
///
/// Parameters use Kafka's names (`bootstrap.servers`, `group.id`,
/// `auto.offset.reset`, ...), as in Spark. They go to librdkafka, except:
/// - `key.deserializer` and `value.deserializer` (Java class names) are
///   accepted and ignored: records decode through the stream's key and value
///   types ([`KafkaDeserialize`](super::KafkaDeserialize));
/// - `enable.auto.commit` is accepted and always off: offsets are committed
///   with [`commit_async`](super::KafkaOffsets::commit_async), after outputs;
/// - `auto.offset.reset` (`earliest`, `latest` — the default — or `none`)
///   is applied by the stream: to partitions without a committed offset at
///   start and to offsets out of the range the broker holds;
/// - `group.id` is the group whose committed offsets the stream starts from
///   and to which it commits; the stream does not join the group (it reads
///   every selected partition itself), unless in group mode
///   ([`join_group`](Self::join_group)).
///
/// A partition's first offset is, in this order: the one given with
/// [`with_offsets`](Self::with_offsets), the group's committed offset, and
/// `auto.offset.reset`. A partition that appears after the stream started
/// (partitions added to a subscribed topic, a new topic matching a pattern)
/// starts at its earliest offset, so nothing written to it is missed.
///
/// ```
/// # #[cfg(feature = "kafka")] {
/// use streaming_kafka::ConsumerStrategy;
/// let strategy = ConsumerStrategy::subscribe(
///     ["test"],
///     [
///         ("bootstrap.servers", "localhost:9092"),
///         ("group.id", "use_a_separate_group_id_for_each_stream"),
///         ("auto.offset.reset", "latest"),
///         ("enable.auto.commit", "false"),
///     ],
/// );
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ConsumerStrategy {
    pub(crate) selection: Selection,
    pub(crate) params: BTreeMap<String, String>,
    pub(crate) offsets: BTreeMap<TopicPartition, i64>,
    /// Group mode (see [`join_group`](Self::join_group)).
    pub(crate) group: bool,
}

fn collect_params<I, PK, PV>(params: I) -> BTreeMap<String, String>
where
    I: IntoIterator<Item = (PK, PV)>,
    PK: Into<String>,
    PV: Into<String>,
{
    params
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
}

impl ConsumerStrategy {
    /// Every partition of `topics` (Spark's `Subscribe`); partitions added
    /// to them while the stream runs are picked up at the next batch.
    pub fn subscribe<T, S, I, PK, PV>(topics: T, params: I) -> Self
    where
        T: IntoIterator<Item = S>,
        S: Into<String>,
        I: IntoIterator<Item = (PK, PV)>,
        PK: Into<String>,
        PV: Into<String>,
    {
        ConsumerStrategy {
            selection: Selection::Topics(topics.into_iter().map(Into::into).collect()),
            params: collect_params(params),
            offsets: BTreeMap::new(),
            group: false,
        }
    }

    /// Every partition of every topic whose name matches the regular
    /// expression `pattern` (Spark's `SubscribePattern`; the whole name must
    /// match); topics created later are picked up at the next batch. An
    /// invalid pattern is a [`Config`](StreamingError::Config) error.
    pub fn subscribe_pattern<I, PK, PV>(pattern: &str, params: I) -> Result<Self>
    where
        I: IntoIterator<Item = (PK, PV)>,
        PK: Into<String>,
        PV: Into<String>,
    {
        let anchored = format!("^(?:{pattern})$");
        let regex = regex::Regex::new(&anchored).map_err(|e| {
            StreamingError::Config(format!("invalid topic pattern {pattern:?}: {e}"))
        })?;
        Ok(ConsumerStrategy {
            selection: Selection::Pattern(regex),
            params: collect_params(params),
            offsets: BTreeMap::new(),
            group: false,
        })
    }

    /// Exactly `partitions` (Spark's `Assign`).
    pub fn assign<P, I, PK, PV>(partitions: P, params: I) -> Self
    where
        P: IntoIterator<Item = TopicPartition>,
        I: IntoIterator<Item = (PK, PV)>,
        PK: Into<String>,
        PV: Into<String>,
    {
        let mut partitions: Vec<TopicPartition> = partitions.into_iter().collect();
        partitions.sort();
        partitions.dedup();
        ConsumerStrategy {
            selection: Selection::Partitions(partitions),
            params: collect_params(params),
            offsets: BTreeMap::new(),
            group: false,
        }
    }

    /// Starts the given partitions at the given offsets (the `offsets`
    /// argument of Spark's strategies), ahead of committed offsets and
    /// `auto.offset.reset`.
    pub fn with_offsets(
        mut self,
        offsets: impl IntoIterator<Item = (TopicPartition, i64)>,
    ) -> Self {
        self.offsets.extend(offsets);
        self
    }

    /// Group mode: the stream joins the consumer group `group.id` and each
    /// batch reads only the partitions the group protocol assigns to this
    /// process, so N processes running the same job share the partitions
    /// (Kafka Streams' deployment model; see the README's "Scaling out").
    ///
    /// - Partitions are rebalanced when a process joins, leaves, or dies
    ///   (after the group's `session.timeout.ms`); a rebalance takes effect
    ///   between two batches, never inside one.
    /// - A newly assigned partition starts at the group's committed
    ///   offset (else `auto.offset.reset`).
    /// - Offsets are committed automatically, through the group member,
    ///   when a batch completes; [`commit_async`](super::KafkaOffsets::commit_async)
    ///   is not needed.
    /// - Batch times are multiples of the batch interval since the epoch,
    ///   so they are aligned on every process.
    ///
    /// The assignor is `cooperative-sticky` unless
    /// `partition.assignment.strategy` says otherwise: partitions that
    /// stay with their owner are not revoked, and the test broker (tansu
    /// 0.6) only starts a new group generation when a member's
    /// subscription changes, which the sticky assignor's owned-partitions
    /// data does after a rebalance; with an eager assignor (`range`,
    /// `roundrobin`) on tansu, the survivors of a dead member never learn
    /// of its partitions.
    ///
    /// Needs [`subscribe`](Self::subscribe) or
    /// [`subscribe_pattern`](Self::subscribe_pattern) and a `group.id`;
    /// anything else is a [`Config`](StreamingError::Config) error when the
    /// stream is created.
    ///
    /// A word count scaled out over N processes: lines re-keyed by word
    /// through a topic, each word's count kept with its partition.
    ///
    /// ```no_run
    /// use streaming_core::{StreamingConf, StreamingContext};
    /// use streaming_kafka::{ConsumerStrategy, DirectStreamConfig, KafkaSink, KafkaUtils, LocationStrategy};
    /// use std::time::Duration;
    ///
    /// let ssc = StreamingContext::new(
    ///     StreamingConf::new().master("local[*]").batch_interval(Duration::from_secs(1)),
    /// )?;
    /// let params: Vec<(String, String)> = vec![
    ///     ("bootstrap.servers".into(), "broker:9092".into()),
    ///     ("group.id".into(), "word-count".into()),
    ///     ("auto.offset.reset".into(), "earliest".into()),
    /// ];
    /// let input = KafkaUtils::create_direct_stream::<String, String>(
    ///     &ssc,
    ///     LocationStrategy::PreferConsistent,
    ///     ConsumerStrategy::subscribe(["lines"], params.clone()).join_group(),
    /// )?;
    /// let words = input
    ///     .flat_map(|r| r.value.split_whitespace().map(|w| (w.to_string(), 1i64)).collect::<Vec<_>>())
    ///     .repartition_through::<String, i64>(&ssc, "words-by-key", params, DirectStreamConfig::new())?;
    /// let counts = words
    ///     .offsets()
    ///     .partitioned_state("/shared/state", "counts")
    ///     .update_state_by_key(
    ///         &words.map(|r| (r.key.unwrap_or_default(), r.value)),
    ///         |new: &[i64], count: Option<i64>| Some(count.unwrap_or(0) + new.iter().sum::<i64>()),
    ///     );
    /// counts.save_to_kafka("word-counts", [("bootstrap.servers", "broker:9092")])?;
    /// ssc.start()?;
    /// ssc.await_termination()?;
    /// # Ok::<(), streaming_core::StreamingError>(())
    /// ```
    pub fn join_group(mut self) -> Self {
        self.group = true;
        self
    }

    /// The consumer parameters.
    pub fn params(&self) -> &BTreeMap<String, String> {
        &self.params
    }
}

/// Parameters the stream handles itself and never passes to librdkafka.
const HANDLED: [&str; 5] = [
    "key.deserializer",
    "value.deserializer",
    "enable.auto.commit",
    "auto.offset.reset",
    "group.id",
];

/// The consumer parameters, checked and split into what the stream uses and
/// what librdkafka gets.
#[derive(Clone, Debug)]
pub(crate) struct ConsumerParams {
    /// librdkafka settings shared by every consumer of the stream (no group id).
    pub(crate) base: ClientConfig,
    pub(crate) group_id: Option<String>,
    pub(crate) reset: OffsetReset,
    pub(crate) bootstrap: String,
}

impl ConsumerParams {
    pub(crate) fn resolve(params: &BTreeMap<String, String>) -> Result<Self> {
        let bootstrap = params
            .get("bootstrap.servers")
            .filter(|s| !s.trim().is_empty())
            .cloned()
            .ok_or_else(|| {
                StreamingError::Config(
                    "the Kafka parameter bootstrap.servers is required (e.g. localhost:9092)"
                        .into(),
                )
            })?;
        let reset = match params.get("auto.offset.reset") {
            Some(v) => OffsetReset::parse(v)?,
            None => OffsetReset::Latest,
        };
        if let Some(v) = params.get("enable.auto.commit") {
            if v.trim().eq_ignore_ascii_case("true") {
                tracing::warn!("enable.auto.commit=true is ignored: a direct stream commits with commit_async after its outputs");
            }
        }
        let group_id = params.get("group.id").filter(|g| !g.is_empty()).cloned();
        let mut base = ClientConfig::new();
        for (k, v) in params {
            if !HANDLED.contains(&k.as_str()) {
                base.set(k, v);
            }
        }
        base.set("enable.auto.commit", "false");
        base.set("enable.auto.offset.store", "false");
        // Validate every setting now (unknown names, bad values), without
        // creating a client.
        let mut check = base.clone();
        check.set("group.id", "streaming-config-check");
        check.create_native_config().map_err(|e| {
            StreamingError::Config(format!("invalid Kafka consumer parameters: {e}"))
        })?;
        Ok(ConsumerParams {
            base,
            group_id,
            reset,
            bootstrap,
        })
    }

    /// The configuration of a consumer in group `group`.
    pub(crate) fn config_with_group(&self, group: &str) -> ClientConfig {
        let mut c = self.base.clone();
        c.set("group.id", group);
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut p = collect_params([("bootstrap.servers", "localhost:9092")]);
        p.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        p
    }

    #[test]
    fn spark_parameters_are_accepted() {
        let p = ConsumerParams::resolve(&params(&[
            (
                "key.deserializer",
                "org.apache.kafka.common.serialization.StringDeserializer",
            ),
            (
                "value.deserializer",
                "org.apache.kafka.common.serialization.StringDeserializer",
            ),
            ("group.id", "g"),
            ("auto.offset.reset", "earliest"),
            ("enable.auto.commit", "false"),
        ]))
        .unwrap();
        assert_eq!(p.group_id.as_deref(), Some("g"));
        assert_eq!(p.reset, OffsetReset::Earliest);
        assert_eq!(p.base.get("key.deserializer"), None);
        assert_eq!(p.base.get("group.id"), None);
        assert_eq!(p.base.get("enable.auto.commit"), Some("false"));
    }

    #[test]
    fn bad_parameters_are_config_errors() {
        let e = ConsumerParams::resolve(&BTreeMap::new()).unwrap_err();
        assert!(
            e.to_string().contains("bootstrap.servers is required"),
            "{e}"
        );
        let e =
            ConsumerParams::resolve(&params(&[("auto.offset.reset", "sometimes")])).unwrap_err();
        assert!(
            e.to_string().contains("auto.offset.reset=\"sometimes\""),
            "{e}"
        );
        let e = ConsumerParams::resolve(&params(&[("no.such.setting", "1")])).unwrap_err();
        assert!(matches!(e, StreamingError::Config(_)), "{e}");
        assert!(e.to_string().contains("no.such.setting"), "{e}");
        let e = ConsumerStrategy::subscribe_pattern("(", params(&[])).unwrap_err();
        assert!(e.to_string().contains("invalid topic pattern"), "{e}");
    }

    #[test]
    fn patterns_match_whole_names_and_partitions_are_sorted() {
        let s = ConsumerStrategy::subscribe_pattern("events-.*", params(&[])).unwrap();
        let Selection::Pattern(r) = &s.selection else {
            panic!("pattern expected")
        };
        assert!(r.is_match("events-1"));
        assert!(!r.is_match("old-events-1"));
        let s = ConsumerStrategy::assign(
            [
                TopicPartition::new("b", 0),
                TopicPartition::new("a", 1),
                TopicPartition::new("a", 1),
            ],
            params(&[]),
        );
        let Selection::Partitions(p) = &s.selection else {
            panic!("partitions expected")
        };
        assert_eq!(
            p,
            &vec![TopicPartition::new("a", 1), TopicPartition::new("b", 0)]
        );
    }
}
