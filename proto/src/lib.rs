//! gRPC contracts.
