//! [`DelivererConfig`]: how the webhook deliverer polls and sends.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The webhook deliverer's settings (the `[webhooks]` table). Every field says its default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DelivererConfig {
    /// How often the leader looks for due deliveries, in milliseconds. Default: 250.
    pub poll_interval_ms: u64,
    /// How long an endpoint has to answer, in milliseconds; no answer is a failed attempt.
    /// Default: 10,000.
    pub request_timeout_ms: u64,
    /// How many endpoints are sent to at once, across every app. Each endpoint gets its
    /// deliveries one at a time, so a slow endpoint holds one slot, never the others; free
    /// slots go to apps in turn. Default: 16.
    pub max_concurrent: usize,
    /// How many of those one app's endpoints may hold at once, so that one app's slow
    /// endpoints leave slots for every other app. At most `max_concurrent`. Default: 4.
    pub max_concurrent_per_app: usize,
    /// The most due deliveries one endpoint is sent in one round; the rest wait for the next
    /// round. Default: 32.
    pub batch_per_endpoint: usize,
    /// Whether webhooks may be sent to loopback, link-local, private and other internal
    /// addresses (checked on what a host resolves to at each delivery, and on addresses in
    /// URLs when a webhook is created). Default: false: an app's Admin must not be able to
    /// make the control plane call services inside the cluster's network.
    pub allow_private_addresses: bool,
}

impl Default for DelivererConfig {
    fn default() -> Self {
        Self {
            poll_interval_ms: 250,
            request_timeout_ms: 10_000,
            max_concurrent: 16,
            max_concurrent_per_app: 4,
            batch_per_endpoint: 32,
            allow_private_addresses: false,
        }
    }
}

/// A setting the deliverer cannot run with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct DelivererConfigError {
    /// The field at fault.
    pub field: &'static str,
    /// Why.
    pub reason: &'static str,
}

impl DelivererConfig {
    /// Refuses zeros, which would spin or never send, and a per-app cap above the total.
    pub fn validate(&self) -> Result<(), DelivererConfigError> {
        let zero = |field, value: u64| {
            if value == 0 {
                Err(DelivererConfigError {
                    field,
                    reason: "must be at least 1",
                })
            } else {
                Ok(())
            }
        };
        zero("poll_interval_ms", self.poll_interval_ms)?;
        zero("request_timeout_ms", self.request_timeout_ms)?;
        zero("max_concurrent", self.max_concurrent as u64)?;
        zero("max_concurrent_per_app", self.max_concurrent_per_app as u64)?;
        zero("batch_per_endpoint", self.batch_per_endpoint as u64)?;
        if self.max_concurrent_per_app > self.max_concurrent {
            return Err(DelivererConfigError {
                field: "max_concurrent_per_app",
                reason: "must be at most max_concurrent",
            });
        }
        Ok(())
    }

    /// The poll interval.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms)
    }

    /// The request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_zeros_are_named() {
        assert_eq!(DelivererConfig::default().validate(), Ok(()));
        let config = DelivererConfig {
            max_concurrent: 0,
            ..DelivererConfig::default()
        };
        let err = config.validate().unwrap_err();
        assert_eq!(err.to_string(), "max_concurrent: must be at least 1");
        let config = DelivererConfig {
            max_concurrent: 2,
            max_concurrent_per_app: 3,
            ..DelivererConfig::default()
        };
        let err = config.validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "max_concurrent_per_app: must be at most max_concurrent"
        );
    }
}
