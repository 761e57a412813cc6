//! `<dump>.meta.json`: the old tool's keys in the old order (docs/compat.md §4), then the engine's own.

use serde::{Deserialize, Serialize};

/// Everything written into a dump's metadata file. Field order is the file's key order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Metadata {
    pub backup: BackupInfo,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub database_details: Option<Vec<DatabaseDetail>>,
    pub time: TimeInfo,
    pub file: FileInfo,
    pub compression: CompressionInfo,
    pub encryption: EncryptionInfo,
    pub source: SourceInfo,
    pub replication: ReplicationInfo,
    pub version: VersionInfo,
    pub additional_files: AdditionalFiles,
    pub ticket: String,
    pub generator: GeneratorInfo,
    // New fields, after the old ones.
    pub engine: String,
    pub threads: usize,
    pub consistency: String,
    /// How long the file took, to the millisecond (`time.duration` has the old tool's whole
    /// seconds, in its words).
    #[serde(default)]
    pub duration_ms: u64,
    pub snapshot: SnapshotInfo,
    pub sha256: String,
    pub sql_bytes: u64,
    /// The largest INSERT statement: the restore server's max_allowed_packet must exceed it.
    pub max_statement_bytes: usize,
    /// Encrypted dumps: the table checksums and definition digests are keyed (see
    /// `encrypt::ChecksumKey`) with a key derived from the passphrase as this says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_key: Option<ChecksumKeyInfo>,
    /// The table selection the run was given (`--tables`, `--ignore-table`…), as given;
    /// absent when it took every table and object of its databases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<SelectionInfo>,
    pub tables: Vec<TableInfo>,
    /// Tables of this file whose schema was dumped but not their rows: the session tables of
    /// primary/secondary, and those `--ignore-table-data` names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_skipped: Vec<TableRef>,
    /// Tables dumped as structure only because their rows live elsewhere (MERGE, FEDERATED,
    /// SPIDER, CONNECT) or do not exist (BLACKHOLE), each with the reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub structure_only: Vec<StructureOnly>,
    /// System-versioned tables whose history could not be dumped (transaction-id periods):
    /// only their current rows are in the file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history_lost: Vec<TableRef>,
    /// Per database, a SHA-256 of each definition and of the database's defaults (see
    /// `DatabaseCatalog::definition_digests`), for `verify --against`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub definitions: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    /// Stored functions declaring none of DETERMINISTIC, NO SQL, READS SQL DATA, which a
    /// server with a binary log refuses unless `log_bin_trust_function_creators=1`. Written by
    /// the native engine, empty list included, so a restore knows without reading the file;
    /// absent for other dumps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub functions_needing_trust: Option<Vec<RoutineRef>>,
    /// How long the dump blocked commits on the server, in milliseconds (taking the snapshots
    /// and reading the non-transactional tables; the whole dump with `--consistency lock`).
    /// Absent when it blocked none (`--consistency none`, or another engine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commits_blocked_ms: Option<u64>,
}

/// How the keyed checksums of an encrypted dump's metadata were keyed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecksumKeyInfo {
    /// `hmac-sha256`.
    pub algorithm: String,
    /// `pbkdf2-sha256` of the passphrase.
    pub kdf: String,
    pub iterations: u32,
    /// Hex.
    pub salt: String,
}

impl ChecksumKeyInfo {
    pub const ALGORITHM: &str = "hmac-sha256";
    pub const KDF: &str = "pbkdf2-sha256";
}

/// The table selection of a run as the operator gave it (docs/compat.md §2): each list holds
/// the patterns of one option, in the order given. Empty lists are left out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectionInfo {
    /// `--tables`/`--tables-file`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_table: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_table_data: Vec<String>,
    #[serde(rename = "where", default, skip_serializing_if = "Vec::is_empty")]
    pub wheres: Vec<WhereInfo>,
    /// Kinds of objects left out: `create_info`, `triggers`, `routines`, `events`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects_left_out: Vec<String>,
    /// Databases of the run's mode that `--tables` left out: none of their tables matches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub databases_left_out: Vec<String>,
    /// Views dumped although a table or view they read was left out: the server refuses to
    /// create such a view where what it reads does not exist. The run warned about each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub views_over_left_out: Vec<ViewOverLeftOut>,
}

