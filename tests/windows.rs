//! Window operations against Spark's semantics (the cases of Spark's
//! `WindowOperationsSuite`, and more), driven by the manual clock.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use streaming::prelude::*;
use streaming::testing::*;
use streaming::ManualClock;

mod support;
use support::{
    collect, context_without_checkpoint, input_from, manual_conf, run_batches, run_opt, sorted,
};

const SEC: Duration = Duration::from_secs(1);

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Key-value batches with `String` keys.
fn kv(batches: &[&[(&str, i64)]]) -> Vec<Vec<(String, i64)>> {
    batches
        .iter()
        .map(|b| b.iter().map(|(k, v)| (k.to_string(), *v)).collect())
        .collect()
}

/// Spark's `bigInput`: the same six batches twice.
fn big_input() -> Vec<Vec<(String, i64)>> {
    let half = kv(&[
        &[("a", 1)],
        &[("a", 1), ("b", 1)],
        &[("a", 1), ("b", 1), ("c", 1)],
        &[("a", 1), ("b", 1)],
        &[("a", 1)],
        &[],
    ]);
    [half.clone(), half].concat()
}

fn big_reduce_output() -> Vec<Vec<(String, i64)>> {
    kv(&[
        &[("a", 1)],
        &[("a", 2), ("b", 1)],
        &[("a", 2), ("b", 2), ("c", 1)],
        &[("a", 2), ("b", 2), ("c", 1)],
        &[("a", 2), ("b", 1)],
        &[("a", 1)],
        &[("a", 1)],
        &[("a", 2), ("b", 1)],
        &[("a", 2), ("b", 2), ("c", 1)],
        &[("a", 2), ("b", 2), ("c", 1)],
        &[("a", 2), ("b", 1)],
        &[("a", 1)],
    ])
}

/// With an inverse function and no filter, keys whose value went back to 0
/// stay in the output (Spark's behaviour).
fn big_reduce_inv_output() -> Vec<Vec<(String, i64)>> {
    kv(&[
        &[("a", 1)],
        &[("a", 2), ("b", 1)],
        &[("a", 2), ("b", 2), ("c", 1)],
        &[("a", 2), ("b", 2), ("c", 1)],
        &[("a", 2), ("b", 1), ("c", 0)],
        &[("a", 1), ("b", 0), ("c", 0)],
        &[("a", 1), ("b", 0), ("c", 0)],
        &[("a", 2), ("b", 1), ("c", 0)],
        &[("a", 2), ("b", 2), ("c", 1)],
        &[("a", 2), ("b", 2), ("c", 1)],
        &[("a", 2), ("b", 1), ("c", 0)],
        &[("a", 1), ("b", 0), ("c", 0)],
    ])
}

fn larger_slide_input() -> Vec<Vec<(String, i64)>> {
    kv(&[
        &[("a", 1)],
        &[("a", 2)],
        &[("a", 3)],
        &[("a", 4)],
        &[("a", 5)],
        &[("a", 6)],
        &[],
        &[],
    ])
}

fn larger_slide_output() -> Vec<Vec<(String, i64)>> {
    kv(&[&[("a", 3)], &[("a", 10)], &[("a", 18)], &[("a", 11)]])
}

/// Runs `op` for as many batches as `expected` needs at the given slide.
fn check<T: Data, U: Data + Ord + std::fmt::Debug>(
    input: Vec<Vec<T>>,
    op: impl FnOnce(DStream<T>) -> DStream<U>,
    expected: Vec<Vec<U>>,
    slide_batches: usize,
) {
    let out = run_operation(input, op, expected.len() * slide_batches);
    assert_eq!(sorted(out), sorted(expected));
}

// ---------------------------------------------------------------- window

fn window_case(window: u64, slide: u64, expected: Vec<Vec<i32>>) {
    let input: Vec<Vec<i32>> = (0..6).map(|i| vec![i]).collect();
    let out = run_operation(
        input,
        |s| s.window(secs(window), secs(slide)),
        expected.len() * slide as usize,
    );
    assert_eq!(out, expected, "window {window} s, slide {slide} s");
}

