//! The validated configuration of a run: what the CLI (or a test) builds and the engine obeys,
//! and the parsing of the size values it is built from (`--statement-size`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::compress::{Codec, Level};
use crate::connect::ConnectionSettings;
use crate::encrypt::Passphrase;
use crate::snapshot::Consistency;
use crate::sql::script::DdlOptions;

/// Which databases go into which files (docs/compat.md §2 table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackupMode {
    /// Every selected database into one combined file.
    All,
    /// The named databases, combined into one file or one file per database.
    Filter {
        databases: Vec<String>,
        multi_file: bool,
    },
    /// One database, one file.
    Single { database: String },
    /// `dbsf_nbc_` primary databases (docs/compat.md §2), one file per database; `_dmart` companions
    /// with `include_dmart`. Session tables keep their schema but not their rows.
    Primary,
    /// `dbsf_nbc_<client>_secondary_<instance>` databases, as `Primary`.
    Secondary,
}

impl BackupMode {
    /// The metadata's `backup.type`.
    pub fn metadata_type(&self) -> &'static str {
        match self {
            BackupMode::All => "all",
            BackupMode::Filter {
                multi_file: false, ..
            } => "combined",
            BackupMode::Filter {
                multi_file: true, ..
            } => "separated",
            BackupMode::Single { .. } => "single",
            BackupMode::Primary => "primary",
            BackupMode::Secondary => "secondary",
        }
    }

    /// True for the modes that back up packages (a database and its companion) and skip the
    /// rows of the session tables.
    pub fn is_package(&self) -> bool {
        matches!(self, BackupMode::Primary | BackupMode::Secondary)
    }

    /// True when every database goes into one file.
    pub fn is_combined(&self) -> bool {
        matches!(
            self,
            BackupMode::All
                | BackupMode::Filter {
                    multi_file: false,
                    ..
                }
        )
    }
}

/// Which program produces the SQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// This crate's own parallel dump.
    Native,
    /// `mariadb-dump`/`mysqldump`, for what the native engine cannot do.
    #[value(alias = "mariadb-dump")]
    Mysqldump,
}

