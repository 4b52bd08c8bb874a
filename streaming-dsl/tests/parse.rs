//! Parsing and lowering: the surface syntax becomes the expected graph.

mod common;

use common::*;
use streaming_dsl::ops::Kind;

const SEED_WORD_COUNT: &str = r#"
    context(batch = 3s, master = "local[*]", app = "QueueStream");
    let lines = queue_stream(input_queue, true);
    let words = lines.flat_map(|l: String| l.split(' ').map(str::to_owned).collect::<Vec<_>>());
    words.count_by_value().print();
"#;

#[test]
fn seed_word_count_lowers_to_four_nodes() {
    let c = ok(SEED_WORD_COUNT);
    let ops: Vec<&str> = c.graph.nodes.iter().map(|n| n.spec.name).collect();
    assert_eq!(ops, ["queue_stream", "flat_map", "count_by_value", "print"]);
    assert_eq!(
        c.graph.context.batch.as_ref().unwrap().millis(),
        Some(3_000)
    );
    assert!(c.graph.context.master.is_some() && c.graph.context.app.is_some());
    assert!(c.graph.context.checkpoint.is_none());
    assert_eq!(c.graph.nodes[1].name.as_ref().unwrap(), "words");
    assert_eq!(c.graph.nodes[2].inputs, [1]);
}

#[test]
fn named_streams_fan_out_and_fan_in() {
    let c = ok(r#"
        context(batch = 1s);
        let a = socket_text_stream(host, port);
        let b = ssc.socket_text_stream("localhost", 9000);
        let both = union(a, b);
        let lens = a.map(|l: String| (l.len(), 1));
        let keyed = b.map(|l: String| (l.len(), l));
        lens.join(&keyed).print();
        both.union(&a).print();
    "#);
    let a = 0;
    assert_eq!(
        c.graph.consumers(a).len(),
        3,
        "a is read by union, map and union"
    );
    let union = c
        .graph
        .nodes
        .iter()
        .find(|n| n.kind() == Kind::Input && !n.inputs.is_empty())
        .unwrap();
    assert_eq!(union.inputs, [0, 1]);
    let join = c
        .graph
        .nodes
        .iter()
        .find(|n| n.spec.name == "join")
        .unwrap();
    assert_eq!(join.inputs.len(), 2);
}

#[test]
fn inline_pipelines_as_stream_arguments() {
    let c = ok(r#"
        context(batch = 1s);
        let a = socket_text_stream(h, p).map(|l: String| (l, 1));
        a.join(socket_text_stream(h, q).map(|l: String| (l, 2))).print();
    "#);
    assert_eq!(c.graph.nodes.len(), 6);
}

#[test]
fn exports_and_type_annotations() {
    let c = ok(r#"
        context(batch = 1s);
        let lines = socket_text_stream(h, p);
        let lens: DStream<usize> = lines.map(|l: String| l.len());
        (lines, lens)
    "#);
    let names: Vec<String> = c.graph.exports.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(names, ["lines", "lens"]);
    assert!(c.graph.nodes[1].ty.is_some());
}

#[test]
fn builtin_count_inserts_a_mapping_and_becomes_an_exact_sum() {
    let c = ok(r#"
        context(batch = 1s, checkpoint = "/tmp/cp");
        let pairs = socket_text_stream(h, p).map(|l: String| (l, ()));
        pairs.reduce_by_key_and_window(count, 30s, 10s).print();
        pairs.reduce_by_key_and_window(max, 30s, 10s).print();
    "#);
    let ops: Vec<(&str, bool)> = c
        .graph
        .nodes
        .iter()
        .map(|n| (n.spec.name, n.synthetic))
        .collect();
    assert_eq!(
        ops,
        [
            ("socket_text_stream", false),
            ("map", false),
            ("map_values", true),
            ("sum_by_key_and_window", false),
            ("print", false),
            ("reduce_by_key_and_window", false),
            ("print", false),
        ]
    );
}

#[test]
fn parse_errors_are_all_collected() {
    assert_errors(
        r#"
        context(batch = 1s);
        fn helper() {}
        let (a, b) = socket_text_stream(h, p);
        let c = socket_text_stream(h, p).map::<u8>(|x| x);
        let d = socket_text_stream(h, p)?;
        println!("x");
        context(batch = 2s);
        "#,
        &[
            "items (fn, struct, use, ..) are not allowed inside `stream!`; define them outside the macro @ fn helper() {}",
            "a stream binding must be a plain name: `let words = ..;` @ (a, b)",
            "generic arguments are not supported on `stream!` operators; annotate the closure's parameter types instead @ ::<u8>",
            "`?` is not used on `stream!` operators: errors are reported by the value of `stream!` itself @ ?",
            "macro calls are not allowed as statements of `stream!`; only `let` bindings of streams and output statements are @ println!(\"x\");",
            "the `context(..)` clause must be the first statement of `stream!` @ context",
        ],
    );
}

#[test]
fn rust_syntax_errors_stop_parsing() {
    let errs = errors("context(batch = 1s); let x = ;");
    assert_eq!(errs.len(), 1);
    assert!(errs[0].starts_with("expected an expression"), "{errs:?}");
}
