//! The end of a run, for both engines: each file's metadata built as the file is written, then,
//! once every file exists, the accounts file and the metadata files, and the run's report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Local};

use super::plan::grants_file_next_to;
use super::{BackupReport, FileReport, PlannedFile, RunContext, naming};
use crate::config::run::BackupConfig;
use crate::encrypt::{ChecksumKey, EncryptError, Passphrase, WRITE_ITERATIONS};
use crate::error::{Error, Result};
use crate::grants::GrantsExport;
use crate::metadata::{
    self, ChecksumKeyInfo, DatabaseDetail, Metadata, SnapshotInfo, TableInfo, TableRef,
};
use crate::output::{OutputSpec, OutputSummary};
use crate::progress::{Event, Progress};

/// One written file as its metadata describes it: what it holds, how and when it was written.
pub(super) struct FileFacts<'a> {
    pub plan: &'a PlannedFile,
    pub engine: &'static str,
    pub threads: usize,
    /// How the engine made its snapshot consistent (`Session::method`).
    pub method: &'a str,
    pub snapshot: &'a SnapshotInfo,
    pub started: DateTime<Local>,
    pub clock: Instant,
    /// Per table, with the native engine; empty with mysqldump, whose tables are not seen.
    pub tables: Vec<TableInfo>,
    /// The longest statement, in bytes.
    pub largest: usize,
    /// None with mysqldump, which reports none of this.
    pub notes: Option<FileNotes>,
}

/// What a file's metadata says about tables whose rows were not (all) dumped.
#[derive(Default)]
pub(super) struct FileNotes {
    pub structure_only: Vec<metadata::StructureOnly>,
    pub history_lost: Vec<TableRef>,
    pub definitions: BTreeMap<String, BTreeMap<String, String>>,
    pub functions_needing_trust: Vec<metadata::RoutineRef>,
}

/// The key an encrypted dump's metadata checksums are keyed with, and how it was derived (one
/// per run: a fresh salt, the container's number of rounds). The derivation takes as long as
/// the container's (a third of a second here), so it runs on its own thread while the dump
/// does, and a file's metadata waits for it only if it is not done by then.
pub(crate) struct KeyedChecksums {
    /// None only if the derivation failed after all (it cannot once one round passed).
    key: Arc<OnceLock<Option<ChecksumKey>>>,
    info: ChecksumKeyInfo,
}

impl KeyedChecksums {
    /// Draws the salt and starts the derivation; a passphrase the KDF would refuse (empty) is
    /// refused here, so the thread cannot fail.
    pub(crate) fn start(pass: Passphrase) -> Result<KeyedChecksums> {
        let refused = |e: EncryptError| {
            Error::Usage(format!(
                "the backup key cannot key the metadata's checksums: {e}"
            ))
        };
        let salt = ChecksumKey::new_salt().map_err(refused)?;
        // One round first: the only ways the derivation can fail, found cheaply.
        ChecksumKey::derive(&pass, &salt, 1).map_err(refused)?;
        let key = Arc::new(OnceLock::new());
        let slot = key.clone();
        std::thread::Builder::new()
            .name("sfdb-checksum-key".into())
            .spawn(move || {
                let _ = slot.set(ChecksumKey::derive(&pass, &salt, WRITE_ITERATIONS).ok());
            })
            .map_err(|e| Error::Internal(format!("cannot start the checksum key thread: {e}")))?;
        Ok(KeyedChecksums {
            key,
            info: ChecksumKeyInfo {
                algorithm: ChecksumKeyInfo::ALGORITHM.into(),
                kdf: ChecksumKeyInfo::KDF.into(),
                iterations: WRITE_ITERATIONS,
                salt: hex::encode(salt),
            },
        })
    }

    /// The file's table checksums and definition digests, keyed.
    fn apply(
        &self,
        tables: &mut [TableInfo],
        definitions: &mut BTreeMap<String, BTreeMap<String, String>>,
    ) {
        let Some(key) = self.key.wait() else {
            // Never plain sums next to an encrypted dump: none at all rather.
            tables.iter_mut().for_each(|t| t.checksum.clear());
            definitions.clear();
            return;
        };
        for t in tables {
            t.checksum = key.table(&t.database, &t.table, &t.checksum);
        }
        definitions.values_mut().for_each(|d| key.definitions(d));
    }
}

