//! The network word count with `stream!`: lines received on a TCP socket,
//! split into words, counted per batch with `reduce_by_key(sum)`. The
//! `flat_map`, `filter` and `map` run fused, as one loop per partition.
//!
//! Run `nc -lk 9999` in a terminal, then
//! `cargo run --example dsl_socket_word_count -- localhost 9999` and type lines.

use streaming::prelude::*;

/// The per-batch counts of the words received from `host:port` (also printed).
pub fn with_dsl(
    conf: StreamingConf,
    host: &str,
    port: u16,
) -> streaming::Result<(StreamingContext, DStream<(String, u64)>)> {
    stream! {
        context(conf = conf, batch = 1s);
        let lines = socket_text_stream(host, port);
        let words = lines
            .flat_map(|line: String| line.split(' ').map(str::to_string).collect::<Vec<_>>())
            .filter(|word| !word.is_empty());
        let counts = words.map(|word| (word, 1u64)).reduce_by_key(sum);
        counts.print();
        counts
    }
}

/// The same pipeline written with the plain API.
pub fn with_plain_api(
    conf: StreamingConf,
    host: &str,
    port: u16,
) -> streaming::Result<(StreamingContext, DStream<(String, u64)>)> {
    let ssc = StreamingContext::new(conf.batch_interval(Duration::from_secs(1)))?;
    let counts = ssc
        .socket_text_stream(host, port)
        .flat_map(|line: String| line.split(' ').map(str::to_string).collect::<Vec<_>>())
        .filter(|word: &String| !word.is_empty())
        .map(|word| (word, 1u64))
        .reduce_by_key(|a, b| a + b);
    counts.print();
    Ok((ssc, counts))
}

// This job allocates a `String` per word (owned elements); on mimalloc that
// costs about half what it does on the system allocator (README,
// "Performance"), so the example picks it. The library sets no allocator.
// (Not in tests, which include the examples' pipelines as modules.)
#[cfg(not(test))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[allow(dead_code)]
fn main() -> streaming::Result<()> {
    let mut args = std::env::args().skip(1);
    let host = args.next().unwrap_or_else(|| "localhost".to_string());
    let port = args.next().and_then(|p| p.parse().ok()).unwrap_or(9999);
    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("NetworkWordCount");
    let (ssc, _counts) = with_dsl(conf, &host, port)?;
    ssc.start()?;
    ssc.await_termination()
}
