//! The last stage: a file written under a temporary name, hashed while written, then renamed.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt};
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

/// Bytes gathered before each write to the file. With direct I/O, one write of this size keeps
/// the disk streaming while the next chunk fills (`dd oflag=direct` here: 1 MiB writes within 7 %
/// of 4 MiB ones); two chunks are all the memory a file needs, and a dump writes at most one
/// file per worker at a time.
/// (Unit tests use small chunks so that a small file crosses several of them.)
const WRITE_CHUNK: usize = if cfg!(test) { 64 << 10 } else { 2 << 20 };

/// Direct I/O needs buffer addresses, lengths and file offsets that are multiples of the
/// device's logical block size; 4096 is the largest in common use.
const DIRECT_ALIGN: usize = 4096;

/// Bytes written through the page cache between two requests to start writing them back (when
/// direct I/O is refused). Without them the kernel holds a whole dump in dirty pages and the
/// final fsync waits for all of it (0.7 s of a 6.6 s dump of 1.1 GB here).
const WRITEBACK_WINDOW: u64 = if cfg!(test) { 128 << 10 } else { 64 << 20 };

/// What a finished file is: its final path, exact size and SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSummary {
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
}

impl From<crate::s3::Stored> for FileSummary {
    fn from(s: crate::s3::Stored) -> FileSummary {
        FileSummary {
            path: s.path,
            bytes: s.bytes,
            sha256: s.sha256,
        }
    }
}

/// A file that appears under its final name only after [`AtomicFile::finish`] succeeded.
///
/// Until then it lives as `.<name>.partial-<pid>` in the same directory (same filesystem, so
/// the rename is atomic). Dropping it unfinished removes the temporary file: a failed or
/// interrupted run leaves nothing under the final name.
///
/// A file of more than one chunk is written with direct I/O (`O_DIRECT`) where the filesystem
/// allows it: a backup is not read again soon, and going around the page cache spares the
/// kernel a copy of every byte and the writeback of dirty pages (0.3 s of CPU per GB instead of
/// several on this machine), and leaves the database's pages in memory. Its last partial block
/// is written through the page cache. Elsewhere (tmpfs, for one) it goes through the page cache
/// with writeback started behind the writer.
pub struct AtomicFile {
    final_path: PathBuf,
    temp_path: PathBuf,
    /// The final rename may replace a file of that name (a profile being saved again); a
    /// backup's never does.
    replace: bool,
    /// Boxed: the chunk's bookkeeping and mode would make every writer enum holding a file large.
    sink: Option<Box<Sink>>,
    hasher: Sha256,
    bytes: u64,
}

impl AtomicFile {
    /// Creates the temporary file with `mode` (e.g. 0o600). Fails if the final name exists,
    /// now or when [`AtomicFile::finish`] renames to it: a run that started in the same second
    /// as another (same name) fails then, and the other run's file stays as it was.
    pub fn create(final_path: &Path, mode: u32) -> io::Result<AtomicFile> {
        if final_path.exists() {
            return Err(already_exists());
        }
        Self::open(final_path, mode, false)
    }

    /// Like [`AtomicFile::create`], but [`AtomicFile::finish`] replaces a file that already
    /// has the final name (in one rename: readers see the old or the new content, never a mix).
    pub fn replacing(final_path: &Path, mode: u32) -> io::Result<AtomicFile> {
        Self::open(final_path, mode, true)
    }

