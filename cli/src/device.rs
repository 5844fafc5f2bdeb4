//! `packyard device sync`: the device client as a command. Fetches the download manifest,
//! repairs, removes and downloads as the platform's managed downloader would for the
//! installation event given (and the packs asked for), then prints each pack's state.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use packyard_client::{Device, DeviceConfig, Occasion, Progress, SyncReport};
use packyard_core::InstallationEventType;

/// `packyard device …`
#[derive(Debug, Subcommand)]
pub(crate) enum DeviceCommand {
    /// Bring a folder of packs in step with an edge's download manifest.
    Sync(SyncArgs),
}

/// Flags of `packyard device sync`.
#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    /// The edge's base URL.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:7300")]
    edge: String,
    /// The app's id.
    #[arg(long)]
    app: String,
    /// `internal`, `external` or `store`.
    #[arg(long, default_value = "store")]
    channel: String,
    /// Where the device keeps its packs.
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// The tester token, for a beta channel.
    #[arg(long, env = "PACKYARD_TESTER_TOKEN")]
    token: Option<String>,
    /// The device's platform, as manifests spell it (`iOS`, `iPadOS`, `macOS`, `tvOS`,
    /// `visionOS`) or as the admin API does (`IOS`, `MAC_OS` …), in any case.
    #[arg(long, default_value = "iOS", value_parser = platform)]
    platform: String,
    /// The device's OS version.
    #[arg(long, default_value = "27.0")]
    os: String,
    /// Preferred languages, most preferred first, comma separated.
    #[arg(long, value_delimiter = ',')]
    lang: Vec<String>,
    /// A stable device id (rollouts pick devices by it).
    #[arg(long)]
    device_id: Option<String>,
    /// The installation event this sync runs for: `firstInstallation` or `subsequentUpdate`.
    #[arg(long, value_parser = event)]
    event: Option<InstallationEventType>,
    /// A pack the app asks for now (repeat the flag); on-demand packs download only so.
    #[arg(long = "pack", value_name = "ID")]
    packs: Vec<String>,
    /// Range requests in flight at once.
    #[arg(long, default_value_t = 4)]
    parallel: usize,
    /// Ranges in one request at most.
    #[arg(long, default_value_t = 16)]
    max_ranges: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn event(s: &str) -> Result<InstallationEventType, String> {
    InstallationEventType::ALL
        .iter()
        .find(|(_, name)| *name == s)
        .map(|(e, _)| *e)
        .ok_or_else(|| format!("{s:?}: the events are firstInstallation and subsequentUpdate"))
}

/// A bar per pack on a terminal; nothing otherwise.
struct Bars(Mutex<Option<(String, ProgressBar)>>);

impl Progress for Bars {
    fn advanced(&self, id: &str, done: u64, total: u64) {
        if !std::io::stderr().is_terminal() {
            return;
        }
        let mut bar = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if bar.as_ref().is_none_or(|(current, _)| current != id) {
            if let Some((_, old)) = bar.take() {
                old.finish();
            }
            let b = ProgressBar::new(total).with_message(id.to_owned());
            if let Ok(style) = ProgressStyle::with_template(
                "{msg:20} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}",
            ) {
                b.set_style(style);
            }
            *bar = Some((id.to_owned(), b));
        }
        if let Some((_, b)) = bar.as_ref() {
            b.set_position(done);
            if done >= total {
                b.finish();
            }
        }
    }
}

pub(crate) fn run(command: DeviceCommand) -> anyhow::Result<()> {
    let DeviceCommand::Sync(args) = command;
    let device = Device::new(DeviceConfig {
        edge: args.edge.clone(),
        app: args.app.clone(),
        channel: args.channel.clone(),
        token: args.token.clone(),
        platform: args.platform.clone(),
        os: args.os.clone(),
        languages: args.lang.clone(),
        device_id: args.device_id.clone(),
        dir: args.dir.clone(),
        parallel: args.parallel,
        max_ranges: args.max_ranges,
    })?;
    let occasion = Occasion {
        event: args.event,
        requested: args.packs.clone(),
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = runtime.block_on(device.sync(&occasion, &Bars(Mutex::new(None))))?;
    let unknown: Vec<&String> = args
        .packs
        .iter()
        .filter(|wanted| !report.packs.iter().any(|p| &p.id == *wanted))
        .collect();
    if !unknown.is_empty() {
        let listed: Vec<&str> = report.packs.iter().map(|p| p.id.as_str()).collect();
        anyhow::bail!(
            "--pack {}: not in the {} channel's manifest for this device (it lists {})",
            unknown
                .iter()
                .map(|u| u.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            args.channel,
            if listed.is_empty() {
                "no pack".to_owned()
            } else {
                listed.join(", ")
            }
        );
    }
    let nothing_done = report.packs.iter().all(|p| p.action.is_empty());
    if args.event.is_none() && args.packs.is_empty() && nothing_done && !report.packs.is_empty() {
        eprintln!(
            "hint: nothing was downloaded. Essential and prefetch packs download on an \
             installation event (--event firstInstallation, or subsequentUpdate), on-demand \
             packs when asked for (--pack ID)."
        );
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table(&report));
    }
    Ok(())
}

fn table(report: &SyncReport) -> String {
    use crate::units::{bytes, plural};
    let mut out = format!(
        "{:<24} {:>7}  {:<18} {}\n",
        "PACK", "VERSION", "STATE", "DONE"
    );
    for p in &report.packs {
        let version = p.version.map_or_else(|| "-".to_owned(), |v| v.to_string());
        out.push_str(&format!(
            "{:<24} {:>7}  {:<18} {}\n",
            p.id, version, p.state, p.action
        ));
    }
    let t = &report.transfer;
    out.push_str(&format!(
        "fetched {} in {} ({} of chunk and piece lists); reused {} held, {} from an \
         interrupted download\n",
        bytes(t.fetched),
        plural(t.requests, "request"),
        bytes(t.listed),
        bytes(t.reused),
        bytes(t.resumed)
    ));
    out
}

/// `--platform`: either spelling of a platform, in any case, as the device protocol spells it.
fn platform(given: &str) -> Result<String, String> {
    packyard_core::Platform::ALL
        .into_iter()
        .find(|p| {
            p.manifest_name().eq_ignore_ascii_case(given)
                || p.api_name().eq_ignore_ascii_case(given)
        })
        .map(|p| p.manifest_name().to_owned())
        .ok_or_else(|| {
            let names: Vec<&str> = packyard_core::Platform::ALL
                .iter()
                .map(|p| p.manifest_name())
                .collect();
            format!(
                "{given:?} is not a platform; use one of {}",
                names.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::platform;

    #[test]
    fn a_platform_is_read_in_either_spelling_and_sent_as_manifests_spell_it() {
        for given in ["iOS", "IOS", "ios"] {
            assert_eq!(platform(given).as_deref(), Ok("iOS"), "{given}");
        }
        assert_eq!(platform("MAC_OS").as_deref(), Ok("macOS"));
        assert_eq!(platform("visionos").as_deref(), Ok("visionOS"));
        let refused = platform("android").unwrap_err();
        assert!(
            refused.contains("iOS, iPadOS, macOS, tvOS, visionOS"),
            "{refused}"
        );
    }
}
