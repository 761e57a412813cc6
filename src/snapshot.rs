//! One point in time for every dump connection: locks, snapshot transactions, and the
//! binlog/GTID position of that point (docs/dump-fidelity.md, "Consistency across parallel connections").
//!
//! Connections: the control connection holds the DDL block for the whole dump (MariaDB
//! `BACKUP STAGE BLOCK_DDL`, MySQL `LOCK INSTANCE FOR BACKUP`); a short-lived commit-blocker
//! connection holds `FLUSH TABLES WITH READ LOCK` only while the workers start their snapshot
//! transactions (and while non-transactional tables are read). MariaDB refuses FTWRL on a
//! connection in a backup stage, hence the second lock connection.
//!
//! Each worker has two connections when the row reader can connect: a mysql_async one for
//! catalogs, and the row reader's (`connect::wire`) for everything read inside the snapshot
//! (counts, key bounds, rows). Both start their transactions inside the same commit block, and
//! the position is read from the connections that read the data. A dump with N workers thus
//! holds 2 + 2N connections (control, the short-lived commit blocker, N workers, N readers), or
//! 2 + N when rows are read through mysql_async.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::{join_all, try_join_all};
use mysql_async::Conn;
use mysql_async::prelude::*;

use crate::connect::wire::WireConn;
use crate::connect::{self, ConnectionSettings, Flavor, QueryConn, ServerInfo, cell_text};
use crate::error::{DbError, Error, Result};
use crate::metadata::{SnapshotInfo, TableRef};
use crate::quote::ident;
use crate::rows::RowReader;

/// How consistent the dump is, and what it locks to get there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Consistency {
    /// Commits blocked only while snapshots start; DDL blocked for the whole dump.
    Snapshot,
    /// Commits (and all writes) blocked for the whole dump.
    Lock,
    /// No locks: each worker has its own snapshot; no single point in time.
    None,
}

impl Consistency {
    pub fn name(self) -> &'static str {
        match self {
            Consistency::Snapshot => "snapshot",
            Consistency::Lock => "lock",
            Consistency::None => "none",
        }
    }
}

/// What the dump keeps from being altered while it reads: the server's DDL, or only the
/// metadata of the tables it reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DdlScope {
    /// Every DDL statement on the server waits for the dump (MariaDB `BACKUP STAGE
    /// BLOCK_DDL`, MySQL `LOCK INSTANCE FOR BACKUP`): nothing the dump reads can change.
    #[default]
    Server,
    /// Only the tables of the dumped databases: every worker connection opens each inside its
    /// snapshot (`SELECT 1 FROM … LIMIT 0`, while commits, and so DDL, are still blocked) and
    /// keeps its metadata lock until the dump ends, so ALTER, DROP, RENAME and CREATE TRIGGER
    /// on them wait, DDL anywhere else goes on, and no read of the dump waits behind a
    /// waiting ALTER. A copy into another database of the same server needs this: its target's CREATE
    /// TABLE would wait for a server-wide block that lasts until the dump ends, and the dump
    /// waits for the target to read what it wrote.
    Tables,
}

/// At most this many tables in one `SELECT 1 FROM a, b, … LIMIT 0` of [`DdlScope::Tables`]:
/// a join takes at most 61 tables.
const TABLES_PER_LOCK_STATEMENT: usize = 60;

/// The statements each flavor uses for each lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockSql {
    pub block_ddl: &'static [&'static str],
    pub release_ddl: &'static [&'static str],
    pub block_commits: &'static [&'static str],
    pub release_commits: &'static [&'static str],
}

pub fn lock_sql(flavor: Flavor) -> LockSql {
    // FLUSH NO_WRITE_TO_BINLOG first: a plain FLUSH TABLES is binlogged and would add a GTID of
    // its own; flushing before the read lock keeps the time commits are blocked short.
    const BLOCK_COMMITS: &[&str] = &[
        "FLUSH NO_WRITE_TO_BINLOG TABLES",
        "FLUSH TABLES WITH READ LOCK",
    ];
    match flavor {
        Flavor::MariaDb => LockSql {
            block_ddl: &["BACKUP STAGE START", "BACKUP STAGE BLOCK_DDL"],
            release_ddl: &["BACKUP STAGE END"],
            block_commits: BLOCK_COMMITS,
            release_commits: &["UNLOCK TABLES"],
        },
        Flavor::MySql => LockSql {
            block_ddl: &["LOCK INSTANCE FOR BACKUP"],
            release_ddl: &["UNLOCK INSTANCE"],
            block_commits: BLOCK_COMMITS,
            release_commits: &["UNLOCK TABLES"],
        },
    }
}

