use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let queue: BatchQueue<(String, i32)> = BatchQueue::new();
    let ssc = stream! {
        context(batch = 1s);
        let recent = queue_stream(queue, true).window(20s, 10s);
        recent.reduce_by_key_and_window(max, 30s, 15s).print();
    }?;
    ssc.start()
}
