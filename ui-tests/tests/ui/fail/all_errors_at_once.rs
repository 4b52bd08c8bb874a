use streaming::prelude::*;

// Every error of a body is reported in one compilation, and the code after
// the macro still type-checks (`ssc.start()`, `counts.print()`).
fn main() -> streaming::Result<()> {
    let queue: BatchQueue<String> = BatchQueue::new();
    let (ssc, counts) = stream! {
        context(batch = 2s);
        let pairs = queue_stream(queue, true).map(|w: String| (w, 1));
        let windowed = pairs.window(3s, 2s);
        let state = pairs.update_state_by_key(|v: &[i32], s: Option<i32>| s);
        let counts = pairs.reduceByKey(sum);
        let bad = nothing.map(|x: u8| x);
        counts
    }?;
    counts.print();
    ssc.start()
}
