//! Spark's BasicOperationsSuite, case by case, through the testing harness.

use std::collections::BTreeMap;

use streaming::prelude::*;
use streaming::print_layout;
use streaming::testing::*;

mod support;
use support::{run_opt, sorted};

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// Words repeated within a batch, the empty string among them.
fn repeated_words() -> Vec<Vec<String>> {
    vec![s(&["a", "a", "b"]), s(&["", ""]), vec![]]
}

/// Each distinct word of each batch of [`repeated_words`] with its count.
fn counted_words() -> Vec<Vec<(String, u64)>> {
    vec![
        vec![("a".to_string(), 2), ("b".to_string(), 1)],
        vec![("".to_string(), 2)],
        vec![],
    ]
}

#[test]
fn map() {
    let input = vec![
        (1..=4).collect::<Vec<i32>>(),
        (5..=8).collect(),
        (9..=12).collect(),
    ];
    let out = run_operation(input, |s| s.map(|x| x.to_string()), 3);
    assert_eq!(
        out,
        vec![
            s(&["1", "2", "3", "4"]),
            s(&["5", "6", "7", "8"]),
            s(&["9", "10", "11", "12"])
        ]
    );
}

#[test]
fn flat_map() {
    let input = vec![(1..=4).collect::<Vec<i32>>(), (5..=8).collect()];
    let out = run_operation(input, |s| s.flat_map(|x| vec![x, x * 2]), 2);
    assert_eq!(
        out,
        vec![
            vec![1, 2, 2, 4, 3, 6, 4, 8],
            vec![5, 10, 6, 12, 7, 14, 8, 16]
        ]
    );
}

#[test]
fn filter() {
    let input = vec![(1..=4).collect::<Vec<i32>>(), (5..=8).collect()];
    let out = run_operation(input, |s| s.filter(|x| x % 2 == 0), 2);
    assert_eq!(out, vec![vec![2, 4], vec![6, 8]]);
}

#[test]
fn glom_shows_contiguous_input_partitions() {
    let input = vec![
        (1..=4).collect::<Vec<i32>>(),
        (5..=8).collect(),
        (9..=12).collect(),
    ];
    let out = run_operation(input, |s| s.glom(), 3);
    assert_eq!(
        out,
        vec![
            vec![vec![1, 2], vec![3, 4]],
            vec![vec![5, 6], vec![7, 8]],
            vec![vec![9, 10], vec![11, 12]]
        ]
    );
}

#[test]
fn glom_with_uneven_split_follows_spark_slicing() {
    let config = TestConfig {
        num_input_partitions: 3,
        ..TestConfig::default()
    };
    let out = run_operation_with(&config, vec![vec![1, 2, 3, 4, 5]], |s| s.glom(), 1);
    // positions [j*n/p, (j+1)*n/p): [0,1) [1,3) [3,5)
    assert_eq!(out, vec![vec![vec![1], vec![2, 3], vec![4, 5]]]);
}

#[test]
fn map_partitions_sums_each_partition() {
    let input = vec![(1..=4).collect::<Vec<i32>>(), (5..=8).collect()];
    let out = run_operation(
        input,
        |s| s.map_partitions(|it| std::iter::once(it.sum::<i32>())),
        2,
    );
    assert_eq!(out, vec![vec![3, 7], vec![11, 15]]);
}

#[test]
fn map_partitions_with_index_sees_indices() {
    let input = vec![(1..=4).collect::<Vec<i32>>()];
    let out = run_operation(
        input,
        |s| s.map_partitions_with_index(|i, it| it.map(move |x| (i, x))),
        1,
    );
    assert_eq!(out, vec![vec![(0, 1), (0, 2), (1, 3), (1, 4)]]);
}

#[test]
fn chained_narrow_operations_fuse_and_stay_ordered() {
    let input = vec![(1..=6).collect::<Vec<i64>>()];
    let out = run_operation(
        input,
        |s| {
            s.map(|x| x * 3)
                .filter(|x| x % 2 == 0)
                .flat_map(|x| vec![x, -x])
                .map_partitions(|it| it.map(|x| x + 1))
        },
        1,
    );
    assert_eq!(out, vec![vec![7, -5, 13, -11, 19, -17]]);
}

#[test]
fn repartition_spreads_elements_over_n_partitions() {
    let input = vec![(1..=10).collect::<Vec<i32>>()];
    let out = run_operation(input, |s| s.repartition(3).glom(), 1);
    let parts = &out[0];
    assert_eq!(parts.len(), 3);
    let mut all: Vec<i32> = parts.iter().flatten().copied().collect();
    all.sort();
    assert_eq!(all, (1..=10).collect::<Vec<_>>());
    let sizes: Vec<usize> = parts.iter().map(Vec::len).collect();
    assert!(
        sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
        "{sizes:?}"
    );
}

