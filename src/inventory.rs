//! `list`: the backup sets under a directory (a set as `cleanup` knows one: a dump named as
//! the tool names them, or as its metadata says, with its `.meta.json`) and what each says of
//! itself: its metadata, and the record its last `verify` left.
//!
//! A metadata file or a record that cannot be read makes its row say so; it never stops the
//! listing. Each file is read whole within its bound (`limits`), one at a time.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cleanup;
use crate::error::Result;
use crate::metadata::Recorded;
use crate::verify::record::{self, VerifyRecord};

/// What `list` found.
#[derive(Debug, Default)]
pub struct Listing {
    /// Oldest first.
    pub sets: Vec<SetSummary>,
    /// Directories and entries that could not be looked into, each naming its path.
    pub warnings: Vec<String>,
}

/// One backup set, as `list --json` writes it (the README documents the schema). A value the
/// metadata lacks or that cannot be read is null.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SetSummary {
    /// The dump file, as found under the directory listed.
    pub file: PathBuf,
    pub metadata: PathBuf,
    /// When the backup started (the metadata's `time.start_time`, in this machine's zone),
    /// RFC 3339; else its `generator.generated_at`; else the dump's modification time.
    pub time: Option<String>,
    pub databases: Vec<String>,
    /// The dump's size on disk now.
    pub size_bytes: Option<u64>,
    /// `zstd`, `gzip`… or `none`.
    pub codec: Option<String>,
    pub encrypted: Option<bool>,
    /// The snapshot's GTID position (or `File=…, Pos=…`).
    pub gtid: Option<String>,
    pub ticket: Option<String>,
    pub verified: Verified,
    /// Why the metadata could not be read; the other fields then say what the file system does.
    pub problem: Option<String>,
    /// The time sorted by, in seconds since the epoch.
    #[serde(skip)]
    pub sort_key: i64,
}

/// What the last `verify` of a set found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verified {
    pub status: VerifiedStatus,
    /// When that verify ran (RFC 3339); null for `never` and `unreadable`.
    pub at: Option<String>,
    /// The live database it compared with (`--against`); null for a check of the file.
    pub against: Option<String>,
    /// For `failed`, the first problem; for `stale`, why the record no longer applies; for
    /// `unreadable`, why it cannot be read.
    pub detail: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifiedStatus {
    /// The last verify passed, and the file is still the one it verified.
    Passed,
    Failed,
    /// No record: never verified (or verified before records were kept).
    Never,
    /// The record is about another file than the one there now (its metadata's SHA-256, the
    /// file's name or size differ): verify it again.
    Stale,
    /// A file of the record's name that cannot be read or is not our record.
    Unreadable,
}

impl VerifiedStatus {
    pub fn name(self) -> &'static str {
        match self {
            VerifiedStatus::Passed => "passed",
            VerifiedStatus::Failed => "failed",
            VerifiedStatus::Never => "never",
            VerifiedStatus::Stale => "stale",
            VerifiedStatus::Unreadable => "unreadable",
        }
    }
}

/// Every backup set under `base` and its subdirectories, oldest first. `base` itself must be
/// readable; a subdirectory that cannot be listed is a warning.
pub fn list(base: &Path) -> Result<Listing> {
    let scan = cleanup::find_sets(base)?;
    let mut sets: Vec<SetSummary> = scan.sets.iter().map(|s| summarise(&s.dump)).collect();
    sets.sort_by(|a, b| a.sort_key.cmp(&b.sort_key).then(a.file.cmp(&b.file)));
    Ok(Listing {
        sets,
        warnings: scan.warnings,
    })
}

