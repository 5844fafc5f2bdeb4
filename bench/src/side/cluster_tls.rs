//! [`issue`]: the cluster certificates the Packyard processes of a run present to each other,
//! made as `packyard cluster ca init` and `cert issue` make them, in one folder the processes
//! find through `PACKYARD_CLUSTER_TLS_DIR`.

use std::path::{Path, PathBuf};

use packyard_net::cluster::{
    CertRequest, ClusterCa, DEFAULT_CA_VALIDITY, DEFAULT_CERT_VALIDITY, Identity, NodeRole,
    Validity, write_node_files,
};

use crate::BenchError;

/// A new CA and a certificate per `(role, id)` in `dir/cluster-tls`; returns that folder.
pub fn issue(dir: &Path, nodes: &[(NodeRole, &str)]) -> Result<PathBuf, BenchError> {
    let setup = |e: &dyn std::fmt::Display| BenchError::Setup(format!("cluster certificates: {e}"));
    let tls = dir.join("cluster-tls");
    let validity = Validity::starting_now(DEFAULT_CA_VALIDITY).map_err(|e| setup(&e))?;
    let ca = ClusterCa::generate("packyard-bench CA", validity).map_err(|e| setup(&e))?;
    for (role, id) in nodes {
        let identity = Identity::new(*role, *id).map_err(|e| setup(&e))?;
        let request = CertRequest::new(identity, DEFAULT_CERT_VALIDITY).map_err(|e| setup(&e))?;
        let cert = ca.issue(&request).map_err(|e| setup(&e))?;
        write_node_files(&tls, ca.cert_pem(), &request.identity, &cert).map_err(|e| setup(&e))?;
    }
    Ok(tls)
}