    fn open(final_path: &Path, mode: u32, replace: bool) -> io::Result<AtomicFile> {
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
            replace,
            sink: Some(Box::new(Sink::new(file))),
            hasher: Sha256::new(),
            bytes: 0,
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

    /// Writes what is still buffered, fsyncs, renames to the final name and fsyncs the
    /// directory. On failure the temporary file is removed.
    pub fn finish(mut self) -> io::Result<FileSummary> {
        let sink = self.sink.take().expect("finish is called once");
        let completed = (*sink)
            .finish()
            .and_then(|file| file.sync_all())
            .and_then(|()| {
                if self.replace {
                    fs::rename(&self.temp_path, &self.final_path)
                } else {
                    rename_no_replace(&self.temp_path, &self.final_path)
                }
            });
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

    #[cfg(test)]
    fn went_direct(&self) -> bool {
        self.sink
            .as_deref()
            .is_some_and(|s| matches!(s.mode, Mode::Direct(_)))
    }
}

/// A chunk buffer whose usable part starts at an address aligned for direct I/O (safe code
/// can only over-allocate and start at the right offset).
struct Chunk {
    raw: Vec<u8>,
    start: usize,
    len: usize,
}

impl Chunk {
    fn new() -> Chunk {
        let raw = vec![0u8; WRITE_CHUNK + DIRECT_ALIGN];
        let addr = raw.as_ptr() as usize;
        let start = addr.next_multiple_of(DIRECT_ALIGN) - addr;
        Chunk { raw, start, len: 0 }
    }

    fn filled(&self) -> &[u8] {
        &self.raw[self.start..self.start + self.len]
    }

    fn is_full(&self) -> bool {
        self.len == WRITE_CHUNK
    }

    /// Copies as much of `data` as fits; returns how much.
    fn fill(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(WRITE_CHUNK - self.len);
        let at = self.start + self.len;
        self.raw[at..at + n].copy_from_slice(&data[..n]);
        self.len += n;
        n
    }
}

/// Where full chunks go.
enum Mode {
    /// Nothing written yet: a file smaller than one chunk never needs more than one write.
    Gathering,
    /// `O_DIRECT` is on; a thread writes full chunks while the next one fills.
    Direct(DirectWriter),
    /// Direct I/O was refused: chunks go through the page cache, writeback started behind them.
    Buffered {
        written_back: u64,
        writeback: Option<Box<Writeback>>,
    },
}

/// The file, the chunk filling, and where full chunks go.
struct Sink {
    file: File,
    chunk: Chunk,
    /// Bytes handed to the file (or its writer thread) so far: the offset of `chunk`.
    handed: u64,
    mode: Mode,
}

impl Sink {
    fn new(file: File) -> Sink {
        Sink {
            file,
            chunk: Chunk::new(),
            handed: 0,
            mode: Mode::Gathering,
        }
    }

    fn write(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let n = self.chunk.fill(data);
            data = &data[n..];
            if self.chunk.is_full() {
                self.hand_over()?;
            }
        }
        Ok(())
    }

    /// Passes the full chunk on and starts an empty one.
    fn hand_over(&mut self) -> io::Result<()> {
        if let Mode::Gathering = self.mode {
            self.mode = match DirectWriter::start(&self.file) {
                Some(w) => Mode::Direct(w),
                None => Mode::Buffered {
                    written_back: 0,
                    writeback: None,
                },
            };
        }
        let offset = self.handed;
        self.handed += WRITE_CHUNK as u64;
        match &mut self.mode {
            Mode::Gathering => unreachable!("a mode was chosen above"),
            Mode::Direct(w) => {
                let next = w.take_free()?;
                w.submit(offset, std::mem::replace(&mut self.chunk, next));
            }
            Mode::Buffered {
                written_back,
                writeback,
            } => {
                write_at(&self.file, self.chunk.filled(), offset)?;
                self.chunk.len = 0;
                if self.handed - *written_back >= 2 * WRITEBACK_WINDOW {
                    start_writeback(&self.file, writeback, written_back, self.handed);
                }
            }
        }
        Ok(())
    }

    /// Writes the last partial chunk; returns the file, ready for its fsync.
    fn finish(mut self) -> io::Result<File> {
        match std::mem::replace(&mut self.mode, Mode::Gathering) {
            Mode::Gathering => {}
            Mode::Direct(w) => {
                w.finish()?;
                // The tail is not a whole number of blocks: it goes through the page cache.
                set_direct(&self.file, false)?;
            }
            Mode::Buffered { writeback, .. } => {
                if let Some(w) = writeback {
                    w.stop();
                }
            }
        }
        write_at(&self.file, self.chunk.filled(), self.handed)?;
        Ok(self.file)
    }
}

/// `write_all_at`, naming in its error the byte where the file stopped taking data (a full
/// disk may take part of a write first).
fn write_at(file: &File, mut data: &[u8], mut offset: u64) -> io::Result<()> {
    while !data.is_empty() {
        match file.write_at(data, offset) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    format!("the file stopped at byte {offset}: it took no more data"),
                ));
            }
            Ok(n) => {
                data = &data[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("the file stopped at byte {offset}: {e}"),
                ));
            }
        }
    }
    Ok(())
}

