//! Generates the gRPC code from `proto/*.proto`. The only code generation in the workspace.
//!
//! protoc comes from `protoc-bin-vendored`, so a fresh machine needs nothing installed;
//! a `PROTOC` in the environment still wins, for platforms the vendored binaries lack.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "proto/raft.proto",
        "proto/catalog.proto",
        "proto/chunks.proto",
    ];
    for p in &protos {
        println!("cargo:rerun-if-changed={p}");
    }
    println!("cargo:rerun-if-env-changed=PROTOC");
    let protoc = match std::env::var_os("PROTOC") {
        Some(p) => PathBuf::from(p),
        None => protoc_bin_vendored::protoc_bin_path()?,
    };
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc);
    // Chunk payloads are handed around without copies.
    config.bytes([".packyard.chunks.v1.ChunkFrame.data"]);
    tonic_prost_build::configure().compile_with_config(config, &protos, &["proto"])?;
    Ok(())
}
