// The seed's queue word count (`stream!` docs: StreamingContext and DStream).
use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let queue = BatchQueue::new();
    queue.push(vec!["Spark Streaming Sample ssc".to_string()]);
    queue.push(vec!["Spark Queue Spark API".to_string()]);
    let ssc = stream! {
        context(batch = 3s, master = "local[*]", app = "QueueStream");
        let lines = queue_stream(queue, true);
        let words = lines.flat_map(|line: String| {
            line.split(' ').map(str::to_string).collect::<Vec<_>>()
        });
        words.count_by_value().print();
    }?;
    // Registered, not started: the pipeline is ready for `ssc.start()`.
    let _: &StreamingContext = &ssc;
    Ok(())
}
