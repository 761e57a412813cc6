//! Writing one object as a stream: a multipart upload whose parts go out while the next fills,
//! completed only after the last byte, aborted when dropped unfinished; and the record of this
//! process's uploads that a failed or interrupted run undoes.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use object_store::PutPayload;
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as Key;
use sha2::{Digest, Sha256};
use tokio::runtime::Handle;
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::JoinHandle;

use super::{Bucket, MAX_PARTS, PARTS_PER_SIZE, Stored, block, part_size_of, runtime};
use crate::error::{Error, Result};

/// What this process has under way in buckets, so that a run that fails or is interrupted can
/// undo it ([`abort_uploads_of_this_run`]): uploads open (aborted then), uploads being completed
/// (waited for, then deleted: a completion cannot be called back once sent), objects completed
/// (deleted). Once `stopping`, no upload is completed any more.
#[derive(Default)]
pub(super) struct Ledger {
    open: Vec<Open>,
    completing: Vec<Done>,
    pub(super) finished: Vec<Done>,
    stopping: bool,
}

type Open = (Arc<Bucket>, PathBuf, object_store::MultipartId);
type Done = (Arc<Bucket>, PathBuf);

static LEDGER: Mutex<Ledger> = Mutex::new(Ledger {
    open: Vec::new(),
    completing: Vec::new(),
    finished: Vec::new(),
    stopping: false,
});

pub(super) fn ledger() -> std::sync::MutexGuard<'static, Ledger> {
    LEDGER.lock().unwrap_or_else(|e| e.into_inner())
}

impl Ledger {
    fn forget(&mut self, url: &Path) {
        self.open.retain(|(_, u, _)| u != url);
    }

    /// The upload of `url` is about to be completed: false when the run is stopping (then
    /// it must not be).
    pub(super) fn begin_completion(&mut self, bucket: &Arc<Bucket>, url: &Path) -> bool {
        if self.stopping {
            return false;
        }
        self.forget(url);
        self.completing.push((bucket.clone(), url.to_owned()));
        true
    }

    /// The completion of `url` has answered; when it succeeded the object exists.
    pub(super) fn end_completion(&mut self, url: &Path, completed: bool) {
        if let Some(at) = self.completing.iter().position(|(_, u)| u == url) {
            let done = self.completing.remove(at);
            if completed {
                self.finished.push(done);
            }
        }
    }

    /// The run stops: no completion from now on; the open uploads and the objects completed
    /// so far, to undo.
    fn stop(&mut self) -> (Vec<Open>, Vec<Done>) {
        self.stopping = true;
        (
            std::mem::take(&mut self.open),
            std::mem::take(&mut self.finished),
        )
    }

    /// Objects completed since, and whether completions are still under way.
    fn completed_since(&mut self) -> (Vec<Done>, bool) {
        (
            std::mem::take(&mut self.finished),
            !self.completing.is_empty(),
        )
    }
}

/// How often an interrupted run looks whether the completions under way have answered.
const COMPLETION_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// For the signal handler of a run that did not complete: aborts every open upload (its parts
/// are freed, nothing appears), deletes every object this process completed, then waits for
/// the completions already sent and deletes what they made. The key of each aborted upload is
/// deleted too, in case its completion raced the abort. Returns how many objects and uploads
/// there were. The caller bounds how long it may take.
pub async fn abort_uploads_of_this_run() -> usize {
    let (open, done) = ledger().stop();
    for (bucket, url, id) in &open {
        if let Ok(key) = bucket.key(url) {
            let _ = bucket.store.abort_multipart(&key, id).await;
        }
    }
    let mut undone = open.len() + done.len();
    let keys = open
        .iter()
        .map(|(b, u, _)| (b, u))
        .chain(done.iter().map(|(b, u)| (b, u)));
    for (bucket, url) in keys {
        let _ = bucket.delete(url).await;
    }
    loop {
        let (done, busy) = ledger().completed_since();
        undone += done.len();
        for (bucket, url) in &done {
            let _ = bucket.delete(url).await;
        }
        if !busy {
            return undone;
        }
        tokio::time::sleep(COMPLETION_POLL).await;
    }
}

