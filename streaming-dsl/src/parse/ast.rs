//! The surface AST of a `stream!` program.

use proc_macro2::Span;
use syn::{Expr, Ident, Type};

/// A whole `stream!` body.
#[derive(Debug)]
pub struct Program {
    /// The `context(..)` clause, if written.
    pub context: Option<ContextClause>,
    /// The statements, in order.
    pub stmts: Vec<Statement>,
    /// The tail expression: the streams handed back to the caller.
    pub exports: Vec<Ident>,
    /// How many statements were dropped because of errors.
    pub dropped: usize,
}

/// `context(batch = 3s, master = "local[*]", app = "..", checkpoint = dir)`.
#[derive(Debug)]
pub struct ContextClause {
    /// The `context` keyword's span.
    pub span: Span,
    /// The `key = value` entries in order.
    pub entries: Vec<ContextEntry>,
}

/// One `key = value` entry of the context clause.
#[derive(Debug)]
pub struct ContextEntry {
    /// The key (`batch`, `master`, `app`, `checkpoint`, `remember`).
    pub key: Ident,
    /// The value expression.
    pub value: Expr,
}

/// One statement of the body.
#[derive(Debug)]
pub enum Statement {
    /// `let name = pipeline;` or `let name: Type = pipeline;`.
    Let {
        /// The bound stream name.
        name: Ident,
        /// An optional type annotation (forces the stream to exist as a
        /// typed variable).
        ty: Option<Box<Type>>,
        /// The pipeline.
        chain: Chain,
    },
    /// `pipeline;`: a chain that should end with an output operator.
    Expr {
        /// The pipeline.
        chain: Chain,
        /// Span of the whole statement.
        span: Span,
    },
}

/// A pipeline expression: a root followed by operator calls.
#[derive(Debug)]
pub struct Chain {
    /// Where the chain starts.
    pub root: Root,
    /// The operator calls in order.
    pub ops: Vec<OpCall>,
}

/// The start of a chain.
#[derive(Debug)]
pub enum Root {
    /// A stream bound earlier with `let`.
    Name(Ident),
    /// An input: `socket_text_stream(host, port)` (or `ssc.`-prefixed).
    Input(OpCall),
}

/// A call of an operator: `name(args..)`.
#[derive(Debug)]
pub struct OpCall {
    /// The operator's name as written (spans errors about the operator).
    pub name: Ident,
    /// The arguments as written.
    pub args: Vec<Expr>,
    /// Span of the argument list's parentheses (for arity errors).
    pub args_span: Span,
}
