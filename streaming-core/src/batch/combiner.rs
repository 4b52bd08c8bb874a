//! [`Combiner`]: one input partition's map-side combine tables, filled
//! element by element by a function of the caller's (what `stream!` fuses
//! a chain of narrow operators into), and [`KeyRef`]: keys that stay
//! borrowed until they first enter a table.
//!
//! A shuffle's map side keeps, per input partition, one hash table per
//! output partition. Spark's `combineByKey` fills them from key-value
//! elements; a `Combiner` lets the caller fill them directly, so a chain
//! like `flat_map(split) → map(to pair) → reduce_by_key` runs as one loop
//! per partition with no intermediate element, and a key borrowed from the
//! input (a `&str` word of a line) is turned into an owned key (`String`)
//! once per distinct key and partition, not once per occurrence.

use std::any::TypeId;
use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};

use hashbrown::hash_table;
use rustc_hash::FxBuildHasher;

use super::shuffle::{bucket_of, merge_into, Table};
use super::Key;

/// The map-side combine tables of one input partition (one per output
/// partition), given to the function of
/// [`DStream::combine_into_by_key`](crate::DStream::combine_into_by_key)
/// for every element.
///
/// ```
/// use streaming_core::Combiner;
/// let mut c: Combiner<String, u64> = Combiner::new(2);
/// for word in "a b a".split(' ') {
///     // `word` is a `&str`; it becomes a `String` only for `a` and `b`.
///     c.insert_ref(word, 1u64, |v| v, |acc, v| acc + v);
/// }
/// let mut counts = c.into_pairs();
/// counts.sort();
/// assert_eq!(counts, vec![("a".to_string(), 2), ("b".to_string(), 1)]);
/// ```
pub struct Combiner<K, C> {
    tables: Vec<Table<K, C>>,
}

impl<K: Key, C> Combiner<K, C> {
    /// Empty tables for `n` output partitions (at least one).
    pub fn new(n: usize) -> Self {
        Combiner {
            tables: (0..n.max(1)).map(|_| Table::default()).collect(),
        }
    }

    /// [`new`](Self::new) with each table sized for `capacity` keys.
    pub(crate) fn with_capacity(n: usize, capacity: usize) -> Self {
        Combiner {
            tables: (0..n.max(1))
                .map(|_| Table::with_capacity(capacity))
                .collect(),
        }
    }

    /// Adds `value` under the owned `key`: `create(value)` if the key is
    /// new in this partition, `merge(combiner, value)` otherwise.
    #[inline]
    pub fn insert<V>(
        &mut self,
        key: K,
        value: V,
        create: impl FnOnce(V) -> C,
        merge: impl FnOnce(C, V) -> C,
    ) {
        let h = FxBuildHasher.hash_one(&key);
        let n = self.tables.len();
        match self.tables[bucket_of(h, n)].entry(h, |e| e.1 == key, |e| e.0) {
            hash_table::Entry::Occupied(mut e) => {
                merge_into(&mut e.get_mut().2, |c| merge(c, value))
            }
            hash_table::Entry::Vacant(e) => {
                e.insert((h, key, Some(create(value))));
            }
        }
    }

    /// Adds `value` under a key that may be borrowed (see [`KeyRef`]): it
    /// is hashed and compared as it is, and made owned only if it is new in
    /// this partition.
    #[inline]
    pub fn insert_ref<R, V>(
        &mut self,
        key: R,
        value: V,
        create: impl FnOnce(V) -> C,
        merge: impl FnOnce(C, V) -> C,
    ) where
        R: KeyRef<Owned = K>,
    {
        let h = FxBuildHasher.hash_one(&key);
        let n = self.tables.len();
        match self.tables[bucket_of(h, n)].entry(h, |e| key.matches(&e.1), |e| e.0) {
            hash_table::Entry::Occupied(mut e) => {
                merge_into(&mut e.get_mut().2, |c| merge(c, value))
            }
            hash_table::Entry::Vacant(e) => {
                e.insert((h, key.into_owned_key(), Some(create(value))));
            }
        }
    }

    /// Every `(key, combiner)`, output partition after output partition.
    pub fn into_pairs(self) -> Vec<(K, C)> {
        self.tables
            .into_iter()
            .flat_map(|t| t.into_iter())
            .map(|(_, k, c)| (k, c.expect("combiner slot filled")))
            .collect()
    }

    pub(crate) fn into_tables(self) -> Vec<Table<K, C>> {
        self.tables
    }
}

/// A key as a fused chain produces it, possibly borrowed from the input:
/// hashed and compared as it is, made [`Owned`](KeyRef::Owned) only when it
/// first enters a [`Combiner`]'s table.
///
/// Implemented for references `&Q` whose owned form is `Q::Owned` (`&str`
/// → `String`, `&[u8]` → `Vec<u8>`, `&T` → `T` for `T: Clone`), for the
/// primitive types, `String` and `()` (their own owned form), and for pairs
/// and triples of those. `Hash` must agree with the owned form's, as
/// [`Borrow`] requires.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a key of a borrowing chain",
    label = "a key here must be a reference (`&str`, `&T`), a primitive, a `String`, or a tuple of those",
    note = "in `stream!`, a chain whose first closure takes its element by reference (`|line: &str|`) produces keys that become owned when they first enter the combine table; take the element by value (`|line: String|`) to use other key types"
)]
pub trait KeyRef: Hash {
    /// The key as stored in the table and in the output.
    type Owned: Key;
    /// Whether this is `owned`.
    fn matches(&self, owned: &Self::Owned) -> bool;
    /// The owned key.
    fn into_owned_key(self) -> Self::Owned;
}

