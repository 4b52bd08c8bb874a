//! Partitions pulled a chunk at a time.
//!
//! A lazy partition is a [`Chunks`] source: each call of [`Chunks::fill`]
//! appends the next few hundred elements to a buffer. Element operators
//! (`map`, `filter`, `flat_map`, ...) wrap their parent's source and run a
//! tight, monomorphized loop over each chunk, so a chain of them costs one
//! dynamic call per operator per *chunk* rather than per element, and no
//! operator ever holds more than a chunk: nothing is materialized until a
//! shuffle, an output or a memoized stream needs the whole partition.
//!
//! [`PartitionIter`] is the element-at-a-time view of a source, handed to
//! `map_partitions` closures: its `next` is an inlined read from the current
//! chunk.

use std::sync::Arc;

/// How many elements a chunk holds.
pub(crate) const CHUNK: usize = 512;

/// A partition's elements, pulled a chunk at a time.
pub(crate) trait Chunks<T>: Send {
    /// Appends the next elements to `out`: `true` if it appended any,
    /// `false` once the partition is exhausted.
    fn fill(&mut self, out: &mut Vec<T>) -> bool;

    /// Everything that is left, as one vector (without a copy where the
    /// source owns its elements untouched).
    fn drain_all(self: Box<Self>) -> Vec<T> {
        let mut this = self;
        let mut out = Vec::new();
        while this.fill(&mut out) {}
        out
    }

    /// Everything that is left as one vector, if the source already holds
    /// it so (an owned partition): a reader then runs over it in one
    /// monomorphized loop, with no call through the chunk source per chunk.
    /// `None` for sources that compute or copy their elements.
    fn take_vec(&mut self) -> Option<Vec<T>> {
        None
    }
}

pub(crate) type BoxChunks<T> = Box<dyn Chunks<T>>;

/// The elements of an owned vector, moved out chunk by chunk.
pub(crate) struct VecChunks<T> {
    it: std::vec::IntoIter<T>,
}

impl<T> VecChunks<T> {
    pub(crate) fn new(v: Vec<T>) -> Self {
        VecChunks { it: v.into_iter() }
    }
}

impl<T: Send> Chunks<T> for VecChunks<T> {
    fn fill(&mut self, out: &mut Vec<T>) -> bool {
        let n = self.it.len().min(CHUNK);
        out.extend(self.it.by_ref().take(n));
        n > 0
    }
    fn drain_all(self: Box<Self>) -> Vec<T> {
        // Reuses the vector's buffer when nothing was taken yet.
        self.it.collect()
    }
    fn take_vec(&mut self) -> Option<Vec<T>> {
        Some(std::mem::replace(&mut self.it, Vec::new().into_iter()).collect())
    }
}

/// One partition of a shared batch, cloned chunk by chunk.
pub(crate) struct SharedChunks<T> {
    pub(crate) parts: Arc<Vec<Vec<T>>>,
    pub(crate) part: usize,
    pub(crate) pos: usize,
}

impl<T: Clone + Send + Sync> Chunks<T> for SharedChunks<T> {
    fn fill(&mut self, out: &mut Vec<T>) -> bool {
        let p = &self.parts[self.part];
        let end = (self.pos + CHUNK).min(p.len());
        out.extend_from_slice(&p[self.pos..end]);
        let any = end > self.pos;
        self.pos = end;
        any
    }
    fn drain_all(self: Box<Self>) -> Vec<T> {
        self.parts[self.part][self.pos..].to_vec()
    }
}

/// Any iterator as a chunk source.
pub(crate) struct IterChunks<I> {
    pub(crate) it: I,
}

impl<I: Iterator + Send> Chunks<I::Item> for IterChunks<I> {
    fn fill(&mut self, out: &mut Vec<I::Item>) -> bool {
        let before = out.len();
        out.reserve(CHUNK);
        // `for_each` drives the iterator by internal iteration (`try_fold`),
        // which adapters like `flat_map` run much faster than `next`.
        self.it.by_ref().take(CHUNK).for_each(|x| out.push(x));
        out.len() > before
    }
    fn drain_all(self: Box<Self>) -> Vec<I::Item> {
        self.it.collect()
    }
}

