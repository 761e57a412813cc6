//! `db-copy`: databases of one server into another in one consistent stream, with no file in
//! between. The native dump writes into a bounded pipe (`output::pipe`) instead of a file; the
//! restore reads the other end as it would read a file; both run at once, so the target loads
//! while the source is read, and memory is the pipe plus what each side holds anyway.
//!
//! Before anything is read, `preflight` checks what would make the copy refuse half way: a
//! target database that already holds objects (without `--drop-target`), a target that is the
//! source itself, a replica setup that could not work. After the copy, the snapshot's position
//! is recorded where asked, and with `--as-replica` the statements that make the target
//! replicate from the source are printed (and run with `--start-replica`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mysql_async::Conn;
use mysql_async::prelude::*;

use crate::config::run::{BackupConfig, BackupMode, RestoreConfig, RestoreMode};
use crate::connect::{self, ConnectionSettings, Flavor};
use crate::dump::{self, BackupReport};
use crate::error::{Error, FlagSet, Result};
use crate::grants::GrantsExport;
use crate::metadata::SnapshotInfo;
use crate::output::pipe::{self, SOURCE_STOPPED, TARGET_STOPPED};
use crate::progress::Progress;
use crate::quote::ident;
use crate::restore::accounts::AccountsReport;
use crate::restore::plan::Placement;
use crate::restore::{self, FileReport, RestoreReport};
use crate::secret::Secret;
use crate::sql::value::string_literal as literal;

/// A copy as the command asked for it.
#[derive(Clone, Debug)]
pub struct CopyConfig {
    /// The dump side, as `db-backup` would run it (native engine; the pipe is set by `run`).
    pub source: BackupConfig,
    /// The restore side: its connection, threads, `--drop-target`, `--strict`,
    /// `--skip-binlog`; `mode` is `Single { target }` for `single` (the `--target-db` name,
    /// else the source's) and `All` otherwise.
    pub target: RestoreConfig,
    /// Where the snapshot's position is written on success, besides the report.
    pub position: Option<PositionRecord>,
    /// `--as-replica`: print (and with `start`, run) the replica's statements.
    pub replica: Option<ReplicaSetup>,
}

/// Where the position of the copy's snapshot is recorded.
#[derive(Clone, Debug)]
pub enum PositionRecord {
    /// A table on the target (`--position-table DB.TABLE`), created when missing; its
    /// database must exist.
    Table { database: String, table: String },
    /// A JSON file (`--position-file`); it must not exist yet.
    File(PathBuf),
}

/// How the target reaches the source as a replica.
#[derive(Clone, Debug)]
pub struct ReplicaSetup {
    /// The source as the target connects to it (`--replication-host`, else the source's
    /// host); None when it can't be told (a socket): the printed statement says so.
    pub host: Option<String>,
    /// Its port (`--replication-port`, else the source's over TCP); None: the port the source
    /// server reports (`@@port`), read when the copy starts, for a source reached by its
    /// socket.
    pub port: Option<u16>,
    /// The replication account on the source; None: a placeholder in the printed statements.
    pub user: Option<String>,
    /// Its password, only for `start` (never printed).
    pub password: Option<Secret>,
    /// `--start-replica`: run the statements, not only print them.
    pub start: bool,
}

/// One database of the copy: its name on the source and on the target, and what the target
/// holds under that name before the copy (None: nothing, it does not exist).
#[derive(Clone, Debug)]
pub struct DatabaseCopy {
    pub source: String,
    pub target: String,
    pub objects_on_target: Option<u64>,
}

/// What a copy will do (`--dry-run` stops here).
#[derive(Clone, Debug)]
pub struct CopyPlan {
    pub source: dump::plan::DryRun,
    pub source_server: String,
    pub target_server: String,
    pub databases: Vec<DatabaseCopy>,
    /// Databases `--drop-target` replaces.
    pub replaced: Vec<String>,
    /// The target is the source server itself (another database on it): the dump then holds
    /// off DDL on its own tables only, since the target's DDL runs on the same server while
    /// the dump is open.
    pub same_server: bool,
    /// The source server's own `@@port`, for a replica of a source reached by its socket.
    pub source_port: u32,
    /// The tables (target database, table) whose secondary keys are built after their rows
    /// (`--keys-after-rows`), by the sizes the source reports.
    pub large_tables: Vec<(String, String)>,
}

/// What a finished copy did.
#[derive(Debug)]
pub struct CopyReport {
    pub plan: CopyPlan,
    pub source: BackupReport,
    pub target: RestoreReport,
    pub accounts: Option<(FileReport, AccountsReport)>,
    pub elapsed: Duration,
    /// The replica's statements as printed (the password never appears).
    pub replica_statements: Vec<String>,
    pub replica_started: bool,
    /// Where the position was recorded, said for the report.
    pub position_recorded: Option<String>,
}

impl CopyReport {
    pub fn position(&self) -> &SnapshotInfo {
        &self.source.snapshot
    }
}

/// Which server a connection reached: two settings naming one server (an alias, a socket and
/// a port, a tunnel) are told apart by what the server says of itself.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ServerIdentity {
    hostname: String,
    port: u32,
    datadir: String,
}

