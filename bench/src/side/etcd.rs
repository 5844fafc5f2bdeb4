//! [`EtcdCluster`]: three or five etcd members started by the benchmark on free ports (fsync on, as
//! etcd always does), and [`EtcdPut`]: puts through etcd's HTTP/JSON gateway
//! (`POST /v3/kv/put`, keys and values in base64), so the same HTTP client loads both sides.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderValue, Method, header};

use super::http_call::call;
use super::proc::{ChildProc, free_addr, wait_until};
use crate::error::BenchError;
use crate::load::client::Server;
use crate::load::workload::{Expect, Planned, RequestSource};
use crate::noise::Noise;

/// A running etcd cluster of three or five members.
#[derive(Debug)]
pub struct EtcdCluster {
    /// The members' client listeners.
    pub clients: Vec<Server>,
    procs: Vec<ChildProc>,
}

impl EtcdCluster {
    /// Starts `members` members of `bin`, data under `dir`, pinned to `cpus`; waits until a
    /// put through the first member commits.
    pub async fn start(
        bin: &Path,
        dir: &Path,
        cpus: Option<&str>,
        members: usize,
    ) -> Result<Self, BenchError> {
        std::fs::create_dir_all(dir).map_err(|e| BenchError::Io {
            action: "create",
            path: dir.to_path_buf(),
            source: e,
        })?;
        let mut peers = Vec::new();
        let mut clients = Vec::new();
        for _ in 0..members {
            peers.push(free_addr()?);
            clients.push(free_addr()?);
        }
        let initial: Vec<String> = peers
            .iter()
            .enumerate()
            .map(|(i, p)| format!("e{}=http://{p}", i + 1))
            .collect();
        let initial = initial.join(",");
        let mut procs = Vec::new();
        for i in 0..members {
            let name = format!("e{}", i + 1);
            let args: Vec<OsString> = [
                "--name".to_owned(),
                name.clone(),
                "--data-dir".to_owned(),
                dir.join(&name).display().to_string(),
                "--listen-client-urls".to_owned(),
                format!("http://{}", clients[i]),
                "--advertise-client-urls".to_owned(),
                format!("http://{}", clients[i]),
                "--listen-peer-urls".to_owned(),
                format!("http://{}", peers[i]),
                "--initial-advertise-peer-urls".to_owned(),
                format!("http://{}", peers[i]),
                "--initial-cluster".to_owned(),
                initial.clone(),
                "--initial-cluster-token".to_owned(),
                "packyard-bench".to_owned(),
                "--initial-cluster-state".to_owned(),
                "new".to_owned(),
                "--logger".to_owned(),
                "zap".to_owned(),
                "--log-level".to_owned(),
                "warn".to_owned(),
            ]
            .into_iter()
            .map(OsString::from)
            .collect();
            procs.push(ChildProc::spawn(
                &format!("etcd-{name}"),
                bin,
                &args,
                &[],
                cpus,
                dir,
            )?);
        }
        let clients: Vec<Server> = clients
            .into_iter()
            .map(|addr| Server {
                addr,
                authority: addr.to_string(),
            })
            .collect();
        let url = format!("http://{}/v3/kv/put", clients[0].authority);
        let body = Bytes::from(put_body("ready", b"1"));
        let mut refs: Vec<&mut ChildProc> = procs.iter_mut().collect();
        wait_until(
            "etcd commits a put",
            Duration::from_secs(60),
            &mut refs,
            || {
                let (url, body) = (url.clone(), body.clone());
                async move {
                    matches!(
                        call(Method::POST, &url, None, body, true).await,
                        Ok((200, _))
                    )
                }
            },
        )
        .await?;
        Ok(Self { clients, procs })
    }

    /// The members' process ids.
    pub fn pids(&self) -> Vec<u32> {
        self.procs.iter().filter_map(ChildProc::pid).collect()
    }
}

/// The JSON of a put of `key` = `value`.
pub fn put_body(key: &str, value: &[u8]) -> String {
    format!(
        r#"{{"key":"{}","value":"{}"}}"#,
        STANDARD.encode(key.as_bytes()),
        STANDARD.encode(value)
    )
}

/// Puts of `value_len` random bytes under `bench/<ticket>`: a new key per request.
#[derive(Debug, Clone)]
pub struct EtcdPut {
    /// Bytes per value.
    pub value_len: usize,
}

impl RequestSource for EtcdPut {
    fn plan(&self, ticket: u64, noise: &mut Noise) -> Planned {
        Planned {
            method: Method::POST,
            path: "/v3/kv/put".into(),
            headers: vec![(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body: Bytes::from(put_body(
                &format!("bench/{ticket:012}"),
                &noise.bytes(self.value_len),
            )),
            expect: Expect::Status(200),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn puts_are_base64_json_with_a_key_per_ticket() {
        assert_eq!(put_body("k", b"v"), r#"{"key":"aw==","value":"dg=="}"#);
        let put = EtcdPut { value_len: 300 };
        let mut noise = Noise::new(1);
        let a = put.plan(7, &mut noise);
        let b = put.plan(8, &mut noise);
        assert_ne!(a.body, b.body);
        let v: serde_json::Value = serde_json::from_slice(&a.body).expect("json");
        let key = STANDARD
            .decode(v["key"].as_str().expect("key"))
            .expect("base64");
        assert_eq!(key, b"bench/000000000007");
        let value = STANDARD
            .decode(v["value"].as_str().expect("value"))
            .expect("base64");
        assert_eq!(value.len(), 300);
        assert_eq!(a.expect, Expect::Status(200));
    }
}
