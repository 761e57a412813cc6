//! Secrets hygiene of the binary: a running process cannot be core-dumped (nor read through
//! `/proc/<pid>/mem` by other processes of its user), and `crypto decrypt-file` leaves no
//! plaintext behind when it fails or is interrupted mid-way.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sfdbtools::encrypt::{EncryptWriter, Passphrase};
use tempfile::TempDir;

const KEY: &str = "secrets test key";

/// A chunked container of `len` bytes of plaintext.
fn container(len: usize) -> Vec<u8> {
    let plain: Vec<u8> = (0..len).map(|i| (i * 7 + i / 251) as u8).collect();
    let mut w = EncryptWriter::new(Vec::new(), &Passphrase::from(KEY)).unwrap();
    w.write_all(&plain).unwrap();
    w.finish().unwrap().0
}

fn decrypt_file(input: &Path, output: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sfdbtools"));
    c.env_remove("SFDB_ENCRYPTION_KEY")
        .args(["-q", "crypto", "decrypt-file", "-k", KEY, "-i"])
        .arg(input)
        .arg("-o")
        .arg(output);
    c
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A `crypto decrypt-file` reading from a fifo that the test feeds: it has read (and is
/// decrypting) the first megabyte of a larger container when this returns, and waits for
/// more. `uid`: the account it runs as.
struct Stalled {
    dir: TempDir,
    child: Child,
    /// The fifo's writing end: open, so the child waits instead of seeing the end.
    _feed: File,
}

impl Stalled {
    fn start(uid: Option<u32>) -> Stalled {
        let dir = TempDir::new().unwrap();
        // Another account must be able to create its output here and open the fifo.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let fifo = dir.path().join("in.enc");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o666),
            0,
        )
        .unwrap();
        fs::set_permissions(&fifo, fs::Permissions::from_mode(0o666)).unwrap();
        let mut command = decrypt_file(&fifo, &dir.path().join("out.sql"));
        command.stdout(Stdio::null()).stderr(Stdio::piped());
        if let Some(uid) = uid {
            command.uid(uid).gid(uid);
        }
        let child = command.spawn().unwrap();
        // Read-write: opening does not wait for the reader, and the fifo never reports its
        // end while this test holds it.
        let feed = File::options().read(true).write(true).open(&fifo).unwrap();
        let mut writer = feed.try_clone().unwrap();
        // A pipe holds 64 KiB: once this thread is done, the child has read nearly all of it.
        // On a thread: a child that failed early would never read, and the test says why.
        let fed = std::thread::spawn(move || {
            let data = container(4 << 20);
            writer.write_all(&data[..1 << 20]).unwrap();
        });
        let partial = dir.path().join(format!(".out.sql.partial-{}", child.id()));
        let mut stalled = Stalled {
            dir,
            child,
            _feed: feed,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !(fed.is_finished() && partial.exists()) {
            if stalled.child.try_wait().unwrap().is_some() {
                let mut err = String::new();
                let stderr = stalled.child.stderr.as_mut().unwrap();
                std::io::Read::read_to_string(stderr, &mut err).unwrap();
                panic!("decrypt-file ended before reading its input: {err}");
            }
            assert!(Instant::now() < deadline, "the input was not read");
            std::thread::sleep(Duration::from_millis(20));
        }
        stalled
    }

    fn signal(&self, signal: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, signal).unwrap();
    }
}

impl Drop for Stalled {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A non-dumpable process's `/proc/<pid>` files belong to root instead of its own user: that
/// is how the kernel shows it to others. Run as an account other than root (`nobody` when
/// the test runs as root), so the two cases differ.
#[test]
fn the_process_cannot_be_core_dumped() {
    let me = rustix::process::getuid().as_raw();
    let (uid, expected_other) = if me == 0 {
        (Some(65534), 65534)
    } else {
        (None, me)
    };
    let stalled = Stalled::start(uid);
    let status = PathBuf::from(format!("/proc/{}/status", stalled.child.id()));
    let text = fs::read_to_string(&status).unwrap();
    let real_uid = text
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap();
    assert_eq!(real_uid, expected_other.to_string(), "runs as {uid:?}");
    assert_eq!(
        fs::metadata(&status).unwrap().uid(),
        0,
        "the process of uid {expected_other} is dumpable: its /proc files are its own"
    );
}

/// SIGINT while the plaintext is being written: exit 130, and neither the output nor its
/// temporary file is left (the signal used to end the process with the temporary file on disk).
#[test]
fn an_interrupted_decrypt_file_leaves_nothing() {
    let mut stalled = Stalled::start(None);
    stalled.signal(rustix::process::Signal::INT);
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = stalled.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "still running after SIGINT");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(stalled.child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("SIGINT"), "{err}");
    assert_eq!(names(stalled.dir.path()), vec!["in.enc"], "{err}");
}

/// A container whose last chunk is corrupted: the first chunks decrypt and are written, then
/// the failure; the run fails and leaves neither the output nor a temporary file.
#[test]
fn a_decrypt_file_failing_in_its_last_chunk_leaves_nothing() {
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("in.enc");
    let mut data = container(5 << 20);
    let n = data.len();
    data[n - 20] ^= 1;
    fs::write(&input, &data).unwrap();
    let out = decrypt_file(&input, &dir.path().join("out.sql"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("in.enc"), "{err}");
    assert_eq!(names(dir.path()), vec!["in.enc"], "{err}");
}

/// An existing output file is never replaced, and stays as it was.
#[test]
fn decrypt_file_does_not_replace_an_existing_file() {
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("in.enc");
    fs::write(&input, container(1000)).unwrap();
    let output = dir.path().join("out.sql");
    fs::write(&output, "kept").unwrap();
    let out = decrypt_file(&input, &output).output().unwrap();
    assert!(!out.status.success());
    assert_eq!(fs::read_to_string(&output).unwrap(), "kept");
    assert_eq!(names(dir.path()), vec!["in.enc", "out.sql"]);
}
