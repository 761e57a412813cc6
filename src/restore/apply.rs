//! Applying one script to a server: definitions in file order on one connection, data
//! statements spread over N connections, and what needs the data (triggers, views, routines,
//! events) only after the data before it has loaded.
//!
//! Statements come from the splitter thread (see `script`). Each data connection replays the
//! file's session settings (sql_mode, names, time zone, checks, USE) up to the point where its
//! statement stood, so it runs as it would have in file order.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use mysql_async::Conn;
use mysql_async::prelude::*;
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore, mpsc};

use super::execute::{
    Check, Executed, Failure, execute, execute_checked, execute_load, probe_rows, run_own,
};
use super::journal::{self, FileJournal};
use super::keys;
use super::load_data::{self, LoadData};
use super::plan::Placement;
use super::script::{Feedback, Item, RowsAsLoad, Statements};
use super::select::{self, REFUSED_VIEW, Selected, Selection, Verdict};
use super::tables::{Finished, Loads, TableKey, TableRestored};
use super::target::{prepare_target, reopen_target};
use crate::config::run::ConfirmDrop;
use crate::connect::{self, ConnectionSettings};
use crate::error::{Error, Result};
use crate::progress::{Event, Progress};
use crate::quote::{ident, qualified};
use crate::read::classify::{Kind, Verb, first_word, mentions};
use crate::read::split::{Position, Statement};
use crate::read::subject::{Role, Subject, subject};

/// Data statements queued per data connection: one waiting behind each running one keeps
/// every connection busy between the coordinator's turns.
const JOBS_PER_CONNECTION: usize = 2;

/// KiB of data statements queued or running at once: bounds memory however large the
/// statements of a file are (a statement larger than this runs alone).
const IN_FLIGHT_KIB: u32 = 64 * 1024;

/// Where the statement adding a table's deferred keys back is journaled: this many bytes
/// after the table's first row statement, inside its text, where no statement starts.
const KEYS_JOURNAL_OFFSET: u64 = 2;

/// Warning texts kept for the summary; the count covers all of them.
const WARNING_SAMPLES: usize = 10;

#[derive(Clone, Debug)]
pub struct Options {
    pub threads: usize,
    /// `SET sql_log_bin = 0` on every connection: faster, but replicas do not get the data.
    pub skip_binlog: bool,
    pub strict: bool,
    pub continue_on_error: bool,
    /// A single-database restore runs statements that name another database as written.
    pub allow_other_databases: bool,
    /// Asked before `--drop-target` drops a database that exists.
    pub confirm_drop: Option<ConfirmDrop>,
    /// A stopped restore of the same file with the same options that `--resume` would go on
    /// with (its journal id): named when a target that holds tables is refused.
    pub resumable: Option<u64>,
    /// The tables whose plain secondary keys are built after their rows (see `keys`): by
    /// target database and table, the rows the file's metadata records for each (None: not
    /// known, a copy's stream). Empty when nothing is deferred (a MySQL target, a file
    /// without metadata, small tables).
    pub deferred_keys: HashMap<String, HashMap<String, Option<u64>>>,
    /// A stream's (`db-copy`): tells each table's rows as the dump finishes it.
    pub stream: Option<super::plan::Stream>,
    /// The database the file was dumped from, when known: restored into another, the
    /// qualifiers our dumps keep in definitions are pointed at the target (`retargeted`).
    pub source: Option<String>,
}

/// What applying a script did.
#[derive(Clone, Debug, Default)]
pub struct Applied {
    /// Statements the server ran.
    pub statements: u64,
    /// Row statements of those that went as LOAD DATA.
    pub load_data: u64,
    /// Statements not sent (locks, excluded databases, the file's own database statements
    /// in a single-database restore, the statements of tables the selection leaves out).
    pub skipped: u64,
    pub rows: u64,
    pub warnings: u64,
    pub warning_samples: Vec<String>,
    /// With `--continue-on-error`: the statements that failed.
    pub failures: Vec<String>,
    /// The databases written to, in order.
    pub databases: Vec<String>,
    /// Those of them this restore created (absent before, or dropped by `--drop-target`).
    pub created: Vec<String>,
    /// Database names the script itself used (CREATE DATABASE / USE).
    pub source_databases: Vec<String>,
    /// The script ends with a `-- Dump completed` line.
    pub completed_marker: bool,
    /// The script starts with our dump's header.
    pub ours: bool,
    pub sql_bytes: u64,
    /// What each table received, in the order its data first came.
    pub tables: Vec<TableRestored>,
    /// With `--tables`/`--ignore-table`: every table and view of the file, as the file names
    /// it, and whether it was restored (the statements of the others are counted in
    /// `skipped`).
    pub selected: Vec<Selected>,
    /// `--resume`: statements read past because the stopped restore had committed them.
    pub resumed: u64,
    /// `--resume`: the statement in doubt (it had run, its journal row had not committed)
    /// answered "already exists", so it counts as done.
    pub rechecked: u64,
    /// `--resume`: per table, its data statements read past as committed, in file order.
    pub resumed_tables: Vec<TableResumed>,
    /// Definitions restored with a `DEFINER=` clause: (user, host, what it defines).
    pub definers: Vec<(String, Option<String>, String)>,
}

/// A table's data statements a resumed restore read past: the stopped restore committed them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableResumed {
    pub database: String,
    pub table: String,
    pub statements: u64,
}

/// A data statement's journal row, written in the statement's own transaction.
struct JobJournal {
    sql: String,
    /// The table's rows commit with a transaction (InnoDB): statement and journal row commit
    /// together. Otherwise the statement runs on its own and the row follows (such a table is
    /// reloaded whole on resume).
    transactional: bool,
}

/// Times a row statement chosen as a deadlock's victim is run again before the restore fails.
/// Two connections loading into one empty table used to deadlock on MariaDB's bulk insert
/// into an empty table (seen on the bench's table without a primary key) until a table's
/// second statement waited for its first (`Loads::opening`); a statement of the file's own
/// (an UPDATE, an INSERT … SELECT) can still meet another's locks.
const DEADLOCK_RETRIES: u32 = 5;

/// Session settings in file order; data connections replay them up to their statement.
type SessionLog = RwLock<Vec<(Position, Arc<[u8]>)>>;

struct Job {
    sql: Vec<u8>,
    load: Option<LoadData>,
    /// A row statement of our own dump: [`Check::Exact`].
    ours: bool,
    /// The table, for messages.
    name: String,
    at: Position,
    /// Session settings to have applied first: `log[..epoch]`.
    epoch: usize,
    /// The table's handle in the applier's `Loads`; None for the statement that adds a
    /// table's deferred keys back, which loads no rows.
    table: Option<usize>,
    journal: Option<JobJournal>,
    _budget: OwnedSemaphorePermit,
}

