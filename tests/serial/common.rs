//! The harness of the `serial` binary: the shared one (`tests/common`, re-exported whole, so
//! tests say `common::…` for either), the guard that runs this binary's tests one at a time,
//! and the helpers only these tests use. A helper that the other binary starts to use moves to
//! `tests/common`; one that no test uses any more is flagged by the compiler (there is no
//! blanket `dead_code` allow).

#[path = "../common/mod.rs"]
mod shared;

pub use shared::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One test at a time on this binary's server, held by every test that reaches it (why each
/// needs the server to itself is in `main.rs`). For the DDL-heavy tests (schemas of every
/// kind, then restores of them): InnoDB answers DDL that runs while other DDL does (an `ALTER
/// TABLE` that copies the table, foreign keys) with ERROR 1213 on its dictionary at times,
/// which is the server's behaviour under load, not the code under test. Hold the guard for the
/// whole test, declared before its databases so that they are dropped under it.
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    SERIAL.lock().await
}

impl Server {
    /// Shuts the private server down cleanly and starts it again on the same port and datadir
    /// (every connection is dropped). None for an external server, which is not ours to restart.
    pub fn restart(&self) -> Option<()> {
        let dir = self.dir.as_ref()?;
        let out = Command::new(root().join("scripts/sandbox.sh"))
            .arg("restart")
            .arg(dir)
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/sandbox.sh restart");
        assert!(out.status.success(), "the test server did not restart");
        Some(())
    }
}

/// Loads `fixtures/fidelity/*.sql` in name order into `db`; the corpus must load without any
/// error or warning.
pub fn load_corpus(db: &str) {
    let dir = root().join("fixtures/fidelity");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 3,
        "the fidelity corpus is missing in {}",
        dir.display()
    );
    for f in files {
        let out = server().load_file(db, &f);
        assert_success(&out, &format!("loading {}", f.display()));
        let noise = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            noise.trim().is_empty(),
            "loading {} printed:\n{noise}",
            f.display()
        );
    }
}

/// `db-backup single` of `db` into `dir`, plain, which must succeed; the dump's path.
pub fn dump_single(db: &str, dir: &Path, extra: &[&str]) -> PathBuf {
    dump_single_said(db, dir, extra).0
}

/// [`dump_single`], with what the run printed.
pub fn dump_single_said(db: &str, dir: &Path, extra: &[&str]) -> (PathBuf, String) {
    let out = backup_single(db, dir, extra);
    assert_success(&out, "sfdbtools db-backup single");
    let sql: Vec<String> = files_in(dir)
        .into_iter()
        .filter(|f| f.ends_with(".sql") && is_dump_file(f))
        .collect();
    assert_eq!(sql.len(), 1, "one dump file expected, found {sql:?}");
    (dir.join(&sql[0]), output_text(&out))
}

/// `db-backup single` of `db` into `dir`, plain, with `extra`, whatever its outcome.
pub fn backup_single(db: &str, dir: &Path, extra: &[&str]) -> std::process::Output {
    server()
        .sfdbtools()
        .args([
            "-q",
            "db-backup",
            "single",
            "--database",
            db,
            "-t",
            "TEST-1",
        ])
        .args(server().connection_args())
        .arg("-o")
        .arg(dir)
        .args(["-c", "none", "--skip-encrypt"])
        .args(extra)
        .output()
        .unwrap()
}