async fn identity(conn: &mut Conn, side: &str) -> Result<ServerIdentity> {
    let row: Option<(String, u32, String)> = conn
        .query_first("SELECT @@hostname, @@port, @@datadir")
        .await
        .map_err(|e| Error::server(format!("asking the {side} server who it is"), e))?;
    let (hostname, port, datadir) = row.unwrap_or_default();
    Ok(ServerIdentity {
        hostname,
        port,
        datadir,
    })
}

/// The server's `@@gtid_binlog_pos` (MariaDB), empty when it has none.
async fn binlog_gtid(conn: &mut Conn, side: &str) -> Result<String> {
    let pos: Option<Option<String>> = conn
        .query_first("SELECT @@gtid_binlog_pos")
        .await
        .map_err(|e| Error::server(format!("reading the {side}'s @@gtid_binlog_pos"), e))?;
    Ok(pos.flatten().unwrap_or_default())
}

/// The databases of the source's selection, and where each goes.
fn targets_of(cfg: &CopyConfig, selected: &[String]) -> Vec<(String, String)> {
    match (&cfg.source.mode, &cfg.target.mode) {
        (BackupMode::Single { database }, RestoreMode::Single { target }) => {
            vec![(database.clone(), target.clone())]
        }
        _ => selected.iter().map(|d| (d.clone(), d.clone())).collect(),
    }
}

/// The checks that can refuse a copy before the source's snapshot is taken: nothing is read
/// or written until they pass.
pub async fn preflight(cfg: &CopyConfig, progress: &dyn Progress) -> Result<CopyPlan> {
    let mut source_cfg = cfg.source.clone();
    source_cfg.dry_run = true;
    let source = dump::plan::dry_run(&source_cfg, progress).await?;
    let selected: Vec<String> = source.databases.iter().map(|d| d.0.clone()).collect();
    let (mut source_conn, source_info) =
        connect::open(&cfg.source.connection, "copy: source check").await?;
    let source_id = identity(&mut source_conn, "source").await;
    // `--as-replica` compares it with the target's (MariaDB's only: check_replica refuses
    // the others).
    let source_gtid = if cfg.replica.is_some() && source_info.flavor == Flavor::MariaDb {
        binlog_gtid(&mut source_conn, "source").await
    } else {
        Ok(String::new())
    };
    let large = match cfg.target.keys_after_rows {
        Some(from) => large_tables(&mut source_conn, &targets_of(cfg, &selected), from).await,
        None => Ok(Vec::new()),
    };
    let _ = source_conn.disconnect().await;
    let source_id = source_id?;
    let source_gtid = source_gtid?;
    let large_tables = large?;
    let (mut conn, target_info) = connect::open_with(
        &cfg.target.connection,
        "copy: target check",
        connect::restore_setup_sql,
    )
    .await
    .map_err(with_target_flags)?;
    let checked = async {
        let target_id = identity(&mut conn, "target").await?;
        let same_server = target_id == source_id;
        let mut databases = Vec::new();
        let mut replaced = Vec::new();
        for (from, to) in targets_of(cfg, &selected) {
            if same_server && from == to {
                return Err(Error::Usage(format!(
                    "the source and the target are the same server ({}:{}, {}): database {} \
                     would be copied onto itself; nothing was copied. Name another target \
                     server, or copy `single` with --target-db NEW_NAME",
                    target_id.hostname,
                    target_id.port,
                    target_id.datadir,
                    ident(&from)
                )));
            }
            if crate::catalog::is_system_database(&to) {
                return Err(Error::Usage(format!(
                    "{} is a system database of the target: db-copy never drops, creates or \
                     writes into one (its accounts would be lost); nothing was copied. Leave it \
                     out (the default --exclude-system), or copy `single` with --target-db; \
                     accounts go with --grants",
                    ident(&to)
                )));
            }
            let objects = restore::target_objects(&mut conn, &to).await?;
            match objects {
                Some(n) if n > 0 && !cfg.target.drop_target => {
                    return Err(Error::Usage(format!(
                        "the target {} already holds database {} ({n} table(s), view(s) and \
                         routine(s)); nothing was copied. Pass --drop-target to replace it, or \
                         copy into another name (`single --target-db`)",
                        cfg.target.connection.describe(),
                        ident(&to)
                    )));
                }
                Some(n) if n > 0 => replaced.push(to.clone()),
                _ => {}
            }
            databases.push(DatabaseCopy {
                source: from,
                target: to,
                objects_on_target: objects,
            });
        }
        if let Some(PositionRecord::Table { database, .. }) = &cfg.position {
            if databases.iter().any(|d| &d.target == database) {
                return Err(Error::Usage(format!(
                    "--position-table: database {} is one the copy writes: the position's \
                     table would be replaced by the copy or become part of it. Name a table in \
                     another database of the target",
                    ident(database)
                )));
            }
            if restore::target_objects(&mut conn, database)
                .await?
                .is_none()
            {
                return Err(Error::Usage(format!(
                    "--position-table: database {} does not exist on the target {}; create it \
                     first (the copy creates only the table); nothing was copied",
                    ident(database),
                    cfg.target.connection.describe()
                )));
            }
        }
        if let Some(PositionRecord::File(path)) = &cfg.position {
            if path.exists() {
                return Err(Error::Usage(format!(
                    "--position-file {} exists already; it is left alone. Name a new file; \
                     nothing was copied",
                    path.display()
                )));
            }
            // The file is written the way it will be after the copy (a temporary file beside
            // it, renamed), and the probe removed: a missing or read-only directory is found
            // now, not after an hour of copying.
            if let Err(e) = crate::output::file::AtomicFile::create(path, 0o644) {
                return Err(Error::Usage(format!(
                    "--position-file {}: cannot write there ({e}); name a file in a directory \
                     that exists and may be written; nothing was copied",
                    path.display()
                )));
            }
        }
        if let Some(r) = &cfg.replica {
            check_replica(cfg, r, &source_info, &source_gtid, &target_info, &mut conn).await?;
        }
        Ok(CopyPlan {
            source,
            source_server: cfg.source.connection.describe(),
            target_server: cfg.target.connection.describe(),
            databases,
            replaced,
            same_server,
            source_port: source_id.port,
            large_tables,
        })
    }
    .await;
    let _ = conn.disconnect().await;
    checked
}