struct Done {
    table: Option<usize>,
    at: Position,
    bytes: u64,
    result: Result<Executed, Failure>,
}

/// Where the applier sends data statements: any free data connection, or (a statement that
/// went alone through the queue, see `script::QUEUE_BYTES`) always the first one. The driver
/// keeps a connection's largest write buffer for its life: statements of 60 MB spread over
/// four connections would leave four such buffers behind, one connection keeps one.
struct Lanes {
    any: mpsc::Sender<Job>,
    large: mpsc::Sender<Job>,
}

async fn worker(
    mut conn: Conn,
    jobs: Arc<Mutex<mpsc::Receiver<Job>>>,
    mut large: Option<mpsc::Receiver<Job>>,
    log: Arc<SessionLog>,
    done: mpsc::UnboundedSender<Done>,
    strict: bool,
    rows_as_load: RowsAsLoad,
) -> Conn {
    let RowsAsLoad {
        allowed: load_allowed,
        binary,
    } = rows_as_load;
    let mut applied = 0usize;
    loop {
        let job = match &mut large {
            // A large one first: the applier waits for it before reading on.
            Some(l) => tokio::select! {
                biased;
                j = l.recv() => match j {
                    Some(j) => Some(j),
                    None => {
                        large = None;
                        continue;
                    }
                },
                j = async { jobs.lock().await.recv().await } => j,
            },
            None => jobs.lock().await.recv().await,
        };
        let Some(mut job) = job else { break };
        let mut replay_failed = None;
        if applied < job.epoch {
            let pending: Vec<(Position, Arc<[u8]>)> = match log.read() {
                Ok(l) => l[applied..job.epoch].to_vec(),
                Err(_) => {
                    replay_failed = Some((
                        job.at,
                        Failure {
                            problem: "internal error: the session settings were lost (a \
                                      thread panicked)"
                                .into(),
                            fatal: true,
                            code: None,
                        },
                    ));
                    Vec::new()
                }
            };
            for (at, sql) in pending {
                // Warnings of settings were counted when the coordinator ran them.
                if let Err(f) = execute(&mut conn, &sql, false).await {
                    replay_failed = Some((at, f));
                    break;
                }
            }
            applied = job.epoch;
        }
        let (at, result) = match replay_failed {
            Some((at, f)) => (at, Err(f)),
            None => {
                let check = if job.ours {
                    Check::Exact {
                        sent: None,
                        sql: &job.sql,
                    }
                } else {
                    Check::Counted
                };
                let mut load = job.load.take();
                let as_load = load.is_some();
                let mut attempt = 0;
                let mut ran = loop {
                    let ran =
                        run_job(&mut conn, &job, load.take(), strict, check, &load_allowed).await;
                    match &ran {
                        Err(f) if f.deadlock() && attempt < DEADLOCK_RETRIES => {
                            attempt += 1;
                            tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
                            if as_load {
                                load = load_data::convert(&job.sql, binary);
                            }
                        }
                        _ => break ran,
                    }
                };
                if job.ours
                    && let Err(f) = &mut ran
                    && !f.fatal
                {
                    f.problem = format!("table {}: {}", job.name, f.problem);
                    if let Some(rows) = probe_rows(&mut conn, &job.sql).await {
                        f.problem.push_str("; ");
                        f.problem.push_str(&rows);
                    }
                }
                (job.at, ran)
            }
        };
        let fatal = matches!(&result, Err(f) if f.fatal);
        let (table, bytes) = (job.table, job.sql.len() as u64);
        drop(job);
        let answer = Done {
            table,
            at,
            bytes,
            result,
        };
        if done.send(answer).is_err() || fatal {
            break;
        }
    }
    conn
}

/// Runs one data statement: in one transaction with its journal row when the restore keeps a
/// journal (a failure rolls both back, a deadlock's retry runs both again). The data
/// connections of a journaled restore run with autocommit off (see [`Applier::start`]), so the
/// statement opens the transaction itself: no round trip for `START TRANSACTION`. A table
/// that is not transactional gets its statement committed alone, then the journal row, since
/// a transaction may not mix the two kinds (MySQL's GTID consistency refuses it).
async fn run_job(
    conn: &mut Conn,
    job: &Job,
    load: Option<LoadData>,
    strict: bool,
    check: Check<'_>,
    load_allowed: &AtomicBool,
) -> Result<Executed, Failure> {
    let journal = job.journal.as_ref();
    let ran = match load {
        Some(l) if load_allowed.load(Ordering::Relaxed) => {
            execute_load(conn, l, &job.sql, strict, check, load_allowed).await
        }
        _ => execute_checked(conn, &job.sql, strict, check).await,
    };
    let ran = match (ran, journal) {
        (Ok(e), Some(j)) => run_own(
            conn,
            &if j.transactional {
                format!("{}; COMMIT", j.sql)
            } else {
                format!("COMMIT; {}; COMMIT", j.sql)
            },
            "writing the restore's journal",
        )
        .await
        .map(|()| e),
        (ran, _) => ran,
    };
    if ran.is_err() && journal.is_some() {
        // Neither the rows nor their journal row: the statement runs again on resume.
        let _ = conn.query_drop("ROLLBACK").await;
    }
    ran
}

/// Applies one script. `main` runs everything but the data, in file order.
pub struct Applier<'a> {
    file: &'a Path,
    main: &'a mut Conn,
    placement: Placement,
    opts: Options,
    progress: &'a dyn Progress,
    file_read: Arc<AtomicU64>,

    log: Arc<SessionLog>,
    jobs: Option<Lanes>,
    done: mpsc::UnboundedReceiver<Done>,
    workers: Vec<tokio::task::JoinHandle<Conn>>,
    budget: Arc<Semaphore>,
    /// The tables data goes into, and the data statements in flight.
    loads: Loads,

    current_db: Option<String>,
    /// Inside a database excluded with --exclude-db.
    skipping: bool,
    /// `--tables`/`--ignore-table`: which statements run.
    selection: Option<Selection>,
    prepared: HashSet<String>,
    out: Applied,
    /// Where its statements are journaled; with what the stopped restore committed on resume.
    journal: Option<FileJournal>,
    /// Whether each table's rows commit with a transaction, looked up at its first data
    /// statement (journaling only).
    engines: HashMap<TableKey, bool>,
    /// `out.resumed_tables`' entries by table.
    resumed_index: HashMap<TableKey, usize>,
    /// Keys to build after the rows (`keys`), from the table's CREATE TABLE to its first row
    /// statement, where they are dropped.
    keys_waiting: HashMap<TableKey, keys::Deferred>,
    /// Tables loading without their deferred keys, with the statement that adds them back.
    keys_pending: HashMap<TableKey, PendingKeys>,
    /// Tables whose rows are all in by their metadata's count: their keys go next.
    keys_ready: Vec<TableKey>,
    /// Statements adding keys back that are running, by the position of their table's first
    /// row statement (their answers' `at`).
    keys_running: HashMap<u64, (TableKey, String)>,
    /// Packages the file creates (upper case): under sql_mode ORACLE `CALL pkg.p` calls a
    /// package's routine, not a procedure of a database `pkg` (`read::confine`).
    packages: HashSet<String>,
}

