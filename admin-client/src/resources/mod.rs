//! Typed requests and results, one resource family a file; each adds its calls to
//! [`AdminClient`](crate::AdminClient).

pub mod access;
pub mod apps;
pub mod members;
pub mod packs;
pub mod resource;
pub mod reviews;
pub mod rollouts;
pub mod upload_files;
pub mod versions;
pub mod webhooks;
