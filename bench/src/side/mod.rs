//! Side-by-side runs: Packyard and a peer (nginx, etcd) started by the benchmark on the same
//! machine, given the same data, cores and workload, loaded alternately.
//!
//! # Layout
//!
//! - [`cluster_tls`]: the cluster certificates the Packyard processes present.
//! - [`cpu_time`]: the CPU time servers used, for CPU per request.
//! - [`proc`]: child processes pinned with `taskset`, free ports, waiting for readiness.
//! - [`http_call`]: one-off HTTP calls for setting servers up (admin API, uploads, /metrics).
//! - [`packyard`]: control plane + origin + edge as processes, and the admin API flow that
//!   puts a pack on the edge.
//! - [`control_cluster`]: a control-plane cluster of n `packyard control` processes, killed
//!   and restarted by the soak, its leader and metrics read from `/metrics`.
//! - [`nginx`]: nginx configured as a static file server.
//! - [`etcd`]: an etcd cluster of the same size, loaded through its HTTP gateway, for
//!   `vs-etcd`.
//! - [`pinning`]: which cores the servers get and which the load generator keeps.
//! - [`ab`]: A/B alternation and ratios with their spread.

pub mod ab;
pub mod cluster_tls;
pub mod control_cluster;
pub mod cpu_time;
pub mod etcd;
pub mod http_call;
pub mod nginx;
pub mod packyard;
pub mod pinning;
pub mod proc;
