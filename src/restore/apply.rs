//! Applying one script to a server: definitions in file order on one connection, data
//! statements spread over N connections, and what needs the data (triggers, views, routines,
//! events) only after the data before it has loaded.
//!
//! The splitter runs on its own thread and hands statements over a bounded channel. Each data
//! connection replays the file's session settings (sql_mode, names, time zone, checks, USE)
//! up to the point where its statement stood, so it runs as it would have in file order.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use mysql_async::Conn;
use mysql_async::prelude::*;
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore, mpsc};

use super::classify::{Kind, Verb, classify};
use super::load::{self, LoadData};
use super::loads::{Finished, Loads, TableKey, TableRestored};
use super::split::{Position, Splitter, Statement};
use crate::config::run::ConfirmDrop;
use crate::connect::{self, ConnectionSettings};
use crate::error::{DbError, Error, Result};
use crate::progress::{Event, Progress};
use crate::quote::ident;

/// Statements read ahead by the splitter thread: enough to keep it busy while a definition
/// waits for data to finish; few enough that memory stays a few statements.
pub const STATEMENT_QUEUE: usize = 8;

/// Data statements queued per data connection: one waiting behind each running one keeps
/// every connection busy between the coordinator's turns.
pub const JOBS_PER_CONNECTION: usize = 2;

/// KiB of data statements queued or running at once: bounds memory however large the
/// statements of a file are (a statement larger than this runs alone).
pub const IN_FLIGHT_KIB: u32 = 64 * 1024;

/// Warning texts kept for the summary; the count covers all of them.
const WARNING_SAMPLES: usize = 10;

/// The server's answer to a statement that was only comments (`/*M!999999\- … */`).
const ER_EMPTY_QUERY: u16 = 1065;

/// What the splitter thread sends.
pub enum Item {
    /// With its LOAD DATA form when it is a row statement of our own dump, and whether it is
    /// a row statement of our own dump (whose rows must all arrive unchanged, see [`Check`]).
    Statement(Statement, Kind, Option<LoadData>, bool),
    /// The end of the script, reached without error.
    End {
        completed: bool,
        sql_bytes: u64,
    },
    Failed(Error),
}

/// Starts the splitter on its own thread over `reader` (the SQL of `path`). With `rows_as_load`
/// and a file our dump wrote, row statements also get their LOAD DATA form there, off the
/// async runtime; the flag going false (the server refuses LOCAL INFILE) stops that.
/// `no_backslash_escapes`: the server's own sql_mode has it, so the script is read under it
/// until it sets a mode of its own.
pub fn start_reader(
    reader: impl Read + Send + 'static,
    path: &Path,
    rows_as_load: Arc<AtomicBool>,
    no_backslash_escapes: bool,
) -> Result<mpsc::Receiver<Item>> {
    let (tx, rx) = mpsc::channel(STATEMENT_QUEUE);
    let path = path.to_owned();
    std::thread::Builder::new()
        .name("sfdb-split".into())
        .spawn(move || {
            let (ours, reader) = match written_by_us(reader) {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.blocking_send(Item::Failed(Error::File {
                        action: "reading the SQL of",
                        path,
                        offset: Some(0),
                        source: e,
                    }));
                    return;
                }
            };
            let mut s = Splitter::new(reader).with_no_backslash_escapes(no_backslash_escapes);
            loop {
                // The mode the statement was read under: our rows' escapes are the ones of a
                // session without NO_BACKSLASH_ESCAPES, and only then mean what `load` reads.
                let escapes = !s.no_backslash_escapes();
                let item = match s.next_statement() {
                    Ok(Some(st)) => {
                        let kind = classify(&st.sql);
                        let data = ours && matches!(kind, Kind::Data { .. });
                        let load = if data && escapes && rows_as_load.load(Ordering::Relaxed) {
                            load::convert(&st.sql)
                        } else {
                            None
                        };
                        Item::Statement(st, kind, load, data)
                    }
                    Ok(None) => Item::End {
                        completed: s.ends_with_completion_marker(),
                        sql_bytes: s.sql_bytes(),
                    },
                    Err(e) => Item::Failed(Error::File {
                        action: "reading the SQL of",
                        path: path.clone(),
                        offset: Some(s.sql_bytes()),
                        source: e,
                    }),
                };
                let last = !matches!(item, Item::Statement(..));
                if tx.blocking_send(item).is_err() || last {
                    break;
                }
            }
        })
        .map_err(|e| Error::Internal(format!("cannot start the splitter thread: {e}")))?;
    Ok(rx)
}