/// A table loading without its deferred keys.
struct PendingKeys {
    /// `ALTER TABLE … ADD KEY IF NOT EXISTS …`.
    sql: String,
    /// The table's first row statement: where a failure is reported. The statement is
    /// journaled two bytes after it, inside that statement's text, where no statement of the
    /// file can start.
    at: Position,
    /// The rows its metadata records, when this run loads all of them: once they are in, the
    /// keys are added while other tables go on loading. None after a resume (part of the rows
    /// came before), and in a stream until the dump has finished the table
    /// (`streamed_tables_done`): the keys are added at the next point where all data has
    /// settled if the count is not known and reached before.
    rows: Option<u64>,
    /// The keys, for messages.
    names: String,
}

impl PendingKeys {
    /// `key`'s rows are all in, none loading: its keys can go back on.
    fn complete(&self, loads: &Loads, key: &TableKey) -> bool {
        self.rows == Some(loads.rows(key)) && !loads.busy(key)
    }
}

impl<'a> Applier<'a> {
    /// Opens the data connections (each takes its lock of the journal). For a single-database
    /// placement, every connection starts in the target database.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn start(
        file: &'a Path,
        main: &'a mut Conn,
        settings: &ConnectionSettings,
        placement: Placement,
        opts: Options,
        progress: &'a dyn Progress,
        feedback: Feedback,
        journal: Option<FileJournal>,
    ) -> Result<Applier<'a>> {
        let Feedback {
            read: file_read,
            rows_as_load,
        } = feedback;
        let threads = opts.threads.max(1);
        let mut conns = Vec::with_capacity(threads);
        for i in 0..threads {
            let (mut c, _) =
                connect::open_with(settings, &format!("data {i}"), connect::restore_setup_sql)
                    .await?;
            if let Some(j) = &journal {
                j.lock_connection(&mut c, i + 1).await?;
                // Each data statement then opens its transaction, which its journal row's
                // COMMIT closes (see `run_job`).
                c.query_drop("SET SESSION autocommit = 0")
                    .await
                    .map_err(|e| Error::server(format!("data connection {i}: autocommit"), e))?;
            }
            conns.push(c);
        }
        let (jobs_tx, jobs_rx) = mpsc::channel(JOBS_PER_CONNECTION * threads);
        let jobs_rx = Arc::new(Mutex::new(jobs_rx));
        let (large_tx, large_rx) = mpsc::channel(1);
        let mut large_rx = Some(large_rx);
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let log: Arc<SessionLog> = Arc::new(RwLock::new(Vec::new()));
        let workers = conns
            .into_iter()
            .map(|c| {
                tokio::spawn(worker(
                    c,
                    jobs_rx.clone(),
                    large_rx.take(),
                    log.clone(),
                    done_tx.clone(),
                    opts.strict,
                    rows_as_load.clone(),
                ))
            })
            .collect();
        let mut applier = Applier {
            file,
            main,
            placement,
            opts,
            progress,
            file_read,
            log,
            jobs: Some(Lanes {
                any: jobs_tx,
                large: large_tx,
            }),
            done: done_rx,
            workers,
            budget: Arc::new(Semaphore::new(IN_FLIGHT_KIB as usize)),
            loads: Loads::default(),
            current_db: None,
            skipping: false,
            selection: None,
            prepared: HashSet::new(),
            out: Applied::default(),
            journal,
            engines: HashMap::new(),
            resumed_index: HashMap::new(),
            keys_waiting: HashMap::new(),
            keys_pending: HashMap::new(),
            keys_ready: Vec::new(),
            keys_running: HashMap::new(),
            packages: HashSet::new(),
        };
        // The restore's own session settings go first, so the file's later ones win.
        let mut setup = Vec::new();
        if applier.opts.skip_binlog {
            setup.push((
                "turning the binary log off for the restore (--skip-binlog)".to_owned(),
                "SET SESSION sql_log_bin = 0".to_owned(),
            ));
        }
        if let Placement::Single { target } = &applier.placement {
            setup.push((
                format!("selecting the target database {}", ident(target)),
                format!("USE {}", ident(target)),
            ));
            applier.current_db = Some(target.clone());
            applier.out.databases.push(target.clone());
        }
        for (what, sql) in setup {
            applier
                .main
                .query_drop(&sql)
                .await
                .map_err(|e| Error::server(what, e))?;
            applier.push_session(Position::default(), sql.into_bytes());
        }
        Ok(applier)
    }

    /// Restores only part of the script (`--tables`, `--ignore-table`).
    pub(super) fn select(mut self, selection: Option<Selection>) -> Self {
        self.selection = selection;
        self
    }

    /// Applies every statement `rx` delivers, then waits for the data connections to finish.
    /// The data connections are closed on every path out.
    pub(super) async fn run(mut self, mut statements: Statements) -> (Applied, Result<()>) {
        let result = self.apply_all(&mut statements).await;
        // Stop reading and let the data connections finish what they hold.
        drop(statements);
        self.jobs = None;
        let mut conns = Vec::new();
        for h in std::mem::take(&mut self.workers) {
            if let Ok(c) = h.await {
                conns.push(c);
            }
        }
        // Answers that arrived after a failure only add to the counts.
        while let Ok(d) = self.done.try_recv() {
            let ran = d.result.as_ref().ok().map(|e| (e.rows, d.bytes));
            if let Some(table) = d.table {
                self.loads.settle(table, ran);
            }
            if let Ok(e) = d.result {
                self.count(e);
            }
        }
        for mut c in conns {
            // The journal's lock of each data connection is released before it goes: the
            // server handles a client's quit after answering it, and under load the next
            // file of the same run (a primary's `_dmart` companion) asked for the same lock
            // while the server still held it for the closed connection ("held by connection
            // N", a CI run with both cores busy).
            let _ = c.query_drop("SELECT RELEASE_ALL_LOCKS()").await;
            let _ = c.disconnect().await;
        }
        self.out.tables = self.loads.summary();
        self.out.selected = self
            .selection
            .take()
            .map(Selection::into_seen)
            .unwrap_or_default();
        (self.out, result)
    }

    async fn apply_all(&mut self, statements: &mut Statements) -> Result<()> {
        loop {
            match statements.next().await? {
                Item::End {
                    completed,
                    sql_bytes,
                    ours,
                } => {
                    self.out.ours = ours;
                    self.out.completed_marker = completed;
                    self.out.sql_bytes = sql_bytes;
                    break;
                }
                Item::Statement(st, kind, load, ours) => self.apply(st, kind, load, ours).await?,
            }
            self.collect_done()?;
            self.streamed_tables_done();
            for key in std::mem::take(&mut self.keys_ready) {
                self.start_keys(&key).await?;
            }
            self.report();
        }
        self.wait_all().await?;
        self.report();
        Ok(())
    }

    fn report(&self) {
        self.progress
            .restored(self.out.rows, self.file_read.load(Ordering::Relaxed));
    }

    async fn apply(
        &mut self,
        st: Statement,
        kind: Kind,
        load: Option<LoadData>,
        ours: bool,
    ) -> Result<()> {
        let st = self.retargeted(st, &kind, ours);
        if let Some(package) = crate::read::confine::created_package(&st.sql, st.lexing) {
            self.packages.insert(package.to_uppercase());
        }
        // Before the confinement check: a statement read past writes nowhere.
        let mut view = None;
        if let Some(selection) = self.selection.as_mut() {
            if self.skipping {
                selection.pass(&st.sql, &kind);
            } else {
                let verdict = selection
                    .decide(&st.sql, &kind)
                    .map_err(|p| select::undecidable(self.file, st.at, p))?;
                match verdict {
                    Verdict::Skip => {
                        self.out.skipped += 1;
                        return Ok(());
                    }
                    Verdict::View(name) => view = Some(name),
                    Verdict::Run => {}
                }
            }
        }
        if let Placement::Single { target } = &self.placement
            && !self.opts.allow_other_databases
        {
            confine(self.file, &st, &kind, target, &self.packages)?;
        }
        match kind {
            Kind::Lock => self.out.skipped += 1,
            Kind::Session => {
                self.run_main(st.at, &st.sql).await?;
                self.push_session(st.at, st.sql);
            }
            Kind::Use(name) => match self.placement.clone() {
                Placement::Single { target } => {
                    self.note_source(&name.name, &target)?;
                    self.out.skipped += 1;
                }
                Placement::All { exclude, drop } => {
                    self.skipping = self.left_out(&exclude, &name.name);
                    if self.skipping {
                        self.out.skipped += 1;
                        return Ok(());
                    }
                    self.prepare_database(&name.name, drop, true).await?;
                    self.current_db = Some(name.name.clone());
                    self.run_main(st.at, &st.sql).await?;
                    self.push_session(st.at, st.sql);
                }
            },
            Kind::Database { verb, name } => match self.placement.clone() {
                Placement::Single { target } => {
                    self.note_source(&name.name, &target)?;
                    if verb == Verb::Alter {
                        if self.resumed(st.at, None) {
                            return Ok(());
                        }
                        // mysqldump changes the database's charset around routines.
                        let sql = name.replace_in(&st.sql, &target);
                        self.wait_all().await?;
                        let record = self.main_record(st.at, &sql, &Kind::Other, Some(&target));
                        self.run_main_journaled(st.at, &sql, false, None, record)
                            .await?;
                    } else {
                        self.out.skipped += 1;
                    }
                }
                Placement::All { exclude, drop } => {
                    if self.left_out(&exclude, &name.name) {
                        if verb == Verb::Create {
                            self.skipping = true;
                        }
                        self.out.skipped += 1;
                        return Ok(());
                    }
                    self.wait_all().await?;
                    if verb == Verb::Create {
                        self.skipping = false;
                    }
                    // Before the file's own DROP DATABASE too (mysqldump --add-drop-database):
                    // an existing database is replaced only with --drop-target.
                    self.prepare_database(&name.name, drop, false).await?;
                    if self.resumed(st.at, None) {
                        return Ok(());
                    }
                    let record = self.main_record(st.at, &st.sql, &Kind::Other, Some(&name.name));
                    self.run_main_journaled(st.at, &st.sql, false, None, record)
                        .await?;
                }
            },
            _ if self.skipping => self.out.skipped += 1,
            Kind::Data { db, table, .. } => {
                let Some(db) = db.or_else(|| self.current_db.clone()) else {
                    return Err(no_database(self.file, st.at));
                };
                let key = TableKey { db, table };
                if let Some(deferred) = self.keys_waiting.remove(&key) {
                    self.defer_keys(&key, deferred, st.at).await?;
                }
                if self.resumed(st.at, Some(&key)) {
                    return Ok(());
                }
                let journal = match &self.journal {
                    Some(j) => Some(JobJournal {
                        sql: j.record_sql(
                            st.at.offset,
                            Some((&key.db, &key.table)),
                            None,
                            Some(Role::Rows),
                            false,
                        ),
                        transactional: self.transactional(&key).await?,
                    }),
                    None => None,
                };
                // One that went alone through the queue (see `script::QUEUE_BYTES`) runs
                // before the next statement is asked for, so that the splitter does not read
                // another as large while it does.
                let alone = st.sql.len() as u64 >= super::script::QUEUE_BYTES;
                // A table's second statement waits here, not on the server, until its first
                // has committed (see `Loads::opening`).
                while self.loads.opening(&key) {
                    self.wait_one().await?;
                }
                self.dispatch(st, key, load, ours, journal).await?;
                while alone && self.loads.in_flight() > 0 {
                    self.wait_one().await?;
                }
            }
            Kind::TableDdl => {
                let Some(db) = self.current_db.clone() else {
                    return Err(no_database(self.file, st.at));
                };
                // Read past or not. On resume every table whose keys could have been
                // deferred is looked at: the stopped restore may have been asked for another
                // `--keys-after-rows`, and it may have dropped them.
                let resuming = self.resuming();
                if (resuming || self.opts.deferred_keys.contains_key(&db))
                    && let Some(deferred) = keys::deferrable(&st.sql)
                    && (resuming
                        || self
                            .opts
                            .deferred_keys
                            .get(&db)
                            .is_some_and(|t| t.contains_key(&deferred.table)))
                {
                    let key = TableKey {
                        db,
                        table: deferred.table.clone(),
                    };
                    self.keys_waiting.insert(key, deferred);
                }
                if self.resumed(st.at, None) {
                    return Ok(());
                }
                self.wait_for_tables(&st.sql).await?;
                let record = self.main_record(st.at, &st.sql, &kind, None);
                self.run_main_journaled(st.at, &st.sql, false, None, record)
                    .await?;
            }
            Kind::PostData => {
                if self.resumed(st.at, None) {
                    return Ok(());
                }
                self.wait_all().await?;
                let record = self.main_record(st.at, &st.sql, &kind, None);
                self.run_main_journaled(st.at, &st.sql, false, view, record)
                    .await?;
            }
            Kind::Other => {
                // Session-like statements (SET autocommit, SET GLOBAL, transaction bounds)
                // always run again, as settings do.
                let again = matches!(
                    first_word(&st.sql).as_deref(),
                    Some(
                        "SET"
                            | "COMMIT"
                            | "BEGIN"
                            | "START"
                            | "ROLLBACK"
                            | "SAVEPOINT"
                            | "RELEASE"
                            | "XA"
                    )
                );
                if !again && self.resumed(st.at, None) {
                    return Ok(());
                }
                self.wait_all().await?;
                let record = match again {
                    true => None,
                    false => self.main_record(st.at, &st.sql, &kind, None),
                };
                self.run_main_journaled(st.at, &st.sql, true, None, record)
                    .await?;
            }
        }
        Ok(())
    }

    /// A definition of our dump restored into a database not of its source's name, with the
    /// source's qualifiers the dump had to keep (a call whose bare name is a native function's,
    /// a package's call to a standalone routine, `db.pkg.f()`: `catalog::rewrite`) naming the
    /// target: it
    /// calls the routine restored beside it, as it did in its source, not the source
    /// database's. ASCII names only: a definition's bytes are in its own character set, in
    /// which another name would need encoding; others keep the source's name, as the dump's
    /// warning said.
    fn retargeted(&self, mut st: Statement, kind: &Kind, ours: bool) -> Statement {
        if let (true, Kind::PostData, Placement::Single { target }, Some(source)) =
            (ours, kind, &self.placement, &self.opts.source)
            && source != target
            && source.is_ascii()
            && target.is_ascii()
        {
            st.sql =
                crate::catalog::rewrite::retarget(&st.sql, source.as_bytes(), target, st.lexing);
        }
        st
    }

    /// `--resume`: the statement at `at` was committed by the stopped restore, so it is read
    /// past (counted, with its table when it is a data statement).
    fn resumed(&mut self, at: Position, data: Option<&TableKey>) -> bool {
        if !self
            .journal
            .as_ref()
            .is_some_and(|j| j.committed(at.offset))
        {
            return false;
        }
        self.out.resumed += 1;
        if let Some(key) = data {
            let i = match self.resumed_index.get(key) {
                Some(&i) => i,
                None => {
                    self.out.resumed_tables.push(TableResumed {
                        database: key.db.clone(),
                        table: key.table.clone(),
                        statements: 0,
                    });
                    self.resumed_index
                        .insert(key.clone(), self.out.resumed_tables.len() - 1);
                    self.out.resumed_tables.len() - 1
                }
            };
            self.out.resumed_tables[i].statements += 1;
        }
        true
    }

    /// Whether the rows of `key` commit with a transaction (its engine is InnoDB), looked up
    /// once per table. A table the server does not know counts as transactional: its
    /// statement fails anyway.
    async fn transactional(&mut self, key: &TableKey) -> Result<bool> {
        if let Some(&t) = self.engines.get(key) {
            return Ok(t);
        }
        let engine: Option<Option<String>> = self
            .main
            .exec_first(
                "SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND \
                 TABLE_NAME = ?",
                (&key.db, &key.table),
            )
            .await
            .map_err(|e| {
                Error::server(
                    format!(
                        "reading the engine of {}.{}",
                        ident(&key.db),
                        ident(&key.table)
                    ),
                    e,
                )
            })?;
        let t = engine
            .flatten()
            .is_none_or(|e| journal::is_transactional(&e));
        self.engines.insert(key.clone(), t);
        Ok(t)
    }

    /// The journal row of a statement for the main connection: the one table it is about
    /// (in `db`, else the database it names, else the current one), its role.
    fn main_record(
        &self,
        at: Position,
        sql: &[u8],
        kind: &Kind,
        db: Option<&str>,
    ) -> Option<String> {
        let j = self.journal.as_ref()?;
        let db = db.map(str::to_owned).or_else(|| self.current_db.clone());
        let (table, role) = match subject(sql, kind) {
            Subject::Tables { role, tables } if tables.len() == 1 => {
                let t = &tables[0];
                let in_db = t.db.clone().or_else(|| db.clone());
                (in_db.map(|d| (d, t.name.clone())), Some(role))
            }
            _ => (None, None),
        };
        Some(j.record_sql(
            at.offset,
            table.as_ref().map(|(d, t)| (d.as_str(), t.as_str())),
            db.as_deref(),
            role,
            true,
        ))
    }

    /// A database of a combined file that is not restored: excluded with `--exclude-db`, or
    /// one that no `--tables` pattern can match (its routines and events stay out too, as
    /// mysqldump's `--tables` leaves them out).
    fn left_out(&self, exclude: &[String], db: &str) -> bool {
        is_excluded(exclude, db)
            || self
                .selection
                .as_ref()
                .is_some_and(|s| !s.takes_database(db))
    }

    fn push_session(&mut self, at: Position, sql: Vec<u8>) {
        if let Ok(mut l) = self.log.write() {
            l.push((at, Arc::from(sql)));
        }
    }

    /// A single-database restore: the script may name its database (a combined file of one
    /// database, or mysqldump --databases); a second name means it holds more than one.
    fn note_source(&mut self, name: &str, target: &str) -> Result<()> {
        let seen = &mut self.out.source_databases;
        if !seen.iter().any(|s| s == name) {
            seen.push(name.to_owned());
        }
        if seen.len() > 1 {
            return Err(Error::Usage(format!(
                "{} holds more than one database ({}): restore it with `db-restore all`, not into \
                 the one database {}",
                self.file.display(),
                seen.iter().map(|s| ident(s)).collect::<Vec<_>>().join(", "),
                ident(target)
            )));
        }
        Ok(())
    }

    /// Before the first statement of a database of a combined file: refuse to mix into a
    /// database that already holds tables, unless asked to replace it.
    async fn prepare_database(&mut self, name: &str, drop: bool, create: bool) -> Result<()> {
        if !self.prepared.insert(name.to_owned()) {
            return Ok(());
        }
        self.wait_all().await?;
        let journaled = self
            .journal
            .as_ref()
            .and_then(|j| j.databases.get(name).copied());
        let fresh = match journaled {
            Some(created) => {
                reopen_target(self.main, name, drop, self.progress).await?;
                created
            }
            None => {
                let fresh = prepare_target(
                    self.main,
                    name,
                    drop,
                    create,
                    self.opts.confirm_drop.as_ref(),
                    self.progress,
                    self.opts.resumable,
                )
                .await?;
                if let Some(j) = self.journal.as_mut() {
                    j.mark_database(self.main, name, fresh).await?;
                }
                fresh
            }
        };
        self.out.databases.push(name.to_owned());
        if fresh {
            self.out.created.push(name.to_owned());
        }
        Ok(())
    }

    /// A session statement (settings, `USE`) on the main connection: never journaled, it runs
    /// again on resume.
    async fn run_main(&mut self, at: Position, sql: &[u8]) -> Result<()> {
        match execute(self.main, sql, self.opts.strict).await {
            Ok(mut e) => {
                e.rows = 0;
                self.count(e);
                Ok(())
            }
            Err(f) => self.failed(at, f),
        }
    }

    /// Runs a statement on the main connection, then its journal row (`record`, when the
    /// restore keeps a journal). A statement that writes rows (`INSERT … SELECT`, `UPDATE`)
    /// runs in one transaction with its journal row; a definition commits on its own, so on
    /// resume the first one after the last journaled is in doubt, and "already exists" from it
    /// means it had run. Its affected rows count as rows restored only when `data`: a
    /// definition's (`ALTER DATABASE` says 1) are not rows. `view`: a view of the selection,
    /// which the server may refuse because a table it reads was left out (a warning, and the
    /// view counts as left out).
    async fn run_main_journaled(
        &mut self,
        at: Position,
        sql: &[u8],
        data: bool,
        view: Option<String>,
        record: Option<String>,
    ) -> Result<()> {
        let in_doubt =
            record.is_some() && self.journal.as_mut().is_some_and(|j| j.in_doubt(at.offset));
        let transaction = record.is_some()
            && matches!(
                first_word(sql).as_deref(),
                Some("INSERT" | "REPLACE" | "UPDATE" | "DELETE" | "LOAD")
            );
        if transaction
            && let Err(f) =
                run_own(self.main, "START TRANSACTION", "starting its transaction").await
        {
            return self.failed(at, f);
        }
        match execute(self.main, sql, self.opts.strict).await {
            Ok(mut e) => {
                if !data {
                    e.rows = 0;
                }
                self.count(e);
                if let Some((user, host)) = crate::read::subject::definer(sql) {
                    let object = crate::read::subject::defined_object(sql)
                        .unwrap_or_else(|| format!("{at}"));
                    self.out.definers.push((user, host, object));
                }
                self.record(at, record).await
            }
            Err(f) if in_doubt && f.code.is_some_and(|c| journal::ALREADY_EXISTS.contains(&c)) => {
                self.progress.event(&Event::Warning(&format!(
                    "{}: {at} had run before the restore stopped (the server says: {}): \
                     re-checked, counted as done",
                    self.file.display(),
                    f.problem
                )));
                self.out.rechecked += 1;
                self.record(at, record).await
            }
            Err(f) => {
                if transaction {
                    let _ = self.main.query_drop("ROLLBACK").await;
                }
                match view {
                    Some(name) if f.code.is_some_and(|c| REFUSED_VIEW.contains(&c)) => {
                        self.view_refused(at, &name, &f.problem);
                        Ok(())
                    }
                    _ => self.failed(at, explained(f, sql)),
                }
            }
        }
    }

    /// Writes a main-connection statement's journal row and commits. A journal that cannot be
    /// written stops the restore: a resume would run the statement again.
    async fn record(&mut self, at: Position, record: Option<String>) -> Result<()> {
        let Some(sql) = record else {
            return Ok(());
        };
        match run_own(
            self.main,
            &format!("{sql}; COMMIT"),
            "writing the restore's journal",
        )
        .await
        {
            Ok(()) => Ok(()),
            Err(mut f) => {
                f.fatal = true;
                self.failed(at, f)
            }
        }
    }

    /// A view the server refused because a table or view it reads does not exist (one the
    /// selection leaves out, most likely): a warning, and the view counts as left out.
    fn view_refused(&mut self, at: Position, name: &str, problem: &str) {
        let db = self.selection.as_ref().and_then(|s| s.current()).map(ident);
        self.progress.event(&Event::Warning(&format!(
            "{}: {at}: view {}{} was not restored: it reads a table or view that does \
             not exist here, most likely one the selection leaves out (the server \
             said: {problem}); add what it reads to --tables to restore it",
            self.file.display(),
            db.map(|d| d + ".").unwrap_or_default(),
            ident(name),
        )));
        if let Some(s) = self.selection.as_mut() {
            s.view_refused(name);
        }
        self.out.skipped += 1;
    }

    fn count(&mut self, e: Executed) {
        self.out.statements += 1;
        self.out.load_data += u64::from(e.loaded);
        self.out.rows += e.rows;
        self.out.warnings += e.warnings;
        for s in e.samples {
            if self.out.warning_samples.len() < WARNING_SAMPLES {
                self.out.warning_samples.push(s);
            }
        }
    }

    fn failed(&mut self, at: Position, f: Failure) -> Result<()> {
        let err = Error::Statement {
            file: self.file.to_owned(),
            statement: at.number,
            line: at.line,
            offset: at.offset,
            problem: f.problem,
        };
        if f.fatal || !self.opts.continue_on_error {
            return Err(err);
        }
        let text = err.to_string();
        self.progress.event(&Event::Warning(&text));
        self.out.failures.push(text);
        Ok(())
    }

    async fn dispatch(
        &mut self,
        st: Statement,
        key: TableKey,
        load: Option<LoadData>,
        ours: bool,
        journal: Option<JobJournal>,
    ) -> Result<()> {
        let kib = (st.sql.len() / 1024 + 1).min(IN_FLIGHT_KIB as usize) as u32;
        let permit = self
            .budget
            .clone()
            .acquire_many_owned(kib)
            .await
            .map_err(|_| Error::Internal("the restore's memory budget was closed".into()))?;
        let Some(lanes) = self.jobs.as_ref() else {
            return Err(Error::Internal("data statement after the end".into()));
        };
        let lane = if st.sql.len() as u64 >= super::script::QUEUE_BYTES {
            &lanes.large
        } else {
            &lanes.any
        };
        let (table, starts) = self.loads.dispatch(key.clone());
        if starts {
            self.progress.event(&Event::TableLoading {
                database: &key.db,
                table: &key.table,
            });
        }
        let epoch = self.log.read().map(|l| l.len()).unwrap_or(0);
        let job = Job {
            sql: st.sql,
            load,
            ours,
            name: format!("{}.{}", ident(&key.db), ident(&key.table)),
            at: st.at,
            epoch,
            table: Some(table),
            journal,
            _budget: permit,
        };
        if lane.send(job).await.is_err() {
            // Every data connection stopped: their answers say why.
            self.collect_done()?;
            return Err(Error::Internal(
                "every data connection stopped without saying why".into(),
            ));
        }
        Ok(())
    }

    fn settle(&mut self, d: Done) -> Result<()> {
        let Some(table) = d.table else {
            return self.keys_added(d);
        };
        let ran = d.result.as_ref().ok().map(|e| (e.rows, d.bytes));
        let (key, rows) = self.loads.settle(table, ran);
        if ran.is_some() {
            self.progress.table_restored(&key.db, &key.table, rows);
        }
        let key = key.clone();
        if self
            .keys_pending
            .get(&key)
            .is_some_and(|p| p.complete(&self.loads, &key))
        {
            self.keys_ready.push(key);
        }
        match d.result {
            Ok(e) => {
                self.count(e);
                Ok(())
            }
            Err(f) => self.failed(d.at, f),
        }
    }

    /// A stream's tables loading without their keys whose rows the dump has since finished:
    /// their count is now known, and reached already if the last of them settled before.
    fn streamed_tables_done(&mut self) {
        let Some(stream) = self.opts.stream.as_ref() else {
            return;
        };
        for (key, p) in self.keys_pending.iter_mut() {
            if p.rows.is_some() {
                continue;
            }
            let Some(n) = stream.rows(&key.db, &key.table) else {
                continue;
            };
            p.rows = Some(n);
            if p.complete(&self.loads, key) {
                self.keys_ready.push(key.clone());
            }
        }
    }

    /// Reports tables whose load is over.
    fn loaded(progress: &dyn Progress, finished: Vec<Finished<'_>>) {
        for f in finished {
            progress.event(&Event::TableLoaded {
                database: &f.key.db,
                table: &f.key.table,
                rows: f.rows,
                statements: f.statements,
                bytes: f.sql_bytes,
                elapsed: f.elapsed,
            });
        }
    }

    /// Takes in the answers that are ready, without waiting.
    fn collect_done(&mut self) -> Result<()> {
        while let Ok(d) = self.done.try_recv() {
            self.settle(d)?;
        }
        Ok(())
    }

    async fn wait_one(&mut self) -> Result<()> {
        match self.done.recv().await {
            Some(d) => self.settle(d),
            None => Err(Error::Internal(
                "the data connections stopped without answering".into(),
            )),
        }
    }

    /// Waits until every data statement sent has been answered: the tables loading are loaded.
    async fn wait_all(&mut self) -> Result<()> {
        while self.loads.in_flight() > 0 {
            self.wait_one().await?;
            self.report();
        }
        // Every table's rows are in: the keys deferred go back on, in parallel.
        self.keys_ready.clear();
        let mut pending: Vec<TableKey> = self.keys_pending.keys().cloned().collect();
        pending.sort_by(|a, b| (&a.db, &a.table).cmp(&(&b.db, &b.table)));
        for key in pending {
            self.start_keys(&key).await?;
        }
        while !self.keys_running.is_empty() {
            self.wait_one().await?;
            self.report();
        }
        Self::loaded(self.progress, self.loads.finish_all());
        Ok(())
    }

    /// Waits until no data is loading into a table that `sql` names: those tables are loaded.
    async fn wait_for_tables(&mut self, sql: &[u8]) -> Result<()> {
        while self.loads.busy_named(sql) {
            self.wait_one().await?;
        }
        // A statement about a table without its deferred keys (another table's foreign key
        // to it, an ALTER of the file's own) meets the table as the source had it.
        let named: Vec<TableKey> = self
            .keys_pending
            .keys()
            .filter(|k| mentions(sql, &k.table))
            .cloned()
            .collect();
        for key in named {
            self.start_keys(&key).await?;
        }
        while self
            .keys_running
            .values()
            .any(|(k, _)| mentions(sql, &k.table))
        {
            self.wait_one().await?;
        }
        Self::loaded(self.progress, self.loads.finish_named(sql));
        Ok(())
    }

    /// A large table's first row statement (`at`) is next: its deferred keys are dropped
    /// (the table is empty, so that is instant) unless a foreign key involves the table, and
    /// the statement adding them back is kept for when its rows are in. On resume, keys the
    /// stopped restore added back are left alone; any other table that could have had its
    /// keys dropped gets them added (`IF NOT EXISTS`: nothing happens to keys that are
    /// there), whatever the stopped restore got to and was asked for.
    async fn defer_keys(
        &mut self,
        key: &TableKey,
        deferred: keys::Deferred,
        at: Position,
    ) -> Result<()> {
        let journaled = |offset| self.journal.as_ref().is_some_and(|j| j.committed(offset));
        if journaled(at.offset + KEYS_JOURNAL_OFFSET) {
            return Ok(());
        }
        let table = qualified(&key.db, &key.table);
        let resuming = self.resuming();
        let listed = self
            .opts
            .deferred_keys
            .get(&key.db)
            .and_then(|t| t.get(&key.table))
            .copied();
        let rows = listed.flatten();
        if listed.is_some() && !journaled(at.offset) {
            let linked: Option<u64> = self
                .main
                .exec_first(
                    "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE \
                     (CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?) OR (UNIQUE_CONSTRAINT_SCHEMA = ? \
                     AND REFERENCED_TABLE_NAME = ?)",
                    (&key.db, &key.table, &key.db, &key.table),
                )
                .await
                .map_err(|e| Error::server(format!("reading the foreign keys of {table}"), e))?;
            // A table a foreign key involves never had its keys dropped.
            if linked != Some(0) {
                return Ok(());
            }
            let sql = format!("ALTER TABLE {table} {}", deferred.drop_clause());
            match execute(self.main, sql.as_bytes(), self.opts.strict).await {
                Ok(mut e) => {
                    e.rows = 0;
                    self.count(e);
                }
                // Loaded with its keys, as without this (on resume, added back as below).
                Err(_) if !resuming => return Ok(()),
                Err(_) => {}
            }
        } else if !resuming {
            return Ok(());
        }
        // `rows`: once this run has loaded that many, the table is complete. After a resume
        // part of them may have come before, the count is never reached, and the keys are
        // added where all data has settled. A stream's count comes when the dump finishes the
        // table (`streamed_tables_done`).
        self.keys_pending.insert(
            key.clone(),
            PendingKeys {
                sql: format!("ALTER TABLE {table} {}", deferred.add_clause()),
                at,
                rows,
                names: deferred
                    .names()
                    .iter()
                    .map(|n| ident(n))
                    .collect::<Vec<_>>()
                    .join(", "),
            },
        );
        Ok(())
    }

    /// This run goes on with a stopped one (`--resume`).
    fn resuming(&self) -> bool {
        self.journal.as_ref().is_some_and(|j| j.resuming())
    }

    /// Sends the statement adding `key`'s deferred keys back to a data connection, journaled
    /// (on its own: DDL commits by itself) so that a resume does not run it again.
    async fn start_keys(&mut self, key: &TableKey) -> Result<()> {
        let Some(p) = self.keys_pending.remove(key) else {
            return Ok(());
        };
        let permit = self
            .budget
            .clone()
            .acquire_many_owned(1)
            .await
            .map_err(|_| Error::Internal("the restore's memory budget was closed".into()))?;
        let journal = self.journal.as_ref().map(|j| JobJournal {
            sql: j.record_sql(
                p.at.offset + KEYS_JOURNAL_OFFSET,
                Some((&key.db, &key.table)),
                None,
                Some(Role::Changes),
                false,
            ),
            transactional: false,
        });
        let Some(lanes) = self.jobs.as_ref() else {
            return Err(Error::Internal("keys added after the end".into()));
        };
        let name = format!("{}.{}", ident(&key.db), ident(&key.table));
        self.progress.event(&Event::Note(&format!(
            "{name}: building its secondary keys {} from its rows (left out while they loaded)",
            p.names
        )));
        self.keys_running
            .insert(p.at.offset, (key.clone(), format!("{name} ({})", p.names)));
        let job = Job {
            sql: p.sql.into_bytes(),
            load: None,
            ours: false,
            name,
            at: p.at,
            epoch: self.log.read().map(|l| l.len()).unwrap_or(0),
            table: None,
            journal,
            _budget: permit,
        };
        if lanes.any.send(job).await.is_err() {
            self.collect_done()?;
            return Err(Error::Internal(
                "every data connection stopped without saying why".into(),
            ));
        }
        Ok(())
    }

    /// The answer to a statement adding deferred keys back.
    fn keys_added(&mut self, d: Done) -> Result<()> {
        let what = self
            .keys_running
            .remove(&d.at.offset)
            .map_or_else(String::new, |(_, w)| w);
        match d.result {
            Ok(e) => {
                self.count(e);
                Ok(())
            }
            Err(mut f) => {
                f.problem = format!(
                    "adding the secondary keys of {what} back after its rows (ALTER TABLE … \
                     ADD KEY; they were left out while the rows loaded): {}",
                    f.problem
                );
                // The table is loaded but lacks keys: never a warning to go on past.
                f.fatal = true;
                self.failed(d.at, f)
            }
        }
    }
}

