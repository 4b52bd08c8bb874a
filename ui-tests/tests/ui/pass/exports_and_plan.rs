// Streams named in the last expression are returned with the context;
// `stream_plan!` shows the fused stages: here a borrowing chain running
// inside the map-side combine of `reduce_by_key`.
use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let queue: BatchQueue<String> = BatchQueue::new();
    let (ssc, words, counts) = stream! {
        context(batch = 500ms, master = "local[2]");
        let words = queue_stream(queue, true)
            .flat_map(|l: String| l.split(' ').map(str::to_string).collect::<Vec<_>>());
        let counts: DStream<(String, u64)> = words.map(|w| (w, ())).reduce_by_key(count);
        (words, counts)
    }?;
    let _: DStream<String> = words;
    counts.print();
    let _: &StreamingContext = &ssc;

    let plan: &str = stream_plan! {
        context(batch = 1s);
        let lines = socket_text_stream("localhost", 9000);
        lines.flat_map(|l: &str| l.split(' '))
            .map(|w: &str| (w, 1))
            .reduce_by_key(sum)
            .print();
    };
    assert!(
        plan.contains("flat_map → map → reduce_by_key(sum)<br/>shuffle · fused 2 ops into combine_ref_into_by_key"),
        "{plan}"
    );
    Ok(())
}
