//! The soundness rule of `stream!`: whatever the compiler chooses (fusion,
//! an incremental window, the path of a built-in reducer), a pipeline
//! produces exactly the output of the same pipeline written with the plain
//! API and closures, batch by batch.
//!
//! A macro cannot be generated at run time, so this is a fixed grid of
//! pipeline shapes (narrow chains, by-key reductions, every window operator
//! with built-in and closure reducers, filters after windows,
//! `update_state_by_key`), each run on random inputs by proptest: random
//! batches, empty ones included, over a few keys that come and go, and
//! enough batches after the input for every key to leave every window. The
//! fixed cases of the issue that found the unsound choices come first.

use std::path::Path;

use proptest::prelude::*;
use streaming::prelude::*;

#[macro_use]
mod support;
use support::twins::{plain_context, run_queued};

/// One input element: a key drawn from a handful, and a small signed value.
type Item = (u8, i64);

/// A pipeline under test over a queue of [`Item`] batches.
type Build<T> = support::twins::Build<Item, T>;

/// Batches to run after the input ends, so that every window empties.
const DRAIN: usize = 5;

/// A pipeline reading lines of text.
type BuildText<T> = fn(
    StreamingConf,
    BatchQueue<String>,
    &Path,
) -> streaming::Result<(StreamingContext, DStream<T>)>;

/// Runs `build` on `input` (one queued batch per batch time, then
/// [`DRAIN`] empty ones) on a manual clock and returns every output batch,
/// sorted.
fn run<I: Data, T: Data + Ord>(
    build: support::twins::Build<I, T>,
    input: &[Vec<I>],
) -> Vec<Vec<T>> {
    run_queued(build, input, DRAIN as u64)
}

/// Defines a proptest comparing a `stream!` body (reading `pairs`, binding
/// the result stream to `out`) with a plain-API closure of `pairs`.
macro_rules! sound {
    ($name:ident, dsl { $($body:tt)* }, plain $plain:expr) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(48))]
            #[test]
            fn $name(input in inputs()) {
                let (dsl, plain) = twin_outputs!(input, DRAIN as u64, pairs: Item, { $($body)* }, $plain);
                prop_assert_eq!(dsl, plain);
            }
        }
    };
}