/// The InnoDB tables of the copied databases whose data the source reports at `from` bytes
/// or more (`DATA_LENGTH`: the stream has no metadata, and the rows are not counted before
/// the snapshot), under their target database's name. An estimate is enough: it only decides
/// when a table's keys are built, never what they are.
async fn large_tables(
    conn: &mut Conn,
    databases: &[(String, String)],
    from: u64,
) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (source, target) in databases {
        let tables: Vec<String> = conn
            .exec(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND \
                 TABLE_TYPE = 'BASE TABLE' AND ENGINE = 'InnoDB' AND DATA_LENGTH >= ?",
                (source, from),
            )
            .await
            .map_err(|e| {
                Error::server(
                    format!(
                        "reading the table sizes of database {} (source)",
                        ident(source)
                    ),
                    e,
                )
            })?;
        out.extend(tables.into_iter().map(|t| (target.clone(), t)));
    }
    Ok(out)
}

/// What `--as-replica` needs, checked before the copy: MariaDB on both ends (the statements are
/// MariaDB's), one point in time with its GTID, the same database names, and a target that is
/// not replicating already when the replica is to be started.
async fn check_replica(
    cfg: &CopyConfig,
    r: &ReplicaSetup,
    source: &connect::ServerInfo,
    source_gtid: &str,
    target: &connect::ServerInfo,
    conn: &mut Conn,
) -> Result<()> {
    if source.flavor != Flavor::MariaDb || target.flavor != Flavor::MariaDb {
        return Err(Error::Usage(
            "--as-replica writes MariaDB's GTID replication statements (gtid_slave_pos, \
             MASTER_USE_GTID); the source or the target is not MariaDB. Copy without \
             --as-replica and set the replica up by hand from the reported position"
                .into(),
        ));
    }
    if cfg.source.consistency == crate::snapshot::Consistency::None || !cfg.source.capture_position
    {
        return Err(Error::Usage(
            "--as-replica needs the copy's one point in time and its GTID: not with \
             --consistency none, nor with the config's backup.replication.capture_gtid: false"
                .into(),
        ));
    }
    if let (BackupMode::Single { database }, RestoreMode::Single { target }) =
        (&cfg.source.mode, &cfg.target.mode)
        && database != target
    {
        return Err(Error::Usage(format!(
            "--as-replica with --target-db: the source's events name database {}, the target \
             holds {} (a replica would need replicate_rewrite_db); copy under the same name",
            ident(database),
            ident(target)
        )));
    }
    // SET GLOBAL gtid_slave_pos refuses a position older than the target's own binary log in
    // the same domain (ERROR 1947): a target that took writes of its own in a domain of the
    // source, or a copy made without --as-replica, cannot follow the source from the snapshot.
    let target_gtid = binlog_gtid(conn, "target").await?;
    if let Some(clash) = gtid_clash(source_gtid, &target_gtid) {
        return Err(Error::Usage(format!(
            "--as-replica: the target's binary log already holds GTID {clash} in a domain of the \
             source, as recent as the source's own: the replica could not start from the copy's \
             position (SET GLOBAL gtid_slave_pos would fail with ERROR 1947); nothing was \
             copied. If nothing replicates from the target, RESET MASTER there first (it \
             forgets the target's binary log), or copy without --as-replica"
        )));
    }
    if r.start {
        if r.host.is_none() || r.user.is_none() || r.password.is_none() {
            return Err(Error::Usage(
                "--start-replica needs --replication-host (the source as the target reaches \
                 it), --replication-user and its password (environment \
                 SFDB_REPLICATION_PASSWORD)"
                    .into(),
            ));
        }
        let running: Option<mysql_async::Row> = conn
            .query_first("SHOW SLAVE STATUS")
            .await
            .map_err(|e| Error::server("reading the target's SHOW SLAVE STATUS", e))?;
        if running.is_some() {
            return Err(Error::Usage(
                "--start-replica: the target is already set up as a replica (SHOW SLAVE \
                 STATUS shows a source); it is left alone and nothing was copied. Run \
                 `STOP SLAVE; RESET SLAVE ALL` there first if it is to replicate from this \
                 source instead"
                    .into(),
            ));
        }
    }
    Ok(())
}

/// Runs a copy: the checks, then dump and restore at once through the pipe, then the
/// position and the replica.
pub async fn run(cfg: &CopyConfig, progress: Arc<dyn Progress>) -> Result<CopyReport> {
    copy(cfg, progress).await.map_err(|e| match e {
        Error::Copy {
            side: "target",
            server,
            source,
            state,
        } => Error::Copy {
            side: "target",
            server,
            source: Box::new(with_target_flags(*source)),
            state,
        },
        e => e,
    })
}