/// Server error codes that mean "this account may not take that lock".
fn is_privilege_error(e: &mysql_async::Error) -> bool {
    matches!(e, mysql_async::Error::Server(s) if matches!(s.code, 1044 | 1045 | 1142 | 1227 | 1370))
}

fn is_lock_timeout(e: &mysql_async::Error) -> bool {
    matches!(e, mysql_async::Error::Server(s) if s.code == 1205)
}

/// One worker's connections, both inside the dump's snapshot.
pub struct Worker {
    /// mysql_async: catalogs; counts, key bounds and rows too when `rows` is None.
    pub conn: Conn,
    /// The row reader: counts, key bounds and rows.
    pub rows: Option<WireConn>,
}

/// The open session of a dump: locks held and worker connections inside one snapshot.
pub struct Session {
    pub control: Conn,
    pub workers: Vec<Worker>,
    pub commit_block: CommitBlock,
    /// What ends the DDL block on the control connection (empty: none is held).
    release_ddl: &'static [&'static str],
    pub position: SnapshotInfo,
    /// What was done, for the metadata (e.g. "snapshot (BACKUP STAGE BLOCK_DDL + FTWRL)").
    pub method: String,
    /// Things the operator should know (fallbacks taken).
    pub warnings: Vec<String>,
}

/// Settings of [`open`].
pub struct SessionOptions<'a> {
    pub settings: &'a ConnectionSettings,
    pub info: &'a ServerInfo,
    pub threads: usize,
    pub consistency: Consistency,
    /// What DDL waits for the dump; with [`DdlScope::Tables`], `ddl_tables` are those tables.
    pub ddl_scope: DdlScope,
    pub ddl_tables: &'a [TableRef],
    pub lock_wait_timeout: Duration,
    /// Keep commits blocked after the snapshots started (non-transactional tables to read);
    /// the dump releases the block itself ([`CommitBlock::release`]) once they are written.
    pub hold_commit_block: bool,
    /// Read the binlog/GTID position of the snapshot (config `backup.replication.capture_gtid`).
    pub capture_position: bool,
    pub row_reader: RowReader,
}

/// Takes the locks, opens the workers and starts their snapshots, reads the position.
///
/// On any error every lock taken so far is released before returning.
pub async fn open(control: Conn, opts: SessionOptions<'_>) -> Result<Session> {
    let mut session = Session {
        control,
        workers: Vec::new(),
        commit_block: CommitBlock::default(),
        release_ddl: &[],
        position: SnapshotInfo::default(),
        method: opts.consistency.name().to_owned(),
        warnings: Vec::new(),
    };
    match start(&mut session, &opts).await {
        Ok(()) => Ok(session),
        Err(e) => {
            session.close().await;
            Err(e)
        }
    }
}

