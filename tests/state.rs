//! Stateful operations against Spark's semantics: `update_state_by_key`
//! (and its variants) and `map_with_state` with timeouts, driven by the
//! manual clock; checkpoint requirement; snapshot and restore of state.

use std::sync::{Arc, Mutex};

use streaming::prelude::*;
use streaming::testing::*;
use streaming::{ManualClock, MappingFunction, StateError, StatefulOperator};

mod support;
use support::{
    collect, context_without_checkpoint, input_from, manual_conf, run_batches, run_example,
    run_opt, sorted, Collected,
};

const SEC: Duration = Duration::from_secs(1);

fn words(batches: &[&[&str]]) -> Vec<Vec<String>> {
    batches
        .iter()
        .map(|b| b.iter().map(|w| w.to_string()).collect())
        .collect()
}

fn counts(batches: &[&[(&str, u64)]]) -> Vec<Vec<(String, u64)>> {
    batches
        .iter()
        .map(|b| b.iter().map(|(k, v)| (k.to_string(), *v)).collect())
        .collect()
}

/// Spark's `StateDStream` test input: keys arrive, then stop arriving.
fn spark_state_input() -> Vec<Vec<String>> {
    words(&[
        &["a"],
        &["a", "b"],
        &["a", "b", "c"],
        &["a", "b"],
        &["a"],
        &[],
    ])
}

/// The running count of every key seen so far, after each batch of
/// [`spark_state_input`] (Spark's expected output).
fn running_counts() -> Vec<Vec<(String, u64)>> {
    counts(&[
        &[("a", 1)],
        &[("a", 2), ("b", 1)],
        &[("a", 3), ("b", 2), ("c", 1)],
        &[("a", 4), ("b", 3), ("c", 1)],
        &[("a", 5), ("b", 3), ("c", 1)],
        &[("a", 5), ("b", 3), ("c", 1)],
    ])
}

fn running_sum(new: &[u64], old: Option<u64>) -> Option<u64> {
    Some(old.unwrap_or(0) + new.iter().sum::<u64>())
}

// ------------------------------------------------------ update_state_by_key

#[test]
fn seed_example_running_word_count() {
    // The tutorial's updateStateByKey example: three queued batches.
    let input = words(&[&["a", "b", "c"], &["b", "c"], &["a", "a", "a"]]);
    let out = run_operation(
        input,
        |s| s.map(|w| (w, 1u64)).update_state_by_key(running_sum),
        3,
    );
    assert_eq!(
        sorted(out),
        counts(&[
            &[("a", 1), ("b", 1), ("c", 1)],
            &[("a", 1), ("b", 2), ("c", 2)],
            &[("a", 4), ("b", 2), ("c", 2)],
        ])
    );
}

#[test]
fn update_state_by_key_emits_every_key_every_batch() {
    let input = spark_state_input();
    let out = run_operation(
        input,
        |s| s.map(|w| (w, 1u64)).update_state_by_key(running_sum),
        6,
    );
    assert_eq!(sorted(out), running_counts());
}

#[test]
fn update_function_sees_empty_values_for_keys_without_data_and_none_removes() {
    // Each key lives for two batches without new data, then is removed.
    let input = words(&[&["a"], &["b"], &[], &[], &["a"]]);
    let out = run_operation(
        input,
        |s| {
            s.map(|w| (w, ()))
                .update_state_by_key(|new: &[()], idle: Option<u32>| {
                    if !new.is_empty() {
                        Some(0)
                    } else {
                        let idle =
                            idle.expect("called without values only for keys with state") + 1;
                        (idle < 3).then_some(idle)
                    }
                })
        },
        5,
    );
    let expected: Vec<Vec<(String, u32)>> = vec![
        vec![("a".into(), 0)],
        vec![("a".into(), 1), ("b".into(), 0)],
        vec![("a".into(), 2), ("b".into(), 1)],
        vec![("b".into(), 2)],
        vec![("a".into(), 0)],
    ];
    assert_eq!(sorted(out), expected);
}