/// Asks for the last window to be written back now and the window before it (written back by
/// then) to leave the page cache: a backup is not read again soon, and its pages would push the
/// database's out. Advice only: the final fsync is what makes the file durable, so a refusal
/// or a busy writeback thread just leaves it to that fsync.
fn start_writeback(
    file: &File,
    writeback: &mut Option<Box<Writeback>>,
    written_back: &mut u64,
    written: u64,
) {
    let end = written - WRITEBACK_WINDOW;
    let from = written_back.saturating_sub(WRITEBACK_WINDOW);
    if writeback.is_none() {
        *writeback = Writeback::start(file).map(Box::new);
    }
    match writeback {
        // Busy with the previous window: asked again after the next chunk.
        Some(w) if !w.request(from, end - from) => {}
        // Requested; or no thread could start, and it is tried again a window later.
        _ => *written_back = end,
    }
}

/// Chunks queued for the direct writer thread besides the one it is writing: the writer of the
/// file fills the next chunk meanwhile, so one is enough to keep the disk busy.
const DIRECT_QUEUE: usize = 1;

/// The thread that makes the direct writes: each blocks until the device has the data (3 ms per
/// 2 MiB here), which must not stall the thread that hashes and fills the next chunk.
struct DirectWriter {
    chunks: mpsc::SyncSender<(u64, Chunk)>,
    /// Written chunks come back for reuse, or the first error.
    done: mpsc::Receiver<io::Result<Chunk>>,
    thread: std::thread::JoinHandle<()>,
    /// Chunks allocated so far: a second one is made on the first hand-over, then they cycle.
    made: usize,
}

impl DirectWriter {
    /// Turns on `O_DIRECT` and starts the thread; `None` where either is refused.
    fn start(file: &File) -> Option<DirectWriter> {
        set_direct(file, true).ok()?;
        let clone = file.try_clone();
        let undo = || {
            let _ = set_direct(file, false);
        };
        let Ok(out) = clone else {
            undo();
            return None;
        };
        let (chunks, rx) = mpsc::sync_channel::<(u64, Chunk)>(DIRECT_QUEUE);
        let (tx, done) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("sfdb-direct-io".into())
            .spawn(move || {
                for (offset, mut chunk) in rx {
                    let written = write_direct(&out, chunk.filled(), offset);
                    chunk.len = 0;
                    let failed = written.is_err();
                    if tx.send(written.map(|()| chunk)).is_err() || failed {
                        return;
                    }
                }
            });
        match spawned {
            Ok(thread) => Some(DirectWriter {
                chunks,
                done,
                thread,
                made: 1,
            }),
            Err(_) => {
                undo();
                None
            }
        }
    }

    /// An empty chunk to fill next: a new one until two exist, then one the thread wrote.
    fn take_free(&mut self) -> io::Result<Chunk> {
        if self.made < 2 {
            self.made += 1;
            return Ok(Chunk::new());
        }
        match self.done.recv() {
            Ok(r) => r,
            Err(_) => Err(io::Error::other("the direct writer thread ended")),
        }
    }

    fn submit(&self, offset: u64, chunk: Chunk) {
        // A send fails only when the thread ended on an error, which the next `take_free` or
        // `finish` reports.
        let _ = self.chunks.send((offset, chunk));
    }

    /// Waits for every chunk to be written; the first error, if any.
    fn finish(self) -> io::Result<()> {
        let DirectWriter {
            chunks,
            done,
            thread,
            ..
        } = self;
        drop(chunks);
        let _ = thread.join();
        for r in done.try_iter() {
            r?;
        }
        Ok(())
    }
}

