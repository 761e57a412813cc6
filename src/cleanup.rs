//! `cleanup`: removes whole backup sets (dump, `.meta.json`, `_users.sql[.enc]`, the record
//! `verify` leaves) older than N days under a base directory, and says what it removes. What
//! a set is, and finding every one under a directory, serve `list` too.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};

/// The files of one backup: the dump and its companions that exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupSet {
    pub dump: PathBuf,
    pub companions: Vec<PathBuf>,
}

/// True for the name of a dump file: `….sql` with an optional codec and `.enc` suffix.
pub fn is_dump_name(name: &str) -> bool {
    let mut rest = name.strip_suffix(".enc").unwrap_or(name);
    for ext in [".gz", ".zst", ".xz", ".zlib"] {
        if let Some(r) = rest.strip_suffix(ext) {
            rest = r;
            break;
        }
    }
    rest.ends_with(".sql") && !rest.ends_with("_users.sql") && !name.starts_with('.')
}

/// The grants file that goes with a dump: `<name without .enc, codec ext and .sql>_users.sql`.
fn grants_names(dump_name: &str) -> [String; 2] {
    let mut base = dump_name.strip_suffix(".enc").unwrap_or(dump_name);
    for ext in [".gz", ".zst", ".xz", ".zlib"] {
        if let Some(b) = base.strip_suffix(ext) {
            base = b;
            break;
        }
    }
    let base = base.strip_suffix(".sql").unwrap_or(base);
    [format!("{base}_users.sql"), format!("{base}_users.sql.enc")]
}

/// A shell-style glob on a file name: `*` any run, `?` one character.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// What a scan found: the old sets, and what it could not look into.
#[derive(Debug, Default)]
pub struct Scan {
    pub sets: Vec<BackupSet>,
    /// A directory or entry that could not be read, and why: its backups were not considered.
    pub warnings: Vec<String>,
}

/// Backup sets under `base` whose dump was last modified more than `days` days ago.
///
/// A file counts as a backup only when its name is one the tool generates (or its metadata
/// names it: a `--filename` backup) and its `<name>.meta.json` is there: a `.sql` file of
/// something else (migrations, notes) is never taken. `days` is at least 1. A subdirectory
/// that cannot be listed is skipped with a warning; `base` itself must be readable.
pub fn find_old(base: &Path, days: u64, pattern: Option<&str>) -> Result<Scan> {
    if days == 0 {
        return Err(Error::Usage(
            "cleanup --days 0 would remove every backup set, the newest included: give at \
             least 1 (or fix backup.cleanup.days in the config file)"
                .into(),
        ));
    }
    let age = days
        .checked_mul(86_400)
        .map(Duration::from_secs)
        .ok_or_else(|| Error::Usage(format!("cleanup --days {days} is too large")))?;
    let Some(cutoff) = SystemTime::now().checked_sub(age) else {
        // Before the clock's beginning: nothing can be that old.
        return Ok(Scan::default());
    };
    scan(base, pattern, |modified| {
        modified.is_some_and(|m| m < cutoff)
    })
}

/// Every backup set under `base` and its subdirectories, by the rules of [`find_old`],
/// whatever its age (`list`).
pub fn find_sets(base: &Path) -> Result<Scan> {
    scan(base, None, |_| true)
}