#[test]
fn basic_window() {
    window_case(
        2,
        1,
        vec![
            vec![0],
            vec![0, 1],
            vec![1, 2],
            vec![2, 3],
            vec![3, 4],
            vec![4, 5],
        ],
    );
}

#[test]
fn tumbling_window() {
    window_case(2, 2, vec![vec![0, 1], vec![2, 3], vec![4, 5]]);
}

#[test]
fn larger_window() {
    window_case(
        4,
        2,
        vec![vec![0, 1], vec![0, 1, 2, 3], vec![2, 3, 4, 5], vec![4, 5]],
    );
}

#[test]
fn non_overlapping_window() {
    // Slide longer than the window: batches 1 and 4 fall between windows.
    window_case(2, 3, vec![vec![1, 2], vec![4, 5]]);
}

#[test]
fn window_keeps_partitions_of_each_batch_in_time_order() {
    let out = run_operation(
        vec![vec![1, 2, 3, 4], vec![5, 6]],
        |s| s.window(secs(2), SEC).glom(),
        2,
    );
    // Two input partitions per batch, side by side, oldest batch first.
    assert_eq!(out[1], vec![vec![1, 2], vec![3, 4], vec![5], vec![6]]);
}

#[test]
fn window_skips_times_without_a_batch() {
    let out = run_opt(
        vec![Some(vec![1]), None, Some(vec![3])],
        |s| s.window(secs(2), SEC),
        3,
    );
    assert_eq!(out, vec![vec![1], vec![1], vec![3]]);
}

#[test]
fn window_of_a_window() {
    let input: Vec<Vec<i32>> = (1..=8).map(|i| vec![i]).collect();
    let out = run_operation(
        input,
        |s| s.window(secs(2), secs(2)).window(secs(4), secs(4)),
        8,
    );
    assert_eq!(out, vec![vec![1, 2, 3, 4], vec![5, 6, 7, 8]]);
}

#[test]
fn window_with_a_longer_batch_interval() {
    let config = TestConfig {
        batch_interval: Duration::from_millis(500),
        ..TestConfig::default()
    };
    let input: Vec<Vec<i32>> = (1..=4).map(|i| vec![i]).collect();
    let out = run_operation_with(
        &config,
        input,
        |s| s.window(Duration::from_millis(1500), Duration::from_millis(1000)),
        4,
    );
    // Outputs at 1 s and 2 s: (−0.5 s, 1 s] and (0.5 s, 2 s].
    assert_eq!(out, vec![vec![1, 2], vec![2, 3, 4]]);
}

// ---------------------------------------------------------------- errors

