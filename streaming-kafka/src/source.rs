//! The direct stream's input source: the driver side (which offsets each
//! batch reads, fixed at batch time), the hand-off of ranges to the worker
//! threads, checkpointing, and commits.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;
use serde::{Deserialize, Serialize};

use super::client::{self, close_consumer, create_consumer, End, KafkaConsumer};
use super::commit::{CommitCallback, Committer};
use super::config::Settings;
use super::deser::KafkaDeserialize;
use super::group::{self, GroupMember};
use super::record::{ConsumerRecord, OffsetRange, TopicPartition};
use super::stats::KafkaStreamStats;
use super::strategy::{ConsumerParams, ConsumerStrategy, LocationStrategy, OffsetReset, Selection};
use super::stream::StreamInfo;
use super::worker::{ReadTask, Workers};
use streaming_core::rate::{max_messages_per_partition, RateController, RateListener};
use streaming_core::{
    Batch, BatchInfo, Data, InputContext, InputSource, PartitionOwnership, Result, StreamingError,
    StreamingListener, Time,
};

/// The ranges of one batch time.
#[derive(Clone, Debug)]
struct Planned {
    ranges: Vec<OffsetRange>,
    /// Why the batch must fail (an offset out of range with
    /// `auto.offset.reset=none`).
    error: Option<StreamingError>,
    computed: bool,
}

/// Retry pacing of the driver's queries.
struct Backoff {
    delay: Duration,
    not_before: Option<Instant>,
}

/// What the driver tracks between batches.
struct Tracking {
    /// The next offset to read of every known partition: the end of the
    /// latest batch's range.
    current: BTreeMap<TopicPartition, i64>,
    /// The planned ranges, by batch time.
    batches: BTreeMap<Time, Planned>,
    /// Whether the starting offsets have been resolved (partitions found
    /// later start at their earliest offset).
    initialized: bool,
    backoff: Backoff,
    /// Which worker reads which partition.
    placement: BTreeMap<TopicPartition, usize>,
}

/// What the checkpoint of a direct stream holds.
#[derive(Serialize, Deserialize)]
struct KafkaCheckpoint {
    current: Vec<(TopicPartition, i64)>,
    batches: Vec<(Time, Vec<OffsetRange>)>,
    initialized: bool,
}

/// The non-generic state of a stream, shared by the source and the user's
/// [`KafkaOffsets`](super::KafkaOffsets) handles.
pub(crate) struct Shared {
    /// What the workers and the committer see of the stream.
    pub(crate) info: Arc<StreamInfo>,
    selection: Selection,
    explicit_offsets: BTreeMap<TopicPartition, i64>,
    location: LocationStrategy,
    interval: Duration,
    tracking: Mutex<Tracking>,
    driver: Mutex<Option<KafkaConsumer>>,
    committer: Committer,
    stopped: AtomicBool,
    /// The replay a recovery may need, in ms: planned ranges are kept at
    /// least that long.
    min_retention_ms: AtomicU64,
    /// Backpressure's rate estimate, when enabled (set at start).
    rate: OnceLock<Arc<RateController>>,
    /// Group mode's state, when the stream is a group member.
    group: Option<GroupMember>,
}

impl Shared {
    /// Reports a problem to the log and the listeners.
    pub(crate) fn report(&self, message: String) {
        self.info.report(message)
    }

    pub(crate) fn offset_ranges(&self, time: Time) -> Option<Vec<OffsetRange>> {
        let t = self.tracking.lock().unwrap();
        t.batches.get(&time).map(|p| p.ranges.clone())
    }

    pub(crate) fn current_offsets(&self) -> BTreeMap<TopicPartition, i64> {
        self.tracking.lock().unwrap().current.clone()
    }

    pub(crate) fn placement(&self) -> BTreeMap<TopicPartition, usize> {
        self.tracking.lock().unwrap().placement.clone()
    }

    /// Group mode's state, when the stream is a group member.
    pub(crate) fn group_member(&self) -> Option<&GroupMember> {
        self.group.as_ref()
    }

