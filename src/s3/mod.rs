//! Object storage: a run's files as objects of an S3-compatible bucket (`-o s3://bucket/prefix`)
//! and backups read back from one (`db-restore`, `verify`, `list`, `cleanup` on `s3://…`).
//! Uploads stream as multipart uploads that complete only after their last byte
//! ([`upload`]); reads are ranged GETs with read-ahead, pinned to one version of the object
//! ([`download`]).
//!
//! Credentials come from the standard AWS chain as `object_store` reads it (`AWS_*` variables,
//! web identity, container and instance credentials) and the AWS CLI's profile files
//! ([`profile`]); they never pass through this crate's own types, so they cannot reach a log, a
//! message or the metadata.

mod download;
pub mod profile;
mod upload;

pub use download::ObjectReader;
pub use upload::{ObjectWriter, abort_uploads_of_this_run, remove_finished};

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::multipart::MultipartStore;
use object_store::path::Path as Key;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
};
use sha2::{Digest, Sha256};
use tokio::runtime::Handle;
use tokio::sync::Semaphore;

use crate::error::{Error, Result};

/// The default `--s3-part-size`: large enough that request overhead stays small, small enough
/// that five of them (see [`MAX_PARTS_IN_FLIGHT`]) fit the memory budget. Past
/// [`PARTS_PER_SIZE`] parts the size grows ([`part_size_of`]), so S3's 10 000 parts
/// ([`MAX_PARTS`]) never end a long dump hours in.
pub const DEFAULT_PART_SIZE: usize = 16 << 20;
/// Parts sent at each part size before it doubles: the first 1 000 parts (16 GiB at the default
/// size) keep the memory bound of the size given; a larger object then takes parts of twice
/// the size, 1 000 at a time, up to [`MAX_PART_SIZE`]. From 5M, ten such blocks hold about 5
/// TiB, S3's largest object; from 16M, more. The memory held grows with the object only past
/// the first block (at 2 TB from 16M: parts of 1 GiB), which is what any client needs to put
/// such an object in 10 000 parts; `--s3-part-size` of about the dump's size / 5 000 avoids
/// the growth.
pub const PARTS_PER_SIZE: usize = 1_000;
/// S3 refuses parts under 5 MiB except the last one.
pub const MIN_PART_SIZE: usize = 5 << 20;
/// S3's largest part.
pub const MAX_PART_SIZE: usize = 5 << 30;
/// S3's most parts of one object: an upload that would need more fails naming the part size.
pub const MAX_PARTS: usize = 10_000;

/// The size of part `number` (from 1) of an object whose first parts are `first` bytes: doubled
/// every [`PARTS_PER_SIZE`] parts, at most [`MAX_PART_SIZE`].
pub fn part_size_of(first: usize, number: usize) -> usize {
    let doublings = (number.saturating_sub(1) / PARTS_PER_SIZE).min(20) as u32;
    first.saturating_mul(1usize << doublings).min(MAX_PART_SIZE)
}

/// Parts uploading at once, for the whole process. Memory is bounded by part size × (this +
/// one part being filled per open upload): 80 MiB at the default size for a single-file run,
/// within the 200 MB budget beside the codec's buffers. Four concurrent requests already keep
/// a link of about a gigabit busy (one S3 connection carries some 50-100 MB/s), while one
/// alone would leave it idle during each request's round trips.
pub const MAX_PARTS_IN_FLIGHT: usize = 4;

/// Retries of one request (a part, the completion, a probe) on transient errors, with
/// exponential backoff from 200 ms, at most 15 s apart: about 13 s of trying before a part
/// fails the run. Bounded, so an unreachable endpoint fails the run rather than hang it.
const RETRIES: usize = 6;
const RETRY_TIMEOUT: Duration = Duration::from_secs(120);

