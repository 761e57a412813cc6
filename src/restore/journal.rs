//! The restore's journal: what a restore has committed, kept on the target server itself, so
//! that a restore that died (SIGKILL, a lost connection, a server restart, a failed statement)
//! can go on where it stopped (`db-restore … --resume`) without applying a statement twice and
//! without leaving one out.
//!
//! It lives in the database [`DATABASE`] of the target, in three InnoDB tables: `restores`
//! (one row per restore: the files' SHA-256, what it was asked to do, its state), `done` (one
//! row per statement committed: its offset in the file's SQL, the table it is about, its
//! role) and `targets` (the databases the restore made ready). It is on the server and not in
//! a file beside the dump because only there can a statement and its journal row commit
//! together: each data statement runs as `START TRANSACTION`, the statement, the `done` row,
//! `COMMIT`, so a kill at any moment leaves both or neither. Statements on the main
//! connection (definitions, which commit on their own) are journaled right after they
//! succeed; of those at most one is in doubt after a kill, the first after the last one
//! journaled, and "already exists" from it on resume means it had run.
//!
//! Rows of a non-transactional table (MyISAM, Aria, MEMORY…) cannot commit with their journal
//! row: such a table that the stopped restore had written is reloaded whole on resume (its
//! rows in the journal are marked `redo`, the table dropped, and its definition, rows and
//! triggers run again).
//!
//! Each connection of a restore holds a named lock (`GET_LOCK`) for its whole life: a resume
//! waits until the stopped restore's connections have left the server (a statement it sent
//! may still be running, or committing), and a second resume of the same restore is refused.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use mysql_async::Conn;
use mysql_async::prelude::*;
use sha2::{Digest, Sha256};

use crate::config::run::{RestoreConfig, RestoreMode};
use crate::error::{Error, Result};
use crate::progress::{Event, Progress};
use crate::quote::{ident, qualified};
use crate::read::subject::Role;

use super::plan::{Placement, Plan};

/// The journal's database on the target server.
pub const DATABASE: &str = crate::catalog::JOURNAL_DATABASE;

/// The named lock held while the journal's database is created, or emptied and dropped, so
/// that two restores starting and ending at once do not drop it under each other.
const REGISTRY_LOCK: &str = "sfdbtools_journal";

/// How long a resume waits for the connections of the stopped restore to leave the server
/// (a statement they sent runs, or commits, to its end first), and a restore for the
/// registry lock.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// Server errors that mean the object a statement creates is there already: from the
/// statement in doubt (it ran, its journal row did not commit), the proof that it ran. 1007
/// database, 1050 table or view, 1060 column, 1061 index, 1304 routine, 1359 trigger, 1537
/// event, 1826 foreign key (MySQL).
pub(super) const ALREADY_EXISTS: [u16; 8] = [1007, 1050, 1060, 1061, 1304, 1359, 1537, 1826];

/// Engines whose rows commit or roll back with a transaction: a data statement and its
/// journal row commit together only in these.
const TRANSACTIONAL_ENGINES: [&str; 3] = ["InnoDB", "ROCKSDB", "TokuDB"];

/// Whether rows of a table of this engine commit with the transaction they are written in.
pub(super) fn is_transactional(engine: &str) -> bool {
    TRANSACTIONAL_ENGINES
        .iter()
        .any(|e| e.eq_ignore_ascii_case(engine))
}

const SCHEMA: [&str; 3] = [
    "CREATE TABLE IF NOT EXISTS `sfdbtools_journal`.`restores` (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  files BLOB NOT NULL COMMENT 'one line per file: its SHA-256, its path as given',
  options BLOB NOT NULL COMMENT 'what the restore was asked to do, one line each',
  connections INT UNSIGNED NOT NULL COMMENT 'the most data connections a run of it opened',
  state VARBINARY(16) NOT NULL COMMENT 'running, resuming, failed',
  started DATETIME NOT NULL COMMENT 'UTC',
  updated DATETIME NOT NULL COMMENT 'UTC',
  tool VARBINARY(64) NOT NULL
) ENGINE=InnoDB COMMENT='sfdbtools db-restore: restores that can be resumed (--resume)'",
    "CREATE TABLE IF NOT EXISTS `sfdbtools_journal`.`done` (
  restore_id BIGINT UNSIGNED NOT NULL,
  file_no SMALLINT UNSIGNED NOT NULL,
  sql_offset BIGINT UNSIGNED NOT NULL COMMENT 'the statement''s first byte in the SQL',
  db VARBINARY(256) NULL,
  tbl VARBINARY(256) NULL,
  role VARBINARY(16) NOT NULL,
  main TINYINT NOT NULL COMMENT '1: ran on the main connection',
  redo TINYINT NOT NULL DEFAULT 0 COMMENT '1: to run again (its table is reloaded)',
  PRIMARY KEY (restore_id, file_no, sql_offset)
) ENGINE=InnoDB COMMENT='sfdbtools db-restore: statements committed'",
    "CREATE TABLE IF NOT EXISTS `sfdbtools_journal`.`targets` (
  restore_id BIGINT UNSIGNED NOT NULL,
  name VARBINARY(256) NOT NULL,
  created TINYINT NOT NULL COMMENT '1: the restore created it',
  PRIMARY KEY (restore_id, name)
) ENGINE=InnoDB COMMENT='sfdbtools db-restore: databases a restore made ready'",
];

/// The journal's own tables; another table in its database keeps it from being dropped.
const TABLES: [&str; 3] = ["restores", "done", "targets"];

/// `X'…'`: bytes as a literal whatever the session's character set and sql_mode
/// (NO_BACKSLASH_ESCAPES, ANSI_QUOTES) the dump set on the connection.
fn hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "''".into();
    }
    format!("X'{}'", hex::encode(bytes))
}

fn role_name(role: Option<Role>) -> &'static str {
    match role {
        Some(Role::Creates) => "creates",
        Some(Role::CreatesView) => "creates_view",
        Some(Role::Rows) => "rows",
        Some(Role::Drops) => "drops",
        Some(Role::Changes) => "changes",
        Some(Role::Trigger) => "trigger",
        None => "none",
    }
}

fn role_of(name: &[u8]) -> Option<Role> {
    match name {
        b"creates" => Some(Role::Creates),
        b"creates_view" => Some(Role::CreatesView),
        b"rows" => Some(Role::Rows),
        b"drops" => Some(Role::Drops),
        b"changes" => Some(Role::Changes),
        b"trigger" => Some(Role::Trigger),
        _ => None,
    }
}

/// Which file a restore reads, as the journal knows it: its SHA-256 and its path as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub sha256: String,
    pub path: String,
}

fn files_text(files: &[Identity]) -> String {
    files
        .iter()
        .map(|f| format!("{}  {}", f.sha256, f.path))
        .collect::<Vec<_>>()
        .join("\n")
}

fn parse_files(text: &str) -> Vec<Identity> {
    text.lines()
        .map(|l| match l.split_once("  ") {
            Some((sha, path)) => Identity {
                sha256: sha.to_owned(),
                path: path.to_owned(),
            },
            None => Identity {
                sha256: l.to_owned(),
                path: String::new(),
            },
        })
        .collect()
}

