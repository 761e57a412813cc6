//! Progress reporting as events: the library emits them, the binary decides how to show them.

use std::time::Duration;

/// Something a run reports while it works.
#[derive(Clone, Debug)]
pub enum Event<'a> {
    /// The run is about to dump these databases into these files.
    Plan {
        databases: &'a [String],
        files: &'a [std::path::PathBuf],
    },
    TableStarted {
        database: &'a str,
        table: &'a str,
        estimated_rows: u64,
    },
    TableDone {
        database: &'a str,
        table: &'a str,
        rows: u64,
        bytes: u64,
        elapsed: Duration,
    },
    FileWritten {
        path: &'a std::path::Path,
        bytes: u64,
        sql_bytes: u64,
    },
    /// A dump let the server's commits go on again, after blocking them for `blocked`
    /// (taking the snapshots, and reading the non-transactional tables).
    CommitsReleased { blocked: Duration },
    /// Something the operator should know that does not stop the run.
    Warning(&'a str),
    /// `--drop-target` dropped an existing database holding `objects` tables and routines.
    DatabaseDropped { database: &'a str, objects: u64 },
    /// A restore starts reading `file` (`bytes` long) into these databases.
    RestoreStarted {
        file: &'a std::path::Path,
        bytes: u64,
        targets: &'a [String],
    },
    /// A restore starts loading data into a table (first data, or data again after the table
    /// was reported loaded).
    TableLoading { database: &'a str, table: &'a str },
    /// A restore finished loading a table: sent only when certain (every data statement before
    /// a flush point answered, or a later statement about the table waited for its data), so
    /// possibly well after its last rows; never when the restore fails. `rows`, `statements`
    /// and `bytes` (of SQL) are the table's totals in the file so far; `elapsed` runs from its
    /// first data statement sent to its last one answered.
    TableLoaded {
        database: &'a str,
        table: &'a str,
        rows: u64,
        statements: u64,
        bytes: u64,
        elapsed: Duration,
    },
    /// A restore or verify finished reading `file`.
    FileRead {
        file: &'a std::path::Path,
        statements: u64,
        rows: u64,
        elapsed: Duration,
    },
}

/// Receives events. Implementations must be cheap: they are called from the dump's tasks and
/// serialiser threads.
pub trait Progress: Send + Sync {
    fn event(&self, event: &Event<'_>);

    /// Rows serialised since the last call, and their bytes of SQL (once per batch of rows).
    fn advance(&self, _rows: u64, _sql_bytes: u64) {}

    /// A restore's totals so far: rows loaded and bytes of the file read (called often).
    fn restored(&self, _rows: u64, _file_bytes: u64) {}

    /// A data statement of a restore's table was answered: the table's rows loaded so far
    /// (called often, for each table between its `TableLoading` and `TableLoaded`).
    fn table_restored(&self, _database: &str, _table: &str, _rows: u64) {}
}

/// Reports nothing (`-q`, tests).
pub struct Silent;

impl Progress for Silent {
    fn event(&self, _: &Event<'_>) {}
}