#[test]
fn window_duration_not_a_multiple_of_the_batch_interval_is_an_error() {
    let err = try_run_operation(
        vec![vec![1]],
        |s: DStream<i32>| s.window(Duration::from_millis(1500), SEC),
        1,
    )
    .unwrap_err();
    match &err {
        StreamingError::InvalidOperation(msg) => {
            assert!(msg.contains("window duration 1.5s"), "{msg}");
            assert!(msg.contains("slide duration 1s"), "{msg}");
        }
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn slide_duration_not_a_multiple_is_an_error_for_every_window_operation() {
    type Op = Box<dyn FnOnce(DStream<(String, i64)>) -> DStream<String>>;
    let ops: Vec<(&str, Op)> = vec![
        (
            "reduce_by_key_and_window",
            Box::new(|s| {
                s.reduce_by_key_and_window(|a, b| a + b, secs(2), Duration::from_millis(2500))
                    .map(|(k, _)| k)
            }),
        ),
        (
            "reduce_by_key_and_window",
            Box::new(|s| {
                s.reduce_by_key_and_window_inv(
                    |a, b| a + b,
                    |a, b| a - b,
                    secs(2),
                    Duration::from_millis(2500),
                )
                .map(|(k, _)| k)
            }),
        ),
        (
            "group_by_key_and_window",
            Box::new(|s| {
                s.group_by_key_and_window(secs(2), Duration::from_millis(2500))
                    .map(|(k, _)| k)
            }),
        ),
        (
            "count_by_window",
            Box::new(|s| {
                s.count_by_window(secs(2), Duration::from_millis(2500))
                    .map(|c| c.to_string())
            }),
        ),
        (
            "count_by_value_and_window",
            Box::new(|s| {
                s.map(|(k, _)| k)
                    .count_by_value_and_window(secs(2), Duration::from_millis(2500))
                    .map(|(k, _)| k)
            }),
        ),
        (
            "reduce_by_window",
            Box::new(|s| {
                s.map(|(_, v)| v)
                    .reduce_by_window(|a, b| a + b, secs(2), Duration::from_millis(2500))
                    .map(|v| v.to_string())
            }),
        ),
    ];
    for (name, op) in ops {
        let err = try_run_operation(vec![], op, 1).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(name), "{msg}");
        assert!(
            msg.contains("slide duration 2.5s") && msg.contains("1s"),
            "{msg}"
        );
    }
}

#[test]
fn a_window_value_returns_the_error_and_zero_durations_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ssc = TestConfig::default().context(dir.path()).unwrap();
    let s = ssc.input_stream_from_fn(|_| Some(Batch::from(vec![1u64])));
    let err = Window::new(Duration::ZERO, SEC).unwrap_err();
    assert!(err.to_string().contains("must be positive"), "{err}");
    assert_eq!(Window::new(secs(3), SEC).unwrap().length(), secs(3));
    let w = Window::new(secs(3), Duration::from_millis(10)).unwrap();
    let err = s.over(w).unwrap_err();
    assert!(err.to_string().contains("10ms"), "{err}");
    assert!(s.over(Window::new(secs(3), SEC).unwrap()).is_ok());
}

#[test]
fn every_window_operation_over_a_window_value_equals_its_spark_spelling() {
    let input: Vec<Vec<(String, i64)>> = (0..7)
        .map(|i| {
            (0..i % 4)
                .map(|j| {
                    (
                        ["a", "b", "c"][(i + j) % 3].to_string(),
                        (i * 3 + j) as i64 - 4,
                    )
                })
                .collect()
        })
        .collect();
    let (w, sl) = (secs(3), secs(1));
    let win = Window::new(w, sl).unwrap();
    macro_rules! same {
        ($spark:expr, $value:expr) => {
            assert_eq!(
                sorted(run_operation(input.clone(), $spark, 8)),
                sorted(run_operation(input.clone(), $value, 8))
            );
        };
    }
    same!(|s| s.window(w, sl), |s| s.over(win).unwrap().stream());
    same!(|s| s.reduce_by_key_and_window(|a, b| a + b, w, sl), |s| s
        .over(win)
        .unwrap()
        .reduce_by_key(|a, b| a + b));
    same!(
        |s| s.reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, w, sl),
        |s| s
            .over(win)
            .unwrap()
            .reduce_by_key_inv(|a, b| a + b, |a, b| a - b)
    );
    same!(
        |s| s.reduce_by_key_and_window_inv_filtered(
            |a, b| a + b,
            |a, b| a - b,
            w,
            sl,
            |kv| kv.1 != 0
        ),
        |s| s.over(win).unwrap().reduce_by_key_inv_filtered(
            |a, b| a + b,
            |a, b| a - b,
            |kv| kv.1 != 0
        )
    );
    same!(|s| s.group_by_key_and_window(w, sl), |s| s
        .over(win)
        .unwrap()
        .group_by_key());
    same!(
        |s| s.map(|(_, v)| v).reduce_by_window(|a, b| a + b, w, sl),
        |s| s.map(|(_, v)| v).over(win).unwrap().reduce(|a, b| a + b)
    );
    same!(
        |s| s
            .map(|(_, v)| v)
            .reduce_by_window_inv(|a, b| a + b, |a, b| a - b, w, sl),
        |s| s
            .map(|(_, v)| v)
            .over(win)
            .unwrap()
            .reduce_inv(|a, b| a + b, |a, b| a - b)
    );
    same!(|s| s.count_by_window(w, sl), |s| s
        .over(win)
        .unwrap()
        .count());
    same!(|s| s.count_by_value_and_window(w, sl), |s| s
        .over(win)
        .unwrap()
        .count_by_value());
}

