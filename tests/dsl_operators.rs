//! Every operator of `stream!`'s table, executed: each test runs a `stream!`
//! pipeline and the same pipeline written with the plain API on the same
//! input (a manual clock, real sockets and files for the inputs) and
//! compares their outputs. The last test reads the operator table and
//! fails if an operator appears in no `stream!` pipeline of these tests (or
//! of `dsl_soundness.rs`, which compares the same way), so a new operator
//! cannot ship without being run.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use streaming::prelude::*;
use streaming::{Combiner, QueueSource};

#[macro_use]
mod support;
use support::files::{set_mtime, Dirs};
use support::twins::{drive, plain_context, twin_conf, Build};
use support::{wait_for_every, TIMEOUT};

/// One queued element.
type Item = (u8, i64);

/// The queue input of most tests: keys come, go and come back.
fn items() -> Vec<Vec<Item>> {
    vec![
        vec![(1, 1), (2, 5), (1, 2)],
        vec![(3, -1), (1, 4)],
        vec![],
        vec![(2, 2), (2, 3), (4, 0)],
        vec![(1, 7)],
    ]
}

/// A manual-clock configuration.
fn conf() -> StreamingConf {
    twin_conf("dsl-operators")
}

/// A test comparing a `stream!` body (reading `pairs` of [`items`],
/// binding `out`) with a plain-API function of the context and `pairs`.
macro_rules! same {
    ($name:ident, dsl { $($body:tt)* }, plain $plain:expr) => {
        #[test]
        fn $name() {
            let (dsl, plain) = twin_outputs!(items(), 3, pairs: Item, { $($body)* }, $plain);
            assert_eq!(dsl, plain);
            assert!(dsl.iter().any(|b| !b.is_empty()), "the pipeline produced nothing");
        }
    };
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

// ---------------------------------------------------------------- narrow

same!(
    narrow_map_flat_map_filter_map_values_flat_map_values,
    dsl {
        let out = pairs
            .map(|(k, v)| (k, v * 10))
            .filter(|(_, v)| *v != 20)
            .flat_map(|(k, v)| vec![(k, v), (k + 10, v)])
            .map_values(|v| v + 1)
            .flat_map_values(|v| vec![v, -v]);
    },
    plain |_: &StreamingContext, p: DStream<Item>| p
        .map(|(k, v)| (k, v * 10))
        .filter(|(_, v)| *v != 20)
        .flat_map(|(k, v)| vec![(k, v), (k + 10, v)])
        .map_values(|v| v + 1)
        .flat_map_values(|v| vec![v, -v])
);

same!(
    narrow_partition_functions_and_glom,
    dsl {
        let indexed = pairs.map_partitions_with_index(|i, it| it.map(move |(k, v)| (k, v + i as i64 * 100)));
        let sums = pairs.map_partitions(|it| it.map(|(_, v)| v).sum::<i64>().checked_abs().map(|s| (0u8, s)));
        let sizes = pairs.glom().map(|part| (200u8, part.len() as i64));
        let out = indexed.union(&sums).union(&sizes);
    },
    plain |_: &StreamingContext, p: DStream<Item>| {
        let indexed = p.map_partitions_with_index(|i, it| it.map(move |(k, v)| (k, v + i as i64 * 100)));
        let sums = p.map_partitions(|it| it.map(|(_, v)| v).sum::<i64>().checked_abs().map(|s| (0u8, s)));
        let sizes = p.glom().map(|part| (200u8, part.len() as i64));
        indexed.union(&sizes.union(&sums))
    }
);

same!(
    narrow_transform_transform_with_and_persistence,
    dsl {
        let doubled = pairs.transform(|b: Batch<Item>, _t| b.map(|(k, v)| (k, v * 2))).cache();
        let kept = pairs.persist().name("kept").checkpoint(2s);
        let out = doubled.transform_with(&kept, |a: Batch<Item>, b: Batch<Item>, _t| a.union(&b));
    },
    plain |_: &StreamingContext, p: DStream<Item>| {
        let doubled = p.transform(|b: Batch<Item>, _t| b.map(|(k, v)| (k, v * 2))).cache();
        let kept = p.persist().name("kept").checkpoint(secs(2));
        doubled.transform_with(&kept, |a: Batch<Item>, b: Batch<Item>, _t| a.union(&b))
    }
);

// --------------------------------------------------------------- shuffle

same!(
    shuffle_counts_reductions_and_groups,
    dsl {
        let total = pairs.count().map(|n| (100u8, n as i64));
        let biggest = pairs.map(|(_, v)| v).reduce(max).map(|v| (101u8, v));
        let values = pairs.map(|(_, v)| v).count_by_value().map(|(v, n)| (102u8, v * 1000 + n as i64));
        let values3 = pairs.map(|(k, _)| k).count_by_value(3).map(|(k, n)| (k + 110, n as i64));
        let sums = pairs.reduce_by_key(sum);
        let sums3 = pairs.reduce_by_key(|a, b| a + b, 3).map(|(k, v)| (k + 120, v));
        let sums2 = pairs.reduce_by_key_with_partitions(min, 2).map(|(k, v)| (k + 130, v));
        let groups = pairs.group_by_key().map(|(k, vs)| (k + 140, vs.iter().sum::<i64>()));
        let groups2 = pairs.group_by_key(2).map(|(k, vs)| (k + 150, vs.len() as i64));
        let spread = pairs.repartition(3).map(|(k, v)| (k + 160, v));
        let out = total.union(&biggest).union(&values).union(&values3).union(&sums).union(&sums3)
            .union(&sums2).union(&groups).union(&groups2).union(&spread);
    },
    plain |_: &StreamingContext, p: DStream<Item>| {
        let total = p.count().map(|n| (100u8, n as i64));
        let biggest = p.map(|(_, v)| v).reduce(std::cmp::max).map(|v| (101u8, v));
        let values = p.map(|(_, v)| v).count_by_value().map(|(v, n)| (102u8, v * 1000 + n as i64));
        let values3 = p.map(|(k, _)| k).count_by_value_with_partitions(3).map(|(k, n)| (k + 110, n as i64));
        let sums = p.reduce_by_key(|a, b| a + b);
        let sums3 = p.reduce_by_key_with_partitions(|a, b| a + b, 3).map(|(k, v)| (k + 120, v));
        let sums2 = p.reduce_by_key_with_partitions(std::cmp::min, 2).map(|(k, v)| (k + 130, v));
        let groups = p.group_by_key().map(|(k, vs)| (k + 140, vs.iter().sum::<i64>()));
        let groups2 = p.group_by_key_with_partitions(2).map(|(k, vs)| (k + 150, vs.len() as i64));
        let spread = p.repartition(3).map(|(k, v)| (k + 160, v));
        total.union(&biggest).union(&values).union(&values3).union(&sums).union(&sums3)
            .union(&sums2).union(&groups).union(&groups2).union(&spread)
    }
);

same!(
    shuffle_combines,
    dsl {
        let combined = pairs.combine_by_key(|v| (v, 1i64), |(s, n), v| (s + v, n + 1), |(a, n), (b, m)| (a + b, n + m))
            .map(|(k, (s, n))| (k, s * 100 + n));
        let into = pairs.combine_into_by_key(
            |(k, v): Item, out: &mut Combiner<u8, i64>| out.insert(k + 10, v, |v| v, |a, v| a.max(v)),
            |a: i64, b: i64| a.max(b),
        );
        let by_ref = pairs.combine_ref_into_by_key(
            |(k, v): &Item, out: &mut Combiner<u8, i64>| out.insert_ref(*k + 20, *v, |v| v, |a, v| a + v),
            |a: i64, b: i64| a + b,
        );
        let out = combined.union(&into).union(&by_ref);
    },
    plain |_: &StreamingContext, p: DStream<Item>| {
        let combined = p
            .combine_by_key(|v| (v, 1i64), |(s, n), v| (s + v, n + 1), |(a, n), (b, m)| (a + b, n + m))
            .map(|(k, (s, n))| (k, s * 100 + n));
        let into = p.map(|(k, v)| (k + 10, v)).reduce_by_key(|a: i64, b: i64| a.max(b));
        let by_ref = p.map(|(k, v)| (k + 20, v)).reduce_by_key(|a, b| a + b);
        combined.union(&into).union(&by_ref)
    }
);

same!(
    shuffle_joins_and_cogroup,
    dsl {
        let left = pairs.filter(|(k, _)| *k != 4);
        let right = pairs.filter(|(k, _)| *k != 3).map_values(|v| v * 2);
        let inner = left.join(&right).map(|(k, (a, b))| (k, a * 1000 + b));
        let lo = left.left_outer_join(&right).map(|(k, (a, b))| (k + 10, a * 1000 + b.unwrap_or(-1)));
        let ro = left.right_outer_join(&right).map(|(k, (a, b))| (k + 20, a.unwrap_or(-1) * 1000 + b));
        let fo = left.full_outer_join(&right).map(|(k, (a, b))| (k + 30, a.unwrap_or(-1) * 1000 + b.unwrap_or(-1)));
        let co = left.cogroup(&right).map(|(k, (a, b))| (k + 40, a.len() as i64 * 10 + b.len() as i64));
        let out = inner.union(&lo).union(&ro).union(&fo).union(&co);
    },
    plain |_: &StreamingContext, p: DStream<Item>| {
        let left = p.filter(|(k, _)| *k != 4);
        let right = p.filter(|(k, _)| *k != 3).map_values(|v| v * 2);
        let inner = left.join(&right).map(|(k, (a, b))| (k, a * 1000 + b));
        let lo = left.left_outer_join(&right).map(|(k, (a, b))| (k + 10, a * 1000 + b.unwrap_or(-1)));
        let ro = left.right_outer_join(&right).map(|(k, (a, b))| (k + 20, a.unwrap_or(-1) * 1000 + b));
        let fo = left.full_outer_join(&right).map(|(k, (a, b))| (k + 30, a.unwrap_or(-1) * 1000 + b.unwrap_or(-1)));
        let co = left.cogroup(&right).map(|(k, (a, b))| (k + 40, a.len() as i64 * 10 + b.len() as i64));
        inner.union(&lo).union(&ro).union(&fo).union(&co)
    }
);

// ---------------------------------------------------------------- window

same!(
    window_operators_on_single_values,
    dsl {
        let values = pairs.map(|(_, v)| v);
        let all = values.window(2s, 1s).map(|v| (0u8, v));
        let n = values.count_by_window(3s, 1s).map(|n| (1u8, n as i64));
        let top = values.reduce_by_window(max, 2s, 1s).map(|v| (2u8, v));
        let total = values.reduce_by_window(|a, b| a + b, |a, b| a - b, 3s, 1s).map(|v| (3u8, v));
        let total2 = values.reduce_by_window_inv(|a, b| a + b, |a, b| a - b, 2s, 2s).map(|v| (4u8, v));
        let summed = values.sum_by_window(2s, 1s).map(|v| (5u8, v));
        let distinct = values.count_by_value_and_window(2s, 1s).map(|(v, n)| (6u8, v * 100 + n as i64));
        let out = all.union(&n).union(&top).union(&total).union(&summed).union(&distinct)
            .window(2s, 2s).union(&total2);
    },
    plain |_: &StreamingContext, p: DStream<Item>| {
        let values = p.map(|(_, v)| v);
        let all = values.window(secs(2), secs(1)).map(|v| (0u8, v));
        let n = values.count_by_window(secs(3), secs(1)).map(|n| (1u8, n as i64));
        let top = values.reduce_by_window(std::cmp::max, secs(2), secs(1)).map(|v| (2u8, v));
        let total = values.reduce_by_window_inv(|a, b| a + b, |a, b| a - b, secs(3), secs(1)).map(|v| (3u8, v));
        let total2 = values.reduce_by_window_inv(|a, b| a + b, |a, b| a - b, secs(2), secs(2)).map(|v| (4u8, v));
        let summed = values.sum_by_window(secs(2), secs(1)).map(|v| (5u8, v));
        let distinct = values.count_by_value_and_window(secs(2), secs(1)).map(|(v, n)| (6u8, v * 100 + n as i64));
        all.union(&n).union(&top).union(&total).union(&summed).union(&distinct)
            .window(secs(2), secs(2)).union(&total2)
    }
);

same!(
    window_operators_by_key,
    dsl {
        let groups = pairs.group_by_key_and_window(2s, 1s).map(|(k, mut vs)| { vs.sort(); (k, vs.iter().fold(0, |a, v| a * 10 + v)) });
        let panes = pairs.reduce_by_key_and_window(|a, b| a.max(b), 3s, 1s).map(|(k, v)| (k + 10, v));
        let inv = pairs.reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 3s, 1s).map(|(k, v)| (k + 20, v));
        let inv2 = pairs.reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, 2s, 1s).map(|(k, v)| (k + 30, v));
        let filtered = pairs.reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 2s, 1s, |(_, v)| *v > 2).map(|(k, v)| (k + 40, v));
        let filtered2 = pairs.reduce_by_key_and_window_inv_filtered(|a, b| a + b, |a, b| a - b, 3s, 1s, |(_, v)| *v != 0).map(|(k, v)| (k + 50, v));
        let summed = pairs.sum_by_key_and_window(3s, 1s).map(|(k, v)| (k + 60, v));
        let combined = pairs.sum_ref_into_by_key_and_window(
            |(k, v): &Item, out: &mut Combiner<u8, i64>| out.insert_ref(*k + 70, *v, |v| v, |a, v| a + v),
            3s,
            1s,
        );
        let out = groups.union(&panes).union(&inv).union(&inv2).union(&filtered).union(&filtered2).union(&summed).union(&combined);
    },
    plain |_: &StreamingContext, p: DStream<Item>| {
        let groups = p.group_by_key_and_window(secs(2), secs(1)).map(|(k, mut vs)| {
            vs.sort();
            (k, vs.iter().fold(0, |a, v| a * 10 + v))
        });
        let panes = p.reduce_by_key_and_window(|a: i64, b: i64| a.max(b), secs(3), secs(1)).map(|(k, v)| (k + 10, v));
        let inv = p.reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, secs(3), secs(1)).map(|(k, v)| (k + 20, v));
        let inv2 = p.reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, secs(2), secs(1)).map(|(k, v)| (k + 30, v));
        let filtered = p
            .reduce_by_key_and_window_inv_filtered(|a, b| a + b, |a, b| a - b, secs(2), secs(1), |(_, v)| *v > 2)
            .map(|(k, v)| (k + 40, v));
        let filtered2 = p
            .reduce_by_key_and_window_inv_filtered(|a, b| a + b, |a, b| a - b, secs(3), secs(1), |(_, v)| *v != 0)
            .map(|(k, v)| (k + 50, v));
        let summed = p.reduce_by_key_and_window(|a, b| a + b, secs(3), secs(1)).map(|(k, v)| (k + 60, v));
        let combined = p.map(|(k, v)| (k + 70, v)).reduce_by_key_and_window(|a, b| a + b, secs(3), secs(1));
        groups.union(&panes).union(&inv).union(&inv2).union(&filtered).union(&filtered2).union(&summed).union(&combined)
    }
);

