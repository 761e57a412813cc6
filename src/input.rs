//! Reading a backup back: the container and the codec are detected from the bytes, never from
//! the file name, and the SQL is streamed (a file is never loaded whole).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use crate::compress::{DecompressReader, open_detect};
use crate::encrypt::{DecryptReader, Passphrase, sniff};
use crate::error::{Error, Result};

/// Read buffer over the file: large reads, few syscalls.
const FILE_READ_BUFFER: usize = 1 << 20;

/// The decryption slot: plain bytes, or the `.enc` container opened with the passphrase.
pub enum Decrypted<R: Read> {
    Plain(R),
    Sealed(Box<DecryptReader<R>>),
}

impl<R: BufRead> Read for Decrypted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decrypted::Plain(r) => r.read(buf),
            Decrypted::Sealed(r) => r.read(buf),
        }
    }
}

impl<R: BufRead> BufRead for Decrypted<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self {
            Decrypted::Plain(r) => r.fill_buf(),
            Decrypted::Sealed(r) => r.fill_buf(),
        }
    }

    fn consume(&mut self, amt: usize) {
        match self {
            Decrypted::Plain(r) => r.consume(amt),
            Decrypted::Sealed(r) => r.consume(amt),
        }
    }
}

/// The SQL of a backup file.
pub type SqlReader = DecompressReader<Decrypted<BufReader<File>>>;

/// Opens a backup file (ours, the old tool's, or plain mysqldump output, each compressed
/// and/or encrypted or not) and returns a reader of its SQL.
pub fn open(path: &Path, pass: Option<&Passphrase>) -> Result<SqlReader> {
    let file = File::open(path).map_err(|e| Error::file("opening", path.to_owned(), e))?;
    open_from(file, path, pass)
}

/// [`open`] over any byte source (`path` only names it in messages), e.g. a [`Metered`] file.
pub fn open_from<R: Read>(
    source: R,
    path: &Path,
    pass: Option<&Passphrase>,
) -> Result<DecompressReader<Decrypted<BufReader<R>>>> {
    let file_err = |action: &'static str, e: io::Error| Error::file(action, path.to_owned(), e);
    let mut reader = BufReader::with_capacity(FILE_READ_BUFFER, source);
    let encrypted = sniff(reader.fill_buf().map_err(|e| file_err("reading", e))?);
    let decrypted = match (encrypted, pass) {
        (false, _) => Decrypted::Plain(reader),
        (true, None) => {
            return Err(Error::Usage(format!(
                "{} is encrypted: pass its key with -K/--backup-key or SFDB_BACKUP_ENCRYPTION_KEY",
                path.display()
            )));
        }
        (true, Some(p)) => Decrypted::Sealed(Box::new(
            DecryptReader::new(reader, p)
                .map_err(|e| file_err("decrypting", io::Error::other(e)))?,
        )),
    };
    open_detect(decrypted).map_err(|e| file_err("detecting the compression of", e))
}

/// A reader that counts the bytes passing through it (for progress, shared with other
/// threads) and optionally hashes them (for verify).
pub struct Metered<R> {
    inner: R,
    read: Arc<AtomicU64>,
    digest: Option<Arc<Mutex<Sha256>>>,
}

impl<R: Read> Metered<R> {
    pub fn new(inner: R, read: Arc<AtomicU64>, digest: Option<Arc<Mutex<Sha256>>>) -> Self {
        Metered {
            inner,
            read,
            digest,
        }
    }
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        if let Some(d) = &self.digest
            && let Ok(mut d) = d.lock()
        {
            d.update(&buf[..n]);
        }
        Ok(n)
    }
}
