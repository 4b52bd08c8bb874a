use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let queue: BatchQueue<String> = BatchQueue::new();
    let ssc = stream! {
        context(batch = 1s);
        let words = queue_stream(queue, true).flatmap(|l: String| vec![l]);
        let pairs = queue_stream(queue, true).map(|w: String| (w, 1)).reduceByKey(sum);
        pairs.prnt();
    }?;
    ssc.start()
}
