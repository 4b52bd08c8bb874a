// `stream!` docs: Advanced operations.
use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let ssc = stream! {
        context(batch = 10s, checkpoint = "/tmp/checkpoint");
        let pairs = socket_text_stream("localhost", 9000).map(|w: String| (w, 1));
        pairs.update_state_by_key(|new: &[i32], total: Option<i32>| {
            Some(total.unwrap_or(0) + new.iter().sum::<i32>())
        }).print();
        pairs.reduce_by_key_and_window(sum, 30s, 10s).filter(|(_, n)| *n > 0).print();
        pairs.reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 1min, 20s).print();
        pairs.transform(|batch, _time| batch.sort_by(|(w, _)| w.clone())).print();
        pairs.count_by_window(30s, 10s).print();
    }?;
    let _: &StreamingContext = &ssc;
    Ok(())
}
