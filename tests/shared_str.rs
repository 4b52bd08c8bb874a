//! Differential tests of the allocation-free text path (issue #15): every
//! `SharedStr` operation against the `str` operation it stands for, and
//! every pipeline over `SharedStr` lines against the same pipeline over
//! `String` lines (the plain definition), on random text; and `flat_map`,
//! which now fills chunks of about a chunk's worth of results, against a
//! plain flatten.

use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hash, Hasher};

use proptest::prelude::*;
use streaming::prelude::*;
use streaming::testing::*;

/// Text from a small alphabet with separators, line ends, whitespace and
/// multi-byte characters, so that pieces are empty, short (inline), long
/// (shared) and cut next to multi-byte characters.
fn text() -> impl Strategy<Value = String> {
    let atoms = prop_oneof![
        Just("a".to_string()),
        Just("b".to_string()),
        Just(" ".to_string()),
        Just("  ".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just("\t".to_string()),
        Just("--".to_string()),
        Just("é".to_string()),
        Just("日本".to_string()),
        Just("\u{3000}".to_string()),
        Just("abcdefghijklmnopqrstuvwxyz".to_string()),
        Just("0123456789abcde".to_string()),
        Just("0123456789abcdef".to_string()),
    ];
    prop::collection::vec(atoms, 0..40).prop_map(|v| v.concat())
}

fn strs(v: impl Iterator<Item = SharedStr>) -> Vec<String> {
    v.map(|s| s.as_str().to_string()).collect()
}

fn std_hash<T: Hash + ?Sized>(x: &T) -> u64 {
    let mut h = DefaultHasher::new();
    x.hash(&mut h);
    h.finish()
}

/// The same text as a piece of a larger buffer (shared, at an offset) and
/// as a whole string of its own.
fn forms(t: &str) -> Vec<SharedStr> {
    let padded = format!("<{}{t}>", "x".repeat(20));
    let outer = SharedStr::from(padded);
    let inner = outer.slice(21..21 + t.len());
    vec![SharedStr::from(t), SharedStr::from(t.to_string()), inner]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn split_lines_and_whitespace_cut_as_str_does(t in text(), sep in 0usize..6) {
        for s in forms(&t) {
            prop_assert_eq!(s.as_str(), t.as_str());
            let (got, want): (Vec<String>, Vec<String>) = match sep {
                0 => (strs(s.clone().split(' ')), t.split(' ').map(String::from).collect()),
                1 => (strs(s.clone().split('é')), t.split('é').map(String::from).collect()),
                2 => (strs(s.clone().split("--")), t.split("--").map(String::from).collect()),
                3 => (strs(s.clone().split("")), t.split("").map(String::from).collect()),
                4 => (
                    strs(s.clone().split(|c: char| c == 'a' || c == '本')),
                    t.split(['a', '本']).map(String::from).collect(),
                ),
                _ => (strs(s.clone().split('\n')), t.split('\n').map(String::from).collect()),
            };
            prop_assert_eq!(got, want);
            prop_assert_eq!(
                strs(s.clone().lines()),
                t.lines().map(String::from).collect::<Vec<_>>()
            );
            prop_assert_eq!(
                strs(s.clone().split_whitespace()),
                t.split_whitespace().map(String::from).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn pieces_hash_compare_and_order_as_their_text(a in text(), b in text()) {
        let fx = rustc_hash::FxBuildHasher;
        for x in forms(&a) {
            for y in forms(&b) {
                prop_assert_eq!(x == y, a == b);
                prop_assert_eq!(x.cmp(&y), a.cmp(&b));
                prop_assert_eq!(fx.hash_one(&x), fx.hash_one(a.as_str()));
                prop_assert_eq!(std_hash(&x), std_hash(a.as_str()));
                prop_assert_eq!(format!("{x:?}"), format!("{a:?}"));
                prop_assert_eq!(x.to_string(), a.clone());
                prop_assert_eq!(String::from(x.clone()), a.clone());
            }
        }
        // Cut pieces are equal to their text whether inline or shared.
        let whole = SharedStr::from(format!("{a}|{b}"));
        let pieces: Vec<SharedStr> = whole.split('|').collect();
        let want: Vec<String> = format!("{a}|{b}").split('|').map(String::from).collect();
        prop_assert_eq!(pieces.len(), want.len());
        for (p, w) in pieces.iter().zip(&want) {
            prop_assert_eq!(p, &SharedStr::from(w.as_str()));
            prop_assert_eq!(p.compact(), p.clone());
        }
    }

    #[test]
    fn slices_are_the_str_slices(t in text(), i in 0usize..200, j in 0usize..200) {
        let (i, j) = (i.min(t.len()), j.min(t.len()));
        let (i, j) = (i.min(j), i.max(j));
        for s in forms(&t) {
            let got = std::panic::catch_unwind(|| s.slice(i..j).as_str().to_string());
            let want = t.get(i..j).map(String::from);
            prop_assert_eq!(got.ok(), want);
            let trimmed = s.slice_ref(s.trim());
            prop_assert_eq!(trimmed.as_str(), t.trim());
        }
    }

    /// The plain-API word count over `SharedStr` lines equals the same job
    /// over `String` lines, batch by batch.
    #[test]
    fn word_count_on_shared_lines_is_the_string_word_count(
        batches in prop::collection::vec(prop::collection::vec(text(), 0..12), 1..4)
    ) {
        let n = batches.len();
        let owned = run_operation(
            batches.clone(),
            |lines: DStream<String>| {
                lines
                    .flat_map(|l: String| l.split(' ').map(String::from).collect::<Vec<_>>())
                    .map(|w| (w, 1u64))
                    .reduce_by_key(|a, b| a + b)
            },
            n,
        );
        // Each batch's lines as views of one block (joined with a
        // character the text never holds).
        let shared_input: Vec<Vec<SharedStr>> = batches
            .iter()
            .map(|b| match b.is_empty() {
                true => Vec::new(),
                false => SharedStr::from(b.join("\u{1}")).split('\u{1}').collect(),
            })
            .collect();
        let shared = run_operation(
            shared_input,
            |lines: DStream<SharedStr>| {
                lines
                    .flat_map(|l: SharedStr| l.split(' '))
                    .map(|w| (w, 1u64))
                    .reduce_by_key(|a, b| a + b)
            },
            n,
        );
        prop_assert_eq!(owned.len(), shared.len());
        for (o, s) in owned.iter().zip(&shared) {
            let o: BTreeMap<String, u64> = o.iter().cloned().collect();
            let s: BTreeMap<String, u64> = s.iter().map(|(k, v)| (k.to_string(), *v)).collect();
            prop_assert_eq!(o, s);
        }
    }

    /// The inverse windowed count and `count_by_value_and_window` over
    /// `SharedStr` words equal the same windows over `String` words.
    #[test]
    fn windowed_counts_on_shared_words_are_the_string_counts(
        batches in prop::collection::vec(prop::collection::vec(text(), 0..8), 1..8),
        window in 1u64..4,
    ) {
        let n = batches.len() + 2;
        let w = Duration::from_secs(window);
        let s1 = Duration::from_secs(1);
        let owned = run_operation(
            batches.clone(),
            move |lines: DStream<String>| {
                let words = lines.flat_map(|l: String| {
                    l.split_whitespace().map(String::from).collect::<Vec<_>>()
                });
                words
                    .map(|w| (w, 1i64))
                    .reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, w, s1)
                    .map(|(k, v)| (0u8, k, v))
                    .union(&words.count_by_value_and_window(w, s1).map(|(k, v)| (1u8, k, v as i64)))
            },
            n,
        );
        let shared_input: Vec<Vec<SharedStr>> = batches
            .iter()
            .map(|b| b.iter().map(|l| SharedStr::from(l.as_str())).collect())
            .collect();
        let shared = run_operation(
            shared_input,
            move |lines: DStream<SharedStr>| {
                let words = lines.flat_map(|l: SharedStr| l.split_whitespace());
                words
                    .map(|w| (w, 1i64))
                    .reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, w, s1)
                    .map(|(k, v)| (0u8, k, v))
                    .union(&words.count_by_value_and_window(w, s1).map(|(k, v)| (1u8, k, v as i64)))
            },
            n,
        );
        prop_assert_eq!(owned.len(), shared.len());
        for (o, s) in owned.iter().zip(&shared) {
            let o: BTreeMap<(u8, String), i64> = o.iter().map(|(t, k, v)| ((*t, k.clone()), *v)).collect();
            let s: BTreeMap<(u8, String), i64> =
                s.iter().map(|(t, k, v)| ((*t, k.to_string()), *v)).collect();
            prop_assert_eq!(o, s);
        }
    }

    /// `flat_map` (which stops filling a chunk part-way through an
    /// element's results) gives every result once, in order, whatever the
    /// number of results per element, also followed by `map` and `filter`
    /// and read by `map_partitions`.
    #[test]
    fn flat_map_is_a_flatten(
        sizes in prop::collection::vec(prop::collection::vec(
            prop_oneof![0usize..3, 0usize..700, Just(1500usize)], 0..12), 1..3)
    ) {
        let n = sizes.len();
        let expand = |k: usize| (0..k).map(move |i| (k * 10_000 + i) as u64);
        let want: Vec<Vec<u64>> = sizes
            .iter()
            .map(|b| b.iter().flat_map(|&k| expand(k)).map(|x| x * 3).filter(|x| x % 2 == 0).collect())
            .collect();
        let got = run_operation(
            sizes.clone(),
            move |s: DStream<usize>| s.flat_map(expand).map(|x| x * 3).filter(|x| x % 2 == 0),
            n,
        );
        prop_assert_eq!(&got, &want);
        let got = run_operation(
            sizes,
            move |s: DStream<usize>| {
                s.flat_map(expand)
                    .map_partitions(|it| it.map(|x| x * 3).filter(|x| x % 2 == 0).collect::<Vec<_>>())
            },
            n,
        );
        prop_assert_eq!(got, want);
    }
}
