//! [`ClusterTlsFiles`]: where a node's cluster certificate, key and CA live (the
//! `[cluster_tls]` table of every service's configuration), and writing such files safely.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The `[cluster_tls]` table: the files of a node's mutual TLS. Every internal gRPC service
/// needs them; a node refuses to start without them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterTlsFiles {
    /// The cluster CA's certificate (PEM; several certificates while a CA is being replaced).
    /// Default: none.
    pub ca_file: Option<PathBuf>,
    /// This node's certificate (PEM), issued by `packyard cluster cert issue`. Default: none.
    pub cert_file: Option<PathBuf>,
    /// This node's private key (PEM). Default: none.
    pub key_file: Option<PathBuf>,
    /// Seconds between reads of the three files: a renewed certificate is used for new
    /// connections from the next read on, without a restart. Default: 10.
    pub reload_secs: u64,
}

impl Default for ClusterTlsFiles {
    fn default() -> Self {
        Self {
            ca_file: None,
            cert_file: None,
            key_file: None,
            reload_secs: 10,
        }
    }
}

impl ClusterTlsFiles {
    /// The three files of `stem` (for example `edge-eu-1`) in `dir`, next to `ca.pem`: the
    /// layout `packyard cluster cert issue` writes.
    pub fn in_dir(dir: &Path, stem: &str) -> Self {
        Self {
            ca_file: Some(dir.join("ca.pem")),
            cert_file: Some(dir.join(format!("{stem}.pem"))),
            key_file: Some(dir.join(format!("{stem}.key"))),
            ..Self::default()
        }
    }

    /// The three paths, or what is missing, worded for a configuration error.
    pub fn paths(&self) -> Result<(&Path, &Path, &Path), String> {
        match (&self.ca_file, &self.cert_file, &self.key_file) {
            (Some(ca), Some(cert), Some(key)) => Ok((ca, cert, key)),
            _ => Err(
                "ca_file, cert_file and key_file are all needed: internal gRPC is mutual \
                      TLS only. Make a CA with `packyard cluster ca init` and this node's \
                      certificate with `packyard cluster cert issue`, then pass \
                      --cluster-ca, --cluster-cert and --cluster-key"
                    .to_owned(),
            ),
        }
    }

    /// Checks the table; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        self.paths()?;
        if self.reload_secs == 0 {
            return Err("reload_secs: must be at least 1".into());
        }
        Ok(())
    }
}

/// Writes an issued certificate into `dir` the way `packyard cluster cert issue` lays it out:
/// `{role}-{id}.key` (mode 0600), then `{role}-{id}.pem`, and `ca.pem` (the CA certificate
/// `ca_pem`) unless it is already there with that content. The key goes first: a node that
/// reloads between the writes sees a key matching no certificate, refuses it and keeps its
/// old pair until the certificate follows. Returns the three paths.
pub fn write_node_files(
    dir: &Path,
    ca_pem: &str,
    identity: &super::identity::Identity,
    cert: &super::pki::IssuedCert,
) -> std::io::Result<ClusterTlsFiles> {
    std::fs::create_dir_all(dir)?;
    let files = ClusterTlsFiles::in_dir(dir, &format!("{}-{}", identity.role, identity.id));
    let (ca, cert_path, key_path) = files.paths().map_err(std::io::Error::other)?;
    write_atomically(key_path, &cert.key_pem, true)?;
    write_atomically(cert_path, &cert.cert_pem, false)?;
    if std::fs::read_to_string(ca).ok().as_deref() != Some(ca_pem) {
        write_atomically(ca, ca_pem, false)?;
    }
    Ok(files)
}

/// Writes `contents` to `path` atomically (a temporary file renamed over it), so a node that
/// reloads the file never reads half of it. `private` files get mode 0600 on Unix.
pub fn write_atomically(path: &Path, contents: &str, private: bool) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other(format!("{} names no file", path.display())))?;
    let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    let mut file = options.open(&tmp)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if private { 0o600 } else { 0o644 };
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_files_are_named_with_how_to_make_them() {
        let err = ClusterTlsFiles::default().validate().unwrap_err();
        assert!(err.contains("packyard cluster ca init"), "{err}");
        let mut files = ClusterTlsFiles::in_dir(Path::new("/etc/packyard"), "edge-eu-1");
        files.validate().unwrap();
        assert_eq!(
            files.key_file.as_deref(),
            Some(Path::new("/etc/packyard/edge-eu-1.key"))
        );
        files.reload_secs = 0;
        assert!(files.validate().unwrap_err().starts_with("reload_secs"));
    }

    #[cfg(unix)]
    #[test]
    fn private_files_are_written_whole_and_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        write_atomically(&path, "one", true).unwrap();
        write_atomically(&path, "two", true).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "the temporary file is renamed away");
    }
}
