//! A whole backup run, by phase: [`plan`] selects the databases and names the files (and is
//! the dry run), an engine writes them ([`native`], or [`mysqldump`] as a child process),
//! [`schedule`] orders a database's table and chunk tasks and checks their counts, [`finish`]
//! writes the accounts file and the metadata. [`RunContext`] is what a run carries from its
//! preparation to its report.

pub mod chunks;
mod finish;
pub mod mysqldump;
pub mod naming;
mod native;
pub mod plan;
mod schedule;
pub(crate) mod selection;
pub mod spool;
mod translate;
pub mod workers;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::config::run::{BackupConfig, Engine};
use crate::connect::ServerInfo;
use crate::error::Result;
use crate::grants::GrantsExport;
use crate::metadata::{Metadata, SnapshotInfo};
use crate::output::OutputSpec;
use crate::progress::Progress;
use crate::select::Selection;

/// One file of a finished run.
#[derive(Clone, Debug)]
pub struct FileReport {
    pub path: PathBuf,
    /// Where its metadata is written; None when the run writes none (config
    /// `backup.output.save_backup_info: false`).
    pub metadata_path: Option<PathBuf>,
    pub databases: Vec<String>,
    pub metadata: Metadata,
}

#[derive(Clone, Debug)]
pub struct BackupReport {
    pub files: Vec<FileReport>,
    pub snapshot: SnapshotInfo,
    pub server: String,
    /// The accounts file written with the dump, if any.
    pub user_grants: Option<PathBuf>,
    /// How long commits on the server were blocked by the dump; None when they never were.
    pub commits_blocked: Option<Duration>,
    /// A copy's accounts (`db-copy --grants`), read in the snapshot's run for the target.
    pub accounts: Option<GrantsExport>,
}

/// One file a run writes, and the databases it holds.
#[derive(Clone)]
pub(crate) struct PlannedFile {
    pub path: PathBuf,
    pub databases: Vec<String>,
}

/// One run from its preparation to its report, for both engines: what was asked, of which
/// server, which databases, tables and files, and what the end of the run needs (the
/// accounts, the tables whose rows are left out). Made once by [`plan::prepare`], read by the engine,
/// by every file task (the native engine shares it between them) and by [`finish`].
pub(crate) struct RunContext {
    pub cfg: BackupConfig,
    pub info: ServerInfo,
    pub selection: Selection,
    pub planned: Vec<PlannedFile>,
    /// The accounts file's content; None when not wanted, in a dry run, or not readable.
    pub grants: Option<GrantsExport>,
    /// The tables of the chosen databases and what the selection makes of them (the tables
    /// whose rows are left out, the views over tables left out).
    pub tables: selection::TablePlan,
    /// The key of the metadata's checksums, for an encrypted dump of the native engine (the
    /// only one that records checksums).
    pub checksums: Option<finish::KeyedChecksums>,
    /// The estimated rows of each table whose rows the native engine reads, (database, table)
    /// → rows: the total progress shows from the start.
    pub rows_planned: HashMap<(String, String), u64>,
}

impl RunContext {
    /// The planned estimate of `db`.`table`'s rows; 0 for a table that was not planned.
    pub fn rows_planned(&self, db: &str, table: &str) -> u64 {
        self.rows_planned
            .get(&(db.to_owned(), table.to_owned()))
            .copied()
            .unwrap_or(0)
    }
}

/// Runs a backup as configured.
pub async fn run(cfg: &BackupConfig, progress: Arc<dyn Progress>) -> Result<BackupReport> {
    match cfg.engine {
        Engine::Mysqldump => mysqldump::run(cfg, progress).await,
        Engine::Native => native::run(cfg, progress).await,
    }
}

/// Threads a file's codec may use. Each zstd worker holds its job buffers and match tables
/// (~25 MB at level 5), so eight of them alone would pass the 200 MB memory budget; four keep
/// up with the rows that two to eight dump workers produce.
pub const MAX_CODEC_THREADS: usize = 4;

/// Where and how a dump file of the run is written, for both engines.
fn file_spec(cfg: &BackupConfig, path: &Path) -> OutputSpec {
    OutputSpec {
        path: path.to_owned(),
        bucket: cfg.bucket.clone(),
        pipe: cfg.pipe.clone(),
        codec: cfg.codec,
        level: cfg.level,
        passphrase: cfg.passphrase.clone(),
        mode: cfg.file_mode,
        threads: cfg.threads.clamp(1, MAX_CODEC_THREADS),
    }
}
