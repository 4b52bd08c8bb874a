use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let queue: BatchQueue<String> = BatchQueue::new();
    let ssc = stream! {
        context(batch = 1s);
        queue_stream(queue, true)
            .flat_map(|l: String| l.split(' ').map(str::to_string).collect::<Vec<_>>())
            .filter(|w| w.len())
            .map(|w| (w, 1))
            .print();
    }?;
    ssc.start()
}
