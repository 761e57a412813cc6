//! Rows read ahead of their place in the file: the SQL of a non-transactional table, read
//! while commits are blocked, kept until the file it belongs to reaches its database.
//!
//! Why a spool: a MyISAM/Aria/MEMORY table is not in InnoDB's snapshot, so its rows are only
//! consistent with the rest while commits are blocked. Reading it when its file gets to it
//! kept every commit on the server waiting for all the tables before it (10 s of a 12 s dump
//! for a 1,000-row table). Read first and parked here, the block lasts as long as the
//! non-transactional data takes to read, whatever else the dump holds.
//!
//! The file is created in the output directory (same disk the dump is sized for) and unlinked
//! at once: nothing is left behind however the process ends, and no other program can open it
//! by name. Its content is sealed with AES-256-GCM under a random key that exists only in this
//! process's memory, so the rows never sit on disk in clear, even when the dump is encrypted
//! and even in blocks the filesystem later frees.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use aes_gcm::aead::consts::U12;
use aes_gcm::{AeadInOut, Aes256Gcm, KeyInit, Nonce, Tag};
use rand::TryRng;
use tokio::sync::mpsc;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::output::Chunk;

const TAG_LEN: usize = 16;

/// Chunks waiting for the spool thread, as for the output writer: a few keep the disk busy,
/// more would only hold memory.
pub const SPOOL_QUEUE: usize = 8;

/// Largest record: the serialiser's chunks are at most one statement, and a statement is at
/// most `--statement-size` plus one row; a length beyond this in a record means the file was
/// changed under us.
const MAX_RECORD: usize = 1 << 30;

/// A spool being filled: send the table's chunks to `tx`, then [`SpoolWriter::finish`].
pub struct SpoolWriter {
    pub tx: mpsc::Sender<Chunk>,
    handle: std::thread::JoinHandle<Result<Spool>>,
}

/// A filled spool, ready to be replayed into its file.
pub struct Spool {
    file: File,
    cipher: Aes256Gcm,
    records: u64,
    /// Plain SQL bytes held.
    pub bytes: u64,
}

static NEXT: AtomicU64 = AtomicU64::new(0);

impl SpoolWriter {
    /// Creates the (unlinked) spool file in `dir` and starts the thread that fills it.
    pub fn create(dir: &Path, what: &str) -> Result<SpoolWriter> {
        let name = format!(
            ".sfdbtools-spool-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = dir.join(name);
        let mut opts = std::fs::OpenOptions::new();
        opts.read(true).write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let file = opts.open(&path).map_err(|e| {
            Error::file(
                "creating the spool for a non-transactional table's rows",
                path.clone(),
                e,
            )
        })?;
        std::fs::remove_file(&path).map_err(|e| {
            Error::file(
                "creating the spool for a non-transactional table's rows",
                path.clone(),
                e,
            )
        })?;

        let mut key = Zeroizing::new([0u8; 32]);
        rand::rngs::SysRng
            .try_fill_bytes(key.as_mut())
            .map_err(|e| Error::Internal(format!("spool key for {what}: no randomness: {e}")))?;
        let cipher = Aes256Gcm::new((&*key).into());

        let (tx, mut rx) = mpsc::channel::<Chunk>(SPOOL_QUEUE);
        let handle = std::thread::Builder::new()
            .name("sfdb-spool".into())
            .spawn(move || {
                let mut out = BufWriter::with_capacity(1 << 20, file);
                let mut records = 0u64;
                let mut bytes = 0u64;
                let failed = |e: io::Error| {
                    Error::file(
                        "writing a non-transactional table's rows to the spool",
                        dir_of(&path),
                        e,
                    )
                };
                // The channel closes when every chunk task of the table dropped its sender.
                while let Some(chunk) = rx.blocking_recv() {
                    let Chunk::Sql(mut sql) = chunk else { continue };
                    let tag = cipher
                        .encrypt_inout_detached(&nonce(records), b"", sql.as_mut_slice().into())
                        .map_err(|_| Error::Internal("spool record too long".into()))?;
                    let len = u32::try_from(sql.len())
                        .map_err(|_| Error::Internal("spool record over 4 GiB".into()))?;
                    out.write_all(&len.to_le_bytes()).map_err(failed)?;
                    out.write_all(&sql).map_err(failed)?;
                    out.write_all(tag.as_slice()).map_err(failed)?;
                    records += 1;
                    bytes += sql.len() as u64;
                }
                let file = out.into_inner().map_err(|e| failed(e.into_error()))?;
                Ok(Spool {
                    file,
                    cipher,
                    records,
                    bytes,
                })
            })
            .map_err(|e| Error::Internal(format!("cannot start the spool thread: {e}")))?;
        Ok(SpoolWriter { tx, handle })
    }

    /// Waits for every chunk sent to be on disk. Every other sender must be dropped first.
    pub async fn finish(self) -> Result<Spool> {
        let SpoolWriter { tx, handle } = self;
        drop(tx);
        tokio::task::spawn_blocking(move || handle.join())
            .await
            .map_err(|e| Error::Internal(format!("spool thread join failed: {e}")))?
            .map_err(|_| Error::Internal("the spool thread panicked".into()))?
    }
}

impl Spool {
    /// Sends the spooled SQL, in the order it was written, to `out` (the file's writer).
    pub async fn replay(self, out: mpsc::Sender<Chunk>) -> Result<()> {
        tokio::task::spawn_blocking(move || self.replay_blocking(&out))
            .await
            .map_err(|e| Error::Internal(format!("spool replay failed: {e}")))?
    }

