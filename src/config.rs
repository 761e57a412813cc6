//! The validated configuration of a run: what the CLI (or a test) builds and the engine obeys.

use std::path::PathBuf;
use std::time::Duration;

use crate::compress::{Codec, Level};
use crate::connect::ConnectionSettings;
use crate::encrypt::Passphrase;
use crate::snapshot::Consistency;
use crate::sql::script::DdlOptions;

/// Which databases go into which files (compat §2 table).
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
        }
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// This crate's own parallel dump.
    Native,
    /// `mariadb-dump`/`mysqldump`, for what the native engine cannot do.
    Mysqldump,
}

impl std::str::FromStr for Engine {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "native" => Ok(Engine::Native),
            "mysqldump" | "mariadb-dump" => Ok(Engine::Mysqldump),
            _ => Err(format!("unknown engine {s:?}: use native or mysqldump")),
        }
    }
}

#[derive(Clone, Debug)]
pub struct BackupConfig {
    pub engine: Engine,
    /// Connect, select and report; write nothing.
    pub dry_run: bool,
    /// Extra options for the mysqldump engine (config `backup.mysqldump_args`); None: the
    /// defaults in `mysqldump::DEFAULT_ARGS`.
    pub mysqldump_args: Option<Vec<String>>,
    pub connection: ConnectionSettings,
    pub mode: BackupMode,
    pub exclude_system: bool,
    pub exclude_empty: bool,
    /// Schema only: no rows, `_nodata` in the file name.
    pub exclude_data: bool,
    pub output_dir: PathBuf,
    /// `--filename`: validated base name (compat §3).
    pub filename: Option<String>,
    pub ticket: String,
    pub codec: Codec,
    pub level: Level,
    pub passphrase: Option<Passphrase>,
    /// Upper bound of one INSERT statement in bytes.
    pub statement_size: usize,
    pub threads: usize,
    /// Target size of one chunk of a big table (see `dump::chunks`).
    pub chunk_bytes: u64,
    pub consistency: Consistency,
    /// How long to wait for the DDL and commit locks before failing.
    pub lock_wait_timeout: Duration,
    pub ddl: DdlOptions,
    /// Permission bits of dump files and metadata.
    pub file_mode: u32,
    /// How rows are read (hidden `--row-reader`; the default falls back by itself).
    pub row_reader: crate::rows::RowReader,
}
