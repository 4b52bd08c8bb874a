use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let queue: BatchQueue<String> = BatchQueue::new();
    let ssc = stream! {
        context(batch = 1s);
        let lines = queue_stream(queue, true);
        let recent = lines.window(10s, 5s);
        lines.union(&recent).print();
    }?;
    ssc.start()
}
