use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let queue: BatchQueue<(String, i64)> = BatchQueue::new();
    let ssc = stream! {
        context(batch = 10s);
        let pairs = queue_stream(queue, true);
        pairs.reduce_by_key_and_window(sum, 30s, 10s).print();
        pairs.reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 1min, 20s).print();
    }?;
    ssc.start()
}