// ----------------------------------------------------------------- state

same!(
    state_operators,
    dsl {
        let running = pairs.update_state_by_key(|vs: &[i64], s: Option<i64>| Some(s.unwrap_or(0) + vs.iter().sum::<i64>())).name("running");
        let seeded = pairs.update_state_by_key_with_initial(
            |vs: &[i64], s: Option<i64>| Some(s.unwrap_or(0) + vs.len() as i64),
            Batch::from(vec![(1u8, 100i64), (9, 900)]),
        ).map(|(k, v)| (k + 10, v));
        let timed = pairs.update_state_by_key_with_time(|t: Time, k: &u8, vs: &[i64], s: Option<i64>| {
            Some(s.unwrap_or(0) + vs.len() as i64 * (t.as_millis() as i64 / 1000) + *k as i64)
        }).map(|(k, v)| (k + 20, v));
        let mapped = pairs.map_with_state(StateSpec::function(|k: &u8, v: Option<i64>, state: &mut State<i64>| {
            let total = state.get().copied().unwrap_or(0) + v.unwrap_or(0);
            state.update(total);
            (*k + 30, total)
        }));
        let snapshots = mapped.state_snapshots().map(|(k, s)| (k + 40, s));
        let out = running.union(&seeded).union(&timed).union(&mapped).union(&snapshots);
    },
    plain |_: &StreamingContext, p: DStream<Item>| {
        let running = p
            .update_state_by_key(|vs: &[i64], s: Option<i64>| Some(s.unwrap_or(0) + vs.iter().sum::<i64>()))
            .name("running");
        let seeded = p
            .update_state_by_key_with_initial(
                |vs: &[i64], s: Option<i64>| Some(s.unwrap_or(0) + vs.len() as i64),
                Batch::from(vec![(1u8, 100i64), (9, 900)]),
            )
            .map(|(k, v)| (k + 10, v));
        let timed = p
            .update_state_by_key_with_time(|t: Time, k: &u8, vs: &[i64], s: Option<i64>| {
                Some(s.unwrap_or(0) + vs.len() as i64 * (t.as_millis() as i64 / 1000) + *k as i64)
            })
            .map(|(k, v)| (k + 20, v));
        let mapped = p.map_with_state(StateSpec::function(|k: &u8, v: Option<i64>, state: &mut State<i64>| {
            let total = state.get().copied().unwrap_or(0) + v.unwrap_or(0);
            state.update(total);
            (*k + 30, total)
        }));
        let snapshots = mapped.state_snapshots().map(|(k, s)| (k + 40, s));
        running.union(&seeded).union(&timed).union(&mapped).union(&snapshots)
    }
);