/// Random input: up to 8 batches of up to 6 items over 4 keys, values in
/// -3..=3 (so signed sums return to 0 while elements remain), empty batches
/// included.
fn inputs() -> impl Strategy<Value = Vec<Vec<Item>>> {
    prop::collection::vec(prop::collection::vec((0u8..4, -3i64..=3), 0..6), 1..8)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

// ------------------------------------------------------------ fixed cases

/// A threshold filter after `reduce_by_key_and_window(sum, 3s, 1s)` filters
/// the output; a key it drops keeps its in-window values (13, not 10).
#[test]
fn a_filter_after_a_windowed_sum_filters_the_output_not_the_state() {
    let input = vec![
        vec![(1u8, 3i64)],
        vec![(1, 10)],
        vec![(1, 0)],
        vec![(1, 0)],
        vec![(1, 0)],
    ];
    let dsl: Build<Item> = |conf, queue, dir| {
        stream! {
            context(conf = conf, batch = 1s, checkpoint = dir);
            let out = queue_stream(queue, true).reduce_by_key_and_window(sum, 3s, 1s).filter(|(_, n)| *n > 5);
            out
        }
    };
    let plain: Build<Item> = |conf, queue, dir| {
        let ssc = plain_context(conf, dir)?;
        let out = ssc
            .queue_stream(queue, true)
            .reduce_by_key_and_window(|a, b| a + b, secs(3), secs(1))
            .filter(|(_, n)| *n > 5);
        Ok((ssc, out))
    };
    let out = run(dsl, &input);
    assert_eq!(out, run(plain, &input));
    // Batch 1 holds 3 (filtered out); batches 2 and 3 hold 3 + 10 = 13;
    // batch 4 holds 10 once the 3 has left; batch 6 holds nothing.
    assert_eq!(
        out[..6],
        [
            vec![],
            vec![(1, 13)],
            vec![(1, 13)],
            vec![(1, 10)],
            vec![],
            vec![]
        ]
    );
}

/// `count` on `u64` with a filter after it: the filter never touches the
/// window's counts, so nothing underflows.
#[test]
fn a_filter_after_a_windowed_count_cannot_underflow() {
    let input = vec![vec![(1u8, 0i64), (1, 0)], vec![(1, 0)], vec![], vec![]];
    let dsl: Build<(u8, u64)> = |conf, queue, dir| {
        stream! {
            context(conf = conf, batch = 1s, checkpoint = dir);
            let out = queue_stream(queue, true).reduce_by_key_and_window(count, 2s, 1s).filter(|(_, n)| *n > 2);
            out
        }
    };
    let plain: Build<(u8, u64)> = |conf, queue, dir| {
        let ssc = plain_context(conf, dir)?;
        let out = ssc
            .queue_stream(queue, true)
            .map_values(|_| 1u64)
            .reduce_by_key_and_window(|a, b| a + b, secs(2), secs(1))
            .filter(|(_, n)| *n > 2);
        Ok((ssc, out))
    };
    let out = run(dsl, &input);
    assert_eq!(out, run(plain, &input));
    assert_eq!(out[1], vec![(1, 3)]);
    assert!(out.iter().enumerate().all(|(i, b)| i == 1 || b.is_empty()));
}

/// `sum` keeps a key whose signed sum is 0 while it has elements in the
/// window, and drops it (output and state) once all have left.
#[test]
fn windowed_sum_emits_keys_with_elements_and_drops_the_rest() {
    let input = vec![vec![(1u8, 2i64), (2, 5)], vec![(1, -2)], vec![], vec![]];
    let dsl: Build<Item> = |conf, queue, dir| {
        stream! {
            context(conf = conf, batch = 1s, checkpoint = dir);
            let out = queue_stream(queue, true).reduce_by_key_and_window(sum, 2s, 1s);
            out
        }
    };
    let out = run(dsl, &input);
    assert_eq!(
        out[..4],
        [
            vec![(1, 2), (2, 5)],
            vec![(1, 0), (2, 5)],
            vec![(1, -2)],
            vec![],
        ]
    );
}

/// Float sums are not computed by subtraction: adding 1e16 and then
/// removing it again would lose the 1.0 beside it. The result equals the
/// closure form's, bit for bit.
#[test]
fn windowed_float_sums_do_not_drift() {
    fn floats(
        conf: StreamingConf,
        queue: BatchQueue<Item>,
        dir: &Path,
        dsl: bool,
    ) -> streaming::Result<(StreamingContext, DStream<(u8, u64)>)> {
        let to_float = |(k, v): Item| (k, if v == 9 { 1e16 } else { v as f64 });
        let bits = |(k, v): (u8, f64)| (k, v.to_bits());
        if dsl {
            stream! {
                context(conf = conf, batch = 1s, checkpoint = dir);
                let out = queue_stream(queue, true)
                    .map(to_float)
                    .reduce_by_key_and_window(sum, 2s, 1s)
                    .map(bits);
                out
            }
        } else {
            let ssc = plain_context(conf, dir)?;
            let out = ssc
                .queue_stream(queue, true)
                .map(to_float)
                .reduce_by_key_and_window(|a, b| a + b, secs(2), secs(1))
                .map(bits);
            Ok((ssc, out))
        }
    }
    let input = vec![vec![(1u8, 9i64)], vec![(1, 1)], vec![(1, 1)], vec![]];
    let dsl = run(|c, q, d| floats(c, q, d, true), &input);
    assert_eq!(dsl, run(|c, q, d| floats(c, q, d, false), &input));
    // Window of batches 2 and 3: exactly 2.0, which subtracting 1e16 from
    // 1e16 + 1 + 1 would not give.
    assert_eq!(dsl[2], vec![(1, 2.0f64.to_bits())]);
}

/// The four-argument and `_inv` spellings are one operator, with Spark's
/// semantics (a key back at 0 stays), and a filter after either filters
/// the output.
#[test]
fn inverse_spellings_agree_and_keep_sparks_zero_keys() {
    let input = vec![vec![(1u8, 2i64)], vec![(1, 1)], vec![], vec![]];
    let four: Build<Item> = |conf, queue, dir| {
        stream! {
            context(conf = conf, batch = 1s, checkpoint = dir);
            let out = queue_stream(queue, true)
                .reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 2s, 1s)
                .filter(|(_, n)| *n != 1);
            out
        }
    };
    let inv: Build<Item> = |conf, queue, dir| {
        stream! {
            context(conf = conf, batch = 1s, checkpoint = dir);
            let out = queue_stream(queue, true)
                .reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, 2s, 1s)
                .filter(|(_, n)| *n != 1);
            out
        }
    };
    let plain: Build<Item> = |conf, queue, dir| {
        let ssc = plain_context(conf, dir)?;
        let out = ssc
            .queue_stream(queue, true)
            .reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, secs(2), secs(1))
            .filter(|(_, n)| *n != 1);
        Ok((ssc, out))
    };
    let out = run(four, &input);
    assert_eq!(out, run(inv, &input));
    assert_eq!(out, run(plain, &input));
    // 2, 3, (1 filtered from the output, still in the state), then 0 stays.
    assert_eq!(out[..4], [vec![(1, 2)], vec![(1, 3)], vec![], vec![(1, 0)]]);
}