/// Shared loop of the element operators: pulls the parent's next chunk into
/// `buf` and lets `apply` move its elements into `out`, until `apply`
/// produced something or the parent is exhausted.
#[inline]
fn pull<T, U>(
    src: &mut BoxChunks<T>,
    buf: &mut Vec<T>,
    out: &mut Vec<U>,
    mut apply: impl FnMut(std::vec::Drain<'_, T>, &mut Vec<U>),
) -> bool {
    loop {
        buf.clear();
        if !src.fill(buf) {
            return false;
        }
        let before = out.len();
        apply(buf.drain(..), out);
        if out.len() > before {
            return true;
        }
    }
}

/// `map` over a chunk source.
pub(crate) struct MapChunks<T, F> {
    pub(crate) src: BoxChunks<T>,
    pub(crate) buf: Vec<T>,
    pub(crate) f: F,
}

impl<T: Send, U, F: Fn(T) -> U + Send> Chunks<U> for MapChunks<T, F> {
    fn fill(&mut self, out: &mut Vec<U>) -> bool {
        let f = &self.f;
        pull(&mut self.src, &mut self.buf, out, |d, out| {
            out.extend(d.map(f))
        })
    }
}

/// `filter` over a chunk source.
pub(crate) struct FilterChunks<T, F> {
    pub(crate) src: BoxChunks<T>,
    pub(crate) f: F,
    pub(crate) buf: Vec<T>,
}

impl<T: Send, F: Fn(&T) -> bool + Send> Chunks<T> for FilterChunks<T, F> {
    fn fill(&mut self, out: &mut Vec<T>) -> bool {
        let f = &self.f;
        pull(&mut self.src, &mut self.buf, out, |d, out| {
            out.extend(d.filter(|x| f(x)))
        })
    }
}

/// `flat_map` over a chunk source.
///
/// Each `fill` appends about [`CHUNK`] results, keeping the input element
/// whose results it stopped in and the rest of the input chunk for the
/// next call: a chunk of lines split into words stays a chunk of words,
/// small enough to stay in cache, rather than ten times a chunk.
pub(crate) struct FlatMapChunks<T, F, It> {
    src: BoxChunks<T>,
    f: F,
    buf: Vec<T>,
    pending: std::vec::IntoIter<T>,
    cur: Option<It>,
}

impl<T, F, It> FlatMapChunks<T, F, It> {
    pub(crate) fn new(src: BoxChunks<T>, f: F) -> Self {
        FlatMapChunks {
            src,
            f,
            buf: Vec::with_capacity(CHUNK),
            pending: Vec::new().into_iter(),
            cur: None,
        }
    }
}

impl<T, I, F, It> Chunks<It::Item> for FlatMapChunks<T, F, It>
where
    T: Send,
    I: IntoIterator<IntoIter = It>,
    It: Iterator + Send,
    F: Fn(T) -> I + Send,
{
    fn fill(&mut self, out: &mut Vec<It::Item>) -> bool {
        let before = out.len();
        loop {
            if let Some(it) = &mut self.cur {
                for x in it.by_ref() {
                    out.push(x);
                    if out.len() - before >= CHUNK {
                        return true;
                    }
                }
                self.cur = None;
            }
            match self.pending.next() {
                Some(x) => self.cur = Some((self.f)(x).into_iter()),
                None => {
                    if self.buf.capacity() == 0 {
                        self.buf.reserve(CHUNK);
                    }
                    if !self.src.fill(&mut self.buf) {
                        return out.len() > before;
                    }
                    self.pending = std::mem::take(&mut self.buf).into_iter();
                }
            }
        }
    }
}

/// An iterator over one partition's elements, handed to
/// [`DStream::map_partitions`](crate::DStream::map_partitions) and friends.
///
/// It reads the partition a chunk at a time: `next` is an inlined read from
/// the current chunk, so a closure like `|it| it.map(f).filter(g)` runs as a
/// monomorphized loop.
///
/// ```
/// use streaming_core::PartitionIter;
/// let it = PartitionIter::new((1..=3).map(|x| x * 2));
/// assert_eq!(it.collect::<Vec<_>>(), vec![2, 4, 6]);
/// ```
pub struct PartitionIter<T> {
    cur: std::vec::IntoIter<T>,
    src: Option<BoxChunks<T>>,
}

impl<T: Send + 'static> PartitionIter<T> {
    /// An iterator over the elements of `iter`.
    pub fn new(iter: impl Iterator<Item = T> + Send + 'static) -> Self {
        Self::from_chunks(Box::new(IterChunks { it: iter }))
    }

    /// An iterator over the elements of `v`.
    pub fn from_vec(v: Vec<T>) -> Self {
        PartitionIter {
            cur: v.into_iter(),
            src: None,
        }
    }

    /// An iterator over nothing.
    pub fn empty() -> Self {
        Self::from_vec(Vec::new())
    }

    /// An iterator over a chunk source: over its whole vector at once when
    /// the source holds one ([`Chunks::take_vec`]), else a chunk at a time.
    pub(crate) fn from_chunks(mut src: BoxChunks<T>) -> Self {
        if let Some(v) = src.take_vec() {
            return Self::from_vec(v);
        }
        PartitionIter {
            cur: Vec::new().into_iter(),
            src: Some(src),
        }
    }

    /// Loads the next chunk; `false` when exhausted.
    #[cold]
    fn refill(&mut self) -> bool {
        let Some(src) = self.src.as_mut() else {
            return false;
        };
        let mut v = Vec::with_capacity(CHUNK);
        if src.fill(&mut v) {
            self.cur = v.into_iter();
            true
        } else {
            self.src = None;
            false
        }
    }
}

