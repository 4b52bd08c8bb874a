use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let queue: BatchQueue<String> = BatchQueue::new();
    let ssc = stream! {
        context(bach = 1s, master = "local[2]", master = "local[4]");
        queue_stream(queue, true).print();
    }?;
    ssc.start()
}