impl<Q> KeyRef for &Q
where
    Q: ?Sized + Hash + Eq + ToOwned + 'static,
    Q::Owned: Key + Borrow<Q>,
{
    type Owned = Q::Owned;
    #[inline]
    fn matches(&self, owned: &Q::Owned) -> bool {
        let stored: &Q = owned.borrow();
        if TypeId::of::<Q>() == TypeId::of::<str>() {
            // SAFETY: `Q` is `str`, so both references are `&str`, of the
            // same layout as `&Q`.
            let (a, b) = unsafe {
                (
                    std::mem::transmute_copy::<&Q, &str>(self),
                    std::mem::transmute_copy::<&Q, &str>(&stored),
                )
            };
            return short_bytes_eq(a.as_bytes(), b.as_bytes());
        }
        stored == *self
    }
    #[inline]
    fn into_owned_key(self) -> Q::Owned {
        self.to_owned()
    }
}

/// Byte-string equality with the short cases (most words) inline: up to
/// 16 bytes compare as two overlapping words, with no call to `memcmp`
/// (which a word count's combine otherwise makes once per word).
#[inline(always)]
fn short_bytes_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| u64::from_ne_bytes(s[at..at + 8].try_into().unwrap());
    let half = |s: &[u8], at: usize| u32::from_ne_bytes(s[at..at + 4].try_into().unwrap());
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

macro_rules! owned_keys {
    ($($t:ty),*) => {$(
        impl KeyRef for $t {
            type Owned = $t;
            #[inline]
            fn matches(&self, owned: &$t) -> bool {
                self == owned
            }
            #[inline]
            fn into_owned_key(self) -> $t {
                self
            }
        }
    )*};
}

owned_keys!(
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    bool,
    char,
    (),
    String
);

impl<A: KeyRef, B: KeyRef> KeyRef for (A, B) {
    type Owned = (A::Owned, B::Owned);
    #[inline]
    fn matches(&self, owned: &Self::Owned) -> bool {
        self.0.matches(&owned.0) && self.1.matches(&owned.1)
    }
    #[inline]
    fn into_owned_key(self) -> Self::Owned {
        (self.0.into_owned_key(), self.1.into_owned_key())
    }
}

impl<A: KeyRef, B: KeyRef, D: KeyRef> KeyRef for (A, B, D) {
    type Owned = (A::Owned, B::Owned, D::Owned);
    #[inline]
    fn matches(&self, owned: &Self::Owned) -> bool {
        self.0.matches(&owned.0) && self.1.matches(&owned.1) && self.2.matches(&owned.2)
    }
    #[inline]
    fn into_owned_key(self) -> Self::Owned {
        (
            self.0.into_owned_key(),
            self.1.into_owned_key(),
            self.2.into_owned_key(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_byte_strings_compare_as_slices_do() {
        let pool: Vec<Vec<u8>> = (0..=40usize)
            .flat_map(|n| {
                let base: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
                // The string itself and one differing at each position.
                let mut variants = vec![base.clone()];
                for i in 0..n {
                    let mut v = base.clone();
                    v[i] ^= 1;
                    variants.push(v);
                }
                variants
            })
            .collect();
        for a in &pool {
            for b in &pool {
                assert_eq!(short_bytes_eq(a, b), a == b, "{a:?} {b:?}");
            }
        }
        let word: &str = "streaming";
        assert!(KeyRef::matches(&word, &"streaming".to_string()));
        assert!(!KeyRef::matches(&word, &"streamine".to_string()));
    }

    #[test]
    fn borrowed_and_owned_keys_land_in_the_same_slot() {
        let mut c: Combiner<(String, u8), u32> = Combiner::new(3);
        c.insert_ref(("x", 1u8), 1, |v| v, |a, v| a + v);
        c.insert(("x".to_string(), 1), 2, |v| v, |a, v| a + v);
        c.insert_ref((&"x".to_string(), 1u8), 4, |v| v, |a, v| a + v);
        c.insert_ref(("y", 1u8), 8, |v| v, |a, v| a + v);
        let mut pairs = c.into_pairs();
        pairs.sort();
        assert_eq!(
            pairs,
            vec![(("x".to_string(), 1), 7), (("y".to_string(), 1), 8)]
        );
    }

    #[test]
    fn keys_go_to_the_partition_every_shuffle_picks() {
        let mut c: Combiner<String, ()> = Combiner::new(4);
        let words = ["a", "bb", "ccc", "dddd", "e", "ff"];
        for w in words {
            c.insert_ref(w, (), |()| (), |(), ()| ());
        }
        for (j, table) in c.into_tables().into_iter().enumerate() {
            for (_, k, _) in table {
                assert_eq!(super::super::shuffle::partition_of(&k, 4), j);
            }
        }
    }
}
