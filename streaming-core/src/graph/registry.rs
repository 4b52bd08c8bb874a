//! The graph being defined: its nodes, inputs and output operations
//! ([`Registry`]), and the frozen copy a started context runs
//! ([`FrozenGraph`]).
//!
//! Streams add nodes here while the graph is open; `start` closes it, after
//! which adding anything panics (Spark throws there too).

use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

use super::env::Env;
use super::node::{AnyNode, Node, NodeMeta, Operator};
use super::source::{InputHandle, InputSource, LazyInput, SourceOp};
use crate::batch::Data;
use crate::error::{Result, StreamingError};
use crate::time::Time;

type RunFn = Box<dyn Fn(Time, &Env) -> Result<bool> + Send + Sync>;

/// A registered output operation: runs for every batch time at which its
/// stream produces a batch.
pub(crate) struct OutputOp {
    pub(crate) name: &'static str,
    pub(crate) node: Arc<dyn AnyNode>,
    /// Runs the operation for a time; `Ok(false)` when the stream produced
    /// no batch then.
    pub(crate) run: RunFn,
}

/// The operators, inputs and outputs defined so far.
#[derive(Default)]
pub(crate) struct Graph {
    next_id: usize,
    pub(crate) nodes: Vec<Arc<dyn AnyNode>>,
    pub(crate) inputs: Vec<Arc<dyn InputHandle>>,
    pub(crate) outputs: Vec<Arc<OutputOp>>,
    pub(crate) remember: Option<Duration>,
}

/// The graph as it runs: fixed at `start`.
pub(crate) struct FrozenGraph {
    pub(crate) nodes: Vec<Arc<dyn AnyNode>>,
    pub(crate) inputs: Vec<Arc<dyn InputHandle>>,
    pub(crate) outputs: Vec<Arc<OutputOp>>,
}

/// The graph of one context and the environment its operators run in.
pub(crate) struct Registry {
    env: Arc<Env>,
    batch_interval: Duration,
    graph: Mutex<Graph>,
    /// Open for definitions until the context starts (or stops).
    open: AtomicBool,
    /// The context owning this graph (type-erased: the graph knows no
    /// context), for `DStream::context`.
    owner: OnceLock<Weak<dyn Any + Send + Sync>>,
}

impl Registry {
    pub(crate) fn new(env: Arc<Env>, batch_interval: Duration) -> Self {
        Registry {
            env,
            batch_interval,
            graph: Mutex::new(Graph::default()),
            open: AtomicBool::new(true),
            owner: OnceLock::new(),
        }
    }

    /// The environment operators run in.
    pub(crate) fn env(&self) -> &Arc<Env> {
        &self.env
    }

    /// Records the context that owns this graph.
    pub(crate) fn set_owner(&self, owner: Weak<dyn Any + Send + Sync>) {
        let _ = self.owner.set(owner);
    }

    /// The owning context, if it is still alive.
    pub(crate) fn owner(&self) -> Option<Arc<dyn Any + Send + Sync>> {
        self.owner.get().and_then(Weak::upgrade)
    }

    /// Whether operations may still be added (before `start`).
    pub(crate) fn is_open(&self) -> bool {
        self.open.load(Ordering::SeqCst)
    }

    /// Closes the graph: from now on, adding an operation panics.
    pub(crate) fn close(&self) {
        self.open.store(false, Ordering::SeqCst);
    }

    /// The graph, for reading (start, recovery) or for settings that may
    /// change at any time (`remember`).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Graph> {
        self.graph.lock().unwrap()
    }

    /// Locks the graph to add an operation.
    ///
    /// # Panics
    /// If the context has started or stopped (Spark throws here too).
    fn lock_for_definition(&self) -> MutexGuard<'_, Graph> {
        if !self.is_open() {
            panic!(
                "{}",
                StreamingError::IllegalState(
                    "adding new inputs, transformations, and output operations after starting or stopping a context is not supported".into()
                )
            );
        }
        self.lock()
    }

    /// Adds a node for an operator and returns it.
    pub(crate) fn add_node<T: Data>(
        &self,
        name: &'static str,
        slide: Duration,
        parents: Vec<Arc<dyn AnyNode>>,
        op: impl Operator<T>,
    ) -> Arc<Node<T>> {
        let mut graph = self.lock_for_definition();
        let id = graph.next_id;
        graph.next_id += 1;
        let node = Arc::new(Node::new(NodeMeta::new(id, name, slide, parents), op));
        graph.nodes.push(node.clone());
        node
    }

    /// Adds an input node fed by `source`, sliding by the batch interval.
    pub(crate) fn add_input<T: Data>(
        &self,
        source: Arc<dyn InputSource<T>>,
        lazy: Option<Arc<dyn LazyInput<T>>>,
    ) -> Arc<Node<T>> {
        let mut graph = self.lock_for_definition();
        let id = graph.next_id;
        graph.next_id += 1;
        let op = SourceOp {
            stream_id: id,
            source,
            lazy,
            last_computed: Default::default(),
        };
        graph.inputs.push(Arc::new(op.clone()));
        let meta = NodeMeta::new(id, "input", self.batch_interval, Vec::new());
        let node = Arc::new(Node::new(meta, op));
        graph.nodes.push(node.clone());
        node
    }

    /// Registers an output operation.
    pub(crate) fn add_output(&self, op: OutputOp) {
        op.node.meta().add_consumer();
        self.lock_for_definition().outputs.push(Arc::new(op));
    }

    /// Checks what `start` needs, sets every node's remember duration, and
    /// returns the graph to run.
    pub(crate) fn freeze(&self) -> Result<FrozenGraph> {
        let graph = self.lock();
        if graph.outputs.is_empty() {
            return Err(StreamingError::NoOutputOperations);
        }
        if self.env.checkpoint_dir().is_none() {
            if let Some(n) = graph.nodes.iter().find(|n| n.requires_checkpoint()) {
                return Err(StreamingError::Config(format!(
                    "the checkpoint directory has not been set: {} keeps state across batches; call ssc.checkpoint(dir) before start",
                    n.meta().name
                )));
            }
        }
        for out in &graph.outputs {
            let d = graph.remember.unwrap_or(Duration::ZERO);
            propagate_remember(&out.node, d);
        }
        Ok(FrozenGraph {
            nodes: graph.nodes.clone(),
            inputs: graph.inputs.clone(),
            outputs: graph.outputs.clone(),
        })
    }
}

/// Raises `node`'s remember duration to `d` (at least its slide) and passes on
/// what its parents must then remember.
fn propagate_remember(node: &Arc<dyn AnyNode>, d: Duration) {
    let meta = node.meta();
    meta.remember_at_least(d);
    let own = meta.remember();
    let for_parents = node.parent_remember(own);
    for p in &meta.parents {
        propagate_remember(p, for_parents);
    }
}
