//! A whole backup run: select databases, open the snapshot, write each file, then its metadata.

pub mod chunks;
pub mod naming;
pub mod spool;
pub mod workers;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Local};
use mysql_async::Conn;
use mysql_async::prelude::*;
use tokio::sync::{mpsc, oneshot};

use crate::catalog::{self, DatabaseCatalog, Table, View};
use crate::config::run::{BackupConfig, BackupMode, Engine};
use crate::connect::{self, ServerInfo};
use crate::error::{Error, Result};
use crate::grants::{self, GrantsExport};
use crate::metadata::{self, DatabaseDetail, Metadata, SnapshotInfo, TableInfo, TableRef};
use crate::output::{Chunk, OutputSpec, OutputSummary, Writer};
use crate::progress::{Event, Progress};
use crate::quote::ident;
use crate::rows::RowChecksum;
use crate::select;
use crate::snapshot::{self, Consistency, Session, SessionOptions};
use crate::sql::script::{self, HeaderInfo};
use workers::{Outcome, Pool, Queue, TaskKind, outcome};

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
}

pub use crate::select::{Selection, select_databases};

pub(crate) struct PlannedFile {
    pub path: PathBuf,
    pub databases: Vec<String>,
}

fn plan_files(
    cfg: &BackupConfig,
    databases: &[String],
    hostname: &str,
    at: &DateTime<Local>,
) -> Result<Vec<PlannedFile>> {
    let encrypted = cfg.passphrase.is_some();
    let custom = cfg
        .filename
        .as_deref()
        .map(|f| naming::custom_file(f, cfg.codec, encrypted))
        .transpose()?;
    if cfg.mode.is_combined() {
        let name = custom.unwrap_or_else(|| {
            naming::combined_file(
                matches!(cfg.mode, BackupMode::All),
                cfg.exclude_data,
                at,
                hostname,
                databases.len(),
                cfg.codec,
                encrypted,
            )
        });
        return Ok(vec![PlannedFile {
            path: cfg.output_dir.join(name),
            databases: databases.to_vec(),
        }]);
    }
    Ok(databases
        .iter()
        .enumerate()
        .map(|(i, db)| {
            let name = match (&custom, i) {
                (Some(c), 0) => c.clone(),
                _ => {
                    naming::database_file(db, cfg.exclude_data, at, hostname, cfg.codec, encrypted)
                }
            };
            PlannedFile {
                path: cfg.output_dir.join(name),
                databases: vec![db.clone()],
            }
        })
        .collect())
}

/// What both engines do before dumping: connect, select, name the files, read the accounts,
/// create the directory.
pub(crate) struct Prepared {
    pub control: Conn,
    pub info: ServerInfo,
    pub selection: Selection,
    pub planned: Vec<PlannedFile>,
    /// The accounts file's content; None when not wanted, in a dry run, or not readable.
    pub grants: Option<GrantsExport>,
    /// primary/secondary: the session tables whose rows are left out.
    pub data_skipped: Vec<TableRef>,
}

pub(crate) async fn prepare(cfg: &BackupConfig, progress: &dyn Progress) -> Result<Prepared> {
    if !cfg.dry_run {
        check_writable(&cfg.output_dir)?;
    }
    let started = Local::now();
    let (mut control, info) = connect::open(&cfg.connection, "control").await?;

    let all = catalog::list_databases(&mut control).await?;
    let mut selection = select_databases(&all, cfg)?;
    if !selection.unknown.is_empty() && !cfg.allow_missing {
        let names: Vec<String> = selection.unknown.iter().map(|n| ident(n)).collect();
        let (what, verb) = match names.len() {
            1 => ("database", "does"),
            _ => ("databases", "do"),
        };
        return Err(Error::Usage(format!(
            "{what} {} named by --db, --db-file or the config's include list {verb} not exist \
             on the server; check the name with SHOW DATABASES, or pass --allow-missing to back \
             up the others; nothing was written",
            names.join(", ")
        )));
    }
    for name in &selection.unknown {
        progress.event(&Event::Warning(&format!(
            "database {} was asked for but does not exist on the server (--allow-missing)",
            ident(name)
        )));
    }
    if cfg.exclude_empty {
        let mut empty = Vec::new();
        for db in &selection.databases {
            if count_tables(&mut control, db).await? == 0 {
                empty.push(db.clone());
            }
        }
        selection.retain(|db| !empty.iter().any(|e| e == db));
    }
    if selection.databases.is_empty() {
        return Err(Error::Usage(
            "no database selected: nothing to back up (check the names and the exclude rules)"
                .into(),
        ));
    }
    let data_skipped = if cfg.mode.is_package() {
        session_tables(&mut control, &selection.databases, &cfg.mode).await?
    } else {
        Vec::new()
    };

    let planned = plan_files(cfg, &selection.databases, &info.hostname, &started)?;
    if cfg.dry_run {
        return Ok(Prepared {
            control,
            info,
            selection,
            planned,
            grants: None,
            data_skipped,
        });
    }
    let grants = if cfg.export_grants {
        read_grants(&mut control, &info, cfg, &selection, progress).await?
    } else {
        None
    };
    std::fs::create_dir_all(&cfg.output_dir)
        .map_err(|e| Error::file("creating the backup directory", cfg.output_dir.clone(), e))?;
    let paths: Vec<PathBuf> = planned.iter().map(|p| p.path.clone()).collect();
    progress.event(&Event::Plan {
        databases: &selection.databases,
        files: &paths,
    });
    Ok(Prepared {
        control,
        info,
        selection,
        planned,
        grants,
        data_skipped,
    })
}