/// What a restore was asked to do, one line each: what must be the same for a run to resume
/// it. The mode, where each file goes, the table selection. Not the connections, checks or
/// reporting (`-j`, `--strict`, `--continue-on-error`…), which a resume may change, nor
/// `--drop-target` (a resume never drops what the stopped restore wrote).
pub fn describe(cfg: &RestoreConfig, plan: &Plan) -> Vec<String> {
    let mut lines = vec![format!(
        "mode {}",
        match &cfg.mode {
            RestoreMode::Single { .. } => "single",
            RestoreMode::All { .. } => "all",
            RestoreMode::Primary { .. } => "primary",
        }
    )];
    for (i, f) in plan.files.iter().enumerate() {
        lines.push(match &f.placement {
            Placement::Single { target } => format!("file {} into {}", i + 1, ident(target)),
            Placement::All { exclude, .. } if exclude.is_empty() => {
                format!("file {} into its own databases", i + 1)
            }
            Placement::All { exclude, .. } => {
                let mut ex: Vec<String> = exclude.iter().map(|e| e.to_lowercase()).collect();
                ex.sort();
                ex.dedup();
                format!(
                    "file {} into its own databases but --exclude-db {}",
                    i + 1,
                    ex.join(",")
                )
            }
        });
    }
    let patterns = |flag: &str, list: &[crate::pattern::TablePattern]| {
        let mut texts: Vec<&str> = list.iter().map(|p| p.text()).collect();
        texts.sort_unstable();
        texts.dedup();
        (!texts.is_empty()).then(|| format!("{flag} {}", texts.join(",")))
    };
    lines.extend(patterns("--tables", &cfg.tables.tables));
    lines.extend(patterns("--ignore-table", &cfg.tables.ignore));
    lines.extend(patterns("--ignore-table-data", &cfg.tables.ignore_data));
    lines
}

/// What differs between the options of a journaled restore and this one, for the refusal.
fn options_differ(theirs: &[String], ours: &[String]) -> String {
    let only = |a: &[String], b: &[String]| -> Vec<String> {
        a.iter().filter(|l| !b.contains(l)).cloned().collect()
    };
    let (was, now) = (only(theirs, ours), only(ours, theirs));
    let show = |v: Vec<String>| {
        if v.is_empty() {
            "(nothing)".to_owned()
        } else {
            v.join("; ")
        }
    };
    format!("it was asked for {}, this run for {}", show(was), show(now))
}

/// The SHA-256 of a file's bytes (as stored: compressed, encrypted), read once before the
/// restore: a file's identity in the journal when its metadata records none. Blocking.
pub(super) fn hash_file(path: &std::path::Path) -> Result<String> {
    use std::io::Read;
    let mut f =
        crate::read::source::open(path).map_err(|e| Error::file("opening", path.to_owned(), e))?;
    let mut d = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::File {
            action: "hashing",
            path: path.to_owned(),
            offset: Some(at),
            source: e,
        })?;
        if n == 0 {
            break;
        }
        at += n as u64;
        d.update(&buf[..n]);
    }
    Ok(hex::encode(d.finalize()))
}

/// One journal row as read back.
#[derive(Clone, Debug)]
struct Row {
    file_no: u16,
    offset: u64,
    table: Option<(String, String)>,
    role: Option<Role>,
    main: bool,
    redo: bool,
}

/// What the journal says of one table over the restore.
#[derive(Debug)]
struct TableSummary {
    key: (String, String),
    /// The role of its last row in file order.
    last: Option<Role>,
    last_at: (u16, u64),
    /// Its definition (`CREATE TABLE`) was journaled.
    created: bool,
    /// A statement that writes its rows or its definition was journaled.
    written: bool,
    /// An earlier resume began to reload it.
    redo: bool,
}

/// The journal's rows folded: per file the offsets committed (with their table), and the last
/// main-connection statement; per table its summary.
#[derive(Debug, Default)]
struct Fold {
    tables: Vec<TableSummary>,
    index: HashMap<(String, String), usize>,
    files: BTreeMap<u16, FileFold>,
}

#[derive(Debug, Default)]
struct FileFold {
    done: HashMap<u64, Option<usize>>,
    last_main: Option<u64>,
}

impl Fold {
    fn add(&mut self, r: Row) {
        let table = r.table.map(|key| match self.index.get(&key) {
            Some(&i) => i,
            None => {
                self.tables.push(TableSummary {
                    key: key.clone(),
                    last: None,
                    last_at: (0, 0),
                    created: false,
                    written: false,
                    redo: false,
                });
                self.index.insert(key, self.tables.len() - 1);
                self.tables.len() - 1
            }
        });
        if let Some(i) = table {
            let t = &mut self.tables[i];
            if (r.file_no, r.offset) >= t.last_at {
                t.last_at = (r.file_no, r.offset);
                t.last = r.role;
            }
            t.created |= r.role == Some(Role::Creates);
            t.written |= matches!(
                r.role,
                Some(Role::Creates | Role::Rows | Role::Changes | Role::Trigger)
            );
            t.redo |= r.redo;
        }
        let f = self.files.entry(r.file_no).or_default();
        // A statement to run again still tells where the main connection had got to.
        if r.main && f.last_main.is_none_or(|m| r.offset > m) {
            f.last_main = Some(r.offset);
        }
        if !r.redo {
            f.done.insert(r.offset, table);
        }
    }
}

/// A table as the target holds it now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Present {
    Table { transactional: bool },
    View,
}

/// What a resume does, decided from the journal and the target's tables.
#[derive(Debug)]
struct Decided {
    files: BTreeMap<u16, Resume>,
    /// Tables to reload whole (db, table).
    reload: Vec<(String, String)>,
}

/// Looks a table up as the target holds it: exactly, else ignoring case (a server with
/// `lower_case_table_names` keeps names in lower case).
fn find_present(
    present: &HashMap<(String, String), Present>,
    key: &(String, String),
) -> Option<Present> {
    present.get(key).copied().or_else(|| {
        present
            .iter()
            .find(|((d, t), _)| d.eq_ignore_ascii_case(&key.0) && t.eq_ignore_ascii_case(&key.1))
            .map(|(_, p)| *p)
    })
}

