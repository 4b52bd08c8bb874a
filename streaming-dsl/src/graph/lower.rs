//! Lowering: the surface AST to the [`Graph`], resolving every name against
//! the operator table and the `let` bindings, checking argument counts and
//! duration literals, and resolving built-in reducers (`sum`, `count`, `min`,
//! `max`, from the table's `ops::builtin_reducer`) — including the choice of
//! the incremental windowed operators (`ops::summed_of`).
//!
//! Errors are added to the accumulator and lowering goes on: a chain whose
//! operator could not be resolved becomes *poisoned* (no node), its later
//! operators are still checked, and a name bound to it is remembered so its
//! uses do not report a second, misleading "undefined stream" error.

use super::args::parse_duration;
use super::suggest;
use super::{Arg, Context, Graph, Node, NodeId};
use crate::diag::Diagnostics;
use crate::ops::{self, ArgKind, BuiltinReducer, Kind, Namespace, OpSpec};
use crate::parse::{self, Chain, ContextClause, OpCall, Program, Root, Statement};
use proc_macro2::Span;
use std::collections::HashMap;
use syn::{Expr, Ident};

/// The context settings `stream!` understands.
const CONTEXT_KEYS: &[&str] = &["batch", "master", "app", "checkpoint", "remember", "conf"];

/// Lowers a parsed program; every error goes to `diags`.
pub fn lower(program: Program, call_span: Span, diags: &mut Diagnostics) -> Graph {
    let mut lowerer = Lowerer {
        nodes: Vec::new(),
        bindings: HashMap::new(),
        defined: Vec::new(),
        diags,
    };
    let context = lowerer.context(program.context, call_span);
    let mut outputs_unknown = program.dropped > 0;
    for stmt in program.stmts {
        match stmt {
            Statement::Let { name, ty, chain } => {
                let result = lowerer.chain(&chain);
                outputs_unknown |= result.is_none();
                let result = result.and_then(|id| lowerer.bind(id, &name, ty));
                lowerer.defined.push(name.to_string());
                lowerer.bindings.insert(name.to_string(), result);
            }
            Statement::Expr { chain, span } => {
                let result = lowerer.chain(&chain);
                outputs_unknown |= result.is_none();
                if let Some(id) = result {
                    if lowerer.nodes[id].kind() != Kind::Output {
                        lowerer.diags.error(
                            span,
                            "this stream is never used: end the statement with an output operation such as `.print()`, or bind it with `let`",
                        );
                    }
                }
            }
        }
    }
    let mut exports = Vec::new();
    for name in program.exports {
        if let Some(id) = lowerer.resolve_name(&name) {
            if lowerer.nodes[id].kind() == Kind::Output {
                continue;
            }
            exports.push((name, id));
        }
    }
    Graph {
        context,
        nodes: lowerer.nodes,
        exports,
        call_span,
        outputs_unknown,
    }
}

struct Lowerer<'d> {
    nodes: Vec<Node>,
    /// Stream name → node, or `None` when the binding's chain is poisoned.
    bindings: HashMap<String, Option<NodeId>>,
    /// The names bound so far, in order (for suggestions).
    defined: Vec<String>,
    diags: &'d mut Diagnostics,
}

