//! Input operators (the `input` family of `stream!`'s operator table,
//! `streaming-dsl/src/ops/input.rs`): a stream fed by an
//! [`InputSource`]. The `StreamingContext` methods that users call
//! (`queue_stream`, `socket_text_stream`, `text_file_stream`, ...) are in
//! `context/input.rs`; they build their source and come here. The inputs
//! themselves are in `input/`.

use std::sync::Arc;

use crate::batch::Data;
use crate::dstream::DStream;
use crate::graph::registry::Registry;
use crate::graph::source::{InputSource, LazyInput};

impl<T: Data> DStream<T> {
    /// A new input stream of `registry`'s graph fed by `source`, sliding by
    /// the batch interval.
    ///
    /// # Panics
    /// If the context has already started.
    pub(crate) fn from_source(registry: &Arc<Registry>, source: impl InputSource<T>) -> Self {
        let node = registry.add_input(Arc::new(source), None);
        DStream::from_node(node, registry.clone())
    }

    /// [`from_source`](Self::from_source) for an input that reads its
    /// batches when they are consumed.
    pub(crate) fn from_lazy_source<S>(registry: &Arc<Registry>, source: S) -> Self
    where
        S: InputSource<T> + LazyInput<T>,
    {
        let source = Arc::new(source);
        let node = registry.add_input(source.clone(), Some(source));
        DStream::from_node(node, registry.clone())
    }
}
