//! `packyard-bench control-soak`: the control plane's leader killed with SIGKILL again and
//! again while writers create pack versions through every node, then checked.
//!
//! Each writer sends `POST /v1/backgroundAssetVersions` to one node (writers are spread over
//! the nodes, so followers forward and the leader writes directly) for one of two packs, and
//! reads every acknowledged version back from the node that acknowledged it. A killer waits
//! for writes to flow, SIGKILLs whichever node leads, waits until another node leads and
//! writes are acknowledged again, restarts the killed node on its own data, waits until it has
//! caught up, and goes again. At the end every node's catalog is read and checked:
//!
//! - every acknowledged version is on every node, with the number it was acknowledged with;
//! - the numbers of each pack run 1, 2, 3 … without a gap (rule R11), the same on every node;
//! - every acknowledged version was readable, with its number, on the node that acknowledged
//!   it, right after the acknowledgement (read-your-write).
//!
//! A write whose request failed (the node it went to died, no leader for a moment) is not
//! acknowledged, so it may or may not be in the catalog; the checks are about the ones that
//! were. The CI suite runs a few kills (`cli/tests/control_soak.rs`); the soak runs 50.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::Method;
use serde::Serialize;

use crate::error::{BenchError, io_err};
use crate::machine::Machine;
use crate::side::control_cluster::ControlCluster;
use crate::side::http_call::call_json;
use crate::side::packyard::ADMIN_KEY;
use crate::spread::Spread;
use packyard_admin_client::new_version_document as version_body;

/// How long any one step (a failover, a catch-up, a request) may take before the soak stops
/// and says which step stalled.
const STEP_LIMIT: Duration = Duration::from_secs(60);

/// What to run.
#[derive(Debug, Clone)]
pub struct SoakConfig {
    /// The `packyard` binary.
    pub packyard_bin: PathBuf,
    /// Control nodes (3 or 5).
    pub nodes: usize,
    /// Concurrent writers, spread over the nodes.
    pub writers: usize,
    /// Leader kills.
    pub kills: usize,
    /// Acknowledged writes between a restart and the next kill, and after a kill before the
    /// restart (at least one of them through the new leader).
    pub acks_between: usize,
    /// A `control.toml` for every node (Raft timing, snapshots); the defaults when `None`.
    pub config: Option<String>,
    /// Where the nodes keep their data (a temporary directory inside).
    pub work_dir: PathBuf,
    /// CPUs of the servers.
    pub server_cpus: Option<String>,
}

/// What the soak saw and what the checks found.
#[derive(Debug, Clone, Serialize)]
pub struct SoakReport {
    /// Where it ran.
    pub machine: Machine,
    /// Control nodes.
    pub nodes: usize,
    /// Concurrent writers.
    pub writers: usize,
    /// Leaders killed with SIGKILL.
    pub kills: usize,
    /// Writes acknowledged (201).
    pub acknowledged: usize,
    /// Acknowledged writes per node they were sent to.
    pub acknowledged_per_node: Vec<usize>,
    /// Writes a running node took but did not acknowledge (503 while no node led, the
    /// connection lost as the node or its leader died, a timeout).
    pub unacknowledged: usize,
    /// Writes refused at connect because their node was down (its writers retry every 20 ms).
    pub to_a_down_node: usize,
    /// Versions each node holds at the end, all packs together.
    pub versions_per_node: Vec<usize>,
    /// Milliseconds from each kill to the acknowledgement of the first write sent after it
    /// (writes already in flight that the old leader had committed do not count).
    pub failover_ms: Option<Spread>,
    /// Every check that failed, each naming what it found; empty when nothing was lost.
    pub violations: Vec<String>,
    /// Seconds the whole soak took.
    pub seconds: f64,
}

/// One acknowledged write.
#[derive(Debug, Clone)]
struct Ack {
    pack: usize,
    number: u64,
    id: String,
    node: usize,
    /// When the write was sent and when its acknowledgement came.
    sent: Instant,
    acked: Instant,
}

/// What the writers share with the killer and the checks.
#[derive(Debug, Default)]
struct Ledger {
    acks: Mutex<Vec<Ack>>,
    count: AtomicUsize,
    unacknowledged: AtomicUsize,
    to_a_down_node: AtomicUsize,
    violations: Mutex<Vec<String>>,
    stop: AtomicBool,
}

impl Ledger {
    fn violation(&self, what: String) {
        if let Ok(mut v) = self.violations.lock() {
            v.push(what);
        }
    }