/// A file is complete: its metadata is built (written later, by [`report`]) and the progress
/// hears of it.
pub(super) fn file_written(
    run: &RunContext,
    file: FileFacts<'_>,
    summary: &OutputSummary,
    progress: &dyn Progress,
) -> FileReport {
    let plan = file.plan;
    let metadata = build_metadata(run, file, summary, Local::now());
    // Written by `complete` once every file of the run exists.
    let metadata_path = run
        .cfg
        .save_metadata
        .then(|| PathBuf::from(naming::metadata_file(&plan.path.display().to_string())));
    progress.event(&Event::FileWritten {
        path: &plan.path,
        bytes: summary.file.bytes,
        sql_bytes: summary.sql_bytes,
    });
    FileReport {
        path: plan.path.clone(),
        metadata_path,
        databases: plan.databases.clone(),
        metadata,
    }
}

/// The end of a successful run: every file exists; `complete` writes the accounts file and
/// the metadata; the report says what was written.
pub(super) fn report(
    run: &RunContext,
    mut files: Vec<FileReport>,
    snapshot: SnapshotInfo,
    commits_blocked: Option<Duration>,
) -> Result<BackupReport> {
    for f in &mut files {
        f.metadata.commits_blocked_ms = commits_blocked.map(|d| d.as_millis() as u64);
    }
    // A copy writes no file: its accounts go to the restore on the other end of the pipe.
    let (user_grants, accounts) = match &run.cfg.pipe {
        None => (complete(run, &mut files)?, None),
        Some(_) => (None, run.grants.clone()),
    };
    Ok(BackupReport {
        files,
        snapshot,
        server: run.info.version.clone(),
        user_grants,
        commits_blocked,
        accounts,
    })
}

/// The end of a successful run, for both engines: writes the accounts file next to the first
/// dump, then every dump's metadata (naming the accounts file and, for a primary/secondary
/// package, every file of the package with its final size), unless the run writes none.
/// Metadata comes last so that it only ever describes files that are complete. On failure
/// every file of the run is removed.
fn complete(run: &RunContext, files: &mut [FileReport]) -> Result<Option<PathBuf>> {
    let cfg = &run.cfg;
    let mut written: Vec<PathBuf> = Vec::new();
    let result = (|| {
        let grants_file = match (&run.grants, files.first()) {
            (Some(export), Some(first)) => {
                let path = grants_file_next_to(cfg, &first.path);
                write_grants(cfg, &path, export)?;
                written.push(path.clone());
                Some(path)
            }
            _ => None,
        };
        let user_grants = grants_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "none".into());
        let details: Vec<Option<Vec<DatabaseDetail>>> = files
            .iter()
            .map(|f| package_details(run, files, f))
            .collect();
        for (f, details) in files.iter_mut().zip(details) {
            f.metadata.additional_files.user_grants = user_grants.clone();
            f.metadata.database_details = details;
            if let Some(path) = &f.metadata_path {
                write_metadata(cfg, path, &f.metadata)?;
                written.push(path.clone());
            }
        }
        Ok(grants_file)
    })();
    if result.is_err() {
        for p in written.iter().chain(files.iter().map(|f| &f.path)) {
            crate::output::remove_written(p);
        }
    }
    result
}

/// The accounts file: plain or encrypted like the dump, never compressed, always 0600
/// (it holds password hashes).
fn write_grants(cfg: &BackupConfig, path: &Path, export: &GrantsExport) -> Result<()> {
    let mut chain = crate::output::OutputChain::create(OutputSpec {
        path: path.to_owned(),
        bucket: cfg.bucket.clone(),
        pipe: None,
        codec: crate::compress::Codec::None,
        level: cfg.level,
        passphrase: cfg.passphrase.clone(),
        mode: 0o600,
        threads: 1,
    })?;
    chain.write_sql(export.sql.as_bytes())?;
    chain.finish()?;
    Ok(())
}