#[derive(Clone, Debug)]
pub struct BackupConfig {
    pub engine: Engine,
    /// Connect, select and report; write nothing.
    pub dry_run: bool,
    /// Extra options for the mysqldump engine (config `backup.mysqldump_args`); None: the
    /// defaults in `dump::mysqldump::DEFAULT_ARGS`.
    pub mysqldump_args: Option<Vec<String>>,
    pub connection: ConnectionSettings,
    pub mode: BackupMode,
    /// Include list besides the filter mode's own names (config `backup.include.databases` and
    /// `backup.include.file`). A non-empty include list wins over the exclude list and the
    /// system databases (docs/compat.md §2).
    pub include: Vec<String>,
    /// Exclude list (config `backup.exclude.databases` and `backup.exclude.file`).
    pub exclude: Vec<String>,
    /// A name of the include list (`--db`, `--db-file`, config) that the server does not have
    /// is a warning, not a usage error (`--allow-missing`).
    pub allow_missing: bool,
    /// primary/secondary: add each database's `_dmart` companion when it exists.
    pub include_dmart: bool,
    /// primary/secondary: only this client's databases.
    pub client_code: Option<String>,
    /// secondary: only this instance.
    pub instance: Option<String>,
    /// Write the accounts and privileges file next to the dump (off with config
    /// `backup.exclude.user` or `--exclude-user`).
    pub export_grants: bool,
    pub exclude_system: bool,
    pub exclude_empty: bool,
    /// Schema only: no rows, `_nodata` in the file name.
    pub exclude_data: bool,
    /// The directory, or `s3://bucket/prefix` when `bucket` is given.
    pub output_dir: PathBuf,
    /// `-o s3://…`: the bucket every file of the run is uploaded into.
    pub bucket: Option<std::sync::Arc<crate::s3::Bucket>>,
    /// `--filename`: validated base name (docs/compat.md §3).
    pub filename: Option<String>,
    pub ticket: String,
    pub codec: Codec,
    pub level: Level,
    pub passphrase: Option<Passphrase>,
    /// Upper bound of one INSERT statement in bytes.
    pub statement_size: usize,
    /// `--statement-size` was given: the mysqldump engine then passes it on as
    /// `--net-buffer-length` (otherwise it keeps the old tool's 16M).
    pub statement_size_given: bool,
    pub threads: usize,
    /// Target size of one chunk of a big table (see `dump::chunks`).
    pub chunk_bytes: u64,
    pub consistency: Consistency,
    /// What DDL waits for the dump: the server's (the default), or only that on the dumped
    /// tables (`db-copy` into another database of the same server; see `snapshot::DdlScope`).
    pub ddl_scope: crate::snapshot::DdlScope,
    /// How long to wait for the DDL and commit locks before failing.
    pub lock_wait_timeout: Duration,
    pub ddl: DdlOptions,
    /// Permission bits of dump files (config `backup.output.file_permissions`).
    pub file_mode: u32,
    /// Permission bits of `.meta.json` files (config `backup.output.metadata_permissions`).
    pub metadata_mode: u32,
    /// How rows are read (hidden `--row-reader`; the default falls back by itself).
    pub row_reader: crate::rows::RowReader,
    /// Write `<dump>.meta.json` next to each dump (off with config
    /// `backup.output.save_backup_info: false`).
    pub save_metadata: bool,
    /// Read the snapshot's GTID/binlog position (off with config
    /// `backup.replication.capture_gtid: false`, e.g. for an account that may not see it).
    pub capture_position: bool,
    /// Fail instead of warning when something cannot be dumped exactly (the history of a
    /// table versioned by transaction id).
    pub strict: bool,
    /// Which tables of the chosen databases, and which of their rows (`--tables`,
    /// `--ignore-table`, `--ignore-table-data`, `--where`).
    pub tables: crate::pattern::TableFilter,
    /// Which kinds of objects besides rows.
    pub objects: DumpObjects,
    /// Old sets to remove once the run has succeeded (config `backup.cleanup.enabled`).
    pub cleanup_after: Option<CleanupAfter>,
    /// The Prometheus metrics file rewritten after the run, whatever its outcome
    /// (`--metrics-file`, config `backup.metrics.file`; see `metrics`).
    pub metrics_file: Option<PathBuf>,
    /// The time the file names carry; None: when the run starts. The interactive review
    /// sets the time of the names it showed, so that the files written are those.
    pub names_at: Option<chrono::DateTime<chrono::Local>>,
    /// `db-copy`: the run's one stream goes into this pipe (a restore reads the other end)
    /// instead of files: nothing is written to disk, no metadata, no accounts file.
    pub pipe: Option<crate::output::pipe::Pipe>,
}

impl BackupConfig {
    /// Whether the run's databases go into one stream with their `CREATE DATABASE` and `USE`:
    /// the combined modes, and a copy of more than the one database of `single`.
    pub fn combined(&self) -> bool {
        self.mode.is_combined()
            || (self.pipe.is_some() && !matches!(self.mode, BackupMode::Single { .. }))
    }
}

/// The kinds of objects a dump writes besides rows; all by default (mysqldump's
/// `--no-create-info`, `--skip-triggers`, `--skip-routines`, `--skip-events`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DumpObjects {
    /// `CREATE TABLE`/`CREATE VIEW` (and `CREATE DATABASE` of combined files).
    pub create_info: bool,
    pub triggers: bool,
    /// Stored procedures, functions and packages.
    pub routines: bool,
    pub events: bool,
}

