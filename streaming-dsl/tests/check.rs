//! The static checks: each error's message and the token it points at.

mod common;

use common::*;

#[test]
fn duration_literals() {
    assert_errors(
        r#"
        context(batch = 0s);
        let w = socket_text_stream(h, p).window(30, 10sec);
        w.print();
        "#,
        &[
            "a duration must be greater than zero @ 0s",
            "missing time unit: write `30s`, `30ms` or `30min` (units: `ms`, `s`, `min` or `h`) @ 30",
            "unknown time unit `sec` in duration `10sec`; use `ms`, `s`, `min` or `h` @ 10sec",
        ],
    );
}

#[test]
fn window_and_slide_must_be_multiples_of_the_batch_interval() {
    assert_errors(
        r#"
        context(batch = 3s, checkpoint = "/tmp/cp");
        let w = socket_text_stream(h, p).window(10s, 3s);
        let c = socket_text_stream(h, p).count_by_window(9s, 4s);
        w.print();
        c.print();
        "#,
        &[
            "window duration `10s` of `window` is not a multiple of the batch interval `3s` @ 10s",
            "slide duration `4s` of `count_by_window` is not a multiple of the batch interval `3s` @ 4s",
        ],
    );
}

#[test]
fn slides_are_tracked_through_the_graph() {
    assert_errors(
        r#"
        context(batch = 1s);
        let pairs = socket_text_stream(h, p).map(|l: String| (l, 1));
        let w = pairs.window(20s, 10s).map_values(|v: i32| v * 2);
        let again = w.reduce_by_key_and_window(|a, b| a + b, 30s, 15s);
        again.print();
        pairs.union(&w).print();
        "#,
        &[
            "slide duration `15s` of `reduce_by_key_and_window` is not a multiple of the parent stream's slide duration `10s` (set by `window` upstream) @ 15s",
            "`union` combines streams with different slide durations (`1s` and `10s`); window them to the same slide first @ union",
        ],
    );
}

#[test]
fn dynamic_durations_are_not_checked() {
    ok(r#"
        context(batch = interval);
        let w = socket_text_stream(h, p).window(std::time::Duration::from_secs(n), slide);
        w.window(7s, 7s).print();
    "#);
}

#[test]
fn state_and_inverse_windows_need_a_checkpoint() {
    assert_errors(
        r#"
        context(batch = 1s);
        let pairs = socket_text_stream(h, p).map(|l: String| (l, 1));
        pairs.update_state_by_key(|vs: &[i32], s: Option<i32>| Some(s.unwrap_or(0) + vs.len() as i32)).print();
        pairs.map_with_state(spec).print();
        pairs.reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 4s, 2s).print();
        pairs.reduce_by_key_and_window(sum, 4s, 2s).print();
        pairs.reduce_by_key_and_window(max, 4s, 2s).print();
        pairs.count_by_window(4s, 2s).print();
        "#,
        &[
            "`update_state_by_key` keeps state across batches and needs a checkpoint directory: add `checkpoint = \"<dir>\"` to the `context(..)` clause @ update_state_by_key",
            "`map_with_state` keeps state across batches and needs a checkpoint directory: add `checkpoint = \"<dir>\"` to the `context(..)` clause @ map_with_state",
            "`reduce_by_key_and_window` with an inverse function keeps the window's state between batches and needs a checkpoint directory: add `checkpoint = \"<dir>\"` to the `context(..)` clause @ reduce_by_key_and_window",
            "`reduce_by_key_and_window` with the built-in `sum` runs incrementally for integer values (it adds the batches entering the window and subtracts those leaving it, keeping a per-key sum and element count), so it keeps state and needs a checkpoint directory: add `checkpoint = \"<dir>\"` to the `context(..)` clause @ reduce_by_key_and_window",
            "`count_by_window` is computed incrementally (as Spark's `countByWindow`), so it keeps the window's state between batches and needs a checkpoint directory: add `checkpoint = \"<dir>\"` to the `context(..)` clause @ count_by_window",
        ],
    );
}

#[test]
fn a_pipeline_needs_an_output() {
    assert_errors(
        r#"
        context(batch = 1s);
        let lines = socket_text_stream(h, p);
        let words = lines.flat_map(|l: String| vec![l]);
        "#,
        &["this pipeline has no output operation, so it would compute nothing: end a chain with `.print()`, `.foreach_batch(..)` or `.save_as_text_files(..)`, or return streams by naming them in a last expression @ <call site>"],
    );
    // Returning streams to the caller is enough.
    ok("context(batch = 1s); let lines = socket_text_stream(h, p); lines");
}

