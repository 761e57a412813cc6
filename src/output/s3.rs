//! The object destination: a run's files as objects of an S3-compatible bucket (`-o
//! s3://bucket/prefix`), each streamed with a multipart upload that completes only after its
//! last byte, so an object appears under its final key whole or not at all.
//!
//! Credentials come from the standard AWS chain as `object_store` reads it (`AWS_*` variables,
//! web identity, container and instance credentials); they never pass through this crate's
//! own types, so they cannot reach a log, a message or the metadata.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as Key;
use object_store::{BackoffConfig, ClientOptions, ObjectStoreExt, PutPayload, RetryConfig};
use sha2::{Digest, Sha256};
use tokio::runtime::Handle;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use super::file::FileSummary;
use crate::error::{Error, Result};

/// The default `--s3-part-size`: large enough that request overhead stays small, small enough
/// that five of them (see [`MAX_PARTS_IN_FLIGHT`]) fit the memory budget. S3's 10 000 parts
/// ([`MAX_PARTS`]) then cap an object at 160 GiB: a larger dump needs a larger part size
/// (256M for 2.5 TiB), and fails saying so when it crosses the cap.
pub const DEFAULT_PART_SIZE: usize = 16 << 20;
/// S3 refuses parts under 5 MiB except the last one.
pub const MIN_PART_SIZE: usize = 5 << 20;
/// S3's largest part.
pub const MAX_PART_SIZE: usize = 5 << 30;
/// S3's most parts of one object: an upload that would need more fails naming the part size.
pub const MAX_PARTS: usize = 10_000;

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
                "-o {url}: no bucket name; write s3://BUCKET/PREFIX"
            )));
        }
        let prefix = prefix.trim_matches('/').to_owned();
        if prefix.split('/').any(|p| p == "." || p == "..") {
            return Err(Error::Usage(format!(
                "-o {url}: the prefix may not hold . or .. segments"
            )));
        }
        // Every AWS_* variable, as the AWS tools read them (keys, token, region, endpoint);
        // then the profile files for what the environment leaves out.
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(name);
        let env = |v: &str| std::env::var(v).ok().filter(|s| !s.is_empty());
        let profile = super::aws_profile::from_environment()?;
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
        let endpoint = endpoint_given.unwrap_or_else(|| format!("s3.{region}.amazonaws.com"));
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

    fn fail(&self, action: &str, e: object_store::Error) -> io::Error {
        io::Error::other(S3Error::classify(action, &self.name, &self.endpoint, &e))
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
    pub fn put_whole(self: &Arc<Self>, url: &Path, content: &[u8]) -> Result<FileSummary> {
        let key = self.key(url)?;
        let handle = runtime(url)?;
        let payload = PutPayload::from(Bytes::copy_from_slice(content));
        block(&handle, self.store.put(&key, payload))
            .map_err(|e| Error::file("uploading", url.to_owned(), self.fail("PUT", e)))?;
        finished().push((self.clone(), url.to_owned()));
        Ok(FileSummary {
            path: url.to_owned(),
            bytes: content.len() as u64,
            sha256: hex::encode(Sha256::digest(content)),
        })
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

/// Multipart uploads open in this process, and the objects it completed: a run that fails or
/// is interrupted aborts the first and deletes the second ([`abort_uploads_of_this_run`]).
type Open = (Arc<Bucket>, PathBuf, object_store::MultipartId);
static OPEN_UPLOADS: Mutex<Vec<Open>> = Mutex::new(Vec::new());
static FINISHED_OBJECTS: Mutex<Vec<(Arc<Bucket>, PathBuf)>> = Mutex::new(Vec::new());

fn open_uploads() -> std::sync::MutexGuard<'static, Vec<Open>> {
    OPEN_UPLOADS.lock().unwrap_or_else(|e| e.into_inner())
}

fn finished() -> std::sync::MutexGuard<'static, Vec<(Arc<Bucket>, PathBuf)>> {
    FINISHED_OBJECTS.lock().unwrap_or_else(|e| e.into_inner())
}

fn forget_upload(url: &Path) {
    open_uploads().retain(|(_, u, _)| u != url);
}

/// For the signal handler of a run that did not complete: aborts every open upload (its parts
/// are freed, nothing appears) and deletes every object this process completed, then the key
/// of each aborted upload too, in case its completion raced the abort. Returns how many
/// objects and uploads there were.
pub async fn abort_uploads_of_this_run() -> usize {
    let open = std::mem::take(&mut *open_uploads());
    let done = std::mem::take(&mut *finished());
    for (bucket, url, id) in &open {
        if let Ok(key) = bucket.key(url) {
            let _ = bucket.store.abort_multipart(&key, id).await;
        }
    }
    let keys = open
        .iter()
        .map(|(b, u, _)| (b, u))
        .chain(done.iter().map(|(b, u)| (b, u)));
    for (bucket, url) in keys {
        let _ = bucket.delete(url).await;
    }
    open.len() + done.len()
}

/// Removes `url`, an object this run completed, when the run fails after all. False when it is
/// not one of them (then it is a file).
pub fn remove_finished(url: &Path) -> bool {
    let found = {
        let mut done = finished();
        let at = done.iter().position(|(_, u)| u == url);
        at.map(|i| done.remove(i).0)
    };
    let Some(bucket) = found else {
        return false;
    };
    if let Ok(handle) = runtime(url) {
        let _ = block(&handle, bucket.delete(url));
    }
    true
}

/// One part being uploaded: its number (from 1), first byte, and the request.
struct Sending {
    number: usize,
    offset: u64,
    task: JoinHandle<object_store::Result<PartId>>,
}