impl DumpObjects {
    /// Each kind with its name in the metadata (`selection.objects_left_out`).
    fn named(self) -> [(bool, &'static str); 4] {
        [
            (self.create_info, "create_info"),
            (self.triggers, "triggers"),
            (self.routines, "routines"),
            (self.events, "events"),
        ]
    }

    /// The names of the kinds left out, as the metadata records them.
    pub fn left_out(self) -> Vec<String> {
        self.named()
            .iter()
            .filter(|(kept, _)| !kept)
            .map(|(_, name)| (*name).to_owned())
            .collect()
    }

    /// The kinds a dump holds, from the names its metadata records as left out.
    pub fn without(left_out: &[String]) -> DumpObjects {
        let kept = |name: &str| !left_out.iter().any(|k| k == name);
        DumpObjects {
            create_info: kept("create_info"),
            triggers: kept("triggers"),
            routines: kept("routines"),
            events: kept("events"),
        }
    }
}

impl Default for DumpObjects {
    fn default() -> Self {
        DumpObjects {
            create_info: true,
            triggers: true,
            routines: true,
            events: true,
        }
    }
}

/// The cleanup after a successful backup: the sets older than `days` days under `base` (the
/// config's `backup.output.base_directory`), by the rules of `cleanup` (`cleanup::after_backup`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CleanupAfter {
    pub base: PathBuf,
    pub days: u64,
}

/// Which accounts file a restore applies after the data: none unless asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GrantsSource {
    /// `--grants`: the dump's own, the sibling its metadata names (docs/compat.md §3 name otherwise).
    Sibling,
    /// This file (`--grants-file`).
    File(PathBuf),
    /// None (the default; `--skip-grants` says so).
    Skip,
}

/// Where a restore puts what a file holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestoreMode {
    /// A single-database file into `target`, whatever the name it was dumped from.
    Single { target: String },
    /// Every database of a combined file under its own name, except `exclude`.
    All { exclude: Vec<String> },
    /// A primary's dump into `target` (default: its recorded name), and its `_dmart`
    /// companion, found through the metadata's `database_details`, into `<target>_dmart`.
    Primary {
        target: Option<String>,
        companion: bool,
    },
}

#[derive(Clone, Debug)]
pub struct RestoreConfig {
    pub connection: ConnectionSettings,
    pub file: PathBuf,
    pub passphrase: Option<Passphrase>,
    pub mode: RestoreMode,
    pub ticket: String,
    /// Data connections.
    pub threads: usize,
    /// Drop each target database before restoring into it.
    pub drop_target: bool,
    /// A single-database restore runs statements naming another database as written
    /// (`--allow-other-databases`); otherwise they are refused.
    pub allow_other_databases: bool,
    /// Asked before `--drop-target` drops a database that exists (interactive runs); None:
    /// dropped without asking. Either way the drop is reported.
    pub confirm_drop: Option<ConfirmDrop>,
    pub grants: GrantsSource,
    /// Re-point the accounts file's grants on the source database at the target database
    /// (`--grants-to-target`).
    pub grants_to_target: bool,
    /// Read the file and report what would be restored where; change nothing.
    pub dry_run: bool,
    /// Report a failed statement and go on (the restore still ends as failed).
    pub continue_on_error: bool,
    /// Any server warning fails the restore.
    pub strict: bool,
    /// Do not write the restore to the binary log (replicas will not get it).
    pub skip_binlog: bool,
    /// Prove each file while reading it: size and SHA-256 against its metadata, and our
    /// dumps' completion footer (`--no-verify` turns this off).
    pub verify: bool,
    /// `--max-statement-size`: a longer statement in the file is an error, and memory holds
    /// no more; None: the target server's `max_allowed_packet`, which refuses a longer one.
    pub max_statement_size: Option<usize>,
    /// Part of the file (`--tables`, `--ignore-table`): the statements of other tables are
    /// read past, not run.
    pub tables: crate::pattern::TableFilter,
    /// Keep the restore's journal on the target (`restore::journal`), so that a restore that
    /// stops can be resumed; `--no-journal` turns it off.
    pub journal: bool,
    /// `--resume`: go on with the stopped restore of the same file with the same options into
    /// the same target, reading past what its journal says was committed.
    pub resume: bool,
    /// `--keys-after-rows`: tables with at least this many bytes of rows in the dump (its
    /// metadata) get their plain secondary keys built after their rows (`restore::keys`);
    /// None (`off`): every table is loaded with its keys.
    pub keys_after_rows: Option<u64>,
}

/// The binary's question before `--drop-target` drops a database that exists: its name and
/// how many tables and routines it holds; false keeps it and stops the restore.
#[derive(Clone)]
pub struct ConfirmDrop(pub Arc<DropQuestion>);