impl Lowerer<'_> {
    fn context(&mut self, clause: Option<ContextClause>, call_span: Span) -> Context {
        let mut ctx = Context {
            span: clause.as_ref().map_or(call_span, |c| c.span),
            conf: None,
            batch: None,
            master: None,
            app: None,
            checkpoint: None,
            remember: None,
        };
        let Some(clause) = clause else {
            self.diags.error(
                call_span,
                "missing context clause: start `stream!` with `context(batch = 1s);` giving the batch interval",
            );
            return ctx;
        };
        let mut seen: Vec<String> = Vec::new();
        let mut batch_reported = false;
        for entry in clause.entries {
            let mut key = entry.key.to_string();
            if key == "batch_interval" {
                key = "batch".into();
            } else if key == "app_name" {
                key = "app".into();
            }
            if seen.contains(&key) {
                self.diags.error(
                    entry.key.span(),
                    format!("the context setting `{key}` is given twice"),
                );
                continue;
            }
            seen.push(key.clone());
            let value = entry.value;
            match key.as_str() {
                "batch" => match parse_duration(&value) {
                    Ok(d) => ctx.batch = Some(d),
                    Err(err) => {
                        batch_reported = true;
                        self.diags.push(err);
                    }
                },
                "remember" => match parse_duration(&value) {
                    Ok(d) => ctx.remember = Some(d),
                    Err(err) => self.diags.push(err),
                },
                "master" => ctx.master = Some(Box::new(value)),
                "conf" => ctx.conf = Some(Box::new(value)),
                "app" => ctx.app = Some(Box::new(value)),
                "checkpoint" => ctx.checkpoint = Some(Box::new(value)),
                other => {
                    let hint = match suggest::nearest(other, CONTEXT_KEYS.iter().copied()) {
                        Some(near) => format!("did you mean `{near}`?"),
                        None => format!("expected one of {}", quoted_list(CONTEXT_KEYS)),
                    };
                    self.diags.error(
                        entry.key.span(),
                        format!("unknown context setting `{other}`; {hint}"),
                    );
                }
            }
        }
        if ctx.batch.is_none() && ctx.conf.is_none() && !batch_reported {
            self.diags.error(
                clause.span,
                "missing batch interval: add `batch = 1s` (a duration such as `3s` or `500ms`) to the context clause",
            );
        }
        ctx
    }

    /// Binds `name` to node `id` (the result of a `let`).
    fn bind(&mut self, id: NodeId, name: &Ident, ty: Option<Box<syn::Type>>) -> Option<NodeId> {
        let node = &mut self.nodes[id];
        if node.kind() == Kind::Output {
            self.diags.error(
                node.op.span(),
                format!(
                    "`{}` is an output operation and returns no stream, so it cannot be bound to `{name}`; write it as a statement ending in `;`",
                    node.op
                ),
            );
            return None;
        }
        if node.name.is_none() {
            node.name = Some(name.clone());
        }
        if ty.is_some() {
            node.ty = ty;
        }
        Some(id)
    }

    fn resolve_name(&mut self, name: &Ident) -> Option<NodeId> {
        match self.bindings.get(&name.to_string()) {
            Some(result) => *result,
            None => {
                let word = name.to_string();
                let hint = match suggest::nearest(&word, self.defined.iter().map(String::as_str)) {
                    Some(near) => format!("; did you mean `{near}`?"),
                    None if !ops::overloads(Namespace::Input, &word).is_empty() => {
                        format!("; to read from an input, call it: `{word}(..)`")
                    }
                    None if self.defined.is_empty() => {
                        "; no stream is defined before this point".to_string()
                    }
                    None => format!(
                        "; the streams defined before this point are {}",
                        quoted_list(&self.defined)
                    ),
                };
                self.diags.error(
                    name.span(),
                    format!("cannot find stream `{word}` in this `stream!`{hint}"),
                );
                None
            }
        }
    }

    /// Lowers a chain; `None` if it is poisoned by an earlier error.
    fn chain(&mut self, chain: &Chain) -> Option<NodeId> {
        let mut current = match &chain.root {
            Root::Name(name) => self.resolve_name(name),
            Root::Input(call) => self.call(Namespace::Input, None, call),
        };
        let mut poisoned = current.is_none();
        for call in &chain.ops {
            if let Some(id) = current {
                let prev = &self.nodes[id];
                if prev.kind() == Kind::Output {
                    self.diags.error(
                        call.name.span(),
                        format!(
                            "`{}` is an output operation and ends the chain; no operator can follow it",
                            prev.op
                        ),
                    );
                    poisoned = true;
                }
            }
            let next = self.call(Namespace::Method, current, call);
            current = if poisoned { None } else { next };
            poisoned |= current.is_none();
        }
        current
    }

    /// Resolves and lowers one operator call. `input` is the receiver
    /// (`None` for inputs, or when the receiver is poisoned — the call is
    /// still checked, but no node is created).
    fn call(&mut self, ns: Namespace, input: Option<NodeId>, call: &OpCall) -> Option<NodeId> {
        let name = call.name.to_string();
        let overloads = ops::overloads(ns, &name);
        if overloads.is_empty() {
            let what = if ns == Namespace::Input {
                "input"
            } else {
                "operator"
            };
            let mut hint = suggest::operator_hint(ns, &name);
            if hint.is_empty()
                && ns == Namespace::Input
                && !ops::overloads(Namespace::Method, &name).is_empty()
            {
                hint = format!(
                    "; `{name}` is an operator: call it on a stream, as in `lines.{name}(..)`"
                );
            } else if hint.is_empty() {
                hint = "; see the operator table in the documentation of `stream!`".into();
            }
            self.diags
                .error(call.name.span(), format!("unknown {what} `{name}`{hint}"));
            return None;
        }
        let Some(spec) = overloads
            .iter()
            .copied()
            .find(|s| s.accepts(call.args.len()))
        else {
            self.diags.error(
                call.name.span(),
                arity_message(&name, &overloads, call.args.len()),
            );
            return None;
        };
        let receiver_ok = ns == Namespace::Input || input.is_some();
        let mut args = Vec::with_capacity(call.args.len());
        let mut inputs: Vec<NodeId> = input.into_iter().collect();
        let mut builtin: Option<(&'static BuiltinReducer, Span)> = None;
        let mut ok = true;
        for (i, expr) in call.args.iter().enumerate() {
            let kind = spec.args[i.min(spec.args.len() - 1)];
            match kind {
                ArgKind::Func | ArgKind::Value => args.push(Arg::Expr(Box::new(expr.clone()))),
                ArgKind::Duration => match parse_duration(expr) {
                    Ok(d) => args.push(Arg::Duration(d)),
                    Err(err) => {
                        self.diags.push(err);
                        ok = false;
                    }
                },
                ArgKind::Stream | ArgKind::Streams => match self.stream_arg(expr) {
                    Some(id) => {
                        inputs.push(id);
                        args.push(Arg::Stream(id));
                    }
                    None => ok = false,
                },
                ArgKind::Reducer => match builtin_reducer(expr) {
                    Some((reducer, span)) => {
                        builtin = Some((reducer, span));
                        args.push(Arg::Builtin(reducer.reduce, span));
                    }
                    None => args.push(Arg::Expr(Box::new(expr.clone()))),
                },
            }
        }
        if !ok || !receiver_ok {
            return None;
        }
        let mut spec: &'static OpSpec = spec;
        if let Some((reducer, span)) = builtin {
            if let Some(premap) = reducer.premap {
                // e.g. `count` = map every value to 1, then `sum`.
                let mapped = self.push(Node {
                    id: 0,
                    spec: ops::value_mapper(spec.elements),
                    op: call.name.clone(),
                    args: vec![Arg::Builtin(premap, span)],
                    inputs: vec![inputs[0]],
                    name: None,
                    ty: None,
                    synthetic: true,
                    builtin: Some(reducer.name),
                });
                inputs[0] = mapped;
            }
            if let (Some(target), true) = (ops::summed_of(spec), reducer.sums) {
                spec = target;
                args.remove(0);
            }
        }
        Some(self.push(Node {
            id: 0,
            spec,
            op: call.name.clone(),
            args,
            inputs,
            name: None,
            ty: None,
            synthetic: false,
            builtin: builtin.map(|(reducer, _)| reducer.name),
        }))
    }

    /// A stream argument: `other`, `&other`, or an inline pipeline.
    fn stream_arg(&mut self, expr: &Expr) -> Option<NodeId> {
        let expr = match expr {
            Expr::Reference(r) if r.mutability.is_none() => &*r.expr,
            other => other,
        };
        match parse::chain_of(expr) {
            Ok(chain) => self.chain(&chain),
            Err(_) => {
                self.diags.error_spanned(
                    expr,
                    "expected a stream of this `stream!` (a name such as `other` or `&other`, or a pipeline)",
                );
                None
            }
        }
    }

    fn push(&mut self, mut node: Node) -> NodeId {
        node.id = self.nodes.len();
        self.nodes.push(node);
        self.nodes.len() - 1
    }
}

