use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let names: BatchQueue<(u32, String)> = BatchQueue::new();
    let scores: BatchQueue<(String, i64)> = BatchQueue::new();
    let ssc = stream! {
        context(batch = 1s);
        let names = queue_stream(names, true);
        let scores = queue_stream(scores, true);
        names.join(&scores).print();
    }?;
    ssc.start()
}
