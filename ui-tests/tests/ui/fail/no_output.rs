use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let queue: BatchQueue<String> = BatchQueue::new();
    let ssc = stream! {
        context(batch = 1s);
        let lines = queue_stream(queue, true);
        let words = lines.flat_map(|l: String| l.split(' ').map(str::to_string).collect::<Vec<_>>());
    }?;
    ssc.start()
}
