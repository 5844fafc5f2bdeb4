//! [`PinArgs`]: which cores the servers get and which the load generator keeps.

use clap::Args;

use super::proc::pin_self;
use crate::error::BenchError;

/// Core pinning flags shared by the side-by-side commands.
#[derive(Debug, Clone, Args)]
pub struct PinArgs {
    /// CPUs for the servers (a `taskset` list) [default: the last CPU].
    #[arg(long)]
    pub server_cpus: Option<String>,
    /// CPUs for the load generator [default: every other CPU].
    #[arg(long)]
    pub client_cpus: Option<String>,
    /// Pin nothing (servers and load generator share every core).
    #[arg(long)]
    pub no_pin: bool,
}

/// The chosen CPU lists: `(servers, load generator)`.
pub fn choose(args: &PinArgs, cpus: usize) -> (Option<String>, Option<String>) {
    if args.no_pin || cpus < 2 {
        return (None, None);
    }
    let server = args
        .server_cpus
        .clone()
        .unwrap_or_else(|| (cpus - 1).to_string());
    let client = args.client_cpus.clone().unwrap_or_else(|| {
        if cpus == 2 {
            "0".to_owned()
        } else {
            format!("0-{}", cpus - 2)
        }
    });
    (Some(server), Some(client))
}

impl PinArgs {
    /// Pins this process to the load generator's CPUs (before the runtime starts) and returns
    /// the servers' CPU list.
    pub fn apply(&self) -> Result<Option<String>, BenchError> {
        let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let (server, client) = choose(self, cpus);
        if let Some(client) = &client {
            pin_self(client)?;
        }
        Ok(server)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(server: Option<&str>, no_pin: bool) -> PinArgs {
        PinArgs {
            server_cpus: server.map(str::to_owned),
            client_cpus: None,
            no_pin,
        }
    }

    #[test]
    fn servers_get_the_last_core_and_the_generator_the_rest() {
        assert_eq!(
            choose(&args(None, false), 2),
            (Some("1".into()), Some("0".into()))
        );
        assert_eq!(
            choose(&args(None, false), 8),
            (Some("7".into()), Some("0-6".into()))
        );
        assert_eq!(choose(&args(Some("2-3"), false), 8).0, Some("2-3".into()));
        assert_eq!(choose(&args(None, true), 8), (None, None));
        assert_eq!(choose(&args(None, false), 1), (None, None));
    }
}
