//! The generic operator shapes every DStream operation is built from:
//! narrow (per-partition iterator transforms, fused lazily), batch (a
//! function of the parent's whole batch: shuffles, aggregations), binary
//! (two parents: joins, `transform_with`) and union.

use std::sync::Arc;

use super::env::Env;
use super::node::{missing_parent, Node, Operator};
use crate::batch::chunks::BoxChunks;
use crate::batch::{Batch, Data, Lazy};
use crate::error::Result;
use crate::time::Time;

pub(crate) type ChunkFn<T, U> = Arc<dyn Fn(usize, BoxChunks<T>) -> BoxChunks<U> + Send + Sync>;

/// A narrow operator: wraps each partition's chunk source of its parent. No
/// data is materialized, so consecutive narrow operators run as one pass.
pub(crate) struct NarrowOp<T, U> {
    pub(crate) parent: Arc<Node<T>>,
    pub(crate) f: ChunkFn<T, U>,
}

impl<T: Data, U: Data> Operator<U> for NarrowOp<T, U> {
    fn compute(&self, time: Time, env: &Env) -> Result<Option<Lazy<U>>> {
        let f = self.f.clone();
        Ok(self
            .parent
            .get_lazy(time, env)?
            .map(|l| l.map_chunks(move |i, src| f(i, src))))
    }
}

pub(crate) type BatchFn<T, U> = Arc<dyn Fn(Lazy<T>, Time, &Env) -> Result<Batch<U>> + Send + Sync>;

/// An operator computing its batch from the parent's whole batch (a
/// shuffle or an aggregation): a stage boundary.
pub(crate) struct BatchOp<T, U> {
    pub(crate) parent: Arc<Node<T>>,
    pub(crate) f: BatchFn<T, U>,
}

impl<T: Data, U: Data> Operator<U> for BatchOp<T, U> {
    fn compute(&self, time: Time, env: &Env) -> Result<Option<Lazy<U>>> {
        match self.parent.get_lazy(time, env)? {
            Some(l) => Ok(Some(Lazy::from_owned((self.f)(l, time, env)?))),
            None => Ok(None),
        }
    }
}

pub(crate) type BinaryFn<A, B, U> =
    Arc<dyn Fn(Lazy<A>, Lazy<B>, Time, &Env) -> Result<Batch<U>> + Send + Sync>;

/// An operator of two parents, both of which must produce a batch.
pub(crate) struct BinaryOp<A, B, U> {
    pub(crate) name: &'static str,
    pub(crate) left: Arc<Node<A>>,
    pub(crate) right: Arc<Node<B>>,
    pub(crate) f: BinaryFn<A, B, U>,
}

impl<A: Data, B: Data, U: Data> Operator<U> for BinaryOp<A, B, U> {
    fn compute(&self, time: Time, env: &Env) -> Result<Option<Lazy<U>>> {
        let l = self
            .left
            .get_lazy(time, env)?
            .ok_or_else(|| missing_parent(self.name, time, 0))?;
        let r = self
            .right
            .get_lazy(time, env)?
            .ok_or_else(|| missing_parent(self.name, time, 1))?;
        Ok(Some(Lazy::from_owned((self.f)(l, r, time, env)?)))
    }
}

/// The union of several parents: their partitions side by side, lazily.
pub(crate) struct UnionOp<T> {
    pub(crate) parents: Vec<Arc<Node<T>>>,
}

impl<T: Data> Operator<T> for UnionOp<T> {
    fn compute(&self, time: Time, env: &Env) -> Result<Option<Lazy<T>>> {
        let mut lazies = Vec::with_capacity(self.parents.len());
        for (i, p) in self.parents.iter().enumerate() {
            lazies.push(
                p.get_lazy(time, env)?
                    .ok_or_else(|| missing_parent("union", time, i))?,
            );
        }
        // Partition i of the union is partition (i - offset) of the parent
        // whose range holds i.
        let mut ranges = Vec::with_capacity(lazies.len());
        let mut total = 0;
        for l in &lazies {
            use crate::batch::Partitioned;
            ranges.push(total);
            total += l.num_partitions();
        }
        Ok(Some(Lazy::from_chunks(total, move |i| {
            let j = ranges.partition_point(|&start| start <= i) - 1;
            lazies[j].chunks(i - ranges[j])
        })))
    }
}

/// Spark's `transform`: a function of the parent's whole, materialized
/// batch and the batch time.
pub(crate) struct TransformOp<T, U> {
    pub(crate) parent: Arc<Node<T>>,
    pub(crate) f: Arc<dyn Fn(Batch<T>, Time) -> Batch<U> + Send + Sync>,
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
