use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let queue: BatchQueue<String> = BatchQueue::new();
    let ssc = stream! {
        context(batch = 1s);
        let words = queue_stream(queue, true);
        wrods.print();
        words.union(&others).print();
    }?;
    ssc.start()
}
