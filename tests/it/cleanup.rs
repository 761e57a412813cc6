//! `backup.cleanup.enabled`: after a successful backup the old sets under the config's base
//! directory are removed by the rules of `cleanup` (names the tool writes, with their
//! metadata; never the set just written) and listed; a failed run or a dry run removes nothing.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use common::{TestDb, assert_success, out_dir, server, stderr};

/// Sets `path`'s modification time `days` days back.
fn age(path: &Path, days: u64) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(days * 86_400))
        .unwrap();
}

/// Writes `name` under `dir`, `days` old.
fn file(dir: &Path, name: &str, days: u64) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, "x").unwrap();
    age(&path, days);
    path
}

/// A base directory as years of nightly runs and other people leave it.
struct Base {
    dir: tempfile::TempDir,
    /// The files of two old sets of ours: a dump in a dated directory with its metadata and
    /// grants file, and one at the top with its metadata.
    old_sets: Vec<PathBuf>,
    /// Everything else: a set of ours from yesterday, old `.sql` files that are not ours or
    /// have no metadata, a metadata file that names another dump, a text file.
    others: Vec<PathBuf>,
}

impl Base {
    fn new() -> Base {
        let dir = out_dir();
        let b = dir.path();
        let day = b.join("20200101");
        let old_sets = vec![
            file(&day, "shop_20200101_010000_db01.sql.zst", 40),
            file(&day, "shop_20200101_010000_db01.sql.zst.meta.json", 40),
            file(&day, "shop_20200101_010000_db01_users.sql", 40),
            file(b, "crm_20200102_010000_db01.sql", 40),
            file(b, "crm_20200102_010000_db01.sql.meta.json", 40),
        ];
        let others = vec![
            file(b, "recent_20260101_010000_db01.sql", 1),
            file(b, "recent_20260101_010000_db01.sql.meta.json", 1),
            file(b, "notes.sql", 40),
            file(b, "export.sql", 40),
            file(b, "export.sql.meta.json", 40),
            file(&day, "orphan_20200101_010000_db01.sql", 40),
            file(b, "readme.txt", 40),
        ];
        Base {
            dir,
            old_sets,
            others,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A config that cleans this base after 30 days, and keeps the backups of this test
    /// apart (their own pattern under the base).
    fn config(&self) -> PathBuf {
        let config = self.path().join("config.yaml");
        std::fs::write(
            &config,
            format!(
                "backup:\n  output:\n    base_directory: {}\n    structure: {{pattern: \"new_{{timestamp}}/\"}}\n  \
                 cleanup:\n    enabled: true\n    days: 30\n",
                self.path().display()
            ),
        )
        .unwrap();
        config
    }

    fn assert_untouched(&self, what: &str) {
        for f in self.old_sets.iter().chain(&self.others) {
            assert!(f.exists(), "{what}: {} was removed", f.display());
        }
    }
}

/// `sfdbtools db-backup single --database DB -t TEST <extra>` under `config` (no `-o`: the
/// config's base directory and pattern).
fn backup(config: &Path, db: &str, extra: &[&str]) -> Output {
    let mut c: Command = server().sfdbtools();
    c.env("SFDB_APPS_CONFIG", config)
        .args([
            "db-backup",
            "single",
            "--database",
            db,
            "-t",
            "TEST",
            "-c",
            "none",
        ])
        .args(extra)
        .args(server().connection_args());
    c.output().expect("run sfdbtools")
}

#[tokio::test]
async fn a_successful_backup_removes_the_old_sets_and_lists_them() {
    let db = TestDb::new("cln_after").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1)")
        .await;
    let base = Base::new();
    let config = base.config();

    let out = backup(&config, &db.name, &[]);
    assert_success(&out, "backup with cleanup");
    for f in &base.old_sets {
        assert!(!f.exists(), "{} was not removed", f.display());
    }
    for f in &base.others {
        assert!(f.exists(), "{} was removed", f.display());
    }
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "cleanup: 2 backup set(s) older than 30 day(s) under {}",
            base.path().display()
        )),
        "{err}"
    );
    for f in &base.old_sets {
        assert!(
            err.contains(&format!("removed {}", f.display())),
            "{} not listed: {err}",
            f.display()
        );
    }
    // The run's own files are there, under the pattern.
    let new: Vec<_> = std::fs::read_dir(base.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("new_"))
        .collect();
    assert_eq!(new.len(), 1, "{new:?}");
    let dump = common::dump_file_in(&new[0]);
    assert!(common::metadata_of(&dump)["backup"]["file"].is_string());

    // Nothing left to remove, and with -q a good run says nothing.
    let out = backup(&config, &db.name, &["-q", "-f", "again"]);
    assert_success(&out, "quiet backup with cleanup");
    assert_eq!(
        stderr(&out),
        "",
        "a quiet run that went well writes nothing"
    );
}

#[tokio::test]
async fn a_failed_or_dry_backup_removes_nothing() {
    let db = TestDb::new("cln_fail").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1)")
        .await;
    // A first backup takes the name; the old sets come after it.
    let taken = out_dir();
    let fixed = [
        "-o",
        taken.path().to_str().unwrap(),
        "-f",
        "fixed.sql",
        "-q",
    ];
    let out = backup(Path::new("/dev/null"), &db.name, &fixed);
    assert_success(&out, "first backup");
    let base = Base::new();
    let config = base.config();

    // The run dumps everything, then cannot put its file under the name that is taken.
    let out = backup(&config, &db.name, &fixed);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("fixed.sql"), "{}", stderr(&out));
    base.assert_untouched("a backup that failed");

    let out = backup(&config, &format!("{}_missing", db.name), &["-q"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    base.assert_untouched("a backup of a database that does not exist");

    let out = backup(&config, &db.name, &["-q", "-d"]);
    assert_success(&out, "dry run");
    base.assert_untouched("a dry run");
}