// ---------------------------------------------------------- random cases

sound!(
    sum_by_key_and_window_then_threshold,
    dsl {
        let out = pairs.reduce_by_key_and_window(sum, 3s, 1s).filter(|(_, n)| *n > 1);
    },
    plain |_: &StreamingContext, p: DStream<Item>| p
        .reduce_by_key_and_window(|a, b| a + b, secs(3), secs(1))
        .filter(|(_, n)| *n > 1)
);

sound!(
    sum_by_key_and_window_sliding_by_two,
    dsl {
        let out = pairs.reduce_by_key_and_window(sum, 4s, 2s);
    },
    plain |_: &StreamingContext, p: DStream<Item>| p.reduce_by_key_and_window(|a, b| a + b, secs(4), secs(2))
);

sound!(
    count_by_key_and_window_then_threshold,
    dsl {
        let out = pairs.reduce_by_key_and_window(count, 2s, 1s).filter(|(_, n)| *n >= 2);
    },
    plain |_: &StreamingContext, p: DStream<Item>| p
        .map_values(|_| 1u64)
        .reduce_by_key_and_window(|a, b| a + b, secs(2), secs(1))
        .filter(|(_, n)| *n >= 2)
);

sound!(
    min_and_max_by_key_and_window,
    dsl {
        let lo = pairs.reduce_by_key_and_window(min, 3s, 1s);
        let hi = pairs.reduce_by_key_and_window(max, 3s, 1s);
        let out = lo.join(&hi);
    },
    plain |_: &StreamingContext, p: DStream<Item>| p
        .reduce_by_key_and_window(std::cmp::min, secs(3), secs(1))
        .join(&p.reduce_by_key_and_window(std::cmp::max, secs(3), secs(1)))
);

sound!(
    closure_reducer_by_key_and_window,
    dsl {
        let out = pairs.reduce_by_key_and_window(|a, b| a * 2 + b, 2s, 1s);
    },
    plain |_: &StreamingContext, p: DStream<Item>| p.reduce_by_key_and_window(|a, b| a * 2 + b, secs(2), secs(1))
);

