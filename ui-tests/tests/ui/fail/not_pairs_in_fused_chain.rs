use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let queue: BatchQueue<String> = BatchQueue::new();
    let ssc = stream! {
        context(batch = 1s);
        queue_stream(queue, true)
            .map(|l: String| l.to_uppercase())
            .map_values(|v: usize| v + 1)
            .print();
    }?;
    ssc.start()
}