#[test]
fn count_emits_zero_for_empty_batches() {
    let input = vec![
        vec![],
        vec![1],
        (1..=10).collect::<Vec<i32>>(),
        (1..=100).collect(),
    ];
    let out = run_operation(input, |s| s.count(), 5);
    // The fifth batch is past the end of the input: empty, so 0.
    assert_eq!(out, vec![vec![0], vec![1], vec![10], vec![100], vec![0]]);
}

#[test]
fn count_by_value() {
    let input = repeated_words();
    let out = run_operation(input, |s| s.count_by_value(), 3);
    assert_eq!(sorted(out), counted_words());
}

#[test]
fn reduce_emits_nothing_for_empty_batches() {
    let input = vec![(1..=4).collect::<Vec<i32>>(), vec![], (5..=8).collect()];
    let out = run_operation(input, |s| s.reduce(|a, b| a + b), 3);
    assert_eq!(out, vec![vec![10], vec![], vec![26]]);
}

#[test]
fn reduce_by_key() {
    let input = repeated_words();
    let out = run_operation(
        input,
        |s| s.map(|x| (x, 1u64)).reduce_by_key(|a, b| a + b),
        3,
    );
    assert_eq!(sorted(out), counted_words());
}

#[test]
fn reduce_by_key_with_partitions_sets_partition_count() {
    let input = vec![(0..100).collect::<Vec<i32>>()];
    let out = run_operation(
        input,
        |s| {
            s.map(|x| (x % 10, 1))
                .reduce_by_key_with_partitions(|a, b| a + b, 4)
                .glom()
                .map(|p| p.len())
        },
        1,
    );
    assert_eq!(out[0].len(), 4);
    assert_eq!(out[0].iter().sum::<usize>(), 10);
}

#[test]
fn reduce_by_key_matches_a_sequential_count() {
    let words: Vec<String> = (0..5000)
        .map(|i| format!("w{}", (i * 7919) % 311))
        .collect();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for w in &words {
        *expected.entry(w.clone()).or_default() += 1;
    }
    let config = TestConfig {
        num_input_partitions: 7,
        ..TestConfig::default()
    };
    let out = run_operation_with(
        &config,
        vec![words],
        |s| s.map(|w| (w, 1u64)).reduce_by_key(|a, b| a + b),
        1,
    );
    let got: BTreeMap<String, u64> = out[0].iter().cloned().collect();
    assert_eq!(got.len(), out[0].len(), "each key appears once");
    assert_eq!(got, expected);
}

#[test]
fn group_by_key_keeps_value_order() {
    let input = vec![vec![("a", 1), ("b", 2), ("a", 3), ("a", 4)], vec![("b", 5)]];
    let out = run_operation(input, |s| s.group_by_key(), 2);
    assert_eq!(
        sorted(out),
        vec![
            vec![("a", vec![1, 3, 4]), ("b", vec![2])],
            vec![("b", vec![5])]
        ]
    );
}

#[test]
fn combine_by_key_computes_averages() {
    let input = vec![vec![("a", 1.0), ("b", 2.0), ("a", 3.0), ("a", 5.0)]];
    let out = run_operation(
        input,
        |s| {
            s.combine_by_key(
                |v| (v, 1u32),
                |(sum, n), v| (sum + v, n + 1),
                |(s1, n1), (s2, n2)| (s1 + s2, n1 + n2),
            )
            .map_values(|(sum, n)| sum / n as f64)
        },
        1,
    );
    let mut got = out[0].clone();
    got.sort_by(|a, b| a.0.cmp(b.0));
    assert_eq!(got, vec![("a", 3.0), ("b", 2.0)]);
}

#[test]
fn map_values_and_flat_map_values() {
    let input = vec![vec![("a", 1), ("b", 2)]];
    let out = run_operation(input.clone(), |s| s.map_values(|v| v * 10), 1);
    assert_eq!(out, vec![vec![("a", 10), ("b", 20)]]);
    let out = run_operation(input, |s| s.flat_map_values(|v| 0..v), 1);
    assert_eq!(out, vec![vec![("a", 0), ("b", 0), ("b", 1)]]);
}

#[test]
fn union_keeps_first_stream_first() {
    let a = vec![vec![1, 2], vec![3, 4]];
    let b = vec![vec![10, 20], vec![30]];
    let out = run_binary_operation(a, b, |x, y| x.union(&y), 2);
    assert_eq!(out, vec![vec![1, 2, 10, 20], vec![3, 4, 30]]);
}