    fn replay_blocking(mut self, out: &mpsc::Sender<Chunk>) -> Result<()> {
        let failed = |e: io::Error| {
            Error::Internal(format!(
                "reading back the spooled rows of a table failed: {e}"
            ))
        };
        self.file.seek(SeekFrom::Start(0)).map_err(failed)?;
        let mut input = BufReader::with_capacity(1 << 20, &self.file);
        for index in 0..self.records {
            let mut len = [0u8; 4];
            input.read_exact(&mut len).map_err(failed)?;
            let len = u32::from_le_bytes(len) as usize;
            if len > MAX_RECORD {
                return Err(failed(io::Error::other("record length out of range")));
            }
            let mut sql = vec![0u8; len];
            input.read_exact(&mut sql).map_err(failed)?;
            let mut tag = [0u8; TAG_LEN];
            input.read_exact(&mut tag).map_err(failed)?;
            self.cipher
                .decrypt_inout_detached(
                    &nonce(index),
                    b"",
                    sql.as_mut_slice().into(),
                    &Tag::from(tag),
                )
                .map_err(|_| failed(io::Error::other("a record does not authenticate")))?;
            if out.blocking_send(Chunk::Sql(sql)).is_err() {
                // The file's writer stopped; its own error is the one reported.
                return Err(Error::Internal("the output writer stopped".into()));
            }
        }
        Ok(())
    }
}

/// Record `index`'s nonce. The key is random and used for this spool only, so a counter never
/// repeats a (key, nonce) pair.
fn nonce(index: u64) -> Nonce<U12> {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&index.to_le_bytes());
    Nonce::<U12>::from(n)
}

fn dir_of(path: &Path) -> std::path::PathBuf {
    path.parent().map(Path::to_owned).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn what_is_spooled_comes_back_in_order_and_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let w = SpoolWriter::create(dir.path(), "`db`.`t`").unwrap();
        // Nothing by name while it is in use.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let sent: Vec<Vec<u8>> = (0..50)
            .map(|i| {
                format!("INSERT INTO t VALUES ({i});\n")
                    .repeat(i + 1)
                    .into_bytes()
            })
            .collect();
        for s in &sent {
            w.tx.send(Chunk::Sql(s.clone())).await.unwrap();
        }
        let spool = w.finish().await.unwrap();
        assert_eq!(
            spool.bytes,
            sent.iter().map(|s| s.len() as u64).sum::<u64>()
        );
        let (tx, mut rx) = mpsc::channel(4);
        let replay = tokio::spawn(spool.replay(tx));
        let mut got = Vec::new();
        while let Some(Chunk::Sql(s)) = rx.recv().await {
            got.push(s);
        }
        replay.await.unwrap().unwrap();
        assert_eq!(got, sent);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn the_spool_on_disk_holds_no_clear_text() {
        let dir = tempfile::tempdir().unwrap();
        let w = SpoolWriter::create(dir.path(), "`db`.`t`").unwrap();
        let secret = b"INSERT INTO t VALUES ('card 4111 1111 1111 1111');\n".to_vec();
        w.tx.send(Chunk::Sql(secret.clone())).await.unwrap();
        let mut spool = w.finish().await.unwrap();
        let mut raw = Vec::new();
        spool.file.seek(SeekFrom::Start(0)).unwrap();
        spool.file.read_to_end(&mut raw).unwrap();
        assert_eq!(raw.len(), 4 + secret.len() + TAG_LEN);
        assert!(!raw.windows(4).any(|w| w == b"4111"));
        // A flipped bit is caught, not replayed.
        raw[6] ^= 1;
        spool.file.seek(SeekFrom::Start(0)).unwrap();
        spool.file.write_all(&raw).unwrap();
        let (tx, _rx) = mpsc::channel(4);
        assert!(spool.replay(tx).await.is_err());
    }
}