/// How to reach the store, from the command line (the rest comes from the AWS chain).
#[derive(Clone, Debug, Default)]
pub struct S3Options {
    /// `--s3-endpoint`; else `AWS_ENDPOINT_URL`; else AWS itself.
    pub endpoint: Option<String>,
    /// `--s3-region`; else `AWS_REGION`/`AWS_DEFAULT_REGION`; else us-east-1.
    pub region: Option<String>,
    /// `--s3-path-style`: `endpoint/bucket/key` instead of `bucket.endpoint/key`; what
    /// self-hosted stores (MinIO, Ceph RGW, Garage) usually need. Path style is also taken
    /// whenever an endpoint is given.
    pub path_style: bool,
    /// `--s3-part-size`, within [`MIN_PART_SIZE`]..=[`MAX_PART_SIZE`].
    pub part_size: usize,
    /// The process's `AWS_*` variables and `HOME`, as the binary read them.
    pub environment: AwsEnv,
}

/// The environment of the AWS credential chain: every `AWS_*` variable (keys, token, region,
/// endpoint, profile, web identity, container credentials) and `HOME` (where `~/.aws` is).
/// The binary reads it; the library reads no variable itself. Values are secrets: `Debug`
/// shows the names only, and they are zeroed when dropped.
#[derive(Clone, Default)]
pub struct AwsEnv(Vec<(String, crate::secret::Secret)>);

impl AwsEnv {
    /// The AWS variables among `vars` (the others are not kept); empty values count as unset.
    pub fn new(vars: impl IntoIterator<Item = (String, String)>) -> AwsEnv {
        AwsEnv(
            vars.into_iter()
                .filter(|(k, v)| (k.starts_with("AWS_") || k == "HOME") && !v.is_empty())
                .map(|(k, v)| (k, crate::secret::Secret::new(v)))
                .collect(),
        )
    }

    /// The value of `name`, when set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.expose())
    }
}

impl std::fmt::Debug for AwsEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, _)| k))
            .finish()
    }
}

/// True for a destination that names a bucket (`s3://…`).
pub fn is_s3(dest: &Path) -> bool {
    dest.to_str().is_some_and(|s| s.starts_with("s3://"))
}

/// One bucket and the prefix a run writes under. Its `Debug` names only the bucket, prefix and
/// endpoint: the client inside holds the credentials.
pub struct Bucket {
    store: Arc<AmazonS3>,
    name: String,
    /// Without leading or trailing `/`; may be empty.
    prefix: String,
    /// For messages: the endpoint as given, or AWS's for the region.
    endpoint: String,
    part_size: usize,
    /// Parts in flight, shared by every upload of the run ([`MAX_PARTS_IN_FLIGHT`]).
    in_flight: Arc<Semaphore>,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket")
            .field("name", &self.name)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("part_size", &self.part_size)
            .finish_non_exhaustive()
    }
}