/// See [`ConfirmDrop`].
pub type DropQuestion = dyn Fn(&str, u64) -> bool + Send + Sync;

impl ConfirmDrop {
    /// Asks on a blocking thread: the answer takes a person, and meanwhile a signal must still
    /// be able to stop the run.
    pub async fn ask(&self, database: &str, objects: u64) -> crate::Result<bool> {
        let (question, database) = (self.0.clone(), database.to_owned());
        tokio::task::spawn_blocking(move || question(&database, objects))
            .await
            .map_err(|e| crate::Error::Internal(format!("asking before dropping: {e}")))
    }
}

impl std::fmt::Debug for ConfirmDrop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConfirmDrop")
    }
}

/// `verify`: the file alone, or also against a live database.
#[derive(Clone, Debug)]
pub struct VerifyConfig {
    pub file: PathBuf,
    pub passphrase: Option<Passphrase>,
    /// A live database to compare the recorded row counts and checksums with.
    pub against: Option<(ConnectionSettings, String)>,
    /// `--max-statement-size` (default [`crate::read::split::DEFAULT_MAX_STATEMENT`]): a
    /// longer statement is an error, and memory holds no more.
    pub max_statement_size: usize,
}

/// A byte count as operators write it for the MySQL tools (`--max-allowed-packet=16M`):
/// `4194304`, `4M`, `4MiB`, `1G`. K, M and G are powers of 1024, in either case, optionally
/// followed by `B` or `iB`. The caller checks the range; its error names the option and the
/// value, so these messages do not repeat the value.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let shift = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => Some(0),
        "k" | "kb" | "kib" => Some(10),
        "m" | "mb" | "mib" => Some(20),
        "g" | "gb" | "gib" => Some(30),
        _ => None,
    };
    let (Ok(n), Some(shift)) = (digits.parse::<u64>(), shift) else {
        return Err(
            "not a size: give bytes (1048576) or a whole number with K, M or G (1M, 4M)".into(),
        );
    };
    n.checked_mul(1 << shift)
        .ok_or_else(|| "too large".to_owned())
}

/// The smallest `--statement-size`: mysqldump's smallest `--net-buffer-length`.
pub const MIN_STATEMENT_SIZE: usize = 4 << 10;
/// The largest `--statement-size`, as mysqldump caps `--net-buffer-length`: a statement must
/// fit the `max_allowed_packet` of whatever server restores it, whose default is 16 MiB on
/// MariaDB (4 MiB before 10.2.4 and on MySQL 5.7, 64 MiB on MySQL 8). A statement of 16 MiB
/// with its `;` is sent as at most 16 MiB - 1 bytes, which such a server takes. Beyond that a
/// dump would need the restore side reconfigured, for no gain: a restore spends the same time
/// per row whether statements hold 1 or 16 MiB of them.
pub const MAX_STATEMENT_SIZE: usize = 16 << 20;

/// `--statement-size`: bytes or K/M/G ([`parse_bytes`]), within
/// [`MIN_STATEMENT_SIZE`]..=[`MAX_STATEMENT_SIZE`].
pub fn parse_statement_size(text: &str) -> Result<usize, String> {
    let bytes = parse_bytes(text)?;
    if bytes < MIN_STATEMENT_SIZE as u64 {
        return Err("too small: a statement holds at least 4K (4096 bytes)".into());
    }
    if bytes > MAX_STATEMENT_SIZE as u64 {
        return Err(
            "too large: at most 16M (16777216 bytes); a larger statement needs \
             max_allowed_packet raised on the server that restores it (its default is 16M), \
             and restores no faster"
                .into(),
        );
    }
    Ok(bytes as usize)
}

/// The smallest `--max-statement-size`: a dump's own header statements take more.
pub const MIN_MAX_STATEMENT: usize = 1 << 10;

/// `--keys-after-rows SIZE|off` as given: the size, or None for `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeysAfterRows(pub Option<u64>);

