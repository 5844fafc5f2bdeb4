//! [`cpu_seconds`]: the CPU time (user + system, every thread) processes have used, from
//! `/proc/{pid}/stat`: what a side-by-side run divides by its requests to say how much CPU
//! each request cost, a measure that noise from other jobs on the machine barely moves.

use std::sync::OnceLock;

/// Clock ticks per second of `/proc`'s times (`getconf CLK_TCK`, 100 on Linux).
fn ticks_per_second() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// The user and system time of process `pid`, in seconds, if it is running.
pub fn process_cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it are space-separated.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the line are utime and stime; `rest` starts at field 3.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / ticks_per_second())
}

/// The CPU time of all of `pids`, in seconds (processes gone count nothing).
pub fn cpu_seconds(pids: &[u32]) -> f64 {
    pids.iter().filter_map(|p| process_cpu_seconds(*p)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_used_some_cpu_and_it_only_grows() {
        let me = std::process::id();
        let before = process_cpu_seconds(me).unwrap();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        let after = process_cpu_seconds(me).unwrap();
        assert!(after >= before && after > 0.0, "{before} {after}");
        assert_eq!(cpu_seconds(&[u32::MAX]), 0.0);
    }
}