fn decide(
    fold: Fold,
    present: &HashMap<(String, String), Present>,
) -> std::result::Result<Decided, String> {
    let mut reload = Vec::new();
    let mut reloaded = HashSet::new();
    let mut missing = Vec::new();
    for (i, t) in fold.tables.iter().enumerate() {
        let now = find_present(present, &t.key);
        let partial = matches!(
            now,
            Some(Present::Table {
                transactional: false
            })
        ) && t.written;
        if t.redo || partial {
            if !t.created {
                return Err(format!(
                    "table {} is not transactional and was written by the stopped restore, \
                     but its definition is not in the journal (the file does not create it): \
                     it cannot be reloaded",
                    qualified(&t.key.0, &t.key.1)
                ));
            }
            reload.push(t.key.clone());
            reloaded.insert(i);
            continue;
        }
        let expected = matches!(
            t.last,
            Some(Role::Creates | Role::CreatesView | Role::Rows | Role::Changes | Role::Trigger)
        );
        if expected && now.is_none() {
            missing.push(qualified(&t.key.0, &t.key.1));
        }
    }
    if !missing.is_empty() {
        return Err(format!(
            "{} {} restored by the stopped restore but {} no longer on the target (dropped \
             since the restore stopped)",
            if missing.len() == 1 {
                "table"
            } else {
                "tables"
            },
            missing.join(", "),
            if missing.len() == 1 { "is" } else { "are" }
        ));
    }
    let files = fold
        .files
        .into_iter()
        .map(|(no, f)| {
            let done = f
                .done
                .into_iter()
                .filter(|(_, t)| !t.is_some_and(|i| reloaded.contains(&i)))
                .map(|(o, _)| o)
                .collect();
            (
                no,
                Resume {
                    done,
                    last_main: f.last_main,
                    in_doubt_met: false,
                },
            )
        })
        .collect();
    Ok(Decided { files, reload })
}

/// What the stopped restore committed of one file, as its resume reads the file again.
#[derive(Debug, Default, Clone)]
pub(super) struct Resume {
    done: HashSet<u64>,
    /// The offset of the last statement journaled from the main connection.
    last_main: Option<u64>,
    /// The statement in doubt was met.
    in_doubt_met: bool,
}

impl Resume {
    /// The statement at `offset` was committed by the stopped restore: read past it.
    pub(super) fn committed(&self, offset: u64) -> bool {
        self.done.contains(&offset)
    }

    /// Called for each main-connection statement about to run, in file order: true for the
    /// one in doubt, the first after the last one journaled (it may have run, its journal row
    /// not committed).
    pub(super) fn in_doubt(&mut self, offset: u64) -> bool {
        if self.in_doubt_met || self.last_main.is_some_and(|m| offset <= m) {
            return false;
        }
        self.in_doubt_met = true;
        true
    }
}

/// A restore's journal, for its whole run.
#[derive(Debug)]
pub struct Journal {
    pub id: u64,
    /// Per file of the plan, what the stopped restore committed of it (resume only).
    resumes: BTreeMap<u16, Resume>,
    /// The databases the stopped restore had made ready, and whether it created each.
    databases: HashMap<String, bool>,
    /// Resumed: the tables reloaded whole (db, table).
    pub reloaded: Vec<(String, String)>,
    pub resumed: bool,
}

/// Where one file's statements are journaled.
#[derive(Debug, Clone)]
pub(super) struct FileJournal {
    pub(super) id: u64,
    pub(super) file_no: u16,
    pub(super) resume: Option<Resume>,
    /// The databases the stopped restore had made ready (created: true when it made them).
    pub(super) databases: HashMap<String, bool>,
}

pub(super) fn lock_name(id: u64, connection: usize) -> String {
    if connection == 0 {
        format!("{DATABASE}.{id}")
    } else {
        format!("{DATABASE}.{id}.{connection}")
    }
}

/// Takes a named lock: true when had within `wait` (whole seconds, at least 0).
async fn get_lock(conn: &mut Conn, name: &str, wait: Duration) -> Result<bool> {
    let got: Option<Option<i64>> = conn
        .exec_first("SELECT GET_LOCK(?, ?)", (name, wait.as_secs()))
        .await
        .map_err(|e| Error::server(format!("taking the lock {name:?}"), e))?;
    Ok(got.flatten() == Some(1))
}

async fn release_lock(conn: &mut Conn, name: &str) {
    let _ = conn.exec_drop("SELECT RELEASE_LOCK(?)", (name,)).await;
}

/// The connection holding a named lock, if any.
async fn lock_holder(conn: &mut Conn, name: &str) -> Option<u64> {
    conn.exec_first::<Option<u64>, _, _>("SELECT IS_USED_LOCK(?)", (name,))
        .await
        .ok()
        .flatten()
        .flatten()
}

impl FileJournal {
    /// This run goes on with a stopped restore (`--resume`).
    pub(super) fn resuming(&self) -> bool {
        self.resume.is_some()
    }

    pub(super) fn committed(&self, offset: u64) -> bool {
        self.resume.as_ref().is_some_and(|r| r.committed(offset))
    }

    pub(super) fn in_doubt(&mut self, offset: u64) -> bool {
        self.resume.as_mut().is_some_and(|r| r.in_doubt(offset))
    }

    /// The statement that journals one statement as committed; run in its transaction.
    pub(super) fn record_sql(
        &self,
        offset: u64,
        table: Option<(&str, &str)>,
        db: Option<&str>,
        role: Option<Role>,
        main: bool,
    ) -> String {
        let (db, tbl) = match table {
            Some((d, t)) => (hex(d.as_bytes()), hex(t.as_bytes())),
            None => (
                db.map_or_else(|| "NULL".to_owned(), |d| hex(d.as_bytes())),
                "NULL".to_owned(),
            ),
        };
        format!(
            "INSERT INTO `{DATABASE}`.`done` (restore_id, file_no, sql_offset, db, tbl, role, \
             main) VALUES ({}, {}, {offset}, {db}, {tbl}, '{}', {}) ON DUPLICATE KEY UPDATE \
             redo = 0",
            self.id,
            self.file_no,
            role_name(role),
            u8::from(main)
        )
    }

    /// Records that this restore made `db` ready (created it when `created`).
    pub(super) async fn mark_database(
        &mut self,
        conn: &mut Conn,
        db: &str,
        created: bool,
    ) -> Result<()> {
        self.databases.entry(db.to_owned()).or_insert(created);
        write(
            conn,
            &format!(
                "INSERT IGNORE INTO `{DATABASE}`.`targets` (restore_id, name, created) VALUES \
                 ({}, {}, {})",
                self.id,
                hex(db.as_bytes()),
                u8::from(created)
            ),
        )
        .await
    }

    /// Takes this connection's lock (`connection` 1.. for the data connections).
    pub(super) async fn lock_connection(&self, conn: &mut Conn, connection: usize) -> Result<()> {
        let name = lock_name(self.id, connection);
        if get_lock(conn, &name, Duration::ZERO).await? {
            return Ok(());
        }
        let holder = lock_holder(conn, &name).await;
        Err(Error::Lock(format!(
            "the journal's lock {name:?} of data connection {connection} is held by connection \
             {}: another run of this restore is on the server; wait for it to end",
            holder.map_or_else(|| "?".to_owned(), |h| h.to_string())
        )))
    }
}

/// Runs one journal write in a transaction of its own, whatever the session's autocommit.
async fn write(conn: &mut Conn, sql: &str) -> Result<()> {
    let written = conn
        .query_drop(format!("START TRANSACTION; {sql}; COMMIT"))
        .await;
    if written.is_err() {
        // The server stops a multi-statement at the statement that fails and leaves the
        // transaction open with the ones before it: the next write's START TRANSACTION would
        // commit that half (a database's `done` rows deleted and its `targets` row kept).
        let _ = conn.query_drop("ROLLBACK").await;
    }
    written.map_err(|e| journal_error("writing", e))
}

