use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let queue: BatchQueue<(String, i32)> = BatchQueue::new();
    let spec = ();
    let ssc = stream! {
        context(batch = 1s);
        queue_stream(queue, true).map_with_state(spec).print();
    }?;
    ssc.start()
}
