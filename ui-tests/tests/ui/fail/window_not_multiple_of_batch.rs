use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let queue: BatchQueue<String> = BatchQueue::new();
    let ssc = stream! {
        context(batch = 3s, checkpoint = "/tmp/checkpoint");
        let lines = queue_stream(queue, true);
        lines.window(10s, 3s).print();
        lines.count_by_window(9s, 4s).print();
    }?;
    ssc.start()
}
