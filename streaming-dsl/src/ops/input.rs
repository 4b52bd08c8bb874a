//! Input operators: how a pipeline starts (Spark's `ssc.socketTextStream`,
//! `ssc.textFileStream`, `ssc.queueStream`, `ssc.union`).

use super::spec::{op, ArgKind::*, Emit, Kind::Input, OpSpec};

/// The input entries.
pub(crate) static OPS: &[OpSpec] = &[
    op(
        "queue_stream",
        "queueStream",
        Input,
        &[Value, Value],
        Emit::Source("queue_stream"),
        "Batches pushed into a `BatchQueue` (`queue_stream(queue, one_at_a_time)`); mostly for tests.",
    )
    .params("queue, one_at_a_time"),
    op(
        "socket_text_stream",
        "socketTextStream",
        Input,
        &[Value, Value],
        Emit::Source("socket_text_stream"),
        "Lines of text received over TCP from `host`, `port`.",
    )
    .params("host, port"),
    op(
        "socket_stream",
        "socketStream",
        Input,
        &[Value, Value, Func],
        Emit::Source("socket_stream"),
        "Records received over TCP, decoded from bytes by a converter function.",
    )
    .params("host, port, converter"),
    op(
        "text_file_stream",
        "textFileStream",
        Input,
        &[Value],
        Emit::Source("text_file_stream"),
        "Lines of the new files appearing in a directory.",
    )
    .params("directory"),
    op(
        "union",
        "union",
        Input,
        &[Streams],
        Emit::UnionSource,
        "The union of several streams of the same type (`union(a, b, c)`).",
    )
    .params("streams.."),
];
