//! Offset commits ([`KafkaOffsets::commit_async`](super::KafkaOffsets::commit_async)):
//! a background thread with its own consumer in the stream's group commits
//! the offsets handed to it, merging those queued meanwhile.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer};

use super::client::{close_consumer, commit_list, create_consumer, kafka_error, KafkaConsumer};
use super::record::TopicPartition;
use super::stream::StreamInfo;
use streaming_core::{Result, StreamingError};

/// Called with the offsets committed, or why the commit failed.
pub(crate) type CommitCallback = Box<dyn FnOnce(Result<BTreeMap<TopicPartition, i64>>) + Send>;

struct Request {
    offsets: BTreeMap<TopicPartition, i64>,
    callback: Option<CommitCallback>,
}

/// What the commit thread needs from the stream.
struct CommitEnv {
    name: String,
    group: Option<String>,
    config: rdkafka::config::ClientConfig,
    stats: super::stats::KafkaStreamStats,
    report: Box<dyn Fn(String) + Send>,
}

/// The commit thread of a stream, started by the first commit.
#[derive(Default)]
pub(crate) struct Committer {
    inner: Mutex<Option<Running>>,
}

struct Running {
    tx: mpsc::Sender<Request>,
    ended: mpsc::Receiver<()>,
}

impl Committer {
    /// Queues a commit of `offsets` (the next offset to read, per partition).
    pub(crate) fn submit(
        &self,
        shared: &StreamInfo,
        offsets: BTreeMap<TopicPartition, i64>,
        callback: Option<CommitCallback>,
    ) {
        let Some(group) = shared.params.group_id.clone() else {
            let e =
                StreamingError::Config("commit_async needs the Kafka parameter group.id".into());
            shared.stats.commit_failed();
            shared.report(e.to_string());
            if let Some(cb) = callback {
                cb(Err(e));
            }
            return;
        };
        if offsets.is_empty() {
            if let Some(cb) = callback {
                cb(Ok(offsets));
            }
            return;
        }
        let mut inner = self.inner.lock().unwrap();
        if inner.is_none() {
            let (tx, rx) = mpsc::channel();
            let (ended_tx, ended) = mpsc::channel();
            // The thread must not keep the stream alive: it gets copies.
            let report_ctx = shared_reporter(shared);
            let env = CommitEnv {
                name: shared.name.clone(),
                group: Some(group.clone()),
                config: shared.params.config_with_group(&group),
                stats: shared.stats.clone(),
                report: report_ctx,
            };
            let spawned = std::thread::Builder::new()
                .name("kafka-commit".into())
                .spawn(move || {
                    commit_loop(env, rx);
                    let _ = ended_tx.send(());
                });
            if let Err(e) = spawned {
                let e = StreamingError::io("cannot start the Kafka commit thread", e);
                shared.report(e.to_string());
                if let Some(cb) = callback {
                    cb(Err(e));
                }
                return;
            }
            *inner = Some(Running { tx, ended });
        }
        let running = inner.as_ref().expect("started above");
        if let Err(mpsc::SendError(req)) = running.tx.send(Request { offsets, callback }) {
            if let Some(cb) = req.callback {
                cb(Err(kafka_error("commit", "the commit thread has stopped")));
            }
        }
    }

    /// Commits what is queued, then ends the thread (waiting at most 30 s).
    pub(crate) fn shutdown(&self) {
        let running = self.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(Running { tx, ended }) = running {
            drop(tx);
            if ended.recv_timeout(Duration::from_secs(30)).is_err() {
                tracing::warn!("the Kafka commit thread did not end in time; leaving it");
            }
        }
    }
}

/// A reporter that forwards to the stream's listeners without holding the
/// stream.
fn shared_reporter(shared: &StreamInfo) -> Box<dyn Fn(String) + Send> {
    let ctx = shared.input_context();
    let name = shared.name.clone();
    Box::new(move |message: String| match &ctx {
        Some(ctx) => ctx.report_error(message),
        None => tracing::warn!(input = %name, %message, "Kafka direct stream"),
    })
}

fn commit_loop(env: CommitEnv, rx: mpsc::Receiver<Request>) {
    let mut consumer: Option<KafkaConsumer> = None;
    while let Ok(first) = rx.recv() {
        // Merge everything queued meanwhile: the latest offset wins.
        let mut offsets = first.offsets;
        let mut callbacks: Vec<CommitCallback> = first.callback.into_iter().collect();
        while let Ok(more) = rx.try_recv() {
            for (tp, o) in more.offsets {
                offsets.insert(tp, o);
            }
            callbacks.extend(more.callback);
        }
        let result = commit_once(&env, &mut consumer, &offsets);
        match &result {
            Ok(()) => {
                env.stats.committed();
                tracing::debug!(input = %env.name, ?offsets, "offsets committed");
            }
            Err(e) => {
                env.stats.commit_failed();
                (env.report)(format!("committing offsets {offsets:?}: {e}"));
            }
        }
        for cb in callbacks {
            let r = result.clone().map(|()| offsets.clone());
            if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cb(r))) {
                tracing::error!(
                    message = streaming_core::panic_message(p.as_ref()),
                    "a commit callback panicked"
                );
            }
        }
    }
    if let Some(c) = consumer {
        close_consumer(c, &format!("{}/commit", env.name));
    }
}

fn commit_once(
    env: &CommitEnv,
    consumer: &mut Option<KafkaConsumer>,
    offsets: &BTreeMap<TopicPartition, i64>,
) -> Result<()> {
    if consumer.is_none() {
        *consumer = Some(create_consumer(
            &env.config,
            format!("{}/commit", env.name),
        )?);
    }
    let c = consumer.as_ref().expect("created above");
    let tpl = commit_list(offsets)?;
    c.commit(&tpl, CommitMode::Sync).map_err(|e| {
        kafka_error(
            format!("commit to group {:?}", env.group.as_deref().unwrap_or("")),
            e,
        )
    })
}
