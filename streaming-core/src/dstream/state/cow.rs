//! Copy-on-write sharded maps: keyed state that a checkpoint captures in
//! O(shards), without copying or encoding a single entry on the executor.
//!
//! A [`CowMap`] is [`SHARDS`] hash tables, each behind an `Arc`. Capturing
//! it ([`CowMap::capture`]) clones the `Arc`s; the capture is encoded later,
//! on the checkpoint writer thread. A batch that changes a shard the capture
//! still holds copies that shard first (`Arc::make_mut`): at most once per
//! shard and capture, and only while the writer has not finished with it.
//! Sharding also bounds the cost of a table's growth: a resize rehashes one
//! shard, never the whole state.
//!
//! Keys are hashed once per access by the caller ([`hash_key`], the
//! shuffles' fixed-seed FxHash) and the hash chooses the shard and the slot.
//! A captured map serializes exactly as a `FxHashMap<K, V>` does (a map of
//! its entries), so snapshots keep their encoding.
//!
//! A map can also journal its changes ([`CowMap::begin`]): each change
//! first records what it replaces (the entry, or the whole shard for a
//! [`rebuild`](CowMap::rebuild)), so that a batch that fails half way
//! through can be undone ([`CowMap::rollback`]) and the state is exactly
//! what it was before that batch. The journal costs a clone of each entry
//! a batch changes, never a copy of the map.

use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

use hashbrown::hash_table::{Entry, HashTable};
use rustc_hash::FxBuildHasher;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::batch::{Data, Key};

/// Shards per map.
pub(crate) const SHARDS: usize = 64;

/// The hash of a key: the one the shuffles use.
#[inline]
pub(crate) fn hash_key<K: Hash + ?Sized>(k: &K) -> u64 {
    FxBuildHasher.hash_one(k)
}

/// The shard of a hash: bits 25..31, which neither the table's slot index
/// (low bits, for tables under 32 M entries), its control tag (top 7 bits)
/// nor the partition (the top of bits 25..57) depend on.
#[inline]
fn shard_of(h: u64) -> usize {
    ((h >> 25) as usize) & (SHARDS - 1)
}

type Table<K, V> = HashTable<(K, V)>;

/// Where an entry of a [`CowMap`] is: its shard and its slot there, valid
/// until the map next changes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slot {
    shard: usize,
    index: usize,
}

/// A map of keyed state, sharded into copy-on-write tables.
pub(crate) struct CowMap<K, V> {
    shards: Vec<Arc<Table<K, V>>>,
    len: usize,
    /// What the changes since [`begin`](Self::begin) replaced, if
    /// journaling.
    journal: Option<Journal<K, V>>,
    /// The last journal's vector, emptied, kept for the next (so a batch
    /// does not allocate its journal anew).
    spare: Vec<Undo<K, V>>,
}

/// The undo journal of a [`CowMap`]: its length when the journal began and
/// what each change replaced, oldest first.
struct Journal<K, V> {
    len: usize,
    undo: Vec<Undo<K, V>>,
}

/// What one change replaced.
enum Undo<K, V> {
    /// The entry of `key` (hash `h`): its value, or `None` if it was absent.
    Entry { h: u64, key: K, old: Option<V> },
    /// A whole shard (before a rebuild).
    Shard {
        index: usize,
        table: Arc<Table<K, V>>,
    },
}

impl<K: Key, V: Data> Default for CowMap<K, V> {
    fn default() -> Self {
        CowMap {
            shards: (0..SHARDS).map(|_| Arc::new(HashTable::new())).collect(),
            len: 0,
            journal: None,
            spare: Vec::new(),
        }
    }
}

impl<K: Key, V: Data> FromIterator<(K, V)> for CowMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut m = CowMap::default();
        for (k, v) in iter {
            m.insert(hash_key(&k), k, v);
        }
        m
    }
}

impl<K: Key, V: Data> CowMap<K, V> {
    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The shard of `h`, copied first if a capture still shares it.
    #[inline]
    fn shard_mut(&mut self, h: u64) -> &mut Table<K, V> {
        Arc::make_mut(&mut self.shards[shard_of(h)])
    }

    /// The value of `k`, whose hash is `h`.
    #[inline]
    pub(crate) fn get(&self, h: u64, k: &K) -> Option<&V> {
        self.shards[shard_of(h)]
            .find(h, |(q, _)| q == k)
            .map(|(_, v)| v)
    }