fn journal_error(what: &str, e: mysql_async::Error) -> Error {
    Error::server(
        format!(
            "{what} the restore's journal (database {})",
            ident(DATABASE)
        ),
        e,
    )
}

/// One row of `restores`.
#[derive(Debug, Clone)]
struct Registered {
    id: u64,
    files: Vec<Identity>,
    options: Vec<String>,
    connections: usize,
    state: String,
    started: String,
    targets: Vec<String>,
}

async fn journal_exists(conn: &mut Conn) -> Result<bool> {
    let n: Option<u64> = conn
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND \
             TABLE_NAME = 'restores'",
            (DATABASE,),
        )
        .await
        .map_err(|e| journal_error("looking for", e))?;
    Ok(n.unwrap_or(0) > 0)
}

async fn registered(conn: &mut Conn) -> Result<Vec<Registered>> {
    type RestoreRow = (u64, Vec<u8>, Vec<u8>, u64, Vec<u8>, String);
    let rows: Vec<RestoreRow> = conn
        .query(format!(
            "SELECT id, files, options, connections, state, \
             DATE_FORMAT(started, '%Y-%m-%d %H:%i:%s UTC') FROM `{DATABASE}`.`restores` \
             ORDER BY id DESC"
        ))
        .await
        .map_err(|e| journal_error("reading", e))?;
    let targets: Vec<(u64, Vec<u8>)> = conn
        .query(format!(
            "SELECT restore_id, name FROM `{DATABASE}`.`targets` ORDER BY restore_id, name"
        ))
        .await
        .map_err(|e| journal_error("reading", e))?;
    Ok(rows
        .into_iter()
        .map(
            |(id, files, options, connections, state, started)| Registered {
                id,
                files: parse_files(&String::from_utf8_lossy(&files)),
                options: String::from_utf8_lossy(&options)
                    .lines()
                    .map(str::to_owned)
                    .collect(),
                connections: connections as usize,
                state: String::from_utf8_lossy(&state).into_owned(),
                started,
                targets: targets
                    .iter()
                    .filter(|(r, _)| *r == id)
                    .map(|(_, n)| String::from_utf8_lossy(n).into_owned())
                    .collect(),
            },
        )
        .collect())
}

impl Journal {
    /// One file's part of the journal.
    pub(super) fn file(&mut self, file_no: usize) -> FileJournal {
        let no = file_no as u16;
        FileJournal {
            id: self.id,
            file_no: no,
            resume: if self.resumed {
                Some(self.resumes.remove(&no).unwrap_or_default())
            } else {
                None
            },
            databases: self.databases.clone(),
        }
    }

    /// Takes in the databases a file's run made ready (and which of them it created), for
    /// the files after it.
    pub(super) fn merge(&mut self, databases: &[String], created: &[String]) {
        for db in databases {
            self.databases
                .entry(db.clone())
                .or_insert_with(|| created.contains(db));
        }
    }

    /// Statements the stopped restore committed, over all files (resume).
    pub fn committed(&self) -> u64 {
        self.resumes.values().map(|r| r.done.len() as u64).sum()
    }

    /// A new restore: the journal's database and tables made when missing, this restore
    /// registered and its lock taken. None, after a warning saying why, when the journal
    /// cannot be written (no privilege on it): the restore goes on and cannot be resumed.
    pub async fn start(
        conn: &mut Conn,
        files: &[Identity],
        options: &[String],
        threads: usize,
        progress: &dyn Progress,
    ) -> Option<Journal> {
        match Self::register(conn, files, options, threads).await {
            Ok(j) => Some(j),
            Err(e) => {
                progress.event(&Event::Warning(&format!(
                    "this restore cannot be resumed if it stops: its journal (database {} on \
                     the target) could not be written: {e}. Grant the account CREATE, INSERT, \
                     UPDATE, DELETE, SELECT and DROP on {}.*, or pass --no-journal to say so",
                    ident(DATABASE),
                    ident(DATABASE)
                )));
                None
            }
        }
    }

    async fn register(
        conn: &mut Conn,
        files: &[Identity],
        options: &[String],
        threads: usize,
    ) -> Result<Journal> {
        if !get_lock(conn, REGISTRY_LOCK, LOCK_WAIT).await? {
            return Err(Error::Lock(format!(
                "the lock {REGISTRY_LOCK:?} was held for {} s by another restore",
                LOCK_WAIT.as_secs()
            )));
        }
        let made = async {
            conn.query_drop(format!("CREATE DATABASE IF NOT EXISTS {}", ident(DATABASE)))
                .await?;
            for sql in SCHEMA {
                conn.query_drop(sql).await?;
            }
            conn.query_drop(format!(
                "START TRANSACTION; INSERT INTO `{DATABASE}`.`restores` (files, options, \
                 connections, state, started, updated, tool) VALUES ({}, {}, {threads}, \
                 'running', UTC_TIMESTAMP(), UTC_TIMESTAMP(), {}); COMMIT",
                hex(files_text(files).as_bytes()),
                hex(options.join("\n").as_bytes()),
                hex(format!("sfdbtools {}", env!("CARGO_PKG_VERSION")).as_bytes())
            ))
            .await?;
            conn.query_first::<u64, _>("SELECT LAST_INSERT_ID()").await
        }
        .await;
        // This restore's own lock is taken before the registry's is given back: a restore
        // that finishes meanwhile takes a registered restore whose lock is free for one that
        // stopped before it made a database ready, and would discard it (and drop the
        // journal's database under it).
        let locked = match &made {
            Ok(Some(id)) => get_lock(conn, &lock_name(*id, 0), Duration::ZERO).await,
            _ => Ok(true),
        };
        release_lock(conn, REGISTRY_LOCK).await;
        let id = made
            .map_err(|e| journal_error("creating", e))?
            .ok_or_else(|| Error::Internal("the journal gave no restore id".into()))?;
        if !locked? {
            return Err(Error::Lock(format!(
                "the new restore's lock {:?} is held by another connection",
                lock_name(id, 0)
            )));
        }
        Ok(Journal {
            id,
            resumes: BTreeMap::new(),
            databases: HashMap::new(),
            reloaded: Vec::new(),
            resumed: false,
        })
    }