#[test]
fn new_values_arrive_in_order() {
    let input: Vec<Vec<(u8, i32)>> = vec![vec![(0, 1), (0, 2), (0, 3), (0, 4)], vec![(0, 5)]];
    let out = run_operation(
        input,
        |s| {
            s.update_state_by_key(|new: &[i32], old: Option<Vec<i32>>| {
                let mut all = old.unwrap_or_default();
                all.extend_from_slice(new);
                Some(all)
            })
        },
        2,
    );
    assert_eq!(out[1], vec![(0, vec![1, 2, 3, 4, 5])]);
}

#[test]
fn update_state_by_key_with_initial_state() {
    let initial = Batch::from(vec![("a".to_string(), 10u64), ("z".to_string(), 5)]);
    let input = words(&[&["a", "b"], &["b"]]);
    let out = run_operation(
        input,
        move |s| {
            s.map(|w| (w, 1u64))
                .update_state_by_key_with_initial(running_sum, initial)
        },
        2,
    );
    assert_eq!(
        sorted(out),
        counts(&[
            &[("a", 11), ("b", 1), ("z", 5)],
            &[("a", 11), ("b", 2), ("z", 5)],
        ])
    );
}

#[test]
fn update_state_by_key_with_time_gets_the_batch_time_and_key() {
    let input = words(&[&["a"], &["b"], &["a"]]);
    let out = run_operation(
        input,
        |s| {
            s.map(|w| (w, 1u64)).update_state_by_key_with_time(
                |time: Time, key: &String, new: &[u64], old: Option<String>| {
                    let mut log = old.unwrap_or_default();
                    if !new.is_empty() {
                        log.push_str(&format!("{key}@{} ", time.as_millis()));
                    }
                    Some(log)
                },
            )
        },
        3,
    );
    let last = sorted(out).pop().unwrap();
    assert_eq!(
        last,
        vec![
            ("a".to_string(), "a@1000 a@3000 ".to_string()),
            ("b".to_string(), "b@2000 ".to_string())
        ]
    );
}

#[test]
fn state_starts_with_the_first_parent_batch_and_survives_missing_ones() {
    let input = vec![
        None,
        Some(words(&[&["a"]]).remove(0)),
        None,
        Some(words(&[&["a"]]).remove(0)),
    ];
    let out = run_opt(
        input,
        |s| s.map(|w| (w, 1u64)).update_state_by_key(running_sum),
        4,
    );
    // No batch at 1 s (no parent batch, no state yet); at 3 s the state is
    // carried over without values.
    assert_eq!(out, counts(&[&[("a", 1)], &[("a", 1)], &[("a", 2)]]));
}

#[test]
fn keyed_state_is_hash_partitioned_into_the_parallelism() {
    let input: Vec<Vec<(u32, u64)>> = vec![(0..100).map(|k| (k, 1)).collect(); 3];
    let out = run_operation(input, |s| s.update_state_by_key(running_sum).glom(), 3);
    // local[2]: two partitions, and a key stays in its partition.
    let where_is = |batch: &Vec<Vec<(u32, u64)>>| -> Vec<usize> {
        let mut at = vec![usize::MAX; 100];
        for (j, part) in batch.iter().enumerate() {
            for &(k, _) in part {
                at[k as usize] = j;
            }
        }
        at
    };
    assert!(out.iter().all(|b| b.len() == 2));
    assert!(out[0].iter().all(|p| !p.is_empty()), "both partitions used");
    assert_eq!(where_is(&out[0]), where_is(&out[2]));
    assert!(out[2].iter().flatten().all(|&(_, c)| c == 3));
}

#[test]
fn a_panicking_update_function_fails_the_batch() {
    let err = try_run_operation(
        words(&[&["a"], &["boom"]]),
        |s| {
            s.map(|w| (w, 1u64)).update_state_by_key_with_time(
                |_: Time, key: &String, new: &[u64], old: Option<u64>| {
                    assert!(key != "boom", "bad word {key}");
                    running_sum(new, old)
                },
            )
        },
        2,
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("bad word boom") && msg.contains("2000 ms"),
        "{msg}"
    );
}

// ------------------------------------------------------------ map_with_state

