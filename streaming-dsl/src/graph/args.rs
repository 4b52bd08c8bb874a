//! Argument values of the graph: durations. A duration is a literal with a
//! unit suffix (`500ms`, `3s`, `2min`, `1h`, fractions such as `1.5s` when
//! they are whole milliseconds), Spark's `Milliseconds(n)`, `Seconds(n)`,
//! `Minutes(n)`, or any other expression of type `std::time::Duration`
//! (which is not known statically).
//!
//! Lowering parses every duration argument into a [`DurationArg`] (a
//! malformed literal is an error there); the checks, the plan dump and the
//! code generator read the values, formatted back with [`format_ms`].

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr, Lit};

/// A parsed duration argument.
#[derive(Clone, Debug)]
pub enum DurationArg {
    /// Statically known, in milliseconds (always > 0).
    Millis {
        /// The value.
        ms: u64,
        /// The span of the literal, for later errors.
        span: Span,
    },
    /// An arbitrary `Duration` expression, known only at run time.
    Dynamic(Box<Expr>),
}

impl DurationArg {
    /// The statically known value, if any.
    pub fn millis(&self) -> Option<u64> {
        match self {
            DurationArg::Millis { ms, .. } => Some(*ms),
            DurationArg::Dynamic(_) => None,
        }
    }

    /// The span of the argument.
    pub fn span(&self) -> Span {
        match self {
            DurationArg::Millis { span, .. } => *span,
            DurationArg::Dynamic(expr) => expr.span(),
        }
    }
}

const UNITS: &[(&str, u64)] = &[("ms", 1), ("s", 1_000), ("min", 60_000), ("h", 3_600_000)];

/// Formats milliseconds with the largest unit that divides them: `2min`, `3s`, `500ms`.
pub fn format_ms(ms: u64) -> String {
    for (unit, factor) in UNITS.iter().rev() {
        if ms > 0 && ms.is_multiple_of(*factor) {
            return format!("{}{unit}", ms / factor);
        }
    }
    format!("{ms}ms")
}

/// Parses one duration argument.
pub fn parse_duration(expr: &Expr) -> syn::Result<DurationArg> {
    match expr {
        Expr::Lit(lit) => literal(&lit.lit),
        Expr::Group(group) => parse_duration(&group.expr),
        Expr::Paren(paren) => parse_duration(&paren.expr),
        Expr::Unary(unary) if matches!(unary.op, syn::UnOp::Neg(_)) => Err(
            syn::Error::new_spanned(expr, "a duration cannot be negative"),
        ),
        Expr::Call(call) => {
            spark_style(call).unwrap_or_else(|| Ok(DurationArg::Dynamic(Box::new(expr.clone()))))
        }
        other => Ok(DurationArg::Dynamic(Box::new(other.clone()))),
    }
}

fn unit_list() -> &'static str {
    "`ms`, `s`, `min` or `h`"
}

fn literal(lit: &Lit) -> syn::Result<DurationArg> {
    let (digits, suffix) = match lit {
        Lit::Int(int) => (int.base10_digits().to_string(), int.suffix().to_string()),
        Lit::Float(float) => (float.base10_digits().to_string(), float.suffix().to_string()),
        Lit::Str(_) => {
            return Err(syn::Error::new_spanned(
                lit,
                "expected a duration such as `3s`, `500ms` or `2min`, found a string; write the literal without quotes",
            ))
        }
        other => {
            return Err(syn::Error::new_spanned(
                other,
                "expected a duration such as `3s`, `500ms` or `2min`",
            ))
        }
    };
    if suffix.is_empty() {
        return Err(syn::Error::new_spanned(
            lit,
            format!(
                "missing time unit: write `{digits}s`, `{digits}ms` or `{digits}min` (units: {})",
                unit_list()
            ),
        ));
    }
    let Some(&(_, factor)) = UNITS.iter().find(|(unit, _)| *unit == suffix) else {
        return Err(syn::Error::new_spanned(
            lit,
            format!(
                "unknown time unit `{suffix}` in duration `{digits}{suffix}`; use {}",
                unit_list()
            ),
        ));
    };
    let ms = scaled(&digits, factor).ok_or_else(|| {
        syn::Error::new_spanned(
            lit,
            format!("malformed duration `{digits}{suffix}`: it must be a whole number of milliseconds that fits in a u64"),
        )
    })?;
    if ms == 0 {
        return Err(syn::Error::new_spanned(
            lit,
            "a duration must be greater than zero",
        ));
    }
    Ok(DurationArg::Millis {
        ms,
        span: lit.span(),
    })
}

