//! File-name globs for file streams, with the syntax of Hadoop's path globs
//! restricted to one name: `*` (any run of characters), `?` (one character),
//! `[abc]`, `[a-z]`, `[!a-z]` / `[^a-z]` (character classes), `{a,b}`
//! (alternatives, may nest) and `\x` (a literal `x`).

use crate::error::{Result, StreamingError};

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Char(char),
    Any,
    Star,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A compiled glob matching file names.
#[derive(Clone, Debug)]
pub(crate) struct Glob {
    source: String,
    /// One token sequence per alternative (braces expanded).
    alternatives: Vec<Vec<Token>>,
}

fn bad(pattern: &str, why: &str) -> StreamingError {
    StreamingError::Config(format!("invalid file name glob {pattern:?}: {why}"))
}

/// Expands `{a,b}` alternatives into plain patterns.
fn expand_braces(pattern: &str, chars: &[char]) -> Result<Vec<Vec<char>>> {
    // Find the first top-level `{` that is not escaped or inside a class.
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '{' if !in_class => {
                let mut depth = 0;
                let mut parts = Vec::new();
                let mut part_start = i + 1;
                let mut j = i;
                let mut close = None;
                while j < chars.len() {
                    match chars[j] {
                        '\\' => j += 1,
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                parts.push(&chars[part_start..j]);
                                close = Some(j);
                                break;
                            }
                        }
                        ',' if depth == 1 => {
                            parts.push(&chars[part_start..j]);
                            part_start = j + 1;
                        }
                        _ => {}
                    }
                    j += 1;
                }
                let close = close.ok_or_else(|| bad(pattern, "unclosed '{'"))?;
                let mut out = Vec::new();
                for part in parts {
                    let mut combined = chars[..i].to_vec();
                    combined.extend_from_slice(part);
                    combined.extend_from_slice(&chars[close + 1..]);
                    out.extend(expand_braces(pattern, &combined)?);
                }
                return Ok(out);
            }
            _ => {}
        }
        i += 1;
    }
    Ok(vec![chars.to_vec()])
}

fn tokenize(pattern: &str, chars: &[char]) -> Result<Vec<Token>> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let next = chars
                    .get(i + 1)
                    .ok_or_else(|| bad(pattern, "trailing '\\'"))?;
                tokens.push(Token::Char(*next));
                i += 1;
            }
            '*' => {
                if tokens.last() != Some(&Token::Star) {
                    tokens.push(Token::Star);
                }
            }
            '?' => tokens.push(Token::Any),
            '[' => {
                let mut j = i + 1;
                let negated = matches!(chars.get(j), Some('!') | Some('^'));
                if negated {
                    j += 1;
                }
                let mut ranges = Vec::new();
                let mut first = true;
                loop {
                    let c = *chars.get(j).ok_or_else(|| bad(pattern, "unclosed '['"))?;
                    if c == ']' && !first {
                        break;
                    }
                    first = false;
                    let lo = if c == '\\' {
                        j += 1;
                        *chars.get(j).ok_or_else(|| bad(pattern, "unclosed '['"))?
                    } else {
                        c
                    };
                    if chars.get(j + 1) == Some(&'-') && chars.get(j + 2).is_some_and(|&c| c != ']')
                    {
                        let hi = chars[j + 2];
                        if hi < lo {
                            return Err(bad(pattern, "a range whose end is before its start"));
                        }
                        ranges.push((lo, hi));
                        j += 3;
                    } else {
                        ranges.push((lo, lo));
                        j += 1;
                    }
                }
                tokens.push(Token::Class { negated, ranges });
                i = j;
            }
            c => tokens.push(Token::Char(c)),
        }
        i += 1;
    }
    Ok(tokens)
}

fn token_matches(t: &Token, c: char) -> bool {
    match t {
        Token::Char(x) => *x == c,
        Token::Any => true,
        Token::Star => true,
        Token::Class { negated, ranges } => {
            ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
        }
    }
}

/// Matches `name` against one alternative, backtracking only to the last
/// `*` (linear in practice).
fn matches_tokens(tokens: &[Token], name: &[char]) -> bool {
    let (mut t, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if t < tokens.len() && tokens[t] == Token::Star {
            star = Some((t, n));
            t += 1;
        } else if t < tokens.len() && token_matches(&tokens[t], name[n]) {
            t += 1;
            n += 1;
        } else if let Some((st, sn)) = star {
            t = st + 1;
            n = sn + 1;
            star = Some((st, sn + 1));
        } else {
            return false;
        }
    }
    tokens[t..].iter().all(|t| *t == Token::Star)
}

impl Glob {
    /// Compiles `pattern`; an error names what is wrong with it.
    pub(crate) fn new(pattern: &str) -> Result<Glob> {
        let chars: Vec<char> = pattern.chars().collect();
        let alternatives = expand_braces(pattern, &chars)?
            .iter()
            .map(|alt| tokenize(pattern, alt))
            .collect::<Result<Vec<_>>>()?;
        Ok(Glob {
            source: pattern.to_string(),
            alternatives,
        })
    }

    /// Whether `name` matches.
    pub(crate) fn matches(&self, name: &str) -> bool {
        let chars: Vec<char> = name.chars().collect();
        self.alternatives.iter().any(|a| matches_tokens(a, &chars))
    }

    /// The pattern as written.
    pub(crate) fn as_str(&self) -> &str {
        &self.source
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    fn m(p: &str, name: &str) -> bool {
        Glob::new(p).unwrap().matches(name)
    }

    #[test]
    fn stars_and_questions() {
        assert!(m("*.txt", "a.txt"));
        assert!(m("*.txt", ".txt"));
        assert!(!m("*.txt", "a.txt.gz"));
        assert!(m("part-?????", "part-00001"));
        assert!(!m("part-?????", "part-0001"));
        assert!(m("a*b*c", "aXXbYYbc"));
        assert!(m("*", ""));
        assert!(!m("abc", "abcd"));
    }

    #[test]
    fn classes_braces_and_escapes() {
        assert!(m("log[0-9].txt", "log7.txt"));
        assert!(!m("log[!0-9].txt", "log7.txt"));
        assert!(m("log[^0-9].txt", "logx.txt"));
        assert!(m("*.{csv,tsv}", "data.tsv"));
        assert!(!m("*.{csv,tsv}", "data.txt"));
        assert!(m("{a,b{1,2}}.x", "b2.x"));
        assert!(m("\\*.txt", "*.txt"));
        assert!(!m("\\*.txt", "a.txt"));
        assert!(m("[]x]", "]"));
    }

    #[test]
    fn invalid_patterns_are_errors() {
        for p in ["[abc", "{a,b", "x\\", "[z-a]"] {
            let e = Glob::new(p).unwrap_err().to_string();
            assert!(e.contains("invalid file name glob"), "{p}: {e}");
        }
    }
}