/// One direct write. Anything short of the whole chunk written sends the rest, and the rest of
/// the file, through the page cache: a filesystem that accepted `O_DIRECT` but refuses a write
/// of it (EINVAL: an alignment stricter than ours) is then written normally, and a disk that
/// filled up mid-chunk fails at the exact byte where it stopped taking data.
fn write_direct(file: &File, data: &[u8], offset: u64) -> io::Result<()> {
    let written = match file.write_at(data, offset) {
        Ok(n) if n == data.len() => return Ok(()),
        Ok(n) => n,
        Err(_) => 0,
    };
    set_direct(file, false)?;
    write_at(file, &data[written..], offset + written as u64)
}

/// Turns `O_DIRECT` on or off for the open file (and every descriptor cloned from it).
fn set_direct(file: &File, on: bool) -> io::Result<()> {
    let flags = rustix::fs::fcntl_getfl(file)?;
    let flags = if on {
        flags | rustix::fs::OFlags::DIRECT
    } else {
        flags - rustix::fs::OFlags::DIRECT
    };
    rustix::fs::fcntl_setfl(file, flags)?;
    Ok(())
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
        self.sink.as_mut().expect("not finished").write(buf)?;
        self.hasher.update(buf);
        self.bytes += buf.len() as u64;
        Ok(buf.len())
    }

    /// Data stays in the chunk until it is full or the file is finished: only `finish` makes
    /// the file complete, so nothing reads it before then.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.sink.take().is_some() {
            let _ = fs::remove_file(&self.temp_path);
            forget_partial(&self.temp_path);
        }
    }
}

fn already_exists() -> io::Error {
    io::Error::new(
        io::ErrorKind::AlreadyExists,
        "the file already exists (another run may have written it meanwhile); refusing to \
         overwrite it: move it away, or choose another name",
    )
}

/// Renames `from` to `to` unless `to` exists, in one step (`renameat2(RENAME_NOREPLACE)`): two
/// runs that picked the same name cannot replace each other's file.
fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    use rustix::io::Errno;
    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        Err(Errno::EXIST) => Err(already_exists()),
        // The kernel or the filesystem lacks the flag (NFS, some FUSE).
        Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => link_no_replace(from, to),
        Err(e) => Err(e.into()),
    }
}