    /// When the first write sent after `after` was acknowledged, if one has been; only
    /// acknowledgements from the `from`-th on are looked at.
    fn first_acked_sent_after(&self, from: usize, after: Instant) -> Option<Instant> {
        let acks = self.acks.lock().ok()?;
        acks.get(from..)?
            .iter()
            .filter(|a| a.sent > after)
            .map(|a| a.acked)
            .min()
    }
}

/// Runs the soak; an error only when the cluster could not be set up or stalled (a check
/// that fails is a violation in the report, not an error).
pub async fn run_soak(config: &SoakConfig) -> Result<SoakReport, BenchError> {
    if config.nodes < 3 || config.writers == 0 {
        return Err(BenchError::Setup(
            "a soak needs at least 3 nodes (one may die) and at least one writer".into(),
        ));
    }
    let began = Instant::now();
    let work = tempfile::Builder::new()
        .prefix("packyard-bench-soak-")
        .tempdir_in(&config.work_dir)
        .map_err(io_err("create a directory in", &config.work_dir))?;
    let mut cluster = ControlCluster::start_with(
        &config.packyard_bin,
        work.path(),
        config.server_cpus.as_deref(),
        config.nodes,
        config.config.as_deref(),
    )
    .await?;
    let packs = cluster.create_packs(&["soak-a", "soak-b"]).await?;
    let urls: Vec<String> = cluster
        .admins
        .iter()
        .map(|s| format!("http://{}", s.authority))
        .collect();
    let ledger = Arc::new(Ledger::default());
    let writers: Vec<_> = (0..config.writers)
        .map(|w| {
            let node = w % config.nodes;
            let pack = w % packs.len();
            tokio::spawn(write_loop(
                urls[node].clone(),
                node,
                pack,
                packs[pack].clone(),
                Arc::clone(&ledger),
            ))
        })
        .collect();
    let killed = kill_loop(&mut cluster, config, &ledger).await;
    ledger.stop.store(true, Ordering::SeqCst);
    for w in writers {
        let _ = w.await;
    }
    let failovers = killed?;
    wait_caught_up(&cluster).await?;

    let acks = ledger.acks.lock().map(|a| a.clone()).unwrap_or_default();
    let mut violations = ledger
        .violations
        .lock()
        .map(|v| v.clone())
        .unwrap_or_default();
    let mut versions_per_node = Vec::new();
    let mut catalogs = Vec::new();
    for url in &urls {
        let mut per_pack = Vec::new();
        for pack in &packs {
            per_pack.push(versions(url, pack).await?);
        }
        versions_per_node.push(per_pack.iter().map(BTreeMap::len).sum());
        catalogs.push(per_pack);
    }
    violations.extend(check(&acks, &catalogs));
    let mut acknowledged_per_node = vec![0; config.nodes];
    for a in &acks {
        acknowledged_per_node[a.node] += 1;
    }
    Ok(SoakReport {
        machine: Machine::current(),
        nodes: config.nodes,
        writers: config.writers,
        kills: failovers.len(),
        acknowledged: acks.len(),
        acknowledged_per_node,
        unacknowledged: ledger.unacknowledged.load(Ordering::SeqCst),
        to_a_down_node: ledger.to_a_down_node.load(Ordering::SeqCst),
        versions_per_node,
        failover_ms: Spread::of(&failovers),
        violations,
        seconds: began.elapsed().as_secs_f64(),
    })
}

/// The checks of the module's header over what was acknowledged and what each node holds
/// (`catalogs[node][pack]`: number → version id); one line per failure.
fn check(acks: &[Ack], catalogs: &[Vec<BTreeMap<u64, String>>]) -> Vec<String> {
    let mut out = Vec::new();
    let mut given: BTreeSet<(usize, u64)> = BTreeSet::new();
    for a in acks {
        if !given.insert((a.pack, a.number)) {
            out.push(format!(
                "pack {} version number {} was acknowledged twice",
                a.pack, a.number
            ));
        }
        for (node, catalog) in catalogs.iter().enumerate() {
            match catalog[a.pack].get(&a.number) {
                Some(id) if *id == a.id => {}
                Some(other) => out.push(format!(
                    "node {}: pack {} number {} is {other}, but {} was acknowledged with it",
                    node + 1,
                    a.pack,
                    a.number,
                    a.id
                )),
                None => out.push(format!(
                    "node {}: acknowledged version {} (pack {} number {}) is missing",
                    node + 1,
                    a.id,
                    a.pack,
                    a.number
                )),
            }
        }
    }
    for (node, catalog) in catalogs.iter().enumerate() {
        for (pack, numbers) in catalog.iter().enumerate() {
            let got: Vec<u64> = numbers.keys().copied().collect();
            let want: Vec<u64> = (1..=got.len() as u64).collect();
            if got != want {
                let gap = want.iter().zip(&got).find(|(w, g)| w != g);
                out.push(format!(
                    "node {}: pack {pack} numbers are not gapless (R11): {} versions, first gap at {:?}",
                    node + 1,
                    got.len(),
                    gap.map(|(w, _)| *w)
                ));
            }
            if node > 0 && *numbers != catalogs[0][pack] {
                out.push(format!(
                    "node {} holds a different pack {pack} than node 1 ({} against {} versions)",
                    node + 1,
                    numbers.len(),
                    catalogs[0][pack].len()
                ));
            }
        }
    }
    out
}