// The key is `&K` for `K = String`, as the mapping function receives it.
#[allow(clippy::ptr_arg)]
fn running_count(key: &String, value: Option<u64>, state: &mut State<u64>) -> (String, u64) {
    let sum = value.unwrap_or(0) + state.get().copied().unwrap_or(0);
    state.update(sum);
    (key.clone(), sum)
}

/// Runs `map_with_state(spec)` over `input`'s words, each with the value 1,
/// for `batches` batches; returns its output and its state snapshots.
fn map_with_snapshots<U: Data, F: MappingFunction<String, u64, u64, U>>(
    input: Vec<Vec<String>>,
    spec: StateSpec<String, u64, u64, U, F>,
    batches: usize,
) -> (Vec<Vec<U>>, Vec<Vec<(String, u64)>>) {
    let snapshots: Collected<(String, u64)> = Arc::default();
    let sink = snapshots.clone();
    let out = run_operation(
        input,
        move |s| {
            let m = s.map(|w| (w, 1u64)).map_with_state(spec);
            m.state_snapshots()
                .foreach_batch(move |b, _| sink.lock().unwrap().push(b.collect()));
            m.into_dstream()
        },
        batches,
    );
    let snapshots = snapshots.lock().unwrap().clone();
    (out, snapshots)
}

#[test]
fn map_with_state_basic_operations() {
    let input = words(&[
        &[],
        &["a"],
        &["a", "b"],
        &["a", "b", "c"],
        &["a", "b"],
        &["a"],
        &[],
    ]);
    let (out, snapshots) = map_with_snapshots(input.clone(), StateSpec::function(running_count), 7);
    // The same spec with its function boxed (one type for any function).
    let boxed: StateSpec<String, u64, u64, (String, u64)> =
        StateSpec::function(running_count).boxed();
    let (boxed_out, boxed_snapshots) = map_with_snapshots(input, boxed, 7);
    assert_eq!(sorted(boxed_out), sorted(out.clone()));
    assert_eq!(sorted(boxed_snapshots), sorted(snapshots.clone()));
    assert_eq!(
        sorted(out),
        counts(&[
            &[],
            &[("a", 1)],
            &[("a", 2), ("b", 1)],
            &[("a", 3), ("b", 2), ("c", 1)],
            &[("a", 4), ("b", 3)],
            &[("a", 5)],
            &[],
        ])
    );
    assert_eq!(
        sorted(snapshots),
        // The state after each batch, from before the first one.
        [vec![]]
            .into_iter()
            .chain(running_counts())
            .collect::<Vec<_>>()
    );
}

#[test]
fn map_with_state_is_called_per_record_in_order() {
    let input = words(&[&["a", "a", "b", "a"]]);
    let out = run_operation(
        input,
        |s| {
            s.map(|w| (w, 1u64))
                .map_with_state(StateSpec::function(running_count))
                .into_dstream()
        },
        1,
    );
    let of_a: Vec<u64> = out[0]
        .iter()
        .filter(|(k, _)| k == "a")
        .map(|&(_, c)| c)
        .collect();
    assert_eq!(of_a, vec![1, 2, 3]);
}

#[test]
fn map_with_state_removes_state_and_uses_the_initial_state() {
    // Remove a key's state once it reaches 3; report what happened.
    let spec = StateSpec::function(|key: &String, _v: Option<u64>, state: &mut State<u64>| {
        let n = state.get().copied().unwrap_or(0) + 1;
        if n >= 3 {
            state.remove();
            assert!(!state.exists() && state.get().is_none());
            format!("{key} removed")
        } else {
            state.update(n);
            format!("{key}={n}")
        }
    })
    .initial_state(vec![("b".to_string(), 1u64)]);
    let (out, snapshots) =
        map_with_snapshots(words(&[&["a", "b"], &["a", "b"], &["a"], &["a"]]), spec, 4);
    let out: Vec<Vec<String>> = sorted(out);
    assert_eq!(
        out,
        vec![
            vec!["a=1".to_string(), "b=2".to_string()],
            vec!["a=2".to_string(), "b removed".to_string()],
            vec!["a removed".to_string()],
            vec!["a=1".to_string()],
        ]
    );
    assert_eq!(
        sorted(snapshots),
        counts(&[&[("a", 1), ("b", 2)], &[("a", 2)], &[], &[("a", 1)]])
    );
}