sound!(
    inverse_with_sparks_filter_function,
    dsl {
        let out = pairs.reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 3s, 1s, |(_, v)| *v != 0);
    },
    plain |_: &StreamingContext, p: DStream<Item>| p.reduce_by_key_and_window_inv_filtered(
        |a, b| a + b,
        |a, b| a - b,
        secs(3),
        secs(1),
        |(_, v)| *v != 0
    )
);

sound!(
    sum_by_window_then_filter,
    dsl {
        let out = pairs.map(|(_, v)| v).reduce_by_window(sum, 3s, 1s).filter(|n| *n != 0);
    },
    plain |_: &StreamingContext, p: DStream<Item>| p
        .map(|(_, v)| v)
        .reduce_by_window(|a, b| a + b, secs(3), secs(1))
        .filter(|n| *n != 0)
);

sound!(
    count_by_window_of_the_builtin_reducer,
    dsl {
        let out = pairs.reduce_by_window(count, 2s, 1s);
    },
    plain |_: &StreamingContext, p: DStream<Item>| p
        .map(|_| 1u64)
        .reduce_by_window(|a, b| a + b, secs(2), secs(1))
);

sound!(
    narrow_chain_into_reduce_by_key_then_windowed_count_by_value,
    dsl {
        let out = pairs
            .filter(|(k, _)| *k != 3)
            .flat_map(|(k, v)| vec![(k, v); (v.unsigned_abs() % 3) as usize])
            .map(|(k, v)| (k % 2, v))
            .reduce_by_key(sum)
            .map(|(k, v)| (k, v > 0))
            .count_by_value_and_window(3s, 1s);
    },
    plain |_: &StreamingContext, p: DStream<Item>| p
        .filter(|(k, _)| *k != 3)
        .flat_map(|(k, v)| vec![(k, v); (v.unsigned_abs() % 3) as usize])
        .map(|(k, v)| (k % 2, v))
        .reduce_by_key(|a, b| a + b)
        .map(|(k, v)| (k, v > 0))
        .count_by_value_and_window(secs(3), secs(1))
);

sound!(
    group_by_key_and_window_sorted,
    dsl {
        let out = pairs
            .group_by_key_and_window(2s, 1s)
            .map_values(|mut vs: Vec<i64>| { vs.sort(); vs });
    },
    plain |_: &StreamingContext, p: DStream<Item>| p.group_by_key_and_window(secs(2), secs(1)).map_values(|mut vs| {
        vs.sort();
        vs
    })
);

sound!(
    window_then_count_by_window,
    dsl {
        let w = pairs.window(2s, 1s).map(|(k, _)| k);
        let c = w.count_by_window(2s, 1s).map(|c| (255u8, c as i64));
        let out = w.map(|k| (k, 0i64)).union(&c);
    },
    plain |_: &StreamingContext, p: DStream<Item>| {
        let w = p.window(secs(2), secs(1)).map(|(k, _)| k);
        let c = w.count_by_window(secs(2), secs(1)).map(|c| (255u8, c as i64));
        w.map(|k| (k, 0i64)).union(&c)
    }
);

sound!(
    running_sum_with_update_state_by_key_then_filter,
    dsl {
        let out = pairs
            .map_values(|v| v * 2)
            .update_state_by_key(|vs: &[i64], s: Option<i64>| {
                let total = s.unwrap_or(0) + vs.iter().sum::<i64>();
                (total != 0).then_some(total)
            })
            .filter(|(_, total)| *total > 0);
    },
    plain |_: &StreamingContext, p: DStream<Item>| p
        .map_values(|v| v * 2)
        .update_state_by_key(|vs: &[i64], s: Option<i64>| {
            let total = s.unwrap_or(0) + vs.iter().sum::<i64>();
            (total != 0).then_some(total)
        })
        .filter(|(_, total)| *total > 0)
);

// ------------------------------------------------ fusion through shuffles

/// Random lines of a few short words, empty lines and double spaces
/// included.
fn lines() -> impl Strategy<Value = Vec<Vec<String>>> {
    let line = prop::collection::vec(prop::sample::select(vec!["a", "b", "cc", "", "d"]), 0..6)
        .prop_map(|words| words.join(" "));
    prop::collection::vec(prop::collection::vec(line, 0..5), 1..6)
}