/// One writer: new versions of `pack` through the node at `url` until told to stop, each
/// acknowledged one read back through the same node.
async fn write_loop(url: String, node: usize, pack: usize, pack_id: String, ledger: Arc<Ledger>) {
    let body = version_body(&pack_id);
    let post = format!("{url}/v1/backgroundAssetVersions");
    while !ledger.stop.load(Ordering::SeqCst) {
        let sent = Instant::now();
        let answer = tokio::time::timeout(
            STEP_LIMIT,
            call_json(Method::POST, &post, Some(ADMIN_KEY), Some(&body)),
        )
        .await;
        let (id, number) = match answer {
            Ok(Ok((201, v))) => match (
                v["data"]["id"].as_str(),
                v["data"]["attributes"]["version"].as_u64(),
            ) {
                (Some(id), Some(number)) => (id.to_owned(), number),
                _ => {
                    ledger.violation(format!(
                        "node {}: a 201 without id or number: {v}",
                        node + 1
                    ));
                    continue;
                }
            },
            // The node is down or restarting.
            Ok(Err(e)) if e.starts_with("connecting to") => {
                ledger.to_a_down_node.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            // No node leads for a moment, or the node or its leader died with the request in
            // flight: not acknowledged.
            Ok(Ok((503, _)) | Err(_)) | Err(_) => {
                ledger.unacknowledged.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            Ok(Ok((status, v))) => {
                ledger.unacknowledged.fetch_add(1, Ordering::SeqCst);
                ledger.violation(format!(
                    "node {}: a write answered {status}, neither done nor retryable: {v}",
                    node + 1
                ));
                continue;
            }
        };
        let acked = Instant::now();
        if let Some(problem) = read_back(&url, &id, number).await {
            ledger.violation(format!("node {}: read-your-write: {problem}", node + 1));
        }
        if let Ok(mut acks) = ledger.acks.lock() {
            acks.push(Ack {
                pack,
                number,
                id,
                node,
                sent,
                acked,
            });
        }
        ledger.count.fetch_add(1, Ordering::SeqCst);
    }
}

/// Reads version `id` from the node at `url` right after that node acknowledged it; `None`
/// when it is there with `number`, or when the node died before it could answer (nothing to
/// judge), else what was wrong.
async fn read_back(url: &str, id: &str, number: u64) -> Option<String> {
    let get = format!("{url}/v1/backgroundAssetVersions/{id}");
    let deadline = Instant::now() + STEP_LIMIT;
    loop {
        match call_json(Method::GET, &get, Some(ADMIN_KEY), None).await {
            Ok((200, v)) => {
                let got = v["data"]["attributes"]["version"].as_u64();
                return (got != Some(number))
                    .then(|| format!("{id} acknowledged as number {number}, read as {got:?}"));
            }
            // A connection that fails: the node was killed between the two requests.
            Err(_) => return None,
            // No leader to confirm the read against just now: ask again.
            Ok((503, _)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok((status, v)) => {
                return Some(format!("{id} acknowledged, then read as {status}: {v}"));
            }
        }
    }
}

/// Kills the leader `config.kills` times (see the module header); the milliseconds from
/// each kill to the next acknowledged write.
async fn kill_loop(
    cluster: &mut ControlCluster,
    config: &SoakConfig,
    ledger: &Ledger,
) -> Result<Vec<f64>, BenchError> {
    let acks = || ledger.count.load(Ordering::SeqCst);
    let mut failovers = Vec::new();
    for kill in 1..=config.kills {
        let from = acks();
        wait_for(cluster, "writes flow before the next kill", || async {
            acks() >= from + config.acks_between
        })
        .await?;
        let leader = wait_leader(cluster, None).await?;
        let before = acks();
        cluster.kill(leader);
        let killed_at = Instant::now();
        eprintln!(
            "kill {kill}/{}: node {} (the leader)",
            config.kills,
            leader + 1
        );
        wait_for(
            cluster,
            "a write sent after the kill acknowledged",
            || async { ledger.first_acked_sent_after(before, killed_at).is_some() },
        )
        .await?;
        if let Some(acked) = ledger.first_acked_sent_after(before, killed_at) {
            failovers.push((acked - killed_at).as_secs_f64() * 1e3);
        }
        wait_leader(cluster, Some(leader)).await?;
        let after = acks();
        wait_for(cluster, "writes through the new leader", || async {
            acks() >= after + config.acks_between.div_ceil(2)
        })
        .await?;
        cluster.restart(leader)?;
        cluster.wait_answers(leader).await?;
        wait_caught_up(cluster).await?;
    }
    Ok(failovers)
}

/// Waits until `check` holds, checking every 20 ms; an error naming `what` after
/// [`STEP_LIMIT`], with the nodes' logs.
async fn wait_for<F, Fut>(
    cluster: &ControlCluster,
    what: &str,
    mut check: F,
) -> Result<(), BenchError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + STEP_LIMIT;
    while !check().await {
        if Instant::now() > deadline {
            return Err(BenchError::Setup(format!(
                "{what}: not within {STEP_LIMIT:?}\n{}",
                cluster.log_tails()
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// The node that leads, waiting for one other than `not` (the one just killed).
async fn wait_leader(cluster: &ControlCluster, not: Option<usize>) -> Result<usize, BenchError> {
    let deadline = Instant::now() + STEP_LIMIT;
    loop {
        if let Some(l) = cluster.leader().await
            && Some(l) != not
        {
            return Ok(l);
        }
        if Instant::now() > deadline {
            return Err(BenchError::Setup(format!(
                "no leader within {STEP_LIMIT:?}\n{}",
                cluster.log_tails()
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until every running node has applied what the leader had committed when asked.
async fn wait_caught_up(cluster: &ControlCluster) -> Result<(), BenchError> {
    let leader = wait_leader(cluster, None).await?;
    let target = cluster
        .metric(leader, "packyard_control_raft_commit_index")
        .await
        .unwrap_or(0.0);
    for i in 0..cluster.len() {
        if !cluster.is_running(i) {
            continue;
        }
        wait_for(
            cluster,
            &format!("node {} catches up", i + 1),
            || async move {
                cluster
                    .metric(i, "packyard_control_raft_applied_index")
                    .await
                    .is_some_and(|applied| applied >= target)
            },
        )
        .await?;
    }
    Ok(())
}

/// Every version of `pack` as number → id, read through the node at `url`, page by page.
async fn versions(url: &str, pack: &str) -> Result<BTreeMap<u64, String>, BenchError> {
    let mut out = BTreeMap::new();
    let mut page = format!("{url}/v1/backgroundAssets/{pack}/versions?limit=200");
    let deadline = Instant::now() + STEP_LIMIT;
    loop {
        let v = match call_json(Method::GET, &page, Some(ADMIN_KEY), None).await {
            Ok((200, v)) => v,
            Ok((503, _)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            other => {
                return Err(BenchError::Setup(format!(
                    "listing the versions of {pack} at {url}: {other:?}"
                )));
            }
        };
        for d in v["data"].as_array().into_iter().flatten() {
            if let (Some(number), Some(id)) =
                (d["attributes"]["version"].as_u64(), d["id"].as_str())
            {
                out.insert(number, id.to_owned());
            }
        }
        match v["links"]["next"].as_str() {
            // A path on the same node, or a whole URL.
            Some(next) if next.starts_with('/') => page = format!("{url}{next}"),
            Some(next) => page = next.to_owned(),
            None => return Ok(out),
        }
    }
}

impl fmt::Display for SoakReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "control-soak: {} packyard control nodes, {} writers through every node, {} leader SIGKILLs; {:.0} s; {} CPUs ({})",
            self.nodes,
            self.writers,
            self.kills,
            self.seconds,
            self.machine.cpus,
            self.machine.cpu_model
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "| acknowledged | per node | not acknowledged | sent to a down node | versions per node | failover ms median (min–max) | violations |"
        )?;
        writeln!(f, "|---:|---|---:|---:|---|---|---:|")?;
        let list = |v: &[usize]| {
            v.iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(" / ")
        };
        let failover = self.failover_ms.map_or_else(
            || "–".to_owned(),
            |s| format!("{:.0} ({:.0}–{:.0})", s.median, s.min, s.max),
        );
        writeln!(
            f,
            "| {} | {} | {} | {} | {} | {failover} | {} |",
            self.acknowledged,
            list(&self.acknowledged_per_node),
            self.unacknowledged,
            self.to_a_down_node,
            list(&self.versions_per_node),
            self.violations.len()
        )?;
        for v in &self.violations {
            writeln!(f, "- {v}")?;
        }
        if self.violations.is_empty() {
            writeln!(
                f,
                "\nevery acknowledged write is on every node with its number; numbers are gapless; every write was read back on the node that acknowledged it"
            )?;
        }
        Ok(())
    }
}

/// Flags of `packyard-bench control-soak`.
#[derive(Debug, Clone, clap::Args)]
pub struct SoakArgs {
    /// The `packyard` binary [default: $CARGO_TARGET_DIR/release/packyard].
    #[arg(long)]
    pub packyard_bin: Option<PathBuf>,
    /// Control nodes.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(3..=7))]
    pub nodes: u8,
    /// Concurrent writers, spread over the nodes.
    #[arg(long, default_value_t = 8)]
    pub writers: usize,
    /// Leader kills.
    #[arg(long, default_value_t = 50)]
    pub kills: usize,
    /// Acknowledged writes before each kill and after it before the restart.
    #[arg(long, default_value_t = 20)]
    pub acks_between: usize,
    /// A `control.toml` for every node (`[raft]` timing, snapshots) [default: the defaults].
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Where the nodes keep their data (a temporary directory inside).
    #[arg(long, env = "TMPDIR", default_value = "/tmp")]
    pub work_dir: PathBuf,
    /// CPUs of the servers (a `taskset` list) [default: not pinned].
    #[arg(long)]
    pub server_cpus: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl SoakArgs {
    /// The run these flags describe.
    pub fn config(&self) -> Result<SoakConfig, BenchError> {
        if self.writers == 0 || self.acks_between == 0 {
            return Err(BenchError::Setup(
                "--writers and --acks-between must each be at least 1".into(),
            ));
        }
        let config = match &self.config {
            Some(path) => Some(std::fs::read_to_string(path).map_err(io_err("read", path))?),
            None => None,
        };
        Ok(SoakConfig {
            packyard_bin: crate::side::packyard::find_packyard(self.packyard_bin.as_deref())?,
            nodes: usize::from(self.nodes),
            writers: self.writers,
            kills: self.kills,
            acks_between: self.acks_between,
            config,
            work_dir: self.work_dir.clone(),
            server_cpus: self.server_cpus.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(pack: usize, number: u64, id: &str) -> Ack {
        Ack {
            pack,
            number,
            id: id.into(),
            node: 0,
            sent: Instant::now(),
            acked: Instant::now(),
        }
    }

    fn catalog(entries: &[(u64, &str)]) -> BTreeMap<u64, String> {
        entries
            .iter()
            .map(|(n, id)| (*n, (*id).to_owned()))
            .collect()
    }

    #[test]
    fn a_complete_gapless_catalog_on_every_node_passes() {
        let acks = [ack(0, 1, "a"), ack(0, 3, "c"), ack(1, 1, "x")];
        let node = vec![
            catalog(&[(1, "a"), (2, "b"), (3, "c")]),
            catalog(&[(1, "x")]),
        ];
        assert_eq!(check(&acks, &[node.clone(), node]), Vec::<String>::new());
    }

    #[test]
    fn a_missing_acknowledged_version_a_gap_and_a_renumbering_are_each_named() {
        let acks = [ack(0, 1, "a"), ack(0, 2, "b")];
        let good = vec![catalog(&[(1, "a"), (2, "b")]), catalog(&[])];
        let missing = vec![catalog(&[(1, "a")]), catalog(&[])];
        let problems = check(&acks, &[good.clone(), missing]);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("node 2: acknowledged version b")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("different pack 0")),
            "{problems:?}"
        );

        let gap = vec![catalog(&[(1, "a"), (2, "b"), (4, "d")]), catalog(&[])];
        let problems = check(&acks, &[gap]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("first gap at Some(3)"), "{problems:?}");

        let renumbered = vec![catalog(&[(1, "b"), (2, "a")]), catalog(&[])];
        let problems = check(&acks, &[renumbered]);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains("number 1 is b, but a was acknowledged"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_number_acknowledged_twice_is_a_violation() {
        let acks = [ack(0, 1, "a"), ack(0, 1, "b")];
        let node = vec![catalog(&[(1, "a")]), catalog(&[])];
        let problems = check(&acks, &[node]);
        assert!(
            problems.iter().any(|p| p.contains("acknowledged twice")),
            "{problems:?}"
        );
    }
}