impl Bucket {
    /// The bucket of `url` (`s3://bucket[/prefix]`), with the credentials of the AWS chain.
    /// Nothing is sent yet: [`Bucket::check_writable`] is the first request.
    pub fn open(url: &str, options: &S3Options) -> Result<Bucket> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| Error::Usage(format!("{url}: not an s3:// address")))?;
        let (name, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if name.is_empty() {
            return Err(Error::Usage(format!(
                "{url}: no bucket name; write s3://BUCKET/PREFIX"
            )));
        }
        let prefix = prefix.trim_matches('/').to_owned();
        if prefix.split('/').any(|p| p == "." || p == "..") {
            return Err(Error::Usage(format!(
                "{url}: the prefix may not hold . or .. segments"
            )));
        }
        // Every AWS_* variable, as the AWS tools read them (keys, token, region, endpoint:
        // what `AmazonS3Builder::from_env` would read, from the binary's copy); then the
        // profile files for what the environment leaves out.
        let vars = &options.environment;
        let mut builder = AmazonS3Builder::new().with_bucket_name(name);
        for (key, value) in &vars.0 {
            if let Ok(config) = key.to_ascii_lowercase().parse() {
                builder = builder.with_config(config, value.expose());
            }
        }
        let env = |v: &str| vars.get(v).map(str::to_owned);
        let profile = profile::from_environment(vars)?;
        if env("AWS_ACCESS_KEY_ID").is_none()
            && let (Some(id), Some(secret)) = (&profile.access_key_id, &profile.secret_access_key)
        {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret.expose());
            if let Some(token) = &profile.session_token {
                builder = builder.with_token(token.expose());
            }
        }
        let endpoint_given = options
            .endpoint
            .clone()
            .or_else(|| {
                ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"]
                    .iter()
                    .find_map(|v| env(v))
            })
            .or(profile.endpoint_url);
        if let Some(e) = &endpoint_given {
            builder = builder.with_endpoint(e);
        }
        let region = options
            .region
            .clone()
            .or_else(|| env("AWS_REGION"))
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .or(profile.region)
            .unwrap_or_else(|| "us-east-1".into());
        builder = builder.with_region(&region);
        let path_style = options.path_style || endpoint_given.is_some();
        // A plain-http endpoint is only ever one the operator named (a local store).
        let allow_http = endpoint_given
            .as_ref()
            .is_some_and(|e| e.starts_with("http://"));
        builder = builder
            .with_virtual_hosted_style_request(!path_style)
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(200),
                    max_backoff: Duration::from_secs(15),
                    base: 2.0,
                },
                max_retries: RETRIES,
                retry_timeout: RETRY_TIMEOUT,
            })
            // One set of client options: setting them replaces any given before.
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(allow_http)
                    .with_connect_timeout(Duration::from_secs(10)),
            );
        // For messages: an endpoint written with `user:password@` is shown without them.
        let endpoint = endpoint_given
            .as_deref()
            .map(without_userinfo)
            .unwrap_or_else(|| format!("s3.{region}.amazonaws.com"));
        install_ring();
        let store = builder.build().map_err(|e| {
            Error::Config(format!(
                "cannot set up the S3 client for bucket {name} at {endpoint}: {e}; check \
                 --s3-endpoint, --s3-region and the AWS_* variables"
            ))
        })?;
        Ok(Bucket {
            store: Arc::new(store),
            name: name.to_owned(),
            prefix,
            endpoint,
            part_size: options.part_size.clamp(MIN_PART_SIZE, MAX_PART_SIZE),
            in_flight: Arc::new(Semaphore::new(MAX_PARTS_IN_FLIGHT)),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// `s3://bucket/prefix`: the run's "directory", joined with file names like a path.
    pub fn url(&self) -> PathBuf {
        match self.prefix.as_str() {
            "" => PathBuf::from(format!("s3://{}", self.name)),
            p => PathBuf::from(format!("s3://{}/{p}", self.name)),
        }
    }

    /// The key of `url` (`s3://bucket/key`), which must be in this bucket.
    fn key(&self, url: &Path) -> Result<Key> {
        let text = url.to_string_lossy();
        let key = text
            .strip_prefix("s3://")
            .and_then(|r| r.strip_prefix(self.name.as_str()))
            .and_then(|r| r.strip_prefix('/'))
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                Error::Internal(format!("{text} is not an object of bucket {}", self.name))
            })?;
        Key::parse(key).map_err(|e| Error::Usage(format!("{text}: not a valid object key: {e}")))
    }

    /// The store's error as an `io::Error` that says what to check; a missing object keeps
    /// the kind `NotFound`, so that callers tell "no metadata" from "cannot read it".
    fn fail(&self, action: &str, e: object_store::Error) -> io::Error {
        io_error(action, &self.name, &self.endpoint, e)
    }

    /// [`Bucket::key`] for the reading side, whose errors are `io::Error`s.
    fn io_key(&self, url: &Path) -> io::Result<Key> {
        self.key(url)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
    }

    /// The size and time of the object `url` (a HEAD request).
    pub fn stat(&self, url: &Path) -> io::Result<Listed> {
        let key = self.io_key(url)?;
        let store = self.store.clone();
        let meta = wait(async move {
            match store.head(&key).await {
                // A HEAD's 404 has no body to tell a missing bucket from a missing object: a
                // GET's has.
                Err(object_store::Error::NotFound { .. }) => {
                    let probe = object_store::GetOptions {
                        range: Some(object_store::GetRange::Bounded(0..1)),
                        ..Default::default()
                    };
                    store.get_opts(&key, probe).await.map(|r| r.meta)
                }
                other => other,
            }
        })?
        .map_err(|e| self.fail("HEAD", e))?;
        Ok(self.listed(meta))
    }

    /// Every object under `dir` (`s3://bucket[/prefix]`), at any depth of its `/`-separated
    /// levels, as a recursive directory walk finds files: one listing, every page read (the
    /// store pages by 1 000).
    pub fn list_under(&self, dir: &Path) -> io::Result<Vec<Listed>> {
        // The bucket's root lists everything; any other directory is a key prefix, parsed as
        // keys are (a directory of another bucket is refused there).
        let text = dir.to_string_lossy();
        let dir = Path::new(text.trim_end_matches('/'));
        let prefix = if dir == Path::new(&format!("s3://{}", self.name)) {
            None
        } else {
            Some(self.io_key(dir)?)
        };
        let store = self.store.clone();
        let objects = wait(async move {
            use futures_util::TryStreamExt;
            store
                .list(prefix.as_ref())
                .try_collect::<Vec<object_store::ObjectMeta>>()
                .await
        })?
        .map_err(|e| self.fail("ListObjectsV2", e))?;
        Ok(objects.into_iter().map(|m| self.listed(m)).collect())
    }

    /// Deletes the object `url` (cleanup), waiting for the store's answer.
    pub fn remove(&self, url: &Path) -> io::Result<()> {
        let key = self.io_key(url)?;
        let store = self.store.clone();
        wait(async move { store.delete(&key).await })?.map_err(|e| self.fail("DELETE", e))
    }

    fn listed(&self, meta: object_store::ObjectMeta) -> Listed {
        Listed {
            url: PathBuf::from(format!("s3://{}/{}", self.name, meta.location)),
            size: meta.size,
            modified: SystemTime::from(meta.last_modified),
            e_tag: meta.e_tag,
        }
    }

    /// Fails early, before any connection to the database or lock, when the run could not
    /// write here: starts a multipart upload of a probe key and aborts it (nothing appears).
    pub async fn check_writable(&self) -> Result<()> {
        let url = self
            .url()
            .join(format!(".sfdbtools-write-test-{}", std::process::id()));
        let key = self.key(&url)?;
        let fail = |e| {
            Error::file(
                "checking that the bucket can be written with",
                url.clone(),
                e,
            )
        };
        let id = self
            .store
            .create_multipart(&key)
            .await
            .map_err(|e| fail(self.fail("starting an upload", e)))?;
        self.store
            .abort_multipart(&key, &id)
            .await
            .map_err(|e| fail(self.fail("aborting the probe upload", e)))
    }

    /// Writes a small object (the metadata) in one PUT, which S3 makes atomic: it appears
    /// whole or not at all. Blocks: called from the synchronous end of a run.
    pub fn put_whole(self: &Arc<Self>, url: &Path, content: &[u8]) -> Result<Stored> {
        // Recorded as a completion: an interrupted run waits for it, then deletes the object.
        if !upload::ledger().begin_completion(self, url) {
            return Err(Error::Stopped(format!(
                "{}: the run is stopping, not uploaded",
                url.display()
            )));
        }
        let put = self.put(url, content);
        upload::ledger().end_completion(url, put.is_ok());
        put.map_err(|e| Error::file("uploading", url.to_owned(), e))?;
        Ok(Stored {
            path: url.to_owned(),
            bytes: content.len() as u64,
            sha256: hex::encode(Sha256::digest(content)),
        })
    }

    /// Writes a small object in one PUT (atomic: whole or not at all) and waits for it; an
    /// object of that key is replaced.
    pub fn put(&self, url: &Path, content: &[u8]) -> io::Result<()> {
        let key = self.io_key(url)?;
        let store = self.store.clone();
        let payload = PutPayload::from(Bytes::copy_from_slice(content));
        wait(async move { store.put(&key, payload).await })?
            .map(|_| ())
            .map_err(|e| self.fail("PUT", e))
    }

    /// Deletes an object of this run (one completed before the run failed).
    pub async fn delete(&self, url: &Path) -> Result<()> {
        let key = self.key(url)?;
        self.store
            .delete(&key)
            .await
            .map_err(|e| Error::file("deleting", url.to_owned(), self.fail("DELETE", e)))
    }
}

