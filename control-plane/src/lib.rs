//! The Packyard control plane: the source of truth for apps, packs, versions, releases,
//! reviews, rollouts, edges, users and keys.
//!
//! Planned (issue 02): an openraft node whose log and state machine live in RocksDB and whose
//! state machine applies [`packyard_core`] catalog commands; the JSON:API admin API; webhooks;
//! and the gRPC watch stream that edges follow. Nothing is implemented here yet, so this crate
//! exports nothing.