/// `.name(..)` names the state of a stateful operator in its snapshots.
#[test]
fn name_names_the_state_of_a_stateful_operator() {
    let build: Build<Item, Item> = |conf, queue, dir| {
        stream! {
            context(conf = conf, batch = 1s, checkpoint = dir);
            let out = queue_stream(queue, true)
                .update_state_by_key(|vs: &[i64], s: Option<i64>| Some(s.unwrap_or(0) + vs.len() as i64))
                .name("visits");
            out
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let (_ssc, out) = build(conf(), BatchQueue::new(), dir.path()).unwrap();
    assert_eq!(out.given_name().as_deref(), Some("visits"));
}

// ---------------------------------------------------------------- output

/// The files under `dir` (recursively) with their contents, by path
/// relative to `dir`, sorted.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The outputs that write files, and `foreach_batch`/`try_foreach_batch`:
/// the same files and the same calls from both pipelines.
#[test]
fn output_operations_write_the_same_files_and_make_the_same_calls() {
    fn with_dsl(
        conf: StreamingConf,
        queue: BatchQueue<Item>,
        dir: &Path,
        out: PathBuf,
    ) -> streaming::Result<(StreamingContext, DStream<Item>)> {
        let (text, objects, hadoop) = (out.join("text"), out.join("objects"), out.join("hadoop"));
        let calls = Arc::new(Mutex::new(Vec::<(u64, usize)>::new()));
        let (sink, sink2) = (calls.clone(), calls.clone());
        let log = out.join("calls");
        stream! {
            context(conf = conf, batch = 1s, checkpoint = dir);
            let pairs = queue_stream(queue, true);
            pairs.map(|(k, v)| format!("{k}={v}")).save_as_text_files(text, "txt");
            pairs.save_as_object_files(objects, "");
            pairs.save_as_hadoop_files(hadoop, "out", TextOutputFormat::default());
            pairs.foreach_batch(move |b: Batch<Item>, t: Time| sink.lock().unwrap().push((t.as_millis(), b.len())));
            pairs.try_foreach_batch(move |b: Batch<Item>, t: Time| {
                let mut calls = sink2.lock().unwrap();
                calls.push((t.as_millis() + 1, b.len()));
                std::fs::write(&log, format!("{calls:?}")).map_err(|e| StreamingError::IllegalState(e.to_string()))
            });
            pairs
        }
    }
    fn with_plain(
        conf: StreamingConf,
        queue: BatchQueue<Item>,
        dir: &Path,
        out: PathBuf,
    ) -> streaming::Result<(StreamingContext, DStream<Item>)> {
        let ssc = plain_context(conf, dir)?;
        let pairs: DStream<Item> = ssc.queue_stream(queue, true);
        pairs
            .map(|(k, v)| format!("{k}={v}"))
            .save_as_text_files(out.join("text"), "txt");
        pairs.save_as_object_files(out.join("objects"), "");
        pairs.save_as_hadoop_files(out.join("hadoop"), "out", TextOutputFormat::default());
        let calls = Arc::new(Mutex::new(Vec::<(u64, usize)>::new()));
        let (sink, sink2) = (calls.clone(), calls);
        let log = out.join("calls");
        pairs.foreach_batch(move |b, t| sink.lock().unwrap().push((t.as_millis(), b.len())));
        pairs.try_foreach_batch(move |b, t| {
            let mut calls = sink2.lock().unwrap();
            calls.push((t.as_millis() + 1, b.len()));
            std::fs::write(&log, format!("{calls:?}"))
                .map_err(|e| StreamingError::IllegalState(e.to_string()))
        });
        Ok((ssc, pairs))
    }
    let outputs = |dsl: bool| {
        let dir = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let queue = BatchQueue::new();
        for b in items() {
            queue.push(b);
        }
        let target = out.path().to_path_buf();
        let (ssc, s) = if dsl {
            with_dsl(conf(), queue, dir.path(), target)
        } else {
            with_plain(conf(), queue, dir.path(), target)
        }
        .unwrap();
        let seen = drive(ssc, s, 5, |_| {});
        (seen, tree(out.path()))
    };
    let (dsl_seen, dsl_files) = outputs(true);
    let (plain_seen, plain_files) = outputs(false);
    assert_eq!(dsl_seen, plain_seen);
    assert_eq!(dsl_files, plain_files);
    let names: Vec<&str> = dsl_files.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"text-5000.txt/_SUCCESS"), "{names:?}");
    assert!(
        names.iter().any(|n| n.starts_with("objects-1000/part-")),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n.starts_with("hadoop-4000.out/part-")),
        "{names:?}"
    );
    assert!(names.contains(&"calls"), "{names:?}");
}