/// `scheme://user:password@host…` without `user:password@`, for messages.
fn without_userinfo(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let rest = match rest[..authority_end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    match scheme {
        "" => rest.to_owned(),
        s => format!("{s}://{rest}"),
    }
}

/// The store's error `e` while doing `action` in `bucket`, as an `io::Error` that says what to
/// check; a missing object keeps the kind `NotFound`.
fn io_error(action: &str, bucket: &str, endpoint: &str, e: object_store::Error) -> io::Error {
    let classified = S3Error::classify(action, bucket, endpoint, &e);
    let kind = match classified {
        S3Error::NoSuchObject { .. } => io::ErrorKind::NotFound,
        S3Error::AccessDenied { .. } => io::ErrorKind::PermissionDenied,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, classified)
}

/// An object as this process stored it: its address, exact size and SHA-256 (what the
/// metadata records of a file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
}

/// An object as a listing or a HEAD request shows it.
#[derive(Clone, Debug)]
pub struct Listed {
    /// `s3://bucket/key`.
    pub url: PathBuf,
    pub size: u64,
    pub modified: SystemTime,
    /// The version of the content, which reads pin (`If-Match`).
    pub e_tag: Option<String>,
}

/// How to reach the buckets that inputs name (restore, verify, list and cleanup of `s3://…`):
/// set once by the binary from its flags, as `-o s3://…` takes them for a backup.
static READ_OPTIONS: Mutex<Option<S3Options>> = Mutex::new(None);
/// Buckets opened for reading, one client each for the whole process.
static READ_BUCKETS: Mutex<Vec<Arc<Bucket>>> = Mutex::new(Vec::new());