/// One object written as a stream: bytes gather into a part of the bucket's part size, each
/// full part is sent while the next fills, and [`ObjectWriter::finish`] sends the last one
/// and completes the upload. Dropped unfinished, it aborts the upload: no object, no parts
/// left stored.
pub struct ObjectWriter {
    bucket: Arc<Bucket>,
    url: PathBuf,
    key: Key,
    id: object_store::MultipartId,
    handle: Handle,
    part: Vec<u8>,
    sending: std::collections::VecDeque<Sending>,
    parts: Vec<PartId>,
    hasher: Sha256,
    bytes: u64,
    done: bool,
}

impl ObjectWriter {
    /// Starts the multipart upload of `url` (so a refused bucket shows before any row is read).
    pub fn create(bucket: &Arc<Bucket>, url: &Path) -> Result<ObjectWriter> {
        let key = bucket.key(url)?;
        let handle = runtime(url)?;
        let id = block(&handle, bucket.store.create_multipart(&key)).map_err(|e| {
            Error::file(
                "starting the upload of",
                url.to_owned(),
                bucket.fail("CreateMultipartUpload", e),
            )
        })?;
        open_uploads().push((bucket.clone(), url.to_owned(), id.clone()));
        Ok(ObjectWriter {
            bucket: bucket.clone(),
            url: url.to_owned(),
            key,
            id,
            handle,
            part: Vec::new(),
            sending: Default::default(),
            parts: Vec::new(),
            hasher: Sha256::new(),
            bytes: 0,
            done: false,
        })
    }

    /// Sends the part gathered so far: waits for a slot among the parts in flight, and
    /// collects the parts that are done meanwhile (a failed one fails the write now).
    fn send_part(&mut self) -> io::Result<()> {
        let number = self.parts.len() + self.sending.len() + 1;
        if number > MAX_PARTS {
            return Err(io::Error::other(format!(
                "{} needs more than {MAX_PARTS} parts of {} bytes; give a larger --s3-part-size",
                self.url.display(),
                self.bucket.part_size
            )));
        }
        let part = Bytes::from(std::mem::take(&mut self.part));
        let offset = self.bytes - part.len() as u64;
        let permit: OwnedSemaphorePermit =
            block(&self.handle, self.bucket.in_flight.clone().acquire_owned())
                .map_err(|_| io::Error::other("the upload slots were closed"))?;
        let (store, key, id) = (self.bucket.store.clone(), self.key.clone(), self.id.clone());
        let task = self.handle.spawn(async move {
            let _permit = permit;
            store
                .put_part(&key, &id, number - 1, PutPayload::from(part))
                .await
        });
        self.sending.push_back(Sending {
            number,
            offset,
            task,
        });
        while self.sending.front().is_some_and(|s| s.task.is_finished()) {
            self.collect_one()?;
        }
        Ok(())
    }

    /// Waits for the oldest part in flight and records it.
    fn collect_one(&mut self) -> io::Result<()> {
        let Some(s) = self.sending.pop_front() else {
            return Ok(());
        };
        let result = block(&self.handle, s.task).map_err(|e| {
            io::Error::other(format!("the upload of part {} stopped: {e}", s.number))
        })?;
        let part = result.map_err(|e| {
            let action = format!("uploading part {} (from byte {})", s.number, s.offset);
            self.bucket.fail(&action, e)
        })?;
        self.parts.push(part);
        Ok(())
    }

    /// Sends the last part, waits for every part, and completes the upload: only now does the
    /// object exist under its key.
    pub fn finish(mut self) -> io::Result<FileSummary> {
        // S3 takes an empty last part only as the sole one: an empty object.
        if !self.part.is_empty() || self.parts.len() + self.sending.len() == 0 {
            self.send_part()?;
        }
        while !self.sending.is_empty() {
            self.collect_one()?;
        }
        let parts = std::mem::take(&mut self.parts);
        let store = self.bucket.store.clone();
        block(
            &self.handle,
            store.complete_multipart(&self.key, &self.id, parts),
        )
        .map_err(|e| self.bucket.fail("CompleteMultipartUpload", e))?;
        self.done = true;
        forget_upload(&self.url);
        finished().push((self.bucket.clone(), self.url.clone()));
        Ok(FileSummary {
            path: self.url.clone(),
            bytes: self.bytes,
            sha256: hex::encode(std::mem::take(&mut self.hasher).finalize()),
        })
    }
}

impl Write for ObjectWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let size = self.bucket.part_size;
        if self.part.capacity() == 0 {
            self.part.reserve_exact(size);
        }
        let n = buf.len().min(size - self.part.len());
        self.part.extend_from_slice(&buf[..n]);
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        if self.part.len() == size {
            self.send_part()?;
        }
        Ok(n)
    }

    /// Parts go out when full; a flush does not cut one short (S3 wants 5 MiB at least).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for ObjectWriter {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        for s in self.sending.drain(..) {
            s.task.abort();
        }
        let store = self.bucket.store.clone();
        let _ = block(&self.handle, store.abort_multipart(&self.key, &self.id));
        forget_upload(&self.url);
    }
}

/// What went wrong with a request to the store, sorted so the message says what to check.
/// It travels as the source of an [`Error::File`] that names the object's `s3://` address.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    #[error(
        "{action}: the bucket {bucket} does not exist at {endpoint}; create it, or check the \
         bucket name in -o and the endpoint (--s3-endpoint, AWS_ENDPOINT_URL)"
    )]
    NoSuchBucket {
        action: String,
        bucket: String,
        endpoint: String,
    },
    #[error(
        "{action}: access denied by {endpoint} ({code}); check the credentials \
         (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE) and that they may write \
         to bucket {bucket}"
    )]
    AccessDenied {
        action: String,
        bucket: String,
        endpoint: String,
        code: &'static str,
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
}
