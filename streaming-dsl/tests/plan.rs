//! Plan snapshots: the Mermaid dump of each program, compared as plain text.
//! They show consecutive narrow operators fused into one stage, and
//! shuffles, windows, state and fan-out as stage boundaries.

mod common;

use common::*;
use streaming_dsl::plan::{dump::mermaid, Shape};

fn dump(src: &str) -> String {
    let c = ok(src);
    mermaid(&c.graph, &c.plan)
}

#[test]
fn seed_queue_word_count() {
    assert_eq!(
        dump(
            r#"
            context(batch = 3s, master = "local[*]", app = "QueueStream");
            let lines = queue_stream(input_queue, true);
            let words = lines.flat_map(|l: String| l.split(' ').map(str::to_owned).collect::<Vec<_>>());
            words.count_by_value().print();
            "#
        ),
        "\
flowchart TD
    s0[\"lines = queue_stream<br/>input · queue_stream\"]
    s1[\"words = flat_map → count_by_value<br/>shuffle · fused 1 op into combine_into_by_key\"]
    s2[\"print<br/>output · print\"]
    s0 --> s1
    s1 --> s2
"
    );
}

#[test]
fn narrow_chain_across_named_streams_is_one_stage() {
    assert_eq!(
        dump(
            r#"
            context(batch = 1s);
            let lines = socket_text_stream("localhost", 9999);
            let words = lines.flat_map(|l: String| l.split(' ').map(str::to_owned).collect::<Vec<_>>());
            let pairs = words.filter(|w| !w.is_empty()).map(|w| (w, 1));
            let counts = pairs.map_values(|v: i32| v * 2).reduce_by_key(sum);
            counts.print();
            "#
        ),
        "\
flowchart TD
    s0[\"lines = socket_text_stream<br/>input · socket_text_stream\"]
    s1[\"words = flat_map → filter → pairs = map → map_values → counts = reduce_by_key(sum)<br/>shuffle · fused 4 ops into combine_into_by_key\"]
    s2[\"print<br/>output · print\"]
    s0 --> s1
    s1 --> s2
"
    );
}

#[test]
fn fan_out_materializes_the_shared_stream() {
    assert_eq!(
        dump(
            r#"
            context(batch = 1s);
            let words = socket_text_stream(h, p).flat_map(|l: String| vec![l]).map(|w: String| w.to_lowercase());
            words.filter(|w| w.len() > 3).map(|w| (w, 1)).reduce_by_key(sum).print();
            words.count().print();
            "#
        ),
        "\
flowchart TD
    s0[\"socket_text_stream<br/>input · socket_text_stream\"]
    s1[\"flat_map → words = map<br/>narrow · fused 2 ops into map_partitions\"]
    s2[\"filter → map → reduce_by_key(sum)<br/>shuffle · fused 2 ops into combine_into_by_key\"]
    s3[\"print<br/>output · print\"]
    s4[\"count<br/>shuffle · count\"]
    s5[\"print<br/>output · print\"]
    s0 --> s1
    s1 --> s2
    s2 --> s3
    s1 --> s4
    s4 --> s5
"
    );
}

#[test]
fn windows_are_resolved_statically_and_filters_stay_on_the_output() {
    assert_eq!(
        dump(
            r#"
            context(batch = 10s, checkpoint = "/tmp/checkpoint");
            let pairs = socket_text_stream(h, p).map(|w: String| (w, ()));
            let counts = pairs.reduce_by_key_and_window(count, 30s, 10s).filter(|(_, n)| *n > 0);
            let longest = pairs.map_values(|_| 1).reduce_by_key_and_window(max, 60s, 20s);
            counts.print();
            longest.print();
            "#
        ),
        "\
flowchart TD
    s0[\"socket_text_stream<br/>input · socket_text_stream\"]
    s1[\"pairs = map<br/>narrow · map\"]
    s2[\"map_values(|_| 1) → reduce_by_key_and_window(count)<br/>window · fused 1 op into combine_into_by_key · exact sum · sum_by_key_and_window · slide 10s\"]
    s3[\"counts = filter<br/>narrow · filter\"]
    s4[\"map_values<br/>narrow · map_values\"]
    s5[\"longest = reduce_by_key_and_window(max)<br/>window · panes · reduce_by_key_and_window · slide 20s\"]
    s6[\"print<br/>output · print\"]
    s7[\"print<br/>output · print\"]
    s0 --> s1
    s1 --> s2
    s2 --> s3
    s1 --> s4
    s4 --> s5
    s3 --> s6
    s5 --> s7
"
    );
}

#[test]
fn joins_and_unions_are_boundaries_with_two_inputs() {
    let c = ok(r#"
        context(batch = 1s);
        let a = socket_text_stream(h, 1).map(|l: String| (l, 1));
        let b = socket_text_stream(h, 2).map(|l: String| (l, 2));
        a.join(&b).map(|(k, (x, y))| (k, x + y)).print();
        union(a, b).print();
    "#);
    let join = c
        .plan
        .stages
        .iter()
        .find(|s| c.graph.nodes[s.nodes[0]].spec.name == "join")
        .unwrap();
    assert_eq!(join.inputs.len(), 2);
    assert_eq!(join.shape, Shape::Op);
    let after = &c.plan.stages[join.id + 1];
    assert_eq!(
        after.shape,
        Shape::Op,
        "a single narrow op after a join is a plain call"
    );
}

#[test]
fn a_borrowing_chain_into_a_windowed_sum_is_the_window_s_combine() {
    assert_eq!(
        dump(
            r#"
            context(batch = 1s, checkpoint = "/tmp/c");
            let lines = socket_text_stream(h, p);
            lines.flat_map(|l: &str| l.split(' ')).map(|w: &str| (w, 1i64)).reduce_by_key_and_window(sum, 30s, 1s).print();
            "#
        ),
        "\
flowchart TD
    s0[\"lines = socket_text_stream<br/>input · socket_text_stream\"]
    s1[\"flat_map → map → reduce_by_key_and_window(sum)<br/>window · fused 2 ops into sum_ref_into_by_key_and_window · exact sum · slide 1s\"]
    s2[\"print<br/>output · print\"]
    s0 --> s1
    s1 --> s2
"
    );
}