impl<T: Send + 'static> Iterator for PartitionIter<T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        loop {
            if let Some(x) = self.cur.next() {
                return Some(x);
            }
            if !self.refill() {
                return None;
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.cur.len();
        if self.src.is_some() {
            (n, None)
        } else {
            (n, Some(n))
        }
    }

    fn fold<B, G: FnMut(B, T) -> B>(mut self, init: B, mut g: G) -> B {
        let mut acc = std::mem::take(&mut self.cur).fold(init, &mut g);
        if let Some(mut src) = self.src.take() {
            let mut v = Vec::with_capacity(CHUNK);
            while src.fill(&mut v) {
                acc = v.drain(..).fold(acc, &mut g);
            }
        }
        acc
    }
}

impl<T: Send + 'static> Chunks<T> for PartitionIter<T> {
    fn fill(&mut self, out: &mut Vec<T>) -> bool {
        let n = self.cur.len().min(CHUNK);
        if n > 0 {
            out.extend(self.cur.by_ref().take(n));
            return true;
        }
        match self.src.as_mut() {
            Some(src) => src.fill(out),
            None => false,
        }
    }
    fn drain_all(self: Box<Self>) -> Vec<T> {
        let this = *self;
        let mut out: Vec<T> = this.cur.collect();
        if let Some(src) = this.src {
            if out.is_empty() {
                return src.drain_all();
            }
            out.extend(src.drain_all());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader of an owned partition takes its whole vector at once (its
    /// length is then exact: no chunk source is left behind it); a computed
    /// source is read a chunk at a time.
    #[test]
    fn an_owned_partition_is_read_as_one_vector_and_a_computed_one_by_chunks() {
        let owned: PartitionIter<u64> =
            PartitionIter::from_chunks(Box::new(VecChunks::new((0..2000).collect())));
        assert_eq!(owned.size_hint(), (2000, Some(2000)));
        assert_eq!(owned.sum::<u64>(), (0..2000u64).sum::<u64>());
        let computed: PartitionIter<u64> =
            PartitionIter::from_chunks(Box::new(IterChunks { it: 0..2000u64 }));
        assert_eq!(computed.size_hint(), (0, None));
        assert_eq!(computed.sum::<u64>(), (0..2000u64).sum::<u64>());
    }
}