/// The same without `RENAME_NOREPLACE`: a hard link never replaces a name, and the temporary
/// name goes once the final one is there. Where hard links are refused too, the final name is
/// first claimed with an empty file created exclusively, which only this run then replaces.
fn link_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    use rustix::io::Errno;
    let refused = match fs::hard_link(from, to) {
        Ok(()) => {
            // The file is complete under its final name; a temporary name left behind would
            // only be a second name of the same bytes.
            let _ = fs::remove_file(from);
            return Ok(());
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(already_exists()),
        Err(e) => e,
    };
    if !matches!(
        Errno::from_io_error(&refused),
        Some(Errno::PERM | Errno::OPNOTSUPP | Errno::MLINK)
    ) {
        return Err(refused);
    }
    match OpenOptions::new().write(true).create_new(true).open(to) {
        Ok(_) => fs::rename(from, to).inspect_err(|_| {
            let _ = fs::remove_file(to);
        }),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(already_exists()),
        Err(e) => Err(e),
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

    /// Writes 100 blocks of 10 000 bytes (not a multiple of any block size) and checks the
    /// result byte for byte.
    fn write_blocks(f: &mut AtomicFile) -> (Vec<u8>, Sha256) {
        let block: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        let mut expected = Sha256::new();
        for _ in 0..100 {
            f.write_all(&block).unwrap();
            expected.update(&block);
        }
        (block, expected)
    }

    fn check_blocks(path: &Path, s: FileSummary, block: &[u8], expected: Sha256) {
        assert_eq!(s.bytes, 1_000_000);
        assert_eq!(s.sha256, hex::encode(expected.finalize()));
        let content = fs::read(path).unwrap();
        assert_eq!(content.len(), 1_000_000);
        assert!(content.chunks(10_000).all(|c| c == block));
    }

    /// Whether the filesystem of `dir` takes `O_DIRECT` (tmpfs does not).
    fn takes_direct_io(dir: &Path) -> bool {
        let probe = dir.join("probe");
        let f = File::create(&probe).unwrap();
        let ok = set_direct(&f, true).is_ok();
        fs::remove_file(probe).unwrap();
        ok
    }

    #[test]
    fn a_file_of_many_chunks_goes_direct_where_it_can_and_stays_exact() {
        // Next to the sources rather than in /tmp, which is tmpfs on some systems.
        let dir = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR")).unwrap();
        let path = dir.path().join("big.sql");
        let mut f = AtomicFile::create(&path, 0o600).unwrap();
        let (block, expected) = write_blocks(&mut f);
        let direct = takes_direct_io(dir.path());
        assert_eq!(
            f.went_direct(),
            direct,
            "direct I/O where the filesystem has it"
        );
        let s = f.finish().unwrap();
        check_blocks(&path, s, &block, expected);
    }

    #[test]
    fn without_direct_io_a_large_file_is_written_back_while_written_and_stays_exact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.sql");
        let mut f = AtomicFile::create(&path, 0o600).unwrap();
        // As where the filesystem refuses O_DIRECT.
        let sink = f.sink.as_mut().unwrap();
        sink.mode = Mode::Buffered {
            written_back: 0,
            writeback: None,
        };
        let (block, expected) = write_blocks(&mut f);
        match &f.sink.as_ref().unwrap().mode {
            Mode::Buffered {
                written_back,
                writeback,
            } => {
                assert!(writeback.is_some(), "a writeback thread started");
                assert!(*written_back > 0, "writeback was requested");
            }
            _ => panic!("stays buffered"),
        }
        let s = f.finish().unwrap();
        check_blocks(&path, s, &block, expected);
    }

    #[test]
    fn a_file_smaller_than_a_chunk_is_one_plain_write() {
        let dir = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR")).unwrap();
        let path = dir.path().join("small.sql");
        let mut f = AtomicFile::create(&path, 0o600).unwrap();
        f.write_all(&[7u8; WRITE_CHUNK - 1]).unwrap();
        assert!(matches!(f.sink.as_ref().unwrap().mode, Mode::Gathering));
        let s = f.finish().unwrap();
        assert_eq!(s.bytes, WRITE_CHUNK as u64 - 1);
        assert_eq!(fs::read(&path).unwrap(), vec![7u8; WRITE_CHUNK - 1]);
    }

    /// Two runs that picked the same name in the same second: the one finishing second fails
    /// and the first one's file keeps its content.
    #[test]
    fn finish_never_replaces_a_file_that_appeared_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop_20260105_120000_h.sql");
        let mut f = AtomicFile::create(&path, 0o600).unwrap();
        f.write_all(b"second run").unwrap();
        fs::write(&path, b"first run").unwrap();
        let temp = f.temp_path().to_owned();
        let e = f.finish().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{e}");
        assert!(e.to_string().contains("refusing to overwrite"), "{e}");
        assert_eq!(fs::read(&path).unwrap(), b"first run");
        assert!(!temp.exists(), "the temporary file is removed");

        // A profile saved again replaces its file.
        let mut f = AtomicFile::replacing(&path, 0o600).unwrap();
        f.write_all(b"replaced").unwrap();
        f.finish().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"replaced");
    }

    /// The path taken where `RENAME_NOREPLACE` is refused: the same guarantee.
    #[test]
    fn the_fallback_without_rename_noreplace_never_replaces_either() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (dir.path().join("from"), dir.path().join("to"));
        fs::write(&from, b"new").unwrap();
        fs::write(&to, b"old").unwrap();
        let e = link_no_replace(&from, &to).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{e}");
        assert_eq!(fs::read(&to).unwrap(), b"old");
        fs::remove_file(&to).unwrap();
        link_no_replace(&from, &to).unwrap();
        assert_eq!(fs::read(&to).unwrap(), b"new");
        assert!(!from.exists());
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
