//! Sending a file to the origin, part by part, as an upload file's `uploadOperations` say;
//! resumable: after a break, the origin's `missingParts` says which parts to send again.
//! The SHA-256 the commit carries is computed while reading, so the file is read once.

use std::io::{IsTerminal as _, Read as _, Seek as _, SeekFrom};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::client::{AdminClient, api_error};

/// How often a failed part is sent again before the upload gives up.
const PART_ATTEMPTS: u32 = 4;

/// One `PUT` the control plane asked for.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    pub(crate) url: String,
    pub(crate) offset: u64,
    pub(crate) length: u64,
    pub(crate) part: u64,
}

/// The operations of an upload-file document; an empty list when it takes no more parts.
pub(crate) fn operations(doc: &Value) -> anyhow::Result<Vec<Operation>> {
    let Some(ops) = doc["data"]["attributes"]["uploadOperations"].as_array() else {
        return Ok(Vec::new());
    };
    ops.iter()
        .map(|op| {
            let field = |name: &str| {
                op[name]
                    .as_u64()
                    .ok_or_else(|| anyhow!("upload operation without a numeric {name}: {op}"))
            };
            Ok(Operation {
                url: op["url"]
                    .as_str()
                    .ok_or_else(|| anyhow!("upload operation without a url: {op}"))?
                    .to_owned(),
                offset: field("offset")?,
                length: field("length")?,
                part: field("partNumber")?,
            })
        })
        .collect()
}

/// The origin's status URL of an upload file, from the URL of one of its parts
/// (`…/v1/uploads/{id}/parts/{n}` → `…/v1/uploads/{id}`).
pub(crate) fn status_url(part_url: &str) -> Option<&str> {
    let (base, number) = part_url.rsplit_once("/parts/")?;
    number.bytes().all(|b| b.is_ascii_digit()).then_some(base)
}

/// The parts the origin does not hold yet (all of them when it has never heard of the file).
async fn missing_parts(client: &AdminClient, ops: &[Operation]) -> anyhow::Result<Vec<u64>> {
    let all = || ops.iter().map(|op| op.part).collect();
    let Some(url) = ops.first().and_then(|op| status_url(&op.url)) else {
        return Ok(all());
    };
    let response = client
        .http()
        .get(url)
        .send()
        .await
        .with_context(|| format!("asking the origin which parts it has ({url})"))?;
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(all());
    }
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(api_error(status, &body)).context("asking the origin which parts it has");
    }
    let doc: Value = serde_json::from_str(&body).context("the origin's upload status")?;
    let missing = doc["missingParts"]
        .as_array()
        .ok_or_else(|| anyhow!("the origin's upload status has no missingParts: {doc}"))?;
    Ok(missing.iter().filter_map(Value::as_u64).collect())
}

/// Sends the parts of `file` the origin lacks; returns the file's SHA-256, hex.
pub(crate) async fn send(
    client: &AdminClient,
    file: &Path,
    size: u64,
    ops: &[Operation],
) -> anyhow::Result<String> {
    let missing = missing_parts(client, ops).await?;
    let missing_bytes: u64 = ops
        .iter()
        .filter(|op| missing.contains(&op.part))
        .map(|op| op.length)
        .sum();
    eprintln!(
        "sending {} of {} parts ({missing_bytes} of {size} bytes) of {}",
        missing.len(),
        ops.len(),
        file.display()
    );
    let mut reader =
        std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let bar = progress_bar(size, file);
    let mut hasher = Sha256::new();
    let mut hashed = 0u64;
    for op in ops {
        if op.offset != hashed {
            bail!(
                "upload operations are not contiguous: part {} starts at {} instead of {hashed}",
                op.part,
                op.offset
            );
        }
        let length = usize::try_from(op.length).context("part too large for this machine")?;
        let mut buf = vec![0u8; length];
        reader
            .seek(SeekFrom::Start(op.offset))
            .and_then(|_| reader.read_exact(&mut buf))
            .with_context(|| format!("reading part {} of {}", op.part, file.display()))?;
        hasher.update(&buf);
        hashed += op.length;
        if missing.contains(&op.part) {
            put_part(client, op, buf).await?;
        }
        if let Some(bar) = &bar {
            bar.inc(op.length);
        }
    }
    if hashed != size {
        bail!("upload operations cover {hashed} bytes, the file has {size}");
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(hex::encode(hasher.finalize()))
}

/// One part, sent again after a network error or a 5xx, with a growing pause between tries.
async fn put_part(client: &AdminClient, op: &Operation, body: Vec<u8>) -> anyhow::Result<()> {
    let body = bytes::Bytes::from(body);
    let mut attempt = 1;
    let mut delays = packyard_net::backoff(Duration::from_millis(500), Duration::from_secs(8));
    loop {
        let result = client
            .http()
            .put(&op.url)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(body.clone())
            .send()
            .await;
        let retry_reason = match result {
            Ok(response) if response.status().is_success() => return Ok(()),
            Ok(response) if response.status().is_server_error() => {
                format!("the origin answered {}", response.status())
            }
            Ok(response) => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                return Err(api_error(status, &text)).with_context(|| format!("part {}", op.part));
            }
            Err(e) => format!("{e}"),
        };
        if attempt == PART_ATTEMPTS {
            bail!(
                "part {} failed {PART_ATTEMPTS} times, last: {retry_reason}; run the same command \
                 with --resume to send only the missing parts",
                op.part
            );
        }
        tracing::debug!(part = op.part, attempt, %retry_reason, "sending the part again");
        tokio::time::sleep(delays.next().unwrap_or(Duration::from_secs(8))).await;
        attempt += 1;
    }
}

fn progress_bar(size: u64, file: &Path) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(size);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    bar.set_message(
        file.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    Some(bar)
}

/// The `PATCH` that commits an upload file with its checksum.
pub(crate) fn commit_body(file_id: &str, sha256: &str) -> Value {
    json!({"data": {"type": "backgroundAssetUploadFiles", "id": file_id, "attributes": {
        "uploaded": true,
        "sourceFileChecksums": {"file": {"hash": sha256, "algorithm": "SHA_256"}}}}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_url_is_the_part_url_without_its_part() {
        assert_eq!(
            status_url("http://o:7200/v1/uploads/f1/parts/12"),
            Some("http://o:7200/v1/uploads/f1")
        );
        assert_eq!(status_url("http://o:7200/v1/uploads/f1/parts/x"), None);
        assert_eq!(status_url("http://o:7200/v1/uploads/f1"), None);
    }

    #[test]
    fn operations_are_read_from_the_document_and_bad_ones_named() {
        let doc = json!({"data": {"attributes": {"uploadOperations": [
            {"url": "http://o/v1/uploads/f/parts/1", "offset": 0, "length": 4, "partNumber": 1}
        ]}}});
        let ops = operations(&doc).unwrap();
        assert_eq!((ops[0].offset, ops[0].length, ops[0].part), (0, 4, 1));
        let committed = json!({"data": {"attributes": {"uploadOperations": null}}});
        assert!(operations(&committed).unwrap().is_empty());
        let bad =
            json!({"data": {"attributes": {"uploadOperations": [{"url": "u", "offset": 0}]}}});
        let e = operations(&bad).unwrap_err().to_string();
        assert!(e.contains("length"), "{e}");
    }
}
