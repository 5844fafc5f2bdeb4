//! The control plane's leader SIGKILLed again and again while writers create pack versions
//! through every node: the CI-sized run of `packyard-bench control-soak` (which runs 50
//! kills), with the same writers and the same checks (`bench/src/control_soak.rs`).

use std::time::Duration;

use packyard_bench::control_soak::{SoakConfig, run_soak};

/// Fast elections, so a failover takes a second rather than several, and a snapshot every 40
/// entries, so a restarted node also catches up from snapshots, not only from the log.
const CONFIG: &str = "[raft]\nheartbeat_ms = 100\nelection_timeout_min_ms = 500\n\
                      election_timeout_max_ms = 1000\nsnapshot_every_logs = 40\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r11_a_leader_killed_four_times_under_writers_through_every_node_loses_no_acknowledged_write_and_no_number()
 {
    let work = tempfile::tempdir().expect("a temporary directory");
    let config = SoakConfig {
        packyard_bin: env!("CARGO_BIN_EXE_packyard").into(),
        nodes: 3,
        writers: 6,
        kills: 4,
        acks_between: 10,
        config: Some(CONFIG.into()),
        work_dir: work.path().to_path_buf(),
        server_cpus: None,
    };
    let report = tokio::time::timeout(Duration::from_secs(240), run_soak(&config))
        .await
        .expect("the soak finishes within 4 minutes")
        .expect("the cluster starts, fails over after every kill and catches up");
    eprintln!("{report}");
    assert_eq!(report.kills, 4, "{report}");
    // Writes went through every node, so followers' forwarding was killed under too.
    assert!(
        report.acknowledged_per_node.iter().all(|&n| n > 0),
        "{report}"
    );
    // Every acknowledged write is on every node with its number, each pack's numbers are
    // gapless and the same on every node (R11), and each write was read back, with its
    // number, on the node that acknowledged it.
    assert_eq!(report.violations, Vec::<String>::new(), "{report}");
    assert!(
        report
            .versions_per_node
            .iter()
            .all(|&n| n >= report.acknowledged),
        "{report}"
    );
}
