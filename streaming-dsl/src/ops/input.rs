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
        "socket_stream_with",
        "socketStream",
        Input,
        &[Value],
        Emit::Source("socket_stream_with"),
        "A socket stream described by a `SocketSpec` (decoder, buffer bound, reconnection).",
    )
    .params("spec"),
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
        "file_stream",
        "fileStream",
        Input,
        &[Value, Func],
        Emit::Source("file_stream"),
        "Records of the new files appearing in a directory, each read by `reader(&Path) -> Result<Vec<T>, E>`.",
    )
    .params("directory, reader"),
    op(
        "file_stream_with",
        "fileStream",
        Input,
        &[Value],
        Emit::Source("file_stream_with"),
        "A file stream described by a `FileStreamSpec` (reader, filter, new files only, ..).",
    )
    .params("spec"),
    op(
        "input_stream",
        "receiverStream",
        Input,
        &[Value],
        Emit::Source("input_stream"),
        "A stream from any `InputSource` (Spark's custom receivers and input DStreams).",
    )
    .params("source"),
    op(
        "input_stream_from_fn",
        "receiverStream",
        Input,
        &[Func],
        Emit::Source("input_stream_from_fn"),
        "A stream whose batch at each time is `f(Time) -> Option<Batch<T>>`.",
    )
    .params("f"),
    op(
        "kafka_direct_stream",
        "createDirectStream",
        Input,
        &[Value, Value],
        Emit::FallibleSource("::streaming::kafka::KafkaUtils::create_direct_stream"),
        "Kafka's direct stream (feature `kafka`): `ConsumerRecord<K, V>`s of the partitions a `ConsumerStrategy` selects.",
    )
    .params("location_strategy, consumer_strategy"),
    op(
        "kafka_direct_stream",
        "createDirectStream",
        Input,
        &[Value, Value, Value],
        Emit::FallibleSource("::streaming::kafka::KafkaUtils::create_direct_stream_with_config"),
        "Kafka's direct stream with a `DirectStreamConfig` (rate limits, timeouts, ..).",
    )
    .params("location_strategy, consumer_strategy, config"),
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