fn is_excluded(exclude: &[String], db: &str) -> bool {
    exclude.iter().any(|e| e.eq_ignore_ascii_case(db))
}

/// A definition's failure names what it defines; for the refusals an account without the
/// server's highest privileges meets only after the data (a trial found both), it says what to
/// do: another account as DEFINER needs SET USER (or SUPER), and under the binary log a
/// function or trigger needs SUPER or `log_bin_trust_function_creators`.
fn explained(mut f: Failure, sql: &[u8]) -> Failure {
    let Some(object) = crate::read::subject::defined_object(sql) else {
        return f;
    };
    let advice = match f.code {
        Some(ER_SPECIFIC_ACCESS_DENIED) => {
            "; the file gives it a DEFINER other than the restoring account, which takes the \
             SET USER privilege (or SUPER): restore as an account that has it (GRANT SET USER \
             ON *.* TO …), or take the dump with --skip-definer"
        }
        Some(ER_BINLOG_CREATE_ROUTINE_NEED_SUPER) => {
            "; with the binary log on, an account without SUPER creates functions and triggers \
             only when the server's log_bin_trust_function_creators is 1: SET GLOBAL \
             log_bin_trust_function_creators = 1 on the target, or restore as an account that \
             has SUPER"
        }
        _ => "",
    };
    f.problem = format!("{object}: {}{advice}", f.problem);
    f
}