/// A built-in reducer (`sum`, `count`, ..) written as a bare identifier.
fn builtin_reducer(expr: &Expr) -> Option<(&'static BuiltinReducer, Span)> {
    let ident = parse::single_ident_of(expr)?;
    let reducer = ops::builtin_reducer(&ident.to_string())?;
    Some((reducer, ident.span()))
}

fn arity_message(name: &str, overloads: &[&OpSpec], found: usize) -> String {
    let mut counts: Vec<usize> = overloads.iter().map(|s| s.arity()).collect();
    counts.sort_unstable();
    counts.dedup();
    let count_text = match counts.as_slice() {
        [one] if overloads[0].is_variadic() => format!("at least {one} argument{}", plural(*one)),
        [one] => format!("{one} argument{}", plural(*one)),
        many => {
            let (last, rest) = many.split_last().expect("non-empty");
            let rest: Vec<String> = rest.iter().map(usize::to_string).collect();
            format!("{} or {last} arguments", rest.join(", "))
        }
    };
    let signatures: Vec<String> = overloads
        .iter()
        .map(|s| format!("`{}`", s.signature()))
        .collect();
    format!(
        "`{name}` takes {count_text}, but {found} {} given: {}",
        if found == 1 { "was" } else { "were" },
        signatures.join(" or ")
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn quoted_list<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("`{}`", s.as_ref())).collect();
    quoted.join(", ")
}