// ------------------------------------------- reduce_by_key_and_window (panes)

fn sum(a: i64, b: i64) -> i64 {
    a + b
}

fn diff(a: i64, b: i64) -> i64 {
    a - b
}

#[test]
fn reduce_by_key_and_window_basic_reduction() {
    check(
        kv(&[&[("a", 1), ("a", 3)]]),
        |s| s.reduce_by_key_and_window(sum, secs(2), SEC),
        kv(&[&[("a", 4)]]),
        1,
    );
}

#[test]
fn reduce_by_key_and_window_key_already_in_window() {
    check(
        kv(&[&[("a", 1)], &[("a", 1)]]),
        |s| s.reduce_by_key_and_window(sum, secs(2), SEC),
        kv(&[&[("a", 1)], &[("a", 2)]]),
        1,
    );
}

#[test]
fn reduce_by_key_and_window_new_key_added() {
    check(
        kv(&[&[("a", 1)], &[("a", 1), ("b", 1)]]),
        |s| s.reduce_by_key_and_window(sum, secs(2), SEC),
        kv(&[&[("a", 1)], &[("a", 2), ("b", 1)]]),
        1,
    );
}

#[test]
fn reduce_by_key_and_window_key_removed() {
    check(
        kv(&[&[("a", 1)], &[("a", 1)], &[], &[]]),
        |s| s.reduce_by_key_and_window(sum, secs(2), SEC),
        kv(&[&[("a", 1)], &[("a", 2)], &[("a", 1)], &[]]),
        1,
    );
}

#[test]
fn reduce_by_key_and_window_larger_slide() {
    check(
        larger_slide_input(),
        |s| s.reduce_by_key_and_window(sum, secs(4), secs(2)),
        larger_slide_output(),
        2,
    );
}

#[test]
fn reduce_by_key_and_window_big_test() {
    check(
        big_input(),
        |s| s.reduce_by_key_and_window(sum, secs(2), SEC),
        big_reduce_output(),
        1,
    );
}

#[test]
fn reduce_by_key_and_window_with_a_non_invertible_function() {
    let input = kv(&[
        &[("a", 5), ("b", 1)],
        &[("a", 3)],
        &[("a", 1), ("b", 7)],
        &[],
        &[("a", 2)],
    ]);
    check(
        input,
        |s| s.reduce_by_key_and_window(|a: i64, b: i64| a.max(b), secs(3), SEC),
        kv(&[
            &[("a", 5), ("b", 1)],
            &[("a", 5), ("b", 1)],
            &[("a", 5), ("b", 7)],
            &[("a", 3), ("b", 7)],
            &[("a", 2), ("b", 7)],
        ]),
        1,
    );
}

#[test]
fn reduce_by_key_and_window_combines_in_time_order() {
    // Concatenation is not commutative: values must combine oldest first.
    let input: Vec<Vec<(u8, String)>> = ["a", "b", "c", "d", "e", "f"]
        .iter()
        .map(|x| vec![(0u8, x.to_string())])
        .collect();
    let out = run_operation(
        input,
        |s| s.reduce_by_key_and_window(|a: String, b: String| a + &b, secs(3), SEC),
        6,
    );
    let values: Vec<String> = out.into_iter().map(|b| b[0].1.clone()).collect();
    assert_eq!(values, vec!["a", "ab", "abc", "bcd", "cde", "def"]);
}