/// "Access denied; you need (at least one of) the … privilege(s)".
const ER_SPECIFIC_ACCESS_DENIED: u16 = 1227;
/// "You do not have the SUPER privilege and binary logging is enabled".
const ER_BINLOG_CREATE_ROUTINE_NEED_SUPER: u16 = 1419;

/// A single-database restore writes into its target only (`docs/compat.md` §1, "Changed", says
/// what is refused): a statement that names another database as the place it writes is refused
/// before it runs. Row statements of a dump cost nothing here (their table is known from
/// classification); the others are scanned from their first tokens.
fn confine(
    file: &Path,
    st: &Statement,
    kind: &Kind,
    target: &str,
    packages: &HashSet<String>,
) -> Result<()> {
    let named = match kind {
        Kind::Data { db, .. } => db.iter().cloned().collect(),
        // The file's own database statements are mapped onto the target (see `note_source`).
        Kind::Session | Kind::Lock | Kind::Use(_) | Kind::Database { .. } => Vec::new(),
        Kind::TableDdl | Kind::PostData | Kind::Other => {
            let package = |name: &str| packages.contains(&name.to_uppercase());
            crate::read::confine::written_databases(&st.sql, st.lexing, &package)
        }
    };
    let Some(other) = named.into_iter().find(|db| db != target) else {
        return Ok(());
    };
    let other = if other == "*" {
        "every database (*.*)".to_owned()
    } else if other == crate::read::confine::BODY_TOO_LONG {
        "a body too long to check (it may write anywhere)".to_owned()
    } else {
        format!("database {}", ident(&other))
    };
    Err(Error::Usage(format!(
        "{}: {} writes into {other}, not into the target {}: refused before it ran (the \
         statements before it were restored). Restore a file that writes only into its own \
         database, or pass --allow-other-databases to run such statements as written",
        file.display(),
        st.at,
        ident(target)
    )))
}

fn no_database(file: &Path, at: Position) -> Error {
    Error::Usage(format!(
        "{}: {at} uses a table but the file never says which database (a single-database \
         file): restore it with `db-restore single --target-db NAME`",
        file.display()
    ))
}
