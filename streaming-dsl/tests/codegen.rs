//! Code generation: the expansion's text (whitespace removed) contains the
//! plain runtime calls each construct compiles to.

mod common;

use common::*;
use streaming_dsl::{expand, expand_plan};

fn expansion(src: &str) -> String {
    expand(tokens(src)).to_string().split_whitespace().collect()
}

#[test]
fn context_and_inputs_use_absolute_paths() {
    let code = expansion(
        r#"
        context(batch = 3s, master = "local[2]", app = "Wc", checkpoint = dir, remember = 1min);
        let lines = socket_text_stream("localhost", 9999);
        lines.print();
        "#,
    );
    assert!(code.contains(r#"::streaming::StreamingConf::new().app_name("Wc").master("local[2]").batch_interval(::std::time::Duration::from_millis(3000u64))"#), "{code}");
    assert!(code.contains("::streaming::StreamingContext::new(__conf)"));
    assert!(code.contains("__ssc.checkpoint(dir)"));
    assert!(code.contains("break'__stream::core::result::Result::Err(__err)"));
    assert!(code.contains("__ssc.remember(::std::time::Duration::from_millis(60000u64));"));
    assert!(code.contains(r#"letlines=__ssc.socket_text_stream("localhost",9999);lines.print();"#));
    assert!(
        code.ends_with("::core::result::Result::Ok(__ssc)},}}"),
        "{code}"
    );
}

#[test]
fn defaults_for_master_and_app() {
    let code = expansion("context(batch = 500ms); socket_text_stream(h, p).print();");
    assert!(code.contains(r#".app_name(::core::module_path!()).master("local[*]").batch_interval(::std::time::Duration::from_millis(500u64))"#));
    assert!(!code.contains("checkpoint"));
}

#[test]
fn a_base_conf_gets_only_the_written_settings() {
    let code =
        expansion("context(conf = base.clone(), batch = 2s); socket_text_stream(h, p).print();");
    assert!(
        code.contains(
            "let__conf=base.clone().batch_interval(::std::time::Duration::from_millis(2000u64));"
        ),
        "{code}"
    );
    let code = expansion("context(conf = base); socket_text_stream(h, p).window(3s, 3s).print();");
    assert!(code.contains("let__conf=base;"), "{code}");
}

#[test]
fn narrow_chains_are_fused_into_one_map_partitions() {
    let code = expansion(
        r#"
        context(batch = 1s);
        let lines = socket_text_stream(h, p);
        let pairs = lines.flat_map(|l: String| l.split(' ').map(str::to_owned).collect::<Vec<_>>()).filter(|w| !w.is_empty()).map(|w| (w, 1));
        pairs.print();
        "#,
    );
    assert_eq!(code.matches(".map_partitions(").count(), 1, "{code}");
    assert!(code.contains("let__t=__stream_dsl::elem(&lines);"));
    assert!(code.contains("let(__f0,__t)=__stream_dsl::flat_map(__t,|l:String|"));
    assert!(code.contains("let(__f1,__t)=__stream_dsl::filter(__t,|w|!w.is_empty());"));
    assert!(code.contains("let(__f2,__t)=__stream_dsl::map(__t,|w|(w,1));"));
    assert!(code.contains("::core::iter::Iterator::flat_map(__it,move|__x|(*__f)(__x))"));
    assert!(code.contains("::core::iter::Iterator::filter(__it,move|__x|(*__f)(__x))"));
    assert!(code.contains("pairs.print()"), "{code}");
    assert!(
        !code.contains("lines.flat_map("),
        "the narrow ops are not called one by one"
    );
}

#[test]
fn a_single_narrow_operator_is_a_plain_call() {
    let code = expansion(
        "context(batch = 1s); socket_text_stream(h, p).map(|l: String| l.len()).print();",
    );
    assert!(
        code.contains("let__s1=__s0.map(|l:String|l.len());__s1.print();"),
        "{code}"
    );
    assert!(!code.contains(".map_partitions("));
}

#[test]
fn partition_functions_and_glom_fuse_with_the_index_when_needed() {
    let code = expansion(
        r#"
        context(batch = 1s);
        socket_text_stream(h, p)
            .map_partitions_with_index(|i, it| it.map(move |l: String| (i, l)))
            .map_values(|l| l.len())
            .flat_map_values(|n| 0..n)
            .glom()
            .print();
        "#,
    );
    assert!(
        code.contains(".map_partitions_with_index(move|__idx,__it|"),
        "{code}"
    );
    // First in the chain, the partition function gets the runtime's
    // `PartitionIter` as it is, the same type as with the plain API.
    assert!(code.contains("(*__f)(__idx,__it)"), "{code}");
    assert!(
        code.contains("pubtypePartitionIter<T>=::streaming::PartitionIter<T>;"),
        "{code}"
    );
    assert!(code.contains("::core::iter::Iterator::map(__it,move|__x|{let(__k,__v)=__split1(__x);(__k,(*__f)(__v))})"), "{code}");
    assert!(code.contains("::core::clone::Clone::clone(&__k)"));
    assert!(code.contains(
        "::core::iter::once(::core::iter::Iterator::collect::<::std::vec::Vec<_>>(__it))"
    ));
}

#[test]
fn builtin_reducers_and_windowed_sums() {
    let code = expansion(
        r#"
        context(batch = 1s, checkpoint = "/tmp/cp");
        let pairs = socket_text_stream(h, p).map(|l: String| (l, 1i64));
        pairs.reduce_by_key_and_window(sum, 30s, 10s).filter(|(_, c)| *c != 0).print();
        pairs.reduce_by_key_and_window(min, 30s, 10s).print();
        pairs.reduce_by_window(|a, b| a, |a, b| a, 2s, 2s).print();
        pairs.reduce_by_key(count).print();
        "#,
    );
    // The built-in `sum` calls the runtime's exact windowed sum, and the
    // filter after it filters its output: it is never folded into the
    // window state.
    assert!(code.contains(".sum_by_key_and_window(::std::time::Duration::from_millis(30000u64),::std::time::Duration::from_millis(10000u64))"), "{code}");
    assert!(!code.contains("_inv_filtered"), "{code}");
    assert!(code.contains(".filter(|(_,c)|*c!=0)"), "{code}");
    assert!(code.contains("reduce_by_key_and_window(::core::cmp::min,"));
    assert!(code.contains(".reduce_by_window_inv(|a,b|a,|a,b|a,"));
    // `count` maps every value to 1 inside the combine loop of `reduce_by_key`.
    assert!(code.contains(".combine_into_by_key("), "{code}");
    assert!(code.contains("(|_|1u64)(__v)"), "{code}");
    assert!(
        code.contains("::std::sync::Arc::new(|__a,__b|__a+__b)"),
        "{code}"
    );
}

#[test]
fn chains_run_inside_the_combine_of_the_by_key_operator_they_feed() {
    let code = expansion(
        r#"
        context(batch = 1s);
        let lines = socket_text_stream(h, p);
        lines.flat_map(|line: &str| line.split(' ')).map(|w: &str| (w, 1i64)).reduce_by_key(sum).print();
        lines.map(|l: String| l.len()).count_by_value().print();
        lines.map(|l| (l.len(), l)).group_by_key().print();
        "#,
    );
    // A chain whose first closure takes a reference borrows: one loop, the
    // closures inlined, keys inserted by reference.
    assert!(code.contains("lines.combine_ref_into_by_key(move|__x0,__out:&mut::streaming::Combiner<_,_>|{for__x1in::core::iter::IntoIterator::into_iter({letline:&str=__x0;line.split('')}){let__x2={letw:&str=__x1;(w,1i64)};"), "{code}");
    assert!(
        code.contains("__out.insert_ref(__k,__v,|__v|__v,|__c,__v|(*__reduce_loop)(__c,__v));"),
        "{code}"
    );
    // Owned chains insert owned keys.
    assert!(
        code.contains("__out.insert(__x1,(),|()|1u64,|__c:u64,()|__c+1);"),
        "{code}"
    );
    assert!(code.contains("|__v|::std::vec![__v]"), "{code}");
    assert_eq!(code.matches(".combine_into_by_key(").count(), 2, "{code}");
    assert!(!code.contains(".map_partitions("), "{code}");
}

#[test]
fn closures_that_return_early_are_called_not_inlined() {
    let code = expansion(
        r#"
        context(batch = 1s);
        socket_text_stream(h, p)
            .map(|l: String| { if l.is_empty() { return (0, 0); } (l.len(), 1) })
            .filter(|(n, _)| format!("{n}").len() < 3)
            .reduce_by_key(sum)
            .print();
        "#,
    );
    assert!(
        code.contains("(|l:String|{ifl.is_empty(){return(0,0);}(l.len(),1)})(__x0)"),
        "{code}"
    );
    assert!(
        code.contains("if{let(n,_)=&__x1;format!(\"{n}\").len()<3}"),
        "{code}"
    );
}

#[test]
fn joins_route_keys_through_the_same_key_helper() {
    let code = expansion(
        r#"
        context(batch = 1s);
        let a = socket_text_stream(h, 1).map(|l: String| (l, 1));
        let b = socket_text_stream(h, 2).map(|l: String| (l, 2.0));
        a.left_outer_join(&b).print();
        a.transform_with(&b, |x, y, t| x).print();
        union(a, b, a).print();
        "#,
    );
    assert!(
        code.contains("__stream_dsl::as_pairs(&a).left_outer_join(__stream_dsl::keyed_rhs(&b,&a))"),
        "{code}"
    );
    assert!(code.contains("a.transform_with(&b,|x,y,t|x)"));
    assert!(code.contains("__ssc.union(::std::vec![::core::clone::Clone::clone(&a),::core::clone::Clone::clone(&b),::core::clone::Clone::clone(&a)])"));
}

#[test]
fn exports_type_annotations_and_the_helpers_module() {
    let code = expansion(
        r#"
        context(batch = 1s);
        let lines = socket_text_stream(h, p);
        let lens: DStream<usize> = lines.map(|l: String| l.len());
        (lines, lens)
        "#,
    );
    assert!(code.contains("letlens:DStream<usize>=lines.map(|l:String|l.len());"));
    assert!(code.contains("::core::result::Result::Ok((__ssc,lines,lens))"));
    assert!(code.contains("mod__stream_dsl{"));
    assert!(code.contains("#[diagnostic::on_unimplemented("));
}

#[test]
fn errors_expand_to_compile_errors_and_a_typed_placeholder() {
    let code = expansion("context(batch = 0s); let a = socket_text_stream(h, p).mapp(|x| x); a");
    assert_eq!(code.matches("compile_error!").count(), 2, "{code}");
    assert!(code.contains("fn__stream_placeholder<__T>()->__T{::core::unreachable!"));
    assert!(code.contains("__stream_placeholder::<::streaming::Result<(::streaming::StreamingContext,::streaming::DStream<_>)>>()"));
    assert!(
        !code.contains("socket_text_stream"),
        "no pipeline code on errors"
    );
}

#[test]
fn plan_macro_expands_to_the_mermaid_text() {
    let text = expand_plan(tokens(
        "context(batch = 1s); socket_text_stream(h, p).print();",
    ))
    .to_string();
    assert!(text.starts_with("\"flowchart TD\\n"), "{text}");
    let failed = expand_plan(tokens("socket_text_stream(h, p).print();")).to_string();
    assert!(failed.contains("compile_error"));
}

#[test]
fn a_borrowing_chain_runs_inside_the_panes_of_a_windowed_sum() {
    let code = expansion(
        r#"
        context(batch = 1s, checkpoint = "/tmp/c");
        let lines = socket_text_stream(h, p);
        lines.flat_map(|line: &str| line.split(' ')).map(|w: &str| (w, 1i64)).reduce_by_key_and_window(sum, 30s, 1s).print();
        lines.flat_map(|line: String| line.split(' ').map(str::to_string).collect::<Vec<_>>()).map(|w| (w, 1i64)).reduce_by_key_and_window(sum, 30s, 1s).print();
        "#,
    );
    // Borrowed: the loop is the window's own pane combine, no stream of
    // pairs in between; the sum merges with `WindowSum::add` directly.
    assert!(code.contains("lines.sum_ref_into_by_key_and_window(move|__x0,__out:&mut::streaming::Combiner<_,_>|{for__x1in::core::iter::IntoIterator::into_iter({letline:&str=__x0;line.split('')}){let__x2={letw:&str=__x1;(w,1i64)};"), "{code}");
    assert!(
        code.contains(
            "__out.insert_ref(__k,__v,|__v|__v,|__c,__v|::streaming::WindowSum::add(__c,__v));"
        ),
        "{code}"
    );
    // Owned: a per-batch combine, then the exact windowed sum.
    assert_eq!(
        code.matches(".sum_ref_into_by_key_and_window(").count(),
        1,
        "{code}"
    );
    assert!(code.contains(".combine_into_by_key("), "{code}");
    assert_eq!(code.matches(".sum_by_key_and_window(").count(), 1, "{code}");
}
