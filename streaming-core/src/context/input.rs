//! Every `StreamingContext` method that creates an input stream (the
//! `input` family of `stream!`'s operator table): queues, functions,
//! sockets, files and custom [`InputSource`]s, and the union of streams.
//! Each builds its source (`input/`) and adds it to the graph
//! (`dstream/ops/input.rs`).

use std::path::Path;

use super::StreamingContext;
use crate::batch::{Batch, Data};
use crate::dstream::DStream;
use crate::graph::source::InputSource;
use crate::input::{
    BatchQueue, FileReader, FileStreamSpec, FnSource, QueueSource, RecordDecoder, SocketSpec,
};
use crate::time::Time;

impl StreamingContext {
    /// An input stream fed by a custom [`InputSource`].
    ///
    /// # Panics
    /// If the context has already started.
    pub fn input_stream<T: Data>(&self, source: impl InputSource<T>) -> DStream<T> {
        DStream::from_source(&self.inner.registry, source)
    }

    /// A stream of batches taken from `queue`: one queued batch per interval
    /// when `one_at_a_time`, otherwise everything queued, merged into one
    /// batch. An exhausted queue gives empty batches. Batches can be pushed
    /// while the context runs.
    pub fn queue_stream<T: Data>(&self, queue: BatchQueue<T>, one_at_a_time: bool) -> DStream<T> {
        self.input_stream(QueueSource::new(queue, one_at_a_time))
    }

    /// A stream whose batch at each time is `f(time)`; `None` produces no
    /// batch at all for that time.
    pub fn input_stream_from_fn<T, F>(&self, f: F) -> DStream<T>
    where
        T: Data,
        F: Fn(Time) -> Option<Batch<T>> + Send + Sync + 'static,
    {
        self.input_stream(FnSource::new(f))
    }

    /// The union of several streams with the same slide duration: each
    /// batch holds the partitions of every stream, in order.
    ///
    /// # Panics
    /// If `streams` is empty or their slide durations differ.
    pub fn union<T: Data>(&self, streams: Vec<DStream<T>>) -> DStream<T> {
        DStream::union_all(streams)
    }

    /// A stream of the text lines sent by a TCP server at `host:port`
    /// (Spark's `socketTextStream`). See [`SocketSpec`] for the line rules,
    /// the limits and their settings; bad lines are counted, reported and
    /// skipped.
    ///
    /// Lines are checked, and bad ones counted and reported, as they are
    /// received; good lines wait in the receiver as the bytes read (with
    /// their boundaries) and become `String`s when their batch is computed,
    /// in parallel, one partition per receiver block.
    ///
    /// # Panics
    /// If the context has already started.
    pub fn socket_text_stream(&self, host: impl Into<String>, port: u16) -> DStream<String> {
        self.socket_stream_with(SocketSpec::text(host, port))
    }

    /// [`socket_text_stream`](Self::socket_text_stream) with the lines as
    /// [`SharedStr`](crate::SharedStr)s: views of the text received, so
    /// that neither the lines nor the words split from them
    /// ([`SharedStr::split`](crate::SharedStr::split)) are allocated one by
    /// one. See [`SocketSpec::shared_text`].
    ///
    /// # Panics
    /// If the context has already started.
    pub fn socket_shared_text_stream(
        &self,
        host: impl Into<String>,
        port: u16,
    ) -> DStream<crate::SharedStr> {
        self.socket_stream_with(SocketSpec::shared_text(host, port))
    }

    /// A stream of the records a TCP server at `host:port` sends, decoded by
    /// `converter` (Spark's `socketStream`), e.g. a
    /// [`LengthPrefixedDecoder`](crate::LengthPrefixedDecoder).
    ///
    /// # Panics
    /// If the context has already started.
    pub fn socket_stream<T, D>(
        &self,
        host: impl Into<String>,
        port: u16,
        converter: D,
    ) -> DStream<T>
    where
        T: Data,
        D: RecordDecoder<T> + Clone + Sync,
    {
        self.socket_stream_with(SocketSpec::new(host, port, converter))
    }

    /// A socket stream described by `spec`. An invalid setting in the
    /// configuration makes [`start`](Self::start) fail with a
    /// [`StreamingError::Config`](crate::StreamingError::Config).
    ///
    /// # Panics
    /// If the context has already started.
    pub fn socket_stream_with<T: Data>(&self, spec: SocketSpec<T>) -> DStream<T> {
        self.input_stream(spec.into_source(
            self.conf(),
            self.batch_interval(),
            self.inner.env().clone(),
        ))
    }

    /// A stream of the lines of the text files that appear in `dir`
    /// (Spark's `textFileStream`); see [`FileStreamSpec`] for the rules.
    ///
    /// # Panics
    /// If the context has already started.
    pub fn text_file_stream(&self, dir: impl AsRef<Path>) -> DStream<String> {
        self.file_stream_with(FileStreamSpec::text(dir))
    }

    /// A stream of the records of the files that appear in `dir`, each read
    /// by `reader` (Spark's `fileStream`), e.g. a closure
    /// `|path: &Path| -> Result<Vec<T>, E>`.
    ///
    /// # Panics
    /// If the context has already started.
    pub fn file_stream<T: Data>(
        &self,
        dir: impl AsRef<Path>,
        reader: impl FileReader<T>,
    ) -> DStream<T> {
        self.file_stream_with(FileStreamSpec::new(dir, reader))
    }

    /// A file stream described by `spec`. An invalid glob or setting makes
    /// [`start`](Self::start) fail with a [`StreamingError::Config`](crate::StreamingError::Config).
    ///
    /// # Panics
    /// If the context has already started.
    pub fn file_stream_with<T: Data>(&self, spec: FileStreamSpec<T>) -> DStream<T> {
        let source = spec.into_source(self.conf(), self.batch_interval());
        DStream::from_lazy_source(&self.inner.registry, source)
    }
}