/// The sets under `base` whose dump's modification time `take` accepts (None: unknown).
fn scan(
    base: &Path,
    pattern: Option<&str>,
    take: impl Fn(Option<SystemTime>) -> bool,
) -> Result<Scan> {
    if crate::s3::is_s3(base) {
        return scan_objects(base, pattern, take);
    }
    let mut scan = Scan::default();
    let mut dirs = vec![base.to_owned()];
    while let Some(dir) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if dir == base => return Err(Error::file("listing", dir, e)),
            Err(e) => {
                scan.warnings.push(format!(
                    "cannot list {}: {e}; the backups in it were not considered",
                    dir.display()
                ));
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    scan.warnings.push(format!(
                        "cannot read an entry of {}: {e}; it was not considered",
                        dir.display()
                    ));
                    continue;
                }
            };
            let path = entry.path();
            let meta = match entry.metadata() {
                Ok(m) => m,
                Err(e) => {
                    scan.warnings.push(format!(
                        "cannot look at {}: {e}; it was not considered",
                        path.display()
                    ));
                    continue;
                }
            };
            if meta.is_dir() {
                dirs.push(path);
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            if !meta.is_file()
                || !is_dump_name(&name)
                || pattern.is_some_and(|p| !glob_match(p, &name))
            {
                continue;
            }
            if !take(meta.modified().ok()) {
                continue;
            }
            let metadata = dir.join(format!("{name}.meta.json"));
            if !metadata.is_file()
                || !(crate::dump::naming::is_generated(&name) || names_itself(&path, &name))
            {
                continue;
            }
            scan.sets
                .push(set_of(path, metadata, &name, |c: &Path| c.exists()));
        }
    }
    scan.sets.sort_by(|a, b| a.dump.cmp(&b.dump));
    Ok(scan)
}

/// [`scan`] of a bucket's prefix (`s3://bucket/prefix`), its "subdirectories" (the keys'
/// `/`-separated levels) included: the same rules, on the objects' keys and their upload
/// time, the companions looked for beside the dump. An object is only ever an object (no
/// link, device or directory to step around), and one listing shows them all.
fn scan_objects(
    base: &Path,
    pattern: Option<&str>,
    take: impl Fn(Option<SystemTime>) -> bool,
) -> Result<Scan> {
    let mut sets = Vec::new();
    let bucket = crate::s3::bucket_of(base).map_err(|e| Error::file("listing", base, e))?;
    let objects = bucket
        .list_under(base)
        .map_err(|e| Error::file("listing", base, e))?;
    let present: std::collections::HashSet<&Path> =
        objects.iter().map(|o| o.url.as_path()).collect();
    for object in &objects {
        let path = &object.url;
        let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        if !is_dump_name(&name)
            || pattern.is_some_and(|p| !glob_match(p, &name))
            || !take(Some(object.modified))
        {
            continue;
        }
        let metadata = crate::metadata::Recorded::path_for(path);
        if !present.contains(metadata.as_path())
            || !(crate::dump::naming::is_generated(&name) || names_itself(path, &name))
        {
            continue;
        }
        sets.push(set_of(path.clone(), metadata, &name, |c: &Path| {
            present.contains(c)
        }));
    }
    sets.sort_by(|a, b| a.dump.cmp(&b.dump));
    Ok(Scan {
        sets,
        warnings: Vec::new(),
    })
}

/// The set of the dump `dump` (file name `name`), whose metadata `metadata` is there: the
/// metadata, the accounts files beside it that `there` finds, and verify's record when it is
/// ours (a file of that name holding something else stays). For files and objects alike.
fn set_of(
    dump: PathBuf,
    metadata: PathBuf,
    name: &str,
    there: impl Fn(&Path) -> bool,
) -> BackupSet {
    let dir = dump.parent().unwrap_or(Path::new("")).to_owned();
    let mut companions = vec![metadata];
    companions.extend(
        grants_names(name)
            .into_iter()
            .map(|g| dir.join(g))
            .filter(|g| there(g)),
    );
    let record = crate::verify::record::path_for(&dump);
    if there(&record) && crate::verify::record::is_ours(&record) {
        companions.push(record);
    }
    BackupSet { dump, companions }
}

/// Removes one file or object of a set.
fn remove_one(path: &Path) -> std::io::Result<()> {
    if crate::s3::is_s3(path) {
        return crate::s3::bucket_of(path)?.remove(path);
    }
    std::fs::remove_file(path)
}

/// Whether the metadata file records `name` as its dump (`backup.file`): how a backup made
/// with `--filename` is told from a file that only looks like one.
fn names_itself(dump: &Path, name: &str) -> bool {
    let Ok(Some(recorded)) = crate::metadata::Recorded::read(dump) else {
        return false;
    };
    recorded
        .file()
        .and_then(|f| Path::new(f).file_name().map(|n| n == name))
        .unwrap_or(false)
}

