//! Faults of the output disk: full in the middle of a dump, and mounted read-only. Both use a
//! small tmpfs mounted for the test (the suite runs as root in CI; elsewhere it says so).
//! And a file of the same name appearing while a dump runs: never overwritten.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{TestDb, backup, backup_command, server};
use mysql_async::prelude::*;

/// A tmpfs of `size` mounted on a fresh directory; unmounted (lazily, so a test failing with a
/// file still open cannot leak it) when dropped.
struct Mount {
    dir: tempfile::TempDir,
}

impl Mount {
    fn new(options: &str) -> Mount {
        let dir = tempfile::Builder::new()
            .prefix("sfdb-mnt-")
            .tempdir()
            .unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "these tests mount a small tmpfs and need root (CI runs as root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Mount { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// The disk filling up mid-dump fails the run with the file, the byte offset and the OS error;
/// nothing stays under a final name (not even the temporary file, so the space is given back),
/// no metadata claims success, and the server keeps no lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_the_dump_naming_file_and_offset() {
    let db = TestDb::new("diskfull").await;
    // About 8 MB of SQL into a 2 MiB filesystem.
    db.exec(
        "CREATE TABLE big (id INT PRIMARY KEY, pad CHAR(200));
         INSERT INTO big SELECT seq, REPEAT('f', 200) FROM seq_1_to_40000;",
    )
    .await;
    let mount = Mount::new("size=2m");
    let out = backup(
        &["single", "--database", &db.name, "-c", "none", "-j", "2"],
        mount.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(
        stderr.contains(&mount.path().display().to_string()) && stderr.contains("at byte"),
        "the message must name the file and the byte offset:\n{stderr}"
    );
    // Where the disk stopped taking data: 2 MiB of filesystem, less what tmpfs keeps.
    let stopped: u64 = stderr
        .split("the file stopped at byte ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no position where the file stopped:\n{stderr}"));
    assert!(stopped > 0 && stopped <= 2 << 20, "{stderr}");
    let left = common::files_in(mount.path());
    assert!(left.is_empty(), "files left behind: {left:?}");
    common::assert_no_lock_left(&db.name, "big").await;
}

/// A read-only output directory fails before any connection or lock is taken, naming it.
#[test]
fn a_read_only_directory_fails_before_connecting() {
    let mount = Mount::new("size=1m,ro");
    let target: PathBuf = mount.path().join("20260105");
    let out = server()
        .sfdbtools()
        .args([
            "-q",
            "db-backup",
            "all",
            "-t",
            "T",
            "--host=127.0.0.1",
            "--port=1",
        ])
        .arg("-o")
        .arg(&target)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Read-only file system"), "{stderr}");
    assert!(
        stderr.contains(&target.display().to_string()),
        "the message must name the directory:\n{stderr}"
    );
    assert!(
        !stderr.contains("cannot connect"),
        "must fail first: {stderr}"
    );
}

/// Two runs that picked the same file name (started in the same second): the one finishing
/// second fails naming the file, and the other's file keeps its content. The dump here is
/// held on a table lock until the other file is in place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_appears_under_the_final_name_is_never_replaced() {
    let db = TestDb::new("samename").await;
    common::create_big_table(&db).await;
    let dir = common::out_dir();
    let mut lock = db.conn().await;
    lock.query_drop("LOCK TABLES big WRITE").await.unwrap();
    let child = backup_command(
        &[
            "single",
            "--database",
            &db.name,
            "-c",
            "none",
            "--consistency",
            "none",
            "--filename",
            "same.sql",
        ],
        dir.path(),
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    common::wait_for_statement_on_big(
        &db.name,
        "INFO LIKE 'SELECT%'",
        "the dump never asked for the rows",
    )
    .await;
    // The temporary file exists by now, its name taken from the final one.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !common::files_in(dir.path())
        .iter()
        .any(|f| f.starts_with(".same.sql.partial-"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no temporary file: {:?}",
            common::files_in(dir.path())
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let other = dir.path().join("same.sql");
    std::fs::write(&other, b"-- the other run's dump\n").unwrap();
    lock.query_drop("UNLOCK TABLES").await.unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&other.display().to_string()) && stderr.contains("already exists"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&other).unwrap(),
        b"-- the other run's dump\n",
        "the other run's file must stay as it was"
    );
    assert_eq!(
        common::files_in(dir.path()),
        vec!["same.sql".to_owned()],
        "no temporary file or metadata left"
    );
}