/// `--keys-after-rows SIZE|off`: the size (bytes, or K/M/G; 0 for every table), or `off`.
pub fn parse_keys_after_rows(text: &str) -> Result<KeysAfterRows, String> {
    if text.eq_ignore_ascii_case("off") {
        return Ok(KeysAfterRows(None));
    }
    parse_bytes(text)
        .map(|b| KeysAfterRows(Some(b)))
        .map_err(|e| format!("{e}; or `off` to keep every table's keys while it loads"))
}

/// `--max-statement-size`: bytes or K/M/G ([`parse_bytes`]), from 1K up to 1G (the largest
/// `max_allowed_packet` of any server: no longer statement can run anywhere).
pub fn parse_max_statement_size(text: &str) -> Result<usize, String> {
    let bytes = parse_bytes(text)?;
    if bytes < MIN_MAX_STATEMENT as u64 {
        return Err("too small: at least 1K (1024 bytes)".into());
    }
    if bytes > crate::read::split::DEFAULT_MAX_STATEMENT as u64 {
        return Err(
            "too large: at most 1G (1073741824 bytes), the largest max_allowed_packet of any \
             server"
                .into(),
        );
    }
    usize::try_from(bytes).map_err(|_| "too large for this machine".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_statement_sizes_run_from_1k_to_1g() {
        assert_eq!(parse_max_statement_size("64M"), Ok(64 << 20));
        assert_eq!(parse_max_statement_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_max_statement_size("1K"), Ok(1024));
        assert_eq!(parse_max_statement_size("1G"), Ok(1 << 30));
        for (text, says) in [
            ("1023", "too small"),
            ("0", "too small"),
            ("1025M", "too large"),
            ("2G", "too large"),
            ("64Q", "not a size"),
        ] {
            let e = parse_max_statement_size(text).expect_err(text);
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn keys_after_rows_is_a_size_or_off_and_says_so() {
        assert_eq!(
            parse_keys_after_rows("16m"),
            Ok(KeysAfterRows(Some(16 << 20)))
        );
        assert_eq!(parse_keys_after_rows("0"), Ok(KeysAfterRows(Some(0))));
        assert_eq!(parse_keys_after_rows("OFF"), Ok(KeysAfterRows(None)));
        for text in ["banana", "-5", "10Q", ""] {
            let e = parse_keys_after_rows(text).expect_err(text);
            assert!(
                e.contains("not a size") && e.contains("`off`"),
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn statement_sizes_are_bounded_by_what_restores() {
        assert_eq!(parse_statement_size("4M"), Ok(4 << 20));
        assert_eq!(parse_statement_size("16m"), Ok(MAX_STATEMENT_SIZE));
        assert_eq!(parse_statement_size("16777216"), Ok(MAX_STATEMENT_SIZE));
        assert_eq!(parse_statement_size("4K"), Ok(MIN_STATEMENT_SIZE));
        assert_eq!(
            parse_statement_size("1048576"),
            Ok(crate::sql::insert::DEFAULT_STATEMENT_SIZE)
        );
        for (text, says) in [
            ("0", "too small"),
            ("4095", "too small"),
            ("16777217", "too large"),
            ("1G", "too large"),
            ("4X", "not a size"),
        ] {
            let e = parse_statement_size(text).expect_err(text);
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn sizes_take_the_suffixes_of_the_mysql_tools() {
        for (text, bytes) in [
            ("4194304", 4 << 20),
            ("4M", 4 << 20),
            ("4m", 4 << 20),
            ("4MiB", 4 << 20),
            ("4mb", 4 << 20),
            ("64K", 64 << 10),
            ("64k", 64 << 10),
            ("1G", 1 << 30),
            ("1gib", 1 << 30),
            (" 16M ", 16 << 20),
            ("0", 0),
        ] {
            assert_eq!(parse_bytes(text), Ok(bytes), "{text}");
        }
    }

    #[test]
    fn garbage_is_not_a_size() {
        for text in [
            "",
            "M",
            "4X",
            "4 M",
            "-1",
            "1.5M",
            "4MM",
            "0x10",
            "4Mi",
            "99999999999999999999",
            "18446744073709551615K",
        ] {
            let e = parse_bytes(text).expect_err(text);
            assert!(e.contains("not a size") || e == "too large", "{text}: {e}");
        }
    }
}