/// What a timing-out test records: each call with its value and whether
/// the state was timing out.
type Calls = Vec<(u64, String, Option<u64>, bool)>;

#[test]
fn map_with_state_times_out_idle_keys() {
    // Timeout 2 s, batches every second: a key idle for more than 2 s (its
    // last record before `batch time - 2 s`) gets one last call and goes.
    let input = words(&[&["a", "b"], &["b"], &["b"], &[], &[], &[], &["a"], &[]]);
    let calls: Arc<Mutex<Calls>> = Arc::default();
    let log = calls.clone();
    let spec = StateSpec::function_with_time(
        move |time: Time, key: &String, value: Option<u64>, state: &mut State<u64>| {
            log.lock()
                .unwrap()
                .push((time.as_millis(), key.clone(), value, state.is_timing_out()));
            if state.is_timing_out() {
                assert!(state.exists() && state.get().is_some());
                Some(format!("{key} timed out"))
            } else {
                state.update(state.get().copied().unwrap_or(0) + 1);
                None
            }
        },
    )
    .timeout(Duration::from_secs(2));
    let (out, snapshots) = map_with_snapshots(input, spec, 8);
    let s = |x: &str| x.to_string();
    assert_eq!(
        out,
        vec![
            vec![],
            vec![],
            vec![],
            vec![s("a timed out")], // a: last record at 1 s < 4 s - 2 s
            vec![],
            vec![s("b timed out")], // b: last record at 3 s < 6 s - 2 s
            vec![],
            vec![],
        ]
    );
    let timing_out: Vec<(u64, String)> = calls
        .lock()
        .unwrap()
        .iter()
        .filter(|c| c.3)
        .map(|c| {
            assert_eq!(c.2, None, "a timing-out call has no value");
            (c.0, c.1.clone())
        })
        .collect();
    assert_eq!(timing_out, vec![(4000, s("a")), (6000, s("b"))]);
    let snaps = sorted(snapshots);
    assert_eq!(snaps[2], counts(&[&[("a", 1), ("b", 3)]])[0]);
    assert_eq!(snaps[3], counts(&[&[("b", 3)]])[0]);
    assert!(snaps[5].is_empty());
    // a came back at 7 s as a new key.
    assert_eq!(snaps[7], counts(&[&[("a", 1)]])[0]);
}

#[test]
fn a_record_keeps_a_key_from_timing_out_even_without_an_update() {
    // The function never updates after the first record, yet records keep
    // the key alive (Spark refreshes the time of keys that receive data).
    let spec = StateSpec::function(|key: &String, v: Option<()>, state: &mut State<u8>| {
        if !state.exists() {
            state.update(0);
        }
        format!("{key}:{}", if v.is_some() { "data" } else { "timeout" })
    })
    .timeout(SEC);
    let out = run_operation(
        words(&[&["a"], &["a"], &["a"], &[], &[]]),
        move |s| s.map(|w| (w, ())).map_with_state(spec).into_dstream(),
        5,
    );
    let s = |x: &str| vec![x.to_string()];
    assert_eq!(
        out,
        vec![
            s("a:data"),
            s("a:data"),
            s("a:data"),
            vec![],
            s("a:timeout")
        ]
    );
}

#[test]
fn updating_a_timing_out_state_is_an_error() {
    let spec = StateSpec::function(|_: &String, _: Option<u64>, state: &mut State<u64>| {
        if state.is_timing_out() {
            assert_eq!(state.try_update(1), Err(StateError::UpdateTimingOut));
            assert_eq!(state.try_remove(), Err(StateError::RemoveTimingOut));
            state.update(1); // fails the batch
        } else {
            state.update(0);
        }
    })
    .timeout(SEC);
    let err = try_run_operation(
        words(&[&["a"]]),
        move |s| s.map(|w| (w, 1u64)).map_with_state(spec).into_dstream(),
        4,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot update the state that is timing out"),
        "{err}"
    );
}

