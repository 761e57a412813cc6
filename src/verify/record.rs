//! `<dump>.verify.json`: what the last `verify` of a backup found, kept next to its metadata so
//! that `list` can say whether a set was proved good and when, and `cleanup` removes it with
//! its set.
//!
//! Only written beside a dump that has our metadata: a set `list` shows and `cleanup` knows.
//! Written atomically (a reader sees the previous record or this one), with the metadata
//! file's permissions (never group- or world-writable): it names tables as the metadata does.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::VerifyReport;
use crate::error::{Error, Result};
use crate::metadata::Recorded;

/// The value of `record` in every record we write: a file of that name holding anything else
/// was not written by us, and `cleanup` leaves it alone.
pub const MARKER: &str = "sfdbtools verify";

/// Problems kept in a record at most: a dump whose every table differs would otherwise make
/// a record as large as its metadata.
const PROBLEMS_KEPT: usize = 20;

/// One `verify` run, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyRecord {
    /// Always [`MARKER`].
    pub record: String,
    /// The version of sfdbtools that verified.
    pub tool_version: String,
    /// When the verify ended, RFC 3339 with the local offset.
    pub verified_at: String,
    pub passed: bool,
    /// The dump's file name (the record sits next to it).
    pub file: String,
    /// The dump's size when it was verified.
    pub size_bytes: u64,
    /// The SHA-256 of the file's bytes as verify read them; null after `--against`, which
    /// reads the live database, not the file.
    pub sha256: Option<String>,
    /// The SHA-256 its metadata recorded then: a record whose value differs from the
    /// metadata's now is about another file of that name (`list` says "stale").
    pub metadata_sha256: Option<String>,
    /// The live database compared with (`--against`); null for a check of the file.
    pub against: Option<String>,
    /// Each kind of check that ran, passed when every check of that kind passed.
    pub checks: Vec<CheckRun>,
    /// Tables whose rows and checksum were compared, and how many of them differ.
    pub tables_compared: usize,
    pub tables_differing: usize,
    /// What failed, one line each (the first [`PROBLEMS_KEPT`], then how many more).
    pub problems: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRun {
    pub name: String,
    pub passed: bool,
}

/// Where the record of `dump` lives: `<dump>.verify.json`, beside `<dump>.meta.json`.
pub fn path_for(dump: &Path) -> PathBuf {
    PathBuf::from(format!("{}.verify.json", dump.display()))
}

impl VerifyRecord {
    /// The record of `report`, for the dump as it is now (`size_bytes`) and the SHA-256 its
    /// metadata records.
    pub fn of(report: &VerifyReport, size_bytes: u64, metadata_sha256: Option<String>) -> Self {
        let mut checks: Vec<CheckRun> = Vec::new();
        for c in &report.checks {
            match checks.iter_mut().find(|k| k.name == c.what) {
                Some(k) => k.passed &= c.ok,
                None => checks.push(CheckRun {
                    name: c.what.to_owned(),
                    passed: c.ok,
                }),
            }
        }
        let mut problems = report.problems();
        if problems.len() > PROBLEMS_KEPT {
            let more = problems.len() - PROBLEMS_KEPT;
            problems.truncate(PROBLEMS_KEPT);
            problems.push(format!("and {more} more"));
        }
        VerifyRecord {
            record: MARKER.to_owned(),
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
            verified_at: chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            passed: report.ok(),
            file: report
                .file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            size_bytes,
            sha256: report.sha256.clone(),
            metadata_sha256,
            against: report.against.clone(),
            checks,
            tables_compared: report.tables.len(),
            tables_differing: report.tables.iter().filter(|t| !t.ok()).count(),
            problems,
        }
    }
}

/// Writes the record of `report` next to its dump, replacing the previous one; `Ok(None)` when
/// the dump has no metadata of ours (none, unreadable, or not written by sfdbtools), where a
/// record would belong to no set. A directory that cannot be written is the caller's warning:
/// the verify's verdict stands either way.
pub fn write(report: &VerifyReport) -> Result<Option<PathBuf>> {
    use std::os::unix::fs::PermissionsExt;
    let dump = &report.file;
    let Ok(Some(metadata)) = Recorded::read(dump) else {
        return Ok(None);
    };
    if metadata.generated_by() != Some("sfdbtools") {
        return Ok(None);
    }
    let path = path_for(dump);
    let size = crate::read::source::size(dump)
        .map_err(|e| Error::file("looking at the verified file", dump.clone(), e))?;
    // The metadata's own permissions (config backup.output.metadata_permissions), without
    // any write bit for others: whoever may read the metadata may read what verify found.
    let mode = std::fs::metadata(Recorded::path_for(dump))
        .map(|m| m.permissions().mode() & 0o644)
        .unwrap_or(0o600)
        | 0o600;
    let record = VerifyRecord::of(report, size, metadata.sha256().map(str::to_owned));
    let mut json = serde_json::to_vec_pretty(&record)
        .map_err(|e| Error::Internal(format!("serialising the verify record: {e}")))?;
    json.push(b'\n');
    if crate::read::source::is_object(dump) {
        // One PUT: a reader sees the previous record or this one, as with the rename on disk.
        crate::s3::bucket_of(&path)
            .and_then(|b| b.put(&path, &json))
            .map_err(|e| Error::file("writing the verify record", path.clone(), e))?;
        return Ok(Some(path));
    }
    let written = crate::output::file::AtomicFile::replacing(&path, mode).and_then(|mut f| {
        use std::io::Write;
        f.write_all(&json)?;
        f.finish()
    });
    written.map_err(|e| Error::file("writing the verify record", path.clone(), e))?;
    Ok(Some(path))
}

