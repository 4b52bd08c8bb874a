//! The operator reference in `streaming-macros/OPERATORS.md` (included in the
//! documentation of `stream!`) is generated from the operator table; this
//! test keeps it current. Regenerate with `UPDATE_OPERATORS=1 cargo test`.

use std::path::Path;

#[test]
fn operators_md_matches_the_table() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../streaming-macros/OPERATORS.md");
    let expected = streaming_dsl::ops::markdown_reference();
    if std::env::var_os("UPDATE_OPERATORS").is_some() {
        std::fs::write(&path, &expected).expect("write OPERATORS.md");
    }
    let actual = std::fs::read_to_string(&path).expect("read OPERATORS.md");
    assert_eq!(
        actual, expected,
        "OPERATORS.md is stale: run with UPDATE_OPERATORS=1"
    );
}
