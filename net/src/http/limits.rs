//! [`HttpLimits`]: what one listener allows a connection (the `[http]` table of the edge, the
//! admin API and the origin's upload endpoint).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Connection limits of a listener. Every field has its default written next to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpLimits {
    /// Connections open at once per listener; more wait in the kernel's accept queue.
    /// Default 10,000.
    pub max_connections: usize,
    /// Bytes of request head (line and header fields) accepted; HTTP/1.1 needs at least
    /// 8,192. Default 16,384.
    pub max_header_bytes: usize,
    /// Milliseconds a client has to send a whole request head (and finish a TLS handshake).
    /// Default 10,000.
    pub header_read_timeout_ms: u64,
    /// Milliseconds a connection may move no byte either way before it is closed (requests
    /// under way are finished first): how long an idle keep-alive connection is kept.
    /// Default 60,000.
    pub idle_timeout_ms: u64,
    /// Milliseconds a request body may send nothing before the request fails with 408.
    /// Default 30,000.
    pub body_idle_timeout_ms: u64,
    /// Milliseconds a whole request body may take, from the request's arrival, before the
    /// request fails with 408. Default 600,000 (an upload part of 64 MiB at 110 KB/s).
    pub body_read_timeout_ms: u64,
    /// Concurrent HTTP/2 streams per connection. Default 256.
    pub max_concurrent_streams: u32,
    /// Milliseconds open connections get to finish their requests at shutdown. Default 10,000.
    pub shutdown_grace_ms: u64,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            max_header_bytes: 16 << 10,
            header_read_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            body_idle_timeout_ms: 30_000,
            body_read_timeout_ms: 600_000,
            max_concurrent_streams: 256,
            shutdown_grace_ms: 10_000,
        }
    }
}

impl HttpLimits {
    /// Checks every field; the error names it.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_connections == 0 || self.max_connections > u32::MAX as usize {
            return Err("max_connections: must be between 1 and 4294967295".into());
        }
        if self.max_header_bytes < 8192 {
            return Err("max_header_bytes: must be at least 8192".into());
        }
        if self.header_read_timeout_ms == 0 {
            return Err("header_read_timeout_ms: must be at least 1".into());
        }
        if self.idle_timeout_ms == 0 {
            return Err("idle_timeout_ms: must be at least 1".into());
        }
        if self.body_idle_timeout_ms == 0 {
            return Err("body_idle_timeout_ms: must be at least 1".into());
        }
        if self.body_read_timeout_ms == 0 {
            return Err("body_read_timeout_ms: must be at least 1".into());
        }
        if self.max_concurrent_streams == 0 {
            return Err("max_concurrent_streams: must be at least 1".into());
        }
        Ok(())
    }

    /// [`header_read_timeout_ms`](Self::header_read_timeout_ms) as a duration.
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.header_read_timeout_ms)
    }

    /// [`idle_timeout_ms`](Self::idle_timeout_ms) as a duration.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    /// [`body_idle_timeout_ms`](Self::body_idle_timeout_ms) as a duration.
    pub fn body_idle_timeout(&self) -> Duration {
        Duration::from_millis(self.body_idle_timeout_ms)
    }

    /// [`body_read_timeout_ms`](Self::body_read_timeout_ms) as a duration.
    pub fn body_read_timeout(&self) -> Duration {
        Duration::from_millis(self.body_read_timeout_ms)
    }
}