/// Removes `url`, an object this run completed, when the run fails after all. False when it is
/// not one of them (then it is a file).
pub fn remove_finished(url: &Path) -> bool {
    let found = {
        let done = &mut ledger().finished;
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
        ledger()
            .open
            .push((bucket.clone(), url.to_owned(), id.clone()));
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

    /// The number (from 1) of the part being filled.
    fn number(&self) -> usize {
        self.parts.len() + self.sending.len() + 1
    }

    /// Sends the part gathered so far: waits for a slot among the parts in flight, and
    /// collects the parts that are done meanwhile (a failed one fails the write now).
    fn send_part(&mut self) -> io::Result<()> {
        let number = self.number();
        if number > MAX_PARTS {
            return Err(io::Error::other(format!(
                "{} needs more than {MAX_PARTS} parts (from {} bytes each, doubled every \
                 {PARTS_PER_SIZE}), more than S3 holds in one object; split the backup (one file \
                 per database) or give a larger --s3-part-size",
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
    pub fn finish(mut self) -> io::Result<Stored> {
        // S3 takes an empty last part only as the sole one: an empty object.
        if !self.part.is_empty() || self.parts.len() + self.sending.len() == 0 {
            self.send_part()?;
        }
        while !self.sending.is_empty() {
            self.collect_one()?;
        }
        let parts = std::mem::take(&mut self.parts);
        let store = self.bucket.store.clone();
        if !ledger().begin_completion(&self.bucket, &self.url) {
            // Dropped unfinished: the upload is aborted.
            return Err(io::Error::other(
                "the run is stopping: the upload was not completed",
            ));
        }
        let completed = block(
            &self.handle,
            store.complete_multipart(&self.key, &self.id, parts),
        );
        ledger().end_completion(&self.url, completed.is_ok());
        completed.map_err(|e| self.bucket.fail("CompleteMultipartUpload", e))?;
        self.done = true;
        Ok(Stored {
            path: self.url.clone(),
            bytes: self.bytes,
            sha256: hex::encode(std::mem::take(&mut self.hasher).finalize()),
        })
    }
}

impl Write for ObjectWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let size = part_size_of(self.bucket.part_size, self.number());
        if self.part.capacity() < size {
            self.part.reserve_exact(size - self.part.len());
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
        ledger().forget(&self.url);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{DEFAULT_PART_SIZE, S3Options};
    use super::*;

    fn bucket() -> Arc<Bucket> {
        let options = S3Options {
            endpoint: Some("http://127.0.0.1:1".into()),
            part_size: DEFAULT_PART_SIZE,
            ..S3Options::default()
        };
        Arc::new(Bucket::open("s3://bk/p", &options).unwrap())
    }

    /// The race a trial hit: SIGINT while a completion is in flight. The stop waits for it
    /// and then has its object to delete; nothing is completed after the stop.
    #[test]
    fn a_completion_in_flight_when_the_run_stops_is_waited_for_and_undone() {
        let b = bucket();
        let mut l = Ledger::default();
        let (a, c, d) = (b.url().join("a"), b.url().join("c"), b.url().join("d"));
        l.open.push((b.clone(), a.clone(), "id-a".into()));
        l.open.push((b.clone(), c.clone(), "id-c".into()));
        assert!(l.begin_completion(&b, &c));
        l.finished.push((b.clone(), d.clone()));

        let (open, done) = l.stop();
        assert_eq!(open.len(), 1, "only a is still open: c is being completed");
        assert_eq!(done.iter().map(|(_, u)| u).collect::<Vec<_>>(), [&d]);
        let (since, busy) = l.completed_since();
        assert!(
            since.is_empty() && busy,
            "c's completion has not answered yet"
        );

        l.end_completion(&c, true);
        let (since, busy) = l.completed_since();
        assert_eq!(since.iter().map(|(_, u)| u).collect::<Vec<_>>(), [&c]);
        assert!(!busy);
        assert!(!l.begin_completion(&b, &a), "a completion after the stop");
    }

    #[test]
    fn a_completion_that_failed_leaves_nothing_to_delete() {
        let b = bucket();
        let mut l = Ledger::default();
        let a = b.url().join("a");
        assert!(l.begin_completion(&b, &a));
        l.end_completion(&a, false);
        let (since, busy) = l.completed_since();
        assert!(since.is_empty() && !busy);
    }
}