/// A `--where` as given: the pattern and its condition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhereInfo {
    pub table: String,
    pub condition: String,
}

/// A view of the dump that reads tables (or views) the selection left out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewOverLeftOut {
    pub database: String,
    pub view: String,
    /// `db.table` of each one left out that its definition names.
    pub left_out: Vec<String>,
}

/// A stored routine named by its database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutineRef {
    pub database: String,
    pub routine: String,
}

/// A table whose rows were not dumped, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StructureOnly {
    pub database: String,
    pub table: String,
    pub reason: String,
}

/// A table named by its database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRef {
    pub database: String,
    pub table: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BackupInfo {
    pub file: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    pub databases: Vec<String>,
    pub excluded_databases: Vec<String>,
    pub exclude_data: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DatabaseDetail {
    pub database_name: String,
    pub backup_file: String,
    pub file_size_bytes: u64,
    pub file_size_human: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TimeInfo {
    pub start_time: String,
    pub end_time: String,
    pub duration: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FileInfo {
    pub size_bytes: u64,
    pub size_human: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CompressionInfo {
    pub enabled: bool,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EncryptionInfo {
    pub enabled: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SourceInfo {
    pub hostname: String,
    /// The host connected to; `localhost` over a socket (see `ConnectionSettings::source_host`).
    pub host: String,
    pub port: u16,
    /// The socket's path, for a socket connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReplicationInfo {
    pub gtid_info: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VersionInfo {
    /// The server's `@@version` (the old tool's key name, whatever the server).
    pub mariadb: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AdditionalFiles {
    pub user_grants: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GeneratorInfo {
    pub generated_by: String,
    pub generated_at: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SnapshotInfo {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gtid_binlog_pos: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gtid_executed: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub binlog_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub binlog_position: Option<u64>,
    /// `false` when the position was not read on purpose (config
    /// `backup.replication.capture_gtid: false`); absent when it was asked for.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub captured: Option<bool>,
}

impl SnapshotInfo {
    /// The position of a dump told not to read it: empty, and saying so.
    pub fn not_captured() -> SnapshotInfo {
        SnapshotInfo {
            captured: Some(false),
            ..Default::default()
        }
    }

    /// False only when the position was not read on purpose.
    pub fn was_captured(&self) -> bool {
        self.captured != Some(false)
    }

    /// `replication.gtid_info`: the GTID position, else `File=…, Pos=…`, else empty.
    pub fn gtid_info(&self) -> String {
        if let Some(g) = self
            .gtid_binlog_pos
            .as_ref()
            .or(self.gtid_executed.as_ref())
            && !g.is_empty()
        {
            return g.clone();
        }
        match (&self.binlog_file, self.binlog_position) {
            (Some(f), Some(p)) => format!("File={f}, Pos={p}"),
            _ => String::new(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TableInfo {
    pub database: String,
    pub table: String,
    pub rows: u64,
    pub bytes: u64,
    /// How many key-range chunks the table was read in.
    pub chunks: usize,
    pub checksum: String,
    /// A system-versioned table whose rows include its history (every row version, with its
    /// row start and end).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub history: bool,
    /// History rows left out because their period is empty (ROW START = ROW END): no server
    /// takes them back (`rows::kept_versions`). `rows` and `checksum` are those of the rows
    /// dumped.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub history_rows_left_out: u64,
    /// Only the rows this condition accepts were dumped (`--where`; every matching one, each
    /// in parentheses, joined with AND): `rows` and `checksum` are those of the filtered rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A metadata file read back by restore and verify. Every key is optional and read on its
/// own: the old tool's files lack the newer keys, and a key of an unexpected shape must not
/// stop a restore (verify reports what it could not check).
#[derive(Clone, Debug)]
pub struct Recorded(serde_json::Value);

impl Recorded {
    /// The metadata file that belongs to a dump file.
    pub fn path_for(dump: &std::path::Path) -> std::path::PathBuf {
        std::path::PathBuf::from(format!("{}.meta.json", dump.display()))
    }

    /// Reads `<dump>.meta.json`; None when there is none.
    pub fn read(dump: &std::path::Path) -> crate::Result<Option<Recorded>> {
        let path = Self::path_for(dump);
        let text = match crate::read::source::read_bounded(
            &path,
            crate::limits::METADATA_FILE,
            "metadata file",
        ) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(crate::Error::file("reading metadata", path, e)),
        };
        let value = serde_json::from_slice(&text).map_err(|e| {
            crate::Error::file(
                "reading metadata",
                path,
                std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            )
        })?;
        Ok(Some(Recorded(value)))
    }

    pub fn from_value(value: serde_json::Value) -> Recorded {
        Recorded(value)
    }

    fn str_at(&self, pointer: &str) -> Option<&str> {
        self.0.pointer(pointer).and_then(|v| v.as_str())
    }

    fn u64_at(&self, pointer: &str) -> Option<u64> {
        self.0.pointer(pointer).and_then(|v| v.as_u64())
    }

    /// `backup.file`: the dump's path as written.
    pub fn file(&self) -> Option<&str> {
        self.str_at("/backup/file")
    }

    /// `backup.type`: all, combined, separated, single, primary, secondary.
    pub fn kind(&self) -> Option<&str> {
        self.str_at("/backup/type")
    }

    /// `generator.generated_by`: `sfdbtools` for our metadata and the old tool's.
    pub fn generated_by(&self) -> Option<&str> {
        self.str_at("/generator/generated_by")
    }

    /// `generator.generated_at`: RFC 3339, as Go writes a time.
    pub fn generated_at(&self) -> Option<&str> {
        self.str_at("/generator/generated_at")
    }

    /// `time.start_time`: `YYYY-MM-DD HH:MM:SS` in the local time of the machine that wrote it.
    pub fn start_time(&self) -> Option<&str> {
        self.str_at("/time/start_time")
    }

    pub fn ticket(&self) -> Option<&str> {
        self.str_at("/ticket")
    }

    /// `replication.gtid_info`: the GTID position, or `File=…, Pos=…`; None when empty.
    pub fn gtid_info(&self) -> Option<&str> {
        self.str_at("/replication/gtid_info")
            .filter(|s| !s.is_empty())
    }

    /// `backup.databases`.
    pub fn databases(&self) -> Vec<String> {
        self.0
            .pointer("/backup/databases")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|d| d.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `database_details` as (database_name, backup_file) pairs.
    pub fn database_details(&self) -> Vec<(String, String)> {
        self.0
            .get("database_details")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|d| {
                        Some((
                            d.get("database_name")?.as_str()?.to_owned(),
                            d.get("backup_file")?.as_str()?.to_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn file_size(&self) -> Option<u64> {
        self.u64_at("/file/size_bytes")
    }

    pub fn sha256(&self) -> Option<&str> {
        self.str_at("/sha256").filter(|s| !s.is_empty())
    }

    pub fn sql_bytes(&self) -> Option<u64> {
        self.u64_at("/sql_bytes")
    }

    pub fn max_statement_bytes(&self) -> Option<u64> {
        self.u64_at("/max_statement_bytes")
    }

    /// The codec's name, `none` when compression was off.
    pub fn compression(&self) -> Option<&str> {
        match self
            .0
            .pointer("/compression/enabled")
            .and_then(|v| v.as_bool())
        {
            Some(false) => Some("none"),
            _ => self.str_at("/compression/type"),
        }
    }

    pub fn encrypted(&self) -> Option<bool> {
        self.0
            .pointer("/encryption/enabled")
            .and_then(|v| v.as_bool())
    }

    /// `additional_files.user_grants`, unless `none`.
    pub fn user_grants(&self) -> Option<&str> {
        self.str_at("/additional_files/user_grants")
            .filter(|s| !s.is_empty() && *s != "none")
    }

    /// How the checksums are keyed; None when they are plain (an unencrypted dump, or one
    /// written before they were keyed). A key of another kind than this version writes is an
    /// error, so that such checksums are never compared as if plain.
    pub fn checksum_key(&self) -> std::result::Result<Option<ChecksumKeyInfo>, String> {
        let Some(v) = self.0.get("checksum_key") else {
            return Ok(None);
        };
        let info: ChecksumKeyInfo = serde_json::from_value(v.clone())
            .map_err(|e| format!("its checksum_key cannot be read ({e})"))?;
        if info.algorithm != ChecksumKeyInfo::ALGORITHM || info.kdf != ChecksumKeyInfo::KDF {
            return Err(format!(
                "its checksums are keyed as {} over {}, which this version does not know",
                info.algorithm, info.kdf
            ));
        }
        Ok(Some(info))
    }

    /// The functions a binary-logging server refuses without log_bin_trust_function_creators,
    /// when the dump recorded them (None: not recorded, the file must be read to know).
    pub fn functions_needing_trust(&self) -> Option<Vec<RoutineRef>> {
        serde_json::from_value(self.0.get("functions_needing_trust")?.clone()).ok()
    }

    /// The definition digests recorded for `database` (empty for older dumps).
    pub fn definitions(&self, database: &str) -> std::collections::BTreeMap<String, String> {
        self.0
            .get("definitions")
            .and_then(|d| d.get(database))
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default()
    }

    /// The table selection the dump was made with; None for a dump of whole databases (or
    /// one written before selections were recorded).
    pub fn selection(&self) -> Option<SelectionInfo> {
        serde_json::from_value(self.0.get("selection")?.clone()).ok()
    }

    /// The tables whose rows the dump left out on purpose (`data_skipped`).
    pub fn data_skipped(&self) -> Vec<TableRef> {
        self.0
            .get("data_skipped")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default()
    }

    /// The per-table rows and checksums (empty for dumps that did not record them).
    pub fn tables(&self) -> Vec<TableInfo> {
        self.0
            .get("tables")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|t| serde_json::from_value(t.clone()).ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// `file.size_human` and `file_size_human` as the old tool wrote them (go-humanize's
/// `Bytes`, in every release): powers of 1000, `kB`, one decimal below 10 (`82 B`, `1.5 kB`,
/// `52 MB`). A reader that parses them back (`humanize.ParseBytes`) would take a 1024-based
/// `52.3 MB` for 2.4 % less than the file is.
pub fn old_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    if bytes < 10 {
        return format!("{bytes} B");
    }
    // go-humanize's own arithmetic (logarithms, then a half-up rounding to a tenth), so that
    // the same size gives the same text.
    let s = bytes as f64;
    let e = (s.ln() / 1000f64.ln()).floor();
    let val = (s / 1000f64.powf(e) * 10.0 + 0.5).floor() / 10.0;
    let unit = UNITS[(e as usize).min(UNITS.len() - 1)];
    if val < 10.0 {
        format!("{val:.1} {unit}")
    } else {
        format!("{val:.0} {unit}")
    }
}

/// `time.duration` as the old tool wrote it in every release: `H jam M menit S detik`, whole
/// units (hours, minutes, seconds in Indonesian).
pub fn old_duration(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    format!(
        "{} jam {} menit {} detik",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// `generator.generated_at` as Go writes a `time.Time` (RFC 3339 with the nanoseconds,
/// trailing zeros cut, `Z` for UTC), which is what the old tool's reader parses.
pub fn go_time(t: &chrono::DateTime<chrono::Local>) -> String {
    let nanos = t.timestamp_subsec_nanos();
    let fraction = if nanos == 0 {
        String::new()
    } else {
        format!(".{nanos:09}").trim_end_matches('0').to_owned()
    };
    let offset = match t.offset().local_minus_utc() {
        0 => "Z".to_owned(),
        _ => t.format("%:z").to_string(),
    };
    format!("{}{fraction}{offset}", t.format("%Y-%m-%dT%H:%M:%S"))
}

/// Sizes as people read them on the terminal: `512 B`, `1.5 KiB`, `52.3 MiB`, 1024-based and
/// labelled so (not the metadata's texts: see [`old_size`]).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `1h2m3.4s` style, like Go's durations, on the terminal.
pub fn human_duration(d: std::time::Duration) -> String {
    let secs = d.as_secs_f64();
    let h = (secs / 3600.0).floor();
    let m = ((secs - h * 3600.0) / 60.0).floor();
    let s = secs - h * 3600.0 - m * 60.0;
    match (h as u64, m as u64) {
        (0, 0) => format!("{s:.3}s"),
        (0, m) => format!("{m}m{s:.3}s"),
        (h, m) => format!("{h}h{m}m{s:.3}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_read_well() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(412 * 1024 * 1024 + 300 * 1024), "412.3 MiB");
        assert_eq!(human_size(3 << 30), "3.0 GiB");
        assert_eq!(
            human_duration(std::time::Duration::from_millis(61_500)),
            "1m1.500s"
        );
    }

    /// The old tool's own outputs for these values (go-humanize's tests, Go's formatting).
    #[test]
    fn sizes_durations_and_times_read_as_the_old_tool_wrote_them() {
        for (bytes, text) in [
            (0, "0 B"),
            (9, "9 B"),
            (803, "803 B"),
            (999, "999 B"),
            (1024, "1.0 kB"),
            (9999, "10 kB"),
            (999_999, "1000 kB"),
            (1024 * 1024, "1.0 MB"),
            (52_300_000, "52 MB"),
            (1024 * 1024 * 1024, "1.1 GB"),
        ] {
            assert_eq!(old_size(bytes), text, "{bytes}");
        }
        assert_eq!(
            old_duration(std::time::Duration::from_millis(3_725_900)),
            "1 jam 2 menit 5 detik"
        );
        assert_eq!(
            old_duration(std::time::Duration::from_millis(999)),
            "0 jam 0 menit 0 detik"
        );
        use chrono::{TimeZone, Timelike};
        let at = |nanos: u32, offset: i32| {
            chrono::FixedOffset::east_opt(offset)
                .unwrap()
                .with_ymd_and_hms(2026, 1, 28, 10, 0, 2)
                .unwrap()
                .with_nanosecond(nanos)
                .unwrap()
                .with_timezone(&chrono::Local)
        };
        // Whatever the machine's zone, the text is RFC 3339 with Go's fraction.
        for (nanos, fraction) in [(0, ""), (120_000_000, ".12"), (123_456_789, ".123456789")] {
            let t = at(nanos, 7 * 3600);
            let text = go_time(&t);
            let parsed = chrono::DateTime::parse_from_rfc3339(&text).unwrap();
            assert_eq!(parsed, t, "{text}");
            let seconds_end = text.find('.').unwrap_or(19);
            assert_eq!(&text[19..19 + fraction.len()], fraction, "{text}");
            assert!(seconds_end == 19, "{text}");
            let zone = &text[19 + fraction.len()..];
            assert!(
                zone == "Z" || (zone.len() == 6 && zone.starts_with(['+', '-'])),
                "{text}"
            );
        }
    }

    #[test]
    fn gtid_info_falls_back_to_file_and_position() {
        let mut s = SnapshotInfo {
            binlog_file: Some("bin.000003".into()),
            binlog_position: Some(42),
            ..Default::default()
        };
        assert_eq!(s.gtid_info(), "File=bin.000003, Pos=42");
        s.gtid_binlog_pos = Some("0-1-12".into());
        assert_eq!(s.gtid_info(), "0-1-12");
    }
}