#[test]
fn reduce_by_key_and_window_with_window_not_a_multiple_of_slide() {
    // window 3 s, slide 2 s: panes of 1 s.
    let input: Vec<Vec<(String, i64)>> = (1..=8).map(|i| vec![("k".to_string(), i)]).collect();
    let out = run_operation(
        input,
        |s| s.reduce_by_key_and_window(sum, secs(3), secs(2)),
        8,
    );
    // (−1, 2], (1, 4], (3, 6], (5, 8]
    let expected = kv(&[&[("k", 3)], &[("k", 9)], &[("k", 15)], &[("k", 21)]]);
    assert_eq!(out, expected);
}

// ------------------------------------- reduce_by_key_and_window_inv (incremental)

#[test]
fn inverse_basic_reduction() {
    check(
        kv(&[&[("a", 1), ("a", 3)]]),
        |s| s.reduce_by_key_and_window_inv(sum, diff, secs(2), SEC),
        kv(&[&[("a", 4)]]),
        1,
    );
}

#[test]
fn inverse_key_already_in_window() {
    check(
        kv(&[&[("a", 1)], &[("a", 1)]]),
        |s| s.reduce_by_key_and_window_inv(sum, diff, secs(2), SEC),
        kv(&[&[("a", 1)], &[("a", 2)]]),
        1,
    );
}

#[test]
fn inverse_new_key_added() {
    check(
        kv(&[&[("a", 1)], &[("a", 1), ("b", 1)]]),
        |s| s.reduce_by_key_and_window_inv(sum, diff, secs(2), SEC),
        kv(&[&[("a", 1)], &[("a", 2), ("b", 1)]]),
        1,
    );
}

#[test]
fn inverse_key_removed_from_window_stays_at_zero() {
    check(
        kv(&[&[("a", 1)], &[("a", 1)], &[], &[]]),
        |s| s.reduce_by_key_and_window_inv(sum, diff, secs(2), SEC),
        kv(&[&[("a", 1)], &[("a", 2)], &[("a", 1)], &[("a", 0)]]),
        1,
    );
}

#[test]
fn inverse_larger_slide() {
    check(
        larger_slide_input(),
        |s| s.reduce_by_key_and_window_inv(sum, diff, secs(4), secs(2)),
        larger_slide_output(),
        2,
    );
}

#[test]
fn inverse_big_test_keeps_zero_valued_keys() {
    check(
        big_input(),
        |s| s.reduce_by_key_and_window_inv(sum, diff, secs(2), SEC),
        big_reduce_inv_output(),
        1,
    );
}

#[test]
fn inverse_with_filter_matches_the_naive_result() {
    check(
        big_input(),
        |s| s.reduce_by_key_and_window_inv_filtered(sum, diff, secs(2), SEC, |(_, v)| *v != 0),
        big_reduce_output(),
        1,
    );
}

#[test]
fn filtered_keys_do_not_accumulate_in_the_state() {
    let input: Vec<Vec<(String, i64)>> = (0..6)
        .map(|i| vec![(format!("k{i}"), 1)])
        .chain(std::iter::repeat_n(vec![], 3))
        .collect();
    let states: Arc<Mutex<Vec<usize>>> = Arc::default();
    let probe = states.clone();
    let out = run_operation(
        input,
        move |s| {
            let filtered =
                s.reduce_by_key_and_window_inv_filtered(sum, diff, secs(2), SEC, |(_, v)| *v != 0);
            let state = filtered
                .stateful_operator()
                .expect("incremental windows keep state");
            filtered.foreach_batch(move |_, _| probe.lock().unwrap().push(state.num_entries()));
            filtered
        },
        9,
    );
    assert_eq!(
        out[5].clone().tap_sort(),
        kv(&[&[("k4", 1), ("k5", 1)]]).remove(0)
    );
    assert!(out[8].is_empty());
    // Window values plus pane entries: never more than two keys' worth.
    let states = states.lock().unwrap();
    assert!(states.iter().all(|&n| n <= 4), "{states:?}");
    assert_eq!(*states.last().unwrap(), 0);
}

