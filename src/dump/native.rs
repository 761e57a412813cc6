//! The native engine: one snapshot shared by N workers, the non-transactional tables read
//! first while commits are blocked, then every file written in parallel, each file's body
//! (DDL, then rows through the pool in [`schedule`](super::schedule) order, then routines,
//! views, triggers and events) streamed to its writer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Local;
use mysql_async::Conn;
use tokio::sync::mpsc;

use super::finish::{self, FileFacts, FileNotes};
use super::plan::prepare;
use super::schedule::{submit_tables, table_outcome};
use super::workers::{Outcome, Pool, Queue, TaskKind, outcome};
use super::{BackupReport, FileReport, RunContext, file_spec, spool};
use crate::catalog::{self, DatabaseCatalog, Table, View, survey};
use crate::config::run::BackupConfig;
use crate::error::{Error, Result};
use crate::metadata::{self, SnapshotInfo, TableInfo, TableRef};
use crate::output::{Chunk, Writer};
use crate::progress::{Event, Progress};
use crate::quote::ident;
use crate::select::{self, TableFilter};
use crate::snapshot::{self, Consistency, DdlScope, Session, SessionOptions};
use crate::sql::script::{self, HeaderInfo};

/// Runs a backup with the native engine.
pub(super) async fn run(cfg: &BackupConfig, progress: Arc<dyn Progress>) -> Result<BackupReport> {
    let (mut control, run) = prepare(cfg, progress.as_ref()).await?;
    if !cfg.dry_run {
        super::plan::create_output_dir(cfg)?;
    }

    // Non-transactional tables are outside the snapshot: with `snapshot` consistency they are
    // read first, while commits are still blocked, and the block ends when the last is read.
    let non_transactional = if cfg.exclude_data || cfg.consistency != Consistency::Snapshot {
        Vec::new()
    } else {
        list_non_transactional(&mut control, &run.selection.databases, cfg).await?
    };
    let ddl_tables = if cfg.ddl_scope == DdlScope::Tables && cfg.consistency != Consistency::None {
        crate::catalog::survey::stored_tables(&mut control, &run.selection.databases).await?
    } else {
        Vec::new()
    };
    let session = snapshot::open(
        control,
        SessionOptions {
            settings: &cfg.connection,
            info: &run.info,
            threads: cfg.threads,
            consistency: cfg.consistency,
            ddl_scope: cfg.ddl_scope,
            ddl_tables: &ddl_tables,
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
    run_in_session(Arc::new(run), session, progress, non_transactional).await
}

/// Everything that happens while the session's locks and snapshots are held. The session is
/// closed (locks released, transactions ended) on every path out of here.
async fn run_in_session(
    run: Arc<RunContext>,
    mut session: Session,
    progress: Arc<dyn Progress>,
    non_transactional: Vec<TableRef>,
) -> Result<BackupReport> {
    let cfg = &run.cfg;
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
    let ctx = Arc::new(FileTasks {
        keep: Arc::new(run.cfg.tables.clone()),
        run: run.clone(),
        snapshot: session.position.clone(),
        method: session.method.clone(),
        threads,
        queue: pool.queue.clone(),
        progress: progress.clone(),
        early: Early::default(),
    });
    let commit_block = session.commit_block.clone();
    let blocked_part: Result<()> = async {
        if !non_transactional.is_empty() && commit_block.is_held().await {
            progress.event(&Event::Warning(&format!(
                "commits on the server are blocked while {} non-transactional table(s) \
                 (MyISAM/Aria/MEMORY…, outside the snapshot) are read, before anything else: {}",
                non_transactional.len(),
                name_some(&non_transactional)
            )));
            read_non_transactional_first(&ctx, &non_transactional).await?;
        }
        // With `lock` consistency commits stay blocked until the session closes.
        if cfg.consistency != Consistency::Lock {
            commit_block.release().await?;
        }
        Ok(())
    }
    .await;
    if let Err(e) = blocked_part {
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
    for index in 0..run.planned.len() {
        let ctx = ctx.clone();
        let limit = limit.clone();
        set.spawn(async move {
            let _permit = limit.acquire_owned().await;
            (index, dump_file(&ctx, index).await)
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
        // A copy's stream is no file: there is nothing to remove.
        if cfg.pipe.is_none() {
            for (_, f) in &files {
                crate::output::remove_written(&f.path);
            }
        }
        return Err(e);
    }
    files.sort_by_key(|(i, _)| *i);
    let files: Vec<FileReport> = files.into_iter().map(|(_, f)| f).collect();
    finish::report(&run, files, position, commits_blocked)
}

/// What every file task shares while the worker pool runs: the run, how the snapshot was
/// taken, the pool's queue and what was read before the files started. Apart from the
/// [`RunContext`] because it lives shorter: every clone of the queue must be gone before the
/// pool can be joined, and the run is still needed after that, to finish.
pub(super) struct FileTasks {
    pub run: Arc<RunContext>,
    /// The run's table selection, handed to every catalog task.
    keep: Arc<TableFilter>,
    snapshot: SnapshotInfo,
    /// How the snapshot was made consistent (`Session::method`).
    method: String,
    /// The workers the session opened.
    pub threads: usize,
    pub queue: Queue,
    pub progress: Arc<dyn Progress>,
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

impl FileTasks {
    /// The task that reads a database's catalog: the tables and views the run takes.
    fn catalog_task(&self) -> TaskKind {
        TaskKind::Catalog {
            keep: self.keep.clone(),
        }
    }
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
async fn read_non_transactional_first(ctx: &FileTasks, tables: &[TableRef]) -> Result<()> {
    let mut dbs: Vec<&str> = tables.iter().map(|t| t.database.as_str()).collect();
    dbs.sort_unstable();
    dbs.dedup();
    let mut asked = Vec::with_capacity(dbs.len());
    for db in &dbs {
        let db: Arc<str> = Arc::from(*db);
        asked.push(ctx.queue.submit(&db, None, ctx.catalog_task()).await?);
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
                &super::plan::spool_dir(&ctx.run.cfg),
                &crate::quote::qualified(&db, &t.name),
            )?;
            outs.push(w.tx.clone());
            spools.push((db.clone(), w));
        }
        // Collected below, once commits may go on; every table's fits in the channel.
        let (ready, mut submitted) = mpsc::channel(order.len().max(1));
        submit_tables(ctx, &db, &order, |i| outs[i].clone(), &ready).await?;
        drop(ready);
        let mut these = Vec::with_capacity(order.len());
        while let Some(p) = submitted.recv().await {
            these.push(p);
        }
        these.sort_by_key(|p| p.index);
        pending.extend(these.into_iter().map(|p| (db.clone(), p)));
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

/// Base tables of the selected databases whose engine is outside InnoDB's snapshot and whose
/// rows are dumped: they are read first, while commits are blocked.
async fn list_non_transactional(
    conn: &mut Conn,
    dbs: &[String],
    cfg: &BackupConfig,
) -> Result<Vec<TableRef>> {
    let found = survey::non_transactional_tables(conn, dbs).await?;
    Ok(found
        .into_iter()
        .filter(|t| !select::skips_data(&cfg.mode, &cfg.tables, &t.database, &t.table))
        .collect())
}

/// Writes the run's `index`th planned file.
async fn dump_file(ctx: &FileTasks, index: usize) -> Result<FileReport> {
    let cfg = &ctx.run.cfg;
    let plan = &ctx.run.planned[index];
    let mut file = FileFacts {
        plan,
        engine: "native",
        threads: ctx.threads,
        method: &ctx.method,
        snapshot: &ctx.snapshot,
        started: Local::now(),
        clock: Instant::now(),
        tables: Vec::new(),
        largest: 0,
        notes: None,
    };
    let writer = Writer::start(file_spec(cfg, &plan.path))?;
    let body = write_body(ctx, &writer.tx, &mut file).await;
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
    Ok(finish::file_written(
        &ctx.run,
        file,
        &summary,
        ctx.progress.as_ref(),
    ))
}

async fn send(out: &mpsc::Sender<Chunk>, text: impl Into<Vec<u8>>) -> Result<()> {
    out.send(Chunk::Sql(text.into()))
        .await
        .map_err(|_| Error::Internal("the output writer stopped".into()))
}

/// A file's SQL, database after database, into `out`; what its metadata needs into `file`.
async fn write_body(
    ctx: &FileTasks,
    out: &mpsc::Sender<Chunk>,
    file: &mut FileFacts<'_>,
) -> Result<()> {
    let cfg = &ctx.run.cfg;
    let plan = file.plan;
    let notes = file.notes.insert(FileNotes::default());
    let combined = cfg.combined();
    send(
        out,
        script::header(&HeaderInfo {
            tool_version: env!("CARGO_PKG_VERSION"),
            server_host: &ctx.run.info.hostname,
            server_version: &ctx.run.info.version,
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
        let mut catalog = match ctx.early.take_catalog(db) {
            Some(c) => c,
            None => {
                match outcome(ctx.queue.submit(&db_arc, None, ctx.catalog_task()).await?).await? {
                    Outcome::Catalog(c) => *c,
                    _ => {
                        return Err(Error::Internal(
                            "catalog task answered something else".into(),
                        ));
                    }
                }
            }
        };
        select::drop_skipped_objects(&mut catalog, cfg.objects);
        send(out, pre_data_ddl(&catalog, cfg)).await?;
        note_partial_tables(ctx, db, &catalog, notes)?;
        note_kept_qualifiers(ctx, db, &catalog);
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
                file.largest = file.largest.max(stats_largest);
                file.tables.push(info);
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

/// Says which definitions keep a call's database qualifier because the bare name would mean
/// something else (`catalog::DatabaseCatalog::calls_keeping_qualifier`): restored under another
/// name, they still call the routine in this database.
fn note_kept_qualifiers(ctx: &FileTasks, db: &str, catalog: &DatabaseCatalog) {
    let db_name = crate::quote::ident(db);
    for (object, function, why) in catalog.calls_keeping_qualifier() {
        let function = crate::quote::ident(&function);
        let because = match why {
            catalog::KeptBecause::Native => {
                format!("without it the server would call its native {function}()")
            }
            catalog::KeptBecause::PackageOwn => {
                format!("without it the package would call its own {function}")
            }
            catalog::KeptBecause::PackageRoutine => format!(
                "{function} is a package and, without it, {function} would be read as a database"
            ),
        };
        ctx.progress.event(&Event::Warning(&format!(
            "{object} in {db_name} calls {function} through the database's name, which stays \
             in the dump because {because}: restored into a database of another name, \
             db-restore points the call at that database; another client (mariadb < file) \
             leaves it calling {db_name}"
        )));
    }
}

/// Says, in the run's warnings and the file's metadata, which tables' rows are not all in the
/// file: those that live elsewhere, and the history of transaction-id versioned tables (an
/// error with `--strict`).
fn note_partial_tables(
    ctx: &FileTasks,
    db: &str,
    catalog: &DatabaseCatalog,
    notes: &mut FileNotes,
) -> Result<()> {
    if ctx.run.cfg.exclude_data {
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
            if ctx.run.cfg.strict {
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
    ctx: &FileTasks,
    db: &Arc<str>,
    catalog: &DatabaseCatalog,
    out: &mpsc::Sender<Chunk>,
) -> Result<Vec<(TableInfo, usize)>> {
    let early = ctx.early.take_tables(db);
    let mut order: Vec<Arc<Table>> = catalog
        .tables
        .iter()
        .filter(|t| {
            !select::skips_data(&ctx.run.cfg.mode, &ctx.run.cfg.tables, db, &t.name)
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
    // A copy's restore learns each table's rows as it ends (`pipe::TablesDone`): all its data
    // has gone into `out` by then.
    let tables_done = ctx.run.cfg.pipe.as_ref().map(|p| p.tables_done());
    let told = |info: &crate::metadata::TableInfo| {
        if let Some(t) = &tables_done {
            t.record(&info.database, &info.table, info.rows);
        }
    };
    for e in early {
        e.spool.replay(out.clone()).await?;
        told(&e.info);
        done.push((e.info, e.largest));
    }
    // Each table is collected as soon as its last chunk is handed out, while the next ones
    // are (`submit_tables`).
    let (ready, mut submitted) = mpsc::channel(order.len().max(1));
    let submit = async move {
        let r = submit_tables(ctx, db, &order, |_| out.clone(), &ready).await;
        drop(ready);
        r
    };
    // Every answer is awaited even after a failure: the task that failed first may come after
    // tasks that were only stopped because of it, and its error is the one worth reporting.
    let collect = async {
        let mut collected = Vec::new();
        let mut failure: Option<Error> = None;
        while let Some(p) = submitted.recv().await {
            let index = p.index;
            match table_outcome(ctx, db, p).await {
                Ok(d) => {
                    told(&d.0);
                    collected.push((index, d));
                }
                Err(e) => failure = Error::prefer(failure, e),
            }
        }
        (collected, failure)
    };
    let (submitted, (mut collected, mut failure)) = tokio::join!(submit, collect);
    if let Err(e) = submitted {
        failure = Error::prefer(failure, e);
    }
    // In the order the tables were submitted, as the metadata has always listed them.
    collected.sort_by_key(|(index, _)| *index);
    done.extend(collected.into_iter().map(|(_, d)| d));
    match failure {
        Some(e) => Err(e),
        None => Ok(done),
    }
}

/// A combined file's `CREATE DATABASE` and `USE`, the database's defaults, then sequences,
/// tables and view placeholders. Without create info (`--no-create-info`) only the `USE`: the
/// rows go into tables that exist.
fn pre_data_ddl(catalog: &DatabaseCatalog, cfg: &BackupConfig) -> Vec<u8> {
    let combined = cfg.combined();
    if !cfg.objects.create_info {
        return match combined {
            true => script::database_use(catalog),
            false => Vec::new(),
        };
    }
    let mut ddl = Vec::new();
    if combined {
        ddl.extend_from_slice(&script::database_preamble(catalog));
    }
    ddl.extend_from_slice(&script::database_defaults(catalog));
    for seq in &catalog.sequences {
        ddl.extend_from_slice(&script::sequence_ddl(catalog, seq));
    }
    for table in &catalog.tables {
        ddl.extend_from_slice(&script::table_ddl(catalog, table));
    }
    for view in &catalog.views {
        ddl.extend_from_slice(&script::view_placeholder(view));
    }
    ddl
}

/// Routines, then views (each replacing its placeholder, dependencies first; none without
/// create info), triggers, events. Package specifications come before the other routines: a
/// routine may call into a package (`pkg.p`, which the server binds when it runs), and the
/// restore tells such a call from a write into a database `pkg` by the packages the file has
/// created before it (`read::confine`).
fn post_data_ddl(catalog: &DatabaseCatalog, cfg: &BackupConfig) -> Vec<u8> {
    let mut s = Vec::new();
    let (specs, others): (Vec<_>, Vec<_>) = catalog
        .routines
        .iter()
        .partition(|r| r.kind == catalog::ObjectKind::Package);
    for r in specs.into_iter().chain(others) {
        s.extend_from_slice(&script::stored_object_ddl(catalog, r, cfg.ddl));
    }
    let views = match cfg.objects.create_info {
        true => views_in_dependency_order(&catalog.views),
        false => Vec::new(),
    };
    for v in views {
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
fn views_in_dependency_order(views: &[View]) -> Vec<&View> {
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
