// `stream!` docs: Checkpointing and caching.
use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let dir = tempfile_dir();
    let ssc = stream! {
        context(batch = 2s, checkpoint = &dir);
        let words = socket_text_stream("localhost", 9000)
            .flat_map(|l: String| l.split(' ').map(str::to_string).collect::<Vec<_>>())
            .cache();
        words.count().print();
        words.count_by_value().print();
    }?;
    let _: &StreamingContext = &ssc;
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

fn tempfile_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("stream-ui-checkpoint-{}", std::process::id()))
}
