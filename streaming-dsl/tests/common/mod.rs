//! Shared helpers of the compiler's tests.
#![allow(dead_code)]

use proc_macro2::TokenStream;
use streaming_dsl::{compile, Compiled};

/// Tokenizes a `stream!` body.
pub fn tokens(src: &str) -> TokenStream {
    src.parse().expect("test source tokenizes")
}

/// Compiles a body that must succeed.
pub fn ok(src: &str) -> Compiled {
    match compile(tokens(src)) {
        Ok(c) => c,
        Err(f) => panic!("unexpected errors: {:#?}", f.diagnostics.messages()),
    }
}

/// The errors of a body that must fail, each as `message @ spanned text`.
pub fn errors(src: &str) -> Vec<String> {
    let failure = compile(tokens(src)).expect_err("expected errors");
    failure
        .diagnostics
        .errors()
        .iter()
        .map(|e| format!("{e} @ {}", spanned_text(src, e.span())))
        .collect()
}

/// The source text a span covers (the first line of it).
pub fn spanned_text(src: &str, span: proc_macro2::Span) -> String {
    let (start, end) = (span.start(), span.end());
    if start.line == 0 || (start.line == end.line && start.column == end.column) {
        return "<call site>".to_string();
    }
    let lines: Vec<&str> = src.lines().collect();
    let line = lines[start.line - 1];
    let chars: Vec<char> = line.chars().collect();
    let stop = if end.line == start.line {
        end.column
    } else {
        chars.len()
    };
    chars[start.column..stop].iter().collect()
}

/// Asserts that exactly the expected errors are reported (in order).
#[track_caller]
pub fn assert_errors(src: &str, expected: &[&str]) {
    let got = errors(src);
    assert_eq!(got, expected, "errors differ");
}