/// An error of one of the target's connections, its advice naming the target's flags
/// (`--target-host`…), not the source's.
fn with_target_flags(e: Error) -> Error {
    match e {
        Error::Connect { target, source, .. } => Error::Connect {
            target,
            source,
            flags: FlagSet::Target,
        },
        Error::Restore { source, state } => Error::Restore {
            source: Box::new(with_target_flags(*source)),
            state,
        },
        Error::ThroughTunnel { source, cause } => Error::ThroughTunnel {
            source: Box::new(with_target_flags(*source)),
            cause,
        },
        e => e,
    }
}

async fn copy(cfg: &CopyConfig, progress: Arc<dyn Progress>) -> Result<CopyReport> {
    let plan = preflight(cfg, progress.as_ref()).await?;
    // Asked now, before the snapshot: a person answering must not hold the source's snapshot
    // open (nor its locks), nor a restore that has started.
    let mut target_cfg = cfg.target.clone();
    if let Some(ask) = target_cfg.confirm_drop.take() {
        for d in plan
            .databases
            .iter()
            .filter(|d| plan.replaced.contains(&d.target))
        {
            if !ask.ask(&d.target, d.objects_on_target.unwrap_or(0)).await? {
                return Err(Error::Cancelled(format!(
                    "database {} on the target was not dropped (the answer was no); nothing was \
                     read or changed. Copy into another name (`single --target-db`), or answer yes",
                    ident(&d.target)
                )));
            }
        }
    }
    let name = PathBuf::from(format!(
        "the copy stream from {}",
        cfg.source.connection.describe()
    ));
    let started = Instant::now();
    let (pipe, reader) = pipe::pipe(name.clone());
    let stream = restore::plan::Stream {
        large_tables: plan.large_tables.clone(),
        done: pipe.tables_done(),
        sources: plan
            .databases
            .iter()
            .map(|d| (d.target.clone(), d.source.clone()))
            .collect(),
    };
    let mut source_cfg = cfg.source.clone();
    source_cfg.pipe = Some(pipe);
    source_cfg.dry_run = false;
    if plan.same_server {
        // A server-wide DDL block would last until the dump ends, and the dump ends only once
        // the target has read it: the target's first CREATE TABLE, on this same server, would
        // wait for the block, and the dump for the target, until the lock wait timed out.
        source_cfg.ddl_scope = crate::snapshot::DdlScope::Tables;
    }
    let placement = match &cfg.target.mode {
        RestoreMode::Single { target } => Placement::Single {
            target: target.clone(),
        },
        _ => Placement::All {
            exclude: Vec::new(),
            drop: cfg.target.drop_target,
        },
    };
    let dump_progress = progress.clone();
    // The dump on a task of its own: the restore below reads what it writes. The task owns
    // the pipe's writing end, so the reader sees the end (or the failure) when it stops.
    let dump = tokio::spawn(async move { dump::run(&source_cfg, dump_progress).await });
    let restored = restore::run_stream(
        &target_cfg,
        name.clone(),
        Box::new(reader),
        placement,
        stream,
        progress.clone(),
    )
    .await;
    let dumped = dump
        .await
        .unwrap_or_else(|e| Err(Error::Internal(format!("the dump task failed: {e}"))));
    let (source, target) = match (dumped, restored) {
        (Ok(s), Ok(t)) => (s, t),
        (dumped, restored) => {
            let servers = [&cfg.source.connection, &cfg.target.connection];
            return Err(which_side(servers, dumped.err(), restored.err()));
        }
    };
    let accounts = match &source.accounts {
        Some(export) => {
            let renamed: Vec<(String, String)> = plan
                .databases
                .iter()
                .filter(|d| d.source != d.target)
                .map(|d| (d.source.clone(), d.target.clone()))
                .collect();
            Some(copy_accounts(cfg, &name, export, &renamed, progress.as_ref()).await?)
        }
        None => None,
    };
    let mut report = CopyReport {
        plan,
        source,
        target,
        accounts,
        elapsed: Duration::ZERO,
        replica_statements: Vec::new(),
        replica_started: false,
        position_recorded: None,
    };
    finish(cfg, &mut report).await?;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// The failure to report when a side failed: the cause, not its consequence on the other
/// side (a dump that failed leaves the restore reading a broken stream; a restore that failed
/// leaves the dump writing into a closed pipe), with what the target holds now.
/// `servers`: the source's connection, then the target's.
fn which_side(
    servers: [&ConnectionSettings; 2],
    dumped: Option<Error>,
    restored: Option<Error>,
) -> Error {
    let (state, restore_cause) = match restored {
        Some(Error::Restore { source, state }) => (state, Some(*source)),
        Some(e) => (
            "the target's databases may hold part of the copy".to_owned(),
            Some(e),
        ),
        None => (
            "every statement the source sent was restored, but the source failed: treat the \
             target's copy as incomplete"
                .to_owned(),
            None,
        ),
    };
    let consequence_of_source =
        |e: &Error| e.to_string().contains(SOURCE_STOPPED) || matches!(e, Error::Stopped(_));
    let consequence_of_target = |e: &Error| {
        let text = e.to_string();
        text.contains(TARGET_STOPPED) || text.contains("the output writer stopped")
    };
    let (side, cause) = match (dumped, restore_cause) {
        (Some(d), Some(r)) if consequence_of_source(&r) || !consequence_of_target(&d) => {
            ("source", d)
        }
        (Some(_), Some(r)) => ("target", r),
        (Some(d), None) => ("source", d),
        (None, Some(r)) => ("target", r),
        (None, None) => {
            return Error::Internal("the copy failed without an error from either side".into());
        }
    };
    let server = servers[usize::from(side == "target")].describe();
    Error::Copy {
        side,
        server,
        source: Box::new(cause),
        state,
    }
}

async fn copy_accounts(
    cfg: &CopyConfig,
    name: &std::path::Path,
    export: &GrantsExport,
    renamed: &[(String, String)],
    progress: &dyn Progress,
) -> Result<(FileReport, AccountsReport)> {
    let accounts_name = PathBuf::from(format!("the accounts of {}", name.display()));
    restore::copy_accounts(
        &cfg.target,
        accounts_name,
        export.sql.clone(),
        renamed,
        progress,
    )
    .await
    .map_err(|e| {
        target_failed(
            cfg,
            e,
            "every database was copied; the accounts were not all created (those created \
             stay)"
                .into(),
        )
    })
}

/// A failure on the target's side after the rows were in; `state` says what it holds.
fn target_failed(cfg: &CopyConfig, e: Error, state: String) -> Error {
    Error::Copy {
        side: "target",
        server: cfg.target.connection.describe(),
        source: Box::new(e),
        state,
    }
}

/// After a copy that succeeded: the position where asked, and the replica.
async fn finish(cfg: &CopyConfig, report: &mut CopyReport) -> Result<()> {
    let position = report.source.snapshot.clone();
    let done_note = |what: &str| {
        format!(
            "every database was copied; {what}; the copy's position: {}",
            describe_position(&position)
        )
    };
    match &cfg.position {
        None => {}
        Some(PositionRecord::File(path)) => {
            let json = position_json(cfg, report);
            crate::output::file::write_atomic(path, 0o644, json.as_bytes()).map_err(|e| {
                target_failed(
                    cfg,
                    Error::file("writing the position file", path.clone(), e),
                    done_note("the position file was not written"),
                )
            })?;
            report.position_recorded = Some(path.display().to_string());
        }
        Some(PositionRecord::Table { database, table }) => {
            record_position_table(cfg, report, database, table)
                .await
                .map_err(|e| {
                    target_failed(
                        cfg,
                        e,
                        done_note("the position was not recorded in its table"),
                    )
                })?;
            report.position_recorded = Some(format!("{}.{}", ident(database), ident(table)));
        }
    }
    if let Some(r) = &cfg.replica {
        let mut r = r.clone();
        if r.port.is_none() {
            r.port = u16::try_from(report.plan.source_port).ok();
        }
        let r = &r;
        let databases: Vec<&str> = report
            .plan
            .databases
            .iter()
            .map(|d| d.target.as_str())
            .collect();
        let whole = matches!(cfg.source.mode, BackupMode::All);
        let statements = replica_statements(&position, r, &databases, whole, false)?;
        report.replica_statements = statements;
        if r.start {
            let real = replica_statements(&position, r, &databases, whole, true)?;
            start_replica(cfg, &real)
                .await
                .map_err(|e| target_failed(cfg, e, done_note("replication is not running")))?;
            report.replica_started = true;
        }
    }
    Ok(())
}

/// The position in one line, for messages.
pub fn describe_position(p: &SnapshotInfo) -> String {
    let mut parts = Vec::new();
    if let Some(g) = &p.gtid_binlog_pos {
        parts.push(format!("GTID {g}"));
    }
    if let Some(g) = &p.gtid_executed {
        parts.push(format!("gtid_executed {g}"));
    }
    if let (Some(f), Some(pos)) = (&p.binlog_file, p.binlog_position) {
        parts.push(format!("binlog {f}:{pos}"));
    }
    if parts.is_empty() {
        return "not known (the source's binary log is off, or the position was not read)".into();
    }
    parts.join(", ")
}

fn position_json(cfg: &CopyConfig, report: &CopyReport) -> String {
    let p = &report.source.snapshot;
    let value = serde_json::json!({
        "copied_at": chrono::Local::now().to_rfc3339(),
        "source": cfg.source.connection.describe(),
        "target": cfg.target.connection.describe(),
        "databases": report.plan.databases.iter().map(|d| serde_json::json!({
            "source": d.source, "target": d.target
        })).collect::<Vec<_>>(),
        "gtid_binlog_pos": p.gtid_binlog_pos,
        "gtid_executed": p.gtid_executed,
        "binlog_file": p.binlog_file,
        "binlog_position": p.binlog_position,
    });
    let mut s = serde_json::to_string_pretty(&value).unwrap_or_default();
    s.push('\n');
    s
}

/// The position's table: one row per copy, so that a target seeded several times keeps each.
const POSITION_TABLE_DDL: &str = "(copied_at DATETIME(6) NOT NULL, source VARCHAR(1024) NOT \
    NULL, copied_databases TEXT NOT NULL, gtid_binlog_pos TEXT NULL, gtid_executed TEXT NULL, \
    binlog_file VARCHAR(512) NULL, binlog_position BIGINT UNSIGNED NULL, \
    KEY (copied_at)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

async fn record_position_table(
    cfg: &CopyConfig,
    report: &CopyReport,
    database: &str,
    table: &str,
) -> Result<()> {
    let name = format!("{}.{}", ident(database), ident(table));
    let (mut conn, _) = connect::open_with(
        &cfg.target.connection,
        "position",
        connect::restore_setup_sql,
    )
    .await?;
    let p = &report.source.snapshot;
    let databases = report
        .plan
        .databases
        .iter()
        .map(|d| match d.source == d.target {
            true => d.target.clone(),
            false => format!("{} as {}", d.source, d.target),
        })
        .collect::<Vec<_>>()
        .join(",");
    let result = async {
        // Like the copy's own writes (`--skip-binlog`, `--as-replica`): a replica's binary log
        // must hold no transaction of its own in the source's domain.
        if cfg.target.skip_binlog {
            restore::binlog_off(&mut conn).await?;
        }
        conn.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS {name} {POSITION_TABLE_DDL}"
        ))
        .await
        .map_err(|e| Error::server(format!("creating the position table {name}"), e))?;
        conn.exec_drop(
            format!(
                "INSERT INTO {name} (copied_at, source, copied_databases, gtid_binlog_pos, \
                 gtid_executed, binlog_file, binlog_position) VALUES (NOW(6), ?, ?, ?, ?, ?, ?)"
            ),
            (
                cfg.source.connection.describe(),
                databases,
                p.gtid_binlog_pos.clone(),
                p.gtid_executed.clone(),
                p.binlog_file.clone(),
                p.binlog_position,
            ),
        )
        .await
        .map_err(|e| Error::server(format!("recording the position in {name}"), e))
    }
    .await;
    let _ = conn.disconnect().await;
    result
}

