// `stream!` docs: Saving.
use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let ssc = stream! {
        context(batch = 1s);
        let lines = socket_text_stream("localhost", 9000);
        lines.save_as_text_files("out/lines", "txt");
        lines.map(|l: String| (l.len(), l)).save_as_object_files("out/objects", "bin");
    }?;
    let _: &StreamingContext = &ssc;
    Ok(())
}