    /// Group mode: commits the end offsets of batch `time`'s ranges through
    /// the member consumer.
    pub(crate) fn commit_group_batch(&self, time: Time) -> Result<BTreeMap<TopicPartition, i64>> {
        let Some(ranges) = self.offset_ranges(time) else {
            return Ok(BTreeMap::new());
        };
        let group = self.info.params.group_id.clone().unwrap_or_default();
        let driver = self.driver.lock().unwrap();
        match driver.as_ref() {
            Some(consumer) => blocking(|| group::commit_ranges(consumer, &group, &ranges)),
            None => Err(client::kafka_error(
                format!("commit to group {group:?}"),
                "the group member consumer is closed",
            )),
        }
    }

    /// Creates the driver consumer; in group mode, subscribed to the
    /// stream's topics as a member of `group.id`.
    fn create_driver(&self) -> Result<KafkaConsumer> {
        let group = self
            .info
            .params
            .group_id
            .clone()
            .unwrap_or_else(|| self.info.executor_group.clone());
        let mut config = self.info.params.config_with_group(&group);
        if self.group.is_some() && config.get("partition.assignment.strategy").is_none() {
            // See ConsumerStrategy::join_group.
            config.set("partition.assignment.strategy", "cooperative-sticky");
        }
        let consumer = create_consumer(&config, format!("{}/driver", self.info.name))?;
        if self.group.is_some() {
            let topics: Vec<String> = match &self.selection {
                Selection::Topics(t) => t.clone(),
                Selection::Pattern(r) => vec![r.as_str().to_string()],
                Selection::Partitions(_) => Vec::new(),
            };
            let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
            consumer
                .subscribe(&refs)
                .map_err(|e| client::kafka_error(format!("joining group {group:?}"), e))?;
            tracing::info!(input = %self.info.name, group, ?topics, "joined the consumer group");
        }
        Ok(consumer)
    }

    pub(crate) fn commit(&self, ranges: &[OffsetRange], callback: Option<CommitCallback>) {
        let mut offsets = BTreeMap::new();
        for r in ranges {
            let e = offsets.entry(r.topic_partition()).or_insert(r.until_offset);
            *e = (*e).max(r.until_offset);
        }
        self.committer.submit(&self.info, offsets, callback);
    }

    /// Runs the driver's queries: the partitions, and their earliest and
    /// latest offsets (plus committed offsets for partitions not known yet).
    fn query(&self, known: &BTreeMap<TopicPartition, i64>) -> Result<QueryResult> {
        let timeout = self.info.settings.query_timeout;
        let mut driver = self.driver.lock().unwrap();
        if driver.is_none() {
            *driver = Some(self.create_driver()?);
        }
        let consumer = driver.as_ref().expect("created above");
        let partitions = if self.group.is_some() {
            group::poll_assignment(consumer)?
        } else {
            client::discover_partitions(consumer, &self.selection, timeout)?
        };
        let new: Vec<TopicPartition> = partitions
            .iter()
            .filter(|tp| !known.contains_key(*tp) && !self.explicit_offsets.contains_key(*tp))
            .cloned()
            .collect();
        let committed = match (&self.info.params.group_id, new.is_empty()) {
            (Some(_), false) => client::committed_offsets(consumer, &new, timeout)?,
            _ => BTreeMap::new(),
        };
        let earliest = client::list_offsets(consumer, &partitions, End::Earliest, timeout)?;
        let latest = client::list_offsets(consumer, &partitions, End::Latest, timeout)?;
        Ok(QueryResult {
            partitions,
            committed,
            earliest,
            latest,
        })
    }

    /// Queries the broker unless a previous failure's backoff is running;
    /// reports failures.
    fn query_with_backoff(&self, what: &str) -> Option<QueryResult> {
        let known = {
            let t = self.tracking.lock().unwrap();
            if t.backoff.not_before.is_some_and(|nb| Instant::now() < nb) {
                return None;
            }
            t.current.clone()
        };
        let result = blocking(|| self.query(&known));
        let mut t = self.tracking.lock().unwrap();
        match result {
            Ok(q) => {
                t.backoff.delay = self.info.settings.retry_backoff.0;
                t.backoff.not_before = None;
                Some(q)
            }
            Err(e) => {
                self.info.stats.query_failed();
                let delay = t.backoff.delay;
                t.backoff.not_before = Some(Instant::now() + delay);
                t.backoff.delay = (delay * 2).min(self.info.settings.retry_backoff.1);
                drop(t);
                self.report(format!(
                    "{what}: {e} (brokers: {}); retrying in {delay:?}, batches until then read nothing new",
                    self.info.params.bootstrap
                ));
                None
            }
        }
    }