    /// Inserts `k` (hash `h`), returning its previous value.
    #[inline]
    pub(crate) fn insert(&mut self, h: u64, k: K, v: V) -> Option<V> {
        let shard = Arc::make_mut(&mut self.shards[shard_of(h)]);
        match shard.entry(h, |(q, _)| *q == k, |(q, _)| hash_key(q)) {
            Entry::Occupied(mut e) => {
                if let Some(j) = &mut self.journal {
                    let (key, old) = e.get();
                    j.entry(h, key.clone(), Some(old.clone()));
                }
                Some(std::mem::replace(&mut e.get_mut().1, v))
            }
            Entry::Vacant(e) => {
                if let Some(j) = &mut self.journal {
                    j.entry(h, k.clone(), None);
                }
                e.insert((k, v));
                self.len += 1;
                None
            }
        }
    }

    /// Removes `k` (hash `h`), returning its entry.
    #[inline]
    pub(crate) fn remove(&mut self, h: u64, k: &K) -> Option<(K, V)> {
        // Absent: no need to copy a shared shard.
        self.shards[shard_of(h)].find(h, |(q, _)| q == k)?;
        let shard = self.shard_mut(h);
        let (entry, _) = shard.find_entry(h, |(q, _)| q == k).ok()?.remove();
        self.len -= 1;
        if let Some(j) = &mut self.journal {
            j.entry(h, entry.0.clone(), Some(entry.1.clone()));
        }
        Some(entry)
    }

    /// The slot and value of `k` (hash `h`), for a change planned now and
    /// made later by [`apply`](Self::apply) (reading first and writing
    /// after, a batch that fails while it plans leaves the map untouched,
    /// with no journal). The shard of a present key is made unshared first
    /// (once: `unique` holds a bit per shard already made so); an absent
    /// key copies nothing.
    #[inline]
    pub(crate) fn find_slot(&mut self, h: u64, k: &K, unique: &mut u64) -> Option<(Slot, &V)> {
        let shard = shard_of(h);
        let bit = 1u64 << shard;
        if *unique & bit == 0 {
            self.shards[shard].find(h, |(q, _)| q == k)?;
            Arc::make_mut(&mut self.shards[shard]);
            *unique |= bit;
        }
        let table = &self.shards[shard];
        let index = table.find_bucket_index(h, |(q, _)| q == k)?;
        let (_, v) = table.get_bucket(index)?;
        Some((Slot { shard, index }, v))
    }

    /// Makes the changes planned with [`find_slot`](Self::find_slot) since
    /// the map last changed (with the same `unique`): each slot's new
    /// value, or its removal (`None`), then the new entries. Runs no
    /// function of the caller's, so it cannot fail half way.
    pub(crate) fn apply(
        &mut self,
        unique: u64,
        changes: impl IntoIterator<Item = (Slot, Option<V>)>,
        inserts: impl IntoIterator<Item = (u64, K, V)>,
    ) {
        // Slots first: removing an entry moves no other, inserting may
        // (when the table grows).
        let mut tables: Vec<Option<&mut Table<K, V>>> = self
            .shards
            .iter_mut()
            .enumerate()
            .map(|(i, shard)| (unique & (1u64 << i) != 0).then(|| Arc::make_mut(shard)))
            .collect();
        let mut removed = 0;
        for (slot, value) in changes {
            let table = tables[slot.shard]
                .as_deref_mut()
                .expect("a planned slot's shard was made unshared");
            match value {
                Some(v) => {
                    table
                        .get_bucket_mut(slot.index)
                        .expect("a planned slot is occupied")
                        .1 = v
                }
                None => {
                    let Ok(entry) = table.get_bucket_entry(slot.index) else {
                        unreachable!("a planned slot is occupied");
                    };
                    entry.remove();
                    removed += 1;
                }
            }
        }
        self.len -= removed;
        for (h, k, v) in inserts {
            Arc::make_mut(&mut self.shards[shard_of(h)])
                .insert_unique(h, (k, v), |(q, _)| hash_key(q));
            self.len += 1;
        }
    }