trait TapSort {
    fn tap_sort(self) -> Self;
}

impl<T: Ord> TapSort for Vec<T> {
    fn tap_sort(mut self) -> Self {
        self.sort();
        self
    }
}

#[test]
fn inverse_with_window_not_a_multiple_of_slide_and_gaps() {
    let input: Vec<Option<Vec<(String, i64)>>> = vec![
        Some(vec![("a".into(), 1)]),
        None,
        Some(vec![("a".into(), 4), ("b".into(), 2)]),
        Some(vec![("b".into(), 8)]),
        None,
        Some(vec![]),
        Some(vec![("a".into(), 16)]),
    ];
    let out = run_opt(
        input,
        |s| s.reduce_by_key_and_window_inv(sum, diff, secs(3), secs(2)),
        8,
    );
    // (−1, 2]: a1; (1, 4]: a4 b10; (3, 6]: b8; (5, 8]: a16 — b keeps its 0.
    assert_eq!(
        sorted(out),
        sorted(kv(&[
            &[("a", 1)],
            &[("a", 4), ("b", 10)],
            &[("a", 0), ("b", 8)],
            &[("a", 16), ("b", 0)],
        ]))
    );
}

// ------------------------------------------------------ other operations

#[test]
fn group_by_key_and_window_big_test() {
    let out = run_operation(big_input(), |s| s.group_by_key_and_window(secs(2), SEC), 12);
    let expected = big_reduce_output();
    for (got, want) in out.into_iter().zip(expected) {
        let got: Vec<(String, i64)> = got
            .into_iter()
            .map(|(k, vs)| {
                assert!(vs.iter().all(|&v| v == 1));
                (k, vs.len() as i64)
            })
            .collect();
        assert_eq!(got.tap_sort(), want.tap_sort());
    }
}

#[test]
fn group_by_key_and_window_keeps_arrival_order() {
    let input: Vec<Vec<(u8, i32)>> = (1..=4).map(|i| vec![(0, i), (0, i * 10)]).collect();
    let out = run_operation(input, |s| s.group_by_key_and_window(secs(3), SEC), 4);
    assert_eq!(out[3], vec![(0, vec![2, 20, 3, 30, 4, 40])]);
}

#[test]
fn count_by_window_emits_zero_once_the_window_has_emptied() {
    let input = vec![vec![1], vec![1], vec![1, 2], vec![0], vec![], vec![]];
    let out = run_operation(input, |s: DStream<i32>| s.count_by_window(secs(2), SEC), 6);
    assert_eq!(
        out,
        vec![vec![1], vec![2], vec![3], vec![3], vec![1], vec![0]]
    );
}

#[test]
fn count_by_window_is_empty_until_the_first_element() {
    let input = vec![vec![], vec![7], vec![], vec![]];
    let out = run_operation(input, |s: DStream<i32>| s.count_by_window(secs(2), SEC), 4);
    assert_eq!(out, vec![vec![], vec![1], vec![1], vec![0]]);
}

#[test]
fn count_by_value_and_window_drops_zero_counts() {
    let input = vec![vec!["a"], vec!["b", "b"], vec!["a", "b"], vec![], vec![]];
    let input: Vec<Vec<String>> = input
        .into_iter()
        .map(|b| b.into_iter().map(String::from).collect())
        .collect();
    let out = run_operation(input, |s| s.count_by_value_and_window(secs(2), SEC), 5);
    let expected: Vec<Vec<(String, u64)>> = vec![
        vec![("a".into(), 1)],
        vec![("a".into(), 1), ("b".into(), 2)],
        vec![("a".into(), 1), ("b".into(), 3)],
        vec![("a".into(), 1), ("b".into(), 1)],
        vec![],
    ];
    assert_eq!(sorted(out), expected);
}

