use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let queue: BatchQueue<(String, i32)> = BatchQueue::new();
    let ssc = stream! {
        context(batch = 1s, checkpoint = "/tmp/checkpoint");
        let pairs = queue_stream(queue);
        pairs.window(10s).print();
        pairs.reduce_by_key_and_window(sum, 10s).print();
        pairs.map(|p| p, 2).print();
    }?;
    ssc.start()
}