/// Whether the script starts with our dump's header line (so its session is `SET NAMES
/// utf8mb4` without NO_BACKSLASH_ESCAPES, and its rows have the shape `load` converts), and
/// the script again, whole.
fn written_by_us(mut reader: impl Read) -> std::io::Result<(bool, impl Read)> {
    const HEADER: &[u8] = b"-- sfdbtools ";
    let mut head = Vec::with_capacity(HEADER.len());
    (&mut reader)
        .take(HEADER.len() as u64)
        .read_to_end(&mut head)?;
    Ok((head == HEADER, std::io::Cursor::new(head).chain(reader)))
}

/// Where the databases of a script go.
#[derive(Clone, Debug)]
pub enum Placement {
    /// Everything into `target`; the script's own database statements are dropped.
    Single { target: String },
    /// Each database under its own name, except `exclude`; `drop` replaces existing ones.
    All { exclude: Vec<String>, drop: bool },
}

#[derive(Clone, Debug)]
pub struct Options {
    pub threads: usize,
    /// `SET sql_log_bin = 0` on every connection: faster, but replicas do not get the data.
    pub skip_binlog: bool,
    pub strict: bool,
    pub continue_on_error: bool,
    /// Asked before `--drop-target` drops a database that exists.
    pub confirm_drop: Option<ConfirmDrop>,
}

/// What applying a script did.
#[derive(Clone, Debug, Default)]
pub struct Applied {
    /// Statements the server ran.
    pub statements: u64,
    /// Row statements of those that went as LOAD DATA.
    pub load_data: u64,
    /// Statements not sent (locks, excluded databases, the file's own database statements
    /// in a single-database restore).
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
    pub sql_bytes: u64,
    /// What each table received, in the order its data first came.
    pub tables: Vec<TableRestored>,
}

/// Outcome of one statement.
#[derive(Debug, Default)]
struct Executed {
    rows: u64,
    warnings: u64,
    samples: Vec<String>,
    /// Sent as LOAD DATA.
    loaded: bool,
}

#[derive(Debug)]
struct Failure {
    problem: String,
    /// The connection is gone or the driver failed: nothing more can run on it.
    fatal: bool,
    /// The server chose the statement as a deadlock's victim and rolled it back whole (data
    /// connections run in autocommit, a statement is its own transaction): it can run again.
    deadlock: bool,
}

/// The server's error for a deadlock victim.
const ER_LOCK_DEADLOCK: u16 = 1213;

/// Times a row statement chosen as a deadlock's victim is run again before the restore fails.
/// Two connections loading into one empty table can deadlock on MariaDB's bulk insert into
/// an empty table (seen on the bench's table without a primary key); a second try succeeds.
const DEADLOCK_RETRIES: u32 = 5;

/// What a statement's outcome must be, besides not failing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Check<'a> {
    /// Warnings are counted (with `--strict`, any one fails the statement).
    Counted,
    /// A row statement of our own dump: every row it holds is in the table, unchanged, or the
    /// statement fails. The dump read those rows from a table of the same definition, so a
    /// warning (truncation, conversion, a CHECK constraint, a duplicate key) means a row is
    /// lost or different. `sent`: the rows it carried, when known (LOAD DATA, which skips a
    /// row it cannot load and says so only in a warning). `sql`: the statement, looked at
    /// only when there are warnings: one that writes an ENUM's error value (`+0`) is stored by
    /// the server only with a truncation warning (1265), on the source as here, and that
    /// warning is expected, not a loss.
    Exact { sent: Option<u64>, sql: &'a [u8] },
}

