//! Conversions between these contracts' messages and `packyard-core`'s types, one module per
//! contract, both ways: the one place where the domain meets the wire. Outbound conversions
//! (`From` impls) cannot fail; inbound ones check every field and name the one that is wrong
//! ([`Invalid`]), so a service answers a bad message without acting on any of it.
//!
//! - [`catalog`]: `packyard.catalog.v1` (the watch stream, origin reports, edge registry).
//! - [`chunks`]: `packyard.chunks.v1` (chunk ids).

pub mod catalog;
pub mod chunks;

use packyard_core::Blake3Hash;

/// Why an inbound message cannot become a domain value, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct Invalid {
    /// The message field, as the contract spells it (`ready[2].version` for an element).
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Invalid {
    /// `field` is wrong for `reason`.
    pub fn new(field: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Self {
            field: field.into(),
            reason: reason.to_string(),
        }
    }
}

/// A BLAKE3 hash sent as bytes in `field`.
pub fn hash(field: &str, bytes: &[u8]) -> Result<Blake3Hash, Invalid> {
    let raw: [u8; 32] = bytes.try_into().map_err(|_| {
        Invalid::new(
            field,
            format!("is {} bytes; a BLAKE3 hash has 32", bytes.len()),
        )
    })?;
    Ok(Blake3Hash::from_bytes(raw))
}