/// Placeholders in the printed statements for what the copy does not know or never prints.
const HOST_PLACEHOLDER: &str = "<the source as the target reaches it>";
const USER_PLACEHOLDER: &str = "<replication user>";
const PASSWORD_PLACEHOLDER: &str = "<its password>";
const PORT_PLACEHOLDER: &str = "<its port>";

/// The statements that make the target a replica of the source from the copy's snapshot
/// (MariaDB's GTID replication). `databases`: the target's copied databases, which the
/// replica is limited to unless `whole` (`all`: every database but the system ones, whose
/// events a replica applies too). With `real`, the password is in (to run them, never to
/// print).
pub fn replica_statements(
    position: &SnapshotInfo,
    r: &ReplicaSetup,
    databases: &[&str],
    whole: bool,
    real: bool,
) -> Result<Vec<String>> {
    let Some(gtid) = position.gtid_binlog_pos.as_deref() else {
        return Err(Error::Unsupported(
            "--as-replica: the source reported no GTID position for the snapshot (is its \
             binary log on?)"
                .into(),
        ));
    };
    let host = r.host.as_deref().unwrap_or(HOST_PLACEHOLDER);
    let user = r.user.as_deref().unwrap_or(USER_PLACEHOLDER);
    let password = match (&r.password, real) {
        (Some(p), true) => literal(p.expose()),
        _ => literal(PASSWORD_PLACEHOLDER),
    };
    let mut s = vec![format!("SET GLOBAL gtid_slave_pos = {}", literal(gtid))];
    if !whole {
        // Events of the source's other databases would fail on tables the target lacks.
        let filter = databases
            .iter()
            .map(|d| {
                let escaped = d
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                format!("{escaped}.%")
            })
            .collect::<Vec<_>>()
            .join(",");
        s.push(format!(
            "SET GLOBAL replicate_wild_do_table = {}",
            literal(&filter)
        ));
    }
    s.push(format!(
        "CHANGE MASTER TO MASTER_HOST = {}, MASTER_PORT = {}, MASTER_USER = {}, \
         MASTER_PASSWORD = {password}, MASTER_USE_GTID = slave_pos",
        literal(host),
        r.port
            .map_or_else(|| PORT_PLACEHOLDER.to_owned(), |p| p.to_string()),
        literal(user)
    ));
    s.push("START SLAVE".into());
    Ok(s)
}

