//! Reading one object as a stream: ranged GETs issued ahead of the reader, each pinned to the
//! version first seen (`If-Match` its ETag), so that a backup replaced while it is read fails
//! the read instead of mixing two files.
//!
//! Memory is bounded per reader: [`READ_AHEAD`] ranges (in flight, and the one being read),
//! each at most [`MAX_RANGE`]. The read-ahead starts at one small range and grows as the reader consumes,
//! so that restore, which opens every file before it starts, holds little for the files it
//! has not reached.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::Receiver;

use bytes::{Buf, Bytes};
use object_store::path::Path as Key;
use object_store::{GetOptions, GetRange, ObjectStore};
use tokio::task::AbortHandle;

use super::{Listed, bucket_of, io_error, start};

/// The first range read: enough for the header, the codec's and the container's first
/// frames, small because restore opens every file before reading any further.
const FIRST_RANGE: u64 = 1 << 20;
/// The largest range: few enough requests that their overhead is small next to the transfer
/// (one request per 8 MiB at 100 MB/s is about 12 a second).
const MAX_RANGE: u64 = 8 << 20;
/// Ranges held at once once the reader reads steadily (the one being read and those in
/// flight): requests in flight keep a link of about a gigabit busy, as for the uploads. With
/// [`MAX_RANGE`]: 32 MiB at most per open object.
pub const READ_AHEAD: usize = 4;

/// One range requested and not yet consumed.
struct Pending {
    offset: u64,
    len: u64,
    answer: Receiver<object_store::Result<Bytes>>,
    task: AbortHandle,
}

/// A reader of the object `s3://bucket/key` from a given offset.
pub struct ObjectReader {
    /// The bucket's client (any store: tests read an in-memory one).
    store: Arc<dyn ObjectStore>,
    /// The bucket's name and endpoint, for messages.
    bucket: String,
    endpoint: String,
    url: PathBuf,
    key: Key,
    size: u64,
    e_tag: Option<String>,
    /// The next byte to request.
    next: u64,
    pending: VecDeque<Pending>,
    /// What is left of the range being read.
    current: Bytes,
    range: u64,
    ahead: usize,
}

impl ObjectReader {
    /// Opens `url` (a HEAD: its size and version) to be read from byte `offset`.
    pub fn open(url: &Path, offset: u64) -> io::Result<ObjectReader> {
        let bucket = bucket_of(url)?;
        let listed = bucket.stat(url)?;
        Ok(ObjectReader::of(
            bucket.store.clone(),
            (bucket.name.clone(), bucket.endpoint.clone()),
            url,
            bucket.io_key(url)?,
            listed,
            offset,
        ))
    }

    /// [`ObjectReader::open`] for a look at the first `bytes` only (whether a file is
    /// encrypted): the first range is that small instead of [`FIRST_RANGE`].
    pub fn open_for_a_look(url: &Path, bytes: u64) -> io::Result<ObjectReader> {
        let mut reader = ObjectReader::open(url, 0)?;
        reader.range = bytes.clamp(1, FIRST_RANGE);
        Ok(reader)
    }

    /// A reader of `key` in `store`, whose HEAD said `listed`.
    fn of(
        store: Arc<dyn ObjectStore>,
        (bucket, endpoint): (String, String),
        url: &Path,
        key: Key,
        listed: Listed,
        offset: u64,
    ) -> ObjectReader {
        let Listed { size, e_tag, .. } = listed;
        ObjectReader {
            store,
            bucket,
            endpoint,
            key,
            url: url.to_owned(),
            size,
            e_tag,
            next: offset.min(size),
            pending: VecDeque::new(),
            current: Bytes::new(),
            range: FIRST_RANGE,
            ahead: 1,
        }
    }

    /// The object's size, as its HEAD said.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Requests ranges until `ahead` are in flight or the object is all asked for.
    fn request(&mut self) -> io::Result<()> {
        while self.pending.len() < self.ahead && self.next < self.size {
            let len = self.range.min(self.size - self.next);
            let range = self.next..self.next + len;
            let options = GetOptions {
                range: Some(GetRange::Bounded(range)),
                if_match: self.e_tag.clone(),
                ..GetOptions::default()
            };
            let (store, key) = (self.store.clone(), self.key.clone());
            let (answer, task) =
                start(async move { store.get_opts(&key, options).await?.bytes().await })?;
            self.pending.push_back(Pending {
                offset: self.next,
                len,
                answer,
                task,
            });
            self.next += len;
        }
        Ok(())
    }