/// Sets how buckets named by `s3://` inputs are reached (endpoint, region, addressing).
pub fn configure(options: S3Options) {
    *READ_OPTIONS.lock().unwrap_or_else(|e| e.into_inner()) = Some(options);
    READ_BUCKETS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
}

/// The bucket `url` (`s3://bucket/…`) is in, opened once with the options of [`configure`].
pub fn bucket_of(url: &Path) -> io::Result<Arc<Bucket>> {
    let text = url.to_string_lossy();
    let name = text
        .strip_prefix("s3://")
        .and_then(|r| r.split('/').next())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{text}: no bucket name; write s3://BUCKET/KEY"),
            )
        })?;
    let mut opened = READ_BUCKETS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(b) = opened.iter().find(|b| b.name == name) {
        return Ok(b.clone());
    }
    let options = READ_OPTIONS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or(S3Options {
            part_size: DEFAULT_PART_SIZE,
            ..S3Options::default()
        });
    let bucket = Arc::new(
        Bucket::open(&format!("s3://{name}"), &options)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?,
    );
    opened.push(bucket.clone());
    Ok(bucket)
}

/// The runtime that reads and listings run on: two threads of its own, so that a synchronous
/// reader may wait for a request from any thread (restore's blocking pool, a worker of the
/// run's runtime, a plain thread) without `block_in_place` and whoever the caller is.
fn io_runtime() -> io::Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<std::result::Result<tokio::runtime::Runtime, String>> =
        OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("sfdb-s3")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| io::Error::other(format!("cannot start the S3 client's threads: {e}")))
}

