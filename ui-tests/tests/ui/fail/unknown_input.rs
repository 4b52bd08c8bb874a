use streaming::prelude::*;

fn main() -> streaming::Result<()> {
    let ssc = stream! {
        context(batch = 1s);
        socket_txt_stream("localhost", 9999).print();
    }?;
    ssc.start()
}
