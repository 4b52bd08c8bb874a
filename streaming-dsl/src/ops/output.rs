//! Output operators: they register the work that makes a pipeline run and
//! end a chain (they return nothing).

use super::spec::{op, ArgKind::*, Emit, Kind::Output, OpSpec};

/// The output entries.
pub(crate) static OPS: &[OpSpec] = &[
    op(
        "print",
        "print",
        Output,
        &[],
        Emit::Method("print"),
        "Prints the first 10 elements of each batch, in Spark's layout.",
    ),
    op(
        "print",
        "print",
        Output,
        &[Value],
        Emit::Method("print_n"),
        "Prints the first `n` elements of each batch.",
    )
    .params("n"),
    op(
        "print_n",
        "print",
        Output,
        &[Value],
        Emit::Method("print_n"),
        "Same as `print(n)`.",
    )
    .params("n"),
    op(
        "foreach_batch",
        "foreachRDD",
        Output,
        &[Func],
        Emit::Method("foreach_batch"),
        "Calls `f(Batch<T>, Time)` for each batch.",
    ),
    op(
        "try_foreach_batch",
        "foreachRDD",
        Output,
        &[Func],
        Emit::Method("try_foreach_batch"),
        "Calls `f(Batch<T>, Time) -> Result<()>` for each batch; an `Err` fails the batch.",
    ),
    op(
        "save_as_text_files",
        "saveAsTextFiles",
        Output,
        &[Value, Value],
        Emit::Method("save_as_text_files"),
        "Writes each batch to `<prefix>-<time ms>.<suffix>`, one element per line.",
    )
    .params("prefix, suffix"),
    op(
        "save_as_object_files",
        "saveAsObjectFiles",
        Output,
        &[Value, Value],
        Emit::Method("save_as_object_files"),
        "Writes each batch to `<prefix>-<time ms>.<suffix>` as serialized objects.",
    )
    .params("prefix, suffix"),
    op(
        "save_as_hadoop_files",
        "saveAsHadoopFiles",
        Output,
        &[Value, Value, Value],
        Emit::Method("save_as_hadoop_files"),
        "Writes each key-value batch through an output format (`prefix`, `suffix`, `format`).",
    )
    .params("prefix, suffix, format")
    .pairs(),
];