async fn start_replica(cfg: &CopyConfig, statements: &[String]) -> Result<()> {
    let (mut conn, _) = connect::open_with(
        &cfg.target.connection,
        "replica",
        connect::restore_setup_sql,
    )
    .await?;
    // The literals are written with backslash escapes: read them so, whatever the server's
    // own sql_mode says (NO_BACKSLASH_ESCAPES).
    let mut result = conn
        .query_drop("SET SESSION sql_mode = ''")
        .await
        .map_err(|e| Error::server("setting up the target as a replica", e));
    for (i, sql) in statements.iter().enumerate() {
        if result.is_err() {
            break;
        }
        if let Err(e) = conn.query_drop(sql).await {
            // The statement holds the password: name it by its place and verb only.
            let verb: String = sql
                .split(" = ")
                .next()
                .unwrap_or("")
                .chars()
                .take(40)
                .collect();
            result = Err(Error::server(
                format!(
                    "setting up the target as a replica, statement {} of {} ({verb} …)",
                    i + 1,
                    statements.len()
                ),
                e,
            ));
            break;
        }
    }
    if result.is_ok() {
        result = wait_until_replicating(&mut conn, REPLICA_START_DEADLINE).await;
    }
    let _ = conn.disconnect().await;
    result
}

/// A GTID of `target`'s binary log position in a domain of `source`'s with a sequence number
/// at least the source's: a replica whose binary log is that far in the source's domain
/// refuses the source's position (both are `@@gtid_binlog_pos` lists, `domain-server-seq`).
fn gtid_clash(source: &str, target: &str) -> Option<String> {
    let parse = |list: &str| -> Vec<(u64, u64, String)> {
        list.split(',')
            .filter_map(|g| {
                let g = g.trim();
                let mut it = g.split('-');
                let domain = it.next()?.parse().ok()?;
                let _server = it.next()?;
                let seq = it.next()?.parse().ok()?;
                Some((domain, seq, g.to_owned()))
            })
            .collect()
    };
    let source = parse(source);
    parse(target).into_iter().find_map(|(domain, seq, text)| {
        source
            .iter()
            .any(|(d, s, _)| *d == domain && seq >= *s)
            .then_some(text)
    })
}

