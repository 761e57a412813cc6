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
    /// Something the operator should know that does not stop the run.
    Warning(&'a str),
    /// A restore starts reading `file` (`bytes` long) into these databases.
    RestoreStarted {
        file: &'a std::path::Path,
        bytes: u64,
        targets: &'a [String],
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
}

/// Reports nothing (`-q`, tests).
pub struct Silent;

impl Progress for Silent {
    fn event(&self, _: &Event<'_>) {}
}
