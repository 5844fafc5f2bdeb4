//! `packyard-bench fleet`: N simulated devices running the device client
//! (`packyard-client`) against a real edge: every device installs version N of a pack, then
//! version N+1 (a few percent of its files changed) is released and every device updates.
//!
//! Per phase it reports what a device fetched (manifest, chunk list and ranges) against the
//! full pack, the requests it sent, devices done per second with `concurrency` devices at
//! a time, and errors. Each device has its own folder and HTTP client, as real devices do.
//!
//! The same run measures the update's peer ([`crate::vs_zsync`]): zsync seeded with version
//! N builds N+1 from nginx, and the report gives a device's update bytes as a ratio of
//! zsync's.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use packyard_client::{Device, DeviceConfig, Occasion, Quiet};
use serde::Serialize;

use crate::dedup_bench::{DedupConfig, build_versions};
use crate::error::{BenchError, io_err};
use crate::machine::Machine;
use crate::side::packyard::{EdgeSetup, Packyard, pack_path};
use crate::vs_zsync::{ZsyncRun, zsync_update};

const PACK: &str = "fleet-pack";

/// What to run.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    /// The `packyard` binary.
    pub packyard_bin: PathBuf,
    /// Simulated devices.
    pub devices: usize,
    /// Devices syncing at once.
    pub concurrency: usize,
    /// The pack, versions N and N+1.
    pub pack: DedupConfig,
    /// Where packs, server data and the devices' folders go.
    pub work_dir: PathBuf,
    /// Also run zsync for the same update (needs zsync and nginx).
    pub vs_zsync: bool,
}

/// One phase (install, update) over the whole fleet.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    /// `install` or `update`.
    pub phase: &'static str,
    /// Devices that finished without an error.
    pub devices_ok: usize,
    /// Devices whose sync failed.
    pub errors: usize,
    /// The first error, if any.
    pub first_error: Option<String>,
    /// From the first device starting to the last finishing.
    pub seconds: f64,
    /// `devices_ok / seconds`.
    pub devices_per_second: f64,
    /// Mean bytes a device fetched (manifest, chunk list, ranges).
    pub mean_bytes: f64,
    /// The most a device fetched.
    pub max_bytes: u64,
    /// `mean_bytes` as a percentage of the full pack.
    pub percent_of_pack: f64,
    /// Of `mean_bytes`, the chunk lists and piece lists.
    pub mean_listed_bytes: f64,
    /// Mean requests a device sent.
    pub mean_requests: f64,
}

/// What `fleet` measured.
#[derive(Debug, Clone, Serialize)]
pub struct FleetReport {
    /// Where it ran.
    pub machine: Machine,
    /// Devices.
    pub devices: usize,
    /// At once.
    pub concurrency: usize,
    /// Files per version, and the share changed in N+1.
    pub files: u64,
    /// Percent of files changed.
    pub changed_percent: f64,
    /// Size of version N+1's archive.
    pub pack_bytes: u64,
    /// Install, then update.
    pub phases: Vec<Phase>,
    /// zsync's fetch for the same update, when run.
    pub zsync: Option<ZsyncRun>,
}

/// Builds both versions, starts Packyard, runs the fleet through both phases.
pub async fn run_fleet(config: &FleetConfig) -> Result<FleetReport, BenchError> {
    if config.devices == 0 || config.concurrency == 0 {
        return Err(BenchError::Setup(
            "--devices and --concurrency must be at least 1".into(),
        ));
    }
    let work = tempfile::Builder::new()
        .prefix("packyard-bench-fleet-")
        .tempdir_in(&config.work_dir)
        .map_err(io_err("create a directory in", &config.work_dir))?;
    let dir = work.path();
    let (v1, v2) = build_versions(dir, PACK, &config.pack)?;
    let pack_bytes = std::fs::metadata(&v2).map_err(io_err("read", &v2))?.len();
    let mut packyard = Packyard::start(
        &config.packyard_bin,
        &dir.join("packyard"),
        &EdgeSetup {
            cpus: None,
            cache_memory_bytes: 1 << 30,
        },
    )
    .await?;
    let app = packyard.create_app("com.example.fleet").await?;
    let pack = packyard.create_pack(&app, PACK).await?;
    let mut phases = Vec::new();
    for (phase, archive) in [("install", &v1), ("update", &v2)] {
        let (version, number) = packyard.upload(&pack, archive).await?;
        packyard.release_to_store(&app, &version).await?;
        packyard.wait_served(&pack_path(&app, PACK, number)).await?;
        wait_listed(&packyard, &app, number).await?;
        eprintln!(
            "{phase}: {} devices, {} at a time …",
            config.devices, config.concurrency
        );
        phases.push(run_phase(phase, config, &packyard, &app, dir, pack_bytes).await?);
    }
    let zsync = if config.vs_zsync {
        eprintln!("zsync: version 1 to 2 from nginx …");
        Some(zsync_update(&v1, &v2, dir).await?)
    } else {
        None
    };
    Ok(FleetReport {
        machine: Machine::current(),
        devices: config.devices,
        concurrency: config.concurrency,
        files: config.pack.files,
        changed_percent: config.pack.changed.0,
        pack_bytes,
        phases,
        zsync,
    })
}

