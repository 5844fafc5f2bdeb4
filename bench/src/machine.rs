//! [`Machine`]: what a benchmark ran on, printed next to its numbers.

use serde::Serialize;

/// The machine a benchmark ran on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// CPUs of the machine (online), whatever this process is pinned to.
    pub cpus: usize,
    /// The CPU model, from `/proc/cpuinfo` where there is one.
    pub cpu_model: String,
}

impl Machine {
    /// Looks at the machine this process runs on.
    pub fn current() -> Self {
        let info = std::fs::read_to_string("/proc/cpuinfo").ok();
        // `available_parallelism` follows this process's affinity, which the side-by-side
        // benchmarks narrow to the load generator's cores; /proc/cpuinfo lists them all.
        let cpus = info
            .as_deref()
            .map(|i| i.lines().filter(|l| l.starts_with("processor")).count())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
            });
        let cpu_model = info
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, model)| model.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        Self { cpus, cpu_model }
    }
}