async fn start(s: &mut Session, opts: &SessionOptions<'_>) -> Result<()> {
    let sql = lock_sql(opts.info.flavor);
    let timeout = opts.lock_wait_timeout.as_secs().max(1);
    let mut threads = opts.threads.max(1);
    let mut methods: Vec<String> = Vec::new();

    // Every worker connects before any lock, so the commit block lasts only as long as
    // starting the transactions. The mysql_async connections first: when an account's
    // connection limit leaves no room for the row readers, the dump falls back to reading rows
    // through mysql_async (said once) before anything is held.
    // All at once: each connection is a dozen round trips, and one after another they were
    // most of a dump's first 100 ms (with one core idle) at -j 2, more with more threads.
    // Those that opened join the session even when another failed, so that closing the
    // session says goodbye to them.
    let opened =
        join_all((0..threads).map(|i| async move {
            connect::open(opts.settings, &format!("worker {}", i + 1)).await
        }))
        .await;
    let (conns, failed) = opened_and_first_error(opened);
    s.workers.extend(
        conns
            .into_iter()
            .map(|(conn, _)| Worker { conn, rows: None }),
    );
    if let Some(e) = failed {
        return Err(e);
    }
    if opts.row_reader == RowReader::Wire {
        match open_readers(opts.settings, opts.info.flavor, threads).await {
            Ok(readers) => {
                for (w, r) in s.workers.iter_mut().zip(readers) {
                    w.rows = Some(r);
                }
            }
            Err(e) => s.warnings.push(format!(
                "the row reader could not connect ({e}); reading rows through mysql_async \
                 instead (same output, more client CPU)"
            )),
        }
    }

    if opts.consistency == Consistency::None {
        s.warnings.push(
            "--consistency none: no locks are taken and each worker reads in its own \
             transaction, so the files are not one point in time (rows written meanwhile may \
             be in one table and not in another) and no binary log position is recorded"
                .into(),
        );
    } else {
        s.control
            .query_drop(format!("SET SESSION lock_wait_timeout = {timeout}"))
            .await
            .map_err(|e| Error::server("setting lock_wait_timeout on the control connection", e))?;
        // With DdlScope::Tables the tables' own locks are taken by the workers, once their
        // snapshots have started (below).
        if opts.ddl_scope == DdlScope::Server {
            match run_all(&mut s.control, sql.block_ddl).await {
                Ok(()) => {
                    s.release_ddl = sql.release_ddl;
                    methods.push(sql.block_ddl.last().copied().unwrap_or_default().to_owned());
                }
                Err(e) if is_privilege_error(&e) => s.warnings.push(format!(
                    "cannot block DDL for the dump ({}): a table altered or dropped during the \
                     dump will fail it, naming the table",
                    DbError(e)
                )),
                Err(e) if is_lock_timeout(&e) => {
                    return Err(lock_timeout(&mut s.control, "block DDL", timeout).await);
                }
                Err(e) => return Err(Error::server("blocking DDL for the dump", e)),
            }
        }

        let (mut blocker, _) = connect::open(opts.settings, "lock").await?;
        blocker
            .query_drop(format!("SET SESSION lock_wait_timeout = {timeout}"))
            .await
            .map_err(|e| Error::server("setting lock_wait_timeout on the lock connection", e))?;
        match run_all(&mut blocker, sql.block_commits).await {
            Ok(()) => {
                s.commit_block.hold(blocker, opts.info.flavor);
                methods.push("FLUSH TABLES WITH READ LOCK".into());
            }
            Err(e) if is_privilege_error(&e) => {
                let _ = blocker.disconnect().await;
                s.warnings.push(format!(
                    "cannot block commits ({}; FLUSH TABLES WITH READ LOCK needs the RELOAD \
                     privilege): dumping with one connection so the dump is still one snapshot{}",
                    DbError(e),
                    if opts.info.flavor == Flavor::MySql {
                        "; the binary log position cannot be read consistently and is not recorded"
                    } else {
                        ""
                    }
                ));
                threads = 1;
                methods.push("single transaction (no RELOAD privilege)".into());
            }
            Err(e) if is_lock_timeout(&e) => {
                let _ = blocker.disconnect().await;
                return Err(lock_timeout(&mut s.control, "block commits", timeout).await);
            }
            Err(e) => {
                let _ = blocker.disconnect().await;
                return Err(Error::server(
                    "blocking commits (FLUSH TABLES WITH READ LOCK)",
                    e,
                ));
            }
        }
    }

    for w in s.workers.drain(threads.min(s.workers.len())..) {
        close_worker(w).await;
    }
    // Concurrently, while commits are blocked: the block lasts one round trip, not 2 × threads.
    try_join_all(s.workers.iter_mut().enumerate().map(|(i, w)| async move {
        let role = format!("worker {}", i + 1);
        start_transaction(&mut w.conn, &role).await?;
        if let Some(r) = &mut w.rows {
            start_transaction(r, &format!("{role} row reader")).await?;
        }
        Ok::<(), Error>(())
    }))
    .await?;

    if opts.ddl_scope == DdlScope::Tables && opts.consistency != Consistency::None {
        // Still inside the commit block, where no DDL can take a table's lock: every
        // connection that reads takes the metadata lock of every table now, inside its
        // snapshot, and keeps it to the end. Taken later, by one connection for all, a
        // worker's first read of a table would queue behind an ALTER waiting for that holder,
        // which waits for the worker: both stood still until the ALTER's lock wait ended.
        let held = try_join_all(s.workers.iter_mut().enumerate().map(|(i, w)| async move {
            let role = format!("worker {}", i + 1);
            let n = lock_table_definitions(&mut w.conn, opts.ddl_tables, timeout)
                .await
                .map_err(|e| (role.clone(), e))?;
            if let Some(r) = &mut w.rows {
                lock_table_definitions(r, opts.ddl_tables, timeout)
                    .await
                    .map_err(|e| (format!("{role} row reader"), e))?;
            }
            Ok::<usize, (String, mysql_async::Error)>(n)
        }))
        .await;
        match held {
            Ok(n) => methods.push(format!(
                "metadata locks on {} table(s)",
                n.into_iter().min().unwrap_or(0)
            )),
            Err((_, e)) if is_lock_timeout(&e) => {
                return Err(lock_timeout(
                    &mut s.control,
                    "hold the dumped tables' metadata locks",
                    timeout,
                )
                .await);
            }
            Err((role, e)) => {
                return Err(Error::server(
                    format!("locking the dumped tables' definitions ({role})"),
                    e,
                ));
            }
        }
    }

    // Not captured: nothing is read, so an account that may not see the binary log status
    // (or a server without one) dumps all the same. Without locks the workers' snapshots are
    // different points in time, and no one position describes the files.
    s.position = if opts.capture_position && opts.consistency != Consistency::None {
        read_position(s, opts.info).await?
    } else {
        SnapshotInfo::not_captured()
    };

    if !(opts.consistency == Consistency::Lock || opts.hold_commit_block) {
        s.commit_block.release().await?;
    }
    s.method = if methods.is_empty() {
        opts.consistency.name().to_owned()
    } else {
        format!("{} ({})", opts.consistency.name(), methods.join(" + "))
    };
    Ok(())
}

