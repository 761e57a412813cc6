//! The last stage: a file written under a temporary name, hashed while written, then renamed.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, mpsc};

use sha2::{Digest, Sha256};

/// Temporary files being written right now. A signal ends the process without running any
/// `Drop`, so the binary's signal handler removes these by name before exiting.
static PARTIAL_FILES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Files this process completed. An interrupted run removes them too: a backup set cut short
/// (some databases' files of a multi-file run) must not stay behind looking complete.
static FINISHED_FILES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn partial_files() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    PARTIAL_FILES.lock().unwrap_or_else(|e| e.into_inner())
}

fn finished_files() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    FINISHED_FILES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes every file this process wrote or is writing; returns how many there were. For the
/// signal handler of a run that did not complete: the process exits right after.
pub fn remove_files_of_this_run() -> usize {
    let mut files = std::mem::take(&mut *partial_files());
    files.append(&mut finished_files());
    for f in &files {
        let _ = fs::remove_file(f);
    }
    files.len()
}

/// Write buffer in front of the file: large enough that each syscall moves a useful amount.
const FILE_BUFFER: usize = 1 << 20;

/// Bytes written between two requests to start writing the file back to disk. Without them the
/// kernel holds a whole dump in dirty pages and the final fsync waits for all of it (0.7 s of a
/// 6.6 s dump of 1.1 GB here); with them the disk works while the dump runs and the fsync finds
/// at most two windows left.
/// (Unit tests use small windows to exercise it.)
const WRITEBACK_WINDOW: u64 = if cfg!(test) { 64 << 10 } else { 64 << 20 };

/// What a finished file is: its final path, exact size and SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSummary {
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
}

/// A file that appears under its final name only after [`AtomicFile::finish`] succeeded.
///
/// Until then it lives as `.<name>.partial-<pid>` in the same directory (same filesystem, so
/// the rename is atomic). Dropping it unfinished removes the temporary file: a failed or
/// interrupted run leaves nothing under the final name.
pub struct AtomicFile {
    final_path: PathBuf,
    temp_path: PathBuf,
    out: Option<BufWriter<File>>,
    hasher: Sha256,
    bytes: u64,
    /// Start of the window whose writeback was requested last.
    written_back: u64,
    /// Started with the first request: small files never have one.
    writeback: Option<Box<Writeback>>,
}

impl AtomicFile {
    /// Creates the temporary file with `mode` (e.g. 0o600). Fails if the final name exists.
    pub fn create(final_path: &Path, mode: u32) -> io::Result<AtomicFile> {
        if final_path.exists() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "the file already exists; refusing to overwrite a backup",
            ));
        }
        Self::replacing(final_path, mode)
    }

    /// Like [`AtomicFile::create`], but [`AtomicFile::finish`] replaces a file that already
    /// has the final name (in one rename: readers see the old or the new content, never a mix).
    pub fn replacing(final_path: &Path, mode: u32) -> io::Result<AtomicFile> {
        let name = final_path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
        let temp_path = final_path.with_file_name(format!(
            ".{}.partial-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temp_path)?;
        partial_files().push(temp_path.clone());
        // The umask may have taken bits away from a mode the config asked for explicitly.
        if let Err(e) = file.set_permissions(std::fs::Permissions::from_mode(mode)) {
            let _ = fs::remove_file(&temp_path);
            forget_partial(&temp_path);
            return Err(e);
        }
        Ok(AtomicFile {
            final_path: final_path.to_owned(),
            temp_path,
            out: Some(BufWriter::with_capacity(FILE_BUFFER, file)),
            hasher: Sha256::new(),
            bytes: 0,
            written_back: 0,
            writeback: None,
        })
    }

    pub fn final_path(&self) -> &Path {
        &self.final_path
    }

    pub fn temp_path(&self) -> &Path {
        &self.temp_path
    }

    /// Bytes accepted so far: the offset named when a write fails.
    pub fn position(&self) -> u64 {
        self.bytes
    }

    /// Flushes, fsyncs, renames to the final name and fsyncs the directory. On failure the
    /// temporary file is removed.
    pub fn finish(mut self) -> io::Result<FileSummary> {
        let out = self.out.take().expect("finish is called once");
        if let Some(w) = self.writeback.take() {
            w.stop();
        }
        let completed = out
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(|file| file.sync_all())
            .and_then(|()| fs::rename(&self.temp_path, &self.final_path));
        if let Err(e) = completed {
            let _ = fs::remove_file(&self.temp_path);
            forget_partial(&self.temp_path);
            return Err(e);
        }
        forget_partial(&self.temp_path);
        finished_files().push(self.final_path.clone());
        if let Some(dir) = self.final_path.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            File::open(dir)?.sync_all()?;
        }
        Ok(FileSummary {
            path: self.final_path.clone(),
            bytes: self.bytes,
            sha256: hex::encode(std::mem::take(&mut self.hasher).finalize()),
        })
    }

    /// Asks for the last window to be written back now and the window before it (written
    /// back by then) to leave the page cache: a backup is not read again soon, and its pages
    /// would push the database's out. Advice only: the final fsync is what makes the file
    /// durable, so a refusal or a busy writeback thread just leaves it to that fsync.
    fn start_writeback(&mut self) {
        let Some(out) = self.out.as_ref() else { return };
        let end = self.bytes - WRITEBACK_WINDOW;
        let from = self.written_back.saturating_sub(WRITEBACK_WINDOW);
        if self.writeback.is_none() {
            self.writeback = Writeback::start(out.get_ref()).map(Box::new);
        }
        match &self.writeback {
            // Busy with the previous window: asked again on the next write.
            Some(w) if !w.request(from, end - from) => {}
            // Requested; or no thread could start, and it is tried again a window later.
            _ => self.written_back = end,
        }
    }
}

