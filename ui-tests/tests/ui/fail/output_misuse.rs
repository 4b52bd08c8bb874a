use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let queue: BatchQueue<String> = BatchQueue::new();
    let ssc = stream! {
        context(batch = 1s);
        let lines = queue_stream(queue, true);
        let printed = lines.print();
        lines.print().count();
        lines.map(|l: String| l.len());
    }?;
    ssc.start()
}