/// The record of `dump`: `Ok(None)` when there is none; why it cannot be used when it is not
/// a regular file, too large, not JSON, or not ours.
pub fn read(dump: &Path) -> std::result::Result<Option<VerifyRecord>, String> {
    read_at(&path_for(dump))
}

fn read_at(path: &Path) -> std::result::Result<Option<VerifyRecord>, String> {
    let object = crate::read::source::is_object(path);
    match std::fs::symlink_metadata(path) {
        // An object is only ever an object: nothing to look at before reading it.
        _ if object => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot look at {}: {e}", path.display())),
        // A FIFO would block the open, a device never end: only a plain file is read.
        Ok(m) if !m.is_file() => {
            return Err(format!("{} is not a regular file", path.display()));
        }
        Ok(_) => {}
    }
    let bytes = match crate::read::source::read_bounded(
        path,
        crate::limits::VERIFY_RECORD,
        "verify record",
    ) {
        Ok(b) => b,
        Err(e) if object && e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let record: VerifyRecord = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{} is not a verify record: {e}", path.display()))?;
    if record.record != MARKER {
        return Err(format!(
            "{} is not a verify record of sfdbtools",
            path.display()
        ));
    }
    Ok(Some(record))
}

/// Whether `path` is a record we wrote (a regular file holding our record): what `cleanup`
/// may remove with a set. Anything else of that name is not ours to delete.
pub fn is_ours(path: &Path) -> bool {
    matches!(read_at(path), Ok(Some(_)))
}

#[cfg(test)]
mod tests {
    use super::super::{Check, TableCheck};
    use super::*;

    fn report(file: &Path, ok: bool) -> VerifyReport {
        let check = |what, ok| Check {
            what,
            ok,
            detail: String::new(),
        };
        VerifyReport {
            file: file.to_owned(),
            against: None,
            checks: vec![
                check("content", true),
                check("definition", true),
                check("definition", ok),
            ],
            tables: (0..30)
                .map(|i| TableCheck {
                    database: "d".into(),
                    table: format!("t{i}"),
                    condition: None,
                    recorded: Some((1, "a".into())),
                    found: Some((1, if ok { "a" } else { "b" }.into())),
                })
                .collect(),
            sha256: Some("ab".repeat(32)),
        }
    }

    /// Writes `dump` and a metadata file that says `generated_by`.
    fn dump_with_metadata(dir: &Path, generated_by: &str) -> PathBuf {
        let dump = dir.join("shop_20260105_020000_h.sql");
        std::fs::write(&dump, b"-- sql\n").unwrap();
        std::fs::write(
            Recorded::path_for(&dump),
            format!(
                r#"{{"generator": {{"generated_by": "{generated_by}"}}, "sha256": "{}"}}"#,
                "ab".repeat(32)
            ),
        )
        .unwrap();
        dump
    }

    #[test]
    fn a_record_is_written_beside_our_metadata_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let dump = dump_with_metadata(dir.path(), "sfdbtools");
        let written = write(&report(&dump, false)).unwrap().unwrap();
        assert_eq!(written, path_for(&dump));
        let r = read(&dump).unwrap().unwrap();
        assert!(!r.passed);
        assert_eq!(r.file, "shop_20260105_020000_h.sql");
        assert_eq!(r.size_bytes, 7);
        assert_eq!(r.metadata_sha256.as_deref(), Some("ab".repeat(32).as_str()));
        // One entry per kind of check, failed when one of its kind failed.
        assert_eq!(
            r.checks,
            vec![
                CheckRun {
                    name: "content".into(),
                    passed: true
                },
                CheckRun {
                    name: "definition".into(),
                    passed: false
                }
            ]
        );
        assert_eq!((r.tables_compared, r.tables_differing), (30, 30));
        // 31 problems: 20 kept, and the count of the others.
        assert_eq!(r.problems.len(), PROBLEMS_KEPT + 1);
        assert_eq!(r.problems.last().unwrap(), "and 11 more");
        assert!(is_ours(&written));
        // Written again: replaced, in one rename.
        write(&report(&dump, true)).unwrap();
        assert!(read(&dump).unwrap().unwrap().passed);
    }

    #[test]
    fn no_record_without_metadata_of_ours() {
        let dir = tempfile::tempdir().unwrap();
        let dump = dump_with_metadata(dir.path(), "someone else");
        assert_eq!(write(&report(&dump, true)).unwrap(), None);
        std::fs::remove_file(Recorded::path_for(&dump)).unwrap();
        assert_eq!(write(&report(&dump, true)).unwrap(), None);
        assert!(!path_for(&dump).exists());
        assert_eq!(read(&dump), Ok(None));
    }

    #[test]
    fn other_files_of_that_name_are_not_ours() {
        let dir = tempfile::tempdir().unwrap();
        let dump = dir.path().join("x.sql");
        let path = path_for(&dump);
        std::fs::write(&path, br#"{"notes": "mine"}"#).unwrap();
        assert!(!is_ours(&path));
        assert!(read(&dump).unwrap_err().contains("is not a verify record"));
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        assert!(!is_ours(&path));
        assert!(read(&dump).unwrap_err().contains("not a regular file"));
    }
}
