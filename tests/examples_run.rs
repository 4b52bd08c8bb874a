//! Runs the shipped examples as a user would and checks what they print.

mod support;
use support::run_example;

/// Splits Spark's print layout into (time, lines) blocks.
fn blocks(text: &str) -> Vec<(u64, Vec<String>)> {
    let dashes = "-".repeat(43);
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        assert_eq!(lines[i], dashes, "block starts with dashes: {text}");
        let time = lines[i + 1]
            .strip_prefix("Time: ")
            .and_then(|t| t.strip_suffix(" ms"))
            .expect("Time: line")
            .parse()
            .unwrap();
        assert_eq!(lines[i + 2], dashes);
        i += 3;
        let mut elems = Vec::new();
        while !lines[i].is_empty() {
            elems.push(lines[i].to_string());
            i += 1;
        }
        i += 1;
        out.push((time, elems));
    }
    out
}

#[test]
fn queue_word_count_prints_the_seed_output_and_exits() {
    let text = run_example("queue_word_count", &[]);
    let b = blocks(&text);
    assert_eq!(b.len(), 2, "{text}");
    assert_eq!(b[1].0 - b[0].0, 3000, "3 s batch interval");
    let mut first = b[0].1.clone();
    first.sort();
    assert_eq!(
        first,
        [
            "(\"Sample\", 1)",
            "(\"Spark\", 1)",
            "(\"Streaming\", 1)",
            "(\"ssc\", 1)"
        ]
    );
    let mut second = b[1].1.clone();
    second.sort();
    assert_eq!(second, ["(\"API\", 1)", "(\"Queue\", 1)", "(\"Spark\", 2)"]);
}
