use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let queue: BatchQueue<String> = BatchQueue::new();
    let ssc = stream! {
        context(batch = 1s);
        let lines = queue_stream(queue, true);
        lines.window(30, 10s).print();
    }?;
    ssc.start()
}