#[test]
fn state_handle_refuses_use_after_remove() {
    let spec = StateSpec::function(|_: &String, _: Option<u64>, state: &mut State<u64>| {
        state.update(7);
        assert_eq!(state.get(), Some(&7));
        state.remove();
        let errors = (state.try_update(1), state.try_remove());
        assert!(!state.is_timing_out());
        errors
    });
    let out = run_operation(
        words(&[&["a"]]),
        move |s| s.map(|w| (w, 1u64)).map_with_state(spec).into_dstream(),
        1,
    );
    assert_eq!(
        out,
        vec![vec![(
            Err(StateError::UpdateRemoved),
            Err(StateError::RemoveRemoved)
        )]]
    );
}

#[test]
fn map_with_state_produces_a_batch_at_every_time_and_honours_num_partitions() {
    let spec = StateSpec::function(running_count).num_partitions(3);
    let out = run_opt(
        vec![
            None,
            Some(words(&[&["a", "b", "c", "d", "e", "f"]]).remove(0)),
            None,
        ],
        move |s| {
            s.map(|w| (w, 1u64))
                .map_with_state(spec)
                .state_snapshots()
                .glom()
        },
        3,
    );
    assert_eq!(out.len(), 3, "a batch even when the parent produced none");
    assert!(out.iter().all(|b| b.len() == 3), "three state partitions");
    assert!(out[0].iter().all(Vec::is_empty));
    assert_eq!(out[2].iter().map(Vec::len).sum::<usize>(), 6);
}

// ---------------------------------------------------- checkpoint requirement

#[test]
fn stateful_operations_require_a_checkpoint_directory() {
    type Build = fn(DStream<(String, u64)>);
    let cases: Vec<(&str, Build)> = vec![
        ("update_state_by_key", |s| {
            s.update_state_by_key(running_sum).print()
        }),
        ("map_with_state", |s| {
            s.map_with_state(StateSpec::function(running_count)).print()
        }),
    ];
    for (name, build) in cases {
        let ssc = context_without_checkpoint();
        build(ssc.input_stream_from_fn(|_| Some(Batch::empty())));
        let err = ssc.start().unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("checkpoint") && msg.contains(name), "{msg}");
    }
}

// ------------------------------------------------------- snapshot / restore

/// Runs `build` over `input` for batches `from + 1 ..= to`, starting the
/// clock at `from` seconds; `prepare` sees the stateful stream before start
/// (to restore a snapshot); returns the outputs and the stream's state.
fn run_span<U: Data>(
    input: &[Vec<String>],
    from: u64,
    to: u64,
    build: impl FnOnce(DStream<String>) -> DStream<U>,
    prepare: impl FnOnce(&dyn StatefulOperator),
) -> (Vec<Vec<U>>, Arc<dyn StatefulOperator>) {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_at(Time::from_millis(from * 1000));
    let ssc = StreamingContext::new(manual_conf(&clock)).unwrap();
    ssc.checkpoint(dir.path()).unwrap();
    let s = input_from(&ssc, input.to_vec());
    let out_stream = build(s);
    let state = out_stream.stateful_operator().expect("a stateful stream");
    prepare(state.as_ref());
    let out = collect(&out_stream);
    ssc.start().unwrap();
    run_batches(&ssc, from + 1..=to);
    ssc.stop(StopMode::Immediate);
    let out = std::mem::take(&mut *out.lock().unwrap());
    (out, state)
}

#[test]
fn update_state_by_key_resumes_from_a_snapshot() {
    let input = words(&[
        &["a", "b"],
        &["b", "c"],
        &["a"],
        &["c", "c"],
        &["d"],
        &["a"],
    ]);
    let build = |s: DStream<String>| s.map(|w| (w, 1u64)).update_state_by_key(running_sum);
    let (whole, _) = run_span(&input, 0, 6, build, |_| {});
    let (_, first) = run_span(&input, 0, 3, build, |_| {});
    let snapshot = first.snapshot().unwrap();
    assert_eq!(snapshot.time, Some(Time::from_millis(3000)));
    assert_eq!(first.num_entries(), 3);
    let (rest, resumed) = run_span(&input, 3, 6, build, |state| {
        state.restore(&snapshot).unwrap()
    });
    assert_eq!(sorted(rest), sorted(whole[3..].to_vec()));
    assert_eq!(resumed.state_time(), Some(Time::from_millis(6000)));
}

