//! Operations over several streams: union, transform, transform_with.

use std::sync::Arc;

use super::node::{missing_parent, AnyNode, Node, Operator};
use super::ops::{BinaryOp, UnionOp};
use super::DStream;
use crate::batch::{Batch, Data, Lazy};
use crate::context::env::Env;
use crate::error::{Result, StreamingError};
use crate::time::Time;

/// Panics unless every stream shares one context and one slide duration
/// (Spark's checks in `UnionDStream` and `TransformedDStream`).
pub(crate) fn check_compatible(
    operation: &str,
    streams: &[(&Arc<crate::context::ContextInner>, std::time::Duration)],
) {
    let (ctx0, slide0) = streams[0];
    for (ctx, slide) in &streams[1..] {
        if !Arc::ptr_eq(ctx0, ctx) {
            panic!(
                "{}",
                StreamingError::InvalidOperation(format!(
                    "{operation}: the streams belong to different StreamingContexts"
                ))
            );
        }
        if *slide != slide0 {
            panic!(
                "{}",
                StreamingError::InvalidOperation(format!(
                    "{operation}: the streams have different slide durations ({slide0:?} and {slide:?})"
                ))
            );
        }
    }
}

pub(crate) fn union_all<T: Data>(streams: Vec<DStream<T>>) -> DStream<T> {
    assert!(
        !streams.is_empty(),
        "{}",
        StreamingError::InvalidOperation("union of an empty list of streams".into())
    );
    let info: Vec<_> = streams
        .iter()
        .map(|s| (&s.ctx, s.slide_duration()))
        .collect();
    check_compatible("union", &info);
    let first = &streams[0];
    let parents: Vec<Arc<dyn AnyNode>> = streams.iter().map(|s| s.any_node()).collect();
    let op = UnionOp {
        parents: streams.iter().map(|s| s.node.clone()).collect(),
    };
    let node = first
        .ctx
        .add_node("union", first.slide_duration(), parents, op);
    DStream::from_node(node, first.ctx.clone())
}

struct TransformOp<T, U> {
    parent: Arc<Node<T>>,
    f: Arc<dyn Fn(Batch<T>, Time) -> Batch<U> + Send + Sync>,
}

impl<T: Data, U: Data> Operator<U> for TransformOp<T, U> {
    fn compute(&self, time: Time, env: &Env) -> Result<Option<Lazy<U>>> {
        let b = self
            .parent
            .get_batch(time, env)?
            .ok_or_else(|| missing_parent("transform", time, 0))?;
        Ok(Some(Lazy::from_owned((self.f)(b, time))))
    }
}

pub(crate) fn transform<T: Data, U: Data>(
    s: &DStream<T>,
    f: impl Fn(Batch<T>, Time) -> Batch<U> + Send + Sync + 'static,
) -> DStream<U> {
    s.derive(
        "transform",
        s.slide_duration(),
        TransformOp {
            parent: s.node.clone(),
            f: Arc::new(f),
        },
    )
}

/// Adds a node with two parents computed by `f` from both batches.
pub(crate) fn binary<A: Data, B: Data, U: Data>(
    name: &'static str,
    a: &DStream<A>,
    b: &DStream<B>,
    f: impl Fn(Lazy<A>, Lazy<B>, Time, &Env) -> Result<Batch<U>> + Send + Sync + 'static,
) -> DStream<U> {
    check_compatible(
        name,
        &[(&a.ctx, a.slide_duration()), (&b.ctx, b.slide_duration())],
    );
    let op = BinaryOp {
        name,
        left: a.node.clone(),
        right: b.node.clone(),
        f: Arc::new(f),
    };
    let node = a.ctx.add_node(
        name,
        a.slide_duration(),
        vec![a.any_node(), b.any_node()],
        op,
    );
    DStream::from_node(node, a.ctx.clone())
}

pub(crate) fn transform_with<T: Data, U: Data, V: Data>(
    a: &DStream<T>,
    b: &DStream<U>,
    f: impl Fn(Batch<T>, Batch<U>, Time) -> Batch<V> + Send + Sync + 'static,
) -> DStream<V> {
    binary("transform_with", a, b, move |l, r, time, _| {
        let (l, r) = rayon::join(|| l.materialize(), || r.materialize());
        Ok(f(l, r, time))
    })
}