/// One set's row, from its dump, its metadata and its record.
pub fn summarise(dump: &Path) -> SetSummary {
    let stat = crate::read::source::stat(dump).ok();
    let size_bytes = stat.map(|(size, _)| size);
    let modified = stat
        .and_then(|(_, modified)| modified)
        .map(chrono::DateTime::<chrono::Local>::from);
    let metadata_path = Recorded::path_for(dump);
    let recorded = match std::fs::metadata(&metadata_path) {
        // A FIFO would block the read, a device never end.
        Ok(m) if !m.is_file() => Err(format!("{} is not a regular file", metadata_path.display())),
        _ => match Recorded::read(dump) {
            Ok(Some(r)) => Ok(r),
            Ok(None) => Err(format!("{} is gone", metadata_path.display())),
            Err(e) => Err(e.to_string()),
        },
    };
    let (metadata, problem) = match recorded {
        Ok(r) => (Some(r), None),
        Err(e) => (None, Some(format!("metadata unreadable: {e}"))),
    };
    let m = metadata.as_ref();
    let started = m.and_then(started_at);
    let time = started.or(modified.map(|t| t.fixed_offset()));
    SetSummary {
        file: dump.to_owned(),
        metadata: metadata_path,
        time: time.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)),
        databases: m.map(Recorded::databases).unwrap_or_default(),
        size_bytes,
        codec: m.and_then(Recorded::compression).map(str::to_owned),
        encrypted: m.and_then(Recorded::encrypted),
        gtid: m.and_then(Recorded::gtid_info).map(str::to_owned),
        ticket: m.and_then(Recorded::ticket).map(str::to_owned),
        verified: verified(dump, m, size_bytes),
        problem,
        sort_key: time.map_or(i64::MIN, |t| t.timestamp()),
    }
}

/// `time.start_time` read in this machine's zone (the old tool wrote local time without
/// one), else `generator.generated_at`.
fn started_at(m: &Recorded) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    use chrono::TimeZone;
    m.start_time()
        .and_then(|t| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").ok())
        .and_then(|t| chrono::Local.from_local_datetime(&t).earliest())
        .map(|t| t.fixed_offset())
        .or_else(|| {
            m.generated_at()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        })
}

/// The set's verify status from its record, held against the file and metadata there now.
fn verified(dump: &Path, metadata: Option<&Recorded>, size: Option<u64>) -> Verified {
    let record = match record::read(dump) {
        Ok(Some(r)) => r,
        Ok(None) => {
            return Verified {
                status: VerifiedStatus::Never,
                at: None,
                against: None,
                detail: None,
            };
        }
        Err(why) => {
            return Verified {
                status: VerifiedStatus::Unreadable,
                at: None,
                against: None,
                detail: Some(why),
            };
        }
    };
    let (status, detail) = match stale(dump, &record, metadata, size) {
        Some(why) => (VerifiedStatus::Stale, Some(why)),
        None if record.passed => (VerifiedStatus::Passed, None),
        None => (VerifiedStatus::Failed, record.problems.first().cloned()),
    };
    Verified {
        status,
        at: Some(record.verified_at),
        against: record.against,
        detail,
    }
}

