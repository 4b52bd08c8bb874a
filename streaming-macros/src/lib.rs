//! The `stream!` pipeline DSL of the `streaming` crate.
//!
//! This crate is a thin procedural-macro layer: parsing, checking, planning
//! and code generation live in the `streaming-dsl` library crate, which is
//! unit-tested without a compiler in the loop. Use the macros through the
//! facade: `use streaming::prelude::*;` (or `streaming::stream`).

use proc_macro::TokenStream;

/// Compiles a Spark-Streaming-style pipeline into typed calls of the
/// `streaming` runtime, checked at compile time, with chains of narrow
/// operators fused into one loop per partition.
///
/// # What it evaluates to
///
/// `stream! { .. }` is an expression of type
/// `streaming::Result<StreamingContext>`: a new context with the whole
/// pipeline registered, **not started** (call `start()` and
/// `await_termination()` as in Spark). If the last item of the body is an
/// expression naming streams instead of a statement — `counts` or
/// `(counts, words)` — the value is `Result<(StreamingContext, DStream<..>, ..)>`
/// and those streams are handed back (with element types inferred), e.g. to
/// attach more outputs or to test them. Errors of `StreamingContext::new` and
/// `checkpoint` are returned as `Err`, so `?` works on the macro.
///
/// # Grammar
///
/// ```text
/// body      := context ";" statement* tail?
/// context   := "context" "(" setting ("," setting)* ")"
/// setting   := "batch" "=" duration          (required unless `conf` is given)
///            | "master" "=" expr             (default "local[*]")
///            | "app" "=" expr                (default: the calling module's path)
///            | "checkpoint" "=" expr         (checkpoint directory)
///            | "remember" "=" duration
///            | "conf" "=" expr               (a StreamingConf to start from)
/// statement := "let" name (":" type)? "=" pipeline ";"
///            | pipeline ";"                  (must end in an output operator)
/// pipeline  := root ("." operator "(" args ")")*
/// root      := name                          (a stream bound by an earlier `let`)
///            | input "(" args ")"            (`ssc.input(..)` is accepted too)
/// tail      := name | "(" name ("," name)* ")"
/// duration  := INT unit | DECIMAL unit       (unit: ms, s, min, h; e.g. 500ms, 3s, 1.5s, 2min)
///            | Milliseconds(INT) | Seconds(INT) | Minutes(INT)
///            | expr                          (any `std::time::Duration`, checked only at run time)
/// ```
///
/// Arguments are ordinary Rust expressions and closures in scope (hosts,
/// ports, queues, functions). A stream argument (`join`, `union`,
/// `transform_with`, ..) is a stream name, `&name`, or an inline pipeline.
/// Operator names are Spark's in snake case; the table below lists them all.
/// In reducer positions the bare names `sum`, `count`, `min` and `max` are
/// built-in reducers (`a + b`; count of elements; `cmp::min`; `cmp::max`) —
/// to pass your own function of one of these names, write a closure.
///
/// # Checks
///
/// All errors of a body are reported together, each at the offending token:
/// malformed or zero durations; window and slide durations that are not
/// multiples of the parent stream's slide (the batch interval, or the slide of
/// an upstream window), streams of different slides combined; stateful
/// operators and incremental windows without `checkpoint = ..`; a pipeline
/// with no output operation; unknown operators (with the nearest name, and
/// Spark's camel-case names translated); wrong argument counts; undefined
/// stream names. Key-value operators on streams that are not pairs, and joins
/// of different key types, are reported by rustc at the operator. On errors
/// the macro still expands to an expression of the right type, so the rest of
/// the code type-checks.
///
/// # Fusion and windows
///
/// Consecutive narrow operators (`map`, `flat_map`, `filter`, `map_values`,
/// `flat_map_values`, `map_partitions`, `map_partitions_with_index`, `glom`)
/// become one `map_partitions` call running a single iterator chain per
/// partition. A stream used twice, returned, or annotated with a type ends a
/// fused stage; shuffles, windows and state are stage boundaries.
///
/// # Fusion through shuffles, and borrowed elements
///
/// A chain of element-wise narrow operators (`map`, `flat_map`, `filter`,
/// `map_values`, `flat_map_values`) feeding `reduce_by_key`,
/// `count_by_value`, `group_by_key` or `combine_by_key` runs *inside* that
/// operator's map-side combine: one loop per partition, no intermediate
/// element, closures inlined (the runtime's `combine_into_by_key`). The same
/// holds for the windowed by-key reductions when they slide by the batch
/// interval (each batch is then pre-combined exactly as the window would
/// combine it), and for `update_state_by_key` (and its `_with_initial` and
/// `_with_time` forms) and `map_with_state`, fed the values grouped per key
/// in arrival order (`update_state_by_key_grouped`, `map_with_state_grouped`;
/// `map_with_state` then emits a batch's outputs key by key).
///
/// Such a chain may **borrow**: when its first closure declares its element
/// as a reference, every element is read in place and the closures may
/// return values that borrow from it. This compiles and gives a
/// `DStream<(String, i64)>`:
///
/// ```ignore
/// let counts = lines.flat_map(|line: &str| line.split(' '))
///                   .map(|w: &str| (w, 1i64))
///                   .reduce_by_key(sum);
/// ```
///
/// The rules:
/// - the chain borrows when the first closure that takes the element (a
///   `filter` takes a reference to it in either mode, so filters before it
///   do not count) declares its parameter as a reference: `&str` from a
///   `String` element, by deref coercion; `&T` in general;
/// - a key may stay borrowed (`&str`, `&T`, or a tuple of those with
///   primitives): it is hashed and compared as it is, and becomes owned
///   (`ToOwned`, here a `String`) only when it first enters a partition's
///   combine table, so one allocation per distinct key and partition, not
///   one per word (the runtime's `KeyRef`);
/// - values must be owned (`i64`, `String`, ..): they are what the stream
///   carries on;
/// - a closure is inlined (its parameter becomes a `let` of the element), so
///   a closure whose body `return`s early or uses `?` is called instead, and
///   then cannot return a borrow of its parameter.
///
/// The plan dump shows it:
///
/// ```text
/// s1["flat_map → map → reduce_by_key(sum)<br/>shuffle · fused 2 ops into combine_ref_into_by_key"]
/// ```
///
/// Windowed reductions are resolved at compile time, and a choice never
/// changes the result: the output is always that of the same pipeline in the
/// plain API with closures.
/// - `sum` and `count` call the runtime's exact windowed sum
///   (`sum_by_key_and_window`, `sum_by_window`): a key is emitted while it has
///   at least one element in the window (even if its sum is 0) and is gone
///   once it has none, as with `|a, b| a + b`. The value type picks the path
///   (`WindowSum`): incremental with a per-key element count for integers,
///   slide-sized panes for floats, so float sums do not drift. A borrowing
///   chain in front of a by-key `sum` sliding by the batch interval runs in
///   the window's own combine (`sum_ref_into_by_key_and_window`): each pane
///   is combined straight from the input's elements, keys borrowed until
///   they first enter the pane's table.
/// - Explicit inverse functions (`reduce_by_key_and_window(f, inv_f, w, s)`,
///   the same as `reduce_by_key_and_window_inv`) keep Spark's documented
///   semantics: a key whose value returns to its zero stays in the output
///   unless Spark's filter function, the fifth argument, removes it.
/// - `min`, `max` and other reducers use slide-sized panes.
///
/// A `filter` after a windowed reduction filters its output, like any
/// narrow operator; it is never applied to the window's state.
/// [`stream_plan!`] shows the stages; setting `STREAMING_DSL_PLAN=1` while
/// compiling prints every `stream!`'s plan.
///
/// # Examples, one per section of Spark's DStream guide
///
/// These examples are compiled by the `ui-tests` pass suite.
///
/// **StreamingContext and DStream** — the queue word count (a batch every 3 s):
///
/// ```ignore
/// use streaming::prelude::*;
///
/// let queue = BatchQueue::new();
/// queue.push(vec!["Spark Streaming Sample ssc".to_string()]);
/// queue.push(vec!["Spark Queue Spark API".to_string()]);
/// let ssc = stream! {
///     context(batch = 3s, master = "local[*]", app = "QueueStream");
///     let lines = queue_stream(queue, true);
///     let words = lines.flat_map(|line: String| {
///         line.split(' ').map(str::to_string).collect::<Vec<_>>()
///     });
///     words.count_by_value().print();
/// }?;
/// ssc.start()?;
/// ssc.await_termination()?;
/// ```
///
/// **Inputs** — sockets (text, or bytes with a converter), new files in a
/// directory, queues, and `union` of several streams:
///
/// ```ignore
/// let (host, port) = ("localhost", 9000);
/// let ssc = stream! {
///     context(batch = 1s);
///     let text = socket_text_stream(host, port);
///     let files = text_file_stream("/data/incoming");
///     let all = union(text, files);
///     all.print();
/// }?;
/// ```
///
/// **Basic operations** — map, flat_map, filter, count, reduce, by-key
/// reduce, union and joins:
///
/// ```ignore
/// let ssc = stream! {
///     context(batch = 1s);
///     let words = socket_text_stream("localhost", 9000)
///         .flat_map(|l: String| l.split(' ').map(str::to_string).collect::<Vec<_>>())
///         .filter(|w| !w.is_empty());
///     let counts = words.map(|w| (w, 1)).reduce_by_key(sum);
///     let lengths = words.map(|w| (w.clone(), w.len()));
///     counts.join(&lengths).print();
///     words.count().print();
///     words.map(|w| w.len()).reduce(max).print();
/// }?;
/// ```
///
/// **Advanced operations** — `transform`, `update_state_by_key` (needs a
/// checkpoint), and windows (`sum` runs incrementally on integers, so it needs
/// one too):
///
/// ```ignore
/// let ssc = stream! {
///     context(batch = 10s, checkpoint = "/tmp/checkpoint");
///     let pairs = socket_text_stream("localhost", 9000).map(|w: String| (w, 1));
///     pairs.update_state_by_key(|new: &[i32], total: Option<i32>| {
///         Some(total.unwrap_or(0) + new.iter().sum::<i32>())
///     }).print();
///     pairs.reduce_by_key_and_window(sum, 30s, 10s).filter(|(_, n)| *n > 0).print();
///     pairs.reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 1min, 20s).print();
///     pairs.transform(|batch, _time| batch.sort_by(|(w, _)| w.clone())).print();
///     pairs.count_by_window(30s, 10s).print();
/// }?;
/// ```
///
/// **Saving** — one directory per batch, `prefix-<time ms>.suffix`:
///
/// ```ignore
/// let ssc = stream! {
///     context(batch = 1s);
///     let lines = socket_text_stream("localhost", 9000);
///     lines.save_as_text_files("out/lines", "txt");
///     lines.map(|l: String| (l.len(), l)).save_as_object_files("out/objects", "bin");
/// }?;
/// ```
///
/// **Checkpointing and caching** — `checkpoint = dir` in the context clause;
/// `cache()` a stream that several pipelines read:
///
/// ```ignore
/// let ssc = stream! {
///     context(batch = 2s, checkpoint = "/tmp/checkpoint");
///     let words = socket_text_stream("localhost", 9000)
///         .flat_map(|l: String| l.split(' ').map(str::to_string).collect::<Vec<_>>())
///         .cache();
///     words.count().print();
///     words.count_by_value().print();
/// }?;
/// ```
///
/// # Operators
///
#[doc = include_str!("../OPERATORS.md")]
#[proc_macro]
pub fn stream(input: TokenStream) -> TokenStream {
    streaming_dsl::expand(input.into()).into()
}

/// The stage plan of a `stream!` body, as a `&'static str` holding a Mermaid
/// flowchart: one box per stage, listing the operators fused into it and the
/// runtime operator it runs. The body is checked exactly as by `stream!`, but
/// nothing is executed and no variable is used.
///
/// ```ignore
/// let plan: &str = stream_plan! {
///     context(batch = 1s);
///     let lines = socket_text_stream("localhost", 9000);
///     lines.flat_map(|l: String| l.split(' ').map(str::to_string).collect::<Vec<_>>())
///         .map(|w| (w, 1))
///         .reduce_by_key(sum)
///         .print();
/// };
/// assert!(plan.contains("flat_map → map<br/>narrow · fused 2 ops into map_partitions"));
/// ```
#[proc_macro]
pub fn stream_plan(input: TokenStream) -> TokenStream {
    streaming_dsl::expand_plan(input.into()).into()
}
