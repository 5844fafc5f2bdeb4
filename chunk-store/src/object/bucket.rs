//! [`Bucket`]: one S3-compatible bucket (or a prefix of one), called synchronously.
//!
//! The S3 client (`object_store`, its `AmazonS3`) is async; chunk stores block. A bucket owns
//! a small runtime its requests run on, and its methods wait for them, so it can be called
//! from any thread: a blocking task, a test, a command. Keys are relative to the prefix.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ClientOptions, GetOptions, GetRange, ObjectStore, PutPayload, RetryConfig};

use super::config::ObjectStoreConfig;
use crate::ChunkStoreError;

/// An object's size and when it was last written, as the store reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Its key, relative to the bucket's prefix.
    pub key: String,
    /// Its size in bytes.
    pub len: u64,
    /// When it was last written (the store's clock, to the second on most stores).
    pub written: SystemTime,
}

/// A bucket of an S3-compatible store, or a prefix of one.
pub struct Bucket {
    /// One client per endpoint: any node of a distributed store serves the whole bucket.
    stores: Vec<Arc<dyn ObjectStore>>,
    /// The endpoint that answered last, tried first.
    current: AtomicUsize,
    prefix: String,
    name: Arc<str>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl fmt::Debug for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bucket").field("name", &self.name).finish()
    }
}