/// `print`, `print(n)` and `print_n` print the same text from both
/// pipelines. Printing goes to the process's standard output, so each
/// pipeline runs in a child process (this test binary, re-run on one test).
#[test]
fn print_operations_print_the_same_text() {
    if let Ok(which) = std::env::var("DSL_OPERATORS_PRINT_CHILD") {
        let input = items();
        let queue = BatchQueue::new();
        for b in input {
            queue.push(b);
        }
        let dir = tempfile::tempdir().unwrap();
        let (ssc, out) = if which == "dsl" {
            stream! {
                context(conf = conf(), batch = 1s, checkpoint = dir.path());
                let pairs = queue_stream(queue, true);
                pairs.print();
                pairs.map(|(k, _)| k).print(2);
                pairs.map(|(_, v)| v).print_n(1);
                pairs
            }
            .unwrap()
        } else {
            let ssc = plain_context(conf(), dir.path()).unwrap();
            let pairs = ssc.queue_stream(queue, true);
            pairs.print();
            pairs.map(|(k, _)| k).print_n(2);
            pairs.map(|(_, v)| v).print_n(1);
            (ssc, pairs)
        };
        drive(ssc, out, 5, |_| {});
        return;
    }
    let printed = |which: &str| {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "print_operations_print_the_same_text",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("DSL_OPERATORS_PRINT_CHILD", which)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        // Only the lines of the printed batches, in order.
        text.lines()
            .filter(|l| {
                !l.starts_with("running") && !l.starts_with("test ") && !l.contains("test result")
            })
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let dsl = printed("dsl");
    assert_eq!(dsl, printed("plain"));
    assert!(dsl.iter().any(|l| l == "Time: 1000 ms"), "{dsl:?}");
    assert!(
        dsl.iter().any(|l| l == "..."),
        "print(2) and print_n(1) cut batches: {dsl:?}"
    );
}

// ----------------------------------------------------------------- input

/// Runs the same input pipeline built two ways, `before(i)` feeding its
/// source before batch `i`, and returns both outputs.
fn input_twins<T: Data + Ord>(
    batches: u64,
    dsl: impl FnOnce(StreamingConf, &Path) -> streaming::Result<(StreamingContext, DStream<T>)>,
    plain: impl FnOnce(StreamingConf, &Path) -> streaming::Result<(StreamingContext, DStream<T>)>,
    mut before: impl FnMut(bool, u64),
) -> (Vec<Vec<T>>, Vec<Vec<T>>) {
    let dir = tempfile::tempdir().unwrap();
    let (ssc, out) = dsl(conf(), &dir.path().join("dsl")).unwrap();
    let a = drive(ssc, out, batches, |i| before(true, i));
    let (ssc, out) = plain(conf(), &dir.path().join("plain")).unwrap();
    let b = drive(ssc, out, batches, |i| before(false, i));
    (a, b)
}

#[test]
fn file_inputs_read_the_same_records() {
    let (a, b) = (Dirs::new(), Dirs::new());
    let (wa, wb) = (a.watched.clone(), b.watched.clone());
    let (wa2, wb2) = (wa.clone(), wb.clone());
    let (dsl, plain) = input_twins(
        3,
        move |conf, dir| {
            stream! {
                context(conf = conf, batch = 1s, checkpoint = dir);
                let lines = text_file_stream(wa.clone());
                let numbers = file_stream(wa.clone(), |p: &Path| -> std::io::Result<Vec<usize>> {
                    Ok(vec![std::fs::read(p)?.len()])
                });
                let specced = file_stream_with(FileStreamSpec::text(wa2).new_files_only(true));
                let out = union(lines.map(|l: String| (l, 0usize)), numbers.map(|n: usize| (String::new(), n)), specced.map(|l: String| (l, 1usize)));
                out
            }
        },
        move |conf, dir| {
            let ssc = plain_context(conf, dir)?;
            let lines = ssc.text_file_stream(&wb);
            let numbers = ssc.file_stream(&wb, |p: &Path| -> std::io::Result<Vec<usize>> {
                Ok(vec![std::fs::read(p)?.len()])
            });
            let specced = ssc.file_stream_with(FileStreamSpec::text(wb2).new_files_only(true));
            let out = ssc.union(vec![
                lines.map(|l| (l, 0usize)),
                numbers.map(|n| (String::new(), n)),
                specced.map(|l| (l, 1usize)),
            ]);
            Ok((ssc, out))
        },
        |dsl, i| {
            let dirs = if dsl { &a } else { &b };
            let path = dirs.put(
                &format!("f{i}.txt"),
                format!("line {i}\nmore {i}\n"),
                i * 1000 - 500,
            );
            set_mtime(&path, i * 1000 - 500);
        },
    );
    assert_eq!(dsl, plain);
    assert!(dsl[0].contains(&("line 1".to_string(), 0)), "{dsl:?}");
    assert!(dsl[0].contains(&(String::new(), 14)), "{dsl:?}");
}

#[test]
fn function_and_custom_inputs_give_the_same_batches() {
    let feed = |t: Time| Some(Batch::from(vec![t.as_millis() as i64, 1]));
    let queued = || {
        let q = BatchQueue::new();
        q.push(vec![7i64]);
        q.push(vec![8i64]);
        QueueSource::new(q, true)
    };
    let (dsl, plain) = input_twins(
        3,
        move |conf, dir| {
            stream! {
                context(conf = conf, batch = 1s, checkpoint = dir);
                let a = input_stream_from_fn(feed);
                let b = input_stream(queued());
                let out = a.union(&b);
                out
            }
        },
        move |conf, dir| {
            let ssc = plain_context(conf, dir)?;
            let a = ssc.input_stream_from_fn(feed);
            let b = ssc.input_stream(queued());
            let out = a.union(&b);
            Ok((ssc, out))
        },
        |_, _| {},
    );
    assert_eq!(dsl, plain);
    assert_eq!(dsl[0], vec![1, 7, 1000]);
}

/// Socket inputs: batch boundaries depend on arrival, so the totals over
/// all batches are compared, once everything sent has arrived.
#[test]
fn socket_inputs_receive_the_same_records() {
    let run = |dsl: bool| -> Vec<(String, u32)> {
        let (text_server, text_port) = support::socket::listener();
        let (bin_server, bin_port) = support::socket::listener();
        let (spec_server, spec_port) = support::socket::listener();
        let dir = tempfile::tempdir().unwrap();
        let ints = |buf: &[u8], out: &mut Vec<u32>| {
            let whole = buf.len() / 4 * 4;
            out.extend(
                buf[..whole]
                    .chunks(4)
                    .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])),
            );
            whole
        };
        let (ssc, out) = if dsl {
            stream! {
                context(conf = conf(), batch = 1s, checkpoint = dir.path());
                let lines = socket_text_stream("127.0.0.1", text_port);
                let numbers = socket_stream("127.0.0.1", bin_port, ints);
                let specced = socket_stream_with(SocketSpec::text("127.0.0.1", spec_port));
                let out = union(lines.map(|l: String| (l, 0u32)), numbers.map(|n: u32| (String::new(), n)), specced.map(|l: String| (l, 1u32)));
                out
            }
            .unwrap()
        } else {
            let ssc = plain_context(conf(), dir.path()).unwrap();
            let lines = ssc.socket_text_stream("127.0.0.1", text_port);
            let numbers = ssc.socket_stream("127.0.0.1", bin_port, ints);
            let specced = ssc.socket_stream_with(SocketSpec::text("127.0.0.1", spec_port));
            let out = ssc.union(vec![
                lines.map(|l| (l, 0u32)),
                numbers.map(|n| (String::new(), n)),
                specced.map(|l| (l, 1u32)),
            ]);
            (ssc, out)
        };
        let seen: Arc<Mutex<Vec<(String, u32)>>> = Arc::default();
        let sink = seen.clone();
        out.foreach_batch(move |b, _| sink.lock().unwrap().extend(b.collect()));
        ssc.start().unwrap();
        let (mut t, _) = text_server.accept().unwrap();
        let (mut n, _) = bin_server.accept().unwrap();
        let (mut s, _) = spec_server.accept().unwrap();
        t.write_all(b"to be\nor not\n").unwrap();
        n.write_all(&[0, 0, 0, 5, 0, 0, 1, 0]).unwrap();
        s.write_all(b"spec line\n").unwrap();
        let clock = ssc.manual_clock().unwrap();
        let batch = std::cell::Cell::new(0u64);
        wait_for_every("every record to arrive", Duration::from_millis(10), || {
            batch.set(batch.get() + 1);
            clock.advance(Duration::from_secs(1));
            ssc.await_batch_completion(Time::from_millis(batch.get() * 1000), TIMEOUT)
                .unwrap();
            seen.lock().unwrap().len() == 5
        });
        ssc.stop(StopMode::Immediate);
        let mut all = seen.lock().unwrap().clone();
        all.sort();
        all
    };
    let dsl = run(true);
    assert_eq!(dsl, run(false));
    assert_eq!(
        dsl,
        vec![
            (String::new(), 5),
            (String::new(), 256),
            ("or not".to_string(), 0),
            ("spec line".to_string(), 1),
            ("to be".to_string(), 0),
        ]
    );
}