    /// The offset a partition first seen now starts from.
    fn initial_offset(
        &self,
        tp: &TopicPartition,
        q: &QueryResult,
        initialized: bool,
    ) -> std::result::Result<i64, StreamingError> {
        if let Some(&o) = self.explicit_offsets.get(tp) {
            return Ok(o);
        }
        if let Some(&o) = q.committed.get(tp) {
            return Ok(o);
        }
        if initialized && self.group.is_none() {
            // Found after the start: read everything it holds.
            return Ok(q.earliest[tp]);
        }
        match self.info.params.reset {
            OffsetReset::Earliest => Ok(q.earliest[tp]),
            OffsetReset::Latest => Ok(q.latest[tp]),
            OffsetReset::None => Err(StreamingError::Kafka {
                operation: format!("starting offset of {tp}"),
                message: format!(
                    "no committed offset for group {:?} and auto.offset.reset is none",
                    self.info.params.group_id.as_deref().unwrap_or("")
                ),
            }),
        }
    }

    /// Applies a query: starting offsets of new partitions, placement, and
    /// (for a batch) the ranges. Returns the batch's error, if any.
    fn apply(&self, t: &mut Tracking, q: &QueryResult, time: Option<Time>) -> Planned {
        let mut ranges = Vec::with_capacity(q.partitions.len());
        let mut starts = Vec::with_capacity(q.partitions.len());
        let mut error = None;
        let mut changed = false;
        if self.group.is_some() {
            // Group mode: forget the partitions revoked from this process
            // (their next owner continues from the committed offsets).
            let before = t.current.len();
            t.current.retain(|tp, _| q.partitions.contains(tp));
            changed |= t.current.len() != before;
        }
        for tp in &q.partitions {
            let from = match t.current.get(tp) {
                Some(&o) => o,
                None => match self.initial_offset(tp, q, t.initialized) {
                    Ok(o) => {
                        changed = true;
                        tracing::info!(input = %self.info.name, partition = %tp, offset = o, "reading a new partition");
                        o
                    }
                    Err(e) => {
                        error.get_or_insert(e);
                        continue;
                    }
                },
            };
            let (low, high) = (q.earliest[tp], q.latest[tp]);
            let from = if from < low || from > high {
                self.info.stats.offset_reset();
                match self.info.params.reset {
                    OffsetReset::None => {
                        error.get_or_insert(StreamingError::KafkaOffsetOutOfRange {
                            partition: tp.to_string(),
                            offset: from,
                            earliest: low,
                            latest: high,
                        });
                        continue;
                    }
                    reset => {
                        let to = if reset == OffsetReset::Earliest {
                            low
                        } else {
                            high
                        };
                        self.report(format!(
                            "offset {from} of {tp} is out of range [{low}, {high}]; continuing from {to} (auto.offset.reset={})",
                            reset.as_str()
                        ));
                        to
                    }
                }
            } else {
                from
            };
            starts.push((tp.clone(), from, high));
        }
        let limits = match time {
            Some(_) => self.per_partition_limits(&starts),
            None => None,
        };
        for (tp, from, high) in starts {
            let until = match (time, limits.as_ref().and_then(|l| l.get(&tp))) {
                (None, _) => from,
                (Some(_), Some(&max)) => high.min(from.saturating_add(max as i64)),
                (Some(_), None) => high,
            };
            t.current.insert(tp.clone(), until);
            ranges.push(OffsetRange::new(
                tp.topic.clone(),
                tp.partition,
                from,
                until,
            ));
        }
        // A partition without a starting offset under `none` keeps the
        // stream uninitialized: the next batch applies the policy again.
        if error.is_none() {
            t.initialized = true;
        }
        if changed || t.placement.len() != t.current.len() {
            let all: Vec<TopicPartition> = t.current.keys().cloned().collect();
            t.placement = place(&all, &self.location, self.info.settings.workers);
        }
        Planned {
            ranges,
            error,
            computed: false,
        }
    }