/// Runs one statement; counts its warnings (notes aside) and, with `strict`, fails on any.
async fn execute(conn: &mut Conn, sql: &[u8], strict: bool) -> Result<Executed, Failure> {
    execute_checked(conn, sql, strict, Check::Counted).await
}

async fn execute_checked(
    conn: &mut Conn,
    sql: &[u8],
    strict: bool,
    check: Check<'_>,
) -> Result<Executed, Failure> {
    let ran = conn.query_drop(sql).await;
    settle(conn, ran, strict, check).await
}

/// The server's errors for a LOAD DATA LOCAL it does not allow (`local_infile` off): nothing
/// was loaded, and the INSERT can run instead. 1148: MySQL 5.x and MariaDB; 4166: MariaDB's
/// own; 3948: MySQL 8, where `local_infile` is off by default.
const LOCAL_INFILE_REFUSED: [u16; 3] = [1148, 3948, 4166];

/// Runs a row statement as its LOAD DATA form; `sql` (the INSERT) instead when the server
/// refuses LOCAL INFILE, which also clears `allowed` for the statements after it.
async fn execute_load(
    conn: &mut Conn,
    load: LoadData,
    sql: &[u8],
    strict: bool,
    check: Check<'_>,
    allowed: &AtomicBool,
) -> Result<Executed, Failure> {
    let sent = load.rows;
    let rows = bytes::Bytes::from(load.data);
    conn.set_infile_handler(async move {
        let data: mysql_async::InfileData =
            Box::pin(futures_util::stream::iter([Ok::<_, std::io::Error>(rows)]));
        Ok(data)
    });
    let ran = conn.query_drop(load.statement.as_str()).await;
    // A handler the server did not ask for must never answer a later request.
    conn.set_infile_handler(async {
        Err(std::io::Error::other("no LOAD DATA of this restore is running").into())
    });
    if let Err(mysql_async::Error::Server(e)) = &ran
        && LOCAL_INFILE_REFUSED.contains(&e.code)
    {
        allowed.store(false, Ordering::Relaxed);
        return execute_checked(conn, sql, strict, check).await;
    }
    let check = match check {
        Check::Exact { sql, .. } => Check::Exact {
            sent: Some(sent),
            sql,
        },
        Check::Counted => Check::Counted,
    };
    let mut done = settle(conn, ran, strict, check).await?;
    done.loaded = true;
    Ok(done)
}

/// The warning the server gives for an ENUM error value stored into `column` (its message
/// names the column, quoted).
fn is_enum_error_warning(warning: &str, column: &str) -> bool {
    warning
        .strip_prefix("Warning 1265: Data truncated for column '")
        .and_then(|rest| rest.strip_prefix(column))
        .is_some_and(|rest| rest.starts_with("' at row "))
}

/// Warnings quoted in a failure's message; the count covers all of them.
const QUOTED_WARNINGS: usize = 5;