/// Opens `n` row reader connections, or none.
async fn open_readers(
    settings: &ConnectionSettings,
    flavor: Flavor,
    n: usize,
) -> Result<Vec<WireConn>> {
    let opened = join_all((0..n).map(|i| async move {
        WireConn::open(settings, flavor, &format!("row reader {}", i + 1)).await
    }))
    .await;
    let (readers, failed) = opened_and_first_error(opened);
    match failed {
        None => Ok(readers),
        Some(e) => {
            for r in readers {
                r.close().await;
            }
            Err(e)
        }
    }
}

/// The connections that opened, and the first error of those that did not.
fn opened_and_first_error<T>(opened: Vec<Result<T>>) -> (Vec<T>, Option<Error>) {
    let mut ok = Vec::with_capacity(opened.len());
    let mut failed = None;
    for r in opened {
        match r {
            Ok(v) => ok.push(v),
            Err(e) => failed = failed.or(Some(e)),
        }
    }
    (ok, failed)
}

async fn run_all(conn: &mut Conn, stmts: &[&str]) -> std::result::Result<(), mysql_async::Error> {
    for stmt in stmts {
        conn.query_drop(*stmt).await?;
    }
    Ok(())
}

/// Takes the metadata lock of each of `tables` inside the transaction open on `conn`, which
/// holds them until it ends ([`DdlScope::Tables`]); returns how many it holds. A table gone
/// since it was listed is not in the dump either; one that cannot be opened (a broken engine)
/// is left to the dump, which says what it makes of it. A lock wait timeout fails: the
/// connection's lock_wait_timeout is set to `timeout` s first (its reads wait no longer
/// either).
async fn lock_table_definitions<C: QueryConn>(
    conn: &mut C,
    tables: &[TableRef],
    timeout: u64,
) -> std::result::Result<usize, mysql_async::Error> {
    let name = |t: &TableRef| format!("{}.{}", ident(&t.database), ident(&t.table));
    conn.run(&format!("SET SESSION lock_wait_timeout = {timeout}"))
        .await?;
    let mut held = 0;
    for chunk in tables.chunks(TABLES_PER_LOCK_STATEMENT) {
        let all: Vec<String> = chunk.iter().map(name).collect();
        match conn
            .run(&format!("SELECT 1 FROM {} LIMIT 0", all.join(", ")))
            .await
        {
            Ok(()) => held += chunk.len(),
            Err(e) if is_lock_timeout(&e) => return Err(e),
            Err(mysql_async::Error::Server(_)) => {
                // One of them is the reason: each on its own, so the others are still held.
                for t in chunk {
                    match conn
                        .run(&format!("SELECT 1 FROM {} LIMIT 0", name(t)))
                        .await
                    {
                        Ok(()) => held += 1,
                        Err(e) if is_lock_timeout(&e) => return Err(e),
                        Err(mysql_async::Error::Server(_)) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(held)
}

/// The error for a lock that could not be had in time, naming what holds it up.
async fn lock_timeout(control: &mut Conn, what: &str, timeout: u64) -> Error {
    let rows: Vec<(u64, String, String, u64, String)> = control
        .query(
            "SELECT ID, USER, COMMAND, TIME, LEFT(COALESCE(INFO, ''), 300) \
             FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() \
             AND COMMAND NOT IN ('Sleep', 'Daemon', 'Binlog Dump') ORDER BY TIME DESC LIMIT 3",
        )
        .await
        .unwrap_or_default();
    let blockers: Vec<String> = rows
        .into_iter()
        .map(|(id, user, cmd, time, info)| {
            format!(
                "connection {id} (user {user}, {cmd} for {time} s): {}",
                info.replace('\n', " ")
            )
        })
        .collect();
    Error::Lock(format!(
        "could not {what} within {timeout} s (--lock-wait-timeout); {}; retry when it is done or \
         raise --lock-wait-timeout",
        if blockers.is_empty() {
            "no running statement was visible in the process list".to_owned()
        } else {
            format!("running: {}", blockers.join("; "))
        }
    ))
}

async fn read_position(s: &mut Session, info: &ServerInfo) -> Result<SnapshotInfo> {
    match info.flavor {
        Flavor::MariaDb => {
            // Every worker's snapshot must be the same point: compare their positions.
            let mut first: Option<SnapshotInfo> = None;
            for (i, w) in s.workers.iter_mut().enumerate() {
                // The connection that reads the data is the one whose snapshot counts.
                let p = match &mut w.rows {
                    Some(r) => binlog_snapshot(r).await?,
                    None => binlog_snapshot(&mut w.conn).await?,
                };
                match &first {
                    None => first = Some(p),
                    Some(f)
                        if f.binlog_file != p.binlog_file
                            || f.binlog_position != p.binlog_position =>
                    {
                        return Err(Error::Unsupported(format!(
                            "worker {} started its snapshot at {} but worker 1 at {}: the workers \
                             are not in one snapshot (commits were not blocked)",
                            i + 1,
                            p.gtid_info(),
                            f.gtid_info()
                        )));
                    }
                    Some(_) => {}
                }
            }
            let mut snap = first.unwrap_or_default();
            if snap.binlog_file.is_none() {
                return Ok(snap);
            }
            // While commits are blocked the server's GTID state is the snapshot's, and reading
            // it costs nothing. BINLOG_GTID_POS gives the same answer from the snapshot's file
            // and offset, but by reading that binary log from its start: on a busy server
            // (a 1 GiB file) that holds every commit blocked for seconds. It is the way only
            // when nothing is blocked, and then it blocks nothing.
            let mut guard = s.commit_block.held.lock().await;
            match guard.as_mut() {
                Some((blocker, _)) => {
                    let gtid: Option<String> = blocker
                        .query_first("SELECT @@GLOBAL.gtid_binlog_pos")
                        .await
                        .map_err(|e| {
                            Error::server("reading the snapshot position (@@gtid_binlog_pos)", e)
                        })?;
                    snap.gtid_binlog_pos = gtid;
                }
                None => {
                    drop(guard);
                    if let Some(w) = s.workers.first_mut() {
                        gtid_of(&mut w.conn, &mut snap).await?;
                    }
                }
            }
            Ok(snap)
        }
        // MySQL reports no per-transaction position: read it while commits are blocked.
        Flavor::MySql => {
            let mut guard = s.commit_block.held.lock().await;
            match guard.as_mut() {
                Some((b, _)) => position(b, info).await,
                None => Ok(SnapshotInfo::default()),
            }
        }
    }
}

/// The connection holding `FLUSH TABLES WITH READ LOCK`, shared so that whichever task
/// finishes the last non-transactional table can let commits go on. It also keeps how long
/// commits were blocked, for the summary and the metadata.
#[derive(Clone, Default)]
pub struct CommitBlock {
    held: Arc<tokio::sync::Mutex<Option<(Conn, Flavor)>>>,
    /// When the block was taken, and how long it lasted once released.
    timing: Arc<std::sync::Mutex<BlockTiming>>,
}

#[derive(Clone, Copy, Debug, Default)]
struct BlockTiming {
    since: Option<std::time::Instant>,
    lasted: Option<Duration>,
}

impl CommitBlock {
    /// Takes over a connection whose `FLUSH TABLES WITH READ LOCK` just succeeded.
    fn hold(&mut self, conn: Conn, flavor: Flavor) {
        // The clock starts when the lock statement returned: the wait before it (other
        // connections' long statements) blocked commits too, but is bounded by
        // lock_wait_timeout and is the server's, not ours.
        *self = CommitBlock {
            held: Arc::new(tokio::sync::Mutex::new(Some((conn, flavor)))),
            timing: Arc::new(std::sync::Mutex::new(BlockTiming {
                since: Some(std::time::Instant::now()),
                lasted: None,
            })),
        };
    }

    /// Lets commits go on. Idempotent.
    pub async fn release(&self) -> Result<()> {
        let taken = self.held.lock().await.take();
        if let Some((mut b, flavor)) = taken {
            let result = run_all(&mut b, lock_sql(flavor).release_commits).await;
            {
                let mut t = self.timing.lock().unwrap_or_else(|p| p.into_inner());
                t.lasted = t.since.map(|s| s.elapsed());
            }
            result.map_err(|e| Error::server("releasing the commit block (UNLOCK TABLES)", e))?;
            let _ = b.disconnect().await;
        }
        Ok(())
    }

    pub async fn is_held(&self) -> bool {
        self.held.lock().await.is_some()
    }

    /// How long commits were blocked: None when they never were (no lock taken), the time so
    /// far while still held.
    pub fn blocked_for(&self) -> Option<Duration> {
        let t = *self.timing.lock().unwrap_or_else(|p| p.into_inner());
        t.lasted.or_else(|| t.since.map(|s| s.elapsed()))
    }
}

impl Session {
    /// Releases every lock and ends every transaction. Called on success and on every error;
    /// a connection that cannot be told closes, and the server drops its locks with it.
    pub async fn close(mut self) {
        let _ = self.commit_block.release().await;
        for w in self.workers.drain(..) {
            close_worker(w).await;
        }
        if !self.release_ddl.is_empty() {
            let _ = run_all(&mut self.control, self.release_ddl).await;
        }
        let _ = self.control.disconnect().await;
    }
}

/// Ends a worker's transactions and closes its connections.
async fn close_worker(w: Worker) {
    if let Some(r) = w.rows {
        r.close().await;
    }
    let mut conn = w.conn;
    let _ = conn.query_drop("ROLLBACK").await;
    let _ = conn.disconnect().await;
}

/// The statements that start a worker's snapshot.
const SNAPSHOT_SQL: [&str; 2] = [
    "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
    "START TRANSACTION /*!40108 WITH CONSISTENT SNAPSHOT */",
];

/// Starts a REPEATABLE READ transaction with a consistent snapshot on `conn`, either kind
/// (`role` names the connection in errors: "worker 1", "worker 1 row reader"); also the
/// snapshot `verify --against` reads a live database in.
pub(crate) async fn start_transaction<C: QueryConn>(conn: &mut C, role: &str) -> Result<()> {
    for stmt in SNAPSHOT_SQL {
        conn.run(stmt)
            .await
            .map_err(|e| Error::server(format!("starting the snapshot ({role}): {stmt}"), e))?;
    }
    Ok(())
}

const BINLOG_SNAPSHOT_SQL: &str = "SHOW STATUS LIKE 'binlog_snapshot_%'";

/// MariaDB's binary log file and position of `conn`'s snapshot (`Binlog_snapshot_*`), on
/// either kind of connection.
async fn binlog_snapshot<C: QueryConn>(conn: &mut C) -> Result<SnapshotInfo> {
    let rows = conn
        .text_rows(BINLOG_SNAPSHOT_SQL)
        .await
        .map_err(|e| Error::server("reading the snapshot position (Binlog_snapshot_*)", e))?;
    let text = |c: &Option<Vec<u8>>| cell_text(c).unwrap_or_default();
    Ok(snapshot_from_status(
        rows.iter()
            .filter(|r| r.len() >= 2)
            .map(|r| (text(&r[0]), text(&r[1])))
            .collect(),
    ))
}

fn snapshot_from_status(rows: Vec<(String, String)>) -> SnapshotInfo {
    let mut snap = SnapshotInfo::default();
    for (name, value) in rows {
        match name.to_ascii_lowercase().as_str() {
            "binlog_snapshot_file" if !value.is_empty() => snap.binlog_file = Some(value),
            "binlog_snapshot_position" => snap.binlog_position = value.parse().ok(),
            _ => {}
        }
    }
    snap
}

/// Fills in the GTID position of MariaDB's binary log file and position.
async fn gtid_of(conn: &mut Conn, snap: &mut SnapshotInfo) -> Result<()> {
    if let (Some(file), Some(pos)) = (&snap.binlog_file, snap.binlog_position) {
        let gtid: Option<Option<String>> = conn
            .exec_first("SELECT BINLOG_GTID_POS(?, ?)", (file, pos))
            .await
            .map_err(|e| Error::server("reading the snapshot position (BINLOG_GTID_POS)", e))?;
        snap.gtid_binlog_pos = gtid.flatten();
    }
    Ok(())
}

/// Reads the binary log position that matches `conn`'s snapshot.
///
/// MariaDB reports it per transaction (`Binlog_snapshot_file/position`), exact without any
/// lock. MySQL has no such status: its caller must hold commits blocked while reading.
pub async fn position(conn: &mut Conn, info: &ServerInfo) -> Result<SnapshotInfo> {
    let ctx = |what: &str| format!("reading the snapshot position ({what})");
    match info.flavor {
        Flavor::MariaDb => {
            let mut snap = binlog_snapshot(conn).await?;
            gtid_of(conn, &mut snap).await?;
            Ok(snap)
        }
        Flavor::MySql => {
            let gtid: Option<String> = conn
                .query_first("SELECT @@GLOBAL.gtid_executed")
                .await
                .map_err(|e| Error::server(ctx("@@GLOBAL.gtid_executed"), e))?;
            let status: Option<mysql_async::Row> = conn
                .query_first(info.binary_log_status_sql())
                .await
                .map_err(|e| Error::server(ctx(info.binary_log_status_sql()), e))?;
            let mut snap = SnapshotInfo {
                gtid_executed: gtid.map(|g| g.replace('\n', "")),
                ..Default::default()
            };
            if let Some(row) = status {
                snap.binlog_file = row.get::<Option<String>, _>(0).flatten();
                snap.binlog_position = row.get::<Option<u64>, _>(1).flatten();
            }
            Ok(snap)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_flavor_gets_its_own_lock_statements() {
        let m = lock_sql(Flavor::MariaDb);
        assert_eq!(
            m.block_ddl,
            ["BACKUP STAGE START", "BACKUP STAGE BLOCK_DDL"]
        );
        assert_eq!(m.release_ddl, ["BACKUP STAGE END"]);
        let y = lock_sql(Flavor::MySql);
        assert_eq!(y.block_ddl, ["LOCK INSTANCE FOR BACKUP"]);
        assert_eq!(y.release_ddl, ["UNLOCK INSTANCE"]);
        for l in [m, y] {
            assert_eq!(l.block_commits[0], "FLUSH NO_WRITE_TO_BINLOG TABLES");
            assert_eq!(l.block_commits[1], "FLUSH TABLES WITH READ LOCK");
            assert_eq!(l.release_commits, ["UNLOCK TABLES"]);
        }
    }
}
