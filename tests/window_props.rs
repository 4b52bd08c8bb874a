//! Property tests: for random inputs, windows and slides, the incremental
//! (inverse) path, the pane path and a naive recomputation (`window` then a
//! per-batch reduction) all agree with a model computed directly from the
//! input — modulo the zero-valued keys the inverse path keeps by design
//! (Spark's rule; a filter removes them). Long windows (up to 24 batches,
//! over up to 60 batches of input) exercise the pane path's segments and
//! their gradual conversion, and the inverse path's copy-on-write state.

use std::collections::BTreeMap;

use proptest::prelude::*;
use streaming::prelude::*;
use streaming::testing::*;

/// Output rows: (which pipeline, key, values).
type Row = (u8, u8, Vec<i64>);

const INVERSE: u8 = 0;
const PANE_SUM: u8 = 1;
const NAIVE_SUM: u8 = 2;
const PANE_MAX: u8 = 3;
const NAIVE_MAX: u8 = 4;
const GROUP: u8 = 5;
const COUNT: u8 = 6;
const PANE_CONCAT: u8 = 7;
const SUMMED: u8 = 8;
const COMBINED_SUM: u8 = 9;

/// All pipelines over one input, tagged and merged into one stream.
fn pipelines(s: DStream<(u8, i64)>, w: Duration, sl: Duration) -> DStream<Row> {
    let tag = |t: u8| move |(k, v): (u8, i64)| (t, k, vec![v]);
    let inverse = s
        .reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, w, sl)
        .map(tag(INVERSE));
    let pane_sum = s
        .reduce_by_key_and_window(|a, b| a + b, w, sl)
        .map(tag(PANE_SUM));
    let naive_sum = s
        .window(w, sl)
        .reduce_by_key(|a, b| a + b)
        .map(tag(NAIVE_SUM));
    let pane_max = s
        .reduce_by_key_and_window(|a: i64, b: i64| a.max(b), w, sl)
        .map(tag(PANE_MAX));
    let naive_max = s
        .window(w, sl)
        .reduce_by_key(|a: i64, b: i64| a.max(b))
        .map(tag(NAIVE_MAX));
    let group = s
        .group_by_key_and_window(w, sl)
        .map(|(k, vs)| (GROUP, k, vs));
    let count = s
        .map(|(k, _)| k)
        .count_by_value_and_window(w, sl)
        .map(|(k, c)| (COUNT, k, vec![c as i64]));
    // A non-commutative reduction: order of panes must be kept.
    let concat = s
        .map(|(k, v)| (k, vec![v]))
        .reduce_by_key_and_window(
            |mut a: Vec<i64>, b: Vec<i64>| {
                a.extend(b);
                a
            },
            w,
            sl,
        )
        .map(|(k, vs)| (PANE_CONCAT, k, vs));
    // The built-in sum: exact (a key with elements stays, even at 0; one
    // without is gone), fed by pairs or by a combine of its own whose panes
    // are made straight from the elements.
    let summed = s.sum_by_key_and_window(w, sl).map(tag(SUMMED));
    let combined_sum = s
        .sum_ref_into_by_key_and_window(
            |&(k, v): &(u8, i64), out| out.insert(k, v, |v| v, <i64 as streaming::WindowSum>::add),
            w,
            sl,
        )
        .map(tag(COMBINED_SUM));
    let ssc = s.context();
    ssc.union(vec![
        inverse,
        pane_sum,
        naive_sum,
        pane_max,
        naive_max,
        group,
        count,
        concat,
        summed,
        combined_sum,
    ])
}

/// The window ending at batch `end` (1-based), straight from the input.
fn model(input: &[Vec<(u8, i64)>], end: usize, w: usize) -> BTreeMap<u8, Vec<i64>> {
    let mut groups: BTreeMap<u8, Vec<i64>> = BTreeMap::new();
    for i in (end + 1).saturating_sub(w).max(1)..=end {
        for &(k, v) in input.get(i - 1).map(Vec::as_slice).unwrap_or(&[]) {
            groups.entry(k).or_default().push(v);
        }
    }
    groups
}

fn rows_of(rows: &[Row], tag: u8) -> BTreeMap<u8, Vec<i64>> {
    let mut out = BTreeMap::new();
    for (t, k, vs) in rows {
        if *t == tag {
            assert!(
                out.insert(*k, vs.clone()).is_none(),
                "key {k} twice in pipeline {tag}"
            );
        }
    }
    out
}