/// `database_details` of a file that belongs to a primary/secondary package: the package's
/// database and companion, each with its file and exact final size.
fn package_details(
    run: &RunContext,
    files: &[FileReport],
    file: &FileReport,
) -> Option<Vec<DatabaseDetail>> {
    let package = run.selection.package_of(file.databases.first()?)?;
    Some(
        package
            .members()
            .filter_map(|db| files.iter().find(|f| f.databases.first() == Some(db)))
            .map(|f| DatabaseDetail {
                database_name: f.databases[0].clone(),
                backup_file: f.path.display().to_string(),
                file_size_bytes: f.metadata.file.size_bytes,
                file_size_human: f.metadata.file.size_human.clone(),
            })
            .collect(),
    )
}

fn build_metadata(
    run: &RunContext,
    mut file: FileFacts<'_>,
    summary: &OutputSummary,
    ended: DateTime<Local>,
) -> Metadata {
    let (cfg, info, plan) = (&run.cfg, &run.info, file.plan);
    let fmt = |t: &DateTime<Local>| t.format("%Y-%m-%d %H:%M:%S").to_string();
    let elapsed = file.clock.elapsed();
    let functions_needing_trust = file
        .notes
        .as_mut()
        .map(|n| std::mem::take(&mut n.functions_needing_trust));
    let mut notes = file.notes.unwrap_or_default();
    if let Some(k) = &run.checksums {
        k.apply(&mut file.tables, &mut notes.definitions);
    }
    Metadata {
        backup: metadata::BackupInfo {
            file: plan.path.display().to_string(),
            kind: cfg.mode.metadata_type().into(),
            status: "success".into(),
            databases: plan.databases.clone(),
            excluded_databases: run.selection.excluded.clone(),
            exclude_data: cfg.exclude_data,
        },
        database_details: None,
        time: metadata::TimeInfo {
            start_time: fmt(&file.started),
            end_time: fmt(&ended),
            duration: metadata::old_duration(elapsed),
        },
        file: metadata::FileInfo {
            size_bytes: summary.file.bytes,
            size_human: metadata::old_size(summary.file.bytes),
        },
        compression: metadata::CompressionInfo {
            enabled: summary.codec != crate::compress::Codec::None,
            kind: summary.codec.name().into(),
        },
        encryption: metadata::EncryptionInfo {
            enabled: summary.encrypted,
        },
        source: metadata::SourceInfo {
            hostname: info.hostname.clone(),
            host: cfg.connection.source_host().to_owned(),
            port: match &cfg.connection.tunnelled {
                Some(t) => t.port,
                None => cfg.connection.port,
            },
            socket: cfg
                .connection
                .socket
                .as_ref()
                .map(|s| s.display().to_string()),
        },
        replication: metadata::ReplicationInfo {
            gtid_info: file.snapshot.gtid_info(),
        },
        version: metadata::VersionInfo {
            mariadb: info.version.clone(),
        },
        additional_files: metadata::AdditionalFiles {
            user_grants: "none".into(),
        },
        ticket: cfg.ticket.clone(),
        generator: metadata::GeneratorInfo {
            generated_by: "sfdbtools".into(),
            generated_at: metadata::go_time(&ended),
        },
        engine: file.engine.into(),
        threads: file.threads,
        consistency: file.method.to_owned(),
        duration_ms: elapsed.as_millis() as u64,
        snapshot: file.snapshot.clone(),
        sha256: summary.file.sha256.clone(),
        sql_bytes: summary.sql_bytes,
        max_statement_bytes: file.largest,
        checksum_key: run.checksums.as_ref().map(|k| k.info.clone()),
        selection: super::selection::metadata(cfg, &run.tables, &plan.databases),
        tables: file.tables,
        data_skipped: run
            .tables
            .data_skipped
            .iter()
            .filter(|t| plan.databases.contains(&t.database))
            .cloned()
            .collect(),
        structure_only: notes.structure_only,
        history_lost: notes.history_lost,
        definitions: notes.definitions,
        functions_needing_trust,
        commits_blocked_ms: None,
    }
}

fn write_metadata(cfg: &BackupConfig, path: &Path, metadata: &Metadata) -> Result<()> {
    let mut json = serde_json::to_vec_pretty(metadata)
        .map_err(|e| Error::Internal(format!("serialising metadata: {e}")))?;
    json.push(b'\n');
    crate::output::write_whole(cfg.bucket.as_ref(), path, cfg.metadata_mode, &json)?;
    Ok(())
}