#[test]
fn reduce_by_window_uses_panes_and_is_empty_for_an_empty_window() {
    let input = vec![vec![1, 2], vec![3], vec![], vec![], vec![10]];
    let out = run_operation(
        input,
        |s: DStream<i64>| s.reduce_by_window(sum, secs(2), SEC),
        5,
    );
    assert_eq!(out, vec![vec![3], vec![6], vec![3], vec![], vec![10]]);
}

#[test]
fn reduce_by_window_inv_stays_at_zero() {
    let input = vec![vec![1, 2], vec![3], vec![], vec![], vec![10]];
    let out = run_operation(
        input,
        |s: DStream<i64>| s.reduce_by_window_inv(sum, diff, secs(2), SEC),
        5,
    );
    assert_eq!(out, vec![vec![3], vec![6], vec![3], vec![0], vec![10]]);
}

#[test]
fn reduce_by_window_with_larger_slide() {
    let input: Vec<Vec<i64>> = (1..=6).map(|i| vec![i]).collect();
    let out = run_operation(input, |s| s.reduce_by_window(sum, secs(4), secs(2)), 8);
    assert_eq!(out, vec![vec![3], vec![10], vec![18], vec![11]]);
}

// ------------------------------------------------ checkpoints and memory

#[test]
fn incremental_windows_require_a_checkpoint_directory() {
    type Build = fn(DStream<(String, i64)>);
    let cases: Vec<(&str, Build)> = vec![
        ("reduce_by_key_and_window", |s| {
            s.reduce_by_key_and_window_inv(sum, diff, secs(2), SEC)
                .print()
        }),
        ("count_by_window", |s| {
            s.count_by_window(secs(2), SEC).print()
        }),
        ("count_by_value_and_window", |s| {
            s.map(|(k, _)| k)
                .count_by_value_and_window(secs(2), SEC)
                .print()
        }),
    ];
    for (name, build) in cases {
        let ssc = context_without_checkpoint();
        build(ssc.input_stream_from_fn(|_| Some(Batch::empty())));
        let err = ssc.start().unwrap_err().to_string();
        assert!(err.contains("checkpoint") && err.contains(name), "{err}");
    }
}

#[test]
fn windows_without_state_need_no_checkpoint_directory() {
    let ssc = context_without_checkpoint();
    let s = ssc.input_stream_from_fn(|_| Some(Batch::from(vec![("a".to_string(), 1i64)])));
    s.window(secs(2), SEC).print();
    s.group_by_key_and_window(secs(2), SEC).print();
    let out = collect(&s.reduce_by_key_and_window(sum, secs(2), SEC));
    ssc.start().unwrap();
    run_batches(&ssc, 1..=2);
    ssc.stop(StopMode::Immediate);
    assert_eq!(*out.lock().unwrap(), kv(&[&[("a", 1)], &[("a", 2)]]));
}

/// Runs `build` over an input that counts how often each batch time is
/// computed, for `batches` batches; then returns which of the input's
/// batches were still remembered (slicing them computes nothing).
fn remembered_input_batches(batches: u64, build: impl FnOnce(&DStream<i64>)) -> Vec<u64> {
    let dir = tempfile::tempdir().unwrap();
    let ssc = TestConfig::default().context(dir.path()).unwrap();
    let computed = Arc::new(AtomicUsize::new(0));
    let counter = computed.clone();
    let input = ssc.input_stream_from_fn(move |t| {
        counter.fetch_add(1, Ordering::SeqCst);
        Some(Batch::from(vec![t.as_millis() as i64]))
    });
    // Another consumer computes the input at every batch time.
    input.foreach_batch(|_, _| {});
    build(&input);
    ssc.start().unwrap();
    run_batches(&ssc, 1..=batches);
    ssc.stop(StopMode::Immediate);
    assert_eq!(
        computed.load(Ordering::SeqCst),
        batches as usize,
        "each batch computed once"
    );
    // A forgotten input batch is either recomputed (the counter moves) or
    // reported missing: either way it was not remembered.
    (1..=batches)
        .filter(|&i| {
            let before = computed.load(Ordering::SeqCst);
            let t = Time::from_millis(i * 1000);
            let got = input.slice(t, t).unwrap();
            let recomputed = computed.load(Ordering::SeqCst) != before;
            !recomputed && got.len() == 1 && got[0].collect() == vec![t.as_millis() as i64]
        })
        .collect()
}