    /// `--resume`: finds the stopped restore of these files with these options, waits for its
    /// connections to leave the server, and decides what is left to do (tables to reload
    /// whole, the statements committed). Refuses (nothing changed) when there is none, when
    /// the journal holds one for these targets from another file or with other options, or
    /// when a table it restored was dropped since.
    pub async fn resume(
        conn: &mut Conn,
        files: &[Identity],
        options: &[String],
        targets: &[String],
        threads: usize,
        progress: &dyn Progress,
    ) -> Result<Journal> {
        let file_names = files
            .iter()
            .map(|f| f.path.as_str())
            .collect::<Vec<_>>()
            .join(" and ");
        let none = || {
            Error::Usage(format!(
                "--resume: no interrupted restore of {file_names} on this server (its journal is \
                 the database {} on the target): run without --resume",
                ident(DATABASE)
            ))
        };
        if !journal_exists(conn).await? {
            return Err(none());
        }
        let all = registered(conn).await?;
        let shas = |f: &[Identity]| f.iter().map(|i| i.sha256.clone()).collect::<Vec<_>>();
        let found = all
            .iter()
            .find(|r| shas(&r.files) == shas(files) && r.options == options);
        let Some(found) = found else {
            return Err(refusal(&all, files, options, targets).unwrap_or_else(none));
        };
        let found = found.clone();
        // The stopped restore's connections may still be on the server (a statement they sent
        // runs, or commits, to its end before the server notices the client is gone): wait
        // for their locks.
        let deadline = Instant::now() + LOCK_WAIT;
        let main = lock_name(found.id, 0);
        if !get_lock(conn, &main, Duration::ZERO).await? {
            progress.event(&Event::Note(&format!(
                "waiting up to {} s for the connections of the stopped restore (journal \
                 restore {}) to leave the server",
                LOCK_WAIT.as_secs(),
                found.id
            )));
            if !get_lock(conn, &main, LOCK_WAIT).await? {
                let holder = lock_holder(conn, &main).await;
                return Err(Error::Lock(format!(
                    "--resume: restore {} of the journal (database {}) is being run by \
                     connection {} on the server (it holds the lock {main:?}): another \
                     --resume of it, or a statement of the stopped run still executing; wait \
                     for it to end (or KILL it), then resume again",
                    found.id,
                    ident(DATABASE),
                    holder.map_or_else(|| "?".to_owned(), |h| h.to_string())
                )));
            }
        }
        // Another --resume of the same restore may have held the lock, and finished it (its
        // rows, or the whole journal, gone) while this one waited.
        let still_there = match journal_exists(conn).await {
            Ok(true) => registered(conn)
                .await
                .map(|all| all.iter().any(|r| r.id == found.id)),
            other => other,
        };
        match still_there {
            Ok(true) => {}
            Ok(false) => {
                release_lock(conn, &main).await;
                return Err(Error::Usage(format!(
                    "--resume: restore {} of the journal (database {}) was ended by another \
                     run while this one waited for it; nothing was done here. The target holds \
                     what that run left (see its report); run without --resume to restore \
                     again",
                    found.id,
                    ident(DATABASE)
                )));
            }
            Err(e) => {
                release_lock(conn, &main).await;
                return Err(e);
            }
        }
        for k in 1..=found.connections.max(threads) {
            let name = lock_name(found.id, k);
            let left = deadline.saturating_duration_since(Instant::now());
            if !get_lock(conn, &name, left).await? {
                let holder = lock_holder(conn, &name).await;
                release_lock(conn, &main).await;
                return Err(Error::Lock(format!(
                    "--resume: data connection {k} of the stopped restore (connection {} on \
                     the server, holding the lock {name:?}) is still executing a statement \
                     after {} s; wait for it to end (or KILL it), then resume again",
                    holder.map_or_else(|| "?".to_owned(), |h| h.to_string()),
                    LOCK_WAIT.as_secs()
                )));
            }
            release_lock(conn, &name).await;
        }
        let analysed = Self::analyse(conn, found.id).await;
        let decided = match analysed {
            Ok(d) => d,
            Err(e) => {
                release_lock(conn, &main).await;
                return Err(e);
            }
        };
        let databases: Vec<(Vec<u8>, u8)> = conn
            .exec(
                format!("SELECT name, created FROM `{DATABASE}`.`targets` WHERE restore_id = ?"),
                (found.id,),
            )
            .await
            .map_err(|e| journal_error("reading", e))?;
        let mut journal = Journal {
            id: found.id,
            resumes: decided.files,
            databases: databases
                .into_iter()
                .map(|(n, c)| (String::from_utf8_lossy(&n).into_owned(), c != 0))
                .collect(),
            reloaded: decided.reload,
            resumed: true,
        };
        journal.reload(conn, progress).await?;
        write(
            conn,
            &format!(
                "UPDATE `{DATABASE}`.`restores` SET state = 'resuming', updated = \
                 UTC_TIMESTAMP(), connections = GREATEST(connections, {threads}) WHERE id = {}",
                found.id
            ),
        )
        .await?;
        Ok(journal)
    }

    /// Reads the stopped restore's rows and the target's tables, and decides.
    async fn analyse(conn: &mut Conn, id: u64) -> Result<Decided> {
        let mut fold = Fold::default();
        let result = conn
            .exec_iter(
                format!(
                    "SELECT file_no, sql_offset, db, tbl, role, main, redo FROM \
                     `{DATABASE}`.`done` WHERE restore_id = ?"
                ),
                (id,),
            )
            .await
            .map_err(|e| journal_error("reading", e))?;
        type DoneRow = (u16, u64, Option<Vec<u8>>, Option<Vec<u8>>, Vec<u8>, u8, u8);
        result
            .for_each_and_drop(|row| {
                let (file_no, offset, db, tbl, role, main, redo): DoneRow =
                    mysql_async::from_row(row);
                let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
                fold.add(Row {
                    file_no,
                    offset,
                    table: match (db, tbl) {
                        (Some(d), Some(t)) => Some((text(d), text(t))),
                        _ => None,
                    },
                    role: role_of(&role),
                    main: main != 0,
                    redo: redo != 0,
                });
            })
            .await
            .map_err(|e| journal_error("reading", e))?;
        let mut dbs: Vec<&str> = fold.tables.iter().map(|t| t.key.0.as_str()).collect();
        dbs.sort_unstable();
        dbs.dedup();
        let mut present = HashMap::new();
        for db in dbs {
            let rows: Vec<(String, String, Option<String>)> = conn
                .exec(
                    "SELECT TABLE_NAME, TABLE_TYPE, ENGINE FROM information_schema.TABLES WHERE \
                     TABLE_SCHEMA = ?",
                    (db,),
                )
                .await
                .map_err(|e| Error::server(format!("listing the tables of {}", ident(db)), e))?;
            for (name, kind, engine) in rows {
                let p = if kind.eq_ignore_ascii_case("VIEW") {
                    Present::View
                } else {
                    Present::Table {
                        transactional: engine.as_deref().is_none_or(is_transactional),
                    }
                };
                present.insert((db.to_owned(), name), p);
            }
        }
        decide(fold, &present).map_err(|problem| {
            Error::Usage(format!(
                "--resume: restore {id} of the journal (database {}) cannot be resumed: \
                 {problem}. Nothing was changed; restore again from the start (into another \
                 database, or with --drop-target and without --resume)",
                ident(DATABASE)
            ))
        })
    }

