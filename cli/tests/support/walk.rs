//! What the end-to-end tests through the `packyard` binary share (`walkthrough.rs`,
//! `uploads.rs`): `packyard` commands against one `packyard dev`, pack archives built with
//! `packyard pack build`, and a device's requests to the edge.

#![allow(dead_code, reason = "each test uses a part of it")]
#![allow(
    clippy::cast_possible_truncation,
    reason = "test archives are a few MiB"
)]

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::dev::KEY;

/// What a `packyard` command printed, and whether it succeeded.
pub(crate) struct Out {
    pub(crate) ok: bool,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Out {
    /// The trimmed stdout of a command that must succeed.
    pub(crate) fn must(self, what: &str) -> String {
        assert!(self.ok, "{what} failed:\n{}", self.stderr);
        self.stdout.trim().to_owned()
    }

    /// The stderr of a command that must fail.
    pub(crate) fn refused(self, what: &str) -> String {
        assert!(!self.ok, "{what} should fail, printed:\n{}", self.stdout);
        self.stderr
    }
}

/// Runs `packyard` commands against one server, from a folder of its own (no stray config).
pub(crate) struct Cli {
    pub(crate) dir: PathBuf,
    pub(crate) server: String,
}

impl Cli {
    pub(crate) fn run(&self, key: &str, args: &[&str]) -> Out {
        let out = Command::new(env!("CARGO_BIN_EXE_packyard"))
            .args(args)
            .current_dir(&self.dir)
            .env("PACKYARD_SERVER", &self.server)
            .env("PACKYARD_ADMIN_KEY", key)
            .env("XDG_CONFIG_HOME", &self.dir)
            .env_remove("PACKYARD_CONFIG")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        Out {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub(crate) fn admin(&self, args: &[&str]) -> Out {
        self.run(KEY, args)
    }

    pub(crate) fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        let text = self.admin(&args).must(&args.join(" "));
        serde_json::from_str(&text).unwrap()
    }
}

/// Random-looking file bytes from a seed, so archives do not compress or dedupe by accident.
pub(crate) fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// Writes a pack's files and manifest in `dir/name` and builds it with `packyard pack build`.
pub(crate) fn build_pack(
    cli: &Cli,
    name: &str,
    language: Option<&str>,
    seed: u64,
    size: usize,
) -> PathBuf {
    let src = cli.dir.join(format!("{name}-src-{seed}"));
    std::fs::create_dir_all(src.join("Textures")).unwrap();
    std::fs::write(src.join("intro.m4v"), noise(seed, size / 2)).unwrap();
    std::fs::write(src.join("Textures/stone.ktx"), noise(seed + 1, size / 2)).unwrap();
    let language = language.map_or(String::new(), |l| format!(r#", "language": "{l}""#));
    std::fs::write(
        src.join("Manifest.json"),
        format!(
            r#"{{"assetPackID": "{name}", "downloadPolicy": {{"onDemand": {{}}}},
                "fileSelectors": [{{"file": "intro.m4v"}}, {{"directory": "Textures"}}],
                "platforms": ["iOS", "macOS"]{language}}}"#
        ),
    )
    .unwrap();
    let out = cli.dir.join(format!("{name}-{seed}.tar"));
    let manifest = src.join("Manifest.json");
    cli.admin(&[
        "pack",
        "build",
        manifest.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ])
    .must("pack build");
    out
}

/// A device: asks an edge for manifests and packs.
pub(crate) struct Device {
    pub(crate) http: reqwest::Client,
    pub(crate) edge: String,
    pub(crate) app: String,
}

impl Device {
    /// The manifest of `channel` for an iOS 27 device with these languages: (status, body).
    pub(crate) async fn manifest(
        &self,
        channel: &str,
        token: Option<&str>,
        lang: &str,
    ) -> (u16, Value) {
        let url = format!(
            "{}/apps/{}/{channel}/manifest?platform=iOS&os=27.0&lang={lang}",
            self.edge, self.app
        );
        let mut request = self.http.get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `pack → version` of the packs in a manifest.
    pub(crate) async fn served(
        &self,
        channel: &str,
        token: Option<&str>,
        lang: &str,
    ) -> Vec<(String, u64)> {
        let (status, doc) = self.manifest(channel, token, lang).await;
        if status != 200 {
            return vec![("status".into(), u64::from(status))];
        }
        doc["assetPacks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["id"].as_str().unwrap().to_owned(),
                    p["version"].as_u64().unwrap(),
                )
            })
            .collect()
    }

    /// `GET /apps/{app}/{channel}/{pack}` with an optional `Range`: (status, body).
    pub(crate) async fn pack(
        &self,
        channel: &str,
        pack: &str,
        token: Option<&str>,
        range: Option<&str>,
    ) -> (u16, Vec<u8>) {
        let url = format!("{}/apps/{}/{channel}/{pack}", self.edge, self.app);
        let mut request = self.http.get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(range) = range {
            request = request.header("Range", range);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.bytes().await.unwrap().to_vec())
    }
}

pub(crate) fn pair(pack: &str, version: u64) -> (String, u64) {
    (pack.to_owned(), version)
}

pub(crate) fn track(cli: &Cli, version: &str, name: &str) -> String {
    let doc = cli.json(&["versions", "show", version]);
    doc["data"]["meta"]["tracks"][name]
        .as_str()
        .unwrap_or("-")
        .to_owned()
}