/// Why `record` is not about the file there now, if it is not.
fn stale(
    dump: &Path,
    record: &VerifyRecord,
    metadata: Option<&Recorded>,
    size: Option<u64>,
) -> Option<String> {
    let name = dump.file_name().map(|n| n.to_string_lossy());
    if name.as_deref() != Some(record.file.as_str()) {
        return Some(format!("the record is of {:?}", record.file));
    }
    let now = metadata.and_then(Recorded::sha256);
    if let (Some(was), Some(now)) = (&record.metadata_sha256, now)
        && !was.eq_ignore_ascii_case(now)
    {
        return Some(
            "the metadata records another SHA-256 than when it was verified: another backup \
             of that name"
                .into(),
        );
    }
    if size != Some(record.size_bytes) {
        return Some(format!(
            "the file is {} byte(s) now, {} when it was verified",
            size.map_or_else(|| "unknown".to_owned(), |s| s.to_string()),
            record.size_bytes
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::write(path, text).unwrap();
    }

    /// A set with metadata in `dir`, started at `start` (`YYYY-MM-DD HH:MM:SS`).
    fn set(dir: &Path, name: &str, start: &str, sha: &str) -> PathBuf {
        let dump = dir.join(name);
        write(&dump, "0123456789");
        write(
            &Recorded::path_for(&dump),
            &serde_json::json!({
                "backup": {"file": dump, "databases": ["shop", "crm"]},
                "time": {"start_time": start},
                "compression": {"enabled": true, "type": "zstd"},
                "encryption": {"enabled": false},
                "replication": {"gtid_info": "0-1-22"},
                "ticket": "T-1",
                "generator": {"generated_by": "sfdbtools"},
                "sha256": sha,
            })
            .to_string(),
        );
        dump
    }

    fn record(dump: &Path, passed: bool, sha: &str, size: u64) {
        let r = VerifyRecord {
            record: record::MARKER.into(),
            tool_version: "0".into(),
            verified_at: "2026-01-05T03:00:00+00:00".into(),
            passed,
            file: dump.file_name().unwrap().to_string_lossy().into_owned(),
            size_bytes: size,
            sha256: None,
            metadata_sha256: Some(sha.into()),
            against: None,
            checks: Vec::new(),
            tables_compared: 0,
            tables_differing: 0,
            problems: vec!["sha256: differs".into()],
        };
        write(&record::path_for(dump), &serde_json::to_string(&r).unwrap());
    }

    #[test]
    fn sets_are_listed_oldest_first_with_what_their_records_say() {
        let dir = tempfile::tempdir().unwrap();
        let day = dir.path().join("20260105");
        std::fs::create_dir(&day).unwrap();
        let newer = set(
            &day,
            "shop_20260105_020000_h.sql.zst",
            "2026-01-05 02:00:00",
            "aa",
        );
        let older = set(
            dir.path(),
            "crm_20260104_020000_h.sql",
            "2026-01-04 02:00:00",
            "bb",
        );
        let stale = set(&day, "x_20260103_020000_h.sql", "2026-01-03 02:00:00", "cc");
        let resized = set(&day, "y_20260102_020000_h.sql", "2026-01-02 02:00:00", "dd");
        record(&newer, true, "aa", 10);
        record(&older, false, "bb", 10);
        record(&stale, true, "another", 10);
        record(&resized, true, "dd", 9);
        let l = list(dir.path()).unwrap();
        let files: Vec<&Path> = l.sets.iter().map(|s| s.file.as_path()).collect();
        assert_eq!(files, [&resized, &stale, &older, &newer]);
        let s = &l.sets[3];
        assert_eq!(s.databases, ["shop", "crm"]);
        assert_eq!(
            (s.size_bytes, s.codec.as_deref(), s.encrypted),
            (Some(10), Some("zstd"), Some(false))
        );
        assert_eq!(
            (s.gtid.as_deref(), s.ticket.as_deref()),
            (Some("0-1-22"), Some("T-1"))
        );
        assert!(
            s.time
                .as_deref()
                .unwrap()
                .starts_with("2026-01-05T02:00:00")
        );
        assert_eq!(s.verified.status, VerifiedStatus::Passed);
        assert_eq!(l.sets[2].verified.status, VerifiedStatus::Failed);
        assert_eq!(
            l.sets[2].verified.detail.as_deref(),
            Some("sha256: differs")
        );
        assert_eq!(l.sets[1].verified.status, VerifiedStatus::Stale);
        assert_eq!(l.sets[0].verified.status, VerifiedStatus::Stale);
        assert!(
            l.sets[0]
                .verified
                .detail
                .as_deref()
                .unwrap()
                .contains("9 when")
        );
    }

    /// Metadata that is not JSON, too deep, or not a file: a row saying so, never a stop.
    #[test]
    fn unreadable_metadata_and_records_make_a_row_that_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let garbled = dir.path().join("a_20260101_010000_h.sql");
        write(&garbled, "x");
        write(&Recorded::path_for(&garbled), "{\"backup\": [[[[");
        let deep = dir.path().join("b_20260101_010000_h.sql");
        write(&deep, "x");
        write(&Recorded::path_for(&deep), &"[".repeat(100_000));
        let fine = set(
            dir.path(),
            "c_20260101_010000_h.sql",
            "2026-01-01 01:00:00",
            "aa",
        );
        write(&record::path_for(&fine), "not json");
        let l = list(dir.path()).unwrap();
        assert_eq!(l.sets.len(), 3);
        for s in &l.sets {
            if s.file == fine {
                assert_eq!(s.problem, None);
                assert_eq!(s.verified.status, VerifiedStatus::Unreadable);
            } else {
                let p = s.problem.as_deref().unwrap();
                assert!(p.starts_with("metadata unreadable: "), "{p}");
                assert!(s.databases.is_empty() && s.time.is_some());
                assert_eq!(s.verified.status, VerifiedStatus::Never);
            }
        }
    }
}
