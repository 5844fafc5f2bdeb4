//! Packyard's gRPC contracts, generated from `proto/*.proto` by `build.rs`.
//!
//! This is the only crate with generated code. [`convert`] turns these messages into
//! `packyard-core`'s types and back, one module per contract; the domain never exposes them.
//!
//! # Layout
//!
//! - [`convert`]: the conversions, both ways, inbound ones checking every field.
//! - [`raft`]: Raft RPCs and membership between control-plane nodes.
//! - [`catalog`]: the watch stream edges and origins follow, edge registration and
//!   heartbeats, and the origin's processing reports.
//! - [`chunks`]: chunk sync from origins to edges.

pub mod convert;

/// Raft between control-plane nodes (`packyard.raft.v1`).
pub mod raft {
    #[allow(missing_docs, unreachable_pub, clippy::all, reason = "generated code")]
    pub mod v1 {
        tonic::include_proto!("packyard.raft.v1");
    }
}

/// The catalog watch stream, edge registry and origin reports (`packyard.catalog.v1`).
pub mod catalog {
    #[allow(missing_docs, unreachable_pub, clippy::all, reason = "generated code")]
    pub mod v1 {
        tonic::include_proto!("packyard.catalog.v1");
    }
}

/// Chunk sync between origins and edges (`packyard.chunks.v1`).
pub mod chunks {
    #[allow(missing_docs, unreachable_pub, clippy::all, reason = "generated code")]
    pub mod v1 {
        tonic::include_proto!("packyard.chunks.v1");
    }
}
