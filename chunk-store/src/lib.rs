//! Content-addressed chunk storage, shared by origins (the store of record) and edges (the
//! disk tier of their cache): every chunk is named by the BLAKE3 hash of its bytes, written
//! atomically and verified when read.