/// Starts `f` on the I/O runtime; the receiver gets its output (std's channel: waiting on it
/// is allowed in any context).
fn start<T: Send + 'static>(
    f: impl std::future::Future<Output = T> + Send + 'static,
) -> io::Result<(std::sync::mpsc::Receiver<T>, tokio::task::AbortHandle)> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let task = io_runtime()?.spawn(async move {
        let _ = tx.send(f.await);
    });
    Ok((rx, task.abort_handle()))
}

/// Runs `f` on the I/O runtime and waits for it.
fn wait<T: Send + 'static>(
    f: impl std::future::Future<Output = T> + Send + 'static,
) -> io::Result<T> {
    start(f)?
        .0
        .recv()
        .map_err(|_| io::Error::other("an S3 request stopped without an answer"))
}

/// reqwest's rustls is built without a crypto provider (its default, aws-lc-rs, needs cmake):
/// ring, as for the database connections, becomes the process default once.
fn install_ring() {
    // Err only when a provider is installed already, which is as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The runtime the uploads run on: the one whose task or thread asks.
fn runtime(url: &Path) -> Result<Handle> {
    Handle::try_current().map_err(|_| {
        Error::Internal(format!(
            "writing {} outside the async runtime",
            url.display()
        ))
    })
}

/// Runs `f` to completion from synchronous code: on a runtime worker thread (the end of a run)
/// through `block_in_place`, so the other tasks keep their thread; on a plain thread (the
/// writer thread) directly.
fn block<F: std::future::Future>(handle: &Handle, f: F) -> F::Output {
    match Handle::try_current() {
        Ok(_) => tokio::task::block_in_place(|| handle.block_on(f)),
        Err(_) => handle.block_on(f),
    }
}

/// What went wrong with a request to the store, sorted so the message says what to check.
/// It travels as the source of an [`Error::File`] that names the object's `s3://` address.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    #[error(
        "{action}: the bucket {bucket} does not exist at {endpoint}; create it, or check the \
         bucket name and the endpoint (--s3-endpoint, AWS_ENDPOINT_URL)"
    )]
    NoSuchBucket {
        action: String,
        bucket: String,
        endpoint: String,
    },
    #[error(
        "{action}: access denied by {endpoint} ({code}); check the credentials \
         (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE) and that they are allowed \
         to use bucket {bucket}"
    )]
    AccessDenied {
        action: String,
        bucket: String,
        endpoint: String,
        code: &'static str,
    },
    #[error(
        "{action}: {endpoint} no longer knows this multipart upload (NoSuchUpload): it was \
         aborted from outside, by a lifecycle rule that aborts incomplete uploads or by another \
         tool; nothing was stored under the final key. Run the backup again, and give such \
         rules more time than a backup takes"
    )]
    UploadGone { action: String, endpoint: String },
    #[error(
        "{action}: {endpoint} answered \"not found\" without an S3 error code ({detail}): it \
         does not look like an S3 endpoint; check the host and port of --s3-endpoint or \
         AWS_ENDPOINT_URL"
    )]
    NotS3 {
        action: String,
        endpoint: String,
        detail: String,
    },
    #[error(
        "{action}: no such object in bucket {bucket} at {endpoint}; check the name (`sfdbtools \
         list s3://{bucket}/PREFIX` shows the backups under a prefix)"
    )]
    NoSuchObject {
        action: String,
        bucket: String,
        endpoint: String,
    },
    #[error(
        "{action}: the bucket {bucket} is in another region than the one asked for ({detail}); \
         give its region with --s3-region or AWS_REGION"
    )]
    WrongRegion {
        action: String,
        bucket: String,
        detail: String,
    },
    #[error(
        "{action}: cannot reach the S3 endpoint {endpoint} ({detail}); check --s3-endpoint or \
         AWS_ENDPOINT_URL, and the network"
    )]
    Unreachable {
        action: String,
        endpoint: String,
        detail: String,
    },
    #[error("{action} at {endpoint}: {detail}")]
    Other {
        action: String,
        endpoint: String,
        detail: String,
    },
}

