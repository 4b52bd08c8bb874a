use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let queue: BatchQueue<String> = BatchQueue::new();
    let ssc = stream! {
        context(batch = 1s);
        queue_stream(queue, true).map(|line: &str| line.len()).print();
    }?;
    ssc.start()
}