    /// How many records each partition may give the next batch, from its
    /// start and latest offsets: with backpressure, Spark's
    /// `maxMessagesPerPartition` (the estimate, else the initial rate,
    /// shared by lag); otherwise `maxRatePerPartition` per batch.
    fn per_partition_limits(
        &self,
        starts: &[(TopicPartition, i64, i64)],
    ) -> Option<BTreeMap<TopicPartition, u64>> {
        let settings = &self.info.settings;
        let Some(bp) = &settings.backpressure else {
            let max = settings.max_per_batch?;
            return Some(starts.iter().map(|(tp, _, _)| (tp.clone(), max)).collect());
        };
        let rate = self
            .rate
            .get()
            .and_then(|c| c.latest_rate())
            .or(bp.initial_rate);
        let lags: BTreeMap<TopicPartition, u64> = starts
            .iter()
            .map(|(tp, from, high)| (tp.clone(), (high - from).max(0) as u64))
            .collect();
        let limits = max_messages_per_partition(
            &lags,
            rate,
            settings.max_rate,
            settings.min_rate,
            self.interval,
        );
        tracing::debug!(input = %self.info.name, ?rate, ?limits, "backpressure: records per partition");
        limits
    }

    /// Fixes the ranges of batch `time`.
    fn plan(&self, time: Time) {
        if self.tracking.lock().unwrap().batches.contains_key(&time) {
            // Restored from a checkpoint: re-read exactly those ranges.
            return;
        }
        if let Some(member) = &self.group {
            // A rebalance takes effect between batches only: poll the
            // group (where partitions are revoked and assigned) once every
            // earlier batch is processed and committed.
            let limit = (self.interval * 20).max(Duration::from_secs(60));
            if !self.stopped.load(Ordering::SeqCst) && !member.wait_idle(limit) {
                self.report(format!(
                    "planning batch {time}: earlier batches are still running after {limit:?}; polling the group anyway to stay a member"
                ));
            }
        }
        let query = if self.stopped.load(Ordering::SeqCst) {
            None
        } else {
            self.query_with_backoff(&format!("cannot plan batch {time}"))
        };
        let mut t = self.tracking.lock().unwrap();
        let planned = match &query {
            Some(q) => self.apply(&mut t, q, Some(time)),
            // No new records: empty ranges at the current offsets.
            None => Planned {
                ranges: t
                    .current
                    .iter()
                    .map(|(tp, &o)| OffsetRange::new(tp.topic.clone(), tp.partition, o, o))
                    .collect(),
                error: None,
                computed: false,
            },
        };
        tracing::debug!(input = %self.info.name, %time, ranges = ?planned.ranges, "batch planned");
        if let Some(member) = &self.group {
            member.planned(
                time,
                planned.ranges.iter().map(|r| r.topic_partition()).collect(),
            );
        }
        t.batches.insert(time, planned);
        // Forget batches older than the retention once computed (and those
        // restored from a checkpoint that recovery never asked for).
        let retention =
            (self.interval * 20)
                .max(Duration::from_secs(60))
                .max(Duration::from_millis(
                    self.min_retention_ms.load(Ordering::Relaxed),
                ));
        let horizon = time.saturating_sub(retention);
        let stale = time.saturating_sub(retention * 10);
        t.batches
            .retain(|&bt, p| bt >= horizon || (!p.computed && bt >= stale));
    }
}

/// The answers of one round of driver queries.
struct QueryResult {
    partitions: Vec<TopicPartition>,
    committed: BTreeMap<TopicPartition, i64>,
    earliest: BTreeMap<TopicPartition, i64>,
    latest: BTreeMap<TopicPartition, i64>,
}

/// Places partitions on workers (see [`LocationStrategy`]).
pub(crate) fn place(
    partitions: &[TopicPartition],
    location: &LocationStrategy,
    workers: usize,
) -> BTreeMap<TopicPartition, usize> {
    let workers = workers.max(1);
    let fixed: HashMap<TopicPartition, usize> = match location {
        LocationStrategy::PreferFixed(m) => m.clone(),
        LocationStrategy::PreferConsistent | LocationStrategy::PreferBrokers => HashMap::new(),
    };
    let mut out = BTreeMap::new();
    let mut i = 0;
    for tp in partitions {
        match fixed.get(tp) {
            Some(&w) => {
                out.insert(tp.clone(), w % workers);
            }
            None => {
                out.insert(tp.clone(), i % workers);
                i += 1;
            }
        }
    }
    out
}