#[test]
fn context_union_of_three_streams() {
    let out = run_binary_operation(
        vec![vec![1], vec![2]],
        vec![vec![10], vec![20]],
        |x, y| {
            let doubled = x.map(|v| v * 100);
            x.context().union(vec![x, y, doubled])
        },
        2,
    );
    assert_eq!(out, vec![vec![1, 10, 100], vec![2, 20, 200]]);
}

#[test]
fn union_fails_when_a_parent_produces_no_batch() {
    let config = TestConfig::default();
    let err = try_run_binary_operation_with_opt(
        &config,
        vec![Some(vec![1]), Some(vec![2])],
        vec![Some(vec![10]), None],
        |x, y| x.union(&y),
        2,
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("union") && msg.contains("2000 ms") && msg.contains("no batch"),
        "{msg}"
    );
}

#[test]
fn map_produces_nothing_for_a_missing_batch() {
    let out = run_opt(
        vec![Some(vec![1]), None, Some(vec![3])],
        |s| s.map(|x| x + 1),
        3,
    );
    // Only the two times that had a batch appear.
    assert_eq!(out, vec![vec![2], vec![4]]);
}

#[test]
fn transform_fails_when_its_parent_produces_no_batch() {
    let config = TestConfig::default();
    let err = try_run_operation_with_opt(
        &config,
        vec![None::<Vec<i32>>],
        |s| s.transform(|b, _| b),
        1,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            StreamingError::MissingParentBatch {
                operation: "transform",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn transform_gives_batch_and_time() {
    let input = vec![vec![3, 1, 2], vec![9, 7]];
    let out = run_operation(
        input,
        |s| s.transform(|b, t| b.sort_by(|x| *x).map(move |x| (t.as_millis(), x))),
        2,
    );
    assert_eq!(
        out,
        vec![
            vec![(1000, 1), (1000, 2), (1000, 3)],
            vec![(2000, 7), (2000, 9)]
        ]
    );
}

#[test]
fn transform_batch_api() {
    let input = vec![s(&["b a", "c a"])];
    let out = run_operation(
        input,
        |s| {
            s.transform(|b, _| {
                assert_eq!(b.num_partitions(), 2);
                assert_eq!(b.len(), 2);
                assert!(!b.is_empty());
                assert_eq!(b.iter().count(), 2);
                assert_eq!(b.take(1), vec!["b a".to_string()]);
                let words = b.flat_map(|l| l.split(' ').map(str::to_string).collect::<Vec<_>>());
                let counts = words.map(|w| (w, 1)).reduce_by_key(|a, b| a + b);
                let names = Batch::from(vec![("a".to_string(), "Ann"), ("b".to_string(), "Bob")]);
                counts
                    .join(&names)
                    .union(&Batch::from(vec![("z".to_string(), (0, "Zed"))]))
                    .filter(|(_, (n, _))| *n < 3)
                    .sort_by(|(k, _)| k.clone())
            })
        },
        1,
    );
    assert_eq!(
        out,
        vec![vec![
            ("a".to_string(), (2, "Ann")),
            ("b".to_string(), (1, "Bob")),
            ("z".to_string(), (0, "Zed"))
        ]]
    );
}

#[test]
fn transform_with_sees_both_batches() {
    let out = run_binary_operation(
        vec![vec![1, 2], vec![3]],
        vec![vec!["x"], vec!["y", "z"]],
        |a, b| {
            a.transform_with(&b, |x, y, t| {
                Batch::from(vec![(t.as_millis(), x.len(), y.len())])
            })
        },
        2,
    );
    assert_eq!(out, vec![vec![(1000, 2, 1)], vec![(2000, 1, 2)]]);
}

fn pairs(v: &[(&'static str, i32)]) -> Vec<(&'static str, i32)> {
    v.to_vec()
}

#[test]
fn join() {
    let a = vec![
        pairs(&[("a", 1), ("b", 2)]),
        pairs(&[("a", 1), ("a", 2)]),
        pairs(&[("c", 3)]),
    ];
    let b = vec![
        vec![("a", 'x'), ("b", 'y')],
        vec![("a", 'z')],
        vec![("d", 'w')],
    ];
    let out = run_binary_operation(a, b, |x, y| x.join(&y), 3);
    assert_eq!(
        sorted(out),
        vec![
            vec![("a", (1, 'x')), ("b", (2, 'y'))],
            vec![("a", (1, 'z')), ("a", (2, 'z'))],
            vec![]
        ]
    );
}

#[test]
fn left_outer_join() {
    let a = vec![pairs(&[("a", 1), ("b", 2)]), pairs(&[("c", 3)])];
    let b = vec![vec![("a", 'x'), ("a", 'y')], vec![]];
    let out = run_binary_operation(a, b, |x, y| x.left_outer_join(&y), 2);
    assert_eq!(
        sorted(out),
        vec![
            vec![
                ("a", (1, Some('x'))),
                ("a", (1, Some('y'))),
                ("b", (2, None))
            ],
            vec![("c", (3, None))]
        ]
    );
}

#[test]
fn right_outer_join() {
    let a = vec![pairs(&[("a", 1), ("b", 2)])];
    let b = vec![vec![("a", 'x'), ("c", 'z')]];
    let out = run_binary_operation(a, b, |x, y| x.right_outer_join(&y), 1);
    assert_eq!(
        sorted(out),
        vec![vec![("a", (Some(1), 'x')), ("c", (None, 'z'))]]
    );
}

#[test]
fn full_outer_join() {
    let a = vec![pairs(&[("a", 1), ("b", 2)])];
    let b = vec![vec![("a", 'x'), ("c", 'z')]];
    let out = run_binary_operation(a, b, |x, y| x.full_outer_join(&y), 1);
    assert_eq!(
        sorted(out),
        vec![vec![
            ("a", (Some(1), Some('x'))),
            ("b", (Some(2), None)),
            ("c", (None, Some('z')))
        ]]
    );
}

#[test]
fn cogroup() {
    let a = vec![pairs(&[("a", 1), ("a", 2), ("b", 3)])];
    let b = vec![vec![("a", 'x'), ("c", 'z')]];
    let out = run_binary_operation(a, b, |x, y| x.cogroup(&y), 1);
    assert_eq!(
        sorted(out),
        vec![vec![
            ("a", (vec![1, 2], vec!['x'])),
            ("b", (vec![3], vec![])),
            ("c", (vec![], vec!['z']))
        ]]
    );
}

#[test]
fn join_fails_when_a_parent_produces_no_batch() {
    let err = try_run_binary_operation_with_opt(
        &TestConfig::default(),
        vec![Some(vec![("a", 1)])],
        vec![None::<Vec<(&str, i32)>>],
        |x, y| x.join(&y),
        1,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            StreamingError::MissingParentBatch {
                operation: "join",
                parent: 1,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_panic_in_a_user_function_becomes_an_error() {
    let err = try_run_operation(
        vec![vec![1, 2], vec![3]],
        |s| {
            s.map(|x: i32| {
                if x == 3 {
                    panic!("cannot handle {x}");
                }
                x
            })
        },
        2,
    )
    .unwrap_err();
    match err {
        StreamingError::UserPanic { time, message } => {
            assert_eq!(time, Time::from_millis(2000));
            assert_eq!(message, "cannot handle 3");
        }
        other => panic!("unexpected error {other}"),
    }
}

#[test]
fn a_panic_in_a_reduce_function_becomes_an_error() {
    let err = try_run_operation(
        vec![vec![("a", 1), ("a", 2)]],
        |s| s.reduce_by_key(|_, _| panic!("bad reduce")),
        1,
    )
    .unwrap_err();
    assert!(
        matches!(&err, StreamingError::UserPanic { message, .. } if message == "bad reduce"),
        "{err}"
    );
}

#[test]
#[should_panic(expected = "user function panicked in batch 1000 ms: boom")]
fn run_operation_panics_with_the_error_message() {
    run_operation(
        vec![vec![1]],
        |s| s.map(|_: i32| -> i32 { panic!("boom") }),
        1,
    );
}

#[test]
fn shared_parent_is_computed_once_per_batch() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let out = run_operation(
        vec![vec![1, 2, 3], vec![4]],
        move |s| {
            let c = c.clone();
            let counted = s.map(move |x: i32| {
                c.fetch_add(1, Ordering::SeqCst);
                x
            });
            let a = counted.map(|x| x * 10);
            let b = counted.filter(|x| x % 2 == 1);
            a.union(&b)
        },
        2,
    );
    assert_eq!(out, vec![vec![10, 20, 30, 1, 3], vec![40]]);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        4,
        "each element is mapped once, not once per consumer"
    );
}

#[test]
fn print_layout_matches_spark() {
    let dashes = "-".repeat(43);
    let text = print_layout(Time::from_millis(1000), &[("Spark", 1), ("Queue", 2)], 10);
    assert_eq!(
        text,
        format!("{dashes}\nTime: 1000 ms\n{dashes}\n(\"Spark\", 1)\n(\"Queue\", 2)\n\n")
    );
    let many: Vec<u32> = (0..11).collect();
    let text = print_layout(Time::from_millis(2000), &many, 10);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3 + 10 + 1 + 1);
    assert_eq!(lines[12], "9");
    assert_eq!(lines[13], "...");
    assert_eq!(lines[14], "");
    let empty: [u8; 0] = [];
    assert_eq!(
        print_layout(Time::from_millis(5), &empty, 10),
        format!("{dashes}\nTime: 5 ms\n{dashes}\n\n")
    );
}
