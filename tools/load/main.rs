//! greenledger-load: placeholder until the load generator lands.
fn main() {
    eprintln!("greenledger-load: not built yet");
    std::process::exit(2);
}