/// How long `--start-replica` waits for both replication threads of the target to run.
const REPLICA_START_DEADLINE: Duration = Duration::from_secs(30);

/// What undoing a replica that does not work takes, said with each failure.
const UNDO_REPLICA: &str = "the target keeps the replication settings and retries; fix the \
     cause, or run `STOP SLAVE; RESET SLAVE ALL` there to undo them";

/// Polls the target's `SHOW SLAVE STATUS` until both threads run. START SLAVE succeeds
/// before the replica has logged in to the source, so a wrong password or an unreachable
/// host shows only here, as the IO thread's error; a first event that cannot be applied
/// shows as the SQL thread's.
async fn wait_until_replicating(conn: &mut Conn, within: Duration) -> Result<()> {
    let deadline = Instant::now() + within;
    loop {
        let row: Option<mysql_async::Row> = conn
            .query_first("SHOW SLAVE STATUS")
            .await
            .map_err(|e| Error::server("reading the target's SHOW SLAVE STATUS", e))?;
        let Some(row) = row else {
            return Err(Error::Replication(format!(
                "the target shows no replication source after START SLAVE; {UNDO_REPLICA}"
            )));
        };
        let field = |name: &str| -> String {
            row.get_opt::<Option<String>, _>(name)
                .and_then(|v| v.ok())
                .flatten()
                .unwrap_or_default()
        };
        let state = ReplicaState {
            io: field("Slave_IO_Running"),
            sql: field("Slave_SQL_Running"),
            io_error: (field("Last_IO_Errno"), field("Last_IO_Error")),
            sql_error: (field("Last_SQL_Errno"), field("Last_SQL_Error")),
        };
        match state.verdict() {
            Some(Ok(())) => return Ok(()),
            Some(Err(e)) => return Err(e),
            None if Instant::now() >= deadline => {
                return Err(Error::Replication(format!(
                    "the target's replication threads were not both running within {} s (IO \
                     thread: {}, SQL thread: {}); see SHOW SLAVE STATUS there; {UNDO_REPLICA}",
                    within.as_secs(),
                    state.io,
                    state.sql
                )));
            }
            None => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// The target's replication threads as `SHOW SLAVE STATUS` shows them.
struct ReplicaState {
    io: String,
    sql: String,
    /// Last_IO_Errno, Last_IO_Error.
    io_error: (String, String),
    sql_error: (String, String),
}

impl ReplicaState {
    /// Running (Ok), failed (the error), or not yet told (None: still connecting).
    fn verdict(&self) -> Option<Result<()>> {
        let failed = |what: &str, (code, text): &(String, String)| {
            Some(Err(Error::Replication(format!(
                "replication was set up but {what}: error {code}: {text}; {UNDO_REPLICA}"
            ))))
        };
        if !self.sql_error.1.is_empty() {
            return failed(
                "the target cannot apply the source's events",
                &self.sql_error,
            );
        }
        if !self.io_error.1.is_empty() {
            return failed(
                "the target cannot read the source's binary log (check --replication-host, \
                 --replication-user and its password, as the target reaches the source)",
                &self.io_error,
            );
        }
        match (self.io.as_str(), self.sql.as_str()) {
            ("Yes", "Yes") => Some(Ok(())),
            (_, "No") | ("No", _) => Some(Err(Error::Replication(format!(
                "replication was set up but a thread stopped without an error (IO thread: {}, \
                 SQL thread: {}); {UNDO_REPLICA}",
                self.io, self.sql
            )))),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_ahead_in_a_domain_of_the_source_clashes() {
        assert_eq!(gtid_clash("0-1-541", "0-2-701").as_deref(), Some("0-2-701"));
        assert_eq!(gtid_clash("0-1-541", "0-2-541").as_deref(), Some("0-2-541"));
        // Behind the source in its domain, or in a domain of its own: no clash.
        assert_eq!(gtid_clash("0-1-541", "0-2-12"), None);
        assert_eq!(gtid_clash("0-1-541", "7-2-9000"), None);
        assert_eq!(
            gtid_clash("0-1-5,1-1-90", "1-3-90").as_deref(),
            Some("1-3-90")
        );
        assert_eq!(gtid_clash("0-1-5", ""), None);
        assert_eq!(gtid_clash("", "0-2-1"), None);
    }

    fn replica(io: &str, sql: &str, io_error: &str, sql_error: &str) -> ReplicaState {
        let code = |e: &str| if e.is_empty() { "0" } else { "1045" }.to_owned();
        ReplicaState {
            io: io.into(),
            sql: sql.into(),
            io_error: (code(io_error), io_error.into()),
            sql_error: (code(sql_error), sql_error.into()),
        }
    }

    #[test]
    fn a_replica_runs_only_when_both_threads_do_and_neither_has_an_error() {
        assert!(matches!(
            replica("Yes", "Yes", "", "").verdict(),
            Some(Ok(()))
        ));
        // Still logging in: wait.
        assert!(replica("Connecting", "Yes", "", "").verdict().is_none());
        assert!(replica("Preparing", "Yes", "", "").verdict().is_none());
        // A wrong password shows as the IO thread's error while it keeps connecting.
        let denied = replica("Connecting", "Yes", "Access denied for user 'repl'", "")
            .verdict()
            .unwrap()
            .unwrap_err()
            .to_string();
        assert!(
            denied.contains("error 1045: Access denied") && denied.contains("RESET SLAVE ALL"),
            "{denied}"
        );
        let sql = replica("Yes", "No", "", "Duplicate entry '1'")
            .verdict()
            .unwrap()
            .unwrap_err()
            .to_string();
        assert!(sql.contains("cannot apply"), "{sql}");
        assert!(matches!(
            replica("No", "Yes", "", "").verdict(),
            Some(Err(Error::Replication(_)))
        ));
    }

    fn setup(start: bool) -> ReplicaSetup {
        ReplicaSetup {
            host: Some("db1.example".into()),
            port: Some(3307),
            user: Some("repl".into()),
            password: Some(Secret::new("s3cr'et")),
            start,
        }
    }

    fn at(gtid: &str) -> SnapshotInfo {
        SnapshotInfo {
            gtid_binlog_pos: Some(gtid.into()),
            ..Default::default()
        }
    }

    #[test]
    fn the_printed_replica_statements_never_hold_the_password() {
        let s = replica_statements(&at("0-1-42"), &setup(false), &["shop"], false, false).unwrap();
        assert_eq!(
            s,
            vec![
                "SET GLOBAL gtid_slave_pos = '0-1-42'".to_owned(),
                "SET GLOBAL replicate_wild_do_table = 'shop.%'".to_owned(),
                "CHANGE MASTER TO MASTER_HOST = 'db1.example', MASTER_PORT = 3307, MASTER_USER \
                 = 'repl', MASTER_PASSWORD = '<its password>', MASTER_USE_GTID = slave_pos"
                    .to_owned(),
                "START SLAVE".to_owned(),
            ]
        );
        let real = replica_statements(&at("0-1-42"), &setup(true), &["shop"], false, true).unwrap();
        assert!(
            real[2].contains(r"MASTER_PASSWORD = 's3cr\'et'"),
            "{}",
            real[2]
        );
    }

    #[test]
    fn a_whole_server_copy_is_not_filtered_and_unknowns_are_placeholders() {
        let r = ReplicaSetup {
            host: None,
            port: None,
            user: None,
            password: None,
            start: false,
        };
        let s = replica_statements(&at("0-1-7,1-2-9"), &r, &["a", "b"], true, false).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s[0], "SET GLOBAL gtid_slave_pos = '0-1-7,1-2-9'");
        assert!(s[1].contains("'<the source as the target reaches it>'"));
        assert!(s[1].contains("'<replication user>'"));
        assert!(s[1].contains("MASTER_PORT = <its port>,"), "{}", s[1]);
    }

    #[test]
    fn names_with_wildcards_are_escaped_in_the_replica_filter() {
        let s = replica_statements(&at("0-1-1"), &setup(false), &["a_b%c"], false, false).unwrap();
        assert_eq!(s[1], r"SET GLOBAL replicate_wild_do_table = 'a\\_b\\%c.%'");
    }

    #[test]
    fn no_gtid_no_replica() {
        let e = replica_statements(
            &SnapshotInfo::default(),
            &setup(false),
            &["a"],
            false,
            false,
        )
        .unwrap_err();
        assert!(e.to_string().contains("no GTID position"), "{e}");
    }

    fn server(host: &str) -> ConnectionSettings {
        ConnectionSettings {
            host: host.into(),
            user: "u".into(),
            ..ConnectionSettings::default()
        }
    }

    #[test]
    fn the_cause_is_reported_not_its_consequence() {
        let restore_broken = Error::Restore {
            source: Box::new(Error::file(
                "reading the SQL of",
                PathBuf::from("s"),
                std::io::Error::other(SOURCE_STOPPED),
            )),
            state: "database `a` is partially copied".into(),
        };
        let dump_failed = Error::Lock("lock wait timeout on `a`.`t`".into());
        let servers = [&server("src"), &server("dst")];
        let e = which_side(servers, Some(dump_failed), Some(restore_broken));
        let text = e.to_string();
        assert!(
            text.starts_with("the source side (u@src:3306) failed: lock wait timeout"),
            "{text}"
        );
        assert!(text.contains("partially copied"), "{text}");

        let restore_failed = Error::Restore {
            source: Box::new(Error::Unsupported("table `a`.`t`: duplicate".into())),
            state: "database `a` is partially copied".into(),
        };
        let dump_stopped = Error::file(
            "writing the SQL stream into",
            PathBuf::from("s"),
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, TARGET_STOPPED),
        );
        let text = which_side(servers, Some(dump_stopped), Some(restore_failed)).to_string();
        assert!(
            text.starts_with("the target side (u@dst:3306) failed: table `a`.`t`"),
            "{text}"
        );
    }
}