impl S3Error {
    fn classify(action: &str, bucket: &str, endpoint: &str, e: &object_store::Error) -> S3Error {
        let mut detail = e.to_string();
        let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
        let mut connect = false;
        while let Some(s) = source {
            if let Some(h) = s.downcast_ref::<object_store::client::HttpError>() {
                connect |= matches!(
                    h.kind(),
                    object_store::client::HttpErrorKind::Connect
                        | object_store::client::HttpErrorKind::Timeout
                );
            }
            let text = s.to_string();
            if !detail.contains(&text) {
                detail = format!("{detail}: {text}");
            }
            source = s.source();
        }
        // A proxy's or a server's error page says nothing its status line does not.
        if let Some(at) = detail.to_ascii_lowercase().find("<!doctype html") {
            detail.truncate(at);
            detail = detail.trim_end().trim_end_matches(':').to_owned();
        }
        let (action, endpoint, bucket) =
            (action.to_owned(), endpoint.to_owned(), bucket.to_owned());
        let has = |code: &str| detail.contains(&format!("<Code>{code}</Code>"));
        if has("NoSuchBucket") {
            return S3Error::NoSuchBucket {
                action,
                bucket,
                endpoint,
            };
        }
        for code in [
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "AccessDenied",
            "ExpiredToken",
            "InvalidToken",
        ] {
            if has(code) {
                return S3Error::AccessDenied {
                    action,
                    bucket,
                    endpoint,
                    code,
                };
            }
        }
        if has("AuthorizationHeaderMalformed")
            || has("PermanentRedirect")
            || detail.contains("incorrectly configured region")
        {
            return S3Error::WrongRegion {
                action,
                bucket,
                detail,
            };
        }
        if has("NoSuchUpload") {
            return S3Error::UploadGone { action, endpoint };
        }
        if matches!(e, object_store::Error::NotFound { .. }) {
            // S3 says NoSuchKey in the body of a GET's 404 (a HEAD's has no body, and a GET
            // follows it, see `Bucket::stat`): a bare 404 is a web server that is not S3.
            if has("NoSuchKey") {
                return S3Error::NoSuchObject {
                    action,
                    bucket,
                    endpoint,
                };
            }
            return S3Error::NotS3 {
                action,
                endpoint,
                detail,
            };
        }
        if connect {
            return S3Error::Unreachable {
                action,
                endpoint,
                detail,
            };
        }
        S3Error::Other {
            action,
            endpoint,
            detail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_bucket_and_prefix() {
        let opts = S3Options {
            endpoint: Some("http://127.0.0.1:1".into()),
            part_size: DEFAULT_PART_SIZE,
            ..S3Options::default()
        };
        let b = Bucket::open("s3://bk/a/b/", &opts).unwrap();
        assert_eq!(b.url(), PathBuf::from("s3://bk/a/b"));
        let key = b.key(&b.url().join("x.sql.zst")).unwrap();
        assert_eq!(key.as_ref(), "a/b/x.sql.zst");
        assert!(b.key(Path::new("s3://other/x")).is_err());
        let top = Bucket::open("s3://bk", &opts).unwrap();
        assert_eq!(top.key(&top.url().join("x")).unwrap().as_ref(), "x");
        for bad in ["s3://", "s3:///p", "s3://bk/../x"] {
            assert!(
                matches!(Bucket::open(bad, &opts), Err(Error::Usage(_))),
                "{bad}"
            );
        }
        assert!(!format!("{b:?}").to_lowercase().contains("secret"));
    }

    #[test]
    fn an_endpoint_s_password_is_not_shown() {
        assert_eq!(
            without_userinfo("http://u:s3cr@t@minio:9000/x"),
            "http://minio:9000/x"
        );
        assert_eq!(without_userinfo("https://minio:9000"), "https://minio:9000");
        assert_eq!(without_userinfo("minio/a@b"), "minio/a@b");
        let opts = S3Options {
            endpoint: Some("http://user:hunter2@127.0.0.1:1".into()),
            part_size: DEFAULT_PART_SIZE,
            ..S3Options::default()
        };
        let b = Bucket::open("s3://bk", &opts).unwrap();
        assert!(!b.endpoint().contains("hunter2"));
        assert!(!format!("{b:?}").contains("hunter2"));
    }

    #[test]
    fn parts_grow_so_that_ten_thousand_hold_s3_s_largest_object() {
        assert_eq!(part_size_of(MIN_PART_SIZE, 1), MIN_PART_SIZE);
        assert_eq!(part_size_of(MIN_PART_SIZE, PARTS_PER_SIZE), MIN_PART_SIZE);
        assert_eq!(
            part_size_of(MIN_PART_SIZE, PARTS_PER_SIZE + 1),
            2 * MIN_PART_SIZE
        );
        // 16M doubled nine times is 8G: S3 takes 5G at most.
        assert_eq!(part_size_of(DEFAULT_PART_SIZE, MAX_PARTS), MAX_PART_SIZE);
        assert_eq!(part_size_of(MAX_PART_SIZE, 5_000), MAX_PART_SIZE);
        let capacity =
            |first: usize| -> u64 { (1..=MAX_PARTS).map(|n| part_size_of(first, n) as u64).sum() };
        // S3's largest object is 5 TiB; from the smallest part size, within 3 %.
        assert!(capacity(MIN_PART_SIZE) as f64 >= 0.97 * (5u64 << 40) as f64);
        assert!(capacity(DEFAULT_PART_SIZE) >= 5 << 40);
        // The size given holds for the first block: memory as documented for the common case.
        assert_eq!(
            (1..=PARTS_PER_SIZE)
                .map(|n| part_size_of(DEFAULT_PART_SIZE, n))
                .max(),
            Some(DEFAULT_PART_SIZE)
        );
    }

    #[test]
    fn the_store_s_answers_are_sorted_into_what_to_check() {
        let answer = |body: &str| object_store::Error::Generic {
            store: "S3",
            source: format!("Server returned non-2xx status code: {body}").into(),
        };
        let said = |body: &str| S3Error::classify("PUT", "bk", "http://e", &answer(body));
        assert!(matches!(
            said("404: <Error><Code>NoSuchBucket</Code></Error>"),
            S3Error::NoSuchBucket { .. }
        ));
        assert!(matches!(
            said("404: <Error><Code>NoSuchUpload</Code></Error>"),
            S3Error::UploadGone { .. }
        ));
        assert!(matches!(
            said("403: <Error><Code>SignatureDoesNotMatch</Code></Error>"),
            S3Error::AccessDenied {
                code: "SignatureDoesNotMatch",
                ..
            }
        ));
        assert!(matches!(
            said("400: <Error><Code>AuthorizationHeaderMalformed</Code></Error>"),
            S3Error::WrongRegion { .. }
        ));
        let page = said("500 Internal Server Error: <!doctype html>\n<html><h1>Oops</h1>");
        let text = page.to_string();
        assert!(text.contains("500 Internal Server Error"), "{text}");
        assert!(!text.contains("html"), "{text}");
        let missing = |body: &str| object_store::Error::NotFound {
            path: "k".into(),
            source: body.to_owned().into(),
        };
        let e = io_error(
            "GET",
            "bk",
            "http://e",
            missing("404: <Error><Code>NoSuchKey</Code></Error>"),
        );
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().contains("no such object in bucket bk"), "{e}");
        // A web server that is not S3 (a wrong port): not a missing backup.
        let e = io_error("GET", "bk", "http://e", missing("404 Not Found"));
        assert_ne!(e.kind(), io::ErrorKind::NotFound);
        assert!(
            e.to_string().contains("does not look like an S3 endpoint"),
            "{e}"
        );
    }
}
