use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let queue: BatchQueue<String> = BatchQueue::new();
    let ssc = stream! {
        context(batch = 1s);
        let pairs = queue_stream(queue, true).map(|w: String| (w, 1));
        pairs
            .update_state_by_key(|new: &[i32], total: Option<i32>| Some(total.unwrap_or(0) + new.len() as i32))
            .print();
    }?;
    ssc.start()
}
