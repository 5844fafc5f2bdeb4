//! [`MemoryChunkStore`] keeps every promise of the `ChunkStore` trait.

use packyard_chunk_store::MemoryChunkStore;

packyard_chunk_store::conformance_tests!(|| ((), MemoryChunkStore::new()));
