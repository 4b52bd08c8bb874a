//! "Did you mean" suggestions for lowering's name errors: edit distance and
//! Spark-name translation, over the operator table's names, the context
//! settings and the streams defined so far.

use crate::ops::{self, Namespace};

/// Edit distance between two strings (by `char`): insertions, deletions,
/// substitutions and transpositions of adjacent characters each cost 1
/// (optimal string alignment), so `wrods` is one edit from `words`.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

/// The candidate nearest to `word`, if it is close enough to be a likely
/// typo (at most a third of the word's length, and at least one edit).
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `reduceByKeyAndWindow` → `reduce_by_key_and_window`.
pub fn to_snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The help text for an unknown operator or input name, e.g.
/// "; did you mean `flat_map`?" (empty when nothing is close).
pub fn operator_hint(ns: Namespace, name: &str) -> String {
    if let Some(spec) = ops::by_spark_name(ns, name) {
        return format!("; Spark's `{name}` is written `{}` here", spec.name);
    }
    let snake = to_snake_case(name);
    let names = ops::names(ns);
    if snake != name && names.contains(&snake.as_str()) {
        return format!("; Spark's `{name}` is written `{snake}` here");
    }
    if let Some(near) = nearest(name, names.iter().copied()) {
        return format!("; did you mean `{near}`?");
    }
    if ns == Namespace::Method && !ops::overloads(Namespace::Input, name).is_empty() {
        return format!("; `{name}` is an input: start a pipeline with `{name}(..)`");
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("flatmap", "flat_map"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
        assert_eq!(edit_distance("wrods", "words"), 1);
    }

    #[test]
    fn nearest_picks_the_closest_within_limit() {
        let names = ["map", "flat_map", "filter", "print"];
        assert_eq!(nearest("flatmap", names), Some("flat_map"));
        assert_eq!(nearest("prnt", names), Some("print"));
        assert_eq!(nearest("zzzzzz", names), None);
    }

    #[test]
    fn hints() {
        assert_eq!(
            operator_hint(Namespace::Method, "reduceByKey"),
            "; Spark's `reduceByKey` is written `reduce_by_key` here"
        );
        assert_eq!(
            operator_hint(Namespace::Method, "foreachRDD"),
            "; Spark's `foreachRDD` is written `foreach_batch` here"
        );
        assert_eq!(
            operator_hint(Namespace::Method, "reduce_by_kye"),
            "; did you mean `reduce_by_key`?"
        );
        assert_eq!(
            operator_hint(Namespace::Input, "socket_txt_stream"),
            "; did you mean `socket_text_stream`?"
        );
        assert_eq!(operator_hint(Namespace::Method, "frobnicate"), "");
        assert_eq!(
            to_snake_case("countByValueAndWindow"),
            "count_by_value_and_window"
        );
    }
}
