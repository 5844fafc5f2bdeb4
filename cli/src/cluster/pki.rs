//! `packyard cluster ca init` and `packyard cluster cert issue`: the files of the cluster's
//! mutual TLS, made with `packyard-net`'s CA.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use packyard_net::cluster::{
    CertRequest, ClusterCa, Identity, NodeRole, Validity, write_atomically, write_node_files,
};

const DAY: Duration = Duration::from_secs(24 * 3600);

/// Writes a new CA into `dir`; an existing one is never replaced (every node trusts it).
pub(super) fn ca_init(dir: &Path, name: &str, days: u32) -> anyhow::Result<()> {
    let (cert, key) = (dir.join("ca.pem"), dir.join("ca.key"));
    if cert.exists() || key.exists() {
        bail!(
            "{} already holds a CA; every node trusts it, so it is not replaced. \
             Choose another --dir to start a new cluster",
            dir.display()
        );
    }
    if days == 0 {
        bail!("--days must be at least 1");
    }
    let validity = Validity::starting_now(DAY * days)?;
    let ca = ClusterCa::generate(name, validity)?;
    std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    write_atomically(&key, ca.key_pem(), true).with_context(|| key.display().to_string())?;
    write_atomically(&cert, ca.cert_pem(), false).with_context(|| cert.display().to_string())?;
    println!(
        "cluster CA {name:?}, valid until {}",
        validity.not_after.date()
    );
    println!(
        "  certificate  {}   (every node: --cluster-ca)",
        cert.display()
    );
    println!(
        "  key          {}   (mode 0600; keep it off the nodes)",
        key.display()
    );
    println!(
        "next: packyard cluster cert issue --ca-dir {} --role control --id 1",
        dir.display()
    );
    Ok(())
}

/// What `cert issue` was asked for.
pub(super) struct Issue<'a> {
    pub(super) role: &'a str,
    pub(super) id: &'a str,
    pub(super) ca_dir: &'a Path,
    pub(super) out: &'a Path,
    pub(super) days: u32,
    pub(super) dns_names: &'a [String],
    pub(super) ips: &'a [IpAddr],
}

/// Issues a certificate and writes it, its key and a copy of the CA certificate to `out`.
pub(super) fn cert_issue(issue: &Issue<'_>) -> anyhow::Result<()> {
    let role: NodeRole = issue.role.parse()?;
    let identity = Identity::new(role, issue.id)?;
    if issue.days == 0 {
        bail!("--days must be at least 1");
    }
    let read = |path: PathBuf| {
        std::fs::read_to_string(&path).with_context(|| {
            format!(
                "{} (make the CA first: packyard cluster ca init --dir {})",
                path.display(),
                issue.ca_dir.display()
            )
        })
    };
    let ca_cert = read(issue.ca_dir.join("ca.pem"))?;
    let ca = ClusterCa::from_pem(&ca_cert, &read(issue.ca_dir.join("ca.key"))?)?;
    let mut request = CertRequest::new(identity.clone(), DAY * issue.days)?;
    request.dns_names = issue.dns_names.to_vec();
    request.ips = issue.ips.to_vec();
    let cert = ca.issue(&request)?;

    let files = write_node_files(issue.out, &ca_cert, &identity, &cert)
        .with_context(|| format!("writing into {}", issue.out.display()))?;
    let (ca_path, cert_path, key_path) = files.paths().map_err(anyhow::Error::msg)?;
    println!("{identity}, valid until {}", cert.not_after.date());
    println!("  certificate  {}   (--cluster-cert)", cert_path.display());
    println!(
        "  key          {}   (--cluster-key; mode 0600)",
        key_path.display()
    );
    println!("  CA           {}   (--cluster-ca)", ca_path.display());
    Ok(())
}

/// `cert ensure`: the CA unless `ca_dir` holds one, then a certificate for each of `nodes`
/// (`ROLE:ID`) that has none in `out/ROLE/`.
pub(super) fn ensure(ca_dir: &Path, out: &Path, nodes: &[String], days: u32) -> anyhow::Result<()> {
    let wanted = nodes
        .iter()
        .map(|n| {
            let (role, id) = n
                .split_once(':')
                .with_context(|| format!("--node {n:?} is not ROLE:ID (like edge:eu-1)"))?;
            let identity = Identity::new(role.parse()?, id)?;
            Ok(identity)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if !ca_dir.join("ca.pem").exists() {
        ca_init(ca_dir, "Packyard cluster CA", 3650)?;
    }
    for identity in wanted {
        let role = identity.role.to_string();
        let dir = out.join(&role);
        let stem = format!("{role}-{}", identity.id);
        if dir.join(format!("{stem}.pem")).exists() && dir.join(format!("{stem}.key")).exists() {
            println!(
                "{identity}: kept {}",
                dir.join(format!("{stem}.pem")).display()
            );
            continue;
        }
        cert_issue(&Issue {
            role: &role,
            id: &identity.id,
            ca_dir,
            out: &dir,
            days,
            dns_names: &[],
            ips: &[],
        })?;
    }
    Ok(())
}