/// Counts a statement's outcome: rows, warnings (a failure with `strict`, and any loss or
/// change of a row under [`Check::Exact`]).
async fn settle(
    conn: &mut Conn,
    ran: mysql_async::Result<()>,
    strict: bool,
    check: Check<'_>,
) -> Result<Executed, Failure> {
    if let Err(e) = ran {
        let e = DbError(e);
        if e.server_code() == Some(ER_EMPTY_QUERY) {
            return Ok(Executed::default());
        }
        return Err(Failure {
            deadlock: e.server_code() == Some(ER_LOCK_DEADLOCK),
            fatal: e.server_code().is_none() || e.is_connection_lost(),
            problem: if e.is_connection_lost() {
                format!("{e} (the connection was lost)")
            } else {
                e.to_string()
            },
        });
    }
    let rows = conn.affected_rows();
    let lost = matches!(check, Check::Exact { sent: Some(n), .. } if n != rows);
    // The fast path: one look at the OK packet's counters.
    if conn.get_warnings() == 0 && !lost {
        return Ok(Executed {
            rows,
            ..Default::default()
        });
    }
    let shown: Vec<(Vec<u8>, u32, Vec<u8>)> = if conn.get_warnings() == 0 {
        Vec::new()
    } else {
        conn.query("SHOW WARNINGS").await.map_err(|e| Failure {
            problem: format!("reading the warnings: {}", DbError(e)),
            fatal: true,
            deadlock: false,
        })?
    };
    let mut samples: Vec<String> = shown
        .iter()
        .filter(|(level, ..)| level.as_slice() != b"Note")
        .map(|(level, code, msg)| {
            format!(
                "{} {code}: {}",
                String::from_utf8_lossy(level),
                String::from_utf8_lossy(msg)
            )
        })
        .collect();
    // An ENUM error value of our dump comes back exactly, with the warning the source took it
    // with: not a warning about this restore. Only when every warning was shown (SHOW WARNINGS
    // stops at max_error_count), so that none of another kind can hide behind them.
    if let Check::Exact { sql, .. } = check
        && !samples.is_empty()
        && shown.len() >= usize::from(conn.get_warnings())
    {
        let enum_error = load::enum_error_columns(sql);
        samples.retain(|w| !enum_error.iter().any(|c| is_enum_error_warning(w, c)));
    }
    if let Check::Exact { sent, .. } = check
        && (lost || !samples.is_empty())
    {
        let what = match sent {
            Some(n) if n != rows => format!(
                "{rows} of its {n} rows loaded (LOAD DATA LOCAL skips a row it cannot load \
                 with only a warning)"
            ),
            Some(n) => format!("all {n} rows loaded, but not as the file holds them"),
            None => "its rows did not go in as the file holds them".to_owned(),
        };
        let mut quoted: Vec<&str> = samples
            .iter()
            .take(QUOTED_WARNINGS)
            .map(String::as_str)
            .collect();
        let more = format!("and {} more", samples.len().saturating_sub(QUOTED_WARNINGS));
        if samples.len() > QUOTED_WARNINGS {
            quoted.push(&more);
        }
        return Err(Failure {
            problem: if quoted.is_empty() {
                format!("{what}; the server gave no warning")
            } else {
                format!("{what}; the server's warnings: {}", quoted.join("; "))
            },
            fatal: false,
            deadlock: false,
        });
    }
    if strict && !samples.is_empty() {
        return Err(Failure {
            problem: format!(
                "{} warning(s), refused with --strict: {}",
                samples.len(),
                samples.join("; ")
            ),
            fatal: false,
            deadlock: false,
        });
    }
    Ok(Executed {
        rows,
        warnings: samples.len() as u64,
        samples,
        ..Default::default()
    })
}

/// Rows of a failed statement whose problem is named, at most.
const PROBED_ROWS: usize = 3;

/// Name of the temporary table [`probe_rows`] tries rows in.
const PROBE_TABLE: &str = "`sfdbtools_probe`";

/// After a row statement of our dump failed or lost rows: which of its rows the server will
/// not take as they are, found by inserting them one at a time into an empty temporary copy
/// of the table (same columns and CHECK constraints; the target does not change), so the
/// message can name the row and the server's own error for it. Only ever on the failure
/// path. None when the statement is not in our shape or the copy cannot be made (a
/// partitioned table, no CREATE TEMPORARY TABLES privilege): the failure is reported without
/// the row then.
async fn probe_rows(conn: &mut Conn, sql: &[u8]) -> Option<String> {
    let head = load::insert_head(sql)?;
    let probe = match head.schema {
        Some(schema) => format!("{schema}.{PROBE_TABLE}"),
        None => PROBE_TABLE.to_owned(),
    };
    conn.query_drop(format!(
        "CREATE TEMPORARY TABLE {probe} LIKE {}",
        head.target
    ))
    .await
    .ok()?;
    let mut tuples: Vec<Vec<u8>> = Vec::new();
    super::classify::for_each_tuple(sql, head.values_at, |t| tuples.push(t.to_vec()));
    let mut found = Vec::new();
    for (i, tuple) in tuples.iter().enumerate() {
        let mut insert = format!("INSERT INTO {probe} {} VALUES ", head.columns).into_bytes();
        insert.extend_from_slice(tuple);
        let problem = match conn.query_drop(insert).await {
            Err(mysql_async::Error::Server(e)) => Some(format!("ERROR {}: {}", e.code, e.message)),
            Err(_) => break,
            Ok(()) if conn.get_warnings() > 0 => {
                let shown: Vec<(String, u32, String)> =
                    conn.query("SHOW WARNINGS").await.unwrap_or_default();
                let texts: Vec<String> = shown
                    .into_iter()
                    .filter(|(level, ..)| level != "Note")
                    .map(|(level, code, msg)| format!("{level} {code}: {msg}"))
                    .collect();
                (!texts.is_empty()).then(|| texts.join("; "))
            }
            Ok(()) => None,
        };
        if let Some(p) = problem {
            found.push(format!(
                "row {} of the statement {}: {p}",
                i + 1,
                clip(tuple)
            ));
            if found.len() >= PROBED_ROWS {
                break;
            }
        }
    }
    let _ = conn
        .query_drop(format!("DROP TEMPORARY TABLE IF EXISTS {probe}"))
        .await;
    if found.is_empty() {
        // Each row loads on its own: the trouble is between rows (a key another statement's
        // row holds too).
        return None;
    }
    Some(found.join("; "))
}