/// Defines a proptest over [`lines`] comparing a `stream!` body (reading
/// `lines`, binding `out`) with a plain-API closure of `lines`.
macro_rules! sound_text {
    ($name:ident, dsl { $($body:tt)* }, plain $plain:expr) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(32))]
            #[test]
            fn $name(input in lines()) {
                let (dsl, plain) = twin_outputs!(input, DRAIN as u64, lines: String, { $($body)* }, $plain);
                prop_assert_eq!(dsl, plain);
            }
        }
    };
}

/// The borrowed word count: `&str` words straight from the lines,
/// owned only in the combine table, giving a `DStream<(String, i64)>`.
#[test]
fn the_borrowed_word_count_compiles_and_counts() {
    let dsl: BuildText<(String, i64)> = |conf, queue, dir| {
        stream! {
            context(conf = conf, batch = 1s, checkpoint = dir);
            let lines = queue_stream(queue, true);
            let counts = lines.flat_map(|line: &str| line.split(' '))
                              .map(|w: &str| (w, 1i64))
                              .reduce_by_key(sum);
            counts
        }
    };
    let input = vec![vec!["to be or".to_string(), "not to be".to_string()]];
    let out = run(dsl, &input);
    let owned = |pairs: &[(&str, i64)]| -> Vec<(String, i64)> {
        pairs.iter().map(|(w, n)| (w.to_string(), *n)).collect()
    };
    assert_eq!(
        out[0],
        owned(&[("be", 2), ("not", 1), ("or", 1), ("to", 2)])
    );
}

sound_text!(
    borrowed_words_into_reduce_by_key,
    dsl {
        let out = lines
            .flat_map(|line: &str| line.split(' '))
            .filter(|w: &&str| !w.is_empty())
            .map(|w: &str| (w, 1i64))
            .reduce_by_key(sum);
    },
    plain |_: &StreamingContext, l: DStream<String>| l
        .flat_map(|line: String| line.split(' ').map(str::to_string).collect::<Vec<_>>())
        .filter(|w| !w.is_empty())
        .map(|w| (w, 1i64))
        .reduce_by_key(|a, b| a + b)
);

sound_text!(
    borrowed_words_into_count_by_value,
    dsl {
        let out = lines.flat_map(|line: &str| line.split(' ')).count_by_value();
    },
    plain |_: &StreamingContext, l: DStream<String>| l
        .flat_map(|line: String| line.split(' ').map(str::to_string).collect::<Vec<_>>())
        .count_by_value()
);

sound_text!(
    borrowed_pairs_of_words_into_group_by_key,
    dsl {
        let out = lines
            .flat_map(|line: &str| line.split(' ').map(|w| (w.len(), w)))
            .map_values(|w: &str| w.to_uppercase())
            .group_by_key();
    },
    plain |_: &StreamingContext, l: DStream<String>| l
        .flat_map(|line: String| {
            line.split(' ').map(|w| (w.len(), w.to_string())).collect::<Vec<_>>()
        })
        .map_values(|w| w.to_uppercase())
        .group_by_key()
);

sound_text!(
    owned_chain_into_combine_by_key,
    dsl {
        let out = lines
            .map(|l: String| (l.len() % 3, l))
            .flat_map_values(|l: String| l.split(' ').map(str::to_string).collect::<Vec<_>>())
            .combine_by_key(
                |w: String| vec![w],
                |mut acc: Vec<String>, w: String| { acc.push(w); acc },
                |mut a: Vec<String>, b: Vec<String>| { a.extend(b); a },
            );
    },
    plain |_: &StreamingContext, l: DStream<String>| l
        .map(|l| (l.len() % 3, l))
        .flat_map_values(|l| l.split(' ').map(str::to_string).collect::<Vec<_>>())
        .combine_by_key(
            |w| vec![w],
            |mut acc: Vec<String>, w| {
                acc.push(w);
                acc
            },
            |mut a: Vec<String>, b| {
                a.extend(b);
                a
            },
        )
);