#[test]
fn map_with_state_resumes_from_a_snapshot_with_its_timeouts() {
    let input = words(&[&["a", "b"], &["b"], &["b"], &[], &[], &[], &["a"]]);
    let build = |s: DStream<String>| -> DStream<String> {
        let spec = StateSpec::function(|k: &String, v: Option<u64>, st: &mut State<u64>| {
            if st.is_timing_out() {
                format!("{k} timed out")
            } else {
                let n = st.get().copied().unwrap_or(0) + v.unwrap_or(0);
                st.update(n);
                format!("{k}={n}")
            }
        })
        .timeout(Duration::from_secs(2));
        s.map(|w| (w, 1u64)).map_with_state(spec).into_dstream()
    };
    let (whole, _) = run_span(&input, 0, 7, build, |_| {});
    let (_, first) = run_span(&input, 0, 3, build, |_| {});
    let snapshot = first.snapshot().unwrap();
    let (rest, _) = run_span(&input, 3, 7, build, |state| {
        state.restore(&snapshot).unwrap()
    });
    assert_eq!(rest, whole[3..].to_vec());
    assert!(rest.iter().flatten().any(|x| x == "a timed out"));
}

#[test]
fn a_snapshot_cannot_restore_another_operation() {
    let input = words(&[&["a"]]);
    let (_, state) = run_span(
        &input,
        0,
        1,
        |s| s.map(|w| (w, 1u64)).update_state_by_key(running_sum),
        |_| {},
    );
    let snapshot = state.snapshot().unwrap();
    let (_, other) = run_span(
        &input,
        0,
        1,
        |s| {
            s.map(|w| (w, 1u64))
                .map_with_state(StateSpec::function(running_count))
                .into_dstream()
        },
        |_| {},
    );
    let err = other.restore(&snapshot).unwrap_err();
    assert!(err.to_string().contains("update_state_by_key"), "{err}");
}

// ------------------------------------------------------------------ example

#[test]
fn the_stateful_word_count_example_prints_the_seeds_three_batches() {
    let text = run_example("stateful_word_count", &["--batch-ms", "200"]);
    let dashes = "-".repeat(43);
    let mut times = Vec::new();
    let mut shape = String::new();
    for line in text.lines() {
        match line
            .strip_prefix("Time: ")
            .and_then(|t| t.strip_suffix(" ms"))
        {
            Some(t) => {
                times.push(t.parse::<u64>().unwrap());
                shape.push_str("Time: T\n");
            }
            None => {
                shape.push_str(line);
                shape.push('\n');
            }
        }
    }
    let block = |lines: &[&str]| format!("{dashes}\nTime: T\n{dashes}\n{}\n\n", lines.join("\n"));
    let expected = [
        block(&[r#"("a", 1)"#, r#"("b", 1)"#, r#"("c", 1)"#]),
        block(&[r#"("a", 1)"#, r#"("b", 2)"#, r#"("c", 2)"#]),
        block(&[r#"("a", 4)"#, r#"("b", 2)"#, r#"("c", 2)"#]),
    ]
    .concat();
    assert_eq!(shape, expected);
    assert_eq!(times.len(), 3);
    assert!(times.windows(2).all(|w| w[1] - w[0] == 200), "{times:?}");
}

#[test]
fn closures_need_few_type_annotations() {
    let out = run_operation(
        words(&[&["a", "b"], &["a"]]),
        |s| {
            let pairs = s.map(|w| (w, 1u64));
            let totals =
                pairs.update_state_by_key(|new, old| Some(old.unwrap_or(0) + new.len() as u64));
            // Only the key needs a type: the closure is checked before `map_with_state`.
            let mapped = pairs.map_with_state(StateSpec::function(|key: &String, one, state| {
                let n = state.get().copied().unwrap_or(0u64) + one.unwrap_or(0);
                state.update(n);
                (key.clone(), n)
            }));
            totals.union(&mapped)
        },
        2,
    );
    assert_eq!(
        sorted(out),
        counts(&[
            &[("a", 1), ("a", 1), ("b", 1), ("b", 1)],
            &[("a", 2), ("a", 2), ("b", 1)],
        ])
    );
}
