//! Conversion of `syn` statements into the DSL's AST.

use super::ast::*;
use crate::diag::Diagnostics;
use crate::ops::{self, Namespace};
use syn::spanned::Spanned;
use syn::{Expr, Ident, Pat, Stmt};

/// Converts the statements of the body, collecting every error.
pub(super) fn program(stmts: Vec<Stmt>, diags: &mut Diagnostics) -> Program {
    let mut program = Program {
        context: None,
        stmts: Vec::new(),
        exports: Vec::new(),
        dropped: 0,
    };
    let before = diags.len();
    let count = stmts.len();
    for (index, stmt) in stmts.into_iter().enumerate() {
        let last = index + 1 == count;
        match stmt {
            Stmt::Expr(expr, semi) => {
                if let Some(clause) = context_clause(&expr, diags) {
                    if index == 0 {
                        program.context = Some(clause);
                    } else {
                        diags.error(
                            clause.span,
                            "the `context(..)` clause must be the first statement of `stream!`",
                        );
                    }
                    continue;
                }
                if semi.is_none() && last && !matches!(expr, Expr::MethodCall(_)) {
                    program.exports = exports(&expr, diags);
                    continue;
                }
                let span = expr.span();
                match chain(&expr) {
                    Ok(chain) => program.stmts.push(Statement::Expr { chain, span }),
                    Err(err) => diags.push(err),
                }
            }
            Stmt::Local(local) => {
                let (name, ty) = match binding(&local.pat) {
                    Ok(binding) => binding,
                    Err(err) => {
                        diags.push(err);
                        continue;
                    }
                };
                let Some(init) = &local.init else {
                    diags.error_spanned(
                        &local,
                        format!("the stream `{name}` needs a value: `let {name} = input_or_stream.operator(..);`"),
                    );
                    continue;
                };
                if let Some((_, diverge)) = &init.diverge {
                    diags.error_spanned(diverge, "`let .. else` is not supported in `stream!`");
                    continue;
                }
                match chain(&init.expr) {
                    Ok(chain) => program.stmts.push(Statement::Let { name, ty, chain }),
                    Err(err) => diags.push(err),
                }
            }
            Stmt::Item(item) => diags.error_spanned(
                &item,
                "items (fn, struct, use, ..) are not allowed inside `stream!`; define them outside the macro",
            ),
            Stmt::Macro(mac) => diags.error_spanned(
                &mac,
                "macro calls are not allowed as statements of `stream!`; only `let` bindings of streams and output statements are",
            ),
        }
    }
    program.dropped = diags.len() - before;
    program
}

/// Recognises `context(key = value, ..)`; `None` if `expr` is something else.
fn context_clause(expr: &Expr, diags: &mut Diagnostics) -> Option<ContextClause> {
    let Expr::Call(call) = expr else { return None };
    let name = single_ident(&call.func)?;
    if name != "context" {
        return None;
    }
    let mut entries = Vec::new();
    for arg in &call.args {
        match arg {
            Expr::Assign(assign) => match single_ident(&assign.left) {
                Some(key) => entries.push(ContextEntry {
                    key,
                    value: (*assign.right).clone(),
                }),
                None => diags.error_spanned(
                    &assign.left,
                    "expected a context setting name: `batch`, `master`, `app`, `checkpoint` or `remember`",
                ),
            },
            other => diags.error_spanned(
                other,
                "expected `key = value` in the context clause, e.g. `batch = 3s`",
            ),
        }
    }
    Some(ContextClause {
        span: name.span(),
        entries,
    })
}

/// The stream name (and type annotation) of a `let` pattern.
fn binding(pat: &Pat) -> syn::Result<(Ident, Option<Box<syn::Type>>)> {
    match pat {
        Pat::Ident(p) if p.by_ref.is_none() && p.mutability.is_none() && p.subpat.is_none() => {
            Ok((p.ident.clone(), None))
        }
        Pat::Type(typed) => {
            let (name, _) = binding(&typed.pat)?;
            Ok((name, Some(typed.ty.clone())))
        }
        other => Err(syn::Error::new_spanned(
            other,
            "a stream binding must be a plain name: `let words = ..;`",
        )),
    }
}

/// The names listed by the tail expression: `counts` or `(counts, words)`.
fn exports(expr: &Expr, diags: &mut Diagnostics) -> Vec<Ident> {
    let names: Vec<&Expr> = match expr {
        Expr::Tuple(tuple) => tuple.elems.iter().collect(),
        Expr::Paren(paren) => vec![&*paren.expr],
        other => vec![other],
    };
    let mut out = Vec::new();
    for name in names {
        match single_ident(name) {
            Some(ident) => out.push(ident),
            None => diags.error_spanned(
                name,
                "the last expression of `stream!` names the streams to return, e.g. `counts` or `(counts, words)`; end pipeline statements with `;`",
            ),
        }
    }
    out
}

/// The identifier of a one-segment path expression, if `expr` is one.
pub(crate) fn single_ident(expr: &Expr) -> Option<Ident> {
    match expr {
        Expr::Path(p) if p.qself.is_none() && p.attrs.is_empty() => p.path.get_ident().cloned(),
        _ => None,
    }
}

/// Converts a pipeline expression: a root followed by method calls.
pub(crate) fn chain(expr: &Expr) -> syn::Result<Chain> {
    match expr {
        Expr::MethodCall(call) => {
            if let Some(turbofish) = &call.turbofish {
                return Err(syn::Error::new_spanned(
                    turbofish,
                    "generic arguments are not supported on `stream!` operators; annotate the closure's parameter types instead",
                ));
            }
            let op = OpCall {
                name: call.method.clone(),
                args: call.args.iter().cloned().collect(),
                args_span: call.paren_token.span.join(),
            };
            // `ssc.socket_text_stream(..)`: Spark's spelling of an input.
            if let Some(receiver) = single_ident(&call.receiver) {
                if receiver == "ssc" && !ops::overloads(Namespace::Input, &op.name.to_string()).is_empty() {
                    return Ok(Chain {
                        root: Root::Input(op),
                        ops: Vec::new(),
                    });
                }
            }
            let mut chain = chain(&call.receiver)?;
            chain.ops.push(op);
            Ok(chain)
        }
        Expr::Call(call) => match single_ident(&call.func) {
            Some(name) => Ok(Chain {
                root: Root::Input(OpCall {
                    name,
                    args: call.args.iter().cloned().collect(),
                    args_span: call.paren_token.span.join(),
                }),
                ops: Vec::new(),
            }),
            None => Err(syn::Error::new_spanned(
                &call.func,
                "expected the name of an input such as `socket_text_stream`",
            )),
        },
        Expr::Path(_) => match single_ident(expr) {
            Some(name) => Ok(Chain {
                root: Root::Name(name),
                ops: Vec::new(),
            }),
            None => Err(syn::Error::new_spanned(
                expr,
                "expected a stream name (paths are not stream names)",
            )),
        },
        Expr::Paren(paren) => chain(&paren.expr),
        Expr::Group(group) => chain(&group.expr),
        Expr::Try(t) => Err(syn::Error::new_spanned(
            t.question_token,
            "`?` is not used on `stream!` operators: errors are reported by the value of `stream!` itself",
        )),
        Expr::Field(field) => Err(syn::Error::new_spanned(
            &field.member,
            "expected an operator call like `.map(..)`, found a field access",
        )),
        other => Err(syn::Error::new_spanned(
            other,
            "expected a pipeline: a stream name or an input such as `socket_text_stream(host, port)`, followed by operators like `.map(..)`",
        )),
    }
}
