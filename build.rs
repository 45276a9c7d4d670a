//! Compiles proto/ with the protoc binary shipped in the protoc-bin-vendored crate, so a fresh
//! machine needs nothing installed by hand.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("greenledger_descriptor.bin"))
        .compile_with_config(config, &["proto/greenledger/v1/ledger.proto"], &["proto"])?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