/// The accounts of the run's scope (all of them for `all`), or None with a warning when this
/// account may not read them: the dump does not need `mysql.*`, so the lack of it does not
/// cost the backup.
async fn read_grants(
    conn: &mut Conn,
    info: &ServerInfo,
    cfg: &BackupConfig,
    selection: &Selection,
    progress: &dyn Progress,
) -> Result<Option<GrantsExport>> {
    let scope = match cfg.mode {
        BackupMode::All => grants::Scope::All,
        _ => grants::Scope::Databases(&selection.databases),
    };
    match grants::read(conn, info, scope).await {
        Ok(export) => {
            for w in &export.warnings {
                progress.event(&Event::Warning(w));
            }
            Ok(Some(export))
        }
        Err(e) if grants::is_privilege_error(&e) => {
            progress.event(&Event::Warning(&format!(
                "user grants are not exported: {e}; grant SELECT ON mysql.* to {} to export \
                 them, or pass --exclude-user to silence this",
                cfg.connection.user
            )));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The session tables (base tables, exact names) of `databases` whose rows are left out.
async fn session_tables(
    conn: &mut Conn,
    databases: &[String],
    mode: &BackupMode,
) -> Result<Vec<TableRef>> {
    let mut out = Vec::new();
    for db in databases {
        let names: Vec<String> = conn
            .exec(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? \
                 AND TABLE_TYPE <> 'VIEW' AND TABLE_NAME IN (?, ?, ?) ORDER BY TABLE_NAME",
                (
                    db,
                    select::SESSION_TABLES[0],
                    select::SESSION_TABLES[1],
                    select::SESSION_TABLES[2],
                ),
            )
            .await
            .map_err(|e| {
                Error::server(format!("listing the session tables of {}", ident(db)), e)
            })?;
        // information_schema may compare names case-insensitively; the engines match exactly.
        out.extend(
            names
                .into_iter()
                .filter(|t| select::skips_data(mode, t))
                .map(|table| TableRef {
                    database: db.clone(),
                    table,
                }),
        );
    }
    Ok(out)
}

/// The server's databases in server order (for choosing interactively).
pub async fn server_databases(cfg: &BackupConfig) -> Result<Vec<String>> {
    let (mut control, _) = connect::open(&cfg.connection, "control").await?;
    let all = catalog::list_databases(&mut control).await?;
    let _ = control.disconnect().await;
    Ok(all)
}

/// What a run would do: the databases, their size, and the files it would write.
#[derive(Clone, Debug)]
pub struct DryRun {
    pub server: String,
    pub hostname: String,
    /// (database, tables, estimated rows, estimated bytes)
    pub databases: Vec<(String, u64, u64, u64)>,
    pub excluded: Vec<String>,
    pub files: Vec<PathBuf>,
    /// The accounts file a backup would write.
    pub user_grants: Option<PathBuf>,
    /// primary/secondary: the packages (database and companion).
    pub packages: Vec<crate::select::Package>,
    pub data_skipped: Vec<TableRef>,
}

/// `--dry-run`: connects and selects like a backup, then reports; writes nothing, creates no
/// directory, takes no lock.
pub async fn dry_run(cfg: &BackupConfig, progress: &dyn Progress) -> Result<DryRun> {
    let Prepared {
        mut control,
        info,
        selection,
        planned,
        data_skipped,
        ..
    } = prepare(cfg, progress).await?;
    let mut databases = Vec::new();
    for db in &selection.databases {
        let row: Option<(u64, u64, u64)> = control
            .exec_first(
                "SELECT COUNT(*), CAST(COALESCE(SUM(TABLE_ROWS), 0) AS UNSIGNED), \
                 CAST(COALESCE(SUM(DATA_LENGTH), 0) AS UNSIGNED) \
                 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE <> 'VIEW'",
                (db,),
            )
            .await
            .map_err(|e| Error::server(format!("estimating the size of {}", ident(db)), e))?;
        let (tables, rows, bytes) = row.unwrap_or_default();
        databases.push((db.clone(), tables, rows, bytes));
    }
    let _ = control.disconnect().await;
    Ok(DryRun {
        server: info.version,
        hostname: info.hostname,
        databases,
        excluded: selection.excluded,
        user_grants: if cfg.export_grants {
            grants_path(cfg, &planned)
        } else {
            None
        },
        files: planned.into_iter().map(|p| p.path).collect(),
        packages: selection.packages,
        data_skipped,
    })
}

/// `<first dump>_users.sql[.enc]`, next to it.
fn grants_path(cfg: &BackupConfig, planned: &[PlannedFile]) -> Option<PathBuf> {
    planned.first().map(|p| grants_file_next_to(cfg, &p.path))
}

fn grants_file_next_to(cfg: &BackupConfig, dump: &Path) -> PathBuf {
    let name = dump.file_name().unwrap_or_default().to_string_lossy();
    dump.with_file_name(naming::grants_file(&name, cfg.passphrase.is_some()))
}

/// Runs a backup as configured.
pub async fn run(cfg: &BackupConfig, progress: Arc<dyn Progress>) -> Result<BackupReport> {
    if cfg.engine == Engine::Mysqldump {
        return crate::mysqldump::run(cfg, progress).await;
    }
    let Prepared {
        mut control,
        info,
        selection,
        planned,
        grants,
        data_skipped,
    } = prepare(cfg, progress.as_ref()).await?;

    // Non-transactional tables are outside the snapshot: with `snapshot` consistency they are
    // read first, while commits are still blocked, and the block ends when the last is read.
    let non_transactional = if cfg.exclude_data || cfg.consistency != Consistency::Snapshot {
        Vec::new()
    } else {
        list_non_transactional(&mut control, &selection.databases, &cfg.mode).await?
    };
    let session = snapshot::open(
        control,
        SessionOptions {
            settings: &cfg.connection,
            info: &info,
            threads: cfg.threads,
            consistency: cfg.consistency,
            lock_wait_timeout: cfg.lock_wait_timeout,
            hold_commit_block: !non_transactional.is_empty(),
            capture_position: cfg.capture_position,
            row_reader: cfg.row_reader,
        },
    )
    .await?;
    for w in &session.warnings {
        progress.event(&Event::Warning(w));
    }
    let run = Run {
        selection,
        grants,
        data_skipped,
    };
    run_in_session(
        cfg,
        &info,
        session,
        planned,
        run,
        progress,
        non_transactional,
    )
    .await
}

/// What a run carries from its preparation to its completion.
struct Run {
    selection: Selection,
    grants: Option<GrantsExport>,
    data_skipped: Vec<TableRef>,
}

/// Everything that happens while the session's locks and snapshots are held. The session is
/// closed (locks released, transactions ended) on every path out of here.
async fn run_in_session(
    cfg: &BackupConfig,
    info: &ServerInfo,
    mut session: Session,
    planned: Vec<PlannedFile>,
    run: Run,
    progress: Arc<dyn Progress>,
    non_transactional: Vec<TableRef>,
) -> Result<BackupReport> {
    if !non_transactional.is_empty() && !session.commit_block.is_held().await {
        // No FLUSH TABLES WITH READ LOCK (no RELOAD privilege): the one worker's snapshot
        // covers the InnoDB tables only.
        let what = format!(
            "commits could not be blocked, so the rows of {} non-transactional table(s) \
             (MyISAM/Aria/MEMORY…, outside the snapshot) are read as they are when read, not as \
             of the snapshot and its recorded position: {}",
            non_transactional.len(),
            name_some(&non_transactional)
        );
        if cfg.strict {
            session.close().await;
            return Err(Error::Unsupported(format!(
                "{what}; refused with --strict (grant the RELOAD privilege, or run without \
                 --strict to take them as they are)"
            )));
        }
        progress.event(&Event::Warning(&what));
    }
    let threads = session.workers.len();
    let pool = match Pool::start(
        std::mem::take(&mut session.workers),
        cfg.statement_size,
        progress.clone(),
    ) {
        Ok(p) => p,
        Err(e) => {
            session.close().await;
            return Err(e);
        }
    };
    let ctx = Arc::new(FileContext {
        cfg: cfg.clone(),
        info: info.clone(),
        selection: run.selection.clone(),
        data_skipped: run.data_skipped.clone(),
        snapshot: session.position.clone(),
        method: session.method.clone(),
        threads,
        queue: pool.queue.clone(),
        progress: progress.clone(),
        early: Early::default(),
    });
    let commit_block = session.commit_block.clone();
    if !non_transactional.is_empty() && commit_block.is_held().await {
        progress.event(&Event::Warning(&format!(
            "commits on the server are blocked while {} non-transactional table(s) \
             (MyISAM/Aria/MEMORY…, outside the snapshot) are read, before anything else: {}",
            non_transactional.len(),
            name_some(&non_transactional)
        )));
        if let Err(e) = read_non_transactional_first(&ctx, &non_transactional).await {
            ctx.queue.cancel();
            drop(ctx);
            session.workers = pool.join().await;
            session.close().await;
            return Err(e);
        }
    }
    // With `lock` consistency commits stay blocked until the session closes.
    if cfg.consistency != Consistency::Lock
        && let Err(e) = commit_block.release().await
    {
        ctx.queue.cancel();
        drop(ctx);
        session.workers = pool.join().await;
        session.close().await;
        return Err(e);
    }
    if cfg.consistency != Consistency::Lock
        && let Some(blocked) = commit_block.blocked_for()
    {
        progress.event(&Event::CommitsReleased { blocked });
    }

    // Files are written in parallel, at most one per worker at a time.
    let limit = Arc::new(tokio::sync::Semaphore::new(threads.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (index, plan) in planned.into_iter().enumerate() {
        let ctx = ctx.clone();
        let limit = limit.clone();
        set.spawn(async move {
            let _permit = limit.acquire_owned().await;
            (index, dump_file(&ctx, plan).await)
        });
    }
    let mut files: Vec<(usize, FileReport)> = Vec::new();
    let mut first_error: Option<Error> = None;
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((i, Ok(report))) => files.push((i, report)),
            Ok((_, Err(e))) => {
                ctx.queue.cancel();
                first_error = Error::prefer(first_error, e);
            }
            Err(e) => {
                ctx.queue.cancel();
                first_error.get_or_insert(Error::Internal(format!("a file task failed: {e}")));
            }
        }
    }
    drop(ctx);
    session.workers = pool.join().await;
    let position = session.position.clone();
    session.close().await;
    let commits_blocked = commit_block.blocked_for();
    if let Some(e) = first_error {
        // Files finished before the failure are complete and correct, but the run is not:
        // remove them so nothing half of a backup set stays behind looking complete.
        for (_, f) in &files {
            let _ = std::fs::remove_file(&f.path);
        }
        return Err(e);
    }
    files.sort_by_key(|(i, _)| *i);
    let mut files: Vec<FileReport> = files.into_iter().map(|(_, f)| f).collect();
    for f in &mut files {
        f.metadata.commits_blocked_ms = commits_blocked.map(|d| d.as_millis() as u64);
    }
    let user_grants = complete(cfg, &run.selection, &mut files, run.grants.as_ref())?;
    Ok(BackupReport {
        files,
        snapshot: position,
        server: info.version.clone(),
        user_grants,
        commits_blocked,
    })
}

/// The end of a successful run, for both engines: writes the accounts file next to the first
/// dump, then every dump's metadata (naming the accounts file and, for a primary/secondary
/// package, every file of the package with its final size), unless the run writes none.
/// Metadata comes last so that it only ever describes files that are complete. On failure
/// every file of the run is removed.
pub(crate) fn complete(
    cfg: &BackupConfig,
    selection: &Selection,
    files: &mut [FileReport],
    grants: Option<&GrantsExport>,
) -> Result<Option<PathBuf>> {
    let mut written: Vec<PathBuf> = Vec::new();
    let result = (|| {
        let grants_file = match (grants, files.first()) {
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
            .map(|f| package_details(selection, files, f))
            .collect();
        for (f, details) in files.iter_mut().zip(details) {
            f.metadata.additional_files.user_grants = user_grants.clone();
            f.metadata.database_details = details;
            if let Some(path) = &f.metadata_path {
                write_metadata(path, &f.metadata, cfg.metadata_mode)?;
                written.push(path.clone());
            }
        }
        Ok(grants_file)
    })();
    if result.is_err() {
        for p in written.iter().chain(files.iter().map(|f| &f.path)) {
            let _ = std::fs::remove_file(p);
        }
    }
    result
}

/// The accounts file: plain or encrypted like the dump, never compressed, always 0600
/// (it holds password hashes).
fn write_grants(cfg: &BackupConfig, path: &Path, export: &GrantsExport) -> Result<()> {
    let mut chain = crate::output::OutputChain::create(OutputSpec {
        path: path.to_owned(),
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
    selection: &Selection,
    files: &[FileReport],
    file: &FileReport,
) -> Option<Vec<DatabaseDetail>> {
    let package = selection.package_of(file.databases.first()?)?;
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

/// Threads a file's codec may use. Each zstd worker holds its job buffers and match tables
/// (~25 MB at level 5), so eight of them alone would pass the 200 MB memory budget; four keep
/// up with the rows that two to eight dump workers produce.
pub const MAX_CODEC_THREADS: usize = 4;

fn codec_threads(threads: usize) -> usize {
    threads.clamp(1, MAX_CODEC_THREADS)
}

/// What the metadata says about the run as a whole.
pub(crate) struct RunFacts<'a> {
    pub cfg: &'a BackupConfig,
    pub info: &'a ServerInfo,
    pub selection: &'a Selection,
    pub data_skipped: &'a [TableRef],
    pub snapshot: &'a SnapshotInfo,
    pub engine: &'static str,
    pub threads: usize,
    pub method: &'a str,
}

/// What every file task shares.
struct FileContext {
    cfg: BackupConfig,
    info: ServerInfo,
    selection: Selection,
    data_skipped: Vec<TableRef>,
    snapshot: SnapshotInfo,
    method: String,
    threads: usize,
    queue: Queue,
    progress: Arc<dyn Progress>,
    early: Early,
}

/// What was read before the files were started: the rows of the non-transactional tables
/// and the catalogs of their databases, each taken by the file that reaches its database.
#[derive(Default)]
struct Early {
    catalogs: Mutex<HashMap<String, DatabaseCatalog>>,
    tables: Mutex<HashMap<String, Vec<EarlyTable>>>,
}

struct EarlyTable {
    spool: spool::Spool,
    info: TableInfo,
    largest: usize,
}

impl Early {
    fn take_catalog(&self, db: &str) -> Option<DatabaseCatalog> {
        self.catalogs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(db)
    }

    fn take_tables(&self, db: &str) -> Vec<EarlyTable> {
        self.tables
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(db)
            .unwrap_or_default()
    }
}

/// Up to ten names, for a message.
fn name_some(tables: &[TableRef]) -> String {
    let mut names: Vec<String> = tables
        .iter()
        .take(10)
        .map(|t| crate::quote::qualified(&t.database, &t.table))
        .collect();
    if tables.len() > 10 {
        names.push(format!("and {} more", tables.len() - 10));
    }
    names.join(", ")
}

/// Reads every non-transactional table's rows, all workers at once, into spools, while
/// commits are blocked; the caller then releases the block. Their databases' catalogs are read
/// here too (a table's rows need its columns) and kept for the files.
async fn read_non_transactional_first(ctx: &FileContext, tables: &[TableRef]) -> Result<()> {
    let mut dbs: Vec<&str> = tables.iter().map(|t| t.database.as_str()).collect();
    dbs.sort_unstable();
    dbs.dedup();
    let mut asked = Vec::with_capacity(dbs.len());
    for db in &dbs {
        let db: Arc<str> = Arc::from(*db);
        asked.push(ctx.queue.submit(&db, None, TaskKind::Catalog).await?);
    }
    let mut catalogs = Vec::with_capacity(dbs.len());
    for rx in asked {
        match outcome(rx).await? {
            Outcome::Catalog(c) => catalogs.push(*c),
            _ => {
                return Err(Error::Internal(
                    "catalog task answered something else".into(),
                ));
            }
        }
    }

    let mut spools = Vec::new();
    let mut pending = Vec::new();
    for catalog in &catalogs {
        let db: Arc<str> = Arc::from(catalog.name.as_str());
        let order: Vec<Arc<Table>> = catalog
            .tables
            .iter()
            .filter(|t| {
                tables
                    .iter()
                    .any(|r| r.database == catalog.name && r.table == t.name)
                    && !t.is_transactional()
                    && t.rows_elsewhere().is_none()
            })
            .cloned()
            .map(Arc::new)
            .collect();
        let mut outs = Vec::with_capacity(order.len());
        for t in &order {
            let w = spool::SpoolWriter::create(
                &ctx.cfg.output_dir,
                &crate::quote::qualified(&db, &t.name),
            )?;
            outs.push(w.tx.clone());
            spools.push((db.clone(), w));
        }
        pending.extend(
            submit_tables(ctx, &db, &order, |i| outs[i].clone())
                .await?
                .into_iter()
                .map(|p| (db.clone(), p)),
        );
    }
    let mut done = Vec::with_capacity(pending.len());
    let mut failure: Option<Error> = None;
    for (db, p) in pending {
        match table_outcome(ctx, &db, p).await {
            Ok(d) => done.push(d),
            Err(e) => failure = Error::prefer(failure, e),
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    let mut finished = Vec::with_capacity(spools.len());
    for ((db, w), (info, largest)) in spools.into_iter().zip(done) {
        finished.push((db, w.finish().await?, info, largest));
    }
    let mut early = ctx.early.tables.lock().unwrap_or_else(|p| p.into_inner());
    for (db, spool, info, largest) in finished {
        early.entry(db.to_string()).or_default().push(EarlyTable {
            spool,
            info,
            largest,
        });
    }
    drop(early);
    let mut kept = ctx.early.catalogs.lock().unwrap_or_else(|p| p.into_inner());
    for c in catalogs {
        kept.insert(c.name.clone(), c);
    }
    Ok(())
}

/// Fails early, before any connection or lock, when the output directory cannot be written:
/// probes the directory, or its nearest existing ancestor, without creating the directory
/// itself (it is created only when a backup runs).
fn check_writable(dir: &Path) -> Result<()> {
    let mut probe_dir = dir;
    while !probe_dir.exists() {
        match probe_dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => probe_dir = p,
            _ => {
                probe_dir = Path::new(".");
                break;
            }
        }
    }
    let probe = probe_dir.join(format!(".sfdbtools-write-test-{}", std::process::id()));
    let result = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"x"));
    let _ = std::fs::remove_file(&probe);
    result.map_err(|e| {
        Error::file(
            "checking that the backup directory can be written",
            dir.to_owned(),
            e,
        )
    })
}

async fn count_tables(conn: &mut Conn, db: &str) -> Result<u64> {
    let n: Option<u64> = conn
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
            (db,),
        )
        .await
        .map_err(|e| Error::server(format!("counting tables of {}", ident(db)), e))?;
    Ok(n.unwrap_or(0))
}

/// Base tables of the selected databases whose engine is outside InnoDB's snapshot and whose
/// rows are dumped: they are read first, while commits are blocked.
async fn list_non_transactional(
    conn: &mut Conn,
    dbs: &[String],
    mode: &BackupMode,
) -> Result<Vec<TableRef>> {
    let mut found = Vec::new();
    // Tables whose rows live elsewhere are not read, so commits do not wait for them.
    let elsewhere: Vec<String> = catalog::rows_elsewhere_engines()
        .map(|e| format!("'{e}'"))
        .collect();
    let sql = format!(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? \
         AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') \
         AND ENGINE NOT IN ('InnoDB', 'XtraDB', 'RocksDB', 'TokuDB', 'ndbcluster', {}) \
         ORDER BY TABLE_NAME",
        elsewhere.join(", ")
    );
    for db in dbs {
        let names: Vec<String> = conn
            .exec(sql.as_str(), (db,))
            .await
            .map_err(|e| Error::server(format!("listing the engines of {}", ident(db)), e))?;
        found.extend(
            names
                .into_iter()
                .filter(|t| !select::skips_data(mode, t))
                .map(|table| TableRef {
                    database: db.clone(),
                    table,
                }),
        );
    }
    Ok(found)
}

async fn dump_file(ctx: &FileContext, plan: PlannedFile) -> Result<FileReport> {
    let cfg = &ctx.cfg;
    let started = Local::now();
    let clock = Instant::now();
    let writer = Writer::start(OutputSpec {
        path: plan.path.clone(),
        codec: cfg.codec,
        level: cfg.level,
        passphrase: cfg.passphrase.clone(),
        mode: cfg.file_mode,
        threads: codec_threads(cfg.threads),
    })?;
    let mut tables = Vec::new();
    let mut largest = 0usize;
    let mut notes = FileNotes::default();
    let body = write_body(
        ctx,
        &plan,
        &writer.tx,
        &mut tables,
        &mut largest,
        &mut notes,
    )
    .await;
    let summary = match body {
        Ok(()) => writer.finish().await?,
        Err(e) => {
            // A writer that failed first holds the real cause (disk full, permission).
            let writer_err = writer.abort().await.err();
            return Err(match (e, writer_err) {
                (Error::Internal(_) | Error::Stopped(_), Some(w @ Error::File { .. })) => w,
                (e, _) => e,
            });
        }
    };
    let ended = Local::now();
    let facts = RunFacts {
        cfg,
        info: &ctx.info,
        selection: &ctx.selection,
        data_skipped: &ctx.data_skipped,
        snapshot: &ctx.snapshot,
        engine: "native",
        threads: ctx.threads,
        method: &ctx.method,
    };
    let mut metadata = build_metadata(
        &facts, &plan, &summary, tables, largest, started, ended, clock,
    );
    metadata.structure_only = notes.structure_only;
    metadata.history_lost = notes.history_lost;
    metadata.definitions = notes.definitions;
    metadata.functions_needing_trust = Some(notes.functions_needing_trust);
    // Written by `complete` once every file of the run exists.
    let metadata_path = cfg
        .save_metadata
        .then(|| PathBuf::from(naming::metadata_file(&plan.path.display().to_string())));
    ctx.progress.event(&Event::FileWritten {
        path: &plan.path,
        bytes: summary.file.bytes,
        sql_bytes: summary.sql_bytes,
    });
    Ok(FileReport {
        path: plan.path.clone(),
        metadata_path,
        databases: plan.databases.clone(),
        metadata,
    })
}

/// What a file's metadata says about tables whose rows were not (all) dumped.
#[derive(Default)]
struct FileNotes {
    structure_only: Vec<metadata::StructureOnly>,
    history_lost: Vec<TableRef>,
    definitions: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    functions_needing_trust: Vec<metadata::RoutineRef>,
}

async fn send(out: &mpsc::Sender<Chunk>, text: impl Into<Vec<u8>>) -> Result<()> {
    out.send(Chunk::Sql(text.into()))
        .await
        .map_err(|_| Error::Internal("the output writer stopped".into()))
}

async fn write_body(
    ctx: &FileContext,
    plan: &PlannedFile,
    out: &mpsc::Sender<Chunk>,
    tables_out: &mut Vec<TableInfo>,
    largest: &mut usize,
    notes: &mut FileNotes,
) -> Result<()> {
    let cfg = &ctx.cfg;
    let combined = cfg.mode.is_combined();
    send(
        out,
        script::header(&HeaderInfo {
            tool_version: env!("CARGO_PKG_VERSION"),
            server_host: &ctx.info.hostname,
            server_version: &ctx.info.version,
            database: if combined {
                None
            } else {
                plan.databases.first().map(String::as_str)
            },
        }),
    )
    .await?;

    for db in &plan.databases {
        let db_arc: Arc<str> = Arc::from(db.as_str());
        let catalog = match ctx.early.take_catalog(db) {
            Some(c) => c,
            None => {
                match outcome(ctx.queue.submit(&db_arc, None, TaskKind::Catalog).await?).await? {
                    Outcome::Catalog(c) => *c,
                    _ => {
                        return Err(Error::Internal(
                            "catalog task answered something else".into(),
                        ));
                    }
                }
            }
        };
        let mut ddl = Vec::new();
        if combined {
            ddl.extend_from_slice(&script::database_preamble(&catalog));
        }
        ddl.extend_from_slice(&script::database_defaults(&catalog));
        for seq in &catalog.sequences {
            ddl.extend_from_slice(&script::sequence_ddl(&catalog, seq));
        }
        for table in &catalog.tables {
            ddl.extend_from_slice(&script::table_ddl(&catalog, table));
        }
        for view in &catalog.views {
            ddl.extend_from_slice(&script::view_placeholder(view));
        }
        send(out, ddl).await?;
        note_partial_tables(ctx, db, &catalog, notes)?;
        notes
            .definitions
            .insert(db.clone(), catalog.definition_digests());
        notes
            .functions_needing_trust
            .extend(
                catalog
                    .functions_needing_trust
                    .iter()
                    .map(|f| metadata::RoutineRef {
                        database: db.clone(),
                        routine: f.clone(),
                    }),
            );

        if !cfg.exclude_data {
            let done = dump_database_data(ctx, &db_arc, &catalog, out).await?;
            for (info, stats_largest) in done {
                *largest = (*largest).max(stats_largest);
                tables_out.push(info);
            }
        }
        send(out, post_data_ddl(&catalog, cfg)).await?;
    }
    send(
        out,
        script::footer(&Local::now().format("%Y-%m-%d %H:%M:%S").to_string()),
    )
    .await
}

/// Says, in the run's warnings and the file's metadata, which tables' rows are not all in the
/// file: those that live elsewhere, and the history of transaction-id versioned tables (an
/// error with `--strict`).
fn note_partial_tables(
    ctx: &FileContext,
    db: &str,
    catalog: &DatabaseCatalog,
    notes: &mut FileNotes,
) -> Result<()> {
    if ctx.cfg.exclude_data {
        return Ok(());
    }
    for t in &catalog.tables {
        if let Some(reason) = t.rows_elsewhere() {
            ctx.progress.event(&Event::Warning(&format!(
                "{}: structure only, no rows dumped ({reason})",
                crate::quote::qualified(db, &t.name)
            )));
            notes.structure_only.push(metadata::StructureOnly {
                database: db.to_owned(),
                table: t.name.clone(),
                reason: reason.to_owned(),
            });
        } else if t.versioning == Some(catalog::Versioning::TransactionId) {
            let what = format!(
                "{}: system-versioned by transaction id; its history cannot be carried to \
                 another server, so only the current rows are dumped",
                crate::quote::qualified(db, &t.name)
            );
            if ctx.cfg.strict {
                return Err(Error::Unsupported(format!(
                    "{what} (refused with --strict; without it the dump warns and records the \
                     table in the metadata's history_lost)"
                )));
            }
            ctx.progress.event(&Event::Warning(&what));
            notes.history_lost.push(TableRef {
                database: db.to_owned(),
                table: t.name.clone(),
            });
        }
    }
    Ok(())
}

/// Dumps every table's rows of one database through the pool, largest first, big tables
/// split into key ranges. Tables read before the files started (non-transactional ones) are
/// copied from their spools.
async fn dump_database_data(
    ctx: &FileContext,
    db: &Arc<str>,
    catalog: &DatabaseCatalog,
    out: &mpsc::Sender<Chunk>,
) -> Result<Vec<(TableInfo, usize)>> {
    let early = ctx.early.take_tables(db);
    let mut order: Vec<Arc<Table>> = catalog
        .tables
        .iter()
        .filter(|t| {
            !select::skips_data(&ctx.cfg.mode, &t.name)
                && t.rows_elsewhere().is_none()
                && !early.iter().any(|e| e.info.table == t.name)
        })
        .cloned()
        .map(Arc::new)
        .collect();
    order.sort_by_key(|t| (t.is_transactional(), std::cmp::Reverse(t.estimated_bytes)));

    // The spools go into the file first, one after another in the catalog's order and before
    // any other table of the database is handed to the workers, so that a dump with one worker
    // is the same file every time. Copying them is quick next to reading the rest.
    let mut done = Vec::with_capacity(early.len() + order.len());
    for e in early {
        e.spool.replay(out.clone()).await?;
        done.push((e.info, e.largest));
    }
    let submitted = submit_tables(ctx, db, &order, |_| out.clone()).await;

    // Every answer is awaited even after a failure: the task that failed first may come after
    // tasks that were only stopped because of it, and its error is the one worth reporting.
    let mut failure: Option<Error> = None;
    match submitted {
        Ok(pending) => {
            for p in pending {
                match table_outcome(ctx, db, p).await {
                    Ok(d) => done.push(d),
                    Err(e) => failure = Error::prefer(failure, e),
                }
            }
        }
        Err(e) => failure = Some(e),
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(done),
    }
}

/// Hands the tasks of `order`'s tables to the pool (key ranges first, then counts and chunks
/// in [`schedule`] order), each table's rows into `out_of(index)`.
async fn submit_tables(
    ctx: &FileContext,
    db: &Arc<str>,
    order: &[Arc<Table>],
    out_of: impl Fn(usize) -> mpsc::Sender<Chunk>,
) -> Result<Vec<Pending>> {
    // Key ranges of the big tables, asked for all at once.
    let mut bounds = Vec::new();
    for t in order {
        let chunks = chunks::chunk_count(t.estimated_bytes, ctx.cfg.chunk_bytes)
            .min(ctx.threads.max(1) * chunks::CHUNKS_PER_WORKER);
        match &t.split_key {
            Some(key) if chunks > 1 => {
                let rx = ctx
                    .queue
                    .submit(
                        db,
                        Some(t),
                        TaskKind::Bounds {
                            column: key.column.clone(),
                        },
                    )
                    .await?;
                bounds.push(Some((rx, chunks)));
            }
            _ => bounds.push(None),
        }
    }

    let mut planned = Vec::with_capacity(order.len());
    for (t, b) in order.iter().zip(bounds) {
        let predicates = match b {
            Some((rx, n)) => match outcome(rx).await? {
                Outcome::Bounds(Some((lo, hi))) => chunks::plan(
                    t.split_key.as_ref().expect("bounds asked for a key"),
                    lo,
                    hi,
                    n,
                ),
                _ => vec![None],
            },
            None => vec![None],
        };
        planned.push(predicates);
    }

    let mut pending: Vec<Pending> = order
        .iter()
        .map(|t| Pending {
            table: t.clone(),
            t0: Instant::now(),
            count: None,
            chunks: Vec::new(),
        })
        .collect();
    for step in schedule(order, &planned) {
        let p = &mut pending[step.table];
        let t = &order[step.table];
        let kind = match step.chunk {
            None => TaskKind::Count,
            Some(i) => {
                // A table starts when its rows do (counts run well before): progress then
                // shows the tables being read, not every table counted.
                if p.chunks.is_empty() {
                    ctx.progress.event(&Event::TableStarted {
                        database: db,
                        table: &t.name,
                        estimated_rows: t.estimated_rows,
                    });
                    p.t0 = Instant::now();
                }
                TaskKind::Rows {
                    chunk: i,
                    predicate: planned[step.table][i].clone(),
                    out: out_of(step.table),
                }
            }
        };
        let rx = ctx.queue.submit(db, Some(t), kind).await?;
        match step.chunk {
            None => p.count = Some(rx),
            Some(_) => p.chunks.push(rx),
        }
    }
    Ok(pending)
}

struct Pending {
    table: Arc<Table>,
    t0: Instant,
    /// None for a table read in one statement (see [`needs_count`]).
    count: Option<oneshot::Receiver<Result<Outcome>>>,
    /// In chunk order.
    chunks: Vec<oneshot::Receiver<Result<Outcome>>>,
}

/// One task of a database's data: the count of `table` (no chunk) or one of its chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Step {
    table: usize,
    chunk: Option<usize>,
}

/// The order a database's tasks are handed to the workers: longest first, so the dump does
/// not end with one worker busy on a big piece while the others wait.
///
/// Non-transactional tables come first, counts and rows, because commits stay blocked until
/// they are done. Then every count, biggest table first: a count scans a whole index in one
/// query, the longest single tasks there are. Then every chunk of every table by its share of
/// the table's size, largest first; a table that cannot be split is one big chunk and so starts
/// early instead of being left for the end. The chunks of one table keep their order.
fn schedule(tables: &[Arc<Table>], chunks: &[Vec<Option<String>>]) -> Vec<Step> {
    let mut steps: Vec<(bool, u8, u64, Step)> = Vec::new();
    for (i, (t, preds)) in tables.iter().zip(chunks).enumerate() {
        let transactional = t.is_transactional();
        if needs_count(preds) {
            steps.push((
                transactional,
                0,
                t.estimated_bytes,
                Step {
                    table: i,
                    chunk: None,
                },
            ));
        }
        let share = t.estimated_bytes / preds.len().max(1) as u64;
        for c in 0..preds.len() {
            steps.push((
                transactional,
                1,
                share,
                Step {
                    table: i,
                    chunk: Some(c),
                },
            ));
        }
    }
    // Stable: equal keys keep the tables' order and each table's chunk order.
    steps.sort_by_key(|&(transactional, phase, bytes, step)| {
        let phase = if transactional { phase } else { 0 };
        (transactional, phase, std::cmp::Reverse(bytes), step.table)
    });
    steps.into_iter().map(|(.., step)| step).collect()
}

/// Whether a table read with these chunk predicates is counted. `COUNT(*)` in the snapshot is
/// what proves that key ranges partition a table, no row lost or read twice. A table read by
/// one statement without a WHERE clause has no ranges: the rows that statement returns are, by
/// definition, its `COUNT(*)` in the same snapshot, and counting would scan the table a second
/// time to learn nothing (0.26 s of server CPU for the bench's 1M-row table without a key).
fn needs_count(predicates: &[Option<String>]) -> bool {
    !matches!(predicates, [None])
}

/// Fails a table whose chunks wrote other than its `COUNT(*)`, when it was counted.
fn check_rows(table: &str, written: u64, counted: Option<u64>) -> Result<()> {
    match counted {
        Some(expected) if expected != written => Err(Error::RowCount {
            table: table.to_owned(),
            written,
            expected,
        }),
        _ => Ok(()),
    }
}

/// Collects one table's answers: sums its chunks, checks them against its count.
async fn table_outcome(ctx: &FileContext, db: &Arc<str>, p: Pending) -> Result<(TableInfo, usize)> {
    let count = match p.count {
        Some(rx) => Some(outcome(rx).await),
        None => None,
    };
    let target = crate::quote::qualified(db, &p.table.name);
    let mut rows = 0u64;
    let mut bytes = 0u64;
    let mut largest = 0usize;
    let mut nan = 0u64;
    let mut checksum = RowChecksum::default();
    let chunk_count = p.chunks.len();
    let mut failure: Option<Error> = None;
    let expected = match count {
        Some(Ok(Outcome::Count(n))) => Some(n),
        Some(Ok(_)) => return Err(Error::Internal("count task answered something else".into())),
        Some(Err(e)) => {
            failure = Some(e);
            None
        }
        None => None,
    };
    let mut results = Vec::with_capacity(p.chunks.len());
    for rx in p.chunks {
        match outcome(rx).await {
            Ok(o) => results.push(o),
            Err(e) => failure = Error::prefer(failure, e),
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    for o in results {
        match o {
            Outcome::Rows(s) => {
                rows += s.rows;
                bytes += s.bytes;
                largest = largest.max(s.largest_statement);
                nan += s.not_a_number;
                checksum.combine(s.checksum);
            }
            _ => return Err(Error::Internal("rows task answered something else".into())),
        }
    }
    check_rows(&target, rows, expected)?;
    if nan > 0 {
        ctx.progress.event(&Event::Warning(&format!(
            "{target}: {nan} FLOAT/DOUBLE values were not numbers and were written as NULL"
        )));
    }
    ctx.progress.event(&Event::TableDone {
        database: db,
        table: &p.table.name,
        rows,
        bytes,
        elapsed: p.t0.elapsed(),
    });
    Ok((
        TableInfo {
            database: db.to_string(),
            table: p.table.name.clone(),
            rows,
            bytes,
            chunks: chunk_count,
            checksum: checksum.hex(),
            history: p.table.history_columns().is_some(),
        },
        largest,
    ))
}

/// Routines, then views (each replacing its placeholder, dependencies first), triggers, events.
fn post_data_ddl(catalog: &DatabaseCatalog, cfg: &BackupConfig) -> Vec<u8> {
    let mut s = Vec::new();
    for r in &catalog.routines {
        s.extend_from_slice(&script::stored_object_ddl(catalog, r, cfg.ddl));
    }
    for v in views_in_dependency_order(&catalog.views) {
        s.extend_from_slice(&script::view_ddl(catalog, v, cfg.ddl));
    }
    for t in &catalog.triggers {
        s.extend_from_slice(&script::stored_object_ddl(catalog, t, cfg.ddl));
    }
    for e in &catalog.events {
        s.extend_from_slice(&script::stored_object_ddl(catalog, e, cfg.ddl));
    }
    s
}

/// Orders views so that a view comes after the views its definition names. A view named
/// inside another's text counts as a dependency (a rare false edge only changes the order);
/// a cycle, which the server cannot create, falls back to name order.
pub fn views_in_dependency_order(views: &[View]) -> Vec<&View> {
    let names: Vec<String> = views.iter().map(|v| ident(&v.name)).collect();
    let deps: Vec<Vec<usize>> = views
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let body = memchr::memmem::find(&v.create_sql, b" AS ")
                .map_or(&v.create_sql[..], |at| &v.create_sql[at + 4..]);
            (0..views.len())
                .filter(|&j| j != i && memchr::memmem::find(body, names[j].as_bytes()).is_some())
                .collect()
        })
        .collect();
    let mut done = vec![false; views.len()];
    let mut order = Vec::with_capacity(views.len());
    while order.len() < views.len() {
        let before = order.len();
        for i in 0..views.len() {
            if !done[i] && deps[i].iter().all(|&d| done[d]) {
                done[i] = true;
                order.push(&views[i]);
            }
        }
        if order.len() == before {
            for i in 0..views.len() {
                if !done[i] {
                    done[i] = true;
                    order.push(&views[i]);
                }
            }
        }
    }
    order
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn build_metadata(
    facts: &RunFacts<'_>,
    plan: &PlannedFile,
    summary: &OutputSummary,
    tables: Vec<TableInfo>,
    largest: usize,
    started: DateTime<Local>,
    ended: DateTime<Local>,
    clock: Instant,
) -> Metadata {
    let (cfg, info, selection, snap) = (facts.cfg, facts.info, facts.selection, facts.snapshot);
    let fmt = |t: &DateTime<Local>| t.format("%Y-%m-%d %H:%M:%S").to_string();
    Metadata {
        backup: metadata::BackupInfo {
            file: plan.path.display().to_string(),
            kind: cfg.mode.metadata_type().into(),
            status: "success".into(),
            databases: plan.databases.clone(),
            excluded_databases: selection.excluded.clone(),
            exclude_data: cfg.exclude_data,
        },
        database_details: None,
        time: metadata::TimeInfo {
            start_time: fmt(&started),
            end_time: fmt(&ended),
            duration: metadata::human_duration(clock.elapsed()),
        },
        file: metadata::FileInfo {
            size_bytes: summary.file.bytes,
            size_human: metadata::human_size(summary.file.bytes),
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
            host: match &cfg.connection.socket {
                Some(s) => s.display().to_string(),
                None => cfg.connection.host.clone(),
            },
            port: cfg.connection.port,
        },
        replication: metadata::ReplicationInfo {
            gtid_info: snap.gtid_info(),
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
            generated_at: ended.to_rfc3339(),
        },
        engine: facts.engine.into(),
        threads: facts.threads,
        consistency: facts.method.to_owned(),
        snapshot: snap.clone(),
        sha256: summary.file.sha256.clone(),
        sql_bytes: summary.sql_bytes,
        max_statement_bytes: largest,
        tables,
        data_skipped: facts
            .data_skipped
            .iter()
            .filter(|t| plan.databases.contains(&t.database))
            .cloned()
            .collect(),
        structure_only: Vec::new(),
        history_lost: Vec::new(),
        definitions: Default::default(),
        functions_needing_trust: None,
        commits_blocked_ms: None,
    }
}

pub(crate) fn write_metadata(path: &Path, metadata: &Metadata, mode: u32) -> Result<()> {
    let mut json = serde_json::to_vec_pretty(metadata)
        .map_err(|e| Error::Internal(format!("serialising metadata: {e}")))?;
    json.push(b'\n');
    crate::output::file::write_atomic(path, mode, &json)
        .map_err(|e| Error::file("writing metadata", path.to_owned(), e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, engine: &str, bytes: u64) -> Arc<Table> {
        Arc::new(Table {
            name: name.into(),
            engine: engine.into(),
            create_sql: Vec::new(),
            columns: Vec::new(),
            versioning: None,
            estimated_rows: 0,
            estimated_bytes: bytes,
            split_key: None,
        })
    }

    fn named(tables: &[Arc<Table>], steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .map(|s| match s.chunk {
                None => format!("count {}", tables[s.table].name),
                Some(c) => format!("{}#{c}", tables[s.table].name),
            })
            .collect()
    }

    #[test]
    fn tasks_run_longest_first_with_non_transactional_tables_before_all() {
        let tables = vec![
            table("myisam", "MyISAM", 10),
            table("big", "InnoDB", 800),
            table("nokey", "InnoDB", 300),
            table("small", "InnoDB", 5),
        ];
        let chunks = vec![
            vec![None],
            vec![
                Some("a".into()),
                Some("b".into()),
                Some("c".into()),
                Some("d".into()),
            ],
            vec![None],
            vec![None],
        ];
        let steps = schedule(&tables, &chunks);
        assert_eq!(
            named(&tables, &steps),
            [
                // Tables read in one statement are not counted.
                "myisam#0",
                "count big",
                // The table that cannot be split goes before the chunks of the one that can,
                // which are smaller pieces; they keep their key order.
                "nokey#0",
                "big#0",
                "big#1",
                "big#2",
                "big#3",
                "small#0",
            ]
        );
    }

    #[test]
    fn chunks_that_wrote_other_than_the_count_fail_the_table_by_name() {
        let err = check_rows("`shop`.`orders`", 999, Some(1000)).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("`shop`.`orders`"), "{msg}");
        assert!(msg.contains("999") && msg.contains("1000"), "{msg}");
        assert!(check_rows("`shop`.`orders`", 1000, Some(1000)).is_ok());
        // Read in one statement: not counted, nothing to compare.
        assert!(check_rows("`shop`.`orders`", 1000, None).is_ok());
    }

    #[test]
    fn tables_read_in_one_statement_are_not_counted() {
        assert!(!needs_count(&[None]));
        assert!(needs_count(&[
            Some("`id` < 5".into()),
            Some("`id` >= 5".into())
        ]));
    }

    #[test]
    fn every_task_is_scheduled_once() {
        let tables: Vec<_> = (0..20)
            .map(|i| {
                table(
                    &format!("t{i}"),
                    if i % 7 == 0 { "Aria" } else { "InnoDB" },
                    i * 37 % 11,
                )
            })
            .collect();
        let chunks: Vec<Vec<Option<String>>> = (0..20).map(|i| vec![None; 1 + i % 4]).collect();
        let mut steps = schedule(&tables, &chunks);
        // Counts only for tables read in more than one chunk.
        let total: usize = chunks
            .iter()
            .map(|c| c.len() + usize::from(c.len() > 1))
            .sum();
        assert_eq!(steps.len(), total);
        steps.sort_by_key(|s| (s.table, s.chunk));
        steps.dedup();
        assert_eq!(steps.len(), total);
        // Non-transactional tables are finished before anything else starts.
        let order = schedule(&tables, &chunks);
        let last_nt = order
            .iter()
            .rposition(|s| !tables[s.table].is_transactional())
            .unwrap();
        let first_t = order
            .iter()
            .position(|s| tables[s.table].is_transactional())
            .unwrap();
        assert!(last_nt < first_t);
    }
}