/// A row's text for a message: its start, when it is long.
fn clip(tuple: &[u8]) -> String {
    const SHOWN: usize = 120;
    let text = String::from_utf8_lossy(&tuple[..tuple.len().min(SHOWN)]);
    if tuple.len() > SHOWN {
        format!("{text}…")
    } else {
        text.into_owned()
    }
}

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
    /// The table's handle in the applier's `Loads`.
    table: usize,
    _budget: OwnedSemaphorePermit,
}

struct Done {
    table: usize,
    at: Position,
    bytes: u64,
    result: Result<Executed, Failure>,
}

async fn worker(
    mut conn: Conn,
    jobs: Arc<Mutex<mpsc::Receiver<Job>>>,
    log: Arc<SessionLog>,
    done: mpsc::UnboundedSender<Done>,
    strict: bool,
    load_allowed: Arc<AtomicBool>,
) -> Conn {
    let mut applied = 0usize;
    loop {
        let job = { jobs.lock().await.recv().await };
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
                            deadlock: false,
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
                    let ran = match load.take() {
                        Some(l) if load_allowed.load(Ordering::Relaxed) => {
                            execute_load(&mut conn, l, &job.sql, strict, check, &load_allowed).await
                        }
                        _ => execute_checked(&mut conn, &job.sql, strict, check).await,
                    };
                    match &ran {
                        Err(f) if f.deadlock && attempt < DEADLOCK_RETRIES => {
                            attempt += 1;
                            tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
                            if as_load {
                                load = load::convert(&job.sql);
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

/// Applies one script. `main` runs everything but the data, in file order.
pub struct Applier<'a> {
    file: &'a Path,
    main: &'a mut Conn,
    placement: Placement,
    opts: Options,
    progress: &'a dyn Progress,
    file_read: Arc<AtomicU64>,

    log: Arc<SessionLog>,
    jobs: Option<mpsc::Sender<Job>>,
    done: mpsc::UnboundedReceiver<Done>,
    workers: Vec<tokio::task::JoinHandle<Conn>>,
    budget: Arc<Semaphore>,
    /// The tables data goes into, and the data statements in flight.
    loads: Loads,

    current_db: Option<String>,
    /// Inside a database excluded with --exclude-db.
    skipping: bool,
    prepared: HashSet<String>,
    out: Applied,
}

impl<'a> Applier<'a> {
    /// Opens the data connections. For a single-database placement, every connection starts
    /// in the target database.
    #[allow(clippy::too_many_arguments)]
    pub async fn start(
        file: &'a Path,
        main: &'a mut Conn,
        settings: &ConnectionSettings,
        placement: Placement,
        opts: Options,
        progress: &'a dyn Progress,
        file_read: Arc<AtomicU64>,
        rows_as_load: Arc<AtomicBool>,
    ) -> Result<Applier<'a>> {
        let threads = opts.threads.max(1);
        let mut conns = Vec::with_capacity(threads);
        for i in 0..threads {
            let (c, _) =
                connect::open_with(settings, &format!("data {i}"), connect::restore_setup_sql)
                    .await?;
            conns.push(c);
        }
        let (jobs_tx, jobs_rx) = mpsc::channel(JOBS_PER_CONNECTION * threads);
        let jobs_rx = Arc::new(Mutex::new(jobs_rx));
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let log: Arc<SessionLog> = Arc::new(RwLock::new(Vec::new()));
        let workers = conns
            .into_iter()
            .map(|c| {
                tokio::spawn(worker(
                    c,
                    jobs_rx.clone(),
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
            jobs: Some(jobs_tx),
            done: done_rx,
            workers,
            budget: Arc::new(Semaphore::new(IN_FLIGHT_KIB as usize)),
            loads: Loads::default(),
            current_db: None,
            skipping: false,
            prepared: HashSet::new(),
            out: Applied::default(),
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

    /// Applies every statement `rx` delivers, then waits for the data connections to finish.
    /// The data connections are closed on every path out.
    pub async fn run(mut self, mut rx: mpsc::Receiver<Item>) -> (Applied, Result<()>) {
        let result = self.apply_all(&mut rx).await;
        // Stop reading and let the data connections finish what they hold.
        drop(rx);
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
            self.loads.settle(d.table, ran);
            if let Ok(e) = d.result {
                self.count(e);
            }
        }
        for c in conns {
            let _ = c.disconnect().await;
        }
        self.out.tables = self.loads.summary();
        (self.out, result)
    }

    async fn apply_all(&mut self, rx: &mut mpsc::Receiver<Item>) -> Result<()> {
        loop {
            let Some(item) = rx.recv().await else {
                return Err(Error::Internal(format!(
                    "the splitter of {} stopped without reporting",
                    self.file.display()
                )));
            };
            match item {
                Item::Failed(e) => return Err(e),
                Item::End {
                    completed,
                    sql_bytes,
                } => {
                    self.out.completed_marker = completed;
                    self.out.sql_bytes = sql_bytes;
                    break;
                }
                Item::Statement(st, kind, load, ours) => self.apply(st, kind, load, ours).await?,
            }
            self.collect_done()?;
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
                    self.skipping = is_excluded(&exclude, &name.name);
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
                        // mysqldump changes the database's charset around routines.
                        let sql = name.replace_in(&st.sql, &target);
                        self.wait_all().await?;
                        self.run_main(st.at, &sql).await?;
                    } else {
                        self.out.skipped += 1;
                    }
                }
                Placement::All { exclude, drop } => {
                    if is_excluded(&exclude, &name.name) {
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
                    self.run_main(st.at, &st.sql).await?;
                }
            },
            _ if self.skipping => self.out.skipped += 1,
            Kind::Data { db, table, .. } => {
                let Some(db) = db.or_else(|| self.current_db.clone()) else {
                    return Err(no_database(self.file, st.at));
                };
                self.dispatch(st, TableKey { db, table }, load, ours)
                    .await?;
            }
            Kind::TableDdl => {
                if self.current_db.is_none() {
                    return Err(no_database(self.file, st.at));
                }
                self.wait_for_tables(&st.sql).await?;
                self.run_main(st.at, &st.sql).await?;
            }
            Kind::PostData => {
                self.wait_all().await?;
                self.run_main(st.at, &st.sql).await?;
            }
            Kind::Other => {
                self.wait_all().await?;
                self.run_main_counting(st.at, &st.sql, true).await?;
            }
        }
        Ok(())
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
        let fresh = prepare_target(
            self.main,
            name,
            drop,
            create,
            self.opts.confirm_drop.as_ref(),
            self.progress,
        )
        .await?;
        self.out.databases.push(name.to_owned());
        if fresh {
            self.out.created.push(name.to_owned());
        }
        Ok(())
    }

    async fn run_main(&mut self, at: Position, sql: &[u8]) -> Result<()> {
        self.run_main_counting(at, sql, false).await
    }

    /// Runs a statement on the main connection; its affected rows count as rows restored only
    /// when it is a data statement of another shape (`INSERT … SELECT`): a definition's
    /// affected rows (`ALTER DATABASE` says 1) are not rows.
    async fn run_main_counting(&mut self, at: Position, sql: &[u8], data: bool) -> Result<()> {
        match execute(self.main, sql, self.opts.strict).await {
            Ok(mut e) => {
                if !data {
                    e.rows = 0;
                }
                self.count(e);
                Ok(())
            }
            Err(f) => self.failed(at, f),
        }
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
    ) -> Result<()> {
        let kib = (st.sql.len() / 1024 + 1).min(IN_FLIGHT_KIB as usize) as u32;
        let permit = self
            .budget
            .clone()
            .acquire_many_owned(kib)
            .await
            .map_err(|_| Error::Internal("the restore's memory budget was closed".into()))?;
        let Some(jobs) = self.jobs.as_ref() else {
            return Err(Error::Internal("data statement after the end".into()));
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
            table,
            _budget: permit,
        };
        if jobs.send(job).await.is_err() {
            // Every data connection stopped: their answers say why.
            self.collect_done()?;
            return Err(Error::Internal(
                "every data connection stopped without saying why".into(),
            ));
        }
        Ok(())
    }

    fn settle(&mut self, d: Done) -> Result<()> {
        let ran = d.result.as_ref().ok().map(|e| (e.rows, d.bytes));
        let (key, rows) = self.loads.settle(d.table, ran);
        if ran.is_some() {
            self.progress.table_restored(&key.db, &key.table, rows);
        }
        match d.result {
            Ok(e) => {
                self.count(e);
                Ok(())
            }
            Err(f) => self.failed(d.at, f),
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
        Self::loaded(self.progress, self.loads.finish_all());
        Ok(())
    }

    /// Waits until no data is loading into a table that `sql` names: those tables are loaded.
    async fn wait_for_tables(&mut self, sql: &[u8]) -> Result<()> {
        while self.loads.busy_named(sql) {
            self.wait_one().await?;
        }
        Self::loaded(self.progress, self.loads.finish_named(sql));
        Ok(())
    }
}

fn is_excluded(exclude: &[String], db: &str) -> bool {
    exclude.iter().any(|e| e.eq_ignore_ascii_case(db))
}

fn no_database(file: &Path, at: Position) -> Error {
    Error::Usage(format!(
        "{}: {at} uses a table but the file never says which database (a single-database \
         file): restore it with `db-restore single --target-db NAME`",
        file.display()
    ))
}

/// How many tables, views and routines a database holds; None when it does not exist.
pub async fn database_objects(conn: &mut Conn, db: &str) -> Result<Option<u64>> {
    let exists: Option<String> = conn
        .exec_first(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
            (db,),
        )
        .await
        .map_err(|e| Error::server(format!("looking for database {}", ident(db)), e))?;
    if exists.is_none() {
        return Ok(None);
    }
    let n: Option<u64> = conn
        .exec_first(
            "SELECT (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?) \
             + (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?)",
            (db, db),
        )
        .await
        .map_err(|e| Error::server(format!("counting the objects of {}", ident(db)), e))?;
    Ok(Some(n.unwrap_or(0)))
}

/// Makes `db` ready to restore into: dropped first with `drop` (after `confirm` says yes, and
/// reported); refused when it already holds objects otherwise; created when missing and
/// `create`. True when this restore creates it (it did not exist, or was just dropped).
pub async fn prepare_target(
    conn: &mut Conn,
    db: &str,
    drop: bool,
    create: bool,
    confirm: Option<&ConfirmDrop>,
    progress: &dyn Progress,
) -> Result<bool> {
    let q = ident(db);
    // The server's own databases are never a restore's target: dropping `mysql` for
    // --drop-target loses every account, and a user database loaded into one mixes with the
    // server's tables (a new user's trial did both).
    if crate::catalog::is_system_database(db) {
        return Err(Error::Usage(format!(
            "{q} is a system database: db-restore never drops, creates or writes into one. \
             Restore into another name (--target-db), or leave it out of a combined file \
             (--exclude-db {db}); accounts go through the grants file"
        )));
    }
    let objects = database_objects(conn, db).await?;
    match objects {
        Some(n) if drop => {
            if let Some(confirm) = confirm
                && !confirm.ask(db, n).await?
            {
                return Err(Error::Usage(format!(
                    "database {q} was not dropped (the answer was no) and nothing was restored \
                     into it: restore into another name (--target-db), or answer yes"
                )));
            }
            conn.query_drop(format!("DROP DATABASE IF EXISTS {q}"))
                .await
                .map_err(|e| Error::server(format!("dropping database {q} (--drop-target)"), e))?;
            progress.event(&Event::DatabaseDropped {
                database: db,
                objects: n,
            });
        }
        Some(n) if n > 0 => {
            return Err(Error::Usage(format!(
                "database {q} already holds {n} table(s) or routine(s): restore into a new \
                 name, or pass --drop-target to replace it"
            )));
        }
        _ => {}
    }
    if create {
        conn.query_drop(format!("CREATE DATABASE IF NOT EXISTS {q}"))
            .await
            .map_err(|e| Error::server(format!("creating database {q}"), e))?;
    }
    Ok(objects.is_none() || drop)
}

/// What a script holds, without running it (`--dry-run`).
#[derive(Clone, Debug, Default)]
pub struct Survey {
    pub statements: u64,
    /// Per database named in the script (None: the single database of the file): tables
    /// created, data statements, objects created after the data.
    pub databases: Vec<(Option<String>, u64, u64, u64)>,
    pub completed_marker: bool,
    pub sql_bytes: u64,
}

/// Reads a whole script and counts what it would do.
pub async fn survey(mut rx: mpsc::Receiver<Item>, file: &Path) -> Result<Survey> {
    let mut s = Survey::default();
    let mut current: Option<String> = None;
    let mut index: HashMap<Option<String>, usize> = HashMap::new();
    loop {
        match rx.recv().await {
            None => {
                return Err(Error::Internal(format!(
                    "the splitter of {} stopped without reporting",
                    file.display()
                )));
            }
            Some(Item::Failed(e)) => return Err(e),
            Some(Item::End {
                completed,
                sql_bytes,
            }) => {
                s.completed_marker = completed;
                s.sql_bytes = sql_bytes;
                return Ok(s);
            }
            Some(Item::Statement(st, kind, ..)) => {
                s.statements += 1;
                let (tables, data, post) = match &kind {
                    Kind::Use(n)
                    | Kind::Database {
                        verb: Verb::Create,
                        name: n,
                    } => {
                        current = Some(n.name.clone());
                        (0, 0, 0)
                    }
                    Kind::TableDdl
                        if head_has(&st.sql, b"CREATE") && head_has(&st.sql, b"TABLE") =>
                    {
                        (1, 0, 0)
                    }
                    Kind::Data { .. } => (0, 1, 0),
                    Kind::PostData if head_has(&st.sql, b"CREATE") => (0, 0, 1),
                    _ => (0, 0, 0),
                };
                if tables + data + post == 0
                    && !matches!(kind, Kind::Use(_) | Kind::Database { .. })
                {
                    continue;
                }
                let i = *index.entry(current.clone()).or_insert_with(|| {
                    s.databases.push((current.clone(), 0, 0, 0));
                    s.databases.len() - 1
                });
                let e = &mut s.databases[i];
                e.1 += tables;
                e.2 += data;
                e.3 += post;
            }
        }
    }
}

/// True when `word` occurs among the first bytes of `sql` (any case): tells `CREATE` from
/// `DROP` for counting, past a versioned comment's marker.
fn head_has(sql: &[u8], word: &[u8]) -> bool {
    let head: Vec<u8> = sql
        .iter()
        .take(32)
        .map(|b| b.to_ascii_uppercase())
        .collect();
    head.windows(word.len()).any(|w| w == word)
}