// ------------------------------------------------------------- coverage

/// Every operator of the table appears in a `stream!` pipeline of the
/// tests that compare with the plain API (this file, `dsl_soundness.rs`,
/// and for the Kafka direct stream `kafka/dsl.rs`). Overloads share a name:
/// the tests above call each arity.
#[test]
fn every_operator_of_the_table_is_run_by_a_test() {
    let sources: Vec<String> = [
        "tests/dsl_operators.rs",
        "tests/dsl_soundness.rs",
        "tests/kafka/dsl.rs",
    ]
    .iter()
    .map(|p| std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(p)).unwrap())
    .collect();
    let bodies: Vec<&str> = sources
        .iter()
        // `stream! { .. }` bodies, and the `dsl { .. }` bodies the test
        // macros splice into a `stream!`.
        .flat_map(|s| s.split("stream! {").skip(1).chain(s.split("dsl {").skip(1)))
        .map(|rest| {
            // The body up to its closing brace at the same depth.
            let mut depth = 1usize;
            let end = rest
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map_or(rest.len(), |(i, _)| i);
            &rest[..end]
        })
        .collect();
    let missing: Vec<&str> = streaming_dsl::ops::all()
        .map(|spec| spec.name)
        .filter(|name| {
            let call = format!("{name}(");
            !bodies.iter().any(|b| {
                b.match_indices(&call).any(|(i, _)| {
                    // A whole name: not the tail of a longer one.
                    !b[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                })
            })
        })
        .collect();
    assert!(
        missing.is_empty(),
        "operators no test runs through stream!: {missing:?}"
    );
}