sound_text!(
    borrowed_words_into_windowed_sum_count_min_and_closure,
    dsl {
        let sums = lines
            .flat_map(|line: &str| line.split(' '))
            .map(|w: &str| (w, w.len() as i64))
            .reduce_by_key_and_window(sum, 3s, 1s);
        let counts = lines
            .flat_map(|line: &str| line.split(' '))
            .map(|w: &str| (w, ()))
            .reduce_by_key_and_window(count, 2s, 1s)
            .map(|(w, n)| (w, n as i64));
        let mins = lines
            .flat_map(|line: &str| line.split(' ').map(|w| (w.len(), w.len() as i64 * 7 % 5)))
            .reduce_by_key_and_window(min, 2s, 1s)
            .map(|(n, m)| (n.to_string(), m));
        let folds = lines
            .flat_map(|line: &str| line.split(' ').map(|w| (w.len().to_string(), 1i64)))
            .reduce_by_key_and_window(|a, b| a * 3 + b, 2s, 1s);
        let out = sums.union(&counts).union(&mins).union(&folds);
    },
    plain |_: &StreamingContext, l: DStream<String>| {
        let words = l.flat_map(|line: String| line.split(' ').map(str::to_string).collect::<Vec<_>>());
        let sums = words
            .map(|w| {
                let n = w.len() as i64;
                (w, n)
            })
            .reduce_by_key_and_window(|a, b| a + b, secs(3), secs(1));
        let counts = words
            .map(|w| (w, 1u64))
            .reduce_by_key_and_window(|a, b| a + b, secs(2), secs(1))
            .map(|(w, n)| (w, n as i64));
        let mins = words
            .map(|w| (w.len(), w.len() as i64 * 7 % 5))
            .reduce_by_key_and_window(std::cmp::min, secs(2), secs(1))
            .map(|(n, m)| (n.to_string(), m));
        let folds = words
            .map(|w| (w.len().to_string(), 1i64))
            .reduce_by_key_and_window(|a, b| a * 3 + b, secs(2), secs(1));
        sums.union(&counts).union(&mins).union(&folds)
    }
);

sound_text!(
    borrowed_words_into_state,
    dsl {
        let counts = lines
            .flat_map(|line: &str| line.split(' '))
            .map(|w: &str| (w, 1i64))
            .update_state_by_key(|vs: &[i64], s: Option<i64>| Some(s.unwrap_or(0) + vs.len() as i64));
        let seeded = lines
            .flat_map(|line: &str| line.split(' ').map(|w| (w.len(), 1i64)))
            .update_state_by_key_with_initial(
                |vs: &[i64], s: Option<i64>| Some(s.unwrap_or(0) * 2 + vs.iter().sum::<i64>()),
                Batch::from(vec![(1usize, 10i64), (7, 70)]),
            )
            .map(|(n, c)| (n.to_string(), c));
        let timed = lines
            .filter(|l: &String| !l.is_empty())
            .map(|l: String| (l.len(), l))
            .update_state_by_key_with_time(|t: Time, n: &usize, ls: &[String], s: Option<i64>| {
                let seen = s.unwrap_or(0) + ls.iter().map(|l| l.len() as i64).sum::<i64>();
                (seen < 40).then_some(seen + (t.as_millis() / 1000) as i64 + *n as i64)
            })
            .map(|(n, c)| (format!("t{n}"), c));
        let out = counts.union(&seeded).union(&timed);
    },
    plain |_: &StreamingContext, l: DStream<String>| {
        let counts = l
            .flat_map(|line: String| line.split(' ').map(str::to_string).collect::<Vec<_>>())
            .map(|w| (w, 1i64))
            .update_state_by_key(|vs: &[i64], s: Option<i64>| Some(s.unwrap_or(0) + vs.len() as i64));
        let seeded = l
            .flat_map(|line: String| line.split(' ').map(|w| (w.len(), 1i64)).collect::<Vec<_>>())
            .update_state_by_key_with_initial(
                |vs: &[i64], s: Option<i64>| Some(s.unwrap_or(0) * 2 + vs.iter().sum::<i64>()),
                Batch::from(vec![(1usize, 10i64), (7, 70)]),
            )
            .map(|(n, c)| (n.to_string(), c));
        let timed = l
            .filter(|l| !l.is_empty())
            .map(|l| (l.len(), l))
            .update_state_by_key_with_time(|t: Time, n: &usize, ls: &[String], s: Option<i64>| {
                let seen = s.unwrap_or(0) + ls.iter().map(|l| l.len() as i64).sum::<i64>();
                (seen < 40).then_some(seen + (t.as_millis() / 1000) as i64 + *n as i64)
            })
            .map(|(n, c)| (format!("t{n}"), c));
        counts.union(&seeded).union(&timed)
    }
);

