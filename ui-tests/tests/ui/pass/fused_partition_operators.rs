// Every fusable operator in one chain, and a chain that uses the partition index.
use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let queue: BatchQueue<String> = BatchQueue::new();
    let offset = String::from("!");
    let ssc = stream! {
        context(batch = 1s);
        let tagged = queue_stream(queue, true)
            .map_partitions_with_index(|i, it| it.map(move |l: String| (i, l)))
            .map_values(move |l| format!("{l}{offset}"))
            .flat_map_values(|l| l.chars().collect::<Vec<_>>())
            .filter(|(_, c)| c.is_alphabetic())
            .map_partitions(|it| it.take(100))
            .glom();
        tagged.map(|part: Vec<(usize, char)>| part.len()).print();
    }?;
    let _: &StreamingContext = &ssc;
    Ok(())
}