#[test]
fn unknown_operators_get_suggestions() {
    assert_errors(
        r#"
        context(batch = 1s);
        let a = socket_txt_stream(h, p);
        let b = socket_text_stream(h, p).flatMap(|l: String| vec![l]);
        let c = socket_text_stream(h, p).mapp(|l: String| l);
        let d = socket_text_stream(h, p).frobnicate();
        socket_text_stream(h, p).foreachRDD(|b, t| ()).print();
        "#,
        &[
            "unknown input `socket_txt_stream`; did you mean `socket_text_stream`? @ socket_txt_stream",
            "unknown operator `flatMap`; Spark's `flatMap` is written `flat_map` here @ flatMap",
            "unknown operator `mapp`; did you mean `map`? @ mapp",
            "unknown operator `frobnicate`; see the operator table in the documentation of `stream!` @ frobnicate",
            "unknown operator `foreachRDD`; Spark's `foreachRDD` is written `foreach_batch` here @ foreachRDD",
        ],
    );
}

#[test]
fn wrong_argument_counts() {
    assert_errors(
        r#"
        context(batch = 1s);
        let a = socket_text_stream("localhost");
        let w = socket_text_stream(h, p).window(10s);
        let r = w.map(|l: String| (l, 1)).reduce_by_key_and_window(sum, 10s);
        let u = union();
        w.print(1, 2);
        "#,
        &[
            "`socket_text_stream` takes 2 arguments, but 1 was given: `socket_text_stream(host, port)` @ socket_text_stream",
            "`window` takes 2 arguments, but 1 was given: `window(window, slide)` @ window",
            "`reduce_by_key_and_window` takes 3, 4 or 5 arguments, but 2 were given: `reduce_by_key_and_window(reducer, window, slide)` or `reduce_by_key_and_window(f, inv_f, window, slide)` or `reduce_by_key_and_window(f, inv_f, window, slide, filter)` @ reduce_by_key_and_window",
            "`union` takes at least 1 argument, but 0 were given: `union(streams..)` @ union",
            "`print` takes 0 or 1 arguments, but 2 were given: `print()` or `print(n)` @ print",
        ],
    );
}

#[test]
fn undefined_streams() {
    assert_errors(
        r#"
        context(batch = 1s);
        let words = socket_text_stream(h, p);
        wrods.print();
        words.union(&others).print();
        "#,
        &[
            "cannot find stream `wrods` in this `stream!`; did you mean `words`? @ wrods",
            "cannot find stream `others` in this `stream!`; the streams defined before this point are `words` @ others",
        ],
    );
}

#[test]
fn a_poisoned_binding_is_not_reported_again() {
    assert_errors(
        r#"
        context(batch = 1s);
        let words = socket_text_stream(h, p).flatmap(|l: String| vec![l]);
        words.print();
        "#,
        &["unknown operator `flatmap`; did you mean `flat_map`? @ flatmap"],
    );
}

#[test]
fn outputs_end_chains() {
    assert_errors(
        r#"
        context(batch = 1s);
        let lines = socket_text_stream(h, p);
        let printed = lines.print();
        lines.print().count();
        lines.map(|l: String| l.len());
        "#,
        &[
            "`print` is an output operation and returns no stream, so it cannot be bound to `printed`; write it as a statement ending in `;` @ print",
            "`print` is an output operation and ends the chain; no operator can follow it @ count",
            "this stream is never used: end the statement with an output operation such as `.print()`, or bind it with `let` @ lines.map(|l: String| l.len())",
        ],
    );
}

#[test]
fn context_clause_errors() {
    assert_errors(
        r#"
        context(bach = 1s, master = "local[2]", master = "local[4]", 5);
        socket_text_stream(h, p).print();
        "#,
        &[
            "expected `key = value` in the context clause, e.g. `batch = 3s` @ 5",
            "unknown context setting `bach`; did you mean `batch`? @ bach",
            "the context setting `master` is given twice @ master",
            "missing batch interval: add `batch = 1s` (a duration such as `3s` or `500ms`) to the context clause @ context",
        ],
    );
    assert_errors(
        "socket_text_stream(h, p).print();",
        &["missing context clause: start `stream!` with `context(batch = 1s);` giving the batch interval @ <call site>"],
    );
}

#[test]
fn every_error_is_collected_in_one_run() {
    let errs = errors(
        r#"
        context(batch = 2s);
        let pairs = socket_text_stream(h, p).map(|l: String| (l, 1));
        let a = pairs.window(3s, 2s);
        let b = pairs.update_state_by_key(|v: &[i32], s: Option<i32>| s);
        let c = pairs.reduceByKey(sum);
        let d = pairs.window(4s);
        let e = nothing.map(|x: u8| x);
        let f = pairs.window(0ms, 2s);
        "#,
    );
    assert_eq!(errs.len(), 6, "{errs:#?}");
}