    /// Every entry, shard by shard.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &(K, V)> + '_ {
        self.shards.iter().flat_map(|s| s.iter())
    }

    /// Rebuilds every entry through `f(key, value) -> Option<value>` (in
    /// shard order; `None` removes the entry). A shard a capture still
    /// shares is read by reference and cloned entry by entry; one held
    /// alone is consumed.
    pub(crate) fn rebuild(&mut self, mut f: impl FnMut(u64, &K, V) -> Option<V>) {
        let mut len = 0;
        for (index, shard) in self.shards.iter_mut().enumerate() {
            if let Some(j) = &mut self.journal {
                // Kept whole (so the rebuild below reads it as shared).
                j.undo.push(Undo::Shard {
                    index,
                    table: shard.clone(),
                });
            }
            let mut next: Table<K, V> = HashTable::with_capacity(shard.len());
            let mut put = |h: u64, k: K, v: V| {
                next.insert_unique(h, (k, v), |(q, _)| hash_key(q));
            };
            match Arc::get_mut(shard) {
                Some(own) => {
                    for (k, v) in std::mem::take(own) {
                        let h = hash_key(&k);
                        if let Some(v) = f(h, &k, v) {
                            put(h, k, v);
                        }
                    }
                }
                None => {
                    for (k, v) in shard.iter() {
                        let h = hash_key(k);
                        if let Some(v) = f(h, k, v.clone()) {
                            put(h, k.clone(), v);
                        }
                    }
                }
            }
            len += next.len();
            *shard = Arc::new(next);
        }
        self.len = len;
    }

    /// An immutable view of the map as it is now, in O([`SHARDS`]): the
    /// map's later changes copy the shards they touch instead of changing
    /// the view.
    pub(crate) fn capture(&self) -> Frozen<K, V> {
        Frozen {
            shards: self.shards.clone(),
            len: self.len,
        }
    }

    /// Starts journaling changes (replacing any journal in progress), so
    /// that [`rollback`](Self::rollback) can undo them.
    pub(crate) fn begin(&mut self) {
        let mut undo = std::mem::take(&mut self.spare);
        undo.clear();
        self.journal = Some(Journal {
            len: self.len,
            undo,
        });
    }

    /// Keeps the changes since [`begin`](Self::begin) and stops journaling.
    pub(crate) fn commit(&mut self) {
        if let Some(journal) = self.journal.take() {
            let mut undo = journal.undo;
            undo.clear();
            self.spare = undo;
        }
    }

    /// Undoes every change since [`begin`](Self::begin), newest first, and
    /// stops journaling: the map is again exactly what it was then.
    pub(crate) fn rollback(&mut self) {
        let Some(journal) = self.journal.take() else {
            return;
        };
        let mut entries = journal.undo;
        for undo in entries.drain(..).rev() {
            match undo {
                Undo::Shard { index, table } => self.shards[index] = table,
                Undo::Entry { h, key, old } => {
                    let shard = self.shard_mut(h);
                    if let Ok(e) = shard.find_entry(h, |(q, _)| *q == key) {
                        e.remove();
                    }
                    if let Some(v) = old {
                        shard.insert_unique(h, (key, v), |(q, _)| hash_key(q));
                    }
                }
            }
        }
        self.len = journal.len;
        self.spare = entries;
    }
}

impl<K, V> Journal<K, V> {
    #[inline]
    fn entry(&mut self, h: u64, key: K, old: Option<V>) {
        self.undo.push(Undo::Entry { h, key, old });
    }
}

/// A captured [`CowMap`]: immutable, shared with the map until the map
/// changes a shard, and serialized as a map of its entries.
pub(crate) struct Frozen<K, V> {
    shards: Vec<Arc<Table<K, V>>>,
    len: usize,
}

impl<K, V> Clone for Frozen<K, V> {
    fn clone(&self) -> Self {
        Frozen {
            shards: self.shards.clone(),
            len: self.len,
        }
    }
}

impl<K, V> Frozen<K, V> {
    /// Every entry, shard by shard.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &(K, V)> + '_ {
        self.shards.iter().flat_map(|s| s.iter())
    }
}

impl<K: Data, V: Data> Frozen<K, V> {
    /// Every entry through `f` (one shard at a time), for a lazy output
    /// that shares the map's entries instead of copying them: `f` clones
    /// what the output needs of each entry as it is read.
    pub(crate) fn into_mapped_iter<U: Send + 'static>(
        self,
        f: impl Fn(&(K, V)) -> U + Send + 'static,
    ) -> impl Iterator<Item = U> + Send + 'static {
        let shards = self.shards;
        (0..shards.len()).flat_map(move |i| shards[i].iter().map(&f).collect::<Vec<_>>())
    }
}

