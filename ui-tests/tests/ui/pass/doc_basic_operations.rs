// `stream!` docs: Basic operations.
use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let queue: BatchQueue<String> = BatchQueue::new();
    let ssc = stream! {
        context(batch = 1s);
        let words = queue_stream(queue, true)
            .flat_map(|l: String| l.split(' ').map(str::to_string).collect::<Vec<_>>())
            .filter(|w| !w.is_empty());
        let counts = words.map(|w| (w, 1)).reduce_by_key(sum);
        let lengths = words.map(|w| (w.clone(), w.len()));
        counts.join(&lengths).print();
        words.count().print();
        words.map(|w| w.len()).reduce(max).print();
    }?;
    let _: &StreamingContext = &ssc;
    Ok(())
}
