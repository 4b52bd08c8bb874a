//! Parsing: the macro input (a token stream) to the surface AST.
//!
//! The body of `stream! { .. }` is Rust statement syntax, so it is first
//! parsed with `syn` as the inside of a block, then each statement is
//! converted into the DSL's AST ([`ast`]): the context clause, `let` bindings
//! of pipelines, output statements and an optional tail expression naming the
//! streams to return. Every token keeps its span, so later errors point at
//! the user's code. Conversion errors are collected, not returned one by one.

pub mod ast;
mod convert;

pub use ast::*;
pub(crate) use convert::chain as chain_of;
pub(crate) use convert::single_ident as single_ident_of;

use crate::diag::Diagnostics;
use proc_macro2::TokenStream;

/// Parses the macro input. A Rust syntax error stops parsing (it is returned
/// alone); errors in the DSL's own structure are all added to `diags` and the
/// statements that could be understood are kept.
pub fn parse(input: TokenStream, diags: &mut Diagnostics) -> syn::Result<Program> {
    let stmts = syn::parse::Parser::parse2(syn::Block::parse_within, input)?;
    Ok(convert::program(stmts, diags))
}