sound!(
    reduce_by_window_with_max_a_closure_and_an_inverse,
    dsl {
        let values = pairs.map(|(_, v)| v);
        let top = values.reduce_by_window(max, 3s, 1s).map(|v| (0u8, v));
        let folded = values.reduce_by_window(|a, b| a * 3 + b, 2s, 1s).map(|v| (1u8, v));
        let total = values.reduce_by_window_inv(|a, b| a + b, |a, b| a - b, 3s, 1s).map(|v| (2u8, v));
        let low = pairs.reduce_by_key_and_window(min, 4s, 2s).map(|(k, v)| (k + 10, v));
        let out = top.union(&folded).union(&total).window(2s, 2s).union(&low);
    },
    plain |_: &StreamingContext, p: DStream<Item>| {
        let values = p.map(|(_, v)| v);
        let top = values.reduce_by_window(std::cmp::max, secs(3), secs(1)).map(|v| (0u8, v));
        let folded = values.reduce_by_window(|a, b| a * 3 + b, secs(2), secs(1)).map(|v| (1u8, v));
        let total = values
            .reduce_by_window_inv(|a, b| a + b, |a, b| a - b, secs(3), secs(1))
            .map(|v| (2u8, v));
        let low = p.reduce_by_key_and_window(std::cmp::min, secs(4), secs(2)).map(|(k, v)| (k + 10, v));
        top.union(&folded).union(&total).window(secs(2), secs(2)).union(&low)
    }
);

sound_text!(
    borrowed_words_into_map_with_state,
    dsl {
        let mapped = lines
            .flat_map(|line: &str| line.split(' '))
            .map(|w: &str| (w, 1i64))
            .map_with_state(StateSpec::function(|w: &String, one: Option<i64>, st: &mut State<i64>| {
                let seen = st.get().copied().unwrap_or(0) + one.unwrap_or(0);
                if seen >= 3 {
                    st.remove();
                } else {
                    st.update(seen);
                }
                (w.clone(), seen)
            }));
        let snapshots = mapped.state_snapshots().map(|(w, n)| (format!("s:{w}"), n));
        let out = mapped.union(&snapshots);
    },
    plain |_: &StreamingContext, l: DStream<String>| {
        let mapped = l
            .flat_map(|line: String| line.split(' ').map(str::to_string).collect::<Vec<_>>())
            .map(|w| (w, 1i64))
            .map_with_state(StateSpec::function(|w: &String, one: Option<i64>, st: &mut State<i64>| {
                let seen = st.get().copied().unwrap_or(0) + one.unwrap_or(0);
                if seen >= 3 {
                    st.remove();
                } else {
                    st.update(seen);
                }
                (w.clone(), seen)
            }));
        let snapshots = mapped.state_snapshots().map(|(w, n)| (format!("s:{w}"), n));
        mapped.union(&snapshots)
    }
);