fn device(packyard: &Packyard, app: &str, dir: &std::path::Path, i: usize) -> DeviceConfig {
    DeviceConfig {
        edge: format!("http://{}", packyard.edge),
        app: app.to_owned(),
        channel: "store".into(),
        token: None,
        platform: "iOS".into(),
        os: "27.0".into(),
        languages: Vec::new(),
        device_id: Some(format!("device-{i}")),
        dir: dir.join("devices").join(i.to_string()),
        parallel: 4,
        max_ranges: 16,
    }
}

/// Waits until the store manifest lists version `number` (the release reached the edge).
async fn wait_listed(packyard: &Packyard, app: &str, number: u64) -> Result<(), BenchError> {
    let probe = Device::new(device(
        packyard,
        app,
        std::path::Path::new("/nonexistent"),
        0,
    ))
    .map_err(|e| BenchError::Setup(e.to_string()))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok((m, _)) = probe.manifest().await
            && m.pack(PACK).is_some_and(|p| u64::from(p.version) == number)
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(BenchError::Setup(format!(
                "the store manifest does not list version {number} within 60 s"
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn run_phase(
    phase: &'static str,
    config: &FleetConfig,
    packyard: &Packyard,
    app: &str,
    dir: &std::path::Path,
    pack_bytes: u64,
) -> Result<Phase, BenchError> {
    let occasion = Arc::new(Occasion {
        event: None,
        requested: vec![PACK.to_owned()],
    });
    let gate = Arc::new(tokio::sync::Semaphore::new(config.concurrency));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..config.devices {
        let device = Device::new(device(packyard, app, dir, i))
            .map_err(|e| BenchError::Setup(e.to_string()))?;
        let (gate, occasion) = (Arc::clone(&gate), Arc::clone(&occasion));
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await;
            device.sync(&occasion, &Quiet).await
        });
    }
    let (mut ok, mut errors, mut first_error) = (0usize, 0usize, None);
    let (mut bytes, mut max_bytes, mut requests, mut listed) = (0u64, 0u64, 0u64, 0u64);
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(report)) => {
                ok += 1;
                bytes += report.transfer.fetched;
                max_bytes = max_bytes.max(report.transfer.fetched);
                requests += report.transfer.requests;
                listed += report.transfer.listed;
            }
            Ok(Err(e)) => {
                errors += 1;
                first_error.get_or_insert_with(|| e.to_string());
            }
            Err(e) => {
                errors += 1;
                first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let mean = |total: u64| total as f64 / ok.max(1) as f64;
    Ok(Phase {
        phase,
        devices_ok: ok,
        errors,
        first_error,
        seconds,
        devices_per_second: ok as f64 / seconds.max(1e-9),
        mean_bytes: mean(bytes),
        max_bytes,
        percent_of_pack: mean(bytes) * 100.0 / pack_bytes.max(1) as f64,
        mean_listed_bytes: mean(listed),
        mean_requests: mean(requests),
    })
}

impl fmt::Display for FleetReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "fleet: {} devices ({} at a time) against one edge; pack of {} files, {:.1} MiB, \
             {} % of files changed in N+1 ({} CPUs, {})\n",
            self.devices,
            self.concurrency,
            self.files,
            self.pack_bytes as f64 / f64::from(1u32 << 20),
            self.changed_percent,
            self.machine.cpus,
            self.machine.cpu_model
        )?;
        writeln!(
            f,
            "| phase | devices ok | errors | s | devices/s | KiB per device | of which lists | % of pack | max KiB | requests per device |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        )?;
        for p in &self.phases {
            writeln!(
                f,
                "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} | {:.1} | {:.1} |",
                p.phase,
                p.devices_ok,
                p.errors,
                p.seconds,
                p.devices_per_second,
                p.mean_bytes / 1024.0,
                p.mean_listed_bytes / 1024.0,
                p.percent_of_pack,
                p.max_bytes as f64 / 1024.0,
                p.mean_requests
            )?;
            if let Some(e) = &p.first_error {
                writeln!(f, "|   first error: {e} ||||||||||")?;
            }
        }
        if let Some(z) = &self.zsync {
            writeln!(
                f,
                "\nzsync seeded with version N, from nginx: {:.1} KiB ({:.1} KiB of it the \
                 control file), {:.2} % of the pack, {} requests",
                z.fetched_bytes as f64 / 1024.0,
                z.control_bytes as f64 / 1024.0,
                z.percent_of_pack,
                z.requests
            )?;
            if let Some(update) = self.phases.iter().find(|p| p.phase == "update") {
                writeln!(
                    f,
                    "a device's update fetched {:.2} × zsync's bytes",
                    update.mean_bytes / z.fetched_bytes.max(1) as f64
                )?;
            }
        }
        Ok(())
    }
}