/// The thread that passes writeback requests to the kernel. `POSIX_FADV_DONTNEED` starts
/// writeback of dirty pages and evicts clean ones, but it waits while the filesystem
/// allocates blocks and queues the I/O (70 ms per 64 MiB here), which must not stall the
/// thread that writes the file.
struct Writeback {
    requests: mpsc::SyncSender<(u64, u64)>,
    thread: std::thread::JoinHandle<()>,
}

impl Writeback {
    fn start(file: &File) -> Option<Writeback> {
        let file = file.try_clone().ok()?;
        // One request waiting is enough: a later one covers what a refused one would have.
        let (tx, rx) = mpsc::sync_channel::<(u64, u64)>(1);
        let thread = std::thread::Builder::new()
            .name("sfdb-writeback".into())
            .spawn(move || {
                for (from, len) in rx {
                    let _ = rustix::fs::fadvise(
                        &file,
                        from,
                        std::num::NonZeroU64::new(len),
                        rustix::fs::Advice::DontNeed,
                    );
                }
            })
            .ok()?;
        Some(Writeback {
            requests: tx,
            thread,
        })
    }

    /// False when the thread is still busy with the previous request.
    fn request(&self, from: u64, len: u64) -> bool {
        self.requests.try_send((from, len)).is_ok()
    }

    /// Waits for the request in progress, so the final fsync is the file's last operation.
    fn stop(self) {
        let Writeback { requests, thread } = self;
        drop(requests);
        let _ = thread.join();
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let out = self.out.as_mut().expect("not finished");
        let n = out.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        if self.bytes - self.written_back >= 2 * WRITEBACK_WINDOW {
            self.start_writeback();
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.as_mut().expect("not finished").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            let _ = fs::remove_file(&self.temp_path);
            forget_partial(&self.temp_path);
        }
    }
}

fn forget_partial(path: &Path) {
    partial_files().retain(|p| p != path);
}

/// Writes `content` to `path` atomically with `mode`, replacing nothing.
pub fn write_atomic(path: &Path, mode: u32, content: &[u8]) -> io::Result<FileSummary> {
    let mut f = AtomicFile::create(path, mode)?;
    f.write_all(content)?;
    f.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn nothing_appears_until_finish_and_drop_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.sql");
        let mut f = AtomicFile::create(&path, 0o600).unwrap();
        f.write_all(b"hello").unwrap();
        assert!(!path.exists());
        let temp = f.temp_path().to_owned();
        assert!(temp.exists());
        drop(f);
        assert!(!temp.exists());
        assert!(!path.exists());
    }

    #[test]
    fn a_large_file_is_written_back_while_written_and_stays_exact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.sql");
        let mut f = AtomicFile::create(&path, 0o600).unwrap();
        let block: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        let mut expected = Sha256::new();
        for _ in 0..100 {
            f.write_all(&block).unwrap();
            expected.update(&block);
        }
        assert!(f.writeback.is_some(), "a writeback thread started");
        assert!(f.written_back > 0, "writeback was requested");
        let s = f.finish().unwrap();
        assert_eq!(s.bytes, 1_000_000);
        assert_eq!(s.sha256, hex::encode(expected.finalize()));
        let content = fs::read(&path).unwrap();
        assert_eq!(content.len(), 1_000_000);
        assert!(content.chunks(10_000).all(|c| c == block.as_slice()));
    }

    #[test]
    fn finish_reports_exact_size_hash_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.sql");
        let s = write_atomic(&path, 0o600, b"abc").unwrap();
        assert_eq!(s.bytes, 3);
        assert_eq!(
            s.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(fs::read(&path).unwrap(), b"abc");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(
            AtomicFile::create(&path, 0o600).is_err(),
            "never overwrites"
        );
    }
}
