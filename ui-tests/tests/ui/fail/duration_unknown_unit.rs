use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let queue: BatchQueue<String> = BatchQueue::new();
    let ssc = stream! {
        context(batch = 2sec);
        queue_stream(queue, true).print();
    }?;
    ssc.start()
}