    /// Marks the journal rows of the tables to reload as to run again, then drops the tables:
    /// their definitions, rows and triggers run again as the file is read. Marked first, so
    /// that a resume stopped in between reloads them again.
    async fn reload(&mut self, conn: &mut Conn, progress: &dyn Progress) -> Result<()> {
        if self.reloaded.is_empty() {
            return Ok(());
        }
        for (db, t) in &self.reloaded {
            write(
                conn,
                &format!(
                    "UPDATE `{DATABASE}`.`done` SET redo = 1 WHERE restore_id = {} AND db = {} \
                     AND tbl = {}",
                    self.id,
                    hex(db.as_bytes()),
                    hex(t.as_bytes())
                ),
            )
            .await?;
        }
        for (db, t) in &self.reloaded {
            conn.query_drop(format!("DROP TABLE IF EXISTS {}", qualified(db, t)))
                .await
                .map_err(|e| {
                    Error::server(
                        format!("dropping {} to reload it (--resume)", qualified(db, t)),
                        e,
                    )
                })?;
        }
        progress.event(&Event::Warning(&format!(
            "--resume: {} not transactional (MyISAM, Aria, MEMORY…): {} rows cannot commit with \
             the journal, so {} reloaded whole: {}",
            if self.reloaded.len() == 1 {
                "a table the stopped restore wrote is"
            } else {
                "tables the stopped restore wrote are"
            },
            if self.reloaded.len() == 1 {
                "its"
            } else {
                "their"
            },
            if self.reloaded.len() == 1 {
                "it is"
            } else {
                "they are"
            },
            self.reloaded
                .iter()
                .map(|(d, t)| qualified(d, t))
                .collect::<Vec<_>>()
                .join(", ")
        )));
        Ok(())
    }

    /// The databases the stopped restore made ready, with whether it created each.
    pub fn databases(&self) -> &HashMap<String, bool> {
        &self.databases
    }

    /// A failed or interrupted run: its state said in the journal (as far as the connection
    /// still works).
    pub(super) async fn failed(&self, conn: &mut Conn) {
        let _ = write(
            conn,
            &format!(
                "UPDATE `{DATABASE}`.`restores` SET state = 'failed', updated = UTC_TIMESTAMP() \
                 WHERE id = {}",
                self.id
            ),
        )
        .await;
    }

    /// Databases a failed restore dropped again (empty ones it had created): what the journal
    /// says of them goes too, so that a resume makes them again from the start.
    pub(super) async fn forget(&mut self, conn: &mut Conn, dbs: &[String]) {
        for db in dbs {
            self.databases.remove(db);
            let _ = write(
                conn,
                &format!(
                    "DELETE FROM `{DATABASE}`.`done` WHERE restore_id = {id} AND db = {name}; \
                     DELETE FROM `{DATABASE}`.`targets` WHERE restore_id = {id} AND name = {name}",
                    id = self.id,
                    name = hex(db.as_bytes())
                ),
            )
            .await;
        }
    }

    /// The restore succeeded: its rows go, with those of stopped restores into the same
    /// databases (what they recorded is gone under this one) or into none, and the journal's
    /// database when nothing else is left in it. Returns the stopped restores discarded.
    pub async fn finish(&self, conn: &mut Conn) -> Result<Vec<u64>> {
        if !get_lock(conn, REGISTRY_LOCK, LOCK_WAIT).await? {
            return Err(Error::Lock(format!(
                "the restore succeeded, but its journal could not be removed: the lock \
                 {REGISTRY_LOCK:?} was held for {} s by another restore; drop the database {} \
                 when no restore runs",
                LOCK_WAIT.as_secs(),
                ident(DATABASE)
            )));
        }
        let result = self.remove(conn).await;
        release_lock(conn, REGISTRY_LOCK).await;
        result
    }

    async fn remove(&self, conn: &mut Conn) -> Result<Vec<u64>> {
        let all = registered(conn).await?;
        let ours: HashSet<&String> = all
            .iter()
            .find(|r| r.id == self.id)
            .map(|r| r.targets.iter().collect())
            .unwrap_or_default();
        let mut gone = vec![self.id];
        let mut discarded = Vec::new();
        for r in &all {
            // Stopped restores into the same databases, and those stopped before they made any
            // database ready (they restored nothing, and nothing else would ever remove them).
            let superseded = r.targets.is_empty() || r.targets.iter().any(|t| ours.contains(t));
            if r.id == self.id || !superseded {
                continue;
            }
            // Only a stopped one: a restore running into the same database holds its lock.
            if lock_holder(conn, &lock_name(r.id, 0)).await.is_none() {
                gone.push(r.id);
                discarded.push(r.id);
            }
        }
        let left = all.iter().filter(|r| !gone.contains(&r.id)).count();
        let others: u64 = conn
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND \
                 TABLE_NAME NOT IN (?, ?, ?)",
                (DATABASE, TABLES[0], TABLES[1], TABLES[2]),
            )
            .await
            .map_err(|e| journal_error("reading", e))?
            .unwrap_or(0);
        if left == 0 && others == 0 {
            conn.query_drop(format!("DROP DATABASE IF EXISTS {}", ident(DATABASE)))
                .await
                .map_err(|e| journal_error("dropping", e))?;
            return Ok(discarded);
        }
        let ids = gone
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        write(
            conn,
            &format!(
                "DELETE FROM `{DATABASE}`.`done` WHERE restore_id IN ({ids}); DELETE FROM \
                 `{DATABASE}`.`targets` WHERE restore_id IN ({ids}); DELETE FROM \
                 `{DATABASE}`.`restores` WHERE id IN ({ids})"
            ),
        )
        .await?;
        Ok(discarded)
    }

    /// A new restore (not `--resume`) of the same files with the same options into the same
    /// databases, stopped: the journal id to name when a target is refused because it holds
    /// tables (the restore can be resumed instead).
    pub async fn resumable(conn: &mut Conn, files: &[Identity], options: &[String]) -> Option<u64> {
        if !journal_exists(conn).await.ok()? {
            return None;
        }
        let all = registered(conn).await.ok()?;
        let shas = |f: &[Identity]| f.iter().map(|i| i.sha256.clone()).collect::<Vec<_>>();
        for r in all {
            if shas(&r.files) != shas(files) || r.options != options {
                continue;
            }
            if lock_holder(conn, &lock_name(r.id, 0)).await.is_none() {
                return Some(r.id);
            }
        }
        None
    }
}

