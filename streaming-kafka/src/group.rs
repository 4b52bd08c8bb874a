//! Group mode (`ConsumerStrategy::join_group`):
//! the stream's driver consumer is a member of the consumer group
//! `group.id`, and each batch reads only the partitions the group protocol
//! assigned to this process.
//!
//! Rebalances take effect between batches only. The driver consumer is
//! polled (which is where librdkafka runs the revoke and assign callbacks)
//! exclusively while planning a batch, and planning first waits until
//! every earlier batch of the stream has completed and its offsets are
//! committed. So when a partition is revoked, everything this process read
//! of it is processed, its state snapshots are written, and its offsets
//! are committed; the partition's next owner starts exactly there.
//!
//! Commits are automatic: when a batch completes, the end offsets of all
//! its ranges (empty ones too) are committed synchronously through the
//! member consumer itself, so a broker that fences stale generations
//! rejects the commits of a process that was thrown out of the group.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer};

use super::client::{commit_list, kafka_error, KafkaConsumer};
use super::record::{OffsetRange, TopicPartition};
use streaming_core::{Result, Time};

/// One change of the partitions a process owns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rebalance {
    /// The batch whose planning observed the change (the first batch that
    /// reads the new assignment).
    pub batch_time: Time,
    /// The partitions owned from that batch on.
    pub assigned: Vec<TopicPartition>,
}

/// The group-mode state of a stream.
#[derive(Default)]
pub(crate) struct GroupMember {
    progress: Mutex<Progress>,
    done: Condvar,
}

#[derive(Default)]
struct Progress {
    /// Batches planned and not yet completed (and committed).
    pending: BTreeSet<Time>,
    /// The partitions owned by the latest planned batch.
    assignment: BTreeSet<TopicPartition>,
    /// Every change of assignment, in order.
    rebalances: Vec<Rebalance>,
    /// The offsets this member last committed successfully.
    committed: BTreeMap<TopicPartition, i64>,
}

impl GroupMember {
    /// Waits until every planned batch has completed and been committed,
    /// at most `limit`; returns whether it did.
    pub(crate) fn wait_idle(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut p = self.progress.lock().unwrap();
        while !p.pending.is_empty() {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            p = self.done.wait_timeout(p, deadline - now).unwrap().0;
        }
        true
    }

    /// Records that batch `time` was planned over `assigned`.
    pub(crate) fn planned(&self, time: Time, assigned: BTreeSet<TopicPartition>) {
        let mut p = self.progress.lock().unwrap();
        p.pending.insert(time);
        if assigned != p.assignment {
            tracing::info!(%time, assigned = ?assigned, previous = ?p.assignment, "group rebalance: the partitions this process owns changed");
            p.rebalances.push(Rebalance {
                batch_time: time,
                assigned: assigned.iter().cloned().collect(),
            });
            p.assignment = assigned;
        }
    }

    pub(crate) fn finished(&self, time: Time, committed: Option<&BTreeMap<TopicPartition, i64>>) {
        let mut p = self.progress.lock().unwrap();
        p.pending.remove(&time);
        if let Some(c) = committed {
            for (tp, &o) in c {
                p.committed.insert(tp.clone(), o);
            }
        }
        self.done.notify_all();
    }

    pub(crate) fn assignment(&self) -> Vec<TopicPartition> {
        self.progress
            .lock()
            .unwrap()
            .assignment
            .iter()
            .cloned()
            .collect()
    }

    pub(crate) fn rebalances(&self) -> Vec<Rebalance> {
        self.progress.lock().unwrap().rebalances.clone()
    }

    pub(crate) fn committed(&self) -> BTreeMap<TopicPartition, i64> {
        self.progress.lock().unwrap().committed.clone()
    }
}

/// Serves the driver consumer's pending events (the rebalance callbacks
/// run in here), then pauses every assigned partition, so the driver
/// fetches nothing (the workers read the ranges); returns the assignment.
pub(crate) fn poll_assignment(consumer: &KafkaConsumer) -> Result<Vec<TopicPartition>> {
    // Each poll serves at most one event; a handful drains what a
    // rebalance queues (revoke, assign) plus records fetched before the
    // pause, which are dropped: the driver never reads.
    for _ in 0..64 {
        match consumer.poll(Duration::ZERO) {
            None => break,
            Some(Ok(_)) => {}
            Some(Err(e)) => tracing::debug!(error = %e, "group member poll"),
        }
    }
    let tpl = consumer
        .assignment()
        .map_err(|e| kafka_error("the group assignment", e))?;
    if tpl.count() > 0 {
        if let Err(e) = consumer.pause(&tpl) {
            tracing::debug!(error = %e, "pausing the driver's assigned partitions");
        }
    }
    let mut out: Vec<TopicPartition> = tpl
        .elements()
        .iter()
        .map(|e| TopicPartition::new(e.topic(), e.partition()))
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// Commits the end of `ranges` through the member consumer.
pub(crate) fn commit_ranges(
    consumer: &KafkaConsumer,
    group: &str,
    ranges: &[OffsetRange],
) -> Result<BTreeMap<TopicPartition, i64>> {
    let offsets: BTreeMap<TopicPartition, i64> = ranges
        .iter()
        .map(|r| (r.topic_partition(), r.until_offset))
        .collect();
    if offsets.is_empty() {
        return Ok(offsets);
    }
    let tpl = commit_list(&offsets)?;
    consumer
        .commit(&tpl, CommitMode::Sync)
        .map_err(|e| kafka_error(format!("commit to group {group:?}"), e))?;
    Ok(offsets)
}