#[test]
fn a_window_remembers_exactly_the_parent_batches_it_still_needs() {
    // Window 3 s sliding by 1 s: after batch 6, the next window (4 s, 7 s]
    // needs batches 5 and 6, and only those.
    let kept = remembered_input_batches(6, |s| {
        s.window(secs(3), SEC).print();
    });
    assert_eq!(kept, vec![5, 6]);
}

#[test]
fn incremental_and_pane_windows_forget_parent_batches_once_folded_in() {
    // Window 4 s sliding by 1 s: the panes hold the window, so of the parent
    // only the latest batch (which every stream keeps) is left, where the
    // plain window would keep three.
    let kept = remembered_input_batches(6, |s| {
        let kv = s.map(|x| (x % 2, x));
        kv.reduce_by_key_and_window(sum, secs(4), SEC).print();
        kv.reduce_by_key_and_window_inv(sum, diff, secs(4), SEC)
            .print();
    });
    assert_eq!(kept, vec![6]);
    let kept = remembered_input_batches(6, |s| {
        s.window(secs(4), SEC).print();
    });
    assert_eq!(kept, vec![4, 5, 6]);
    // After batch 5 (between window times) batch 5 waits for the window at 6 s.
    let kept = remembered_input_batches(5, |s| {
        s.map(|x| (x % 2, x))
            .reduce_by_key_and_window_inv(sum, diff, secs(4), secs(2))
            .print();
    });
    assert_eq!(kept, vec![5]);
}

#[test]
fn incremental_window_state_survives_a_snapshot_and_restore() {
    let input: Vec<Vec<(String, i64)>> = (1..=8)
        .map(|i| vec![(format!("k{}", i % 3), i), ("all".to_string(), 1)])
        .collect();
    let op = |s: DStream<(String, i64)>| s.reduce_by_key_and_window_inv(sum, diff, secs(3), SEC);
    let uninterrupted = sorted(run_operation(input.clone(), op, 8));

    // First run: 4 batches, then a snapshot.
    let dir = tempfile::tempdir().unwrap();
    let ssc = TestConfig::default().context(dir.path()).unwrap();
    let s = input_from(&ssc, input.clone());
    let windowed = op(s);
    windowed.print_n(0);
    ssc.start().unwrap();
    run_batches(&ssc, 1..=4);
    ssc.stop(StopMode::Immediate);
    let snapshot = windowed.stateful_operator().unwrap().snapshot().unwrap();
    assert_eq!(snapshot.time, Some(Time::from_millis(4000)));

    // Second run: a new pipeline resumes from the snapshot at 4 s.
    let ssc = StreamingContext::new(manual_conf(&ManualClock::starting_at(Time::from_millis(
        4000,
    ))))
    .unwrap();
    ssc.checkpoint(dir.path()).unwrap();
    let s = input_from(&ssc, input.clone());
    let windowed = op(s);
    windowed
        .stateful_operator()
        .unwrap()
        .restore(&snapshot)
        .unwrap();
    let out = collect(&windowed);
    ssc.start().unwrap();
    run_batches(&ssc, 5..=8);
    ssc.stop(StopMode::Immediate);
    let resumed = sorted(out.lock().unwrap().clone());
    assert_eq!(resumed, uninterrupted[4..].to_vec());
}