/// Removes the sets; stops at the first file that cannot be removed, naming it.
pub fn remove(sets: &[BackupSet]) -> Result<()> {
    for set in sets {
        for f in std::iter::once(&set.dump).chain(&set.companions) {
            remove_one(f).map_err(|e| Error::file("removing", f.clone(), e))?;
        }
    }
    Ok(())
}

/// What a cleanup after a backup did.
#[derive(Debug, Default)]
pub struct AfterBackup {
    /// The files removed, set by set.
    pub removed: Vec<PathBuf>,
    /// How many sets were looked at for removal (old enough, not the run's own).
    pub sets: usize,
    /// What could not be looked at or removed, each naming its file or directory.
    pub problems: Vec<String>,
}

/// The cleanup after a successful backup (config `backup.cleanup.enabled`): the sets under
/// `base` older than `days`, by the rules of [`find_old`], except a set holding one of
/// `written` (the files the run just wrote, whatever their age says: a clock set back must
/// not make a backup remove itself). Unlike [`remove`] nothing stops it: a file that cannot
/// be removed, a directory that cannot be listed are `problems`, and the rest goes on, since
/// the backup it follows is good either way.
pub fn after_backup(base: &Path, days: u64, written: &[PathBuf]) -> AfterBackup {
    use std::os::unix::fs::MetadataExt;
    let mut done = AfterBackup::default();
    let scan = match find_old(base, days, None) {
        Ok(scan) => scan,
        Err(e) => {
            done.problems.push(e.to_string());
            return done;
        }
    };
    done.problems = scan.warnings;
    // By identity, not by name: the run may have named its directory otherwise (relative,
    // through a symbolic link) than the scan of the base directory does.
    let identity = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
    let own: Vec<(u64, u64)> = written.iter().filter_map(|p| identity(p)).collect();
    for set in scan.sets {
        let files: Vec<&PathBuf> = std::iter::once(&set.dump).chain(&set.companions).collect();
        if files
            .iter()
            .any(|f| written.contains(f) || identity(f).is_some_and(|i| own.contains(&i)))
        {
            continue;
        }
        done.sets += 1;
        for f in files {
            match remove_one(f) {
                Ok(()) => done.removed.push(f.clone()),
                Err(e) => done.problems.push(format!(
                    "cannot remove {}: {e}; remove it by hand or fix its directory's permissions",
                    f.display()
                )),
            }
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dump_names_are_recognised() {
        assert!(is_dump_name("shop_20260105_120000_db01.sql.zst.enc"));
        assert!(is_dump_name("all_db01_20260105_120000_3db.sql"));
        assert!(!is_dump_name(
            "shop_20260105_120000_db01.sql.zst.enc.meta.json"
        ));
        assert!(!is_dump_name("shop_20260105_120000_db01_users.sql"));
        assert!(!is_dump_name(".shop.sql.partial-12"));
        assert_eq!(
            grants_names("shop_1_2_h.sql.zst.enc"),
            [
                "shop_1_2_h_users.sql".to_owned(),
                "shop_1_2_h_users.sql.enc".to_owned()
            ]
        );
    }

    /// Writes `name` (and its metadata unless `bare`) in `dir`, modified `days` days ago.
    fn backup_file(dir: &Path, name: &str, days: u64, bare: bool) -> PathBuf {
        let path = dir.join(name);
        let mut files = vec![path.clone()];
        if !bare {
            files.push(dir.join(format!("{name}.meta.json")));
        }
        for f in &files {
            std::fs::write(f, b"{}").unwrap();
            std::fs::File::options()
                .write(true)
                .open(f)
                .unwrap()
                .set_modified(SystemTime::now() - Duration::from_secs(days * 86_400))
                .unwrap();
        }
        path
    }

    fn dumps(scan: &Scan) -> Vec<PathBuf> {
        scan.sets.iter().map(|s| s.dump.clone()).collect()
    }

    /// Run in a home directory, cleanup once planned to remove `notes.sql` and a project's
    /// migrations: only names the tool writes, with their metadata, are backups.
    #[test]
    fn only_the_tools_own_files_with_metadata_are_taken() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let migrations = base.join("projects/app/migrations");
        std::fs::create_dir_all(&migrations).unwrap();
        let ours = backup_file(base, "shop_20200101_010000_h.sql.zst", 40, false);
        backup_file(base, "notes.sql", 40, true);
        backup_file(&migrations, "001_init.sql", 40, true);
        // Something else's file next to a metadata-looking file: its name is not ours, and
        // the metadata does not name it.
        backup_file(base, "export.sql", 40, false);
        // Our name but no metadata: not known to be a backup.
        backup_file(base, "crm_20200101_010000_h.sql", 40, true);
        // A --filename backup: its metadata names it.
        let custom = backup_file(base, "nightly.sql.gz", 40, false);
        std::fs::write(
            base.join("nightly.sql.gz.meta.json"),
            br#"{"backup": {"file": "/var/backups/x/nightly.sql.gz"}}"#,
        )
        .unwrap();
        let scan = find_old(base, 30, None).unwrap();
        let mut want = vec![ours.clone(), custom.clone()];
        want.sort();
        assert_eq!(dumps(&scan), want);
        assert!(scan.warnings.is_empty(), "{:?}", scan.warnings);
        remove(&scan.sets).unwrap();
        assert!(!ours.exists() && !custom.exists());
        for left in ["notes.sql", "export.sql", "crm_20200101_010000_h.sql"] {
            assert!(base.join(left).exists(), "{left} must stay");
        }
        assert!(migrations.join("001_init.sql").exists());
    }

    /// The record `verify` leaves goes with its set; a file of that name that is not our
    /// record (something else wrote it) stays, and never makes a set of a dump.
    #[test]
    fn the_verify_record_goes_with_its_set_and_nothing_else_of_that_name() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let ours = backup_file(base, "shop_20200101_010000_h.sql", 40, false);
        let record = crate::verify::record::path_for(&ours);
        std::fs::write(
            &record,
            serde_json::to_vec(&serde_json::json!({
                "record": crate::verify::record::MARKER, "tool_version": "0", "verified_at": "x",
                "passed": true, "file": "shop_20200101_010000_h.sql", "size_bytes": 2,
                "sha256": null, "metadata_sha256": null, "against": null, "checks": [],
                "tables_compared": 0, "tables_differing": 0, "problems": []
            }))
            .unwrap(),
        )
        .unwrap();
        let other = backup_file(base, "crm_20200101_010000_h.sql", 40, false);
        let foreign = crate::verify::record::path_for(&other);
        std::fs::write(&foreign, br#"{"mine": true}"#).unwrap();
        // A record without its dump is no set.
        let orphan = base.join("gone_20200101_010000_h.sql.verify.json");
        std::fs::copy(&record, &orphan).unwrap();
        let scan = find_old(base, 30, None).unwrap();
        let mut want = vec![ours.clone(), other.clone()];
        want.sort();
        assert_eq!(dumps(&scan), want);
        let set = scan.sets.iter().find(|s| s.dump == ours).unwrap();
        assert!(set.companions.contains(&record), "{:?}", set.companions);
        remove(&scan.sets).unwrap();
        assert!(!record.exists(), "our record stayed");
        assert!(foreign.exists(), "a file we did not write was removed");
        assert!(orphan.exists());
        // Every set whatever its age, for `list`.
        backup_file(base, "new_20260101_010000_h.sql", 0, false);
        assert_eq!(find_sets(base).unwrap().sets.len(), 1);
    }

    #[test]
    fn zero_days_and_overflowing_days_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = backup_file(dir.path(), "shop_20200101_010000_h.sql", 0, false);
        let e = find_old(dir.path(), 0, None).unwrap_err();
        assert!(matches!(e, Error::Usage(_)), "{e}");
        assert!(e.to_string().contains("--days 0"), "{e}");
        // days * 86 400 overflows u64: it once wrapped to a small age.
        let e = find_old(dir.path(), u64::MAX / 1000, None).unwrap_err();
        assert!(e.to_string().contains("too large"), "{e}");
        // Longer ago than any file was written: nothing.
        assert!(find_old(dir.path(), 1 << 40, None).unwrap().sets.is_empty());
        assert!(f.exists());
    }

    /// A subdirectory that cannot be listed (here: its path is longer than PATH_MAX, which
    /// stops root as well as anyone) is skipped with a warning naming it; the rest is cleaned.
    #[test]
    fn a_subdirectory_that_cannot_be_listed_is_skipped_with_a_warning() {
        use rustix::fs::{CWD, Mode, OFlags, mkdirat, openat};
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let readable = base.join("a");
        std::fs::create_dir(&readable).unwrap();
        let old = backup_file(&readable, "shop_20200101_010000_h.sql", 40, false);
        // Built one level at a time from directory descriptors: no path is ever that long.
        let component = "d".repeat(250);
        let mut fd = openat(CWD, base, OFlags::DIRECTORY | OFlags::RDONLY, Mode::empty()).unwrap();
        let mut depth = 0;
        while base.as_os_str().len() + depth * 251 <= 4096 {
            mkdirat(&fd, component.as_str(), Mode::from_raw_mode(0o700)).unwrap();
            fd = openat(
                &fd,
                component.as_str(),
                OFlags::DIRECTORY | OFlags::RDONLY,
                Mode::empty(),
            )
            .unwrap();
            depth += 1;
        }
        let scan = find_old(base, 30, None).unwrap();
        assert_eq!(dumps(&scan), vec![old]);
        assert_eq!(scan.warnings.len(), 1, "{:?}", scan.warnings);
        assert!(
            scan.warnings[0].starts_with("cannot list ")
                && scan.warnings[0].contains("were not considered"),
            "{:?}",
            scan.warnings
        );
        // The base itself is required.
        let e = find_old(&base.join("missing"), 30, None).unwrap_err();
        assert!(e.to_string().contains("listing"), "{e}");
    }

    /// After a backup: the run's own set stays whatever its age, another old set goes, and
    /// what cannot be removed (a directory where a grants file would be: root cannot
    /// `unlink` it either) is a problem named, not a stop.
    #[test]
    fn after_a_backup_its_own_set_stays_and_failures_are_problems() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let day = base.join("20200101");
        std::fs::create_dir(&day).unwrap();
        let other = backup_file(&day, "shop_20200101_010000_h.sql", 40, false);
        let stuck = backup_file(&day, "crm_20200101_010000_h.sql", 40, false);
        std::fs::create_dir(day.join("crm_20200101_010000_h_users.sql")).unwrap();
        let own = backup_file(base, "shop_20260101_010000_h.sql", 40, false);
        // The run names its files through another path than the scan.
        let written = [day.join("../shop_20260101_010000_h.sql")];
        let done = after_backup(base, 30, &written);
        assert!(own.exists(), "the run's own set was removed");
        assert!(!other.exists() && !stuck.exists());
        assert_eq!(done.sets, 2);
        assert_eq!(done.removed.len(), 4, "{:?}", done.removed);
        assert_eq!(done.problems.len(), 1, "{:?}", done.problems);
        assert!(
            done.problems[0].starts_with("cannot remove ")
                && done.problems[0].contains("crm_20200101_010000_h_users.sql"),
            "{:?}",
            done.problems
        );
        // A base directory that is not there: a problem, nothing else.
        let done = after_backup(&base.join("missing"), 30, &[]);
        assert!(done.removed.is_empty() && done.problems.len() == 1);
    }

    #[test]
    fn globs_match_like_a_shell() {
        assert!(glob_match("shop_*", "shop_2026.sql"));
        assert!(glob_match("*.sql.?z", "a.sql.xz"));
        assert!(!glob_match("shop_*", "crm_2026.sql"));
        assert!(glob_match("*", ""));
    }
}