/// `digits` × `factor`, exactly; `None` on exponents, overflow or a
/// fraction of a millisecond.
fn scaled(digits: &str, factor: u64) -> Option<u64> {
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if !whole.chars().all(|c| c.is_ascii_digit()) || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut ms = whole.checked_mul(factor)?;
    if !fraction.is_empty() {
        let scale = 10u64.checked_pow(u32::try_from(fraction.len()).ok()?)?;
        let part = fraction.parse::<u64>().ok()?.checked_mul(factor)?;
        if !part.is_multiple_of(scale) {
            return None;
        }
        ms = ms.checked_add(part / scale)?;
    }
    Some(ms)
}

/// `Seconds(3)`, `Milliseconds(500)`, `Minutes(2)` as in Spark's Scala API.
fn spark_style(call: &syn::ExprCall) -> Option<syn::Result<DurationArg>> {
    let name = crate::parse::single_ident_of(&call.func)?;
    let factor = match name.to_string().as_str() {
        "Milliseconds" => 1,
        "Seconds" => 1_000,
        "Minutes" => 60_000,
        _ => return None,
    };
    if call.args.len() != 1 {
        return Some(Err(syn::Error::new_spanned(
            call,
            format!("`{name}` takes one whole number, e.g. `{name}(3)`"),
        )));
    }
    let arg = &call.args[0];
    let value = match arg {
        Expr::Lit(syn::ExprLit { lit: Lit::Int(int), .. }) if int.suffix().is_empty() => int.base10_parse::<u64>(),
        _ => {
            return Some(Err(syn::Error::new_spanned(
                arg,
                format!("`{name}(..)` takes an integer literal; for a computed duration pass a `std::time::Duration`"),
            )))
        }
    };
    Some(match value {
        Ok(0) => Err(syn::Error::new_spanned(
            call,
            "a duration must be greater than zero",
        )),
        Ok(n) => match n.checked_mul(factor) {
            Some(ms) => Ok(DurationArg::Millis {
                ms,
                span: call.span(),
            }),
            None => Err(syn::Error::new_spanned(call, "duration too large")),
        },
        Err(err) => Err(err),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(src: &str) -> Result<Option<u64>, String> {
        let expr: Expr = syn::parse_str(src).unwrap();
        parse_duration(&expr)
            .map(|d| d.millis())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn literals_with_units() {
        assert_eq!(ms("500ms"), Ok(Some(500)));
        assert_eq!(ms("3s"), Ok(Some(3_000)));
        assert_eq!(ms("2min"), Ok(Some(120_000)));
        assert_eq!(ms("1h"), Ok(Some(3_600_000)));
        assert_eq!(ms("1.5s"), Ok(Some(1_500)));
        assert_eq!(ms("Seconds(3)"), Ok(Some(3_000)));
        assert_eq!(ms("Minutes(1)"), Ok(Some(60_000)));
        assert_eq!(ms("1_000ms"), Ok(Some(1_000)));
    }

    #[test]
    fn dynamic_expressions_pass_through() {
        assert_eq!(ms("std::time::Duration::from_secs(n)"), Ok(None));
        assert_eq!(ms("window_length"), Ok(None));
    }

    #[test]
    fn malformed_durations() {
        assert!(ms("3").unwrap_err().contains("missing time unit"));
        assert!(ms("3sec").unwrap_err().contains("unknown time unit `sec`"));
        assert!(ms("0s").unwrap_err().contains("greater than zero"));
        assert!(ms("0.5ms")
            .unwrap_err()
            .contains("whole number of milliseconds"));
        assert!(ms("-3s").unwrap_err().contains("negative"));
        assert!(ms("\"3s\"").unwrap_err().contains("found a string"));
        assert!(ms("Seconds(0)").unwrap_err().contains("greater than zero"));
        assert!(ms("99999999999999999999h")
            .unwrap_err()
            .contains("malformed"));
    }

    #[test]
    fn formatting() {
        assert_eq!(format_ms(500), "500ms");
        assert_eq!(format_ms(3_000), "3s");
        assert_eq!(format_ms(120_000), "2min");
        assert_eq!(format_ms(1_500), "1500ms");
        assert_eq!(format_ms(7_200_000), "2h");
    }
}