fn input_strategy() -> impl Strategy<Value = Vec<Vec<(u8, i64)>>> {
    prop::collection::vec(prop::collection::vec((0u8..5, -4i64..=4), 0..6), 1..10)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_window_path_agrees_with_the_model(
        input in input_strategy(),
        w in 1usize..=5,
        sl in 1usize..=3,
    ) {
        let sec = Duration::from_secs(1);
        let num_batches = (input.len() + w).div_ceil(sl) * sl;
        let out = run_operation(
            input.clone(),
            |s| pipelines(s, sec * w as u32, sec * sl as u32),
            num_batches,
        );
        prop_assert_eq!(out.len(), num_batches / sl);
        let mut seen: BTreeMap<u8, ()> = BTreeMap::new();
        for (n, rows) in out.iter().enumerate() {
            let end = (n + 1) * sl;
            let groups = model(&input, end, w);
            for i in 1..=end.min(input.len()) {
                for &(k, _) in &input[i - 1] {
                    seen.insert(k, ());
                }
            }
            let sums: BTreeMap<u8, Vec<i64>> =
                groups.iter().map(|(k, vs)| (*k, vec![vs.iter().sum()])).collect();
            let maxes: BTreeMap<u8, Vec<i64>> =
                groups.iter().map(|(k, vs)| (*k, vec![*vs.iter().max().unwrap()])).collect();
            let counts: BTreeMap<u8, Vec<i64>> =
                groups.iter().map(|(k, vs)| (*k, vec![vs.len() as i64])).collect();

            prop_assert_eq!(&rows_of(rows, PANE_SUM), &sums, "pane sum at batch {}", end);
            prop_assert_eq!(&rows_of(rows, NAIVE_SUM), &sums, "naive sum at batch {}", end);
            prop_assert_eq!(&rows_of(rows, PANE_MAX), &maxes, "pane max at batch {}", end);
            prop_assert_eq!(&rows_of(rows, NAIVE_MAX), &maxes, "naive max at batch {}", end);
            prop_assert_eq!(&rows_of(rows, GROUP), &groups, "group at batch {}", end);
            prop_assert_eq!(&rows_of(rows, PANE_CONCAT), &groups, "concat at batch {}", end);
            prop_assert_eq!(&rows_of(rows, COUNT), &counts, "counts at batch {}", end);
            prop_assert_eq!(&rows_of(rows, SUMMED), &sums, "built-in sum at batch {}", end);
            prop_assert_eq!(&rows_of(rows, COMBINED_SUM), &sums, "combined sum at batch {}", end);

            // The inverse path: the model's keys with their sums, plus keys
            // seen earlier whose window value is back to zero.
            let inverse = rows_of(rows, INVERSE);
            for (k, v) in &inverse {
                match sums.get(k) {
                    Some(s) => prop_assert_eq!(v, s, "inverse key {} at batch {}", k, end),
                    None => {
                        prop_assert_eq!(v, &vec![0], "stale key {} at batch {}", k, end);
                        prop_assert!(seen.contains_key(k));
                    }
                }
            }
            for k in sums.keys() {
                prop_assert!(inverse.contains_key(k), "inverse lost key {} at batch {}", k, end);
            }
        }
    }
}

/// Long windows over many batches (the pane path's segments and their
/// conversion, the inverse path's copy-on-write state): the pane path with
/// a non-commutative and a commutative reducer, and the inverse path with
/// and without a filter, against the model.
fn long_pipelines(s: DStream<(u8, i64)>, w: Duration, sl: Duration) -> DStream<Row> {
    let tag = |t: u8| move |(k, v): (u8, i64)| (t, k, vec![v]);
    let concat = s
        .map(|(k, v)| (k, vec![v]))
        .reduce_by_key_and_window(
            |mut a: Vec<i64>, b: Vec<i64>| {
                a.extend(b);
                a
            },
            w,
            sl,
        )
        .map(|(k, vs)| (PANE_CONCAT, k, vs));
    let pane_sum = s
        .reduce_by_key_and_window(|a, b| a + b, w, sl)
        .map(tag(PANE_SUM));
    let inverse = s
        .reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, w, sl)
        .map(tag(INVERSE));
    let filtered = s
        .reduce_by_key_and_window_inv_filtered(
            |a, b| a + b,
            |a, b| a - b,
            w,
            sl,
            |(_, v): &(u8, i64)| *v != 0,
        )
        .map(tag(NAIVE_SUM));
    s.context().union(vec![concat, pane_sum, inverse, filtered])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn long_windows_agree_with_the_model(
        input in prop::collection::vec(prop::collection::vec((0u8..12, 1i64..=9), 0..8), 10..60),
        w in 1usize..=24,
        sl in 1usize..=4,
    ) {
        let w = w.div_ceil(sl) * sl;
        let sec = Duration::from_secs(1);
        let num_batches = (input.len() + w).div_ceil(sl) * sl;
        let out = run_operation(
            input.clone(),
            |s| long_pipelines(s, sec * w as u32, sec * sl as u32),
            num_batches,
        );
        prop_assert_eq!(out.len(), num_batches / sl);
        let mut seen: BTreeMap<u8, ()> = BTreeMap::new();
        for (n, rows) in out.iter().enumerate() {
            let end = (n + 1) * sl;
            let groups = model(&input, end, w);
            for i in 1..=end.min(input.len()) {
                for &(k, _) in &input[i - 1] {
                    seen.insert(k, ());
                }
            }
            let sums: BTreeMap<u8, Vec<i64>> =
                groups.iter().map(|(k, vs)| (*k, vec![vs.iter().sum()])).collect();
            prop_assert_eq!(&rows_of(rows, PANE_CONCAT), &groups, "concat at batch {}", end);
            prop_assert_eq!(&rows_of(rows, PANE_SUM), &sums, "pane sum at batch {}", end);
            // Values are positive: a zero sum means the key left the window.
            prop_assert_eq!(&rows_of(rows, NAIVE_SUM), &sums, "filtered inverse at batch {}", end);
            let inverse = rows_of(rows, INVERSE);
            for (k, v) in &inverse {
                match sums.get(k) {
                    Some(s) => prop_assert_eq!(v, s, "inverse key {} at batch {}", k, end),
                    None => {
                        // Spark's rule: a key back to zero stays.
                        prop_assert_eq!(v, &vec![0], "stale key {} at batch {}", k, end);
                        prop_assert!(seen.contains_key(k));
                    }
                }
            }
            for k in sums.keys() {
                prop_assert!(inverse.contains_key(k), "inverse lost key {} at batch {}", k, end);
            }
        }
    }
}