impl Drop for Bucket {
    fn drop(&mut self) {
        // A runtime dropped in an async context would panic waiting for its threads; the
        // requests it still runs have no one waiting for them.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Bucket {
    /// Connects to the bucket `config` names. Nothing is sent yet: a wrong endpoint or
    /// credentials show at the first request (see [`check`](Self::check)).
    pub fn open(config: &ObjectStoreConfig) -> Result<Self, ChunkStoreError> {
        let name: Arc<str> = config.describe().into();
        let unavailable = |detail: String| ChunkStoreError::Unavailable {
            store: name.to_string(),
            action: "configuring the client for",
            detail,
        };
        let credentials = config
            .credentials()
            .map_err(|e| unavailable(e.to_string()))?;
        let options = ClientOptions::new()
            .with_allow_http(config.endpoints().iter().any(|e| e.starts_with("http://")))
            .with_connect_timeout(Duration::from_secs(config.connect_timeout_secs))
            .with_timeout(Duration::from_secs(config.request_timeout_secs));
        let retry = RetryConfig {
            max_retries: config.max_retries,
            retry_timeout: Duration::from_secs(config.request_timeout_secs),
            ..RetryConfig::default()
        };
        let mut stores: Vec<Arc<dyn ObjectStore>> = Vec::new();
        let endpoints = config.endpoints();
        for endpoint in endpoints
            .iter()
            .map(Some)
            .chain(endpoints.is_empty().then_some(None))
        {
            let mut builder = AmazonS3Builder::new()
                .with_bucket_name(&config.bucket)
                .with_region(&config.region)
                .with_access_key_id(&credentials.access_key_id)
                .with_secret_access_key(&credentials.secret_access_key)
                .with_virtual_hosted_style_request(config.virtual_hosted_style)
                .with_client_options(options.clone())
                .with_retry(retry.clone());
            if let Some(endpoint) = endpoint {
                builder = builder.with_endpoint(*endpoint);
            }
            stores.push(Arc::new(
                builder.build().map_err(|e| unavailable(e.to_string()))?,
            ));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("packyard-s3")
            .enable_all()
            .build()
            .map_err(|e| unavailable(e.to_string()))?;
        Ok(Self {
            stores,
            current: AtomicUsize::new(0),
            prefix: config.prefix.trim_matches('/').to_owned(),
            name,
            runtime: Some(runtime),
        })
    }

    /// The same bucket under a further prefix (`sub` joined to this one's with `/`).
    pub fn scoped(config: &ObjectStoreConfig, sub: &str) -> Result<Self, ChunkStoreError> {
        let mut config = config.clone();
        config.prefix = join(config.prefix.trim_matches('/'), sub);
        Self::open(&config)
    }

    /// What the bucket is, for errors and logs: `s3 bucket B at ENDPOINT[/PREFIX]`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Lists one key, proving the endpoint, the credentials and the bucket are right.
    pub fn check(&self) -> Result<(), ChunkStoreError> {
        self.list_keys("", None, Some(1)).map(drop)
    }

    fn path(&self, key: &str) -> Path {
        Path::from(join(&self.prefix, key))
    }

    fn error(&self, action: &'static str, e: object_store::Error) -> ChunkStoreError {
        ChunkStoreError::Unavailable {
            store: self.name.to_string(),
            action,
            detail: e.to_string(),
        }
    }

    /// Runs `future` on the bucket's runtime and waits for it, from any thread.
    fn wait<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let runtime = self.runtime.as_ref().expect("the runtime lives until drop");
        runtime.spawn(async move {
            let _ = tx.send(future.await);
        });
        rx.recv()
            .expect("the bucket's runtime runs every request to its end")
    }

    /// Runs `op` against the endpoint that answered last; when it fails, against the next
    /// ones in turn, and remembers the one that answered.
    fn call<T, F, Fut>(&self, op: F) -> Result<T, object_store::Error>
    where
        F: Fn(Arc<dyn ObjectStore>) -> Fut,
        Fut: Future<Output = Result<T, object_store::Error>> + Send + 'static,
        T: Send + 'static,
    {
        let first = self.current.load(Ordering::Relaxed);
        let mut last = None;
        for k in 0..self.stores.len() {
            let i = (first + k) % self.stores.len();
            match self.wait(op(self.stores[i].clone())) {
                Ok(answer) => {
                    self.current.store(i, Ordering::Relaxed);
                    return Ok(answer);
                }
                Err(e @ object_store::Error::NotFound { .. }) => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("a bucket has at least one endpoint"))
    }

    /// Writes `bytes` as `key`, replacing any object there.
    pub fn put(&self, key: &str, bytes: Bytes) -> Result<(), ChunkStoreError> {
        let path = self.path(key);
        self.call(|store| {
            let (path, payload) = (path.clone(), PutPayload::from_bytes(bytes.clone()));
            async move { store.put(&path, payload).await }
        })
        .map(drop)
        .map_err(|e| self.error("writing to", e))
    }

    /// The bytes of `key`; `None` if there is no such object.
    pub fn get(&self, key: &str) -> Result<Option<Bytes>, ChunkStoreError> {
        let path = self.path(key);
        let got = self.call(|store| {
            let path = path.clone();
            async move {
                match store.get(&path).await {
                    Ok(result) => result.bytes().await.map(Some),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(e),
                }
            }
        });
        got.map_err(|e| self.error("reading from", e))
    }

    /// The bytes `range` of `key`; `None` if there is no such object.
    pub fn get_range(
        &self,
        key: &str,
        range: std::ops::Range<u64>,
    ) -> Result<Option<Bytes>, ChunkStoreError> {
        self.get_with(key, GetRange::Bounded(range))
    }

    /// The last `len` bytes of `key` (all of it, if shorter); `None` if there is no such
    /// object.
    pub fn get_last(&self, key: &str, len: u64) -> Result<Option<Bytes>, ChunkStoreError> {
        self.get_with(key, GetRange::Suffix(len))
    }

    fn get_with(&self, key: &str, range: GetRange) -> Result<Option<Bytes>, ChunkStoreError> {
        let path = self.path(key);
        let got = self.call(|store| {
            let (path, range) = (path.clone(), range.clone());
            async move {
                let options = GetOptions {
                    range: Some(range),
                    ..GetOptions::default()
                };
                match store.get_opts(&path, options).await {
                    Ok(result) => result.bytes().await.map(Some),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(e),
                }
            }
        });
        got.map_err(|e| self.error("reading from", e))
    }

    /// The size and write time of `key`; `None` if there is no such object.
    pub fn head(&self, key: &str) -> Result<Option<ObjectInfo>, ChunkStoreError> {
        let path = self.path(key);
        let headed = self.call(|store| {
            let path = path.clone();
            async move { store.head(&path).await }
        });
        match headed {
            Ok(meta) => Ok(Some(ObjectInfo {
                key: key.to_owned(),
                len: meta.size,
                written: meta.last_modified.into(),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error("reading from", e)),
        }
    }

    /// Deletes `key`. Deleting an absent object is not an error (S3 does not tell).
    pub fn delete(&self, key: &str) -> Result<(), ChunkStoreError> {
        let path = self.path(key);
        let deleted = self.call(|store| {
            let path = path.clone();
            async move { store.delete(&path).await }
        });
        match deleted {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error("deleting from", e)),
        }
    }

    /// Every object whose key starts with `dir/` (or every object, for `""`), with keys
    /// relative to the bucket's prefix.
    pub fn list(&self, dir: &str) -> Result<Vec<ObjectInfo>, ChunkStoreError> {
        self.list_keys(dir, None, None)
    }

    /// Every object under `dir/` whose name there sorts after `after`.
    pub fn list_after(&self, dir: &str, after: &str) -> Result<Vec<ObjectInfo>, ChunkStoreError> {
        self.list_keys(dir, Some(after), None)
    }

    fn list_keys(
        &self,
        dir: &str,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<ObjectInfo>, ChunkStoreError> {
        use futures_util::StreamExt as _;
        let root = join(&self.prefix, dir);
        let strip = if self.prefix.is_empty() {
            0
        } else {
            self.prefix.len() + 1
        };
        let offset = after.map(|after| Path::from(join(&root, after)));
        let listed = self.call(|store| {
            let (root, offset) = (root.clone(), offset.clone());
            async move {
                let path = (!root.is_empty()).then(|| Path::from(root));
                let mut stream = match &offset {
                    Some(offset) => store.list_with_offset(path.as_ref(), offset),
                    None => store.list(path.as_ref()),
                };
                let mut found = Vec::new();
                while let Some(meta) = stream.next().await {
                    let meta = meta?;
                    let key = meta
                        .location
                        .as_ref()
                        .get(strip..)
                        .unwrap_or_default()
                        .to_owned();
                    found.push(ObjectInfo {
                        key,
                        len: meta.size,
                        written: meta.last_modified.into(),
                    });
                    if limit.is_some_and(|limit| found.len() >= limit) {
                        break;
                    }
                }
                Ok(found)
            }
        });
        listed.map_err(|e| self.error("listing", e))
    }
}

/// `a/b` from `a` and `b`, either of which may be empty.
fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_owned(),
        (_, true) => a.to_owned(),
        _ => format!("{a}/{b}"),
    }
}