/// Why no journaled restore matches: one for these databases from another file or with other
/// options. None when there is none at all.
fn refusal(
    all: &[Registered],
    files: &[Identity],
    options: &[String],
    targets: &[String],
) -> Option<Error> {
    let shas = |f: &[Identity]| f.iter().map(|i| i.sha256.clone()).collect::<Vec<_>>();
    let same_targets = |r: &Registered| {
        r.targets
            .iter()
            .any(|t| targets.iter().any(|u| u.eq_ignore_ascii_case(t)))
    };
    let head = |r: &Registered| {
        format!(
            "restore {} of the journal (database {}, started {}, {})",
            r.id,
            ident(DATABASE),
            r.started,
            r.state
        )
    };
    if let Some(r) = all.iter().find(|r| shas(&r.files) == shas(files)) {
        return Some(Error::Usage(format!(
            "--resume: {} read the same file but was asked for something else: {}. Resume it \
             with the options it was started with, or restore without --resume",
            head(r),
            options_differ(&r.options, options)
        )));
    }
    let r = all.iter().find(|r| same_targets(r))?;
    let theirs = r
        .files
        .iter()
        .map(|f| format!("{} (SHA-256 {})", f.path, f.sha256))
        .collect::<Vec<_>>()
        .join(" and ");
    let ours = files
        .iter()
        .map(|f| format!("{} (SHA-256 {})", f.path, f.sha256))
        .collect::<Vec<_>>()
        .join(" and ");
    Some(Error::Usage(format!(
        "--resume: {} into {} read {theirs}, not {ours}: a different file cannot resume it. \
         Resume it with its own file, or restore this one without --resume (into another \
         database, or with --drop-target)",
        head(r),
        r.targets
            .iter()
            .map(|t| ident(t))
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        file_no: u16,
        offset: u64,
        table: Option<(&str, &str)>,
        role: Option<Role>,
        main: bool,
    ) -> Row {
        Row {
            file_no,
            offset,
            table: table.map(|(d, t)| (d.to_owned(), t.to_owned())),
            role,
            main,
            redo: false,
        }
    }

    fn fold(rows: Vec<Row>) -> Fold {
        let mut f = Fold::default();
        for r in rows {
            f.add(r);
        }
        f
    }

    fn innodb() -> Present {
        Present::Table {
            transactional: true,
        }
    }

    fn present(list: &[(&str, &str, Present)]) -> HashMap<(String, String), Present> {
        list.iter()
            .map(|(d, t, p)| ((d.to_string(), t.to_string()), *p))
            .collect()
    }

    /// Committed statements are read past; the main statement in doubt is the first after the
    /// last one journaled, met once; data statements are never in doubt.
    #[test]
    fn committed_statements_are_skipped_and_one_main_statement_is_in_doubt() {
        let f = fold(vec![
            row(0, 10, Some(("d", "a")), Some(Role::Drops), true),
            row(0, 20, Some(("d", "a")), Some(Role::Creates), true),
            row(0, 30, Some(("d", "a")), Some(Role::Rows), false),
            // 40: a row statement of `a` that did not commit.
            row(0, 50, Some(("d", "a")), Some(Role::Rows), false),
        ]);
        let mut d = decide(f, &present(&[("d", "a", innodb())])).unwrap();
        assert!(d.reload.is_empty());
        let r = d.files.get_mut(&0).unwrap();
        assert!(r.committed(10) && r.committed(20) && r.committed(30) && r.committed(50));
        assert!(!r.committed(40));
        // A main statement before the last journaled one (failed under --continue-on-error)
        // is not in doubt; the first after it is, once.
        assert!(!r.in_doubt(15));
        assert!(r.in_doubt(60));
        assert!(!r.in_doubt(70));
    }

    /// Nothing journaled from the main connection: its first statement is the one in doubt.
    #[test]
    fn without_a_main_statement_journaled_the_first_is_in_doubt() {
        let mut r = Resume::default();
        assert!(r.in_doubt(0));
        assert!(!r.in_doubt(5));
    }

    /// A non-transactional table the stopped restore wrote is reloaded whole: none of its
    /// statements (definition, rows, triggers) count as committed, the others do; an InnoDB
    /// table goes on where it stopped.
    #[test]
    fn a_non_transactional_table_is_reloaded_whole() {
        let f = fold(vec![
            row(0, 10, Some(("d", "m")), Some(Role::Drops), true),
            row(0, 20, Some(("d", "m")), Some(Role::Creates), true),
            row(0, 30, Some(("d", "i")), Some(Role::Creates), true),
            row(0, 40, Some(("d", "m")), Some(Role::Rows), false),
            row(0, 50, Some(("d", "i")), Some(Role::Rows), false),
            row(0, 60, None, None, true),
        ]);
        let p = present(&[
            (
                "d",
                "m",
                Present::Table {
                    transactional: false,
                },
            ),
            ("d", "i", innodb()),
        ]);
        let mut d = decide(f, &p).unwrap();
        assert_eq!(d.reload, [("d".to_owned(), "m".to_owned())]);
        let r = d.files.get_mut(&0).unwrap();
        for o in [10, 20, 40] {
            assert!(!r.committed(o), "{o} of the reloaded table");
        }
        for o in [30, 50, 60] {
            assert!(r.committed(o), "{o}");
        }
        // The one in doubt is still the one after the last main statement journaled, even
        // when a reloaded table's rows were among them.
        assert!(!r.in_doubt(20));
        assert!(r.in_doubt(70));
    }

    /// Rows marked to run again by an earlier resume (stopped while reloading) make the table
    /// reloaded again, present or not, and still tell where the main connection had got to.
    #[test]
    fn a_reload_that_was_stopped_is_done_again() {
        let mut redo = row(0, 20, Some(("d", "m")), Some(Role::Creates), true);
        redo.redo = true;
        let mut last = row(0, 90, Some(("d", "m")), Some(Role::Trigger), true);
        last.redo = true;
        let f = fold(vec![
            redo,
            last,
            row(0, 30, Some(("d", "i")), Some(Role::Creates), true),
        ]);
        let mut d = decide(f, &present(&[("d", "i", innodb())])).unwrap();
        assert_eq!(d.reload, [("d".to_owned(), "m".to_owned())]);
        let r = d.files.get_mut(&0).unwrap();
        assert!(!r.committed(20) && r.committed(30));
        assert!(!r.in_doubt(50));
        assert!(r.in_doubt(100));
    }

    /// A table whose last journaled statement leaves it in place but that the target no
    /// longer holds refuses the resume, naming it; one dropped by the file itself (a view's
    /// stand-in table replaced by the view) does not.
    #[test]
    fn a_table_dropped_since_refuses_the_resume() {
        let rows = || {
            vec![
                row(0, 10, Some(("d", "gone")), Some(Role::Creates), true),
                row(0, 20, Some(("d", "v")), Some(Role::Creates), true),
                row(0, 30, Some(("d", "v")), Some(Role::Drops), true),
                row(0, 40, Some(("d", "w")), Some(Role::Creates), true),
                row(0, 50, Some(("d", "w")), Some(Role::Drops), true),
                row(0, 60, Some(("d", "w")), Some(Role::CreatesView), true),
            ]
        };
        let e = decide(fold(rows()), &present(&[("d", "w", Present::View)])).unwrap_err();
        assert!(
            e.contains("`d`.`gone`") && e.contains("dropped since"),
            "{e}"
        );
        assert!(!e.contains("`v`") && !e.contains("`w`"), "{e}");
        let ok = decide(
            fold(rows()),
            &present(&[("d", "gone", innodb()), ("d", "w", Present::View)]),
        );
        assert!(ok.is_ok());
        // A server that keeps names in lower case.
        let lower = decide(
            fold(rows()),
            &present(&[("d", "GONE", innodb()), ("d", "w", Present::View)]),
        );
        assert!(lower.is_ok());
    }

    /// A non-transactional table with rows journaled but no definition cannot be reloaded.
    #[test]
    fn a_non_transactional_table_without_its_definition_refuses() {
        let f = fold(vec![row(0, 40, Some(("d", "m")), Some(Role::Rows), false)]);
        let p = present(&[(
            "d",
            "m",
            Present::Table {
                transactional: false,
            },
        )]);
        let e = decide(f, &p).unwrap_err();
        assert!(e.contains("cannot be reloaded"), "{e}");
    }

    /// Files are told apart in the fold: the offsets of one are not those of another.
    #[test]
    fn each_file_has_its_own_offsets() {
        let f = fold(vec![
            row(0, 10, None, None, true),
            row(1, 20, Some(("e", "t")), Some(Role::Creates), true),
        ]);
        let mut d = decide(f, &present(&[("e", "t", innodb())])).unwrap();
        assert!(d.files[&0].committed(10) && !d.files[&0].committed(20));
        assert!(d.files[&1].committed(20));
        assert!(d.files.get_mut(&1).unwrap().in_doubt(30));
    }

    /// The journal's literals hold any name, whatever the session's quoting rules.
    #[test]
    fn journal_rows_are_written_as_hex_literals() {
        let j = FileJournal {
            id: 7,
            file_no: 1,
            resume: None,
            databases: HashMap::new(),
        };
        let sql = j.record_sql(123, Some(("d'b", "t`\\")), None, Some(Role::Rows), false);
        assert_eq!(
            sql,
            "INSERT INTO `sfdbtools_journal`.`done` (restore_id, file_no, sql_offset, db, tbl, \
             role, main) VALUES (7, 1, 123, X'642762', X'74605c', 'rows', 0) ON DUPLICATE KEY \
             UPDATE redo = 0"
        );
        let sql = j.record_sql(5, None, Some("d"), None, true);
        assert!(sql.contains("(7, 1, 5, X'64', NULL, 'none', 1)"), "{sql}");
        assert_eq!(
            role_of(role_name(Some(Role::CreatesView)).as_bytes()),
            Some(Role::CreatesView)
        );
    }

    #[test]
    fn files_read_back_as_written() {
        let files = vec![
            Identity {
                sha256: "ab".into(),
                path: "/b/x  y.sql".into(),
            },
            Identity {
                sha256: "cd".into(),
                path: "s3://b/k".into(),
            },
        ];
        assert_eq!(parse_files(&files_text(&files)), files);
    }

    fn config(mode: RestoreMode) -> RestoreConfig {
        RestoreConfig {
            connection: Default::default(),
            file: "d.sql".into(),
            passphrase: None,
            mode,
            ticket: "T".into(),
            threads: 2,
            drop_target: false,
            allow_other_databases: false,
            confirm_drop: None,
            grants: crate::config::run::GrantsSource::Skip,
            grants_to_target: false,
            dry_run: false,
            continue_on_error: false,
            strict: false,
            skip_binlog: false,
            verify: true,
            max_statement_size: None,
            tables: Default::default(),
            journal: true,
            resume: false,
            keys_after_rows: Some(16 << 20),
        }
    }

    fn plan(placements: Vec<Placement>) -> Plan {
        Plan {
            files: placements
                .into_iter()
                .map(|placement| super::super::plan::FilePlan {
                    stream: None,
                    path: "d.sql".into(),
                    placement,
                    recorded: None,
                    source: None,
                })
                .collect(),
            grants: None,
        }
    }

    /// What a resume must match: the mode, each file's target, the selection (in any order);
    /// not how the restore runs (connections, checks, --drop-target).
    #[test]
    fn the_fingerprint_is_what_the_restore_does_not_how() {
        let single = |t: &str| {
            (
                config(RestoreMode::Single { target: t.into() }),
                plan(vec![Placement::Single { target: t.into() }]),
            )
        };
        let (c, p) = single("x");
        assert_eq!(describe(&c, &p), ["mode single", "file 1 into `x`"]);
        let (mut other, p2) = single("x");
        other.threads = 8;
        other.strict = true;
        other.drop_target = true;
        other.continue_on_error = true;
        other.skip_binlog = true;
        assert_eq!(describe(&c, &p), describe(&other, &p2));
        let (c3, p3) = single("y");
        assert_ne!(describe(&c, &p), describe(&c3, &p3));
        let pattern = |t: &str| crate::pattern::TablePattern::parse(t).unwrap();
        let (mut a, pa) = single("x");
        a.tables.tables = vec![pattern("s.b"), pattern("s.a")];
        let (mut b, pb) = single("x");
        b.tables.tables = vec![pattern("s.a"), pattern("s.b"), pattern("s.a")];
        assert_eq!(describe(&a, &pa), describe(&b, &pb));
        assert_eq!(describe(&a, &pa)[2], "--tables s.a,s.b");
        b.tables.ignore_data = vec![pattern("s.a")];
        assert_ne!(describe(&a, &pa), describe(&b, &pb));
        let all = config(RestoreMode::All {
            exclude: vec!["B".into(), "a".into()],
        });
        let p = plan(vec![Placement::All {
            exclude: vec!["B".into(), "a".into()],
            drop: true,
        }]);
        assert_eq!(
            describe(&all, &p),
            [
                "mode all",
                "file 1 into its own databases but --exclude-db a,b"
            ]
        );
    }

    /// What differs is named both ways.
    #[test]
    fn differing_options_are_named() {
        let theirs = vec!["mode single".to_owned(), "file 1 into `a`".to_owned()];
        let ours = vec!["mode single".to_owned(), "file 1 into `b`".to_owned()];
        assert_eq!(
            options_differ(&theirs, &ours),
            "it was asked for file 1 into `a`, this run for file 1 into `b`"
        );
    }

    #[test]
    fn a_different_file_into_the_same_database_is_refused_naming_both() {
        let r = Registered {
            id: 3,
            files: vec![Identity {
                sha256: "aaa".into(),
                path: "old.sql".into(),
            }],
            options: vec!["mode single".into(), "file 1 into `x`".into()],
            connections: 2,
            state: "running".into(),
            started: "2026-01-01 00:00:00 UTC".into(),
            targets: vec!["x".into()],
        };
        let ours = [Identity {
            sha256: "bbb".into(),
            path: "new.sql".into(),
        }];
        let e = refusal(std::slice::from_ref(&r), &ours, &r.options, &["x".into()])
            .unwrap()
            .to_string();
        assert!(
            e.contains("old.sql (SHA-256 aaa)") && e.contains("new.sql (SHA-256 bbb)"),
            "{e}"
        );
        assert!(refusal(std::slice::from_ref(&r), &ours, &r.options, &["y".into()]).is_none());
        let same_file = [Identity {
            sha256: "aaa".into(),
            path: "moved.sql".into(),
        }];
        let other = vec!["mode single".to_owned(), "file 1 into `y`".to_owned()];
        let e = refusal(&[r], &same_file, &other, &["y".into()])
            .unwrap()
            .to_string();
        assert!(
            e.contains("file 1 into `x`") && e.contains("file 1 into `y`"),
            "{e}"
        );
    }
}
