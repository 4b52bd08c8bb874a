use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let queue: BatchQueue<String> = BatchQueue::new();
    let ssc = stream! {
        context(batch = 1s);
        let words = queue_stream(queue, true).flat_map(|l: String| l.split(' ').map(str::to_string).collect::<Vec<_>>());
        words.reduce_by_key(|a, b| a + b).print();
    }?;
    ssc.start()
}