    /// Waits for the oldest range in flight and makes it the current one; false at the end.
    fn advance(&mut self) -> io::Result<bool> {
        self.request()?;
        let Some(p) = self.pending.pop_front() else {
            return Ok(false);
        };
        let at = |what: String| format!("{} at byte {}: {what}", self.url.display(), p.offset);
        let bytes = p
            .answer
            .recv()
            .map_err(|_| io::Error::other(at("the request stopped without an answer".into())))?
            .map_err(|e| match e {
                object_store::Error::Precondition { .. } => io::Error::new(
                    io::ErrorKind::InvalidData,
                    at(
                        "the object was replaced while it was read (its ETag changed); read \
                        it again"
                            .into(),
                    ),
                ),
                e => io_error(&at("GET".into()), &self.bucket, &self.endpoint, e),
            })?;
        // A store that answers with another length than asked (a hostile or broken proxy) must
        // not shift every later byte silently.
        if bytes.len() as u64 != p.len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                at(format!(
                    "the store sent {} bytes for a range of {}",
                    bytes.len(),
                    p.len
                )),
            ));
        }
        self.current = bytes;
        // Read steadily: ask for more, further ahead.
        self.range = (self.range * 2).min(MAX_RANGE);
        self.ahead = (self.ahead + 1).min(READ_AHEAD);
        Ok(true)
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while !self.current.has_remaining() {
            if !self.advance()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.current.remaining());
        self.current.copy_to_slice(&mut buf[..n]);
        Ok(n)
    }
}

impl Drop for ObjectReader {
    /// Ranges still in flight are cancelled: a reader dropped early does not keep downloading.
    fn drop(&mut self) {
        for p in self.pending.drain(..) {
            p.task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;
    use object_store::{ObjectStoreExt, PutPayload};

    /// An in-memory bucket holding `content` under `k`, and a reader of it from `offset`.
    fn reader(content: &[u8], offset: u64) -> (Arc<InMemory>, ObjectReader) {
        let store = Arc::new(InMemory::new());
        let key = Key::from("k");
        let (s, k, c) = (store.clone(), key.clone(), content.to_vec());
        let meta = super::super::wait(async move {
            s.put(&k, PutPayload::from(c)).await.unwrap();
            s.head(&k).await.unwrap()
        })
        .unwrap();
        let listed = Listed {
            url: PathBuf::from("s3://b/k"),
            size: meta.size,
            modified: std::time::SystemTime::from(meta.last_modified),
            e_tag: meta.e_tag,
        };
        let r = ObjectReader::of(
            store.clone(),
            ("b".into(), "mem".into()),
            Path::new("s3://b/k"),
            key,
            listed,
            offset,
        );
        (store, r)
    }

    fn content(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn every_byte_comes_in_order_across_ranges_and_from_an_offset() {
        // Past the first ranges (1, 2, 4 MiB) into the largest, with an odd tail.
        let data = content((15 << 20) + 12_345);
        let (_, mut r) = reader(&data, 0);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert!(out == data, "the bytes read differ from the object's");
        assert!(r.pending.is_empty());

        let (_, mut r) = reader(&data, 3_000_001);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert!(out[..] == data[3_000_001..]);
        let (_, mut r) = reader(&data, data.len() as u64 + 5);
        assert_eq!(r.read(&mut [0u8; 8]).unwrap(), 0);
        let (_, mut r) = reader(b"", 0);
        assert_eq!(r.read(&mut [0u8; 8]).unwrap(), 0);
    }

    #[test]
    fn read_ahead_is_bounded() {
        let data = content(40 << 20);
        let (_, mut r) = reader(&data, 0);
        let mut buf = vec![0u8; 64 << 10];
        let mut most = 0;
        while r.read(&mut buf).unwrap() > 0 {
            most = most.max(r.pending.len());
            assert!(r.pending.iter().all(|p| p.len <= MAX_RANGE));
            assert!(r.current.len() as u64 <= MAX_RANGE);
        }
        // The one being read is no longer pending: ranges held at once are READ_AHEAD.
        assert_eq!(most, READ_AHEAD - 1);
    }

    #[test]
    fn an_object_replaced_while_it_is_read_fails_the_read() {
        let data = content(6 << 20);
        let (store, mut r) = reader(&data, 0);
        let mut buf = [0u8; 1];
        r.read_exact(&mut buf).unwrap();
        // Another backup of the same name lands between two ranges.
        super::super::wait(async move {
            store
                .put(&Key::from("k"), PutPayload::from(vec![1u8; 6 << 20]))
                .await
                .unwrap()
        })
        .unwrap();
        let mut rest = Vec::new();
        let e = r.read_to_end(&mut rest).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(e.to_string().contains("replaced while it was read"), "{e}");
        assert!(e.to_string().contains("s3://b/k at byte 1048576"), "{e}");
    }
}