/// Runs blocking client calls from the generator's tokio task without
/// stalling the runtime's other tasks.
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// The input source of a direct stream.
pub(crate) struct DirectKafkaSource<K, V> {
    shared: Arc<Shared>,
    workers: OnceLock<Workers<K, V>>,
}

impl<K, V> DirectKafkaSource<K, V>
where
    K: KafkaDeserialize + Data,
    V: KafkaDeserialize + Data,
{
    pub(crate) fn new(
        app: &str,
        location: LocationStrategy,
        strategy: ConsumerStrategy,
        settings: Settings,
        interval: Duration,
    ) -> Result<Self> {
        let params = ConsumerParams::resolve(&strategy.params)?;
        if strategy.group {
            if params.group_id.is_none() {
                return Err(StreamingError::Config(
                    "join_group needs the Kafka parameter group.id".into(),
                ));
            }
            if matches!(strategy.selection, Selection::Partitions(_)) {
                return Err(StreamingError::Config(
                    "join_group needs subscribe or subscribe_pattern: the group assigns the partitions".into(),
                ));
            }
            if !strategy.offsets.is_empty() {
                return Err(StreamingError::Config(
                    "join_group starts from the group's committed offsets; with_offsets cannot be combined with it".into(),
                ));
            }
        }
        if let LocationStrategy::PreferFixed(m) = &location {
            if let Some((tp, w)) = m.iter().find(|(_, &w)| w >= settings.workers) {
                return Err(StreamingError::Config(format!(
                    "PreferFixed places {tp} on worker {w}, but the stream has {} workers (0..{})",
                    settings.workers, settings.workers
                )));
            }
        }
        if location == LocationStrategy::PreferBrokers {
            tracing::info!("PreferBrokers: every worker runs on this host, so partitions are spread as by PreferConsistent");
        }
        let name = match &strategy.selection {
            Selection::Topics(t) => format!("kafka direct stream [{}]", t.join(", ")),
            Selection::Pattern(r) => format!("kafka direct stream [pattern {}]", r.as_str()),
            Selection::Partitions(p) => format!(
                "kafka direct stream [{}]",
                p.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let executor_group = match &params.group_id {
            Some(g) => format!("{g}-executor"),
            None => format!("{app}-streaming-executor"),
        };
        let stats = KafkaStreamStats::new(settings.workers);
        Ok(DirectKafkaSource {
            shared: Arc::new(Shared {
                info: Arc::new(StreamInfo::new(
                    name,
                    params,
                    settings.clone(),
                    stats,
                    executor_group,
                )),
                selection: strategy.selection,
                explicit_offsets: strategy.offsets,
                location,
                interval,
                tracking: Mutex::new(Tracking {
                    current: BTreeMap::new(),
                    batches: BTreeMap::new(),
                    initialized: false,
                    backoff: Backoff {
                        delay: settings.retry_backoff.0,
                        not_before: None,
                    },
                    placement: BTreeMap::new(),
                }),
                driver: Mutex::new(None),
                committer: Committer::default(),
                stopped: AtomicBool::new(false),
                min_retention_ms: AtomicU64::new(0),
                rate: OnceLock::new(),
                group: strategy.group.then(GroupMember::default),
            }),
            workers: OnceLock::new(),
        })
    }

    pub(crate) fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }
}

impl<K, V> InputSource<ConsumerRecord<K, V>> for DirectKafkaSource<K, V>
where
    K: KafkaDeserialize + Data,
    V: KafkaDeserialize + Data,
{
    fn name(&self) -> String {
        self.shared.info.name.clone()
    }

    fn bad_records(&self) -> u64 {
        self.shared.info.stats.undecodable_records()
    }

    fn status(&self) -> Option<String> {
        let member = self.shared.group.as_ref()?;
        let owned = member.assignment();
        let rebalances = member.rebalances();
        let owned = if owned.is_empty() {
            "none".to_string()
        } else {
            owned
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let last = rebalances.last().map_or(String::new(), |r| {
            format!(", the last from batch {}", r.batch_time)
        });
        Some(format!(
            "group {}: owns {owned}; {} rebalance(s){last}",
            self.shared.info.params.group_id.as_deref().unwrap_or(""),
            rebalances.len()
        ))
    }

    fn ownership(&self) -> Option<PartitionOwnership> {
        let member = self.shared.group.as_ref()?;
        let rebalances = member.rebalances();
        Some(PartitionOwnership {
            group: self.shared.info.params.group_id.clone().unwrap_or_default(),
            partitions: member
                .assignment()
                .iter()
                .map(ToString::to_string)
                .collect(),
            rebalances: rebalances.len() as u64,
            last_rebalance: rebalances.last().map(|r| r.batch_time),
        })
    }

    fn start(&self, ctx: &InputContext) -> Result<()> {
        self.shared.info.set_context(ctx);
        if let Some(bp) = &self.shared.info.settings.backpressure {
            if self.shared.rate.get().is_none() {
                let estimator = bp
                    .estimator(self.shared.interval)
                    .map_err(|e| StreamingError::Config(e.to_string()))?;
                // The planner reads the latest estimate at each batch.
                let controller = RateController::new(ctx.stream_id(), estimator, |_| {});
                ctx.add_streaming_listener(RateListener(controller.clone()));
                let _ = self.shared.rate.set(controller);
                tracing::info!(input = %self.shared.info.name, "backpressure enabled");
            }
        }
        self.shared.stopped.store(false, Ordering::SeqCst);
        if self.shared.group.is_some() {
            ctx.add_streaming_listener(GroupCommitListener {
                shared: Arc::downgrade(&self.shared),
            });
        }
        if self.workers.get().is_none() {
            let w = Workers::spawn(&self.shared.info, ctx.stream_id())?;
            let _ = self.workers.set(w);
        }
        // Resolve the starting offsets now, so that `latest` means the
        // latest offsets at start. A broker that is down is reported and
        // the offsets are resolved at the first batch that reaches it.
        // In group mode the partitions and their offsets are known once the
        // group assigns them, when the first batch is planned.
        let initialized = self.shared.tracking.lock().unwrap().initialized;
        if !initialized && self.shared.group.is_none() {
            if let Some(q) = self
                .shared
                .query_with_backoff("cannot resolve the starting offsets")
            {
                let mut t = self.shared.tracking.lock().unwrap();
                let planned = self.shared.apply(&mut t, &q, None);
                if let Some(e) = planned.error {
                    drop(t);
                    self.shared.report(format!("starting offsets: {e}"));
                }
            }
        }
        tracing::info!(input = %self.shared.info.name, current = ?self.shared.current_offsets(), "Kafka direct stream started");
        Ok(())
    }

    fn stop(&self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        if let Some(w) = self.workers.get() {
            w.release();
        }
        let driver = self.shared.driver.lock().unwrap().take();
        if let Some(d) = driver {
            close_consumer(d, &format!("{}/driver", self.shared.info.name));
        }
    }

    fn on_batch_time(&self, time: Time) {
        self.shared.plan(time);
    }

    fn compute(&self, time: Time) -> Result<Option<Batch<ConsumerRecord<K, V>>>> {
        let planned = {
            let mut t = self.shared.tracking.lock().unwrap();
            match t.batches.get_mut(&time) {
                Some(p) => {
                    p.computed = true;
                    p.clone()
                }
                None => {
                    tracing::warn!(input = %self.shared.info.name, %time, "no offset ranges were planned for this batch");
                    return Ok(None);
                }
            }
        };
        if let Some(e) = planned.error {
            return Err(e);
        }
        let placement = self.shared.placement();
        let workers = self.workers.get().ok_or_else(|| {
            StreamingError::IllegalState("the Kafka direct stream has not started".into())
        })?;
        let (tx, rx) = mpsc::channel();
        let mut parts: Vec<Vec<ConsumerRecord<K, V>>> =
            (0..planned.ranges.len()).map(|_| Vec::new()).collect();
        let mut pending = 0;
        for (index, range) in planned.ranges.iter().enumerate() {
            if range.count() == 0 {
                continue;
            }
            let worker = placement
                .get(&range.topic_partition())
                .copied()
                .unwrap_or(index % self.shared.info.settings.workers);
            workers.submit(
                worker,
                ReadTask {
                    index,
                    range: range.clone(),
                    time,
                    reply: tx.clone(),
                },
            )?;
            pending += 1;
        }
        drop(tx);
        for _ in 0..pending {
            let (index, result) = rx.recv().map_err(|_| {
                client::kafka_error(format!("reading batch {time}"), "a Kafka worker stopped")
            })?;
            parts[index] = result?;
        }
        Ok(Some(Batch::from_partitions(parts)))
    }

    fn is_recoverable(&self) -> bool {
        true
    }

    fn remember_at_least(&self, replay: Duration) {
        self.shared
            .min_retention_ms
            .fetch_max(replay.as_millis() as u64, Ordering::Relaxed);
    }

    fn checkpoint_data(&self) -> Option<Result<Vec<u8>>> {
        if self.shared.group.is_some() {
            // The group's committed offsets are the stream's state.
            return None;
        }
        let t = self.shared.tracking.lock().unwrap();
        let cp = KafkaCheckpoint {
            current: t.current.iter().map(|(tp, &o)| (tp.clone(), o)).collect(),
            batches: t
                .batches
                .iter()
                .map(|(&time, p)| (time, p.ranges.clone()))
                .collect(),
            initialized: t.initialized,
        };
        Some(
            postcard::to_allocvec(&cp).map_err(|e| StreamingError::InvalidData {
                context: format!("checkpoint of {}", self.shared.info.name),
                message: e.to_string(),
            }),
        )
    }

    fn restore_checkpoint_data(&self, bytes: &[u8]) -> Result<()> {
        let cp: KafkaCheckpoint =
            postcard::from_bytes(bytes).map_err(|e| StreamingError::InvalidData {
                context: format!("checkpoint of {}", self.shared.info.name),
                message: e.to_string(),
            })?;
        let mut t = self.shared.tracking.lock().unwrap();
        t.current = cp.current.into_iter().collect();
        t.batches = cp
            .batches
            .into_iter()
            .map(|(time, ranges)| {
                (
                    time,
                    Planned {
                        ranges,
                        error: None,
                        computed: false,
                    },
                )
            })
            .collect();
        t.initialized = cp.initialized;
        let all: Vec<TopicPartition> = t.current.keys().cloned().collect();
        t.placement = place(
            &all,
            &self.shared.location,
            self.shared.info.settings.workers,
        );
        tracing::info!(
            input = %self.shared.info.name,
            batches = t.batches.len(),
            current = ?t.current,
            "Kafka direct stream restored from a checkpoint"
        );
        Ok(())
    }
}

impl<K, V> Drop for DirectKafkaSource<K, V> {
    fn drop(&mut self) {
        if let Some(w) = self.workers.take() {
            w.shutdown(Duration::from_secs(30));
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.committer.shutdown();
        if let Some(d) = self.driver.get_mut().ok().and_then(Option::take) {
            close_consumer(d, &format!("{}/driver", self.info.name));
        }
    }
}

/// Commits each completed batch's offsets (group mode), then lets the
/// next batch be planned.
struct GroupCommitListener {
    shared: Weak<Shared>,
}

impl StreamingListener for GroupCommitListener {
    fn on_batch_completed(&self, info: &BatchInfo) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let Some(member) = shared.group_member() else {
            return;
        };
        let time = info.batch_time;
        if info.failure.is_some() {
            shared.report(format!(
                "batch {time} failed: its offsets are not committed (the partitions' next owner re-reads them)"
            ));
            member.finished(time, None);
            return;
        }
        match shared.commit_group_batch(time) {
            Ok(c) => {
                tracing::debug!(%time, offsets = ?c, "group mode: batch committed");
                shared.info.stats.committed();
                member.finished(time, Some(&c));
            }
            Err(e) => {
                shared.info.stats.commit_failed();
                shared.report(format!("committing batch {time}: {e}"));
                member.finished(time, None);
            }
        }
    }
}
