// `stream!` docs: Inputs.
use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let (host, port) = ("localhost", 9000);
    let ssc = stream! {
        context(batch = 1s);
        let text = socket_text_stream(host, port);
        let files = text_file_stream("/data/incoming");
        let all = union(text, files);
        all.print();
    }?;
    let _: &StreamingContext = &ssc;
    Ok(())
}