impl<K: Serialize, V: Serialize> Serialize for Frozen<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustc_hash::FxHashMap;

    #[test]
    fn a_capture_keeps_its_contents_while_the_map_changes() {
        let mut m: CowMap<u64, u64> = (0..1000).map(|k| (k, k)).collect();
        let frozen = m.capture();
        for k in 0..500 {
            let v = m.get(hash_key(&k), &k).copied().unwrap();
            m.insert(hash_key(&k), k, v + 1);
        }
        assert!(m.remove(hash_key(&999), &999).is_some());
        m.insert(hash_key(&5000), 5000, 1);
        let seen: FxHashMap<u64, u64> = frozen.iter().copied().collect();
        assert_eq!(seen.len(), 1000);
        assert!(seen.iter().all(|(k, v)| k == v));
        assert_eq!(m.len(), 1000);
        assert_eq!(m.get(hash_key(&10), &10), Some(&11));
        assert_eq!(m.get(hash_key(&999), &999), None);
    }

    #[test]
    fn a_frozen_map_encodes_as_a_hash_map_does() {
        let m: CowMap<String, u32> = (0..50).map(|k| (format!("k{k}"), k)).collect();
        let bytes = postcard::to_stdvec(&m.capture()).unwrap();
        let back: FxHashMap<String, u32> = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back.len(), 50);
        assert_eq!(back["k7"], 7);
    }

    fn contents(m: &CowMap<u64, u64>) -> Vec<(u64, u64)> {
        let mut v: Vec<(u64, u64)> = m.iter().copied().collect();
        v.sort();
        v
    }

    #[test]
    fn rollback_undoes_every_kind_of_change_since_begin_and_commit_keeps_them() {
        let mut m: CowMap<u64, u64> = (0..500).map(|k| (k, k)).collect();
        let frozen = m.capture();
        m.begin();
        let before = contents(&m);
        for k in (0..600).step_by(7) {
            let v = m.get(hash_key(&k), &k).copied().unwrap_or(0);
            m.insert(hash_key(&k), k, v + 1);
        }
        m.rebuild(|_, k, v| (k % 5 != 0).then_some(v * 3));
        for k in (0..700).step_by(11) {
            m.insert(hash_key(&k), k, 42);
            m.remove(hash_key(&(k + 1)), &(k + 1));
        }
        m.remove(hash_key(&3), &3);
        assert_ne!(contents(&m), before);
        m.rollback();
        assert_eq!(contents(&m), before);
        assert_eq!(m.len(), 500);
        assert_eq!(frozen.iter().count(), 500);
        // Nothing is journaled any more; a committed batch stays.
        m.begin();
        m.insert(hash_key(&1000), 1000, 1);
        m.commit();
        m.rollback();
        assert_eq!(m.get(hash_key(&1000), &1000), Some(&1));
        assert_eq!(m.len(), 501);
    }

    #[test]
    fn planned_changes_touch_nothing_until_applied_and_spare_a_capture() {
        let mut m: CowMap<u64, u64> = (0..2000).map(|k| (k, k)).collect();
        let frozen = m.capture();
        let before = contents(&m);
        // Plan: every third key gains 1000, every fifth goes, keys from
        // 2000 on come in (growing the shards they land in).
        let mut unique = 0;
        let (mut changes, mut inserts) = (Vec::new(), Vec::new());
        for k in 0..3000u64 {
            let h = hash_key(&k);
            match m.find_slot(h, &k, &mut unique) {
                Some((slot, v)) if k % 5 == 0 => {
                    assert_eq!(*v, k);
                    changes.push((slot, None));
                }
                Some((slot, v)) if k % 3 == 0 => changes.push((slot, Some(v + 1000))),
                Some(_) => {}
                None => inserts.push((h, k, 7)),
            }
        }
        assert_eq!(contents(&m), before, "planning changes nothing");
        m.apply(unique, changes, inserts);
        let expected: Vec<(u64, u64)> = (0..3000u64)
            .filter(|k| *k >= 2000 || k % 5 != 0)
            .map(|k| match k {
                k if k >= 2000 => (k, 7),
                k if k % 3 == 0 => (k, k + 1000),
                k => (k, k),
            })
            .collect();
        assert_eq!(contents(&m), expected);
        assert_eq!(m.len(), expected.len());
        assert_eq!(frozen.iter().count(), 2000);
        assert!(frozen.iter().all(|(k, v)| k == v));
    }

    #[test]
    fn rebuild_visits_every_entry_once_shared_or_not() {
        let mut m: CowMap<u64, u64> = (0..300).map(|k| (k, k)).collect();
        let frozen = m.capture();
        m.rebuild(|_, k, v| (k % 3 != 0).then_some(v * 2));
        assert_eq!(m.len(), 200);
        assert_eq!(m.get(hash_key(&4), &4), Some(&8));
        assert_eq!(frozen.iter().count(), 300);
        m.rebuild(|_, _, v| Some(v + 1));
        assert_eq!(m.get(hash_key(&4), &4), Some(&9));
    }
}
